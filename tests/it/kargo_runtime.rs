//! What Kargo v1.11 evaluates at runtime for the rebuild Stages: every value
//! imgf generates is evaluated with the port of Kargo's `EvaluateTemplate` in
//! [`crate::support::kargo_eval`], with the Freight a Stage would hold, and
//! checked as its consumer reads it — the dispatch body as GitHub and GitLab
//! parse it, verification args as Argo Rollouts wants them.

use yaml_serde::Value;

use crate::support::kargo_eval::{evaluate_raw_expression, evaluate_template, Env};
use crate::support::{docs, of_kind, stage_named, Project, ONE_IMAGE};

/// Tags Kargo would re-type if they were not quoted; digests are strings.
const TRICKY_TAGS: [&str; 4] = ["1.2", "20240101", "true", "v1.2.3"];
pub(crate) const DIGEST: &str =
    "sha256:0f9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d9c8b7a6f5e4d3c2b1a0f9e";

/// The environment of a promotion to `stage`: every requested Warehouse's
/// image subscriptions hold Freight tagged `tag` (or, with `tag` None, none
/// has been promoted yet), and the token Secrets exist.
pub(crate) fn stage_env(all: &[Value], stage: &Value, tag: Option<&str>) -> Env {
    let mut env = Env::new()
        .secret("github-workflow-token", "token", "ghp_s3cr3t")
        .secret("gitlab-trigger-token", "token", "glptt-s3cr3t")
        // What Kargo gives every step (`pkg/promotion/evaluator.go:102-127`).
        .var(
            "ctx",
            serde_json::json!({
                "project": "image-factory",
                "stage": stage["metadata"]["name"],
                "promotion": "p.01j",
                "meta": {"promotion": {"actor": "", "rollback": false}},
            }),
        );
    for req in stage["spec"]["requestedFreight"].as_sequence().unwrap() {
        let wh_name = req["origin"]["name"].as_str().unwrap();
        let wh = of_kind(all, "Warehouse")
            .into_iter()
            .find(|w| w["metadata"]["name"].as_str() == Some(wh_name))
            .unwrap_or_else(|| panic!("no Warehouse {wh_name}"));
        for sub in wh["spec"]["subscriptions"].as_sequence().unwrap() {
            if let Some(repo) = sub["image"]["repoURL"].as_str() {
                env = match tag {
                    Some(t) => env.image(wh_name, repo, t, DIGEST),
                    None => env.subscription(wh_name, repo),
                };
            }
        }
    }
    env
}

fn steps(stage: &Value) -> &[Value] {
    stage["spec"]["promotionTemplate"]["spec"]["steps"]
        .as_sequence()
        .map_or(&[], Vec::as_slice)
}

fn rebuild_stages(all: &[Value]) -> Vec<&Value> {
    of_kind(all, "Stage")
        .into_iter()
        .filter(|s| s["metadata"]["labels"]["imgf/role"].as_str() == Some("rebuild"))
        .collect()
}

/// The body of a rebuild Stage's dispatch as the API receives it: evaluated
/// as Kargo does, it must be a string, and that string must be JSON.
pub(crate) fn received_body(all: &[Value], stage: &Value, tag: Option<&str>) -> serde_json::Value {
    let body = steps(stage)[0]["config"]["body"].as_str().unwrap();
    let evaluated = evaluate_template(body, &stage_env(all, stage, tag))
        .unwrap_or_else(|e| panic!("Kargo fails to evaluate {body}: {e}"));
    let text = evaluated
        .as_str()
        .unwrap_or_else(|| panic!("the http step wants a string body, Kargo gives {evaluated}"));
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

fn example() -> Vec<Value> {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/dist/image-factory.k8s.yaml"
    ))
    .unwrap();
    docs(&text)
}

/// Every dispatch body in the bundled example reaches GitHub or
/// GitLab as the JSON they document: `ref` and every input a string.
#[test]
fn dispatch_bodies_survive_kargo_evaluation() {
    let all = example();
    let rebuilds = rebuild_stages(&all);
    assert!(rebuilds.len() >= 4);
    for stage in rebuilds {
        let name = stage["metadata"]["name"].as_str().unwrap();
        let url = steps(stage)[0]["config"]["url"].as_str().unwrap();
        for tag in TRICKY_TAGS.iter().map(|t| Some(*t)).chain([None]) {
            let body = received_body(&all, stage, tag);
            let obj = body.as_object().unwrap();
            assert!(obj["ref"].is_string(), "{name}: ref {body}");
            let inputs = if url.contains("/trigger/pipeline") {
                assert_eq!(obj["token"], "glptt-s3cr3t", "{name}: the trigger token");
                &obj["variables"]
            } else {
                assert!(url.ends_with("/dispatches"), "{url}");
                assert_eq!(obj.len(), 2, "{name}: exactly ref and inputs: {body}");
                &obj["inputs"]
            };
            for (k, v) in inputs.as_object().unwrap() {
                assert!(
                    v.is_string(),
                    "{name}: input {k} is {v}, GitHub wants strings"
                );
            }
        }
    }
}

