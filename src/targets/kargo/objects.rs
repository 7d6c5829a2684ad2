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
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub promotion_policies: Vec<PromotionPolicy>,
    /// Kargo's webhook receivers (`discovery.webhooks`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub webhook_receivers: Vec<WebhookReceiver>,
}

/// A webhook receiver: its name and exactly one type key, with the Secret
/// it reads (`{name: github, github: {secretRef: {name: …}}}`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookReceiver {
    pub name: String,
    /// The type key (`github`, `gitlab`, `dockerhub`, `quay`).
    pub kind: &'static str,
    pub secret: String,
}

impl Serialize for WebhookReceiver {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct Config<'a> {
            secret_ref: LocalRef<'a>,
        }
        #[derive(Serialize)]
        struct LocalRef<'a> {
            name: &'a str,
        }
        let mut map = s.serialize_map(Some(2))?;
        map.serialize_entry("name", &self.name)?;
        map.serialize_entry(
            self.kind,
            &Config {
                secret_ref: LocalRef { name: &self.secret },
            },
        )?;
        map.end()
    }
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
    /// The controller shard that polls it (`kargo.shards`); Kargo's webhook
    /// copies it into the label `kargo.akuity.io/shard`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shard: Option<String>,
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
    /// The controller shard that reconciles it and runs its Promotions.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shard: Option<String>,
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
                availability_strategy: None,
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
    /// `OneOf`: Freight verified in any one of `stages` is available
    /// (`api/v1alpha1/stage_types.go:190-204`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub availability_strategy: Option<&'static str>,
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
    /// A condition (`${{ … }}`): the step is skipped when it is false.
    #[serde(rename = "if", skip_serializing_if = "Option::is_none")]
    pub condition: Option<String>,
    /// A failure of this step does not fail the promotion.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub continue_on_error: bool,
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
    GitClone(GitCloneConfig),
    YamlParse(YamlParseConfig),
    KustomizeSetImage(KustomizeSetImageConfig),
    YamlUpdate(YamlUpdateConfig),
    GitCommit(GitCommitConfig),
    GitPush(GitPushConfig),
    GitOpenPr(GitOpenPrConfig),
    GitWaitForPr(GitWaitForPrConfig),
    ArgocdUpdate(ArgocdUpdateConfig),
}

/// `git-clone` (`pkg/promotion/runner/builtin/git_cloner.go`).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct GitCloneConfig {
    #[serde(rename = "repoURL")]
    pub repo_url: String,
    /// Authorship of the commits made in the clone (`git-commit.author` goes in v1.12).
    pub author: GitAuthor,
    pub checkout: Vec<GitCheckout>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct GitAuthor {
    pub name: String,
    pub email: String,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct GitCheckout {
    pub branch: String,
    pub path: String,
}

/// `yaml-parse` (`yaml_parser.go`): each output is an expr-lang program
/// run over the parsed file (not a `${{ }}` template).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct YamlParseConfig {
    pub path: String,
    pub outputs: Vec<YamlParseOutput>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct YamlParseOutput {
    pub name: String,
    pub from_expression: String,
}

/// `kustomize-set-image` (`kustomize_image_setter.go`): exactly one of `tag`
/// or `digest` per image.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct KustomizeSetImageConfig {
    pub path: String,
    pub images: Vec<KustomizeImage>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct KustomizeImage {
    /// The repository Kargo subscribes to, and the `images[].name` matched.
    pub image: String,
    /// `*`: keep the entry's `newName` (a registry mirror); Kargo replaces
    /// the whole entry otherwise (`kustomize_image_setter.go` `mergeImages`).
    #[serde(rename = "newName")]
    pub new_name: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
}

/// `yaml-update` (`yaml_updater.go`): only existing scalar keys.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct YamlUpdateConfig {
    pub path: String,
    pub updates: Vec<YamlUpdate>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct YamlUpdate {
    pub key: String,
    pub value: String,
}

/// `git-commit` (`git_commiter.go`): no commit when nothing changed.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct GitCommitConfig {
    pub path: String,
    pub message: String,
}

