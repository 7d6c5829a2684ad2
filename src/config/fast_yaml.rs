//! A fast reader for the plain block YAML that state files and most
//! images.yaml files are written in.
//!
//! A run reads thousands of small state files and an images.yaml of
//! thousands of entries, and the general YAML parser spends about a hundred
//! instructions per byte on them — half of synth's time at 10,000 images.
//! This reader handles only the common, simple shape — block mappings and
//! sequences, one-line plain, single-quoted and escape-free double-quoted
//! scalars, comments, `[]` and `{}` — and says `None` for anything else (flow
//! collections, anchors, tags, escapes, multi-line scalars, tabs, several
//! documents, an unexpected indent), so the caller parses those with the full
//! parser. It also says `None` whenever deserialising fails, so every error
//! message comes from the full parser too.
//!
//! What it returns must be exactly what the full parser gives; the scalar
//! rules below are `yaml_serde`'s (`de.rs`, 0.10: `visit_untagged_scalar`,
//! `deserialize_option`, `deserialize_str`), and a property test compares the
//! two on generated documents.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, DeserializeOwned, IntoDeserializer, Visitor};
use serde::Deserialize as _;

use crate::config::parse::Value;

/// Parses `text` as `T` if it is in the simple shape and deserialises
/// cleanly; `None` means "use the full parser".
pub(crate) fn parse<T: DeserializeOwned>(text: &str) -> Option<T> {
    let node = Reader::new(text)?.document()?;
    T::deserialize(NodeDe(&node)).ok()
}

/// Parses a top-level mapping as `T` and returns, with it, the keys
/// `known` does not list, in file order, each with its value when `values`
/// — what the full parser gives for the same text (a key that is not a
/// string, like `1:`, is left out, as there). One pass: the keys come from
/// the same tree the typed value is read from. `None` means "use the full
/// parser".
pub(crate) fn parse_with_extra<T: DeserializeOwned>(
    text: &str,
    known: &[&str],
    values: bool,
) -> Option<(T, Unknown)> {
    let node = Reader::new(text)?.document()?;
    let data = T::deserialize(NodeDe(&node)).ok()?;
    let mut extra = Vec::new();
    if let Node::Map(entries) = &node {
        for (key, value) in entries {
            if known.contains(key) || !is_string_key(key) {
                continue;
            }
            let value = if values {
                Some(Value::deserialize(NodeDe(value)).ok()?)
            } else {
                None
            };
            extra.push((key.to_string(), value));
        }
    }
    Some((data, extra))
}

/// Top-level keys a type does not model, each with its value when asked.
type Unknown = Vec<(String, Option<Value>)>;

/// Whether a plain key reads as a string (not null, a boolean or a number).
fn is_string_key(key: &str) -> bool {
    struct IsStr;
    impl Visitor<'_> for IsStr {
        type Value = bool;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("any scalar")
        }
        fn visit_str<E: de::Error>(self, _: &str) -> Result<bool, E> {
            Ok(true)
        }
        fn visit_unit<E: de::Error>(self) -> Result<bool, E> {
            Ok(false)
        }
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<bool, E> {
            Ok(false)
        }
        fn visit_u64<E: de::Error>(self, _: u64) -> Result<bool, E> {
            Ok(false)
        }
        fn visit_i64<E: de::Error>(self, _: i64) -> Result<bool, E> {
            Ok(false)
        }
        fn visit_u128<E: de::Error>(self, _: u128) -> Result<bool, E> {
            Ok(false)
        }
        fn visit_i128<E: de::Error>(self, _: i128) -> Result<bool, E> {
            Ok(false)
        }
        fn visit_f64<E: de::Error>(self, _: f64) -> Result<bool, E> {
            Ok(false)
        }
    }
    untagged_scalar(IsStr, key).unwrap_or(false)
}

/// A parsed value.
#[derive(Debug, PartialEq)]
enum Node<'a> {
    /// A scalar: its text, and whether it was plain (unquoted).
    Scalar(Cow<'a, str>, bool),
    Seq(Vec<Node<'a>>),
    Map(Vec<(&'a str, Node<'a>)>),
}

/// One meaningful line: its indent and the text after it.
#[derive(Debug, Clone, Copy)]
struct Line<'a> {
    indent: usize,
    text: &'a str,
}

struct Reader<'a> {
    lines: Vec<Line<'a>>,
    at: usize,
}

impl<'a> Reader<'a> {
    fn new(text: &'a str) -> Option<Reader<'a>> {
        // Tabs, carriage returns, other control characters and the line
        // breaks YAML 1.1 adds (NEL, LS, PS) or a byte-order mark: leave the
        // file to the full parser.
        let odd = |c: char| {
            (c.is_control() && c != '\n')
                || matches!(c, '\u{85}' | '\u{2028}' | '\u{2029}' | '\u{feff}')
        };
        if text.is_ascii() {
            if text.bytes().any(|b| (b < 0x20 && b != b'\n') || b == 0x7f) {
                return None;
            }
        } else if text.chars().any(odd) {
            return None;
        }
        let mut lines = Vec::new();
        for raw in text.split('\n') {
            let body = raw.trim_start_matches(' ');
            if body.is_empty() || body.starts_with('#') {
                continue;
            }
            // Directives, document markers: not the simple shape.
            if raw.starts_with('%') || raw.starts_with("---") || raw.starts_with("...") {
                return None;
            }
            lines.push(Line {
                indent: raw.len() - body.len(),
                text: body.trim_end_matches(' '),
            });
        }
        Some(Reader { lines, at: 0 })
    }

    /// The whole document: a mapping or a sequence at column 0, nothing
    /// after it.
    fn document(mut self) -> Option<Node<'a>> {
        let first = *self.lines.first()?;
        if first.indent != 0 {
            return None;
        }
        let node = self.block()?;
        (self.at == self.lines.len()).then_some(node)
    }

