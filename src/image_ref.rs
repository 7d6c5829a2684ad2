//! Image references, parsed and normalised exactly as Docker and BuildKit do.
//!
//! [`ImageRef::parse`] is a port of `ParseNormalizedNamed` followed by
//! `TagNameOnly` from `github.com/distribution/reference` v0.6.0 (the version
//! BuildKit vendors), with digests validated as `github.com/opencontainers/
//! go-digest` v1.0.0 does. The regular expressions below are Docker's, piece
//! for piece (`regexp.go`), so a reference is valid here exactly when Docker
//! accepts it:
//!
//! - `node`, `node:latest`, `docker.io/library/node:latest` and
//!   `index.docker.io/library/node` are one image (canonical form
//!   `docker.io/library/node:latest`); no other host is rewritten;
//! - the first path element is a registry when it is `localhost`, contains a
//!   `.` or a `:`, or has an uppercase letter (`LOCALDOMAIN/app`); IPv6 hosts
//!   are written in brackets (`[::1]:5000/app`);
//! - repository paths are lowercase; tags are at most 128 of `[A-Za-z0-9_.-]`
//!   and do not start with `.` or `-`;
//! - digests are `sha256:` + 64, `sha384:` + 96 or `sha512:` + 128 lowercase
//!   hex digits;
//! - a bare 64-digit hex string is an image ID, not a reference.
//!
//! A refused reference is a [`RefError`]: Docker's own message word for
//! word, what exactly is wrong, and how to fix it. Normalising a normalised
//! reference changes nothing.

use std::fmt;
use std::sync::LazyLock;

use regex::Regex;
use serde::Serialize;

/// The registry of references that name none.
pub const DEFAULT_REGISTRY: &str = "docker.io";
/// Docker Hub's legacy name, rewritten to [`DEFAULT_REGISTRY`].
const LEGACY_DEFAULT_REGISTRY: &str = "index.docker.io";
/// The namespace of Docker Hub's official images.
const OFFICIAL_PREFIX: &str = "library/";
/// `RepositoryNameTotalLengthMax`: the longest repository path.
const MAX_PATH_LEN: usize = 255;

/// A parsed, normalised image reference.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct ImageRef {
    /// `docker.io`, `ghcr.io`, `localhost:5000`, `[::1]:5000`…
    pub registry: String,
    /// The path inside the registry; `library/` added for official images.
    pub repository: String,
    /// The tag; `latest` when the reference names neither tag nor digest.
    pub tag: Option<String>,
    /// `sha256:…` when pinned.
    pub digest: Option<String>,
}

/// Why Docker refuses a reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefError {
    /// Docker's message, word for word (`invalid reference format`).
    pub docker: String,
    /// What is wrong, naming the offending part.
    pub problem: String,
    /// How to fix it.
    pub fix: String,
}

impl fmt::Display for RefError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (Docker: {})", self.problem, self.docker)
    }
}

impl std::error::Error for RefError {}

// Docker's grammar, from distribution/reference's regexp.go. Go's `\w` is
// ASCII-only, so it is spelt out.
const ALPHANUMERIC: &str = "[a-z0-9]+";
const SEPARATOR: &str = "(?:[._]|__|[-]+)";
const DOMAIN_NAME_COMPONENT: &str = "(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])";
const OPTIONAL_PORT: &str = "(?::[0-9]+)?";
const TAG: &str = "[0-9A-Za-z_][0-9A-Za-z_.-]{0,127}";
const DIGEST: &str = "[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*[:][[:xdigit:]]{32,}";
const IDENTIFIER: &str = "([a-f0-9]{64})";
const IPV6_ADDRESS: &str = r"\[(?:[a-fA-F0-9:]+)\]";

fn domain_and_port() -> String {
    let domain_name = format!("{DOMAIN_NAME_COMPONENT}(?:\\.{DOMAIN_NAME_COMPONENT})*");
    format!("(?:{domain_name}|{IPV6_ADDRESS}){OPTIONAL_PORT}")
}

