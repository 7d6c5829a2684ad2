//! Order-preserving parallel map over a slice, on scoped std threads.
//!
//! Used where a run handles thousands of independent items (parsing state
//! files, serializing documents). The result is in input order, so output
//! stays deterministic whatever the scheduling.

/// How many threads the machine runs at once. Asked once per process: the
/// standard library reads the cgroup's CPU quota files on every call.
pub(crate) fn threads() -> usize {
    static THREADS: std::sync::LazyLock<usize> = std::sync::LazyLock::new(|| {
        std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
    });
    *THREADS
}

/// Drops `value` on a thread of its own; the returned guard waits for it
/// when it is dropped in turn. For large values whose many allocations take
/// milliseconds to free while the caller has other work.
pub(crate) fn drop_in_background<T: Send + 'static>(value: T) -> Dropping {
    Dropping(std::thread::Builder::new().spawn(move || drop(value)).ok())
}

/// Drops `value` on a thread of its own and does not wait for it: for the
/// last large values of a command, whose freeing nobody needs to see end
/// (a process that exits meanwhile frees everything at once). Dropped at
/// once when no thread can be started.
pub(crate) fn drop_detached<T: Send + 'static>(value: T) {
    drop(std::thread::Builder::new().spawn(move || drop(value)));
}

/// The freeing started by [`drop_in_background`] (`None` when no thread
/// could be started: the value was dropped at once).
#[must_use = "dropping the guard waits for the freeing"]
pub(crate) struct Dropping(Option<std::thread::JoinHandle<()>>);

impl Drop for Dropping {
    fn drop(&mut self) {
        if let Some(handle) = self.0.take() {
            // A panic while freeing is not the caller's to handle.
            let _ = handle.join();
        }
    }
}

/// Applies `f` to every item, using up to the machine's parallelism, and
/// returns the results in the order of `items`.
pub(crate) fn map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    if items.len() < 64 {
        return items.iter().map(f).collect();
    }
    // Small pieces, handed out as threads free up: items differ in cost.
    map_pieces(items, 32, |part| part.iter().map(&f).collect::<Vec<R>>())
        .into_iter()
        .flatten()
        .collect()
}

/// Splits `items` into pieces of `piece` items and applies `f` to each
/// piece, the threads taking the next piece as they finish the last, so
/// pieces of unequal cost (documents of different kinds, files on a slow
/// disk) still keep every core busy; results are in piece order.
pub(crate) fn map_pieces<T: Sync, R: Send>(
    items: &[T],
    piece: usize,
    f: impl Fn(&[T]) -> R + Sync,
) -> Vec<R> {
    let piece = piece.max(1);
    let threads = threads();
    let pieces: Vec<&[T]> = items.chunks(piece).collect();
    if threads <= 1 || pieces.len() <= 1 {
        return pieces.into_iter().map(&f).collect();
    }
    let next = std::sync::atomic::AtomicUsize::new(0);
    let (f, next, pieces) = (&f, &next, &pieces);
    let mut done: Vec<(usize, R)> = std::thread::scope(|scope| {
        let work = move || {
            let mut out = Vec::new();
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(p) = pieces.get(i) else { break };
                out.push((i, f(p)));
            }
            out
        };
        let handles: Vec<_> = (1..threads.min(pieces.len()))
            .map(|_| scope.spawn(work))
            .collect();
        let mut done = work();
        for h in handles {
            match h.join() {
                Ok(mut v) => done.append(&mut v),
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        done
    });
    done.sort_unstable_by_key(|(i, _)| *i);
    done.into_iter().map(|(_, r)| r).collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn keeps_order() {
        let items: Vec<u32> = (0..10_000).collect();
        let out = super::map(&items, |x| x * 2);
        assert_eq!(out, items.iter().map(|x| x * 2).collect::<Vec<_>>());
        for piece in [1, 7, 256, 20_000] {
            let pieces = super::map_pieces(&items, piece, <[u32]>::to_vec);
            assert_eq!(pieces.len(), items.len().div_ceil(piece));
            assert_eq!(pieces.concat(), items, "piece {piece}");
        }
        assert!(super::map_pieces(&[] as &[u32], 4, <[u32]>::len).is_empty());
    }
}
