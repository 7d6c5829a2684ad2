//! Rebuild policy, explained and overridden: the Kargo side of `imgf
//! explain` and `imgf emergency` (their reports are built in
//! [`crate::ops`]). Pure: the command layer supplies the state and the clock.
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
use crate::targets::kargo::update_stage_name;
use crate::timestamp::Timestamp;

pub mod script;

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
pub(crate) fn build_interval(s: &ImageState) -> Option<u64> {
    median_interval(s.build_history.iter().map(|b| b.at.as_deref()))
}

/// A warning: `base` publishes new digests more often than `image`'s
/// rebuild delay, so each new digest replaces the soaking Freight and
/// restarts its soak, and the image may never rebuild without an approval.
/// `explain` prints [`Starvation::text`]; its JSON holds it on one line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Starvation {
    base: String,
    image: String,
    /// The median of the recent gaps between new digests, in seconds.
    every_secs: u64,
    delay_secs: u64,
}

impl Starvation {
    /// The warning as `explain` prints it: indented lines under the base.
    pub fn text(&self) -> String {
        format!(
            "    warning: {} has published a new digest about every {} recently, more often than the rebuild delay ({}):\n      each new digest restarts the soak, so {} may never rebuild by itself; shorten rebuildDelay, or approve with `imgf emergency`\n",
            self.base,
            crate::duration::hms(self.every_secs),
            crate::duration::hms(self.delay_secs),
            self.image,
        )
    }
}

impl serde::Serialize for Starvation {
    /// The text on one line ([`one_line`]: its line breaks become spaces).
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&one_line(&self.text()))
    }
}

/// A [`Starvation`] warning when `base` (state `state`) publishes new
/// digests more often than `image`'s rebuild delay `delay_secs`. Judged from
/// the recorded update history (the median of the recent gaps).
pub(crate) fn starvation(
    state: &BaseImageState,
    base: &str,
    image: &str,
    delay_secs: u64,
) -> Option<Starvation> {
    if delay_secs == 0 {
        return None;
    }
    let median = median_interval(state.update_history.iter().map(|u| u.at.as_deref()))?;
    (median < delay_secs).then(|| Starvation {
        base: base.to_string(),
        image: image.to_string(),
        every_secs: median,
        delay_secs,
    })
}

/// A warning: an image is built more often than an update soaks in the
/// update it comes `after`. Each build that reaches that Stage replaces the
/// Freight soaking there, and Kargo counts a soak only while the Freight
/// stays (`api/v1alpha1/freight_types.go:170-196`), so the update may never
/// be promoted by itself. `explain` prints [`SoakStarvation::text`]; its
/// JSON holds it on one line, its runs of spaces collapsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SoakStarvation {
    image: String,
    /// The median of the recent gaps between builds, in seconds.
    every_secs: u64,
    soak_secs: u64,
    /// The update it comes after, and its Stage.
    after: String,
    from: String,
    /// Whether `from` takes each build at once (it has no `after`).
    at_once: bool,
    /// The Stage that soaks.
    to: String,
    project: String,
}

impl SoakStarvation {
    /// The warning as `explain` prints it: indented lines under the update.
    pub fn text(&self) -> String {
        let (from, to, project) = (&self.from, &self.to, &self.project);
        let reach = if self.at_once {
            format!("each build reaches {from} at once")
        } else {
            format!("builds reach {from} at most that often")
        };
        format!(
            "      warning: {} has been built about every {} recently, more often than this soak ({}):\n        {reach} and replaces the build soaking there; Kargo counts a soak only while the Freight stays, so {to} may never be promoted by itself.\n        Shorten `soak`, promote `{}` by hand (`autoPromote: false` there), or approve a build: `kargo approve --project {project} --stage {to} --freight <FREIGHT>` (an approval supersedes the soak)\n",
            self.image,
            crate::duration::human(self.every_secs),
            crate::duration::human(self.soak_secs),
            self.after,
        )
    }
}

impl serde::Serialize for SoakStarvation {
    /// The text on one line, each run of white space one space.
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let text = self.text();
        let words: Vec<&str> = text.split_whitespace().collect();
        s.serialize_str(&one_line(&words.join(" ")))
    }
}

/// A [`SoakStarvation`] warning when image `m` (state `state`) is built
/// more often than update `u` soaks. Judged from the recorded builds (the
/// median of the recent gaps); nothing when too few are recorded.
pub(crate) fn soak_starvation(
    m: &crate::model::Managed,
    u: &crate::model::Update,
    state: Option<&ImageState>,
    project: &str,
) -> Option<SoakStarvation> {
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
    Some(SoakStarvation {
        image: m.name.clone(),
        every_secs: every,
        soak_secs: u.soak_secs,
        after: after.name.clone(),
        from: update_stage_name(&m.name, &after.name),
        at_once: after.after.is_none(),
        to: update_stage_name(&m.name, &u.name),
        project: project.to_string(),
    })
}

/// `s` on one line, trimmed: control characters and Unicode line and
/// paragraph separators become spaces, so text a person typed cannot leave
/// the comment it is printed in.
pub(crate) fn one_line(s: &str) -> String {
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

/// The images among `image` and `below` that dependent `d` is built on.
pub(crate) fn built_on_within<'m>(
    model: &'m Model,
    d: usize,
    image: usize,
    below: &[usize],
) -> Vec<&'m str> {
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
pub(crate) fn downstream(model: &Model, roots: &[usize]) -> Vec<bool> {
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

/// The plan of an emergency rebuild, in Kargo's terms: which images, and
/// for each step the rebuild Stage to promote and the Warehouses whose
/// Freight it takes. [`crate::ops::emergency`] computes it; [`script`]
/// renders it as the shell script that carries it out.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
pub struct Plan {
    /// Affected managed images, in dependency order.
    pub images: Vec<String>,
    /// The script's steps, in order.
    pub steps: Vec<EmergencyStep>,
    /// The audit entry of the emergency (each affected image's state file
    /// gets [`Plan::audit_for`] it); its `at`, `actor` and `reason` head the
    /// script.
    pub audit: AuditEntry,
    /// The Kargo project the script works in.
    #[serde(skip)]
    pub project: String,
}

impl Plan {
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
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
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
    /// A step waits for every base it takes, or for none.
    pub wait_for: Vec<EmergencyBase>,
    /// Bases whose newest Freight is used at once.
    pub newest_of: Vec<EmergencyBase>,
    /// With no stage: where to start the build by hand (POST).
    pub dispatch_url: Option<String>,
    /// The branch that build is of.
    #[serde(skip)]
    pub branch: String,
}

/// A base an emergency step takes Freight from.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct EmergencyBase {
    pub name: String,
    pub warehouse: String,
    /// The analysis Stage a new build must be verified in (waits only).
    pub verified_in: Option<String>,
    /// The soak Stage whose security gate the Freight taken at once must
    /// have passed (verified in it): the newest such Freight is taken.
    /// Null when the base has no gate, or with `--allow-unverified`.
    pub gate: Option<String>,
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
            shard: None,
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
        let w = soak_starvation(&m, prod, Some(&built_every(&[12 * H; 4])), "p")
            .unwrap()
            .text();
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
        let w = soak_starvation(&m, &m.updates[1], Some(&often), "p")
            .unwrap()
            .text();
        assert!(
            w.contains("builds reach update-app-staging at most that often"),
            "{w}"
        );
    }
}
