//! `images.yaml`: the images a team enrolls. The source of truth for
//! enrollment; anything here wins over what a state file says.
//!
//! Parsing is strict (an unknown key is an error with a suggestion), and
//! [`validate`] checks every value against [`crate::values`] before anything
//! is built from it.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;

use serde::Deserialize;

use crate::config::parse::Locator;
use crate::diagnostic::Diagnostic;
use crate::values;

/// One entry of images.yaml.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Enrollment {
    /// The image's name: a DNS-1123 label, used for its Warehouse and Stages.
    pub name: String,
    /// The registry host, like `ghcr.io` or `registry.local:5000`.
    pub registry: String,
    /// The path inside the registry, like `org/app`.
    pub repository: String,
    /// Where the image is built. Without it the image is *external*: watched
    /// upstream, never rebuilt.
    #[serde(default)]
    pub source: Option<Source>,
    /// How long a new base-image digest must have been out before it may
    /// trigger a rebuild (`7d`, `36h`, `0`).
    #[serde(default)]
    pub rebuild_delay: Option<String>,
    /// Whether rebuilds are promoted automatically (default true).
    #[serde(default)]
    pub auto_rebuild: Option<bool>,
    /// Where the built image is deployed: each gets an update Stage.
    #[serde(default)]
    pub updates: Vec<Update>,
    /// External images: the tag to watch.
    #[serde(default)]
    pub tag: Option<String>,
    /// Backstage: the entity reference of the image's owner (default: the
    /// settings' `backstage.owner`, or `backstage.baseOwner` for an external image).
    #[serde(default)]
    pub owner: Option<String>,
    /// Backstage: the system the image belongs to (default `backstage.system`).
    #[serde(default)]
    pub system: Option<String>,
    /// Backstage: the image's lifecycle, like `production` or `experimental`
    /// (default `backstage.lifecycle`).
    #[serde(default)]
    pub lifecycle: Option<String>,
    /// External images, old tool's form: a regex of the tag to watch.
    #[serde(default)]
    pub allow_tags: Option<String>,
    /// External images: how Kargo picks among matching tags.
    #[serde(default)]
    pub image_selection_strategy: Option<String>,
    /// Managed images: the semver range of tags to deploy (`">=1.0.0 <2"`).
    #[serde(default)]
    pub versions: Option<String>,
    /// Managed images with build-id tags: a regex of the tags, whose first
    /// named group is a number that orders them
    /// (`'^main-[a-f0-9]+-(?P<ts>[0-9]+)$'`).
    #[serde(default)]
    pub tag_pattern: Option<String>,
}

/// Where and how a managed image is built.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Source {
    #[serde(default)]
    pub provider: Option<Provider>,
    /// `owner/name` (GitHub) or `group/…/project` (GitLab).
    pub repo: String,
    /// The branch built and watched (default `main`).
    #[serde(default)]
    pub branch: Option<String>,
    /// The Dockerfile's path from the repository root.
    pub dockerfile: String,
    /// GitHub: the workflow file (or id) to dispatch.
    #[serde(default)]
    pub workflow: Option<String>,
    /// Build arguments for resolving `ARG`s in `FROM` lines (analyze).
    #[serde(default)]
    pub build_args: BTreeMap<String, String>,
    /// Which context inputs a rebuild dispatch sends (default: all of them).
    #[serde(default)]
    pub inputs: Option<Vec<String>>,
    /// The `version_bump` input sent with a rebuild (default `patch`).
    #[serde(default)]
    pub version_bump: Option<String>,
}

#[derive(
    Debug, Clone, Copy, Deserialize, PartialEq, Eq, PartialOrd, Ord, Hash, schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Provider {
    Github,
    Gitlab,
}

impl Provider {
    pub fn as_str(self) -> &'static str {
        match self {
            Provider::Github => "github",
            Provider::Gitlab => "gitlab",
        }
    }
}

