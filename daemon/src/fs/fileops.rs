//! Single files: tests (`exists`, `is_*`), metadata (`stat`, `lstat`, `statvfs`, `readlink`,
//! `realpath`), names (`mv`, `rename`, `ln*`, `mknod`, `touch`, `truncate`, `access`) and
//! contents (`read_lines`, `pread`, `pwrite`, `write_append`).
//!
//! Operations that act on the last component itself (lstat, readlink, rm, ln, rename) use the
//! `*at()` calls on the parent directory from [`guestfs::parent`] and never follow it. Those
//! that change a file in place (`pwrite`, `write_append`, `truncate`) open it with
//! [`guestfs::open_last`]: a symbolic link there is refused, never written through. Whole-file
//! writes are in [`crate::fs::replace`].

use crate::fs::files::{self, READ_FILE_MAX};
use crate::fs::walk;
use crate::{fs::guestfs, sys};
use guestwright_protocol::*;
use std::ffi::CString;
use std::fs::File;
use std::io::{self, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::fs::FileExt;

fn is_root(path: &GuestPath) -> io::Result<bool> {
    Ok(guestfs::relative(path)?.as_bytes() == b".")
}

fn not_found(e: &io::Error) -> bool {
    matches!(e.raw_os_error(), Some(libc::ENOENT) | Some(libc::ENOTDIR))
}

/// `stat` following symlinks (inside the guest).
pub fn stat_raw(path: &GuestPath) -> io::Result<libc::stat> {
    let fd = guestfs::open(path, libc::O_PATH, 0)?;
    walk::fstat(fd.as_fd())
}

/// `lstat`: the last component is not followed.
pub fn lstat_raw(path: &GuestPath) -> io::Result<libc::stat> {
    if is_root(path)? {
        return stat_raw(path);
    }
    let (dir, name) = guestfs::parent(path)?;
    walk::lstat_at(dir.as_fd(), &name)
}

/// `stat(2)` of a guest path, following symlinks inside the guest.
pub fn stat(path: &GuestPath) -> io::Result<Stat> {
    Ok(walk::to_stat(&stat_raw(path)?))
}

/// `lstat(2)` of a guest path.
pub fn lstat(path: &GuestPath) -> io::Result<Stat> {
    Ok(walk::to_stat(&lstat_raw(path)?))
}

/// `statvfs(3)` of the filesystem holding `path`.
pub fn statvfs(path: &GuestPath) -> io::Result<StatVfs> {
    let fd = guestfs::open(path, libc::O_PATH, 0)?;
    let s = sys::fstatvfs(fd.as_fd())?;
    Ok(StatVfs {
        bsize: s.f_bsize,
        frsize: s.f_frsize,
        blocks: s.f_blocks,
        bfree: s.f_bfree,
        bavail: s.f_bavail,
        files: s.f_files,
        ffree: s.f_ffree,
        favail: s.f_favail,
        fsid: s.f_fsid,
        flag: s.f_flag,
        namemax: s.f_namemax,
    })
}

/// Whether `path` has the kind `want`; a missing path is `false`, not an error.
pub fn is_kind(path: &GuestPath, want: FileKind, follow: bool) -> io::Result<bool> {
    let st = if follow {
        stat_raw(path)
    } else {
        lstat_raw(path)
    };
    match st {
        Ok(st) => Ok(FileKind::from_mode(st.st_mode) == want),
        Err(e) if not_found(&e) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Whether anything exists at `path` (following symlinks, like access(F_OK)).
pub fn exists(path: &GuestPath) -> io::Result<bool> {
    match stat_raw(path) {
        Ok(_) => Ok(true),
        Err(e) if not_found(&e) => Ok(false),
        Err(e) => Err(e),
    }
}

/// The target of a symlink, as stored.
pub fn readlink(path: &GuestPath) -> io::Result<GuestPath> {
    let (dir, name) = guestfs::parent(path)?;
    Ok(GuestPath::from(sys::readlinkat(dir.as_fd(), &name)?))
}

/// The canonical path of `path` after resolving every symlink inside the guest.
pub fn realpath(path: &GuestPath) -> io::Result<GuestPath> {
    let fd = guestfs::open(path, libc::O_PATH, 0)?;
    let real = guestfs::real_path(&fd)?;
    guestfs::to_guest(&real).ok_or_else(|| io::Error::from_raw_os_error(libc::EXDEV))
}

/// renameat2(2) between guest paths; `noreplace` fails with EEXIST instead of replacing,
/// `exchange` swaps the two atomically.
pub fn rename(
    src: &GuestPath,
    dest: &GuestPath,
    noreplace: bool,
    exchange: bool,
) -> io::Result<()> {
    let (sdir, sname) = guestfs::parent(src)?;
    let (ddir, dname) = guestfs::parent(dest)?;
    let mut flags = 0;
    if noreplace {
        flags |= libc::RENAME_NOREPLACE;
    }
    if exchange {
        flags |= libc::RENAME_EXCHANGE;
    }
    sys::renameat2(sdir.as_fd(), &sname, ddir.as_fd(), &dname, flags)
}

/// `dest`, or `dest/basename(src)` when `dest` is an existing directory (like mv and cp).
pub fn into_dir(src: &GuestPath, dest: &GuestPath) -> io::Result<GuestPath> {
    match stat_raw(dest) {
        Ok(st) if walk::is_dir(&st) => {
            let (_, name) = guestfs::parent(src)?;
            Ok(dest.join(name.as_bytes()))
        }
        _ => Ok(dest.clone()),
    }
}

/// Creates `path` if missing and sets its times to now (regular files only).
pub fn touch(path: &GuestPath) -> io::Result<()> {
    // Regular files only, as guestfs's touch: a symbolic link there is refused (ELOOP,
    // naming its target), never followed, so a dangling link cannot create its target.
    let fd = guestfs::open_last(
        path,
        libc::O_WRONLY | libc::O_CREAT | libc::O_NONBLOCK | libc::O_NOCTTY,
        0o666,
        "touch",
    )?;
    let fd = OwnedFd::from(regular(File::from(fd), path)?);
    let proc = sys::cstring(sys::fd_path(fd.as_fd()).as_os_str().as_encoded_bytes())?;
    sys::utimensat(None, &proc, [(0, libc::UTIME_NOW), (0, libc::UTIME_NOW)], 0)
}

/// Sets the size of an existing regular file, extending with zeros or cutting (a symbolic
/// link there is refused).
pub fn truncate(path: &GuestPath, size: u64) -> io::Result<()> {
    if is_root(path)? {
        return Err(io::Error::from_raw_os_error(libc::EISDIR));
    }
    let fd = guestfs::open_last(
        path,
        libc::O_WRONLY | libc::O_NONBLOCK | libc::O_NOCTTY,
        0,
        "truncate",
    )?;
    let file = regular(File::from(fd), path)?;
    file.set_len(size)
}

fn regular(file: File, path: &GuestPath) -> io::Result<File> {
    let kind = file.metadata()?.file_type();
    if kind.is_dir() {
        return Err(io::Error::from_raw_os_error(libc::EISDIR));
    }
    if !kind.is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{path}: not a regular file"),
        ));
    }
    Ok(file)
}

