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
use crate::diagnostic::{did_you_mean_any, nearest, Diagnostic};
use crate::graph::Graph;
use crate::model::{BaseRef, Model};
use crate::state::{AuditEntry, BaseImageState, ImageState};
use crate::targets::kargo::{
    analysis_stage_name, rebuild_stage_name, soak_stage_name, update_stage_name,
    verify_template_name, warehouse, warehouse_name,
};
use crate::timestamp::Timestamp;

/// Explains how `image` is rebuilt: Warehouse → Stages → dispatch, with
/// the delay and policy, the images built on it, and — from the state
/// files — what it is waiting for.
pub fn explain(
    model: &Model,
    graph: &Graph,
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
    let below = dependents(model, graph, image);
    if below.is_empty() {
        w(
            &mut o,
            format!("  no enrolled image is built on {}", m.name),
        );
    } else {
        w(
            &mut o,
            "  built on it, in rebuild order (each after the new build of its base is analysed):"
                .into(),
        );
        for d in &below {
            let on = built_on_within(model, *d, image, &below);
            w(
                &mut o,
                format!("    {} (on {})", model.managed[*d].name, on.join(", ")),
            );
        }
    }
    o.push_str(&explain_updates(model, settings, image, image_state));
    if let Some(s) = image_state {
        // What is recorded, and nothing about what is not: no "unknown".
        let build = match (s.current_version.as_deref(), s.last_built.as_deref()) {
            (Some(v), Some(at)) => format!("; last build {v} at {at}"),
            (Some(v), None) => format!("; last build {v}"),
            (None, Some(at)) => format!("; last build at {at}"),
            (None, None) => String::new(),
        };
        w(
            &mut o,
            format!(
                "  analysis: {}{}{build}",
                s.discovery_status.as_deref().unwrap_or("never run"),
                s.discovery_error
                    .as_deref()
                    .map_or(String::new(), |e| format!(" ({e})")),
            ),
        );
        if let Some(every) = build_interval(s) {
            w(
                &mut o,
                format!(
                    "  builds: about every {} recently ({} recorded)",
                    crate::duration::human(every),
                    s.build_history.len()
                ),
            );
        }
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

/// The facts [`explain`] prints, as JSON (`imgf explain --format json`).
/// The shape is documented in the README and stable: fields are only ever
/// added.
pub fn explain_json(
    model: &Model,
    graph: &Graph,
    settings: &Settings,
    image: usize,
    image_state: Option<&ImageState>,
    bases: &BTreeMap<String, BaseImageState>,
    now: Timestamp,
) -> serde_json::Value {
    use serde_json::{json, Value};
    let m = &model.managed[image];
    let rebuild = rebuild_stage_name(&m.name);
    let base_rows: Vec<Value> = m
        .bases
        .iter()
        .map(|b| {
            let base_name = model.base_name(*b);
            match b {
                BaseRef::Upstream(u) => {
                    let up = &model.upstream[*u];
                    let state = bases.get(base_name);
                    let eligible = state
                        .and_then(|s| s.rebuild_eligible_at.as_ref())
                        .and_then(|e| e.get(&m.name).cloned().flatten())
                        .and_then(|t| Timestamp::parse(&t));
                    let warning = state
                        .and_then(|s| starvation(s, base_name, &m.name, m.rebuild_delay_secs))
                        .map(|w| one_line(&w));
                    json!({
                        "name": base_name,
                        "kind": "upstream",
                        "repoURL": up.repo_url,
                        "tag": up.tag,
                        "warehouse": {
                            "name": crate::names::fit(base_name),
                            "tagRegex": up.tag_regex,
                            "interval": warehouse::polite_interval(up, settings).to_string(),
                        },
                        "stages": [soak_stage_name(base_name), rebuild.clone()],
                        "state": state.map(|s| json!({
                            "currentDigest": s.current_digest,
                            "lastUpdated": s.last_updated,
                            "rebuildEligibleAt": eligible.map(|t| t.to_string()),
                            "waiting": eligible.is_some_and(|t| t > now),
                        })),
                        "warnings": warning.into_iter().collect::<Vec<_>>(),
                    })
                }
                BaseRef::Managed(i) => json!({
                    "name": base_name,
                    "kind": "managed",
                    "repoURL": model.managed[*i].repo_url,
                    "tag": Value::Null,
                    "warehouse": {
                        "name": warehouse_name(model, *b),
                        "tagRegex": Value::Null,
                        "interval": Value::Null,
                    },
                    "stages": [analysis_stage_name(base_name), rebuild.clone()],
                    "state": Value::Null,
                    "warnings": [],
                }),
            }
        })
        .collect();
    let below = dependents(model, graph, image);
    let dependents: Vec<Value> = below
        .iter()
        .map(|d| {
            let on = built_on_within(model, *d, image, &below);
            json!({ "name": model.managed[*d].name, "on": on })
        })
        .collect();
    let apps = authorized_stages(model, settings);
    let updates: Vec<Value> = m
        .updates
        .iter()
        .map(|u| {
            json!({
                "name": u.name,
                "stage": update_stage_name(&m.name, &u.name),
                "kind": if u.yaml_key.is_some() { "yaml-update" } else { "kustomize-set-image" },
                "repoURL": u.repo_url,
                "branch": u.branch,
                "path": u.path,
                "key": u.yaml_key,
                "value": u.value.as_str(),
                "after": u.after.map(|a| update_stage_name(&m.name, &m.updates[a].name)),
                "soakSeconds": u.soak_secs,
                "pullRequest": u.pull_request,
                "argocd": u.argocd.as_ref().map(|(ns, app)| json!({
                    "namespace": ns,
                    "name": app,
                    "authorizedStage": apps.get(&(ns.clone(), app.clone())),
                })),
                "verify": if u.verify.is_empty() { Value::Null } else {
                    json!({"template": verify_template_name(&m.name, &u.name), "checks": u.verify.len()})
                },
                "autoPromote": u.auto_promote,
                "warnings": soak_starvation(m, u, image_state, &settings.kargo.project)
                    .map(|w| one_line(&w.split_whitespace().collect::<Vec<_>>().join(" ")))
                    .into_iter()
                    .collect::<Vec<_>>(),
            })
        })
        .collect();
    let dispatch = (!m.bases.is_empty()).then(|| {
        json!({
            "stage": rebuild,
            "url": super::rebuild::dispatch_url(m, settings).to_string(),
            "ref": m.branch,
            "inputs": m.inputs,
        })
    });
    let state = image_state.map(|s| {
        json!({
            "discoveryStatus": s.discovery_status,
            "discoveryError": s.discovery_error,
            "currentVersion": s.current_version,
            "currentDigest": s.current_digest,
            "lastBuilt": s.last_built,
            "buildHistory": s.build_history.iter().map(|b| json!({
                "at": b.at, "tag": b.tag, "digest": b.digest,
            })).collect::<Vec<_>>(),
            "buildIntervalSeconds": build_interval(s),
            "audit": s.audit.iter().rev().take(3).map(|a| json!({
                "action": a.action, "at": a.at, "actor": a.actor, "reason": a.reason, "images": a.images,
                "scope": a.scope, "affected": a.affected,
            })).collect::<Vec<_>>(),
        })
    });
    json!({
        "image": {
            "name": m.name,
            "repoURL": m.repo_url,
            "sourceRepo": m.source_repo,
            "branch": m.branch,
            "dockerfile": m.dockerfile,
        },
        "policy": {
            "rebuildDelaySeconds": m.rebuild_delay_secs,
            "rebuildDelay": crate::duration::human(m.rebuild_delay_secs),
            "autoRebuild": m.auto_rebuild,
        },
        "bases": base_rows,
        "dispatch": dispatch,
        "dependents": dependents,
        "updates": updates,
        "state": state,
    })
}

/// The annotation an Argo CD Application needs before a Stage may sync it.
pub const AUTHORIZED_STAGE: &str = "kargo.akuity.io/authorized-stage";

/// Every Argo CD Application the update Stages sync, as (namespace, name),
/// with the value its [`AUTHORIZED_STAGE`] annotation must hold: every
/// Stage that syncs it, `<project>:<stage>`, comma-separated (Kargo ≥ 1.11
/// reads a list and rejects globs: `pkg/api/stage.go` `AuthorizedStages`).
pub fn authorized_stages(model: &Model, settings: &Settings) -> BTreeMap<(String, String), String> {
    let mut apps: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    for d in super::deployed(model) {
        for u in d.updates {
            if let Some(app) = &u.argocd {
                apps.entry(app.clone()).or_default().push(format!(
                    "{}:{}",
                    settings.kargo.project,
                    update_stage_name(d.name, &u.name)
                ));
            }
        }
    }
    apps.into_iter().map(|(k, v)| (k, v.join(","))).collect()
}

/// The update Stages of image `image`: what each writes, where its Freight
/// comes from, and what the Argo CD Applications they sync must carry.
fn explain_updates(
    model: &Model,
    settings: &Settings,
    image: usize,
    state: Option<&ImageState>,
) -> String {
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
            super::update::Deployed::managed(m).value(u).as_str(),
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
                    format!(
                        " and there {} without a break (the soak counts from its promotion there)",
                        crate::duration::human(u.soak_secs)
                    )
                } else {
                    String::new()
                }
            ),
        };
        let _ = writeln!(o, "      {from}");
        if let Some(w) = soak_starvation(m, u, state, &settings.kargo.project) {
            o.push_str(&w);
        }
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
                Some((ns, app)) => format!(
                    ", then sync Argo CD Application {ns}/{app} to the branch's head and wait until it is healthy"
                ),
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

