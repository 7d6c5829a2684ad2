//! Upstream images: external enrollments (watched at a tag, never built
//! here) and the base images analysis discovered, from their state files.

use std::path::Path;

use super::tag_filter::tag_filter;
use crate::config::enrollment::{Enrollment, STRATEGIES};
use crate::config::parse::Locator;
use crate::diagnostic::{did_you_mean, Diagnostic};
use crate::model::{TagPolicy, Upstream, UpstreamKind};
use crate::state::store::StateFile;
use crate::state::{BaseImageState, ImageState};
use crate::values;

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
pub(super) fn external(
    e: &Enrollment,
    state: Option<&StateFile<ImageState>>,
    file: &Path,
    loc: &Locator<'_>,
    index: usize,
    providers: &crate::config::settings::Providers,
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
            updates: super::managed::updates(
                e,
                index,
                crate::config::enrollment::Provider::Github,
                providers,
            ),
        },
        warnings,
    ))
}

/// A discovered base image from its state file.
pub(super) fn base_image(
    file: &StateFile<BaseImageState>,
) -> Result<(Upstream, Vec<Diagnostic>), Diagnostic> {
    let s = &file.data;
    let here = |d: Diagnostic| d.in_file(&file.path);
    let loc = Locator::new(file.text());
    let at = |key: &str| loc.top_key(key);
    let Some((repo_url, key)) = s.watched_repo_url() else {
        return Err(here(
            Diagnostic::error(format!(
                "base image `{}` has neither repoURL nor registry and repository",
                file.stem
            ))
            .help("run `imgf analyze` to write the state file again"),
        ));
    };
    if let Err(why) = check_repo_url(&repo_url) {
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
    let name = base_name(&file.stem);
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
            updates: Vec::new(),
        },
        warnings,
    ))
}

/// What Kargo's Warehouse would refuse in a discovered base image that
/// synth watches (`watched`: the name and repository of each base in the
/// model): a repository Docker and imgf take, so [`base_image`] let it
/// through, but Kargo's image subscription schema does not.
pub(crate) fn base_image_for_kargo(
    file: &StateFile<BaseImageState>,
    watched: &std::collections::HashSet<(&str, &str)>,
) -> Option<Diagnostic> {
    let (repo_url, key) = file.data.watched_repo_url()?;
    if !watched.contains(&(base_name(&file.stem).as_str(), repo_url.as_str())) {
        return None;
    }
    let why = values::kargo_image_repo_url(&repo_url).err()?;
    let shown = match key {
        "repository" => file.data.repository.clone().unwrap_or_default(),
        _ => repo_url.clone(),
    };
    Some(
        Diagnostic::error(format!(
            "base image `{}`: invalid {key} `{}`: {why}",
            file.stem,
            shown.escape_debug()
        ))
        .in_file(&file.path)
        .at(Locator::new(file.text()).top_key(key))
        .underline(shown)
        .help(format!(
            "Kargo v1.11 cannot watch `{repo_url}`; build on an image from a repository without `--` (change the FROM line and run `imgf analyze`), or use `imgf synth --target flux`"
        )),
    )
}

/// The name of a base image's Warehouse: its state file's name, fitted to
/// a Kubernetes name when it is none.
fn base_name(stem: &str) -> String {
    if crate::names::is_valid_object_name(stem) {
        stem.to_string()
    } else {
        crate::names::fit(stem)
    }
}

/// The tag of `registry/repo:tag[@digest]`, if it has one.
pub(super) fn tag_of_reference(reference: &str) -> Option<String> {
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
