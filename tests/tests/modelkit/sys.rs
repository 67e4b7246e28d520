//! The system calls the model test makes, each a safe function that returns the errno on
//! failure, so that the host directory and the mount are driven by exactly the same calls
//! (and descriptors can stay open across steps).

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// A failed call's errno.
pub type Errno = i32;

fn errno() -> Errno {
    std::io::Error::last_os_error()
        .raw_os_error()
        .unwrap_or(libc::EIO)
}

fn c(p: &Path) -> CString {
    CString::new(p.as_os_str().as_bytes()).expect("no NUL in test paths")
}

fn cs(s: &str) -> CString {
    CString::new(s).expect("no NUL in test names")
}

fn check(r: libc::c_int) -> Result<(), Errno> {
    if r < 0 {
        Err(errno())
    } else {
        Ok(())
    }
}

fn check_size(r: libc::ssize_t) -> Result<usize, Errno> {
    if r < 0 {
        Err(errno())
    } else {
        Ok(r as usize)
    }
}

/// open(2); the descriptor is the caller's to [`close`].
pub fn open(p: &Path, flags: i32, mode: u32) -> Result<i32, Errno> {
    let p = c(p);
    // SAFETY: a valid C string; the flags and mode are plain integers.
    let fd = unsafe { libc::open(p.as_ptr(), flags | libc::O_CLOEXEC, mode as libc::c_uint) };
    if fd < 0 {
        Err(errno())
    } else {
        Ok(fd)
    }
}

/// close(2).
pub fn close(fd: i32) -> Result<(), Errno> {
    // SAFETY: the descriptor was opened by `open` and is closed once.
    check(unsafe { libc::close(fd) })
}

/// pwrite(2).
pub fn pwrite(fd: i32, data: &[u8], offset: u64) -> Result<usize, Errno> {
    // SAFETY: the buffer is valid for its length.
    check_size(unsafe { libc::pwrite(fd, data.as_ptr().cast(), data.len(), offset as i64) })
}

/// write(2) at the descriptor's position.
pub fn write(fd: i32, data: &[u8]) -> Result<usize, Errno> {
    // SAFETY: the buffer is valid for its length.
    check_size(unsafe { libc::write(fd, data.as_ptr().cast(), data.len()) })
}

/// pread(2) of up to `len` bytes.
pub fn pread(fd: i32, len: usize, offset: u64) -> Result<Vec<u8>, Errno> {
    let mut buf = vec![0u8; len];
    // SAFETY: the buffer is valid and writable for its length.
    let n = check_size(unsafe { libc::pread(fd, buf.as_mut_ptr().cast(), len, offset as i64) })?;
    buf.truncate(n);
    Ok(buf)
}

/// read(2) until the end of the file.
pub fn read_to_end(fd: i32) -> Result<Vec<u8>, Errno> {
    let mut out = Vec::new();
    let mut buf = vec![0u8; 256 << 10];
    loop {
        // SAFETY: the buffer is valid and writable for its length.
        let n = check_size(unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) })?;
        if n == 0 {
            return Ok(out);
        }
        out.extend_from_slice(&buf[..n]);
    }
}

/// The fields of `struct stat` the test looks at.
#[derive(Debug, Clone, Copy)]
pub struct RawStat {
    pub mode: u32,
    pub nlink: u64,
    pub size: u64,
    pub mtime: (i64, i64),
}

fn raw(st: &libc::stat) -> RawStat {
    RawStat {
        mode: st.st_mode,
        nlink: st.st_nlink,
        size: st.st_size as u64,
        mtime: (st.st_mtime, st.st_mtime_nsec),
    }
}

/// lstat(2), or stat(2) with `follow`.
pub fn stat(p: &Path, follow: bool) -> Result<RawStat, Errno> {
    let p = c(p);
    // SAFETY: an all-zero `struct stat` is a valid value to be overwritten.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: a valid C string and a valid out-pointer.
    let r = unsafe {
        if follow {
            libc::stat(p.as_ptr(), &mut st)
        } else {
            libc::lstat(p.as_ptr(), &mut st)
        }
    };
    check(r)?;
    Ok(raw(&st))
}

/// fstat(2).
pub fn fstat(fd: i32) -> Result<RawStat, Errno> {
    // SAFETY: an all-zero `struct stat` is a valid value to be overwritten.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: a valid out-pointer.
    check(unsafe { libc::fstat(fd, &mut st) })?;
    Ok(raw(&st))
}

/// Whether `p` is on ext4 or tmpfs, and the filesystem type (`f_type` of statfs(2)).
pub fn ext4_or_tmpfs(p: &Path) -> Result<(bool, u64), Errno> {
    let p = c(p);
    // SAFETY: an all-zero `struct statfs` is a valid value to be overwritten.
    let mut st: libc::statfs = unsafe { std::mem::zeroed() };
    // SAFETY: a valid C string and a valid out-pointer.
    check(unsafe { libc::statfs(p.as_ptr(), &mut st) })?;
    Ok((
        matches!(st.f_type, libc::EXT4_SUPER_MAGIC | libc::TMPFS_MAGIC),
        st.f_type as u64,
    ))
}

