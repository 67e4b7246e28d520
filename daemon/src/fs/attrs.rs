//! Attributes: mode, owner, times and extended attributes.
//!
//! System calls that only take paths (chmod, the xattr calls, utimensat on a file we hold)
//! are given `/proc/self/fd/N` of a descriptor that was resolved inside the guest, or
//! `/proc/self/fd/N/name` for the `l*` forms that must not follow the last component: the
//! kernel never re-walks a guest path string.

use crate::fs::dirs::REPLY_BUDGET;
use crate::{fs::guestfs, sys};
use guestwright_protocol::*;
use std::ffi::CString;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;

/// `/proc/self/fd/N`: the file `fd` is.
pub fn proc_fd(fd: BorrowedFd<'_>) -> CString {
    CString::new(format!("/proc/self/fd/{}", fd.as_raw_fd())).expect("no NUL")
}

/// `/proc/self/fd/N/name`: the entry `name` in directory `dir`, for calls that must not
/// follow `name`.
fn proc_at(dir: BorrowedFd<'_>, name: &CString) -> CString {
    let mut v = format!("/proc/self/fd/{}/", dir.as_raw_fd()).into_bytes();
    v.extend_from_slice(name.as_bytes());
    CString::new(v).expect("names hold no NUL")
}

/// A guest path as something the path-taking calls accept, with or without following the
/// last component. The descriptors must stay open while the path is used.
struct Target {
    _fd: OwnedFd,
    path: CString,
    nofollow: bool,
}

fn target(path: &GuestPath, follow: bool) -> io::Result<Target> {
    if follow || guestfs::relative(path)?.as_bytes() == b"." {
        let fd = guestfs::open(path, libc::O_PATH, 0)?;
        let p = proc_fd(fd.as_fd());
        Ok(Target {
            _fd: fd,
            path: p,
            nofollow: false,
        })
    } else {
        let (dir, name) = guestfs::parent(path)?;
        let p = proc_at(dir.as_fd(), &name);
        Ok(Target {
            _fd: dir,
            path: p,
            nofollow: true,
        })
    }
}

/// chmod through a descriptor (an O_PATH one too).
pub fn chmod_fd(fd: BorrowedFd<'_>, mode: u32) -> io::Result<()> {
    let p = proc_fd(fd);
    std::fs::set_permissions(
        std::ffi::OsStr::from_bytes(p.as_bytes()),
        std::fs::Permissions::from_mode(mode),
    )
}

/// `chmod`: sets the permission bits (following symlinks, like chmod(1)).
pub fn chmod(mode: u32, path: &GuestPath) -> io::Result<()> {
    if mode > 0o7777 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("mode {mode:o} has bits beyond 07777"),
        ));
    }
    let fd = guestfs::open(path, libc::O_PATH, 0)?;
    chmod_fd(fd.as_fd(), mode)
}

/// `lchmod`: sets the permission bits of the entry itself; a symbolic link there is refused
/// (Linux keeps no mode on links, and the file it points to is not the one named).
pub fn lchmod(mode: u32, path: &GuestPath) -> io::Result<()> {
    if mode > 0o7777 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("mode {mode:o} has bits beyond 07777"),
        ));
    }
    let fd = if guestfs::relative(path)?.as_bytes() == b"." {
        guestfs::open(path, libc::O_PATH, 0)?
    } else {
        guestfs::open_last(path, libc::O_PATH, 0, "change the mode of")?
    };
    chmod_fd(fd.as_fd(), mode)
}

fn id(value: i64, what: &str) -> io::Result<u32> {
    match value {
        -1 => Ok(u32::MAX),
        0..=0xffff_fffe => Ok(value as u32),
        _ => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{what} {value} is out of range (0 to 4294967294, or -1 to keep it)"),
        )),
    }
}

/// `chown`/`lchown`: sets owner and group; -1 keeps one.
pub fn chown(owner: i64, group: i64, path: &GuestPath, follow: bool) -> io::Result<()> {
    let (uid, gid) = (id(owner, "owner")?, id(group, "group")?);
    if follow || guestfs::relative(path)?.as_bytes() == b"." {
        let fd = guestfs::open(path, libc::O_PATH, 0)?;
        sys::fchownat(fd.as_fd(), c"", uid, gid, libc::AT_EMPTY_PATH)
    } else {
        let (dir, name) = guestfs::parent(path)?;
        sys::fchownat(dir.as_fd(), &name, uid, gid, libc::AT_SYMLINK_NOFOLLOW)
    }
}

fn nsec(value: i64) -> io::Result<i64> {
    match value {
        -1 => Ok(libc::UTIME_NOW),
        -2 => Ok(libc::UTIME_OMIT),
        0..=999_999_999 => Ok(value),
        _ => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("nanoseconds {value} out of range (0 to 999999999, -1 = now, -2 = unchanged)"),
        )),
    }
}

