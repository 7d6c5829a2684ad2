//! `imgf status`: what is stale and why, computed from the model, the graph
//! and the state files. Pure: the caller passes `now`.
//!
//! For each managed image and each of its bases: the base digest the image
//! was last built on (the newest recorded digest of the base at `lastBuilt`,
//! from its `updateHistory`), the newest recorded digest, whether a rebuild
//! is pending (a base changed after the last build) and when it becomes
//! eligible (`rebuildEligibleAt`). An image is *stale* when a base changed
//! after its last build, or when it was last built longer ago than the
//! threshold. The JSON shape ([`Status`]) is documented in the guide (docs/src/operations/status.md) and
//! kept stable: fields are only ever added.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use schemars::JsonSchema;
use serde::Serialize;

use crate::graph::Graph;
use crate::model::{BaseRef, Model};
use crate::security::ScanRecord;
use crate::state::{BaseImageState, ImageState};
use crate::timestamp::Timestamp;

/// The status of every managed image.
#[derive(Debug, Clone, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Status {
    /// When the status was computed.
    pub now: String,
    pub stale_after_seconds: u64,
    /// Managed images, bases before the images built on them.
    pub images: Vec<ImageStatus>,
    pub summary: Summary,
    /// Shards and expected polls; only with `kargo.shards` or `discovery`
    /// in settings (see [`placement`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub placement: Option<PlacementStatus>,
}

/// Where the Kargo output places objects and how often it polls.
#[derive(Debug, Clone, Serialize, JsonSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PlacementStatus {
    /// Objects (Warehouses and Stages) per shard, in `kargo.shards` order.
    pub shards: Vec<ShardLoad>,
    /// The largest shard's objects over the smallest's (`null` without shards).
    pub balance_ratio: Option<f64>,
    /// Per polled host, in name order.
    pub registries: Vec<RegistryPolls>,
}

// The ratios and poll rates are finite (never NaN), so equality is total.
impl Eq for PlacementStatus {}

#[derive(Debug, Clone, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ShardLoad {
    pub shard: String,
    pub objects: u64,
}

/// One host's polling.
#[derive(Debug, Clone, Serialize, JsonSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct RegistryPolls {
    pub registry: String,
    /// Σ 3600 / interval over its Warehouses.
    pub expected_polls_per_hour: f64,
    /// `discovery.registries.<host>.pollsPerHour`.
    pub budget_per_hour: Option<u32>,
    pub warehouses: usize,
    /// Warehouses a webhook refreshes (they poll only as a fallback).
    pub webhook_served_warehouses: usize,
}

/// The placement part of the status: `None` unless settings set
/// `kargo.shards` or `discovery`.
pub fn placement(
    model: &Model,
    settings: &crate::config::settings::Settings,
) -> Option<PlacementStatus> {
    if settings.kargo.shards.is_empty()
        && settings.discovery == crate::targets::kargo::settings::Discovery::default()
    {
        return None;
    }
    let p = crate::targets::kargo::placement::Placement::new(model, settings);
    let has_shards = !p.shards.is_empty();
    let ratio = {
        let (max, min) = (p.load.iter().max(), p.load.iter().min());
        match (max, min) {
            // Object counts: far below 2^52, exact as floats.
            #[allow(clippy::cast_precision_loss)]
            (Some(a), Some(b)) if *b > 0 => Some(*a as f64 / *b as f64),
            _ => None,
        }
    };
    Some(PlacementStatus {
        shards: p
            .shards
            .iter()
            .zip(&p.load)
            .map(|(s, l)| ShardLoad {
                shard: s.clone(),
                objects: *l,
            })
            .collect(),
        balance_ratio: ratio.filter(|_| has_shards),
        registries: p
            .polls
            .registries
            .iter()
            .map(|(r, x)| RegistryPolls {
                registry: r.clone(),
                expected_polls_per_hour: x.expected_per_hour,
                budget_per_hour: x.budget,
                warehouses: x.warehouses,
                webhook_served_warehouses: x.webhook_served,
            })
            .collect(),
    })
}

