//! Argo CD Applications as Kargo's `argocd-update` step sees them (Kargo
//! v1.11.2), for `imgf updates check`: pure functions of the manifest's text
//! and of what a checkout of the synced repository holds.
//!
//! - The `kargo.akuity.io/authorized-stage` annotation, parsed as
//!   `pkg/api/stage.go:102-130` `AuthorizedStages` parses it ([`authorized_stages`]).
//! - Which source an update applies to: a source without `chart` whose
//!   `repoURL` equals the update's after `urls.NormalizeGit`
//!   (`pkg/promotion/runner/builtin/argocd_updater.go:1027-1031`, [`normalize_git`]);
//!   none matching is an error of the step (`:424-438`), retried until the
//!   step's timeout.
//! - imgf's steps set no `desiredRevision` and so leave `targetRevision`
//!   alone (`:1034-1036` applies only with `updateTargetRevision`): the sync
//!   deploys the source's own `targetRevision` and `path`. One that is not
//!   the pushed branch, or a path that does not render the updated file,
//!   deploys nothing of the update while the step succeeds.

use std::path::Path;

use super::promotion::KUSTOMIZATION_FILES;
use crate::config::parse::Value;
use crate::diagnostic::{Diagnostic, Location};

/// The annotation naming the Stages that may sync an Application.
pub(crate) const AUTHORIZED_STAGE: &str = "kargo.akuity.io/authorized-stage";

/// The Stages `value` authorizes, as (project, stage), exactly as Kargo's
/// `api.AuthorizedStages` reads them: comma-separated `<project>:<stage>`,
/// whitespace around entries and around each side of the first `:` ignored,
/// empty entries skipped; one malformed or glob entry rejects the whole
/// value, and so does a value with no entry.
pub(crate) fn authorized_stages(value: &str) -> Result<Vec<(String, String)>, String> {
    let mut stages = Vec::new();
    for entry in value.split(',') {
        // Go's strings.TrimSpace and Rust's trim both trim Unicode White_Space.
        let entry = entry.trim();
        if entry.is_empty() {
            continue;
        }
        let cut = entry.split_once(':');
        let (project, stage) = cut.map_or(("", ""), |(p, s)| (p.trim(), s.trim()));
        if cut.is_none() || project.is_empty() || stage.is_empty() {
            return Err(format!(
                "invalid authorized Stage {entry:?}: expected format \"<project>:<stage>\""
            ));
        }
        if project.contains('*') || stage.contains('*') {
            return Err(format!(
                "invalid authorized Stage {entry:?}: deprecated glob expressions are no longer supported"
            ));
        }
        stages.push((project.to_string(), stage.to_string()));
    }
    if stages.is_empty() {
        return Err(format!("no authorized Stages found in {value:?}"));
    }
    Ok(stages)
}

/// Go's `unicode.IsPrint`, closely enough for URLs: no control or format
/// characters (a byte order mark, zero-width spaces), no space but U+0020.
fn is_print(c: char) -> bool {
    if c == ' ' {
        return true;
    }
    !(c.is_control()
        || c.is_whitespace()
        || matches!(c, '\u{ad}' | '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2060}'..='\u{2064}' | '\u{feff}'))
}

/// Kargo's `urls.NormalizeGit` (`pkg/urls/git.go`): lowercase, non-printable
/// characters dropped, then for `http(s)://` no user information, for
/// `ssh://` and SCP-style `[user@]host:path` an `ssh://` URL; in every case
/// one trailing `/` and then one `.git` removed from the path. A URL it
/// cannot read (a query, a space in the host) is returned as given.
pub(crate) fn normalize_git(repo: &str) -> String {
    let orig = repo;
    let repo: String = repo
        .to_lowercase()
        .chars()
        .filter(|&c| is_print(c))
        .collect();
    let repo = repo.trim();
    for (scheme, keep_user) in [("http://", false), ("https://", false), ("ssh://", true)] {
        if let Some(rest) = repo.strip_prefix(scheme) {
            return normalize_hierarchical(scheme, rest, keep_user).unwrap_or_else(|| orig.into());
        }
    }
    normalize_scp(repo).unwrap_or_else(|| orig.into())
}

