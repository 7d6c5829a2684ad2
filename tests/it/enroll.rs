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
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(images(&one), "# only\n[]\n");
    let r = p.run(&["unenroll", "nope"]);
    assert_ne!(r.code, 0);
    assert!(r.stderr.contains("not enrolled"), "{}", r.stderr);
}

#[test]
fn enroll_refuses_bad_input_naming_the_flags() {
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
    assert_eq!(r.code, 2);
    assert_eq!(images(&p), before, "nothing is written");
    insta::assert_snapshot!("enroll_bad_flags", r.stderr);
}

/// The names enrolled in `p`'s images.yaml, in order.
fn names(p: &Project) -> Vec<String> {
    let v: yaml_serde::Value = yaml_serde::from_str(&images(p)).unwrap();
    v.as_sequence()
        .map(|s| {
            s.iter()
                .map(|e| e["name"].as_str().unwrap().to_string())
                .collect()
        })
        .unwrap_or_default()
}

fn transcript(r: &crate::support::Run) -> String {
    format!(
        "----- exit code: {} -----\n----- stdout -----\n{}----- stderr -----\n{}",
        r.code, r.stdout, r.stderr
    )
}

/// Ten runs at once, each adding its own image: every one that says
/// "enrolled" is in the file.
#[test]
fn concurrent_enrolls_all_land() {
    let p = example();
    let before = names(&p).len();
    let children: Vec<_> = (0..10)
        .map(|i| {
            let name = format!("img-{i}");
            let repo = format!("library/img-{i}");
            crate::support::imgf()
                .args([
                    "enroll",
                    "--name",
                    &name,
                    "--registry",
                    "docker.io",
                    "--repository",
                    &repo,
                    "--tag",
                    "1",
                ])
                .current_dir(p.root.path())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for c in children {
        let o = c.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert!(o.status.success(), "{stderr}");
        assert!(stderr.starts_with("enrolled `img-"), "{stderr}");
    }
    let after = names(&p);
    assert_eq!(after.len(), before + 10, "{after:?}");
    for i in 0..10 {
        assert!(
            after.contains(&format!("img-{i}")),
            "img-{i} lost: {after:?}"
        );
    }
    // The lock is on the directory: no lock or temporary file is left.
    let mut left: Vec<String> = std::fs::read_dir(p.dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    left.sort();
    assert!(left.is_empty(), "{left:?}");
}

/// An editor's save: a run waiting for the lock reads the file
/// only once it has it, so what was saved meanwhile stays.
#[cfg(unix)]
#[test]
fn enroll_waits_for_the_lock_and_keeps_a_save_made_meanwhile() {
    let p = example();
    let dir = std::fs::File::open(p.dir()).unwrap();
    fs4::FileExt::lock(&dir).unwrap();
    let child = crate::support::imgf()
        .args(REDIS)
        .current_dir(p.root.path())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    // The "editor": saves a new entry while imgf waits.
    let saved = format!(
        "{}\n- name: pg\n  registry: docker.io\n  repository: library/postgres\n  tag: '16'\n",
        images(&p)
    );
    std::fs::write(p.dir().join("images.yaml"), &saved).unwrap();
    fs4::FileExt::unlock(&dir).unwrap();
    let o = child.wait_with_output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let now = images(&p);
    assert!(now.starts_with(&saved), "the save was lost:\n{now}");
    assert!(names(&p).contains(&"redis".to_string()));
}

/// `--update` with flags changes those keys and nothing else —
/// `updates:`, `source.inputs`, `buildArgs` and comments stay — and shows
/// the lines it changed.
#[test]
fn update_with_flags_changes_only_the_given_keys() {
    let p = example();
    let before = images(&p);
    let r = p.run(&[
        "enroll", "--update", "--name", "web", "--delay", "12h", "--branch", "release", "--owner",
        "team-web",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let web = before.find("- name: web").unwrap();
    let end = before.find("# Built on GitLab").unwrap();
    let entry = &before[web..end];
    let changed = entry
        .replace("    branch: main\n", "    branch: release\n")
        .replace("  rebuildDelay: 3d\n", "  rebuildDelay: '12h'\n")
        .replace(
            "      autoPromote: false\n",
            "      autoPromote: false\n  owner: team-web\n",
        );
    assert_eq!(
        images(&p),
        format!("{}{changed}{}", &before[..web], &before[end..])
    );
    insta::assert_snapshot!("update_shows_the_changed_lines", transcript(&r));
    // Nothing to change is said, and nothing is written.
    let r = p.run(&["enroll", "--update", "--name", "web"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("nothing to update"), "{}", r.stderr);
}

/// Unenrolling the first image keeps the file's header, the
/// `$schema` line first.
#[test]
fn unenroll_of_the_first_keeps_the_header() {
    let p = Project::new();
    let header = "# yaml-language-server: $schema=./images.schema.json\n# Our images.\n";
    p.images(&format!(
        "{header}- name: pg\n  registry: docker.io\n  repository: library/postgres\n  tag: '16'\n\n- name: redis\n  registry: docker.io\n  repository: library/redis\n  tag: '7'\n"
    ));
    let r = p.run(&["unenroll", "pg"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        images(&p),
        format!("{header}- name: redis\n  registry: docker.io\n  repository: library/redis\n  tag: '7'\n")
    );
}

const REDIS: &[&str] = &[
    "enroll",
    "--name",
    "redis",
    "--registry",
    "docker.io",
    "--repository",
    "library/redis",
    "--tag",
    "7",
];

/// Enroll starts a missing or empty images.yaml; unenrolling the
/// last image leaves `[]`, which enroll takes again.
#[test]
fn enroll_starts_the_file_and_unenroll_leaves_an_empty_list() {
    let p = Project::new();
    let r = p.run(REDIS);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        r.stderr,
        "started image-factory/images.yaml; enrolled `redis` in image-factory/images.yaml\n"
    );
    let one = "- name: redis\n  registry: docker.io\n  repository: library/redis\n  tag: '7'\n";
    assert_eq!(images(&p), one);
    let r = p.run(&["unenroll", "redis"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(images(&p), "[]\n");
    let r = p.run(REDIS);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(images(&p), one);
    let empty = Project::new();
    empty.images("# nothing yet\n");
    let r = empty.run(REDIS);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(images(&empty), format!("# nothing yet\n\n{one}"));
    // An images.yml beside a missing images.yaml is never hidden by a new
    // file; a link to nowhere is not written through.
    let yml = Project::new();
    std::fs::create_dir_all(yml.dir()).unwrap();
    std::fs::write(yml.dir().join("images.yml"), one).unwrap();
    for args in [REDIS, &["unenroll", "redis"][..]] {
        let r = yml.run(args);
        assert_eq!(r.code, 2, "{}", r.stderr);
        assert!(
            r.stderr.contains("there is an images.yml beside it"),
            "{}",
            r.stderr
        );
    }
    assert!(!yml.dir().join("images.yaml").exists());
    #[cfg(unix)]
    {
        let dangling = Project::new();
        std::fs::create_dir_all(dangling.dir()).unwrap();
        std::os::unix::fs::symlink("nowhere.yaml", dangling.dir().join("images.yaml")).unwrap();
        let r = dangling.run(REDIS);
        assert_eq!(r.code, 2, "{}", r.stderr);
        assert!(!dangling.dir().join("nowhere.yaml").exists());
    }
}

const CRLF: &str = "# crlf\r\n- name: pg\r\n  registry: docker.io\r\n  repository: library/postgres\r\n  tag: '16'\r\n";

/// CRLF stays CRLF; the mode stays; a read-only file is refused and left as
/// it was.
#[cfg(unix)]
#[test]
fn line_endings_and_mode_are_kept_and_read_only_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    let p = Project::new();
    let crlf = CRLF;
    p.images(crlf);
    let file = p.dir().join("images.yaml");
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o640)).unwrap();
    let r = p.run(REDIS);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let text = images(&p);
    assert_eq!(
        text,
        format!("{crlf}\r\n- name: redis\r\n  registry: docker.io\r\n  repository: library/redis\r\n  tag: '7'\r\n")
    );
    let meta = std::fs::metadata(&file).unwrap();
    assert_eq!(meta.permissions().mode() & 0o7777, 0o640);
    let r = p.run(&["unenroll", "redis"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(images(&p), crlf);
    // Read-only: refused by its mode bits, which root would otherwise pass
    // by; nothing is written.
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o444)).unwrap();
    let r = p.run(REDIS);
    assert_eq!(r.code, 2);
    assert_eq!(images(&p), crlf);
    assert_eq!(
        std::fs::metadata(&file).unwrap().permissions().mode() & 0o7777,
        0o444
    );
    insta::assert_snapshot!("read_only_refused", r.stderr);
}

/// A file another user owns keeps its owner and group through enroll and
/// unenroll (only root can give a file away, so only root can check it).
#[cfg(unix)]
#[test]
#[cfg_attr(not(as_root), ignore = "needs root, to give the file to another owner")]
fn owner_and_group_are_kept() {
    use std::os::unix::fs::MetadataExt;
    if !crate::support::root("the owner and group check cannot be made") {
        return;
    }
    let p = Project::new();
    p.images(CRLF);
    let file = p.dir().join("images.yaml");
    std::os::unix::fs::chown(&file, Some(4321), Some(4322)).unwrap();
    for args in [REDIS, &["unenroll", "redis"][..]] {
        let r = p.run(args);
        assert_eq!(r.code, 0, "{}", r.stderr);
        let meta = std::fs::metadata(&file).unwrap();
        assert_eq!((meta.uid(), meta.gid()), (4321, 4322), "after {args:?}");
    }
    assert_eq!(images(&p), CRLF);
}

/// Layouts the editor cannot change safely say so; errors name the
/// flag, or the `-f` file and its line; long values are cut.
#[test]
fn layout_flag_and_file_errors_name_the_cause() {
    let flow = Project::new();
    flow.images("[{name: pg, registry: docker.io, repository: library/postgres, tag: '16'}]\n");
    let r = flow.run(REDIS);
    assert_eq!(r.code, 2);
    insta::assert_snapshot!("flow_style_refused", r.stderr);
    let ended = Project::new();
    ended.images(
        "- name: pg\n  registry: docker.io\n  repository: library/postgres\n  tag: '16'\n...\n",
    );
    let r = ended.run(REDIS);
    assert_eq!(r.code, 2);
    insta::assert_snapshot!("document_end_refused", r.stderr);

    let p = example();
    let before = images(&p);
    let mut delay = REDIS.to_vec();
    delay.extend(["--delay", "9q"]);
    let r = p.run(&delay);
    assert_eq!(r.code, 2);
    insta::assert_snapshot!("flag_value_named", r.stderr);
    let long = "x".repeat(300);
    let mut owner = REDIS.to_vec();
    owner.extend(["--owner", &long]);
    let r = p.run(&owner);
    assert_eq!(r.code, 2);
    assert!(!r.stderr.contains(&"x".repeat(100)), "{}", r.stderr);
    insta::assert_snapshot!("long_value_cut", r.stderr);
    p.file(
        "entry.yaml",
        "# Watched only.\nname: redis\nregistry: docker.io\nrepository: library/redis\ntag: '7'\nrebuildDelay: 9q\n",
    );
    let r = p.run(&["enroll", "-f", "image-factory/entry.yaml"]);
    assert_eq!(r.code, 2);
    insta::assert_snapshot!("file_entry_error_names_the_file", r.stderr);
    assert_eq!(images(&p), before);
}

/// Every enroll flag has help; -q; "did you mean"; unenrolling a
/// base of other images explains the order; the path shown is the one
/// given.
#[test]
fn help_quiet_suggestions_and_cascades() {
    let r = crate::support::imgf()
        .args(["enroll", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&r.stdout).into_owned();
    // Long help: each option's line is followed by its description.
    let lines: Vec<&str> = help.lines().collect();
    for (i, l) in lines.iter().enumerate() {
        let t = l.trim_start();
        if t.starts_with("--")
            || (t.starts_with('-') && t.chars().nth(1).is_some_and(char::is_alphabetic))
        {
            let next = lines.get(i + 1).map_or("", |n| n.trim());
            assert!(
                !next.is_empty() && !next.starts_with('-'),
                "no help for `{t}`:\n{help}"
            );
        }
    }
    let p = example();
    let mut quiet = REDIS.to_vec();
    quiet.push("-q");
    let r = p.run(&quiet);
    assert_eq!((r.code, r.stderr.as_str()), (0, ""));
    let r = p.run(&["unenroll", "-q", "redis"]);
    assert_eq!((r.code, r.stderr.as_str()), (0, ""));
    let r = p.run(&["unenroll", "wrker"]);
    assert_eq!(r.code, 2);
    insta::assert_snapshot!("unenroll_did_you_mean", r.stderr);
    let before = images(&p);
    let r = p.run(&["unenroll", "python-base"]);
    assert_eq!(r.code, 2);
    assert_eq!(images(&p), before);
    insta::assert_snapshot!("unenroll_a_base_explains_the_order", r.stderr);
    // The path as given.
    let moved = Project::new();
    copy_tree(&p.dir(), &moved.path("factory"));
    let r = moved.run(&["unenroll", "--dir", "./factory", "postgres"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        r.stderr,
        "unenrolled `postgres` (`imgf analyze` archives its state file) in ./factory/images.yaml\n"
    );
}
