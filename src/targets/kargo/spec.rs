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
    catalog: false,
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
        || inputs.settings.discovery != crate::targets::kargo::settings::Discovery::default()
    {
        warnings.extend(
            super::placement::Placement::new(model, &inputs.settings).warnings(
                model,
                &inputs.settings,
                &inputs.settings_file,
                &inputs.settings_text,
            ),
        );
    }
    warnings.extend(unpinned_builds(inputs, model));
    inputs.attach_sources(&mut warnings);
    warnings
}

/// With security gates: one warning for the images with a gated base whose
/// build is not sent `base_digest`. The gate holds the rebuild's trigger,
/// not the build's pull: a build that pulls its base by tag gets whatever
/// the tag points to then, a digest the gate held included.
fn unpinned_builds(inputs: &Inputs, model: &Model) -> Option<Diagnostic> {
    inputs.settings.security.as_ref()?;
    let images: Vec<&str> = model
        .managed
        .iter()
        .filter(|m| !m.inputs.contains(&"base_digest"))
        .filter(|m| {
            m.bases.iter().any(|b| match b {
                crate::model::BaseRef::Upstream(u) => {
                    super::security::gates(model, *u, &inputs.settings)
                }
                crate::model::BaseRef::Managed(_) => false,
            })
        })
        .map(|m| m.name.as_str())
        .collect();
    if images.is_empty() {
        return None;
    }
    let shown: Vec<&str> = images.iter().take(5).copied().collect();
    let more = images.len() - shown.len();
    Some(
        Diagnostic::warning(format!(
            "{} image(s) with a security-gated base are rebuilt without `base_digest` ({}{}): the gate holds the rebuild, not the build's pull, so a build that pulls its base by tag may use a digest the gate held",
            images.len(),
            shown.join(", "),
            if more > 0 { format!(" and {more} more") } else { String::new() }
        ))
        .help("declare `base_digest` (and `base_image`) as workflow_dispatch inputs (GitLab: variables), pin each base to the digest given (see `docker buildx build --build-context` in the guide's Security gates page), and run `imgf analyze` or list them in the image's `source.inputs`"),
    )
}
