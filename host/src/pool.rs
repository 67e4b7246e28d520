//! A pool of appliances for many independent jobs: at most `size` run at once, each job on
//! a [`Slot`] of its own, and a job that fails or panics fails alone.
//!
//! A job is anything that implements [`Job`] (a closure taking the [`Slot`] does). The slot
//! says which appliance of the pool the job has and with which [`LaunchConfig`];
//! [`Slot::handle`] opens a [`Handle`] with that configuration. [`Pool::submit`] waits for a
//! free slot, runs the job on the calling thread and returns its result, so a program runs
//! jobs in parallel by calling `submit` from several threads; the pool keeps the number of
//! appliances at its size whatever the number of threads. `guestwright batch` is this pool
//! with one job per line of its job file.
//!
//! Today each job launches its own appliance (restored from the saved appliance, see
//! [`crate::snapshot`], so about 1-2 s under TCG) and shuts it down, which is what makes a
//! job's writes durable before its result is returned and keeps one job's images and
//! mounts out of every other job's appliance. This module must never hand a job an
//! appliance that another job has used without that appliance having been checked clean.
//!
//! ```no_run
//! use guestwright::pool::{Pool, Slot};
//! use guestwright::prelude::*;
//!
//! fn main() -> Result<(), guestwright::Error> {
//!     let pool = Pool::new(2, LaunchConfig::from_env()?);
//!     let images = ["vm01.qcow2", "vm02.qcow2", "vm03.qcow2"];
//!     std::thread::scope(|s| {
//!         for image in images {
//!             let pool = &pool;
//!             s.spawn(move || {
//!                 let result = pool.submit(|slot: &Slot<'_>| -> Result<(), Error> {
//!                     let mut h = slot.handle();
//!                     h.add_drive(image, DriveOptions::readwrite())?;
//!                     h.launch()?;
//!                     h.mount("/dev/sda1", "/")?;
//!                     let name = format!("{}\n", &image[..4]);
//!                     h.write_file("/etc/hostname", name.as_str())?;
//!                     h.shutdown() // the write is in the image once this is Ok
//!                 });
//!                 match result {
//!                     Ok(Ok(())) => println!("{image}: done"),
//!                     Ok(Err(e)) => eprintln!("{image}: {e}"),
//!                     Err(e) => eprintln!("{image}: {e}"), // the job panicked
//!                 }
//!             });
//!         }
//!     });
//!     Ok(())
//! }
//! ```

use crate::handle::Handle;
use crate::launch::LaunchConfig;
use guestwright_sync::{Condvar, Mutex};

/// A job the pool runs: given its slot, it does its work and returns what came of it.
pub trait Job {
    /// What the job returns (typically a `Result`).
    type Output;
    /// Runs the job on its slot.
    fn run(self, slot: &Slot<'_>) -> Self::Output;
}

impl<F, R> Job for F
where
    F: FnOnce(&Slot<'_>) -> R,
{
    type Output = R;
    fn run(self, slot: &Slot<'_>) -> R {
        self(slot)
    }
}

/// Why [`Pool::submit`] has no result from the job.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PoolError {
    /// The job panicked (a bug in it); the pool and its other jobs go on.
    #[error("internal error (a bug: please report it): {0}")]
    Panicked(String),
}

/// The appliance a job has while it runs.
#[derive(Debug)]
pub struct Slot<'a> {
    index: usize,
    config: &'a LaunchConfig,
}

impl Slot<'_> {
    /// Which of the pool's appliances this is, from 0 to the pool's size - 1.
    pub fn index(&self) -> usize {
        self.index
    }

    /// The configuration the pool launches with.
    pub fn config(&self) -> &LaunchConfig {
        self.config
    }

    /// A new handle with the pool's configuration, for the job to add its drives to and
    /// launch.
    pub fn handle(&self) -> Handle {
        Handle::with_config(self.config.clone())
    }
}

/// At most `size` appliances at a time for any number of jobs; shared between threads.
#[derive(Debug)]
pub struct Pool {
    config: LaunchConfig,
    size: usize,
    free: Mutex<Vec<usize>>,
    freed: Condvar,
}

/// Gives a slot back to the pool when the job ends, panic or not.
struct Taken<'a> {
    pool: &'a Pool,
    index: usize,
}

impl Drop for Taken<'_> {
    fn drop(&mut self) {
        self.pool.free.lock().push(self.index);
        self.pool.freed.notify_one();
    }
}

impl Pool {
    /// A pool of `size` appliances (at least one) launched with `config`.
    pub fn new(size: usize, config: LaunchConfig) -> Pool {
        let size = size.max(1);
        Pool {
            config,
            size,
            free: Mutex::new((0..size).rev().collect()),
            freed: Condvar::new(),
        }
    }

    /// How many appliances run at most at once.
    pub fn size(&self) -> usize {
        self.size
    }

    /// The configuration every slot launches with.
    pub fn config(&self) -> &LaunchConfig {
        &self.config
    }

    /// Waits for a free slot, runs `job` on it on this thread and returns its output. A
    /// job that panics is [`PoolError::Panicked`]; its slot is free again either way.
    pub fn submit<J: Job>(&self, job: J) -> Result<J::Output, PoolError> {
        let index = {
            let mut free = self.free.lock();
            loop {
                if let Some(i) = free.pop() {
                    break i;
                }
                free = self.freed.wait(free);
            }
        };
        let taken = Taken { pool: self, index };
        let slot = Slot {
            index,
            config: &self.config,
        };
        let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| job.run(&slot)));
        drop(taken);
        out.map_err(|p| {
            PoolError::Panicked(
                p.downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| p.downcast_ref::<String>().cloned())
                    .unwrap_or_default(),
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    #[test]
    fn no_more_jobs_run_at_once_than_the_pool_has_slots() {
        let pool = Pool::new(2, LaunchConfig::default());
        let running = AtomicUsize::new(0);
        let most = AtomicUsize::new(0);
        let seen = Mutex::new(Vec::new());
        std::thread::scope(|s| {
            for _ in 0..6 {
                s.spawn(|| {
                    pool.submit(|slot: &Slot<'_>| {
                        let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                        most.fetch_max(now, Ordering::SeqCst);
                        seen.lock().push(slot.index());
                        std::thread::sleep(Duration::from_millis(30));
                        running.fetch_sub(1, Ordering::SeqCst);
                    })
                    .unwrap();
                });
            }
        });
        assert_eq!(most.load(Ordering::SeqCst), 2);
        let seen = seen.into_inner();
        assert_eq!(seen.len(), 6);
        assert!(seen.iter().all(|&i| i < 2), "{seen:?}");
    }

    #[test]
    fn a_job_that_panics_fails_alone_and_frees_its_slot() {
        let pool = Pool::new(1, LaunchConfig::default());
        let r = pool.submit(|_: &Slot<'_>| -> u32 { panic!("boom") });
        assert!(
            matches!(&r, Err(PoolError::Panicked(m)) if m == "boom"),
            "{r:?}"
        );
        assert_eq!(pool.submit(|s: &Slot<'_>| s.index()).unwrap(), 0);
    }
}
