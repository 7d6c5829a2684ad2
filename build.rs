//! Tells the tests what of their surroundings is there, as cfgs:
//! - `has_shared`: `../shared` (the reference fixtures, corpus and schemas
//!   beside this repository);
//! - `has_shellcheck`: a `shellcheck` program on PATH.
//!
//! The tests that need one are `#[cfg_attr(not(has_…), ignore = "…")]`, so
//! `cargo test` lists them as ignored without it, and `cargo test --
//! --include-ignored` (CI) runs them, failing when it is missing and `CI` is
//! set (tests/it/support.rs).
//!
//! What is there is watched: Cargo re-runs this script when `../shared`
//! changes or goes away, or shellcheck does. What is missing is not (a
//! missing watched path would re-run this script, and so rebuild the crate,
//! on every build): after adding `../shared` or installing shellcheck,
//! `touch build.rs` — the test `support::the_shared_cfg_matches_the_disk`
//! says so when needed.

use std::path::{Path, PathBuf};

fn main() {
    println!("cargo::rustc-check-cfg=cfg(has_shared, has_shellcheck)");
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-env-changed=PATH");
    let dir = std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let shared = Path::new(&dir).join("../shared");
    if shared.is_dir() {
        println!("cargo::rerun-if-changed=../shared");
        println!("cargo::rustc-cfg=has_shared");
    }
    if let Some(shellcheck) = on_path("shellcheck") {
        println!("cargo::rerun-if-changed={}", shellcheck.display());
        println!("cargo::rustc-cfg=has_shellcheck");
    }
}

/// The first `name` on PATH that is a file.
fn on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}
