//! `imgf synth`: the manifests of the enrollment, written atomically, to
//! stdout, or compared with the committed file (`--check`).

use std::io::Write;
use std::path::Path;

use super::{print_warnings, read_inputs};
use crate::cli::SynthArgs;
use crate::diagnostic::{Diagnostic, Error};
use crate::{emit, synth, ExitStatus};

/// `imgf synth`.
pub(crate) fn run(
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
    let result = synth::synthesize(&inputs, crate::targets::Target::Kargo)?;
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
