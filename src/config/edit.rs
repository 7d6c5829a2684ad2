//! Editing images.yaml as text, for `imgf enroll` / `imgf unenroll`: every
//! byte outside the entry added, replaced or removed stays as it was —
//! comments, blank lines, quoting, key order. Pure: no I/O.
//!
//! An entry's *span* is its leading comment block (the comment lines right
//! above its `- `, with no blank line between), its own lines, and the blank
//! lines after it — except that comments above the first entry belong to
//! the file (its header, such as the `yaml-language-server` `$schema` line)
//! unless a blank line sets them apart from the header. Removing an entry removes its span; removing the last one leaves
//! `[]`; replacing one keeps its leading comments; adding one appends it
//! after a blank line, at the list's indentation (in place of a `[]`).
//! [`set_fields`] changes single keys of one entry and nothing else. The
//! caller re-parses the result and checks it holds exactly the expected
//! entries, so a file this line-based view misreads is refused rather than
//! damaged.

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

fn ls_contain(lines: &[&str], word: &str) -> bool {
    lines.iter().any(|l| l.contains(word))
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
    // Comments above the first item are the file's header, unless a blank
    // line sets the ones right above it apart; a `yaml-language-server`
    // line is the file's wherever it is.
    let start = if i == 0 {
        let s = lead(starts[0], 0);
        let header = s == 0 || ls_contain(&lines[s..starts[0]], "yaml-language-server");
        if header {
            starts[0]
        } else {
            s
        }
    } else {
        lead(starts[i], starts[i - 1] + 1)
    };
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

/// Whether `line` is an empty flow list (`[]`), perhaps with a comment.
fn is_empty_list(line: &str) -> bool {
    let t = line.trim();
    let t = t.split_once(" #").map_or(t, |(v, _)| v).trim_end();
    t == "[]"
}

/// `text` with `entry` appended as a new last item, and the line (0-based)
/// where the entry's text starts. A file with no items (empty, comments
/// only, or `[]`) gets it as its first, in place of the `[]`.
pub fn append(text: &str, entry: &str) -> (String, usize) {
    let (indent, starts) = items(text);
    let mut owned = String::new();
    let text = if starts.is_empty() {
        for l in lines(text) {
            if !is_empty_list(l) {
                owned.push_str(l);
            }
        }
        owned.as_str()
    } else {
        text
    };
    let mut out = text.to_string();
    if !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
    if !out.trim().is_empty() && !out.ends_with("\n\n") {
        out.push('\n');
    }
    let first = out.matches('\n').count();
    out.push_str(&as_item(entry, indent));
    (out, first)
}

/// `text` with item `i` replaced by `entry` (its leading comments kept),
/// and the line (0-based) where the entry's text starts.
pub fn replace(text: &str, i: usize, entry: &str) -> Option<(String, usize)> {
    let (indent, starts) = items(text);
    let ls = lines(text);
    starts.get(i)?;
    let (_, body_end, _) = span(&ls, indent, &starts, i);
    let mut out: String = ls[..starts[i]].concat();
    out.push_str(&as_item(entry, indent));
    out.push_str(&ls[body_end..].concat());
    Some((out, starts[i]))
}

/// `text` without item `i` (nor its leading comments and trailing blanks);
/// without the only item, an empty list (`[]`) in its place.
pub fn remove(text: &str, i: usize) -> Option<String> {
    let (indent, starts) = items(text);
    let ls = lines(text);
    starts.get(i)?;
    let (start, body_end, end) = span(&ls, indent, &starts, i);
    if starts.len() == 1 {
        return Some(format!(
            "{}{}[]\n{}",
            ls[..start].concat(),
            " ".repeat(indent),
            ls[body_end..].concat()
        ));
    }
    let mut start = start;
    // The last item: drop the blank line that separated it from the one before.
    if i + 1 == starts.len() && i > 0 {
        while start > 0 && is_blank(ls[start - 1]) {
            start -= 1;
        }
    }
    Some([&ls[..start], &ls[end..]].concat().concat())
}

/// One key of an entry to set: `parent` is `None` for a key of the entry
/// itself, `Some("source")` for one under `source:`; `value` is the YAML text
/// of a scalar, as it is to be written.
#[derive(Debug, Clone)]
pub struct Field<'a> {
    pub parent: Option<&'a str>,
    pub key: &'a str,
    pub value: String,
}

/// Leading spaces of `line`.
fn indent_of(line: &str) -> usize {
    line.len() - line.trim_start_matches(' ').len()
}

/// Whether `line` holds `key:` starting at byte `col`, with only spaces (or
/// the item's `- `) before it.
fn key_at(line: &str, col: usize, key: &str, item_line: bool) -> bool {
    let Some(before) = line.get(..col) else {
        return false;
    };
    let lead_ok = if item_line {
        before.trim_start().starts_with('-') && before.trim_start()[1..].trim().is_empty()
    } else {
        before.trim().is_empty()
    };
    lead_ok
        && line[col..].strip_prefix(key).is_some_and(|r| {
            r.strip_prefix(':')
                .is_some_and(|r| r.is_empty() || r.starts_with([' ', '\n', '\r']))
        })
}

