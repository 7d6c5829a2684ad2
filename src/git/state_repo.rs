//! The git transaction around a state change: clone the state repository
//! (`--state-repo`), run the change, regenerate the manifests
//! (`--synth-output`), commit exactly what was written, push — and after a
//! rejected push fetch, reset and run the change again.

use std::path::{Path, PathBuf};

use crate::config::settings::Overrides;
use crate::diagnostic::{Diagnostic, Error};
use crate::git::{self, Token};
use crate::load;
use crate::shell::Shell;
use crate::{emit, ExitStatus};

/// How many times a push is retried after the remote moved on.
pub(crate) const PUSH_ATTEMPTS: usize = 5;

/// Where state changes are recorded (`--state-repo`, `--commit`, `--push`,
/// `--regenerate`, …, as given on the command line).
#[derive(Debug, Clone, Default)]
pub(crate) struct StateRepo {
    /// Clone this repository first and work in the clone.
    pub(crate) url: Option<String>,
    /// The branch of `url`.
    pub(crate) branch: String,
    pub(crate) commit: bool,
    /// Push the commit (implies `commit`).
    pub(crate) push: bool,
    /// The outputs to regenerate after each pass, in order (relative to the
    /// clone's root with `url`).
    pub(crate) outputs: Vec<(crate::targets::Target, PathBuf)>,
}

/// What one pass over the state directory did.
pub(crate) struct Done {
    /// The commit message, when there is something to commit.
    pub(crate) message: String,
    pub(crate) notes: Vec<String>,
    /// Every file the pass wrote, moved or removed: exactly what is committed.
    pub(crate) written: Vec<PathBuf>,
    pub(crate) failures: Vec<Diagnostic>,
    /// How many images failed (one diagnostic may stand for several).
    pub(crate) failed: usize,
}

/// Runs `op` on the state directory (cloning `--state-repo` first), then
/// commits and pushes as asked; after a rejected push it fetches, resets and
/// runs `op` again, up to [`PUSH_ATTEMPTS`] times.
pub(crate) fn with_state_repo(
    dir: &Path,
    repo_args: &StateRepo,
    workspace: Option<&Path>,
    shell: &mut Shell<'_>,
    mut op: impl FnMut(&Path, Option<&Path>, &mut Shell<'_>) -> Result<Done, Error>,
) -> Result<ExitStatus, Error> {
    // The clone lives as long as this call, and is removed when it returns
    // (or when a signal ends imgf).
    let clone = match &repo_args.url {
        Some(url) => Some(clone_state_repo(workspace, &repo_args.branch, url)?),
        None => None,
    };
    let (dir, workspace, root) = match &clone {
        Some(c) => (
            c.root().join(dir),
            Some(c.root().to_path_buf()),
            Some(c.root().to_path_buf()),
        ),
        None => (dir.to_path_buf(), workspace.map(Path::to_path_buf), None),
    };
    // The regenerated manifests: in the clone with --state-repo, else as given.
    let in_root = |o: &PathBuf| match &root {
        Some(r) => r.join(o),
        None => o.clone(),
    };
    let outputs: Vec<(crate::targets::Target, PathBuf)> = repo_args
        .outputs
        .iter()
        .map(|(t, o)| (*t, in_root(o)))
        .collect();
    let push = repo_args.push;
    let mut attempt = 0;
    loop {
        attempt += 1;
        let done = op(&dir, workspace.as_deref(), shell)?;
        for (target, out) in &outputs {
            regenerate(&dir, out, *target, shell)?;
        }
        if !(repo_args.commit || push) {
            return finish(done, shell);
        }
        let repo = git::toplevel(&dir).map_err(git_error)?;
        let mut paths = Vec::new();
        for p in done.written.iter().chain(outputs.iter().map(|(_, o)| o)) {
            paths.push(repo_relative(&repo, p)?);
        }
        let paths: Vec<&str> = paths.iter().map(String::as_str).collect();
        let committed = git::commit(&repo, &paths, &done.message).map_err(git_error)?;
        if !committed {
            shell.status("nothing changed: no commit")?;
            return finish(done, shell);
        }
        shell.status(&format!(
            "committed: {}",
            done.message.lines().next().unwrap_or_default()
        ))?;
        if !push {
            return finish(done, shell);
        }
        let branch =
            git::git(&repo, &["rev-parse", "--abbrev-ref", "HEAD"], None).map_err(git_error)?;
        let branch = branch.trim().to_string();
        let token = Token::from_env(false);
        match git::git(
            &repo,
            &["push", "-q", "origin", &format!("HEAD:{branch}")],
            token.as_ref(),
        ) {
            Ok(_) => {
                shell.status(&format!("pushed to origin/{branch}"))?;
                return finish(done, shell);
            }
            Err(e) if git::is_non_fast_forward(&e) && attempt < PUSH_ATTEMPTS => {
                shell.status(&format!("push rejected (attempt {attempt} of {PUSH_ATTEMPTS}): the remote moved on; fetching and re-applying"))?;
                git::git(&repo, &["fetch", "-q", "origin", &branch], token.as_ref())
                    .map_err(git_error)?;
                git::git(&repo, &["reset", "-q", "--hard", "FETCH_HEAD"], None)
                    .map_err(git_error)?;
            }
            Err(e) => return Err(git_error(e)),
        }
    }
}

/// `path` relative to the work tree `repo` (`.` for the root itself).
fn repo_relative(repo: &Path, path: &Path) -> Result<String, Error> {
    let (dir, file) = if path.is_dir() {
        (path, None)
    } else {
        (path.parent().unwrap_or(Path::new(".")), path.file_name())
    };
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    let abs = dir
        .canonicalize()
        .map_err(|e| Error::io("cannot read", dir, e))?;
    let mut rel = abs.strip_prefix(repo).map(Path::to_path_buf).map_err(|_| {
        Error::input(
            Diagnostic::error(format!(
                "{} is outside the repository {}",
                path.display(),
                repo.display()
            ))
            .help("give --synth-output a path inside the state repository"),
        )
    })?;
    if let Some(f) = file {
        rel.push(f);
    }
    let rel = rel.to_string_lossy().into_owned();
    Ok(if rel.is_empty() { ".".into() } else { rel })
}

/// Regenerates the manifests of `dir` into `out`, as `imgf synth` would.
fn regenerate(
    dir: &Path,
    out: &Path,
    target: crate::targets::Target,
    shell: &mut Shell<'_>,
) -> Result<(), Error> {
    let inputs = load::load(dir, None, &Overrides::default())?;
    let prepared = crate::ops::synth::prepare(&inputs, target)?;
    drop(inputs);
    let rendering = prepared.rendering()?;
    if let Some(parent) = out.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|e| Error::io("cannot create", parent, e))?;
    }
    emit::write_rendering(out, &rendering)?;
    shell.status(&format!("regenerated {}", out.display()))
}

