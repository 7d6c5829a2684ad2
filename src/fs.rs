//! Files on disk, written safely: the one place imgf writes a file
//! ([`write_atomic`], [`write_with`], [`replace_if_unchanged`]), as
//! cargo-util's `paths` or uv's `uv-fs`. Files are replaced atomically (a
//! temporary file in the same directory, then a rename), so a failed run
//! never leaves half a file behind; links are followed, and devices and
//! FIFOs written to, never replaced. Temporary files are removed should a
//! signal end imgf ([`cleanup`]).

use std::io::{BufRead as _, Write};
use std::path::{Path, PathBuf};

use crate::diagnostic::Error;

pub(crate) mod cleanup;

/// What a write did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Written {
    /// The file was created or replaced, or the device or FIFO written to.
    Changed,
    /// The file already held exactly these bytes and was left alone (its
    /// modification time too).
    Unchanged,
}

/// Reads up to `buf.len()` bytes (fewer only at the end of the file).
fn read_up_to(r: &mut dyn std::io::Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// How many leading bytes of `a` and `b` are equal.
fn common_prefix(a: &[u8], b: &[u8]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
}

/// A writer that compares with a reader and fails at the first difference.
struct Comparing<R> {
    current: R,
    scratch: Vec<u8>,
    differs: bool,
}

impl<R: std::io::BufRead> Write for Comparing<R> {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.write_all(data).map(|()| data.len())
    }

    fn write_all(&mut self, data: &[u8]) -> std::io::Result<()> {
        self.scratch.resize(data.len(), 0);
        let n = read_up_to(&mut self.current, &mut self.scratch)?;
        if n == data.len() && self.scratch[..n] == *data {
            return Ok(());
        }
        self.differs = true;
        Err(std::io::Error::other("the file differs"))
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A writer that compares with the file at `target` until the first
/// difference, then writes a temporary file beside it: the bytes that
/// matched, copied from the file, then the rest.
struct Diverging<'p> {
    target: &'p Path,
    permissions: std::fs::Permissions,
    current: std::io::BufReader<std::fs::File>,
    /// Bytes equal so far.
    matched: u64,
    scratch: Vec<u8>,
    tmp: Option<std::io::BufWriter<TempFile>>,
    /// An error with its path (creating or filling the temporary file).
    failed: Option<Error>,
}

impl Diverging<'_> {
    /// Starts the temporary file with the `matched` bytes of the file.
    fn diverge(&mut self) -> std::io::Result<()> {
        let fail = |me: &mut Self, e: Error| {
            me.failed = Some(e);
            std::io::Error::other("cannot start the temporary file")
        };
        let tmp = match temp_beside(self.target, Some(self.permissions.clone())) {
            Ok(t) => t,
            Err(e) => return Err(fail(self, e)),
        };
        let mut tmp = std::io::BufWriter::with_capacity(1 << 16, tmp);
        let copied = std::fs::File::open(self.target)
            .and_then(|f| std::io::copy(&mut std::io::Read::take(f, self.matched), &mut tmp));
        match copied {
            Ok(n) if n == self.matched => {}
            Ok(_) => {
                let e = std::io::Error::other("the file changed while imgf read it");
                return Err(fail(self, Error::io("cannot read", self.target, e)));
            }
            Err(e) => return Err(fail(self, Error::io("cannot read", self.target, e))),
        }
        self.tmp = Some(tmp);
        Ok(())
    }

    fn finish(mut self) -> Result<Written, Error> {
        if self.tmp.is_none() {
            let more = self
                .current
                .fill_buf()
                .map_err(|e| Error::io("cannot read", self.target, e))?;
            if more.is_empty() {
                return Ok(Written::Unchanged);
            }
            // The new text is a prefix of the file: it is all that matched.
            if self.diverge().is_err() {
                return Err(self.failed.take().unwrap_or_else(|| {
                    Error::Internal("the temporary file failed without an error".into())
                }));
            }
        }
        let Some(tmp) = self.tmp.take() else {
            return Err(Error::Internal(
                "no temporary file after a difference".into(),
            ));
        };
        let tmp = tmp
            .into_inner()
            .map_err(|e| Error::io("cannot write", self.target, e.into_error()))?;
        persist(tmp, self.target)
    }
}

