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
//! `{}`/`[]` for empty collections, one trailing newline. It writes straight
//! into a `String` as serde walks the value: no intermediate tree.

use std::fmt::Write as _;

use serde::ser::{self, Serialize};

/// Error from serialising: non-string map keys and enum shapes imgf never emits.
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
    let mut out = String::with_capacity(1024);
    write(&mut out, value)?;
    Ok(out)
}

/// Appends `value` as one YAML document to `out`.
pub fn write<T: Serialize + ?Sized>(out: &mut String, value: &T) -> Result<(), Error> {
    value.serialize(Ser {
        out,
        ctx: Ctx::Root,
    })
}

/// Where the value being written sits.
#[derive(Clone, Copy)]
enum Ctx {
    /// The document itself.
    Root,
    /// After `key:` whose key is indented by the given amount.
    MapValue(usize),
    /// After `- ` written at the given indent.
    SeqItem(usize),
}

impl Ctx {
    /// The indent of the entries of a collection written here.
    fn child_indent(self) -> usize {
        match self {
            Ctx::Root => 0,
            Ctx::MapValue(i) | Ctx::SeqItem(i) => i + 2,
        }
    }
}

fn indent(out: &mut String, n: usize) {
    const SPACES: &str = "                                                                ";
    let mut n = n;
    while n > SPACES.len() {
        out.push_str(SPACES);
        n -= SPACES.len();
    }
    out.push_str(&SPACES[..n]);
}

/// Words that YAML 1.1 or 1.2 read as something other than a string.
const RESERVED: [&str; 14] = [
    "y", "n", "yes", "no", "true", "false", "on", "off", "null", "nan", "inf", "_", "=", "<<",
];

/// Whether `s` can be written without quotes and still read back as this
/// exact string by YAML 1.1 and 1.2 parsers alike.
pub fn is_plain_safe(s: &str) -> bool {
    let bytes = s.as_bytes();
    let Some(&first) = bytes.first() else {
        return false;
    };
    // Start with a letter or `/`: no number, date, time, sign, indicator or
    // special float can begin that way.
    if !(first.is_ascii_alphabetic() || first == b'/') {
        return false;
    }
    for (i, &c) in bytes.iter().enumerate() {
        // `:` only when not followed by a space or the end (`https://…`).
        let ok =
            PLAIN[usize::from(c)] || (c == b':' && i + 1 < bytes.len() && bytes[i + 1] != b' ');
        if !ok {
            return false;
        }
    }
    bytes.len() > 5 || !RESERVED.iter().any(|r| r.eq_ignore_ascii_case(s))
}

/// The bytes a plain scalar may hold anywhere (`:` aside): alphanumerics and
/// `_ . / - + @ % = ,`. A table, because every string imgf writes is checked.
const PLAIN: [bool; 256] = {
    let mut t = [false; 256];
    let mut b: u8 = 0;
    loop {
        t[b as usize] = b.is_ascii_alphanumeric()
            || matches!(
                b,
                b'_' | b'.' | b'/' | b'-' | b'+' | b'@' | b'%' | b'=' | b','
            );
        if b == u8::MAX {
            break;
        }
        b += 1;
    }
    t
};

/// Whether `s` can be written in single quotes: no control character and
/// none of the characters YAML treats as line breaks or a byte-order mark.
fn single_quotable(s: &str) -> bool {
    if s.is_ascii() {
        return s.bytes().all(|b| b >= 0x20 && b != 0x7f);
    }
    s.chars().all(|c| {
        !c.is_control() && c != '\u{feff}' && c != '\u{85}' && c != '\u{2028}' && c != '\u{2029}'
    })
}

