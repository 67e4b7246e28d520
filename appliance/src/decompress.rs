//! Decompressors for the formats Linux uses for its bzImage payload and for its modules.
//!
//! The format is told by the magic bytes, never by a file name. Every decoder stops at the end
//! of its own stream, so the 4-byte uncompressed-size trailer that the kernel build appends to
//! its payload is ignored, and every decoder is bounded by a caller-given output limit.

use std::io::{self, Read};

use crate::lzo;

/// A compression format, as recognised by its magic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    Gzip,
    Xz,
    Zstd,
    /// The legacy LZ4 frame (`lz4 -l`), the one the kernel uses.
    Lz4Legacy,
    Bzip2,
    /// The legacy `.lzma` ("LZMA alone") container.
    Lzma,
    /// The `lzop` container around LZO1X blocks.
    Lzo,
}

const LZ4_LEGACY_MAGIC: u32 = 0x184C_2102;
const LZ4_LEGACY_BLOCK: usize = 8 << 20;

impl Format {
    /// Recognises a format by the first bytes of `data`.
    pub(crate) fn detect(data: &[u8]) -> Option<Format> {
        let starts = |magic: &[u8]| data.starts_with(magic);
        if starts(&[0x1f, 0x8b]) {
            Some(Format::Gzip)
        } else if starts(&[0xfd, b'7', b'z', b'X', b'Z', 0x00]) {
            Some(Format::Xz)
        } else if starts(&[0x28, 0xb5, 0x2f, 0xfd]) {
            Some(Format::Zstd)
        } else if starts(&LZ4_LEGACY_MAGIC.to_le_bytes()) {
            Some(Format::Lz4Legacy)
        } else if starts(b"BZh") {
            Some(Format::Bzip2)
        } else if starts(&lzo::LZOP_MAGIC) {
            Some(Format::Lzo)
        } else if starts(&[0x5d, 0x00, 0x00]) {
            // lc=3 lp=0 pb=2 and a dictionary size whose low bytes are zero: what `lzma` writes.
            Some(Format::Lzma)
        } else {
            None
        }
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            Format::Gzip => "gzip",
            Format::Xz => "xz",
            Format::Zstd => "zstd",
            Format::Lz4Legacy => "lz4",
            Format::Bzip2 => "bzip2",
            Format::Lzma => "lzma",
            Format::Lzo => "lzo",
        }
    }
}