/// Sets what is given of an open file's attributes in `lsetattr`'s order: size, owner and
/// group (-1 keeps one), mode, then access and modification times (nanoseconds -1 = now, -2
/// = unchanged). Through the descriptor, so it works whatever became of the file's names.
pub fn set_fd(
    file: &std::fs::File,
    size: Option<u64>,
    owner: i64,
    group: i64,
    mode: Option<u32>,
    times: [(i64, i64); 2],
) -> io::Result<()> {
    if let Some(size) = size {
        file.set_len(size)?;
    }
    if owner != -1 || group != -1 {
        let (uid, gid) = (id(owner, "owner")?, id(group, "group")?);
        sys::fchownat(file.as_fd(), c"", uid, gid, libc::AT_EMPTY_PATH)?;
    }
    if let Some(mode) = mode {
        if mode > 0o7777 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("mode {mode:o} has bits beyond 07777"),
            ));
        }
        chmod_fd(file.as_fd(), mode)?;
    }
    if times[0].1 != -2 || times[1].1 != -2 {
        let times = [
            (times[0].0, nsec(times[0].1)?),
            (times[1].0, nsec(times[1].1)?),
        ];
        sys::utimensat(None, &proc_fd(file.as_fd()), times, 0)?;
    }
    Ok(())
}

/// `utimens`: sets access and modification times. A nanoseconds field of -1 means now, -2
/// leaves that time unchanged.
pub fn utimens(path: &GuestPath, times: [(i64, i64); 2], follow: bool) -> io::Result<()> {
    let times = [
        (times[0].0, nsec(times[0].1)?),
        (times[1].0, nsec(times[1].1)?),
    ];
    if follow || guestfs::relative(path)?.as_bytes() == b"." {
        let fd = guestfs::open(path, libc::O_PATH, 0)?;
        sys::utimensat(None, &proc_fd(fd.as_fd()), times, 0)
    } else {
        let (dir, name) = guestfs::parent(path)?;
        sys::utimensat(Some(dir.as_fd()), &name, times, libc::AT_SYMLINK_NOFOLLOW)
    }
}

fn xattr_name(name: &str) -> io::Result<CString> {
    if name.is_empty() || name.len() > 255 {
        return Err(io::Error::from_raw_os_error(libc::ERANGE));
    }
    sys::cstring(name.as_bytes())
}

fn split_names(list: &[u8]) -> Vec<&[u8]> {
    list.split(|&b| b == 0).filter(|n| !n.is_empty()).collect()
}

fn list_raw(path: &CString, nofollow: bool) -> io::Result<Vec<u8>> {
    match sys::listxattr(path, nofollow) {
        Err(e) if e.raw_os_error() == Some(libc::EOPNOTSUPP) => Ok(Vec::new()),
        other => other,
    }
}

/// Every extended attribute of `path`: name and value.
pub fn getxattrs(path: &GuestPath, follow: bool) -> io::Result<Vec<XAttr>> {
    let t = target(path, follow)?;
    let list = list_raw(&t.path, t.nofollow)?;
    let mut out = Vec::new();
    let mut bytes = 0;
    for name in split_names(&list) {
        let cname = sys::cstring(name)?;
        let value = match sys::getxattr(&t.path, &cname, t.nofollow) {
            Ok(v) => v,
            // Removed between the list and the read.
            Err(e) if e.raw_os_error() == Some(libc::ENODATA) => continue,
            Err(e) => return Err(e),
        };
        bytes += name.len() + value.len() + 8;
        if bytes > REPLY_BUDGET {
            return Err(io::Error::other(format!(
                "{path}: the extended attributes do not fit in one reply; read them one by one with getxattr"
            )));
        }
        out.push(XAttr {
            name: String::from_utf8_lossy(name).into_owned(),
            value: Data(value),
        });
    }
    Ok(out)
}

