//! Benchmark: `imgf analyze` throughput on 1,000 generated Dockerfiles
//! (multi-stage, ARGs in FROM, heredocs), first run (everything new) and
//! steady state (nothing changed), plus the parser alone, in process.
//! Run with `cargo bench --bench analyze`.

// Rates printed to whole numbers: counts far below 2^52, so converting them
// to f64 loses nothing.
#![allow(clippy::cast_precision_loss)]

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

fn dockerfile(i: usize) -> String {
    let bases = [
        "node", "python", "golang", "alpine", "debian", "nginx", "rust",
    ];
    let a = bases[i % bases.len()];
    let b = bases[(i / 7) % bases.len()];
    format!(
        "# syntax=docker/dockerfile:1\nARG VERSION={}\nARG BASE={b}:{}-slim\nFROM --platform=$BUILDPLATFORM {a}:${{VERSION}}-bookworm AS build\nRUN <<EOF\nset -e\nmake build\nEOF\nCOPY . /src\nFROM ${{BASE}}\nCOPY --from=build /src/out /app\nUSER 65532\nENTRYPOINT [\"/app\"]\n",
        10 + i % 13,
        i % 5
    )
}

fn generate(root: &Path, n: usize) {
    let mut images = String::new();
    for i in 0..n {
        let name = format!("svc-{i:04}");
        let path = root.join(format!("services/{name}/Dockerfile"));
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, dockerfile(i)).unwrap();
        writeln!(
            images,
            "- name: {name}\n  registry: ghcr.io\n  repository: example-org/{name}\n  source:\n    repo: example-org/mono\n    dockerfile: services/{name}/Dockerfile\n    workflow: {name}.yml"
        )
        .unwrap();
    }
    std::fs::create_dir_all(root.join("image-factory")).unwrap();
    std::fs::write(root.join("image-factory/images.yaml"), images).unwrap();
}

fn main() {
    let n = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(1_000usize);
    let tmp = tempfile::tempdir().unwrap();
    generate(tmp.path(), n);
    let run = || {
        let start = Instant::now();
        let out = Command::new(env!("CARGO_BIN_EXE_imgf"))
            .args(["analyze", "--dir", "image-factory"])
            .current_dir(tmp.path())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        start.elapsed()
    };
    let first = run();
    let mut steady: Vec<_> = (0..5).map(|_| run()).collect();
    steady.sort();
    let steady = steady[2];
    let texts: Vec<String> = (0..n).map(dockerfile).collect();
    let start = Instant::now();
    let rounds = 20;
    for _ in 0..rounds {
        for t in &texts {
            std::hint::black_box(
                imgf::dockerfile::read_bases(t, &imgf::dockerfile::Options::default()).unwrap(),
            );
        }
    }
    let parse = start.elapsed() / rounds;
    println!("imgf analyze, {n} Dockerfiles, release binary");
    println!(
        "  first run (all new state files):   {:>8.1} ms  {:>9.0} Dockerfiles/s",
        first.as_secs_f64() * 1e3,
        n as f64 / first.as_secs_f64()
    );
    println!(
        "  steady state (nothing changed):    {:>8.1} ms  {:>9.0} Dockerfiles/s",
        steady.as_secs_f64() * 1e3,
        n as f64 / steady.as_secs_f64()
    );
    println!(
        "  parsing and resolution alone:      {:>8.1} ms  {:>9.0} Dockerfiles/s",
        parse.as_secs_f64() * 1e3,
        n as f64 / parse.as_secs_f64()
    );
}