/// Removes a non-directory entry if there is one (for the `-f` forms of ln).
fn unlink_existing(dir: &OwnedFd, name: &CString) -> io::Result<()> {
    match sys::unlinkat(dir.as_fd(), name, 0) {
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Ok(()),
        other => other,
    }
}

/// `ln`: a hard link `linkname` to `target` (a symlink target is linked, not followed).
pub fn ln(target: &GuestPath, linkname: &GuestPath, force: bool) -> io::Result<()> {
    let (tdir, tname) = guestfs::parent(target)?;
    let (ldir, lname) = guestfs::parent(linkname)?;
    if force {
        unlink_existing(&ldir, &lname)?;
    }
    sys::linkat(tdir.as_fd(), &tname, ldir.as_fd(), &lname, 0)
}

/// `ln -s`: a symlink `linkname` holding `target` as given (it may be relative).
pub fn ln_s(target: &LinkTarget, linkname: &GuestPath, force: bool) -> io::Result<()> {
    if target.as_bytes().is_empty() {
        return Err(io::Error::from_raw_os_error(libc::ENOENT));
    }
    let t = sys::cstring(target.as_bytes())?;
    let (ldir, lname) = guestfs::parent(linkname)?;
    if force {
        unlink_existing(&ldir, &lname)?;
    }
    sys::symlinkat(&t, ldir.as_fd(), &lname)
}

