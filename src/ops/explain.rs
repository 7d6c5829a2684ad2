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

use crate::config::security::SecuritySettings;
use crate::config::settings::Settings;
use crate::graph::Graph;
use crate::model::{BaseRef, Managed, Model};
use crate::security::{Decision, ScanRecord};
use crate::state::{BaseImageState, ImageState};
use crate::targets::kargo::placement::WarehouseOf;
use crate::targets::kargo::runbook::{self, SoakStarvation, Starvation, AUTHORIZED_STAGE};
use crate::targets::kargo::{
    analysis_stage_name, cvefix_stage_name, delay_stage_name, image_warehouse_name,
    placed_warehouse, rebuild_stage_name, soak_stage_name, update_stage_name, verify_template_name,
    warehouse_name,
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
    /// The recorded scan of its current build (with settings.yaml
    /// `security:` only; absent otherwise, or when none is recorded).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub build_scan: Option<ScanSummary>,
    /// Its controller shard and how its Warehouses poll; only with
    /// `kargo.shards` or `discovery` in settings.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub placement: Option<Placement>,
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
    /// What the security gates say about it (upstream bases, with
    /// settings.yaml `security:` only; absent otherwise).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub security: Option<BaseSecurity>,
}

/// An upstream base under the security gates, from the scans recorded in
/// `state/scans/` and the settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct BaseSecurity {
    /// The digest the gates judge: the base's newest recorded digest.
    pub digest: Option<String>,
    /// The digest the image was last built on, when known.
    pub built_on: Option<String>,
    /// The scanner gate on `digest`.
    pub gate: GateStatus,
    /// The gate's recorded reason (`held` and `passed` only).
    pub reason: Option<String>,
    /// The digests in use the gate compared `digest` with.
    pub compared_with: Vec<String>,
    /// The recorded scan of `digest`.
    pub scan: Option<ScanSummary>,
    /// The recorded scan of `builtOn`.
    pub built_on_scan: Option<ScanSummary>,
    /// The signature rule that applies to the base's repository.
    pub signature: Option<SignatureRow>,
    /// The CVE fast path (`security.cveFastPath`, and a `rebuildDelay`
    /// above zero); `null` when it does not apply.
    pub fast_path: Option<FastPath>,
    /// The base's soak Stage (where a held digest stays), for the text.
    #[serde(skip)]
    pub soak_stage: String,
}

/// What the scanner gate says about a base's newest digest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) enum GateStatus {
    /// More vulnerabilities at `failOn` than the digests in use: held in
    /// the soak Stage, nothing rebuilds on it.
    Held,
    /// No worse than the digests in use.
    Passed,
    /// New, and no decision recorded yet: the scan has not run (or failed
    /// and is retried).
    AwaitingScan,
    /// The image is built on it already: nothing to gate.
    InUse,
    /// No digest of the base recorded yet.
    NoDigest,
    /// `security.scanner` is not set (signatures only).
    NoScanner,
}

/// A recorded scan of one digest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ScanSummary {
    /// The digest scanned.
    pub digest: String,
    /// Distinct critical vulnerabilities.
    pub critical: usize,
    /// Distinct high vulnerabilities.
    pub high: usize,
    /// When the scan was made.
    pub scanned_at: String,
    /// The scanner image that made it.
    pub scanner: String,
}

impl ScanSummary {
    fn of(r: &ScanRecord) -> ScanSummary {
        ScanSummary {
            digest: r.digest.clone(),
            critical: r.counts.critical,
            high: r.counts.high,
            scanned_at: r.scanned_at.clone(),
            scanner: r.scanner.clone(),
        }
    }
}

/// A `security.signatures` rule that applies to a base.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SignatureRow {
    #[serde(rename = "match")]
    pub pattern: String,
    pub identity: String,
    pub issuer: String,
    /// The cosign command that reproduces the check (needs a digest).
    pub command: Option<String>,
}

/// The CVE fast path of one image on one upstream base.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct FastPath {
    pub decision: FastPathDecision,
    /// The vulnerabilities at `failOn` of `builtOn` that `digest` no longer
    /// has (`fix` only).
    pub fixes: Vec<String>,
    /// The delay Stage (the normal soak), then the CVE-fix Stage.
    pub stages: [String; 2],
}

