//! The subcommands: each reads its inputs, runs the pure pipeline, and
//! writes its output. The only place besides `emit` that touches the outside
//! world for synth.

use std::io::Write;
use std::path::Path;

use crate::cli::{GraphArgs, InputArgs, SynthArgs};
use crate::config::load::{self, Inputs};
use crate::config::settings::Overrides;
use crate::diagnostic::{Diagnostic, Error};
use crate::{emit, synth, ExitStatus};

fn read_inputs(args: &InputArgs) -> Result<Inputs, Error> {
    let overrides = Overrides {
        project: args.project.clone(),
        analysis_image: args.analysis_image.clone(),
    };
    load::load(&args.dir, args.settings.as_deref(), &overrides)
}

fn print_warnings(warnings: &[Diagnostic], err: &mut dyn Write) -> Result<(), Error> {
    for w in warnings {
        writeln!(err, "{w}").map_err(|e| Error::io("cannot write to", Path::new("stderr"), e))?;
    }
    Ok(())
}

/// `imgf synth`.
pub fn synth(
    args: &SynthArgs,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<ExitStatus, Error> {
    let to_stdout = args.output.as_os_str() == "-";
    if args.check && to_stdout {
        return Err(Error::input(
            Diagnostic::error("--check compares with an output file, but --output is `-`")
                .help("pass the file to check with --output, or leave it at its default"),
        ));
    }
    let inputs = read_inputs(&args.input)?;
    let result = synth::synthesize(&inputs)?;
    if !args.quiet {
        print_warnings(&result.warnings, err)?;
    }
    if args.check {
        return match emit::drift(&args.output, &result.yaml)? {
            None => Ok(ExitStatus::Success),
            Some(diff) => {
                out.write_all(diff.as_bytes())
                    .map_err(|e| Error::io("cannot write to", Path::new("stdout"), e))?;
                writeln!(
                    err,
                    "error: {} is out of date; run `imgf synth` and commit the result",
                    args.output.display()
                )
                .map_err(|e| Error::io("cannot write to", Path::new("stderr"), e))?;
                Ok(ExitStatus::Drift)
            }
        };
    }
    if to_stdout {
        result
            .yaml
            .write_to(out)
            .map_err(|e| Error::io("cannot write to", Path::new("stdout"), e))?;
    } else {
        emit::write_stream(&args.output, &result.yaml)?;
    }
    Ok(ExitStatus::Success)
}

/// `imgf graph`.
pub fn graph(
    args: &GraphArgs,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<ExitStatus, Error> {
    let inputs = read_inputs(&args.input)?;
    let (model, warnings) = crate::merge::merge(&inputs)?;
    print_warnings(&warnings, err)?;
    let graph = crate::graph::build(&model).map_err(Error::input)?;
    out.write_all(graph.render(&model, args.format).as_bytes())
        .map_err(|e| Error::io("cannot write to", Path::new("stdout"), e))?;
    Ok(ExitStatus::Success)
}