fn write_scalar(out: &mut String, s: &str) {
    if is_plain_safe(s) {
        out.push_str(s);
    } else if single_quotable(s) {
        out.reserve(s.len() + 2);
        out.push('\'');
        if s.contains('\'') {
            for (i, part) in s.split('\'').enumerate() {
                if i > 0 {
                    out.push_str("''");
                }
                out.push_str(part);
            }
        } else {
            out.push_str(s);
        }
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

struct Ser<'a> {
    out: &'a mut String,
    ctx: Ctx,
}

// These return `Result` because each is the tail of a `Serializer` method.
#[allow(clippy::unnecessary_wraps)]
impl Ser<'_> {
    fn scalar_raw(self, s: &str) -> Result<(), Error> {
        if let Ctx::MapValue(_) = self.ctx {
            self.out.push(' ');
        }
        self.out.push_str(s);
        self.out.push('\n');
        Ok(())
    }

    fn scalar_str(self, s: &str) -> Result<(), Error> {
        if let Ctx::MapValue(_) = self.ctx {
            self.out.push(' ');
        }
        write_scalar(self.out, s);
        self.out.push('\n');
        Ok(())
    }
}

struct MapSer<'a> {
    out: &'a mut String,
    ctx: Ctx,
    started: bool,
}

struct SeqSer<'a> {
    out: &'a mut String,
    ctx: Ctx,
    started: bool,
}

impl<'a> ser::Serializer for Ser<'a> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = SeqSer<'a>;
    type SerializeTuple = SeqSer<'a>;
    type SerializeTupleStruct = SeqSer<'a>;
    type SerializeTupleVariant = ser::Impossible<(), Error>;
    type SerializeMap = MapSer<'a>;
    type SerializeStruct = MapSer<'a>;
    type SerializeStructVariant = ser::Impossible<(), Error>;

    fn serialize_bool(self, v: bool) -> Result<(), Error> {
        self.scalar_raw(if v { "true" } else { "false" })
    }
    fn serialize_i8(self, v: i8) -> Result<(), Error> {
        self.serialize_i64(i64::from(v))
    }
    fn serialize_i16(self, v: i16) -> Result<(), Error> {
        self.serialize_i64(i64::from(v))
    }
    fn serialize_i32(self, v: i32) -> Result<(), Error> {
        self.serialize_i64(i64::from(v))
    }
    fn serialize_i64(self, v: i64) -> Result<(), Error> {
        self.scalar_raw(&v.to_string())
    }
    fn serialize_u8(self, v: u8) -> Result<(), Error> {
        self.serialize_u64(u64::from(v))
    }
    fn serialize_u16(self, v: u16) -> Result<(), Error> {
        self.serialize_u64(u64::from(v))
    }
    fn serialize_u32(self, v: u32) -> Result<(), Error> {
        self.serialize_u64(u64::from(v))
    }
    fn serialize_u64(self, v: u64) -> Result<(), Error> {
        self.scalar_raw(&v.to_string())
    }
    fn serialize_f32(self, v: f32) -> Result<(), Error> {
        self.serialize_f64(f64::from(v))
    }
    fn serialize_f64(self, v: f64) -> Result<(), Error> {
        let s = if v.is_finite() {
            format!("{v:?}")
        } else if v.is_nan() {
            ".nan".into()
        } else if v > 0.0 {
            ".inf".into()
        } else {
            "-.inf".into()
        };
        self.scalar_raw(&s)
    }
    fn serialize_char(self, v: char) -> Result<(), Error> {
        self.scalar_str(v.encode_utf8(&mut [0; 4]))
    }
    fn serialize_str(self, v: &str) -> Result<(), Error> {
        self.scalar_str(v)
    }
    fn serialize_bytes(self, _v: &[u8]) -> Result<(), Error> {
        Err(Error("bytes cannot be written as YAML".into()))
    }
    fn serialize_none(self) -> Result<(), Error> {
        self.scalar_raw("null")
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), Error> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<(), Error> {
        self.scalar_raw("null")
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<(), Error> {
        self.scalar_raw("null")
    }
    fn serialize_unit_variant(
        self,
        _n: &'static str,
        _i: u32,
        variant: &'static str,
    ) -> Result<(), Error> {
        self.scalar_str(variant)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _n: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _n: &'static str,
        _i: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        let mut map = self.serialize_map(Some(1))?;
        ser::SerializeMap::serialize_entry(&mut map, variant, value)?;
        ser::SerializeMap::end(map)
    }
    fn serialize_seq(self, _len: Option<usize>) -> Result<SeqSer<'a>, Error> {
        Ok(SeqSer {
            out: self.out,
            ctx: self.ctx,
            started: false,
        })
    }
    fn serialize_tuple(self, len: usize) -> Result<SeqSer<'a>, Error> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_struct(self, _n: &'static str, len: usize) -> Result<SeqSer<'a>, Error> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_variant(
        self,
        _n: &'static str,
        _i: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleVariant, Error> {
        Err(Error(format!(
            "tuple variant `{variant}` has no YAML form here"
        )))
    }
    fn serialize_map(self, _len: Option<usize>) -> Result<MapSer<'a>, Error> {
        Ok(MapSer {
            out: self.out,
            ctx: self.ctx,
            started: false,
        })
    }
    fn serialize_struct(self, _n: &'static str, len: usize) -> Result<MapSer<'a>, Error> {
        self.serialize_map(Some(len))
    }
    fn serialize_struct_variant(
        self,
        _n: &'static str,
        _i: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStructVariant, Error> {
        Err(Error(format!(
            "struct variant `{variant}` has no YAML form here"
        )))
    }
}

impl MapSer<'_> {
    fn key(&mut self, key: &str) {
        if self.started {
            indent(self.out, self.ctx.child_indent());
        } else {
            self.started = true;
            match self.ctx {
                Ctx::MapValue(_) => {
                    self.out.push('\n');
                    indent(self.out, self.ctx.child_indent());
                }
                // The first key of a map in a list follows its `- `.
                Ctx::SeqItem(_) | Ctx::Root => {}
            }
        }
        write_scalar(self.out, key);
        self.out.push(':');
    }

    fn value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        value.serialize(Ser {
            out: self.out,
            ctx: Ctx::MapValue(self.ctx.child_indent()),
        })
    }

    // The tail of `SerializeMap::end` and `SerializeStruct::end`.
    #[allow(clippy::unnecessary_wraps)]
    fn finish(self) -> Result<(), Error> {
        if !self.started {
            self.out.push_str(match self.ctx {
                Ctx::MapValue(_) => " {}\n",
                _ => "{}\n",
            });
        }
        Ok(())
    }
}

