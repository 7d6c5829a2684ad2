//! Discovery: what each enrolled image is built on, recorded in state files
//! that keep their history. Pure: the command layer reads Dockerfiles,
//! workflows and the clock, and writes what this returns; `analyze --format
//! json` writes its [`Report`].
//!
//! Rules:
//! - runtime history (digests, versions, timestamps, update history,
//!   metadata, audit) is never dropped; a timestamp moves only when what it
//!   describes changed, so a second run with nothing new changes nothing;
//! - one image failing keeps its last known base images, records
//!   `discoveryStatus: failed` and the reason, and does not stop the others;
//! - a base that is an enrolled image is recorded by that image's name (a
//!   cascade); an existing base-image state is found by its full reference
//!   and keeps its name; a new one is named by [`names::base_image_name`];
//! - lifecycle: a state whose image left images.yaml moves to
//!   `state/_archive/` untouched (dependents then watch it as a base image);
//!   a base image that became an enrolled image is archived likewise (its
//!   history kept there); re-enrolling restores an archived state after
//!   checking it is the same repository.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use schemars::JsonSchema;
use serde::Serialize;

use crate::config::enrollment::Enrollment;
use crate::diagnostic::{DiagnosticJson, Error};
use crate::image_ref::ImageRef;
use crate::names;
use crate::state::store::Move;
use crate::state::{BaseImageState, Build, ImageState, Update, WorkflowInput};
use crate::timestamp::Timestamp;
use crate::values::exact_tag_regex;

/// How many digest changes a base image keeps, and how many builds a
/// managed image keeps.
pub(crate) const HISTORY_LEN: usize = 10;

/// What analysis found for one managed image.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Discovery {
    /// Base images, in first-seen order, with the text each FROM resolved to.
    pub bases: Vec<(String, ImageRef)>,
    /// FROM lines that could not be resolved.
    pub unresolved: Vec<String>,
    /// The workflow's declared inputs, when it could be read.
    pub workflow_inputs: Option<Vec<WorkflowInput>>,
}

/// A build Kargo just finished (`--tag`, `--digest`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Built {
    pub image: String,
    pub tag: Option<String>,
    pub digest: Option<String>,
}

/// Everything analysis works from.
#[derive(Debug, Clone)]
pub(crate) struct Input<'a> {
    pub enrollments: &'a [Enrollment],
    /// Existing image states, by file stem.
    pub images: &'a BTreeMap<String, ImageState>,
    /// Existing base-image states, by file stem.
    pub bases: &'a BTreeMap<String, BaseImageState>,
    /// Archived image states, by file stem.
    pub archived_images: &'a BTreeMap<String, ImageState>,
    /// Archived base-image states, by file stem.
    pub archived_bases: &'a BTreeMap<String, BaseImageState>,
    /// Results for the images analysed this run (the others keep their state).
    pub discovered: &'a BTreeMap<String, Result<Discovery, String>>,
    pub built: Option<&'a Built>,
    /// Whether every enrolled image was analysed (lifecycle runs only then).
    pub full_run: bool,
    pub now: Timestamp,
}

/// What analysis decided.
#[derive(Debug, Clone, Default)]
pub(crate) struct Outcome {
    /// The image states to hold after the run, by stem.
    pub images: BTreeMap<String, ImageState>,
    /// The base-image states to hold after the run, by stem.
    pub bases: BTreeMap<String, BaseImageState>,
    pub moves: Vec<Move>,
    /// What happened, for the user (and the commit message).
    pub notes: Vec<String>,
    /// Images whose analysis failed, with the reason.
    pub failures: Vec<(String, String)>,
}

/// `analyze --format json`: what this run discovered, wrote and failed.
/// Stable: fields are only ever added.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub(crate) struct Report {
    /// The image states after the run (with `--image`, that one's), by name.
    images: Vec<ImageReport>,
    /// The state files written.
    written: Vec<String>,
    /// Images whose analysis failed.
    failed: Vec<Failure>,
    /// What happened, as the commit message lists it.
    notes: Vec<String>,
    /// As `Error::to_json` lists them when the run failed, else empty.
    errors: Vec<DiagnosticJson>,
}

