//! The merged, validated view of every image: what the rest of synth works on.
//!
//! Built by [`crate::merge`] from images.yaml and the state files. Every
//! string here has passed [`crate::values`], and every reference between
//! images is an index that is known to exist.

use crate::config::enrollment::Provider;

/// All images, by kind.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Model {
    /// Images built here (have a `source`), in images.yaml order.
    pub managed: Vec<Managed>,
    /// Images watched upstream: external enrollments (images.yaml order),
    /// then discovered base images (sorted by name).
    pub upstream: Vec<Upstream>,
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
    /// The images this one is built on, de-duplicated, in discovery order.
    pub bases: Vec<BaseRef>,
    /// Files in the source repository whose changes call for a new analysis.
    pub source_paths: Vec<String>,
    /// The places that deploy the image (images.yaml `updates`).
    pub updates: Vec<crate::config::enrollment::Update>,
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
