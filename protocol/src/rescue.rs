//! The rescue console (`guestwright rescue`, virt-rescue): a second virtio-serial port, present
//! only in a launch that asks for it, on which the daemon runs a shell on a pseudo-terminal
//! of its own and relays it to the host.
//!
//! The bytes are framed both ways, so that keystrokes, a terminal's new size and the shell's
//! end never mix with what the shell prints: a frame is one kind byte, a little-endian `u32`
//! length and that many bytes.
//!
//! * host → daemon: [`Packet::Start`] once (the terminal's size and `TERM`), then
//!   [`Packet::Input`] and [`Packet::Resize`];
//! * daemon → host: [`Packet::Output`], and [`Packet::Exit`] with the shell's exit status
//!   when it ends (nothing follows it).
//!
//! ```
//! use guestwright_protocol::rescue::{Packet, Decoder};
//!
//! let mut wire = Packet::Input(b"ls\n".to_vec()).encode();
//! wire.extend(Packet::Exit(0).encode());
//! let mut d = Decoder::default();
//! // Bytes arrive in any pieces.
//! d.push(&wire[..3]);
//! assert_eq!(d.next_packet().unwrap(), None);
//! d.push(&wire[3..]);
//! assert_eq!(d.next_packet().unwrap(), Some(Packet::Input(b"ls\n".to_vec())));
//! assert_eq!(d.next_packet().unwrap(), Some(Packet::Exit(0)));
//! assert_eq!(d.next_packet().unwrap(), None);
//! ```

/// The name of the rescue console's virtio-serial port.
pub const PORT_NAME: &str = "org.guestwright.rescue.0";

/// The kernel command-line word that tells the daemon to serve the rescue console.
pub const BOOT_FLAG: &str = "guestwright.rescue";

/// The largest frame accepted: a read of the pseudo-terminal or of the user's terminal is
/// far smaller.
pub const MAX_PACKET: usize = 64 * 1024;

/// One frame of the rescue console.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Packet {
    /// Start the shell on a terminal of this size, with this `TERM`.
    Start {
        /// Rows.
        rows: u16,
        /// Columns.
        cols: u16,
        /// Whether the terminal echoes what it is sent before the shell reads it: yes for
        /// a user typing; no for a script piped in, which would otherwise be printed whole
        /// before the shell's first prompt (the shell still shows each line it reads).
        echo: bool,
        /// The user's `TERM` (empty: `linux`).
        term: String,
    },
    /// Keystrokes for the shell.
    Input(Vec<u8>),
    /// The user's terminal has a new size.
    Resize {
        /// Rows.
        rows: u16,
        /// Columns.
        cols: u16,
    },
    /// What the shell printed.
    Output(Vec<u8>),
    /// The shell ended with this status (a wait status's exit code, or 128 + the signal).
    Exit(i32),
}

const START: u8 = b'S';
const INPUT: u8 = b'I';
const RESIZE: u8 = b'R';
const OUTPUT: u8 = b'O';
const EXIT: u8 = b'X';

/// A frame that cannot be understood: the other end is not a guestwright of this version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PacketError(String);

impl std::fmt::Display for PacketError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "rescue console: {}", self.0)
    }
}

impl std::error::Error for PacketError {}

impl Packet {
    /// The frame's bytes.
    pub fn encode(&self) -> Vec<u8> {
        let (kind, body) = match self {
            Packet::Start {
                rows,
                cols,
                echo,
                term,
            } => {
                let mut b = Vec::with_capacity(5 + term.len());
                b.extend(rows.to_le_bytes());
                b.extend(cols.to_le_bytes());
                b.push(u8::from(*echo));
                b.extend(term.as_bytes());
                (START, b)
            }
            Packet::Input(data) => (INPUT, data.clone()),
            Packet::Resize { rows, cols } => {
                let mut b = Vec::with_capacity(4);
                b.extend(rows.to_le_bytes());
                b.extend(cols.to_le_bytes());
                (RESIZE, b)
            }
            Packet::Output(data) => (OUTPUT, data.clone()),
            Packet::Exit(status) => (EXIT, status.to_le_bytes().to_vec()),
        };
        let mut out = Vec::with_capacity(5 + body.len());
        out.push(kind);
        out.extend((body.len() as u32).to_le_bytes());
        out.extend(body);
        out
    }

