//! `imgf updates check --target flux`, the pure part: Flux changes only the
//! lines that end in a setter marker (`# {"$imagepolicy": "<ns>:<policy>"}`,
//! image-automation-controller `internal/update/setters.go`), and never adds
//! one, so a target line without the right marker is a silent no-op. Given
//! a target file's text, each problem names the line and the exact comment.
//!
//! The line is found by structure, with the walk Kargo's check uses
//! ([`crate::yaml_walk`]): the value `key` resolves to (list indexes,
//! nesting), or the `newTag`/`digest` of the kustomization's `images:`
//! entry named after the image. kyaml reads the value's whole line comment
//! as the marker's JSON (`fieldmeta.go` `Read`), so nothing may follow the
//! `}`; a file that does not parse is skipped by the controller silently
//! (`filereader.go`), so it is an error here.

use std::path::Path;
use std::sync::LazyLock;

use regex::Regex;

use super::Image;
use crate::config::enrollment::UpdateValue;
use crate::config::settings::Settings;
use crate::diagnostic::{Diagnostic, Location};
use crate::model::Update;
use crate::yaml_walk::first_document_text;
use crate::yaml_walk::{self, Kind, Node};

/// The marker field an update needs: `Some("tag")`, `Some("digest")`, or
/// `None` for the full reference (`name:tag`, `name:tag@digest` once the
/// digest is reflected).
pub fn field(update: &Update) -> Option<&'static str> {
    match update.value {
        UpdateValue::Tag => Some("tag"),
        UpdateValue::Digest => Some("digest"),
        UpdateValue::Reference | UpdateValue::Pinned => None,
    }
}

/// The policy reference a marker names: `<ns>:<policy>[:field]`.
pub fn wanted(settings: &Settings, m: Image<'_>, update: &Update) -> String {
    let mut w = format!("{}:{}", settings.flux.namespace, super::object_name(m));
    if let Some(f) = field(update) {
        w.push(':');
        w.push_str(f);
    }
    w
}

/// A setter marker, `# {"$imagepolicy": "…"}`, whatever it names.
static MARKER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"#\s*\{\s*"\$imagepolicy"\s*:\s*"([^"]*)"\s*\}"#).expect("valid pattern")
});

fn problem(file: &Path, line: Option<usize>, msg: String, help: String) -> Diagnostic {
    Diagnostic::error(msg)
        .in_file(file)
        .at(line.map(|line| Location { line, column: 1 }))
        .help(help)
}

/// The policy a line comment names when kyaml reads it as a setter
/// (`fieldmeta.go` `Read`): the whole comment, `#`s and spaces trimmed, is
/// the JSON object; `None` when it is not one, or has no `$imagepolicy`.
pub fn setter(comment: &str) -> Option<String> {
    let body = comment.trim().trim_start_matches('#').trim();
    let map: serde_json::Map<String, serde_json::Value> = serde_json::from_str(body).ok()?;
    map.get("$imagepolicy")?.as_str().map(str::to_string)
}

/// The target's documents as Flux reads them, or why it cannot: the
/// controller skips a file it cannot parse without a word
/// (image-automation-controller `filereader.go`), so no line in it is set.
fn parse(what: &str, file: &Path, text: &str) -> Result<Node, Diagnostic> {
    const SKIPPED: &str = "; Flux's image-automation-controller skips a file it cannot parse, silently, so no line in it is updated";
    let first = match yaml_walk::documents(text) {
        Ok(docs) => docs.into_iter().next(),
        Err(e) => {
            let mut d = crate::config::parse::parse_value(file, first_document_text(text))
                .err()
                .filter(|d| d.location.is_some_and(|l| l.line <= e.line))
                .unwrap_or_else(|| crate::yaml_walk::syntax_error(file, text, &e, ""));
            d.message = format!("{what}: {}{SKIPPED}", d.message);
            return Err(d);
        }
    };
    first.ok_or_else(|| {
        problem(
            file,
            None,
            format!("{what}: the file holds no YAML document"),
            "add the value with its marker, or fix `path` in images.yaml".into(),
        )
    })
}

