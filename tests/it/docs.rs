//! The README and the user guide (`docs/src/`) stay true: their YAML
//! snippets parse, the settings and images.yaml examples load, the pre-commit
//! and GitHub Action snippets name what this repository has, the install page
//! names what the release workflow builds, every subcommand is shown in use,
//! links between pages lead somewhere, and every page is in SUMMARY.md.

use std::path::{Path, PathBuf};

use clap::CommandFactory;

use crate::support::Project;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(root().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn md_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            md_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "md") {
            out.push(path);
        }
    }
}

/// The README and every page of the guide, as (path from the repository
/// root, text).
fn pages() -> Vec<(String, String)> {
    let mut files = vec![root().join("README.md")];
    md_files(&root().join("docs/src"), &mut files);
    files.sort();
    let pages: Vec<(String, String)> = files
        .iter()
        .map(|p| {
            let rel = p.strip_prefix(root()).unwrap();
            let rel = rel.to_string_lossy().replace('\\', "/");
            (rel.clone(), read(&rel))
        })
        .collect();
    assert!(pages.len() > 20, "the guide has its pages: {}", pages.len());
    pages
}

/// The fenced blocks of `lang` in `text`, with the line each starts on.
fn blocks<'a>(text: &'a str, lang: &str) -> Vec<(usize, &'a str)> {
    let open = format!("```{lang}\n");
    let mut out = Vec::new();
    let mut rest = text;
    let mut offset = 0;
    while let Some(start) = rest.find(&open) {
        let body_at = start + open.len();
        let body = &rest[body_at..];
        let end = body.find("```").expect("closed block");
        let line = text[..offset + start].lines().count() + 1;
        out.push((line, &body[..end]));
        offset += body_at + end + 3;
        rest = &rest[body_at + end + 3..];
    }
    out
}

/// Every document of every `` ```yaml `` block of the README and the guide,
/// parsed, with its text.
fn yaml_blocks() -> Vec<(String, yaml_serde::Value)> {
    let mut out = Vec::new();
    for (file, text) in pages() {
        for (line, body) in blocks(&text, "yaml") {
            for doc in body.split("\n---\n") {
                let value = yaml_serde::from_str(doc)
                    .unwrap_or_else(|e| panic!("{file}:{line}: a yaml block does not parse: {e}"));
                out.push((doc.to_string(), value));
            }
        }
    }
    out
}

fn repo_file(rel: &str) -> yaml_serde::Value {
    yaml_serde::from_str(&read(rel)).unwrap_or_else(|e| panic!("{rel} does not parse: {e}"))
}

fn hook_ids() -> Vec<String> {
    repo_file(".pre-commit-hooks.yaml")
        .as_sequence()
        .expect(".pre-commit-hooks.yaml is a list")
        .iter()
        .map(|h| h["id"].as_str().expect("id").to_string())
        .collect()
}

#[test]
fn every_yaml_snippet_parses() {
    // A floor, so the test cannot pass on a guide whose blocks went unread.
    assert!(yaml_blocks().len() > 10);
}

