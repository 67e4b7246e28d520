//! Host files written whole or not at all.
//!
//! Every command that writes a file the user named on the host (`download`, `tar-out`,
//! `checksums-out`, a copied-out file, ...) writes through a [`HostFile`]: the data goes
//! into a new file beside the target (same directory, so the rename cannot cross
//! filesystems; created exclusively under a random name), which is synced and renamed over
//! the target only by [`HostFile::commit`]. A transfer that fails, is cancelled, or is
//! dropped leaves the old file as it was and removes the temporary one. This module must
//! never truncate or open for writing an existing regular file the user named.
//!
//! A target that exists and is not a regular file of its own (`/dev/null`, a FIFO,
//! `/dev/stdout` even when it is redirected to a file) is written in place: there is
//! nothing to keep, and it must not be replaced by a file.
//!
//! ```
//! use guestwright::hostfile::HostFile;
//! use std::io::Write;
//!
//! let dir = tempfile::tempdir()?;
//! let target = dir.path().join("motd.copy");
//! std::fs::write(&target, "old\n")?;
//! let mut out = HostFile::create(&target)?;
//! out.file_mut().write_all(b"new\n")?;
//! assert_eq!(std::fs::read(&target)?, b"old\n"); // untouched until commit
//! out.commit()?;
//! assert_eq!(std::fs::read(&target)?, b"new\n");
//! // Dropped without commit: the old file stays and the temporary file is removed.
//! let mut out = HostFile::create(&target)?;
//! out.file_mut().write_all(b"half a download")?;
//! drop(out);
//! assert_eq!(std::fs::read(&target)?, b"new\n");
//! assert_eq!(std::fs::read_dir(dir.path())?.count(), 1);
//! # Ok::<(), std::io::Error>(())
//! ```

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use guestwright_sync::{Mutex, MutexGuard};

/// Temporary files not yet committed or dropped, for [`remove_unfinished`].
static UNFINISHED: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// The mode a new host file gets when the target does not exist yet (the umask applies).
const NEW_FILE_MODE: u32 = 0o666;

/// A host file being written; the target changes only on [`HostFile::commit`].
#[derive(Debug)]
pub struct HostFile {
    target: PathBuf,
    /// `None` only inside [`HostFile::commit`], which consumes the value.
    inner: Option<Inner>,
}

#[derive(Debug)]
enum Inner {
    /// Written beside the target, renamed over it on commit.
    Temp(tempfile::NamedTempFile),
    /// A device or FIFO: written directly.
    Direct(File),
}

impl HostFile {
    /// Starts writing `target`. A new file gets mode 0666 less the umask; a regular file
    /// that exists keeps its permission bits. A symlink is followed: the file it names is
    /// the one replaced, and the link stays.
    pub fn create(target: &Path) -> io::Result<HostFile> {
        let (path, existing) = match fs::metadata(target) {
            Ok(meta) if meta.is_dir() => {
                return Err(io::Error::from_raw_os_error(libc::EISDIR));
            }
            // Not a file of its own: a device, a FIFO, or /dev/stdout and
            // /proc/self/fd/N, which name whatever the descriptor holds (replacing that
            // file would leave the descriptor writing to the old one).
            Ok(meta) if !meta.is_file() || is_special_path(target) => {
                let file = OpenOptions::new().write(true).open(target)?;
                return Ok(HostFile {
                    target: target.to_path_buf(),
                    inner: Some(Inner::Direct(file)),
                });
            }
            // Through a symlink to the file itself, so the link stays a link.
            Ok(meta) => (fs::canonicalize(target)?, Some(meta.permissions().mode())),
            Err(e) if e.kind() == io::ErrorKind::NotFound => (target.to_path_buf(), None),
            Err(e) => return Err(e),
        };
        match existing {
            Some(mode) => HostFile::beside(path, mode & 0o7777, true),
            None => HostFile::beside(path, NEW_FILE_MODE, false),
        }
    }

    /// Starts replacing whatever non-directory entry is at `target` (a file, a symlink,
    /// a FIFO) with a regular file of exactly `mode` (permission bits). Never follows a
    /// symlink: for trees where a planted link must not redirect the write.
    pub fn replace(target: &Path, mode: u32) -> io::Result<HostFile> {
        if fs::symlink_metadata(target).is_ok_and(|m| m.is_dir()) {
            return Err(io::Error::from_raw_os_error(libc::EISDIR));
        }
        HostFile::beside(target.to_path_buf(), mode & 0o7777, true)
    }

