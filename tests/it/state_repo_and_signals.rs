//! imgf as a CI Job runs it: a state-repository clone nothing else can plant
//! or keep, an emergency recorded only once its script is out, no temporary
//! files after a signal, each repository fetched once, and audit entries that
//! grow linearly.

use std::fmt::Write as _;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::analyze::{enroll, write};
use crate::support::git_in as git;
use crate::support::{Chain, Project, NODE_STATE};

/// A project of `n` managed images on node:22, whose manifests are large
/// enough (about 3 kB an image) that writing them takes a moment.
fn many_images(n: usize) -> Project {
    let p = Project::new();
    let mut images = String::new();
    for i in 0..n {
        let _ = write!(images,
            "- name: s{i}\n  registry: ghcr.io\n  repository: org/s{i}\n  source:\n    repo: org/s{i}\n    dockerfile: Dockerfile\n    workflow: build.yml\n    inputs: [version_bump]\n"
        );
        p.file(
            &format!("state/images/s{i}.yaml"),
            &format!("name: s{i}\nbaseImages: [node-22]\n"),
        );
    }
    p.images(&images)
        .file("state/base-images/node-22.yaml", NODE_STATE);
    p
}

fn temp_files(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".imgf-"))
        .collect()
}

/// A real process ended by SIGTERM (or SIGINT) while it writes
/// the manifests leaves no temporary file, and still dies of the signal.
#[test]
fn a_signal_during_a_write_leaves_no_temporary_file() {
    use std::os::unix::process::ExitStatusExt;
    let p = many_images(3000);
    let out = p.path("out");
    std::fs::create_dir_all(&out).unwrap();
    for (signal, number) in [("TERM", 15), ("INT", 2)] {
        let mut child = crate::support::imgf()
            .args(["synth", "--output", "out/manifests.yaml"])
            .current_dir(p.root.path())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let started = std::time::Instant::now();
        let caught = loop {
            if !temp_files(&out).is_empty() {
                break true;
            }
            if child.try_wait().unwrap().is_some()
                || started.elapsed() > std::time::Duration::from_secs(60)
            {
                break false;
            }
            std::thread::sleep(std::time::Duration::from_millis(1));
        };
        assert!(caught, "the write ended before its temporary file was seen");
        let kill = Command::new("kill")
            .args([format!("-{signal}"), child.id().to_string()])
            .status()
            .unwrap();
        assert!(kill.success());
        let status = child.wait().unwrap();
        assert_eq!(status.signal(), Some(number), "{status:?}");
        assert_eq!(temp_files(&out), Vec::<String>::new(), "SIG{signal}");
        assert!(!out.join("manifests.yaml").exists(), "half a file");
    }
}

