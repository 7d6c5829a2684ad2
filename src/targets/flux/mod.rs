//! The Flux target: model → Flux image automation (`image.toolkit.fluxcd.io/v1`).
//! Pure.
//!
//! [`families`] fixes the output order: an ImageRepository and an ImagePolicy
//! per image — managed, then external — that some `updates:` entry deploys
//! (both named after the image, so a setter marker reads
//! `# {"$imagepolicy": "<ns>:<image>"}`, see [`markers`]), a
//! GitRepository per target repository that settings do not name as existing,
//! and an ImageUpdateAutomation per (target repository, branch, and whether
//! it opens a GitLab merge request).
//!
//! Where the core needed a neutral concept: [`crate::model::TagOrder`] (how
//! a managed image's tags order: versions with an optional range, or build
//! ids with a pattern), and `updates` on [`crate::model::Upstream`].
//!
//! What Flux cannot do (rebuilds, soaks, verification, Argo CD syncs, pull
//! requests) is not emitted; [`losses`] says so, one warning per kind.

pub mod markers;
pub mod objects;
pub mod settings;
mod spec;
pub mod template;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use crate::config::enrollment::UpdateValue;
use crate::config::settings::Settings;
use crate::diagnostic::{Diagnostic, Error};
use crate::model::{Managed, Model, TagOrder, TagPolicy, Update, Upstream};
use crate::names;
use crate::targets::{k8s, Family, Output};
use crate::values::normalize_git_url;
use objects::{
    Author, BranchRef, Checkout, CommitSpec, CrossNamespaceRef, GitRepository, GitRepositorySpec,
    GitSpec, ImagePolicy, ImagePolicySpec, ImageRepository, ImageRepositorySpec,
    ImageUpdateAutomation, ImageUpdateAutomationSpec, LabelSelector, LabelSelectorRequirement,
    LocalRef, ObjectMeta, PolicyChoice, PushSpec, Resource, TagFilter, UpdateStrategy, IMAGE_API,
    SOURCE_API,
};
pub use spec::SPEC;

/// Label on each ImagePolicy: the image it follows (the automations select on it).
pub const IMAGE_LABEL: &str = "imgf.io/image";
/// The semver range of a managed image without `versions`: every release.
pub const ALL_VERSIONS: &str = ">=0.0.0";

/// A target repository.
struct Repo {
    url: String,
    /// Its GitRepository's name; generated unless `existing`.
    name: String,
    existing: bool,
    /// The branch the generated GitRepository follows (its first target branch).
    branch: String,
}

/// One ImageUpdateAutomation: a repository and branch, and what it updates.
struct Automation {
    repo: usize,
    branch: String,
    /// GitLab `pullRequest: true`: push to a branch of its own and open a
    /// merge request with push options.
    merge_request: bool,
    /// Policy names (= image object names), sorted.
    images: Vec<String>,
    /// The narrowest directory holding every target, `./…`.
    path: String,
}

/// What the families are built from.
pub struct Plan<'a> {
    settings: &'a Settings,
    /// Managed, then external images with at least one update.
    images: Vec<Image<'a>>,
    repos: Vec<Repo>,
    /// Indices into `repos` that get a generated GitRepository.
    generated: Vec<usize>,
    automations: Vec<Automation>,
}

pub fn families<'a>() -> Vec<Family<Plan<'a>, Resource>> {
    vec![
        Family {
            count: |p| p.images.len(),
            name: |p, i| ("ImageRepository", object_name(p.images[i])),
            build: |p, i| Resource::ImageRepository(image_repository(p.images[i], p.settings)),
        },
        Family {
            count: |p| p.images.len(),
            name: |p, i| ("ImagePolicy", object_name(p.images[i])),
            build: |p, i| Resource::ImagePolicy(image_policy(p.images[i], p.settings)),
        },
        Family {
            count: |p| p.generated.len(),
            name: |p, i| ("GitRepository", p.repos[p.generated[i]].name.clone()),
            build: |p, i| {
                Resource::GitRepository(git_repository(&p.repos[p.generated[i]], p.settings))
            },
        },
        Family {
            count: |p| p.automations.len(),
            name: |p, i| ("ImageUpdateAutomation", automation_name(p, i)),
            build: |p, i| Resource::ImageUpdateAutomation(automation(p, i)),
        },
    ]
}

