//! Hostile values in images.yaml or state files: refused by validation, or
//! emitted so that they cannot change the structure of the YAML, the JSON
//! dispatch body or a Kargo expression.

use crate::support::{docs, of_kind, rebuild_stage, Project, NODE_STATE};

const HOSTILE: [&str; 9] = [
    "a\"b",
    "x}}y",
    "${{ secret('github-workflow-token').token }}",
    "a\nb",
    "a;rm -rf /",
    "a b",
    "it's",
    "{{args.imageName}}",
    "a\\b",
];

/// images.yaml with `field` set to `value` (written as a JSON string, which
/// is a valid YAML double-quoted scalar, so any value can be expressed).
fn enrollment(field: &str, value: &str) -> String {
    let v = serde_json::to_string(value).unwrap();
    let mut fields = vec![
        ("name", "\"app\"".to_string()),
        ("registry", "\"ghcr.io\"".to_string()),
        ("repository", "\"org/app\"".to_string()),
        ("repo", "\"org/app\"".to_string()),
        ("branch", "\"main\"".to_string()),
        ("dockerfile", "\"docker/Dockerfile\"".to_string()),
        ("workflow", "\"build.yml\"".to_string()),
    ];
    for f in &mut fields {
        if f.0 == field {
            f.1.clone_from(&v);
        }
    }
    let get = |k: &str| fields.iter().find(|f| f.0 == k).unwrap().1.clone();
    format!(
        "- name: {}\n  registry: {}\n  repository: {}\n  source:\n    repo: {}\n    branch: {}\n    dockerfile: {}\n    workflow: {}\n",
        get("name"),
        get("registry"),
        get("repository"),
        get("repo"),
        get("branch"),
        get("dockerfile"),
        get("workflow")
    )
}

#[test]
fn hostile_enrollment_values_are_refused() {
    for field in [
        "name",
        "registry",
        "repository",
        "repo",
        "branch",
        "dockerfile",
        "workflow",
    ] {
        for value in HOSTILE {
            let p = Project::new();
            p.images(&enrollment(field, value));
            let r = p.run(&["synth", "--output", "-"]);
            assert_eq!(r.code, 2, "{field} = {value:?} was accepted:\n{}", r.stdout);
            assert!(r.stdout.is_empty());
            let shown = if field == "repo" { "repo" } else { field };
            assert!(
                r.stderr.contains(&format!("invalid {shown}")),
                "{field} = {value:?}: {}",
                r.stderr
            );
        }
    }
}

#[test]
fn hostile_state_values_are_refused() {
    for (file, text) in [
        (
            "state/base-images/node-22.yaml",
            "name: node-22\nrepoURL: \"docker.io/library/node\\\" }}\"\ntag: '22'\n",
        ),
        (
            "state/base-images/node-22.yaml",
            "name: node-22\nrepoURL: docker.io/library/node\ntag: \"22'}}\"\n",
        ),
        (
            "state/base-images/node-22.yaml",
            "name: node-22\nrepoURL: docker.io/library/node\nallowTags: \"${{ secret('x').y }}\"\n",
        ),
    ] {
        let p = Project::new();
        p.images(&enrollment("name", "app"))
            .file(
                "state/images/app.yaml",
                "name: app\nbaseImages: [node-22]\n",
            )
            .file(file, text);
        let r = p.run(&["synth", "--output", "-"]);
        assert_eq!(r.code, 2, "{text} accepted:\n{}", r.stdout);
        assert!(r.stderr.contains("node-22"), "{}", r.stderr);
        assert!(
            r.stderr.contains("node-22.yaml:"),
            "the error points into the state file: {}",
            r.stderr
        );
    }
}

