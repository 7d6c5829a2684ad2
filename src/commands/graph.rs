//! `imgf graph`: the dependency graph, drawn.

use std::io::Write;

use super::{load_model, write_out};
use crate::cli::GraphArgs;
use crate::diagnostic::Error;
use crate::ExitStatus;

/// `imgf graph`; with `--format json`, errors as `{"errors": [...]}` on
/// stdout too.
pub(crate) fn run(
    args: &GraphArgs,
    ui: crate::Ui,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<ExitStatus, Error> {
    let json = args.format == crate::cli::GraphFormat::Json;
    super::json_errors(graph(args, ui, out, err), json, out)
}

fn graph(
    args: &GraphArgs,
    ui: crate::Ui,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<ExitStatus, Error> {
    let (_, model) = load_model(&args.input, ui, err)?;
    // A cycle is drawn, highlighted, not refused (synth refuses it): the
    // drawing is how to see it. Each is a warning all the same.
    let graph = crate::graph::build_for_drawing(&model);
    let warnings = crate::ops::graph::cycle_warnings(&graph, &model);
    super::print_warnings(&warnings, ui, err)?;
    write_out(
        out,
        &crate::ops::graph::render(&graph, &model, args.format.into()),
    )?;
    Ok(ExitStatus::Success)
}
