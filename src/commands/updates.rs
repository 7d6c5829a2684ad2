//! `imgf updates check`: reads every update target — from `--workspace`
//! checkouts, or fetched like analyze fetches Dockerfiles — and reports
//! what would fail at promotion time ([`crate::update_check`]). Exit 2 on
//! any problem.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use super::git::{self, Token};
use super::{load_model, print_warnings, write_out};
use crate::cli::{SynthTarget, UpdatesCheckArgs};
use crate::config::enrollment::Provider;
use crate::diagnostic::{Diagnostic, Error};
use crate::targets::flux::Image;
use crate::update_check::{self, KUSTOMIZATION_FILES};
use crate::ExitStatus;

/// At most this many YAML files are read looking for Argo CD Applications.
const MAX_SCANNED: usize = 5000;

pub(crate) fn check(
    args: &UpdatesCheckArgs,
    ui: crate::Ui,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<ExitStatus, Error> {
    let (inputs, model) = load_model(&args.input, ui, err)?;
    let flux = args.target == SynthTarget::Flux;
    let mut problems: Vec<Diagnostic> = Vec::new();
    let mut checked = 0;
    // Fetched checkouts, one per (repository, branch).
    let mut fetched: BTreeMap<(String, String), Result<PathBuf, String>> = BTreeMap::new();
    // Kargo updates the users of managed images; Flux those of external ones too.
    let images: Vec<Image<'_>> = model
        .managed
        .iter()
        .map(Image::Managed)
        .chain(model.upstream.iter().map(Image::External).filter(|_| flux))
        .collect();
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
                            problems.push(
                                Diagnostic::error(format!(
                                    "update-{}-{}: cannot fetch {}@{}: {e}",
                                    img.name(), u.name, u.repo_url, u.branch
                                ))
                                .help("pass a local checkout with --workspace DIR, or set GITHUB_TOKEN / GITLAB_TOKEN"),
                            );
                            continue;
                        }
                    }
                }
            };
            checked += 1;
            let target = root.join(&u.path);
            let stage = format!("update-{}-{}", img.name(), u.name);
            if flux {
                let file = if u.yaml_key.is_some() {
                    Some(target.clone())
                } else {
                    KUSTOMIZATION_FILES
                        .iter()
                        .map(|f| target.join(f))
                        .find(|f| f.is_file())
                };
                let Some(file) = file else {
                    problems.push(
                        Diagnostic::error(format!(
                            "{} ({}): no kustomization in {} ({})",
                            img.name(),
                            u.name,
                            u.path,
                            target.display()
                        ))
                        .help("fix `path` in images.yaml: it names the directory that holds kustomization.yaml"),
                    );
                    continue;
                };
                let flux_lint = if u.yaml_key.is_some() {
                    crate::targets::flux::markers::yaml_file
                } else {
                    crate::targets::flux::markers::kustomization
                };
                match std::fs::read_to_string(&file) {
                    Ok(text) => problems.extend(flux_lint(&inputs.settings, img, u, &file, &text)),
                    Err(e) => problems.push(
                        Diagnostic::error(format!(
                            "{} ({}): cannot read {} ({}): {e}",
                            img.name(),
                            u.name,
                            u.path,
                            file.display()
                        ))
                        .help("fix `path` in images.yaml, relative to the repository root"),
                    ),
                }
            } else if u.yaml_key.is_none() {
                // As Kargo finds it (`findKustomization`): regular files
                // only (no links), exactly one of the recognised names.
                let found: Vec<PathBuf> = KUSTOMIZATION_FILES
                    .iter()
                    .map(|f| target.join(f))
                    .filter(|f| std::fs::symlink_metadata(f).is_ok_and(|m| m.file_type().is_file()))
                    .collect();
                if found.len() > 1 {
                    problems.push(
                        Diagnostic::error(format!(
                            "{stage}: {} holds more than one kustomization file ({}); Kargo refuses to choose",
                            u.path,
                            found
                                .iter()
                                .filter_map(|f| f.file_name())
                                .map(|f| f.to_string_lossy().into_owned())
                                .collect::<Vec<_>>()
                                .join(", ")
                        ))
                        .help("keep one of them"),
                    );
                    continue;
                }
                let Some(file) = found.into_iter().next() else {
                    if KUSTOMIZATION_FILES.iter().any(|f| target.join(f).exists()) {
                        problems.push(
                            Diagnostic::error(format!(
                                "{stage}: the kustomization in {} is a link; Kargo reads only a regular file",
                                u.path
                            ))
                            .help("replace the link with the file"),
                        );
                        continue;
                    }
                    problems.push(
                        Diagnostic::error(format!(
                            "{stage}: no kustomization in {} ({})",
                            u.path,
                            target.display()
                        ))
                        .help("fix `path` in images.yaml: it names the directory that holds kustomization.yaml"),
                    );
                    continue;
                };
                match std::fs::read_to_string(&file) {
                    Ok(text) => {
                        // (Kargo's check lists managed images only.)
                        if let Image::Managed(m) = img {
                            problems.extend(update_check::kustomization(m, u, &file, &text))
                        }
                    }
                    Err(e) => problems.push(Diagnostic::error(format!(
                        "{stage}: cannot read {}: {e}",
                        file.display()
                    ))),
                }
            } else {
                match std::fs::read_to_string(&target) {
                    Ok(text) => {
                        if let Image::Managed(m) = img {
                            problems.extend(update_check::yaml_file(m, u, &target, &text))
                        }
                    }
                    Err(e) => problems.push(
                        Diagnostic::error(format!(
                            "{stage}: cannot read {} ({}): {e}",
                            u.path,
                            target.display()
                        ))
                        .help("fix `path` in images.yaml, relative to the repository root"),
                    ),
                }
            }
        }
    }
    if let Some(w) = args.workspace.as_ref().filter(|_| !flux) {
        let wanted = crate::targets::kargo::runbook::authorized_stages(&model, &inputs.settings);
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
                let ns = doc["metadata"]["namespace"]
                    .as_str()
                    .unwrap_or("argocd")
                    .to_string();
                if let Some(value) = wanted.get(&(ns, name)) {
                    let stages: Vec<String> = value.split(',').map(str::to_string).collect();
                    problems.extend(update_check::application(&f, &text, &doc, &stages));
                }
            }
        }
    }
    let warnings = crate::diagnostic::into_result(problems)?;
    print_warnings(&warnings, ui, err)?;
    write_out(
        out,
        &format!("{checked} update target(s) checked: no problems\n"),
    )?;
    Ok(ExitStatus::Success)
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
