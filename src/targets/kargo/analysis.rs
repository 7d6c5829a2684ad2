//! Analysis Stages: one per managed image, verifying each new build (and
//! each change of its Dockerfile or workflow) with the `analyze-dockerfile`
//! Job.

use std::collections::BTreeMap;

use super::objects::{
    FreightRequest, NameRef, NameValue, PromotionStep, PromotionTemplate, PromotionTemplateSpec,
    Stage, StageSpec, StepConfig, Verification, KARGO_API,
};
use super::verification::{ARGS, TEMPLATE_NAME};
use super::{
    analysis_stage_name, image_label, image_warehouse_name, meta, source_warehouse_name,
    AUTO_PROMOTE_LABEL, IMAGE_LABEL, ROLE_LABEL,
};
use crate::config::settings::Settings;
use crate::model::Managed;
use crate::targets::kargo::expr::{self, ImageField};

/// Whether the analyze template scans builds (and so takes `imageRepo`).
fn build_scanned(settings: &Settings) -> bool {
    settings.state_repo.url.is_some()
        && settings
            .security
            .as_ref()
            .is_some_and(|s| s.scanner.is_some())
}

/// The Stage that analyses each new build of `m`, and each change of its
/// Dockerfile or workflow. It auto-promotes: analysis only records what was
/// built and changes nothing else.
///
/// It requests two origins that promote independently: the image Warehouse
/// (new builds; what cascades take from here once verified) and the source
/// Warehouse (commits). Until a build has been promoted, the image fields are
/// [`crate::values::NO_BUILD`] (never empty arguments) and the Job
/// re-reads the Dockerfile without recording a build. Each
/// value is quoted: a tag such as `1.2` must reach the Job as a string
/// (`pkg/rollouts/analysis_run_builder.go:226-233`).
pub(super) fn stage(m: &Managed, settings: &Settings) -> Stage {
    let warehouse = image_warehouse_name(&m.name);
    let label = image_label(&m.name);
    let field = |f| {
        expr::template(&expr::quote(&expr::image_field_or(
            &m.repo_url,
            &warehouse,
            f,
            crate::values::NO_BUILD,
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
                (IMAGE_LABEL, &label),
                (ROLE_LABEL, "analysis"),
            ],
        ),
        spec: StageSpec {
            shard: None,
            requested_freight: vec![
                FreightRequest::direct(warehouse.clone()),
                FreightRequest::direct(source_warehouse_name(&m.name)),
            ],
            promotion_template: Some(PromotionTemplate {
                spec: PromotionTemplateSpec {
                    steps: vec![PromotionStep {
                        uses: "compose-output",
                        alias: "built".into(),
                        condition: None,
                        continue_on_error: false,
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
                ]
                .into_iter()
                .chain(build_scanned(settings).then(|| NameValue {
                    name: super::security::BUILD_REPO_ARG.into(),
                    value: m.repo_url.clone(),
                }))
                .collect(),
            }),
        },
    }
}