/// The placement families of the Prometheus text (floats allowed).
fn placement_metrics(o: &mut String, p: &PlacementStatus) {
    let mut family = |name: &str, help: &str, samples: Vec<(String, String)>| {
        let _ = writeln!(o, "# HELP {name} {help}");
        let _ = writeln!(o, "# TYPE {name} gauge");
        for (labels, v) in samples {
            let _ = writeln!(o, "{name}{labels} {v}");
        }
    };
    let reg = |r: &RegistryPolls| format!("{{registry=\"{}\"}}", label(&r.registry));
    family(
        "imgf_registry_expected_polls_per_hour",
        "Warehouse discoveries per hour the generated intervals make, per registry or git host.",
        p.registries
            .iter()
            .map(|r| (reg(r), format!("{:.1}", r.expected_polls_per_hour)))
            .collect(),
    );
    family(
        "imgf_registry_poll_budget_per_hour",
        "discovery.registries.<host>.pollsPerHour; absent without a budget.",
        p.registries
            .iter()
            .filter_map(|r| Some((reg(r), r.budget_per_hour?.to_string())))
            .collect(),
    );
    family(
        "imgf_registry_webhook_served_warehouses",
        "Warehouses of this host that a webhook receiver refreshes (they poll only as a fallback).",
        p.registries
            .iter()
            .map(|r| (reg(r), r.webhook_served_warehouses.to_string()))
            .collect(),
    );
    if !p.shards.is_empty() {
        family(
            "imgf_shard_objects",
            "Warehouses and Stages placed on each Kargo controller shard.",
            p.shards
                .iter()
                .map(|s| {
                    (
                        format!("{{shard=\"{}\"}}", label(&s.shard)),
                        s.objects.to_string(),
                    )
                })
                .collect(),
        );
        if let Some(r) = p.balance_ratio {
            family(
                "imgf_shard_balance_ratio",
                "The largest shard's objects over the smallest's.",
                vec![(String::new(), format!("{r:.3}"))],
            );
        }
    }
}

/// Counts over [`Status::images`].
#[derive(Debug, Clone, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    pub images: usize,
    pub stale: usize,
    pub rebuild_pending: usize,
    pub discovery_failed: usize,
    pub overdue: usize,
}

/// One managed image.
#[derive(Debug, Clone, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ImageStatus {
    pub name: String,
    /// `outdated` or `overdue`.
    pub stale: bool,
    /// A base has a newer recorded digest than the image was built on.
    pub outdated: bool,
    /// Last built longer ago than the threshold.
    pub overdue: bool,
    pub last_built: Option<String>,
    /// Seconds since `lastBuilt` (absent when unknown).
    pub age_seconds: Option<u64>,
    pub current_digest: Option<String>,
    pub current_version: Option<String>,
    pub discovery: Discovery,
    pub bases: Vec<BaseStatus>,
    /// Present when a base changed after the last build.
    pub rebuild: Option<Rebuild>,
    /// The recorded vulnerability scan of `currentDigest` (`state/scans/`);
    /// absent when none is recorded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scan: Option<ScanCounts>,
}

/// What a recorded vulnerability scan found (`state/scans/`).
#[derive(Debug, Clone, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ScanCounts {
    /// The digest scanned.
    pub digest: String,
    /// Distinct critical vulnerabilities.
    pub critical: usize,
    /// Distinct high vulnerabilities.
    pub high: usize,
    /// When the scan was made.
    pub scanned_at: String,
}

impl ScanCounts {
    fn of(scans: &BTreeMap<String, ScanRecord>, digest: Option<&String>) -> Option<ScanCounts> {
        let r = scans.get(digest?)?;
        Some(ScanCounts {
            digest: r.digest.clone(),
            critical: r.counts.critical,
            high: r.counts.high,
            scanned_at: r.scanned_at.clone(),
        })
    }
}

/// What analysis last found.
#[derive(Debug, Clone, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Discovery {
    /// `success`, `failed`, `pending`, `external`, or absent (never analysed).
    pub status: Option<String>,
    pub failed: bool,
    pub error: Option<String>,
    /// FROM lines analysis could not resolve.
    pub unresolved: Vec<String>,
}

