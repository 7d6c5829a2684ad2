//! `imgf record-update`: a base image's new digest into its state file
//! (history, dependents' eligibility), inside the state-repository
//! transaction.

use std::collections::BTreeMap;
use std::path::Path;

use crate::cli::RecordUpdateArgs;
use crate::diagnostic::{Diagnostic, Error};
use crate::git::state_repo::{with_state_repo, Done};
use crate::load;
use crate::shell::Shell;
use crate::state::store::{self, Store};
use crate::state::{BaseImageState, ImageState};
use crate::timestamp::Timestamp;
use crate::ExitStatus;

/// `imgf record-update`.
pub(crate) fn run(args: &RecordUpdateArgs, shell: &mut Shell<'_>) -> Result<ExitStatus, Error> {
    if let Err(why) = crate::values::sha256_digest(&args.digest) {
        return Err(Error::input(
            Diagnostic::error(why).help("pass it like sha256:<64 hex digits>"),
        ));
    }
    let now = Timestamp::now();
    with_state_repo(
        &args.dir.path,
        &super::state_repo(&args.state),
        None,
        shell,
        |dir, _, _| record_once(args, dir, now),
    )
}

fn record_once(args: &RecordUpdateArgs, dir: &Path, now: Timestamp) -> Result<Done, Error> {
    let store = Store::open(dir)?;
    let mut warnings = Vec::new();
    let bases: BTreeMap<String, (BaseImageState, String)> =
        store::keyed(store::read_or_fail(&store.bases, &mut warnings)?);
    let name = if bases.contains_key(&args.base) {
        args.base.clone()
    } else {
        crate::image_ref::ImageRef::parse(&args.base)
            .ok()
            .and_then(|r| {
                let key = format!("{}:{}", r.repo_url(), r.tag.clone().unwrap_or_default());
                bases
                    .iter()
                    .find(|(_, (s, _))| {
                        crate::ops::discovery::state_reference(s).as_deref() == Some(key.as_str())
                    })
                    .map(|(k, _)| k.clone())
            })
            .ok_or_else(|| {
                Error::input(
                    Diagnostic::error(format!(
                        "no base image `{}` in {}",
                        args.base,
                        store.bases.display()
                    ))
                    .help("give the state file's name (without .yaml) or the image reference"),
                )
            })?
    };
    let images_file = dir.join(load::IMAGES_FILE);
    let (_, enrollments) = load::load_enrollments(&images_file)?;
    let images: BTreeMap<String, (ImageState, String)> =
        store::keyed(store::read_or_fail(&store.images, &mut warnings)?);
    let dependents: Vec<(String, u64)> = images
        .iter()
        .filter(|(_, (s, _))| s.base_images.contains(&name))
        .filter_map(|(n, _)| {
            let e = enrollments.iter().find(|e| &e.name == n)?;
            Some((n.clone(), e.rebuild_delay_secs()))
        })
        .collect();
    let (mut state, text) = bases[&name].clone();
    let mut written = Vec::new();
    let note = if crate::ops::discovery::record_update(&mut state, &args.digest, &dependents, now) {
        written.extend(store.write_base(&name, Some(&text), &state)?);
        format!(
            "{name}: digest {} recorded; {} dependent(s) scheduled",
            args.digest,
            dependents.len()
        )
    } else {
        format!(
            "{name}: {} is already the current digest; nothing changed",
            args.digest
        )
    };
    Ok(Done {
        message: format!("imgf record-update: {name} is now {}", args.digest),
        notes: warnings
            .iter()
            .map(ToString::to_string)
            .chain([note])
            .collect(),
        written,
        failures: Vec::new(),
        failed: 0,
    })
}
