//! The one door YAML comes in by.
//!
//! Every file imgf reads goes through [`parse`], so the YAML library is named
//! in exactly one input module (and one output module, `emit`). Parse errors
//! become [`Diagnostic`]s with the file, line and column, and an unknown key
//! gets a "did you mean" for its nearest known neighbour. (One reader
//! needs what serde cannot give, each node's position: `updates check`
//! reads deployment targets with [`crate::yaml_walk`], after this parser
//! has explained any syntax error.)
//!
//! YAML syntax errors are not shown in libyaml's words ("found character
//! that cannot start any token"): `messages` recognises the usual
//! mistakes — a tab used for indentation, a line indented unlike its
//! neighbours, an unclosed quote or bracket, a `: ` inside a plain value, a
//! duplicate key, a character YAML reserves — says what it is, points at the
//! offending place and says how to fix it.
//!
//! The parts: `read` (reading a file, or saying what a path that is not a
//! file is), `messages` (libyaml's and serde's messages rewritten), `locator`
//! ([`Locator`], where a key is in a text). This module parses.

use std::path::Path;

use serde::de::DeserializeOwned;

use crate::diagnostic::{Diagnostic, Location};

mod locator;
mod messages;
mod read;

pub use locator::{LineIndex, Locator};
use messages::diagnose;
pub use read::{not_a_file, read_text, Dir, NotAFile, MAX_INPUT_BYTES};

/// How deep `[` and `{` may nest: the YAML library gives up at this depth
/// anyway, but only after work that grows with the square of the depth
/// (50,000 levels took half a minute), so deeper text is refused first.
pub const MAX_NESTING: usize = 128;

/// Parses `text` (the contents of `path`) as `T`.
pub fn parse<T: DeserializeOwned>(path: &Path, text: &str) -> Result<T, Diagnostic> {
    if let Some(at) = too_deep(text) {
        return Err(Diagnostic::error(format!(
            "lists or mappings are nested more than {MAX_NESTING} deep"
        ))
        .in_file(path)
        .at(Some(at))
        .with_source(text)
        .help(format!(
            "imgf reads at most {MAX_NESTING} levels of `[` and `{{`: close the brackets opened before this one, or quote a value that holds brackets"
        )));
    }
    yaml_serde::from_str(text).map_err(|e| diagnose(path, text, &e))
}

/// Where flow brackets (`[`, `{`) first nest past [`MAX_NESTING`], in one
/// linear pass: brackets in quoted values and comments do not count, nor a
/// bracket inside a plain word (`^v[0-9]+`), which cannot open a collection.
fn too_deep(text: &str) -> Option<Location> {
    #[derive(PartialEq)]
    enum In {
        Plain,
        Single,
        Double,
        Comment,
        /// A line of a block scalar (`|`, `>`): text to its end.
        Block,
    }
    let mut state = In::Plain;
    let (mut depth, mut line, mut column) = (0usize, 1usize, 0usize);
    let mut prev = '\n';
    let mut escaped = false;
    // In block context (depth 0), a bracket opens a collection only where
    // a value starts: after the indentation, after `- ` or `: `. Anywhere
    // else it is part of a plain scalar (`owner: team [3`, `a[[`).
    let mut value_start = true;
    // The indentation of the line, while it is still being read.
    let mut indent: Option<usize> = Some(0);
    // A block scalar's parent line's indentation: deeper lines are its text.
    let mut block_parent: Option<usize> = None;
    let mut this_indent = 0usize;
    for c in text.chars() {
        column += 1;
        if let Some(n) = indent {
            if c == ' ' {
                indent = Some(n + 1);
            } else if c != '\n' {
                indent = None;
                this_indent = n;
                if let Some(p) = block_parent {
                    if n > p {
                        state = In::Block;
                    } else {
                        block_parent = None;
                    }
                }
            }
        }
        let starts = prev.is_whitespace() || matches!(prev, '[' | '{' | ',' | ':');
        match state {
            In::Plain if depth == 0 => match c {
                '[' | '{' if value_start => {
                    depth = 1;
                    value_start = false;
                }
                '\'' if value_start => (state, value_start) = (In::Single, false),
                '"' if value_start => (state, value_start) = (In::Double, false),
                '|' | '>' if value_start => {
                    block_parent = Some(this_indent);
                    state = In::Comment;
                }
                '#' if prev.is_whitespace() => state = In::Comment,
                ' ' | '\t' => value_start = value_start || prev == ':',
                '-' | '?' if value_start => {}
                _ => value_start = false,
            },
            In::Plain => match c {
                '[' | '{' => {
                    depth += 1;
                    if depth > MAX_NESTING {
                        return Some(Location { line, column });
                    }
                }
                ']' | '}' => depth -= 1,
                '\'' if starts => state = In::Single,
                '"' if starts => state = In::Double,
                '#' if prev.is_whitespace() => state = In::Comment,
                _ => {}
            },
            In::Single if c == '\'' => state = In::Plain,
            In::Double if escaped => escaped = false,
            In::Double if c == '\\' => escaped = true,
            In::Double if c == '"' => state = In::Plain,
            In::Comment | In::Block if c == '\n' => state = In::Plain,
            _ => {}
        }
        if c == '\n' {
            (line, column) = (line + 1, 0);
            indent = Some(0);
            if depth == 0 {
                value_start = true;
            }
        }
        prev = c;
    }
    None
}