/// `mknod`: `mode` may carry the file type bits (S_IFCHR, S_IFBLK, S_IFIFO, S_IFSOCK); with
/// none it makes a regular file.
pub fn mknod(mode: u32, major: u32, minor: u32, path: &GuestPath) -> io::Result<()> {
    let (dir, name) = guestfs::parent(path)?;
    let dev = if mode & libc::S_IFMT == libc::S_IFCHR || mode & libc::S_IFMT == libc::S_IFBLK {
        libc::makedev(major, minor)
    } else {
        0
    };
    sys::mknodat(dir.as_fd(), &name, mode, dev)
}

/// access(2): whether the daemon (root) may read, write or execute `path` (`mode` is a
/// mask of R_OK=4, W_OK=2, X_OK=1, or F_OK=0). EROFS tells a read-only mount.
pub fn access(path: &GuestPath, mode: i32) -> io::Result<()> {
    if !(0..=7).contains(&mode) {
        return Err(io::Error::from_raw_os_error(libc::EINVAL));
    }
    let fd = guestfs::open(path, libc::O_PATH, 0)?;
    let proc = sys::cstring(sys::fd_path(fd.as_fd()).as_os_str().as_encoded_bytes())?;
    sys::access(&proc, mode)
}

/// The lines of a text file of at most 4 MiB, without `\n` or `\r\n`.
pub fn read_lines(path: &GuestPath) -> io::Result<Vec<Line>> {
    let data = files::read_file(path)?.0;
    let mut lines: Vec<Line> = data
        .split(|&b| b == b'\n')
        .map(|l| Line(l.strip_suffix(b"\r").unwrap_or(l).to_vec()))
        .collect();
    if data.is_empty() || data.ends_with(b"\n") {
        lines.pop();
    }
    Ok(lines)
}

/// Up to `count` bytes at `offset` (fewer at the end of the file). `count` is at most 4 MiB.
pub fn pread(path: &GuestPath, count: u64, offset: u64) -> io::Result<Data> {
    if count > READ_FILE_MAX {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "pread of {count} bytes: at most {READ_FILE_MAX} per call; use download_offset"
            ),
        ));
    }
    let file = files::open_regular(path)?;
    read_at(&file, count as usize, offset).map(Data)
}

/// Reads up to `count` bytes at `offset`, stopping only at the end of the file.
pub fn read_at(file: &File, count: usize, offset: u64) -> io::Result<Vec<u8>> {
    let mut buf = vec![0u8; count];
    let mut done = 0;
    while done < count {
        match file.read_at(&mut buf[done..], offset + done as u64) {
            Ok(0) => break,
            Ok(n) => done += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    buf.truncate(done);
    Ok(buf)
}

/// Writes `content` at `offset` of an existing regular file; returns the bytes written (a
/// symbolic link there is refused).
pub fn pwrite(path: &GuestPath, content: &[u8], offset: u64) -> io::Result<u64> {
    let fd = guestfs::open_last(
        path,
        libc::O_WRONLY | libc::O_NONBLOCK | libc::O_NOCTTY,
        0,
        "write into",
    )?;
    let file = regular(File::from(fd), path)?;
    file.write_all_at(content, offset)?;
    Ok(content.len() as u64)
}

/// Appends `content` to a file, creating it (mode 0644) if missing; on disk on return (a
/// symbolic link there is refused).
pub fn write_append(path: &GuestPath, content: &[u8]) -> io::Result<()> {
    let fd = guestfs::open_last(
        path,
        libc::O_WRONLY | libc::O_APPEND | libc::O_CREAT | libc::O_NONBLOCK | libc::O_NOCTTY,
        0o644,
        "append to",
    )?;
    let mut file = regular(File::from(fd), path)?;
    file.write_all(content)?;
    file.sync_all()
}