/// One base of an image.
#[derive(Debug, Clone, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct BaseStatus {
    pub name: String,
    /// `upstream` (watched in its registry) or `managed` (a cascade).
    pub kind: &'static str,
    /// The base digest the image was last built on, when known.
    pub built_on: Option<String>,
    /// The newest recorded digest of the base.
    pub newest: Option<String>,
    /// When the newest digest was recorded (or the base image was built).
    pub newest_at: Option<String>,
    /// `false` when the base changed after the image's last build; absent
    /// when that cannot be told (never built, or no time recorded).
    pub up_to_date: Option<bool>,
    /// When the image may rebuild for the newest digest (`rebuildEligibleAt`).
    pub rebuild_eligible_at: Option<String>,
    /// The recorded vulnerability scan of `builtOn` (`state/scans/`);
    /// absent when none is recorded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scan: Option<ScanCounts>,
}

/// A pending rebuild.
#[derive(Debug, Clone, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Rebuild {
    /// The bases that changed since the last build.
    pub because_of: Vec<String>,
    /// The latest eligibility time over those bases, when recorded.
    pub eligible_at: Option<String>,
    /// `eligibleAt` has passed (or none is recorded).
    pub eligible: bool,
}

/// Computes the status at `now`, with the vulnerability counts of the
/// builds and bases that have a recorded scan in `scans` (by digest).
pub fn compute(
    model: &Model,
    graph: &Graph,
    images: &BTreeMap<String, ImageState>,
    bases: &BTreeMap<String, BaseImageState>,
    scans: &BTreeMap<String, ScanRecord>,
    stale_after_secs: u64,
    now: Timestamp,
) -> Status {
    let empty = ImageState::default();
    let mut out = Vec::with_capacity(graph.order.len());
    for &i in &graph.order {
        let m = &model.managed[i];
        let st = images.get(&m.name).unwrap_or(&empty);
        let built = st.last_built.as_deref().and_then(Timestamp::parse);
        let mut base_rows = Vec::new();
        for b in &m.bases {
            let name = model.base_name(*b).to_string();
            let mut row = match b {
                BaseRef::Upstream(_) => upstream_base(name, bases, &m.name, built),
                BaseRef::Managed(j) => {
                    let bs = images.get(&model.managed[*j].name).unwrap_or(&empty);
                    let at = bs.last_built.as_deref().and_then(Timestamp::parse);
                    let up_to_date = match (at, built) {
                        (Some(a), Some(b)) => Some(a <= b),
                        _ => None,
                    };
                    BaseStatus {
                        name,
                        kind: "managed",
                        built_on: if up_to_date == Some(true) {
                            bs.current_digest.clone()
                        } else {
                            None
                        },
                        newest: bs.current_digest.clone(),
                        newest_at: at.map(|t| t.to_string()),
                        up_to_date,
                        rebuild_eligible_at: None,
                        scan: None,
                    }
                }
            };
            row.scan = ScanCounts::of(scans, row.built_on.as_ref());
            base_rows.push(row);
        }
        let changed: Vec<&BaseStatus> = base_rows
            .iter()
            .filter(|b| b.up_to_date == Some(false))
            .collect();
        let rebuild = (!changed.is_empty()).then(|| {
            let eligible_at = changed
                .iter()
                .filter_map(|b| b.rebuild_eligible_at.as_deref().and_then(Timestamp::parse))
                .max();
            Rebuild {
                because_of: changed.iter().map(|b| b.name.clone()).collect(),
                eligible_at: eligible_at.map(|t| t.to_string()),
                eligible: eligible_at.is_none_or(|t| t <= now),
            }
        });
        let age = built.map(|b| u64::try_from(now.0 - b.0).unwrap_or(0));
        let outdated = rebuild.is_some();
        let overdue = age.is_some_and(|a| a > stale_after_secs);
        let status = st.discovery_status.clone();
        out.push(ImageStatus {
            name: m.name.clone(),
            stale: outdated || overdue,
            outdated,
            overdue,
            last_built: built.map(|t| t.to_string()),
            age_seconds: age,
            current_digest: st.current_digest.clone(),
            current_version: st.current_version.clone(),
            discovery: Discovery {
                failed: status.as_deref() == Some("failed"),
                status,
                error: st.discovery_error.clone(),
                unresolved: st.unresolved.clone(),
            },
            bases: base_rows,
            rebuild,
            scan: ScanCounts::of(scans, st.current_digest.as_ref()),
        });
    }
    let summary = Summary {
        images: out.len(),
        stale: out.iter().filter(|i| i.stale).count(),
        rebuild_pending: out.iter().filter(|i| i.rebuild.is_some()).count(),
        discovery_failed: out.iter().filter(|i| i.discovery.failed).count(),
        overdue: out.iter().filter(|i| i.overdue).count(),
    };
    Status {
        now: now.to_string(),
        stale_after_seconds: stale_after_secs,
        images: out,
        summary,
        placement: None,
    }
}

