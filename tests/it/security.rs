//! Security gates (settings.yaml `security:`, `notifications:`): the Jobs'
//! commands on recorded Trivy reports (held / passed / fast path / normal),
//! the generated Kargo objects evaluated with the evaluator port, the
//! settings' errors, and the Flux and Backstage targets.
//!
//! The reports in `fixtures/trivy/` have the shape of `trivy image --format
//! json` (`SchemaVersion` 2), written by hand: `in-use.json` has two critical
//! CVEs (one found in two packages), `worse.json` three, `same.json` the same
//! two, `swap.json` one of them and a new one, `partial.json` one of them,
//! `fixed.json` none.

use std::path::Path;

use serde_json::{json, Value as Json};

use crate::support::kargo_eval::{evaluate_raw_expression, evaluate_template, Env};
use crate::support::kargo_promotion::{
    promote, run_http_step, seconds, Phase, Server, Status, Step,
};
use crate::support::{docs, of_kind, shared, stage_named, Project, Run};

const D0: &str = "sha256:0000000000000000000000000000000000000000000000000000000000000000";
const D1: &str = "sha256:1111111111111111111111111111111111111111111111111111111111111111";
const BUILD: &str = "sha256:2222222222222222222222222222222222222222222222222222222222222222";

const SETTINGS: &str = "\
analysis:
  image: ghcr.io/org/imgf:1.0.0
  stateRepoURL: https://github.com/org/state.git
