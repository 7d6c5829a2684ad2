//! Update Stages: one per (managed image, update) — the places that deploy
//! the image follow each new build.
//!
//! The Stage takes the image's builds from its image Warehouse (an
//! image-only origin, so commits to the sources never bump a deployment), or
//! — with `after` — the Freight verified in that other update Stage, after
//! `requiredSoakTime`. Steps (every config typed in [`super::objects`]):
//!
//! 1. `git-clone` the branch into `./repo`, author set there, and
//!    `yaml-parse` the value about to be replaced (`continueOnError`: it only
//!    feeds the commit message);
//! 2. `kustomize-set-image` (the kustomization's `images:` entry named after
//!    the image's repository) or `yaml-update` (one existing key);
//! 3. `git-commit` with a message naming the image, the old and new value and the path
//!    (no commit when nothing changed, so a re-promotion is a no-op);
//! 4. `git-push` to the branch — or, with `pullRequest`, to a generated
//!    branch, then `git-open-pr` (Skipped when there is nothing to merge) and
//!    `git-wait-for-pr` (skipped with it) with a timeout;
//! 5. `argocd-update` when `argocd` is set: sync the Application to the
//!    commit just made and wait, with a timeout.
//!
//! Every value Kargo re-types after evaluation (tags, digests, commit IDs) is
//! one `${{ quote(…) }}` template, so `1.20` stays `"1.20"`.

use super::objects::{
    AnalysisTemplate, AnalysisTemplateSpec, Container, EnvVar, JobMetric, JobSpec, Metric,
    MetricProvider, NameRef, NameValue, PodSpec, PodTemplate, Verification, WebMetric,
    ROLLOUTS_API,
};
use super::objects::{
    ArgocdApp, ArgocdSource, ArgocdUpdateConfig, FreightOrigin, FreightRequest, FreightSources,
    GitAuthor, GitCheckout, GitCloneConfig, GitCommitConfig, GitOpenPrConfig, GitPushConfig,
    GitWaitForPrConfig, KustomizeImage, KustomizeSetImageConfig, PromotionStep, PromotionTemplate,
    PromotionTemplateSpec, Stage, StageSpec, StepConfig, StepRetry, YamlParseConfig,
    YamlParseOutput, YamlUpdate, YamlUpdateConfig, KARGO_API,
};
use super::{
    image_label, image_warehouse_name, meta, update_stage_name, verify_template_name,
    AUTO_PROMOTE_LABEL, IMAGE_LABEL, ROLE_LABEL,
};
use crate::config::enrollment::UpdateValue;
use crate::config::settings::Settings;
use crate::model::{Check, Managed, Update};
use crate::targets::kargo::expr::{self, ImageField, Piece};

/// Where the repository is checked out in the promotion's workspace.
pub const CHECKOUT: &str = "./repo";
/// The author of every commit an update Stage makes.
pub const AUTHOR_NAME: &str = "imgf";
pub const AUTHOR_EMAIL: &str = "imgf@kargo.local";
/// How long a pull request may stay open before the promotion fails.
pub const PR_TIMEOUT: &str = "168h";
/// How long an Argo CD sync may take.
pub const SYNC_TIMEOUT: &str = "15m";
/// Consecutive errors (an API hiccup) a polling step tolerates.
pub const POLL_ERROR_THRESHOLD: u32 = 5;

/// The update Stage of `m.updates[u]`.
pub(super) fn stage(m: &Managed, u: usize, settings: &Settings) -> Stage {
    let up = &m.updates[u];
    let name = update_stage_name(&m.name, &up.name);
    let label = image_label(&m.name);
    let mut labels = vec![(IMAGE_LABEL, label.as_str()), (ROLE_LABEL, "update")];
    if up.auto_promote {
        labels.push((AUTO_PROMOTE_LABEL, "true"));
    }
    let warehouse = image_warehouse_name(&m.name);
    let requested = match up.after {
        None => FreightRequest::direct(warehouse.clone()),
        Some(a) => FreightRequest {
            origin: FreightOrigin {
                kind: "Warehouse",
                name: warehouse.clone(),
            },
            sources: FreightSources {
                direct: false,
                stages: vec![update_stage_name(&m.name, &m.updates[a].name)],
                required_soak_time: (up.soak_secs > 0).then(|| crate::duration::hms(up.soak_secs)),
            },
        },
    };
    Stage {
        api_version: KARGO_API,
        kind: "Stage",
        metadata: meta(name, settings, &labels),
        spec: StageSpec {
            requested_freight: vec![requested],
            promotion_template: Some(PromotionTemplate {
                spec: PromotionTemplateSpec {
                    steps: steps(m, up),
                },
            }),
            verification: (!up.verify.is_empty()).then(|| Verification {
                analysis_templates: vec![NameRef {
                    name: verify_template_name(&m.name, &up.name),
                }],
                args: vec![NameValue {
                    name: VERIFY_ARG.into(),
                    value: expr::template(&expr::quote(&field(m, ImageField::Tag))),
                }],
            }),
        },
    }
}

