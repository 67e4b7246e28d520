//! How `umount` learns that the image is final: the serving process holds an exclusive
//! lock on a file named after the mountpoint for as long as it runs. It takes the lock
//! before it mounts, and after the FUSE unmount it shuts the appliance down (guest sync,
//! QEMU exit, host fsync of the images), writes the outcome into the file, removes it and
//! exits, which releases the lock. `umount` opens the file before unmounting and then waits
//! for a shared lock: when it gets it, the outcome is in the file. This closes the race
//! libguestfs documents for guestunmount, which returns while guestmount is still writing.
//!
//! The lock files live in a directory only this user can enter (`$XDG_RUNTIME_DIR`, else
//! `/tmp`), checked for owner and mode before use.

use super::sys;
use guestwright::protocol::unescape_octal;
use sha2::{Digest, Sha256};
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// The private directory of lock files, created if missing.
pub fn dir() -> io::Result<PathBuf> {
    let base = std::env::var_os("XDG_RUNTIME_DIR")
        .map(PathBuf::from)
        .filter(|p| p.is_dir())
        .unwrap_or_else(std::env::temp_dir);
    let uid = sys::euid();
    let dir = base.join(format!("guestwright-mounts-{uid}"));
    match std::fs::DirBuilder::new().mode(0o700).create(&dir) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(e),
    }
    let meta = std::fs::symlink_metadata(&dir)?;
    if !meta.is_dir() || meta.uid() != uid || meta.mode() & 0o077 != 0 {
        return Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            format!(
                "{} is not a private directory of user {uid} (mode 0700): remove it and try again",
                dir.display()
            ),
        ));
    }
    Ok(dir)
}

/// The lock file of a mountpoint (given canonical).
pub fn lock_path(mountpoint: &Path) -> io::Result<PathBuf> {
    let digest = Sha256::digest(mountpoint.as_os_str().as_bytes());
    let name: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
    Ok(dir()?.join(format!("{name}.lock")))
}

/// The serving side's lock.
#[derive(Debug)]
pub struct ServerLock {
    file: File,
    path: PathBuf,
}

impl ServerLock {
    /// Takes the mountpoint's lock, waiting while an earlier mount of the same directory is
    /// still finishing, and writes our pid into it.
    pub fn take(mountpoint: &Path) -> io::Result<ServerLock> {
        let path = lock_path(mountpoint)?;
        loop {
            let file = OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .mode(0o600)
                .custom_flags(libc::O_NOFOLLOW)
                .open(&path)?;
            sys::flock(&file, true, false)?;
            // The previous holder removes the file before it lets go: if the file we locked
            // is no longer the one at `path`, lock the new one.
            let same = match std::fs::symlink_metadata(&path) {
                Ok(m) => m.ino() == file.metadata()?.ino(),
                Err(_) => false,
            };
            if same {
                file.set_len(0)?;
                writeln!(&file, "pid {}", std::process::id())?;
                return Ok(ServerLock { file, path });
            }
        }
    }

    /// Records the outcome, removes the file and lets waiting `umount`s go.
    pub fn finish(mut self, outcome: &Result<(), String>) {
        let text = match outcome {
            Ok(()) => "ok\n".to_string(),
            Err(e) => format!("error {}\n", e.replace('\n', " / ")),
        };
        let _ = self.file.seek(SeekFrom::End(0));
        let _ = self.file.write_all(text.as_bytes());
        let _ = self.file.sync_all();
        let _ = std::fs::remove_file(&self.path);
        // Dropping the file releases the lock.
    }
}

/// What a waiting `umount` read after the server let go.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The image is final.
    Done,
    /// Shutting down failed: the message.
    Failed(String),
    /// The server ended without saying (it was killed).
    Vanished,
}

/// Parses the lock file's text.
pub fn outcome(text: &str) -> Outcome {
    for line in text.lines() {
        if line == "ok" {
            return Outcome::Done;
        }
        if let Some(e) = line.strip_prefix("error ") {
            return Outcome::Failed(e.to_string());
        }
    }
    Outcome::Vanished
}

