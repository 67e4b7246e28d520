//! The few libc calls this crate needs, as safe functions. Nothing else in the crate is unsafe.

use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;

/// The real user id of this process.
pub(crate) fn getuid() -> u32 {
    // SAFETY: getuid takes no arguments, cannot fail and touches no memory of ours.
    unsafe { libc::getuid() }
}

/// Blocks until this open file description holds an exclusive `flock` on `file`.
///
/// The lock is released when every descriptor sharing the description is closed, so dropping
/// `file` (or the process dying) releases it: a crashed builder never leaves the cache locked.
pub(crate) fn flock_exclusive(file: &File) -> io::Result<()> {
    loop {
        // SAFETY: the descriptor is valid for the duration of the call because `file` is
        // borrowed; flock only changes lock state in the kernel.
        let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) };
        if rc == 0 {
            return Ok(());
        }
        let err = io::Error::last_os_error();
        if err.kind() != io::ErrorKind::Interrupted {
            return Err(err);
        }
    }
}

/// Tries to take an exclusive `flock` without waiting; `Ok(false)` when another holder has it.
pub(crate) fn try_flock_exclusive(file: &File) -> io::Result<bool> {
    // SAFETY: as in `flock_exclusive`; LOCK_NB makes the call return at once.
    let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    if rc == 0 {
        return Ok(true);
    }
    let err = io::Error::last_os_error();
    if err.raw_os_error() == Some(libc::EWOULDBLOCK) {
        Ok(false)
    } else {
        Err(err)
    }
}
