//! The synth pipeline, end to end and pure: inputs → merge → graph → the
//! objects of a target → YAML. Usable as a library call without the CLI.

use crate::config::load::Inputs;
use crate::diagnostic::{Diagnostic, Error};
use crate::graph::Graph;
use crate::model::Model;
use crate::targets::Target;

/// The outcome of a synth run.
#[derive(Debug, Clone)]
pub struct Synthesis {
    pub model: Model,
    pub graph: Graph,
    /// The YAML stream, exactly as written.
    pub yaml: crate::emit::Stream,
    pub warnings: Vec<Diagnostic>,
}

/// Runs every step on what `load` read, for `target`, keeping the YAML in
/// memory (see [`prepare`] to stream it instead).
pub fn synthesize(inputs: &Inputs, target: Target) -> Result<Synthesis, Error> {
    let prepared = prepare(inputs, target)?;
    let yaml = prepared.rendering()?.to_stream()?;
    Ok(Synthesis {
        model: prepared.model,
        graph: prepared.graph,
        yaml,
        warnings: prepared.warnings,
    })
}

/// The steps before the objects: the model, its graph and the warnings.
#[derive(Debug)]
pub struct Prepared<'a> {
    inputs: &'a Inputs,
    target: Ready,
    pub model: Model,
    pub graph: Graph,
    pub warnings: Vec<Diagnostic>,
}

/// The target, with what it needs beyond the model.
#[derive(Debug)]
enum Ready {
    Kargo,
    Flux,
    Backstage,
}

/// Merges `inputs` and builds the graph, for `target`.
pub fn prepare(inputs: &Inputs, target: Target) -> Result<Prepared<'_>, Error> {
    // Values only Kargo refuses are errors of the Kargo target alone,
    // reported with the merge's problems.
    let kargo = target == Target::Kargo;
    let (model, mut warnings) = match crate::merge::merge(inputs) {
        Ok((model, warnings)) => {
            let refused = if kargo {
                crate::merge::kargo_problems(inputs, Some(&model))
            } else {
                Vec::new()
            };
            if !refused.is_empty() {
                return Err(Error::Input(warnings.into_iter().chain(refused).collect()));
            }
            (model, warnings)
        }
        Err(Error::Input(mut diags)) if kargo => {
            diags.extend(crate::merge::kargo_problems(inputs, None));
            return Err(Error::Input(diags));
        }
        Err(e) => return Err(e),
    };
    let graph =
        crate::graph::build(&model).map_err(|d| Error::input(d.in_file(&inputs.images_file)))?;
    let target = match target {
        Target::Kargo => {
            let mut problems = kargo_warnings(inputs, &model);
            inputs.attach_sources(&mut problems);
            warnings.extend(problems);
            warnings = crate::diagnostic::into_result(warnings)?;
            Ready::Kargo
        }
        Target::Flux => {
            warnings.extend(crate::targets::flux::losses(&model));
            warnings.extend(crate::targets::flux::missing_credentials(
                &model,
                &inputs.settings,
            ));
            Ready::Flux
        }
        Target::Backstage => Ready::Backstage,
    };
    Ok(Prepared {
        inputs,
        target,
        model,
        graph,
        warnings,
    })
}

impl Prepared<'_> {
    /// The target's objects, ready to render: made one at a time as they
    /// are written. Fails when two objects of a kind would share a name.
    pub fn rendering(&self) -> Result<crate::emit::Rendering<'_>, Error> {
        let (model, graph, settings) = (&self.model, &self.graph, &self.inputs.settings);
        Ok(match &self.target {
            Ready::Kargo => {
                let out = crate::targets::kargo::output(model, graph, settings)?;
                crate::emit::Rendering::new(out.len(), move |i| out.get(i))
            }
            Ready::Flux => {
                let out = crate::targets::flux::output(model, settings)?;
                crate::emit::Rendering::new(out.len(), move |i| out.get(i))
            }
            Ready::Backstage => {
                let out = crate::targets::backstage::output(model, graph, settings)?;
                crate::emit::Rendering::new(out.len(), move |i| out.get(i))
                    .with_header(crate::targets::backstage::HEADER)
            }
        })
    }
}

/// What the Kargo output cannot do with these inputs: errors and warnings.
fn kargo_warnings(inputs: &Inputs, model: &Model) -> Vec<Diagnostic> {
    let mut warnings =
        crate::targets::kargo::preflight::problems(model, &inputs.images_file, &inputs.images_text);
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
    warnings
}
