//! Operations on many names of one directory at once (`lstatnslist`, `readlinklist`, which
//! guestfish and virt-ls use to list a directory in one round trip) and the file generators
//! of libguestfs's test suites (`fill`, `fill-pattern`, `fill-dir`).
//!
//! Every name is one component opened relative to its directory's descriptor, never a path
//! joined into a string, so a name with `/` or `..` cannot reach outside the directory.

use crate::fs::guestfs;
use crate::fs::text::to_statns;
use crate::fs::walk;
use crate::sys;
use guestwright_protocol::{GuestPath, StatNs};
use std::fs::File;
use std::io::{self, Write};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

/// Bytes written per write(2) by the fill operations.
const CHUNK: usize = 128 * 1024;

/// The check libguestfs's generated stubs make on a list of file names (`lstatlist`,
/// `lstatnslist`, `readlinklist`, `lxattrlist`): a name with `/` in it is refused before
/// anything is looked up, in libguestfs's words (tests/regressions/rhbz1174551.sh).
pub fn check_file_names(op: &str, names: &[String]) -> io::Result<()> {
    match names.iter().find(|n| n.contains('/')) {
        Some(n) => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{op}: names: '{n}' is not a file name"),
        )),
        None => Ok(()),
    }
}

fn open_dir(path: &GuestPath) -> io::Result<OwnedFd> {
    guestfs::open(path, libc::O_PATH | libc::O_DIRECTORY, 0)
}

/// `lstatnslist`: the `lstatns` of each name in `dir`, in order. A name that cannot be
/// lstat'd (missing, or not a single file name) gets a struct whose `st_ino` is -1, as
/// libguestfs documents.
pub fn lstatnslist(dir: &GuestPath, names: &[String]) -> io::Result<Vec<StatNs>> {
    check_file_names("lstatnslist", names)?;
    let fd = open_dir(dir)?;
    Ok(names
        .iter()
        .map(|name| match lstat_name(fd.as_fd(), name) {
            Ok(st) => to_statns(&st),
            Err(_) => StatNs {
                st_ino: -1,
                ..StatNs::default()
            },
        })
        .collect())
}

fn lstat_name(dir: BorrowedFd<'_>, name: &str) -> io::Result<libc::stat> {
    walk::lstat_at(dir, &walk::component(name.as_bytes())?)
}

/// `readlinklist`: the target of each name in `dir` that is a symbolic link, in order; the
/// empty string for a name that is not one (or cannot be read), as libguestfs documents.
pub fn readlinklist(dir: &GuestPath, names: &[String]) -> io::Result<Vec<String>> {
    check_file_names("readlinklist", names)?;
    let fd = open_dir(dir)?;
    Ok(names
        .iter()
        .map(|name| {
            walk::component(name.as_bytes())
                .and_then(|c| sys::readlinkat(fd.as_fd(), &c))
                .map(|t| String::from_utf8_lossy(&t).into_owned())
                .unwrap_or_default()
        })
        .collect())
}

fn check_len(len: i32) -> io::Result<usize> {
    usize::try_from(len).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("the length must not be negative (got {len})"),
        )
    })
}

/// Opens the regular file at `path` for writing from its start, creating it if needed. Like
/// libguestfs's, an existing file is not emptied first: bytes past the new ones stay. A
/// symbolic link there is refused, never followed.
fn create(path: &GuestPath, what: &str) -> io::Result<File> {
    let fd = guestfs::open_last(
        path,
        libc::O_WRONLY | libc::O_CREAT | libc::O_NOCTTY | libc::O_NONBLOCK,
        0o666,
        what,
    )?;
    Ok(File::from(fd))
}

/// Writes `len` bytes of `pattern` repeated (and cut) to `file`.
fn write_pattern(file: &mut File, pattern: &[u8], len: usize) -> io::Result<()> {
    let mut chunk = Vec::with_capacity(CHUNK.min(len) + pattern.len());
    while chunk.len() < CHUNK.min(len) {
        chunk.extend_from_slice(pattern);
    }
    let mut left = len;
    while left > 0 {
        let n = left.min(CHUNK);
        file.write_all(&chunk[..n])?;
        left -= n;
    }
    file.sync_data()
}

/// `fill`: the first `len` bytes of the file at `path` become the octet `c`.
pub fn fill(c: i32, len: i32, path: &GuestPath) -> io::Result<()> {
    let byte = u8::try_from(c).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("fill: {c} is not an octet: give 0 to 255"),
        )
    })?;
    let len = check_len(len)?;
    write_pattern(&mut create(path, "fill")?, &[byte], len)
}

/// `fill_pattern`: the first `len` bytes of the file at `path` become `pattern` repeated
/// (the last repetition cut).
pub fn fill_pattern(pattern: &str, len: i32, path: &GuestPath) -> io::Result<()> {
    if pattern.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "fill_pattern: the pattern is empty: give at least one character",
        ));
    }
    let len = check_len(len)?;
    write_pattern(&mut create(path, "fill_pattern")?, pattern.as_bytes(), len)
}

/// `fill_dir`: `nr` empty files in `dir`, named `00000000` up to `nr - 1` in eight digits.
pub fn fill_dir(dir: &GuestPath, nr: i32) -> io::Result<()> {
    let nr = check_len(nr)?;
    let fd = guestfs::open(dir, libc::O_PATH | libc::O_DIRECTORY, 0)?;
    for i in 0..nr {
        let name = sys::cstring(format!("{i:08}").as_bytes())?;
        sys::openat2(
            fd.as_fd(),
            &name,
            libc::O_WRONLY | libc::O_CREAT | libc::O_TRUNC | libc::O_NOCTTY | libc::O_NOFOLLOW,
            0o666,
            sys::RESOLVE_BENEATH | sys::RESOLVE_NO_SYMLINKS | sys::RESOLVE_NO_MAGICLINKS,
        )?;
    }
    Ok(())
}
