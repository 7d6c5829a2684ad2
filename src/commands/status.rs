//! `imgf status`: read the enrollment and state, compute what is stale and
//! why ([`crate::ops::status`]), print it as a table, JSON or Prometheus metrics.

use std::io::Write;

use super::{json_line, load_model, write_out};
use crate::cli::{StatusArgs, StatusFormat};
use crate::diagnostic::{Diagnostic, Error};
use crate::timestamp::Timestamp;
use crate::ExitStatus;

/// `imgf status`.
pub(crate) fn run(
    args: &StatusArgs,
    ui: crate::Ui,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<ExitStatus, Error> {
    let json = args.format == StatusFormat::Json;
    let result = status(args, ui, out, err);
    super::json_errors(result, json, out)
}

fn status(
    args: &StatusArgs,
    ui: crate::Ui,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<ExitStatus, Error> {
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
    let (inputs, model) = load_model(&args.input, ui, err)?;
    let graph = crate::graph::build(&model).map_err(Error::input)?;
    let (images, bases) = super::explain::full_states(&inputs);
    let status = crate::ops::status::compute(&model, &graph, &images, &bases, stale_after, now);
    let text = match args.format {
        StatusFormat::Table => crate::ops::status::table(&status),
        StatusFormat::Json => json_line(&status),
        StatusFormat::Prometheus => crate::ops::status::prometheus(&status),
    };
    write_out(out, &text)?;
    Ok(ExitStatus::Success)
}
