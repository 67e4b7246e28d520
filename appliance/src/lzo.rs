//! The `lzop` container and an LZO1X decompressor, for kernels built with `CONFIG_KERNEL_LZO`.
//!
//! No crate with a permissive licence does this well, and the format is small: the instruction
//! encoding below follows the kernel's `Documentation/staging/lzo.rst`. The decoder is written
//! for untrusted input: every read and every back-reference is bounds-checked.

/// The first nine bytes of an `lzop` file.
pub(crate) const LZOP_MAGIC: [u8; 9] = [0x89, b'L', b'Z', b'O', 0x00, 0x0d, 0x0a, 0x1a, 0x0a];

const F_ADLER32_D: u32 = 0x0000_0001;
const F_ADLER32_C: u32 = 0x0000_0002;
const F_H_EXTRA_FIELD: u32 = 0x0000_0040;
const F_CRC32_D: u32 = 0x0000_0100;
const F_CRC32_C: u32 = 0x0000_0200;
const F_H_FILTER: u32 = 0x0000_0800;
/// lzop never writes blocks larger than this; the kernel's unlzo refuses them too.
const MAX_BLOCK: usize = 256 << 10;

/// What is wrong with an lzop stream.
#[derive(Debug, thiserror::Error)]
pub(crate) enum LzoError {
    #[error("truncated input")]
    Truncated,
    #[error("not an lzop file")]
    BadMagic,
    #[error("unsupported lzop method {0}")]
    Method(u8),
    #[error("block of {0} bytes is larger than lzop writes")]
    BlockTooLarge(usize),
    #[error("LZO1X data is corrupt: {0}")]
    Corrupt(&'static str),
    #[error("block checksum mismatch")]
    Checksum,
    #[error("output is larger than the {0}-byte limit")]
    TooLarge(usize),
}

/// A cursor over the input that fails instead of panicking.
struct Input<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Input<'a> {
    fn bytes(&mut self, n: usize) -> Result<&'a [u8], LzoError> {
        let end = self.pos.checked_add(n).ok_or(LzoError::Truncated)?;
        let out = self.data.get(self.pos..end).ok_or(LzoError::Truncated)?;
        self.pos = end;
        Ok(out)
    }
    fn u8(&mut self) -> Result<u8, LzoError> {
        Ok(self.bytes(1)?[0])
    }
    fn be16(&mut self) -> Result<u16, LzoError> {
        Ok(u16::from_be_bytes(
            self.bytes(2)?.try_into().expect("2 bytes"),
        ))
    }
    fn be32(&mut self) -> Result<u32, LzoError> {
        Ok(u32::from_be_bytes(
            self.bytes(4)?.try_into().expect("4 bytes"),
        ))
    }
}