impl ser::SerializeMap for MapSer<'_> {
    type Ok = ();
    type Error = Error;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Error> {
        let k = key.serialize(KeySer)?;
        self.key(&k);
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.value(value)
    }
    fn end(self) -> Result<(), Error> {
        self.finish()
    }
}

impl ser::SerializeStruct for MapSer<'_> {
    type Ok = ();
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        self.key(key);
        self.value(value)
    }
    fn end(self) -> Result<(), Error> {
        self.finish()
    }
}

impl ser::SerializeSeq for SeqSer<'_> {
    type Ok = ();
    type Error = Error;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        if !self.started {
            self.started = true;
            if !matches!(self.ctx, Ctx::Root) {
                self.out.push('\n');
            }
        }
        let at = self.ctx.child_indent();
        indent(self.out, at);
        self.out.push_str("- ");
        value.serialize(Ser {
            out: self.out,
            ctx: Ctx::SeqItem(at),
        })
    }
    fn end(self) -> Result<(), Error> {
        if !self.started {
            self.out.push_str(match self.ctx {
                Ctx::MapValue(_) => " []\n",
                _ => "[]\n",
            });
        }
        Ok(())
    }
}

impl ser::SerializeTuple for SeqSer<'_> {
    type Ok = ();
    type Error = Error;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        ser::SerializeSeq::serialize_element(self, value)
    }
    fn end(self) -> Result<(), Error> {
        ser::SerializeSeq::end(self)
    }
}

impl ser::SerializeTupleStruct for SeqSer<'_> {
    type Ok = ();
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        ser::SerializeSeq::serialize_element(self, value)
    }
    fn end(self) -> Result<(), Error> {
        ser::SerializeSeq::end(self)
    }
}

