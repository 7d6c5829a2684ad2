//! `imgf graph`: the dependency graph, drawn.

use crate::cli::GraphArgs;
use crate::diagnostic::Error;
use crate::shell::Shell;
use crate::ExitStatus;

/// `imgf graph`; with `--format json`, errors as `{"errors": [...]}` on
/// stdout too.
pub(crate) fn run(args: &GraphArgs, shell: &mut Shell<'_>) -> Result<ExitStatus, Error> {
    let json = args.format == crate::cli::GraphFormat::Json;
    let result = graph(args, shell);
    shell.json_errors(json, result)
}

fn graph(args: &GraphArgs, shell: &mut Shell<'_>) -> Result<ExitStatus, Error> {
    let (_, model) = shell.load_model(&args.input)?;
    // A cycle is drawn, highlighted, not refused (synth refuses it): the
    // drawing is how to see it. Each is a warning all the same.
    let graph = crate::graph::build_for_drawing(&model);
    let warnings = crate::ops::graph::cycle_warnings(&graph, &model);
    shell.diagnostics(&warnings)?;
    shell.out_str(&crate::ops::graph::render(
        &graph,
        &model,
        args.format.into(),
    ))?;
    Ok(ExitStatus::Success)
}
