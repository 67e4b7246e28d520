//! Copies inside the guest: `cp` (one file, contents and mode), `cp_r` (a tree, symlinks as
//! symlinks), `cp_a` (a tree with owners, modes, times and extended attributes), and `mv`
//! (a rename, or a copy and remove across filesystems).
//!
//! Sources are read through [`walk`], which never follows a symlink; destinations are
//! created with `*at()` calls on descriptors of the destination tree, with `O_NOFOLLOW`.

use crate::call::Call;
use crate::fs::walk::{self, Visit, Visitor};
use crate::{fs::attrs, fs::dirs, fs::fileops, fs::guestfs, sys};
use guestwright_protocol::GuestPath;
use std::ffi::{CStr, CString};
use std::fs::File;
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

/// What to copy and keep.
#[derive(Debug, Clone, Copy)]
pub struct CopyHow {
    /// Copy directories and everything in them.
    pub recursive: bool,
    /// Keep owner, group, mode, times and extended attributes.
    pub preserve: bool,
}

const ONE: u64 = sys::RESOLVE_BENEATH | sys::RESOLVE_NO_SYMLINKS | sys::RESOLVE_NO_MAGICLINKS;

fn kind(st: &libc::stat) -> libc::mode_t {
    st.st_mode & libc::S_IFMT
}

fn create_file(dir: BorrowedFd<'_>, name: &CStr, mode: u32) -> io::Result<File> {
    sys::openat2(
        dir,
        name,
        libc::O_WRONLY | libc::O_CREAT | libc::O_TRUNC | libc::O_NOFOLLOW,
        mode,
        ONE,
    )
    .map(File::from)
}

/// Copies one entry; returns the new directory's descriptor for a directory.
fn copy_one(
    sdir: BorrowedFd<'_>,
    sname: &CStr,
    st: &libc::stat,
    ddir: BorrowedFd<'_>,
    dname: &CStr,
    how: CopyHow,
) -> io::Result<Option<OwnedFd>> {
    let perm = st.st_mode & 0o7777;
    match kind(st) {
        libc::S_IFREG => {
            let mut src = File::from(sys::openat2(
                sdir,
                sname,
                libc::O_RDONLY | libc::O_NOFOLLOW | libc::O_NONBLOCK,
                0,
                ONE,
            )?);
            let mut dst = create_file(ddir, dname, perm & 0o777)?;
            io::copy(&mut src, &mut dst)?;
        }
        libc::S_IFDIR => {
            match sys::mkdirat(ddir, dname, perm & 0o777 | 0o700) {
                Err(e) if e.raw_os_error() == Some(libc::EEXIST) => {}
                other => other?,
            }
            return walk::open_dir_at(ddir, dname).map(Some);
        }
        libc::S_IFLNK => {
            let target = sys::cstring(&sys::readlinkat(sdir, sname)?)?;
            match sys::symlinkat(&target, ddir, dname) {
                Err(e) if e.raw_os_error() == Some(libc::EEXIST) => {
                    sys::unlinkat(ddir, dname, 0)?;
                    sys::symlinkat(&target, ddir, dname)?;
                }
                other => other?,
            }
        }
        _ => sys::mknodat(ddir, dname, st.st_mode, st.st_rdev)?,
    }
    if how.preserve {
        keep_attributes(sdir, sname, st, ddir, dname)?;
    }
    Ok(None)
}

/// Owner, extended attributes, mode, times: in that order, since chown clears setuid bits
/// and every change but the times moves ctime only.
fn keep_attributes(
    sdir: BorrowedFd<'_>,
    sname: &CStr,
    st: &libc::stat,
    ddir: BorrowedFd<'_>,
    dname: &CStr,
) -> io::Result<()> {
    sys::fchownat(ddir, dname, st.st_uid, st.st_gid, libc::AT_SYMLINK_NOFOLLOW)?;
    attrs::copy_xattrs_at(sdir, &CString::from(sname), ddir, &CString::from(dname))?;
    if kind(st) != libc::S_IFLNK {
        let fd = sys::openat2(ddir, dname, libc::O_PATH | libc::O_NOFOLLOW, 0, ONE)?;
        attrs::chmod_fd(fd.as_fd(), st.st_mode & 0o7777)?;
    }
    sys::utimensat(
        Some(ddir),
        dname,
        [
            (st.st_atime, st.st_atime_nsec),
            (st.st_mtime, st.st_mtime_nsec),
        ],
        libc::AT_SYMLINK_NOFOLLOW,
    )
}

