//! `imgf explain` and `imgf emergency`: read the enrollment and state, ask
//! [`crate::policy`], print; `emergency` also appends its audit entry to the
//! affected images' state files.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use super::{load_model, write_out};
use crate::cli::{EmergencyArgs, ExplainArgs};
use crate::config::state::{BaseImageState, ImageState};
use crate::diagnostic::{Diagnostic, Error};
use crate::policy::Target;
use crate::timestamp::Timestamp;
use crate::{emit, ExitStatus};

fn full_states(
    inputs: &crate::config::load::Inputs,
) -> (
    BTreeMap<String, ImageState>,
    BTreeMap<String, BaseImageState>,
) {
    let images = inputs
        .image_states
        .iter()
        .map(|s| (s.stem.clone(), s.data.clone()))
        .collect();
    let bases = inputs
        .base_states
        .iter()
        .map(|s| (s.stem.clone(), s.data.clone()))
        .collect();
    (images, bases)
}

/// `imgf explain IMAGE`.
pub fn explain(
    args: &ExplainArgs,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<ExitStatus, Error> {
    let (inputs, model) = load_model(&args.input, err)?;
    let Some(i) = model.managed.iter().position(|m| m.name == args.image) else {
        let external = model.upstream.iter().any(|u| u.name == args.image);
        return Err(Error::input(
            Diagnostic::error(format!(
                "`{}` is {}",
                args.image,
                if external {
                    "watched upstream only: imgf never rebuilds it"
                } else {
                    "not a managed image"
                }
            ))
            .help("explain takes an image enrolled with a `source`"),
        ));
    };
    let (images, bases) = full_states(&inputs);
    let text = crate::policy::explain(
        &model,
        &inputs.settings,
        i,
        images.get(&args.image),
        &bases,
        Timestamp::now(),
    );
    write_out(out, &text)?;
    Ok(ExitStatus::Success)
}

/// `imgf emergency`.
pub fn emergency(
    args: &EmergencyArgs,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<ExitStatus, Error> {
    let (inputs, model) = load_model(&args.input, err)?;
    let graph = crate::graph::build(&model).map_err(Error::input)?;
    let target = match (&args.image, &args.base) {
        (Some(i), _) => Target::Image(i.clone()),
        (None, Some(b)) => Target::Base(b.clone()),
        (None, None) => unreachable!("clap requires --image or --base"),
    };
    let actor = args
        .actor
        .clone()
        .or_else(|| std::env::var("USER").ok())
        .filter(|a| !a.trim().is_empty())
        .unwrap_or_else(|| "unknown".into());
    let now = Timestamp::now();
    let plan = crate::policy::emergency(
        &model,
        &graph,
        &inputs.settings,
        &target,
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
