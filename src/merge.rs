//! Step 2 of synth: enrollment ⊕ state → [`Model`]. Pure: no I/O.
//!
//! images.yaml is the source of truth for *what* is enrolled and how it is
//! built; a newly enrolled image appears at once, before any analysis. State
//! files supply only what was discovered or observed: base images, the
//! version last built, the workflow's declared inputs, the tag a base image is
//! watched at. Problems the old cdk8s tool left in state (double-escaped tag
//! filters, duplicate bases, `None` strings) are repaired with a warning.

use std::collections::{BTreeSet, HashMap};
use std::path::Path;

use regex::Regex;

use crate::config::enrollment::{Enrollment, Provider, CONTEXT_INPUTS, STRATEGIES};
use crate::config::load::Inputs;
use crate::config::parse::Locator;
use crate::config::state::{BaseImageState, ImageState};
use crate::config::store::StateFile;
use crate::diagnostic::{did_you_mean, Diagnostic, Error};
use crate::model::{BaseRef, Managed, Model, TagPolicy, Upstream, UpstreamKind};
use crate::values;

/// Merges everything read into the model; returns it with the warnings.
pub fn merge(inputs: &Inputs) -> Result<(Model, Vec<Diagnostic>), Error> {
    let mut diags = Vec::new();

    let states: HashMap<&str, &StateFile<ImageState>> = inputs
        .image_states
        .iter()
        .map(|s| (s.data.name.as_deref().unwrap_or(&s.stem), s))
        .collect();

    // Upstream images enrolled without a source come first, in images.yaml order.
    let mut model = Model::default();
    let mut managed_by_name: HashMap<&str, usize> = HashMap::new();
    let mut upstream_by_name: HashMap<String, usize> = HashMap::new();
    for (index, e) in inputs.enrollments.iter().enumerate() {
        if let Some(src) = &e.source {
            let provider = src.provider.unwrap_or(Provider::Github);
            let branch = src.branch.clone().unwrap_or_else(|| "main".into());
            let source_paths = source_paths(provider, &src.dockerfile, src.workflow.as_deref());
            managed_by_name.insert(&e.name, model.managed.len());
            model.managed.push(Managed {
                name: e.name.clone(),
                repo_url: format!("{}/{}", e.registry, e.repository),
                provider,
                source_repo: src.repo.clone(),
                branch,
                dockerfile: src.dockerfile.clone(),
                workflow: src.workflow.clone(),
                inputs: Vec::new(),
                version_bump: src.version_bump.clone().unwrap_or_else(|| "patch".into()),
                rebuild_delay_secs: e.rebuild_delay_secs(),
                auto_rebuild: e.auto_rebuild.unwrap_or(true),
                current_version: None,
                bases: Vec::new(),
                source_paths,
                updates: e.updates.clone(),
            });
        } else {
            let state = states.get(e.name.as_str()).copied();
            match external(
                e,
                state,
                &inputs.images_file,
                &Locator::new(&inputs.images_text),
                index,
            ) {
                Ok((u, mut w)) => {
                    diags.append(&mut w);
                    upstream_by_name.insert(u.name.clone(), model.upstream.len());
                    model.upstream.push(u);
                }
                Err(d) => diags.push(d),
            }
        }
    }

    // Base-image state files: a base whose repository is a managed image is
    // that image (a cascade); the rest are watched upstream.
    let managed_by_repo: HashMap<&str, usize> = model
        .managed
        .iter()
        .enumerate()
        .map(|(i, m)| (m.repo_url.as_str(), i))
        .collect();
    let mut base_alias: HashMap<&str, BaseRef> = HashMap::new();
    let mut bases: Vec<(&StateFile<BaseImageState>, Upstream)> = Vec::new();
    for file in &inputs.base_states {
        match base_image(file) {
            Ok((u, mut w)) => {
                if let Some(&m) = managed_by_repo.get(u.repo_url.as_str()) {
                    base_alias.insert(&file.stem, BaseRef::Managed(m));
                    continue;
                }
                if managed_by_name.contains_key(file.stem.as_str())
                    || upstream_by_name.contains_key(&file.stem)
                {
                    diags.push(
                        Diagnostic::error(format!(
                            "base image `{}` has the same name as an enrolled image but watches another repository (`{}`)",
                            file.stem, u.repo_url
                        ))
                        .in_file(&file.path)
                        .help("rename the enrolled image, or delete this state file and run `imgf analyze`"),
                    );
                    continue;
                }
                diags.append(&mut w);
                bases.push((file, u));
            }
            Err(d) => diags.push(d),
        }
    }

    // Resolve every managed image's bases.
    let mut used: BTreeSet<&str> = BTreeSet::new();
    let base_index: HashMap<&str, usize> = bases
        .iter()
        .enumerate()
        .map(|(i, (f, _))| (f.stem.as_str(), i))
        .collect();
    let mut resolved: Vec<Vec<Result<Ref, ()>>> = Vec::with_capacity(model.managed.len());
    let mut unknown_inputs: Vec<String> = Vec::new();
    for (mi, e) in inputs
        .enrollments
        .iter()
        .filter(|e| e.source.is_some())
        .enumerate()
    {
        let state = states.get(e.name.as_str()).copied();
        let mut refs = Vec::new();
        let mut seen = BTreeSet::new();
        if let Some(st) = state {
            model.managed[mi].current_version = st.data.current_version.clone();
            let names = st.data.base_images.clone();
            for (k, name) in names.iter().enumerate() {
                if !seen.insert(name.clone()) {
                    diags.push(
                        Diagnostic::warning(format!(
                            "image `{}` lists base `{name}` twice; using it once",
                            e.name
                        ))
                        .in_file(&st.path)
                        .at(base_line(&st.text, k)),
                    );
                    continue;
                }
                let r = if name == &e.name {
                    diags.push(
                        Diagnostic::error(format!(
                            "image `{}` lists itself as its own base",
                            e.name
                        ))
                        .in_file(&st.path)
                        .at(base_line(&st.text, k))
                        .help("remove it from baseImages and run `imgf analyze`"),
                    );
                    Err(())
                } else if let Some(&m) = managed_by_name.get(name.as_str()) {
                    Ok(Ref::Managed(m))
                } else if let Some(&b) = base_alias.get(name.as_str()) {
                    Ok(Ref::Alias(b))
                } else if let Some(&b) = base_index.get(name.as_str()) {
                    used.insert(bases[b].0.stem.as_str());
                    Ok(Ref::Base(b))
                } else if let Some(&u) = upstream_by_name.get(name) {
                    Ok(Ref::External(u))
                } else {
                    diags.push(
                        Diagnostic::error(format!(
                            "image `{}` is built on `{name}`, but there is no base-image state file for it",
                            e.name
                        ))
                        .in_file(&st.path)
                        .at(base_line(&st.text, k))
                        .help(format!(
                            "run `imgf analyze --image {}` to discover its base images, or add base-images/{name}.yaml",
                            e.name
                        )),
                    );
                    Err(())
                };
                refs.push(r);
            }
            inputs_for(
                &mut model.managed[mi],
                e,
                Some(st),
                &mut unknown_inputs,
                &mut diags,
            );
        } else {
            inputs_for(
                &mut model.managed[mi],
                e,
                None,
                &mut unknown_inputs,
                &mut diags,
            );
        }
        resolved.push(refs);
    }

    if !unknown_inputs.is_empty() {
        diags.push(unknown_inputs_warning(&unknown_inputs));
    }

    for (file, _) in &bases {
        if !used.contains(file.stem.as_str()) {
            diags.push(
                Diagnostic::warning(format!(
                    "base image `{}` is not used by any enrolled image; no Warehouse is generated for it",
                    file.stem
                ))
                .in_file(&file.path)
                .help("delete the state file, or let `imgf analyze` clean it up"),
            );
        }
    }

    // Discovered bases follow the external images, sorted by file name (the
    // order they were read in).
    let mut kept: HashMap<usize, usize> = HashMap::new();
    for (i, (file, u)) in bases.into_iter().enumerate() {
        if used.contains(file.stem.as_str()) {
            kept.insert(i, model.upstream.len());
            model.upstream.push(u);
        }
    }
    for (mi, refs) in resolved.into_iter().enumerate() {
        model.managed[mi].bases = refs
            .into_iter()
            .filter_map(Result::ok)
            .map(|r| match r {
                Ref::Managed(m) => BaseRef::Managed(m),
                Ref::Alias(b) => b,
                Ref::Base(b) => BaseRef::Upstream(kept[&b]),
                Ref::External(u) => BaseRef::Upstream(u),
            })
            .fold(Vec::new(), |mut acc, b| {
                if !acc.contains(&b) {
                    acc.push(b);
                }
                acc
            });
    }

    let enrolled: std::collections::HashSet<&str> =
        inputs.enrollments.iter().map(|e| e.name.as_str()).collect();
    for s in &inputs.image_states {
        let name = s.data.name.as_deref().unwrap_or(&s.stem);
        if !enrolled.contains(name) {
            diags.push(
                Diagnostic::warning(format!(
                    "state for `{name}` has no entry in images.yaml; it is ignored"
                ))
                .in_file(&s.path)
                .help("enroll the image again, or let `imgf analyze` archive the state file"),
            );
        }
    }

    let diags = crate::diagnostic::into_result(diags)?;
    Ok((model, diags))
}

