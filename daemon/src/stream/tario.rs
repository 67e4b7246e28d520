//! tar streams: `tar_in` unpacks an archive into a guest directory and `tar_out` packs one,
//! optionally compressed (gzip, xz; zstd for reading).
//!
//! Unpacking never writes outside the target directory, whatever the archive holds: names
//! with `..` are skipped, absolute names are taken as relative, every parent directory is
//! resolved with `openat2(RESOLVE_IN_ROOT)` rooted at the target (a symlink planted earlier
//! in the archive, `a -> /etc`, resolves to `target/etc`), the last component is created
//! with `O_EXCL|O_NOFOLLOW` (an existing entry is replaced, never written through), and
//! hard links resolve their target inside the target directory too.
//!
//! Regular files are written under a temporary name beside their own, and renamed over it
//! only after every member's data is on disk (one `sync` for the whole archive): an
//! extraction that is interrupted at any point (the host process killed, the disk full)
//! leaves each file whole, in its old or its new version. Where the filesystem supports
//! `O_TMPFILE` (ext4, xfs, btrfs) a new file has no name at all until just before its
//! rename, so a killed extraction leaves no temporary names; elsewhere (vfat) the files are
//! named `.gw-tar-*` from the start, an error removes them, and only a kill can leave some
//! behind. At most [`BATCH`] unnamed files are held open at once: past that, the batch is
//! flushed and put in place, and the extraction goes on.

use crate::call::{Call, CancelFlag};
use crate::fs::attrs;
use crate::fs::walk::{self, Visit, Visitor};
use crate::{fs::dirs, fs::files, fs::guestfs, fs::replace, sys};
use guestwright_protocol::{Compression, GuestPath};
use std::collections::HashMap;
use std::ffi::{CStr, CString};
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

const ONE: u64 = sys::RESOLVE_BENEATH | sys::RESOLVE_NO_SYMLINKS | sys::RESOLVE_NO_MAGICLINKS;
const IN_ROOT: u64 = sys::RESOLVE_IN_ROOT | sys::RESOLVE_NO_MAGICLINKS;

/// Unnamed files held open before a batch is put in place (the daemon's descriptor limit
/// is 1024).
const BATCH: usize = 256;

/// A file waiting for its rename.
#[derive(Debug)]
enum Temp {
    /// A named temporary file (no `O_TMPFILE` on this filesystem).
    Named(CString),
    /// An unnamed file: index in [`Pending::open`].
    Unnamed(usize),
}

/// Files written under temporary names (or none), renamed into place at the end.
#[derive(Debug)]
struct Pending {
    /// Makes the temporary names of this extraction unlike those a killed one left.
    stamp: u128,
    /// Names given so far, for unique temporary names.
    names: usize,
    /// (parent components, temporary file, real name).
    files: Vec<(Vec<Vec<u8>>, Temp, CString)>,
    /// The unnamed files, open until they are linked.
    open: Vec<File>,
    /// Member path -> index in `files`, for hard links to a file not yet in place.
    by_path: HashMap<Vec<u8>, usize>,
}

impl Pending {
    fn new() -> Pending {
        Pending {
            stamp: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or_default(),
            names: 0,
            files: Vec::new(),
            open: Vec::new(),
            by_path: HashMap::new(),
        }
    }

    fn temp_name(&mut self) -> CString {
        self.names += 1;
        CString::new(format!(".gw-tar-{:x}-{}", self.stamp, self.names)).expect("no NUL")
    }

    fn push(&mut self, parts: &[&[u8]], tmp: Temp, name: CString) {
        let (_, parents) = parts.split_last().expect("a member has a name");
        self.by_path.insert(join(parts), self.files.len());
        self.files
            .push((parents.iter().map(|p| p.to_vec()).collect(), tmp, name));
    }

    /// Removes every temporary file (after an error); unnamed ones go when closed.
    fn discard(&self, target: BorrowedFd<'_>) {
        for (parents, tmp, _) in &self.files {
            let Temp::Named(tmp) = tmp else { continue };
            let parents: Vec<&[u8]> = parents.iter().map(Vec::as_slice).collect();
            if let Ok(dir) = parent_dir(target, &parents) {
                let _ = sys::unlinkat(dir.as_fd(), tmp, 0);
            }
        }
    }

