//! Rebuild triggers: one Stage per managed image whose `http` step asks the
//! image's CI to rebuild — GitHub's `workflow_dispatch` or GitLab's pipeline
//! trigger — whichever of its bases changed.
//!
//! The Stage requests Freight from every base: an upstream base through that
//! base's soak Stage with `requiredSoakTime` = the image's `rebuildDelay` (so a
//! new digest must have been out that long), an enrolled base (a cascade)
//! through that image's analysis Stage, so the dependent rebuilds only after
//! the new build of its base is published and analysed. The dispatch lists
//! every base and the digest it incorporates.
//!
//! Kargo evaluates the step config and re-types each value after
//! substitution, so the body is one expression, `${{ quote({…}) }}`: a map
//! that `quote` turns into its JSON text, which stays a string. Every value
//! in it is a string literal escaped by [`crate::targets::kargo::expr`] or an expression that
//! yields a string, so no branch, name or digest can change its structure.
//! Every base is read with its Warehouse named (`warehouse(…)`): two bases
//! from one repository (`python:3.12` and `python:3.12-slim`) stay apart.
//!
//! A 4xx other than 429 fails at once (GitHub's 422 for an undeclared input
//! will not go away by itself); a 429 or a 5xx matches neither expression, so
//! Kargo sends the request again every `pollInterval` until `retry.timeout`.

use super::objects::{
    FreightOrigin, FreightRequest, FreightSources, HttpConfig, NameValue, PromotionStep,
    PromotionTemplate, PromotionTemplateSpec, Stage, StageSpec, StepConfig, StepRetry, KARGO_API,
};
use super::{
    analysis_stage_name, image_label, meta, rebuild_stage_name, soak_stage_name, warehouse_name,
    AUTO_PROMOTE_LABEL, IMAGE_LABEL, ROLE_LABEL,
};
use crate::config::enrollment::Provider;
use crate::config::settings::Settings;
use crate::model::{BaseRef, Managed, Model};
use crate::targets::kargo::expr::{self, ImageField, Piece};

/// GitHub's REST API version the request is written against.
pub const GITHUB_API_VERSION: &str = "2022-11-28";
/// How long a dispatch is retried after a 429, a 5xx or a network error.
pub const DISPATCH_TIMEOUT: &str = "1h";
/// How often it is retried meanwhile.
pub const DISPATCH_POLL_INTERVAL: &str = "1m";
/// Consecutive network errors tolerated before the promotion fails.
pub const DISPATCH_ERROR_THRESHOLD: u32 = 5;
/// The failure condition: a client error that a retry cannot fix.
pub const FAILURE_EXPRESSION: &str =
    "response.status >= 400 && response.status < 500 && response.status != 429";

/// The rebuild Stage of managed image `dependent`.
pub(super) fn stage(model: &Model, dependent: usize, settings: &Settings) -> Stage {
    let m = &model.managed[dependent];
    let name = rebuild_stage_name(&m.name);
    let label = image_label(&m.name);
    let mut labels = vec![(IMAGE_LABEL, label.as_str()), (ROLE_LABEL, "rebuild")];
    if m.auto_rebuild {
        labels.push((AUTO_PROMOTE_LABEL, "true"));
    }
    let soak = (m.rebuild_delay_secs > 0).then(|| crate::duration::hms(m.rebuild_delay_secs));
    let fast = super::security::fast_path(m, settings);
    let requested_freight = m
        .bases
        .iter()
        .map(|b| FreightRequest {
            origin: FreightOrigin {
                kind: "Warehouse",
                name: warehouse_name(model, *b),
            },
            sources: match b {
                BaseRef::Upstream(u) if fast => super::security::fast_path_sources(model, m, *u),
                _ => FreightSources {
                    direct: false,
                    stages: vec![match b {
                        BaseRef::Upstream(_) => soak_stage_name(model.base_name(*b)),
                        BaseRef::Managed(i) => analysis_stage_name(&model.managed[*i].name),
                    }],
                    required_soak_time: soak.clone(),
                    availability_strategy: None,
                },
            },
        })
        .collect();
    let context = Context {
        stage: &name,
        base_refs: join(m.bases.iter().map(|b| base_reference(model, *b)).collect()),
        base_digests: join(
            m.bases
                .iter()
                .map(|b| {
                    vec![Piece::Expr(expr::image_field_or(
                        model.base_repo_url(*b),
                        &warehouse_name(model, *b),
                        ImageField::Digest,
                        "none",
                    ))]
                })
                .collect(),
        ),
    };
    let config = match m.provider {
        Provider::Github => github(m, &context, settings),
        Provider::Gitlab => gitlab(m, &context, settings),
    };
    let mut steps = vec![PromotionStep {
        uses: "http",
        alias: "dispatch".into(),
        condition: None,
        continue_on_error: false,
        retry: Some(StepRetry {
            timeout: DISPATCH_TIMEOUT,
            error_threshold: DISPATCH_ERROR_THRESHOLD,
        }),
        config: StepConfig::Http(config),
    }];
    steps.extend(super::security::notify_steps(
        &super::security::About {
            image: &m.name,
            base_refs: &context.base_refs,
            base_digests: &context.base_digests,
            bases: m.bases.len(),
            auto: m.auto_rebuild,
        },
        settings,
    ));
    Stage {
        api_version: KARGO_API,
        kind: "Stage",
        metadata: meta(name.clone(), settings, &labels),
        spec: StageSpec {
            shard: None,
            requested_freight,
            promotion_template: Some(PromotionTemplate {
                spec: PromotionTemplateSpec { steps },
            }),
            verification: None,
        },
    }
}