/// Which way the newest digest takes to the rebuild.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) enum FastPathDecision {
    /// It fixes a vulnerability of the digest the image is built on: the
    /// rebuild does not wait for `rebuildDelay`.
    Fix,
    /// It fixes none (or the image has no recorded build): the normal soak.
    Normal,
    /// Held by a gate: neither way.
    Held,
    /// A scan is not recorded yet: decided once the gate has run.
    Pending,
    /// The image is built on the newest digest: nothing to decide.
    InUse,
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
#[serde(rename_all = "camelCase")]
pub(crate) struct AuditRow {
    pub action: String,
    pub at: String,
    pub actor: String,
    pub reason: String,
    pub images: Vec<String>,
    pub scope: Option<String>,
    pub affected: Option<usize>,
    /// `imgf emergency --allow-unverified`: the newest Freight of each base
    /// was taken whether or not the security gates passed it (absent when
    /// not).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub allow_unverified: bool,
}

/// What the report is computed from besides the model: the state files
/// and the recorded scans.
pub(crate) struct Recorded<'a> {
    /// The explained image's state file.
    pub image: Option<&'a ImageState>,
    /// The base images' state files, by name.
    pub bases: &'a BTreeMap<String, BaseImageState>,
    /// `state/scans/`, by digest.
    pub scans: &'a BTreeMap<String, ScanRecord>,
}

/// The report on managed image `image` from what is `recorded`, at `now`.
pub(crate) fn report(
    model: &Model,
    graph: &Graph,
    settings: &Settings,
    image: usize,
    recorded: &Recorded<'_>,
    now: Timestamp,
) -> Explain {
    let (image_state, bases) = (recorded.image, recorded.bases);
    let m = &model.managed[image];
    // Shards and intervals as the Kargo output places them.
    let plan = crate::targets::kargo::placement::Placement::new(model, settings);
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
                            interval: Some(
                                placed_warehouse(model, settings, &plan, WarehouseOf::Upstream(*u))
                                    .spec
                                    .interval,
                            ),
                        },
                        stages: [soak_stage_name(base_name), rebuild.clone()],
                        state: state.map(|s| base_state(s, &m.name, now)),
                        warnings: state
                            .and_then(|s| {
                                runbook::starvation(s, base_name, &m.name, m.rebuild_delay_secs)
                            })
                            .into_iter()
                            .collect(),
                        security: settings.security.as_ref().map(|sec| {
                            base_security(sec, settings, m, base_name, &up.repo_url, recorded)
                        }),
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
                    security: None,
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
                allow_unverified: a.allow_unverified,
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
        build_scan: settings
            .security
            .as_ref()
            .and(image_state)
            .and_then(|s| s.current_digest.as_ref())
            .and_then(|d| recorded.scans.get(d))
            .map(ScanSummary::of),
        placement: placement(model, settings, image, &plan),
        project: settings.kargo.project.clone(),
    }
}

