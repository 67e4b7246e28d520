//! A fixed set of worker threads fed through a bounded queue. fuser reads requests on one
//! thread; each request that needs the appliance runs here, so several round trips are in
//! flight at once and a slow one (a 4 MiB read) never holds up a lookup. A full queue makes
//! the reading thread wait, which is the back pressure the kernel expects.

use guestwright_sync::Mutex;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::Arc;
use std::thread::JoinHandle;

type Job = Box<dyn FnOnce() + Send + 'static>;

/// The worker threads.
#[derive(Debug)]
pub struct Pool {
    tx: Option<SyncSender<Job>>,
    workers: Vec<JoinHandle<()>>,
}

impl Pool {
    /// Starts `threads` workers with room for `queue` waiting jobs.
    pub fn new(threads: usize, queue: usize) -> std::io::Result<Pool> {
        let (tx, rx) = sync_channel::<Job>(queue);
        let rx = Arc::new(Mutex::new(rx));
        let mut workers = Vec::with_capacity(threads);
        for i in 0..threads {
            let rx = rx.clone();
            workers.push(
                std::thread::Builder::new()
                    .name(format!("fuse-{i}"))
                    .spawn(move || work(&rx))?,
            );
        }
        Ok(Pool {
            tx: Some(tx),
            workers,
        })
    }

    /// Runs `job` on a worker, waiting for room in the queue.
    pub fn run(&self, job: impl FnOnce() + Send + 'static) {
        if let Some(tx) = &self.tx {
            // Sending fails only once the workers are gone, during shutdown; the job's reply
            // is dropped with it and fuser answers the kernel with an error.
            let _ = tx.send(Box::new(job));
        }
    }
}

fn work(rx: &Mutex<Receiver<Job>>) {
    loop {
        // The lock is held only to take one job, never while running it: one idle worker
        // waits in recv() holding it, the others wait for the lock.
        let next = rx.lock().recv();
        let Ok(job) = next else { return };
        job();
    }
}

impl Drop for Pool {
    /// Lets the queued jobs finish and joins the workers.
    fn drop(&mut self) {
        drop(self.tx.take());
        for w in self.workers.drain(..) {
            let _ = w.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn jobs_run_concurrently_and_all_finish_before_drop_returns() {
        let pool = Pool::new(4, 2).unwrap();
        let done = Arc::new(AtomicUsize::new(0));
        let barrier = Arc::new(std::sync::Barrier::new(4));
        for _ in 0..4 {
            let done = done.clone();
            let barrier = barrier.clone();
            // All four must be running at the same time to pass the barrier.
            pool.run(move || {
                barrier.wait();
                done.fetch_add(1, Ordering::SeqCst);
            });
        }
        for _ in 0..10 {
            let done = done.clone();
            pool.run(move || {
                done.fetch_add(1, Ordering::SeqCst);
            });
        }
        drop(pool);
        assert_eq!(done.load(Ordering::SeqCst), 14);
    }
}
