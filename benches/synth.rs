//! Benchmark: `imgf synth` on generated enrollments of 10, 1,000 and 10,000
//! managed images (each built on 1–3 of a shared pool of base images).
//!
//! Runs the release binary as a child process, as users do, and reports the
//! median wall time of several runs and the child's peak resident memory
//! (from `wait4`). Run with `cargo bench --bench synth`.

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
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
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
    let mut enrollment = String::with_capacity(n * 260);
    for i in 0..n {
        let name = format!("service-{i:05}");
        writeln!(
            enrollment,
            "- name: {name}\n  registry: ghcr.io\n  repository: example-org/{name}\n  source:\n    repo: example-org/repo-{}\n    branch: main\n    dockerfile: services/{name}/Dockerfile\n    workflow: {name}.yml\n  rebuildDelay: {}d",
            i % 97,
            1 + i % 7
        )
        .unwrap();
        let k = 1 + rng.below(3) as usize;
        let mut chosen: Vec<usize> = Vec::new();
        while chosen.len() < k {
            let b = rng.below(pool as u64) as usize;
            if !chosen.contains(&b) {
                chosen.push(b);
            }
        }
        let list: Vec<String> = chosen
            .iter()
            .map(|b| format!("  - {}", base_name(*b)))
            .collect();
        std::fs::write(
            images.join(format!("{name}.yaml")),
            format!(
                "name: {name}\ndiscoveryStatus: success\nbaseImages:\n{}\ncurrentVersion: 1.{}.0\ncurrentDigest: null\n",
                list.join("\n"),
                i % 50
            ),
        )
        .unwrap();
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
fn run_once(bin: &str, root: &Path) -> (Duration, i64) {
    let start = Instant::now();
    let child = Command::new(bin)
        .args([
            "synth",
            "--quiet",
            "--dir",
            "image-factory",
            "--output",
            "out.yaml",
        ])
        .current_dir(root)
        .spawn()
        .expect("start imgf");
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: an all-zero rusage is a valid value for wait4 to fill in.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `pid` is our own un-reaped child; `status` and `usage` are valid pointers.
    let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
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
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    println!(
        "{:>8} {:>9} {:>10} {:>11} {:>12} {:>10}",
        "images", "objects", "output", "wall (ms)", "µs/image", "peak RSS"
    );
    for n in sizes {
        let tmp = tempfile::tempdir().unwrap();
        generate(tmp.path(), n);
        let runs = if n >= 10_000 { 5 } else { 9 };
        let _warm = run_once(bin, tmp.path());
        let mut times = Vec::new();
        let mut peak = 0;
        for _ in 0..runs {
            let (t, rss) = run_once(bin, tmp.path());
            times.push(t);
            peak = peak.max(rss);
        }
        times.sort();
        let median = times[runs / 2];
        let out = std::fs::read_to_string(tmp.path().join("out.yaml")).unwrap();
        let objects = out.matches("\n---\n").count() + 1;
        println!(
            "{n:>8} {objects:>9} {:>8.1}MB {:>11.1} {:>12.1} {:>7.1}MiB",
            out.len() as f64 / 1e6,
            median.as_secs_f64() * 1e3,
            median.as_secs_f64() * 1e6 / n as f64,
            peak as f64 / 1024.0
        );
    }
}
