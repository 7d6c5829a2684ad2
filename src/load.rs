//! Step 1 of synth: read everything in `--dir` — images.yaml, the settings,
//! and the state files (through [`crate::state::store`], their owner) —
//! collecting every problem before failing.

use std::path::{Path, PathBuf};

use crate::config::enrollment::{self, Enrollment};
use crate::config::parse::{self, LineIndex, Locator, Value};
use crate::config::settings::{Overrides, Settings, SettingsFile, SETTINGS_FILE};
use crate::diagnostic::{Diagnostic, Error, Location};
use crate::state::store::{Layout, StateFile, Store};
use crate::state::{BaseImageState, ImageState};

/// The enrollment file's name inside `--dir`.
pub const IMAGES_FILE: &str = "images.yaml";

/// Everything synth reads, parsed and checked for shape.
#[derive(Debug, Clone)]
pub struct Inputs {
    pub images_file: PathBuf,
    pub images_text: String,
    /// Where `images_text`'s lines and entries are (see [`Inputs::images_locator`]).
    pub images_index: LineIndex,
    pub enrollments: Vec<Enrollment>,
    pub image_states: Vec<StateFile<ImageState>>,
    pub base_states: Vec<StateFile<BaseImageState>>,
    /// The vulnerability scans recorded in `state/scans/`, by digest.
    pub scans: std::collections::BTreeMap<String, crate::security::ScanRecord>,
    pub settings: Settings,
    /// The settings file (which may not exist) and its text (empty then),
    /// for positions in warnings found after loading.
    pub settings_file: PathBuf,
    pub settings_text: String,
    pub layout: Layout,
    /// What reading found worth saying (e.g. a likely typo in a state file).
    pub warnings: Vec<Diagnostic>,
}

impl Inputs {
    /// Finds keys and entries in images.yaml, for positions in diagnostics.
    pub fn images_locator(&self) -> Locator<'_> {
        Locator::with_index(&self.images_text, &self.images_index)
    }

    /// Gives each diagnostic about images.yaml, the settings or a state
    /// file the source line it points at, for the snippet under it.
    pub fn attach_sources(&self, diags: &mut [Diagnostic]) {
        let images = self.images_locator();
        crate::diagnostic::attach_source_lines(diags, &self.images_file, |n| images.source_line(n));
        crate::diagnostic::attach_source(diags, &self.settings_file, &self.settings_text);
        let mut wanted = diags
            .iter_mut()
            .filter(|d| d.location.is_some() && d.source_line().is_none())
            .peekable();
        if wanted.peek().is_none() {
            return;
        }
        let mut wanted: Vec<&mut Diagnostic> = wanted.filter(|d| d.file.is_some()).collect();
        // Keyed by the paths' bytes: hashing a `Path` walks its components,
        // and there are as many paths as state files. Only the files some
        // diagnostic names are kept.
        let files: std::collections::HashSet<&std::ffi::OsStr> = wanted
            .iter()
            .filter_map(|d| d.file.as_deref().map(Path::as_os_str))
            .collect();
        let images = named_in(&self.image_states, &files);
        let bases = named_in(&self.base_states, &files);
        for d in &mut wanted {
            let (Some(file), Some(at)) = (d.file.as_deref(), d.location) else {
                continue;
            };
            let line = match images.get(file.as_os_str()) {
                Some(s) => s.source_line(at.line),
                None => bases
                    .get(file.as_os_str())
                    .and_then(|s| s.source_line(at.line)),
            };
            d.source.get_or_insert_default().line = line.map(str::to_string);
        }
    }
}

/// The state files among `states` whose paths are in `files`, by path.
fn named_in<'a, T>(
    states: &'a [StateFile<T>],
    files: &std::collections::HashSet<&std::ffi::OsStr>,
) -> std::collections::HashMap<&'a std::ffi::OsStr, &'a StateFile<T>> {
    states
        .iter()
        .filter(|s| files.contains(s.path.as_os_str()))
        .map(|s| (s.path.as_os_str(), s))
        .collect()
}

/// Reads `dir` (images.yaml, settings, state files). Collects every problem
/// it can before failing.
pub fn load(
    dir: &Path,
    settings_file: Option<&Path>,
    overrides: &Overrides,
) -> Result<Inputs, Error> {
    load_with(dir, settings_file, overrides, load_enrollments)
}

