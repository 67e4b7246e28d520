//! What an operation gets besides its arguments, and the channel it answers through: the
//! [`Call`] (its id, its cancellation, its input and output streams, its progress) and the
//! [`Conn`] that writes frames whole under one lock and routes the host's chunks and
//! cancellations to the call they belong to. It knows nothing of the operations, so every
//! layer of the daemon may take a `Call`; `rpc` reads the frames and runs the requests.

pub mod xfer;

use guestwright_protocol::{
    codec, write_frame, Frame, FrameKind, Progress, Region, RemoteError, CHUNK_SIZE,
};
use guestwright_sync::{Condvar, Mutex};
use std::collections::HashMap;
use std::fs::File;
use std::io::{self, Read, Write};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::Arc;
use std::time::{Duration, Instant};
pub use xfer::Chunk;

/// How many upload chunks may wait for a slow operation before the reader stops reading.
const INPUT_QUEUE: usize = 4;
/// Progress frames go out at most this often per request.
const PROGRESS_INTERVAL: Duration = Duration::from_millis(250);

#[derive(Debug)]
enum Input {
    Chunk(Chunk),
    End,
    Cancelled,
    Failed(String),
}

#[derive(Debug)]
struct CallState {
    cancel: AtomicBool,
    input: Mutex<Option<SyncSender<Input>>>,
    /// Slots of the transfer disk the host granted this call's output (0: none).
    lane_slots: AtomicU64,
    /// Output chunks the host has read off the transfer disk, and a wakeup for the call.
    lane_acked: Mutex<u64>,
    lane_wake: Condvar,
}

/// The shared channel: the writer half and the table of running requests.
#[derive(Debug)]
pub struct Conn {
    writer: Mutex<File>,
    calls: Mutex<HashMap<u32, Arc<CallState>>>,
}

impl Conn {
    /// Wraps the opened virtio-serial port.
    pub fn new(port: File) -> Conn {
        Conn {
            writer: Mutex::new(port),
            calls: Mutex::new(HashMap::new()),
        }
    }

    /// Writes one frame whole; frames of different requests never interleave.
    pub fn send(&self, kind: FrameKind, id: u32, payload: &[u8]) -> io::Result<()> {
        let mut w = self.writer.lock();
        write_frame(&mut *w, kind, id, payload)?;
        w.flush()
    }

    /// Sends the error reply of request `id`.
    pub fn send_error(&self, id: u32, err: &RemoteError) {
        let payload = codec::encode(err).unwrap_or_default();
        if let Err(e) = self.send(FrameKind::Error, id, &payload) {
            info!("cannot send error reply for request {id}: {e}");
        }
    }

    /// Registers request `id` and returns its call; `input` says whether the host will
    /// stream data to it. [`Conn::end_call`] forgets it.
    pub fn start_call(self: &Arc<Self>, id: u32, input: bool) -> Call {
        let (input_tx, input_rx) = if input {
            let (tx, rx) = sync_channel(INPUT_QUEUE);
            (Some(tx), Some(rx))
        } else {
            (None, None)
        };
        let state = Arc::new(CallState {
            cancel: AtomicBool::new(false),
            input: Mutex::new(input_tx),
            lane_slots: AtomicU64::new(0),
            lane_acked: Mutex::new(0),
            lane_wake: Condvar::new(),
        });
        self.calls.lock().insert(id, state.clone());
        Call {
            id,
            state,
            conn: self.clone(),
            input: input_rx,
            pending: Vec::new(),
            pending_pos: 0,
            input_done: false,
            last_progress: None,
            lane_sent: 0,
        }
    }

    /// Forgets request `id`: frames for it are ignored from now on.
    pub fn end_call(&self, id: u32) {
        self.calls.lock().remove(&id);
    }

    /// Hands a frame of the host's that belongs to a running call (a chunk, the end of its
    /// input, a cancellation, a transfer-disk grant or acknowledgement) to that call.
    pub fn deliver(&self, frame: Frame) {
        match frame.kind {
            FrameKind::Chunk | FrameKind::End | FrameKind::Cancel => route(
                self,
                frame.kind,
                frame.id,
                Input::from_frame(frame.kind, frame.payload),
            ),
            FrameKind::Lane | FrameKind::Consumed => {
                lane_event(self, frame.kind, frame.id, &frame.payload)
            }
            FrameKind::ChunkAt => {
                // Read the region before acknowledging it: the host then reuses it.
                let input = match Region::decode(&frame.payload) {
                    Some(region) => match xfer::read(region) {
                        Ok(data) => Input::Chunk(data),
                        Err(e) => Input::Failed(format!("cannot read upload data: {e}")),
                    },
                    None => Input::Failed("malformed transfer-disk region".into()),
                };
                let _ = self.send(FrameKind::Consumed, frame.id, &frame.payload);
                route(self, frame.kind, frame.id, input)
            }
            other => info!("ignoring unexpected {other:?} frame from the host"),
        }
    }
}

