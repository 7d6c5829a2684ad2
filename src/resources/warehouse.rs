//! Warehouses: where Freight comes from.
//!
//! A managed image's Warehouse watches its own registry repository (new
//! builds) and its source repository (changes to the Dockerfile's directory
//! or the enrollment). An upstream image's Warehouse watches exactly one tag,
//! polled rarely because public registries rate-limit.

use super::kargo::{
    GitSubscription, ImageSubscription, Subscription, Warehouse, WarehouseSpec, KARGO_API,
};
use super::meta;
use crate::config::enrollment::Provider;
use crate::config::settings::Settings;
use crate::model::{Managed, Strategy, Upstream};

/// The semver range a managed image's Warehouse accepts once the image has
/// versions: every release, `0.0.x` included (the old `>=0.1.0` hid those).
pub const MANAGED_CONSTRAINT: &str = ">=0.0.0";
/// The mutable tag watched by digest before an image has any version.
pub const UNVERSIONED_TAG: &str = "latest";

pub(super) fn managed(m: &Managed, settings: &Settings) -> Warehouse {
    let image = if m.current_version.is_some() {
        ImageSubscription {
            repo_url: m.repo_url.clone(),
            image_selection_strategy: Strategy::SemVer.as_str(),
            constraint: Some(MANAGED_CONSTRAINT.into()),
            allow_tags_regexes: Vec::new(),
            strict_semvers: Some(false),
            discovery_limit: 10,
        }
    } else {
        ImageSubscription {
            repo_url: m.repo_url.clone(),
            image_selection_strategy: Strategy::Digest.as_str(),
            constraint: Some(UNVERSIONED_TAG.into()),
            allow_tags_regexes: Vec::new(),
            strict_semvers: None,
            discovery_limit: 10,
        }
    };
    let git = GitSubscription {
        repo_url: git_url(m, settings),
        commit_selection_strategy: "NewestFromBranch",
        branch: m.branch.clone(),
        include_paths: m.include_paths.clone(),
        discovery_limit: 5,
    };
    Warehouse {
        api_version: KARGO_API,
        kind: "Warehouse",
        metadata: meta(m.name.clone(), settings, &[(super::IMAGE_LABEL, &m.name)]),
        spec: WarehouseSpec {
            interval: settings.managed_interval.clone(),
            subscriptions: vec![Subscription::Image(image), Subscription::Git(git)],
        },
    }
}

pub(super) fn upstream(u: &Upstream, settings: &Settings) -> Warehouse {
    let constraint = match (u.strategy, &u.tag) {
        (Strategy::Digest, Some(tag)) => Some(tag.clone()),
        _ => None,
    };
    Warehouse {
        api_version: KARGO_API,
        kind: "Warehouse",
        metadata: meta(crate::names::fit(&u.name), settings, &[]),
        spec: WarehouseSpec {
            interval: settings.base_interval.clone(),
            subscriptions: vec![Subscription::Image(ImageSubscription {
                repo_url: u.repo_url.clone(),
                image_selection_strategy: u.strategy.as_str(),
                constraint,
                allow_tags_regexes: vec![u.tag_regex.clone()],
                strict_semvers: (u.strategy == Strategy::SemVer).then_some(false),
                discovery_limit: 10,
            })],
        },
    }
}

/// The https clone URL of a managed image's source repository.
pub(crate) fn git_url(m: &Managed, settings: &Settings) -> String {
    let host = match m.provider {
        Provider::Github => &settings.github_web,
        Provider::Gitlab => &settings.gitlab_url,
    };
    format!("{host}/{}.git", m.source_repo)
}
