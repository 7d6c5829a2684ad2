//! Diagnostics: what went wrong, where, and how to fix it.
//!
//! Every user-facing problem — an error that stops the run or a warning that
//! does not — is a [`Diagnostic`]. Loading and validation collect as many as
//! they can before giving up, so one run shows every mistake in images.yaml,
//! not just the first. The pure pipeline steps (merge, graph, resources) return
//! warnings as data; only the command layer prints them, to stderr.

use std::fmt;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anstyle::{AnsiColor, Style};

/// A 1-based line and column in a file. The column counts characters
/// (not bytes), as the YAML parser does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Location {
    pub line: usize,
    pub column: usize,
}

/// Whether a diagnostic stops the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    Error,
    Warning,
}

/// One problem, with the file and position it comes from where known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub severity: Severity,
    pub message: String,
    pub file: Option<PathBuf>,
    pub location: Option<Location>,
    pub help: Option<String>,
    /// What the snippet under the message shows (boxed: most diagnostics
    /// have none, and a small diagnostic keeps `Result`s small).
    pub source: Option<Box<Source>>,
}

/// The source shown under a diagnostic.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Source {
    /// The text of the line the location points at, when the file's text
    /// was at hand: shown with a caret under the column.
    pub line: Option<String>,
    /// The offending text, when known (a value that fails a rule): the
    /// caret goes under it when it is on the line after the key at the
    /// column, else under the token at the column.
    pub underline: Option<String>,
}

impl Diagnostic {
    pub fn error(message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Error,
            message: message.into(),
            file: None,
            location: None,
            help: None,
            source: None,
        }
    }

    pub fn warning(message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(message)
        }
    }

    #[must_use]
    pub fn in_file(mut self, file: &Path) -> Self {
        self.file = Some(file.to_path_buf());
        self
    }

    #[must_use]
    pub fn at(mut self, location: Option<Location>) -> Self {
        self.location = location;
        self
    }

    #[must_use]
    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// Keeps the line `location` points at from `text` (the whole file the
    /// diagnostic is about), for the snippet. Nothing when there is no
    /// location or the line is past the end of the text.
    #[must_use]
    pub fn with_source(mut self, text: &str) -> Self {
        self.set_source(text);
        self
    }

    /// [`Diagnostic::with_source`], in place.
    pub fn set_source(&mut self, text: &str) {
        if let Some(loc) = self.location {
            self.source.get_or_insert_default().line = loc
                .line
                .checked_sub(1)
                .and_then(|i| text.lines().nth(i))
                .map(str::to_string);
        }
    }

    /// The source line kept by [`Diagnostic::with_source`].
    pub fn source_line(&self) -> Option<&str> {
        self.source.as_ref()?.line.as_deref()
    }

    /// The offending text, for the caret (see [`Source::underline`]).
    #[must_use]
    pub fn underline(mut self, text: impl Into<String>) -> Self {
        self.source.get_or_insert_default().underline = Some(text.into());
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// The diagnostic as text for a person: the message, the position, the
    /// source line with a caret under the column (when the line is known),
    /// and the help. With `colour`, the labels carry ANSI styles as rustc's
    /// do; without, the text is plain (what [`Display`](fmt::Display) gives).
    pub fn render(&self, colour: bool) -> String {
        let p = Palette::new(colour);
        let (label, caret) = match self.severity {
            Severity::Error => ("error", p.error),
            Severity::Warning => ("warning", p.warning),
        };
        let mut out = format!(
            "{}{label}:{} {}{}{}",
            caret.render(),
            caret.render_reset(),
            p.message.render(),
            self.message,
            p.message.render_reset()
        );
        let underline = self.source.as_ref().and_then(|s| s.underline.as_deref());
        let snippet = match (&self.file, self.location, self.source_line()) {
            (Some(_), Some(loc), Some(line)) => Some((loc.line, snip(line, loc.column, underline))),
            _ => None,
        };
        // The gutter is wide enough for the line number, and at least the
        // two columns the `  --> ` of a diagnostic without a snippet takes.
        let width = snippet
            .as_ref()
            .map_or(2, |(n, _)| n.to_string().len().max(2));
        let (blue, reset) = (p.gutter.render(), p.gutter.render_reset());
        if let Some(file) = &self.file {
            let _ = write!(out, "\n{:width$}{blue}-->{reset} {}", "", file.display());
            if let Some(loc) = self.location {
                // Where the caret is: rustc's `-->` names the span's start.
                let column = snippet.as_ref().map_or(loc.column, |(_, s)| s.column);
                let _ = write!(out, ":{}:{column}", loc.line);
            }
        }
        if let Some((number, s)) = &snippet {
            let _ = write!(out, "\n{:width$} {blue}|{reset}", "");
            let text = if s.text.is_empty() {
                String::new()
            } else {
                format!(" {}", s.text)
            };
            let _ = write!(out, "\n{blue}{number:>width$} |{reset}{text}");
            let _ = write!(
                out,
                "\n{:width$} {blue}|{reset} {:pad$}{}{}{}",
                "",
                "",
                caret.render(),
                "^".repeat(s.caret_len),
                caret.render_reset(),
                pad = s.caret_start
            );
            if self.help.is_some() {
                let _ = write!(out, "\n{:width$} {blue}|{reset}", "");
            }
        }
        if let Some(help) = &self.help {
            let _ = write!(
                out,
                "\n  {}help:{} {help}",
                p.help.render(),
                p.help.render_reset()
            );
        }
        out
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render(false))
    }
}

