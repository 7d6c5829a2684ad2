//! `imgf synth --target backstage`: the catalog entities (`ManagedImage`,
//! `BaseImage`) and both directions of every edge.

use std::collections::BTreeSet;
use std::process::Command;

use crate::support::{docs, of_kind, python_deps, shared, Project, NODE_STATE};

/// Real digests (`sha256:` and 64 lowercase hex digits), without the prefix.
const ABC: &str = "abc0000000000000000000000000000000000000000000000000000000000abc";
const DEF: &str = "def0000000000000000000000000000000000000000000000000000000000def";

/// A 70-character image name: a valid subdomain, too long for an entity name.
const LONG: &str = "a-very-long-image-name-that-is-fine-for-kubernetes-but-not-backstage-x";

/// A cascade (`app` on `base`, `base` on node:22), a GitLab image without a
/// workflow, a delay of 0, an external image and a name that needs shortening.
fn project() -> Project {
    let p = Project::new();
    p.images(&format!(
        "\
- name: base
  registry: ghcr.io
  repository: org/base
  source: {{repo: org/images, dockerfile: base/Dockerfile, workflow: base.yml}}
- name: app
  registry: ghcr.io
  repository: org/app
  owner: group:default/app-team
  system: shop
  lifecycle: experimental
  rebuildDelay: '0'
  source: {{repo: org/app, branch: dev, dockerfile: Dockerfile, workflow: app.yml}}
- name: worker
  registry: registry.gitlab.com
  repository: grp/worker
  autoRebuild: false
  source: {{provider: gitlab, repo: grp/worker, dockerfile: docker/Dockerfile}}
- name: {LONG}
  registry: ghcr.io
  repository: org/long
  rebuildDelay: 90m
  source: {{repo: org/long, dockerfile: Dockerfile, workflow: long.yml}}
- name: pg
  registry: docker.io
  repository: library/postgres
  tag: 16-alpine
"
    ))
    .file("state/images/base.yaml", &format!("name: base\nbaseImages: [node-22]\ncurrentVersion: '1.2.0'\ncurrentDigest: sha256:{ABC}\nlastBuilt: '2026-01-02T03:04:05Z'\n"))
    .file("state/images/app.yaml", "name: app\nbaseImages: [base]\n")
    .file("state/images/worker.yaml", "name: worker\nbaseImages: [node-22]\n")
    .file(&format!("state/images/{LONG}.yaml"), &format!("name: {LONG}\nbaseImages: [node-22, base]\n"))
    .file(
        "state/base-images/node-22.yaml",
        &format!("{NODE_STATE}currentDigest: sha256:{DEF}\nlastUpdated: '2026-01-01T00:00:00Z'\nrebuildEligibleAt:\n  worker: '2026-01-08T00:00:00Z'\n"),
    );
    p
}

fn catalog(p: &Project) -> Vec<yaml_serde::Value> {
    let r = p.run(&["synth", "--target", "backstage", "--output", "-"]);
    assert_eq!(r.code, 0, "synth failed:\n{}", r.stderr);
    docs(&r.stdout)
}

fn named<'a>(docs: &'a [yaml_serde::Value], kind: &str, name: &str) -> &'a yaml_serde::Value {
    of_kind(docs, kind)
        .into_iter()
        .find(|d| d["metadata"]["name"].as_str() == Some(name))
        .unwrap_or_else(|| panic!("no {kind} {name}"))
}

