//! [`Locator`]: where a key or value is in a YAML text.

use crate::diagnostic::Location;

/// Finds where things are in a YAML source after it has been parsed, for
/// errors found later (validation, merge). This is a line-based search, so it
/// is a best effort: when it finds nothing the error simply has no position.
pub struct Locator<'a> {
    text: &'a str,
    index: std::borrow::Cow<'a, LineIndex>,
}

/// Where the lines and the top-level list items of a text are: what a
/// [`Locator`] searches. Made once per text (for images.yaml, while it is
/// read) and kept, since at 10,000 images it takes milliseconds to make.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LineIndex {
    /// Where each line starts in `text` (as `str::lines` splits it): four
    /// bytes a line, where the lines themselves would take sixteen — an
    /// images.yaml of 10,000 entries has a quarter of a million.
    starts: Vec<u32>,
    /// First line (0-based) of each top-level list item.
    items: Vec<usize>,
}

/// Line `i` of `text` whose lines start at `starts`, as `str::lines` gives it.
fn line_at<'a>(text: &'a str, starts: &[u32], i: usize) -> &'a str {
    let start = starts[i] as usize;
    let end = starts.get(i + 1).map_or(text.len(), |&e| e as usize);
    let line = &text[start..end];
    match line.strip_suffix('\n') {
        Some(line) => line.strip_suffix('\r').unwrap_or(line),
        None => line,
    }
}

impl LineIndex {
    /// The index of `text`.
    pub fn new(text: &str) -> Self {
        // A text of 4 GiB or more is not searched (positions are a best effort).
        let starts: Vec<u32> = match u32::try_from(text.len()) {
            Ok(_) => std::iter::once(0)
                .chain(text.match_indices('\n').map(|(i, _)| i + 1))
                .filter(|&i| i < text.len())
                // Below text.len(), which fits in a u32 (checked above).
                .filter_map(|i| u32::try_from(i).ok())
                .collect(),
            Err(_) => Vec::new(),
        };
        let lines = || (0..starts.len()).map(|i| line_at(text, &starts, i));
        let item_indent = lines()
            .filter_map(|l| {
                let t = l.trim_start();
                (t.starts_with("- ") || *t == *"-").then(|| l.len() - t.len())
            })
            .min();
        let items = match item_indent {
            Some(ind) => lines()
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
        LineIndex { starts, items }
    }
}

impl<'a> Locator<'a> {
    pub fn new(text: &'a str) -> Self {
        Locator {
            text,
            index: std::borrow::Cow::Owned(LineIndex::new(text)),
        }
    }

    /// A locator of `text` with its index made before.
    pub fn with_index(text: &'a str, index: &'a LineIndex) -> Self {
        Locator {
            text,
            index: std::borrow::Cow::Borrowed(index),
        }
    }

    /// Line `number` (from 1), without its line break.
    pub fn source_line(&self, number: usize) -> Option<&'a str> {
        let i = number.checked_sub(1)?;
        (i < self.line_count()).then(|| self.line(i))
    }

