//! Every system call the daemon makes that std does not wrap, as safe functions.
//!
//! Nothing outside this module uses `unsafe`.

use std::ffi::{CStr, CString};
use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::path::Path;

fn cstr(p: &Path) -> io::Result<CString> {
    use std::os::unix::ffi::OsStrExt;
    CString::new(p.as_os_str().as_bytes()).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))
}

fn check(ret: libc::c_int) -> io::Result<libc::c_int> {
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

/// mount(2).
pub fn mount(
    source: &str,
    target: &Path,
    fstype: Option<&str>,
    flags: libc::c_ulong,
    data: Option<&str>,
) -> io::Result<()> {
    let source = CString::new(source).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
    let target = cstr(target)?;
    let fstype = fstype
        .map(CString::new)
        .transpose()
        .map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
    let data = data
        .map(CString::new)
        .transpose()
        .map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
    // SAFETY: every pointer is either null or a NUL-terminated string that outlives the call.
    let ret = unsafe {
        libc::mount(
            source.as_ptr(),
            target.as_ptr(),
            fstype.as_ref().map_or(std::ptr::null(), |s| s.as_ptr()),
            flags,
            data.as_ref()
                .map_or(std::ptr::null(), |s| s.as_ptr().cast()),
        )
    };
    check(ret).map(drop)
}

/// umount2(2).
pub fn umount(target: &Path, flags: libc::c_int) -> io::Result<()> {
    let target = cstr(target)?;
    // SAFETY: `target` is a valid NUL-terminated string.
    check(unsafe { libc::umount2(target.as_ptr(), flags) }).map(drop)
}

/// finit_module(2): loads a kernel module from an open file with a parameter string.
pub fn finit_module(file: &File, params: &str) -> io::Result<()> {
    let params = CString::new(params).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
    // SAFETY: the fd is open for the duration of the call and `params` is NUL-terminated.
    let ret =
        unsafe { libc::syscall(libc::SYS_finit_module, file.as_raw_fd(), params.as_ptr(), 0) };
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// sync(2).
pub fn sync() {
    // SAFETY: sync takes no arguments and cannot fail.
    unsafe { libc::sync() }
}

/// Restarts the machine. The host runs QEMU with `-no-reboot` and the kernel with
/// `reboot=t`, so this ends QEMU on every machine type.
pub fn reboot() -> io::Error {
    // SAFETY: reboot with a valid command; it only returns on failure.
    unsafe { libc::reboot(libc::RB_AUTOBOOT) };
    io::Error::last_os_error()
}

// From <linux/fs.h>; the libc crate does not carry the block ioctls.
const BLKFLSBUF: libc::c_ulong = 0x1261;

/// BLKFLSBUF: flush the device's buffers (after fsync, so QEMU has written everything).
pub fn block_flush_buffers(file: &File) -> io::Result<()> {
    // SAFETY: BLKFLSBUF takes no argument.
    check(unsafe { libc::ioctl(file.as_raw_fd(), BLKFLSBUF, 0) }).map(drop)
}

/// The `struct open_how` of openat2(2).
#[repr(C)]
struct OpenHow {
    flags: u64,
    mode: u64,
    resolve: u64,
}

/// Resolve every component of the path as if `dirfd` were `/`: `..` stops at it and absolute
/// symlinks are relative to it. This is what keeps guest paths inside the guest.
pub const RESOLVE_IN_ROOT: u64 = 0x10;
/// Never cross into /proc magic links.
pub const RESOLVE_NO_MAGICLINKS: u64 = 0x02;

/// openat2(2).
pub fn openat2(
    dir: BorrowedFd<'_>,
    path: &CStr,
    flags: libc::c_int,
    mode: libc::mode_t,
    resolve: u64,
) -> io::Result<OwnedFd> {
    let how = OpenHow {
        flags: (flags | libc::O_CLOEXEC) as u64,
        mode: u64::from(mode),
        resolve,
    };
    loop {
        // SAFETY: `path` is NUL-terminated and `how` is a valid open_how whose size we pass.
        let fd = unsafe {
            libc::syscall(
                libc::SYS_openat2,
                dir.as_raw_fd(),
                path.as_ptr(),
                &how as *const OpenHow,
                std::mem::size_of::<OpenHow>(),
            )
        };
        if fd >= 0 {
            // SAFETY: the kernel returned a new file descriptor that nothing else owns.
            return Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) });
        }
        let err = io::Error::last_os_error();
        // openat2 returns EAGAIN when a concurrent rename raced the lookup; retry.
        if err.raw_os_error() != Some(libc::EAGAIN) {
            return Err(err);
        }
    }
}

/// `uname -r`.
pub fn kernel_release() -> String {
    // SAFETY: utsname is plain data; uname fills it.
    let mut uts: libc::utsname = unsafe { std::mem::zeroed() };
    // SAFETY: the pointer is valid for writes of one utsname.
    if unsafe { libc::uname(&mut uts) } != 0 {
        return String::from("unknown");
    }
    // SAFETY: uname NUL-terminates the release field.
    let release = unsafe { CStr::from_ptr(uts.release.as_ptr()) };
    release.to_string_lossy().into_owned()
}

