//! `imgf man`: the man pages, from the clap definitions (`clap_mangen`) plus
//! the EXIT STATUS and ENVIRONMENT sections of [`super::reference`].
//! Without `--out-dir` it prints `imgf.1`; with it, it writes `imgf.1` and
//! one page per subcommand, nested ones too (`imgf-updates-check.1`).

use std::fmt::Write as _;
use std::path::Path;

use roff::{bold, roman, Roff};

use super::reference::{self, pages};
use crate::cli::ManArgs;
use crate::diagnostic::Error;
use crate::ExitStatus;

pub(crate) fn run(
    args: &ManArgs,
    shell: &mut crate::shell::Shell<'_>,
) -> Result<ExitStatus, Error> {
    let cmd = reference::command();
    match &args.out_dir {
        None => {
            let (path, top) = pages(&cmd).swap_remove(0);
            shell.out_str(&page(&path, top))?;
        }
        Some(dir) => {
            let written = write_pages(&cmd, dir)?;
            shell.status(&format!("wrote {written} man pages to {}", dir.display()))?;
        }
    }
    Ok(ExitStatus::Success)
}

/// Writes every page into `dir` (created if missing); returns how many.
fn write_pages(cmd: &clap::Command, dir: &Path) -> Result<usize, Error> {
    let pages = pages(cmd);
    for (path, c) in &pages {
        crate::fs::write_atomic(&dir.join(file_name(path)), page(path, c).as_bytes())?;
    }
    Ok(pages.len())
}

/// `imgf.1`, `imgf-updates-check.1`.
pub(crate) fn file_name(path: &[String]) -> String {
    format!("{}.1", page_name(path))
}

/// `imgf`, `imgf-updates-check`: the page's name, as in `imgf-updates-check(1)`.
fn page_name(path: &[String]) -> String {
    std::iter::once("imgf")
        .chain(path.iter().map(String::as_str))
        .collect::<Vec<_>>()
        .join("-")
}

/// The roff of the page of the command at `path`.
fn page(path: &[String], cmd: &clap::Command) -> String {
    let man = clap_mangen::Man::new(cmd.clone())
        .source(format!("imgf {}", env!("CARGO_PKG_VERSION")))
        .manual("imgf manual");
    // Each clap_mangen part starts with the same preamble (it defines the
    // \*(Aq string): kept once, at the top.
    let preamble = Roff::new().render();
    let mut text = preamble.clone();
    let mut part = |render: &dyn Fn(&mut Vec<u8>) -> std::io::Result<()>| {
        let mut buf = Vec::new();
        render(&mut buf).expect("rendering into a Vec cannot fail");
        let s = String::from_utf8(buf).expect("clap_mangen writes UTF-8");
        text.push_str(s.strip_prefix(&preamble).unwrap_or(&s));
    };
    part(&|b| man.render_title(b));
    part(&|b| man.render_name_section(b));
    part(&|b| man.render_synopsis_section(b));
    part(&|b| man.render_description_section(b));
    if cmd.get_arguments().any(|a| !a.is_hide_set()) {
        part(&|b| man.render_options_section(b));
    }
    if cmd.get_subcommands().any(|s| !s.is_hide_set()) {
        part(&|b| man.render_subcommands_section(b));
    }
    let own = own_sections(path);
    part(&|b| own.to_writer(b));
    if cmd.get_version().is_some() {
        part(&|b| man.render_version_section(b));
    }
    ascii(&code_spans(&text))
}

/// `text` with each Markdown code span of the help texts (`` `auto` ``, a
/// pair of backticks on one line) set in bold (`\fBauto\fR`), as man pages
/// show literal text; a lone backtick stays as it is.
fn code_spans(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for (i, line) in text.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let mut rest = line;
        while let Some(open) = rest.find('`') {
            let Some(len) = rest[open + 1..].find('`') else {
                break;
            };
            out.push_str(&rest[..open]);
            out.push_str("\\fB");
            out.push_str(&rest[open + 1..open + 1 + len]);
            out.push_str("\\fR");
            rest = &rest[open + 2 + len..];
        }
        out.push_str(rest);
    }
    out
}

/// `text` with every character outside ASCII as a groff escape (`…` is
/// `\[u2026]`): troff reads its input as Latin-1 unless told otherwise
/// (`man` runs preconv, plain `groff` does not), so UTF-8 in a help text
/// would be garbage and a warning.
fn ascii(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_ascii() {
            out.push(c);
        } else {
            let _ = write!(out, "\\[u{:04X}]", u32::from(c));
        }
    }
    out
}

/// EXIT STATUS, ENVIRONMENT and SEE ALSO for the command at `path`.
fn own_sections(path: &[String]) -> Roff {
    let key = path.join(" ");
    let mut r = Roff::new();
    r.control("SH", ["EXIT STATUS"]);
    for row in reference::exit_codes(&key) {
        r.control("TP", []);
        r.text([bold(row.code.to_string())]);
        r.text([roman(row.meaning)]);
    }
    r.control("SH", ["ENVIRONMENT"]);
    for row in reference::environment(&key) {
        r.control("TP", []);
        r.text([bold(row.name)]);
        r.text([roman(row.meaning)]);
    }
    r.control("SH", ["SEE ALSO"]);
    let mut see: Vec<String> = Vec::new();
    for end in 0..path.len() {
        see.push(format!("{}(1)", page_name(&path[..end])));
    }
    if path.is_empty() {
        see.push("imgf-completions(1)".into());
    }
    see.push("the imgf user guide (docs/ in the imgf repository)".into());
    r.text([roman(see.join(", "))]);
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn characters_outside_ascii_are_escaped() {
        assert_eq!(ascii("a \u{2026} b \u{1F600}"), "a \\[u2026] b \\[u1F600]");
    }

    #[test]
    fn code_spans_are_bold_and_a_lone_backtick_stays() {
        assert_eq!(
            code_spans("one of `auto`, `always`\n`a` and ` alone"),
            "one of \\fBauto\\fR, \\fBalways\\fR\n\\fBa\\fR and ` alone"
        );
        let cmd = reference::command();
        let (path, top) = pages(&cmd).swap_remove(0);
        let text = page(&path, top);
        assert!(!text.contains("`auto`"), "{text}");
        assert!(text.contains("\\fBauto\\fR"), "{text}");
    }

    #[test]
    fn names_follow_the_command_path() {
        assert_eq!(file_name(&[]), "imgf.1");
        assert_eq!(
            file_name(&["updates".into(), "check".into()]),
            "imgf-updates-check.1"
        );
    }

    #[test]
    fn a_page_has_its_sections_once_and_one_preamble() {
        let cmd = reference::command();
        let pages = pages(&cmd);
        let (path, c) = pages
            .iter()
            .find(|(p, _)| p == &["updates".to_string(), "check".to_string()])
            .unwrap();
        let text = page(path, c);
        for sh in [
            ".SH NAME",
            ".SH SYNOPSIS",
            ".SH OPTIONS",
            ".SH \"EXIT STATUS\"",
            ".SH ENVIRONMENT",
            ".SH \"SEE ALSO\"",
        ] {
            assert_eq!(text.matches(sh).count(), 1, "{sh} in:\n{text}");
        }
        assert_eq!(
            text.matches(".ds Aq").count(),
            Roff::new().render().matches(".ds Aq").count()
        );
        assert!(text.contains("GITHUB_TOKEN"), "{text}");
        assert!(text.contains("imgf\\-updates(1)"), "{text}");
    }
}
