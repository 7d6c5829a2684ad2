//! `imgf updates check`: reads every update target — from `--workspace`
//! checkouts, or fetched like analyze fetches Dockerfiles — and reports
//! what would fail at promotion time ([`crate::ops::updates_check`], and
//! for the Argo CD Applications in the workspaces its `argocd`). Exit 0
//! when every target was checked and nothing is wrong, 1 on problems, 2 when
//! the check could not run (bad input, a repository not fetched). The
//! result is one [`Report`]: `--format json` lists every target (and Argo
//! CD Application) checked, with its problems; text is a summary line.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::cli::{OutputFormat, UpdatesCheckArgs};
use crate::config::enrollment::Provider;
use crate::diagnostic::{Diagnostic, Error};
use crate::git;
use crate::load::Inputs;
use crate::model::{Model, Update};
use crate::ops::updates_check::argocd::{self, repository_identity};
use crate::ops::updates_check::promotion::{self as update_check, KUSTOMIZATION_FILES};
use crate::ops::updates_check::{Application, Repo, Report, Target, Workspace};
use crate::shell::Shell;
use crate::targets::flux::Image;
use crate::targets::kargo::update_stage_name;
use crate::targets::Target as OutputTarget;
use crate::ExitStatus;

/// At most this many YAML files are read looking for Argo CD Applications.
const MAX_SCANNED: usize = 5000;

/// `imgf updates check`.
pub(crate) fn check(args: &UpdatesCheckArgs, shell: &mut Shell<'_>) -> Result<ExitStatus, Error> {
    let json = args.format == OutputFormat::Json;
    if args.target == OutputTarget::Backstage {
        let e = Error::Input(vec![Diagnostic::error(
            "`updates check --target backstage`: the Backstage catalog has no update targets to check",
        )
        .help("check for Kargo (`--target kargo`, the default) or for Flux (`--target flux`)")]);
        return shell.json_errors(json, Err(e));
    }
    let (inputs, model) = match shell.load_model(&args.input) {
        Ok(loaded) => loaded,
        Err(e) => return shell.json_errors(json, Err(e)),
    };
    let flux = args.target == OutputTarget::Flux;
    let updates: Vec<&Update> = model
        .managed
        .iter()
        .flat_map(|m| &m.updates)
        .chain(model.upstream.iter().flat_map(|e| &e.updates))
        .collect();
    let (workspaces, notes) = match workspaces(&args.workspace, &updates) {
        Ok(w) => w,
        Err(ds) => return shell.json_errors(json, Err(Error::Input(ds))),
    };
    let (targets, applications, app_notes) = check_all(&workspaces, &inputs, &model, flux);
    let notes = notes.into_iter().chain(app_notes).collect();
    let report = Report::new(flux, &workspaces, &targets, &applications, notes);
    if json {
        shell.out_json(&report)?;
    }
    shell.diagnostics(report.problems())?;
    if !json {
        shell.out_str(&report.summary_line())?;
    }
    Ok(report.status())
}

/// `git -C dir ARGS`, trimmed; `None` on any failure.
fn git_out(dir: &Path, args: &[&str]) -> Option<String> {
    git::git(dir, args, None)
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}

