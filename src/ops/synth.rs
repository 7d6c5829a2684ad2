//! The synth pipeline, end to end and pure: inputs → merge → graph → the
//! objects of a target → YAML. Usable as a library call without the CLI.

use crate::config::settings::Settings;
use crate::diagnostic::{Diagnostic, Error};
use crate::graph::Graph;
use crate::load::Inputs;
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
/// It holds nothing of the [`Inputs`] but their settings, so a caller can
/// drop the inputs — the state files' texts and parsed values, most of
/// the memory read — before rendering.
#[derive(Debug)]
pub struct Prepared {
    settings: Settings,
    target: Target,
    pub model: Model,
    pub graph: Graph,
    pub warnings: Vec<Diagnostic>,
}

/// Merges `inputs` and builds the graph, for `target`.
pub fn prepare(inputs: &Inputs, target: Target) -> Result<Prepared, Error> {
    let spec = target.spec();
    let parts = crate::merge::Parts {
        catalog: spec.catalog,
    };
    let (model, mut warnings) = match crate::merge::merge_with(inputs, parts) {
        Ok((model, warnings)) => {
            let refused = (spec.refusals)(inputs, Some(&model));
            if !refused.is_empty() {
                return Err(Error::Input(warnings.into_iter().chain(refused).collect()));
            }
            (model, warnings)
        }
        Err(Error::Input(mut diags)) => {
            diags.extend((spec.refusals)(inputs, None));
            return Err(Error::Input(diags));
        }
        Err(e) => return Err(e),
    };
    let graph =
        crate::graph::build(&model).map_err(|d| Error::input(d.in_file(&inputs.images_file)))?;
    warnings.extend((spec.warnings)(inputs, &model));
    let warnings = crate::diagnostic::into_result(warnings)?;
    Ok(Prepared {
        settings: inputs.settings.clone(),
        target,
        model,
        graph,
        warnings,
    })
}

impl Prepared {
    /// The target's objects, ready to render: made one at a time as they
    /// are written. Fails when two objects of a kind would share a name.
    pub fn rendering(&self) -> Result<crate::emit::Rendering<'_>, Error> {
        (self.target.spec().render)(&self.model, &self.graph, &self.settings)
    }
}