/// `git-push` (`git_pusher.go`): to the checked-out branch, or to a
/// generated `kargo/promotion/<promotion>` branch (output `branch`).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct GitPushConfig {
    pub path: String,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub generate_target_branch: bool,
}

/// `git-open-pr` (`git_pr_opener.go`): Skipped when the branches do not differ.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct GitOpenPrConfig {
    #[serde(rename = "repoURL")]
    pub repo_url: String,
    pub provider: &'static str,
    pub source_branch: String,
    pub target_branch: String,
    pub title: String,
}

/// `git-wait-for-pr` (`git_pr_waiter.go`): Running until merged; a PR closed
/// unmerged fails it. `prNumber` is an integer: its expression yields one.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct GitWaitForPrConfig {
    #[serde(rename = "repoURL")]
    pub repo_url: String,
    pub provider: &'static str,
    pub pr_number: String,
}

/// `argocd-update` (`argocd_updater.go`): syncs, then waits for the sync.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ArgocdUpdateConfig {
    pub apps: Vec<ArgocdApp>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ArgocdApp {
    pub name: String,
    pub namespace: String,
    pub sources: Vec<ArgocdSource>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ArgocdSource {
    /// The source the update applies to: an Application with no source from
    /// this repository fails the step (`argocd_updater.go` `buildDesiredSources`).
    /// No `desiredRevision`: the sync takes the branch's head, which holds
    /// what was pushed (see [`super::update`]).
    #[serde(rename = "repoURL")]
    pub repo_url: String,
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
    /// How many measurements (set whenever `interval` is).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub count: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interval: Option<&'static str>,
    /// expr-lang over `result`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub success_condition: Option<String>,
    /// Failed measurements tolerated; -1: never fail on them (with
    /// `consecutive_success_limit`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure_limit: Option<i32>,
    /// Successes in a row that end the metric as Successful.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub consecutive_success_limit: Option<u32>,
    pub provider: MetricProvider,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct MetricProvider {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job: Option<JobMetric>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub web: Option<WebMetric>,
}

/// Argo Rollouts' `web` provider: a non-2xx answer is an Error (counted
/// against `consecutiveErrorLimit`), a non-JSON body a Success whatever
/// `successCondition` says (`metricproviders/webmetric/webmetric.go`).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct WebMetric {
    pub url: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub json_path: Option<String>,
    pub timeout_seconds: u32,
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
    /// Exit codes that end the Job at once, without the retries of
    /// `backoffLimit` (a decision, not an error).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pod_failure_policy: Option<PodFailurePolicy>,
    pub template: PodTemplate,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct PodFailurePolicy {
    pub rules: Vec<PodFailurePolicyRule>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct PodFailurePolicyRule {
    pub action: &'static str,
    pub on_exit_codes: OnExitCodes,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct OnExitCodes {
    pub container_name: String,
    pub operator: &'static str,
    pub values: Vec<i32>,
}

/// A pod volume; only `emptyDir` is used.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Volume {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub empty_dir: Option<EmptyDir>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<SecretVolume>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct EmptyDir {}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct SecretVolume {
    pub secret_name: String,
    pub items: Vec<KeyToPath>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct KeyToPath {
    pub key: String,
    pub path: String,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct VolumeMount {
    pub name: String,
    pub mount_path: String,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub read_only: bool,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct PodTemplate {
    pub spec: PodSpec,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct PodSpec {
    /// Empty: the namespace's `default` ServiceAccount.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub service_account_name: String,
    pub restart_policy: &'static str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub image_pull_secrets: Vec<NameRef>,
    /// Run in order before `containers`; any that fails fails the pod.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub init_containers: Vec<Container>,
    pub containers: Vec<Container>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub volumes: Vec<Volume>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Container {
    pub name: String,
    pub image: String,
    /// The entrypoint, as a vector (empty: the image's own).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub command: Vec<String>,
    /// An argument vector: never a shell command line.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub env: Vec<EnvVar>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub volume_mounts: Vec<VolumeMount>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct EnvVar {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value_from: Option<EnvVarSource>,
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
