//! Analysis: the AnalysisTemplate whose Job runs `imgf analyze`, and one
//! Stage per managed image that verifies each new build with it.
//!
//! The Job's command is an argument vector — no `sh -c`, so no value can
//! become shell syntax. Only three values vary per run (image, tag, digest);
//! everything else is fixed at synth time from the settings.

use std::collections::BTreeMap;

use super::kargo::{
    AnalysisTemplate, AnalysisTemplateSpec, Container, EnvVar, EnvVarSource, FreightRequest,
    JobMetric, JobSpec, Metric, MetricProvider, NameRef, NameValue, PodSpec, PodTemplate,
    PromotionStep, PromotionTemplate, PromotionTemplateSpec, SecretKeySelector, Stage, StageSpec,
    StepConfig, Verification, KARGO_API, ROLLOUTS_API,
};
use super::{
    analysis_stage_name, meta, source_warehouse_name, AUTO_PROMOTE_LABEL, IMAGE_LABEL, ROLE_LABEL,
};
use crate::config::settings::{SecretRef, Settings};
use crate::expr::{self, ImageField};
use crate::model::Managed;

/// The AnalysisTemplate's name.
pub const TEMPLATE_NAME: &str = "analyze-dockerfile";
/// The args the template declares; Stages pass exactly these.
pub const ARGS: [&str; 3] = ["imageName", "imageTag", "imageDigest"];

pub(super) fn template(settings: &Settings) -> AnalysisTemplate {
    let mut args: Vec<String> = vec![
        "analyze".into(),
        "--dir".into(),
        settings.enrollment_path.trim_end_matches('/').to_string(),
        "--image".into(),
        "{{args.imageName}}".into(),
        "--tag".into(),
        "{{args.imageTag}}".into(),
        "--digest".into(),
        "{{args.imageDigest}}".into(),
    ];
    if let Some(url) = &settings.state_repo_url {
        args.extend([
            "--state-repo".into(),
            url.clone(),
            "--state-branch".into(),
            settings.state_branch.clone(),
            "--commit".into(),
            "--push".into(),
            "--synth-output".into(),
            settings.output.clone(),
        ]);
    }
    let env_from = |name: &str, s: &SecretRef| EnvVar {
        name: name.into(),
        value_from: EnvVarSource {
            secret_key_ref: SecretKeySelector {
                name: s.name.clone(),
                key: s.key.clone(),
                optional: true,
            },
        },
    };
    AnalysisTemplate {
        api_version: ROLLOUTS_API,
        kind: "AnalysisTemplate",
        metadata: meta(TEMPLATE_NAME.into(), settings, &[]),
        spec: AnalysisTemplateSpec {
            args: ARGS.iter().map(|a| NameRef { name: (*a).into() }).collect(),
            metrics: vec![Metric {
                name: "analyze".into(),
                provider: MetricProvider {
                    job: JobMetric {
                        spec: JobSpec {
                            backoff_limit: 1,
                            active_deadline_seconds: 900,
                            template: PodTemplate {
                                spec: PodSpec {
                                    service_account_name: settings.service_account.clone(),
                                    restart_policy: "Never",
                                    image_pull_secrets: settings
                                        .image_pull_secrets
                                        .iter()
                                        .map(|n| NameRef { name: n.clone() })
                                        .collect(),
                                    containers: vec![Container {
                                        name: "imgf".into(),
                                        image: settings.analysis_image.clone(),
                                        args,
                                        env: vec![
                                            env_from("GITHUB_TOKEN", &settings.github_token),
                                            env_from("GITLAB_TOKEN", &settings.gitlab_token),
                                        ],
                                    }],
                                },
                            },
                        },
                    },
                },
            }],
        },
    }
}

/// The AnalysisTemplate that records a base image's new digest.
pub const RECORD_TEMPLATE_NAME: &str = "record-base-update";

