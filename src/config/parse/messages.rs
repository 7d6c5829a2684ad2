//! libyaml's messages, rewritten: a syntax error says what the mistake is,
//! where, and how to fix it; serde's paths and unknown fields read as
//! imgf's words.

use std::path::Path;
use std::sync::LazyLock;

use regex::Regex;

use super::MAX_NESTING;
use crate::diagnostic::{did_you_mean, Diagnostic, Location};

pub(super) fn diagnose(path: &Path, text: &str, err: &yaml_serde::Error) -> Diagnostic {
    static AT: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r" at line \d+ column \d+$").expect("valid regex"));
    let full = err.to_string();
    let location = err.location().map(|l| Location {
        line: l.line(),
        column: l.column(),
    });
    if let Some(s) = syntax_error(text, &full, location) {
        return Diagnostic::error(s.message)
            .in_file(path)
            .at(s.location)
            .with_source(text)
            .help(s.help);
    }
    let message = humanize_path(&AT.replace(&full, ""));
    let mut d = Diagnostic::error(message.clone())
        .in_file(path)
        .at(location)
        .with_source(text);
    if let Some(help) = unknown_field_help(&message) {
        d = d.help(help);
    } else if message.contains("repetition limit exceeded") {
        d = d.help("the file expands YAML aliases without bound; write the values out instead of using anchors");
    } else if message.contains("recursion limit") {
        d = d.help(format!("imgf reads at most {MAX_NESTING} levels of nested lists and mappings: write the structure flatter"));
    }
    d
}

/// A YAML syntax error, explained.
#[derive(Debug, PartialEq, Eq)]
struct Syntax {
    message: String,
    location: Option<Location>,
    help: String,
}

