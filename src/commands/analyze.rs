//! `imgf analyze`: read Dockerfiles and workflows (from the workspace, or
//! fetched with git), run [`crate::ops::discovery`], and write the state files
//! that changed — through [`crate::state::store`], only inside `--dir`,
//! never a file imgf does not own — inside the state-repository transaction.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::cli::{AnalyzeArgs, OutputFormat};
use crate::config::enrollment::{self, Enrollment, Provider};
use crate::config::parse;
use crate::config::settings::{Overrides, Settings};
use crate::diagnostic::{Diagnostic, Error};
use crate::git;
use crate::git::state_repo::{with_state_repo, Done};
use crate::load;
use crate::ops::discovery::{Built, Discovery, Input, Outcome, Report};
use crate::shell::{Progress, Shell};
use crate::state::store::{self, Store};
use crate::state::{BaseImageState, ImageState, WorkflowInput};
use crate::timestamp::Timestamp;
use crate::ExitStatus;

/// `imgf analyze`.
pub(crate) fn run(args: &AnalyzeArgs, shell: &mut Shell<'_>) -> Result<ExitStatus, Error> {
    // `-` (or empty) is "no build"; anything else is checked as
    // record-update checks it, before a state file is touched.
    if let Some(d) = args
        .digest
        .as_deref()
        .filter(|d| !d.is_empty() && *d != crate::values::NO_BUILD)
    {
        if let Err(why) = crate::values::sha256_digest(d) {
            let e = Error::input(
                Diagnostic::error(format!("--digest: {why}"))
                    .help("pass it like sha256:<64 hex digits>, or `-` when nothing was built"),
            );
            return shell.json_errors(args.format == OutputFormat::Json, Err(e));
        }
    }
    let now = Timestamp::now();
    // With --format json: the last pass's report (a pass may run again
    // after a rejected push).
    let mut report: Option<Report> = None;
    let json = args.format == OutputFormat::Json;
    let result = with_state_repo(
        &args.dir.path,
        &super::state_repo(&args.state),
        args.workspace.as_deref(),
        shell,
        |dir, workspace, shell| {
            let (outcome, written, unfetched) = analyze_once(args, dir, workspace, now, shell)?;
            if json {
                report = Some(Report::new(args.image.as_deref(), &outcome, &written));
            }
            Ok(Done {
                message: commit_message(args.image.as_deref(), &outcome, &written),
                notes: outcome.notes.clone(),
                written,
                failures: failures(&outcome, &unfetched),
                failed: outcome.failures.len(),
            })
        },
    );
    match (report, json) {
        (Some(report), true) => {
            let report = match &result {
                Err(e) => report.failed_with(e),
                Ok(_) => report,
            };
            shell.out_json(&report)?;
            result
        }
        (_, json) => shell.json_errors(json, result),
    }
}

/// One diagnostic per failed image, except those whose sources could not
/// be fetched: when more than one, they share one (offline, every image
/// would say the same).
fn failures(o: &Outcome, unfetched: &Unfetched) -> Vec<Diagnostic> {
    let summarise = unfetched.images.len() > 1;
    let mut out: Vec<Diagnostic> = o
        .failures
        .iter()
        .filter(|(image, _)| !(summarise && unfetched.images.contains_key(image)))
        .map(|(image, why)| {
            Diagnostic::error(format!("analysis of `{image}` failed: {why}"))
                .help("its state records discoveryStatus: failed and keeps its last known base images; fix the Dockerfile and run `imgf analyze` again")
        })
        .collect();
    if summarise {
        let names: Vec<&str> = unfetched.images.keys().map(String::as_str).collect();
        let shown = match names.len() {
            n if n > 5 => format!("{}, … and {} more", names[..5].join(", "), n - 5),
            _ => names.join(", "),
        };
        let (url, why) = unfetched
            .repos
            .iter()
            .next()
            .map_or((String::new(), String::new()), |(u, w)| {
                (u.clone(), w.clone())
            });
        let first = match unfetched.repos.len() {
            1 => format!("{url}: {why}"),
            n => format!("{n} repositories could not be fetched; the first, {url}: {why}"),
        };
        out.push(
            Diagnostic::error(format!(
                "analysis of {} images failed: their Dockerfiles are not in the workspace and fetching them failed ({shown}): {first}",
                names.len()
            ))
            .help("offline? pass --workspace DIR holding the source checkouts, or check --source-base-url and GITHUB_TOKEN / GITLAB_TOKEN; each image's state records discoveryStatus: failed and keeps its last known base images"),
        );
    }
    out
}

/// The commit message: a subject that says what this run changed, and
/// every note in the body.
fn commit_message(image: Option<&str>, o: &Outcome, written: &[PathBuf]) -> String {
    let scope = image.map_or(String::new(), |i| format!(" {i}"));
    let subject = match o.notes.as_slice() {
        [one] => format!("imgf analyze{scope}: {one}"),
        _ => format!(
            "imgf analyze{scope}: {} state file(s) changed",
            written.len()
        ),
    };
    let mut m = subject;
    if o.notes.len() > 1 {
        m.push_str("\n\n");
        for n in &o.notes {
            let _ = writeln!(m, "- {n}");
        }
    }
    m
}

