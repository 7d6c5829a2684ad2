//! The Kargo target: model + graph → Kargo Warehouses, Stages and the
//! Argo Rollouts AnalysisTemplates they verify with. Pure.
//!
//! One file per object family; [`families`] is the table that fixes their
//! order in the output:
//! Namespace, Project, ProjectConfig, ServiceAccount, AnalysisTemplates
//! ([`project`], [`verification`], one per verified update) · Warehouses of managed images, of their
//! sources — both in images.yaml order — and of upstream images
//! ([`warehouse`]) · soak Stages, one per upstream base in use ([`soak`]) ·
//! record Stages, the same bases when a state repository is set ([`record`])
//! · with the CVE fast path, delay and CVE-fix Stages per (image, upstream
//! base) ([`security`]) · analysis Stages ([`analysis`]) · rebuild Stages, one per managed image
//! with bases ([`rebuild`]) · update Stages, one per (image, update)
//! ([`update`]). [`expr`] builds every Kargo expression and
//! [`runbook`] is the Kargo side of `explain` and `emergency` (whose reports
//! are built in [`crate::ops`]), and renders the emergency script.

mod analysis;
pub mod expr;
pub mod objects;
pub mod placement;
pub mod poll;
pub mod preflight;
mod project;
pub mod rebuild;
mod record;
pub mod runbook;
pub mod security;
pub mod settings;
pub mod shard;
mod soak;
mod spec;
pub mod update;
mod verification;
pub mod warehouse;

use crate::config::settings::Settings;
use crate::diagnostic::Error;
use crate::graph::Graph;
use crate::model::{BaseRef, Model};
use crate::names;
use crate::targets::{k8s, Family, Output};
use objects::{ObjectMeta, Resource};
pub use spec::SPEC;

/// Label on the Stages the ProjectConfig auto-promotes.
pub const AUTO_PROMOTE_LABEL: &str = "imgf/auto-promote";
/// What a Stage is for: `soak`, `record`, `analysis` or `rebuild`.
pub const ROLE_LABEL: &str = "imgf/role";
/// The managed image a Stage belongs to.
pub const IMAGE_LABEL: &str = "imgf/image";

/// What the families are built from, with the selections made once.
pub struct Plan<'a> {
    model: &'a Model,
    settings: &'a Settings,
    /// Namespace, Project, ProjectConfig, ServiceAccount, AnalysisTemplates.
    front: Vec<Resource>,
    /// Upstream images that some managed image is built on: each gets a soak Stage.
    soaks: Vec<usize>,
    /// Upstream bases whose digests are recorded in state (needs a state repository).
    records: Vec<usize>,
    /// (managed image, upstream base) on the CVE fast path: each gets a
    /// delay Stage and a CVE-fix Stage.
    fast_paths: Vec<(usize, usize)>,
    /// Managed images with at least one base: each gets a rebuild Stage.
    rebuilds: Vec<usize>,
    /// The images that updates deploy: managed images in images.yaml order,
    /// then external images.
    deployed: Vec<update::Deployed<'a>>,
    /// (index into `deployed`, update): each gets an update Stage.
    updates: Vec<(usize, usize)>,
    /// Shards and intervals (`kargo.shards`, `discovery`).
    placement: placement::Placement,
}

/// Warehouse `which` as the output holds it: with its shard, and its
/// interval when placement sets one. `explain` reads its interval here too,
/// so what it reports is what is emitted.
pub fn placed_warehouse(
    model: &Model,
    settings: &Settings,
    placement: &placement::Placement,
    which: placement::WarehouseOf,
) -> objects::Warehouse {
    use placement::WarehouseOf;
    let mut w = match which {
        WarehouseOf::Image(m) => warehouse::managed(&model.managed[m], settings),
        WarehouseOf::Source(m) => warehouse::source(&model.managed[m], settings),
        WarehouseOf::Upstream(u) => warehouse::upstream(&model.upstream[u], settings),
    };
    w.spec.shard = placement.shard_of(which).map(str::to_string);
    if let Some(i) = placement.interval_of(which) {
        w.spec.interval = i;
    }
    w
}

/// A Stage with its shard.
fn placed_stage(mut s: objects::Stage, shard: Option<&str>) -> Resource {
    s.spec.shard = shard.map(str::to_string);
    Resource::Stage(s)
}

