//! The checks of debug builds: each deadlock must end in a panic that names the call sites,
//! within a deadline, never in a hang.

use super::{Condvar, Mutex};
use std::any::Any;
use std::sync::mpsc;
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::Duration;

/// Far more than any of these needs; a detector that misses makes the test fail here instead
/// of hanging the suite.
const DEADLINE: Duration = Duration::from_secs(20);

/// Runs `f` on a thread and waits for it at most [`DEADLINE`]: Ok with its value, or Err
/// with its panic message.
fn within<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T, String> {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
        let _ = tx.send(r.map_err(panic_text));
    });
    rx.recv_timeout(DEADLINE)
        .unwrap_or_else(|_| panic!("still blocked after {DEADLINE:?}: a deadlock went undetected"))
}

fn panic_text(e: Box<dyn Any + Send>) -> String {
    match e.downcast::<String>() {
        Ok(s) => *s,
        Err(e) => e
            .downcast_ref::<&str>()
            .map_or_else(|| "(not a string)".into(), |s| (*s).to_string()),
    }
}

/// How a call site on `line` of this file appears in the messages.
fn site(line: u32) -> String {
    format!("{}:{line}:", file!())
}

#[test]
fn relocking_a_held_mutex_panics_naming_both_call_sites() {
    let first = Arc::new(Mutex::new(0u8));
    let m = first.clone();
    let (tx, rx) = mpsc::channel();
    let err = within(move || {
        let (_g, l1) = (m.lock(), line!());
        tx.send(l1).unwrap();
        let (_again, l2) = (m.lock(), line!());
        l2
    })
    .expect_err("a second lock() of the same mutex on one thread must panic");
    let l1 = rx.recv().unwrap();
    assert!(err.contains("already holds"), "{err}");
    assert!(err.contains(&site(l1)), "first call site missing: {err}");
    assert!(
        err.contains(&site(l1 + 2)),
        "second call site missing: {err}"
    );
    assert!(err.contains("Mutex<u8>"), "{err}");
    // The panic did not leave the lock unusable (see the crate's notes on poisoning).
    *first.lock() += 1;
    assert_eq!(*first.lock(), 1);
}

/// Two threads each hold one lock and then want the other's: without the checks both block
/// for ever. With them, the second to ask panics (its lock would close the cycle), lets go
/// of its lock, and the other thread goes on.
#[test]
fn an_order_inversion_between_two_threads_panics_naming_all_call_sites() {
    let a = Arc::new(Mutex::new("a"));
    let b = Arc::new(Mutex::new("b"));
    let both_hold_one = Arc::new(Barrier::new(2));
    let (lines_tx, lines_rx) = mpsc::channel();
    let t1 = {
        let (a, b, barrier, lines) = (
            a.clone(),
            b.clone(),
            both_hold_one.clone(),
            lines_tx.clone(),
        );
        move || {
            let (_a, la) = (a.lock(), line!());
            barrier.wait();
            lines.send(("t1 a", la)).unwrap();
            let (_b, lb) = (b.lock(), line!());
            lines.send(("t1 b", lb)).unwrap();
        }
    };
    let t2 = {
        let (a, b, barrier, lines) = (a.clone(), b.clone(), both_hold_one, lines_tx);
        move || {
            let (_b, lb) = (b.lock(), line!());
            barrier.wait();
            lines.send(("t2 b", lb)).unwrap();
            let (_a, la) = (a.lock(), line!());
            lines.send(("t2 a", la)).unwrap();
        }
    };
    let (r1, r2) = within(move || {
        let h1 = thread::spawn(t1);
        let h2 = thread::spawn(t2);
        (h1.join().map_err(panic_text), h2.join().map_err(panic_text))
    })
    .expect("the two threads finish");
    let err = match (r1, r2) {
        (Err(e), Ok(())) | (Ok(()), Err(e)) => e,
        other => panic!("exactly one of the threads must panic: {other:?}"),
    };
    assert!(err.contains("lock order cycle"), "{err}");
    let lines: Vec<(&str, u32)> = lines_rx.try_iter().collect();
    let line_of = |name| lines.iter().find(|(n, _)| *n == name).map(|(_, l)| *l);
    // Each thread reported where it took its first lock; the second locks are two lines on.
    let (t1a, t2b) = (line_of("t1 a").unwrap(), line_of("t2 b").unwrap());
    for l in [t1a, t1a + 3, t2b, t2b + 3] {
        assert!(err.contains(&site(l)), "call site line {l} missing: {err}");
    }
}