/// Whether `line` is a line of content (not blank, not a comment).
fn is_content(line: &str) -> bool {
    !is_blank(line) && !is_comment(line)
}

/// `line` (holding `key:` at `col`) with its value replaced by `value`; the
/// spacing and any comment after it are kept. An error for a value this
/// line-based view cannot replace (on the lines below, a block scalar, a
/// flow collection, an anchor, alias or tag).
fn replace_value(line: &str, col: usize, key: &str, value: &str) -> Result<String, String> {
    let after = col + key.len() + 1;
    let body = line[after..].trim_end_matches(['\n', '\r']);
    let eol = &line[after + body.len()..];
    let ws = body.len() - body.trim_start().len();
    let v = &body[ws..];
    if v.is_empty() || v.starts_with('#') {
        return Err(format!("the value of `{key}` is on the lines below it"));
    }
    if v.starts_with(['|', '>', '{', '[', '&', '*', '!']) {
        return Err(format!(
            "the value of `{key}` is not a plain or quoted value on one line"
        ));
    }
    let end = if let Some(q) = v.strip_prefix('\'') {
        // '' is a quote inside single quotes.
        let mut i = 0;
        let b = q.as_bytes();
        loop {
            match b.get(i) {
                Some(b'\'') if b.get(i + 1) == Some(&b'\'') => i += 2,
                Some(b'\'') => break Some(i + 2),
                Some(_) => i += 1,
                None => break None,
            }
        }
    } else if let Some(q) = v.strip_prefix('"') {
        let mut i = 0;
        let b = q.as_bytes();
        loop {
            match b.get(i) {
                Some(b'\\') => i += 2,
                Some(b'"') => break Some(i + 2),
                Some(_) => i += 1,
                None => break None,
            }
        }
    } else {
        let e = v.find(" #").unwrap_or(v.len());
        Some(v[..e].trim_end().len())
    };
    let Some(end) = end else {
        return Err(format!("the value of `{key}` goes on past its line"));
    };
    let kept = v[end..].trim_end_matches(' ');
    let kept = if kept.is_empty() { "" } else { &v[end..] };
    Ok(format!("{}{value}{kept}{eol}", &line[..after + ws]))
}

/// The end (exclusive, as a line index) of the last content line in
/// `from..to`, or `from` when there is none.
fn last_content(ls: &[String], from: usize, to: usize) -> usize {
    (from..to)
        .rev()
        .find(|&k| is_content(&ls[k]))
        .map_or(from, |k| k + 1)
}

/// Inserts `line` before line `at`, ending the line before it first when
/// it has no line ending (the file's last line).
fn insert_line(ls: &mut Vec<String>, at: usize, line: String, eol: &str) {
    if let Some(prev) = at.checked_sub(1).and_then(|p| ls.get_mut(p)) {
        if !prev.ends_with('\n') {
            prev.push_str(eol);
        }
    }
    ls.insert(at, line);
}

