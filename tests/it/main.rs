//! Integration tests: one binary, a module per feature. Every test that runs
//! `imgf` runs the real binary on a temporary directory it builds itself.

mod analyze;
mod analyze_faults;
mod architecture;
mod backstage;
mod cli;
mod color;
mod completion;
mod corpus;
mod diagnostics;
mod docker_reference;
mod dockerfile_errors;
mod docs;
mod enroll;
mod errors;
mod example;
mod files;
mod flux;
mod hostile;
mod integrate;
mod json_output;
mod kargo_runtime;
mod layout;
mod man_pages;
mod quick_start;
mod rebuild_policy;
mod reference;
mod reference_pages;
mod runbook;
mod scale;
mod security;
mod state_repo_and_signals;
mod status;
mod support;
mod update_stages;
mod updates;