/// Decompresses a whole lzop file (the first member; the kernel's size trailer is ignored).
pub(crate) fn decompress_lzop(data: &[u8], limit: usize) -> Result<Vec<u8>, LzoError> {
    let mut input = Input { data, pos: 0 };
    if input.bytes(LZOP_MAGIC.len())? != LZOP_MAGIC {
        return Err(LzoError::BadMagic);
    }
    let version = input.be16()?;
    let _lib_version = input.be16()?;
    if version >= 0x0940 {
        let _version_needed = input.be16()?;
    }
    let method = input.u8()?;
    if !(1..=3).contains(&method) {
        return Err(LzoError::Method(method));
    }
    if version >= 0x0940 {
        let _level = input.u8()?;
    }
    let flags = input.be32()?;
    if flags & F_H_FILTER != 0 {
        let _filter = input.be32()?;
    }
    let _mode = input.be32()?;
    let _mtime_low = input.be32()?;
    if version >= 0x0940 {
        let _mtime_high = input.be32()?;
    }
    let name_len = input.u8()? as usize;
    input.bytes(name_len)?;
    let _header_checksum = input.be32()?;
    if flags & F_H_EXTRA_FIELD != 0 {
        let len = input.be32()? as usize;
        input.bytes(len)?;
        let _extra_checksum = input.be32()?;
    }

    let mut out = Vec::new();
    loop {
        let dst_len = input.be32()? as usize;
        if dst_len == 0 {
            return Ok(out);
        }
        let src_len = input.be32()? as usize;
        if dst_len > MAX_BLOCK || src_len > dst_len {
            return Err(LzoError::BlockTooLarge(dst_len.max(src_len)));
        }
        if out.len() + dst_len > limit {
            return Err(LzoError::TooLarge(limit));
        }
        let adler_d = if flags & F_ADLER32_D != 0 {
            Some(input.be32()?)
        } else {
            None
        };
        let crc_d = if flags & F_CRC32_D != 0 {
            Some(input.be32()?)
        } else {
            None
        };
        if src_len < dst_len {
            if flags & F_ADLER32_C != 0 {
                input.be32()?;
            }
            if flags & F_CRC32_C != 0 {
                input.be32()?;
            }
        }
        let block = input.bytes(src_len)?;
        let start = out.len();
        if src_len == dst_len {
            out.extend_from_slice(block);
        } else {
            lzo1x_decompress(block, &mut out, start + dst_len)?;
            if out.len() != start + dst_len {
                return Err(LzoError::Corrupt("block decompressed to the wrong length"));
            }
        }
        let produced = &out[start..];
        if adler_d.is_some_and(|sum| sum != adler32(produced)) {
            return Err(LzoError::Checksum);
        }
        if crc_d.is_some_and(|sum| sum != crc32(produced)) {
            return Err(LzoError::Checksum);
        }
    }
}

fn adler32(data: &[u8]) -> u32 {
    let (mut a, mut b) = (1u32, 0u32);
    for chunk in data.chunks(5552) {
        for &byte in chunk {
            a += u32::from(byte);
            b += a;
        }
        a %= 65521;
        b %= 65521;
    }
    (b << 16) | a
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = flate2::Crc::new();
    crc.update(data);
    crc.sum()
}

