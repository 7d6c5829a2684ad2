//! `imgf inspect dockerfile` against the real-world Dockerfiles in
//! `../shared/corpus/dockerfiles/` and their `expected.json`: same base images
//! (canonical form, first-seen order) and the same unresolved FROMs.
//! Skipped, saying so, when `../shared` is absent.

use crate::support::shared;
use std::fmt::Write as _;

#[test]
#[cfg_attr(not(has_shared), ignore = "needs ../shared beside the repository")]
fn corpus_agrees_with_expected_json() {
    let Some(shared) = shared("the Dockerfile corpus cannot be checked") else {
        return;
    };
    let dir = shared.join("corpus/dockerfiles");
    let expected: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("expected.json")).unwrap()).unwrap();
    let mut failures = Vec::new();
    let mut checked = 0;
    for (file, exp) in expected.as_object().unwrap() {
        let out = crate::support::imgf()
            .args(["inspect", "dockerfile", "--format", "json"])
            .arg(dir.join(file))
            .output()
            .unwrap();
        if !out.status.success() {
            failures.push(format!(
                "{file}: exit {:?}: {}",
                out.status.code(),
                String::from_utf8_lossy(&out.stderr)
            ));
            continue;
        }
        let got: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let canonical = |b: &serde_json::Value| {
            let mut s = format!(
                "{}/{}",
                b["registry"].as_str().unwrap(),
                b["repository"].as_str().unwrap()
            );
            if let Some(t) = b["tag"].as_str() {
                let _ = write!(s, ":{t}");
            }
            if let Some(d) = b["digest"].as_str() {
                let _ = write!(s, "@{d}");
            }
            s
        };
        let want: Vec<String> = exp["base_images"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|b| !b["unresolved"].as_bool().unwrap_or(false))
            .map(|b| {
                b["canonical"]
                    .as_str()
                    .map_or_else(|| canonical(b), str::to_string)
            })
            .collect();
        let have: Vec<String> = got["baseImages"]
            .as_array()
            .unwrap()
            .iter()
            .map(canonical)
            .collect();
        if want != have {
            failures.push(format!(
                "{file}: base images\n  expected {want:?}\n  imgf     {have:?}"
            ));
        }
        let want_unresolved: Vec<Vec<String>> = exp["base_images"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|b| b["unresolved"].as_bool().unwrap_or(false))
            .map(|b| sorted_strings(&b["unresolved_args"]))
            .collect();
        let have_unresolved: Vec<Vec<String>> = got["unresolved"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| sorted_strings(&u["args"]))
            .collect();
        if want_unresolved != have_unresolved {
            failures.push(format!(
                "{file}: unresolved\n  expected {want_unresolved:?}\n  imgf     {have_unresolved:?}\n  {}",
                got["unresolved"]
            ));
        }
        checked += 1;
    }
    assert!(checked > 100, "only {checked} corpus files checked");
    assert!(
        failures.is_empty(),
        "{} of {} files disagree:\n{}",
        failures.len(),
        expected.as_object().unwrap().len(),
        failures.join("\n")
    );
}

/// A JSON array of strings, sorted.
fn sorted_strings(v: &serde_json::Value) -> Vec<String> {
    let mut out: Vec<String> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap().to_string())
        .collect();
    out.sort();
    out
}
