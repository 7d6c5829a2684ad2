//! `imgf completions` and `imgf man`: generated from the clap definitions in
//! [`crate::cli`], so they never drift from the real command line.

use std::io::Write;
use std::path::Path;

use clap::CommandFactory;

use crate::cli::{Cli, CompletionsArgs};
use crate::diagnostic::Error;
use crate::ExitStatus;

pub(crate) fn completions(
    args: &CompletionsArgs,
    out: &mut dyn Write,
) -> Result<ExitStatus, Error> {
    let mut cmd = Cli::command();
    let mut buf = Vec::new();
    clap_complete::generate(args.shell, &mut cmd, "imgf", &mut buf);
    write_bytes(out, &buf)
}

pub(crate) fn man(out: &mut dyn Write) -> Result<ExitStatus, Error> {
    let mut buf = Vec::new();
    clap_mangen::Man::new(Cli::command())
        .render(&mut buf)
        .map_err(|e| Error::io("cannot render the man page to", Path::new("stdout"), e))?;
    write_bytes(out, &buf)
}

fn write_bytes(out: &mut dyn Write, bytes: &[u8]) -> Result<ExitStatus, Error> {
    out.write_all(bytes)
        .map_err(|e| Error::io("cannot write to", Path::new("stdout"), e))?;
    Ok(ExitStatus::Success)
}
