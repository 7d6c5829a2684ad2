//! Record Stages: one per upstream base in use, when a state repository is
//! set. Each new digest is promoted here at once, and the verification Job
//! records it in the base's state file (history, dependents' eligibility) —
//! what `imgf explain` reports.

use std::collections::BTreeMap;

use super::objects::{
    FreightRequest, NameRef, NameValue, PromotionStep, PromotionTemplate, PromotionTemplateSpec,
    Stage, StageSpec, StepConfig, Verification, KARGO_API,
};
use super::verification::RECORD_TEMPLATE_NAME;
use super::{meta, AUTO_PROMOTE_LABEL, ROLE_LABEL};
use crate::config::settings::Settings;
use crate::targets::kargo::expr::{self, ImageField};

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
            shard: None,
            requested_freight: vec![FreightRequest::direct(warehouse.to_string())],
            promotion_template: Some(PromotionTemplate {
                spec: PromotionTemplateSpec {
                    steps: vec![PromotionStep {
                        uses: "compose-output",
                        alias: "seen".into(),
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
