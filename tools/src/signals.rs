//! SIGINT (Ctrl-C), SIGTERM and SIGHUP in the one-shot commands: the first one stops the
//! command the ordinary way, a second one (or a command that has not stopped within
//! [`GRACE`]) at once.
//!
//! The first signal stops every appliance's work (`guestwright::interrupt::stop_all`):
//! the call in flight is cancelled and every later one fails, so the command returns an
//! error, its unfinished host files are removed as on any failure, and dropping its handle
//! flushes and unmounts the guest's filesystems and waits for QEMU to exit. `main` then
//! prints one line and exits with 128 + the signal's number (130 for SIGINT, 143 for
//! SIGTERM). Stopping at once removes the unfinished host files and exits with the same
//! status; QEMU dies with us (its parent-death signal), and the images are what a power
//! cut leaves (the journal replays).
//!
//! The signals are blocked in every thread and taken by one thread with sigwait(2), so
//! what handles them is ordinary code that may lock and write.

use std::process::ExitCode;
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::Duration;

/// How long a stopping command may take before it is stopped at once.
pub const GRACE: Duration = Duration::from_secs(30);

/// The first stop signal received, 0 before.
static RECEIVED: AtomicI32 = AtomicI32::new(0);

/// Takes the stop signals for this process. Call first in `main`, before any thread is
/// started: threads inherit the blocked set.
pub fn install() {
    install_for(&crate::sys::STOP_SIGNALS);
}

/// Takes SIGTERM and SIGHUP only, leaving SIGINT to the shell's own handler (which cancels
/// the running command and keeps the shell).
pub fn install_terminate() {
    install_for(&[libc::SIGTERM, libc::SIGHUP]);
}

fn install_for(signals: &'static [libc::c_int]) {
    if let Err(e) = crate::sys::block_signals(signals) {
        log::warn!("Ctrl-C and SIGTERM will not stop commands cleanly: {e}");
        return;
    }
    let spawned = std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || loop {
            let sig = crate::sys::wait_signal(signals);
            match RECEIVED.compare_exchange(0, sig, Ordering::SeqCst, Ordering::SeqCst) {
                Ok(_) => {
                    log::debug!("{}: stopping", name(sig));
                    guestwright::interrupt::stop_all();
                    let _ = std::thread::Builder::new()
                        .name("stop-deadline".into())
                        .spawn(move || {
                            std::thread::sleep(GRACE);
                            stop_now(sig, &format!("did not stop within {GRACE:?}"));
                        });
                }
                Err(first) => stop_now(first, &format!("{} again", name(sig))),
            }
        });
    if let Err(e) = spawned {
        log::warn!("Ctrl-C and SIGTERM will not stop commands cleanly: {e}");
    }
}

/// The first stop signal received, if any.
pub fn received() -> Option<i32> {
    match RECEIVED.load(Ordering::SeqCst) {
        0 => None,
        sig => Some(sig),
    }
}

/// The one line and the exit status of a command stopped by `sig`.
pub fn report(sig: i32) -> ExitCode {
    eprintln!(
        "guestwright: interrupted by {}: stopped; the images were closed cleanly and no \
         unfinished host file is left",
        name(sig)
    );
    ExitCode::from(status(sig))
}

fn stop_now(sig: i32, why: &str) -> ! {
    guestwright::hostfile::remove_unfinished();
    eprintln!(
        "guestwright: interrupted by {} ({why}): stopped at once; QEMU was killed and no \
         unfinished host file is left",
        name(sig)
    );
    // The only way out from this thread; QEMU goes with us (it has a parent-death signal).
    std::process::exit(i32::from(status(sig)));
}

/// 128 + the signal's number.
pub fn status(sig: i32) -> u8 {
    128 + sig.clamp(0, 127) as u8
}

/// The signal's name, for messages.
pub fn name(sig: i32) -> &'static str {
    match sig {
        libc::SIGINT => "SIGINT",
        libc::SIGTERM => "SIGTERM",
        libc::SIGHUP => "SIGHUP",
        _ => "a signal",
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn exit_statuses_are_128_plus_the_signal() {
        assert_eq!(super::status(libc::SIGINT), 130);
        assert_eq!(super::status(libc::SIGTERM), 143);
        assert_eq!(super::status(libc::SIGHUP), 129);
    }
}
