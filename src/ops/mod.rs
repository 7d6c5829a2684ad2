//! The operations: each builds on the pipeline and computes one typed
//! report (`Serialize` + `JsonSchema`), which the commands render as text,
//! JSON or metrics (cargo's `ops`). `synth` and `status` are public: the
//! library's users may call them without the CLI.

pub(crate) mod discovery;
pub(crate) mod emergency;
pub(crate) mod explain;
pub(crate) mod graph;
pub mod status;
pub mod synth;
pub(crate) mod updates_check;

#[cfg(test)]
pub(crate) mod schema_check;
