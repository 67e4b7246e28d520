//! Framing: every message on the channel is a fixed 16-byte header followed by a payload.
//!
//! ```text
//! 0        4        6     7      8            12           16
//! | magic  | version| kind| flags| request id | payload len| payload ...
//! ```
//!
//! All integers are little-endian. The payload length is checked against [`MAX_PAYLOAD`]
//! before a single payload byte is read or a buffer is allocated, so a hostile peer cannot make
//! the reader allocate more than that. This module never interprets payloads.

use std::fmt;
use std::io::{self, Read, Write};

/// `"GWRP"`: identifies a guestwright frame and resynchronises nothing: a wrong magic ends the
/// connection.
pub const MAGIC: [u8; 4] = *b"GWRP";
/// Bumped whenever the header, the frame kinds or any message type changes shape.
pub const PROTOCOL_VERSION: u16 = 1;
/// Size of the fixed header.
pub const HEADER_LEN: usize = 16;
/// Largest payload either side accepts: a 4 MiB data chunk plus room for its envelope.
pub const MAX_PAYLOAD: u32 = 4 * 1024 * 1024 + 64 * 1024;
/// Size of the data chunks that stream file contents. Large chunks keep the per-frame cost
/// (a wakeup of the appliance under TCG) small against the copy.
pub const CHUNK_SIZE: usize = 1024 * 1024;

/// What a frame carries. The numbers are part of the wire format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum FrameKind {
    /// Daemon → host, once, first: [`crate::Hello`].
    Hello = 1,
    /// Host → daemon: a [`crate::Request`].
    Request = 2,
    /// Daemon → host: the encoded return value of a finished request.
    Reply = 3,
    /// Daemon → host: a [`crate::RemoteError`] ending a request.
    Error = 4,
    /// Either way: raw bytes of a stream belonging to a request.
    Chunk = 5,
    /// Either way: the end of a request's stream.
    End = 6,
    /// Daemon → host: [`crate::Progress`] of a running request.
    Progress = 7,
    /// Host → daemon: stop the request as soon as possible; it ends with `ECANCELED`.
    Cancel = 8,
    /// Either way: the next piece of a request's stream lies on the transfer disk
    /// ([`XFER_SERIAL`]); the payload is a [`Region`]. Bulk transfers go this way: the
    /// virtio-serial channel moves host-to-guest data in 4 KiB buffers, one interrupt each,
    /// and guest-to-host data in 32 KiB writes.
    ChunkAt = 9,
    /// Either way: the transfer-disk [`Region`] of a `ChunkAt` was read; its writer may
    /// reuse it.
    Consumed = 10,
    /// Host → daemon, right after an `Output` request: the call may send its stream through
    /// the transfer disk, whose size in bytes (u64, little-endian) is the payload.
    Lane = 11,
    /// Daemon → host, instead of `Hello`, when the appliance boots to be saved
    /// (`guestwright.snapshot` on the kernel command line): everything that does not depend
    /// on the drives is up, and the daemon waits for `Resume`. The payload is empty.
    Parked = 12,
    /// Host → daemon, after a parked appliance was restored: a [`crate::Resume`]. The
    /// daemon then probes the drives and says `Hello`.
    Resume = 13,
}

/// The serial of the transfer disk, a scratch drive the host writes upload data to.
pub const XFER_SERIAL: &str = "gwt";

/// A byte range of the transfer disk: the payload of `ChunkAt` and `Consumed` frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Region {
    /// Offset in bytes, a multiple of 4096.
    pub offset: u64,
    /// Length in bytes, at most [`CHUNK_SIZE`].
    pub len: u32,
}

impl Region {
    /// The 12 payload bytes.
    pub fn encode(&self) -> [u8; 12] {
        let mut b = [0u8; 12];
        b[..8].copy_from_slice(&self.offset.to_le_bytes());
        b[8..].copy_from_slice(&self.len.to_le_bytes());
        b
    }
    /// Decodes and checks a payload.
    pub fn decode(b: &[u8]) -> Option<Region> {
        let b: &[u8; 12] = b.try_into().ok()?;
        let r = Region {
            offset: u64::from_le_bytes(b[..8].try_into().ok()?),
            len: u32::from_le_bytes(b[8..].try_into().ok()?),
        };
        (r.offset.is_multiple_of(4096) && r.len as usize <= CHUNK_SIZE).then_some(r)
    }
}

impl FrameKind {
    fn from_u8(value: u8) -> Option<Self> {
        Some(match value {
            1 => Self::Hello,
            2 => Self::Request,
            3 => Self::Reply,
            4 => Self::Error,
            5 => Self::Chunk,
            6 => Self::End,
            7 => Self::Progress,
            8 => Self::Cancel,
            9 => Self::ChunkAt,
            10 => Self::Consumed,
            11 => Self::Lane,
            12 => Self::Parked,
            13 => Self::Resume,
            _ => return None,
        })
    }
}

