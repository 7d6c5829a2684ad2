//! Security gates (settings.yaml `security:`) and notifications
//! (`notifications:`) in the Kargo target. Nothing here is emitted without
//! those settings.
//!
//! **Gate.** Each upstream base's soak Stage verifies every new digest with
//! `scan-base` (Trivy, when `security.scanner` is set) and, when a
//! `security.signatures` rule matches the base's repository, with
//! `verify-signature-<k>` (cosign). A digest whose AnalysisRun fails is never
//! "verified in" the soak Stage, so no Stage downstream can take it
//! (`pkg/controller/stages/regular_stages.go:1292-1297`,
//! `api/v1alpha1/stage_types.go:181-204` in Kargo v1.11.2). A Job metric is
//! Successful when its Job completes and Failed when it fails (Argo Rollouts
//! `metricproviders/job/job.go:198-206`): exit 0 passes, anything else
//! holds. The `gate` container exits 1 for "held", which `podFailurePolicy`
//! makes final at once; errors (exit 2 and up, a failed pull) are retried
//! `backoffLimit` times and then hold too.
//!
//! **Fast path** (`security.cveFastPath`, per managed image with a
//! `rebuildDelay` and each of its upstream bases): Kargo has one
//! `requiredSoakTime` per requested origin, shared by all its source Stages,
//! so the soak moves into a `delay-<image>-<base>` Stage, and a
//! `cvefix-<image>-<base>` Stage takes each gated digest at once and verifies
//! it with `cve-fix` (exit 0 only when it removes a vulnerability of the
//! digest the image was last built on). The rebuild Stage takes the base from
//! either (`availabilityStrategy: OneOf`) with no soak of its own.
//!
//! **Injection.** The digest reaches every Job as an AnalysisRun argument
//! (Kargo requires the evaluated value to be a string:
//! `pkg/rollouts/analysis_run_builder.go:220-236`), and Argo Rollouts puts
//! `{{args.x}}` wherever it is written, JSON-escaped. So `{{args.*}}` is only
//! ever a whole element of an argument vector or a positional parameter
//! after a constant `sh -c` script, never part of the script text; settings
//! baked into the templates were refused when they contained `{{`.
//!
//! **Notifications** are `http` steps after the rebuild's `dispatch`, each
//! with `continueOnError` (a failed notification never fails the rebuild:
//! `pkg/promotion/orchestrator.go:30-61`), an `if` on `success()`,
//! `failure()` or who started the promotion (`ctx.meta.promotion.actor`,
//! empty for auto-promotions), the URL from a Secret, and a body that is one
//! `${{ quote({…}) }}` of escaped literals.

use std::collections::BTreeMap;

use super::expr::{self, ImageField, Piece};
use super::objects::{
    AnalysisTemplate, AnalysisTemplateSpec, Container, EmptyDir, EnvVar, FreightOrigin,
    FreightRequest, FreightSources, HttpConfig, JobMetric, JobSpec, KeyToPath, Metric,
    MetricProvider, NameRef, NameValue, OnExitCodes, PodFailurePolicy, PodFailurePolicyRule,
    PodSpec, PodTemplate, PromotionStep, PromotionTemplate, PromotionTemplateSpec, SecretVolume,
    Stage, StageSpec, StepConfig, StepRetry, Verification, Volume, VolumeMount, KARGO_API,
    ROLLOUTS_API,
};
use super::verification::{state_repo_args, token_env};
use super::{
    cvefix_stage_name, delay_stage_name, image_label, meta, signature_template_name,
    soak_stage_name, warehouse_name, AUTO_PROMOTE_LABEL, IMAGE_LABEL, ROLE_LABEL,
};
use crate::config::security::{
    Notification, NotificationEvent, NotificationKind, Scanner, SecuritySettings,
};
use crate::config::settings::Settings;
use crate::model::{BaseRef, Managed, Model};

/// The AnalysisTemplate that scans a new base digest.
pub(super) const SCAN_TEMPLATE: &str = "scan-base";
/// The AnalysisTemplate that proves a base digest fixes a CVE.
pub(super) const CVE_FIX_TEMPLATE: &str = "cve-fix";
/// The analyze template's extra argument when builds are scanned.
pub(super) const BUILD_REPO_ARG: &str = "imageRepo";
/// Where the Jobs' containers share files.
const WORK: &str = "/work";
/// How long a notification may keep a promotion waiting (a 429, a 3xx, or
/// no answer: `pkg/promotion/local_orchestrator.go:323-332`).
pub const NOTIFY_TIMEOUT: &str = "10m";