/// The median gap between the recorded times `at` (RFC 3339; unreadable
/// ones are skipped), in seconds: how often something recently happened.
/// `None` with fewer than three times (two gaps): too little to tell.
fn median_interval<'a>(at: impl IntoIterator<Item = Option<&'a str>>) -> Option<u64> {
    let mut times: Vec<i64> = at
        .into_iter()
        .filter_map(|t| t.and_then(Timestamp::parse))
        .map(|t| t.0)
        .collect();
    times.sort_unstable();
    let mut gaps: Vec<i64> = times.windows(2).map(|w| w[1] - w[0]).collect();
    if gaps.len() < 2 {
        return None;
    }
    gaps.sort_unstable();
    u64::try_from(gaps[gaps.len() / 2]).ok()
}

/// How often image state `s` has recently been built: the median gap of
/// its `buildHistory`; `None` when too few builds are recorded to tell.
fn build_interval(s: &ImageState) -> Option<u64> {
    median_interval(s.build_history.iter().map(|b| b.at.as_deref()))
}

/// A warning when `base` publishes new digests more often than `image`'s
/// rebuild delay: each new digest replaces the soaking Freight and restarts
/// its soak, so the image may never rebuild without an approval. Judged from
/// the recorded update history (the median of the recent gaps).
fn starvation(state: &BaseImageState, base: &str, image: &str, delay_secs: u64) -> Option<String> {
    if delay_secs == 0 {
        return None;
    }
    let median = median_interval(state.update_history.iter().map(|u| u.at.as_deref()))?;
    (median < delay_secs).then(|| {
        format!(
            "    warning: {base} has published a new digest about every {} recently, more often than the rebuild delay ({}):\n      each new digest restarts the soak, so {image} may never rebuild by itself; shorten rebuildDelay, or approve with `imgf emergency`\n",
            crate::duration::hms(median),
            crate::duration::hms(delay_secs)
        )
    })
}

