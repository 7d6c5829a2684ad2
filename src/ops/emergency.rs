//! `imgf emergency`: an emergency rebuild as one report ([`Emergency`]):
//! its plan — which images, in which steps, from which Freight — and the
//! shell script that carries it out. Its two renderings: the script alone
//! (text) and the whole report (JSON). Pure: the command supplies the actor
//! and the clock, and writes the audit entries.
//!
//! The plan is in Kargo's terms ([`crate::targets::kargo::runbook::Plan`]),
//! and so is its script ([`crate::targets::kargo::runbook::script`]).

use schemars::JsonSchema;
use serde::Serialize;

use crate::config::settings::Settings;
use crate::graph::Graph;
use crate::model::{BaseRef, Model};
use crate::state::AuditEntry;
use crate::targets::kargo::rebuild::dispatch_url;
use crate::targets::kargo::runbook::{
    downstream, one_line, script, EmergencyBase, EmergencyStep, Plan,
};
use crate::targets::kargo::security::gates;
use crate::targets::kargo::{
    analysis_stage_name, rebuild_stage_name, soak_stage_name, warehouse_name,
};
use crate::timestamp::Timestamp;

/// What an emergency rebuild touches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Scope {
    /// Rebuild this managed image now (and what is built on it).
    Image(usize),
    /// Rebuild everything built on this base image now.
    Base(BaseRef),
}

/// An emergency rebuild: `imgf emergency --format json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub(crate) struct Emergency {
    #[serde(flatten)]
    pub plan: Plan,
    /// The shell script to run (what `imgf emergency` prints as text).
    pub script: String,
}

/// Who asks for an emergency rebuild, when, why, and whether the newest
/// Freight of a gated base may be taken although the security gate did not
/// pass it (`--allow-unverified`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Request<'a> {
    pub reason: &'a str,
    pub actor: &'a str,
    pub now: Timestamp,
    pub allow_unverified: bool,
}

/// The report of an emergency rebuild of `scope` as `request` asks;
/// `Err` says what is wrong with the request.
pub(crate) fn report(
    model: &Model,
    graph: &Graph,
    settings: &Settings,
    scope: &Scope,
    request: Request<'_>,
) -> Result<Emergency, String> {
    let plan = plan(model, graph, settings, scope, request)?;
    let script = script::render(&plan);
    Ok(Emergency { plan, script })
}