    /// Flushes every file's data and renames each over its real name (an unnamed one
    /// gets its temporary name just before). Returns the members that could not be put
    /// in place (their path and why).
    fn place(&mut self, target: BorrowedFd<'_>) -> Vec<(Vec<u8>, io::Error)> {
        // Every new file's data on disk before any of them replaces an old one.
        sys::sync();
        let mut failures = Vec::new();
        let files = std::mem::take(&mut self.files);
        for (parents, tmp, name) in &files {
            let parents: Vec<&[u8]> = parents.iter().map(Vec::as_slice).collect();
            let placed = parent_dir(target, &parents).and_then(|dir| {
                let tmp = match tmp {
                    Temp::Named(t) => t.clone(),
                    Temp::Unnamed(i) => {
                        replace::link_temp(&self.open[*i], dir.as_fd(), ".gw-tar-")?
                    }
                };
                let replaced = match walk::lstat_at(dir.as_fd(), name) {
                    // GNU tar refuses to replace a directory with a file, and so do we.
                    Ok(st) if walk::is_dir(&st) => Err(io::Error::from_raw_os_error(libc::EISDIR)),
                    _ => sys::renameat2(dir.as_fd(), &tmp, dir.as_fd(), name, 0),
                };
                if replaced.is_err() {
                    let _ = sys::unlinkat(dir.as_fd(), &tmp, 0);
                }
                replaced
            });
            if let Err(e) = placed {
                let mut rel = join(&parents);
                if !rel.is_empty() {
                    rel.push(b'/');
                }
                rel.extend_from_slice(name.to_bytes());
                failures.push((rel, e));
            }
        }
        self.open.clear();
        self.by_path.clear();
        failures
    }
}

/// Names and ids from the guest's /etc/passwd and /etc/group.
#[derive(Debug, Default)]
struct Owners {
    users: HashMap<Vec<u8>, u32>,
    groups: HashMap<Vec<u8>, u32>,
}

impl Owners {
    fn load() -> Owners {
        let parse = |path: &str| -> HashMap<Vec<u8>, u32> {
            let Ok(data) = files::read_file(&GuestPath::from(path)) else {
                return HashMap::new();
            };
            data.0
                .split(|&b| b == b'\n')
                .filter_map(|line| {
                    let mut f = line.split(|&b| b == b':');
                    let name = f.next()?;
                    let id = std::str::from_utf8(f.nth(1)?).ok()?.parse().ok()?;
                    Some((name.to_vec(), id))
                })
                .collect()
        };
        Owners {
            users: parse("/etc/passwd"),
            groups: parse("/etc/group"),
        }
    }
    fn user_name(&self, uid: u32) -> Option<&[u8]> {
        self.users
            .iter()
            .find(|(_, &id)| id == uid)
            .map(|(n, _)| n.as_slice())
    }
    fn group_name(&self, gid: u32) -> Option<&[u8]> {
        self.groups
            .iter()
            .find(|(_, &id)| id == gid)
            .map(|(n, _)| n.as_slice())
    }
}

/// The components of an archive member's name that may be extracted: `.` and empty ones
/// dropped, a leading `/` ignored; None when a `..` appears (the member is skipped).
fn sanitize(name: &[u8]) -> Option<Vec<&[u8]>> {
    let mut out = Vec::new();
    for c in name.split(|&b| b == b'/') {
        match c {
            b"" | b"." => {}
            b".." => return None,
            c if c.contains(&0) => return None,
            c => out.push(c),
        }
    }
    Some(out)
}

fn join(parts: &[&[u8]]) -> Vec<u8> {
    parts.join(&b'/')
}

/// Opens (creating as needed) the directory `parts` below the target, resolved inside it.
fn parent_dir(target: BorrowedFd<'_>, parts: &[&[u8]]) -> io::Result<OwnedFd> {
    if parts.is_empty() {
        return sys::openat2(target, c".", libc::O_PATH | libc::O_DIRECTORY, 0, IN_ROOT);
    }
    let rel = sys::cstring(&join(parts))?;
    match sys::openat2(target, &rel, libc::O_PATH | libc::O_DIRECTORY, 0, IN_ROOT) {
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {}
        other => return other,
    }
    // Create the missing directories one by one, each resolved inside the target again.
    let mut dir = sys::openat2(target, c".", libc::O_PATH | libc::O_DIRECTORY, 0, IN_ROOT)?;
    for (i, comp) in parts.iter().enumerate() {
        let name = sys::cstring(comp)?;
        match sys::mkdirat(dir.as_fd(), &name, 0o755) {
            Err(e) if e.raw_os_error() == Some(libc::EEXIST) => {}
            other => other?,
        }
        let sofar = sys::cstring(&join(&parts[..=i]))?;
        dir = sys::openat2(target, &sofar, libc::O_PATH | libc::O_DIRECTORY, 0, IN_ROOT)?;
    }
    Ok(dir)
}

