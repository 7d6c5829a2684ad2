//! `imgf emergency`: build the report of an emergency rebuild (its plan
//! and script, [`crate::ops::emergency`]), print the script (or the report
//! as JSON), and once it is out append its audit entry to the affected
//! images' state files.

use crate::cli::{EmergencyArgs, OutputFormat};
use crate::diagnostic::{Diagnostic, Error};
use crate::ops::emergency::Scope;
use crate::shell::Shell;
use crate::state::ImageState;
use crate::targets::kargo::runbook;
use crate::timestamp::Timestamp;
use crate::ExitStatus;

/// `imgf emergency`.
pub(crate) fn run(args: &EmergencyArgs, shell: &mut Shell<'_>) -> Result<ExitStatus, Error> {
    let json = args.format == OutputFormat::Json;
    let result = emergency(args, shell);
    shell.json_errors(json, result)
}

fn emergency(args: &EmergencyArgs, shell: &mut Shell<'_>) -> Result<ExitStatus, Error> {
    let (inputs, model) = shell.load_model(&args.input)?;
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
    let actor = args.actor.clone().unwrap_or_else(login_name);
    let now = Timestamp::now();
    let report = crate::ops::emergency::report(
        &model,
        &graph,
        &inputs.settings,
        &scope,
        crate::ops::emergency::Request {
            reason: &args.reason,
            actor: &actor,
            now,
            allow_unverified: args.allow_unverified,
        },
    )
    .map_err(|why| Error::input(Diagnostic::error(why).help("see `imgf explain IMAGE`")))?;

    // The script first: the audit entry records an emergency the user has
    // the script of, so nothing is recorded unless it was delivered.
    if shell.ui().stdout_discarded {
        return Err(Error::input(
            Diagnostic::error(
                "standard output goes nowhere (it is /dev/null, or closed): the emergency script would be lost; nothing was recorded",
            )
            .help("save it: `imgf emergency … > emergency.sh`, then run `sh emergency.sh`"),
        ));
    }
    let delivered = match args.format {
        OutputFormat::Text => report.script.clone(),
        OutputFormat::Json => crate::shell::json_line(&report),
    };
    let plan = &report.plan;
    let out = shell.out();
    out.write_all(delivered.as_bytes())
        .and_then(|()| out.flush())
        .map_err(|e| {
            Error::input(
                Diagnostic::error(format!(
                    "cannot write the emergency script to stdout: {e}; nothing was recorded"
                ))
                .help("save it to a file that can be written (`> FILE`, on a disk with space), then run `sh FILE`"),
            )
        })?;

    // Each affected image's state file gets an entry of its own size: the
    // request and how many images it rebuilt, not the whole list, so a deep
    // chain's audit grows linearly (the list is in the JSON plan, and the
    // commit of these files).
    let store = crate::state::store::Store::open(&args.input.dir.path)?;
    for name in &plan.images {
        let path = store.image_path(name);
        let mut state = match inputs.image_states.iter().find(|s| &s.stem == name) {
            Some(s) => {
                let mut st = s.data.clone();
                // synth's read keeps no values of the keys imgf does not
                // model, nor the text: both come from the file itself.
                let text = crate::config::parse::read_text(&s.path)?;
                st.extra = crate::state::extra_keys(&s.path, &text, &crate::state::IMAGE_KEYS)
                    .map_err(Error::input)?;
                st
            }
            None => ImageState {
                name: Some(name.clone()),
                discovery_status: Some("pending".into()),
                ..ImageState::default()
            },
        };
        state.audit.push(plan.audit_for(name));
        crate::fs::write_atomic(&path, crate::state::write::image_state(&state)?.as_bytes())?;
    }
    shell.status(&format!(
        "emergency rebuild of {} recorded in the state files; commit them. Save the script (standard output) and run it with `sh FILE`: it first rebuilds what needs no new build, then waits for each new build before rebuilding what is built on it.",
        plan.images.join(", ")
    ))?;
    Ok(ExitStatus::Success)
}

/// Who is running imgf: `$USER`, else `$LOGNAME`, else the name of the
/// process's user id in /etc/passwd, else "unknown".
fn login_name() -> String {
    let set = |v: &str| std::env::var(v).ok().filter(|s| !s.trim().is_empty());
    set("USER")
        .or_else(|| set("LOGNAME"))
        .or_else(passwd_name)
        .unwrap_or_else(|| "unknown".into())
}

/// The /etc/passwd name of the user id that owns this process (the owner
/// of /proc/self, on Linux; elsewhere `None`).
fn passwd_name() -> Option<String> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let uid = std::fs::metadata("/proc/self").ok()?.uid().to_string();
        let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
        passwd
            .lines()
            .map(|l| l.split(':').collect::<Vec<_>>())
            .find(|f| f.len() > 2 && f[2] == uid && !f[0].is_empty())
            .map(|f| f[0].to_string())
    }
    #[cfg(not(unix))]
    {
        None
    }
}
