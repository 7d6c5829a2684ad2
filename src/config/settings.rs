//! Settings that differ between organisations: the Kargo project, the
//! analysis Job, where tokens live, API hosts, intervals.
//!
//! They come from an optional `settings.yaml` beside images.yaml, then from
//! command-line overrides; everything has a default, and nothing names a
//! particular user, organisation or repository.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use crate::config::enrollment::Provider;
use crate::config::parse::Locator;
use crate::config::security::{
    Notification, NotificationFile, Scanner, SecurityFile, SecuritySettings, SignatureRule,
    DEFAULT_COSIGN_IMAGE,
};
use crate::diagnostic::Diagnostic;
use crate::values;

/// The settings file's name inside `--dir`.
pub const SETTINGS_FILE: &str = "settings.yaml";

/// Where `imgf synth` writes, and where the Job regenerates the output.
pub const DEFAULT_OUTPUT: &str = "dist/image-factory.k8s.yaml";

/// `settings.yaml` as written; every field optional.
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SettingsFile {
    /// The Kargo Project, and its Namespace (default `image-factory`;
    /// `--project` overrides it).
    pub project: Option<String>,
    /// Extra labels on the Project's Namespace (`{team: platform}`).
    #[serde(default)]
    pub namespace_labels: BTreeMap<String, String>,
    /// This directory's path in its repository, as Warehouses watch it
    /// (default: the directory's name, like `image-factory/`).
    pub enrollment_path: Option<String>,
    /// How often Warehouses poll.
    #[serde(default)]
    pub intervals: IntervalsFile,
    /// The analysis Job, which runs `imgf analyze` in the cluster.
    #[serde(default)]
    pub analysis: AnalysisFile,
    /// GitHub's hosts and the Secret with the token rebuilds dispatch with.
    #[serde(default)]
    pub github: GithubFile,
    /// GitLab's host and the Secret with the pipeline trigger token.
    #[serde(default)]
    pub gitlab: GitlabFile,
    /// Defaults of the Backstage catalog (`synth --target backstage`).
    #[serde(default)]
    pub backstage: BackstageFile,
    /// The Flux output (`synth --target flux`).
    #[serde(default)]
    pub flux: FluxFile,
    /// Gates on new base digests (scanner, signatures) and the CVE fast path.
    pub security: Option<SecurityFile>,
    /// Messages on rebuild dispatch, failure and emergency (Kargo `http` steps).
    #[serde(default)]
    pub notifications: Vec<NotificationFile>,
    /// Kargo's controller shards.
    #[serde(default)]
    pub kargo: KargoFile,
    /// How Warehouses learn of new images and commits: webhook receivers and
    /// per-registry poll budgets.
    #[serde(default)]
    pub discovery: DiscoveryFile,
}

/// `kargo:`: the Kargo installation the output is applied to.
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct KargoFile {
    /// The controller shards (each Kargo controller's `controller.shardName`)
    /// that Warehouses and Stages are spread over (`[eu-west, us-east]`).
    /// Every Warehouse and Stage gets `spec.shard`; an object on a shard no
    /// controller runs is never reconciled.
    #[serde(default)]
    pub shards: Vec<String>,
}

/// `discovery:`: webhook receivers and poll budgets.
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct DiscoveryFile {
    /// Kargo webhook receivers to generate in the ProjectConfig: `github`,
    /// `gitlab`, `dockerhub`, `quay`. The Warehouses they serve poll only as
    /// a fallback (every 6 to 12 hours).
    #[serde(default)]
    pub webhooks: Vec<String>,
    /// Poll budgets by registry host (`docker.io`, `ghcr.io`) or git host
    /// (`github.com`): `{docker.io: {pollsPerHour: 400}}`.
    #[serde(default)]
    pub registries: BTreeMap<String, RegistryFile>,
}

/// One registry's budget.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RegistryFile {
    /// The most Warehouse discoveries per hour, summed over the Warehouses
    /// that poll this host (one discovery lists tags and reads new manifests).
    pub polls_per_hour: u32,
}