    fn peek(&self) -> Option<Line<'a>> {
        self.lines.get(self.at).copied()
    }

    /// The block that starts at the current line (a sequence or a mapping).
    fn block(&mut self) -> Option<Node<'a>> {
        let line = self.peek()?;
        if is_item(line.text) {
            self.seq(line.indent)
        } else {
            self.map(line.indent)
        }
    }

    /// A mapping whose keys sit at column `indent`.
    fn map(&mut self, indent: usize) -> Option<Node<'a>> {
        let mut entries: Vec<(&'a str, Node<'a>)> = Vec::new();
        while let Some(line) = self.peek() {
            if line.indent < indent || (line.indent == indent && is_item(line.text)) {
                break;
            }
            if line.indent > indent {
                return None;
            }
            let (key, rest) = split_key(line.text)?;
            // Duplicate keys: the full parser decides what they mean.
            if entries.iter().any(|(k, _)| *k == key) {
                return None;
            }
            self.at += 1;
            let value = if rest.is_empty() {
                match self.peek() {
                    Some(next)
                        if next.indent > indent
                            || (next.indent == indent && is_item(next.text)) =>
                    {
                        self.block()?
                    }
                    _ => Node::Scalar(Cow::Borrowed(""), true),
                }
            } else {
                let value = scalar(rest)?;
                self.no_continuation(indent)?;
                value
            };
            entries.push((key, value));
        }
        Some(Node::Map(entries))
    }

    /// A sequence whose `- ` sit at column `indent`.
    fn seq(&mut self, indent: usize) -> Option<Node<'a>> {
        let mut items = Vec::new();
        while let Some(line) = self.peek() {
            if line.indent != indent || !is_item(line.text) {
                if line.indent > indent {
                    return None;
                }
                break;
            }
            let after = line.text.strip_prefix("- ")?;
            let body = after.trim_start_matches(' ');
            let body_indent = indent + 2 + (after.len() - body.len());
            if body.is_empty() || body.starts_with('#') || is_item(body) {
                return None;
            }
            if split_key(body).is_some() {
                // `- key: value`: a mapping whose keys sit where this one does.
                self.lines[self.at] = Line {
                    indent: body_indent,
                    text: body,
                };
                items.push(self.map(body_indent)?);
            } else {
                self.at += 1;
                items.push(scalar(body)?);
                self.no_continuation(indent)?;
            }
        }
        Some(Node::Seq(items))
    }

    /// After a one-line value: a more indented line would continue it.
    fn no_continuation(&self, indent: usize) -> Option<()> {
        match self.peek() {
            Some(next) if next.indent > indent => None,
            _ => Some(()),
        }
    }
}

fn is_item(text: &str) -> bool {
    text == "-" || text.starts_with("- ")
}