/// Recognises a YAML syntax error in the YAML library's `message` (with the
/// position it gives) and explains it: what it is, where, and the fix.
/// `None` for errors that are not about syntax (a wrong type, a missing
/// field), which keep their own wording.
fn syntax_error(text: &str, message: &str, at: Option<Location>) -> Option<Syntax> {
    static PROBLEM: LazyLock<Regex> = LazyLock::new(|| {
        // libyaml: "problem at line L column C, context [at line L column C]".
        Regex::new(r"^(.*?) at line \d+ column \d+(?:, (.*?)(?: at line \d+ column \d+)?)?$")
            .expect("valid regex")
    });
    let lines: Vec<&str> = text.lines().collect();
    let (problem, context) = match PROBLEM.captures(message) {
        Some(c) => (
            c.get(1).map_or("", |m| m.as_str()),
            c.get(2).map_or("", |m| m.as_str()),
        ),
        None => (message, ""),
    };
    let line_of = |l: Location| lines.get(l.line.wrapping_sub(1)).copied().unwrap_or("");
    let char_at = |l: Location| line_of(l).chars().nth(l.column.wrapping_sub(1));
    let syntax = |message: String, location: Option<Location>, help: String| {
        Some(Syntax {
            message,
            location,
            help,
        })
    };

    // A key twice in one mapping (reported at the mapping's start).
    if let Some((key, rest)) = duplicate_key(message) {
        let found = at.map_or_else(Vec::new, |l| key_positions(&lines, l, &key));
        let first = found
            .first()
            .or(at.as_ref())
            .map_or(String::new(), |l| format!(" (first at line {})", l.line));
        return syntax(
            format!("{rest}the key `{key}` appears twice in the same mapping{first}"),
            found.get(1).copied().or(at),
            format!("keep one `{key}:`; YAML does not allow a key twice in one mapping"),
        );
    }
    // A `---` starting a second document.
    if problem.contains("more than one document") {
        let separator = lines
            .iter()
            .enumerate()
            .skip(1)
            .find(|(_, l)| l.trim_end() == "---" || l.starts_with("--- "))
            .map(|(i, _)| Location {
                line: i + 1,
                column: 1,
            });
        return syntax(
            "the file holds more than one YAML document (a `---` line starts another)".into(),
            separator,
            "remove the `---` line and keep everything in one document".into(),
        );
    }
    let at = at?;
    let here = line_of(at);

    // A tab in the indentation.
    let leading = &here[..here.len() - here.trim_start_matches([' ', '\t']).len()];
    if problem.contains("tab character")
        || (problem.contains("cannot start any token") && char_at(at) == Some('\t'))
        || (leading.contains('\t') && problem.contains("indentation"))
    {
        let tab = leading
            .find('\t')
            .map_or(at.column, |i| leading[..i].chars().count() + 1);
        return syntax(
            format!(
                "line {} is indented with a tab; YAML indents with spaces only",
                at.line
            ),
            Some(Location {
                line: at.line,
                column: tab,
            }),
            format!(
                "replace the tab with spaces{}",
                expected_indent(&lines, at.line)
                    .map_or(String::new(), |(n, why)| format!(": {n} here, {why}"))
            ),
        );
    }
    // A quote that is never closed: the scalar runs to the end of the file.
    if (problem.contains("end of stream") || problem.contains("document indicator"))
        && context.contains("quoted scalar")
    {
        if let Some((open, quote)) = unclosed_quote(text) {
            let line = line_of(open);
            let rest: String = line.chars().skip(open.column).collect();
            let example = match key_and_value(line).0 {
                Some(k) => format!("`{k}: {quote}{}{quote}`", rest.trim_end()),
                None => format!("`{quote}{}{quote}`", rest.trim_end()),
            };
            return syntax(
                format!(
                    "the `{quote}` that opens a value on line {} is never closed",
                    open.line
                ),
                Some(open),
                format!("close the value with a matching `{quote}`, like {example}"),
            );
        }
    }
    // `\q` in a double-quoted value.
    if problem.contains("unknown escape character") {
        let escape: String = here
            .chars()
            .skip(at.column.saturating_sub(1))
            .take(2)
            .collect();
        return syntax(
            format!("`{escape}` is not an escape sequence in a double-quoted value"),
            Some(at),
            "write `\\\\` for a backslash, or quote the value with single quotes, where `\\` is an ordinary character".into(),
        );
    }
    // A `[` or `{` that is never closed.
    if problem.contains("did not find expected ',' or ']'")
        || problem.contains("did not find expected ',' or '}'")
    {
        let (open, close, what) = if problem.contains(']') {
            ('[', ']', "list")
        } else {
            ('{', '}', "mapping")
        };
        let opened = unclosed_bracket(&lines, at, open, close);
        return syntax(
            format!(
                "the {what} opened with `{open}`{} is not closed",
                opened.map_or(String::new(), |l| format!(" on line {}", l.line))
            ),
            opened.or(Some(at)),
            format!(
                "close it with `{close}`, or quote the value if the `{open}` is part of a text"
            ),
        );
    }
    // `*name` without an `&name`.
    if problem.contains("unknown anchor") {
        let name: String = here
            .chars()
            .skip(at.column)
            .take_while(|c| !c.is_whitespace() && !",]}".contains(*c))
            .collect();
        return syntax(
            format!("`*{name}` refers to an anchor `&{name}` that is not defined before it"),
            Some(at),
            format!(
                "define `&{name}` on an earlier value, or quote the value if `*` is part of a text"
            ),
        );
    }
    // `@` or a backtick at the start of a plain value.
    if problem.contains("cannot start any token") {
        if let Some(c) = char_at(at) {
            let (key, value) = key_and_value(here);
            let shown = if c == '`' {
                "a backtick".to_string()
            } else {
                format!("`{c}`")
            };
            return syntax(
                format!("a plain value cannot start with {shown}: YAML reserves it"),
                Some(at),
                match key {
                    Some(k) => format!("quote the value: `{k}: \"{value}\"`"),
                    None => "quote the value".into(),
                },
            );
        }
    }
    // A line indented under a `key: value` (read as the rest of the value),
    // or `: ` inside a plain value.
    if problem.contains("mapping values are not allowed") {
        if let Some((prev_no, prev)) = previous_content(&lines, at.line) {
            if indent(here) > key_indent(prev) && !prev.trim_end().ends_with(':') {
                let key = key_and_value(prev).0.unwrap_or_default();
                return syntax(
                    format!(
                        "line {} is indented more than `{key}:` on line {prev_no}, so YAML reads it as the rest of that value",
                        at.line
                    ),
                    Some(Location { line: at.line, column: indent(here) + 1 }),
                    format!("line it up with `{key}:` ({} spaces)", key_indent(prev)),
                );
            }
        }
        let (key, value) = key_and_value(here);
        if let Some(k) = key.filter(|_| value.contains(": ") || value.ends_with(':')) {
            return syntax(
                format!("the value of `{k}` contains `: `, which YAML reads as another key"),
                Some(at),
                format!("quote the value: `{k}: \"{value}\"`"),
            );
        }
    }
    // `key: - item` on one line.
    if problem.contains("block sequence entries are not allowed") {
        let (key, value) = key_and_value(here);
        let k = key.unwrap_or_default();
        return syntax(
            format!("a list item `- ` cannot follow `{k}:` on the same line"),
            Some(at),
            format!(
                "put each item on its own line under `{k}:`, indented, or write the list in brackets: `{k}: [{}]`",
                value.trim_start_matches("- ")
            ),
        );
    }
    // Text after a closing quote, a `- ` among keys, or a line indented
    // unlike its block.
    if problem.contains("did not find expected key")
        || problem.contains("did not find expected '-' indicator")
    {
        let before: String = here.chars().take(at.column.saturating_sub(1)).collect();
        let before = before.trim_end();
        if before.ends_with(['"', '\'']) && key_and_value(here).0.is_some() {
            return syntax(
                "text follows the closing quote of a value".into(),
                Some(at),
                "put the whole value inside the quotes".into(),
            );
        }
        if here.trim_start().starts_with("- ") && context.contains("block mapping") {
            return syntax(
                format!("line {} starts a list item where a key of the mapping above was expected", at.line),
                Some(Location { line: at.line, column: indent(here) + 1 }),
                "remove the `- ` if this is another key of the same entry, or indent the list under a key".into(),
            );
        }
        return syntax(
            format!(
                "line {} is not indented like the lines of its block",
                at.line
            ),
            Some(Location {
                line: at.line,
                column: indent(here) + 1,
            }),
            match expected_indent(&lines, at.line) {
                Some((n, why)) => format!("indent it with {n} spaces, {why}"),
                None => "indent it like the lines it belongs with".into(),
            },
        );
    }
    if ["found ", "did not find ", "could not find "]
        .iter()
        .any(|p| problem.starts_with(p))
    {
        // Another syntax error: libyaml's words, without its positions.
        let what = if context.is_empty() {
            problem.to_string()
        } else {
            format!("{problem} {context}")
        };
        return syntax(
            format!("invalid YAML: {what}"),
            Some(at),
            "check the indentation (spaces only) and the quotes around this position".into(),
        );
    }
    None
}

