//! The transfer disk: a scratch drive (serial [`XFER_SERIAL`]) the host writes bulk upload
//! data to, so it reaches the daemon as large block reads instead of the virtio-serial
//! channel's 4 KiB buffers (one interrupt each, about 35 MB/s under TCG). The channel only
//! carries the regions (`ChunkAt`), and the daemon acknowledges each (`Consumed`).
//!
//! Reads use O_DIRECT: the host rewrites the same regions, so the guest page cache must
//! never keep a copy of them.

use guestwright_protocol::{Region, XFER_SERIAL};
use std::fs::File;
use std::io;
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::sync::OnceLock;

/// Alignment O_DIRECT needs for offsets, lengths and memory.
const ALIGN: usize = 4096;

static DEVICE: OnceLock<Option<File>> = OnceLock::new();

fn find() -> Option<File> {
    // A restored appliance binds the disk when it is first used.
    if let Err(e) = crate::vblk::bind(crate::vblk::Role::Xfer) {
        info!("the transfer disk: {e}");
    }
    for entry in std::fs::read_dir("/sys/block").ok()?.flatten() {
        let serial = std::fs::read_to_string(entry.path().join("serial")).unwrap_or_default();
        if serial.trim() == XFER_SERIAL {
            let dev = std::path::Path::new("/dev").join(entry.file_name());
            return File::options()
                .read(true)
                .write(true)
                .custom_flags(libc::O_DIRECT)
                .open(&dev)
                .map_err(|e| info!("cannot open the transfer disk {}: {e}", dev.display()))
                .ok();
        }
    }
    None
}

/// A piece of an input stream. One read off the transfer disk keeps its bytes at a
/// 4096-aligned address, so it can go on to a file with O_DIRECT without another copy.
#[derive(Debug)]
pub struct Chunk {
    buf: Vec<u8>,
    start: usize,
    len: usize,
}

impl Chunk {
    /// A chunk that came as bytes in a frame.
    pub fn plain(buf: Vec<u8>) -> Chunk {
        let len = buf.len();
        Chunk { buf, start: 0, len }
    }
    /// The bytes.
    pub fn as_slice(&self) -> &[u8] {
        &self.buf[self.start..self.start + self.len]
    }
    /// Whether the bytes start at an address O_DIRECT accepts.
    pub fn is_aligned(&self) -> bool {
        self.as_slice().as_ptr().align_offset(ALIGN) == 0
    }
    /// The bytes as a vector of their own.
    pub fn into_vec(mut self) -> Vec<u8> {
        if self.start != 0 {
            self.buf.copy_within(self.start..self.start + self.len, 0);
        }
        self.buf.truncate(self.len);
        self.buf
    }
}

fn device() -> io::Result<&'static File> {
    DEVICE.get_or_init(find).as_ref().ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::NotFound,
            "the host offered a transfer disk this appliance does not have",
        )
    })
}

/// Writes `block` (4096-aligned in memory and in length; its first `region.len` bytes are
/// the data) at the region's offset.
pub fn write(region: Region, block: &[u8]) -> io::Result<()> {
    if block.as_ptr().align_offset(ALIGN) != 0
        || !block.len().is_multiple_of(ALIGN)
        || block.len() < region.len as usize
    {
        return Err(io::Error::from_raw_os_error(libc::EINVAL));
    }
    device()?.write_all_at(block, region.offset)
}

/// Reads one region of the transfer disk.
pub fn read(region: Region) -> io::Result<Chunk> {
    let dev = device()?;
    let len = region.len as usize;
    let padded = len.div_ceil(ALIGN) * ALIGN;
    let mut buf = vec![0u8; padded + ALIGN];
    let start = buf.as_ptr().align_offset(ALIGN);
    let mut done = 0;
    while done < padded {
        match dev.read_at(
            &mut buf[start + done..start + padded],
            region.offset + done as u64,
        ) {
            Ok(0) => return Err(io::Error::from_raw_os_error(libc::EIO)),
            Ok(n) => done += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(Chunk { buf, start, len })
}
