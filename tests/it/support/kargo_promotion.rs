//! How Kargo v1.11.2 runs a Promotion's steps, ported so tests can check
//! what a step's outcome does to the Promotion — here, the `http` step imgf
//! uses for notifications. Expressions are evaluated with [`kargo_eval`].
//! Ported from, line numbers at the tag v1.11.2:
//!
//! - `pkg/promotion/runner/builtin/http_requester.go`: `run` 90-199 (a
//!   request that gets no response — a timeout, a refused connection — is
//!   `Errored` with a retryable error, 107-111; the failure expression is
//!   checked first, and met it is a terminal `Failed`, 133-156; the success
//!   expression met is `Succeeded`, 157-167; neither met is `Running`, polled
//!   after `pollInterval`, 184-197), `getClient` 330-356 (`timeout` bounds one
//!   request, default 10s), `buildExprEnv` 386-394 (`response.status`).
//! - `pkg/promotion/local_orchestrator.go`: `ExecuteSteps` 71-209 (every step
//!   is visited; its `if` is evaluated once, before it starts, 105-121),
//!   `reconcileResultWithMetadata` 235-270, `determineStepCompletion` 272-345
//!   (a retryable error counts towards `retry.errorThreshold`, default 1 for
//!   `http`, `pkg/promotion/registry.go:30-31`; `retry.timeout`, measured from
//!   the step's start, ends a `Running` or retried step as `Errored`).
//! - `pkg/promotion/orchestrator.go`: `DetermineFinalPhase` 30-61 (a
//!   `continueOnError` step's status is ignored; the worst of the others by
//!   `api/v1alpha1/promotion_types.go:98-105` is the Promotion's phase).
//! - `api/v1alpha1/promotion_types.go`: `HasFailures` 427-439 (what
//!   `success()`/`failure()` and an absent `if` see: `continueOnError` steps
//!   are ignored there too).
//!
//! Not modelled: the controller's backoff between retries of an errored
//! step (a parameter here), `errorExpression`, `outputs`, response bodies
//! (only the status is given to the expressions), and a cancelled context.
//!
//! [`kargo_eval`]: super::kargo_eval

use serde_json::{json, Value as Json};

use super::kargo_eval::{evaluate_raw_expression, evaluate_template, Env};

/// `PromotionStepStatus` (`api/v1alpha1/promotion_types.go:71-94`), in
/// the order of its severity (98-105).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Status {
    Succeeded,
    Skipped,
    Running,
    Failed,
    Errored,
}

/// The Promotion's phase, from its steps' statuses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Phase {
    Succeeded,
    Failed,
    Errored,
}

/// What one run of a step returned: its status, and whether its error (if
/// any) is a `TerminalError`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Attempt {
    pub status: Status,
    pub terminal: bool,
}

/// What the server does with one request of an `http` step.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Server {
    /// It answers with this status code.
    Answers(i64),
    /// No answer before the step's `timeout` (or the connection is refused).
    NoAnswer,
}

/// One run of an `http` step against `server`: `http_requester.go:107-198`.
pub(crate) fn http_attempt(config: &Json, server: Server) -> Result<Attempt, String> {
    let Server::Answers(status) = server else {
        // 107-111: `client.Do` failed; a plain (retryable) error.
        return Ok(Attempt {
            status: Status::Errored,
            terminal: false,
        });
    };
    let env = Env::new().var(
        "response",
        json!({"status": status, "headers": {}, "body": {}}),
    );
    // 201-257: an absent expression is nil; a non-bool result is an error.
    let criterion = |key: &str| -> Result<Option<bool>, String> {
        match config[key].as_str() {
            None | Some("") => Ok(None),
            Some(expression) => match evaluate_raw_expression(expression, &env)? {
                Json::Bool(b) => Ok(Some(b)),
                other => Err(format!("{key} {expression:?} is not a bool: {other}")),
            },
        }
    };
    let success = criterion("successExpression")?;
    let failure = criterion("failureExpression")?;
    Ok(match (success, failure) {
        (_, Some(true)) => Attempt {
            status: Status::Failed,
            terminal: true,
        },
        (Some(true), _) => Attempt {
            status: Status::Succeeded,
            terminal: false,
        },
        (None, None) if (200..300).contains(&status) => Attempt {
            status: Status::Succeeded,
            terminal: false,
        },
        // 182-183: a non-2xx without criteria is Failed with no error, which
        // `determineStepCompletion` retries like a Running step.
        (None, None) => Attempt {
            status: Status::Failed,
            terminal: false,
        },
        _ => Attempt {
            status: Status::Running,
            terminal: false,
        },
    })
}

/// How a step ended: its status, how many times it ran, and how long after
/// its start it ended (seconds).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Ended {
    pub status: Status,
    pub attempts: u32,
    pub seconds: u64,
}

