//! The bundled example in `image-factory/`: the committed `dist/` is what
//! synth produces from it (dist/ is the example's one golden output — CI
//! checks it with `synth --check` too — so it has no insta snapshot besides),
//! and its graphs are snapshotted.

use std::path::Path;

fn synth_example() -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = crate::support::imgf()
        .args(["synth", "--output", "-"])
        .current_dir(root)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.stderr.is_empty(),
        "the example synthesizes without warnings:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The example synthesizes without warnings to exactly the committed
/// `dist/image-factory.k8s.yaml`, and `synth --check` agrees.
#[test]
fn committed_dist_is_up_to_date() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dist = std::fs::read_to_string(root.join("dist/image-factory.k8s.yaml")).unwrap();
    assert!(
        synth_example() == dist,
        "dist/image-factory.k8s.yaml is stale; run `cargo run -- synth`"
    );
    let out = crate::support::imgf()
        .args(["synth", "--check"])
        .current_dir(root)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "dist/ is stale; run `cargo run -- synth`:\n{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn example_graph_snapshot() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = crate::support::imgf()
        .args(["graph"])
        .current_dir(root)
        .output()
        .unwrap();
    assert!(out.status.success());
    insta::assert_snapshot!("example_graph", String::from_utf8(out.stdout).unwrap());
}

/// The data of the example's HTML graph (the page around it is a fixed
/// template, checked in the unit tests and in a browser by .ci/browser-check).
#[test]
fn example_graph_html_data_snapshot() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = crate::support::imgf()
        .args(["graph", "--format", "html"])
        .current_dir(root)
        .output()
        .unwrap();
    assert!(out.status.success());
    let page = String::from_utf8(out.stdout).unwrap();
    let data = crate::cli::html_graph_data(&page);
    insta::assert_snapshot!(
        "example_graph_html_data",
        serde_json::to_string_pretty(&data).unwrap()
    );
}

/// The merge makes catalog facts only for the target that reads them:
/// Kargo and Flux render the same with and without them, and the
/// Backstage catalog asks for them (and the example has some).
#[test]
fn only_the_catalog_target_asks_the_merge_for_catalog_facts() {
    use imgf::targets::Target;
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("image-factory");
    let inputs =
        imgf::load::load(&dir, None, &imgf::config::settings::Overrides::default()).unwrap();
    let (full, _) = imgf::merge::merge(&inputs).unwrap();
    let (lean, _) =
        imgf::merge::merge_with(&inputs, imgf::merge::Parts { catalog: false }).unwrap();
    assert!(!full.catalog.managed.is_empty());
    assert!(lean.catalog.managed.is_empty() && lean.catalog.upstream.is_empty());
    let graph = imgf::graph::build(&full).unwrap();
    for target in [Target::Kargo, Target::Flux, Target::Backstage] {
        let spec = target.spec();
        assert_eq!(spec.catalog, target == Target::Backstage, "{target:?}");
        let render = |model| {
            (spec.render)(model, &graph, &inputs.settings)
                .unwrap()
                .to_stream()
                .unwrap()
                .to_text()
        };
        if !spec.catalog {
            assert_eq!(render(&full), render(&lean), "{target:?}");
        }
    }
}