/// The decoded fixed header of a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// What the payload is.
    pub kind: FrameKind,
    /// Reserved; always zero for now.
    pub flags: u8,
    /// The request this frame belongs to (0 for `Hello`).
    pub id: u32,
    /// Payload length in bytes, at most [`MAX_PAYLOAD`].
    pub len: u32,
}

/// Why a frame could not be read.
#[derive(Debug)]
pub enum FrameError {
    /// The underlying channel failed or ended.
    Io(io::Error),
    /// The first four bytes were not [`MAGIC`].
    BadMagic([u8; 4]),
    /// The peer speaks another protocol version.
    Version(u16),
    /// Unknown frame kind.
    Kind(u8),
    /// The announced payload is larger than [`MAX_PAYLOAD`].
    TooLarge(u32),
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Io(_) => write!(f, "channel read failed"),
            Self::BadMagic(m) => write!(
                f,
                "bad frame magic {m:02x?}: the peer is not a guestwright daemon"
            ),
            Self::Version(v) => write!(
                f,
                "peer speaks protocol version {v}, this side speaks {PROTOCOL_VERSION}"
            ),
            Self::Kind(k) => write!(f, "unknown frame kind {k}"),
            Self::TooLarge(n) => write!(
                f,
                "frame payload of {n} bytes exceeds the limit of {MAX_PAYLOAD}"
            ),
        }
    }
}

impl std::error::Error for FrameError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Io(e) => Some(e),
            _ => None,
        }
    }
}

impl From<io::Error> for FrameError {
    fn from(e: io::Error) -> Self {
        Self::Io(e)
    }
}

impl FrameError {
    /// True when the channel simply ended (the peer closed it or died).
    pub fn is_eof(&self) -> bool {
        matches!(self, Self::Io(e) if e.kind() == io::ErrorKind::UnexpectedEof)
    }
}

impl Header {
    /// Encodes the header into its 16 wire bytes.
    pub fn encode(&self) -> [u8; HEADER_LEN] {
        let mut b = [0u8; HEADER_LEN];
        b[0..4].copy_from_slice(&MAGIC);
        b[4..6].copy_from_slice(&PROTOCOL_VERSION.to_le_bytes());
        b[6] = self.kind as u8;
        b[7] = self.flags;
        b[8..12].copy_from_slice(&self.id.to_le_bytes());
        b[12..16].copy_from_slice(&self.len.to_le_bytes());
        b
    }

    /// Decodes and validates 16 header bytes. The length is checked here, before anyone
    /// allocates for the payload.
    pub fn decode(b: &[u8; HEADER_LEN]) -> Result<Self, FrameError> {
        let magic = [b[0], b[1], b[2], b[3]];
        if magic != MAGIC {
            return Err(FrameError::BadMagic(magic));
        }
        let version = u16::from_le_bytes([b[4], b[5]]);
        if version != PROTOCOL_VERSION {
            return Err(FrameError::Version(version));
        }
        let kind = FrameKind::from_u8(b[6]).ok_or(FrameError::Kind(b[6]))?;
        let len = u32::from_le_bytes([b[12], b[13], b[14], b[15]]);
        if len > MAX_PAYLOAD {
            return Err(FrameError::TooLarge(len));
        }
        Ok(Header {
            kind,
            flags: b[7],
            id: u32::from_le_bytes([b[8], b[9], b[10], b[11]]),
            len,
        })
    }
}

/// A whole frame: header plus payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// The frame's kind.
    pub kind: FrameKind,
    /// The request it belongs to.
    pub id: u32,
    /// The payload bytes.
    pub payload: Vec<u8>,
}

/// Reads one frame. The payload buffer is allocated only after the header passed its checks.
pub fn read_frame(r: &mut impl Read) -> Result<Frame, FrameError> {
    let mut hb = [0u8; HEADER_LEN];
    r.read_exact(&mut hb)?;
    let header = Header::decode(&hb)?;
    let mut payload = vec![0u8; header.len as usize];
    r.read_exact(&mut payload)?;
    Ok(Frame {
        kind: header.kind,
        id: header.id,
        payload,
    })
}

