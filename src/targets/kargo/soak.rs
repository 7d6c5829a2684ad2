//! Soak Stages: one regular Stage per upstream base image, between its
//! Warehouse and the rebuild Stages. New Freight is promoted into it at once
//! (auto-promotion); each rebuild Stage then takes the Freight from here only
//! after it has soaked for that image's `rebuildDelay` (`requiredSoakTime`).
//!
//! It must be a *regular* Stage: Kargo counts soak time only while Freight is
//! "currently in" a Stage or from the time it spent there
//! (`api/v1alpha1/freight_types.go:170-183`), and Freight is never in a
//! control-flow Stage (one without steps). The single `compose-output` step
//! does nothing but make the Stage regular; with no verification the Freight
//! counts as verified once promoted. Soak restarts when newer Freight
//! replaces it here. A manual approval supersedes the soak time: that is how
//! an emergency rebuild skips it.
//!
//! With `security:` in the settings the Stage verifies each new digest (a
//! scan, a signature check): a digest that fails is never verified here, so
//! nothing downstream takes it ([`super::security`]). A held digest still
//! replaces the one soaking, as any newer digest does.

use std::collections::BTreeMap;

use super::objects::{
    FreightRequest, PromotionStep, PromotionTemplate, PromotionTemplateSpec, Stage, StageSpec,
    StepConfig, KARGO_API,
};
use super::{meta, soak_stage_name, warehouse_name, AUTO_PROMOTE_LABEL, ROLE_LABEL};
use crate::config::settings::Settings;
use crate::model::{BaseRef, Model};
use crate::targets::kargo::expr::{self, ImageField};

pub(super) fn stage(model: &Model, upstream: usize, settings: &Settings) -> Stage {
    let base = BaseRef::Upstream(upstream);
    let warehouse = warehouse_name(model, base);
    let digest = expr::template(&expr::image_field(
        model.base_repo_url(base),
        &warehouse,
        ImageField::Digest,
    ));
    Stage {
        api_version: KARGO_API,
        kind: "Stage",
        metadata: meta(
            soak_stage_name(model.base_name(base)),
            settings,
            &[(AUTO_PROMOTE_LABEL, "true"), (ROLE_LABEL, "soak")],
        ),
        spec: StageSpec {
            shard: None,
            requested_freight: vec![FreightRequest::direct(warehouse)],
            promotion_template: Some(PromotionTemplate {
                spec: PromotionTemplateSpec {
                    steps: vec![PromotionStep {
                        uses: "compose-output",
                        alias: "soaking".into(),
                        condition: None,
                        continue_on_error: false,
                        retry: None,
                        config: StepConfig::ComposeOutput(BTreeMap::from([(
                            "digest".to_string(),
                            digest,
                        )])),
                    }],
                },
            }),
            verification: super::security::soak_verification(model, upstream, settings),
        },
    }
}
