//! Dockerfile analysis: which images a Dockerfile is built on, with
//! BuildKit's semantics — and the same refusals: a Dockerfile BuildKit will
//! not build is a [`ParseError`], never a guess.
//!
//! [`scan`] splits the file the way BuildKit's parser does — parser
//! directives (`# escape=`), line continuations, comment and blank lines
//! inside them, heredocs after any `<<` word of RUN/COPY/ADD, any instruction
//! name in any case, CRLF and a UTF-8 BOM — and only ARG and FROM are looked
//! at. (`parse-dockerfile` was tried first: it rejects real Dockerfiles that
//! BuildKit accepts — `RUN cat <<EOF > file`, instructions it does not know —
//! four of the 195 corpus files.) What a FROM *means* is decided here:
//!
//! - a FROM line has BuildKit's shape: only `--platform=<value>` as a flag,
//!   then one argument or three (`image AS name`), a stage name matching
//!   `^[a-z][a-z0-9-_.]*$`; anything else is an error with BuildKit's message;
//! - every FROM of a multi-stage build counts; only the exact word `scratch`
//!   is the empty image; a FROM naming a stage declared earlier (names are
//!   lower-cased when declared, compared case-sensitively) is not a base;
//!   `--platform` is not part of the image;
//! - ARGs declared before the first FROM are expanded with shell parameter
//!   rules (`$V`, `${V}`, `${V:-w}`, `${V-w}`, `${V:+w}`, `${V+w}`, `#`/`##`/
//!   `%`/`%%` trimming, nesting), ARG defaults may use earlier ARGs, the
//!   platform built-ins (`TARGETARCH`…) come from a platform setting, and
//!   build arguments override declared defaults;
//! - a FROM that depends on an ARG with no value is reported as unresolved
//!   with its line, never turned into an image;
//! - a FROM whose value (as written or expanded) is empty or a reference
//!   Docker refuses is an error, as BuildKit fails the build: never dropped,
//!   never mistaken for `scratch`;
//! - references are normalised ([`ImageRef`]) and de-duplicated in first-seen
//!   order.
//!
//! Modules: [`scan`] (text → instructions, with positions), [`expand`] (ARG
//! values and shell parameter expansion), [`from`] (FROM lines: their shape,
//! and what each names).

mod expand;
mod from;
mod scan;

use std::collections::BTreeMap;

use serde::Serialize;

use crate::image_ref::ImageRef;

/// How to evaluate a Dockerfile.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// `--build-arg` values (override declared ARG defaults).
    pub build_args: BTreeMap<String, String>,
    /// The target (and build) platform, `os/arch[/variant]`. Without one,
    /// `linux/amd64` is used to match stage names, but a FROM whose *image*
    /// depends on a platform built-in is reported as unresolved: it is a
    /// different image per platform.
    pub platform: Option<String>,
}

/// A `--platform` value, checked and normalised as BuildKit reads it
/// (containerd's platform syntax: `Windows/x86_64` is `windows/amd64`); the
/// error says what the value should look like.
pub fn platform_arg(value: &str) -> Result<String, String> {
    let (os, arch, variant) = expand::normalize_platform(value)?;
    Ok([os, arch, variant]
        .into_iter()
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join("/"))
}

/// The platform assumed when none is given.
pub const DEFAULT_PLATFORM: &str = "linux/amd64";

/// A base image found in a FROM line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BaseImage {
    /// The FROM value after ARG expansion, as written.
    pub reference: String,
    pub image: ImageRef,
    /// 1-based line of the FROM.
    pub line: usize,
}

/// A FROM whose image could not be determined.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Unresolved {
    pub line: usize,
    /// The FROM value as written.
    pub from: String,
    /// ARGs it needs that have no value.
    pub args: Vec<String>,
    pub reason: String,
}

/// What a Dockerfile is built on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Bases {
    pub base_images: Vec<BaseImage>,
    pub unresolved: Vec<Unresolved>,
    pub stage_count: usize,
}

/// A Dockerfile BuildKit would refuse to build.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// 1-based line of the offending word.
    pub line: usize,
    /// 1-based column (in characters) of the offending word.
    pub column: usize,
    /// What is wrong, naming the offending value, with BuildKit's own
    /// message in parentheses.
    pub message: String,
    /// How to fix it.
    pub help: String,
}

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}:{}: {} (help: {})",
            self.line, self.column, self.message, self.help
        )
    }
}

