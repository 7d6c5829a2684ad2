//! `imgf explain IMAGE`: how one managed image is rebuilt and what it waits
//! for, as one report ([`Explain`]), computed once from the model, the state
//! files and the clock the command supplies. Its two renderings: the text
//! ([`Explain::text`]) and the JSON (its `Serialize`, whose shape is
//! documented in the guide (docs/src/operations/explain.md) and stable: fields are only ever added). Pure.
//!
//! What is Kargo's — the names of Stages and Warehouses, the dispatch, the
//! warnings about soaks a base or a build keeps restarting — comes from
//! [`crate::targets::kargo::runbook`].

use std::collections::BTreeMap;
use std::fmt::Write as _;

use schemars::JsonSchema;
use serde::Serialize;

use crate::config::settings::Settings;
use crate::graph::Graph;
use crate::model::{BaseRef, Model};
use crate::state::{BaseImageState, ImageState};
use crate::targets::kargo::runbook::{self, SoakStarvation, Starvation, AUTHORIZED_STAGE};
use crate::targets::kargo::{
    analysis_stage_name, image_warehouse_name, rebuild_stage_name, soak_stage_name,
    update_stage_name, verify_template_name, warehouse, warehouse_name,
};
use crate::timestamp::Timestamp;

/// How a managed image is rebuilt: `imgf explain IMAGE`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Explain {
    pub image: Image,
    pub policy: Policy,
    /// Its base images, as recorded by the analysis, each with the Warehouse
    /// and Stages a new version of it goes through.
    pub bases: Vec<Base>,
    /// The build dispatch of its rebuild Stage; `null` with no base
    /// recorded (nothing triggers a rebuild).
    pub dispatch: Option<Dispatch>,
    /// The enrolled images built on it, in rebuild order.
    pub dependents: Vec<Dependent>,
    /// Its update Stages: where each new build goes.
    pub updates: Vec<UpdateRow>,
    /// What its state file records; `null` without one.
    pub state: Option<State>,
    /// The Kargo project (the text's commands name it).
    #[serde(skip)]
    pub project: String,
}

/// The image as enrolled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Image {
    pub name: String,
    #[serde(rename = "repoURL")]
    pub repo_url: String,
    pub source_repo: String,
    pub branch: String,
    pub dockerfile: String,
}

/// Its rebuild policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Policy {
    pub rebuild_delay_seconds: u64,
    /// The delay as people write it (`1d`).
    pub rebuild_delay: String,
    pub auto_rebuild: bool,
}

/// Whether a base is watched upstream or is an enrolled image (a cascade).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub(crate) enum BaseKind {
    Upstream,
    Managed,
}

/// One base image and the way from a new version of it to a rebuild.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Base {
    pub name: String,
    pub kind: BaseKind,
    #[serde(rename = "repoURL")]
    pub repo_url: String,
    /// The watched tag (upstream bases only).
    pub tag: Option<String>,
    pub warehouse: Warehouse,
    /// The soak Stage (upstream) or analysis Stage (managed), then the
    /// image's rebuild Stage.
    pub stages: [String; 2],
    /// The base's state file (upstream bases only).
    pub state: Option<BaseState>,
    /// At most one: the base publishes more often than the rebuild delay.
    #[schemars(with = "Vec<String>")]
    pub warnings: Vec<Starvation>,
}

/// The Warehouse a base's new versions come from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Warehouse {
    pub name: String,
    /// Upstream bases only.
    pub tag_regex: Option<String>,
    /// How often it looks (upstream bases only).
    pub interval: Option<String>,
}

/// What an upstream base's state file says, for this image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct BaseState {
    pub current_digest: Option<String>,
    pub last_updated: Option<String>,
    /// When the image may rebuild from the current digest.
    pub rebuild_eligible_at: Option<String>,
    /// Whether that time is still to come.
    pub waiting: bool,
    /// Whole hours until then (0 unless waiting), for the text.
    #[serde(skip)]
    pub hours_left: i64,
}

/// The dispatch that starts a build.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub(crate) struct Dispatch {
    /// The Stage that sends it.
    pub stage: String,
    pub url: String,
    #[serde(rename = "ref")]
    pub git_ref: String,
    pub inputs: Vec<String>,
}

/// An enrolled image built on the explained one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub(crate) struct Dependent {
    pub name: String,
    /// Which of the explained image and its dependents it is built on.
    pub on: Vec<String>,
}

/// How an update Stage writes the new build.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum UpdateKind {
    YamlUpdate,
    KustomizeSetImage,
}

