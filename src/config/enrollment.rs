//! `images.yaml`: the images a team enrolls. The source of truth for
//! enrollment; anything here wins over what a state file says.
//!
//! Parsing is strict (an unknown key is an error with a suggestion), and
//! [`validate`] checks every value against [`crate::values`] before anything
//! is built from it.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;

use serde::Deserialize;

use crate::config::parse::Locator;
use crate::diagnostic::Diagnostic;
use crate::values;

/// One entry of images.yaml.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Enrollment {
    /// The image's name: a DNS-1123 label, used for its Warehouse and Stages.
    pub name: String,
    /// The registry host, like `ghcr.io` or `registry.local:5000`.
    pub registry: String,
    /// The path inside the registry, like `org/app`.
    pub repository: String,
    /// Where the image is built. Without it the image is *external*: watched
    /// upstream, never rebuilt.
    #[serde(default)]
    pub source: Option<Source>,
    /// How long a new base-image digest must have been out before it may
    /// trigger a rebuild (`7d`, `36h`, `0`).
    #[serde(default)]
    pub rebuild_delay: Option<String>,
    /// Whether rebuilds are promoted automatically (default true).
    #[serde(default)]
    pub auto_rebuild: Option<bool>,
    /// Where the built image is used (kept for the update steps; not emitted yet).
    #[serde(default)]
    pub updates: Vec<Update>,
    /// External images: the tag to watch.
    #[serde(default)]
    pub tag: Option<String>,
    /// External images, old tool's form: a regex of the tag to watch.
    #[serde(default)]
    pub allow_tags: Option<String>,
    /// External images: how Kargo picks among matching tags.
    #[serde(default)]
    pub image_selection_strategy: Option<String>,
}

/// Where and how a managed image is built.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Source {
    #[serde(default)]
    pub provider: Option<Provider>,
    /// `owner/name` (GitHub) or `group/…/project` (GitLab).
    pub repo: String,
    /// The branch built and watched (default `main`).
    #[serde(default)]
    pub branch: Option<String>,
    /// The Dockerfile's path from the repository root.
    pub dockerfile: String,
    /// GitHub: the workflow file (or id) to dispatch.
    #[serde(default)]
    pub workflow: Option<String>,
    /// Build arguments for resolving `ARG`s in `FROM` lines (analyze).
    #[serde(default)]
    pub build_args: BTreeMap<String, String>,
    /// Which context inputs a rebuild dispatch sends (default: all of them).
    #[serde(default)]
    pub inputs: Option<Vec<String>>,
    /// The `version_bump` input sent with a rebuild (default `patch`).
    #[serde(default)]
    pub version_bump: Option<String>,
}

#[derive(
    Debug, Clone, Copy, Deserialize, PartialEq, Eq, PartialOrd, Ord, Hash, schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Provider {
    Github,
    Gitlab,
}

impl Provider {
    pub fn as_str(self) -> &'static str {
        match self {
            Provider::Github => "github",
            Provider::Gitlab => "gitlab",
        }
    }
}

/// Where a built image is deployed, for update steps.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Update {
    pub repo: String,
    pub path: String,
    #[serde(rename = "type")]
    pub kind: UpdateKind,
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum UpdateKind {
    KustomizeSetImage,
    YamlUpdate,
}

/// The rebuild delay when images.yaml gives none.
pub const DEFAULT_REBUILD_DELAY: &str = "7d";

impl Enrollment {
    /// The rebuild delay in seconds (validated entries only: an invalid
    /// delay has already been reported).
    pub fn rebuild_delay_secs(&self) -> u64 {
        crate::duration::parse(
            self.rebuild_delay
                .as_deref()
                .unwrap_or(DEFAULT_REBUILD_DELAY),
        )
        .unwrap_or(0)
    }
}

/// The context a rebuild dispatch can pass to the build workflow.
pub const CONTEXT_INPUTS: [&str; 4] = ["version_bump", "triggered_by", "base_image", "base_digest"];
/// The values `imageSelectionStrategy` may take (Kargo v1.11).
pub const STRATEGIES: [&str; 4] = ["SemVer", "Lexical", "Digest", "NewestBuild"];
const VERSION_BUMPS: [&str; 3] = ["patch", "minor", "major"];

/// Collects the problems of one entry, each pointing at its key.
struct Check<'a> {
    out: &'a mut Vec<Diagnostic>,
    file: &'a Path,
    loc: &'a Locator<'a>,
    index: usize,
    name: &'a str,
}

impl Check<'_> {
    fn bad(&mut self, key: &str, value: &str, why: impl Into<String>, help: impl Into<String>) {
        self.out.push(
            Diagnostic::error(format!(
                "image `{}`: invalid {key} `{}`: {}",
                self.name,
                value.escape_debug(),
                why.into()
            ))
            .in_file(self.file)
            .at(self.loc.key(self.index, key))
            .help(help),
        );
    }
}