/// The Flux output of a model; fails if two objects of a kind share a name.
pub fn output<'a>(
    model: &'a Model,
    settings: &'a Settings,
) -> Result<Output<Plan<'a>, Resource>, Error> {
    let images: Vec<Image<'a>> = model
        .managed
        .iter()
        .map(Image::Managed)
        .chain(model.upstream.iter().map(Image::External))
        .filter(|i| !i.updates().is_empty())
        .collect();
    let mut repos: Vec<Repo> = Vec::new();
    // Each repository (by its normalised URL) and group by index, in the
    // order first seen: thousands of updates, hundreds of repositories.
    let mut repo_index: foldhash::HashMap<String, usize> = foldhash::HashMap::default();
    let mut group_index: foldhash::HashMap<(usize, &str, bool), usize> =
        foldhash::HashMap::default();
    // (repo, branch, merge request) → (images, target directories)
    #[allow(clippy::type_complexity)]
    let mut groups: Vec<(usize, String, bool, BTreeSet<String>, Vec<String>)> = Vec::new();
    for &m in &images {
        for u in m.updates() {
            let url = normalize_git_url(&u.repo_url);
            let r = if let Some(&r) = repo_index.get(&url) {
                r
            } else {
                let existing = settings
                    .flux
                    .existing_git_repository(&url)
                    .map(str::to_string);
                repos.push(Repo {
                    url: u.repo_url.clone(),
                    name: existing
                        .clone()
                        .unwrap_or_else(|| git_repository_name(&u.repo_url)),
                    existing: existing.is_some(),
                    branch: u.branch.clone(),
                });
                repo_index.insert(url, repos.len() - 1);
                repos.len() - 1
            };
            let dir = target_dir(u);
            let mr = merge_request(u);
            let g = *group_index
                .entry((r, u.branch.as_str(), mr))
                .or_insert_with(|| {
                    groups.push((r, u.branch.clone(), mr, BTreeSet::new(), Vec::new()));
                    groups.len() - 1
                });
            groups[g].3.insert(object_name(m));
            groups[g].4.push(dir);
        }
    }
    let automations = groups
        .into_iter()
        .map(|(repo, branch, merge_request, images, dirs)| Automation {
            repo,
            branch,
            merge_request,
            images: images.into_iter().collect(),
            path: common_dir(&dirs),
        })
        .collect();
    let generated = (0..repos.len()).filter(|&r| !repos[r].existing).collect();
    Output::new(
        Plan {
            settings,
            images,
            repos,
            generated,
            automations,
        },
        families(),
    )
}

/// An image the Flux output follows: one built here, or an external one.
#[derive(Debug, Clone, Copy)]
pub enum Image<'a> {
    Managed(&'a Managed),
    External(&'a Upstream),
}

impl<'a> From<&'a Managed> for Image<'a> {
    fn from(m: &'a Managed) -> Image<'a> {
        Image::Managed(m)
    }
}

impl<'a> Image<'a> {
    pub fn name(self) -> &'a str {
        match self {
            Image::Managed(m) => &m.name,
            Image::External(u) => &u.name,
        }
    }

    /// `registry/repository`.
    pub fn repo_url(self) -> &'a str {
        match self {
            Image::Managed(m) => &m.repo_url,
            Image::External(u) => &u.repo_url,
        }
    }

    pub fn updates(self) -> &'a [Update] {
        match self {
            Image::Managed(m) => &m.updates,
            Image::External(u) => &u.updates,
        }
    }
}

/// The ImageRepository and ImagePolicy name of an image.
pub fn object_name(m: Image<'_>) -> String {
    names::fit(m.name())
}

