//! Image-user updates (images.yaml `updates:`): validation with positions,
//! the update Stages, their steps evaluated as Kargo does and checked
//! against Kargo's step schemas, and the verification templates.

use crate::support::{Project, ONE_IMAGE};

fn with_updates(updates: &str) -> Project {
    let p = Project::new();
    p.images(&format!("{ONE_IMAGE}  updates:\n{updates}"));
    p
}

fn synth_fails(p: &Project) -> String {
    let r = p.run(&["synth", "--output", "-"]);
    assert_eq!(r.code, 2, "expected exit 2; stderr:\n{}", r.stderr);
    r.stderr
}

#[test]
fn todays_three_keys_still_work() {
    let p = with_updates(
        "    - repo: org/deploy\n      path: apps/app/overlays/prod\n      type: kustomize-set-image\n",
    );
    p.synth_stdout();
}

#[test]
fn every_key_is_checked_where_it_is_written() {
    let p = with_updates(
        "    - name: Staging\n      repo: org/deploy\n      path: a/values.yaml\n      type: yaml-update\n\
         \x20   - name: prod\n      repo: org/deploy\n      path: charts/app/templates/deployment.yaml\n      type: helm-update-image\n      key: image.tag\n      after: stagin\n      soak: 1y\n\
         \x20     verify:\n        - http: {url: 'ftp://x', jsonPath: '$.status', expect: ok}\n        - job: {image: 'Bad Image', command: [run]}\n        - {}\n",
    );
    let e = synth_fails(&p);
    for (what, line) in [
        ("updates[0]: invalid name `Staging`", 10),
        (
            "updates[0]: invalid key `a/values.yaml`: a yaml-update needs the key",
            10,
        ),
        (
            "updates[1]: invalid path `charts/app/templates/deployment.yaml`",
            16,
        ),
        ("updates[1]: invalid after `stagin`", 19),
        ("updates[1]: invalid soak `1y`", 20),
        ("updates[1]: invalid url `ftp://x`", 22),
        ("updates[1]: invalid jsonPath `$.status`", 22),
        ("updates[1]: invalid image `Bad Image`", 23),
        ("each check is exactly one of `http` or `job`", 21),
    ] {
        let at = e
            .lines()
            .position(|l| l.contains(what))
            .unwrap_or_else(|| panic!("no `{what}` in:\n{e}"));
        let next = e.lines().nth(at + 1).unwrap_or_default();
        assert!(
            next.contains(&format!("images.yaml:{line}:")),
            "`{what}` should point at line {line}:\n{e}"
        );
    }
    assert!(e.contains("values file instead"), "{e}");
    assert!(e.contains("did you mean `Staging`?"), "{e}");
}

#[test]
fn kustomize_refuses_key_and_whole_references() {
    let p = with_updates(
        "    - repo: org/deploy\n      path: k\n      type: kustomize-set-image\n      key: image\n      value: pinned\n",
    );
    let e = synth_fails(&p);
    assert!(e.contains("invalid key `image`"), "{e}");
    assert!(
        e.contains("invalid value `pinned`") && e.contains("value: digest"),
        "{e}"
    );
}

#[test]
fn after_chains_must_end() {
    let p = with_updates(
        "    - {name: a, repo: org/d, path: a, type: kustomize-set-image, after: b}\n\
         \x20   - {name: b, repo: org/d, path: b, type: kustomize-set-image, after: a}\n",
    );
    let e = synth_fails(&p);
    assert!(e.contains("the `after` chain comes back"), "{e}");
}

#[test]
fn an_update_inside_a_watched_path_is_a_feedback_loop() {
    let p = with_updates(
        "    - repo: org/app\n      path: docker/Dockerfile\n      type: yaml-update\n      key: x\n",
    );
    let e = synth_fails(&p);
    assert!(e.contains("feedback loop"), "{e}");
    assert!(e.contains("images.yaml:11:"), "{e}");
    // The same path in another repository is fine.
    let p = with_updates(
        "    - repo: org/deploy\n      path: docker/Dockerfile\n      type: yaml-update\n      key: x\n",
    );
    p.synth_stdout();
}

#[test]
fn schema_describes_the_update_keys() {
    let p = Project::new();
    let r = p.run(&["schema", "images"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    for key in [
        "pullRequest",
        "autoPromote",
        "argocd",
        "jsonPath",
        "helm-update-image",
        "pinned",
        "soak",
        "after",
        "verify",
    ] {
        assert!(r.stdout.contains(key), "schema lacks {key}");
    }
}
