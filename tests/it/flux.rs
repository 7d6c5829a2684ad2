//! `imgf synth --target flux` (issue 11): Flux image automation from the
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
#[cfg_attr(not(has_shared), ignore = "needs ../shared beside the repository")]
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

#[test]
fn an_enrollment_without_updates_gives_an_empty_output_and_says_so() {
    let p = Project::new();
    p.images(ONE_IMAGE);
    let (out, err) = flux(&p);
    assert!(docs(&out).iter().all(|d| d.is_null()), "{out}");
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
    assert_eq!(r.code, 2, "{}", r.stderr);
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
        .find(|a| a["metadata"]["name"].as_str() == Some("org-deploy-main-mr"))
        .expect("a merge-request automation");
    let push = &mr["spec"]["git"]["push"];
    assert_eq!(push["branch"].as_str(), Some("imgf/update-main"));
    assert_eq!(
        push["options"]["merge_request.target"].as_str(),
        Some("main")
    );
    assert_eq!(push["options"]["merge_request.create"].as_str(), Some(""));
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
#[cfg_attr(not(has_shared), ignore = "needs ../shared beside the repository")]
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
    assert_eq!(of_kind(&d, "ImageUpdateAutomation").len(), 1);
    // The Kargo target deploys it too (issue 17.7).
    let r = p.run(&["synth", "--output", "-"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(!r.stderr.contains("external images"), "{}", r.stderr);
    assert!(
        r.stdout.contains("name: update-postgres-db"),
        "{}",
        r.stdout
    );
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
    assert_eq!(r.code, 2, "{}", r.stderr);
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
    assert!(r.stderr.contains("settings.yaml:1"), "{}", r.stderr);
}