fn meta(name: String, settings: &Settings, labels: &[(&str, &str)]) -> ObjectMeta {
    k8s::namespaced(name, &settings.flux.namespace, labels)
}

fn image_repository(m: Image<'_>, settings: &Settings) -> ImageRepository {
    let registry = m.repo_url().split('/').next().unwrap_or("");
    ImageRepository {
        api_version: IMAGE_API,
        kind: "ImageRepository",
        metadata: meta(object_name(m), settings, &[]),
        spec: ImageRepositorySpec {
            image: m.repo_url().to_string(),
            interval: match m {
                Image::Managed(_) => settings.intervals.managed.clone(),
                Image::External(_) => settings.intervals.base.clone(),
            },
            secret_ref: settings
                .flux
                .registry_secret
                .as_ref()
                .map(|n| LocalRef { name: n.clone() }),
            insecure: settings
                .flux
                .insecure_registries
                .iter()
                .any(|r| r == registry),
        },
    }
}

/// How Flux picks the newest tag of an image: a semver range for versions,
/// a numerical order on the extracted build number for build-id tags —
/// never alphabetical, which orders `main-<sha>-<ts>` by the SHA.
pub fn tag_policy(m: Image<'_>) -> (Option<TagFilter>, PolicyChoice) {
    let m = match m {
        Image::Managed(m) => m,
        Image::External(u) => return external_policy(u),
    };
    match &m.tags {
        TagOrder::Versions(range) => (
            None,
            PolicyChoice::semver(range.clone().unwrap_or_else(|| ALL_VERSIONS.into())),
        ),
        TagOrder::BuildId { pattern, group } => (
            Some(TagFilter {
                pattern: pattern.clone(),
                extract: format!("${group}"),
            }),
            PolicyChoice::numerical(),
        ),
    }
}

/// An external image's tag selection in Flux terms.
///
/// An image that follows one exact tag (`tag: 16-alpine`, or
/// `imageSelectionStrategy: Digest`) gets that tag as its filter and
/// `alphabetical`, whatever its strategy: alphabetical over one tag selects
/// it (image-reflector-controller v1.0.0 `internal/policy/alphabetical.go:54-65`
/// sorts and takes the first), while `semver` would fail on a tag that is not
/// a full version — `ParseVersion` rejects `16-alpine`, and
/// `internal/policy/semver.go:64` then reports "unable to determine latest
/// version". Watched by a regex (`allowTags`), the strategy decides: semver,
/// or alphabetical (Flux cannot order by push time, so `NewestBuild` is a
/// loss, see [`losses`]).
fn external_policy(u: &Upstream) -> (Option<TagFilter>, PolicyChoice) {
    if let Some(tag) = u.one_tag() {
        let filter = TagFilter {
            pattern: crate::merge::exact_tag_regex(tag),
            extract: String::new(),
        };
        return (Some(filter), PolicyChoice::alphabetical());
    }
    let filter = Some(TagFilter {
        pattern: u.tag_regex.clone(),
        extract: String::new(),
    });
    match u.policy {
        TagPolicy::Semver => (filter, PolicyChoice::semver(ALL_VERSIONS.into())),
        TagPolicy::Lexical | TagPolicy::Digest | TagPolicy::NewestBuild => {
            (filter, PolicyChoice::alphabetical())
        }
    }
}

/// Whether some update writes the digest: the policy must reflect it.
pub fn writes_digest(m: Image<'_>) -> bool {
    m.updates()
        .iter()
        .any(|u| matches!(u.value, UpdateValue::Digest | UpdateValue::Pinned))
}

