//! `imgf enroll` and `imgf unenroll`: add, update or remove one entry of
//! images.yaml, keeping every other byte ([`crate::config::edit`]); the
//! result must pass everything synth checks before it is written, and
//! `--dry-run` prints the diff instead.
//!
//! Writing is safe against other writers: runs of imgf take an advisory lock
//! on images.yaml's directory for the whole read–check–write, and the file is
//! compared with what was read just before the new one is renamed over it —
//! a change made meanwhile (an editor's save) starts the edit again from the
//! new text. The new file keeps the old one's mode, owner, group and line
//! endings; a read-only file is refused. What is reported is read back from
//! the file.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::cli::{EnrollArgs, InputArgs, UnenrollArgs};
use crate::config::edit::{self, Field};
use crate::config::enrollment::{Enrollment, Provider};
use crate::config::parse::{self, Value};
use crate::config::settings::Overrides;
use crate::diagnostic::{Diagnostic, Error, Location};
use crate::load::IMAGES_FILE;
use crate::shell::Shell;
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

/// Values longer than this are cut in messages.
const SHOWN_CHARS: usize = 60;

/// `value` for a message: escaped, and cut to [`SHOWN_CHARS`] characters.
fn shown(value: &str) -> String {
    let escaped = value.escape_debug().to_string();
    if escaped.chars().count() <= SHOWN_CHARS {
        return escaped;
    }
    let cut: String = escaped.chars().take(SHOWN_CHARS - 1).collect();
    format!("{cut}…")
}

fn usage(msg: impl Into<String>, help: &str) -> Error {
    Error::input(Diagnostic::error(msg).help(help))
}

/// The flags that set keys of an entry: (flag, key, under `source:`).
const FLAG_KEYS: &[(&str, &str, bool)] = &[
    ("--name", "name", false),
    ("--registry", "registry", false),
    ("--repository", "repository", false),
    ("--tag", "tag", false),
    ("--owner", "owner", false),
    ("--system", "system", false),
    ("--lifecycle", "lifecycle", false),
    ("--delay", "rebuildDelay", false),
    ("--manual", "autoRebuild", false),
    ("--provider", "provider", true),
    ("--source-repo", "repo", true),
    ("--branch", "branch", true),
    ("--dockerfile", "dockerfile", true),
    ("--workflow", "workflow", true),
];

