//! The Backstage target: model + graph → catalog entities of the
//! image-factory plugin's two kinds, `ManagedImage` and `BaseImage`
//! (`image-factory.io/v1alpha1`). Pure.
//!
//! Families, in output order: a `ManagedImage` per managed image
//! (images.yaml order) · a `BaseImage` per upstream image — external
//! enrollments, then discovered bases · a `BaseImage` per managed image that
//! another managed image is built on (a cascade).
//!
//! **Both edge directions from one graph.** The plugin's processor turns a
//! ManagedImage's `spec.dependsOn` into `dependsOn` relations and a
//! BaseImage's `spec.dependents` into `dependencyOf` relations, each in one
//! direction only; so both lists are written here from the same
//! [`Graph::edges`], and always agree.
//!
//! **Cascades.** `dependsOn` items must be `type: base-image`, and a
//! ManagedImage has no `dependents`. So a managed image that others are built
//! on also appears as a `BaseImage` of the same name (names are unique per
//! kind, so the two do not clash): its `upstream` is the published image,
//! its `dependents` the images built on it, and `api` → `python-base` reads
//! `ManagedImage:api` dependsOn `BaseImage:python-base`, whose entity says
//! (in its description and `image-factory.io/managed-image`) that it is
//! built here.
//!
//! **What the schemas force.** `rebuildPolicy.delay` must match `^\d+[dhm]$`:
//! the delay is written in the largest whole unit (`7d`, `36h`, `90m`),
//! `0` as `0m`, and seconds are rounded up to a minute. `source.workflow`
//! is required, but a GitLab image is built by its pipeline: it is written
//! as `.gitlab-ci.yml`. `source.branch` is the branch imgf builds (default
//! `main`). A BaseImage needs `upstream.tag`: an external image watched by a
//! tag regex only (`allowTags`) carries that regex.
//!
//! Runtime values (digests, last built, eligibility, discovery status) come
//! from the state files, already read by [`crate::config::load`]; [`Facts`]
//! picks them out, so the catalog is as fresh as the last analysis commit.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::config::enrollment::Provider;
use crate::config::load::Inputs;
use crate::config::settings::Settings;
use crate::diagnostic::Error;
use crate::graph::{Graph, Node};
use crate::model::{Managed, Model, Upstream, UpstreamKind};
use crate::names;
use crate::targets::{Family, Output};

/// The API version of both kinds.
pub const API_VERSION: &str = "image-factory.io/v1alpha1";
/// Annotation-key prefix of the user's plugin (`image-factory-common`).
const A: &str = "image-factory.io/";