fn image_policy(m: Image<'_>, settings: &Settings) -> ImagePolicy {
    let (filter_tags, policy) = tag_policy(m);
    let label = names::fit(m.name());
    // An external image's tags are not ours: upstream re-pushes them (a
    // rebuilt `16-alpine`, a patched `16.2`), so whenever its digest is
    // written — or it is followed by digest — the digest is read again at
    // every scan: `Always` with an interval. `IfNotPresent` reads it only when
    // the selected tag changes (image-reflector-controller v1.0.0
    // `internal/controller/imagepolicy_controller.go:404-416`), so a re-pushed
    // tag would never reach the deploy repository.
    let reread = match m {
        Image::External(u) => u.policy == TagPolicy::Digest || writes_digest(m),
        Image::Managed(_) => false,
    };
    ImagePolicy {
        api_version: IMAGE_API,
        kind: "ImagePolicy",
        metadata: meta(object_name(m), settings, &[(IMAGE_LABEL, &label)]),
        spec: ImagePolicySpec {
            image_repository_ref: LocalRef {
                name: object_name(m),
            },
            filter_tags,
            policy,
            // A managed image's versions and build ids are immutable tags:
            // the digest seen first is the digest.
            digest_reflection_policy: if reread {
                Some("Always")
            } else {
                writes_digest(m).then_some("IfNotPresent")
            },
            interval: reread.then(|| settings.intervals.base.clone()),
        },
    }
}

fn git_repository(r: &Repo, settings: &Settings) -> GitRepository {
    GitRepository {
        api_version: SOURCE_API,
        kind: "GitRepository",
        metadata: meta(r.name.clone(), settings, &[]),
        spec: GitRepositorySpec {
            url: r.url.clone(),
            interval: settings.intervals.managed.clone(),
            reference: BranchRef {
                branch: r.branch.clone(),
            },
            secret_ref: settings
                .flux
                .git_secret
                .as_ref()
                .map(|n| LocalRef { name: n.clone() }),
        },
    }
}

/// Whether an update is a GitLab merge request (Flux's push options can
/// open one; a GitHub pull request needs an external Action).
fn merge_request(u: &crate::model::Update) -> bool {
    u.pull_request && u.provider == crate::config::enrollment::Provider::Gitlab
}

fn automation_name(p: &Plan<'_>, i: usize) -> String {
    let a = &p.automations[i];
    automation_object_name(&p.repos[a.repo].url, &a.branch, a.merge_request)
}

/// The generated GitRepository name of a repository: its readable path
/// (`org-deploy`) and a hash of its normalized URL, as the Kargo target
/// names base images ([`names::with_hash`]). The host is not in the
/// readable part, and `a-b/c` and `a/b-c` read the same, so only the hash
/// keeps `github.com/org/deploy` and `gitlab.com/org/deploy` apart.
pub(crate) fn git_repository_name(url: &str) -> String {
    names::with_hash(&repo_slug(url), &normalize_git_url(url))
}

/// The ImageUpdateAutomation name of a repository, branch and push mode:
/// `<slug>-<branch>[-mr]` and a hash of all three (branches `a/b` and
/// `a-b` read the same too).
pub(crate) fn automation_object_name(url: &str, branch: &str, merge_request: bool) -> String {
    let mode = if merge_request { "mr" } else { "push" };
    let readable = if merge_request {
        format!("{}-{branch}-mr", repo_slug(url))
    } else {
        format!("{}-{branch}", repo_slug(url))
    };
    names::with_hash(
        &readable,
        &format!("{}\n{branch}\n{mode}", normalize_git_url(url)),
    )
}

/// The branch a merge-request automation pushes to (force-pushed each run).
fn merge_request_branch(branch: &str) -> String {
    format!("imgf/update-{branch}")
}

