//! What the Kargo target refuses, or warns about, before it builds anything
//! (its row's `refusals` and `warnings`): values only Kargo's webhooks reject
//! (branches and repositories its subscription schemas refuse), and update
//! Stages that would succeed without deploying anything, verify the
//! old pods, break the file they write, or race each other. Pure: the
//! model, and images.yaml's text for the positions.
//!
//! Each rule rests on Kargo v1.11.2 or Argo Rollouts v1.9.1 (`round3.md` §A):
//! - a tag that never changes: a Warehouse that follows one tag by digest
//!   makes every Freight carry the same tag; `git-commit` is Skipped on no
//!   diff (`git_commiter.go:113-117`) and the promotion Succeeds;
//! - `verify` without a wait for the rollout: a Stage with no health checks
//!   is Healthy at once (`pkg/health/aggregating_checker.go:62-93`), so the
//!   AnalysisRun starts right after the push, and Rollouts runs a template's
//!   metrics side by side;
//! - tags `yaml-update` writes unquoted (`pkg/yaml/quote.go`
//!   `QuoteIfNecessary` quotes only what Go's `ParseFloat`/`ParseBool`/JSON
//!   accept) that a YAML reader types otherwise;
//! - two Stages writing one file race: the second push rebases, and the same
//!   key (or a conflicting line) fails it terminally (`git_pusher.go:238-241`).

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use super::update::Deployed;
use crate::config::enrollment::{BuildField, UpdateValue};
use crate::config::parse::Locator;
use crate::diagnostic::{Diagnostic, Location};
use crate::load::Inputs;
use crate::model::{Check, Model, Update};

/// What only the Kargo target refuses (its Warehouse webhook would reject it
/// at `kubectl apply`): branches and image repositories that every other
/// target takes but Kargo's subscription schemas do not. With the merged
/// `model`, also the discovered base images it watches (an unused base gets
/// no Warehouse, so it is no problem). Empty when all is well.
pub fn refusals(inputs: &Inputs, model: Option<&Model>) -> Vec<Diagnostic> {
    let mut diags = crate::config::enrollment::validate_for_kargo(
        &inputs.enrollments,
        &inputs.images_file,
        &inputs.images_text,
    );
    diags.extend(crate::config::enrollment::validate_shards(
        &inputs.enrollments,
        &inputs.settings.kargo.shards,
        &inputs.images_file,
        &inputs.images_text,
    ));
    if let Some(model) = model {
        let watched: std::collections::HashSet<(&str, &str)> = model
            .upstream
            .iter()
            .filter(|u| u.kind == crate::model::UpstreamKind::Base)
            .map(|u| (u.name.as_str(), u.repo_url.as_str()))
            .collect();
        diags.extend(
            inputs
                .base_states
                .iter()
                .filter_map(|f| crate::merge::base_image_for_kargo(f, &watched)),
        );
    }
    inputs.attach_sources(&mut diags);
    diags
}

/// Every problem of the Kargo output of `model`; `images` is images.yaml
/// (its path and text, for positions).
pub fn problems(model: &Model, images_file: &Path, images_text: &str) -> Vec<Diagnostic> {
    // Lines are looked up only for a problem found: most runs find none.
    let loc = std::cell::OnceCell::new();
    let at = |up: &Update, key: &str| {
        loc.get_or_init(|| Locator::new(images_text))
            .list_key(up.entry, "updates", up.index, key)
    };
    let mut out = Vec::new();
    // Each tag filter is compiled and probed once, however many updates share it.
    let mut probed: HashMap<&str, Option<(&'static str, &'static str)>> = HashMap::new();
    let deployed = super::deployed(model);
    for d in &deployed {
        for up in d.updates {
            let here = |diag: Diagnostic, key: &str| diag.in_file(images_file).at(at(up, key));
            if let Some(d) = fixed_tag(d, up) {
                out.push(here(d.0, d.1));
            }
            out.extend(
                unverified(d, up)
                    .into_iter()
                    .map(|(diag, key)| here(diag, key)),
            );
            if let Some(w) = retyped(d, up, &mut probed) {
                out.push(here(w, "key"));
            }
        }
    }
    out.extend(races(&deployed, images_file, &at));
    out
}

/// Where the rule for `value` applies: the `value:` line when written, else `key:`.
fn value_key(up: &Update) -> &'static str {
    if up.value_given {
        "value"
    } else if up.yaml_key.is_some() {
        "key"
    } else {
        "path"
    }
}