/// One update Stage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct UpdateRow {
    pub name: String,
    pub stage: String,
    pub kind: UpdateKind,
    #[serde(rename = "repoURL")]
    pub repo_url: String,
    pub branch: String,
    pub path: String,
    /// The YAML key written (`yaml-update` only).
    pub key: Option<String>,
    /// The value as enrolled.
    pub value: String,
    /// The update Stage it takes Freight from; `null`: the image's Warehouse.
    pub after: Option<String>,
    pub soak_seconds: u64,
    pub pull_request: bool,
    pub argocd: Option<ArgoApp>,
    pub verify: Option<Verify>,
    pub auto_promote: bool,
    /// At most one: builds come more often than this soak.
    #[schemars(with = "Vec<String>")]
    pub warnings: Vec<SoakStarvation>,
    /// The value the Stage writes (an image selected by digest writes the
    /// digest), for the text.
    #[serde(skip)]
    pub writes: String,
}

/// The Argo CD Application an update Stage syncs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ArgoApp {
    pub namespace: String,
    pub name: String,
    /// The value its `kargo.akuity.io/authorized-stage` annotation must hold.
    pub authorized_stage: Option<String>,
}

/// The verification of an update Stage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub(crate) struct Verify {
    /// Its AnalysisTemplate.
    pub template: String,
    pub checks: usize,
}

/// What the image's state file records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct State {
    pub discovery_status: Option<String>,
    pub discovery_error: Option<String>,
    pub current_version: Option<String>,
    pub current_digest: Option<String>,
    pub last_built: Option<String>,
    pub build_history: Vec<BuildRow>,
    /// The median gap between recent builds; `null` when too few are recorded.
    pub build_interval_seconds: Option<u64>,
    /// The last three audit entries, newest first.
    pub audit: Vec<AuditRow>,
}

/// One recorded build.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub(crate) struct BuildRow {
    pub at: Option<String>,
    pub tag: Option<String>,
    pub digest: Option<String>,
}

/// One audit entry (every field, `null` when not recorded).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub(crate) struct AuditRow {
    pub action: String,
    pub at: String,
    pub actor: String,
    pub reason: String,
    pub images: Vec<String>,
    pub scope: Option<String>,
    pub affected: Option<usize>,
}