/// The exit code of a decision ("held", "not a fix"): the Job fails at once.
pub const DECISION_EXIT: i32 = 1;

/// Scans each ref listed in /work/refs, one report per line, in order.
/// Constant: nothing of the run is in it; `"$@"` carries the settings'
/// extra flags.
pub const SCAN_SCRIPT: &str = "set -eu\n\
n=0\n\
while IFS= read -r ref; do\n  \
n=$((n + 1))\n  \
trivy image --quiet --scanners vuln --format json --output \"/work/report-$n.json\" \"$@\" \"$ref\"\n\
done < /work/refs\n";

/// Scans a new build (`$1@$2`) when it has a digest; never fails the Job
/// (the analysis gates cascades; a build scan is only recorded).
pub const BUILD_SCAN_SCRIPT: &str = "repo=$1; digest=$2; shift 2\n\
case \"$digest\" in\n  \
sha256:*) trivy image --quiet --scanners vuln --format json --output /work/build.json \"$@\" \"$repo@$digest\" || rm -f /work/build.json ;;\n\
esac\n\
exit 0\n";

/// The distinct (identity, issuer) pairs of the signature rules, in rule
/// order: template `verify-signature-<k>` checks pair `k` (from 1).
fn signature_pairs(sec: &SecuritySettings) -> Vec<(&str, &str)> {
    let mut pairs: Vec<(&str, &str)> = Vec::new();
    for r in &sec.signatures {
        let p = (r.identity.as_str(), r.issuer.as_str());
        if !pairs.contains(&p) {
            pairs.push(p);
        }
    }
    pairs
}

/// The signature template that applies to `repo_url`, if a rule matches.
fn signature_template_for(sec: &SecuritySettings, repo_url: &str) -> Option<String> {
    let (_, rule) = sec.signature_rule(repo_url)?;
    let k = signature_pairs(sec)
        .iter()
        .position(|p| *p == (rule.identity.as_str(), rule.issuer.as_str()))?;
    Some(signature_template_name(k + 1))
}

/// Every AnalysisTemplate the settings ask for, in a fixed order:
/// `scan-base`, `verify-signature-<k>`…, `cve-fix`. `used_repos` are the
/// repositories of the upstream bases with soak Stages (a signature template
/// no base uses is not emitted).
pub(super) fn templates(settings: &Settings, used_repos: &[&str]) -> Vec<AnalysisTemplate> {
    let (Some(sec), Some(url)) = (&settings.security, &settings.state_repo.url) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    if let Some(scanner) = &sec.scanner {
        out.push(scan_template(settings, scanner, url));
    }
    let used: Vec<String> = used_repos
        .iter()
        .filter_map(|r| signature_template_for(sec, r))
        .collect();
    for (k, (identity, issuer)) in signature_pairs(sec).into_iter().enumerate() {
        let name = signature_template_name(k + 1);
        if used.contains(&name) {
            out.push(signature_template(settings, sec, &name, identity, issuer));
        }
    }
    if let Some(scanner) = sec.scanner.as_ref().filter(|_| sec.fast_path()) {
        out.push(cve_fix_template(settings, scanner, url));
    }
    out
}

fn job_template(
    settings: &Settings,
    name: &str,
    args: &[&str],
    metric: &str,
    job: JobSpec,
) -> AnalysisTemplate {
    AnalysisTemplate {
        api_version: ROLLOUTS_API,
        kind: "AnalysisTemplate",
        metadata: meta(name.to_string(), settings, &[]),
        spec: AnalysisTemplateSpec {
            args: args.iter().map(|a| NameRef { name: (*a).into() }).collect(),
            metrics: vec![Metric {
                name: metric.into(),
                count: None,
                interval: None,
                success_condition: None,
                failure_limit: None,
                consecutive_success_limit: None,
                provider: MetricProvider {
                    job: Some(JobMetric { spec: job }),
                    web: None,
                },
            }],
        },
    }
}

/// A pod of the project's ServiceAccount that never restarts a container.
fn pod(settings: &Settings, init: Vec<Container>, main: Container, work: bool) -> PodTemplate {
    PodTemplate {
        spec: PodSpec {
            service_account_name: settings.kargo.service_account.clone(),
            restart_policy: "Never",
            image_pull_secrets: settings
                .kargo
                .image_pull_secrets
                .iter()
                .map(|n| NameRef { name: n.clone() })
                .collect(),
            init_containers: init,
            containers: vec![main],
            volumes: if work {
                work_volumes(settings)
            } else {
                Vec::new()
            },
        },
    }
}