/// An update that would write the same tag for every build.
fn fixed_tag(d: &Deployed<'_>, up: &Update) -> Option<(Diagnostic, &'static str)> {
    let tag = d.fixed_tag?;
    let value = d.value(up);
    if !matches!(value, UpdateValue::Tag | UpdateValue::Reference) {
        return None;
    }
    let why = if d.managed {
        format!(
            "`{}` has neither `versions` nor `tagPattern` and no version was built yet, so its Warehouse follows `{tag}` by digest",
            d.name
        )
    } else {
        format!("the Warehouse of `{}` follows the one tag `{tag}`", d.name)
    };
    let written = if up.value_given {
        format!("`value: {}`", value.as_str())
    } else {
        "a yaml-update without `value` (the tag)".to_string()
    };
    let help = if d.managed {
        "write `value: digest` (the key holds a digest) or `value: pinned` (the key holds the whole reference); or give the image `versions:` (its builds are tagged with versions) or `tagPattern:` (build ids)"
    } else {
        "write `value: digest` (the key holds a digest) or `value: pinned` (the key holds the whole reference)"
    };
    Some((
        Diagnostic::error(format!(
            "image `{}`: update `{}`: {written} writes `{tag}` on every build — nothing new would be deployed: {why}",
            d.name, up.name
        ))
        .help(help),
        value_key(up),
    ))
}

/// Checks that would run against the old pods: without `argocd`, nothing
/// waits for the rollout, so only a version check (`expectBuild`) tells.
fn unverified(d: &Deployed<'_>, up: &Update) -> Vec<(Diagnostic, &'static str)> {
    let mut out = Vec::new();
    for (i, check) in up.verify.iter().enumerate() {
        if let Check::Http {
            expect_build: Some(BuildField::Tag),
            ..
        } = check
        {
            if let Some(tag) = d.fixed_tag {
                out.push((
                    Diagnostic::error(format!(
                        "image `{}`: update `{}`: verify[{i}]: `expectBuild: tag` compares with `{tag}`, the tag of every build",
                        d.name, up.name
                    ))
                    .help("use `expectBuild: digest` with an endpoint that reports the image digest"),
                    "verify",
                ));
            }
        }
        if up.argocd.is_some() {
            continue;
        }
        let what = match check {
            Check::Http {
                expect_build: Some(_),
                ..
            } => continue,
            Check::Http { .. } => "an http check",
            Check::Job { .. } => "a job check",
        };
        out.push((
            Diagnostic::error(format!(
                "image `{}`: update `{}`: verify[{i}] is {what}, but nothing waits for the new build to roll out: Kargo starts verification right after the push, so it would check the old pods",
                d.name, up.name
            ))
            .help("add `argocd: {app: <Application>}` (Kargo then waits for the sync and the Application's health), or verify with `http` + `jsonPath` + `expectBuild: tag` on an endpoint that reports the running version (retried until the new build answers)"),
            "verify",
        ));
    }
    out
}

/// A yaml-update of the tag whose tags `yaml-update` would write unquoted
/// and a YAML reader would type as something else.
fn retyped<'d>(
    d: &Deployed<'d>,
    up: &Update,
    probed: &mut HashMap<&'d str, Option<(&'static str, &'static str)>>,
) -> Option<Diagnostic> {
    up.yaml_key.as_ref()?;
    if d.value(up) != UpdateValue::Tag || d.fixed_tag.is_some() {
        return None;
    }
    let pattern = d.tag_filter?;
    let (tag, what) = *probed
        .entry(pattern)
        .or_insert_with(|| {
            let re = regex::Regex::new(pattern).ok()?;
            RETYPED_PROBES
                .iter()
                .find(|t| re.is_match(t))
                .and_then(|t| yaml_retypes(t).map(|w| (*t, w)))
        })
        .as_ref()?;
    Some(
        Diagnostic::warning(format!(
            "image `{}`: update `{}`: its tags may include ones like `{tag}` (`{pattern}` matches it), which yaml-update writes unquoted and YAML reads as {what}",
            d.name, up.name
        ))
        .help("narrow the tag pattern so it cannot match such tags, or write `value: reference` (`repo:tag` is always a string)"),
    )
}

/// Docker-valid tags, one of each kind that [`yaml_retypes`] finds.
pub const RETYPED_PROBES: [&str; 14] = [
    "NULL", "Null", "yes", "no", "on", "off", "Y", "N", "YES", "ON", "0x1F", "0o17", "0b101",
    "1_000",
];