/// A resolved base before upstream indices are final.
#[derive(Clone, Copy)]
enum Ref {
    Managed(usize),
    Alias(BaseRef),
    Base(usize),
    External(usize),
}

/// The files in the source repository whose changes can change what
/// analysis finds: the Dockerfile, and the GitHub workflow (its declared
/// inputs shape the dispatch). Nothing else: a commit of state files or of
/// generated output must never make Freight (Kargo matches these paths as
/// base directories, so a directory here would cover the state directory).
fn source_paths(provider: Provider, dockerfile: &str, workflow: Option<&str>) -> Vec<String> {
    let mut paths = vec![dockerfile.trim_start_matches("./").to_string()];
    if let (Provider::Github, Some(w)) = (provider, workflow) {
        if !w.bytes().all(|b| b.is_ascii_digit()) {
            paths.push(format!(".github/workflows/{w}"));
        }
    }
    paths.sort();
    paths.dedup();
    paths
}

/// The inputs every workflow accepts that imgf dispatches: the old tool sent
/// only this one, and GitHub answers 422 to an undeclared input.
pub const SAFE_INPUTS: [&str; 1] = ["version_bump"];

fn wanted_inputs(e: &Enrollment) -> Vec<&'static str> {
    let wanted = e.source.as_ref().and_then(|s| s.inputs.clone());
    CONTEXT_INPUTS
        .iter()
        .copied()
        .filter(|i| wanted.as_ref().is_none_or(|w| w.iter().any(|x| x == i)))
        .collect()
}