/// What the security gates say about upstream base `base` (repository
/// `repo`) of image `m`, from the recorded scans: the same decisions the
/// gate's and the CVE-fix Jobs made (or will make).
fn base_security(
    sec: &SecuritySettings,
    settings: &Settings,
    m: &Managed,
    base: &str,
    repo: &str,
    recorded: &Recorded<'_>,
) -> BaseSecurity {
    let state = recorded.bases.get(base);
    let built = recorded
        .image
        .and_then(|s| s.last_built.as_deref())
        .and_then(Timestamp::parse);
    let built_on = state.and_then(|s| crate::ops::status::built_on(s, built));
    let digest = state.and_then(|s| s.current_digest.clone());
    let scan = digest.as_ref().and_then(|d| recorded.scans.get(d));
    let old_scan = built_on.as_ref().and_then(|d| recorded.scans.get(d));
    let record = scan.and_then(|r| r.gates.get(base));
    let gate = match (record, &digest) {
        (Some(g), _) if g.decision == Decision::Held => GateStatus::Held,
        (Some(_), _) => GateStatus::Passed,
        (None, _) if sec.scanner.is_none() => GateStatus::NoScanner,
        (None, None) => GateStatus::NoDigest,
        (None, Some(d)) if built_on.as_ref() == Some(d) => GateStatus::InUse,
        (None, Some(_)) => GateStatus::AwaitingScan,
    };
    let fast_path = crate::targets::kargo::security::fast_path(m, settings).then(|| {
        let fixes = match (old_scan, scan, &sec.scanner) {
            (Some(old), Some(new), Some(s)) => crate::security::cve_fix(old, new, s.fail_on),
            _ => Vec::new(),
        };
        let decision = match gate {
            GateStatus::Held => FastPathDecision::Held,
            GateStatus::InUse | GateStatus::NoDigest => FastPathDecision::InUse,
            _ if built_on.is_none() => FastPathDecision::Normal,
            _ if old_scan.is_none() || scan.is_none() => FastPathDecision::Pending,
            _ if fixes.is_empty() => FastPathDecision::Normal,
            _ => FastPathDecision::Fix,
        };
        FastPath {
            decision,
            fixes: if decision == FastPathDecision::Fix {
                fixes
            } else {
                Vec::new()
            },
            stages: [
                delay_stage_name(&m.name, base),
                cvefix_stage_name(&m.name, base),
            ],
        }
    });
    BaseSecurity {
        gate,
        reason: record.map(|g| g.reason.clone()),
        compared_with: record.map(|g| g.compared_with.clone()).unwrap_or_default(),
        scan: scan.map(ScanSummary::of),
        built_on_scan: old_scan.map(ScanSummary::of),
        signature: sec.signature_rule(repo).map(|(_, r)| SignatureRow {
            pattern: r.pattern.clone(),
            identity: r.identity.clone(),
            issuer: r.issuer.clone(),
            command: digest.as_ref().map(|d| {
                format!(
                    "cosign verify --certificate-identity {} --certificate-oidc-issuer {} {repo}@{d}",
                    r.identity, r.issuer
                )
            }),
        }),
        fast_path,
        digest,
        built_on,
        soak_stage: soak_stage_name(base),
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
        if let Some(pl) = &self.placement {
            pl.text(&mut o);
        }
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
                    if let Some(sec) = &b.security {
                        security_text(&mut o, sec, &b.name, &self.project);
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
            if let Some(b) = &self.build_scan {
                let _ = writeln!(o, "  current build {}: {}", b.digest, counts(b));
            }
            for a in &s.audit {
                let _ = writeln!(
                    o,
                    "  audit: {} by {} at {}: {}",
                    a.action, a.actor, a.at, a.reason
                );
                if a.allow_unverified {
                    let _ = writeln!(
                        o,
                        "    --allow-unverified: the bases' newest Freight was taken whether or not the security gates passed it"
                    );
                }
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

/// A scan's counts for the text.
fn counts(s: &ScanSummary) -> String {
    format!(
        "{} critical, {} high (scanned {})",
        s.critical, s.high, s.scanned_at
    )
}

/// What the security gates say about upstream base `base`, as the text
/// prints it.
fn security_text(o: &mut String, sec: &BaseSecurity, base: &str, project: &str) {
    let soak = &sec.soak_stage;
    let digest = sec.digest.as_deref().unwrap_or("?");
    let scanned = sec
        .scan
        .as_ref()
        .map_or(String::new(), |s| format!(" (scanned {})", s.scanned_at));
    let reason = sec.reason.as_deref().unwrap_or("no reason recorded");
    match sec.gate {
        GateStatus::Held => {
            let _ = writeln!(
                o,
                "    base {base}: new digest {digest} held by the scanner gate: {reason}{scanned}"
            );
            let _ = writeln!(
                o,
                "      it stays unverified in Stage {soak}: nothing rebuilds on it; the next digest is scanned when it arrives"
            );
        }
        GateStatus::Passed => {
            let _ = writeln!(
                o,
                "    base {base}: digest {digest} passed the scanner gate: {reason}{scanned}"
            );
        }
        GateStatus::AwaitingScan => {
            let _ = writeln!(
                o,
                "    base {base}: new digest {digest} awaits the scanner gate in Stage {soak} (no decision recorded)"
            );
            let _ = writeln!(
                o,
                "      if its verification failed (a scan error), run it again: kargo verify stage --project {project} {soak}"
            );
        }
        GateStatus::InUse => {
            let _ = writeln!(
                o,
                "    base {base}: digest {digest} is the one in use: nothing new to scan"
            );
        }
        GateStatus::NoDigest => {
            let _ = writeln!(
                o,
                "    base {base}: no digest recorded yet: each new one is scanned in Stage {soak}"
            );
        }
        GateStatus::NoScanner => {}
    }
    if let Some(s) = &sec.scan {
        let _ = writeln!(o, "      {}: {}", s.digest, counts(s));
    }
    if let Some(s) = sec
        .built_on_scan
        .as_ref()
        .filter(|s| Some(&s.digest) != sec.scan.as_ref().map(|n| &n.digest))
    {
        let _ = writeln!(o, "      {} (built on): {}", s.digest, counts(s));
    }
    if let Some(r) = &sec.signature {
        let _ = writeln!(
            o,
            "    signature rule `{}` applies (identity {}, issuer {}): a digest cosign cannot verify is held in Stage {soak} (its verification shows Failed)",
            r.pattern, r.identity, r.issuer
        );
        if let Some(c) = &r.command {
            let _ = writeln!(o, "      reproduce: {c}");
        }
    }
    if let Some(f) = &sec.fast_path {
        let [delay, fix] = &f.stages;
        let built_on = sec.built_on.as_deref().unwrap_or("?");
        let line = match f.decision {
            FastPathDecision::Fix => format!(
                "{digest} fixes {} of {built_on} (built on): the rebuild does not wait for rebuildDelay (Stage {fix})",
                f.fixes.join(", ")
            ),
            FastPathDecision::Normal if sec.built_on.is_none() => format!(
                "no recorded build on {base}: nothing to fix, normal soak (Stage {delay})"
            ),
            FastPathDecision::Normal => format!(
                "{digest} fixes no vulnerability of {built_on} (built on): not a CVE fix, normal soak (Stage {delay}); Stage {fix} shows its verification Failed, by design"
            ),
            FastPathDecision::Held => "does not apply: the digest is held".to_string(),
            FastPathDecision::Pending => format!(
                "decided once both scans are recorded (Stage {fix}); until then, normal soak (Stage {delay})"
            ),
            FastPathDecision::InUse => "nothing new to decide".to_string(),
        };
        let _ = writeln!(o, "    CVE fast path: {line}");
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

/// Where an image runs and how its Warehouses poll (`kargo.shards`, `discovery`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Placement {
    /// The controller shard of its Warehouses and Stages; `null` without `kargo.shards`.
    pub shard: Option<String>,
    /// How it was chosen: `rendezvous 1st choice`, `rendezvous 2nd choice
    /// (earlier ones full)`, or `least loaded (all full)`.
    pub shard_choice: Option<String>,
    /// Update Stages that name their own shard (one of `kargo.shards`).
    pub pinned_updates: Vec<PinnedUpdate>,
    /// Update Stages whose `shard` is not one of `kargo.shards`: synth
    /// refuses them, so they are on no shard.
    pub unplaced_updates: Vec<UnplacedUpdate>,
    /// Its registry Warehouse, its source Warehouse, then its bases'
    /// Warehouses (in `bases` order).
    pub warehouses: Vec<Polling>,
}

/// An update Stage on a shard of its own.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub(crate) struct PinnedUpdate {
    pub stage: String,
    pub shard: String,
}

/// An update Stage whose `shard` synth refuses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub(crate) struct UnplacedUpdate {
    pub stage: String,
    /// The shard the update names.
    pub shard: String,
    /// Why synth refuses it, with the nearest shard when one is close.
    pub reason: String,
}

/// How one Warehouse polls.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Polling {
    pub warehouse: String,
    /// The Warehouse's controller shard (`spec.shard`; a base's is its
    /// own image's); `null` without `kargo.shards`.
    pub shard: Option<String>,
    /// The host it polls.
    pub registry: String,
    /// `spec.interval`, as the Kargo output writes it.
    pub interval: String,
    pub interval_seconds: u64,
    /// `default`, `webhook` (a fallback: a receiver refreshes it) or `budget`
    /// (the registry's `pollsPerHour` lengthened it).
    pub reason: String,
    /// The webhook receiver that refreshes it.
    pub webhook: Option<String>,
    /// The registry's `pollsPerHour`.
    pub budget_per_hour: Option<u32>,
}

fn placement(
    model: &Model,
    settings: &Settings,
    image: usize,
    plan: &crate::targets::kargo::placement::Placement,
) -> Option<Placement> {
    use crate::targets::kargo::poll::Reason;
    if settings.kargo.shards.is_empty()
        && settings.discovery == crate::targets::kargo::settings::Discovery::default()
    {
        return None;
    }
    let m = &model.managed[image];
    // Each row from the Warehouse the output holds, so its interval is the
    // emitted one.
    let row = |which: WarehouseOf| {
        let w = placed_warehouse(model, settings, plan, which);
        let p = plan.polling_of(which);
        Polling {
            warehouse: w.metadata.name,
            shard: w.spec.shard,
            interval: w.spec.interval,
            interval_seconds: p.secs,
            reason: match p.reason {
                Reason::Default => "default",
                Reason::Webhook => "webhook",
                Reason::Budget { .. } => "budget",
            }
            .into(),
            webhook: p.webhook.map(|w| w.as_str().to_string()),
            budget_per_hour: settings.discovery.budgets.get(&p.registry).copied(),
            registry: p.registry,
        }
    };
    Some(Placement {
        shard: plan.managed(image).map(str::to_string),
        shard_choice: plan.managed(image).map(|_| match plan.managed_rank(image) {
            Some(0) => "rendezvous 1st choice".to_string(),
            Some(r) => format!(
                "rendezvous {} choice (earlier ones full)",
                match r + 1 {
                    2 => "2nd".to_string(),
                    3 => "3rd".to_string(),
                    n => format!("{n}th"),
                }
            ),
            None => "least loaded (all full)".to_string(),
        }),
        pinned_updates: m
            .updates
            .iter()
            .filter_map(|u| {
                Some(PinnedUpdate {
                    stage: update_stage_name(&m.name, &u.name),
                    shard: plan.update(true, &m.name, u.shard.as_deref())?.to_string(),
                })
                .filter(|_| u.shard.is_some())
            })
            .collect(),
        unplaced_updates: m
            .updates
            .iter()
            .filter_map(|u| {
                let s = u.shard.as_deref()?;
                plan.update(true, &m.name, Some(s))
                    .is_none()
                    .then(|| UnplacedUpdate {
                        stage: update_stage_name(&m.name, &u.name),
                        shard: s.to_string(),
                        reason: unknown_shard(s, &settings.kargo.shards),
                    })
            })
            .collect(),
        warehouses: [WarehouseOf::Image(image), WarehouseOf::Source(image)]
            .into_iter()
            .chain(m.bases.iter().map(|b| WarehouseOf::base(*b)))
            .map(row)
            .collect(),
    })
}

/// Why synth refuses an update's `shard` (as `enrollment`'s check words it).
fn unknown_shard(shard: &str, shards: &[String]) -> String {
    if shards.is_empty() {
        return "settings.yaml lists no `kargo.shards`".to_string();
    }
    let names: Vec<&str> = shards.iter().map(String::as_str).collect();
    match crate::diagnostic::did_you_mean(shard, &names) {
        Some(m) => format!("it is not one of `kargo.shards`; did you mean `{m}`?"),
        None => format!("it is not one of `kargo.shards` ({})", names.join(", ")),
    }
}

impl Placement {
    fn text(&self, o: &mut String) {
        if let (Some(s), Some(c)) = (&self.shard, &self.shard_choice) {
            let _ = writeln!(o, "  shard: {s} ({c}), its Warehouses and Stages");
        }
        for u in &self.pinned_updates {
            let _ = writeln!(
                o,
                "    Stage {} on shard {} (pinned by its update)",
                u.stage, u.shard
            );
        }
        for u in &self.unplaced_updates {
            let _ = writeln!(
                o,
                "    Stage {} on no shard: synth refuses its update's shard {} ({})",
                u.stage, u.shard, u.reason
            );
        }
        for w in &self.warehouses {
            let why = match (w.reason.as_str(), &w.webhook, w.budget_per_hour) {
                ("webhook", Some(h), _) => {
                    format!("webhook {h} refreshes it; polling is a fallback")
                }
                ("budget", _, Some(b)) => format!("{} budget {b}/h", w.registry),
                (_, _, Some(b)) => format!("default; {} budget {b}/h", w.registry),
                _ => "default".to_string(),
            };
            // A base's Warehouse may run elsewhere: its shard is its image's.
            let elsewhere = match &w.shard {
                Some(s) if w.shard != self.shard => format!(" on shard {s}"),
                _ => String::new(),
            };
            let _ = writeln!(
                o,
                "  Warehouse {}{elsewhere} polls {} every {} ({why})",
                w.warehouse, w.registry, w.interval
            );
        }
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
            shard: None,
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
                allow_unverified: true,
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
            &Recorded {
                image: Some(&image_state),
                bases: &bases,
                scans: &BTreeMap::new(),
            },
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

    /// A scan record of `digest` with critical vulnerabilities `critical`.
    fn scan(digest: &str, critical: &[&str]) -> ScanRecord {
        let f = crate::security::trivy::Findings {
            artifact: None,
            counts: crate::security::trivy::Counts {
                critical: critical.len(),
                ..Default::default()
            },
            critical: critical.iter().map(|s| (*s).to_string()).collect(),
            high: std::collections::BTreeSet::default(),
        };
        ScanRecord::new(
            digest,
            "docker.io/library/node",
            "trivy:1",
            "2026-01-01T00:00:00Z",
            &f,
        )
    }

    #[test]
    fn the_security_json_has_the_shape_of_the_schema() {
        let model = Model::sample();
        let graph = crate::graph::build(&model).unwrap();
        let mut settings = Settings::defaults("image-factory");
        settings.state_repo.url = Some("https://github.com/org/state.git".into());
        settings.security = Some(SecuritySettings {
            scanner: Some(crate::config::security::Scanner {
                image: "aquasec/trivy:0.58.1".into(),
                fail_on: crate::config::security::Severity::Critical,
                db_repository: None,
            }),
            signatures: vec![crate::config::security::SignatureRule {
                pattern: "docker.io/**".into(),
                identity: "me".into(),
                issuer: "https://issuer".into(),
            }],
            cve_fast_path: true,
            cosign_image: "cosign:1".into(),
        });
        let image = ImageState {
            last_built: Some(at(1)),
            current_digest: Some("sha256:b".into()),
            ..ImageState::default()
        };
        let node = BaseImageState {
            current_digest: Some("sha256:1".into()),
            last_updated: Some(at(2)),
            update_history: vec![
                crate::state::Update {
                    at: Some(at(0)),
                    digest: Some("sha256:0".into()),
                    previous_digest: None,
                },
                crate::state::Update {
                    at: Some(at(2)),
                    digest: Some("sha256:1".into()),
                    previous_digest: Some("sha256:0".into()),
                },
            ],
            ..BaseImageState::default()
        };
        let bases = [("node-22".to_string(), node)].into_iter().collect();
        let mut new = scan("sha256:1", &["CVE-2"]);
        new.gates.insert(
            "node-22".into(),
            crate::security::GateRecord {
                decision: Decision::Passed,
                reason: "fine".into(),
                compared_with: vec!["sha256:0".into()],
                at: "2026-01-01T00:00:00Z".into(),
            },
        );
        let scans: BTreeMap<String, ScanRecord> = [
            new,
            scan("sha256:0", &["CVE-1", "CVE-2"]),
            scan("sha256:b", &[]),
        ]
        .into_iter()
        .map(|r| (r.digest.clone(), r))
        .collect();
        let recorded = Recorded {
            image: Some(&image),
            bases: &bases,
            scans: &scans,
        };
        let report = report(
            &model,
            &graph,
            &settings,
            0,
            &recorded,
            Timestamp(1_800_000_000),
        );
        let sec = report.bases[0].security.as_ref().unwrap();
        assert_eq!(sec.built_on.as_deref(), Some("sha256:0"));
        assert_eq!(sec.gate, GateStatus::Passed);
        let fast = sec.fast_path.as_ref().unwrap();
        assert_eq!(
            (fast.decision, fast.fixes.clone()),
            (FastPathDecision::Fix, vec!["CVE-1".to_string()])
        );
        // Every optional part of the security report is there.
        assert!(sec.scan.is_some() && sec.built_on_scan.is_some() && sec.signature.is_some());
        assert!(report.build_scan.is_some());
        super::super::schema_check::assert_conforms(&report);
        // Held: neither path; no fast path without a rebuild delay.
        let mut held = scans.clone();
        held.get_mut("sha256:1")
            .unwrap()
            .gates
            .get_mut("node-22")
            .unwrap()
            .decision = Decision::Held;
        let r = super::report(
            &model,
            &graph,
            &settings,
            0,
            &Recorded {
                scans: &held,
                ..recorded
            },
            Timestamp(1_800_000_000),
        );
        let sec = r.bases[0].security.as_ref().unwrap();
        assert_eq!(sec.gate, GateStatus::Held);
        assert_eq!(
            sec.fast_path.as_ref().unwrap().decision,
            FastPathDecision::Held
        );
        assert!(
            r.text().contains("held by the scanner gate: fine"),
            "{}",
            r.text()
        );
        let mut no_delay = model.clone();
        no_delay.managed[0].rebuild_delay_secs = 0;
        let r = super::report(
            &no_delay,
            &graph,
            &settings,
            0,
            &recorded,
            Timestamp(1_800_000_000),
        );
        assert!(r.bases[0].security.as_ref().unwrap().fast_path.is_none());
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
            "    --allow-unverified: the bases' newest Freight was taken whether or not the security gates passed it",
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
        assert_eq!(json["state"]["audit"][0]["allowUnverified"], true);
    }
}
