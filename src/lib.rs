//! imgf keeps container images fresh with Kargo.
//!
//! The synth pipeline, one module per step:
//! [`load`] (reading [`config`] and [`state`]) → [`merge`] → [`graph`] →
//! [`targets`] (objects per output) → [`emit`]. Merge, graph and targets are
//! pure functions of their inputs; outputs and state files are written
//! through [`fs`].
//! [`names`] owns every naming rule, [`values`] every rule about what a user
//! value may contain. Analysis: [`dockerfile`] reads FROM lines, [`discovery`] decides
//! what the state files say. ARCHITECTURE.md gives the layers, and the rule
//! a test holds them to.

pub(crate) mod argocd;
pub mod cli;
pub(crate) mod commands;
pub mod config;
pub mod diagnostic;
pub(crate) mod discovery;
pub mod dockerfile;
pub mod duration;
pub mod emit;
pub(crate) mod fs;
pub mod graph;
pub mod image_ref;
pub mod load;
pub mod merge;
pub mod model;
pub(crate) mod names;
pub(crate) mod par;
pub mod security;
pub mod state;
pub mod status;
pub mod synth;
pub mod targets;
pub(crate) mod timestamp;
pub(crate) mod update_check;
pub(crate) mod values;
pub(crate) mod yaml_walk;

use std::io::Write;

pub use diagnostic::{Diagnostic, Error};

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

/// How the messages on stderr may use the terminal. The binary decides it
/// (from `--color`, `NO_COLOR` and whether stderr is a terminal); the
/// library only follows it, so it never looks at the environment itself.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Ui {
    /// Colour diagnostics (ANSI escapes).
    pub colour: bool,
    /// stderr is a terminal: long runs may show a progress line there.
    pub progress: bool,
    /// stdout goes nowhere: it is /dev/null, or it was closed (Rust opens
    /// /dev/null in place of a closed descriptor). A command whose output
    /// must be delivered before it records anything (`emergency`) refuses.
    pub stdout_discarded: bool,
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
    match cli.command {
        cli::Command::Synth(args) => commands::synth::run(&args, ui, out, err),
        cli::Command::Enroll(args) => commands::enroll::run_enroll(&args, ui, out, err),
        cli::Command::Unenroll(args) => commands::enroll::run_unenroll(&args, ui, out, err),
        cli::Command::Graph(args) => commands::graph::run(&args, ui, out, err),
        cli::Command::Analyze(args) => commands::analyze::run(&args, ui, out, err),
        cli::Command::RecordUpdate(args) => commands::record_update::run(&args, err),
        cli::Command::Schema(args) => commands::schema::run(&args, out),
        cli::Command::Explain(args) => commands::explain::run(&args, ui, out, err),
        cli::Command::Emergency(args) => commands::emergency::run(&args, ui, out, err),
        cli::Command::Updates(cli::UpdatesCommand::Check(args)) => {
            commands::updates::check(&args, ui, out, err)
        }
        cli::Command::Inspect(cli::InspectCommand::Dockerfile(args)) => {
            commands::inspect::dockerfile(&args, out)
        }
        cli::Command::Inspect(cli::InspectCommand::Ref(args)) => {
            commands::inspect::reference(&args, out)
        }
        cli::Command::Completions(args) => commands::integrate::completions(&args, out),
        cli::Command::Man => commands::integrate::man(out),
        cli::Command::Status(args) => commands::status::run(&args, ui, out, err),
        cli::Command::Security(cmd) => commands::security::run(&cmd, err),
    }
}