/// The marker check of `n`, the scalar that `desc` (a key, or the entry's
/// field) resolves to in `doc`: Flux sets a scalar whose own line comment
/// is the marker, so the marker must follow the value on exactly its line,
/// and be all of the comment.
fn check_value(
    file: &Path,
    text: &str,
    doc: &Node,
    n: &Node,
    desc: &str,
    what: &str,
    want: &str,
) -> Vec<Diagnostic> {
    let comment = format!("# {{\"$imagepolicy\": \"{want}\"}}");
    let line = n.line;
    let (_, upto) = n.line_text(text);
    let exact = format!("{upto} {comment}");
    let at = Some(line);
    if n.spans_lines() {
        return vec![problem(
            file,
            at,
            format!(
                "{what}: the value of {desc} is written over lines {line}–{}; a marker can only follow a one-line value",
                n.end_line
            ),
            format!("write the value on one line, ending in `{comment}`"),
        )];
    }
    let rest = n.rest_of_line(text).trim();
    if rest.is_empty() {
        // A marker for this policy on another value: Flux sets that one.
        let elsewhere = doc.scalars().into_iter().find(|(_, o)| {
            o.line != line
                && !o.spans_lines()
                && setter(o.rest_of_line(text)).as_deref() == Some(want)
        });
        let note = match elsewhere {
            Some((path, o)) => format!(
                "; the marker is on line {} (`{path}`), which Flux updates instead",
                o.line
            ),
            None => String::new(),
        };
        return vec![problem(
            file,
            at,
            format!("{what}: line {line} has no setter marker, so Flux never updates it{note}"),
            format!("end the line with `{comment}`: `{}`", exact.trim_start()),
        )];
    }
    if !rest.starts_with('#') {
        return vec![problem(
            file,
            at,
            format!(
                "{what}: the value of {desc} on line {line} is inside a flow collection (`{rest}` follows it); Flux reads a marker only as the value's own line comment"
            ),
            format!("write it in block style, so that the value ends its line and the marker follows: `{}`", exact.trim_start()),
        )];
    }
    match setter(rest) {
        Some(named) if named == want => Vec::new(),
        Some(named) => vec![problem(
            file,
            at,
            format!("{what}: line {line}'s setter marker names `{named}`, not `{want}`"),
            format!("replace the marker with `{comment}`"),
        )],
        None if MARKER.is_match(rest) => vec![problem(
            file,
            at,
            format!(
                "{what}: line {line}'s comment `{rest}` holds more than the marker; kyaml reads the whole comment as the marker's JSON, so Flux never updates this line"
            ),
            format!(
                "write the line as `{}` (anything else goes on the line above)",
                exact.trim_start()
            ),
        )],
        None => vec![problem(
            file,
            at,
            format!("{what}: line {line} has no setter marker (its comment is `{rest}`), so Flux never updates it"),
            format!(
                "write the line as `{}` (move the comment to the line above)",
                exact.trim_start()
            ),
        )],
    }
}

/// A kustomization's `images:` entry for the image: the `newTag:`
/// (`value: tag`) or `digest:` (`value: digest`) value carries the marker.
pub fn kustomization(
    settings: &Settings,
    m: Image<'_>,
    update: &Update,
    file: &Path,
    text: &str,
) -> Vec<Diagnostic> {
    let what = format!("{} ({})", m.name(), update.name);
    let want = wanted(settings, m, update);
    let field = if update.value == UpdateValue::Digest {
        "digest"
    } else {
        "newTag"
    };
    let doc = match parse(&what, file, text) {
        Ok(doc) => doc,
        Err(d) => return vec![d],
    };
    let entry = match &doc.kind {
        Kind::Mapping { entries, .. } => entries
            .iter()
            .find(|(k, _)| yaml_walk::scalar_value(k) == Some("images"))
            .and_then(|(_, v)| match &v.kind {
                Kind::Sequence { items, .. } => items.iter().position(|e| {
                    yaml_walk::resolve(e, &["name".to_string()])
                        .is_ok_and(|f| yaml_walk::scalar_value(f.node) == Some(m.repo_url()))
                }),
                _ => None,
            }),
        _ => None,
    };
    let Some(i) = entry else {
        return vec![problem(
            file,
            None,
            format!("{what}: the kustomization has no `images:` entry named `{}`", m.repo_url()),
            format!(
                "add `- name: {}` with `{field}: <the value deployed now> # {{\"$imagepolicy\": \"{want}\"}}` under `images:`",
                m.repo_url()
            ),
        )];
    };
    let parts = ["images".to_string(), i.to_string(), field.to_string()];
    match yaml_walk::resolve(&doc, &parts) {
        Ok(found) => check_value(file, text, &doc, found.node, &format!("`{field}`"), &what, &want),
        Err(miss) if miss.why == yaml_walk::Why::NoKey && miss.depth == 2 => vec![problem(
            file,
            Some(miss.at.line),
            format!("{what}: the `images:` entry for `{}` has no `{field}:` line to mark", m.repo_url()),
            format!(
                "add `{field}: <the value deployed now> # {{\"$imagepolicy\": \"{want}\"}}` to the entry"
            ),
        )],
        Err(miss) => vec![
            crate::yaml_walk::missed(&what, &parts.join("."), &parts, &miss, "").in_file(file),
        ],
    }
}