/// A warning when image `m` is built more often than update `u` soaks in
/// the update it comes `after`: each build that reaches that Stage replaces
/// the Freight soaking there, and Kargo counts a soak only while the Freight
/// stays (`api/v1alpha1/freight_types.go:170-196`), so `u` may never be
/// promoted by itself. Judged from the recorded builds (the median of the
/// recent gaps); nothing when too few are recorded.
fn soak_starvation(
    m: &crate::model::Managed,
    u: &crate::model::Update,
    state: Option<&ImageState>,
    project: &str,
) -> Option<String> {
    let after = &m.updates[u.after?];
    if u.soak_secs == 0 {
        return None;
    }
    // A Stage up the chain that a person promotes decides how long a build
    // stays: no rate to judge by.
    let mut up = Some(after);
    for _ in 0..=m.updates.len() {
        let Some(x) = up else { break };
        if !x.auto_promote {
            return None;
        }
        up = x.after.map(|a| &m.updates[a]);
    }
    let every = build_interval(state?)?;
    if every >= u.soak_secs {
        return None;
    }
    let (from, to) = (
        update_stage_name(&m.name, &after.name),
        update_stage_name(&m.name, &u.name),
    );
    let reach = if after.after.is_none() {
        format!("each build reaches {from} at once")
    } else {
        format!("builds reach {from} at most that often")
    };
    Some(format!(
        "      warning: {} has been built about every {} recently, more often than this soak ({}):\n        {reach} and replaces the build soaking there; Kargo counts a soak only while the Freight stays, so {to} may never be promoted by itself.\n        Shorten `soak`, promote `{}` by hand (`autoPromote: false` there), or approve a build: `kargo approve --project {project} --stage {to} --freight <FREIGHT>` (an approval supersedes the soak)\n",
        m.name,
        crate::duration::human(every),
        crate::duration::human(u.soak_secs),
        after.name,
    ))
}

/// `s` on one line, trimmed: control characters and Unicode line and
/// paragraph separators become spaces, so text a person typed cannot leave
/// the comment it is printed in.
fn one_line(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_control() || matches!(c, '\u{2028}' | '\u{2029}') {
                ' '
            } else {
                c
            }
        })
        .collect::<String>()
        .trim()
        .to_string()
}