/// The value given for each flag that was given.
fn given_flags(args: &EnrollArgs) -> Vec<(&'static str, String)> {
    let v = |flag: &'static str, o: &Option<String>| o.clone().map(|x| (flag, x));
    [
        v("--name", &args.name),
        v("--registry", &args.registry),
        v("--repository", &args.repository),
        v("--tag", &args.tag),
        v("--owner", &args.owner),
        v("--system", &args.system),
        v("--lifecycle", &args.lifecycle),
        v("--delay", &args.delay),
        args.manual.then(|| ("--manual", "false".to_string())),
        v("--provider", &args.provider),
        v("--source-repo", &args.source_repo),
        v("--branch", &args.branch),
        v("--dockerfile", &args.dockerfile),
        v("--workflow", &args.workflow),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// A scalar as images.yaml would hold it (quoted where YAML needs it).
fn scalar<T: Serialize + ?Sized>(v: &T) -> Result<String, Error> {
    crate::emit::yaml::to_string(v)
        .map(|s| s.trim_end().to_string())
        .map_err(|e| Error::Internal(e.to_string()))
}

/// A whole new entry's YAML text, from the flags.
fn entry_from_flags(args: &EnrollArgs) -> Result<String, Error> {
    fn need<'a>(v: Option<&'a str>, flag: &str) -> Result<&'a str, Error> {
        v.ok_or_else(|| {
            usage(
                format!("imgf enroll needs --{flag} for a new image (or -f entry.yaml)"),
                "a new image needs --name, --registry and --repository; and --source-repo and --dockerfile when it is built here",
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
            (Some(_), None) | (None, Some(_)) => return Err(usage(
                "--source-repo and --dockerfile go together for a new image",
                "pass both for an image built here, or neither for an external image (with --tag)",
            )),
        };
    let entry = NewEntry {
        name: need(args.name.as_deref(), "name")?,
        registry: need(args.registry.as_deref(), "registry")?,
        repository: need(args.repository.as_deref(), "repository")?,
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

/// What images.yaml holds now.
struct Current {
    /// The file's bytes as read (`None`: there is no file).
    raw: Option<Vec<u8>>,
    /// Its text, with CRLF line endings made LF when every line has one.
    text: String,
    crlf: bool,
    entries: Vec<Enrollment>,
}

impl Current {
    /// `text` (with LF line endings) as the file will hold it.
    fn to_file(&self, text: &str) -> String {
        if self.crlf {
            text.replace('\n', "\r\n")
        } else {
            text.to_string()
        }
    }
}

/// Reads images.yaml. A missing file, an empty one (or comments only) and
/// `[]` hold no entries; anything else must parse as synth parses it.
fn read_current(path: &Path) -> Result<Current, Error> {
    match parse::not_a_file(path) {
        // The other spelling beside it would be shadowed by a new file.
        Ok(Some(parse::NotAFile::Missing)) if path.with_extension("yml").is_file() => {
            return Err(Error::input(
                Diagnostic::error("no images.yaml, but there is an images.yml beside it: imgf reads only images.yaml, and would start a new file that hides it")
                    .in_file(path)
                    .help("rename images.yml to images.yaml, then run the command again"),
            ))
        }
        Ok(Some(parse::NotAFile::Missing)) => {
            return Ok(Current {
                raw: None,
                text: String::new(),
                crlf: false,
                entries: Vec::new(),
            })
        }
        // A directory, a dangling link, a loop: each says what it is.
        Ok(Some(other)) => return Err(Error::input(other.diagnostic(path))),
        Ok(None) => {}
        Err(e) => return Err(Error::io("cannot read", path, e)),
    }
    let raw = parse::read_text(path)?;
    let crlf = raw.contains("\r\n") && !raw.replace("\r\n", "").contains('\n');
    let text = if crlf {
        raw.replace("\r\n", "\n")
    } else {
        raw.clone()
    };
    let entries = match parse::parse::<Vec<Enrollment>>(path, &text) {
        Ok(entries) => entries,
        Err(first) => match parse::parse_value(path, &text) {
            Ok(Value::Null) => Vec::new(),
            // The usual explanations (a mapping, not a list; …).
            _ => match crate::load::load_enrollments(path) {
                Err(e) => return Err(e),
                Ok(_) => return Err(Error::input(first)),
            },
        },
    };
    Ok(Current {
        raw: Some(raw.into_bytes()),
        text,
        crlf,
        entries,
    })
}

/// The refusal for a file the line-based editor cannot change safely.
fn layout_error(path: &Path, why: &str) -> Error {
    Error::input(
        Diagnostic::error(format!(
            "images.yaml is laid out in a way imgf cannot edit safely line by line ({why}); nothing was changed"
        ))
        .in_file(path)
        .help("edit images.yaml by hand, or rewrite it as a list of `- name:` items in block style, which is what imgf edits"),
    )
}

/// Why the line-based editor cannot edit `text`, if it cannot.
fn layout_problem(text: &str, entries: &[Enrollment]) -> Option<&'static str> {
    if text.lines().any(|l| l.trim_end() == "...") {
        return Some("it ends its document with `...`");
    }
    if text.lines().any(|l| l.trim_end() == "---") && edit::count(text) > 0 {
        // A `---` before the list is fine; one after an item starts a second
        // document.
        let first_item = parse::Locator::new(text).item(0).map_or(0, |l| l.line);
        if text.lines().skip(first_item).any(|l| l.trim_end() == "---") {
            return Some("it holds more than one YAML document");
        }
    }
    if edit::count(text) != entries.len() {
        return Some("its entries are not all `- name:` items in block style: a flow-style list?");
    }
    None
}

/// Refuses a file nobody may write (no write bit in its mode, which even
/// root respects here, as `rm` and editors do) or that this user may not
/// open for writing; nothing is written either way.
fn check_writable(path: &Path) -> Result<(), Error> {
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(Error::io("cannot read", path, e)),
    };
    #[cfg(unix)]
    let (read_only, mode) = {
        use std::os::unix::fs::PermissionsExt;
        let mode = meta.permissions().mode() & 0o7777;
        (mode & 0o222 == 0, format!(" (mode {mode:04o})"))
    };
    #[cfg(not(unix))]
    let (read_only, mode) = (meta.permissions().readonly(), String::new());
    let refuse = |why: String| {
        Error::input(
            Diagnostic::error(format!("{why}; nothing was changed"))
                .in_file(path)
                .help(format!(
                    "make it writable (`chmod u+w {}`) if imgf should edit it",
                    path.display()
                )),
        )
    };
    if read_only {
        return Err(refuse(format!("images.yaml is read-only{mode}")));
    }
    // Opened for appending, nothing written: only the permission is asked.
    match std::fs::OpenOptions::new().append(true).open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
            Err(refuse(format!("you may not write images.yaml{mode}")))
        }
        Err(e) => Err(Error::io("cannot open for writing", path, e)),
    }
}

/// How long a run waits for another imgf editing the same images.yaml.
const LOCK_WAIT: Duration = Duration::from_secs(60);

/// Holds the advisory lock on images.yaml's directory while alive.
struct Lock(#[allow(dead_code)] std::fs::File);

/// Takes the advisory lock that runs of `imgf enroll`/`unenroll` on the same
/// directory take, waiting up to [`LOCK_WAIT`]. The directory itself is
/// locked (created first if need be): no lock file is left in the
/// repository. Elsewhere than on Unix, a `.imgf.lock` file beside
/// images.yaml is locked instead.
///
/// `fs4` provides the lock (flock(2) through rustix, which tempfile already
/// brings in): the crate denies unsafe code, and std's own `File::try_lock`
/// needs Rust 1.89, newer than the supported 1.85.
fn lock(dir: &Path) -> Result<Lock, Error> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io("cannot create directory", dir, e))?;
    #[cfg(unix)]
    let (file, what) = (std::fs::File::open(dir), dir.to_path_buf());
    #[cfg(not(unix))]
    let (file, what) = {
        let p = dir.join(".imgf.lock");
        (
            std::fs::OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .open(&p),
            p,
        )
    };
    let file = file.map_err(|e| Error::io("cannot open to lock", &what, e))?;
    let start = Instant::now();
    loop {
        match fs4::FileExt::try_lock(&file) {
            Ok(()) => return Ok(Lock(file)),
            Err(fs4::TryLockError::WouldBlock) if start.elapsed() < LOCK_WAIT => {
                std::thread::sleep(Duration::from_millis(10));
            }
            Err(fs4::TryLockError::WouldBlock) => {
                return Err(Error::input(
                    Diagnostic::error(format!(
                        "another imgf has been editing {} for more than {} s; nothing was changed",
                        dir.join(IMAGES_FILE).display(),
                        LOCK_WAIT.as_secs()
                    ))
                    .help("wait for it to finish, or stop it, and run this again"),
                ))
            }
            Err(fs4::TryLockError::Error(e)) => {
                return Err(Error::io("cannot lock", &what, e));
            }
        }
    }
}