/// The dispatch inputs. GitLab accepts any variable: all of them. GitHub
/// answers 422 to an input the workflow does not declare, and Kargo never
/// retries a failed promotion, so: what the workflow declares when analysis
/// recorded that; what `source.inputs` lists when the user said so; else
/// only [`SAFE_INPUTS`], and the image goes on the `unknown` list for one
/// warning.
fn inputs_for(
    m: &mut Managed,
    e: &Enrollment,
    st: Option<&StateFile<ImageState>>,
    unknown: &mut Vec<String>,
    diags: &mut Vec<Diagnostic>,
) {
    let wanted = wanted_inputs(e);
    let declared = st.and_then(|st| st.data.workflow_inputs.as_ref().map(|d| (st, d)));
    let Some((st, declared)) = declared.filter(|_| m.provider == Provider::Github) else {
        let listed = e.source.as_ref().is_some_and(|s| s.inputs.is_some());
        m.inputs = if m.provider == Provider::Github && !listed {
            if wanted.iter().any(|i| !SAFE_INPUTS.contains(i)) {
                unknown.push(m.name.clone());
            }
            wanted
                .into_iter()
                .filter(|i| SAFE_INPUTS.contains(i))
                .collect()
        } else {
            wanted
        };
        return;
    };
    let (keep, drop): (Vec<_>, Vec<_>) = wanted
        .into_iter()
        .partition(|i| declared.iter().any(|d| d.name == *i));
    if !drop.is_empty() {
        diags.push(
            Diagnostic::warning(format!(
                "image `{}`: workflow `{}` does not declare input(s) {}; the rebuild dispatch leaves them out",
                m.name,
                m.workflow.as_deref().unwrap_or_default(),
                drop.join(", ")
            ))
            .in_file(&st.path)
            .help("declare them under on.workflow_dispatch.inputs to receive the base image and digest that triggered a rebuild"),
        );
    }
    for d in declared
        .iter()
        .filter(|d| d.required && !keep.contains(&d.name.as_str()))
    {
        diags.push(
            Diagnostic::warning(format!(
                "image `{}`: workflow input `{}` is required, but imgf does not send it; GitHub will reject the dispatch (422)",
                m.name, d.name
            ))
            .in_file(&st.path)
            .help("give the input a default in the workflow, or make it optional"),
        );
    }
    m.inputs = keep;
}

