//! Bad input: a clear message naming the file, line and column where known,
//! and the fix; exit 2; nothing written.

use crate::support::{Project, NODE_STATE, ONE_IMAGE};
use std::fmt::Write as _;

/// Runs synth expecting failure; checks exit code 2, that the previous
/// output survives untouched, and returns stderr.
fn fails(p: &Project) -> String {
    let out = p.path("dist/image-factory.k8s.yaml");
    std::fs::create_dir_all(out.parent().unwrap()).unwrap();
    std::fs::write(&out, "previous output\n").unwrap();
    let r = p.run(&["synth"]);
    assert_eq!(r.code, 2, "expected exit 2; stderr:\n{}", r.stderr);
    assert!(r.stdout.is_empty());
    assert_eq!(
        std::fs::read_to_string(&out).unwrap(),
        "previous output\n",
        "output touched on error"
    );
    let leftovers: Vec<_> = std::fs::read_dir(out.parent().unwrap()).unwrap().collect();
    assert_eq!(leftovers.len(), 1, "a temporary file was left behind");
    r.stderr
}

#[test]
fn missing_images_yaml() {
    let p = Project::new();
    std::fs::create_dir_all(p.dir()).unwrap();
    let e = fails(&p);
    assert!(e.contains("no images.yaml"), "{e}");
    assert!(e.contains("images.yaml") && e.contains("help:"), "{e}");
}

#[test]
fn missing_dir() {
    let p = Project::new();
    let e = fails(&p);
    assert!(
        e.contains("is not a directory") && e.contains("--dir"),
        "{e}"
    );
}

#[test]
fn empty_images_yaml() {
    let p = Project::new();
    p.images("# nothing here yet\n");
    let e = fails(&p);
    assert!(e.contains("images.yaml is empty"), "{e}");
    let p = Project::new();
    p.images("[]\n");
    assert!(fails(&p).contains("empty list"));
}

#[test]
fn images_yaml_that_is_not_a_list() {
    let p = Project::new();
    p.images("images:\n  - name: app\n");
    let e = fails(&p);
    assert!(e.contains("is a mapping, not a list"), "{e}");
    assert!(
        e.contains("move the entries under `images:` to the top level"),
        "{e}"
    );
    assert!(e.contains("images.yaml:1:1"), "{e}");
}

#[test]
fn duplicate_names() {
    let p = Project::new();
    p.images(&format!("{ONE_IMAGE}\n{ONE_IMAGE}"));
    let e = fails(&p);
    assert!(
        e.contains("image `app` is enrolled twice (first at line 1)"),
        "{e}"
    );
    assert!(e.contains("images.yaml:10:3"), "{e}");
}

#[test]
fn unknown_key_suggests_the_near_miss() {
    let p = Project::new();
    p.images(&format!("{ONE_IMAGE}  rebuildDelya: 7d\n"));
    let e = fails(&p);
    assert!(e.contains("unknown field `rebuildDelya`"), "{e}");
    assert!(e.contains("did you mean `rebuildDelay`?"), "{e}");
    assert!(e.contains("images.yaml:9:3"), "{e}");
}

#[test]
fn unknown_key_in_source_suggests_too() {
    let p = Project::new();
    p.images(&ONE_IMAGE.replace("workflow:", "worklfow:"));
    let e = fails(&p);
    assert!(e.contains("did you mean `workflow`?"), "{e}");
    assert!(e.contains("images.yaml:8:5"), "{e}");
}

#[test]
fn invalid_names_are_refused_with_a_suggestion() {
    let p = Project::new();
    p.images(&ONE_IMAGE.replace("name: app", "name: My_App"));
    let e = fails(&p);
    assert!(e.contains("invalid name `My_App`"), "{e}");
    // The column of the value, where the caret is.
    assert!(e.contains("images.yaml:1:9"), "{e}");
    assert!(e.contains("for example to `my-app"), "{e}");
}

#[test]
fn every_problem_is_reported_at_once() {
    let p = Project::new();
    p.images(
        &ONE_IMAGE
            .replace("name: app", "name: My_App")
            .replace("registry: ghcr.io", "registry: GHCR.IO"),
    );
    let e = fails(&p);
    assert!(
        e.contains("invalid name") && e.contains("invalid registry"),
        "{e}"
    );
    assert!(e.contains("2 problems found; nothing was written"), "{e}");
}

