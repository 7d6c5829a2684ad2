//! `imgf analyze` when the input or the machine is at fault: an unusable
//! `FROM`, a dependency cycle, failures summarised with what was written,
//! `--commit` taking only imgf's files with the repository's author, an
//! archived base restored with its history, state-key typos, long names and
//! narrowed workflow inputs.

use crate::analyze::{enroll, read, write};
use crate::support::git_in as git;
use crate::support::Project;

/// A FROM that resolves to no valid reference is a failed discovery
/// (exit 2, the line and the reason) that keeps the previous bases; synth
/// and explain say so.
#[test]
fn an_unusable_from_is_a_failed_discovery_that_keeps_the_bases() {
    let p = Project::new();
    p.images(&enroll("web", "web/Dockerfile"));
    write(p.root.path(), "web/Dockerfile", "FROM node:22\n");
    assert_eq!(p.run(&["analyze"]).code, 0);
    write(p.root.path(), "web/Dockerfile", "ARG BASE\nFROM ${BASE}\n");
    let r = p.run(&["analyze"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("analysis of `web` failed"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("line 2"), "the line: {}", r.stderr);
    assert!(
        r.stderr.contains("BASE"),
        "the reason names the ARG: {}",
        r.stderr
    );
    assert!(
        r.stderr
            .contains("1 image(s) failed; 1 state file(s) written"),
        "the summary says what was written: {}",
        r.stderr
    );
    let state = read(p.root.path(), "image-factory/state/images/web.yaml");
    assert!(state.contains("discoveryStatus: failed"), "{state}");
    assert!(
        state.contains("baseImages:\n  - node-22\n"),
        "bases kept:\n{state}"
    );
    let s = p.run(&["synth", "--output", "-"]);
    assert_eq!(s.code, 0, "{}", s.stderr);
    assert!(
        s.stderr.contains("the last analysis of `web` failed"),
        "synth says it: {}",
        s.stderr
    );
    assert!(s.stdout.contains("name: rebuild-web"), "the trigger stays");
    let e = p.run(&["explain", "web"]);
    assert!(e.stdout.contains("analysis: failed"), "{}", e.stdout);
}

/// A base built FROM its own dependent is refused before anything
/// is written.
#[test]
fn analyze_refuses_a_dependency_cycle_and_writes_nothing() {
    let p = Project::new();
    p.images(&(enroll("a", "a/Dockerfile") + &enroll("b", "b/Dockerfile")));
    write(p.root.path(), "a/Dockerfile", "FROM ghcr.io/org/b:1\n");
    write(p.root.path(), "b/Dockerfile", "FROM ghcr.io/org/a:1\n");
    let r = p.run(&["analyze"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("dependency cycle: a → b → a"),
        "{}",
        r.stderr
    );
    assert!(!p.dir().join("state").exists(), "nothing written");
}

/// With two failing images the summary says what was written, not
/// "nothing was written".
#[test]
fn the_summary_of_failures_says_what_was_written() {
    let p = Project::new();
    p.images(&(enroll("a", "a/Dockerfile") + &enroll("b", "b/Dockerfile")));
    let r = p.run(&["analyze", "--source-base-url", "file:///nonexistent"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(!r.stderr.contains("nothing was written"), "{}", r.stderr);
    assert!(
        r.stderr.ends_with(
            "error: 2 image(s) failed; 2 state file(s) written, recording each failure\n"
        ),
        "{}",
        r.stderr
    );
}

/// `--commit` commits only the files imgf wrote, with git's own
/// author, and a subject that says what this run did.
#[test]
fn commit_takes_only_what_imgf_wrote_with_the_configured_author() {
    let p = Project::new();
    let root = p.root.path();
    git(root, &["init", "-q", "-b", "main"]);
    p.images(&(enroll("web", "web/Dockerfile") + &enroll("api", "api/Dockerfile")));
    write(root, "web/Dockerfile", "FROM node:22\n");
    write(root, "api/Dockerfile", "FROM python:3.12\n");
    write(root, "unrelated.txt", "staged by the user\n");
    git(root, &["add", "-A"]);
    git(root, &["commit", "-q", "-m", "seed"]);
    git(root, &["config", "user.name", "Dana Developer"]);
    git(root, &["config", "user.email", "dana@example.org"]);
    write(root, "unrelated.txt", "changed and staged, not imgf's\n");
    git(root, &["add", "unrelated.txt"]);
    let r = p.run(&["analyze", "--image", "api", "--commit"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let files = git(
        root,
        &["show", "--name-only", "--format=%an <%ae>%n%s", "HEAD"],
    );
    let mut lines = files.lines();
    assert_eq!(lines.next(), Some("Dana Developer <dana@example.org>"));
    let subject = lines.next().unwrap();
    assert!(subject.starts_with("imgf analyze api: "), "{subject}");
    let changed: Vec<&str> = lines.filter(|l| !l.is_empty()).collect();
    assert!(!changed.contains(&"unrelated.txt"), "{changed:?}");
    assert!(
        changed
            .iter()
            .all(|f| f.starts_with("image-factory/state/")),
        "{changed:?}"
    );
    let status = git(root, &["status", "--porcelain"]);
    assert!(
        status.contains("M  unrelated.txt"),
        "still staged: {status}"
    );
}

/// A base image that comes back into use gets its archived state
/// and digest history back.
#[test]
fn an_archived_base_is_restored_with_its_history() {
    let p = Project::new();
    p.images(&enroll("web", "web/Dockerfile"));
    write(p.root.path(), "web/Dockerfile", "FROM node:22\n");
    assert_eq!(p.run(&["analyze"]).code, 0);
    let digest = format!("sha256:{}", "a".repeat(64));
    assert_eq!(
        p.run(&["record-update", "--base", "node-22", "--digest", &digest])
            .code,
        0
    );
    write(p.root.path(), "web/Dockerfile", "FROM node:23\n");
    assert_eq!(p.run(&["analyze"]).code, 0);
    assert!(p
        .dir()
        .join("state/_archive/base-images/node-22.yaml")
        .is_file());
    write(p.root.path(), "web/Dockerfile", "FROM node:22\n");
    let r = p.run(&["analyze"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr.contains("restored its state and history"),
        "{}",
        r.stderr
    );
    assert!(!p
        .dir()
        .join("state/_archive/base-images/node-22.yaml")
        .exists());
    let node = read(
        p.root.path(),
        "image-factory/state/base-images/node-22.yaml",
    );
    assert!(node.contains(&digest), "history kept:\n{node}");
}

/// A key one edit away from a known one (`baseImage:`) is kept but
/// warned about with `file:line`; synth and analyze read state files the
/// same way (one reader), so both say it.
#[test]
fn a_state_key_typo_is_warned_about_with_its_line() {
    let p = Project::new();
    p.images(&enroll("web", "web/Dockerfile")).file(
        "state/images/web.yaml",
        "name: web\nbaseImage:\n  - node-22\nmyTeamNote: keep me\n",
    );
    let r = p.run(&["synth", "--output", "-", "--quiet"]);
    assert_eq!(r.code, 0);
    let r = p.run(&["synth", "--output", "-"]);
    let stderr = r.stderr.replace(p.root.path().to_str().unwrap(), "[ROOT]");
    insta::assert_snapshot!("state_key_typo", format!("exit {}\n{stderr}", r.code));
    assert!(
        !stderr.contains("myTeamNote"),
        "a key far from every known one is just kept"
    );
    // analyze reads through the same reader and keeps the key.
    write(p.root.path(), "web/Dockerfile", "FROM node:22\n");
    let a = p.run(&["analyze"]);
    assert!(
        a.stderr
            .contains("unknown key `baseImage` is one edit away from `baseImages`"),
        "{}",
        a.stderr
    );
    let state = read(p.root.path(), "image-factory/state/images/web.yaml");
    assert!(state.contains("myTeamNote: 'keep me'"), "{state}");
}

/// An image name longer than 63 characters (a real one) is a valid
/// DNS-1123 subdomain, as the old tool accepted; every derived name that
/// must be a label is shortened with the stable hash, and they agree.
#[test]
fn long_image_names_are_accepted_and_derived_names_fit() {
    let long = "customer-identity-verification-document-processing-service-worker";
    assert!(long.len() > 63);
    let p = Project::new();
    p.images(&(enroll(long, "w/Dockerfile") + &enroll("api.v2", "a/Dockerfile")))
        .file(
            &format!("state/images/{long}.yaml"),
            &format!("name: {long}\nbaseImages: [node-22]\n"),
        )
        .file(
            "state/images/api.v2.yaml",
            &format!("name: api.v2\nbaseImages: [{long}]\n"),
        )
        .file("state/base-images/node-22.yaml", crate::support::NODE_STATE);
    let r = p.run(&["synth", "--output", "-"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let all = crate::support::docs(&r.stdout);
    let mut names = std::collections::BTreeSet::new();
    for d in &all {
        let name = d["metadata"]["name"].as_str().unwrap();
        assert!(name.len() <= 63, "{name}");
        names.insert(name.to_string());
        for (_, v) in d["metadata"]["labels"].as_mapping().into_iter().flatten() {
            let v = v.as_str().unwrap();
            assert!(v.len() <= 63, "label value {v}");
        }
        // Every Warehouse a Stage requests exists under exactly that name.
        for req in d["spec"]["requestedFreight"]
            .as_sequence()
            .into_iter()
            .flatten()
        {
            let wh = req["origin"]["name"].as_str().unwrap();
            assert!(
                all.iter().any(|w| w["kind"].as_str() == Some("Warehouse")
                    && w["metadata"]["name"].as_str() == Some(wh)),
                "no Warehouse {wh}"
            );
        }
    }
    assert!(names
        .iter()
        .any(|n| n.starts_with("rebuild-customer-identity-")));
    // The cascade reads its long-named base with the Warehouse's real name.
    let api = crate::support::stage_named(&all, "rebuild-api.v2");
    let body = api["spec"]["promotionTemplate"]["spec"]["steps"][0]["config"]["body"]
        .as_str()
        .unwrap();
    let wh = api["spec"]["requestedFreight"][0]["origin"]["name"]
        .as_str()
        .unwrap();
    assert!(wh.len() <= 63 && wh != long, "{wh}");
    let _ = body;
    let body = crate::kargo_runtime::received_body(&all, api, Some("1.2"));
    assert_eq!(body["ref"], "main");
    // The analysis Job still receives the full name (the state file's name).
    let analysis = all.iter().find(|d| {
        d["metadata"]["labels"]["imgf/role"].as_str() == Some("analysis")
            && d["spec"]["verification"]["args"][0]["value"].as_str() == Some(long)
    });
    assert!(analysis.is_some());
}

/// A large enrollment is not buried in one warning per image: beyond three
/// images, left-out dispatch inputs are one warning.
#[test]
fn narrowed_inputs_are_one_warning_for_many_images() {
    let p = Project::new();
    let mut images = String::new();
    for i in 0..5 {
        let name = format!("svc-{i}");
        images.push_str(&enroll(&name, "Dockerfile"));
        p.file(
            &format!("state/images/{name}.yaml"),
            &format!(
                "name: {name}\nbaseImages: [node-22]\nworkflowInputs:\n  - name: version_bump\n"
            ),
        );
    }
    p.images(&images)
        .file("state/base-images/node-22.yaml", crate::support::NODE_STATE);
    let r = p.run(&["synth", "--output", "-"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        r.stderr.matches("declare input(s)").count(),
        1,
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("5 image(s): their workflows do not declare input(s) triggered_by, base_image, base_digest; the rebuild dispatch leaves them out (svc-0, svc-1, svc-2, svc-3, svc-4)"),
        "{}",
        r.stderr
    );
}
