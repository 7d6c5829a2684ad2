//! `imgf updates check`: what would make each update target's Stage fail at
//! promotion time. [`promotion`] checks a target's file as Kargo's update
//! steps would use it, [`argocd`] the Argo CD Applications the update
//! Stages sync; the command reads the files and fetches the repositories,
//! and builds one [`Report`] of what it found. The summary line (text) and
//! `--format json` are two renderings of it.

pub(crate) mod argocd;
pub(crate) mod promotion;

use std::path::PathBuf;

use schemars::JsonSchema;
use serde::Serialize;

use crate::diagnostic::{Diagnostic, DiagnosticJson, Error};
use crate::model::Update;
use crate::targets::flux::Image;
use crate::targets::kargo::update_stage_name;
use crate::ExitStatus;
use argocd::repository_identity;

/// One update target as checked: where it was read, and what is wrong.
pub(crate) struct Target<'a> {
    pub(crate) image: Image<'a>,
    pub(crate) update: &'a Update,
    /// The file read (the kustomization found, or the YAML file); `None`
    /// when there was none to read, or the repository could not be fetched.
    pub(crate) file: Option<PathBuf>,
    /// False when the repository could not be fetched.
    pub(crate) checked: bool,
    pub(crate) problems: Vec<Diagnostic>,
}

/// An Argo CD Application found in the workspace that update Stages sync.
pub(crate) struct Application {
    pub(crate) file: PathBuf,
    pub(crate) namespace: String,
    pub(crate) name: String,
    /// The Stages its `authorized-stage` annotation must list.
    pub(crate) stages: Vec<String>,
    pub(crate) problems: Vec<Diagnostic>,
}

/// Which repository a workspace holds.
#[derive(Clone)]
pub(crate) enum Repo {
    /// A [`repository_identity`].
    Exactly(String),
    /// `org/name` as images.yaml writes it: any host.
    Path(String),
}

impl Repo {
    pub(crate) fn holds(&self, url: &str) -> bool {
        let id = repository_identity(url);
        match self {
            Repo::Exactly(r) => *r == id,
            // `org/name`, or `host/org/name` without a scheme.
            Repo::Path(p) => id == *p || id.ends_with(&format!("/{p}")),
        }
    }
}

/// A `--workspace`: a directory that stands for one repository and branch.
pub(crate) struct Workspace {
    pub(crate) dir: PathBuf,
    pub(crate) repo: Repo,
    /// The repository as shown: `origin`'s URL, or `REPO` as given.
    pub(crate) repo_shown: String,
    /// `None` when the directory is on no branch (not a git checkout, or a
    /// detached HEAD): it then stands for the one branch its repository's
    /// targets name.
    pub(crate) branch: Option<String>,
    /// `origin/HEAD`, when git knows it.
    pub(crate) default_branch: Option<String>,
    /// How the repository was found: `git`, `named` or `targets`.
    pub(crate) from: &'static str,
}

impl Workspace {
    pub(crate) fn holds(&self, u: &Update) -> bool {
        self.repo.holds(&u.repo_url) && self.branch.as_ref().is_none_or(|b| *b == u.branch)
    }
}

/// `updates check --format json` (the guide, docs/src/updates-check.md): stable,
/// fields are only ever added.
#[derive(Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Report {
    /// True when the check passed (exit 0): every target checked, no error.
    ok: bool,
    /// `kargo` or `flux`: what the targets were checked for.
    target: &'static str,
    /// The `--workspace` directories, and what each stands for.
    workspaces: Vec<WorkspaceJson>,
    targets: Vec<TargetJson>,
    applications: Vec<ApplicationJson>,
    summary: Summary,
    /// As [`Error::to_json`] lists them: every problem when the check
    /// failed (warnings too), else empty.
    errors: Vec<DiagnosticJson>,
    /// Every problem, as written on stderr (both renderings write them).
    #[serde(skip)]
    problems: Vec<Diagnostic>,
    /// How the check ended.
    #[serde(skip)]
    status: ExitStatus,
}

#[derive(Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
struct TargetJson {
    image: String,
    update: String,
    /// The update Stage (Kargo); null with `--target flux`.
    stage: Option<String>,
    kind: &'static str,
    #[serde(rename = "repoURL")]
    repo_url: String,
    branch: String,
    path: String,
    key: Option<String>,
    file: Option<String>,
    status: Status,
    problems: Vec<DiagnosticJson>,
}

