//! Where each Warehouse and Stage runs (`spec.shard`) and how often each
//! Warehouse polls (`spec.interval`), from settings' `kargo.shards` and
//! `discovery`. Pure; computed once per output (and by `explain`/`status`).
//!
//! An image's Warehouses and Stages share a shard (one failure domain per
//! image; the same cluster's egress serves its registry poll and its
//! dispatch; one shard to report), chosen by [`super::shard`]. Kargo does
//! not need this (Freight carries no shard and every controller caches
//! every Warehouse and Freight, v1.11.2 `cmd/controlplane/controller.go:240-253`),
//! so an update that names its `shard` — the cluster whose Argo CD holds its
//! Application, where its Promotions run — moves only its own Stage.
//! Upstream images are units of their own (Warehouse, soak and record
//! Stages, and an external image's update Stages).

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::Path;

use super::poll::{self, Poller, Reason};
use super::shard::{self, Choice, Unit};
use crate::config::enrollment::Provider;
use crate::config::parse::Locator;
use crate::config::settings::Settings;
use crate::diagnostic::Diagnostic;
use crate::model::{BaseRef, Model};
use crate::targets::kargo::settings::{registry_host, Webhook};

/// Shards and intervals for one model and its settings.
#[derive(Debug, Clone)]
pub struct Placement {
    /// `kargo.shards` (empty: no `spec.shard` anywhere).
    pub shards: Vec<String>,
    managed_shard: Vec<usize>,
    upstream_shard: Vec<usize>,
    managed_choice: Vec<Choice>,
    upstream_choice: Vec<Choice>,
    /// Image names → model index, for updates' shards; empty without
    /// `kargo.shards` (the only use).
    managed_index: HashMap<String, usize>,
    upstream_index: HashMap<String, usize>,
    /// How many managed images the model has.
    managed_count: usize,
    /// Objects per shard, as placed.
    pub load: Vec<u64>,
    /// Whether the 1.3× balance bound is guaranteed.
    pub balanced: bool,
    /// Pollers: managed images' Warehouses, then their sources', then
    /// upstream Warehouses (model order), and their intervals.
    pub polls: poll::Plan,
    pollers: Vec<Poller>,
    hooks: Vec<Option<Webhook>>,
}

/// One Warehouse of the output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WarehouseOf {
    /// Managed image `m`'s registry Warehouse.
    Image(usize),
    /// Managed image `m`'s source Warehouse.
    Source(usize),
    /// Upstream image `u`'s Warehouse.
    Upstream(usize),
}

impl WarehouseOf {
    /// The Warehouse a base's new versions come from.
    pub fn base(b: BaseRef) -> WarehouseOf {
        match b {
            BaseRef::Upstream(u) => WarehouseOf::Upstream(u),
            BaseRef::Managed(m) => WarehouseOf::Image(m),
        }
    }
}

/// How one Warehouse polls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Polling {
    pub registry: String,
    pub secs: u64,
    pub reason: Reason,
    /// The receiver that refreshes it, if any.
    pub webhook: Option<Webhook>,
}

/// The host an image repository URL (`ghcr.io/org/app`) polls.
pub fn image_host(repo_url: &str) -> String {
    registry_host(repo_url.split('/').next().unwrap_or_default()).to_string()
}

/// The host of an https URL (`https://github.com` → `github.com`).
fn web_host(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    rest.split('/').next().unwrap_or_default().to_string()
}

/// The receiver type that would refresh a managed image's registry
/// Warehouse on `host`, if imgf generates one.
fn image_receiver(host: &str) -> Option<Webhook> {
    match host {
        "ghcr.io" => Some(Webhook::Github),
        "docker.io" => Some(Webhook::Dockerhub),
        "quay.io" => Some(Webhook::Quay),
        _ => None,
    }
}

/// The receiver type that would refresh a source Warehouse.
fn source_receiver(provider: Provider) -> Webhook {
    match provider {
        Provider::Github => Webhook::Github,
        Provider::Gitlab => Webhook::Gitlab,
    }
}

/// The receiver that refreshes a managed image's registry Warehouse.
fn image_webhook(host: &str, settings: &Settings) -> Option<Webhook> {
    image_receiver(host).filter(|w| settings.discovery.has(*w))
}

/// The receiver that refreshes a managed image's source Warehouse.
fn source_webhook(provider: Provider, settings: &Settings) -> Option<Webhook> {
    Some(source_receiver(provider)).filter(|w| settings.discovery.has(*w))
}