/// Removes what is at `name` unless it is a directory and `keep_dir` is set; true if a
/// directory was kept.
fn clear(dir: BorrowedFd<'_>, name: &CStr, keep_dir: bool) -> io::Result<bool> {
    match walk::lstat_at(dir, name) {
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Ok(false),
        Err(e) => Err(e),
        Ok(st) if walk::is_dir(&st) => {
            if keep_dir {
                Ok(true)
            } else {
                // GNU tar refuses to replace a directory with a file, and so do we.
                Err(io::Error::from_raw_os_error(libc::EISDIR))
            }
        }
        Ok(_) => sys::unlinkat(dir, name, 0).map(|()| false),
    }
}

/// Options of both directions.
#[derive(Debug, Clone, Default)]
pub struct TarHow {
    /// Compression of the stream.
    pub compress: Compression,
    /// Carry extended attributes (as PAX `SCHILY.xattr.*` records).
    pub xattrs: bool,
    /// Use numeric ids only, ignoring (in) or not writing (out) user and group names.
    pub numericowner: bool,
    /// Patterns of names to leave out of `tar_out` (`*` matches `/` too, as in GNU tar).
    pub excludes: Vec<String>,
}

fn decoder<'a>(c: Compression, r: &'a mut dyn Read) -> io::Result<Box<dyn Read + 'a>> {
    Ok(match c {
        Compression::None => Box::new(r),
        Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(r)),
        Compression::Xz => Box::new(liblzma::read::XzDecoder::new_multi_decoder(r)),
        Compression::Zstd => Box::new(
            ruzstd::decoding::StreamingDecoder::new(r)
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, format!("zstd: {e}")))?,
        ),
    })
}

/// Unpacks the input stream into `dir`; returns the number of members written.
pub fn tar_in(call: &mut Call, dir: &GuestPath, how: &TarHow) -> io::Result<u64> {
    let target = guestfs::open(dir, libc::O_PATH | libc::O_DIRECTORY, 0)?;
    let owners = if how.numericowner {
        Owners::default()
    } else {
        Owners::load()
    };
    let mut input = io::BufReader::with_capacity(1 << 20, call);
    let mut reader = decoder(how.compress, &mut input)?;
    let mut archive = tar::Archive::new(&mut reader);
    let mut dir_times: Vec<(Vec<u8>, i64)> = Vec::new();
    let mut count = 0;
    let mut failed = 0u64;
    let mut first_failure: Option<(Vec<u8>, io::Error)> = None;
    let mut pending = Pending::new();
    let mut unplaced: Vec<(Vec<u8>, io::Error)> = Vec::new();
    for entry in archive.entries()? {
        let mut entry = match entry {
            Ok(e) => e,
            Err(e) => {
                pending.discard(target.as_fd());
                return Err(e);
            }
        };
        let raw = entry.path_bytes().into_owned();
        let Some(parts) = sanitize(&raw) else {
            info!(
                "tar_in: skipping member {} (it names a parent directory)",
                guestwright_protocol::escape_bytes(&raw)
            );
            continue;
        };
        match extract(
            &mut entry,
            target.as_fd(),
            &parts,
            &owners,
            how,
            &mut pending,
        ) {
            Ok(Some(dir_time)) => {
                dir_times.push(dir_time);
                count += 1;
            }
            Ok(None) => {
                count += 1;
                if pending.open.len() >= BATCH {
                    unplaced.extend(pending.place(target.as_fd()));
                }
            }
            // The stream or the filesystem failed: nothing after this can work.
            Err(e) if fatal(&e) => {
                pending.discard(target.as_fd());
                return Err(e);
            }
            Err(e) => {
                info!(
                    "tar_in: cannot extract {}: {e}",
                    guestwright_protocol::escape_bytes(&raw)
                );
                failed += 1;
                first_failure.get_or_insert((raw.clone(), e));
            }
        }
    }
    unplaced.extend(pending.place(target.as_fd()));
    for (rel, e) in unplaced {
        info!(
            "tar_in: cannot extract {}: {e}",
            guestwright_protocol::escape_bytes(&rel)
        );
        failed += 1;
        count -= 1;
        first_failure.get_or_insert((rel, e));
    }
    for (rel, mtime) in dir_times.iter().rev() {
        if let Ok(fd) = sys::openat2(
            target.as_fd(),
            &sys::cstring(rel)?,
            libc::O_PATH | libc::O_DIRECTORY | libc::O_NOFOLLOW,
            0,
            IN_ROOT,
        ) {
            let p = attrs::proc_fd(fd.as_fd());
            sys::utimensat(None, &p, [(0, libc::UTIME_NOW), (*mtime, 0)], 0)?;
        }
    }
    match first_failure {
        None => Ok(count),
        Some((name, e)) => Err(io::Error::new(
            e.kind(),
            format!(
                "{failed} member(s) could not be extracted (others were); the first, {}: {e}",
                guestwright_protocol::escape_bytes(&name)
            ),
        )),
    }
}