fn automation(p: &Plan<'_>, i: usize) -> ImageUpdateAutomation {
    let a = &p.automations[i];
    let s = p.settings;
    ImageUpdateAutomation {
        api_version: IMAGE_API,
        kind: "ImageUpdateAutomation",
        metadata: meta(automation_name(p, i), s, &[]),
        spec: ImageUpdateAutomationSpec {
            interval: s.intervals.managed.clone(),
            source_ref: CrossNamespaceRef {
                kind: "GitRepository",
                name: p.repos[a.repo].name.clone(),
            },
            git: GitSpec {
                checkout: Checkout {
                    reference: BranchRef {
                        branch: a.branch.clone(),
                    },
                },
                commit: CommitSpec {
                    author: Author {
                        name: s.flux.author_name.clone(),
                        email: s.flux.author_email.clone(),
                    },
                    message_template: template::COMMIT_MESSAGE.to_string(),
                },
                push: if a.merge_request {
                    PushSpec {
                        branch: merge_request_branch(&a.branch),
                        options: [
                            ("merge_request.create".to_string(), String::new()),
                            ("merge_request.target".to_string(), a.branch.clone()),
                            // The controller checks out the push branch when
                            // it exists on the remote and builds on it
                            // (v1.0.0 `internal/source/source.go:268-272`,
                            // `SwitchBranch`); GitLab deleting it at the
                            // merge makes the next run start from `branch`.
                            (
                                "merge_request.remove_source_branch".to_string(),
                                String::new(),
                            ),
                        ]
                        .into(),
                    }
                } else {
                    PushSpec {
                        branch: a.branch.clone(),
                        options: BTreeMap::new(),
                    }
                },
            },
            update: UpdateStrategy {
                path: a.path.clone(),
                strategy: "Setters",
            },
            policy_selector: LabelSelector {
                match_expressions: vec![LabelSelectorRequirement {
                    key: IMAGE_LABEL.into(),
                    operator: "In",
                    values: a.images.clone(),
                }],
            },
        },
    }
}

/// A readable name for a repository: `https://github.com/org/deploy.git` →
/// `org-deploy` (not unique: see [`git_repository_name`]).
fn repo_slug(url: &str) -> String {
    let path = url
        .trim_start_matches("https://")
        .split_once('/')
        .map_or(url, |(_, p)| p)
        .trim_end_matches('/')
        .trim_end_matches(".git");
    names::suggest_label(path)
}

/// The directory an update's target is in: a kustomization directory, or
/// a file's parent.
fn target_dir(u: &crate::model::Update) -> String {
    if u.yaml_key.is_some() {
        u.path.rsplit_once('/').map_or("", |(d, _)| d).to_string()
    } else {
        u.path.clone()
    }
}

/// The narrowest directory holding all of `dirs`, as `./a/b` (`./` for the root).
fn common_dir(dirs: &[String]) -> String {
    let mut common: Option<Vec<&str>> = None;
    for d in dirs {
        let parts: Vec<&str> = d.split('/').filter(|p| !p.is_empty()).collect();
        common = Some(match common {
            None => parts,
            Some(c) => c
                .iter()
                .zip(&parts)
                .take_while(|(a, b)| a == b)
                .map(|(a, _)| *a)
                .collect(),
        });
    }
    format!("./{}", common.unwrap_or_default().join("/"))
}

/// What the Flux output cannot do that images.yaml asks for: one warning per
/// kind of loss, with the images affected.
/// What settings.yaml's `security:` and `notifications:` ask for that Flux
/// cannot do: warnings naming the images concerned.
pub fn security_losses(model: &Model, settings: &Settings) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let on_upstream: Vec<&str> = model
        .managed
        .iter()
        .filter(|m| {
            m.bases
                .iter()
                .any(|b| matches!(b, crate::model::BaseRef::Upstream(_)))
        })
        .map(|m| m.name.as_str())
        .collect();
    let rebuilt: Vec<&str> = model
        .managed
        .iter()
        .filter(|m| !m.bases.is_empty())
        .map(|m| m.name.as_str())
        .collect();
    let mut say = |images: &[&str], what: &str, help: &str| {
        if images.is_empty() {
            return;
        }
        out.push(
            Diagnostic::warning(format!(
                "flux: {what} ({} image(s): {})",
                images.len(),
                images.join(", ")
            ))
            .help(help.to_string()),
        );
    };
    if let Some(sec) = &settings.security {
        if sec.scanner.is_some() || !sec.signatures.is_empty() {
            say(
                &on_upstream,
                "security gates (Trivy scans, cosign verification) are not applied: Flux cannot hold a base on a Job",
                "use the Kargo target for gated base updates, or a policy engine (Kyverno, Connaisseur) to verify images at admission",
            );
        }
        if sec.fast_path() {
            say(
                &on_upstream,
                "the CVE fast path (`security.cveFastPath`) has no Flux equivalent: Flux does not rebuild",
                "use the Kargo target for rebuilds",
            );
        }
    }
    if !settings.notifications.is_empty() {
        say(
            &rebuilt,
            "`notifications` are not emitted: the Flux output has no rebuilds to announce",
            "announce what Flux does with notification-controller Providers and Alerts",
        );
    }
    out
}

