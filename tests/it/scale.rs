//! Kargo controller shards, webhook receivers and poll budgets
//! (`kargo.shards`, `discovery.webhooks`, `discovery.registries`, per-update
//! `shard`): settings errors, the objects, explain and status, and a
//! generated 10,000-image enrollment through validate-manifests.

// Object counts and polls per hour, compared and divided as floats: exact
// far below 2^52.
#![allow(clippy::cast_precision_loss, clippy::float_cmp)]

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::process::Command;

use crate::support::{docs, of_kind, shared, Project, ONE_IMAGE};

fn kargo(p: &Project) -> String {
    let r = p.run(&["synth", "--output", "-"]);
    assert_eq!(r.code, 0, "synth failed:\n{}", r.stderr);
    r.stdout
}

/// `n` managed images on ghcr.io, each built on node:22 (analysed), with an
/// update; with `pin`, app-0's update syncs Argo CD on shard `us-east`.
fn enrollment(p: &Project, n: usize, pin: bool) {
    let mut y = String::new();
    for i in 0..n {
        write!(
            y,
            "- name: app-{i}\n  registry: ghcr.io\n  repository: org/app-{i}\n  source: {{repo: org/app-{i}, dockerfile: Dockerfile, workflow: build.yml}}\n  updates:\n    - {{name: prod, repo: org/deploy, path: apps/app-{i}/values.yaml, type: yaml-update, key: image.tag, value: digest{}}}\n",
            if i == 0 && pin { ", argocd: {app: app-0}, shard: us-east" } else { "" }
        )
        .unwrap();
        built_on(p, &format!("app-{i}"), "node-22");
    }
    p.images(&y)
        .file("state/base-images/node-22.yaml", crate::support::NODE_STATE);
}

const SETTINGS: &str = "\
kargo:
  shards: [eu-west, us-east, ap-south]
discovery:
  webhooks: [github, dockerhub]
  registries:
    ghcr.io: {pollsPerHour: 30}
    docker.io: {pollsPerHour: 400}
";

fn spec_shard(o: &yaml_serde::Value) -> Option<&str> {
    o["spec"]["shard"].as_str()
}

#[test]
fn every_warehouse_and_stage_gets_a_shard_and_an_image_keeps_one() {
    let p = Project::new();
    enrollment(&p, 120, true);
    p.file("settings.yaml", SETTINGS);
    let out = kargo(&p);
    let d = docs(&out);
    let mut load: BTreeMap<&str, usize> = BTreeMap::new();
    let mut by_image: BTreeMap<String, BTreeSet<&str>> = BTreeMap::new();
    for kind in ["Warehouse", "Stage"] {
        for o in of_kind(&d, kind) {
            let s = spec_shard(o)
                .unwrap_or_else(|| panic!("no spec.shard on {kind} {:?}", o["metadata"]["name"]));
            assert!(["eu-west", "us-east", "ap-south"].contains(&s));
            *load.entry(s).or_default() += 1;
            let name = o["metadata"]["name"].as_str().unwrap();
            if name == "update-app-0-prod" {
                assert_eq!(s, "us-east", "the pinned update is on its shard");
                continue;
            }
            if let Some(img) = o["metadata"]["labels"]["imgf/image"].as_str() {
                by_image.entry(img.to_string()).or_default().insert(s);
            }
        }
    }
    for (img, shards) in &by_image {
        assert_eq!(shards.len(), 1, "{img}'s objects span {shards:?}");
    }
    let (max, min) = (load.values().max().unwrap(), load.values().min().unwrap());
    assert!(*max as f64 <= 1.3 * *min as f64, "unbalanced: {load:?}");
    // Without kargo.shards nothing carries a shard.
    let q = Project::new();
    enrollment(&q, 3, false);
    let plain = kargo(&q);
    assert!(!plain.contains("shard:"), "{plain}");
}