/// The output's object families, in output order: one row per family.
pub fn families<'a>() -> Vec<Family<Plan<'a>, Resource>> {
    vec![
        Family {
            count: |p| p.front.len(),
            name: |p, i| (p.front[i].kind(), p.front[i].name().to_string()),
            build: |p, i| p.front[i].clone(),
        },
        Family {
            count: |p| p.model.managed.len(),
            name: |p, i| ("Warehouse", image_warehouse_name(&p.model.managed[i].name)),
            build: |p, i| {
                Resource::Warehouse(placed_warehouse(
                    p.model,
                    p.settings,
                    &p.placement,
                    placement::WarehouseOf::Image(i),
                ))
            },
        },
        Family {
            count: |p| p.model.managed.len(),
            name: |p, i| ("Warehouse", source_warehouse_name(&p.model.managed[i].name)),
            build: |p, i| {
                Resource::Warehouse(placed_warehouse(
                    p.model,
                    p.settings,
                    &p.placement,
                    placement::WarehouseOf::Source(i),
                ))
            },
        },
        Family {
            count: |p| p.model.upstream.len(),
            name: |p, i| ("Warehouse", names::fit(&p.model.upstream[i].name)),
            build: |p, i| {
                Resource::Warehouse(placed_warehouse(
                    p.model,
                    p.settings,
                    &p.placement,
                    placement::WarehouseOf::Upstream(i),
                ))
            },
        },
        Family {
            count: |p| p.soaks.len(),
            name: |p, i| ("Stage", soak_stage_name(&p.model.upstream[p.soaks[i]].name)),
            build: |p, i| {
                placed_stage(
                    soak::stage(p.model, p.soaks[i], p.settings),
                    p.placement.upstream(p.soaks[i]),
                )
            },
        },
        Family {
            count: |p| p.records.len(),
            name: |p, i| {
                (
                    "Stage",
                    record_stage_name(&p.model.upstream[p.records[i]].name),
                )
            },
            build: |p, i| {
                let b = BaseRef::Upstream(p.records[i]);
                placed_stage(
                    record::record_stage(
                        p.model.base_name(b),
                        &warehouse_name(p.model, b),
                        p.model.base_repo_url(b),
                        p.settings,
                    ),
                    p.placement.upstream(p.records[i]),
                )
            },
        },
        Family {
            count: |p| p.fast_paths.len(),
            name: |p, i| {
                let (m, u) = p.fast_paths[i];
                (
                    "Stage",
                    delay_stage_name(&p.model.managed[m].name, &p.model.upstream[u].name),
                )
            },
            build: |p, i| {
                let (m, u) = p.fast_paths[i];
                placed_stage(
                    security::delay_stage(p.model, m, u, p.settings),
                    p.placement.managed(m),
                )
            },
        },
        Family {
            count: |p| p.fast_paths.len(),
            name: |p, i| {
                let (m, u) = p.fast_paths[i];
                (
                    "Stage",
                    cvefix_stage_name(&p.model.managed[m].name, &p.model.upstream[u].name),
                )
            },
            build: |p, i| {
                let (m, u) = p.fast_paths[i];
                placed_stage(
                    security::cvefix_stage(p.model, m, u, p.settings),
                    p.placement.managed(m),
                )
            },
        },
        Family {
            count: |p| p.model.managed.len(),
            name: |p, i| ("Stage", analysis_stage_name(&p.model.managed[i].name)),
            build: |p, i| {
                placed_stage(
                    analysis::stage(&p.model.managed[i], p.settings),
                    p.placement.managed(i),
                )
            },
        },
        Family {
            count: |p| p.rebuilds.len(),
            name: |p, i| {
                (
                    "Stage",
                    rebuild_stage_name(&p.model.managed[p.rebuilds[i]].name),
                )
            },
            build: |p, i| {
                placed_stage(
                    rebuild::stage(p.model, p.rebuilds[i], p.settings),
                    p.placement.managed(p.rebuilds[i]),
                )
            },
        },
        Family {
            count: |p| p.updates.len(),
            name: |p, i| {
                let (d, u) = p.updates[i];
                let d = &p.deployed[d];
                ("Stage", update_stage_name(d.name, &d.updates[u].name))
            },
            build: |p, i| {
                let (d, u) = p.updates[i];
                let dep = &p.deployed[d];
                placed_stage(
                    update::stage(dep, u, p.settings),
                    p.placement
                        .update(dep.managed, dep.name, dep.updates[u].shard.as_deref()),
                )
            },
        },
    ]
}