/// A Kargo webhook receiver type imgf generates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Webhook {
    Github,
    Gitlab,
    Dockerhub,
    Quay,
}

impl Webhook {
    /// The receiver's type key, and its name in the ProjectConfig (fixed
    /// forever: renaming a receiver changes its URL).
    pub fn as_str(self) -> &'static str {
        match self {
            Webhook::Github => "github",
            Webhook::Gitlab => "gitlab",
            Webhook::Dockerhub => "dockerhub",
            Webhook::Quay => "quay",
        }
    }

    /// The Secret the receiver reads (imgf never writes it).
    pub fn secret_name(self) -> String {
        format!("imgf-webhook-{}", self.as_str())
    }

    /// The key of that Secret Kargo v1.11 reads
    /// (`pkg/webhook/external/{github,gitlab,dockerhub,quay}.go`).
    pub fn secret_key(self) -> &'static str {
        match self {
            Webhook::Gitlab => "secret-token",
            _ => "secret",
        }
    }

    fn parse(s: &str) -> Result<Webhook, String> {
        match s {
            "github" => Ok(Webhook::Github),
            "gitlab" => Ok(Webhook::Gitlab),
            "dockerhub" => Ok(Webhook::Dockerhub),
            "quay" => Ok(Webhook::Quay),
            "harbor" | "artifactory" | "azure" | "gitea" | "bitbucket" | "generic" => Err(format!(
                "imgf cannot tell which Warehouses a `{s}` receiver serves (its host is yours to name), so it does not generate one yet"
            )),
            _ => Err("not a webhook receiver imgf generates".into()),
        }
    }
}

/// What `discovery:` resolves to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Discovery {
    /// Receivers, each once, in the order written.
    pub webhooks: Vec<Webhook>,
    /// Polls per hour by host (`index.docker.io` written as `docker.io`).
    pub budgets: BTreeMap<String, u32>,
}

impl Discovery {
    pub fn has(&self, w: Webhook) -> bool {
        self.webhooks.contains(&w)
    }
}

/// `backstage:`: what the catalog entities carry when images.yaml says
/// nothing (the entity schemas require an owner and a lifecycle).
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct BackstageFile {
    /// The owner of managed images (default `platform-team`).
    pub owner: Option<String>,
    /// The system every image belongs to (default `image-factory`).
    pub system: Option<String>,
    /// The lifecycle of managed images (default `production`).
    pub lifecycle: Option<String>,
    /// The owner of upstream (base and external) images (default `upstream`).
    pub base_owner: Option<String>,
}

/// `flux:` — read only by `imgf synth --target flux`.
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct FluxFile {
    /// The namespace of every Flux object (default `flux-system`).
    pub namespace: Option<String>,
    /// GitRepositories already in the cluster, by the repository they clone
    /// (`owner/name` or an https URL): `{example-org/deploy: flux-system}`.
    /// Other target repositories get a generated GitRepository.
    #[serde(default)]
    pub git_repositories: BTreeMap<String, String>,
    /// The Secret with git credentials for generated GitRepositories.
    pub git_secret: Option<String>,
    /// The dockerconfigjson Secret ImageRepositories pull with.
    pub registry_secret: Option<String>,
    /// Registries served over plain HTTP (`registry.local:5000`).
    #[serde(default)]
    pub insecure_registries: Vec<String>,
    /// The commit author (default `imgf` <imgf@users.noreply.github.com>).
    pub author: Option<FluxAuthor>,
}

#[derive(Debug, Clone, Deserialize, PartialEq, Eq, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FluxAuthor {
    /// The author's name.
    pub name: String,
    /// The author's email address.
    pub email: String,
}

