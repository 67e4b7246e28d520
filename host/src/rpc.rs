//! The host end of the channel: one reader thread routes every frame from the daemon to the
//! call it belongs to, so any number of threads can have requests in flight at once.
//! Streams move as 1 MiB chunks; a slow consumer slows the reader (bounded queues), never
//! grows memory.
//!
//! ```
//! use guestwright::protocol::{args, CallStream, Request};
//! use guestwright::rpc::{CallError, Channel};
//! use std::os::unix::net::UnixStream;
//! use std::time::Duration;
//!
//! let (host, appliance) = UnixStream::pair()?;
//! let channel = Channel::start(host, Duration::from_secs(5))?;
//! drop(appliance); // the appliance goes away
//! // A call on a channel whose other end is gone fails at once, saying so.
//! let err = channel.call(&Request::Ping(args::Ping {}), CallStream::None).unwrap_err();
//! assert!(matches!(err, CallError::Closed(_) | CallError::Channel(_)), "{err:?}");
//! # Ok::<(), std::io::Error>(())
//! ```

use guestwright_protocol::{
    codec, read_frame, write_frame, CallStream, Errno, FrameKind, Progress, Region, RemoteError,
    Request, CHUNK_SIZE,
};
use guestwright_sync::Mutex;
use std::collections::HashMap;
use std::fs::File;
use std::io::{self, Read, Write};
use std::ops::Deref;
use std::os::unix::fs::FileExt;
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, RecvTimeoutError, SyncSender, TryRecvError};
use std::sync::Arc;
use std::time::Duration;

/// Called with the request id and its progress.
pub type ProgressFn = Arc<dyn Fn(u32, Progress) + Send + Sync>;

/// Frames queued per call before the reader waits for the caller.
const QUEUE: usize = 8;

#[derive(Debug)]
enum Event {
    Chunk(Vec<u8>),
    Progress(Progress),
    Reply(Vec<u8>),
    Error(RemoteError),
    Closed(String),
    /// The daemon read a transfer-disk region.
    Consumed,
    /// The next piece of the output stream is on the transfer disk.
    ChunkAt(Region),
}

/// The transfer disk: upload data goes into this file (a drive of the appliance) and only
/// its regions cross the channel. One upload at a time uses it; others use chunks.
#[derive(Debug)]
struct Lane {
    file: File,
    slots: u64,
}

/// The transfer disk, lent to one call until dropped. A transfer lasts many round trips,
/// so what marks the disk taken is a flag, not a lock guard: no guard lives that long.
#[derive(Debug)]
struct LaneLoan<'a> {
    lane: Arc<Lane>,
    busy: &'a AtomicBool,
}

impl Deref for LaneLoan<'_> {
    type Target = Lane;
    fn deref(&self) -> &Lane {
        &self.lane
    }
}

impl Drop for LaneLoan<'_> {
    fn drop(&mut self) {
        self.busy.store(false, Ordering::Release);
    }
}

/// Why a call did not produce a reply.
#[derive(Debug)]
#[non_exhaustive]
pub enum CallError {
    /// The daemon ran the operation and it failed.
    Remote(RemoteError),
    /// The channel is gone (the appliance died or was shut down).
    Closed(String),
    /// Writing to the channel (or the transfer disk) failed: the request or its data did
    /// not reach the appliance.
    Channel(io::Error),
    /// Nothing came back for this long.
    Timeout(Duration),
    /// Reading the caller's input or writing the caller's output failed.
    Stream(io::Error),
    /// The daemon sent something that makes no sense.
    Protocol(String),
}

/// Why streaming the caller's input stopped.
#[derive(Debug)]
enum InputError {
    /// Reading the caller's input failed.
    Read(io::Error),
    /// The data could not be passed to the appliance.
    Channel(io::Error),
}

