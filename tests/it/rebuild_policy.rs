//! Rebuild policy as Kargo enforces it: rebuild delays as soak times,
//! `autoRebuild: false`, one rebuild per image, cascades after the base build,
//! emergency bypasses, registry politeness, and `explain` of the chain — each
//! rule checked on the generated objects, not on strings.

use crate::support::{base, docs, image, of_kind, Project, NODE_STATE};
use yaml_serde::Value;

fn stage<'a>(d: &'a [Value], name: &str) -> &'a Value {
    crate::support::stage_named(d, name)
}

fn requests(s: &Value) -> Vec<(String, Vec<String>, Option<String>)> {
    s["spec"]["requestedFreight"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["origin"]["name"].as_str().unwrap().to_string(),
                r["sources"]["stages"]
                    .as_sequence()
                    .map(|v| v.iter().map(|x| x.as_str().unwrap().to_string()).collect())
                    .unwrap_or_default(),
                r["sources"]["requiredSoakTime"]
                    .as_str()
                    .map(str::to_string),
            )
        })
        .collect()
}

#[test]
fn rebuild_delay_is_a_soak_time_behind_a_regular_soak_stage() {
    let p = Project::new();
    p.images(
        &(image("week", "  rebuildDelay: 7d\n")
            + &image("mixed", "  rebuildDelay: 1d12h\n")
            + &image("now", "  rebuildDelay: 0\n")),
    )
    .file(
        "state/images/week.yaml",
        "name: week\nbaseImages: [node-22]\n",
    )
    .file(
        "state/images/mixed.yaml",
        "name: mixed\nbaseImages: [node-22]\n",
    )
    .file(
        "state/images/now.yaml",
        "name: now\nbaseImages: [node-22]\n",
    )
    .file("state/base-images/node-22.yaml", NODE_STATE);
    let d = docs(&p.synth_stdout());
    assert_eq!(
        requests(stage(&d, "rebuild-week")),
        [(
            "node-22".to_string(),
            vec!["soak-node-22".to_string()],
            Some("168h".to_string())
        )]
    );
    assert_eq!(
        requests(stage(&d, "rebuild-mixed"))[0].2.as_deref(),
        Some("36h")
    );
    assert_eq!(
        requests(stage(&d, "rebuild-now"))[0].2,
        None,
        "0 means no soak"
    );
    // One soak Stage per base, shared, fed straight from the Warehouse. It must be a
    // *regular* Stage (a step): Kargo accrues soak time only for Freight currently in a
    // Stage (api/v1alpha1/freight_types.go:170-183), never in a control-flow one.
    let soak = stage(&d, "soak-node-22");
    let steps = soak["spec"]["promotionTemplate"]["spec"]["steps"]
        .as_sequence()
        .expect("a soak Stage without steps is control flow: soak would never elapse");
    assert_eq!(steps.len(), 1);
    assert_eq!(steps[0]["uses"].as_str(), Some("compose-output"));
    assert!(
        soak["spec"].get("verification").is_none(),
        "nothing to wait for"
    );
    assert_eq!(
        soak["spec"]["requestedFreight"][0]["origin"]["name"].as_str(),
        Some("node-22")
    );
    assert_eq!(
        soak["spec"]["requestedFreight"][0]["sources"]["direct"].as_bool(),
        Some(true)
    );
    assert_eq!(
        of_kind(&d, "Stage")
            .iter()
            .filter(|s| s["metadata"]["name"].as_str().unwrap().starts_with("soak-"))
            .count(),
        1
    );
}

