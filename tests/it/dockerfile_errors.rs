//! Dockerfiles BuildKit refuses to build are errors, never guesses:
//! `imgf inspect dockerfile` exits 2 and says where (line and
//! column), what (BuildKit's own message) and how to fix it. Each case
//! snapshots the whole run of the real binary: exit code, stdout and stderr.

use crate::support::{Project, Run};

/// The run as one text: the Dockerfile, the exit code, stdout and stderr.
fn transcript(dockerfile: &str, r: &Run) -> String {
    format!(
        "----- Dockerfile -----\n{dockerfile}----- exit code: {} -----\n----- stdout -----\n{}----- stderr -----\n{}",
        r.code, r.stdout, r.stderr
    )
}

fn inspect(dockerfile: &str, extra: &[&str]) -> String {
    let p = Project::new();
    p.file("Dockerfile", dockerfile);
    let mut args = vec!["inspect", "dockerfile", "image-factory/Dockerfile"];
    args.extend(extra);
    transcript(dockerfile, &p.run(&args))
}

/// FROM lines BuildKit's `parseFrom` refuses, and an instruction before the
/// first FROM.
#[test]
fn malformed_from_lines() {
    for (name, dockerfile) in [
        ("from_two_arguments", "FROM alpine 3.20\n"),
        (
            "from_flag_without_equals",
            "FROM --platform linux/amd64 alpine\n",
        ),
        ("from_no_image", "FROM\n"),
        ("from_as_without_name", "FROM alpine AS\n"),
        ("from_four_arguments", "FROM alpine AS build extra\n"),
        ("from_unknown_flag", "FROM --platfrom=linux/amd64 alpine\n"),
        (
            "from_flag_value_missing",
            "FROM --platform linux/amd64 AS build\n",
        ),
        ("stage_name_starts_with_digit", "FROM alpine AS 1st\n"),
        (
            "stage_name_on_a_continuation_line",
            "FROM golang:1.22 \\\n    # the build stage\n    AS my@stage\n",
        ),
        (
            "instruction_before_the_first_from",
            "ARG V=1\n  RUN echo $V\nFROM alpine\n",
        ),
    ] {
        insta::assert_snapshot!(name, inspect(dockerfile, &[]));
    }
}

/// References Docker's grammar refuses, written or expanded.
#[test]
fn invalid_references() {
    let sha = |alg: &str, hex: &str| format!("FROM alpine@{alg}:{hex}\n");
    for (name, dockerfile) in [
        ("uppercase_repository", "FROM Python:3.12\n".to_string()),
        ("uppercase_ubuntu", "FROM Ubuntu:22.04\n".into()),
        ("empty_tag", "FROM alpine:\n".into()),
        (
            "expanded_uppercase",
            "ARG BASE=Python:3.12\nFROM ${BASE}\n".into(),
        ),
        ("expanded_blank", "ARG BASE=\"\"\nFROM $BASE\n".into()),
        (
            "stage_name_in_the_wrong_case",
            "FROM golang:1.22 AS Builder\nFROM Builder\n".into(),
        ),
        ("image_id", format!("FROM {}\n", "1a3f".repeat(16))),
        ("digest_too_short", sha("sha256", &"a".repeat(63))),
        ("digest_uppercase_hex", sha("sha256", &"A".repeat(64))),
        ("digest_sha512_length", sha("sha512", &"a".repeat(96))),
        ("digest_unknown_algorithm", sha("md5", &"a".repeat(32))),
        ("ipv6_without_brackets", "FROM fc00::1:5000/app\n".into()),
    ] {
        insta::assert_snapshot!(name, inspect(&dockerfile, &[]));
    }
}

/// What BuildKit accepts is still accepted: IPv6 hosts, every digest
/// algorithm, `localhost`, and Docker Hub's names normalised.
#[test]
fn valid_references_are_base_images() {
    let dockerfile = format!(
        "FROM [::1]:5000/app:1\nFROM [2001:db8::1]/tools\nFROM localhost/dev\nFROM index.docker.io/library/node:22\nFROM docker.io/redis\nFROM alpine@sha384:{}\nFROM alpine:3.20@sha512:{}\nFROM LOCALDOMAIN/team/app\n",
        "b".repeat(96),
        "c".repeat(128)
    );
    insta::assert_snapshot!(
        "valid_references",
        inspect(&dockerfile, &["--format", "json"])
    );
}

/// An unset ARG keeps being reported as unresolved, not as an error.
#[test]
fn an_arg_without_a_value_is_still_unresolved() {
    insta::assert_snapshot!(
        "unset_arg_unresolved",
        inspect("ARG BASE\nFROM ${BASE}\nFROM alpine:3.20\n", &[])
    );
}

