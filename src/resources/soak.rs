//! Soak Stages: one control-flow Stage (no promotion steps) per upstream base
//! image, between its Warehouse and the rebuild Stages. New Freight is
//! promoted into it at once; each rebuild Stage then takes the Freight from
//! here only after it has soaked for that image's `rebuildDelay`
//! (`requiredSoakTime`). A manual approval supersedes the soak time: that is
//! how an emergency rebuild skips it.

use super::kargo::{FreightRequest, Stage, StageSpec, KARGO_API};
use super::{meta, soak_stage_name, warehouse_name, AUTO_PROMOTE_LABEL, ROLE_LABEL};
use crate::config::settings::Settings;
use crate::model::{BaseRef, Model};

pub(super) fn stage(model: &Model, upstream: usize, settings: &Settings) -> Stage {
    let base = BaseRef::Upstream(upstream);
    Stage {
        api_version: KARGO_API,
        kind: "Stage",
        metadata: meta(
            soak_stage_name(model.base_name(base)),
            settings,
            &[(AUTO_PROMOTE_LABEL, "true"), (ROLE_LABEL, "soak")],
        ),
        spec: StageSpec {
            requested_freight: vec![FreightRequest::direct(warehouse_name(model, base))],
            promotion_template: None,
            verification: None,
        },
    }
}
