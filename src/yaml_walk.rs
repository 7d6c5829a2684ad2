//! The one walk from a Kargo key (`image.tag`,
//! `spec.template.spec.containers.1.image`) to the scalar it addresses, on
//! YAML read with positions — shared by `updates check` for Kargo and Flux.
//!
//! It resolves keys as Kargo's `yaml-update` does (`pkg/yaml/yaml.go`
//! `SetValuesInBytes`, `findScalarNode`): the key is split by
//! [`split_key`] (Kargo's `sjson.SplitKey`), only the first document is
//! addressed, a part names a mapping key (the first key whose scalar value
//! is equal) or, in a sequence, an index (Go's `strconv.Atoi`); the node at
//! the end must be a scalar. Kargo then rewrites that scalar's line from its
//! column to the end of the line; Flux's setters rewrite the scalar whose
//! own line comment is the marker. Either way what counts is the scalar's
//! position and what else is on its line, which the serde parser does not
//! give: the tree here is built from `saphyr-parser` events (a YAML 1.2
//! parser in safe Rust that reports each event's position).
//! Anchors are not followed (an alias is not a scalar for Kargo either) and
//! merge keys (`<<`) are not expanded, as go-yaml's node tree does not.

use std::borrow::Cow;
use std::path::Path;

use saphyr_parser::{Event, Parser, ScalarStyle, Span};

use crate::diagnostic::{Diagnostic, Location};

/// How a scalar is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Style {
    Plain,
    SingleQuoted,
    DoubleQuoted,
    /// `|`
    Literal,
    /// `>`
    Folded,
}

/// A node of the tree, with where it is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Node {
    /// 1-based line of the node's first character (a block scalar: its
    /// `|` or `>` indicator).
    pub line: usize,
    /// 1-based column, in characters, of that character.
    pub column: usize,
    /// Byte offset of that character in the text.
    pub start: usize,
    /// Byte offset just after the node's value (scalars: after the closing
    /// quote, the last character of a plain scalar, the last content line
    /// of a block scalar).
    pub end: usize,
    /// 1-based line of the value's last character.
    pub end_line: usize,
    pub kind: Kind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Kind {
    Scalar {
        value: String,
        style: Style,
    },
    Mapping {
        flow: bool,
        entries: Vec<(Node, Node)>,
    },
    Sequence {
        flow: bool,
        items: Vec<Node>,
    },
    Alias,
}

/// A YAML syntax error: where, and the parser's words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SyntaxError {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl Node {
    /// What the node is, in words (`a mapping`, `a list`, …).
    pub(crate) fn what(&self) -> &'static str {
        match &self.kind {
            Kind::Scalar { .. } => "a scalar",
            Kind::Mapping { .. } => "a mapping",
            Kind::Sequence { .. } => "a list",
            Kind::Alias => "an alias (`*name`)",
        }
    }

    /// True for a scalar written over more than one line (a block scalar,
    /// or a quoted or plain scalar that continues on the next lines).
    pub(crate) fn spans_lines(&self) -> bool {
        matches!(
            self.kind,
            Kind::Scalar {
                style: Style::Literal | Style::Folded,
                ..
            }
        ) || self.end_line > self.line
    }

    /// What follows the node's value on its last line (a comment, the `}`
    /// of a flow mapping, …), untrimmed.
    pub(crate) fn rest_of_line<'t>(&self, text: &'t str) -> &'t str {
        let rest = &text[self.end.min(text.len())..];
        let rest = &rest[..rest.find('\n').unwrap_or(rest.len())];
        rest.strip_suffix('\r').unwrap_or(rest)
    }

    /// The whole line the node starts on, and the part of it up to the end
    /// of the value (for a one-line value).
    pub(crate) fn line_text<'t>(&self, text: &'t str) -> (&'t str, &'t str) {
        let from = text[..self.start.min(text.len())]
            .rfind('\n')
            .map_or(0, |i| i + 1);
        let to = text[from..].find('\n').map_or(text.len(), |i| from + i);
        let line = &text[from..to];
        let line = line.strip_suffix('\r').unwrap_or(line);
        let upto = &text[from..self.end.clamp(from, from + line.len())];
        (line, upto)
    }

    /// Every scalar under this node (keys excluded) with its key path,
    /// parts joined by `.`, in document order.
    pub(crate) fn scalars(&self) -> Vec<(String, &Node)> {
        fn go<'n>(n: &'n Node, path: &mut Vec<String>, out: &mut Vec<(String, &'n Node)>) {
            match &n.kind {
                Kind::Scalar { .. } => out.push((path.join("."), n)),
                Kind::Mapping { entries, .. } => {
                    for (k, v) in entries {
                        path.push(scalar_value(k).unwrap_or_default().replace('.', "\\."));
                        go(v, path, out);
                        path.pop();
                    }
                }
                Kind::Sequence { items, .. } => {
                    for (i, v) in items.iter().enumerate() {
                        path.push(i.to_string());
                        go(v, path, out);
                        path.pop();
                    }
                }
                Kind::Alias => {}
            }
        }
        let mut out = Vec::new();
        go(self, &mut Vec::new(), &mut out);
        out
    }
}

