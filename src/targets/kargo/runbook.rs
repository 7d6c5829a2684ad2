//! Rebuild policy, explained and overridden: `imgf explain` and
//! `imgf emergency`. Pure: the command layer supplies the state and the clock.
//!
//! The policy itself lives in the generated objects (see
//! [`crate::targets::kargo`]): soak Stages and `requiredSoakTime` enforce
//! `rebuildDelay`, the ProjectConfig enforces `autoRebuild`, one rebuild
//! Stage per image coalesces its bases, cascades go through the base
//! image's analysis Stage. This module tells a person which of those applies
//! to an image, and plans the Kargo commands that override it.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::config::settings::Settings;
use crate::config::state::{AuditEntry, BaseImageState, ImageState};
use crate::graph::Graph;
use crate::model::{BaseRef, Model};
use crate::targets::kargo::{
    analysis_stage_name, rebuild_stage_name, soak_stage_name, update_stage_name,
    verify_template_name, warehouse,
};
use crate::timestamp::Timestamp;

/// Explains how `image` is rebuilt: Warehouse → Stages → dispatch, with
/// the delay and policy, and — from the state files — what it is waiting for.
pub fn explain(
    model: &Model,
    settings: &Settings,
    image: usize,
    image_state: Option<&ImageState>,
    bases: &BTreeMap<String, BaseImageState>,
    now: Timestamp,
) -> String {
    let m = &model.managed[image];
    let mut o = String::new();
    let delay = crate::duration::hms(m.rebuild_delay_secs);
    let w = |o: &mut String, s: String| {
        o.push_str(&s);
        o.push('\n');
    };
    w(&mut o, format!("{} ({})", m.name, m.repo_url));
    w(
        &mut o,
        format!(
            "  built from {}@{}: {}",
            m.source_repo, m.branch, m.dockerfile
        ),
    );
    w(
        &mut o,
        format!(
            "  policy: rebuildDelay {} (requiredSoakTime {delay}); autoRebuild {}",
            crate::duration::human(m.rebuild_delay_secs),
            if m.auto_rebuild {
                "true: the ProjectConfig promotes rebuilds automatically"
            } else {
                "false: a person must promote each rebuild (Stage not auto-promoted)"
            }
        ),
    );
    if m.bases.is_empty() {
        w(
            &mut o,
            "  no base images recorded: nothing triggers a rebuild (run `imgf analyze`)".into(),
        );
    }
    let rebuild = rebuild_stage_name(&m.name);
    for b in &m.bases {
        let base_name = model.base_name(*b);
        match b {
            BaseRef::Upstream(u) => {
                let up = &model.upstream[*u];
                w(
                    &mut o,
                    format!(
                        "  base {base_name} (upstream {}:{})",
                        up.repo_url,
                        up.tag.as_deref().unwrap_or("?")
                    ),
                );
                w(
                    &mut o,
                    format!(
                        "    Warehouse {} — tag {} every {}",
                        crate::names::fit(base_name),
                        up.tag_regex,
                        warehouse::polite_interval(up, settings)
                    ),
                );
                w(
                    &mut o,
                    format!(
                        "    → Stage {} (promoted at once; soak restarts when a newer digest replaces it)",
                        soak_stage_name(base_name)
                    ),
                );
                w(
                    &mut o,
                    format!("    → Stage {rebuild} once the Freight has soaked {delay}"),
                );
                if let Some(state) = bases.get(base_name) {
                    o.push_str(&base_status(state, &m.name, now));
                    if let Some(warning) =
                        starvation(state, base_name, &m.name, m.rebuild_delay_secs)
                    {
                        o.push_str(&warning);
                    }
                }
            }
            BaseRef::Managed(i) => {
                w(
                    &mut o,
                    format!("  base {base_name} (enrolled image: a cascade)"),
                );
                w(
                    &mut o,
                    format!(
                        "    Warehouse {} — each new build of {}",
                        base_name, model.managed[*i].repo_url
                    ),
                );
                w(
                    &mut o,
                    format!(
                        "    → Stage {} (analyses and verifies the build)",
                        analysis_stage_name(base_name)
                    ),
                );
                w(
                    &mut o,
                    format!("    → Stage {rebuild} once the verified build has soaked {delay}"),
                );
            }
        }
    }
    let target = format!(
        "POST {} (ref {})",
        super::rebuild::dispatch_url(m, settings),
        m.branch
    );
    if !m.bases.is_empty() {
        w(&mut o, format!("  dispatch from Stage {rebuild}: {target}"));
        w(
            &mut o,
            format!(
                "    inputs: {}",
                if m.inputs.is_empty() {
                    "none".to_string()
                } else {
                    m.inputs.join(", ")
                }
            ),
        );
    }
    if !m.bases.is_empty() {
        let p = &settings.kargo.project;
        w(
            &mut o,
            "  if a dispatch failed (a 401 after a token rotation, a 422, a timeout), Kargo does not".into(),
        );
        w(
            &mut o,
            "  promote that Freight again by itself; after fixing the cause, find it and promote it again:".into(),
        );
        w(
            &mut o,
            format!("    kargo get promotions --project {p} --stage {rebuild}"),
        );
        w(
            &mut o,
            format!("    kargo promote --project {p} --stage {rebuild} --freight <FREIGHT of the failed promotion>"),
        );
    }
    o.push_str(&explain_updates(model, settings, image));
    if let Some(s) = image_state {
        w(
            &mut o,
            format!(
                "  analysis: {}{}; last build {} at {}",
                s.discovery_status.as_deref().unwrap_or("never run"),
                s.discovery_error
                    .as_deref()
                    .map_or(String::new(), |e| format!(" ({e})")),
                s.current_version.as_deref().unwrap_or("unknown"),
                s.last_built.as_deref().unwrap_or("unknown")
            ),
        );
        for a in s.audit.iter().rev().take(3) {
            w(
                &mut o,
                format!(
                    "  audit: {} by {} at {}: {}",
                    a.action, a.actor, a.at, a.reason
                ),
            );
        }
    }
    o
}