#[test]
fn missing_source_fields() {
    let p = Project::new();
    p.images(&ONE_IMAGE.replace("    dockerfile: docker/Dockerfile\n", ""));
    let e = fails(&p);
    assert!(e.contains("missing field `dockerfile`"), "{e}");
    assert!(e.contains("images.yaml:"), "{e}");

    let p = Project::new();
    p.images(&ONE_IMAGE.replace("    workflow: build.yml\n", ""));
    let e = fails(&p);
    assert!(e.contains("needs `source.workflow`"), "{e}");
    assert!(e.contains("add `workflow: app.yml`"), "{e}");

    let p = Project::new();
    p.images(&ONE_IMAGE.replace("  registry: ghcr.io\n", ""));
    assert!(fails(&p).contains("missing field `registry`"));
}

#[test]
fn wrong_types() {
    let p = Project::new();
    p.images(&format!("{ONE_IMAGE}  autoRebuild: sometimes\n"));
    let e = fails(&p);
    assert!(
        e.contains("autoRebuild") && e.contains("images.yaml:9:16"),
        "{e}"
    );
}

#[test]
fn bad_rebuild_delay_and_strategy() {
    let p = Project::new();
    p.images(&format!(
        "{ONE_IMAGE}  rebuildDelay: 7 days\n- name: pg\n  registry: docker.io\n  repository: library/postgres\n  tag: '16'\n  imageSelectionStrategy: semver\n"
    ));
    let e = fails(&p);
    assert!(e.contains("invalid rebuildDelay `7 days`"), "{e}");
    assert!(e.contains("did you mean `SemVer`?"), "{e}");
}

#[test]
fn malformed_state_file() {
    let p = Project::new();
    p.images(ONE_IMAGE)
        .file("state/images/app.yaml", "name: app\nbaseImages: [node-22\n");
    let e = fails(&p);
    assert!(e.contains("state/images/app.yaml:"), "{e}");
    assert!(e.contains("run `imgf analyze`"), "{e}");

    let p = Project::new();
    p.images(ONE_IMAGE)
        .file("state/images/app.yaml", "name: app\nbaseImages: {a: 1}\n");
    let e = fails(&p);
    assert!(e.contains("state/images/app.yaml:2:"), "{e}");

    let p = Project::new();
    p.images(ONE_IMAGE).file("state/images/app.yaml", "\n");
    assert!(fails(&p).contains("state file is empty"));
}

#[test]
fn base_named_in_base_images_without_a_state_file() {
    let p = Project::new();
    p.images(ONE_IMAGE)
        .file(
            "state/images/app.yaml",
            "name: app\nbaseImages:\n  - node-22\n  - nginx-1\n",
        )
        .file("state/base-images/node-22.yaml", NODE_STATE);
    let e = fails(&p);
    assert!(
        e.contains("built on `nginx-1`, but there is no base-image state file for it"),
        "{e}"
    );
    assert!(e.contains("state/images/app.yaml:4:5"), "{e}");
    assert!(e.contains("imgf analyze --image app"), "{e}");
}

#[test]
fn a_base_that_cannot_be_watched() {
    let p = Project::new();
    p.images(ONE_IMAGE)
        .file(
            "state/images/app.yaml",
            "name: app\nbaseImages: [node-pinned]\n",
        )
        .file(
            "state/base-images/node-pinned.yaml",
            "name: node-pinned\nrepoURL: docker.io/library/node\ndigest: sha256:abc\n",
        );
    let e = fails(&p);
    assert!(
        e.contains("cannot be watched: it is pinned by digest only"),
        "{e}"
    );
}

#[test]
fn yaml_alias_bombs_are_refused() {
    let mut bomb = String::from("- name: app\n  registry: ghcr.io\n  repository: org/app\n  x0: &a0 [z, z, z, z, z, z, z, z, z, z]\n");
    for i in 1..12 {
        let prev = format!("*a{}", i - 1);
        let _ = writeln!(bomb, "  x{i}: &a{i} [{}]", [prev.as_str(); 10].join(", "));
    }
    let p = Project::new();
    p.images(&bomb);
    let e = fails(&p);
    assert!(
        e.contains("repetition limit exceeded") || e.contains("recursion limit"),
        "{e}"
    );
    assert!(e.contains("anchors"), "{e}");
}