/// What an image's state records after the run.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
struct ImageReport {
    name: String,
    /// `success`, `failed`, `pending` or `external`; null when never analysed.
    discovery_status: Option<String>,
    discovery_error: Option<String>,
    /// The images it is built on (base-image state names, or enrolled images).
    base_images: Vec<String>,
    /// FROM lines analysis could not resolve.
    unresolved: Vec<String>,
}

/// An image whose analysis failed.
#[derive(Debug, Clone, Serialize, JsonSchema)]
struct Failure {
    image: String,
    reason: String,
}

impl Report {
    /// The report of a run that decided `o` and wrote `written`; with
    /// `image` (`--image`), only that image's state.
    pub(crate) fn new(image: Option<&str>, o: &Outcome, written: &[PathBuf]) -> Report {
        Report {
            images: (o.images.iter())
                .filter(|(name, _)| image.is_none_or(|i| i == name.as_str()))
                .map(|(name, s)| ImageReport {
                    name: name.clone(),
                    discovery_status: s.discovery_status.clone(),
                    discovery_error: s.discovery_error.clone(),
                    base_images: s.base_images.clone(),
                    unresolved: s.unresolved.clone(),
                })
                .collect(),
            written: written.iter().map(|p| p.display().to_string()).collect(),
            failed: (o.failures.iter())
                .map(|(image, why)| Failure {
                    image: image.clone(),
                    reason: why.clone(),
                })
                .collect(),
            notes: o.notes.clone(),
            errors: Vec::new(),
        }
    }

    /// The report of a run that then failed with `e` (a failed analysis,
    /// or the state repository refusing the commit).
    pub(crate) fn failed_with(mut self, e: &Error) -> Report {
        self.errors = e.json_diagnostics();
        self
    }
}

/// The watch identity of a base-image state: `registry/repository:tag`.
pub(crate) fn state_reference(s: &BaseImageState) -> Option<String> {
    let repo_url = s.repo_url.clone().or_else(|| {
        Some(format!(
            "{}/{}",
            s.registry.as_ref()?,
            s.repository.as_ref()?
        ))
    })?;
    let tag = s.tag.clone().or_else(|| {
        s.full_image
            .as_deref()
            .and_then(|f| ImageRef::parse(f).ok())
            .and_then(|r| r.tag)
    })?;
    Some(format!("{repo_url}:{tag}"))
}

/// Whether a version tag looks like a release (`1.2.3`, `v0.4`).
fn is_version(tag: &str) -> bool {
    let t = tag.strip_prefix('v').unwrap_or(tag);
    let core = t.split(['-', '+']).next().unwrap_or(t);
    !core.is_empty()
        && core
            .split('.')
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
}

