//! The `imgf` binary: parse the arguments, run, map the outcome to an exit code.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = imgf::cli::Cli::parse();
    let (stdout, stderr) = (std::io::stdout(), std::io::stderr());
    match imgf::run(cli, &mut stdout.lock(), &mut stderr.lock()) {
        Ok(status) => ExitCode::from(status as u8),
        Err(imgf::Error::Io { source, .. }) if source.kind() == std::io::ErrorKind::BrokenPipe => {
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{e}");
            ExitCode::from(e.exit_code())
        }
    }
}
