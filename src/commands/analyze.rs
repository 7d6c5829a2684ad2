//! `imgf analyze` and `imgf record-update`: read Dockerfiles and workflows
//! (from the workspace, or fetched with git), run [`crate::discovery`], and
//! write the state files that changed — atomically, only inside `--dir`,
//! never a file imgf does not own.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use super::git::{self, Token};
use crate::cli::{AnalyzeArgs, RecordUpdateArgs, StateRepoArgs};
use crate::config::enrollment::{self, Enrollment, Provider};
use crate::config::load::{self, Layout};
use crate::config::parse;
use crate::config::settings::{Overrides, Settings};
use crate::config::state::{self, BaseImageState, ImageState, WorkflowInput};
use crate::diagnostic::{Diagnostic, Error};
use crate::discovery::{Built, Discovery, Input, Move, Outcome};
use crate::timestamp::Timestamp;
use crate::{emit, ExitStatus};

/// How many times a push is retried after the remote moved on.
pub const PUSH_ATTEMPTS: usize = 5;

/// Where the state files of a directory live.
struct Dirs {
    images: PathBuf,
    bases: PathBuf,
    archive_images: PathBuf,
    archive_bases: PathBuf,
}

impl Dirs {
    fn new(dir: &Path) -> Result<Dirs, Error> {
        let layout = load::detect_layout(dir)?;
        let (images, bases) = layout.dirs(dir);
        let archive = match layout {
            Layout::Legacy => dir.join("_archive"),
            Layout::State | Layout::Empty => dir.join("state/_archive"),
        };
        Ok(Dirs {
            images,
            bases,
            archive_images: archive.join("images"),
            archive_bases: archive.join("base-images"),
        })
    }
}

fn io(out: &mut dyn Write, line: &str) -> Result<(), Error> {
    writeln!(out, "{line}").map_err(|e| Error::io("cannot write to", Path::new("stderr"), e))
}

/// Reads every state file of one directory, with the keys imgf does not model.
fn read_all<T: serde::de::DeserializeOwned + Send>(
    dir: &Path,
    known: &[&str],
    set_extra: fn(&mut T, state::Extra),
) -> Result<BTreeMap<String, (T, String)>, Error> {
    let mut out = BTreeMap::new();
    let mut problems = Vec::new();
    for path in load::list_state_files(dir)? {
        let text = parse::read_text(&path)?;
        let stem = load::stem(&path);
        match parse::parse::<T>(&path, &text).and_then(|mut v| {
            set_extra(&mut v, state::extra_keys(&path, &text, known)?);
            Ok(v)
        }) {
            Ok(v) => {
                out.insert(stem, (v, text));
            }
            Err(d) => {
                problems.push(d.help("fix the file, or delete it to let analysis write it again"))
            }
        }
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(Error::Input(problems))
    }
}

fn read_images(dir: &Path) -> Result<BTreeMap<String, (ImageState, String)>, Error> {
    read_all(dir, &state::IMAGE_KEYS, |s: &mut ImageState, e| s.extra = e)
}

fn read_bases(dir: &Path) -> Result<BTreeMap<String, (BaseImageState, String)>, Error> {
    read_all(dir, &state::BASE_KEYS, |s: &mut BaseImageState, e| {
        s.extra = e
    })
}

/// What one pass over the state directory did.
struct Done {
    /// The commit message, when there is something to commit.
    message: String,
    notes: Vec<String>,
    failures: Vec<Diagnostic>,
}