/// Runs the analysis rules.
pub(crate) fn apply(input: &Input<'_>) -> Outcome {
    let now = input.now.to_string();
    let mut out = Outcome {
        bases: input.bases.clone(),
        ..Outcome::default()
    };
    let managed_repos: BTreeMap<String, &str> = input
        .enrollments
        .iter()
        .filter(|e| e.source.is_some())
        .map(|e| (format!("{}/{}", e.registry, e.repository), e.name.as_str()))
        .collect();
    let mut by_reference: BTreeMap<String, String> = input
        .bases
        .iter()
        .filter_map(|(stem, s)| Some((state_reference(s)?, stem.clone())))
        .collect();

    for e in input.enrollments {
        let repo_url = format!("{}/{}", e.registry, e.repository);
        let mut state = match input.images.get(&e.name) {
            Some(s) => s.clone(),
            None => restore_or_new(e, &repo_url, input, &now, &mut out),
        };
        state.name = Some(e.name.clone());
        state.repo_url = Some(repo_url.clone())
            .filter(|_| e.source.is_some())
            .or(state.repo_url);
        if e.source.is_none() {
            state.discovery_status = Some("external".into());
        } else if let Some(result) = input.discovered.get(&e.name) {
            // A FROM that names no valid image would silently drop the
            // rebuild trigger: that is a failed discovery, not a success.
            let result = match result {
                Ok(d) if !d.unresolved.is_empty() => Err(format!(
                    "a FROM line cannot be resolved to an image reference: {}",
                    d.unresolved.join("; ")
                )),
                other => other.clone(),
            };
            match &result {
                Ok(d) => {
                    let mut names = Vec::new();
                    let mut unresolved = d.unresolved.clone();
                    for (written, r) in &d.bases {
                        if r.tag.is_none() {
                            unresolved.push(format!(
                                "FROM {written}: pinned by digest only, so there is no tag to watch for updates (write it as image:tag@digest)"
                            ));
                            continue;
                        }
                        let name = match managed_repos.get(&r.repo_url()) {
                            Some(m) if *m != e.name => (*m).to_string(),
                            _ => {
                                base_state_for(written, r, input, &mut out, &mut by_reference, &now)
                            }
                        };
                        if !names.contains(&name) {
                            names.push(name);
                        }
                    }
                    if state.base_images != names
                        || state.unresolved != d.unresolved
                        || state.discovery_status.as_deref() != Some("success")
                    {
                        if state.base_images != names {
                            out.notes.push(format!(
                                "{}: built on {}",
                                e.name,
                                if names.is_empty() {
                                    "nothing (scratch)".into()
                                } else {
                                    names.join(", ")
                                }
                            ));
                        }
                        state.base_images = names;
                        state.unresolved = unresolved;
                        state.last_discovery = Some(now.clone());
                    }
                    state.discovery_status = Some("success".into());
                    state.discovery_error = None;
                    if let Some(w) = &d.workflow_inputs {
                        state.workflow_inputs = Some(w.clone());
                    }
                }
                Err(reason) => {
                    if let Some(Ok(d)) = input.discovered.get(&e.name) {
                        state.unresolved.clone_from(&d.unresolved);
                    }
                    if state.discovery_status.as_deref() != Some("failed")
                        || state.discovery_error.as_deref() != Some(reason)
                    {
                        state.last_discovery = Some(now.clone());
                    }
                    state.discovery_status = Some("failed".into());
                    state.discovery_error = Some(reason.clone());
                    out.failures.push((e.name.clone(), reason.clone()));
                }
            }
        } else if state.discovery_status.is_none() {
            state.discovery_status = Some("pending".into());
        }
        if let Some(b) = input.built.filter(|b| b.image == e.name) {
            let version = b.tag.clone().filter(|t| is_version(t));
            let changed = (version.is_some() && version != state.current_version)
                || (b.digest.is_some() && b.digest != state.current_digest);
            if changed {
                record_build(&mut state, b, &now);
                if version.is_some() {
                    state.current_version = version;
                }
                if b.digest.is_some() {
                    state.current_digest.clone_from(&b.digest);
                }
                state.last_built = Some(now.clone());
                out.notes.push(format!(
                    "{}: built {}{}",
                    e.name,
                    b.tag.as_deref().unwrap_or("?"),
                    b.digest
                        .as_deref()
                        .map_or(String::new(), |d| format!(" ({d})"))
                ));
            }
        }
        out.images.insert(e.name.clone(), state);
    }

    if input.full_run {
        lifecycle(input, &mut out, &managed_repos);
    }
    out
}

/// A cycle among managed images in what analysis would record, as image
/// names from the first back to itself.
pub(crate) fn cycle(out: &Outcome, enrollments: &[Enrollment]) -> Option<Vec<String>> {
    let managed: BTreeSet<&str> = enrollments
        .iter()
        .filter(|e| e.source.is_some())
        .map(|e| e.name.as_str())
        .collect();
    let deps = |n: &str| -> Vec<String> {
        out.images.get(n).map_or_else(Vec::new, |s| {
            s.base_images
                .iter()
                .filter(|b| managed.contains(b.as_str()))
                .cloned()
                .collect()
        })
    };
    // Depth-first search from each image, in name order (deterministic).
    let mut done: BTreeSet<String> = BTreeSet::new();
    for start in &managed {
        let mut path: Vec<String> = Vec::new();
        let mut stack: Vec<(String, usize)> = vec![((*start).to_string(), 0)];
        while let Some((node, next)) = stack.pop() {
            if next == 0 {
                if let Some(at) = path.iter().position(|p| *p == node) {
                    let mut c = path[at..].to_vec();
                    c.push(node);
                    return Some(c);
                }
                if done.contains(&node) {
                    continue;
                }
                path.push(node.clone());
            }
            let children = deps(&node);
            if next < children.len() {
                stack.push((node, next + 1));
                stack.push((children[next].clone(), 0));
            } else {
                path.pop();
                done.insert(node);
            }
        }
    }
    None
}