impl Placement {
    pub fn new(model: &Model, settings: &Settings) -> Placement {
        let (managed_shard, upstream_shard, managed_choice, upstream_choice, load, balanced) =
            if settings.kargo.shards.is_empty() {
                Default::default()
            } else {
                shards(model, settings)
            };
        let (pollers, hooks) = pollers(model, settings);
        let polls = poll::plan(&pollers, &settings.discovery.budgets);
        let sharded = !settings.kargo.shards.is_empty();
        Placement {
            shards: settings.kargo.shards.clone(),
            managed_shard,
            upstream_shard,
            managed_choice,
            upstream_choice,
            managed_index: model
                .managed
                .iter()
                .enumerate()
                .filter(|_| sharded)
                .map(|(i, m)| (m.name.clone(), i))
                .collect(),
            upstream_index: model
                .upstream
                .iter()
                .enumerate()
                .filter(|_| sharded)
                .map(|(i, u)| (u.name.clone(), i))
                .collect(),
            managed_count: model.managed.len(),
            load,
            balanced,
            polls,
            pollers,
            hooks,
        }
    }

    /// The shard of managed image `m`'s objects.
    pub fn managed(&self, m: usize) -> Option<&str> {
        self.managed_shard.get(m).map(|s| self.shards[*s].as_str())
    }

    /// The shard of upstream image `u`'s objects.
    pub fn upstream(&self, u: usize) -> Option<&str> {
        self.upstream_shard.get(u).map(|s| self.shards[*s].as_str())
    }

    /// How managed image `m`'s shard was chosen: its rendezvous rank (0:
    /// first choice), or `None` when every shard was full.
    pub fn managed_rank(&self, m: usize) -> Option<usize> {
        match self.managed_choice.get(m) {
            Some(Choice::Preferred { rank }) => Some(*rank),
            _ => None,
        }
    }

    /// The same for upstream image `u`.
    pub fn upstream_rank(&self, u: usize) -> Option<usize> {
        match self.upstream_choice.get(u) {
            Some(Choice::Preferred { rank }) => Some(*rank),
            _ => None,
        }
    }

    /// The shard of an update Stage of the image named `image` (managed or
    /// external): the update's own `shard`, else its image's.
    pub fn update(&self, managed: bool, image: &str, pinned: Option<&str>) -> Option<&str> {
        if self.shards.is_empty() {
            return None;
        }
        if let Some(p) = pinned {
            return self.shards.iter().find(|s| *s == p).map(String::as_str);
        }
        if managed {
            self.managed(*self.managed_index.get(image)?)
        } else {
            self.upstream(*self.upstream_index.get(image)?)
        }
    }

    fn polling(&self, i: usize) -> Polling {
        Polling {
            registry: self.pollers[i].registry.clone(),
            secs: self.polls.secs[i],
            reason: self.polls.reason[i],
            webhook: self.hooks[i],
        }
    }

    /// The index of Warehouse `w` among the pollers.
    fn poller(&self, w: WarehouseOf) -> usize {
        let k = self.managed_count;
        match w {
            WarehouseOf::Image(m) => m,
            WarehouseOf::Source(m) => k + m,
            WarehouseOf::Upstream(u) => 2 * k + u,
        }
    }

    /// How Warehouse `w` polls.
    pub fn polling_of(&self, w: WarehouseOf) -> Polling {
        self.polling(self.poller(w))
    }

    /// The shard of Warehouse `w`: its image's.
    pub fn shard_of(&self, w: WarehouseOf) -> Option<&str> {
        match w {
            WarehouseOf::Image(m) | WarehouseOf::Source(m) => self.managed(m),
            WarehouseOf::Upstream(u) => self.upstream(u),
        }
    }

    /// Warehouse `w`'s `spec.interval` when it differs from today's (a
    /// webhook or a budget set it); `None` keeps the Warehouse's own.
    pub fn interval_of(&self, w: WarehouseOf) -> Option<String> {
        let i = self.poller(w);
        (self.polls.reason[i] != Reason::Default).then(|| crate::duration::hms(self.polls.secs[i]))
    }
}