/// `duplicate entry with key "k"`, with the path prefix (`entry 1, source: `)
/// in words.
fn duplicate_key(message: &str) -> Option<(String, String)> {
    static RE: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(
            r#"^(.*?)duplicate entry with key "((?:[^"\\]|\\.)*)"(?: at line \d+ column \d+)?$"#,
        )
        .expect("valid regex")
    });
    let c = RE.captures(message)?;
    let prefix = humanize_path(&c[1]);
    Some((c[2].replace("\\\"", "\""), prefix))
}

/// The positions of `key:` in the mapping that starts at `start` (the first
/// two at most).
fn key_positions(lines: &[&str], start: Location, key: &str) -> Vec<Location> {
    let mut found = Vec::new();
    let Some(first) = lines.get(start.line.wrapping_sub(1)) else {
        return found;
    };
    let col = start.column - 1;
    let matches_key = |s: &str| {
        [key.to_string(), format!("\"{key}\""), format!("'{key}'")]
            .iter()
            .any(|k| {
                s.strip_prefix(k.as_str())
                    .is_some_and(|r| r.trim_start().starts_with(':'))
            })
    };
    if first.chars().nth(col) == Some('{') {
        // A flow mapping: the occurrences after the `{`, on this line.
        let body: Vec<(usize, char)> = first.char_indices().skip(col + 1).collect();
        for (n, &(i, c)) in body.iter().enumerate() {
            let at_key = n == 0 || matches!(body[n - 1].1, '{' | ',' | ' ');
            if at_key && c != ' ' && matches_key(&first[i..]) && found.len() < 2 {
                found.push(Location {
                    line: start.line,
                    column: first[..i].chars().count() + 1,
                });
            }
        }
        return found;
    }
    for (n, line) in lines.iter().enumerate().skip(start.line - 1) {
        let content = if n == start.line - 1 {
            let from = first.char_indices().nth(col).map_or(line.len(), |(i, _)| i);
            line.get(from..).unwrap_or_default()
        } else {
            let t = line.trim_start();
            if t.is_empty() || t.starts_with('#') {
                continue;
            }
            if indent(line) < col {
                break;
            }
            if indent(line) > col {
                continue;
            }
            t
        };
        if matches_key(content) && found.len() < 2 {
            found.push(Location {
                line: n + 1,
                column: col + 1,
            });
        }
    }
    found
}

/// The opening quote of a quoted value that runs to the end of the text.
fn unclosed_quote(text: &str) -> Option<(Location, char)> {
    let mut open: Option<(Location, char)> = None;
    for (n, line) in text.lines().enumerate() {
        let chars: Vec<char> = line.chars().collect();
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            match open {
                Some((_, '"')) if c == '\\' => i += 1,
                Some((_, q)) if c == q => {
                    if q == '\'' && chars.get(i + 1) == Some(&'\'') {
                        i += 1;
                    } else {
                        open = None;
                    }
                }
                None if c == '#' && (i == 0 || chars[i - 1].is_whitespace()) => break,
                None if c == '"' || c == '\'' => {
                    let before = chars[..i].iter().rev().find(|c| !c.is_whitespace());
                    let starts_value = match before {
                        Some(':' | '-' | '?') => chars[i - 1].is_whitespace(),
                        None | Some('[' | '{' | ',') => true,
                        _ => false,
                    };
                    if starts_value {
                        open = Some((
                            Location {
                                line: n + 1,
                                column: i + 1,
                            },
                            c,
                        ));
                    }
                }
                Some(_) | None => {}
            }
            i += 1;
        }
    }
    open
}

