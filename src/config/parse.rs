//! The one door YAML comes in by.
//!
//! Every file imgf reads goes through [`parse`], so the YAML library is named
//! in exactly one input module (and one output module, `emit`). Parse errors
//! become [`Diagnostic`]s with the file, line and column, and an unknown key
//! gets a "did you mean" for its nearest known neighbour.

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
    let meta = std::fs::metadata(path).map_err(|e| Error::io("cannot read", path, e))?;
    if meta.len() > MAX_INPUT_BYTES {
        return Err(Error::input(
            Diagnostic::error(format!(
                "file is {} bytes, more than the {MAX_INPUT_BYTES} imgf accepts",
                meta.len()
            ))
            .in_file(path),
        ));
    }
    let bytes = std::fs::read(path).map_err(|e| Error::io("cannot read", path, e))?;
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

/// Parses `text` (the contents of `path`) as `T`.
pub fn parse<T: DeserializeOwned>(path: &Path, text: &str) -> Result<T, Diagnostic> {
    yaml_serde::from_str(text).map_err(|e| diagnose(path, &e))
}

/// Parses `text` as an untyped YAML value (to look at its shape first).
pub fn parse_value(path: &Path, text: &str) -> Result<Value, Diagnostic> {
    parse(path, text)
}

pub use yaml_serde::Value;

fn diagnose(path: &Path, err: &yaml_serde::Error) -> Diagnostic {
    static AT: OnceLock<Regex> = OnceLock::new();
    let at = AT.get_or_init(|| Regex::new(r" at line \d+ column \d+$").expect("valid regex"));
    let full = err.to_string();
    let message = humanize_path(&at.replace(&full, ""));
    let location = err.location().map(|l| Location {
        line: l.line(),
        column: l.column(),
    });
    let mut d = Diagnostic::error(message.clone())
        .in_file(path)
        .at(location);
    if let Some(help) = unknown_field_help(&message) {
        d = d.help(help);
    } else if message.contains("repetition limit exceeded") || message.contains("recursion limit") {
        d = d.help("the file expands YAML aliases without bound; write the values out instead of using anchors");
    }
    d
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