/// Map keys: strings (and numbers or booleans, written as strings).
struct KeySer;

impl ser::Serializer for KeySer {
    type Ok = String;
    type Error = Error;
    type SerializeSeq = ser::Impossible<String, Error>;
    type SerializeTuple = ser::Impossible<String, Error>;
    type SerializeTupleStruct = ser::Impossible<String, Error>;
    type SerializeTupleVariant = ser::Impossible<String, Error>;
    type SerializeMap = ser::Impossible<String, Error>;
    type SerializeStruct = ser::Impossible<String, Error>;
    type SerializeStructVariant = ser::Impossible<String, Error>;

    fn serialize_str(self, v: &str) -> Result<String, Error> {
        Ok(v.to_string())
    }
    fn serialize_char(self, v: char) -> Result<String, Error> {
        Ok(v.to_string())
    }
    fn serialize_bool(self, v: bool) -> Result<String, Error> {
        Ok(v.to_string())
    }
    fn serialize_i8(self, v: i8) -> Result<String, Error> {
        Ok(v.to_string())
    }
    fn serialize_i16(self, v: i16) -> Result<String, Error> {
        Ok(v.to_string())
    }
    fn serialize_i32(self, v: i32) -> Result<String, Error> {
        Ok(v.to_string())
    }
    fn serialize_i64(self, v: i64) -> Result<String, Error> {
        Ok(v.to_string())
    }
    fn serialize_u8(self, v: u8) -> Result<String, Error> {
        Ok(v.to_string())
    }
    fn serialize_u16(self, v: u16) -> Result<String, Error> {
        Ok(v.to_string())
    }
    fn serialize_u32(self, v: u32) -> Result<String, Error> {
        Ok(v.to_string())
    }
    fn serialize_u64(self, v: u64) -> Result<String, Error> {
        Ok(v.to_string())
    }
    fn serialize_f32(self, _v: f32) -> Result<String, Error> {
        Err(key_error())
    }
    fn serialize_f64(self, _v: f64) -> Result<String, Error> {
        Err(key_error())
    }
    fn serialize_bytes(self, _v: &[u8]) -> Result<String, Error> {
        Err(key_error())
    }
    fn serialize_none(self) -> Result<String, Error> {
        Err(key_error())
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<String, Error> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<String, Error> {
        Err(key_error())
    }
    fn serialize_unit_struct(self, _n: &'static str) -> Result<String, Error> {
        Err(key_error())
    }
    fn serialize_unit_variant(
        self,
        _n: &'static str,
        _i: u32,
        variant: &'static str,
    ) -> Result<String, Error> {
        Ok(variant.to_string())
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _n: &'static str,
        value: &T,
    ) -> Result<String, Error> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _n: &'static str,
        _i: u32,
        _v: &'static str,
        _value: &T,
    ) -> Result<String, Error> {
        Err(key_error())
    }
    fn serialize_seq(self, _len: Option<usize>) -> Result<Self::SerializeSeq, Error> {
        Err(key_error())
    }
    fn serialize_tuple(self, _len: usize) -> Result<Self::SerializeTuple, Error> {
        Err(key_error())
    }
    fn serialize_tuple_struct(
        self,
        _n: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleStruct, Error> {
        Err(key_error())
    }
    fn serialize_tuple_variant(
        self,
        _n: &'static str,
        _i: u32,
        _v: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleVariant, Error> {
        Err(key_error())
    }
    fn serialize_map(self, _len: Option<usize>) -> Result<Self::SerializeMap, Error> {
        Err(key_error())
    }
    fn serialize_struct(
        self,
        _n: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStruct, Error> {
        Err(key_error())
    }
    fn serialize_struct_variant(
        self,
        _n: &'static str,
        _i: u32,
        _v: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStructVariant, Error> {
        Err(key_error())
    }
}

fn key_error() -> Error {
    Error("map keys must be strings".into())
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
