//! Verification: the Argo Rollouts AnalysisTemplates whose Jobs run imgf in
//! the cluster — `analyze-dockerfile` (`imgf analyze`, for each new build)
//! and `record-base-update` (`imgf record-update`, for each new base digest).
//!
//! The Job's command is an argument vector — no `sh -c`, so no value can
//! become shell syntax. Only the args vary per run; everything else is fixed
//! at synth time from the settings. With a state repository the Jobs commit
//! state and regenerated manifests there (`--synth-output`, `--catalog-output`:
//! the `--regenerate TARGET=FILE` of each regenerated output).

use super::meta;
use super::objects::{
    AnalysisTemplate, AnalysisTemplateSpec, Container, EnvVar, EnvVarSource, JobMetric, JobSpec,
    Metric, MetricProvider, NameRef, PodSpec, PodTemplate, SecretKeySelector, ROLLOUTS_API,
};
use crate::config::settings::{SecretRef, Settings};
use crate::targets::Target;

/// The AnalysisTemplate's name.
pub(super) const TEMPLATE_NAME: &str = "analyze-dockerfile";
/// The args the template declares; Stages pass exactly these.
pub(super) const ARGS: [&str; 3] = ["imageName", "imageTag", "imageDigest"];

pub(super) fn analyze_template(settings: &Settings) -> AnalysisTemplate {
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
    if let Some(url) = &settings.state_repo.url {
        args.extend(state_repo_args(settings, url));
    }
    let mut t = AnalysisTemplate {
        api_version: ROLLOUTS_API,
        kind: "AnalysisTemplate",
        metadata: meta(TEMPLATE_NAME.into(), settings, &[]),
        spec: AnalysisTemplateSpec {
            args: ARGS.iter().map(|a| NameRef { name: (*a).into() }).collect(),
            metrics: vec![Metric {
                name: "analyze".into(),
                count: None,
                interval: None,
                success_condition: None,
                failure_limit: None,
                consecutive_success_limit: None,
                provider: MetricProvider {
                    web: None,
                    job: Some(JobMetric {
                        spec: JobSpec {
                            backoff_limit: 1,
                            active_deadline_seconds: 900,
                            pod_failure_policy: None,
                            template: PodTemplate {
                                spec: PodSpec {
                                    service_account_name: settings.kargo.service_account.clone(),
                                    restart_policy: "Never",
                                    image_pull_secrets: settings
                                        .kargo
                                        .image_pull_secrets
                                        .iter()
                                        .map(|n| NameRef { name: n.clone() })
                                        .collect(),
                                    init_containers: Vec::new(),
                                    volumes: Vec::new(),
                                    containers: vec![Container {
                                        name: "imgf".into(),
                                        image: settings.kargo.analysis_image.clone(),
                                        command: Vec::new(),
                                        args,
                                        env: token_env(settings),
                                        volume_mounts: Vec::new(),
                                    }],
                                },
                            },
                        },
                    }),
                },
            }],
        },
    };
    if let (Some(sec), Some(url)) = (&settings.security, &settings.state_repo.url) {
        if let Some(scanner) = &sec.scanner {
            super::security::add_build_scan(&mut t, settings, scanner, url);
        }
    }
    t
}

/// The source hosts' tokens, from their Secrets (optional: a public state
/// repository needs none).
pub(super) fn token_env(settings: &Settings) -> Vec<EnvVar> {
    let env_from = |name: &str, s: &SecretRef| EnvVar {
        name: name.into(),
        value: None,
        value_from: Some(EnvVarSource {
            secret_key_ref: SecretKeySelector {
                name: s.name.clone(),
                key: s.key.clone(),
                optional: true,
            },
        }),
    };
    vec![
        env_from("GITHUB_TOKEN", &settings.providers.github_token),
        env_from("GITLAB_TOKEN", &settings.providers.gitlab_token),
    ]
}

/// The AnalysisTemplate that records a base image's new digest.
pub(super) const RECORD_TEMPLATE_NAME: &str = "record-base-update";

/// The Job that runs `imgf record-update` in the state repository (only
/// generated when `analysis.stateRepoURL` says where that is).
pub(super) fn record_template(settings: &Settings, state_repo: &str) -> AnalysisTemplate {
    let mut t = analyze_template(settings);
    t.metadata.name = RECORD_TEMPLATE_NAME.into();
    t.spec.args = ["baseName", "digest"]
        .iter()
        .map(|a| NameRef { name: (*a).into() })
        .collect();
    // Not the build scan of the analyze template (its second metric).
    t.spec.metrics.truncate(1);
    let metric = &mut t.spec.metrics[0];
    metric.name = "record".into();
    let job = metric
        .provider
        .job
        .as_mut()
        .expect("the analyze template runs a Job");
    let container = &mut job.spec.template.spec.containers[0];
    container.args = vec![
        "record-update".into(),
        "--dir".into(),
        settings.enrollment_path.trim_end_matches('/').to_string(),
        "--base".into(),
        "{{args.baseName}}".into(),
        "--digest".into(),
        "{{args.digest}}".into(),
    ];
    container.args.extend(state_repo_args(settings, state_repo));
    t
}

/// The Job's state-repository transaction: clone, commit, push, and the
/// manifests regenerated into the same commit.
pub(super) fn state_repo_args(settings: &Settings, url: &str) -> Vec<String> {
    let mut args = vec![
        "--state-repo".into(),
        url.to_string(),
        "--state-branch".into(),
        settings.state_repo.branch.clone(),
        "--commit".into(),
        "--push".into(),
    ];
    for (target, path) in regenerated(settings) {
        // A target's own flag where it has one, so the manifests stay as
        // they were before `--regenerate`.
        match target.spec().legacy_regenerate_flag {
            Some(flag) => args.extend([flag.to_string(), path.to_string()]),
            None => args.extend(["--regenerate".into(), format!("{}={path}", target.name())]),
        }
    }
    args
}

/// The outputs the Job regenerates and commits with the state, in order:
/// the manifests, and the catalog when settings.yaml names its path.
fn regenerated(settings: &Settings) -> Vec<(Target, &str)> {
    let mut outputs = vec![(Target::Kargo, settings.state_repo.output.as_str())];
    if let Some(catalog) = &settings.state_repo.catalog_output {
        outputs.push((Target::Backstage, catalog.as_str()));
    }
    outputs
}