/// Runs `op` on the state directory (cloning `--state-repo` first), then
/// commits and pushes as asked; after a rejected push it fetches, resets and
/// runs `op` again, up to [`PUSH_ATTEMPTS`] times.
fn with_state_repo(
    dir: &Path,
    repo_args: &StateRepoArgs,
    workspace: Option<&Path>,
    err: &mut dyn Write,
    mut op: impl FnMut(&Path, Option<&Path>, &mut dyn Write) -> Result<Done, Error>,
) -> Result<ExitStatus, Error> {
    let (dir, workspace, root) = match &repo_args.state_repo {
        Some(url) => {
            let (d, w) = clone_state_repo(dir, workspace, &repo_args.state_branch, url)?;
            let root = w.clone();
            (d, w, root)
        }
        None => (dir.to_path_buf(), workspace.map(Path::to_path_buf), None),
    };
    // The regenerated manifests: in the clone with --state-repo, else as given.
    let synth_output = repo_args.synth_output.as_ref().map(|o| match &root {
        Some(r) => r.join(o),
        None => o.clone(),
    });
    let push = repo_args.push;
    let mut attempt = 0;
    loop {
        attempt += 1;
        let done = op(&dir, workspace.as_deref(), err)?;
        if let Some(out) = &synth_output {
            regenerate(&dir, out, err)?;
        }
        if !(repo_args.commit || push) {
            return finish(done, err);
        }
        let repo = git::toplevel(&dir).map_err(git_error)?;
        let mut paths = vec![repo_relative(&repo, &dir)?];
        if let Some(out) = &synth_output {
            paths.push(repo_relative(&repo, out)?);
        }
        let paths: Vec<&str> = paths.iter().map(String::as_str).collect();
        let committed = git::commit(&repo, &paths, &done.message).map_err(git_error)?;
        if !committed {
            io(err, "nothing changed: no commit")?;
            return finish(done, err);
        }
        io(
            err,
            &format!(
                "committed: {}",
                done.message.lines().next().unwrap_or_default()
            ),
        )?;
        if !push {
            return finish(done, err);
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
                io(err, &format!("pushed to origin/{branch}"))?;
                return finish(done, err);
            }
            Err(e) if git::is_non_fast_forward(&e) && attempt < PUSH_ATTEMPTS => {
                io(err, &format!("push rejected (attempt {attempt} of {PUSH_ATTEMPTS}): the remote moved on; fetching and re-applying"))?;
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
fn regenerate(dir: &Path, out: &Path, err: &mut dyn Write) -> Result<(), Error> {
    let inputs = load::load(dir, None, &Overrides::default())?;
    let result = crate::synth::synthesize(&inputs)?;
    if let Some(parent) = out.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|e| Error::io("cannot create", parent, e))?;
    }
    emit::write_stream(out, &result.yaml)?;
    io(err, &format!("regenerated {}", out.display()))
}

/// `imgf analyze`.
pub fn run(args: &AnalyzeArgs, err: &mut dyn Write) -> Result<ExitStatus, Error> {
    let now = Timestamp::now();
    with_state_repo(
        &args.dir,
        &args.state,
        args.workspace.as_deref(),
        err,
        |dir, workspace, err| {
            let outcome = analyze_once(args, dir, workspace, now, err)?;
            Ok(Done {
            message: commit_message(&outcome),
            notes: outcome.notes.clone(),
            failures: outcome
                .failures
                .iter()
                .map(|(image, why)| {
                    Diagnostic::error(format!("analysis of `{image}` failed: {why}"))
                        .help("its state records discoveryStatus: failed and keeps its last known base images")
                })
                .collect(),
        })
        },
    )
}

fn git_error(e: String) -> Error {
    Error::input(
        Diagnostic::error(e)
            .help("check the repository, the branch and the token (GITHUB_TOKEN / GITLAB_TOKEN)"),
    )
}

fn clone_state_repo(
    dir: &Path,
    workspace: Option<&Path>,
    branch: &str,
    url: &str,
) -> Result<(PathBuf, Option<PathBuf>), Error> {
    let root = match workspace {
        Some(w) => w.join("state-repo"),
        None => std::env::temp_dir().join(format!("imgf-state-{}", std::process::id())),
    };
    if !root.join(".git").exists() {
        std::fs::create_dir_all(&root).map_err(|e| Error::io("cannot create", &root, e))?;
        let token = Token::from_env(false);
        git::git(&root, &["init", "-q"], None).map_err(git_error)?;
        git::git(&root, &["remote", "add", "origin", url], None).map_err(git_error)?;
        git::git(&root, &["fetch", "-q", "origin", branch], token.as_ref()).map_err(git_error)?;
        git::git(&root, &["checkout", "-q", "-B", branch, "FETCH_HEAD"], None)
            .map_err(git_error)?;
    }
    Ok((root.join(dir), Some(root)))
}

fn commit_message(o: &Outcome) -> String {
    let images: Vec<&str> = o.images.keys().map(String::as_str).collect();
    let mut m = format!(
        "imgf analyze: {} image(s), {} base image(s)",
        images.len(),
        o.bases.len()
    );
    if !o.notes.is_empty() {
        m.push_str("\n\n");
        for n in &o.notes {
            m.push_str(&format!("- {n}\n"));
        }
    }
    m
}

fn finish(done: Done, err: &mut dyn Write) -> Result<ExitStatus, Error> {
    for n in &done.notes {
        io(err, n)?;
    }
    if done.failures.is_empty() {
        Ok(ExitStatus::Success)
    } else {
        Err(Error::Input(done.failures))
    }
}

/// One pass: read, discover, decide, write.
fn analyze_once(
    args: &AnalyzeArgs,
    dir: &Path,
    workspace: Option<&Path>,
    now: Timestamp,
    err: &mut dyn Write,
) -> Result<Outcome, Error> {
    let images_file = dir.join(load::IMAGES_FILE);
    let (text, enrollments) = load::load_enrollments(&images_file)?;
    let problems = enrollment::validate(&enrollments, &images_file, &text);
    crate::diagnostic::into_result(problems)?;
    let settings = load::load_settings(dir, args.settings.as_deref(), &Overrides::default())
        .map_err(Error::Input)?;
    if let Some(name) = &args.image {
        if !enrollments.iter().any(|e| &e.name == name) {
            return Err(Error::input(
                Diagnostic::error(format!(
                    "`{name}` is not enrolled in {}",
                    images_file.display()
                ))
                .help("enroll it in images.yaml first, or check the name"),
            ));
        }
    }
    let dirs = Dirs::new(dir)?;
    let images = read_images(&dirs.images)?;
    let bases = read_bases(&dirs.bases)?;
    let archived = read_images(&dirs.archive_images)?;

    let root = match workspace {
        Some(w) => w.to_path_buf(),
        None => dir
            .canonicalize()
            .map_err(|e| Error::io("cannot read", dir, e))?
            .parent()
            .map_or_else(|| PathBuf::from("/"), Path::to_path_buf),
    };
    let mut discovered = BTreeMap::new();
    for e in &enrollments {
        if e.source.is_none() || args.image.as_ref().is_some_and(|n| n != &e.name) {
            continue;
        }
        let result = discover(e, &root, dir, args, &settings, err);
        discovered.insert(e.name.clone(), result);
    }
    // Empty values mean "no build": the analysis Stage passes `""` when it
    // was promoted with a source commit before any build of the image.
    let given = |v: &Option<String>| v.clone().filter(|s| !s.is_empty());
    let (tag, digest) = (given(&args.tag), given(&args.digest));
    let built = args
        .image
        .as_ref()
        .filter(|_| tag.is_some() || digest.is_some())
        .map(|image| Built {
            image: image.clone(),
            tag,
            digest,
        });
    let image_states: BTreeMap<String, ImageState> = images
        .iter()
        .map(|(k, (v, _))| (k.clone(), v.clone()))
        .collect();
    let base_states: BTreeMap<String, BaseImageState> = bases
        .iter()
        .map(|(k, (v, _))| (k.clone(), v.clone()))
        .collect();
    let archived_states: BTreeMap<String, ImageState> = archived
        .iter()
        .map(|(k, (v, _))| (k.clone(), v.clone()))
        .collect();
    let outcome = crate::discovery::apply(&Input {
        enrollments: &enrollments,
        images: &image_states,
        bases: &base_states,
        archived_images: &archived_states,
        discovered: &discovered,
        built: built.as_ref(),
        full_run: args.image.is_none(),
        now,
    });

    // Moves first (a restored state is then rewritten in place).
    for m in &outcome.moves {
        let (from, to) = match m {
            Move::ArchiveImage(n) => (
                dirs.images.join(format!("{n}.yaml")),
                dirs.archive_images.join(format!("{n}.yaml")),
            ),
            Move::ArchiveBase(n) => (
                dirs.bases.join(format!("{n}.yaml")),
                dirs.archive_bases.join(format!("{n}.yaml")),
            ),
            Move::RestoreImage(n) => (
                dirs.archive_images.join(format!("{n}.yaml")),
                dirs.images.join(format!("{n}.yaml")),
            ),
        };
        if from.is_file() {
            if let Some(parent) = to.parent() {
                std::fs::create_dir_all(parent)
                    .map_err(|e| Error::io("cannot create", parent, e))?;
            }
            std::fs::rename(&from, &to).map_err(|e| Error::io("cannot move", &from, e))?;
        }
    }
    for (name, s) in &outcome.images {
        let old = images.get(name).map(|(_, t)| t.as_str());
        write_if_changed(
            &dirs.images.join(format!("{name}.yaml")),
            old,
            &emit::state::image_state(s)?,
        )?;
    }
    for (name, s) in &outcome.bases {
        let old = bases.get(name).map(|(_, t)| t.as_str());
        write_if_changed(
            &dirs.bases.join(format!("{name}.yaml")),
            old,
            &emit::state::base_image_state(s)?,
        )?;
    }
    Ok(outcome)
}

fn write_if_changed(path: &Path, old: Option<&str>, new: &str) -> Result<(), Error> {
    let current = match old {
        Some(t) => Some(t.to_string()),
        None => std::fs::read_to_string(path).ok(),
    };
    if current.as_deref() == Some(new) {
        return Ok(());
    }
    emit::write_atomic(path, new.as_bytes())
}

/// Finds and analyses one managed image's Dockerfile (and workflow).
fn discover(
    e: &Enrollment,
    root: &Path,
    dir: &Path,
    args: &AnalyzeArgs,
    settings: &Settings,
    err: &mut dyn Write,
) -> Result<Discovery, String> {
    let src = e.source.as_ref().ok_or("no source")?;
    let provider = src.provider.unwrap_or(Provider::Github);
    let workflow_path = src
        .workflow
        .as_ref()
        .filter(|w| w.ends_with(".yml") || w.ends_with(".yaml"))
        .map(|w| format!(".github/workflows/{w}"));
    let local = root.join(&src.dockerfile);
    let source_root = if local.is_file() {
        let canon_root = root
            .canonicalize()
            .map_err(|e| format!("cannot read the workspace: {e}"))?;
        let canon = local
            .canonicalize()
            .map_err(|e| format!("cannot read {}: {e}", local.display()))?;
        if !canon.starts_with(&canon_root) {
            return Err(format!(
                "the Dockerfile {} leaves the workspace (through a link)",
                src.dockerfile
            ));
        }
        root.to_path_buf()
    } else {
        let base = args
            .source_base_url
            .clone()
            .unwrap_or_else(|| match provider {
                Provider::Github => settings.github_web.clone(),
                Provider::Gitlab => settings.gitlab_url.clone(),
            });
        let url = format!("{}/{}.git", base.trim_end_matches('/'), src.repo);
        let branch = src.branch.as_deref().unwrap_or("main");
        let cache = dir
            .join(".imgf-cache")
            .join(crate::names::short_hash(&format!("{url}#{branch}")));
        ensure_cache_ignored(dir);
        let mut paths = vec![src.dockerfile.as_str()];
        if let Some(w) = &workflow_path {
            paths.push(w);
        }
        let token = Token::from_env(provider == Provider::Gitlab);
        git::fetch_sparse(&url, branch, &paths, &cache, token.as_ref()).map_err(|e| {
            format!("the Dockerfile is not in the workspace and fetching it from {url} failed: {e}")
        })?
    };
    let path = source_root.join(&src.dockerfile);
    let text = std::fs::read_to_string(&path)
        .map_err(|e| format!("cannot read {}: {e}", src.dockerfile))?;
    let opts = crate::dockerfile::Options {
        build_args: src.build_args.clone(),
        platform: args.platform.clone(),
    };
    let analysis = crate::dockerfile::read_bases(&text, &opts)
        .map_err(|p| format!("{}:{}:{}: {}", src.dockerfile, p.line, p.column, p.message))?;
    let workflow_inputs = match (&workflow_path, provider) {
        (Some(w), Provider::Github) => match read_workflow_inputs(&source_root.join(w)) {
            Ok(inputs) => Some(inputs),
            Err(why) => {
                let _ = writeln!(
                    err,
                    "warning: {}: workflow {w}: {why}; the dispatch inputs are not checked against it",
                    e.name
                );
                None
            }
        },
        _ => None,
    };
    Ok(Discovery {
        bases: analysis
            .base_images
            .into_iter()
            .map(|b| (b.reference, b.image))
            .collect(),
        unresolved: analysis
            .unresolved
            .into_iter()
            .map(|u| format!("line {}: FROM {}: {}", u.line, u.from, u.reason))
            .collect(),
        workflow_inputs,
    })
}

/// Keeps the fetch cache out of git.
fn ensure_cache_ignored(dir: &Path) {
    let ignore = dir.join(".imgf-cache/.gitignore");
    if !ignore.exists() {
        let _ = std::fs::create_dir_all(dir.join(".imgf-cache"));
        let _ = std::fs::write(ignore, "*\n");
    }
}

/// The `workflow_dispatch` inputs a GitHub workflow declares.
pub fn read_workflow_inputs(path: &Path) -> Result<Vec<WorkflowInput>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => "not found".to_string(),
        _ => e.to_string(),
    })?;
    let value: parse::Value = parse::parse_value(path, &text).map_err(|d| d.message)?;
    // YAML 1.1 readers turn the key `on` into `true`; accept both spellings.
    let on = value
        .get("on")
        .or_else(|| {
            value
                .as_mapping()
                .and_then(|m| m.get(parse::Value::Bool(true)))
        })
        .ok_or("it has no `on:` triggers")?;
    let dispatch = match on {
        parse::Value::String(s) if s == "workflow_dispatch" => return Ok(Vec::new()),
        parse::Value::Sequence(items)
            if items
                .iter()
                .any(|i| i.as_str() == Some("workflow_dispatch")) =>
        {
            return Ok(Vec::new())
        }
        parse::Value::Mapping(m) => m.get("workflow_dispatch"),
        _ => None,
    }
    .ok_or("it has no workflow_dispatch trigger, so GitHub refuses dispatches")?;
    let Some(inputs) = dispatch.get("inputs").and_then(parse::Value::as_mapping) else {
        return Ok(Vec::new());
    };
    Ok(inputs
        .iter()
        .filter_map(|(k, v)| {
            Some(WorkflowInput {
                name: k.as_str()?.to_string(),
                required: v
                    .get("required")
                    .and_then(parse::Value::as_bool)
                    .unwrap_or(false),
            })
        })
        .collect())
}