struct TreeCopy<'a> {
    dest: Vec<OwnedFd>,
    how: CopyHow,
    call: &'a Call,
}

impl Visitor for TreeCopy<'_> {
    fn enter(&mut self, v: &Visit<'_>) -> io::Result<bool> {
        self.call.check_cancel()?;
        let top = self.dest.last().expect("the root is on the stack");
        match copy_one(v.dir, v.name, v.stat, top.as_fd(), v.name, self.how)? {
            Some(fd) => {
                self.dest.push(fd);
                Ok(true)
            }
            None => Ok(false),
        }
    }
    fn leave(&mut self, v: &Visit<'_>, _: BorrowedFd<'_>) -> io::Result<()> {
        self.dest.pop();
        if self.how.preserve {
            let parent = self.dest.last().expect("the root is on the stack");
            keep_attributes(v.dir, v.name, v.stat, parent.as_fd(), v.name)?;
        }
        Ok(())
    }
}

/// Copies `src` to `dest` (into it, when `dest` is a directory).
pub fn cp(call: &Call, src: &GuestPath, dest: &GuestPath, how: CopyHow) -> io::Result<()> {
    let dest = fileops::into_dir(src, dest)?;
    let (sdir, sname) = guestfs::parent(src)?;
    let (ddir, dname) = guestfs::parent(&dest)?;
    if !how.recursive {
        // Plain cp follows a symlink to its file.
        let st = fileops::stat_raw(src)?;
        if walk::is_dir(&st) {
            return Err(io::Error::from_raw_os_error(libc::EISDIR));
        }
        let mut from = crate::fs::files::open_regular(src)?;
        let mut to = create_file(ddir.as_fd(), &dname, st.st_mode & 0o777)?;
        io::copy(&mut from, &mut to)?;
        return Ok(());
    }
    let st = walk::lstat_at(sdir.as_fd(), &sname)?;
    if walk::is_dir(&st) {
        let (s, d) = (fileops::realpath(src)?, dest.as_bytes());
        let inside = d.starts_with(s.as_bytes())
            && (s.as_bytes() == b"/" || d.get(s.as_bytes().len()) == Some(&b'/'));
        if inside || fileops::realpath(&GuestPath::from(d)).is_ok_and(|r| r == s) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("cannot copy {src} into itself ({dest})"),
            ));
        }
    }
    let Some(root) = copy_one(sdir.as_fd(), &sname, &st, ddir.as_fd(), &dname, how)? else {
        return Ok(());
    };
    let src_dir = walk::open_dir_at(sdir.as_fd(), &sname)?;
    let mut v = TreeCopy {
        dest: vec![root],
        how,
        call,
    };
    walk::walk(src_dir.as_fd(), &mut v)?;
    if how.preserve {
        keep_attributes(sdir.as_fd(), &sname, &st, ddir.as_fd(), &dname)?;
    }
    Ok(())
}

/// `mv`: renames `src` to `dest` (into it when `dest` is a directory); across filesystems,
/// copies with everything kept and then removes the source.
pub fn mv(call: &Call, src: &GuestPath, dest: &GuestPath) -> io::Result<()> {
    let dest = fileops::into_dir(src, dest)?;
    match fileops::rename(src, &dest, false, false) {
        Err(e) if e.raw_os_error() == Some(libc::EXDEV) => {
            cp(
                call,
                src,
                &dest,
                CopyHow {
                    recursive: true,
                    preserve: true,
                },
            )?;
            dirs::rm_rf(call, src)
        }
        other => other,
    }
}
