//! How often each Warehouse polls: webhook fallbacks and per-registry poll
//! budgets. Pure.
//!
//! Kargo polls a Warehouse once per `spec.interval` after its last
//! discovery, with no jitter, and re-polls at once on any spec change
//! (v1.11.2 `pkg/controller/warehouses/warehouses.go:908-935`). So:
//! - a Warehouse a webhook serves polls only as a fallback, every
//!   [`WEBHOOK_FALLBACK_SECS`] to twice that (spread by a stable hash);
//! - without a budget for its registry, a Warehouse keeps today's interval;
//! - with a budget `B` polls per hour, when `Σ 3600 / interval` exceeds it,
//!   the fastest pollers slow down to a floor `T` (the smallest step of a
//!   fixed ladder `5m · 1.1^k` that fits), each at `T · (1 + u)` with `u` in
//!   [0, 1) from a stable hash of the Warehouse: intervals spread over
//!   [T, 2T), and the sum is computed on the emitted values, so the budget
//!   holds by construction. Adding a Warehouse changes no other interval
//!   unless `T` steps.

// Object counts, hashes scaled to [0, 1) and intervals in seconds: all far
// below 2^52 and non-negative, so these casts neither truncate nor lose
// precision that matters.
#![allow(
    clippy::cast_precision_loss,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::float_cmp
)]

use std::collections::BTreeMap;

use crate::names::mixed_hash_parts;

/// A webhook-served Warehouse's fallback interval: 6 hours, spread to 12.
pub const WEBHOOK_FALLBACK_SECS: u64 = 6 * 3600;
/// The ladder's first step: Kargo's default minimum interval.
const LADDER_START_SECS: f64 = 300.0;
const LADDER_STEPS: usize = 400;

/// One Warehouse's polling, as placement sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Poller {
    /// The host it polls (`docker.io`, `ghcr.io`, `github.com`).
    pub registry: String,
    /// The Warehouse's name (with the registry, its spreading hash).
    pub name: String,
    /// Its interval without budgets or webhooks, in seconds.
    pub base_secs: u64,
    /// Whether a webhook receiver refreshes it.
    pub webhook: bool,
}

/// Why a Warehouse polls as it does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// Today's interval (`intervals.managed`, or the upstream stagger).
    Default,
    /// A webhook refreshes it; it polls only as a fallback.
    Webhook,
    /// The registry's budget lengthened it (floor `T`, seconds).
    Budget { floor_secs: u64 },
}

/// One registry's polls.
#[derive(Debug, Clone, PartialEq)]
pub struct Registry {
    /// `discovery.registries.<host>.pollsPerHour`, if set.
    pub budget: Option<u32>,
    /// Σ 3600 / interval over its Warehouses.
    pub expected_per_hour: f64,
    /// The floor the budget imposed, if it had to.
    pub floor_secs: Option<u64>,
    pub warehouses: usize,
    pub webhook_served: usize,
}

/// Intervals (seconds) and reasons per poller, and a summary per registry.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub secs: Vec<u64>,
    pub reason: Vec<Reason>,
    pub registries: BTreeMap<String, Registry>,
}

/// `u ∈ [0, 1)` as a fraction of 2^64: the Warehouse's stable spread.
fn spread(p: &Poller) -> u64 {
    mixed_hash_parts(&[&p.registry, "/", &p.name])
}

/// `t · (1 + u)`, in whole seconds.
fn spread_secs(t: u64, u: u64) -> u64 {
    t + ((u128::from(t) * u128::from(u)) >> 64) as u64
}

/// The ladder: `5m · 1.1^k` rounded to whole minutes.
fn ladder() -> Vec<u64> {
    let mut out = Vec::with_capacity(LADDER_STEPS);
    let mut t = LADDER_START_SECS;
    for _ in 0..LADDER_STEPS {
        out.push(((t / 60.0).round() as u64).max(1) * 60);
        t *= 1.1;
    }
    out
}

fn per_hour(secs: &[u64]) -> f64 {
    secs.iter().map(|s| 3600.0 / (*s).max(1) as f64).sum()
}

