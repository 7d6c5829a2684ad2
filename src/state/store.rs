//! The state store: the only owner of the state files on disk — the two
//! layouts (imgf's `state/` and the cdk8s app's directories), where each kind
//! of file lives, the one reader every command uses, the archive moves and
//! the writes.
//!
//! Directories are walked in sorted order, so what is read — and so what is
//! emitted — never depends on the file system's listing order.
//! `*.example.yaml` files and dot files are skipped.

use std::path::{Path, PathBuf};

use crate::config::parse;
use crate::diagnostic::{Diagnostic, Error};
use crate::state::{self, BaseImageState, ImageState, StateDoc};

/// A move of a state file into or out of the archive, which analysis
/// decides and [`Store::apply`] performs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Move {
    ArchiveImage(String),
    ArchiveBase(String),
    RestoreImage(String),
    RestoreBase(String),
}

/// Where state files live.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// `state/images/`, `state/base-images/` (imgf).
    State,
    /// `images/`, `base-images/` beside images.yaml (the cdk8s app).
    Legacy,
    /// No state directory yet (nothing analysed).
    Empty,
}

/// A parsed state file and where it came from.
#[derive(Debug, Clone)]
pub struct StateFile<T> {
    pub path: PathBuf,
    /// The file name without `.yaml`: the state's key.
    pub stem: String,
    pub data: T,
    /// What is kept of the file's text, for positions in later diagnostics
    /// and to skip identical writes.
    source: Source,
}

/// What a read keeps of a state file's text.
#[derive(Debug, Clone)]
enum Source {
    /// All of it.
    Text(String),
    /// Only the `baseImages:` block, from its line `first` (from 1): what
    /// synth and explain keep of an image state. Its base list is the one
    /// place in an image state that diagnostics found after reading point
    /// at (a base listed twice, or with no state file), and at 10,000
    /// images the whole texts were a fifth of synth's peak memory, each of
    /// their pages a page fault.
    BaseImages { first: usize, block: String },
}

impl<T> StateFile<T> {
    /// The file's text, for positions in diagnostics; empty for an image
    /// state read to look ([`Store::read_images`]), which keeps only what
    /// [`StateFile::base_image_line`] and [`StateFile::source_line`] need.
    pub fn text(&self) -> &str {
        match &self.source {
            Source::Text(t) => t,
            Source::BaseImages { .. } => "",
        }
    }

    /// The text of line `n` (from 1), when it was kept.
    pub fn source_line(&self, n: usize) -> Option<&str> {
        match &self.source {
            Source::Text(t) => t.lines().nth(n.checked_sub(1)?),
            Source::BaseImages { first, block } => block.lines().nth(n.checked_sub(*first)?),
        }
    }

    /// Where entry `k` of the file's `baseImages` list is.
    pub fn base_image_line(&self, k: usize) -> Option<crate::diagnostic::Location> {
        match &self.source {
            Source::Text(t) => {
                let (first, block) = base_images_block(t)?;
                base_image_entry(&t[block], first, k)
            }
            Source::BaseImages { first, block } => base_image_entry(block, *first, k),
        }
    }
}

/// The line and column of entry `k` of `block`, a `baseImages:` block
/// ([`base_images_block`]) whose first line is line `first` of its file.
fn base_image_entry(block: &str, first: usize, k: usize) -> Option<crate::diagnostic::Location> {
    block
        .lines()
        .enumerate()
        .skip(1)
        .filter(|(_, line)| line.trim_start().starts_with("- "))
        .nth(k)
        .map(|(i, line)| crate::diagnostic::Location {
            line: first + i,
            column: line.len() - line.trim_start().len() + 3,
        })
}

/// Where the `baseImages:` block of `text` is: the number of its first line
/// and its bytes (the key's line, then its entries with the blank lines and
/// comments among them); `None` without one. The one reading of that block,
/// for the whole text and for the block kept alone alike.
fn base_images_block(text: &str) -> Option<(usize, std::ops::Range<usize>)> {
    // memchr's searches: this runs on every image state of a run.
    let start = if text.starts_with("baseImages:") {
        0
    } else {
        memchr::memmem::find(text.as_bytes(), b"\nbaseImages:")? + 1
    };
    let first = memchr::memchr_iter(b'\n', &text.as_bytes()[..start]).count() + 1;
    let mut end = start;
    for (i, piece) in text[start..].split_inclusive('\n').enumerate() {
        // The line as `str::lines` gives it.
        let line = piece
            .strip_suffix('\n')
            .map_or(piece, |l| l.strip_suffix('\r').unwrap_or(l));
        let t = line.trim_start();
        if i > 0 && !t.is_empty() && !t.starts_with('#') && !t.starts_with("- ") {
            break;
        }
        end += piece.len();
    }
    Some((first, start..end))
}

