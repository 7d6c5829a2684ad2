//! `--format json` on `explain` (and later `analyze`, `emergency`): the
//! documented shapes, and errors as `{"errors": [...]}` on standard output.

use crate::support::{Chain, Project, NODE_STATE};

/// `a` on node:22 (7d delay, with an update target), `b` on `a`, `c` on `b`.
fn chain() -> Project {
    Chain::with_inputs()
        .image_state(
            "a",
            "  rebuildDelay: 7d\n  updates:\n    - name: prod\n      repo: org/deploy\n      path: apps/a\n      type: kustomize-set-image\n",
            "name: a\ndiscoveryStatus: success\nbaseImages: [node-22]\ncurrentVersion: 1.2.3\nlastBuilt: '2026-02-20T10:00:00Z'\n",
        )
        .image("b", "", &["a"])
        .image("c", "  autoRebuild: false\n", &["b"])
        .base_state(
            "node-22",
            &format!("{NODE_STATE}currentDigest: sha256:3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d\nlastUpdated: '2026-02-25T08:00:00Z'\nrebuildEligibleAt:\n  a: '2026-03-04T08:00:00Z'\n"),
        )
        .build()
}

fn json(s: &str) -> serde_json::Value {
    serde_json::from_str(s).unwrap_or_else(|e| panic!("not JSON ({e}):\n{s}"))
}

