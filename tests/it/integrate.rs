//! Install and integrate: shell completions, the man page, and the files a
//! user's tooling reads (pre-commit hooks, README).

use clap::CommandFactory;

use crate::support::Project;

/// Every subcommand name, from the clap definitions the binary uses.
fn subcommands() -> Vec<String> {
    let names: Vec<String> = imgf::cli::Cli::command()
        .get_subcommands()
        .map(|c| c.get_name().to_string())
        .filter(|n| n != "help")
        .collect();
    // A floor, so the test cannot pass on an empty list.
    for must in [
        "synth",
        "analyze",
        "record-update",
        "updates",
        "completions",
        "man",
    ] {
        assert!(
            names.iter().any(|n| n == must),
            "{must} missing from {names:?}"
        );
    }
    names
}

#[test]
fn completions_for_each_shell_name_every_subcommand() {
    let p = Project::new();
    for shell in ["bash", "zsh", "fish", "powershell"] {
        let r = p.run(&["completions", shell]);
        assert_eq!(r.code, 0, "{shell}: {}", r.stderr);
        assert!(r.stderr.is_empty(), "{shell}: {}", r.stderr);
        for sub in subcommands() {
            assert!(r.stdout.contains(&sub), "{shell} script lacks {sub}");
        }
    }
}

#[test]
fn completions_refuse_an_unknown_shell() {
    let r = Project::new().run(&["completions", "tcsh"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("bash"), "{}", r.stderr);
}

#[test]
fn man_page_is_roff_and_lists_the_subcommands() {
    let r = Project::new().run(&["man"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    // clap_mangen opens with two lines defining the \*(Aq string; the title
    // line comes before any section.
    let th = r.stdout.find("\n.TH imgf 1").expect("a .TH line");
    let sh = r.stdout.find("\n.SH NAME").expect("a NAME section");
    assert!(th < sh);
    assert!(r.stdout.contains("\n.SH SUBCOMMANDS"));
    for sub in subcommands() {
        // roff escapes '-' as '\-'.
        let roff = format!("imgf\\-{}", sub.replace('-', "\\-"));
        assert!(r.stdout.contains(&roff), "man page lacks {roff}");
    }
}

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
