//! Error messages that name the real cause: a closed stderr, I/O errors,
//! deep nesting, what stands in place of a file, loose values, and where a
//! setting came from — each in the diagnostic format, with the exit status
//! the guide documents (docs/src/errors.md).

use std::fmt::Write as _;
use std::path::Path;
use std::process::Stdio;

use crate::support::{imgf, Project, NODE_STATE, ONE_IMAGE};

/// The exit status of `imgf ARGS…` in `dir` with stderr a pipe nobody
/// reads (its read end closed before imgf starts), and what it wrote to
/// stdout.
#[allow(unsafe_code)] // pipe(2): std's `io::pipe` is newer than the crate's MSRV
fn run_with_stderr_closed(dir: &Path, args: &[&str]) -> (i32, String) {
    use std::os::fd::{FromRawFd, OwnedFd};
    let mut fds = [0; 2];
    // SAFETY: `fds` is two writable ints, as pipe(2) asks.
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0, "pipe");
    // SAFETY: pipe(2) returned two open descriptors that nothing else owns.
    let (read, write) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    drop(read);
    let out = imgf()
        .args(args)
        .current_dir(dir)
        .stderr(Stdio::from(write))
        .output()
        .expect("run imgf");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

/// A closed stderr is not a crash (Rust's exit 101): a failure
/// still exits 2, a success 0 — warnings that cannot be shown do not stop
/// the run either.
#[test]
fn a_closed_stderr_keeps_the_exit_status() {
    let p = Project::new();
    p.images("- name: app\n  colour: blue\n");
    let (code, _) = run_with_stderr_closed(p.root.path(), &["synth"]);
    assert_eq!(code, 2, "bad input exits 2 with stderr closed");
    let p = Project::app_on_node();
    let (code, stdout) = run_with_stderr_closed(p.root.path(), &["synth", "-o", "-"]);
    assert_eq!(code, 0, "a good run exits 0 with stderr closed");
    assert!(stdout.contains("kind: Warehouse"), "{stdout}");
    // An unused base-image state is a warning: the run goes on past it.
    p.file("state/base-images/unused.yaml", NODE_STATE);
    let (code, stdout) = run_with_stderr_closed(p.root.path(), &["synth", "-o", "-"]);
    assert_eq!(code, 0);
    assert!(stdout.contains("kind: Warehouse"), "{stdout}");
}

/// An I/O error is a diagnostic like any other — `error:`, the
/// file on the `-->` line, a help, colour when asked, and the path in JSON.
#[test]
fn io_errors_are_diagnostics() {
    let p = Project::app_on_node();
    std::fs::create_dir_all(p.path("out")).unwrap();
    let r = p.run(&["synth", "-q", "-o", "out"]);
    assert_eq!(r.code, 2);
    insta::assert_snapshot!("io_error_write_directory", r.stderr);
    let r = p.run(&["synth", "-o", "out", "--color", "always"]);
    assert!(r.stderr.contains("\x1b[31merror:"), "{:?}", r.stderr);
    assert!(r.stderr.contains("\x1b[36mhelp:"), "{:?}", r.stderr);
    std::fs::write(p.path("file"), "").unwrap();
    let r = p.run(&[
        "status",
        "--format",
        "json",
        "--settings",
        "file/settings.yaml",
    ]);
    assert_eq!(r.code, 2);
    let json: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let e = &json["errors"][0];
    assert_eq!(e["file"], "file/settings.yaml", "{json}");
    assert_eq!(
        e["message"],
        "cannot read `settings.yaml`: a part of the path is not a directory"
    );
    assert_eq!(e["help"], "check the path");
}

/// Deep flow nesting is refused at once, as nesting (not as an
/// alias bomb), before the YAML library spends time quadratic in the depth.
#[test]
fn deep_nesting_is_refused_as_nesting() {
    let p = Project::new();
    p.images(&format!("{}{}\n", "[".repeat(50_000), "]".repeat(50_000)));
    let r = p.run(&["synth"]);
    assert_eq!(r.code, 2);
    insta::assert_snapshot!("deep_nesting", r.stderr);
}