impl Write for Diverging<'_> {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.write_all(data).map(|()| data.len())
    }

    fn write_all(&mut self, data: &[u8]) -> std::io::Result<()> {
        if let Some(tmp) = &mut self.tmp {
            return tmp.write_all(data);
        }
        self.scratch.resize(data.len(), 0);
        let n = read_up_to(&mut self.current, &mut self.scratch)?;
        // Equal pieces (the common case) are decided by one memcmp.
        if n == data.len() && self.scratch == data {
            self.matched += n as u64;
            return Ok(());
        }
        let same = common_prefix(&self.scratch[..n], data);
        self.matched += same as u64;
        self.diverge()?;
        match &mut self.tmp {
            Some(tmp) => tmp.write_all(&data[same..]),
            None => Err(std::io::Error::other("no temporary file")),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match &mut self.tmp {
            Some(tmp) => tmp.flush(),
            None => Ok(()),
        }
    }
}

/// Writes `contents` to `path`, as a shell redirection would but atomically:
///
/// - a regular file is replaced by a temporary file beside it, renamed over
///   it, which keeps the file's mode; a file that already holds `contents`
///   is left alone;
/// - a symbolic link is followed, and its target replaced (or created) the
///   same way: the link stays a link;
/// - anything else that exists — a device such as `/dev/null`, a FIFO — is
///   opened and written to, never replaced;
/// - a new file gets the mode a plain write gives (0666 less the umask), and
///   its directory is created.
///
/// On error no temporary file is left behind.
pub(crate) fn write_atomic(path: &Path, contents: &[u8]) -> Result<(), Error> {
    write_with(path, |f| f.write_all(contents)).map(|_| ())
}