/// The shared work directory, and the registry credentials Trivy pulls
/// private bases with (the first `analysis.imagePullSecrets`).
fn work_volumes(settings: &Settings) -> Vec<Volume> {
    let mut v = vec![Volume {
        name: "work".into(),
        empty_dir: Some(EmptyDir {}),
        secret: None,
    }];
    if let Some(s) = settings.kargo.image_pull_secrets.first() {
        v.push(Volume {
            name: "registry".into(),
            empty_dir: None,
            secret: Some(SecretVolume {
                secret_name: s.clone(),
                items: vec![KeyToPath {
                    key: ".dockerconfigjson".into(),
                    path: "config.json".into(),
                }],
            }),
        });
    }
    v
}

fn work_mount() -> VolumeMount {
    VolumeMount {
        name: "work".into(),
        mount_path: WORK.into(),
        read_only: false,
    }
}

/// An imgf container with the source hosts' tokens and the work directory.
fn imgf(settings: &Settings, name: &str, args: Vec<String>) -> Container {
    Container {
        name: name.into(),
        image: settings.kargo.analysis_image.clone(),
        command: Vec::new(),
        args,
        env: token_env(settings),
        volume_mounts: vec![work_mount()],
    }
}

/// A Trivy container running `script` with `params` as `$1…`, then the
/// settings' flags.
fn trivy(settings: &Settings, scanner: &Scanner, script: &str, params: &[&str]) -> Container {
    let mut command: Vec<String> =
        vec!["/bin/sh".into(), "-c".into(), script.into(), "scan".into()];
    command.extend(params.iter().map(|p| (*p).to_string()));
    if let Some(db) = &scanner.db_repository {
        command.extend(["--db-repository".into(), db.clone()]);
    }
    let mut env = vec![EnvVar {
        name: "TRIVY_CACHE_DIR".into(),
        value: Some(format!("{WORK}/cache")),
        value_from: None,
    }];
    let mut mounts = vec![work_mount()];
    if !settings.kargo.image_pull_secrets.is_empty() {
        env.push(EnvVar {
            name: "DOCKER_CONFIG".into(),
            value: Some("/docker".into()),
            value_from: None,
        });
        mounts.push(VolumeMount {
            name: "registry".into(),
            mount_path: "/docker".into(),
            read_only: true,
        });
    }
    Container {
        name: "trivy".into(),
        image: scanner.image.clone(),
        command,
        args: Vec::new(),
        env,
        volume_mounts: mounts,
    }
}

/// `podFailurePolicy`: exit code [`DECISION_EXIT`] of `container` ends the
/// Job at once.
fn decision_policy(container: &str) -> PodFailurePolicy {
    PodFailurePolicy {
        rules: vec![PodFailurePolicyRule {
            action: "FailJob",
            on_exit_codes: OnExitCodes {
                container_name: container.into(),
                operator: "In",
                values: vec![DECISION_EXIT],
            },
        }],
    }
}

fn dir_arg(settings: &Settings) -> String {
    settings.enrollment_path.trim_end_matches('/').to_string()
}

fn strings(a: &[&str]) -> Vec<String> {
    a.iter().map(|s| (*s).to_string()).collect()
}

/// `scan-base`: `plan` lists the new digest and the digests in use, `trivy`
/// scans them, `gate` records the reports and decides.
fn scan_template(settings: &Settings, scanner: &Scanner, url: &str) -> AnalysisTemplate {
    let dir = dir_arg(settings);
    let mut plan = strings(&[
        "security",
        "plan",
        "--dir",
        &dir,
        "--base",
        "{{args.baseName}}",
        "--digest",
        "{{args.digest}}",
        "--out",
        WORK,
        "--state-repo",
        url,
        "--state-branch",
        &settings.state_repo.branch,
    ]);
    plan.shrink_to_fit();
    let mut gate = strings(&[
        "security",
        "gate",
        "--dir",
        &dir,
        "--base",
        "{{args.baseName}}",
        "--digest",
        "{{args.digest}}",
        "--reports",
        WORK,
        "--fail-on",
        scanner.fail_on.as_str(),
        "--scanner",
        &scanner.image,
    ]);
    gate.extend(state_repo_args(settings, url));
    job_template(
        settings,
        SCAN_TEMPLATE,
        &["baseName", "digest"],
        "scan",
        JobSpec {
            backoff_limit: 2,
            active_deadline_seconds: 1800,
            pod_failure_policy: Some(decision_policy("gate")),
            template: pod(
                settings,
                vec![
                    imgf(settings, "plan", plan),
                    trivy(settings, scanner, SCAN_SCRIPT, &[]),
                ],
                imgf(settings, "gate", gate),
                true,
            ),
        },
    )
}

