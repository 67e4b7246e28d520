//! The one lock type of guestwright: [`Mutex`] (with its [`MutexGuard`]) and [`Condvar`],
//! shaped like std's.
//!
//! In release builds they are `std::sync::Mutex` and `std::sync::Condvar` and nothing else:
//! every method is an inlined call to std's, with no extra field and no bookkeeping.
//!
//! In debug builds (so in every `cargo test` and in the debug binary the integration tests
//! drive) they find deadlocks before they happen and panic at once, naming the call sites,
//! where std would hang:
//!
//! * a thread that locks a mutex it already holds (std deadlocks or panics, unspecified);
//! * a lock-order cycle: a thread locks A while holding B, where some thread (any, at any
//!   earlier time) locked B while holding A, directly or through a chain of other locks.
//!   Every lock taken while others are held records an edge "held -> taken" in one global
//!   graph with both call sites; an edge that would close a cycle panics, whether or not the
//!   other thread is still there. So an order inversion fails the first test that runs both
//!   orders, even when the threads never happen to meet.
//!
//! Locks are told apart by instance (each mutex gets an id at its first lock, never reused;
//! its edges go when it is dropped), not by type: two `OpenFile`s are two locks.
//! `try_lock` cannot block, so it records no edge, but what it took counts as held.
//! `#[track_caller]` carries the caller's location into the message; a helper that only
//! wraps `lock()` should carry `#[track_caller]` too.
//!
//! # Poisoning
//!
//! [`Mutex::lock`] returns the guard, not a `Result`: a panic while a guard is held does not
//! make the lock unusable for other threads, which get the data as the panicking thread left
//! it. That is what every lock in guestwright did before this crate (each caller wrote
//! `.lock().unwrap_or_else(PoisonError::into_inner)`), and it is the right rule here: the
//! data under these locks are tables and caches changed in single steps, and one FUSE
//! request or one daemon operation that panics (the daemon catches such panics and answers
//! with an error) must not take every later request down with it.
//!
//! # Rules the checks enforce, and the ones they cannot
//!
//! No guard lives across a call that may take the same lock or another lock out of the
//! documented order (the checks), nor across a round trip to the daemon or other blocking
//! I/O that another thread's progress depends on (review, and clippy's
//! `significant_drop_tightening` and `significant_drop_in_scrutinee`, denied for the
//! workspace). `clippy.toml` forbids `std::sync::{Mutex, RwLock, Condvar}` everywhere else.

// This crate is the wrapper: it is the one place that may name std's lock types.
#![allow(clippy::disallowed_types)]

#[cfg(debug_assertions)]
mod check;

use std::fmt;
use std::ops::{Deref, DerefMut};
use std::sync::PoisonError;
use std::time::Duration;

pub use std::sync::WaitTimeoutResult;

/// A mutual exclusion lock: `std::sync::Mutex`, checked for deadlocks in debug builds.
#[derive(Default)]
pub struct Mutex<T: ?Sized> {
    #[cfg(debug_assertions)]
    id: check::LockId,
    inner: std::sync::Mutex<T>,
}

/// Holds a [`Mutex`] locked until dropped.
#[must_use = "if unused the Mutex will immediately unlock"]
#[clippy::has_significant_drop]
pub struct MutexGuard<'a, T: ?Sized + 'a> {
    // Field order matters: the mutex is unlocked before the thread's record of it goes.
    inner: std::sync::MutexGuard<'a, T>,
    #[cfg(debug_assertions)]
    held: check::Held,
}

impl<T> Mutex<T> {
    /// A new unlocked mutex holding `value`.
    pub const fn new(value: T) -> Mutex<T> {
        Mutex {
            #[cfg(debug_assertions)]
            id: check::LockId::new(),
            inner: std::sync::Mutex::new(value),
        }
    }

    /// The value, consuming the mutex.
    pub fn into_inner(self) -> T {
        self.inner
            .into_inner()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

impl<T: ?Sized> Mutex<T> {
    /// Locks, blocking until the lock is free.
    ///
    /// # Panics
    ///
    /// In debug builds, when this thread already holds this mutex, or when locking it while
    /// holding the locks this thread holds would close a lock-order cycle; the message names
    /// this call site and the earlier ones. Never because another thread panicked while
    /// holding the lock (see the crate's documentation on poisoning).
    #[cfg_attr(debug_assertions, track_caller)]
    #[inline]
    pub fn lock(&self) -> MutexGuard<'_, T> {
        #[cfg(debug_assertions)]
        let id = {
            let id = self.id.get();
            check::before_lock(
                id,
                std::any::type_name::<T>(),
                std::panic::Location::caller(),
            );
            id
        };
        let inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        MutexGuard {
            inner,
            #[cfg(debug_assertions)]
            held: check::Held::push(
                id,
                std::any::type_name::<T>(),
                std::panic::Location::caller(),
            ),
        }
    }

    /// Locks if the lock is free right now; `None` if another guard holds it (this thread's
    /// own included: that is not a deadlock, it just fails).
    #[cfg_attr(debug_assertions, track_caller)]
    #[inline]
    pub fn try_lock(&self) -> Option<MutexGuard<'_, T>> {
        let inner = match self.inner.try_lock() {
            Ok(g) => g,
            Err(std::sync::TryLockError::Poisoned(e)) => e.into_inner(),
            Err(std::sync::TryLockError::WouldBlock) => return None,
        };
        Some(MutexGuard {
            inner,
            #[cfg(debug_assertions)]
            held: check::Held::push(
                self.id.get(),
                std::any::type_name::<T>(),
                std::panic::Location::caller(),
            ),
        })
    }

