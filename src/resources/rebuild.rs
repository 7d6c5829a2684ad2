//! Rebuild triggers: one Stage per managed image whose `http` step asks the
//! image's CI to rebuild — GitHub's workflow_dispatch or GitLab's pipeline
//! trigger — whichever of its bases changed.
//!
//! The Stage requests Freight from every base: an upstream base through that
//! base's soak Stage with `requiredSoakTime` = the image's `rebuildDelay` (so a
//! new digest must have been out that long), an enrolled base (a cascade)
//! through that image's analysis Stage, so the dependent rebuilds only after
//! the new build of its base is published and analysed. The dispatch lists
//! every base and the digest it incorporates.
//!
//! The request body is produced by a JSON serializer from typed values, and
//! the only expressions in it are the ones [`crate::expr`] builds, so no
//! branch, name or digest can change its structure.

use indexmap::IndexMap;
use serde::Serialize;

use super::kargo::{
    FreightOrigin, FreightRequest, FreightSources, HttpConfig, NameValue, PromotionStep,
    PromotionTemplate, PromotionTemplateSpec, Stage, StageSpec, StepConfig, KARGO_API,
};
use super::{
    analysis_stage_name, meta, rebuild_stage_name, soak_stage_name, warehouse_name,
    AUTO_PROMOTE_LABEL, IMAGE_LABEL, ROLE_LABEL,
};
use crate::config::enrollment::Provider;
use crate::config::settings::Settings;
use crate::expr::{image_from_in_json_or, secret, ImageField};
use crate::model::{BaseRef, Managed, Model};

/// GitHub's REST API version the request is written against.
pub const GITHUB_API_VERSION: &str = "2022-11-28";

/// A duration as Kargo's `requiredSoakTime` accepts it (hours, minutes and
/// seconds only: `7d` becomes `168h`).
pub fn soak_time(secs: u64) -> String {
    let (h, m, s) = (secs / 3600, secs % 3600 / 60, secs % 60);
    let mut out = String::new();
    if h > 0 {
        out.push_str(&format!("{h}h"));
    }
    if m > 0 {
        out.push_str(&format!("{m}m"));
    }
    if s > 0 || out.is_empty() {
        out.push_str(&format!("{s}s"));
    }
    out
}

/// The rebuild Stage of managed image `dependent`.
pub(super) fn stage(model: &Model, dependent: usize, settings: &Settings) -> Stage {
    let m = &model.managed[dependent];
    let name = rebuild_stage_name(&m.name);
    let mut labels = vec![(IMAGE_LABEL, m.name.as_str()), (ROLE_LABEL, "rebuild")];
    if m.auto_rebuild {
        labels.push((AUTO_PROMOTE_LABEL, "true"));
    }
    let soak = (m.rebuild_delay_secs > 0).then(|| soak_time(m.rebuild_delay_secs));
    let requested_freight = m
        .bases
        .iter()
        .map(|b| FreightRequest {
            origin: FreightOrigin {
                kind: "Warehouse",
                name: warehouse_name(model, *b),
            },
            sources: FreightSources {
                direct: false,
                stages: vec![match b {
                    BaseRef::Upstream(_) => soak_stage_name(model.base_name(*b)),
                    BaseRef::Managed(i) => analysis_stage_name(&model.managed[*i].name),
                }],
                required_soak_time: soak.clone(),
            },
        })
        .collect();
    let context = Context {
        stage: &name,
        base_refs: m
            .bases
            .iter()
            .map(|b| base_reference(model, *b))
            .collect::<Vec<_>>()
            .join(","),
        base_digests: m
            .bases
            .iter()
            .map(|b| image_from_in_json_or(model.base_repo_url(*b), ImageField::Digest, "none"))
            .collect::<Vec<_>>()
            .join(","),
    };
    let config = match m.provider {
        Provider::Github => github(m, &context, settings),
        Provider::Gitlab => gitlab(m, &context, settings),
    };
    Stage {
        api_version: KARGO_API,
        kind: "Stage",
        metadata: meta(name.clone(), settings, &labels),
        spec: StageSpec {
            requested_freight,
            promotion_template: Some(PromotionTemplate {
                spec: PromotionTemplateSpec {
                    steps: vec![PromotionStep {
                        uses: "http",
                        alias: "dispatch".into(),
                        config: StepConfig::Http(config),
                    }],
                },
            }),
            verification: None,
        },
    }
}

