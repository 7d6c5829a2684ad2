//! Update Stages: one per (image, update) — the places that deploy an image
//! follow each new build. The image is a managed image, or an external
//! image watched upstream ([`Deployed`]).
//!
//! The Stage takes the image's builds from its Warehouse (an image-only
//! origin, so commits to the sources never bump a deployment), or — with
//! `after` — the Freight verified in that other update Stage, after
//! `requiredSoakTime`. Steps (every config typed in [`super::objects`]):
//!
//! 1. `git-clone` the branch into `./repo`, author set there, and
//!    `yaml-parse` the value about to be replaced (`continueOnError`: it only
//!    feeds the commit message; one per kustomization file name Kargo
//!    accepts);
//! 2. `kustomize-set-image` (the kustomization's `images:` entry named after
//!    the image's repository, its `newName` kept) or `yaml-update` (one
//!    existing key);
//! 3. `git-commit` with a message naming the image, the old and new value and the path
//!    (no commit when nothing changed, so a re-promotion is a no-op);
//! 4. `git-push` to the branch — or, with `pullRequest`, to a generated
//!    branch, then `git-open-pr` (Skipped when there is nothing to merge) and
//!    `git-wait-for-pr` (only after an open-pr that Succeeded) with a timeout;
//! 5. `argocd-update` when `argocd` is set: a hard refresh and a sync of the
//!    Application to its branch's head, and a wait for that sync.
//!
//! Why `argocd-update` names no `desiredRevision` (Kargo v1.11.2): `git-push`
//! rebases onto whatever reached the branch meanwhile (the default
//! integration policy), so `git-commit`'s SHA may not be what was pushed
//! (`git_pusher.go:65`, `pkg/controller/git/remote_commit_integration.go:58-97`);
//! a pinned revision is compared exactly with the Application's synced
//! revision for as long as the Freight stays (`health/checker/builtin/argocd.go:331-368`),
//! so the next commit to the branch by anyone would make the Stage Unhealthy
//! and hold verification (`regular_stages.go:1233-1238`); a GitLab
//! fast-forward merge has no merge SHA at all (`git_pr_waiter.go:164`).
//! Without one, the step syncs the branch's head after the push — which
//! holds the pushed commit — and waits for that operation
//! (`argocd_updater.go:481-512`, the empty desired revision skipped at
//! `:541-545`); health then follows the Application's own health
//! (`health/checker/builtin/argocd.go:304-307, 376-410`), so verification
//! starts once the new pods are rolled out.
//!
//! Every value Kargo re-types after evaluation (tags, digests) is one
//! `${{ quote(…) }}` template, so `1.20` stays `"1.20"`.

use super::objects::{
    AnalysisTemplate, AnalysisTemplateSpec, Container, EnvVar, JobMetric, JobSpec, Metric,
    MetricProvider, NameRef, NameValue, PodSpec, PodTemplate, Verification, WebMetric,
    ROLLOUTS_API,
};
use super::objects::{
    ArgocdApp, ArgocdSource, ArgocdUpdateConfig, FreightOrigin, FreightRequest, FreightSources,
    GitAuthor, GitCheckout, GitCloneConfig, GitCommitConfig, GitOpenPrConfig, GitPushConfig,
    GitWaitForPrConfig, KustomizeImage, KustomizeSetImageConfig, PromotionStep, PromotionTemplate,
    PromotionTemplateSpec, Stage, StageSpec, StepConfig, StepRetry, YamlParseConfig,
    YamlParseOutput, YamlUpdate, YamlUpdateConfig, KARGO_API,
};
use super::{
    image_label, meta, update_stage_name, verify_template_name, AUTO_PROMOTE_LABEL, IMAGE_LABEL,
    ROLE_LABEL,
};
use crate::config::enrollment::{BuildField, UpdateValue};
use crate::config::settings::Settings;
use crate::model::{Check, Managed, TagOrder, Update, Upstream};
use crate::targets::kargo::expr::{self, ImageField, Piece};
use std::fmt::Write as _;