/// The styles of rendered diagnostics: rustc's and cargo's colours, or
/// none at all (every style empty, so nothing but the text is written).
#[derive(Debug, Clone, Copy)]
struct Palette {
    error: Style,
    warning: Style,
    message: Style,
    gutter: Style,
    help: Style,
}

impl Palette {
    fn new(colour: bool) -> Self {
        let style = |c: AnsiColor| {
            if colour {
                Style::new().bold().fg_color(Some(c.into()))
            } else {
                Style::new()
            }
        };
        Palette {
            error: style(AnsiColor::Red),
            warning: style(AnsiColor::Yellow),
            message: if colour {
                Style::new().bold()
            } else {
                Style::new()
            },
            gutter: style(AnsiColor::Blue),
            help: style(AnsiColor::Cyan),
        }
    }
}

/// A source line made fit to show, and where its caret goes (both in
/// terminal columns).
#[derive(Debug, PartialEq, Eq)]
struct Snip {
    text: String,
    caret_start: usize,
    caret_len: usize,
    /// The 1-based character column the caret starts at (the underlined
    /// value's, when it moved there from a key).
    column: usize,
}

/// Lines wider than this are cut around the column, with `…` where cut.
const SNIPPET_WIDTH: usize = 100;
/// How much of a cut line is kept before the column.
const SNIPPET_BEFORE: usize = 40;

/// Shows `line` with a caret under 1-based character `column` (or under
/// `underline`, when the line has it at or after the column): a tab is
/// four spaces, a control character `�` (a hostile file cannot drive the
/// terminal), wide characters take two columns; a long line is cut around
/// the column. The caret is as long as the token at the column (a key, a
/// value, a quoted text), at least one column.
fn snip(line: &str, column: usize, underline: Option<&str>) -> Snip {
    let chars: Vec<char> = line.trim_end_matches('\r').chars().collect();
    let mut at = column.saturating_sub(1).min(chars.len());
    let mut token = token_len(&chars[at..]).max(1);
    let wanted: Vec<char> = underline.unwrap_or_default().chars().collect();
    if !wanted.is_empty() {
        // The value, after the key's `:` when the column is at a key.
        let from = at + token_len(&chars[at..]);
        let from = match chars.get(from) {
            Some(':') => from + 1,
            _ => at,
        };
        if let Some(i) = chars[from..]
            .windows(wanted.len())
            .position(|w| w == wanted)
        {
            (at, token) = (from + i, wanted.len());
        }
    }
    let width = |cs: &[char]| cs.iter().map(|c| cell_width(*c)).sum::<usize>();
    let (mut from, mut to) = (0, chars.len());
    if width(&chars) > SNIPPET_WIDTH {
        from = at;
        while from > 0 && width(&chars[from - 1..at]) <= SNIPPET_BEFORE {
            from -= 1;
        }
        to = at;
        while to < chars.len() && width(&chars[from..=to]) <= SNIPPET_WIDTH - 2 {
            to += 1;
        }
    }
    let mut text = String::new();
    if from > 0 {
        text.push('…');
    }
    for &c in &chars[from..to] {
        match c {
            '\t' => text.push_str("    "),
            c if c.is_control() => text.push('\u{fffd}'),
            c => text.push(c),
        }
    }
    if to < chars.len() {
        text.push('…');
    }
    let end = (at + token).min(to.max(at));
    Snip {
        text,
        caret_start: usize::from(from > 0) + width(&chars[from..at]),
        caret_len: width(&chars[at..end]).max(1),
        column: at + 1,
    }
}