/// The host end of the channel.
///
/// Locks: `writer` is held for the write of one whole frame and nothing is locked under it;
/// `pending`, `closed`, `progress` and `lane` are held only to copy or change what they
/// hold, never across a send, a callback or a wait. No two are ever held at once.
pub struct Channel {
    writer: Mutex<UnixStream>,
    /// The same socket, to shut it down without the writer's lock: a send blocks on a full
    /// channel for as long as the appliance does not read, and closing must not wait for it.
    control: UnixStream,
    pending: Mutex<HashMap<u32, SyncSender<Event>>>,
    next_id: AtomicU32,
    closed: Mutex<Option<String>>,
    progress: Mutex<Option<ProgressFn>>,
    timeout: Duration,
    lane: Mutex<Option<Arc<Lane>>>,
    /// Whether a call has the transfer disk (see [`LaneLoan`]).
    lane_busy: AtomicBool,
    /// Bytes moved through the transfer disk, both ways.
    lane_bytes: AtomicU64,
}

impl std::fmt::Debug for Channel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Channel")
            .field("next_id", &self.next_id)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl Channel {
    /// Starts the reader thread on a connected stream (after the hello).
    pub fn start(stream: UnixStream, timeout: Duration) -> io::Result<Arc<Channel>> {
        let reader = stream.try_clone()?;
        let control = stream.try_clone()?;
        let channel = Arc::new(Channel {
            writer: Mutex::new(stream),
            control,
            pending: Mutex::new(HashMap::new()),
            next_id: AtomicU32::new(1),
            closed: Mutex::new(None),
            progress: Mutex::new(None),
            timeout,
            lane: Mutex::new(None),
            lane_busy: AtomicBool::new(false),
            lane_bytes: AtomicU64::new(0),
        });
        let weak = Arc::downgrade(&channel);
        std::thread::Builder::new()
            .name("channel-reader".into())
            .spawn(move || read_loop(reader, weak))?;
        crate::interrupt::register(&channel);
        Ok(channel)
    }

    /// Gives uploads the transfer disk: `file` of `size` bytes is attached to the appliance
    /// with serial [`guestwright_protocol::XFER_SERIAL`].
    pub fn set_lane(&self, file: File, size: u64) {
        let slots = size / CHUNK_SIZE as u64;
        if slots > 0 {
            *self.lane.lock() = Some(Arc::new(Lane { file, slots }));
        }
    }

    /// Bytes moved through the transfer disk so far, uploads and downloads together.
    pub fn transfer_disk_bytes(&self) -> u64 {
        self.lane_bytes.load(Ordering::Relaxed)
    }

    /// Installs the progress callback.
    pub fn set_progress(&self, f: Option<ProgressFn>) {
        *self.progress.lock() = f;
    }

    fn send(&self, kind: FrameKind, id: u32, payload: &[u8]) -> io::Result<()> {
        let mut w = self.writer.lock();
        write_frame(&mut *w, kind, id, payload)?;
        w.flush()
    }

    /// Why the channel closed, if it did.
    pub fn closed_reason(&self) -> Option<String> {
        self.closed.lock().clone()
    }

    /// Asks the daemon to cancel every call in flight.
    pub fn cancel_all(&self) {
        let ids: Vec<u32> = self.pending.lock().keys().copied().collect();
        for id in ids {
            let _ = self.send(FrameKind::Cancel, id, &[]);
        }
    }

    /// Closes the channel from this side; calls in flight fail, a send blocked on a full
    /// channel included.
    pub fn close(&self, reason: &str) {
        // Marked first, so a send that the shutdown breaks finds the reason (see `broken`).
        mark_closed(self, reason.to_string());
        let _ = self.control.shutdown(std::net::Shutdown::Both);
    }

    /// A write to the channel failed: the channel's closing if it was closed (the write
    /// broke because of it), the write's own error otherwise.
    fn broken(&self, e: io::Error) -> CallError {
        match self.closed_reason() {
            Some(reason) => CallError::Closed(reason),
            None => CallError::Channel(e),
        }
    }

    /// Takes the transfer disk for one call, if there is one and no other call has it.
    fn borrow_lane(&self) -> Option<LaneLoan<'_>> {
        let lane = self.lane.lock().clone()?;
        self.lane_busy
            .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
            .ok()?;
        Some(LaneLoan {
            lane,
            busy: &self.lane_busy,
        })
    }

    /// Sends a request with its stream and waits for the encoded reply.
    pub fn call(&self, request: &Request, stream: CallStream<'_>) -> Result<Vec<u8>, CallError> {
        let payload = codec::encode(request).map_err(|e| CallError::Protocol(e.to_string()))?;
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = sync_channel(QUEUE);
        {
            // Registered before the check so a close racing with us still reaches this call.
            let mut pending = self.pending.lock();
            pending.insert(id, tx);
        }
        if let Some(reason) = self.closed_reason() {
            self.forget(id);
            return Err(CallError::Closed(reason));
        }
        // After the registration, so a `stop_all` racing with us cancels it or is seen here.
        if crate::interrupt::stopping() && !matches!(request, Request::Poweroff(_)) {
            self.forget(id);
            return Err(CallError::Remote(RemoteError::new(
                Errno::ECANCELED,
                "interrupted: the program is stopping",
            )));
        }
        let result = self.run_call(id, &payload, stream, &rx);
        self.forget(id);
        result
    }

    fn forget(&self, id: u32) {
        self.pending.lock().remove(&id);
    }

    fn run_call(
        &self,
        id: u32,
        payload: &[u8],
        stream: CallStream<'_>,
        rx: &Receiver<Event>,
    ) -> Result<Vec<u8>, CallError> {
        self.send(FrameKind::Request, id, payload)
            .map_err(|e| self.broken(e))?;
        let mut early = None;
        let mut stream_err = None;
        let mut output = None;
        // An output stream takes the transfer disk when no other transfer has it.
        let mut lane = None;
        match stream {
            CallStream::None => {}
            CallStream::Output(w) => {
                output = Some(w);
                if let Some(loan) = self.borrow_lane() {
                    let size = loan.slots * CHUNK_SIZE as u64;
                    if self.send(FrameKind::Lane, id, &size.to_le_bytes()).is_ok() {
                        lane = Some(loan);
                    }
                }
            }
            CallStream::Input(r) => match self.send_input(id, r, rx) {
                Ok(None) => {}
                Ok(Some(event)) => early = Some(event),
                Err(InputError::Read(e)) => stream_err = Some(e),
                Err(InputError::Channel(e)) => return Err(self.broken(e)),
            },
        }
        loop {
            let event = match early.take() {
                Some(e) => e,
                None => match rx.recv_timeout(self.timeout) {
                    Ok(e) => e,
                    Err(RecvTimeoutError::Timeout) => return Err(CallError::Timeout(self.timeout)),
                    Err(RecvTimeoutError::Disconnected) => {
                        return Err(CallError::Closed(
                            self.closed_reason()
                                .unwrap_or_else(|| "channel closed".into()),
                        ))
                    }
                },
            };
            match event {
                Event::Chunk(data) => match (&mut output, &stream_err) {
                    (Some(w), None) => {
                        if let Err(e) = w.write_all(&data) {
                            // Stop the daemon; keep draining until it ends the call.
                            let _ = self.send(FrameKind::Cancel, id, &[]);
                            stream_err = Some(e);
                        }
                    }
                    (Some(_), Some(_)) => {}
                    (None, _) => {
                        return Err(CallError::Protocol(
                            "data chunk for a call without an output stream".into(),
                        ))
                    }
                },
                Event::Progress(p) => {
                    let cb = self.progress.lock().clone();
                    if let Some(cb) = cb {
                        cb(id, p);
                    }
                }
                Event::Reply(bytes) => {
                    if let Some(w) = &mut output {
                        if stream_err.is_none() {
                            if let Err(e) = w.flush() {
                                stream_err = Some(e);
                            }
                        }
                    }
                    return match stream_err {
                        Some(e) => Err(CallError::Stream(e)),
                        None => Ok(bytes),
                    };
                }
                Event::Error(e) => {
                    return match stream_err {
                        Some(s) => Err(CallError::Stream(s)),
                        None => Err(CallError::Remote(e)),
                    }
                }
                Event::Closed(reason) => return Err(CallError::Closed(reason)),
                Event::Consumed => {}
                Event::ChunkAt(region) => {
                    let Some(lane) = lane.as_deref() else {
                        return Err(CallError::Protocol(
                            "transfer-disk chunk for a call that was not given the disk".into(),
                        ));
                    };
                    let mut data = vec![0u8; region.len as usize];
                    let read = lane.file.read_exact_at(&mut data, region.offset);
                    self.lane_bytes
                        .fetch_add(u64::from(region.len), Ordering::Relaxed);
                    // The slot is free again as soon as it is read.
                    let _ = self.send(FrameKind::Consumed, id, &region.encode());
                    match (read, &mut output, &stream_err) {
                        (Err(e), _, None) => {
                            let _ = self.send(FrameKind::Cancel, id, &[]);
                            stream_err = Some(e);
                        }
                        (Ok(()), Some(w), None) => {
                            if let Err(e) = w.write_all(&data) {
                                let _ = self.send(FrameKind::Cancel, id, &[]);
                                stream_err = Some(e);
                            }
                        }
                        _ => {}
                    }
                }
            }
        }
    }

    /// Reads from `input` until `buf` is full or the input ends; returns how much it holds.
    /// A failed read cancels call `id` on the daemon's side.
    fn fill(&self, id: u32, input: &mut dyn Read, buf: &mut [u8]) -> Result<usize, InputError> {
        let mut filled = 0;
        while filled < buf.len() {
            match input.read(&mut buf[filled..]) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    let _ = self.send(FrameKind::Cancel, id, &[]);
                    return Err(InputError::Read(e));
                }
            }
        }
        Ok(filled)
    }

    /// Streams `input` to the daemon. Returns early with the daemon's answer if it ends the
    /// call before the input does (an error such as ENOSPC).
    fn send_input(
        &self,
        id: u32,
        input: &mut dyn Read,
        rx: &Receiver<Event>,
    ) -> Result<Option<Event>, InputError> {
        if let Some(lane) = self.borrow_lane() {
            return self.send_input_by_lane(id, input, rx, &lane);
        }
        let mut buf = vec![0u8; CHUNK_SIZE];
        loop {
            let filled = self.fill(id, input, &mut buf)?;
            if filled > 0 {
                self.send(FrameKind::Chunk, id, &buf[..filled])
                    .map_err(InputError::Channel)?;
            }
            match rx.try_recv() {
                Ok(Event::Progress(p)) => self.report_progress(id, p),
                Ok(event) => return Ok(Some(event)),
                Err(TryRecvError::Empty) => {}
                Err(TryRecvError::Disconnected) => {
                    return Ok(Some(Event::Closed("channel closed".into())))
                }
            }
            if filled < buf.len() {
                self.send(FrameKind::End, id, &[])
                    .map_err(InputError::Channel)?;
                return Ok(None);
            }
        }
    }
}

