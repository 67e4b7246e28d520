//! The system calls the tool makes that std does not wrap, outside the mount's own
//! (`fuse/sys.rs`): the signals that stop a command; turning a terminal's echo off while a
//! passphrase is typed; overwriting a passphrase in this process's own command line, so `ps`
//! and `/proc/PID/cmdline` stop showing it; the local time zone's reading of a time.

use std::io;
use std::os::fd::AsRawFd;

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
/// afterwards, so that only [`wait_stop_signal`] receives them. Child processes inherit
/// the mask (std does not reset it): the programs the user runs through the tool start with
/// [`unblock_signals_in_child`], QEMU with the library's own reset.
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

/// Starts a command's child with no signal blocked, so the program the user runs (`!`
/// commands, pagers, editors) stops on SIGTERM, SIGINT and SIGHUP as it would anywhere.
pub fn unblock_signals_in_child(cmd: &mut std::process::Command) {
    use std::os::unix::process::CommandExt;
    // SAFETY: the closure runs between fork and exec and only calls sigemptyset and
    // pthread_sigmask on a set on its own stack, which are async-signal-safe.
    unsafe {
        cmd.pre_exec(|| {
            let mut set: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            let r = libc::pthread_sigmask(libc::SIG_SETMASK, &set, std::ptr::null_mut());
            if r != 0 {
                return Err(io::Error::from_raw_os_error(r));
            }
            Ok(())
        });
    }
}

/// A pipe: (read end, write end), both close-on-exec.
pub fn pipe() -> io::Result<(std::os::fd::OwnedFd, std::os::fd::OwnedFd)> {
    use std::os::fd::FromRawFd;
    let mut fds = [0; 2];
    // SAFETY: pipe2 writes two descriptors into the array we own.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: both descriptors were just opened and are owned by nobody else.
    Ok(unsafe {
        (
            std::os::fd::OwnedFd::from_raw_fd(fds[0]),
            std::os::fd::OwnedFd::from_raw_fd(fds[1]),
        )
    })
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

/// Turns echo off on the terminal `fd` until the guard is dropped.
pub struct NoEcho<'a, F: AsRawFd> {
    fd: &'a F,
    saved: libc::termios,
}

impl<'a, F: AsRawFd> NoEcho<'a, F> {
    /// Saves the terminal's settings and clears `ECHO`.
    pub fn new(fd: &'a F) -> io::Result<Self> {
        // SAFETY: termios is plain old data; all-zero is a valid value for tcgetattr to fill.
        let mut saved: libc::termios = unsafe { std::mem::zeroed() };
        // SAFETY: the descriptor is borrowed and open for the guard's life; `saved` is a
        // valid termios to write into.
        if unsafe { libc::tcgetattr(fd.as_raw_fd(), &mut saved) } != 0 {
            return Err(io::Error::last_os_error());
        }
        let mut quiet = saved;
        quiet.c_lflag &= !libc::ECHO;
        quiet.c_lflag |= libc::ECHONL;
        // SAFETY: as above; `quiet` is a valid termios read by tcsetattr.
        if unsafe { libc::tcsetattr(fd.as_raw_fd(), libc::TCSAFLUSH, &quiet) } != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(NoEcho { fd, saved })
    }
}

impl<F: AsRawFd> Drop for NoEcho<'_, F> {
    fn drop(&mut self) {
        // SAFETY: restores the settings saved from the same open descriptor.
        unsafe { libc::tcsetattr(self.fd.as_raw_fd(), libc::TCSAFLUSH, &self.saved) };
    }
}

/// Where the kernel keeps this process's argument strings (`arg_start`, `arg_end` of
/// /proc/self/stat, fields 48 and 49).
fn argument_area() -> Option<(usize, usize)> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The command name (field 2) may hold spaces and parentheses: count from its end.
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // `rest` starts at field 3.
    let start = fields.get(48 - 3)?.parse().ok()?;
    let end = fields.get(49 - 3)?.parse().ok()?;
    (start < end && end - start < (16 << 20)).then_some((start, end))
}

/// For each `(value, from)`, overwrites the bytes of `value` from offset `from` on (the
/// passphrase of `ID:key:PASSPHRASE`), wherever `value` appears in this process's argument
/// strings, with `x`, so the command line others can read no longer holds it. Call it early,
/// while the process has one thread (clap has already copied the arguments).
pub fn scrub_arguments(values: &[(&[u8], usize)]) {
    let Some((start, end)) = argument_area() else {
        return;
    };
    // SAFETY: [arg_start, arg_end) is this process's own argument area, mapped and writable
    // (the initial stack) for the whole life of the process; the kernel reports it for this
    // very purpose. Nothing holds a Rust reference into it: std keeps only raw pointers, and
    // the process has a single thread here, so nothing reads it while it changes.
    let area = unsafe { std::slice::from_raw_parts_mut(start as *mut u8, end - start) };
    for &(value, from) in values.iter().filter(|(v, from)| *from < v.len()) {
        let mut i = 0;
        while i + value.len() <= area.len() {
            if &area[i..i + value.len()] == value {
                area[i + from..i + value.len()].fill(b'x');
                i += value.len();
            } else {
                i += 1;
            }
        }
    }
}

/// `secs` since the epoch in the local time zone (`localtime_r`), or `None` when it cannot
/// be represented.
pub fn local_time(secs: i64) -> Option<libc::tm> {
    // SAFETY: an all-zero tm is a valid value for localtime_r to fill.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    let t = secs as libc::time_t;
    // SAFETY: localtime_r reads t and writes into the tm we own.
    let r = unsafe { libc::localtime_r(&t, &mut tm) };
    (!r.is_null()).then_some(tm)
}
