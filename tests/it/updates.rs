//! Image-user updates (images.yaml `updates:`): validation with positions,
//! the update Stages, their steps evaluated as Kargo does and checked
//! against Kargo's step schemas, and the verification templates.

use crate::support::{git_in, Project, ONE_IMAGE};
use std::fmt::Write as _;

/// [`ONE_IMAGE`], its builds tagged with versions, deployed by `updates`.
fn with_updates(updates: &str) -> Project {
    let p = Project::new();
    p.images(&format!(
        "{ONE_IMAGE}  updates:\n{updates}  versions: \">=1.0.0\"\n"
    ));
    p
}

fn synth_fails(p: &Project) -> String {
    let r = p.run(&["synth", "--output", "-"]);
    assert_eq!(r.code, 2, "expected exit 2; stderr:\n{}", r.stderr);
    r.stderr
}

#[test]
fn todays_three_keys_still_work() {
    let p = with_updates(
        "    - repo: org/deploy\n      path: apps/app/overlays/prod\n      type: kustomize-set-image\n",
    );
    let out = p.synth_stdout();
    assert!(out.contains("name: update-app-prod"), "{out}");
}

#[test]
fn every_key_is_checked_where_it_is_written() {
    let p = with_updates(
        "    - name: Staging\n      repo: org/deploy\n      path: a/values.yaml\n      type: yaml-update\n\
         \x20   - name: prod\n      repo: org/deploy\n      path: charts/app/templates/deployment.yaml\n      type: helm-update-image\n      key: image.tag\n      after: stagin\n      soak: 1y\n\
         \x20     verify:\n        - http: {url: 'ftp://x', jsonPath: '$.status', expect: ok}\n        - job: {image: 'Bad Image', command: [run]}\n        - {}\n",
    );
    let e = synth_fails(&p);
    for (what, line) in [
        ("updates[0]: invalid name `Staging`", 10),
        (
            "updates[0]: invalid key `a/values.yaml`: a yaml-update needs the key",
            10,
        ),
        (
            "updates[1]: invalid path `charts/app/templates/deployment.yaml`",
            16,
        ),
        ("updates[1]: invalid after `stagin`", 19),
        ("updates[1]: invalid soak `1y`", 20),
        ("updates[1]: invalid url `ftp://x`", 22),
        ("updates[1]: invalid jsonPath `$.status`", 22),
        ("updates[1]: invalid image `Bad Image`", 23),
        ("each check is exactly one of `http` or `job`", 21),
    ] {
        let at = e
            .lines()
            .position(|l| l.contains(what))
            .unwrap_or_else(|| panic!("no `{what}` in:\n{e}"));
        let next = e.lines().nth(at + 1).unwrap_or_default();
        assert!(
            next.contains(&format!("images.yaml:{line}:")),
            "`{what}` should point at line {line}:\n{e}"
        );
    }
    assert!(e.contains("values file instead"), "{e}");
    assert!(e.contains("did you mean `Staging`?"), "{e}");
}

#[test]
fn kustomize_refuses_key_and_whole_references() {
    let p = with_updates(
        "    - repo: org/deploy\n      path: k\n      type: kustomize-set-image\n      key: image\n      value: pinned\n",
    );
    let e = synth_fails(&p);
    assert!(e.contains("invalid key `image`"), "{e}");
    assert!(
        e.contains("invalid value `pinned`") && e.contains("value: digest"),
        "{e}"
    );
}

#[test]
fn after_chains_must_end() {
    let p = with_updates(
        "    - {name: a, repo: org/d, path: a, type: kustomize-set-image, after: b}\n\
         \x20   - {name: b, repo: org/d, path: b, type: kustomize-set-image, after: a}\n",
    );
    let e = synth_fails(&p);
    assert!(e.contains("the `after` chain comes back"), "{e}");
}

#[test]
fn an_update_inside_a_watched_path_is_a_feedback_loop() {
    let p = with_updates(
        "    - repo: org/app\n      path: docker/Dockerfile\n      type: yaml-update\n      key: x\n",
    );
    let e = synth_fails(&p);
    assert!(e.contains("feedback loop"), "{e}");
    assert!(e.contains("images.yaml:11:"), "{e}");
    // The same path in another repository is fine.
    let p = with_updates(
        "    - repo: org/deploy\n      path: docker/Dockerfile\n      type: yaml-update\n      key: x\n",
    );
    p.synth_stdout();
}

