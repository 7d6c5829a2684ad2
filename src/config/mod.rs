//! Step 1: reading what users and analysis wrote — images.yaml, settings and
//! state files — into typed, checked values.

pub mod edit;
pub mod enrollment;
pub(crate) mod fast_yaml;
pub mod parse;
pub mod security;
pub mod settings;
