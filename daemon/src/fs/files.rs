//! Reading and writing whole files in the guest tree.

use crate::fs::guestfs;
use guestwright_protocol::{Data, FileContent, GuestPath};
use std::fs::File;
use std::io::{self, Read};
use std::os::unix::fs::FileTypeExt;

/// Largest file `read_file` returns in one reply; bigger ones go through `download`.
pub const READ_FILE_MAX: u64 = 4 * 1024 * 1024;

const READ_FLAGS: libc::c_int = libc::O_RDONLY | libc::O_NONBLOCK | libc::O_NOCTTY;

/// Opens a guest path for reading and insists on a regular file. `O_NONBLOCK` keeps a FIFO
/// planted in the guest from blocking the open.
pub fn open_regular(path: &GuestPath) -> io::Result<File> {
    regular(File::from(guestfs::open(path, READ_FLAGS, 0)?), path)
}

fn regular(file: File, path: &GuestPath) -> io::Result<File> {
    let kind = file.metadata()?.file_type();
    if kind.is_dir() {
        return Err(io::Error::from_raw_os_error(libc::EISDIR));
    }
    if !kind.is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{path}: not a regular file ({})", describe(kind)),
        ));
    }
    Ok(file)
}

fn describe(kind: std::fs::FileType) -> &'static str {
    if kind.is_fifo() {
        "a FIFO"
    } else if kind.is_block_device() {
        "a block device"
    } else if kind.is_char_device() {
        "a character device"
    } else if kind.is_socket() {
        "a socket"
    } else {
        "a special file"
    }
}

/// Reads a whole regular file of at most [`READ_FILE_MAX`] bytes.
pub fn read_file(path: &GuestPath) -> io::Result<Data> {
    read_all(open_regular(path)?, path)
}

/// [`read_file`] of the entry itself, to edit it: a symbolic link at the last component is
/// refused, so an edit never reads one file and writes another (see [`crate::fs::replace`]).
pub fn read_file_nofollow(path: &GuestPath) -> io::Result<Data> {
    let fd = guestfs::open_last(path, READ_FLAGS, 0, "edit")?;
    read_all(regular(File::from(fd), path)?, path)
}

fn read_all(file: File, path: &GuestPath) -> io::Result<Data> {
    let len = file.metadata()?.len();
    if len > READ_FILE_MAX {
        return Err(io::Error::new(
            io::ErrorKind::FileTooLarge,
            format!("{path} is {len} bytes, more than read_file returns ({READ_FILE_MAX}); use download"),
        ));
    }
    let mut data = Vec::with_capacity(len as usize);
    // The size may change under us; never read past the limit.
    file.take(READ_FILE_MAX + 1).read_to_end(&mut data)?;
    if data.len() as u64 > READ_FILE_MAX {
        return Err(io::Error::new(
            io::ErrorKind::FileTooLarge,
            format!("{path} grew past {READ_FILE_MAX} bytes while being read"),
        ));
    }
    Ok(Data(data))
}

/// `read_files`' size limit per file when the caller does not give one.
const SMALL_FILE_DEFAULT: u64 = 64 * 1024;
/// Most paths one `read_files` call takes.
const READ_FILES_MAX_PATHS: usize = 4096;
/// Data one `read_files` answer carries, under the reply's limit.
const READ_FILES_BUDGET: u64 = 3 * 1024 * 1024;

/// Whole small regular files, one answer per path in order (see the `read_files`
/// operation). A failure to read one file is that file's errno, never the call's.
pub fn read_files(paths: &[GuestPath], maxsize: Option<u64>) -> io::Result<Vec<FileContent>> {
    if paths.len() > READ_FILES_MAX_PATHS {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "read_files of {} paths: at most {READ_FILES_MAX_PATHS} per call",
                paths.len()
            ),
        ));
    }
    let max = maxsize.unwrap_or(SMALL_FILE_DEFAULT).min(READ_FILE_MAX);
    let mut budget = READ_FILES_BUDGET;
    Ok(paths
        .iter()
        .map(|path| {
            let (errno, data) = match read_small(path, max, budget) {
                Ok(data) => (0, data),
                Err(e) => (e, Vec::new()),
            };
            budget -= data.len() as u64;
            FileContent {
                path: path.clone(),
                errno,
                data: Data(data),
            }
        })
        .collect())
}

/// One file of `read_files`: a regular file (a symbolic link at the end is not followed)
/// of at most `max` bytes, or the errno that says why not (EAGAIN: over the `left` bytes the
/// answer still has room for).
fn read_small(path: &GuestPath, max: u64, left: u64) -> Result<Vec<u8>, i32> {
    if left == 0 {
        return Err(libc::EAGAIN);
    }
    let errno = |e: io::Error| e.raw_os_error().unwrap_or(libc::EIO);
    let file = File::from(guestfs::open(path, READ_FLAGS | libc::O_NOFOLLOW, 0).map_err(errno)?);
    let meta = file.metadata().map_err(errno)?;
    if !meta.file_type().is_file() {
        return Err(libc::EINVAL);
    }
    let too_big = |len: u64| {
        if len > max {
            Err(libc::EFBIG)
        } else if len > left {
            Err(libc::EAGAIN)
        } else {
            Ok(())
        }
    };
    too_big(meta.len())?;
    let mut data = Vec::with_capacity(meta.len() as usize);
    // The size may change under us; never read past the limits.
    (&file)
        .take(max.min(left) + 1)
        .read_to_end(&mut data)
        .map_err(errno)?;
    too_big(data.len() as u64)?;
    Ok(data)
}

/// Creates or replaces a file with `content`, atomically, as [`crate::fs::replace`] does (a
/// symbolic link there is replaced, not followed); the data is on the disk when this returns.
pub fn write_file(path: &GuestPath, content: &[u8]) -> io::Result<()> {
    crate::fs::replace::replace_file(path, content)
}