/// The state directories of one enrollment directory.
#[derive(Debug, Clone)]
pub struct Store {
    pub layout: Layout,
    pub images: PathBuf,
    pub bases: PathBuf,
    pub archive_images: PathBuf,
    pub archive_bases: PathBuf,
}

impl Store {
    /// The store of `dir` (the directory holding images.yaml).
    pub fn open(dir: &Path) -> Result<Store, Error> {
        let layout = detect_layout(dir)?;
        let (images, bases, archive) = match layout {
            Layout::Legacy => (
                dir.join("images"),
                dir.join("base-images"),
                dir.join("_archive"),
            ),
            Layout::State | Layout::Empty => (
                dir.join("state/images"),
                dir.join("state/base-images"),
                dir.join("state/_archive"),
            ),
        };
        Ok(Store {
            layout,
            images,
            bases,
            archive_images: archive.join("images"),
            archive_bases: archive.join("base-images"),
        })
    }

    /// The file of image `name`'s state.
    pub fn image_path(&self, name: &str) -> PathBuf {
        self.images.join(format!("{name}.yaml"))
    }

    /// The file of base image `name`'s state.
    pub fn base_path(&self, name: &str) -> PathBuf {
        self.bases.join(format!("{name}.yaml"))
    }

    /// Every image state, to read (not to write back: the keys imgf does
    /// not model are not kept, `extra` is empty — [`read_or_fail`] keeps
    /// them); problems with single files are added to `problems`.
    pub fn read_images(
        &self,
        problems: &mut Vec<Diagnostic>,
    ) -> Result<Vec<StateFile<ImageState>>, Error> {
        read(&self.images, problems, Keep::Names, Kept::BaseImages)
    }

    /// Every base-image state, to read (as [`Store::read_images`]);
    /// problems with single files are added to `problems`.
    pub fn read_bases(
        &self,
        problems: &mut Vec<Diagnostic>,
    ) -> Result<Vec<StateFile<BaseImageState>>, Error> {
        read(&self.bases, problems, Keep::Names, Kept::Text)
    }

    /// Every archived image state.
    pub fn read_archived_images(
        &self,
        problems: &mut Vec<Diagnostic>,
    ) -> Result<Vec<StateFile<ImageState>>, Error> {
        read(&self.archive_images, problems, Keep::Values, Kept::Text)
    }

    /// Carries out a lifecycle move (archive or restore); a file that is not
    /// there is nothing to move. Returns the paths it changed.
    pub fn apply(&self, m: &Move) -> Result<Vec<PathBuf>, Error> {
        let (from, to) = match m {
            Move::ArchiveImage(n) => (
                self.image_path(n),
                self.archive_images.join(format!("{n}.yaml")),
            ),
            Move::ArchiveBase(n) => (
                self.base_path(n),
                self.archive_bases.join(format!("{n}.yaml")),
            ),
            Move::RestoreImage(n) => (
                self.archive_images.join(format!("{n}.yaml")),
                self.image_path(n),
            ),
            Move::RestoreBase(n) => (
                self.archive_bases.join(format!("{n}.yaml")),
                self.base_path(n),
            ),
        };
        if from.is_file() {
            if let Some(parent) = to.parent() {
                std::fs::create_dir_all(parent)
                    .map_err(|e| Error::io("cannot create", parent, e))?;
            }
            std::fs::rename(&from, &to).map_err(|e| Error::io("cannot move", &from, e))?;
            return Ok(vec![from, to]);
        }
        Ok(Vec::new())
    }

    /// Writes image `name`'s state unless the file already says exactly that;
    /// the path when it wrote.
    pub fn write_image(
        &self,
        name: &str,
        old: Option<&str>,
        s: &ImageState,
    ) -> Result<Option<PathBuf>, Error> {
        write_if_changed(
            &self.image_path(name),
            old,
            &crate::state::write::image_state(s)?,
        )
    }