/// `text` with the given keys of item `i` set: a key that is there gets
/// the new value on its line (its comment kept), one that is not is added
/// at the end of its mapping (a missing `source:` is added with them).
/// Every other line stays as it was. An error (why) when the entry is laid
/// out in a way this cannot change safely.
pub fn set_fields(text: &str, i: usize, fields: &[Field<'_>]) -> Result<String, String> {
    let mut text = text.to_string();
    for f in fields {
        text = set_field(&text, i, f)?;
    }
    Ok(text)
}

fn set_field(text: &str, i: usize, f: &Field<'_>) -> Result<String, String> {
    let (indent, starts) = items(text);
    let Some(&first) = starts.get(i) else {
        return Err("the entry is not where it was".into());
    };
    let mut ls: Vec<String> = lines(text).into_iter().map(str::to_string).collect();
    let (_, body_end, _) = span(&lines(text), indent, &starts, i);
    // The column of the entry's keys: after `- ` and any spaces.
    let item = &ls[first];
    let kc = indent + 1 + (item[indent + 1..].len() - item[indent + 1..].trim_start().len());
    if item[kc..].starts_with(['{', '#']) || item[kc..].trim().is_empty() {
        return Err("the entry is not a block mapping starting on its `- ` line".into());
    }
    let find = |ls: &[String], from: usize, to: usize, col: usize, key: &str| {
        (from..to).find(|&k| key_at(&ls[k], col, key, k == first))
    };
    let eol = if ls[first].ends_with("\r\n") {
        "\r\n"
    } else {
        "\n"
    };
    let end = last_content(&ls, first, body_end);
    match f.parent {
        None => match find(&ls, first, end, kc, f.key) {
            Some(k) => ls[k] = replace_value(&ls[k], kc, f.key, &f.value)?,
            None => insert_line(
                &mut ls,
                end,
                format!("{}{}: {}{eol}", " ".repeat(kc), f.key, f.value),
                eol,
            ),
        },
        Some(parent) => {
            if let Some(p) = find(&ls, first, end, kc, parent) {
                let rest = ls[p][kc + parent.len() + 1..].trim();
                if !(rest.is_empty() || rest.starts_with('#')) {
                    return Err(format!(
                        "`{parent}` is not a block mapping on the lines below it"
                    ));
                }
                // The mapping's lines: those indented deeper than `parent:`.
                let block_end = (p + 1..end)
                    .find(|&k| is_content(&ls[k]) && indent_of(&ls[k]) <= kc)
                    .unwrap_or(end);
                let Some(cc) = (p + 1..block_end)
                    .find(|&k| is_content(&ls[k]))
                    .map(|k| indent_of(&ls[k]))
                else {
                    return Err(format!("`{parent}` has no keys"));
                };
                if let Some(k) = find(&ls, p + 1, block_end, cc, f.key) {
                    ls[k] = replace_value(&ls[k], cc, f.key, &f.value)?;
                } else {
                    let at = last_content(&ls, p + 1, block_end);
                    let line = format!("{}{}: {}{eol}", " ".repeat(cc), f.key, f.value);
                    insert_line(&mut ls, at, line, eol);
                }
            } else {
                let pad = " ".repeat(kc);
                let line = format!("{pad}{parent}:{eol}{pad}  {}: {}{eol}", f.key, f.value);
                insert_line(&mut ls, end, line, eol);
            }
        }
    }
    Ok(ls.concat())
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
        let (added, first) = append(FILE, "name: d\nregistry: r\n");
        assert_eq!(added, format!("{FILE}\n- name: d\n  registry: r\n"));
        assert_eq!(added.lines().nth(first), Some("- name: d"));
        let (replaced, first) = replace(FILE, 1, "name: b\nregistry: s\n").unwrap();
        assert_eq!(first, 8);
        assert_eq!(
            replaced,
            FILE.replace(
                "- name: b\n  # inside\n  registry: r\n",
                "- name: b\n  registry: s\n"
            )
        );
        let indented = "images:\n  - name: a\n    x: 1\n";
        assert_eq!(
            append(indented, "name: b\n").0,
            "images:\n  - name: a\n    x: 1\n\n  - name: b\n"
        );
    }

    #[test]
    fn the_header_stays_and_the_last_item_leaves_an_empty_list() {
        let file = "# yaml-language-server: $schema=./images.schema.json\n# About.\n- name: a\n  x: 1\n\n- name: b\n  x: 2\n";
        assert_eq!(
            remove(file, 0).unwrap(),
            "# yaml-language-server: $schema=./images.schema.json\n# About.\n- name: b\n  x: 2\n"
        );
        let one = "# yaml-language-server: $schema=x.json\n\n# a\n- name: a\n  x: 1\n# end\n";
        let empty = remove(one, 0).unwrap();
        assert_eq!(
            empty,
            "# yaml-language-server: $schema=x.json\n\n[]\n# end\n"
        );
        // And back: the `[]` gives way to the first item.
        assert_eq!(
            append(&empty, "name: a\n").0,
            "# yaml-language-server: $schema=x.json\n\n# end\n\n- name: a\n"
        );
        assert_eq!(append("", "name: a\n"), ("- name: a\n".to_string(), 0));
    }

    #[test]
    fn set_fields_changes_only_the_given_keys() {
        let file = "- name: a\n  registry: r   # where\n  source:\n    repo: o/a\n    inputs: [x]\n  # note\n  updates:\n    - repo: o/d\n\n- name: b\n  registry: 'q'\n";
        let f = |parent, key, value: &str| Field {
            parent,
            key,
            value: value.to_string(),
        };
        let out = set_fields(
            file,
            0,
            &[
                f(None, "registry", "s"),
                f(None, "rebuildDelay", "7d"),
                f(Some("source"), "repo", "o/b"),
                f(Some("source"), "branch", "dev"),
            ],
        )
        .unwrap();
        assert_eq!(
            out,
            "- name: a\n  registry: s   # where\n  source:\n    repo: o/b\n    inputs: [x]\n    branch: dev\n  # note\n  updates:\n    - repo: o/d\n  rebuildDelay: 7d\n\n- name: b\n  registry: 'q'\n"
        );
        let out = set_fields(
            file,
            1,
            &[
                f(None, "registry", "'it''s'"),
                f(Some("source"), "repo", "x"),
            ],
        )
        .unwrap();
        assert!(
            out.ends_with("- name: b\n  registry: 'it''s'\n  source:\n    repo: x\n"),
            "{out}"
        );
        assert!(set_fields(
            "- name: a\n  source: {repo: x}\n",
            0,
            &[f(Some("source"), "repo", "y")]
        )
        .is_err());
        assert!(set_fields("- name: a\n  tag: |\n    x\n", 0, &[f(None, "tag", "y")]).is_err());
    }
}