/// `s` as one shell word, in single quotes: nothing in it is expanded.
fn sh_word(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// `names`, at most eight of them, for a help line.
fn some_names(names: &[&str]) -> String {
    const SHOWN: usize = 8;
    if names.is_empty() {
        return "none".into();
    }
    let mut s = names
        .iter()
        .take(SHOWN)
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ");
    if names.len() > SHOWN {
        let _ = write!(s, ", … ({} in all)", names.len());
    }
    s
}

/// Managed images built on `image`, directly or through other managed
/// The images among `image` and `below` that dependent `d` is built on.
fn built_on_within<'m>(model: &'m Model, d: usize, image: usize, below: &[usize]) -> Vec<&'m str> {
    model.managed[d]
        .bases
        .iter()
        .filter_map(|b| match b {
            BaseRef::Managed(x) if *x == image || below.contains(x) => {
                Some(model.managed[*x].name.as_str())
            }
            _ => None,
        })
        .collect()
}

/// images, in rebuild order.
pub fn dependents(model: &Model, graph: &Graph, image: usize) -> Vec<usize> {
    let below = downstream(model, &[image]);
    graph
        .order
        .iter()
        .copied()
        .filter(|i| *i != image && below[*i])
        .collect()
}

/// Which managed images are `roots` or built on one of them, transitively.
fn downstream(model: &Model, roots: &[usize]) -> Vec<bool> {
    let mut marked = vec![false; model.managed.len()];
    let mut todo: Vec<usize> = roots.to_vec();
    while let Some(cur) = todo.pop() {
        if std::mem::replace(&mut marked[cur], true) {
            continue;
        }
        for (i, m) in model.managed.iter().enumerate() {
            if !marked[i] && m.bases.contains(&BaseRef::Managed(cur)) {
                todo.push(i);
            }
        }
    }
    marked
}

/// The upstream image called `name`, if there is one.
pub fn upstream_named(model: &Model, name: &str) -> Option<usize> {
    model.upstream.iter().position(|u| u.name == name)
}

/// The managed image called `name`; else an error that suggests the nearest
/// names (an upstream image's name is the caller's to explain first).
pub fn find_managed(model: &Model, name: &str) -> Result<usize, Diagnostic> {
    if let Some(i) = model.managed.iter().position(|m| m.name == name) {
        return Ok(i);
    }
    let names: Vec<&str> = model.managed.iter().map(|m| m.name.as_str()).collect();
    let help = match did_you_mean_any(&nearest(name, &names, 3)) {
        Some(guess) => format!("{guess} (a managed image is one enrolled with a `source`)"),
        None => format!(
            "a managed image is one enrolled with a `source`: {}",
            some_names(&names)
        ),
    };
    Err(Diagnostic::error(format!("no managed image `{}`", name.escape_debug())).help(help))
}

/// The base image `word` names: an upstream image's name (its state file's
/// name), an enrolled image's name, or an image reference — `node:22`,
/// `docker.io/library/node:22` — matched as `imgf record-update --base`
/// matches one, on `registry/repository:tag` (an enrolled image on
/// `registry/repository`). Else an error that suggests the nearest names.
pub fn find_base(model: &Model, word: &str) -> Result<BaseRef, Diagnostic> {
    let all: Vec<BaseRef> = (0..model.upstream.len())
        .map(BaseRef::Upstream)
        .chain((0..model.managed.len()).map(BaseRef::Managed))
        .collect();
    if let Some(b) = all.iter().find(|b| model.base_name(**b) == word) {
        return Ok(*b);
    }
    let reference = |b: BaseRef| match b {
        BaseRef::Upstream(u) => {
            let up = &model.upstream[u];
            up.tag.as_ref().map(|t| format!("{}:{t}", up.repo_url))
        }
        BaseRef::Managed(_) => None,
    };
    let parsed = crate::image_ref::ImageRef::parse(word).ok();
    if let Some(r) = &parsed {
        let key = format!("{}:{}", r.repo_url(), r.tag.clone().unwrap_or_default());
        let by_tag = all.iter().find(|b| reference(**b).as_deref() == Some(&key));
        let by_repo = || {
            all.iter().find(
                |b| matches!(b, BaseRef::Managed(i) if model.managed[*i].repo_url == r.repo_url()),
            )
        };
        if let Some(b) = by_tag.or_else(by_repo) {
            return Ok(*b);
        }
    }
    let names: Vec<&str> = all.iter().map(|b| model.base_name(*b)).collect();
    let mut guesses = nearest(word, &names, 3);
    if let Some(r) = &parsed {
        // Compared in the short form people write (`node:22`), so the
        // registry and `library/` they share do not make any two alike.
        let short = |key: &str| {
            crate::image_ref::ImageRef::parse(key)
                .map_or_else(|_| key.to_string(), |r| r.familiar())
        };
        let word = short(&format!(
            "{}:{}",
            r.repo_url(),
            r.tag.clone().unwrap_or_default()
        ));
        let refs: Vec<(String, &str)> = all
            .iter()
            .filter_map(|b| Some((short(&reference(*b)?), model.base_name(*b))))
            .collect();
        let keys: Vec<&str> = refs.iter().map(|(k, _)| k.as_str()).collect();
        for k in nearest(&word, &keys, 3) {
            let name = refs.iter().find(|(r, _)| r == k).map(|(_, n)| *n);
            if let Some(n) = name.filter(|n| !guesses.contains(n)) {
                guesses.push(n);
            }
        }
        guesses.truncate(3);
    }
    let in_use: Vec<&str> = (0..model.upstream.len())
        .filter(|u| {
            model
                .managed
                .iter()
                .any(|m| m.bases.contains(&BaseRef::Upstream(*u)))
        })
        .map(|u| model.upstream[u].name.as_str())
        .collect();
    let takes = "--base takes a base image's name, its reference such as `node:22`, or an enrolled image's name";
    let help = match did_you_mean_any(&guesses) {
        Some(guess) => format!("{guess} ({takes})"),
        None => format!("{takes}; base images: {}", some_names(&in_use)),
    };
    Err(Diagnostic::error(format!("no base image `{}`", word.escape_debug())).help(help))
}

