//! Warehouses: where Freight comes from.
//!
//! A managed image has two: `<image>` watches its registry repository (new
//! builds: what the analysis Stage verifies and cascades take), and
//! `<image>-source` watches the files in its source repository whose changes
//! call for a new analysis (the Dockerfile and the workflow). They are apart
//! so that a commit can never reach a dependent's rebuild Stage: Freight from
//! a Warehouse with both subscriptions carries image *and* commit, and every
//! new commit would make new Freight of the same image. The git paths are
//! files, not directories, because Kargo matches them as base directories
//! (`pkg/pattern/matcher.go`): the state files and generated output that the
//! analysis Job commits never match. An upstream image's Warehouse watches
//! exactly one tag, polled rarely because public registries rate-limit.

use super::meta;
use super::objects::{
    GitSubscription, ImageSubscription, Subscription, Warehouse, WarehouseSpec, KARGO_API,
};
use crate::config::settings::Settings;
use crate::model::{Managed, TagOrder, TagPolicy, Upstream};

/// The semver range a managed image's Warehouse accepts once the image has
/// versions: every release, `0.0.x` included (the old `>=0.1.0` hid those).
pub const MANAGED_CONSTRAINT: &str = ">=0.0.0";
/// The mutable tag watched by digest before an image has any version.
pub const UNVERSIONED_TAG: &str = "latest";

/// Whether the Warehouse of `m` follows its `latest` tag by digest: it has
/// neither `versions` nor `tagPattern`, and no version was recorded yet. Every
/// build then has the same tag (see [`super::update::Deployed::value`]).
pub fn selects_by_digest(m: &Managed) -> bool {
    matches!(m.tags, TagOrder::Versions(None)) && m.current_version.is_none()
}

pub(super) fn managed(m: &Managed, settings: &Settings) -> Warehouse {
    let image = match &m.tags {
        // Build-id tags are no versions: the newest build among them.
        TagOrder::BuildId { pattern, .. } => ImageSubscription {
            repo_url: m.repo_url.clone(),
            image_selection_strategy: selection_strategy(TagPolicy::NewestBuild),
            constraint: None,
            allow_tags_regexes: vec![pattern.clone()],
            strict_semvers: None,
            discovery_limit: 10,
        },
        // An explicit range selects versions from the first synth on;
        // without one, once a version has been built.
        TagOrder::Versions(range) if range.is_some() || !selects_by_digest(m) => {
            ImageSubscription {
                repo_url: m.repo_url.clone(),
                image_selection_strategy: selection_strategy(TagPolicy::Semver),
                constraint: Some(range.clone().unwrap_or_else(|| MANAGED_CONSTRAINT.into())),
                allow_tags_regexes: Vec::new(),
                strict_semvers: Some(false),
                discovery_limit: 10,
            }
        }
        TagOrder::Versions(_) => ImageSubscription {
            repo_url: m.repo_url.clone(),
            image_selection_strategy: selection_strategy(TagPolicy::Digest),
            constraint: Some(UNVERSIONED_TAG.into()),
            allow_tags_regexes: Vec::new(),
            strict_semvers: None,
            discovery_limit: 10,
        },
    };
    Warehouse {
        api_version: KARGO_API,
        kind: "Warehouse",
        metadata: meta(
            super::image_warehouse_name(&m.name),
            settings,
            &[(super::IMAGE_LABEL, &super::image_label(&m.name))],
        ),
        spec: WarehouseSpec {
            shard: None,
            interval: settings.intervals.managed.clone(),
            subscriptions: vec![Subscription::Image(image)],
        },
    }
}

/// The Warehouse of a managed image's source files.
pub(super) fn source(m: &Managed, settings: &Settings) -> Warehouse {
    Warehouse {
        api_version: KARGO_API,
        kind: "Warehouse",
        metadata: meta(
            super::source_warehouse_name(&m.name),
            settings,
            &[(super::IMAGE_LABEL, &super::image_label(&m.name))],
        ),
        spec: WarehouseSpec {
            shard: None,
            interval: settings.intervals.managed.clone(),
            subscriptions: vec![Subscription::Git(GitSubscription {
                repo_url: settings.providers.clone_url(m.provider, &m.source_repo),
                commit_selection_strategy: "NewestFromBranch",
                branch: m.branch.clone(),
                include_paths: m.source_paths.clone(),
                exclude_paths: Vec::new(),
                discovery_limit: 5,
            })],
        },
    }
}

/// Kargo's `imageSelectionStrategy` for a tag policy.
pub fn selection_strategy(p: TagPolicy) -> &'static str {
    match p {
        TagPolicy::Semver => "SemVer",
        TagPolicy::Lexical => "Lexical",
        TagPolicy::Digest => "Digest",
        TagPolicy::NewestBuild => "NewestBuild",
    }
}

/// How far apart, at most, the polls of one registry's Warehouses are spread.
pub const STAGGER_WINDOW_SECS: u64 = 3600;

/// The polling interval of an upstream Warehouse: the configured minimum
/// plus a stable offset within an hour, from a hash of the registry and the
/// image, so 200 Docker Hub images do not all poll at the same minute. Never
/// shorter than the minimum; the same image always gets the same interval.
pub fn polite_interval(u: &Upstream, settings: &Settings) -> String {
    let min = crate::duration::parse_interval(&settings.intervals.base);
    let registry = u.repo_url.split('/').next().unwrap_or_default();
    let hash = u64::from_str_radix(
        &crate::names::short_hash(&format!("{registry}/{}", u.name)),
        16,
    )
    .unwrap_or(0);
    let offset = (hash % (STAGGER_WINDOW_SECS / 60)) * 60;
    crate::duration::hms(min + offset)
}

pub(super) fn upstream(u: &Upstream, settings: &Settings) -> Warehouse {
    let constraint = match (u.policy, &u.tag) {
        (TagPolicy::Digest, Some(tag)) => Some(tag.clone()),
        _ => None,
    };
    Warehouse {
        api_version: KARGO_API,
        kind: "Warehouse",
        metadata: meta(crate::names::fit(&u.name), settings, &[]),
        spec: WarehouseSpec {
            shard: None,
            interval: polite_interval(u, settings),
            subscriptions: vec![Subscription::Image(ImageSubscription {
                repo_url: u.repo_url.clone(),
                image_selection_strategy: selection_strategy(u.policy),
                constraint,
                allow_tags_regexes: vec![u.tag_regex.clone()],
                strict_semvers: (u.policy == TagPolicy::Semver).then_some(false),
                discovery_limit: 10,
            })],
        },
    }
}