/// A temporary file of imgf's that a killed run (SIGKILL) left
/// behind is removed by the next write into its directory once it is an
/// hour old; newer ones, and names that are not imgf's, are left alone.
#[test]
fn stale_temporary_files_are_swept_on_the_next_write() {
    let p = crate::support::Project::app_on_node();
    let out = p.path("out");
    std::fs::create_dir_all(&out).unwrap();
    let hours_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(2 * 3600);
    let make = |name: &str, old: bool| {
        let f = std::fs::File::create(out.join(name)).unwrap();
        if old {
            f.set_modified(hours_ago).unwrap();
        }
    };
    make(".imgf-AbC123.tmp", true);
    make(".imgf-XyZ789.tmp", false);
    make(".imgf-notours.tmp", true);
    make("notes.tmp", true);
    let r = p.run(&["synth", "--output", "out/manifests.yaml"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let mut left: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(
        left,
        [
            ".imgf-XyZ789.tmp",
            ".imgf-notours.tmp",
            "manifests.yaml",
            "notes.tmp"
        ]
    );
}

/// A directory holding a `git` that logs each call (its arguments, and the
/// mode of the `-C` directory) to `log`, then runs the real git.
fn logging_git(at: &Path) -> (PathBuf, PathBuf) {
    let real = Command::new("sh")
        .args(["-c", "command -v git"])
        .output()
        .unwrap();
    let real = String::from_utf8_lossy(&real.stdout).trim().to_string();
    assert!(!real.is_empty(), "git is needed");
    let bin = at.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let log = at.join("git.log");
    let script = format!(
        "#!/bin/sh\nif [ \"$1\" = -C ]; then printf 'mode %s %s\\n' \"$(stat -c %a \"$2\")\" \"$2\" >> '{log}'; fi\nprintf 'git %s\\n' \"$*\" >> '{log}'\nexec '{real}' \"$@\"\n",
        log = log.display()
    );
    let git = bin.join("git");
    std::fs::write(&git, script).unwrap();
    std::fs::set_permissions(&git, std::fs::Permissions::from_mode(0o755)).unwrap();
    (bin, log)
}

/// `PATH` with `bin` first.
fn path_with(bin: &Path) -> String {
    format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    )
}

fn fetches(log: &Path) -> Vec<String> {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .filter(|l| l.starts_with("git ") && l.contains(" fetch "))
        .map(str::to_string)
        .collect()
}

/// A bare remote holding an image-factory with two images.
fn state_remote(tmp: &Path) -> PathBuf {
    let remote = tmp.join("remote.git");
    std::fs::create_dir_all(&remote).unwrap();
    git(&remote, &["init", "-q", "--bare", "-b", "main"]);
    let seed = tmp.join("seed");
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
    remote
}

/// A clone planted where imgf used to clone (`--workspace`'s
/// `state-repo`), with hooks and an fsmonitor that would run a command, is
/// never used: imgf clones afresh into a private directory of its own, and
/// removes it afterwards — in the workspace and in $TMPDIR alike.
#[test]
fn state_repo_clone_is_private_fresh_and_never_a_planted_one() {
    let tmp = tempfile::tempdir().unwrap();
    let remote = state_remote(tmp.path());
    let marker = tmp.path().join("PWNED");
    let evil = format!("#!/bin/sh\ntouch '{}'\n", marker.display());

    let workspace = tmp.path().join("job");
    let planted = workspace.join("state-repo");
    let o = crate::support::git()
        .args([
            "clone",
            "-q",
            remote.to_str().unwrap(),
            planted.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(o.status.success());
    let hook = tmp.path().join("evil.sh");
    std::fs::write(&hook, &evil).unwrap();
    std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).unwrap();
    for h in [
        "pre-commit",
        "post-commit",
        "reference-transaction",
        "post-checkout",
    ] {
        std::fs::copy(&hook, planted.join(".git/hooks").join(h)).unwrap();
    }
    git(
        &planted,
        &["config", "core.fsmonitor", hook.to_str().unwrap()],
    );
    // What a planted clone says differs from the remote: it must not be read.
    write(&planted, "image-factory/images.yaml", "- planted: true\n");

    let (bin, log) = logging_git(tmp.path());
    let private_tmp = tmp.path().join("tmpdir");
    std::fs::create_dir_all(&private_tmp).unwrap();
    let run = |extra: &[&str]| {
        let mut args = vec![
            "analyze",
            "--dir",
            "image-factory",
            "--state-repo",
            remote.to_str().unwrap(),
            "--push",
        ];
        args.extend(extra);
        crate::support::imgf()
            .args(&args)
            .current_dir(tmp.path())
            .env("PATH", path_with(&bin))
            .env("TMPDIR", &private_tmp)
            .env_remove("GITHUB_TOKEN")
            .output()
            .unwrap()
    };
    let o = run(&["--workspace", workspace.to_str().unwrap(), "--image", "web"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let o = run(&["--image", "api"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));

    assert!(!marker.exists(), "a planted hook or fsmonitor ran");
    // Both runs analysed the remote's content and pushed.
    let files = git(&remote, &["log", "--name-only", "--format="]);
    assert!(
        files.contains("image-factory/state/images/web.yaml"),
        "{files}"
    );
    assert!(
        files.contains("image-factory/state/images/api.yaml"),
        "{files}"
    );
    // Every directory imgf ran git in was private (0700) and is gone.
    let text = std::fs::read_to_string(&log).unwrap();
    let dirs: Vec<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("mode "))
        .collect();
    assert!(!dirs.is_empty(), "{text}");
    for d in &dirs {
        let (mode, path) = d.split_once(' ').unwrap();
        assert!(
            path.contains("/imgf-state-") && !path.starts_with(planted.to_str().unwrap()),
            "git ran outside imgf's own clone: {path}"
        );
        let name = Path::new(path).file_name().unwrap().to_string_lossy();
        if name.starts_with("imgf-state-") {
            assert_eq!(mode, "700", "{path} is not private");
        }
        assert!(!Path::new(path).exists(), "{path} was left behind");
    }
    assert!(
        dirs.iter().any(|d| d.starts_with("700 ")),
        "git ran in the clone's root: {text}"
    );
    let left: Vec<_> = std::fs::read_dir(&private_tmp).unwrap().collect();
    assert!(left.is_empty(), "left in $TMPDIR: {left:?}");
    let names: Vec<String> = std::fs::read_dir(&workspace)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["state-repo"], "left in the workspace");
}

/// `a` on node:22, `b` on `a`, … a chain of `n` images.
fn chain(n: usize) -> Project {
    let mut c = Chain::new();
    for i in 0..n {
        let base = if i == 0 {
            "node-22".to_string()
        } else {
            format!("i{}", i - 1)
        };
        c = c.image(&format!("i{i}"), "", &[&base]);
    }
    c.node().build()
}

fn audit_lines(p: &Project) -> usize {
    std::fs::read_dir(p.dir().join("state/images"))
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .map(|t| match t.find("audit:") {
            Some(at) => t[at..].lines().take_while(|l| !l.is_empty()).count(),
            None => 0,
        })
        .sum()
}

/// With stdout on a full device the script is not delivered, so
/// nothing is recorded, and the error says so (exit 2).
#[test]
fn emergency_records_nothing_when_the_script_cannot_be_written() {
    let p = chain(3);
    let before = audit_lines(&p);
    for format in ["text", "json"] {
        let o = crate::support::imgf()
            .args([
                "emergency",
                "--image",
                "i0",
                "--reason",
                "CVE",
                "--format",
                format,
            ])
            .current_dir(p.root.path())
            .stdout(
                std::fs::File::options()
                    .write(true)
                    .open("/dev/full")
                    .unwrap(),
            )
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{stderr}");
        assert!(
            stderr.contains("cannot write the emergency script to stdout")
                && stderr.contains("nothing was recorded"),
            "{stderr}"
        );
        assert!(!stderr.contains("recorded in the state files"), "{stderr}");
        assert_eq!(audit_lines(&p), before, "an audit entry without a script");
    }
    // stdout on /dev/null — which is also what a closed stdout (`>&-`) is
    // once Rust's runtime has opened /dev/null in its place: writes
    // "succeed", and the script would be lost.
    let o = crate::support::imgf()
        .args(["emergency", "--image", "i0", "--reason", "CVE"])
        .current_dir(p.root.path())
        .stdout(std::process::Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("standard output goes nowhere") && stderr.contains("nothing was recorded"),
        "{stderr}"
    );
    assert_eq!(audit_lines(&p), before, "an audit entry without a script");
    // Delivered: recorded, once per image.
    let r = p.run(&["emergency", "--image", "i0", "--reason", "CVE"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("rebuild-i0"), "{}", r.stdout);
    for i in 0..3 {
        let s = std::fs::read_to_string(p.dir().join(format!("state/images/i{i}.yaml"))).unwrap();
        assert_eq!(s.matches("emergency-rebuild").count(), 1, "{s}");
    }
}

/// Each image's entry names that image, the request and the
/// count, not the whole chain: a 200-deep chain writes O(n) audit lines.
#[test]
fn emergency_audit_is_linear_on_a_deep_chain() {
    let n = 200;
    let p = chain(n);
    let r = p.run(&["emergency", "--image", "i0", "--reason", "CVE-1"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let lines = audit_lines(&p);
    assert!(lines <= 10 * n, "{lines} audit lines for {n} images");
    let last = std::fs::read_to_string(p.dir().join("state/images/i199.yaml")).unwrap();
    assert!(last.contains("scope: 'image i0'"), "{last}");
    assert!(last.contains("affected: 200"), "{last}");
    assert!(last.contains("- i199"), "{last}");
    assert!(!last.contains("- i0\n"), "{last}");
    // The plan printed once still lists every image.
    let r = p.run(&[
        "emergency",
        "--image",
        "i0",
        "--reason",
        "CVE-2",
        "--format",
        "json",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let plan: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(plan["audit"]["images"].as_array().unwrap().len(), n);
    assert_eq!(plan["audit"]["affected"], n);
    // The second emergency adds as much again (the `audit:` key aside).
    assert_eq!(audit_lines(&p), 2 * lines - n);
}

/// A source repository `org/<name>.git` under `base` with a Dockerfile per
/// `dockerfiles` entry.
fn source_repo(base: &Path, name: &str, dockerfiles: &[&str]) {
    let repo = base.join(format!("org/{name}.git"));
    std::fs::create_dir_all(&repo).unwrap();
    git(&repo, &["init", "-q", "-b", "main"]);
    for d in dockerfiles {
        write(&repo, d, "FROM python:3.12-slim\n");
    }
    git(&repo, &["add", "-A"]);
    git(&repo, &["commit", "-q", "-m", "init"]);
}

fn image_in(name: &str, repo: &str, dockerfile: &str) -> String {
    format!(
        "- name: {name}\n  registry: ghcr.io\n  repository: org/{name}\n  source:\n    repo: org/{repo}\n    dockerfile: {dockerfile}\n    workflow: build.yml\n"
    )
}

/// Images built from one repository share one fetch of it, with
/// every Dockerfile they need.
#[test]
fn analyze_fetches_a_repository_shared_by_images_once() {
    let tmp = tempfile::tempdir().unwrap();
    let remotes = tmp.path().join("remotes");
    source_repo(
        &remotes,
        "mono",
        &["a/Dockerfile", "b/Dockerfile", "c/Dockerfile"],
    );
    let p = Project::new();
    p.images(
        &(image_in("a", "mono", "a/Dockerfile")
            + &image_in("b", "mono", "b/Dockerfile")
            + &image_in("c", "mono", "c/Dockerfile")),
    );
    let (bin, log) = logging_git(tmp.path());
    let url = format!("file://{}", remotes.display());
    let o = crate::support::imgf()
        .args(["analyze", "--source-base-url", &url])
        .current_dir(p.root.path())
        .env("PATH", path_with(&bin))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    for i in ["a", "b", "c"] {
        let s = std::fs::read_to_string(p.dir().join(format!("state/images/{i}.yaml"))).unwrap();
        assert!(
            s.contains("baseImages:\n  - python-3.12-slim\n"),
            "{i}: {s}"
        );
    }
    assert_eq!(fetches(&log).len(), 1, "{:#?}", fetches(&log));
}

/// Offline, many images give one error that sums them up, and an
/// unreachable host is tried once, not once per image.
#[test]
fn offline_analyze_prints_one_summarised_error() {
    let tmp = tempfile::tempdir().unwrap();
    let p = Project::new();
    let mut images = String::new();
    for i in 0..8 {
        images.push_str(&image_in(
            &format!("s{i}"),
            &format!("repo-{i}"),
            "Dockerfile",
        ));
    }
    p.images(&images);
    let (bin, log) = logging_git(tmp.path());
    // Port 1 on the loopback: the connection is refused at once.
    let o = crate::support::imgf()
        .args(["analyze", "--source-base-url", "http://127.0.0.1:1/"])
        .current_dir(p.root.path())
        .env("PATH", path_with(&bin))
        .env_remove("GITHUB_TOKEN")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error")).collect();
    assert_eq!(errors.len(), 2, "one summary and the total:\n{stderr}");
    assert!(
        stderr.contains("analysis of 8 images failed: their Dockerfiles are not in the workspace and fetching them failed (s0, s1, s2, s3, s4, … and 3 more)"),
        "{stderr}"
    );
    assert!(
        stderr.contains("8 repositories could not be fetched"),
        "{stderr}"
    );
    assert!(stderr.contains("offline?"), "{stderr}");
    assert!(
        stderr.contains("error: 8 image(s) failed; 8 state file(s) written"),
        "{stderr}"
    );
    assert_eq!(fetches(&log).len(), 1, "{:#?}", fetches(&log));
    // Each state still records its own failure.
    let s7 = std::fs::read_to_string(p.dir().join("state/images/s7.yaml")).unwrap();
    assert!(s7.contains("discoveryStatus: failed"), "{s7}");
    assert!(s7.contains("127.0.0.1"), "{s7}");
}

/// `updates check` fetches each deployment repository once,
/// however many targets it holds.
#[test]
fn updates_check_fetches_each_deployment_repository_once() {
    let p = Project::new();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    crate::support::copy_tree(&root.join("image-factory"), &p.dir());
    let remotes = p.path("remotes");
    let repo = remotes.join("deploy.git");
    crate::support::copy_tree(&root.join("examples/deploy"), &repo);
    git(&repo, &["init", "-q", "-b", "main"]);
    git(&repo, &["add", "-A"]);
    git(&repo, &["commit", "-q", "-m", "deploy"]);
    let (bin, log) = logging_git(p.root.path());
    let o = crate::support::imgf()
        .args(["updates", "check"])
        .current_dir(p.root.path())
        .env("PATH", path_with(&bin))
        .env_remove("GITHUB_TOKEN")
        .env_remove("GITLAB_TOKEN")
        .env("GIT_CONFIG_COUNT", "1")
        .env(
            "GIT_CONFIG_KEY_0",
            format!("url.file://{}/.insteadOf", remotes.display()),
        )
        .env("GIT_CONFIG_VALUE_0", "https://github.com/example-org/")
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "{out}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(out.contains("4 update target(s) checked"), "{out}");
    assert_eq!(fetches(&log).len(), 1, "{:#?}", fetches(&log));
}