pub fn losses(model: &Model) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    if model.managed.iter().all(|m| m.updates.is_empty())
        && model.upstream.iter().all(|u| u.updates.is_empty())
    {
        out.push(
            Diagnostic::warning("flux: no image has `updates:`, so the Flux output is empty")
                .help("Flux automation follows the places an image is deployed: add `updates:` to the images it should keep current"),
        );
    }
    let mut say = |images: Vec<&str>, what: &str, help: &str| {
        if images.is_empty() {
            return;
        }
        out.push(
            Diagnostic::warning(format!(
                "flux: {what} ({} image(s): {})",
                images.len(),
                images.join(", ")
            ))
            .help(help.to_string()),
        );
    };
    let managed = |f: &dyn Fn(&Managed) -> bool| -> Vec<&str> {
        model
            .managed
            .iter()
            .filter(|m| f(m))
            .map(|m| m.name.as_str())
            .collect()
    };
    let any_update = |f: fn(&Update) -> bool| -> Vec<&str> {
        let mut v = managed(&|m: &Managed| m.updates.iter().any(f));
        v.extend(
            model
                .upstream
                .iter()
                .filter(|u| u.updates.iter().any(f))
                .map(|u| u.name.as_str()),
        );
        v
    };
    say(
        model
            .upstream
            .iter()
            .filter(|u| !u.updates.is_empty() && u.policy == TagPolicy::NewestBuild)
            .map(|u| u.name.as_str())
            .collect(),
        "`imageSelectionStrategy: NewestBuild` has no Flux equivalent (Flux cannot order by push time): its tags are ordered alphabetically",
        "use SemVer, or Lexical on tags that sort by time",
    );
    say(
        managed(&|m| !m.bases.is_empty()),
        "base-image rebuild triggers and cascades are not emitted: Flux cannot dispatch a build",
        "keep the Kargo output (or your CI) for rebuilds; Flux only deploys the builds it sees",
    );
    say(
        managed(&|m| !m.bases.is_empty() && m.rebuild_delay_secs > 0),
        "`rebuildDelay` is dropped: Flux has no minimum age, only the polling interval",
        "a tag is deployed at the first scan that sees it",
    );
    say(
        managed(&|m| !m.auto_rebuild),
        "`autoRebuild: false` has no Flux equivalent (only `suspend`, which stops everything)",
        "Flux never rebuilds; deployments of new builds still happen",
    );
    say(
        any_update(|u| u.after.is_some()),
        "`after`/`soak` is dropped: Flux has no staged promotion; every target gets each build at once",
        "use `versions`/`tagPattern` per environment, or the Kargo target",
    );
    say(
        any_update(|u| !u.auto_promote),
        "`autoPromote: false` is dropped: Flux updates every target automatically",
        "suspend the ImageUpdateAutomation to hold a repository",
    );
    say(
        any_update(|u| !u.verify.is_empty()),
        "`verify` checks are not run: Flux has no verification gate",
        "use the Kargo target for verified promotion",
    );
    say(
        any_update(|u| u.argocd.is_some()),
        "`argocd` syncs are not triggered: Flux pushes to git and Argo CD syncs on its own schedule",
        "enable auto-sync on the Applications, or use the Kargo target",
    );
    say(
        any_update(|u| u.pull_request && !merge_request(u)),
        "`pullRequest` on GitHub is dropped: Flux pushes straight to the branch (GitHub pull requests need an external Action)",
        "point the update at a branch a workflow opens pull requests from (GitLab merge requests are opened with push options)",
    );
    say(
        managed(&|m| crossed_merge_request(model, m)),
        "a direct and a merge-request automation of one repository and branch share a directory: the direct one also writes the merge-request target",
        "put the targets that go through merge requests in a directory of their own",
    );
    say(
        managed(&|m| {
            writes_digest(Image::Managed(m))
                && m.updates
                    .iter()
                    .any(|u| u.value == UpdateValue::Reference)
        }),
        "a `value: reference` update also gets `@digest`: the image's policy reflects the digest for another update",
        "use `value: pinned` for both, or `value: tag`",
    );
    out
}