/// What `waitid(P_ALL, WEXITED | WNOWAIT)` saw: a child that exited and is not reaped yet.
pub fn peek_exited_child() -> io::Result<libc::pid_t> {
    // SAFETY: siginfo_t is plain data that waitid fills.
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    // SAFETY: the pointer is valid for one siginfo_t.
    check(unsafe { libc::waitid(libc::P_ALL, 0, &mut info, libc::WEXITED | libc::WNOWAIT) })?;
    // SAFETY: waitid succeeded, so si_pid is initialised.
    Ok(unsafe { info.si_pid() })
}

/// Reaps one exited child.
pub fn reap(pid: libc::pid_t) {
    let mut status = 0;
    // SAFETY: waitpid with a valid status pointer.
    unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
}

/// fchmod/fchown-style helpers need a raw fd; this exposes a borrowed fd as a path under
/// /proc/self/fd for the few calls (mount) that only take paths.
pub fn fd_path(fd: BorrowedFd<'_>) -> std::path::PathBuf {
    std::path::PathBuf::from(format!("/proc/self/fd/{}", fd.as_raw_fd()))
}

// ==== file API system calls ====

/// openat2: fail on any symlink in the path.
pub const RESOLVE_NO_SYMLINKS: u64 = 0x04;
/// openat2: fail if the path leaves the starting directory.
pub const RESOLVE_BENEATH: u64 = 0x08;

/// A C string from bytes that must not contain NUL (guest names never do).
pub fn cstring(bytes: &[u8]) -> io::Result<CString> {
    CString::new(bytes).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))
}

/// getdents64(2): fills `buf` with `linux_dirent64` records; 0 at the end of the directory.
pub fn getdents64(dir: BorrowedFd<'_>, buf: &mut [u8]) -> io::Result<usize> {
    // SAFETY: the kernel writes at most `buf.len()` bytes into `buf`.
    let n = unsafe {
        libc::syscall(
            libc::SYS_getdents64,
            dir.as_raw_fd(),
            buf.as_mut_ptr(),
            buf.len(),
        )
    };
    if n < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(n as usize)
    }
}