/// truncate(2).
pub fn truncate(p: &Path, size: u64) -> Result<(), Errno> {
    let p = c(p);
    // SAFETY: a valid C string.
    check(unsafe { libc::truncate(p.as_ptr(), size as i64) })
}

/// ftruncate(2).
pub fn ftruncate(fd: i32, size: u64) -> Result<(), Errno> {
    // SAFETY: plain integers.
    check(unsafe { libc::ftruncate(fd, size as i64) })
}

/// fsync(2), or fdatasync(2).
pub fn fsync(fd: i32, data_only: bool) -> Result<(), Errno> {
    // SAFETY: plain integers.
    check(unsafe {
        if data_only {
            libc::fdatasync(fd)
        } else {
            libc::fsync(fd)
        }
    })
}

/// renameat2(2) (rename(2) when `flags` is 0).
pub fn rename(from: &Path, to: &Path, flags: u32) -> Result<(), Errno> {
    let (a, b) = (c(from), c(to));
    // SAFETY: valid C strings, relative to nothing (the paths are absolute).
    check(unsafe {
        libc::renameat2(
            libc::AT_FDCWD,
            a.as_ptr(),
            libc::AT_FDCWD,
            b.as_ptr(),
            flags,
        )
    })
}

/// link(2).
pub fn link(from: &Path, to: &Path) -> Result<(), Errno> {
    let (a, b) = (c(from), c(to));
    // SAFETY: valid C strings.
    check(unsafe { libc::link(a.as_ptr(), b.as_ptr()) })
}

/// symlink(2).
pub fn symlink(target: &str, p: &Path) -> Result<(), Errno> {
    let (t, p) = (cs(target), c(p));
    // SAFETY: valid C strings.
    check(unsafe { libc::symlink(t.as_ptr(), p.as_ptr()) })
}

/// readlink(2).
pub fn readlink(p: &Path) -> Result<Vec<u8>, Errno> {
    let p = c(p);
    let mut buf = vec![0u8; 8192];
    // SAFETY: a valid C string and a buffer valid for its length.
    let n = check_size(unsafe { libc::readlink(p.as_ptr(), buf.as_mut_ptr().cast(), buf.len()) })?;
    buf.truncate(n);
    Ok(buf)
}

/// mkdir(2).
pub fn mkdir(p: &Path, mode: u32) -> Result<(), Errno> {
    let p = c(p);
    // SAFETY: a valid C string.
    check(unsafe { libc::mkdir(p.as_ptr(), mode) })
}

/// rmdir(2).
pub fn rmdir(p: &Path) -> Result<(), Errno> {
    let p = c(p);
    // SAFETY: a valid C string.
    check(unsafe { libc::rmdir(p.as_ptr()) })
}

/// unlink(2).
pub fn unlink(p: &Path) -> Result<(), Errno> {
    let p = c(p);
    // SAFETY: a valid C string.
    check(unsafe { libc::unlink(p.as_ptr()) })
}

/// chmod(2).
pub fn chmod(p: &Path, mode: u32) -> Result<(), Errno> {
    let p = c(p);
    // SAFETY: a valid C string.
    check(unsafe { libc::chmod(p.as_ptr(), mode) })
}

/// fchmod(2).
pub fn fchmod(fd: i32, mode: u32) -> Result<(), Errno> {
    // SAFETY: plain integers.
    check(unsafe { libc::fchmod(fd, mode) })
}

/// A time for utimensat(2): `(seconds, nanoseconds)`, with UTIME_NOW or UTIME_OMIT as the
/// nanoseconds.
pub type Time = (i64, i64);

fn timespecs(atime: Time, mtime: Time) -> [libc::timespec; 2] {
    [
        libc::timespec {
            tv_sec: atime.0,
            tv_nsec: atime.1,
        },
        libc::timespec {
            tv_sec: mtime.0,
            tv_nsec: mtime.1,
        },
    ]
}

/// utimensat(2), with AT_SYMLINK_NOFOLLOW unless `follow`.
pub fn utimens(p: &Path, atime: Time, mtime: Time, follow: bool) -> Result<(), Errno> {
    let p = c(p);
    let ts = timespecs(atime, mtime);
    let flags = if follow { 0 } else { libc::AT_SYMLINK_NOFOLLOW };
    // SAFETY: a valid C string and two timespecs.
    check(unsafe { libc::utimensat(libc::AT_FDCWD, p.as_ptr(), ts.as_ptr(), flags) })
}

