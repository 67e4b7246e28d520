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

/// Sends `bytes` on a Unix socket with the descriptor `fd` attached (SCM_RIGHTS), as QMP's
/// `add-fd` wants it: the descriptor travels with the command that names it.
pub fn send_with_fd(
    socket: &std::os::unix::net::UnixStream,
    bytes: &[u8],
    fd: std::os::fd::BorrowedFd<'_>,
) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    let raw = fd.as_raw_fd();
    // SAFETY: CMSG_SPACE only computes a size.
    let space = unsafe { libc::CMSG_SPACE(std::mem::size_of::<libc::c_int>() as u32) } as usize;
    // u64s, so the control buffer is aligned as a cmsghdr needs.
    let mut control = vec![0u64; space.div_ceil(8)];
    let mut iov = libc::iovec {
        iov_base: bytes.as_ptr() as *mut libc::c_void,
        iov_len: bytes.len(),
    };
    // SAFETY: an all-zero msghdr is a valid empty one; its pointers are set below to the
    // iovec and the control buffer, which live until sendmsg returns.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.as_mut_ptr().cast();
    msg.msg_controllen = space as _;
    // SAFETY: the control buffer holds CMSG_SPACE(sizeof(int)) bytes, so CMSG_FIRSTHDR is
    // non-null and its data has room for one int; `raw` is a descriptor the caller keeps
    // open for the call; sendmsg only reads the buffers described by `msg`.
    let sent = unsafe {
        let cmsg = libc::CMSG_FIRSTHDR(&msg);
        (*cmsg).cmsg_level = libc::SOL_SOCKET;
        (*cmsg).cmsg_type = libc::SCM_RIGHTS;
        (*cmsg).cmsg_len = libc::CMSG_LEN(std::mem::size_of::<libc::c_int>() as u32) as _;
        std::ptr::write_unaligned(libc::CMSG_DATA(cmsg).cast::<libc::c_int>(), raw);
        libc::sendmsg(socket.as_raw_fd(), &msg, libc::MSG_NOSIGNAL)
    };
    if sent < 0 {
        return Err(io::Error::last_os_error());
    }
    if sent as usize != bytes.len() {
        return Err(io::Error::new(
            io::ErrorKind::WriteZero,
            "the monitor took part of a command",
        ));
    }
    Ok(())
}