/// A YAML file's `key`, resolved by structure as Kargo resolves it (list
/// indexes, nesting; the first document): the line of its value carries
/// the marker.
pub fn yaml_file(
    settings: &Settings,
    m: Image<'_>,
    update: &Update,
    file: &Path,
    text: &str,
) -> Vec<Diagnostic> {
    let what = format!("{} ({})", m.name(), update.name);
    let want = wanted(settings, m, update);
    let key = update.yaml_key.as_deref().unwrap_or_default();
    let parts = match yaml_walk::split_key(key) {
        Ok(parts) => parts,
        Err(why) => {
            return vec![problem(
                file,
                None,
                format!("{what}: the key `{key}` cannot be read: {why}"),
                "fix `key` in images.yaml".into(),
            )]
        }
    };
    let doc = match parse(&what, file, text) {
        Ok(doc) => doc,
        Err(d) => return vec![d],
    };
    match yaml_walk::resolve(&doc, &parts) {
        Ok(found) => check_value(
            file,
            text,
            &doc,
            found.node,
            &format!("`{key}`"),
            &what,
            &want,
        ),
        Err(miss) => {
            let mut d = crate::yaml_walk::missed(&what, key, &parts, &miss, "").in_file(file);
            if miss.why != yaml_walk::Why::NotScalar {
                d.help = Some(format!(
                    "add it with the value deployed now and `# {{\"$imagepolicy\": \"{want}\"}}` at the end of its line"
                ));
            }
            vec![d]
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Managed, TagOrder};

    fn image(kind_yaml: Option<&str>, value: UpdateValue) -> Managed {
        Managed {
            name: "api".into(),
            repo_url: "ghcr.io/org/api".into(),
            provider: crate::config::enrollment::Provider::Github,
            source_repo: "org/api".into(),
            branch: "main".into(),
            dockerfile: "Dockerfile".into(),
            workflow: None,
            inputs: vec![],
            version_bump: "patch".into(),
            rebuild_delay_secs: 0,
            auto_rebuild: true,
            current_version: None,
            tags: TagOrder::Versions(None),
            bases: vec![],
            source_paths: vec![],
            updates: vec![Update {
                name: "prod".into(),
                repo_url: "https://github.com/org/deploy.git".into(),
                provider: crate::config::enrollment::Provider::Github,
                branch: "main".into(),
                path: "x".into(),
                yaml_key: kind_yaml.map(str::to_string),
                value,
                value_given: true,
                entry: 0,
                index: 0,
                after: None,
                soak_secs: 0,
                pull_request: false,
                argocd: None,
                verify: vec![],
                auto_promote: true,
                shard: None,
            }],
        }
    }

    fn lint(m: &Managed, text: &str) -> Vec<Diagnostic> {
        let s = Settings::defaults("image-factory");
        let f = Path::new("t.yaml");
        if m.updates[0].yaml_key.is_some() {
            yaml_file(&s, m.into(), &m.updates[0], f, text)
        } else {
            kustomization(&s, m.into(), &m.updates[0], f, text)
        }
    }

    #[test]
    fn a_present_marker_passes() {
        let m = image(Some("image.tag"), UpdateValue::Tag);
        let t =
            "image:\n  repository: x\n  tag: 1.0.0 # {\"$imagepolicy\": \"flux-system:api:tag\"}\n";
        assert!(lint(&m, t).is_empty());
    }

    #[test]
    fn a_missing_marker_names_the_line_and_the_comment() {
        let m = image(Some("image.tag"), UpdateValue::Tag);
        let d = lint(&m, "image:\n  tag: 1.0.0\n");
        assert_eq!(d.len(), 1);
        assert!(
            d[0].message.contains("line 2 has no setter marker"),
            "{}",
            d[0].message
        );
        let help = d[0].help.as_deref().unwrap_or_default();
        assert!(
            help.contains("# {\"$imagepolicy\": \"flux-system:api:tag\"}"),
            "{help}"
        );
    }

    #[test]
    fn a_wrong_policy_name_or_field_is_reported() {
        let m = image(Some("image.tag"), UpdateValue::Tag);
        let d = lint(
            &m,
            "image:\n  tag: 1.0.0 # {\"$imagepolicy\": \"flux-system:web:tag\"}\n",
        );
        assert!(
            d[0].message.contains("names `flux-system:web:tag`"),
            "{}",
            d[0].message
        );
        let d = lint(
            &m,
            "image:\n  tag: 1.0.0 # {\"$imagepolicy\": \"flux-system:api\"}\n",
        );
        assert_eq!(d.len(), 1);
    }

    #[test]
    fn tag_digest_and_full_variants() {
        let m = image(Some("spec.containers.0.image"), UpdateValue::Pinned);
        let t = "spec:\n  containers:\n    - name: api\n      image: ghcr.io/org/api:1@sha256:00 # {\"$imagepolicy\": \"flux-system:api\"}\n";
        assert!(lint(&m, t).is_empty());
        let m = image(Some("image.digest"), UpdateValue::Digest);
        let t = "image:\n  digest: sha256:00 # {\"$imagepolicy\": \"flux-system:api:digest\"}\n";
        assert!(lint(&m, t).is_empty());
        let m = image(None, UpdateValue::Digest);
        let t = "images:\n  - name: ghcr.io/org/api\n    newTag: '1'\n    digest: sha256:00 # {\"$imagepolicy\": \"flux-system:api:digest\"}\n";
        assert!(lint(&m, t).is_empty());
        let m = image(None, UpdateValue::Tag);
        let d = lint(&m, t);
        assert!(
            d[0].message.contains("line 3 has no setter marker"),
            "{:?}",
            d[0].message
        );
    }

    #[test]
    fn a_setter_is_the_whole_comment_as_kyaml_reads_it() {
        let want = Some("ns:p:tag".to_string());
        assert_eq!(setter("# {\"$imagepolicy\": \"ns:p:tag\"}"), want);
        assert_eq!(setter("##{\"$imagepolicy\":\"ns:p:tag\"}  "), want);
        assert_eq!(setter("# {\"$imagepolicy\": \"ns:p:tag\"} # x"), None);
        assert_eq!(setter("# see {\"$imagepolicy\": \"ns:p:tag\"}"), None);
        assert_eq!(setter("# {\"other\": \"ns:p:tag\"}"), None);
    }

    #[test]
    fn a_marker_on_a_nested_key_of_the_same_name_does_not_count() {
        let m = image(Some("image.tag"), UpdateValue::Tag);
        let t = "sidecar:\n  image:\n    tag: 1 # {\"$imagepolicy\": \"flux-system:api:tag\"}\nimage:\n  tag: 1.0.0\n";
        let d = lint(&m, t);
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].location.map(|l| l.line), Some(5));
        assert!(
            d[0].message.contains("`sidecar.image.tag`"),
            "{}",
            d[0].message
        );
    }

    #[test]
    fn a_kustomization_without_the_entry_says_what_to_add() {
        let m = image(None, UpdateValue::Tag);
        let d = lint(&m, "images:\n  - name: ghcr.io/org/web\n    newTag: '1'\n");
        assert!(d[0]
            .message
            .contains("no `images:` entry named `ghcr.io/org/api`"));
    }
}