/// A place that deploys the image: a file or kustomization in a git
/// repository that a Stage updates to each new build (`update-<image>-<name>`).
#[derive(Debug, Clone, Deserialize, PartialEq, Eq, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Update {
    /// Names the Stage `update-<image>-<name>` (a DNS-1123 label). Default:
    /// the last segment of `path`, without its extension.
    #[serde(default)]
    pub name: Option<String>,
    /// `owner/name` on the image's provider (or `provider:`), or a full https URL.
    pub repo: String,
    /// The branch updated (default `main`).
    #[serde(default)]
    pub branch: Option<String>,
    /// A kustomization directory (`kustomize-set-image`) or a YAML file
    /// (`yaml-update`), from the repository root.
    pub path: String,
    /// How the path is updated.
    #[serde(rename = "type")]
    pub kind: UpdateKind,
    /// `yaml-update`: the key to set, dot-separated (`image.tag`,
    /// `spec.template.spec.containers.0.image`). It must already exist.
    #[serde(default)]
    pub key: Option<String>,
    /// What is written (default `tag`).
    #[serde(default)]
    pub value: Option<UpdateValue>,
    /// Only Freight that passed this other update of the same image.
    #[serde(default)]
    pub after: Option<String>,
    /// With `after`: how long the Freight must have passed it (`24h`).
    #[serde(default)]
    pub soak: Option<String>,
    /// Push to a generated branch, open a pull request and wait for its merge.
    #[serde(default)]
    pub pull_request: Option<bool>,
    /// The Argo CD Application to sync and wait for.
    #[serde(default)]
    pub argocd: Option<ArgoCd>,
    /// Checks run after the update; only verified Freight moves on.
    #[serde(default)]
    pub verify: Vec<Verify>,
    /// Whether new builds are promoted automatically (default true).
    #[serde(default)]
    pub auto_promote: Option<bool>,
    /// The git host of `repo` (default: the image's source provider).
    #[serde(default)]
    pub provider: Option<Provider>,
    /// The Kargo controller shard (one of settings' `kargo.shards`) whose
    /// cluster runs this update's Argo CD: its Stage, and so its
    /// Promotions, run there.
    #[serde(default)]
    pub shard: Option<String>,
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum UpdateKind {
    KustomizeSetImage,
    YamlUpdate,
    /// Kargo removed `helm-update-image`; it is a `yaml-update` of a values file.
    HelmUpdateImage,
}

/// What an update writes.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum UpdateValue {
    /// The tag: `1.4.2`.
    Tag,
    /// The digest: `sha256:…`.
    Digest,
    /// `registry/repository:tag`.
    Reference,
    /// `registry/repository:tag@digest`.
    Pinned,
}

impl UpdateValue {
    pub fn as_str(self) -> &'static str {
        match self {
            UpdateValue::Tag => "tag",
            UpdateValue::Digest => "digest",
            UpdateValue::Reference => "reference",
            UpdateValue::Pinned => "pinned",
        }
    }
}

/// An Argo CD Application synced after the update.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ArgoCd {
    /// The Application's name.
    pub app: String,
    /// Its namespace (default `argocd`).
    #[serde(default)]
    pub namespace: Option<String>,
}

/// One post-update check: exactly one of `http` or `job`.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Verify {
    #[serde(default)]
    pub http: Option<HttpCheck>,
    #[serde(default)]
    pub job: Option<JobCheck>,
}

/// A health check (Argo Rollouts `web` provider): a non-2xx answer fails;
/// with `expect`, the JSON value at `jsonPath` must equal it.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct HttpCheck {
    pub url: String,
    /// A JSONPath like `{$.status}` (default `{$}`).
    #[serde(default)]
    pub json_path: Option<String>,
    /// The value expected at `jsonPath`.
    #[serde(default)]
    pub expect: Option<String>,
    /// The value at `jsonPath` must be the build being deployed: its `tag`
    /// or its `digest` (a version endpoint). Retried until the new build
    /// answers, so it also waits for the rollout.
    #[serde(default)]
    pub expect_build: Option<BuildField>,
}

/// Which field of the build being deployed a version check compares.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum BuildField {
    Tag,
    Digest,
}