    /// Line `i` (from 0), without its line break.
    fn line(&self, i: usize) -> &'a str {
        line_at(self.text, &self.index.starts, i)
    }

    /// How many lines the text has.
    fn line_count(&self) -> usize {
        self.index.starts.len()
    }

    /// Lines `range`, each with its index.
    fn lines_in(
        &self,
        range: std::ops::Range<usize>,
    ) -> impl Iterator<Item = (usize, &'a str)> + '_ {
        range.map(move |i| (i, self.line(i)))
    }

    /// The start of list item `index`.
    pub fn item(&self, index: usize) -> Option<Location> {
        let line = *self.index.items.get(index)?;
        let col = self.line(line).find('-').unwrap_or(0);
        Some(Location {
            line: line + 1,
            column: col + 1,
        })
    }

    /// The position of `key:` inside list item `index` (the first match at
    /// any depth), or of the item itself when the key is not found.
    pub fn key(&self, index: usize, key: &str) -> Option<Location> {
        let start = *self.index.items.get(index)?;
        let end = self
            .index
            .items
            .get(index + 1)
            .copied()
            .unwrap_or(self.line_count());
        for (i, line) in self.lines_in(start..end) {
            let t = line.trim_start().trim_start_matches("- ").trim_start();
            if let Some(rest) = t.strip_prefix(key) {
                if rest.trim_start().starts_with(':') {
                    let col = line.len() - t.len();
                    return Some(Location {
                        line: i + 1,
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
        let start = *self.index.items.get(index)?;
        let end = self
            .index
            .items
            .get(index + 1)
            .copied()
            .unwrap_or(self.line_count());
        let indent = |l: &str| l.len() - l.trim_start().len();
        let head = (start..end).find(|&i| {
            let t = self
                .line(i)
                .trim_start()
                .trim_start_matches("- ")
                .trim_start();
            t.strip_prefix(list)
                .is_some_and(|r| r.trim_start().starts_with(':'))
        })?;
        let base = indent(self.line(head));
        let mut entries = Vec::new();
        let mut dash = None;
        let mut stop = end;
        for i in head + 1..end {
            let l = self.line(i);
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
            let line = self.line(i);
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
                if let Some(col) = self.line(i).find(&pat) {
                    return Some(Location {
                        line: i + 1,
                        column: col + 2,
                    });
                }
            }
        }
        Some(Location {
            line: first + 1,
            column: indent(self.line(first)) + 1,
        })
    }

    /// The `key:` a dotted path names in a mapping document
    /// (`analysis.image`: `image:` in the block under `analysis:`), or the
    /// deepest part of it found (a flow mapping is not looked into).
    pub fn path_key(&self, path: &str) -> Option<Location> {
        let parts: Vec<&str> = path.split('.').collect();
        self.walk(&parts, false).map(|(at, _)| at)
    }

    /// The `key:` that `parts` name, each in the mapping under the one
    /// before, for keys that hold dots (a registry host:
    /// `["discovery", "registries", "docker.io", "pollsPerHour"]`), in
    /// block or flow style; `None` unless every part is found.
    pub fn keys(&self, parts: &[&str]) -> Option<Location> {
        self.walk(parts, true)
            .filter(|(_, found)| *found == parts.len())
            .map(|(at, _)| at)
    }

    /// The deepest of `parts` found, and how many were: each key plain or
    /// quoted, in a block under the one before or, with `flow`, in a flow
    /// mapping on its line (`docker.io: {pollsPerHour: 5}`).
    fn walk(&self, parts: &[&str], flow: bool) -> Option<(Location, usize)> {
        let (first, rest) = parts.split_first()?;
        let mut at = self.top_key(first)?;
        let mut found = 1;
        let mut indent = 0;
        for part in rest {
            let mut block = None;
            for (i, l) in self.lines_in(at.line.min(self.line_count())..self.line_count()) {
                let t = l.trim_start();
                if t.is_empty() || t.starts_with('#') {
                    continue;
                }
                let ind = l.len() - t.len();
                if ind <= indent {
                    break;
                }
                if starts_with_key(t, part) {
                    block = Some((i, ind));
                    break;
                }
            }
            if let Some((i, ind)) = block {
                at = Location {
                    line: i + 1,
                    column: ind + 1,
                };
                indent = ind;
            } else if let Some(col) = flow
                .then(|| flow_key(self.line(at.line - 1), at.column - 1, part))
                .flatten()
            {
                at.column = col + 1;
            } else {
                break;
            }
            found += 1;
        }
        Some((at, found))
    }

    /// Where `value` is first written at or after the key a dotted path
    /// names (an entry of a list under it, flow or block style); the key
    /// itself when the value is not found.
    pub fn value_under(&self, path: &str, value: &str) -> Option<Location> {
        let at = self.path_key(path)?;
        if value.is_empty() {
            return Some(at);
        }
        for (i, l) in self.lines_in((at.line - 1).min(self.line_count())..self.line_count()) {
            if i >= at.line && !l.starts_with([' ', '-', '#']) && !l.trim().is_empty() {
                break;
            }
            if let Some(col) = l.find(value) {
                return Some(Location {
                    line: i + 1,
                    column: col + 1,
                });
            }
        }
        Some(at)
    }

    /// The first top-level `key:` of a mapping document.
    pub fn top_key(&self, key: &str) -> Option<Location> {
        self.lines_in(0..self.line_count()).find_map(|(i, line)| {
            line.strip_prefix(key)
                .filter(|rest| rest.trim_start().starts_with(':'))
                .map(|_| Location {
                    line: i + 1,
                    column: 1,
                })
        })
    }
}

/// Whether `t` starts with `key:` (`key` plain, or in single or double quotes).
fn starts_with_key(t: &str, key: &str) -> bool {
    ["", "'", "\""].iter().any(|q| {
        t.strip_prefix(q)
            .and_then(|r| r.strip_prefix(key))
            .and_then(|r| r.strip_prefix(q))
            .is_some_and(|r| r.trim_start().starts_with(':'))
    })
}

/// Where `key:` starts in a flow mapping of `line` after byte `from` (after
/// a `{` or a `,`).
fn flow_key(line: &str, from: usize, key: &str) -> Option<usize> {
    line.char_indices()
        .map(|(i, _)| i)
        .filter(|i| *i > from)
        .find(|&i| {
            let before = line[..i].trim_end();
            (before.ends_with('{') || before.ends_with(','))
                && !line[i..].starts_with(' ')
                && starts_with_key(&line[i..], key)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(line: usize, column: usize) -> Location {
        Location { line, column }
    }

    #[test]
    fn keys_with_dots_in_block_and_flow_style() {
        let text = "kargo:\n  shards: [a, b]\ndiscovery:\n  registries:\n    docker.io: {pollsPerHour: 5}\n    'ghcr.io':\n      pollsPerHour: 3\n    quay.io: {other: 1, pollsPerHour: 2}\n";
        let loc = Locator::new(text);
        let budget = |host| loc.keys(&["discovery", "registries", host, "pollsPerHour"]);
        assert_eq!(budget("docker.io"), Some(at(5, 17)));
        assert_eq!(budget("ghcr.io"), Some(at(7, 7)));
        assert_eq!(budget("quay.io"), Some(at(8, 25)));
        assert_eq!(budget("index.docker.io"), None);
        assert_eq!(loc.path_key("kargo.shards"), Some(at(2, 3)));
        // path_key stops at the deepest part found, and at a flow mapping.
        assert_eq!(loc.path_key("discovery.registries.nothing"), Some(at(4, 3)));
        assert_eq!(loc.path_key("discovery.registries.quay.io"), Some(at(4, 3)));
        let flow = Locator::new("flux:\n  author: {name: bot, email: x}\n");
        assert_eq!(flow.path_key("flux.author.email"), Some(at(2, 3)));
        assert_eq!(flow.keys(&["flux", "author", "email"]), Some(at(2, 23)));
        assert_eq!(loc.keys(&["discovery", "registries"]), Some(at(4, 3)));
    }
}