/// A warning when generated GitRepositories push without credentials: with
/// no `flux.gitSecret` they get no `secretRef`, and the
/// image-automation-controller then clones and pushes with no auth options
/// at all (v1.0.0 `internal/source/git.go:180-197`, `getAuthOpts` reads a
/// Secret only when `spec.secretRef` is set), which a private or protected
/// repository refuses. Repositories named in `flux.gitRepositories` are the
/// user's own objects and are not judged.
pub fn missing_credentials(model: &Model, settings: &Settings) -> Option<Diagnostic> {
    if settings.flux.git_secret.is_some() {
        return None;
    }
    let mut repos: BTreeSet<String> = BTreeSet::new();
    let mut shown: Vec<&str> = Vec::new();
    let updates = model
        .managed
        .iter()
        .flat_map(|m| &m.updates)
        .chain(model.upstream.iter().flat_map(|u| &u.updates));
    for u in updates {
        let url = normalize_git_url(&u.repo_url);
        if settings.flux.existing_git_repository(&url).is_none() && repos.insert(url) {
            shown.push(&u.repo_url);
        }
    }
    if shown.is_empty() {
        return None;
    }
    let more = shown.len().saturating_sub(3);
    let mut list = shown[..shown.len().min(3)].join(", ");
    if more > 0 {
        let _ = write!(list, ", and {more} more");
    }
    Some(
        Diagnostic::warning(format!(
            "flux: no `flux.gitSecret` is set, so the {} generated GitRepository object(s) have no `secretRef` and the image-automation-controller pushes without credentials ({list})",
            shown.len()
        ))
        .help(format!(
            "add `flux: {{gitSecret: <name>}}` to settings.yaml, naming a Secret in namespace `{}` with the git credentials (`username` and `password` for https, `identity` and `known_hosts` for ssh); or list existing GitRepositories under `flux.gitRepositories`",
            settings.flux.namespace
        )),
    )
}

/// Whether some target of `m` that goes through a GitLab merge request
/// lies inside the path of the direct automation of the same repository and
/// branch that also selects `m` (or the other way round).
fn crossed_merge_request(model: &Model, m: &Managed) -> bool {
    m.updates.iter().filter(|u| merge_request(u)).any(|mr| {
        let same = |u: &crate::model::Update| {
            normalize_git_url(&u.repo_url) == normalize_git_url(&mr.repo_url)
                && u.branch == mr.branch
        };
        let group = |want_mr: bool| -> Vec<String> {
            model
                .managed
                .iter()
                .flat_map(|o| &o.updates)
                .filter(|u| same(u) && merge_request(u) == want_mr)
                .map(target_dir)
                .collect()
        };
        let direct = group(false);
        if direct.is_empty() || !m.updates.iter().any(|u| same(u) && !merge_request(u)) {
            return false;
        }
        let inside = |dir: &str, path: &str| {
            let path = path.trim_start_matches("./");
            path.is_empty() || dir == path || dir.starts_with(&format!("{path}/"))
        };
        let (dp, mp) = (common_dir(&direct), common_dir(&group(true)));
        inside(&target_dir(mr), &dp)
            || m.updates
                .iter()
                .filter(|u| same(u) && !merge_request(u))
                .any(|u| inside(&target_dir(u), &mp))
    })
}

#[cfg(test)]
mod tests;
