//! The Kargo target's settings: `kargo:` and `discovery:` as written, and
//! what they resolve to with the top-level keys only Kargo reads (`project`,
//! `namespaceLabels`, `analysis.image`, …, resolved by
//! `config::settings::Settings::resolve`, which owns those shared sections).
//!
//! Like every target's settings module, it uses only base-layer modules:
//! `config` (below `targets`) uses it, which is the one upward dependency
//! of ARCHITECTURE.md.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::values;

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

    /// The polls per hour `host` may take (0: no budget is set for it).
    pub fn budget(&self, host: &str) -> u32 {
        self.budgets.get(host).copied().unwrap_or(0)
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

impl KargoSettings {
    /// The defaults, before settings.yaml and the command line.
    pub fn defaults() -> KargoSettings {
        KargoSettings {
            project: "image-factory".into(),
            namespace_labels: BTreeMap::new(),
            analysis_image: format!("imgf:{}", env!("CARGO_PKG_VERSION")),
            analysis_image_is_default: true,
            service_account: "image-factory".into(),
            image_pull_secrets: Vec::new(),
            shards: Vec::new(),
        }
    }
}

/// `kargo.shards` checked: each becomes the label `kargo.akuity.io/shard`
/// (Kargo's webhooks copy `spec.shard` into it), so each must be a label value.
pub(crate) fn resolve_shards(
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
pub(crate) fn resolve_discovery(
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