/// [`load`], with images.yaml's text and entries from `enrolled` (given the
/// file's path) instead of the file: what `imgf enroll` checks before it
/// writes.
pub fn load_with(
    dir: &Path,
    settings_file: Option<&Path>,
    overrides: &Overrides,
    enrolled: impl FnOnce(&Path) -> Result<(String, Vec<Enrollment>), Error> + Send,
) -> Result<Inputs, Error> {
    if !dir.is_dir() {
        return Err(Error::input(
            Diagnostic::error(format!("`{}` is not a directory", dir.display()))
                .help("pass the directory that holds images.yaml with --dir"),
        ));
    }
    let images_file = dir.join(IMAGES_FILE);
    // The state files are read while images.yaml is parsed and checked: the
    // two do not depend on each other, and each leaves a core idle at times.
    let (enrolled, states) = std::thread::scope(|scope| {
        let states = scope.spawn(|| -> Result<_, Error> {
            let store = Store::open(dir)?;
            let mut problems = Vec::new();
            let image_states = store.read_images(&mut problems)?;
            let base_states = store.read_bases(&mut problems)?;
            let scans =
                crate::security::read_scans(&crate::security::scans_dir(&store), &mut problems)?;
            Ok((image_states, base_states, scans, store.layout, problems))
        });
        let enrolled = enrolled(&images_file).map(|(text, enrollments)| {
            let index = LineIndex::new(&text);
            let problems = enrollment::validate_located(
                &enrollments,
                &images_file,
                &Locator::with_index(&text, &index),
            );
            (text, index, enrollments, problems)
        });
        let states = match states.join() {
            Ok(r) => r,
            Err(panic) => std::panic::resume_unwind(panic),
        };
        (enrolled, states)
    });
    // Reported in the order they were always found: images.yaml, settings,
    // the state files.
    let (images_text, images_index, mut enrollments, mut problems) = enrolled?;
    for e in &mut enrollments {
        normalize_paths(e);
    }
    let settings = match read_settings(dir, settings_file, overrides) {
        Ok(s) => Some(s),
        Err(mut d) => {
            problems.append(&mut d);
            None
        }
    };
    let (image_states, base_states, scans, layout, mut state_problems) = states?;
    problems.append(&mut state_problems);

    let has_errors = problems.iter().any(Diagnostic::is_error);
    match settings {
        Some((settings, settings_file, settings_text)) if !has_errors => Ok(Inputs {
            images_file,
            images_text,
            images_index,
            enrollments,
            image_states,
            base_states,
            scans,
            settings,
            settings_file,
            settings_text,
            layout,
            warnings: problems,
        }),
        _ => Err(Error::Input(problems)),
    }
}

/// Writes the repository paths of an entry without `.` components, once,
/// for every target: `./docker/Dockerfile` → `docker/Dockerfile` (a
/// Backstage source link would read `…/tree/main/./docker/`, a Flux
/// `update.path` `././apps`). A path that is only `.` components becomes
/// `.`, the repository root.
pub(crate) fn normalize_paths(e: &mut Enrollment) {
    if let Some(src) = &mut e.source {
        src.dockerfile = normalize_repo_path(&src.dockerfile);
    }
    for u in &mut e.updates {
        u.path = normalize_repo_path(&u.path);
    }
}

/// `./a/./b/` → `a/b/`; `./` → `.`; a path without `.` components is kept.
pub(crate) fn normalize_repo_path(path: &str) -> String {
    if !path.split('/').any(|p| p == ".") {
        return path.to_string();
    }
    let trailing = path.ends_with('/');
    let parts: Vec<&str> = path
        .split('/')
        .filter(|p| *p != "." && !p.is_empty())
        .collect();
    if parts.is_empty() {
        return ".".to_string();
    }
    let mut out = parts.join("/");
    if trailing {
        out.push('/');
    }
    out
}