/// Every Warehouse's polling inputs, in [`Placement`]'s order.
fn pollers(model: &Model, settings: &Settings) -> (Vec<Poller>, Vec<Option<Webhook>>) {
    let managed_secs = crate::duration::parse_interval(&settings.intervals.managed);
    let n = 2 * model.managed.len() + model.upstream.len();
    let mut out = Vec::with_capacity(n);
    let mut hooks = Vec::with_capacity(n);
    for m in &model.managed {
        let registry = image_host(&m.repo_url);
        let hook = image_webhook(&registry, settings);
        hooks.push(hook);
        out.push(Poller {
            webhook: hook.is_some(),
            registry,
            name: super::image_warehouse_name(&m.name),
            base_secs: managed_secs,
        });
    }
    for m in &model.managed {
        let hook = source_webhook(m.provider, settings);
        hooks.push(hook);
        out.push(Poller {
            registry: web_host(settings.providers.web(m.provider)),
            name: super::source_warehouse_name(&m.name),
            base_secs: managed_secs,
            webhook: hook.is_some(),
        });
    }
    for u in &model.upstream {
        out.push(Poller {
            registry: image_host(&u.repo_url),
            name: crate::names::fit(&u.name),
            base_secs: crate::duration::parse_interval(&super::warehouse::polite_interval(
                u, settings,
            )),
            // Upstream repositories are not ours: no webhook is ever registered there.
            webhook: false,
        });
        hooks.push(None);
    }
    (out, hooks)
}

type Shards = (
    Vec<usize>,
    Vec<usize>,
    Vec<Choice>,
    Vec<Choice>,
    Vec<u64>,
    bool,
);

/// Units, weights and pins → shards.
fn shards(model: &Model, settings: &Settings) -> Shards {
    let names = &settings.kargo.shards;
    let mut pins = vec![0u64; names.len()];
    let mut unpinned = |updates: &[crate::model::Update]| -> u64 {
        let mut n = 0;
        for up in updates {
            match up
                .shard
                .as_ref()
                .and_then(|s| names.iter().position(|x| x == s))
            {
                Some(s) => pins[s] += 1,
                None => n += 1,
            }
        }
        n
    };
    let mut used = vec![false; model.upstream.len()];
    for m in &model.managed {
        for b in &m.bases {
            if let BaseRef::Upstream(u) = b {
                used[*u] = true;
            }
        }
    }
    let records = settings.state_repo.url.is_some();
    let mut units = Vec::with_capacity(model.managed.len() + model.upstream.len());
    for m in &model.managed {
        let fast = if super::security::fast_path(m, settings) {
            2 * m
                .bases
                .iter()
                .filter(|b| matches!(b, BaseRef::Upstream(_)))
                .count() as u64
        } else {
            0
        };
        let rebuild = u64::from(!m.bases.is_empty());
        units.push(Unit {
            key: format!("image:{}", m.name),
            weight: 3 + rebuild + fast + unpinned(&m.updates),
        });
    }
    for (i, u) in model.upstream.iter().enumerate() {
        let stages = if used[i] { 1 + u64::from(records) } else { 0 };
        units.push(Unit {
            key: format!("upstream:{}", u.name),
            weight: 1 + stages + unpinned(&u.updates),
        });
    }
    let total = pins.iter().sum::<u64>() + units.iter().map(|u| u.weight).sum::<u64>();
    let pins_ok = shard::pins_fit(names.len(), &pins, total);
    let a = shard::assign(names, &units, &pins);
    let balanced = a.balanced(pins_ok);
    let k = model.managed.len();
    (
        a.shard[..k].to_vec(),
        a.shard[k..].to_vec(),
        a.choice[..k].to_vec(),
        a.choice[k..].to_vec(),
        a.load,
        balanced,
    )
}