/// Parses `text` as an untyped YAML value (to look at its shape first).
pub fn parse_value(path: &Path, text: &str) -> Result<Value, Diagnostic> {
    parse(path, text)
}

pub use yaml_serde::Value;

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use std::fmt::Write as _;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields, rename_all = "camelCase")]
    #[allow(dead_code)]
    struct Item {
        name: String,
        rebuild_delay: Option<String>,
    }

    #[test]
    fn nesting_is_measured_by_flow_brackets_only() {
        let deep = |n: usize| format!("x: {}{}\n", "[".repeat(n), "]".repeat(n));
        assert_eq!(too_deep(&deep(MAX_NESTING)), None);
        assert_eq!(
            too_deep(&deep(MAX_NESTING + 1)),
            Some(Location {
                line: 1,
                column: 4 + MAX_NESTING
            })
        );
        // Brackets in quotes, comments and plain words are text.
        let open = "[".repeat(MAX_NESTING + 1);
        for text in [
            format!("x: '{open}'\n"),
            format!("x: \"\\\"{open}\"\n"),
            format!("x: 1 # {open}\n"),
            format!("x: a{open}\n"),
            format!("x: it's{open}\n"),
        ] {
            assert_eq!(too_deep(&text), None, "{text}");
        }
        // A quote inside a word opens nothing: the brackets after it count.
        assert!(too_deep(&format!("x: [it's, {open}\n")).is_some());
        // Brackets inside plain values and block scalars never add up.
        let many = (0..MAX_NESTING + 2).fold(String::new(), |mut s, i| {
            let _ = writeln!(s, "- name: i{i}\n  owner: team [{i}");
            s
        });
        assert_eq!(too_deep(&many), None);
        assert_eq!(too_deep(&format!("- owner: a{open}\n")), None);
        let block: String = format!(
            "- name: x\n  description: |\n{}  tag: '1'\n",
            (0..MAX_NESTING + 2).map(|_| "    [a\n").collect::<String>()
        );
        assert_eq!(too_deep(&block), None);
        // Where a value starts, in a list or after a key, they count.
        for text in [
            format!("- {open}\n"),
            format!("- x: {open}\n"),
            format!("a:\n  - {open}\n"),
            format!("{open}\n"),
        ] {
            assert!(too_deep(&text).is_some(), "{text}");
        }
        let d = parse_value(Path::new("f.yaml"), &deep(50_000)).unwrap_err();
        assert!(
            d.message.contains("nested more than 128 deep"),
            "{}",
            d.message
        );
    }

    #[test]
    fn unknown_key_gets_position_and_suggestion() {
        let text = "- name: a\n  rebuildDelya: 7d\n";
        let d = parse::<Vec<Item>>(Path::new("images.yaml"), text).unwrap_err();
        assert!(
            d.message.contains("unknown field `rebuildDelya`"),
            "{}",
            d.message
        );
        assert_eq!(d.location, Some(Location { line: 2, column: 3 }));
        assert_eq!(d.help.as_deref(), Some("did you mean `rebuildDelay`?"));
    }

    #[test]
    fn alias_bomb_is_refused() {
        let mut text = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 0..12 {
            let prev = if i == 0 {
                "a".to_string()
            } else {
                format!("l{}", i - 1)
            };
            let _ = writeln!(text,
                "l{i}: &l{i} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]"
            );
        }
        let d = parse_value(Path::new("bomb.yaml"), &text).unwrap_err();
        assert!(d.message.contains("repetition limit"), "{}", d.message);
        assert!(d.help.is_some());
    }

    /// Each usual YAML mistake: what it is called, where, and the fix.
    #[test]
    fn syntax_errors_say_what_and_how_to_fix() {
        for (text, message, at, help) in [
            (
                "- name: a\n\tregistry: r\n",
                "line 2 is indented with a tab",
                (2, 1),
                "replace the tab with spaces: 2 here",
            ),
            (
                "- name: a\n  source:\n    repo: x\n  \tbranch: b\n",
                "indented with a tab",
                (4, 3),
                "4 here, like `repo:` on line 3",
            ),
            (
                "- name: a\n  registry: r\n repository: x\n",
                "line 3 is not indented like the lines of its block",
                (3, 2),
                "indent it with 2 spaces, like `registry:` on line 2",
            ),
            (
                "- name: a\n  registry: r\n    repository: x\n",
                "indented more than `registry:` on line 2",
                (3, 5),
                "line it up with `registry:` (2 spaces)",
            ),
            (
                "- name: \"a\n  registry: r\n",
                "the `\"` that opens a value on line 1 is never closed",
                (1, 9),
                "like `name: \"a\"`",
            ),
            (
                "- name: a # it's\n  tag: 'x\n",
                "the `'` that opens a value on line 2 is never closed",
                (2, 8),
                "`tag: 'x'`",
            ),
            (
                "- name: a\n  registry: r\n  name: b\n",
                "entry 1: the key `name` appears twice in the same mapping (first at line 1)",
                (3, 3),
                "keep one `name:`",
            ),
            (
                "project: a\nproject: b\n",
                "the key `project` appears twice",
                (2, 1),
                "keep one `project:`",
            ),
            (
                "- name: a\n  registry: ghcr.io: x\n",
                "the value of `registry` contains `: `",
                (2, 20),
                "`registry: \"ghcr.io: x\"`",
            ),
            (
                "- name: a\n  tags: [a, b\n",
                "the list opened with `[` on line 2 is not closed",
                (2, 9),
                "close it with `]`",
            ),
            (
                "- name: a\n  registry: @r\n",
                "cannot start with `@`",
                (2, 13),
                "`registry: \"@r\"`",
            ),
            (
                "- name: a\n  registry: \"a\\qb\"\n",
                "`\\q` is not an escape sequence",
                (2, 15),
                "single quotes",
            ),
            (
                "- name: a\n  registry: *r\n",
                "`*r` refers to an anchor `&r` that is not defined",
                (2, 13),
                "define `&r`",
            ),
            (
                "- name: a\n---\n- name: b\n",
                "more than one YAML document",
                (2, 1),
                "remove the `---` line",
            ),
        ] {
            let d = parse_value(Path::new("images.yaml"), text).unwrap_err();
            assert!(d.message.contains(message), "{text:?}: {}", d.message);
            assert_eq!(
                d.location,
                Some(Location {
                    line: at.0,
                    column: at.1
                }),
                "{text:?}: {}",
                d.message
            );
            let h = d.help.unwrap_or_default();
            assert!(h.contains(help), "{text:?}: {h}");
            assert!(
                !d.message.contains(" column "),
                "libyaml's position left in: {}",
                d.message
            );
        }
    }

    proptest::proptest! {
        /// Any text: parsed, or an error pointing into the file; never a panic.
        #[test]
        fn syntax_errors_point_into_the_file(
            text in "(- |  |\t|name|: |:|\"|'|#|\\[|\\]|\\{|\\}|,|&a|\\*a|@|`|\\\\|---|\n|x| )*"
        ) {
            if let Err(d) = parse_value(Path::new("f.yaml"), &text) {
                let lines = text.lines().count() + 1;
                if let Some(l) = d.location {
                    proptest::prop_assert!(l.line >= 1 && l.line <= lines, "{text:?}: {d}");
                    proptest::prop_assert!(l.column >= 1, "{text:?}: {d}");
                }
                proptest::prop_assert!(!d.message.is_empty());
            }
        }
    }

    #[test]
    fn locator_finds_items_and_keys() {
        let text = "# c\n- name: a\n  source:\n    branch: x\n\n- name: b\n  registry: r\n";
        let loc = Locator::new(text);
        assert_eq!(loc.item(1), Some(Location { line: 6, column: 1 }));
        assert_eq!(loc.key(0, "branch"), Some(Location { line: 4, column: 5 }));
        assert_eq!(
            loc.key(1, "registry"),
            Some(Location { line: 7, column: 3 })
        );
        assert_eq!(loc.key(1, "nothing"), Some(Location { line: 6, column: 1 }));
    }
}