    /// Writes base image `name`'s state unless the file already says exactly
    /// that; the path when it wrote.
    pub fn write_base(
        &self,
        name: &str,
        old: Option<&str>,
        s: &BaseImageState,
    ) -> Result<Option<PathBuf>, Error> {
        write_if_changed(
            &self.base_path(name),
            old,
            &crate::state::write::base_image_state(s)?,
        )
    }
}

/// Reads every state file of `dir`: fails when a file has an error, adds
/// the warnings to `warnings`.
pub fn read_or_fail<T: StateDoc>(
    dir: &Path,
    warnings: &mut Vec<Diagnostic>,
) -> Result<Vec<StateFile<T>>, Error> {
    let mut problems = Vec::new();
    let files = read(dir, &mut problems, Keep::Values, Kept::Text)?;
    warnings.extend(crate::diagnostic::into_result(problems)?);
    Ok(files)
}

/// State files by key, each with its source text.
pub fn keyed<T>(files: Vec<StateFile<T>>) -> std::collections::BTreeMap<String, (T, String)> {
    files
        .into_iter()
        .map(|f| {
            let text = match f.source {
                Source::Text(t) => t,
                // Only reads that keep the whole text feed a write.
                Source::BaseImages { .. } => String::new(),
            };
            (f.stem, (f.data, text))
        })
        .collect()
}

fn write_if_changed(path: &Path, old: Option<&str>, new: &str) -> Result<Option<PathBuf>, Error> {
    let current = match old {
        Some(t) => Some(t.to_string()),
        None => std::fs::read_to_string(path).ok(),
    };
    if current.as_deref() == Some(new) {
        return Ok(None);
    }
    crate::fs::write_atomic(path, new.as_bytes())?;
    Ok(Some(path.to_path_buf()))
}

/// Which layout `dir` uses; both at once is an error.
pub fn detect_layout(dir: &Path) -> Result<Layout, Error> {
    let new = dir.join("state/images").is_dir() || dir.join("state/base-images").is_dir();
    let old = dir.join("images").is_dir() || dir.join("base-images").is_dir();
    match (new, old) {
        (true, true) => Err(Error::input(
            Diagnostic::error(format!(
                "`{}` holds both state/images (imgf layout) and images/ (cdk8s layout)",
                dir.display()
            ))
            .help("keep one layout: move the cdk8s app's images/ and base-images/ into state/, or remove them"),
        )),
        (true, false) => Ok(Layout::State),
        (false, true) => Ok(Layout::Legacy),
        (false, false) => Ok(Layout::Empty),
    }
}

/// The state files of one directory, sorted by name.
fn list_state_files(dir: &Path) -> Result<Vec<PathBuf>, Error> {
    if !dir.is_dir() {
        return Ok(Vec::new());
    }
    let listing = |e: std::io::Error| Error::io("cannot list", dir, e);
    // Names first, sorted as bytes, then joined: sorting paths would parse
    // their components in every comparison, thousands of times a run.
    let mut names = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(listing)? {
        let name = entry.map_err(listing)?.file_name();
        let text = name.to_string_lossy();
        let is_yaml = text.ends_with(".yaml") || text.ends_with(".yml");
        let is_example = text.ends_with(".example.yaml") || text.ends_with(".example.yml");
        // Links are followed and anything else with a state file's name
        // (a directory, a link to nothing) is read too, so it is reported
        // as what it is rather than silently passed over.
        if is_yaml && !is_example && !text.starts_with('.') {
            names.push(name);
        }
    }
    names.sort_unstable();
    let files = names.into_iter().map(|n| dir.join(n)).collect();
    Ok(files)
}

/// A file read: the state and the warnings about it.
type Read<T> = (StateFile<T>, Vec<Diagnostic>);

/// What a read keeps of the keys a state type does not model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Keep {
    /// Each with its value, in `extra`: the file may be written back.
    Values,
    /// Their names, to warn about likely typos; `extra` stays empty. The
    /// cdk8s app's files hold a copy of the images.yaml entry each
    /// (`enrollment:`), which as values would be a third of synth's memory.
    Names,
}

/// What a read keeps of each file's text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kept {
    Text,
    /// The `baseImages:` block ([`Source::BaseImages`]).
    BaseImages,
}