    /// The value, through a unique borrow (no locking needed).
    pub fn get_mut(&mut self) -> &mut T {
        self.inner.get_mut().unwrap_or_else(PoisonError::into_inner)
    }
}

impl<T> From<T> for Mutex<T> {
    fn from(value: T) -> Mutex<T> {
        Mutex::new(value)
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for Mutex<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // std's own Debug only tries the lock, so it cannot block or take part in a cycle.
        self.inner.fmt(f)
    }
}

impl<T: ?Sized> Deref for MutexGuard<'_, T> {
    type Target = T;
    #[inline]
    fn deref(&self) -> &T {
        &self.inner
    }
}

impl<T: ?Sized> DerefMut for MutexGuard<'_, T> {
    #[inline]
    fn deref_mut(&mut self) -> &mut T {
        &mut self.inner
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for MutexGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.inner, f)
    }
}

impl<T: ?Sized + fmt::Display> fmt::Display for MutexGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&*self.inner, f)
    }
}

/// A condition variable for [`Mutex`]: `std::sync::Condvar`, with the same checks in debug
/// builds for the lock it takes back after waiting.
#[derive(Debug, Default)]
pub struct Condvar(std::sync::Condvar);

impl Condvar {
    /// A new condition variable.
    pub const fn new() -> Condvar {
        Condvar(std::sync::Condvar::new())
    }

    /// Unlocks `guard`'s mutex, waits for a notification (or a spurious wakeup), and locks it
    /// again.
    ///
    /// # Panics
    ///
    /// In debug builds, before waiting, when taking the mutex back while holding the other
    /// locks this thread holds would close a lock-order cycle.
    #[cfg_attr(debug_assertions, track_caller)]
    pub fn wait<'a, T>(&self, guard: MutexGuard<'a, T>) -> MutexGuard<'a, T> {
        #[cfg(debug_assertions)]
        let (inner, again) = guard.release_for_wait(std::panic::Location::caller());
        #[cfg(not(debug_assertions))]
        let inner = guard.inner;
        let inner = self.0.wait(inner).unwrap_or_else(PoisonError::into_inner);
        MutexGuard {
            inner,
            #[cfg(debug_assertions)]
            held: again.push(),
        }
    }

    /// Like [`Condvar::wait`], for at most `timeout`.
    #[cfg_attr(debug_assertions, track_caller)]
    pub fn wait_timeout<'a, T>(
        &self,
        guard: MutexGuard<'a, T>,
        timeout: Duration,
    ) -> (MutexGuard<'a, T>, WaitTimeoutResult) {
        #[cfg(debug_assertions)]
        let (inner, again) = guard.release_for_wait(std::panic::Location::caller());
        #[cfg(not(debug_assertions))]
        let inner = guard.inner;
        let (inner, result) = self
            .0
            .wait_timeout(inner, timeout)
            .unwrap_or_else(PoisonError::into_inner);
        (
            MutexGuard {
                inner,
                #[cfg(debug_assertions)]
                held: again.push(),
            },
            result,
        )
    }

    /// Wakes one thread waiting on this condition variable.
    pub fn notify_one(&self) {
        self.0.notify_one();
    }

    /// Wakes every thread waiting on this condition variable.
    pub fn notify_all(&self) {
        self.0.notify_all();
    }
}

#[cfg(debug_assertions)]
impl<'a, T: ?Sized> MutexGuard<'a, T> {
    /// Splits the guard for a condition-variable wait: the std guard to wait with, and the
    /// record to put back once the wait has taken the lock again. Checks the order first, so
    /// a wait that would take the lock back out of order panics before it blocks.
    #[track_caller]
    fn release_for_wait(
        self,
        at: &'static std::panic::Location<'static>,
    ) -> (std::sync::MutexGuard<'a, T>, check::Relock) {
        let MutexGuard { inner, held } = self;
        let again = held.release_for_wait(at);
        (inner, again)
    }
}

#[cfg(all(test, debug_assertions))]
mod tests;
