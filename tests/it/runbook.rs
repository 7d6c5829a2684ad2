//! The runbook commands, `imgf explain` and `imgf emergency`, run as a person
//! runs them: the real binary, whole outputs compared with snapshots.

use std::process::Command;

use crate::support::{Project, Run, NODE_STATE};

fn image(name: &str, extra: &str) -> String {
    format!(
        "- name: {name}\n  registry: ghcr.io\n  repository: org/{name}\n  source:\n    repo: org/{name}\n    dockerfile: Dockerfile\n    workflow: build.yml\n    inputs: [version_bump]\n{extra}"
    )
}

fn base(name: &str, repo: &str, tag: &str) -> String {
    format!("name: {name}\nrepoURL: {repo}\ntag: '{tag}'\n")
}

/// `a` on node:22; `b` on `a`; `c` on `b` and nginx:1; `d` on `a` and
/// node:22; `other` on nginx:1. Listed out of rebuild order (a, b, c, d).
fn chain() -> Project {
    let p = Project::new();
    p.images(
        &(image("c", "")
            + &image("d", "")
            + &image("b", "")
            + &image("a", "  rebuildDelay: 7d\n")
            + &image("other", "")),
    )
    .file("state/images/a.yaml", "name: a\nbaseImages: [node-22]\n")
    .file("state/images/b.yaml", "name: b\nbaseImages: [a]\n")
    .file("state/images/c.yaml", "name: c\nbaseImages: [b, nginx-1]\n")
    .file("state/images/d.yaml", "name: d\nbaseImages: [a, node-22]\n")
    .file(
        "state/images/other.yaml",
        "name: other\nbaseImages: [nginx-1]\n",
    )
    .file("state/base-images/node-22.yaml", NODE_STATE)
    .file(
        "state/base-images/nginx-1.yaml",
        &base("nginx-1", "docker.io/library/nginx", "1"),
    );
    p
}

