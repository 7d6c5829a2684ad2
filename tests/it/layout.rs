//! The layout tree in ARCHITECTURE.md ("The source tree") matches the source
//! tree: every path it lists exists, and every file under src/,
//! .github/workflows/ and .ci/ is named in it (as an entry of its own, or in
//! the description of a directory that holds it, by its path from that
//! directory with or without `.rs`; a directory's `mod.rs` is its entry).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Where a description starts: entries are short, descriptions aligned.
const DESCRIPTION_COLUMN: usize = 21;

struct Entry {
    /// The path from the repository root; a directory ends in `/`.
    path: String,
    /// The words of its description, continuation lines included.
    words: BTreeSet<String>,
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The code block of the section "The source tree" that starts with `src/`.
fn tree(doc: &str) -> Vec<&str> {
    let dev = doc
        .split("\n## ")
        .find(|s| s.starts_with("The source tree"))
        .expect("ARCHITECTURE.md has a section \"The source tree\"");
    let start = dev
        .find("```\nsrc/")
        .expect("the section \"The source tree\" has the layout tree");
    let block = &dev[start + 4..];
    let end = block.find("```").expect("the layout tree's block ends");
    block[..end].lines().collect()
}

fn words(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| c.is_whitespace() || ",;:()`".contains(c))
        .map(|w| w.trim_end_matches('.').to_string())
        .filter(|w| !w.is_empty())
}

fn entries(lines: &[&str]) -> Vec<Entry> {
    let mut out: Vec<Entry> = Vec::new();
    // (indent, directory path) of the directories the current line is in.
    let mut stack: Vec<(usize, String)> = Vec::new();
    for line in lines {
        let indent = line.len() - line.trim_start().len();
        if line.trim().is_empty() {
            continue;
        }
        if indent >= DESCRIPTION_COLUMN {
            let last = out.last_mut().expect("a description follows an entry");
            last.words.extend(words(line));
            continue;
        }
        let text = line.trim();
        let (names, description) = match text.split_once("  ") {
            Some((n, d)) => (n, d),
            None => (text, ""),
        };
        while stack.last().is_some_and(|(i, _)| *i >= indent) {
            stack.pop();
        }
        let parent = stack.last().map(|(_, p)| p.clone()).unwrap_or_default();
        for name in names.split(", ") {
            let path = format!("{parent}{}", name.trim());
            if path.ends_with('/') && names == name {
                stack.push((indent, path.clone()));
            }
            out.push(Entry {
                path,
                words: words(description).collect(),
            });
        }
    }
    out
}

fn files(dir: &Path, out: &mut Vec<String>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files(&path, out);
        } else {
            let rel = path.strip_prefix(root()).unwrap();
            out.push(rel.to_string_lossy().replace('\\', "/"));
        }
    }
}

#[test]
fn the_layout_tree_lists_what_exists() {
    let doc = std::fs::read_to_string(root().join("ARCHITECTURE.md")).unwrap();
    let entries = entries(&tree(&doc));
    assert!(entries.iter().any(|e| e.path == "src/lib.rs"), "parsed");
    let missing: Vec<&str> = entries
        .iter()
        .map(|e| e.path.as_str())
        .filter(|p| !root().join(p).exists())
        .collect();
    assert!(
        missing.is_empty(),
        "the layout tree in ARCHITECTURE.md lists paths that do not exist: {missing:?}"
    );
}

#[test]
fn the_layout_tree_names_every_source_file() {
    let doc = std::fs::read_to_string(root().join("ARCHITECTURE.md")).unwrap();
    let entries = entries(&tree(&doc));
    let mut sources = Vec::new();
    for dir in ["src", ".github/workflows", ".ci"] {
        files(&root().join(dir), &mut sources);
    }
    let named = |file: &str| {
        entries.iter().any(|e| {
            if e.path == file {
                return true;
            }
            let Some(rel) = e
                .path
                .ends_with('/')
                .then(|| file.strip_prefix(&e.path))
                .flatten()
            else {
                return false;
            };
            if rel == "mod.rs" {
                return true;
            }
            // The directory's own description, and those of the entries in it.
            let mut block = entries
                .iter()
                .filter(|d| d.path.starts_with(&e.path))
                .flat_map(|d| d.words.iter());
            let stem = rel.strip_suffix(".rs").unwrap_or(rel);
            block.any(|w| w == rel || w == stem || w.ends_with(&format!("/{rel}")))
        })
    };
    let unnamed: Vec<&String> = sources.iter().filter(|f| !named(f)).collect();
    assert!(
        unnamed.is_empty(),
        "files under src/, .github/workflows/ or .ci/ that the layout tree in ARCHITECTURE.md does not name: {unnamed:?}"
    );
}