/// Every extended attribute of `path` (a /proc/self/fd path or a name in the working
/// directory), name and value, with `nofollow` for the link itself.
fn read_all(path: &CString, nofollow: bool) -> io::Result<Vec<XAttr>> {
    let list = list_raw(path, nofollow)?;
    let mut out = Vec::new();
    for attr in split_names(&list) {
        let cattr = sys::cstring(attr)?;
        match sys::getxattr(path, &cattr, nofollow) {
            Ok(value) => out.push(XAttr {
                name: String::from_utf8_lossy(attr).into_owned(),
                value: Data(value),
            }),
            // Removed between the list and the read.
            Err(e) if e.raw_os_error() == Some(libc::ENODATA) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(out)
}

/// Every extended attribute of the entry `name` in `dir` itself (a symlink is not
/// followed); empty where the filesystem has none.
pub fn xattrs_at(dir: BorrowedFd<'_>, name: &CString) -> io::Result<Vec<XAttr>> {
    read_all(&proc_at(dir, name), true)
}

/// Every extended attribute of the entry `name` in the working directory itself (a symlink
/// is not followed). For a thread that made a guest directory its own working directory
/// (`sys::unshare_fs`, `sys::fchdir`): one path component to resolve instead of
/// `/proc/self/fd/N/name`, which costs several times more in a walk of thousands of entries.
pub fn xattrs_in_cwd(name: &CString) -> io::Result<Vec<XAttr>> {
    if name.as_bytes().contains(&b'/') || name.as_bytes().is_empty() {
        return Err(io::Error::from_raw_os_error(libc::EINVAL));
    }
    read_all(name, true)
}

/// One extended attribute's value; ENODATA if it is not set.
pub fn getxattr(path: &GuestPath, name: &str, follow: bool) -> io::Result<Data> {
    let t = target(path, follow)?;
    Ok(Data(sys::getxattr(
        &t.path,
        &xattr_name(name)?,
        t.nofollow,
    )?))
}

/// Sets an extended attribute to the first `vallen` bytes of `value` (libguestfs's
/// `setxattr XATTR VAL VALLEN PATH`); EINVAL when `vallen` is negative or longer than the
/// value.
pub fn setxattr(
    name: &str,
    value: &[u8],
    vallen: i32,
    path: &GuestPath,
    follow: bool,
) -> io::Result<()> {
    let value = first_bytes(value, vallen)?;
    let t = target(path, follow)?;
    sys::setxattr(&t.path, &xattr_name(name)?, value, t.nofollow)
}

/// The first `vallen` bytes of `value`.
fn first_bytes(value: &[u8], vallen: i32) -> io::Result<&[u8]> {
    usize::try_from(vallen)
        .ok()
        .and_then(|n| value.get(..n))
        .ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "vallen {vallen} is not a length within the value ({} bytes)",
                    value.len()
                ),
            )
        })
}

/// Removes an extended attribute; ENODATA if it is not set.
pub fn removexattr(name: &str, path: &GuestPath, follow: bool) -> io::Result<()> {
    let t = target(path, follow)?;
    sys::removexattr(&t.path, &xattr_name(name)?, t.nofollow)
}

/// Copies every extended attribute of `from` to `to` (both descriptors of regular files or
/// directories; O_PATH is fine).
pub fn copy_xattrs(from: BorrowedFd<'_>, to: BorrowedFd<'_>) -> io::Result<()> {
    let (src, dst) = (proc_fd(from), proc_fd(to));
    let list = list_raw(&src, false)?;
    for name in split_names(&list) {
        let cname = sys::cstring(name)?;
        let value = match sys::getxattr(&src, &cname, false) {
            Ok(v) => v,
            Err(e) if e.raw_os_error() == Some(libc::ENODATA) => continue,
            Err(e) => return Err(e),
        };
        sys::setxattr(&dst, &cname, &value, false)?;
    }
    Ok(())
}

/// Copies the extended attributes of entry `name` in `from_dir` to entry `to_name` in
/// `to_dir`, without following either (symlinks and special files too).
pub fn copy_xattrs_at(
    from_dir: BorrowedFd<'_>,
    name: &CString,
    to_dir: BorrowedFd<'_>,
    to_name: &CString,
) -> io::Result<()> {
    let (src, dst) = (proc_at(from_dir, name), proc_at(to_dir, to_name));
    let list = list_raw(&src, true)?;
    for xname in split_names(&list) {
        let cname = sys::cstring(xname)?;
        let value = match sys::getxattr(&src, &cname, true) {
            Ok(v) => v,
            Err(e) if e.raw_os_error() == Some(libc::ENODATA) => continue,
            Err(e) => return Err(e),
        };
        match sys::setxattr(&dst, &cname, &value, true) {
            // user.* cannot go on symlinks; that is what cp -a does too.
            Err(e) if e.raw_os_error() == Some(libc::EPERM) => {}
            other => other?,
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vallen_takes_the_first_bytes_and_refuses_what_is_not_there() {
        assert_eq!(first_bytes(b"secondtest", 6).unwrap(), b"second");
        assert_eq!(first_bytes(b"foo", 3).unwrap(), b"foo");
        assert_eq!(first_bytes(b"foo", 0).unwrap(), b"");
        for bad in [4, -1, i32::MIN] {
            let e = first_bytes(b"foo", bad).unwrap_err();
            assert_eq!(e.kind(), io::ErrorKind::InvalidInput, "{bad}");
        }
    }
}