/// The length in characters of the token `rest` starts with: a quoted text
/// to its closing quote, else up to a space, `,`, `]`, `}` or a key's `: `.
fn token_len(rest: &[char]) -> usize {
    match rest.first() {
        Some(&q @ ('"' | '\'')) => rest[1..]
            .iter()
            .position(|&c| c == q)
            .map_or(rest.len(), |i| i + 2),
        _ => rest
            .iter()
            .enumerate()
            .position(|(i, &c)| {
                c.is_whitespace()
                    || matches!(c, ',' | ']' | '}')
                    || (c == ':' && rest.get(i + 1).is_none_or(|n| n.is_whitespace()))
            })
            .unwrap_or(rest.len()),
    }
}

/// How many terminal columns `c` takes: a tab four (it is shown as four
/// spaces), combining marks none, East Asian wide characters and emoji two.
/// An approximation of Unicode's East Asian Width, enough to line a caret up.
fn cell_width(c: char) -> usize {
    match u32::from(c) {
        0x09 => 4,
        0x0300..=0x036F | 0x200B..=0x200F | 0x20D0..=0x20FF | 0xFE00..=0xFE0F => 0,
        0x1100..=0x115F
        | 0x2E80..=0x303E
        | 0x3041..=0xA4CF
        | 0xAC00..=0xD7A3
        | 0xF900..=0xFAFF
        | 0xFE30..=0xFE4F
        | 0xFF00..=0xFF60
        | 0xFFE0..=0xFFE6
        | 0x1F300..=0x1F64F
        | 0x1F900..=0x1F9FF
        | 0x20000..=0x3FFFD => 2,
        _ => 1,
    }
}

/// Fills in the source line of every diagnostic about `file` that has a
/// location and no line yet, from `text` (the file's contents).
pub fn attach_source(diags: &mut [Diagnostic], file: &Path, text: &str) {
    for d in diags {
        if d.source_line().is_none() && d.file.as_deref() == Some(file) {
            d.set_source(text);
        }
    }
}

/// A diagnostic as every `--format json` output writes it: `{"severity",
/// "message", "file", "line", "column", "help"}`, unknown fields null.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DiagnosticJson {
    /// `error` or `warning`.
    pub severity: &'static str,
    pub message: String,
    pub file: Option<String>,
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub help: Option<String>,
}

impl DiagnosticJson {
    /// An error with nothing but a message.
    fn plain(message: String) -> Self {
        DiagnosticJson {
            severity: "error",
            message,
            file: None,
            line: None,
            column: None,
            help: None,
        }
    }
}

impl From<&Diagnostic> for DiagnosticJson {
    fn from(d: &Diagnostic) -> Self {
        DiagnosticJson {
            severity: if d.is_error() { "error" } else { "warning" },
            message: d.message.clone(),
            file: d.file.as_ref().map(|f| f.display().to_string()),
            line: d.location.map(|l| l.line),
            column: d.location.map(|l| l.column),
            help: d.help.clone(),
        }
    }
}