/// Where the repository is checked out in the promotion's workspace.
pub const CHECKOUT: &str = "./repo";
/// The author of every commit an update Stage makes.
pub const AUTHOR_NAME: &str = "imgf";
pub const AUTHOR_EMAIL: &str = "imgf@kargo.local";
/// How long a pull request may stay open before the promotion fails.
pub const PR_TIMEOUT: &str = "168h";
/// How long an Argo CD sync may take.
pub const SYNC_TIMEOUT: &str = "15m";
/// Consecutive errors (an API hiccup) a polling step tolerates.
pub const POLL_ERROR_THRESHOLD: u32 = 5;
/// The file names Kargo looks for in a kustomization directory, in its
/// order (`konfig.RecognizedKustomizationFileNames`, used by
/// `kustomize_image_setter.go:332-359`).
pub const KUSTOMIZATION_FILES: [&str; 3] =
    ["kustomization.yaml", "kustomization.yml", "Kustomization"];

/// An image whose builds update Stages deploy.
#[derive(Debug, Clone)]
pub struct Deployed<'a> {
    /// The enrollment name (names the Stages).
    pub name: &'a str,
    /// `registry/repository`, as its Warehouse subscribes to it.
    pub repo_url: &'a str,
    /// Its Warehouse.
    pub warehouse: String,
    /// Its Warehouse follows one tag, by digest: the tag of every build is
    /// the same, so only the digest tells builds apart.
    pub fixed_tag: Option<&'a str>,
    /// Built here (a managed image), or watched upstream (an external one).
    pub managed: bool,
    /// The regex its Warehouse's tags must match (`tagPattern`, an external
    /// image's filter); `None` for semantic versions.
    pub tag_filter: Option<&'a str>,
    pub updates: &'a [Update],
}

impl<'a> Deployed<'a> {
    pub fn managed(m: &'a Managed) -> Self {
        Deployed {
            name: &m.name,
            repo_url: &m.repo_url,
            warehouse: super::image_warehouse_name(&m.name),
            fixed_tag: super::warehouse::selects_by_digest(m)
                .then_some(super::warehouse::UNVERSIONED_TAG),
            managed: true,
            tag_filter: match &m.tags {
                TagOrder::BuildId { pattern, .. } => Some(pattern),
                TagOrder::Versions(_) => None,
            },
            updates: &m.updates,
        }
    }

    pub fn external(u: &'a Upstream) -> Self {
        Deployed {
            name: &u.name,
            repo_url: &u.repo_url,
            warehouse: crate::names::fit(&u.name),
            fixed_tag: u.one_tag(),
            managed: false,
            tag_filter: Some(&u.tag_regex),
            updates: &u.updates,
        }
    }

    /// What update `u` writes. Images.yaml's `value`; without one, `tag` —
    /// or, when every build has the same tag, the kustomization's `digest`
    /// (a yaml-update's key could hold either: the user must say, see
    /// [`super::preflight`]).
    pub fn value(&self, up: &Update) -> UpdateValue {
        if self.fixed_tag.is_some() && !up.value_given && up.yaml_key.is_none() {
            UpdateValue::Digest
        } else {
            up.value
        }
    }

    /// The field of the build being deployed, as an expression yielding a string.
    fn field(&self, f: ImageField) -> String {
        expr::image_field(self.repo_url, &self.warehouse, f)
    }
}

/// The update Stage of `d.updates[u]`.
pub(super) fn stage(d: &Deployed<'_>, u: usize, settings: &Settings) -> Stage {
    let up = &d.updates[u];
    let name = update_stage_name(d.name, &up.name);
    let label = image_label(d.name);
    let mut labels = vec![(IMAGE_LABEL, label.as_str()), (ROLE_LABEL, "update")];
    if up.auto_promote {
        labels.push((AUTO_PROMOTE_LABEL, "true"));
    }
    let requested = match up.after {
        None => FreightRequest::direct(d.warehouse.clone()),
        Some(a) => FreightRequest {
            origin: FreightOrigin {
                kind: "Warehouse",
                name: d.warehouse.clone(),
            },
            sources: FreightSources {
                direct: false,
                stages: vec![update_stage_name(d.name, &d.updates[a].name)],
                required_soak_time: (up.soak_secs > 0).then(|| crate::duration::hms(up.soak_secs)),
                availability_strategy: None,
            },
        },
    };
    Stage {
        api_version: KARGO_API,
        kind: "Stage",
        metadata: meta(name, settings, &labels),
        spec: StageSpec {
            shard: None,
            requested_freight: vec![requested],
            promotion_template: Some(PromotionTemplate {
                spec: PromotionTemplateSpec {
                    steps: steps(d, up),
                },
            }),
            verification: (!up.verify.is_empty()).then(|| Verification {
                analysis_templates: vec![NameRef {
                    name: verify_template_name(d.name, &up.name),
                }],
                args: vec![
                    NameValue {
                        name: VERIFY_ARGS[0].into(),
                        value: expr::template(&expr::quote(&d.field(ImageField::Tag))),
                    },
                    NameValue {
                        name: VERIFY_ARGS[1].into(),
                        value: expr::template(&expr::quote(&d.field(ImageField::Digest))),
                    },
                ],
            }),
        },
    }
}

