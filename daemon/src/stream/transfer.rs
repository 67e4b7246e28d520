//! Streams of file contents: `upload` and `download` of any size, and their `_offset`
//! forms. Data moves in the channel's 1 MiB chunks straight to and from the file, with
//! progress reports and a cancel check at every chunk.

use crate::block::blockdev::ResolvedDevOrPath;
use crate::call::Call;
use crate::{fs::files, fs::guestfs};
use guestwright_protocol::GuestPath;
use std::fs::File;
use std::io::{self, Read, Seek, Write};
use std::os::fd::AsFd;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileExt, OpenOptionsExt};

/// Bytes read from a file per read(2) on download.
const READ_BLOCK: usize = 1024 * 1024;

/// Opens an existing file (or creates one, 0644) to write into it in place; a symbolic link
/// at the last component is refused, never written through.
fn open_in_place(path: &GuestPath) -> io::Result<File> {
    let flags = libc::O_WRONLY | libc::O_CREAT | libc::O_NONBLOCK | libc::O_NOCTTY;
    let file = File::from(guestfs::open_last(path, flags, 0o644, "write into")?);
    let kind = file.metadata()?.file_type();
    if kind.is_dir() {
        return Err(io::Error::from_raw_os_error(libc::EISDIR));
    }
    if !kind.is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{path}: not a regular file"),
        ));
    }
    Ok(file)
}

/// The same file opened again with O_DIRECT, when its filesystem allows that.
fn direct(file: &File) -> Option<File> {
    let path = crate::fs::attrs::proc_fd(file.as_fd());
    File::options()
        .write(true)
        .custom_flags(libc::O_DIRECT)
        .open(std::ffi::OsStr::from_bytes(path.as_bytes()))
        .ok()
}

/// Writes the whole input stream into `file` from `offset`; returns the bytes written.
///
/// Whole aligned blocks from the transfer disk are written with O_DIRECT: under TCG the
/// page cache's per-page work, not the copy, is what limits buffered writes (about 65
/// against 150+ MB/s here). The rest goes through the page cache.
fn receive(call: &mut Call, file: &File, offset: u64) -> io::Result<u64> {
    let dio = direct(file);
    let mut done = 0u64;
    while let Some(chunk) = call.next_chunk()? {
        let data = chunk.as_slice();
        let at = offset + done;
        let aligned =
            chunk.is_aligned() && at.is_multiple_of(4096) && data.len().is_multiple_of(4096);
        match &dio {
            Some(d) if aligned => match d.write_all_at(data, at) {
                // Some filesystems refuse particular direct writes; the page cache takes them.
                Err(e) if e.raw_os_error() == Some(libc::EINVAL) => file.write_all_at(data, at)?,
                other => other?,
            },
            _ => file.write_all_at(data, at)?,
        }
        done += data.len() as u64;
        call.progress(done, 0);
    }
    Ok(done)
}

/// A device opened to be written in place.
fn open_device_write(node: &std::path::Path) -> io::Result<File> {
    File::options()
        .write(true)
        .custom_flags(libc::O_NOCTTY)
        .open(node)
}

/// `upload`: writes the stream into a new file that replaces `path` at the end, as
/// [`crate::fs::replace`] does (mode 0644 when new; a symbolic link there is replaced, not
/// followed); the data is on disk when the call returns, and on failure the old file stays.
/// A device is written in place from its start.
pub fn upload(call: &mut Call, path: &ResolvedDevOrPath) -> io::Result<()> {
    match path {
        ResolvedDevOrPath::Device(dev) => {
            let file = open_device_write(dev.node())?;
            receive(call, &file, 0)?;
            file.sync_all()
        }
        ResolvedDevOrPath::Path(path) => {
            let mut r = crate::fs::replace::Replacement::begin(path)?;
            receive(call, r.file(), 0)?;
            r.commit()
        }
    }
}