/// The one reader of state files: parsed in parallel, the keys the type does
/// not model kept as `keep` says, the text as `kept` says, a file's
/// problems collected (I/O errors are fatal).
fn read<T: StateDoc>(
    dir: &Path,
    problems: &mut Vec<Diagnostic>,
    keep: Keep,
    kept: Kept,
) -> Result<Vec<StateFile<T>>, Error> {
    let files = list_state_files(dir)?;
    let opened = parse::Dir::open(dir);
    let read_one = |path: &PathBuf| -> Result<Result<Read<T>, Diagnostic>, Error> {
        let text = opened.read_text(path)?;
        let stem = stem(path);
        if text.trim().is_empty() {
            return Ok(Err(Diagnostic::error("state file is empty")
                .in_file(path)
                .help("delete it, or run `imgf analyze` to write it again")));
        }
        Ok(
            parse_state::<T>(path, &text, keep).map(|(mut data, unknown)| {
                let mut typos = typos(path, &text, unknown.iter().map(|(k, _)| k), T::KEYS);
                typos.extend(bad_timestamps(path, &text, &data));
                if keep == Keep::Values {
                    data.set_extra(
                        unknown
                            .into_iter()
                            .filter_map(|(k, v)| Some((k, v?)))
                            .collect(),
                    );
                }
                (
                    StateFile {
                        path: path.clone(),
                        stem,
                        data,
                        source: match kept {
                            Kept::Text => Source::Text(text),
                            Kept::BaseImages => match base_images_block(&text) {
                                Some((first, block)) => Source::BaseImages {
                                    first,
                                    block: text[block].to_string(),
                                },
                                None => Source::BaseImages {
                                    first: 1,
                                    block: String::new(),
                                },
                            },
                        },
                    },
                    typos,
                )
            }),
        )
    };
    // Read in parallel, in pieces; each piece's states are moved once, into
    // `out` (a flattened list of results would be one more copy of every
    // state, on one thread, at the end).
    let pieces = crate::par::map_pieces(&files, 32, |part| {
        part.iter().map(read_one).collect::<Vec<_>>()
    });
    let mut out: Vec<StateFile<T>> = Vec::with_capacity(files.len());
    // What each file said, in order: its warnings (and its index in `out`),
    // or why it was not read.
    let mut said: Vec<(Option<usize>, Vec<Diagnostic>)> = Vec::with_capacity(files.len());
    for piece in pieces {
        for p in piece {
            match p? {
                Ok((s, typos)) => {
                    said.push((Some(out.len()), typos));
                    out.push(s);
                }
                Err(d) => said.push((
                    None,
                    vec![d.help(
                        "fix the file, or delete it and run `imgf analyze` to write it again",
                    )],
                )),
            }
        }
    }
    // Two files for one key (`x.yaml` and `x.yml`), each reported after
    // the warnings of the later one, against the one before it.
    let mut seen: foldhash::HashMap<&str, &Path> = foldhash::HashMapExt::with_capacity(out.len());
    for (index, mut diags) in said {
        problems.append(&mut diags);
        let Some(s) = index.map(|i| &out[i]) else {
            continue;
        };
        if let Some(first) = seen.insert(&s.stem, &s.path) {
            problems.push(
                Diagnostic::error(format!("two state files for `{}`", s.stem))
                    .in_file(&s.path)
                    .help(format!(
                        "remove one of {} and {}",
                        first.display(),
                        s.path.display()
                    )),
            );
        }
    }
    Ok(out)
}

/// Parses a state file: the typed state and the keys it does not model,
/// in one pass over the text. Files in the plain shape imgf and the cdk8s
/// app write take the fast reader; anything else, and every error, the full
/// parser — which records the keys as it goes too.
fn parse_state<T: StateDoc>(
    path: &Path,
    text: &str,
    keep: Keep,
) -> Result<(T, state::Unknown), Diagnostic> {
    let values = keep == Keep::Values;
    if let Some(read) = crate::config::fast_yaml::parse_with_extra::<T>(text, T::KEYS, values) {
        return Ok(read);
    }
    Ok(match keep {
        Keep::Values => {
            let state::WithExtra(data, unknown) =
                parse::parse::<state::WithExtra<T, true>>(path, text)?;
            (data, unknown)
        }
        Keep::Names => {
            let state::WithExtra(data, unknown) =
                parse::parse::<state::WithExtra<T, false>>(path, text)?;
            (data, unknown)
        }
    })
}

