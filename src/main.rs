//! The `imgf` binary: parse the arguments, decide how to use the terminal,
//! run, map the outcome to an exit code.

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches};
use imgf::cli::{Cli, ColorWhen};

fn main() -> ExitCode {
    // `--color` is read before clap parses, so clap's help and usage errors
    // follow it too.
    let when = ColorWhen::from_args(std::env::args_os()).unwrap_or_default();
    let matches = Cli::command().color(when.for_clap()).get_matches();
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    let (stdout, stderr) = (std::io::stdout(), std::io::stderr());
    let env = |name: &str| std::env::var_os(name).map(|v| v.to_string_lossy().into_owned());
    let ui = imgf::Ui {
        colour: cli.color.enabled(stderr.is_terminal(), env),
        // A dumb terminal cannot clear a line.
        progress: stderr.is_terminal() && env("TERM").as_deref() != Some("dumb"),
    };
    match imgf::run_with(cli, ui, &mut stdout.lock(), &mut stderr.lock()) {
        Ok(status) => ExitCode::from(status.code()),
        Err(imgf::Error::Io { source, .. }) if source.kind() == std::io::ErrorKind::BrokenPipe => {
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{}", e.render(ui.colour));
            ExitCode::from(e.exit_code())
        }
    }
}