#[derive(Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
struct WorkspaceJson {
    dir: String,
    /// `origin`'s URL, `REPO` as given, or the one repository of the targets.
    repository: String,
    /// Null when the directory is on no branch: it stands for the one
    /// branch its repository's targets name.
    branch: Option<String>,
    /// `git` (its `origin` remote), `named` (`REPO=DIR`) or `targets` (not a
    /// git checkout: the one repository every target names).
    from: &'static str,
}

#[derive(Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
struct ApplicationJson {
    namespace: String,
    name: String,
    file: String,
    authorized_stages: Vec<String>,
    status: Status,
    problems: Vec<DiagnosticJson>,
}

#[derive(Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(rename = "UpdatesCheckSummary")]
struct Summary {
    targets: usize,
    checked: usize,
    /// Targets whose repository could not be fetched.
    not_checked: usize,
    applications: usize,
    problems: usize,
}

/// `notChecked` when the target's repository could not be fetched, else
/// `problem` when any error is about the thing, else `ok`.
#[derive(Serialize, JsonSchema, Clone, Copy)]
#[serde(rename_all = "camelCase")]
enum Status {
    Ok,
    Problem,
    NotChecked,
}

impl Status {
    fn of(problems: &[Diagnostic]) -> Status {
        if problems.iter().any(Diagnostic::is_error) {
            Status::Problem
        } else {
            Status::Ok
        }
    }
}

