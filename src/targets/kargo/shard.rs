//! Which Kargo controller shard each unit of objects goes to: rendezvous
//! (highest-random-weight) hashing with bounded loads. Pure.
//!
//! A unit is a set of objects that share a shard (an image's Warehouses
//! and Stages); its weight is how many objects it holds. Each unit prefers
//! the shards in the order of `score(shard, key)`; it takes the first whose
//! load stays within `cap = c · W / n`, where `c` is chosen so that the
//! largest shard holds at most 1.3× the smallest whenever no unit had to
//! fall back (`c / (n − (n−1)·c) ≤ 1.3`). Units are placed in an order fixed
//! by their keys' hashes, so the order of images.yaml does not matter, and
//! adding or removing a unit moves few others: none when plain rendezvous
//! is already within `cap`, a handful when a shard was at its bound.
//!
//! The hashes ([`crate::names::mixed_hash`]) are fixed forever: a change
//! would move objects, and a moved Warehouse re-polls at once.

// Object counts, hashes scaled to [0, 1) and intervals in seconds: all far
// below 2^52 and non-negative, so these casts neither truncate nor lose
// precision that matters.
#![allow(
    clippy::cast_precision_loss,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::float_cmp
)]

use crate::names::{mixed_hash, mixed_hash_parts};

/// The largest shard's load over the smallest's that placement guarantees.
pub const MAX_RATIO: f64 = 1.3;

/// Objects that share a shard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unit {
    /// Stable identity: `image:<name>` or `upstream:<name>`.
    pub key: String,
    /// How many objects it holds (at least 1).
    pub weight: u64,
}

/// How a unit got its shard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Choice {
    /// Its `rank`-th preference (0: the first): earlier ones were full.
    Preferred { rank: usize },
    /// Every shard was at its bound: the least loaded one.
    Fallback,
}

/// The result: per unit, a shard (an index into the shards) and how it was chosen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assignment {
    pub shard: Vec<usize>,
    pub choice: Vec<Choice>,
    /// Objects per shard, pins included.
    pub load: Vec<u64>,
}

impl Assignment {
    /// Whether the 1.3× guarantee holds: no unit fell back and no shard's
    /// pins exceeded its bound.
    pub fn balanced(&self, cap_ok: bool) -> bool {
        cap_ok && !self.choice.contains(&Choice::Fallback)
    }

    /// Largest load over smallest (infinite when a shard is empty and
    /// another is not; 1 when all are empty).
    pub fn ratio(&self) -> f64 {
        let max = self.load.iter().copied().max().unwrap_or(0);
        let min = self.load.iter().copied().min().unwrap_or(0);
        match (max, min) {
            (0, _) => 1.0,
            (_, 0) => f64::INFINITY,
            _ => max as f64 / min as f64,
        }
    }
}

/// `score(shard, key)`: the rendezvous weight of a shard for a unit.
pub fn score(shard: &str, key: &str) -> u64 {
    mixed_hash_parts(&[shard, "\u{0}", key])
}

/// `c · 100` for `n` shards: `floor(100 · 1.3n / (1 + 1.3(n−1)))`
/// (n=2: 113, 3: 108, 4: 106, 5: 104), in integers.
pub fn cap_percent(n: usize) -> u64 {
    let n = n.max(1) as u64;
    // 1.3n / (1 + 1.3(n−1)) = 13n / (13n − 3)
    (100 * 13 * n) / (13 * n - 3)
}

/// Places `units` on `shards` (names), with `pins[s]` objects already fixed
/// on shard `s` (update Stages that name their shard).
pub fn assign(shards: &[String], units: &[Unit], pins: &[u64]) -> Assignment {
    let n = shards.len();
    assert!(n > 0, "assign needs at least one shard");
    let mut load: Vec<u64> = (0..n).map(|s| pins.get(s).copied().unwrap_or(0)).collect();
    let total: u64 = load.iter().sum::<u64>() + units.iter().map(|u| u.weight).sum::<u64>();
    let c = cap_percent(n);
    // load + w ≤ c/100 · W / n  ⇔  (load + w) · 100 · n ≤ c · W
    let fits = |l: u64| u128::from(l) * 100 * n as u128 <= u128::from(c) * u128::from(total);
    let mut order: Vec<(u64, usize)> = units
        .iter()
        .enumerate()
        .map(|(i, u)| (mixed_hash(&u.key), i))
        .collect();
    order.sort_unstable_by(|a, b| {
        a.0.cmp(&b.0)
            .then_with(|| units[a.1].key.cmp(&units[b.1].key))
    });
    let mut shard = vec![0; units.len()];
    let mut choice = vec![Choice::Fallback; units.len()];
    for (_, i) in order {
        let u = &units[i];
        let mut prefs: Vec<(u64, usize)> = (0..n).map(|s| (score(&shards[s], &u.key), s)).collect();
        prefs.sort_unstable_by(|a, b| b.0.cmp(&a.0).then_with(|| shards[a.1].cmp(&shards[b.1])));
        let picked = prefs
            .iter()
            .enumerate()
            .find(|(_, (_, s))| fits(load[*s] + u.weight))
            .map(|(rank, (_, s))| (*s, Choice::Preferred { rank }));
        let (s, ch) = picked.unwrap_or_else(|| {
            let s = (0..n)
                .min_by(|a, b| {
                    load[*a]
                        .cmp(&load[*b])
                        .then_with(|| shards[*a].cmp(&shards[*b]))
                })
                .unwrap_or(0);
            (s, Choice::Fallback)
        });
        shard[i] = s;
        choice[i] = ch;
        load[s] += u.weight;
    }
    Assignment {
        shard,
        choice,
        load,
    }
}