#[test]
fn schema_describes_the_update_keys() {
    let p = Project::new();
    let r = p.run(&["schema", "images"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    for key in [
        "pullRequest",
        "autoPromote",
        "argocd",
        "jsonPath",
        "helm-update-image",
        "pinned",
        "soak",
        "after",
        "verify",
    ] {
        assert!(r.stdout.contains(key), "schema lacks {key}");
    }
}

// ---- The update Stages, evaluated as Kargo evaluates them ----

use crate::kargo_runtime::stage_env;
use crate::support::kargo_eval::{evaluate_template, Env};
use crate::support::{docs, of_kind};
use serde_json::{json, Value as Json};
use yaml_serde::Value;

/// A commit ID that Go's `ParseFloat` would read as a number (`123e4567`…):
/// it must still reach argocd-update as a string.
const NUMERIC_SHA: &str = "1234567e89012345678901234567890123456789";

/// What earlier steps hand on (`outputs`), as Kargo's step runners write it.
pub(crate) fn outputs(env: Env) -> Env {
    env.var(
        "outputs",
        json!({
            "clone": {},
            "current": {"value": "1.19"},
            "update": {"commitMessage": "Updated ./repo/x to use new image\n- ghcr.io/org/app:1.20"},
            "commit": {"commit": NUMERIC_SHA},
            "push": {"branch": "kargo/promotion/update-app-prod.01j", "commit": NUMERIC_SHA},
            "open-pr": {"pr": {"id": 42, "url": "https://github.com/org/deploy/pull/42", "open": true, "merged": false}},
            "wait-for-pr": {"pr": {"id": 42, "merged": true}, "commit": NUMERIC_SHA},
        }),
    )
}

/// Every string in `config` evaluated as Kargo does (with its re-typing).
fn evaluate(config: &Value, env: &Env) -> Json {
    match config {
        Value::String(s) => {
            evaluate_template(s, env).unwrap_or_else(|e| panic!("Kargo fails to evaluate {s}: {e}"))
        }
        Value::Sequence(items) => Json::Array(items.iter().map(|v| evaluate(v, env)).collect()),
        Value::Mapping(m) => Json::Object(
            m.iter()
                .map(|(k, v)| (k.as_str().unwrap().to_string(), evaluate(v, env)))
                .collect(),
        ),
        other => serde_json::to_value(other).unwrap(),
    }
}

/// Checks `config` against Kargo's schema for step `uses`
/// (`../shared/schemas/kargo-steps/<uses>-config.json`); the error if not.
fn schema_error(schemas: &std::path::Path, uses: &str, config: &Json) -> Option<String> {
    let out = std::process::Command::new("python3")
        .args([
            "-c",
            r#"
import json, sys, pathlib, jsonschema, referencing
d = pathlib.Path(sys.argv[1])
reg = referencing.Registry().with_resources(
    (p.name, referencing.Resource.from_contents(json.loads(p.read_text()), default_specification=referencing.jsonschema.DRAFT202012))
    for p in d.glob("*.json"))
schema = json.loads((d / (sys.argv[2] + "-config.json")).read_text())
v = jsonschema.Draft202012Validator(schema, registry=reg, format_checker=jsonschema.FormatChecker())
errs = [f"{list(e.absolute_path)}: {e.message}" for e in v.iter_errors(json.loads(sys.argv[3]))]
print("\n".join(errs)); sys.exit(1 if errs else 0)
"#,
        ])
        .arg(schemas)
        .arg(uses)
        .arg(config.to_string())
        .output()
        .unwrap();
    (!out.status.success()).then(|| {
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// Every update Stage in `all`, with each step's config evaluated as Kargo
/// would at promotion time (new build `1.20`).
fn evaluated_steps(all: &[Value]) -> Vec<(String, String, Json)> {
    let mut out = Vec::new();
    for stage in of_kind(all, "Stage") {
        if stage["metadata"]["labels"]["imgf/role"].as_str() != Some("update") {
            continue;
        }
        let env = outputs(stage_env(all, stage, Some("1.20")));
        let name = stage["metadata"]["name"].as_str().unwrap().to_string();
        for step in stage["spec"]["promotionTemplate"]["spec"]["steps"]
            .as_sequence()
            .unwrap()
        {
            let uses = step["uses"].as_str().unwrap().to_string();
            out.push((name.clone(), uses, evaluate(&step["config"], &env)));
        }
    }
    out
}

const ALL_KINDS: &str = "    - name: staging
      repo: org/deploy
      path: apps/app/overlays/staging
      type: kustomize-set-image
      argocd: {app: app-staging}
      verify:
        - http: {url: 'https://app.staging.example.org/healthz', jsonPath: '{$.status}', expect: ok}
        - job: {image: 'mcr.microsoft.com/playwright:v1.48.0', command: [npx, playwright, test],
                env: {BASE_URL: 'https://app.staging.example.org'}}
    - name: digest
      repo: org/deploy
      path: apps/app/overlays/pinned
      type: kustomize-set-image
      value: digest
      autoPromote: false
    - name: manifest
      repo: https://gitlab.example.com/group/deploy.git
      provider: gitlab
      branch: '1.0'
      path: manifests/app.yaml
      type: yaml-update
      key: spec.template.spec.containers.0.image
      value: pinned
    - name: prod
      repo: org/deploy
      path: charts/app/values-prod.yaml
      type: helm-update-image
      key: image.tag
      after: staging
      soak: 24h
      pullRequest: true
      argocd: {app: app-prod}
";

#[test]
fn every_step_config_survives_kargo_evaluation() {
    let p = with_updates(ALL_KINDS);
    let all = docs(&p.synth_stdout());
    let steps = evaluated_steps(&all);
    let uses: Vec<&str> = steps.iter().map(|(_, u, _)| u.as_str()).collect();
    for want in [
        "git-clone",
        "kustomize-set-image",
        "yaml-update",
        "git-commit",
        "git-push",
        "git-open-pr",
        "git-wait-for-pr",
        "argocd-update",
    ] {
        assert!(uses.contains(&want), "no {want} step in {uses:?}");
    }
    let find = |stage: &str, uses: &str| -> &Json {
        &steps
            .iter()
            .find(|(s, u, _)| s == stage && u == uses)
            .unwrap_or_else(|| panic!("{stage} has no {uses}"))
            .2
    };
    // Values stay strings, whatever they look like.
    assert_eq!(
        find("update-app-staging", "kustomize-set-image")["images"][0],
        json!({"image": "ghcr.io/org/app", "newName": "*", "tag": "1.20"})
    );
    assert_eq!(
        find("update-app-digest", "kustomize-set-image")["images"][0]["digest"],
        json!(crate::kargo_runtime::DIGEST)
    );
    assert_eq!(
        find("update-app-manifest", "yaml-update")["updates"][0]["value"],
        json!(format!(
            "ghcr.io/org/app:1.20@{}",
            crate::kargo_runtime::DIGEST
        ))
    );
    assert_eq!(
        find("update-app-prod", "yaml-update")["updates"][0],
        json!({"key": "image.tag", "value": "1.20"})
    );
    assert_eq!(
        find("update-app-manifest", "git-clone")["checkout"][0]["branch"],
        json!("1.0")
    );
    assert_eq!(
        find("update-app-prod", "git-wait-for-pr")["prNumber"],
        json!(42)
    );
    // No desiredRevision: the sync takes the branch's head (which holds the
    // pushed commit, whatever git-push rebased it onto).
    assert_eq!(
        find("update-app-prod", "argocd-update")["apps"][0]["sources"],
        json!([{"repoURL": "https://github.com/org/deploy.git"}])
    );
    let message = find("update-app-prod", "git-commit")["message"]
        .as_str()
        .unwrap();
    assert!(
        message.starts_with(
            "imgf: update ghcr.io/org/app from 1.19 to 1.20 in charts/app/values-prod.yaml\n\nUpdated "
        ),
        "{message}"
    );
    // The old value is read by a yaml-parse step that may fail (continueOnError).
    let prod = crate::support::stage_named(&all, "update-app-prod");
    let parse = &prod["spec"]["promotionTemplate"]["spec"]["steps"][1];
    assert_eq!(parse["uses"].as_str(), Some("yaml-parse"));
    assert_eq!(parse["continueOnError"].as_bool(), Some(true));
    assert_eq!(
        parse["config"]["outputs"][0]["fromExpression"].as_str(),
        Some(r#"string($env["image"]?.["tag"] ?? "(none)")"#)
    );
    let staging = crate::support::stage_named(&all, "update-app-staging");
    assert_eq!(
        staging["spec"]["promotionTemplate"]["spec"]["steps"][1]["config"]["outputs"][0]
            ["fromExpression"]
            .as_str(),
        Some(
            r#"string(first(filter($env["images"] ?? [], {#?.name == "ghcr.io/org/app"}))?.["newTag"] ?? "(none)")"#
        )
    );
    let template = prod["spec"]["promotionTemplate"]["spec"]["steps"][3]["config"]["message"]
        .as_str()
        .unwrap();
    let without = stage_env(&all, prod, Some("1.20"))
        .var("outputs", json!({"update": {"commitMessage": "x"}}));
    assert_eq!(
        evaluate_template(template, &without).unwrap(),
        json!("imgf: update ghcr.io/org/app from (unknown) to 1.20 in charts/app/values-prod.yaml\n\nx")
    );
}

/// Every step config of [`ALL_KINDS`], evaluated as Kargo evaluates it,
/// matches Kargo's schema for its step.
#[test]
#[cfg_attr(
    not(all(has_shared, has_python_deps)),
    ignore = "needs ../shared beside the repository, and python3 with pyyaml and jsonschema"
)]
fn every_step_config_matches_its_kargo_schema() {
    let Some(shared) = crate::support::shared("the step schemas cannot be checked") else {
        return;
    };
    if !crate::support::python_deps("checking step configs against Kargo's schemas") {
        return;
    }
    let p = with_updates(ALL_KINDS);
    let steps = evaluated_steps(&docs(&p.synth_stdout()));
    let schemas = shared.join("schemas/kargo-steps");
    let failures: Vec<String> = steps
        .iter()
        .filter_map(|(stage, uses, config)| {
            schema_error(&schemas, uses, config).map(|e| format!("{stage} {uses}: {e}\n{config}"))
        })
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // The check itself catches a wrong type.
    assert!(schema_error(
        &schemas,
        "git-wait-for-pr",
        &json!({"repoURL": "https://x.org/r", "prNumber": "42"})
    )
    .is_some());
}

#[test]
fn the_stages_chain_and_every_polling_step_has_a_timeout() {
    let p = with_updates(ALL_KINDS);
    let all = docs(&p.synth_stdout());
    let prod = crate::support::stage_named(&all, "update-app-prod");
    let req = &prod["spec"]["requestedFreight"][0];
    assert_eq!(req["origin"]["name"].as_str(), Some("app"));
    assert_eq!(
        req["sources"]["stages"][0].as_str(),
        Some("update-app-staging")
    );
    assert_eq!(req["sources"]["requiredSoakTime"].as_str(), Some("24h"));
    let staging = crate::support::stage_named(&all, "update-app-staging");
    assert_eq!(
        staging["spec"]["requestedFreight"][0]["sources"]["direct"].as_bool(),
        Some(true)
    );
    // The image Warehouse has no git subscription: commits never bump deployments.
    let wh = of_kind(&all, "Warehouse")
        .into_iter()
        .find(|w| w["metadata"]["name"].as_str() == Some("app"))
        .unwrap();
    for s in wh["spec"]["subscriptions"].as_sequence().unwrap() {
        assert!(s.get("git").is_none());
    }
    let digest = crate::support::stage_named(&all, "update-app-digest");
    assert!(digest["metadata"]["labels"]
        .get("imgf/auto-promote")
        .is_none());
    assert_eq!(
        staging["metadata"]["labels"]["imgf/auto-promote"].as_str(),
        Some("true")
    );
    for stage in of_kind(&all, "Stage") {
        for step in stage["spec"]["promotionTemplate"]["spec"]["steps"]
            .as_sequence()
            .unwrap()
        {
            let uses = step["uses"].as_str().unwrap();
            if ["git-wait-for-pr", "argocd-update", "http"].contains(&uses) {
                assert!(
                    step["retry"]["timeout"].as_str().is_some(),
                    "{uses} has no timeout"
                );
            }
        }
    }
}

#[test]
fn verified_updates_get_an_analysis_template_and_pass_on_only_verified_freight() {
    let p = with_updates(ALL_KINDS);
    let all = docs(&p.synth_stdout());
    let staging = crate::support::stage_named(&all, "update-app-staging");
    let v = &staging["spec"]["verification"];
    assert_eq!(
        v["analysisTemplates"][0]["name"].as_str(),
        Some("verify-app-staging")
    );
    let arg = v["args"][0]["value"].as_str().unwrap();
    assert_eq!(
        evaluate_template(arg, &stage_env(&all, staging, Some("1.20"))).unwrap(),
        json!("1.20"),
        "the tag reaches the AnalysisRun as a string"
    );
    let t = of_kind(&all, "AnalysisTemplate")
        .into_iter()
        .find(|t| t["metadata"]["name"].as_str() == Some("verify-app-staging"))
        .expect("a template for the verified update");
    assert_eq!(t["spec"]["args"][0]["name"].as_str(), Some("tag"));
    let health = &t["spec"]["metrics"][0];
    assert_eq!(
        health["provider"]["web"]["url"].as_str(),
        Some("https://app.staging.example.org/healthz")
    );
    assert_eq!(
        health["provider"]["web"]["jsonPath"].as_str(),
        Some("{$.status}")
    );
    assert_eq!(
        health["successCondition"].as_str(),
        Some("string(result) == \"ok\"")
    );
    assert!(health["count"].as_u64().is_some() && health["interval"].as_str().is_some());
    let e2e = &t["spec"]["metrics"][1]["provider"]["job"]["spec"];
    let c = &e2e["template"]["spec"]["containers"][0];
    assert_eq!(
        c["image"].as_str(),
        Some("mcr.microsoft.com/playwright:v1.48.0")
    );
    assert_eq!(c["command"][2].as_str(), Some("test"));
    assert_eq!(
        c["env"][0]["value"].as_str(),
        Some("https://app.staging.example.org")
    );
    assert_eq!(c["env"][1]["value"].as_str(), Some("{{args.tag}}"));
    assert_eq!(
        e2e["template"]["spec"]["restartPolicy"].as_str(),
        Some("Never")
    );
    // Unverified updates have no template and no verification.
    let digest = crate::support::stage_named(&all, "update-app-digest");
    assert!(digest["spec"].get("verification").is_none());
    // prod takes only Freight verified in staging.
    let prod = crate::support::stage_named(&all, "update-app-prod");
    assert_eq!(
        prod["spec"]["requestedFreight"][0]["sources"]["stages"][0].as_str(),
        Some("update-app-staging")
    );
    assert!(prod["spec"]["requestedFreight"][0]["sources"]
        .get("direct")
        .is_none());
}

fn bundled_example_steps() -> Vec<(String, String, Json)> {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/dist/image-factory.k8s.yaml"
    ))
    .unwrap();
    evaluated_steps(&docs(&text))
}

/// The bundled example has an update Stage for each of its update targets.
#[test]
fn the_bundled_example_has_its_update_stages() {
    let steps = bundled_example_steps();
    let stages: std::collections::BTreeSet<&str> =
        steps.iter().map(|(s, _, _)| s.as_str()).collect();
    assert_eq!(
        stages.into_iter().collect::<Vec<_>>(),
        [
            "update-api-prod",
            "update-api-staging",
            "update-postgres-db",
            "update-web-demo"
        ]
    );
}

/// The bundled example: every update Stage's step config, evaluated as
/// Kargo evaluates it, matches Kargo's schema for its step.
#[test]
#[cfg_attr(
    not(all(has_shared, has_python_deps)),
    ignore = "needs ../shared beside the repository, and python3 with pyyaml and jsonschema"
)]
fn the_bundled_example_update_steps_match_kargos_schemas() {
    let Some(shared) = crate::support::shared("the step schemas cannot be checked") else {
        return;
    };
    if !crate::support::python_deps("checking step configs against Kargo's schemas") {
        return;
    }
    let schemas = shared.join("schemas/kargo-steps");
    for (stage, uses, config) in &bundled_example_steps() {
        if let Some(e) = schema_error(&schemas, uses, config) {
            panic!("{stage} {uses}: {e}\n{config}");
        }
    }
}

