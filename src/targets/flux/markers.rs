//! `imgf updates check --target flux`, the pure part: Flux changes only the
//! lines that end in a setter marker (`# {"$imagepolicy": "<ns>:<policy>"}`,
//! image-automation-controller `internal/update/setters.go`), and never adds
//! one, so a target line without the right marker is a silent no-op. Given
//! a target file's text, each problem names the line and the exact comment.

use std::path::Path;
use std::sync::OnceLock;

use regex::Regex;

use super::Image;
use crate::config::enrollment::UpdateValue;
use crate::config::settings::Settings;
use crate::diagnostic::{Diagnostic, Location};
use crate::model::Update;

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

fn marker_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r#"#\s*\{\s*"\$imagepolicy"\s*:\s*"([^"]*)"\s*\}"#).expect("valid pattern")
    })
}

fn problem(file: &Path, line: Option<usize>, msg: String, help: String) -> Diagnostic {
    Diagnostic::error(msg)
        .in_file(file)
        .at(line.map(|line| Location { line, column: 1 }))
        .help(help)
}

/// The marker check of line `n` (1-based) of `text`.
fn check_line(
    file: &Path,
    text: &str,
    n: usize,
    what: &str,
    want: &str,
    out: &mut Vec<Diagnostic>,
) {
    let line = text.lines().nth(n - 1).unwrap_or_default();
    let comment = format!("# {{\"$imagepolicy\": \"{want}\"}}");
    match marker_re().captures(line) {
        None => out.push(problem(
            file,
            Some(n),
            format!("{what}: line {n} has no setter marker, so Flux never updates it"),
            format!("end the line with `{comment}`"),
        )),
        Some(c) if &c[1] != want => out.push(problem(
            file,
            Some(n),
            format!(
                "{what}: line {n}'s setter marker names `{}`, not `{want}`",
                &c[1]
            ),
            format!("replace the marker with `{comment}`"),
        )),
        Some(_) => {}
    }
}

fn indent(l: &str) -> usize {
    l.len() - l.trim_start_matches([' ', '-']).len()
}

/// A kustomization's `images:` entry for the image: the `newTag:`
/// (`value: tag`) or `digest:` (`value: digest`) line carries the marker.
pub fn kustomization(
    settings: &Settings,
    m: Image<'_>,
    update: &Update,
    file: &Path,
    text: &str,
) -> Vec<Diagnostic> {
    let what = format!("{} ({})", m.name(), update.name);
    let want = wanted(settings, m, update);
    let key = if update.value == UpdateValue::Digest {
        "digest:"
    } else {
        "newTag:"
    };
    let lines: Vec<&str> = text.lines().collect();
    let name_line = lines.iter().position(|l| {
        let t = l.trim_start().trim_start_matches("- ").trim_start();
        t.strip_prefix("name:").map(|v| {
            v.split('#')
                .next()
                .unwrap_or_default()
                .trim()
                .trim_matches(['"', '\''])
        }) == Some(m.repo_url())
    });
    let mut out = Vec::new();
    let Some(start) = name_line else {
        out.push(problem(
            file,
            None,
            format!("{what}: the kustomization has no `images:` entry named `{}`", m.repo_url()),
            format!(
                "add `- name: {}` with `{key} <the value deployed now> # {{\"$imagepolicy\": \"{want}\"}}` under `images:`",
                m.repo_url()
            ),
        ));
        return out;
    };
    // The entry's other keys: deeper than its `- `, up to the next item.
    let base = lines[start].len() - lines[start].trim_start().len();
    let mut found = None;
    for (i, l) in lines.iter().enumerate().skip(start) {
        let t = l.trim_start();
        if i > start && (t.is_empty() || indent(l) <= base || t.starts_with("- ")) {
            if t.is_empty() {
                continue;
            }
            break;
        }
        if t.trim_start_matches("- ").starts_with(key) {
            found = Some(i + 1);
            break;
        }
    }
    match found {
        Some(n) => check_line(file, text, n, &what, &want, &mut out),
        None => out.push(problem(
            file,
            Some(start + 1),
            format!("{what}: the `images:` entry for `{}` has no `{key}` line to mark", m.repo_url()),
            format!(
                "add `{key} <the value deployed now> # {{\"$imagepolicy\": \"{want}\"}}` to the entry"
            ),
        )),
    }
    out
}

/// A YAML file's `key`: the line of its last part, found part by part
/// (each after the previous one; list indexes are skipped), carries the marker.
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
    let lines: Vec<&str> = text.lines().collect();
    let mut at = 0;
    let mut line = None;
    for part in key.split('.').filter(|p| p.parse::<usize>().is_err()) {
        let prefix = format!("{part}:");
        match (at..lines.len()).find(|&i| {
            lines[i]
                .trim_start()
                .trim_start_matches("- ")
                .trim_start()
                .starts_with(&prefix)
        }) {
            Some(i) => {
                line = Some(i + 1);
                at = i + 1;
            }
            None => {
                line = None;
                break;
            }
        }
    }
    let mut out = Vec::new();
    match line {
        Some(n) => check_line(file, text, n, &what, &want, &mut out),
        None => out.push(problem(
            file,
            None,
            format!("{what}: key `{key}` is not in the file"),
            format!(
                "add it with the value deployed now and `# {{\"$imagepolicy\": \"{want}\"}}` at the end of its line"
            ),
        )),
    }
    out
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
    fn a_kustomization_without_the_entry_says_what_to_add() {
        let m = image(None, UpdateValue::Tag);
        let d = lint(&m, "images:\n  - name: ghcr.io/org/web\n    newTag: '1'\n");
        assert!(d[0]
            .message
            .contains("no `images:` entry named `ghcr.io/org/api`"));
    }
}
