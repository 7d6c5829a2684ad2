//! Test helpers: a temporary project directory and a way to run `imgf` in it,
//! git without the developer's configuration, and ([`kargo_eval`]) the port of
//! Kargo's template evaluator the runtime tests check generated values with.

pub(crate) mod kargo_eval;
pub(crate) mod kargo_promotion;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A temporary directory laid out like a repository with an `image-factory/`.
pub(crate) struct Project {
    pub root: tempfile::TempDir,
}

/// What a run of the binary did.
pub(crate) struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    fn from(o: &Output) -> Run {
        Run {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
}

impl Project {
    pub(crate) fn new() -> Project {
        Project {
            root: tempfile::tempdir().expect("temp dir"),
        }
    }

    pub(crate) fn dir(&self) -> PathBuf {
        self.root.path().join("image-factory")
    }

    pub(crate) fn path(&self, rel: &str) -> PathBuf {
        self.root.path().join(rel)
    }

    /// Writes `contents` to `image-factory/<rel>`.
    pub(crate) fn file(&self, rel: &str, contents: &str) -> &Project {
        let p = self.dir().join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, contents).unwrap();
        self
    }

    pub(crate) fn images(&self, yaml: &str) -> &Project {
        self.file("images.yaml", yaml)
    }

    /// The common fixture: [`ONE_IMAGE`] (`app`), analysed as built on `node:22`.
    pub(crate) fn app_on_node() -> Project {
        let p = Project::new();
        p.images(ONE_IMAGE)
            .file(
                "state/images/app.yaml",
                "name: app\nbaseImages: [node-22]\n",
            )
            .file("state/base-images/node-22.yaml", NODE_STATE);
        p
    }

    /// Runs `imgf ARGS…` in the project root.
    pub(crate) fn run(&self, args: &[&str]) -> Run {
        self.run_env(args, &[])
    }

    /// [`Project::run`] with these environment variables set.
    pub(crate) fn run_env(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        Run::from(
            &imgf()
                .envs(env.iter().copied())
                .args(args)
                .current_dir(self.root.path())
                .output()
                .expect("run imgf"),
        )
    }

    /// `imgf synth --output -`, expecting success; returns stdout.
    pub(crate) fn synth_stdout(&self) -> String {
        let r = self.run(&["synth", "--output", "-"]);
        assert_eq!(r.code, 0, "synth failed:\n{}", r.stderr);
        r.stdout
    }
}

/// A command running the `imgf` binary, without the variables that would
/// colour its output (NO_COLOR, CLICOLOR, CLICOLOR_FORCE, TERM) and without
/// the developer's git configuration ([`no_git_config`]): output does not
/// depend on the environment the tests run in.
pub(crate) fn imgf() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_imgf"));
    for var in ["NO_COLOR", "CLICOLOR", "CLICOLOR_FORCE", "TERM"] {
        cmd.env_remove(var);
    }
    no_git_config(&mut cmd);
    cmd
}

/// Keeps every git that `cmd` runs (itself or through imgf) from reading the
/// developer's global and system configuration (`~/.gitconfig`, `/etc/gitconfig`):
/// a signing key, a hook path, a rewritten URL or a default branch there must
/// not change what a test sees. Repository-local configuration still applies.
pub(crate) fn no_git_config(cmd: &mut Command) -> &mut Command {
    cmd.env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
}

/// A `git` command for a test's own repositories: no global or system
/// configuration ([`no_git_config`]), `main` as the default branch, and a
/// fixed author and committer, so a commit a test makes never depends on who
/// runs it. (imgf's own commits are made by [`imgf`], without this identity:
/// it uses the repository's, or its own fallback.)
pub(crate) fn git() -> Command {
    let mut cmd = Command::new("git");
    no_git_config(&mut cmd)
        .args(["-c", "init.defaultBranch=main"])
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@t")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@t");
    cmd
}

/// Runs `git -C DIR ARGS…` ([`git`]), expecting success; returns stdout.
pub(crate) fn git_in(dir: &Path, args: &[&str]) -> String {
    let out = git()
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .expect("run git");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// One managed GitHub image, enrolled.
pub(crate) const ONE_IMAGE: &str = "\
- name: app
  registry: ghcr.io
  repository: org/app
  source:
    repo: org/app
    branch: main
    dockerfile: docker/Dockerfile
    workflow: build.yml
";

/// A base-image state file for `node:22`.
pub(crate) const NODE_STATE: &str = "\
name: node-22
fullImage: node:22
registry: docker.io
repository: library/node
tag: '22'
repoURL: docker.io/library/node
";

/// The path of `../shared` beside this repository, for the tests that need
/// it. Those are marked
/// `#[cfg_attr(not(has_shared), ignore = "needs ../shared beside the repository")]`
/// (build.rs sets `has_shared`), so `cargo test` lists them as ignored when
/// it is absent, and runs them only with `-- --include-ignored` (as CI does).
/// Run so and still absent: skipped, visibly — except in CI (`CI` set),
/// where it fails: a check that cannot run must not pass silently there.
pub(crate) fn shared(what: &str) -> Option<PathBuf> {
    let p = shared_dir();
    if p.is_dir() {
        return Some(p.canonicalize().unwrap());
    }
    skip_or_fail(&format!("../shared is absent, so {what}"));
    None
}

/// Set by a CI that has no `../shared` by design (GitHub's: ci.yml): the
/// tests that need it stay ignored there (it runs no ignored test), and
/// the others run as everywhere.
const NO_SHARED: &str = "IMGF_CI_WITHOUT_SHARED";

fn shared_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared")
}