/// `verify-signature-<k>`: `cosign verify` with one identity and issuer.
fn signature_template(
    settings: &Settings,
    sec: &SecuritySettings,
    name: &str,
    identity: &str,
    issuer: &str,
) -> AnalysisTemplate {
    let cosign = Container {
        name: "cosign".into(),
        image: sec.cosign_image.clone(),
        command: Vec::new(),
        args: vec![
            "verify".into(),
            format!("--certificate-identity={identity}"),
            format!("--certificate-oidc-issuer={issuer}"),
            "{{args.repo}}@{{args.digest}}".into(),
        ],
        env: Vec::new(),
        volume_mounts: Vec::new(),
    };
    job_template(
        settings,
        name,
        &["repo", "digest"],
        "signature",
        JobSpec {
            backoff_limit: 1,
            active_deadline_seconds: 600,
            pod_failure_policy: None,
            template: pod(settings, Vec::new(), cosign, false),
        },
    )
}

/// `cve-fix`: exit 0 when the digest fixes a vulnerability of the digest
/// the image was last built on, 1 when it does not (normal soak).
fn cve_fix_template(settings: &Settings, scanner: &Scanner, url: &str) -> AnalysisTemplate {
    let dir = dir_arg(settings);
    let args = strings(&[
        "security",
        "cve-fix",
        "--dir",
        &dir,
        "--image",
        "{{args.imageName}}",
        "--base",
        "{{args.baseName}}",
        "--digest",
        "{{args.digest}}",
        "--fail-on",
        scanner.fail_on.as_str(),
        "--state-repo",
        url,
        "--state-branch",
        &settings.state_repo.branch,
    ]);
    let mut c = imgf(settings, "imgf", args);
    c.volume_mounts.clear();
    job_template(
        settings,
        CVE_FIX_TEMPLATE,
        &["imageName", "baseName", "digest"],
        "cve-fix",
        JobSpec {
            backoff_limit: 2,
            active_deadline_seconds: 600,
            pod_failure_policy: Some(decision_policy("imgf")),
            template: pod(settings, Vec::new(), c, false),
        },
    )
}

/// The analyze template's metric that scans each new build.
pub(super) const BUILD_SCAN_METRIC: &str = "build-scan";

/// How long a build scan may take (pull, database download, scan, record).
const BUILD_SCAN_DEADLINE: i64 = 600;

/// The analyze template scans each new build and records the counts
/// (`imgf security record-scan`), in a metric of its own, `build-scan`,
/// beside `analyze`: a scan never fails or holds up the analysis, which
/// gates cascades. Its Job (Trivy as an init container, then
/// `record-scan`) may fail — Trivy's image cannot be pulled and the pod
/// waits until the deadline, `record-scan` crashes — and its measurement is
/// then Failed (Argo Rollouts v1.9.1 `metricproviders/job/job.go:198-206`).
/// With `failureLimit: 1` and `count: 1` that one failure is tolerated:
/// `assessMetricFailureInconclusiveOrError` fails a metric only when
/// `failed > failureLimit` (`analysis/analysis.go:658-670`), and once the
/// count is reached the metric is Successful (`analysis/analysis.go:612-649`;
/// the count/limit combination is valid, `utils/analysis/factory.go:191-196`).
/// Metrics run side by side, and the run is Successful when every metric is.
pub(super) fn add_build_scan(
    t: &mut AnalysisTemplate,
    settings: &Settings,
    scanner: &Scanner,
    url: &str,
) {
    t.spec.args.push(NameRef {
        name: BUILD_REPO_ARG.into(),
    });
    let dir = dir_arg(settings);
    let record = strings(&[
        "security",
        "record-scan",
        "--dir",
        &dir,
        "--image",
        "{{args.imageName}}",
        "--repo",
        "{{args.imageRepo}}",
        "--digest",
        "{{args.imageDigest}}",
        "--report",
        "/work/build.json",
        "--scanner",
        &scanner.image,
        "--state-repo",
        url,
        "--state-branch",
        &settings.state_repo.branch,
        "--commit",
        "--push",
    ]);
    let scan = trivy(
        settings,
        scanner,
        BUILD_SCAN_SCRIPT,
        &["{{args.imageRepo}}", "{{args.imageDigest}}"],
    );
    t.spec.metrics.push(Metric {
        name: BUILD_SCAN_METRIC.into(),
        count: Some(1),
        interval: None,
        success_condition: None,
        failure_limit: Some(1),
        consecutive_success_limit: None,
        provider: MetricProvider {
            job: Some(JobMetric {
                spec: JobSpec {
                    backoff_limit: 0,
                    active_deadline_seconds: BUILD_SCAN_DEADLINE,
                    pod_failure_policy: None,
                    template: pod(
                        settings,
                        vec![scan],
                        imgf(settings, "record-scan", record),
                        true,
                    ),
                },
            }),
            web: None,
        },
    });
}