fn remote_name() -> String {
    let path_component = format!("{ALPHANUMERIC}(?:{SEPARATOR}{ALPHANUMERIC})*");
    format!("{path_component}(?:/{path_component})*")
}

fn compiled(pattern: &str) -> Regex {
    Regex::new(pattern).expect("valid built-in pattern")
}

/// `referenceRegexp`: name, tag and digest captured.
fn reference_regexp() -> &'static Regex {
    static R: LazyLock<Regex> = LazyLock::new(|| {
        let name = format!("(?:{}/)?{}", domain_and_port(), remote_name());
        compiled(&format!("^({name})(?::({TAG}))?(?:@({DIGEST}))?$"))
    });
    &R
}

/// `anchoredNameRegexp`: domain and path captured.
fn anchored_name_regexp() -> &'static Regex {
    static R: LazyLock<Regex> = LazyLock::new(|| {
        compiled(&format!(
            "^(?:({})/)?({})$",
            domain_and_port(),
            remote_name()
        ))
    });
    &R
}

/// `anchoredIdentifierRegexp`: an image ID.
fn identifier_regexp() -> &'static Regex {
    static R: LazyLock<Regex> = LazyLock::new(|| compiled(&format!("^{IDENTIFIER}$")));
    &R
}

fn anchored(pattern: &str) -> Regex {
    compiled(&format!("^(?:{pattern})$"))
}

/// Docker's messages (distribution/reference and go-digest), word for word.
mod docker {
    pub(super) const INVALID_FORMAT: &str = "invalid reference format";
    pub(super) const NAME_UPPERCASE: &str = "repository name must be lowercase";
    pub(super) const NAME_EMPTY: &str = "repository name must have at least one component";
    pub(super) const DIGEST_FORMAT: &str = "invalid checksum digest format";
    pub(super) const DIGEST_LENGTH: &str = "invalid checksum digest length";
    pub(super) const DIGEST_UNSUPPORTED: &str = "unsupported digest algorithm";

    pub(super) fn name_too_long() -> String {
        format!(
            "repository name must not be more than {} characters",
            super::MAX_PATH_LEN
        )
    }
}

/// The digest algorithms go-digest v1.0.0 registers, with their hex length.
const ALGORITHMS: [(&str, usize); 3] = [("sha256", 64), ("sha384", 96), ("sha512", 128)];

/// What went wrong, before it is explained.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Identifier,
    Uppercase,
    Format,
    NameEmpty,
    NameTooLong,
    DigestFormat,
    DigestLength,
    DigestUnsupported,
}

/// go-digest v1.0.0 `Digest.Validate`.
fn validate_digest(d: &str) -> Result<(), (Kind, &'static str)> {
    static DIGEST_ANCHORED: LazyLock<Regex> =
        LazyLock::new(|| anchored("[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+"));
    let format = (Kind::DigestFormat, docker::DIGEST_FORMAT);
    let Some(i) = d.find(':').filter(|&i| i > 0 && i + 1 < d.len()) else {
        return Err(format);
    };
    let (algorithm, encoded) = (&d[..i], &d[i + 1..]);
    let Some(&(_, hex_len)) = ALGORITHMS.iter().find(|(a, _)| *a == algorithm) else {
        // go-digest's DigestRegexp (v1.0.0), not reference's.
        return if DIGEST_ANCHORED.is_match(d) {
            Err((Kind::DigestUnsupported, docker::DIGEST_UNSUPPORTED))
        } else {
            Err(format)
        };
    };
    if encoded.len() != hex_len {
        return Err((Kind::DigestLength, docker::DIGEST_LENGTH));
    }
    if !encoded
        .bytes()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return Err(format);
    }
    Ok(())
}

