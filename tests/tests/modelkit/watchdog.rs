//! A deadline for each step: a call that does not return (a deadlocked mount leaves the
//! caller in D state) must fail the test, not hang it. When a step overruns, the mount's
//! serving process is killed, which aborts the FUSE connection so that the blocked call
//! returns (ENOTCONN) and the test reports the hang; if even that does not free the test
//! within a minute, the mountpoint is detached and the test process aborts.

use guestwright_sync::{Condvar, Mutex, MutexGuard};
use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

#[derive(Debug, Default)]
struct State {
    current: Option<(String, Instant)>,
    fired: Option<String>,
    stop: bool,
}

#[derive(Debug, Default)]
struct Inner {
    state: Mutex<State>,
    wake: Condvar,
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock()
    }
}

/// Watches the steps of one run.
#[derive(Debug)]
pub struct Watchdog {
    inner: Arc<Inner>,
    thread: Option<JoinHandle<()>>,
}

impl Watchdog {
    /// Starts watching; `server` is the mount's serving process, `mountpoint` its directory.
    pub fn start(deadline: Duration, server: u32, mountpoint: PathBuf) -> Watchdog {
        let inner = Arc::new(Inner::default());
        let i = inner.clone();
        let thread = std::thread::spawn(move || watch(&i, deadline, server, &mountpoint));
        Watchdog {
            inner,
            thread: Some(thread),
        }
    }

    /// A step starts.
    pub fn begin(&self, what: String) {
        self.inner.lock().current = Some((what, Instant::now()));
    }

    /// The step returned; the hang it was stuck in, if the deadline passed.
    pub fn end(&self) -> Option<String> {
        let mut s = self.inner.lock();
        s.current = None;
        s.fired.clone()
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        self.inner.lock().stop = true;
        self.inner.wake.notify_all();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn watch(inner: &Inner, deadline: Duration, server: u32, mountpoint: &std::path::Path) {
    let mut s = inner.lock();
    loop {
        if s.stop {
            return;
        }
        if let Some((what, since)) = s.current.clone() {
            let late = since.elapsed();
            if late > deadline && s.fired.is_none() {
                let msg = format!(
                    "`{what}` did not return within {} s: the mount hung (its serving process \
                     {server} was killed to free the test)",
                    deadline.as_secs()
                );
                eprintln!("model test: {msg}");
                s.fired = Some(msg);
                drop(s);
                let _ = Command::new("kill")
                    .arg("-9")
                    .arg(server.to_string())
                    .status();
                s = inner.lock();
                continue;
            }
            if late > deadline + Duration::from_secs(60) {
                eprintln!(
                    "model test: `{what}` still blocked a minute after the mount's server was \
                     killed; detaching {} and aborting",
                    mountpoint.display()
                );
                let _ = Command::new("umount").arg("-l").arg(mountpoint).status();
                std::process::abort();
            }
        }
        s = inner.wake.wait_timeout(s, Duration::from_millis(500)).0;
    }
}