/// lseek(2) on a directory: positions it at a `d_off` cookie from getdents64.
pub fn seek_dir(dir: BorrowedFd<'_>, cookie: u64) -> io::Result<()> {
    // SAFETY: lseek takes plain integers.
    let r = unsafe { libc::lseek(dir.as_raw_fd(), cookie as libc::off_t, libc::SEEK_SET) };
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// fstatat(2). `flags` may hold `AT_SYMLINK_NOFOLLOW` and `AT_EMPTY_PATH`.
pub fn fstatat(dir: BorrowedFd<'_>, name: &CStr, flags: libc::c_int) -> io::Result<libc::stat> {
    // SAFETY: stat is plain data that fstatat fills.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: `name` is NUL-terminated and `st` is valid for writes.
    check(unsafe { libc::fstatat(dir.as_raw_fd(), name.as_ptr(), &mut st, flags) })?;
    Ok(st)
}

/// fstatvfs(3) (works on O_PATH descriptors).
pub fn fstatvfs(fd: BorrowedFd<'_>) -> io::Result<libc::statvfs> {
    // SAFETY: statvfs is plain data that fstatvfs fills.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: `st` is valid for writes.
    check(unsafe { libc::fstatvfs(fd.as_raw_fd(), &mut st) })?;
    Ok(st)
}

/// readlinkat(2): the target of the symlink `name` in `dir` (or of `dir` itself with "").
pub fn readlinkat(dir: BorrowedFd<'_>, name: &CStr) -> io::Result<Vec<u8>> {
    let mut buf = vec![0u8; libc::PATH_MAX as usize + 1];
    // SAFETY: the kernel writes at most `buf.len()` bytes.
    let n = unsafe {
        libc::readlinkat(
            dir.as_raw_fd(),
            name.as_ptr(),
            buf.as_mut_ptr().cast(),
            buf.len(),
        )
    };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    buf.truncate(n as usize);
    Ok(buf)
}

/// unlinkat(2); `AT_REMOVEDIR` removes an empty directory.
pub fn unlinkat(dir: BorrowedFd<'_>, name: &CStr, flags: libc::c_int) -> io::Result<()> {
    // SAFETY: `name` is NUL-terminated.
    check(unsafe { libc::unlinkat(dir.as_raw_fd(), name.as_ptr(), flags) }).map(drop)
}

/// mkdirat(2).
pub fn mkdirat(dir: BorrowedFd<'_>, name: &CStr, mode: u32) -> io::Result<()> {
    // SAFETY: `name` is NUL-terminated.
    check(unsafe { libc::mkdirat(dir.as_raw_fd(), name.as_ptr(), mode as libc::mode_t) }).map(drop)
}

/// symlinkat(2): creates `name` in `dir` holding `target`.
pub fn symlinkat(target: &CStr, dir: BorrowedFd<'_>, name: &CStr) -> io::Result<()> {
    // SAFETY: both strings are NUL-terminated.
    check(unsafe { libc::symlinkat(target.as_ptr(), dir.as_raw_fd(), name.as_ptr()) }).map(drop)
}

/// linkat(2). With `AT_EMPTY_PATH` and an empty `old_name`, links the file `old_dir` is.
pub fn linkat(
    old_dir: BorrowedFd<'_>,
    old_name: &CStr,
    new_dir: BorrowedFd<'_>,
    new_name: &CStr,
    flags: libc::c_int,
) -> io::Result<()> {
    // SAFETY: both names are NUL-terminated.
    check(unsafe {
        libc::linkat(
            old_dir.as_raw_fd(),
            old_name.as_ptr(),
            new_dir.as_raw_fd(),
            new_name.as_ptr(),
            flags,
        )
    })
    .map(drop)
}

/// renameat2(2); `flags` may hold `RENAME_NOREPLACE` or `RENAME_EXCHANGE`.
pub fn renameat2(
    old_dir: BorrowedFd<'_>,
    old_name: &CStr,
    new_dir: BorrowedFd<'_>,
    new_name: &CStr,
    flags: libc::c_uint,
) -> io::Result<()> {
    // SAFETY: both names are NUL-terminated.
    let r = unsafe {
        libc::syscall(
            libc::SYS_renameat2,
            old_dir.as_raw_fd(),
            old_name.as_ptr(),
            new_dir.as_raw_fd(),
            new_name.as_ptr(),
            flags,
        )
    };
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// mknodat(2).
pub fn mknodat(dir: BorrowedFd<'_>, name: &CStr, mode: u32, dev: u64) -> io::Result<()> {
    // SAFETY: `name` is NUL-terminated.
    check(unsafe {
        libc::mknodat(
            dir.as_raw_fd(),
            name.as_ptr(),
            mode as libc::mode_t,
            dev as libc::dev_t,
        )
    })
    .map(drop)
}

/// fchownat(2); `u32::MAX` leaves an id unchanged.
pub fn fchownat(
    dir: BorrowedFd<'_>,
    name: &CStr,
    uid: u32,
    gid: u32,
    flags: libc::c_int,
) -> io::Result<()> {
    // SAFETY: `name` is NUL-terminated.
    check(unsafe { libc::fchownat(dir.as_raw_fd(), name.as_ptr(), uid, gid, flags) }).map(drop)
}

/// utimensat(2). `dir` None means the current directory (for /proc/self/fd paths).
pub fn utimensat(
    dir: Option<BorrowedFd<'_>>,
    name: &CStr,
    times: [(i64, i64); 2],
    flags: libc::c_int,
) -> io::Result<()> {
    let ts = times.map(|(sec, nsec)| libc::timespec {
        tv_sec: sec as libc::time_t,
        tv_nsec: nsec as libc::c_long,
    });
    let fd = dir.map_or(libc::AT_FDCWD, |d| d.as_raw_fd());
    // SAFETY: `name` is NUL-terminated and `ts` holds two timespecs.
    check(unsafe { libc::utimensat(fd, name.as_ptr(), ts.as_ptr(), flags) }).map(drop)
}

/// faccessat(2) on a path (a /proc/self/fd path for guest files).
pub fn access(path: &CStr, mode: libc::c_int) -> io::Result<()> {
    // SAFETY: `path` is NUL-terminated.
    check(unsafe { libc::faccessat(libc::AT_FDCWD, path.as_ptr(), mode, 0) }).map(drop)
}

/// getxattr(2) or, with `nofollow`, lgetxattr(2). Returns the value.
pub fn getxattr(path: &CStr, name: &CStr, nofollow: bool) -> io::Result<Vec<u8>> {
    let call = |buf: &mut [u8]| {
        let (ptr, len) = if buf.is_empty() {
            (std::ptr::null_mut(), 0)
        } else {
            (buf.as_mut_ptr().cast(), buf.len())
        };
        // SAFETY: the kernel writes at most `len` bytes at `ptr` (nothing when len is 0).
        let n = unsafe {
            if nofollow {
                libc::lgetxattr(path.as_ptr(), name.as_ptr(), ptr, len)
            } else {
                libc::getxattr(path.as_ptr(), name.as_ptr(), ptr, len)
            }
        };
        if n < 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(n as usize)
        }
    };
    sized_read(call)
}

/// listxattr(2) or llistxattr(2): the names, NUL-separated.
pub fn listxattr(path: &CStr, nofollow: bool) -> io::Result<Vec<u8>> {
    let call = |buf: &mut [u8]| {
        let (ptr, len) = if buf.is_empty() {
            (std::ptr::null_mut(), 0)
        } else {
            (buf.as_mut_ptr().cast(), buf.len())
        };
        // SAFETY: the kernel writes at most `len` bytes at `ptr` (nothing when len is 0).
        let n = unsafe {
            if nofollow {
                libc::llistxattr(path.as_ptr(), ptr, len)
            } else {
                libc::listxattr(path.as_ptr(), ptr, len)
            }
        };
        if n < 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(n as usize)
        }
    };
    sized_read(call)
}

/// Asks for the size, then reads; retries if the value grew in between.
fn sized_read(mut call: impl FnMut(&mut [u8]) -> io::Result<usize>) -> io::Result<Vec<u8>> {
    loop {
        let size = call(&mut [])?;
        let mut buf = vec![0u8; size];
        if size == 0 {
            return Ok(buf);
        }
        match call(&mut buf) {
            Ok(n) => {
                buf.truncate(n);
                return Ok(buf);
            }
            Err(e) if e.raw_os_error() == Some(libc::ERANGE) => continue,
            Err(e) => return Err(e),
        }
    }
}

/// setxattr(2) or lsetxattr(2).
pub fn setxattr(path: &CStr, name: &CStr, value: &[u8], nofollow: bool) -> io::Result<()> {
    // SAFETY: the strings are NUL-terminated and `value` is valid for `value.len()` bytes.
    check(unsafe {
        if nofollow {
            libc::lsetxattr(
                path.as_ptr(),
                name.as_ptr(),
                value.as_ptr().cast(),
                value.len(),
                0,
            )
        } else {
            libc::setxattr(
                path.as_ptr(),
                name.as_ptr(),
                value.as_ptr().cast(),
                value.len(),
                0,
            )
        }
    })
    .map(drop)
}