/// Reads and parses images.yaml: present, not empty, a list, every entry well-formed.
pub fn load_enrollments(path: &Path) -> Result<(String, Vec<Enrollment>), Error> {
    match parse::not_a_file(path) {
        Ok(Some(parse::NotAFile::Missing)) => {
            // The other spelling is not read: say so rather than "nothing".
            let yml = path.with_extension("yml");
            return Err(Error::input(if yml.is_file() {
                Diagnostic::error("no images.yaml, but there is an images.yml beside it: imgf reads only images.yaml")
                    .in_file(path)
                    .help("rename images.yml to images.yaml")
            } else {
                Diagnostic::error("no images.yaml: nothing is enrolled")
                    .in_file(path)
                    .help("create images.yaml with a list of images (`imgf enroll` starts one), or point --dir at the directory that holds it")
            }));
        }
        // A directory, a dangling link, a loop: each says what it is.
        Ok(Some(other)) => return Err(Error::input(other.diagnostic(path))),
        Ok(None) => {}
        Err(e) => return Err(Error::io("cannot read", path, e)),
    }
    let text = parse::read_text(path)?;
    // Parse once into the typed form; only when that fails, look at the
    // document's shape to explain what is wrong with it.
    let mut typed = parse_entries(path, &text);
    // Parsing grows the list by doubling: up to half of it unused, a few
    // megabytes at 10,000 entries, kept for the whole run.
    if let Ok(entries) = &mut typed {
        entries.shrink_to_fit();
    }
    if let Ok(entries) = &typed {
        if !entries.is_empty() {
            return typed.map(|e| (text, e)).map_err(Error::input);
        }
    }
    let shape = match parse::parse_value(path, &text).map_err(Error::input)? {
        Value::Null => Some((
            "images.yaml is empty: nothing is enrolled",
            "add at least one image: `- name: app`, `registry: ghcr.io`, `repository: org/app`, and a `source`",
        )),
        Value::Sequence(items) if items.is_empty() => {
            Some(("images.yaml is an empty list: nothing is enrolled", "add at least one image entry"))
        }
        Value::Sequence(_) => None,
        Value::Mapping(m) if m.contains_key("images") => Some((
            "images.yaml is a mapping, not a list of images",
            "images.yaml is a list at the top level: move the entries under `images:` to the top level",
        )),
        Value::Mapping(_) => Some((
            "images.yaml is a mapping, not a list of images",
            "images.yaml must be a list of images, each starting with `- name:`",
        )),
        _ => Some((
            "images.yaml is a single value, not a list of images",
            "images.yaml must be a list of images, each starting with `- name:`",
        )),
    };
    match shape {
        Some((message, help)) => Err(Error::input(
            Diagnostic::error(message)
                .in_file(path)
                .at(Some(Location { line: 1, column: 1 }))
                .with_source(&text)
                .help(help),
        )),
        None => typed.map(|e| (text, e)).map_err(Error::input),
    }
}

/// Parses the list of entries. A large file that is a plain block sequence
/// (no anchors, aliases or directives) is split at its top-level `- ` items
/// and the pieces are parsed in parallel; if any piece fails, the whole file
/// is parsed again so the error carries its true position.
fn parse_entries(path: &Path, text: &str) -> Result<Vec<Enrollment>, Diagnostic> {
    const SPLIT_ABOVE: usize = 64 * 1024;
    let splittable = text.len() > SPLIT_ABOVE
        && !text.contains(['&', '*', '%', '\t'])
        && !text.contains("\n---");
    if splittable {
        let pieces = split_items(text, crate::par::threads());
        if pieces.len() > 1 {
            // One piece per thread, each taken as a whole.
            let parsed = crate::par::map_pieces(&pieces, 1, |p| {
                let t = p.first().copied().unwrap_or_default();
                match crate::config::fast_yaml::parse::<Vec<Enrollment>>(t) {
                    Some(entries) => Ok(entries),
                    None => parse::parse::<Vec<Enrollment>>(path, t),
                }
            });
            let mut all =
                Vec::with_capacity(parsed.iter().map(|r| r.as_ref().map_or(0, Vec::len)).sum());
            let mut ok = true;
            for r in parsed {
                match r {
                    Ok(mut v) => all.append(&mut v),
                    Err(_) => ok = false,
                }
            }
            if ok {
                return Ok(all);
            }
        }
    }
    match crate::config::fast_yaml::parse::<Vec<Enrollment>>(text) {
        Some(entries) => Ok(entries),
        None => parse::parse::<Vec<Enrollment>>(path, text),
    }
}

