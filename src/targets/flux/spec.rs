//! The Flux target's row in [`crate::targets::Target::spec`].

use crate::emit::Format;
use crate::targets::{refuses_nothing, Spec};

pub static SPEC: Spec = Spec {
    default_output: "dist/image-factory.flux.yaml",
    header: crate::emit::HEADER,
    format: Format::Stream,
    refusals: refuses_nothing,
    warnings: |inputs, model| {
        let mut warnings = super::losses(model);
        warnings.extend(super::missing_credentials(model, &inputs.settings));
        warnings.extend(super::security_losses(model, &inputs.settings));
        warnings
    },
    catalog: false,
    render: |model, _graph, settings| {
        let out = super::output(model, settings)?;
        Ok(SPEC.rendering(out.len(), move |i| out.get(i)))
    },
    legacy_regenerate_flag: None,
};