/// `key: rest` or `key:`, with a simple key; `rest` without a comment.
fn split_key(text: &str) -> Option<(&str, &str)> {
    let end = text
        .bytes()
        .position(|b| !(b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-')))?;
    let (key, rest) = text.split_at(end);
    let first = *key.as_bytes().first()?;
    if !(first.is_ascii_alphanumeric() || first == b'_') {
        return None;
    }
    let rest = rest.strip_prefix(':')?;
    if rest.is_empty() {
        return Some((key, ""));
    }
    let rest = rest.strip_prefix(' ')?.trim_start_matches(' ');
    if rest.starts_with('#') {
        return Some((key, ""));
    }
    Some((key, rest))
}

/// A one-line value: `[]`, `{}`, a single-quoted or a plain scalar, with an
/// optional comment after it.
fn scalar(text: &str) -> Option<Node<'_>> {
    let comment_free = |rest: &str| {
        let trimmed = rest.trim_start_matches(' ');
        trimmed.is_empty() || (trimmed.starts_with('#') && rest.starts_with(' '))
    };
    if let Some(rest) = text.strip_prefix("[]") {
        return comment_free(rest).then_some(Node::Seq(Vec::new()));
    }
    if let Some(rest) = text.strip_prefix("{}") {
        return comment_free(rest).then_some(Node::Map(Vec::new()));
    }
    if let Some(body) = text.strip_prefix('{') {
        let (map, rest) = flow_map(body)?;
        return comment_free(rest).then_some(map);
    }
    if let Some(body) = text.strip_prefix('"') {
        // Without escapes a one-line double-quoted scalar is its text.
        let end = body.find(['"', '\\'])?;
        if body.as_bytes()[end] != b'"' {
            return None;
        }
        return comment_free(&body[end + 1..])
            .then_some(Node::Scalar(Cow::Borrowed(&body[..end]), false));
    }
    if let Some(body) = text.strip_prefix('\'') {
        let mut value = String::new();
        let mut rest = body;
        loop {
            let q = rest.find('\'')?;
            value.push_str(&rest[..q]);
            rest = &rest[q + 1..];
            match rest.strip_prefix('\'') {
                Some(r) => {
                    value.push('\'');
                    rest = r;
                }
                None => break,
            }
        }
        let value = if value.len() == body.len() - rest.len() - 1 {
            Cow::Borrowed(&body[..value.len()])
        } else {
            Cow::Owned(value)
        };
        return comment_free(rest).then_some(Node::Scalar(value, false));
    }
    // A plain scalar cannot start with an indicator (`-`, `?` and `:` can
    // when a non-space follows; those are left to the full parser).
    let first = text.chars().next()?;
    if "-?:,[]{}#&*!|>'\"%@`".contains(first) {
        return None;
    }
    let value = match text.find(" #") {
        Some(i) => text[..i].trim_end_matches(' '),
        None => text,
    };
    // Flow indicators (`[]{},`) end a plain scalar only inside a flow
    // collection; in a block one, past the first character, they are text
    // (`allowTags: ^3\.[0-9]+$`, the cdk8s app's external images).
    if value.contains(": ") || value.ends_with(':') {
        return None;
    }
    Some(Node::Scalar(Cow::Borrowed(value), true))
}

/// The one-line flow mapping the cdk8s app writes in update histories,
/// `{digest: sha256:…, detectedAt: '2025-…'}` (`body` is after its `{`):
/// simple keys, each followed by `: `, and values that are quoted as
/// [`scalar`] reads them or plain of letters, digits and `_ . / + @ -`
/// (`:` only between two of those), separated by `, `. Returns the mapping
/// and the text after its `}`; anything else (nesting, spaces or flow
/// indicators in a plain value, a trailing comma, a duplicate key) is left
/// to the full parser.
fn flow_map(body: &str) -> Option<(Node<'_>, &str)> {
    let mut entries: Vec<(&str, Node<'_>)> = Vec::new();
    let mut rest = body;
    loop {
        let end = rest
            .bytes()
            .position(|b| !(b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-')))?;
        let (key, after) = rest.split_at(end);
        let first = *key.as_bytes().first()?;
        if !(first.is_ascii_alphanumeric() || first == b'_')
            || entries.iter().any(|(k, _)| *k == key)
        {
            return None;
        }
        let after = after.strip_prefix(": ")?.trim_start_matches(' ');
        let (value, after) = flow_value(after)?;
        entries.push((key, value));
        let after = after.trim_start_matches(' ');
        if let Some(after) = after.strip_prefix('}') {
            return Some((Node::Map(entries), after));
        }
        rest = after.strip_prefix(", ")?.trim_start_matches(' ');
    }
}

/// One value of a [`flow_map`] and the text after it.
fn flow_value(text: &str) -> Option<(Node<'_>, &str)> {
    let quote = text.as_bytes().first().copied()?;
    if quote == b'\'' || quote == b'"' {
        // The closing quote: the first lone `'` (a doubled one is an
        // escaped quote), or the first `"` with no escape before it.
        let bytes = text.as_bytes();
        let mut i = 1;
        loop {
            match bytes.get(i)? {
                b'\\' if quote == b'"' => return None,
                b'\'' if quote == b'\'' && bytes.get(i + 1) == Some(&b'\'') => i += 2,
                &b if b == quote => break,
                _ => i += 1,
            }
        }
        let Node::Scalar(value, plain) = scalar(&text[..=i])? else {
            return None;
        };
        return Some((Node::Scalar(value, plain), &text[i + 1..]));
    }
    let plain_byte =
        |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'/' | b'+' | b'@' | b'-');
    let bytes = text.as_bytes();
    if !bytes.first().is_some_and(u8::is_ascii_alphanumeric) {
        return None;
    }
    let mut end = 0;
    while end < bytes.len() {
        let b = bytes[end];
        if plain_byte(b) || (b == b':' && bytes.get(end + 1).is_some_and(|&n| plain_byte(n))) {
            end += 1;
        } else {
            break;
        }
    }
    // A plain value ends at `,` or `}` (spaces before them allowed).
    let after = &text[end..];
    if !after.trim_start_matches(' ').starts_with([',', '}']) {
        return None;
    }
    Some((Node::Scalar(Cow::Borrowed(&text[..end]), true), after))
}

/// Any failure: the caller falls back to the full parser.
#[derive(Debug)]
struct Fallback;

impl fmt::Display for Fallback {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("not in the simple shape")
    }
}

impl std::error::Error for Fallback {}

impl de::Error for Fallback {
    fn custom<T: fmt::Display>(_: T) -> Self {
        Fallback
    }
}

struct NodeDe<'n, 'a>(&'n Node<'a>);

impl NodeDe<'_, '_> {
    /// `yaml_serde`'s test for "this plain scalar is null": empty, `null`,
    /// `Null`, `NULL` or `~`.
    fn is_null(&self) -> bool {
        matches!(self.0, Node::Scalar(v, true) if v.is_empty() || is_null_word(v))
    }
}

fn is_null_word(v: &str) -> bool {
    matches!(v, "null" | "Null" | "NULL" | "~")
}

impl<'de> de::Deserializer<'de> for NodeDe<'_, '_> {
    type Error = Fallback;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Fallback> {
        match self.0 {
            Node::Scalar(v, true) => untagged_scalar(visitor, v),
            Node::Scalar(v, false) => visitor.visit_str(v),
            // Untyped collections (a `metadata` value, a key imgf does not
            // read). A mapping whose keys are not all strings is left to the
            // full parser: `1` and `0x1` would be one key there.
            Node::Seq(_) => self.deserialize_seq(visitor),
            Node::Map(entries) if entries.iter().all(|(k, _)| is_string_key(k)) => {
                self.deserialize_map(visitor)
            }
            Node::Map(_) => Err(Fallback),
        }
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Fallback> {
        match self.0 {
            Node::Scalar(v, true) => match v.as_ref() {
                "true" | "True" | "TRUE" => visitor.visit_bool(true),
                "false" | "False" | "FALSE" => visitor.visit_bool(false),
                _ => Err(Fallback),
            },
            _ => Err(Fallback),
        }
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Fallback> {
        match self.0 {
            Node::Scalar(v, _) => visitor.visit_str(v),
            _ => Err(Fallback),
        }
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Fallback> {
        self.deserialize_str(visitor)
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Fallback> {
        self.deserialize_str(visitor)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Fallback> {
        if self.is_null() {
            visitor.visit_none()
        } else {
            visitor.visit_some(self)
        }
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Fallback> {
        if self.is_null() {
            visitor.visit_unit()
        } else {
            Err(Fallback)
        }
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Fallback> {
        self.deserialize_unit(visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Fallback> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Fallback> {
        match self.0 {
            Node::Seq(items) => {
                visitor.visit_seq(de::value::SeqDeserializer::new(items.iter().map(NodeDe)))
            }
            Node::Scalar(v, true) if v.is_empty() => {
                visitor.visit_seq(de::value::SeqDeserializer::new(std::iter::empty::<NodeDe>()))
            }
            _ => Err(Fallback),
        }
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, Fallback> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, Fallback> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Fallback> {
        match self.0 {
            Node::Map(entries) => visitor.visit_map(de::value::MapDeserializer::new(
                entries.iter().map(|&(k, ref v)| (Key(k), NodeDe(v))),
            )),
            Node::Scalar(v, true) if v.is_empty() => visitor.visit_map(
                de::value::MapDeserializer::new(std::iter::empty::<(Key, NodeDe)>()),
            ),
            _ => Err(Fallback),
        }
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Fallback> {
        self.deserialize_map(visitor)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Fallback> {
        visitor.visit_unit()
    }

    // Shapes state files never hold: the full parser decides.
    fn deserialize_i8<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Fallback> {
        Err(Fallback)
    }
    fn deserialize_i16<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Fallback> {
        Err(Fallback)
    }
    fn deserialize_i32<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Fallback> {
        Err(Fallback)
    }
    fn deserialize_i64<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Fallback> {
        Err(Fallback)
    }
    fn deserialize_u8<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Fallback> {
        Err(Fallback)
    }
    fn deserialize_u16<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Fallback> {
        Err(Fallback)
    }
    fn deserialize_u32<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Fallback> {
        Err(Fallback)
    }
    fn deserialize_u64<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Fallback> {
        Err(Fallback)
    }
    fn deserialize_f32<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Fallback> {
        Err(Fallback)
    }
    fn deserialize_f64<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Fallback> {
        Err(Fallback)
    }
    fn deserialize_char<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Fallback> {
        Err(Fallback)
    }
    fn deserialize_bytes<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Fallback> {
        Err(Fallback)
    }
    fn deserialize_byte_buf<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Fallback> {
        Err(Fallback)
    }
    /// A unit variant written as a scalar (`provider: github`), as
    /// `yaml_serde` reads an untagged scalar; tagged or other variants are the
    /// full parser's.
    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Fallback> {
        match self.0 {
            Node::Scalar(v, _) if !v.is_empty() => {
                visitor.visit_enum(de::value::StrDeserializer::<Fallback>::new(v))
            }
            _ => Err(Fallback),
        }
    }
}

impl IntoDeserializer<'_, Fallback> for NodeDe<'_, '_> {
    type Deserializer = Self;
    fn into_deserializer(self) -> Self {
        self
    }
}

/// A mapping key (a plain scalar): a string where one is asked for (a
/// struct field name, a `String` key), resolved like any plain scalar
/// otherwise — as `yaml_serde` does.
struct Key<'n>(&'n str);

impl IntoDeserializer<'_, Fallback> for Key<'_> {
    type Deserializer = Self;
    fn into_deserializer(self) -> Self {
        self
    }
}

impl<'de> de::Deserializer<'de> for Key<'_> {
    type Error = Fallback;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Fallback> {
        untagged_scalar(visitor, self.0)
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Fallback> {
        visitor.visit_str(self.0)
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Fallback> {
        visitor.visit_str(self.0)
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Fallback> {
        visitor.visit_str(self.0)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Fallback> {
        visitor.visit_unit()
    }

    fn deserialize_option<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Fallback> {
        Err(Fallback)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char bytes byte_buf
        unit unit_struct newtype_struct seq tuple tuple_struct map struct enum
    }
}

/// `yaml_serde`'s `visit_untagged_scalar`: null, booleans, integers, floats,
/// then a string.
fn untagged_scalar<'de, V: Visitor<'de>>(visitor: V, v: &str) -> Result<V::Value, Fallback> {
    if v.is_empty() || is_null_word(v) {
        return visitor.visit_unit();
    }
    match v {
        "true" | "True" | "TRUE" => return visitor.visit_bool(true),
        "false" | "False" | "FALSE" => return visitor.visit_bool(false),
        _ => {}
    }
    if let Some(n) = numbers::unsigned(v, u64::from_str_radix) {
        return visitor.visit_u64(n);
    }
    if let Some(n) = numbers::negative(v, i64::from_str_radix) {
        return visitor.visit_i64(n);
    }
    if let Some(n) = numbers::unsigned(v, u128::from_str_radix) {
        return visitor.visit_u128(n);
    }
    if let Some(n) = numbers::negative(v, i128::from_str_radix) {
        return visitor.visit_i128(n);
    }
    if !numbers::digits_but_not_number(v) {
        if let Some(f) = numbers::float(v) {
            return visitor.visit_f64(f);
        }
    }
    visitor.visit_str(v)
}

/// `yaml_serde` 0.10's number rules (`de.rs`: `parse_unsigned_int`,
/// `parse_negative_int`, `parse_f64`, `digits_but_not_number`), copied so a
/// plain scalar resolves to the same number here as there. `yaml_serde` is
/// MIT OR Apache-2.0, like imgf.
mod numbers {
    use std::num::ParseIntError;

    type Radix<T> = fn(&str, u32) -> Result<T, ParseIntError>;

    pub(super) fn unsigned<T>(scalar: &str, from_str_radix: Radix<T>) -> Option<T> {
        let unpositive = scalar.strip_prefix('+').unwrap_or(scalar);
        for (prefix, radix) in [("0x", 16), ("0o", 8), ("0b", 2)] {
            if let Some(rest) = unpositive.strip_prefix(prefix) {
                if rest.starts_with(['+', '-']) {
                    return None;
                }
                if let Ok(int) = from_str_radix(rest, radix) {
                    return Some(int);
                }
            }
        }
        if unpositive.starts_with(['+', '-']) {
            return None;
        }
        if digits_but_not_number(scalar) {
            return None;
        }
        from_str_radix(unpositive, 10).ok()
    }

    pub(super) fn negative<T>(scalar: &str, from_str_radix: Radix<T>) -> Option<T> {
        for (prefix, radix) in [("-0x", 16), ("-0o", 8), ("-0b", 2)] {
            if let Some(rest) = scalar.strip_prefix(prefix) {
                let negative = format!("-{rest}");
                if let Ok(int) = from_str_radix(&negative, radix) {
                    return Some(int);
                }
            }
        }
        if digits_but_not_number(scalar) {
            return None;
        }
        from_str_radix(scalar, 10).ok()
    }

    pub(super) fn float(scalar: &str) -> Option<f64> {
        let unpositive = if let Some(unpositive) = scalar.strip_prefix('+') {
            if unpositive.starts_with(['+', '-']) {
                return None;
            }
            unpositive
        } else {
            scalar
        };
        if let ".inf" | ".Inf" | ".INF" = unpositive {
            return Some(f64::INFINITY);
        }
        if let "-.inf" | "-.Inf" | "-.INF" = scalar {
            return Some(f64::NEG_INFINITY);
        }
        if let ".nan" | ".NaN" | ".NAN" = scalar {
            return Some(f64::NAN.copysign(1.0));
        }
        if let Ok(float) = unpositive.parse::<f64>() {
            if float.is_finite() {
                return Some(float);
            }
        }
        None
    }

    /// Leading zeros followed by digits: a string in YAML 1.2.
    pub(super) fn digits_but_not_number(scalar: &str) -> bool {
        let scalar = scalar.strip_prefix(['-', '+']).unwrap_or(scalar);
        scalar.len() > 1
            && scalar.starts_with('0')
            && scalar[1..].bytes().all(|b| b.is_ascii_digit())
    }
}

#[cfg(test)]
mod tests {
    use std::fmt::Write as _;
    use std::path::Path;

    use proptest::prelude::*;

    use super::parse;
    use crate::state::{AuditEntry, BaseImageState, Build, ImageState, Update, WorkflowInput};

    fn full<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, String> {
        crate::config::parse::parse::<T>(Path::new("s.yaml"), text).map_err(|d| d.message)
    }

    /// Whatever the fast reader returns, the full parser returns too.
    fn agrees<T: serde::de::DeserializeOwned + PartialEq + std::fmt::Debug>(text: &str) -> bool {
        match parse::<T>(text) {
            Some(fast) => {
                assert_eq!(Ok(&fast), full::<T>(text).as_ref(), "{text}");
                true
            }
            None => false,
        }
    }

    fn image() -> ImageState {
        ImageState {
            name: Some("api".into()),
            enrolled_at: Some("2024-01-02T03:04:05Z".into()),
            discovery_status: Some("success".into()),
            base_images: vec!["node-22-bookworm-slim".into(), "web".into()],
            unresolved: vec!["${BASE}".into()],
            current_version: Some("1.2.3".into()),
            current_digest: Some(format!("sha256:{}", "a".repeat(64))),
            last_built: Some("2024-01-03T00:00:00Z".into()),
            build_history: vec![Build {
                at: Some("2024-01-03T00:00:00Z".into()),
                tag: Some("1.2.3".into()),
                digest: Some(format!("sha256:{}", "a".repeat(64))),
            }],
            workflow_inputs: Some(vec![WorkflowInput {
                name: "version_bump".into(),
                required: true,
            }]),
            audit: vec![AuditEntry {
                action: "emergency".into(),
                at: "2024-05-06T07:08:09Z".into(),
                actor: "o'brien".into(),
                reason: "CVE-2024-1234: a # in it, and: a colon".into(),
                images: vec!["api".into()],
                scope: Some("image api".into()),
                affected: Some(2),
                allow_unverified: true,
            }],
            ..ImageState::default()
        }
    }

    fn base() -> BaseImageState {
        BaseImageState {
            name: Some("node-22".into()),
            full_image: Some("node:22".into()),
            registry: Some("docker.io".into()),
            repository: Some("library/node".into()),
            tag: Some("22".into()),
            current_digest: Some(format!("sha256:{}", "b".repeat(64))),
            rebuild_eligible_at: Some(
                [("api".to_string(), Some("2024-01-01T00:00:00Z".to_string()))].into(),
            ),
            update_history: vec![Update {
                digest: Some(format!("sha256:{}", "b".repeat(64))),
                previous_digest: None,
                at: Some("2024-01-01T00:00:00Z".into()),
            }],
            ..BaseImageState::default()
        }
    }

    /// The files imgf writes take the fast path (or the speed-up is gone)
    /// and read back as written.
    #[test]
    fn state_files_imgf_writes_take_the_fast_path() {
        let text = crate::state::write::image_state(&image()).unwrap();
        assert_eq!(parse::<ImageState>(&text), Some(image()), "{text}");
        assert!(agrees::<ImageState>(&text));
        let text = crate::state::write::base_image_state(&base()).unwrap();
        assert_eq!(parse::<BaseImageState>(&text), Some(base()), "{text}");
        let mut without = image();
        without.build_history.clear();
        let text = crate::state::write::image_state(&without).unwrap();
        assert!(!text.contains("buildHistory"), "{text}");
        assert_eq!(parse::<ImageState>(&text), Some(without), "{text}");
        let empty = crate::state::write::base_image_state(&BaseImageState::default()).unwrap();
        assert!(agrees::<BaseImageState>(&empty), "{empty}");
    }

    #[test]
    fn the_old_tools_shapes_read_as_the_full_parser_reads_them() {
        for text in [
            "name: n\ncurrentDigest: None\ncurrentVersion: 0.1\nlastUpdated: None # c\nbaseImages:\n  - a  # see\n",
            "name: n\nbaseImages:\n- a\n- b\nworkflowInputs:\n- name: x\n  required: true\n",
            "name: n\ncurrentVersion: 1.10\ntag: 010\nallowTags: 0x1F\nlastBuilt: 1e3\n",
            "name: n\nupdateHistory: []\nmetadata: {}\nrebuildEligibleAt:\n  api: null\n  web: ~\n",
            "name: n\nupdateHistory:\n  - {digest: sha256:ab12, detectedAt: '2025-12-23T09:10:35.947813+00:00'}\n  - {digest: \"sha256:cd\", detectedAt: 'it''s'}  # c\n",
            // An external image's file: a tag regex as a plain scalar, whose
            // brackets are text outside a flow collection.
            "name: kafka\nallowTags: ^3\\.[0-9]+\\.[0-9]+$\nimageSelectionStrategy: SemVer\nbaseImages: []\n",
            "name: n\nallowTags: ^v{1}[0-9]+$ # c\ntag: a]b\n",
        ] {
            assert!(
                agrees::<ImageState>(text) | agrees::<BaseImageState>(text),
                "not fast: {text}"
            );
        }
    }

    #[test]
    fn anything_unusual_is_left_to_the_full_parser() {
        for text in [
            "name: n\n\tbaseImages: []\n",
            "name: &a n\ntag: *a\n",
            "name: !tag n\n",
            "name: \"n\\tx\"\n",
            "name: [a]\n",
            "updateHistory:\n  - {digest: a b, detectedAt: x}\n",
            "updateHistory:\n  - {digest: x, detectedAt: x,}\n",
            "updateHistory:\n  - {digest: x, digest: y}\n",
            "updateHistory:\n  - {digest: {a: b}}\n",
            "updateHistory:\n  - {digest: [a]}\n",
            "updateHistory:\n  - {digest: a:}\n",
            "updateHistory:\n  - {digest: 'a\\'}\n  - {digest: \"a\\\"\"}\n",
            "updateHistory:\n  - {digest: x}: y\n",
            "name: n\nname: m\n",
            "---\nname: n\n",
            "name: n\n---\nname: m\n",
            "name: a\n  b\n",
            "name: |\n  a\n",
            "name: 'a\n  b'\n",
            "baseImages:\n  - - a\n",
            "- a\n",
            "name: a: b\n",
            "name: a\r\n",
            "name: -1\n",
            "? name\n: n\n",
            "",
        ] {
            assert_eq!(parse::<ImageState>(text), None, "{text:?}");
        }
    }

    /// Keys of an image state and others: the cdk8s app's, and some that
    /// read as null, a boolean or a number.
    const MIXED_KEYS: &[&str] = &[
        "name",
        "baseImages",
        "currentVersion",
        "enrollment",
        "note",
        "metadata",
        "1",
        "true",
        "null",
        "0x1",
    ];

    /// A scalar in one of the spellings that could trip a reader.
    fn scalar() -> impl Strategy<Value = String> {
        prop_oneof![
            prop::sample::select(vec![
                "",
                "null",
                "Null",
                "NULL",
                "~",
                "None",
                "true",
                "False",
                "yes",
                "on",
                "0",
                "00",
                "010",
                "0x1F",
                "0o17",
                "0b101",
                "+1",
                "-1",
                "1.0",
                "1.0.0",
                "1e3",
                ".inf",
                "-.inf",
                ".nan",
                "0.1",
                "2024-01-01",
                "2024-01-01T00:00:00Z",
                "sha256:abc",
                "a b",
                "a#b",
                "a #b",
                "a: b",
                "a:",
                ":a",
                "it's",
                "'q''s'",
                "'a' #c",
                "'a'#c",
                "''",
                "[]",
                "{}",
                "[a]",
                "{a: 1}",
                "&x a",
                "*x",
                "!t a",
                "|",
                ">",
                "\"d\"",
                "@a",
                "%a",
                "`a`",
                "- a",
                "? a",
                "a,b",
                "ü",
                "a  ",
                "/x",
                "_x",
                "./x",
                "+",
                "12345678901234567890123",
                "^3\\.[0-9]+\\.[0-9]+$",
                "a[b]",
                "a]",
                "x{y}",
                "a}b{",
                "a,[b]",
                "a [b] #c",
                "a#[b]",
            ])
            .prop_map(str::to_string),
            "[a-z0-9:.@/ #'-]{0,12}",
            "[a-z][a-z0-9:.@/ #'\\[\\]{},^$\\\\-]{0,12}",
        ]
    }

    fn list(keys: &'static [&'static str]) -> impl Strategy<Value = String> {
        let item = prop_oneof![
            scalar().prop_map(|s| format!("- {s}\n")),
            (
                prop::sample::select(keys),
                scalar(),
                prop::sample::select(keys),
                scalar()
            )
                .prop_map(|(k1, v1, k2, v2)| format!("- {k1}: {v1}\n  {k2}: {v2}\n")),
            // The cdk8s app's update history: `- {digest: …, detectedAt: '…'}`.
            (
                prop::sample::select(keys),
                scalar(),
                prop::sample::select(keys),
                scalar(),
                prop::sample::select(vec![", ", ",", " , ", ",  "]),
            )
                .prop_map(|(k1, v1, k2, v2, sep)| format!("- {{{k1}: {v1}{sep}{k2}: {v2}}}\n")),
        ];
        (prop::collection::vec(item, 0..4), 0usize..3).prop_map(|(items, indent)| {
            let pad = " ".repeat(indent);
            items
                .iter()
                .flat_map(|i| i.lines().map(|l| format!("{pad}{l}\n")).collect::<Vec<_>>())
                .collect()
        })
    }

    fn document(keys: &'static [&'static str]) -> impl Strategy<Value = String> {
        let entry = prop_oneof![
            (prop::sample::select(keys), scalar()).prop_map(|(k, v)| format!("{k}: {v}\n")),
            (
                prop::sample::select(keys),
                list(&["name", "required", "digest", "at", "x"])
            )
                .prop_map(|(k, l)| format!("{k}:\n{l}")),
            (
                prop::sample::select(keys),
                prop::collection::vec(("[a-z]{1,3}", scalar()), 0..3)
            )
                .prop_map(|(k, m)| {
                    m.iter().fold(format!("{k}:\n"), |mut s, (a, b)| {
                        let _ = writeln!(s, "  {a}: {b}");
                        s
                    })
                }),
            Just("# a comment\n".to_string()),
            Just("\n".to_string()),
        ];
        prop::collection::vec(entry, 1..8).prop_map(|e| e.concat())
    }

    /// An images.yaml: entries with the required keys and some optional
    /// ones, nested sources, updates and build args, with values from
    /// [`scalar`] (so some entries are wrong and both readers must refuse
    /// them).
    fn enrollments() -> impl Strategy<Value = String> {
        const OPTIONAL: &[&str] = &[
            "rebuildDelay",
            "autoRebuild",
            "tag",
            "owner",
            "allowTags",
            "imageSelectionStrategy",
            "versions",
        ];
        const SOURCE: &[&str] = &["provider", "branch", "workflow", "versionBump"];
        const UPDATE: &[&str] = &["name", "value", "pullRequest", "provider", "soak", "key"];
        let value = || prop_oneof![3 => "[a-z][a-z0-9/.-]{0,10}", 1 => scalar()];
        let fields = |keys: &'static [&'static str], pad: &'static str| {
            prop::collection::btree_map(prop::sample::select(keys), value(), 0..3).prop_map(
                move |m| {
                    m.iter().fold(String::new(), |mut s, (k, v)| {
                        let _ = writeln!(s, "{pad}{k}: {v}");
                        s
                    })
                },
            )
        };
        let update = (
            value(),
            value(),
            prop::sample::select(vec![
                "kustomize-set-image",
                "yaml-update",
                "helm",
                "'yaml-update'",
            ]),
            fields(UPDATE, "      "),
        )
            .prop_map(|(repo, path, kind, more)| {
                format!("    - repo: {repo}\n      path: {path}\n      type: {kind}\n{more}")
            });
        let entry = (
            (value(), value(), value()),
            fields(OPTIONAL, "  "),
            prop::option::of((
                (value(), value()),
                fields(SOURCE, "    "),
                prop::collection::btree_map("[A-Z_]{1,4}", value(), 0..3),
            )),
            prop::collection::vec(update, 0..3),
        )
            .prop_map(|((name, registry, repository), more, source, updates)| {
                let mut e = format!(
                    "- name: {name}\n  registry: {registry}\n  repository: {repository}\n{more}"
                );
                if let Some(((repo, dockerfile), fields, args)) = source {
                    let _ = write!(
                        e,
                        "  source:\n    repo: {repo}\n    dockerfile: {dockerfile}\n{fields}"
                    );
                    if !args.is_empty() {
                        e.push_str("    buildArgs:\n");
                        for (k, v) in args {
                            let _ = writeln!(e, "      {k}: {v}");
                        }
                    }
                }
                if !updates.is_empty() {
                    e.push_str("  updates:\n");
                    e.extend(updates);
                }
                e
            });
        prop::collection::vec(entry, 1..4).prop_map(|e| e.concat())
    }

    #[test]
    fn a_plain_images_yaml_takes_the_fast_path() {
        let text = "# images\n- name: api  # the API\n  registry: ghcr.io\n  repository: \"org/api\"\n  source:\n    provider: gitlab\n    repo: org/api\n    dockerfile: Dockerfile\n    buildArgs:\n      BASE: 'node:22'\n  autoRebuild: true\n  allowTags: ^v?\\d+$\n  updates:\n    - repo: org/deploy\n      path: apps/api\n      type: kustomize-set-image\n";
        assert!(
            agrees::<Vec<crate::config::enrollment::Enrollment>>(text),
            "not fast"
        );
    }

    /// A scalar the writers leave plain or single-quoted: words, versions,
    /// digests, and the spellings that must be quoted to stay strings.
    fn plain() -> impl Strategy<Value = String> {
        prop_oneof![
            4 => "[a-z0-9][a-z0-9./:@_-]{0,15}",
            1 => prop::sample::select(vec![
                "true", "null", "~", "1.0", "010", "0x1F", "1e3", "yes", "it's", "-x", "a b",
            ])
            .prop_map(str::to_string),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(500))]

        /// Every state file imgf writes takes the fast path: the
        /// comparisons below only count when the fast reader answers, so
        /// without this a reader that always declined would pass them.
        #[test]
        fn written_state_files_take_the_fast_path(
            name in plain(),
            version in prop::option::of(plain()),
            bases in prop::collection::vec(plain(), 0..3),
            tags in prop::collection::vec(plain(), 0..3),
            // (Keys the writer must quote, like `y` or `no`, are left to the
            // full parser: image names that are YAML 1.1 booleans are rare.)
            users in prop::collection::btree_map("[a-z]{2}[a-z0-9-]{0,6}[0-9]", prop::option::of(plain()), 0..3),
        ) {
            let mut state = image();
            state.name = Some(name.clone());
            state.current_version = version;
            state.base_images = bases;
            state.build_history = tags
                .into_iter()
                .map(|tag| Build { tag: Some(tag), ..state.build_history[0].clone() })
                .collect();
            // (Not compared with `state`: a string like `null` reads back
            // as no value in both readers, as the old tool's files need.)
            let text = crate::state::write::image_state(&state).unwrap();
            prop_assert!(agrees::<ImageState>(&text), "not fast: {}", text);
            let mut state = base();
            state.tag = Some(name);
            state.rebuild_eligible_at = Some(users.into_iter().collect());
            let text = crate::state::write::base_image_state(&state).unwrap();
            prop_assert!(agrees::<BaseImageState>(&text), "not fast: {}", text);
        }

        /// A hand-written images.yaml in plain block style takes the fast
        /// path too.
        #[test]
        fn plain_enrollments_take_the_fast_path(
            entries in prop::collection::vec(
                ("[a-z][a-z0-9-]{0,10}", "[a-z][a-z0-9./-]{0,10}", "[a-z][a-z0-9/-]{0,10}", prop::option::of(("[a-z][a-z0-9/-]{0,10}", "[A-Za-z][A-Za-z0-9./-]{0,10}"))),
                1..4,
            ),
        ) {
            let mut text = String::new();
            for (name, registry, repository, source) in entries {
                let _ = write!(text, "- name: {name}\n  registry: {registry}\n  repository: {repository}\n");
                if let Some((repo, dockerfile)) = source {
                    let _ = write!(text, "  source:\n    repo: {repo}\n    dockerfile: {dockerfile}\n");
                }
            }
            prop_assert!(
                agrees::<Vec<crate::config::enrollment::Enrollment>>(&text),
                "not fast: {}", text
            );
        }
    }

    proptest! {
        // About one generated document in eight is in the simple shape and
        // compared; the rest check that the reader declines without panicking.
        #![proptest_config(ProptestConfig::with_cases(4000))]

        #[test]
        fn image_states_read_as_the_full_parser_reads_them(text in document(&crate::state::IMAGE_KEYS)) {
            agrees::<ImageState>(&text);
        }

        #[test]
        fn enrollments_read_as_the_full_parser_reads_them(text in enrollments()) {
            agrees::<Vec<crate::config::enrollment::Enrollment>>(&text);
        }

        #[test]
        fn base_states_read_as_the_full_parser_reads_them(text in document(&crate::state::BASE_KEYS)) {
            agrees::<BaseImageState>(&text);
        }

        /// The keys a state type does not model, recorded in the same pass
        /// (with their values), are what a parse of the whole file as a YAML
        /// value finds.
        #[test]
        fn unknown_keys_read_as_the_full_parser_reads_them(text in document(MIXED_KEYS)) {
            if let Some((fast, extra)) =
                super::parse_with_extra::<ImageState>(&text, &crate::state::IMAGE_KEYS, true)
            {
                let typed = full::<ImageState>(&text);
                prop_assert_eq!(Ok(&fast), typed.as_ref(), "{}", text);
                // (A whole-file parse also refuses what no YAML value
                // holds, like an integer beyond 64 bits, under a key that
                // is not a string; such a key is skipped, not read.)
                let Ok(expected) =
                    crate::state::extra_keys(Path::new("s.yaml"), &text, &crate::state::IMAGE_KEYS)
                else {
                    return Ok(());
                };
                let extra: Vec<_> = extra.into_iter().map(|(k, v)| (k, v.unwrap())).collect();
                prop_assert_eq!(extra, expected, "{}", text);
            }
        }
    }
}