/// The annotation an Argo CD Application needs before a Stage may sync it.
pub const AUTHORIZED_STAGE: &str = "kargo.akuity.io/authorized-stage";

/// Every Argo CD Application the update Stages sync, as (namespace, name),
/// with the value its [`AUTHORIZED_STAGE`] annotation must hold: every
/// Stage that syncs it, `<project>:<stage>`, comma-separated (Kargo ≥ 1.11
/// reads a list and rejects globs: `pkg/api/stage.go` `AuthorizedStages`).
pub fn authorized_stages(model: &Model, settings: &Settings) -> BTreeMap<(String, String), String> {
    let mut apps: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    for m in &model.managed {
        for u in &m.updates {
            if let Some(app) = &u.argocd {
                apps.entry(app.clone()).or_default().push(format!(
                    "{}:{}",
                    settings.kargo.project,
                    update_stage_name(&m.name, &u.name)
                ));
            }
        }
    }
    apps.into_iter().map(|(k, v)| (k, v.join(","))).collect()
}

/// The update Stages of image `image`: what each writes, where its Freight
/// comes from, and what the Argo CD Applications they sync must carry.
fn explain_updates(model: &Model, settings: &Settings, image: usize) -> String {
    let m = &model.managed[image];
    let mut o = String::new();
    if m.updates.is_empty() {
        return o;
    }
    let _ = writeln!(
        o,
        "  updates (where each new build of {} goes):",
        m.repo_url
    );
    for u in &m.updates {
        let stage = update_stage_name(&m.name, &u.name);
        let what = match &u.yaml_key {
            Some(k) => format!("yaml-update {} key {k}", u.path),
            None => format!("kustomize-set-image {} (images: {})", u.path, m.repo_url),
        };
        let _ = writeln!(
            o,
            "    Stage {stage}: {what} = {} in {}@{}",
            u.value.as_str(),
            u.repo_url,
            u.branch
        );
        let from = match u.after {
            None => format!(
                "from Warehouse {} (each new build; commits never bump it)",
                crate::targets::kargo::image_warehouse_name(&m.name)
            ),
            Some(a) => format!(
                "from Stage {} once verified there{}",
                update_stage_name(&m.name, &m.updates[a].name),
                if u.soak_secs > 0 {
                    format!(" and soaked {}", crate::duration::human(u.soak_secs))
                } else {
                    String::new()
                }
            ),
        };
        let _ = writeln!(o, "      {from}");
        let _ = writeln!(
            o,
            "      {}{}",
            if u.pull_request {
                format!(
                    "push to a generated branch, open a pull request into {}, wait for its merge",
                    u.branch
                )
            } else {
                format!("commit and push to {}", u.branch)
            },
            match &u.argocd {
                Some((ns, app)) => format!(", then sync Argo CD Application {ns}/{app}"),
                None => String::new(),
            }
        );
        if !u.verify.is_empty() {
            let _ = writeln!(
                o,
                "      verified by AnalysisTemplate {} ({} check(s)); only verified Freight moves on",
                verify_template_name(&m.name, &u.name),
                u.verify.len()
            );
        }
        let _ = writeln!(
            o,
            "      {}",
            if u.auto_promote {
                "promoted automatically (ProjectConfig)"
            } else {
                "a person promotes each build (autoPromote false)"
            }
        );
    }
    let apps = authorized_stages(model, settings);
    let mine: Vec<_> = apps
        .iter()
        .filter(|((ns, app), _)| {
            m.updates
                .iter()
                .any(|u| u.argocd.as_ref() == Some(&(ns.clone(), app.clone())))
        })
        .collect();
    if !mine.is_empty() {
        let _ = writeln!(
            o,
            "  Argo CD Applications must carry (Kargo >= 1.11: every Stage that syncs it, comma-separated, no globs):"
        );
        for ((ns, app), value) in mine {
            let _ = writeln!(o, "    {ns}/{app}: {AUTHORIZED_STAGE}: \"{value}\"");
        }
    }
    o
}

