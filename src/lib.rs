//! imgf keeps container images fresh with Kargo.
//!
//! The synth pipeline, one module per step:
//! [`load`] (reading [`config`] and [`state`]) → [`merge`] → [`graph`] →
//! [`targets`] (objects per output) → [`emit`]. Merge, graph and targets are
//! pure functions of their inputs; outputs and state files are written
//! through [`fs`].
//! [`names`] owns every naming rule, [`values`] every rule about what a user
//! value may contain. Analysis: [`dockerfile`] reads FROM lines,
//! [`ops::discovery`] decides what the state files say. The operations
//! ([`ops`]: synth, status, updates check, graph, discovery) each compute
//! one typed report. ARCHITECTURE.md gives the layers, and the rule a test
//! holds them to.

pub mod cli;
pub(crate) mod commands;
pub mod config;
pub mod diagnostic;
pub mod dockerfile;
pub mod duration;
pub mod emit;
pub(crate) mod fs;
pub(crate) mod git;
pub mod graph;
pub mod image_ref;
pub mod load;
pub mod merge;
pub mod model;
pub(crate) mod names;
pub mod ops;
pub(crate) mod par;
pub mod security;
pub(crate) mod shell;
pub mod state;
pub mod targets;
pub(crate) mod timestamp;
pub(crate) mod values;
pub(crate) mod yaml_walk;

use std::io::Write;

pub use commands::complete::{completing_command, COMPLETE_VAR};
pub use diagnostic::{Diagnostic, Error};
pub use shell::Ui;

/// How a successful command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// Done (exit 0).
    Success,
    /// `--check` found the output out of date (exit 1).
    Drift,
    /// `updates check` found problems (exit 1, as ripgrep and uv do).
    Problems,
    /// `updates check` could not check every target (exit 2): a repository
    /// could not be fetched. Its reasons were written already.
    Incomplete,
}

impl ExitStatus {
    /// The process exit code.
    pub fn code(self) -> u8 {
        match self {
            ExitStatus::Success => 0,
            ExitStatus::Drift | ExitStatus::Problems => 1,
            ExitStatus::Incomplete => 2,
        }
    }
}

/// Runs a parsed command line, writing data to `out` and messages to `err`
/// (plain text, no progress line).
pub fn run(cli: cli::Cli, out: &mut dyn Write, err: &mut dyn Write) -> Result<ExitStatus, Error> {
    run_with(cli, Ui::default(), out, err)
}

/// [`run`], using the terminal as `ui` says.
pub fn run_with(
    cli: cli::Cli,
    ui: Ui,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<ExitStatus, Error> {
    let mut shell = shell::Shell::new(ui, out, err);
    let shell = &mut shell;
    match cli.command {
        cli::Command::Synth(args) => commands::synth::run(&args, shell),
        cli::Command::Enroll(args) => commands::enroll::run_enroll(&args, shell),
        cli::Command::Unenroll(args) => commands::enroll::run_unenroll(&args, shell),
        cli::Command::Graph(args) => commands::graph::run(&args, shell),
        cli::Command::Analyze(args) => commands::analyze::run(&args, shell),
        cli::Command::RecordUpdate(args) => commands::record_update::run(&args, shell),
        cli::Command::Schema(args) => commands::schema::run(&args, shell),
        cli::Command::Explain(args) => commands::explain::run(&args, shell),
        cli::Command::Emergency(args) => commands::emergency::run(&args, shell),
        cli::Command::Updates(cli::UpdatesCommand::Check(args)) => {
            commands::updates::check(&args, shell)
        }
        cli::Command::Inspect(cli::InspectCommand::Dockerfile(args)) => {
            commands::inspect::dockerfile(&args, shell)
        }
        cli::Command::Inspect(cli::InspectCommand::Ref(args)) => {
            commands::inspect::reference(&args, shell)
        }
        cli::Command::Completions(args) => commands::complete::completions(&args, shell),
        cli::Command::Man(args) => commands::man::run(&args, shell),
        cli::Command::Docs(args) => commands::docs::run(&args, shell),
        cli::Command::Status(args) => commands::status::run(&args, shell),
        cli::Command::Security(cmd) => commands::security::run(&cmd, shell),
    }
}
