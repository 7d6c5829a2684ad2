//! Tells the tests what of their surroundings is there, as cfgs:
//! - `has_shared`: `../shared` (the reference fixtures, corpus and schemas
//!   beside this repository);
//! - `has_shellcheck`: a `shellcheck` program on PATH;
//! - `has_groff`: a `groff` program on PATH (the man pages are rendered);
//! - `has_actionlint`: an `actionlint` program on PATH (.ci/run installs one);
//! - `has_python_deps`: `python3` with the modules `yaml` and `jsonschema`
//!   (for `../shared/tools/validate-manifests`);
//! - `has_cluster`: a `kubectl` on PATH that reaches a cluster
//!   (`kubectl version` answers; for the quick start's `kubectl apply`);
//! - `as_root`: the build runs as root (uid 0), as the tests then do (a file
//!   can be given to another owner).
//!
//! The tests that need one are `#[cfg_attr(not(has_…), ignore = "…")]`, so
//! `cargo test` lists them as ignored without it, and `cargo test --
//! --include-ignored` (CI) runs them, failing when it is missing and `CI` is
//! set (tests/it/support.rs).
//!
//! What is there is watched: Cargo re-runs this script when `../shared`
//! changes or goes away, or one of the programs does. What is missing is
//! not (a missing watched path would re-run this script, and so rebuild the
//! crate, on every build), nor are Python's modules: after adding
//! `../shared` or installing one of them, `touch build.rs` — the test
//! `support::the_shared_cfg_matches_the_disk` says so when needed. A cluster
//! is looked for again when `KUBECONFIG`, PATH or `kubectl` changes.

use std::path::{Path, PathBuf};

fn main() {
    println!(
        "cargo::rustc-check-cfg=cfg(has_shared, has_shellcheck, has_groff, has_actionlint, has_python_deps, has_cluster, as_root)"
    );
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-env-changed=PATH");
    let dir = std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let shared = Path::new(&dir).join("../shared");
    if shared.is_dir() {
        println!("cargo::rerun-if-changed=../shared");
        println!("cargo::rustc-cfg=has_shared");
    }
    for (program, cfg) in [
        ("shellcheck", "has_shellcheck"),
        ("groff", "has_groff"),
        ("actionlint", "has_actionlint"),
    ] {
        if let Some(path) = on_path(program) {
            println!("cargo::rerun-if-changed={}", path.display());
            println!("cargo::rustc-cfg={cfg}");
        }
    }
    let python_deps = std::process::Command::new("python3")
        .args(["-c", "import yaml, jsonschema"])
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if python_deps {
        println!("cargo::rustc-cfg=has_python_deps");
    }
    println!("cargo::rerun-if-env-changed=KUBECONFIG");
    if let Some(kubectl) = on_path("kubectl") {
        println!("cargo::rerun-if-changed={}", kubectl.display());
        if succeeds("kubectl", &["version", "--request-timeout=5s"]) {
            println!("cargo::rustc-cfg=has_cluster");
        }
    }
    let uid = std::process::Command::new("id").arg("-u").output();
    if uid.is_ok_and(|o| o.status.success() && o.stdout.trim_ascii() == b"0") {
        println!("cargo::rustc-cfg=as_root");
    }
}

/// Whether `program ARGS…` runs and exits 0 (its output unseen).
fn succeeds(program: &str, args: &[&str]) -> bool {
    std::process::Command::new(program)
        .args(args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// The first `name` on PATH that is a file.
fn on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}