/// The arg an update's AnalysisTemplate takes: the tag just rolled out
/// (`IMAGE_TAG` in an end-to-end Job).
pub const VERIFY_ARG: &str = "tag";
/// How many times a health check is measured, and how far apart.
pub const HEALTH_COUNT: u32 = 3;
pub const HEALTH_INTERVAL: &str = "20s";
/// How long an end-to-end Job may run.
pub const E2E_DEADLINE_SECONDS: i64 = 1800;

/// The AnalysisTemplate that verifies `m.updates[u]`: one `web` metric per
/// health check, one `job` metric per end-to-end test. Kargo runs it once
/// the Stage is healthy after the promotion; Freight that fails it never
/// reaches an update `after` this one.
pub(super) fn verify_template(m: &Managed, u: usize, settings: &Settings) -> AnalysisTemplate {
    let up = &m.updates[u];
    let metrics = up
        .verify
        .iter()
        .enumerate()
        .map(|(i, check)| match check {
            Check::Http {
                url,
                json_path,
                expect,
            } => Metric {
                name: format!("health-{}", i + 1),
                count: Some(HEALTH_COUNT),
                interval: Some(HEALTH_INTERVAL),
                // Compared as text: a JSON number comes back a float64.
                success_condition: expect
                    .as_ref()
                    .map(|x| format!("string(result) == {}", expr::literal(x))),
                failure_limit: None,
                provider: MetricProvider {
                    job: None,
                    web: Some(WebMetric {
                        url: url.clone(),
                        json_path: json_path.clone(),
                        timeout_seconds: 10,
                    }),
                },
            },
            Check::Job {
                image,
                command,
                env,
            } => {
                let mut vars: Vec<EnvVar> = env
                    .iter()
                    .map(|(k, v)| EnvVar {
                        name: k.clone(),
                        value: Some(v.clone()),
                        value_from: None,
                    })
                    .collect();
                vars.push(EnvVar {
                    name: "IMAGE_TAG".into(),
                    value: Some(format!("{{{{args.{VERIFY_ARG}}}}}")),
                    value_from: None,
                });
                Metric {
                    name: format!("e2e-{}", i + 1),
                    count: None,
                    interval: None,
                    success_condition: None,
                    failure_limit: None,
                    provider: MetricProvider {
                        web: None,
                        job: Some(JobMetric {
                            spec: JobSpec {
                                backoff_limit: 0,
                                active_deadline_seconds: E2E_DEADLINE_SECONDS,
                                template: PodTemplate {
                                    spec: PodSpec {
                                        // Not imgf's: a test needs none of its rights.
                                        service_account_name: String::new(),
                                        restart_policy: "Never",
                                        image_pull_secrets: settings
                                            .kargo
                                            .image_pull_secrets
                                            .iter()
                                            .map(|n| NameRef { name: n.clone() })
                                            .collect(),
                                        containers: vec![Container {
                                            name: "e2e".into(),
                                            image: image.clone(),
                                            command: command.clone(),
                                            args: Vec::new(),
                                            env: vars,
                                        }],
                                    },
                                },
                            },
                        }),
                    },
                }
            }
        })
        .collect();
    AnalysisTemplate {
        api_version: ROLLOUTS_API,
        kind: "AnalysisTemplate",
        metadata: meta(verify_template_name(&m.name, &up.name), settings, &[]),
        spec: AnalysisTemplateSpec {
            args: vec![NameRef {
                name: VERIFY_ARG.into(),
            }],
            metrics,
        },
    }
}

fn step(uses: &'static str, alias: &str, config: StepConfig) -> PromotionStep {
    PromotionStep {
        uses,
        alias: alias.into(),
        condition: None,
        continue_on_error: false,
        retry: None,
        config,
    }
}

/// The value the update replaces, read before it does (for the commit
/// message; a failure here only leaves the message without it).
fn current_value(m: &Managed, up: &Update, dir: &str) -> PromotionStep {
    let (path, program) = match &up.yaml_key {
        Some(key) => (dir.to_string(), expr::yaml_key_lookup(key)),
        None => (
            format!("{dir}/kustomization.yaml"),
            expr::kustomize_image_lookup(
                &m.repo_url,
                if up.value == UpdateValue::Digest {
                    "digest"
                } else {
                    "newTag"
                },
            ),
        ),
    };
    let mut s = step(
        "yaml-parse",
        "current",
        StepConfig::YamlParse(YamlParseConfig {
            path,
            outputs: vec![YamlParseOutput {
                name: "value".into(),
                from_expression: program,
            }],
        }),
    );
    s.continue_on_error = true;
    s
}

/// The field of the image's new build, as an expression yielding a string.
fn field(m: &Managed, f: ImageField) -> String {
    expr::image_field(&m.repo_url, &image_warehouse_name(&m.name), f)
}

/// What the update writes, as one template that stays a string.
pub fn value_template(m: &Managed, value: UpdateValue) -> String {
    let tag = Piece::Expr(field(m, ImageField::Tag));
    let digest = Piece::Expr(field(m, ImageField::Digest));
    let repo = Piece::Text(format!("{}:", m.repo_url));
    let pieces = match value {
        UpdateValue::Tag => vec![tag],
        UpdateValue::Digest => vec![digest],
        UpdateValue::Reference => vec![repo, tag],
        UpdateValue::Pinned => vec![repo, tag, Piece::Text("@".into()), digest],
    };
    expr::template(&expr::quote(&expr::concat(&pieces)))
}