security:
  scanner: {image: aquasec/trivy:0.58.1, failOn: CRITICAL}
  signatures:
    - {match: \"docker.io/library/*\", identity: \"keyless@node.example.org\",
       issuer: \"https://accounts.google.com\"}
  cveFastPath: true
notifications:
  - {name: platform, type: slack, webhookSecret: {name: slack-webhook, key: url},
     on: [rebuild, failure, emergency]}
  - {name: teams, type: teams, webhookSecret: {name: teams-webhook, key: url}, on: [failure]}
  - {name: audit, type: webhook, webhookSecret: {name: audit-webhook, key: url}, on: [rebuild, emergency]}
";

/// `app` on `node-22`, built on D0 (recorded before its last build).
fn project(settings: &str) -> Project {
    let p = Project::new();
    p.images(
        "- name: app\n  registry: ghcr.io\n  repository: org/app\n  source:\n    repo: org/app\n    dockerfile: Dockerfile\n    workflow: build.yml\n  rebuildDelay: 7d\n",
    )
    .file("settings.yaml", settings)
    .file(
        "state/images/app.yaml",
        &format!("name: app\nbaseImages: [node-22]\nlastBuilt: '2025-01-10T00:00:00Z'\ncurrentDigest: {BUILD}\n"),
    )
    .file(
        "state/base-images/node-22.yaml",
        &format!(
            "name: node-22\nrepoURL: docker.io/library/node\ntag: '22'\ncurrentDigest: {D0}\nlastUpdated: '2025-01-01T00:00:00Z'\nupdateHistory:\n  - {{digest: {D0}, at: '2025-01-01T00:00:00Z'}}\n"
        ),
    );
    p
}

/// A fixture report as Trivy writes it for `repo@digest`.
fn report(fixture: &str, reference: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/it/fixtures/trivy")
        .join(fixture);
    let mut r: Json = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    r["ArtifactName"] = json!(reference);
    serde_json::to_string_pretty(&r).unwrap()
}

/// Runs `imgf security plan` and writes the reports (new digest first).
fn plan_and_scan(p: &Project, new: &str, fixtures: &[&str]) -> Run {
    let work = p.path("work");
    std::fs::create_dir_all(&work).unwrap();
    let r = p.run(&[
        "security", "plan", "--base", "node-22", "--digest", new, "--out", "work",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let refs = std::fs::read_to_string(work.join("refs")).unwrap();
    let lines: Vec<&str> = refs.lines().collect();
    assert_eq!(lines.len(), fixtures.len(), "{refs}");
    for (n, (line, f)) in lines.iter().zip(fixtures).enumerate() {
        std::fs::write(work.join(format!("report-{}.json", n + 1)), report(f, line)).unwrap();
    }
    r
}

fn gate(p: &Project, new: &str) -> Run {
    p.run(&[
        "security",
        "gate",
        "--base",
        "node-22",
        "--digest",
        new,
        "--reports",
        "work",
        "--scanner",
        "aquasec/trivy:0.58.1",
    ])
}

fn cve_fix(p: &Project, new: &str) -> Run {
    p.run(&[
        "security", "cve-fix", "--image", "app", "--base", "node-22", "--digest", new,
    ])
}

fn scan_record(p: &Project, digest: &str) -> yaml_serde::Value {
    let path = p
        .dir()
        .join(format!("state/scans/{}.yaml", digest.replace(':', "-")));
    yaml_serde::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

#[test]
fn plan_lists_the_new_digest_then_the_one_in_use() {
    let p = project(SETTINGS);
    plan_and_scan(&p, D1, &["worse.json", "in-use.json"]);
    let refs = std::fs::read_to_string(p.path("work/refs")).unwrap();
    assert_eq!(
        refs,
        format!("docker.io/library/node@{D1}\ndocker.io/library/node@{D0}\n")
    );
}

#[test]
fn more_critical_cves_than_the_base_in_use_is_held() {
    let p = project(SETTINGS);
    plan_and_scan(&p, D1, &["worse.json", "in-use.json"]);
    let r = gate(&p, D1);
    assert_eq!(r.code, 1, "held is exit 1: {}", r.stderr);
    assert!(
        r.stderr
            .contains("held: 3 critical vulnerabilities, more than the 2"),
        "{}",
        r.stderr
    );
    let rec = scan_record(&p, D1);
    assert_eq!(rec["gates"]["node-22"]["decision"].as_str(), Some("held"));
    assert_eq!(rec["counts"]["critical"].as_u64(), Some(3));
    assert_eq!(
        rec["gates"]["node-22"]["comparedWith"][0].as_str(),
        Some(D0)
    );
    // The digest in use is recorded from the same run (one CVE in two packages counts once).
    let old = scan_record(&p, D0);
    assert_eq!(old["counts"]["critical"].as_u64(), Some(2));
    assert_eq!(old["counts"]["high"].as_u64(), Some(1));
    assert!(old.get("gates").is_none());
}

#[test]
fn the_same_number_passes_and_is_not_a_cve_fix() {
    let p = project(SETTINGS);
    plan_and_scan(&p, D1, &["same.json", "in-use.json"]);
    let r = gate(&p, D1);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        scan_record(&p, D1)["gates"]["node-22"]["decision"].as_str(),
        Some("passed")
    );
    let fix = cve_fix(&p, D1);
    assert_eq!(fix.code, 1, "not a fix is exit 1: {}", fix.stderr);
    assert!(
        fix.stderr.contains("not a CVE fix for app"),
        "{}",
        fix.stderr
    );
}

#[test]
fn a_digest_that_fixes_a_critical_cve_takes_the_fast_path() {
    let p = project(SETTINGS);
    plan_and_scan(&p, D1, &["partial.json", "in-use.json"]);
    assert_eq!(gate(&p, D1).code, 0);
    let fix = cve_fix(&p, D1);
    assert_eq!(fix.code, 0, "{}", fix.stderr);
    assert!(
        fix.stderr.contains("fixes CVE-2024-45490 of app"),
        "{}",
        fix.stderr
    );
    assert!(!fix.stderr.contains("CVE-2024-45491"), "{}", fix.stderr);
}

/// Swapping one critical CVE for another passes the gate (no more of them)
/// but is no proof of a fix: the fast path needs a strict improvement.
#[test]
fn a_digest_that_swaps_a_critical_cve_for_another_is_no_fix() {
    let p = project(SETTINGS);
    plan_and_scan(&p, D1, &["swap.json", "in-use.json"]);
    assert_eq!(gate(&p, D1).code, 0);
    let fix = cve_fix(&p, D1);
    assert_eq!(fix.code, 1, "not a fix is exit 1: {}", fix.stderr);
    assert!(
        fix.stderr.contains("not a CVE fix for app") && fix.stderr.contains("it has CVE-2025-0001"),
        "{}",
        fix.stderr
    );
}

/// A digest the gate held is never the bar: not when images are inferred
/// to be built on it, not as the base's newest recorded digest, and not as
/// what a CVE fix is proved against.
#[test]
fn a_held_digest_is_not_in_use() {
    const D2: &str = "sha256:3333333333333333333333333333333333333333333333333333333333333333";
    let p = project(SETTINGS);
    plan_and_scan(&p, D1, &["worse.json", "in-use.json"]);
    assert_eq!(gate(&p, D1).code, 1, "held");
    // The Warehouse still records D1, and app's last build is after it.
    p.file(
        "state/base-images/node-22.yaml",
        &format!(
            "name: node-22\nrepoURL: docker.io/library/node\ntag: '22'\ncurrentDigest: {D1}\npreviousDigest: {D0}\nlastUpdated: '2025-01-05T00:00:00Z'\nupdateHistory:\n  - {{digest: {D0}, at: '2025-01-01T00:00:00Z'}}\n  - {{digest: {D1}, at: '2025-01-05T00:00:00Z'}}\n"
        ),
    );
    let r = p.run(&[
        "security", "plan", "--base", "node-22", "--digest", D2, "--out", "work",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        std::fs::read_to_string(p.path("work/refs")).unwrap(),
        format!("docker.io/library/node@{D2}\ndocker.io/library/node@{D0}\n")
    );
    let fix = cve_fix(&p, D2);
    assert_eq!(fix.code, 1, "{}", fix.stderr);
    assert!(
        fix.stderr.contains("which the gate of node-22 held"),
        "{}",
        fix.stderr
    );
}

#[test]
fn fewer_cves_pass_and_fix() {
    let p = project(SETTINGS);
    plan_and_scan(&p, D1, &["fixed.json", "in-use.json"]);
    assert_eq!(gate(&p, D1).code, 0);
    let fix = cve_fix(&p, D1);
    assert_eq!(fix.code, 0, "{}", fix.stderr);
    assert!(
        fix.stderr.contains("CVE-2024-45490, CVE-2024-45491"),
        "{}",
        fix.stderr
    );
}

#[test]
fn a_scan_error_holds_and_records_nothing() {
    let p = project(SETTINGS);
    plan_and_scan(&p, D1, &["worse.json", "in-use.json"]);
    std::fs::remove_file(p.path("work/report-2.json")).unwrap();
    let r = gate(&p, D1);
    assert_eq!(
        r.code, 2,
        "an error is exit 2 (retried, then held): {}",
        r.stderr
    );
    assert!(r.stderr.contains("could not be scanned"), "{}", r.stderr);
    assert!(!p.dir().join("state/scans").exists());
    // A report of another image is an error too, not a pass.
    std::fs::write(
        p.path("work/report-2.json"),
        report("fixed.json", &format!("docker.io/library/node@{D1}")),
    )
    .unwrap();
    let r = gate(&p, D1);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("is the scan of"), "{}", r.stderr);
    // Not a report at all.
    std::fs::write(
        p.path("work/report-2.json"),
        "{\"error\": \"TOOMANYREQUESTS\"}",
    )
    .unwrap();
    assert_eq!(gate(&p, D1).code, 2);
}

#[test]
fn without_a_digest_in_use_nothing_is_compared() {
    let p = project(SETTINGS);
    p.file(
        "state/base-images/node-22.yaml",
        "name: node-22\nrepoURL: docker.io/library/node\ntag: '22'\n",
    );
    plan_and_scan(&p, D1, &["worse.json"]);
    let r = gate(&p, D1);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr.contains("no digest in use to compare with"),
        "{}",
        r.stderr
    );
}

#[test]
fn the_cve_fix_check_needs_the_recorded_scans() {
    let p = project(SETTINGS);
    let r = cve_fix(&p, D1);
    assert_eq!(r.code, 2, "missing data is an error: {}", r.stderr);
    assert!(r.stderr.contains("no scan of"), "{}", r.stderr);
}

#[test]
fn a_build_scan_is_recorded_and_never_fails() {
    let p = project(SETTINGS);
    let args = |digest: &str, report: &str| {
        p.run(&[
            "security",
            "record-scan",
            "--image",
            "app",
            "--repo",
            "ghcr.io/org/app",
            "--digest",
            digest,
            "--report",
            report,
            "--scanner",
            "aquasec/trivy:0.58.1",
        ])
    };
    let r = args("-", "work/build.json");
    assert_eq!(r.code, 0);
    assert!(r.stderr.contains("no build digest yet"), "{}", r.stderr);
    let r = args(BUILD, "work/build.json");
    assert_eq!(r.code, 0, "a missing report is not a failure: {}", r.stderr);
    assert!(!p.dir().join("state/scans").exists());
    std::fs::create_dir_all(p.path("work")).unwrap();
    std::fs::write(
        p.path("work/build.json"),
        report("worse.json", &format!("ghcr.io/org/app@{BUILD}")),
    )
    .unwrap();
    let r = args(BUILD, "work/build.json");
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("3 critical, 1 high"), "{}", r.stderr);
    let rec = scan_record(&p, BUILD);
    assert_eq!(rec["repo"].as_str(), Some("ghcr.io/org/app"));
    assert_eq!(rec["critical"].as_sequence().map(Vec::len), Some(3));
}

#[test]
fn hostile_arguments_are_refused() {
    let p = project(SETTINGS);
    let r = p.run(&[
        "security",
        "plan",
        "--base",
        "node-22",
        "--digest",
        "sha256:$(reboot)",
        "--out",
        "work",
    ]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(!p.path("work/refs").exists());
}

// ---------------------------------------------------------------------------
// The generated objects
// ---------------------------------------------------------------------------

fn output(settings: &str) -> Vec<yaml_serde::Value> {
    docs(&project(settings).synth_stdout())
}

fn template<'a>(docs: &'a [yaml_serde::Value], name: &str) -> &'a yaml_serde::Value {
    of_kind(docs, "AnalysisTemplate")
        .into_iter()
        .find(|d| d["metadata"]["name"].as_str() == Some(name))
        .unwrap_or_else(|| panic!("no AnalysisTemplate {name}"))
}