/// Errors after which extracting further members makes no sense.
fn fatal(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::ENOSPC | libc::EDQUOT | libc::EROFS | libc::EIO | libc::ECANCELED)
    ) || e.raw_os_error().is_none()
}

/// Extracts one member below `target`; returns the directory's path and mtime for a
/// directory (set after every member is in place).
fn extract<R: Read>(
    entry: &mut tar::Entry<'_, R>,
    target: BorrowedFd<'_>,
    parts: &[&[u8]],
    owners: &Owners,
    how: &TarHow,
    pending: &mut Pending,
) -> io::Result<Option<(Vec<u8>, i64)>> {
    let kind = entry.header().entry_type();
    let Some((last, parents)) = parts.split_last() else {
        // The target itself (`./`): only its metadata.
        return Ok(None);
    };
    let parent = parent_dir(target, parents)?;
    let name = sys::cstring(last)?;
    let header = entry.header().clone();
    let mode = header.mode().unwrap_or(0o644) & 0o7777;
    let mut is_dir = false;
    // A regular file's temporary name: the metadata goes onto it, the rename comes last.
    let mut written: Option<CString> = None;
    match kind {
        tar::EntryType::Regular | tar::EntryType::Continuous | tar::EntryType::GNUSparse => {
            if let Some(mut f) = replace::anonymous(parent.as_fd())? {
                crate::stream::transfer::copy_stream(entry, &mut f)?;
                set_metadata(entry, At::File(f.as_fd()), kind, owners, how, mode, false)?;
                pending.open.push(f);
                let i = pending.open.len() - 1;
                pending.push(parts, Temp::Unnamed(i), name);
                return Ok(None);
            }
            let tmp = pending.temp_name();
            let mut f = File::from(sys::openat2(
                parent.as_fd(),
                &tmp,
                libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL | libc::O_NOFOLLOW,
                0o600,
                ONE,
            )?);
            written = Some(tmp);
            if let Err(e) = crate::stream::transfer::copy_stream(entry, &mut f) {
                let _ = sys::unlinkat(parent.as_fd(), written.as_deref().expect("set"), 0);
                return Err(e);
            }
        }
        tar::EntryType::Directory => {
            is_dir = true;
            if !clear(parent.as_fd(), &name, true)? {
                sys::mkdirat(parent.as_fd(), &name, 0o700)?;
            }
        }
        tar::EntryType::Symlink => {
            let target_bytes = entry.link_name_bytes().unwrap_or_default().into_owned();
            clear(parent.as_fd(), &name, false)?;
            sys::symlinkat(&sys::cstring(&target_bytes)?, parent.as_fd(), &name)?;
        }
        tar::EntryType::Link => {
            let link = entry.link_name_bytes().unwrap_or_default().into_owned();
            let Some(lparts) = sanitize(&link).filter(|p| !p.is_empty()) else {
                info!("tar_in: skipping a hard link that leaves the target directory");
                return Ok(None);
            };
            if let Some(&i) = pending.by_path.get(&join(&lparts)) {
                // Its target is not in place yet: link its temporary file, and put this
                // name in place with it.
                let (tparents, ttmp, _) = &pending.files[i];
                if let Temp::Unnamed(f) = ttmp {
                    // Both names come to the one file at placing time.
                    let f = *f;
                    pending.push(parts, Temp::Unnamed(f), name);
                    return Ok(None);
                }
                let Temp::Named(ttmp) = ttmp else {
                    unreachable!()
                };
                let ttmp = ttmp.clone();
                let tparents: Vec<&[u8]> = tparents.iter().map(Vec::as_slice).collect();
                let tdir = parent_dir(target, &tparents)?;
                let tmp = pending.temp_name();
                sys::linkat(tdir.as_fd(), &ttmp, parent.as_fd(), &tmp, 0)?;
                pending.push(parts, Temp::Named(tmp), name);
                return Ok(None);
            }
            let from = sys::openat2(
                target,
                &sys::cstring(&join(&lparts))?,
                libc::O_PATH | libc::O_NOFOLLOW,
                0,
                IN_ROOT,
            )?;
            clear(parent.as_fd(), &name, false)?;
            sys::linkat(
                from.as_fd(),
                c"",
                parent.as_fd(),
                &name,
                libc::AT_EMPTY_PATH,
            )?;
            return Ok(None);
        }
        tar::EntryType::Char | tar::EntryType::Block | tar::EntryType::Fifo => {
            let major = header.device_major().ok().flatten().unwrap_or(0);
            let minor = header.device_minor().ok().flatten().unwrap_or(0);
            let ftype = match kind {
                tar::EntryType::Char => libc::S_IFCHR,
                tar::EntryType::Block => libc::S_IFBLK,
                _ => libc::S_IFIFO,
            };
            clear(parent.as_fd(), &name, false)?;
            sys::mknodat(
                parent.as_fd(),
                &name,
                ftype | mode,
                libc::makedev(major, minor),
            )?;
        }
        _ => return Ok(None),
    }
    let at: &CStr = written.as_deref().unwrap_or(&name);
    let meta = set_metadata(
        entry,
        At::Entry(parent.as_fd(), at),
        kind,
        owners,
        how,
        mode,
        is_dir,
    );
    if let Some(tmp) = written {
        if let Err(e) = meta {
            let _ = sys::unlinkat(parent.as_fd(), &tmp, 0);
            return Err(e);
        }
        pending.push(parts, Temp::Named(tmp), name);
        return Ok(None);
    }
    meta?;
    let mtime = header.mtime().unwrap_or(0) as i64;
    // Later members change a directory's mtime; the caller sets it at the end.
    Ok(if is_dir {
        Some((join(parts), mtime))
    } else {
        None
    })
}