impl Placement {
    /// What the placement cannot promise: balance, and intervals a budget
    /// lengthened past what the consumers' rebuild delays tolerate (a new
    /// digest waits up to one interval before its soak — and so its
    /// `rebuildDelay` — starts; more than a quarter of the delay is too much),
    /// intervals a budget lengthened past a day for Warehouses no rebuild
    /// delay waits on (unless a webhook serves them), and budgets of hosts
    /// no Warehouse polls.
    /// Each points at the setting it is about in `settings_file`, whose
    /// text is `settings_text`.
    pub fn warnings(
        &self,
        model: &Model,
        settings: &Settings,
        settings_file: &Path,
        settings_text: &str,
    ) -> Vec<Diagnostic> {
        // Lines are looked up only for a warning found.
        let loc = std::cell::OnceCell::new();
        let loc = || loc.get_or_init(|| Locator::new(settings_text));
        let mut out = Vec::new();
        if !self.shards.is_empty() && !self.balanced && model.managed.len() >= 100 {
            out.push(
                Diagnostic::warning(format!(
                    "kargo.shards: the shards hold {} objects; the largest may exceed 1.3× the smallest (updates pinned with `shard:` crowd one shard, or the units are few and large)",
                    self.load.iter().map(u64::to_string).collect::<Vec<_>>().join(", ")
                ))
                .in_file(settings_file)
                .at(loc().path_key("kargo.shards"))
                .help("pin fewer updates to the crowded shard, or add shards"),
            );
        }
        if settings.discovery.budgets.is_empty() {
            return out;
        }
        // The smallest rebuild delay among the images built on each base.
        let mut upstream_delay: Vec<Option<u64>> = vec![None; model.upstream.len()];
        let mut managed_delay: Vec<Option<u64>> = vec![None; model.managed.len()];
        for m in &model.managed {
            for b in &m.bases {
                let slot = match b {
                    BaseRef::Upstream(u) => &mut upstream_delay[*u],
                    BaseRef::Managed(i) => &mut managed_delay[*i],
                };
                *slot = Some(slot.map_or(m.rebuild_delay_secs, |d| d.min(m.rebuild_delay_secs)));
            }
        }
        let k = model.managed.len();
        // Per registry: how many Warehouses are too slow, and the worst.
        let mut slow: std::collections::BTreeMap<&str, (usize, u64, String, u64)> =
            std::collections::BTreeMap::new();
        // Per registry: the Warehouses no rebuild delay waits on that poll
        // slower than [`IDLE_BOUND_SECS`], and the slowest.
        let mut idle: std::collections::BTreeMap<&str, Idle> = std::collections::BTreeMap::new();
        for (i, p) in self.pollers.iter().enumerate() {
            let Reason::Budget { .. } = self.polls.reason[i] else {
                continue;
            };
            let secs = self.polls.secs[i];
            let (delay, image) = if i < k {
                (managed_delay[i], &model.managed[i].repo_url)
            } else if i >= 2 * k {
                (
                    upstream_delay[i - 2 * k],
                    &model.upstream[i - 2 * k].repo_url,
                )
            } else {
                (None, &model.managed[i - k].source_repo)
            };
            let Some(delay) = delay else {
                // A webhook-served Warehouse polls only as a fallback.
                if secs > IDLE_BOUND_SECS && !p.webhook {
                    let e = idle.entry(p.registry.as_str()).or_default();
                    e.count += 1;
                    if secs > e.secs {
                        e.secs = secs;
                        e.slowest = format!("Warehouse {} ({image})", p.name);
                    }
                    e.receivers.extend(self.receiver_for(model, i));
                    e.upstream |= i >= 2 * k;
                }
                continue;
            };
            // As above: a receiver refreshes a webhook-served Warehouse at
            // once; its slow polling is only a fallback.
            if secs > delay / 4 && !p.webhook {
                let e = slow
                    .entry(p.registry.as_str())
                    .or_insert((0, 0, String::new(), 0));
                e.0 += 1;
                if secs > e.1 {
                    *e = (e.0, secs, format!("Warehouse {} ({image})", p.name), delay);
                }
            }
        }
        for (registry, (n, secs, slowest, delay)) in slow {
            let budget = settings.discovery.budget(registry);
            let limit = if delay == 0 {
                "its rebuild delay is 0".to_string()
            } else {
                format!(
                    "{} rebuild delay, 25% limit: {}",
                    crate::duration::human(delay),
                    crate::duration::human(delay / 4)
                )
            };
            out.push(
                Diagnostic::warning(format!(
                    "{n} Warehouse(s) of {registry} poll slower than their images' rebuild delays tolerate under its budget of {budget}/h: {slowest} polls every {}, so a new digest may wait that long before its rebuild delay starts ({limit})",
                    crate::duration::hms(secs)
                ))
                .in_file(settings_file)
                .at(budget_key(loc(), registry))
                .help(format!(
                    "raise `discovery.registries.{registry}.pollsPerHour`, add a webhook, or accept the longer wait"
                )),
            );
        }
        for (registry, e) in idle {
            out.push(
                e.warning(registry, settings)
                    .in_file(settings_file)
                    .at(budget_key(loc(), registry)),
            );
        }
        out.extend(self.unused_budgets(settings, settings_file, loc));
        out
    }

    /// The receiver that would refresh poller `i` if `discovery.webhooks`
    /// listed it (upstream Warehouses: none, their repositories are not ours).
    fn receiver_for(&self, model: &Model, i: usize) -> Option<Webhook> {
        let k = self.managed_count;
        if i < k {
            image_receiver(&self.pollers[i].registry)
        } else if i < 2 * k {
            Some(source_receiver(model.managed[i - k].provider))
        } else {
            None
        }
    }

