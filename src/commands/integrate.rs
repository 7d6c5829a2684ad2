//! `imgf completions` and `imgf man`: generated from the clap definitions in
//! [`crate::cli`], so they never drift from the real command line.

use std::path::Path;

use clap::CommandFactory;

use crate::cli::{Cli, CompletionsArgs};
use crate::diagnostic::Error;
use crate::shell::Shell;
use crate::ExitStatus;

pub(crate) fn completions(
    args: &CompletionsArgs,
    shell: &mut Shell<'_>,
) -> Result<ExitStatus, Error> {
    let mut cmd = Cli::command();
    let mut buf = Vec::new();
    clap_complete::generate(args.shell, &mut cmd, "imgf", &mut buf);
    write_bytes(shell, &buf)
}

pub(crate) fn man(shell: &mut Shell<'_>) -> Result<ExitStatus, Error> {
    let mut buf = Vec::new();
    clap_mangen::Man::new(Cli::command())
        .render(&mut buf)
        .map_err(|e| Error::io("cannot render the man page to", Path::new("stdout"), e))?;
    write_bytes(shell, &buf)
}

fn write_bytes(shell: &mut Shell<'_>, bytes: &[u8]) -> Result<ExitStatus, Error> {
    shell.out_with(|out| out.write_all(bytes))?;
    Ok(ExitStatus::Success)
}