/// Go's `time.ParseDuration` for what imgf writes: `10s`, `1m`, `1h30m`.
pub(crate) fn seconds(duration: &str) -> u64 {
    let (mut total, mut n) = (0, 0);
    for c in duration.chars() {
        match c {
            '0'..='9' => n = n * 10 + u64::from(c.to_digit(10).unwrap()),
            's' | 'm' | 'h' => {
                total += n * [("s", 1), ("m", 60), ("h", 3600)]
                    .iter()
                    .find(|(u, _)| u.starts_with(c))
                    .unwrap()
                    .1;
                n = 0;
            }
            _ => panic!("not a duration imgf writes: {duration}"),
        }
    }
    total
}

/// Runs an `http` step until it ends, as the orchestrator re-runs it on
/// each reconciliation (`local_orchestrator.go:159-189`, 272-345), the
/// server answering each attempt with `server(n)` (n from 0). A `Running`
/// step is re-run after its `pollInterval` (default 30s), an errored one
/// after `backoff` seconds (the controller's, not modelled).
pub(crate) fn run_http_step(
    step: &Json,
    backoff: u64,
    mut server: impl FnMut(u32) -> Server,
) -> Result<Ended, String> {
    let config = &step["config"];
    let request_timeout = config["timeout"].as_str().map_or(10, seconds);
    let poll = config["pollInterval"].as_str().map_or(30, seconds);
    // `GetTimeout` / `GetErrorThreshold` (promotion_types.go:261-276): the
    // `http` step registers no defaults, so 0 (no timeout) and 1.
    let timeout = step["retry"]["timeout"].as_str().map_or(0, seconds);
    let threshold = match step["retry"]["errorThreshold"].as_u64() {
        None | Some(0) => 1,
        Some(n) => u32::try_from(n).unwrap(),
    };
    let (mut now, mut errors) = (0, 0);
    for n in 0.. {
        let answer = server(n);
        if matches!(answer, Server::NoAnswer) {
            now += request_timeout;
        }
        let attempt = http_attempt(config, answer)?;
        let ended = |status| Ended {
            status,
            attempts: n + 1,
            seconds: now,
        };
        let retryable_error = match attempt {
            Attempt {
                status: Status::Succeeded,
                ..
            } => return Ok(ended(Status::Succeeded)),
            // 287-297: a terminal error ends the step (Failed stays Failed).
            Attempt {
                status,
                terminal: true,
            } => {
                return Ok(ended(if status == Status::Failed {
                    Status::Failed
                } else {
                    Status::Errored
                }))
            }
            // 245-266: an Errored status is always an error; a Failed one only
            // with an error, which `http` never returns without one.
            Attempt {
                status: Status::Errored,
                ..
            } => true,
            _ => false,
        };
        if retryable_error {
            // 298-315, and `Error()` (pkg/promotion/promotion.go:353-356).
            errors += 1;
            if errors >= threshold {
                return Ok(ended(Status::Errored));
            }
        }
        // 323-332.
        if timeout > 0 && now > timeout {
            return Ok(ended(Status::Errored));
        }
        now += if retryable_error { backoff } else { poll };
    }
    unreachable!()
}

/// One step of a Promotion, as far as the outcome goes.
pub(crate) struct Step<'a> {
    pub alias: &'a str,
    /// The step's `if`, evaluated in `env` with `success()`/`failure()`.
    pub condition: Option<&'a str>,
    pub continue_on_error: bool,
    /// What the step does when it runs.
    pub run: Box<dyn Fn() -> Result<Status, String> + 'a>,
}

/// The statuses of `steps` and the Promotion's phase:
/// `local_orchestrator.go:71-209`, `DetermineFinalPhase`.
pub(crate) fn promote(steps: &[Step<'_>], env: &Env) -> Result<(Vec<Status>, Phase), String> {
    let mut statuses: Vec<Status> = Vec::new();
    for step in steps {
        // `HasFailures`: the earlier steps without continueOnError.
        let failed = steps
            .iter()
            .zip(&statuses)
            .any(|(s, st)| !s.continue_on_error && matches!(st, Status::Failed | Status::Errored));
        // `ShouldSkip` (pkg/promotion/evaluator.go:224-272): no `if` is
        // "skip after a failure".
        let skip = match step.condition {
            None => failed,
            Some(condition) => match evaluate_template(condition, &env.clone().step_if(failed)) {
                Ok(Json::Bool(b)) => !b,
                Ok(other) => return Err(format!("{}: `if` is {other}", step.alias)),
                Err(e) => return Err(format!("{}: `if`: {e}", step.alias)),
            },
        };
        statuses.push(if skip { Status::Skipped } else { (step.run)()? });
    }
    let worst = steps
        .iter()
        .zip(&statuses)
        .filter(|(s, _)| !s.continue_on_error)
        .map(|(_, st)| *st)
        .max()
        .unwrap_or(Status::Succeeded);
    let phase = match worst {
        Status::Succeeded | Status::Skipped => Phase::Succeeded,
        Status::Failed => Phase::Failed,
        // Running cannot be final; Kargo treats anything else as Errored.
        Status::Errored | Status::Running => Phase::Errored,
    };
    Ok((statuses, phase))
}