/// The args an update's AnalysisTemplate takes: the tag and the digest just
/// rolled out (`IMAGE_TAG` and `IMAGE_DIGEST` in an end-to-end Job).
pub const VERIFY_ARGS: [&str; 2] = ["tag", "digest"];
/// How many times a health check is measured, and how far apart.
pub const HEALTH_COUNT: u32 = 3;
pub const HEALTH_INTERVAL: &str = "20s";
/// A version check (`expectBuild`) is measured until the new build answers
/// this many times in a row, at most [`VERSION_COUNT`] times (15 minutes):
/// the answers of the old pods during a rollout do not fail it.
pub const VERSION_SUCCESSES: u32 = 3;
pub const VERSION_COUNT: u32 = 45;
/// How long an end-to-end Job may run.
pub const E2E_DEADLINE_SECONDS: i64 = 1800;

/// `{{args.<name>}}`, as Argo Rollouts substitutes it in the whole metric
/// (`utils/analysis/factory.go:109-127`).
fn arg(name: &str) -> String {
    format!("{{{{args.{name}}}}}")
}

/// The AnalysisTemplate that verifies `d.updates[u]`: one `web` metric per
/// health check, one `job` metric per end-to-end test. Kargo runs it once
/// the Stage is healthy after the promotion; Freight that fails it never
/// reaches an update `after` this one.
pub(super) fn verify_template(d: &Deployed<'_>, u: usize, settings: &Settings) -> AnalysisTemplate {
    let up = &d.updates[u];
    let metrics = up
        .verify
        .iter()
        .enumerate()
        .map(|(i, check)| match check {
            Check::Http {
                url,
                json_path,
                expect,
                expect_build,
            } => {
                let web = MetricProvider {
                    job: None,
                    web: Some(WebMetric {
                        url: url.clone(),
                        json_path: json_path.clone(),
                        timeout_seconds: 10,
                    }),
                };
                match expect_build {
                    // Tags and digests are `[A-Za-z0-9_.:-]`: safe inside
                    // the quotes once substituted.
                    Some(b) => Metric {
                        name: format!("version-{}", i + 1),
                        count: Some(VERSION_COUNT),
                        interval: Some(HEALTH_INTERVAL),
                        success_condition: Some(format!(
                            "string(result) == \"{}\"",
                            arg(match b {
                                BuildField::Tag => VERIFY_ARGS[0],
                                BuildField::Digest => VERIFY_ARGS[1],
                            })
                        )),
                        failure_limit: Some(-1),
                        consecutive_success_limit: Some(VERSION_SUCCESSES),
                        provider: web,
                    },
                    None => Metric {
                        name: format!("health-{}", i + 1),
                        count: Some(HEALTH_COUNT),
                        interval: Some(HEALTH_INTERVAL),
                        // Compared as text: a JSON number comes back a float64.
                        success_condition: expect
                            .as_ref()
                            .map(|x| format!("string(result) == {}", expr::literal(x))),
                        failure_limit: None,
                        consecutive_success_limit: None,
                        provider: web,
                    },
                }
            }
            Check::Job {
                image,
                command,
                env,
            } => {
                let mut vars: Vec<EnvVar> = env
                    .iter()
                    .map(|(k, v)| EnvVar {
                        name: k.clone(),
                        value: Some(v.clone()),
                        value_from: None,
                    })
                    .collect();
                for (var, a) in [
                    ("IMAGE_TAG", VERIFY_ARGS[0]),
                    ("IMAGE_DIGEST", VERIFY_ARGS[1]),
                ] {
                    vars.push(EnvVar {
                        name: var.into(),
                        value: Some(arg(a)),
                        value_from: None,
                    });
                }
                Metric {
                    name: format!("e2e-{}", i + 1),
                    count: None,
                    interval: None,
                    success_condition: None,
                    failure_limit: None,
                    consecutive_success_limit: None,
                    provider: MetricProvider {
                        web: None,
                        job: Some(JobMetric {
                            spec: JobSpec {
                                backoff_limit: 0,
                                active_deadline_seconds: E2E_DEADLINE_SECONDS,
                                pod_failure_policy: None,
                                template: PodTemplate {
                                    spec: PodSpec {
                                        // Not imgf's: a test needs none of its rights.
                                        service_account_name: String::new(),
                                        restart_policy: "Never",
                                        image_pull_secrets: settings
                                            .kargo
                                            .image_pull_secrets
                                            .iter()
                                            .map(|n| NameRef { name: n.clone() })
                                            .collect(),
                                        init_containers: Vec::new(),
                                        volumes: Vec::new(),
                                        containers: vec![Container {
                                            name: "e2e".into(),
                                            image: image.clone(),
                                            command: command.clone(),
                                            args: Vec::new(),
                                            env: vars,
                                            volume_mounts: Vec::new(),
                                        }],
                                    },
                                },
                            },
                        }),
                    },
                }
            }
        })
        .collect();
    AnalysisTemplate {
        api_version: ROLLOUTS_API,
        kind: "AnalysisTemplate",
        metadata: meta(verify_template_name(d.name, &up.name), settings, &[]),
        spec: AnalysisTemplateSpec {
            args: VERIFY_ARGS
                .iter()
                .map(|a| NameRef { name: (*a).into() })
                .collect(),
            metrics,
        },
    }
}