/// Why a command failed. Every variant maps to exit status 2 except
/// [`Error::Internal`] (3): a bug in imgf, not in the input.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The input is wrong; each diagnostic says where and how to fix it.
    #[error("{}", render_all(.0, false))]
    Input(Vec<Diagnostic>),
    /// Some work failed after other work was done: the diagnostics, then a
    /// summary of what was written all the same.
    #[error("{}", render_partial(.diagnostics, .summary, false))]
    Partial {
        diagnostics: Vec<Diagnostic>,
        summary: String,
    },
    /// A file could not be read or written (shown as a diagnostic: the
    /// path, the reason and what to check; see [`Error::diagnostics`]).
    #[error("{}", io_diagnostic(.action, .path, .source))]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// An invariant of imgf itself was broken.
    #[error("internal error (please report it): {0}")]
    Internal(String),
}

impl Error {
    /// The error as `{"errors": [{"severity", "message", "file", "line",
    /// "column", "help"}]}` (`--format json`; unknown fields are null).
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({ "errors": self.json_diagnostics() })
    }

    /// The diagnostics of the error, each as [`DiagnosticJson`]: what
    /// [`Error::to_json`] lists under `errors`.
    pub fn json_diagnostics(&self) -> Vec<DiagnosticJson> {
        match self {
            Error::Input(ds) => ds.iter().map(DiagnosticJson::from).collect(),
            Error::Partial {
                diagnostics,
                summary,
            } => diagnostics
                .iter()
                .map(DiagnosticJson::from)
                .chain(std::iter::once(DiagnosticJson::plain(summary.clone())))
                .collect(),
            Error::Io {
                action,
                path,
                source,
            } => vec![DiagnosticJson::from(&io_diagnostic(action, path, source))],
            other => vec![DiagnosticJson::plain(other.to_string())],
        }
    }

    /// The error as text for a person (what [`Display`](fmt::Display)
    /// gives), with ANSI colours when `colour` is set.
    pub fn render(&self, colour: bool) -> String {
        match self {
            Error::Input(ds) => render_all(ds, colour),
            Error::Partial {
                diagnostics,
                summary,
            } => render_partial(diagnostics, summary, colour),
            Error::Io {
                action,
                path,
                source,
            } => io_diagnostic(action, path, source).render(colour),
            other => other.to_string(),
        }
    }

    /// The error as diagnostics: an I/O error becomes one naming the file.
    pub fn into_diagnostics(self) -> Vec<Diagnostic> {
        match self {
            Error::Input(ds) => ds,
            Error::Partial {
                mut diagnostics,
                summary,
            } => {
                diagnostics.push(Diagnostic::error(summary));
                diagnostics
            }
            Error::Io {
                action,
                path,
                source,
            } => vec![io_diagnostic(action, &path, &source)],
            other => vec![Diagnostic::error(other.to_string())],
        }
    }

    pub fn input(d: Diagnostic) -> Self {
        Error::Input(vec![d])
    }

    pub fn io(action: &'static str, path: &Path, source: std::io::Error) -> Self {
        Error::Io {
            action,
            path: path.to_path_buf(),
            source,
        }
    }

    /// The process exit status for this error.
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Input(_) | Error::Partial { .. } | Error::Io { .. } => 2,
            Error::Internal(_) => 3,
        }
    }
}

/// An I/O error as a diagnostic: what could not be done, why, the file
/// (stdout and stderr are not files: named in the message instead), and
/// what to check.
fn io_diagnostic(action: &str, path: &Path, source: &std::io::Error) -> Diagnostic {
    use std::io::ErrorKind as K;
    let stream = path == Path::new("stdout") || path == Path::new("stderr");
    let (why, help) = match source.kind() {
        K::NotFound => ("it does not exist", Some("check the path")),
        K::PermissionDenied => (
            "permission denied",
            Some("check the permissions of the file and of the directories above it"),
        ),
        K::IsADirectory => ("it is a directory", Some("name a file, not a directory")),
        K::NotADirectory => (
            "a part of the path is not a directory",
            Some("check the path"),
        ),
        K::StorageFull => ("the disk is full", Some("free some space and run again")),
        K::ReadOnlyFilesystem => (
            "the file system is read-only",
            Some("run where the file can be written"),
        ),
        _ => ("", None),
    };
    let why = if why.is_empty() {
        source.to_string()
    } else {
        why.to_string()
    };
    let d = if stream {
        Diagnostic::error(format!("{action} {}: {why}", path.display()))
    } else {
        // The whole path is on the `-->` line.
        let name = path.file_name().map_or(path.as_os_str(), |n| n);
        Diagnostic::error(format!("{action} `{}`: {why}", Path::new(name).display())).in_file(path)
    };
    match help {
        Some(h) => d.help(h),
        None => d,
    }
}