#[test]
fn reordering_images_yaml_moves_nothing_and_one_more_image_moves_little() {
    let shards_of = |p: &Project| -> BTreeMap<String, String> {
        let out = kargo(p);
        docs(&out)
            .iter()
            .filter_map(|o| {
                Some((
                    o["metadata"]["name"].as_str()?.to_string(),
                    spec_shard(o)?.to_string(),
                ))
            })
            .collect()
    };
    let p = Project::new();
    enrollment(&p, 100, true);
    p.file("settings.yaml", SETTINGS);
    let before = shards_of(&p);
    // Reversed images.yaml.
    let text = std::fs::read_to_string(p.dir().join("images.yaml")).unwrap();
    let mut entries: Vec<&str> = text.split("- name: ").filter(|e| !e.is_empty()).collect();
    entries.reverse();
    let reversed: String = entries.iter().flat_map(|e| ["- name: ", e]).collect();
    p.images(&reversed);
    assert_eq!(shards_of(&p), before, "order of images.yaml moved objects");
    // One image more.
    let mut more = reversed.clone();
    more.push_str("- name: extra\n  registry: ghcr.io\n  repository: org/extra\n  source: {repo: org/extra, dockerfile: Dockerfile, workflow: build.yml}\n");
    p.images(&more);
    let after = shards_of(&p);
    let moved = before
        .iter()
        .filter(|(n, s)| after.get(*n).is_some_and(|t| t != *s))
        .count();
    assert!(moved <= 20, "{moved} objects moved for one new image");
}

#[test]
fn webhook_receivers_are_in_the_project_config_with_their_secrets() {
    let p = Project::new();
    enrollment(&p, 2, false);
    p.file(
        "settings.yaml",
        "discovery:\n  webhooks: [github, gitlab, dockerhub, quay]\n",
    );
    let out = kargo(&p);
    let d = docs(&out);
    let pc = of_kind(&d, "ProjectConfig");
    assert_eq!(pc.len(), 1);
    let receivers = pc[0]["spec"]["webhookReceivers"].as_sequence().unwrap();
    let got: Vec<(String, String)> = receivers
        .iter()
        .map(|r| {
            let name = r["name"].as_str().unwrap().to_string();
            let secret = r[name.as_str()]["secretRef"]["name"]
                .as_str()
                .unwrap()
                .to_string();
            (name, secret)
        })
        .collect();
    assert_eq!(
        got,
        ["github", "gitlab", "dockerhub", "quay"]
            .map(|t| (t.to_string(), format!("imgf-webhook-{t}")))
    );
    // Served Warehouses poll only as a fallback: ghcr.io images (github
    // package events) and GitHub sources, every 6 to 12 hours.
    for w in of_kind(&d, "Warehouse") {
        let name = w["metadata"]["name"].as_str().unwrap();
        let secs = seconds(w["spec"]["interval"].as_str().unwrap());
        if name.starts_with("app-") {
            assert!((6 * 3600..12 * 3600).contains(&secs), "{name}: {secs}");
        } else {
            // node-22: an upstream image, never served.
            assert!((24 * 3600..25 * 3600).contains(&secs), "{name}: {secs}");
        }
    }
}

#[test]
fn a_project_config_with_only_receivers_has_no_policies() {
    // An external image only: nothing auto-promotes, but receivers are set.
    let p = Project::new();
    p.images("- name: ext\n  registry: docker.io\n  repository: library/nginx\n  tag: '1.27'\n  updates:\n    - {repo: org/deploy, path: apps/web/values.yaml, type: yaml-update, key: image.tag, value: digest}\n");
    p.file("settings.yaml", "discovery:\n  webhooks: [github]\n");
    let out = kargo(&p);
    let d = docs(&out);
    let pc = of_kind(&d, "ProjectConfig");
    assert_eq!(pc.len(), 1, "{out}");
    assert!(pc[0]["spec"].get("promotionPolicies").is_none());
    assert_eq!(pc[0]["spec"]["webhookReceivers"][0]["name"], "github");
}

/// `1h2m3s` in seconds.
fn seconds(s: &str) -> u64 {
    let (mut total, mut n) = (0u64, 0u64);
    for c in s.chars() {
        match c {
            '0'..='9' => n = n * 10 + u64::from(c as u8 - b'0'),
            'h' => (total, n) = (total + n * 3600, 0),
            'm' => (total, n) = (total + n * 60, 0),
            's' => (total, n) = (total + n, 0),
            _ => panic!("{s}"),
        }
    }
    total
}

