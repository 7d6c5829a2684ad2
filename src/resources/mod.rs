//! Step 4 of synth: model + graph → typed Kubernetes objects. Pure.
//!
//! One module per object family; this one fixes the order of the output and
//! checks that no two objects of a kind share a name.
//!
//! Output order: Namespace, Project, ProjectConfig, ServiceAccount,
//! AnalysisTemplates, Warehouses (managed images, their sources — both in
//! images.yaml order — then upstream), soak Stages (one per upstream base in
//! use), record Stages (the same bases, with a state repository), analysis
//! Stages, rebuild Stages (one per managed image with bases, in images.yaml
//! order).

pub mod kargo;

mod analysis;
mod project;
pub mod rebuild;
mod soak;
pub mod warehouse;

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
    settings: &'a Settings,
    /// Namespace, Project, ProjectConfig, ServiceAccount, AnalysisTemplate.
    front: Vec<Resource>,
    /// Upstream images that some managed image is built on: each gets a soak Stage.
    soaks: Vec<usize>,
    /// Managed images with at least one base: each gets a rebuild Stage.
    rebuilds: Vec<usize>,
    /// Upstream bases whose digests are recorded in state (needs a state repository).
    records: Vec<usize>,
}

impl<'a> Plan<'a> {
    /// Plans the output; fails if two objects of a kind would share a name.
    /// (`graph` proves the model acyclic; objects come from the model.)
    pub fn new(
        model: &'a Model,
        _graph: &Graph,
        settings: &'a Settings,
    ) -> Result<Plan<'a>, Error> {
        // Analysis Stages always auto-promote, so a policy is needed exactly
        // when there is a managed image.
        let mut front = project::objects(settings, !model.managed.is_empty());
        if !model.managed.is_empty() {
            front.push(Resource::AnalysisTemplate(analysis::template(settings)));
        }
        let mut used = vec![false; model.upstream.len()];
        for m in &model.managed {
            for b in &m.bases {
                if let BaseRef::Upstream(u) = b {
                    used[*u] = true;
                }
            }
        }
        let soaks: Vec<usize> = (0..model.upstream.len()).filter(|u| used[*u]).collect();
        let records = match &settings.state_repo_url {
            Some(url) if !soaks.is_empty() => {
                front.push(Resource::AnalysisTemplate(analysis::record_template(
                    settings, url,
                )));
                soaks.clone()
            }
            _ => Vec::new(),
        };
        let plan = Plan {
            model,
            settings,
            front,
            records,
            soaks,
            rebuilds: (0..model.managed.len())
                .filter(|m| !model.managed[*m].bases.is_empty())
                .collect(),
        };
        plan.check_unique()?;
        Ok(plan)
    }

    /// How many objects the output holds.
    pub fn len(&self) -> usize {
        self.front.len()
            + self.model.managed.len()
            + self.model.managed.len()
            + self.model.upstream.len()
            + self.soaks.len()
            + self.records.len()
            + self.model.managed.len()
            + self.rebuilds.len()
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
        if i < m.managed.len() {
            return Resource::Warehouse(warehouse::source(&m.managed[i], s));
        }
        i -= m.managed.len();
        if i < m.upstream.len() {
            return Resource::Warehouse(warehouse::upstream(&m.upstream[i], s));
        }
        i -= m.upstream.len();
        if i < self.soaks.len() {
            return Resource::Stage(soak::stage(m, self.soaks[i], s));
        }
        i -= self.soaks.len();
        if i < self.records.len() {
            let b = BaseRef::Upstream(self.records[i]);
            return Resource::Stage(analysis::record_stage(
                m.base_name(b),
                &warehouse_name(m, b),
                m.base_repo_url(b),
                s,
            ));
        }
        i -= self.records.len();
        if i < m.managed.len() {
            return Resource::Stage(analysis::stage(&m.managed[i], s));
        }
        i -= m.managed.len();
        Resource::Stage(rebuild::stage(m, self.rebuilds[i], s))
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
            m.managed
                .iter()
                .map(|x| ("Warehouse", source_warehouse_name(&x.name))),
        );
        out.extend(
            m.upstream
                .iter()
                .map(|u| ("Warehouse", names::fit(&u.name))),
        );
        out.extend(
            self.soaks
                .iter()
                .map(|u| ("Stage", soak_stage_name(&m.upstream[*u].name))),
        );
        out.extend(
            self.records
                .iter()
                .map(|u| ("Stage", record_stage_name(&m.upstream[*u].name))),
        );
        out.extend(
            m.managed
                .iter()
                .map(|x| ("Stage", analysis_stage_name(&x.name))),
        );
        out.extend(
            self.rebuilds
                .iter()
                .map(|i| ("Stage", rebuild_stage_name(&m.managed[*i].name))),
        );
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
                    .help("two images or base images map to the same generated name; rename one of the images"),
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

/// The Warehouse of a managed image's source files.
pub fn source_warehouse_name(image: &str) -> String {
    names::object_name(&[image, "source"])
}

/// The analysis Stage of a managed image.
pub fn analysis_stage_name(image: &str) -> String {
    names::object_name(&["analyze-dockerfile", image])
}

/// The Stage that rebuilds `image` when any of its bases changes.
pub fn rebuild_stage_name(image: &str) -> String {
    names::object_name(&["rebuild", image])
}

/// The Stage that records an upstream base's new digests in its state file.
pub fn record_stage_name(base: &str) -> String {
    names::object_name(&["record", base])
}

/// The Stage where new Freight of an upstream base soaks.
pub fn soak_stage_name(base: &str) -> String {
    names::object_name(&["soak", base])
}