fn render_each(diags: &[Diagnostic], colour: bool) -> String {
    let mut out = String::new();
    for (i, d) in diags.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        out.push_str(&d.render(colour));
    }
    out
}

fn render_all(diags: &[Diagnostic], colour: bool) -> String {
    let mut out = render_each(diags, colour);
    let errors = diags.iter().filter(|d| d.is_error()).count();
    if errors > 1 {
        out.push('\n');
        out.push_str(
            &Diagnostic::error(format!("{errors} problems found; nothing was written"))
                .render(colour),
        );
    }
    out
}

fn render_partial(diags: &[Diagnostic], summary: &str, colour: bool) -> String {
    format!(
        "{}\n{}",
        render_each(diags, colour),
        Diagnostic::error(summary).render(colour)
    )
}

/// Splits collected diagnostics: errors become `Err`, warnings are returned.
pub fn into_result(diags: Vec<Diagnostic>) -> Result<Vec<Diagnostic>, Error> {
    if diags.iter().any(Diagnostic::is_error) {
        Err(Error::Input(diags))
    } else {
        Ok(diags)
    }
}

/// The closest candidate to a misspelt word, if it is close enough to be a
/// plausible typo (`rebuildDelya` → `rebuildDelay`).
pub fn did_you_mean<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let lower = word.to_ascii_lowercase();
    candidates
        .iter()
        .map(|c| (edit_distance(&lower, &c.to_ascii_lowercase()), *c))
        .filter(|(d, c)| *d <= 2.max(c.len() / 3))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// Up to `max` candidates close enough to `word` to be what was meant,
/// nearest first (ties in the candidates' order): the closeness rule of
/// [`did_you_mean`], and at most half the shorter word changed, so short
/// names are not suggested for anything short (`wbe` is not a typo of `b`).
pub fn nearest<'a>(word: &str, candidates: &[&'a str], max: usize) -> Vec<&'a str> {
    let lower = word.to_ascii_lowercase();
    let mut close: Vec<(usize, &'a str)> = candidates
        .iter()
        .map(|c| (edit_distance(&lower, &c.to_ascii_lowercase()), *c))
        .filter(|(d, c)| *d <= 2.max(c.len() / 3) && *d <= 1.max(lower.len().min(c.len()) / 2))
        .collect();
    close.sort_by_key(|(d, _)| *d);
    let mut out: Vec<&'a str> = Vec::new();
    for (_, c) in close {
        if out.len() == max {
            break;
        }
        if !out.contains(&c) {
            out.push(c);
        }
    }
    out
}

/// "did you mean `a`, `b` or `c`?" for [`nearest`]'s answer; `None` when
/// nothing was close.
pub fn did_you_mean_any(names: &[&str]) -> Option<String> {
    let quoted: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
    match quoted.as_slice() {
        [] => None,
        [one] => Some(format!("did you mean {one}?")),
        [init @ .., last] => Some(format!("did you mean {} or {last}?", init.join(", "))),
    }
}