#[test]
fn explain_shows_each_update_stage_its_chain_and_the_authorized_stage_list() {
    let p = with_updates(
        &(ALL_KINDS.to_string()
            + "    - {name: canary, repo: org/deploy, path: charts/app/values-canary.yaml, type: yaml-update, key: image.tag, argocd: {app: app-prod}}\n"),
    );
    let r = p.run(&["explain", "app"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let o = r.stdout;
    for want in [
        "Stage update-app-staging: kustomize-set-image apps/app/overlays/staging",
        "from Stage update-app-staging once verified there and there 1d without a break (the soak counts from its promotion there)",
        "open a pull request into main",
        "verified by AnalysisTemplate verify-app-staging (2 check(s))",
        "a person promotes each build (autoPromote false)",
        // Two Stages sync app-prod: both are listed, comma-separated.
        "argocd/app-prod: kargo.akuity.io/authorized-stage: \"image-factory:update-app-prod,image-factory:update-app-canary\"",
    ] {
        assert!(o.contains(want), "no `{want}` in:\n{o}");
    }
}

// ---- imgf updates check ----

/// The bundled example, with its deploy workspace, in a temporary directory.
fn example_workspace() -> Project {
    let p = Project::new();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    crate::support::copy_tree(&root.join("image-factory"), &p.dir());
    crate::support::copy_tree(&root.join("examples/deploy"), &p.path("deploy"));
    p
}

fn check(p: &Project) -> crate::support::Run {
    p.run(&["updates", "check", "--workspace", "deploy"])
}

#[test]
fn updates_check_passes_on_the_bundled_example() {
    let p = example_workspace();
    let r = check(&p);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout
            .contains("4 update target(s) checked: no errors, 3 warning(s)"),
        "{}",
        r.stdout
    );
    // Only the Flux markers (kept for `--target flux`) that Kargo drops.
    assert!(!r.stderr.contains("error:"), "{}", r.stderr);
    assert_eq!(
        r.stderr
            .matches("yaml-update drops the Flux setter marker")
            .count(),
        3,
        "{}",
        r.stderr
    );
}

#[test]
fn updates_check_breaks_each_target_once() {
    let cases: [(&str, &str, &str, &str); 9] = [
        // (file, new content or "" to delete, expected message, expected file:line)
        ("apps/api/overlays/staging/kustomization.yaml", "", "update-api-staging: no kustomization in apps/api/overlays/staging", ""),
        (
            "apps/api/overlays/staging/kustomization.yaml",
            "resources:\n  - ../../base\nimages:\n  - name: api\n    newTag: '1.4.1'\n",
            "the kustomization names api `api`, but kustomize-set-image sets the entry named `ghcr.io/example-org/api`",
            "kustomization.yaml:4:",
        ),
        (
            "apps/api/overlays/staging/kustomization.yaml",
            "resources:\n  - ../../base\n",
            "the kustomization has no `images:` entry for `ghcr.io/example-org/api`",
            "kustomization.yaml",
        ),
        (
            "charts/api/values-prod.yaml",
            "image:\n  repository: x\nreplicas: 3\n",
            "update-api-prod: key `image.tag` does not exist: `image` has no `tag` (yaml-update cannot create keys)",
            "values-prod.yaml:1:",
        ),
        (
            "charts/api/values-prod.yaml",
            "image:\n  tag:\n    name: x\n",
            "key `image.tag` is a mapping, not a scalar",
            "values-prod.yaml:2:",
        ),
        (
            "charts/api/values-prod.yaml",
            "image:\n  tag: [1\n",
            "values-prod.yaml",
            "values-prod.yaml:",
        ),
        (
            "manifests/web/deployment.yaml",
            "spec:\n  template:\n    spec:\n      containers:\n        - image: {{ .Values.image }}\n",
            "update-web-demo: the target is a Helm template, not YAML",
            "deployment.yaml:5:",
        ),
        (
            "argocd/api-prod.yaml",
            "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: api-prod\n  namespace: argocd\n  annotations:\n    kargo.akuity.io/authorized-stage: image-factory:update-api-staging\n",
            "Argo CD Application `api-prod`: `kargo.akuity.io/authorized-stage` does not list image-factory:update-api-prod",
            "api-prod.yaml:7:",
        ),
        (
            "argocd/api-staging.yaml",
            "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: api-staging\n  namespace: argocd\n  annotations:\n    kargo.akuity.io/authorized-stage: image-factory:*\n",
            "holds a glob, which Kargo 1.11 rejects",
            "api-staging.yaml:7:",
        ),
    ];
    for (file, content, message, at) in cases {
        let p = example_workspace();
        let path = p.path("deploy").join(file);
        if content.is_empty() {
            std::fs::remove_file(&path).unwrap();
        } else {
            std::fs::write(&path, content).unwrap();
        }
        let r = check(&p);
        assert_eq!(r.code, 1, "{file} broken, yet:\n{}{}", r.stdout, r.stderr);
        assert!(
            r.stderr.contains(message),
            "{file}: no `{message}` in:\n{}",
            r.stderr
        );
        assert!(r.stderr.contains(at), "{file}: no `{at}` in:\n{}", r.stderr);
    }
}

/// yaml-update resolves a key by the YAML structure (`findScalarNode`) and
/// rewrites the value's line from the value's column to its end: each
/// fixture breaks one rule once, with the message, the place and the fix.
#[test]
fn updates_check_walks_keys_and_lines_as_yaml_update_does() {
    const DEPLOY: &str = "manifests/web/deployment.yaml"; // key spec.template.spec.containers.0.image
    const VALUES: &str = "charts/api/values-prod.yaml"; // key image.tag
    let head = "spec:\n  template:\n    spec:\n      containers:\n";
    let cases: Vec<(&str, String, i32, &str, &str, &str)> = vec![
        // (file, content, exit code, message, file:line:column, help)
        // 1. Structure: a list index is an index, nesting is nesting.
        (
            DEPLOY,
            format!("{head}        - name: side\n        - name: web\n          image: x:1\n"),
            1,
            "key `spec.template.spec.containers.0.image` does not exist: `spec.template.spec.containers.0` has no `image`",
            "deployment.yaml:5:",
            "has name;",
        ),
        (
            DEPLOY,
            format!("{head}        []\n"),
            1,
            "`spec.template.spec.containers` has 0 item(s), so index 0 is out of range",
            "deployment.yaml:4:",
            "is empty",
        ),
        (
            VALUES,
            "sidecar:\n  image:\n    tag: \"1\"\nimage:\n  repository: x\n".into(),
            1,
            "key `image.tag` does not exist: `image` has no `tag`",
            "values-prod.yaml:4:1",
            "`image` has repository",
        ),
        // 2. A file that does not parse, with its line.
        (
            VALUES,
            "image:\n  tag: \"1\"\n  x: [1\n".into(),
            1,
            "values-prod.yaml",
            "values-prod.yaml:3:",
            "",
        ),
        // 4. A trailing comment is dropped: a warning, with the fix.
        (
            VALUES,
            "image:\n  tag: \"1.4.1\" # pinned by ops\n".into(),
            0,
            "warning: update-api-prod: yaml-update drops the comment `# pinned by ops` after the value of key `image.tag` on line 2",
            "values-prod.yaml:2:16",
            "move the comment to the line above",
        ),
        // 4. A flow mapping loses its `}`: an error, with the block style.
        (
            VALUES,
            "image: {repository: x, tag: \"1.4.1\"}\n".into(),
            1,
            "the value of key `image.tag` is inside a flow mapping (`{…}`) on line 1: yaml-update rewrites from the value to the end of the line, which drops `}` and breaks the file",
            "values-prod.yaml:1:36",
            "image:\n    repository: x\n    tag: \"1.4.1\"",
        ),
        (
            DEPLOY,
            format!("{head}        - {{name: web, image: \"x:1\"}}\n"),
            1,
            "is inside a flow mapping (`{…}`) on line 5",
            "deployment.yaml:5:",
            "- name: web\n            image: \"x:1\"",
        ),
        // 4. Multi-line values keep their other lines.
        (
            VALUES,
            "image:\n  tag: >-\n    1.4.1\n".into(),
            1,
            "the value of key `image.tag` is a block scalar (`|` or `>`) on lines 2–3",
            "values-prod.yaml:2:8",
            "write the value on one line (`tag: <the value deployed now>`)",
        ),
        (
            DEPLOY,
            format!("{head}        - image: \"x:1\n            \"\n"),
            1,
            "is written over lines 5–6",
            "deployment.yaml:5:18",
            "write the value on one line",
        ),
    ];
    for (file, content, code, message, at, help) in cases {
        let p = example_workspace();
        std::fs::write(p.path("deploy").join(file), &content).unwrap();
        let r = check(&p);
        let shown = format!("{content}\n---\n{}{}", r.stdout, r.stderr);
        assert_eq!(r.code, code, "{shown}");
        assert!(r.stderr.contains(message), "no `{message}` in:\n{shown}");
        assert!(r.stderr.contains(at), "no `{at}` in:\n{shown}");
        assert!(r.stderr.contains(help), "no `{help}` in:\n{shown}");
    }
}

/// No value a user writes in `updates:` can become Kargo or Rollouts syntax:
/// each is refused with a reason before anything is built.
#[test]
fn hostile_update_values_are_refused() {
    for (entry, key) in [
        ("repo: 'org/d\"}}'", "repo"),
        ("branch: 'main}}${{ secret(\"x\") }}'", "branch"),
        ("path: 'a/${{ x }}.yaml'", "path"),
        ("key: 'image.tag}}'", "key"),
        ("verify: [{http: {url: 'https://x.org/{{args.x}}'}}]", "url"),
        (
            "verify: [{http: {url: 'https://x.org/h', jsonPath: '{$.a}', expect: 'ok\" || true'}}]",
            "expect",
        ),
        (
            "verify: [{job: {image: 'x:1', command: ['{{args.tag}}']}}]",
            "command",
        ),
        ("verify: [{job: {image: 'x:1', env: {A: 'a\\nb'}}}]", "env"),
        ("argocd: {app: 'App Prod'}", "app"),
    ] {
        let base = [
            ("name", "u"),
            ("repo", "org/deploy"),
            ("path", "v.yaml"),
            ("type", "yaml-update"),
            ("key", "image.tag"),
        ];
        let field = entry.split(':').next().unwrap();
        let mut yaml = String::from("    -");
        for (k, v) in base.iter().filter(|(k, _)| *k != field) {
            let _ = write!(yaml, " {k}: {v}\n     ");
        }
        let _ = writeln!(yaml, " {entry}");
        let p = with_updates(&yaml);
        let r = p.run(&["synth", "--output", "-"]);
        assert_eq!(r.code, 2, "{entry} accepted:\n{}", r.stdout);
        assert!(
            r.stderr.contains(&format!("invalid {key} ")),
            "{entry}: {}",
            r.stderr
        );
    }
}

/// Without --workspace, each target repository is fetched (shallow and
/// sparse). Here `https://github.com/example-org/` is redirected to a local
/// repository through git's own `url.<base>.insteadOf`.
#[test]
fn updates_check_fetches_the_targets_without_a_workspace() {
    let p = example_workspace();
    let remotes = p.path("remotes");
    let repo = remotes.join("deploy.git");
    crate::support::copy_tree(&p.path("deploy"), &repo);
    let git = |args: &[&str]| {
        crate::support::git_in(&repo, args);
    };
    git(&["init", "-q", "-b", "main"]);
    git(&["add", "-A"]);
    git(&["commit", "-qm", "deploy"]);
    let run = || {
        crate::support::imgf()
            .args(["updates", "check"])
            .current_dir(p.root.path())
            .env_remove("GITHUB_TOKEN")
            .env_remove("GITLAB_TOKEN")
            .env("GIT_CONFIG_COUNT", "1")
            .env(
                "GIT_CONFIG_KEY_0",
                format!("url.file://{}/.insteadOf", remotes.display()),
            )
            .env("GIT_CONFIG_VALUE_0", "https://github.com/example-org/")
            .output()
            .unwrap()
    };
    let o = run();
    let (out, err) = (
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr),
    );
    assert_eq!(o.status.code(), Some(0), "{out}{err}");
    assert!(
        out.contains("4 update target(s) checked: no errors, 3 warning(s)"),
        "{out}"
    );
    // A broken target upstream is found the same way.
    std::fs::write(repo.join("charts/api/values-prod.yaml"), "image: {}\n").unwrap();
    git(&["commit", "-qam", "break"]);
    let o = run();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("key `image.tag` does not exist"), "{err}");
}

