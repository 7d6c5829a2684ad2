//! The Kargo and Argo Rollouts objects imgf emits, as typed structs.
//!
//! Only the fields imgf sets exist here, each spelled as the Kargo v1.11 /
//! Argo Rollouts v1.9 CRDs spell it, so a typo or a removed field
//! (`semverConstraint` on an image subscription, `allowTags`) cannot reach the
//! output. Maps that are serialised are `BTreeMap`s: their order is fixed.

use std::collections::BTreeMap;

use serde::Serialize;

pub use crate::targets::k8s::{Namespace, ObjectMeta, ServiceAccount};

pub const KARGO_API: &str = "kargo.akuity.io/v1alpha1";
pub const ROLLOUTS_API: &str = "argoproj.io/v1alpha1";

/// Any emitted object.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(untagged)]
pub enum Resource {
    Namespace(Namespace),
    Project(Project),
    ProjectConfig(ProjectConfig),
    ServiceAccount(ServiceAccount),
    AnalysisTemplate(AnalysisTemplate),
    Warehouse(Warehouse),
    Stage(Stage),
}

impl Resource {
    pub fn kind(&self) -> &'static str {
        match self {
            Resource::Namespace(_) => "Namespace",
            Resource::Project(_) => "Project",
            Resource::ProjectConfig(_) => "ProjectConfig",
            Resource::ServiceAccount(_) => "ServiceAccount",
            Resource::AnalysisTemplate(_) => "AnalysisTemplate",
            Resource::Warehouse(_) => "Warehouse",
            Resource::Stage(_) => "Stage",
        }
    }

    pub fn metadata(&self) -> &ObjectMeta {
        match self {
            Resource::Namespace(r) => &r.metadata,
            Resource::Project(r) => &r.metadata,
            Resource::ProjectConfig(r) => &r.metadata,
            Resource::ServiceAccount(r) => &r.metadata,
            Resource::AnalysisTemplate(r) => &r.metadata,
            Resource::Warehouse(r) => &r.metadata,
            Resource::Stage(r) => &r.metadata,
        }
    }

    pub fn name(&self) -> &str {
        &self.metadata().name
    }
}