    /// Creates the temporary file in `path`'s directory with `mode`: exactly (`exact`), or
    /// less the umask.
    fn beside(path: PathBuf, mode: u32, exact: bool) -> io::Result<HostFile> {
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        // Hidden, named after the target so a user who sees one knows where it came from.
        let temp = tempfile::Builder::new()
            .prefix(&format!(".{name}."))
            .suffix(".guestwright-part")
            .permissions(fs::Permissions::from_mode(mode))
            .tempfile_in(dir)?;
        lock_unfinished().push(temp.path().to_path_buf());
        let file = HostFile {
            target: path,
            inner: Some(Inner::Temp(temp)),
        };
        if exact {
            // Past the umask: what the old file had, or what was asked for.
            file.file()
                .set_permissions(fs::Permissions::from_mode(mode))?;
        }
        Ok(file)
    }

    /// The file being written (the temporary one, until commit).
    pub fn file(&self) -> &File {
        match &self.inner {
            Some(Inner::Temp(t)) => t.as_file(),
            Some(Inner::Direct(f)) => f,
            None => unreachable!("a committed HostFile is gone"),
        }
    }

    /// The file being written, mutably.
    pub fn file_mut(&mut self) -> &mut File {
        match &mut self.inner {
            Some(Inner::Temp(t)) => t.as_file_mut(),
            Some(Inner::Direct(f)) => f,
            None => unreachable!("a committed HostFile is gone"),
        }
    }

    /// The file that is replaced on commit.
    pub fn target(&self) -> &Path {
        &self.target
    }

    /// Where the data is until commit (`None` for a device or FIFO written in place).
    pub fn temp_path(&self) -> Option<&Path> {
        match &self.inner {
            Some(Inner::Temp(t)) => Some(t.path()),
            _ => None,
        }
    }

    /// Makes the data durable and puts it in place of the target: fsync, rename, fsync of
    /// the directory. On error the target is unchanged and the temporary file is removed.
    pub fn commit(mut self) -> io::Result<()> {
        let target = std::mem::take(&mut self.target);
        match self.inner.take() {
            None => Ok(()),
            Some(Inner::Direct(mut f)) => f.flush(),
            Some(Inner::Temp(temp)) => {
                let temp_path = temp.path().to_path_buf();
                let result = temp.as_file().sync_all().and_then(|()| {
                    temp.persist(&target).map(drop).map_err(|e| {
                        // Dropping the returned file removes it.
                        e.error
                    })
                });
                forget_unfinished(&temp_path);
                result?;
                if let Some(dir) = target.parent().filter(|p| !p.as_os_str().is_empty()) {
                    File::open(dir)?.sync_all()?;
                }
                Ok(())
            }
        }
    }
}

impl Drop for HostFile {
    fn drop(&mut self) {
        // A commit took the temporary file out; otherwise `NamedTempFile` removes it now.
        if let Some(Inner::Temp(t)) = &self.inner {
            forget_unfinished(t.path());
        }
    }
}

impl Write for HostFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.file_mut().write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.file_mut().flush()
    }
}

fn is_special_path(path: &Path) -> bool {
    path.starts_with("/dev") || path.starts_with("/proc")
}

fn lock_unfinished() -> MutexGuard<'static, Vec<PathBuf>> {
    UNFINISHED.lock()
}

fn forget_unfinished(path: &Path) {
    lock_unfinished().retain(|p| p != path);
}

/// Removes every temporary file of a [`HostFile`] not yet committed or dropped. For a
/// Ctrl-C handler about to end the process, which runs no destructors.
pub fn remove_unfinished() {
    remove_unfinished_where(|_| true);
}

