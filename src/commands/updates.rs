//! `imgf updates check`: reads every update target — from `--workspace`
//! checkouts, or fetched like analyze fetches Dockerfiles — and reports
//! what would fail at promotion time ([`crate::update_check`]). Exit 2 on
//! any problem. `--format json` lists every target (and Argo CD
//! Application) checked, with its problems ([`Report`]).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::git::{self, Token};
use super::{json_line, load_model, print_warnings, write_out};
use crate::cli::{OutputFormat, SynthTarget, UpdatesCheckArgs};
use crate::config::enrollment::Provider;
use crate::config::load::Inputs;
use crate::diagnostic::{Diagnostic, DiagnosticJson, Error};
use crate::model::{Model, Update};
use crate::targets::flux::Image;
use crate::targets::kargo::update_stage_name;
use crate::update_check::{self, KUSTOMIZATION_FILES};
use crate::ExitStatus;

/// At most this many YAML files are read looking for Argo CD Applications.
const MAX_SCANNED: usize = 5000;

/// One update target as checked: where it was read, and what is wrong.
struct Target<'a> {
    image: Image<'a>,
    update: &'a Update,
    /// The file read (the kustomization found, or the YAML file); `None`
    /// when there was none to read, or the repository could not be fetched.
    file: Option<PathBuf>,
    /// False when the repository could not be fetched.
    checked: bool,
    problems: Vec<Diagnostic>,
}

/// An Argo CD Application found in the workspace that update Stages sync.
struct Application {
    file: PathBuf,
    namespace: String,
    name: String,
    /// The Stages its `authorized-stage` annotation must list.
    stages: Vec<String>,
    problems: Vec<Diagnostic>,
}

