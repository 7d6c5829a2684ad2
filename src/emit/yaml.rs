//! A small, strict YAML writer for serde values.
//!
//! Why not the YAML library imgf reads with: it quotes for YAML 1.2, but
//! `kubectl` and most Kubernetes tooling read YAML 1.1, where a plain `on`,
//! `yes`, `n`, `2022-11-28`, `1:20` or `<<` is not a string. A branch named
//! `on` or a header value `2022-11-28` would silently change type on the way
//! into the cluster. This writer leaves a string plain only when it is
//! unambiguous under both YAML 1.1 and 1.2, and quotes everything else — so
//! the output reads the same in every parser. Being tiny, it is also fast.
//!
//! Layout: block style, two-space indent, sequences indented under their key,
//! `{}`/`[]` for empty collections, one trailing newline.

use std::fmt::Write as _;

use serde::ser::{self, Serialize};

/// A serialised value.
#[derive(Debug, Clone, PartialEq)]
enum Node {
    Null,
    Bool(bool),
    /// A number, already formatted.
    Number(String),
    Str(String),
    Seq(Vec<Node>),
    Map(Vec<(String, Node)>),
}

/// Error from serialising: only map keys that are not strings can fail.
#[derive(Debug)]
pub struct Error(String);

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

impl ser::Error for Error {
    fn custom<T: std::fmt::Display>(msg: T) -> Self {
        Error(msg.to_string())
    }
}

/// Serialises `value` as one YAML document (no `---`), ending in a newline.
pub fn to_string<T: Serialize + ?Sized>(value: &T) -> Result<String, Error> {
    let node = value.serialize(NodeSerializer)?;
    let mut out = String::with_capacity(1024);
    match &node {
        Node::Map(entries) if !entries.is_empty() => write_map(&mut out, entries, 0, false),
        Node::Seq(items) if !items.is_empty() => write_seq(&mut out, items, 0),
        other => {
            write_inline(&mut out, other);
            out.push('\n');
        }
    }
    Ok(out)
}

fn indent(out: &mut String, n: usize) {
    for _ in 0..n {
        out.push(' ');
    }
}

/// Writes a mapping at `ind`; with `first_inline` the first key follows a
/// `- ` already written.
fn write_map(out: &mut String, entries: &[(String, Node)], ind: usize, first_inline: bool) {
    for (i, (k, v)) in entries.iter().enumerate() {
        if !(i == 0 && first_inline) {
            indent(out, ind);
        }
        write_scalar(out, k);
        out.push(':');
        write_value_after_key(out, v, ind);
    }
}

fn write_value_after_key(out: &mut String, v: &Node, ind: usize) {
    match v {
        Node::Map(e) if !e.is_empty() => {
            out.push('\n');
            write_map(out, e, ind + 2, false);
        }
        Node::Seq(items) if !items.is_empty() => {
            out.push('\n');
            write_seq(out, items, ind + 2);
        }
        other => {
            out.push(' ');
            write_inline(out, other);
            out.push('\n');
        }
    }
}

fn write_seq(out: &mut String, items: &[Node], ind: usize) {
    for item in items {
        indent(out, ind);
        out.push_str("- ");
        match item {
            Node::Map(e) if !e.is_empty() => write_map(out, e, ind + 2, true),
            Node::Seq(s) if !s.is_empty() => {
                out.push('\n');
                write_seq(out, s, ind + 2);
            }
            other => {
                write_inline(out, other);
                out.push('\n');
            }
        }
    }
}

fn write_inline(out: &mut String, node: &Node) {
    match node {
        Node::Null => out.push_str("null"),
        Node::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Node::Number(n) => out.push_str(n),
        Node::Str(s) => write_scalar(out, s),
        Node::Seq(_) => out.push_str("[]"),
        Node::Map(_) => out.push_str("{}"),
    }
}

/// Words that YAML 1.1 or 1.2 read as something other than a string.
const RESERVED: [&str; 14] = [
    "y", "n", "yes", "no", "true", "false", "on", "off", "null", "nan", "inf", "_", "=", "<<",
];