fn remove_unfinished_where(which: impl Fn(&Path) -> bool) {
    let paths: Vec<PathBuf> = {
        let mut list = lock_unfinished();
        let (chosen, kept) = std::mem::take(&mut *list)
            .into_iter()
            .partition(|p| which(p));
        *list = kept;
        chosen
    };
    for p in paths {
        let _ = fs::remove_file(&p);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn a_dropped_file_leaves_the_old_content_and_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("existing");
        fs::write(&target, b"old content\n").unwrap();
        let mut f = HostFile::create(&target).unwrap();
        f.write_all(b"partial").unwrap();
        let temp = f.temp_path().unwrap().to_path_buf();
        assert!(temp.exists());
        assert_eq!(temp.parent(), Some(dir.path()));
        assert_eq!(fs::read(&target).unwrap(), b"old content\n");
        drop(f);
        assert_eq!(fs::read(&target).unwrap(), b"old content\n");
        assert_eq!(entries(dir.path()), ["existing"]);
    }

    #[test]
    fn commit_replaces_the_file_and_keeps_its_mode() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("existing");
        fs::write(&target, b"old").unwrap();
        fs::set_permissions(&target, fs::Permissions::from_mode(0o640)).unwrap();
        let mut f = HostFile::create(&target).unwrap();
        f.write_all(b"new bytes").unwrap();
        f.commit().unwrap();
        assert_eq!(fs::read(&target).unwrap(), b"new bytes");
        assert_eq!(
            fs::metadata(&target).unwrap().permissions().mode() & 0o7777,
            0o640
        );
        assert_eq!(entries(dir.path()), ["existing"]);
    }

    #[test]
    fn a_new_file_gets_the_umask_mode_and_an_explicit_mode_wins() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("new");
        let mut f = HostFile::create(&target).unwrap();
        f.write_all(b"x").unwrap();
        f.commit().unwrap();
        // What File::create gives a new file under this umask.
        let reference = dir.path().join("reference");
        File::create(&reference).unwrap();
        assert_eq!(
            fs::metadata(&target).unwrap().permissions().mode() & 0o777,
            fs::metadata(&reference).unwrap().permissions().mode() & 0o777
        );
        let f = HostFile::replace(&target, 0o600).unwrap();
        f.commit().unwrap();
        assert_eq!(
            fs::metadata(&target).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert_eq!(fs::read(&target).unwrap(), b"");
    }

    #[test]
    fn a_symlink_stays_and_its_file_is_replaced() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("real"), b"old").unwrap();
        std::os::unix::fs::symlink("real", dir.path().join("link")).unwrap();
        let mut f = HostFile::create(&dir.path().join("link")).unwrap();
        f.write_all(b"new").unwrap();
        f.commit().unwrap();
        assert!(fs::symlink_metadata(dir.path().join("link"))
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(fs::read(dir.path().join("real")).unwrap(), b"new");
    }

    #[test]
    fn replace_never_follows_a_symlink() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("outside"), b"keep").unwrap();
        std::os::unix::fs::symlink("outside", dir.path().join("link")).unwrap();
        let mut f = HostFile::replace(&dir.path().join("link"), 0o600).unwrap();
        f.write_all(b"data").unwrap();
        f.commit().unwrap();
        assert_eq!(fs::read(dir.path().join("outside")).unwrap(), b"keep");
        let meta = fs::symlink_metadata(dir.path().join("link")).unwrap();
        assert!(meta.is_file());
        assert_eq!(fs::read(dir.path().join("link")).unwrap(), b"data");
        fs::create_dir(dir.path().join("d")).unwrap();
        let err = HostFile::replace(&dir.path().join("d"), 0o600).unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::EISDIR));
    }

    #[test]
    fn a_device_is_written_in_place_and_a_directory_refused() {
        let mut f = HostFile::create(Path::new("/dev/null")).unwrap();
        assert!(f.temp_path().is_none());
        // /dev/stdout may be a regular file (`> out`): written through the descriptor.
        let dir = tempfile::tempdir().unwrap();
        let out = File::create(dir.path().join("out")).unwrap();
        let fd = std::os::fd::AsRawFd::as_raw_fd(&out);
        let via_fd = PathBuf::from(format!("/proc/self/fd/{fd}"));
        let mut g = HostFile::create(&via_fd).unwrap();
        assert!(g.temp_path().is_none());
        g.write_all(b"through the descriptor").unwrap();
        g.commit().unwrap();
        assert_eq!(
            fs::read(dir.path().join("out")).unwrap(),
            b"through the descriptor"
        );
        assert_eq!(entries(dir.path()), ["out"]);
        f.write_all(b"discarded").unwrap();
        f.commit().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let err = HostFile::create(dir.path()).unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::EISDIR));
        let err = HostFile::create(&dir.path().join("no/such/dir/file")).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
    }

    #[test]
    fn unfinished_files_can_be_removed_by_a_signal_handler() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("t");
        let f = HostFile::create(&target).unwrap();
        let temp = f.temp_path().unwrap().to_path_buf();
        // As if the process ended now, without running destructors.
        std::mem::forget(f);
        assert!(temp.exists());
        // Only this test's file: other tests run at the same time.
        remove_unfinished_where(|p| p == temp);
        assert!(!temp.exists());
        assert!(!target.exists());
    }
}
