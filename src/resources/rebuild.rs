//! Rebuild triggers: a Stage per (dependent, base) pair whose `http` step
//! asks the dependent's CI to rebuild — GitHub's workflow_dispatch or
//! GitLab's pipeline trigger.
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
    meta, rebuild_stage_name, warehouse_name, AUTO_PROMOTE_LABEL, IMAGE_LABEL, ROLE_LABEL,
};
use crate::config::enrollment::Provider;
use crate::config::settings::Settings;
use crate::expr::{image_from_in_json, secret, ImageField};
use crate::model::{BaseRef, Managed, Model};

/// GitHub's REST API version the request is written against.
pub const GITHUB_API_VERSION: &str = "2022-11-28";

pub(super) fn stage(model: &Model, dependent: usize, base: BaseRef, settings: &Settings) -> Stage {
    let m = &model.managed[dependent];
    let base_name = model.base_name(base);
    let warehouse = warehouse_name(model, base);
    let name = rebuild_stage_name(&m.name, base_name);
    let mut labels = vec![(IMAGE_LABEL, m.name.as_str()), (ROLE_LABEL, "rebuild")];
    if m.auto_rebuild {
        labels.push((AUTO_PROMOTE_LABEL, "true"));
    }
    let context = Context {
        stage: &name,
        base_ref: base_reference(model, base),
        base_digest: image_from_in_json(model.base_repo_url(base), ImageField::Digest),
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
            requested_freight: vec![FreightRequest {
                origin: FreightOrigin {
                    kind: "Warehouse",
                    name: warehouse,
                },
                sources: FreightSources {
                    direct: true,
                    stages: Vec::new(),
                    required_soak_time: None,
                },
            }],
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
    /// `repo:tag` of the base, the tag as an expression for managed bases.
    base_ref: String,
    base_digest: String,
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
            format!("{r}:{}", image_from_in_json(r, ImageField::Tag))
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
                "base_image" => ctx.base_ref.clone(),
                _ => ctx.base_digest.clone(),
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