/// removexattr(2) or lremovexattr(2).
pub fn removexattr(path: &CStr, name: &CStr, nofollow: bool) -> io::Result<()> {
    // SAFETY: the strings are NUL-terminated.
    check(unsafe {
        if nofollow {
            libc::lremovexattr(path.as_ptr(), name.as_ptr())
        } else {
            libc::removexattr(path.as_ptr(), name.as_ptr())
        }
    })
    .map(drop)
}

/// Sends `signal` to every process of the process group `pgid`.
pub fn kill_group(pgid: libc::pid_t, signal: libc::c_int) -> io::Result<()> {
    // SAFETY: kill takes plain integers; a negative pid names a process group.
    check(unsafe { libc::kill(-pgid, signal) }).map(drop)
}

/// Raises the open-file limit to `want` (deep trees keep one descriptor per level).
pub fn raise_nofile_limit(want: u64) {
    let lim = libc::rlimit {
        rlim_cur: want as libc::rlim_t,
        rlim_max: want as libc::rlim_t,
    };
    // SAFETY: `lim` is a valid rlimit; failure leaves the old limit, which is fine.
    unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lim) };
}

/// Makes `cmd` chroot into `root` (and chdir to its `/`) in the child before exec.
pub fn chroot_on_exec(cmd: &mut std::process::Command, root: CString) {
    use std::os::unix::process::CommandExt;
    let slash = c"/";
    // SAFETY: the closure runs between fork and exec and only makes async-signal-safe
    // system calls (chroot, chdir) on strings allocated before the fork.
    unsafe {
        cmd.pre_exec(move || {
            if libc::chroot(root.as_ptr()) != 0 || libc::chdir(slash.as_ptr()) != 0 {
                return Err(io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

// ==== end of file API system calls ====
// ---- block devices (from <linux/fs.h> and <linux/blkpg.h>) ----

const BLKROGET: libc::c_ulong = 0x125e;
const BLKRRPART: libc::c_ulong = 0x125f;
const BLKSSZGET: libc::c_ulong = 0x1268;
const BLKPG: libc::c_ulong = 0x1269;
const BLKGETSIZE64: libc::c_ulong = 0x8008_1272;
const FITRIM: libc::c_ulong = 0xc018_5879;
const BLKPG_ADD_PARTITION: libc::c_int = 1;
const BLKPG_DEL_PARTITION: libc::c_int = 2;

/// BLKGETSIZE64: the size of a block device in bytes.
pub fn block_size64(file: &File) -> io::Result<u64> {
    let mut size: u64 = 0;
    // SAFETY: BLKGETSIZE64 writes one u64 through the pointer, which is valid.
    check(unsafe { libc::ioctl(file.as_raw_fd(), BLKGETSIZE64, &mut size as *mut u64) })?;
    Ok(size)
}

/// BLKSSZGET: the logical sector size in bytes.
pub fn block_sector_size(file: &File) -> io::Result<u32> {
    let mut size: libc::c_int = 0;
    // SAFETY: BLKSSZGET writes one int through the pointer, which is valid.
    check(unsafe { libc::ioctl(file.as_raw_fd(), BLKSSZGET, &mut size as *mut libc::c_int) })?;
    Ok(size as u32)
}

/// BLKROGET: whether the device is read-only.
pub fn block_read_only(file: &File) -> io::Result<bool> {
    let mut ro: libc::c_int = 0;
    // SAFETY: BLKROGET writes one int through the pointer, which is valid.
    check(unsafe { libc::ioctl(file.as_raw_fd(), BLKROGET, &mut ro as *mut libc::c_int) })?;
    Ok(ro != 0)
}

/// BLKRRPART: make the kernel re-read the partition table. `EBUSY` while a partition is in
/// use (mounted, an active PV); then [`block_add_partition`] and [`block_del_partition`]
/// change the others one by one.
pub fn block_reread_partitions(file: &File) -> io::Result<()> {
    // SAFETY: BLKRRPART takes no argument.
    check(unsafe { libc::ioctl(file.as_raw_fd(), BLKRRPART, 0) }).map(drop)
}

/// `struct blkpg_partition`.
#[repr(C)]
struct BlkpgPartition {
    start: libc::c_longlong,
    length: libc::c_longlong,
    pno: libc::c_int,
    devname: [libc::c_char; 64],
    volname: [libc::c_char; 64],
}

/// `struct blkpg_ioctl_arg`.
#[repr(C)]
struct BlkpgIoctlArg {
    op: libc::c_int,
    flags: libc::c_int,
    datalen: libc::c_int,
    data: *mut libc::c_void,
}

fn blkpg(file: &File, op: libc::c_int, pno: u32, start: u64, length: u64) -> io::Result<()> {
    let invalid = || io::Error::from_raw_os_error(libc::EINVAL);
    let mut part = BlkpgPartition {
        start: i64::try_from(start).map_err(|_| invalid())?,
        length: i64::try_from(length).map_err(|_| invalid())?,
        pno: libc::c_int::try_from(pno).map_err(|_| invalid())?,
        devname: [0; 64],
        volname: [0; 64],
    };
    let mut arg = BlkpgIoctlArg {
        op,
        flags: 0,
        datalen: std::mem::size_of::<BlkpgPartition>() as libc::c_int,
        data: (&mut part as *mut BlkpgPartition).cast(),
    };
    // SAFETY: `arg` points at a valid blkpg_partition of the size it states; both outlive
    // the call.
    check(unsafe { libc::ioctl(file.as_raw_fd(), BLKPG, &mut arg as *mut BlkpgIoctlArg) }).map(drop)
}

/// BLKPG_ADD_PARTITION: tell the kernel about partition `pno` (bytes).
pub fn block_add_partition(file: &File, pno: u32, start: u64, length: u64) -> io::Result<()> {
    blkpg(file, BLKPG_ADD_PARTITION, pno, start, length)
}

/// BLKPG_DEL_PARTITION: make the kernel forget partition `pno`.
pub fn block_del_partition(file: &File, pno: u32) -> io::Result<()> {
    blkpg(file, BLKPG_DEL_PARTITION, pno, 0, 0)
}

/// `struct fstrim_range`.
#[repr(C)]
struct FstrimRange {
    start: u64,
    len: u64,
    minlen: u64,
}

/// FITRIM on a mounted filesystem (any file of it): discards its unused blocks.
pub fn fitrim(dir: &File) -> io::Result<()> {
    let mut range = FstrimRange {
        start: 0,
        len: u64::MAX,
        minlen: 0,
    };
    // SAFETY: FITRIM reads and writes one fstrim_range through the pointer, which is valid.
    check(unsafe { libc::ioctl(dir.as_raw_fd(), FITRIM, &mut range as *mut FstrimRange) }).map(drop)
}

/// Gives the calling thread its own working directory (unshare(CLONE_FS)), so that
/// [`fchdir`] in it does not move the other request threads.
pub fn unshare_fs() -> io::Result<()> {
    // SAFETY: unshare with CLONE_FS only copies this thread's filesystem context.
    if unsafe { libc::unshare(libc::CLONE_FS) } != 0 {
        return Err(io::Error::last_os_error());
    }
    OWN_FS.with(|own| own.set(true));
    Ok(())
}

thread_local! {
    static OWN_FS: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Whether the calling thread has its own filesystem context ([`unshare_fs`]): its working
/// directory, root and umask are no longer the daemon's, so it must not serve another request.
pub fn has_own_fs() -> bool {
    OWN_FS.with(|own| own.get())
}

/// fchdir(2): makes `dir` the working directory (of this thread, after [`unshare_fs`]).
pub fn fchdir(dir: BorrowedFd<'_>) -> io::Result<()> {
    // SAFETY: fchdir on a descriptor we hold.
    if unsafe { libc::fchdir(dir.as_raw_fd()) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

// ==== block device settings and preallocation (guestfish's blockdev-* and fallocate) ====
const BLKROSET: libc::c_ulong = 0x125d;
const BLKRASET: libc::c_ulong = 0x1262;
const BLKBSZGET: libc::c_ulong = 0x8008_1270;

/// BLKBSZGET: the block size the kernel uses for the device's buffers.
pub fn block_bsz(file: &File) -> io::Result<i32> {
    let mut size: libc::c_int = 0;
    // SAFETY: BLKBSZGET writes one int through the pointer, which is valid (the kernel
    // writes an int despite the size_t in the ioctl number).
    check(unsafe { libc::ioctl(file.as_raw_fd(), BLKBSZGET, &mut size as *mut libc::c_int) })?;
    Ok(size)
}

/// BLKROSET: make the device read-only (or writable) for the kernel.
pub fn block_set_read_only(file: &File, read_only: bool) -> io::Result<()> {
    let ro: libc::c_int = read_only.into();
    // SAFETY: BLKROSET reads one int through the pointer, which is valid.
    check(unsafe { libc::ioctl(file.as_raw_fd(), BLKROSET, &ro as *const libc::c_int) }).map(drop)
}

/// BLKRASET: the readahead in 512-byte sectors (passed by value).
pub fn block_set_readahead(file: &File, sectors: libc::c_ulong) -> io::Result<()> {
    // SAFETY: BLKRASET takes its argument by value.
    check(unsafe { libc::ioctl(file.as_raw_fd(), BLKRASET, sectors) }).map(drop)
}

/// posix_fallocate(3) of the first `len` bytes.
pub fn fallocate(file: &File, len: i64) -> io::Result<()> {
    // SAFETY: the descriptor is valid for the call; posix_fallocate returns an errno.
    match unsafe { libc::posix_fallocate(file.as_raw_fd(), 0, len) } {
        0 => Ok(()),
        e => Err(io::Error::from_raw_os_error(e)),
    }
}

// ==== the appliance's network interface (ioctls on an AF_INET socket) ====

/// `struct ifreq`: the interface name, then a union whose members used here are a
/// `sockaddr` (addresses) or a `short` (flags).
#[repr(C)]
struct IfReq {
    name: [libc::c_char; libc::IFNAMSIZ],
    data: [u8; 24],
}

/// `struct rtentry` of <net/route.h> (not in the libc crate for glibc targets).
#[repr(C)]
struct RtEntry {
    pad1: libc::c_ulong,
    dst: libc::sockaddr,
    gateway: libc::sockaddr,
    genmask: libc::sockaddr,
    flags: libc::c_ushort,
    pad2: libc::c_short,
    pad3: libc::c_ulong,
    pad4: *mut libc::c_void,
    metric: libc::c_short,
    dev: *mut libc::c_char,
    mtu: libc::c_ulong,
    window: libc::c_ulong,
    irtt: libc::c_ushort,
}

fn inet_socket() -> io::Result<OwnedFd> {
    // SAFETY: socket(2) with constant arguments; the descriptor is owned at once.
    let fd =
        check(unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) })?;
    // SAFETY: `fd` was just returned by socket(2) and is owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

fn ifreq(name: &str) -> io::Result<IfReq> {
    let mut req = IfReq {
        name: [0; libc::IFNAMSIZ],
        data: [0; 24],
    };
    if name.len() >= libc::IFNAMSIZ || name.contains('\0') {
        return Err(io::Error::from_raw_os_error(libc::EINVAL));
    }
    for (d, s) in req.name.iter_mut().zip(name.bytes()) {
        *d = s as libc::c_char;
    }
    Ok(req)
}

fn sockaddr_in(addr: std::net::Ipv4Addr) -> libc::sockaddr {
    let sin = libc::sockaddr_in {
        sin_family: libc::AF_INET as libc::sa_family_t,
        sin_port: 0,
        sin_addr: libc::in_addr {
            s_addr: u32::from(addr).to_be(),
        },
        sin_zero: [0; 8],
    };
    // SAFETY: sockaddr_in and sockaddr have the same size (16 bytes) and any bit pattern is
    // a valid sockaddr.
    unsafe { std::mem::transmute::<libc::sockaddr_in, libc::sockaddr>(sin) }
}

fn sockaddr_bytes(sa: &libc::sockaddr) -> [u8; 16] {
    // SAFETY: sockaddr is 16 bytes of plain data.
    unsafe { std::mem::transmute_copy::<libc::sockaddr, [u8; 16]>(sa) }
}

fn if_ioctl(sock: &OwnedFd, request: libc::c_ulong, req: &mut IfReq) -> io::Result<()> {
    // SAFETY: the SIOC*IF* requests read or write one ifreq through the pointer, which is
    // valid and of the kernel's layout.
    check(unsafe { libc::ioctl(sock.as_raw_fd(), request, req as *mut IfReq) }).map(drop)
}

/// Sets an interface up (IFF_UP), keeping its other flags.
pub fn interface_up(name: &str) -> io::Result<()> {
    let sock = inet_socket()?;
    let mut req = ifreq(name)?;
    if_ioctl(&sock, libc::SIOCGIFFLAGS, &mut req)?;
    let flags = i16::from_ne_bytes([req.data[0], req.data[1]]) | libc::IFF_UP as i16;
    req.data[..2].copy_from_slice(&flags.to_ne_bytes());
    if_ioctl(&sock, libc::SIOCSIFFLAGS, &mut req)
}

/// Gives an interface an IPv4 address and netmask.
pub fn interface_address(
    name: &str,
    addr: std::net::Ipv4Addr,
    mask: std::net::Ipv4Addr,
) -> io::Result<()> {
    let sock = inet_socket()?;
    let mut req = ifreq(name)?;
    req.data[..16].copy_from_slice(&sockaddr_bytes(&sockaddr_in(addr)));
    if_ioctl(&sock, libc::SIOCSIFADDR, &mut req)?;
    let mut req = ifreq(name)?;
    req.data[..16].copy_from_slice(&sockaddr_bytes(&sockaddr_in(mask)));
    if_ioctl(&sock, libc::SIOCSIFNETMASK, &mut req)
}

/// Adds the default IPv4 route through `gateway`.
pub fn default_route(gateway: std::net::Ipv4Addr) -> io::Result<()> {
    let sock = inet_socket()?;
    let any = std::net::Ipv4Addr::UNSPECIFIED;
    let mut rt = RtEntry {
        pad1: 0,
        dst: sockaddr_in(any),
        gateway: sockaddr_in(gateway),
        genmask: sockaddr_in(any),
        flags: 0x1 | 0x2, // RTF_UP | RTF_GATEWAY
        pad2: 0,
        pad3: 0,
        pad4: std::ptr::null_mut(),
        metric: 0,
        dev: std::ptr::null_mut(),
        mtu: 0,
        window: 0,
        irtt: 0,
    };
    // SAFETY: SIOCADDRT reads one rtentry through the pointer, which is valid; its `dev`
    // pointer is null (the kernel picks the interface from the gateway).
    check(unsafe { libc::ioctl(sock.as_raw_fd(), libc::SIOCADDRT, &mut rt as *mut RtEntry) })
        .map(drop)
}

/// RNDADDENTROPY (`_IOW('R', 0x03, int[2])`) of <linux/random.h>, which libc does not define.
const RNDADDENTROPY: libc::c_ulong = 0x4008_5203;
/// RNDRESEEDCRNG (`_IO('R', 0x07)`).
const RNDRESEEDCRNG: libc::c_ulong = 0x5207;

/// Mixes `bytes` into the kernel's input pool, credited as entropy (RNDADDENTROPY).
pub fn add_entropy(random: &File, bytes: &[u8]) -> io::Result<()> {
    // struct rand_pool_info { int entropy_count; int buf_size; __u32 buf[]; }
    let mut info = Vec::with_capacity(8 + bytes.len());
    let bits =
        i32::try_from(bytes.len() * 8).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
    info.extend_from_slice(&bits.to_ne_bytes());
    info.extend_from_slice(&(bytes.len() as i32).to_ne_bytes());
    info.extend_from_slice(bytes);
    info.resize(info.len().next_multiple_of(4), 0);
    // SAFETY: `info` is a rand_pool_info whose buffer holds `buf_size` bytes; the kernel
    // only reads it.
    check(unsafe { libc::ioctl(random.as_raw_fd(), RNDADDENTROPY, info.as_ptr()) }).map(drop)
}

/// Makes the kernel's random generator take a new key from its pool now (RNDRESEEDCRNG).
pub fn reseed_crng(random: &File) -> io::Result<()> {
    // SAFETY: the request takes no argument.
    check(unsafe { libc::ioctl(random.as_raw_fd(), RNDRESEEDCRNG) }).map(drop)
}

/// Sets CLOCK_REALTIME.
pub fn set_realtime(secs: i64, nanos: u32) -> io::Result<()> {
    let ts = libc::timespec {
        tv_sec: secs as libc::time_t,
        tv_nsec: nanos as libc::c_long,
    };
    // SAFETY: `ts` is a valid timespec.
    check(unsafe { libc::clock_settime(libc::CLOCK_REALTIME, &ts) }).map(drop)
}

// ==== discard (guestfish's blkdiscard, blkdiscardzeroes) ====
const BLKDISCARD: libc::c_ulong = 0x1277;
const BLKDISCARDZEROES: libc::c_ulong = 0x127c;

/// BLKDISCARD: discards `len` bytes from `offset`.
pub fn block_discard(file: &File, offset: u64, len: u64) -> io::Result<()> {
    let range: [u64; 2] = [offset, len];
    // SAFETY: BLKDISCARD reads two u64s (offset, length) through the pointer, which is valid.
    check(unsafe { libc::ioctl(file.as_raw_fd(), BLKDISCARD, range.as_ptr()) }).map(drop)
}

/// BLKDISCARDZEROES: whether discarded blocks read back as zeroes.
pub fn block_discard_zeroes(file: &File) -> io::Result<bool> {
    let mut v: libc::c_uint = 0;
    // SAFETY: BLKDISCARDZEROES writes one unsigned int through the pointer, which is valid.
    check(unsafe {
        libc::ioctl(
            file.as_raw_fd(),
            BLKDISCARDZEROES,
            &mut v as *mut libc::c_uint,
        )
    })?;
    Ok(v != 0)
}

/// The loop device ioctls (linux/loop.h).
const LOOP_SET_FD: libc::c_ulong = 0x4C00;
const LOOP_CLR_FD: libc::c_ulong = 0x4C01;
const LOOP_SET_STATUS64: libc::c_ulong = 0x4C04;
const LOOP_CTL_GET_FREE: libc::c_ulong = 0x4C82;
const LO_FLAGS_READ_ONLY: u32 = 1;
const LO_FLAGS_AUTOCLEAR: u32 = 4;

/// linux/loop.h's `struct loop_info64`.
#[repr(C)]
struct LoopInfo64 {
    lo_device: u64,
    lo_inode: u64,
    lo_rdevice: u64,
    lo_offset: u64,
    lo_sizelimit: u64,
    lo_number: u32,
    lo_encrypt_type: u32,
    lo_encrypt_key_size: u32,
    lo_flags: u32,
    lo_file_name: [u8; 64],
    lo_crypt_name: [u8; 64],
    lo_encrypt_key: [u8; 32],
    lo_init: [u64; 2],
}

/// Attaches `file` to a free loop device and returns the device's path with the device
/// open: the device lets go of the file by itself when its last user closes it, so keep
/// the returned file until the mount made on it holds the device.
pub fn loop_attach(
    file: BorrowedFd<'_>,
    read_only: bool,
) -> io::Result<(std::path::PathBuf, File)> {
    let control = File::options()
        .read(true)
        .write(true)
        .open("/dev/loop-control")?;
    // SAFETY: LOOP_CTL_GET_FREE takes no argument and returns a device number.
    let n = check(unsafe { libc::ioctl(control.as_raw_fd(), LOOP_CTL_GET_FREE as _) })?;
    let path = std::path::PathBuf::from(format!("/dev/loop{n}"));
    let dev = File::options().read(true).write(!read_only).open(&path)?;
    // SAFETY: LOOP_SET_FD takes the backing file's descriptor, valid for the call.
    check(unsafe { libc::ioctl(dev.as_raw_fd(), LOOP_SET_FD as _, file.as_raw_fd()) })?;
    let mut info = LoopInfo64 {
        lo_device: 0,
        lo_inode: 0,
        lo_rdevice: 0,
        lo_offset: 0,
        lo_sizelimit: 0,
        lo_number: 0,
        lo_encrypt_type: 0,
        lo_encrypt_key_size: 0,
        lo_flags: LO_FLAGS_AUTOCLEAR | if read_only { LO_FLAGS_READ_ONLY } else { 0 },
        lo_file_name: [0; 64],
        lo_crypt_name: [0; 64],
        lo_encrypt_key: [0; 32],
        lo_init: [0; 2],
    };
    // SAFETY: `info` is a valid loop_info64 that outlives the call.
    let set = check(unsafe {
        libc::ioctl(
            dev.as_raw_fd(),
            LOOP_SET_STATUS64 as _,
            &mut info as *mut LoopInfo64,
        )
    });
    if let Err(e) = set {
        // SAFETY: LOOP_CLR_FD takes no argument.
        unsafe { libc::ioctl(dev.as_raw_fd(), LOOP_CLR_FD as _) };
        return Err(e);
    }
    Ok((path, dev))
}

/// The device-mapper ioctls (`linux/dm-ioctl.h`) with which the daemon creates a dm-crypt
/// mapping itself, without dmsetup or cryptsetup in the appliance.
pub mod dm {
    use super::check;
    use std::fs::File;
    use std::io;
    use std::os::fd::AsRawFd;

    /// `sizeof(struct dm_ioctl)`.
    const HDR: usize = 312;
    const NAME_LEN: usize = 128;
    const UUID_LEN: usize = 129;
    /// `sizeof(struct dm_target_spec)`.
    const SPEC: usize = 40;
    const READONLY_FLAG: u32 = 1;
    /// `_IOWR(0xfd, nr, struct dm_ioctl)`.
    const fn iowr(nr: u32) -> libc::c_ulong {
        ((3u32 << 30) | ((HDR as u32) << 16) | (0xfd << 8) | nr) as libc::c_ulong
    }
    const DEV_CREATE: libc::c_ulong = iowr(3);
    const DEV_REMOVE: libc::c_ulong = iowr(4);
    const DEV_SUSPEND: libc::c_ulong = iowr(6);
    const TABLE_LOAD: libc::c_ulong = iowr(9);

    /// A `struct dm_ioctl` for `name`, with room for `extra` bytes of data after it.
    fn header(name: &str, uuid: &str, flags: u32, extra: usize) -> io::Result<Vec<u8>> {
        if name.is_empty() || name.len() >= NAME_LEN || uuid.len() >= UUID_LEN {
            return Err(io::Error::from_raw_os_error(libc::EINVAL));
        }
        let mut b = vec![0u8; HDR + extra];
        for (i, v) in [4u32, 0, 0].iter().enumerate() {
            b[4 * i..4 * i + 4].copy_from_slice(&v.to_ne_bytes());
        }
        b[12..16].copy_from_slice(&((HDR + extra) as u32).to_ne_bytes());
        b[16..20].copy_from_slice(&(HDR as u32).to_ne_bytes());
        b[28..32].copy_from_slice(&flags.to_ne_bytes());
        b[48..48 + name.len()].copy_from_slice(name.as_bytes());
        b[176..176 + uuid.len()].copy_from_slice(uuid.as_bytes());
        Ok(b)
    }

    fn ioctl(control: &File, request: libc::c_ulong, buf: &mut [u8]) -> io::Result<()> {
        // SAFETY: `buf` is a `struct dm_ioctl` whose `data_size` is the buffer's length, so
        // the kernel reads and writes within it.
        check(unsafe { libc::ioctl(control.as_raw_fd(), request as _, buf.as_mut_ptr()) }).map(drop)
    }

    /// Creates device `name` (device-mapper UUID `uuid`) with one target of `sectors`
    /// 512-byte sectors, of type `target` with `params`, and activates it. Returns its
    /// device number. The buffers that held `params` are zeroed (they may hold a key).
    pub fn create(
        name: &str,
        uuid: &str,
        target: &str,
        sectors: u64,
        params: &[u8],
        readonly: bool,
    ) -> io::Result<u64> {
        let control = File::options()
            .read(true)
            .write(true)
            .open("/dev/mapper/control")?;
        let mut buf = header(name, uuid, 0, 0)?;
        ioctl(&control, DEV_CREATE, &mut buf)?;
        let mut dev = [0u8; 8];
        dev.copy_from_slice(&buf[40..48]);
        let dev = u64::from_ne_bytes(dev);
        let loaded = (|| {
            let flags = if readonly { READONLY_FLAG } else { 0 };
            let data = (SPEC + params.len() + 1).div_ceil(8) * 8;
            let mut buf = header(name, "", flags, data)?;
            buf[20..24].copy_from_slice(&1u32.to_ne_bytes());
            let spec = &mut buf[HDR..];
            spec[8..16].copy_from_slice(&sectors.to_ne_bytes());
            spec[20..24].copy_from_slice(&(data as u32).to_ne_bytes());
            if target.len() >= 16 {
                return Err(io::Error::from_raw_os_error(libc::EINVAL));
            }
            spec[24..24 + target.len()].copy_from_slice(target.as_bytes());
            spec[SPEC..SPEC + params.len()].copy_from_slice(params);
            let r = ioctl(&control, TABLE_LOAD, &mut buf);
            buf.fill(0);
            std::hint::black_box(&buf);
            r?;
            // DM_DEV_SUSPEND without DM_SUSPEND_FLAG resumes: the table goes live.
            let mut buf = header(name, "", 0, 0)?;
            ioctl(&control, DEV_SUSPEND, &mut buf)
        })();
        if let Err(e) = loaded {
            let _ = remove_with(&control, name);
            return Err(e);
        }
        Ok(dev)
    }

    fn remove_with(control: &File, name: &str) -> io::Result<()> {
        let mut buf = header(name, "", 0, 0)?;
        ioctl(control, DEV_REMOVE, &mut buf)
    }

    /// Removes device `name`.
    pub fn remove(name: &str) -> io::Result<()> {
        let control = File::options()
            .read(true)
            .write(true)
            .open("/dev/mapper/control")?;
        remove_with(&control, name)
    }
}
