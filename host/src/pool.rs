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
//! A pool made with [`Pool::new`] gives each job an appliance of its own, launched for it
//! (restored from the saved appliance, see [`crate::snapshot`], about 1 s under TCG) and
//! shut down with it. A pool made with [`Pool::reusing`] keeps each slot's appliance from
//! one job to the next: a handle from [`Slot::handle`] (or any handle whose
//! [`LaunchConfig::reuse`] is [`Slot::lease`]) attaches its drives to the appliance's drive
//! slots at launch instead of booting (see [`crate::slots`]), and at shutdown the appliance
//! unmounts, takes down LVM, md and LUKS, flushes, drops its caches and unbinds the drives,
//! checks that nothing of the job remains, and the images are detached and fsynced. A job's
//! writes are durable when its shutdown returns either way. An appliance that is not clean,
//! that died, or that a job with other settings (network, memory) needs is replaced.
//!
//! This module must never hand a job an appliance that another job has used without that
//! appliance having been checked clean.
//!
//! ```no_run
//! use guestwright::pool::{Pool, Slot};
//! use guestwright::prelude::*;
//!
//! fn main() -> Result<(), guestwright::Error> {
//!     // Two appliances, each serving one job after another.
//!     let pool = Pool::reusing(2, LaunchConfig::from_env()?);
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
//!                                  // (and the appliance is ready for the next job)
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

use crate::handle::{Handle, Running};
use crate::launch::LaunchConfig;
use guestwright_sync::{Condvar, Mutex};
use std::sync::Arc;

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

/// A pool slot's appliance, kept between jobs ([`Pool::reusing`]); clones share it. Set as
/// [`LaunchConfig::reuse`], it makes a handle's launch use that appliance.
#[derive(Clone)]
pub struct Lease {
    inner: Arc<Mutex<Keeper>>,
}

impl Default for Lease {
    fn default() -> Self {
        Lease {
            inner: Arc::new(Mutex::new(Keeper::default())),
        }
    }
}

#[derive(Default)]
struct Keeper {
    /// The appliance between two jobs.
    kept: Option<Kept>,
    /// A handle has the appliance (or is launching one).
    busy: bool,
    /// Appliances launched for this slot.
    launches: usize,
}

/// An appliance between two jobs, and what it was launched with.
#[derive(Debug)]
pub(crate) struct Kept {
    pub key: String,
    pub running: Running,
    pub jobs: u64,
}

impl Kept {
    pub(crate) fn new(key: String, running: Running, jobs: u64) -> Kept {
        Kept { key, running, jobs }
    }
}

impl std::fmt::Debug for Lease {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (busy, launches) = {
            let k = self.inner.lock();
            (k.busy, k.launches)
        };
        f.debug_struct("Lease")
            .field("busy", &busy)
            .field("launches", &launches)
            .finish()
    }
}

impl Lease {
    /// Takes the slot's appliance (`Some(None)` when it has none yet), or `None` when
    /// another handle has it: that handle's job is not over, so this one launches an
    /// appliance of its own.
    pub(crate) fn acquire(&self) -> Option<Option<Kept>> {
        let mut k = self.inner.lock();
        if k.busy {
            return None;
        }
        k.busy = true;
        Some(k.kept.take())
    }

    /// Gives the appliance back after a job (`None`: it was stopped; the next job
    /// launches a new one).
    pub(crate) fn give_back(&self, kept: Option<Kept>) {
        let old = {
            let mut k = self.inner.lock();
            k.busy = false;
            std::mem::replace(&mut k.kept, kept)
        };
        // Killed outside the lock.
        drop(old);
    }

    /// Counts an appliance launched for this slot.
    pub(crate) fn launched(&self) {
        self.inner.lock().launches += 1;
    }

    /// How many appliances were launched for this slot so far.
    pub fn launches(&self) -> usize {
        self.inner.lock().launches
    }
}

/// The appliance a job has while it runs.
#[derive(Debug)]
pub struct Slot<'a> {
    index: usize,
    config: &'a LaunchConfig,
    lease: Option<&'a Lease>,
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

    /// The slot's kept appliance, in a pool that reuses them: a handle whose
    /// [`LaunchConfig::reuse`] is this launches on it.
    pub fn lease(&self) -> Option<Lease> {
        self.lease.cloned()
    }

    /// A new handle with the pool's configuration (and the slot's appliance in a pool that
    /// reuses them), for the job to add its drives to and launch.
    pub fn handle(&self) -> Handle {
        Handle::with_config(LaunchConfig {
            reuse: self.lease(),
            ..self.config.clone()
        })
    }
}

/// At most `size` appliances at a time for any number of jobs; shared between threads.
#[derive(Debug)]
pub struct Pool {
    config: LaunchConfig,
    size: usize,
    free: Mutex<Vec<usize>>,
    freed: Condvar,
    /// One per slot when the pool reuses its appliances.
    leases: Vec<Lease>,
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
            leases: Vec::new(),
        }
    }

    /// A pool of `size` appliances (at least one) that serve one job after another without
    /// a new launch (see the module's documentation); each is launched by its slot's first
    /// job and stopped when the pool is dropped.
    pub fn reusing(size: usize, config: LaunchConfig) -> Pool {
        let mut pool = Pool::new(size, config);
        pool.leases = (0..pool.size).map(|_| Lease::default()).collect();
        pool
    }

    /// How many appliances the pool's slots have launched so far (0 for a pool that does
    /// not reuse them: there each job launches its own).
    pub fn launches(&self) -> usize {
        self.leases.iter().map(Lease::launches).sum()
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
            lease: self.leases.get(index),
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