/// The value of a scalar node.
pub(crate) fn scalar_value(n: &Node) -> Option<&str> {
    match &n.kind {
        Kind::Scalar { value, .. } => Some(value),
        _ => None,
    }
}

/// Splits a key as Kargo's `sjson.SplitKey` does: parts are separated by
/// `.`; `\.` and `\:` stand for themselves; a `:` may only start a part
/// (it marks a number as a mapping key, and is dropped); no empty parts.
pub(crate) fn split_key(key: &str) -> Result<Vec<String>, String> {
    let key = key.trim();
    if key.is_empty() {
        return Err("the key is empty".into());
    }
    let mut parts = Vec::new();
    let mut part = String::new();
    let mut escaped = false;
    for c in key.chars() {
        if escaped {
            if c != '.' && c != ':' {
                return Err(format!(
                    "`\\{c}` is not an escape Kargo knows (only `\\.` and `\\:`)"
                ));
            }
            part.push(c);
            escaped = false;
            continue;
        }
        match c {
            '\\' => escaped = true,
            '.' if part.is_empty() => return Err("the key has an empty part".into()),
            '.' => parts.push(std::mem::take(&mut part)),
            ':' if !part.is_empty() => {
                return Err("a `:` may only start a key part (write `\\:`)".into())
            }
            ':' => {}
            c => part.push(c),
        }
    }
    if part.is_empty() {
        return Err("the key has an empty part".into());
    }
    parts.push(part);
    Ok(parts)
}

/// The first document of `text` (`None` when the text holds none), as
/// Kargo reads it: errors past the first document are not seen.
pub(crate) fn first_document(text: &str) -> Result<Option<Node>, SyntaxError> {
    Ok(Builder::new(text).documents(true)?.into_iter().next())
}

/// Every document of `text` (Flux reads them all; an error anywhere makes
/// the whole file unreadable).
pub(crate) fn documents(text: &str) -> Result<Vec<Node>, SyntaxError> {
    Builder::new(text).documents(false)
}

/// Why a key does not lead to a scalar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Why {
    /// The mapping has no such key.
    NoKey,
    /// The part is not a number, and the node is a list.
    NotAnIndex,
    /// The list has this many items, fewer than the index needs (or the
    /// index is negative).
    OutOfRange(usize),
    /// A scalar or alias where a mapping or list was needed.
    NotACollection,
    /// The key leads to a mapping, list or alias.
    NotScalar,
}

/// Where the walk stopped: after `depth` parts, at node `at` (reached
/// through mapping key `key`, when it was), and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Miss<'n> {
    pub depth: usize,
    pub at: &'n Node,
    pub key: Option<&'n Node>,
    pub why: Why,
}

/// The scalar a key addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Found<'n> {
    pub node: &'n Node,
    /// The mapping key it is the value of, if it is one.
    pub key: Option<&'n Node>,
    /// The innermost flow collection (`{…}`, `[…]`) holding it, if any.
    pub flow: Option<&'n Node>,
}

/// Walks `parts` from `root` as Kargo's `findScalarNode` does.
pub(crate) fn resolve<'n>(root: &'n Node, parts: &[String]) -> Result<Found<'n>, Miss<'n>> {
    let mut at = root;
    let mut key: Option<&Node> = None;
    let mut flow: Option<&Node> = None;
    for (depth, part) in parts.iter().enumerate() {
        let miss = |why| Miss {
            depth,
            at,
            key,
            why,
        };
        let (next, next_key) = match &at.kind {
            Kind::Mapping { entries, .. } => {
                match entries
                    .iter()
                    .find(|(k, _)| scalar_value(k) == Some(part.as_str()))
                {
                    Some((k, v)) => (v, Some(k)),
                    None => return Err(miss(Why::NoKey)),
                }
            }
            Kind::Sequence { items, .. } => {
                let Some(i) = go_atoi(part) else {
                    return Err(miss(Why::NotAnIndex));
                };
                match usize::try_from(i).ok().and_then(|i| items.get(i)) {
                    Some(v) => (v, None),
                    None => return Err(miss(Why::OutOfRange(items.len()))),
                }
            }
            Kind::Scalar { .. } | Kind::Alias => return Err(miss(Why::NotACollection)),
        };
        if matches!(
            at.kind,
            Kind::Mapping { flow: true, .. } | Kind::Sequence { flow: true, .. }
        ) {
            flow = Some(at);
        }
        at = next;
        key = next_key;
    }
    match at.kind {
        Kind::Scalar { .. } => Ok(Found {
            node: at,
            key,
            flow,
        }),
        _ => Err(Miss {
            depth: parts.len(),
            at,
            key,
            why: Why::NotScalar,
        }),
    }
}

