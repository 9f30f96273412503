//! Running independent private-key work on every core: key generation, key decryption
//! (PBKDF2 dominates), share decryption (RSA private operations).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// The number of worker threads to use by default: the machine's cores.
pub fn default_threads() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}

/// Applies `f` to every item on up to `threads` threads and returns the results in item
/// order. `done` is called with the number of items finished after each one.
/// With one thread, everything runs on the calling thread.
pub fn map<T: Sync, R: Send>(
    items: &[T],
    threads: usize,
    f: impl Fn(usize, &T) -> R + Sync,
    done: &(dyn Fn(usize) + Sync),
) -> Vec<R> {
    if threads <= 1 {
        return items
            .iter()
            .enumerate()
            .map(|(i, item)| {
                let result = f(i, item);
                done(i + 1);
                result
            })
            .collect();
    }
    let next = AtomicUsize::new(0);
    let finished = AtomicUsize::new(0);
    let slots: Vec<Mutex<Option<R>>> = items.iter().map(|_| Mutex::new(None)).collect();
    let threads = threads.clamp(1, items.len().max(1));
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some(item) = items.get(i) else { break };
                let result = f(i, item);
                if let Ok(mut slot) = slots[i].lock() {
                    *slot = Some(result);
                }
                done(finished.fetch_add(1, Ordering::SeqCst) + 1);
            });
        }
    });
    // Every slot was filled by exactly one worker; a worker that panicked took the whole
    // scope down with it, so no slot can be empty here.
    slots
        .into_iter()
        .filter_map(|slot| slot.into_inner().ok().flatten())
        .collect()
}

#[cfg(test)]
#[path = "parallel_tests.rs"]
mod tests;
