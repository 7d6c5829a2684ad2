//! Where a command's output goes (cargo's `Shell`, uv's `Printer`): data on
//! stdout, messages on stderr, as the terminal allows ([`Ui`]). The library
//! never prints: a command writes only through the [`Shell`] it is given,
//! and every failed write becomes the same [`Error::Io`] (naming `stdout`
//! or `stderr`), which the binary maps to its exit status (a broken pipe on
//! stdout is a success).

use std::io::Write;
use std::path::Path;

use crate::diagnostic::{Diagnostic, Error};
use crate::ExitStatus;

/// How the messages on stderr may use the terminal. The binary decides it
/// (from `--color`, `NO_COLOR` and whether stderr is a terminal); the
/// library only follows it, so it never looks at the environment itself.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Ui {
    /// Colour diagnostics (ANSI escapes).
    pub colour: bool,
    /// stderr is a terminal: long runs may show a progress line there.
    pub progress: bool,
    /// stdout goes nowhere: it is /dev/null, or it was closed (Rust opens
    /// /dev/null in place of a closed descriptor). A command whose output
    /// must be delivered before it records anything (`emergency`) refuses.
    pub stdout_discarded: bool,
}

/// A command's stdout and stderr, and how to use the terminal.
pub(crate) struct Shell<'a> {
    ui: Ui,
    out: &'a mut dyn Write,
    err: &'a mut dyn Write,
}

impl<'a> Shell<'a> {
    pub(crate) fn new(ui: Ui, out: &'a mut dyn Write, err: &'a mut dyn Write) -> Self {
        Shell { ui, out, err }
    }

    /// How the terminal may be used.
    pub(crate) fn ui(&self) -> Ui {
        self.ui
    }

    /// `text` on stdout.
    pub(crate) fn out_str(&mut self, text: &str) -> Result<(), Error> {
        self.out_with(|out| out.write_all(text.as_bytes()))
    }

    /// `value` on stdout as pretty JSON, and a newline.
    pub(crate) fn out_json<T: serde::Serialize>(&mut self, value: &T) -> Result<(), Error> {
        self.out_str(&json_line(value))
    }

    /// Whatever `write` writes to stdout (a rendering streamed, generated
    /// bytes), its failure an error about stdout.
    pub(crate) fn out_with(
        &mut self,
        write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
    ) -> Result<(), Error> {
        write(self.out).map_err(|e| Error::io("cannot write to", Path::new("stdout"), e))
    }

    /// stdout itself, for a command that reports a failed write its own way
    /// (`emergency`: nothing was recorded).
    pub(crate) fn out(&mut self) -> &mut dyn Write {
        self.out
    }

    /// `text` on stderr, as it is.
    pub(crate) fn err_str(&mut self, text: &str) -> Result<(), Error> {
        self.err
            .write_all(text.as_bytes())
            .map_err(|e| Error::io("cannot write to", Path::new("stderr"), e))
    }

    /// One line on stderr: what a command did (`wrote FILE`, `committed: …`).
    pub(crate) fn status(&mut self, line: &str) -> Result<(), Error> {
        writeln!(self.err, "{line}")
            .map_err(|e| Error::io("cannot write to", Path::new("stderr"), e))
    }

    /// Diagnostics that do not end the command (warnings, or the error
    /// beside a `--check` diff) on stderr, each rendered in colour when the
    /// terminal allows.
    pub(crate) fn diagnostics(&mut self, diagnostics: &[Diagnostic]) -> Result<(), Error> {
        for d in diagnostics {
            self.status(&d.render(self.ui.colour))?;
        }
        Ok(())
    }

    /// stderr itself, for a [`Progress`] line (a courtesy whose failed
    /// writes are ignored).
    pub(crate) fn err(&mut self) -> &mut dyn Write {
        self.err
    }

    /// With `--format json` (`json`), a failed command also writes its
    /// errors to stdout as JSON ([`Error::to_json`]); the error is returned
    /// all the same (the text on stderr and the exit code do not change).
    pub(crate) fn json_errors(
        &mut self,
        json: bool,
        result: Result<ExitStatus, Error>,
    ) -> Result<ExitStatus, Error> {
        if let (Err(e), true) = (&result, json) {
            // Stdout failing too must not hide the error itself (stderr has it).
            let _ = self.out_json(&e.to_json());
        }
        result
    }
}

/// `value` as pretty JSON and a newline.
pub(crate) fn json_line<T: serde::Serialize>(value: &T) -> String {
    let mut s = serde_json::to_string_pretty(value).expect("plain data always serializes");
    s.push('\n');
    s
}