/// Why decompression failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum DecompressError {
    #[error("unknown compression format (first bytes {magic:02x?})")]
    UnknownFormat { magic: Vec<u8> },
    #[error("corrupt {} stream", .format.name())]
    Corrupt {
        format: Format,
        #[source]
        source: io::Error,
    },
    #[error("{} output is larger than the {limit}-byte limit", .format.name())]
    TooLarge { format: Format, limit: usize },
    #[error("corrupt lz4 legacy stream: {0}")]
    Lz4(&'static str),
    #[error("corrupt lzop stream")]
    Lzo(#[from] lzo::LzoError),
}

/// Detects the format of `data` and decompresses it, producing at most `limit` bytes.
pub(crate) fn decompress(data: &[u8], limit: usize) -> Result<(Format, Vec<u8>), DecompressError> {
    let format = Format::detect(data).ok_or_else(|| DecompressError::UnknownFormat {
        magic: data.iter().take(6).copied().collect(),
    })?;
    let out = decompress_as(format, data, limit)?;
    Ok((format, out))
}

/// Decompresses `data`, known to be in `format`, producing at most `limit` bytes.
pub(crate) fn decompress_as(
    format: Format,
    data: &[u8],
    limit: usize,
) -> Result<Vec<u8>, DecompressError> {
    match format {
        Format::Gzip => read_all(format, flate2::read::GzDecoder::new(data), data, limit),
        Format::Xz => read_all(format, liblzma::read::XzDecoder::new(data), data, limit),
        Format::Lzma => {
            let stream = liblzma::stream::Stream::new_lzma_decoder(u64::MAX).map_err(|e| {
                DecompressError::Corrupt {
                    format,
                    source: e.into(),
                }
            })?;
            read_all(
                format,
                liblzma::read::XzDecoder::new_stream(data, stream),
                data,
                limit,
            )
        }
        Format::Zstd => {
            let mut source = data;
            let decoder = ruzstd::decoding::StreamingDecoder::new(&mut source).map_err(|e| {
                DecompressError::Corrupt {
                    format,
                    source: io::Error::new(io::ErrorKind::InvalidData, e.to_string()),
                }
            })?;
            read_all(format, decoder, data, limit)
        }
        Format::Bzip2 => read_all(format, bzip2::read::BzDecoder::new(data), data, limit),
        Format::Lz4Legacy => lz4_legacy(data, limit),
        Format::Lzo => Ok(lzo::decompress_lzop(data, limit)?),
    }
}

/// Reads a decoder to its end, refusing to grow past `limit`.
fn read_all(
    format: Format,
    decoder: impl Read,
    input: &[u8],
    limit: usize,
) -> Result<Vec<u8>, DecompressError> {
    let mut out = Vec::with_capacity(size_hint(input, limit));
    let mut bounded = decoder.take(limit as u64 + 1);
    bounded
        .read_to_end(&mut out)
        .map_err(|source| DecompressError::Corrupt { format, source })?;
    if out.len() > limit {
        return Err(DecompressError::TooLarge { format, limit });
    }
    Ok(out)
}

/// The kernel's payloads end in the little-endian uncompressed size: a good capacity guess,
/// trusted only as far as the limit.
fn size_hint(input: &[u8], limit: usize) -> usize {
    let Some(tail) = input.len().checked_sub(4).map(|at| &input[at..]) else {
        return 0;
    };
    let size = u32::from_le_bytes(tail.try_into().expect("4 bytes")) as usize;
    if size <= limit && size >= input.len() {
        size
    } else {
        input.len().saturating_mul(3).min(limit)
    }
}

/// The legacy LZ4 frame: the magic, then blocks of `u32` compressed length + LZ4 block, each
/// decompressing to at most 8 MiB. A repeated magic starts a concatenated frame.
fn lz4_legacy(data: &[u8], limit: usize) -> Result<Vec<u8>, DecompressError> {
    // The largest compressed form of an 8 MiB block (LZ4_compressBound).
    const MAX_BLOCK: usize = LZ4_LEGACY_BLOCK + LZ4_LEGACY_BLOCK / 255 + 16;
    let mut out = Vec::with_capacity(size_hint(data, limit));
    let mut block = vec![0u8; LZ4_LEGACY_BLOCK];
    let mut pos = 4;
    let mut blocks = 0usize;
    while pos < data.len() {
        let rest = data.len() - pos;
        if rest <= 4 && blocks > 0 {
            // The kernel build's size trailer: no block fits in four bytes.
            break;
        }
        let len_bytes = data
            .get(pos..pos + 4)
            .ok_or(DecompressError::Lz4("truncated block length"))?;
        let len = u32::from_le_bytes(len_bytes.try_into().expect("4 bytes"));
        pos += 4;
        if len == LZ4_LEGACY_MAGIC {
            continue;
        }
        let len = len as usize;
        if len > MAX_BLOCK {
            return Err(DecompressError::Lz4(
                "block length larger than an 8 MiB block can need",
            ));
        }
        let compressed = data
            .get(pos..pos + len)
            .ok_or(DecompressError::Lz4("block runs past the end of the data"))?;
        let n = lz4_flex::block::decompress_into(compressed, &mut block)
            .map_err(|_| DecompressError::Lz4("invalid block"))?;
        if out.len() + n > limit {
            return Err(DecompressError::TooLarge {
                format: Format::Lz4Legacy,
                limit,
            });
        }
        out.extend_from_slice(&block[..n]);
        pos += len;
        blocks += 1;
    }
    if blocks == 0 {
        return Err(DecompressError::Lz4("no blocks"));
    }
    Ok(out)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::process::{Command, Stdio};

    /// Compresses `data` with a real command-line tool, as the kernel build or a distro would.
    /// A missing tool fails the test: these are listed in scripts/apt-packages.txt.
    pub(crate) fn compress_with(tool: &str, args: &[&str], data: &[u8]) -> Vec<u8> {
        use std::io::Write;
        let mut child = Command::new(tool)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot run `{tool}` ({e}): install it (see scripts/apt-packages.txt)")
            });
        let mut stdin = child.stdin.take().expect("piped stdin");
        let input = data.to_vec();
        let writer = std::thread::spawn(move || stdin.write_all(&input));
        let output = child.wait_with_output().expect("wait for the compressor");
        writer
            .join()
            .expect("writer thread")
            .expect("write to the compressor");
        assert!(
            output.status.success(),
            "`{tool} {args:?}` failed: {}",
            output.status
        );
        output.stdout
    }

    /// Data that compresses, but not trivially, and spans more than one 8 MiB lz4 block
    /// when `len` is large enough.
    pub(crate) fn sample_data(len: usize) -> Vec<u8> {
        let mut state = 0x1234_5678_u32;
        (0..len)
            .map(|i| {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                if i % 64 < 40 {
                    b"guestwright appliance "[i % 22]
                } else {
                    (state % 7) as u8 + b'a'
                }
            })
            .collect()
    }

    /// The kernel build appends the uncompressed size to each payload.
    fn with_size_trailer(mut compressed: Vec<u8>, original: &[u8]) -> Vec<u8> {
        compressed.extend_from_slice(&(original.len() as u32).to_le_bytes());
        compressed
    }

    fn round_trip(tool: &str, args: &[&str], expected: Format, len: usize) {
        let data = sample_data(len);
        let compressed = with_size_trailer(compress_with(tool, args, &data), &data);
        let (format, out) = decompress(&compressed, 64 << 20).expect("decompress");
        assert_eq!(format, expected);
        assert!(out == data, "{tool}: output differs from the input");
    }

    #[test]
    fn gzip_as_the_kernel_writes_it() {
        round_trip("gzip", &["-n", "-9", "-c"], Format::Gzip, 300_000);
    }

    #[test]
    fn xz_with_the_x86_bcj_filter() {
        round_trip(
            "xz",
            &["--x86", "--lzma2=dict=1MiB", "--check=crc32", "-c"],
            Format::Xz,
            300_000,
        );
    }

    #[test]
    fn zstd_as_the_kernel_writes_it() {
        round_trip("zstd", &["-19", "-q", "-c"], Format::Zstd, 300_000);
    }

    #[test]
    fn lz4_legacy_frame_with_several_blocks() {
        round_trip("lz4", &["-l", "-9", "-q", "-c"], Format::Lz4Legacy, 9 << 20);
    }

    #[test]
    fn bzip2_as_the_kernel_writes_it() {
        round_trip("bzip2", &["-9", "-c"], Format::Bzip2, 300_000);
    }

    #[test]
    fn lzma_alone_as_the_kernel_writes_it() {
        round_trip("lzma", &["-9", "-c"], Format::Lzma, 300_000);
    }

    #[test]
    fn lzop_as_the_kernel_writes_it() {
        round_trip("lzop", &["-9", "-c"], Format::Lzo, 600_000);
    }

    #[test]
    fn output_limit_is_enforced() {
        let data = sample_data(200_000);
        for (tool, args) in [
            ("gzip", &["-c"][..]),
            ("lz4", &["-l", "-c"]),
            ("lzop", &["-c"]),
        ] {
            let compressed = compress_with(tool, args, &data);
            let err = decompress(&compressed, 100_000).expect_err("over the limit");
            assert!(
                matches!(
                    err,
                    DecompressError::TooLarge { .. } | DecompressError::Lzo(_)
                ),
                "{tool}: {err}"
            );
        }
    }

    #[test]
    fn truncated_and_unknown_inputs_are_errors() {
        let data = sample_data(100_000);
        let gz = compress_with("gzip", &["-c"], &data);
        assert!(decompress(&gz[..gz.len() / 2], 1 << 20).is_err());
        let lz4 = compress_with("lz4", &["-l", "-c"], &data);
        assert!(decompress(&lz4[..lz4.len() / 2], 1 << 20).is_err());
        assert!(matches!(
            decompress(b"ELF garbage", 1 << 20),
            Err(DecompressError::UnknownFormat { .. })
        ));
    }
}