#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct IntervalsFile {
    /// How often the Warehouses of managed images poll (default `5m`).
    pub managed: Option<String>,
    /// How often the Warehouses of base and external images poll (default
    /// `24h`, which spares public registries' rate limits).
    pub base: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AnalysisFile {
    /// The image that runs `imgf analyze` (`--analysis-image` overrides it;
    /// without either, a placeholder, with a warning).
    pub image: Option<String>,
    /// The Job's ServiceAccount (default `image-factory`).
    pub service_account: Option<String>,
    /// Secrets to pull the analysis image with.
    #[serde(default)]
    pub image_pull_secrets: Vec<String>,
    /// The repository the Job commits state to (an https URL).
    #[serde(rename = "stateRepoURL")]
    pub state_repo_url: Option<String>,
    /// Its branch (default `main`).
    pub state_branch: Option<String>,
    /// The generated manifests, relative to the state repository's root: the
    /// Job regenerates and commits them with the state.
    pub output: Option<String>,
    /// The Backstage catalog, likewise (e.g. `dist/catalog-info.yaml`);
    /// without it the Job leaves the catalog alone.
    pub catalog_output: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct GithubFile {
    /// The API (default `https://api.github.com`; GitHub Enterprise:
    /// `https://HOST/api/v3`).
    #[serde(rename = "apiURL")]
    pub api_url: Option<String>,
    /// The web host, for clone URLs (default `https://github.com`).
    #[serde(rename = "webURL")]
    pub web_url: Option<String>,
    /// The token rebuilds dispatch workflows with (default
    /// `{name: github-workflow-token, key: token}`).
    pub token_secret: Option<SecretRef>,
}

#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct GitlabFile {
    /// The host (default `https://gitlab.com`; self-managed: yours).
    pub url: Option<String>,
    /// The pipeline trigger token (default
    /// `{name: gitlab-trigger-token, key: token}`).
    pub token_secret: Option<SecretRef>,
}

/// A key in a Secret of the project namespace.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SecretRef {
    /// The Secret's name.
    pub name: String,
    /// The key in it.
    pub key: String,
}

/// Command-line overrides (they win over the file).
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub project: Option<String>,
    pub analysis_image: Option<String>,
}

/// Resolved settings: every value present and checked, in sections — what
/// every target shares, and a section per target that only it reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// The directory of images.yaml inside the repository that holds it.
    pub enrollment_path: String,
    /// How often registries and repositories are polled.
    pub intervals: Intervals,
    /// Where analysis records state (and the regenerated manifests).
    pub state_repo: StateRepo,
    /// The source-code hosts: API and web addresses, and the Secrets that
    /// hold their tokens.
    pub providers: Providers,
    /// The Kargo target's own settings.
    pub kargo: KargoSettings,
    /// The Backstage target's own settings.
    pub backstage: BackstageSettings,
    /// The Flux target's own settings.
    pub flux: FluxSettings,
    /// `security:` when set (it needs a state repository).
    pub security: Option<SecuritySettings>,
    /// `notifications:`, in the order written.
    pub notifications: Vec<Notification>,
    /// `discovery:`: webhook receivers and poll budgets.
    pub discovery: Discovery,
}

/// What only the Backstage target reads: defaults for the entities' owner,
/// system and lifecycle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackstageSettings {
    pub owner: String,
    pub system: String,
    pub lifecycle: String,
    pub base_owner: String,
}

impl FluxSettings {
    /// The existing GitRepository that clones `url`, if settings name one
    /// (by its URL, or by its path on the host).
    pub fn existing_git_repository(&self, url: &str) -> Option<&str> {
        let url = normalize_git_url(url);
        self.git_repositories
            .iter()
            .find(|(k, _)| *k == url || url.ends_with(&format!("/{k}")))
            .map(|(_, n)| n.as_str())
    }
}