/// Checks every value of every entry; returns all problems found.
pub fn validate(entries: &[Enrollment], file: &Path, text: &str) -> Vec<Diagnostic> {
    let loc = Locator::new(text);
    let mut out = Vec::new();
    let mut seen: HashSet<&str> = HashSet::new();
    for (i, e) in entries.iter().enumerate() {
        if crate::names::is_dns1123_subdomain(&e.name) && !seen.insert(&e.name) {
            let first = entries.iter().position(|o| o.name == e.name).unwrap_or(0);
            let first_line = loc
                .item(first)
                .map_or(String::new(), |l| format!(" (first at line {})", l.line));
            out.push(
                Diagnostic::error(format!("image `{}` is enrolled twice{first_line}", e.name))
                    .in_file(file)
                    .at(loc.key(i, "name"))
                    .help("give each image a unique name, or remove the duplicate entry"),
            );
        }
        let mut c = Check {
            out: &mut out,
            file,
            loc: &loc,
            index: i,
            name: &e.name,
        };
        validate_entry(e, &mut c);
    }
    out
}

fn validate_entry(e: &Enrollment, c: &mut Check<'_>) {
    if !crate::names::is_dns1123_subdomain(&e.name) {
        let suggestion = crate::names::suggest_label(&e.name);
        c.bad(
            "name",
            &e.name,
            "an image name becomes part of Kubernetes object names: a DNS-1123 subdomain (lowercase letters, digits, `-` and `.`, at most 253 characters)",
            format!("rename it, for example to `{suggestion}`"),
        );
    }
    if let Err(why) = values::registry(&e.registry) {
        c.bad(
            "registry",
            &e.registry,
            why,
            "use the registry host, like `ghcr.io`",
        );
    }
    if let Err(why) = values::repository(&e.repository) {
        c.bad(
            "repository",
            &e.repository,
            why,
            "use the path after the registry, like `org/app`",
        );
    }
    if let Some(d) = &e.rebuild_delay {
        if let Err(why) = crate::duration::parse(d) {
            c.bad("rebuildDelay", d, why, "write it like `7d` or `36h`");
        }
    }
    if let Some(s) = &e.image_selection_strategy {
        if !STRATEGIES.contains(&s.as_str()) {
            let help = match crate::diagnostic::did_you_mean(s, &STRATEGIES) {
                Some(m) => format!("did you mean `{m}`?"),
                None => format!("use one of {}", STRATEGIES.join(", ")),
            };
            c.bad(
                "imageSelectionStrategy",
                s,
                "Kargo does not know this strategy",
                help,
            );
        }
    }
    if let Some(t) = &e.tag {
        if let Err(why) = values::tag(t) {
            c.bad("tag", t, why, "write the tag alone, without the image name");
        }
    }
    if let Some(src) = &e.source {
        validate_source(e, src, c);
        if let Some(t) = e.tag.as_deref().or(e.allow_tags.as_deref()) {
            c.bad(
                "tag",
                t,
                "a managed image (one with a `source`) is watched by its built versions, not a fixed tag",
                "remove `tag`/`allowTags`, or remove `source` to watch it as an external image",
            );
        }
    }
    for u in &e.updates {
        if let Err(why) = values::source_repo(&u.repo, true) {
            c.bad("repo", &u.repo, why, "use `owner/name`");
        }
        if let Err(why) = values::repo_path(&u.path) {
            c.bad(
                "path",
                &u.path,
                why,
                "use a path relative to the repository root",
            );
        }
    }
}

fn validate_source(e: &Enrollment, src: &Source, c: &mut Check<'_>) {
    let provider = src.provider.unwrap_or(Provider::Github);
    if let Err(why) = values::source_repo(&src.repo, provider == Provider::Gitlab) {
        c.bad("repo", &src.repo, why, "write it like `owner/name`");
    }
    if let Some(b) = &src.branch {
        if let Err(why) = values::branch(b) {
            c.bad(
                "branch",
                b,
                why,
                "use the branch name as git shows it, like `main`",
            );
        }
    }
    if let Err(why) = values::repo_path(&src.dockerfile) {
        c.bad(
            "dockerfile",
            &src.dockerfile,
            why,
            "give the Dockerfile's path relative to the source repository root",
        );
    }
    match (&src.workflow, provider) {
        (Some(w), _) => {
            if let Err(why) = values::workflow(w) {
                c.bad(
                    "workflow",
                    w,
                    why,
                    "use the workflow's file name, like `build.yml`",
                );
            }
        }
        (None, Provider::Github) => c.bad(
            "source",
            &src.repo,
            "a GitHub-built image needs `source.workflow`, the workflow that rebuilds it",
            format!(
                "add `workflow: {}.yml` (the file name under .github/workflows)",
                e.name
            ),
        ),
        (None, Provider::Gitlab) => {}
    }
    for (k, v) in &src.build_args {
        if values::input_name(k).is_err() || v.contains(['\n', '\r']) {
            c.bad(
                "buildArgs",
                k,
                "a build argument is a name of letters, digits and `_` with a one-line value",
                "fix the build argument's name or value",
            );
        }
    }
    if let Some(inputs) = &src.inputs {
        for i in inputs {
            if !CONTEXT_INPUTS.contains(&i.as_str()) {
                let help = match crate::diagnostic::did_you_mean(i, &CONTEXT_INPUTS) {
                    Some(m) => format!("did you mean `{m}`?"),
                    None => format!("the inputs imgf can send are {}", CONTEXT_INPUTS.join(", ")),
                };
                c.bad("inputs", i, "imgf has no such dispatch input", help);
            }
        }
    }
    if let Some(v) = &src.version_bump {
        if !VERSION_BUMPS.contains(&v.as_str()) {
            c.bad(
                "versionBump",
                v,
                "it is not a version bump",
                "use patch, minor or major",
            );
        }
    }
}