/// An end-to-end test (Argo Rollouts `job` provider): exit 0 passes.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct JobCheck {
    pub image: String,
    /// The command and its arguments (never a shell line).
    #[serde(default)]
    pub command: Vec<String>,
    #[serde(default)]
    pub env: BTreeMap<String, String>,
}

impl Update {
    /// The Stage suffix: `name`, or the last path segment without extension.
    pub fn stage_name(&self) -> String {
        if let Some(n) = &self.name {
            return n.clone();
        }
        let last = self
            .path
            .trim_end_matches('/')
            .rsplit('/')
            .next()
            .unwrap_or("");
        let stem = last.split('.').next().unwrap_or(last);
        crate::names::suggest_label(stem)
    }

    /// Whether Kargo's `yaml-update` step does it.
    pub fn is_yaml(&self) -> bool {
        self.kind != UpdateKind::KustomizeSetImage
    }
}

/// The rebuild delay when images.yaml gives none.
pub const DEFAULT_REBUILD_DELAY: &str = "7d";

impl Enrollment {
    /// The rebuild delay in seconds (validated entries only: an invalid
    /// delay has already been reported).
    pub fn rebuild_delay_secs(&self) -> u64 {
        crate::duration::parse(
            self.rebuild_delay
                .as_deref()
                .unwrap_or(DEFAULT_REBUILD_DELAY),
        )
        .unwrap_or(0)
    }
}

/// The context a rebuild dispatch can pass to the build workflow.
pub const CONTEXT_INPUTS: [&str; 4] = ["version_bump", "triggered_by", "base_image", "base_digest"];
/// The values `imageSelectionStrategy` may take (Kargo v1.11).
pub const STRATEGIES: [&str; 4] = ["SemVer", "Lexical", "Digest", "NewestBuild"];
const VERSION_BUMPS: [&str; 3] = ["patch", "minor", "major"];

/// Collects the problems of one entry, each pointing at its key.
struct Check<'a> {
    out: &'a mut Vec<Diagnostic>,
    file: &'a Path,
    loc: &'a Locator<'a>,
    index: usize,
    name: &'a str,
}

impl Check<'_> {
    fn bad(&mut self, key: &str, value: &str, why: impl Into<String>, help: impl Into<String>) {
        self.out.push(
            Diagnostic::error(format!(
                "image `{}`: invalid {key} `{}`: {}",
                self.name,
                value.escape_debug(),
                why.into()
            ))
            .in_file(self.file)
            .at(self.loc.key(self.index, key))
            .underline(value)
            .help(help),
        );
    }
}

impl Check<'_> {
    /// A problem with key `key` of `updates[j]`.
    fn bad_update(
        &mut self,
        j: usize,
        key: &str,
        value: &str,
        why: impl Into<String>,
        help: impl Into<String>,
    ) {
        self.out.push(
            Diagnostic::error(format!(
                "image `{}`: updates[{j}]: invalid {key} `{}`: {}",
                self.name,
                value.escape_debug(),
                why.into()
            ))
            .in_file(self.file)
            .at(self.loc.list_key(self.index, "updates", j, key))
            .underline(value)
            .help(help),
        );
    }
}

/// Whether `path` is (inside) a Helm chart's `templates/` directory.
pub fn is_helm_template(path: &str) -> bool {
    path.split('/').any(|p| p == "templates")
}

