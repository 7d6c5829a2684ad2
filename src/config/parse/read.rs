//! Reading an input file: size and UTF-8 checks, and what a path is when
//! it is not a regular file.

use std::path::Path;

use crate::diagnostic::{Diagnostic, Error};

/// Files larger than this are refused before parsing: no enrollment or state
/// file comes near it, and it bounds the work a hostile file can cause
/// (alias bombs are bounded separately by the YAML library's repetition limit).
pub const MAX_INPUT_BYTES: u64 = 16 * 1024 * 1024;

/// Reads a text file, refusing oversize files and invalid UTF-8.
pub fn read_text(path: &Path) -> Result<String, Error> {
    use std::io::Read as _;
    // One open: the size comes from the open file (thousands of state files
    // are read per run, so each system call counts).
    let file = std::fs::File::open(path).map_err(|e| match not_a_file(path) {
        Ok(Some(what @ (NotAFile::Dangling(_) | NotAFile::Loop))) => {
            Error::input(what.diagnostic(path))
        }
        _ => Error::io("cannot read", path, e),
    })?;
    let meta = file
        .metadata()
        .map_err(|e| Error::io("cannot read", path, e))?;
    if meta.is_dir() {
        return Err(Error::input(NotAFile::Directory.diagnostic(path)));
    }
    if meta.len() > MAX_INPUT_BYTES {
        return Err(Error::input(
            Diagnostic::error(format!(
                "file is {} bytes, more than the {MAX_INPUT_BYTES} imgf accepts",
                meta.len()
            ))
            .in_file(path),
        ));
    }
    let mut bytes = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0) + 1);
    // Bounded: a file that grows while it is read (or a device posing as
    // one) is refused at the limit, never read without end.
    file.take(MAX_INPUT_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Error::io("cannot read", path, e))?;
    if bytes.len() as u64 > MAX_INPUT_BYTES {
        return Err(Error::input(
            Diagnostic::error(format!(
                "file is more than the {MAX_INPUT_BYTES} bytes imgf accepts"
            ))
            .in_file(path),
        ));
    }
    let text = String::from_utf8(bytes).map_err(|e| {
        Error::input(
            Diagnostic::error(format!("file is not valid UTF-8 ({e})"))
                .in_file(path)
                .help("save the file as UTF-8"),
        )
    })?;
    Ok(text
        .strip_prefix('\u{feff}')
        .map(str::to_string)
        .unwrap_or(text))
}

/// What stands where a file should be, when it is not a file (or a link
/// to one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotAFile {
    /// Nothing at all.
    Missing,
    Directory,
    /// A symbolic link (or a chain of them) that ends at nothing: where
    /// the link at the path points.
    Dangling(std::path::PathBuf),
    /// Symbolic links that lead round in a circle.
    Loop,
    /// A FIFO, socket or device.
    Special,
}

/// What is at `path` when it is not a file, following symbolic links;
/// `None` for a file or a link to one. Errors other than "not found" (a
/// directory that cannot be searched) are returned as they are.
pub fn not_a_file(path: &Path) -> std::io::Result<Option<NotAFile>> {
    use std::io::ErrorKind;
    let mut p = path.to_path_buf();
    let mut seen = std::collections::HashSet::new();
    // 40: Linux's limit on links followed in one lookup.
    for _ in 0..40 {
        let meta = match std::fs::symlink_metadata(&p) {
            Ok(m) => m,
            Err(e) if e.kind() == ErrorKind::NotFound && p == path => {
                return Ok(Some(NotAFile::Missing))
            }
            Err(e) if e.kind() == ErrorKind::NotFound => {
                return Ok(Some(NotAFile::Dangling(std::fs::read_link(path)?)))
            }
            Err(e) => return Err(e),
        };
        let kind = meta.file_type();
        if kind.is_file() {
            return Ok(None);
        }
        if kind.is_dir() {
            return Ok(Some(NotAFile::Directory));
        }
        if !kind.is_symlink() {
            return Ok(Some(NotAFile::Special));
        }
        if !seen.insert(p.clone()) {
            return Ok(Some(NotAFile::Loop));
        }
        let dir = p.parent().unwrap_or_else(|| Path::new("."));
        p = dir.join(std::fs::read_link(&p)?);
    }
    Ok(Some(NotAFile::Loop))
}

impl NotAFile {
    /// What it is, after the path: "is a directory, not a file".
    pub fn describe(&self) -> String {
        match self {
            NotAFile::Missing => "does not exist".into(),
            NotAFile::Directory => "is a directory, not a file".into(),
            NotAFile::Dangling(to) => format!(
                "is a symbolic link to `{}`, which does not exist",
                to.display()
            ),
            NotAFile::Loop => "is a symbolic link that leads round in a loop".into(),
            NotAFile::Special => "is not a regular file (a FIFO, socket or device)".into(),
        }
    }

    /// The error about `path` being this instead of a file.
    pub fn diagnostic(&self, path: &Path) -> Diagnostic {
        let name = path.file_name().map_or_else(
            || path.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        let help = match self {
            NotAFile::Missing => "check the path".to_string(),
            NotAFile::Directory => format!(
                "name the file itself, or move the directory away and put the file `{name}` there"
            ),
            NotAFile::Dangling(_) => {
                "point the link at an existing file, or replace the link with the file".into()
            }
            NotAFile::Loop => "point the link at a real file, or replace it with the file".into(),
            NotAFile::Special => "replace it with a file".into(),
        };
        Diagnostic::error(format!("`{name}` {}", self.describe()))
            .in_file(path)
            .help(help)
    }
}