/// An ARG whose default uses an ARG with no value makes
/// the FROM unresolved, needing that ARG — as `FROM img:${V}-slim` does —
/// not "cannot parse the Dockerfile" over the half-expanded `img:-slim`.
/// A --build-arg for the inner ARG resolves it.
#[test]
fn an_arg_default_that_uses_an_unset_arg_is_unresolved() {
    let dockerfile = "ARG V\nARG BASE=img:${V}-slim\nFROM ${BASE}\n";
    insta::assert_snapshot!("nested_unset_arg_unresolved", inspect(dockerfile, &[]));
    let r = inspect(dockerfile, &["--build-arg", "V=3"]);
    assert!(r.contains("docker.io/library/img:3-slim"), "{r}");
}

/// `FROM Python:3.12` used to be an "unresolved" FROM that analysis recorded
/// next to no base images at all ("built on nothing (scratch)"). Now the
/// analysis fails with Docker's reason and keeps the last known bases.
#[test]
fn analyze_does_not_turn_an_invalid_reference_into_scratch() {
    let p = Project::new();
    p.images(
        "- name: web\n  registry: ghcr.io\n  repository: org/web\n  source:\n    repo: org/web\n    dockerfile: web/Dockerfile\n    workflow: build.yml\n",
    );
    let dockerfile = p.root.path().join("web/Dockerfile");
    std::fs::create_dir_all(dockerfile.parent().unwrap()).unwrap();
    std::fs::write(&dockerfile, "FROM python:3.12\n").unwrap();
    assert_eq!(p.run(&["analyze"]).code, 0);
    std::fs::write(&dockerfile, "FROM Python:3.12\n").unwrap();
    let r = p.run(&["analyze"]);
    insta::assert_snapshot!(
        "analyze_invalid_reference",
        transcript("FROM Python:3.12\n", &r)
    );
    let state = std::fs::read_to_string(p.path("image-factory/state/images/web.yaml")).unwrap();
    assert!(state.contains("discoveryStatus: failed"), "{state}");
    assert!(
        state.contains("baseImages:\n  - python-3.12\n"),
        "the last known bases are kept:\n{state}"
    );
}

/// `--platform` as BuildKit reads it (containerd's platform syntax):
/// `windows/amd64` gives TARGETOS=windows and TARGETARCH=amd64, aliases and
/// case are normalised, a value that is no platform is refused naming the
/// flag.
#[test]
fn platform_built_ins_follow_buildkit() {
    let p = Project::new();
    p.file(
        "Dockerfile",
        "FROM example.org/${TARGETPLATFORM}/${TARGETOS}:${TARGETARCH}-v${TARGETVARIANT}\n",
    );
    let reference = |platform: &str| {
        let r = p.run(&[
            "inspect",
            "dockerfile",
            "image-factory/Dockerfile",
            "--platform",
            platform,
            "--format",
            "json",
        ]);
        assert_eq!(r.code, 0, "{platform}: {}", r.stderr);
        let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
        v["baseImages"][0]["reference"]
            .as_str()
            .unwrap_or_else(|| panic!("{platform}: {v}"))
            .to_string()
    };
    for (platform, want) in [
        ("windows/amd64", "windows/amd64/windows:amd64-v"),
        ("Windows/x86_64", "windows/amd64/windows:amd64-v"),
        ("windows", "windows/amd64/windows:amd64-v"),
        ("linux/arm64/v8", "linux/arm64/linux:arm64-v"),
        ("linux/aarch64", "linux/arm64/linux:arm64-v"),
        ("linux/arm", "linux/arm/v7/linux:arm-vv7"),
        ("linux/armhf", "linux/arm/v7/linux:arm-vv7"),
        ("arm64", "linux/arm64/linux:arm64-v"),
        ("linux/i386", "linux/386/linux:386-v"),
        ("macos/arm64", "darwin/arm64/darwin:arm64-v"),
    ] {
        // TARGETPLATFORM/TARGETOS:TARGETARCH-vTARGETVARIANT
        assert_eq!(
            reference(platform),
            format!("example.org/{want}"),
            "{platform}"
        );
    }
    for bad in [
        "linux/amd64/v2/x",
        "nonsense",
        "linux//amd64",
        "linux/am d64",
    ] {
        let r = p.run(&[
            "inspect",
            "dockerfile",
            "image-factory/Dockerfile",
            "--platform",
            bad,
        ]);
        assert_eq!(r.code, 2, "{bad}: {}", r.stderr);
        assert!(r.stderr.contains("--platform"), "{bad}: {}", r.stderr);
        assert!(r.stderr.contains("os/arch"), "{bad}: {}", r.stderr);
    }
}