fn validate_updates(e: &Enrollment, c: &mut Check<'_>) {
    let names: Vec<String> = e.updates.iter().map(Update::stage_name).collect();
    let image_provider = e
        .source
        .as_ref()
        .and_then(|s| s.provider)
        .unwrap_or(Provider::Github);
    for (j, u) in e.updates.iter().enumerate() {
        let name = &names[j];
        if !crate::names::is_dns1123_label(name) {
            c.bad_update(
                j,
                "name",
                name,
                "it names the Stage `update-<image>-<name>`: a DNS-1123 label (lowercase letters, digits and `-`)",
                format!("use a name like `{}`", crate::names::suggest_label(name)),
            );
        }
        if let Some(first) = names[..j].iter().position(|n| n == name) {
            c.bad_update(
                j,
                "name",
                name,
                format!("updates[{first}] already has this name"),
                "give each update a unique `name` (it names the Stage)",
            );
        }
        let provider = u.provider.unwrap_or(image_provider);
        if u.repo.starts_with("https://") {
            if let Err(why) = values::https_url(&u.repo) {
                c.bad_update(
                    j,
                    "repo",
                    &u.repo,
                    why,
                    "use `owner/name` or a full https clone URL",
                );
            }
        } else if let Err(why) = values::source_repo(&u.repo, provider == Provider::Gitlab) {
            c.bad_update(
                j,
                "repo",
                &u.repo,
                why,
                "use `owner/name`, or a full https URL",
            );
        }
        if let Some(b) = &u.branch {
            if let Err(why) = values::branch(b) {
                c.bad_update(
                    j,
                    "branch",
                    b,
                    why,
                    "use the branch name as git shows it, like `main`",
                );
            }
        }
        if let Err(why) = values::repo_path(&u.path) {
            c.bad_update(
                j,
                "path",
                &u.path,
                why,
                "use a path relative to the repository root",
            );
        }
        if u.is_yaml() {
            if is_helm_template(&u.path) {
                c.bad_update(
                    j,
                    "path",
                    &u.path,
                    "a Helm template is not YAML (`{{ … }}`), so yaml-update cannot edit it",
                    "update the chart's values file instead (for example `values.yaml` with `key: image.tag`)",
                );
            }
            match &u.key {
                None => c.bad_update(
                    j,
                    "key",
                    &u.path,
                    "a yaml-update needs the key to set",
                    "add `key:` like `image.tag` (Helm values) or `spec.template.spec.containers.0.image`",
                ),
                Some(k) => {
                    if let Err(why) = values::yaml_key(k) {
                        c.bad_update(j, "key", k, why, "write the key with dots, like `image.tag`");
                    }
                }
            }
        } else {
            if let Some(k) = &u.key {
                c.bad_update(
                    j,
                    "key",
                    k,
                    "kustomize-set-image sets the kustomization's `images:` entry; it takes no key",
                    "remove `key`, or use `type: yaml-update`",
                );
            }
            if let Some(v @ (UpdateValue::Reference | UpdateValue::Pinned)) = u.value {
                c.bad_update(
                    j,
                    "value",
                    v.as_str(),
                    "kustomize-set-image writes a `newTag` or a `digest`, not a whole reference",
                    "use `value: tag` or `value: digest`",
                );
            }
        }
        match &u.after {
            Some(a) if a == name => {
                c.bad_update(
                    j,
                    "after",
                    a,
                    "an update cannot come after itself",
                    "name another update of this image",
                );
            }
            Some(a) if !names.contains(a) => {
                let cands: Vec<&str> = names.iter().map(String::as_str).collect();
                let help = match crate::diagnostic::did_you_mean(a, &cands) {
                    Some(m) => format!("did you mean `{m}`?"),
                    None => format!("name one of this image's updates: {}", cands.join(", ")),
                };
                c.bad_update(j, "after", a, "no update of this image has this name", help);
            }
            Some(_) if after_cycle(&e.updates, &names, j) => {
                c.bad_update(
                    j,
                    "after",
                    u.after.as_deref().unwrap_or_default(),
                    "the `after` chain comes back to this update",
                    "make the chain end at an update without `after`",
                );
            }
            _ => {}
        }
        if let Some(s) = &u.soak {
            if let Err(why) = crate::duration::parse(s) {
                c.bad_update(j, "soak", s, why, "write it like `24h` or `2d`");
            } else if u.after.is_none() {
                c.bad_update(
                    j,
                    "soak",
                    s,
                    "a soak time counts from when the Freight passed the `after` update",
                    "add `after:` naming the update to soak in, or remove `soak`",
                );
            }
        }
        if let Some(a) = &u.argocd {
            if let Err(why) = values::object_name(&a.app) {
                c.bad_update(j, "app", &a.app, why, "use the Argo CD Application's name");
            }
            if let Some(ns) = &a.namespace {
                if !crate::names::is_dns1123_label(ns) {
                    c.bad_update(
                        j,
                        "namespace",
                        ns,
                        "a namespace is a DNS-1123 label",
                        "use the namespace Argo CD runs in, like `argocd`",
                    );
                }
            }
        }
        if let Some(sh) = &u.shard {
            if sh.is_empty() || !crate::names::is_valid_label_value(sh) {
                c.bad_update(
                    j,
                    "shard",
                    sh,
                    "a shard name becomes the label `kargo.akuity.io/shard`: letters, digits, `-`, `_` and `.`, starting and ending with a letter or digit, at most 63",
                    "name one of settings' `kargo.shards`",
                );
            }
        }
        for v in &u.verify {
            validate_verify(c, j, v);
        }
    }
}