/// What YAML reads `tag` as when `yaml-update` writes it unquoted: `None`
/// when Kargo quotes it (Go's `ParseFloat`, `ParseBool` or JSON accept it:
/// `1.2`, `true`, `null`) or YAML reads it as a string.
pub fn yaml_retypes(tag: &str) -> Option<&'static str> {
    let b = tag.as_bytes();
    let all = |s: &[u8], f: fn(&u8) -> bool| !s.is_empty() && s.iter().all(f);
    match tag {
        "Null" | "NULL" => return Some("null"),
        "y" | "Y" | "yes" | "Yes" | "YES" | "n" | "N" | "no" | "No" | "NO" | "on" | "On" | "ON"
        | "off" | "Off" | "OFF" => return Some("a boolean in YAML 1.1 readers (Helm, kubectl)"),
        _ => {}
    }
    if let Some(rest) = tag.strip_prefix("0x") {
        // Go's ParseFloat takes hex only with a `p` exponent.
        if all(rest.as_bytes(), |c| c.is_ascii_hexdigit() || *c == b'_') {
            return Some("a hexadecimal integer");
        }
    }
    if let Some(rest) = tag.strip_prefix("0o") {
        if all(rest.as_bytes(), |c| (b'0'..=b'7').contains(c)) {
            return Some("an octal integer");
        }
    }
    if let Some(rest) = tag.strip_prefix("0b") {
        if all(rest.as_bytes(), |c| matches!(c, b'0' | b'1' | b'_')) {
            return Some("a binary integer in YAML 1.1 readers");
        }
    }
    // YAML 1.1 numbers allow `_`; Go's ParseFloat only after a base prefix.
    if b.first().is_some_and(u8::is_ascii_digit)
        && tag.contains('_')
        && tag.matches('.').count() <= 1
        && all(b, |c| c.is_ascii_digit() || matches!(c, b'_' | b'.'))
    {
        return Some("a number in YAML 1.1 readers");
    }
    None
}

/// Updates that write the same place (an error) or the same file (a
/// warning) on one branch: their Stages promote independently, and the
/// later push rebases over the other.
fn races(
    deployed: &[Deployed<'_>],
    images_file: &Path,
    at: &dyn Fn(&Update, &str) -> Option<Location>,
) -> Vec<Diagnostic> {
    type File = (String, String, String);
    let mut files: BTreeMap<File, Vec<(&Deployed<'_>, &Update)>> = BTreeMap::new();
    for d in deployed {
        for up in d.updates {
            files
                .entry((
                    crate::values::normalize_git_url(&up.repo_url),
                    up.branch.clone(),
                    up.path.clone(),
                ))
                .or_default()
                .push((d, up));
        }
    }
    let name = |(d, up): &(&Deployed<'_>, &Update)| format!("update `{}` of `{}`", up.name, d.name);
    let pos = |up: &Update, key: &str| match at(up, key) {
        Some(l) => format!("{}:{}:{}", images_file.display(), l.line, l.column),
        None => images_file.display().to_string(),
    };
    let mut out = Vec::new();
    for ((repo, branch, path), ups) in &files {
        if ups.len() < 2 {
            continue;
        }
        // What each writes inside the file: the key, or the kustomization entry.
        let place = |(d, up): &(&Deployed<'_>, &Update)| match &up.yaml_key {
            Some(k) => format!("key `{k}`"),
            None => format!("the `images:` entry `{}`", d.repo_url),
        };
        let mut clashed = false;
        for (i, a) in ups.iter().enumerate() {
            if let Some(b) = ups[..i].iter().find(|b| place(b) == place(a)) {
                clashed = true;
                out.push(
                    Diagnostic::error(format!(
                        "{} and {} (at {}) both write {} of {path} on branch `{branch}` of {repo}: each promotion would undo the other's",
                        name(a),
                        name(b),
                        pos(b.1, "path"),
                        place(a)
                    ))
                    .in_file(images_file)
                    .at(at(a.1, "path"))
                    .help("deploy each image to its own key or file, or remove one of the updates"),
                );
            }
        }
        if !clashed {
            let names: Vec<String> = ups.iter().map(name).collect();
            let first = ups[0].1;
            out.push(
                Diagnostic::warning(format!(
                    "{} write {path} on branch `{branch}` of {repo}: promotions that run together rebase onto each other, and edits on neighbouring lines can conflict and fail the later push",
                    names.join(" and ")
                ))
                .in_file(images_file)
                .at(at(first, "path"))
                .help("harmless when they rarely promote at once; otherwise give each its own file (a kustomization per image, a values file per service), or use `pullRequest: true` so a person resolves conflicts"),
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_kargo_quotes_are_not_retyped() {
        for t in [
            "1.2",
            "20240101",
            "true",
            "True",
            "1",
            "null",
            "1e3",
            "v1.2.3",
            "latest",
            "16-alpine",
            "0x1p3",
        ] {
            assert_eq!(yaml_retypes(t), None, "{t}");
        }
    }

    #[test]
    fn tags_written_unquoted_that_yaml_retypes() {
        for t in RETYPED_PROBES {
            assert!(yaml_retypes(t).is_some(), "{t}");
        }
        assert_eq!(yaml_retypes("NULL"), Some("null"));
        assert_eq!(yaml_retypes("0x1F"), Some("a hexadecimal integer"));
        assert_eq!(
            yaml_retypes("1_000.5"),
            Some("a number in YAML 1.1 readers")
        );
        assert_eq!(yaml_retypes("1_2.3.4"), None);
        assert_eq!(yaml_retypes("0xZZ"), None);
    }
}
