//! Image references, normalised by Docker's reference grammar
//! (`github.com/distribution/reference`).
//!
//! `node`, `node:latest` and `docker.io/library/node:latest` are one image:
//! [`ImageRef::parse`] gives all three the same canonical form. Invalid
//! references — uppercase repositories, empty names, bad tags or digests — are
//! errors that say why. Normalising a normalised reference changes nothing.

use std::fmt;
use std::sync::OnceLock;

use regex::Regex;
use serde::Serialize;

/// The registry of references that name none.
pub const DEFAULT_REGISTRY: &str = "docker.io";

/// A parsed, normalised image reference.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct ImageRef {
    /// `docker.io`, `ghcr.io`, `localhost:5000`…
    pub registry: String,
    /// The path inside the registry; `library/` added for official images.
    pub repository: String,
    /// The tag; `latest` when the reference names neither tag nor digest.
    pub tag: Option<String>,
    /// `sha256:…` when pinned.
    pub digest: Option<String>,
}

fn re(cell: &'static OnceLock<Regex>, pattern: &str) -> &'static Regex {
    cell.get_or_init(|| Regex::new(pattern).expect("valid built-in pattern"))
}

impl ImageRef {
    /// Parses and normalises a reference (`node:22`, `ghcr.io/o/i@sha256:…`).
    pub fn parse(s: &str) -> Result<ImageRef, String> {
        static DOMAIN: OnceLock<Regex> = OnceLock::new();
        static COMPONENT: OnceLock<Regex> = OnceLock::new();
        static TAG: OnceLock<Regex> = OnceLock::new();
        static DIGEST: OnceLock<Regex> = OnceLock::new();
        if s.is_empty() {
            return Err("the reference is empty".into());
        }
        if s.len() > 512 {
            return Err("the reference is longer than 512 characters".into());
        }
        if let Some(c) = s.chars().find(|c| c.is_whitespace() || c.is_control()) {
            return Err(format!("the reference contains {c:?}"));
        }
        let (rest, digest) = match s.split_once('@') {
            Some((r, d)) => {
                if !re(
                    &DIGEST,
                    r"^[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}$",
                )
                .is_match(d)
                {
                    return Err(format!(
                        "`{d}` is not a digest (expected `sha256:` and hex digits)"
                    ));
                }
                if d.starts_with("sha256:") && d.len() != 7 + 64 {
                    return Err(format!("`{d}` is not a sha256 digest (64 hex digits)"));
                }
                (r, Some(d.to_string()))
            }
            None => (s, None),
        };
        // A tag is after the last `:` that follows the last `/` (a `:` before
        // it is a registry port).
        let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
        let (name, tag) = match rest[last_slash..].rfind(':') {
            Some(i) => {
                let t = &rest[last_slash + i + 1..];
                if t.len() > 128 || !re(&TAG, r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$").is_match(t) {
                    return Err(format!(
                        "`{t}` is not a valid tag (letters, digits, `_.-`, at most 128)"
                    ));
                }
                (&rest[..last_slash + i], Some(t.to_string()))
            }
            None => (rest, None),
        };
        if name.is_empty() {
            return Err("the image name is empty".into());
        }
        let (registry, path) = match name.split_once('/') {
            Some((first, path))
                if first.contains(['.', ':'])
                    || first == "localhost"
                    || first.chars().any(|c| c.is_ascii_uppercase()) =>
            {
                (first.to_string(), path.to_string())
            }
            _ => (DEFAULT_REGISTRY.to_string(), name.to_string()),
        };
        if !re(&DOMAIN, r"^(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])(?:\.(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]))*(?::[0-9]+)?$")
            .is_match(&registry)
        {
            return Err(format!("`{registry}` is not a valid registry host"));
        }
        let registry = match registry.as_str() {
            "index.docker.io" | "registry-1.docker.io" => DEFAULT_REGISTRY.to_string(),
            _ => registry,
        };
        if path.chars().any(|c| c.is_ascii_uppercase()) {
            return Err(format!("repository name `{path}` must be lowercase"));
        }
        let component = re(&COMPONENT, r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$");
        if let Some(bad) = path.split('/').find(|c| !component.is_match(c)) {
            return Err(format!(
                "`{bad}` is not a valid repository component (lowercase letters and digits, separated by `.`, `_`, `__` or dashes)"
            ));
        }
        if registry.len() + 1 + path.len() > 255 {
            return Err("the repository name is longer than 255 characters".into());
        }
        let repository = if registry == DEFAULT_REGISTRY && !path.contains('/') {
            format!("library/{path}")
        } else {
            path
        };
        let tag = match (tag, &digest) {
            (None, None) => Some("latest".to_string()),
            (t, _) => t,
        };
        Ok(ImageRef {
            registry,
            repository,
            tag,
            digest,
        })
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
                .strip_prefix("library/")
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
    fn invalid_references_say_why() {
        for (r, why) in [
            ("Node:22", "must be lowercase"),
            ("org/Image:1", "must be lowercase"),
            ("node:", "not a valid tag"),
            ("node:-x", "not a valid tag"),
            ("", "empty"),
            ("node@sha256:abc", "not a digest"),
            ("a//b", "not a valid repository component"),
            ("node:22 ", "contains"),
        ] {
            let e = ImageRef::parse(r).unwrap_err();
            assert!(e.contains(why), "{r}: {e}");
        }
    }

    proptest! {
        /// Any string either parses or says why; nothing panics.
        #[test]
        fn never_panics(s in "\\PC{0,80}|[a-zA-Z0-9:/@._-]{0,80}") {
            let _ = ImageRef::parse(&s);
        }

        #[test]
        fn normalising_a_normalised_reference_changes_nothing(
            reg in proptest::option::of("(ghcr\\.io|quay\\.io|localhost:5000|docker\\.io|registry\\.example\\.com)"),
            path in "[a-z0-9]{1,8}(/[a-z0-9]{1,8}){0,2}",
            tag in proptest::option::of("[A-Za-z0-9_][A-Za-z0-9_.-]{0,20}"),
        ) {
            let s = match (&reg, &tag) {
                (Some(r), Some(t)) => format!("{r}/{path}:{t}"),
                (Some(r), None) => format!("{r}/{path}"),
                (None, Some(t)) => format!("{path}:{t}"),
                (None, None) => path.clone(),
            };
            let once = ImageRef::parse(&s).unwrap();
            let twice = ImageRef::parse(&once.canonical()).unwrap();
            prop_assert_eq!(&once, &twice);
            let from_familiar = ImageRef::parse(&once.familiar()).unwrap();
            prop_assert_eq!(once, from_familiar);
        }
    }
}