/// `upload_offset`: writes the stream into `path` from `offset`, without truncating;
/// creates the file if missing. A device is written in place.
pub fn upload_offset(call: &mut Call, path: &ResolvedDevOrPath, offset: u64) -> io::Result<()> {
    let file = match path {
        ResolvedDevOrPath::Device(dev) => open_device_write(dev.node())?,
        ResolvedDevOrPath::Path(path) => open_in_place(path)?,
    };
    receive(call, &file, offset)?;
    file.sync_all()
}

/// The same file opened again for reading with O_DIRECT, when its filesystem allows that.
fn direct_read(file: &File) -> Option<File> {
    let path = crate::fs::attrs::proc_fd(file.as_fd());
    File::options()
        .read(true)
        .custom_flags(libc::O_DIRECT)
        .open(std::ffi::OsStr::from_bytes(path.as_bytes()))
        .ok()
}

/// Sends up to `size` bytes of `file` from `offset` (to its end when `size` is None).
fn send(call: &mut Call, mut file: &File, offset: u64, size: Option<u64>) -> io::Result<()> {
    let meta = file.metadata()?;
    let len = if meta.is_file() {
        meta.len()
    } else {
        // A block device's size is where its end is.
        file.seek(io::SeekFrom::End(0))?
    };
    let total = size.unwrap_or(len.saturating_sub(offset));
    // Aligned, so a block can go to the transfer disk with O_DIRECT as it is.
    let mut buf = vec![0u8; READ_BLOCK + 2 * 4096];
    let start = buf.as_ptr().align_offset(4096);
    // Whole blocks are read with O_DIRECT too: then no byte passes through the guest's CPU.
    let mut dio = offset
        .is_multiple_of(4096)
        .then(|| direct_read(file))
        .flatten();
    let mut done = 0u64;
    while done < total {
        let want = (total - done).min(READ_BLOCK as u64) as usize;
        let at = offset + done;
        let read = match &dio {
            Some(d) => d
                .read_at(&mut buf[start..start + want.div_ceil(4096) * 4096], at)
                .map(|n| n.min(want)),
            None => file.read_at(&mut buf[start..start + want], at),
        };
        let n = match read {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            // Some filesystems refuse direct reads: the page cache serves them.
            Err(e) if dio.is_some() && e.raw_os_error() == Some(libc::EINVAL) => {
                dio = None;
                continue;
            }
            Err(e) => return Err(e),
        };
        // A short direct read leaves the block grid: the rest goes through the page cache.
        if !n.is_multiple_of(4096) {
            dio = None;
        }
        let whole = n.div_ceil(4096) * 4096;
        call.send_block(&buf[start..start + whole], n)?;
        done += n as u64;
        call.progress(done, total);
    }
    Ok(())
}

/// A regular file, or a device, opened to be read.
fn open_read(path: &ResolvedDevOrPath) -> io::Result<File> {
    match path {
        ResolvedDevOrPath::Device(dev) => File::open(dev.node()),
        ResolvedDevOrPath::Path(path) => files::open_regular(path),
    }
}

/// `download`: streams a whole regular file, or a whole device.
pub fn download(call: &mut Call, path: &ResolvedDevOrPath) -> io::Result<()> {
    send(call, &open_read(path)?, 0, None)
}

/// `download_offset`: streams `size` bytes from `offset` (fewer at the end of the file or
/// device).
pub fn download_offset(
    call: &mut Call,
    path: &ResolvedDevOrPath,
    offset: u64,
    size: u64,
) -> io::Result<()> {
    send(call, &open_read(path)?, offset, Some(size))
}

/// Reads a whole stream into a writer in large blocks (tar and checksum streams).
pub fn copy_stream(from: &mut dyn Read, to: &mut dyn Write) -> io::Result<u64> {
    let mut buf = vec![0u8; READ_BLOCK];
    let mut total = 0;
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) => return Ok(total),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        to.write_all(&buf[..n])?;
        total += n as u64;
    }
}