#[test]
fn auto_rebuild_false_is_not_auto_promoted() {
    let p = Project::new();
    p.images(&(image("auto", "") + &image("manual", "  autoRebuild: false\n")))
        .file(
            "state/images/auto.yaml",
            "name: auto\nbaseImages: [node-22]\n",
        )
        .file(
            "state/images/manual.yaml",
            "name: manual\nbaseImages: [node-22]\n",
        )
        .file("state/base-images/node-22.yaml", NODE_STATE);
    let d = docs(&p.synth_stdout());
    let policy = &of_kind(&d, "ProjectConfig")[0]["spec"]["promotionPolicies"];
    assert_eq!(policy.as_sequence().unwrap().len(), 1);
    let selector = &policy[0]["stageSelector"]["matchLabels"];
    let selected = |s: &Value| {
        selector
            .as_mapping()
            .unwrap()
            .iter()
            .all(|(k, v)| s["metadata"]["labels"][k.as_str().unwrap()] == *v)
    };
    assert!(selected(stage(&d, "rebuild-auto")));
    assert!(
        !selected(stage(&d, "rebuild-manual")),
        "autoRebuild: false must not match the policy"
    );
    assert!(
        selected(stage(&d, "soak-node-22")),
        "the soak Stage itself always moves on"
    );
}

#[test]
fn one_rebuild_per_image_whatever_triggered_it() {
    let p = Project::new();
    p.images(&image("web", "  rebuildDelay: 2d\n").replace(
        "workflow: build.yml",
        "workflow: build.yml\n    inputs: [version_bump, base_image, base_digest]",
    ))
    .file(
        "state/images/web.yaml",
        "name: web\nbaseImages: [node-22, nginx-1]\n",
    )
    .file("state/base-images/node-22.yaml", NODE_STATE)
    .file(
        "state/base-images/nginx-1.yaml",
        &base("nginx-1", "docker.io/library/nginx", "1"),
    );
    let d = docs(&p.synth_stdout());
    let rebuilds: Vec<&Value> = of_kind(&d, "Stage")
        .into_iter()
        .filter(|s| s["metadata"]["labels"]["imgf/role"].as_str() == Some("rebuild"))
        .collect();
    assert_eq!(rebuilds.len(), 1, "one rebuild Stage for the image");
    let req = requests(rebuilds[0]);
    assert_eq!(req.len(), 2);
    assert!(
        req.iter().all(|r| r.2.as_deref() == Some("48h")),
        "the image's delay governs every base"
    );
    let body = crate::kargo_runtime::received_body(&d, rebuilds[0], Some("1.2"));
    assert_eq!(
        body["inputs"]["base_image"],
        "docker.io/library/node:22,docker.io/library/nginx:1"
    );
    let digests = body["inputs"]["base_digest"].as_str().unwrap();
    assert_eq!(digests.split(',').count(), 2, "{digests}");
    assert!(digests.split(',').all(|d| d.starts_with("sha256:")));
}

#[test]
fn cascades_rebuild_after_the_base_build_is_published() {
    let p = Project::new();
    p.images(
        &(image("a", "  rebuildDelay: 1d\n")
            + &image("b", "  rebuildDelay: 0\n")
            + &image("c", "  rebuildDelay: 2h\n")),
    )
    .file("state/images/a.yaml", "name: a\nbaseImages: [node-22]\n")
    .file("state/images/b.yaml", "name: b\nbaseImages: [a]\n")
    .file("state/images/c.yaml", "name: c\nbaseImages: [b]\n")
    .file("state/base-images/node-22.yaml", NODE_STATE);
    let d = docs(&p.synth_stdout());
    assert_eq!(
        requests(stage(&d, "rebuild-a")),
        [(
            "node-22".into(),
            vec!["soak-node-22".into()],
            Some("24h".into())
        )]
    );
    assert_eq!(
        requests(stage(&d, "rebuild-b")),
        [("a".into(), vec!["analyze-dockerfile-a".into()], None)]
    );
    assert_eq!(
        requests(stage(&d, "rebuild-c")),
        [(
            "b".into(),
            vec!["analyze-dockerfile-b".into()],
            Some("2h".into())
        )]
    );
    // a's new build reaches b only through a's own Warehouse and analysis.
    assert_eq!(
        stage(&d, "analyze-dockerfile-a")["spec"]["requestedFreight"][0]["origin"]["name"].as_str(),
        Some("a")
    );
    let g = p.run(&["graph", "--format", "json"]);
    let j: serde_json::Value = serde_json::from_str(&g.stdout).unwrap();
    assert_eq!(j["rebuildOrder"], serde_json::json!(["a", "b", "c"]));
}

