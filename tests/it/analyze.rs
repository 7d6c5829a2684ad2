//! `imgf analyze` and `imgf record-update` end to end, on directories and
//! real git repositories the tests create (file:// remotes, no network).

use crate::support::{git_in as git, Project};
use std::path::Path;

const DOCKERFILE: &str = "ARG NODE=22\nFROM node:${NODE}-bookworm-slim AS build\nFROM nginx:1.27-alpine\nCOPY --from=build /a /b\n";

pub(crate) fn enroll(name: &str, dockerfile: &str) -> String {
    format!(
        "- name: {name}\n  registry: ghcr.io\n  repository: org/{name}\n  source:\n    repo: org/{name}\n    dockerfile: {dockerfile}\n    workflow: build.yml\n"
    )
}

pub(crate) fn write(root: &Path, rel: &str, text: &str) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

pub(crate) fn read(root: &Path, rel: &str) -> String {
    std::fs::read_to_string(root.join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

#[test]
fn analyze_discovers_bases_and_a_second_run_changes_nothing() {
    let p = Project::new();
    p.images(&(enroll("web", "web/Dockerfile") + &enroll("api", "api/Dockerfile")));
    write(p.root.path(), "web/Dockerfile", DOCKERFILE);
    write(
        p.root.path(),
        "api/Dockerfile",
        "FROM ghcr.io/org/web:1.0\n",
    );
    let r = p.run(&["analyze"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let web = read(p.root.path(), "image-factory/state/images/web.yaml");
    assert!(
        web.contains("baseImages:\n  - node-22-bookworm-slim\n  - nginx-1.27-alpine\n"),
        "{web}"
    );
    assert!(web.contains("discoveryStatus: success"), "{web}");
    let api = read(p.root.path(), "image-factory/state/images/api.yaml");
    assert!(
        api.contains("baseImages:\n  - web\n"),
        "an enrolled base is a cascade:\n{api}"
    );
    let node = read(
        p.root.path(),
        "image-factory/state/base-images/node-22-bookworm-slim.yaml",
    );
    assert!(node.contains("allowTags: '^22-bookworm-slim$'"), "{node}");
    assert!(node.contains("repoURL: docker.io/library/node"), "{node}");

    let before = snapshot(&p.dir());
    let again = p.run(&["analyze"]);
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert_eq!(
        before,
        snapshot(&p.dir()),
        "a second run must not change any file"
    );

    // synth reads what analyze wrote.
    let s = p.run(&["synth", "--output", "-"]);
    assert_eq!(s.code, 0, "{}", s.stderr);
    assert!(s.stdout.contains("name: rebuild-api\n"));
    assert!(s.stdout.contains("name: soak-nginx-1.27-alpine\n"));
}

/// Every file under `dir` with its bytes.
fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<(String, Vec<u8>)> = walkdir::WalkDir::new(dir)
        .sort_by_file_name()
        .into_iter()
        .map(Result::unwrap)
        .filter(|e| e.file_type().is_file())
        .map(|e| {
            (
                e.path().display().to_string(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect();
    v.sort();
    v
}

#[test]
fn one_failure_does_not_stop_the_others_and_keeps_the_last_bases() {
    let p = Project::new();
    p.images(&(enroll("web", "web/Dockerfile") + &enroll("api", "api/Dockerfile")));
    write(p.root.path(), "web/Dockerfile", DOCKERFILE);
    write(p.root.path(), "api/Dockerfile", "FROM python:3.12\n");
    assert_eq!(p.run(&["analyze"]).code, 0);
    std::fs::remove_file(p.root.path().join("api/Dockerfile")).unwrap();
    write(p.root.path(), "web/Dockerfile", "FROM node:23\n");
    let r = p.run(&["analyze", "--source-base-url", "file:///nonexistent"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("analysis of `api` failed"),
        "{}",
        r.stderr
    );
    let api = read(p.root.path(), "image-factory/state/images/api.yaml");
    assert!(api.contains("discoveryStatus: failed"), "{api}");
    assert!(api.contains("discoveryError: "), "{api}");
    assert!(
        api.contains("baseImages:\n  - python-3.12\n"),
        "last known bases kept:\n{api}"
    );
    let web = read(p.root.path(), "image-factory/state/images/web.yaml");
    assert!(
        web.contains("baseImages:\n  - node-23\n"),
        "the other image was analysed:\n{web}"
    );
}

#[test]
fn parse_errors_and_escapes_are_failures_with_reasons() {
    let p = Project::new();
    p.images(&enroll("web", "web/Dockerfile"));
    write(p.root.path(), "web/Dockerfile", "# escape=x\nFROM a\n");
    let r = p.run(&["analyze"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("web/Dockerfile:1:1"), "{}", r.stderr);

    let p = Project::new();
    p.images(&enroll("web", "../outside/Dockerfile"));
    let r = p.run(&["analyze"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("leaves the repository"), "{}", r.stderr);

    #[cfg(unix)]
    {
        let p = Project::new();
        p.images(&enroll("web", "web/Dockerfile"));
        let outside = tempfile::tempdir().unwrap();
        write(outside.path(), "Dockerfile", "FROM secret:1\n");
        std::fs::create_dir_all(p.root.path().join("web")).unwrap();
        std::os::unix::fs::symlink(
            outside.path().join("Dockerfile"),
            p.root.path().join("web/Dockerfile"),
        )
        .unwrap();
        let r = p.run(&["analyze"]);
        assert_eq!(r.code, 2);
        assert!(r.stderr.contains("leaves the workspace"), "{}", r.stderr);
    }
}

#[test]
fn tag_and_digest_record_the_build_once() {
    let p = Project::new();
    p.images(&enroll("web", "web/Dockerfile"));
    write(p.root.path(), "web/Dockerfile", DOCKERFILE);
    let d = format!("sha256:{}", "c".repeat(64));
    let r = p.run(&[
        "analyze", "--image", "web", "--tag", "1.4.2", "--digest", &d,
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let web = read(p.root.path(), "image-factory/state/images/web.yaml");
    assert!(web.contains("currentVersion: '1.4.2'"), "{web}");
    assert!(web.contains(&format!("currentDigest: {d}")), "{web}");
    assert!(web.contains("lastBuilt: '20"), "{web}");
    assert!(
        web.contains("buildHistory:\n  - at: '20") && web.contains("    tag: '1.4.2'\n"),
        "{web}"
    );
    let before = snapshot(&p.dir());
    assert_eq!(
        p.run(&["analyze", "--image", "web", "--tag", "1.4.2", "--digest", &d])
            .code,
        0
    );
    assert_eq!(
        before,
        snapshot(&p.dir()),
        "the same build twice changes nothing"
    );
    // The cdk8s app's arguments are accepted.
    let legacy = p.run(&[
        "analyze",
        "--image",
        "web",
        "--tag",
        "1.4.2",
        "--digest",
        &d,
        "--dockerfile",
        "web/Dockerfile",
        "--source-repo",
        "org/web",
        "--source-provider",
        "github",
        "--git-repo",
        "https://github.com/org/web.git",
        "--git-branch",
        "main",
        "--image-factory-dir",
        "image-factory",
    ]);
    assert_eq!(legacy.code, 0, "{}", legacy.stderr);
}

#[test]
fn record_update_shifts_digests_and_schedules_dependents() {
    let p = Project::new();
    p.images(
        &(enroll("web", "web/Dockerfile").replace(
            "workflow: build.yml\n",
            "workflow: build.yml\n  rebuildDelay: 36h\n",
        )),
    );
    write(p.root.path(), "web/Dockerfile", "FROM node:22\n");
    assert_eq!(p.run(&["analyze"]).code, 0);
    let d1 = format!("sha256:{}", "1".repeat(64));
    let d2 = format!("sha256:{}", "2".repeat(64));
    assert_eq!(
        p.run(&["record-update", "--base", "node-22", "--digest", &d1])
            .code,
        0
    );
    let r = p.run(&["record-update", "--base", "node:22", "--digest", &d2]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let node = read(
        p.root.path(),
        "image-factory/state/base-images/node-22.yaml",
    );
    assert!(node.contains(&format!("currentDigest: {d2}")), "{node}");
    assert!(node.contains(&format!("previousDigest: {d1}")), "{node}");
    assert!(node.contains("updateHistory:\n  - digest: "), "{node}");
    assert!(node.contains("rebuildEligibleAt:\n  web: '20"), "{node}");
    let same = p.run(&["record-update", "--base", "node-22", "--digest", &d2]);
    assert!(same.stderr.contains("nothing changed"), "{}", same.stderr);
    assert_eq!(
        p.run(&[
            "record-update",
            "--base",
            "node-22",
            "--digest",
            "sha256:xyz"
        ])
        .code,
        2
    );
    // History survives a later analysis.
    assert_eq!(p.run(&["analyze"]).code, 0);
    assert!(read(
        p.root.path(),
        "image-factory/state/base-images/node-22.yaml"
    )
    .contains(&format!("previousDigest: {d1}")));
}

#[test]
fn lifecycle_archives_restores_and_converts() {
    let p = Project::new();
    p.images(
        &(enroll("web", "web/Dockerfile")
            + &enroll("api", "api/Dockerfile")
            + &enroll("solo", "solo/Dockerfile")),
    );
    write(p.root.path(), "web/Dockerfile", "FROM node:22\n");
    write(
        p.root.path(),
        "api/Dockerfile",
        "FROM ghcr.io/org/web:1.0\n",
    );
    write(p.root.path(), "solo/Dockerfile", "FROM alpine:3.20\n");
    assert_eq!(p.run(&["analyze"]).code, 0);
    let solo_state = read(p.root.path(), "image-factory/state/images/solo.yaml");

    // Un-enroll `solo` (nothing depends on it) and `web` (api builds on it).
    p.images(&enroll("api", "api/Dockerfile"));
    let r = p.run(&["analyze"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        read(
            p.root.path(),
            "image-factory/state/_archive/images/solo.yaml"
        ),
        solo_state,
        "archived untouched"
    );
    assert!(!p.dir().join("state/images/solo.yaml").exists());
    assert!(
        r.stderr
            .contains("web: no longer enrolled, but api still build on it"),
        "{}",
        r.stderr
    );
    let api = read(p.root.path(), "image-factory/state/images/api.yaml");
    assert!(
        api.contains("baseImages:\n  - ghcr.io-org-web-1.0-"),
        "web is a base image now:\n{api}"
    );
    assert!(
        !p.dir().join("state/base-images/alpine-3.20.yaml").exists(),
        "unused base archived"
    );

    // Re-enroll `solo`: restored after checking the repository.
    p.images(&(enroll("api", "api/Dockerfile") + &enroll("solo", "solo/Dockerfile")));
    let r = p.run(&["analyze"]);
    assert!(
        r.stderr.contains("solo: enrolled again; restored"),
        "{}",
        r.stderr
    );
    assert!(read(p.root.path(), "image-factory/state/images/solo.yaml").contains("enrolledAt: '20"));

    // Enroll a base image with a source: it becomes managed, the base state is archived.
    p.images(
        &(enroll("api", "api/Dockerfile")
            + &enroll("solo", "solo/Dockerfile")
            + &enroll("web", "web/Dockerfile")),
    );
    let r = p.run(&["analyze"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr.contains("is now the enrolled image web"),
        "{}",
        r.stderr
    );
    assert!(read(p.root.path(), "image-factory/state/images/api.yaml")
        .contains("baseImages:\n  - web\n"));
}

#[test]
fn files_imgf_does_not_own_are_left_alone() {
    let p = Project::new();
    p.images(&enroll("web", "web/Dockerfile"))
        .file("state/images/README.md", "notes\n")
        .file("state/images/web.example.yaml", "name: web\n# example\n");
    write(p.root.path(), "web/Dockerfile", "FROM node:22\n");
    assert_eq!(p.run(&["analyze"]).code, 0);
    assert_eq!(
        read(p.root.path(), "image-factory/state/images/README.md"),
        "notes\n"
    );
    assert_eq!(
        read(p.root.path(), "image-factory/state/images/web.example.yaml"),
        "name: web\n# example\n"
    );
}

/// A source repository with a Dockerfile and a workflow, as a file:// remote.
fn source_repo(base: &Path, name: &str) {
    let repo = base.join(format!("org/{name}.git"));
    std::fs::create_dir_all(&repo).unwrap();
    git(&repo, &["init", "-q", "-b", "main"]);
    write(&repo, "docker/Dockerfile", "FROM python:3.12-slim\n");
    write(
        &repo,
        ".github/workflows/build.yml",
        "name: build\non:\n  workflow_dispatch:\n    inputs:\n      version_bump:\n        required: true\n      base_image:\n        required: false\n  push: {}\njobs: {}\n",
    );
    write(&repo, "unrelated/big.txt", "not fetched\n");
    git(&repo, &["add", "-A"]);
    git(&repo, &["commit", "-q", "-m", "init"]);
}

#[test]
fn dockerfiles_outside_the_workspace_are_fetched_with_git() {
    let remotes = tempfile::tempdir().unwrap();
    source_repo(remotes.path(), "svc");
    let p = Project::new();
    p.images(&enroll("svc", "docker/Dockerfile"));
    let url = format!("file://{}", remotes.path().display());
    let out = crate::support::imgf()
        .args(["analyze", "--source-base-url", &url])
        .env("GITHUB_TOKEN", "tok-supersecret-123")
        .current_dir(p.root.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let svc = read(p.root.path(), "image-factory/state/images/svc.yaml");
    assert!(svc.contains("baseImages:\n  - python-3.12-slim\n"), "{svc}");
    assert!(
        svc.contains("workflowInputs:\n  - name: version_bump\n    required: true\n  - name: base_image\n    required: false\n"),
        "{svc}"
    );
    // The fetch is sparse and stays inside --dir, ignored by git; the token is nowhere.
    let cache = p.dir().join(".imgf-cache");
    assert_eq!(read(&cache, ".gitignore"), "*\n");
    for (path, bytes) in snapshot(&p.dir()) {
        assert!(
            !path.ends_with("big.txt"),
            "fetched more than needed: {path}"
        );
        if !path.contains("/.git/objects/") {
            assert!(
                !String::from_utf8_lossy(&bytes).contains("supersecret"),
                "token written to {path}"
            );
        }
    }
    assert!(!stderr.contains("supersecret"));
    // synth then narrows the dispatch to the declared inputs.
    let s = p.run(&["synth", "--output", "-"]);
    assert!(
        s.stderr
            .contains("does not declare input(s) triggered_by, base_digest"),
        "{}",
        s.stderr
    );
}

/// A bare remote holding an image-factory, and a clone of it.
fn state_remote() -> (tempfile::TempDir, std::path::PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let remote = tmp.path().join("remote.git");
    std::fs::create_dir_all(&remote).unwrap();
    git(&remote, &["init", "-q", "--bare", "-b", "main"]);
    let seed = tmp.path().join("seed");
    std::fs::create_dir_all(&seed).unwrap();
    git(&seed, &["init", "-q", "-b", "main"]);
    write(
        &seed,
        "image-factory/images.yaml",
        &(enroll("web", "web/Dockerfile") + &enroll("api", "api/Dockerfile")),
    );
    write(&seed, "web/Dockerfile", "FROM node:22\n");
    write(&seed, "api/Dockerfile", "FROM python:3.12\n");
    git(&seed, &["add", "-A"]);
    git(&seed, &["commit", "-q", "-m", "seed"]);
    git(&seed, &["push", "-q", remote.to_str().unwrap(), "main"]);
    (tmp, remote)
}

fn clone(remote: &Path, to: &Path) {
    let out = crate::support::git()
        .args([
            "clone",
            "-q",
            remote.to_str().unwrap(),
            to.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
}

#[test]
fn commit_records_every_change_in_one_commit_and_push_publishes_it() {
    let (tmp, remote) = state_remote();
    let work = tmp.path().join("work");
    clone(&remote, &work);
    let run = |args: &[&str]| crate::support::imgf_in(&work, args);
    let out = run(&["analyze", "--push"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let log = git(&remote, &["log", "--format=%s%n%b", "-1"]);
    assert!(
        log.starts_with("imgf analyze: 4 state file(s) changed"),
        "{log}"
    );
    assert!(log.contains("web: built on node-22"), "{log}");
    let files = git(&remote, &["show", "--name-only", "--format=", "HEAD"]);
    assert!(
        files.contains("image-factory/state/images/web.yaml")
            && files.contains("image-factory/state/base-images/node-22.yaml"),
        "{files}"
    );
    assert!(!files.contains(".imgf-cache"));
    // Nothing changed: no commit.
    let before = git(&remote, &["rev-parse", "HEAD"]);
    let out = run(&["analyze", "--push"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("nothing changed: no commit"));
    assert_eq!(before, git(&remote, &["rev-parse", "HEAD"]));
}

/// The Job regenerates the manifests and commits them with
/// the state, in one commit, so GitOps applies what the new state says.
#[test]
fn the_job_commits_state_and_regenerated_manifests_together() {
    let (tmp, remote) = state_remote();
    let workspace = tmp.path().join("job");
    std::fs::create_dir_all(&workspace).unwrap();
    let out = crate::support::imgf_in(
        &workspace,
        &[
            "analyze",
            "--dir",
            "image-factory",
            "--workspace",
            workspace.to_str().unwrap(),
            "--image",
            "web",
            "--tag",
            "-",
            "--digest",
            "-",
            "--state-repo",
            remote.to_str().unwrap(),
            "--push",
            "--synth-output",
            "dist/image-factory.k8s.yaml",
            "--catalog-output",
            "dist/catalog-info.yaml",
        ],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("regenerated"), "{stderr}");
    let files = git(&remote, &["show", "--name-only", "--format=", "HEAD"]);
    assert!(
        files.contains("image-factory/state/images/web.yaml")
            && files.contains("dist/image-factory.k8s.yaml")
            && files.contains("dist/catalog-info.yaml"),
        "one commit holds state and both outputs: {files}"
    );
    // What was committed is exactly what synth makes of the committed state.
    let check = tmp.path().join("check");
    clone(&remote, &check);
    for args in [
        &["synth", "--check"][..],
        &["synth", "--target", "backstage", "--check"],
    ] {
        let synth = crate::support::imgf_in(&check, args);
        assert!(
            synth.status.success(),
            "{}",
            String::from_utf8_lossy(&synth.stdout)
        );
    }
    let web = read(&check, "image-factory/state/images/web.yaml");
    assert!(
        web.contains("currentDigest: null"),
        "`--tag - --digest -` (no build promoted yet, as the analysis Stage passes it) record no build:\n{web}"
    );
}

#[test]
fn two_concurrent_pushers_both_land() {
    let (tmp, remote) = state_remote();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    clone(&remote, &a);
    clone(&remote, &b);
    let d = |c: char| format!("sha256:{}", c.to_string().repeat(64));
    let spawn = |dir: &Path, image: &str, digest: &str| {
        crate::support::imgf()
            .args([
                "analyze", "--push", "--image", image, "--tag", "2.0.0", "--digest", digest,
            ])
            .current_dir(dir)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (da, db) = (d('a'), d('b'));
    let pa = spawn(&a, "web", &da);
    let pb = spawn(&b, "api", &db);
    let (ra, rb) = (
        pa.wait_with_output().unwrap(),
        pb.wait_with_output().unwrap(),
    );
    assert!(ra.status.success() && rb.status.success(), "{ra:?} {rb:?}");
    let check = tmp.path().join("check");
    clone(&remote, &check);
    assert!(
        read(&check, "image-factory/state/images/web.yaml").contains(&da),
        "web's build lost"
    );
    assert!(
        read(&check, "image-factory/state/images/api.yaml").contains(&db),
        "api's build lost"
    );
}

fn read_image(path: &Path) -> imgf::state::ImageState {
    let text = std::fs::read_to_string(path).unwrap();
    let mut s: imgf::state::ImageState = imgf::config::parse::parse(path, &text).unwrap();
    s.extra = imgf::state::extra_keys(path, &text, &imgf::state::IMAGE_KEYS).unwrap();
    s
}

fn read_base(path: &Path) -> imgf::state::BaseImageState {
    let text = std::fs::read_to_string(path).unwrap();
    let mut s: imgf::state::BaseImageState = imgf::config::parse::parse(path, &text).unwrap();
    s.extra = imgf::state::extra_keys(path, &text, &imgf::state::BASE_KEYS).unwrap();
    s
}

#[test]
#[cfg_attr(not(has_shared), ignore = "needs ../shared beside the repository")]
fn old_tool_state_files_load_without_loss() {
    let Some(shared) = crate::support::shared("the old tool's state files cannot be checked")
    else {
        return;
    };
    let mut n = 0;
    for e in walkdir::WalkDir::new(shared.join("fixtures/reference")).sort_by_file_name() {
        let e = e.unwrap();
        let path = e.path();
        let name = path.to_string_lossy();
        if !name.ends_with(".yaml") || !name.contains("/state/") {
            continue;
        }
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("x.yaml");
        if name.contains("/state/images/") {
            let first = read_image(path);
            let text = imgf::state::write::image_state(&first).unwrap();
            std::fs::write(&out, &text).unwrap();
            let second = read_image(&out);
            assert_eq!(first, second, "{name}");
            // And imgf's own output round-trips byte for byte.
            assert_eq!(
                imgf::state::write::image_state(&second).unwrap(),
                text,
                "{name}"
            );
            assert!(
                name.contains("example") || first.extra.iter().any(|(k, _)| k == "enrollment"),
                "{name}: {:?}",
                first.extra
            );
        } else {
            let first = read_base(path);
            let text = imgf::state::write::base_image_state(&first).unwrap();
            std::fs::write(&out, &text).unwrap();
            let second = read_base(&out);
            assert_eq!(first, second, "{name}");
            assert_eq!(
                imgf::state::write::base_image_state(&second).unwrap(),
                text,
                "{name}"
            );
        }
        n += 1;
    }
    assert!(n >= 20, "only {n} state files found");
}

#[test]
#[cfg_attr(not(has_shared), ignore = "needs ../shared beside the repository")]
fn analyze_keeps_every_runtime_field_of_old_state() {
    let Some(shared) = crate::support::shared("the old tool's state cannot be re-analysed") else {
        return;
    };
    let fixture = shared.join("fixtures/reference/eda-mesh-d793a8f/image-factory");
    let p = Project::new();
    crate::support::copy_tree(&fixture, &p.dir());
    let before_node = read_base(&p.dir().join("state/base-images/node-22-bookworm-slim.yaml"));
    let before_backstage = read_image(&p.dir().join("state/images/backstage.yaml"));
    // The Dockerfiles are not there and cannot be fetched: every image fails, history stays.
    let r = p.run(&["analyze", "--source-base-url", "file:///nonexistent"]);
    assert_eq!(r.code, 2);
    let after = read_image(&p.dir().join("state/images/backstage.yaml"));
    assert_eq!(after.base_images, before_backstage.base_images);
    assert_eq!(after.current_version, before_backstage.current_version);
    assert_eq!(after.current_digest, before_backstage.current_digest);
    assert_eq!(after.last_built, before_backstage.last_built);
    assert_eq!(after.enrolled_at, before_backstage.enrolled_at);
    assert_eq!(
        after.extra, before_backstage.extra,
        "the old enrollment copy is kept"
    );
    let node = read_base(&p.dir().join("state/base-images/node-22-bookworm-slim.yaml"));
    assert_eq!(node.first_discovered, before_node.first_discovered);
    assert_eq!(node.rebuild_eligible_at, before_node.rebuild_eligible_at);
    assert_eq!(node.update_history, before_node.update_history);
    assert!(p
        .dir()
        .join("state/base-images/node-22-bookworm-slim.example.yaml")
        .exists());
}

#[test]
fn record_update_commits_and_pushes_like_analyze() {
    let (tmp, remote) = state_remote();
    let work = tmp.path().join("work");
    clone(&remote, &work);
    let run = |args: &[&str]| crate::support::imgf_in(&work, args);
    assert!(run(&["analyze", "--push"]).status.success());
    let d = format!("sha256:{}", "e".repeat(64));
    let out = run(&[
        "record-update",
        "--base",
        "node-22",
        "--digest",
        &d,
        "--push",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let log = git(&remote, &["log", "--format=%s", "-1"]);
    assert!(
        log.starts_with(&format!("imgf record-update: node-22 is now {d}")),
        "{log}"
    );
}

/// `--regenerate TARGET=FILE` regenerates any target's output after writing
/// state, exactly as `synth --target TARGET` writes it; `--synth-output` is
/// its `kargo=` alias.
#[test]
fn record_update_regenerates_each_named_output() {
    let p = Project::new();
    p.images(&enroll("web", "web/Dockerfile"));
    write(p.root.path(), "web/Dockerfile", "FROM node:22\n");
    assert_eq!(p.run(&["analyze"]).code, 0);
    let d = format!("sha256:{}", "1".repeat(64));
    let r = p.run(&[
        "record-update",
        "--base",
        "node-22",
        "--digest",
        &d,
        "--synth-output",
        "out/kargo.yaml",
        "--regenerate",
        "backstage=out/catalog.yaml",
        "--regenerate",
        "flux=out/flux.yaml",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stderr.matches("regenerated").count(), 3, "{}", r.stderr);
    for (target, file) in [
        ("kargo", "out/kargo.yaml"),
        ("backstage", "out/catalog.yaml"),
        ("flux", "out/flux.yaml"),
    ] {
        let synth = p.run(&[
            "synth", "--quiet", "--target", target, "--output", file, "--check",
        ]);
        assert_eq!(synth.code, 0, "{target}: {}{}", synth.stdout, synth.stderr);
    }
    let bad = p.run(&[
        "record-update",
        "--base",
        "node-22",
        "--digest",
        &d,
        "--regenerate",
        "renovate=x.json",
    ]);
    assert_eq!(bad.code, 2, "{}", bad.stderr);
}
