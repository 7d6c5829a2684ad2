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

use std::fmt::Write as _;
use std::path::Path;

use crate::config::parse::Value;
use crate::diagnostic::{Diagnostic, Location};
use crate::model::Update;
use crate::targets::flux::Image;
use crate::yaml_walk::{self, first_document_text, missed, syntax_error, Found, Kind, Node};

/// The names Kustomize reads a kustomization from, in its order.
pub(crate) const KUSTOMIZATION_FILES: [&str; 3] =
    ["kustomization.yaml", "kustomization.yml", "Kustomization"];

fn err(file: &Path, line: Option<usize>, msg: String, help: &str) -> Diagnostic {
    Diagnostic::error(msg)
        .in_file(file)
        .at(line.map(|line| Location { line, column: 1 }))
        .help(help)
}

/// The 1-based line of the first line that, trimmed, starts with `prefix`.
pub(crate) fn line_of(text: &str, prefix: &str) -> Option<usize> {
    text.lines()
        .position(|l| l.trim_start().trim_start_matches("- ").starts_with(prefix))
        .map(|i| i + 1)
}

/// Problems of a kustomization that `update` (of image `m`) sets.
pub(crate) fn kustomization(
    m: Image<'_>,
    update: &Update,
    file: &Path,
    text: &str,
) -> Vec<Diagnostic> {
    let stage = crate::targets::kargo::update_stage_name(m.name(), &update.name);
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
pub(crate) fn yaml_file(m: Image<'_>, update: &Update, file: &Path, text: &str) -> Vec<Diagnostic> {
    let stage = crate::targets::kargo::update_stage_name(m.name(), &update.name);
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
    let parts = match yaml_walk::split_key(key) {
        Ok(parts) => parts,
        Err(why) => {
            return vec![err(
                file,
                None,
                format!("{stage}: Kargo cannot read the key `{key}`: {why}"),
                "fix `key` in images.yaml",
            )]
        }
    };
    if let Err(d) = crate::config::parse::parse_value(file, first_document_text(text)) {
        if text.contains("{{") {
            return helm(text.lines().position(|l| l.contains("{{")).map(|i| i + 1));
        }
        return vec![d];
    }
    let root = match yaml_walk::first_document(text) {
        Ok(Some(root)) => root,
        Ok(None) => {
            return vec![err(
                file,
                None,
                format!("{stage}: the file holds no YAML document, so key `{key}` does not exist"),
                "add the key with the value deployed now, or fix `path` in images.yaml",
            )]
        }
        Err(e) => return vec![syntax_error(file, text, &e, "")],
    };
    match yaml_walk::resolve(&root, &parts) {
        Ok(found) => lines_kargo_breaks(&stage, key, file, text, &found),
        Err(miss) => vec![missed(
            &stage,
            key,
            &parts,
            &miss,
            " (yaml-update cannot create keys)",
        )
        .in_file(file)],
    }
}

/// What yaml-update would break on the line of the scalar `found`: Kargo
/// rewrites that line from the value's column to its end
/// (`pkg/yaml/yaml.go` `SetValuesInBytes`), and leaves every other line.
fn lines_kargo_breaks(
    stage: &str,
    key: &str,
    file: &Path,
    text: &str,
    found: &Found<'_>,
) -> Vec<Diagnostic> {
    let n = found.node;
    let at = Some(Location {
        line: n.line,
        column: n.column,
    });
    let name = found
        .key
        .and_then(yaml_walk::scalar_value)
        .unwrap_or("value");
    if n.spans_lines() {
        let (what, outcome) = if matches!(
            n.kind,
            Kind::Scalar {
                style: yaml_walk::Style::Literal | yaml_walk::Style::Folded,
                ..
            }
        ) {
            (
                "is a block scalar (`|` or `>`) on",
                "writes the new value over the indicator and leaves the lines of the old value, which breaks the file",
            )
        } else {
            (
                "is written over",
                "rewrites the first line only and leaves the others, which breaks the file or joins them to the new value",
            )
        };
        return vec![Diagnostic::error(format!(
            "{stage}: the value of key `{key}` {what} lines {}–{}: yaml-update {outcome}",
            n.line, n.end_line
        ))
        .in_file(file)
        .at(at)
        .with_source(text)
        .help(format!(
            "write the value on one line (`{name}: <the value deployed now>`)"
        ))];
    }
    // An anchor or tag before the value: go-yaml places the node at the
    // `&` or `!`, so Kargo rewrites from there and drops it — an alias of
    // the anchor elsewhere then names nothing, and the file fails to load.
    let before = &text[text[..n.start.min(text.len())]
        .rfind('\n')
        .map_or(0, |i| i + 1)..n.start.min(text.len())];
    let own = text.get(n.start..n.end).unwrap_or_default();
    let props = before
        .split_whitespace()
        .rev()
        .take_while(|w| w.starts_with('&') || w.starts_with('!'))
        .last()
        .or_else(|| {
            own.split_whitespace()
                .next()
                .filter(|w| w.starts_with('&') || w.starts_with('!'))
        });
    if let Some(prop) = props {
        let (what, outcome) = if prop.starts_with('&') {
            (
                "anchor",
                "drops it, and every `*` alias of it then names nothing: the file no longer loads",
            )
        } else {
            ("tag", "drops it")
        };
        return vec![Diagnostic::error(format!(
            "{stage}: the value of key `{key}` carries the {what} `{prop}`: yaml-update rewrites from it to the end of the line (Kargo's YAML library places the value there) and {outcome}",
        ))
        .in_file(file)
        .at(at)
        .with_source(text)
        .help(format!(
            "write the value itself on this line (`{name}: <the value deployed now>`), and point the anchor at another node"
        ))];
    }
    let rest = n.rest_of_line(text);
    let after = rest.trim();
    if after.is_empty() {
        return Vec::new();
    }
    let column = n.line_text(text).1.chars().count() + (rest.len() - rest.trim_start().len()) + 1;
    let here = Some(Location {
        line: n.line,
        column,
    });
    if after.starts_with('#') {
        let (what, help) = if after.contains("\"$imagepolicy\"") {
            (
                "Flux setter marker",
                "Kargo and Flux should not both update this line: if Flux does not update this repository, delete the marker; if it does, leave this target to one of them".to_string(),
            )
        } else {
            (
                "comment",
                format!("move the comment to the line above (`# …` before `{name}:`)"),
            )
        };
        return vec![Diagnostic::warning(format!(
            "{stage}: yaml-update drops the {what} `{after}` after the value of key `{key}` on line {}: it rewrites from the value to the end of the line",
            n.line
        ))
        .in_file(file)
        .at(here)
        .with_source(text)
        .help(help)];
    }
    let container = match found.flow.map(|f| &f.kind) {
        Some(Kind::Sequence { .. }) => "flow list (`[…]`)",
        _ => "flow mapping (`{…}`)",
    };
    let help = match found.flow.and_then(|f| block_style(text, f)) {
        Some(block) => format!("write it in block style, one entry per line:\n{block}"),
        None => "write it in block style, one entry per line, so the value ends its line".into(),
    };
    vec![Diagnostic::error(format!(
        "{stage}: the value of key `{key}` is inside a {container} on line {}: yaml-update rewrites from the value to the end of the line, which drops `{after}` and breaks the file",
        n.line
    ))
    .in_file(file)
    .at(here)
    .with_source(text)
    .help(help)]
}

/// A one-line flow collection of scalars, with what leads to it on its
/// line (`image: {repository: x, tag: "1"}`), written in block style.
fn block_style(text: &str, flow: &Node) -> Option<String> {
    if flow.spans_lines() {
        return None;
    }
    let (line, _) = flow.line_text(text);
    let prefix = line
        .get(..line.find(&text[flow.start..flow.end])?)?
        .trim_end();
    // After a list item's `-`, the first entry stays on its line.
    let item = prefix.ends_with('-');
    let indent = if item {
        prefix.len() + 1
    } else {
        prefix.len() - prefix.trim_start_matches([' ', '-']).len() + 2
    };
    let pad = " ".repeat(indent);
    let src = |n: &Node| &text[n.start..n.end];
    let mut lines: Vec<String> = Vec::new();
    match &flow.kind {
        Kind::Mapping { entries, .. } => {
            for (k, v) in entries {
                if !matches!(k.kind, Kind::Scalar { .. }) || !matches!(v.kind, Kind::Scalar { .. })
                {
                    return None;
                }
                lines.push(format!("{}: {}", src(k), src(v)));
            }
        }
        Kind::Sequence { items, .. } => {
            for v in items {
                if !matches!(v.kind, Kind::Scalar { .. }) {
                    return None;
                }
                lines.push(format!("- {}", src(v)));
            }
        }
        _ => return None,
    }
    let mut out = format!("  {prefix}");
    for (i, l) in lines.iter().enumerate() {
        if i == 0 && item {
            let _ = write!(out, " {l}");
        } else {
            let _ = write!(out, "\n  {pad}{l}");
        }
    }
    Some(out)
}