/// Σ 3600 / interval per registry host, over the output's Warehouses.
fn polls_per_hour(out: &str) -> BTreeMap<String, f64> {
    let mut m = BTreeMap::new();
    for w in of_kind(&docs(out), "Warehouse") {
        let sub = &w["spec"]["subscriptions"][0];
        let url = sub["image"]["repoURL"]
            .as_str()
            .or_else(|| sub["git"]["repoURL"].as_str())
            .unwrap();
        let host = url
            .trim_start_matches("https://")
            .split('/')
            .next()
            .unwrap()
            .to_string();
        *m.entry(host).or_insert(0.0) +=
            3600.0 / seconds(w["spec"]["interval"].as_str().unwrap()) as f64;
    }
    m
}

#[test]
fn poll_budgets_hold_and_without_one_intervals_stay() {
    let p = Project::new();
    enrollment(&p, 150, false);
    let free = polls_per_hour(&kargo(&p));
    assert!(free["ghcr.io"] > 1000.0, "{free:?}");
    p.file(
        "settings.yaml",
        "discovery:\n  registries:\n    ghcr.io: {pollsPerHour: 200}\n    github.com: {pollsPerHour: 90}\n",
    );
    let r = p.run(&["synth", "--output", "-"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let budgeted = polls_per_hour(&r.stdout);
    assert!(budgeted["ghcr.io"] <= 200.0, "{budgeted:?}");
    assert!(budgeted["github.com"] <= 90.0, "{budgeted:?}");
    // Intervals are spread, not one value.
    let intervals: BTreeSet<String> = of_kind(&docs(&r.stdout), "Warehouse")
        .iter()
        .map(|w| w["spec"]["interval"].as_str().unwrap().to_string())
        .collect();
    assert!(
        intervals.len() > 100,
        "{} distinct intervals",
        intervals.len()
    );
    // node-22 (docker.io, no budget) keeps its interval.
    assert_eq!(budgeted["docker.io"], free["docker.io"]);
}

/// The image state of `name`, analysed as built on `base`.
fn built_on(p: &Project, name: &str, base: &str) {
    p.file(
        &format!("state/images/{name}.yaml"),
        &format!("name: {name}\nbaseImages: [{base}]\n"),
    );
}

/// Appends to `y` the images.yaml entry of `name` on ghcr.io, waiting
/// `rebuildDelay: 1d` for its bases, and writes its state, built on `base`.
fn delayed_image(p: &Project, y: &mut String, name: &str, base: &str) {
    write!(y, "- name: {name}\n  registry: ghcr.io\n  repository: org/{name}\n  rebuildDelay: 1d\n  source: {{repo: org/{name}, dockerfile: Dockerfile, workflow: build.yml}}\n").unwrap();
    built_on(p, name, base);
}

/// The base-image state `node-{i}` (docker.io/library/node, tag `{i}`).
fn node_base(p: &Project, i: usize) {
    p.file(
        &format!("state/base-images/node-{i}.yaml"),
        &crate::support::NODE_STATE
            .replace("node-22", &format!("node-{i}"))
            .replace("node:22", &format!("node:{i}"))
            .replace("tag: '22'", &format!("tag: '{i}'")),
    );
}

#[test]
fn a_budget_past_the_rebuild_delay_warns() {
    let p = Project::new();
    enrollment(&p, 3, false);
    p.file(
        "settings.yaml",
        "discovery:\n  registries:\n    docker.io: {pollsPerHour: 1}\n",
    );
    // node-22 at 24h is within 1/h: no warning yet.
    let r = p.run(&["synth", "--output", "-"]);
    assert!(!r.stderr.contains("rebuild delay"), "{}", r.stderr);
    // With several bases on docker.io at a tiny budget, each polls slower.
    let mut y = String::new();
    for i in 0..40 {
        delayed_image(&p, &mut y, &format!("app-{i}"), &format!("node-{i}"));
        node_base(&p, i);
    }
    p.images(&y);
    let r = p.run(&["synth", "--output", "-"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr.contains(
            "Warehouse(s) of docker.io poll slower than their images' rebuild delays tolerate"
        ) && r
            .stderr
            .contains("discovery.registries.docker.io.pollsPerHour"),
        "{}",
        r.stderr
    );
}

/// A base that is an enrolled image on ghcr.io, slowed by a budget: too slow
/// for the rebuild delays built on it, unless the `github` receiver
/// refreshes its Warehouse (polling is then only a fallback).
#[test]
fn a_webhook_served_base_is_not_too_slow_for_a_rebuild_delay() {
    let p = Project::new();
    let mut y = String::new();
    for i in 0..40 {
        delayed_image(&p, &mut y, &format!("lib-{i}"), &format!("node-{i}"));
        delayed_image(&p, &mut y, &format!("app-{i}"), &format!("lib-{i}"));
        node_base(&p, i);
    }
    p.images(&y);
    let budget = "discovery:\n  registries:\n    ghcr.io: {pollsPerHour: 2}\n";
    p.file("settings.yaml", budget);
    let r = p.run(&["synth", "--output", "-"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr.contains(
            "Warehouse(s) of ghcr.io poll slower than their images' rebuild delays tolerate"
        ),
        "{}",
        r.stderr
    );
    p.file("settings.yaml", &format!("{budget}  webhooks: [github]\n"));
    let r = p.run(&["synth", "--output", "-"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        !r.stderr.contains("rebuild delays tolerate"),
        "{}",
        r.stderr
    );
}

#[test]
fn bad_settings_are_refused_with_positions_and_fixes() {
    let p = Project::new();
    p.images(ONE_IMAGE);
    p.file(
        "settings.yaml",
        "kargo:\n  shards: [eu-west, -bad, eu-west]\ndiscovery:\n  webhooks: [harbor, github]\n  registries:\n    docker.io: {pollsPerHour: 0}\n    'Not A Host': {pollsPerHour: 5}\n",
    );
    let r = p.run(&["synth", "--output", "-"]);
    assert_ne!(r.code, 0);
    let e = &r.stderr;
    for want in [
        "settings.yaml:2:",
        "invalid kargo.shards `-bad`",
        "invalid kargo.shards `eu-west`: it is listed twice",
        "settings.yaml:4:",
        "invalid discovery.webhooks `harbor`",
        "list some of github, gitlab, dockerhub, quay",
        "`pollsPerHour: 0` would never poll",
        "invalid discovery.registries `Not A Host`",
    ] {
        assert!(e.contains(want), "missing {want:?} in:\n{e}");
    }
}

#[test]
fn update_shards_are_checked_against_kargo_shards() {
    let p = Project::new();
    p.images(&format!(
        "{ONE_IMAGE}  updates:\n    - {{name: prod, repo: org/deploy, path: a/values.yaml, type: yaml-update, key: image.tag, shard: us-east}}\n"
    ));
    // A shard without kargo.shards.
    let r = p.run(&["synth", "--output", "-"]);
    assert_ne!(r.code, 0);
    assert!(
        r.stderr.contains("images.yaml:")
            && r.stderr
                .contains("invalid shard `us-east`: settings.yaml lists no `kargo.shards`"),
        "{}",
        r.stderr
    );
    // Not one of them.
    p.file("settings.yaml", "kargo:\n  shards: [eu-west, us-west]\n");
    let r = p.run(&["synth", "--output", "-"]);
    assert!(
        r.stderr.contains("it is not one of `kargo.shards`")
            && r.stderr.contains("did you mean `us-west`?"),
        "{}",
        r.stderr
    );
    // Argo CD without a shard, under kargo.shards.
    p.images(&format!(
        "{ONE_IMAGE}  updates:\n    - {{name: prod, repo: org/deploy, path: a/values.yaml, type: yaml-update, key: image.tag, argocd: {{app: web}}}}\n"
    ));
    let r = p.run(&["synth", "--output", "-"]);
    assert_ne!(r.code, 0);
    assert!(
        r.stderr.contains(
            "with `kargo.shards` set, the update must name the shard whose Argo CD holds it"
        ),
        "{}",
        r.stderr
    );
    // A bad label value.
    p.images(&format!(
        "{ONE_IMAGE}  updates:\n    - {{name: prod, repo: org/deploy, path: a/values.yaml, type: yaml-update, key: image.tag, shard: 'a b'}}\n"
    ));
    let r = p.run(&["synth", "--output", "-"]);
    assert!(
        r.stderr
            .contains("invalid shard `a b`: a shard name becomes the label"),
        "{}",
        r.stderr
    );
}

#[test]
fn empty_sections_change_nothing() {
    let p = Project::new();
    enrollment(&p, 5, false);
    let before = kargo(&p);
    p.file("settings.yaml", "kargo: {}\ndiscovery: {}\n");
    assert_eq!(kargo(&p), before);
}

#[test]
fn explain_and_status_show_shard_intervals_and_polls() {
    let p = Project::new();
    enrollment(&p, 4, false);
    let plain = p.run(&["explain", "app-1"]);
    assert_eq!(plain.code, 0, "{}", plain.stderr);
    assert!(!plain.stdout.contains("shard"), "{}", plain.stdout);
    enrollment(&p, 4, true);
    p.file("settings.yaml", SETTINGS);
    let r = p.run(&["explain", "app-1"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout.contains("  shard: ") && r.stdout.contains("rendezvous"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("Warehouse app-1 polls ghcr.io every")
            && r.stdout.contains("webhook github refreshes it"),
        "{}",
        r.stdout
    );
    let j = p.run(&["explain", "app-0", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&j.stdout).unwrap();
    assert_eq!(v["placement"]["pinnedUpdates"][0]["shard"], "us-east");
    assert_eq!(v["placement"]["warehouses"][0]["webhook"], "github");
    let s = p.run(&["status", "--format", "prometheus"]);
    assert_eq!(s.code, 0, "{}", s.stderr);
    for want in [
        "imgf_registry_expected_polls_per_hour{registry=\"ghcr.io\"} ",
        "imgf_registry_poll_budget_per_hour{registry=\"ghcr.io\"} 30",
        "imgf_registry_webhook_served_warehouses{registry=\"ghcr.io\"} 4",
        "imgf_shard_objects{shard=\"eu-west\"} ",
        "imgf_shard_balance_ratio ",
    ] {
        assert!(s.stdout.contains(want), "missing {want:?}:\n{}", s.stdout);
    }
}

/// The 10,000-image enrollment `gen_state.py --layout seed` writes, with
/// shards, webhooks and budgets: every object passes the CRD schemas and
/// reference checks, every Warehouse and Stage has a shard, budgets hold.
#[test]
#[cfg_attr(
    not(all(has_shared, has_python_deps)),
    ignore = "needs ../shared beside the repository, and python3 with pyyaml and jsonschema"
)]
fn kargo_output_of_a_sharded_10000_image_enrollment_passes_validate_manifests() {
    let Some(shared) = shared("the 10,000-image sharded Kargo check cannot run") else {
        return;
    };
    if !crate::support::python_deps("schema validation") {
        return;
    }
    let p = Project::new();
    let dir = p.path("gen/image-factory");
    let gen = Command::new("python3")
        .arg(shared.join("bench/gen_state.py"))
        .args([
            "--count",
            "10000",
            "--layout",
            "seed",
            "--always-workflow",
            "--out",
        ])
        .arg(&dir)
        .output()
        .unwrap();
    assert!(
        gen.status.success(),
        "{}",
        String::from_utf8_lossy(&gen.stderr)
    );
    std::fs::write(
        dir.join("settings.yaml"),
        "kargo:\n  shards: [eu-west, us-east, ap-south]\ndiscovery:\n  webhooks: [github, dockerhub]\n  registries:\n    docker.io: {pollsPerHour: 400}\n    ghcr.io: {pollsPerHour: 500}\n    github.com: {pollsPerHour: 3000}\n",
    )
    .unwrap();
    let out = p.path("gen/kargo.yaml");
    let r = p.run(&[
        "synth",
        "--quiet",
        "--dir",
        dir.to_str().unwrap(),
        "--output",
        out.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let text = std::fs::read_to_string(&out).unwrap();
    let d = docs(&text);
    let placed = d
        .iter()
        .filter(|o| matches!(o["kind"].as_str(), Some("Warehouse" | "Stage")))
        .inspect(|o| assert!(spec_shard(o).is_some(), "{:?}", o["metadata"]["name"]))
        .count();
    assert!(placed > 40_000, "{placed}");
    let polls = polls_per_hour(&text);
    assert!(
        polls["docker.io"] <= 400.0 && polls["ghcr.io"] <= 500.0 && polls["github.com"] <= 3000.0,
        "{polls:?}"
    );
    let v = Command::new("python3")
        .arg(shared.join("tools/validate-manifests"))
        .arg("--check-refs")
        .arg(&out)
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&v.stdout);
    assert!(v.status.success(), "validation failed:\n{report}");
    assert!(report.trim_end().ends_with(" 0 failed"), "{report}");
}

/// What `explain --format json` says of every Warehouse an image uses (its
/// own, its source's, its bases') is what the Kargo output holds: the
/// interval and the shard, under budgets, webhooks and shards together.
#[test]
fn explain_reports_the_emitted_interval_and_shard_of_every_warehouse() {
    let p = Project::new();
    let mut y = String::new();
    // app-0..9 on ghcr.io (the github receiver serves them and their
    // sources), each on its own upstream base on docker.io (budgeted);
    // app-10 and app-11 on quay.io (no receiver, no budget: the default),
    // app-11 built on app-0 (a cascade).
    for i in 0..12 {
        let registry = if i < 10 { "ghcr.io" } else { "quay.io" };
        write!(
            y,
            "- name: app-{i}\n  registry: {registry}\n  repository: org/app-{i}\n  source: {{repo: org/app-{i}, dockerfile: Dockerfile, workflow: build.yml}}\n"
        )
        .unwrap();
        let base = if i == 11 {
            "app-0-1".to_string()
        } else {
            format!("node-{i}")
        };
        built_on(&p, &format!("app-{i}"), &base);
        node_base(&p, i);
    }
    p.file(
        "state/base-images/app-0-1.yaml",
        "name: app-0-1\nrepoURL: ghcr.io/org/app-0\ntag: '1'\n",
    );
    p.images(&y);
    // `300s`, not `5m`: a default interval is written as settings say.
    p.file(
        "settings.yaml",
        "intervals:\n  managed: 300s\n  base: 1h\nkargo:\n  shards: [eu-west, us-east, ap-south]\ndiscovery:\n  webhooks: [github]\n  registries:\n    docker.io: {pollsPerHour: 2}\n    ghcr.io: {pollsPerHour: 1}\n",
    );
    let out = kargo(&p);
    let emitted: BTreeMap<String, (String, String)> = of_kind(&docs(&out), "Warehouse")
        .iter()
        .map(|w| {
            (
                w["metadata"]["name"].as_str().unwrap().to_string(),
                (
                    w["spec"]["interval"].as_str().unwrap().to_string(),
                    spec_shard(w).unwrap().to_string(),
                ),
            )
        })
        .collect();
    let mut reasons = BTreeSet::new();
    let mut seen = BTreeSet::new();
    for i in 0..12 {
        let r = p.run(&["explain", &format!("app-{i}"), "--format", "json"]);
        assert_eq!(r.code, 0, "{}", r.stderr);
        let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
        let rows = v["placement"]["warehouses"].as_array().unwrap();
        let bases = v["bases"].as_array().unwrap();
        assert_eq!(rows.len(), 2 + bases.len(), "app-{i}: {rows:?}");
        for row in rows {
            let name = row["warehouse"].as_str().unwrap();
            let (interval, shard) = &emitted[name];
            assert_eq!(row["interval"], interval.as_str(), "app-{i}: {name}");
            assert_eq!(row["shard"], shard.as_str(), "app-{i}: {name}");
            assert_eq!(row["intervalSeconds"], seconds(interval), "app-{i}: {name}");
            reasons.insert(row["reason"].as_str().unwrap().to_string());
            seen.insert(name.to_string());
        }
        for b in bases {
            let w = &b["warehouse"];
            let name = w["name"].as_str().unwrap();
            if b["kind"] == "upstream" {
                assert_eq!(
                    w["interval"],
                    emitted[name].0.as_str(),
                    "app-{i}: base {name}"
                );
            }
        }
        assert_eq!(rows[2]["warehouse"], bases[0]["warehouse"]["name"]);
    }
    // Every Warehouse of the output was compared, and each reason shown.
    assert_eq!(seen, emitted.keys().cloned().collect::<BTreeSet<_>>());
    assert_eq!(
        reasons,
        ["budget", "default", "webhook"].map(String::from).into()
    );
    // The text: a base's Warehouse too, with its shard when not the image's.
    let r = p.run(&["explain", "app-3"]);
    let ((interval, shard), own) = (&emitted["node-3"], &emitted["app-3"].1);
    let on = if shard == own {
        String::new()
    } else {
        format!(" on shard {shard}")
    };
    let want =
        format!("  Warehouse node-3{on} polls docker.io every {interval} (docker.io budget 2/h)\n");
    assert!(r.stdout.contains(&want), "no {want:?} in:\n{}", r.stdout);
}

/// The placement's warnings, and the refusal of an update's unknown shard,
/// point at the value they are about: settings.yaml's `kargo.shards` and the
/// registry's `pollsPerHour` (written under an alias of docker.io here),
/// images.yaml's `shard:`.
#[test]
fn placement_warnings_point_at_their_settings() {
    let p = Project::new();
    // 100 images, each on its own base on docker.io and with five updates
    // pinned to us-east: more than one shard's bound (balance is not
    // guaranteed), and a budget that makes the bases poll for days.
    let mut y = String::new();
    for i in 0..100 {
        write!(
            y,
            "- name: app-{i}\n  registry: ghcr.io\n  repository: org/app-{i}\n  rebuildDelay: 1d\n  source: {{repo: org/app-{i}, dockerfile: Dockerfile, workflow: build.yml, inputs: [version_bump]}}\n  updates:\n"
        )
        .unwrap();
        for u in ["a", "b", "c", "d", "e"] {
            writeln!(
                y,
                "    - {{name: {u}, repo: org/deploy, path: {u}/app-{i}.yaml, type: yaml-update, key: image.tag, value: digest, shard: us-east}}"
            )
            .unwrap();
        }
        built_on(&p, &format!("app-{i}"), &format!("node-{i}"));
        node_base(&p, i);
    }
    p.images(&y);
    p.file(
        "settings.yaml",
        "analysis:\n  image: ghcr.io/org/imgf:1\n  stateRepoURL: https://github.com/org/factory\nkargo:\n  shards: [eu-west, us-east, ap-south]\ndiscovery:\n  registries:\n    github.com: {pollsPerHour: 1000}\n    index.docker.io:\n      pollsPerHour: 1\n",
    );
    let mut all = String::new();
    let r = p.run(&["synth", "--output", "out.yaml"]);
    write!(all, "# imgf synth\nexit {}\n{}", r.code, r.stderr).unwrap();
    // An update naming a shard that is not one of them.
    p.images(&y.replacen("shard: us-east", "shard: us-wset", 1));
    let r = p.run(&["synth", "--output", "out.yaml"]);
    write!(
        all,
        "\n# with shard: us-wset\nexit {}\n{}",
        r.code, r.stderr
    )
    .unwrap();
    insta::assert_snapshot!("placement_warnings_point_at_their_settings", all);
}

/// The exit code and the diagnostics of `stderr` that point into
/// settings.yaml (not the placeholder-image and inputs warnings every
/// minimal enrollment gets).
fn about_settings(code: i32, stderr: &str) -> String {
    let mut blocks: Vec<String> = Vec::new();
    for line in stderr.lines() {
        if line.starts_with("warning:") || line.starts_with("error:") || blocks.is_empty() {
            blocks.push(String::new());
        }
        let b = blocks.last_mut().unwrap();
        b.push_str(line);
        b.push('\n');
    }
    let kept: String = blocks
        .into_iter()
        .filter(|b| b.contains("settings.yaml:"))
        .collect();
    format!("exit {code}\n{kept}")
}

/// A budget for a host no Warehouse polls limits nothing: synth says so at
/// its key, naming the hosts polled and the nearest of them. Hosts compare
/// as the budget lookup does (`index.docker.io` is `docker.io`).
#[test]
fn a_budget_for_a_host_nothing_polls_warns_at_its_key() {
    let p = Project::new();
    // ghcr.io images, their github.com sources, node-22 on docker.io.
    enrollment(&p, 3, false);
    p.file(
        "settings.yaml",
        "discovery:\n  registries:\n    ghcr.co: {pollsPerHour: 30}\n    index.docker.io:\n      pollsPerHour: 400\n    github.com: {pollsPerHour: 500}\n    quay.io: {pollsPerHour: 10}\n",
    );
    let r = p.run(&["synth", "--output", "out.yaml"]);
    insta::assert_snapshot!(
        "a_budget_for_a_host_nothing_polls_warns_at_its_key",
        about_settings(r.code, &r.stderr)
    );
    // Every budgeted host polled: no word.
    p.file(
        "settings.yaml",
        "discovery:\n  registries:\n    ghcr.io: {pollsPerHour: 300}\n    registry-1.docker.io: {pollsPerHour: 400}\n",
    );
    let r = p.run(&["synth", "--output", "out.yaml"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(!r.stderr.contains("limits nothing"), "{}", r.stderr);
}

/// A budget that slows Warehouses no rebuild delay waits on (images nothing
/// is built on, sources) past a day warns once per registry at its
/// `pollsPerHour`; not when a webhook serves them (polling is a fallback).
#[test]
fn a_budget_slowing_unwatched_warehouses_past_a_day_warns() {
    let p = Project::new();
    // 40 ghcr.io images on node-22: nothing is built on them.
    enrollment(&p, 40, false);
    let settings = "discovery:\n  registries:\n    ghcr.io:\n      pollsPerHour: 1\n    github.com: {pollsPerHour: 1}\n";
    p.file("settings.yaml", settings);
    let r = p.run(&["synth", "--output", "out.yaml"]);
    insta::assert_snapshot!(
        "a_budget_slowing_unwatched_warehouses_past_a_day_warns",
        about_settings(r.code, &r.stderr)
    );
    // At 40/h, every one of them polls within the day.
    p.file("settings.yaml", &settings.replace(": 1", ": 40"));
    let r = p.run(&["synth", "--output", "out.yaml"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        !r.stderr.contains("no rebuild delay waits on"),
        "{}",
        r.stderr
    );
    // The github receiver serves both the ghcr.io images and the GitHub
    // sources: their polls are a fallback, however slow.
    p.file(
        "settings.yaml",
        &format!("{settings}  webhooks: [github]\n"),
    );
    let r = p.run(&["synth", "--output", "-"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        !r.stderr.contains("no rebuild delay waits on"),
        "{}",
        r.stderr
    );
    let slowest = of_kind(&docs(&r.stdout), "Warehouse")
        .iter()
        .map(|w| seconds(w["spec"]["interval"].as_str().unwrap()))
        .max()
        .unwrap();
    assert!(
        slowest > 24 * 3600,
        "the budget still slows them: {slowest}"
    );
}

/// An update naming a shard synth refuses is not dropped from explain's
/// placement: the text and the JSON say it is not placed, and why.
#[test]
fn explain_shows_an_update_whose_shard_is_unknown() {
    let p = Project::new();
    p.images(&format!(
        "{ONE_IMAGE}  updates:\n    - {{name: prod, repo: org/deploy, path: a/values.yaml, type: yaml-update, key: image.tag, shard: us-wset}}\n    - {{name: dev, repo: org/deploy, path: b/values.yaml, type: yaml-update, key: image.tag, shard: eu-west}}\n"
    ));
    p.file("settings.yaml", "kargo:\n  shards: [eu-west, us-west]\n");
    assert_ne!(
        p.run(&["synth", "--output", "-"]).code,
        0,
        "synth refuses it"
    );
    let r = p.run(&["explain", "app"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let lines: Vec<&str> = r
        .stdout
        .lines()
        .filter(|l| l.contains("Stage update-app-"))
        .collect();
    insta::assert_snapshot!(
        "explain_shows_an_update_whose_shard_is_unknown",
        lines.join("\n")
    );
    let j = p.run(&["explain", "app", "--format", "json"]);
    assert_eq!(j.code, 0, "{}", j.stderr);
    let v: serde_json::Value = serde_json::from_str(&j.stdout).unwrap();
    let pl = &v["placement"];
    assert_eq!(pl["pinnedUpdates"].as_array().unwrap().len(), 1, "{pl}");
    assert_eq!(pl["pinnedUpdates"][0]["shard"], "eu-west");
    assert_eq!(pl["unplacedUpdates"][0]["stage"], "update-app-prod");
    assert_eq!(pl["unplacedUpdates"][0]["shard"], "us-wset");
    assert_eq!(
        pl["unplacedUpdates"][0]["reason"],
        "it is not one of `kargo.shards`; did you mean `us-west`?"
    );
    // With discovery alone the placement section is shown, and a `shard:`
    // is refused for want of `kargo.shards`.
    p.file("settings.yaml", "discovery:\n  webhooks: [github]\n");
    let j = p.run(&["explain", "app", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&j.stdout).unwrap();
    let unplaced = v["placement"]["unplacedUpdates"].as_array().unwrap();
    assert_eq!(unplaced.len(), 2, "{v}");
    assert_eq!(
        unplaced[1]["reason"],
        "settings.yaml lists no `kargo.shards`"
    );
}