/// Whether `s` can be written without quotes and still read back as this
/// exact string by YAML 1.1 and 1.2 parsers alike.
pub fn is_plain_safe(s: &str) -> bool {
    let Some(first) = s.chars().next() else {
        return false;
    };
    // Start with a letter or `/`: no number, date, time, sign, indicator or
    // special float can begin that way.
    if !(first.is_ascii_alphabetic() || first == '/') {
        return false;
    }
    if RESERVED.iter().any(|r| r.eq_ignore_ascii_case(s)) {
        return false;
    }
    let bytes = s.as_bytes();
    for (i, &c) in bytes.iter().enumerate() {
        let ok = c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'/' | b'-' | b'+' | b'@' | b'%' | b'=' | b',')
            // `:` only when not followed by a space or the end (`https://…`).
            || (c == b':' && i + 1 < bytes.len() && bytes[i + 1] != b' ');
        if !ok {
            return false;
        }
    }
    true
}

fn write_scalar(out: &mut String, s: &str) {
    if is_plain_safe(s) {
        out.push_str(s);
    } else if s.chars().all(|c| {
        !c.is_control() && c != '\u{feff}' && c != '\u{85}' && c != '\u{2028}' && c != '\u{2029}'
    }) {
        out.push('\'');
        out.push_str(&s.replace('\'', "''"));
        out.push('\'');
    } else {
        out.push('"');
        for c in s.chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                '\t' => out.push_str("\\t"),
                '\r' => out.push_str("\\r"),
                c if c.is_control()
                    || matches!(c, '\u{feff}' | '\u{85}' | '\u{2028}' | '\u{2029}') =>
                {
                    let _ = write!(out, "\\u{:04x}", c as u32);
                }
                c => out.push(c),
            }
        }
        out.push('"');
    }
}

/// Builds a [`Node`] tree from any `Serialize` value.
struct NodeSerializer;

struct SeqBuilder(Vec<Node>);
struct MapBuilder {
    entries: Vec<(String, Node)>,
    key: Option<String>,
}
struct VariantBuilder {
    variant: &'static str,
    /// A tuple variant collects `items`, a struct variant `entries`.
    tuple: bool,
    entries: Vec<(String, Node)>,
    items: Vec<Node>,
}

fn key_of(node: Node) -> Result<String, Error> {
    match node {
        Node::Str(s) | Node::Number(s) => Ok(s),
        Node::Bool(b) => Ok(b.to_string()),
        _ => Err(Error("map keys must be strings".into())),
    }
}

impl ser::Serializer for NodeSerializer {
    type Ok = Node;
    type Error = Error;
    type SerializeSeq = SeqBuilder;
    type SerializeTuple = SeqBuilder;
    type SerializeTupleStruct = SeqBuilder;
    type SerializeTupleVariant = VariantBuilder;
    type SerializeMap = MapBuilder;
    type SerializeStruct = MapBuilder;
    type SerializeStructVariant = VariantBuilder;

