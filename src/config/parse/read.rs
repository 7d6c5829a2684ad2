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
    let file = std::fs::File::open(path).map_err(|e| open_error(path, e))?;
    read_open(&file, path)
}

/// A directory whose files are read by name, each opened relative to it:
/// the kernel walks one path component per file instead of the whole path
/// (thousands of state files are read per run, so each step counts).
pub struct Dir {
    #[cfg(unix)]
    fd: Option<rustix::fd::OwnedFd>,
}

impl Dir {
    /// `path`, opened for reading the files in it; a directory that cannot
    /// be opened is read through full paths (whose errors then say why).
    pub fn open(path: &Path) -> Dir {
        Dir {
            #[cfg(unix)]
            fd: rustix::fs::open(
                path,
                rustix::fs::OFlags::RDONLY
                    | rustix::fs::OFlags::DIRECTORY
                    | rustix::fs::OFlags::CLOEXEC,
                rustix::fs::Mode::empty(),
            )
            .ok(),
        }
    }

    /// [`read_text`] of `path`, a file directly in this directory.
    pub fn read_text(&self, path: &Path) -> Result<String, Error> {
        #[cfg(unix)]
        if let (Some(fd), Some(name)) = (&self.fd, path.file_name()) {
            let file = rustix::fs::openat(
                fd,
                name,
                rustix::fs::OFlags::RDONLY | rustix::fs::OFlags::CLOEXEC,
                rustix::fs::Mode::empty(),
            )
            .map_err(|e| open_error(path, e.into()))?;
            return read_open(&std::fs::File::from(file), path);
        }
        read_text(path)
    }
}

/// Why `path` could not be opened: what stands there instead of a file
/// when that says more than the system's error.
fn open_error(path: &Path, e: std::io::Error) -> Error {
    match not_a_file(path) {
        Ok(Some(what @ (NotAFile::Dangling(_) | NotAFile::Loop))) => {
            Error::input(what.diagnostic(path))
        }
        _ => Error::io("cannot read", path, e),
    }
}

/// Reads the open `file` (at `path`): at most [`MAX_INPUT_BYTES`], as
/// UTF-8, without a leading byte-order mark. No size is asked first (one
/// system call less per file): the bytes go to a buffer kept per thread,
/// and the text is allocated once, at its size.
fn read_open(file: &std::fs::File, path: &Path) -> Result<String, Error> {
    use std::io::Read as _;
    thread_local! {
        static BUFFER: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    let too_large = || {
        let message = match file.metadata() {
            Ok(meta) if meta.len() > MAX_INPUT_BYTES => format!(
                "file is {} bytes, more than the {MAX_INPUT_BYTES} imgf accepts",
                meta.len()
            ),
            _ => format!("file is more than the {MAX_INPUT_BYTES} bytes imgf accepts"),
        };
        Error::input(Diagnostic::error(message).in_file(path))
    };
    BUFFER.with(|buffer| {
        let mut bytes = buffer.borrow_mut();
        bytes.clear();
        // Bounded: a file that grows while it is read (or a device posing
        // as one) is refused at the limit, never read without end.
        let read = file
            .take(MAX_INPUT_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| match e.kind() {
                std::io::ErrorKind::IsADirectory => {
                    Error::input(NotAFile::Directory.diagnostic(path))
                }
                _ => Error::io("cannot read", path, e),
            });
        let text = match read {
            Err(e) => Err(e),
            Ok(_) if bytes.len() as u64 > MAX_INPUT_BYTES => Err(too_large()),
            Ok(_) => std::str::from_utf8(&bytes)
                .map(|t| t.strip_prefix('\u{feff}').unwrap_or(t).to_string())
                .map_err(|e| {
                    Error::input(
                        Diagnostic::error(format!("file is not valid UTF-8 ({e})"))
                            .in_file(path)
                            .help("save the file as UTF-8"),
                    )
                }),
        };
        // A buffer grown by a large file is not kept for the rest of the run.
        if bytes.capacity() > 1024 * 1024 {
            *bytes = Vec::new();
        }
        text
    })
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A file read through its directory ([`Dir`]) reads, and fails, exactly
    /// as one read by its path: each thing that can stand where a state file
    /// should, with the message that says what it is.
    #[test]
    fn files_read_through_their_directory_read_as_by_path() {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path();
        std::fs::write(d.join("ok.yaml"), "name: x\n").unwrap();
        std::fs::write(d.join("bom.yaml"), "\u{feff}name: x\n").unwrap();
        std::fs::write(d.join("bad.yaml"), b"name: \xff\n").unwrap();
        std::fs::create_dir(d.join("dir.yaml")).unwrap();
        let big = usize::try_from(MAX_INPUT_BYTES).unwrap() + 1;
        std::fs::write(d.join("big.yaml"), vec![b'a'; big]).unwrap();
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink("missing.yaml", d.join("dangling.yaml")).unwrap();
            std::os::unix::fs::symlink("loop.yaml", d.join("loop.yaml")).unwrap();
            std::os::unix::fs::symlink("ok.yaml", d.join("link.yaml")).unwrap();
        }
        let opened = Dir::open(d);
        #[cfg(unix)]
        assert!(opened.fd.is_some());
        let cases: &[(&str, Result<&str, &str>)] = &[
            ("ok.yaml", Ok("name: x\n")),
            ("bom.yaml", Ok("name: x\n")),
            ("link.yaml", Ok("name: x\n")),
            ("bad.yaml", Err("file is not valid UTF-8")),
            ("dir.yaml", Err("`dir.yaml` is a directory, not a file")),
            (
                "big.yaml",
                Err("file is 16777217 bytes, more than the 16777216"),
            ),
            (
                "dangling.yaml",
                Err("is a symbolic link to `missing.yaml`, which does not exist"),
            ),
            (
                "loop.yaml",
                Err("is a symbolic link that leads round in a loop"),
            ),
            ("absent.yaml", Err("cannot read")),
        ];
        for (name, want) in cases {
            if cfg!(not(unix)) && ["dangling.yaml", "loop.yaml", "link.yaml"].contains(name) {
                continue;
            }
            let path = d.join(name);
            let through = opened.read_text(&path).map_err(|e| e.render(false));
            let by_path = read_text(&path).map_err(|e| e.render(false));
            assert_eq!(through, by_path, "{name}");
            match (want, &through) {
                (Ok(text), Ok(got)) => assert_eq!(got, text, "{name}"),
                (Err(message), Err(got)) => assert!(got.contains(message), "{name}: {got}"),
                _ => panic!("{name}: {through:?}"),
            }
        }
    }
}