/// The build's `has_shared`, `has_shellcheck`, `has_groff`,
/// `has_actionlint`, `has_python_deps` and `as_root` agree with the machine, and CI has
/// `../shared` (unless it says it has none, as GitHub's does): a test that
/// needs one is ignored only where it is really missing.
#[test]
fn the_shared_cfg_matches_the_disk() {
    let runs = |program: &str, args: &[&str]| {
        Command::new(program)
            .args(args)
            .output()
            .is_ok_and(|o| o.status.success())
    };
    for (name, built, there) in [
        (
            "shellcheck",
            cfg!(has_shellcheck),
            runs("shellcheck", &["--version"]),
        ),
        ("groff", cfg!(has_groff), runs("groff", &["--version"])),
        (
            "actionlint",
            cfg!(has_actionlint),
            runs("actionlint", &["--version"]),
        ),
        (
            "python3 with yaml and jsonschema",
            cfg!(has_python_deps),
            runs("python3", &["-c", "import yaml, jsonschema"]),
        ),
    ] {
        assert_eq!(
            built,
            there,
            "{name} was {} since the tests were built; `touch build.rs` and run again",
            if there { "installed" } else { "removed" }
        );
    }
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
    assert_eq!(
        cfg!(as_root),
        root,
        "the tests were built {} root and run {}; build them as the user who runs them",
        if cfg!(as_root) { "as" } else { "not as" },
        if root { "as root" } else { "as another user" }
    );
    let there = shared_dir().is_dir();
    assert!(
        there || std::env::var_os("CI").is_none() || std::env::var_os(NO_SHARED).is_some(),
        "../shared is missing; CI is set, and CI needs it for the reference and schema tests \
         (a CI without it by design sets {NO_SHARED}=1, and runs no ignored test)"
    );
    assert_eq!(
        cfg!(has_shared),
        there,
        "../shared {} since the tests were built; `touch build.rs` and run again, so the tests that need it are {}",
        if there { "appeared" } else { "went away" },
        if there { "run" } else { "ignored" }
    );
}

/// Whether the program `name` runs (`name --version`), for the tests that
/// need it; skipped visibly without, failing in CI.
pub(crate) fn tool(name: &str, what: &str) -> bool {
    let ok = Command::new(name)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        skip_or_fail(&format!("{name} is not installed, so {what}"));
    }
    ok
}

/// Whether python3 with pyyaml and jsonschema is there (for
/// validate-manifests); skipped visibly without, failing in CI.
pub(crate) fn python_deps(what: &str) -> bool {
    let ok = Command::new("python3")
        .args(["-c", "import yaml, jsonschema"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        skip_or_fail(&format!(
            "{what} needs python3 with pyyaml and jsonschema (.ci/run installs them)"
        ));
    }
    ok
}

/// Whether `kubectl` reaches a cluster (`kubectl version` answers), for the
/// tests marked `#[cfg_attr(not(has_cluster), ignore = …)]`; skipped visibly
/// without, failing in CI (a CI without a cluster leaves those tests out by
/// name: .ci/run).
pub(crate) fn cluster(what: &str) -> bool {
    let ok = Command::new("kubectl")
        .args(["version", "--request-timeout=5s"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        skip_or_fail(&format!("no cluster answers kubectl, so {what}"));
    }
    ok
}

/// Whether the tests run as root (uid 0), for the tests marked
/// `#[cfg_attr(not(as_root), ignore = …)]`; skipped visibly without, failing
/// in CI.
pub(crate) fn root(what: &str) -> bool {
    let ok = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
    if !ok {
        skip_or_fail(&format!("the tests do not run as root, so {what}"));
    }
    ok
}

fn skip_or_fail(why: &str) {
    assert!(
        std::env::var_os("CI").is_none(),
        "{why}; CI is set, so this is a failure, not a skip"
    );
    eprintln!("SKIPPED: {why}");
}

/// Parses a YAML stream into documents.
pub(crate) fn docs(yaml: &str) -> Vec<yaml_serde::Value> {
    yaml.split("\n---\n")
        .map(|d| yaml_serde::from_str(d).expect("output parses"))
        .collect()
}

/// The documents of a kind.
pub(crate) fn of_kind<'a>(docs: &'a [yaml_serde::Value], kind: &str) -> Vec<&'a yaml_serde::Value> {
    docs.iter()
        .filter(|d| d["kind"].as_str() == Some(kind))
        .collect()
}

