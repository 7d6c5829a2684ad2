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
//! that cannot start any token"): [`syntax_error`] recognises the usual
//! mistakes — a tab used for indentation, a line indented unlike its
//! neighbours, an unclosed quote or bracket, a `: ` inside a plain value, a
//! duplicate key, a character YAML reserves — says what it is, points at the
//! offending place and says how to fix it.

use std::path::Path;
use std::sync::OnceLock;

use regex::Regex;
use serde::de::DeserializeOwned;

use crate::diagnostic::{did_you_mean, Diagnostic, Error, Location};

/// Files larger than this are refused before parsing: no enrollment or state
/// file comes near it, and it bounds the work a hostile file can cause
/// (alias bombs are bounded separately by the YAML library's repetition limit).
pub const MAX_INPUT_BYTES: u64 = 16 * 1024 * 1024;

/// Reads a text file, refusing oversize files and invalid UTF-8.
pub fn read_text(path: &Path) -> Result<String, Error> {
    use std::io::Read as _;
    // One open: the size comes from the open file (thousands of state files
    // are read per run, so each system call counts).
    let file = std::fs::File::open(path).map_err(|e| match not_a_file(path) {
        Ok(Some(what @ (NotAFile::Dangling(_) | NotAFile::Loop))) => {
            Error::input(what.diagnostic(path))
        }
        _ => Error::io("cannot read", path, e),
    })?;
    let meta = file
        .metadata()
        .map_err(|e| Error::io("cannot read", path, e))?;
    if meta.is_dir() {
        return Err(Error::input(NotAFile::Directory.diagnostic(path)));
    }
    if meta.len() > MAX_INPUT_BYTES {
        return Err(Error::input(
            Diagnostic::error(format!(
                "file is {} bytes, more than the {MAX_INPUT_BYTES} imgf accepts",
                meta.len()
            ))
            .in_file(path),
        ));
    }
    let mut bytes = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0) + 1);
    // Bounded: a file that grows while it is read (or a device posing as
    // one) is refused at the limit, never read without end.
    file.take(MAX_INPUT_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Error::io("cannot read", path, e))?;
    if bytes.len() as u64 > MAX_INPUT_BYTES {
        return Err(Error::input(
            Diagnostic::error(format!(
                "file is more than the {MAX_INPUT_BYTES} bytes imgf accepts"
            ))
            .in_file(path),
        ));
    }
    let text = String::from_utf8(bytes).map_err(|e| {
        Error::input(
            Diagnostic::error(format!("file is not valid UTF-8 ({e})"))
                .in_file(path)
                .help("save the file as UTF-8"),
        )
    })?;
    Ok(text
        .strip_prefix('\u{feff}')
        .map(str::to_string)
        .unwrap_or(text))
}

/// What stands where a file should be, when it is not a file (or a link
/// to one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotAFile {
    /// Nothing at all.
    Missing,
    Directory,
    /// A symbolic link (or a chain of them) that ends at nothing: where
    /// the link at the path points.
    Dangling(std::path::PathBuf),
    /// Symbolic links that lead round in a circle.
    Loop,
    /// A FIFO, socket or device.
    Special,
}

/// What is at `path` when it is not a file, following symbolic links;
/// `None` for a file or a link to one. Errors other than "not found" (a
/// directory that cannot be searched) are returned as they are.
pub fn not_a_file(path: &Path) -> std::io::Result<Option<NotAFile>> {
    use std::io::ErrorKind;
    let mut p = path.to_path_buf();
    let mut seen = std::collections::HashSet::new();
    // 40: Linux's limit on links followed in one lookup.
    for _ in 0..40 {
        let meta = match std::fs::symlink_metadata(&p) {
            Ok(m) => m,
            Err(e) if e.kind() == ErrorKind::NotFound && p == path => {
                return Ok(Some(NotAFile::Missing))
            }
            Err(e) if e.kind() == ErrorKind::NotFound => {
                return Ok(Some(NotAFile::Dangling(std::fs::read_link(path)?)))
            }
            Err(e) => return Err(e),
        };
        let kind = meta.file_type();
        if kind.is_file() {
            return Ok(None);
        }
        if kind.is_dir() {
            return Ok(Some(NotAFile::Directory));
        }
        if !kind.is_symlink() {
            return Ok(Some(NotAFile::Special));
        }
        if !seen.insert(p.clone()) {
            return Ok(Some(NotAFile::Loop));
        }
        let dir = p.parent().unwrap_or_else(|| Path::new("."));
        p = dir.join(std::fs::read_link(&p)?);
    }
    Ok(Some(NotAFile::Loop))
}