    /// A warning for each budget of a host no Warehouse polls (a typo, or a
    /// registry nothing is pulled from): it limits nothing.
    fn unused_budgets<'l>(
        &self,
        settings: &Settings,
        settings_file: &Path,
        loc: impl Fn() -> &'l Locator<'l>,
    ) -> Vec<Diagnostic> {
        let polled: Vec<&str> = self.polls.registries.keys().map(String::as_str).collect();
        let unused: Vec<(&String, &u32)> = settings
            .discovery
            .budgets
            .iter()
            .filter(|(host, _)| !self.polls.registries.contains_key(*host))
            .collect();
        if unused.is_empty() {
            return Vec::new();
        }
        let hosts = if polled.is_empty() {
            "no Warehouse is generated".to_string()
        } else {
            format!(
                "the Warehouses poll {}",
                polled
                    .iter()
                    .map(|h| format!("`{h}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        };
        unused
            .into_iter()
            .map(|(host, budget)| {
                let help = match crate::diagnostic::did_you_mean(host, &polled) {
                    Some(m) => format!("did you mean `{m}`?"),
                    None => "remove it, or name a host the Warehouses poll".to_string(),
                };
                Diagnostic::warning(format!(
                    "discovery.registries: no Warehouse polls `{host}`, so its budget of {budget}/h limits nothing ({hosts})"
                ))
                .in_file(settings_file)
                .at(registry_key(loc(), host, &[]))
                .help(help)
            })
            .collect()
    }
}

/// Above a day between polls, a Warehouse no rebuild delay waits on is
/// slower than the slowest interval imgf picks by itself (`intervals.base`,
/// 24h, for images that are not ours): a new build or source commit may wait
/// days before analysis records it, an external image's new version before
/// its update Stages see it.
const IDLE_BOUND_SECS: u64 = 24 * 3600;

/// One registry's Warehouses that no rebuild delay waits on and a budget
/// slowed past [`IDLE_BOUND_SECS`].
#[derive(Default)]
struct Idle {
    count: usize,
    secs: u64,
    slowest: String,
    /// Receivers that would serve some of them.
    receivers: std::collections::BTreeSet<Webhook>,
    /// Whether some are upstream Warehouses (no receiver ever serves those).
    upstream: bool,
}

impl Idle {
    fn warning(&self, registry: &str, settings: &Settings) -> Diagnostic {
        let budget = settings.discovery.budget(registry);
        let mut help = format!("raise `discovery.registries.{registry}.pollsPerHour`");
        if !self.receivers.is_empty() {
            let names: Vec<&str> = self.receivers.iter().map(|w| w.as_str()).collect();
            let _ = write!(
                help,
                ", or add `{}` to `discovery.webhooks` (the Warehouses it serves poll only as a fallback)",
                names.join("`, `")
            );
        }
        if self.upstream {
            help.push_str("; upstream images' Warehouses are never served by a webhook");
        }
        Diagnostic::warning(format!(
            "{} Warehouse(s) of {registry} that no rebuild delay waits on poll less often than every {} under its budget of {budget}/h: {} polls every {}, so a new build, commit or version may wait that long to be discovered",
            self.count,
            crate::duration::human(IDLE_BOUND_SECS),
            self.slowest,
            crate::duration::hms(self.secs)
        ))
        .help(help)
    }
}

/// Where `discovery.registries.<host>.pollsPerHour` is written for
/// `registry` (which the file may spell `index.docker.io`), else
/// `discovery.registries`.
fn budget_key(loc: &Locator<'_>, registry: &str) -> Option<crate::diagnostic::Location> {
    registry_key(loc, registry, &["pollsPerHour"])
}

/// Where `discovery.registries.<host>` followed by `under` is written for
/// `registry`, under any of its spellings, else `discovery.registries`.
fn registry_key(
    loc: &Locator<'_>,
    registry: &str,
    under: &[&str],
) -> Option<crate::diagnostic::Location> {
    std::iter::once(registry)
        .chain(
            crate::targets::kargo::settings::DOCKER_HUB_ALIASES
                .into_iter()
                .filter(|a| registry_host(a) == registry),
        )
        .find_map(|host| {
            let mut parts = vec!["discovery", "registries", host];
            parts.extend_from_slice(under);
            loc.keys(&parts)
        })
        .or_else(|| loc.path_key("discovery.registries"))
}
