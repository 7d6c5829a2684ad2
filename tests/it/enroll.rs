//! `imgf enroll` / `imgf unenroll`: images.yaml edited in place, every other
//! byte kept, validated as synth validates.

use std::path::Path;

use crate::support::{copy_tree, Project};

/// A copy of the bundled example (a commented images.yaml and its state).
fn example() -> Project {
    let p = Project::new();
    copy_tree(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("image-factory"),
        &p.dir(),
    );
    p
}

fn images(p: &Project) -> String {
    std::fs::read_to_string(p.dir().join("images.yaml")).unwrap()
}

const BILLING: &[&str] = &[
    "enroll",
    "--name",
    "billing",
    "--registry",
    "ghcr.io",
    "--repository",
    "example-org/billing",
    "--source-repo",
    "example-org/platform-images",
    "--dockerfile",
    "services/billing/Dockerfile",
    "--workflow",
    "billing.yml",
    "--delay",
    "0",
    "--owner",
    "team-b",
];

#[test]
fn enroll_keeps_every_byte_and_unenroll_restores_it() {
    let p = example();
    let before = images(&p);
    let r = p.run(BILLING);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let after = images(&p);
    let added = after
        .strip_prefix(&before)
        .expect("the old file is a prefix, byte for byte");
    insta::assert_snapshot!("enroll_added_entry", added);
    // The result is what synth accepts.
    assert_eq!(p.run(&["synth", "--output", "-"]).code, 0);
    // A duplicate is refused; --update replaces it.
    let again = p.run(BILLING);
    assert_ne!(again.code, 0);
    assert!(
        again.stderr.contains("already enrolled"),
        "{}",
        again.stderr
    );
    assert_eq!(images(&p), after);
    let mut update = BILLING.to_vec();
    update.extend(["--manual", "--update"]);
    let r = p.run(&update);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(images(&p), format!("{after}  autoRebuild: false\n"));
    // Unenroll gives back the original, byte for byte.
    let r = p.run(&["unenroll", "billing"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(images(&p), before);
}

#[test]
fn enroll_dry_run_prints_the_diff_and_writes_nothing() {
    let p = example();
    let before = images(&p);
    let mut args = BILLING.to_vec();
    args.push("--dry-run");
    let r = p.run(&args);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("+- name: billing\n"), "{}", r.stdout);
    assert!(r.stdout.contains("+  rebuildDelay: '0'\n"), "{}", r.stdout);
    assert_eq!(images(&p), before);
}

#[test]
fn enroll_from_a_file_keeps_its_comments() {
    let p = example();
    let before = images(&p);
    p.file(
        "entry.yaml",
        "# Watched only.\nname: redis\nregistry: docker.io\nrepository: library/redis\ntag: 7-alpine   # the tag\n",
    );
    let entry = p.dir().join("entry.yaml");
    let r = p.run(&["enroll", "-f", entry.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        images(&p),
        format!("{before}\n# Watched only.\n- name: redis\n  registry: docker.io\n  repository: library/redis\n  tag: 7-alpine   # the tag\n")
    );
}

#[test]
fn unenroll_leaves_the_rest_untouched() {
    let p = example();
    let before = images(&p);
    let start = before.find("# Built on python-base").unwrap();
    let end = before.find("# A multi-stage build").unwrap();
    let r = p.run(&["unenroll", "api"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        images(&p),
        format!("{}{}", &before[..start], &before[end..])
    );
    let one = Project::new();
    one.images(
        "# only\n- name: pg\n  registry: docker.io\n  repository: library/postgres\n  tag: '16'\n",
    );
    let r = one.run(&["unenroll", "pg"]);
    assert_ne!(r.code, 0);
    assert!(r.stderr.contains("would be empty"), "{}", r.stderr);
    let r = p.run(&["unenroll", "nope"]);
    assert_ne!(r.code, 0);
    assert!(r.stderr.contains("not enrolled"), "{}", r.stderr);
}

#[test]
fn enroll_refuses_bad_input_with_synths_diagnostics() {
    let bad = [
        "enroll",
        "--name",
        "bad",
        "--registry",
        "GHCR",
        "--repository",
        "x",
        "--owner",
        "a b",
        "--delay",
        "soon",
    ];
    let p = example();
    let before = images(&p);
    let r = p.run(&bad);
    assert_ne!(r.code, 0);
    assert_eq!(images(&p), before, "nothing is written");
    // The same entry written by hand (quoted as enroll writes it, for the
    // source lines under the errors): synth says exactly the same.
    let q = example();
    q.images(&format!(
        "{before}\n- name: bad\n  registry: GHCR\n  repository: x\n  owner: 'a b'\n  rebuildDelay: soon\n"
    ));
    let s = q.run(&["synth", "--output", "-"]);
    assert_ne!(s.code, 0);
    assert_eq!(r.stderr, s.stderr);
    assert!(r.stderr.contains("invalid owner"), "{}", r.stderr);
}