/// Runs `imgf ARGS…` in the project root with `env` changed (`None`
/// removes a variable).
fn run_env(p: &Project, args: &[&str], env: &[(&str, Option<&str>)]) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_imgf"));
    cmd.args(args).current_dir(p.root.path());
    for (k, v) in env {
        match v {
            Some(v) => cmd.env(k, v),
            None => cmd.env_remove(k),
        };
    }
    let o = cmd.output().expect("run imgf");
    Run {
        code: o.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

/// Exit code, stdout and stderr as one text for a snapshot, with the
/// current time (in the script and the audit) replaced by `[NOW]`.
fn transcript(r: &Run) -> String {
    let text = format!(
        "exit code: {}\n----- stdout -----\n{}----- stderr -----\n{}",
        r.code, r.stdout, r.stderr
    );
    regex::Regex::new(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")
        .unwrap()
        .replace_all(&text, "[NOW]")
        .into_owned()
}

fn state(p: &Project, name: &str) -> String {
    std::fs::read_to_string(p.dir().join(format!("state/images/{name}.yaml"))).unwrap()
}

#[test]
fn explain_an_unknown_image_suggests_the_nearest_names() {
    let p = chain();
    p.images(
        &(std::fs::read_to_string(p.dir().join("images.yaml")).unwrap()
            + &image("web", "")
            + &image("web2", "")
            + &image("worker", "")),
    );
    let r = p.run(&["explain", "webb"]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("did you mean `web` or `web2`?"),
        "{}",
        r.stderr
    );
    insta::assert_snapshot!("explain_unknown", transcript(&r));

    let r = p.run(&["explain", "zzzzzzzz"]);
    assert_eq!(r.code, 2);
    insta::assert_snapshot!("explain_unknown_far", transcript(&r));

    let r = p.run(&["explain", "node-22"]);
    assert_eq!(r.code, 2);
    insta::assert_snapshot!("explain_upstream", transcript(&r));
}

#[test]
fn emergency_with_an_unknown_name_suggests_the_nearest_and_records_nothing() {
    let p = chain();
    let before: Vec<String> = ["a", "b", "c", "d"].iter().map(|n| state(&p, n)).collect();

    let r = p.run(&["emergency", "--image", "bb", "--reason", "CVE"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("did you mean"), "{}", r.stderr);
    insta::assert_snapshot!("emergency_unknown_image", transcript(&r));

    let r = p.run(&["emergency", "--image", "node-22", "--reason", "CVE"]);
    assert_eq!(r.code, 2);
    insta::assert_snapshot!("emergency_image_is_upstream", transcript(&r));

    let r = p.run(&["emergency", "--base", "nodd-22", "--reason", "CVE"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("did you mean `node-22`?"), "{}", r.stderr);
    insta::assert_snapshot!("emergency_unknown_base", transcript(&r));

    let r = p.run(&["emergency", "--base", "node:23", "--reason", "CVE"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("did you mean `node-22`?"), "{}", r.stderr);
    insta::assert_snapshot!("emergency_unknown_base_reference", transcript(&r));

    let after: Vec<String> = ["a", "b", "c", "d"].iter().map(|n| state(&p, n)).collect();
    assert_eq!(before, after, "a refused emergency records nothing");
}

#[test]
fn explain_lists_dependents_transitively_in_rebuild_order() {
    let p = chain();
    let r = p.run(&["explain", "a"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let at = |s: &str| {
        r.stdout
            .find(s)
            .unwrap_or_else(|| panic!("no {s:?} in\n{}", r.stdout))
    };
    assert!(at("    b (on a)") < at("    c (on b)"));
    assert!(at("    c (on b)") < at("    d (on a)"));
    assert!(!r.stdout.contains("other"), "{}", r.stdout);
    insta::assert_snapshot!("explain_dependents", transcript(&r));

    let leaf = p.run(&["explain", "c"]);
    assert_eq!(leaf.code, 0, "{}", leaf.stderr);
    assert!(
        leaf.stdout.contains("  no enrolled image is built on c\n"),
        "{}",
        leaf.stdout
    );
}

#[test]
fn emergency_base_accepts_an_image_reference() {
    let p = Project::new();
    p.images(&image("web", ""))
        .file(
            "state/images/web.yaml",
            "name: web\nbaseImages: [node-22-bookworm-slim]\n",
        )
        .file(
            "state/base-images/node-22-bookworm-slim.yaml",
            "name: node-22-bookworm-slim\nfullImage: node:22-bookworm-slim\nregistry: docker.io\nrepository: library/node\ntag: 22-bookworm-slim\nrepoURL: docker.io/library/node\n",
        );
    for reference in [
        "node:22-bookworm-slim",
        "docker.io/library/node:22-bookworm-slim",
        "node-22-bookworm-slim",
    ] {
        let r = p.run(&["emergency", "--base", reference, "--reason", "CVE"]);
        assert_eq!(r.code, 0, "{reference}: {}", r.stderr);
        assert!(r.stdout.contains("rebuild-web"), "{}", r.stdout);
        assert!(
            r.stdout.contains("$(latest node-22-bookworm-slim)"),
            "{}",
            r.stdout
        );
    }
    assert_eq!(state(&p, "web").matches("emergency-rebuild").count(), 3);

    // An enrolled image's reference names it (its tag is its build's).
    let r = p.run(&[
        "emergency",
        "--base",
        "ghcr.io/org/web:1.2.3",
        "--reason",
        "CVE",
    ]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("nothing is built on `web`"),
        "{}",
        r.stderr
    );

    let r = p.run(&["emergency", "--base", "node:22-bookworm", "--reason", "CVE"]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("did you mean `node-22-bookworm-slim`?"),
        "{}",
        r.stderr
    );
}

/// The actor is `--actor`, else `$USER`, else `$LOGNAME`, else the name of
/// the user id in /etc/passwd, else "unknown".
#[test]
fn emergency_actor_falls_back_to_the_login_name() {
    let recorded = |env: &[(&str, Option<&str>)]| {
        let p = chain();
        let r = run_env(&p, &["emergency", "--image", "c", "--reason", "CVE"], env);
        assert_eq!(r.code, 0, "{}", r.stderr);
        let s = state(&p, "c");
        let line = s
            .lines()
            .find(|l| l.trim_start().starts_with("actor:"))
            .unwrap();
        line.trim_start()["actor:".len()..]
            .trim()
            .trim_matches('\'')
            .to_string()
    };
    assert_eq!(
        recorded(&[("USER", Some("alice")), ("LOGNAME", Some("bob"))]),
        "alice"
    );
    assert_eq!(recorded(&[("USER", None), ("LOGNAME", Some("bob"))]), "bob");
    assert_eq!(
        recorded(&[("USER", Some(" ")), ("LOGNAME", Some("bob"))]),
        "bob"
    );
    let id = Command::new("id").arg("-un").output().unwrap();
    let expected = if id.status.success() {
        String::from_utf8(id.stdout).unwrap().trim().to_string()
    } else {
        "unknown".to_string()
    };
    assert_eq!(recorded(&[("USER", None), ("LOGNAME", None)]), expected);
}

/// Each base the emergency concerns is approved *and* promoted: an image
/// built on two bases is rebuilt from the new Freight of both.
#[test]
fn emergency_promotes_every_base_of_an_image() {
    let p = chain();
    let r = p.run(&["emergency", "--image", "c", "--reason", "CVE"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let promoted: Vec<&str> = r
        .stdout
        .lines()
        .filter(|l| l.starts_with("kargo promote ") && l.ends_with(" rebuild-c"))
        .collect();
    assert_eq!(promoted.len(), 2, "{}", r.stdout);
}