/// What a cascade and a two-tags-of-one-repository image send.
#[test]
fn bodies_carry_each_base_and_its_digest() {
    let all = example();
    let web = received_body(&all, stage_named(&all, "rebuild-web"), Some("1.2"));
    assert_eq!(
        web["inputs"]["base_image"],
        "docker.io/library/node:22-bookworm,docker.io/library/node:22-bookworm-slim"
    );
    assert_eq!(web["inputs"]["base_digest"], format!("{DIGEST},{DIGEST}"));
    assert_eq!(web["inputs"]["triggered_by"], "kargo/rebuild-web");
    let api = received_body(&all, stage_named(&all, "rebuild-api"), Some("20240101"));
    assert_eq!(
        api["inputs"]["base_image"], "ghcr.io/example-org/python-base:20240101",
        "a cascade names the base build's tag, as a string"
    );
    // Before any Freight of an origin reached the Stage, the fallback is sent.
    let api = received_body(&all, stage_named(&all, "rebuild-api"), None);
    assert_eq!(api["inputs"]["base_digest"], "none");
}

/// The soak Stage is a regular Stage (it has a step), so Freight is
/// "currently in" it and soak time accrues; the rebuild Stage requires it.
#[test]
fn rebuild_delays_soak_in_a_regular_stage() {
    let all = example();
    for stage in rebuild_stages(&all) {
        for req in stage["spec"]["requestedFreight"].as_sequence().unwrap() {
            let Some(soak) = req["requiredSoakTime"]
                .as_str()
                .or(req["sources"]["requiredSoakTime"].as_str())
            else {
                continue;
            };
            assert_ne!(soak, "0s");
            for upstream in req["sources"]["stages"].as_sequence().unwrap() {
                let up = stage_named(&all, upstream.as_str().unwrap());
                assert!(
                    !steps(up).is_empty(),
                    "{} soaks {soak} through the control-flow Stage {}: it never elapses",
                    stage["metadata"]["name"].as_str().unwrap(),
                    up["metadata"]["name"].as_str().unwrap()
                );
            }
        }
    }
}

/// No Warehouse a rebuild Stage takes Freight from has a git
/// subscription, so no commit (state, dist, source) can trigger a rebuild.
#[test]
fn commits_never_reach_a_rebuild_stage() {
    let all = example();
    for stage in rebuild_stages(&all) {
        for req in stage["spec"]["requestedFreight"].as_sequence().unwrap() {
            let wh = req["origin"]["name"].as_str().unwrap();
            let w = of_kind(&all, "Warehouse")
                .into_iter()
                .find(|w| w["metadata"]["name"].as_str() == Some(wh))
                .unwrap();
            for sub in w["spec"]["subscriptions"].as_sequence().unwrap() {
                assert!(
                    sub.get("git").is_none(),
                    "Warehouse {wh} has a git subscription"
                );
            }
        }
    }
    // And source Warehouses watch files that no Job commit touches.
    for w in of_kind(&all, "Warehouse") {
        for sub in w["spec"]["subscriptions"].as_sequence().unwrap() {
            for p in sub["git"]["includePaths"]
                .as_sequence()
                .into_iter()
                .flatten()
            {
                let p = p.as_str().unwrap();
                assert!(
                    !p.ends_with('/'),
                    "{p} is a directory: Kargo matches it as a prefix"
                );
                assert!(!p.contains("/state") && !p.starts_with("dist"), "{p}");
            }
        }
    }
}

