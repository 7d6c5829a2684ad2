//! `imgf security …`: what the security gates' Jobs run in the cluster
//! (settings.yaml `security:`; see [`crate::security`] for the decisions and
//! `targets::kargo::security` for the Jobs).
//!
//! * `plan` lists, into `OUT/refs`, the new digest of a base and the digests
//!   of it that images are built on (the same rule as `imgf status`);
//! * `gate` reads Trivy's report of each line, records every scan in
//!   `state/scans/` with the decision on the new digest, and exits 0
//!   (passed), 1 (held) or 2 (error: held too, and retried by the Job);
//! * `cve-fix` exits 0 when the new digest removes a vulnerability of the
//!   digest the image was last built on, 1 when it does not;
//! * `record-scan` records a new build's scan, and never fails (a build scan
//!   is information, not a gate).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use crate::cli::{
    SecurityCommand, SecurityCveFixArgs, SecurityGateArgs, SecurityPlanArgs, SecurityRecordScanArgs,
};
use crate::config::settings::Overrides;
use crate::diagnostic::{Diagnostic, Error};
use crate::git::state_repo::{with_state_repo, Done};
use crate::model::Model;
use crate::ops::status::Status;
use crate::security::{self, trivy, Decision, GateRecord, ScanRecord};
use crate::shell::Shell;
use crate::state::store::Store;
use crate::state::BaseImageState;
use crate::timestamp::Timestamp;
use crate::ExitStatus;

/// `imgf security …`.
pub(crate) fn run(cmd: &SecurityCommand, shell: &mut Shell<'_>) -> Result<ExitStatus, Error> {
    match cmd {
        SecurityCommand::Plan(a) => plan(a, shell),
        SecurityCommand::Gate(a) => gate(a, shell),
        SecurityCommand::CveFix(a) => cve_fix(a, shell),
        SecurityCommand::RecordScan(a) => record_scan(a, shell),
    }
}

fn check_digest(flag: &str, d: &str) -> Result<(), Error> {
    crate::values::sha256_digest(d).map_err(|why| {
        Error::input(
            Diagnostic::error(format!("{flag} `{}`: {why}", d.escape_debug()))
                .help("pass it like sha256:<64 hex digits>"),
        )
    })
}

/// Nothing to commit, and these lines to print.
fn note(notes: Vec<String>) -> Done {
    Done {
        message: String::new(),
        notes,
        written: Vec::new(),
        failures: Vec::new(),
        failed: 0,
    }
}

/// The model and the status of every image, from the enrollment at `dir`.
struct View {
    model: Model,
    status: Status,
    bases: BTreeMap<String, BaseImageState>,
}

fn view(dir: &Path) -> Result<View, Error> {
    let inputs = crate::load::load(dir, None, &Overrides::default())?;
    let (model, _) = crate::merge::merge(&inputs)?;
    let graph = crate::graph::build(&model).map_err(Error::input)?;
    let images = inputs
        .image_states
        .iter()
        .map(|s| (s.stem.clone(), s.data.clone()))
        .collect();
    let bases: BTreeMap<String, BaseImageState> = inputs
        .base_states
        .iter()
        .map(|s| (s.stem.clone(), s.data.clone()))
        .collect();
    let status = crate::ops::status::compute(
        &model,
        &graph,
        &images,
        &bases,
        &BTreeMap::new(),
        0,
        Timestamp::now(),
    );
    Ok(View {
        model,
        status,
        bases,
    })
}

/// The repository of upstream base `base` in the model.
fn base_repo<'m>(model: &'m Model, base: &str) -> Result<&'m str, Error> {
    model
        .upstream
        .iter()
        .find(|u| u.name == base)
        .map(|u| u.repo_url.as_str())
        .ok_or_else(|| {
            Error::input(
                Diagnostic::error(format!("no upstream base image `{base}` in the enrollment"))
                    .help("pass the name of a base image's state file (without .yaml)"),
            )
        })
}

