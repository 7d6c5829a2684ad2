//! `imgf explain IMAGE`: read the enrollment and state, build the report of
//! how the image is rebuilt and what it waits for ([`crate::ops::explain`]),
//! print it as text or JSON.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::cli::{ExplainArgs, OutputFormat};
use crate::diagnostic::{Diagnostic, Error};
use crate::model::BaseRef;
use crate::shell::Shell;
use crate::state::{BaseImageState, ImageState};
use crate::targets::kargo::runbook;
use crate::timestamp::Timestamp;
use crate::ExitStatus;

pub(super) fn full_states(
    inputs: &crate::load::Inputs,
) -> (
    BTreeMap<String, ImageState>,
    BTreeMap<String, BaseImageState>,
) {
    let images = inputs
        .image_states
        .iter()
        .map(|s| (s.stem.clone(), s.data.clone()))
        .collect();
    let bases = inputs
        .base_states
        .iter()
        .map(|s| (s.stem.clone(), s.data.clone()))
        .collect();
    (images, bases)
}

/// `imgf explain IMAGE`.
pub(crate) fn run(args: &ExplainArgs, shell: &mut Shell<'_>) -> Result<ExitStatus, Error> {
    let json = args.format == OutputFormat::Json;
    let result = explain(args, shell);
    shell.json_errors(json, result)
}

fn explain(args: &ExplainArgs, shell: &mut Shell<'_>) -> Result<ExitStatus, Error> {
    let (inputs, model) = shell.load_model(&args.input)?;
    let graph = crate::graph::build(&model).map_err(Error::input)?;
    let i = match runbook::find_managed(&model, &args.image) {
        Ok(i) => i,
        Err(unknown) => {
            let Some(u) = runbook::upstream_named(&model, &args.image) else {
                return Err(Error::input(unknown));
            };
            let on: Vec<String> = graph
                .order
                .iter()
                .map(|i| &model.managed[*i])
                .filter(|m| m.bases.contains(&BaseRef::Upstream(u)))
                .map(|m| format!("`{}`", m.name))
                .collect();
            let mut help = "explain takes an image enrolled with a `source`".to_string();
            if !on.is_empty() {
                let _ = write!(help, "; built on it: {}", on.join(", "));
            }
            return Err(Error::input(
                Diagnostic::error(format!(
                    "`{}` is watched upstream only: imgf never rebuilds it",
                    args.image
                ))
                .help(help),
            ));
        }
    };
    let (images, bases) = full_states(&inputs);
    let (state, now) = (images.get(&args.image), Timestamp::now());
    let recorded = crate::ops::explain::Recorded {
        image: state,
        bases: &bases,
        scans: &inputs.scans,
    };
    let report = crate::ops::explain::report(&model, &graph, &inputs.settings, i, &recorded, now);
    match args.format {
        OutputFormat::Text => shell.out_str(&report.text())?,
        OutputFormat::Json => shell.out_json(&report)?,
    }
    Ok(ExitStatus::Success)
}
