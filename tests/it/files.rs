//! The files imgf writes: their modes, writes through symlinks, devices and
//! FIFOs, where synth writes by default, and the line it prints about it.
//!
//! Every run here goes through `sh -c 'umask …; exec imgf …'`, so the modes
//! of new files do not depend on the umask of whoever runs the tests.

#![cfg(unix)]

use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, SystemTime};

use crate::support::{Project, Run, NODE_STATE};

/// One managed image whose dispatch inputs are declared, and settings that
/// name the analysis image and the state repository: synth has nothing to
/// warn about, so stderr holds only what this file tests.
const IMAGES: &str = "\
- name: app
  registry: ghcr.io
  repository: org/app
  source:
    repo: org/app
    branch: main
    dockerfile: docker/Dockerfile
    workflow: build.yml
    inputs: [triggered_by, base_image, base_digest]
";

const SETTINGS: &str = "\
analysis:
  image: ghcr.io/org/imgf:0.1.0
  stateRepoURL: https://github.com/org/platform.git
";

fn project() -> Project {
    let p = Project::new();
    p.images(IMAGES).file("settings.yaml", SETTINGS);
    p
}

/// Runs `imgf ARGS…` in `cwd` with umask `umask`.
fn imgf_umask(cwd: &Path, umask: &str, args: &[&str]) -> Run {
    let o = crate::support::no_git_config(&mut Command::new("sh"))
        .env_remove("NO_COLOR")
        .env_remove("CLICOLOR")
        .env_remove("CLICOLOR_FORCE")
        .env_remove("TERM")
        .arg("-c")
        .arg(r#"umask "$1"; shift; exec "$@""#)
        .arg("sh")
        .arg(umask)
        .arg(env!("CARGO_BIN_EXE_imgf"))
        .args(args)
        .current_dir(cwd)
        .output()
        .expect("run imgf");
    Run {
        code: o.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

/// Runs `imgf ARGS…` in `cwd` with umask 022.
fn imgf(cwd: &Path, args: &[&str]) -> Run {
    imgf_umask(cwd, "022", args)
}

/// A run as one text (as uv's tests show one): exit code, stdout, stderr.
fn show(r: &Run) -> String {
    format!(
        "success: {}\nexit_code: {}\n----- stdout -----\n{}\n----- stderr -----\n{}",
        r.code == 0,
        r.code,
        r.stdout,
        r.stderr
    )
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

fn set_mode(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// The names in `dir`, sorted (to see that no temporary file is left).
fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// What synth writes for `p` (from stdout).
fn manifests(p: &Project) -> String {
    let r = imgf(p.root.path(), &["synth", "-o", "-"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    r.stdout
}

// Modes.

#[test]
fn new_output_and_state_files_get_the_mode_a_normal_write_gives() {
    let p = project();
    let r = imgf_umask(p.root.path(), "022", &["synth"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(mode(&p.path("dist/image-factory.k8s.yaml")), 0o644);

    let r = imgf_umask(p.root.path(), "002", &["synth", "-o", "other.yaml"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(mode(&p.path("other.yaml")), 0o664, "0666 & !umask");

    // State files go through the same writer.
    write(&p.path("docker/Dockerfile"), "FROM node:22\n");
    let r = imgf_umask(p.root.path(), "022", &["analyze"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(mode(&p.dir().join("state/images/app.yaml")), 0o644);
    assert_eq!(mode(&p.dir().join("state/base-images/node-22.yaml")), 0o644);
}

#[test]
fn replacing_a_file_keeps_its_mode() {
    let p = project();
    let out = p.path("dist/image-factory.k8s.yaml");
    write(&out, "old output\n");
    set_mode(&out, 0o640);
    let r = imgf_umask(p.root.path(), "077", &["synth"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(std::fs::read_to_string(&out)
        .unwrap()
        .contains("kind: Warehouse"));
    assert_eq!(mode(&out), 0o640);

    // A state file replaced by record-update keeps its mode too.
    p.file("state/base-images/node-22.yaml", NODE_STATE);
    let state = p.dir().join("state/base-images/node-22.yaml");
    set_mode(&state, 0o604);
    let digest = format!("sha256:{}", "1".repeat(64));
    let r = imgf(
        p.root.path(),
        &["record-update", "--base", "node-22", "--digest", &digest],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(std::fs::read_to_string(&state).unwrap().contains(&digest));
    assert_eq!(mode(&state), 0o604);
}

// Symlinks, devices, FIFOs.

#[test]
fn output_through_a_symlink_replaces_the_target_and_keeps_the_link() {
    let p = project();
    let expected = manifests(&p);
    let target = p.path("real/manifests.yaml");
    write(&target, "old output\n");
    set_mode(&target, 0o640);
    std::fs::create_dir_all(p.path("dist")).unwrap();
    let link = p.path("dist/image-factory.k8s.yaml");
    std::os::unix::fs::symlink("../real/manifests.yaml", &link).unwrap();

    let r = imgf(p.root.path(), &["synth"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let meta = std::fs::symlink_metadata(&link).unwrap();
    assert!(meta.file_type().is_symlink(), "the link is still a link");
    assert_eq!(
        std::fs::read_link(&link).unwrap(),
        Path::new("../real/manifests.yaml")
    );
    assert_eq!(std::fs::read_to_string(&target).unwrap(), expected);
    assert_eq!(mode(&target), 0o640, "the target keeps its mode");
    assert_eq!(names(&p.path("dist")), ["image-factory.k8s.yaml"]);
    assert_eq!(names(&p.path("real")), ["manifests.yaml"], "no temp file");
    insta::assert_snapshot!(show(&r), @r"
    success: true
    exit_code: 0
    ----- stdout -----

    ----- stderr -----
    wrote dist/image-factory.k8s.yaml (8 objects)
    ");

    // A link whose target does not exist yet: the target is created.
    std::os::unix::fs::symlink("real/new.yaml", p.path("new-link.yaml")).unwrap();
    let r = imgf(p.root.path(), &["synth", "-o", "new-link.yaml"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(std::fs::symlink_metadata(p.path("new-link.yaml"))
        .unwrap()
        .file_type()
        .is_symlink());
    assert_eq!(
        std::fs::read_to_string(p.path("real/new.yaml")).unwrap(),
        expected
    );
    assert_eq!(mode(&p.path("real/new.yaml")), 0o644);
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

#[test]
fn output_to_a_device_writes_to_it_and_keeps_it() {
    let p = project();
    // First a device node of our own (root can make one): if imgf replaced
    // it, only this test directory suffers, and the test stops before it
    // goes near the system's /dev/null.
    if is_root() {
        let node = p.path("null");
        let made = Command::new("mknod")
            .arg(&node)
            .args(["c", "1", "3"])
            .status()
            .unwrap();
        assert!(made.success(), "mknod");
        let r = imgf(p.root.path(), &["synth", "-o", "null"]);
        assert_eq!(r.code, 0, "{}", r.stderr);
        let meta = std::fs::symlink_metadata(&node).unwrap();
        assert!(
            meta.file_type().is_char_device(),
            "the device node was replaced by a {:?}",
            meta.file_type()
        );
        assert_eq!(names(p.root.path()), ["image-factory", "null"]);
    }

    let r = imgf(p.root.path(), &["synth", "-o", "/dev/null"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let meta = std::fs::symlink_metadata("/dev/null").unwrap();
    assert!(meta.file_type().is_char_device(), "/dev/null survives");
    assert_eq!(meta.rdev(), 0x103, "and is still 1:3");
    insta::assert_snapshot!(show(&r), @r"
    success: true
    exit_code: 0
    ----- stdout -----

    ----- stderr -----
    wrote /dev/null (8 objects)
    ");

    // A device that refuses the write is an error, reported as one.
    let r = imgf(p.root.path(), &["synth", "-o", "/dev/full"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("/dev/full"), "{}", r.stderr);
    assert!(std::fs::symlink_metadata("/dev/full")
        .unwrap()
        .file_type()
        .is_char_device());
}

#[test]
fn output_to_a_fifo_writes_into_it() {
    let p = project();
    let expected = manifests(&p);
    let fifo = p.path("pipe");
    assert!(Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    let (tx, rx) = std::sync::mpsc::channel();
    let reader = fifo.clone();
    std::thread::spawn(move || {
        let _ = tx.send(std::fs::read_to_string(reader).unwrap());
    });
    let r = imgf(p.root.path(), &["synth", "-o", "pipe"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let read = rx
        .recv_timeout(Duration::from_secs(60))
        .expect("the reader of the FIFO got nothing: imgf did not write into it");
    assert_eq!(read, expected);
    assert!(std::fs::symlink_metadata(&fifo)
        .unwrap()
        .file_type()
        .is_fifo());
    assert_eq!(names(p.root.path()), ["image-factory", "pipe"]);
}

#[test]
fn output_to_stdout_by_name_writes_into_it() {
    // /proc/self/fd/1 is where /dev/stdout and /dev/fd/1 lead; the kernel
    // makes it, so no other test can have broken it.
    let p = project();
    let expected = manifests(&p);
    let r = imgf(p.root.path(), &["synth", "-q", "-o", "/proc/self/fd/1"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stdout, expected, "a pipe is written into");

    // Redirected to a file: that file is written in place, not replaced.
    let out = p.path("out.yaml");
    let file = std::fs::File::create(&out).unwrap();
    let inode = file.metadata().unwrap().ino();
    let o = crate::support::imgf()
        .args(["synth", "-o", "/proc/self/fd/1"])
        .current_dir(p.root.path())
        .stdout(file)
        .output()
        .unwrap();
    assert!(o.status.success());
    assert_eq!(
        String::from_utf8_lossy(&o.stderr),
        "wrote /proc/self/fd/1 (8 objects)\n"
    );
    assert_eq!(std::fs::read_to_string(&out).unwrap(), expected);
    assert_eq!(std::fs::metadata(&out).unwrap().ino(), inode);
    assert_eq!(names(p.root.path()), ["image-factory", "out.yaml"]);
}

#[test]
fn output_that_is_a_directory_is_an_error_and_leaves_nothing() {
    let p = project();
    std::fs::create_dir_all(p.path("dist/image-factory.k8s.yaml")).unwrap();
    let r = imgf(p.root.path(), &["synth"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("dist/image-factory.k8s.yaml"),
        "{}",
        r.stderr
    );
    assert_eq!(names(&p.path("dist")), ["image-factory.k8s.yaml"]);
    assert!(names(&p.path("dist/image-factory.k8s.yaml")).is_empty());
}

// The default output path and what synth says.

#[test]
fn default_output_is_beside_the_dir_not_in_the_current_directory() {
    let p = project();
    let elsewhere = p.path("elsewhere");
    std::fs::create_dir_all(&elsewhere).unwrap();

    let r = imgf(&elsewhere, &["synth", "--dir", "../image-factory"]);
    insta::assert_snapshot!(show(&r), @r"
    success: true
    exit_code: 0
    ----- stdout -----

    ----- stderr -----
    wrote ../dist/image-factory.k8s.yaml (8 objects)
    ");
    assert!(p.path("dist/image-factory.k8s.yaml").is_file());
    assert_eq!(names(&elsewhere), Vec::<String>::new(), "no stray dist/");

    // --check finds the same file.
    let r = imgf(
        &elsewhere,
        &["synth", "--check", "--dir", "../image-factory"],
    );
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);

    // `--dir .` from inside the enrollment directory: dist/ beside it.
    let r = imgf(&p.dir(), &["synth", "--dir", "."]);
    insta::assert_snapshot!(show(&r), @r"
    success: true
    exit_code: 0
    ----- stdout -----

    ----- stderr -----
    ../dist/image-factory.k8s.yaml is up to date (8 objects)
    ");
    assert!(!p.dir().join("dist").exists());

    // An explicit --output is relative to the current directory.
    let r = imgf(
        &elsewhere,
        &["synth", "--dir", "../image-factory", "-o", "out.yaml"],
    );
    insta::assert_snapshot!(show(&r), @r"
    success: true
    exit_code: 0
    ----- stdout -----

    ----- stderr -----
    wrote out.yaml (8 objects)
    ");
    assert_eq!(names(&elsewhere), ["out.yaml"]);
}

#[test]
fn synth_says_what_it_wrote_and_leaves_an_identical_file_alone() {
    let p = project();
    let out = p.path("dist/image-factory.k8s.yaml");
    let r = imgf(p.root.path(), &["synth"]);
    insta::assert_snapshot!(show(&r), @r"
    success: true
    exit_code: 0
    ----- stdout -----

    ----- stderr -----
    wrote dist/image-factory.k8s.yaml (8 objects)
    ");

    let past = SystemTime::UNIX_EPOCH + Duration::from_secs(946_684_800);
    std::fs::File::options()
        .write(true)
        .open(&out)
        .unwrap()
        .set_modified(past)
        .unwrap();
    let inode = std::fs::metadata(&out).unwrap().ino();
    let r = imgf(p.root.path(), &["synth"]);
    insta::assert_snapshot!(show(&r), @r"
    success: true
    exit_code: 0
    ----- stdout -----

    ----- stderr -----
    dist/image-factory.k8s.yaml is up to date (8 objects)
    ");
    let meta = std::fs::metadata(&out).unwrap();
    assert_eq!(meta.modified().unwrap(), past, "not rewritten");
    assert_eq!(meta.ino(), inode, "not replaced");

    // --quiet says nothing; neither does writing to stdout.
    let r = imgf(p.root.path(), &["synth", "--quiet"]);
    insta::assert_snapshot!(show(&r), @r"
    success: true
    exit_code: 0
    ----- stdout -----

    ----- stderr -----
    ");
    let r = imgf(p.root.path(), &["synth", "-o", "-"]);
    assert_eq!(r.code, 0);
    assert!(r.stdout.contains("kind: Warehouse"));
    assert_eq!(r.stderr, "");
}
