//! Benchmark: `imgf synth` for every target on generated enrollments of
//! 1,000, 10,000 and 20,000 images, in both state layouts:
//!
//! - **imgf**: the state files imgf writes (generated here): 10% external
//!   images, 5% built on GitLab, cascades (a tenth of the managed images are
//!   built on another managed image), 1–3 bases each from a shared pool, and
//!   `updates` on every fifth image;
//! - **seed**: the layout production repositories have today, the cdk8s
//!   app's state files (comments, `enrollment:` copies, flow-style history),
//!   from `../shared/bench/gen_state.py --layout seed --always-workflow`
//!   (skipped, with a note, when that script is not there; an error when
//!   `CI` is set);
//! - **sharded**: the seed layout with three controller shards, webhook
//!   receivers and poll budgets in settings.yaml (Kargo target only).
//!
//! Runs the release binary as a child process, as users do, several times,
//! and reports the best wall time, the best CPU time (user + system, from
//! `wait4`) and the child's peak resident memory. Run with
//! `cargo bench --bench synth` (`-- 1000 5000` picks other sizes).
//!
//! `IMGF_OLD_TOOL=DIR cargo bench --bench synth` instead runs the cdk8s app
//! (its `cdk8s/` directory DIR, with `IMGF_OLD_TOOL_PYTHON`, default
//! `python3`, a Python that has its packages) and imgf side by side on the
//! same enrollments (`gen_state.py --layout reference`, which both read),
//! at 1,000 and 5,000 images unless sizes are given, and prints the ratio
//! of CPU times. See docs/src/performance.md.

// The measurements are C `long`s from wait4 and small counts, printed as
// floats: far below where a cast could truncate, wrap or lose precision.
#![allow(
    clippy::cast_precision_loss,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::cast_possible_wrap
)]

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
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
        let k = 1 + rng.below(3) as usize;
        let mut chosen: Vec<String> = Vec::new();
        // A cascade: built on an earlier managed image.
        if managed.len() > 10 && i % 10 == 3 {
            chosen.push(managed[rng.below(managed.len() as u64) as usize].clone());
        }
        while chosen.len() < k {
            let b = base_name(rng.below(pool as u64) as usize);
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

/// What one run of a child process cost.
#[derive(Debug, Clone, Copy)]
struct Cost {
    wall: Duration,
    /// User + system CPU time of the process and the children it waited for.
    cpu: Duration,
    /// Peak resident memory of the largest of them, KiB.
    rss: i64,
}

/// Runs `cmd` to completion; its cost. Panics when it fails.
#[allow(unsafe_code)] // wait4 for the child's CPU time and peak RSS; each block says why it is sound
fn measure(cmd: &mut Command) -> Cost {
    let start = Instant::now();
    let child = cmd.spawn().expect("start the benchmarked program");
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: an all-zero rusage is a valid value for wait4 to fill in.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `pid` is our own un-reaped child; `status` and `usage` are valid pointers.
    let r = unsafe { libc::wait4(pid, &raw mut status, 0, &raw mut usage) };
    let wall = start.elapsed();
    assert_eq!(r, pid, "wait4 failed");
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "{cmd:?} failed"
    );
    std::mem::forget(child); // already reaped by wait4
    let time = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1_000);
    Cost {
        wall,
        cpu: time(usage.ru_utime) + time(usage.ru_stime),
        rss: usage.ru_maxrss,
    }
}

/// The best of `runs` runs (after one to warm the file cache): least wall
/// and least CPU time (each on its own), most memory.
fn best(runs: usize, mut run: impl FnMut() -> Cost) -> Cost {
    let _warm = run();
    let mut all: Vec<Cost> = (0..runs).map(|_| run()).collect();
    let wall = all.iter().map(|c| c.wall).min().unwrap();
    let rss = all.iter().map(|c| c.rss).max().unwrap();
    all.sort_by_key(|c| c.cpu);
    Cost {
        wall,
        cpu: all[0].cpu,
        rss,
    }
}

/// `imgf synth` of `dir` (the directory holding images.yaml) for `target`.
fn synth(bin: &str, dir: &Path, target: &str, out: &Path) -> Cost {
    measure(
        Command::new(bin)
            .args(["synth", "--quiet", "--target", target, "--dir"])
            .arg(dir)
            .arg("--output")
            .arg(out),
    )
}

/// `../shared/bench/gen_state.py`, when it is there.
fn gen_state() -> Option<PathBuf> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/bench/gen_state.py");
    if script.is_file() {
        return Some(script);
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "{} is missing (CI is set)",
        script.display()
    );
    None
}

/// Writes an enrollment of `n` images in `layout` (`seed` or `reference`)
/// to `dir` with `gen_state.py`.
fn generate_with(script: &Path, dir: &Path, n: usize, layout: &str) {
    let status = Command::new("python3")
        .arg(script)
        .args(["--count", &n.to_string(), "--layout", layout])
        .arg("--always-workflow")
        .arg("--out")
        .arg(dir)
        .stdout(std::process::Stdio::null())
        .status()
        .expect("run python3");
    assert!(status.success(), "gen_state.py failed");
}