/// One warning for every GitHub image whose workflow inputs are unknown.
fn unknown_inputs_warning(images: &[String]) -> Diagnostic {
    let left_out: Vec<&str> = CONTEXT_INPUTS
        .iter()
        .copied()
        .filter(|i| !SAFE_INPUTS.contains(i))
        .collect();
    let shown: Vec<&str> = images.iter().take(5).map(String::as_str).collect();
    let more = images.len().saturating_sub(shown.len());
    Diagnostic::warning(format!(
        "{} image(s) dispatch only `{}`: their workflows' inputs are unknown, so {} are left out ({}{})",
        images.len(),
        SAFE_INPUTS.join(", "),
        left_out.join(", "),
        shown.join(", "),
        if more > 0 { format!(" and {more} more") } else { String::new() }
    ))
    .help("declare the inputs under on.workflow_dispatch.inputs and run `imgf analyze` (it records them), or list them in the image's `source.inputs`")
}

/// The line of `baseImages` entry `k` in a state file.
fn base_line(text: &str, k: usize) -> Option<crate::diagnostic::Location> {
    let mut in_list = false;
    let mut n = 0;
    for (i, line) in text.lines().enumerate() {
        if line.starts_with("baseImages:") {
            in_list = true;
            continue;
        }
        if in_list {
            let t = line.trim_start();
            if t.starts_with("- ") {
                if n == k {
                    return Some(crate::diagnostic::Location {
                        line: i + 1,
                        column: line.len() - t.len() + 3,
                    });
                }
                n += 1;
            } else if !t.is_empty() && !t.starts_with('#') {
                break;
            }
        }
    }
    None
}

/// Checks a `registry/repository` string from a state file.
fn check_repo_url(url: &str) -> Result<(), String> {
    match url.split_once('/') {
        Some((host, rest)) if host.contains(['.', ':']) || host == "localhost" => {
            values::registry(host)?;
            values::repository(rest)
        }
        _ => values::repository(url),
    }
}

/// An external image: enrolled without a source, watched at a tag.
fn external(
    e: &Enrollment,
    state: Option<&StateFile<ImageState>>,
    file: &Path,
    loc: &Locator<'_>,
    index: usize,
) -> Result<(Upstream, Vec<Diagnostic>), Diagnostic> {
    let st = state.map(|s| &s.data);
    let repo_url = format!("{}/{}", e.registry, e.repository);
    let tag = e.tag.clone().or_else(|| st.and_then(|s| s.tag.clone()));
    let allow = e
        .allow_tags
        .clone()
        .or_else(|| st.and_then(|s| s.allow_tags.clone()));
    let strategy_name = e
        .image_selection_strategy
        .clone()
        .or_else(|| st.and_then(|s| s.image_selection_strategy.clone()));
    let here = |d: Diagnostic| d.in_file(file).at(loc.key(index, "name"));
    let (tag, tag_regex, warnings) = tag_filter(&e.name, tag, allow).map_err(here)?;
    let policy = tag_policy(strategy_name.as_deref()).map_err(here)?;
    let warnings = warnings.into_iter().map(here).collect();
    Ok((
        Upstream {
            name: e.name.clone(),
            kind: UpstreamKind::External,
            repo_url,
            tag,
            tag_regex,
            policy,
        },
        warnings,
    ))
}

