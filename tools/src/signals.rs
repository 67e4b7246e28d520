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
//!
//! The shell waiting for its next line has no call in flight to cancel: it would sit at
//! its prompt until [`GRACE`] ran out. So the first signal also wakes that wait: a line
//! read from a pipe or a file waits with poll(2) on a pipe this module writes to
//! ([`wait_readable`]); the prompt (rustyline, which waits on the terminal itself) is sent
//! SIGINT, which it answers by returning from the line, for as long as it says it is
//! [`at_prompt`]. The shell then leaves as after `quit`.

use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::OnceLock;
use std::time::Duration;

/// How long a stopping command may take before it is stopped at once.
pub const GRACE: Duration = Duration::from_secs(30);

/// The first stop signal received, 0 before.
static RECEIVED: AtomicI32 = AtomicI32::new(0);

/// A pipe written to at the first stop signal (read end, write end); never read, so it
/// stays readable from then on.
static WAKE: OnceLock<(OwnedFd, OwnedFd)> = OnceLock::new();

/// Whether the shell's prompt is waiting for a line (see [`at_prompt`]).
static AT_PROMPT: AtomicBool = AtomicBool::new(false);

/// How often the prompt is sent SIGINT while it waits after a stop signal.
const NUDGE: Duration = Duration::from_millis(100);

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
    match crate::sys::pipe() {
        Ok(p) => {
            let _ = WAKE.set(p);
        }
        Err(e) => log::warn!("SIGTERM will not stop the shell waiting for a line at once: {e}"),
    }
    let spawned = std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || loop {
            let sig = crate::sys::wait_signal(signals);
            match RECEIVED.compare_exchange(0, sig, Ordering::SeqCst, Ordering::SeqCst) {
                Ok(_) => {
                    log::debug!("{}: stopping", name(sig));
                    guestwright::interrupt::stop_all();
                    wake_waiters(signals);
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

/// Wakes what waits for the shell's next line: the pipe for [`wait_readable`], and SIGINT
/// for the prompt, repeated while it still waits (a prompt entered just now may not take
/// SIGINT yet). Never sends SIGINT where it is one of the stop signals taken here.
fn wake_waiters(signals: &'static [libc::c_int]) {
    if let Some((_, w)) = WAKE.get() {
        // SAFETY: one byte from a live buffer to a descriptor we own.
        let _ = unsafe { libc::write(w.as_raw_fd(), b"!".as_ptr().cast(), 1) };
    }
    if signals.contains(&libc::SIGINT) {
        return;
    }
    let _ = std::thread::Builder::new()
        .name("wake-prompt".into())
        .spawn(|| loop {
            if AT_PROMPT.load(Ordering::SeqCst) {
                // SAFETY: kill(2) of this process with a signal its handlers take.
                unsafe { libc::kill(libc::getpid(), libc::SIGINT) };
            }
            std::thread::sleep(NUDGE);
        });
}

/// The shell says its prompt waits for a line (`true`) or no longer does. A stop signal
/// received while it waits interrupts the wait; check [`received`] after setting it.
pub fn at_prompt(waiting: bool) {
    AT_PROMPT.store(waiting, Ordering::SeqCst);
}

/// Waits until `fd` has something to read, or fails once a stop signal was received.
pub fn wait_readable(fd: RawFd) -> std::io::Result<()> {
    let Some((r, _)) = WAKE.get() else {
        return Ok(());
    };
    let mut fds = [
        libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        },
        libc::pollfd {
            fd: r.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        },
    ];
    loop {
        // SAFETY: two valid pollfd entries we own.
        let n = unsafe { libc::poll(fds.as_mut_ptr(), 2, -1) };
        if n < 0 {
            let e = std::io::Error::last_os_error();
            if e.kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        if fds[1].revents != 0 {
            return Err(std::io::Error::other("stopped by a signal"));
        }
        // Readable, at its end, or in error: the read says which.
        return Ok(());
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