/// A catalog entity: the envelope, with `relations` and `status` left to
/// the catalog.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Entity<S> {
    pub api_version: &'static str,
    pub kind: &'static str,
    pub metadata: Metadata,
    pub spec: S,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Metadata {
    pub name: String,
    pub title: String,
    pub description: String,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ManagedSpec {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub lifecycle: String,
    pub owner: String,
    pub system: String,
    pub source: SourceSpec,
    pub rebuild_policy: RebuildPolicy,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub depends_on: Vec<EntityLink>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SourceSpec {
    pub provider: &'static str,
    pub repo: String,
    pub branch: String,
    pub dockerfile: String,
    pub workflow: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RebuildPolicy {
    pub delay: String,
    pub auto_rebuild: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BaseSpec {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub lifecycle: String,
    pub owner: String,
    pub system: String,
    pub upstream: UpstreamSpec,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub dependents: Vec<EntityLink>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UpstreamSpec {
    pub registry: String,
    pub repository: String,
    pub tag: String,
}

/// An item of `dependsOn` / `dependents`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EntityLink {
    pub resource: String,
    #[serde(rename = "type")]
    pub kind: &'static str,
}

/// One document of the catalog.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum CatalogEntity {
    Managed(Entity<ManagedSpec>),
    Base(Entity<BaseSpec>),
}

/// What the catalog says about an image beyond the model: its catalog
/// metadata from images.yaml and its runtime values from state.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImageFacts {
    pub owner: Option<String>,
    pub system: Option<String>,
    pub lifecycle: Option<String>,
    /// `image-factory.io/*` annotation (key without prefix) → value.
    pub annotations: BTreeMap<&'static str, String>,
}

/// [`ImageFacts`] of every managed and upstream image, by model index.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Facts {
    pub managed: Vec<ImageFacts>,
    pub upstream: Vec<ImageFacts>,
}

impl Facts {
    /// Picks the facts out of what [`crate::config::load`] read (no I/O).
    pub fn from_inputs(inputs: &Inputs, model: &Model) -> Facts {
        let enrollment = |name: &str| inputs.enrollments.iter().find(|e| e.name == name);
        let image_state = |name: &str| {
            inputs
                .image_states
                .iter()
                .find(|s| s.data.name.as_deref().unwrap_or(&s.stem) == name)
                .map(|s| &s.data)
        };
        let base_state = |name: &str| {
            inputs
                .base_states
                .iter()
                .find(|s| s.data.name.as_deref().unwrap_or(&s.stem) == name)
                .map(|s| &s.data)
        };
        let catalog = |f: &mut ImageFacts, name: &str| {
            if let Some(e) = enrollment(name) {
                f.owner.clone_from(&e.owner);
                f.system.clone_from(&e.system);
                f.lifecycle.clone_from(&e.lifecycle);
            }
        };
        let put = |f: &mut ImageFacts, key: &'static str, v: &Option<String>| {
            if let Some(v) = v.as_deref().filter(|v| !v.is_empty()) {
                f.annotations.insert(key, v.to_string());
            }
        };
        let managed = model
            .managed
            .iter()
            .enumerate()
            .map(|(i, m)| {
                let mut f = ImageFacts::default();
                catalog(&mut f, &m.name);
                if let Some(s) = image_state(&m.name) {
                    put(&mut f, "tag", &s.current_version);
                    put(&mut f, "digest", &s.current_digest);
                    put(&mut f, "last-built", &s.last_built);
                    put(&mut f, "enrolled-at", &s.enrolled_at);
                    put(&mut f, "discovery-status", &s.discovery_status);
                    put(&mut f, "last-discovery", &s.last_discovery);
                }
                // The latest time any of its upstream bases lets it rebuild.
                let eligible = model.managed[i]
                    .bases
                    .iter()
                    .filter_map(|b| match b {
                        crate::model::BaseRef::Upstream(u) => base_state(&model.upstream[*u].name),
                        crate::model::BaseRef::Managed(_) => None,
                    })
                    .filter_map(|s| s.rebuild_eligible_at.as_ref()?.get(&m.name).cloned()?)
                    .max();
                put(&mut f, "rebuild-eligible-at", &eligible);
                f
            })
            .collect();
        let upstream = model
            .upstream
            .iter()
            .map(|u| {
                let mut f = ImageFacts::default();
                match u.kind {
                    UpstreamKind::External => {
                        catalog(&mut f, &u.name);
                        if let Some(s) = image_state(&u.name) {
                            put(&mut f, "digest", &s.current_digest);
                            put(&mut f, "enrolled-at", &s.enrolled_at);
                            put(&mut f, "discovery-status", &s.discovery_status);
                        }
                    }
                    UpstreamKind::Base => {
                        if let Some(s) = base_state(&u.name) {
                            put(&mut f, "digest", &s.current_digest);
                            put(&mut f, "previous-digest", &s.previous_digest);
                            put(&mut f, "last-updated", &s.last_updated);
                        }
                    }
                }
                f
            })
            .collect();
        Facts { managed, upstream }
    }
}

/// What the families are built from.
pub struct Plan<'a> {
    model: &'a Model,
    settings: &'a Settings,
    facts: &'a Facts,
    /// Per managed image: its bases, as graph nodes, in graph order.
    depends_on: Vec<Vec<Node>>,
    /// Per upstream image: the managed images built on it.
    upstream_dependents: Vec<Vec<usize>>,
    /// Managed images others are built on, with those images.
    cascades: Vec<(usize, Vec<usize>)>,
}

/// The catalog's entity families, in output order.
pub fn families<'a>() -> Vec<Family<Plan<'a>, CatalogEntity>> {
    vec![
        Family {
            count: |p| p.model.managed.len(),
            name: |p, i| ("ManagedImage", names::fit(&p.model.managed[i].name)),
            build: |p, i| CatalogEntity::Managed(managed_image(p, i)),
        },
        Family {
            count: |p| p.model.upstream.len(),
            name: |p, i| ("BaseImage", names::fit(&p.model.upstream[i].name)),
            build: |p, i| CatalogEntity::Base(upstream_image(p, i)),
        },
        Family {
            count: |p| p.cascades.len(),
            name: |p, i| {
                (
                    "BaseImage",
                    names::fit(&p.model.managed[p.cascades[i].0].name),
                )
            },
            build: |p, i| CatalogEntity::Base(cascade_image(p, i)),
        },
    ]
}

