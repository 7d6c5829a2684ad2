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
    for line in out.lines().filter(|l| !l.starts_with('#')) {
        let (_, value) = line.rsplit_once(' ').unwrap();
        assert!(value.parse::<f64>().is_ok(), "{line}");
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
