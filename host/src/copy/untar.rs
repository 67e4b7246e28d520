//! Unpacking a tar stream from the guest (copy-out) into a host directory, treating every
//! byte of it as hostile.
//!
//! Nothing is ever written outside the destination: names with `..`, absolute names and
//! link targets that leave it are refused (the whole copy stops, saying which entry); no
//! path is ever walked through a symlink, whether the archive made it or it was there
//! before (every directory on the way is checked with `lstat`, files are created with
//! `O_EXCL | O_NOFOLLOW`); an existing directory is never replaced. Device nodes, FIFOs and
//! sockets are skipped and named. Modes keep only the permission bits (no setuid, setgid or
//! sticky bit) and owners are not applied. The `tar` crate only parses; all file system
//! work is here.

use guestwright_protocol::escape_bytes;
use std::ffi::OsStr;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};
use std::time::{Duration, SystemTime};

/// Why unpacking stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum UntarError {
    /// The stream is not a readable tar archive, or reading it failed.
    #[error("cannot read the archive")]
    Read(#[source] io::Error),
    /// An entry would be written outside the destination, or through a symlink.
    #[error("refused archive entry '{name}': {reason}")]
    Unsafe {
        /// The entry's name, escaped.
        name: String,
        /// Why.
        reason: &'static str,
    },
    /// Creating something on the host failed.
    #[error("{}", crate::error::escape_path(path))]
    Write {
        /// The host path.
        path: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
}

/// What was unpacked.
#[derive(Debug, Default)]
pub struct Unpacked {
    /// Entries written.
    pub entries: usize,
    /// Entries skipped (device nodes, FIFOs, ...), escaped.
    pub skipped: Vec<String>,
}

fn write_err(path: &Path) -> impl FnOnce(io::Error) -> UntarError + '_ {
    move |source| UntarError::Write {
        path: path.to_path_buf(),
        source,
    }
}

/// The entry's name as a path of plain components, or `None` if it leaves the directory.
fn relative(name: &[u8]) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    for c in Path::new(OsStr::from_bytes(name)).components() {
        match c {
            Component::Normal(n) => out.push(n),
            Component::CurDir => {}
            Component::ParentDir | Component::RootDir | Component::Prefix(_) => return None,
        }
    }
    Some(out)
}

