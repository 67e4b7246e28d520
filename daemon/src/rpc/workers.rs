//! The threads requests run on.
//!
//! Every request runs on a thread of its own, so that one waiting (for upload chunks, for a
//! long command) never holds up another. Starting a thread is not free under TCG (its stack,
//! its signal stack and their page faults cost a few hundred microseconds, a large part of a
//! short call's round trip), so a thread that finished a request waits a while for the next
//! one instead of exiting. A request never waits for a thread: when none is idle, a new one
//! starts, so there are as many threads as requests in flight.
//!
//! A thread that changed its own kernel state (its working directory, after
//! [`crate::sys::unshare_fs`]) or whose request panicked exits after its request instead of
//! carrying that state into the next one.

use guestwright_sync::{Condvar, Mutex};
use std::cell::Cell;
use std::collections::VecDeque;
use std::io;
use std::sync::Arc;
use std::time::Duration;

/// Idle threads kept beyond this many exit after [`IDLE`].
const KEEP: usize = 4;
/// How long a spare idle thread waits for work before it exits.
const IDLE: Duration = Duration::from_secs(10);

type Job = Box<dyn FnOnce() + Send>;

#[derive(Default)]
struct State {
    queue: VecDeque<Job>,
    idle: usize,
}

/// The threads, started on demand.
#[derive(Default)]
pub struct Workers {
    state: Mutex<State>,
    work: Condvar,
}

impl std::fmt::Debug for Workers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = self.state.lock();
        f.debug_struct("Workers")
            .field("queued", &s.queue.len())
            .field("idle", &s.idle)
            .finish()
    }
}

thread_local! {
    static TAINTED: Cell<bool> = const { Cell::new(false) };
}

/// Marks the calling thread as not fit to serve another request (its request panicked): it
/// exits once its request is done.
pub fn taint() {
    TAINTED.with(|t| t.set(true));
}

/// Whether the calling thread must exit instead of serving another request.
fn spent() -> bool {
    TAINTED.with(Cell::get) || crate::sys::has_own_fs()
}

impl Workers {
    /// No threads yet.
    pub fn new() -> Arc<Workers> {
        Arc::new(Workers::default())
    }

    /// Runs `job` on an idle thread, or on a new one when none is idle. Fails only when a
    /// thread is needed and cannot start.
    pub fn run(self: &Arc<Self>, job: impl FnOnce() + Send + 'static) -> io::Result<()> {
        let mut s = self.state.lock();
        // Each queued job has an idle thread of its own to take it.
        if s.idle > s.queue.len() {
            s.queue.push_back(Box::new(job));
            drop(s);
            self.work.notify_one();
            return Ok(());
        }
        drop(s);
        let me = self.clone();
        std::thread::Builder::new()
            .name("request".into())
            .spawn(move || {
                job();
                if !spent() {
                    me.serve();
                }
            })
            .map(drop)
    }

    /// Takes jobs until idle for too long (with enough others idle) or tainted.
    fn serve(&self) {
        let mut s = self.state.lock();
        loop {
            if let Some(job) = s.queue.pop_front() {
                drop(s);
                job();
                if spent() {
                    return;
                }
                s = self.state.lock();
                continue;
            }
            s.idle += 1;
            let (g, waited) = self.work.wait_timeout(s, IDLE);
            s = g;
            s.idle -= 1;
            if waited.timed_out() && s.queue.is_empty() && s.idle >= KEEP {
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;
    use std::time::Instant;

    const DEADLINE: Duration = Duration::from_secs(10);

    #[test]
    fn a_job_never_waits_for_another_to_finish() {
        let w = Workers::new();
        // Ten jobs that each wait for the one after them: only as many threads as jobs
        // lets them all finish.
        let (first_tx, mut rx) = mpsc::channel::<()>();
        let (done_tx, done_rx) = mpsc::channel();
        let mut chain = Vec::new();
        for _ in 0..10 {
            let (tx, next_rx) = mpsc::channel::<()>();
            chain.push((rx, tx));
            rx = next_rx;
        }
        let last_rx = rx;
        for (rx, tx) in chain {
            let done = done_tx.clone();
            w.run(move || {
                rx.recv_timeout(DEADLINE).expect("the job before me ran");
                tx.send(()).unwrap();
                done.send(()).unwrap();
            })
            .unwrap();
        }
        first_tx.send(()).unwrap();
        last_rx.recv_timeout(DEADLINE).expect("every job ran");
        for _ in 0..10 {
            done_rx.recv_timeout(DEADLINE).unwrap();
        }
    }

    #[test]
    fn threads_are_reused_and_a_spent_one_is_not() {
        let w = Workers::new();
        let (tx, rx) = mpsc::channel();
        let ids = |n: usize, taint_them: bool| {
            let mut seen = Vec::new();
            for _ in 0..n {
                let tx = tx.clone();
                w.run(move || {
                    if taint_them {
                        crate::sys::unshare_fs().unwrap();
                    }
                    tx.send(std::thread::current().id()).unwrap();
                })
                .unwrap();
                seen.push(rx.recv_timeout(DEADLINE).unwrap());
                // Let the thread go idle before the next job.
                let t = Instant::now();
                while w.state.lock().idle == 0 && t.elapsed() < DEADLINE && !taint_them {
                    std::thread::yield_now();
                }
            }
            seen
        };
        let reused = ids(5, false);
        assert!(reused.windows(2).all(|p| p[0] == p[1]), "{reused:?}");
        let tainted = ids(3, true);
        let mut distinct = tainted.clone();
        distinct.dedup();
        assert_eq!(
            distinct.len(),
            3,
            "a tainted thread served again: {tainted:?}"
        );
    }
}
