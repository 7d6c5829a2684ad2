//! Step 4 of synth: model + graph → typed Kubernetes objects. Pure.
//!
//! One module per object family; this one fixes the order of the output and
//! checks that no two objects of a kind share a name.
//!
//! Output order: Namespace, Project, ProjectConfig, ServiceAccount,
//! AnalysisTemplate, Warehouses (managed in images.yaml order, then upstream),
//! analysis Stages, rebuild-trigger Stages (dependents in images.yaml order,
//! each image's bases in the order analysis found them).

pub mod kargo;

mod analysis;
mod project;
mod rebuild;
mod warehouse;

use std::collections::{BTreeMap, HashMap};

use crate::config::settings::Settings;
use crate::diagnostic::{Diagnostic, Error};
use crate::graph::Graph;
use crate::model::{BaseRef, Model};
use crate::names;
use kargo::{ObjectMeta, Resource};

/// Label on every object imgf emits (for `kubectl apply --prune -l …`).
pub const MANAGED_BY_LABEL: &str = "app.kubernetes.io/managed-by";
pub const MANAGED_BY: &str = "imgf";
/// Label on the Stages the ProjectConfig auto-promotes.
pub const AUTO_PROMOTE_LABEL: &str = "imgf/auto-promote";
/// What a Stage is for: `analysis` or `rebuild`.
pub const ROLE_LABEL: &str = "imgf/role";
/// The managed image a Stage belongs to.
pub const IMAGE_LABEL: &str = "imgf/image";

/// Builds every object, in output order.
pub fn build(model: &Model, graph: &Graph, settings: &Settings) -> Result<Vec<Resource>, Error> {
    // Independent per image and per edge: built in parallel, kept in order.
    let mut stages: Vec<kargo::Stage> =
        crate::par::map(&model.managed, |m| analysis::stage(m, settings));
    stages.extend(crate::par::map(&graph.edges, |(base, dep)| {
        let base = match base {
            crate::graph::Node::Managed(i) => BaseRef::Managed(*i),
            crate::graph::Node::Upstream(i) => BaseRef::Upstream(*i),
        };
        rebuild::stage(model, *dep, base, settings)
    }));

    let mut out = project::objects(settings, &stages);
    if !model.managed.is_empty() {
        out.push(Resource::AnalysisTemplate(analysis::template(settings)));
    }
    out.extend(
        model
            .managed
            .iter()
            .map(|m| Resource::Warehouse(warehouse::managed(m, settings))),
    );
    out.extend(
        model
            .upstream
            .iter()
            .map(|u| Resource::Warehouse(warehouse::upstream(u, settings))),
    );
    out.extend(stages.into_iter().map(Resource::Stage));

    check_unique(&out)?;
    Ok(out)
}

/// Metadata for a namespaced object of the project.
fn meta(name: String, settings: &Settings, labels: &[(&str, &str)]) -> ObjectMeta {
    let mut l = BTreeMap::new();
    l.insert(MANAGED_BY_LABEL.to_string(), MANAGED_BY.to_string());
    for (k, v) in labels {
        l.insert((*k).to_string(), (*v).to_string());
    }
    ObjectMeta {
        name,
        namespace: Some(settings.project.clone()),
        labels: l,
    }
}

/// The Warehouse of an image used as a base.
pub fn warehouse_name(model: &Model, base: BaseRef) -> String {
    names::fit(model.base_name(base))
}

/// The analysis Stage of a managed image.
pub fn analysis_stage_name(image: &str) -> String {
    names::object_name(&["analyze-dockerfile", image])
}

/// The Stage that rebuilds `image` when `base` changes.
pub fn rebuild_stage_name(image: &str, base: &str) -> String {
    names::object_name(&["rebuild-trigger", image, "from", base])
}

fn check_unique(objects: &[Resource]) -> Result<(), Error> {
    let mut seen: HashMap<(&str, &str), usize> = HashMap::new();
    let mut problems = Vec::new();
    for (i, o) in objects.iter().enumerate() {
        if let Some(first) = seen.insert((o.kind(), o.name()), i) {
            problems.push(
                Diagnostic::error(format!(
                    "two generated {}s would both be named `{}` (objects {} and {} of the output)",
                    o.kind(),
                    o.name(),
                    first + 1,
                    i + 1
                ))
                .help("an image name and a base-image name combine into the same Stage name; rename one of the images"),
            );
        }
        debug_assert!(
            names::is_valid_object_name(o.name()),
            "invalid name {}",
            o.name()
        );
        if !names::is_valid_object_name(o.name()) {
            return Err(Error::Internal(format!(
                "generated an invalid name `{}`",
                o.name()
            )));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(Error::Input(problems))
    }
}