/// The settings.yaml of the settings page, with every key, loads.
#[test]
fn the_settings_example_loads() {
    let page = read("docs/src/configuring.md");
    let (_, settings) = blocks(&page, "yaml")
        .into_iter()
        .find(|(_, b)| b.contains("project: image-factory"))
        .expect("the settings page shows a settings.yaml");
    let p = Project::app_on_node();
    p.file("settings.yaml", settings);
    let r = p.run(&["synth", "--output", "-"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout.contains("ghcr.io/example-org/imgf:0.2.0-dev"),
        "{}",
        r.stdout
    );
    let r = p.run(&["synth", "--target", "flux", "--output", "-"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
}

/// The images.yaml of the enrolling page — a managed and an external image,
/// every key — loads and synthesizes.
#[test]
fn the_images_yaml_example_loads() {
    let page = read("docs/src/enrolling.md");
    let (_, images) = blocks(&page, "yaml")
        .into_iter()
        .find(|(_, b)| b.contains("# A managed image"))
        .expect("the enrolling page shows an images.yaml");
    let p = Project::new();
    p.images(images);
    let r = p.run(&["synth", "--output", "-"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    for name in ["name: api", "name: postgres", "name: update-api-staging"] {
        assert!(r.stdout.contains(name), "{name} not in the output");
    }
}

/// The pre-commit configurations the guide shows: a local hook's entry is a
/// real imgf command; a hook of the hook repository exists; and the guide
/// names every hook the repository has.
#[test]
fn the_pre_commit_snippets_run_real_commands_and_name_real_hooks() {
    let ids = hook_ids();
    let p = Project::app_on_node();
    let mut local = 0;
    for (_, config) in yaml_blocks()
        .iter()
        .filter(|(_, v)| v["repos"].is_sequence())
    {
        for repo in config["repos"].as_sequence().unwrap() {
            for h in repo["hooks"].as_sequence().expect("hooks") {
                let id = h["id"].as_str().expect("id");
                match h["entry"].as_str() {
                    Some(entry) => {
                        local += 1;
                        let mut words = entry.split_whitespace();
                        assert_eq!(words.next(), Some("imgf"), "{entry}");
                        let args: Vec<&str> = words.chain(["--help"]).collect();
                        let r = p.run(&args);
                        assert_eq!(r.code, 0, "{entry}: {}", r.stderr);
                    }
                    None => assert!(ids.iter().any(|i| i == id), "no hook {id}"),
                }
            }
        }
    }
    assert!(local >= 2, "the CI page shows local hooks for both checks");
    let ci = read("docs/src/ci.md");
    for id in &ids {
        assert!(
            ci.contains(&format!("`{id}`")),
            "the CI page does not name {id}"
        );
    }
}

/// The Action usage shown in the guide, and the example workflow, use the
/// action from a local copy and give only inputs the action declares.
#[test]
fn the_action_usage_gives_only_inputs_the_action_declares() {
    let action = repo_file("action.yml");
    let example = repo_file("examples/github-workflows/imgf-check.yml");
    let example_steps = example["jobs"]["check"]["steps"].clone();
    let blocks = yaml_blocks();
    let (_, usage) = blocks
        .iter()
        .find(|(text, _)| text.contains("uses: ./tools/imgf"))
        .expect("the guide shows the action");
    for steps in [usage, &example_steps] {
        let step = steps
            .as_sequence()
            .expect("a list of steps")
            .iter()
            .find(|s| s["uses"].as_str() == Some("./tools/imgf"))
            .expect("a step uses the action from tools/imgf");
        for key in step["with"].as_mapping().expect("with").keys() {
            let key = key.as_str().unwrap();
            assert!(
                !action["inputs"][key].is_null(),
                "action.yml has no input {key}"
            );
        }
        let checkout = steps
            .as_sequence()
            .unwrap()
            .iter()
            .find(|s| {
                s["uses"]
                    .as_str()
                    .is_some_and(|u| u.starts_with("actions/checkout@"))
            })
            .expect("a checkout step");
        assert_eq!(checkout["with"]["submodules"].as_bool(), Some(true));
    }
}

/// The release workflow (never run here: no GitHub) builds the targets the
/// install page says a release will bring, only its release job may write to
/// the repository, and every action is pinned to a major version at least.
#[test]
fn the_release_workflow_builds_what_the_install_page_promises() {
    let wf = repo_file(".github/workflows/release.yml");
    assert_eq!(wf["on"]["push"]["tags"][0].as_str(), Some("v*"));
    let targets: Vec<&str> = wf["jobs"]["build"]["strategy"]["matrix"]["include"]
        .as_sequence()
        .expect("a matrix of targets")
        .iter()
        .map(|e| e["target"].as_str().expect("target"))
        .collect();
    assert_eq!(
        targets,
        [
            "x86_64-unknown-linux-musl",
            "aarch64-unknown-linux-musl",
            "x86_64-apple-darwin",
            "aarch64-apple-darwin",
        ]
    );
    let page = read("docs/src/install.md");
    let release = &page[page
        .find("## What a release will bring")
        .expect("the install page says what a release will bring")..];
    for t in &targets {
        assert!(release.contains(t), "the install page does not name {t}");
    }
    assert!(release.contains("imgf-<version>-<target>.tar.gz") && release.contains("SHA256SUMS"));
    assert_eq!(wf["permissions"]["contents"].as_str(), Some("read"));
    assert_eq!(
        wf["jobs"]["release"]["permissions"]["contents"].as_str(),
        Some("write")
    );
    assert!(wf["jobs"]["build"]["permissions"].is_null());
    let pinned = regex::Regex::new(r"^[\w.-]+/[\w.-]+@v\d+(\.\d+)*$").unwrap();
    for job in wf["jobs"].as_mapping().unwrap().values() {
        for step in job["steps"].as_sequence().unwrap() {
            if let Some(uses) = step["uses"].as_str() {
                assert!(pinned.is_match(uses), "{uses} is not pinned to a version");
            }
        }
    }
}

/// What a user copies runs as it is: no `<owner>`-style placeholder in a
/// shell block of the README or the guide's pages on installing, CI and the
/// cluster's credentials.
#[test]
fn install_commands_have_no_placeholders() {
    let placeholder = regex::Regex::new(r"<[a-z][a-z -]*>").unwrap();
    for file in [
        "README.md",
        "docs/src/install.md",
        "docs/src/ci.md",
        "docs/src/analysis-image.md",
        "docs/src/targets/kargo-cluster.md",
    ] {
        let text = read(file);
        for (line, body) in blocks(&text, "sh") {
            assert!(
                !placeholder.is_match(body),
                "{file}:{line}: a placeholder in a command: {body}"
            );
        }
    }
}

/// Every visible subcommand (and sub-subcommand) is shown in use — `imgf
/// NAME` — on a page of the guide or in the README, not only in the
/// generated reference.
#[test]
fn every_subcommand_is_shown_in_use() {
    let text: String = pages()
        .into_iter()
        .filter(|(file, _)| !file.starts_with("docs/src/reference/"))
        .map(|(_, text)| text)
        .collect();
    let mut commands = Vec::new();
    for sub in imgf::cli::Cli::command().get_subcommands() {
        if sub.is_hide_set() || sub.get_name() == "help" {
            continue;
        }
        let nested: Vec<_> = sub
            .get_subcommands()
            .filter(|s| !s.is_hide_set() && s.get_name() != "help")
            .collect();
        if nested.is_empty() {
            commands.push(format!("imgf {}", sub.get_name()));
        }
        for n in nested {
            commands.push(format!("imgf {} {}", sub.get_name(), n.get_name()));
        }
    }
    assert!(commands.len() >= 15, "{commands:?}");
    let missing: Vec<&String> = commands
        .iter()
        .filter(|c| !text.contains(&format!("{c} ")) && !text.contains(&format!("{c}\n")))
        .collect();
    assert!(
        missing.is_empty(),
        "subcommands no page shows in use: {missing:?}"
    );
}

/// Every page under docs/src is in SUMMARY.md, and every relative link of
/// the README and the guide leads to a file that exists (and, with an
/// anchor, to a heading of that page).
#[test]
fn every_page_is_listed_and_every_link_leads_somewhere() {
    let summary = read("docs/src/SUMMARY.md");
    let pages = pages();
    for (file, _) in &pages {
        let Some(rel) = file.strip_prefix("docs/src/") else {
            continue;
        };
        if rel == "SUMMARY.md" {
            continue;
        }
        assert!(
            summary.contains(&format!("]({rel})")),
            "{file} is not in docs/src/SUMMARY.md"
        );
        // The guide's own pages (not the generated reference) open with
        // their title.
        let text = read(file);
        assert!(
            rel.starts_with("reference/") || text.starts_with("# "),
            "{file} does not open with its title (`# …`)"
        );
    }
    // The reference pages are generated by `imgf` itself; until they are
    // there, links to them cannot be checked.
    let reference = root().join("docs/src/reference").is_dir();
    let link = regex::Regex::new(r"\]\(([^)#\s]*)(#[^)\s]*)?\)").unwrap();
    for (file, text) in &pages {
        let dir = Path::new(file).parent().unwrap();
        let mut fenced = false;
        for (n, line) in text.lines().enumerate() {
            if line.trim_start().starts_with("```") {
                fenced = !fenced;
            }
            if fenced {
                continue;
            }
            for c in link.captures_iter(line) {
                let target = &c[1];
                let anchor = c.get(2).map(|m| &m.as_str()[1..]);
                if target.contains("://") || target.starts_with("mailto:") {
                    continue;
                }
                let path = if target.is_empty() {
                    PathBuf::from(file)
                } else {
                    normalize(&dir.join(target))
                };
                if !reference && path.starts_with("docs/src/reference") {
                    continue;
                }
                let at = format!("{file}:{}", n + 1);
                assert!(root().join(&path).exists(), "{at}: {target} does not exist");
                if let Some(anchor) = anchor {
                    let text = read(&path.to_string_lossy());
                    assert!(
                        headings(&text).iter().any(|h| h == anchor),
                        "{at}: {} has no heading #{anchor}",
                        path.display()
                    );
                }
            }
        }
    }
}

/// `a/b/../c` → `a/c`.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

/// The anchors of a page's headings, as mdBook and GitHub make them: lower
/// case, spaces to `-`, punctuation other than `-` and `_` dropped.
fn headings(text: &str) -> Vec<String> {
    let mut fenced = false;
    let mut out = Vec::new();
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
        }
        if fenced || !line.starts_with('#') {
            continue;
        }
        let title = line.trim_start_matches('#').trim();
        out.push(
            title
                .chars()
                .filter_map(|c| match c {
                    ' ' => Some('-'),
                    c if c.is_alphanumeric() || c == '-' || c == '_' => {
                        Some(c.to_lowercase().next().unwrap())
                    }
                    _ => None,
                })
                .collect(),
        );
    }
    out
}
