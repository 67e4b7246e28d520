//! Open files: the daemon's file handle behind each FUSE file handle, and read-ahead.
//!
//! The kernel reads a file in requests of its read-ahead size (128 KiB by default), and
//! each round trip to the appliance costs about a millisecond under TCG, while bulk data on
//! the virtio-serial channel moves at about 35 MB/s. So a handle that reads a large file
//! sequentially fetches 4 MiB chunks with `download_offset`, whose data comes through the
//! transfer disk (hundreds of MB/s), one chunk after the other (the disk serves one
//! transfer at a time; a second one would fall back to the channel), keeping the next
//! chunks in flight while the kernel consumes the current one. Small files and random reads
//! go by `fh_read`, or by `pread` of the path for a read-only open that has no daemon handle
//! (see [`OpenFile`]). A write anywhere drops every chunk.

use guestwright::prelude::*;
use guestwright_sync::{Condvar, Mutex};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Bytes fetched per read-ahead round trip (the daemon's limit per `fh_read`).
pub const CHUNK: u64 = 4 << 20;
/// Chunks kept per handle, fetched or in flight.
const WINDOW: usize = 3;

/// One chunk, fetched or on its way.
#[derive(Debug)]
struct Chunk {
    offset: u64,
    generation: u64,
    data: Arc<Slot>,
}

/// Where a fetch leaves its result.
#[derive(Debug, Default)]
pub struct Slot {
    result: Mutex<Option<Result<Arc<Vec<u8>>, i32>>>,
    ready: Condvar,
}

impl Slot {
    /// Leaves the result and wakes those waiting for it.
    pub fn put(&self, r: Result<Arc<Vec<u8>>, i32>) {
        *self.result.lock() = Some(r);
        self.ready.notify_all();
    }

    /// The result, if it has arrived.
    pub fn peek(&self) -> Option<Result<Arc<Vec<u8>>, i32>> {
        self.result.lock().clone()
    }

    /// Waits for the result.
    pub fn wait(&self) -> Result<Arc<Vec<u8>>, i32> {
        let mut g = self.result.lock();
        loop {
            if let Some(r) = g.as_ref() {
                return r.clone();
            }
            g = self.ready.wait(g);
        }
    }
}

/// A file the kernel holds open.
///
/// A read-only open of a regular file costs no round trip: it is read by its path (`pread`,
/// `download_offset`) until something needs a daemon handle (fstat through it, fsync, or its
/// last name going away, see `Shared::keep_open`), and its close costs none either. Only this
/// mount changes the guest's tree, so the path it reads by is the file it opened.
#[derive(Debug)]
pub struct OpenFile {
    /// The daemon's handle, once there is one.
    handle: Mutex<Option<FileHandle>>,
    /// The open(2) flags a daemon handle is opened with.
    pub flags: i32,
    /// The node it belongs to.
    pub ino: u64,
    chunks: Mutex<VecDeque<Chunk>>,
    /// Where the last read ended: a read that starts there is sequential.
    next: AtomicU64,
    /// Writes answered but not yet sent (see [`super::writeback`]).
    pub pending: super::writeback::Pending,
}

impl OpenFile {
    /// Wraps a daemon handle of node `ino`.
    pub fn new(handle: FileHandle, ino: u64, flags: i32) -> OpenFile {
        OpenFile {
            handle: Mutex::new(Some(handle)),
            flags,
            ino,
            chunks: Mutex::new(VecDeque::new()),
            next: AtomicU64::new(0),
            pending: super::writeback::Pending::default(),
        }
    }

    /// A read-only open of node `ino` that has no daemon handle yet.
    pub fn by_path(ino: u64, flags: i32) -> OpenFile {
        OpenFile {
            handle: Mutex::new(None),
            flags,
            ino,
            chunks: Mutex::new(VecDeque::new()),
            next: AtomicU64::new(0),
            pending: super::writeback::Pending::default(),
        }
    }

    /// The daemon's handle, if it has one.
    pub fn handle(&self) -> Option<FileHandle> {
        *self.handle.lock()
    }

    /// Gives the file the daemon handle `opened`. Returns the handle the file keeps and,
    /// if another worker gave it one meanwhile, `opened` to be closed.
    pub fn set_handle(&self, opened: FileHandle) -> (FileHandle, Option<FileHandle>) {
        let mut h = self.handle.lock();
        let kept = *h.get_or_insert(opened);
        drop(h);
        (kept, (kept != opened).then_some(opened))
    }
}

/// Reads `size` bytes at `offset` with one round trip: through the daemon's handle when the
/// file has one, else by its path.
fn read_at(
    h: &Handle,
    file: &OpenFile,
    path: Option<&GuestPath>,
    offset: u64,
    size: u64,
) -> Result<Vec<u8>, i32> {
    let r = match (file.handle(), path) {
        (Some(handle), _) => h.fh_read(handle, ByteSize(offset), ByteSize(size)),
        (None, Some(p)) => h.pread(p, ByteSize(size), ByteSize(offset)),
        // Every name of it went away without a handle: cannot happen, as `keep_open`
        // opens one first.
        (None, None) => return Err(libc::ESTALE),
    };
    r.map(|d| d.0).map_err(|e| super::attr::errno(&e))
}

/// Bumped by every write, truncate and open with O_TRUNC: chunks fetched before are stale.
#[derive(Debug, Default)]
pub struct Generation(AtomicU64);

impl Generation {
    /// The current generation.
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Acquire)
    }
    /// Data changed.
    pub fn bump(&self) {
        self.0.fetch_add(1, Ordering::AcqRel);
    }
}