/// The base images of Dockerfile source text, with BuildKit's semantics.
pub fn read_bases(text: &str, opts: &Options) -> Result<Bases, ParseError> {
    from::resolve(&scan::scan(text)?, opts)
}

#[cfg(test)]
mod tests {
    use super::expand::{expand, glob, Env};
    use super::*;

    fn bases(text: &str) -> Vec<String> {
        read_bases(text, &Options::default())
            .unwrap()
            .base_images
            .into_iter()
            .map(|b| b.image.canonical())
            .collect()
    }

    fn env(pairs: &[(&str, Option<&str>)]) -> Env {
        Env {
            vars: pairs
                .iter()
                .map(|(k, v)| ((*k).to_string(), v.map(str::to_string)))
                .collect(),
            ..Env::default()
        }
    }

    #[test]
    fn parameter_forms() {
        let e = env(&[
            ("V", Some("1.2.3")),
            ("EMPTY", Some("")),
            ("UNSET", None),
            ("IMG", Some("node:22-slim")),
        ]);
        let x = |w: &str| expand(w, &e, '\\');
        assert_eq!(x("$V").value, "1.2.3");
        assert_eq!(x("${V}").value, "1.2.3");
        assert_eq!(x("${NOPE:-d}").value, "d");
        assert_eq!(x("${EMPTY:-d}").value, "d");
        assert_eq!(x("${EMPTY-d}").value, "");
        assert_eq!(x("${UNSET-d}").value, "d");
        assert_eq!(x("${V:+set}").value, "set");
        assert_eq!(x("${EMPTY:+set}").value, "");
        assert_eq!(x("${EMPTY+set}").value, "set");
        assert_eq!(x("${UNSET+set}").value, "");
        assert_eq!(x("${V#*.}").value, "2.3");
        assert_eq!(x("${V##*.}").value, "3");
        assert_eq!(x("${V%.*}").value, "1.2");
        assert_eq!(x("${V%%.*}").value, "1");
        assert_eq!(x("${IMG%%:*}").value, "node");
        assert_eq!(x("${NOPE:-${V}}").value, "1.2.3");
        assert_eq!(x("a-${NOPE:-${EMPTY:-x}}-b").value, "a-x-b");
        assert_eq!(x("\\$V").value, "$V");
        assert_eq!(x("\"$V\"").value, "1.2.3");
        assert_eq!(x("'$V'").value, "$V");
        assert_eq!(x("$UNSET").unset, vec!["UNSET"]);
        assert_eq!(x("${NOPE}").unset, vec!["NOPE"]);
        assert!(x("${NOPE:-x}").unset.is_empty());
    }

    #[test]
    fn multi_stage_with_args_and_stage_references() {
        let text = "\
# syntax=docker/dockerfile:1
ARG GO=1.22
ARG BASE=alpine:3.20
FROM --platform=$BUILDPLATFORM golang:${GO} AS Builder
RUN go build
FROM builder AS test
FROM ${BASE}
COPY --from=builder /x /x
FROM scratch
FROM golang:1.22
";
        let a = read_bases(text, &Options::default()).unwrap();
        let refs: Vec<String> = a.base_images.iter().map(|b| b.image.canonical()).collect();
        assert_eq!(
            refs,
            [
                "docker.io/library/golang:1.22",
                "docker.io/library/alpine:3.20"
            ]
        );
        assert_eq!(a.base_images[0].line, 4);
        assert!(a.unresolved.is_empty());
        assert_eq!(a.stage_count, 5);
        // `FROM Builder` does not match the stage declared as `builder`:
        // BuildKit parses it as an image reference and refuses it.
        let e = read_bases(
            "FROM golang AS Builder\nFROM Builder\n",
            &Options::default(),
        )
        .unwrap_err();
        assert_eq!((e.line, e.column), (2, 6));
        assert!(e.message.contains("must be lowercase"), "{}", e.message);
        assert!(e.help.contains("write `FROM builder`"), "{}", e.help);
    }

    #[test]
    fn unset_arg_is_unresolved_not_an_image() {
        let a = read_bases(
            "ARG TAG\nFROM node:$TAG\nFROM python:3.12\n",
            &Options::default(),
        )
        .unwrap();
        assert_eq!(a.unresolved.len(), 1);
        assert_eq!(a.unresolved[0].line, 2);
        assert_eq!(a.unresolved[0].args, ["TAG"]);
        assert_eq!(a.base_images.len(), 1);
        let mut o = Options::default();
        o.build_args.insert("TAG".into(), "22".into());
        assert_eq!(
            read_bases("ARG TAG\nFROM node:$TAG\n", &o)
                .unwrap()
                .base_images[0]
                .image
                .canonical(),
            "docker.io/library/node:22"
        );
    }