#[test]
fn invalid_settings() {
    let p = Project::new();
    p.images(ONE_IMAGE).file(
        "settings.yaml",
        "project: Image_Factory\nintervals:\n  base: 1 day\n",
    );
    let e = fails(&p);
    assert!(
        e.contains("invalid project `Image_Factory`") && e.contains("settings.yaml:1:1"),
        "{e}"
    );
    assert!(e.contains("invalid intervals.base `1 day`"), "{e}");
    let p = Project::new();
    p.images(ONE_IMAGE).file("settings.yaml", "projcet: x\n");
    assert!(fails(&p).contains("did you mean `project`?"));
}

/// The cdk8s app's layout: the base list after the `enrollment:` copy.
/// synth keeps only that block of an image state; the error still points
/// at the entry and shows its line.
#[test]
fn a_missing_base_in_a_cdk8s_state_file_is_shown_on_its_line() {
    let p = Project::new();
    p.images(ONE_IMAGE)
        .file(
            "state/images/app.yaml",
            "# Auto-generated by Image Factory\nname: app\n\n# Enrollment configuration\nenrollment:\n  registry: ghcr.io\n  autoRebuild: true\n\n# Discovered from Dockerfile parsing\nbaseImages:\n  - node-22\n  # pinned\n  - nginx-1\n\ncurrentVersion: null\n",
        )
        .file("state/base-images/node-22.yaml", NODE_STATE);
    let e = fails(&p);
    assert!(e.contains("state/images/app.yaml:13:5"), "{e}");
    assert!(e.contains("13 |   - nginx-1"), "{e}");
}

/// `app.yaml` and `app.yml` are both the state of `app`: an error naming
/// both, after the warnings about the later file, which is still read.
#[test]
fn two_state_files_for_one_image() {
    let p = Project::new();
    p.images(ONE_IMAGE)
        .file("state/images/app.yaml", "name: app\nbaseImages: []\n")
        .file("state/images/app.yml", "name: app\nbaseImage: []\n");
    let e = fails(&p);
    let typo = e.find("unknown key `baseImage`").expect(&e);
    let two = e.find("two state files for `app`").expect(&e);
    assert!(typo < two, "{e}");
    assert!(
        e.contains("state/images/app.yaml and ") && e.contains("state/images/app.yml"),
        "{e}"
    );
}

#[test]
fn dockerfile_outside_the_repository() {
    let p = Project::new();
    p.images(&ONE_IMAGE.replace("docker/Dockerfile", "../other/Dockerfile"));
    assert!(fails(&p).contains("leaves the repository"));
}

#[test]
fn an_image_that_is_its_own_base() {
    let p = Project::new();
    p.images(ONE_IMAGE)
        .file("state/images/app.yaml", "name: app\nbaseImages: [app]\n");
    assert!(fails(&p).contains("lists itself as its own base"));
}

/// `imgf synth` as the user sees it: exit code, stdout and the whole stderr.
fn synth_transcript(p: &Project) -> String {
    let r = p.run(&["synth", "--output", "-"]);
    format!(
        "----- exit code: {} -----\n----- stdout -----\n{}----- stderr -----\n{}",
        r.code, r.stdout, r.stderr
    )
}

/// An invalid image name gets a valid, readable name as a suggestion: not
/// itself back (`api.v2`), not a hashed name where `my-api` would do.
#[test]
fn invalid_names_get_valid_readable_suggestions() {
    let p = Project::new();
    p.images(&format!(
        "{}{}",
        ONE_IMAGE.replace("name: app", "name: Api_v2"),
        ONE_IMAGE
            .replace("name: app", "name: my_api")
            .replace("org/app", "org/my-api")
    ));
    insta::assert_snapshot!("invalid_name_suggestions", synth_transcript(&p));
}

