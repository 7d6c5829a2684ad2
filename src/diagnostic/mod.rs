//! Diagnostics: what went wrong, where, and how to fix it.
//!
//! Every user-facing problem — an error that stops the run or a warning that
//! does not — is a [`Diagnostic`]. Loading and validation collect as many as
//! they can before giving up, so one run shows every mistake in images.yaml,
//! not just the first. The pure pipeline steps (merge, graph, resources) return
//! warnings as data; only the command layer prints them, to stderr.
//!
//! This module has the types; [`render`](Diagnostic::render) and the
//! "did you mean" suggestions ([`did_you_mean`]) are in their own files.

use std::fmt;
use std::path::{Path, PathBuf};

mod render;
mod suggest;

use render::{render_all, render_partial};
pub(crate) use suggest::edit_distance;
pub use suggest::{did_you_mean, did_you_mean_any, nearest};

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
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render(false))
    }
}

/// Fills in the source line of every diagnostic about `file` that has a
/// location and no line yet, from `text` (the file's contents).
pub fn attach_source(diags: &mut [Diagnostic], file: &Path, text: &str) {
    // The lines wanted are picked in one pass over the text, and only when
    // some diagnostic needs one: a large images.yaml with hundreds of
    // warnings is neither read from the start for each nor split whole.
    let mut wanted: Vec<usize> = diags
        .iter()
        .filter(|d| d.source_line().is_none() && d.file.as_deref() == Some(file))
        .filter_map(|d| d.location.map(|l| l.line))
        .collect();
    if wanted.is_empty() {
        return;
    }
    wanted.sort_unstable();
    wanted.dedup();
    let mut found: std::collections::HashMap<usize, &str> = std::collections::HashMap::new();
    let mut next = wanted.iter().copied().filter(|&l| l > 0).peekable();
    for (i, line) in text.lines().enumerate() {
        let Some(&want) = next.peek() else { break };
        if i + 1 == want {
            found.insert(want, line);
            next.next();
        }
    }
    attach_source_lines(diags, file, |n| found.get(&n).copied());
}

/// [`attach_source`] for a text whose lines are indexed: `line(n)` is line
/// `n` (from 1), if the text has it. No pass over the text.
pub fn attach_source_lines<'t>(
    diags: &mut [Diagnostic],
    file: &Path,
    line: impl Fn(usize) -> Option<&'t str>,
) {
    for d in diags {
        if d.source_line().is_none() && d.file.as_deref() == Some(file) {
            if let Some(loc) = d.location {
                d.source.get_or_insert_default().line = line(loc.line).map(str::to_string);
            }
        }
    }
}

/// A diagnostic as every `--format json` output writes it: `{"severity",
/// "message", "file", "line", "column", "help"}`, unknown fields null.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
pub struct DiagnosticJson {
    /// `error` or `warning`.
    pub severity: &'static str,
    /// What is wrong, in one line.
    pub message: String,
    /// The file concerned, as given (relative paths stay relative).
    pub file: Option<String>,
    /// Its line, from 1.
    pub line: Option<usize>,
    /// Its column, from 1, in characters (not bytes).
    pub column: Option<usize>,
    /// How to fix it.
    pub help: Option<String>,
}

/// What a command given `--format json` writes on stdout when it fails
/// (as `Error::to_json` makes it).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
pub struct ErrorsJson {
    /// Every problem found, in the order found; the last one of a run that
    /// failed part way says what was done all the same.
    pub errors: Vec<DiagnosticJson>,
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
        serde_json::to_value(ErrorsJson {
            errors: self.json_diagnostics(),
        })
        .expect("plain data always serializes")
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
            other @ Error::Internal(_) => vec![DiagnosticJson::plain(other.to_string())],
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
            other @ Error::Internal(_) => other.to_string(),
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
            other @ Error::Internal(_) => vec![Diagnostic::error(other.to_string())],
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

/// Splits collected diagnostics: errors become `Err`, warnings are returned.
pub fn into_result(diags: Vec<Diagnostic>) -> Result<Vec<Diagnostic>, Error> {
    if diags.iter().any(Diagnostic::is_error) {
        Err(Error::Input(diags))
    } else {
        Ok(diags)
    }
}