/// The number of documents in the YAML stream `path` and its size, read a
/// line at a time: a child started by this process reports at least this
/// process's own peak memory as its peak (Linux counts the memory a child
/// starts from), so the benchmark never holds an output whole.
fn objects(path: &Path) -> (usize, u64) {
    use std::io::BufRead as _;
    let file = std::io::BufReader::new(std::fs::File::open(path).unwrap());
    let mut documents = 1;
    for line in file.lines() {
        if line.unwrap() == "---" {
            documents += 1;
        }
    }
    (documents, std::fs::metadata(path).unwrap().len())
}

/// The settings of the **sharded** layout: the seed layout spread over
/// three controller shards, with webhook receivers and poll budgets (as the
/// scale tests' 10,000-image enrollment that `validate-manifests` checks).
const SHARDED: &str = "kargo:\n  shards: [eu-west, us-east, ap-south]\ndiscovery:\n  webhooks: [github, dockerhub]\n  registries:\n    docker.io: {pollsPerHour: 400}\n    ghcr.io: {pollsPerHour: 500}\n    github.com: {pollsPerHour: 3000}\n";

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
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
    let sizes: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    if let Some(old) = std::env::var_os("IMGF_OLD_TOOL") {
        let sizes = if sizes.is_empty() {
            vec![1_000, 5_000]
        } else {
            sizes
        };
        return old_tool(bin, Path::new(&old), &sizes, cores);
    }
    let sizes = if sizes.is_empty() {
        vec![1_000, 10_000, 20_000]
    } else {
        sizes
    };
    println!("imgf synth, release binary, best of runs ({cores} cores)");
    println!(
        "{:>7} {:>8} {:>10} {:>9} {:>10} {:>10} {:>10} {:>10}",
        "layout", "images", "target", "objects", "output", "wall (ms)", "cpu (ms)", "peak RSS"
    );
    let script = gen_state();
    for layout in ["imgf", "seed", "sharded"] {
        for &n in &sizes {
            let tmp = tempfile::tempdir().unwrap();
            let dir = tmp.path().join("image-factory");
            match layout {
                "imgf" => generate(tmp.path(), n),
                _ => {
                    if let Some(script) = &script {
                        generate_with(script, &dir, n, "seed");
                        if layout == "sharded" {
                            std::fs::write(dir.join("settings.yaml"), SHARDED).unwrap();
                        }
                    } else {
                        println!(
                            "{layout:>7} {n:>8} skipped: ../shared/bench/gen_state.py is not there"
                        );
                        continue;
                    }
                }
            }
            let runs = if n >= 10_000 { 5 } else { 9 };
            // Shards, webhooks and budgets are Kargo's alone.
            let targets: &[&str] = if layout == "sharded" {
                &["kargo"]
            } else {
                &["kargo", "flux", "backstage"]
            };
            for &target in targets {
                let out = tmp.path().join(format!("{target}.yaml"));
                let cost = best(runs, || synth(bin, &dir, target, &out));
                let (objects, bytes) = objects(&out);
                println!(
                    "{layout:>7} {n:>8} {target:>10} {objects:>9} {:>8.1}MB {:>10.1} {:>10.1} {:>7.1}MiB",
                    bytes as f64 / 1e6,
                    ms(cost.wall),
                    ms(cost.cpu),
                    cost.rss as f64 / 1024.0,
                );
            }
        }
    }
}

/// The cdk8s app and imgf on the same enrollments (the cdk8s app's own
/// layout, which imgf reads too), each the best of its runs.
fn old_tool(bin: &str, cdk8s: &Path, sizes: &[usize], cores: usize) {
    let script = gen_state().expect("the comparison needs ../shared/bench/gen_state.py");
    let python = std::env::var_os("IMGF_OLD_TOOL_PYTHON").unwrap_or_else(|| "python3".into());
    println!(
        "the cdk8s app and imgf (Kargo target), same enrollment, best of runs ({cores} cores)"
    );
    println!(
        "{:>8} {:>12} {:>12} {:>10} {:>10} {:>10} {:>9} {:>9}",
        "images",
        "cdk8s wall",
        "cdk8s cpu",
        "cdk8s RSS",
        "imgf wall",
        "imgf cpu",
        "imgf RSS",
        "cpu ratio"
    );
    for &n in sizes {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("image-factory");
        generate_with(&script, &dir, n, "reference");
        let outdir = tmp.path().join("cdk8s-dist");
        let old = best(if n > 1_000 { 1 } else { 3 }, || {
            measure(
                Command::new(&python)
                    .arg("main.py")
                    .current_dir(cdk8s)
                    .env("IMAGE_FACTORY_STATE_DIR", &dir)
                    .env("IMAGES_YAML", dir.join("images.yaml"))
                    .env("CDK8S_OUTDIR", &outdir)
                    .stdout(std::process::Stdio::null())
                    .stderr(std::process::Stdio::null()),
            )
        });
        let out = tmp.path().join("imgf.yaml");
        let new = best(9, || synth(bin, &dir, "kargo", &out));
        println!(
            "{n:>8} {:>10.0}ms {:>10.0}ms {:>7.0}MiB {:>8.1}ms {:>8.1}ms {:>6.1}MiB {:>8.0}x",
            ms(old.wall),
            ms(old.cpu),
            old.rss as f64 / 1024.0,
            ms(new.wall),
            ms(new.cpu),
            new.rss as f64 / 1024.0,
            old.cpu.as_secs_f64() / new.cpu.as_secs_f64()
        );
    }
}
