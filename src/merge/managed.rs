//! Managed images: what images.yaml says about how each is built, and
//! what its rebuild dispatch may send.

use crate::config::enrollment::{Enrollment, Provider, CONTEXT_INPUTS};
use crate::config::enrollment::{Update, UpdateValue};
use crate::config::settings::Providers;
use crate::diagnostic::Diagnostic;
use crate::model::{Check, Managed};
use crate::state::store::StateFile;
use crate::state::ImageState;
use crate::values::normalize_git_url;

/// A managed image as images.yaml enrolls it (bases and version come later).
pub(super) fn from_enrollment(
    e: &Enrollment,
    entry: usize,
    providers: &Providers,
) -> Option<Managed> {
    let src = e.source.as_ref()?;
    let provider = src.provider.unwrap_or(Provider::Github);
    Some(Managed {
        name: e.name.clone(),
        repo_url: format!("{}/{}", e.registry, e.repository),
        provider,
        source_repo: src.repo.clone(),
        branch: src.branch.clone().unwrap_or_else(|| "main".into()),
        dockerfile: src.dockerfile.clone(),
        workflow: src.workflow.clone(),
        inputs: Vec::new(),
        version_bump: src.version_bump.clone().unwrap_or_else(|| "patch".into()),
        rebuild_delay_secs: e.rebuild_delay_secs(),
        auto_rebuild: e.auto_rebuild.unwrap_or(true),
        current_version: None,
        tags: match (&e.tag_pattern, &e.versions) {
            (Some(p), _) => crate::model::TagOrder::BuildId {
                pattern: p.clone(),
                group: crate::values::tag_pattern(p).unwrap_or_default(),
            },
            (None, v) => crate::model::TagOrder::Versions(v.clone()),
        },
        bases: Vec::new(),
        source_paths: source_paths(provider, &src.dockerfile, src.workflow.as_deref()),
        updates: updates(e, entry, provider, providers),
    })
}

/// The image's updates, resolved (validated entries); `image_provider` is
/// the default git host of their repositories.
pub(super) fn updates(
    e: &Enrollment,
    entry: usize,
    image_provider: Provider,
    providers: &Providers,
) -> Vec<crate::model::Update> {
    let names: Vec<String> = e.updates.iter().map(Update::stage_name).collect();
    e.updates
        .iter()
        .zip(&names)
        .enumerate()
        .map(|(index, (u, name))| {
            let provider = u.provider.unwrap_or(image_provider);
            crate::model::Update {
                name: name.clone(),
                repo_url: if u.repo.starts_with("https://") {
                    u.repo.clone()
                } else {
                    providers.clone_url(provider, &u.repo)
                },
                provider,
                branch: u.branch.clone().unwrap_or_else(|| "main".into()),
                path: u
                    .path
                    .trim_start_matches("./")
                    .trim_end_matches('/')
                    .to_string(),
                yaml_key: if u.is_yaml() { u.key.clone() } else { None },
                value: u.value.unwrap_or(UpdateValue::Tag),
                value_given: u.value.is_some(),
                entry,
                index,
                after: u
                    .after
                    .as_ref()
                    .and_then(|a| names.iter().position(|n| n == a)),
                soak_secs: u
                    .soak
                    .as_deref()
                    .and_then(|s| crate::duration::parse(s).ok())
                    .unwrap_or(0),
                pull_request: u.pull_request.unwrap_or(false),
                argocd: u.argocd.as_ref().map(|a| {
                    (
                        a.namespace.clone().unwrap_or_else(|| "argocd".into()),
                        a.app.clone(),
                    )
                }),
                verify: u
                    .verify
                    .iter()
                    .filter_map(|v| match (&v.http, &v.job) {
                        (Some(h), _) => Some(Check::Http {
                            url: h.url.clone(),
                            json_path: h.json_path.clone(),
                            expect: h.expect.clone(),
                            expect_build: h.expect_build,
                        }),
                        (None, Some(j)) => Some(Check::Job {
                            image: j.image.clone(),
                            command: j.command.clone(),
                            env: j.env.clone(),
                        }),
                        _ => None,
                    })
                    .collect(),
                auto_promote: u.auto_promote.unwrap_or(true),
                shard: u.shard.clone(),
            }
        })
        .collect()
}