/// Damerau–Levenshtein distance (optimal string alignment): a swap of two
/// neighbouring letters, the commonest typo, costs one edit.
pub(crate) fn edit_distance(a: &str, b: &str) -> usize {
    strsim::osa_distance(a, b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_near_misses_only() {
        let keys = ["name", "registry", "rebuildDelay", "autoRebuild"];
        assert_eq!(did_you_mean("rebuildDelya", &keys), Some("rebuildDelay"));
        assert_eq!(did_you_mean("regsitry", &keys), Some("registry"));
        assert_eq!(did_you_mean("autorebuild", &keys), Some("autoRebuild"));
        assert_eq!(did_you_mean("completely-else", &keys), None);
    }

    #[test]
    fn nearest_lists_close_names_nearest_first() {
        let names = ["web", "worker", "wbe-x", "api", "web2", "b"];
        assert_eq!(nearest("wbe", &names, 3), ["web"]);
        assert_eq!(nearest("webb", &names, 3), ["web", "web2"]);
        assert_eq!(nearest("wbe-xx", &names, 3), ["wbe-x"]);
        assert_eq!(nearest("completely-else", &names, 3), Vec::<&str>::new());
        assert_eq!(nearest("web", &["web", "web"], 3), ["web"]);
        assert_eq!(nearest("bb", &["b", "c", "d"], 3), ["b"]);
        assert_eq!(did_you_mean_any(&[]), None);
        assert_eq!(did_you_mean_any(&["a"]).unwrap(), "did you mean `a`?");
        assert_eq!(
            did_you_mean_any(&["a", "b", "c"]).unwrap(),
            "did you mean `a`, `b` or `c`?"
        );
    }

    fn at(line: usize, column: usize) -> Diagnostic {
        Diagnostic::error("bad")
            .in_file(Path::new("images.yaml"))
            .at(Some(Location { line, column }))
    }

    #[test]
    fn renders_the_source_line_with_a_caret() {
        let text = "- name: app\n  rebuildDelay: 7x\n";
        let d = at(2, 3)
            .underline("7x")
            .with_source(text)
            .help("write `7d`");
        assert_eq!(
            d.to_string(),
            "error: bad\n  --> images.yaml:2:17\n   |\n 2 |   rebuildDelay: 7x\n   |                 ^^\n   |\n  help: write `7d`"
        );
        // The `-->` column is the caret's (the value's, not the key's).
        // Without help, no closing gutter line; without underline, the
        // caret is as long as the token at the column (a key here).
        let d = at(2, 3).with_source(text);
        assert_eq!(
            d.to_string(),
            "error: bad\n  --> images.yaml:2:3\n   |\n 2 |   rebuildDelay: 7x\n   |   ^^^^^^^^^^^^"
        );
        // A wider line number widens the gutter.
        let mut long = "x: 1\n".repeat(122);
        long.push_str("key: v\n");
        let d = at(123, 1).with_source(&long);
        assert_eq!(
            d.to_string(),
            "error: bad\n   --> images.yaml:123:1\n    |\n123 | key: v\n    | ^^^"
        );
    }

    #[test]
    fn caret_length_follows_the_token() {
        let s = |line: &str, col: usize, u: Option<&str>| {
            let s = snip(line, col, u);
            (s.caret_start, s.caret_len)
        };
        assert_eq!(s("  tag: \"a b\" # c", 8, None), (7, 5));
        assert_eq!(s("  tags: [a, bb]", 13, None), (12, 2));
        assert_eq!(s("- name: a", 1, None), (0, 1));
        // `name: name`: the value, not the key.
        assert_eq!(s("  name: name", 3, Some("name")), (8, 4));
        // Not on the line: the token at the column.
        assert_eq!(s("  name: x", 3, Some("elsewhere")), (2, 4));
        // Past the end of the line: one caret just after it.
        assert_eq!(s("ab", 9, None), (2, 1));
        assert_eq!(s("", 1, None), (0, 1));
    }

    #[test]
    fn tabs_are_expanded_in_the_line_and_the_caret_alike() {
        let s = snip("\tkey:\tvalue", 7, None);
        assert_eq!(s.text, "    key:    value");
        assert_eq!((s.caret_start, s.caret_len), (12, 5));
        let s = snip("\tkey: v", 1, None);
        assert_eq!((s.caret_start, s.caret_len), (0, 4));
    }

    #[test]
    fn columns_count_characters_and_wide_ones_take_two_cells() {
        // Column 16 is the 16th character, not byte.
        let s = snip("- name: \"ääää\" x", 16, None);
        assert_eq!((s.caret_start, s.caret_len), (15, 1));
        let s = snip("- name: \"日本語\" x", 15, None);
        assert_eq!((s.caret_start, s.caret_len), (17, 1));
        let s = snip("- name: 日本", 9, None);
        assert_eq!((s.caret_start, s.caret_len), (8, 4));
        let rendered = at(1, 15).with_source("- name: \"日本語\" x").to_string();
        let lines: Vec<&str> = rendered.lines().collect();
        assert_eq!(lines[3], " 1 | - name: \"日本語\" x");
        assert_eq!(lines[4], "   |                  ^");
    }

    #[test]
    fn long_lines_are_cut_around_the_column() {
        let line = format!("key: {}BAD{}", "a".repeat(300), "b".repeat(300));
        let s = snip(&line, 306, Some("BAD"));
        assert!(
            s.text.starts_with('…') && s.text.ends_with('…'),
            "{}",
            s.text
        );
        assert!(s.text.chars().count() <= SNIPPET_WIDTH + 2, "{}", s.text);
        let shown: Vec<char> = s.text.chars().collect();
        let under: String = shown[s.caret_start..s.caret_start + s.caret_len]
            .iter()
            .collect();
        assert_eq!(under, "BAD");
        // Near the start: cut at the end only.
        let s = snip(&line, 1, None);
        assert!(s.text.starts_with("key: a") && s.text.ends_with('…'));
        assert_eq!((s.caret_start, s.caret_len), (0, 3));
    }

    #[test]
    fn control_characters_never_reach_the_terminal() {
        let s = snip("name: a\x1b[31mred", 7, None);
        assert_eq!(s.text, "name: a\u{fffd}[31mred");
    }

    #[test]
    fn no_snippet_past_the_end_of_the_file() {
        let d = at(9, 1).with_source("a: 1\nb: 2\n");
        assert_eq!(d.source_line(), None);
        assert_eq!(d.to_string(), "error: bad\n  --> images.yaml:9:1");
        let d = at(0, 0).with_source("a: 1\n");
        assert_eq!(d.source_line(), None);
        // No location, or no file: no snippet either.
        let mut d = Diagnostic::error("bad").with_source("a: 1\n");
        d.source.get_or_insert_default().line = Some("a: 1".into());
        assert_eq!(d.to_string(), "error: bad");
    }

    #[test]
    fn colour_only_when_asked() {
        let d = at(1, 1).with_source("a: 1\n").help("h");
        let plain = d.render(false);
        assert!(!plain.contains('\x1b'), "{plain:?}");
        assert_eq!(plain, d.to_string());
        let coloured = d.render(true);
        assert!(
            coloured.contains("\x1b[1m\x1b[31merror:\x1b[0m"),
            "{coloured:?}"
        );
        assert!(coloured.contains("\x1b[36mhelp:"), "{coloured:?}");
        assert!(coloured.contains("\x1b[34m-->"), "{coloured:?}");
        let warning = Diagnostic::warning("w").render(true);
        assert!(warning.contains("\x1b[33mwarning:"), "{warning:?}");
        // The same text once the escapes are taken out.
        let re = regex::Regex::new("\x1b\\[[0-9;]*m").unwrap();
        assert_eq!(re.replace_all(&coloured, ""), plain);
        let e = Error::Input(vec![d.clone(), d]);
        assert!(!e.render(false).contains('\x1b'));
        assert_eq!(e.render(false), e.to_string());
        assert!(e
            .render(true)
            .contains("\x1b[31merror:\x1b[0m \x1b[1m2 problems found"));
    }

    #[test]
    fn renders_file_line_column_and_help() {
        let d = Diagnostic::error("unknown key `x`")
            .in_file(Path::new("images.yaml"))
            .at(Some(Location { line: 3, column: 5 }))
            .help("remove it");
        assert_eq!(
            d.to_string(),
            "error: unknown key `x`\n  --> images.yaml:3:5\n  help: remove it"
        );
    }
}
