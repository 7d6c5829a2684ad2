//! A differential table: imgf's reference parser against Docker's.
//!
//! Every row is (input, what Docker does with it): `Ok(canonical)` or
//! `Err(Docker's message)`. The inputs and verdicts come from
//! `github.com/distribution/reference` v0.6.0 (the version BuildKit vendors)
//! and `github.com/opencontainers/go-digest` v1.0.0 — the file named in each
//! group below. Those tests run `ParseNormalizedNamed` (or `Parse`, where
//! noted); the canonical form is `TagNameOnly(ParseNormalizedNamed(input))
//! .String()`, and each error message is the one that code path returns
//! (`reference.go`, `normalize.go`, go-digest's `digest.go`/`algorithm.go`).

use imgf::image_ref::ImageRef;

const INVALID: &str = "invalid reference format";
const F64: &str = "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff";

fn upper(remote: &str) -> String {
    format!("invalid reference format: repository name ({remote}) must be lowercase")
}

fn check(rows: &[(String, Result<String, String>)]) {
    let mut wrong = Vec::new();
    for (input, want) in rows {
        let got = ImageRef::parse(input)
            .map(|r| r.canonical())
            .map_err(|e| e.docker);
        if &got != want {
            wrong.push(format!("{input:?}\n  Docker {want:?}\n  imgf   {got:?}"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

fn ok(input: &str, canonical: &str) -> (String, Result<String, String>) {
    (input.to_string(), Ok(canonical.to_string()))
}

fn err(input: &str, docker: &str) -> (String, Result<String, String>) {
    (input.to_string(), Err(docker.to_string()))
}

/// `normalize_test.go`, `TestValidateReferenceName` and `TestValidateRemoteName`.
#[test]
fn validate_reference_and_remote_names() {
    let hex = "1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a";
    let long_namespace = "this_is_not_a_valid_namespace_because_its_lenth_is_greater_than_255_"
        .repeat(4)
        .trim_end_matches('_')
        .to_string();
    check(&[
        ok("docker/docker", "docker.io/docker/docker:latest"),
        ok("library/debian", "docker.io/library/debian:latest"),
        ok("debian", "docker.io/library/debian:latest"),
        ok("localhost/library/debian", "localhost/library/debian:latest"),
        ok("localhost/debian", "localhost/debian:latest"),
        ok("LOCALDOMAIN/library/debian", "LOCALDOMAIN/library/debian:latest"),
        ok("LOCALDOMAIN/debian", "LOCALDOMAIN/debian:latest"),
        ok("docker.io/docker/docker", "docker.io/docker/docker:latest"),
        ok("docker.io/library/debian", "docker.io/library/debian:latest"),
        ok("docker.io/debian", "docker.io/library/debian:latest"),
        ok("index.docker.io/docker/docker", "docker.io/docker/docker:latest"),
        ok("index.docker.io/library/debian", "docker.io/library/debian:latest"),
        ok("index.docker.io/debian", "docker.io/library/debian:latest"),
        ok("127.0.0.1:5000/docker/docker", "127.0.0.1:5000/docker/docker:latest"),
        ok("127.0.0.1:5000/library/debian", "127.0.0.1:5000/library/debian:latest"),
        ok("127.0.0.1:5000/debian", "127.0.0.1:5000/debian:latest"),
        ok("192.168.0.1", "docker.io/library/192.168.0.1:latest"),
        ok("192.168.0.1:80", "docker.io/library/192.168.0.1:80"),
        ok("192.168.0.1:8/debian", "192.168.0.1:8/debian:latest"),
        ok("192.168.0.2:25000/debian", "192.168.0.2:25000/debian:latest"),
        ok(
            "thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev",
            "docker.io/library/thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev:latest",
        ),
        ok("[fc00::1]:5000/docker", "[fc00::1]:5000/docker:latest"),
        ok("[fc00::1]:5000/docker/docker", "[fc00::1]:5000/docker/docker:latest"),
        ok(
            "[fc00:1:2:3:4:5:6:7]:5000/library/debian",
            "[fc00:1:2:3:4:5:6:7]:5000/library/debian:latest",
        ),
        ok(&format!("docker.io/{hex}"), &format!("docker.io/library/{hex}:latest")),
        ok("Docker/docker", "Docker/docker:latest"),
        ok("DOCKER/docker", "DOCKER/docker:latest"),
        ok("docker-rules/docker", "docker.io/docker-rules/docker:latest"),
        ok("docker---rules/docker", "docker.io/docker---rules/docker:latest"),
        ok("d/docker", "docker.io/d/docker:latest"),
        ok("jess/t", "docker.io/jess/t:latest"),
        ok("dock__er/docker", "docker.io/dock__er/docker:latest"),
        err("https://github.com/docker/docker", INVALID),
        err("docker/Docker", &upper("docker/Docker")),
        err("-docker", INVALID),
        err("-docker/docker", INVALID),
        err("-docker.io/docker/docker", INVALID),
        err("docker///docker", INVALID),
        err("docker.io/docker/Docker", &upper("docker/Docker")),
        err("docker.io/docker///docker", INVALID),
        err("[fc00::1]", INVALID),
        err("[fc00::1]:5000", INVALID),
        err("fc00::1:5000/debian", INVALID),
        err("[fe80::1%eth0]:5000/debian", INVALID),
        err("[2001:db8:3:4::192.0.2.33]:5000/debian", INVALID),
        err(
            hex,
            &format!("invalid repository name ({hex}), cannot specify 64-byte hexadecimal strings"),
        ),
        err("docker-/docker", INVALID),
        err("-docker-/docker", INVALID),
        err("____/____", INVALID),
        err("_docker/_docker", INVALID),
        err("dock..er/docker", INVALID),
        err("dock_.er/docker", INVALID),
        err("dock-.er/docker", INVALID),
        err("docker/", INVALID),
        err(
            &format!("{long_namespace}/docker"),
            "repository name must not be more than 255 characters",
        ),
    ]);
}

/// `reference_test.go`, `TestReferenceParse` (inputs run through
/// `ParseNormalizedNamed`: names without a registry gain `docker.io/library/`,
/// and an uppercase name gets normalize.go's message).
#[test]
fn reference_parse() {
    let a256 = "a".repeat(256);
    let a255 = "a".repeat(255);
    let deep = format!("{}a", "a/".repeat(127));
    check(&[
        ok("test_com", "docker.io/library/test_com:latest"),
        ok("test.com:tag", "docker.io/library/test.com:tag"),
        ok("test.com:5000", "docker.io/library/test.com:5000"),
        ok("test.com/repo:tag", "test.com/repo:tag"),
        ok("test:5000/repo", "test:5000/repo:latest"),
        ok("test:5000/repo:tag", "test:5000/repo:tag"),
        ok(
            &format!("test:5000/repo@sha256:{F64}"),
            &format!("test:5000/repo@sha256:{F64}"),
        ),
        ok(
            &format!("test:5000/repo:tag@sha256:{F64}"),
            &format!("test:5000/repo:tag@sha256:{F64}"),
        ),
        err(":justtag", INVALID),
        err(&format!("@sha256:{F64}"), INVALID),
        err(
            "repo@sha256:ffffffffffffffffffffffffffffffffff",
            "invalid checksum digest length",
        ),
        err(
            &format!("validname@invaliddigest:{F64}"),
            "unsupported digest algorithm",
        ),
        err("Uppercase:tag", &upper("library/Uppercase")),
        err(
            "test:5000/Uppercase/lowercase:tag",
            &upper("Uppercase/lowercase"),
        ),
        ok(
            "lowercase:Uppercase",
            "docker.io/library/lowercase:Uppercase",
        ),
        err(
            &format!("domain/{a256}:tag"),
            "repository name must not be more than 255 characters",
        ),
        ok(
            &format!("{deep}:tag-puts-this-over-max"),
            &format!("docker.io/{deep}:tag-puts-this-over-max"),
        ),
        err("aa/asdf$$^/aa", INVALID),
        ok(
            "sub-dom1.foo.com/bar/baz/quux",
            "sub-dom1.foo.com/bar/baz/quux:latest",
        ),
        ok(
            "sub-dom1.foo.com/bar/baz/quux:some-long-tag",
            "sub-dom1.foo.com/bar/baz/quux:some-long-tag",
        ),
        ok(
            "b.gcr.io/test.example.com/my-app:test.example.com",
            "b.gcr.io/test.example.com/my-app:test.example.com",
        ),
        ok(
            "xn--n3h.com/myimage:xn--n3h.com",
            "xn--n3h.com/myimage:xn--n3h.com",
        ),
        ok(
            &format!("xn--7o8h.com/myimage:xn--7o8h.com@sha512:{F64}{F64}"),
            &format!("xn--7o8h.com/myimage:xn--7o8h.com@sha512:{F64}{F64}"),
        ),
        ok("foo_bar.com:8080", "docker.io/library/foo_bar.com:8080"),
        ok("foo/foo_bar.com:8080", "docker.io/foo/foo_bar.com:8080"),
        ok("192.168.1.1", "docker.io/library/192.168.1.1:latest"),
        ok("192.168.1.1:tag", "docker.io/library/192.168.1.1:tag"),
        ok("192.168.1.1:5000", "docker.io/library/192.168.1.1:5000"),
        ok("192.168.1.1/repo", "192.168.1.1/repo:latest"),
        ok("192.168.1.1:5000/repo", "192.168.1.1:5000/repo:latest"),
        ok("192.168.1.1:5000/repo:5050", "192.168.1.1:5000/repo:5050"),
        err("[2001:db8::1]", INVALID),
        err("[2001:db8::1]:5000", INVALID),
        err("[2001:db8::1]:tag", INVALID),
        ok("[2001:db8::1]/repo", "[2001:db8::1]/repo:latest"),
        ok(
            "[2001:db8:1:2:3:4:5:6]/repo:tag",
            "[2001:db8:1:2:3:4:5:6]/repo:tag",
        ),
        ok("[2001:db8::1]:5000/repo", "[2001:db8::1]:5000/repo:latest"),
        ok("[2001:db8::1]:5000/repo:tag", "[2001:db8::1]:5000/repo:tag"),
        ok(
            &format!("[2001:db8::1]:5000/repo@sha256:{F64}"),
            &format!("[2001:db8::1]:5000/repo@sha256:{F64}"),
        ),
        ok(
            &format!("[2001:db8::1]:5000/repo:tag@sha256:{F64}"),
            &format!("[2001:db8::1]:5000/repo:tag@sha256:{F64}"),
        ),
        ok("[2001:db8::]:5000/repo", "[2001:db8::]:5000/repo:latest"),
        ok("[::1]:5000/repo", "[::1]:5000/repo:latest"),
        err("[fe80::1%eth0]:5000/repo", INVALID),
        err("[fe80::1%@invalidzone]:5000/repo", INVALID),
        ok(
            &format!("example.com/{a255}:tag"),
            &format!("example.com/{a255}:tag"),
        ),
    ]);
}

/// `normalize_test.go`: `TestParseRepositoryInfo`, `TestNormalizedSplitHostname`,
/// `TestParseReferenceWithTagAndDigest`, `TestParseAnyReference` (the
/// name-shaped rows) and `TestParseDockerRef` (which drops the tag of a
/// tagged-and-digested reference; imgf keeps both, as `ParseNormalizedNamed`
/// does).
#[test]
fn normalisation() {
    let dbcc = "dbcc1c35ac38df41fd2f5e4130b32ffdb93ebae8b3dbe638c23575912276fc9c";
    check(&[
        ok("localhost/fooo", "localhost/fooo:latest"),
        ok("localhost/fooo/bar", "localhost/fooo/bar:latest"),
        ok("LOCALDOMAIN/fooo/bar", "LOCALDOMAIN/fooo/bar:latest"),
        ok("fooo/bar", "docker.io/fooo/bar:latest"),
        ok("index.docker.io/fooo/bar", "docker.io/fooo/bar:latest"),
        ok("ubuntu", "docker.io/library/ubuntu:latest"),
        ok("library/ubuntu", "docker.io/library/ubuntu:latest"),
        ok("nonlibrary/ubuntu", "docker.io/nonlibrary/ubuntu:latest"),
        ok("other/library", "docker.io/other/library:latest"),
        ok("127.0.0.1:8000/private/moonbase", "127.0.0.1:8000/private/moonbase:latest"),
        ok("example.com:8000/privatebasee", "example.com:8000/privatebasee:latest"),
        ok(
            "index.docker.io/library/ubuntu-12.04-base",
            "docker.io/library/ubuntu-12.04-base:latest",
        ),
        ok("docker.io/foo", "docker.io/library/foo:latest"),
        ok("library/foo/bar", "docker.io/library/foo/bar:latest"),
        ok("store/foo/bar", "docker.io/store/foo/bar:latest"),
        ok("Foo/bar", "Foo/bar:latest"),
        ok("FOO/bar", "FOO/bar:latest"),
        ok("test_com/foo", "docker.io/test_com/foo:latest"),
        ok("docker/migrator", "docker.io/docker/migrator:latest"),
        ok("test-com:8080/foo", "test-com:8080/foo:latest"),
        ok("xn--n3h.com:18080/foo", "xn--n3h.com:18080/foo:latest"),
        ok(
            "busybox:latest@sha256:86e0e091d0da6bde2456dbb48306f3956bbeb2eae1b5b9a43045843f69fe4aaa",
            "docker.io/library/busybox:latest@sha256:86e0e091d0da6bde2456dbb48306f3956bbeb2eae1b5b9a43045843f69fe4aaa",
        ),
        ok(&format!("redis@sha256:{dbcc}"), &format!("docker.io/library/redis@sha256:{dbcc}")),
        ok(&format!("dmcgowan/myapp@sha256:{dbcc}"), &format!("docker.io/dmcgowan/myapp@sha256:{dbcc}")),
        // 63 hex digits is a name, 64 an image ID.
        ok(&dbcc[..63], &format!("docker.io/library/{}:latest", &dbcc[..63])),
        ok("dbcc1", "docker.io/library/dbcc1:latest"),
        ok("gcr.io/library/busybox", "gcr.io/library/busybox:latest"),
        ok(
            "gcr.io/library/busybox:latest@sha256:e6693c20186f837fc393390135d8a598a96a833917917789d63766cab6c59582",
            "gcr.io/library/busybox:latest@sha256:e6693c20186f837fc393390135d8a598a96a833917917789d63766cab6c59582",
        ),
        // Only index.docker.io is rewritten; registry-1.docker.io is a host
        // like any other (splitDockerDomain).
        ok("registry-1.docker.io/library/node", "registry-1.docker.io/library/node:latest"),
    ]);
}

/// go-digest v1.0.0 `digest_test.go`, `TestParseDigest`, as the digest of a
/// reference. Inside a reference a digest must first match reference's own
/// `digestPat` (an algorithm and at least 32 hex digits, either case), so
/// the short ones go-digest calls "invalid length" are "invalid reference
/// format" here; the rest keep go-digest's verdict.
#[test]
fn digests() {
    let d = |digest: &str| format!("alpine@{digest}");
    let sha384 = "d3fc7881460b7e22e3d172954463dddd7866d17597e7248453c48b3e9d26d9596bf9c4a9cf8072c9d5bad76e19af801d";
    let sha256 = "e58fcf7418d4390dec8e8fb69d88c06ec07039d651fedd3aa72af9972e7d046b";
    check(&[
        ok(
            &d(&format!("sha256:{sha256}")),
            &format!("docker.io/library/alpine@sha256:{sha256}"),
        ),
        ok(
            &d(&format!("sha384:{sha384}")),
            &format!("docker.io/library/alpine@sha384:{sha384}"),
        ),
        err(&d("sha256:"), INVALID),
        err(&d(":"), INVALID),
        err(&d("d41d8cd98f00b204e9800998ecf8427e"), INVALID),
        err(&d("sha256:d41d8cd98f00b204e9800m98ecf8427e"), INVALID),
        err(&d("sha256:abcdef0123456789"), INVALID),
        err(
            &d("sha512:abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789"),
            "invalid checksum digest length",
        ),
        err(
            &d("foo:d41d8cd98f00b204e9800998ecf8427e"),
            "unsupported digest algorithm",
        ),
        err(&d(&format!("sha384__foo+bar:{sha384}")), INVALID),
        err(
            &d(&format!("sha384.foo+bar:{sha384}")),
            "unsupported digest algorithm",
        ),
        err(
            &d(&format!("sha384_foo+bar:{sha384}")),
            "unsupported digest algorithm",
        ),
        err(
            &d("sha256+b64:LCa0a2j_xo_5m0U8HTBBNBNCLXBkg7-g-YpeiGJm564"),
            INVALID,
        ),
        err(
            &d(&format!("sha256:{}", sha256.to_ascii_uppercase())),
            "invalid checksum digest format",
        ),
        // Each algorithm's length (algorithm.go: sha256 64, sha384 96, sha512 128).
        err(
            &d(&format!("sha256:{}", "a".repeat(65))),
            "invalid checksum digest length",
        ),
        err(
            &d(&format!("sha384:{}", "a".repeat(64))),
            "invalid checksum digest length",
        ),
        ok(
            &d(&format!("sha512:{}", "a".repeat(128))),
            &format!("docker.io/library/alpine@sha512:{}", "a".repeat(128)),
        ),
    ]);
}

/// The refusals also say, in plain words, what to change.
#[test]
fn refusals_explain_themselves() {
    for (input, problem, fix) in [
        (
            "Ubuntu:22.04",
            "`Ubuntu` has uppercase letters",
            "`ubuntu:22.04`",
        ),
        ("alpine:", "the tag after `:` is empty", "`alpine:latest`"),
        (
            "fc00::1:5000/app",
            "`fc00::1:5000` is not a valid registry host",
            "in brackets",
        ),
        (
            "1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a",
            "image ID",
            "@sha256:1a3f",
        ),
    ] {
        let e = ImageRef::parse(input).unwrap_err();
        assert!(e.problem.contains(problem), "{input}: {}", e.problem);
        assert!(e.fix.contains(fix), "{input}: {}", e.fix);
    }
}

/// `imgf inspect ref` on a refused reference: the whole run, as the user sees it.
#[test]
fn inspect_ref_refusals() {
    let p = crate::support::Project::new();
    for (name, reference) in [
        ("inspect_ref_uppercase", "Ubuntu:22.04"),
        ("inspect_ref_empty_tag", "alpine:"),
        ("inspect_ref_image_id", &"0123456789abcdef".repeat(4)),
    ] {
        let r = p.run(&["inspect", "ref", reference]);
        insta::assert_snapshot!(
            name,
            format!(
                "----- imgf inspect ref {reference} -----\n----- exit code: {} -----\n----- stdout -----\n{}----- stderr -----\n{}",
                r.code, r.stdout, r.stderr
            )
        );
    }
}