/// Every `${{ … }}` in the output is one imgf builds: each string of every
/// Stage's steps and verification args evaluates, with the port of Kargo's
/// evaluator (which refuses any construct it does not know), to what Kargo
/// would compute; nothing a user wrote can have become syntax.
fn assert_only_known_expressions(yaml: &str) {
    let all = docs(yaml);
    let mut n = 0;
    for stage in of_kind(&all, "Stage") {
        let env =
            crate::updates::outputs(crate::kargo_runtime::stage_env(&all, stage, Some("1.2")));
        let mut strings = Vec::new();
        for step in stage["spec"]["promotionTemplate"]["spec"]["steps"]
            .as_sequence()
            .into_iter()
            .flatten()
        {
            collect_strings(&step["config"], &mut strings);
        }
        collect_strings(&stage["spec"]["verification"]["args"], &mut strings);
        for s in strings.into_iter().filter(|s| s.contains("${{")) {
            n += 1;
            if let Err(e) = crate::support::kargo_eval::evaluate_template(&s, &env) {
                panic!("unexpected expression {s}: {e}");
            }
        }
    }
    assert!(n > 0);
    assert!(!yaml.contains("${%"), "no alternative template delimiters");
}

fn collect_strings(v: &yaml_serde::Value, out: &mut Vec<String>) {
    match v {
        yaml_serde::Value::String(s) => out.push(s.clone()),
        yaml_serde::Value::Sequence(items) => items.iter().for_each(|i| collect_strings(i, out)),
        yaml_serde::Value::Mapping(m) => m.values().for_each(|i| collect_strings(i, out)),
        _ => {}
    }
}

#[test]
fn tricky_but_valid_values_come_out_exactly() {
    // Each is valid, and each is a trap for a YAML 1.1 reader or a template.
    let p = Project::new();
    p.images(
        "- name: 'yes'\n  registry: ghcr.io\n  repository: org/on\n  source:\n    repo: Org/off.repo\n    branch: 'on'\n    dockerfile: 'n/Dockerfile'\n    workflow: 2022-11-28.yml\n- name: '1e3'\n  registry: 'localhost:5000'\n  repository: org/x\n  tag: '2022-11-28'\n",
    )
    .file("state/images/yes.yaml", "name: 'yes'\nbaseImages: [node-22]\n")
    .file("state/base-images/node-22.yaml", NODE_STATE);
    let yaml = p.synth_stdout();
    let d = docs(&yaml);
    let wh = of_kind(&d, "Warehouse");
    assert_eq!(wh[0]["metadata"]["name"].as_str(), Some("yes"));
    let git = &wh[1]["spec"]["subscriptions"][0]["git"];
    assert_eq!(git["branch"].as_str(), Some("on"));
    assert_eq!(
        git["repoURL"].as_str(),
        Some("https://github.com/Org/off.repo.git")
    );
    assert_eq!(wh[2]["metadata"]["name"].as_str(), Some("1e3"));
    assert_eq!(
        wh[2]["spec"]["subscriptions"][0]["image"]["repoURL"].as_str(),
        Some("localhost:5000/org/x")
    );
    assert_eq!(
        wh[2]["spec"]["subscriptions"][0]["image"]["allowTagsRegexes"][0].as_str(),
        Some("^2022-11-28$")
    );
    let stage = rebuild_stage(&d);
    let cfg = &stage["spec"]["promotionTemplate"]["spec"]["steps"][0]["config"];
    let body = crate::kargo_runtime::received_body(&d, stage, Some("1.2"));
    assert_eq!(body["ref"], "on");
    assert_eq!(
        body.as_object().unwrap().len(),
        2,
        "body is exactly {{ref, inputs}}"
    );
    assert!(cfg["url"]
        .as_str()
        .unwrap()
        .ends_with("/repos/Org/off.repo/actions/workflows/2022-11-28.yml/dispatches"));
    // YAML 1.1 traps are quoted in the text itself.
    for trap in ["name: 'yes'", "branch: 'on'", "name: '1e3'"] {
        assert!(yaml.contains(trap), "{trap} not quoted");
    }
    assert_only_known_expressions(&yaml);
}

#[test]
fn the_bundled_example_has_only_known_expressions() {
    let yaml = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/dist/image-factory.k8s.yaml"
    ))
    .unwrap();
    assert_only_known_expressions(&yaml);
}