/// The Kargo output of a model; fails if two objects of a kind would share
/// a name. (`graph` proves the model acyclic; objects come from the model.)
pub fn output<'a>(
    model: &'a Model,
    _graph: &Graph,
    settings: &'a Settings,
) -> Result<Output<Plan<'a>, Resource>, Error> {
    // Analysis Stages always auto-promote, so a policy is needed exactly
    // when there is a managed image.
    let mut front = project::objects(settings, !model.managed.is_empty());
    if !model.managed.is_empty() {
        front.push(Resource::AnalysisTemplate(verification::analyze_template(
            settings,
        )));
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
    let records = match &settings.state_repo.url {
        Some(url) if !soaks.is_empty() => {
            front.push(Resource::AnalysisTemplate(verification::record_template(
                settings, url,
            )));
            soaks.clone()
        }
        _ => Vec::new(),
    };
    let repos: Vec<&str> = soaks
        .iter()
        .map(|u| model.upstream[*u].repo_url.as_str())
        .collect();
    front.extend(
        security::templates(settings, &repos)
            .into_iter()
            .map(Resource::AnalysisTemplate),
    );
    let fast_paths: Vec<(usize, usize)> = model
        .managed
        .iter()
        .enumerate()
        .filter(|(_, m)| security::fast_path(m, settings))
        .flat_map(|(i, m)| {
            m.bases.iter().filter_map(move |b| match b {
                BaseRef::Upstream(u) => Some((i, *u)),
                BaseRef::Managed(_) => None,
            })
        })
        .collect();
    let deployed = deployed(model);
    let updates: Vec<(usize, usize)> = deployed
        .iter()
        .enumerate()
        .flat_map(|(i, d)| (0..d.updates.len()).map(move |u| (i, u)))
        .collect();
    for &(d, u) in &updates {
        if !deployed[d].updates[u].verify.is_empty() {
            front.push(Resource::AnalysisTemplate(update::verify_template(
                &deployed[d],
                u,
                settings,
            )));
        }
    }
    let plan = Plan {
        model,
        settings,
        front,
        soaks,
        records,
        fast_paths,
        rebuilds: (0..model.managed.len())
            .filter(|m| !model.managed[*m].bases.is_empty())
            .collect(),
        deployed,
        updates,
        placement: placement::Placement::new(model, settings),
    };
    Output::new(plan, families())
}

/// The images with updates: managed images (images.yaml order), then
/// external ones.
pub fn deployed(model: &Model) -> Vec<update::Deployed<'_>> {
    let managed = model
        .managed
        .iter()
        .filter(|m| !m.updates.is_empty())
        .map(update::Deployed::managed);
    let external = model
        .upstream
        .iter()
        .filter(|u| !u.updates.is_empty())
        .map(update::Deployed::external);
    managed.chain(external).collect()
}

/// Builds every object, in output order.
pub fn build(model: &Model, graph: &Graph, settings: &Settings) -> Result<Vec<Resource>, Error> {
    Ok(output(model, graph, settings)?.build_all())
}

/// Metadata for a namespaced object of the project.
fn meta(name: String, settings: &Settings, labels: &[(&str, &str)]) -> ObjectMeta {
    k8s::namespaced(name, &settings.kargo.project, labels)
}

/// The Warehouse of a managed image's builds.
pub(crate) fn image_warehouse_name(image: &str) -> String {
    names::fit(image)
}

/// An image name as the value of [`IMAGE_LABEL`] (a label value holds at
/// most 63 characters; an image name may be a longer subdomain).
pub(crate) fn image_label(image: &str) -> String {
    names::fit(image)
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

/// The Stage that updates a place deploying `image` (images.yaml `updates[].name`).
pub fn update_stage_name(image: &str, update: &str) -> String {
    names::object_name(&["update", image, update])
}

/// The AnalysisTemplate that verifies an update (images.yaml `updates[].verify`).
pub fn verify_template_name(image: &str, update: &str) -> String {
    names::object_name(&["verify", image, update])
}

/// The Stage where a gated digest of `base` waits out `image`'s
/// `rebuildDelay` (CVE fast path).
pub fn delay_stage_name(image: &str, base: &str) -> String {
    names::object_name(&["delay", image, base])
}

/// The Stage that lets a digest of `base` that fixes a CVE of `image`'s
/// current base through at once (CVE fast path).
pub fn cvefix_stage_name(image: &str, base: &str) -> String {
    names::object_name(&["cvefix", image, base])
}

/// The AnalysisTemplate that verifies signatures with the `k`-th distinct
/// identity and issuer of `security.signatures` (from 1).
pub fn signature_template_name(k: usize) -> String {
    names::object_name(&["verify-signature", &k.to_string()])
}

/// The Stage where new Freight of an upstream base soaks.
pub fn soak_stage_name(base: &str) -> String {
    names::object_name(&["soak", base])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model() -> Model {
        Model::sample()
    }

    /// Every family — record Stages included — is named from the same table
    /// that builds it, so every name is checked for uniqueness.
    #[test]
    fn names_are_derived_from_every_family() {
        let mut settings = Settings::defaults("image-factory");
        settings.state_repo.url = Some("https://github.com/org/state.git".into());
        let m = model();
        let graph = crate::graph::build(&m).unwrap();
        let out = output(&m, &graph, &settings).unwrap();
        let names = out.names();
        assert_eq!(names.len(), out.len());
        for (i, (kind, name)) in names.iter().enumerate() {
            let o = out.get(i);
            assert_eq!((o.kind(), o.name()), (*kind, name.as_str()), "object {i}");
        }
        assert!(names.contains(&("Stage", "record-node-22".to_string())));
        assert!(names.contains(&("Stage", "soak-node-22".to_string())));
    }
}