/// One pass: read, discover, decide, write.
fn analyze_once(
    args: &AnalyzeArgs,
    dir: &Path,
    workspace: Option<&Path>,
    now: Timestamp,
    shell: &mut Shell<'_>,
) -> Result<(Outcome, Vec<PathBuf>, Unfetched), Error> {
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
    let store = Store::open(dir)?;
    let mut warnings = Vec::new();
    let images: BTreeMap<String, (ImageState, String)> =
        store::keyed(store::read_or_fail(&store.images, &mut warnings)?);
    let bases: BTreeMap<String, (BaseImageState, String)> =
        store::keyed(store::read_or_fail(&store.bases, &mut warnings)?);
    let archived: BTreeMap<String, (ImageState, String)> =
        store::keyed(store::read_or_fail(&store.archive_images, &mut warnings)?);
    let archived_bases: BTreeMap<String, BaseImageState> =
        store::keyed(store::read_or_fail(&store.archive_bases, &mut warnings)?)
            .into_iter()
            .map(|(k, (v, _))| (k, v))
            .collect();
    shell.diagnostics(&warnings)?;

    let root = match workspace {
        Some(w) => w.to_path_buf(),
        None => dir
            .canonicalize()
            .map_err(|e| Error::io("cannot read", dir, e))?
            .parent()
            .map_or_else(|| PathBuf::from("/"), Path::to_path_buf),
    };
    let mut discovered = BTreeMap::new();
    let todo: Vec<&Enrollment> = enrollments
        .iter()
        .filter(|e| e.source.is_some() && args.image.as_ref().is_none_or(|n| n == &e.name))
        .collect();
    // Every repository is fetched once, with every path any image needs.
    let mut sources = Sources::new(dir);
    for e in &todo {
        if let Some(Place::Remote {
            url,
            branch,
            gitlab,
        }) = place(e, &root, args, &settings)
        {
            sources.want(&url, &branch, gitlab, &needed_paths(e));
        }
    }
    let mut progress = Progress::new(
        shell.ui().progress && args.format != OutputFormat::Json,
        todo.len(),
    );
    for (i, e) in todo.iter().enumerate() {
        progress.step(i + 1, &e.name, shell.err());
        // What discovery says on stderr waits until the progress line is
        // cleared, so the two never share a line.
        let mut said = Vec::new();
        let result = discover(e, &root, args, &settings, &mut said, &mut sources);
        if !said.is_empty() {
            progress.clear(shell.err());
            shell.diagnostics(&said)?;
        }
        discovered.insert(e.name.clone(), result);
    }
    progress.clear(shell.err());
    // `-` means "no build": the analysis Stage passes it when it was
    // promoted with a source commit before any build of the image (empty
    // values, which older Stages passed, mean the same).
    let given = |v: &Option<String>| {
        v.clone()
            .filter(|s| !s.is_empty() && s != crate::values::NO_BUILD)
    };
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
    let outcome = crate::ops::discovery::apply(&Input {
        enrollments: &enrollments,
        images: &image_states,
        bases: &base_states,
        archived_images: &archived_states,
        archived_bases: &archived_bases,
        discovered: &discovered,
        built: built.as_ref(),
        full_run: args.image.is_none(),
        now,
    });

    // A base built FROM its own dependent would break synth for everyone:
    // refuse it before anything is written.
    if let Some(cycle) = crate::ops::discovery::cycle(&outcome, &enrollments) {
        return Err(Error::input(
            Diagnostic::error(format!(
                "analysis found a dependency cycle: {} (each is built FROM the next); nothing was written",
                cycle.join(" → ")
            ))
            .help("an image cannot be built on its own dependent: fix the FROM line that closes the cycle"),
        ));
    }
    // Moves first (a restored state is then rewritten in place).
    let mut written = Vec::new();
    for m in &outcome.moves {
        written.extend(store.apply(m)?);
    }
    for (name, s) in &outcome.images {
        written.extend(store.write_image(name, images.get(name).map(|(_, t)| t.as_str()), s)?);
    }
    for (name, s) in &outcome.bases {
        written.extend(store.write_base(name, bases.get(name).map(|(_, t)| t.as_str()), s)?);
    }
    Ok((outcome, written, sources.unfetched))
}

/// Where an image's Dockerfile is read.
enum Place {
    /// In the workspace.
    Local,
    /// In this repository and branch, fetched.
    Remote {
        url: String,
        branch: String,
        gitlab: bool,
    },
}

