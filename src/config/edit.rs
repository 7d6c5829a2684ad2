//! Editing images.yaml as text, for `imgf enroll` / `imgf unenroll`: every
//! byte outside the entry added, replaced or removed stays as it was —
//! comments, blank lines, quoting, key order. Pure: no I/O.
//!
//! An entry's *span* is its leading comment block (the comment lines right
//! above its `- `, with no blank line between), its own lines, and the blank
//! lines after it. Removing an entry removes its span; replacing one keeps its
//! leading comments; adding one appends it after a blank line, at the list's
//! indentation. The caller re-parses the result and checks it holds exactly
//! the expected entries, so a file this line-based view misreads is refused
//! rather than damaged.

use crate::config::parse::Locator;

/// The top-level list items of `text`: (indent of `- `, first line of each
/// item, 0-based). `None` when there are none.
fn items(text: &str) -> (usize, Vec<usize>) {
    let loc = Locator::new(text);
    let mut starts = Vec::new();
    let mut indent = 0;
    while let Some(l) = loc.item(starts.len()) {
        indent = l.column - 1;
        starts.push(l.line - 1);
    }
    (indent, starts)
}

fn is_comment(line: &str) -> bool {
    line.trim_start().starts_with('#')
}

fn is_blank(line: &str) -> bool {
    line.trim().is_empty()
}

/// Lines of `text`, each with its line ending.
fn lines(text: &str) -> Vec<&str> {
    text.split_inclusive('\n').collect()
}

/// (start, body end, span end) of item `i`, as line indices: `start` takes in
/// the leading comments, `body end` excludes trailing blank lines and
/// top-level comments, `span end` is the next item's start (or the file's end
/// without trailing top-level comments).
fn span(lines: &[&str], indent: usize, starts: &[usize], i: usize) -> (usize, usize, usize) {
    let lead = |first: usize, floor: usize| {
        let mut s = first;
        while s > floor && is_comment(lines[s - 1]) {
            s -= 1;
        }
        s
    };
    let floor = if i == 0 { 0 } else { starts[i - 1] + 1 };
    let start = lead(starts[i], floor);
    let next = match starts.get(i + 1) {
        Some(&n) => lead(n, starts[i] + 1),
        None => lines.len(),
    };
    let top_level_comment = |l: &str| is_comment(l) && l.len() - l.trim_start().len() <= indent;
    let mut body_end = next;
    while body_end > starts[i] + 1
        && (is_blank(lines[body_end - 1]) || top_level_comment(lines[body_end - 1]))
    {
        body_end -= 1;
    }
    let span_end = if starts.get(i + 1).is_some() {
        next
    } else {
        body_end
    };
    (start, body_end, span_end)
}

/// `entry` (a YAML mapping, or a one-item list) as a list item at `indent`,
/// ending in a newline.
pub fn as_item(entry: &str, indent: usize) -> String {
    let pad = " ".repeat(indent);
    let is_list = entry
        .lines()
        .find(|l| !is_blank(l) && !is_comment(l))
        .is_some_and(|l| l.trim_start().starts_with("- ") || l.trim() == "-");
    let mut out = String::new();
    let mut first = true;
    for line in entry.lines() {
        if is_blank(line) {
            out.push('\n');
            continue;
        }
        let body = if is_list || is_comment(line) && first {
            line.to_string()
        } else if first {
            first = false;
            format!("- {line}")
        } else {
            format!("  {line}")
        };
        if !is_comment(line) {
            first = false;
        }
        out.push_str(&pad);
        out.push_str(&body);
        out.push('\n');
    }
    while out.ends_with("\n\n") {
        out.pop();
    }
    out
}

/// `text` with `entry` appended as a new last item.
pub fn append(text: &str, entry: &str) -> String {
    let (indent, _) = items(text);
    let mut out = text.to_string();
    if !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
    if !out.trim().is_empty() && !out.ends_with("\n\n") {
        out.push('\n');
    }
    out.push_str(&as_item(entry, indent));
    out
}

/// `text` with item `i` replaced by `entry` (its leading comments kept).
pub fn replace(text: &str, i: usize, entry: &str) -> Option<String> {
    let (indent, starts) = items(text);
    let ls = lines(text);
    starts.get(i)?;
    let (_, body_end, _) = span(&ls, indent, &starts, i);
    let mut out: String = ls[..starts[i]].concat();
    out.push_str(&as_item(entry, indent));
    out.push_str(&ls[body_end..].concat());
    Some(out)
}

/// `text` without item `i` (nor its leading comments and trailing blanks).
pub fn remove(text: &str, i: usize) -> Option<String> {
    let (indent, starts) = items(text);
    let ls = lines(text);
    starts.get(i)?;
    let (start, _, end) = span(&ls, indent, &starts, i);
    let mut start = start;
    // The last item: drop the blank line that separated it from the one before.
    if i + 1 == starts.len() && i > 0 {
        while start > 0 && is_blank(ls[start - 1]) {
            start -= 1;
        }
    }
    Some([&ls[..start], &ls[end..]].concat().concat())
}

/// How many top-level items the line-based view sees.
pub fn count(text: &str) -> usize {
    items(text).1.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "\
# Header.

# The first.
- name: a   # trailing
  registry: r

# The second.
# Two lines.
- name: b
  # inside
  registry: r

- name: c
  registry: r
# trailing comment
";

    #[test]
    fn remove_keeps_everything_else() {
        assert_eq!(
            remove(FILE, 1).unwrap(),
            "# Header.\n\n# The first.\n- name: a   # trailing\n  registry: r\n\n- name: c\n  registry: r\n# trailing comment\n"
        );
        assert_eq!(
            remove(FILE, 2).unwrap(),
            "# Header.\n\n# The first.\n- name: a   # trailing\n  registry: r\n\n# The second.\n# Two lines.\n- name: b\n  # inside\n  registry: r\n# trailing comment\n"
        );
        assert_eq!(
            remove(FILE, 0).unwrap(),
            "# Header.\n\n# The second.\n# Two lines.\n- name: b\n  # inside\n  registry: r\n\n- name: c\n  registry: r\n# trailing comment\n"
        );
    }

    #[test]
    fn append_and_replace() {
        let added = append(FILE, "name: d\nregistry: r\n");
        assert_eq!(added, format!("{FILE}\n- name: d\n  registry: r\n"));
        let replaced = replace(FILE, 1, "name: b\nregistry: s\n").unwrap();
        assert_eq!(
            replaced,
            FILE.replace(
                "- name: b\n  # inside\n  registry: r\n",
                "- name: b\n  registry: s\n"
            )
        );
        let indented = "images:\n  - name: a\n    x: 1\n";
        assert_eq!(
            append(indented, "name: b\n"),
            "images:\n  - name: a\n    x: 1\n\n  - name: b\n"
        );
    }
}
