//! `imgf synth` and `imgf graph` end to end.

use crate::kargo_runtime::received_body;
use crate::support::{docs, of_kind, rebuild_stage, stage_named, Project, NODE_STATE, ONE_IMAGE};

#[test]
fn synth_writes_the_default_output_file() {
    let p = Project::new();
    p.images(ONE_IMAGE);
    let r = p.run(&["synth"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let out = std::fs::read_to_string(p.path("dist/image-factory.k8s.yaml")).unwrap();
    assert!(out.contains("kind: Warehouse"));
    assert!(out.ends_with('\n') && !out.ends_with("\n\n"));
}

#[test]
fn two_runs_give_identical_bytes() {
    let p = Project::new();
    p.images(ONE_IMAGE)
        .file(
            "state/images/app.yaml",
            "name: app\nbaseImages: [node-22]\ncurrentVersion: 1.2.3\n",
        )
        .file("state/base-images/node-22.yaml", NODE_STATE);
    let a = p.synth_stdout();
    let b = p.synth_stdout();
    assert_eq!(a, b);
    assert!(
        !a.contains("202") || !a.contains("T0"),
        "no timestamps expected"
    );
}

#[test]
fn check_passes_when_up_to_date_and_fails_with_a_diff_otherwise() {
    let p = Project::new();
    p.images(ONE_IMAGE);
    let missing = p.run(&["synth", "--check"]);
    assert_eq!(missing.code, 1, "missing output counts as drift");
    assert!(
        !p.path("dist/image-factory.k8s.yaml").exists(),
        "--check writes nothing"
    );

    assert_eq!(p.run(&["synth"]).code, 0);
    let ok = p.run(&["synth", "--check"]);
    assert_eq!(ok.code, 0, "{}", ok.stderr);
    assert!(ok.stdout.is_empty());

    p.images(&ONE_IMAGE.replace("branch: main", "branch: develop"));
    let drift = p.run(&["synth", "--check"]);
    assert_eq!(drift.code, 1);
    let changed: Vec<&str> = drift
        .stdout
        .lines()
        .filter(|l| l.starts_with(['-', '+']) && !l.starts_with("---") && !l.starts_with("+++"))
        .collect();
    assert_eq!(changed.len(), 2, "{}", drift.stdout);
    assert!(
        changed[0].starts_with('-') && changed[0].trim_end().ends_with("branch: main"),
        "{}",
        drift.stdout
    );
    assert!(
        changed[1].starts_with('+') && changed[1].trim_end().ends_with("branch: develop"),
        "{}",
        drift.stdout
    );
    assert!(drift.stderr.contains("out of date"), "{}", drift.stderr);
    let after = std::fs::read_to_string(p.path("dist/image-factory.k8s.yaml")).unwrap();
    assert!(
        after.contains("branch: main"),
        "--check must not rewrite the file"
    );
}

#[test]
fn check_with_stdout_is_a_usage_error() {
    let p = Project::new();
    p.images(ONE_IMAGE);
    let r = p.run(&["synth", "--check", "--output", "-"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("--check"), "{}", r.stderr);
}

#[test]
fn a_newly_enrolled_image_appears_before_any_analysis() {
    let p = Project::new();
    p.images(ONE_IMAGE);
    let d = docs(&p.synth_stdout());
    let wh = of_kind(&d, "Warehouse");
    assert_eq!(wh.len(), 2, "the image's builds and its sources");
    assert_eq!(wh[0]["metadata"]["name"].as_str(), Some("app"));
    assert_eq!(wh[1]["metadata"]["name"].as_str(), Some("app-source"));
    let img = &wh[0]["spec"]["subscriptions"][0]["image"];
    assert_eq!(img["imageSelectionStrategy"].as_str(), Some("Digest"));
    assert_eq!(img["constraint"].as_str(), Some("latest"));
    let stages = of_kind(&d, "Stage");
    assert_eq!(stages.len(), 1);
    assert_eq!(
        stages[0]["metadata"]["name"].as_str(),
        Some("analyze-dockerfile-app")
    );
}

#[test]
fn versioned_images_use_a_constraint_that_admits_0_0_x() {
    let p = Project::new();
    p.images(ONE_IMAGE).file(
        "state/images/app.yaml",
        "name: app\ncurrentVersion: 0.0.5\n",
    );
    let d = docs(&p.synth_stdout());
    let img = &of_kind(&d, "Warehouse")[0]["spec"]["subscriptions"][0]["image"];
    assert_eq!(img["imageSelectionStrategy"].as_str(), Some("SemVer"));
    assert_eq!(img["constraint"].as_str(), Some(">=0.0.0"));
    assert!(img.get("semverConstraint").is_none());
}

#[test]
fn builds_and_sources_are_separate_warehouses_and_sources_watch_files() {
    // A commit must never make Freight a rebuild Stage can take, and
    // Kargo matches includePaths as base directories, so only files are watched.
    let p = Project::new();
    p.images(ONE_IMAGE);
    let d = docs(&p.synth_stdout());
    let wh = of_kind(&d, "Warehouse");
    let subs = wh[0]["spec"]["subscriptions"].as_sequence().unwrap();
    assert_eq!(subs.len(), 1);
    assert!(
        subs[0].get("image").is_some(),
        "the build Warehouse has no git subscription"
    );
    let subs = wh[1]["spec"]["subscriptions"].as_sequence().unwrap();
    assert_eq!(subs.len(), 1);
    let git = &subs[0]["git"];
    assert_eq!(
        git["repoURL"].as_str(),
        Some("https://github.com/org/app.git")
    );
    assert_eq!(git["branch"].as_str(), Some("main"));
    let paths: Vec<&str> = git["includePaths"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(paths, [".github/workflows/build.yml", "docker/Dockerfile"]);
    for state_commit in [
        "image-factory/state/images/app.yaml",
        "image-factory/state/base-images/node-22.yaml",
        "dist/image-factory.k8s.yaml",
        "image-factory/images.yaml",
    ] {
        assert!(
            !paths
                .iter()
                .any(|p| kargo_base_dir_matches(p, state_commit)),
            "{state_commit} would make Freight"
        );
    }
    assert!(kargo_base_dir_matches(paths[1], "docker/Dockerfile"));
}

/// Kargo's `BaseDirMatcher.Matches` (pkg/pattern/matcher.go): `filepath.Rel`
/// of the path to the base must not contain `..`.
fn kargo_base_dir_matches(base: &str, path: &str) -> bool {
    let base: Vec<&str> = base
        .split('/')
        .filter(|c| !c.is_empty() && *c != ".")
        .collect();
    let path: Vec<&str> = path
        .split('/')
        .filter(|c| !c.is_empty() && *c != ".")
        .collect();
    path.len() >= base.len() && path[..base.len()] == base[..]
}

#[test]
fn rebuild_trigger_posts_a_json_dispatch_with_context() {
    let p = Project::new();
    p.images(&ONE_IMAGE.replace(
        "workflow: build.yml",
        "workflow: build.yml\n    inputs: [version_bump, triggered_by, base_image, base_digest]",
    ))
    .file(
        "state/images/app.yaml",
        "name: app\nbaseImages: [node-22]\n",
    )
    .file("state/base-images/node-22.yaml", NODE_STATE);
    let d = docs(&p.synth_stdout());
    let stage = stage_named(&d, "rebuild-app");
    assert_eq!(
        stage["spec"]["requestedFreight"][0]["origin"]["name"].as_str(),
        Some("node-22")
    );
    assert_eq!(
        stage["spec"]["requestedFreight"][0]["sources"]["stages"][0].as_str(),
        Some("soak-node-22")
    );
    let step = &stage["spec"]["promotionTemplate"]["spec"]["steps"][0];
    assert_eq!(step["uses"].as_str(), Some("http"));
    let cfg = &step["config"];
    assert_eq!(
        cfg["url"].as_str(),
        Some("https://api.github.com/repos/org/app/actions/workflows/build.yml/dispatches")
    );
    assert_eq!(cfg["method"].as_str(), Some("POST"));
    assert_eq!(
        cfg["successExpression"].as_str(),
        Some("response.status == 204")
    );
    let auth = cfg["headers"]
        .as_sequence()
        .unwrap()
        .iter()
        .find(|h| h["name"].as_str() == Some("Authorization"))
        .unwrap();
    assert_eq!(
        auth["value"].as_str(),
        Some(r#"Bearer ${{ secret("github-workflow-token").token }}"#)
    );
    // As GitHub receives it, after Kargo's evaluation (the image lists its inputs).
    let body = received_body(&d, stage, Some("22.1"));
    assert_eq!(body["ref"], "main");
    assert_eq!(body["inputs"]["version_bump"], "patch");
    assert_eq!(body["inputs"]["triggered_by"], "kargo/rebuild-app");
    assert_eq!(body["inputs"]["base_image"], "docker.io/library/node:22");
    assert_eq!(
        body["inputs"]["base_digest"],
        "sha256:0f9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d9c8b7a6f5e4d3c2b1a0f9e"
    );
}

#[test]
fn declared_workflow_inputs_narrow_the_dispatch_with_a_warning() {
    let p = Project::new();
    p.images(ONE_IMAGE)
        .file(
            "state/images/app.yaml",
            "name: app\nbaseImages: [node-22]\nworkflowInputs:\n  - name: version_bump\n    required: true\n",
        )
        .file("state/base-images/node-22.yaml", NODE_STATE);
    let r = p.run(&["synth", "--output", "-"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("does not declare input(s) triggered_by, base_image, base_digest"),
        "{}",
        r.stderr
    );
    let d = docs(&r.stdout);
    let body = received_body(&d, rebuild_stage(&d), Some("1.2"));
    assert_eq!(body["inputs"], serde_json::json!({"version_bump": "patch"}));
}

#[test]
fn inputs_are_configurable_per_image() {
    let p = Project::new();
    p.images(&ONE_IMAGE.replace(
        "workflow: build.yml",
        "workflow: build.yml\n    inputs: [base_digest]\n    versionBump: minor",
    ))
    .file(
        "state/images/app.yaml",
        "name: app\nbaseImages: [node-22]\n",
    )
    .file("state/base-images/node-22.yaml", NODE_STATE);
    let d = docs(&p.synth_stdout());
    let body = received_body(&d, rebuild_stage(&d), Some("1.2"));
    let keys: Vec<&String> = body["inputs"].as_object().unwrap().keys().collect();
    assert_eq!(keys, ["base_digest"], "exactly the listed inputs: {body}");
}

#[test]
fn gitlab_images_use_the_pipeline_trigger_api() {
    let p = Project::new();
    p.images(
        "- name: worker\n  registry: registry.gitlab.com\n  repository: grp/sub/worker\n  source:\n    provider: gitlab\n    repo: grp/sub/worker\n    branch: dev\n    dockerfile: Dockerfile\n",
    )
    .file("state/images/worker.yaml", "name: worker\nbaseImages: [node-22]\n")
    .file("state/base-images/node-22.yaml", NODE_STATE);
    let d = docs(&p.synth_stdout());
    let git = &of_kind(&d, "Warehouse")[1]["spec"]["subscriptions"][0]["git"];
    assert_eq!(
        git["repoURL"].as_str(),
        Some("https://gitlab.com/grp/sub/worker.git")
    );
    assert_eq!(
        git["includePaths"][0].as_str(),
        Some("Dockerfile"),
        "a root Dockerfile is watched as a file, not the whole repository"
    );
    let stage = rebuild_stage(&d);
    let cfg = &stage["spec"]["promotionTemplate"]["spec"]["steps"][0]["config"];
    assert_eq!(
        cfg["url"].as_str(),
        Some("https://gitlab.com/api/v4/projects/grp%2Fsub%2Fworker/trigger/pipeline")
    );
    assert_eq!(
        cfg["successExpression"].as_str(),
        Some("response.status == 201")
    );
    let body = received_body(&d, stage, Some("1.2"));
    assert_eq!(body["ref"], "dev");
    assert_eq!(
        body["token"], "glptt-s3cr3t",
        "the token comes from the Secret at runtime"
    );
    assert_eq!(body["variables"]["BASE_IMAGE"], "docker.io/library/node:22");
    assert!(
        !cfg["body"].as_str().unwrap().contains("glptt"),
        "never in the generated YAML"
    );
}

#[test]
fn auto_promotion_follows_the_generated_stages() {
    let p = Project::new();
    p.images(&format!(
        "{ONE_IMAGE}- name: manual\n  registry: ghcr.io\n  repository: org/manual\n  autoRebuild: false\n  source:\n    repo: org/manual\n    dockerfile: Dockerfile\n    workflow: b.yml\n"
    ))
    .file("state/images/app.yaml", "name: app\nbaseImages: [node-22]\n")
    .file("state/images/manual.yaml", "name: manual\nbaseImages: [node-22]\n")
    .file("state/base-images/node-22.yaml", NODE_STATE);
    let d = docs(&p.synth_stdout());
    let pc = &of_kind(&d, "ProjectConfig")[0];
    assert_eq!(pc["metadata"]["name"], pc["metadata"]["namespace"]);
    let selector = &pc["spec"]["promotionPolicies"][0]["stageSelector"]["matchLabels"];
    assert_eq!(selector["imgf/auto-promote"].as_str(), Some("true"));
    let auto: Vec<&str> = of_kind(&d, "Stage")
        .into_iter()
        .filter(|s| s["metadata"]["labels"]["imgf/auto-promote"].as_str() == Some("true"))
        .map(|s| s["metadata"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        auto,
        [
            "soak-node-22",
            "analyze-dockerfile-app",
            "analyze-dockerfile-manual",
            "rebuild-app"
        ],
        "the autoRebuild: false image's rebuild Stage is not auto-promoted"
    );
    assert!(of_kind(&d, "Stage")
        .iter()
        .any(|s| s["metadata"]["name"].as_str() == Some("rebuild-manual")));
}

#[test]
fn a_managed_image_as_a_base_cascades_from_its_own_warehouse() {
    let p = Project::new();
    p.images(&format!(
        "{ONE_IMAGE}- name: child\n  registry: ghcr.io\n  repository: org/child\n  source:\n    repo: org/child\n    dockerfile: Dockerfile\n    workflow: b.yml\n"
    ))
    .file("state/images/app.yaml", "name: app\nbaseImages: [node-22]\n")
    .file("state/images/child.yaml", "name: child\nbaseImages: [app-1]\n")
    // Analysis recorded the enrolled image as a base-image state: it is recognised by repository.
    .file("state/base-images/app-1.yaml", "name: app-1\nrepoURL: ghcr.io/org/app\ntag: '1'\n")
    .file("state/base-images/node-22.yaml", NODE_STATE);
    let r = p.run(&["synth", "--output", "-"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let d = docs(&r.stdout);
    let names: Vec<&str> = of_kind(&d, "Warehouse")
        .iter()
        .map(|w| w["metadata"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["app", "child", "app-source", "child-source", "node-22"],
        "no upstream Warehouse for an enrolled image"
    );
    let stage = stage_named(&d, "rebuild-child");
    assert_eq!(
        stage["spec"]["requestedFreight"]
            .as_sequence()
            .unwrap()
            .len(),
        1,
        "never the base's source Warehouse"
    );
    assert_eq!(
        stage["spec"]["requestedFreight"][0]["origin"]["name"].as_str(),
        Some("app"),
        "the cascade takes only the base's image Freight, never a commit"
    );
    assert_eq!(
        stage["spec"]["requestedFreight"][0]["sources"]["stages"][0].as_str(),
        Some("analyze-dockerfile-app"),
        "a cascade waits until the base's new build is analysed"
    );

    let g = p.run(&["graph", "--format", "json"]);
    assert_eq!(g.code, 0, "{}", g.stderr);
    let j: serde_json::Value = serde_json::from_str(&g.stdout).unwrap();
    assert_eq!(j["rebuildOrder"], serde_json::json!(["app", "child"]));
    assert!(j["edges"]
        .as_array()
        .unwrap()
        .contains(&serde_json::json!({"base": "app", "dependent": "child"})));
}

#[test]
fn cycles_are_errors_that_name_the_cycle() {
    let p = Project::new();
    let img = |n: &str| {
        format!("- name: {n}\n  registry: ghcr.io\n  repository: org/{n}\n  source:\n    repo: org/{n}\n    dockerfile: Dockerfile\n    workflow: b.yml\n")
    };
    p.images(&format!("{}{}{}", img("a"), img("b"), img("c")))
        .file("state/images/a.yaml", "name: a\nbaseImages: [c]\n")
        .file("state/images/b.yaml", "name: b\nbaseImages: [a]\n")
        .file("state/images/c.yaml", "name: c\nbaseImages: [b]\n");
    let r = p.run(&["synth"]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("cycle: a → c → b → a") || r.stderr.contains("cycle"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains('a') && r.stderr.contains('b') && r.stderr.contains('c'));
    assert!(!p.path("dist").exists(), "nothing written on error");
}

/// `imgf graph` draws a cycle, highlighted, with a warning, where synth
/// refuses it: in every format.
#[test]
fn graph_draws_a_cycle_that_synth_refuses() {
    let p = Project::new();
    let img = |n: &str| {
        format!("- name: {n}\n  registry: ghcr.io\n  repository: org/{n}\n  source:\n    repo: org/{n}\n    dockerfile: Dockerfile\n    workflow: b.yml\n")
    };
    p.images(&format!("{}{}{}{}", img("a"), img("b"), img("c"), img("d")))
        .file("state/images/a.yaml", "name: a\nbaseImages: [c]\n")
        .file("state/images/b.yaml", "name: b\nbaseImages: [a]\n")
        .file("state/images/c.yaml", "name: c\nbaseImages: [b]\n")
        .file("state/images/d.yaml", "name: d\nbaseImages: [c]\n");
    let r = p.run(&["synth"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("cycle: a → b → c → a"), "{}", r.stderr);
    let run = |format: &str| {
        let r = p.run(&["graph", "--format", format]);
        assert_eq!(r.code, 0, "{format}: {}", r.stderr);
        assert!(
            r.stderr.contains("\nwarning: the images are built on each other in a cycle: a → b → c → a; it is highlighted in the drawing, and `imgf synth` refuses it\n  help: an image cannot be its own (indirect) base"),
            "{format}: {}",
            r.stderr
        );
        r.stdout
    };
    let j: serde_json::Value = serde_json::from_str(&run("json")).unwrap();
    assert_eq!(j["cycles"], serde_json::json!([["a", "b", "c"]]));
    let cyclic: Vec<(&str, &str)> = (j["edges"].as_array().unwrap().iter())
        .filter(|e| e["cycle"] == true)
        .map(|e| {
            (
                e["base"].as_str().unwrap(),
                e["dependent"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(cyclic, [("c", "a"), ("a", "b"), ("b", "c")]);
    assert!(j["edges"]
        .as_array()
        .unwrap()
        .contains(&serde_json::json!({"base": "c", "dependent": "d"})));
    let m = run("mermaid");
    assert!(
        m.contains("  class m0,m1,m2 cycle\n  linkStyle 0,1,2 stroke:#dc2626"),
        "{m}"
    );
    let d = run("dot");
    assert_eq!(d.matches(" [color=red, penwidth=2];").count(), 3, "{d}");
    assert_eq!(d.matches(", color=red, penwidth=2];").count(), 3, "{d}");
    let h = run("html");
    assert!(
        h.contains(r#""cycles":[[0,1,2]]"#),
        "the page gets the cycle"
    );
}

#[test]
fn graph_formats() {
    let p = Project::app_on_node();
    let m = p.run(&["graph"]);
    assert_eq!(m.code, 0);
    assert_eq!(
        m.stdout,
        "graph LR\n  u0([\"docker.io/library/node:22\"])\n  m0[\"app\"]\n  u0 --> m0\n"
    );
    let d = p.run(&["graph", "--format", "dot"]);
    assert!(
        d.stdout.starts_with("digraph images {") && d.stdout.contains("u0 -> m0;"),
        "{}",
        d.stdout
    );
}

/// The JSON data a `graph --format html` page draws (the one
/// `<script type="application/json">` element).
pub(crate) fn html_graph_data(page: &str) -> serde_json::Value {
    let open = r#"<script type="application/json" id="graph-data">"#;
    assert_eq!(page.matches(open).count(), 1, "one data element");
    let start = page.find(open).unwrap() + open.len();
    let end = start + page[start..].find("</script>").unwrap();
    serde_json::from_str(&page[start..end]).expect("the data is JSON")
}

#[test]
fn graph_html_is_one_self_contained_page() {
    let p = Project::app_on_node();
    let r = p.run(&["graph", "--format", "html"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let page = &r.stdout;
    assert!(page.starts_with("<!doctype html>\n"), "{page}");
    assert!(page.ends_with("</html>\n"));
    assert_eq!(page.matches("<html").count(), 1);
    assert_eq!(page.matches("</html>").count(), 1);
    // Nothing is loaded when the page is viewed: no URLs, links, sources or
    // imports, and a policy that would block them anyway.
    for external in ["http://", "https://", "<link", " src=", "@import", "url("] {
        assert!(!page.contains(external), "the page references {external}");
    }
    assert!(page.contains("content=\"default-src 'none';"));
    let data = html_graph_data(page);
    assert_eq!(
        data,
        serde_json::json!({
            "nodes": [
                {"name": "node-22", "kind": "base", "repoURL": "docker.io/library/node",
                 "tag": "22", "layer": 0},
                {"name": "app", "kind": "managed", "repoURL": "ghcr.io/org/app", "layer": 1,
                 "provider": "github", "source": "org/app", "rebuildDelay": "7d",
                 "autoRebuild": true}
            ],
            "edges": [
                {"from": 0, "to": 1, "kind": "base", "delay": "7d", "autoRebuild": true}
            ]
        })
    );
    assert_eq!(
        p.run(&["graph", "--format", "html"]).stdout,
        r.stdout,
        "byte-identical on a second run"
    );
}

#[test]
fn old_cdk8s_layout_is_read_too() {
    let p = Project::new();
    p.images(ONE_IMAGE)
        .file("images/app.yaml", "name: app\nbaseImages: [node-22]\n")
        .file("base-images/node-22.yaml", NODE_STATE)
        .file(
            "base-images/node-22.example.yaml",
            "this: [is not even valid",
        )
        .file("images/other.example.yaml", "name: other\n");
    let d = docs(&p.synth_stdout());
    assert_eq!(of_kind(&d, "Warehouse").len(), 3, "build, source, base");
    assert_eq!(of_kind(&d, "Stage").len(), 3, "soak, analysis, rebuild");
}

#[test]
fn both_layouts_at_once_is_an_error() {
    let p = Project::new();
    p.images(ONE_IMAGE)
        .file("images/app.yaml", "name: app\n")
        .file("state/images/app.yaml", "name: app\n");
    let r = p.run(&["synth"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("both"), "{}", r.stderr);
}

#[test]
fn settings_and_flags_change_organisation_values() {
    let p = Project::new();
    p.images(ONE_IMAGE).file(
        "settings.yaml",
        "project: platform\nintervals:\n  base: 48h\ngithub:\n  apiURL: https://ghe.example.com/api/v3\n  webURL: https://ghe.example.com\n  tokenSecret: {name: gh, key: pat}\nanalysis:\n  serviceAccount: analyzer\n  imagePullSecrets: [regcred]\n",
    )
    .file("state/images/app.yaml", "name: app\nbaseImages: [node-22]\n")
    .file("state/base-images/node-22.yaml", NODE_STATE);
    let r = p.run(&[
        "synth",
        "--output",
        "-",
        "--analysis-image",
        "registry.example.com/imgf:1.0.0",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let d = docs(&r.stdout);
    assert_eq!(
        of_kind(&d, "Project")[0]["metadata"]["name"].as_str(),
        Some("platform")
    );
    assert!(
        of_kind(&d, "Project")[0]["metadata"]
            .get("namespace")
            .is_none(),
        "cluster-scoped"
    );
    assert_eq!(
        of_kind(&d, "Warehouse")[0]["metadata"]["namespace"].as_str(),
        Some("platform")
    );
    let interval = of_kind(&d, "Warehouse")[2]["spec"]["interval"]
        .as_str()
        .unwrap();
    assert!(interval.starts_with("48h"), "{interval}");
    assert!(r.stdout.contains(
        "https://ghe.example.com/api/v3/repos/org/app/actions/workflows/build.yml/dispatches"
    ));
    assert!(r.stdout.contains("https://ghe.example.com/org/app.git"));
    assert!(
        r.stdout.contains(r#"Bearer ${{ secret("gh").pat }}"#),
        "{}",
        r.stdout
    );
    let stage = rebuild_stage(&d);
    let headers = &stage["spec"]["promotionTemplate"]["spec"]["steps"][0]["config"]["headers"];
    assert_eq!(
        headers[1]["value"].as_str(),
        Some(r#"Bearer ${{ secret("gh").pat }}"#)
    );
    assert!(r.stdout.contains("image: registry.example.com/imgf:1.0.0"));
    assert!(r.stdout.contains("serviceAccountName: analyzer"));
    assert!(!r.stderr.contains("placeholder"), "{}", r.stderr);
}

#[test]
fn analysis_job_is_an_argument_vector_not_a_shell() {
    let p = Project::new();
    p.images(ONE_IMAGE);
    let d = docs(&p.synth_stdout());
    let c = &of_kind(&d, "AnalysisTemplate")[0]["spec"]["metrics"][0]["provider"]["job"]["spec"]
        ["template"]["spec"]["containers"][0];
    assert!(c.get("command").is_none());
    let args: Vec<&str> = c["args"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert_eq!(args[0], "analyze");
    assert!(!args.iter().any(|a| *a == "sh" || *a == "-c"));
    assert!(args.contains(&"{{args.imageName}}"));
}

#[test]
fn broken_pipe_is_not_an_error() {
    use std::process::Stdio;
    // Far more output than a pipe buffers, so the write must hit the closed pipe.
    let p = Project::new();
    let many: String = (0..400)
        .map(|i| ONE_IMAGE.replace("name: app", &format!("name: app{i}")))
        .collect();
    p.images(&many);
    let mut child = crate::support::imgf()
        .args(["synth", "--output", "-"])
        .current_dir(p.root.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.code() == Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn inspect_dockerfile_and_ref_json_shapes() {
    let p = Project::new();
    p.file(
        "Dockerfile",
        "ARG V\nFROM node:22-bookworm-slim AS b\nFROM b\nFROM golang:${V}\n",
    );
    let r = p.run(&[
        "inspect",
        "dockerfile",
        "image-factory/Dockerfile",
        "--format",
        "json",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let j: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(
        j["baseImages"],
        serde_json::json!([{"reference":"node:22-bookworm-slim","registry":"docker.io","repository":"library/node",
            "tag":"22-bookworm-slim","digest":null,"name":"node-22-bookworm-slim"}])
    );
    assert_eq!(j["unresolved"][0]["line"], 4);
    assert_eq!(j["unresolved"][0]["args"], serde_json::json!(["V"]));

    let r = p.run(&[
        "inspect",
        "dockerfile",
        "image-factory/Dockerfile",
        "--build-arg",
        "V=1.23",
    ]);
    assert!(
        r.stdout.contains("docker.io/library/golang:1.23"),
        "{}",
        r.stdout
    );

    let r = p.run(&[
        "inspect",
        "ref",
        "docker.io/library/node:latest",
        "--format",
        "json",
    ]);
    let j: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(
        j,
        serde_json::json!({"reference":"docker.io/library/node:latest","registry":"docker.io","repository":"library/node",
            "tag":"latest","digest":null,"name":"node-latest"})
    );
    let bad = p.run(&["inspect", "ref", "Org/App:1"]);
    assert_eq!(bad.code, 2);
    assert!(bad.stderr.contains("must be lowercase"), "{}", bad.stderr);
    let missing = p.run(&["inspect", "dockerfile", "nope/Dockerfile"]);
    assert_eq!(missing.code, 2);
}

#[test]
fn the_analysis_job_arguments_are_accepted_by_imgf_analyze() {
    use clap::Parser;
    let p = Project::new();
    p.images(ONE_IMAGE).file(
        "settings.yaml",
        "analysis:\n  image: ghcr.io/org/imgf:1.0.0\n  stateRepoURL: https://github.com/org/state.git\n",
    );
    let d = docs(&p.synth_stdout());
    let c = &of_kind(&d, "AnalysisTemplate")[0]["spec"]["metrics"][0]["provider"]["job"]["spec"]
        ["template"]["spec"]["containers"][0];
    let mut argv = vec!["imgf".to_string()];
    argv.extend(c["args"].as_sequence().unwrap().iter().map(|a| {
        a.as_str()
            .unwrap()
            .replace("{{args.imageName}}", "app")
            .replace("{{args.imageTag}}", "1.2.3")
            .replace(
                "{{args.imageDigest}}",
                &format!("sha256:{}", "a".repeat(64)),
            )
    }));
    let cli = imgf::cli::Cli::try_parse_from(&argv).unwrap_or_else(|e| panic!("{argv:?}: {e}"));
    let imgf::cli::Command::Analyze(a) = cli.command else {
        panic!("not analyze")
    };
    assert_eq!(a.image.as_deref(), Some("app"));
    assert_eq!(
        a.state.state_repo.as_deref(),
        Some("https://github.com/org/state.git")
    );
    assert!(a.state.commit && a.state.push);
}

#[test]
fn base_digests_are_recorded_by_a_stage_when_the_state_repository_is_known() {
    use clap::Parser;
    let p = Project::app_on_node();
    let without = docs(&p.synth_stdout());
    assert!(!of_kind(&without, "Stage")
        .iter()
        .any(|s| s["metadata"]["name"].as_str() == Some("record-node-22")));
    p.file(
        "settings.yaml",
        "analysis:\n  stateRepoURL: https://github.com/org/state.git\n",
    );
    let d = docs(&p.synth_stdout());
    let stage = stage_named(&d, "record-node-22");
    assert_eq!(
        stage["spec"]["requestedFreight"][0]["origin"]["name"].as_str(),
        Some("node-22")
    );
    assert_eq!(
        stage["spec"]["verification"]["analysisTemplates"][0]["name"].as_str(),
        Some("record-base-update")
    );
    assert_eq!(
        stage["spec"]["verification"]["args"][0]["value"].as_str(),
        Some("node-22")
    );
    let t = of_kind(&d, "AnalysisTemplate")
        .into_iter()
        .find(|t| t["metadata"]["name"].as_str() == Some("record-base-update"))
        .unwrap();
    let c =
        &t["spec"]["metrics"][0]["provider"]["job"]["spec"]["template"]["spec"]["containers"][0];
    let mut argv = vec!["imgf".to_string()];
    argv.extend(c["args"].as_sequence().unwrap().iter().map(|a| {
        a.as_str()
            .unwrap()
            .replace("{{args.baseName}}", "node-22")
            .replace("{{args.digest}}", &format!("sha256:{}", "b".repeat(64)))
    }));
    let cli = imgf::cli::Cli::try_parse_from(&argv).unwrap_or_else(|e| panic!("{argv:?}: {e}"));
    let imgf::cli::Command::RecordUpdate(r) = cli.command else {
        panic!("not record-update")
    };
    assert_eq!(r.base, "node-22");
    assert!(r.state.commit && r.state.push);
}

#[test]
#[cfg_attr(
    not(has_python_deps),
    ignore = "needs python3 with pyyaml and jsonschema (.ci/run installs them)"
)]
fn json_schemas_accept_the_bundled_example_and_reject_unknown_keys() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    if !crate::support::python_deps("checking the schemas") {
        return;
    }
    let p = Project::new();
    let check = |schema: &str, file: &std::path::Path| -> bool {
        let s = p.run(&["schema", schema]);
        assert_eq!(s.code, 0);
        let schema_path = p.root.path().join(format!("{schema}.json"));
        std::fs::write(&schema_path, &s.stdout).unwrap();
        std::process::Command::new("python3")
            .args([
                "-c",
                "import json,sys,yaml,jsonschema; jsonschema.validate(yaml.safe_load(open(sys.argv[2])), json.load(open(sys.argv[1])))",
            ])
            .arg(&schema_path)
            .arg(file)
            // A file the schema rejects is expected: its traceback is kept
            // out of the test output.
            .output()
            .unwrap()
            .status
            .success()
    };
    assert!(check("images", &root.join("image-factory/images.yaml")));
    assert!(check("settings", &root.join("image-factory/settings.yaml")));
    p.images(&format!("{ONE_IMAGE}  rebuildDelya: 7d\n"));
    assert!(
        !check("images", &p.dir().join("images.yaml")),
        "unknown keys are rejected"
    );
}
