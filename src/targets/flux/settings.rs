//! The Flux target's settings: `flux:` as written, and what it resolves to.
//!
//! Like every target's settings module, it uses only base-layer modules:
//! `config` (below `targets`) uses it, which is the one upward dependency
//! of ARCHITECTURE.md.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::values::{self, normalize_git_url};

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

    /// The defaults, before settings.yaml.
    pub fn defaults() -> FluxSettings {
        FluxSettings {
            namespace: "flux-system".into(),
            git_repositories: Vec::new(),
            git_secret: None,
            registry_secret: None,
            insecure_registries: Vec::new(),
            author_name: "imgf".into(),
            author_email: "imgf@users.noreply.github.com".into(),
        }
    }
}

/// `flux:` applied to `s`; each value goes to `check(key, value, rule)`.
pub(crate) fn resolve(
    file: FluxFile,
    s: &mut FluxSettings,
    check: &mut dyn FnMut(&str, &str, values::Rule),
) {
    if let Some(ns) = file.namespace {
        check("flux.namespace", &ns, |v| {
            if crate::names::is_dns1123_label(v) {
                Ok(())
            } else {
                Err("a namespace: lowercase letters, digits and `-`, at most 63".into())
            }
        });
        s.namespace = ns;
    }
    for (repo, name) in &file.git_repositories {
        check("flux.gitRepositories", name, values::object_name);
        if repo.starts_with("https://") {
            check("flux.gitRepositories", repo, values::https_url);
        } else {
            check("flux.gitRepositories", repo, |v| {
                values::source_repo(v, true)
            });
        }
        s.git_repositories
            .push((normalize_git_url(repo), name.clone()));
    }
    if let Some(n) = file.git_secret {
        check("flux.gitSecret", &n, values::object_name);
        s.git_secret = Some(n);
    }
    if let Some(n) = file.registry_secret {
        check("flux.registrySecret", &n, values::object_name);
        s.registry_secret = Some(n);
    }
    for r in &file.insecure_registries {
        check("flux.insecureRegistries", r, values::registry);
    }
    s.insecure_registries = file.insecure_registries;
    if let Some(a) = file.author {
        check("flux.author.name", &a.name, values::commit_author);
        check("flux.author.email", &a.email, values::email);
        s.author_name = a.name;
        s.author_email = a.email;
    }
}
