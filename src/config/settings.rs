//! Settings that differ between organisations: the Kargo project, the
//! analysis Job, where tokens live, API hosts, intervals.
//!
//! They come from an optional `settings.yaml` beside images.yaml, then from
//! command-line overrides; everything has a default, and nothing names a
//! particular user, organisation or repository.
//!
//! The sections only one target reads live with that target, in
//! `targets/<target>/settings.rs` (`kargo:` and `discovery:`, `flux:`,
//! `backstage:`): their types as written and resolved, their defaults and
//! checks. This module reads the file and resolves the shared sections, and
//! calls theirs in the order the keys are checked, so errors come out in
//! one order.

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
use crate::targets::backstage::settings::{BackstageFile, BackstageSettings};
use crate::targets::flux::settings::{FluxFile, FluxSettings};
use crate::targets::kargo::settings::{
    resolve_discovery, resolve_shards, Discovery, DiscoveryFile, KargoFile, KargoSettings,
};
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
            kargo: KargoSettings::defaults(),
            backstage: BackstageSettings::defaults(),
            flux: FluxSettings::defaults(),
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
        crate::targets::backstage::settings::resolve(file.backstage, &mut s.backstage, &mut check);
        crate::targets::flux::settings::resolve(file.flux, &mut s.flux, &mut check);
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