fn links(v: &yaml_serde::Value) -> Vec<String> {
    v.as_sequence()
        .map(|s| {
            s.iter()
                .map(|l| l["resource"].as_str().unwrap().to_string())
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn backstage_both_directions_of_every_edge_agree() {
    let docs = catalog(&project());
    let mut down = BTreeSet::new();
    for m in of_kind(&docs, "ManagedImage") {
        let name = m["metadata"]["name"].as_str().unwrap().to_string();
        for b in links(&m["spec"]["dependsOn"]) {
            down.insert((b, name.clone()));
        }
    }
    let mut up = BTreeSet::new();
    for b in of_kind(&docs, "BaseImage") {
        let name = b["metadata"]["name"].as_str().unwrap().to_string();
        for m in links(&b["spec"]["dependents"]) {
            up.insert((name.clone(), m));
        }
    }
    assert_eq!(down, up);
    assert_eq!(down.len(), 5, "{down:?}");
}

#[test]
fn backstage_cascade_is_a_base_image_of_the_same_name() {
    let docs = catalog(&project());
    let app = named(&docs, "ManagedImage", "app");
    assert_eq!(links(&app["spec"]["dependsOn"]), ["base"]);
    assert_eq!(app["spec"]["dependsOn"][0]["type"], "base-image");
    let base = named(&docs, "BaseImage", "base");
    assert_eq!(base["spec"]["upstream"]["repository"], "org/base");
    assert_eq!(base["spec"]["upstream"]["tag"], "1.2.0");
    assert_eq!(
        base["metadata"]["annotations"]["image-factory.io/digest"],
        format!("sha256:{ABC}").as_str()
    );
    assert_eq!(
        base["metadata"]["annotations"]["image-factory.io/managed-image"],
        "base"
    );
    // The managed image itself is there too, built on node:22.
    let managed = named(&docs, "ManagedImage", "base");
    assert_eq!(links(&managed["spec"]["dependsOn"]), ["node-22"]);
    assert_eq!(
        managed["metadata"]["annotations"]["image-factory.io/last-built"],
        "2026-01-02T03:04:05Z"
    );
}

#[test]
fn backstage_delay_zero_owner_and_catalog_keys() {
    let docs = catalog(&project());
    let app = named(&docs, "ManagedImage", "app");
    assert_eq!(app["spec"]["rebuildPolicy"]["delay"], "0m");
    assert_eq!(app["spec"]["rebuildPolicy"]["autoRebuild"], true);
    assert_eq!(app["spec"]["owner"], "group:default/app-team");
    assert_eq!(app["spec"]["system"], "shop");
    assert_eq!(app["spec"]["lifecycle"], "experimental");
    assert_eq!(app["spec"]["source"]["branch"], "dev");
    let a = &app["metadata"]["annotations"];
    assert_eq!(a["github.com/project-slug"], "org/app");
    assert_eq!(
        a["backstage.io/source-location"],
        "url:https://github.com/org/app/tree/dev/"
    );
    // Defaults from settings: the base's owner and lifecycle.
    let base = named(&docs, "ManagedImage", "base");
    assert_eq!(base["spec"]["owner"], "platform-team");
    assert_eq!(base["spec"]["rebuildPolicy"]["delay"], "7d");
}

#[test]
fn backstage_gitlab_image_has_its_pipeline_as_workflow() {
    let docs = catalog(&project());
    let w = named(&docs, "ManagedImage", "worker");
    assert_eq!(w["spec"]["source"]["provider"], "gitlab");
    assert_eq!(w["spec"]["source"]["workflow"], ".gitlab-ci.yml");
    assert_eq!(w["spec"]["rebuildPolicy"]["autoRebuild"], false);
    let a = &w["metadata"]["annotations"];
    assert_eq!(a["gitlab.com/project-slug"], "grp/worker");
    assert!(a.get("github.com/project-slug").is_none());
    assert_eq!(
        a["backstage.io/source-location"],
        "url:https://gitlab.com/grp/worker/-/tree/main/docker/"
    );
    assert_eq!(
        a["image-factory.io/rebuild-eligible-at"],
        "2026-01-08T00:00:00Z"
    );
}

/// The GitLab plugin reads a project from the instance that
/// `gitlab.com/instance` names, and from gitlab.com without it.
#[test]
fn backstage_self_managed_gitlab_is_named_as_the_instance() {
    let p = project();
    let docs = catalog(&p);
    let w = named(&docs, "ManagedImage", "worker");
    assert!(w["metadata"]["annotations"]
        .get("gitlab.com/instance")
        .is_none());
    p.file(
        "settings.yaml",
        "gitlab:\n  url: https://gitlab.example.com/\n",
    );
    let docs = catalog(&p);
    let a = &named(&docs, "ManagedImage", "worker")["metadata"]["annotations"];
    assert_eq!(a["gitlab.com/instance"], "gitlab.example.com");
    assert_eq!(
        a["backstage.io/source-location"],
        "url:https://gitlab.example.com/grp/worker/-/tree/main/docker/"
    );
    // GitHub images are not GitLab projects.
    let app = named(&docs, "ManagedImage", "app");
    assert!(app["metadata"]["annotations"]
        .get("gitlab.com/instance")
        .is_none());
}

/// A placeholder in the state (the reference fixtures carry
/// `sha256:placeholder-will-be-updated-by-workflow`) is not a digest.
#[test]
fn backstage_digest_annotation_only_for_a_real_digest() {
    let p = project();
    p.file(
        "state/images/base.yaml",
        "name: base\nbaseImages: [node-22]\ncurrentVersion: '1.2.0'\ncurrentDigest: sha256:placeholder-will-be-updated-by-workflow\n",
    )
    .file(
        "state/base-images/node-22.yaml",
        &format!("{NODE_STATE}currentDigest: sha256:ABC\npreviousDigest: None\n"),
    );
    let docs = catalog(&p);
    for (kind, name) in [
        ("ManagedImage", "base"),
        ("BaseImage", "base"),
        ("BaseImage", "node-22"),
    ] {
        let a = &named(&docs, kind, name)["metadata"]["annotations"];
        assert!(
            a.get("image-factory.io/digest").is_none(),
            "{kind} {name}: {a:?}"
        );
        assert!(
            a.get("image-factory.io/previous-digest").is_none(),
            "{kind} {name}: {a:?}"
        );
    }
}

/// `./` in a repository path is dropped once, at load, so
/// every target writes the same path.
#[test]
fn dot_slash_paths_are_normalised_once_for_every_target() {
    let p = Project::new();
    p.images(
        "- name: app\n  registry: ghcr.io\n  repository: org/app\n  versions: '>=1.0.0'\n  source: {repo: org/app, dockerfile: ./docker/Dockerfile, workflow: b.yml}\n  updates:\n    - {name: prod, repo: org/deploy, path: ./apps/prod/values.yaml, type: yaml-update, key: image.tag}\n",
    );
    let docs = catalog(&p);
    let a = &named(&docs, "ManagedImage", "app");
    assert_eq!(
        a["metadata"]["annotations"]["backstage.io/source-location"],
        "url:https://github.com/org/app/tree/main/docker/"
    );
    assert_eq!(a["spec"]["source"]["dockerfile"], "docker/Dockerfile");
    for target in ["kargo", "flux", "backstage"] {
        let r = p.run(&["synth", "--target", target, "--output", "-"]);
        assert_eq!(r.code, 0, "{target}: {}", r.stderr);
        assert!(!r.stdout.contains("./docker"), "{target}:\n{}", r.stdout);
        assert!(!r.stdout.contains("/./"), "{target}:\n{}", r.stdout);
        assert!(!r.stdout.contains("././"), "{target}:\n{}", r.stdout);
        // Flux writes `update.path` as `./<dir>` itself.
        if target != "flux" {
            assert!(!r.stdout.contains("./apps"), "{target}:\n{}", r.stdout);
        }
    }
}

#[test]
fn backstage_external_image_is_a_base_image() {
    let docs = catalog(&project());
    let pg = named(&docs, "BaseImage", "pg");
    assert_eq!(pg["spec"]["upstream"]["registry"], "docker.io");
    assert_eq!(pg["spec"]["upstream"]["repository"], "library/postgres");
    assert_eq!(pg["spec"]["upstream"]["tag"], "16-alpine");
    assert_eq!(pg["spec"]["owner"], "upstream");
    assert!(pg["spec"].get("dependents").is_none());
    let node = named(&docs, "BaseImage", "node-22");
    assert_eq!(
        node["metadata"]["annotations"]["image-factory.io/digest"],
        format!("sha256:{DEF}").as_str()
    );
}

#[test]
fn backstage_long_names_are_shortened_everywhere() {
    let docs = catalog(&project());
    let long = of_kind(&docs, "ManagedImage")
        .into_iter()
        .find(|m| m["metadata"]["title"].as_str() == Some(LONG))
        .expect("the long image");
    let name = long["metadata"]["name"].as_str().unwrap();
    assert!(name.len() <= 63, "{name}");
    assert_eq!(long["spec"]["rebuildPolicy"]["delay"], "90m");
    let node = named(&docs, "BaseImage", "node-22");
    assert!(links(&node["spec"]["dependents"]).contains(&name.to_string()));
    let base = named(&docs, "BaseImage", "base");
    assert!(links(&base["spec"]["dependents"]).contains(&name.to_string()));
}

#[test]
fn backstage_settings_defaults_and_bad_values() {
    let p = project();
    p.file(
        "settings.yaml",
        "backstage:\n  owner: team-a\n  system: images\n  lifecycle: beta\n  baseOwner: vendors\n",
    );
    let docs = catalog(&p);
    let base = named(&docs, "ManagedImage", "base");
    assert_eq!(base["spec"]["owner"], "team-a");
    assert_eq!(base["spec"]["system"], "images");
    assert_eq!(base["spec"]["lifecycle"], "beta");
    assert_eq!(named(&docs, "BaseImage", "pg")["spec"]["owner"], "vendors");

    let bad = Project::new();
    bad.images(
        "- name: app\n  registry: ghcr.io\n  repository: org/app\n  owner: 'team a'\n  source: {repo: org/app, dockerfile: Dockerfile, workflow: b.yml}\n",
    );
    for target in ["kargo", "backstage"] {
        let r = bad.run(&["synth", "--target", target, "--output", "-"]);
        assert_ne!(r.code, 0);
        assert!(r.stderr.contains("invalid owner"), "{}", r.stderr);
    }
}

#[test]
fn backstage_default_output_is_catalog_info() {
    let p = project();
    let r = p.run(&["synth", "--target", "backstage"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(p.path("dist/catalog-info.yaml").is_file());
    let r = p.run(&["synth", "--target", "backstage", "--check"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
}

#[test]
#[cfg_attr(
    not(all(has_shared, has_python_deps)),
    ignore = "needs ../shared beside the repository, and python3 with pyyaml and jsonschema"
)]
fn backstage_catalog_passes_validate_manifests() {
    let Some(shared) = shared("the Backstage schema check cannot run") else {
        return;
    };
    if !python_deps("the Backstage schema check") {
        return;
    }
    let p = project();
    let out = p.path("catalog-info.yaml");
    let r = p.run(&[
        "synth",
        "--target",
        "backstage",
        "--output",
        out.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v = Command::new("python3")
        .arg(shared.join("tools/validate-manifests"))
        .arg("--check-refs")
        .arg(&out)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&v.stdout);
    assert!(v.status.success(), "{text}");
    assert!(!text.contains("warning"), "{text}");
}

#[test]
fn backstage_committed_catalog_is_up_to_date() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = crate::support::imgf_in(root, &["synth", "--target", "backstage", "--check"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "dist/catalog-info.yaml is stale; run `cargo run -- synth --target backstage`:\n{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn backstage_hostile_catalog_values_are_refused() {
    let hostile = [
        "a\"b",
        "x}}y",
        "${{ secret('t').token }}",
        "a\nb",
        "a;rm -rf /",
        "a b",
        "it's",
        "",
        "a//b",
        "-lead",
    ];
    for field in ["owner", "system", "lifecycle"] {
        for value in hostile {
            let p = Project::new();
            p.images(&format!(
                "- name: app\n  registry: ghcr.io\n  repository: org/app\n  {field}: {}\n  source: {{repo: org/app, dockerfile: Dockerfile, workflow: b.yml}}\n",
                serde_json::to_string(value).unwrap()
            ));
            let r = p.run(&["synth", "--target", "backstage", "--output", "-"]);
            assert_eq!(r.code, 2, "{field} = {value:?} was accepted:\n{}", r.stdout);
            assert!(
                r.stderr.contains(&format!("invalid {field}")),
                "{field} = {value:?}: {}",
                r.stderr
            );
        }
    }
}