/// Decodes one LZO1X block, appending to `out`; back-references stay within this block, and
/// `out` never grows past `max_len`.
fn lzo1x_decompress(src: &[u8], out: &mut Vec<u8>, max_len: usize) -> Result<(), LzoError> {
    let base = out.len();
    let mut input = Input { data: src, pos: 0 };
    let literals = |input: &mut Input, out: &mut Vec<u8>, n: usize| -> Result<(), LzoError> {
        if out.len() + n > max_len {
            return Err(LzoError::Corrupt("literal run past the block's length"));
        }
        out.extend_from_slice(input.bytes(n)?);
        Ok(())
    };
    // Lengths longer than a field holds: zero bytes each add 255, then a non-zero byte.
    let long_length = |input: &mut Input| -> Result<usize, LzoError> {
        let mut extra = 0usize;
        loop {
            match input.u8()? {
                0 => {
                    extra += 255;
                    if extra > MAX_BLOCK {
                        return Err(LzoError::Corrupt("length run too long"));
                    }
                }
                b => return Ok(extra + usize::from(b)),
            }
        }
    };

    // `state` is how many literals the previous instruction copied (4 meaning "4 or more").
    let mut state: usize = 0;
    if let Some(&first) = src.first() {
        if first > 17 {
            input.pos = 1;
            let n = usize::from(first - 17);
            literals(&mut input, out, n)?;
            state = n.min(4);
        }
    }
    loop {
        let inst = input.u8()?;
        let (len, dist, next) = match inst {
            0..=15 if state == 0 => {
                let n = match inst {
                    0 => 15 + long_length(&mut input)?,
                    n => usize::from(n),
                };
                literals(&mut input, out, n + 3)?;
                state = 4;
                continue;
            }
            0..=15 => {
                let h = usize::from(input.u8()?);
                let d = usize::from((inst >> 2) & 3);
                if state == 4 {
                    (3, (h << 2) + d + 2049, inst & 3)
                } else {
                    (2, (h << 2) + d + 1, inst & 3)
                }
            }
            16..=31 => {
                let n = match inst & 7 {
                    0 => 7 + long_length(&mut input)?,
                    n => usize::from(n),
                };
                let le = usize::from(u16::from_le_bytes(
                    input.bytes(2)?.try_into().expect("2 bytes"),
                ));
                let dist = 16384 + (usize::from(inst & 8) << 11) + (le >> 2);
                if dist == 16384 {
                    // End of stream.
                    return if input.pos == src.len() {
                        Ok(())
                    } else {
                        Err(LzoError::Corrupt("data after the end marker"))
                    };
                }
                (n + 2, dist, (le & 3) as u8)
            }
            32..=63 => {
                let n = match inst & 31 {
                    0 => 31 + long_length(&mut input)?,
                    n => usize::from(n),
                };
                let le = usize::from(u16::from_le_bytes(
                    input.bytes(2)?.try_into().expect("2 bytes"),
                ));
                (n + 2, (le >> 2) + 1, (le & 3) as u8)
            }
            64..=127 => {
                let h = usize::from(input.u8()?);
                (
                    3 + usize::from((inst >> 5) & 1),
                    (h << 3) + usize::from((inst >> 2) & 7) + 1,
                    inst & 3,
                )
            }
            128..=255 => {
                let h = usize::from(input.u8()?);
                (
                    5 + usize::from((inst >> 5) & 3),
                    (h << 3) + usize::from((inst >> 2) & 7) + 1,
                    inst & 3,
                )
            }
        };
        if dist > out.len() - base {
            return Err(LzoError::Corrupt(
                "back-reference before the start of the block",
            ));
        }
        if out.len() + len > max_len {
            return Err(LzoError::Corrupt("match past the block's length"));
        }
        let from = out.len() - dist;
        // Overlapping copies repeat the pattern, so copy byte by byte when they overlap.
        for i in 0..len {
            let byte = out[from + i];
            out.push(byte);
        }
        let next = usize::from(next);
        literals(&mut input, out, next)?;
        state = next;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decompress::tests::{compress_with, sample_data};

    #[test]
    fn decodes_every_lzop_level_and_block_count() {
        // Levels 1 (LZO1X-1) and 9 (LZO1X-999) use different encoders; 600 kB spans three
        // 256 kB blocks; the zero run exercises long lengths.
        let mut data = sample_data(600_000);
        data.extend(std::iter::repeat_n(0u8, 70_000));
        data.extend_from_slice(&sample_data(1000));
        for level in ["-1", "-9"] {
            let compressed = compress_with("lzop", &[level, "-c"], &data);
            let out = decompress_lzop(&compressed, 1 << 20).expect("decompress");
            assert!(out == data, "lzop {level}: output differs from the input");
        }
    }

    #[test]
    fn incompressible_blocks_are_stored() {
        let mut state = 7u64;
        let data: Vec<u8> = (0..100_000)
            .map(|_| {
                state = state
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                (state >> 56) as u8
            })
            .collect();
        let compressed = compress_with("lzop", &["-c"], &data);
        assert_eq!(
            decompress_lzop(&compressed, 1 << 20).expect("decompress"),
            data
        );
    }

    #[test]
    fn corrupt_input_is_an_error_not_a_panic() {
        let data = sample_data(50_000);
        let compressed = compress_with("lzop", &["-c"], &data);
        // Flip bytes throughout the file: each must give an error or, where the byte is one
        // the decoder ignores (header fields), the original data; never a panic, never
        // silently wrong output (the data checksums catch that).
        let mut failures = 0;
        for i in (0..compressed.len()).step_by(13) {
            let mut bad = compressed.clone();
            bad[i] ^= 0x5a;
            match decompress_lzop(&bad, 1 << 20) {
                Ok(out) => assert!(out == data, "flip at {i} gave wrong output"),
                Err(_) => failures += 1,
            }
        }
        assert!(failures > 0);
        assert!(matches!(
            decompress_lzop(&compressed[..compressed.len() - 10], 1 << 20),
            Err(LzoError::Truncated | LzoError::Corrupt(_))
        ));
        assert!(matches!(
            decompress_lzop(b"not lzop at all", 1 << 20),
            Err(LzoError::BadMagic)
        ));
    }

    #[test]
    fn adler32_matches_the_reference_value() {
        assert_eq!(adler32(b"Wikipedia"), 0x11E6_0398);
    }
}
