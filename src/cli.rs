//! The command line: clap definitions only. Each subcommand's work lives in
//! [`crate::commands`].

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::graph::Format;

#[derive(Debug, Parser)]
#[command(name = "imgf", version, about = "Keep container images fresh with Kargo", long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Generate the Kargo manifests from images.yaml and the state files.
    Synth(SynthArgs),
    /// Print the base-image dependency graph.
    Graph(GraphArgs),
}

/// Where the enrollment lives and the settings that override it.
#[derive(Debug, Clone, Args)]
pub struct InputArgs {
    /// The directory holding images.yaml and the state files.
    #[arg(long, default_value = "image-factory", value_name = "DIR")]
    pub dir: PathBuf,
    /// A settings file to use instead of DIR/settings.yaml.
    #[arg(long, value_name = "FILE")]
    pub settings: Option<PathBuf>,
    /// The Kargo project (and namespace) name; overrides the settings file.
    #[arg(long, value_name = "NAME")]
    pub project: Option<String>,
    /// The container image that runs `imgf analyze`; overrides the settings file.
    #[arg(long, value_name = "IMAGE")]
    pub analysis_image: Option<String>,
}

#[derive(Debug, Args)]
pub struct SynthArgs {
    #[command(flatten)]
    pub input: InputArgs,
    /// Where to write the manifests; `-` for standard output.
    #[arg(
        long,
        short,
        default_value = "dist/image-factory.k8s.yaml",
        value_name = "FILE|-"
    )]
    pub output: PathBuf,
    /// Write nothing; exit 1 with a diff if the output file is out of date.
    #[arg(long)]
    pub check: bool,
    /// Do not print warnings.
    #[arg(long, short)]
    pub quiet: bool,
}

#[derive(Debug, Args)]
pub struct GraphArgs {
    #[command(flatten)]
    pub input: InputArgs,
    /// Output format.
    #[arg(long, value_enum, default_value = "mermaid")]
    pub format: Format,
}