/// The state of a newly enrolled image: restored from the archive when it
/// is the same repository, else new.
fn restore_or_new(
    e: &Enrollment,
    repo_url: &str,
    input: &Input<'_>,
    now: &str,
    out: &mut Outcome,
) -> ImageState {
    if let Some(archived) = input.archived_images.get(&e.name) {
        let same = archived.repo_url.as_deref().is_none_or(|r| r == repo_url);
        if same {
            out.moves.push(Move::RestoreImage(e.name.clone()));
            out.notes.push(format!(
                "{}: enrolled again; restored its state from state/_archive/images/",
                e.name
            ));
            return archived.clone();
        }
        out.notes.push(format!(
            "{}: an archived state exists for another repository ({}); starting afresh and leaving the archive alone",
            e.name,
            archived.repo_url.as_deref().unwrap_or("?")
        ));
    } else {
        out.notes.push(format!("{}: newly enrolled", e.name));
    }
    ImageState {
        name: Some(e.name.clone()),
        enrolled_at: Some(now.to_string()),
        discovery_status: Some("pending".into()),
        ..ImageState::default()
    }
}

/// The base-image state for `r`: the existing one with the same reference,
/// updated, or a new one.
fn base_state_for(
    written: &str,
    r: &ImageRef,
    input: &Input<'_>,
    out: &mut Outcome,
    by_reference: &mut BTreeMap<String, String>,
    now: &str,
) -> String {
    let watched = r.watched();
    let key = watched.as_ref().map_or_else(
        || r.canonical(),
        |w| format!("{}:{}", w.repo_url(), w.tag.as_deref().unwrap_or_default()),
    );
    // A base that comes back into use keeps its archived history.
    let archived = || {
        input
            .archived_bases
            .iter()
            .find(|(stem, s)| {
                !out.bases.contains_key(*stem) && state_reference(s).as_deref() == Some(&key)
            })
            .map(|(stem, s)| (stem.clone(), s.clone()))
    };
    let stem = match by_reference.get(&key).cloned() {
        Some(stem) => stem,
        None => match archived() {
            Some((stem, s)) => {
                out.moves.push(Move::RestoreBase(stem.clone()));
                out.notes.push(format!(
                    "base image {stem} is used again; restored its state and history from state/_archive/base-images/"
                ));
                out.bases.insert(stem.clone(), s);
                stem
            }
            None => names::base_image_name(r),
        },
    };
    let state = out.bases.entry(stem.clone()).or_insert_with(|| {
        out.notes
            .push(format!("new base image {stem} ({})", r.familiar()));
        BaseImageState {
            name: Some(stem.clone()),
            first_discovered: Some(now.to_string()),
            ..BaseImageState::default()
        }
    });
    state.name = Some(stem.clone());
    state.full_image.get_or_insert_with(|| written.to_string());
    state.registry = Some(r.registry.clone());
    state.repository = Some(r.repository.clone());
    state.repo_url = Some(r.repo_url());
    state.tag.clone_from(&r.tag);
    state.digest.clone_from(&r.digest);
    state.allow_tags = r.tag.as_deref().map(exact_tag_regex);
    if state.image_selection_strategy.is_none() {
        state.image_selection_strategy = Some("Lexical".into());
    }
    by_reference.insert(key, stem.clone());
    stem
}

/// Archives states whose image left images.yaml, and base states that are
/// now enrolled images or used by nothing.
fn lifecycle(input: &Input<'_>, out: &mut Outcome, managed_repos: &BTreeMap<String, &str>) {
    let enrolled: BTreeSet<&str> = input.enrollments.iter().map(|e| e.name.as_str()).collect();
    let used: BTreeSet<String> = out
        .images
        .values()
        .flat_map(|s| s.base_images.iter().cloned())
        .collect();
    for (stem, s) in input.images {
        if enrolled.contains(stem.as_str()) {
            continue;
        }
        let still_used: Vec<&str> = out
            .images
            .iter()
            .filter(|(_, st)| {
                st.base_images.iter().any(|b| {
                    out.bases.get(b).and_then(|bs| bs.repo_url.clone()) == s.repo_url
                        && s.repo_url.is_some()
                })
            })
            .map(|(n, _)| n.as_str())
            .collect();
        out.moves.push(Move::ArchiveImage(stem.clone()));
        if still_used.is_empty() {
            out.notes.push(format!(
                "{stem}: no longer enrolled; state moved to state/_archive/images/"
            ));
        } else {
            out.notes.push(format!(
                "{stem}: no longer enrolled, but {} still build on it, so it is watched as a base image now; state moved to state/_archive/images/",
                still_used.join(", ")
            ));
        }
    }
    let stems: Vec<String> = out.bases.keys().cloned().collect();
    for stem in stems {
        if used.contains(&stem) {
            continue;
        }
        let repo = out.bases[&stem].repo_url.clone().unwrap_or_default();
        if let Some(m) = managed_repos.get(&repo) {
            out.notes.push(format!(
                "base image {stem} is now the enrolled image {m}: its upstream watch is removed; history kept in state/_archive/base-images/"
            ));
        } else {
            out.notes.push(format!(
                "base image {stem} is no longer used; moved to state/_archive/base-images/"
            ));
        }
        out.bases.remove(&stem);
        out.moves.push(Move::ArchiveBase(stem));
    }
}