/// Waits until the server holding `file` has released it and returns what it wrote.
pub fn wait(file: &mut File, timeout: std::time::Duration) -> io::Result<Option<Outcome>> {
    let deadline = std::time::Instant::now() + timeout;
    while !sys::flock(file, false, true)? {
        if std::time::Instant::now() > deadline {
            return Ok(None);
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let mut text = String::new();
    file.seek(SeekFrom::Start(0))?;
    file.read_to_string(&mut text)?;
    Ok(Some(outcome(&text)))
}

/// One line of /proc/self/mountinfo that is a guestwright mount.
#[derive(Debug, PartialEq, Eq)]
pub struct MountInfo {
    /// Where it is mounted.
    pub mountpoint: PathBuf,
    /// The filesystem type (`fuse`, or `fuse.guestwright` through fusermount3).
    pub fstype: String,
    /// The source (`guestwright:IMAGE` for ours).
    pub source: String,
    /// The mount options (per mount and per superblock).
    pub options: String,
}

impl MountInfo {
    /// Whether `guestwright mount` made it (mount(2) as root says `fuse`, fusermount3 says
    /// `fuse.guestwright`; the source names us either way).
    pub fn is_guestwright(&self) -> bool {
        self.is_fuse() && self.source.starts_with("guestwright:")
    }

    /// Whether it is a FUSE mount at all (`fuse`, `fuseblk`, `fuse.NAME`), ours or another
    /// program's (guestmount's, ntfs-3g's, sshfs's).
    pub fn is_fuse(&self) -> bool {
        let base = self.fstype.split('.').next().unwrap_or_default();
        base == "fuse" || base == "fuseblk"
    }
}

/// The mount at `mountpoint` in mountinfo text, if any (the last one: mounts stack).
pub fn find_mount(mountinfo: &str, mountpoint: &Path) -> Option<MountInfo> {
    mountinfo
        .lines()
        .rev()
        .filter_map(|line| {
            let (left, right) = line.split_once(" - ")?;
            let fields: Vec<&str> = left.split(' ').collect();
            let mp = unescape_octal(fields.get(4)?);
            let right: Vec<&str> = right.split(' ').collect();
            let fstype = right.first()?.to_string();
            let source =
                String::from_utf8_lossy(&unescape_octal(right.get(1).unwrap_or(&""))).into_owned();
            let options = format!("{},{}", fields.get(5)?, right.get(2).unwrap_or(&""));
            Some(MountInfo {
                mountpoint: PathBuf::from(std::ffi::OsStr::from_bytes(&mp)),
                fstype,
                source,
                options,
            })
        })
        .find(|m| m.mountpoint == mountpoint)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mountinfo_lines() {
        let text = "22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n\
             99 22 0:55 / /tmp/my\\040mnt rw,nosuid,nodev,relatime shared:80 - fuse.guestwright guestwright:/d.img rw,user_id=0,group_id=0\n";
        let m = find_mount(text, Path::new("/tmp/my mnt")).unwrap();
        assert_eq!(m.fstype, "fuse.guestwright");
        assert!(m.is_guestwright());
        assert_eq!(m.source, "guestwright:/d.img");
        assert!(m.options.contains("nosuid") && m.options.contains("user_id=0"));
        assert_eq!(find_mount(text, Path::new("/tmp")), None);
        assert_eq!(find_mount(text, Path::new("/")).unwrap().fstype, "ext4");
        assert!(!find_mount(text, Path::new("/")).unwrap().is_guestwright());
    }

    #[test]
    fn outcomes() {
        assert_eq!(outcome("pid 5\nok\n"), Outcome::Done);
        assert_eq!(
            outcome("pid 5\nerror QEMU exited with signal 9\n"),
            Outcome::Failed("QEMU exited with signal 9".into())
        );
        assert_eq!(outcome("pid 5\n"), Outcome::Vanished);
    }

    #[test]
    fn the_lock_is_held_until_finish_and_carries_the_outcome() {
        let dir = tempfile::tempdir().unwrap();
        std::env::set_var("XDG_RUNTIME_DIR", dir.path());
        let mp = dir.path().join("mnt");
        let lock = ServerLock::take(&mp).unwrap();
        let mut f = File::open(lock_path(&mp).unwrap()).unwrap();
        assert_eq!(
            wait(&mut f, std::time::Duration::from_millis(50)).unwrap(),
            None
        );
        lock.finish(&Err("cannot fsync x".into()));
        assert_eq!(
            wait(&mut f, std::time::Duration::from_secs(5)).unwrap(),
            Some(Outcome::Failed("cannot fsync x".into()))
        );
        assert!(!lock_path(&mp).unwrap().exists());
    }
}