/// An upstream base: the digest at the last build from the update history.
fn upstream_base(
    name: String,
    bases: &BTreeMap<String, BaseImageState>,
    image: &str,
    built: Option<Timestamp>,
) -> BaseStatus {
    let Some(s) = bases.get(&name) else {
        return BaseStatus {
            name,
            kind: "upstream",
            built_on: None,
            newest: None,
            newest_at: None,
            up_to_date: None,
            rebuild_eligible_at: None,
            scan: None,
        };
    };
    let newest_at = newest_at(s);
    let up_to_date = up_to_date(s, newest_at, built);
    let built_on = built_on(s, built);
    let rebuild_eligible_at = s
        .rebuild_eligible_at
        .as_ref()
        .and_then(|m| m.get(image).cloned().flatten())
        .and_then(|t| Timestamp::parse(&t))
        .map(|t| t.to_string());
    BaseStatus {
        name,
        kind: "upstream",
        built_on,
        newest: s.current_digest.clone(),
        newest_at: newest_at.map(|t| t.to_string()),
        up_to_date,
        rebuild_eligible_at,
        scan: None,
    }
}

/// When upstream base `s` last changed: `lastUpdated`, else the newest
/// time in its history.
fn newest_at(s: &BaseImageState) -> Option<Timestamp> {
    s.last_updated
        .as_deref()
        .and_then(Timestamp::parse)
        .or_else(|| {
            s.update_history
                .iter()
                .filter_map(|u| u.at.as_deref().and_then(Timestamp::parse))
                .max()
        })
}

/// Whether an image built at `built` is built on the newest digest of a
/// base that last changed at `newest_at`; `None` when that cannot be told.
fn up_to_date(
    s: &BaseImageState,
    newest_at: Option<Timestamp>,
    built: Option<Timestamp>,
) -> Option<bool> {
    match (newest_at, built) {
        (Some(n), Some(b)) => Some(n <= b),
        (None, Some(_)) if s.current_digest.is_some() => None,
        (None, Some(_)) => Some(true),
        _ => None,
    }
}

/// The digest of upstream base `s` an image last built at `built` is built
/// on: the newest recorded digest at that time, from the update history.
pub(crate) fn built_on(s: &BaseImageState, built: Option<Timestamp>) -> Option<String> {
    let b = built?;
    if up_to_date(s, newest_at(s), built) == Some(true) {
        return s.current_digest.clone();
    }
    let mut history: Vec<(Timestamp, &crate::state::Update)> = s
        .update_history
        .iter()
        .filter_map(|u| Some((u.at.as_deref().and_then(Timestamp::parse)?, u)))
        .collect();
    history.sort_by_key(|(t, _)| *t);
    match history.iter().rev().find(|(t, _)| *t <= b) {
        Some((_, u)) => u.digest.clone(),
        None => history
            .first()
            .and_then(|(_, u)| u.previous_digest.clone())
            .or_else(|| s.previous_digest.clone().filter(|_| history.len() <= 1)),
    }
}

/// A digest shortened for a table (`sha256:0123456789ab`).
fn short(d: Option<&str>) -> String {
    match d {
        None => "-".into(),
        Some(d) => d.get(..19).unwrap_or(d).to_string(),
    }
}

/// An age for people: whole days once it is a day or more.
fn days(secs: u64) -> String {
    if secs >= 86_400 {
        format!("{}d", secs / 86_400)
    } else {
        crate::duration::hms(secs)
    }
}

/// Whether any build or base of `s` has a recorded scan.
fn scanned(s: &Status) -> bool {
    s.images
        .iter()
        .any(|i| i.scan.is_some() || i.bases.iter().any(|b| b.scan.is_some()))
}

/// `critical/high` of a scan, `-` without one.
fn ch(scan: Option<&ScanCounts>) -> String {
    scan.map_or_else(|| "-".into(), |c| format!("{}/{}", c.critical, c.high))
}

