//! The merged, validated view of every image: what the rest of synth works on.
//!
//! Built by [`crate::merge`] from images.yaml and the state files. Every
//! string here has passed [`crate::values`], and every reference between
//! images is an index that is known to exist.

use std::collections::BTreeMap;

use crate::config::enrollment::{BuildField, Provider, UpdateValue};

/// All images, by kind.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Model {
    /// Images built here (have a `source`), in images.yaml order.
    pub managed: Vec<Managed>,
    /// Images watched upstream: external enrollments (images.yaml order),
    /// then discovered base images (sorted by name).
    pub upstream: Vec<Upstream>,
    /// What a catalog says about each image beyond how it is built.
    pub catalog: Catalog,
}

/// [`CatalogFacts`] of every managed and upstream image, by model index
/// (parallel to [`Model::managed`] and [`Model::upstream`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Catalog {
    pub managed: Vec<CatalogFacts>,
    pub upstream: Vec<CatalogFacts>,
}

/// What a catalog says about an image beyond how it is built: its catalog
/// metadata from images.yaml and its runtime values from state.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CatalogFacts {
    pub owner: Option<String>,
    pub system: Option<String>,
    pub lifecycle: Option<String>,
    /// `image-factory.io/*` annotation (key without prefix) → value.
    pub annotations: BTreeMap<&'static str, String>,
}

/// A managed image: built from a Dockerfile in a source repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Managed {
    pub name: String,
    /// `registry/repository`, as Kargo's `repoURL`.
    pub repo_url: String,
    pub provider: Provider,
    /// `owner/name` (GitHub) or `group/…/project` (GitLab).
    pub source_repo: String,
    pub branch: String,
    pub dockerfile: String,
    /// GitHub workflow file or id; `None` for GitLab.
    pub workflow: Option<String>,
    /// The context inputs a rebuild dispatch sends, in canonical order.
    pub inputs: Vec<&'static str>,
    pub version_bump: String,
    pub rebuild_delay_secs: u64,
    pub auto_rebuild: bool,
    /// The version last built, when analysis recorded one.
    pub current_version: Option<String>,
    /// How the image's tags are ordered to find the newest build.
    pub tags: TagOrder,
    /// The images this one is built on, de-duplicated, in discovery order.
    pub bases: Vec<BaseRef>,
    /// Files in the source repository whose changes call for a new analysis.
    pub source_paths: Vec<String>,
    /// The places that deploy the image (images.yaml `updates`).
    pub updates: Vec<Update>,
}

/// How a managed image's tags are ordered to find the newest build: what a
/// target's tag selection (Kargo's constraint, Flux's ImagePolicy) needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TagOrder {
    /// Semantic versions; `Some(range)` when images.yaml limits them
    /// (`versions`).
    Versions(Option<String>),
    /// Build ids (images.yaml `tagPattern`): tags matching `pattern`,
    /// ordered by the number its named group `group` captures.
    BuildId { pattern: String, group: String },
}

/// A place that deploys a managed image, resolved: one update Stage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Update {
    /// The Stage suffix (`update-<image>-<name>`).
    pub name: String,
    /// The https clone URL of the repository updated.
    pub repo_url: String,
    pub provider: Provider,
    pub branch: String,
    /// A kustomization directory or a YAML file, from the repository root.
    pub path: String,
    /// `Some(key)` for a yaml-update (Helm values, manifests); `None` for
    /// kustomize-set-image.
    pub yaml_key: Option<String>,
    /// What is written: images.yaml's `value`, or `tag` when it says none
    /// (a target may choose another default: see `value_given`).
    pub value: UpdateValue,
    /// Whether images.yaml names the `value`.
    pub value_given: bool,
    /// Where images.yaml enrolls it: the entry's index in the file and the
    /// update's index in its `updates` (for diagnostics).
    pub entry: usize,
    pub index: usize,
    /// An index into the image's updates: Freight comes from that Stage.
    pub after: Option<usize>,
    /// With `after`: how long Freight must have stayed there, without a
    /// break, counted from its promotion there (and it must be verified).
    pub soak_secs: u64,
    pub pull_request: bool,
    /// The Argo CD Application synced after the push: (namespace, name).
    pub argocd: Option<(String, String)>,
    pub verify: Vec<Check>,
    pub auto_promote: bool,
    /// The Kargo controller shard its Stage runs on (images.yaml `shard`).
    pub shard: Option<String>,
}

