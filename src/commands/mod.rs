//! The subcommands, one file each: each reads its inputs, runs the pure
//! pipeline, and writes its output. With `config` and `emit`, the only code
//! that touches the outside world. This file holds what several share.

use std::io::Write;
use std::path::Path;

pub(crate) mod analyze;
pub(crate) mod emergency;
pub(crate) mod enroll;
pub(crate) mod explain;
pub(crate) mod git;
pub(crate) mod graph;
pub(crate) mod inspect;
pub(crate) mod integrate;
pub(crate) mod record_update;
pub(crate) mod schema;
pub(crate) mod security;
mod state_repo;
pub(crate) mod status;
pub(crate) mod synth;
pub(crate) mod updates;

use crate::cli::InputArgs;
use crate::config::settings::Overrides;
use crate::diagnostic::{Diagnostic, Error};
use crate::load::{self, Inputs};

pub(crate) fn read_inputs(args: &InputArgs) -> Result<Inputs, Error> {
    let overrides = Overrides {
        project: args.project.clone(),
        analysis_image: args.analysis_image.clone(),
    };
    load::load(&args.dir.path, args.settings.as_deref(), &overrides)
}

/// Reads `--dir` and merges it into the model, printing merge warnings.
pub(crate) fn load_model(
    args: &InputArgs,
    ui: crate::Ui,
    err: &mut dyn Write,
) -> Result<(Inputs, crate::model::Model), Error> {
    let inputs = read_inputs(args)?;
    let (model, warnings) = crate::merge::merge(&inputs)?;
    print_warnings(&warnings, ui, err)?;
    Ok((inputs, model))
}

pub(crate) fn print_warnings(
    warnings: &[Diagnostic],
    ui: crate::Ui,
    err: &mut dyn Write,
) -> Result<(), Error> {
    for w in warnings {
        writeln!(err, "{}", w.render(ui.colour))
            .map_err(|e| Error::io("cannot write to", Path::new("stderr"), e))?;
    }
    Ok(())
}

pub(crate) fn write_out(out: &mut dyn Write, text: &str) -> Result<(), Error> {
    out.write_all(text.as_bytes())
        .map_err(|e| Error::io("cannot write to", Path::new("stdout"), e))
}

/// `value` as pretty JSON and a newline.
pub(crate) fn json_line<T: serde::Serialize>(value: &T) -> String {
    let mut s = serde_json::to_string_pretty(value).expect("plain data always serializes");
    s.push('\n');
    s
}

/// With `--format json`, a failed command also writes its errors to `out`
/// as JSON ([`Error::to_json`]); the error is returned all the same (the
/// text on stderr and the exit code do not change).
pub(crate) fn json_errors(
    result: Result<crate::ExitStatus, Error>,
    json: bool,
    out: &mut dyn Write,
) -> Result<crate::ExitStatus, Error> {
    if let (Err(e), true) = (&result, json) {
        // Stdout failing too must not hide the error itself (stderr has it).
        let _ = write_out(out, &json_line(&e.to_json()));
    }
    result
}