pub(crate) fn check(
    args: &UpdatesCheckArgs,
    ui: crate::Ui,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<ExitStatus, Error> {
    let json = args.format == OutputFormat::Json;
    let (inputs, model) = match load_model(&args.input, ui, err) {
        Ok(loaded) => loaded,
        Err(e) => return super::json_errors(Err(e), json, out),
    };
    let flux = args.target == SynthTarget::Flux;
    let (targets, applications) = check_all(args, &inputs, &model, flux);
    let problems: Vec<Diagnostic> = targets
        .iter()
        .flat_map(|t| &t.problems)
        .chain(applications.iter().flat_map(|a| &a.problems))
        .cloned()
        .collect();
    let checked = targets.iter().filter(|t| t.checked).count();
    let result = crate::diagnostic::into_result(problems);
    if json {
        let report = Report::new(
            flux,
            &targets,
            &applications,
            checked,
            result.as_ref().err(),
        );
        write_out(out, &json_line(&report))?;
    }
    let warnings = result?;
    print_warnings(&warnings, ui, err)?;
    if !json {
        write_out(
            out,
            &format!("{checked} update target(s) checked: no problems\n"),
        )?;
    }
    Ok(ExitStatus::Success)
}

/// Checks every update target, then (Kargo, with a workspace) every Argo
/// CD Application the update Stages sync.
fn check_all<'a>(
    args: &UpdatesCheckArgs,
    inputs: &Inputs,
    model: &'a Model,
    flux: bool,
) -> (Vec<Target<'a>>, Vec<Application>) {
    // Fetched checkouts, one per (repository, branch).
    let mut fetched: BTreeMap<(String, String), Result<PathBuf, String>> = BTreeMap::new();
    // Both targets update the users of managed and external images.
    let images: Vec<Image<'a>> = model
        .managed
        .iter()
        .map(Image::Managed)
        .chain(model.upstream.iter().map(Image::External))
        .collect();
    let mut targets = Vec::new();
    for &img in &images {
        for u in img.updates() {
            let root = match &args.workspace {
                Some(w) => w.clone(),
                None => {
                    let key = (u.repo_url.clone(), u.branch.clone());
                    let paths: Vec<String> = model
                        .managed
                        .iter()
                        .flat_map(|m| &m.updates)
                        .chain(model.upstream.iter().flat_map(|e| &e.updates))
                        .filter(|o| o.repo_url == u.repo_url && o.branch == u.branch)
                        .map(|o| o.path.clone())
                        .collect();
                    let r = fetched.entry(key).or_insert_with(|| {
                        let dir = inputs.images_file.parent().unwrap_or(Path::new("."));
                        super::analyze::ensure_cache_ignored(dir);
                        let cache =
                            dir.join(".imgf-cache")
                                .join(crate::names::short_hash(&format!(
                                    "{}#{}",
                                    u.repo_url, u.branch
                                )));
                        let refs: Vec<&str> = paths.iter().map(String::as_str).collect();
                        let token = Token::from_env(u.provider == Provider::Gitlab);
                        git::fetch_sparse(&u.repo_url, &u.branch, &refs, &cache, token.as_ref())
                    });
                    match r {
                        Ok(p) => p.clone(),
                        Err(e) => {
                            targets.push(Target {
                                image: img,
                                update: u,
                                file: None,
                                checked: false,
                                problems: vec![Diagnostic::error(format!(
                                    "update-{}-{}: cannot fetch {}@{}: {e}",
                                    img.name(), u.name, u.repo_url, u.branch
                                ))
                                .help("pass a local checkout with --workspace DIR, or set GITHUB_TOKEN / GITLAB_TOKEN")],
                            });
                            continue;
                        }
                    }
                }
            };
            let (file, problems) = if flux {
                check_flux(inputs, img, u, &root.join(&u.path))
            } else {
                check_kargo(img, u, &root.join(&u.path))
            };
            targets.push(Target {
                image: img,
                update: u,
                file,
                checked: true,
                problems,
            });
        }
    }
    let mut applications = Vec::new();
    if let Some(w) = args.workspace.as_ref().filter(|_| !flux) {
        let wanted = crate::targets::kargo::runbook::authorized_stages(model, &inputs.settings);
        if !wanted.is_empty() {
            let mut files = Vec::new();
            yaml_files(w, &mut files);
            for f in files {
                let Ok(text) = std::fs::read_to_string(&f) else {
                    continue;
                };
                if !text.contains("kind: Application") {
                    continue;
                }
                let Ok(doc) =
                    crate::config::parse::parse_value(&f, update_check::first_document(&text))
                else {
                    continue;
                };
                if doc["kind"].as_str() != Some("Application") {
                    continue;
                }
                let name = doc["metadata"]["name"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string();
                let namespace = doc["metadata"]["namespace"]
                    .as_str()
                    .unwrap_or("argocd")
                    .to_string();
                if let Some(value) = wanted.get(&(namespace.clone(), name.clone())) {
                    let stages: Vec<String> = value.split(',').map(str::to_string).collect();
                    let problems = update_check::application(&f, &text, &doc, &stages);
                    applications.push(Application {
                        file: f,
                        namespace,
                        name,
                        stages,
                        problems,
                    });
                }
            }
        }
    }
    (targets, applications)
}

/// A target of Flux's setters: the line it sets carries the right marker.
fn check_flux(
    inputs: &Inputs,
    img: Image<'_>,
    u: &Update,
    target: &Path,
) -> (Option<PathBuf>, Vec<Diagnostic>) {
    let file = if u.yaml_key.is_some() {
        Some(target.to_path_buf())
    } else {
        KUSTOMIZATION_FILES
            .iter()
            .map(|f| target.join(f))
            .find(|f| f.is_file())
    };
    let Some(file) = file else {
        return (
            None,
            vec![Diagnostic::error(format!(
                "{} ({}): no kustomization in {} ({})",
                img.name(),
                u.name,
                u.path,
                target.display()
            ))
            .help(
                "fix `path` in images.yaml: it names the directory that holds kustomization.yaml",
            )],
        );
    };
    let flux_lint = if u.yaml_key.is_some() {
        crate::targets::flux::markers::yaml_file
    } else {
        crate::targets::flux::markers::kustomization
    };
    let problems = match std::fs::read_to_string(&file) {
        Ok(text) => flux_lint(&inputs.settings, img, u, &file, &text),
        Err(e) => vec![Diagnostic::error(format!(
            "{} ({}): cannot read {} ({}): {e}",
            img.name(),
            u.name,
            u.path,
            file.display()
        ))
        .help("fix `path` in images.yaml, relative to the repository root")],
    };
    (Some(file), problems)
}

/// A target of Kargo's update steps: `kustomize-set-image` or `yaml-update`
/// would do what is meant.
fn check_kargo(img: Image<'_>, u: &Update, target: &Path) -> (Option<PathBuf>, Vec<Diagnostic>) {
    let stage = crate::targets::kargo::update_stage_name(img.name(), &u.name);
    if u.yaml_key.is_some() {
        let problems = match std::fs::read_to_string(target) {
            Ok(text) => update_check::yaml_file(img, u, target, &text),
            Err(e) => vec![Diagnostic::error(format!(
                "{stage}: cannot read {} ({}): {e}",
                u.path,
                target.display()
            ))
            .help("fix `path` in images.yaml, relative to the repository root")],
        };
        return (target.is_file().then(|| target.to_path_buf()), problems);
    }
    // As Kargo finds it (`findKustomization`): regular files only (no
    // links), exactly one of the recognised names.
    let found: Vec<PathBuf> = KUSTOMIZATION_FILES
        .iter()
        .map(|f| target.join(f))
        .filter(|f| std::fs::symlink_metadata(f).is_ok_and(|m| m.file_type().is_file()))
        .collect();
    if found.len() > 1 {
        return (
            None,
            vec![Diagnostic::error(format!(
                "{stage}: {} holds more than one kustomization file ({}); Kargo refuses to choose",
                u.path,
                found
                    .iter()
                    .filter_map(|f| f.file_name())
                    .map(|f| f.to_string_lossy().into_owned())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
            .help("keep one of them")],
        );
    }
    let Some(file) = found.into_iter().next() else {
        if KUSTOMIZATION_FILES.iter().any(|f| target.join(f).exists()) {
            return (
                None,
                vec![Diagnostic::error(format!(
                    "{stage}: the kustomization in {} is a link; Kargo reads only a regular file",
                    u.path
                ))
                .help("replace the link with the file")],
            );
        }
        return (
            None,
            vec![Diagnostic::error(format!(
                "{stage}: no kustomization in {} ({})",
                u.path,
                target.display()
            ))
            .help(
                "fix `path` in images.yaml: it names the directory that holds kustomization.yaml",
            )],
        );
    };
    let problems = match std::fs::read_to_string(&file) {
        Ok(text) => update_check::kustomization(img, u, &file, &text),
        Err(e) => vec![Diagnostic::error(format!(
            "{stage}: cannot read {}: {e}",
            file.display()
        ))],
    };
    (Some(file), problems)
}

/// `updates check --format json` (README, "Checking the targets"): stable,
/// fields are only ever added.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Report {
    /// True when the check passed (exit 0).
    ok: bool,
    /// `kargo` or `flux`: what the targets were checked for.
    target: &'static str,
    targets: Vec<TargetJson>,
    applications: Vec<ApplicationJson>,
    summary: Summary,
    /// As [`Error::to_json`] lists them: every problem when the check
    /// failed (warnings too), else empty.
    errors: Vec<DiagnosticJson>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct TargetJson {
    image: String,
    update: String,
    /// The update Stage (Kargo); null with `--target flux`.
    stage: Option<String>,
    kind: &'static str,
    #[serde(rename = "repoURL")]
    repo_url: String,
    branch: String,
    path: String,
    key: Option<String>,
    file: Option<String>,
    status: Status,
    problems: Vec<DiagnosticJson>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ApplicationJson {
    namespace: String,
    name: String,
    file: String,
    authorized_stages: Vec<String>,
    status: Status,
    problems: Vec<DiagnosticJson>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Summary {
    targets: usize,
    checked: usize,
    applications: usize,
    problems: usize,
}

/// `problem` when any error is about the thing, else `ok`.
#[derive(Serialize, Clone, Copy)]
#[serde(rename_all = "camelCase")]
enum Status {
    Ok,
    Problem,
}

impl Status {
    fn of(problems: &[Diagnostic]) -> Status {
        if problems.iter().any(Diagnostic::is_error) {
            Status::Problem
        } else {
            Status::Ok
        }
    }
}

impl Report {
    fn new(
        flux: bool,
        targets: &[Target<'_>],
        applications: &[Application],
        checked: usize,
        failed: Option<&Error>,
    ) -> Report {
        let diags = |ds: &[Diagnostic]| ds.iter().map(DiagnosticJson::from).collect::<Vec<_>>();
        let targets: Vec<TargetJson> = targets
            .iter()
            .map(|t| TargetJson {
                image: t.image.name().to_string(),
                update: t.update.name.clone(),
                stage: (!flux).then(|| update_stage_name(t.image.name(), &t.update.name)),
                kind: if t.update.yaml_key.is_some() {
                    "yaml-update"
                } else {
                    "kustomize-set-image"
                },
                repo_url: t.update.repo_url.clone(),
                branch: t.update.branch.clone(),
                path: t.update.path.clone(),
                key: t.update.yaml_key.clone(),
                file: t.file.as_ref().map(|f| f.display().to_string()),
                status: Status::of(&t.problems),
                problems: diags(&t.problems),
            })
            .collect();
        let applications: Vec<ApplicationJson> = applications
            .iter()
            .map(|a| ApplicationJson {
                namespace: a.namespace.clone(),
                name: a.name.clone(),
                file: a.file.display().to_string(),
                authorized_stages: a.stages.clone(),
                status: Status::of(&a.problems),
                problems: diags(&a.problems),
            })
            .collect();
        let problems = targets.iter().map(|t| t.problems.len()).sum::<usize>()
            + applications.iter().map(|a| a.problems.len()).sum::<usize>();
        Report {
            ok: failed.is_none(),
            target: if flux { "flux" } else { "kargo" },
            summary: Summary {
                targets: targets.len(),
                checked,
                applications: applications.len(),
                problems,
            },
            targets,
            applications,
            errors: failed.map(Error::json_diagnostics).unwrap_or_default(),
        }
    }
}

/// The YAML files under `dir` (no `.git`, no links followed), at most [`MAX_SCANNED`].
fn yaml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = entries.flatten().collect();
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        if out.len() >= MAX_SCANNED {
            return;
        }
        let Ok(t) = e.file_type() else { continue };
        let p = e.path();
        if t.is_dir() && e.file_name() != ".git" && e.file_name() != ".imgf-cache" {
            yaml_files(&p, out);
        } else if t.is_file() && p.extension().is_some_and(|x| x == "yaml" || x == "yml") {
            out.push(p);
        }
    }
}