/// The `open` bracket, before `at`, that has no `close`.
fn unclosed_bracket(lines: &[&str], at: Location, open: char, close: char) -> Option<Location> {
    let mut stack = Vec::new();
    for (n, line) in lines.iter().enumerate().take(at.line) {
        let mut quote: Option<char> = None;
        for (col, c) in line.chars().enumerate() {
            if n + 1 == at.line && col + 1 >= at.column {
                break;
            }
            match (quote, c) {
                (Some(q), c) if c == q => quote = None,
                (None, '"' | '\'') => quote = Some(c),
                (None, '#') => break,
                (None, c) if c == open => stack.push(Location {
                    line: n + 1,
                    column: col + 1,
                }),
                (None, c) if c == close => {
                    stack.pop();
                }
                _ => {}
            }
        }
    }
    stack.pop()
}

/// Spaces before the first other character.
fn indent(line: &str) -> usize {
    line.len() - line.trim_start_matches(' ').len()
}

/// Where the keys of a line start: after `- ` for a list item.
fn key_indent(line: &str) -> usize {
    let t = line.trim_start_matches(' ');
    indent(line) + if t.starts_with("- ") { 2 } else { 0 }
}

/// The nearest line before `line` (1-based) with content, and its number.
fn previous_content<'a>(lines: &[&'a str], line: usize) -> Option<(usize, &'a str)> {
    (0..line.saturating_sub(1)).rev().find_map(|i| {
        let t = lines[i].trim_start();
        (!t.is_empty() && !t.starts_with('#')).then(|| (i + 1, lines[i]))
    })
}

/// How far line `line` should be indented, judged from the line before it:
/// deeper under a `key:` that opens a block, else level with it.
fn expected_indent(lines: &[&str], line: usize) -> Option<(usize, String)> {
    let (n, prev) = previous_content(lines, line)?;
    let (key, _) = key_and_value(prev);
    let key = key.unwrap_or_else(|| prev.trim().to_string());
    if prev.trim_end().ends_with(':') {
        Some((key_indent(prev) + 2, format!("under `{key}:` on line {n}")))
    } else {
        Some((key_indent(prev), format!("like `{key}:` on line {n}")))
    }
}

/// `key: value` of a line (after any `- `), the value trimmed.
fn key_and_value(line: &str) -> (Option<String>, String) {
    let t = line.trim_start().trim_start_matches("- ").trim_start();
    match t.split_once(':') {
        Some((k, v)) if !k.is_empty() && !k.contains(char::is_whitespace) => {
            (Some(k.to_string()), v.trim().to_string())
        }
        _ => (None, t.trim().to_string()),
    }
}

/// `.[2].source: msg` → `entry 3, source: msg`: where in the file, in words.
fn humanize_path(message: &str) -> String {
    static RE: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"^\.?\[(\d+)\]\.?([^:\s]*): ").expect("valid regex"));
    let Some(c) = RE.captures(message) else {
        return message.to_string();
    };
    let n: usize = c[1].parse().unwrap_or(0);
    let rest = &message[c.get(0).map_or(0, |m| m.end())..];
    if c[2].is_empty() {
        format!("entry {}: {rest}", n + 1)
    } else {
        format!("entry {}, {}: {rest}", n + 1, &c[2])
    }
}

/// For serde's "unknown field `x`, expected one of `a`, `b`" (or "expected
/// `a`"): the nearest known field, or the list of known ones.
fn unknown_field_help(message: &str) -> Option<String> {
    static RE: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"unknown (?:field|variant) `([^`]*)`, expected (?:one of )?(.*)$")
            .expect("valid regex")
    });
    let caps = RE.captures(message)?;
    let word = caps.get(1)?.as_str();
    let expected: Vec<&str> = caps
        .get(2)?
        .as_str()
        .split('`')
        .skip(1)
        .step_by(2)
        .collect();
    match did_you_mean(word, &expected) {
        Some(best) => Some(format!("did you mean `{best}`?")),
        None => Some(format!(
            "the keys allowed here are: {}",
            expected.join(", ")
        )),
    }
}
