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

/// The output, object by object, built on demand.
///
/// `get(i)` builds object `i` from the model; nothing is kept. Emitting a
/// large enrollment builds and serialises objects a chunk at a time on each
/// thread, so the typed objects never all exist at once.
pub struct Plan<'a> {
    model: &'a Model,
    graph: &'a Graph,
    settings: &'a Settings,
    /// Namespace, Project, ProjectConfig, ServiceAccount, AnalysisTemplate.
    front: Vec<Resource>,
}

impl<'a> Plan<'a> {
    /// Plans the output; fails if two objects of a kind would share a name.
    pub fn new(
        model: &'a Model,
        graph: &'a Graph,
        settings: &'a Settings,
    ) -> Result<Plan<'a>, Error> {
        // Analysis Stages always auto-promote, so a policy is needed exactly
        // when there is a managed image.
        let mut front = project::objects(settings, !model.managed.is_empty());
        if !model.managed.is_empty() {
            front.push(Resource::AnalysisTemplate(analysis::template(settings)));
        }
        let plan = Plan {
            model,
            graph,
            settings,
            front,
        };
        plan.check_unique()?;
        Ok(plan)
    }

    /// How many objects the output holds.
    pub fn len(&self) -> usize {
        self.front.len()
            + self.model.managed.len()
            + self.model.upstream.len()
            + self.model.managed.len()
            + self.graph.edges.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Object `i` of the output (`i < len()`).
    pub fn get(&self, i: usize) -> Resource {
        let (m, s) = (self.model, self.settings);
        let mut i = i;
        if i < self.front.len() {
            return self.front[i].clone();
        }
        i -= self.front.len();
        if i < m.managed.len() {
            return Resource::Warehouse(warehouse::managed(&m.managed[i], s));
        }
        i -= m.managed.len();
        if i < m.upstream.len() {
            return Resource::Warehouse(warehouse::upstream(&m.upstream[i], s));
        }
        i -= m.upstream.len();
        if i < m.managed.len() {
            return Resource::Stage(analysis::stage(&m.managed[i], s));
        }
        i -= m.managed.len();
        let (base, dep) = self.graph.edges[i];
        Resource::Stage(rebuild::stage(m, dep, base_ref(base), s))
    }

    /// Every object, built at once (for library users and tests).
    pub fn build_all(&self) -> Vec<Resource> {
        (0..self.len()).map(|i| self.get(i)).collect()
    }

    /// `(kind, name)` of every object, in output order, without building them.
    fn names(&self) -> Vec<(&'static str, String)> {
        let m = self.model;
        let mut out: Vec<(&'static str, String)> = self
            .front
            .iter()
            .map(|r| (r.kind(), r.name().to_string()))
            .collect();
        out.extend(m.managed.iter().map(|x| ("Warehouse", x.name.clone())));
        out.extend(
            m.upstream
                .iter()
                .map(|u| ("Warehouse", names::fit(&u.name))),
        );
        out.extend(
            m.managed
                .iter()
                .map(|x| ("Stage", analysis_stage_name(&x.name))),
        );
        out.extend(self.graph.edges.iter().map(|(b, d)| {
            (
                "Stage",
                rebuild_stage_name(&m.managed[*d].name, m.base_name(base_ref(*b))),
            )
        }));
        out
    }

    fn check_unique(&self) -> Result<(), Error> {
        let names = self.names();
        let mut seen: HashMap<(&str, &str), usize> = HashMap::with_capacity(names.len());
        let mut problems = Vec::new();
        for (i, (kind, name)) in names.iter().enumerate() {
            if !names::is_valid_object_name(name) {
                return Err(Error::Internal(format!(
                    "generated an invalid name `{name}`"
                )));
            }
            if let Some(first) = seen.insert((kind, name), i) {
                problems.push(
                    Diagnostic::error(format!(
                        "two generated {kind}s would both be named `{name}` (objects {} and {} of the output)",
                        first + 1,
                        i + 1
                    ))
                    .help("an image name and a base-image name combine into the same Stage name; rename one of the images"),
                );
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(Error::Input(problems))
        }
    }
}

fn base_ref(node: crate::graph::Node) -> BaseRef {
    match node {
        crate::graph::Node::Managed(i) => BaseRef::Managed(i),
        crate::graph::Node::Upstream(i) => BaseRef::Upstream(i),
    }
}

/// Builds every object, in output order.
pub fn build(model: &Model, graph: &Graph, settings: &Settings) -> Result<Vec<Resource>, Error> {
    Ok(Plan::new(model, graph, settings)?.build_all())
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