/// Plans an emergency rebuild; `Err` says what is wrong with the request.
///
/// First every step that waits for nothing: approving and promoting, into
/// the rebuild Stages of the directly affected images, the newest Freight
/// of the bases the emergency concerns (and, for an image with no base
/// recorded, its build started by hand). Then each image built on an
/// affected image gets a step that first waits for the new build of that
/// base, verified in its analysis Stage, in dependency order.
///
/// With security gates on a base (its soak Stage verifies new digests),
/// "newest" means the newest Freight the gate passed — verified in the soak
/// Stage — unless the request allows unverified Freight.
pub(crate) fn plan(
    model: &Model,
    graph: &Graph,
    settings: &Settings,
    scope: &Scope,
    request: Request<'_>,
) -> Result<Plan, String> {
    let Request {
        reason,
        actor,
        now,
        allow_unverified,
    } = request;
    let reason = one_line(reason);
    let actor = one_line(actor);
    if reason.is_empty() {
        return Err("an emergency rebuild needs a reason (--reason), for the audit trail".into());
    }
    let direct: Vec<usize> = match scope {
        Scope::Image(i) => vec![*i],
        Scope::Base(base) => {
            let deps: Vec<usize> = (0..model.managed.len())
                .filter(|i| model.managed[*i].bases.contains(base))
                .collect();
            if deps.is_empty() {
                return Err(format!("nothing is built on `{}`", model.base_name(*base)));
            }
            deps
        }
    };
    let affected = downstream(model, &direct);
    let order: Vec<usize> = graph
        .order
        .iter()
        .copied()
        .filter(|i| affected[*i])
        .collect();
    let names: Vec<String> = order
        .iter()
        .map(|i| model.managed[*i].name.clone())
        .collect();

    // Per image, the bases whose Freight it is rebuilt from, each with
    // whether it is a new build to wait for.
    let concerned: Vec<(usize, Vec<(BaseRef, bool)>)> = order
        .iter()
        .map(|&i| {
            let concerned = model.managed[i]
                .bases
                .iter()
                .filter_map(|b| match (b, scope) {
                    (BaseRef::Managed(x), _) if affected[*x] => Some((*b, true)),
                    (_, Scope::Image(x)) if *x == i => Some((*b, false)),
                    (_, Scope::Base(o)) if o == b => Some((*b, false)),
                    _ => None,
                })
                .collect();
            (i, concerned)
        })
        .collect();
    // The steps: first every one that waits for nothing — each image built
    // on what the emergency concerns, from its newest Freight, and each
    // image to build by hand — then, in dependency order, every one that
    // waits for the new build of an affected image. An image on both gets a
    // step in each: no wait delays its rebuild from the emergency's base.
    let now_steps = concerned.iter().filter_map(|(i, c)| {
        let now: Vec<(BaseRef, bool)> = c.iter().copied().filter(|(_, w)| !*w).collect();
        (c.is_empty() || !now.is_empty()).then_some((*i, now))
    });
    let wait_steps = concerned.iter().filter_map(|(i, c)| {
        let waits: Vec<(BaseRef, bool)> = c.iter().copied().filter(|(_, w)| *w).collect();
        (!waits.is_empty()).then_some((*i, waits))
    });
    let steps = now_steps
        .chain(wait_steps)
        .enumerate()
        .map(|(n, (i, concerned))| {
            let m = &model.managed[i];
            let base = |b: &BaseRef, wait: bool| EmergencyBase {
                name: model.base_name(*b).to_string(),
                warehouse: warehouse_name(model, *b),
                verified_in: wait.then(|| analysis_stage_name(model.base_name(*b))),
                gate: match b {
                    BaseRef::Upstream(u)
                        if !wait && !allow_unverified && gates(model, *u, settings) =>
                    {
                        Some(soak_stage_name(model.base_name(*b)))
                    }
                    _ => None,
                },
            };
            let (wait_for, newest_of) = concerned.iter().partition::<Vec<_>, _>(|(_, w)| *w);
            EmergencyStep {
                step: n + 1,
                image: m.name.clone(),
                stage: (!concerned.is_empty()).then(|| rebuild_stage_name(&m.name)),
                wait_for: wait_for.iter().map(|(b, _)| base(b, true)).collect(),
                newest_of: newest_of.iter().map(|(b, _)| base(b, false)).collect(),
                dispatch_url: concerned.is_empty().then(|| dispatch_url(m, settings)),
                branch: m.branch.clone(),
            }
        })
        .collect();
    Ok(Plan {
        images: names.clone(),
        steps,
        audit: AuditEntry {
            action: "emergency-rebuild".into(),
            at: now.to_string(),
            actor,
            reason,
            affected: Some(names.len()),
            images: names,
            scope: Some(match scope {
                Scope::Image(i) => format!("image {}", model.managed[*i].name),
                Scope::Base(b) => format!("base {}", model.base_name(*b)),
            }),
            allow_unverified,
        },
        project: settings.kargo.project.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Managed;
    use crate::ops::schema_check;

    /// `app` on node-22, `web` on `app`, `lone` with no base recorded.
    fn model() -> Model {
        let mut model = Model::sample();
        let app = model.managed[0].clone();
        model.managed.push(Managed {
            name: "web".into(),
            bases: vec![BaseRef::Managed(0)],
            ..app.clone()
        });
        model.managed.push(Managed {
            name: "lone".into(),
            bases: vec![],
            ..app
        });
        model
    }

    fn request(reason: &str) -> Request<'_> {
        Request {
            reason,
            actor: "me",
            now: Timestamp(0),
            allow_unverified: false,
        }
    }

    fn report_for(scope: &Scope) -> Emergency {
        let model = model();
        let graph = crate::graph::build(&model).unwrap();
        let settings = Settings::defaults("image-factory");
        report(&model, &graph, &settings, scope, request("CVE\n1")).unwrap()
    }

    #[test]
    fn the_json_has_the_shape_of_the_schema() {
        for scope in [Scope::Base(BaseRef::Upstream(0)), Scope::Image(2)] {
            let report = report_for(&scope);
            schema_check::assert_conforms(&report);
            let json = serde_json::to_value(&report).unwrap();
            assert_eq!(json["script"], report.script);
        }
        // Every kind of step is there, so the check covers them.
        let steps = report_for(&Scope::Base(BaseRef::Upstream(0))).plan.steps;
        assert!(!steps[0].newest_of.is_empty() && !steps[1].wait_for.is_empty());
        assert!(report_for(&Scope::Image(2)).plan.steps[0]
            .dispatch_url
            .is_some());
        // The script is not part of the plan's own JSON but the report's.
        let mut json = serde_json::to_value(report_for(&Scope::Image(0))).unwrap();
        json.as_object_mut().unwrap().remove("script");
        let schema = schema_check::output_schema::<Emergency>();
        assert!(!schema_check::mismatches(&json, &schema).is_empty());
    }

    #[test]
    fn the_script_is_rendered_from_the_plan() {
        let report = report_for(&Scope::Base(BaseRef::Upstream(0)));
        let (plan, script) = (&report.plan, &report.script);
        assert_eq!(plan.images, ["app", "web"]);
        assert_eq!(plan.audit.reason, "CVE 1", "one line");
        assert!(script
            .starts_with("#!/bin/sh\n# Emergency rebuild, 1970-01-01T00:00:00Z, by me: CVE 1\n"));
        assert!(script.contains("# 1. app: now, from the newest Freight of node-22\n"));
        assert!(script.contains(
            "# 2. web: once the new build of app is verified in Stage analyze-dockerfile-app\n"
        ));
        assert!(script.contains("wait_for_verified 'app' 'analyze-dockerfile-app' && f1=$found"));
        assert_eq!(script, &script::render(plan));
        let lone = report_for(&Scope::Image(2));
        assert!(lone.script.contains(
            "# 1. lone: no base images are recorded, so there is no rebuild Stage:\n#    start its build by hand (POST https://api.github.com/repos/org/app/actions/workflows/build.yml/dispatches, ref main)."
        ), "{}", lone.script);
        // Nothing waited for: no waiting helpers.
        assert!(!lone.script.contains("wait_for_verified"));
    }

    #[test]
    fn a_request_without_a_reason_or_anything_built_on_the_base_is_refused() {
        let model = model();
        let graph = crate::graph::build(&model).unwrap();
        let settings = Settings::defaults("image-factory");
        let plan =
            |scope: &Scope, reason: &str| plan(&model, &graph, &settings, scope, request(reason));
        assert!(plan(&Scope::Image(0), " \n")
            .unwrap_err()
            .contains("needs a reason"));
        assert_eq!(
            plan(&Scope::Base(BaseRef::Managed(1)), "x").unwrap_err(),
            "nothing is built on `web`"
        );
    }
}