/// The digest of an upstream base in a Stage that requests it.
fn base_digest(model: &Model, upstream: usize) -> String {
    let b = BaseRef::Upstream(upstream);
    expr::template(&expr::image_field(
        model.base_repo_url(b),
        &warehouse_name(model, b),
        ImageField::Digest,
    ))
}

/// Whether upstream base `upstream` has a security gate: its soak Stage
/// verifies each new digest, so only Freight verified there passed it.
pub fn gates(model: &Model, upstream: usize, settings: &Settings) -> bool {
    soak_verification(model, upstream, settings).is_some()
}

/// The soak Stage's verification, when a gate applies to this base.
pub(super) fn soak_verification(
    model: &Model,
    upstream: usize,
    settings: &Settings,
) -> Option<Verification> {
    let sec = settings.security.as_ref()?;
    settings.state_repo.url.as_ref()?;
    let b = BaseRef::Upstream(upstream);
    let repo = model.base_repo_url(b);
    let mut templates = Vec::new();
    let mut args = Vec::new();
    if sec.scanner.is_some() {
        templates.push(SCAN_TEMPLATE.to_string());
        args.push(arg("baseName", model.base_name(b)));
    }
    if let Some(t) = signature_template_for(sec, repo) {
        templates.push(t);
        args.push(arg("repo", repo));
    }
    if templates.is_empty() {
        return None;
    }
    args.push(NameValue {
        name: "digest".into(),
        value: base_digest(model, upstream),
    });
    Some(Verification {
        analysis_templates: templates.into_iter().map(|name| NameRef { name }).collect(),
        args,
    })
}

fn arg(name: &str, value: &str) -> NameValue {
    NameValue {
        name: name.into(),
        value: value.into(),
    }
}

/// Whether the rebuild of `m` takes upstream bases through the fast path.
pub fn fast_path(m: &Managed, settings: &Settings) -> bool {
    m.rebuild_delay_secs > 0
        && settings.state_repo.url.is_some()
        && settings
            .security
            .as_ref()
            .is_some_and(SecuritySettings::fast_path)
}

/// The rebuild Stage's request for an upstream base on the fast path.
pub(super) fn fast_path_sources(model: &Model, m: &Managed, upstream: usize) -> FreightSources {
    let base = model.base_name(BaseRef::Upstream(upstream));
    FreightSources {
        direct: false,
        stages: vec![
            delay_stage_name(&m.name, base),
            cvefix_stage_name(&m.name, base),
        ],
        required_soak_time: None,
        availability_strategy: Some("OneOf"),
    }
}