impl Channel {
    fn report_progress(&self, id: u32, p: Progress) {
        let cb = self.progress.lock().clone();
        if let Some(cb) = cb {
            cb(id, p);
        }
    }

    /// Streams `input` through the transfer disk: each 1 MiB piece goes into the next free
    /// slot of the file and a `ChunkAt` frame names it; a slot is reused only after the
    /// daemon said `Consumed`. Returns early with the daemon's answer if it ends the call.
    fn send_input_by_lane(
        &self,
        id: u32,
        input: &mut dyn Read,
        rx: &Receiver<Event>,
        lane: &Lane,
    ) -> Result<Option<Event>, InputError> {
        let mut buf = vec![0u8; CHUNK_SIZE];
        let mut next_slot = 0u64;
        let mut in_flight = 0u64;
        loop {
            let filled = self.fill(id, input, &mut buf)?;
            // Take in what the daemon said so far; wait only while every slot is in use.
            loop {
                let event = if in_flight >= lane.slots && filled > 0 {
                    match rx.recv_timeout(self.timeout) {
                        Ok(e) => e,
                        Err(RecvTimeoutError::Timeout) => {
                            return Ok(Some(Event::Closed(format!(
                                "no answer from the appliance for {:?}",
                                self.timeout
                            ))))
                        }
                        Err(RecvTimeoutError::Disconnected) => {
                            return Ok(Some(Event::Closed("channel closed".into())))
                        }
                    }
                } else {
                    match rx.try_recv() {
                        Ok(e) => e,
                        Err(TryRecvError::Empty) => break,
                        Err(TryRecvError::Disconnected) => {
                            return Ok(Some(Event::Closed("channel closed".into())))
                        }
                    }
                };
                match event {
                    Event::Consumed => in_flight = in_flight.saturating_sub(1),
                    Event::Progress(p) => self.report_progress(id, p),
                    other => return Ok(Some(other)),
                }
            }
            if filled > 0 {
                let region = Region {
                    offset: next_slot * CHUNK_SIZE as u64,
                    len: filled as u32,
                };
                lane.file
                    .write_all_at(&buf[..filled], region.offset)
                    .map_err(InputError::Channel)?;
                self.lane_bytes.fetch_add(filled as u64, Ordering::Relaxed);
                self.send(FrameKind::ChunkAt, id, &region.encode())
                    .map_err(InputError::Channel)?;
                in_flight += 1;
                next_slot = (next_slot + 1) % lane.slots;
            }
            if filled < buf.len() {
                self.send(FrameKind::End, id, &[])
                    .map_err(InputError::Channel)?;
                return Ok(None);
            }
        }
    }
}

