//! The Backstage target's settings: `backstage:` as written, and what it
//! resolves to.
//!
//! Like every target's settings module, it uses only base-layer modules:
//! `config` (below `targets`) uses it, which is the one upward dependency
//! of ARCHITECTURE.md.

use serde::Deserialize;

use crate::values;

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

/// What only the Backstage target reads: defaults for the entities' owner,
/// system and lifecycle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackstageSettings {
    pub owner: String,
    pub system: String,
    pub lifecycle: String,
    pub base_owner: String,
}

impl BackstageSettings {
    /// The defaults, before settings.yaml.
    pub fn defaults() -> BackstageSettings {
        BackstageSettings {
            owner: "platform-team".into(),
            system: "image-factory".into(),
            lifecycle: "production".into(),
            base_owner: "upstream".into(),
        }
    }
}

/// `backstage:` applied to `s`; each value goes to `check(key, value, rule)`.
pub(crate) fn resolve(
    file: BackstageFile,
    s: &mut BackstageSettings,
    check: &mut dyn FnMut(&str, &str, values::Rule),
) {
    for (key, value, slot, rule) in [
        (
            "backstage.owner",
            file.owner,
            &mut s.owner,
            values::entity_ref as values::Rule,
        ),
        (
            "backstage.system",
            file.system,
            &mut s.system,
            values::entity_ref,
        ),
        (
            "backstage.lifecycle",
            file.lifecycle,
            &mut s.lifecycle,
            values::lifecycle,
        ),
        (
            "backstage.baseOwner",
            file.base_owner,
            &mut s.base_owner,
            values::entity_ref,
        ),
    ] {
        if let Some(v) = value {
            check(key, &v, rule);
            *slot = v;
        }
    }
}