/// What stands where images.yaml, a state file or a Dockerfile
/// should be gets its own message — not "nothing is enrolled", nor a
/// fetch from the network.
#[test]
fn what_stands_in_place_of_a_file_is_named() {
    use std::os::unix::fs::symlink;
    let images = |p: &Project| p.dir().join("images.yaml");
    let transcript = |setup: &dyn Fn(&Project)| {
        let p = Project::new();
        std::fs::create_dir_all(p.dir()).unwrap();
        setup(&p);
        let r = p.run(&["synth", "-q"]);
        assert_eq!(r.code, 2, "{}", r.stderr);
        r.stderr
    };
    let mut all = String::new();
    for (case, setup) in [
        (
            "a directory",
            &(|p: &Project| std::fs::create_dir(images(p)).unwrap()) as &dyn Fn(&Project),
        ),
        ("a dangling link", &|p: &Project| {
            symlink("gone.yaml", images(p)).unwrap();
        }),
        ("a link loop", &|p: &Project| {
            symlink("images.yaml", images(p)).unwrap();
        }),
        ("images.yml beside it", &|p: &Project| {
            p.file("images.yml", ONE_IMAGE);
        }),
        ("a state file that is a dangling link", &|p: &Project| {
            p.images(ONE_IMAGE);
            std::fs::create_dir_all(p.dir().join("state/images")).unwrap();
            symlink("gone.yaml", p.dir().join("state/images/app.yaml")).unwrap();
        }),
        ("a state file that is a directory", &|p: &Project| {
            p.images(ONE_IMAGE);
            std::fs::create_dir_all(p.dir().join("state/images/app.yaml")).unwrap();
        }),
    ] {
        let _ = write!(all, "# {case}\n{}\n", transcript(setup));
    }
    insta::assert_snapshot!("not_a_file", all);

    // A Dockerfile that is a directory fails its analysis as such; nothing
    // is fetched (no source base URL would answer).
    let p = Project::new();
    p.images(&crate::analyze::enroll("web", "web/Dockerfile"));
    std::fs::create_dir_all(p.path("web/Dockerfile")).unwrap();
    let r = p.run(&["analyze", "--source-base-url", "file:///nonexistent"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains(
            "analysis of `web` failed: the Dockerfile web/Dockerfile is a directory, not a file"
        ),
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains("fetching"), "{}", r.stderr);
    // A link to a real state file is read through.
    let p = Project::app_on_node();
    let state = p.dir().join("state/images/app.yaml");
    std::fs::rename(&state, p.dir().join("app-state.yaml")).unwrap();
    symlink("../../app-state.yaml", &state).unwrap();
    let r = p.run(&["synth", "-o", "-", "-q"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
}

/// Values that were taken without a word are checked — analyze's
/// --digest as record-update checks it, timestamps in state files, a delay
/// with a unit twice, a registry port out of range — and a GitLab image's
/// unused workflow is pointed out.
#[test]
fn loose_values_are_checked() {
    let mut all = String::new();
    let mut show = |case: &str, r: crate::support::Run| {
        let _ = write!(all, "# {case} (exit {})\n{}\n", r.code, r.stderr);
    };
    let p = Project::app_on_node();
    show(
        "analyze --digest sha256:abc",
        p.run(&[
            "analyze",
            "--image",
            "app",
            "--tag",
            "1.0",
            "--digest",
            "sha256:abc",
        ]),
    );
    let p = Project::app_on_node();
    p.file(
        "state/images/app.yaml",
        "name: app\nbaseImages: [node-22]\nlastBuilt: yesterday\nbuildHistory:\n  - at: soon\n    tag: '1'\n",
    );
    show("timestamps in a state file", p.run(&["synth", "-q"]));
    let p = Project::app_on_node();
    p.images(&format!("{ONE_IMAGE}  rebuildDelay: 2h1d1d\n"));
    show("a delay with a unit twice", p.run(&["synth", "-q"]));
    let p = Project::app_on_node();
    p.images(&ONE_IMAGE.replace("registry: ghcr.io", "registry: ghcr.io:99999"));
    show("a registry port out of range", p.run(&["synth", "-q"]));
    let p = Project::app_on_node();
    let r = p.run(&[
        "enroll",
        "--name",
        "gl",
        "--registry",
        "ghcr.io",
        "--repository",
        "org/gl",
        "--source-repo",
        "grp/gl",
        "--dockerfile",
        "Dockerfile",
        "--provider",
        "gitlab",
        "--workflow",
        "w.yml",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    // Only the warning this is about: the fixture's own warnings aside.
    let at = r.stderr.find("is built on GitLab").expect(&r.stderr);
    let start = r.stderr[..at].rfind("warning:").unwrap();
    let end = start + r.stderr[start..].find("\n  help:").unwrap();
    let end = end + r.stderr[end + 1..].find('\n').unwrap() + 1;
    let _ = write!(
        all,
        "# enroll --provider gitlab --workflow w.yml\n{}\n",
        &r.stderr[start..end]
    );
    insta::assert_snapshot!("loose_values", all);
}

/// An external image enrolled under a base image's name, watching
/// the same repository, is that base (not "another repository"); settings
/// errors point at the key's own line, or name the flag the value came from.
#[test]
fn the_same_repository_and_where_a_setting_came_from() {
    let external =
        "- name: node-22\n  registry: docker.io\n  repository: library/node\n  tag: '22'\n";
    let p = Project::app_on_node();
    p.images(&format!("{ONE_IMAGE}{external}"));
    let r = p.run(&["synth", "-q", "-o", "-"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let docs = crate::support::docs(&r.stdout);
    let warehouses: Vec<&str> = crate::support::of_kind(&docs, "Warehouse")
        .iter()
        .filter_map(|w| w["metadata"]["name"].as_str())
        .collect();
    assert_eq!(
        warehouses.iter().filter(|n| n.contains("node")).count(),
        1,
        "one Warehouse for node: {warehouses:?}"
    );
    // Another repository under the name is still refused, as such.
    p.images(&format!(
        "{ONE_IMAGE}{}",
        external.replace("library/node", "mirror/node")
    ));
    let r = p.run(&["synth", "-q"]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("watches another repository"),
        "{}",
        r.stderr
    );

    let p = Project::app_on_node();
    p.file(
        "settings.yaml",
        "analysis:\n  serviceAccount: imgf\n  image: 'bad image'\ngithub:\n  tokenSecret:\n    name: gh\n    key: 'b c'\n",
    );
    let mut all = String::new();
    for args in [
        &["synth", "-q"][..],
        &["synth", "-q", "--project", "Bad_Name"],
        &["synth", "-q", "--analysis-image", "x y"],
    ] {
        let r = p.run(args);
        assert_eq!(r.code, 2);
        let _ = write!(all, "# imgf {}\n{}\n", args.join(" "), r.stderr);
    }
    insta::assert_snapshot!("settings_errors_point_at_their_source", all);
}