/// Owner, then extended attributes, then mode (chown clears setuid), then times (a
/// directory's at the end of the extraction).
fn set_metadata<R: Read>(
    entry: &mut tar::Entry<'_, R>,
    at: At<'_>,
    kind: tar::EntryType,
    owners: &Owners,
    how: &TarHow,
    mode: u32,
    is_dir: bool,
) -> io::Result<()> {
    let header = entry.header().clone();
    let uid = header
        .username_bytes()
        .and_then(|n| owners.users.get(n).copied())
        .or_else(|| header.uid().ok().map(|u| u as u32))
        .unwrap_or(0);
    let gid = header
        .groupname_bytes()
        .and_then(|n| owners.groups.get(n).copied())
        .or_else(|| header.gid().ok().map(|g| g as u32))
        .unwrap_or(0);
    match at {
        At::Entry(parent, name) => {
            sys::fchownat(parent, name, uid, gid, libc::AT_SYMLINK_NOFOLLOW)?
        }
        At::File(fd) => sys::fchownat(fd, c"", uid, gid, libc::AT_EMPTY_PATH)?,
    }
    if how.xattrs {
        if let Some(exts) = entry.pax_extensions()? {
            for ext in exts {
                let ext = ext?;
                if let Some(xname) = ext.key_bytes().strip_prefix(b"SCHILY.xattr.") {
                    let xname = sys::cstring(xname)?;
                    match at {
                        At::Entry(parent, name) => {
                            let path = attrs_path(parent, name);
                            sys::setxattr(&path, &xname, ext.value_bytes(), true)?
                        }
                        // Through /proc: the magic link leads to the file.
                        At::File(fd) => {
                            sys::setxattr(&attrs::proc_fd(fd), &xname, ext.value_bytes(), false)?
                        }
                    }
                }
            }
        }
    }
    if kind != tar::EntryType::Symlink {
        match at {
            At::Entry(parent, name) => {
                let fd = sys::openat2(parent, name, libc::O_PATH | libc::O_NOFOLLOW, 0, ONE)?;
                attrs::chmod_fd(fd.as_fd(), mode)?;
            }
            At::File(fd) => attrs::chmod_fd(fd, mode)?,
        }
    }
    let mtime = header.mtime().unwrap_or(0) as i64;
    if !is_dir {
        let times = [(0, libc::UTIME_NOW), (mtime, 0)];
        match at {
            At::Entry(parent, name) => {
                sys::utimensat(Some(parent), name, times, libc::AT_SYMLINK_NOFOLLOW)?
            }
            At::File(fd) => sys::utimensat(None, &attrs::proc_fd(fd), times, 0)?,
        }
    }
    Ok(())
}

