//! Benchmark: `imgf synth` (and `synth --check`) on generated enrollments of
//! 10, 1,000 and 10,000 images shaped like a real one: 10% external images,
//! 5% built on GitLab, cascades (a tenth of the managed images are built on
//! another managed image), 1–3 bases each from a shared pool, and `updates`
//! on every fifth image.
//!
//! Runs the release binary as a child process, as users do, and reports the
//! median wall time of several runs and the child's peak resident memory
//! (from `wait4`). Run with `cargo bench --bench synth`.

// Sizes, times and rates printed to one decimal: counts and bytes far below
// 2^52, so converting them to f64 loses nothing.
#![allow(clippy::cast_precision_loss)]

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// A small deterministic generator (no `rand`: the input must be the same on
/// every machine so runs compare).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }
    fn below(&mut self, n: usize) -> usize {
        // `next` has 31 bits: it fits in any usize.
        usize::try_from(self.next()).expect("31 bits fit") % n
    }
}

/// Writes `image-factory/` with `n` managed images into `root`.
pub fn generate(root: &Path, n: usize) {
    let dir = root.join("image-factory");
    let images = dir.join("state/images");
    let bases = dir.join("state/base-images");
    std::fs::create_dir_all(&images).unwrap();
    std::fs::create_dir_all(&bases).unwrap();
    let pool = (n / 5).clamp(5, 2_000);
    let families = [
        "node",
        "python",
        "golang",
        "nginx",
        "alpine",
        "debian",
        "eclipse-temurin",
    ];
    let base_name = |i: usize| {
        format!(
            "{}-{}.{}-slim",
            families[i % families.len()],
            10 + i / families.len(),
            i % 10
        )
    };
    for i in 0..pool {
        let family = families[i % families.len()];
        let tag = format!("{}.{}-slim", 10 + i / families.len(), i % 10);
        std::fs::write(
            bases.join(format!("{}.yaml", base_name(i))),
            format!(
                "name: {}\nfullImage: {family}:{tag}\nregistry: docker.io\nrepository: library/{family}\ntag: {tag}\nrepoURL: docker.io/library/{family}\nimageSelectionStrategy: Lexical\ncurrentDigest: null\nupdateHistory: []\n",
                base_name(i)
            ),
        )
        .unwrap();
    }
    let mut rng = Lcg(42);
    let mut enrollment = String::with_capacity(n * 300);
    let mut managed: Vec<String> = Vec::new();
    for i in 0..n {
        let name = format!("service-{i:05}");
        if i % 10 == 9 {
            // An external image: watched at a tag, never built here.
            writeln!(
                enrollment,
                "- name: {name}\n  registry: quay.io\n  repository: vendor/{name}\n  tag: '{}.{}'",
                1 + i % 5,
                i % 13
            )
            .unwrap();
            continue;
        }
        let source = if i % 20 == 7 {
            format!(
                "    provider: gitlab\n    repo: group/sub/{name}\n    branch: main\n    dockerfile: Dockerfile"
            )
        } else {
            format!(
                "    repo: example-org/repo-{}\n    branch: main\n    dockerfile: services/{name}/Dockerfile\n    workflow: {name}.yml",
                i % 97
            )
        };
        write!(
            enrollment,
            "- name: {name}\n  registry: ghcr.io\n  repository: example-org/{name}\n  source:\n{source}\n  rebuildDelay: {}d\n",
            1 + i % 7
        )
        .unwrap();
        if i % 5 == 0 {
            writeln!(
                enrollment,
                "  updates:\n    - repo: example-org/deploy\n      path: apps/{name}/overlays/prod\n      type: kustomize-set-image"
            )
            .unwrap();
        }
        let k = 1 + rng.below(3);
        let mut chosen: Vec<String> = Vec::new();
        // A cascade: built on an earlier managed image.
        if managed.len() > 10 && i % 10 == 3 {
            chosen.push(managed[rng.below(managed.len())].clone());
        }
        while chosen.len() < k {
            let b = base_name(rng.below(pool));
            if !chosen.contains(&b) {
                chosen.push(b);
            }
        }
        let list: Vec<String> = chosen.iter().map(|b| format!("  - {b}")).collect();
        std::fs::write(
            images.join(format!("{name}.yaml")),
            format!(
                "name: {name}\ndiscoveryStatus: success\nbaseImages:\n{}\ncurrentVersion: 1.{}.0\ncurrentDigest: null\nworkflowInputs:\n  - name: version_bump\n    required: false\n  - name: base_digest\n    required: false\n",
                list.join("\n"),
                i % 50
            ),
        )
        .unwrap();
        managed.push(name);
    }
    std::fs::write(dir.join("images.yaml"), enrollment).unwrap();
    std::fs::write(
        dir.join("settings.yaml"),
        "analysis:\n  image: ghcr.io/example-org/imgf:0.1.0\n",
    )
    .unwrap();
}

