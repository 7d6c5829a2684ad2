//! Integration tests: one binary, a module per feature. Every test that runs
//! `imgf` runs the real binary on a temporary directory it builds itself.

mod analyze;
mod architecture;
mod backstage;
mod cijob;
mod cli;
mod color;
mod corpus;
mod deploy;
mod docker_reference;
mod dockerfile_errors;
mod enroll;
mod errors;
mod example;
mod files;
mod flux;
mod hostile;
mod integrate;
mod json_output;
mod layout;
mod messages;
mod policy;
mod reference;
mod reliability;
mod runbook;
mod runtime;
mod status;
mod support;
mod updates;