impl Report {
    /// The report of a check: every target and Application as checked, and
    /// `notes`, the problems of no one of them (a `--workspace` that stands
    /// for no target, an Application in no workspace).
    pub(crate) fn new(
        flux: bool,
        workspaces: &[Workspace],
        targets: &[Target<'_>],
        applications: &[Application],
        notes: Vec<Diagnostic>,
    ) -> Report {
        let all: Vec<Diagnostic> = notes
            .into_iter()
            .chain(targets.iter().flat_map(|t| t.problems.iter().cloned()))
            .chain(applications.iter().flat_map(|a| a.problems.iter().cloned()))
            .collect();
        let checked = targets.iter().filter(|t| t.checked).count();
        let not_checked = targets.len() - checked;
        let status = if not_checked > 0 {
            ExitStatus::Incomplete
        } else if all.iter().any(Diagnostic::is_error) {
            ExitStatus::Problems
        } else {
            ExitStatus::Success
        };
        let workspaces = workspaces
            .iter()
            .map(|w| WorkspaceJson {
                dir: w.dir.display().to_string(),
                repository: w.repo_shown.clone(),
                branch: w.branch.clone(),
                from: w.from,
            })
            .collect();
        let diags = |ds: &[Diagnostic]| ds.iter().map(DiagnosticJson::from).collect::<Vec<_>>();
        let targets: Vec<TargetJson> = targets
            .iter()
            .map(|t| TargetJson {
                image: t.image.name().to_string(),
                update: t.update.name.clone(),
                stage: (!flux).then(|| update_stage_name(t.image.name(), &t.update.name)),
                kind: if t.update.yaml_key.is_some() {
                    "yaml-update"
                } else {
                    "kustomize-set-image"
                },
                repo_url: t.update.repo_url.clone(),
                branch: t.update.branch.clone(),
                path: t.update.path.clone(),
                key: t.update.yaml_key.clone(),
                file: t.file.as_ref().map(|f| f.display().to_string()),
                status: if t.checked {
                    Status::of(&t.problems)
                } else {
                    Status::NotChecked
                },
                problems: diags(&t.problems),
            })
            .collect();
        let applications: Vec<ApplicationJson> = applications
            .iter()
            .map(|a| ApplicationJson {
                namespace: a.namespace.clone(),
                name: a.name.clone(),
                file: a.file.display().to_string(),
                authorized_stages: a.stages.clone(),
                status: Status::of(&a.problems),
                problems: diags(&a.problems),
            })
            .collect();
        let problems = targets.iter().map(|t| t.problems.len()).sum::<usize>()
            + applications.iter().map(|a| a.problems.len()).sum::<usize>();
        let ok = status == ExitStatus::Success;
        Report {
            ok,
            target: if flux { "flux" } else { "kargo" },
            workspaces,
            summary: Summary {
                targets: targets.len(),
                checked,
                not_checked,
                applications: applications.len(),
                problems,
            },
            targets,
            applications,
            errors: if ok {
                Vec::new()
            } else {
                Error::Input(all.clone()).json_diagnostics()
            },
            problems: all,
            status,
        }
    }

    /// How the check ended: exit 0, 1 on problems, 2 when a target could
    /// not be checked.
    pub(crate) fn status(&self) -> ExitStatus {
        self.status
    }

    /// Every problem found, for stderr.
    pub(crate) fn problems(&self) -> &[Diagnostic] {
        &self.problems
    }

    /// The text rendering: one line that sums the check up (the problems
    /// themselves go to stderr).
    pub(crate) fn summary_line(&self) -> String {
        let Summary {
            targets: total,
            checked,
            not_checked,
            ..
        } = self.summary;
        let errors = self.problems.iter().filter(|d| d.is_error()).count();
        let line = if total == 0 {
            "nothing to check: no image has `updates:`".to_string()
        } else if not_checked > 0 {
            format!(
                "{checked} of {total} update target(s) checked, {not_checked} not checked (see above){}",
                if errors > not_checked {
                    format!(": {} problem(s) found", errors - not_checked)
                } else {
                    String::new()
                }
            )
        } else if errors > 0 {
            format!("{checked} update target(s) checked: {errors} problem(s) found")
        } else {
            let warnings = self.problems.iter().filter(|d| !d.is_error()).count();
            match warnings {
                0 => format!("{checked} update target(s) checked: no problems"),
                n => format!("{checked} update target(s) checked: no errors, {n} warning(s)"),
            }
        };
        format!("{line}\n")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::config::enrollment::{Provider, UpdateValue};
    use crate::model::Model;

    fn update(name: &str, yaml_key: Option<&str>) -> Update {
        Update {
            name: name.into(),
            repo_url: "https://github.com/org/deploy.git".into(),
            provider: Provider::Github,
            branch: "main".into(),
            path: format!("apps/{name}"),
            yaml_key: yaml_key.map(str::to_string),
            value: UpdateValue::Tag,
            value_given: false,
            entry: 0,
            index: 0,
            after: None,
            soak_secs: 0,
            pull_request: false,
            argocd: Some(("argocd".into(), "app".into())),
            verify: vec![],
            auto_promote: true,
            shard: None,
        }
    }

    /// A check with a target that has a problem, one not checked, and an
    /// Application; `notes` as given.
    fn report(flux: bool, notes: Vec<Diagnostic>) -> Report {
        let model = Model::sample();
        let m = &model.managed[0];
        let (prod, values) = (update("prod", None), update("values", Some("image.tag")));
        let problem = Diagnostic::error("update-app-prod: no kustomization")
            .in_file(std::path::Path::new("deploy/apps/prod"))
            .help("fix `path`");
        let targets = [
            Target {
                image: Image::Managed(m),
                update: &prod,
                file: Some(PathBuf::from("deploy/apps/prod/kustomization.yaml")),
                checked: true,
                problems: vec![problem],
            },
            Target {
                image: Image::Managed(m),
                update: &values,
                file: None,
                checked: false,
                problems: vec![Diagnostic::error("not checked: cannot fetch")],
            },
        ];
        let workspaces = [Workspace {
            dir: PathBuf::from("deploy"),
            repo: Repo::Path("org/deploy".into()),
            repo_shown: "org/deploy".into(),
            branch: None,
            default_branch: None,
            from: "named",
        }];
        let applications = [Application {
            file: PathBuf::from("deploy/argocd/app.yaml"),
            namespace: "argocd".into(),
            name: "app".into(),
            stages: vec!["demo:update-app-prod".into()],
            problems: Vec::new(),
        }];
        Report::new(flux, &workspaces, &targets, &applications, notes)
    }

    #[test]
    fn the_json_report_conforms_to_its_schema() {
        for flux in [false, true] {
            let r = report(
                flux,
                vec![Diagnostic::warning("--workspace deploy: a note")],
            );
            assert_eq!(r.status(), ExitStatus::Incomplete);
            assert!(!r.errors.is_empty() && r.applications.len() == 1);
            crate::ops::schema_check::assert_conforms(&r);
        }
    }

    #[test]
    fn the_text_and_the_exit_status_come_from_the_report() {
        let r = report(false, Vec::new());
        assert_eq!(r.problems().len(), 2);
        assert_eq!(
            r.summary_line(),
            "1 of 2 update target(s) checked, 1 not checked (see above): 1 problem(s) found\n"
        );
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(json["summary"]["notChecked"], 1);
        assert_eq!(json["targets"][1]["status"], "notChecked");
        assert_eq!(json["targets"][0]["stage"], "update-app-prod");
        assert!(
            json.get("problems").is_none(),
            "the diagnostics are not JSON fields"
        );
    }
}