/// What only the Flux target reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FluxSettings {
    pub namespace: String,
    /// Existing GitRepositories: (normalised https URL or `owner/name`
    /// path on any host, name); see [`FluxSettings::existing_git_repository`].
    pub git_repositories: Vec<(String, String)>,
    pub git_secret: Option<String>,
    pub registry_secret: Option<String>,
    pub insecure_registries: Vec<String>,
    pub author_name: String,
    pub author_email: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Intervals {
    /// Managed images' registries and source repositories.
    pub managed: String,
    /// Upstream images (a minimum: each gets a stable stagger on top).
    pub base: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateRepo {
    /// The https URL of the repository holding the enrollment directory.
    pub url: Option<String>,
    pub branch: String,
    /// The manifests' path in that repository (`analysis.output`).
    pub output: String,
    /// The catalog's path there, when the Job regenerates it too
    /// (`analysis.catalogOutput`).
    pub catalog_output: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Providers {
    pub github_api: String,
    pub github_web: String,
    pub github_token: SecretRef,
    pub gitlab_url: String,
    pub gitlab_token: SecretRef,
}

impl Providers {
    /// The web address of `provider` (clone URLs are `<web>/<repo>.git`).
    pub fn web(&self, provider: Provider) -> &str {
        match provider {
            Provider::Github => &self.github_web,
            Provider::Gitlab => &self.gitlab_url,
        }
    }

    /// The https clone URL of a source repository.
    pub fn clone_url(&self, provider: Provider, repo: &str) -> String {
        format!("{}/{repo}.git", self.web(provider))
    }

    /// The endpoint that starts a build: GitHub's `workflow_dispatch` or
    /// GitLab's pipeline trigger (`workflow` is GitHub's file name or id).
    pub fn dispatch_url(&self, provider: Provider, repo: &str, workflow: &str) -> String {
        match provider {
            Provider::Github => format!(
                "{}/repos/{repo}/actions/workflows/{workflow}/dispatches",
                self.github_api
            ),
            Provider::Gitlab => format!(
                "{}/api/v4/projects/{}/trigger/pipeline",
                self.gitlab_url,
                repo.replace('/', "%2F")
            ),
        }
    }
}

/// What only the Kargo target reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KargoSettings {
    /// The Kargo Project and the Namespace it owns.
    pub project: String,
    pub namespace_labels: BTreeMap<String, String>,
    /// The image the analysis Job runs.
    pub analysis_image: String,
    /// Whether `analysis_image` is the built-in placeholder.
    pub analysis_image_is_default: bool,
    pub service_account: String,
    pub image_pull_secrets: Vec<String>,
    /// `kargo.shards`, in the order written (empty: no `spec.shard`).
    pub shards: Vec<String>,
}

impl Settings {
    /// The defaults, for a project directory named `dir_name`.
    pub fn defaults(dir_name: &str) -> Settings {
        Settings {
            enrollment_path: format!("{}/", dir_name.trim_end_matches('/')),
            intervals: Intervals {
                managed: "5m".into(),
                base: "24h".into(),
            },
            state_repo: StateRepo {
                url: None,
                branch: "main".into(),
                output: DEFAULT_OUTPUT.into(),
                catalog_output: None,
            },
            providers: Providers {
                github_api: "https://api.github.com".into(),
                github_web: "https://github.com".into(),
                github_token: SecretRef {
                    name: "github-workflow-token".into(),
                    key: "token".into(),
                },
                gitlab_url: "https://gitlab.com".into(),
                gitlab_token: SecretRef {
                    name: "gitlab-trigger-token".into(),
                    key: "token".into(),
                },
            },
            kargo: KargoSettings {
                project: "image-factory".into(),
                namespace_labels: BTreeMap::new(),
                analysis_image: format!("imgf:{}", env!("CARGO_PKG_VERSION")),
                analysis_image_is_default: true,
                service_account: "image-factory".into(),
                image_pull_secrets: Vec::new(),
                shards: Vec::new(),
            },
            backstage: BackstageSettings {
                owner: "platform-team".into(),
                system: "image-factory".into(),
                lifecycle: "production".into(),
                base_owner: "upstream".into(),
            },
            flux: FluxSettings {
                namespace: "flux-system".into(),
                git_repositories: Vec::new(),
                git_secret: None,
                registry_secret: None,
                insecure_registries: Vec::new(),
                author_name: "imgf".into(),
                author_email: "imgf@users.noreply.github.com".into(),
            },
            security: None,
            notifications: Vec::new(),
            discovery: Discovery::default(),
        }
    }

    /// Applies the file and the overrides to the defaults, checking every
    /// value; `text` is the file's source, for positions in errors.
    pub fn resolve(
        dir_name: &str,
        file: SettingsFile,
        overrides: &Overrides,
        path: &Path,
        text: &str,
    ) -> Result<Settings, Vec<Diagnostic>> {
        let loc = Locator::new(text);
        let mut s = Settings::defaults(dir_name);
        let mut errors = Vec::new();
        let mut label_errors = Vec::new();
        // `key` is a dotted settings key, pointed at on its own line; or a
        // command-line flag (`--project`) when the value came from one.
        let mut check = |key: &str, value: &str, rule: fn(&str) -> Result<(), String>| {
            if let Err(why) = rule(value) {
                let value = value.escape_debug();
                errors.push(if key.starts_with("--") {
                    Diagnostic::error(format!("invalid {key} `{value}`: {why}"))
                        .help(format!("pass a valid value to {key}"))
                } else {
                    Diagnostic::error(format!("settings: invalid {key} `{value}`: {why}"))
                        .in_file(path)
                        .at(loc.path_key(key))
                        .with_source(text)
                });
            }
        };
        let project = match overrides.project.clone() {
            Some(p) => Some(("--project", p)),
            None => file.project.map(|p| ("project", p)),
        };
        if let Some((key, p)) = project {
            check(key, &p, |v| {
                if crate::names::is_dns1123_label(v) {
                    Ok(())
                } else {
                    Err("a project name becomes a Namespace: lowercase letters, digits and `-`, at most 63".into())
                }
            });
            s.kargo.project = p;
        }
        for (k, v) in &file.namespace_labels {
            if let Err(why) = values::label(k, v) {
                label_errors.push(
                    Diagnostic::error(format!("settings: namespaceLabels: {why}"))
                        .in_file(path)
                        .at(loc.top_key("namespaceLabels")),
                );
            }
        }
        s.kargo.namespace_labels = file.namespace_labels;
        if let Some(p) = file.enrollment_path {
            check("enrollmentPath", &p, values::repo_path);
            s.enrollment_path = if p.ends_with('/') { p } else { format!("{p}/") };
        }
        if let Some(v) = file.intervals.managed {
            check("intervals.managed", &v, values::interval);
            s.intervals.managed = v;
        }
        if let Some(v) = file.intervals.base {
            check("intervals.base", &v, values::interval);
            s.intervals.base = v;
        }
        let analysis_image = match overrides.analysis_image.clone() {
            Some(i) => Some(("--analysis-image", i)),
            None => file.analysis.image.map(|i| ("analysis.image", i)),
        };
        if let Some((key, img)) = analysis_image {
            check(key, &img, values::container_image);
            s.kargo.analysis_image = img;
            s.kargo.analysis_image_is_default = false;
        }
        if let Some(sa) = file.analysis.service_account {
            check("analysis.serviceAccount", &sa, values::object_name);
            s.kargo.service_account = sa;
        }
        for p in &file.analysis.image_pull_secrets {
            check("analysis.imagePullSecrets", p, values::object_name);
        }
        s.kargo.image_pull_secrets = file.analysis.image_pull_secrets;
        if let Some(u) = file.analysis.state_repo_url {
            check("analysis.stateRepoURL", &u, values::https_url);
            s.state_repo.url = Some(u);
        }
        if let Some(b) = file.analysis.state_branch {
            check("analysis.stateBranch", &b, values::branch);
            s.state_repo.branch = b;
        }
        if let Some(o) = file.analysis.output {
            check("analysis.output", &o, values::repo_path);
            s.state_repo.output = o;
        }
        if let Some(o) = file.analysis.catalog_output {
            check("analysis.catalogOutput", &o, values::repo_path);
            s.state_repo.catalog_output = Some(o);
        }
        if let Some(u) = file.github.api_url {
            check("github.apiURL", &u, values::https_url);
            s.providers.github_api = u.trim_end_matches('/').to_string();
        }
        if let Some(u) = file.github.web_url {
            check("github.webURL", &u, values::https_url);
            s.providers.github_web = u.trim_end_matches('/').to_string();
        }
        if let Some(t) = file.github.token_secret {
            check("github.tokenSecret.name", &t.name, values::object_name);
            check("github.tokenSecret.key", &t.key, values::secret_key);
            s.providers.github_token = t;
        }
        if let Some(u) = file.gitlab.url {
            check("gitlab.url", &u, values::https_url);
            s.providers.gitlab_url = u.trim_end_matches('/').to_string();
        }
        if let Some(t) = file.gitlab.token_secret {
            check("gitlab.tokenSecret.name", &t.name, values::object_name);
            check("gitlab.tokenSecret.key", &t.key, values::secret_key);
            s.providers.gitlab_token = t;
        }
        let b = file.backstage;
        for (key, value, slot, rule) in [
            (
                "backstage.owner",
                b.owner,
                &mut s.backstage.owner,
                values::entity_ref as fn(&str) -> Result<(), String>,
            ),
            (
                "backstage.system",
                b.system,
                &mut s.backstage.system,
                values::entity_ref,
            ),
            (
                "backstage.lifecycle",
                b.lifecycle,
                &mut s.backstage.lifecycle,
                values::lifecycle,
            ),
            (
                "backstage.baseOwner",
                b.base_owner,
                &mut s.backstage.base_owner,
                values::entity_ref,
            ),
        ] {
            if let Some(v) = value {
                check(key, &v, rule);
                *slot = v;
            }
        }
        if let Some(ns) = file.flux.namespace {
            check("flux.namespace", &ns, |v| {
                if crate::names::is_dns1123_label(v) {
                    Ok(())
                } else {
                    Err("a namespace: lowercase letters, digits and `-`, at most 63".into())
                }
            });
            s.flux.namespace = ns;
        }
        for (repo, name) in &file.flux.git_repositories {
            check("flux.gitRepositories", name, values::object_name);
            if repo.starts_with("https://") {
                check("flux.gitRepositories", repo, values::https_url);
            } else {
                check("flux.gitRepositories", repo, |v| {
                    values::source_repo(v, true)
                });
            }
            s.flux
                .git_repositories
                .push((normalize_git_url(repo), name.clone()));
        }
        if let Some(n) = file.flux.git_secret {
            check("flux.gitSecret", &n, values::object_name);
            s.flux.git_secret = Some(n);
        }
        if let Some(n) = file.flux.registry_secret {
            check("flux.registrySecret", &n, values::object_name);
            s.flux.registry_secret = Some(n);
        }
        for r in &file.flux.insecure_registries {
            check("flux.insecureRegistries", r, values::registry);
        }
        s.flux.insecure_registries = file.flux.insecure_registries;
        if let Some(a) = file.flux.author {
            check("flux.author.name", &a.name, values::commit_author);
            check("flux.author.email", &a.email, values::email);
            s.flux.author_name = a.name;
            s.flux.author_email = a.email;
        }
        let at = |key: &str, value: &str| loc.value_under(key, value);
        let mut security_errors = Vec::new();
        let mut fail = |key: &str, value: &str, why: String, fix: &str| {
            security_errors.push(
                Diagnostic::error(format!(
                    "settings: invalid {key} `{}`: {why}",
                    value.escape_debug()
                ))
                .in_file(path)
                .at(at(key.split('[').next().unwrap_or(key), value))
                .with_source(text)
                .help(fix.to_string()),
            );
        };
        if let Some(sec) = file.security {
            s.security = Some(resolve_security(sec, &mut fail));
            if s.state_repo.url.is_none() {
                label_errors.push(
                    Diagnostic::error("settings: `security` needs `analysis.stateRepoURL`: the gates compare each new base digest with the scans recorded in the state repository, and record their own")
                        .in_file(path)
                        .at(loc.top_key("security"))
                        .with_source(text)
                        .help("set `analysis.stateRepoURL` to the https URL of the repository that holds this directory"),
                );
            }
        }
        s.notifications = resolve_notifications(file.notifications, &mut fail);
        s.kargo.shards = resolve_shards(file.kargo.shards, &mut fail);
        s.discovery = resolve_discovery(file.discovery, &mut fail);
        errors.extend(label_errors);
        errors.extend(security_errors);
        if errors.is_empty() {
            Ok(s)
        } else {
            Err(errors)
        }
    }
}

/// `security:` checked; each problem goes to `fail(key, value, why, fix)`.
fn resolve_security(
    sec: SecurityFile,
    fail: &mut impl FnMut(&str, &str, String, &str),
) -> SecuritySettings {
    use crate::config::security::{job_value, repo_pattern};
    let mut check = |key: &str, v: &str, rule: fn(&str) -> Result<(), String>, fix: &str| {
        if let Err(why) = rule(v) {
            fail(key, v, why, fix);
        }
    };
    let scanner = sec.scanner.map(|sc| {
        check(
            "security.scanner.image",
            &sc.image,
            values::pinned_image,
            "pin the scanner image by tag or digest, like `aquasec/trivy:0.58.1`",
        );
        if let Some(db) = &sc.db_repository {
            check(
                "security.scanner.dbRepository",
                db,
                values::container_image,
                "name the mirror of Trivy's database like `ghcr.io/aquasecurity/trivy-db:2`",
            );
        }
        Scanner {
            image: sc.image,
            fail_on: sc.fail_on,
            db_repository: sc.db_repository,
        }
    });
    let cosign_image = match sec.cosign_image {
        Some(i) => {
            check(
                "security.cosignImage",
                &i,
                values::pinned_image,
                "pin the cosign image by tag or digest, like `ghcr.io/sigstore/cosign/cosign:v2.4.1`",
            );
            i
        }
        None => DEFAULT_COSIGN_IMAGE.to_string(),
    };
    let mut signatures = Vec::new();
    for (i, r) in sec.signatures.into_iter().enumerate() {
        check(
            &format!("security.signatures[{i}].match"),
            &r.pattern,
            repo_pattern,
            "write the repository as `registry/path`, with `*` for one path segment or `**` for any",
        );
        check(
            &format!("security.signatures[{i}].identity"),
            &r.identity,
            job_value,
            "write the certificate identity cosign expects, like `keyless@distroless.iam.gserviceaccount.com`",
        );
        check(
            &format!("security.signatures[{i}].issuer"),
            &r.issuer,
            values::https_url,
            "write the OIDC issuer's https URL, like `https://accounts.google.com`",
        );
        signatures.push(SignatureRule {
            pattern: r.pattern,
            identity: r.identity,
            issuer: r.issuer,
        });
    }
    if sec.cve_fast_path && scanner.is_none() {
        fail(
            "security.cveFastPath",
            "true",
            "the fast path proves a fix from the scanner's reports, and no `security.scanner` is set".into(),
            "set `security.scanner` (or remove `cveFastPath`)",
        );
    }
    SecuritySettings {
        scanner,
        signatures,
        cve_fast_path: sec.cve_fast_path,
        cosign_image,
    }
}

/// `notifications:` checked; each problem goes to `fail(key, value, why, fix)`.
fn resolve_notifications(
    list: Vec<NotificationFile>,
    fail: &mut impl FnMut(&str, &str, String, &str),
) -> Vec<Notification> {
    let mut out: Vec<Notification> = Vec::new();
    for (i, n) in list.into_iter().enumerate() {
        let key = |k: &str| format!("notifications[{i}].{k}");
        if !crate::names::is_dns1123_label(&n.name) || n.name.len() > 40 {
            fail(
                &key("name"),
                &n.name,
                "a notification name names promotion steps: lowercase letters, digits and `-`, at most 40".into(),
                "rename it, like `platform`",
            );
        } else if out.iter().any(|o| o.name == n.name) {
            fail(
                &key("name"),
                &n.name,
                "another notification has this name".into(),
                "give each notification its own name",
            );
        }
        if let Err(why) = values::object_name(&n.webhook_secret.name) {
            fail(
                &key("webhookSecret.name"),
                &n.webhook_secret.name,
                why,
                "name the Secret in the project namespace that holds the webhook URL",
            );
        }
        if let Err(why) = values::secret_key(&n.webhook_secret.key) {
            fail(
                &key("webhookSecret.key"),
                &n.webhook_secret.key,
                why,
                "name the key of that Secret that holds the URL, like `url`",
            );
        }
        let mut on = Vec::new();
        for e in &n.on {
            if on.contains(e) {
                fail(
                    &key("on"),
                    e.as_str(),
                    "it is listed twice".into(),
                    "list each event once",
                );
            } else {
                on.push(*e);
            }
        }
        if on.is_empty() {
            fail(
                &key("on"),
                &n.name,
                "no event is listed, so nothing would be sent".into(),
                "list at least one of rebuild, failure, emergency",
            );
        }
        out.push(Notification {
            name: n.name,
            kind: n.kind,
            secret: n.webhook_secret,
            on,
        });
    }
    out
}

/// `kargo.shards` checked: each becomes the label `kargo.akuity.io/shard`
/// (Kargo's webhooks copy `spec.shard` into it), so each must be a label value.
fn resolve_shards(
    list: Vec<String>,
    fail: &mut impl FnMut(&str, &str, String, &str),
) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for s in list {
        if s.is_empty() || !crate::names::is_valid_label_value(&s) {
            fail(
                "kargo.shards",
                &s,
                "a shard name becomes the label `kargo.akuity.io/shard`: letters, digits, `-`, `_` and `.`, starting and ending with a letter or digit, at most 63".into(),
                "write the `controller.shardName` of a Kargo controller, like `eu-west`",
            );
        } else if out.contains(&s) {
            fail(
                "kargo.shards",
                &s,
                "it is listed twice".into(),
                "list each shard once",
            );
        } else {
            out.push(s);
        }
    }
    out
}