/// `splitDockerDomain`: the registry and the rest, with Docker Hub's
/// `library/` added for one-element names.
fn split_docker_domain(name: &str) -> (String, String) {
    let Some((maybe_domain, maybe_remote)) = name.split_once('/') else {
        return (
            DEFAULT_REGISTRY.to_string(),
            format!("{OFFICIAL_PREFIX}{name}"),
        );
    };
    let (domain, remote) = if maybe_domain == "localhost"
        || (maybe_domain != LEGACY_DEFAULT_REGISTRY
            && (maybe_domain.contains(['.', ':']) || maybe_domain.to_lowercase() != maybe_domain))
    {
        (maybe_domain.to_string(), maybe_remote.to_string())
    } else if maybe_domain == LEGACY_DEFAULT_REGISTRY {
        (DEFAULT_REGISTRY.to_string(), maybe_remote.to_string())
    } else {
        (DEFAULT_REGISTRY.to_string(), name.to_string())
    };
    if domain == DEFAULT_REGISTRY && !remote.contains('/') {
        return (domain, format!("{OFFICIAL_PREFIX}{remote}"));
    }
    (domain, remote)
}

/// The parts of a parsed reference.
struct Parsed {
    domain: String,
    path: String,
    tag: Option<String>,
    digest: Option<String>,
}

/// `reference.Parse`.
fn parse_reference(s: &str) -> Result<Parsed, (Kind, String)> {
    let Some(m) = reference_regexp().captures(s) else {
        if s.is_empty() {
            return Err((Kind::NameEmpty, docker::NAME_EMPTY.into()));
        }
        if reference_regexp().is_match(&s.to_lowercase()) {
            return Err((Kind::Uppercase, docker::NAME_UPPERCASE.into()));
        }
        return Err((Kind::Format, docker::INVALID_FORMAT.into()));
    };
    let name = m.get(1).map_or("", |g| g.as_str());
    let (domain, path) = match anchored_name_regexp().captures(name) {
        Some(n) => (
            n.get(1).map_or("", |g| g.as_str()).to_string(),
            n.get(2).map_or("", |g| g.as_str()).to_string(),
        ),
        None => (String::new(), name.to_string()),
    };
    if path.len() > MAX_PATH_LEN {
        return Err((Kind::NameTooLong, docker::name_too_long()));
    }
    let digest = match m.get(3).map(|g| g.as_str()) {
        Some(d) if !d.is_empty() => {
            validate_digest(d).map_err(|(k, msg)| (k, msg.to_string()))?;
            Some(d.to_string())
        }
        _ => None,
    };
    if path.is_empty() {
        return Err((Kind::NameEmpty, docker::NAME_EMPTY.into()));
    }
    Ok(Parsed {
        domain,
        path,
        tag: m
            .get(2)
            .map(|g| g.as_str().to_string())
            .filter(|t| !t.is_empty()),
        digest,
    })
}

/// `ParseNormalizedNamed`.
fn parse_normalized_named(s: &str) -> Result<Parsed, (Kind, String)> {
    if identifier_regexp().is_match(s) {
        return Err((
            Kind::Identifier,
            format!("invalid repository name ({s}), cannot specify 64-byte hexadecimal strings"),
        ));
    }
    let (domain, remainder) = split_docker_domain(s);
    let remote = remainder.split(':').next().unwrap_or_default();
    if remote.to_lowercase() != remote {
        return Err((
            Kind::Uppercase,
            format!("invalid reference format: repository name ({remote}) must be lowercase"),
        ));
    }
    parse_reference(&format!("{domain}/{remainder}"))
}

impl ImageRef {
    /// Parses and normalises a reference (`node:22`, `ghcr.io/o/i@sha256:…`)
    /// exactly as Docker does; the error says why Docker refuses it.
    pub fn parse(s: &str) -> Result<ImageRef, RefError> {
        match parse_normalized_named(s) {
            Ok(p) => {
                let tag = match (p.tag, &p.digest) {
                    (None, None) => Some("latest".to_string()),
                    (t, _) => t,
                };
                Ok(ImageRef {
                    registry: p.domain,
                    repository: p.path,
                    tag,
                    digest: p.digest,
                })
            }
            Err((kind, docker)) => {
                let (problem, fix) = explain(s, kind);
                Err(RefError {
                    docker,
                    problem,
                    fix,
                })
            }
        }
    }