fn base_status(state: &BaseImageState, image: &str, now: Timestamp) -> String {
    let Some(digest) = &state.current_digest else {
        return "    no new digest recorded yet\n".into();
    };
    let mut s = format!(
        "    current digest {digest}, changed {}\n",
        state
            .last_updated
            .as_deref()
            .unwrap_or("at an unknown time")
    );
    let eligible = state
        .rebuild_eligible_at
        .as_ref()
        .and_then(|m| m.get(image).cloned().flatten())
        .and_then(|t| Timestamp::parse(&t));
    match eligible {
        Some(t) if t > now => {
            let hours = (t.0 - now.0) / 3600;
            let _ = writeln!(s, "    waiting: {image} may rebuild from {t} (in about {hours}h); `imgf emergency` skips the wait");
        }
        Some(t) => {
            let _ = writeln!(s, "    eligible since {t}: if it has not rebuilt, check the Stage's promotions in Kargo");
        }
        None => {}
    }
    s
}

/// A warning when `base` publishes new digests more often than `image`'s
/// rebuild delay: each new digest replaces the soaking Freight and restarts
/// its soak, so the image may never rebuild without an approval. Judged from
/// the recorded update history (the median of the recent gaps).
fn starvation(state: &BaseImageState, base: &str, image: &str, delay_secs: u64) -> Option<String> {
    if delay_secs == 0 {
        return None;
    }
    let mut times: Vec<i64> = state
        .update_history
        .iter()
        .filter_map(|u| u.at.as_deref().and_then(Timestamp::parse))
        .map(|t| t.0)
        .collect();
    times.sort_unstable();
    let mut gaps: Vec<i64> = times.windows(2).map(|w| w[1] - w[0]).collect();
    if gaps.len() < 2 {
        return None;
    }
    gaps.sort_unstable();
    let median = gaps[gaps.len() / 2];
    let delay = i64::try_from(delay_secs).unwrap_or(i64::MAX);
    (median < delay).then(|| {
        format!(
            "    warning: {base} has published a new digest about every {} recently, more often than the rebuild delay ({}):\n      each new digest restarts the soak, so {image} may never rebuild by itself; shorten rebuildDelay, or approve with `imgf emergency`\n",
            crate::duration::hms(u64::try_from(median).unwrap_or(0)),
            crate::duration::hms(delay_secs)
        )
    })
}

/// `s` on one line, trimmed: control characters become spaces, so text a
/// person typed cannot leave the comment it is printed in.
fn one_line(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .trim()
        .to_string()
}

/// What an emergency rebuild touches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// Rebuild this managed image now (and what is built on it).
    Image(String),
    /// Rebuild everything built on this base image now.
    Base(String),
}

/// The plan of an emergency rebuild.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Emergency {
    /// Affected managed images, in dependency order.
    pub images: Vec<String>,
    /// The shell commands to run, in order.
    pub script: String,
    /// The audit entry to append to each affected image's state.
    pub audit: AuditEntry,
}