/// `discovery:` checked.
fn resolve_discovery(
    d: DiscoveryFile,
    fail: &mut impl FnMut(&str, &str, String, &str),
) -> Discovery {
    let mut out = Discovery::default();
    for w in &d.webhooks {
        match Webhook::parse(w) {
            Ok(k) if out.webhooks.contains(&k) => fail(
                "discovery.webhooks",
                w,
                "it is listed twice".into(),
                "list each receiver once",
            ),
            Ok(k) => out.webhooks.push(k),
            Err(why) => fail(
                "discovery.webhooks",
                w,
                why,
                "list some of github, gitlab, dockerhub, quay",
            ),
        }
    }
    for (host, r) in d.registries {
        if let Err(why) = values::registry(&host) {
            fail(
                "discovery.registries",
                &host,
                why,
                "name a registry or git host, like `docker.io` or `github.com`",
            );
            continue;
        }
        let key = registry_host(&host).to_string();
        if r.polls_per_hour == 0 {
            fail(
                "discovery.registries",
                &host,
                "`pollsPerHour: 0` would never poll, and Warehouses cannot be told not to".into(),
                "set `pollsPerHour` to 1 or more, or remove this registry",
            );
            continue;
        }
        match out.budgets.entry(key) {
            std::collections::btree_map::Entry::Occupied(e) => fail(
                "discovery.registries",
                &host,
                format!("`{}` has a budget already", e.key()),
                "write each registry once (`index.docker.io` is `docker.io`)",
            ),
            std::collections::btree_map::Entry::Vacant(e) => {
                e.insert(r.polls_per_hour);
            }
        }
    }
    out
}

/// A registry host as Kargo normalises image URLs
/// (`pkg/urls/image.go`): `index.docker.io` and `registry-1.docker.io` are `docker.io`.
pub fn registry_host(host: &str) -> &str {
    if DOCKER_HUB_ALIASES.contains(&host) {
        "docker.io"
    } else {
        host
    }
}

/// The other names of `docker.io` that [`registry_host`] normalises.
pub const DOCKER_HUB_ALIASES: [&str; 3] = [
    "index.docker.io",
    "registry-1.docker.io",
    "registry.hub.docker.com",
];

/// Git URLs compared as Git hosts do: lowercase, no trailing `/` or `.git`.
pub fn normalize_git_url(u: &str) -> String {
    u.to_ascii_lowercase()
        .trim_end_matches('/')
        .trim_end_matches(".git")
        .to_string()
}