/// The table's scan cells of `i`: its build's critical/high, and each
/// scanned base's.
fn scan_cells(i: &ImageStatus) -> [String; 2] {
    let bases: Vec<String> = i
        .bases
        .iter()
        .filter_map(|b| Some(format!("{} {}", b.name, ch(Some(b.scan.as_ref()?)))))
        .collect();
    [
        ch(i.scan.as_ref()),
        if bases.is_empty() {
            "-".into()
        } else {
            bases.join(", ")
        },
    ]
}

/// The status as a table for people; with recorded scans, two more
/// columns: the critical/high counts of each image's current build and of
/// the base digests it is built on.
#[must_use]
pub fn table(s: &Status) -> String {
    let scans = scanned(s);
    let mut head: Vec<String> = vec![
        "IMAGE".into(),
        "STATE".into(),
        "LAST BUILT".into(),
        "REBUILD".into(),
        "DISCOVERY".into(),
    ];
    if scans {
        head.push("BUILD CRIT/HIGH".into());
        head.push("BASES CRIT/HIGH".into());
    }
    let mut rows: Vec<Vec<String>> = vec![head];
    for i in &s.images {
        let state = match (i.outdated, i.overdue) {
            (true, true) => "stale (outdated, overdue)",
            (true, false) => "stale (outdated)",
            (false, true) => "stale (overdue)",
            (false, false) if i.last_built.is_none() => "unknown (no build recorded)",
            (false, false) => "fresh",
        };
        let rebuild = match &i.rebuild {
            None => "-".to_string(),
            Some(r) => match (&r.eligible_at, r.eligible) {
                (Some(t), false) => format!("waits until {t}"),
                (Some(t), true) => format!("eligible since {t}"),
                (None, _) => "pending".to_string(),
            },
        };
        let mut row = vec![
            i.name.clone(),
            state.into(),
            i.last_built.clone().unwrap_or_else(|| "never".into()),
            rebuild,
            i.discovery.status.clone().unwrap_or_else(|| "-".into()),
        ];
        if scans {
            row.extend(scan_cells(i));
        }
        rows.push(row);
    }
    let widths: Vec<usize> = (0..rows[0].len())
        .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
        .collect();
    let mut o = String::new();
    for r in &rows {
        let mut line = String::new();
        for (c, cell) in r.iter().enumerate() {
            let _ = write!(line, "{cell:<w$}  ", w = widths[c]);
        }
        o.push_str(line.trim_end());
        o.push('\n');
    }
    let mut details = String::new();
    for i in &s.images {
        for b in &i.bases {
            if b.up_to_date == Some(false) {
                let _ = writeln!(
                    details,
                    "  {}: base {} built on {}, newest {} (since {})",
                    i.name,
                    b.name,
                    short(b.built_on.as_deref()),
                    short(b.newest.as_deref()),
                    b.newest_at.as_deref().unwrap_or("?")
                );
            }
        }
        if i.overdue {
            let _ = writeln!(
                details,
                "  {}: not built for {} (threshold {})",
                i.name,
                days(i.age_seconds.unwrap_or(0)),
                crate::duration::human(s.stale_after_seconds)
            );
        }
        if i.discovery.failed {
            let _ = writeln!(
                details,
                "  {}: discovery failed: {}",
                i.name,
                i.discovery.error.as_deref().unwrap_or("no reason recorded")
            );
        }
        for u in &i.discovery.unresolved {
            let _ = writeln!(details, "  {}: unresolved: {u}", i.name);
        }
    }
    if !details.is_empty() {
        o.push('\n');
        o.push_str(&details);
    }
    let _ = writeln!(
        o,
        "\n{} images: {} stale, {} rebuilds pending, {} failed discoveries",
        s.summary.images, s.summary.stale, s.summary.rebuild_pending, s.summary.discovery_failed
    );
    o
}

/// A label value escaped per the Prometheus text exposition format.
fn label(v: &str) -> String {
    let mut o = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            '\\' => o.push_str("\\\\"),
            '"' => o.push_str("\\\""),
            '\n' => o.push_str("\\n"),
            c => o.push(c),
        }
    }
    o
}

/// The help of `imgf_image_vulnerabilities`.
const IMAGE_VULNERABILITIES: &str = "Vulnerabilities found in the image's current build by the recorded scan, by severity; absent when not scanned.";

/// The help of `imgf_base_vulnerabilities`.
const BASE_VULNERABILITIES: &str = "Vulnerabilities found in a base digest images are built on by the recorded scan, by severity; absent when not scanned.";

