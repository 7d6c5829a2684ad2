//! The update Stages (images.yaml `updates:`) at runtime: what they do when
//! Kargo runs them — Argo CD syncs, deploying each build, verification, the
//! pull-request wait, kustomize and external images. Each is checked on
//! the generated YAML with the project's port of Kargo's evaluator
//! ([`crate::support::kargo_eval`]), as Kargo v1.11.2 and Argo Rollouts
//! v1.9.1 read it.

use serde_json::{json, Value as Json};
use yaml_serde::Value;

use crate::support::kargo_eval::{evaluate_template, Env};
use crate::support::{docs, of_kind, stage_named, Project, ONE_IMAGE};

const DIGEST_A: &str = "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const DIGEST_B: &str = "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

/// A kustomization, a values file and a manifest, without and with a value.
const THREE_KINDS: &str = "    - name: kust
      repo: org/deploy
      path: apps/app
      type: kustomize-set-image
    - name: values
      repo: org/deploy
      path: charts/app/values.yaml
      type: yaml-update
      key: image.digest
      value: digest
    - name: manifest
      repo: org/deploy
      path: manifests/app.yaml
      type: yaml-update
      key: spec.template.spec.containers.0.image
      value: pinned
";

/// The committed Kargo output of the bundled example.
fn example_dist() -> Vec<Value> {
    docs(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/dist/image-factory.k8s.yaml"
        ))
        .unwrap(),
    )
}

fn project(images: &str) -> Project {
    let p = Project::new();
    p.images(images);
    p
}

fn synth_fails(p: &Project) -> String {
    let r = p.run(&["synth", "--output", "-"]);
    assert_eq!(r.code, 2, "expected exit 2; stderr:\n{}", r.stderr);
    r.stderr
}

/// The line right after the message that contains `what` names `line`.
fn points_at(stderr: &str, what: &str, line: usize) {
    let at = stderr
        .lines()
        .position(|l| l.contains(what))
        .unwrap_or_else(|| panic!("no `{what}` in:\n{stderr}"));
    let next = stderr.lines().nth(at + 1).unwrap_or_default();
    assert!(
        next.contains(&format!("images.yaml:{line}:")),
        "`{what}` should point at line {line}:\n{stderr}"
    );
}

fn update_stages(all: &[Value]) -> Vec<&Value> {
    of_kind(all, "Stage")
        .into_iter()
        .filter(|s| s["metadata"]["labels"]["imgf/role"].as_str() == Some("update"))
        .collect()
}

fn steps(stage: &Value) -> &[Value] {
    stage["spec"]["promotionTemplate"]["spec"]["steps"]
        .as_sequence()
        .map_or(&[], Vec::as_slice)
}

fn step<'a>(stage: &'a Value, uses: &str) -> &'a Value {
    steps(stage)
        .iter()
        .find(|s| s["uses"].as_str() == Some(uses))
        .unwrap_or_else(|| panic!("no {uses} step"))
}

/// The environment of a promotion of `stage` with Freight whose image is at
/// (`tag`, `digest`) — or, for a Warehouse that follows one tag by digest,
/// at that tag whatever `tag` says, as Kargo discovers it.
fn env_for(all: &[Value], stage: &Value, tag: &str, digest: &str) -> Env {
    let mut env = Env::new();
    for req in stage["spec"]["requestedFreight"].as_sequence().unwrap() {
        let name = req["origin"]["name"].as_str().unwrap();
        let wh = of_kind(all, "Warehouse")
            .into_iter()
            .find(|w| w["metadata"]["name"].as_str() == Some(name))
            .unwrap_or_else(|| panic!("no Warehouse {name}"));
        for sub in wh["spec"]["subscriptions"].as_sequence().unwrap() {
            let image = &sub["image"];
            let Some(repo) = image["repoURL"].as_str() else {
                continue;
            };
            let tag = match image["imageSelectionStrategy"].as_str() {
                Some("Digest") => image["constraint"].as_str().unwrap(),
                _ => match image["allowTagsRegexes"][0].as_str() {
                    // An exact-tag filter: `^16-alpine$`.
                    Some(r) if r.starts_with('^') && r.ends_with('$') && !r.contains('(') => leak(
                        r.trim_start_matches('^')
                            .trim_end_matches('$')
                            .replace("\\.", "."),
                    ),
                    _ => tag,
                },
            };
            env = env.image(name, repo, tag, digest);
        }
    }
    env
}

