//! The one place that knows how payloads are encoded: bincode 2 through serde, with a size
//! limit so a hostile length prefix inside a payload cannot make the decoder allocate more
//! than a frame could carry.

use crate::frame::MAX_PAYLOAD;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::fmt;

fn config() -> impl bincode::config::Config {
    bincode::config::standard().with_limit::<{ MAX_PAYLOAD as usize }>()
}

/// Encodes a value into a payload.
pub fn encode<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, CodecError> {
    bincode::serde::encode_to_vec(value, config()).map_err(|e| CodecError(e.to_string()))
}

/// Decodes a payload; trailing bytes are an error.
pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, CodecError> {
    let (value, used) = bincode::serde::decode_from_slice(bytes, config())
        .map_err(|e| CodecError(e.to_string()))?;
    if used != bytes.len() {
        return Err(CodecError(format!(
            "{} trailing bytes after the message",
            bytes.len() - used
        )));
    }
    Ok(value)
}

/// A payload that does not decode as the expected type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodecError(pub String);

impl fmt::Display for CodecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "malformed message: {}", self.0)
    }
}

impl std::error::Error for CodecError {}

impl From<CodecError> for std::io::Error {
    fn from(e: CodecError) -> Self {
        std::io::Error::new(std::io::ErrorKind::InvalidData, e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{args, GuestPath, Request};

    #[test]
    fn request_round_trip() {
        let req = Request::ReadFile(args::ReadFile {
            path: GuestPath::from(&b"/etc/\xffhost"[..]),
        });
        let bytes = encode(&req).unwrap();
        let back: Request = decode(&bytes).unwrap();
        assert_eq!(format!("{back:?}"), format!("{req:?}"));
    }

    #[test]
    fn garbage_and_hostile_lengths_fail_cleanly() {
        // A Vec length prefix claiming 2^60 elements must be refused by the limit, not
        // attempted.
        let mut hostile = vec![0xfd]; // bincode varint marker for u64
        hostile.extend_from_slice(&(1u64 << 60).to_le_bytes());
        assert!(decode::<Vec<u64>>(&hostile).is_err());
        assert!(decode::<Vec<u8>>(&hostile).is_err());
        assert!(decode::<Request>(&[0xff; 64]).is_err());
        assert!(decode::<Request>(&[]).is_err());
        // Trailing bytes are not silently ignored.
        let mut ok = encode(&7u32).unwrap();
        ok.push(0);
        assert!(decode::<u32>(&ok).is_err());
    }
}
