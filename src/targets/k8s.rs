//! Kubernetes objects and conventions shared by every target: metadata,
//! Namespace, ServiceAccount, and the labels on everything imgf emits.

use std::collections::BTreeMap;

use serde::Serialize;

/// Label on every object imgf emits (for `kubectl apply --prune -l …`).
pub const MANAGED_BY_LABEL: &str = "app.kubernetes.io/managed-by";
pub const MANAGED_BY: &str = "imgf";

/// `metadata`: name, namespace (absent for cluster-scoped kinds), labels.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ObjectMeta {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Namespace {
    pub api_version: &'static str,
    pub kind: &'static str,
    pub metadata: ObjectMeta,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ServiceAccount {
    pub api_version: &'static str,
    pub kind: &'static str,
    pub metadata: ObjectMeta,
}

/// Metadata of a namespaced object: the managed-by label plus `labels`.
pub fn namespaced(name: String, namespace: &str, labels: &[(&str, &str)]) -> ObjectMeta {
    let mut l = BTreeMap::new();
    l.insert(MANAGED_BY_LABEL.to_string(), MANAGED_BY.to_string());
    for (k, v) in labels {
        l.insert((*k).to_string(), (*v).to_string());
    }
    ObjectMeta {
        name,
        namespace: Some(namespace.to_string()),
        labels: l,
    }
}