fn step(uses: &'static str, alias: &str, config: StepConfig) -> PromotionStep {
    PromotionStep {
        uses,
        alias: alias.into(),
        condition: None,
        continue_on_error: false,
        retry: None,
        config,
    }
}

/// The aliases of the `yaml-parse` steps that read the value about to be
/// replaced: one for a yaml-update, one per kustomization file name.
fn current_aliases(up: &Update) -> Vec<String> {
    if up.yaml_key.is_some() {
        return vec!["current".into()];
    }
    (0..KUSTOMIZATION_FILES.len())
        .map(|i| match i {
            0 => "current".to_string(),
            _ => format!("current-{}", i + 1),
        })
        .collect()
}

/// The value the update replaces, read before it does (for the commit
/// message; a failure here only leaves the message without it). A
/// kustomization directory holds one of three file names: one step each,
/// all but one fail.
fn current_value(
    d: &Deployed<'_>,
    up: &Update,
    value: UpdateValue,
    dir: &str,
) -> Vec<PromotionStep> {
    let reads: Vec<(String, String)> = match &up.yaml_key {
        Some(key) => vec![(dir.to_string(), expr::yaml_key_lookup(key))],
        None => KUSTOMIZATION_FILES
            .iter()
            .map(|f| {
                (
                    format!("{dir}/{f}"),
                    expr::kustomize_image_lookup(
                        d.repo_url,
                        if value == UpdateValue::Digest {
                            "digest"
                        } else {
                            "newTag"
                        },
                    ),
                )
            })
            .collect(),
    };
    reads
        .into_iter()
        .zip(current_aliases(up))
        .map(|((path, program), alias)| {
            let mut s = step(
                "yaml-parse",
                &alias,
                StepConfig::YamlParse(YamlParseConfig {
                    path,
                    outputs: vec![YamlParseOutput {
                        name: "value".into(),
                        from_expression: program,
                    }],
                }),
            );
            s.continue_on_error = true;
            s
        })
        .collect()
}

/// The pieces of what the update writes.
fn value_pieces(d: &Deployed<'_>, value: UpdateValue) -> Vec<Piece> {
    let tag = Piece::Expr(d.field(ImageField::Tag));
    let digest = Piece::Expr(d.field(ImageField::Digest));
    let repo = Piece::Text(format!("{}:", d.repo_url));
    match value {
        UpdateValue::Tag => vec![tag],
        UpdateValue::Digest => vec![digest],
        UpdateValue::Reference => vec![repo, tag],
        UpdateValue::Pinned => vec![repo, tag, Piece::Text("@".into()), digest],
    }
}

/// What the update writes, as one template that stays a string.
pub fn value_template(d: &Deployed<'_>, value: UpdateValue) -> String {
    expr::template(&expr::quote(&expr::concat(&value_pieces(d, value))))
}

/// `outputs["alias"].rest…`
fn output(alias: &str, rest: &str) -> String {
    format!("outputs[{}].{rest}", expr::literal(alias))
}

