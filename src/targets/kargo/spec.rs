//! The Kargo target's row in [`crate::targets::Target::spec`].

use crate::diagnostic::Diagnostic;
use crate::emit::Format;
use crate::load::Inputs;
use crate::model::Model;
use crate::targets::Spec;

pub static SPEC: Spec = Spec {
    default_output: crate::config::settings::DEFAULT_OUTPUT,
    header: crate::emit::HEADER,
    format: Format::Stream,
    // Values only Kargo refuses are errors of the Kargo target alone,
    // reported with the merge's problems; its pre-flight holds both.
    refusals: super::preflight::refusals,
    warnings,
    render: |model, graph, settings| {
        let out = super::output(model, graph, settings)?;
        Ok(SPEC.rendering(out.len(), move |i| out.get(i)))
    },
    legacy_regenerate_flag: Some("--synth-output"),
};

/// What the Kargo output cannot do with these inputs: errors and warnings.
fn warnings(inputs: &Inputs, model: &Model) -> Vec<Diagnostic> {
    let mut warnings = super::preflight::problems(model, &inputs.images_file, &inputs.images_text);
    if inputs.settings.kargo.analysis_image_is_default && !model.managed.is_empty() {
        warnings.push(
            Diagnostic::warning(format!(
                "the analysis Job uses the placeholder image `{}`",
                inputs.settings.kargo.analysis_image
            ))
            .help("set `analysis.image` in settings.yaml (or pass --analysis-image) to the imgf image you publish"),
        );
    }
    if inputs.settings.state_repo.url.is_none() && !model.managed.is_empty() {
        warnings.push(
            Diagnostic::warning(format!(
                "{} managed image(s), but no `analysis.stateRepoURL`: the analysis Job cannot record new builds or base images, so cascades and new bases never reach the cluster",
                model.managed.len()
            ))
            .help("set `analysis.stateRepoURL` in settings.yaml to the https URL of the repository that holds this directory (the Job commits state and regenerated manifests there)"),
        );
    }
    if !inputs.settings.kargo.shards.is_empty()
        || inputs.settings.discovery != crate::config::settings::Discovery::default()
    {
        warnings.extend(
            super::placement::Placement::new(model, &inputs.settings)
                .warnings(model, &inputs.settings),
        );
    }
    inputs.attach_sources(&mut warnings);
    warnings
}