/// What [`set_metadata`] changes: an entry in a directory, not followed, or an open file
/// (an unnamed one).
#[derive(Debug, Clone, Copy)]
enum At<'a> {
    Entry(BorrowedFd<'a>, &'a CStr),
    File(BorrowedFd<'a>),
}

fn attrs_path(dir: BorrowedFd<'_>, name: &CStr) -> CString {
    let mut v = attrs::proc_fd(dir).into_bytes();
    v.push(b'/');
    v.extend_from_slice(name.to_bytes());
    CString::new(v).expect("names hold no NUL")
}

/// A reader of exactly `len` bytes: the file's, padded with zeros if it shrank meanwhile
/// (a tar member's size is fixed by its header).
struct Exact<R> {
    inner: R,
    left: u64,
}

impl<R: Read> Read for Exact<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.left == 0 {
            return Ok(0);
        }
        let want = buf.len().min(self.left as usize);
        let n = match self.inner.read(&mut buf[..want])? {
            0 => {
                buf[..want].fill(0);
                want
            }
            n => n,
        };
        self.left -= n as u64;
        Ok(n)
    }
}

struct Packer<'o, W: Write> {
    builder: tar::Builder<W>,
    how: &'o TarHow,
    owners: Owners,
    links: HashMap<(u64, u64), Vec<u8>>,
    cancel: CancelFlag,
}

