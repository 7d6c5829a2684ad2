//! `imgf emergency`: plan an emergency rebuild with the Kargo runbook,
//! append its audit entry to the affected images' state files, print the
//! commands.

use std::io::Write;
use std::path::Path;

use super::{load_model, write_out};
use crate::cli::EmergencyArgs;
use crate::config::state::ImageState;
use crate::diagnostic::{Diagnostic, Error};
use crate::targets::kargo::runbook::{self, Scope};
use crate::timestamp::Timestamp;
use crate::{emit, ExitStatus};

/// `imgf emergency`.
pub(crate) fn run(
    args: &EmergencyArgs,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<ExitStatus, Error> {
    let (inputs, model) = load_model(&args.input, err)?;
    let graph = crate::graph::build(&model).map_err(Error::input)?;
    let scope = match (&args.image, &args.base) {
        (Some(name), _) => match runbook::find_managed(&model, name) {
            Ok(i) => Scope::Image(i),
            Err(_) if runbook::upstream_named(&model, name).is_some() => {
                return Err(Error::input(
                    Diagnostic::error(format!("`{name}` is watched upstream, not built here"))
                        .help(format!(
                        "to rebuild what is built on it: `imgf emergency --base {name} --reason …`"
                    )),
                ));
            }
            Err(unknown) => return Err(Error::input(unknown)),
        },
        (None, Some(b)) => Scope::Base(runbook::find_base(&model, b).map_err(Error::input)?),
        (None, None) => unreachable!("clap requires --image or --base"),
    };
    let actor = args
        .actor
        .clone()
        .or_else(|| std::env::var("USER").ok())
        .filter(|a| !a.trim().is_empty())
        .unwrap_or_else(|| "unknown".into());
    let now = Timestamp::now();
    let plan = runbook::emergency(
        &model,
        &graph,
        &inputs.settings,
        &scope,
        &args.reason,
        &actor,
        now,
    )
    .map_err(|why| Error::input(Diagnostic::error(why).help("see `imgf explain IMAGE`")))?;

    // Record the audit entry before printing what to run.
    let store = crate::config::store::Store::open(&args.input.dir)?;
    for name in &plan.images {
        let path = store.image_path(name);
        let mut state = match inputs.image_states.iter().find(|s| &s.stem == name) {
            Some(s) => {
                let mut st = s.data.clone();
                st.extra = crate::config::state::extra_keys(
                    &s.path,
                    &s.text,
                    &crate::config::state::IMAGE_KEYS,
                )
                .map_err(Error::input)?;
                st
            }
            None => ImageState {
                name: Some(name.clone()),
                discovery_status: Some("pending".into()),
                ..ImageState::default()
            },
        };
        state.audit.push(plan.audit.clone());
        emit::write_atomic(&path, emit::state::image_state(&state)?.as_bytes())?;
    }
    writeln!(
        err,
        "emergency rebuild of {} recorded in the state files; commit them. Run the commands below (in order):",
        plan.images.join(", ")
    )
    .map_err(|e| Error::io("cannot write to", Path::new("stderr"), e))?;
    write_out(out, &plan.script)?;
    Ok(ExitStatus::Success)
}