/// What an emergency rebuild touches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// Rebuild this managed image now (and what is built on it).
    Image(usize),
    /// Rebuild everything built on this base image now.
    Base(BaseRef),
}

/// The plan of an emergency rebuild.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Emergency {
    /// Affected managed images, in dependency order.
    pub images: Vec<String>,
    /// The shell script to run.
    pub script: String,
    /// The audit entry to append to each affected image's state.
    pub audit: AuditEntry,
    /// The script's steps, in order (for `--format json`).
    pub steps: Vec<EmergencyStep>,
}

impl Emergency {
    /// The audit entry for `image`'s state file: the plan's, naming only
    /// `image` (the scope and the count say the rest), so the entries of a
    /// deep chain grow linearly with it, not with its square.
    pub fn audit_for(&self, image: &str) -> AuditEntry {
        AuditEntry {
            images: vec![image.to_string()],
            ..self.audit.clone()
        }
    }
}

/// One step of an emergency plan: rebuild one image.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EmergencyStep {
    /// 1-based, as `sh FILE N` and `sh FILE only N` count. Steps that wait
    /// for nothing come first; an image built both on the emergency's base
    /// and on an affected image has a step of each kind.
    pub step: usize,
    pub image: String,
    /// The Stage promoted (approved, then promoted); `None` when no base is
    /// recorded and the build must be started by hand.
    pub stage: Option<String>,
    /// New builds of bases to wait for, each verified in its analysis Stage.
    pub wait_for: Vec<EmergencyBase>,
    /// Bases whose newest Freight is used at once.
    pub newest_of: Vec<EmergencyBase>,
    /// With no stage: where to start the build by hand (POST).
    pub dispatch_url: Option<String>,
}

/// A base an emergency step takes Freight from.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EmergencyBase {
    pub name: String,
    pub warehouse: String,
    /// The analysis Stage a new build must be verified in (waits only).
    pub verified_in: Option<String>,
}

/// How many seconds the script waits for a base's new build by default.
const WAIT_SECONDS: u32 = 7200;
/// How often it looks, in seconds.
const POLL_SECONDS: u32 = 60;

/// The script's helper functions. `$project`, `$from`, `$only` and (when
/// `gated`) `$since` are set before them; `$step` by each step.
fn helpers(p: &mut String, gated: bool) {
    let _ = writeln!(
        p,
        r#"# Whether step $1 is to run: from step $from on, and one of $only when given.
runs() {{
  [ "$1" -ge "$from" ] || return 1
  case $only in
    '' | *" $1 "*) return 0 ;;
    *) return 1 ;;
  esac
}}
# Step $step is not done: remember it, and that no new build of the image
# with Warehouse $1 comes from this run. The script goes on.
undone=''
no_build=' '
not_done() {{
  undone="$undone $step"
  no_build="$no_build$1 "
  echo "imgf: step $step not done; going on with the steps that do not need it" >&2
}}
# The newest Freight from Warehouse $1 created at or after $2 ('' for any), or nothing.
newest() {{
  kubectl -n "$project" get freight.kargo.akuity.io --sort-by=.metadata.creationTimestamp \
    -o "jsonpath={{range .items[?(@.origin.name=='$1')]}}{{.metadata.creationTimestamp}}{{' '}}{{.metadata.name}}{{'\n'}}{{end}}" |
    awk -v since="$2" '$1 >= since {{ f = $2 }} END {{ print f }}'
}}
# The newest Freight from Warehouse $1; fails when there is none.
latest() {{
  f=$(newest "$1" '')
  if [ -z "$f" ]; then
    echo "imgf: step $step: no Freight from Warehouse $1 in project $project" >&2
    return 1
  fi
  echo "$f"
}}"#
    );
    if !gated {
        return;
    }
    let _ = writeln!(
        p,
        r#"# Whether Freight $1 is verified in Stage $2.
verified_in() {{
  [ -n "$(kubectl -n "$project" get freight.kargo.akuity.io "$1" -o "jsonpath={{.status.verifiedIn['$2']}}")" ]
}}
# Waits until Warehouse $1 has Freight created since the emergency and
# verified in Stage $2, and sets $found to it; fails after $wait_seconds, or
# at once when an earlier step of this run means that build will not come.
wait_for_verified() {{
  case $no_build in *" $1 "*)
    echo "imgf: step $step: skipped: no new build of $1 comes from this run (a step it needs was not done)" >&2
    return 1 ;;
  esac
  waited=0
  echo "imgf: step $step: waiting for a new build of $1 verified in Stage $2 (at most ${{wait_seconds}}s)" >&2
  while :; do
    found=$(newest "$1" "$since")
    if [ -n "$found" ] && verified_in "$found" "$2"; then
      return 0
    fi
    if [ "$waited" -ge "$wait_seconds" ]; then
      echo "imgf: step $step: no new build of $1 verified in Stage $2 after ${{waited}}s; nothing built on it is approved." >&2
      echo "imgf: to look: kargo get freight --project $project --warehouse $1" >&2
      no_build="$no_build$1 "
      return 1
    fi
    sleep "$poll_seconds"
    waited=$((waited + poll_seconds))
  done
}}"#
    );
}