/// A discovered base image from its state file.
fn base_image(file: &StateFile<BaseImageState>) -> Result<(Upstream, Vec<Diagnostic>), Diagnostic> {
    let s = &file.data;
    let here = |d: Diagnostic| d.in_file(&file.path);
    let loc = Locator::new(&file.text);
    let at = |key: &str| loc.top_key(key);
    let repo_url = match (&s.repo_url, &s.registry, &s.repository) {
        (Some(u), _, _) => u.clone(),
        (None, Some(r), Some(p)) => format!("{r}/{p}"),
        _ => {
            return Err(here(
                Diagnostic::error(format!(
                    "base image `{}` has neither repoURL nor registry and repository",
                    file.stem
                ))
                .help("run `imgf analyze` to write the state file again"),
            ))
        }
    };
    if let Err(why) = check_repo_url(&repo_url) {
        let key = if s.repo_url.is_some() {
            "repoURL"
        } else {
            "repository"
        };
        return Err(here(Diagnostic::error(format!(
            "base image `{}`: invalid repoURL `{}`: {why}",
            file.stem,
            repo_url.escape_debug()
        )))
        .at(at(key))
        .help("run `imgf analyze` to write the state file again from the Dockerfile"));
    }
    let from_full = s.full_image.as_deref().and_then(tag_of_reference);
    let tag = s.tag.clone().or(from_full);
    if tag.is_none() && s.allow_tags.is_none() {
        let why = if s.digest.is_some() {
            "it is pinned by digest only, so there is no tag whose updates could be watched"
        } else {
            "it records no tag to watch"
        };
        return Err(here(
            Diagnostic::error(format!("base image `{}` cannot be watched: {why}", file.stem))
                .help("pin the FROM line to a tag as well (`image:tag@sha256:…`), then run `imgf analyze`"),
        ));
    }
    let (tag, tag_regex, warnings) = tag_filter(&file.stem, tag, s.allow_tags.clone())
        .map_err(|d| here(d).at(at("tag").or_else(|| at("allowTags"))))?;
    let policy = tag_policy(s.image_selection_strategy.as_deref())
        .map_err(|d| here(d).at(at("imageSelectionStrategy")))?;
    let name = if crate::names::is_valid_object_name(&file.stem) {
        file.stem.clone()
    } else {
        crate::names::fit(&file.stem)
    };
    let mut warnings: Vec<Diagnostic> = warnings
        .into_iter()
        .map(|d| here(d).at(at("allowTags")))
        .collect();
    if name != file.stem {
        warnings.push(here(Diagnostic::warning(format!(
            "base image `{}` is not a valid Kubernetes name; its Warehouse is named `{name}`",
            file.stem
        ))));
    }
    Ok((
        Upstream {
            name,
            kind: UpstreamKind::Base,
            repo_url,
            tag,
            tag_regex,
            policy,
        },
        warnings,
    ))
}

/// The tag of `registry/repo:tag[@digest]`, if it has one.
fn tag_of_reference(reference: &str) -> Option<String> {
    let no_digest = reference.split('@').next().unwrap_or(reference);
    let last = no_digest.rsplit('/').next().unwrap_or(no_digest);
    last.split_once(':')
        .map(|(_, t)| t.to_string())
        .filter(|t| values::tag(t).is_ok())
}

/// The tag policy an `imageSelectionStrategy` key (images.yaml or a state
/// file) names; absent means the exact tag, compared lexically.
fn tag_policy(name: Option<&str>) -> Result<TagPolicy, Diagnostic> {
    let parse = |s: &str| match s {
        "SemVer" => Some(TagPolicy::Semver),
        "Lexical" => Some(TagPolicy::Lexical),
        "Digest" => Some(TagPolicy::Digest),
        "NewestBuild" => Some(TagPolicy::NewestBuild),
        _ => None,
    };
    match name {
        None => Ok(TagPolicy::Lexical),
        Some(s) => parse(s).ok_or_else(|| {
            let help = match did_you_mean(s, &STRATEGIES) {
                Some(m) => format!("did you mean `{m}`?"),
                None => format!("use one of {}", STRATEGIES.join(", ")),
            };
            Diagnostic::error(format!(
                "unknown imageSelectionStrategy `{}`",
                s.escape_debug()
            ))
            .help(help)
        }),
    }
}