/// The digests of base `base` that images are built on (as `imgf status`
/// tells them); when none is recorded, the base's newest recorded digest
/// other than `new`. Sorted, without `new`, and without any digest `held`
/// says the gate of `base` held: a held digest is never the bar a new one is
/// compared with (it may be inferred as "built on" by time, or be the newest
/// recorded, without having passed the gate).
pub(crate) fn in_use(
    status: &Status,
    base: &str,
    state: Option<&BaseImageState>,
    new: &str,
    held: &dyn Fn(&str) -> bool,
) -> Vec<String> {
    let valid = |d: &String| d != new && crate::values::sha256_digest(d).is_ok() && !held(d);
    let mut out: std::collections::BTreeSet<String> = status
        .images
        .iter()
        .flat_map(|i| &i.bases)
        .filter(|b| b.name == base)
        .filter_map(|b| b.built_on.clone())
        .filter(valid)
        .collect();
    if out.is_empty() {
        if let Some(s) = state {
            let candidates = [s.current_digest.clone(), s.previous_digest.clone()]
                .into_iter()
                .chain(s.update_history.iter().rev().map(|u| u.digest.clone()));
            if let Some(d) = candidates.flatten().find(valid) {
                out.insert(d);
            }
        }
    }
    out.into_iter().collect()
}

/// `imgf security plan`.
fn plan(args: &SecurityPlanArgs, shell: &mut Shell<'_>) -> Result<ExitStatus, Error> {
    check_digest("--digest", &args.digest)?;
    let refs = args.out.join("refs");
    with_state_repo(
        &args.dir.path,
        &super::state_repo(&args.state),
        None,
        shell,
        |dir, _, _| {
            let v = view(dir)?;
            let repo = base_repo(&v.model, &args.base)?;
            let scans_dir = security::scans_dir(&Store::open(dir)?);
            let held = |d: &str| security::held(&scans_dir, &args.base, d);
            let used = in_use(
                &v.status,
                &args.base,
                v.bases.get(&args.base),
                &args.digest,
                &held,
            );
            let mut text = format!("{repo}@{}\n", args.digest);
            for d in &used {
                let _ = writeln!(text, "{repo}@{d}");
            }
            crate::fs::write_atomic(&refs, text.as_bytes())?;
            Ok(note(vec![format!(
                "{}: scanning {} and {} digest(s) in use{}",
                args.base,
                args.digest,
                used.len(),
                if used.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", used.join(", "))
                }
            )]))
        },
    )
}

/// `repo@digest`, checked.
fn split_ref(line: &str) -> Result<(&str, &str), String> {
    let (repo, digest) = line
        .split_once('@')
        .ok_or_else(|| format!("`{}` is not repo@digest", line.escape_debug()))?;
    crate::values::sha256_digest(digest)?;
    crate::values::container_image(repo)?;
    Ok((repo, digest))
}