/// Plans an emergency rebuild; `Err` says what is wrong with the request.
///
/// The script first does everything that waits for nothing: approving and
/// promoting, into the rebuild Stages of the directly affected images, the
/// newest Freight of the bases the emergency concerns. Each image built on
/// an affected image gets a later step that first waits — polling, with a
/// timeout — until the new build of that base exists and is verified in its
/// analysis Stage, so piped to `sh` it never approves a dependent early. A
/// step that fails or times out is remembered, the steps that need it are
/// skipped, the others still run, and the script exits non-zero at the end.
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
    let steps: Vec<(usize, Vec<(BaseRef, bool)>)> = now_steps.chain(wait_steps).collect();
    let first_wait = steps.iter().position(|(_, c)| c.iter().any(|(_, w)| *w));
    let gated = first_wait.is_some();

    let p = &settings.kargo.project;
    let mut s = String::new();
    let _ = writeln!(s, "#!/bin/sh");
    let _ = writeln!(s, "# Emergency rebuild, {now}, by {actor}: {reason}");
    let _ = writeln!(s, "# Images, in rebuild order: {}.", names.join(", "));
    let _ = writeln!(
        s,
        "# A manual approval supersedes requiredSoakTime; later updates soak as usual."
    );
    let _ = writeln!(
        s,
        "#
# Each step approves and promotes Freight into one image's rebuild Stage.
# When a step fails, the script goes on with the steps that do not need it,
# then lists the steps not done and exits non-zero: `sh FILE only N M`
# runs just those, `sh FILE N` runs from step N on."
    );
    if let Some(w) = first_wait {
        let first = if w == 1 {
            "Step 1 waits for nothing and runs first".to_string()
        } else {
            format!("Steps 1 to {w} wait for nothing and run first")
        };
        let _ = writeln!(
            s,
            "#
# {first}. Every later
# step first waits until each new build it needs exists (Freight created
# since {now}) and is verified in that image's analyze-dockerfile Stage: it
# looks every $IMGF_POLL_SECONDS ({POLL_SECONDS}) seconds for at most $IMGF_WAIT_SECONDS
# ({WAIT_SECONDS}) per build; if the build is not there by then, nothing built on
# it is approved. Keep this file to run it again."
        );
    }
    let _ = writeln!(s, "set -eu");
    let _ = writeln!(s, "project={}", sh_word(p));
    let _ = writeln!(
        s,
        r#"usage() {{
  echo "usage: sh FILE [STEP | only STEP...]" >&2
  exit 2
}}
from=1
only=''
case ${{1:-}} in
  only) shift; [ "$#" -gt 0 ] || usage; only=" $* " ;;
  ?*) from=$1; shift; [ "$#" -eq 0 ] || usage ;;
esac
for n in "$from" "$@"; do
  case $n in ''|*[!0-9]*) usage ;; esac
