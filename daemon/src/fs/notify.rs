//! guestfish's inotify commands (cmds-files): one inotify instance for the daemon, watches
//! on guest paths (resolved beneath the guest root), events read without blocking.

// The lock is held while the descriptor is used: it keeps inotify_close from closing it.
#![allow(clippy::significant_drop_tightening)]

use crate::fs::guestfs;
use guestwright_protocol::{Errno, GuestPath, InotifyEvent, RemoteError};
use guestwright_sync::Mutex;
use std::io;
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};

static INSTANCE: Mutex<Option<OwnedFd>> = Mutex::new(None);

fn not_initialised(what: &str) -> io::Error {
    io::Error::from(RemoteError::new(
        Errno::EINVAL,
        format!("{what}: do_{what}: you must call 'inotify_init' first to initialize inotify"),
    ))
}

/// `inotify_init`: a new instance (the old one closed); `maxevents` above 0 sets the
/// kernel's queue length.
pub fn init(maxevents: i32) -> io::Result<()> {
    if maxevents < 0 {
        return Err(io::Error::from_raw_os_error(libc::EINVAL));
    }
    if maxevents > 0 {
        std::fs::write(
            "/proc/sys/fs/inotify/max_queued_events",
            format!("{maxevents}\n"),
        )?;
    }
    // SAFETY: a plain system call on valid, live arguments (C strings, buffers of the given length, descriptors we own); all-zero is a valid value of these C structs.
    let fd = unsafe { libc::inotify_init1(libc::IN_NONBLOCK | libc::IN_CLOEXEC) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: a plain system call on valid, live arguments (C strings, buffers of the given length, descriptors we own); all-zero is a valid value of these C structs.
    *INSTANCE.lock() = Some(unsafe { OwnedFd::from_raw_fd(fd) });
    Ok(())
}

/// `inotify_add_watch`: watches a guest path for the events in `mask`; the watch number.
pub fn add_watch(path: &GuestPath, mask: i32) -> io::Result<i64> {
    let guard = INSTANCE.lock();
    let fd = guard
        .as_ref()
        .ok_or_else(|| not_initialised("inotify_add_watch"))?;
    let target = guestfs::open(path, libc::O_PATH, 0)?;
    let p = crate::fs::attrs::proc_fd(target.as_fd());
    // SAFETY: a plain system call on valid, live arguments (C strings, buffers of the given length, descriptors we own); all-zero is a valid value of these C structs.
    let wd = unsafe { libc::inotify_add_watch(fd.as_raw_fd(), p.as_ptr(), mask as u32) };
    if wd < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(i64::from(wd))
}

/// `inotify_rm_watch`: removes a watch.
pub fn rm_watch(wd: i32) -> io::Result<()> {
    let guard = INSTANCE.lock();
    let fd = guard
        .as_ref()
        .ok_or_else(|| not_initialised("inotify_rm_watch"))?;
    // SAFETY: a plain system call on valid, live arguments (C strings, buffers of the given length, descriptors we own); all-zero is a valid value of these C structs.
    if unsafe { libc::inotify_rm_watch(fd.as_raw_fd(), wd) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// `inotify_read`: the events queued now (none: an empty list).
pub fn read() -> io::Result<Vec<InotifyEvent>> {
    let guard = INSTANCE.lock();
    let fd = guard
        .as_ref()
        .ok_or_else(|| not_initialised("inotify_read"))?;
    let mut events = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        // SAFETY: a plain system call on valid, live arguments (C strings, buffers of the given length, descriptors we own); all-zero is a valid value of these C structs.
        let n = unsafe { libc::read(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
        if n < 0 {
            let e = io::Error::last_os_error();
            match e.raw_os_error() {
                Some(libc::EAGAIN) => break,
                Some(libc::EINTR) => continue,
                _ => return Err(e),
            }
        }
        let n = n as usize;
        if n == 0 {
            break;
        }
        let mut at = 0;
        while at + 16 <= n {
            let word =
                |i: usize| u32::from_ne_bytes(buf[at + i..at + i + 4].try_into().expect("4 bytes"));
            let (wd, mask, cookie, len) = (word(0) as i32, word(4), word(8), word(12) as usize);
            let name = &buf[at + 16..(at + 16 + len).min(n)];
            let name = &name[..name.iter().position(|&b| b == 0).unwrap_or(name.len())];
            events.push(InotifyEvent {
                in_wd: i64::from(wd),
                in_mask: mask,
                in_cookie: cookie,
                in_name: String::from_utf8_lossy(name).into_owned(),
            });
            at += 16 + len;
        }
    }
    Ok(events)
}

/// `inotify_files`: the names in the events queued now, sorted, each once.
pub fn files() -> io::Result<Vec<String>> {
    // Events on the watched directory itself have no name.
    let mut names: Vec<String> = read()?
        .into_iter()
        .map(|e| e.in_name)
        .filter(|n| !n.is_empty())
        .collect();
    names.sort();
    names.dedup();
    Ok(names)
}

/// `inotify_close`: closes the instance and its watches.
pub fn close() -> io::Result<()> {
    let mut guard = INSTANCE.lock();
    match guard.take() {
        Some(_) => Ok(()),
        None => Err(not_initialised("inotify_close")),
    }
}