    fn decode(kind: u8, body: &[u8]) -> Result<Packet, PacketError> {
        let size = |b: &[u8]| -> Result<(u16, u16), PacketError> {
            match b {
                [r0, r1, c0, c1, ..] => Ok((
                    u16::from_le_bytes([*r0, *r1]),
                    u16::from_le_bytes([*c0, *c1]),
                )),
                _ => Err(PacketError("a terminal size shorter than 4 bytes".into())),
            }
        };
        Ok(match kind {
            START => {
                let (rows, cols) = size(body)?;
                let Some((&echo, term)) = body[4..].split_first() else {
                    return Err(PacketError("a start without its echo flag".into()));
                };
                Packet::Start {
                    rows,
                    cols,
                    echo: echo != 0,
                    term: String::from_utf8_lossy(term).into_owned(),
                }
            }
            INPUT => Packet::Input(body.to_vec()),
            RESIZE => {
                let (rows, cols) = size(body)?;
                Packet::Resize { rows, cols }
            }
            OUTPUT => Packet::Output(body.to_vec()),
            EXIT => {
                Packet::Exit(i32::from_le_bytes(body.try_into().map_err(|_| {
                    PacketError("an exit status that is not 4 bytes".into())
                })?))
            }
            k => return Err(PacketError(format!("unknown frame kind {k:#04x}"))),
        })
    }
}

/// Splits a byte stream into [`Packet`]s.
#[derive(Debug, Default)]
pub struct Decoder {
    buf: Vec<u8>,
}

impl Decoder {
    /// Adds bytes read from the port.
    pub fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// The next whole packet, if one has arrived.
    pub fn next_packet(&mut self) -> Result<Option<Packet>, PacketError> {
        let Some(&[kind, a, b, c, d]) = self.buf.get(..5) else {
            return Ok(None);
        };
        let len = u32::from_le_bytes([a, b, c, d]) as usize;
        if len > MAX_PACKET {
            return Err(PacketError(format!(
                "a frame of {len} bytes (at most {MAX_PACKET})"
            )));
        }
        if self.buf.len() < 5 + len {
            return Ok(None);
        }
        let packet = Packet::decode(kind, &self.buf[5..5 + len]);
        self.buf.drain(..5 + len);
        packet.map(Some)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_packet_comes_back_as_it_went_byte_by_byte() {
        let packets = [
            Packet::Start {
                rows: 24,
                cols: 80,
                echo: true,
                term: "xterm-256color".into(),
            },
            Packet::Start {
                rows: 0,
                cols: 0,
                echo: false,
                term: String::new(),
            },
            Packet::Input(vec![0x1d, b'\n', 0]),
            Packet::Input(Vec::new()),
            Packet::Resize {
                rows: 50,
                cols: 132,
            },
            Packet::Output(b"><rescue> ".to_vec()),
            Packet::Exit(-1),
        ];
        let wire: Vec<u8> = packets.iter().flat_map(Packet::encode).collect();
        let mut d = Decoder::default();
        let mut got = Vec::new();
        for b in wire {
            d.push(&[b]);
            while let Some(p) = d.next_packet().unwrap() {
                got.push(p);
            }
        }
        assert_eq!(got, packets);
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        let mut d = Decoder::default();
        d.push(&[b'Z', 0, 0, 0, 0]);
        assert!(d
            .next_packet()
            .unwrap_err()
            .to_string()
            .contains("unknown frame kind"));
        let mut d = Decoder::default();
        d.push(&[b'X', 2, 0, 0, 0, 1, 2]);
        assert!(d.next_packet().is_err());
        let mut d = Decoder::default();
        d.push(&[b'O', 0xff, 0xff, 0xff, 0xff]);
        assert!(d.next_packet().unwrap_err().to_string().contains("at most"));
        let mut d = Decoder::default();
        d.push(&[b'R', 1, 0, 0, 0, 7]);
        assert!(d.next_packet().is_err());
        let mut d = Decoder::default();
        d.push(&[b'S', 4, 0, 0, 0, 24, 0, 80, 0]);
        assert!(d.next_packet().unwrap_err().to_string().contains("echo"));
    }
}
