//! Whole-file writes: `write_file`, `replace_file` and `upload` all come here. The content
//! goes to a new file in the same directory, which takes the old file's owner, group, mode
//! and extended attributes (SELinux label, ACLs), is flushed, and is renamed over the old
//! name; then the directory is flushed. A reader sees the old file or the new one, never a
//! mix, and a failed write leaves the old file as it was.
//!
//! The new file is made with `O_TMPFILE` where the filesystem supports it (ext4, xfs,
//! btrfs, tmpfs): it has no name until it is complete and flushed, then gets a temporary
//! name just before the rename, so a process killed at any point leaves at most that one
//! name for the instant between the two calls. Elsewhere (vfat) it is a named temporary
//! file from the start, removed on failure.
//!
//! The rule for symbolic links lives here: the name written is the entry itself. A symbolic
//! link at the last component is replaced by the new file (mode 0644 like any new file,
//! with the link's owner and group), as `sed -i` or Augeas replace it; what it points to is
//! never opened, read or written, wherever it points (another file, a directory, outside the
//! guest, nowhere, itself). Operations that change a file in place use
//! [`guestfs::open_last`], which refuses a link instead.

use crate::{fs::attrs, fs::guestfs, fs::walk, sys};
use guestwright_protocol::GuestPath;
use std::ffi::CString;
use std::fs::File;
use std::io::{self, Write};
use std::os::fd::{AsFd, OwnedFd};

/// Whether `path` can only name a directory: `/`, or a last component `.` or `..`. Writing
/// there is EISDIR, as `open(2)` says for guestfish's daemon (`upload FILE /`), not a
/// complaint about the name.
fn names_directory(path: &GuestPath) -> bool {
    let last = path
        .as_bytes()
        .split(|&b| b == b'/')
        .rfind(|c| !c.is_empty());
    matches!(last, None | Some(b".") | Some(b".."))
}

/// Mode of a file that did not exist (or was a symbolic link) before.
const NEW_FILE_MODE: u32 = 0o644;

/// What is at the name being replaced.
enum Old {
    /// Nothing.
    Missing,
    /// A symbolic link, replaced by the new file; its owner and group.
    Link { uid: u32, gid: u32 },
    /// A regular file, whose attributes the new file takes.
    File { fd: OwnedFd, st: libc::stat },
}

/// A replacement under way: write into [`Replacement::file`], then [`Replacement::commit`].
/// Dropped without a commit, the temporary file is removed and the old one stays.
pub struct Replacement {
    dir: OwnedFd,
    name: CString,
    /// The temporary name, once the new file has one (from the start without
    /// `O_TMPFILE`); empty while it has none and after the rename.
    tmp_name: CString,
    tmp: Option<File>,
    old: Old,
}

impl Replacement {
    /// Creates the temporary file beside `path`. A directory or special file at `path` is
    /// refused (EISDIR, or EINVAL naming the path).
    pub fn begin(path: &GuestPath) -> io::Result<Replacement> {
        if names_directory(path) {
            return Err(io::Error::from_raw_os_error(libc::EISDIR));
        }
        let (dir, name) = guestfs::parent(path)?;
        let old = match walk::lstat_at(dir.as_fd(), &name) {
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Old::Missing,
            Err(e) => return Err(e),
            Ok(st) => match st.st_mode & libc::S_IFMT {
                libc::S_IFLNK => Old::Link {
                    uid: st.st_uid,
                    gid: st.st_gid,
                },
                libc::S_IFDIR => return Err(io::Error::from_raw_os_error(libc::EISDIR)),
                libc::S_IFREG => {
                    let fd = sys::openat2(
                        dir.as_fd(),
                        &name,
                        libc::O_PATH | libc::O_NOFOLLOW,
                        0,
                        sys::RESOLVE_BENEATH | sys::RESOLVE_NO_SYMLINKS,
                    )?;
                    let st = walk::fstat(fd.as_fd())?;
                    if st.st_mode & libc::S_IFMT != libc::S_IFREG {
                        return Err(not_regular(path));
                    }
                    Old::File { fd, st }
                }
                _ => return Err(not_regular(path)),
            },
        };
        let (tmp_name, tmp) = match anonymous(dir.as_fd())? {
            Some(f) => (CString::default(), f),
            None => named_temp(dir.as_fd(), ".guestwright-")?,
        };
        Ok(Replacement {
            dir,
            name,
            tmp_name,
            tmp: Some(tmp),
            old,
        })
    }

    /// The new file, to write the content into.
    pub fn file(&mut self) -> &mut File {
        self.tmp.as_mut().expect("present until commit")
    }