/// The `--workspace` values, resolved: each directory's repository and
/// branch. Errors (exit 2) for what cannot be used; warnings for a
/// checkout whose branch no target of its repository names.
fn workspaces(
    specs: &[String],
    updates: &[&Update],
) -> Result<(Vec<Workspace>, Vec<Diagnostic>), Vec<Diagnostic>> {
    let mut out: Vec<Workspace> = Vec::new();
    let mut errors = Vec::new();
    let ids: BTreeSet<String> = updates
        .iter()
        .map(|u| repository_identity(&u.repo_url))
        .collect();
    for spec in specs {
        let (named, dir) = match spec.split_once('=') {
            Some((r, d)) if !Path::new(spec).is_dir() && !r.is_empty() => (Some(r), d),
            _ => (None, spec.as_str()),
        };
        let dir = PathBuf::from(dir);
        if !dir.is_dir() {
            errors.push(
                Diagnostic::error(format!("--workspace {spec}: `{}` is not a directory", dir.display()))
                    .help("pass a checkout of the repository the targets are in: --workspace DIR or --workspace REPO=DIR"),
            );
            continue;
        }
        // A checkout is the top of a git work tree: a directory inside
        // another repository's work tree (like examples/deploy) is not one.
        let top = git::toplevel(&dir).ok();
        let is_checkout = top.is_some_and(|t| {
            t.canonicalize()
                .ok()
                .is_some_and(|t| Some(t) == dir.canonicalize().ok())
        });
        // `origin` as configured (`git remote get-url` would apply
        // `url.<base>.insteadOf` rewrites).
        let (origin, branch, default_branch) = if is_checkout {
            (
                git_out(&dir, &["config", "--get", "remote.origin.url"]),
                git_out(&dir, &["symbolic-ref", "--short", "-q", "HEAD"]),
                git_out(
                    &dir,
                    &["symbolic-ref", "--short", "-q", "refs/remotes/origin/HEAD"],
                )
                .map(|b| b.strip_prefix("origin/").unwrap_or(&b).to_string()),
            )
        } else {
            (None, None, None)
        };
        let (repo, repo_shown, from) = if let Some(r) = named {
            let plain = !r.contains("://") && !r.contains('@') && !r.contains(':');
            let repo = if plain {
                let p = r.to_lowercase();
                let p = p.trim_matches('/');
                Repo::Path(p.strip_suffix(".git").unwrap_or(p).to_string())
            } else {
                Repo::Exactly(repository_identity(r))
            };
            (repo, r.to_string(), "named")
        } else if let Some(o) = origin {
            (Repo::Exactly(repository_identity(&o)), o, "git")
        } else if ids.len() == 1 {
            let id = ids.iter().next().cloned().unwrap_or_default();
            let shown = updates
                .first()
                .map(|u| u.repo_url.clone())
                .unwrap_or_default();
            (Repo::Exactly(id), shown, "targets")
        } else {
            let why = if is_checkout {
                "has no `origin` remote"
            } else {
                "is not a git checkout"
            };
            errors.push(
                Diagnostic::error(format!(
                    "--workspace {spec}: `{}` {why}, and the targets are in {} repositories ({}): which one is it?",
                    dir.display(),
                    ids.len(),
                    ids.iter().cloned().collect::<Vec<_>>().join(", ")
                ))
                .help(format!("name it: --workspace REPO={}", dir.display())),
            );
            continue;
        };
        if branch.is_none() {
            let branches: BTreeSet<&str> = updates
                .iter()
                .filter(|u| repo.holds(&u.repo_url))
                .map(|u| u.branch.as_str())
                .collect();
            if branches.len() > 1 {
                let why = if is_checkout {
                    "is on no branch (a detached HEAD)"
                } else {
                    "is not a git checkout"
                };
                errors.push(
                    Diagnostic::error(format!(
                        "--workspace {spec}: `{}` {why}, and the targets in {repo_shown} are on {} branches ({}): which one is it?",
                        dir.display(),
                        branches.len(),
                        branches.iter().copied().collect::<Vec<_>>().join(", ")
                    ))
                    .help("pass a git checkout of each branch (`git worktree add DIR BRANCH`), one --workspace each"),
                );
                continue;
            }
        }
        out.push(Workspace {
            dir,
            repo,
            repo_shown,
            branch,
            default_branch,
            from,
        });
    }
    // One workspace per repository and branch.
    for u in updates {
        let holding: Vec<&Workspace> = out.iter().filter(|w| w.holds(u)).collect();
        if holding.len() > 1 {
            let e = Diagnostic::error(format!(
                "--workspace: `{}` and `{}` both stand for {}@{}",
                holding[0].dir.display(),
                holding[1].dir.display(),
                u.repo_url,
                u.branch
            ))
            .help("pass one workspace per repository and branch");
            if !errors.iter().any(|x: &Diagnostic| x.message == e.message) {
                errors.push(e);
            }
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let mut notes = Vec::new();
    for w in &out {
        if !updates.iter().any(|u| w.repo.holds(&u.repo_url)) {
            let names: BTreeSet<&str> = updates.iter().map(|u| u.repo_url.as_str()).collect();
            notes.push(
                Diagnostic::warning(format!(
                    "--workspace {}: it stands for {}, which no update target names: no target is read there (only Argo CD Applications are looked for in it)",
                    w.dir.display(),
                    w.repo_shown
                ))
                .help(format!(
                    "the targets are in {}: name the one this directory is a checkout of with --workspace REPO={}",
                    names.into_iter().collect::<Vec<_>>().join(", "),
                    w.dir.display()
                )),
            );
        }
        let Some(b) = &w.branch else { continue };
        let theirs: BTreeSet<&str> = updates
            .iter()
            .filter(|u| w.repo.holds(&u.repo_url))
            .map(|u| u.branch.as_str())
            .collect();
        if !theirs.is_empty() && !theirs.contains(b.as_str()) {
            notes.push(
                Diagnostic::warning(format!(
                    "--workspace {}: a checkout of {}@{b}, but the targets in that repository are on {}: they are fetched instead, and this checkout is read only for Argo CD Applications",
                    w.dir.display(),
                    w.repo_shown,
                    theirs.iter().copied().collect::<Vec<_>>().join(", ")
                ))
                .help("check out the targets' branch to check local changes"),
            );
        }
    }
    Ok((out, notes))
}

/// Checks every update target, then (Kargo, with workspaces) every Argo
/// CD Application the update Stages sync found in them.
fn check_all<'a>(
    workspaces: &[Workspace],
    inputs: &Inputs,
    model: &'a Model,
    flux: bool,
) -> (Vec<Target<'a>>, Vec<Application>, Vec<Diagnostic>) {
    // Both targets update the users of managed and external images.
    let images: Vec<Image<'a>> = model
        .managed
        .iter()
        .map(Image::Managed)
        .chain(model.upstream.iter().map(Image::External))
        .collect();
    // Fetched checkouts, one per (repository, branch), each with every path
    // of that repository and branch in one fetch.
    let mut fetched = git::Checkouts::new(inputs.images_file.parent().unwrap_or(Path::new(".")));
    for u in images.iter().flat_map(|i| i.updates()) {
        fetched.want(
            &u.repo_url,
            &u.branch,
            u.provider == Provider::Gitlab,
            [u.path.as_str()],
        );
    }
    let mut targets = Vec::new();
    for &img in &images {
        for u in img.updates() {
            let root = if let Some(w) = workspaces.iter().find(|w| w.holds(u)) {
                w.dir.clone()
            } else {
                let r = fetched.get(&u.repo_url, &u.branch);
                match r {
                    Ok(p) => p.clone(),
                    Err(e) => {
                        targets.push(Target {
                            image: img,
                            update: u,
                            file: None,
                            checked: false,
                            problems: vec![Diagnostic::error(format!(
                                "{}: not checked: cannot fetch {}@{}: {e}",
                                update_stage_name(img.name(), &u.name),
                                u.repo_url,
                                u.branch
                            ))
                            .help("pass a local checkout with --workspace DIR (or REPO=DIR), or set GITHUB_TOKEN / GITLAB_TOKEN")],
                        });
                        continue;
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
    let (applications, app_notes) = if flux {
        (Vec::new(), Vec::new())
    } else {
        applications(workspaces, inputs, model)
    };
    (targets, applications, app_notes)
}

/// The Argo CD Applications in the workspaces that update Stages sync:
/// their `authorized-stage` annotation, and whether their sources deploy
/// what each update writes.
fn applications(
    workspaces: &[Workspace],
    inputs: &Inputs,
    model: &Model,
) -> (Vec<Application>, Vec<Diagnostic>) {
    let wanted = crate::targets::kargo::runbook::authorized_stages(model, &inputs.settings);
    let mut applications = Vec::new();
    if wanted.is_empty() || workspaces.is_empty() {
        return (applications, Vec::new());
    }
    let mut files = Vec::new();
    let mut seen = BTreeSet::new();
    for w in workspaces {
        if seen.insert(w.dir.canonicalize().unwrap_or_else(|_| w.dir.clone())) {
            yaml_files(&w.dir, &mut files);
        }
    }
    let deployed = crate::targets::kargo::deployed(model);
    let mut unreadable: Vec<Diagnostic> = Vec::new();
    for f in files {
        let Ok(whole) = std::fs::read_to_string(&f) else {
            continue;
        };
        if !whole.contains("Application") {
            continue;
        }
        for text in documents(&whole) {
            let doc = match crate::config::parse::parse_value(&f, &text) {
                Ok(doc) => doc,
                Err(d) => {
                    // Only a manifest that names one of the Applications matters.
                    if wanted
                        .keys()
                        .any(|(_, name)| text.contains(&format!("name: {name}")))
                    {
                        unreadable.push(Diagnostic::warning(format!(
                        "a manifest that may be one of the Argo CD Applications the update Stages sync does not parse, so it was not checked: {}",
                        d.message
                    ))
                    .in_file(&f)
                    .at(d.location)
                    .help("fix the YAML; Argo CD cannot read it either"));
                    }
                    continue;
                }
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
            let key = (namespace.clone(), name.clone());
            let Some(value) = wanted.get(&key) else {
                continue;
            };
            let stages: Vec<String> = value.split(',').map(str::to_string).collect();
            let synced: Vec<argocd::Synced<'_>> = deployed
                .iter()
                .flat_map(|d| d.updates.iter().map(move |u| (d.name, u)))
                .filter(|(_, u)| u.argocd.as_ref() == Some(&key))
                .map(|(image, u)| {
                    // Only a workspace is a full checkout (a fetched one holds
                    // just the targets' paths).
                    let w = workspaces.iter().find(|w| w.holds(u));
                    argocd::Synced {
                        stage: update_stage_name(image, &u.name),
                        repo_url: &u.repo_url,
                        branch: &u.branch,
                        path: &u.path,
                        kustomize: u.yaml_key.is_none(),
                        checkout: w.map(|w| w.dir.as_path()),
                        default_branch: w.and_then(|w| w.default_branch.as_deref()),
                    }
                })
                .collect();
            let mut problems = argocd::authorization(&f, &text, &doc, &stages);
            problems.extend(argocd::sources(&f, &text, &doc, &synced));
            applications.push(Application {
                file: f.clone(),
                namespace,
                name,
                stages,
                problems,
            });
        }
    }
    // An Application no workspace holds was not checked: say so.
    for (ns, name) in wanted.keys() {
        if !applications
            .iter()
            .any(|a| a.namespace == *ns && a.name == *name)
        {
            unreadable.push(
                Diagnostic::warning(format!(
                    "Argo CD Application {ns}/{name}, which update Stages sync, is in no workspace: its `authorized-stage` annotation and sources were not checked"
                ))
                .help("pass the checkout that holds the Application manifests with another --workspace"),
            );
        }
    }
    (applications, unreadable)
}

/// The YAML documents of `text`, each padded with empty lines in place of
/// the documents before it, so that positions stay those of the file.
fn documents(text: &str) -> Vec<String> {
    let mut docs = Vec::new();
    let (mut start_line, mut current, mut line_no) = (0usize, String::new(), 0usize);
    for line in text.split_inclusive('\n') {
        let separator = line.trim_end() == "---" || line.starts_with("--- ");
        if separator && !current.trim().is_empty() {
            docs.push(format!("{}{current}", "\n".repeat(start_line)));
            current.clear();
            start_line = line_no;
        } else if separator {
            current.clear();
            start_line = line_no;
        }
        current.push_str(line);
        line_no += 1;
    }
    if !current.trim().is_empty() {
        docs.push(format!("{}{current}", "\n".repeat(start_line)));
    }
    docs
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
    // The controller reads only `*.yaml`, `*.yml` and `Kustomization`
    // (kyaml's package reader, as image-automation-controller's
    // `filereader.go` sets it up): any other file is never updated.
    let read_by_flux = file
        .file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.ends_with(".yaml") || n.ends_with(".yml") || n == "Kustomization");
    if !read_by_flux {
        return (
            Some(file.clone()),
            vec![Diagnostic::error(format!(
                "{} ({}): Flux's image-automation-controller reads only `*.yaml`, `*.yml` and `Kustomization` files, so it never updates {}",
                img.name(),
                u.name,
                u.path
            ))
            .in_file(&file)
            .help("give the file a `.yaml` name (and `path` in images.yaml with it)")],
        );
    }
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
    let stage = update_stage_name(img.name(), &u.name);
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

/// The YAML files under `dir` (no `.git`, no links followed), at most [`MAX_SCANNED`].
fn yaml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = entries.flatten().collect();
    entries.sort_by_key(std::fs::DirEntry::file_name);
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
