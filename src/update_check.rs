//! `imgf updates check`, the pure part: given the text of each update
//! target (and of any Argo CD Application found beside them), what would
//! make its Stage fail at promotion time. The command layer reads the files.
//!
//! Kargo finds these only when a promotion runs: `kustomize-set-image`
//! quietly adds an `images:` entry nothing uses when the kustomization names
//! the image otherwise; `yaml-update` fails on a key that does not exist or
//! is not a scalar (`pkg/yaml/yaml.go` `SetValuesInBytes` edits scalars in
//! place); `argocd-update` refuses an Application whose
//! `kargo.akuity.io/authorized-stage` does not list the Stage
//! (`pkg/api/stage.go` `AuthorizedStages`).

use std::path::Path;

use crate::config::parse::Value;
use crate::diagnostic::{Diagnostic, Location};
use crate::model::Update;
use crate::targets::flux::Image;

/// The names Kustomize reads a kustomization from, in its order.
pub const KUSTOMIZATION_FILES: [&str; 3] =
    ["kustomization.yaml", "kustomization.yml", "Kustomization"];

fn err(file: &Path, line: Option<usize>, msg: String, help: &str) -> Diagnostic {
    Diagnostic::error(msg)
        .in_file(file)
        .at(line.map(|line| Location { line, column: 1 }))
        .help(help)
}

/// The 1-based line of the first line that, trimmed, starts with `prefix`.
fn line_of(text: &str, prefix: &str) -> Option<usize> {
    text.lines()
        .position(|l| l.trim_start().trim_start_matches("- ").starts_with(prefix))
        .map(|i| i + 1)
}

/// The first YAML document of `text` (all `yaml-update` can address).
pub fn first_document(text: &str) -> &str {
    let body = text.strip_prefix("---\n").unwrap_or(text);
    let mut offset = 0;
    for line in body.split_inclusive('\n') {
        if offset > 0 && (line.trim_end() == "---" || line.starts_with("--- ")) {
            return &body[..offset];
        }
        offset += line.len();
    }
    body
}

/// Problems of a kustomization that `update` (of image `m`) sets.
pub fn kustomization(m: Image<'_>, update: &Update, file: &Path, text: &str) -> Vec<Diagnostic> {
    let stage = format!("update-{}-{}", m.name(), update.name);
    let doc = match crate::config::parse::parse_value(file, text) {
        Ok(v) => v,
        Err(d) => return vec![d],
    };
    let entries = doc.get("images").and_then(Value::as_sequence);
    let names: Vec<(&str, Option<&str>)> = entries
        .into_iter()
        .flatten()
        .filter_map(|e| {
            Some((
                e.get("name")?.as_str()?,
                e.get("newName").and_then(Value::as_str),
            ))
        })
        .collect();
    if names.iter().any(|(n, _)| *n == m.repo_url()) {
        return Vec::new();
    }
    let short = m.repo_url().rsplit('/').next().unwrap_or(m.repo_url());
    let other = names.iter().find(|(n, new)| {
        *new == Some(m.repo_url())
            || n.rsplit('/').next() == Some(short)
            || n.split(':').next().and_then(|x| x.rsplit('/').next()) == Some(short)
    });
    match other {
        Some((n, _)) => vec![err(
            file,
            line_of(text, &format!("name: {n}")).or_else(|| line_of(text, "images:")),
            format!(
                "{stage}: the kustomization names {} `{n}`, but kustomize-set-image sets the entry named `{}`",
                m.name(), m.repo_url()
            ),
            &format!(
                "name the image `{}` in the manifests and this entry (`name: {}`, no `newName`), so the Stage's newTag is the one Kustomize applies",
                m.repo_url(), m.repo_url()
            ),
        )],
        None => vec![err(
            file,
            line_of(text, "images:"),
            format!(
                "{stage}: the kustomization has no `images:` entry for `{}`",
                m.repo_url()
            ),
            &format!(
                "add `images: [{{name: {}, newTag: <the tag deployed now>}}]`; Kargo would add one, but nothing tells you until a promotion changes nothing",
                m.repo_url()
            ),
        )],
    }
}

/// Problems of a YAML file whose `key` `update` sets.
pub fn yaml_file(m: Image<'_>, update: &Update, file: &Path, text: &str) -> Vec<Diagnostic> {
    let stage = format!("update-{}-{}", m.name(), update.name);
    let key = update.yaml_key.as_deref().unwrap_or_default();
    let helm = |line: Option<usize>| {
        vec![err(
            file,
            line,
            format!("{stage}: the target is a Helm template, not YAML"),
            "update the chart's values file instead (for example `values.yaml` with `key: image.tag`)",
        )]
    };
    if crate::config::enrollment::is_helm_template(&update.path) {
        return helm(None);
    }
    // A template action outside quotes and comments (`image: {{ .Values.x }}`
    // can even parse, as a flow mapping); a values file quotes its `tpl` strings.
    if let Some(i) = text.lines().position(|l| {
        let code = l.split('#').next().unwrap_or_default();
        code.find("{{").is_some_and(|at| {
            !code[..at].contains(['"', '\'']) && code[at + 2..].starts_with([' ', '-', '.'])
        })
    }) {
        return helm(Some(i + 1));
    }
    let doc = match crate::config::parse::parse_value(file, first_document(text)) {
        Ok(v) => v,
        Err(_) if text.contains("{{") => {
            return helm(text.lines().position(|l| l.contains("{{")).map(|i| i + 1))
        }
        Err(d) => return vec![d],
    };
    let mut at = &doc;
    let mut walked: Vec<&str> = Vec::new();
    for part in key.split('.') {
        let next = match at {
            Value::Sequence(items) => part.parse::<usize>().ok().and_then(|i| items.get(i)),
            Value::Mapping(_) => at.get(part),
            _ => None,
        };
        let Some(next) = next else {
            let there: Vec<String> = match at {
                Value::Mapping(map) => map
                    .keys()
                    .filter_map(|k| k.as_str().map(str::to_string))
                    .collect(),
                Value::Sequence(items) => vec![format!("0…{}", items.len().saturating_sub(1))],
                _ => Vec::new(),
            };
            let place = if walked.is_empty() {
                "the top level".to_string()
            } else {
                format!("`{}`", walked.join("."))
            };
            return vec![err(
                file,
                walked.last().and_then(|w| line_of(text, &format!("{w}:"))),
                format!(
                    "{stage}: key `{key}` does not exist: {place} has no `{part}` (yaml-update cannot create keys)"
                ),
                &if there.is_empty() {
                    "add the key with the value deployed now, or fix `key` in images.yaml".to_string()
                } else {
                    format!(
                        "{place} has {}; add the key with the value deployed now, or fix `key` in images.yaml",
                        there.join(", ")
                    )
                },
            )];
        };
        walked.push(part);
        at = next;
    }
    match at {
        Value::Mapping(_) | Value::Sequence(_) => vec![err(
            file,
            line_of(text, &format!("{}:", walked.last().unwrap_or(&""))),
            format!(
                "{stage}: key `{key}` is a {}, not a scalar",
                if matches!(at, Value::Mapping(_)) {
                    "mapping"
                } else {
                    "list"
                }
            ),
            "point `key` at the scalar that holds the image or tag, like `image.tag`",
        )],
        _ => Vec::new(),
    }
}