/// Plans every poller's interval under `budgets` (polls per hour by host).
pub fn plan(pollers: &[Poller], budgets: &BTreeMap<String, u32>) -> Plan {
    let mut secs: Vec<u64> = pollers
        .iter()
        .map(|p| {
            if p.webhook {
                spread_secs(WEBHOOK_FALLBACK_SECS, spread(p))
            } else {
                p.base_secs
            }
        })
        .collect();
    let mut reason: Vec<Reason> = pollers
        .iter()
        .map(|p| {
            if p.webhook {
                Reason::Webhook
            } else {
                Reason::Default
            }
        })
        .collect();
    let mut by_registry: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, p) in pollers.iter().enumerate() {
        by_registry.entry(&p.registry).or_default().push(i);
    }
    let mut registries = BTreeMap::new();
    let steps = ladder();
    for (reg, members) in by_registry {
        let budget = budgets.get(reg).copied();
        let mut floor = None;
        if let Some(b) = budget {
            let base: Vec<u64> = members.iter().map(|i| secs[*i]).collect();
            if per_hour(&base) > f64::from(b) {
                let u: Vec<u64> = members.iter().map(|i| spread(&pollers[*i])).collect();
                let at = |t: u64| -> Vec<u64> {
                    base.iter()
                        .zip(&u)
                        .map(|(d, u)| (*d).max(spread_secs(t, *u)))
                        .collect()
                };
                // The sum falls as T grows: the first step that fits.
                let k = steps.partition_point(|t| per_hour(&at(*t)) > f64::from(b));
                let t = steps[k.min(steps.len() - 1)];
                for (j, s) in at(t).into_iter().enumerate() {
                    let i = members[j];
                    if s > secs[i] {
                        secs[i] = s;
                        reason[i] = Reason::Budget { floor_secs: t };
                    }
                }
                floor = Some(t);
            }
        }
        let mine: Vec<u64> = members.iter().map(|i| secs[*i]).collect();
        registries.insert(
            reg.to_string(),
            Registry {
                budget,
                expected_per_hour: per_hour(&mine),
                floor_secs: floor,
                warehouses: members.len(),
                webhook_served: members.iter().filter(|i| pollers[**i].webhook).count(),
            },
        );
    }
    Plan {
        secs,
        reason,
        registries,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn pollers(n: usize, registry: &str, base: u64) -> Vec<Poller> {
        (0..n)
            .map(|i| Poller {
                registry: registry.into(),
                name: format!("app-{i}"),
                base_secs: base,
                webhook: false,
            })
            .collect()
    }

    #[test]
    fn without_a_budget_intervals_stay() {
        let p = pollers(50, "docker.io", 300);
        let plan = plan(&p, &BTreeMap::new());
        assert!(plan.secs.iter().all(|s| *s == 300));
        assert_eq!(plan.registries["docker.io"].expected_per_hour, 600.0);
    }

    #[test]
    fn webhook_served_poll_between_6_and_12_hours() {
        let mut p = pollers(200, "docker.io", 300);
        for x in &mut p {
            x.webhook = true;
        }
        let plan = plan(&p, &BTreeMap::new());
        assert!(plan
            .secs
            .iter()
            .all(|s| (WEBHOOK_FALLBACK_SECS..2 * WEBHOOK_FALLBACK_SECS).contains(s)));
        let distinct: std::collections::BTreeSet<_> = plan.secs.iter().collect();
        assert!(distinct.len() > 150, "spread: {} distinct", distinct.len());
    }

    #[test]
    fn budget_slows_fast_pollers_only() {
        let mut p = pollers(700, "docker.io", 300);
        p.extend((0..300).map(|i| Poller {
            registry: "docker.io".into(),
            name: format!("base-{i}"),
            base_secs: 86_400,
            webhook: false,
        }));
        let plan = plan(&p, &BTreeMap::from([("docker.io".to_string(), 400)]));
        let r = &plan.registries["docker.io"];
        assert!(r.expected_per_hour <= 400.0, "{}", r.expected_per_hour);
        let t = r.floor_secs.unwrap();
        for (i, s) in plan.secs.iter().enumerate().take(700) {
            assert!(*s >= t && *s < 2 * t, "{s} not in [{t}, {})", 2 * t);
            assert_eq!(plan.reason[i], Reason::Budget { floor_secs: t });
        }
        // 24h upstream Warehouses are left alone.
        assert!(plan.secs[700..].iter().all(|s| *s == 86_400));
    }

    #[test]
    fn adding_one_warehouse_rarely_changes_others() {
        let b = BTreeMap::from([("ghcr.io".to_string(), 5000)]);
        let p = pollers(10_000, "ghcr.io", 300);
        let a = plan(&p, &b);
        let mut q = p.clone();
        q.push(Poller {
            registry: "ghcr.io".into(),
            name: "new".into(),
            base_secs: 300,
            webhook: false,
        });
        let c = plan(&q, &b);
        assert_eq!(a.secs[..], c.secs[..10_000]);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// Σ 3600/interval ≤ pollsPerHour for every budgeted registry, and
        /// no interval is shortened.
        #[test]
        fn budgets_hold(
            fast in 0usize..2_000,
            slow in 0usize..500,
            hooked in 0usize..300,
            budget in 1u32..20_000,
        ) {
            let mut p = pollers(fast, "docker.io", 300);
            p.extend((0..slow).map(|i| Poller { registry: "docker.io".into(), name: format!("b-{i}"), base_secs: 86_400 + i as u64 * 60, webhook: false }));
            p.extend((0..hooked).map(|i| Poller { registry: "docker.io".into(), name: format!("h-{i}"), base_secs: 300, webhook: true }));
            let plan = plan(&p, &BTreeMap::from([("docker.io".to_string(), budget)]));
            if let Some(r) = plan.registries.get("docker.io") {
                prop_assert!(r.expected_per_hour <= f64::from(budget), "{} > {budget}", r.expected_per_hour);
            }
            for (x, s) in p.iter().zip(&plan.secs) {
                prop_assert!(*s >= x.base_secs.min(WEBHOOK_FALLBACK_SECS));
            }
        }
    }
}
