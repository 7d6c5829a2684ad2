//! Integration tests: one binary, a module per feature. Every test that runs
//! `imgf` runs the real binary on a temporary directory it builds itself.

mod analyze;
mod cli;
mod corpus;
mod errors;
mod example;
mod hostile;
mod kargo_eval;
mod policy;
mod reference;
mod runbook;
mod runtime;
mod support;
