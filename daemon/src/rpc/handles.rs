//! Open files held for the caller (the FUSE front end): a table from u64 handles to files.
//!
//! Reads and writes of different handles, and of the same handle, run at the same time on
//! the request threads: the table's lock is held only to look a handle up (the file is an
//! `Arc`), never around I/O. A closed handle's file is closed once the last call using it
//! returns. The table is bounded and emptied before unmounting.

use crate::{fs::guestfs, fs::walk};
use guestwright_protocol::{Data, FileHandle, GuestPath, Stat};
use guestwright_sync::Mutex;
use std::collections::HashMap;
use std::fs::File;
use std::io;
use std::os::fd::AsFd;
use std::os::unix::fs::FileExt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Most files open at once.
pub const MAX_HANDLES: usize = 4096;
/// Most bytes per read.
pub const MAX_READ: u64 = 4 * 1024 * 1024;

static TABLE: Mutex<Option<HashMap<u64, Arc<File>>>> = Mutex::new(None);
static NEXT: AtomicU64 = AtomicU64::new(1);

/// open(2) flags a caller may pass: access mode and how writes behave.
const ALLOWED: i32 = libc::O_ACCMODE
    | libc::O_APPEND
    | libc::O_TRUNC
    | libc::O_SYNC
    | libc::O_DSYNC
    | libc::O_NOATIME
    | libc::O_DIRECT
    | libc::O_LARGEFILE
    | libc::O_NONBLOCK
    | libc::O_CLOEXEC
    | libc::O_NOCTTY
    | libc::O_DIRECTORY;

fn insert(file: File) -> io::Result<FileHandle> {
    let mut t = TABLE.lock();
    let table = t.get_or_insert_with(HashMap::new);
    if table.len() >= MAX_HANDLES {
        return Err(io::Error::from_raw_os_error(libc::EMFILE));
    }
    let id = NEXT.fetch_add(1, Ordering::Relaxed);
    table.insert(id, Arc::new(file));
    drop(t);
    Ok(FileHandle(id))
}

fn get(h: FileHandle) -> io::Result<Arc<File>> {
    TABLE
        .lock()
        .as_ref()
        .and_then(|t| t.get(&h.0).cloned())
        .ok_or_else(|| io::Error::from_raw_os_error(libc::EBADF))
}

fn check_flags(flags: i32) -> io::Result<i32> {
    if flags & !ALLOWED != 0 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("open flags {flags:#o} hold bits other than the access mode, O_APPEND, O_TRUNC, O_SYNC, O_DSYNC, O_NOATIME, O_DIRECT, O_DIRECTORY"),
        ));
    }
    Ok(flags | libc::O_NONBLOCK | libc::O_NOCTTY)
}

fn regular(file: File) -> io::Result<File> {
    let kind = file.metadata()?.file_type();
    if kind.is_dir() {
        return Err(io::Error::from_raw_os_error(libc::EISDIR));
    }
    if !kind.is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "not a regular file",
        ));
    }
    Ok(file)
}

/// Opens an existing regular file with open(2) `flags`; with O_DIRECTORY (and read-only
/// access) a directory instead, never through a symlink at the last component, so that
/// `stat` and `setattr` still reach it after it was removed.
pub fn open(path: &GuestPath, flags: i32) -> io::Result<FileHandle> {
    let flags = check_flags(flags)?;
    if flags & libc::O_DIRECTORY != 0 {
        if flags & libc::O_ACCMODE != libc::O_RDONLY {
            return Err(io::Error::from_raw_os_error(libc::EISDIR));
        }
        let fd = guestfs::open(path, flags | libc::O_NOFOLLOW, 0)?;
        return insert(File::from(fd));
    }
    let fd = guestfs::open(path, flags, 0)?;
    insert(regular(File::from(fd))?)
}

/// Creates a new file (O_CREAT|O_EXCL, never through a symlink) and opens it.
pub fn create(path: &GuestPath, mode: u32, flags: i32) -> io::Result<FileHandle> {
    let flags = check_flags(flags)? | libc::O_CREAT | libc::O_EXCL | libc::O_NOFOLLOW;
    let fd = guestfs::open(path, flags, mode & 0o7777)?;
    insert(File::from(fd))
}