/// The findings of each line of `dir/refs`, from `dir/report-N.json`.
fn read_reports(dir: &Path) -> Result<Vec<(String, String, trivy::Findings)>, String> {
    let refs_path = dir.join("refs");
    let refs = std::fs::read_to_string(&refs_path)
        .map_err(|e| format!("cannot read {}: {e}", refs_path.display()))?;
    let mut out = Vec::new();
    for (n, line) in refs.lines().enumerate() {
        let (repo, digest) = split_ref(line)?;
        let path = dir.join(format!("report-{}.json", n + 1));
        let text = std::fs::read_to_string(&path)
            .map_err(|e| format!("no scan of {line}: cannot read {}: {e}", path.display()))?;
        let f = trivy::parse(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        if let Some(a) = &f.artifact {
            if a != line {
                return Err(format!(
                    "{} is the scan of {a}, not of {line}",
                    path.display()
                ));
            }
        }
        out.push((repo.to_string(), digest.to_string(), f));
    }
    Ok(out)
}

/// `imgf security gate`.
fn gate(args: &SecurityGateArgs, shell: &mut Shell<'_>) -> Result<ExitStatus, Error> {
    check_digest("--digest", &args.digest)?;
    let scans = match read_reports(&args.reports) {
        Ok(s) if s.first().is_some_and(|(_, d, _)| *d == args.digest) => s,
        Ok(_) => {
            return Err(Error::input(Diagnostic::error(format!(
                "held: {}/refs does not start with {} (run `imgf security plan` first)",
                args.reports.display(),
                args.digest
            ))))
        }
        Err(why) => {
            return Err(Error::input(
                Diagnostic::error(format!(
                    "held: {} {} could not be scanned: {why}",
                    args.base, args.digest
                ))
                .help("the Job is retried; after that, `kargo verify stage` runs it again"),
            ))
        }
    };
    let (_, _, new) = &scans[0];
    let in_use: Vec<(String, trivy::Findings)> = scans[1..]
        .iter()
        .map(|(_, d, f)| (d.clone(), f.clone()))
        .collect();
    let (decision, reason) = security::gate(new, &in_use, args.fail_on);
    let at = Timestamp::now().to_string();
    with_state_repo(
        &args.dir.path,
        &super::state_repo(&args.state),
        None,
        shell,
        |dir, _, _| {
            let store = Store::open(dir)?;
            let scans_dir = security::scans_dir(&store);
            let mut written = Vec::new();
            for (repo, digest, f) in &scans {
                let old = security::read_scan(&security::scan_path(&scans_dir, digest))?;
                let mut record = ScanRecord::new(digest, repo, &args.scanner, &at, f);
                if let Some(old) = old {
                    record.gates = old.gates;
                }
                if *digest == args.digest {
                    record.gates.insert(
                        args.base.clone(),
                        GateRecord {
                            decision,
                            reason: reason.clone(),
                            compared_with: in_use.iter().map(|(d, _)| d.clone()).collect(),
                            at: at.clone(),
                        },
                    );
                }
                written.extend(security::write_scan(&scans_dir, &record)?);
            }
            let word = match decision {
                Decision::Passed => "passed",
                Decision::Held => "held",
            };
            Ok(Done {
                message: format!(
                    "imgf security gate: {} {} {word}\n\n{reason}",
                    args.base, args.digest
                ),
                notes: vec![format!("{}: {} {word}: {reason}", args.base, args.digest)],
                written,
                failures: Vec::new(),
                failed: 0,
            })
        },
    )?;
    Ok(match decision {
        Decision::Passed => ExitStatus::Success,
        Decision::Held => ExitStatus::Problems,
    })
}

/// `imgf security cve-fix`.
fn cve_fix(args: &SecurityCveFixArgs, shell: &mut Shell<'_>) -> Result<ExitStatus, Error> {
    check_digest("--digest", &args.digest)?;
    let mut fixed: Option<Vec<String>> = None;
    with_state_repo(
        &args.dir.path,
        &super::state_repo(&args.state),
        None,
        shell,
        |dir, _, _| {
            let v = view(dir)?;
            let built_on = v
                .status
                .images
                .iter()
                .find(|i| i.name == args.image)
                .and_then(|i| i.bases.iter().find(|b| b.name == args.base))
                .and_then(|b| b.built_on.clone());
            let Some(built_on) = built_on else {
                fixed = Some(Vec::new());
                return Ok(note(vec![format!(
                    "{}: no recorded build on {}: nothing to fix, normal soak",
                    args.image, args.base
                )]));
            };
            let store = Store::open(dir)?;
            let scans_dir = security::scans_dir(&store);
            // A held digest is no bar: "fixing" one of its CVEs proves nothing.
            if security::held(&scans_dir, &args.base, &built_on) {
                fixed = Some(Vec::new());
                return Ok(note(vec![format!(
                    "{}: built on {built_on}, which the gate of {} held: no proof of a fix, normal soak",
                    args.image, args.base
                )]));
            }
            let read = |d: &str| -> Result<ScanRecord, Error> {
                security::read_scan(&security::scan_path(&scans_dir, d))?.ok_or_else(|| {
                Error::input(
                    Diagnostic::error(format!(
                        "no scan of {d} in {} (the gate records it)",
                        scans_dir.display()
                    ))
                    .help("the Job is retried; until the scan is recorded, the digest takes the normal soak"),
                )
            })
            };
            let (old, new) = (read(&built_on)?, read(&args.digest)?);
            let introduced = security::introduced(&old, &new, args.fail_on);
            let f = security::cve_fix(&old, &new, args.fail_on);
            let line = if !introduced.is_empty() {
                format!(
                    "{} {}: not a CVE fix for {} (built on {built_on}): it has {} that {built_on} has not: normal soak",
                    args.base,
                    args.digest,
                    args.image,
                    introduced.join(", ")
                )
            } else if f.is_empty() {
                format!(
                    "{} {}: not a CVE fix for {} (built on {built_on}): normal soak",
                    args.base, args.digest, args.image
                )
            } else {
                format!(
                    "{} {}: fixes {} of {} (built on {built_on}): rebuild without delay",
                    args.base,
                    args.digest,
                    f.join(", "),
                    args.image
                )
            };
            fixed = Some(f);
            Ok(note(vec![line]))
        },
    )?;
    Ok(match fixed {
        Some(f) if !f.is_empty() => ExitStatus::Success,
        _ => ExitStatus::Problems,
    })
}

/// `imgf security record-scan`: problems are printed, never returned.
fn record_scan(args: &SecurityRecordScanArgs, shell: &mut Shell<'_>) -> Result<ExitStatus, Error> {
    if crate::values::sha256_digest(&args.digest).is_err() {
        shell.status(&format!(
            "{}: no build digest yet: nothing scanned",
            args.image
        ))?;
        return Ok(ExitStatus::Success);
    }
    if let Err(why) = crate::values::container_image(&args.repo) {
        shell.status(&format!("--repo `{}`: {why}", args.repo.escape_debug()))?;
        return Ok(ExitStatus::Success);
    }
    let text = match std::fs::read_to_string(&args.report) {
        Ok(t) => t,
        Err(e) => {
            shell.status(&format!(
                "{}: no scan recorded ({}: {e}; the scan failed or was skipped)",
                args.image,
                args.report.display()
            ))?;
            return Ok(ExitStatus::Success);
        }
    };
    let f = match trivy::parse(&text) {
        Ok(f) => f,
        Err(why) => {
            shell.status(&format!("{}: no scan recorded: {why}", args.image))?;
            return Ok(ExitStatus::Success);
        }
    };
    let at = Timestamp::now().to_string();
    let result = with_state_repo(
        &args.dir.path,
        &super::state_repo(&args.state),
        None,
        shell,
        |dir, _, _| {
            let store = Store::open(dir)?;
            let scans_dir = security::scans_dir(&store);
            let mut record = ScanRecord::new(&args.digest, &args.repo, &args.scanner, &at, &f);
            if let Some(old) = security::read_scan(&security::scan_path(&scans_dir, &args.digest))?
            {
                record.gates = old.gates;
            }
            let written: Vec<_> = security::write_scan(&scans_dir, &record)?
                .into_iter()
                .collect();
            Ok(Done {
                message: format!("imgf security record-scan: {} {}", args.image, args.digest),
                notes: vec![format!(
                    "{} {}: {} critical, {} high",
                    args.image, args.digest, f.counts.critical, f.counts.high
                )],
                written,
                failures: Vec::new(),
                failed: 0,
            })
        },
    );
    if let Err(e) = result {
        shell.status(&format!(
            "{}: the scan was not recorded: {}",
            args.image,
            e.render(false)
        ))?;
    }
    Ok(ExitStatus::Success)
}