/// The report on managed image `image`, its state file `image_state` and
/// the base images' `bases`, at `now`.
pub(crate) fn report(
    model: &Model,
    graph: &Graph,
    settings: &Settings,
    image: usize,
    image_state: Option<&ImageState>,
    bases: &BTreeMap<String, BaseImageState>,
    now: Timestamp,
) -> Explain {
    let m = &model.managed[image];
    let rebuild = rebuild_stage_name(&m.name);
    let base_rows = m
        .bases
        .iter()
        .map(|b| {
            let base_name = model.base_name(*b);
            match b {
                BaseRef::Upstream(u) => {
                    let up = &model.upstream[*u];
                    let state = bases.get(base_name);
                    Base {
                        name: base_name.to_string(),
                        kind: BaseKind::Upstream,
                        repo_url: up.repo_url.clone(),
                        tag: up.tag.clone(),
                        warehouse: Warehouse {
                            name: crate::names::fit(base_name),
                            tag_regex: Some(up.tag_regex.clone()),
                            interval: Some(warehouse::polite_interval(up, settings)),
                        },
                        stages: [soak_stage_name(base_name), rebuild.clone()],
                        state: state.map(|s| base_state(s, &m.name, now)),
                        warnings: state
                            .and_then(|s| {
                                runbook::starvation(s, base_name, &m.name, m.rebuild_delay_secs)
                            })
                            .into_iter()
                            .collect(),
                    }
                }
                BaseRef::Managed(i) => Base {
                    name: base_name.to_string(),
                    kind: BaseKind::Managed,
                    repo_url: model.managed[*i].repo_url.clone(),
                    tag: None,
                    warehouse: Warehouse {
                        name: warehouse_name(model, *b),
                        tag_regex: None,
                        interval: None,
                    },
                    stages: [analysis_stage_name(base_name), rebuild.clone()],
                    state: None,
                    warnings: Vec::new(),
                },
            }
        })
        .collect();
    let below = runbook::dependents(model, graph, image);
    let dependents = below
        .iter()
        .map(|d| Dependent {
            name: model.managed[*d].name.clone(),
            on: runbook::built_on_within(model, *d, image, &below)
                .into_iter()
                .map(str::to_string)
                .collect(),
        })
        .collect();
    let apps = runbook::authorized_stages(model, settings);
    let deployed = crate::targets::kargo::update::Deployed::managed(m);
    let updates = m
        .updates
        .iter()
        .map(|u| UpdateRow {
            name: u.name.clone(),
            stage: update_stage_name(&m.name, &u.name),
            kind: if u.yaml_key.is_some() {
                UpdateKind::YamlUpdate
            } else {
                UpdateKind::KustomizeSetImage
            },
            repo_url: u.repo_url.clone(),
            branch: u.branch.clone(),
            path: u.path.clone(),
            key: u.yaml_key.clone(),
            value: u.value.as_str().to_string(),
            after: u
                .after
                .map(|a| update_stage_name(&m.name, &m.updates[a].name)),
            soak_seconds: u.soak_secs,
            pull_request: u.pull_request,
            argocd: u.argocd.as_ref().map(|(ns, app)| ArgoApp {
                namespace: ns.clone(),
                name: app.clone(),
                authorized_stage: apps.get(&(ns.clone(), app.clone())).cloned(),
            }),
            verify: (!u.verify.is_empty()).then(|| Verify {
                template: verify_template_name(&m.name, &u.name),
                checks: u.verify.len(),
            }),
            auto_promote: u.auto_promote,
            warnings: runbook::soak_starvation(m, u, image_state, &settings.kargo.project)
                .into_iter()
                .collect(),
            writes: deployed.value(u).as_str().to_string(),
        })
        .collect();
    let dispatch = (!m.bases.is_empty()).then(|| Dispatch {
        stage: rebuild.clone(),
        url: crate::targets::kargo::rebuild::dispatch_url(m, settings),
        git_ref: m.branch.clone(),
        inputs: m.inputs.iter().map(|s| (*s).to_string()).collect(),
    });
    let state = image_state.map(|s| State {
        discovery_status: s.discovery_status.clone(),
        discovery_error: s.discovery_error.clone(),
        current_version: s.current_version.clone(),
        current_digest: s.current_digest.clone(),
        last_built: s.last_built.clone(),
        build_history: s
            .build_history
            .iter()
            .map(|b| BuildRow {
                at: b.at.clone(),
                tag: b.tag.clone(),
                digest: b.digest.clone(),
            })
            .collect(),
        build_interval_seconds: runbook::build_interval(s),
        audit: s
            .audit
            .iter()
            .rev()
            .take(3)
            .map(|a| AuditRow {
                action: a.action.clone(),
                at: a.at.clone(),
                actor: a.actor.clone(),
                reason: a.reason.clone(),
                images: a.images.clone(),
                scope: a.scope.clone(),
                affected: a.affected,
            })
            .collect(),
    });
    Explain {
        image: Image {
            name: m.name.clone(),
            repo_url: m.repo_url.clone(),
            source_repo: m.source_repo.clone(),
            branch: m.branch.clone(),
            dockerfile: m.dockerfile.clone(),
        },
        policy: Policy {
            rebuild_delay_seconds: m.rebuild_delay_secs,
            rebuild_delay: crate::duration::human(m.rebuild_delay_secs),
            auto_rebuild: m.auto_rebuild,
        },
        bases: base_rows,
        dispatch,
        dependents,
        updates,
        state,
        project: settings.kargo.project.clone(),
    }
}

/// What base state `state` says for `image` at `now`.
fn base_state(state: &BaseImageState, image: &str, now: Timestamp) -> BaseState {
    let eligible = state
        .rebuild_eligible_at
        .as_ref()
        .and_then(|e| e.get(image).cloned().flatten())
        .and_then(|t| Timestamp::parse(&t));
    let waiting = eligible.is_some_and(|t| t > now);
    BaseState {
        current_digest: state.current_digest.clone(),
        last_updated: state.last_updated.clone(),
        rebuild_eligible_at: eligible.map(|t| t.to_string()),
        waiting,
        hours_left: match eligible {
            Some(t) if waiting => (t.0 - now.0) / 3600,
            _ => 0,
        },
    }
}