/// Updates' `shard` against settings' `kargo.shards`: a shard must be one of
/// them, and with shards set an update that syncs Argo CD must name the
/// shard whose Argo CD holds its Application (Kargo runs `argocd-update`
/// in the Stage's shard controller, with that controller's Argo CD).
pub fn validate_shards(
    entries: &[Enrollment],
    shards: &[String],
    file: &Path,
    text: &str,
) -> Vec<Diagnostic> {
    let wrong = |u: &Update| match &u.shard {
        Some(s) => !shards.contains(s),
        None => !shards.is_empty() && u.argocd.is_some(),
    };
    if !entries.iter().any(|e| e.updates.iter().any(wrong)) {
        return Vec::new();
    }
    let loc = Locator::new(text);
    let mut out = Vec::new();
    for (i, e) in entries.iter().enumerate() {
        let mut c = Check {
            out: &mut out,
            file,
            loc: &loc,
            index: i,
            name: &e.name,
        };
        for (j, u) in e.updates.iter().enumerate().filter(|(_, u)| wrong(u)) {
            match (&u.shard, &u.argocd) {
                (Some(s), _) if shards.is_empty() => c.bad_update(
                    j,
                    "shard",
                    s,
                    "settings.yaml lists no `kargo.shards`",
                    "add the shard to `kargo.shards` in settings.yaml, or remove `shard`",
                ),
                (Some(s), _) => {
                    let cands: Vec<&str> = shards.iter().map(String::as_str).collect();
                    let help = match crate::diagnostic::did_you_mean(s, &cands) {
                        Some(m) => format!("did you mean `{m}`?"),
                        None => format!("name one of `kargo.shards`: {}", cands.join(", ")),
                    };
                    c.bad_update(j, "shard", s, "it is not one of `kargo.shards`", help);
                }
                (None, Some(a)) => c.bad_update(
                    j,
                    "app",
                    &a.app,
                    format!(
                        "this update syncs Argo CD Application `{}`; with `kargo.shards` set, the update must name the shard whose Argo CD holds it",
                        a.app
                    ),
                    format!("add `shard:` with one of {}", shards.join(", ")),
                ),
                (None, None) => {}
            }
        }
    }
    out
}

/// Whether following `after` from update `j` comes back to `j`.
fn after_cycle(updates: &[Update], names: &[String], j: usize) -> bool {
    let mut at = j;
    for _ in 0..updates.len() {
        let Some(next) = updates[at]
            .after
            .as_ref()
            .and_then(|a| names.iter().position(|n| n == a))
        else {
            return false;
        };
        if next == j {
            return true;
        }
        at = next;
    }
    false
}