fn strings(v: &yaml_serde::Value) -> Vec<String> {
    v.as_sequence()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect()
}

#[test]
fn the_soak_stage_verifies_with_scan_and_signature_and_digests_stay_strings() {
    let d = output(SETTINGS);
    let soak = stage_named(&d, "soak-node-22");
    let v = &soak["spec"]["verification"];
    let names: Vec<&str> = v["analysisTemplates"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["scan-base", "verify-signature-1"]);
    // A digest of digits only stays a string (Kargo refuses a non-string arg).
    let digits = "sha256:0123456789012345678901234567890123456789012345678901234567890123";
    let env = Env::new().image("node-22", "docker.io/library/node", "22", digits);
    for arg in v["args"].as_sequence().unwrap() {
        let value = evaluate_template(arg["value"].as_str().unwrap(), &env).unwrap();
        assert!(value.is_string(), "{arg:?} evaluates to {value}");
        if arg["name"].as_str() == Some("digest") {
            assert_eq!(value, json!(digits));
        }
    }
    // No {{args.*}} is ever part of a script: only whole arguments or positional parameters.
    for t in of_kind(&d, "AnalysisTemplate") {
        let pod = &t["spec"]["metrics"][0]["provider"]["job"]["spec"]["template"]["spec"];
        for list in ["initContainers", "containers"] {
            for c in pod[list].as_sequence().into_iter().flatten() {
                let cmd = c["command"]
                    .as_sequence()
                    .map(|_| strings(&c["command"]))
                    .unwrap_or_default();
                if cmd.first().map(String::as_str) == Some("/bin/sh") {
                    assert!(
                        !cmd[2].contains("{{"),
                        "script text holds an arg: {}",
                        cmd[2]
                    );
                }
            }
        }
    }
    let cosign = &template(&d, "verify-signature-1")["spec"]["metrics"][0]["provider"]["job"]
        ["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(
        strings(&cosign["args"]),
        [
            "verify",
            "--certificate-identity=keyless@node.example.org",
            "--certificate-oidc-issuer=https://accounts.google.com",
            "{{args.repo}}@{{args.digest}}"
        ]
    );
    let scan = &template(&d, "scan-base")["spec"]["metrics"][0]["provider"]["job"]["spec"];
    assert_eq!(
        scan["podFailurePolicy"]["rules"][0]["onExitCodes"]["containerName"].as_str(),
        Some("gate")
    );
}

#[test]
fn the_fast_path_splits_the_soak_into_delay_and_cvefix_stages() {
    let d = output(SETTINGS);
    let delay = stage_named(&d, "delay-app-node-22");
    let src = &delay["spec"]["requestedFreight"][0]["sources"];
    assert_eq!(strings(&src["stages"]), ["soak-node-22"]);
    assert_eq!(src["requiredSoakTime"].as_str(), Some("168h"));
    let fix = stage_named(&d, "cvefix-app-node-22");
    assert!(fix["spec"]["requestedFreight"][0]["sources"]["requiredSoakTime"].is_null());
    assert_eq!(
        fix["spec"]["verification"]["analysisTemplates"][0]["name"].as_str(),
        Some("cve-fix")
    );
    let rebuild = stage_named(&d, "rebuild-app");
    let src = &rebuild["spec"]["requestedFreight"][0]["sources"];
    assert_eq!(
        strings(&src["stages"]),
        ["delay-app-node-22", "cvefix-app-node-22"]
    );
    assert_eq!(src["availabilityStrategy"].as_str(), Some("OneOf"));
    assert!(
        src["requiredSoakTime"].is_null(),
        "the rebuild has no soak of its own"
    );
    // Without cveFastPath, the rebuild keeps its soak and there are no extra Stages.
    let d = output(&SETTINGS.replace("cveFastPath: true", "cveFastPath: false"));
    let src = &stage_named(&d, "rebuild-app")["spec"]["requestedFreight"][0]["sources"];
    assert_eq!(strings(&src["stages"]), ["soak-node-22"]);
    assert_eq!(src["requiredSoakTime"].as_str(), Some("168h"));
    assert!(of_kind(&d, "Stage").iter().all(|s| {
        let n = s["metadata"]["name"].as_str().unwrap();
        !n.starts_with("delay-") && !n.starts_with("cvefix-")
    }));
}