/// Samples of one metric family: labels (with braces) and value.
type Samples = Vec<(String, i64)>;

/// The samples of `imgf_image_vulnerabilities` and of
/// `imgf_base_vulnerabilities` (one series per base and digest, whichever
/// images are built on it).
fn vulnerability_samples(s: &Status) -> (Samples, Samples) {
    let by_severity = |labels: &str, c: &ScanCounts| {
        [("critical", c.critical), ("high", c.high)].map(|(name, n)| {
            (
                format!("{{{labels},severity=\"{name}\"}}"),
                i64::try_from(n).unwrap_or(i64::MAX),
            )
        })
    };
    let images = s
        .images
        .iter()
        .filter_map(|i| {
            Some(by_severity(
                &format!("image=\"{}\"", label(&i.name)),
                i.scan.as_ref()?,
            ))
        })
        .flatten()
        .collect();
    let mut seen = std::collections::BTreeSet::new();
    let bases = s
        .images
        .iter()
        .flat_map(|i| &i.bases)
        .filter_map(|b| {
            let c = b.scan.as_ref()?;
            seen.insert((&b.name, &c.digest)).then(|| {
                by_severity(
                    &format!(
                        "base=\"{}\",digest=\"{}\"",
                        label(&b.name),
                        label(&c.digest)
                    ),
                    c,
                )
            })
        })
        .flatten()
        .collect();
    (images, bases)
}