/// What an operation gets besides its arguments: its id, whether it was cancelled, and its
/// stream.
#[derive(Debug)]
pub struct Call {
    id: u32,
    state: Arc<CallState>,
    conn: Arc<Conn>,
    input: Option<Receiver<Input>>,
    pending: Vec<u8>,
    pending_pos: usize,
    input_done: bool,
    last_progress: Option<Instant>,
    lane_sent: u64,
}

impl Call {
    /// True once the host asked to cancel this request.
    pub fn cancelled(&self) -> bool {
        self.state.cancel.load(Ordering::Relaxed)
    }

    /// Fails with `ECANCELED` if the host cancelled this request.
    pub fn check_cancel(&self) -> io::Result<()> {
        if self.cancelled() {
            Err(io::Error::from_raw_os_error(libc::ECANCELED))
        } else {
            Ok(())
        }
    }

    /// Reports progress to the host, at most every 250 ms.
    pub fn progress(&mut self, done: u64, total: u64) {
        let now = Instant::now();
        if self
            .last_progress
            .is_some_and(|t| now.duration_since(t) < PROGRESS_INTERVAL)
        {
            return;
        }
        self.last_progress = Some(now);
        if let Ok(payload) = codec::encode(&Progress { done, total }) {
            let _ = self.conn.send(FrameKind::Progress, self.id, &payload);
        }
    }

    /// The call's cancel flag, usable while the call's stream is borrowed.
    pub fn cancel_flag(&self) -> CancelFlag {
        CancelFlag(self.state.clone())
    }

    /// The next piece of an `Input` stream as the host sent it (no copy), or None at its
    /// end. Fails with `ECANCELED` if the host cancelled.
    pub fn next_chunk(&mut self) -> io::Result<Option<Chunk>> {
        if self.pending_pos < self.pending.len() {
            let rest = self.pending.split_off(self.pending_pos);
            self.pending.clear();
            self.pending_pos = 0;
            return Ok(Some(Chunk::plain(rest)));
        }
        if self.input_done {
            return Ok(None);
        }
        let rx = self
            .input
            .as_ref()
            .ok_or_else(|| io::Error::from_raw_os_error(libc::EINVAL))?;
        match rx.recv() {
            Ok(Input::Chunk(data)) => Ok(Some(data)),
            Ok(Input::End) => {
                self.input_done = true;
                Ok(None)
            }
            Ok(Input::Failed(why)) => Err(io::Error::other(why)),
            Ok(Input::Cancelled) | Err(_) => Err(io::Error::from_raw_os_error(libc::ECANCELED)),
        }
    }

    /// Sends bytes of an `Output` stream as chunk frames without buffering them (large
    /// reads go out as they are). Fails with `ECANCELED` if the host cancelled.
    pub fn send_chunk(&mut self, data: &[u8]) -> io::Result<()> {
        for piece in data.chunks(CHUNK_SIZE) {
            self.check_cancel()?;
            self.conn.send(FrameKind::Chunk, self.id, piece)?;
        }
        Ok(())
    }

    /// Sends the first `len` bytes of `block` as the next piece of an `Output` stream.
    /// `block` must be 4096-aligned in memory and length: when the host granted the transfer
    /// disk it goes there with one O_DIRECT write (no copy), otherwise as chunk frames.
    pub fn send_block(&mut self, block: &[u8], len: usize) -> io::Result<()> {
        let slots = self.state.lane_slots.load(Ordering::Relaxed);
        if slots == 0 || len > CHUNK_SIZE {
            return self.send_chunk(&block[..len]);
        }
        // Wait for a free slot: the host acknowledges each chunk it has read.
        let mut acked = self.state.lane_acked.lock();
        while self.lane_sent - *acked >= slots {
            self.check_cancel()?;
            acked = self
                .state
                .lane_wake
                .wait_timeout(acked, Duration::from_millis(200))
                .0;
        }
        drop(acked);
        self.check_cancel()?;
        let region = Region {
            offset: (self.lane_sent % slots) * CHUNK_SIZE as u64,
            len: len as u32,
        };
        let whole = len.div_ceil(4096) * 4096;
        xfer::write(region, &block[..whole])?;
        self.conn
            .send(FrameKind::ChunkAt, self.id, &region.encode())?;
        self.lane_sent += 1;
        Ok(())
    }

