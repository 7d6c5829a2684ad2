//! What imgf removes when a signal ends it: the temporary files of writes
//! in flight ([`crate::fs`]) and the state repository's clone
//! ([`crate::commands`]).
//!
//! A path is registered while the lock is held around its creation, and
//! taken off around the rename that publishes it ([`Tracked::finish`]), so
//! the signal thread — which takes the same lock, removes every registered
//! path and then ends the process as the signal would have — never misses a
//! temporary file and never removes a file that was already renamed into
//! place. The handler is `signal-hook`'s iterator: the signal is received
//! on an ordinary thread (not in a signal handler), so removing files there
//! is allowed, and the crate's API needs no `unsafe` here; it then re-raises
//! the signal with the default action, so the exit status still says which
//! signal ended imgf.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, Once};

/// The registered paths, by id.
static PENDING: Mutex<Vec<(u64, PathBuf)>> = Mutex::new(Vec::new());
static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
static INSTALL: Once = Once::new();

/// A registered path: removed if a signal ends imgf before this is dropped
/// (or [`Tracked::finish`]ed).
#[derive(Debug)]
pub(crate) struct Tracked {
    id: u64,
}

fn pending() -> MutexGuard<'static, Vec<(u64, PathBuf)>> {
    // A panic while holding the lock leaves the list as it was: still usable.
    PENDING
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Creates something with `create` and registers the path `path_of` gives
/// for it, with the lock held across both, so no signal falls in between.
pub(crate) fn create<T, E>(
    create: impl FnOnce() -> Result<T, E>,
    path_of: impl FnOnce(&T) -> PathBuf,
) -> Result<(T, Tracked), E> {
    install();
    let mut list = pending();
    let made = create()?;
    let id = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    list.push((id, path_of(&made)));
    Ok((made, Tracked { id }))
}

impl Tracked {
    /// Runs `f` (the rename that publishes the file) and unregisters the
    /// path, with the lock held across both.
    pub(crate) fn finish<R>(self, f: impl FnOnce() -> R) -> R {
        let mut list = pending();
        let r = f();
        list.retain(|(id, _)| *id != self.id);
        drop(list);
        std::mem::forget(self);
        r
    }
}

impl Drop for Tracked {
    fn drop(&mut self) {
        pending().retain(|(id, _)| *id != self.id);
    }
}

/// Installs the signal thread, once.
fn install() {
    INSTALL.call_once(|| {
        #[cfg(unix)]
        {
            use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
            let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP])
            else {
                return;
            };
            let _ = std::thread::Builder::new()
                .name("imgf-signals".into())
                .spawn(move || {
                    if let Some(signal) = signals.forever().next() {
                        // Held until the process ends: nothing new is created.
                        let list = pending();
                        for (_, p) in list.iter() {
                            remove(p);
                        }
                        let _ = signal_hook::low_level::emulate_default_handler(signal);
                        std::process::exit(128 + signal);
                    }
                });
        }
    });
}

fn remove(p: &Path) {
    match std::fs::symlink_metadata(p) {
        Ok(m) if m.is_dir() => {
            let _ = std::fs::remove_dir_all(p);
        }
        Ok(_) => {
            let _ = std::fs::remove_file(p);
        }
        Err(_) => {}
    }
}