/// What a dispatch can tell the build about why it runs.
struct Context<'a> {
    stage: &'a str,
    /// `repo:tag` of every base, comma-separated, tags of managed bases as expressions.
    base_refs: String,
    /// The digest of every base in the same order, as expressions.
    base_digests: String,
}

/// The base as a reference a person recognises: `docker.io/library/node:22`.
fn base_reference(model: &Model, base: BaseRef) -> String {
    match base {
        BaseRef::Upstream(i) => {
            let u = &model.upstream[i];
            match &u.tag {
                Some(t) => format!("{}:{t}", u.repo_url),
                None => u.repo_url.clone(),
            }
        }
        BaseRef::Managed(i) => {
            let r = &model.managed[i].repo_url;
            format!("{r}:{}", image_from_in_json_or(r, ImageField::Tag, "none"))
        }
    }
}

/// The inputs sent, in the image's chosen subset and a fixed order.
fn inputs(m: &Managed, ctx: &Context<'_>, upper: bool) -> IndexMap<String, String> {
    m.inputs
        .iter()
        .map(|name| {
            let value = match *name {
                "version_bump" => m.version_bump.clone(),
                "triggered_by" => format!("kargo/{}", ctx.stage),
                "base_image" => ctx.base_refs.clone(),
                _ => ctx.base_digests.clone(),
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

fn json<T: Serialize>(body: &T) -> String {
    serde_json::to_string(body).expect("a struct of strings always serializes")
}

fn github(m: &Managed, ctx: &Context<'_>, settings: &Settings) -> HttpConfig {
    #[derive(Serialize)]
    struct Body<'a> {
        #[serde(rename = "ref")]
        git_ref: &'a str,
        inputs: IndexMap<String, String>,
    }
    let workflow = m.workflow.as_deref().unwrap_or_default();
    HttpConfig {
        url: format!(
            "{}/repos/{}/actions/workflows/{workflow}/dispatches",
            settings.github_api, m.source_repo
        ),
        method: "POST",
        headers: vec![
            header("Accept", "application/vnd.github+json"),
            header(
                "Authorization",
                &format!("Bearer {}", secret(&settings.github_token)),
            ),
            header("Content-Type", "application/json"),
            header("X-GitHub-Api-Version", GITHUB_API_VERSION),
        ],
        body: json(&Body {
            git_ref: &m.branch,
            inputs: inputs(m, ctx, false),
        }),
        timeout: "30s",
        success_expression: "response.status == 204".into(),
        failure_expression: "response.status >= 400 && response.status < 500".into(),
    }
}

fn gitlab(m: &Managed, ctx: &Context<'_>, settings: &Settings) -> HttpConfig {
    #[derive(Serialize)]
    struct Body<'a> {
        token: String,
        #[serde(rename = "ref")]
        git_ref: &'a str,
        variables: IndexMap<String, String>,
    }
    HttpConfig {
        url: format!(
            "{}/api/v4/projects/{}/trigger/pipeline",
            settings.gitlab_url,
            m.source_repo.replace('/', "%2F")
        ),
        method: "POST",
        headers: vec![header("Content-Type", "application/json")],
        body: json(&Body {
            token: secret(&settings.gitlab_token),
            git_ref: &m.branch,
            variables: inputs(m, ctx, true),
        }),
        timeout: "30s",
        success_expression: "response.status == 201".into(),
        failure_expression: "response.status >= 400 && response.status < 500".into(),
    }
}

fn header(name: &str, value: &str) -> NameValue {
    NameValue {
        name: name.into(),
        value: value.into(),
    }
}