/// Appends build `b`, recorded at `now`, to the image's build history (the
/// last [`HISTORY_LEN`]). A state from before the history existed starts it
/// with the build it already records (`lastBuilt`), so two builds give a
/// first interval. Call before `currentVersion`, `currentDigest` and
/// `lastBuilt` move.
fn record_build(state: &mut ImageState, b: &Built, now: &str) {
    if state.build_history.is_empty() {
        if let Some(at) = &state.last_built {
            state.build_history.push(Build {
                at: Some(at.clone()),
                tag: state.current_version.clone(),
                digest: state.current_digest.clone(),
            });
        }
    }
    state.build_history.push(Build {
        at: Some(now.to_string()),
        tag: b.tag.clone(),
        digest: b.digest.clone(),
    });
    let excess = state.build_history.len().saturating_sub(HISTORY_LEN);
    state.build_history.drain(..excess);
}

/// Records a new digest of a base image: shifts the current digest to the
/// previous one, appends to the history (last [`HISTORY_LEN`]), and computes
/// when each dependent may rebuild (`lastUpdated` + its `rebuildDelay`).
/// Returns `false` when the digest is already current (nothing changes).
pub(crate) fn record_update(
    base: &mut BaseImageState,
    digest: &str,
    dependents: &[(String, u64)],
    now: Timestamp,
) -> bool {
    if base.current_digest.as_deref() == Some(digest) {
        return false;
    }
    let at = now.to_string();
    base.previous_digest = base.current_digest.take();
    base.current_digest = Some(digest.to_string());
    base.last_updated = Some(at.clone());
    base.update_history.push(Update {
        digest: Some(digest.to_string()),
        previous_digest: base.previous_digest.clone(),
        at: Some(at),
    });
    let excess = base.update_history.len().saturating_sub(HISTORY_LEN);
    base.update_history.drain(..excess);
    let eligible = base.rebuild_eligible_at.get_or_insert_with(BTreeMap::new);
    eligible.remove("default");
    for (name, delay) in dependents {
        eligible.insert(name.clone(), Some(now.plus_secs(*delay).to_string()));
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_json_report_conforms_to_its_schema() {
        let outcome = Outcome {
            images: BTreeMap::from([
                (
                    "app".to_string(),
                    ImageState {
                        discovery_status: Some("failed".into()),
                        discovery_error: Some("no Dockerfile".into()),
                        base_images: vec!["node-22".into()],
                        unresolved: vec!["line 2: FROM ${X}: no value".into()],
                        ..ImageState::default()
                    },
                ),
                ("web".to_string(), ImageState::default()),
            ]),
            notes: vec!["app: analysis failed".into()],
            failures: vec![("app".into(), "no Dockerfile".into())],
            ..Outcome::default()
        };
        let written = [PathBuf::from("state/images/app.yaml")];
        let report = Report::new(None, &outcome, &written);
        crate::ops::schema_check::assert_conforms(&report);
        let failed = report.failed_with(&Error::input(crate::diagnostic::Diagnostic::error("x")));
        assert_eq!(failed.errors.len(), 1);
        crate::ops::schema_check::assert_conforms(&failed);
        // `--image` keeps that image's state only.
        assert_eq!(Report::new(Some("web"), &outcome, &written).images.len(), 1);
    }
    use proptest::prelude::*;

    #[test]
    fn versions() {
        assert!(is_version("1.2.3"));
        assert!(is_version("v0.4"));
        assert!(is_version("1.2.3-rc.1"));
        assert!(!is_version("latest"));
        assert!(!is_version("sha-abc"));
    }

    #[test]
    fn record_update_shifts_and_keeps_ten() {
        let mut b = BaseImageState::default();
        for i in 0..12 {
            assert!(record_update(
                &mut b,
                &format!("sha256:{i}"),
                &[("app".into(), 3600)],
                Timestamp(i * 100)
            ));
        }
        assert!(!record_update(&mut b, "sha256:11", &[], Timestamp(5000)));
        assert_eq!(b.current_digest.as_deref(), Some("sha256:11"));
        assert_eq!(b.previous_digest.as_deref(), Some("sha256:10"));
        assert_eq!(b.update_history.len(), 10);
        assert_eq!(b.update_history[0].digest.as_deref(), Some("sha256:2"));
        let at = b.rebuild_eligible_at.unwrap()["app"].clone().unwrap();
        assert_eq!(Timestamp::parse(&at), Some(Timestamp(1100 + 3600)));
    }

    #[test]
    fn builds_are_kept_newest_last_and_seeded_from_last_built() {
        let built = |i: i64| Built {
            image: "app".into(),
            tag: Some(format!("1.0.{i}")),
            digest: Some(format!("sha256:{i}")),
        };
        // A state from before the history: its last build starts it.
        let mut s = ImageState {
            current_version: Some("0.9.0".into()),
            current_digest: Some("sha256:old".into()),
            last_built: Some("2026-01-01T00:00:00Z".into()),
            ..ImageState::default()
        };
        record_build(&mut s, &built(0), "2026-01-01T12:00:00Z");
        assert_eq!(
            s.build_history,
            vec![
                Build {
                    at: Some("2026-01-01T00:00:00Z".into()),
                    tag: Some("0.9.0".into()),
                    digest: Some("sha256:old".into()),
                },
                Build {
                    at: Some("2026-01-01T12:00:00Z".into()),
                    tag: Some("1.0.0".into()),
                    digest: Some("sha256:0".into()),
                },
            ]
        );
        for i in 1..12 {
            record_build(&mut s, &built(i), &Timestamp(i * 3600).to_string());
        }
        assert_eq!(s.build_history.len(), HISTORY_LEN);
        assert_eq!(s.build_history[0].tag.as_deref(), Some("1.0.2"));
        assert_eq!(s.build_history[9].tag.as_deref(), Some("1.0.11"));
        // Never built: the history starts with this build alone.
        let mut fresh = ImageState::default();
        record_build(&mut fresh, &built(1), "2026-01-01T00:00:00Z");
        assert_eq!(fresh.build_history.len(), 1);
    }

    #[test]
    fn only_a_new_build_is_recorded() {
        let e = vec![enrollment("app")];
        let images = BTreeMap::from([("app".to_string(), ImageState::default())]);
        let run = |images: &BTreeMap<String, ImageState>, tag: &str, now: i64| {
            let b = Built {
                image: "app".into(),
                tag: Some(tag.into()),
                digest: Some(format!("sha256:{tag}")),
            };
            apply(&Input {
                enrollments: &e,
                images,
                bases: &BTreeMap::new(),
                archived_images: &BTreeMap::new(),
                archived_bases: &BTreeMap::new(),
                discovered: &BTreeMap::new(),
                built: Some(&b),
                full_run: false,
                now: Timestamp(now),
            })
            .images["app"]
                .clone()
        };
        let one = run(&images, "1.0.0", 0);
        assert_eq!(one.build_history.len(), 1);
        let again = run(
            &BTreeMap::from([("app".to_string(), one.clone())]),
            "1.0.0",
            60,
        );
        assert_eq!(
            again.build_history, one.build_history,
            "the same build twice is one build"
        );
        let two = run(&BTreeMap::from([("app".to_string(), again)]), "1.0.1", 3600);
        assert_eq!(two.build_history.len(), 2);
        assert_eq!(
            two.build_history[1].at.as_deref(),
            Some("1970-01-01T01:00:00Z")
        );
    }

    fn enrollment(name: &str) -> Enrollment {
        crate::config::parse::parse::<Vec<Enrollment>>(
            std::path::Path::new("images.yaml"),
            &format!("- name: {name}\n  registry: ghcr.io\n  repository: org/{name}\n  source:\n    repo: org/{name}\n    dockerfile: Dockerfile\n    workflow: b.yml\n"),
        )
        .unwrap()
        .remove(0)
    }

    proptest! {
        /// Whatever analysis finds (or fails to find), the runtime fields of
        /// existing state survive.
        #[test]
        fn analysis_never_loses_a_runtime_field(
            version in proptest::option::of("[0-9]\\.[0-9]"),
            digest in proptest::option::of("sha256:[a-f0-9]{8}"),
            built in proptest::option::of("2025-0[1-9]-1[0-9]T00:00:00Z"),
            enrolled in proptest::option::of("2024-0[1-9]-0[1-9]T00:00:00Z"),
            fails in any::<bool>(),
            tags in proptest::collection::vec("[a-z0-9]{1,5}", 0..3),
        ) {
            let e = vec![enrollment("app")];
            let old = ImageState {
                name: Some("app".into()),
                enrolled_at: enrolled.clone(),
                current_version: version.clone(),
                current_digest: digest.clone(),
                last_built: built.clone(),
                base_images: vec!["old-base".into()],
                audit: vec![crate::state::AuditEntry { action: "emergency".into(), at: "t".into(), actor: "a".into(), reason: "r".into(), images: vec![], scope: None, affected: None, allow_unverified: false }],
                extra: vec![("custom".into(), crate::config::parse::Value::from(1))],
                ..ImageState::default()
            };
            let images = BTreeMap::from([("app".to_string(), old.clone())]);
            let base = BaseImageState { name: Some("old-base".into()), repo_url: Some("docker.io/library/x".into()), tag: Some("1".into()), current_digest: Some("sha256:keep".into()), ..BaseImageState::default() };
            let bases = BTreeMap::from([("old-base".to_string(), base)]);
            let result = if fails {
                Err("no Dockerfile".to_string())
            } else {
                Ok(Discovery {
                    bases: tags.iter().map(|t| (format!("x:{t}"), ImageRef::parse(&format!("x:{t}")).unwrap())).collect(),
                    unresolved: vec![],
                    workflow_inputs: None,
                })
            };
            let discovered = BTreeMap::from([("app".to_string(), result)]);
            let out = apply(&Input {
                enrollments: &e,
                images: &images,
                bases: &bases,
                archived_images: &BTreeMap::new(),
                archived_bases: &BTreeMap::new(),
                discovered: &discovered,
                built: None,
                full_run: true,
                now: Timestamp(1_700_000_000),
            });
            let new = &out.images["app"];
            prop_assert_eq!(&new.enrolled_at, &enrolled);
            prop_assert_eq!(&new.current_version, &version);
            prop_assert_eq!(&new.current_digest, &digest);
            prop_assert_eq!(&new.last_built, &built);
            prop_assert_eq!(&new.audit, &old.audit);
            prop_assert_eq!(&new.extra, &old.extra);
            if fails {
                prop_assert_eq!(&new.base_images, &old.base_images);
            }
            // A base still in use keeps its history; `x:1` is the same reference as old-base.
            if let Some(b) = out.bases.get("old-base") {
                prop_assert_eq!(b.current_digest.as_deref(), Some("sha256:keep"));
            }
        }

        /// Whatever the updates, no runtime field is lost: the newest digest
        /// is current, the one before it previous, and the history holds the
        /// last ten in order.
        #[test]
        fn updates_never_lose_runtime_fields(digests in proptest::collection::vec("[a-f0-9]{4}", 1..30)) {
            let mut b = BaseImageState { metadata: Some(crate::config::parse::Value::from("kept")), ..BaseImageState::default() };
            let mut applied = Vec::new();
            for (i, d) in (0..).zip(&digests) {
                if record_update(&mut b, d, &[], Timestamp(i)) {
                    applied.push(d.clone());
                }
            }
            prop_assert_eq!(b.current_digest.as_ref(), applied.last());
            if applied.len() > 1 {
                prop_assert_eq!(b.previous_digest.as_ref(), applied.get(applied.len() - 2));
            }
            let tail: Vec<_> = applied.iter().rev().take(HISTORY_LEN).rev().cloned().map(Some).collect();
            prop_assert_eq!(b.update_history.iter().map(|u| u.digest.clone()).collect::<Vec<_>>(), tail);
            prop_assert_eq!(b.metadata, Some(crate::config::parse::Value::from("kept")));
        }
    }
}