impl Explain {
    /// The report as text: Warehouse → Stages → dispatch, with the delay
    /// and policy, the images built on it, and what it is waiting for.
    pub(crate) fn text(&self) -> String {
        let (m, p) = (&self.image, &self.policy);
        let mut o = String::new();
        let delay = crate::duration::hms(p.rebuild_delay_seconds);
        let _ = writeln!(o, "{} ({})", m.name, m.repo_url);
        let _ = writeln!(
            o,
            "  built from {}@{}: {}",
            m.source_repo, m.branch, m.dockerfile
        );
        let _ = writeln!(
            o,
            "  policy: rebuildDelay {} (requiredSoakTime {delay}); autoRebuild {}",
            p.rebuild_delay,
            if p.auto_rebuild {
                "true: the ProjectConfig promotes rebuilds automatically"
            } else {
                "false: a person must promote each rebuild (Stage not auto-promoted)"
            }
        );
        if self.bases.is_empty() {
            let _ = writeln!(
                o,
                "  no base images recorded: nothing triggers a rebuild (run `imgf analyze`)"
            );
        }
        for b in &self.bases {
            let [first, rebuild] = &b.stages;
            match b.kind {
                BaseKind::Upstream => {
                    let _ = writeln!(
                        o,
                        "  base {} (upstream {}:{})",
                        b.name,
                        b.repo_url,
                        b.tag.as_deref().unwrap_or("?")
                    );
                    let _ = writeln!(
                        o,
                        "    Warehouse {} — tag {} every {}",
                        b.warehouse.name,
                        b.warehouse.tag_regex.as_deref().unwrap_or_default(),
                        b.warehouse.interval.as_deref().unwrap_or_default()
                    );
                    let _ = writeln!(
                        o,
                        "    → Stage {first} (promoted at once; soak restarts when a newer digest replaces it)"
                    );
                    let _ = writeln!(
                        o,
                        "    → Stage {rebuild} once the Freight has soaked {delay}"
                    );
                    if let Some(state) = &b.state {
                        base_status(&mut o, state, &m.name);
                        for w in &b.warnings {
                            o.push_str(&w.text());
                        }
                    }
                }
                BaseKind::Managed => {
                    let _ = writeln!(o, "  base {} (enrolled image: a cascade)", b.name);
                    let _ = writeln!(
                        o,
                        "    Warehouse {} — each new build of {}",
                        b.name, b.repo_url
                    );
                    let _ = writeln!(o, "    → Stage {first} (analyses and verifies the build)");
                    let _ = writeln!(
                        o,
                        "    → Stage {rebuild} once the verified build has soaked {delay}"
                    );
                }
            }
        }
        if let Some(d) = &self.dispatch {
            let rebuild = &d.stage;
            let _ = writeln!(
                o,
                "  dispatch from Stage {rebuild}: POST {} (ref {})",
                d.url, d.git_ref
            );
            let _ = writeln!(
                o,
                "    inputs: {}",
                if d.inputs.is_empty() {
                    "none".to_string()
                } else {
                    d.inputs.join(", ")
                }
            );
            let p = &self.project;
            let _ = writeln!(
                o,
                "  if a dispatch failed (a 401 after a token rotation, a 422, a timeout), Kargo does not"
            );
            let _ = writeln!(
                o,
                "  promote that Freight again by itself; after fixing the cause, find it and promote it again:"
            );
            let _ = writeln!(
                o,
                "    kargo get promotions --project {p} --stage {rebuild}"
            );
            let _ = writeln!(
                o,
                "    kargo promote --project {p} --stage {rebuild} --freight <FREIGHT of the failed promotion>"
            );
        }
        if self.dependents.is_empty() {
            let _ = writeln!(o, "  no enrolled image is built on {}", m.name);
        } else {
            let _ = writeln!(
                o,
                "  built on it, in rebuild order (each after the new build of its base is analysed):"
            );
            for d in &self.dependents {
                let _ = writeln!(o, "    {} (on {})", d.name, d.on.join(", "));
            }
        }
        self.updates_text(&mut o);
        if let Some(s) = &self.state {
            // What is recorded, and nothing about what is not: no "unknown".
            let build = match (s.current_version.as_deref(), s.last_built.as_deref()) {
                (Some(v), Some(at)) => format!("; last build {v} at {at}"),
                (Some(v), None) => format!("; last build {v}"),
                (None, Some(at)) => format!("; last build at {at}"),
                (None, None) => String::new(),
            };
            let _ = writeln!(
                o,
                "  analysis: {}{}{build}",
                s.discovery_status.as_deref().unwrap_or("never run"),
                s.discovery_error
                    .as_deref()
                    .map_or(String::new(), |e| format!(" ({e})")),
            );
            if let Some(every) = s.build_interval_seconds {
                let _ = writeln!(
                    o,
                    "  builds: about every {} recently ({} recorded)",
                    crate::duration::human(every),
                    s.build_history.len()
                );
            }
            for a in &s.audit {
                let _ = writeln!(
                    o,
                    "  audit: {} by {} at {}: {}",
                    a.action, a.actor, a.at, a.reason
                );
            }
        }
        o
    }