    /// `registry/repository`, Kargo's `repoURL`.
    pub fn repo_url(&self) -> String {
        format!("{}/{}", self.registry, self.repository)
    }

    /// The fully qualified form: `docker.io/library/node:22[@sha256:…]`.
    pub fn canonical(&self) -> String {
        self.to_string()
    }

    /// The short form people write: `node:22`, `ghcr.io/o/i:1`.
    pub fn familiar(&self) -> String {
        let path = if self.registry == DEFAULT_REGISTRY {
            self.repository
                .strip_prefix(OFFICIAL_PREFIX)
                .unwrap_or(&self.repository)
                .to_string()
        } else {
            format!("{}/{}", self.registry, self.repository)
        };
        let mut s = path;
        if let Some(t) = &self.tag {
            s.push(':');
            s.push_str(t);
        }
        if let Some(d) = &self.digest {
            s.push('@');
            s.push_str(d);
        }
        s
    }

    /// The reference without its digest: what a Warehouse can watch.
    pub fn watched(&self) -> Option<ImageRef> {
        self.tag.as_ref().map(|_| ImageRef {
            digest: None,
            ..self.clone()
        })
    }
}

impl fmt::Display for ImageRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.registry, self.repository)?;
        if let Some(t) = &self.tag {
            write!(f, ":{t}")?;
        }
        if let Some(d) = &self.digest {
            write!(f, "@{d}")?;
        }
        Ok(())
    }
}

/// The reference split the way a person reads it: `[registry/]path[:tag][@digest]`.
/// Only used to explain a refusal; validity is decided by Docker's grammar.
#[derive(Clone, Copy)]
struct Written<'a> {
    registry: Option<&'a str>,
    path: &'a str,
    tag: Option<&'a str>,
    digest: Option<&'a str>,
}