/// Whether every shard's pins fit within the bound (else balance is not
/// guaranteed, whatever the units do).
pub fn pins_fit(n: usize, pins: &[u64], total: u64) -> bool {
    let c = cap_percent(n);
    pins.iter()
        .all(|p| u128::from(*p) * 100 * n as u128 <= u128::from(c) * u128::from(total))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn shards(n: usize) -> Vec<String> {
        ["eu-west", "us-east", "ap-south", "sa-east", "af-south"][..n]
            .iter()
            .map(std::string::ToString::to_string)
            .collect()
    }

    fn units(weights: &[u64]) -> Vec<Unit> {
        weights
            .iter()
            .enumerate()
            .map(|(i, w)| Unit {
                key: format!("image:app-{i}"),
                weight: *w,
            })
            .collect()
    }

    /// Objects that changed shard between two assignments of the same units
    /// (by key), not counting keys present in only one.
    fn moved(a: &[Unit], aa: &Assignment, b: &[Unit], bb: &Assignment) -> u64 {
        let mut m = 0;
        for (i, u) in a.iter().enumerate() {
            if let Some(j) = b.iter().position(|v| v.key == u.key) {
                if aa.shard[i] != bb.shard[j] {
                    m += u.weight;
                }
            }
        }
        m
    }

    #[test]
    fn cap_percentages_match_the_design() {
        assert_eq!(
            (2..=5).map(cap_percent).collect::<Vec<_>>(),
            vec![113, 108, 106, 104]
        );
        for n in 2..=16usize {
            let c = cap_percent(n) as f64 / 100.0;
            assert!(c / (n as f64 - (n as f64 - 1.0) * c) <= MAX_RATIO + 1e-9);
        }
    }

    #[test]
    fn hash_is_fixed() {
        // Changing these moves every object: never change them.
        assert_eq!(score("eu-west", "image:app"), score("eu-west", "image:app"));
        assert_eq!(crate::names::mixed_hash(""), 0xefd0_1f60_ba99_2926);
    }

    #[test]
    fn pins_are_counted() {
        let s = shards(3);
        let u = units(&[4; 120]);
        let a = assign(&s, &u, &[60, 0, 0]);
        assert_eq!(a.load.iter().sum::<u64>(), 480 + 60);
        assert!(a.ratio() <= MAX_RATIO, "{:?}", a.load);
    }

    #[test]
    fn order_of_units_does_not_matter() {
        let s = shards(3);
        let u = units(&(0..150).map(|i| 4 + i % 5).collect::<Vec<_>>());
        let a = assign(&s, &u, &[]);
        let mut rev = u.clone();
        rev.reverse();
        let b = assign(&s, &rev, &[]);
        assert_eq!(moved(&u, &a, &rev, &b), 0);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        /// Largest shard ≤ 1.3× the smallest, from 100 images on, for 2–5 shards.
        #[test]
        fn balanced_from_100_images(
            n in 2usize..=5,
            count in prop_oneof![100usize..=250, Just(1_000usize)],
            seed in any::<u64>(),
        ) {
            let weights: Vec<u64> = (0..count)
                .map(|i| 4 + crate::names::fmix64(seed ^ i as u64) % 5)
                .collect();
            let u: Vec<Unit> = weights
                .iter()
                .enumerate()
                .map(|(i, w)| Unit { key: format!("image:{seed:x}-{i}"), weight: *w })
                .collect();
            let a = assign(&shards(n), &u, &[]);
            prop_assert!(a.balanced(true));
            prop_assert!(a.ratio() <= MAX_RATIO, "ratio {} loads {:?}", a.ratio(), a.load);
        }

        /// Adding or removing one image moves at most 32 other objects
        /// (3 shards, 100–300 images; 4–8 objects per image, so a handful of
        /// images). Bounded loads can cascade when a shard is at its cap:
        /// the design's simulation saw at most 17, proptest found 21.
        #[test]
        fn stable_under_one_image(
            count in 100usize..=300,
            seed in any::<u64>(),
            victim in any::<prop::sample::Index>(),
        ) {
            let u: Vec<Unit> = (0..count)
                .map(|i| Unit {
                    key: format!("image:{seed:x}-{i}"),
                    weight: 4 + crate::names::fmix64(seed ^ i as u64) % 5,
                })
                .collect();
            let s = shards(3);
            let a = assign(&s, &u, &[]);
            let mut fewer = u.clone();
            fewer.remove(victim.index(count));
            let b = assign(&s, &fewer, &[]);
            prop_assert!(moved(&u, &a, &fewer, &b) <= 32, "remove moved {}", moved(&u, &a, &fewer, &b));
            let mut more = u.clone();
            more.insert(victim.index(count), Unit { key: format!("image:{seed:x}-new"), weight: 6 });
            let c = assign(&s, &more, &[]);
            prop_assert!(moved(&u, &a, &more, &c) <= 32, "add moved {}", moved(&u, &a, &more, &c));
        }
    }

    #[test]
    fn ten_thousand_images_are_balanced_and_stable() {
        let u: Vec<Unit> = (0..10_000)
            .map(|i| Unit {
                key: format!("image:svc-{i}"),
                weight: 4 + crate::names::fmix64(i) % 5,
            })
            .collect();
        let s = shards(3);
        let a = assign(&s, &u, &[]);
        assert!(a.ratio() <= 1.1, "{:?}", a.load);
        let b = assign(&s, &u[1..], &[]);
        assert!(moved(&u, &a, &u[1..], &b) <= 20);
    }
}