/// `rest` of `scheme://rest` as Go's `url.Parse` then `String` give it back.
fn normalize_hierarchical(scheme: &str, rest: &str, keep_user: bool) -> Option<String> {
    let (rest, fragment) = match rest.split_once('#') {
        Some((r, f)) => (r, Some(f)),
        None => (rest, None),
    };
    let (rest, query) = match rest.split_once('?') {
        Some((r, q)) => (r, Some(q)),
        None => (rest, None),
    };
    if let Some(q) = query {
        // `len(repoURL.Query()) > 0`: any `&`-separated part without `;`.
        if q.split('&').any(|k| !k.is_empty() && !k.contains(';')) {
            return None;
        }
    }
    let (authority, path) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    let (user, host) = match authority.rfind('@') {
        Some(i) => (Some(&authority[..i]), &authority[i + 1..]),
        None => (None, authority),
    };
    let host_ok = host
        .chars()
        .all(|c| c.is_alphanumeric() || "-._~!$&'()*+,;=:[]<>\"%".contains(c));
    // Go's `validOptionalPort`: digits after the last `:` (an IPv6 literal
    // in brackets is left alone).
    let port_ok = host.starts_with('[')
        || host
            .rsplit_once(':')
            .is_none_or(|(_, port)| port.chars().all(|c| c.is_ascii_digit()));
    if !host_ok || !port_ok {
        return None;
    }
    let path = path.strip_suffix('/').unwrap_or(path);
    let path = path.strip_suffix(".git").unwrap_or(path);
    let mut out = String::from(scheme);
    if let (Some(u), true) = (user, keep_user) {
        out.push_str(u);
        out.push('@');
    }
    out.push_str(host);
    out.push_str(path);
    push_query_fragment(&mut out, query, fragment);
    Some(out)
}

/// `?query#fragment`, each part only when present, as Go's `url.URL.String` writes them.
fn push_query_fragment(out: &mut String, query: Option<&str>, fragment: Option<&str>) {
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    if let Some(f) = fragment {
        out.push('#');
        out.push_str(f);
    }
}

/// `^((?:[\w-]+@)?[\w-]+(?:\.[\w-]+)*)(?::(.*))?$`, then the path cleaned.
fn normalize_scp(repo: &str) -> Option<String> {
    let (user_host, path) = match repo.split_once(':') {
        Some((uh, p)) => (uh, p),
        None => (repo, ""),
    };
    let word = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    };
    let host = match user_host.split_once('@') {
        Some((user, host)) if word(user) => host,
        Some(_) => return None,
        None => user_host,
    };
    if !host.split('.').all(word) {
        return None;
    }
    let (path, fragment) = match path.split_once('#') {
        Some((p, f)) => (p, Some(f)),
        None => (path, None),
    };
    let (path, query) = match path.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (path, None),
    };
    let path = path.strip_suffix('/').unwrap_or(path);
    let path = path.strip_suffix(".git").unwrap_or(path);
    if path.is_empty() {
        return Some(format!("ssh://{user_host}"));
    }
    let mut out = format!("ssh://{user_host}/{path}");
    push_query_fragment(&mut out, query, fragment);
    Some(out)
}

/// A repository's identity for matching a checkout to the targets: host
/// and path of [`normalize_git`], without scheme, user or port — so the
/// `git@host:org/repo.git` a checkout's `origin` names and the
/// `https://host/org/repo.git` images.yaml resolves to are the same.
pub(crate) fn repository_identity(url: &str) -> String {
    let n = normalize_git(url.trim());
    let rest = ["https://", "http://", "ssh://", "file://"]
        .iter()
        .find_map(|s| n.strip_prefix(s))
        .unwrap_or(&n);
    let (authority, path) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = match host.rsplit_once(':') {
        Some((h, p)) if p.chars().all(|c| c.is_ascii_digit()) => h,
        _ => host,
    };
    let path = path.trim_end_matches('/');
    let path = path.strip_suffix(".git").unwrap_or(path);
    format!("{host}{path}")
}

/// An update Stage that syncs an Application, as far as the Application's
/// sources are concerned.
pub(crate) struct Synced<'a> {
    pub stage: String,
    pub repo_url: &'a str,
    pub branch: &'a str,
    /// A kustomization directory (`kustomize`) or a YAML file, from the
    /// repository root.
    pub path: &'a str,
    pub kustomize: bool,
    /// A full checkout of `repo_url` at `branch` (a workspace), if any.
    pub checkout: Option<&'a Path>,
    /// The repository's default branch (`HEAD`), when the checkout knows it.
    pub default_branch: Option<&'a str>,
}