    /// The bytes the host streams to an `Input` operation.
    pub fn input(&mut self) -> &mut dyn Read {
        self
    }

    /// Where an `Output` operation writes its stream; chunks of up to 1 MiB go to the host.
    pub fn output(&mut self) -> ChunkWriter<'_> {
        ChunkWriter {
            call: self,
            buf: Vec::with_capacity(CHUNK_SIZE),
        }
    }
}

/// Whether the host cancelled a call, without borrowing the call.
#[derive(Debug, Clone)]
pub struct CancelFlag(Arc<CallState>);

impl CancelFlag {
    /// Fails with `ECANCELED` if the host cancelled the call.
    pub fn check(&self) -> io::Result<()> {
        if self.0.cancel.load(Ordering::Relaxed) {
            Err(io::Error::from_raw_os_error(libc::ECANCELED))
        } else {
            Ok(())
        }
    }
}

impl Read for Call {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        loop {
            if self.pending_pos < self.pending.len() {
                let n = out.len().min(self.pending.len() - self.pending_pos);
                out[..n].copy_from_slice(&self.pending[self.pending_pos..self.pending_pos + n]);
                self.pending_pos += n;
                return Ok(n);
            }
            if self.input_done {
                return Ok(0);
            }
            let rx = self
                .input
                .as_ref()
                .ok_or_else(|| io::Error::from_raw_os_error(libc::EINVAL))?;
            match rx.recv() {
                Ok(Input::Chunk(data)) => {
                    self.pending = data.into_vec();
                    self.pending_pos = 0;
                }
                Ok(Input::End) => self.input_done = true,
                Ok(Input::Failed(why)) => return Err(io::Error::other(why)),
                Ok(Input::Cancelled) | Err(_) => {
                    return Err(io::Error::from_raw_os_error(libc::ECANCELED))
                }
            }
        }
    }
}

/// Buffers an output stream into chunk frames.
#[derive(Debug)]
pub struct ChunkWriter<'a> {
    call: &'a mut Call,
    buf: Vec<u8>,
}

impl ChunkWriter<'_> {
    fn send_buf(&mut self) -> io::Result<()> {
        if !self.buf.is_empty() {
            self.call.check_cancel()?;
            self.call
                .conn
                .send(FrameKind::Chunk, self.call.id, &self.buf)?;
            self.buf.clear();
        }
        Ok(())
    }
}

impl Write for ChunkWriter<'_> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let n = data.len().min(CHUNK_SIZE - self.buf.len());
        self.buf.extend_from_slice(&data[..n]);
        if self.buf.len() == CHUNK_SIZE {
            self.send_buf()?;
        }
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.send_buf()
    }
}

impl Drop for ChunkWriter<'_> {
    fn drop(&mut self) {
        // Operations flush explicitly; a drop after an error has nothing worth sending.
        self.buf.clear();
    }
}

/// The host granted the transfer disk to a call (`Lane`), or read one of its chunks off it
/// (`Consumed`).
fn lane_event(conn: &Conn, kind: FrameKind, id: u32, payload: &[u8]) {
    let state = conn.calls.lock().get(&id).cloned();
    let Some(state) = state else { return };
    if kind == FrameKind::Lane {
        let size = payload.try_into().map(u64::from_le_bytes).unwrap_or(0);
        state
            .lane_slots
            .store(size / CHUNK_SIZE as u64, Ordering::Relaxed);
    } else {
        *state.lane_acked.lock() += 1;
        state.lane_wake.notify_all();
    }
}

impl Input {
    fn from_frame(kind: FrameKind, payload: Vec<u8>) -> Input {
        match kind {
            FrameKind::Chunk => Input::Chunk(Chunk::plain(payload)),
            FrameKind::End => Input::End,
            _ => Input::Cancelled,
        }
    }
}

fn route(conn: &Conn, kind: FrameKind, id: u32, msg: Input) {
    let state = conn.calls.lock().get(&id).cloned();
    let Some(state) = state else { return };
    if kind == FrameKind::Cancel {
        state.cancel.store(true, Ordering::Relaxed);
    }
    let sender = state.input.lock().clone();
    if let Some(sender) = sender {
        // Blocks while the operation is behind: that is the flow control. An operation that
        // already finished dropped its receiver and the send fails harmlessly.
        let _ = sender.send(msg);
    }
}