#[test]
fn emergency_bypasses_the_delay_with_an_audit_trail() {
    let p = Project::new();
    p.images(&(image("a", "  rebuildDelay: 7d\n") + &image("b", "") + &image("other", "")))
        .file(
            "state/images/a.yaml",
            "name: a\nbaseImages: [node-22]\ncurrentVersion: 1.0.0\n",
        )
        .file("state/images/b.yaml", "name: b\nbaseImages: [a]\n")
        .file(
            "state/images/other.yaml",
            "name: other\nbaseImages: [nginx-1]\n",
        )
        .file("state/base-images/node-22.yaml", NODE_STATE)
        .file(
            "state/base-images/nginx-1.yaml",
            &base("nginx-1", "docker.io/library/nginx", "1"),
        );
    let before = p.synth_stdout();

    let no_reason = p.run(&["emergency", "--base", "node-22", "--reason", " \n"]);
    assert_eq!(no_reason.code, 2);
    assert!(
        no_reason.stderr.contains("needs a reason"),
        "{}",
        no_reason.stderr
    );
    assert!(
        !std::fs::read_to_string(p.dir().join("state/images/a.yaml"))
            .unwrap()
            .contains("audit")
    );
    assert_eq!(
        p.run(&["emergency", "--base", "node-22"]).code,
        2,
        "--reason is required"
    );

    let r = crate::support::imgf()
        .args([
            "emergency",
            "--base",
            "node-22",
            "--reason",
            "CVE-2026-0001 in libssl\nrm -rf /",
        ])
        .env("USER", "alice")
        .current_dir(p.root.path())
        .output()
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&r.stdout),
        String::from_utf8_lossy(&r.stderr),
    );
    assert!(r.status.success(), "{stderr}");
    // The commands, in dependency order: a now, b after a's new build.
    let a_at = stdout.find("--stage 'rebuild-a'").unwrap();
    let b_at = stdout.find("--stage 'rebuild-b'").unwrap();
    assert!(a_at < b_at, "{stdout}");
    assert!(
        stdout
            .contains("kargo approve --project \"$project\" --freight \"$f1\" --stage 'rebuild-a'"),
        "{stdout}"
    );
    // b is rebuilt only from a's new build, once it is verified.
    assert!(
        stdout.contains("    wait_for_verified 'a' 'analyze-dockerfile-a' && f1=$found &&\n      kargo approve --project \"$project\" --freight \"$f1\" --stage 'rebuild-b' &&"),
        "{stdout}"
    );
    assert!(!stdout.contains("rebuild-other"));
    assert!(
        !stdout.lines().any(|l| l.trim() == "rm -rf /"),
        "the reason cannot inject a command:\n{stdout}"
    );
    for name in ["a", "b"] {
        let state =
            std::fs::read_to_string(p.dir().join(format!("state/images/{name}.yaml"))).unwrap();
        assert!(state.contains("action: emergency-rebuild"), "{state}");
        assert!(state.contains("actor: alice"), "{state}");
        assert!(
            state.contains("reason: 'CVE-2026-0001 in libssl rm -rf /'"),
            "{state}"
        );
        // Its own image, what was asked and how many were rebuilt: an entry
        // does not grow with the chain.
        assert!(
            state.contains(&format!(
                "images:\n      - {name}\n    scope: 'base node-22'\n    affected: 2\n"
            )),
            "{state}"
        );
    }
    assert!(
        std::fs::read_to_string(p.dir().join("state/images/a.yaml"))
            .unwrap()
            .contains("currentVersion: '1.0.0'"),
        "history kept"
    );
    assert!(
        !std::fs::read_to_string(p.dir().join("state/images/other.yaml"))
            .unwrap()
            .contains("emergency")
    );
    // Afterwards the normal delay applies: the generated objects are unchanged.
    assert_eq!(before, p.synth_stdout());
}