/// Up to `size` bytes (at most 4 MiB) at `offset`; fewer at the end of the file.
pub fn read(h: FileHandle, offset: u64, size: u64) -> io::Result<Data> {
    if size > MAX_READ {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("read of {size} bytes: at most {MAX_READ} per call"),
        ));
    }
    let f = get(h)?;
    crate::fs::fileops::read_at(&f, size as usize, offset).map(Data)
}

/// Writes `data` at `offset` (at the end for O_APPEND); returns the bytes written.
pub fn write(h: FileHandle, offset: u64, data: &[u8]) -> io::Result<u64> {
    let f = get(h)?;
    f.write_all_at(data, offset)?;
    Ok(data.len() as u64)
}

/// Most ranges one `write_ranges` call takes.
pub const MAX_RANGES: usize = 4096;

/// Writes `lengths[i]` bytes of `data` (the ranges one after the other) at `offsets[i]`, in
/// order; returns the bytes written. The first range that fails stops the call with its
/// errno, as a write(2) loop would.
pub fn write_ranges(
    h: FileHandle,
    offsets: &[u64],
    lengths: &[u64],
    data: &[u8],
) -> io::Result<u64> {
    let invalid = |what: String| Err(io::Error::new(io::ErrorKind::InvalidInput, what));
    if offsets.len() != lengths.len() {
        return invalid(format!(
            "{} offsets but {} lengths",
            offsets.len(),
            lengths.len()
        ));
    }
    if offsets.len() > MAX_RANGES {
        return invalid(format!(
            "{} ranges: at most {MAX_RANGES} per call",
            offsets.len()
        ));
    }
    let total = lengths
        .iter()
        .try_fold(0u64, |sum, &l| sum.checked_add(l))
        .filter(|&sum| sum == data.len() as u64);
    if total.is_none() {
        return invalid(format!(
            "the lengths do not add up to the {} bytes of data",
            data.len()
        ));
    }
    let f = get(h)?;
    let mut at = 0usize;
    for (&offset, &len) in offsets.iter().zip(lengths) {
        let len = len as usize;
        f.write_all_at(&data[at..at + len], offset)?;
        at += len;
    }
    Ok(at as u64)
}

/// fsync(2), or fdatasync(2) with `datasync`.
pub fn fsync(h: FileHandle, datasync: bool) -> io::Result<()> {
    let f = get(h)?;
    if datasync {
        f.sync_data()
    } else {
        f.sync_all()
    }
}

/// ftruncate(2).
pub fn truncate(h: FileHandle, size: u64) -> io::Result<()> {
    get(h)?.set_len(size)
}

/// fstat(2).
pub fn stat(h: FileHandle) -> io::Result<Stat> {
    let f = get(h)?;
    Ok(walk::to_stat(&walk::fstat(f.as_fd())?))
}

/// Sets attributes of an open file (see `attrs::set_fd`) and returns its fstat(2).
pub fn setattr(
    h: FileHandle,
    size: Option<u64>,
    owner: i64,
    group: i64,
    mode: Option<u32>,
    times: [(i64, i64); 2],
) -> io::Result<Stat> {
    let f = get(h)?;
    crate::fs::attrs::set_fd(&f, size, owner, group, mode, times)?;
    Ok(walk::to_stat(&walk::fstat(f.as_fd())?))
}

/// Forgets a handle; its file closes when no call uses it any more.
pub fn close(h: FileHandle) -> io::Result<()> {
    TABLE
        .lock()
        .as_mut()
        .and_then(|t| t.remove(&h.0))
        .map(drop)
        .ok_or_else(|| io::Error::from_raw_os_error(libc::EBADF))
}

/// Closes every handle (before unmounting).
pub fn close_all() {
    if let Some(t) = TABLE.lock().as_mut() {
        t.clear();
    }
}
