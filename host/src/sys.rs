//! The few system calls the host library makes that std does not wrap.

use std::io;

/// Asks the kernel to SIGKILL the calling (child) process when its parent thread exits, so
/// QEMU never outlives the program that started it. Called between fork and exec.
pub fn set_parent_death_signal() -> io::Result<()> {
    // SAFETY: prctl with PR_SET_PDEATHSIG and a signal number; async-signal-safe.
    if unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Starts a command's child with no signal blocked. A blocked signal stays blocked across
/// exec (std does not reset the mask), and programs that take SIGTERM, SIGINT and SIGHUP in
/// one thread block them everywhere else: QEMU would then ignore a plain `kill`.
pub fn unblock_signals(cmd: &mut std::process::Command) {
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

/// Whether the file can be opened for reading and writing by this user (for /dev/kvm).
pub fn can_open_rw(path: &std::path::Path) -> io::Result<()> {
    std::fs::File::options()
        .read(true)
        .write(true)
        .open(path)
        .map(drop)
}

/// Makes a command's child die with its parent (see [`set_parent_death_signal`]), also
/// when the parent dies between the fork and the `prctl` (then the child is already an
/// orphan and the signal would never come).
pub fn die_with_parent(cmd: &mut std::process::Command) {
    use std::os::unix::process::CommandExt;
    let parent = std::process::id() as libc::pid_t;
    // SAFETY: the closure runs between fork and exec and only calls prctl, getppid and
    // _exit, which are async-signal-safe; it touches no memory of the parent but the
    // copied pid.
    unsafe {
        cmd.pre_exec(move || {
            set_parent_death_signal()?;
            // The parent died before the prctl: the signal would never come.
            if libc::getppid() != parent {
                libc::_exit(137);
            }
            Ok(())
        });
    }
}

/// Lets a command's child inherit the descriptors `fds` (std opens every file close-on-exec):
/// their close-on-exec flag is cleared in the child alone, between fork and exec, so no other
/// child this process starts meanwhile gets them.
pub fn inherit_fds(cmd: &mut std::process::Command, fds: Vec<i32>) {
    use std::os::unix::process::CommandExt;
    // SAFETY: the closure runs between fork and exec and only calls fcntl, which is
    // async-signal-safe, on descriptors the parent keeps open until the child has started;
    // it reads only the moved vector, allocating nothing.
    unsafe {
        cmd.pre_exec(move || {
            for fd in &fds {
                if libc::fcntl(*fd, libc::F_SETFD, 0) != 0 {
                    return Err(io::Error::last_os_error());
                }
            }
            Ok(())
        });
    }
}