/// The order is remembered: the inversion panics even though the first thread has long
/// finished and nothing would block right now.
#[test]
fn an_inversion_panics_even_when_the_threads_never_meet() {
    let a = Arc::new(Mutex::new(1u32));
    let b = Arc::new(Mutex::new(2u64));
    let (a1, b1) = (a.clone(), b.clone());
    let (held, taken) = within(move || {
        let (_a, la) = (a1.lock(), line!());
        let (_b, lb) = (b1.lock(), line!());
        (la, lb)
    })
    .unwrap();
    let err = within(move || {
        let (_b, lb) = (b.lock(), line!());
        let (_a, la) = (a.lock(), line!());
        (lb, la)
    })
    .expect_err("locking a under b after b under a must panic");
    assert!(err.contains("lock order cycle"), "{err}");
    assert!(
        err.contains("Mutex<u32>") && err.contains("Mutex<u64>"),
        "{err}"
    );
    for l in [held, taken] {
        assert!(
            err.contains(&site(l)),
            "earlier call site {l} missing: {err}"
        );
    }
}

#[test]
fn a_cycle_through_three_locks_names_the_chain() {
    let locks: Vec<Arc<Mutex<usize>>> = (0..3).map(|i| Arc::new(Mutex::new(i))).collect();
    for i in 0..2 {
        let (x, y) = (locks[i].clone(), locks[i + 1].clone());
        within(move || {
            let _x = x.lock();
            let _y = y.lock();
        })
        .unwrap();
    }
    let (x, y) = (locks[2].clone(), locks[0].clone());
    let err = within(move || {
        let _x = x.lock();
        let _y = y.lock();
    })
    .expect_err("2 then 0, after 0 then 1 and 1 then 2, closes a cycle");
    assert_eq!(err.matches("\n  thread ").count(), 2, "{err}");
}

#[test]
fn a_consistent_order_and_try_lock_never_panic() {
    let a = Arc::new(Mutex::new(()));
    let b = Arc::new(Mutex::new(()));
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let (a, b) = (a.clone(), b.clone());
            thread::spawn(move || {
                for _ in 0..1000 {
                    let _a = a.lock();
                    let _b = b.lock();
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    // try_lock cannot block: taking b then trying a is no deadlock, and neither is trying a
    // lock this thread holds.
    let _b = b.lock();
    assert!(a.try_lock().is_some());
    assert!(b.try_lock().is_none());
}

#[test]
fn a_panic_under_the_lock_does_not_poison_it() {
    let m = Arc::new(Mutex::new(vec![1]));
    let m2 = m.clone();
    // The lint would end the guard before the panic; the panic under the guard is the point.
    #[allow(clippy::significant_drop_tightening)]
    let err = within(move || {
        let mut g = m2.lock();
        g.push(2);
        panic!("boom with {} items", g.len());
    })
    .unwrap_err();
    assert_eq!(err, "boom with 2 items");
    assert_eq!(*m.lock(), [1, 2]);
}

#[test]
fn a_condvar_wait_gives_the_lock_up_and_takes_it_back() {
    let pair = Arc::new((Mutex::new(false), Condvar::new()));
    let p2 = pair.clone();
    let waiter = thread::spawn(move || {
        let (m, cv) = &*p2;
        let mut ready = m.lock();
        while !*ready {
            ready = cv.wait(ready);
        }
        // The lock is recorded as held again: locking it once more is caught.
        let again = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| drop(m.lock())));
        drop(ready);
        again.is_err()
    });
    let (m, cv) = &*pair;
    *m.lock() = true;
    cv.notify_all();
    let relock_caught = within(move || waiter.join().unwrap()).unwrap();
    assert!(relock_caught);

    let (guard, timeout) = cv.wait_timeout(m.lock(), Duration::from_millis(10));
    assert!(timeout.timed_out());
    assert!(*guard);
}

/// Waiting on a condition variable while holding another lock that was taken after the
/// waited one means taking the waited one back out of order: caught before blocking.
#[test]
fn a_condvar_wait_that_would_retake_its_lock_out_of_order_panics() {
    let a = Arc::new((Mutex::new(()), Condvar::new()));
    let b = Arc::new(Mutex::new(()));
    let err = within(move || {
        let (m, cv) = &*a;
        let ga = m.lock();
        let _gb = b.lock();
        let (_ga, _) = cv.wait_timeout(ga, Duration::from_secs(60));
    })
    .expect_err("taking a back while holding b, after a then b, must panic");
    assert!(err.contains("lock order cycle"), "{err}");
}