done"#
    );
    if gated {
        let _ = writeln!(s, "since={}", sh_word(&now.to_string()));
        let _ = writeln!(s, "wait_seconds=${{IMGF_WAIT_SECONDS:-{WAIT_SECONDS}}}");
        let _ = writeln!(s, "poll_seconds=${{IMGF_POLL_SECONDS:-{POLL_SECONDS}}}");
    }
    helpers(&mut s, gated);
    // The rebuild Stages the steps promote to (an image without bases has none).
    let mut stages: Vec<String> = Vec::new();
    for (i, concerned) in &steps {
        let stage = rebuild_stage_name(&model.managed[*i].name);
        if !concerned.is_empty() && !stages.contains(&stage) {
            stages.push(stage);
        }
    }
    s.push_str(&super::security::authorisation_check(&stages, sh_word));

    let mut plan_steps = Vec::with_capacity(steps.len());
    for (n, (i, concerned)) in steps.iter().enumerate() {
        let step = n + 1;
        let m = &model.managed[*i];
        let stage = rebuild_stage_name(&m.name);
        let base = |b: &BaseRef, wait: bool| EmergencyBase {
            name: model.base_name(*b).to_string(),
            warehouse: warehouse_name(model, *b),
            verified_in: wait.then(|| analysis_stage_name(model.base_name(*b))),
        };
        plan_steps.push(EmergencyStep {
            step,
            image: m.name.clone(),
            stage: (!concerned.is_empty()).then(|| stage.clone()),
            wait_for: concerned
                .iter()
                .filter(|(_, w)| *w)
                .map(|(b, _)| base(b, true))
                .collect(),
            newest_of: concerned
                .iter()
                .filter(|(_, w)| !*w)
                .map(|(b, _)| base(b, false))
                .collect(),
            dispatch_url: concerned
                .is_empty()
                .then(|| super::rebuild::dispatch_url(m, settings)),
        });
        let _ = writeln!(s);
        if concerned.is_empty() {
            let _ = writeln!(
                s,
                "# {step}. {}: no base images are recorded, so there is no rebuild Stage:\n#    start its build by hand (POST {}, ref {}).",
                m.name,
                super::rebuild::dispatch_url(m, settings),
                m.branch
            );
            continue;
        }
        // A step either waits for every base it takes (new builds) or for
        // none (the newest Freight there is).
        let wait = concerned[0].1;
        let bases: Vec<&str> = concerned.iter().map(|(b, _)| model.base_name(*b)).collect();
        if wait {
            let _ = writeln!(
                s,
                "# {step}. {}: once the new build of {} is verified in Stage {}",
                m.name,
                bases.join(" and of "),
                bases
                    .iter()
                    .map(|w| analysis_stage_name(w))
                    .collect::<Vec<_>>()
                    .join(" and ")
            );
            for w in &bases {
                let _ = writeln!(
                    s,
                    "#    (to look: kargo get freight --project {p} --warehouse {})",
                    crate::names::fit(w)
                );
            }
        } else {
            let _ = writeln!(
                s,
                "# {step}. {}: now, from the newest Freight of {}",
                m.name,
                bases.join(", ")
            );
        }
        let _ = writeln!(s, "step={step}");
        let _ = writeln!(s, "if runs {step}; then");
        // One AND-list: each command runs only if everything before it
        // succeeded, and any failure ends in `not_done`, never in an exit
        // (an `if`, not `A && B || C`, which shellcheck rightly questions).
        let var = |k: usize| format!("f{}", k + 1);
        let mut list: Vec<String> = Vec::new();
        for (k, (b, _)) in concerned.iter().enumerate() {
            let warehouse = sh_word(&warehouse_name(model, *b));
            if wait {
                list.push(format!(
                    "wait_for_verified {warehouse} {} && {}=$found",
                    sh_word(&analysis_stage_name(model.base_name(*b))),
                    var(k)
                ));
            } else {
                list.push(format!("{}=$(latest {warehouse})", var(k)));
            }
        }
        for k in 0..concerned.len() {
            for verb in ["approve", "promote"] {
                list.push(format!(
                    "kargo {verb} --project \"$project\" --freight \"${}\" --stage {}",
                    var(k),
                    sh_word(&stage)
                ));
            }
        }
        let _ = writeln!(s, "  if ! {{\n    {}\n  }}; then", list.join(" &&\n      "));
        let _ = writeln!(
            s,
            "    not_done {}\n  fi",
            sh_word(&warehouse_name(model, BaseRef::Managed(*i)))
        );
        let _ = writeln!(s, "fi");
    }
    let _ = writeln!(
        s,
        r#"
if [ -n "$undone" ]; then
  echo "imgf: steps not done:$undone. Once what they need is there, run just those: sh FILE only$undone" >&2
  exit 1
fi"#
    );
    Ok(Emergency {
        images: names.clone(),
        script: s,
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
        },
        steps: plan_steps,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::enrollment::{Provider, UpdateValue};
    use crate::model::{Managed, Update};
    use crate::state::Build;

    const H: i64 = 3600;

    fn at(secs: i64) -> String {
        Timestamp(1_800_000_000 + secs).to_string()
    }

    fn built_every(gaps: &[i64]) -> ImageState {
        let mut t = 0;
        let mut times = vec![t];
        for g in gaps {
            t += g;
            times.push(t);
        }
        ImageState {
            build_history: times
                .into_iter()
                .map(|t| Build {
                    at: Some(at(t)),
                    tag: None,
                    digest: None,
                })
                .collect(),
            ..ImageState::default()
        }
    }

    /// `app` with `staging` (from the Warehouse) and `prod` (`after:
    /// staging`, `soak` seconds).
    fn chain(soak: u64) -> Managed {
        let update = |name: &str, after: Option<usize>, soak_secs: u64| Update {
            name: name.into(),
            repo_url: "https://github.com/org/deploy.git".into(),
            provider: Provider::Github,
            branch: "main".into(),
            path: format!("apps/{name}"),
            yaml_key: None,
            value: UpdateValue::Tag,
            value_given: false,
            entry: 0,
            index: 0,
            after,
            soak_secs,
            pull_request: false,
            argocd: None,
            verify: vec![],
            auto_promote: true,
        };
        let mut m = Model::sample().managed.remove(0);
        m.updates = vec![update("staging", None, 0), update("prod", Some(0), soak)];
        m
    }

    #[test]
    fn the_interval_is_the_median_gap_and_needs_three_times() {
        let t = |v: &[i64]| v.iter().map(|s| at(*s)).collect::<Vec<_>>();
        let median = |v: &[String]| median_interval(v.iter().map(|s| Some(s.as_str())));
        assert_eq!(median(&t(&[])), None);
        assert_eq!(median(&t(&[0, 12 * H])), None, "one gap is too little");
        assert_eq!(median(&t(&[0, 12 * H, 24 * H])), Some(12 * 3600));
        // Out of order and one long pause (a weekend): the median ignores it.
        assert_eq!(
            median(&t(&[36 * H, 0, 12 * H, 24 * H, 108 * H])),
            Some(12 * 3600)
        );
        // Unreadable times are skipped, not guessed.
        let mut v = t(&[0, 10 * H, 20 * H]);
        v.push("yesterday".into());
        assert_eq!(median(&v), Some(10 * 3600));
        assert_eq!(median_interval([None, None, None]), None);
        assert_eq!(build_interval(&ImageState::default()), None);
        assert_eq!(build_interval(&built_every(&[H, 2 * H, 3 * H])), Some(7200));
    }

    #[test]
    fn an_after_soak_longer_than_the_build_interval_warns() {
        let m = chain(24 * 3600);
        let prod = &m.updates[1];
        let w = soak_starvation(&m, prod, Some(&built_every(&[12 * H; 4])), "p").unwrap();
        assert!(
            w.contains(
                "app has been built about every 12h recently, more often than this soak (1d)"
            ),
            "{w}"
        );
        assert!(
            w.contains("each build reaches update-app-staging at once"),
            "{w}"
        );
        assert!(
            w.contains("kargo approve --project p --stage update-app-prod --freight <FREIGHT>"),
            "{w}"
        );
        // Built every 3 days, or as often as the soak: no warning.
        assert_eq!(
            soak_starvation(&m, prod, Some(&built_every(&[72 * H; 4])), "p"),
            None
        );
        assert_eq!(
            soak_starvation(&m, prod, Some(&built_every(&[24 * H; 4])), "p"),
            None
        );
        // Nothing recorded, or too little: it cannot tell, so it says nothing.
        assert_eq!(soak_starvation(&m, prod, None, "p"), None);
        assert_eq!(
            soak_starvation(&m, prod, Some(&built_every(&[H])), "p"),
            None
        );
        // No soak, or no `after`: nothing to starve.
        assert_eq!(
            soak_starvation(
                &chain(0),
                &chain(0).updates[1],
                Some(&built_every(&[H; 4])),
                "p"
            ),
            None
        );
        assert_eq!(
            soak_starvation(&m, &m.updates[0], Some(&built_every(&[H; 4])), "p"),
            None
        );
    }

    #[test]
    fn a_person_promoting_up_the_chain_silences_the_warning() {
        let often = built_every(&[H; 4]);
        let mut m = chain(24 * 3600);
        m.updates[0].auto_promote = false;
        assert_eq!(soak_starvation(&m, &m.updates[1], Some(&often), "p"), None);
        // Staging after a manual `qa`: still a person decides.
        let mut m = chain(24 * 3600);
        let mut qa = m.updates[0].clone();
        qa.name = "qa".into();
        qa.auto_promote = false;
        m.updates.push(qa);
        m.updates[0].after = Some(2);
        assert_eq!(soak_starvation(&m, &m.updates[1], Some(&often), "p"), None);
        // All automatic: builds reach staging at most that often.
        m.updates[2].auto_promote = true;
        let w = soak_starvation(&m, &m.updates[1], Some(&often), "p").unwrap();
        assert!(
            w.contains("builds reach update-app-staging at most that often"),
            "{w}"
        );
    }
}