#[test]
fn registry_politeness_staggers_intervals_deterministically() {
    let p = Project::new();
    let mut yaml = String::new();
    let mut states = Vec::new();
    for i in 0..20 {
        yaml.push_str(&image(&format!("img{i}"), ""));
        states.push((
            format!("state/images/img{i}.yaml"),
            format!("name: img{i}\nbaseImages: [lib{i}-1]\n"),
        ));
        states.push((
            format!("state/base-images/lib{i}-1.yaml"),
            base(
                &format!("lib{i}-1"),
                &format!("docker.io/library/lib{i}"),
                "1",
            ),
        ));
    }
    p.images(&yaml);
    for (f, t) in &states {
        p.file(f, t);
    }
    let intervals = |out: &str| -> Vec<(String, u64)> {
        of_kind(&docs(out), "Warehouse")
            .into_iter()
            .filter(|w| w["metadata"]["name"].as_str().unwrap().starts_with("lib"))
            .map(|w| {
                let s = w["spec"]["interval"].as_str().unwrap().to_string();
                (
                    w["metadata"]["name"].as_str().unwrap().to_string(),
                    imgf::duration::parse_interval(&s),
                )
            })
            .collect()
    };
    let first = intervals(&p.synth_stdout());
    assert_eq!(first.len(), 20);
    assert!(
        first.iter().all(|(_, s)| *s >= 24 * 3600 && *s < 25 * 3600),
        "{first:?}"
    );
    let distinct: std::collections::BTreeSet<u64> = first.iter().map(|(_, s)| *s).collect();
    assert!(distinct.len() >= 10, "polls are spread: {first:?}");
    // Deterministic, and adding an image does not move the others.
    p.images(&(yaml.clone() + &image("late", "")));
    p.file(
        "state/images/late.yaml",
        "name: late\nbaseImages: [zzz-1]\n",
    );
    p.file(
        "state/base-images/zzz-1.yaml",
        &base("zzz-1", "docker.io/library/zzz", "1"),
    );
    let second = intervals(&p.synth_stdout());
    assert_eq!(first, second);
    // The configured minimum is a floor.
    p.file("settings.yaml", "intervals:\n  base: 48h\n");
    assert!(intervals(&p.synth_stdout())
        .iter()
        .all(|(_, s)| *s >= 48 * 3600));
}

#[test]
fn explain_shows_the_chain_and_what_it_waits_for() {
    let p = Project::new();
    let eligible = "2999-01-01T00:00:00Z";
    p.images(&image("web", "  rebuildDelay: 7d\n"))
        .file("state/images/web.yaml", "name: web\nbaseImages: [node-22]\ndiscoveryStatus: success\n")
        .file(
            "state/base-images/node-22.yaml",
            &format!("{NODE_STATE}currentDigest: sha256:abc\nlastUpdated: '2998-12-25T00:00:00Z'\nrebuildEligibleAt:\n  web: '{eligible}'\n"),
        );
    let r = p.run(&["explain", "web"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    for needle in [
        "policy: rebuildDelay 7d (requiredSoakTime 168h)",
        "Warehouse node-22",
        "→ Stage soak-node-22",
        "→ Stage rebuild-web once the Freight has soaked 168h",
        "dispatch from Stage rebuild-web: POST https://api.github.com/repos/org/web/actions/workflows/build.yml/dispatches",
        &format!("waiting: web may rebuild from {eligible}"),
    ] {
        assert!(r.stdout.contains(needle), "missing {needle:?} in\n{}", r.stdout);
    }
    assert_eq!(p.run(&["explain", "nope"]).code, 2);
}