/// Replaces the regular file `path` (links followed) with `contents`, as
/// [`write_atomic`] does, keeping its owner and group as well as its mode —
/// but only if it still holds `expected` (`None`: there is no file) right
/// before the rename. `Ok(false)` when it does not: something else changed
/// it meanwhile, and the caller reads it again. For files people edit too
/// (images.yaml), under the lock imgf's own writers take.
pub(crate) fn replace_if_unchanged(
    path: &Path,
    expected: Option<&[u8]>,
    contents: &[u8],
) -> Result<bool, Error> {
    let target = follow_links(path)
        .map_err(|e| Error::io("cannot write", path, e))?
        .unwrap_or_else(|| path.to_path_buf());
    let meta = match std::fs::metadata(&target) {
        Ok(m) if m.is_file() => Some(m),
        Ok(_) => {
            return Err(Error::io(
                "cannot replace",
                &target,
                std::io::Error::other("not a regular file"),
            ))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(Error::io("cannot write", &target, e)),
    };
    let mut tmp = temp_beside(&target, meta.as_ref().map(std::fs::Metadata::permissions))?;
    #[cfg(unix)]
    if let Some(m) = &meta {
        use std::os::unix::fs::MetadataExt;
        let own = tmp
            .as_file()
            .metadata()
            .map_err(|e| Error::io("cannot read", tmp.path(), e))?;
        if (own.uid(), own.gid()) != (m.uid(), m.gid()) {
            std::os::unix::fs::fchown(tmp.as_file(), Some(m.uid()), Some(m.gid())).map_err(
                |e| {
                    Error::io(
                        "cannot give the new file the owner and group of",
                        &target,
                        e,
                    )
                },
            )?;
            // chown may clear the set-id bits: the mode again.
            tmp.as_file()
                .set_permissions(m.permissions())
                .map_err(|e| Error::io("cannot set the mode of", tmp.path(), e))?;
        }
    }
    tmp.write_all(contents)
        .map_err(|e| Error::io("cannot write", &target, e))?;
    let now = match std::fs::read(&target) {
        Ok(b) => Some(b),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(Error::io("cannot read", &target, e)),
    };
    if now.as_deref() != expected {
        return Ok(false);
    }
    tmp.as_file()
        .sync_all()
        .map_err(|e| Error::io("cannot write", tmp.path(), e))?;
    if meta.is_none() {
        // A new file: never over one made meanwhile.
        let TempFile { file, tracked } = tmp;
        return match tracked.finish(|| file.persist_noclobber(&target)) {
            Ok(_) => Ok(true),
            Err(e) if e.error.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
            Err(e) => Err(Error::io("cannot create", &target, e.error)),
        };
    }
    persist(tmp, &target).map(|_| true)
}

/// The one way imgf writes a file (see [`write_atomic`]). An existing
/// regular file is compared with what `fill` writes as it writes it, and a
/// temporary file is started only at the first difference (beginning with
/// the bytes that matched), so an unchanged file is read once and not
/// written.
pub(crate) fn write_with(
    path: &Path,
    fill: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<Written, Error> {
    let existing = match std::fs::metadata(path) {
        Ok(m) => Some(m),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(Error::io("cannot write", path, e)),
    };
    // Links through /proc (/dev/stdout → /proc/self/fd/1) name files that
    // are open, not places on disk: write into them.
    let Some(target) = follow_links(path).map_err(|e| Error::io("cannot write", path, e))? else {
        return write_in_place(path, fill);
    };
    let Some(meta) = existing else {
        // Nothing there, or a link to nothing: create the file (the link's
        // target).
        return replace(&target, None, fill);
    };
    if !meta.is_file() || !same_file(&meta, &target) {
        // A device or a FIFO (or a link that does not lead where the kernel
        // goes): written to, never replaced.
        return write_in_place(path, fill);
    }
    let current = std::fs::File::open(&target).map_err(|e| Error::io("cannot read", &target, e))?;
    let mut w = Diverging {
        target: &target,
        permissions: meta.permissions(),
        current: std::io::BufReader::with_capacity(1 << 16, current),
        matched: 0,
        scratch: Vec::new(),
        tmp: None,
        failed: None,
    };
    let written = fill(&mut w).and_then(|()| w.flush());
    if let Some(e) = w.failed.take() {
        return Err(e);
    }
    written.map_err(|e| Error::io("cannot write", &target, e))?;
    w.finish()
}

/// Replaces (or creates) the regular file `path` with a temporary file
/// renamed over it; `permissions` are the replaced file's.
fn replace(
    path: &Path,
    permissions: Option<std::fs::Permissions>,
    fill: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<Written, Error> {
    let mut tmp = temp_beside(path, permissions)?;
    let mut buffered = std::io::BufWriter::with_capacity(1 << 16, &mut tmp);
    fill(&mut buffered)
        .and_then(|()| buffered.flush())
        .map_err(|e| Error::io("cannot write", path, e))?;
    drop(buffered);
    persist(tmp, path)
}

/// A temporary file being written, registered for removal should a signal
/// end imgf before it is renamed into place ([`cleanup`]).
struct TempFile {
    // Dropped first: the file is removed before it is unregistered.
    file: tempfile::NamedTempFile,
    tracked: cleanup::Tracked,
}

impl TempFile {
    fn as_file(&self) -> &std::fs::File {
        self.file.as_file()
    }

    fn path(&self) -> &Path {
        self.file.path()
    }
}

impl Write for TempFile {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.file.write(data)
    }

    fn write_all(&mut self, data: &[u8]) -> std::io::Result<()> {
        self.file.write_all(data)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush()
    }
}

/// The prefix and suffix of imgf's temporary files (`.imgf-XXXXXX.tmp`).
const TEMP_PREFIX: &str = ".imgf-";
const TEMP_SUFFIX: &str = ".tmp";

/// A temporary file of imgf's left older than this (by a run that was
/// killed outright) is removed by the next write into its directory.
pub(crate) const STALE_TEMP: std::time::Duration = std::time::Duration::from_secs(3600);

/// Whether `name` is one of imgf's temporary files: `.imgf-`, six letters
/// or digits (what `tempfile` draws), `.tmp`.
fn is_temp_name(name: &str) -> bool {
    name.strip_prefix(TEMP_PREFIX)
        .and_then(|r| r.strip_suffix(TEMP_SUFFIX))
        .is_some_and(|r| r.len() == 6 && r.bytes().all(|b| b.is_ascii_alphanumeric()))
}

/// Removes imgf's own temporary files older than [`STALE_TEMP`] from `dir`
/// (regular files only, by name), once per directory and run.
fn sweep_stale(dir: &Path) {
    static SWEPT: std::sync::Mutex<Vec<PathBuf>> = std::sync::Mutex::new(Vec::new());
    {
        let mut swept = SWEPT
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if swept.iter().any(|d| d == dir) {
            return;
        }
        swept.push(dir.to_path_buf());
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let now = std::time::SystemTime::now();
    for e in entries.flatten() {
        let name = e.file_name();
        if !name.to_str().is_some_and(is_temp_name) {
            continue;
        }
        // DirEntry::metadata does not follow links: a link is left alone.
        let Ok(meta) = e.metadata() else { continue };
        let old = meta
            .modified()
            .ok()
            .and_then(|m| now.duration_since(m).ok())
            .is_some_and(|age| age > STALE_TEMP);
        if meta.is_file() && old {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

/// A temporary file in `path`'s directory (created if need be), with the
/// mode of the file it will replace, or the mode a plain write would give.
/// Stale temporary files a killed run left there are swept first.
fn temp_beside(path: &Path, permissions: Option<std::fs::Permissions>) -> Result<TempFile, Error> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(dir).map_err(|e| Error::io("cannot create directory", dir, e))?;
    sweep_stale(dir);
    let mut builder = tempfile::Builder::new();
    builder.prefix(TEMP_PREFIX).suffix(TEMP_SUFFIX);
    // A new file gets what open(2) with 0666 gives: the umask applies
    // (tempfile's own default is 0600).
    #[cfg(unix)]
    let builder = {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(0o666))
    };
    let (file, tracked) = cleanup::create(
        || builder.tempfile_in(dir),
        |t: &tempfile::NamedTempFile| t.path().to_path_buf(),
    )
    .map_err(|e| Error::io("cannot create a temporary file in", dir, e))?;
    if let Some(p) = permissions {
        file.as_file()
            .set_permissions(p)
            .map_err(|e| Error::io("cannot set the mode of", file.path(), e))?;
    }
    Ok(TempFile { file, tracked })
}

/// Makes the written temporary file durable and renames it over `path`.
fn persist(tmp: TempFile, path: &Path) -> Result<Written, Error> {
    let TempFile { file, tracked } = tmp;
    file.as_file()
        .sync_all()
        .map_err(|e| Error::io("cannot write", file.path(), e))?;
    tracked
        .finish(|| file.persist(path))
        .map_err(|e| Error::io("cannot replace", path, e.error))?;
    Ok(Written::Changed)
}

/// Writes into what `path` is (a device, a FIFO) without replacing it.
fn write_in_place(
    path: &Path,
    fill: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<Written, Error> {
    let file = std::fs::OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(path)
        .map_err(|e| Error::io("cannot write", path, e))?;
    let mut buffered = std::io::BufWriter::with_capacity(1 << 16, file);
    fill(&mut buffered)
        .and_then(|()| buffered.flush())
        .map_err(|e| Error::io("cannot write", path, e))?;
    Ok(Written::Changed)
}

/// `path` with its symbolic links followed, as far as they lead: the path of
/// the file they end at, which need not exist. `None` for a link in /proc
/// (such as /proc/self/fd/1, where /dev/stdout leads): the kernel makes
/// those up for open files; they are not places to put a file.
fn follow_links(path: &Path) -> std::io::Result<Option<PathBuf>> {
    let mut p = path.to_path_buf();
    // Linux's limit on links followed in one lookup.
    for _ in 0..40 {
        match std::fs::symlink_metadata(&p) {
            Ok(m) if m.file_type().is_symlink() => {
                let dir = match p.parent() {
                    Some(d) if !d.as_os_str().is_empty() => d,
                    _ => Path::new("."),
                };
                if std::fs::canonicalize(dir).is_ok_and(|d| d.starts_with("/proc")) {
                    return Ok(None);
                }
                let to = std::fs::read_link(&p)?;
                p = dir.join(to);
            }
            Ok(_) => return Ok(Some(p)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Some(p)),
            Err(e) => return Err(e),
        }
    }
    Err(std::io::Error::other("too many levels of symbolic links"))
}

/// Whether `target` is the file `meta` describes.
#[cfg(unix)]
fn same_file(meta: &std::fs::Metadata, target: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(target).is_ok_and(|t| t.dev() == meta.dev() && t.ino() == meta.ino())
}

#[cfg(not(unix))]
fn same_file(_: &std::fs::Metadata, target: &Path) -> bool {
    target.is_file()
}

/// Whether the file at `path` holds exactly what `fill` writes; `fill` is
/// stopped at the first difference.
pub(crate) fn matches_with(
    path: &Path,
    fill: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<bool, Error> {
    let current = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(Error::io("cannot read", path, e)),
    };
    let mut w = Comparing {
        current: std::io::BufReader::with_capacity(1 << 16, current),
        scratch: Vec::new(),
        differs: false,
    };
    match fill(&mut w) {
        Ok(()) => {
            let more = w
                .current
                .fill_buf()
                .map_err(|e| Error::io("cannot read", path, e))?;
            Ok(more.is_empty())
        }
        Err(_) if w.differs => Ok(false),
        Err(e) => Err(Error::io("cannot read", path, e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_imgfs_own_temporary_names_are_swept() {
        assert!(is_temp_name(".imgf-AbC123.tmp"));
        for other in [
            ".imgf-AbC12.tmp",
            ".imgf-AbC1234.tmp",
            ".imgf-AbC-23.tmp",
            ".imgf-cache",
            "imgf-AbC123.tmp",
            ".imgf-AbC123.tmp.bak",
        ] {
            assert!(!is_temp_name(other), "{other}");
        }
    }

    #[test]
    fn atomic_write_replaces_and_leaves_no_temp_files() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("out/x.yaml");
        write_atomic(&p, b"one\n").unwrap();
        write_atomic(&p, b"two\n").unwrap();
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "two\n");
        let names: Vec<_> = std::fs::read_dir(p.parent().unwrap()).unwrap().collect();
        assert_eq!(names.len(), 1);
    }

    #[test]
    fn a_failed_write_leaves_the_file_and_no_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.yaml");
        write_atomic(&p, b"one\n").unwrap();
        let failed = write_with(&p, |f| {
            f.write_all(b"half")?;
            Err(std::io::Error::other("disk full"))
        });
        assert!(failed.is_err());
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "one\n");
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 1, "the temporary file is removed");
    }

    #[test]
    fn replace_if_unchanged_refuses_a_file_changed_meanwhile() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("images.yaml");
        // A new file is not made over one that appeared.
        assert!(replace_if_unchanged(&p, None, b"one\n").unwrap());
        assert!(!replace_if_unchanged(&p, None, b"two\n").unwrap());
        // Someone saved "edited" after "one" was read: not replaced.
        std::fs::write(&p, "edited\n").unwrap();
        assert!(!replace_if_unchanged(&p, Some(b"one\n"), b"two\n").unwrap());
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "edited\n");
        assert!(replace_if_unchanged(&p, Some(b"edited\n"), b"two\n").unwrap());
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "two\n");
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 1, "no temporary file is left");
    }

    #[test]
    fn links_are_followed_to_the_end_and_loops_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::os::unix::fs::symlink("b", d.join("a")).unwrap();
        std::os::unix::fs::symlink("sub/c", d.join("b")).unwrap();
        assert_eq!(follow_links(&d.join("a")).unwrap(), Some(d.join("sub/c")));
        let exe = Path::new("/proc/self/exe");
        assert_eq!(follow_links(exe).unwrap(), None, "a link the kernel makes");
        write_atomic(&d.join("a"), b"x\n").unwrap();
        assert_eq!(std::fs::read_to_string(d.join("sub/c")).unwrap(), "x\n");
        assert!(std::fs::symlink_metadata(d.join("a"))
            .unwrap()
            .file_type()
            .is_symlink());
        std::os::unix::fs::symlink("loop", d.join("loop")).unwrap();
        assert!(write_atomic(&d.join("loop"), b"x\n").is_err());
    }
}