#[test]
fn updates_check_finds_the_kustomization_as_kargo_does() {
    let p = example_workspace();
    let dir = p.path("deploy/apps/api/overlays/staging");
    std::fs::copy(
        dir.join("kustomization.yaml"),
        dir.join("kustomization.yml"),
    )
    .unwrap();
    let r = check(&p);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains(
            "holds more than one kustomization file (kustomization.yaml, kustomization.yml)"
        ),
        "{}",
        r.stderr
    );
    #[cfg(unix)]
    {
        std::fs::remove_file(dir.join("kustomization.yml")).unwrap();
        std::fs::rename(dir.join("kustomization.yaml"), dir.join("real.yaml")).unwrap();
        std::os::unix::fs::symlink("real.yaml", dir.join("kustomization.yaml")).unwrap();
        let r = check(&p);
        assert_eq!(r.code, 1);
        assert!(
            r.stderr
                .contains("is a link; Kargo reads only a regular file"),
            "{}",
            r.stderr
        );
    }
}

// ---- imgf updates check --format json ----

/// Exit code, stdout and stderr as one text for a snapshot.
fn transcript(r: &crate::support::Run) -> String {
    format!(
        "exit code: {}\n----- stdout -----\n{}----- stderr -----\n{}",
        r.code, r.stdout, r.stderr
    )
}