impl<W: Write> Packer<'_, W> {
    fn excluded(&self, rel: &[u8]) -> bool {
        let base = rel.rsplit(|&b| b == b'/').next().unwrap_or(rel);
        let dotted = [b"./", rel].concat();
        self.how.excludes.iter().any(|p| {
            let p = p.as_bytes();
            crate::fs::glob::fnmatch(p, rel, false)
                || crate::fs::glob::fnmatch(p, &dotted, false)
                || crate::fs::glob::fnmatch(p, base, false)
        })
    }

    fn header(&self, st: &libc::stat, kind: tar::EntryType) -> io::Result<tar::Header> {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(kind);
        h.set_mode(st.st_mode & 0o7777);
        h.set_uid(u64::from(st.st_uid));
        h.set_gid(u64::from(st.st_gid));
        h.set_mtime(st.st_mtime.max(0) as u64);
        h.set_size(0);
        if !self.how.numericowner {
            if let Some(n) = self.owners.user_name(st.st_uid) {
                let _ = h.set_username(&String::from_utf8_lossy(n));
            }
            if let Some(n) = self.owners.group_name(st.st_gid) {
                let _ = h.set_groupname(&String::from_utf8_lossy(n));
            }
        }
        Ok(h)
    }

    fn xattrs(&mut self, dir: BorrowedFd<'_>, name: &CStr) -> io::Result<()> {
        if !self.how.xattrs {
            return Ok(());
        }
        let path = attrs_path(dir, name);
        let list = match sys::listxattr(&path, true) {
            Ok(l) => l,
            Err(e) if e.raw_os_error() == Some(libc::EOPNOTSUPP) => return Ok(()),
            Err(e) => return Err(e),
        };
        let mut records: Vec<(String, Vec<u8>)> = Vec::new();
        for xname in list.split(|&b| b == 0).filter(|n| !n.is_empty()) {
            let Ok(value) = sys::getxattr(&path, &sys::cstring(xname)?, true) else {
                continue;
            };
            records.push((
                format!("SCHILY.xattr.{}", String::from_utf8_lossy(xname)),
                value,
            ));
        }
        if !records.is_empty() {
            self.builder
                .append_pax_extensions(records.iter().map(|(k, v)| (k.as_str(), v.as_slice())))?;
        }
        Ok(())
    }

    /// Appends a member under exactly `name` (and link target), which `tar::Builder`
    /// would normalize (it drops a leading `./`). Names that do not fit the header's fields
    /// go in GNU long-name (`L`) and long-link (`K`) members before it, as GNU tar writes.
    fn append_named(
        &mut self,
        h: &mut tar::Header,
        name: &[u8],
        link: Option<&[u8]>,
        data: impl Read,
    ) -> io::Result<()> {
        let long = |kind: u8, value: &[u8]| -> io::Result<tar::Header> {
            let mut l = tar::Header::new_gnu();
            l.as_old_mut().name[..13].copy_from_slice(b"././@LongLink");
            l.set_mode(0o644);
            l.set_entry_type(tar::EntryType::new(kind));
            l.set_size(value.len() as u64 + 1);
            gnu_cksum(&mut l);
            Ok(l)
        };
        let field = h.as_old().name.len();
        if name.len() > field {
            let l = long(b'L', name)?;
            self.builder.append(&l, [name, b"\0"].concat().as_slice())?;
        }
        let fits = name.len().min(field);
        let old = h.as_old_mut();
        old.name.fill(0);
        old.name[..fits].copy_from_slice(&name[..fits]);
        if let Some(link) = link {
            let field = h.as_old().linkname.len();
            if link.len() > field {
                let l = long(b'K', link)?;
                self.builder.append(&l, [link, b"\0"].concat().as_slice())?;
            }
            let fits = link.len().min(field);
            let old = h.as_old_mut();
            old.linkname.fill(0);
            old.linkname[..fits].copy_from_slice(&link[..fits]);
        }
        gnu_cksum(h);
        self.builder.append(h, data)
    }

    fn add(
        &mut self,
        dir: BorrowedFd<'_>,
        name: &CStr,
        rel: &[u8],
        st: &libc::stat,
    ) -> io::Result<()> {
        self.cancel.check()?;
        // Members are named as GNU tar names them when it archives `.`: `./`, `./a`, `./a/`.
        let path = [b"./", rel].concat();
        match st.st_mode & libc::S_IFMT {
            libc::S_IFREG => {
                if st.st_nlink > 1 {
                    if let Some(first) = self.links.get(&(st.st_dev, st.st_ino)) {
                        let first = first.clone();
                        let mut h = self.header(st, tar::EntryType::Link)?;
                        return self.append_named(&mut h, &path, Some(&first), io::empty());
                    }
                    self.links.insert((st.st_dev, st.st_ino), path.clone());
                }
                let f = File::from(sys::openat2(
                    dir,
                    name,
                    libc::O_RDONLY | libc::O_NOFOLLOW | libc::O_NONBLOCK,
                    0,
                    ONE,
                )?);
                let mut h = self.header(st, tar::EntryType::Regular)?;
                h.set_size(st.st_size as u64);
                self.xattrs(dir, name)?;
                let data = Exact {
                    inner: f,
                    left: st.st_size as u64,
                };
                self.append_named(&mut h, &path, None, data)
            }
            libc::S_IFDIR => {
                let mut h = self.header(st, tar::EntryType::Directory)?;
                self.xattrs(dir, name)?;
                let mut p = path;
                if !p.ends_with(b"/") {
                    p.push(b'/');
                }
                self.append_named(&mut h, &p, None, io::empty())
            }
            libc::S_IFLNK => {
                let target = sys::readlinkat(dir, name)?;
                let mut h = self.header(st, tar::EntryType::Symlink)?;
                self.xattrs(dir, name)?;
                self.append_named(&mut h, &path, Some(&target), io::empty())
            }
            libc::S_IFCHR | libc::S_IFBLK | libc::S_IFIFO => {
                let kind = match st.st_mode & libc::S_IFMT {
                    libc::S_IFCHR => tar::EntryType::Char,
                    libc::S_IFBLK => tar::EntryType::Block,
                    _ => tar::EntryType::Fifo,
                };
                let mut h = self.header(st, kind)?;
                h.set_device_major(libc::major(st.st_rdev))?;
                h.set_device_minor(libc::minor(st.st_rdev))?;
                self.xattrs(dir, name)?;
                self.append_named(&mut h, &path, None, io::empty())
            }
            // Sockets cannot be archived.
            _ => Ok(()),
        }
    }
}