/// `outputs["alias"].rest…`
fn output(alias: &str, rest: &str) -> String {
    format!("outputs[{}].{rest}", expr::literal(alias))
}

fn steps(m: &Managed, up: &Update) -> Vec<PromotionStep> {
    let dir = format!("{CHECKOUT}/{}", up.path);
    let mut steps = vec![step(
        "git-clone",
        "clone",
        StepConfig::GitClone(GitCloneConfig {
            repo_url: up.repo_url.clone(),
            author: GitAuthor {
                name: AUTHOR_NAME.into(),
                email: AUTHOR_EMAIL.into(),
            },
            checkout: vec![GitCheckout {
                branch: up.branch.clone(),
                path: CHECKOUT.into(),
            }],
        }),
    )];
    steps.push(current_value(m, up, &dir));
    let value = value_template(m, up.value);
    steps.push(match &up.yaml_key {
        Some(key) => step(
            "yaml-update",
            "update",
            StepConfig::YamlUpdate(YamlUpdateConfig {
                path: dir,
                updates: vec![YamlUpdate {
                    key: key.clone(),
                    value,
                }],
            }),
        ),
        None => {
            let (tag, digest) = match up.value {
                UpdateValue::Digest => (None, Some(value)),
                _ => (Some(value), None),
            };
            step(
                "kustomize-set-image",
                "update",
                StepConfig::KustomizeSetImage(KustomizeSetImageConfig {
                    path: dir,
                    images: vec![KustomizeImage {
                        image: m.repo_url.clone(),
                        tag,
                        digest,
                    }],
                }),
            )
        }
    });
    // Not quoted: `quote` would turn the newlines into `\n`, and a message
    // starting `imgf: ` is never re-typed.
    let message = expr::template(&expr::concat(&[
        Piece::Text(format!("imgf: update {} from ", m.repo_url)),
        // `?.`: a failed yaml-parse leaves no output at all.
        Piece::Expr(format!(
            "(outputs[{}]?.value ?? \"(unknown)\")",
            expr::literal("current")
        )),
        Piece::Text(" to ".into()),
        Piece::Expr(field(m, ImageField::Tag)),
        Piece::Text(format!(" in {}\n\n", up.path)),
        Piece::Expr(format!("({} ?? \"\")", output("update", "commitMessage"))),
    ]));
    steps.push(step(
        "git-commit",
        "commit",
        StepConfig::GitCommit(GitCommitConfig {
            path: CHECKOUT.into(),
            message,
        }),
    ));
    steps.push(step(
        "git-push",
        "push",
        StepConfig::GitPush(GitPushConfig {
            path: CHECKOUT.into(),
            generate_target_branch: up.pull_request,
        }),
    ));
    let mut revision = output("commit", "commit");
    if up.pull_request {
        steps.push(step(
            "git-open-pr",
            "open-pr",
            StepConfig::GitOpenPr(GitOpenPrConfig {
                repo_url: up.repo_url.clone(),
                provider: up.provider.as_str(),
                source_branch: expr::template(&expr::quote(&output("push", "branch"))),
                target_branch: up.branch.clone(),
                title: expr::template(&expr::quote(&expr::concat(&[
                    Piece::Text(format!("imgf: update {} to ", m.repo_url)),
                    Piece::Expr(field(m, ImageField::Tag)),
                    Piece::Text(format!(" in {}", up.path)),
                ]))),
            }),
        ));
        let mut wait = step(
            "git-wait-for-pr",
            "wait-for-pr",
            StepConfig::GitWaitForPr(GitWaitForPrConfig {
                repo_url: up.repo_url.clone(),
                provider: up.provider.as_str(),
                pr_number: expr::template(&output("open-pr", "pr.id")),
            }),
        );
        wait.condition = Some(expr::template("status(\"open-pr\") != \"Skipped\""));
        wait.retry = Some(StepRetry {
            timeout: PR_TIMEOUT,
            error_threshold: POLL_ERROR_THRESHOLD,
        });
        steps.push(wait);
        // The merge commit; when there was nothing to merge, the branch's head.
        revision = format!("(outputs[\"wait-for-pr\"]?.commit ?? {revision})");
    }
    if let Some((namespace, app)) = &up.argocd {
        let mut sync = step(
            "argocd-update",
            "sync",
            StepConfig::ArgocdUpdate(ArgocdUpdateConfig {
                apps: vec![ArgocdApp {
                    name: app.clone(),
                    namespace: namespace.clone(),
                    sources: vec![ArgocdSource {
                        repo_url: up.repo_url.clone(),
                        desired_revision: expr::template(&expr::quote(&revision)),
                    }],
                }],
            }),
        );
        sync.retry = Some(StepRetry {
            timeout: SYNC_TIMEOUT,
            error_threshold: POLL_ERROR_THRESHOLD,
        });
        steps.push(sync);
    }
    steps
}
