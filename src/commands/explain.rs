//! `imgf explain IMAGE`: read the enrollment and state, ask the Kargo
//! runbook how the image is rebuilt and what it waits for, print it.

use std::collections::BTreeMap;
use std::io::Write;

use super::{load_model, write_out};
use crate::cli::ExplainArgs;
use crate::config::state::{BaseImageState, ImageState};
use crate::diagnostic::{Diagnostic, Error};
use crate::timestamp::Timestamp;
use crate::ExitStatus;

pub(super) fn full_states(
    inputs: &crate::config::load::Inputs,
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
pub(crate) fn run(
    args: &ExplainArgs,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<ExitStatus, Error> {
    let (inputs, model) = load_model(&args.input, err)?;
    let Some(i) = model.managed.iter().position(|m| m.name == args.image) else {
        let external = model.upstream.iter().any(|u| u.name == args.image);
        return Err(Error::input(
            Diagnostic::error(format!(
                "`{}` is {}",
                args.image,
                if external {
                    "watched upstream only: imgf never rebuilds it"
                } else {
                    "not a managed image"
                }
            ))
            .help("explain takes an image enrolled with a `source`"),
        ));
    };
    let (images, bases) = full_states(&inputs);
    let text = crate::targets::kargo::runbook::explain(
        &model,
        &inputs.settings,
        i,
        images.get(&args.image),
        &bases,
        Timestamp::now(),
    );
    write_out(out, &text)?;
    Ok(ExitStatus::Success)
}
