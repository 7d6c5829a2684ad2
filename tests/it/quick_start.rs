//! The README's quick start, executed as a user would: the commands of its
//! one `` ```sh `` block (between the `ANCHOR: quick-start` markers the guide
//! includes it by), run by bash in an empty directory with this imgf on PATH.
//! Everything before the `kubectl` lines at its end must work and give
//! manifests that load, are up to date, and (with `../shared` and Python's
//! jsonschema) pass schema validation. The `kubectl` lines need a cluster:
//! their test is ignored where build.rs found none (`has_cluster`).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::{no_git_config, of_kind, shared, stage_named};

/// The quick start's commands: those before the first `kubectl` line, and
/// those from it on.
fn quick_start() -> (String, String) {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let open = "<!-- ANCHOR: quick-start -->\n```sh\n";
    let start = readme
        .find(open)
        .expect("the README has the quick start's anchor")
        + open.len();
    let end = start
        + readme[start..]
            .find("```\n<!-- ANCHOR_END: quick-start -->")
            .expect("the quick start's block ends at its anchor");
    let block = &readme[start..end];
    let cut = block
        .find("\nkubectl ")
        .map(|i| i + 1)
        .expect("the quick start ends by applying with kubectl");
    (block[..cut].to_string(), block[cut..].to_string())
}

/// Runs the quick start's commands up to kubectl in a new directory; returns
/// it and the repository the commands made in it.
fn run_quick_start() -> (tempfile::TempDir, PathBuf) {
    let (offline, _) = quick_start();
    let dir = tempfile::tempdir().unwrap();
    let bin = Path::new(env!("CARGO_BIN_EXE_imgf")).parent().unwrap();
    let path = std::env::join_paths(std::iter::once(bin.to_path_buf()).chain(
        std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()),
    ))
    .unwrap();
    let mut cmd = Command::new("bash");
    no_git_config(&mut cmd)
        .args(["-euo", "pipefail", "-c", &offline])
        .current_dir(dir.path())
        .env("PATH", path)
        .env_remove("NO_COLOR")
        .env_remove("CLICOLOR_FORCE");
    let out = cmd.output().expect("run bash");
    assert!(
        out.status.success(),
        "the quick start fails:\n{offline}\n--- stdout\n{}\n--- stderr\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    // After analysis, synth and explain have nothing to warn about: the
    // warnings a user sees come only from enroll, before analysis ran.
    let after_analysis = &stderr[stderr.find("api: newly enrolled").expect("analysis ran")..];
    assert!(
        !after_analysis.contains("warning:"),
        "the quick start warns after analysis:\n{stderr}"
    );
    let repo = dir.path().join("platform-images");
    (dir, repo)
}

#[test]
fn the_quick_start_gives_loadable_up_to_date_manifests() {
    let (_dir, repo) = run_quick_start();
    let file = repo.join("dist/image-factory.k8s.yaml");
    let yaml = std::fs::read_to_string(&file).expect("the quick start wrote the manifests");
    let docs = crate::support::docs(&yaml);
    let warehouses: Vec<&str> = of_kind(&docs, "Warehouse")
        .iter()
        .map(|w| w["metadata"]["name"].as_str().unwrap())
        .collect();
    for name in ["api", "worker", "python-3.12-slim"] {
        assert!(
            warehouses.contains(&name),
            "no Warehouse {name}: {warehouses:?}"
        );
    }
    // worker is rebuilt from api's analysed builds, after its one-day delay.
    let rebuild = stage_named(&docs, "rebuild-worker");
    let request = &rebuild["spec"]["requestedFreight"][0];
    assert_eq!(request["origin"]["name"].as_str(), Some("api"));
    assert_eq!(
        request["sources"]["stages"][0].as_str(),
        Some("analyze-dockerfile-api")
    );
    assert_eq!(request["sources"]["requiredSoakTime"].as_str(), Some("24h"));
    // The analysis Job runs the image settings.yaml names.
    assert!(yaml.contains("image: ghcr.io/example-org/imgf:0.2.0-dev"));
    // The guide's explain page shows what `imgf explain worker` prints here.
    let explain = crate::support::imgf_in(&repo, &["explain", "worker"]);
    assert!(explain.status.success());
    let page = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/src/operations/explain.md"),
    )
    .unwrap();
    let shown = format!("```text\n{}```", String::from_utf8_lossy(&explain.stdout));
    assert!(
        page.contains(&shown),
        "docs/src/operations/explain.md should show, for the quick start's worker:\n{shown}"
    );
    // The committed output is what synth makes.
    let check = crate::support::imgf_in(&repo, &["synth", "--check"]);
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
    // What the kubectl lines apply (run where a cluster answers: the next test).
    let (_, cluster) = quick_start();
    assert!(cluster.contains("kubectl apply -f dist/image-factory.k8s.yaml"));
    assert!(cluster.contains("create secret generic github-workflow-token"));
}

/// The kubectl lines' manifests, as `kubectl apply --dry-run=client` sees
/// them on a cluster (with Kargo's and Argo Rollouts' CRDs installed).
#[test]
#[cfg_attr(
    not(has_cluster),
    ignore = "needs kubectl and a cluster it reaches, with Kargo v1.11 and Argo Rollouts"
)]
fn the_quick_start_manifests_apply_on_a_cluster() {
    if !crate::support::cluster("the quick start's kubectl lines cannot run") {
        return;
    }
    let (_dir, repo) = run_quick_start();
    let out = Command::new("kubectl")
        .args(["apply", "--dry-run=client", "-f"])
        .arg(repo.join("dist/image-factory.k8s.yaml"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
#[cfg_attr(
    not(all(has_shared, has_python_deps)),
    ignore = "needs ../shared beside the repository, and python3 with pyyaml and jsonschema"
)]
fn the_quick_start_output_passes_validate_manifests() {
    let Some(shared) = shared("the quick start's output cannot be validated") else {
        return;
    };
    if !crate::support::python_deps("schema validation") {
        return;
    }
    let (_dir, repo) = run_quick_start();
    let out = Command::new("python3")
        .arg(shared.join("tools/validate-manifests"))
        .arg("--check-refs")
        .arg(repo.join("dist/image-factory.k8s.yaml"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.trim_end().ends_with(" 0 failed"), "{text}");
}