/// In a Stage with two origins that watch one repository, every
/// `imageFrom` names its Warehouse, so Kargo's lookup is unambiguous.
#[test]
fn every_origin_is_named() {
    let all = example();
    let web = stage_named(&all, "rebuild-web");
    let repos: Vec<&str> = web["spec"]["requestedFreight"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|r| r["origin"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        repos,
        ["node-22-bookworm", "node-22-bookworm-slim"],
        "two tags of docker.io/library/node"
    );
    // Kargo's FindImage fails without an origin here; the port does too.
    let env = stage_env(&all, web, Some("1.2"));
    let ambiguous = evaluate_template(r#"${{ imageFrom("docker.io/library/node").Digest }}"#, &env);
    assert!(ambiguous
        .unwrap_err()
        .contains("multiple requested Freight"));
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/dist/image-factory.k8s.yaml"
    ))
    .unwrap();
    let one_arg = regex::Regex::new(r#"imageFrom\("[^"]*"\)"#).unwrap();
    assert!(!one_arg.is_match(&text), "an imageFrom without warehouse()");
}

/// Verification args and step values fed from tags stay strings,
/// whatever the tag looks like.
#[test]
fn tags_stay_strings() {
    let all = example();
    for stage in of_kind(&all, "Stage") {
        let name = stage["metadata"]["name"].as_str().unwrap();
        // A Stage with one origin is only ever promoted with its Freight.
        let one_origin = stage["spec"]["requestedFreight"]
            .as_sequence()
            .unwrap()
            .len()
            == 1;
        for tag in TRICKY_TAGS.iter().map(|t| Some(*t)).chain([None]) {
            if tag.is_none() && one_origin {
                continue;
            }
            let env = stage_env(&all, stage, tag);
            for arg in stage["spec"]["verification"]["args"]
                .as_sequence()
                .into_iter()
                .flatten()
            {
                let v = evaluate_template(arg["value"].as_str().unwrap(), &env).unwrap();
                assert!(
                    v.is_string(),
                    "{name}: arg {} is {v} with tag {tag:?}",
                    arg["name"].as_str().unwrap()
                );
                // Never an empty argument: before any build, `-`.
                assert_ne!(v.as_str(), Some(""), "{name}: {arg:?} with tag {tag:?}");
                if arg["name"].as_str() == Some("imageTag") {
                    assert_eq!(v.as_str(), Some(tag.unwrap_or("-")), "{name}");
                }
            }
            for step in steps(stage) {
                if step["uses"].as_str() != Some("compose-output") {
                    continue;
                }
                for (k, v) in step["config"].as_mapping().unwrap() {
                    let out = evaluate_template(v.as_str().unwrap(), &env).unwrap();
                    assert!(out.is_string(), "{name}: {k:?} is {out}");
                }
            }
        }
    }
}

/// Every polling http step is bounded, and the failure expression
/// fails at once on a client error but retries 429 and 5xx.
#[test]
fn failures_are_bounded() {
    let all = example();
    for stage in rebuild_stages(&all) {
        let step = &steps(stage)[0];
        assert_eq!(step["uses"].as_str(), Some("http"));
        assert!(step["retry"]["timeout"].as_str().is_some_and(|t| t != "0s"));
        let cfg = &step["config"];
        let ok = if cfg["url"].as_str().unwrap().ends_with("/dispatches") {
            204
        } else {
            201
        };
        let eval = |expr: &str, status: i64| {
            let env = Env::new().var("response", serde_json::json!({"status": status}));
            evaluate_raw_expression(expr, &env).unwrap()
        };
        let success = cfg["successExpression"].as_str().unwrap();
        let failure = cfg["failureExpression"].as_str().unwrap();
        assert_eq!(eval(success, ok), true);
        for status in [400, 401, 403, 404, 422] {
            assert_eq!(eval(failure, status), true, "{status} fails at once");
        }
        for status in [429, 500, 502, 503] {
            assert_eq!(eval(failure, status), false, "{status} is retried");
            assert_eq!(eval(success, status), false);
        }
    }
}

/// Explain says how to re-promote after a failed dispatch.
#[test]
fn explain_tells_how_to_retry_a_failed_dispatch() {
    let p = Project::app_on_node();
    let r = p.run(&["explain", "app"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout
            .contains("kargo get promotions --project image-factory --stage rebuild-app"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout
            .contains("kargo promote --project image-factory --stage rebuild-app --freight"),
        "{}",
        r.stdout
    );
}

/// With the workflow's inputs unknown, only `version_bump` is sent
/// (GitHub answers 422 to an undeclared input), with a warning that says
/// what was left out and how to get it sent.
#[test]
fn unknown_workflow_inputs_send_only_version_bump() {
    let p = Project::app_on_node();
    let r = p.run(&["synth", "--output", "-"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr.contains("1 image(s) dispatch only `version_bump`")
            && r.stderr
                .contains("triggered_by, base_image, base_digest are left out (app)")
            && r.stderr.contains("on.workflow_dispatch.inputs"),
        "{}",
        r.stderr
    );
    let all = docs(&r.stdout);
    let body = received_body(&all, stage_named(&all, "rebuild-app"), Some("1.2"));
    assert_eq!(
        body,
        serde_json::json!({"ref": "main", "inputs": {"version_bump": "patch"}})
    );
}

/// The analysis Job regenerates the manifests and commits
/// them with the state, and synth warns when there is no state repository.
#[test]
fn the_job_keeps_dist_in_step() {
    let all = example();
    for t in of_kind(&all, "AnalysisTemplate").into_iter().filter(|t| {
        // The update verifications (and the signature checks) run the
        // user's checks or cosign, not imgf; `cve-fix` only reads state.
        let name = t["metadata"]["name"].as_str().unwrap();
        !name.starts_with("verify-") && name != "cve-fix"
    }) {
        let args: Vec<&str> = t["spec"]["metrics"][0]["provider"]["job"]["spec"]["template"]
            ["spec"]["containers"][0]["args"]
            .as_sequence()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap())
            .collect();
        let at = args
            .iter()
            .position(|a| *a == "--synth-output")
            .expect("--synth-output");
        assert_eq!(args[at + 1], "dist/image-factory.k8s.yaml");
        assert!(args.contains(&"--push"));
    }
    let p = Project::new();
    p.images(ONE_IMAGE);
    let r = p.run(&["synth", "--output", "-"]);
    assert!(
        r.stderr.contains("no `analysis.stateRepoURL`"),
        "{}",
        r.stderr
    );
}