/// Cuts `text` into about `n` pieces, each starting at a line that begins a
/// top-level list item (`- ` in column 0).
fn split_items(text: &str, n: usize) -> Vec<&str> {
    let target = text.len() / n.max(1) + 1;
    let mut pieces = Vec::new();
    let mut start = 0;
    let mut pos = 0;
    for line in text.split_inclusive('\n') {
        if pos - start >= target && line.starts_with("- ") {
            pieces.push(&text[start..pos]);
            start = pos;
        }
        pos += line.len();
    }
    pieces.push(&text[start..]);
    pieces
}

pub(crate) fn load_settings(
    dir: &Path,
    explicit: Option<&Path>,
    overrides: &Overrides,
) -> Result<Settings, Vec<Diagnostic>> {
    read_settings(dir, explicit, overrides).map(|(s, _, _)| s)
}

/// [`load_settings`], with the file's path and text (empty when there is
/// no file).
fn read_settings(
    dir: &Path,
    explicit: Option<&Path>,
    overrides: &Overrides,
) -> Result<(Settings, PathBuf, String), Vec<Diagnostic>> {
    let dir_name = dir
        .canonicalize()
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "image-factory".into());
    let path = explicit.map_or_else(|| dir.join(SETTINGS_FILE), Path::to_path_buf);
    if explicit.is_none() && !path.is_file() {
        let empty = SettingsFile::default();
        let s = Settings::resolve(&dir_name, empty, overrides, &path, "")?;
        return Ok((s, path, String::new()));
    }
    let text = parse::read_text(&path).map_err(Error::into_diagnostics)?;
    let file: SettingsFile = if text.trim().is_empty() {
        SettingsFile::default()
    } else {
        parse::parse(&path, &text).map_err(|d| vec![d])?
    };
    let s = Settings::resolve(&dir_name, file, overrides, &path, &text)?;
    Ok((s, path, text))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fmt::Write as _;

    #[test]
    fn repository_paths_lose_their_dot_components() {
        for (path, want) in [
            ("./docker/Dockerfile", "docker/Dockerfile"),
            ("././Dockerfile", "Dockerfile"),
            ("a/./b/values.yaml", "a/b/values.yaml"),
            ("./apps/prod/", "apps/prod/"),
            ("./", "."),
            (".", "."),
            ("docker/Dockerfile", "docker/Dockerfile"),
            (".github/Dockerfile", ".github/Dockerfile"),
            ("a/.hidden/Dockerfile", "a/.hidden/Dockerfile"),
        ] {
            assert_eq!(normalize_repo_path(path), want, "{path}");
        }
    }

    #[test]
    fn split_parse_equals_whole_parse() {
        let mut text = String::from("# header\n");
        for i in 0..4000 {
            let _ = write!(text,
                "- name: app-{i}\n  registry: ghcr.io\n  repository: org/app-{i}\n  source:\n    repo: org/app\n    dockerfile: d/Dockerfile  # comment\n    workflow: w.yml\n    buildArgs:\n      A: \"- x\"\n"
            );
        }
        assert!(text.len() > 256 * 1024);
        let pieces = split_items(&text, 3);
        assert_eq!(pieces.concat(), text);
        assert!(pieces.len() > 1 && pieces[1..].iter().all(|p| p.starts_with("- name:")));
        let whole: Vec<Enrollment> = parse::parse(Path::new("x"), &text).unwrap();
        let split = parse_entries(Path::new("x"), &text).unwrap();
        assert_eq!(whole, split);
    }

    #[test]
    fn split_parse_reports_errors_at_their_true_line() {
        let mut text = String::new();
        for i in 0..4000 {
            let _ = write!(
                text,
                "- name: app-{i}\n  registry: ghcr.io\n  repository: org/app\n"
            );
        }
        text.push_str("- name: bad\n  registry: ghcr.io\n  repository: org/app\n  colour: blue\n");
        let d = parse_entries(Path::new("x"), &text).unwrap_err();
        assert_eq!(d.location.map(|l| l.line), Some(12_004));
        assert!(d.message.starts_with("entry 4001"), "{}", d.message);
    }
}
