//! The old cdk8s app's production fixtures (`../shared/fixtures/reference/`):
//! imgf reads them in both layouts, its output passes the schema check, and
//! every Warehouse, analysis Stage and rebuild trigger the old tool emitted
//! has its counterpart — apart from the intentional fixes listed in the
//! guide (docs/src/migration.md, "What changed").
//!
//! These tests need `../shared`; without it they print that they are skipped.

use std::path::{Path, PathBuf};
use std::process::Command;

use regex::Regex;
use yaml_serde::Value;

use crate::support::{copy_tree, docs, of_kind, shared};

fn fixtures() -> Option<Vec<PathBuf>> {
    let shared = shared("the reference fixtures cannot be checked")?;
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(shared.join("fixtures/reference"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("image-factory/images.yaml").is_file())
        .collect();
    dirs.sort();
    assert!(!dirs.is_empty(), "no reference fixtures found");
    Some(dirs)
}

fn synth(dir: &Path) -> String {
    let out = crate::support::imgf()
        .args(["synth", "--output", "-", "--dir"])
        .arg(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}: {}",
        dir.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The fixture rearranged the way the cdk8s app's users keep it:
/// images.yaml, images/, base-images/.
fn legacy_copy(fixture: &Path) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("image-factory");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(
        fixture.join("image-factory/images.yaml"),
        dir.join("images.yaml"),
    )
    .unwrap();
    copy_tree(
        &fixture.join("image-factory/state/images"),
        &dir.join("images"),
    );
    copy_tree(
        &fixture.join("image-factory/state/base-images"),
        &dir.join("base-images"),
    );
    tmp
}

fn image_repo(wh: &Value) -> Option<&str> {
    wh["spec"]["subscriptions"]
        .as_sequence()?
        .iter()
        .find_map(|s| s["image"]["repoURL"].as_str())
}

fn git_sub(wh: &Value) -> Option<&Value> {
    wh["spec"]["subscriptions"]
        .as_sequence()?
        .iter()
        .map(|s| &s["git"])
        .find(|g| !g.is_null())
}

fn warehouse<'a>(docs: &'a [Value], name: &str) -> &'a Value {
    of_kind(docs, "Warehouse")
        .into_iter()
        .find(|w| w["metadata"]["name"].as_str() == Some(name))
        .unwrap_or_else(|| panic!("no Warehouse {name}"))
}

/// The tag an old `allowTags` filter was written for (`^3\\.12-slim$` → `3.12-slim`).
fn intended_tag(allow: &str) -> String {
    allow
        .trim_start_matches('^')
        .trim_end_matches('$')
        .replace("\\\\", "\\")
        .replace("\\.", ".")
}

fn origin(stage: &Value) -> &str {
    stage["spec"]["requestedFreight"][0]["origin"]["name"]
        .as_str()
        .unwrap()
}

