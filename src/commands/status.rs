//! `imgf status`: read the enrollment and state, compute what is stale and
//! why ([`crate::ops::status`]), print it as a table, JSON or Prometheus metrics.

use crate::cli::{StatusArgs, StatusFormat};
use crate::diagnostic::{Diagnostic, Error};
use crate::shell::Shell;
use crate::timestamp::Timestamp;
use crate::ExitStatus;

/// `imgf status`.
pub(crate) fn run(args: &StatusArgs, shell: &mut Shell<'_>) -> Result<ExitStatus, Error> {
    let json = args.format == StatusFormat::Json;
    let result = status(args, shell);
    shell.json_errors(json, result)
}

fn status(args: &StatusArgs, shell: &mut Shell<'_>) -> Result<ExitStatus, Error> {
    let stale_after = crate::duration::parse(&args.stale_after).map_err(|e| {
        Error::input(Diagnostic::error(format!(
            "--stale-after `{}`: {e}",
            args.stale_after
        )))
    })?;
    let now = match &args.now {
        None => Timestamp::now(),
        Some(t) => Timestamp::parse(t).ok_or_else(|| {
            Error::input(Diagnostic::error(format!(
                "--now `{t}` is not an RFC 3339 time like 2026-01-31T12:00:00Z"
            )))
        })?,
    };
    let (inputs, model) = shell.load_model(&args.input)?;
    let graph = crate::graph::build(&model).map_err(Error::input)?;
    let (images, bases) = super::explain::full_states(&inputs);
    let mut status = crate::ops::status::compute(
        &model,
        &graph,
        &images,
        &bases,
        &inputs.scans,
        stale_after,
        now,
    );
    status.placement = crate::ops::status::placement(&model, &inputs.settings);
    match args.format {
        StatusFormat::Table => shell.out_str(&crate::ops::status::table(&status))?,
        StatusFormat::Json => shell.out_json(&status)?,
        StatusFormat::Prometheus => shell.out_str(&crate::ops::status::prometheus(&status))?,
    }
    Ok(ExitStatus::Success)
}
