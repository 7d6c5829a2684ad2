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
use crate::diagnostic::{did_you_mean_any, nearest, Diagnostic};
use crate::graph::Graph;
use crate::model::{BaseRef, Model};
use crate::targets::kargo::{analysis_stage_name, rebuild_stage_name, soak_stage_name, warehouse};
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
            let on: Vec<&str> = model.managed[*d]
                .bases
                .iter()
                .filter_map(|b| match b {
                    BaseRef::Managed(x) if *x == image || below.contains(x) => {
                        Some(model.managed[*x].name.as_str())
                    }
                    _ => None,
                })
                .collect();
            w(
                &mut o,
                format!("    {} (on {})", model.managed[*d].name, on.join(", ")),
            );
        }
    }
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
    Image(usize),
    /// Rebuild everything built on this base image now.
    Base(BaseRef),
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
        Scope::Image(i) => (vec![*i], BaseRef::Managed(*i)),
        Scope::Base(base) => {
            let deps: Vec<usize> = (0..model.managed.len())
                .filter(|i| model.managed[*i].bases.contains(base))
                .collect();
            if deps.is_empty() {
                return Err(format!("nothing is built on `{}`", model.base_name(*base)));
            }
            (deps, *base)
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
            let _ = writeln!(
                script,
                "kargo promote --project {p} --freight \"${var}\" --stage {stage}"
            );
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