/// One edit of images.yaml, planned from what it holds now.
struct Plan {
    /// The new text (LF line endings).
    text: String,
    /// The entries it must hold, exactly.
    expected: Vec<Enrollment>,
    /// What was done, for the message and the diff header.
    what: String,
    /// Where the entry's text came from, to point errors there.
    origin: Origin,
    /// Show the changed lines on stderr (an update).
    show_diff: bool,
    /// The image unenrolled (no warnings about its state file).
    gone: Option<String>,
}

/// Where an added or changed entry's lines came from.
enum Origin {
    /// Nothing added (unenroll).
    None,
    /// From the flags: lines `lines` (0-based, of the new text) hold them.
    Flags {
        lines: std::ops::Range<usize>,
        values: Vec<(&'static str, String)>,
    },
    /// From `-f FILE`: its text starts at line `first` (0-based) of the new
    /// text, line for line.
    File {
        path: PathBuf,
        text: String,
        first: usize,
    },
}

/// The item index and line range (0-based) of entry `name` in `text`.
fn entry_lines(text: &str, index: usize) -> std::ops::Range<usize> {
    let loc = parse::Locator::new(text);
    let start = loc.item(index).map_or(0, |l| l.line - 1);
    let end = loc
        .item(index + 1)
        .map_or_else(|| text.lines().count(), |l| l.line - 1);
    start..end
}

/// The key on `line` (`- name: x` → `name`).
fn key_of(line: &str) -> Option<&str> {
    let t = line.trim_start();
    let t = t.strip_prefix("- ").unwrap_or(t).trim_start();
    let (k, _) = t.split_once(':')?;
    Some(k.trim())
}

/// Points the diagnostics about the added or changed entry at where its
/// text came from: the flag and its value, or the line of the `-f` file.
fn point_at_origin(diags: &mut [Diagnostic], images: &Path, new_text: &str, origin: &Origin) {
    let new_lines: Vec<&str> = new_text.lines().collect();
    for d in diags.iter_mut() {
        if d.file.as_deref() != Some(images) {
            continue;
        }
        let Some(loc) = d.location else { continue };
        let line = loc.line - 1;
        match origin {
            Origin::Flags { lines, values } if lines.contains(&line) => {
                let Some(key) = new_lines.get(line).and_then(|l| key_of(l)) else {
                    continue;
                };
                let Some((flag, _, _)) = FLAG_KEYS.iter().find(|(_, k, _)| *k == key) else {
                    continue;
                };
                let Some((_, value)) = values.iter().find(|(f, _)| f == flag) else {
                    continue;
                };
                // "image `x`: invalid KEY `VALUE`: WHY" → "invalid `--flag VALUE`: WHY"
                let why = d
                    .message
                    .split_once(&format!("invalid {key} `{}`: ", value.escape_debug()))
                    .map(|(_, why)| why.to_string());
                d.message = match why {
                    Some(why) => format!("invalid `{flag} {}`: {why}", shown(value)),
                    None => format!("`{flag} {}`: {}", shown(value), d.message),
                };
                d.file = None;
                d.location = None;
                d.source = None;
            }
            Origin::File { path, text, first } if line >= *first => {
                let k = line - first;
                let Some(src) = text.lines().nth(k) else {
                    continue;
                };
                // The item's lines are the file's, shifted right by `- `
                // (or by the list's indentation).
                let shift = new_lines
                    .get(line)
                    .map_or(0, |l| l.chars().count().saturating_sub(src.chars().count()));
                let underline = d.source.as_ref().and_then(|s| s.underline.clone());
                d.file = Some(path.clone());
                d.location = Some(Location {
                    line: k + 1,
                    column: loc.column.saturating_sub(shift).max(1),
                });
                d.set_source(text);
                if let (Some(u), Some(s)) = (underline, d.source.as_mut()) {
                    s.underline = Some(u);
                }
            }
            _ => {}
        }
    }
}

/// Checks the planned text as synth would (with the rest of `--dir`): the
/// layout, every value, and synthesis itself. Returns the warnings.
fn check(input: &InputArgs, path: &Path, plan: &Plan) -> Result<Vec<Diagnostic>, Error> {
    let entries: Vec<Enrollment> = if plan.expected.is_empty() {
        Vec::new()
    } else {
        parse::parse(path, &plan.text)
            .map_err(|_| layout_error(path, "the edited file does not parse as the same list"))?
    };
    if entries != plan.expected || edit::count(&plan.text) != entries.len() {
        return Err(layout_error(
            path,
            "the edited file would not hold the entries it should",
        ));
    }
    let overrides = Overrides {
        project: input.project.clone(),
        analysis_image: input.analysis_image.clone(),
    };
    let fix = |e: Error| match e {
        Error::Input(mut diags) => {
            point_at_origin(&mut diags, path, &plan.text, &plan.origin);
            Error::Input(diags)
        }
        e => e,
    };
    let text = plan.text.clone();
    let inputs = crate::load::load_with(
        &input.dir.path,
        input.settings.as_deref(),
        &overrides,
        move |_| Ok((text, entries)),
    )
    .map_err(fix)?;
    let mut warnings = inputs.warnings.clone();
    if inputs.enrollments.is_empty() {
        // Nothing is enrolled: synth would refuse, and has nothing to make.
        return Ok(warnings);
    }
    let result =
        crate::ops::synth::synthesize(&inputs, crate::targets::Target::Kargo).map_err(fix)?;
    warnings.extend(result.warnings);
    point_at_origin(&mut warnings, path, &plan.text, &plan.origin);
    Ok(warnings)
}

/// The lines that differ, as a unified diff without context.
fn short_diff(old: &str, new: &str) -> String {
    similar::TextDiff::from_lines(old, new)
        .unified_diff()
        .context_radius(0)
        .to_string()
}

/// How many times an edit is planned again after images.yaml changed under it.
const TRIES: usize = 10;

/// Plans (with `plan`), checks and writes an edit of images.yaml, under the
/// lock, again from the new text whenever the file changed meanwhile; then
/// reads the file back and checks it with `holds`.
fn edit_images(
    input: &InputArgs,
    dry_run: bool,
    quiet: bool,
    shell: &mut Shell<'_>,
    plan: &dyn Fn(&Path, &Current) -> Result<Plan, Error>,
    holds: &dyn Fn(&[Enrollment]) -> bool,
) -> Result<ExitStatus, Error> {
    let path = input.dir.path.join(IMAGES_FILE);
    let _lock = if dry_run {
        None
    } else {
        check_writable(&path)?;
        Some(lock(&input.dir.path)?)
    };
    for _ in 0..TRIES {
        let current = read_current(&path)?;
        if let Some(why) = layout_problem(&current.text, &current.entries) {
            return Err(layout_error(&path, why));
        }
        let plan = plan(&path, &current)?;
        let mut warnings = check(input, &path, &plan)?;
        if let Some(gone) = &plan.gone {
            // Its state file is archived by the next analyze, as said.
            warnings.retain(|d| {
                d.is_error()
                    || d.file.as_deref().is_none_or(|f| {
                        f.file_stem().and_then(|s| s.to_str()) != Some(gone.as_str())
                    })
            });
        }
        if !quiet {
            shell.diagnostics(&warnings)?;
        }
        let new_file = current.to_file(&plan.text);
        let old_file = current.to_file(&current.text);
        if dry_run {
            let shown = path.display().to_string();
            let diff = similar::TextDiff::from_lines(old_file.as_str(), new_file.as_str())
                .unified_diff()
                .context_radius(3)
                .header(&shown, &format!("{shown} ({})", plan.what))
                .to_string();
            shell.out_str(&diff)?;
            return Ok(ExitStatus::Success);
        }
        if !crate::fs::replace_if_unchanged(&path, current.raw.as_deref(), new_file.as_bytes())? {
            continue;
        }
        // Say only what the file holds.
        let after = read_current(&path)?;
        if !holds(&after.entries) {
            return Err(Error::input(
                Diagnostic::error(format!(
                    "{} was changed by something else right after imgf wrote it, and the change is not in it",
                    path.display()
                ))
                .in_file(&path)
                .help("look at the file, and run this again"),
            ));
        }
        if !quiet {
            let mut msg = format!("{} in {}\n", plan.what, path.display());
            if current.raw.is_none() {
                msg = format!("started {}; {msg}", path.display());
            }
            if plan.show_diff {
                msg.push_str(&short_diff(&current.text, &plan.text));
            }
            shell.err_str(&msg)?;
        }
        return Ok(ExitStatus::Success);
    }
    Err(Error::input(
        Diagnostic::error(format!(
            "{} kept changing while imgf edited it ({TRIES} tries); nothing was changed",
            path.display()
        ))
        .help("wait until nothing else is writing it, and run this again"),
    ))
}

/// The new entry, parsed: from `-f FILE` (errors name that file), or from
/// the flags.
fn parse_entry(text: &str, file: Option<&Path>) -> Result<Enrollment, Error> {
    let Some(file) = file else {
        return parse::parse::<Enrollment>(Path::new("--name"), text)
            .map_err(|d| Error::Internal(d.message));
    };
    // One entry: a mapping, or a one-item list.
    match parse::parse::<Enrollment>(file, text) {
        Ok(e) => Ok(e),
        Err(first) => match parse::parse::<Vec<Enrollment>>(file, text) {
            Ok(mut v) if v.len() == 1 => Ok(v.remove(0)),
            _ => Err(Error::input(first)),
        },
    }
}

/// `imgf enroll --update NAME` with flags: only the keys the flags give.
fn update_fields(
    args: &EnrollArgs,
    path: &Path,
    current: &Current,
    i: usize,
) -> Result<Plan, Error> {
    let old = &current.entries[i];
    let mut new = old.clone();
    let mut fields: Vec<Field<'_>> = Vec::new();
    let mut set = |parent: Option<&'static str>, key: &'static str, value: String| {
        fields.push(Field { parent, key, value });
    };
    if let Some(v) = &args.registry {
        new.registry.clone_from(v);
        set(None, "registry", scalar(v)?);
    }
    if let Some(v) = &args.repository {
        new.repository.clone_from(v);
        set(None, "repository", scalar(v)?);
    }
    for (given, slot, key) in [
        (&args.tag, &mut new.tag, "tag"),
        (&args.owner, &mut new.owner, "owner"),
        (&args.system, &mut new.system, "system"),
        (&args.lifecycle, &mut new.lifecycle, "lifecycle"),
        (&args.delay, &mut new.rebuild_delay, "rebuildDelay"),
    ] {
        if let Some(v) = given {
            *slot = Some(v.clone());
            set(None, key, scalar(v)?);
        }
    }
    if args.manual {
        new.auto_rebuild = Some(false);
        set(None, "autoRebuild", "false".into());
    }
    let source_flags = args.source_repo.is_some()
        || args.dockerfile.is_some()
        || args.workflow.is_some()
        || args.branch.is_some()
        || args.provider.is_some();
    if source_flags {
        let src = match (&mut new.source, &args.source_repo, &args.dockerfile) {
            (Some(s), _, _) => s,
            (None, Some(repo), Some(dockerfile)) => new.source.insert(crate::config::enrollment::Source {
                provider: None,
                repo: repo.clone(),
                branch: None,
                dockerfile: dockerfile.clone(),
                workflow: None,
                build_args: std::collections::BTreeMap::new(),
                inputs: None,
                version_bump: None,
            }),
            (None, _, _) => {
                return Err(usage(
                    format!(
                        "`{}` has no source (it is an external image): --source-repo and --dockerfile go together to give it one",
                        shown(&old.name)
                    ),
                    "pass both --source-repo and --dockerfile (and --workflow, --branch or --provider if need be)",
                ))
            }
        };
        if let Some(v) = &args.provider {
            src.provider = Some(if v == "gitlab" {
                Provider::Gitlab
            } else {
                Provider::Github
            });
            set(Some("source"), "provider", scalar(v)?);
        }
        for (given, key) in [
            (&args.source_repo, "repo"),
            (&args.dockerfile, "dockerfile"),
        ] {
            if let Some(v) = given {
                if key == "repo" {
                    src.repo.clone_from(v);
                } else {
                    src.dockerfile.clone_from(v);
                }
                set(Some("source"), key, scalar(v)?);
            }
        }
        for (given, slot, key) in [
            (&args.branch, &mut src.branch, "branch"),
            (&args.workflow, &mut src.workflow, "workflow"),
        ] {
            if let Some(v) = given {
                *slot = Some(v.clone());
                set(Some("source"), key, scalar(v)?);
            }
        }
    }
    if fields.is_empty() {
        return Err(usage(
            format!("nothing to update in `{}`", shown(&old.name)),
            "pass the flags of the keys to change (like --delay 7d), or -f entry.yaml to replace the whole entry",
        ));
    }
    let text =
        edit::set_fields(&current.text, i, &fields).map_err(|why| layout_error(path, &why))?;
    let mut expected = current.entries.clone();
    expected[i] = new;
    Ok(Plan {
        origin: Origin::Flags {
            lines: entry_lines(&text, i),
            values: given_flags(args),
        },
        text,
        expected,
        what: format!("updated `{}`", shown(&old.name)),
        show_diff: true,
        gone: None,
    })
}

/// `imgf enroll`.
pub(crate) fn run_enroll(args: &EnrollArgs, shell: &mut Shell<'_>) -> Result<ExitStatus, Error> {
    // The entry from -f is read once: the file is the user's, not shared.
    let from_file = match &args.file {
        Some(f) => Some((f.clone(), parse::read_text(f)?)),
        None => None,
    };
    let name = match &from_file {
        Some((f, text)) => parse_entry(text, Some(f))?.name,
        None => args.name.clone().ok_or_else(|| {
            usage(
                "imgf enroll needs --name (or -f entry.yaml)",
                "pass --name, --registry and --repository (and --source-repo and --dockerfile for an image built here); with --update, --name and the flags to change",
            )
        })?,
    };
    let plan = |path: &Path, current: &Current| -> Result<Plan, Error> {
        let existing = current.entries.iter().position(|e| e.name == name);
        if let (Some(i), true, None) = (existing, args.update, &from_file) {
            return update_fields(args, path, current, i);
        }
        let text = match &from_file {
            Some((_, text)) => text.clone(),
            None => entry_from_flags(args)?,
        };
        let new = parse_entry(&text, from_file.as_ref().map(|(f, _)| f.as_path()))?;
        let mut expected = current.entries.clone();
        let (new_text, first, index, what) = match existing {
            Some(i) if args.update => {
                expected[i] = new;
                let (t, first) = edit::replace(&current.text, i, &text)
                    .ok_or_else(|| layout_error(path, "the entry is not where it was"))?;
                (t, first, i, format!("updated `{}`", shown(&name)))
            }
            Some(_) => {
                return Err(Error::input(
                    Diagnostic::error(format!("image `{}` is already enrolled", shown(&name)))
                        .in_file(path)
                        .help("pass --update to change it (with flags: only the keys they give; with -f: the whole entry), or choose another name"),
                ))
            }
            None => {
                expected.push(new);
                let (t, first) = edit::append(&current.text, &text);
                let i = expected.len() - 1;
                (t, first, i, format!("enrolled `{}`", shown(&name)))
            }
        };
        let origin = match &from_file {
            Some((f, t)) => Origin::File {
                path: f.clone(),
                text: t.clone(),
                first,
            },
            None => Origin::Flags {
                lines: entry_lines(&new_text, index),
                values: given_flags(args),
            },
        };
        Ok(Plan {
            text: new_text,
            expected,
            what,
            origin,
            show_diff: existing.is_some(),
            gone: None,
        })
    };
    let holds = |entries: &[Enrollment]| entries.iter().any(|e| e.name == name);
    edit_images(&args.input, args.dry_run, args.quiet, shell, &plan, &holds)
}

/// The enrolled images whose state lists `name` among their bases (by its
/// name, or by a base-image state file for its repository).
fn dependents(input: &InputArgs, name: &str, entries: &[Enrollment]) -> Vec<String> {
    let Some(gone) = entries.iter().find(|e| e.name == name) else {
        return Vec::new();
    };
    let Ok(store) = crate::state::store::Store::open(&input.dir.path) else {
        return Vec::new();
    };
    let mut problems = Vec::new();
    let images = store.read_images(&mut problems).unwrap_or_default();
    let bases = store.read_bases(&mut problems).unwrap_or_default();
    let repo = format!("{}/{}", gone.registry, gone.repository);
    let aliases: Vec<&str> = bases
        .iter()
        .filter(|b| b.data.repo_url.as_deref() == Some(repo.as_str()))
        .map(|b| b.stem.as_str())
        .collect();
    let enrolled: std::collections::HashSet<&str> = entries
        .iter()
        .filter(|e| e.name != name)
        .map(|e| e.name.as_str())
        .collect();
    let mut out: Vec<String> = images
        .iter()
        .filter(|s| enrolled.contains(s.stem.as_str()))
        .filter(|s| {
            s.data
                .base_images
                .iter()
                .any(|b| b == name || aliases.contains(&b.as_str()))
        })
        .map(|s| s.stem.clone())
        .collect();
    out.sort();
    out
}

/// `imgf unenroll NAME`.
pub(crate) fn run_unenroll(
    args: &UnenrollArgs,
    shell: &mut Shell<'_>,
) -> Result<ExitStatus, Error> {
    let name = args.name.as_str();
    let plan = |path: &Path, current: &Current| -> Result<Plan, Error> {
        let Some(i) = current.entries.iter().position(|e| e.name == name) else {
            let names: Vec<&str> = current.entries.iter().map(|e| e.name.as_str()).collect();
            let help = match crate::diagnostic::did_you_mean(name, &names) {
                Some(m) => format!("did you mean `{m}`?"),
                None if names.is_empty() => "no image is enrolled".to_string(),
                None => "`imgf graph` lists the enrolled images".to_string(),
            };
            return Err(Error::input(
                Diagnostic::error(format!("image `{}` is not enrolled", shown(name)))
                    .in_file(path)
                    .help(help),
            ));
        };
        let deps = dependents(&args.input, name, &current.entries);
        if !deps.is_empty() {
            let quoted: Vec<String> = deps.iter().map(|d| format!("`{d}`")).collect();
            let (list, their, them) = match quoted.as_slice() {
                [one] => (one.clone(), "its", one.clone()),
                [init @ .., last] => (
                    format!("{} and {last}", init.join(", ")),
                    "their",
                    "them".into(),
                ),
                [] => unreachable!("not empty"),
            };
            return Err(Error::input(
                Diagnostic::error(format!(
                    "`{name}` is the base of {list} ({their} state lists it in baseImages); nothing was changed"
                ))
                .in_file(path)
                .help(format!(
                    "unenroll {list} first (`imgf unenroll {}`), then `{name}`; or, to keep {them}, make `{name}` an external image (its entry without `source:`, with the `tag:` {list} {} built FROM): then it is a base watched upstream",
                    deps[0],
                    if deps.len() == 1 { "is" } else { "are" },
                )),
            ));
        }
        let mut expected = current.entries.clone();
        expected.remove(i);
        let text = edit::remove(&current.text, i)
            .ok_or_else(|| layout_error(path, "the entry is not where it was"))?;
        Ok(Plan {
            text,
            expected,
            what: format!("unenrolled `{name}` (`imgf analyze` archives its state file)"),
            origin: Origin::None,
            show_diff: false,
            gone: Some(name.to_string()),
        })
    };
    let holds = |entries: &[Enrollment]| !entries.iter().any(|e| e.name == name);
    edit_images(&args.input, args.dry_run, args.quiet, shell, &plan, &holds)
}