/// A post-update verification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Check {
    /// An HTTP health check: 2xx, and the value at `json_path` equals `expect`.
    Http {
        url: String,
        json_path: Option<String>,
        expect: Option<String>,
        /// A version check: the value must be this field of the build
        /// being deployed.
        expect_build: Option<BuildField>,
    },
    /// An end-to-end test Job: exit 0 passes.
    Job {
        image: String,
        command: Vec<String>,
        env: BTreeMap<String, String>,
    },
}

/// What a managed image is built on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum BaseRef {
    /// An index into [`Model::upstream`].
    Upstream(usize),
    /// An index into [`Model::managed`]: a cascade.
    Managed(usize),
}

/// Whether an upstream image was enrolled or discovered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpstreamKind {
    /// Discovered as the base of a managed image.
    Base,
    /// Enrolled in images.yaml without a source.
    External,
}

/// An image watched in its registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upstream {
    /// The state or enrollment name; the Warehouse is named after it.
    pub name: String,
    pub kind: UpstreamKind,
    pub repo_url: String,
    /// The tag watched, when known.
    pub tag: Option<String>,
    /// A regex that matches exactly the watched tag(s).
    pub tag_regex: String,
    pub policy: TagPolicy,
    /// The places that deploy it (external images' `updates:`; empty for
    /// discovered bases).
    pub updates: Vec<Update>,
}

/// Which image behind a watched tag counts as the newest. Each target maps
/// this to its own terms (Kargo's `imageSelectionStrategy`, Flux's policy).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TagPolicy {
    /// The highest semantic version.
    Semver,
    /// The lexically greatest tag.
    Lexical,
    /// One mutable tag, followed by digest.
    Digest,
    /// The most recently pushed.
    NewestBuild,
}

impl Upstream {
    /// The one tag it follows, when it follows one: its `tag` when the
    /// filter matches exactly that tag, or when it is followed by digest.
    /// Every build then has this tag; only the digest tells them apart.
    pub fn one_tag(&self) -> Option<&str> {
        self.tag.as_deref().filter(|t| {
            self.policy == TagPolicy::Digest || self.tag_regex == crate::values::exact_tag_regex(t)
        })
    }
}

impl Model {
    /// The repoURL and Warehouse-facing name of a base reference.
    pub fn base_name(&self, base: BaseRef) -> &str {
        match base {
            BaseRef::Upstream(i) => &self.upstream[i].name,
            BaseRef::Managed(i) => &self.managed[i].name,
        }
    }

    pub fn base_repo_url(&self, base: BaseRef) -> &str {
        match base {
            BaseRef::Upstream(i) => &self.upstream[i].repo_url,
            BaseRef::Managed(i) => &self.managed[i].repo_url,
        }
    }
}

#[cfg(test)]
impl Model {
    /// A small model for unit tests: `app` (GitHub, delay 1h) built on the
    /// upstream `node-22`.
    pub(crate) fn sample() -> Model {
        Model {
            catalog: Catalog::default(),
            managed: vec![Managed {
                name: "app".into(),
                repo_url: "ghcr.io/org/app".into(),
                provider: crate::config::enrollment::Provider::Github,
                source_repo: "org/app".into(),
                branch: "main".into(),
                dockerfile: "Dockerfile".into(),
                workflow: Some("build.yml".into()),
                inputs: vec!["version_bump"],
                version_bump: "patch".into(),
                rebuild_delay_secs: 3600,
                auto_rebuild: true,
                current_version: None,
                bases: vec![BaseRef::Upstream(0)],
                source_paths: vec!["Dockerfile".into()],
                tags: TagOrder::Versions(None),
                updates: Vec::new(),
            }],
            upstream: vec![Upstream {
                name: "node-22".into(),
                kind: UpstreamKind::Base,
                repo_url: "docker.io/library/node".into(),
                tag: Some("22".into()),
                tag_regex: "^22$".into(),
                policy: TagPolicy::Lexical,
                updates: Vec::new(),
            }],
        }
    }
}