/// The Job that runs `imgf record-update` in the state repository (only
/// generated when `analysis.stateRepoURL` says where that is).
pub(super) fn record_template(settings: &Settings, state_repo: &str) -> AnalysisTemplate {
    let mut t = template(settings);
    t.metadata.name = RECORD_TEMPLATE_NAME.into();
    t.spec.args = ["baseName", "digest"]
        .iter()
        .map(|a| NameRef { name: (*a).into() })
        .collect();
    let metric = &mut t.spec.metrics[0];
    metric.name = "record".into();
    let container = &mut metric.provider.job.spec.template.spec.containers[0];
    container.args = vec![
        "record-update".into(),
        "--dir".into(),
        settings.enrollment_path.trim_end_matches('/').to_string(),
        "--base".into(),
        "{{args.baseName}}".into(),
        "--digest".into(),
        "{{args.digest}}".into(),
        "--state-repo".into(),
        state_repo.to_string(),
        "--state-branch".into(),
        settings.state_branch.clone(),
        "--commit".into(),
        "--push".into(),
        "--synth-output".into(),
        settings.output.clone(),
    ];
    t
}

/// The Stage that records each new digest of an upstream base in its state
/// file (for `imgf explain` and the audit trail), beside the soak Stage.
pub(super) fn record_stage(
    base_name: &str,
    warehouse: &str,
    repo_url: &str,
    settings: &Settings,
) -> Stage {
    let digest = expr::template(&expr::image_field(repo_url, warehouse, ImageField::Digest));
    Stage {
        api_version: KARGO_API,
        kind: "Stage",
        metadata: meta(
            super::record_stage_name(base_name),
            settings,
            &[(AUTO_PROMOTE_LABEL, "true"), (ROLE_LABEL, "record")],
        ),
        spec: StageSpec {
            requested_freight: vec![FreightRequest::direct(warehouse.to_string())],
            promotion_template: Some(PromotionTemplate {
                spec: PromotionTemplateSpec {
                    steps: vec![PromotionStep {
                        uses: "compose-output",
                        alias: "seen".into(),
                        retry: None,
                        config: StepConfig::ComposeOutput(BTreeMap::from([(
                            "digest".to_string(),
                            digest.clone(),
                        )])),
                    }],
                },
            }),
            verification: Some(Verification {
                analysis_templates: vec![NameRef {
                    name: RECORD_TEMPLATE_NAME.into(),
                }],
                args: vec![
                    NameValue {
                        name: "baseName".into(),
                        value: base_name.to_string(),
                    },
                    NameValue {
                        name: "digest".into(),
                        value: digest,
                    },
                ],
            }),
        },
    }
}

/// The Stage that analyses each new build of `m`, and each change of its
/// Dockerfile or workflow. It auto-promotes: analysis only records what was
/// built and changes nothing else.
///
/// It requests two origins that promote independently: the image Warehouse
/// (new builds; what cascades take from here once verified) and the source
/// Warehouse (commits). Until a build has been promoted, the image fields are
/// empty and the Job re-reads the Dockerfile without recording a build. Each
/// value is quoted: a tag such as `1.2` must reach the Job as a string
/// (`pkg/rollouts/analysis_run_builder.go:226-233`).
pub(super) fn stage(m: &Managed, settings: &Settings) -> Stage {
    let field = |f| {
        expr::template(&expr::quote(&expr::image_field_or(
            &m.repo_url,
            &m.name,
            f,
            "",
        )))
    };
    let (tag, digest) = (field(ImageField::Tag), field(ImageField::Digest));
    Stage {
        api_version: KARGO_API,
        kind: "Stage",
        metadata: meta(
            analysis_stage_name(&m.name),
            settings,
            &[
                (AUTO_PROMOTE_LABEL, "true"),
                (IMAGE_LABEL, &m.name),
                (ROLE_LABEL, "analysis"),
            ],
        ),
        spec: StageSpec {
            requested_freight: vec![
                FreightRequest::direct(m.name.clone()),
                FreightRequest::direct(source_warehouse_name(&m.name)),
            ],
            promotion_template: Some(PromotionTemplate {
                spec: PromotionTemplateSpec {
                    steps: vec![PromotionStep {
                        uses: "compose-output",
                        alias: "built".into(),
                        retry: None,
                        config: StepConfig::ComposeOutput(BTreeMap::from([
                            ("digest".to_string(), digest.clone()),
                            ("tag".to_string(), tag.clone()),
                        ])),
                    }],
                },
            }),
            verification: Some(Verification {
                analysis_templates: vec![NameRef {
                    name: TEMPLATE_NAME.into(),
                }],
                args: vec![
                    NameValue {
                        name: ARGS[0].into(),
                        value: m.name.clone(),
                    },
                    NameValue {
                        name: ARGS[1].into(),
                        value: tag,
                    },
                    NameValue {
                        name: ARGS[2].into(),
                        value: digest,
                    },
                ],
            }),
        },
    }
}