/// The regex that matches exactly `tag`, in RE2 syntax (Go's `QuoteMeta`).
pub fn exact_tag_regex(tag: &str) -> String {
    let mut out = String::with_capacity(tag.len() + 4);
    out.push('^');
    for c in tag.chars() {
        if "\\.+*?()|[]{}^$".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('$');
    out
}

/// Decides the tag filter: the stored one when it works, else one derived
/// from the tag, with a warning saying why.
fn tag_filter(
    name: &str,
    tag: Option<String>,
    stored: Option<String>,
) -> Result<(Option<String>, String, Vec<Diagnostic>), Diagnostic> {
    let mut warnings = Vec::new();
    if let Some(t) = &tag {
        values::tag(t).map_err(|why| {
            Diagnostic::error(format!(
                "`{name}`: invalid tag `{}`: {why}",
                t.escape_debug()
            ))
        })?;
    }
    let compiled = stored.as_deref().map(Regex::new);
    match (tag, stored, compiled) {
        (Some(t), Some(s), Some(Ok(re))) if re.is_match(&t) && is_safe_regex(&s) => {
            Ok((Some(t), s, warnings))
        }
        (Some(t), Some(s), _) => {
            let derived = exact_tag_regex(&t);
            warnings.push(Diagnostic::warning(format!(
                "`{name}`: stored tag filter `{s}` can never match its own tag `{t}` (the cdk8s app escaped it twice); using `{derived}`"
            )).help("`imgf analyze` rewrites the state file with the corrected filter"));
            Ok((Some(t), derived, warnings))
        }
        (Some(t), None, _) => {
            let derived = exact_tag_regex(&t);
            Ok((Some(t), derived, warnings))
        }
        (None, Some(s), compiled) => {
            // Recover the tag the filter was meant for: `^3\\.12-slim$` → `3.12-slim`.
            let inner = s
                .trim_start_matches('^')
                .trim_end_matches('$')
                .replace("\\\\", "\\")
                .replace("\\.", ".");
            if values::tag(&inner).is_ok() {
                let derived = exact_tag_regex(&inner);
                if compiled.is_some_and(|c| c.is_ok_and(|re| re.is_match(&inner)))
                    && is_safe_regex(&s)
                {
                    return Ok((Some(inner), s, warnings));
                }
                warnings.push(Diagnostic::warning(format!(
                    "`{name}`: stored tag filter `{s}` can never match the tag `{inner}` it was written for; using `{derived}`"
                )));
                Ok((Some(inner), derived, warnings))
            } else if compiled.is_some_and(|c| c.is_ok()) && is_safe_regex(&s) {
                Ok((None, s, warnings))
            } else {
                Err(Diagnostic::error(format!(
                    "`{name}`: tag filter `{}` is not a usable regular expression",
                    s.escape_debug()
                ))
                .help("set `tag:` to the tag to watch instead"))
            }
        }
        (None, None, _) => Err(Diagnostic::error(format!("`{name}` has no tag to watch"))
            .help("add `tag: <tag>` to the image in images.yaml, like `tag: 22-bookworm-slim`")),
    }
}

/// A stored regex goes into YAML and a Kargo field, never into an
/// expression; still, refuse ones carrying template or control characters.
fn is_safe_regex(s: &str) -> bool {
    !s.contains("${")
        && !s.contains("{{")
        && !s.chars().any(char::is_control)
        && !s.contains(['"', '\''])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_regex_escapes_dots() {
        assert_eq!(exact_tag_regex("3.12-slim"), r"^3\.12-slim$");
        let re = Regex::new(&exact_tag_regex("v1.40.0-focal")).unwrap();
        assert!(re.is_match("v1.40.0-focal"));
        assert!(!re.is_match("v1x40.0-focal"));
    }

    #[test]
    fn double_escaped_filter_is_repaired() {
        let (tag, re, w) = tag_filter(
            "python",
            Some("3.12-slim".into()),
            Some(r"^3\\.12-slim$".into()),
        )
        .unwrap();
        assert_eq!(tag.as_deref(), Some("3.12-slim"));
        assert_eq!(re, r"^3\.12-slim$");
        assert_eq!(w.len(), 1);
        assert!(w[0].message.contains("never match"), "{}", w[0].message);
    }

    #[test]
    fn working_filter_is_kept() {
        let (_, re, w) = tag_filter("n", Some("latest".into()), Some("^latest$".into())).unwrap();
        assert_eq!(re, "^latest$");
        assert!(w.is_empty());
    }

    #[test]
    fn tag_is_recovered_from_a_filter_alone() {
        let (tag, re, w) = tag_filter("n", None, Some(r"^v1\\.40\\.0-focal$".into())).unwrap();
        assert_eq!(tag.as_deref(), Some("v1.40.0-focal"));
        assert_eq!(re, r"^v1\.40\.0-focal$");
        assert_eq!(w.len(), 1);
    }

    #[test]
    fn source_paths_are_the_dockerfile_and_workflow_files() {
        assert_eq!(
            source_paths(
                Provider::Github,
                "image-factory/sources/api/Dockerfile",
                Some("api.yml")
            ),
            vec![
                ".github/workflows/api.yml",
                "image-factory/sources/api/Dockerfile"
            ]
        );
        assert_eq!(
            source_paths(Provider::Github, "./Dockerfile", Some("1234")),
            vec!["Dockerfile"]
        );
        assert_eq!(
            source_paths(Provider::Gitlab, "docker/Dockerfile", None),
            vec!["docker/Dockerfile"]
        );
    }

    #[test]
    fn tag_of_reference_handles_ports_and_digests() {
        assert_eq!(
            tag_of_reference("localhost:5000/app:1").as_deref(),
            Some("1")
        );
        assert_eq!(tag_of_reference("localhost:5000/app").as_deref(), None);
        assert_eq!(
            tag_of_reference("node:22@sha256:abc").as_deref(),
            Some("22")
        );
    }
}
