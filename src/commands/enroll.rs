//! `imgf enroll` and `imgf unenroll`: add, update or remove one entry of
//! images.yaml, keeping every other byte ([`crate::config::edit`]); the
//! result must pass everything synth checks before it is written
//! (atomically), and `--dry-run` prints the diff instead.

use std::io::Write;
use std::path::Path;

use serde::Serialize;

use super::{print_warnings, read_inputs, write_out};
use crate::cli::{EnrollArgs, UnenrollArgs};
use crate::config::edit;
use crate::config::enrollment::{self, Enrollment, Provider};
use crate::config::load::IMAGES_FILE;
use crate::config::parse;
use crate::diagnostic::{Diagnostic, Error};
use crate::ExitStatus;

/// The entry `imgf enroll` writes from its flags, in images.yaml's key order.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct NewEntry<'a> {
    name: &'a str,
    registry: &'a str,
    repository: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    tag: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    owner: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    system: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    lifecycle: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    source: Option<NewSource<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    rebuild_delay: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    auto_rebuild: Option<bool>,
}

#[derive(Debug, Serialize)]
struct NewSource<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    provider: Option<&'static str>,
    repo: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    branch: Option<&'a str>,
    dockerfile: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    workflow: Option<&'a str>,
}

fn usage(msg: impl Into<String>, help: &str) -> Error {
    Error::input(Diagnostic::error(msg).help(help))
}

/// The entry's YAML text, from `-f` or from the flags.
fn entry_text(args: &EnrollArgs) -> Result<String, Error> {
    if let Some(f) = &args.file {
        return parse::read_text(f);
    }
    fn need<'a>(v: &'a Option<String>, flag: &str) -> Result<&'a str, Error> {
        v.as_deref().ok_or_else(|| {
            usage(
                format!("imgf enroll needs --{flag} (or -f entry.yaml)"),
                "pass --name, --registry and --repository; and --source-repo and --dockerfile for an image built here",
            )
        })
    }
    let source =
        match (&args.source_repo, &args.dockerfile) {
            (Some(repo), Some(dockerfile)) => Some(NewSource {
                provider: args.provider.as_deref().map(|p| match p {
                    "gitlab" => Provider::Gitlab.as_str(),
                    _ => Provider::Github.as_str(),
                }),
                repo,
                branch: args.branch.as_deref(),
                dockerfile,
                workflow: args.workflow.as_deref(),
            }),
            (None, None) => None,
            _ => return Err(usage(
                "--source-repo and --dockerfile go together",
                "pass both for an image built here, or neither for an external image (with --tag)",
            )),
        };
    let entry = NewEntry {
        name: need(&args.name, "name")?,
        registry: need(&args.registry, "registry")?,
        repository: need(&args.repository, "repository")?,
        tag: args.tag.as_deref(),
        owner: args.owner.as_deref(),
        system: args.system.as_deref(),
        lifecycle: args.lifecycle.as_deref(),
        source,
        rebuild_delay: args.delay.as_deref(),
        auto_rebuild: args.manual.then_some(false),
    };
    crate::emit::yaml::to_string(&entry).map_err(|e| Error::Internal(e.to_string()))
}

/// An edit of images.yaml, before it is checked.
struct Change<'a> {
    old_text: &'a str,
    new_text: String,
    /// The entries the new text must hold, exactly.
    expected: &'a [Enrollment],
    /// What was done, for the message and the diff header.
    what: String,
}

