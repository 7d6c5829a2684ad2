//! `imgf synth --target flux`: Flux image automation from the
//! same images.yaml, checked on the objects and by validate-manifests.

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

use crate::support::{docs, of_kind, shared, Project, ONE_IMAGE};

fn flux(p: &Project) -> (String, String) {
    let r = p.run(&["synth", "--target", "flux", "--output", "-"]);
    assert_eq!(r.code, 0, "synth --target flux failed:\n{}", r.stderr);
    (r.stdout, r.stderr)
}

fn with(extra: &str, updates: &str) -> Project {
    let p = Project::new();
    p.images(&format!("{ONE_IMAGE}{extra}  updates:\n{updates}"));
    p
}

const TAG_UPDATE: &str =
    "    - {name: prod, repo: org/deploy, path: apps/app/values.yaml, type: yaml-update, key: image.tag}\n";

fn policy(yaml: &str) -> yaml_serde::Value {
    let d = docs(yaml);
    of_kind(&d, "ImagePolicy")[0].clone()
}

#[test]
fn a_versioned_image_gets_a_semver_range() {
    let (out, _) = flux(&with("  versions: '>=1.0.0 <2'\n", TAG_UPDATE));
    let p = policy(&out);
    assert_eq!(
        p["spec"]["policy"]["semver"]["range"].as_str(),
        Some(">=1.0.0 <2")
    );
    assert!(p["spec"].get("filterTags").is_none());
    assert_eq!(p["apiVersion"].as_str(), Some("image.toolkit.fluxcd.io/v1"));
}

#[test]
fn build_id_tags_are_ordered_numerically_on_the_extracted_timestamp() {
    let (out, _) = flux(&with(
        "  tagPattern: '^main-[a-f0-9]+-(?P<ts>[0-9]+)$'\n",
        TAG_UPDATE,
    ));
    let p = policy(&out);
    assert_eq!(
        p["spec"]["policy"]["numerical"]["order"].as_str(),
        Some("asc")
    );
    assert_eq!(
        p["spec"]["filterTags"]["pattern"].as_str(),
        Some("^main-[a-f0-9]+-(?P<ts>[0-9]+)$")
    );
    assert_eq!(p["spec"]["filterTags"]["extract"].as_str(), Some("$ts"));
    assert!(!out.contains("alphabetical"));
}

#[test]
fn digest_and_pinned_values_reflect_the_digest() {
    for (value, want) in [
        ("tag", None),
        ("digest", Some("IfNotPresent")),
        ("pinned", Some("IfNotPresent")),
    ] {
        let u = format!(
            "    - {{name: prod, repo: org/deploy, path: apps/app/deploy.yaml, type: yaml-update, key: spec.image, value: {value}}}\n"
        );
        let (out, _) = flux(&with("", &u));
        let p = policy(&out);
        assert_eq!(
            p["spec"]["digestReflectionPolicy"].as_str(),
            want,
            "{value}"
        );
        assert!(p["spec"].get("interval").is_none());
    }
}