fn check_json(p: &Project, extra: &[&str]) -> (crate::support::Run, Json) {
    let mut args = vec![
        "updates",
        "check",
        "--workspace",
        "deploy",
        "--format",
        "json",
    ];
    args.extend_from_slice(extra);
    let r = p.run(&args);
    let v = serde_json::from_str(&r.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}):\n{}{}", r.stdout, r.stderr));
    (r, v)
}

#[test]
fn updates_check_json_lists_every_target_of_the_bundled_example() {
    let p = example_workspace();
    let (r, v) = check_json(&p, &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(v["ok"], true);
    assert_eq!(v["target"], "kargo");
    assert_eq!(
        v["summary"],
        json!({"targets": 4, "checked": 4, "notChecked": 0, "applications": 2, "problems": 3})
    );
    let targets = v["targets"].as_array().unwrap();
    let stages: Vec<&str> = targets
        .iter()
        .map(|t| t["stage"].as_str().unwrap())
        .collect();
    assert_eq!(
        stages,
        [
            "update-api-staging",
            "update-api-prod",
            "update-web-demo",
            "update-postgres-db"
        ]
    );
    for t in targets {
        assert_eq!(t["status"], "ok", "{t}");
        assert!(t["file"].as_str().unwrap().starts_with("deploy/"), "{t}");
        // The example's yaml-update lines end in a Flux marker (for
        // `--target flux`), which Kargo drops: a warning, not a failure.
        let problems = t["problems"].as_array().unwrap();
        if t["kind"] == "yaml-update" {
            assert_eq!(problems.len(), 1, "{t}");
            assert_eq!(problems[0]["severity"], "warning", "{t}");
            assert!(
                problems[0]["message"]
                    .as_str()
                    .unwrap()
                    .contains("yaml-update drops the Flux setter marker"),
                "{t}"
            );
        } else {
            assert!(problems.is_empty(), "{t}");
        }
    }
    assert_eq!(targets[0]["kind"], "kustomize-set-image");
    assert_eq!(
        targets[0]["file"],
        "deploy/apps/api/overlays/staging/kustomization.yaml"
    );
    assert_eq!(targets[1]["kind"], "yaml-update");
    assert_eq!(targets[1]["key"], "image.tag");
    assert_eq!(
        v["applications"][0]["authorizedStages"],
        json!(["image-factory:update-api-prod"])
    );
    assert_eq!(v["errors"], json!([]));
    insta::assert_snapshot!("updates_check_json_example", transcript(&r));

    // The text stays the default, and says the same.
    let r = check(&p);
    assert_eq!(
        r.stdout,
        "4 update target(s) checked: no errors, 3 warning(s)\n"
    );
}

#[test]
fn updates_check_json_puts_each_problem_under_its_target() {
    let p = example_workspace();
    std::fs::write(
        p.path("deploy/charts/api/values-prod.yaml"),
        "image:\n  repository: x\nreplicas: 3\n",
    )
    .unwrap();
    std::fs::remove_file(p.path("deploy/manifests/web/deployment.yaml")).unwrap();
    std::fs::write(
        p.path("deploy/argocd/api-staging.yaml"),
        "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: api-staging\n  namespace: argocd\n  annotations:\n    kargo.akuity.io/authorized-stage: image-factory:*\n",
    )
    .unwrap();
    let (r, v) = check_json(&p, &[]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert_eq!(v["ok"], false);
    assert_eq!(
        v["summary"],
        json!({"targets": 4, "checked": 4, "notChecked": 0, "applications": 2, "problems": 5})
    );
    let t = &v["targets"];
    assert_eq!(t[0]["status"], "ok");
    assert_eq!(t[1]["status"], "problem");
    let p1 = &t[1]["problems"][0];
    assert_eq!(p1["severity"], "error");
    assert!(
        p1["message"]
            .as_str()
            .unwrap()
            .contains("key `image.tag` does not exist"),
        "{p1}"
    );
    assert_eq!(p1["file"], "deploy/charts/api/values-prod.yaml");
    assert_eq!(
        (p1["line"].as_u64(), p1["column"].as_u64()),
        (Some(1), Some(1))
    );
    assert!(p1["help"].is_string(), "{p1}");
    // A file that cannot be read: the target has no file, the problem no position.
    assert_eq!(t[2]["status"], "problem");
    assert_eq!(t[2]["file"], Json::Null);
    assert_eq!(t[2]["problems"][0]["line"], Json::Null);
    let apps = &v["applications"];
    assert_eq!(apps[0]["status"], "ok");
    assert_eq!(apps[1]["name"], "api-staging");
    assert_eq!(apps[1]["status"], "problem");
    assert_eq!(apps[1]["problems"][0]["line"], 7);
    // `errors` lists them all, in order, as every `--format json` does.
    let all: Vec<&Json> = t
        .as_array()
        .unwrap()
        .iter()
        .chain(apps.as_array().unwrap())
        .flat_map(|x| x["problems"].as_array().unwrap())
        .collect();
    assert_eq!(
        v["errors"].as_array().unwrap().iter().collect::<Vec<_>>(),
        all
    );
    // The text still goes to stderr.
    assert!(
        r.stderr.contains("error: update-api-prod: key `image.tag`"),
        "{}",
        r.stderr
    );
    // The OS's message for a missing file differs between systems.
    let r = crate::support::Run {
        stdout: r
            .stdout
            .replace("No such file or directory (os error 2)", "[ENOENT]"),
        stderr: r
            .stderr
            .replace("No such file or directory (os error 2)", "[ENOENT]"),
        ..r
    };
    insta::assert_snapshot!("updates_check_json_problems", transcript(&r));
}

#[test]
fn updates_check_json_for_flux_has_no_stages() {
    let p = example_workspace();
    let (r, v) = check_json(&p, &["--target", "flux"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(v["target"], "flux");
    assert_eq!(v["ok"], true);
    assert!(v["targets"].as_array().unwrap().len() >= 3, "{v}");
    assert!(v["targets"]
        .as_array()
        .unwrap()
        .iter()
        .all(|t| t["stage"].is_null() && t["status"] == "ok"));
    // Flux reads no Argo CD Applications.
    assert_eq!(v["applications"], json!([]));

    // A marker missing: the problem is under its target.
    let values = p.path("deploy/charts/api/values-prod.yaml");
    let text = std::fs::read_to_string(&values).unwrap();
    let unmarked: String = text
        .lines()
        .map(|l| l.split(" # {\"$imagepolicy\"").next().unwrap())
        .collect::<Vec<_>>()
        .join("\n");
    std::fs::write(&values, unmarked + "\n").unwrap();
    let (r, v) = check_json(&p, &["--target", "flux"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    let broken: Vec<&Json> = v["targets"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["status"] == "problem")
        .collect();
    assert_eq!(broken.len(), 1, "{v}");
    assert_eq!(broken[0]["path"], "charts/api/values-prod.yaml");
    assert!(broken[0]["problems"][0]["help"]
        .as_str()
        .unwrap()
        .contains("$imagepolicy"));
}

#[test]
fn updates_check_json_errors_before_checking_are_json_too() {
    let p = example_workspace();
    p.file(
        "images.yaml",
        "- name: a\n  registry: ghcr.io\n  repository: org/a\n  colour: blue\n",
    );
    let (r, v) = check_json(&p, &[]);
    assert_eq!(r.code, 2);
    let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["errors"], "{v}");
    let e = &v["errors"][0];
    assert_eq!(e["file"], "image-factory/images.yaml");
    assert_eq!(e["line"], 4);
    assert!(r.stderr.contains("colour"), "{}", r.stderr);
    // Text: nothing on stdout.
    let r = check(&p);
    assert_eq!((r.code, r.stdout.as_str()), (2, ""));
}

// ---- updates check: Argo CD Applications, workspaces, exit codes ----

/// The bundled example's `api-staging` Application with `spec.source`
/// replaced by `source` (YAML, indented under `source:`).
fn staging_app(source: &str) -> String {
    format!(
        "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: api-staging\n  namespace: argocd\n  annotations:\n    kargo.akuity.io/authorized-stage: image-factory:update-api-staging\nspec:\n  project: default\n  source:\n{source}  destination:\n    server: https://kubernetes.default.svc\n    namespace: api-staging\n"
    )
}

/// Each rule of an Application's source broken once: what Kargo's
/// argocd-update (Kargo v1.11.2) or the sync would do with it.
#[test]
fn updates_check_compares_each_application_source_with_its_update() {
    const URL: &str = "    repoURL: https://github.com/example-org/deploy.git\n";
    let cases: [(&str, u8, &str); 9] = [
        // Kargo normalises before comparing (urls.NormalizeGit): fine.
        (
            "    repoURL: HTTPS://GitHub.com/example-org/deploy/\n    targetRevision: refs/heads/main\n    path: ./apps/api/overlays/staging/\n",
            0,
            "",
        ),
        // Another repository: argocd-update fails, "no source … matched".
        (
            "    repoURL: https://github.com/example-org/other.git\n    targetRevision: main\n    path: apps/api/overlays/staging\n",
            1,
            "has no source in https://github.com/example-org/deploy.git (its sources: `https://github.com/example-org/other.git`)",
        ),
        // A Helm chart source never takes a git update.
        (
            "    repoURL: https://github.com/example-org/deploy.git\n    chart: api\n    targetRevision: 1.0.0\n",
            1,
            "its sources: chart `api`",
        ),
        // Another branch, a fixed commit: the sync deploys nothing new.
        (
            &format!("{URL}    targetRevision: release\n    path: apps/api/overlays/staging\n"),
            1,
            "syncs `release` (targetRevision), but the update pushes to `main`",
        ),
        (
            &format!("{URL}    targetRevision: 0123456789abcdef0123456789abcdef01234567\n    path: apps/api/overlays/staging\n"),
            1,
            "syncs the fixed commit `0123456789abcdef0123456789abcdef01234567`",
        ),
        // HEAD: right only if main is the default branch — a warning here,
        // where the workspace is no git checkout.
        (
            &format!("{URL}    path: apps/api/overlays/staging\n"),
            0,
            "warning: update-api-staging: Argo CD Application `api-staging` syncs `HEAD`",
        ),
        // A kustomization that does not include the updated one.
        (
            &format!("{URL}    targetRevision: main\n    path: apps/api/base\n"),
            1,
            "deploys `apps/api/base`, whose kustomization does not include the kustomization `apps/api/overlays/staging`",
        ),
        // A path that does not exist.
        (
            &format!("{URL}    targetRevision: main\n    path: apps/api/overlays/stagin\n"),
            1,
            "deploys `apps/api/overlays/stagin`, which does not exist",
        ),
        // A directory of plain manifests: no kustomize build.
        (
            &format!("{URL}    targetRevision: main\n    path: manifests/web\n"),
            1,
            "a directory of plain manifests (no kustomization)",
        ),
    ];
    for (source, code, message) in cases {
        let p = example_workspace();
        std::fs::write(
            p.path("deploy/argocd/api-staging.yaml"),
            staging_app(source),
        )
        .unwrap();
        let r = check(&p);
        assert_eq!(
            r.code,
            i32::from(code),
            "{source}:\n{}{}",
            r.stdout,
            r.stderr
        );
        assert!(
            r.stderr.contains(message),
            "{source}: no `{message}` in:\n{}",
            r.stderr
        );
        if code == 1 {
            assert!(r.stderr.contains("api-staging.yaml:"), "{}", r.stderr);
        }
    }
    // The overlay's base is deployed through it: an update writing the
    // base is fine when the Application deploys the overlay.
    let p = example_workspace();
    p.file(
        "images.yaml",
        &std::fs::read_to_string(p.path("image-factory/images.yaml"))
            .unwrap()
            .replace("path: apps/api/overlays/staging", "path: apps/api/base"),
    );
    std::fs::write(
        p.path("deploy/apps/api/base/kustomization.yaml"),
        "resources:\n  - deployment.yaml\nimages:\n  - name: ghcr.io/example-org/api\n    newTag: '1.4.1'\n",
    )
    .unwrap();
    let r = check(&p);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    // A values file the Helm source does not list is probably not read.
    let p = example_workspace();
    let prod = p.path("deploy/argocd/api-prod.yaml");
    let text = std::fs::read_to_string(&prod).unwrap();
    std::fs::write(
        &prod,
        text.replace(
            "valueFiles: [values-prod.yaml]",
            "valueFiles: [values.yaml]",
        ),
    )
    .unwrap();
    let r = check(&p);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr.contains("warning: update-api-prod: Argo CD Application `api-prod` renders the Helm chart `charts/api` with `charts/api/values.yaml`, not `charts/api/values-prod.yaml`"),
        "{}",
        r.stderr
    );
}

/// `kargo.akuity.io/authorized-stage` is read as Kargo's
/// `api.AuthorizedStages` reads it: one malformed entry rejects the whole
/// value; spaces around entries and `:` are fine.
#[test]
fn updates_check_reads_the_authorized_stage_annotation_as_kargo_does() {
    for (value, code, message) in [
        (" image-factory : update-api-staging , ", 0, ""),
        ("image-factory:update-api-staging,image-factory:other", 0, ""),
        (
            "image-factory:update-api-staging,bogus",
            1,
            "is malformed (invalid authorized Stage \"bogus\": expected format \"<project>:<stage>\"); Kargo then rejects the whole annotation",
        ),
        (
            "image-factory:update-api-staging,:x",
            1,
            "is malformed",
        ),
        (", ,", 1, "no authorized Stages found"),
        (
            "image-factory:update-api-staging,image-factory:*",
            1,
            "holds a glob, which Kargo 1.11 rejects",
        ),
        ("other:update-api-staging", 1, "does not list image-factory:update-api-staging"),
    ] {
        let p = example_workspace();
        let file = p.path("deploy/argocd/api-staging.yaml");
        let text = std::fs::read_to_string(&file).unwrap().replace(
            "authorized-stage: image-factory:update-api-staging",
            &format!("authorized-stage: \"{value}\""),
        );
        std::fs::write(&file, text).unwrap();
        let r = check(&p);
        assert_eq!(r.code, code, "{value:?}:\n{}", r.stderr);
        assert!(r.stderr.contains(message), "{value:?}: no `{message}` in:\n{}", r.stderr);
    }
}

/// The example's deploy directory as a git checkout of `origin` on `branch`.
fn git_workspace(p: &Project, origin: &str, branch: &str) {
    let ws = p.path("deploy");
    git_in(&ws, &["init", "-q", "-b", branch]);
    git_in(&ws, &["add", "-A"]);
    git_in(&ws, &["commit", "-qm", "deploy"]);
    git_in(&ws, &["remote", "add", "origin", origin]);
}

/// `updates check` with git's URLs for github.com/example-org redirected to
/// `remotes` (nothing there unless a test puts it there: fetching fails).
fn check_offline(p: &Project, args: &[&str]) -> crate::support::Run {
    let remotes = p.path("remotes");
    let mut all = vec!["updates", "check"];
    all.extend_from_slice(args);
    p.run_env(
        &all,
        &[
            ("GIT_CONFIG_GLOBAL", "/dev/null"),
            ("GITHUB_TOKEN", ""),
            ("GIT_CONFIG_COUNT", "1"),
            (
                "GIT_CONFIG_KEY_0",
                &format!("url.file://{}/.insteadOf", remotes.display()),
            ),
            ("GIT_CONFIG_VALUE_0", "https://github.com/example-org/"),
        ],
    )
}

/// A workspace stands for the repository and branch it is a checkout of;
/// targets elsewhere are fetched, and when that fails they are not
/// checked: never "no problems", exit 2.
#[test]
fn a_workspace_checks_only_its_own_repository_and_branch() {
    // A checkout of the targets' repository (SSH remote, same repository)
    // on their branch: read locally — a local break is found.
    let p = example_workspace();
    git_workspace(&p, "git@github.com:Example-Org/deploy.git", "main");
    std::fs::write(p.path("deploy/charts/api/values-prod.yaml"), "image: {}\n").unwrap();
    let r = check_offline(&p, &["--workspace", "deploy", "--format", "json"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    let v: Json = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(
        v["workspaces"],
        json!([{"dir": "deploy", "repository": "git@github.com:Example-Org/deploy.git", "branch": "main", "from": "git"}])
    );
    assert_eq!(v["summary"]["checked"], 4);
    assert!(
        r.stderr.contains("key `image.tag` does not exist"),
        "{}",
        r.stderr
    );

    // The same checkout on another branch: its targets are fetched, which
    // fails here — not checked, exit 2, and the summary says so.
    let p = example_workspace();
    git_workspace(&p, "https://github.com/example-org/deploy.git", "feature");
    let r = check_offline(&p, &["--workspace", "deploy"]);
    assert_eq!(r.code, 2, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stderr.contains("a checkout of https://github.com/example-org/deploy.git@feature, but the targets in that repository are on main"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr
            .contains("not checked: cannot fetch https://github.com/example-org/deploy.git@main"),
        "{}",
        r.stderr
    );
    assert_eq!(
        r.stdout,
        "0 of 4 update target(s) checked, 4 not checked (see above)\n"
    );
    assert!(!r.stdout.contains("no problems"));
    let r = check_offline(&p, &["--workspace", "deploy", "--format", "json"]);
    assert_eq!(r.code, 2);
    let v: Json = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["ok"], false);
    assert_eq!(v["summary"]["notChecked"], 4);
    assert_eq!(v["targets"][0]["status"], "notChecked");

    // ... and when the branch can be fetched, it is checked from there.
    let remote = p.path("remotes/deploy.git");
    crate::support::copy_tree(&p.path("deploy"), &remote);
    std::fs::remove_dir_all(remote.join(".git")).unwrap();
    git_in(&remote, &["init", "-q", "-b", "main"]);
    git_in(&remote, &["add", "-A"]);
    git_in(&remote, &["commit", "-qm", "deploy"]);
    let r = check_offline(&p, &["--workspace", "deploy"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    // The three markers Kargo's rewrite would drop, and the checkout's branch.
    assert_eq!(
        r.stdout,
        "4 update target(s) checked: no errors, 4 warning(s)\n"
    );

    // A checkout of another repository: the same.
    let p = example_workspace();
    git_workspace(&p, "https://github.com/example-org/other.git", "main");
    let r = check_offline(&p, &["--workspace", "deploy"]);
    assert_eq!(r.code, 2, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("4 not checked"), "{}", r.stdout);

    // ... unless it is named: REPO=DIR, as images.yaml writes it or a URL.
    for named in [
        "example-org/deploy=deploy",
        "https://github.com/example-org/deploy=deploy",
    ] {
        let r = check_offline(&p, &["--workspace", named]);
        assert_eq!(r.code, 0, "{named}: {}{}", r.stdout, r.stderr);
    }
}

/// A directory that is not a git checkout (the bundled example) stands for
/// the one repository every target names; with targets in two
/// repositories, it must be named.
#[test]
fn a_plain_directory_workspace_needs_one_repository_or_a_name() {
    let p = example_workspace();
    let images = std::fs::read_to_string(p.path("image-factory/images.yaml")).unwrap();
    p.file(
        "images.yaml",
        &images.replacen(
            "repo: example-org/deploy\n      path: manifests/web/deployment.yaml",
            "repo: example-org/web-deploy\n      path: manifests/web/deployment.yaml",
            1,
        ),
    );
    let r = check_offline(&p, &["--workspace", "deploy"]);
    assert_eq!(r.code, 2, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stderr
            .contains("`deploy` is not a git checkout, and the targets are in 2 repositories"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("--workspace REPO=deploy"), "{}", r.stderr);
    // Named: its targets are read there, the other repository's fetched
    // (here it cannot be: not checked, exit 2).
    let r = check_offline(&p, &["--workspace", "example-org/deploy=deploy"]);
    assert_eq!(r.code, 2, "{}{}", r.stdout, r.stderr);
    assert_eq!(
        r.stdout,
        "3 of 4 update target(s) checked, 1 not checked (see above)\n"
    );
    // Both named: all checked.
    let r = check_offline(
        &p,
        &[
            "--workspace",
            "example-org/deploy=deploy",
            "--workspace",
            "example-org/web-deploy=deploy",
        ],
    );
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    // A directory that does not exist is bad input.
    let r = check_offline(&p, &["--workspace", "nowhere"]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("`nowhere` is not a directory"),
        "{}",
        r.stderr
    );
}

/// Exit codes as ripgrep and uv: 0 fine, 1 problems, 2 could not run.
#[test]
fn updates_check_exit_codes_are_0_1_2() {
    let p = example_workspace();
    assert_eq!(check(&p).code, 0);
    std::fs::write(p.path("deploy/charts/api/values-prod.yaml"), "image: {}\n").unwrap();
    let r = check(&p);
    assert_eq!(r.code, 1);
    assert_eq!(r.stdout, "4 update target(s) checked: 1 problem(s) found\n");
    let r = p.run(&[
        "updates",
        "check",
        "--workspace",
        "deploy",
        "--dir",
        "missing",
    ]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    let help = p.run(&["updates", "check", "--help"]).stdout;
    assert!(help.contains("1: problems found"), "{help}");
}

#[test]
fn updates_check_refuses_the_backstage_target() {
    let p = example_workspace();
    let r = p.run(&[
        "updates",
        "check",
        "--target",
        "backstage",
        "--workspace",
        "deploy",
    ]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr
            .contains("the Backstage catalog has no update targets to check"),
        "{}",
        r.stderr
    );
    let (r, v) = check_json(&p, &["--target", "backstage"]);
    assert_eq!(r.code, 2);
    assert!(v["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("backstage"));
}

/// What a check could pass without having looked is said, not passed.
#[test]
fn a_check_says_what_it_did_not_look_at() {
    // An Application in a later document of its file is found, with its lines.
    let p = example_workspace();
    let app = std::fs::read_to_string(p.path("deploy/argocd/api-prod.yaml")).unwrap();
    std::fs::write(
        p.path("deploy/argocd/api-prod.yaml"),
        format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: x}}\n---\n{}",
            app.replace("image-factory:update-api-prod", "image-factory:nope")
        ),
    )
    .unwrap();
    let r = check(&p);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("does not list image-factory:update-api-prod")
            && r.stderr.contains("deploy/argocd/api-prod.yaml:12:"),
        "{}",
        r.stderr
    );
    // An Application no workspace holds is said to be unchecked.
    std::fs::remove_file(p.path("deploy/argocd/api-prod.yaml")).unwrap();
    let r = check(&p);
    assert!(
        r.stderr.contains(
            "Argo CD Application argocd/api-prod, which update Stages sync, is in no workspace"
        ),
        "{}",
        r.stderr
    );
    // A workspace that stands for no target's repository is said to read nothing;
    // `host/org/name` names a repository as `org/name` does.
    let p = example_workspace();
    let r = p.run(&[
        "updates",
        "check",
        "--workspace",
        "example-org/other=deploy",
    ]);
    assert!(
        r.stderr
            .contains("which no update target names: no target is read there"),
        "{}",
        r.stderr
    );
    let r = p.run(&[
        "updates",
        "check",
        "--workspace",
        "github.com/example-org/deploy=deploy",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        !r.stderr.contains("no target is read there"),
        "{}",
        r.stderr
    );
    // An anchor on the value: Kargo rewrites from the `&` and drops it.
    let p = example_workspace();
    std::fs::write(
        p.path("deploy/charts/api/values-prod.yaml"),
        "image:\n  repository: ghcr.io/example-org/api\n  tag: &t \"1.4.1\"\nother: *t\n",
    )
    .unwrap();
    let r = check(&p);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr.contains("carries the anchor `&t`") && r.stderr.contains("values-prod.yaml:3:8"),
        "{}",
        r.stderr
    );
}