/// Where `e`'s Dockerfile is read (`None`: it has no source).
fn place(e: &Enrollment, root: &Path, args: &AnalyzeArgs, settings: &Settings) -> Option<Place> {
    let src = e.source.as_ref()?;
    // Only a Dockerfile missing from the workspace is fetched: a directory
    // or a broken link in its place is a mistake to name, not a reason to
    // go to the network.
    if matches!(
        parse::not_a_file(&root.join(&src.dockerfile)),
        Ok(None
            | Some(
                parse::NotAFile::Directory
                    | parse::NotAFile::Dangling(_)
                    | parse::NotAFile::Loop
                    | parse::NotAFile::Special
            ))
    ) {
        return Some(Place::Local);
    }
    let provider = src.provider.unwrap_or(Provider::Github);
    let url = match &args.source_base_url {
        Some(base) => format!("{}/{}.git", base.trim_end_matches('/'), src.repo),
        None => settings.providers.clone_url(provider, &src.repo),
    };
    Some(Place::Remote {
        url,
        branch: src.branch.as_deref().unwrap_or("main").to_string(),
        gitlab: provider == Provider::Gitlab,
    })
}

/// The workflow file `e` names, in its repository.
fn workflow_path(e: &Enrollment) -> Option<String> {
    e.source
        .as_ref()?
        .workflow
        .as_ref()
        .filter(|w| w.ends_with(".yml") || w.ends_with(".yaml"))
        .map(|w| format!(".github/workflows/{w}"))
}

/// The files of `e`'s repository analysis reads.
fn needed_paths(e: &Enrollment) -> Vec<String> {
    let mut paths: Vec<String> = e.source.iter().map(|s| s.dockerfile.clone()).collect();
    paths.extend(workflow_path(e));
    paths
}

/// Images whose sources could not be fetched, and why, by repository.
#[derive(Default)]
struct Unfetched {
    /// Image → the repository URL.
    images: BTreeMap<String, String>,
    /// Repository URL → the error.
    repos: BTreeMap<String, String>,
}

/// The source repositories of one pass ([`git::Checkouts`], skipping a
/// host after a network error), and which images could not be fetched.
struct Sources<'a> {
    checkouts: git::Checkouts<'a>,
    unfetched: Unfetched,
}

impl<'a> Sources<'a> {
    fn new(dir: &'a Path) -> Self {
        Sources {
            checkouts: git::Checkouts::new(dir).skipping_unreachable_hosts(),
            unfetched: Unfetched::default(),
        }
    }

    fn want(&mut self, url: &str, branch: &str, gitlab: bool, paths: &[String]) {
        self.checkouts
            .want(url, branch, gitlab, paths.iter().map(String::as_str));
    }

    /// The checkout of `branch` of `url`, fetched on first use, for `image`.
    fn get(&mut self, image: &str, url: &str, branch: &str) -> Result<PathBuf, String> {
        let result = self.checkouts.get(url, branch).clone();
        if let Err(why) = &result {
            self.unfetched
                .images
                .insert(image.to_string(), url.to_string());
            self.unfetched
                .repos
                .entry(url.to_string())
                .or_insert_with(|| why.clone());
        }
        result
    }
}

/// Finds and analyses one managed image's Dockerfile (and workflow); its
/// warnings go to `said`.
fn discover(
    e: &Enrollment,
    root: &Path,
    args: &AnalyzeArgs,
    settings: &Settings,
    said: &mut Vec<Diagnostic>,
    sources: &mut Sources<'_>,
) -> Result<Discovery, String> {
    let src = e.source.as_ref().ok_or("no source")?;
    let provider = src.provider.unwrap_or(Provider::Github);
    let workflow_path = workflow_path(e);
    let local = root.join(&src.dockerfile);
    let place = place(e, root, args, settings).ok_or("no source")?;
    let source_root = if let Place::Remote { url, branch, .. } = &place {
        sources.get(&e.name, url, branch).map_err(|e| {
            format!("the Dockerfile is not in the workspace and fetching it from {url} failed: {e}")
        })?
    } else {
        // Something that is not a file where the Dockerfile should be (see
        // `place`) is named as what it is.
        if let Ok(Some(other)) = parse::not_a_file(&local) {
            return Err(format!(
                "the Dockerfile {} {}",
                src.dockerfile,
                other.describe()
            ));
        }
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
    };
    let path = source_root.join(&src.dockerfile);
    let text = std::fs::read_to_string(&path)
        .map_err(|e| format!("cannot read {}: {e}", src.dockerfile))?;
    let opts = crate::dockerfile::Options {
        build_args: src.build_args.clone(),
        platform: args.platform.clone(),
    };
    let analysis = crate::dockerfile::read_bases(&text, &opts).map_err(|p| {
        format!(
            "{}:{}:{}: {} ({})",
            src.dockerfile, p.line, p.column, p.message, p.help
        )
    })?;
    let workflow_inputs = match (&workflow_path, provider) {
        (Some(w), Provider::Github) => match read_workflow_inputs(&source_root.join(w)) {
            Ok(inputs) => Some(inputs),
            Err(why) => {
                let warning = Diagnostic::warning(format!(
                    "{}: workflow {w}: {why}; the dispatch inputs are not checked against it",
                    e.name
                ));
                said.push(warning);
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

/// The `workflow_dispatch` inputs a GitHub workflow declares.
pub(crate) fn read_workflow_inputs(path: &Path) -> Result<Vec<WorkflowInput>, String> {
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