#[test]
fn explain_json_has_the_documented_shape() {
    let p = chain();
    let r = p.run(&["explain", "a", "--format", "json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v = json(&r.stdout);
    assert_eq!(v["image"]["name"], "a");
    assert_eq!(v["policy"]["rebuildDelaySeconds"], 604_800);
    assert_eq!(v["bases"][0]["name"], "node-22");
    assert_eq!(v["bases"][0]["stages"][1], "rebuild-a");
    assert_eq!(v["dependents"][0]["name"], "b");
    assert_eq!(v["dependents"][1]["on"][0], "b");
    assert_eq!(v["updates"][0]["stage"], "update-a-prod");
    assert_eq!(v["state"]["currentVersion"], "1.2.3");
    // `waiting` depends on the clock; everything else is fixed.
    let mut v = v;
    v["bases"][0]["state"]["waiting"] = serde_json::Value::Null;
    insta::assert_snapshot!("explain_json", serde_json::to_string_pretty(&v).unwrap());
}

#[test]
fn explain_json_errors_are_json_on_stdout() {
    let p = chain();
    let r = p.run(&["explain", "aa", "--format", "json"]);
    assert_eq!(r.code, 2);
    let v = json(&r.stdout);
    let e = &v["errors"][0];
    assert_eq!(e["severity"], "error");
    assert!(e["message"].as_str().unwrap().contains("aa"), "{v}");
    assert!(!r.stderr.is_empty(), "stderr keeps the text");

    // An error in a file carries the file and position.
    p.file(
        "images.yaml",
        "- name: a\n  registry: ghcr.io\n  repository: org/a\n  colour: blue\n",
    );
    let r = p.run(&["explain", "a", "--format", "json"]);
    assert_eq!(r.code, 2);
    let v = json(&r.stdout);
    let e = &v["errors"][0];
    assert!(e["file"].as_str().unwrap().ends_with("images.yaml"), "{v}");
    assert_eq!(e["line"], 4, "{v}");
    assert!(e["column"].is_u64(), "{v}");
}

#[test]
fn explain_text_errors_stay_off_stdout() {
    let r = chain().run(&["explain", "aa"]);
    assert_eq!(r.code, 2);
    assert_eq!(r.stdout, "");
}

/// `v` with the current time (in the audit entry and the script) replaced.
fn without_now(v: &serde_json::Value) -> String {
    let text = serde_json::to_string_pretty(v).unwrap();
    regex::Regex::new(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")
        .unwrap()
        .replace_all(&text, "[NOW]")
        .into_owned()
}

#[test]
fn emergency_json_is_the_plan_and_records_the_audit() {
    let p = chain();
    let r = p.run(&[
        "emergency",
        "--image",
        "a",
        "--reason",
        "CVE-2026-1",
        "--actor",
        "ops",
        "--format",
        "json",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v = json(&r.stdout);
    assert_eq!(v["images"], serde_json::json!(["a", "b", "c"]));
    assert_eq!(v["steps"][0]["stage"], "rebuild-a");
    assert_eq!(v["steps"][0]["newestOf"][0]["name"], "node-22");
    assert_eq!(
        v["steps"][1]["waitFor"][0]["verifiedIn"],
        "analyze-dockerfile-a"
    );
    assert_eq!(v["audit"]["reason"], "CVE-2026-1");
    assert!(v["script"].as_str().unwrap().starts_with("#!/bin/sh\n"));
    let state = std::fs::read_to_string(p.dir().join("state/images/c.yaml")).unwrap();
    assert!(state.contains("CVE-2026-1"), "{state}");
    let mut v = v;
    v["script"] = serde_json::Value::String("…".into());
    insta::assert_snapshot!("emergency_json", without_now(&v));
}

#[test]
fn emergency_json_errors_are_json_on_stdout() {
    let r = chain().run(&[
        "emergency",
        "--image",
        "zz",
        "--reason",
        "x",
        "--format",
        "json",
    ]);
    assert_eq!(r.code, 2);
    assert!(
        json(&r.stdout)["errors"][0]["message"].is_string(),
        "{}",
        r.stdout
    );
}

#[test]
fn analyze_json_reports_discovered_written_and_failed() {
    use crate::analyze::{enroll, write};
    let p = Project::new();
    p.images(&(enroll("web", "web/Dockerfile") + &enroll("api", "api/Dockerfile")));
    write(p.root.path(), "web/Dockerfile", "FROM node:22\n");
    let r = p.run(&[
        "analyze",
        "--format",
        "json",
        "--source-base-url",
        "file:///nonexistent",
    ]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    let v = json(&r.stdout);
    let web = &v["images"].as_array().unwrap()[1];
    assert_eq!(web["name"], "web");
    assert_eq!(web["discoveryStatus"], "success");
    assert_eq!(web["baseImages"], serde_json::json!(["node-22"]));
    assert_eq!(v["failed"][0]["image"], "api");
    assert!(v["written"].as_array().unwrap().iter().any(|w| w
        .as_str()
        .unwrap()
        .ends_with("state/base-images/node-22.yaml")));
    assert!(v["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("analysis of `api` failed"));

    // A second run changes nothing and fails nothing but api.
    write(p.root.path(), "api/Dockerfile", "FROM node:22\n");
    let r = p.run(&["analyze", "--format", "json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v = json(&r.stdout);
    assert_eq!(v["failed"], serde_json::json!([]));
    assert_eq!(v["errors"], serde_json::json!([]));
}

#[test]
fn analyze_json_errors_before_any_work_are_json() {
    let p = Project::new();
    p.images("- name: a\n  registry: ghcr.io\n");
    let r = p.run(&["analyze", "--format", "json"]);
    assert_eq!(r.code, 2);
    assert!(
        json(&r.stdout)["errors"][0]["file"].is_string(),
        "{}",
        r.stdout
    );
}

/// Every key of `v`, at any depth.
fn keys(v: &serde_json::Value, out: &mut Vec<String>) {
    match v {
        serde_json::Value::Object(m) => {
            for (k, v) in m {
                out.push(k.clone());
                keys(v, out);
            }
        }
        serde_json::Value::Array(a) => a.iter().for_each(|v| keys(v, out)),
        _ => {}
    }
}

/// `inspect --format json` names its keys in camelCase, like every other
/// JSON output.
#[test]
fn inspect_json_keys_are_camel_case() {
    let p = Project::new();
    p.file(
        "Dockerfile",
        "ARG V\nFROM node:22 AS b\nFROM b\nFROM golang:${V}\n",
    );
    let r = p.run(&[
        "inspect",
        "dockerfile",
        "image-factory/Dockerfile",
        "--format",
        "json",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v = json(&r.stdout);
    assert!(v["baseImages"].is_array(), "{v}");
    let r = p.run(&["inspect", "ref", "node:22", "--format", "json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let w = json(&r.stdout);
    let mut all = Vec::new();
    keys(&v, &mut all);
    keys(&w, &mut all);
    let bad: Vec<&String> = all
        .iter()
        .filter(|k| k.contains('_') || k.starts_with(|c: char| c.is_ascii_uppercase()))
        .collect();
    assert!(bad.is_empty(), "not camelCase: {bad:?}");
}

/// `inspect` and `graph` with `--format json` put their errors on stdout as
/// `{"errors": [...]}`, as the other commands do; stderr keeps the text.
#[test]
fn inspect_and_graph_json_errors_are_json_on_stdout() {
    let p = Project::new();
    p.file("Dockerfile", "FROM --platfrom=linux/amd64 node:22\n");
    p.images("- name: a\n  registry: ghcr.io\n  repository: org/a\n  colour: blue\n");
    let runs = [
        (
            vec!["inspect", "dockerfile", "image-factory/Dockerfile"],
            Some(1),
        ),
        (vec!["inspect", "dockerfile", "image-factory/Missing"], None),
        (vec!["inspect", "ref", "Not A Reference"], None),
        (vec!["graph"], Some(4)),
    ];
    for (args, line) in runs {
        let with = [&args[..], &["--format", "json"]].concat();
        let r = p.run(&with);
        assert_eq!(r.code, 2, "{with:?}: {}", r.stderr);
        let v = json(&r.stdout);
        let e = &v["errors"][0];
        assert_eq!(e["severity"], "error", "{with:?}: {v}");
        assert!(!e["message"].as_str().unwrap().is_empty(), "{v}");
        if let Some(line) = line {
            assert_eq!(e["line"], line, "{with:?}: {v}");
        }
        assert!(
            r.stderr.contains("error"),
            "{with:?}: stderr keeps the text"
        );
        // Text output keeps errors off stdout.
        let r = p.run(&args);
        assert_eq!(r.code, 2, "{args:?}");
        assert_eq!(r.stdout, "", "{args:?}");
    }
}