/// Go's `strconv.Atoi`: an optional sign and decimal digits.
fn go_atoi(s: &str) -> Option<i64> {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Builds nodes from the parser's events.
struct Builder<'t> {
    text: &'t str,
    parser: Parser<'t, saphyr_parser::StrInput<'t>>,
    /// Byte offset of each character (only for non-ASCII text).
    offsets: Option<Vec<usize>>,
    /// Byte offset where the previous event ended.
    last_end: usize,
    /// Byte offset of the start of each line.
    line_starts: Vec<usize>,
}

type Ev<'t> = (Event<'t>, Span);

impl<'t> Builder<'t> {
    fn new(text: &'t str) -> Builder<'t> {
        Builder {
            text,
            parser: Parser::new_from_str(text),
            offsets: (!text.is_ascii()).then(|| text.char_indices().map(|(i, _)| i).collect()),
            last_end: 0,
            line_starts: std::iter::once(0)
                .chain(text.match_indices('\n').map(|(i, _)| i + 1))
                .collect(),
        }
    }

    fn byte(&self, char_index: usize) -> usize {
        match &self.offsets {
            None => char_index.min(self.text.len()),
            Some(o) => o.get(char_index).copied().unwrap_or(self.text.len()),
        }
    }

    fn line_of(&self, byte: usize) -> usize {
        // Lines before `byte`'s: those whose start is at or before it.
        self.line_starts.partition_point(|&s| s <= byte)
    }

    fn column_of(&self, byte: usize) -> usize {
        let byte = byte.min(self.text.len());
        let from = self.text[..byte].rfind('\n').map_or(0, |i| i + 1);
        self.text[from..byte].chars().count() + 1
    }

    fn next(&mut self) -> Result<Option<Ev<'t>>, SyntaxError> {
        match self.parser.next_event() {
            None => Ok(None),
            Some(Ok(ev)) => Ok(Some(ev)),
            Some(Err(e)) => Err(SyntaxError {
                line: e.marker().line(),
                column: e.marker().col() + 1,
                message: e.info().to_string(),
            }),
        }
    }

    fn documents(mut self, first_only: bool) -> Result<Vec<Node>, SyntaxError> {
        let mut docs = Vec::new();
        while let Some((ev, span)) = self.next()? {
            match ev {
                Event::DocumentStart(_) => {
                    self.last_end = self.byte(span.end.index());
                    let Some((ev, span)) = self.next()? else {
                        break;
                    };
                    let node = self.node(ev, span)?;
                    docs.push(node);
                    if first_only {
                        break;
                    }
                }
                Event::StreamEnd => break,
                _ => {}
            }
        }
        Ok(docs)
    }

