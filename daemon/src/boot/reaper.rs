//! As PID 1 the daemon inherits every orphaned process and must reap it, without stealing
//! the exit status of children an operation is waiting for. Operations spawn through
//! [`spawn`], which records the child under a lock; the reaper only reaps children it does
//! not find there.

use crate::sys;
use guestwright_sync::Mutex;
use std::collections::HashSet;
use std::io;
use std::process::{Child, Command};
use std::time::Duration;

static OWNED: Mutex<Option<HashSet<i32>>> = Mutex::new(None);

/// Starts the reaper thread.
pub fn start() {
    let _ = std::thread::Builder::new()
        .name("reaper".into())
        .spawn(|| loop {
            let pid = match sys::peek_exited_child() {
                Ok(pid) => pid,
                Err(_) => {
                    // No children at all (ECHILD): nothing to do until someone spawns one.
                    std::thread::sleep(Duration::from_millis(100));
                    continue;
                }
            };
            let owned = OWNED.lock().as_ref().is_some_and(|s| s.contains(&pid));
            if owned {
                // Its owner will wait for it; give it the time.
                std::thread::sleep(Duration::from_millis(10));
            } else {
                sys::reap(pid);
            }
        });
}

/// Spawns a child the caller will wait for with [`wait`].
pub fn spawn(cmd: &mut Command) -> io::Result<Child> {
    // Locked before the child exists: the reaper looks under the same lock, so it cannot
    // find the child exited and reap it before it is recorded here.
    spawn_locked(&mut OWNED.lock(), cmd)
}

fn spawn_locked(owned: &mut Option<HashSet<i32>>, cmd: &mut Command) -> io::Result<Child> {
    let child = cmd.spawn()?;
    owned
        .get_or_insert_with(HashSet::new)
        .insert(child.id() as i32);
    Ok(child)
}

/// Waits for a child spawned with [`spawn`] whose output goes elsewhere.
pub fn wait_status(mut child: Child) -> io::Result<std::process::ExitStatus> {
    let pid = child.id() as i32;
    let status = child.wait();
    if let Some(s) = OWNED.lock().as_mut() {
        s.remove(&pid);
    }
    status
}

/// Waits for a child spawned with [`spawn`] and collects its output.
pub fn wait(child: Child) -> io::Result<std::process::Output> {
    let pid = child.id() as i32;
    let out = child.wait_with_output();
    if let Some(s) = OWNED.lock().as_mut() {
        s.remove(&pid);
    }
    out
}