/// The progress line of a long run on a terminal: `analyzing 12/40: api`,
/// drawn over itself (at most every [`Progress::EVERY`]) and cleared at the
/// end. Does nothing unless enabled: never when stderr is not a terminal,
/// so logs and pipes see no control characters.
pub(crate) struct Progress {
    enabled: bool,
    total: usize,
    last: Option<std::time::Instant>,
    shown: bool,
}

impl Progress {
    /// How often the line is redrawn at most.
    const EVERY: std::time::Duration = std::time::Duration::from_millis(100);

    pub(crate) fn new(enabled: bool, total: usize) -> Self {
        Progress {
            enabled,
            total,
            last: None,
            shown: false,
        }
    }

    /// Item `n` (1-based) of the total, `name`, is being worked on.
    /// Progress is a courtesy: a failed write to stderr does not stop the run.
    pub(crate) fn step(&mut self, n: usize, name: &str, err: &mut dyn Write) {
        if !self.enabled || self.last.is_some_and(|t| t.elapsed() < Self::EVERY) {
            return;
        }
        // A name comes from images.yaml: no control characters reach the terminal.
        let name: String = name.chars().filter(|c| !c.is_control()).take(60).collect();
        let _ = write!(err, "\r\x1b[2K analyzing {n}/{}: {name}", self.total);
        let _ = err.flush();
        self.last = Some(std::time::Instant::now());
        self.shown = true;
    }

    /// Clears the line, if one is shown (before other output, and at the end).
    pub(crate) fn clear(&mut self, err: &mut dyn Write) {
        if self.shown {
            let _ = write!(err, "\r\x1b[2K");
            let _ = err.flush();
            self.shown = false;
            self.last = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Progress, Shell, Ui};
    use crate::diagnostic::{Diagnostic, Error};
    use crate::ExitStatus;

    #[test]
    fn data_goes_to_stdout_and_messages_to_stderr() {
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let mut shell = Shell::new(Ui::default(), &mut out, &mut err);
        shell.out_str("data\n").unwrap();
        shell.out_json(&["a"]).unwrap();
        shell.status("wrote x").unwrap();
        shell
            .diagnostics(&[Diagnostic::warning("careful")])
            .unwrap();
        let e = Error::input(Diagnostic::error("bad"));
        assert!(shell.json_errors(false, Err(e)).is_err());
        assert_eq!(String::from_utf8(out).unwrap(), "data\n[\n  \"a\"\n]\n");
        assert_eq!(
            String::from_utf8(err).unwrap(),
            "wrote x\nwarning: careful\n"
        );
    }

    #[test]
    fn json_errors_are_written_to_stdout_too() {
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let mut shell = Shell::new(Ui::default(), &mut out, &mut err);
        let e = Error::input(Diagnostic::error("bad"));
        assert!(shell.json_errors(true, Err(e)).is_err());
        assert_eq!(
            shell.json_errors(true, Ok(ExitStatus::Success)).unwrap(),
            ExitStatus::Success
        );
        let json: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(json["errors"][0]["message"], "bad");
        assert!(err.is_empty());
    }

    #[test]
    fn a_failed_write_names_the_stream() {
        struct Closed;
        impl std::io::Write for Closed {
            fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
                Err(std::io::ErrorKind::BrokenPipe.into())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let (mut out, mut err) = (Closed, Closed);
        let mut shell = Shell::new(Ui::default(), &mut out, &mut err);
        for (e, stream) in [
            (shell.out_str("x").unwrap_err(), "stdout"),
            (shell.status("x").unwrap_err(), "stderr"),
        ] {
            match e {
                Error::Io { path, source, .. } => {
                    assert_eq!(path, std::path::Path::new(stream));
                    assert_eq!(source.kind(), std::io::ErrorKind::BrokenPipe);
                }
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn progress_draws_on_a_terminal_and_clears_at_the_end() {
        let mut err = Vec::new();
        let mut p = Progress::new(true, 3);
        p.step(1, "api", &mut err);
        // Within the throttle interval: not redrawn.
        p.step(2, "web", &mut err);
        p.clear(&mut err);
        let text = String::from_utf8(err).unwrap();
        assert_eq!(text, "\r\x1b[2K analyzing 1/3: api\r\x1b[2K");
        assert!(text.ends_with("\r\x1b[2K"));

        // After a clear, the next step is drawn at once.
        let mut err = Vec::new();
        let mut p = Progress::new(true, 3);
        p.step(1, "a", &mut err);
        p.clear(&mut err);
        p.step(3, "c\x1b]0;x", &mut err);
        p.clear(&mut err);
        let text = String::from_utf8(err).unwrap();
        assert!(text.contains("3/3: c]0;x"), "{text:?}");
    }

    #[test]
    fn progress_is_silent_when_disabled() {
        let mut err = Vec::new();
        let mut p = Progress::new(false, 3);
        p.step(1, "api", &mut err);
        p.clear(&mut err);
        assert!(err.is_empty());
    }
}
