//! Shell completion, by the real binary: the scripts `imgf completions`
//! prints register imgf, and imgf completes (`COMPLETE=SHELL imgf -- …`)
//! subcommands, enrolled image names read from the `--dir` on the partial
//! command line — never failing on a broken or missing images.yaml — and
//! directories for `--dir`.

use clap::CommandFactory;

use crate::support::{imgf, Project, ONE_IMAGE};

/// What imgf offers for the last of `words` (fish's protocol: one candidate
/// a line, its help after a tab), run in the project's root; options (which
/// it offers too where a value may also be an option) left out.
fn complete(p: &Project, words: &[&str]) -> Vec<String> {
    let out = imgf()
        .env("COMPLETE", "fish")
        .args(["--", "imgf"])
        .args(words)
        .current_dir(p.root.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stderr.is_empty(),
        "{words:?}: exit {:?}: {stderr}",
        out.status.code()
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.split('\t').next().unwrap().to_string())
        .filter(|c| !c.starts_with('-'))
        .collect()
}

const TWO_IMAGES: &str = "\
- name: app
  registry: ghcr.io
  repository: org/app
  source: {repo: org/app, dockerfile: Dockerfile}
- name: web
  registry: ghcr.io
  repository: org/web
  updates:
    - {name: staging, repo: org/deploy, path: web.yaml, type: yaml-update, key: image.tag}
";

#[test]
fn enrolled_names_complete_where_an_image_is_named() {
    let p = Project::new();
    p.images(TWO_IMAGES);
    for words in [
        &["explain", ""][..],
        &["unenroll", ""],
        &["emergency", "--image", ""],
        &["emergency", "--reason", "cve", "--image", ""],
        &["analyze", "--image", ""],
    ] {
        assert_eq!(complete(&p, words), ["app", "web"], "{words:?}");
    }
    assert_eq!(complete(&p, &["explain", "w"]), ["web"]);
    // `staging` is an update's name, not an image's.
    assert!(!complete(&p, &["explain", "s"]).contains(&"staging".to_string()));
}

#[test]
fn names_come_from_the_dir_given_on_the_partial_line() {
    let p = Project::new();
    p.images(ONE_IMAGE);
    std::fs::create_dir_all(p.path("other")).unwrap();
    std::fs::write(
        p.path("other/images.yaml"),
        TWO_IMAGES.replace("web", "other-web"),
    )
    .unwrap();
    assert_eq!(complete(&p, &["explain", ""]), ["app"]);
    assert_eq!(
        complete(&p, &["explain", "--dir", "other", ""]),
        ["app", "other-web"]
    );
    assert_eq!(
        complete(&p, &["--color", "never", "unenroll", "--dir=other", "o"]),
        ["other-web"]
    );
}

#[test]
fn a_broken_or_missing_images_yaml_completes_what_it_can_without_an_error() {
    let p = Project::new();
    assert!(complete(&p, &["explain", ""]).is_empty());
    p.images("- name: app\n  registry: ghcr.io\n  source: [unclosed\n- name: 'web'  # quoted\n  registry: r\n");
    assert_eq!(complete(&p, &["explain", ""]), ["app", "web"]);
    p.images(": : :\n\t- {{{\n");
    assert!(complete(&p, &["explain", ""]).is_empty());
}

#[test]
fn emergency_base_completes_the_analysed_base_images() {
    let p = Project::app_on_node();
    assert_eq!(
        complete(&p, &["emergency", "--base", ""]),
        ["node-22", "app"]
    );
}

#[test]
fn dir_completes_directories_only() {
    let p = Project::app_on_node();
    std::fs::write(p.path("image-notes.txt"), "").unwrap();
    std::fs::create_dir_all(p.path("images-old")).unwrap();
    let got = complete(&p, &["synth", "--dir", "im"]);
    assert_eq!(got, ["image-factory/", "images-old/"]);
}

/// Every subcommand completes, the hidden one does not.
#[test]
fn subcommands_complete_and_the_hidden_one_does_not() {
    let p = Project::new();
    let got = complete(&p, &[""]);
    for sub in imgf::cli::Cli::command().get_subcommands() {
        let name = sub.get_name().to_string();
        assert_eq!(got.contains(&name), !sub.is_hide_set(), "{name}: {got:?}");
    }
    assert!(got.contains(&"synth".to_string()) && got.contains(&"updates".to_string()));
}

#[test]
fn each_shell_gets_a_script_that_asks_imgf() {
    let p = Project::new();
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let r = p.run(&["completions", shell]);
        assert_eq!(r.code, 0, "{shell}: {}", r.stderr);
        assert!(r.stderr.is_empty(), "{shell}: {}", r.stderr);
        assert!(
            r.stdout.contains("COMPLETE") && r.stdout.contains("imgf"),
            "{shell}:\n{}",
            r.stdout
        );
    }
}

#[test]
fn completions_refuse_an_unknown_shell() {
    let r = Project::new().run(&["completions", "tcsh"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("bash"), "{}", r.stderr);
}

/// The bash script, sourced into a real bash, completes an image name at a
/// Tab: bash's completion function runs imgf found on PATH.
#[test]
fn bash_completes_names_through_the_script() {
    let p = Project::new();
    p.images(TWO_IMAGES);
    let script = p.run(&["completions", "bash"]).stdout;
    std::fs::write(p.path("imgf.bash"), &script).unwrap();
    let bin = std::path::Path::new(env!("CARGO_BIN_EXE_imgf"))
        .parent()
        .unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let function = regex::Regex::new(r"complete\b.*-F (\S+)")
        .unwrap()
        .captures(&script)
        .unwrap_or_else(|| panic!("the script registers no function:\n{script}"))[1]
        .to_string();
    let run = |words: &str, cword: usize| {
        let out = crate::support::no_git_config(&mut std::process::Command::new("bash"))
            .args(["--norc", "--noprofile", "-c"])
            .arg(format!(
                "source ./imgf.bash
                 COMP_WORDS=({words}); COMP_CWORD={cword}; COMP_TYPE=9
                 COMP_LINE=\"${{COMP_WORDS[*]}}\"; COMP_POINT=${{#COMP_LINE}}
                 {function} imgf \"${{COMP_WORDS[COMP_CWORD]}}\" \"${{COMP_WORDS[COMP_CWORD-1]}}\"
                 printf '%s\\n' \"${{COMPREPLY[@]}}\""
            ))
            .env("PATH", &path)
            .current_dir(p.root.path())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| l.trim().to_string())
            .filter(|l| !l.is_empty() && !l.starts_with('-'))
            .collect::<Vec<_>>()
    };
    assert_eq!(run("imgf explain ''", 2), ["app", "web"]);
    assert_eq!(run("imgf unenroll w", 2), ["web"]);
}