/// The catalog of a model; fails if two entities of a kind would share a
/// name. Every name is a lowercase DNS-1123 name of at most 63 characters,
/// so names unique in the output are unique case-insensitively too.
pub fn output<'a>(
    model: &'a Model,
    graph: &Graph,
    settings: &'a Settings,
    facts: &'a Facts,
) -> Result<Output<Plan<'a>, CatalogEntity>, Error> {
    let mut depends_on = vec![Vec::new(); model.managed.len()];
    let mut upstream_dependents = vec![Vec::new(); model.upstream.len()];
    let mut managed_dependents = vec![Vec::new(); model.managed.len()];
    for &(base, dependent) in &graph.edges {
        depends_on[dependent].push(base);
        match base {
            Node::Upstream(u) => upstream_dependents[u].push(dependent),
            Node::Managed(m) => managed_dependents[m].push(dependent),
        }
    }
    let cascades = managed_dependents
        .into_iter()
        .enumerate()
        .filter(|(_, d)| !d.is_empty())
        .collect();
    Output::new(
        Plan {
            model,
            settings,
            facts,
            depends_on,
            upstream_dependents,
            cascades,
        },
        families(),
    )
}

/// `7d`, `36h`, `90m`, `0m`: the delay in the largest unit that divides it,
/// as `^\d+[dhm]$` requires; seconds are rounded up to whole minutes.
pub fn delay(secs: u64) -> String {
    let minutes = secs.div_ceil(60);
    if minutes > 0 && minutes % (24 * 60) == 0 {
        format!("{}d", minutes / (24 * 60))
    } else if minutes > 0 && minutes % 60 == 0 {
        format!("{}h", minutes / 60)
    } else {
        format!("{minutes}m")
    }
}

/// `registry/repository` split at the first `/`.
fn split_repo(repo_url: &str) -> (String, String) {
    match repo_url.split_once('/') {
        Some((r, p)) => (r.to_string(), p.to_string()),
        None => (repo_url.to_string(), String::new()),
    }
}

fn annotations(registry: &str, repository: &str, facts: &ImageFacts) -> BTreeMap<String, String> {
    let mut a: BTreeMap<String, String> = facts
        .annotations
        .iter()
        .map(|(k, v)| (format!("{A}{k}"), v.clone()))
        .collect();
    a.insert(format!("{A}registry"), registry.to_string());
    a.insert(format!("{A}repository"), repository.to_string());
    a
}

fn link(name: &str, kind: &'static str) -> EntityLink {
    EntityLink {
        resource: names::fit(name),
        kind,
    }
}

fn managed_image(p: &Plan<'_>, i: usize) -> Entity<ManagedSpec> {
    let m: &Managed = &p.model.managed[i];
    let f = &p.facts.managed[i];
    let s = &p.settings.backstage;
    let (registry, repository) = split_repo(&m.repo_url);
    let mut annotations = annotations(&registry, &repository, f);
    let dir = match m.dockerfile.rsplit_once('/') {
        Some((d, _)) => format!("{d}/"),
        None => String::new(),
    };
    let (slug_key, web, tree) = match m.provider {
        Provider::Github => (
            "github.com/project-slug",
            &p.settings.providers.github_web,
            "tree",
        ),
        Provider::Gitlab => (
            "gitlab.com/project-slug",
            &p.settings.providers.gitlab_url,
            "-/tree",
        ),
    };
    annotations.insert(slug_key.to_string(), m.source_repo.clone());
    annotations.insert(
        "backstage.io/source-location".to_string(),
        format!("url:{web}/{}/{tree}/{}/{dir}", m.source_repo, m.branch),
    );
    // The schema requires a workflow; a GitLab image is built by its pipeline.
    let workflow = m
        .workflow
        .clone()
        .unwrap_or_else(|| ".gitlab-ci.yml".to_string());
    Entity {
        api_version: API_VERSION,
        kind: "ManagedImage",
        metadata: Metadata {
            name: names::fit(&m.name),
            title: m.name.clone(),
            description: format!(
                "{} built from {} ({}), managed by imgf",
                m.repo_url, m.source_repo, m.dockerfile
            ),
            annotations,
        },
        spec: ManagedSpec {
            kind: "managed-image",
            lifecycle: f.lifecycle.clone().unwrap_or_else(|| s.lifecycle.clone()),
            owner: f.owner.clone().unwrap_or_else(|| s.owner.clone()),
            system: f.system.clone().unwrap_or_else(|| s.system.clone()),
            source: SourceSpec {
                provider: m.provider.as_str(),
                repo: m.source_repo.clone(),
                branch: m.branch.clone(),
                dockerfile: m.dockerfile.clone(),
                workflow,
            },
            rebuild_policy: RebuildPolicy {
                delay: delay(m.rebuild_delay_secs),
                auto_rebuild: m.auto_rebuild,
            },
            depends_on: p.depends_on[i]
                .iter()
                .map(|b| match *b {
                    Node::Upstream(u) => link(&p.model.upstream[u].name, "base-image"),
                    Node::Managed(b) => link(&p.model.managed[b].name, "base-image"),
                })
                .collect(),
        },
    }
}