impl<W: Write> Visitor for Packer<'_, W> {
    fn enter(&mut self, v: &Visit<'_>) -> io::Result<bool> {
        if self.excluded(v.rel) {
            return Ok(false);
        }
        self.add(v.dir, v.name, v.rel, v.stat)?;
        Ok(true)
    }
}

/// Sets a header's checksum as GNU tar writes it: six octal digits, a NUL and a space
/// (the `tar` crate writes seven digits and a NUL, which GNU tar also reads).
fn gnu_cksum(h: &mut tar::Header) {
    h.as_old_mut().cksum = *b"        ";
    let sum: u32 = h.as_bytes().iter().map(|&b| u32::from(b)).sum();
    let text = format!("{:06o}\0 ", sum & 0o777_777);
    h.as_old_mut().cksum.copy_from_slice(text.as_bytes());
}

/// GNU tar's record: 20 blocks of 512 bytes. It writes whole records, so an archive ends
/// in zeros up to a multiple of this.
const RECORD: u64 = 20 * 512;

/// A writer that counts what it passes on.
struct Counted<W> {
    inner: W,
    written: u64,
}

impl<W: Write> Write for Counted<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.written += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

fn pack<W: Write>(root: &OwnedFd, out: W, how: &TarHow, cancel: CancelFlag) -> io::Result<W> {
    let mut packer = Packer {
        builder: tar::Builder::new(Counted {
            inner: out,
            written: 0,
        }),
        how,
        owners: if how.numericowner {
            Owners::default()
        } else {
            Owners::load()
        },
        links: HashMap::new(),
        cancel,
    };
    let st = walk::fstat(root.as_fd())?;
    packer.add(root.as_fd(), c".", b"", &st)?;
    // The members in the order the kernel lists each directory, as GNU tar (which
    // libguestfs's tar-out runs) writes them.
    walk::walk_in(root.as_fd(), &mut packer, walk::Order::Kernel)?;
    let mut out = packer.builder.into_inner()?;
    let short = (RECORD - out.written % RECORD) % RECORD;
    io::copy(&mut io::repeat(0).take(short), &mut out)?;
    Ok(out.inner)
}

/// Packs `dir` into the output stream.
pub fn tar_out(call: &mut Call, dir: &GuestPath, how: &TarHow) -> io::Result<()> {
    let root = dirs::open_dir(dir)?;
    let cancel = call.cancel_flag();
    let out = io::BufWriter::with_capacity(1 << 20, call.output());
    let mut out = match how.compress {
        Compression::None => pack(&root, out, how, cancel)?,
        Compression::Gzip => {
            let enc = flate2::write::GzEncoder::new(out, flate2::Compression::fast());
            pack(&root, enc, how, cancel)?.finish()?
        }
        Compression::Xz => {
            let enc = liblzma::write::XzEncoder::new(out, 1);
            pack(&root, enc, how, cancel)?.finish()?
        }
        Compression::Zstd => {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "tar_out cannot write zstd; use compress:gzip or compress:xz",
            ))
        }
    };
    out.flush()?;
    let mut inner = out.into_inner().map_err(|e| e.into_error())?;
    inner.flush()
}

#[cfg(test)]
mod tests {
    use super::sanitize;

    #[test]
    fn member_names_stay_inside() {
        assert_eq!(sanitize(b"./a/b").unwrap(), [b"a" as &[u8], b"b"]);
        assert_eq!(
            sanitize(b"/etc/passwd").unwrap(),
            [b"etc" as &[u8], b"passwd"]
        );
        assert!(sanitize(b"../x").is_none());
        assert!(sanitize(b"a/../../x").is_none());
        assert!(sanitize(b"./").unwrap().is_empty());
    }
}