/// A Kargo Project: no spec since v1.7.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Project {
    pub api_version: &'static str,
    pub kind: &'static str,
    pub metadata: ObjectMeta,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ProjectConfig {
    pub api_version: &'static str,
    pub kind: &'static str,
    pub metadata: ObjectMeta,
    pub spec: ProjectConfigSpec,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ProjectConfigSpec {
    pub promotion_policies: Vec<PromotionPolicy>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct PromotionPolicy {
    pub stage_selector: StageSelector,
    pub auto_promotion_enabled: bool,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct StageSelector {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub match_labels: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Warehouse {
    pub api_version: &'static str,
    pub kind: &'static str,
    pub metadata: ObjectMeta,
    pub spec: WarehouseSpec,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct WarehouseSpec {
    pub interval: String,
    pub subscriptions: Vec<Subscription>,
}

/// One subscription: exactly one top-level key, as Kargo requires.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subscription {
    Image(ImageSubscription),
    Git(GitSubscription),
}

impl Serialize for Subscription {
    /// `{image: {...}}` / `{git: {...}}`: a one-key mapping, not a YAML tag.
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = s.serialize_map(Some(1))?;
        match self {
            Subscription::Image(i) => map.serialize_entry("image", i)?,
            Subscription::Git(g) => map.serialize_entry("git", g)?,
        }
        map.end()
    }
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ImageSubscription {
    #[serde(rename = "repoURL")]
    pub repo_url: String,
    pub image_selection_strategy: &'static str,
    /// The semver range (SemVer) or the mutable tag (Digest).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub constraint: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub allow_tags_regexes: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub strict_semvers: Option<bool>,
    pub discovery_limit: u32,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct GitSubscription {
    #[serde(rename = "repoURL")]
    pub repo_url: String,
    pub commit_selection_strategy: &'static str,
    pub branch: String,
    /// Base directories or files (Kargo matches a path by prefix:
    /// `pkg/pattern/matcher.go` `BaseDirMatcher`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub include_paths: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub exclude_paths: Vec<String>,
    pub discovery_limit: u32,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Stage {
    pub api_version: &'static str,
    pub kind: &'static str,
    pub metadata: ObjectMeta,
    pub spec: StageSpec,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct StageSpec {
    pub requested_freight: Vec<FreightRequest>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub promotion_template: Option<PromotionTemplate>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verification: Option<Verification>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct FreightRequest {
    pub origin: FreightOrigin,
    pub sources: FreightSources,
}

impl FreightRequest {
    /// Freight taken straight from a Warehouse.
    pub fn direct(warehouse: String) -> FreightRequest {
        FreightRequest {
            origin: FreightOrigin {
                kind: "Warehouse",
                name: warehouse,
            },
            sources: FreightSources {
                direct: true,
                stages: Vec::new(),
                required_soak_time: None,
            },
        }
    }
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct FreightOrigin {
    pub kind: &'static str,
    pub name: String,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct FreightSources {
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub direct: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub stages: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub required_soak_time: Option<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct PromotionTemplate {
    pub spec: PromotionTemplateSpec,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct PromotionTemplateSpec {
    pub steps: Vec<PromotionStep>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct PromotionStep {
    pub uses: &'static str,
    #[serde(rename = "as")]
    pub alias: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry: Option<StepRetry>,
    pub config: StepConfig,
}

/// A step's `retry`: how long a Running or failing step is retried, and how
/// many consecutive errors end it (`pkg/promotion/local_orchestrator.go:300-345`).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct StepRetry {
    pub timeout: &'static str,
    pub error_threshold: u32,
}

/// A step's `config`, typed per step kind.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(untagged)]
pub enum StepConfig {
    Http(HttpConfig),
    /// `compose-output`: named values, each usually an expression.
    ComposeOutput(BTreeMap<String, String>),
}

/// The `http` step (`pkg/promotion/runner/builtin/schemas/http-config.json`).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct HttpConfig {
    pub url: String,
    pub method: &'static str,
    pub headers: Vec<NameValue>,
    pub body: String,
    pub timeout: &'static str,
    /// How often a step that matched neither expression (a 429 or a 5xx) is sent again.
    pub poll_interval: &'static str,
    /// Raw expr-lang, not wrapped in `${{ }}`.
    pub success_expression: String,
    /// Raw expr-lang, not wrapped in `${{ }}`.
    pub failure_expression: String,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct NameValue {
    pub name: String,
    pub value: String,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Verification {
    pub analysis_templates: Vec<NameRef>,
    pub args: Vec<NameValue>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct NameRef {
    pub name: String,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct AnalysisTemplate {
    pub api_version: &'static str,
    pub kind: &'static str,
    pub metadata: ObjectMeta,
    pub spec: AnalysisTemplateSpec,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct AnalysisTemplateSpec {
    pub args: Vec<NameRef>,
    pub metrics: Vec<Metric>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Metric {
    pub name: String,
    pub provider: MetricProvider,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct MetricProvider {
    pub job: JobMetric,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct JobMetric {
    pub spec: JobSpec,
}

/// The part of a batch/v1 JobSpec imgf sets.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct JobSpec {
    pub backoff_limit: i32,
    pub active_deadline_seconds: i64,
    pub template: PodTemplate,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct PodTemplate {
    pub spec: PodSpec,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct PodSpec {
    pub service_account_name: String,
    pub restart_policy: &'static str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub image_pull_secrets: Vec<NameRef>,
    pub containers: Vec<Container>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Container {
    pub name: String,
    pub image: String,
    /// An argument vector: never a shell command line.
    pub args: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub env: Vec<EnvVar>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct EnvVar {
    pub name: String,
    pub value_from: EnvVarSource,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct EnvVarSource {
    pub secret_key_ref: SecretKeySelector,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct SecretKeySelector {
    pub name: String,
    pub key: String,
    pub optional: bool,
}