    /// Gives the new file the old one's attributes, flushes it, renames it over the old
    /// name and flushes the directory.
    pub fn commit(mut self) -> io::Result<()> {
        let tmp = self.tmp.take().expect("present until commit");
        match &self.old {
            Old::File { fd, st } => {
                attrs::copy_xattrs(fd.as_fd(), tmp.as_fd())?;
                // Owner first: chown clears setuid bits that chmod then restores.
                sys::fchownat(tmp.as_fd(), c"", st.st_uid, st.st_gid, libc::AT_EMPTY_PATH)?;
                attrs::chmod_fd(tmp.as_fd(), st.st_mode & 0o7777)?;
            }
            Old::Link { uid, gid } => {
                sys::fchownat(tmp.as_fd(), c"", *uid, *gid, libc::AT_EMPTY_PATH)?;
                attrs::chmod_fd(tmp.as_fd(), NEW_FILE_MODE)?;
            }
            Old::Missing => attrs::chmod_fd(tmp.as_fd(), NEW_FILE_MODE)?,
        }
        tmp.sync_all()?;
        if self.tmp_name.as_bytes().is_empty() {
            self.tmp_name = link_temp(&tmp, self.dir.as_fd(), ".guestwright-")?;
        }
        sys::renameat2(
            self.dir.as_fd(),
            &self.tmp_name,
            self.dir.as_fd(),
            &self.name,
            0,
        )?;
        // Renamed: nothing left to remove.
        self.tmp_name = CString::default();
        let d = walk::reopen_dir(self.dir.as_fd())?;
        File::from(d).sync_all()
    }
}

impl std::fmt::Debug for Replacement {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Replacement")
            .field("name", &self.name)
            .field("tmp_name", &self.tmp_name)
            .finish_non_exhaustive()
    }
}

impl Drop for Replacement {
    fn drop(&mut self) {
        if !self.tmp_name.as_bytes().is_empty() {
            let _ = sys::unlinkat(self.dir.as_fd(), &self.tmp_name, 0);
        }
    }
}

fn not_regular(path: &GuestPath) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("{path}: not a regular file; refusing to replace it"),
    )
}

/// Opens an unnamed file in `dir` (`O_TMPFILE`), or `None` when its filesystem has no
/// unnamed files (vfat: EOPNOTSUPP; EISDIR from kernels that predate the flag).
pub fn anonymous(dir: std::os::fd::BorrowedFd<'_>) -> io::Result<Option<File>> {
    match sys::openat2(
        dir,
        c".",
        libc::O_TMPFILE | libc::O_WRONLY,
        0o600,
        sys::RESOLVE_BENEATH | sys::RESOLVE_NO_SYMLINKS,
    ) {
        Ok(fd) => Ok(Some(File::from(fd))),
        Err(e) if matches!(e.raw_os_error(), Some(libc::EOPNOTSUPP | libc::EISDIR)) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Creates a new named temporary file in `dir`: its name and the file.
pub fn named_temp(dir: std::os::fd::BorrowedFd<'_>, prefix: &str) -> io::Result<(CString, File)> {
    loop {
        let tmp_name = temp_name(prefix);
        match sys::openat2(
            dir,
            &tmp_name,
            libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL | libc::O_NOFOLLOW,
            0o600,
            sys::RESOLVE_BENEATH | sys::RESOLVE_NO_SYMLINKS,
        ) {
            Ok(fd) => return Ok((tmp_name, File::from(fd))),
            Err(e) if e.raw_os_error() == Some(libc::EEXIST) => continue,
            Err(e) => return Err(e),
        }
    }
}

/// Gives an unnamed file from [`anonymous`] a temporary name in `dir`, and returns it.
pub fn link_temp(
    file: &File,
    dir: std::os::fd::BorrowedFd<'_>,
    prefix: &str,
) -> io::Result<CString> {
    loop {
        let tmp_name = temp_name(prefix);
        match sys::linkat(file.as_fd(), c"", dir, &tmp_name, libc::AT_EMPTY_PATH) {
            Ok(()) => return Ok(tmp_name),
            Err(e) if e.raw_os_error() == Some(libc::EEXIST) => continue,
            Err(e) => return Err(e),
        }
    }
}

/// A name for a temporary file that nothing else uses (checked with O_EXCL by the caller).
pub fn temp_name(prefix: &str) -> CString {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::time::{SystemTime, UNIX_EPOCH};
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let n = N.fetch_add(1, Ordering::Relaxed);
    CString::new(format!("{prefix}{nanos:08x}{n:x}")).expect("no NUL")
}

/// Replaces the file at `path` with `content` (see the module's documentation).
pub fn replace_file(path: &GuestPath, content: &[u8]) -> io::Result<()> {
    let mut r = Replacement::begin(path)?;
    r.file().write_all(content)?;
    r.commit()
}

#[cfg(test)]
mod tests {
    use super::names_directory;
    use guestwright_protocol::GuestPath;

    #[test]
    fn root_dot_and_dotdot_name_a_directory_so_writes_there_are_eisdir() {
        for p in ["/", "//", "/d/.", "/d/..", "/d/../"] {
            assert!(names_directory(&GuestPath::from(p)), "{p}");
        }
        for p in ["/f", "/d/f", "/d/f/", "/.f", "/..f"] {
            assert!(!names_directory(&GuestPath::from(p)), "{p}");
        }
    }
}