/// `imgf record-update`.
pub fn record_update(args: &RecordUpdateArgs, err: &mut dyn Write) -> Result<ExitStatus, Error> {
    if !(args.digest.starts_with("sha256:")
        && args.digest.len() == 71
        && args.digest[7..].bytes().all(|b| b.is_ascii_hexdigit()))
    {
        return Err(Error::input(
            Diagnostic::error(format!("`{}` is not a sha256 digest", args.digest))
                .help("pass it like sha256:<64 hex digits>"),
        ));
    }
    let now = Timestamp::now();
    with_state_repo(&args.dir, &args.state, None, err, |dir, _, _| {
        record_once(args, dir, now)
    })
}

fn record_once(args: &RecordUpdateArgs, dir: &Path, now: Timestamp) -> Result<Done, Error> {
    let dirs = Dirs::new(dir)?;
    let bases = read_bases(&dirs.bases)?;
    let name = if bases.contains_key(&args.base) {
        args.base.clone()
    } else {
        crate::image_ref::ImageRef::parse(&args.base)
            .ok()
            .and_then(|r| {
                let key = format!("{}:{}", r.repo_url(), r.tag.clone().unwrap_or_default());
                bases
                    .iter()
                    .find(|(_, (s, _))| {
                        crate::discovery::state_reference(s).as_deref() == Some(key.as_str())
                    })
                    .map(|(k, _)| k.clone())
            })
            .ok_or_else(|| {
                Error::input(
                    Diagnostic::error(format!(
                        "no base image `{}` in {}",
                        args.base,
                        dirs.bases.display()
                    ))
                    .help("give the state file's name (without .yaml) or the image reference"),
                )
            })?
    };
    let images_file = dir.join(load::IMAGES_FILE);
    let (_, enrollments) = load::load_enrollments(&images_file)?;
    let images = read_images(&dirs.images)?;
    let dependents: Vec<(String, u64)> = images
        .iter()
        .filter(|(_, (s, _))| s.base_images.contains(&name))
        .filter_map(|(n, _)| {
            let e = enrollments.iter().find(|e| &e.name == n)?;
            let delay = e
                .rebuild_delay
                .as_deref()
                .unwrap_or(crate::merge::DEFAULT_REBUILD_DELAY);
            Some((n.clone(), crate::values::duration(delay).unwrap_or(0)))
        })
        .collect();
    let (mut state, text) = bases[&name].clone();
    let note = if crate::discovery::record_update(&mut state, &args.digest, &dependents, now) {
        write_if_changed(
            &dirs.bases.join(format!("{name}.yaml")),
            Some(&text),
            &emit::state::base_image_state(&state)?,
        )?;
        format!(
            "{name}: digest {} recorded; {} dependent(s) scheduled",
            args.digest,
            dependents.len()
        )
    } else {
        format!(
            "{name}: {} is already the current digest; nothing changed",
            args.digest
        )
    };
    Ok(Done {
        message: format!("imgf record-update: {name} is now {}", args.digest),
        notes: vec![note],
        failures: Vec::new(),
    })
}