fn steps(d: &Deployed<'_>, up: &Update) -> Vec<PromotionStep> {
    let dir = format!("{CHECKOUT}/{}", up.path);
    let value = d.value(up);
    let mut steps = vec![step(
        "git-clone",
        "clone",
        StepConfig::GitClone(GitCloneConfig {
            repo_url: up.repo_url.clone(),
            author: GitAuthor {
                name: AUTHOR_NAME.into(),
                email: AUTHOR_EMAIL.into(),
            },
            checkout: vec![GitCheckout {
                branch: up.branch.clone(),
                path: CHECKOUT.into(),
            }],
        }),
    )];
    steps.extend(current_value(d, up, value, &dir));
    let template = value_template(d, value);
    steps.push(if let Some(key) = &up.yaml_key {
        step(
            "yaml-update",
            "update",
            StepConfig::YamlUpdate(YamlUpdateConfig {
                path: dir,
                updates: vec![YamlUpdate {
                    key: key.clone(),
                    value: template,
                }],
            }),
        )
    } else {
        let (tag, digest) = match value {
            UpdateValue::Digest => (None, Some(template)),
            _ => (Some(template), None),
        };
        step(
            "kustomize-set-image",
            "update",
            StepConfig::KustomizeSetImage(KustomizeSetImageConfig {
                path: dir,
                images: vec![KustomizeImage {
                    image: d.repo_url.to_string(),
                    new_name: "*",
                    tag,
                    digest,
                }],
            }),
        )
    });
    // `?.`: a failed yaml-parse leaves no output at all.
    let mut current = String::from("(");
    for alias in current_aliases(up) {
        let _ = write!(current, "outputs[{}]?.value ?? ", expr::literal(&alias));
    }
    current.push_str("\"(unknown)\")");
    // Not quoted: `quote` would turn the newlines into `\n`, and a message
    // starting `imgf: ` is never re-typed.
    let mut message = vec![
        Piece::Text(format!("imgf: update {} from ", d.repo_url)),
        Piece::Expr(current),
        Piece::Text(" to ".into()),
    ];
    message.extend(value_pieces(d, value));
    message.push(Piece::Text(format!(" in {}\n\n", up.path)));
    message.push(Piece::Expr(format!(
        "({} ?? \"\")",
        output("update", "commitMessage")
    )));
    steps.push(step(
        "git-commit",
        "commit",
        StepConfig::GitCommit(GitCommitConfig {
            path: CHECKOUT.into(),
            message: expr::template(&expr::concat(&message)),
        }),
    ));
    steps.push(step(
        "git-push",
        "push",
        StepConfig::GitPush(GitPushConfig {
            path: CHECKOUT.into(),
            generate_target_branch: up.pull_request,
        }),
    ));
    if up.pull_request {
        let mut title = vec![Piece::Text(format!("imgf: update {} to ", d.repo_url))];
        title.extend(value_pieces(d, value));
        title.push(Piece::Text(format!(" in {}", up.path)));
        steps.push(step(
            "git-open-pr",
            "open-pr",
            StepConfig::GitOpenPr(GitOpenPrConfig {
                repo_url: up.repo_url.clone(),
                provider: up.provider.as_str(),
                source_branch: expr::template(&expr::quote(&output("push", "branch"))),
                target_branch: up.branch.clone(),
                title: expr::template(&expr::quote(&expr::concat(&title))),
            }),
        ));
        let mut wait = step(
            "git-wait-for-pr",
            "wait-for-pr",
            StepConfig::GitWaitForPr(GitWaitForPrConfig {
                repo_url: up.repo_url.clone(),
                provider: up.provider.as_str(),
                pr_number: expr::template(&output("open-pr", "pr.id")),
            }),
        );
        // An `if` replaces the default skip-after-failure
        // (`evaluator.go:224-230`): only a pull request that was opened is
        // waited for — not after an errored open-pr, nor a Skipped one
        // (nothing to merge).
        wait.condition = Some(expr::template("status(\"open-pr\") == \"Succeeded\""));
        wait.retry = Some(StepRetry {
            timeout: PR_TIMEOUT,
            error_threshold: POLL_ERROR_THRESHOLD,
        });
        steps.push(wait);
    }
    if let Some((namespace, app)) = &up.argocd {
        let mut sync = step(
            "argocd-update",
            "sync",
            StepConfig::ArgocdUpdate(ArgocdUpdateConfig {
                apps: vec![ArgocdApp {
                    name: app.clone(),
                    namespace: namespace.clone(),
                    sources: vec![ArgocdSource {
                        repo_url: up.repo_url.clone(),
                    }],
                }],
            }),
        );
        sync.retry = Some(StepRetry {
            timeout: SYNC_TIMEOUT,
            error_threshold: POLL_ERROR_THRESHOLD,
        });
        steps.push(sync);
    }
    steps
}