    /// The node that starts with event `ev`.
    fn node(&mut self, ev: Event<'t>, span: Span) -> Result<Node, SyntaxError> {
        let start = self.byte(span.start.index());
        let span_end = self.byte(span.end.index());
        match ev {
            Event::Scalar(value, style, _, _) => {
                let style = match style {
                    ScalarStyle::Plain => Style::Plain,
                    ScalarStyle::SingleQuoted => Style::SingleQuoted,
                    ScalarStyle::DoubleQuoted => Style::DoubleQuoted,
                    ScalarStyle::Literal => Style::Literal,
                    ScalarStyle::Folded => Style::Folded,
                };
                let (start, end) = match style {
                    // An empty value (`tag:`) is placed, as libyaml places
                    // it, just after its `:`.
                    Style::Plain if start == span_end && self.text[start..].starts_with(':') => {
                        (start + 1, start + 1)
                    }
                    Style::Plain => (start, span_end),
                    // The parser's end runs on over spaces and a comment.
                    Style::SingleQuoted | Style::DoubleQuoted => (
                        start,
                        quoted_end(self.text, start, style).unwrap_or(span_end),
                    ),
                    // The parser starts a block scalar at its content; Kargo
                    // (go-yaml) at the indicator, between the previous
                    // event and the content.
                    Style::Literal | Style::Folded => {
                        let from = self.last_end.min(start);
                        let at = self.text[from..start]
                            .find(['|', '>'])
                            .map_or(start, |i| from + i);
                        let content_end = self.text[..span_end.max(at)]
                            .trim_end_matches([' ', '\n', '\r', '\t'])
                            .len();
                        (at, content_end.max(at))
                    }
                };
                self.last_end = span_end.max(end);
                Ok(self.leaf(
                    start,
                    end,
                    Kind::Scalar {
                        value: Cow::into_owned(value),
                        style,
                    },
                ))
            }
            Event::Alias(_) => {
                self.last_end = span_end;
                Ok(self.leaf(start, span_end, Kind::Alias))
            }
            Event::MappingStart(..) | Event::SequenceStart(..) => {
                let mapping = matches!(ev, Event::MappingStart(..));
                // A flow collection's start event covers its `{` or `[`.
                let flow = self.text[start..span_end].trim_end().ends_with(['{', '[']);
                self.last_end = span_end;
                let mut children = Vec::new();
                let end = loop {
                    let Some((ev, span)) = self.next()? else {
                        break self.text.len();
                    };
                    if matches!(ev, Event::MappingEnd | Event::SequenceEnd) {
                        let end = self.byte(span.end.index());
                        self.last_end = end;
                        break if flow {
                            end
                        } else {
                            self.last_end_of(&children)
                        };
                    }
                    children.push(self.node(ev, span)?);
                };
                let kind = if mapping {
                    let mut entries = Vec::new();
                    let mut it = children.into_iter();
                    while let (Some(k), Some(v)) = (it.next(), it.next()) {
                        entries.push((k, v));
                    }
                    Kind::Mapping { flow, entries }
                } else {
                    Kind::Sequence {
                        flow,
                        items: children,
                    }
                };
                Ok(self.leaf(start, end.max(start), kind))
            }
            other => Err(SyntaxError {
                line: span.start.line(),
                column: span.start.col() + 1,
                message: format!("unexpected {other:?}"),
            }),
        }
    }

    fn last_end_of(&self, children: &[Node]) -> usize {
        children.last().map_or(self.last_end, |c| c.end)
    }

    fn leaf(&self, start: usize, end: usize, kind: Kind) -> Node {
        Node {
            line: self.line_of(start),
            column: self.column_of(start),
            start,
            end,
            end_line: self.line_of(end.saturating_sub(1).max(start)),
            kind,
        }
    }
}

/// The byte after the closing quote of the quoted scalar whose node starts
/// at `start` (after any tag or anchor).
fn quoted_end(text: &str, start: usize, style: Style) -> Option<usize> {
    let q = if style == Style::SingleQuoted {
        '\''
    } else {
        '"'
    };
    let open = start + text[start..].find(q)?;
    let mut chars = text[open + 1..].char_indices();
    while let Some((i, c)) = chars.next() {
        let at = open + 1 + i;
        match c {
            '\\' if q == '"' => {
                chars.next();
            }
            '\'' if q == '\'' && text[at + 1..].starts_with('\'') => {
                chars.next();
            }
            c if c == q => return Some(at + 1),
            _ => {}
        }
    }
    None
}

/// The first YAML document of `text` (all `yaml-update` can address).
pub(crate) fn first_document_text(text: &str) -> &str {
    // A leading `---` stays, so that lines keep their numbers.
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        if offset > 0 && (line.trim_end() == "---" || line.starts_with("--- ")) {
            return &text[..offset];
        }
        offset += line.len();
    }
    text
}

/// A syntax error the serde parser did not explain (`note` is added to
/// the message).
pub(crate) fn syntax_error(file: &Path, text: &str, e: &SyntaxError, note: &str) -> Diagnostic {
    Diagnostic::error(format!("the file is not valid YAML: {}{note}", e.message))
        .in_file(file)
        .at(Some(Location {
            line: e.line,
            column: e.column,
        }))
        .with_source(text)
        .help("fix the YAML at this place")
}