pub(crate) fn git_error(e: String) -> Error {
    Error::input(
        Diagnostic::error(e)
            .help("check the repository, the branch and the token (GITHUB_TOKEN / GITLAB_TOKEN)"),
    )
}

/// A fresh clone of the state repository, in a directory imgf created for
/// it: removed when dropped, or when a signal ends imgf.
pub(crate) struct StateClone {
    // Dropped first: the directory is removed before it is unregistered.
    dir: tempfile::TempDir,
    _tracked: crate::fs::cleanup::Tracked,
}

impl StateClone {
    /// The clone's work tree.
    pub(crate) fn root(&self) -> &Path {
        self.dir.path()
    }
}

/// Clones `branch` of `url` into a new private directory (mode 0700, a
/// random name, created exclusively: never one that was there before, so
/// git never reads a configuration or hooks imgf did not write), inside
/// `workspace` when given, else in the system's temporary directory.
fn clone_state_repo(
    workspace: Option<&Path>,
    branch: &str,
    url: &str,
) -> Result<StateClone, Error> {
    let parent = match workspace {
        Some(w) => {
            std::fs::create_dir_all(w).map_err(|e| Error::io("cannot create", w, e))?;
            w.to_path_buf()
        }
        None => std::env::temp_dir(),
    };
    let (dir, tracked) = crate::fs::cleanup::create(
        || {
            let mut b = tempfile::Builder::new();
            b.prefix("imgf-state-");
            // Only this user may look in or plant anything.
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                b.permissions(std::fs::Permissions::from_mode(0o700));
            }
            b.tempdir_in(&parent)
        },
        |d: &tempfile::TempDir| d.path().to_path_buf(),
    )
    .map_err(|e| Error::io("cannot create a temporary directory in", &parent, e))?;
    let root = dir.path();
    let token = Token::from_env(false);
    git::git(root, &["init", "-q"], None).map_err(git_error)?;
    git::git(root, &["remote", "add", "origin", url], None).map_err(git_error)?;
    git::git(root, &["fetch", "-q", "origin", branch], token.as_ref()).map_err(git_error)?;
    git::git(root, &["checkout", "-q", "-B", branch, "FETCH_HEAD"], None).map_err(git_error)?;
    Ok(StateClone {
        dir,
        _tracked: tracked,
    })
}

fn finish(done: Done, shell: &mut Shell<'_>) -> Result<ExitStatus, Error> {
    for n in &done.notes {
        shell.status(n)?;
    }
    if done.failures.is_empty() {
        return Ok(ExitStatus::Success);
    }
    let written = match done.written.len() {
        0 => "nothing was written".to_string(),
        n => format!("{n} state file(s) written, recording each failure"),
    };
    Err(Error::Partial {
        summary: format!("{} image(s) failed; {written}", done.failed),
        diagnostics: done.failures,
    })
}