impl<'a> Written<'a> {
    fn split(s: &'a str) -> Written<'a> {
        let (rest, digest) = match s.split_once('@') {
            Some((r, d)) => (r, Some(d)),
            None => (s, None),
        };
        let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
        let (name, tag) = match rest[last_slash..].find(':') {
            Some(i) => (&rest[..last_slash + i], Some(&rest[last_slash + i + 1..])),
            None => (rest, None),
        };
        let (registry, path) = match name.split_once('/') {
            Some((first, path))
                if first == "localhost"
                    || first.contains(['.', ':', '[', ']'])
                    || first.to_lowercase() != first =>
            {
                (Some(first), path)
            }
            _ => (None, name),
        };
        Written {
            registry,
            path,
            tag,
            digest,
        }
    }

    /// `[registry/]path`, without tag or digest.
    fn name(&self) -> String {
        Written {
            tag: None,
            digest: None,
            ..*self
        }
        .with_path(self.path)
    }

    /// The reference written back with a different path.
    fn with_path(&self, path: &str) -> String {
        let mut s = String::new();
        if let Some(r) = self.registry {
            s.push_str(r);
            s.push('/');
        }
        s.push_str(path);
        if let Some(t) = self.tag {
            s.push(':');
            s.push_str(t);
        }
        if let Some(d) = self.digest {
            s.push('@');
            s.push_str(d);
        }
        s
    }
}

const GRAMMAR: &str =
    "write it as `[registry[:port]/]path[:tag][@digest]`, like `ghcr.io/org/app:1.0`";

/// What is wrong with `s` and how to fix it, for a refusal of `kind`.
fn explain(s: &str, kind: Kind) -> (String, String) {
    let w = Written::split(s);
    match kind {
        Kind::Identifier => (
            "a bare 64-digit hexadecimal string is an image ID, not an image reference".into(),
            format!("name the image and pin it by digest instead, like `alpine@sha256:{s}`"),
        ),
        Kind::Uppercase => {
            // The part Docker checks: after a registry, up to the first `:`.
            let (prefix, body) = match s.split_once('/') {
                Some((first, rest))
                    if first == "localhost"
                        || first.contains(['.', ':'])
                        || first.to_lowercase() != first =>
                {
                    (&s[..=first.len()], rest)
                }
                _ => ("", s),
            };
            let (remote, rest) = body.split_at(body.find(':').unwrap_or(body.len()));
            let lower = format!("{prefix}{}{rest}", remote.to_lowercase());
            let fix = if parse_normalized_named(&lower).is_ok() {
                format!("write it in lowercase: `{lower}`")
            } else {
                "write the repository name in lowercase".to_string()
            };
            (
                format!(
                    "the repository name `{remote}` has uppercase letters; Docker allows only lowercase"
                ),
                fix,
            )
        }
        Kind::NameTooLong => (
            format!(
                "the repository path is {} characters long; Docker allows at most {MAX_PATH_LEN}",
                w.path.len()
            ),
            "shorten the repository path".into(),
        ),
        Kind::DigestLength | Kind::DigestFormat | Kind::DigestUnsupported => {
            explain_digest(w.digest.unwrap_or_default(), kind)
        }
        Kind::NameEmpty | Kind::Format => explain_format(s, &w),
    }
}

fn explain_digest(d: &str, kind: Kind) -> (String, String) {
    let (algorithm, hex) = d.split_once(':').unwrap_or((d, ""));
    let known = ALGORITHMS.iter().find(|(a, _)| *a == algorithm);
    match (kind, known) {
        (Kind::DigestLength, Some((a, n))) => (
            format!(
                "the digest `{d}` has {} hex digits; a {a} digest has exactly {n}",
                hex.len()
            ),
            format!("copy the whole digest: `{a}:` followed by {n} lowercase hex digits"),
        ),
        (Kind::DigestFormat, Some((a, _)))
            if hex.bytes().all(|b| b.is_ascii_hexdigit())
                && hex.bytes().any(|b| b.is_ascii_uppercase()) =>
        {
            (
                format!("the digest `{d}` has uppercase hex digits; Docker accepts only lowercase"),
                format!("write it in lowercase: `{a}:{}`", hex.to_ascii_lowercase()),
            )
        }
        (Kind::DigestUnsupported, _) | (_, None) => (
            format!("`{algorithm}` in `{d}` is not a digest algorithm Docker knows"),
            "use a sha256, sha384 or sha512 digest, like `sha256:` followed by 64 hex digits"
                .into(),
        ),
        _ => (
            format!("the digest `{d}` is not lowercase hexadecimal"),
            "copy the digest again: `sha256:` followed by 64 lowercase hex digits".into(),
        ),
    }
}

fn explain_format(s: &str, w: &Written<'_>) -> (String, String) {
    static DOMAIN: LazyLock<Regex> = LazyLock::new(|| anchored(&domain_and_port()));
    static COMPONENT: LazyLock<Regex> =
        LazyLock::new(|| anchored(&format!("{ALPHANUMERIC}(?:{SEPARATOR}{ALPHANUMERIC})*")));
    static TAG_RE: LazyLock<Regex> = LazyLock::new(|| anchored(TAG));
    static DIGEST_RE: LazyLock<Regex> = LazyLock::new(|| anchored(DIGEST));
    if s.is_empty() {
        return ("the reference is empty".into(), GRAMMAR.into());
    }
    if let Some(c) = s.chars().find(|c| c.is_whitespace() || c.is_control()) {
        return (
            format!("the reference contains {c:?}"),
            "remove the whitespace: a reference is one word".into(),
        );
    }
    if let Some(d) = w.digest {
        if d.is_empty() {
            return (
                "nothing follows the `@` that starts a digest".into(),
                "add the digest (`@sha256:` and 64 hex digits) or remove the `@`".into(),
            );
        }
        if !DIGEST_RE.is_match(d) {
            let (algorithm, _) = d.split_once(':').unwrap_or((d, ""));
            let expected = match ALGORITHMS.iter().find(|(a, _)| *a == algorithm) {
                Some((a, n)) => format!("`{a}:` followed by {n} hex digits"),
                None => {
                    "an algorithm, `:` and hex digits, like `sha256:` and 64 hex digits".to_string()
                }
            };
            return (
                format!("`{d}` is not a digest: a digest is {expected}"),
                "copy the whole digest, or remove `@…` to use the tag alone".into(),
            );
        }
    }
    if let Some(t) = w.tag {
        if t.is_empty() {
            let name = w.name();
            return (
                "the tag after `:` is empty".into(),
                format!(
                    "write a tag after the colon, like `{name}:latest`, or leave the colon out"
                ),
            );
        }
        if !TAG_RE.is_match(t) {
            return (
                format!("`{t}` is not a valid tag"),
                "a tag is at most 128 letters, digits, `_`, `.` and `-`, and does not start with `.` or `-`".into(),
            );
        }
    }
    if w.path.is_empty() {
        return ("the image name is empty".into(), GRAMMAR.into());
    }
    if let Some(r) = w.registry {
        if !DOMAIN.is_match(r) {
            let fix = if r.matches(':').count() > 1 && !r.starts_with('[') {
                "write an IPv6 host in brackets, like `[fc00::1]:5000/app`".to_string()
            } else if r.contains('%') {
                "leave out the IPv6 zone (`%eth0`): Docker does not accept one".to_string()
            } else {
                "a registry is a host name or an IP address (IPv6 in brackets), with an optional `:port`".to_string()
            };
            return (format!("`{r}` is not a valid registry host"), fix);
        }
    }
    let component = &COMPONENT;
    if let Some(bad) = w.path.split('/').find(|c| !component.is_match(c)) {
        if bad.is_empty() {
            return (
                format!("the repository path `{}` has an empty component", w.path),
                "remove the extra `/`".into(),
            );
        }
        return (
            format!("`{bad}` is not a valid repository path component"),
            "a path component is lowercase letters and digits, separated by one `.`, one or two `_`, or dashes, and starts and ends with a letter or digit".into(),
        );
    }
    (
        format!("`{s}` does not follow Docker's reference grammar"),
        GRAMMAR.into(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn canon(s: &str) -> String {
        ImageRef::parse(s).unwrap().canonical()
    }

    #[test]
    fn normalises_like_docker() {
        assert_eq!(canon("node"), "docker.io/library/node:latest");
        assert_eq!(canon("node:latest"), "docker.io/library/node:latest");
        assert_eq!(
            canon("docker.io/library/node:latest"),
            "docker.io/library/node:latest"
        );
        assert_eq!(
            canon("index.docker.io/library/node"),
            "docker.io/library/node:latest"
        );
        assert_eq!(canon("bitnami/redis:7.2"), "docker.io/bitnami/redis:7.2");
        assert_eq!(canon("ghcr.io/o/i:1"), "ghcr.io/o/i:1");
        assert_eq!(canon("localhost/app"), "localhost/app:latest");
        assert_eq!(canon("localhost:5000/app:1"), "localhost:5000/app:1");
        assert_eq!(canon("[::1]:5000/app"), "[::1]:5000/app:latest");
        assert_eq!(
            canon("192.168.0.10:5000/python"),
            "192.168.0.10:5000/python:latest"
        );
        let d = format!("sha256:{}", "a".repeat(64));
        assert_eq!(
            canon(&format!("node@{d}")),
            format!("docker.io/library/node@{d}")
        );
        assert_eq!(
            canon(&format!("node:22@{d}")),
            format!("docker.io/library/node:22@{d}")
        );
    }

    #[test]
    fn familiar_forms() {
        assert_eq!(
            ImageRef::parse("docker.io/library/node:22")
                .unwrap()
                .familiar(),
            "node:22"
        );
        assert_eq!(
            ImageRef::parse("ghcr.io/o/i").unwrap().familiar(),
            "ghcr.io/o/i:latest"
        );
    }

    #[test]
    fn invalid_references_say_why_and_how_to_fix() {
        for (r, docker, problem, fix) in [
            (
                "Node:22",
                "invalid reference format: repository name (library/Node) must be lowercase",
                "`Node` has uppercase",
                "write it in lowercase: `node:22`",
            ),
            (
                "org/Image:1",
                "invalid reference format: repository name (org/Image) must be lowercase",
                "`org/Image` has uppercase",
                "`org/image:1`",
            ),
            (
                "node:",
                "invalid reference format",
                "the tag after `:` is empty",
                "`node:latest`",
            ),
            (
                "node:-x",
                "invalid reference format",
                "`-x` is not a valid tag",
                "at most 128",
            ),
            (
                "node@sha256:abc",
                "invalid reference format",
                "`sha256:abc` is not a digest",
                "copy the whole digest",
            ),
            (
                "a//b",
                "invalid reference format",
                "has an empty component",
                "remove the extra `/`",
            ),
            (
                "node:22 ",
                "invalid reference format",
                "contains ' '",
                "one word",
            ),
            (
                "fc00::1:5000/debian",
                "invalid reference format",
                "`fc00::1:5000` is not a valid registry host",
                "in brackets",
            ),
        ] {
            let e = ImageRef::parse(r).unwrap_err();
            assert_eq!(e.docker, docker, "{r}");
            assert!(e.problem.contains(problem), "{r}: {}", e.problem);
            assert!(e.fix.contains(fix), "{r}: {}", e.fix);
        }
    }

    #[test]
    fn digests_are_checked_per_algorithm() {
        let ok = |alg: &str, n: usize| ImageRef::parse(&format!("a@{alg}:{}", "f".repeat(n)));
        assert!(ok("sha256", 64).is_ok());
        assert!(ok("sha384", 96).is_ok());
        assert!(ok("sha512", 128).is_ok());
        let e = ok("sha256", 65).unwrap_err();
        assert_eq!(e.docker, "invalid checksum digest length");
        assert!(e.problem.contains("has 65 hex digits"), "{}", e.problem);
        assert_eq!(
            ok("sha512", 64).unwrap_err().docker,
            "invalid checksum digest length"
        );
        let e = ImageRef::parse(&format!("a@sha256:{}", "F".repeat(64))).unwrap_err();
        assert_eq!(e.docker, "invalid checksum digest format");
        assert!(e.fix.contains(&"f".repeat(64)), "{}", e.fix);
        let e = ok("md5", 32).unwrap_err();
        assert_eq!(e.docker, "unsupported digest algorithm");
    }

    proptest! {
        /// Any string either parses or says why; nothing panics.
        #[test]
        fn never_panics(s in "\\PC{0,80}|[a-zA-Z0-9:/@._\\[\\]-]{0,80}") {
            if let Err(e) = ImageRef::parse(&s) {
                prop_assert!(!e.problem.is_empty() && !e.fix.is_empty() && !e.docker.is_empty());
            }
        }

        #[test]
        fn normalising_a_normalised_reference_changes_nothing(
            reg in proptest::option::of("(ghcr\\.io|quay\\.io|localhost:5000|docker\\.io|registry\\.example\\.com|\\[::1\\]:5000)"),
            path in "[a-z0-9]{1,8}(/[a-z0-9]{1,8}){0,2}",
            tag in proptest::option::of("[A-Za-z0-9_][A-Za-z0-9_.-]{0,20}"),
        ) {
            let s = match (&reg, &tag) {
                (Some(r), Some(t)) => format!("{r}/{path}:{t}"),
                (Some(r), None) => format!("{r}/{path}"),
                (None, Some(t)) => format!("{path}:{t}"),
                (None, None) => path.clone(),
            };
            prop_assume!(!identifier_regexp().is_match(&s));
            let once = ImageRef::parse(&s).unwrap();
            let twice = ImageRef::parse(&once.canonical()).unwrap();
            prop_assert_eq!(&once, &twice);
            let from_familiar = ImageRef::parse(&once.familiar()).unwrap();
            prop_assert_eq!(once, from_familiar);
        }
    }
}