fn leak(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

/// What the update step of `stage` writes, evaluated as Kargo does.
fn written(all: &[Value], stage: &Value, tag: &str, digest: &str) -> Json {
    let env = env_for(all, stage, tag, digest);
    let update = steps(stage)
        .iter()
        .find(|s| {
            matches!(
                s["uses"].as_str(),
                Some("kustomize-set-image" | "yaml-update")
            )
        })
        .unwrap();
    let config: Json = serde_json::to_value(&update["config"]).unwrap();
    let mut out = config.clone();
    for (list, fields) in [
        ("images", &["tag", "digest"][..]),
        ("updates", &["value"][..]),
    ] {
        for (i, item) in config[list].as_array().into_iter().flatten().enumerate() {
            for f in fields {
                if let Some(t) = item[*f].as_str() {
                    out[list][i][*f] =
                        evaluate_template(t, &env).unwrap_or_else(|e| panic!("{t}: {e}"));
                }
            }
        }
    }
    out
}

/// For every update Stage of `all`: two different builds make two
/// different writes — no Stage can succeed while deploying nothing.
fn every_update_changes_what_runs(all: &[Value]) {
    let stages = update_stages(all);
    assert!(!stages.is_empty());
    for stage in stages {
        let name = stage["metadata"]["name"].as_str().unwrap();
        let a = written(all, stage, "1.20", DIGEST_A);
        let b = written(all, stage, "1.21", DIGEST_B);
        assert_ne!(a, b, "{name} writes the same for two builds: {a}");
    }
}

#[test]
fn argocd_syncs_the_branch_head_with_no_pinned_revision() {
    let all = example_dist();
    let mut synced = 0;
    for stage in update_stages(&all) {
        for s in steps(stage) {
            if s["uses"].as_str() != Some("argocd-update") {
                continue;
            }
            synced += 1;
            for app in s["config"]["apps"].as_sequence().unwrap() {
                for src in app["sources"].as_sequence().unwrap() {
                    // A source that names the repository (the step fails if the
                    // Application has none from it) and nothing to compare
                    // its synced revision with.
                    assert!(src["repoURL"].as_str().is_some());
                    assert!(src.get("desiredRevision").is_none(), "{src:?}");
                    assert!(src.get("updateTargetRevision").is_none(), "{src:?}");
                }
            }
            assert!(s["retry"]["timeout"].as_str().is_some());
        }
    }
    assert_eq!(synced, 2, "the example syncs api-staging and api-prod");
}

#[test]
fn the_example_and_every_kind_of_update_deploy_each_build() {
    let all = example_dist();
    every_update_changes_what_runs(&all);
    // An unversioned image (followed by digest), a versioned one, build ids,
    // and an external image at one tag.
    for extra in [
        "",
        "  versions: \">=1.0.0\"\n",
        "  tagPattern: '^main-(?P<build>[0-9]+)$'\n",
    ] {
        let p = project(&format!("{ONE_IMAGE}{extra}  updates:\n{THREE_KINDS}"));
        every_update_changes_what_runs(&docs(&p.synth_stdout()));
    }
    let p = project(&format!(
        "- name: redis\n  registry: docker.io\n  repository: library/redis\n  tag: 7-alpine\n  updates:\n{THREE_KINDS}"
    ));
    every_update_changes_what_runs(&docs(&p.synth_stdout()));
}

#[test]
fn an_unversioned_image_is_deployed_by_digest() {
    let p = project(&format!("{ONE_IMAGE}  updates:\n{THREE_KINDS}"));
    let all = docs(&p.synth_stdout());
    let wh = of_kind(&all, "Warehouse")[0];
    assert_eq!(
        wh["spec"]["subscriptions"][0]["image"]["imageSelectionStrategy"].as_str(),
        Some("Digest")
    );
    // The kustomization gets the digest by default, not `latest`.
    let kust = stage_named(&all, "update-app-kust");
    let w = written(&all, kust, "1.20", DIGEST_A);
    assert_eq!(
        w["images"][0],
        json!({"image": "ghcr.io/org/app", "newName": "*", "digest": DIGEST_A})
    );
    // And the commit message says what was written.
    let env = env_for(&all, kust, "1.20", DIGEST_A)
        .var("outputs", json!({"update": {"commitMessage": "x"}}));
    let message = step(kust, "git-commit")["config"]["message"]
        .as_str()
        .unwrap();
    assert_eq!(
        evaluate_template(message, &env).unwrap(),
        json!(format!(
            "imgf: update ghcr.io/org/app from (unknown) to {DIGEST_A} in apps/app\n\nx"
        ))
    );
}

#[test]
fn a_tag_that_never_changes_is_refused_where_it_is_written() {
    // An explicit `value: tag`, and a yaml-update that does not say.
    let p = project(&format!(
        "{ONE_IMAGE}  updates:\n    - name: a\n      repo: org/deploy\n      path: k\n      type: kustomize-set-image\n      value: tag\n    - name: b\n      repo: org/deploy\n      path: v.yaml\n      type: yaml-update\n      key: image.tag\n"
    ));
    let e = synth_fails(&p);
    points_at(
        &e,
        "update `a`: `value: tag` writes `latest` on every build",
        14,
    );
    points_at(
        &e,
        "update `b`: a yaml-update without `value` (the tag) writes `latest`",
        19,
    );
    assert!(e.contains("give the image `versions:`"), "{e}");
    // An external image at one tag: `reference` is as constant.
    let p = project(
        "- name: redis\n  registry: docker.io\n  repository: library/redis\n  tag: 7-alpine\n  updates:\n    - {name: db, repo: org/deploy, path: v.yaml, type: yaml-update, key: image, value: reference}\n",
    );
    let e = synth_fails(&p);
    assert!(
        e.contains("`value: reference` writes `7-alpine` on every build")
            && e.contains("the Warehouse of `redis` follows the one tag `7-alpine`")
            && !e.contains("versions:"),
        "{e}"
    );
    // The same updates pass once the image says its builds are versions.
    let p = project(&format!(
        "{ONE_IMAGE}  versions: \">=1.0.0\"\n  updates:\n    - name: b\n      repo: org/deploy\n      path: v.yaml\n      type: yaml-update\n      key: image.tag\n"
    ));
    p.synth_stdout();
}

#[test]
fn versions_select_versions_from_the_first_synth() {
    let p = project(&format!("{ONE_IMAGE}  versions: \">=1.0.0\"\n"));
    let all = docs(&p.synth_stdout());
    let sub = &of_kind(&all, "Warehouse")[0]["spec"]["subscriptions"][0]["image"];
    assert_eq!(sub["imageSelectionStrategy"].as_str(), Some("SemVer"));
    assert_eq!(sub["constraint"].as_str(), Some(">=1.0.0"));
}

#[test]
fn verification_without_a_rollout_wait_is_refused() {
    let p = project(&format!(
        "{ONE_IMAGE}  versions: \">=1.0.0\"\n  updates:\n    - name: s\n      repo: org/deploy\n      path: k\n      type: kustomize-set-image\n      verify:\n        - http: {{url: 'https://x.example.org/healthz', jsonPath: '{{$.status}}', expect: ok}}\n        - job: {{image: 'ghcr.io/org/e2e:1', command: [run]}}\n        - http: {{url: 'https://x.example.org/version', jsonPath: '{{$.version}}', expectBuild: tag}}\n"
    ));
    let e = synth_fails(&p);
    assert!(
        e.contains("verify[0] is an http check, but nothing waits"),
        "{e}"
    );
    assert!(
        e.contains("verify[1] is a job check, but nothing waits"),
        "{e}"
    );
    assert!(!e.contains("verify[2]"), "a version check tells: {e}");
    points_at(&e, "verify[0] is an http check", 15);
    assert!(e.contains("add `argocd:"), "{e}");
}

#[test]
fn a_version_check_proves_the_new_build_is_live() {
    let p = project(&format!(
        "{ONE_IMAGE}  versions: \">=1.0.0\"\n  updates:\n    - name: s\n      repo: org/deploy\n      path: k\n      type: kustomize-set-image\n      verify:\n        - http: {{url: 'https://x.example.org/version', jsonPath: '{{$.version}}', expectBuild: tag}}\n        - http: {{url: 'https://x.example.org/digest', jsonPath: '{{$.digest}}', expectBuild: digest}}\n"
    ));
    let all = docs(&p.synth_stdout());
    let template = of_kind(&all, "AnalysisTemplate")
        .into_iter()
        .find(|t| t["metadata"]["name"].as_str() == Some("verify-app-s"))
        .unwrap();
    let stage = stage_named(&all, "update-app-s");
    // The Stage passes the build as strings; Rollouts substitutes them into
    // the whole metric (`utils/analysis/factory.go:109-127`).
    let env = env_for(&all, stage, "1.20", DIGEST_A);
    let mut args = std::collections::BTreeMap::new();
    for a in stage["spec"]["verification"]["args"].as_sequence().unwrap() {
        let v = evaluate_template(a["value"].as_str().unwrap(), &env).unwrap();
        args.insert(
            a["name"].as_str().unwrap().to_string(),
            v.as_str().unwrap().to_string(),
        );
    }
    let declared: Vec<&str> = template["spec"]["args"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    assert_eq!(declared, ["tag", "digest"]);
    let metrics = template["spec"]["metrics"].as_sequence().unwrap();
    for (m, want) in metrics.iter().zip(["1.20", DIGEST_A]) {
        let mut condition = m["successCondition"].as_str().unwrap().to_string();
        for (k, v) in &args {
            condition = condition.replace(&format!("{{{{args.{k}}}}}"), v);
        }
        assert_eq!(condition, format!("string(result) == \"{want}\""));
        // Measured until the new build answers three times in a row: the old
        // pods' answers during the rollout do not fail it.
        assert_eq!(m["failureLimit"].as_i64(), Some(-1));
        assert_eq!(m["consecutiveSuccessLimit"].as_u64(), Some(3));
        assert!(m["count"].as_u64().unwrap() * 20 >= 900);
    }
    // `expectBuild: tag` on an image whose tag never changes is refused.
    let p = project(&format!(
        "{ONE_IMAGE}  updates:\n    - name: s\n      repo: org/deploy\n      path: k\n      type: kustomize-set-image\n      verify:\n        - http: {{url: 'https://x.example.org/v', jsonPath: '{{$.v}}', expectBuild: tag}}\n"
    ));
    let e = synth_fails(&p);
    assert!(
        e.contains("`expectBuild: tag` compares with `latest`"),
        "{e}"
    );
    // `expect` and `expectBuild` together, or without jsonPath, are refused.
    let p = project(&format!(
        "{ONE_IMAGE}  updates:\n    - name: s\n      repo: org/deploy\n      path: k\n      type: kustomize-set-image\n      argocd: {{app: a}}\n      verify:\n        - http: {{url: 'https://x.example.org/v', jsonPath: '{{$.v}}', expect: ok, expectBuild: digest}}\n        - http: {{url: 'https://x.example.org/v', expectBuild: digest}}\n"
    ));
    let e = synth_fails(&p);
    assert!(e.contains("`expect` and `expectBuild` both say"), "{e}");
    assert!(
        e.contains("`expectBuild` is compared with the value at `jsonPath`"),
        "{e}"
    );
}

#[test]
fn the_e2e_job_gets_the_build_under_test() {
    let all = example_dist();
    let t = of_kind(&all, "AnalysisTemplate")
        .into_iter()
        .find(|t| t["metadata"]["name"].as_str() == Some("verify-api-staging"))
        .unwrap();
    let job = t["spec"]["metrics"]
        .as_sequence()
        .unwrap()
        .iter()
        .find(|m| m["provider"].get("job").is_some())
        .unwrap();
    let c = &job["provider"]["job"]["spec"]["template"]["spec"]["containers"][0];
    // Not the stock Playwright image: it holds browsers, not the tests.
    assert!(!c["image"]
        .as_str()
        .unwrap()
        .starts_with("mcr.microsoft.com/playwright"));
    let env: Vec<(&str, &str)> = c["env"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|e| (e["name"].as_str().unwrap(), e["value"].as_str().unwrap()))
        .collect();
    assert!(env.contains(&("IMAGE_TAG", "{{args.tag}}")), "{env:?}");
    assert!(
        env.contains(&("IMAGE_DIGEST", "{{args.digest}}")),
        "{env:?}"
    );
}

#[test]
fn tags_yaml_update_would_write_unquoted_are_warned_about() {
    let p = project(&format!(
        "{ONE_IMAGE}  tagPattern: '^(?P<build>[0-9_]+)$'\n  updates:\n    - {{name: v, repo: org/deploy, path: v.yaml, type: yaml-update, key: image.tag}}\n"
    ));
    let r = p.run(&["synth", "--output", "-"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr.contains("its tags may include ones like `1_000`")
            && r.stderr.contains("a number in YAML 1.1 readers"),
        "{}",
        r.stderr
    );
    // An external image whose tags the filter lets through, likewise.
    let p = project(
        "- name: tool\n  registry: docker.io\n  repository: org/tool\n  allowTags: '^[0-9]+_[0-9]+$'\n  updates:\n    - {name: v, repo: org/deploy, path: v.yaml, type: yaml-update, key: image.tag}\n",
    );
    let r = p.run(&["synth", "--output", "-"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("image `tool`: update `v`: its tags may include ones like `1_000`"),
        "{}",
        r.stderr
    );
    // A pattern that cannot match such a tag says nothing.
    let p = project(&format!(
        "{ONE_IMAGE}  tagPattern: '^main-(?P<build>[0-9]+)$'\n  updates:\n    - {{name: v, repo: org/deploy, path: v.yaml, type: yaml-update, key: image.tag}}\n"
    ));
    let r = p.run(&["synth", "--output", "-"]);
    assert!(!r.stderr.contains("its tags may include"), "{}", r.stderr);
}

#[test]
fn the_pull_request_wait_follows_only_an_opened_pull_request() {
    let p = project(&format!(
        "{ONE_IMAGE}  versions: \">=1.0.0\"\n  updates:\n    - {{name: p, repo: org/deploy, path: k, type: kustomize-set-image, pullRequest: true}}\n"
    ));
    let all = docs(&p.synth_stdout());
    let wait = step(stage_named(&all, "update-app-p"), "git-wait-for-pr");
    assert_eq!(
        wait["if"].as_str(),
        Some("${{ status(\"open-pr\") == \"Succeeded\" }}")
    );
}

#[test]
fn two_updates_of_one_place_are_an_error_and_of_one_file_a_warning() {
    let two = "\
- name: api
  registry: ghcr.io
  repository: org/api
  versions: '>=1.0.0'
  source: {repo: org/api, dockerfile: Dockerfile, workflow: b.yml}
  updates:
    - {name: prod, repo: org/deploy, path: values.yaml, type: yaml-update, key: api.tag}
- name: web
  registry: ghcr.io
  repository: org/web
  versions: '>=1.0.0'
  source: {repo: org/web, dockerfile: Dockerfile, workflow: b.yml}
  updates:
    - {name: prod, repo: 'https://github.com/org/deploy.git/', path: values.yaml, type: yaml-update, key: KEY}
";
    let p = project(&two.replace("KEY", "api.tag"));
    let e = synth_fails(&p);
    assert!(
        e.contains(
            "update `prod` of `web` and update `prod` of `api` (at image-factory/images.yaml:7:"
        ),
        "{e}"
    );
    points_at(&e, "both write key `api.tag` of values.yaml", 14);
    let p = project(&two.replace("KEY", "web.tag"));
    let r = p.run(&["synth", "--output", "-"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr.contains(
            "update `prod` of `api` and update `prod` of `web` write values.yaml on branch `main`"
        ),
        "{}",
        r.stderr
    );
}

#[test]
fn kustomize_keeps_new_name_and_every_kustomization_file_name_is_read() {
    let p = project(&format!(
        "{ONE_IMAGE}  versions: \">=1.0.0\"\n  updates:\n    - {{name: k, repo: org/deploy, path: apps/app, type: kustomize-set-image}}\n"
    ));
    let all = docs(&p.synth_stdout());
    let stage = stage_named(&all, "update-app-k");
    assert_eq!(
        step(stage, "kustomize-set-image")["config"]["images"][0]["newName"].as_str(),
        Some("*")
    );
    let parsed: Vec<&str> = steps(stage)
        .iter()
        .filter(|s| s["uses"].as_str() == Some("yaml-parse"))
        .map(|s| {
            assert_eq!(s["continueOnError"].as_bool(), Some(true));
            s["config"]["path"].as_str().unwrap()
        })
        .collect();
    assert_eq!(
        parsed,
        [
            "./repo/apps/app/kustomization.yaml",
            "./repo/apps/app/kustomization.yml",
            "./repo/apps/app/Kustomization"
        ]
    );
    // Whichever of them exists names the old value.
    let message = step(stage, "git-commit")["config"]["message"]
        .as_str()
        .unwrap();
    let env = env_for(&all, stage, "1.20", DIGEST_A).var(
        "outputs",
        json!({"current-3": {"value": "1.19"}, "update": {"commitMessage": "x"}}),
    );
    assert_eq!(
        evaluate_template(message, &env).unwrap(),
        json!("imgf: update ghcr.io/org/app from 1.19 to 1.20 in apps/app\n\nx")
    );
}

#[test]
fn an_external_image_is_deployed_from_its_warehouse() {
    let p = project(
        "- name: redis\n  registry: docker.io\n  repository: library/redis\n  tag: 7-alpine\n  updates:\n    - {name: cache, repo: org/deploy, path: m.yaml, type: yaml-update, key: image, value: pinned, argocd: {app: cache}}\n",
    );
    let r = p.run(&["synth", "--output", "-"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(!r.stderr.contains("external images"), "{}", r.stderr);
    let all = docs(&r.stdout);
    let stage = stage_named(&all, "update-redis-cache");
    assert_eq!(
        stage["spec"]["requestedFreight"][0]["origin"]["name"].as_str(),
        Some("redis")
    );
    assert_eq!(
        written(&all, stage, "ignored", DIGEST_A)["updates"][0]["value"],
        json!(format!("docker.io/library/redis:7-alpine@{DIGEST_A}"))
    );
    // `updates check` covers its target, as for managed images.
    let apps = p.run(&["updates", "check", "--format", "json"]);
    assert!(
        apps.stdout.contains("update-redis-cache"),
        "{}",
        apps.stdout
    );
}