    #[test]
    fn platform_builtins_and_overrides() {
        let text = "FROM base-${TARGETARCH}\n";
        let a = read_bases(text, &Options::default()).unwrap();
        assert!(
            a.base_images.is_empty(),
            "a per-platform image is not one base image"
        );
        assert_eq!(a.unresolved[0].args, ["TARGETARCH"]);
        assert!(
            a.unresolved[0].reason.contains("base-amd64"),
            "{}",
            a.unresolved[0].reason
        );
        // Naming a stage through a built-in is fine.
        assert!(bases("FROM alpine AS base-amd64\nFROM base-${TARGETARCH}\n").len() == 1);
        let o = Options {
            platform: Some("linux/arm64".into()),
            ..Options::default()
        };
        assert_eq!(
            read_bases(text, &o).unwrap().base_images[0]
                .image
                .canonical(),
            "docker.io/library/base-arm64:latest"
        );
    }

    #[test]
    fn args_after_the_first_from_are_not_global() {
        let a = read_bases("FROM alpine\nARG V=1\nFROM node:$V\n", &Options::default()).unwrap();
        assert_eq!(a.unresolved.len(), 1);
    }

    #[test]
    fn arg_defaults_use_earlier_args() {
        assert_eq!(
            bases("ARG A=3.12\nARG B=python:${A}-slim C=x\nFROM $B\n"),
            ["docker.io/library/python:3.12-slim"]
        );
    }

    #[test]
    fn syntax_variants() {
        // Lower-case instructions, continuations with comments, CRLF, BOM, escape directive, heredoc.
        let text = "\u{feff}# escape=`\r\narg V=22\r\nfrom `\r\n  # a comment inside the continuation\r\n  node:${V} as build\r\nRUN <<EOF\r\nFROM not:an-instruction\r\nEOF\r\nFROM build\r\n";
        let a = read_bases(text, &Options::default()).unwrap();
        let refs: Vec<String> = a.base_images.iter().map(|b| b.image.canonical()).collect();
        assert_eq!(refs, ["docker.io/library/node:22"]);
    }

    #[test]
    fn duplicates_once_in_first_seen_order() {
        assert_eq!(
            bases("FROM node:18-alpine\nFROM python:3\nFROM docker.io/library/node:18-alpine\nFROM node:18-alpine\n"),
            ["docker.io/library/node:18-alpine", "docker.io/library/python:3"]
        );
    }

    proptest::proptest! {
        /// No Dockerfile text, however broken, makes analysis panic; a
        /// refusal always points into the text and says how to fix it.
        #[test]
        fn never_panics(text in "(ARG|FROM|arg|from|RUN|ONBUILD|AS|as| --platform| --platform=|--|#|<<|<<-|\\$|\\{|\\}|:|-|=|\\\\|`|\"|'|\n|\r|\t| |@|\\[|\\]|sha256:|[a-zA-Z0-9_./@])*") {
            if let Err(e) = read_bases(&text, &Options::default()) {
                let lines = text.split('\n').count().max(1);
                proptest::prop_assert!(e.line >= 1 && e.line <= lines, "line {} of {lines}: {e}", e.line);
                proptest::prop_assert!(e.column >= 1, "{e}");
                proptest::prop_assert!(!e.message.is_empty() && !e.help.is_empty(), "{e}");
            }
        }

        /// Any FROM word: a base image, a stage, scratch, or an error —
        /// never silently nothing.
        #[test]
        fn every_from_is_accounted_for(image in "[a-zA-Z0-9:/@._\\[\\]-]{1,40}") {
            let text = format!("FROM {image}\n");
            match read_bases(&text, &Options::default()) {
                Ok(b) => proptest::prop_assert!(
                    image == "scratch" || b.base_images.len() == 1,
                    "{image}: {b:?}"
                ),
                Err(e) => proptest::prop_assert!(
                    e.line == 1 && (6..=6 + image.len()).contains(&e.column),
                    "{image}: {e}"
                ),
            }
        }
    }

    #[test]
    fn glob_matching() {
        assert!(glob("*.", "1."));
        assert!(glob("?x*", "axyz"));
        assert!(!glob("a", "ab"));
    }
}