/// Files up to this size are read as asked, without read-ahead.
const SMALL: u64 = 1 << 20;

/// Reads `size` bytes at `offset` of `file` (fewer at its end), from read-ahead chunks when
/// the reads are sequential. `file_size` is the last known size (no chunk is fetched past
/// it) and `path` the file's current guest path (None once unlinked). Chunks are aligned to
/// [`CHUNK`].
///
/// Only a sequential read (from the start, or where the last one ended) fetches chunks: a
/// random read takes what it asked for, with one round trip, or from a chunk already
/// fetched. Fetching megabytes ahead for a read that will jump elsewhere next costs far more
/// than it saves.
pub fn read(
    h: &Arc<Handle>,
    file: &OpenFile,
    gen: &Generation,
    offset: u64,
    size: u32,
    file_size: u64,
    path: Option<GuestPath>,
) -> Result<Vec<u8>, i32> {
    if file_size <= SMALL {
        return read_at(h, file, path.as_ref(), offset, u64::from(size));
    }
    let src = Source {
        h: h.clone(),
        handle: file.handle(),
        path,
    };
    let end = offset + u64::from(size);
    let sequential = file.next.swap(end, Ordering::AcqRel) == offset || offset == 0;
    let start = offset - offset % CHUNK;
    let current = gen.get();
    let slot = {
        let mut chunks = file.chunks.lock();
        chunks.retain(|c| c.generation == current);
        match chunks.iter().position(|c| c.offset == start) {
            Some(i) if !sequential => Some(chunks[i].data.clone()),
            Some(i) => {
                // Sequential: drop what lies behind, keep the window full ahead.
                for _ in 0..i {
                    chunks.pop_front();
                }
                let mut next = chunks.back().map_or(start, |c| c.offset) + CHUNK;
                while chunks.len() < WINDOW && next < file_size {
                    let prev = chunks.back().map(|c| c.data.clone());
                    chunks.push_back(fetch(&src, next, current, prev));
                    next += CHUNK;
                }
                Some(chunks[0].data.clone())
            }
            // The start of a sequential read (most reads are), or one going on past the
            // window: fetch ahead from here.
            None if sequential => {
                chunks.clear();
                let mut next = start;
                while chunks.len() < WINDOW && (next == start || next < file_size) {
                    let prev = chunks.back().map(|c| c.data.clone());
                    chunks.push_back(fetch(&src, next, current, prev));
                    next += CHUNK;
                }
                Some(chunks[0].data.clone())
            }
            None => None,
        }
    };
    let Some(slot) = slot else {
        // A random read elsewhere than the buffered window: exactly what was asked.
        return read_at(h, file, src.path.as_ref(), offset, u64::from(size));
    };
    let data = slot.wait()?;
    let from = (offset - start) as usize;
    if from >= data.len() {
        return Ok(Vec::new());
    }
    let to = ((end - start) as usize).min(data.len());
    let mut out = data[from..to].to_vec();
    // A read that spans into the next chunk takes the rest from there.
    if to == CHUNK as usize && end > start + CHUNK {
        let rest = read(
            h,
            file,
            gen,
            start + CHUNK,
            (end - start - CHUNK) as u32,
            file_size,
            src.path,
        )?;
        out.extend_from_slice(&rest);
    }
    Ok(out)
}

/// Where chunks come from.
#[derive(Debug, Clone)]
struct Source {
    h: Arc<Handle>,
    handle: Option<FileHandle>,
    path: Option<GuestPath>,
}

impl Source {
    fn get(&self, offset: u64) -> Result<Arc<Vec<u8>>, i32> {
        let r = match &self.path {
            Some(p) => {
                let mut out = Vec::with_capacity(CHUNK as usize);
                self.h
                    .download_offset(p, ByteSize(offset), ByteSize(CHUNK), &mut out)
                    .map(|()| out)
            }
            // Unlinked: only the handle reaches it.
            None => match self.handle {
                Some(handle) => self
                    .h
                    .fh_read(handle, ByteSize(offset), ByteSize(CHUNK))
                    .map(|d| d.0),
                None => return Err(libc::ESTALE),
            },
        };
        r.map(Arc::new).map_err(|e| super::attr::errno(&e))
    }
}

/// Starts fetching a chunk on a thread of its own, once the chunk before it (`prev`) has
/// arrived: the pool's workers may all be waiting for chunks, so a fetch must never queue
/// behind them, and one transfer at a time keeps the transfer disk.
fn fetch(src: &Source, offset: u64, generation: u64, prev: Option<Arc<Slot>>) -> Chunk {
    let slot = Arc::new(Slot::default());
    let (src, s2) = (src.clone(), slot.clone());
    let spawned = std::thread::Builder::new()
        .name("fuse-readahead".into())
        .spawn(move || {
            if let Some(p) = prev {
                let _ = p.wait();
            }
            s2.put(src.get(offset));
        });
    if spawned.is_err() {
        slot.put(Err(libc::EAGAIN));
    }
    Chunk {
        offset,
        generation,
        data: slot,
    }
}