/// Plans an emergency rebuild; `Err` names what is wrong with the request.
pub fn emergency(
    model: &Model,
    graph: &Graph,
    settings: &Settings,
    scope: &Scope,
    reason: &str,
    actor: &str,
    now: Timestamp,
) -> Result<Emergency, String> {
    let reason = one_line(reason);
    let actor = one_line(actor);
    let reason = reason.as_str();
    let actor = actor.as_str();
    if reason.is_empty() {
        return Err("an emergency rebuild needs a reason (--reason), for the audit trail".into());
    }
    let (direct, origin): (Vec<usize>, BaseRef) = match scope {
        Scope::Image(name) => {
            let i = model
                .managed
                .iter()
                .position(|m| &m.name == name)
                .ok_or_else(|| {
                    format!("`{name}` is not a managed image (one with a source in images.yaml)")
                })?;
            (vec![i], BaseRef::Managed(i))
        }
        Scope::Base(name) => {
            let base = (0..model.upstream.len())
                .map(BaseRef::Upstream)
                .chain((0..model.managed.len()).map(BaseRef::Managed))
                .find(|b| model.base_name(*b) == name)
                .ok_or_else(|| format!("no image called `{name}` (give a base-image state name or an enrolled image)"))?;
            let deps: Vec<usize> = (0..model.managed.len())
                .filter(|i| model.managed[*i].bases.contains(&base))
                .collect();
            if deps.is_empty() {
                return Err(format!("nothing is built on `{name}`"));
            }
            (deps, base)
        }
    };
    // Everything built on the directly affected images, transitively.
    let mut affected: Vec<usize> = direct.clone();
    let mut k = 0;
    while k < affected.len() {
        let cur = affected[k];
        for (i, m) in model.managed.iter().enumerate() {
            if m.bases.contains(&BaseRef::Managed(cur)) && !affected.contains(&i) {
                affected.push(i);
            }
        }
        k += 1;
    }
    let order: Vec<usize> = graph
        .order
        .iter()
        .copied()
        .filter(|i| affected.contains(i))
        .collect();
    let p = &settings.kargo.project;
    let mut script = String::new();
    let _ = writeln!(script, "#!/bin/sh");
    let _ = writeln!(script, "# Emergency rebuild, {now}, by {actor}: {reason}");
    let _ = writeln!(
        script,
        "# A manual approval supersedes requiredSoakTime; later updates soak as usual."
    );
    let _ = writeln!(script, "set -eu");
    let _ = writeln!(script, "latest() {{ # newest Freight from a Warehouse");
    let _ = writeln!(
        script,
        "  kubectl -n {p} get freight.kargo.akuity.io --sort-by=.metadata.creationTimestamp -o jsonpath=\"{{range .items[?(@.origin.name=='$1')]}}{{.metadata.name}}{{'\\n'}}{{end}}\" | tail -n 1"
    );
    let _ = writeln!(script, "}}");
    for (step, i) in order.iter().enumerate() {
        let m = &model.managed[*i];
        let stage = rebuild_stage_name(&m.name);
        let _ = writeln!(script);
        let from: Vec<BaseRef> = if direct.contains(i) {
            match scope {
                Scope::Image(_) => m.bases.clone(),
                Scope::Base(_) => vec![origin],
            }
        } else {
            let _ = writeln!(
                script,
                "# {}. {}: after the new build of its base is published and verified (Stage {} shows the new Freight):",
                step + 1,
                m.name,
                m.bases
                    .iter()
                    .filter(|b| matches!(b, BaseRef::Managed(x) if order.contains(x)))
                    .map(|b| analysis_stage_name(model.base_name(*b)))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            m.bases
                .iter()
                .copied()
                .filter(|b| matches!(b, BaseRef::Managed(x) if order.contains(x)))
                .collect()
        };
        if direct.contains(i) {
            let _ = writeln!(script, "# {}. {}: now", step + 1, m.name);
        }
        for (n, b) in from.iter().enumerate() {
            let wh = crate::targets::kargo::warehouse_name(model, *b);
            let var = format!("f{}_{n}", step + 1);
            let _ = writeln!(script, "{var}=$(latest {wh})");
            let _ = writeln!(
                script,
                "kargo approve --project {p} --freight \"${var}\" --stage {stage}"
            );
            if n == 0 {
                let _ = writeln!(
                    script,
                    "kargo promote --project {p} --freight \"${var}\" --stage {stage}"
                );
            }
        }
    }
    Ok(Emergency {
        images: order
            .iter()
            .map(|i| model.managed[*i].name.clone())
            .collect(),
        script,
        audit: AuditEntry {
            action: "emergency-rebuild".into(),
            at: now.to_string(),
            actor: actor.to_string(),
            reason: reason.to_string(),
            images: order
                .iter()
                .map(|i| model.managed[*i].name.clone())
                .collect(),
        },
    })
}