impl NotAFile {
    /// What it is, after the path: "is a directory, not a file".
    pub fn describe(&self) -> String {
        match self {
            NotAFile::Missing => "does not exist".into(),
            NotAFile::Directory => "is a directory, not a file".into(),
            NotAFile::Dangling(to) => format!(
                "is a symbolic link to `{}`, which does not exist",
                to.display()
            ),
            NotAFile::Loop => "is a symbolic link that leads round in a loop".into(),
            NotAFile::Special => "is not a regular file (a FIFO, socket or device)".into(),
        }
    }

    /// The error about `path` being this instead of a file.
    pub fn diagnostic(&self, path: &Path) -> Diagnostic {
        let name = path.file_name().map_or_else(
            || path.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        let help = match self {
            NotAFile::Missing => "check the path".to_string(),
            NotAFile::Directory => format!(
                "name the file itself, or move the directory away and put the file `{name}` there"
            ),
            NotAFile::Dangling(_) => {
                "point the link at an existing file, or replace the link with the file".into()
            }
            NotAFile::Loop => "point the link at a real file, or replace it with the file".into(),
            NotAFile::Special => "replace it with a file".into(),
        };
        Diagnostic::error(format!("`{name}` {}", self.describe()))
            .in_file(path)
            .help(help)
    }
}

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
                '-' if value_start => {}
                '?' if value_start => {}
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

fn diagnose(path: &Path, text: &str, err: &yaml_serde::Error) -> Diagnostic {
    static AT: OnceLock<Regex> = OnceLock::new();
    let at = AT.get_or_init(|| Regex::new(r" at line \d+ column \d+$").expect("valid regex"));
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
    let message = humanize_path(&at.replace(&full, ""));
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
    static PROBLEM: OnceLock<Regex> = OnceLock::new();
    let problem_re = PROBLEM.get_or_init(|| {
        // libyaml: "problem at line L column C, context [at line L column C]".
        Regex::new(r"^(.*?) at line \d+ column \d+(?:, (.*?)(?: at line \d+ column \d+)?)?$")
            .expect("valid regex")
    });
    let lines: Vec<&str> = text.lines().collect();
    let (problem, context) = match problem_re.captures(message) {
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
    static RE: OnceLock<Regex> = OnceLock::new();
    let re = RE.get_or_init(|| {
        Regex::new(
            r#"^(.*?)duplicate entry with key "((?:[^"\\]|\\.)*)"(?: at line \d+ column \d+)?$"#,
        )
        .expect("valid regex")
    });
    let c = re.captures(message)?;
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
                Some(_) => {}
                None if c == '#' && (i == 0 || chars[i - 1].is_whitespace()) => break,
                None if c == '"' || c == '\'' => {
                    let before = chars[..i].iter().rev().find(|c| !c.is_whitespace());
                    let starts_value = match before {
                        None => true,
                        Some(':' | '-' | '?') => chars[i - 1].is_whitespace(),
                        Some('[' | '{' | ',') => true,
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
                None => {}
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
                (Some(_), _) => {}
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
    static RE: OnceLock<Regex> = OnceLock::new();
    let re = RE.get_or_init(|| Regex::new(r"^\.?\[(\d+)\]\.?([^:\s]*): ").expect("valid regex"));
    let Some(c) = re.captures(message) else {
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
    static RE: OnceLock<Regex> = OnceLock::new();
    let re = RE.get_or_init(|| {
        Regex::new(r"unknown (?:field|variant) `([^`]*)`, expected (?:one of )?(.*)$")
            .expect("valid regex")
    });
    let caps = re.captures(message)?;
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

/// Finds where things are in a YAML source after it has been parsed, for
/// errors found later (validation, merge). This is a line-based search, so it
/// is a best effort: when it finds nothing the error simply has no position.
pub struct Locator<'a> {
    lines: Vec<&'a str>,
    /// First line (0-based) of each top-level list item.
    items: Vec<usize>,
}

impl<'a> Locator<'a> {
    pub fn new(text: &'a str) -> Self {
        let lines: Vec<&str> = text.lines().collect();
        let item_indent = lines
            .iter()
            .filter_map(|l| {
                let t = l.trim_start();
                (t.starts_with("- ") || *t == *"-").then(|| l.len() - t.len())
            })
            .min();
        let items = match item_indent {
            Some(ind) => lines
                .iter()
                .enumerate()
                .filter(|(_, l)| {
                    l.len() > ind && l[..ind].trim().is_empty() && {
                        let t = &l[ind..];
                        t.starts_with("- ") || t == "-"
                    }
                })
                .map(|(i, _)| i)
                .collect(),
            None => Vec::new(),
        };
        Locator { lines, items }
    }

    /// The start of list item `index`.
    pub fn item(&self, index: usize) -> Option<Location> {
        let line = *self.items.get(index)?;
        let col = self.lines[line].find('-').unwrap_or(0);
        Some(Location {
            line: line + 1,
            column: col + 1,
        })
    }

    /// The position of `key:` inside list item `index` (the first match at
    /// any depth), or of the item itself when the key is not found.
    pub fn key(&self, index: usize, key: &str) -> Option<Location> {
        let start = *self.items.get(index)?;
        let end = self
            .items
            .get(index + 1)
            .copied()
            .unwrap_or(self.lines.len());
        for (i, line) in self.lines[start..end].iter().enumerate() {
            let t = line.trim_start().trim_start_matches("- ").trim_start();
            if let Some(rest) = t.strip_prefix(key) {
                if rest.trim_start().starts_with(':') {
                    let col = line.len() - t.len();
                    return Some(Location {
                        line: start + i + 1,
                        column: col + 1,
                    });
                }
            }
        }
        self.item(index)
    }

    /// The position of `key:` inside entry `j` of the list under `list:` in
    /// item `index` (`updates[1].key`), or of that entry, or of `list:`.
    pub fn list_key(&self, index: usize, list: &str, j: usize, key: &str) -> Option<Location> {
        let start = *self.items.get(index)?;
        let end = self
            .items
            .get(index + 1)
            .copied()
            .unwrap_or(self.lines.len());
        let indent = |l: &str| l.len() - l.trim_start().len();
        let head = (start..end).find(|&i| {
            let t = self.lines[i]
                .trim_start()
                .trim_start_matches("- ")
                .trim_start();
            t.strip_prefix(list)
                .is_some_and(|r| r.trim_start().starts_with(':'))
        })?;
        let base = indent(self.lines[head]);
        let mut entries = Vec::new();
        let mut dash = None;
        let mut stop = end;
        for i in head + 1..end {
            let l = self.lines[i];
            let t = l.trim_start();
            if t.is_empty() || t.starts_with('#') {
                continue;
            }
            if indent(l) <= base && !(indent(l) == base && t.starts_with("- ")) {
                stop = i;
                break;
            }
            if t.starts_with("- ") || t == "-" {
                match dash {
                    None => {
                        dash = Some(indent(l));
                        entries.push(i);
                    }
                    Some(d) if d == indent(l) => entries.push(i),
                    _ => {}
                }
            }
        }
        let fallback = Some(Location {
            line: head + 1,
            column: base + 1,
        });
        let Some(&first) = entries.get(j) else {
            return fallback;
        };
        let last = entries.get(j + 1).copied().unwrap_or(stop);
        for i in first..last {
            let line = self.lines[i];
            let t = line.trim_start().trim_start_matches("- ").trim_start();
            if let Some(rest) = t.strip_prefix(key) {
                if rest.trim_start().starts_with(':') {
                    return Some(Location {
                        line: i + 1,
                        column: line.len() - t.len() + 1,
                    });
                }
            }
        }
        // A flow mapping: `- http: {url: …}`.
        for pat in [format!("{{{key}:"), format!(" {key}:")] {
            for i in first..last {
                if let Some(col) = self.lines[i].find(&pat) {
                    return Some(Location {
                        line: i + 1,
                        column: col + 2,
                    });
                }
            }
        }
        Some(Location {
            line: first + 1,
            column: indent(self.lines[first]) + 1,
        })
    }

    /// The `key:` a dotted path names in a mapping document
    /// (`analysis.image`: `image:` in the block under `analysis:`), or the
    /// deepest part of it found (a flow mapping is not looked into).
    pub fn path_key(&self, path: &str) -> Option<Location> {
        let mut parts = path.split('.');
        let mut at = self.top_key(parts.next()?)?;
        let mut indent = 0;
        for part in parts {
            let mut found = None;
            for (i, l) in self.lines.iter().enumerate().skip(at.line) {
                let t = l.trim_start();
                if t.is_empty() || t.starts_with('#') {
                    continue;
                }
                let ind = l.len() - t.len();
                if ind <= indent {
                    break;
                }
                if t.strip_prefix(part)
                    .is_some_and(|r| r.trim_start().starts_with(':'))
                {
                    found = Some((i, ind));
                    break;
                }
            }
            let Some((i, ind)) = found else { break };
            at = Location {
                line: i + 1,
                column: ind + 1,
            };
            indent = ind;
        }
        Some(at)
    }

    /// The first top-level `key:` of a mapping document.
    pub fn top_key(&self, key: &str) -> Option<Location> {
        self.lines.iter().enumerate().find_map(|(i, line)| {
            line.strip_prefix(key)
                .filter(|rest| rest.trim_start().starts_with(':'))
                .map(|_| Location {
                    line: i + 1,
                    column: 1,
                })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

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
        let many: String = (0..MAX_NESTING + 2)
            .map(|i| format!("- name: i{i}\n  owner: team [{i}\n"))
            .collect();
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
            text.push_str(&format!(
                "l{i}: &l{i} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]\n"
            ));
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