fn validate_verify(c: &mut Check<'_>, j: usize, v: &Verify) {
    match (&v.http, &v.job) {
        (Some(h), None) => {
            if let Err(why) = values::check_url(&h.url) {
                c.bad_update(
                    j,
                    "url",
                    &h.url,
                    why,
                    "use the health endpoint's URL, like `https://api.example.org/healthz`",
                );
            }
            if let Some(p) = &h.json_path {
                if let Err(why) = values::json_path(p) {
                    c.bad_update(j, "jsonPath", p, why, "write it like `{$.status}`");
                }
            }
            if let Some(x) = &h.expect {
                if let Err(why) = values::plain_value(x) {
                    c.bad_update(
                        j,
                        "expect",
                        x,
                        why,
                        "use the plain value the endpoint returns, like `ok`",
                    );
                }
                if h.json_path.is_none() {
                    c.bad_update(
                        j,
                        "expect",
                        x,
                        "`expect` is compared with the value at `jsonPath`",
                        "add `jsonPath:` like `{$.status}` (a non-JSON answer counts as a success in Argo Rollouts, whatever it says)",
                    );
                }
                if h.expect_build.is_some() {
                    c.bad_update(
                        j,
                        "expect",
                        x,
                        "`expect` and `expectBuild` both say what the value at `jsonPath` must be",
                        "keep one: `expectBuild: tag` for a version endpoint, `expect:` for a fixed value",
                    );
                }
            }
            if let (Some(b), None) = (h.expect_build, &h.json_path) {
                c.bad_update(
                    j,
                    "expectBuild",
                    if b == BuildField::Tag { "tag" } else { "digest" },
                    "`expectBuild` is compared with the value at `jsonPath`",
                    "add `jsonPath:` pointing at the version the endpoint reports, like `{$.version}`",
                );
            }
        }
        (None, Some(job)) => {
            if let Err(why) = values::container_image(&job.image) {
                c.bad_update(
                    j,
                    "image",
                    &job.image,
                    why,
                    "use the test image's reference, like `mcr.microsoft.com/playwright:v1.48.0`",
                );
            }
            for a in &job.command {
                if let Err(why) = values::plain_value(a) {
                    c.bad_update(
                        j,
                        "command",
                        a,
                        why,
                        "give the command as a list of plain arguments",
                    );
                }
            }
            for (k, val) in &job.env {
                if values::input_name(k).is_err() {
                    c.bad_update(
                        j,
                        "env",
                        k,
                        "an environment variable name is letters, digits and `_`",
                        "rename the variable",
                    );
                }
                if let Err(why) = values::plain_value(val) {
                    c.bad_update(j, "env", val, why, "use a plain one-line value");
                }
            }
        }
        _ => c.bad_update(
            j,
            "verify",
            "",
            "each check is exactly one of `http` or `job`",
            "write `- http: {url: …}` or `- job: {image: …, command: […]}`",
        ),
    }
}

/// Checks every value of every entry; returns all problems found.
pub fn validate(entries: &[Enrollment], file: &Path, text: &str) -> Vec<Diagnostic> {
    validate_located(entries, file, &Locator::new(text))
}

/// [`validate`], with a locator of the file's text made before.
pub fn validate_located(entries: &[Enrollment], file: &Path, loc: &Locator) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let mut seen: HashSet<&str> = HashSet::new();
    for (i, e) in entries.iter().enumerate() {
        if crate::names::is_dns1123_subdomain(&e.name) && !seen.insert(&e.name) {
            let first = entries.iter().position(|o| o.name == e.name).unwrap_or(0);
            let first_line = loc
                .item(first)
                .map_or(String::new(), |l| format!(" (first at line {})", l.line));
            out.push(
                Diagnostic::error(format!("image `{}` is enrolled twice{first_line}", e.name))
                    .in_file(file)
                    .at(loc.key(i, "name"))
                    .help("give each image a unique name, or remove the duplicate entry"),
            );
        }
        let mut c = Check {
            out: &mut out,
            file,
            loc,
            index: i,
            name: &e.name,
        };
        validate_entry(e, &mut c);
    }
    crate::diagnostic::attach_source_lines(&mut out, file, |n| loc.source_line(n));
    out
}

