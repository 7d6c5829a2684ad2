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
    ("targets", &["targets", SETTINGS]),
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

/// The paths in `crate::…` (without `crate::`), each item of a
/// `crate::{a, b::{c, d}}` group expanded (`a`, `b::c`, `b::d`).
fn crate_paths(code: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    for (i, _) in code.match_indices("crate::") {
        if i > 0 {
            let before = code[..i].chars().next_back().unwrap();
            if before.is_ascii_alphanumeric() || before == '_' || before == '$' {
                continue; // `$crate::`, `my_crate::`
            }
        }
        path_at(&code[i + "crate::".len()..], Vec::new(), &mut found);
    }
    found
}

/// The path that starts `text`, after the segments `prefix`; a group
/// (`{a, b::c}`) gives one path per item.
fn path_at(text: &str, mut prefix: Vec<String>, found: &mut BTreeSet<String>) {
    let mut rest = text.trim_start();
    loop {
        if let Some(group) = rest.strip_prefix('{') {
            let mut depth = 0;
            let mut start = 0;
            for (j, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => {
                        path_at(&group[start..j], prefix.clone(), found);
                        return;
                    }
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        path_at(&group[start..j], prefix.clone(), found);
                        start = j + 1;
                    }
                    _ => {}
                }
            }
            return;
        }
        let id = ident(rest);
        if id.is_empty() {
            break;
        }
        prefix.push(id.to_string());
        match rest[id.len()..].strip_prefix("::") {
            Some(after) => rest = after.trim_start(),
            None => break,
        }
    }
    if !prefix.is_empty() {
        found.insert(prefix.join("::"));
    }
}

/// The node of the graph a path (`targets::kargo::settings::X`) or a file
/// (`targets/kargo/settings.rs`, as segments without `.rs`) belongs to: its
/// top-level module, except that every target's settings module is one node
/// of its own, `targets::settings` (see [`SETTINGS`]).
fn node(segments: &[&str]) -> String {
    match segments {
        ["targets", _, "settings", ..] => SETTINGS.to_string(),
        [first, ..] => (*first).to_string(),
        [] => String::new(),
    }
}

/// The one node finer than a top-level module: the targets' settings
/// modules (`src/targets/<target>/settings.rs`). `config` resolves
/// settings.yaml into their types, so `config` → `targets::settings` is an
/// upward dependency (the one allowed); they use only the base layer, so
/// there is no cycle with `targets` (which uses `config`).
const SETTINGS: &str = "targets::settings";

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
    let segments_of = |rel: &Path| -> Vec<String> {
        rel.with_extension("")
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect()
    };
    if files
        .iter()
        .any(|f| node(&as_strs(&segments_of(f.strip_prefix(src).unwrap()))) == SETTINGS)
    {
        modules.insert(SETTINGS.to_string());
    }
    let mut deps: BTreeMap<String, BTreeMap<String, String>> = modules
        .iter()
        .map(|m| (m.clone(), BTreeMap::new()))
        .collect();
    for f in files {
        let rel = f.strip_prefix(src).unwrap();
        let from = node(&as_strs(&segments_of(rel)));
        if !modules.contains(&from) || f.file_name().is_some_and(|n| n == "tests.rs") {
            continue;
        }
        let code = production_code(&std::fs::read_to_string(&f).unwrap());
        if from == SETTINGS {
            // Only `crate::` paths are seen: a settings module reaching its
            // target through `super::`, or hiding code in a submodule, would
            // be a dependency the graph misses.
            assert!(
                !code.contains("super::") && !code.contains("self::") && !has_submodule(&code),
                "{}: a target's settings module uses `crate::` paths only and has no submodules",
                rel.display()
            );
        }
        for path in crate_paths(&code) {
            let to = node(&path.split("::").collect::<Vec<_>>());
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

fn as_strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

/// Whether `code` declares a module (`mod x;` or `mod x {`).
fn has_submodule(code: &str) -> bool {
    code.lines().any(|l| {
        let l = l.trim_start();
        let l = l
            .strip_prefix("pub(crate) ")
            .or_else(|| l.strip_prefix("pub "))
            .unwrap_or(l);
        l.starts_with("mod ")
    })
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
    assert_eq!(got, ["a::b", "c", "d::e", "d::f", "g", "h::i"]);
    let nested = crate_paths("use crate::targets::{kargo::settings::{A, B}, flux};");
    let nodes: BTreeSet<String> = nested
        .iter()
        .map(|p| node(&p.split("::").collect::<Vec<_>>()))
        .collect();
    assert_eq!(
        nested.into_iter().collect::<Vec<_>>(),
        [
            "targets::flux",
            "targets::kargo::settings::A",
            "targets::kargo::settings::B"
        ]
    );
    assert_eq!(nodes.into_iter().collect::<Vec<_>>(), ["targets", SETTINGS]);
}

#[test]
fn a_targets_settings_module_is_its_own_node() {
    assert_eq!(node(&["targets", "kargo", "settings"]), SETTINGS);
    assert_eq!(
        node(&["targets", "flux", "settings", "FluxSettings"]),
        SETTINGS
    );
    assert_eq!(node(&["targets", "kargo", "placement"]), "targets");
    assert_eq!(node(&["targets", "settings"]), "targets");
    assert_eq!(node(&["config", "settings", "Settings"]), "config");
}

fn graph(edges: &[(&str, &str)]) -> BTreeMap<String, BTreeMap<String, String>> {
    let mut deps: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for (from, to) in edges {
        deps.entry((*to).to_string()).or_default();
        deps.entry((*from).to_string())
            .or_default()
            .insert((*to).to_string(), "planted.rs".into());
    }
    deps
}

#[test]
fn the_cycle_check_finds_a_planted_cycle() {
    // config → targets::settings and targets → config: no cycle.
    let fine = graph(&[
        ("config", SETTINGS),
        (SETTINGS, "values"),
        ("targets", "config"),
        ("targets", SETTINGS),
    ]);
    assert_eq!(cycle(&fine), None);
    // A settings module that reaches back into its target closes one.
    let planted = graph(&[
        ("config", SETTINGS),
        (SETTINGS, "targets"),
        ("targets", "config"),
    ]);
    let c = cycle(&planted).expect("the planted cycle is found");
    assert_eq!(c.first(), c.last());
    assert_eq!(c.len(), 4, "{c:?}");
    // So does config → targets at top-level granularity.
    assert!(cycle(&graph(&[("config", "targets"), ("targets", "config")])).is_some());
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