    /// The update Stages: what each writes, where its Freight comes from,
    /// and what the Argo CD Applications they sync must carry.
    fn updates_text(&self, o: &mut String) {
        let m = &self.image;
        if self.updates.is_empty() {
            return;
        }
        let _ = writeln!(
            o,
            "  updates (where each new build of {} goes):",
            m.repo_url
        );
        for u in &self.updates {
            let what = match (&u.kind, &u.key) {
                (UpdateKind::YamlUpdate, Some(k)) => format!("yaml-update {} key {k}", u.path),
                _ => format!("kustomize-set-image {} (images: {})", u.path, m.repo_url),
            };
            let _ = writeln!(
                o,
                "    Stage {}: {what} = {} in {}@{}",
                u.stage, u.writes, u.repo_url, u.branch
            );
            let from = match &u.after {
                None => format!(
                    "from Warehouse {} (each new build; commits never bump it)",
                    image_warehouse_name(&m.name)
                ),
                Some(after) => format!(
                    "from Stage {after} once verified there{}",
                    if u.soak_seconds > 0 {
                        format!(
                            " and there {} without a break (the soak counts from its promotion there)",
                            crate::duration::human(u.soak_seconds)
                        )
                    } else {
                        String::new()
                    }
                ),
            };
            let _ = writeln!(o, "      {from}");
            for w in &u.warnings {
                o.push_str(&w.text());
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
                    Some(a) => format!(
                        ", then sync Argo CD Application {}/{} to the branch's head and wait until it is healthy",
                        a.namespace, a.name
                    ),
                    None => String::new(),
                }
            );
            if let Some(v) = &u.verify {
                let _ = writeln!(
                    o,
                    "      verified by AnalysisTemplate {} ({} check(s)); only verified Freight moves on",
                    v.template, v.checks
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
        let mine: BTreeMap<(&str, &str), &str> = self
            .updates
            .iter()
            .filter_map(|u| u.argocd.as_ref())
            .filter_map(|a| {
                let value = a.authorized_stage.as_deref()?;
                Some(((a.namespace.as_str(), a.name.as_str()), value))
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
    }
}

/// What an upstream base's state says for `image`, as the text prints it.
fn base_status(o: &mut String, state: &BaseState, image: &str) {
    let Some(digest) = &state.current_digest else {
        o.push_str("    no new digest recorded yet\n");
        return;
    };
    let _ = writeln!(
        o,
        "    current digest {digest}, changed {}",
        state
            .last_updated
            .as_deref()
            .unwrap_or("at an unknown time")
    );
    match &state.rebuild_eligible_at {
        Some(t) if state.waiting => {
            let hours = state.hours_left;
            let _ = writeln!(o, "    waiting: {image} may rebuild from {t} (in about {hours}h); `imgf emergency` skips the wait");
        }
        Some(t) => {
            let _ = writeln!(o, "    eligible since {t}: if it has not rebuilt, check the Stage's promotions in Kargo");
        }
        None => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::enrollment::{Provider, UpdateValue};
    use crate::model::{Managed, Update};
    use crate::ops::schema_check;
    use crate::state::{AuditEntry, Build};

    fn at(hours: i64) -> String {
        Timestamp(1_800_000_000 + hours * 3600).to_string()
    }

    /// `app` on `node-22` with `staging` (Argo CD, verified) and `prod`
    /// (after staging, soaking a day), built on by `web`; every state
    /// recorded, and builds and digests coming often enough to warn.
    fn report_of_everything() -> Explain {
        report_of(0)
    }

    /// The report on image `i` of [`report_of_everything`]'s model (`app`, `web`).
    fn report_of(i: usize) -> Explain {
        let mut model = Model::sample();
        let update = |name: &str, after: Option<usize>, soak_secs: u64| Update {
            name: name.into(),
            repo_url: "https://github.com/org/deploy.git".into(),
            provider: Provider::Github,
            branch: "main".into(),
            path: format!("apps/{name}"),
            yaml_key: after.map(|_| "image.tag".to_string()),
            value: UpdateValue::Tag,
            value_given: false,
            entry: 0,
            index: 0,
            after,
            soak_secs,
            pull_request: after.is_some(),
            argocd: Some(("argocd".into(), format!("app-{name}"))),
            verify: vec![],
            auto_promote: true,
        };
        model.managed[0].rebuild_delay_secs = 86400;
        model.managed[0].updates = vec![update("staging", None, 0), update("prod", Some(0), 86400)];
        let web = Managed {
            name: "web".into(),
            repo_url: "ghcr.io/org/web".into(),
            bases: vec![BaseRef::Managed(0)],
            updates: Vec::new(),
            ..model.managed[0].clone()
        };
        model.managed.push(web);
        let graph = crate::graph::build(&model).unwrap();
        let image_state = ImageState {
            discovery_status: Some("done".into()),
            current_version: Some("1.0.0".into()),
            build_history: (0..4)
                .map(|h| Build {
                    at: Some(at(h)),
                    tag: Some(format!("1.0.{h}")),
                    digest: None,
                })
                .collect(),
            audit: vec![AuditEntry {
                action: "emergency-rebuild".into(),
                at: at(0),
                actor: "me".into(),
                reason: "CVE".into(),
                images: vec!["app".into()],
                scope: None,
                affected: Some(1),
                allow_unverified: false,
            }],
            ..ImageState::default()
        };
        let node = BaseImageState {
            current_digest: Some("sha256:1".into()),
            last_updated: Some(at(0)),
            rebuild_eligible_at: Some([("app".to_string(), Some(at(5)))].into_iter().collect()),
            update_history: (0..3)
                .map(|h| crate::state::Update {
                    at: Some(at(h)),
                    digest: None,
                    previous_digest: None,
                })
                .collect(),
            ..BaseImageState::default()
        };
        let bases = [("node-22".to_string(), node)].into_iter().collect();
        report(
            &model,
            &graph,
            &Settings::defaults("image-factory"),
            i,
            Some(&image_state),
            &bases,
            Timestamp(1_800_000_000),
        )
    }

    #[test]
    fn the_json_has_the_shape_of_the_schema() {
        let report = report_of_everything();
        // Every optional part is there, so the check covers it.
        assert_eq!(report.bases[0].warnings.len(), 1);
        assert_eq!(report.updates[1].warnings.len(), 1);
        assert!(report.state.is_some() && report.dispatch.is_some());
        assert!(report.bases[0].state.as_ref().is_some_and(|s| s.waiting));
        assert_eq!(report.dependents.len(), 1);
        schema_check::assert_conforms(&report);
        // A base that is an enrolled image: its nulls fit the schema too.
        let web = report_of(1);
        assert_eq!(
            serde_json::to_value(&web).unwrap()["bases"][0]["kind"],
            "managed"
        );
        schema_check::assert_conforms(&web);
        let schema = schema_check::output_schema::<Explain>();
        let json = serde_json::to_value(&report).unwrap();
        // A field the schema does not have, or lacks one it has: refused.
        for broken in [
            |v: &mut serde_json::Value| v["bases"][0]["warehouse"]["extra"] = 1.into(),
            |v: &mut serde_json::Value| {
                v["updates"][1].as_object_mut().unwrap().remove("warnings");
            },
            |v: &mut serde_json::Value| v["bases"][0]["stages"] = serde_json::json!(["x"]),
            |v: &mut serde_json::Value| v["updates"][0]["kind"] = "helm".into(),
        ] {
            let mut v = json.clone();
            broken(&mut v);
            assert!(!schema_check::mismatches(&v, &schema).is_empty(), "{v}");
        }
    }

    #[test]
    fn the_text_says_what_the_json_says() {
        let report = report_of_everything();
        let text = report.text();
        let json = serde_json::to_value(&report).unwrap();
        for needle in [
            "app (ghcr.io/org/app)",
            "waiting: app may rebuild from",
            "(in about 5h)",
            "warning: node-22 has published a new digest about every 1h",
            "warning: app has been built about every 1h recently, more often than this soak (1d)",
            "    web (on app)",
            "argocd/app-prod: kargo.akuity.io/authorized-stage: \"image-factory:update-app-prod\"",
            "audit: emergency-rebuild by me",
        ] {
            assert!(text.contains(needle), "{needle} in\n{text}");
        }
        // The JSON holds each warning on one line.
        let w = json["bases"][0]["warnings"][0].as_str().unwrap();
        assert!(
            w.starts_with("warning: node-22") && !w.contains('\n'),
            "{w}"
        );
        let w = json["updates"][1]["warnings"][0].as_str().unwrap();
        assert!(!w.contains('\n') && !w.contains("  "), "{w}");
    }
}