/// A regular Stage on one upstream base, fed from its soak Stage: the
/// delay Stage (soaked for the image's `rebuildDelay`) or the CVE-fix Stage
/// (at once, verified by `cve-fix`).
fn from_soak(model: &Model, m: &Managed, upstream: usize, settings: &Settings, fix: bool) -> Stage {
    let b = BaseRef::Upstream(upstream);
    let base = model.base_name(b);
    let label = image_label(&m.name);
    let digest = base_digest(model, upstream);
    let (name, role, alias, soak, verification) = if fix {
        (
            cvefix_stage_name(&m.name, base),
            "cve-fix",
            "checked",
            None,
            Some(Verification {
                analysis_templates: vec![NameRef {
                    name: CVE_FIX_TEMPLATE.into(),
                }],
                args: vec![
                    arg("imageName", &m.name),
                    arg("baseName", base),
                    arg("digest", &digest),
                ],
            }),
        )
    } else {
        (
            delay_stage_name(&m.name, base),
            "delay",
            "soaked",
            Some(crate::duration::hms(m.rebuild_delay_secs)),
            None,
        )
    };
    Stage {
        api_version: KARGO_API,
        kind: "Stage",
        metadata: meta(
            name,
            settings,
            &[
                (AUTO_PROMOTE_LABEL, "true"),
                (IMAGE_LABEL, &label),
                (ROLE_LABEL, role),
            ],
        ),
        spec: StageSpec {
            shard: None,
            requested_freight: vec![FreightRequest {
                origin: FreightOrigin {
                    kind: "Warehouse",
                    name: warehouse_name(model, b),
                },
                sources: FreightSources {
                    direct: false,
                    stages: vec![soak_stage_name(base)],
                    required_soak_time: soak,
                    availability_strategy: None,
                },
            }],
            promotion_template: Some(PromotionTemplate {
                spec: PromotionTemplateSpec {
                    steps: vec![PromotionStep {
                        uses: "compose-output",
                        alias: alias.into(),
                        condition: None,
                        continue_on_error: false,
                        retry: None,
                        config: StepConfig::ComposeOutput(BTreeMap::from([(
                            "digest".to_string(),
                            digest.clone(),
                        )])),
                    }],
                },
            }),
            verification,
        },
    }
}

/// `delay-<image>-<base>`: a gated digest arrives after `rebuildDelay` in
/// the soak Stage. It needs its step: soak is counted only for Freight that
/// is "currently in" a regular Stage (`api/v1alpha1/freight_types.go:170-183`).
pub(super) fn delay_stage(
    model: &Model,
    managed: usize,
    upstream: usize,
    settings: &Settings,
) -> Stage {
    from_soak(model, &model.managed[managed], upstream, settings, false)
}

/// `cvefix-<image>-<base>`: a gated digest arrives at once; verified only
/// when it fixes a CVE of the digest the image was last built on.
pub(super) fn cvefix_stage(
    model: &Model,
    managed: usize,
    upstream: usize,
    settings: &Settings,
) -> Stage {
    from_soak(model, &model.managed[managed], upstream, settings, true)
}

/// The RBAC role a person needs to run an emergency rebuild: Kargo creates
/// it in every project namespace
/// (`pkg/controller/management/projects/projects.go:959-1004`).
pub const EMERGENCY_ROLE: &str = "kargo-promoter";

/// The emergency script's first check: `kargo` and `kubectl` are there,
/// `kargo` may read the project and `kubectl` may list its Freight — what
/// the script does with each tool. Refused: exit 3, before any step.
///
/// Then, per rebuild Stage in `stages`, `kubectl auth can-i promote` — only a
/// warning: it asks about the kubeconfig's identity, while `kargo approve`
/// and `kargo promote` act as the Kargo (OIDC) identity, which Kargo itself
/// authorises (the verb `promote` on `stages.kargo.akuity.io`:
/// `pkg/server/promote_to_stage_v1alpha1.go:98-108`,
/// `approve_freight_v1alpha1.go:91-101`). `IMGF_SKIP_AUTH_CHECK=1` skips it.
pub fn authorisation_check(stages: &[String], sh_word: fn(&str) -> String) -> String {
    let words: Vec<String> = stages.iter().map(|s| sh_word(s)).collect();
    format!(
        r#"# Refuse early when the caller may not do what the steps do (exit 3).
for tool in kargo kubectl; do
  command -v "$tool" >/dev/null 2>&1 || {{ echo "imgf: $tool is not installed; this script needs it" >&2; exit 3; }}
done
kargo get stages --project="$project" >/dev/null 2>&1 || {{
  echo "imgf: kargo cannot read project $project (not logged in, or no role there): run kargo login; you need the {EMERGENCY_ROLE} role" >&2; exit 3; }}
kubectl auth can-i -q list freights.kargo.akuity.io -n "$project" 2>/dev/null || {{
  echo "imgf: kubectl may not list Freight in $project: you need the {EMERGENCY_ROLE} role there" >&2; exit 3; }}
# kubectl asks about the kubeconfig's identity; kargo promotes as your Kargo
# identity, which Kargo checks itself: a "no" here is only a warning.
# IMGF_SKIP_AUTH_CHECK=1 skips it.
if [ "${{IMGF_SKIP_AUTH_CHECK:-}}" != 1 ]; then
  for s in {}; do
    kubectl auth can-i -q promote "stages.kargo.akuity.io/$s" -n "$project" 2>/dev/null ||
      echo "imgf: warning: kubectl's identity may not promote to Stage $s in project $project (kubectl auth can-i promote stages.kargo.akuity.io/$s: no); going on, as kargo promotes with your Kargo identity — if it refuses, ask for the {EMERGENCY_ROLE} role (IMGF_SKIP_AUTH_CHECK=1 skips this check)" >&2
  done
fi
"#,
        words.join(" ")
    )
}