/// Runs the binary once; returns wall time and peak RSS in KiB.
#[allow(unsafe_code)] // wait4 for the child's peak RSS; each block says why it is sound
fn run_once(bin: &str, root: &Path, check: bool) -> (Duration, i64) {
    let start = Instant::now();
    let mut args = vec![
        "synth",
        "--quiet",
        "--dir",
        "image-factory",
        "--output",
        "out.yaml",
    ];
    if check {
        args.push("--check");
    }
    let child = Command::new(bin)
        .args(&args)
        .current_dir(root)
        .spawn()
        .expect("start imgf");
    let pid = libc::pid_t::try_from(child.id()).expect("a pid fits pid_t");
    let mut status = 0;
    // SAFETY: an all-zero rusage is a valid value for wait4 to fill in.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `pid` is our own un-reaped child; `status` and `usage` are valid pointers.
    let r = unsafe { libc::wait4(pid, &raw mut status, 0, &raw mut usage) };
    let elapsed = start.elapsed();
    assert_eq!(r, pid, "wait4 failed");
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "imgf synth failed"
    );
    std::mem::forget(child); // already reaped by wait4
    (elapsed, usage.ru_maxrss)
}

fn main() {
    let bin = env!("CARGO_BIN_EXE_imgf");
    // `IMGF_BENCH_DIR=/tmp/x cargo bench --bench synth -- 10000` only writes
    // the enrollment there (to profile imgf on it by hand).
    if let Some(dir) = std::env::var_os("IMGF_BENCH_DIR") {
        let n = std::env::args()
            .skip(1)
            .find_map(|a| a.parse().ok())
            .unwrap_or(10_000);
        generate(Path::new(&dir), n);
        return;
    }
    // `cargo bench --bench synth -- 100 5000` picks other sizes.
    let sizes: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let sizes = if sizes.is_empty() {
        vec![10, 1_000, 10_000]
    } else {
        sizes
    };
    println!(
        "imgf synth, release binary, median of runs ({} cores)",
        std::thread::available_parallelism().map_or(1, std::num::NonZero::get)
    );
    println!(
        "{:>8} {:>9} {:>10} {:>11} {:>12} {:>10} {:>13}",
        "images", "objects", "output", "wall (ms)", "µs/image", "peak RSS", "--check (ms)"
    );
    for n in sizes {
        let tmp = tempfile::tempdir().unwrap();
        generate(tmp.path(), n);
        let runs = if n >= 10_000 { 5 } else { 9 };
        let _warm = run_once(bin, tmp.path(), false);
        let mut times = Vec::new();
        let mut checks = Vec::new();
        let mut peak = 0;
        for _ in 0..runs {
            let (t, rss) = run_once(bin, tmp.path(), false);
            times.push(t);
            peak = peak.max(rss);
            let (c, rss) = run_once(bin, tmp.path(), true);
            checks.push(c);
            peak = peak.max(rss);
        }
        times.sort();
        checks.sort();
        let median = times[runs / 2];
        let out = std::fs::read_to_string(tmp.path().join("out.yaml")).unwrap();
        let objects = out.matches("\n---\n").count() + 1;
        println!(
            "{n:>8} {objects:>9} {:>8.1}MB {:>11.1} {:>12.1} {:>7.1}MiB {:>13.1}",
            out.len() as f64 / 1e6,
            median.as_secs_f64() * 1e3,
            median.as_secs_f64() * 1e6 / n as f64,
            peak as f64 / 1024.0,
            checks[runs / 2].as_secs_f64() * 1e3
        );
    }
}