fn mark_closed(channel: &Channel, reason: String) {
    {
        let mut closed = channel.closed.lock();
        if closed.is_none() {
            *closed = Some(reason.clone());
        }
    }
    // Taking the senders out drops them, so a caller whose queue is full still sees the
    // channel disconnect once it has drained it.
    let pending = std::mem::take(&mut *channel.pending.lock());
    for tx in pending.into_values() {
        let _ = tx.try_send(Event::Closed(reason.clone()));
    }
}

fn read_loop(reader: UnixStream, channel: std::sync::Weak<Channel>) {
    // A frame's header and payload in one read, and the frames that came with it.
    let mut reader = std::io::BufReader::with_capacity(256 << 10, reader);
    loop {
        let frame = read_frame(&mut reader);
        let Some(ch) = channel.upgrade() else { return };
        let frame = match frame {
            Ok(f) => f,
            Err(e) => {
                let reason = if e.is_eof() {
                    "the appliance closed the channel".to_string()
                } else {
                    format!("channel failed: {e}")
                };
                mark_closed(&ch, reason);
                return;
            }
        };
        let event = match frame.kind {
            FrameKind::Chunk => Event::Chunk(frame.payload),
            FrameKind::Reply => Event::Reply(frame.payload),
            FrameKind::Error => match codec::decode::<RemoteError>(&frame.payload) {
                Ok(e) => Event::Error(e),
                Err(e) => Event::Error(RemoteError::new(
                    guestwright_protocol::Errno::EBADMSG,
                    format!("undecodable error reply: {e}"),
                )),
            },
            FrameKind::Consumed => Event::Consumed,
            FrameKind::ChunkAt => match Region::decode(&frame.payload) {
                Some(r) => Event::ChunkAt(r),
                None => Event::Error(RemoteError::new(
                    guestwright_protocol::Errno::EBADMSG,
                    "malformed transfer-disk region from the appliance",
                )),
            },
            FrameKind::Progress => match codec::decode::<Progress>(&frame.payload) {
                Ok(p) => Event::Progress(p),
                Err(_) => continue,
            },
            _ => continue,
        };
        let terminal = matches!(event, Event::Reply(_) | Event::Error(_));
        let tx = {
            let mut pending = ch.pending.lock();
            if terminal {
                pending.remove(&frame.id)
            } else {
                pending.get(&frame.id).cloned()
            }
        };
        // A frame for a call nobody waits for any more (it timed out or was abandoned).
        let Some(tx) = tx else { continue };
        drop(ch);
        let _ = tx.send(event);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use guestwright_protocol::args::Poweroff;
    use std::sync::mpsc;
    use std::thread::{self, JoinHandle};
    use std::time::Instant;

    /// Far more than any step here needs, even on a loaded machine; a step that blocks for
    /// good fails the test at this deadline instead of hanging it.
    const DEADLINE: Duration = Duration::from_secs(20);

    /// A channel whose far end never reads: once the socket's buffer is full, sends block.
    fn stalled_channel() -> (Arc<Channel>, UnixStream) {
        let (near, far) = UnixStream::pair().unwrap();
        (Channel::start(near, DEADLINE).unwrap(), far)
    }

    /// Starts an upload that fills the channel and then blocks in a send, with the writer's
    /// lock held (as an upload to an appliance that stopped reading does); returns once it
    /// is blocked there.
    fn blocked_upload(ch: &Arc<Channel>) -> JoinHandle<Result<Vec<u8>, CallError>> {
        let uploader = ch.clone();
        let upload = thread::spawn(move || {
            let mut input = io::repeat(0).take(1 << 32);
            uploader.call(
                &Request::Poweroff(Poweroff {}),
                CallStream::Input(&mut input),
            )
        });
        let start = Instant::now();
        let mut held = 0;
        while held < 50 {
            assert!(start.elapsed() < DEADLINE, "the upload never blocked");
            held = if ch.writer.try_lock().is_none() {
                held + 1
            } else {
                0
            };
            thread::sleep(Duration::from_millis(5));
        }
        upload
    }

    fn join_within<T: Send + 'static>(h: JoinHandle<T>) -> T {
        let start = Instant::now();
        while !h.is_finished() {
            assert!(
                start.elapsed() < DEADLINE,
                "thread still blocked after {DEADLINE:?}"
            );
            thread::sleep(Duration::from_millis(10));
        }
        h.join().unwrap()
    }

    /// Closing used to take the writer's lock to shut the socket down, so it waited for a
    /// send stuck on a full channel: that is, for ever, when the appliance stopped reading.
    #[test]
    fn close_does_not_wait_for_a_send_blocked_on_a_full_channel() {
        let (ch, _far) = stalled_channel();
        let upload = blocked_upload(&ch);
        let (done_tx, done_rx) = mpsc::channel();
        let closer = ch.clone();
        thread::spawn(move || {
            closer.close("closed by the test");
            let _ = done_tx.send(());
        });
        done_rx
            .recv_timeout(DEADLINE)
            .expect("close() waited for the blocked send");
        // Closed by the test, or seen closed by the reader thread first: either way, closed.
        let result = join_within(upload);
        assert!(
            matches!(result, Err(CallError::Closed(_))),
            "the blocked upload should fail as closed: {result:?}"
        );
    }

    /// The transfer disk goes to one call at a time and comes back when the call ends,
    /// without any lock held in between.
    #[test]
    fn the_transfer_disk_is_lent_to_one_call_at_a_time() {
        let (ch, _far) = stalled_channel();
        assert!(ch.borrow_lane().is_none(), "no disk was attached");
        ch.set_lane(tempfile::tempfile().unwrap(), 4 * CHUNK_SIZE as u64);
        let first = ch.borrow_lane().expect("the disk is free");
        assert_eq!(first.slots, 4);
        assert!(ch.borrow_lane().is_none(), "lent twice");
        // Nothing is locked while it is lent.
        assert!(ch.lane.try_lock().is_some());
        drop(first);
        assert!(ch.borrow_lane().is_some(), "not given back");
    }
}