/// What a notification can say about a rebuild.
pub(super) struct About<'a> {
    pub image: &'a str,
    /// `repo:tag` of every base, comma-separated.
    pub base_refs: &'a [Piece],
    /// The digest of every base, in the same order.
    pub base_digests: &'a [Piece],
    /// How many bases the image has.
    pub bases: usize,
    /// Whether the rebuild Stage auto-promotes.
    pub auto: bool,
}

/// The condition under which a notification of `event` is sent, or `None`
/// when the event cannot happen for this Stage.
pub fn notify_condition(event: NotificationEvent, auto: bool) -> Option<String> {
    Some(expr::template(match (event, auto) {
        (NotificationEvent::Rebuild, true) => "success() && ctx.meta.promotion.actor == \"\"",
        (NotificationEvent::Rebuild, false) => "success()",
        (NotificationEvent::Emergency, true) => "success() && ctx.meta.promotion.actor != \"\"",
        (NotificationEvent::Emergency, false) => return None,
        (NotificationEvent::Failure, _) => "failure()",
    }))
}

/// The notification steps of a rebuild Stage, after its dispatch: for each
/// notification in settings order, each of its events in its order.
pub(super) fn notify_steps(about: &About<'_>, settings: &Settings) -> Vec<PromotionStep> {
    let mut steps = Vec::new();
    for n in &settings.notifications {
        for &event in &n.on {
            let Some(condition) = notify_condition(event, about.auto) else {
                continue;
            };
            steps.push(PromotionStep {
                uses: "http",
                alias: format!("notify-{}-{}", n.name, event.as_str()),
                condition: Some(condition),
                continue_on_error: true,
                retry: Some(StepRetry {
                    timeout: NOTIFY_TIMEOUT,
                    error_threshold: 3,
                }),
                config: StepConfig::Http(HttpConfig {
                    url: expr::template(&expr::secret_field(&n.secret)),
                    method: "POST",
                    headers: vec![NameValue {
                        name: "Content-Type".into(),
                        value: "application/json".into(),
                    }],
                    body: expr::template(&expr::quote(&body(n, event, about, settings))),
                    timeout: "10s",
                    poll_interval: "1m",
                    success_expression: "response.status >= 200 && response.status < 300".into(),
                    failure_expression: "response.status >= 400 && response.status != 429".into(),
                }),
            });
        }
    }
    steps
}

/// The message of `event`, as pieces of text and expressions.
fn text(event: NotificationEvent, about: &About<'_>, settings: &Settings) -> Vec<Piece> {
    let t = |s: &str| Piece::Text(s.to_string());
    let e = |s: &str| Piece::Expr(s.to_string());
    let project = &settings.kargo.project;
    let bases = if about.bases == 1 { "base" } else { "bases" };
    let mut out = match event {
        NotificationEvent::Rebuild => vec![t(&format!("Rebuilding {}: {bases} ", about.image))],
        NotificationEvent::Emergency => vec![
            t(&format!("Emergency rebuild of {} by ", about.image)),
            e(ACTOR),
            t(&format!(": {bases} ")),
        ],
        NotificationEvent::Failure => vec![t(&format!(
            "Rebuild of {} failed (the build could not be started): {bases} ",
            about.image
        ))],
    };
    out.extend(about.base_refs.iter().cloned());
    out.push(t(" at "));
    out.extend(about.base_digests.iter().cloned());
    out.push(t(&format!(" (Kargo project {project}, promotion ")));
    out.push(e("ctx.promotion"));
    out.push(t(")"));
    out
}

/// Who started the promotion (empty for an auto-promotion).
const ACTOR: &str = "ctx.meta.promotion.actor";