    fn serialize_bool(self, v: bool) -> Result<Node, Error> {
        Ok(Node::Bool(v))
    }
    fn serialize_i8(self, v: i8) -> Result<Node, Error> {
        Ok(Node::Number(v.to_string()))
    }
    fn serialize_i16(self, v: i16) -> Result<Node, Error> {
        Ok(Node::Number(v.to_string()))
    }
    fn serialize_i32(self, v: i32) -> Result<Node, Error> {
        Ok(Node::Number(v.to_string()))
    }
    fn serialize_i64(self, v: i64) -> Result<Node, Error> {
        Ok(Node::Number(v.to_string()))
    }
    fn serialize_u8(self, v: u8) -> Result<Node, Error> {
        Ok(Node::Number(v.to_string()))
    }
    fn serialize_u16(self, v: u16) -> Result<Node, Error> {
        Ok(Node::Number(v.to_string()))
    }
    fn serialize_u32(self, v: u32) -> Result<Node, Error> {
        Ok(Node::Number(v.to_string()))
    }
    fn serialize_u64(self, v: u64) -> Result<Node, Error> {
        Ok(Node::Number(v.to_string()))
    }
    fn serialize_f32(self, v: f32) -> Result<Node, Error> {
        self.serialize_f64(f64::from(v))
    }
    fn serialize_f64(self, v: f64) -> Result<Node, Error> {
        if v.is_finite() {
            let s = format!("{v:?}");
            Ok(Node::Number(s))
        } else if v.is_nan() {
            Ok(Node::Number(".nan".into()))
        } else if v > 0.0 {
            Ok(Node::Number(".inf".into()))
        } else {
            Ok(Node::Number("-.inf".into()))
        }
    }
    fn serialize_char(self, v: char) -> Result<Node, Error> {
        Ok(Node::Str(v.to_string()))
    }
    fn serialize_str(self, v: &str) -> Result<Node, Error> {
        Ok(Node::Str(v.to_string()))
    }
    fn serialize_bytes(self, _v: &[u8]) -> Result<Node, Error> {
        Err(Error("bytes cannot be written as YAML".into()))
    }
    fn serialize_none(self) -> Result<Node, Error> {
        Ok(Node::Null)
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<Node, Error> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<Node, Error> {
        Ok(Node::Null)
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<Node, Error> {
        Ok(Node::Null)
    }
    fn serialize_unit_variant(
        self,
        _n: &'static str,
        _i: u32,
        variant: &'static str,
    ) -> Result<Node, Error> {
        Ok(Node::Str(variant.to_string()))
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _n: &'static str,
        value: &T,
    ) -> Result<Node, Error> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _n: &'static str,
        _i: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<Node, Error> {
        Ok(Node::Map(vec![(
            variant.to_string(),
            value.serialize(NodeSerializer)?,
        )]))
    }
    fn serialize_seq(self, len: Option<usize>) -> Result<SeqBuilder, Error> {
        Ok(SeqBuilder(Vec::with_capacity(len.unwrap_or(0))))
    }
    fn serialize_tuple(self, len: usize) -> Result<SeqBuilder, Error> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_struct(self, _n: &'static str, len: usize) -> Result<SeqBuilder, Error> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_variant(
        self,
        _n: &'static str,
        _i: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<VariantBuilder, Error> {
        Ok(VariantBuilder {
            variant,
            tuple: true,
            entries: Vec::new(),
            items: Vec::new(),
        })
    }
    fn serialize_map(self, len: Option<usize>) -> Result<MapBuilder, Error> {
        Ok(MapBuilder {
            entries: Vec::with_capacity(len.unwrap_or(0)),
            key: None,
        })
    }
    fn serialize_struct(self, _n: &'static str, len: usize) -> Result<MapBuilder, Error> {
        self.serialize_map(Some(len))
    }
    fn serialize_struct_variant(
        self,
        _n: &'static str,
        _i: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<VariantBuilder, Error> {
        Ok(VariantBuilder {
            variant,
            tuple: false,
            entries: Vec::new(),
            items: Vec::new(),
        })
    }
}

impl ser::SerializeSeq for SeqBuilder {
    type Ok = Node;
    type Error = Error;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.0.push(value.serialize(NodeSerializer)?);
        Ok(())
    }
    fn end(self) -> Result<Node, Error> {
        Ok(Node::Seq(self.0))
    }
}

impl ser::SerializeTuple for SeqBuilder {
    type Ok = Node;
    type Error = Error;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        ser::SerializeSeq::serialize_element(self, value)
    }
    fn end(self) -> Result<Node, Error> {
        ser::SerializeSeq::end(self)
    }
}

impl ser::SerializeTupleStruct for SeqBuilder {
    type Ok = Node;
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        ser::SerializeSeq::serialize_element(self, value)
    }
    fn end(self) -> Result<Node, Error> {
        ser::SerializeSeq::end(self)
    }
}

impl ser::SerializeMap for MapBuilder {
    type Ok = Node;
    type Error = Error;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Error> {
        self.key = Some(key_of(key.serialize(NodeSerializer)?)?);
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        let key = self
            .key
            .take()
            .ok_or_else(|| Error("a map value came without its key".into()))?;
        self.entries.push((key, value.serialize(NodeSerializer)?));
        Ok(())
    }
    fn end(self) -> Result<Node, Error> {
        Ok(Node::Map(self.entries))
    }
}

impl ser::SerializeStruct for MapBuilder {
    type Ok = Node;
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        self.entries
            .push((key.to_string(), value.serialize(NodeSerializer)?));
        Ok(())
    }
    fn end(self) -> Result<Node, Error> {
        Ok(Node::Map(self.entries))
    }
}

