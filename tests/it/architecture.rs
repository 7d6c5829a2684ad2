//! The layering of ARCHITECTURE.md, enforced: the top-level modules of
//! `src/` depend on each other (through `crate::x` paths) without a cycle,
//! and at most one dependency runs from a lower layer to a higher one.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The layers, lowest first. A module may use modules of its own layer and
/// of lower ones. Every top-level module of `src/` must be listed here.
const LAYERS: &[(&str, &[&str])] = &[
    (
        "base",
        &[
            "diagnostic",
            "names",
            "values",
            "image_ref",
            "duration",
            "timestamp",
            "par",
            "fs",
            "yaml_walk",
            "shell",
        ],
    ),
    ("render", &["emit"]),
    ("input", &["config", "state", "dockerfile", "security"]),
    ("load", &["load"]),
    ("merge", &["merge", "model"]),
    ("graph", &["graph"]),
    ("targets", &["targets"]),
    ("ops", &["ops", "git"]),
    ("commands", &["commands", "cli"]),
];

/// Dependencies from a lower layer to a higher one (at most one may exist).
const MAX_UPWARD: usize = 1;

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The production code of a file: comments dropped, and a `#[cfg(test)]`
/// module (by convention the end of the file) cut off.
fn production_code(text: &str) -> String {
    let mut out = String::new();
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        if line.trim() == "#[cfg(test)]"
            && lines
                .peek()
                .is_some_and(|next| next.trim_start().starts_with("mod "))
        {
            break;
        }
        let code = line.split("//").next().unwrap_or_default();
        out.push_str(code);
        out.push('\n');
    }
    out
}

fn ident(s: &str) -> &str {
    let end = s
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(s.len());
    &s[..end]
}

/// The first segments of the paths in `crate::…`, including each item of a
/// `crate::{a, b::c}` group.
fn crate_paths(code: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    for (i, _) in code.match_indices("crate::") {
        if i > 0 {
            let before = code[..i].chars().next_back().unwrap();
            if before.is_ascii_alphanumeric() || before == '_' || before == '$' {
                continue; // `$crate::`, `my_crate::`
            }
        }
        let rest = &code[i + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let mut depth = 0;
            let mut start = 0;
            for (j, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => {
                        found.insert(ident(group[start..j].trim()).to_string());
                        break;
                    }
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        found.insert(ident(group[start..j].trim()).to_string());
                        start = j + 1;
                    }
                    _ => {}
                }
            }
        } else {
            found.insert(ident(rest).to_string());
        }
    }
    found
}

/// Module → the modules it uses, with a file that does.
fn dependencies(src: &Path) -> BTreeMap<String, BTreeMap<String, String>> {
    let mut modules = BTreeSet::new();
    for e in std::fs::read_dir(src).unwrap() {
        let p = e.unwrap().path();
        let name = p.file_stem().unwrap().to_string_lossy().into_owned();
        if p.is_dir()
            || (p.extension().is_some_and(|x| x == "rs") && name != "lib" && name != "main")
        {
            modules.insert(name);
        }
    }
    let mut files = Vec::new();
    rust_files(src, &mut files);
    let mut deps: BTreeMap<String, BTreeMap<String, String>> = modules
        .iter()
        .map(|m| (m.clone(), BTreeMap::new()))
        .collect();
    for f in files {
        let rel = f.strip_prefix(src).unwrap();
        let first = rel
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_string_lossy();
        let from = first.strip_suffix(".rs").unwrap_or(&first).to_string();
        if !modules.contains(&from) || f.file_name().is_some_and(|n| n == "tests.rs") {
            continue;
        }
        let code = production_code(&std::fs::read_to_string(&f).unwrap());
        for to in crate_paths(&code) {
            if to != from && modules.contains(&to) {
                deps.get_mut(&from)
                    .unwrap()
                    .entry(to)
                    .or_insert_with(|| rel.display().to_string());
            }
        }
    }
    deps
}

/// A cycle in `deps`, if there is one.
fn cycle(deps: &BTreeMap<String, BTreeMap<String, String>>) -> Option<Vec<String>> {
    fn visit(
        m: &str,
        deps: &BTreeMap<String, BTreeMap<String, String>>,
        done: &mut BTreeSet<String>,
        path: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|p| p == m) {
            let mut c = path[at..].to_vec();
            c.push(m.to_string());
            return Some(c);
        }
        if done.contains(m) {
            return None;
        }
        path.push(m.to_string());
        for to in deps[m].keys() {
            if let Some(c) = visit(to, deps, done, path) {
                return Some(c);
            }
        }
        path.pop();
        done.insert(m.to_string());
        None
    }
    let mut done = BTreeSet::new();
    deps.keys()
        .find_map(|m| visit(m, deps, &mut done, &mut Vec::new()))
}

#[test]
fn crate_paths_are_read_from_use_lines_and_groups() {
    let code = production_code(
        "use crate::a::b;\nuse crate::{c, d::{e, f}, g};\nlet x = crate::h::i();\n\
         // crate::comment\n$crate::m\n#[cfg(test)]\nmod tests {\n    use crate::t;\n}\n",
    );
    let got: Vec<String> = crate_paths(&code).into_iter().collect();
    assert_eq!(got, ["a", "c", "d", "g", "h"]);
}

#[test]
fn modules_form_layers_without_cycles() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let deps = dependencies(&src);
    let rank: BTreeMap<&str, usize> = LAYERS
        .iter()
        .enumerate()
        .flat_map(|(i, (_, ms))| ms.iter().map(move |m| (*m, i)))
        .collect();
    let unplaced: Vec<&String> = deps
        .keys()
        .filter(|m| !rank.contains_key(m.as_str()))
        .collect();
    assert!(
        unplaced.is_empty(),
        "modules in no layer of ARCHITECTURE.md (add them to LAYERS): {unplaced:?}"
    );
    if let Some(c) = cycle(&deps) {
        panic!("an import cycle between modules: {}", c.join(" → "));
    }
    let upward: Vec<String> = deps
        .iter()
        .flat_map(|(from, tos)| {
            tos.iter()
                .filter(|(to, _)| rank[to.as_str()] > rank[from.as_str()])
                .map(move |(to, file)| format!("{from} → {to} ({file})"))
        })
        .collect();
    assert!(
        upward.len() <= MAX_UPWARD,
        "at most {MAX_UPWARD} dependency may run from a lower layer to a higher one, found: {upward:#?}"
    );
}
