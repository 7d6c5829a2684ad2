//! imgf keeps container images fresh with Kargo.
//!
//! The synth pipeline, one module per step:
//! [`config`] (load) → [`merge`] → [`graph`] → [`resources`] → [`emit`].
//! Merge, graph and resources are pure functions of their inputs; only
//! `config::load`, `emit` and [`commands`] touch files. [`names`] owns every
//! naming rule, [`values`] every rule about what a user value may contain,
//! and [`expr`] every Kargo expression.

pub mod cli;
pub mod commands;
pub mod config;
pub mod diagnostic;
pub mod discovery;
pub mod dockerfile;
pub mod emit;
pub mod expr;
pub mod graph;
pub mod image_ref;
pub mod merge;
pub mod model;
pub mod names;
pub(crate) mod par;
pub mod policy;
pub mod resources;
pub mod synth;
pub mod timestamp;
pub mod values;

use std::io::Write;

pub use diagnostic::{Diagnostic, Error};

/// How a successful command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// Done (exit 0).
    Success = 0,
    /// `--check` found the output out of date (exit 1).
    Drift = 1,
}

/// Runs a parsed command line, writing data to `out` and messages to `err`.
pub fn run(cli: cli::Cli, out: &mut dyn Write, err: &mut dyn Write) -> Result<ExitStatus, Error> {
    match cli.command {
        cli::Command::Synth(args) => commands::synth(&args, out, err),
        cli::Command::Graph(args) => commands::graph(&args, out, err),
        cli::Command::Analyze(args) => commands::analyze::run(&args, err),
        cli::Command::RecordUpdate(args) => commands::record_update::run(&args, err),
        cli::Command::Schema(args) => commands::schema(&args, out),
        cli::Command::Explain(args) => commands::policy::explain(&args, out, err),
        cli::Command::Emergency(args) => commands::policy::emergency(&args, out, err),
        cli::Command::Inspect(cli::InspectCommand::Dockerfile(args)) => {
            commands::inspect_dockerfile(&args, out)
        }
        cli::Command::Inspect(cli::InspectCommand::Ref(args)) => commands::inspect_ref(&args, out),
    }
}
