//! One budget of decoded pixels for the whole process.
//!
//! A compressed image is small on the wire and large once decoded (an
//! 8000×8000 PNG of 2 MB is 192 MB of RGB). Every full decode (upload checks,
//! document, liveness and face analysis) first takes as many pixels from this
//! budget as it will decode, and gives them back when done; decodes beyond
//! the budget wait. An image larger than the whole budget waits until it can
//! run alone. Set with `decode_budget_megapixels`.

use std::sync::{Condvar, Mutex, OnceLock};

struct Budget {
    state: Mutex<State>,
    freed: Condvar,
}

struct State {
    capacity: u64,
    in_use: u64,
}

fn budget() -> &'static Budget {
    static BUDGET: OnceLock<Budget> = OnceLock::new();
    BUDGET.get_or_init(|| Budget {
        state: Mutex::new(State { capacity: 48_000_000, in_use: 0 }),
        freed: Condvar::new(),
    })
}

/// Sets the process's budget (the last configuration wins).
pub fn configure(megapixels: u32) {
    let b = budget();
    b.state.lock().expect("decode budget lock").capacity = u64::from(megapixels.max(1)) * 1_000_000;
    b.freed.notify_all();
}

/// Pixels taken from the budget; given back on drop.
#[derive(Debug)]
pub struct PixelPermit {
    pixels: u64,
}

impl Drop for PixelPermit {
    fn drop(&mut self) {
        let b = budget();
        let mut state = b.state.lock().expect("decode budget lock");
        state.in_use = state.in_use.saturating_sub(self.pixels);
        drop(state);
        b.freed.notify_all();
    }
}

/// Takes `pixels` (at most the whole budget), blocking the thread until they
/// are free. Call from blocking code (`spawn_blocking`), or use [`acquire`].
pub fn acquire_blocking(pixels: u64) -> PixelPermit {
    let b = budget();
    let mut state = b.state.lock().expect("decode budget lock");
    let want = pixels.clamp(1, state.capacity);
    while state.in_use + want.min(state.capacity) > state.capacity {
        state = b.freed.wait(state).expect("decode budget lock");
    }
    state.in_use += want;
    PixelPermit { pixels: want }
}

/// [`acquire_blocking`] on the blocking pool, for async callers.
pub async fn acquire(pixels: u64) -> PixelPermit {
    match tokio::task::spawn_blocking(move || acquire_blocking(pixels)).await {
        Ok(permit) => permit,
        Err(e) => std::panic::resume_unwind(e.into_panic()),
    }
}

/// Pixels in use now (for `/metrics` and tests).
pub fn in_use() -> u64 {
    budget().state.lock().expect("decode budget lock").in_use
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permits_wait_for_room_and_oversize_runs_alone() {
        // Uses the process-wide budget: other unit tests do not decode.
        configure(10);
        let a = acquire_blocking(6_000_000);
        let (tx, rx) = std::sync::mpsc::channel();
        let waiter = std::thread::spawn(move || {
            let p = acquire_blocking(50_000_000);
            tx.send(in_use()).unwrap();
            drop(p);
        });
        assert!(rx.recv_timeout(std::time::Duration::from_millis(200)).is_err(), "must wait while 6 Mpx are out");
        drop(a);
        assert_eq!(rx.recv().unwrap(), 10_000_000, "an oversize image takes the whole budget");
        waiter.join().unwrap();
        configure(48);
    }
}