impl VariantBuilder {
    fn finish(self) -> Node {
        let inner = if self.tuple {
            Node::Seq(self.items)
        } else {
            Node::Map(self.entries)
        };
        Node::Map(vec![(self.variant.to_string(), inner)])
    }
}

impl ser::SerializeTupleVariant for VariantBuilder {
    type Ok = Node;
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.items.push(value.serialize(NodeSerializer)?);
        Ok(())
    }
    fn end(self) -> Result<Node, Error> {
        Ok(self.finish())
    }
}

impl ser::SerializeStructVariant for VariantBuilder {
    type Ok = Node;
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        self.entries
            .push((key.to_string(), value.serialize(NodeSerializer)?));
        Ok(())
    }
    fn end(self) -> Result<Node, Error> {
        Ok(self.finish())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    /// Strings YAML 1.1 would read as booleans, nulls, numbers, dates or merge keys.
    pub(crate) const TRAPS: [&str; 40] = [
        "2022-11-28",
        "2022-11-28T10:00:00Z",
        "yes",
        "no",
        "on",
        "off",
        "y",
        "n",
        "Y",
        "N",
        "NO",
        "Off",
        "true",
        "True",
        "null",
        "~",
        "",
        "1e3",
        "0x1F",
        "0o17",
        "012",
        "1_000",
        "+1",
        ".5",
        "-.inf",
        ".NaN",
        "1:20",
        "190:20:30",
        "<<",
        "=",
        "- x",
        "a: b",
        "a #b",
        "#x",
        " x",
        "x ",
        "x\ny",
        "'q'",
        "${{ x }}",
        "*a",
    ];

    #[test]
    fn traps_are_quoted() {
        for t in TRAPS {
            assert!(!is_plain_safe(t), "{t:?} would be written plain");
        }
        for ok in [
            "main",
            "ghcr.io/org/app",
            "https://api.github.com/repos/a/b",
            "apps/uv/",
            "Never",
            "application/json",
        ] {
            assert!(is_plain_safe(ok), "{ok:?} should stay plain");
        }
    }

    #[test]
    fn layout() {
        #[derive(serde::Serialize)]
        struct Doc {
            a: Vec<BTreeMap<&'static str, &'static str>>,
            b: BTreeMap<&'static str, u32>,
            c: Vec<u32>,
            d: &'static str,
        }
        let s = to_string(&Doc {
            a: vec![BTreeMap::from([("x", "1"), ("y", "on")])],
            b: BTreeMap::new(),
            c: vec![],
            d: "it's",
        })
        .unwrap();
        assert_eq!(
            s,
            "a:\n  - x: '1'\n    'y': 'on'\nb: {}\nc: []\nd: 'it''s'\n"
        );
    }

    proptest! {
        /// Any string comes back as exactly itself.
        #[test]
        fn strings_round_trip(s in "\\PC*|.*", k in "[a-zA-Z][a-zA-Z0-9/._-]{0,20}") {
            let m = BTreeMap::from([(k.clone(), vec![s.clone()])]);
            let text = to_string(&m).unwrap();
            let back: BTreeMap<String, Vec<String>> = yaml_serde::from_str(&text).unwrap();
            prop_assert_eq!(back, m, "{}", text);
        }
    }
}