#[test]
#[cfg_attr(not(has_shared), ignore = "needs ../shared beside the repository")]
fn reference_fixtures_have_every_counterpart() {
    let Some(fixtures) = fixtures() else { return };
    for fixture in fixtures {
        let ours_text = synth(&fixture.join("image-factory"));
        let old_text = std::fs::read_to_string(
            fixture.join("synthesized-by-reference-head/image-factory.k8s.yaml"),
        )
        .unwrap();
        let ours = docs(&ours_text);
        let old = docs(&old_text);
        let label = fixture.file_name().unwrap().to_string_lossy().into_owned();

        // Warehouses: same repository, same git source, same tag.
        for w in of_kind(&old, "Warehouse") {
            let repo = image_repo(w).unwrap();
            let mine: Vec<&Value> = of_kind(&ours, "Warehouse")
                .into_iter()
                .filter(|o| image_repo(o) == Some(repo))
                .collect();
            assert_eq!(mine.len(), 1, "{label}: Warehouse for {repo}");
            let mine = mine[0];
            if let Some(g) = git_sub(w) {
                // The git subscription moved to the image's source Warehouse.
                let name = mine["metadata"]["name"].as_str().unwrap();
                let source = warehouse(&ours, &format!("{name}-source"));
                let mg = git_sub(source)
                    .unwrap_or_else(|| panic!("{label}: {repo} lost its git subscription"));
                assert_eq!(mg["repoURL"], g["repoURL"], "{label}: {repo}");
                assert_eq!(mg["branch"], g["branch"], "{label}: {repo}");
            } else {
                let allow = w["spec"]["subscriptions"][0]["image"]["allowTags"]
                    .as_str()
                    .unwrap();
                let tag = intended_tag(allow);
                let re = mine["spec"]["subscriptions"][0]["image"]["allowTagsRegexes"][0]
                    .as_str()
                    .unwrap();
                let re = Regex::new(re).unwrap();
                assert!(
                    re.is_match(&tag),
                    "{label}: {repo}: {re} does not match {tag}"
                );
                assert!(
                    !re.is_match(&format!("{tag}x")) && !re.is_match(&format!("x{tag}")),
                    "{label}: {re} is not exact"
                );
            }
        }

        // Analysis Stages: one per old one, verifying the same image.
        for s in of_kind(&old, "Stage")
            .into_iter()
            .filter(|s| s["spec"].get("verification").is_some())
        {
            let image = s["spec"]["verification"]["args"][0]["value"]
                .as_str()
                .unwrap();
            let repo = image_repo(warehouse(&old, origin(s))).unwrap();
            let found = of_kind(&ours, "Stage").into_iter().any(|o| {
                o["spec"].get("verification").is_some()
                    && o["spec"]["verification"]["args"][0]["value"].as_str() == Some(image)
                    && image_repo(warehouse(&ours, origin(o))) == Some(repo)
            });
            assert!(found, "{label}: no analysis Stage for {image}");
        }

        // Rebuild triggers: the same workflow dispatched for the same base → dependent pair.
        // (imgf has one rebuild Stage per image that requests every base, each
        // through its soak Stage, where the old tool had a Stage per pair.)
        let url_of = |s: &Value| {
            s["spec"]["promotionTemplate"]["spec"]["steps"][0]["config"]["url"]
                .as_str()
                .map(str::to_string)
        };
        for s in of_kind(&old, "Stage").into_iter().filter(|s| {
            s["spec"]["promotionTemplate"]["spec"]["steps"][0]["uses"].as_str() == Some("http")
        }) {
            let url = url_of(s).unwrap();
            let base_repo = image_repo(warehouse(&old, origin(s))).unwrap();
            let n = of_kind(&ours, "Stage")
                .into_iter()
                .filter(|o| {
                    url_of(o).as_deref() == Some(url.as_str())
                        && o["spec"]["requestedFreight"]
                            .as_sequence()
                            .unwrap()
                            .iter()
                            .any(|r| {
                                let wh = r["origin"]["name"].as_str().unwrap();
                                image_repo(warehouse(&ours, wh)) == Some(base_repo)
                            })
                })
                .count();
            assert_eq!(n, 1, "{label}: rebuild of {url} from {base_repo}");
        }

        // Intentional fixes, checked rather than assumed.
        assert!(!ours_text.contains("semverConstraint"), "{label}");
        assert!(!ours_text.contains("allowTags:"), "{label}");
        for d in &ours {
            let name = d["metadata"]["name"].as_str().unwrap();
            assert!(name.len() <= 63, "{label}: {name} is longer than 63");
        }
    }
}

#[test]
#[cfg_attr(not(has_shared), ignore = "needs ../shared beside the repository")]
fn reference_fixtures_give_the_same_output_in_the_cdk8s_layout() {
    let Some(fixtures) = fixtures() else { return };
    for fixture in fixtures {
        let ours = synth(&fixture.join("image-factory"));
        let legacy = legacy_copy(&fixture);
        let theirs = synth(&legacy.path().join("image-factory"));
        assert_eq!(ours, theirs, "{}", fixture.display());
    }
}

/// Runs `../shared/tools/validate-manifests --check-refs` on a file.
fn validate(shared: &Path, file: &Path) -> Option<String> {
    if !crate::support::python_deps("schema validation") {
        return None;
    }
    let out = Command::new("python3")
        .arg(shared.join("tools/validate-manifests"))
        .arg("--check-refs")
        .arg(file)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{} fails validation:\n{text}",
        file.display()
    );
    Some(text)
}

#[test]
#[cfg_attr(
    not(all(has_shared, has_python_deps)),
    ignore = "needs ../shared beside the repository, and python3 with pyyaml and jsonschema"
)]
fn output_passes_the_schema_check() {
    let Some(shared) = shared("the schema check cannot run") else {
        return;
    };
    let mut dirs = vec![Path::new(env!("CARGO_MANIFEST_DIR")).join("image-factory")];
    dirs.extend(
        fixtures()
            .unwrap()
            .into_iter()
            .map(|f| f.join("image-factory")),
    );
    for dir in dirs {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("out.yaml");
        std::fs::write(&file, synth(&dir)).unwrap();
        if let Some(report) = validate(&shared, &file) {
            assert!(report.trim_end().ends_with(" 0 failed"), "{report}");
            assert!(!report.contains("warning:"), "{}: {report}", dir.display());
        }
    }
}
