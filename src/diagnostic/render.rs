//! Rendering a diagnostic for a person: the message, the position, the
//! source line with a caret, the help; in rustc's colours or none.

use std::fmt::Write as _;

use anstyle::{AnsiColor, Style};

use super::{Diagnostic, Severity};

impl Diagnostic {
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

pub(super) fn render_all(diags: &[Diagnostic], colour: bool) -> String {
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

pub(super) fn render_partial(diags: &[Diagnostic], summary: &str, colour: bool) -> String {
    format!(
        "{}\n{}",
        render_each(diags, colour),
        Diagnostic::error(summary).render(colour)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostic::{Error, Location};
    use std::path::Path;

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