enum Verdict {
    Deploys,
    Maybe(String, String),
    Never(String, String),
}

/// Problems of an Argo CD Application (`doc`, read from `file`) that the
/// update Stages `synced` sync: no source that the update applies to, or
/// none whose `targetRevision` and `path` deploy what the update wrote.
pub(crate) fn sources(
    file: &Path,
    text: &str,
    doc: &Value,
    synced: &[Synced<'_>],
) -> Vec<Diagnostic> {
    let name = doc["metadata"]["name"].as_str().unwrap_or_default();
    let spec = &doc["spec"];
    let all: Vec<&Value> = match spec["sources"].as_sequence() {
        Some(s) if !s.is_empty() => s.iter().collect(),
        _ => spec.get("source").into_iter().collect(),
    };
    let line =
        |key: &str| super::promotion::line_of(text, key).map(|line| Location { line, column: 1 });
    let diag = |d: Diagnostic, key: &str| d.in_file(file).at(line(key).or_else(|| line("spec:")));
    let mut out = Vec::new();
    for u in synced {
        let want = normalize_git(u.repo_url);
        let matching: Vec<&Value> = all
            .iter()
            .copied()
            .filter(|s| s["chart"].as_str().unwrap_or_default().is_empty())
            .filter(|s| normalize_git(s["repoURL"].as_str().unwrap_or_default()) == want)
            .collect();
        if matching.is_empty() {
            let have: Vec<String> = all
                .iter()
                .map(|s| match s["chart"].as_str().filter(|c| !c.is_empty()) {
                    Some(c) => format!("chart `{c}` of {}", s["repoURL"].as_str().unwrap_or("?")),
                    None => format!("`{}`", s["repoURL"].as_str().unwrap_or_default()),
                })
                .collect();
            let theirs = if have.is_empty() {
                "it has no `spec.source` or `spec.sources`".to_string()
            } else {
                format!("its sources: {}", have.join(", "))
            };
            out.push(diag(
                Diagnostic::error(format!(
                    "{}: Argo CD Application `{name}` has no source in {} ({theirs}); argocd-update fails with \"no source … matched update\" until its timeout",
                    u.stage,
                    u.repo_url,
                )),
                "repoURL:",
            )
            .help(format!(
                "set the source's `repoURL` to `{}` (Kargo compares them after normalising: lowercase, no `.git`, no trailing `/`, no user)",
                u.repo_url
            )));
            continue;
        }
        let verdicts: Vec<Verdict> = matching
            .iter()
            .map(|s| source_verdict(name, s, u))
            .collect();
        if verdicts.iter().any(|v| matches!(v, Verdict::Deploys)) {
            continue;
        }
        let maybe: Vec<&Verdict> = verdicts
            .iter()
            .filter(|v| matches!(v, Verdict::Maybe(..)))
            .collect();
        let chosen = maybe.first().copied().or(verdicts.first());
        match chosen {
            Some(Verdict::Maybe(msg, help)) => {
                let key = if msg.contains("targetRevision") {
                    "targetRevision:"
                } else {
                    "path:"
                };
                out.push(
                    diag(Diagnostic::warning(format!("{}: {msg}", u.stage)), key)
                        .help(help.clone()),
                );
            }
            Some(Verdict::Never(msg, help)) => {
                let key = if msg.contains("targetRevision") {
                    "targetRevision:"
                } else {
                    "path:"
                };
                out.push(
                    diag(Diagnostic::error(format!("{}: {msg}", u.stage)), key).help(help.clone()),
                );
            }
            _ => {}
        }
    }
    out
}

/// Whether one source (already matching the update's repository) deploys
/// what the update writes.
fn source_verdict(app: &str, s: &Value, u: &Synced<'_>) -> Verdict {
    let rev = s["targetRevision"].as_str().unwrap_or_default().trim();
    let rev = rev.strip_prefix("refs/heads/").unwrap_or(rev);
    if rev.is_empty() || rev == "HEAD" {
        match u.default_branch {
            Some(d) if d == u.branch => {}
            Some(d) => {
                return Verdict::Never(
                    format!("Argo CD Application `{app}` syncs `HEAD`, the default branch `{d}`, but the update pushes to `{}`: the sync deploys nothing of the update", u.branch),
                    format!("set the source's `targetRevision` to `{}`", u.branch),
                )
            }
            None => {
                return Verdict::Maybe(
                    format!("Argo CD Application `{app}` syncs `HEAD` (targetRevision), the repository's default branch; the update pushes to `{}`, which must be that branch", u.branch),
                    format!("set the source's `targetRevision` to `{}` to be sure", u.branch),
                )
            }
        }
    } else if rev != u.branch {
        let what = if rev.len() == 40 && rev.chars().all(|c| c.is_ascii_hexdigit()) {
            format!("the fixed commit `{rev}`")
        } else {
            format!("`{rev}`")
        };
        return Verdict::Never(
            format!("Argo CD Application `{app}` syncs {what} (targetRevision), but the update pushes to `{}`: the sync deploys nothing of the update", u.branch),
            format!("set the source's `targetRevision` to `{}` (imgf's argocd-update sets no desiredRevision: the Application syncs its own targetRevision)", u.branch),
        );
    }
    path_verdict(app, s, u)
}

/// `a/./b/../c` → `a/c`, relative to the repository root; `None` when it leaves it.
fn clean(path: &str) -> Option<String> {
    let mut parts: Vec<&str> = Vec::new();
    for p in path.split('/') {
        match p {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            p => parts.push(p),
        }
    }
    Some(parts.join("/"))
}

fn join(dir: &str, rel: &str) -> Option<String> {
    if dir.is_empty() {
        clean(rel)
    } else {
        clean(&format!("{dir}/{rel}"))
    }
}

fn under(path: &str, dir: &str) -> bool {
    dir.is_empty() || path == dir || path.starts_with(&format!("{dir}/"))
}

fn parent(path: &str) -> &str {
    path.rsplit_once('/').map_or("", |(d, _)| d)
}

/// Whether the source's `path`, rendered as Argo CD renders it, holds the
/// updated directory or file.
fn path_verdict(app: &str, s: &Value, u: &Synced<'_>) -> Verdict {
    let Some(p) = clean(s["path"].as_str().unwrap_or_default()) else {
        return Verdict::Never(
            format!("Argo CD Application `{app}`: its source path leaves the repository"),
            "fix the source's `path`".into(),
        );
    };
    let target = u.path;
    let shown = if p.is_empty() {
        "the repository root".to_string()
    } else {
        format!("`{p}`")
    };
    let Some(root) = u.checkout else {
        // Without a full checkout only the obvious can be said.
        if under(target, &p) {
            return Verdict::Deploys;
        }
        return Verdict::Maybe(
            format!("Argo CD Application `{app}` deploys {shown}, which does not hold `{target}`; it is deployed only if {shown} includes it"),
            "pass a checkout of the repository with --workspace to check it".into(),
        );
    };
    if !s["plugin"].is_null() {
        return Verdict::Deploys; // a config management plugin renders what it likes
    }
    let dir = root.join(&p);
    if !dir.is_dir() {
        return Verdict::Never(
            format!(
                "Argo CD Application `{app}` deploys {shown}, which does not exist in {}@{}",
                u.repo_url, u.branch
            ),
            "fix the source's `path`, relative to the repository root".into(),
        );
    }
    let kustomization = KUSTOMIZATION_FILES.iter().any(|f| dir.join(f).is_file());
    if kustomization || !s["kustomize"].is_null() && s["helm"].is_null() {
        return kustomize_verdict(app, root, &p, &shown, u);
    }
    if dir.join("Chart.yaml").is_file() || !s["helm"].is_null() {
        return helm_verdict(app, root, &p, &shown, s, u);
    }
    // A directory of plain manifests: its own files, and its
    // subdirectories' only with `directory.recurse`.
    let recurse = s["directory"]["recurse"].as_bool() == Some(true);
    let rendered = if u.kustomize {
        false
    } else if recurse {
        under(target, &p) && target != p
    } else {
        parent(target) == p
    };
    if rendered {
        return Verdict::Deploys;
    }
    let why = if u.kustomize {
        format!("a directory of plain manifests (no kustomization), so the kustomization in `{target}` is never built")
    } else if under(target, &p) {
        format!("a directory of plain manifests; `{target}` is in a subdirectory and `directory.recurse` is not set")
    } else {
        format!("a directory of plain manifests that does not hold `{target}`")
    };
    Verdict::Never(
        format!("Argo CD Application `{app}` deploys {shown}, {why}: the sync deploys nothing of the update"),
        format!("point the source's `path` at `{}`", if u.kustomize { target } else { parent(target) }),
    )
}

/// Strings that look like remote kustomize resources.
fn remote(s: &str) -> bool {
    s.contains("://")
        || s.starts_with("github.com/")
        || s.starts_with("git@")
        || s.contains("?ref=")
}

/// Kustomize builds `p`: every directory and file its kustomizations name,
/// transitively. Anything named by a kustomization counts (resources,
/// components, patches, generators…); a remote resource or a kustomization
/// that does not parse leaves the answer open.
fn kustomize_verdict(app: &str, root: &Path, p: &str, shown: &str, u: &Synced<'_>) -> Verdict {
    let mut dirs = vec![p.to_string()];
    let mut named: Vec<String> = Vec::new();
    let mut open = false;
    let mut i = 0;
    while i < dirs.len() && i < 500 {
        let d = dirs[i].clone();
        i += 1;
        let Some(file) = KUSTOMIZATION_FILES
            .iter()
            .map(|f| root.join(&d).join(f))
            .find(|f| f.is_file())
        else {
            continue;
        };
        let Ok(text) = std::fs::read_to_string(&file) else {
            open = true;
            continue;
        };
        let Ok(doc) = crate::config::parse::parse_value(&file, &text) else {
            open = true;
            continue;
        };
        let mut strings = Vec::new();
        collect_strings(&doc, &mut strings);
        for s in strings {
            if remote(&s) {
                open = true;
                continue;
            }
            let Some(path) = join(&d, &s) else { continue };
            if root.join(&path).is_dir() && !dirs.contains(&path) {
                dirs.push(path.clone());
            }
            named.push(path);
        }
    }
    let deployed = if u.kustomize {
        dirs.iter().any(|d| d == u.path)
    } else {
        named.iter().any(|n| n == u.path)
    };
    if deployed {
        return Verdict::Deploys;
    }
    let what = if u.kustomize { "kustomization" } else { "file" };
    let msg = format!(
        "Argo CD Application `{app}` deploys {shown}, whose kustomization does not include the {what} `{}`",
        u.path
    );
    let help = format!(
        "point the source's `path` at `{}`, or include it from {shown}",
        if u.kustomize { u.path } else { parent(u.path) }
    );
    if open {
        Verdict::Maybe(format!("{msg} (as far as can be read here: it names remote resources or a file that does not parse)"), help)
    } else {
        Verdict::Never(
            format!("{msg}: the sync deploys nothing of the update"),
            help,
        )
    }
}

fn collect_strings(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) => out.push(s.clone()),
        Value::Sequence(s) => s.iter().for_each(|x| collect_strings(x, out)),
        Value::Mapping(m) => m.iter().for_each(|(_, x)| collect_strings(x, out)),
        Value::Tagged(t) => collect_strings(&t.value, out),
        _ => {}
    }
}