/// The status in the Prometheus text exposition format (for node-exporter's
/// textfile collector).
#[must_use]
pub fn prometheus(s: &Status) -> String {
    let mut o = String::new();
    let mut family = |name: &str, help: &str, samples: Vec<(String, i64)>| {
        let _ = writeln!(o, "# HELP {name} {help}");
        let _ = writeln!(o, "# TYPE {name} gauge");
        for (labels, v) in samples {
            let _ = writeln!(o, "{name}{labels} {v}");
        }
    };
    let img = |i: &ImageStatus| format!("{{image=\"{}\"}}", label(&i.name));
    let flag = |f: fn(&ImageStatus) -> bool| -> Vec<(String, i64)> {
        s.images.iter().map(|i| (img(i), i64::from(f(i)))).collect()
    };
    family(
        "imgf_image_stale",
        "1 when a base changed after the image's last build or the last build is older than the threshold.",
        flag(|i| i.stale),
    );
    family(
        "imgf_image_outdated",
        "1 when a base has a newer recorded digest than the image was built on.",
        flag(|i| i.outdated),
    );
    family(
        "imgf_image_rebuild_pending",
        "1 when a rebuild is pending (a base changed after the last build).",
        flag(|i| i.rebuild.is_some()),
    );
    family(
        "imgf_image_discovery_failed",
        "1 when the last base-image discovery of the image failed.",
        flag(|i| i.discovery.failed),
    );
    family(
        "imgf_image_last_built_timestamp_seconds",
        "When the image was last built (Unix time); absent when never recorded.",
        s.images
            .iter()
            .filter_map(|i| {
                let t = Timestamp::parse(i.last_built.as_deref()?)?;
                Some((img(i), t.0))
            })
            .collect(),
    );
    family(
        "imgf_image_rebuild_eligible_timestamp_seconds",
        "When a pending rebuild becomes eligible (Unix time); absent when none is pending or recorded.",
        s.images
            .iter()
            .filter_map(|i| {
                let t = Timestamp::parse(i.rebuild.as_ref()?.eligible_at.as_deref()?)?;
                Some((img(i), t.0))
            })
            .collect(),
    );
    family(
        "imgf_image_base_outdated",
        "1 when this base changed after the image's last build.",
        s.images
            .iter()
            .flat_map(|i| {
                i.bases.iter().filter_map(move |b| {
                    Some((
                        format!(
                            "{{image=\"{}\",base=\"{}\"}}",
                            label(&i.name),
                            label(&b.name)
                        ),
                        i64::from(!b.up_to_date?),
                    ))
                })
            })
            .collect(),
    );
    if scanned(s) {
        let (images, bases) = vulnerability_samples(s);
        family("imgf_image_vulnerabilities", IMAGE_VULNERABILITIES, images);
        family("imgf_base_vulnerabilities", BASE_VULNERABILITIES, bases);
    }
    family(
        "imgf_status_stale_after_seconds",
        "The age after which an image counts as stale.",
        vec![(
            String::new(),
            i64::try_from(s.stale_after_seconds).unwrap_or(i64::MAX),
        )],
    );
    let now = Timestamp::parse(&s.now).map_or(0, |t| t.0);
    family(
        "imgf_status_timestamp_seconds",
        "When this status was computed (Unix time).",
        vec![(String::new(), now)],
    );
    if let Some(p) = &s.placement {
        placement_metrics(&mut o, p);
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::state::Update;

    fn model() -> Model {
        Model::sample()
    }

    fn ts(s: &str) -> Timestamp {
        Timestamp::parse(s).unwrap()
    }

    fn run(image: ImageState, base: Option<BaseImageState>, now: &str) -> ImageStatus {
        let m = model();
        let g = crate::graph::build(&m).unwrap();
        let images = BTreeMap::from([("app".to_string(), image)]);
        let bases: BTreeMap<_, _> = base
            .map(|b| ("node-22".to_string(), b))
            .into_iter()
            .collect();
        compute(&m, &g, &images, &bases, &BTreeMap::new(), 86_400, ts(now))
            .images
            .remove(0)
    }

    fn built(at: &str) -> ImageState {
        ImageState {
            last_built: Some(at.into()),
            ..ImageState::default()
        }
    }

    fn changed(at: &str, from: &str, to: &str) -> Update {
        Update {
            digest: Some(to.into()),
            previous_digest: Some(from.into()),
            at: Some(at.into()),
        }
    }

    #[test]
    fn never_built_and_unknown_base_are_neither_stale_nor_fresh_claims() {
        let s = run(ImageState::default(), None, "2026-03-01T00:00:00Z");
        assert!(!s.stale && s.rebuild.is_none() && s.age_seconds.is_none());
        assert_eq!(s.bases[0].up_to_date, None);
        assert_eq!(s.bases[0].built_on, None);
    }

    #[test]
    fn built_on_is_the_digest_at_the_build_from_the_history() {
        let base = BaseImageState {
            current_digest: Some("d3".into()),
            last_updated: Some("2026-02-20T00:00:00Z".into()),
            rebuild_eligible_at: Some(BTreeMap::from([(
                "app".to_string(),
                Some("2026-02-20T01:00:00Z".to_string()),
            )])),
            update_history: vec![
                changed("2026-02-01T00:00:00Z", "d1", "d2"),
                changed("2026-02-20T00:00:00Z", "d2", "d3"),
            ],
            ..BaseImageState::default()
        };
        // Built between the two changes: on d2, d3 pending and eligible.
        let s = run(
            built("2026-02-10T00:00:00Z"),
            Some(base.clone()),
            "2026-02-21T00:00:00Z",
        );
        assert_eq!(s.bases[0].built_on.as_deref(), Some("d2"));
        assert_eq!(s.bases[0].up_to_date, Some(false));
        let r = s.rebuild.unwrap();
        assert!(r.eligible);
        assert!(s.outdated && s.stale && s.overdue);
        // Built before the whole history: on the first change's previous digest.
        let s = run(
            built("2026-01-01T00:00:00Z"),
            Some(base.clone()),
            "2026-02-21T00:00:00Z",
        );
        assert_eq!(s.bases[0].built_on.as_deref(), Some("d1"));
        // Built after the last change: on the newest, fresh until the threshold.
        let s = run(
            built("2026-02-20T12:00:00Z"),
            Some(base.clone()),
            "2026-02-21T00:00:00Z",
        );
        assert_eq!(s.bases[0].built_on.as_deref(), Some("d3"));
        assert!(!s.stale && s.rebuild.is_none());
        let s = run(
            built("2026-02-20T12:00:00Z"),
            Some(base),
            "2026-02-22T00:00:01Z",
        );
        assert!(s.stale && s.overdue && !s.outdated);
    }

    #[test]
    fn a_pending_rebuild_waits_until_it_is_eligible() {
        let base = BaseImageState {
            current_digest: Some("d2".into()),
            last_updated: Some("2026-02-20T00:00:00Z".into()),
            rebuild_eligible_at: Some(BTreeMap::from([(
                "app".to_string(),
                Some("2026-02-27T00:00:00Z".to_string()),
            )])),
            ..BaseImageState::default()
        };
        let s = run(
            built("2026-02-19T00:00:00Z"),
            Some(base),
            "2026-02-21T00:00:00Z",
        );
        let r = s.rebuild.unwrap();
        assert!(!r.eligible);
        assert_eq!(r.eligible_at.as_deref(), Some("2026-02-27T00:00:00Z"));
    }

    #[test]
    fn the_json_report_conforms_to_its_schema() {
        let m = model();
        let g = crate::graph::build(&m).unwrap();
        let image = ImageState {
            last_built: Some("2026-02-10T00:00:00Z".into()),
            current_digest: Some("sha256:aa".into()),
            discovery_status: Some("failed".into()),
            discovery_error: Some("no Dockerfile".into()),
            unresolved: vec!["line 3: FROM ${X}: no value".into()],
            ..ImageState::default()
        };
        let base = BaseImageState {
            current_digest: Some("d2".into()),
            last_updated: Some("2026-02-20T00:00:00Z".into()),
            rebuild_eligible_at: Some(BTreeMap::from([(
                "app".to_string(),
                Some("2026-02-27T00:00:00Z".to_string()),
            )])),
            update_history: vec![changed("2026-02-20T00:00:00Z", "d1", "d2")],
            ..BaseImageState::default()
        };
        let images = BTreeMap::from([("app".to_string(), image)]);
        let bases = BTreeMap::from([("node-22".to_string(), base)]);
        let s = compute(
            &m,
            &g,
            &images,
            &bases,
            &BTreeMap::new(),
            86_400,
            ts("2026-02-21T00:00:00Z"),
        );
        // Every optional part is present, so every nested shape is checked.
        assert!(s.images[0].rebuild.is_some() && s.images[0].discovery.failed);
        crate::ops::schema_check::assert_conforms(&s);
    }

    #[test]
    fn labels_are_escaped() {
        assert_eq!(label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }

    #[test]
    fn vulnerability_metrics_escape_labels_and_appear_once_per_base_digest() {
        let model = model();
        let graph = crate::graph::build(&model).unwrap();
        let image = ImageState {
            last_built: Some("2026-02-10T00:00:00Z".into()),
            current_digest: Some("sha256:b".into()),
            ..ImageState::default()
        };
        let base = BaseImageState {
            current_digest: Some("sha256:1".into()),
            last_updated: Some("2026-02-01T00:00:00Z".into()),
            ..BaseImageState::default()
        };
        let record = |d: &str, critical: usize, high: usize| ScanRecord {
            digest: d.into(),
            repo: "r".into(),
            scanned_at: "2026-02-02T00:00:00Z".into(),
            scanner: "trivy".into(),
            counts: crate::security::trivy::Counts {
                critical,
                high,
                ..Default::default()
            },
            critical: Vec::new(),
            high: Vec::new(),
            gates: BTreeMap::new(),
        };
        let scans: BTreeMap<_, _> = [record("sha256:b", 1, 2), record("sha256:1", 3, 4)]
            .into_iter()
            .map(|r| (r.digest.clone(), r))
            .collect();
        let images = BTreeMap::from([("app".to_string(), image)]);
        let bases = BTreeMap::from([("node-22".to_string(), base)]);
        let mut s = compute(
            &model,
            &graph,
            &images,
            &bases,
            &scans,
            86_400,
            ts("2026-02-21T00:00:00Z"),
        );
        crate::ops::schema_check::assert_conforms(&s);
        assert_eq!(
            s.images[0].bases[0].scan.as_ref().map(|c| c.critical),
            Some(3)
        );
        // A second image on the same base digest: one series per base digest.
        let mut twin = s.images[0].clone();
        twin.name = "we\"ird".into();
        s.images.push(twin);
        let metrics = prometheus(&s);
        assert!(
            metrics
                .contains("imgf_image_vulnerabilities{image=\"we\\\"ird\",severity=\"high\"} 2\n"),
            "{metrics}"
        );
        assert_eq!(metrics.matches("imgf_base_vulnerabilities{base=\"node-22\",digest=\"sha256:1\",severity=\"critical\"} 3\n").count(), 1, "{metrics}");
        let text = table(&s);
        assert!(text.contains("1/2              node-22 3/4"), "{text}");
    }
}