/// Updates that would commit inside what a generated Warehouse watches: a
/// source Warehouse sees the commit, makes new Freight, and the image is
/// analysed (and its users updated) again — a loop.
pub(super) fn feedback_loops(
    model: &crate::model::Model,
    providers: &Providers,
    file: &std::path::Path,
    loc: &crate::config::parse::Locator<'_>,
    index_of: &[usize],
    diags: &mut Vec<Diagnostic>,
) {
    // The watched repositories, normalised once: a lookup per update, not a
    // scan of every image (10,000 images with 2,000 updates was quadratic).
    let mut watched: foldhash::HashMap<String, Vec<&crate::model::Managed>> =
        foldhash::HashMap::default();
    for w in &model.managed {
        watched
            .entry(normalize_git_url(
                &providers.clone_url(w.provider, &w.source_repo),
            ))
            .or_default()
            .push(w);
    }
    for (mi, m) in model.managed.iter().enumerate() {
        for (j, u) in m.updates.iter().enumerate() {
            let target = normalize_git_url(&u.repo_url);
            for w in watched.get(&target).into_iter().flatten() {
                // `a` is `b` or a path under it (no allocation: this runs
                // for every pair of an update and an image of its repository).
                let inside = |a: &str, b: &str| {
                    a.strip_prefix(b)
                        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
                };
                if let Some(p) = w
                    .source_paths
                    .iter()
                    .find(|p| inside(&u.path, p) || inside(p, &u.path))
                {
                    diags.push(
                        Diagnostic::error(format!(
                            "image `{}`: update `{}` writes `{}` in {}, which the Warehouse of `{}` watches (`{p}`): each update would make new Freight — a feedback loop",
                            m.name, u.name, u.path, u.repo_url, w.name
                        ))
                        .in_file(file)
                        .at(loc.list_key(index_of[mi], "updates", j, "path"))
                        .help("keep deployment files out of the image sources: another repository, or a path outside the Dockerfile's and workflow's"),
                    );
                }
            }
        }
    }
}

/// The files in the source repository whose changes can change what
/// analysis finds: the Dockerfile, and the GitHub workflow (its declared
/// inputs shape the dispatch). Nothing else: a commit of state files or of
/// generated output must never make Freight (Kargo matches these paths as
/// base directories, so a directory here would cover the state directory).
pub(super) fn source_paths(
    provider: Provider,
    dockerfile: &str,
    workflow: Option<&str>,
) -> Vec<String> {
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
pub(super) const SAFE_INPUTS: [&str; 1] = ["version_bump"];

pub(super) fn wanted_inputs(e: &Enrollment) -> Vec<&'static str> {
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
pub(super) fn inputs_for(
    m: &mut Managed,
    e: &Enrollment,
    st: Option<&StateFile<ImageState>>,
    unknown: &mut Vec<String>,
    narrowed: &mut Vec<Narrowed>,
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
        narrowed.push(Narrowed {
            image: m.name.clone(),
            workflow: m.workflow.clone().unwrap_or_default(),
            dropped: drop,
            path: st.path.clone(),
        });
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

/// An image whose dispatch leaves out inputs its workflow does not declare.
pub(super) struct Narrowed {
    image: String,
    workflow: String,
    dropped: Vec<&'static str>,
    path: std::path::PathBuf,
}

/// Warnings for the narrowed dispatches: one per image, with its state
/// file, while there are few; one per set of left-out inputs beyond that, so
/// a large enrollment is not buried in thousands of lines.
pub(super) fn narrowed_warnings(narrowed: Vec<Narrowed>) -> Vec<Diagnostic> {
    const HELP: &str = "declare them under on.workflow_dispatch.inputs to receive the base image and digest that triggered a rebuild";
    let mut groups: std::collections::BTreeMap<Vec<&'static str>, Vec<Narrowed>> =
        std::collections::BTreeMap::new();
    for n in narrowed {
        groups.entry(n.dropped.clone()).or_default().push(n);
    }
    let mut out = Vec::new();
    for (dropped, images) in groups {
        if images.len() <= 3 {
            out.extend(images.into_iter().map(|n| {
                Diagnostic::warning(format!(
                    "image `{}`: workflow `{}` does not declare input(s) {}; the rebuild dispatch leaves them out",
                    n.image,
                    n.workflow,
                    dropped.join(", ")
                ))
                .in_file(&n.path)
                .help(HELP)
            }));
            continue;
        }
        let shown: Vec<&str> = images.iter().take(5).map(|n| n.image.as_str()).collect();
        out.push(
            Diagnostic::warning(format!(
                "{} image(s): their workflows do not declare input(s) {}; the rebuild dispatch leaves them out ({}{})",
                images.len(),
                dropped.join(", "),
                shown.join(", "),
                match images.len() - shown.len() {
                    0 => String::new(),
                    more => format!(" and {more} more"),
                }
            ))
            .help(HELP),
        );
    }
    out
}

/// One warning for every GitHub image whose workflow inputs are unknown.
pub(super) fn unknown_inputs_warning(images: &[String]) -> Diagnostic {
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
