//! The Flux objects imgf emits, as typed structs.
//!
//! Only the fields imgf sets exist here, each spelled as the Flux v1 CRDs
//! (`image.toolkit.fluxcd.io/v1`, image-reflector-controller and
//! image-automation-controller 1.2; `source.toolkit.fluxcd.io/v1`) spell it.
//! `v1beta2` is not served by those controllers any more.

use serde::Serialize;

pub use crate::targets::k8s::ObjectMeta;

pub const IMAGE_API: &str = "image.toolkit.fluxcd.io/v1";
pub const SOURCE_API: &str = "source.toolkit.fluxcd.io/v1";

/// Any emitted object.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(untagged)]
pub enum Resource {
    ImageRepository(ImageRepository),
    ImagePolicy(ImagePolicy),
    GitRepository(GitRepository),
    ImageUpdateAutomation(ImageUpdateAutomation),
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ImageRepository {
    pub api_version: &'static str,
    pub kind: &'static str,
    pub metadata: ObjectMeta,
    pub spec: ImageRepositorySpec,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ImageRepositorySpec {
    /// `registry/repository`, no scheme.
    pub image: String,
    pub interval: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<LocalRef>,
    /// A plain-HTTP registry.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub insecure: bool,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct LocalRef {
    pub name: String,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ImagePolicy {
    pub api_version: &'static str,
    pub kind: &'static str,
    pub metadata: ObjectMeta,
    pub spec: ImagePolicySpec,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ImagePolicySpec {
    pub image_repository_ref: LocalRef,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filter_tags: Option<TagFilter>,
    pub policy: PolicyChoice,
    /// `IfNotPresent` or `Always` (with `interval`); absent means Never.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub digest_reflection_policy: Option<&'static str>,
    /// Only with `digestReflectionPolicy: Always` (a CEL rule of the CRD).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interval: Option<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct TagFilter {
    pub pattern: String,
    /// `$<group>`: the part of the tag that is ordered (empty: the whole tag).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub extract: String,
}

/// Exactly one field is set: build with [`PolicyChoice::semver`],
/// [`PolicyChoice::numerical`] or [`PolicyChoice::alphabetical`].
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct PolicyChoice {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub semver: Option<SemverPolicy>,
    /// Only for external images' lexical tags, never for managed build ids.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alphabetical: Option<NumericalPolicy>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub numerical: Option<NumericalPolicy>,
}

impl PolicyChoice {
    pub fn semver(range: String) -> PolicyChoice {
        PolicyChoice {
            semver: Some(SemverPolicy { range }),
            alphabetical: None,
            numerical: None,
        }
    }

    /// Ascending: the highest number is the newest.
    pub fn numerical() -> PolicyChoice {
        PolicyChoice {
            semver: None,
            alphabetical: None,
            numerical: Some(NumericalPolicy { order: "asc" }),
        }
    }

    /// Ascending: the lexically greatest tag is the newest.
    pub fn alphabetical() -> PolicyChoice {
        PolicyChoice {
            semver: None,
            alphabetical: Some(NumericalPolicy { order: "asc" }),
            numerical: None,
        }
    }
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct SemverPolicy {
    pub range: String,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct NumericalPolicy {
    pub order: &'static str,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct GitRepository {
    pub api_version: &'static str,
    pub kind: &'static str,
    pub metadata: ObjectMeta,
    pub spec: GitRepositorySpec,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct GitRepositorySpec {
    pub url: String,
    pub interval: String,
    #[serde(rename = "ref")]
    pub reference: BranchRef,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<LocalRef>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct BranchRef {
    pub branch: String,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ImageUpdateAutomation {
    pub api_version: &'static str,
    pub kind: &'static str,
    pub metadata: ObjectMeta,
    pub spec: ImageUpdateAutomationSpec,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ImageUpdateAutomationSpec {
    pub interval: String,
    pub source_ref: CrossNamespaceRef,
    pub git: GitSpec,
    pub update: UpdateStrategy,
    pub policy_selector: LabelSelector,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct CrossNamespaceRef {
    pub kind: &'static str,
    pub name: String,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct GitSpec {
    pub checkout: Checkout,
    pub commit: CommitSpec,
    pub push: PushSpec,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Checkout {
    #[serde(rename = "ref")]
    pub reference: BranchRef,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct CommitSpec {
    pub author: Author,
    pub message_template: String,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Author {
    pub name: String,
    pub email: String,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct PushSpec {
    pub branch: String,
    /// Git push options: GitLab opens a merge request with
    /// `merge_request.create` and `merge_request.target`.
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub options: std::collections::BTreeMap<String, String>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct UpdateStrategy {
    pub path: String,
    pub strategy: &'static str,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct LabelSelector {
    pub match_expressions: Vec<LabelSelectorRequirement>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct LabelSelectorRequirement {
    pub key: String,
    pub operator: &'static str,
    pub values: Vec<String>,
}