/// What only the Kargo target refuses: values every other target takes but
/// Kargo's Warehouse webhook rejects at `kubectl apply` (its subscription
/// schemas are stricter than git and Docker). Run on entries that passed
/// [`validate`].
pub fn validate_for_kargo(entries: &[Enrollment], file: &Path, text: &str) -> Vec<Diagnostic> {
    let refused = |e: &Enrollment| {
        values::kargo_image_repo_url(&format!("{}/{}", e.registry, e.repository)).is_err()
            || e.source
                .as_ref()
                .and_then(|s| s.branch.as_deref())
                .is_some_and(|b| values::kargo_branch(b).is_err())
    };
    let refused: Vec<(usize, &Enrollment)> = entries
        .iter()
        .enumerate()
        .filter(|(_, e)| refused(e))
        .collect();
    // The usual case, cheaply: nothing to locate.
    if refused.is_empty() {
        return Vec::new();
    }
    let loc = Locator::new(text);
    let mut out = Vec::new();
    for (i, e) in refused {
        let mut c = Check {
            out: &mut out,
            file,
            loc: &loc,
            index: i,
            name: &e.name,
        };
        // Every image gets a Warehouse with an image subscription.
        let url = format!("{}/{}", e.registry, e.repository);
        if let Err(why) = values::kargo_image_repo_url(&url) {
            if values::kargo_image_repo_url(&format!("{}/x", e.registry)).is_err() {
                c.bad(
                    "registry",
                    &e.registry,
                    why,
                    "Kargo v1.11 cannot watch images on this host name; use another name for the registry (one without `--`), or `imgf synth --target flux`",
                );
            } else {
                c.bad(
                    "repository",
                    &e.repository,
                    why,
                    "Kargo v1.11 cannot watch this repository; push the image to one without `--` (like `org/my-app`), or use `imgf synth --target flux`",
                );
            }
        }
        // A managed image's source Warehouse subscribes to its branch.
        if let Some(b) = e.source.as_ref().and_then(|s| s.branch.as_ref()) {
            if let Err(why) = values::kargo_branch(b) {
                c.bad(
                    "branch",
                    b,
                    why,
                    "Kargo's Warehouse cannot watch this branch; build from a branch named like `main` or `release/1.2`",
                );
            }
        }
    }
    // (Their source lines are attached by the caller, with the others'.)
    out
}

fn validate_entry(e: &Enrollment, c: &mut Check<'_>) {
    if !crate::names::is_dns1123_subdomain(&e.name) {
        let suggestion = crate::names::suggest_label(&e.name);
        c.bad(
            "name",
            &e.name,
            "an image name becomes part of Kubernetes object names: a DNS-1123 subdomain (lowercase letters, digits, `-` and `.`, at most 253 characters)",
            format!("rename it, for example to `{suggestion}`"),
        );
    }
    if let Err(why) = values::registry(&e.registry) {
        c.bad(
            "registry",
            &e.registry,
            why,
            "use the registry host, like `ghcr.io`",
        );
    }
    if let Err(why) = values::repository(&e.repository) {
        c.bad(
            "repository",
            &e.repository,
            why,
            "use the path after the registry, like `org/app`",
        );
    }
    if let Some(d) = &e.rebuild_delay {
        if let Err(why) = crate::duration::parse(d) {
            c.bad("rebuildDelay", d, why, "write it like `7d` or `36h`");
        }
    }
    for (key, value, rule) in [
        (
            "owner",
            &e.owner,
            values::entity_ref as fn(&str) -> Result<(), String>,
        ),
        ("system", &e.system, values::entity_ref),
        ("lifecycle", &e.lifecycle, values::lifecycle),
    ] {
        if let Some(v) = value {
            if let Err(why) = rule(v) {
                c.bad(key, v, why, "it goes into the Backstage catalog as it is");
            }
        }
    }
    if let Some(s) = &e.image_selection_strategy {
        if !STRATEGIES.contains(&s.as_str()) {
            let help = match crate::diagnostic::did_you_mean(s, &STRATEGIES) {
                Some(m) => format!("did you mean `{m}`?"),
                None => format!("use one of {}", STRATEGIES.join(", ")),
            };
            c.bad(
                "imageSelectionStrategy",
                s,
                "Kargo does not know this strategy",
                help,
            );
        }
    }
    if let Some(t) = &e.tag {
        if let Err(why) = values::tag(t) {
            c.bad("tag", t, why, "write the tag alone, without the image name");
        }
    }
    if let Some(src) = &e.source {
        validate_source(e, src, c);
        if let Some(t) = e.tag.as_deref().or(e.allow_tags.as_deref()) {
            c.bad(
                "tag",
                t,
                "a managed image (one with a `source`) is watched by its built versions, not a fixed tag",
                "remove `tag`/`allowTags`, or remove `source` to watch it as an external image",
            );
        }
    }
    validate_versions(e, c);
    validate_updates(e, c);
}

