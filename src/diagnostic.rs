//! Diagnostics: what went wrong, where, and how to fix it.
//!
//! Every user-facing problem — an error that stops the run or a warning that
//! does not — is a [`Diagnostic`]. Loading and validation collect as many as
//! they can before giving up, so one run shows every mistake in images.yaml,
//! not just the first. The pure pipeline steps (merge, graph, resources) return
//! warnings as data; only the command layer prints them, to stderr.

use std::fmt;
use std::path::{Path, PathBuf};

/// A 1-based line and column in a file.
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
}

impl Diagnostic {
    pub fn error(message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Error,
            message: message.into(),
            file: None,
            location: None,
            help: None,
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

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let label = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(f, "{label}: {}", self.message)?;
        if let Some(file) = &self.file {
            write!(f, "\n  --> {}", file.display())?;
            if let Some(loc) = self.location {
                write!(f, ":{}:{}", loc.line, loc.column)?;
            }
        }
        if let Some(help) = &self.help {
            write!(f, "\n  help: {help}")?;
        }
        Ok(())
    }
}

/// Why a command failed. Every variant maps to exit status 2 except
/// [`Error::Internal`] (3): a bug in imgf, not in the input.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The input is wrong; each diagnostic says where and how to fix it.
    #[error("{}", render_all(.0))]
    Input(Vec<Diagnostic>),
    /// Some work failed after other work was done: the diagnostics, then a
    /// summary of what was written all the same.
    #[error("{}\nerror: {summary}", render_each(.diagnostics))]
    Partial {
        diagnostics: Vec<Diagnostic>,
        summary: String,
    },
    /// A file could not be read or written.
    #[error("{action} {}: {source}", path.display())]
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
        let diag = |d: &Diagnostic| {
            serde_json::json!({
                "severity": if d.is_error() { "error" } else { "warning" },
                "message": d.message,
                "file": d.file.as_ref().map(|f| f.display().to_string()),
                "line": d.location.map(|l| l.line),
                "column": d.location.map(|l| l.column),
                "help": d.help,
            })
        };
        let plain = |m: String| {
            serde_json::json!({
                "severity": "error", "message": m, "file": null, "line": null, "column": null, "help": null,
            })
        };
        let errors: Vec<serde_json::Value> = match self {
            Error::Input(ds) => ds.iter().map(diag).collect(),
            Error::Partial {
                diagnostics,
                summary,
            } => diagnostics
                .iter()
                .map(diag)
                .chain(std::iter::once(plain(summary.clone())))
                .collect(),
            other => vec![plain(other.to_string())],
        };
        serde_json::json!({ "errors": errors })
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

fn render_each(diags: &[Diagnostic]) -> String {
    let mut out = String::new();
    for (i, d) in diags.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        out.push_str(&d.to_string());
    }
    out
}

fn render_all(diags: &[Diagnostic]) -> String {
    let mut out = render_each(diags);
    let errors = diags.iter().filter(|d| d.is_error()).count();
    if errors > 1 {
        out.push_str(&format!(
            "\nerror: {errors} problems found; nothing was written"
        ));
    }
    out
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
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            d[i][j] = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d[i][j] = d[i][j].min(d[i - 2][j - 2] + 1);
            }
        }
    }
    d[a.len()][b.len()]
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
