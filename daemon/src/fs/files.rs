//! Reading and writing whole files in the guest tree.

use crate::fs::guestfs;
use guestwright_protocol::{Data, GuestPath};
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

/// Creates or replaces a file with `content`, atomically, as [`crate::fs::replace`] does (a
/// symbolic link there is replaced, not followed); the data is on the disk when this returns.
pub fn write_file(path: &GuestPath, content: &[u8]) -> io::Result<()> {
    crate::fs::replace::replace_file(path, content)
}