/// Slack's mrkdwn reads `&`, `<` and `>`: escaped in the text imgf writes,
/// and in the actor (a user name such as `<!channel>` would ping), with
/// expr-lang's builtin `replace` in the cluster: `replace(str, old, new)` is
/// `strings.ReplaceAll(str, old, new)`, every occurrence, `old` literal
/// (expr-lang v1.17.8 builtin/builtin.go:296-311; Kargo v1.11.2 pins that
/// version, go.mod:59, and registers no `replace` of its own). `&` goes
/// first so that nothing is escaped twice. The actor is a Go `string`
/// (`PromotionActor`, pkg/promotion/evaluator.go:118), empty for an
/// auto-promotion, never nil. The other expressions are tags and digests,
/// which cannot hold them.
fn slack_escape(pieces: Vec<Piece>) -> Vec<Piece> {
    pieces
        .into_iter()
        .map(|p| match p {
            Piece::Text(s) => Piece::Text(
                s.replace('&', "&amp;")
                    .replace('<', "&lt;")
                    .replace('>', "&gt;"),
            ),
            Piece::Expr(e) if e == ACTOR => Piece::Expr(format!(
                r#"replace(replace(replace({ACTOR}, "&", "&amp;"), "<", "&lt;"), ">", "&gt;")"#
            )),
            p @ Piece::Expr(_) => p,
        })
        .collect()
}

/// The JSON body of one message, as an expression (a map).
fn body(
    n: &Notification,
    event: NotificationEvent,
    about: &About<'_>,
    settings: &Settings,
) -> String {
    let lit = |s: &str| expr::literal(s);
    let message = text(event, about, settings);
    match n.kind {
        NotificationKind::Slack => expr::map(&[("text", expr::concat(&slack_escape(message)))]),
        NotificationKind::Teams => {
            let block = expr::map(&[
                ("type", lit("TextBlock")),
                ("wrap", "true".into()),
                ("text", expr::concat(&message)),
            ]);
            let card = expr::map(&[
                ("type", lit("AdaptiveCard")),
                ("version", lit("1.4")),
                ("body", expr::array(&[block])),
            ]);
            let attachment = expr::map(&[
                (
                    "contentType",
                    lit("application/vnd.microsoft.card.adaptive"),
                ),
                ("content", card),
            ]);
            expr::map(&[
                ("type", lit("message")),
                ("attachments", expr::array(&[attachment])),
            ])
        }
        NotificationKind::Webhook => expr::map(&[
            ("source", lit("imgf")),
            ("event", lit(event.as_str())),
            ("project", "ctx.project".into()),
            ("stage", "ctx.stage".into()),
            ("promotion", "ctx.promotion".into()),
            ("actor", ACTOR.into()),
            ("image", lit(about.image)),
            ("bases", expr::concat(about.base_refs)),
            ("digests", expr::concat(about.base_digests)),
            ("text", expr::concat(&message)),
        ]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slack_text_escapes_what_mrkdwn_reads() {
        let out = slack_escape(vec![
            Piece::Text("a <b> & c".into()),
            Piece::Expr("ctx.promotion".into()),
            Piece::Expr(ACTOR.into()),
        ]);
        assert_eq!(
            out,
            vec![
                Piece::Text("a &lt;b&gt; &amp; c".into()),
                Piece::Expr("ctx.promotion".into()),
                Piece::Expr(
                    r#"replace(replace(replace(ctx.meta.promotion.actor, "&", "&amp;"), "<", "&lt;"), ">", "&gt;")"#
                        .into()
                ),
            ]
        );
    }

    #[test]
    fn bodies_never_end_the_template_early() {
        let settings = Settings::defaults("image-factory");
        let refs = [Piece::Text("docker.io/library/node:22}".into())];
        let about = About {
            image: "app",
            base_refs: &refs,
            base_digests: &refs,
            bases: 1,
            auto: true,
        };
        for kind in [
            NotificationKind::Slack,
            NotificationKind::Teams,
            NotificationKind::Webhook,
        ] {
            let n = Notification {
                name: "n".into(),
                kind,
                secret: crate::config::settings::SecretRef {
                    name: "s".into(),
                    key: "url".into(),
                },
                on: vec![NotificationEvent::Rebuild],
            };
            let b = body(&n, NotificationEvent::Rebuild, &about, &settings);
            assert!(!b.contains("}}"), "{b}");
        }
    }
}