/// Helm renders the chart in `p` with its `values.yaml` and the source's
/// `helm.valueFiles` (relative to `p`, or `$ref/…` in another source).
fn helm_verdict(
    app: &str,
    root: &Path,
    p: &str,
    shown: &str,
    s: &Value,
    u: &Synced<'_>,
) -> Verdict {
    let target = u.path;
    let value_files: Vec<String> = s["helm"]["valueFiles"]
        .as_sequence()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .filter_map(|f| match f.strip_prefix('$') {
            // `$ref/path`: a path in the repository of the source named
            // `ref`, assumed to be this one (its repoURL is not checked here).
            Some(r) => r.split_once('/').and_then(|(_, rest)| clean(rest)),
            None => join(p, f),
        })
        .collect();
    if value_files.iter().any(|f| f == target) {
        return Verdict::Deploys;
    }
    if u.kustomize {
        return Verdict::Never(
            format!("Argo CD Application `{app}` deploys the Helm chart {shown}, which never builds the kustomization `{target}`: the sync deploys nothing of the update"),
            format!("point the source's `path` at `{target}`"),
        );
    }
    if under(target, p) {
        // Helm reads the chart's own values.yaml, its templates and
        // subcharts; another YAML file beside Chart.yaml only when listed
        // (or when a template reads it with `.Files`).
        let values_file = parent(target) == p
            && !matches!(
                Path::new(target).file_name().and_then(|f| f.to_str()),
                Some("values.yaml" | "Chart.yaml")
            );
        if values_file {
            return Verdict::Maybe(
                format!("Argo CD Application `{app}` renders the Helm chart {shown} with {}, not `{target}`: Helm reads a values file only when it is listed", if value_files.is_empty() { "its values.yaml".to_string() } else { value_files.iter().map(|f| format!("`{f}`")).collect::<Vec<_>>().join(", ") }),
                format!("add `{}` to the source's `helm.valueFiles`", Path::new(target).file_name().and_then(|f| f.to_str()).unwrap_or(target)),
            );
        }
        return Verdict::Deploys;
    }
    // A local dependency (`repository: file://../x` in Chart.yaml) is rendered too.
    let chart = root.join(p).join("Chart.yaml");
    let local_dep = std::fs::read_to_string(&chart).is_ok_and(|t| t.contains("file://"));
    let msg = format!("Argo CD Application `{app}` renders the Helm chart {shown}, which neither holds `{target}` nor lists it in `helm.valueFiles`");
    let help = format!("list `{target}` in the source's `helm.valueFiles` (relative to the chart), or point `path` at its chart");
    if local_dep {
        Verdict::Maybe(
            format!("{msg} (unless a local dependency of the chart holds it)"),
            help,
        )
    } else {
        Verdict::Never(
            format!("{msg}: the sync deploys nothing of the update"),
            help,
        )
    }
}