fn dependents(p: &Plan<'_>, of: &[usize]) -> Vec<EntityLink> {
    of.iter()
        .map(|&d| link(&p.model.managed[d].name, "managed-image"))
        .collect()
}

fn upstream_image(p: &Plan<'_>, i: usize) -> Entity<BaseSpec> {
    let u: &Upstream = &p.model.upstream[i];
    let f = &p.facts.upstream[i];
    let s = &p.settings.backstage;
    let (registry, repository) = split_repo(&u.repo_url);
    // The schema requires a tag; an image watched by a regex only carries it.
    let tag = u.tag.clone().unwrap_or_else(|| u.tag_regex.clone());
    let description = match u.kind {
        UpstreamKind::Base => format!(
            "Upstream image {}:{tag}, a base of managed images",
            u.repo_url
        ),
        UpstreamKind::External => format!("Upstream image {}:{tag}, watched by imgf", u.repo_url),
    };
    Entity {
        api_version: API_VERSION,
        kind: "BaseImage",
        metadata: Metadata {
            name: names::fit(&u.name),
            title: u.name.clone(),
            description,
            annotations: {
                let mut a = annotations(&registry, &repository, f);
                a.insert(format!("{A}tag"), tag.clone());
                a
            },
        },
        spec: BaseSpec {
            kind: "base-image",
            lifecycle: f.lifecycle.clone().unwrap_or_else(|| s.lifecycle.clone()),
            owner: f.owner.clone().unwrap_or_else(|| s.base_owner.clone()),
            system: f.system.clone().unwrap_or_else(|| s.system.clone()),
            upstream: UpstreamSpec {
                registry,
                repository,
                tag,
            },
            dependents: dependents(p, &p.upstream_dependents[i]),
        },
    }
}

fn cascade_image(p: &Plan<'_>, i: usize) -> Entity<BaseSpec> {
    let (m_index, ref deps) = p.cascades[i];
    let m = &p.model.managed[m_index];
    let f = &p.facts.managed[m_index];
    let s = &p.settings.backstage;
    let (registry, repository) = split_repo(&m.repo_url);
    // The version last built; `latest` before the first build is recorded.
    let tag = f
        .annotations
        .get("tag")
        .cloned()
        .unwrap_or_else(|| "latest".to_string());
    let mut annotations = BTreeMap::new();
    annotations.insert(format!("{A}registry"), registry.clone());
    annotations.insert(format!("{A}repository"), repository.clone());
    annotations.insert(format!("{A}tag"), tag.clone());
    annotations.insert(format!("{A}managed-image"), names::fit(&m.name));
    if let Some(d) = f.annotations.get("digest") {
        annotations.insert(format!("{A}digest"), d.clone());
    }
    if let Some(d) = f.annotations.get("last-built") {
        annotations.insert(format!("{A}last-updated"), d.clone());
    }
    Entity {
        api_version: API_VERSION,
        kind: "BaseImage",
        metadata: Metadata {
            name: names::fit(&m.name),
            title: m.name.clone(),
            description: format!(
                "{}, built here (ManagedImage {}) and the base of other managed images",
                m.repo_url, m.name
            ),
            annotations,
        },
        spec: BaseSpec {
            kind: "base-image",
            lifecycle: f.lifecycle.clone().unwrap_or_else(|| s.lifecycle.clone()),
            owner: f.owner.clone().unwrap_or_else(|| s.owner.clone()),
            system: f.system.clone().unwrap_or_else(|| s.system.clone()),
            upstream: UpstreamSpec {
                registry,
                repository,
                tag,
            },
            dependents: dependents(p, deps),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_fit_the_schema_pattern() {
        let re = regex::Regex::new(r"^\d+[dhm]$").unwrap();
        for (secs, want) in [
            (0, "0m"),
            (1, "1m"),
            (60, "1m"),
            (90 * 60, "90m"),
            (36 * 3600, "36h"),
            (7 * 86400, "7d"),
            (86400 + 3600, "25h"),
        ] {
            assert_eq!(delay(secs), want);
            assert!(re.is_match(&delay(secs)));
        }
    }
}
