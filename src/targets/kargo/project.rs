//! The project's own objects: Namespace, Project, ProjectConfig and the
//! ServiceAccount the analysis Job runs as.

use std::collections::BTreeMap;

use super::objects::{
    Namespace, ObjectMeta, Project, ProjectConfig, ProjectConfigSpec, PromotionPolicy, Resource,
    ServiceAccount, StageSelector, WebhookReceiver, KARGO_API,
};
use super::{meta, AUTO_PROMOTE_LABEL};
use crate::config::settings::Settings;
use crate::targets::k8s::{MANAGED_BY, MANAGED_BY_LABEL};

/// Namespace, Project, ProjectConfig (when some Stage auto-promotes:
/// `auto`, or `discovery.webhooks` lists receivers) and ServiceAccount. The ProjectConfig's policy selects exactly the Stages
/// that carry the auto-promote label, so it can never name a Stage that does
/// not exist.
pub(super) fn objects(settings: &Settings, auto: bool) -> Vec<Resource> {
    let mut ns_labels: BTreeMap<String, String> = settings.kargo.namespace_labels.clone();
    ns_labels.insert("kargo.akuity.io/project".into(), "true".into());
    ns_labels.insert(MANAGED_BY_LABEL.into(), MANAGED_BY.into());
    let cluster_meta = |labels: BTreeMap<String, String>| ObjectMeta {
        name: settings.kargo.project.clone(),
        namespace: None,
        labels,
    };
    let mut out = vec![
        Resource::Namespace(Namespace {
            api_version: "v1",
            kind: "Namespace",
            metadata: cluster_meta(ns_labels),
        }),
        Resource::Project(Project {
            api_version: KARGO_API,
            kind: "Project",
            metadata: cluster_meta(BTreeMap::from([(
                MANAGED_BY_LABEL.into(),
                MANAGED_BY.into(),
            )])),
        }),
    ];
    // Receivers: named after their type, forever (Kargo hashes the name
    // into the URL); the Secret is the user's (`imgf-webhook-<type>`).
    let webhook_receivers: Vec<WebhookReceiver> = settings
        .discovery
        .webhooks
        .iter()
        .map(|w| WebhookReceiver {
            name: w.as_str().to_string(),
            kind: w.as_str(),
            secret: w.secret_name(),
        })
        .collect();
    if auto || !webhook_receivers.is_empty() {
        let promotion_policies = if auto {
            vec![PromotionPolicy {
                stage_selector: StageSelector {
                    name: None,
                    match_labels: BTreeMap::from([(AUTO_PROMOTE_LABEL.into(), "true".into())]),
                },
                auto_promotion_enabled: true,
            }]
        } else {
            Vec::new()
        };
        out.push(Resource::ProjectConfig(ProjectConfig {
            api_version: KARGO_API,
            kind: "ProjectConfig",
            metadata: meta(settings.kargo.project.clone(), settings, &[]),
            spec: ProjectConfigSpec {
                promotion_policies,
                webhook_receivers,
            },
        }));
    }
    out.push(Resource::ServiceAccount(ServiceAccount {
        api_version: "v1",
        kind: "ServiceAccount",
        metadata: meta(settings.kargo.service_account.clone(), settings, &[]),
    }));
    out
}
