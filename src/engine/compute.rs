//! How the neural engines use the CPU.
//!
//! Every model run (OCR detector and recogniser, the dlib face networks,
//! age/gender) happens on a one-thread pool owned by the calling thread.
//! The job queue already runs one analysis per worker in parallel (front,
//! back and liveness of a session on different cores), so splitting each
//! convolution over the cores again only adds synchronisation (and spinning
//! threads waiting for work): on two cores that cost more CPU-seconds than
//! it saved in wall time.

use std::sync::Arc;

use rten::{RunOptions, ThreadPool};

thread_local! {
    static POOL: Arc<ThreadPool> = Arc::new(ThreadPool::with_num_threads(1));
}

/// The calling thread's one-thread pool.
pub fn pool() -> Arc<ThreadPool> {
    POOL.with(Arc::clone)
}

/// Run options of a model run on the calling thread's pool.
pub fn run_options() -> RunOptions {
    let mut options = RunOptions::default();
    options.thread_pool = Some(pool());
    options
}

/// Runs `f` (which calls rten operators directly) on the calling thread's pool.
pub fn single_threaded<R: Send>(f: impl FnOnce() -> R + Send) -> R {
    pool().run(f)
}