/// Checks the new text as synth would (with the rest of `--dir`), then
/// prints the diff (`--dry-run`) or writes it atomically.
fn finish(
    input: &crate::cli::InputArgs,
    change: Change<'_>,
    dry_run: bool,
    ui: crate::Ui,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<ExitStatus, Error> {
    let Change {
        old_text,
        new_text,
        expected,
        what,
    } = change;
    let path = input.dir.join(IMAGES_FILE);
    let entries: Vec<Enrollment> = parse::parse(&path, &new_text).map_err(Error::input)?;
    if entries != expected || edit::count(&new_text) != entries.len() {
        return Err(Error::input(
            Diagnostic::error("images.yaml is laid out in a way imgf cannot edit safely line by line; nothing was changed")
                .in_file(&path)
                .help("edit images.yaml by hand (top-level `- name:` items in block style are what imgf edits)"),
        ));
    }
    if entries.is_empty() {
        return Err(Error::input(
            Diagnostic::error("images.yaml would be empty, and synth refuses an empty enrollment; nothing was changed")
                .in_file(&path)
                .help("enroll another image first, or remove the image-factory directory if nothing is left to watch"),
        ));
    }
    let problems = enrollment::validate(&entries, &path, &new_text);
    if !problems.is_empty() {
        return Err(Error::Input(problems));
    }
    let mut inputs = read_inputs(input)?;
    inputs.images_text = new_text.clone();
    inputs.enrollments = entries;
    let result = crate::synth::synthesize(&inputs, crate::targets::Target::Kargo)?;
    print_warnings(&result.warnings, ui, err)?;
    if dry_run {
        let shown = path.display().to_string();
        let diff = similar::TextDiff::from_lines(old_text, &new_text)
            .unified_diff()
            .context_radius(3)
            .header(&shown, &format!("{shown} ({what})"))
            .to_string();
        write_out(out, &diff)?;
        return Ok(ExitStatus::Success);
    }
    crate::emit::write_atomic(&path, new_text.as_bytes())?;
    writeln!(err, "{what} in {}", path.display())
        .map_err(|e| Error::io("cannot write to", Path::new("stderr"), e))?;
    Ok(ExitStatus::Success)
}

/// `imgf enroll`.
pub(crate) fn run_enroll(
    args: &EnrollArgs,
    ui: crate::Ui,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<ExitStatus, Error> {
    let path = args.input.dir.join(IMAGES_FILE);
    let (old_text, mut entries) = crate::config::load::load_enrollments(&path)?;
    let text = entry_text(args)?;
    let source_name = args
        .file
        .as_deref()
        .unwrap_or(Path::new("the new entry"))
        .to_path_buf();
    // One entry: a mapping, or a one-item list.
    let new: Enrollment = match parse::parse::<Enrollment>(&source_name, &text) {
        Ok(e) => e,
        Err(first) => match parse::parse::<Vec<Enrollment>>(&source_name, &text) {
            Ok(mut v) if v.len() == 1 => v.remove(0),
            _ => return Err(Error::input(first)),
        },
    };
    let (new_text, what) = match entries.iter().position(|e| e.name == new.name) {
        Some(i) if args.update => {
            entries[i] = new.clone();
            (
                edit::replace(&old_text, i, &text).unwrap_or_default(),
                format!("updated `{}`", new.name),
            )
        }
        Some(_) => {
            return Err(Error::input(
                Diagnostic::error(format!("image `{}` is already enrolled", new.name))
                    .in_file(&path)
                    .help("pass --update to replace its entry, or choose another name"),
            ))
        }
        None => {
            entries.push(new.clone());
            (
                edit::append(&old_text, &text),
                format!("enrolled `{}`", new.name),
            )
        }
    };
    let change = Change {
        old_text: &old_text,
        new_text,
        expected: &entries,
        what,
    };
    finish(&args.input, change, args.dry_run, ui, out, err)
}

/// `imgf unenroll NAME`.
pub(crate) fn run_unenroll(
    args: &UnenrollArgs,
    ui: crate::Ui,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<ExitStatus, Error> {
    let path = args.input.dir.join(IMAGES_FILE);
    let (old_text, mut entries) = crate::config::load::load_enrollments(&path)?;
    let Some(i) = entries.iter().position(|e| e.name == args.name) else {
        return Err(Error::input(
            Diagnostic::error(format!("image `{}` is not enrolled", args.name))
                .in_file(&path)
                .help("`imgf graph` lists the enrolled images"),
        ));
    };
    entries.remove(i);
    let new_text = edit::remove(&old_text, i).unwrap_or_default();
    let what = format!(
        "unenrolled `{}` (`imgf analyze` archives its state file)",
        args.name
    );
    let change = Change {
        old_text: &old_text,
        new_text,
        expected: &entries,
        what,
    };
    finish(&args.input, change, args.dry_run, ui, out, err)
}