/// Unknown keys are kept (they may be someone's data), but one that is a
/// single edit away from a key imgf reads is almost surely a typo that
/// silently drops what it meant to say (`baseImage:` for `baseImages:`).
///
/// Keys the cdk8s app wrote ([`state::LEGACY_KEYS`]) are known: accepted,
/// kept, never a typo. Only a key whose length is within one of a known
/// key's is compared with it, and the file's lines are searched only for
/// a key that will be reported.
fn typos<'k>(
    path: &Path,
    text: &str,
    unknown: impl Iterator<Item = &'k String>,
    known: &[&str],
) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for key in unknown {
        if state::LEGACY_KEYS.contains(&key.as_str()) {
            continue;
        }
        let len = key.chars().count();
        let Some(near) = known
            .iter()
            .find(|k| k.len().abs_diff(len) <= 1 && crate::diagnostic::edit_distance(key, k) == 1)
        else {
            continue;
        };
        out.push(
            Diagnostic::warning(format!(
                "unknown key `{key}` is one edit away from `{near}`; imgf keeps it but does not read it"
            ))
            .in_file(path)
            .at(parse::Locator::new(text).top_key(key))
            .with_source(text)
            .help(format!("if you meant `{near}`, rename the key")),
        );
    }
    out
}

/// A timestamp imgf cannot read (`lastBuilt: yesterday`) is an error: what
/// is computed from it (rebuild eligibility, how long ago an image was
/// built) would silently be wrong. Each is pointed at on its line.
fn bad_timestamps<T: StateDoc>(path: &Path, text: &str, data: &T) -> Vec<Diagnostic> {
    let bad: Vec<(&str, &str)> = data
        .timestamps()
        .into_iter()
        .filter(|(_, v)| crate::timestamp::Timestamp::parse(v).is_none())
        .collect();
    if bad.is_empty() {
        return Vec::new();
    }
    let locator = parse::Locator::new(text);
    let lines: Vec<&str> = text.lines().collect();
    bad.into_iter()
        .map(|(key, value)| {
            // The value's line: the key's own, or (for a list or mapping
            // under the key) the first line below it that holds the value.
            let at = locator.top_key(key).map(|k| {
                (k.line - 1..lines.len())
                    .find_map(|i| {
                        let col = lines[i].find(value)?;
                        Some(crate::diagnostic::Location {
                            line: i + 1,
                            column: lines[i][..col].chars().count() + 1,
                        })
                    })
                    .unwrap_or(k)
            });
            let what = match key {
                "buildHistory" | "updateHistory" | "audit" => format!("an `at` in `{key}`"),
                "rebuildEligibleAt" => format!("a time in `{key}`"),
                _ => format!("`{key}`"),
            };
            Diagnostic::error(format!(
                "{what} is `{}`, which is not a timestamp",
                value.escape_debug()
            ))
            .in_file(path)
            .at(at)
            .underline(value)
            .with_source(text)
            .help("write an RFC 3339 time in UTC, like `2026-01-31T12:00:00Z`, or delete the value and let `imgf analyze` record it")
        })
        .collect()
}