/// A key that does not lead to a scalar, in words: the message (after
/// `what: `), with the line of the place the walk stopped. `suffix` ends
/// the message of a missing key.
pub(crate) fn missed(
    what: &str,
    key: &str,
    parts: &[String],
    miss: &Miss<'_>,
    suffix: &str,
) -> Diagnostic {
    let place = if miss.depth == 0 {
        "the top level".to_string()
    } else {
        format!("`{}`", parts[..miss.depth].join("."))
    };
    let part = parts
        .get(miss.depth)
        .map(String::as_str)
        .unwrap_or_default();
    let at = miss.key.unwrap_or(miss.at);
    let line = (miss.depth > 0 || miss.why == Why::NotScalar).then_some(Location {
        line: at.line,
        column: at.column,
    });
    let fix = "add the key with the value deployed now, or fix `key` in images.yaml";
    let (message, help) = match &miss.why {
        Why::NoKey => {
            let keys: Vec<&str> = match &miss.at.kind {
                Kind::Mapping { entries, .. } => entries
                    .iter()
                    .filter_map(|(k, _)| scalar_value(k))
                    .collect(),
                _ => Vec::new(),
            };
            (
                format!("key `{key}` does not exist: {place} has no `{part}`{suffix}"),
                if keys.is_empty() {
                    fix.to_string()
                } else {
                    format!("{place} has {}; {fix}", keys.join(", "))
                },
            )
        }
        Why::NotAnIndex => (
            format!("key `{key}` does not exist: {place} is a list, and `{part}` is not an index"),
            "address a list item by its index, from 0 (`containers.0.image`)".to_string(),
        ),
        Why::OutOfRange(n) => (
            format!(
                "key `{key}` does not exist: {place} has {n} item(s), so index {part} is out of range"
            ),
            if *n == 0 {
                format!("{place} is empty; {fix}")
            } else {
                format!("use an index from 0 to {}, or {fix}", n - 1)
            },
        ),
        Why::NotACollection => (
            format!("key `{key}` does not exist: {place} is {}, so it has no `{part}`", miss.at.what()),
            fix.to_string(),
        ),
        Why::NotScalar => (
            format!("key `{key}` is {}, not a scalar", miss.at.what()),
            "point `key` at the scalar that holds the image or tag, like `image.tag`".to_string(),
        ),
    };
    Diagnostic::error(format!("{what}: {message}"))
        .at(line)
        .help(help)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(key: &str) -> Vec<String> {
        split_key(key).unwrap()
    }

    fn at(text: &str, key: &str) -> Result<(usize, usize), Why> {
        let doc = first_document(text).unwrap().unwrap();
        resolve(&doc, &parts(key))
            .map(|f| (f.node.line, f.node.column))
            .map_err(|m| m.why)
    }

    #[test]
    fn keys_split_as_kargos_sjson_split_key() {
        assert_eq!(parts("a.b.c"), ["a", "b", "c"]);
        assert_eq!(parts(r"foo\.bar.bat\.baz"), ["foo.bar", "bat.baz"]);
        assert_eq!(parts(r"foo.bar\:bat.baz"), ["foo", "bar:bat", "baz"]);
        assert_eq!(parts("foo.bar.:2.baz"), ["foo", "bar", "2", "baz"]);
        assert_eq!(parts("  a.b "), ["a", "b"]);
        for bad in ["", ".a", "a.", "a..b", r"a\nb", "a:b"] {
            assert!(split_key(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn list_indexes_and_nesting_are_structural() {
        let t = "spec:\n  containers:\n    - name: a\n      image: a:1\n    - name: b\n      image: b:1\nsidecar:\n  image:\n    tag: s\nimage:\n  repository: r\n  tag: t\n";
        assert_eq!(at(t, "spec.containers.1.image"), Ok((6, 14)));
        assert_eq!(at(t, "spec.containers.0.image"), Ok((4, 14)));
        assert_eq!(at(t, "spec.containers.+1.image"), Ok((6, 14)));
        assert_eq!(at(t, "image.tag"), Ok((12, 8)));
        assert_eq!(at(t, "sidecar.image.tag"), Ok((9, 10)));
        assert_eq!(at(t, "spec.containers.2.image"), Err(Why::OutOfRange(2)));
        assert_eq!(at(t, "spec.containers.-1.image"), Err(Why::OutOfRange(2)));
        assert_eq!(at(t, "spec.containers.x"), Err(Why::NotAnIndex));
        assert_eq!(at(t, "spec.image"), Err(Why::NoKey));
        assert_eq!(at(t, "image"), Err(Why::NotScalar));
        assert_eq!(at(t, "image.tag.x"), Err(Why::NotACollection));
    }

    #[test]
    fn a_numeric_part_is_a_mapping_key_in_a_mapping() {
        assert_eq!(at("a:\n  '0': x\n", "a.0"), Ok((2, 8)));
        assert_eq!(at("a:\n  0: x\n", "a.:0"), Ok((2, 6)));
    }

    #[test]
    fn only_the_first_document_is_addressed() {
        let t = "---\na: 1\n---\nb: 2\n---\nbad: [\n";
        assert_eq!(at(t, "a"), Ok((2, 4)));
        assert_eq!(at(t, "b"), Err(Why::NoKey));
        let e = documents(t).unwrap_err();
        assert_eq!(e.line, 7, "{e:?}");
        assert_eq!(documents("a: 1\n---\nb: 2\n").unwrap().len(), 2);
    }

    #[test]
    fn an_alias_is_not_a_scalar() {
        assert_eq!(at("a: &x 1\nb: *x\n", "b"), Err(Why::NotScalar));
        assert_eq!(at("a: &x 1\nb: *x\n", "a"), Ok((1, 4)));
    }

    #[test]
    fn what_follows_a_value_on_its_line() {
        let t = "a: \"1.0\"   # c\nb: 'it''s' # {\"$imagepolicy\": \"x\"} tail\nc: {repository: x, tag: \"1\"}\nd: plain # c\ne: !!str \"q\"\n";
        let doc = first_document(t).unwrap().unwrap();
        let rest = |k: &str| {
            resolve(&doc, &parts(k))
                .unwrap()
                .node
                .rest_of_line(t)
                .to_string()
        };
        assert_eq!(rest("a"), "   # c");
        assert_eq!(rest("b"), " # {\"$imagepolicy\": \"x\"} tail");
        assert_eq!(rest("c.tag"), "}");
        assert_eq!(rest("c.repository"), ", tag: \"1\"}");
        assert_eq!(rest("d"), " # c");
        assert_eq!(rest("e"), "");
        let f = resolve(&doc, &parts("c.tag")).unwrap();
        assert!(f.flow.is_some());
        assert_eq!(
            f.node.line_text(t),
            (
                "c: {repository: x, tag: \"1\"}",
                "c: {repository: x, tag: \"1\""
            )
        );
        assert!(resolve(&doc, &parts("a")).unwrap().flow.is_none());
    }

    #[test]
    fn multi_line_values_are_seen() {
        let t = "a: |\n  x\n  y\nb: >-\n  folded\nc: \"one\n  two\"\nd: one\n  two\ne: one\n";
        let doc = first_document(t).unwrap().unwrap();
        let node = |k: &str| resolve(&doc, &parts(k)).unwrap().node.clone();
        let a = node("a");
        assert!(a.spans_lines());
        assert_eq!((a.line, a.column), (1, 4), "at the indicator, as go-yaml");
        assert_eq!(a.end_line, 3);
        assert_eq!((node("b").line, node("b").column), (4, 4));
        assert!(node("b").spans_lines());
        assert!(node("c").spans_lines());
        assert_eq!(node("c").end_line, 7);
        assert!(node("d").spans_lines());
        assert!(!node("e").spans_lines());
    }

    #[test]
    fn an_empty_value_is_on_its_keys_line() {
        let t = "a:\n  tag:\n  x: 1\n";
        assert_eq!(at(t, "a.tag"), Ok((2, 7)));
    }

    #[test]
    fn positions_count_characters() {
        let t = "é: x\nb: \"ü\" # c\n";
        assert_eq!(at(t, "b"), Ok((2, 4)));
        let doc = first_document(t).unwrap().unwrap();
        let b = resolve(&doc, &parts("b")).unwrap();
        assert_eq!(b.node.rest_of_line(t), " # c");
    }

    #[test]
    fn syntax_errors_have_a_position() {
        let e = first_document("a:\n  b: [1\n").unwrap_err();
        assert!(e.line >= 2, "{e:?}");
        assert!(first_document("").unwrap().is_none());
    }

    #[test]
    fn scalars_lists_every_value_with_its_path() {
        let t = "a:\n  - x: 1\n  - 2\nb.c: 3\n";
        let doc = first_document(t).unwrap().unwrap();
        let all: Vec<(String, usize)> = doc
            .scalars()
            .into_iter()
            .map(|(p, n)| (p, n.line))
            .collect();
        assert_eq!(
            all,
            [
                ("a.0.x".to_string(), 2),
                ("a.1".into(), 3),
                ("b\\.c".into(), 4)
            ]
        );
    }
}