/// The environment of a rebuild step's `if` and config.
fn step_env(failed: bool, actor: &str) -> Env {
    Env::new()
        .image("node-22", "docker.io/library/node", "22", D1)
        .secret("slack-webhook", "url", "https://hooks.slack.com/services/T/B/x")
        .secret("teams-webhook", "url", "https://example.webhook.office.com/w")
        .secret("audit-webhook", "url", "https://audit.example.org/hook")
        .var(
            "ctx",
            json!({"project": "image-factory", "stage": "rebuild-app", "promotion": "rebuild-app.01j.abc",
                   "meta": {"promotion": {"actor": actor, "rollback": false}}}),
        )
        .step_if(failed)
}

#[test]
fn notifications_fire_on_their_events_and_bodies_are_json_strings() {
    let d = output(SETTINGS);
    let steps = stage_named(&d, "rebuild-app")["spec"]["promotionTemplate"]["spec"]["steps"]
        .as_sequence()
        .unwrap()
        .clone();
    let aliases: Vec<&str> = steps.iter().map(|s| s["as"].as_str().unwrap()).collect();
    assert_eq!(
        aliases,
        [
            "dispatch",
            "notify-platform-rebuild",
            "notify-platform-failure",
            "notify-platform-emergency",
            "notify-teams-failure",
            "notify-audit-rebuild",
            "notify-audit-emergency"
        ]
    );
    // Which steps run: automatic success, a person's success, a failure.
    let fires = |failed: bool, actor: &str| -> Vec<String> {
        let env = step_env(failed, actor);
        steps[1..]
            .iter()
            .filter(|s| {
                let v = evaluate_template(s["if"].as_str().unwrap(), &env).unwrap();
                v.as_bool()
                    .unwrap_or_else(|| panic!("`if` is not a bool: {v}"))
            })
            .map(|s| s["as"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(
        fires(false, ""),
        ["notify-platform-rebuild", "notify-audit-rebuild"]
    );
    assert_eq!(
        fires(false, "alice@example.org"),
        ["notify-platform-emergency", "notify-audit-emergency"]
    );
    assert_eq!(
        fires(true, ""),
        ["notify-platform-failure", "notify-teams-failure"]
    );
    for s in &steps[1..] {
        assert_eq!(s["continueOnError"].as_bool(), Some(true), "{s:?}");
        assert!(s["retry"]["timeout"].as_str().is_some());
        let env = step_env(false, "alice@example.org");
        let url = evaluate_template(s["config"]["url"].as_str().unwrap(), &env).unwrap();
        assert!(url.as_str().unwrap().starts_with("https://"), "{url}");
        let body = evaluate_template(s["config"]["body"].as_str().unwrap(), &env).unwrap();
        let text = body
            .as_str()
            .unwrap_or_else(|| panic!("the body is not a string: {body}"));
        let json: Json = serde_json::from_str(text).unwrap();
        let alias = s["as"].as_str().unwrap();
        let message = if alias.starts_with("notify-platform") {
            json["text"].as_str().unwrap().to_string()
        } else if alias.starts_with("notify-teams") {
            assert_eq!(json["type"], "message");
            let card = &json["attachments"][0]["content"];
            assert_eq!(card["type"], "AdaptiveCard");
            card["body"][0]["text"].as_str().unwrap().to_string()
        } else {
            assert_eq!(json["source"], "imgf");
            assert_eq!(json["image"], "app");
            assert_eq!(json["digests"], D1);
            assert_eq!(json["actor"], "alice@example.org");
            json["text"].as_str().unwrap().to_string()
        };
        assert!(message.contains("app"), "{message}");
        assert!(message.contains(D1), "{message}");
        assert!(message.contains("rebuild-app.01j.abc"), "{message}");
    }
    // The actor is escaped for Slack (`<!channel>` would ping), not elsewhere.
    let env = step_env(false, "<!channel> & co");
    let body = |alias: &str| -> Json {
        let s = steps.iter().find(|s| s["as"] == alias).unwrap();
        let b = evaluate_template(s["config"]["body"].as_str().unwrap(), &env).unwrap();
        serde_json::from_str(b.as_str().unwrap()).unwrap()
    };
    let slack = body("notify-platform-emergency");
    let text = slack["text"].as_str().unwrap();
    assert!(text.contains("by &lt;!channel&gt; &amp; co:"), "{text}");
    assert!(!text.contains("<!channel>"), "{text}");
    assert_eq!(body("notify-audit-emergency")["actor"], "<!channel> & co");
    // A missing Secret is an empty URL: the step fails, and continueOnError keeps the rebuild going.
    let url = evaluate_template(steps[1]["config"]["url"].as_str().unwrap(), &Env::new()).unwrap();
    assert!(url.is_null() || url == json!(""), "{url}");
    // success()/failure() exist only in a step's `if`.
    assert!(evaluate_raw_expression("success()", &Env::new()).is_err());
}

/// How a test server answers the n-th request.
type Answers = fn(u32) -> Server;

/// What a notification does when its server answers 2xx, 4xx, 429, 5xx or
/// not at all, run through the port of Kargo's http step and orchestrator
/// (`support::kargo_promotion`): the rebuild's phase is the dispatch's, and a
/// failed notification stops neither the rebuild nor the other
/// notifications. How each ends is what docs/src/security.md says.
#[test]
fn a_failing_notification_never_fails_the_rebuild() {
    let d = output(SETTINGS);
    let steps = stage_named(&d, "rebuild-app")["spec"]["promotionTemplate"]["spec"]["steps"]
        .as_sequence()
        .unwrap()
        .clone();
    let steps: Vec<Json> = steps
        .iter()
        .map(|s| serde_json::to_value(s).unwrap())
        .collect();
    let notify = steps
        .iter()
        .find(|s| s["as"] == "notify-platform-rebuild")
        .unwrap();
    let timeout = seconds(notify["retry"]["timeout"].as_str().unwrap());
    let poll = seconds(notify["config"]["pollInterval"].as_str().unwrap());
    let backoff = 30;
    let ends = |server: &dyn Fn(u32) -> Server| run_http_step(notify, backoff, server).unwrap();
    // 2xx: delivered. 4xx and 5xx: given up at once (no second POST).
    for (code, want) in [
        (200, Status::Succeeded),
        (204, Status::Succeeded),
        (404, Status::Failed),
        (500, Status::Failed),
        (503, Status::Failed),
    ] {
        let e = ends(&|_| Server::Answers(code));
        assert_eq!((e.status, e.attempts), (want, 1), "{code}");
    }
    // 429: re-sent every pollInterval until retry.timeout, then Errored.
    let e = ends(&|_| Server::Answers(429));
    assert_eq!(e.status, Status::Errored);
    assert!(e.seconds > timeout && e.seconds <= timeout + poll, "{e:?}");
    assert_eq!(e.attempts, u32::try_from(timeout / poll).unwrap() + 2);
    let e = ends(&|n| Server::Answers(if n < 3 { 429 } else { 200 }));
    assert_eq!((e.status, e.attempts), (Status::Succeeded, 4));
    // No answer (the request's timeout, a refused connection): retried up to
    // errorThreshold attempts, then Errored.
    let threshold = u32::try_from(notify["retry"]["errorThreshold"].as_u64().unwrap()).unwrap();
    assert!(threshold > 1);
    let e = ends(&|_| Server::NoAnswer);
    assert_eq!((e.status, e.attempts), (Status::Errored, threshold));
    assert!(e.seconds <= timeout + backoff, "{e:?}");
    let e = ends(&|n| {
        if n == 0 {
            Server::NoAnswer
        } else {
            Server::Answers(200)
        }
    });
    assert_eq!((e.status, e.attempts), (Status::Succeeded, 2));

    // The whole Promotion: the platform's server misbehaves in every way, the
    // others answer 200.
    let behaviours: [(&str, Answers); 5] = [
        ("404", |_| Server::Answers(404)),
        ("429", |_| Server::Answers(429)),
        ("500", |_| Server::Answers(500)),
        ("no answer", |_| Server::NoAnswer),
        ("200", |_| Server::Answers(200)),
    ];
    for (what, platform) in behaviours {
        for dispatched in [true, false] {
            for actor in ["", "alice@example.org"] {
                let promotion: Vec<Step<'_>> = steps
                    .iter()
                    .map(|s| {
                        let alias = s["as"].as_str().unwrap();
                        let run: Box<dyn Fn() -> Result<Status, String>> = if alias == "dispatch" {
                            Box::new(move || {
                                Ok(if dispatched {
                                    Status::Succeeded
                                } else {
                                    Status::Failed
                                })
                            })
                        } else {
                            let server: Answers = if alias.starts_with("notify-platform") {
                                platform
                            } else {
                                |_| Server::Answers(200)
                            };
                            Box::new(move || Ok(run_http_step(s, backoff, server)?.status))
                        };
                        Step {
                            alias,
                            condition: s["if"].as_str(),
                            continue_on_error: s["continueOnError"].as_bool().unwrap_or(false),
                            run,
                        }
                    })
                    .collect();
                let env = step_env(false, actor);
                let (statuses, phase) = promote(&promotion, &env).unwrap();
                let want = if dispatched {
                    Phase::Succeeded
                } else {
                    Phase::Failed
                };
                let case = format!("platform {what}, dispatched {dispatched}, actor {actor:?}");
                assert_eq!(phase, want, "{case}: {statuses:?}");
                // Every other notification of the event still ran and was sent.
                let event = match (dispatched, actor) {
                    (false, _) => "failure",
                    (true, "") => "rebuild",
                    (true, _) => "emergency",
                };
                for (s, status) in promotion.iter().zip(&statuses) {
                    if s.alias.ends_with(event) && !s.alias.starts_with("notify-platform") {
                        assert_eq!(*status, Status::Succeeded, "{case}: {}", s.alias);
                    }
                }
                let platform_ran = statuses[promotion
                    .iter()
                    .position(|s| s.alias == format!("notify-platform-{event}"))
                    .unwrap()];
                assert_ne!(platform_ran, Status::Skipped, "{case}");
            }
        }
    }
}

#[test]
fn an_image_that_does_not_auto_rebuild_has_no_emergency_notification() {
    let p = project(SETTINGS);
    p.images(
        "- name: app\n  registry: ghcr.io\n  repository: org/app\n  source:\n    repo: org/app\n    dockerfile: Dockerfile\n    workflow: build.yml\n  rebuildDelay: 7d\n  autoRebuild: false\n",
    );
    let d = docs(&p.synth_stdout());
    let steps = &stage_named(&d, "rebuild-app")["spec"]["promotionTemplate"]["spec"]["steps"];
    let aliases: Vec<&str> = steps
        .as_sequence()
        .unwrap()
        .iter()
        .map(|s| s["as"].as_str().unwrap())
        .collect();
    assert!(
        !aliases.iter().any(|a| a.ends_with("-emergency")),
        "{aliases:?}"
    );
    let rebuild = steps
        .as_sequence()
        .unwrap()
        .iter()
        .find(|s| s["as"] == "notify-platform-rebuild")
        .unwrap();
    // Every promotion is a person's: the rebuild notification fires for them.
    let v = evaluate_template(rebuild["if"].as_str().unwrap(), &step_env(false, "bob")).unwrap();
    assert_eq!(v, json!(true));
}

/// The build scan is a metric of its own beside `analyze`, whose one failed
/// measurement is tolerated (`failureLimit: 1`, `count: 1`): a scan that
/// cannot pull Trivy, or a crash of `record-scan`, never fails the analysis.
#[test]
fn build_scans_are_their_own_metric_and_never_fail_the_analysis() {
    let d = output(SETTINGS);
    let t = template(&d, "analyze-dockerfile");
    let args: Vec<&str> = t["spec"]["args"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    assert_eq!(args, ["imageName", "imageTag", "imageDigest", "imageRepo"]);
    let metrics = t["spec"]["metrics"].as_sequence().unwrap();
    let names: Vec<&str> = metrics
        .iter()
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["analyze", "build-scan"]);
    let analyze = &metrics[0]["provider"]["job"]["spec"]["template"]["spec"];
    assert!(analyze["initContainers"].is_null(), "{analyze:?}");
    let scan = &metrics[1];
    assert_eq!(scan["failureLimit"].as_i64(), Some(1));
    assert_eq!(scan["count"].as_i64(), Some(1));
    let job = &scan["provider"]["job"]["spec"];
    assert_eq!(job["backoffLimit"].as_i64(), Some(0));
    assert!(job["activeDeadlineSeconds"].as_i64().unwrap() <= 600);
    let pod = &job["template"]["spec"];
    let trivy = &pod["initContainers"][0];
    let cmd = strings(&trivy["command"]);
    assert_eq!(cmd[..2], ["/bin/sh", "-c"]);
    assert!(cmd[2].trim_end().ends_with("exit 0"), "{}", cmd[2]);
    assert_eq!(cmd[4..6], ["{{args.imageRepo}}", "{{args.imageDigest}}"]);
    assert_eq!(
        pod["containers"][0]["args"][1].as_str(),
        Some("record-scan")
    );
    let stage = stage_named(&d, "analyze-dockerfile-app");
    let repo = stage["spec"]["verification"]["args"]
        .as_sequence()
        .unwrap()
        .iter()
        .find(|a| a["name"] == "imageRepo")
        .unwrap();
    assert_eq!(repo["value"].as_str(), Some("ghcr.io/org/app"));
    // The record template is not the analyze template's copy.
    let rec = template(&d, "record-base-update");
    assert_eq!(rec["spec"]["metrics"].as_sequence().unwrap().len(), 1);
    assert!(
        rec["spec"]["metrics"][0]["provider"]["job"]["spec"]["template"]["spec"]["initContainers"]
            .is_null()
    );
}

/// The gate holds the rebuild, not the build's pull: with security on, an
/// image with a gated base whose dispatch does not send `base_digest` is
/// warned about; once its workflow declares it, not.
#[test]
fn a_gated_build_not_sent_the_base_digest_is_warned_about() {
    let p = project(SETTINGS);
    let r = p.run(&["synth", "--output", "-"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr.contains(
            "1 image(s) with a security-gated base are rebuilt without `base_digest` (app)"
        ) && r.stderr.contains("--build-context"),
        "{}",
        r.stderr
    );
    p.file(
        "state/images/app.yaml",
        &format!("name: app\nbaseImages: [node-22]\nlastBuilt: '2025-01-10T00:00:00Z'\ncurrentDigest: {BUILD}\nworkflowInputs:\n  - name: version_bump\n  - name: base_image\n  - name: base_digest\n"),
    );
    let r = p.run(&["synth", "--output", "-"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(!r.stderr.contains("without `base_digest`"), "{}", r.stderr);
    // Without security, no such warning.
    let r = project("analysis:\n  image: ghcr.io/org/imgf:1.0.0\n  stateRepoURL: https://github.com/org/state.git\n")
        .run(&["synth", "--output", "-"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(!r.stderr.contains("without `base_digest`"), "{}", r.stderr);
}

#[test]
#[cfg_attr(not(has_shared), ignore = "needs ../shared beside the repository")]
fn everything_enabled_passes_validate_manifests_check_refs() {
    let Some(shared) = shared("validate-manifests cannot run") else {
        return;
    };
    if !crate::support::python_deps("validate-manifests") {
        return;
    }
    for settings in [
        SETTINGS.to_string(),
        // HIGH, a database mirror, private registries, signatures only.
        SETTINGS.replace(
            "failOn: CRITICAL",
            "failOn: HIGH, dbRepository: ghcr.io/org/trivy-db:2",
        ),
        "analysis:\n  stateRepoURL: https://github.com/org/state.git\n  imagePullSecrets: [regcred]\nsecurity:\n  signatures:\n    - {match: \"docker.io/**\", identity: \"a@b.c\", issuer: \"https://token.actions.githubusercontent.com\"}\n".to_string(),
    ] {
        let p = project(&settings);
        let out = p.path("out.yaml");
        std::fs::write(&out, p.synth_stdout()).unwrap();
        let r = std::process::Command::new("python3")
            .arg(shared.join("tools/validate-manifests"))
            .arg("--check-refs")
            .arg(&out)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&r.stdout);
        assert!(r.status.success(), "{settings}\n{text}");
        assert!(text.trim_end().ends_with(" 0 failed"), "{text}");
        assert!(!text.contains("warning:"), "{settings}\n{text}");
    }
}

// ---------------------------------------------------------------------------
// Settings
// ---------------------------------------------------------------------------

#[test]
fn settings_errors_name_the_key_the_value_and_the_fix() {
    let p = project(
        "security:\n  scanner: {image: aquasec/trivy:latest}\n  signatures:\n    - {match: \"gcr.io/*\", identity: \"x{{args.digest}}\", issuer: \"https://a.b\"}\nnotifications:\n  - {name: Ops, type: slack, webhookSecret: {name: s, key: url}, on: [failure, failure]}\n",
    );
    let r = p.run(&["synth", "--output", "-"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    for want in [
        "`security` needs `analysis.stateRepoURL`",
        "invalid security.scanner.image `aquasec/trivy:latest`: the image is not pinned",
        "invalid security.signatures[0].identity `x{{args.digest}}`",
        "Argo Rollouts reads as a template",
        "invalid notifications[0].name `Ops`",
        "invalid notifications[0].on `failure`: it is listed twice",
        "settings.yaml:2:",
    ] {
        assert!(
            r.stderr.contains(want),
            "missing `{want}` in:\n{}",
            r.stderr
        );
    }
}

#[test]
fn the_settings_schema_covers_security_and_notifications() {
    let r = Project::new().run(&["schema", "settings"]);
    assert_eq!(r.code, 0);
    let s: Json = serde_json::from_str(&r.stdout).unwrap();
    assert!(s["properties"]["security"].is_object());
    assert!(s["properties"]["notifications"].is_object());
    let text = r.stdout;
    for key in [
        "cveFastPath",
        "failOn",
        "webhookSecret",
        "\"match\"",
        "emergency",
        "teams",
    ] {
        assert!(text.contains(key), "{key}");
    }
}

// ---------------------------------------------------------------------------
// Flux and Backstage
// ---------------------------------------------------------------------------

#[test]
fn flux_says_what_it_cannot_do() {
    let p = project(SETTINGS);
    let r = p.run(&["synth", "--target", "flux", "--output", "-"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    for want in [
        "flux: security gates (Trivy scans, cosign verification) are not applied: Flux cannot hold a base on a Job (1 image(s): app)",
        "flux: the CVE fast path (`security.cveFastPath`) has no Flux equivalent",
        "flux: `notifications` are not emitted",
    ] {
        assert!(r.stderr.contains(want), "missing `{want}` in:\n{}", r.stderr);
    }
    let plain = project("analysis:\n  stateRepoURL: https://github.com/org/state.git\n");
    let r = plain.run(&["synth", "--target", "flux", "--output", "-"]);
    assert!(!r.stderr.contains("security gates"), "{}", r.stderr);
}

#[test]
fn backstage_entities_carry_the_scan_summary() {
    let p = project(SETTINGS);
    plan_and_scan(&p, D1, &["worse.json", "in-use.json"]);
    assert_eq!(gate(&p, D1).code, 1);
    // node-22's current digest is D0 (in use, scanned); app's build is scanned too.
    std::fs::create_dir_all(p.path("work")).unwrap();
    std::fs::write(
        p.path("work/build.json"),
        report("fixed.json", &format!("ghcr.io/org/app@{BUILD}")),
    )
    .unwrap();
    let r = p.run(&[
        "security",
        "record-scan",
        "--image",
        "app",
        "--repo",
        "ghcr.io/org/app",
        "--digest",
        BUILD,
        "--report",
        "work/build.json",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let r = p.run(&["synth", "--target", "backstage", "--output", "-"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let d = docs(&r.stdout);
    let entity = |name: &str| {
        d.iter()
            .find(|e| e["metadata"]["name"].as_str() == Some(name))
            .unwrap_or_else(|| panic!("no entity {name}"))
            .clone()
    };
    let app = &entity("app")["metadata"]["annotations"];
    assert_eq!(app["image-factory.io/scan-critical"].as_str(), Some("0"));
    assert_eq!(app["image-factory.io/scan-high"].as_str(), Some("1"));
    let node = &entity("node-22")["metadata"]["annotations"];
    assert_eq!(node["image-factory.io/scan-critical"].as_str(), Some("2"));
    assert_eq!(node["image-factory.io/scan-digest"].as_str(), Some(D0));
    assert_eq!(
        node["image-factory.io/signature-identity"].as_str(),
        Some("keyless@node.example.org")
    );
    // After record-update makes D1 current, the catalog shows it held.
    let r = p.run(&["record-update", "--base", "node-22", "--digest", D1]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let d = docs(
        &p.run(&["synth", "--target", "backstage", "--output", "-"])
            .stdout,
    );
    let node = d
        .iter()
        .find(|e| e["metadata"]["name"].as_str() == Some("node-22"))
        .unwrap();
    let a = &node["metadata"]["annotations"];
    assert_eq!(a["image-factory.io/scan-gate"].as_str(), Some("held"));
    assert_eq!(a["image-factory.io/scan-critical"].as_str(), Some("3"));
}

/// The time every scan record is pinned to, so that snapshots are stable.
const SCANNED: &str = "2026-01-05T00:00:00Z";

/// Pins the times the gate and record-scan wrote (now) to [`SCANNED`].
fn pin_scan_times(p: &Project) {
    let time = regex::Regex::new(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ").unwrap();
    for e in std::fs::read_dir(p.dir().join("state/scans")).unwrap() {
        let path = e.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(&path, time.replace_all(&text, SCANNED).as_ref()).unwrap();
    }
}

/// [`project`] after node-22 published D1: app is still built on D0, and
/// may rebuild (the delay has passed; every time is in the past).
fn project_with_new_digest() -> Project {
    let p = project(SETTINGS);
    p.file(
        "state/base-images/node-22.yaml",
        &format!(
            "name: node-22\nrepoURL: docker.io/library/node\ntag: '22'\ncurrentDigest: {D1}\npreviousDigest: {D0}\nlastUpdated: '2025-01-20T00:00:00Z'\nrebuildEligibleAt:\n  app: '2025-01-27T00:00:00Z'\nupdateHistory:\n  - {{digest: {D0}, at: '2025-01-01T00:00:00Z'}}\n  - {{digest: {D1}, previousDigest: {D0}, at: '2025-01-20T00:00:00Z'}}\n"
        ),
    );
    p
}

/// `imgf explain app` once the gate has judged D1 on `fixture` (D0 in use
/// scanned as `in-use.json`).
fn explain_after_gate(fixture: &str, code: i32) -> (Project, Run) {
    let p = project_with_new_digest();
    plan_and_scan(&p, D1, &[fixture, "in-use.json"]);
    assert_eq!(gate(&p, D1).code, code);
    pin_scan_times(&p);
    let r = p.run(&["explain", "app"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    (p, r)
}

#[test]
fn explain_says_why_a_base_is_held() {
    let (_p, r) = explain_after_gate("worse.json", 1);
    for needle in [
        &format!("base node-22: new digest {D1} held by the scanner gate: 3 critical vulnerabilities, more than the 2 of {D0} in use (scanned {SCANNED})"),
        "it stays unverified in Stage soak-node-22",
        &format!("{D0} (built on): 2 critical, 1 high"),
        "signature rule `docker.io/library/*` applies (identity keyless@node.example.org, issuer https://accounts.google.com)",
        &format!("reproduce: cosign verify --certificate-identity keyless@node.example.org --certificate-oidc-issuer https://accounts.google.com docker.io/library/node@{D1}"),
        "CVE fast path: does not apply: the digest is held",
    ] {
        assert!(r.stdout.contains(needle), "{needle}\nin\n{}", r.stdout);
    }
    insta::assert_snapshot!("explain_security_held", r.stdout);
}

#[test]
fn explain_says_a_base_passed_and_takes_the_normal_soak() {
    // Before the gate has run: awaiting its scan.
    let p = project_with_new_digest();
    let r = p.run(&["explain", "app"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout.contains(&format!(
            "base node-22: new digest {D1} awaits the scanner gate in Stage soak-node-22"
        )) && r
            .stdout
            .contains("kargo verify stage --project image-factory soak-node-22")
            && r.stdout
                .contains("CVE fast path: decided once both scans are recorded"),
        "{}",
        r.stdout
    );
    let (_p, r) = explain_after_gate("same.json", 0);
    assert!(
        r.stdout.contains(&format!("digest {D1} passed the scanner gate: 2 critical vulnerabilities, no more than the 2 of {D0} in use")),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains(&format!("CVE fast path: {D1} fixes no vulnerability of {D0} (built on): not a CVE fix, normal soak (Stage delay-app-node-22)")),
        "{}",
        r.stdout
    );
    insta::assert_snapshot!("explain_security_passed", r.stdout);
}

#[test]
fn explain_says_when_the_cve_fast_path_applies() {
    // D1 drops one of D0's two critical CVEs and adds none: a strict fix.
    let (p, _) = explain_after_gate("partial.json", 0);
    // The build is scanned too.
    std::fs::write(
        p.path("work/build.json"),
        report("fixed.json", &format!("ghcr.io/org/app@{BUILD}")),
    )
    .unwrap();
    let r = p.run(&[
        "security",
        "record-scan",
        "--image",
        "app",
        "--repo",
        "ghcr.io/org/app",
        "--digest",
        BUILD,
        "--report",
        "work/build.json",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    pin_scan_times(&p);
    let r = p.run(&["explain", "app"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout.contains(&format!("CVE fast path: {D1} fixes CVE-2024-45490 of {D0} (built on): the rebuild does not wait for rebuildDelay (Stage cvefix-app-node-22)")),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout
            .contains(&format!("current build {BUILD}: 0 critical, 1 high")),
        "{}",
        r.stdout
    );
    insta::assert_snapshot!("explain_security_fast_path", r.stdout);
    // The JSON says the same, in fields added to the report's shape.
    let j = p.run(&["explain", "app", "--format", "json"]);
    assert_eq!(j.code, 0, "{}", j.stderr);
    let v: Json = serde_json::from_str(&j.stdout).unwrap();
    let sec = &v["bases"][0]["security"];
    assert_eq!(sec["gate"], "passed");
    assert_eq!(sec["digest"], D1);
    assert_eq!(sec["builtOn"], D0);
    assert_eq!(sec["fastPath"]["decision"], "fix");
    assert_eq!(sec["fastPath"]["fixes"], json!(["CVE-2024-45490"]));
    assert_eq!(sec["signature"]["match"], "docker.io/library/*");
    assert_eq!(sec["scan"]["critical"], 1);
    assert_eq!(v["buildScan"]["digest"], BUILD);
    insta::assert_snapshot!("explain_security_fast_path_json", j.stdout);
}

#[test]
fn without_security_settings_explain_says_nothing_of_scans() {
    let p = project_with_new_digest();
    plan_and_scan(&p, D1, &["worse.json", "in-use.json"]);
    assert_eq!(gate(&p, D1).code, 1);
    p.file(
        "settings.yaml",
        "analysis:\n  image: ghcr.io/org/imgf:1.0.0\n  stateRepoURL: https://github.com/org/state.git\n",
    );
    let r = p.run(&["explain", "app"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        !r.stdout.contains("scan") && !r.stdout.contains("signature"),
        "{}",
        r.stdout
    );
    let j = p.run(&["explain", "app", "--format", "json"]);
    assert!(
        !j.stdout.contains("security") && !j.stdout.contains("buildScan"),
        "{}",
        j.stdout
    );
}

#[test]
fn status_shows_the_scans_of_builds_and_bases() {
    let p = project_with_new_digest();
    plan_and_scan(&p, D1, &["worse.json", "in-use.json"]);
    assert_eq!(gate(&p, D1).code, 1);
    std::fs::write(
        p.path("work/build.json"),
        report("swap.json", &format!("ghcr.io/org/app@{BUILD}")),
    )
    .unwrap();
    let r = p.run(&[
        "security",
        "record-scan",
        "--image",
        "app",
        "--repo",
        "ghcr.io/org/app",
        "--digest",
        BUILD,
        "--report",
        "work/build.json",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    pin_scan_times(&p);
    let status = |format: &str| {
        let r = p.run(&[
            "status",
            "--now",
            "2026-03-01T00:00:00Z",
            "--format",
            format,
        ]);
        assert_eq!(r.code, 0, "{}", r.stderr);
        r.stdout
    };
    let table = status("table");
    assert!(
        table.contains("BUILD CRIT/HIGH  BASES CRIT/HIGH"),
        "{table}"
    );
    // app's build has 2 critical, 1 high; it is built on D0 (2 critical, 1 high).
    assert!(table.contains("2/1              node-22 2/1"), "{table}");
    insta::assert_snapshot!("status_security_table", table);
    let json: Json = serde_json::from_str(&status("json")).unwrap();
    let app = &json["images"][0];
    assert_eq!(app["scan"]["digest"], BUILD);
    assert_eq!(app["scan"]["critical"], 2);
    assert_eq!(app["bases"][0]["builtOn"], D0);
    assert_eq!(app["bases"][0]["scan"]["critical"], 2);
    assert_eq!(app["bases"][0]["scan"]["high"], 1);
    let prom = status("prometheus");
    for line in [
        "imgf_image_vulnerabilities{image=\"app\",severity=\"critical\"} 2\n",
        "imgf_image_vulnerabilities{image=\"app\",severity=\"high\"} 1\n",
        &format!("imgf_base_vulnerabilities{{base=\"node-22\",digest=\"{D0}\",severity=\"critical\"}} 2\n"),
        &format!("imgf_base_vulnerabilities{{base=\"node-22\",digest=\"{D0}\",severity=\"high\"}} 1\n"),
    ] {
        assert!(prom.contains(line), "{line} in\n{prom}");
    }
    insta::assert_snapshot!("status_security_prometheus", prom);
    // Without scan records, none of it.
    std::fs::remove_dir_all(p.dir().join("state/scans")).unwrap();
    assert!(!status("table").contains("CRIT/HIGH"));
    assert!(!status("json").contains("\"scan\""));
    assert!(!status("prometheus").contains("vulnerabilities"));
}