/// What a dispatch can tell the build about why it runs.
struct Context<'a> {
    stage: &'a str,
    /// `repo:tag` of every base, comma-separated (tags of managed bases read at promotion time).
    base_refs: Vec<Piece>,
    /// The digest of every base in the same order.
    base_digests: Vec<Piece>,
}

/// `lists` joined with commas.
fn join(lists: Vec<Vec<Piece>>) -> Vec<Piece> {
    let mut out = Vec::new();
    for (i, l) in lists.into_iter().enumerate() {
        if i > 0 {
            out.push(Piece::Text(",".into()));
        }
        out.extend(l);
    }
    out
}

/// The base as a reference a person recognises: `docker.io/library/node:22`.
fn base_reference(model: &Model, base: BaseRef) -> Vec<Piece> {
    match base {
        BaseRef::Upstream(i) => {
            let u = &model.upstream[i];
            vec![Piece::Text(match &u.tag {
                Some(t) => format!("{}:{t}", u.repo_url),
                None => u.repo_url.clone(),
            })]
        }
        BaseRef::Managed(i) => {
            let r = &model.managed[i].repo_url;
            vec![
                Piece::Text(format!("{r}:")),
                Piece::Expr(expr::image_field_or(
                    r,
                    &warehouse_name(model, base),
                    ImageField::Tag,
                    "none",
                )),
            ]
        }
    }
}

/// The inputs sent, as expressions, in the image's chosen subset and a fixed order.
fn inputs(m: &Managed, ctx: &Context<'_>, upper: bool) -> Vec<(String, String)> {
    m.inputs
        .iter()
        .map(|name| {
            let value = match *name {
                "version_bump" => expr::literal(&m.version_bump),
                "triggered_by" => expr::literal(&format!("kargo/{}", ctx.stage)),
                "base_image" => expr::concat(&ctx.base_refs),
                _ => expr::concat(&ctx.base_digests),
            };
            let key = if upper {
                name.to_ascii_uppercase()
            } else {
                (*name).to_string()
            };
            (key, value)
        })
        .collect()
}

/// `${{ quote({…}) }}`: the body as JSON text that stays a string.
fn body(entries: &[(&str, String)]) -> String {
    expr::template(&expr::quote(&expr::map(entries)))
}

fn map_of(entries: &[(String, String)]) -> String {
    let borrowed: Vec<(&str, String)> = entries
        .iter()
        .map(|(k, v)| (k.as_str(), v.clone()))
        .collect();
    expr::map(&borrowed)
}

fn github(m: &Managed, ctx: &Context<'_>, settings: &Settings) -> HttpConfig {
    HttpConfig {
        url: dispatch_url(m, settings),
        method: "POST",
        headers: vec![
            header("Accept", "application/vnd.github+json"),
            header(
                "Authorization",
                &format!(
                    "Bearer {}",
                    expr::template(&expr::secret_field(&settings.providers.github_token))
                ),
            ),
            header("Content-Type", "application/json"),
            header("X-GitHub-Api-Version", GITHUB_API_VERSION),
        ],
        body: body(&[
            ("ref", expr::literal(&m.branch)),
            ("inputs", map_of(&inputs(m, ctx, false))),
        ]),
        timeout: "30s",
        poll_interval: DISPATCH_POLL_INTERVAL,
        success_expression: "response.status == 204".into(),
        failure_expression: FAILURE_EXPRESSION.into(),
    }
}

fn gitlab(m: &Managed, ctx: &Context<'_>, settings: &Settings) -> HttpConfig {
    HttpConfig {
        url: dispatch_url(m, settings),
        method: "POST",
        headers: vec![header("Content-Type", "application/json")],
        body: body(&[
            (
                "token",
                expr::secret_field(&settings.providers.gitlab_token),
            ),
            ("ref", expr::literal(&m.branch)),
            ("variables", map_of(&inputs(m, ctx, true))),
        ]),
        timeout: "30s",
        poll_interval: DISPATCH_POLL_INTERVAL,
        success_expression: "response.status == 201".into(),
        failure_expression: FAILURE_EXPRESSION.into(),
    }
}

/// Where the dispatch goes.
pub fn dispatch_url(m: &Managed, settings: &Settings) -> String {
    settings.providers.dispatch_url(
        m.provider,
        &m.source_repo,
        m.workflow.as_deref().unwrap_or_default(),
    )
}

fn header(name: &str, value: &str) -> NameValue {
    NameValue {
        name: name.into(),
        value: value.into(),
    }
}
