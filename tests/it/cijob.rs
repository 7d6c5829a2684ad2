//! Issue 19, the CI Job path: a state-repository clone nothing else can
//! plant or keep, an emergency recorded only once its script is out, no
//! temporary files after a signal, each repository fetched once, and audit
//! entries that grow linearly.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::analyze::{enroll, git, write};
use crate::support::{Project, NODE_STATE};

/// A project of `n` managed images on node:22, whose manifests are large
/// enough (about 3 kB an image) that writing them takes a moment.
fn many_images(n: usize) -> Project {
    let p = Project::new();
    let mut images = String::new();
    for i in 0..n {
        images.push_str(&format!(
            "- name: s{i}\n  registry: ghcr.io\n  repository: org/s{i}\n  source:\n    repo: org/s{i}\n    dockerfile: Dockerfile\n    workflow: build.yml\n    inputs: [version_bump]\n"
        ));
        p.file(
            &format!("state/images/s{i}.yaml"),
            &format!("name: s{i}\nbaseImages: [node-22]\n"),
        );
    }
    p.images(&images)
        .file("state/base-images/node-22.yaml", NODE_STATE);
    p
}

fn temp_files(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".imgf-"))
        .collect()
}

/// Item 13: a real process ended by SIGTERM (or SIGINT) while it writes
/// the manifests leaves no temporary file, and still dies of the signal.
#[test]
fn a_signal_during_a_write_leaves_no_temporary_file() {
    use std::os::unix::process::ExitStatusExt;
    let p = many_images(3000);
    let out = p.path("out");
    std::fs::create_dir_all(&out).unwrap();
    for (signal, number) in [("TERM", 15), ("INT", 2)] {
        let mut child = crate::support::imgf()
            .args(["synth", "--output", "out/manifests.yaml"])
            .current_dir(p.root.path())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let started = std::time::Instant::now();
        let caught = loop {
            if !temp_files(&out).is_empty() {
                break true;
            }
            if child.try_wait().unwrap().is_some()
                || started.elapsed() > std::time::Duration::from_secs(60)
            {
                break false;
            }
            std::thread::sleep(std::time::Duration::from_millis(1));
        };
        assert!(caught, "the write ended before its temporary file was seen");
        let kill = Command::new("kill")
            .args([format!("-{signal}"), child.id().to_string()])
            .status()
            .unwrap();
        assert!(kill.success());
        let status = child.wait().unwrap();
        assert_eq!(status.signal(), Some(number), "{status:?}");
        assert_eq!(temp_files(&out), Vec::<String>::new(), "SIG{signal}");
        assert!(!out.join("manifests.yaml").exists(), "half a file");
    }
}

/// Item 13: a temporary file of imgf's that a killed run (SIGKILL) left
/// behind is removed by the next write into its directory once it is an
/// hour old; newer ones, and names that are not imgf's, are left alone.
#[test]
fn stale_temporary_files_are_swept_on_the_next_write() {
    let p = crate::support::Project::app_on_node();
    let out = p.path("out");
    std::fs::create_dir_all(&out).unwrap();
    let hours_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(2 * 3600);
    let make = |name: &str, old: bool| {
        let f = std::fs::File::create(out.join(name)).unwrap();
        if old {
            f.set_modified(hours_ago).unwrap();
        }
    };
    make(".imgf-AbC123.tmp", true);
    make(".imgf-XyZ789.tmp", false);
    make(".imgf-notours.tmp", true);
    make("notes.tmp", true);
    let r = p.run(&["synth", "--output", "out/manifests.yaml"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let mut left: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(
        left,
        [
            ".imgf-XyZ789.tmp",
            ".imgf-notours.tmp",
            "manifests.yaml",
            "notes.tmp"
        ]
    );
}
