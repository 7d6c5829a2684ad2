//! Operations built on the pipeline: each computes one typed report
//! (`Serialize` + `JsonSchema`) that the commands render as text or JSON.

pub(crate) mod emergency;
pub(crate) mod explain;
#[cfg(test)]
mod shape;
