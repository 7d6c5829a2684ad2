//! `imgf status`: what is stale and why, as a table, JSON and Prometheus
//! metrics, at a fixed time (`--now`, a hidden flag for tests).

use crate::support::Project;

const NOW: &str = "2026-03-01T00:00:00Z";

/// `app` on `node:22` (which changed after app's last build, eligible to
/// rebuild later), `worker` on `app` (a cascade, built before app), `old` on
/// `node:22` (built after its last change, but long ago), `broken` (its
/// discovery failed).
fn project() -> Project {
    let p = Project::new();
    let entry = |name: &str| {
        format!(
            "- name: {name}\n  registry: ghcr.io\n  repository: org/{name}\n  source:\n    repo: org/{name}\n    branch: main\n    dockerfile: Dockerfile\n    workflow: build.yml\n"
        )
    };
    let images: String = ["app", "worker", "old", "broken"].map(entry).concat();
    p.images(&images)
        .file(
            "state/images/app.yaml",
            "name: app\ndiscoveryStatus: success\nbaseImages: [node-22]\ncurrentVersion: 1.4.0\ncurrentDigest: sha256:a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7\nlastBuilt: '2026-02-20T10:00:00Z'\n",
        )
        .file(
            "state/images/worker.yaml",
            "name: worker\ndiscoveryStatus: success\nbaseImages: [app]\nlastBuilt: '2026-02-10T10:00:00Z'\n",
        )
        .file(
            "state/images/old.yaml",
            "name: old\ndiscoveryStatus: success\nbaseImages: [node-22]\nlastBuilt: '2026-02-27T00:00:00Z'\n",
        )
        .file(
            "state/images/broken.yaml",
            "name: broken\ndiscoveryStatus: failed\ndiscoveryError: 'cannot fetch org/broken@main: not found'\nunresolved: ['line 3: FROM $BASE: BASE has no value']\n",
        )
        .file(
            "state/base-images/node-22.yaml",
            "\
name: node-22
fullImage: node:22
registry: docker.io
repository: library/node
tag: '22'
repoURL: docker.io/library/node
currentDigest: sha256:3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d
previousDigest: sha256:2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e
lastUpdated: '2026-02-25T08:00:00Z'
rebuildEligibleAt:
  app: '2026-03-04T08:00:00Z'
  old: '2026-02-26T08:00:00Z'
updateHistory:
  - digest: sha256:2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e
    previousDigest: sha256:1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f
    at: '2026-02-01T08:00:00Z'
  - digest: sha256:3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d
    previousDigest: sha256:2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e
    at: '2026-02-25T08:00:00Z'
",
        );
    p
}

fn status(p: &Project, extra: &[&str]) -> String {
    let mut args = vec!["status", "--now", NOW, "--stale-after", "14d"];
    args.extend_from_slice(extra);
    let r = p.run(&args);
    assert_eq!(r.code, 0, "status failed:\n{}", r.stderr);
    r.stdout
}

#[test]
fn status_table() {
    insta::assert_snapshot!("status_table", status(&project(), &[]));
}

#[test]
fn status_json_has_the_documented_shape() {
    let out = status(&project(), &["--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let app = &v["images"].as_array().unwrap()[0];
    assert_eq!(app["name"], "app");
    assert_eq!(app["outdated"], true);
    assert_eq!(
        app["bases"][0]["builtOn"],
        "sha256:2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e"
    );
    assert_eq!(app["rebuild"]["eligible"], false);
    assert_eq!(v["summary"]["discoveryFailed"], 1);
    insta::assert_snapshot!("status_json", out);
}

#[test]
fn status_prometheus() {
    let out = status(&project(), &["--format", "prometheus"]);
    // The text exposition format: each family's HELP and TYPE before its
    // samples; names and labels as the format allows; values are numbers.
    let sample = regex::Regex::new(
        r#"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*"(?:,[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*")*\})? (-?[0-9]+(?:\.[0-9]+)?)$"#,
    )
    .unwrap();
    let mut declared: Vec<(String, bool, bool)> = Vec::new();
    for line in out.lines() {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let name = rest.split(' ').next().unwrap().to_string();
            assert!(!declared.iter().any(|d| d.0 == name), "HELP twice: {name}");
            declared.push((name, true, false));
        } else if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap();
            assert_eq!(kind, "gauge");
            let last = declared.last_mut().unwrap();
            assert_eq!(last.0, name);
            last.2 = true;
        } else {
            let c = sample
                .captures(line)
                .unwrap_or_else(|| panic!("bad sample: {line}"));
            let last = declared.last().unwrap();
            assert!(
                last.0 == c[1] && last.1 && last.2,
                "sample outside its family: {line}"
            );
        }
    }
    insta::assert_snapshot!("status_prometheus", out);
}

#[test]
fn status_rejects_a_bad_threshold() {
    let r = project().run(&["status", "--stale-after", "a month"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("--stale-after"), "{}", r.stderr);
}

#[test]
fn status_json_errors_are_json_on_stdout() {
    let r = project().run(&["status", "--format", "json", "--now", "yesterday"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert!(v["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("--now"));
}
