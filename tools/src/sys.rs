//! The system calls the tool makes that std does not wrap, outside the mount's own
//! (`fuse/sys.rs`): the signals that stop a command.

use std::io;

/// The signals that stop a command or end a mount cleanly.
pub const STOP_SIGNALS: [libc::c_int; 3] = [libc::SIGINT, libc::SIGTERM, libc::SIGHUP];

fn signal_set(signals: &[libc::c_int]) -> libc::sigset_t {
    // SAFETY: an all-zero sigset_t is a valid value that sigemptyset then initialises.
    let mut set: libc::sigset_t = unsafe { std::mem::zeroed() };
    // SAFETY: sigemptyset and sigaddset write into the set we own.
    unsafe {
        libc::sigemptyset(&mut set);
        for s in signals {
            libc::sigaddset(&mut set, *s);
        }
    }
    set
}

/// Blocks SIGINT, SIGTERM and SIGHUP in the calling thread and every thread it starts
/// afterwards, so that only [`wait_stop_signal`] receives them. Child processes start with
/// an empty mask (std resets it), so QEMU is unaffected.
pub fn block_stop_signals() -> io::Result<()> {
    block_signals(&STOP_SIGNALS)
}

/// Blocks `signals` in the calling thread and every thread it starts afterwards (see
/// [`block_stop_signals`]).
pub fn block_signals(signals: &[libc::c_int]) -> io::Result<()> {
    let set = signal_set(signals);
    // SAFETY: a valid set; the old mask is not needed.
    let r = unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) };
    if r != 0 {
        return Err(io::Error::from_raw_os_error(r));
    }
    Ok(())
}

/// Waits for one of the blocked stop signals and returns it.
pub fn wait_stop_signal() -> libc::c_int {
    wait_signal(&STOP_SIGNALS)
}

/// Waits for one of the blocked `signals` and returns it.
pub fn wait_signal(signals: &[libc::c_int]) -> libc::c_int {
    let set = signal_set(signals);
    loop {
        let mut sig = 0;
        // SAFETY: a valid set and a place for the signal number.
        if unsafe { libc::sigwait(&set, &mut sig) } == 0 {
            return sig;
        }
    }
}