/// Writes one frame (header and payload) with one write and does not flush.
///
/// One write, not two: each write to a virtio-serial port is a buffer of its own on the
/// virtqueue and a notification, and the reader on the far side wakes for each.
///
/// A payload over [`MAX_PAYLOAD`] is a bug on this side and is refused with `InvalidInput`.
pub fn write_frame(w: &mut impl Write, kind: FrameKind, id: u32, payload: &[u8]) -> io::Result<()> {
    let len = u32::try_from(payload.len())
        .ok()
        .filter(|&n| n <= MAX_PAYLOAD)
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "frame payload too large"))?;
    let header = Header {
        kind,
        flags: 0,
        id,
        len,
    }
    .encode();
    let mut frame = Vec::with_capacity(HEADER_LEN + payload.len());
    frame.extend_from_slice(&header);
    frame.extend_from_slice(payload);
    w.write_all(&frame)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions_round_trip_and_are_checked() {
        let r = Region {
            offset: 64 << 20,
            len: 4096,
        };
        assert_eq!(Region::decode(&r.encode()), Some(r));
        let unaligned = Region { offset: 7, len: 1 };
        assert_eq!(Region::decode(&unaligned.encode()), None);
        let huge = Region {
            offset: 0,
            len: CHUNK_SIZE as u32 + 1,
        };
        assert_eq!(Region::decode(&huge.encode()), None);
        assert_eq!(Region::decode(&[0; 11]), None);
    }

    #[test]
    fn round_trip_every_kind() {
        for kind in [
            FrameKind::Hello,
            FrameKind::Request,
            FrameKind::Reply,
            FrameKind::Error,
            FrameKind::Chunk,
            FrameKind::End,
            FrameKind::Progress,
            FrameKind::Cancel,
            FrameKind::ChunkAt,
            FrameKind::Consumed,
            FrameKind::Lane,
        ] {
            let mut buf = Vec::new();
            write_frame(&mut buf, kind, 0xdead_beef, b"payload").unwrap();
            assert_eq!(buf.len(), HEADER_LEN + 7);
            let f = read_frame(&mut buf.as_slice()).unwrap();
            assert_eq!(
                f,
                Frame {
                    kind,
                    id: 0xdead_beef,
                    payload: b"payload".to_vec()
                }
            );
        }
    }

    #[test]
    fn empty_and_maximal_payloads() {
        let mut buf = Vec::new();
        write_frame(&mut buf, FrameKind::End, 1, &[]).unwrap();
        assert_eq!(
            read_frame(&mut buf.as_slice()).unwrap().payload,
            Vec::<u8>::new()
        );

        let big = vec![7u8; MAX_PAYLOAD as usize];
        let mut buf = Vec::new();
        write_frame(&mut buf, FrameKind::Chunk, 2, &big).unwrap();
        assert_eq!(
            read_frame(&mut buf.as_slice()).unwrap().payload.len(),
            big.len()
        );
    }

    #[test]
    fn oversize_is_rejected_before_allocation() {
        // A header announcing 4 GiB followed by nothing: must fail on the length, not try to
        // allocate or read 4 GiB.
        for len in [MAX_PAYLOAD + 1, u32::MAX] {
            let mut h = Header {
                kind: FrameKind::Chunk,
                flags: 0,
                id: 1,
                len: 0,
            }
            .encode();
            h[12..16].copy_from_slice(&len.to_le_bytes());
            match read_frame(&mut h.as_slice()) {
                Err(FrameError::TooLarge(n)) => assert_eq!(n, len),
                other => panic!("expected TooLarge, got {other:?}"),
            }
        }
        let too_big = vec![0u8; MAX_PAYLOAD as usize + 1];
        let err = write_frame(&mut Vec::new(), FrameKind::Chunk, 1, &too_big).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    }

    #[test]
    fn truncated_frames_are_eof() {
        let mut buf = Vec::new();
        write_frame(&mut buf, FrameKind::Reply, 3, b"0123456789").unwrap();
        for cut in [0, 1, HEADER_LEN - 1, HEADER_LEN, buf.len() - 1] {
            let err = read_frame(&mut &buf[..cut]).unwrap_err();
            assert!(err.is_eof(), "cut at {cut}: {err:?}");
        }
    }

    #[test]
    fn garbage_is_rejected() {
        let err = read_frame(&mut &b"GET / HTTP/1.1\r\n\r\n"[..]).unwrap_err();
        assert!(matches!(err, FrameError::BadMagic(_)), "{err:?}");

        let mut h = Header {
            kind: FrameKind::Reply,
            flags: 0,
            id: 1,
            len: 0,
        }
        .encode();
        h[4] = 99;
        assert!(matches!(
            read_frame(&mut h.as_slice()),
            Err(FrameError::Version(_))
        ));

        let mut h = Header {
            kind: FrameKind::Reply,
            flags: 0,
            id: 1,
            len: 0,
        }
        .encode();
        h[6] = 200;
        assert!(matches!(
            read_frame(&mut h.as_slice()),
            Err(FrameError::Kind(200))
        ));
    }
}
