//! Guest paths. Every guest path is resolved beneath `/sysroot` with
//! `openat2(RESOLVE_IN_ROOT)`: `..` stops at the guest root and absolute symlinks are
//! relative to it, so no path and no symlink in the guest can reach the appliance's own files.
//! Operations work on the resulting file descriptors, never on re-joined path strings.
//!
//! Writes never follow a symbolic link at the last component (see [`open_last`] and
//! [`crate::fs::replace`]): directories on the way resolve inside the guest, the name written is
//! the entry itself.

use crate::sys;
use guestwright_protocol::{Errno, GuestPath, RemoteError};
use std::ffi::CString;
use std::fs::File;
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::fs::OpenOptionsExt;

/// Where the guest tree is assembled.
pub const SYSROOT: &str = "/sysroot";

fn einval(msg: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, msg.into())
}

/// Opens the guest root directory. Opened afresh each time: a mount on /sysroot changes
/// what the path refers to.
pub fn root() -> io::Result<OwnedFd> {
    let f = File::options()
        .read(true)
        .custom_flags(libc::O_DIRECTORY | libc::O_PATH)
        .open(SYSROOT)?;
    Ok(f.into())
}

/// Checks a guest path and returns it relative to the guest root (`.` for `/`).
pub fn relative(path: &GuestPath) -> io::Result<CString> {
    let bytes = path.as_bytes();
    if !path.is_absolute() {
        return Err(einval(format!("{path}: guest paths must be absolute")));
    }
    if bytes.contains(&0) {
        return Err(einval(format!("{path}: guest paths cannot contain NUL")));
    }
    let rel = &bytes[bytes.iter().take_while(|&&b| b == b'/').count()..];
    let rel = if rel.is_empty() { b"." as &[u8] } else { rel };
    Ok(CString::new(rel).expect("checked for NUL"))
}

/// Opens a guest path, following symlinks only inside the guest.
pub fn open(path: &GuestPath, flags: libc::c_int, mode: libc::mode_t) -> io::Result<OwnedFd> {
    let root = root()?;
    let rel = relative(path)?;
    sys::openat2(
        root.as_fd(),
        &rel,
        flags,
        mode,
        sys::RESOLVE_IN_ROOT | sys::RESOLVE_NO_MAGICLINKS,
    )
}

/// Opens the directory that holds the last component of `path`, and returns that component.
/// The last component itself is not followed, so operations on it (unlink, rename, lchown,
/// symlink) act on the entry, not on what a symlink there points to.
pub fn parent(path: &GuestPath) -> io::Result<(OwnedFd, CString)> {
    let bytes = path.as_bytes();
    let trimmed = {
        let mut end = bytes.len();
        while end > 1 && bytes[end - 1] == b'/' {
            end -= 1;
        }
        &bytes[..end]
    };
    let slash = trimmed
        .iter()
        .rposition(|&b| b == b'/')
        .ok_or_else(|| einval(format!("{path}: guest paths must be absolute")))?;
    let (dir, name) = (&trimmed[..slash.max(1)], &trimmed[slash + 1..]);
    if name.is_empty() || name == b"." || name == b".." {
        return Err(einval(format!("{path}: names no file")));
    }
    let name = CString::new(name)
        .map_err(|_| einval(format!("{path}: guest paths cannot contain NUL")))?;
    let dirfd = open(&GuestPath::from(dir), libc::O_PATH | libc::O_DIRECTORY, 0)?;
    Ok((dirfd, name))
}

/// The real path of an opened guest file as the appliance sees it (under /sysroot).
pub fn real_path(fd: &OwnedFd) -> io::Result<std::path::PathBuf> {
    std::fs::read_link(sys::fd_path(fd.as_fd()))
}

/// Converts an appliance path under /sysroot back to a guest path.
pub fn to_guest(real: &std::path::Path) -> Option<GuestPath> {
    use std::os::unix::ffi::OsStrExt;
    let rest = real.strip_prefix(SYSROOT).ok()?;
    let mut v = b"/".to_vec();
    v.extend_from_slice(rest.as_os_str().as_bytes());
    Some(GuestPath::from(v))
}

/// The refusal of an operation on a path whose last component is a symbolic link: ELOOP, as
/// `O_NOFOLLOW` gives, with a message that names the link, its target and what to do.
pub fn link_refused(path: &GuestPath, target: &[u8], what: &str) -> io::Error {
    io::Error::from(RemoteError::new(
        Errno::ELOOP,
        format!(
            "{path} is a symbolic link to {}: guestwright does not {what} a file through a link \
             (remove the link, or name the file it points to)",
            GuestPath::from(target)
        ),
    ))
}

/// Opens the last component of `path` itself, never following it: directories on the way
/// resolve inside the guest, and a symbolic link at the end is refused with
/// [`link_refused`] (`what` says what was to be done: "append to", "truncate", ...), also
/// for `O_PATH` opens, which would otherwise return the link.
pub fn open_last(
    path: &GuestPath,
    flags: libc::c_int,
    mode: libc::mode_t,
    what: &str,
) -> io::Result<OwnedFd> {
    let (dir, name) = parent(path)?;
    let opened = sys::openat2(
        dir.as_fd(),
        &name,
        flags | libc::O_NOFOLLOW,
        mode,
        sys::RESOLVE_BENEATH | sys::RESOLVE_NO_SYMLINKS | sys::RESOLVE_NO_MAGICLINKS,
    );
    let is_link = match &opened {
        Err(e) => e.raw_os_error() == Some(libc::ELOOP),
        Ok(fd) => {
            flags & libc::O_PATH != 0 && {
                let st = crate::fs::walk::fstat(fd.as_fd())?;
                st.st_mode & libc::S_IFMT == libc::S_IFLNK
            }
        }
    };
    if is_link {
        if let Ok(target) = sys::readlinkat(dir.as_fd(), &name) {
            return Err(link_refused(path, &target, what));
        }
    }
    opened
}