/// The Stage called `name`.
pub(crate) fn stage_named<'a>(docs: &'a [yaml_serde::Value], name: &str) -> &'a yaml_serde::Value {
    of_kind(docs, "Stage")
        .into_iter()
        .find(|s| s["metadata"]["name"].as_str() == Some(name))
        .unwrap_or_else(|| panic!("no Stage {name}"))
}

/// The first rebuild Stage (label `imgf/role: rebuild`).
pub(crate) fn rebuild_stage(docs: &[yaml_serde::Value]) -> &yaml_serde::Value {
    of_kind(docs, "Stage")
        .into_iter()
        .find(|s| s["metadata"]["labels"]["imgf/role"].as_str() == Some("rebuild"))
        .expect("a rebuild Stage")
}

/// Runs `imgf ARGS…` in `dir`.
pub(crate) fn imgf_in(dir: &Path, args: &[&str]) -> Output {
    imgf()
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run imgf")
}

/// Copies a directory tree.
pub(crate) fn copy_tree(from: &Path, to: &Path) {
    for e in walkdir::WalkDir::new(from) {
        let e = e.unwrap();
        let rel = e.path().strip_prefix(from).unwrap();
        let dest = to.join(rel);
        if e.file_type().is_dir() {
            std::fs::create_dir_all(&dest).unwrap();
        } else {
            std::fs::copy(e.path(), &dest).unwrap();
        }
    }
}

/// The images.yaml entry of a managed GitHub image `name` (`org/<name>`,
/// `Dockerfile`, `build.yml`), followed by `extra` (more lines of the entry,
/// indented as its keys, e.g. `"  rebuildDelay: 7d\n"`).
pub(crate) fn image(name: &str, extra: &str) -> String {
    format!(
        "- name: {name}\n  registry: ghcr.io\n  repository: org/{name}\n  source:\n    repo: org/{name}\n    dockerfile: Dockerfile\n    workflow: build.yml\n{extra}"
    )
}

/// The `source:` line declaring the workflow's inputs, for [`image`]'s `extra`.
pub(crate) const INPUTS: &str = "    inputs: [version_bump]\n";

/// A base-image state file.
pub(crate) fn base(name: &str, repo: &str, tag: &str) -> String {
    format!("name: {name}\nrepoURL: {repo}\ntag: '{tag}'\n")
}

/// The one builder of chain fixtures: managed images recorded as built on
/// each other and on base images, enrolled in the order they are added.
pub(crate) struct Chain {
    project: Project,
    images: String,
    extra: &'static str,
}

impl Chain {
    /// Images whose entries are [`image`]'s.
    pub(crate) fn new() -> Chain {
        Chain {
            project: Project::new(),
            images: String::new(),
            extra: "",
        }
    }

    /// Images whose workflows declare their inputs ([`INPUTS`]).
    pub(crate) fn with_inputs() -> Chain {
        Chain {
            extra: INPUTS,
            ..Chain::new()
        }
    }

    /// Enrolls `name` (its entry followed by `extra`), analysed as built on `on`.
    pub(crate) fn image(self, name: &str, extra: &str, on: &[&str]) -> Chain {
        let state = format!("name: {name}\nbaseImages: [{}]\n", on.join(", "));
        self.image_state(name, extra, &state)
    }

    /// Enrolls `name` with `state` as its state file.
    pub(crate) fn image_state(mut self, name: &str, extra: &str, state: &str) -> Chain {
        self.images
            .push_str(&image(name, &format!("{}{extra}", self.extra)));
        self.project
            .file(&format!("state/images/{name}.yaml"), state);
        self
    }

    /// `node-22`, [`NODE_STATE`].
    pub(crate) fn node(self) -> Chain {
        self.base_state("node-22", NODE_STATE)
    }

    /// The base image `name` ([`base`]).
    pub(crate) fn base(self, name: &str, repo: &str, tag: &str) -> Chain {
        let state = base(name, repo, tag);
        self.base_state(name, &state)
    }

    /// The base image `name` with `state` as its state file.
    pub(crate) fn base_state(self, name: &str, state: &str) -> Chain {
        self.project
            .file(&format!("state/base-images/{name}.yaml"), state);
        self
    }

    /// The project, images.yaml written.
    pub(crate) fn build(self) -> Project {
        self.project.images(&self.images);
        self.project
    }
}