/// futimens(3).
pub fn futimens(fd: i32, atime: Time, mtime: Time) -> Result<(), Errno> {
    let ts = timespecs(atime, mtime);
    // SAFETY: two timespecs.
    check(unsafe { libc::futimens(fd, ts.as_ptr()) })
}

/// setxattr(2), or lsetxattr(2) unless `follow`.
pub fn setxattr(p: &Path, name: &str, value: &[u8], flags: i32, follow: bool) -> Result<(), Errno> {
    let (p, n) = (c(p), cs(name));
    // SAFETY: valid C strings and a buffer valid for its length.
    check(unsafe {
        if follow {
            libc::setxattr(
                p.as_ptr(),
                n.as_ptr(),
                value.as_ptr().cast(),
                value.len(),
                flags,
            )
        } else {
            libc::lsetxattr(
                p.as_ptr(),
                n.as_ptr(),
                value.as_ptr().cast(),
                value.len(),
                flags,
            )
        }
    })
}

/// getxattr(2) or lgetxattr(2) with a buffer of `size` bytes: the length and the value
/// (empty when `size` is 0, which asks for the length only).
pub fn getxattr(
    p: &Path,
    name: &str,
    size: usize,
    follow: bool,
) -> Result<(usize, Vec<u8>), Errno> {
    let (p, n) = (c(p), cs(name));
    let mut buf = vec![0u8; size];
    let ptr = if size == 0 {
        std::ptr::null_mut()
    } else {
        buf.as_mut_ptr().cast()
    };
    // SAFETY: valid C strings and a buffer valid for `size` bytes (or null with size 0).
    let r = check_size(unsafe {
        if follow {
            libc::getxattr(p.as_ptr(), n.as_ptr(), ptr, size)
        } else {
            libc::lgetxattr(p.as_ptr(), n.as_ptr(), ptr, size)
        }
    })?;
    buf.truncate(r);
    Ok((r, buf))
}

/// listxattr(2) or llistxattr(2) with a buffer of `size` bytes: the length and the raw list
/// (empty when `size` is 0, which asks for the length only).
pub fn listxattr(p: &Path, size: usize, follow: bool) -> Result<(usize, Vec<u8>), Errno> {
    let p = c(p);
    let mut buf = vec![0u8; size];
    let ptr = if size == 0 {
        std::ptr::null_mut()
    } else {
        buf.as_mut_ptr().cast()
    };
    // SAFETY: a valid C string and a buffer valid for `size` bytes (or null with size 0).
    let r = check_size(unsafe {
        if follow {
            libc::listxattr(p.as_ptr(), ptr, size)
        } else {
            libc::llistxattr(p.as_ptr(), ptr, size)
        }
    })?;
    buf.truncate(r);
    Ok((r, buf))
}

/// removexattr(2) or lremovexattr(2).
pub fn removexattr(p: &Path, name: &str, follow: bool) -> Result<(), Errno> {
    let (p, n) = (c(p), cs(name));
    // SAFETY: valid C strings.
    check(unsafe {
        if follow {
            libc::removexattr(p.as_ptr(), n.as_ptr())
        } else {
            libc::lremovexattr(p.as_ptr(), n.as_ptr())
        }
    })
}

/// access(2).
pub fn access(p: &Path, mode: i32) -> Result<(), Errno> {
    let p = c(p);
    // SAFETY: a valid C string.
    check(unsafe { libc::access(p.as_ptr(), mode) })
}

/// The effective user id.
pub fn euid() -> u32 {
    // SAFETY: no arguments, cannot fail.
    unsafe { libc::geteuid() }
}

/// The symbolic name of an errno, for messages.
pub fn errno_name(e: Errno) -> String {
    let name = match e {
        libc::EPERM => "EPERM",
        libc::ENOENT => "ENOENT",
        libc::EIO => "EIO",
        libc::EBADF => "EBADF",
        libc::EACCES => "EACCES",
        libc::EEXIST => "EEXIST",
        libc::EXDEV => "EXDEV",
        libc::ENOTDIR => "ENOTDIR",
        libc::EISDIR => "EISDIR",
        libc::EINVAL => "EINVAL",
        libc::EFBIG => "EFBIG",
        libc::ENOSPC => "ENOSPC",
        libc::EROFS => "EROFS",
        libc::EMLINK => "EMLINK",
        libc::ERANGE => "ERANGE",
        libc::ENAMETOOLONG => "ENAMETOOLONG",
        libc::ENOTEMPTY => "ENOTEMPTY",
        libc::ELOOP => "ELOOP",
        libc::ENODATA => "ENODATA",
        libc::EOPNOTSUPP => "EOPNOTSUPP",
        libc::ENOTCONN => "ENOTCONN",
        libc::E2BIG => "E2BIG",
        libc::EBUSY => "EBUSY",
        libc::ENOSYS => "ENOSYS",
        _ => return format!("errno {e}"),
    };
    name.to_string()
}