/// `versions` and `tagPattern`: how a managed image's tags are ordered.
fn validate_versions(e: &Enrollment, c: &mut Check<'_>) {
    if let Some(v) = &e.versions {
        if let Err(why) = values::semver_range(v) {
            c.bad(
                "versions",
                v,
                why,
                "write a semver range, like `>=1.0.0 <2` or `~1.4`",
            );
        }
    }
    if let Some(p) = &e.tag_pattern {
        if let Err(why) = values::tag_pattern(p) {
            c.bad(
                "tagPattern",
                p,
                why,
                "write a regex with a named group of the number that orders the tags, like `^main-[a-f0-9]+-(?P<ts>[0-9]+)$`",
            );
        }
        if e.versions.is_some() {
            c.bad(
                "tagPattern",
                p,
                "an image's tags are either versions or build ids, not both",
                "keep `versions` for semver tags, or `tagPattern` for build-id tags",
            );
        }
    }
    if e.source.is_none() {
        for (key, v) in [("versions", &e.versions), ("tagPattern", &e.tag_pattern)] {
            if let Some(v) = v {
                c.bad(
                    key,
                    v,
                    "only an image built here (one with a `source`) has its versions chosen this way",
                    "for an external image, use `tag` (or `allowTags`) and `imageSelectionStrategy`",
                );
            }
        }
    }
}

fn validate_source(e: &Enrollment, src: &Source, c: &mut Check<'_>) {
    let provider = src.provider.unwrap_or(Provider::Github);
    if let Err(why) = values::source_repo(&src.repo, provider == Provider::Gitlab) {
        c.bad("repo", &src.repo, why, "write it like `owner/name`");
    }
    if let Some(b) = &src.branch {
        if let Err(why) = values::branch(b) {
            c.bad(
                "branch",
                b,
                why,
                "use the branch name as git shows it, like `main`",
            );
        }
    }
    if let Err(why) = values::repo_path(&src.dockerfile) {
        c.bad(
            "dockerfile",
            &src.dockerfile,
            why,
            "give the Dockerfile's path relative to the source repository root",
        );
    }
    match (&src.workflow, provider) {
        (Some(w), _) => {
            if let Err(why) = values::workflow(w) {
                c.bad(
                    "workflow",
                    w,
                    why,
                    "use the workflow's file name, like `build.yml`",
                );
            }
        }
        (None, Provider::Github) => c.bad(
            "source",
            &src.repo,
            "a GitHub-built image needs `source.workflow`, the workflow that rebuilds it",
            format!(
                "add `workflow: {}.yml` (the file name under .github/workflows)",
                e.name
            ),
        ),
        (None, Provider::Gitlab) => {}
    }
    for (k, v) in &src.build_args {
        if values::input_name(k).is_err() || v.contains(['\n', '\r']) {
            c.bad(
                "buildArgs",
                k,
                "a build argument is a name of letters, digits and `_` with a one-line value",
                "fix the build argument's name or value",
            );
        }
    }
    if let Some(inputs) = &src.inputs {
        for i in inputs {
            if !CONTEXT_INPUTS.contains(&i.as_str()) {
                let help = match crate::diagnostic::did_you_mean(i, &CONTEXT_INPUTS) {
                    Some(m) => format!("did you mean `{m}`?"),
                    None => format!("the inputs imgf can send are {}", CONTEXT_INPUTS.join(", ")),
                };
                c.bad("inputs", i, "imgf has no such dispatch input", help);
            }
        }
    }
    if let Some(v) = &src.version_bump {
        if !VERSION_BUMPS.contains(&v.as_str()) {
            c.bad(
                "versionBump",
                v,
                "it is not a version bump",
                "use patch, minor or major",
            );
        }
    }
}