/// A state file's key: its name without `.yaml`/`.yml`.
pub fn stem(path: &Path) -> String {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    name.strip_suffix(".yaml")
        .or_else(|| name.strip_suffix(".yml"))
        .unwrap_or(&name)
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_keys_are_kept_whichever_way_the_file_is_written() {
        let path = Path::new("x.yaml");
        for text in [
            "name: web\nmyNote: keep\n",
            "{name: web, myNote: keep}\n",
            "name: web\n'myNote': keep\n",
        ] {
            let (s, extra) = parse_state::<ImageState>(path, text, Keep::Values).unwrap();
            assert_eq!(s.name.as_deref(), Some("web"), "{text}");
            assert_eq!(extra.len(), 1, "{text}");
            assert_eq!(extra[0].0, "myNote");
        }
        let (_, extra) =
            parse_state::<ImageState>(path, "name: web\nbaseImages: []\n", Keep::Values).unwrap();
        assert!(extra.is_empty());
    }

    /// What an image state read to look keeps (its `baseImages:` block)
    /// places each base entry, and shows its line, exactly as the whole
    /// text does.
    #[test]
    fn the_kept_base_images_block_points_where_the_whole_text_does() {
        for text in [
            "# c\nname: web\nenrollment:\n  registry: ghcr.io\n  source:\n    repo: o/r\n\n# Discovered\nbaseImages:\n  - node-22\n\n  # a comment\n  - nginx-1\n\n# Current\ncurrentVersion: null\n",
            "baseImages:\n- a\n- b\nname: x\n",
            "name: x\nbaseImages: []\n",
            "name: x\nbaseImages: [a, b]\n",
            "name: x\n",
            "name: x\nbaseImages:\n    - a\n    - b",
            "name: x\nnotbaseImages:\n  - a\nbaseImages:\n  - b\n",
            // An entry with nothing after its dash but a space, then one more.
            "name: x\nbaseImages:\n  - \n  - b\r\nname2: y\n",
        ] {
            let whole = StateFile {
                path: PathBuf::from("x.yaml"),
                stem: "x".into(),
                data: (),
                source: Source::Text(text.to_string()),
            };
            let (first, block) = base_images_block(text)
                .map_or((1, String::new()), |(first, r)| (first, text[r].to_string()));
            let kept = StateFile {
                source: Source::BaseImages { first, block },
                ..whole.clone()
            };
            for k in 0..4 {
                let at = whole.base_image_line(k);
                assert_eq!(kept.base_image_line(k), at, "{text:?} entry {k}");
                if let Some(at) = at {
                    assert_eq!(kept.source_line(at.line), whole.source_line(at.line), "{text:?}");
                    assert!(kept.source_line(at.line).is_some());
                }
            }
            assert_eq!(kept.text(), "");
        }
        // Where the entries are, as a reader counts lines and columns.
        let at = |text: &str, k| {
            let (first, block) = base_images_block(text)?;
            base_image_entry(&text[block], first, k).map(|l| (l.line, l.column))
        };
        let cdk8s = "# c\nname: web\nenrollment:\n  registry: ghcr.io\n  source:\n    repo: o/r\n\n# Discovered\nbaseImages:\n  - node-22\n\n  # a comment\n  - nginx-1\n\n# Current\ncurrentVersion: null\n";
        assert_eq!(at(cdk8s, 0), Some((10, 5)));
        assert_eq!(at(cdk8s, 1), Some((13, 5)));
        assert_eq!(at(cdk8s, 2), None);
        let bare = "name: x\nbaseImages:\n  - \n  - b\r\nname2: y\n";
        assert_eq!(at(bare, 1), Some((4, 5)));
        assert_eq!(at(bare, 2), None);
        assert_eq!(at("baseImages:\n- a\n", 0), Some((2, 3)));
    }

    /// One pass records exactly the keys (and values) a second parse of
    /// the whole file as a YAML value finds, on the fast path and off it;
    /// reading by name gives the same names.
    #[test]
    fn recorded_keys_are_what_a_second_parse_finds() {
        let path = Path::new("x.yaml");
        let enrollment = "# c\nname: web\nenrollment:\n  registry: ghcr.io\n  source:\n    repo: o/r\n    branch: main\n  autoRebuild: true\n  updates:\n    - repo: o/d\n      path: a\nbaseImages:\n  - node-22\n";
        let mut compared = 0;
        for text in [
            enrollment,
            "name: web\nnote: {a: [1, 2], b: ~}\n1: one\ntrue: yes\nx: &a 1\ny: *a\n",
            "{name: web, z: [a, {b: c}], '2': two, 3: three}\n",
            "name: web\n!t note: tagged key\n? [a]\n: complex key value\n",
            "name: web\nempty:\nlist:\n- a\n- b: c\nmap:\n  k: 010\n  l: 0x1F\n",
        ] {
            let Ok(expected) = crate::state::extra_keys(path, text, &crate::state::IMAGE_KEYS)
            else {
                continue;
            };
            let Ok((_, got)) = parse_state::<ImageState>(path, text, Keep::Values) else {
                continue;
            };
            let got: Vec<_> = got.into_iter().map(|(k, v)| (k, v.unwrap())).collect();
            assert_eq!(got, expected, "{text}");
            let (_, names) = parse_state::<ImageState>(path, text, Keep::Names).unwrap();
            let names: Vec<_> = names.into_iter().map(|(k, v)| (k, v.is_none())).collect();
            let want: Vec<_> = expected.into_iter().map(|(k, _)| (k, true)).collect();
            assert_eq!(names, want, "{text}");
            compared += 1;
        }
        // (A complex key is an error to the typed read, so not compared.)
        assert_eq!(compared, 4);
        // The cdk8s app's files take the fast path, `enrollment:` and all.
        assert!(crate::config::fast_yaml::parse_with_extra::<ImageState>(
            enrollment,
            &crate::state::IMAGE_KEYS,
            true
        )
        .is_some());
    }
}