/// YAML syntax errors say what the mistake is and how to fix it, at the
/// file, line and column (not libyaml's "found character that cannot start
/// any token").
#[test]
fn yaml_syntax_errors_are_explained() {
    for (name, yaml) in [
        (
            "yaml_tab_indentation",
            ONE_IMAGE.replace("  registry:", "\tregistry:"),
        ),
        (
            "yaml_indented_less",
            ONE_IMAGE.replace("  repository:", " repository:"),
        ),
        (
            "yaml_indented_more",
            ONE_IMAGE.replace("  repository:", "    repository:"),
        ),
        (
            "yaml_unclosed_quote",
            ONE_IMAGE.replace("branch: main", "branch: \"main"),
        ),
        (
            "yaml_duplicate_key",
            ONE_IMAGE.replace("    branch: main\n", "    branch: main\n    branch: dev\n"),
        ),
        (
            "yaml_colon_in_value",
            ONE_IMAGE.replace("workflow: build.yml", "workflow: build: yml"),
        ),
    ] {
        let p = Project::new();
        p.images(&yaml);
        insta::assert_snapshot!(
            name,
            format!("----- images.yaml -----\n{yaml}{}", synth_transcript(&p))
        );
    }
}

/// `synth` and `synth --target flux` on `yaml`, as the user sees them.
fn kargo_and_flux(yaml: &str) -> String {
    let p = Project::new();
    p.images(yaml);
    let flux = p.run(&["synth", "--target", "flux", "--output", "-"]);
    format!(
        "----- images.yaml -----\n{yaml}{}----- --target flux: exit code {} -----\n",
        synth_transcript(&p),
        flux.code
    )
}

/// Branches Kargo's Warehouse would reject (its Git subscription schema,
/// `pkg/subscription/schemas/git.json`) are refused by the Kargo target at
/// the value's line and column, with the rule and a fix; values git itself
/// refuses stay errors for every target. Flux takes any git branch.
#[test]
fn branches_kargo_rejects() {
    for (name, branch) in [
        // git's rules: every target
        ("branch_trailing_slash", "feature/"),
        ("branch_leading_dash", "'-x'"),
        ("branch_double_dot", "a..b"),
        // Kargo's pattern only
        ("branch_plus", "release+1"),
        ("branch_leading_underscore", "_wip"),
    ] {
        let yaml = ONE_IMAGE.replace("branch: main", &format!("branch: {branch}"));
        insta::assert_snapshot!(name, kargo_and_flux(&yaml));
    }
}

/// Image repositories Kargo's image subscription schema
/// (`pkg/subscription/schemas/image.json`) rejects: `--` is Docker's but
/// not Kargo's (Kargo target only); `_.` is neither's (every target).
#[test]
fn repositories_kargo_rejects() {
    for (name, repository) in [
        ("repository_double_dash", "org/my--app"),
        ("repository_underscore_dot", "org/my_.app"),
    ] {
        let yaml = ONE_IMAGE.replace("repository: org/app", &format!("repository: {repository}"));
        insta::assert_snapshot!(name, kargo_and_flux(&yaml));
    }
    let p = Project::new();
    p.images(&ONE_IMAGE.replace("registry: ghcr.io", "registry: my--registry.example"));
    let e = fails(&p);
    assert!(
        e.contains("invalid registry `my--registry.example`")
            && e.contains("`my--registry.example` has `--`")
            && e.contains("images.yaml:2:13"),
        "{e}"
    );
}

/// A discovered base image Kargo would refuse is an error at its state
/// file's line, but only while a Warehouse watches it.
#[test]
fn a_base_image_kargo_rejects() {
    let p = Project::new();
    p.images(ONE_IMAGE)
        .file("state/images/app.yaml", "name: app\nbaseImages: [tool]\n")
        .file(
            "state/base-images/tool.yaml",
            "name: tool\nfullImage: quay.io/org/my--tool:1.0\nregistry: quay.io\nrepository: org/my--tool\ntag: '1.0'\n",
        );
    insta::assert_snapshot!("base_image_double_dash", synth_transcript(&p));
    let flux = p.run(&["synth", "--target", "flux", "--output", "-"]);
    assert_eq!(flux.code, 0, "{}", flux.stderr);
    let backstage = p.run(&["synth", "--target", "backstage", "--output", "-"]);
    assert_eq!(backstage.code, 0, "{}", backstage.stderr);

    // Not used by any image: no Warehouse, so only the usual warning.
    p.file("state/images/app.yaml", "name: app\nbaseImages: []\n");
    let r = p.run(&["synth", "--output", "-"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr.contains("is not used by any enrolled image"),
        "{}",
        r.stderr
    );
}
