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
    pub project: Option<String>,
    #[serde(default)]
    pub namespace_labels: BTreeMap<String, String>,
    pub enrollment_path: Option<String>,
    #[serde(default)]
    pub intervals: IntervalsFile,
    #[serde(default)]
    pub analysis: AnalysisFile,
    #[serde(default)]
    pub github: GithubFile,
    #[serde(default)]
    pub gitlab: GitlabFile,
    #[serde(default)]
    pub backstage: BackstageFile,
    #[serde(default)]
    pub flux: FluxFile,
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
    pub name: String,
    pub email: String,
}

#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct IntervalsFile {
    pub managed: Option<String>,
    pub base: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AnalysisFile {
    pub image: Option<String>,
    pub service_account: Option<String>,
    #[serde(default)]
    pub image_pull_secrets: Vec<String>,
    #[serde(rename = "stateRepoURL")]
    pub state_repo_url: Option<String>,
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
    #[serde(rename = "apiURL")]
    pub api_url: Option<String>,
    #[serde(rename = "webURL")]
    pub web_url: Option<String>,
    pub token_secret: Option<SecretRef>,
}

#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct GitlabFile {
    pub url: Option<String>,
    pub token_secret: Option<SecretRef>,
}

/// A key in a Secret of the project namespace.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SecretRef {
    pub name: String,
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
        errors.extend(label_errors);
        if errors.is_empty() {
            Ok(s)
        } else {
            Err(errors)
        }
    }
}

/// Git URLs compared as Git hosts do: lowercase, no trailing `/` or `.git`.
pub fn normalize_git_url(u: &str) -> String {
    u.to_ascii_lowercase()
        .trim_end_matches('/')
        .trim_end_matches(".git")
        .to_string()
}