/// Problems of the Application's `kargo.akuity.io/authorized-stage`: it
/// must parse as Kargo parses it and list every Stage in `stages`
/// (`<project>:<stage>`).
pub(crate) fn authorization(
    file: &Path,
    text: &str,
    doc: &Value,
    stages: &[String],
) -> Vec<Diagnostic> {
    let name = doc["metadata"]["name"].as_str().unwrap_or_default();
    let annotation = &doc["metadata"]["annotations"][AUTHORIZED_STAGE];
    let line = text
        .lines()
        .position(|l| l.trim_start().starts_with(&format!("{AUTHORIZED_STAGE}:")))
        .or_else(|| {
            text.lines()
                .position(|l| l.trim_start().starts_with("metadata:"))
        })
        .map(|i| Location {
            line: i + 1,
            column: 1,
        });
    let err = |msg: String, help: String| Diagnostic::error(msg).in_file(file).at(line).help(help);
    let want = stages.join(",");
    if annotation.is_null() {
        return vec![err(
            format!("Argo CD Application `{name}` has no `{AUTHORIZED_STAGE}` annotation; Kargo will refuse to sync it"),
            format!("add the annotation `{AUTHORIZED_STAGE}: \"{want}\"`"),
        )];
    }
    let Some(value) = annotation.as_str() else {
        return vec![err(
            format!("Argo CD Application `{name}`: `{AUTHORIZED_STAGE}` is not a string (annotation values are strings)"),
            format!("quote it: `{AUTHORIZED_STAGE}: \"{want}\"`"),
        )];
    };
    let listed = match authorized_stages(value) {
        Ok(l) => l,
        Err(why) => {
            let what = if why.contains("glob") {
                "holds a glob, which Kargo 1.11 rejects"
            } else {
                "is malformed"
            };
            return vec![err(
                format!("Argo CD Application `{name}`: `{AUTHORIZED_STAGE}` {what} ({why}); Kargo then rejects the whole annotation, so no Stage may sync it"),
                format!("set it to `{want}` (a comma-separated list of <project>:<stage>, Kargo >= 1.11)"),
            )];
        }
    };
    let missing: Vec<&String> = stages
        .iter()
        .filter(|s| {
            let (p, st) = s.split_once(':').unwrap_or(("", s));
            !listed.iter().any(|(lp, ls)| lp == p && ls == st)
        })
        .collect();
    if missing.is_empty() {
        return Vec::new();
    }
    vec![err(
        format!(
            "Argo CD Application `{name}`: `{AUTHORIZED_STAGE}` does not list {}",
            missing
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
        format!("set it to `{want}` (a comma-separated list, Kargo >= 1.11)"),
    )]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Kargo v1.11.2 `pkg/api/authorized_stage_test.go`, case for case.
    #[test]
    fn authorized_stages_as_kargo_reads_them() {
        let ok = |v: &str| authorized_stages(v).unwrap();
        let pairs = |l: &[(&str, &str)]| {
            l.iter()
                .map(|(p, s)| (p.to_string(), s.to_string()))
                .collect::<Vec<_>>()
        };
        // single entry
        assert_eq!(ok("proj:stage"), pairs(&[("proj", "stage")]));
        // multiple entries
        assert_eq!(
            ok("proj:stage-a,proj:stage-b,other:stage-c"),
            pairs(&[
                ("proj", "stage-a"),
                ("proj", "stage-b"),
                ("other", "stage-c")
            ])
        );
        // whitespace is trimmed and empty entries are ignored
        assert_eq!(
            ok(" proj : stage-a , , other:stage-b ,"),
            pairs(&[("proj", "stage-a"), ("other", "stage-b")])
        );
        for (value, error) in [
            ("bogus", "expected format"),               // missing separator
            ("proj:", "expected format"),               // empty stage
            (":stage", "expected format"),              // empty project
            ("", "no authorized Stages"),               // empty value
            (",, ,", "no authorized Stages"),           // only commas
            ("*:stage", "deprecated glob expressions"), // wildcard project
            ("proj:*", "deprecated glob expressions"),  // wildcard stage
            ("proj:stage,proj:*", "deprecated glob expressions"), // one wildcard of a list
        ] {
            let e = authorized_stages(value).unwrap_err();
            assert!(e.contains(error), "{value:?}: {e}");
        }
        // Beyond Kargo's table: a malformed entry anywhere rejects all, and
        // only the first `:` separates (the rest is the Stage's name).
        assert!(authorized_stages("proj:a,bogus,proj:b").is_err());
        assert_eq!(ok("p:s:t"), pairs(&[("p", "s:t")]));
        assert_eq!(ok("\tproj\t:\u{a0}stage\n"), pairs(&[("proj", "stage")]));
    }

    /// Kargo v1.11.2 `pkg/urls/git_test.go` `TestNormalizeGit`, case for case.
    #[test]
    fn normalize_git_as_kargo_does() {
        let cases = [
            ("https://not a url", "https://not a url"),
            (
                "http://github.com/example/repo?foo=bar",
                "http://github.com/example/repo?foo=bar",
            ),
            ("ssh://not a url", "ssh://not a url"),
            (
                "ssh://github.com/example/repo?foo=bar",
                "ssh://github.com/example/repo?foo=bar",
            ),
            ("not even remotely a url", "not even remotely a url"),
            ("https://github.com", "https://github.com"),
            ("https://github.com/", "https://github.com"),
            ("https://foo:bar@github.com", "https://github.com"),
            ("https://foo:bar@github.com/", "https://github.com"),
            (
                "https://github.com/example/repo",
                "https://github.com/example/repo",
            ),
            (
                "https://github.com/example/repo/",
                "https://github.com/example/repo",
            ),
            (
                "https://github.com/example/repo.git",
                "https://github.com/example/repo",
            ),
            (
                "https://github.com/example/repo.git/",
                "https://github.com/example/repo",
            ),
            (
                "https://localhost:8443/example/repo",
                "https://localhost:8443/example/repo",
            ),
            (
                "https://localhost:8443/example/repo/",
                "https://localhost:8443/example/repo",
            ),
            (
                "https://localhost:8443/example/repo.git",
                "https://localhost:8443/example/repo",
            ),
            (
                "https://localhost:8443/example/repo.git/",
                "https://localhost:8443/example/repo",
            ),
            (
                "https://foo:bar@github.com/example/repo",
                "https://github.com/example/repo",
            ),
            (
                "https://foo:bar@github.com/example/repo/",
                "https://github.com/example/repo",
            ),
            (
                "https://foo:bar@github.com/example/repo.git",
                "https://github.com/example/repo",
            ),
            (
                "https://foo:bar@github.com/example/repo.git/",
                "https://github.com/example/repo",
            ),
            (
                "https://foo:bar@localhost:8443/example/repo",
                "https://localhost:8443/example/repo",
            ),
            (
                "https://foo:bar@localhost:8443/example/repo/",
                "https://localhost:8443/example/repo",
            ),
            (
                "https://foo:bar@localhost:8443/example/repo.git",
                "https://localhost:8443/example/repo",
            ),
            (
                "https://foo:bar@localhost:8443/example/repo.git/",
                "https://localhost:8443/example/repo",
            ),
            ("ssh://git.example.com", "ssh://git.example.com"),
            ("ssh://git.example.com/", "ssh://git.example.com"),
            ("ssh://git@git.example.com", "ssh://git@git.example.com"),
            ("ssh://git@git.example.com/", "ssh://git@git.example.com"),
            (
                "ssh://github.com/example/repo",
                "ssh://github.com/example/repo",
            ),
            (
                "ssh://github.com/example/repo/",
                "ssh://github.com/example/repo",
            ),
            (
                "ssh://github.com/example/repo.git",
                "ssh://github.com/example/repo",
            ),
            (
                "ssh://github.com/example/repo.git/",
                "ssh://github.com/example/repo",
            ),
            (
                "ssh://localhost:2222/example/repo",
                "ssh://localhost:2222/example/repo",
            ),
            (
                "ssh://localhost:2222/example/repo/",
                "ssh://localhost:2222/example/repo",
            ),
            (
                "ssh://localhost:2222/example/repo.git",
                "ssh://localhost:2222/example/repo",
            ),
            (
                "ssh://localhost:2222/example/repo.git/",
                "ssh://localhost:2222/example/repo",
            ),
            (
                "ssh://git@github.com/example/repo",
                "ssh://git@github.com/example/repo",
            ),
            (
                "ssh://git@github.com/example/repo/",
                "ssh://git@github.com/example/repo",
            ),
            (
                "ssh://git@github.com/example/repo.git",
                "ssh://git@github.com/example/repo",
            ),
            (
                "ssh://git@github.com/example/repo.git/",
                "ssh://git@github.com/example/repo",
            ),
            (
                "ssh://git@localhost:2222/example/repo",
                "ssh://git@localhost:2222/example/repo",
            ),
            (
                "ssh://git@localhost:2222/example/repo/",
                "ssh://git@localhost:2222/example/repo",
            ),
            (
                "ssh://git@localhost:2222/example/repo.git",
                "ssh://git@localhost:2222/example/repo",
            ),
            (
                "ssh://git@localhost:2222/example/repo.git/",
                "ssh://git@localhost:2222/example/repo",
            ),
            ("git.example.com", "ssh://git.example.com"),
            ("git@git.example.com", "ssh://git@git.example.com"),
            ("github.com:example/repo", "ssh://github.com/example/repo"),
            ("github.com:example/repo/", "ssh://github.com/example/repo"),
            (
                "github.com:example/repo.git",
                "ssh://github.com/example/repo",
            ),
            (
                "github.com:example/repo.git/",
                "ssh://github.com/example/repo",
            ),
            (
                "git@github.com:example/repo",
                "ssh://git@github.com/example/repo",
            ),
            (
                "git@github.com:example/repo/",
                "ssh://git@github.com/example/repo",
            ),
            (
                "git@github.com:example/repo.git",
                "ssh://git@github.com/example/repo",
            ),
            (
                "git@github.com:example/repo.git/",
                "ssh://git@github.com/example/repo",
            ),
        ];
        for (input, want) in cases {
            assert_eq!(normalize_git(input), want, "{input}");
        }
        // Lowercased, and a byte order mark or surrounding space dropped.
        assert_eq!(
            normalize_git("\u{feff} HTTPS://GitHub.com/Org/Deploy.git "),
            "https://github.com/org/deploy"
        );
    }

    #[test]
    fn repository_identity_ignores_scheme_user_and_port() {
        for url in [
            "https://github.com/example-org/deploy.git",
            "git@github.com:example-org/deploy.git",
            "ssh://git@github.com:22/example-org/deploy",
            "https://x:y@GitHub.com/example-org/deploy/",
        ] {
            assert_eq!(
                repository_identity(url),
                "github.com/example-org/deploy",
                "{url}"
            );
        }
    }
}