#[test]
fn versions_and_tag_pattern_are_checked_with_their_line() {
    let p = Project::new();
    p.images(&format!(
        "{ONE_IMAGE}  versions: 'latest'\n  tagPattern: '^main-([0-9]+)$'\n"
    ));
    let r = p.run(&["synth", "--target", "flux", "--output", "-"]);
    assert_ne!(r.code, 0);
    assert!(
        r.stderr.contains("invalid versions `latest`"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("images.yaml:9"), "{}", r.stderr);
    assert!(r.stderr.contains("no named group"), "{}", r.stderr);
    assert!(r.stderr.contains("images.yaml:10"), "{}", r.stderr);
}

#[test]
fn each_kind_of_loss_is_one_warning_with_a_count() {
    let u = "    - {name: staging, repo: org/deploy, path: apps/app/staging, type: kustomize-set-image, verify: [{http: {url: 'https://x.example.org/'}}]}\n    - {name: prod, repo: org/deploy, path: apps/app/prod, type: kustomize-set-image, after: staging, pullRequest: true, argocd: {app: app-prod}}\n";
    let (_, err) = flux(&with("  autoRebuild: false\n", u));
    for what in [
        "`verify`",
        "`after`/`soak`",
        "`pullRequest`",
        "`argocd`",
        "`autoRebuild: false`",
    ] {
        let n = err
            .lines()
            .filter(|l| l.starts_with("warning: flux:") && l.contains(what))
            .count();
        assert_eq!(n, 1, "{what}:\n{err}");
    }
    assert!(err.contains("(1 image(s): app)"), "{err}");
    // Kargo's warnings are not Flux's.
    assert!(!err.contains("analysis Job"), "{err}");
}

#[test]
fn an_existing_git_repository_from_settings_is_referenced() {
    let p = with("", TAG_UPDATE);
    p.file("settings.yaml", "flux:\n  namespace: apps\n  gitRepositories: {org/deploy: flux-system}\n  registrySecret: ghcr\n  insecureRegistries: [ghcr.io]\n");
    let (out, _) = flux(&p);
    let d = docs(&out);
    assert!(of_kind(&d, "GitRepository").is_empty());
    let a = of_kind(&d, "ImageUpdateAutomation")[0];
    assert_eq!(a["spec"]["sourceRef"]["name"].as_str(), Some("flux-system"));
    assert_eq!(a["metadata"]["namespace"].as_str(), Some("apps"));
    assert_eq!(a["spec"]["update"]["path"].as_str(), Some("./apps/app"));
    let r = of_kind(&d, "ImageRepository")[0];
    assert_eq!(r["spec"]["secretRef"]["name"].as_str(), Some("ghcr"));
    assert_eq!(r["spec"]["insecure"].as_bool(), Some(true));
}

#[test]
fn the_default_output_is_beside_the_kargo_one() {
    let p = with("", TAG_UPDATE);
    let r = p.run(&["synth", "--target", "flux", "--quiet"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(p.path("dist/image-factory.flux.yaml").is_file());
    assert!(!p.path("dist/image-factory.k8s.yaml").exists());
    let r = p.run(&["synth", "--target", "flux", "--check", "--quiet"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
}

/// A large enrollment: many images, repositories, branches and tag styles.
fn large(p: &Project, n: usize) {
    let mut y = String::new();
    for i in 0..n {
        write!(
            y,
            "- name: img-{i}\n  registry: ghcr.io\n  repository: org/img-{i}\n  source: {{repo: org/src, dockerfile: img-{i}/Dockerfile, workflow: b.yml}}\n"
        )
        .unwrap();
        match i % 3 {
            0 => y.push_str("  tagPattern: '^main-[a-f0-9]+-(?P<ts>[0-9]+)$'\n"),
            1 => y.push_str("  versions: '>=1.0.0 <3'\n"),
            _ => {}
        }
        let kvalue = ["tag", "digest"][i % 2];
        let value = ["tag", "pinned", "reference", "digest"][i % 4];
        write!(
            y,
            "  updates:\n    - {{name: a, repo: org/deploy-{}, branch: b{}, path: apps/img-{i}/overlays/prod, type: kustomize-set-image, value: {kvalue}}}\n    - {{name: b, repo: org/deploy-{}, path: charts/img-{i}/values.yaml, type: yaml-update, key: image.ref, value: {value}}}\n",
            i % 7,
            i % 2,
            i % 5
        )
        .unwrap();
    }
    // External images too: a lexical tag and a mutable one.
    for i in 0..n / 10 {
        let strategy = ["Lexical", "Digest", "SemVer"][i % 3];
        write!(
            y,
            "- name: ext-{i}\n  registry: docker.io\n  repository: library/ext-{i}\n  tag: '{i}-alpine'\n  imageSelectionStrategy: {strategy}\n  updates:\n    - {{repo: org/deploy-0, path: ext/ext-{i}/values.yaml, type: yaml-update, key: image.tag}}\n"
        )
        .unwrap();
    }
    p.images(&y);
}

fn validate(shared: &Path, file: &Path) {
    if !crate::support::python_deps("schema validation") {
        return;
    }
    let out = Command::new("python3")
        .arg(shared.join("tools/validate-manifests"))
        .arg("--check-refs")
        .arg(file)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{} fails validation:\n{text}",
        file.display()
    );
    assert!(text.trim_end().ends_with(" 0 failed"), "{text}");
}

#[test]
#[cfg_attr(
    not(all(has_shared, has_python_deps)),
    ignore = "needs ../shared beside the repository, and python3 with pyyaml and jsonschema"
)]
fn flux_output_of_the_example_and_a_large_enrollment_passes_validate_manifests() {
    let Some(shared) = shared("the Flux schema check cannot run") else {
        return;
    };
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("dist/image-factory.flux.yaml");
    validate(&shared, &example);
    let p = Project::new();
    large(&p, 600);
    let r = p.run(&[
        "synth",
        "--target",
        "flux",
        "--quiet",
        "--output",
        "flux.yaml",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let out = std::fs::read_to_string(p.path("flux.yaml")).unwrap();
    let d = docs(&out);
    assert_eq!(of_kind(&d, "ImagePolicy").len(), 600 + 60);
    // 7 repositories × 2 branches, plus main of the 5 values repositories.
    assert_eq!(of_kind(&d, "ImageUpdateAutomation").len(), 7 * 2 + 5);
    validate(&shared, &p.path("flux.yaml"));
}

/// The enrollment `gen_state.py --count 10000` writes (10,000
/// managed images on about a thousand repositories, GitHub and GitLab, some
/// of one path on both) synthesizes, and every object passes the CRD
/// schemas and reference checks. A test of its own so that it runs beside
/// the others: about 6 s of synth and 4 s of validation on one idle core
/// (debug build).
#[test]
#[cfg_attr(
    not(all(has_shared, has_python_deps)),
    ignore = "needs ../shared beside the repository, and python3 with pyyaml and jsonschema"
)]
fn flux_output_of_a_generated_10000_image_enrollment_passes_validate_manifests() {
    let Some(shared) = shared("the 10,000-image Flux check cannot run") else {
        return;
    };
    let p = Project::new();
    let dir = p.path("gen/image-factory");
    let gen = Command::new("python3")
        .arg(shared.join("bench/gen_state.py"))
        .args([
            "--count",
            "10000",
            "--always-workflow",
            "--no-examples",
            "--out",
        ])
        .arg(&dir)
        .output()
        .unwrap();
    assert!(
        gen.status.success(),
        "{}",
        String::from_utf8_lossy(&gen.stderr)
    );
    let out = p.path("gen/flux.yaml");
    let r = p.run(&[
        "synth",
        "--target",
        "flux",
        "--quiet",
        "--dir",
        dir.to_str().unwrap(),
        "--output",
        out.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let text = std::fs::read_to_string(&out).unwrap();
    let d = docs(&text);
    let count = |kind: &str| -> (usize, usize) {
        let names: std::collections::BTreeSet<&str> = of_kind(&d, kind)
            .iter()
            .map(|o| o["metadata"]["name"].as_str().unwrap())
            .collect();
        (of_kind(&d, kind).len(), names.len())
    };
    let (repos, distinct) = count("GitRepository");
    assert!(repos > 500, "{repos} GitRepositories");
    assert_eq!(repos, distinct);
    let (autos, distinct) = count("ImageUpdateAutomation");
    assert_eq!(autos, distinct);
    validate(&shared, &out);
}

#[test]
fn an_enrollment_without_updates_gives_an_empty_output_and_says_so() {
    let p = Project::new();
    p.images(ONE_IMAGE);
    let (out, err) = flux(&p);
    assert!(docs(&out).iter().all(yaml_serde::Value::is_null), "{out}");
    assert!(err.contains("no image has `updates:`"), "{err}");
}

// ---- imgf updates check --target flux ----

/// A fixture workspace: one image, four targets (kustomization tag and
/// digest, Helm values tag, manifest pinned).
fn marker_workspace(kust: &str, values: &str, manifest: &str) -> Project {
    let p = with(
        "",
        "    - {name: kt, repo: org/deploy, path: k, type: kustomize-set-image}\n    - {name: kd, repo: org/deploy, path: kd, type: kustomize-set-image, value: digest}\n    - {name: values, repo: org/deploy, path: values.yaml, type: yaml-update, key: image.tag}\n    - {name: manifest, repo: org/deploy, path: m.yaml, type: yaml-update, key: spec.containers.0.image, value: pinned}\n",
    );
    let ws = p.path("ws");
    std::fs::create_dir_all(ws.join("k")).unwrap();
    std::fs::create_dir_all(ws.join("kd")).unwrap();
    std::fs::write(ws.join("k/kustomization.yaml"), kust).unwrap();
    std::fs::write(
        ws.join("kd/kustomization.yaml"),
        "images:\n  - name: ghcr.io/org/app\n    digest: sha256:00 # {\"$imagepolicy\": \"flux-system:app:digest\"}\n",
    )
    .unwrap();
    std::fs::write(ws.join("values.yaml"), values).unwrap();
    std::fs::write(ws.join("m.yaml"), manifest).unwrap();
    p
}

const KUST_OK: &str = "images:\n  - name: ghcr.io/org/app\n    newTag: '1.0.0' # {\"$imagepolicy\": \"flux-system:app:tag\"}\n";
const VALUES_OK: &str = "image:\n  tag: '1.0.0' # {\"$imagepolicy\": \"flux-system:app:tag\"}\n";
const MANIFEST_OK: &str = "spec:\n  containers:\n    - name: app\n      image: ghcr.io/org/app:1.0.0 # {\"$imagepolicy\": \"flux-system:app\"}\n";

fn marker_check(p: &Project) -> crate::support::Run {
    p.run(&["updates", "check", "--target", "flux", "--workspace", "ws"])
}

/// The controller reads only `*.yaml`, `*.yml` and `Kustomization`: a
/// marked target under another name is never updated.
#[test]
fn a_target_flux_does_not_read_is_an_error() {
    let p = with(
        "",
        "    - {name: values, repo: org/deploy, path: values.conf, type: yaml-update, key: image.tag}\n",
    );
    std::fs::create_dir_all(p.path("ws")).unwrap();
    std::fs::write(p.path("ws/values.conf"), VALUES_OK).unwrap();
    let r = marker_check(&p);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("reads only `*.yaml`, `*.yml` and `Kustomization` files"),
        "{}",
        r.stderr
    );
}

#[test]
fn markers_present_pass() {
    let r = marker_check(&marker_workspace(KUST_OK, VALUES_OK, MANIFEST_OK));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout.contains("4 update target(s) checked: no problems"),
        "{}",
        r.stdout
    );
}

#[test]
fn missing_and_wrong_markers_are_reported_with_file_line_and_the_comment() {
    let p = marker_workspace(
        "images:\n  - name: ghcr.io/org/app\n    newTag: '1.0.0'\n",
        "image:\n  tag: '1.0.0' # {\"$imagepolicy\": \"flux-system:other:tag\"}\n",
        "spec:\n  containers:\n    - name: app\n      image: ghcr.io/org/app:1.0.0 # {\"$imagepolicy\": \"flux-system:app:tag\"}\n",
    );
    let r = marker_check(&p);
    assert_eq!(r.code, 1, "{}", r.stderr);
    let e = &r.stderr;
    assert!(e.contains("ws/k/kustomization.yaml:3:1"), "{e}");
    assert!(e.contains("line 3 has no setter marker"), "{e}");
    assert!(
        e.contains("end the line with `# {\"$imagepolicy\": \"flux-system:app:tag\"}`"),
        "{e}"
    );
    assert!(e.contains("ws/values.yaml:2:1"), "{e}");
    assert!(
        e.contains("names `flux-system:other:tag`, not `flux-system:app:tag`"),
        "{e}"
    );
    assert!(e.contains("ws/m.yaml:4:1"), "{e}");
    assert!(
        e.contains("replace the marker with `# {\"$imagepolicy\": \"flux-system:app\"}`"),
        "{e}"
    );
}

#[test]
fn the_bundled_example_carries_its_flux_markers() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = crate::support::imgf_in(
        root,
        &[
            "updates",
            "check",
            "--target",
            "flux",
            "--workspace",
            "examples/deploy",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_gitlab_pull_request_becomes_a_merge_request_by_push_options() {
    let u = "    - {name: staging, repo: org/deploy, provider: gitlab, path: apps/staging/app.yaml, type: yaml-update, key: image.tag}\n    - {name: prod, repo: org/deploy, provider: gitlab, path: apps/prod/app.yaml, type: yaml-update, key: image.tag, pullRequest: true}\n";
    let (out, err) = flux(&with("", u));
    let d = docs(&out);
    let autos = of_kind(&d, "ImageUpdateAutomation");
    assert_eq!(autos.len(), 2, "{out}");
    let mr = autos
        .iter()
        .find(|a| {
            a["metadata"]["name"]
                .as_str()
                .is_some_and(|n| n.starts_with("org-deploy-main-mr-"))
        })
        .expect("a merge-request automation");
    let push = &mr["spec"]["git"]["push"];
    assert_eq!(push["branch"].as_str(), Some("imgf/update-main"));
    assert_eq!(
        push["options"]["merge_request.target"].as_str(),
        Some("main")
    );
    assert_eq!(push["options"]["merge_request.create"].as_str(), Some(""));
    // GitLab deletes the branch at the merge, so the next run starts from
    // `main` instead of building on the merged branch.
    assert_eq!(
        push["options"]["merge_request.remove_source_branch"].as_str(),
        Some("")
    );
    assert_eq!(mr["spec"]["update"]["path"].as_str(), Some("./apps/prod"));
    // Not a loss on GitLab; the paths do not cross.
    assert!(!err.contains("`pullRequest`"), "{err}");
    assert!(!err.contains("share a directory"), "{err}");
    // A direct automation over the whole repository would also write prod.
    let u = "    - {name: staging, repo: org/deploy, provider: gitlab, path: app.yaml, type: yaml-update, key: image.tag}\n    - {name: prod, repo: org/deploy, provider: gitlab, path: apps/prod/app.yaml, type: yaml-update, key: image.tag, pullRequest: true}\n";
    let (_, err) = flux(&with("", u));
    assert!(err.contains("share a directory"), "{err}");
}

const EXTERNAL_WITH_UPDATES: &str = "- name: postgres\n  registry: docker.io\n  repository: library/postgres\n  tag: 16-alpine\n  imageSelectionStrategy: Digest\n  updates:\n    - {name: db, repo: org/deploy, path: db/values.yaml, type: yaml-update, key: image.digest, value: digest}\n";

/// The Flux objects of an external image with updates pass the schema check.
#[test]
#[cfg_attr(
    not(all(has_shared, has_python_deps)),
    ignore = "needs ../shared beside the repository, and python3 with pyyaml and jsonschema"
)]
fn an_external_image_with_updates_passes_validate_manifests() {
    let Some(shared) = shared("the Flux schema check cannot run") else {
        return;
    };
    let p = Project::new();
    p.images(EXTERNAL_WITH_UPDATES);
    let (out, _) = flux(&p);
    std::fs::write(p.path("ext.yaml"), &out).unwrap();
    validate(&shared, &p.path("ext.yaml"));
}

#[test]
fn an_external_image_with_updates_is_followed_by_flux_and_by_kargo() {
    let p = Project::new();
    p.images(EXTERNAL_WITH_UPDATES);
    let (out, _) = flux(&p);
    let d = docs(&out);
    let pol = of_kind(&d, "ImagePolicy")[0];
    assert_eq!(
        pol["spec"]["filterTags"]["pattern"].as_str(),
        Some("^16-alpine$")
    );
    assert_eq!(
        pol["spec"]["digestReflectionPolicy"].as_str(),
        Some("Always")
    );
    assert_eq!(pol["spec"]["interval"].as_str(), Some("24h"));
    assert_eq!(
        pol["spec"]["policy"]["alphabetical"]["order"].as_str(),
        Some("asc")
    );
    assert_eq!(of_kind(&d, "ImageUpdateAutomation").len(), 1);
    // The Kargo target deploys it too.
    let r = p.run(&["synth", "--output", "-"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(!r.stderr.contains("external images"), "{}", r.stderr);
    assert!(
        r.stdout.contains("name: update-postgres-db"),
        "{}",
        r.stdout
    );
}

/// `16-alpine` is not a version, so a semver policy selects
/// nothing (image-reflector-controller `internal/policy/semver.go:64`,
/// "unable to determine latest version"); an image that follows one tag
/// selects it, and a digest written from it is read again every interval,
/// whatever the strategy.
#[test]
fn an_external_image_follows_its_one_tag_and_rereads_its_digest_for_every_strategy() {
    for strategy in ["SemVer", "Lexical", "Digest", "NewestBuild"] {
        for value in ["digest", "pinned"] {
            let p = Project::new();
            p.images(&format!(
                "- name: postgres\n  registry: docker.io\n  repository: library/postgres\n  tag: 16-alpine\n  imageSelectionStrategy: {strategy}\n  updates:\n    - {{name: db, repo: org/deploy, path: db/values.yaml, type: yaml-update, key: image.ref, value: {value}}}\n",
            ));
            let (out, _) = flux(&p);
            let pol = policy(&out);
            let spec = &pol["spec"];
            let at = format!("{strategy} {value}:\n{out}");
            assert_eq!(
                spec["filterTags"]["pattern"].as_str(),
                Some("^16-alpine$"),
                "{at}"
            );
            assert!(spec["policy"]["semver"].is_null(), "{at}");
            assert_eq!(
                spec["policy"]["alphabetical"]["order"].as_str(),
                Some("asc"),
                "{at}"
            );
            assert_eq!(
                spec["digestReflectionPolicy"].as_str(),
                Some("Always"),
                "{at}"
            );
            assert_eq!(spec["interval"].as_str(), Some("24h"), "{at}");
        }
    }
}

#[test]
fn pushes_without_git_credentials_are_warned_about_at_synth() {
    let p = with("", TAG_UPDATE);
    let (out, err) = flux(&p);
    let d = docs(&out);
    let repo = of_kind(&d, "GitRepository")[0];
    assert!(repo["spec"]["secretRef"].is_null(), "{out}");
    assert!(
        err.contains("no `flux.gitSecret` is set")
            && err.contains("pushes without credentials")
            && err.contains("gitSecret: <name>"),
        "{err}"
    );
    p.file("settings.yaml", "flux:\n  gitSecret: deploy-git-auth\n");
    let (out, err) = flux(&p);
    assert!(!err.contains("flux.gitSecret"), "{err}");
    let d = docs(&out);
    assert_eq!(
        of_kind(&d, "GitRepository")[0]["spec"]["secretRef"]["name"].as_str(),
        Some("deploy-git-auth")
    );
    // The Kargo target does not push through Flux: no such warning there.
    let r = p.run(&["synth", "--output", "-"]);
    assert!(!r.stderr.contains("flux.gitSecret"), "{}", r.stderr);
}

#[test]
fn one_repository_path_on_github_and_gitlab_and_alike_paths_do_not_collide() {
    let u = "    - {name: a, repo: a-b/c, path: a/values.yaml, type: yaml-update, key: image.tag}\n    - {name: b, repo: a/b-c, path: b/values.yaml, type: yaml-update, key: image.tag}\n    - {name: c, repo: a/b-c, provider: gitlab, path: c/values.yaml, type: yaml-update, key: image.tag}\n    - {name: d, repo: a/b-c, branch: x/y, path: d/values.yaml, type: yaml-update, key: image.tag}\n    - {name: e, repo: a/b-c, branch: x-y, path: e/values.yaml, type: yaml-update, key: image.tag}\n";
    let (out, _) = flux(&with("", u));
    let d = docs(&out);
    let names = |kind: &str| -> std::collections::BTreeSet<String> {
        of_kind(&d, kind)
            .iter()
            .map(|o| o["metadata"]["name"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(names("GitRepository").len(), 3, "{out}");
    assert_eq!(names("ImageUpdateAutomation").len(), 5, "{out}");
    // Every automation points at a GitRepository of the output.
    for a in of_kind(&d, "ImageUpdateAutomation") {
        let r = a["spec"]["sourceRef"]["name"].as_str().unwrap();
        assert!(names("GitRepository").contains(r), "{r}");
    }
}

#[test]
fn an_external_image_target_is_linted_for_its_marker() {
    let p = Project::new();
    p.images(
        "- name: postgres\n  registry: docker.io\n  repository: library/postgres\n  tag: 16-alpine\n  updates:\n    - {name: db, repo: org/deploy, path: db/values.yaml, type: yaml-update, key: image.tag}\n",
    );
    std::fs::create_dir_all(p.path("ws/db")).unwrap();
    std::fs::write(p.path("ws/db/values.yaml"), "image:\n  tag: 16-alpine\n").unwrap();
    let r = marker_check(&p);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("ws/db/values.yaml:2:1"), "{}", r.stderr);
    assert!(
        r.stderr.contains("flux-system:postgres:tag"),
        "{}",
        r.stderr
    );
}

#[test]
fn flux_settings_are_checked_with_their_line() {
    let p = with("", TAG_UPDATE);
    p.file(
        "settings.yaml",
        "flux:\n  namespace: Bad_NS\n  author: {name: bot, email: not-an-address}\n  unknownKey: 1\n",
    );
    let r = p.run(&["synth", "--target", "flux", "--output", "-"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("unknownKey"), "{}", r.stderr);
    p.file(
        "settings.yaml",
        "flux:\n  namespace: Bad_NS\n  author: {name: bot, email: not-an-address}\n",
    );
    let r = p.run(&["synth", "--target", "flux", "--output", "-"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("invalid flux.namespace `Bad_NS`"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("invalid flux.author.email"),
        "{}",
        r.stderr
    );
    // Each at its key's own line, not at `flux:`.
    assert!(r.stderr.contains("settings.yaml:2:3"), "{}", r.stderr);
    assert!(r.stderr.contains("settings.yaml:3:3"), "{}", r.stderr);
}

// ---- The setter line, by structure, as the controller sees it ----

/// The lines Flux's setters rewrite for `policy`, by kyaml's rules
/// (`fieldmeta.go` `Read`), read line by line and independently of imgf:
/// a one-line scalar in block style (`key: value`, `- value`; not inside
/// `{…}` or `[…]`) whose line comment, read whole with its `#`s and
/// spaces trimmed, is a JSON object naming the policy.
fn rewritten_by_flux(text: &str, policy: &str) -> Vec<usize> {
    text.lines()
        .enumerate()
        .filter_map(|(i, l)| {
            let (code, comment) = l.split_once(" #")?;
            let code = code.trim_end();
            let block_scalar = !code.ends_with(['}', ']'])
                && (code.contains(": ") || code.trim_start().starts_with("- "));
            let body = comment.trim_start_matches('#').trim();
            let v: serde_json::Value = serde_json::from_str(body).ok()?;
            (block_scalar && v.get("$imagepolicy")?.as_str()? == policy).then_some(i + 1)
        })
        .collect()
}

/// A values file for key `image.tag` beside a `sidecar.image.tag`, written
/// line by line; returns the text and the line of `image.tag`'s value
/// (known from how it is written, not from parsing).
fn values_fixture(
    sidecar_first: bool,
    sidecar_comment: &str,
    comment: &str,
    flow: bool,
) -> (String, usize) {
    let mut lines: Vec<String> = Vec::new();
    let mut target = 0;
    let sidecar = |lines: &mut Vec<String>| {
        lines.push("sidecar:".into());
        lines.push("  image:".into());
        lines.push(format!("    tag: '0.1'{sidecar_comment}"));
    };
    if sidecar_first {
        sidecar(&mut lines);
    }
    if flow {
        lines.push(format!(
            "image: {{repository: ghcr.io/org/app, tag: '1.0.0'}}{comment}"
        ));
        target = lines.len();
    } else {
        lines.push("image:".into());
        lines.push("  repository: ghcr.io/org/app".into());
        lines.push(format!("  tag: '1.0.0'{comment}"));
        target += lines.len();
    }
    if !sidecar_first {
        sidecar(&mut lines);
    }
    (lines.join("\n") + "\n", target)
}

/// `updates check --target flux` passes a target exactly when the
/// controller would rewrite the line of the key's value: nesting
/// (`sidecar.image.tag` is not `image.tag`), flow mappings, markers with
/// text after the `}`, other policies, compact markers.
#[test]
fn the_flux_check_passes_exactly_the_lines_the_controller_rewrites() {
    const POLICY: &str = "flux-system:app:tag";
    let marker = format!("{{\"$imagepolicy\": \"{POLICY}\"}}");
    let comments = [
        String::new(),
        format!(" # {marker}"),
        " ##{\"$imagepolicy\":\"flux-system:app:tag\"}".to_string(),
        format!(" # {marker} # bumped by Flux"),
        format!(" # see: {marker}"),
        " # {\"$imagepolicy\": \"flux-system:other:tag\"}".to_string(),
        " # pinned".to_string(),
    ];
    let mut fixtures = Vec::new();
    for sidecar_first in [true, false] {
        for sidecar_comment in [String::new(), format!(" # {marker}")] {
            for comment in &comments {
                for flow in [false, true] {
                    fixtures.push(values_fixture(
                        sidecar_first,
                        &sidecar_comment,
                        comment,
                        flow,
                    ));
                }
            }
        }
    }
    let mut updates = String::new();
    for i in 0..fixtures.len() {
        let _ = writeln!(updates,
            "    - {{name: c{i}, repo: org/deploy, path: v{i}.yaml, type: yaml-update, key: image.tag}}"
        );
    }
    let p = with("", &updates);
    std::fs::create_dir_all(p.path("ws")).unwrap();
    for (i, (text, _)) in fixtures.iter().enumerate() {
        std::fs::write(p.path(&format!("ws/v{i}.yaml")), text).unwrap();
    }
    let r = p.run(&[
        "updates",
        "check",
        "--target",
        "flux",
        "--workspace",
        "ws",
        "--format",
        "json",
    ]);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let targets = v["targets"].as_array().unwrap();
    assert_eq!(targets.len(), fixtures.len());
    let (mut passed, mut failed) = (0, 0);
    for (i, (text, line)) in fixtures.iter().enumerate() {
        let t = &targets[i];
        assert_eq!(t["update"], format!("c{i}"));
        let flux_sets_it = rewritten_by_flux(text, POLICY).contains(line);
        let ok = t["status"] == "ok";
        assert_eq!(
            ok, flux_sets_it,
            "v{i}.yaml (image.tag on line {line}):\n{text}{}",
            t["problems"]
        );
        if ok {
            passed += 1;
        } else {
            failed += 1;
            // The problem is on the line of the key's value.
            assert_eq!(t["problems"][0]["line"], *line as u64, "v{i}.yaml:\n{text}");
        }
    }
    assert!(
        passed >= 8 && failed >= 8,
        "{passed} passed, {failed} failed"
    );
    assert_eq!(r.code, 1);
    // The messages: the exact line to write, and where a marker on
    // another value sits.
    let e = &r.stderr;
    assert!(
        e.contains(
            "holds more than the marker; kyaml reads the whole comment as the marker's JSON"
        ) && e.contains(&format!("write the line as `tag: '1.0.0' # {marker}`")),
        "{e}"
    );
    assert!(
        e.contains("the marker is on line 3 (`sidecar.image.tag`), which Flux updates instead"),
        "{e}"
    );
    assert!(e.contains("is inside a flow collection (`}"), "{e}");
}

/// A list index is an index: a marker on containers.1 does not serve a key
/// on containers.0, and the kustomization entry is the one named after the
/// image.
#[test]
fn flux_markers_are_found_by_list_index_and_entry() {
    let sidecar = "spec:\n  containers:\n    - name: sidecar\n      image: busybox:1 # {\"$imagepolicy\": \"flux-system:app\"}\n    - name: app\n      image: ghcr.io/org/app:1.0.0\n";
    let kust = "images:\n  - name: ghcr.io/org/other\n    newTag: '2' # {\"$imagepolicy\": \"flux-system:app:tag\"}\n  - name: ghcr.io/org/app\n    newTag: '1.0.0'\n";
    let p = marker_workspace(kust, VALUES_OK, sidecar);
    let r = marker_check(&p);
    assert_eq!(r.code, 1, "{}", r.stderr);
    let e = &r.stderr;
    // m.yaml: key spec.containers.0.image is line 4, and it has the marker.
    assert!(!e.contains("ws/m.yaml"), "{e}");
    assert!(e.contains("ws/k/kustomization.yaml:5:1"), "{e}");
    assert!(e.contains("line 5 has no setter marker"), "{e}");
    assert!(
        e.contains("the marker is on line 3 (`images.0.newTag`)"),
        "{e}"
    );
    // The key names the second container: its line has no marker.
    let swapped = sidecar.replace("- name: sidecar", "- name: first");
    let p = marker_workspace(KUST_OK, VALUES_OK, &swapped);
    let images = p.dir().join("images.yaml");
    std::fs::write(
        &images,
        std::fs::read_to_string(&images)
            .unwrap()
            .replace("spec.containers.0.image", "spec.containers.1.image"),
    )
    .unwrap();
    let r = marker_check(&p);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("ws/m.yaml:6:1"), "{}", r.stderr);
    assert!(
        r.stderr
            .contains("the marker is on line 4 (`spec.containers.0.image`)"),
        "{}",
        r.stderr
    );
    let index = "spec:\n  containers:\n    - name: app\n";
    let p = marker_workspace(KUST_OK, VALUES_OK, index);
    let r = marker_check(&p);
    assert!(
        r.stderr.contains(
            "key `spec.containers.0.image` does not exist: `spec.containers.0` has no `image`"
        ) && r.stderr.contains("ws/m.yaml:3:"),
        "{}",
        r.stderr
    );
}

/// A file Flux cannot parse is skipped by the controller without a word;
/// the check says so, with the line. Flux reads every document.
#[test]
fn an_unparsable_flux_target_is_an_error_with_its_line() {
    for (values, line) in [
        (
            "image:\n  tag: '1.0.0' # {\"$imagepolicy\": \"flux-system:app:tag\"}\n  x: [1\n",
            "ws/values.yaml:3:",
        ),
        (
            "image:\n  tag: '1.0.0' # {\"$imagepolicy\": \"flux-system:app:tag\"}\n---\nbad: [\n",
            "ws/values.yaml:5:",
        ),
    ] {
        let p = marker_workspace(KUST_OK, values, MANIFEST_OK);
        let r = marker_check(&p);
        assert_eq!(r.code, 1, "{}", r.stderr);
        assert!(r.stderr.contains(line), "{line}: {}", r.stderr);
        assert!(
            r.stderr.contains("Flux's image-automation-controller skips a file it cannot parse, silently, so no line in it is updated"),
            "{}",
            r.stderr
        );
    }
}