/// Makes sure every directory leading to `rel` under `root` is a real directory (never a
/// symlink), creating the missing ones when `create` is set.
fn check_parents(root: &Path, rel: &Path, name: &str, create: bool) -> Result<(), UntarError> {
    let mut dir = root.to_path_buf();
    let parents: Vec<_> = rel.components().collect();
    for c in &parents[..parents.len().saturating_sub(1)] {
        dir.push(c);
        match fs::symlink_metadata(&dir) {
            Ok(m) if m.is_dir() => {}
            Ok(_) => {
                return Err(UntarError::Unsafe {
                    name: name.to_string(),
                    reason: "a directory on its path is a symlink or a file",
                })
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound && create => {
                fs::create_dir(&dir).map_err(write_err(&dir))?;
            }
            Err(e) => return Err(write_err(&dir)(e)),
        }
    }
    Ok(())
}

/// Removes what is at `path` unless it is a directory (a symlink is removed, not followed).
fn clear(path: &Path, name: &str) -> Result<(), UntarError> {
    match fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() => Err(UntarError::Unsafe {
            name: name.to_string(),
            reason: "it would replace a directory",
        }),
        Ok(_) => fs::remove_file(path).map_err(write_err(path)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(write_err(path)(e)),
    }
}

/// Creates a new file at `path` (replacing a file or symlink there, never following one)
/// and fills it from `data`.
pub fn create_file(path: &Path, name: &str, data: &mut dyn Read) -> Result<File, UntarError> {
    clear(path, name)?;
    let mut f = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
        .map_err(write_err(path))?;
    io::copy(data, &mut f).map_err(|e| match e.kind() {
        // The archive's side failed, not the file's.
        io::ErrorKind::UnexpectedEof | io::ErrorKind::InvalidData => UntarError::Read(e),
        _ => write_err(path)(e),
    })?;
    Ok(f)
}

fn mtime_of(header: &tar::Header) -> Option<SystemTime> {
    header
        .mtime()
        .ok()
        .map(|s| SystemTime::UNIX_EPOCH + Duration::from_secs(s))
}

/// Unpacks `reader` into `root`, which must exist.
pub fn unpack(reader: impl Read, root: &Path) -> Result<Unpacked, UntarError> {
    let mut archive = tar::Archive::new(reader);
    let mut done = Unpacked::default();
    // Directory modes and times are applied last: a read-only directory must still take
    // its entries, and writing entries changes its time.
    let mut dirs: Vec<(PathBuf, u32, Option<SystemTime>)> = Vec::new();
    for entry in archive.entries().map_err(UntarError::Read)? {
        let mut entry = entry.map_err(UntarError::Read)?;
        let raw = entry.path_bytes().into_owned();
        let name = escape_bytes(&raw);
        let rel = relative(&raw).ok_or_else(|| UntarError::Unsafe {
            name: name.clone(),
            reason: "its name leaves the destination ('..' or absolute)",
        })?;
        let header = entry.header().clone();
        let mode = header.mode().unwrap_or(0o644) & 0o777;
        let mtime = mtime_of(&header);
        if rel.as_os_str().is_empty() {
            // `./` itself: the destination directory, which takes the guest directory's
            // mode and time at the end, as GNU tar gives them (virt-copy-out's `tar -x`).
            if header.entry_type() == tar::EntryType::Directory {
                dirs.insert(0, (root.to_path_buf(), mode, mtime));
            }
            continue;
        }
        check_parents(root, &rel, &name, true)?;
        let path = root.join(&rel);
        match header.entry_type() {
            tar::EntryType::Directory => {
                match fs::symlink_metadata(&path) {
                    Ok(m) if m.is_dir() => {}
                    _ => {
                        clear(&path, &name)?;
                        fs::create_dir(&path).map_err(write_err(&path))?;
                    }
                }
                dirs.push((path, mode, mtime));
            }
            tar::EntryType::Regular | tar::EntryType::Continuous => {
                let f = create_file(&path, &name, &mut entry)?;
                if let Some(t) = mtime {
                    f.set_modified(t).map_err(write_err(&path))?;
                }
                f.set_permissions(fs::Permissions::from_mode(mode))
                    .map_err(write_err(&path))?;
            }
            tar::EntryType::Symlink => {
                // The target is only text: it is never followed here.
                let target = entry.link_name_bytes().unwrap_or_default().into_owned();
                clear(&path, &name)?;
                std::os::unix::fs::symlink(OsStr::from_bytes(&target), &path)
                    .map_err(write_err(&path))?;
            }
            tar::EntryType::Link => {
                let target = entry.link_name_bytes().unwrap_or_default().into_owned();
                let target_rel = relative(&target)
                    .filter(|t| !t.as_os_str().is_empty())
                    .ok_or(UntarError::Unsafe {
                        name: name.clone(),
                        reason: "its hard link target leaves the destination",
                    })?;
                check_parents(root, &target_rel, &name, false)?;
                let source = root.join(&target_rel);
                match fs::symlink_metadata(&source) {
                    Ok(m) if m.is_file() => {}
                    _ => {
                        return Err(UntarError::Unsafe {
                            name,
                            reason: "its hard link target is not a file unpacked here",
                        })
                    }
                }
                clear(&path, &name)?;
                fs::hard_link(&source, &path).map_err(write_err(&path))?;
            }
            _ => {
                done.skipped.push(name);
                continue;
            }
        }
        done.entries += 1;
    }
    for (dir, mode, mtime) in dirs.into_iter().rev() {
        if let Some(t) = mtime {
            File::open(&dir)
                .and_then(|f| f.set_modified(t))
                .map_err(write_err(&dir))?;
        }
        fs::set_permissions(&dir, fs::Permissions::from_mode(mode)).map_err(write_err(&dir))?;
    }
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;

    /// A header with any name at all (the tar crate's setters refuse `..`).
    fn raw_header(name: &[u8], kind: tar::EntryType, size: u64, mode: u32) -> tar::Header {
        let mut h = tar::Header::new_ustar();
        h.as_old_mut().name[..name.len()].copy_from_slice(name);
        h.set_entry_type(kind);
        h.set_size(size);
        h.set_mode(mode);
        h.set_mtime(1_000_000_000);
        h.set_cksum();
        h
    }

    fn archive(entries: &[(tar::Header, &[u8])]) -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        for (h, data) in entries {
            b.append(h, *data).unwrap();
        }
        b.into_inner().unwrap()
    }

    fn link(name: &[u8], kind: tar::EntryType, target: &[u8]) -> tar::Header {
        let mut h = raw_header(name, kind, 0, 0o777);
        h.set_link_name_literal(target).unwrap();
        h.set_cksum();
        h
    }

    #[test]
    fn a_normal_tree_unpacks_with_modes_times_and_links() {
        let dir = tempfile::tempdir().unwrap();
        let tar = archive(&[
            (raw_header(b"./", tar::EntryType::Directory, 0, 0o750), b""),
            (
                raw_header(b"./etc/", tar::EntryType::Directory, 0, 0o755),
                b"",
            ),
            (
                raw_header(b"./etc/hostname", tar::EntryType::Regular, 5, 0o644),
                b"host\n",
            ),
            (
                raw_header(b"./bin/su", tar::EntryType::Regular, 2, 0o4755),
                b"su",
            ),
            (
                link(b"./etc/link", tar::EntryType::Symlink, b"/etc/shadow"),
                b"",
            ),
            (
                link(b"./etc/hard", tar::EntryType::Link, b"./etc/hostname"),
                b"",
            ),
            (
                raw_header(b"./ro/", tar::EntryType::Directory, 0, 0o555),
                b"",
            ),
            (
                raw_header(b"./ro/f", tar::EntryType::Regular, 1, 0o444),
                b"x",
            ),
            (
                raw_header(b"./dev/null", tar::EntryType::Char, 0, 0o666),
                b"",
            ),
        ]);
        let done = unpack(&tar[..], dir.path()).unwrap();
        assert_eq!(done.entries, 7);
        assert_eq!(done.skipped, ["./dev/null"]);
        let root = dir.path();
        assert_eq!(fs::read(root.join("etc/hostname")).unwrap(), b"host\n");
        let m = fs::metadata(root.join("etc/hostname")).unwrap();
        assert_eq!(m.mode() & 0o7777, 0o644);
        assert_eq!(m.mtime(), 1_000_000_000);
        assert_eq!(
            fs::metadata(root.join("bin/su")).unwrap().mode() & 0o7777,
            0o755,
            "setuid is dropped"
        );
        assert_eq!(
            fs::read_link(root.join("etc/link")).unwrap(),
            Path::new("/etc/shadow")
        );
        assert_eq!(
            fs::metadata(root.join("etc/hard")).unwrap().ino(),
            m.ino(),
            "hard link"
        );
        assert_eq!(fs::read(root.join("ro/f")).unwrap(), b"x");
        assert_eq!(fs::metadata(root.join("ro")).unwrap().mode() & 0o777, 0o555);
        assert!(!root.join("dev/null").exists());
        let top = fs::metadata(root).unwrap();
        assert_eq!(
            (top.mode() & 0o777, top.mtime()),
            (0o750, 1_000_000_000),
            "the destination takes ./'s mode and time, as tar -x gives them"
        );
        fs::set_permissions(root.join("ro"), fs::Permissions::from_mode(0o755)).unwrap();
    }

    #[test]
    fn names_that_leave_the_destination_are_refused() {
        let outer = tempfile::tempdir().unwrap();
        let root = outer.path().join("dest");
        fs::create_dir(&root).unwrap();
        for name in [&b"../evil"[..], b"/evil", b"a/../../evil", b"./../evil"] {
            let tar = archive(&[(raw_header(name, tar::EntryType::Regular, 1, 0o644), b"x")]);
            let err = unpack(&tar[..], &root).unwrap_err();
            assert!(matches!(err, UntarError::Unsafe { .. }), "{err}");
        }
        assert!(!outer.path().join("evil").exists());
        assert!(!Path::new("/evil").exists());
    }

    #[test]
    fn symlinks_are_never_followed() {
        let outer = tempfile::tempdir().unwrap();
        let root = outer.path().join("dest");
        let victim = outer.path().join("victim");
        fs::create_dir(&root).unwrap();
        fs::create_dir(&victim).unwrap();
        fs::write(victim.join("file"), b"precious").unwrap();
        let target = victim.as_os_str().as_bytes();

        // A symlink to a directory outside, then a file through it.
        let tar = archive(&[
            (link(b"esc", tar::EntryType::Symlink, target), b""),
            (
                raw_header(b"esc/file", tar::EntryType::Regular, 4, 0o644),
                b"evil",
            ),
        ]);
        let err = unpack(&tar[..], &root).unwrap_err();
        assert!(matches!(err, UntarError::Unsafe { .. }), "{err}");
        assert_eq!(fs::read(victim.join("file")).unwrap(), b"precious");

        // A symlink to a file outside, then the same name as a file: the link is replaced,
        // the victim untouched.
        let file_target = victim.join("file");
        let tar = archive(&[
            (
                link(
                    b"f",
                    tar::EntryType::Symlink,
                    file_target.as_os_str().as_bytes(),
                ),
                b"",
            ),
            (raw_header(b"f", tar::EntryType::Regular, 4, 0o644), b"evil"),
        ]);
        unpack(&tar[..], &root).unwrap();
        assert_eq!(fs::read(victim.join("file")).unwrap(), b"precious");
        assert_eq!(fs::read(root.join("f")).unwrap(), b"evil");

        // A hard link to a file outside.
        let tar = archive(&[(link(b"h", tar::EntryType::Link, b"../victim/file"), b"")]);
        assert!(unpack(&tar[..], &root).is_err());
        let tar = archive(&[(link(b"h", tar::EntryType::Link, b"esc/file"), b"")]);
        assert!(unpack(&tar[..], &root).is_err());

        // A symlink where a directory was: refused, not followed.
        fs::create_dir(root.join("d")).unwrap();
        let tar = archive(&[(link(b"d", tar::EntryType::Symlink, target), b"")]);
        assert!(unpack(&tar[..], &root).is_err());
        assert!(fs::symlink_metadata(root.join("d")).unwrap().is_dir());
    }

    #[test]
    fn garbage_is_a_read_error() {
        let dir = tempfile::tempdir().unwrap();
        let err = unpack(&[7u8; 1024][..], dir.path()).unwrap_err();
        assert!(matches!(err, UntarError::Read(_)), "{err}");
    }
}
