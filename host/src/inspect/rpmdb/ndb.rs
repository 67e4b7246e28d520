//! rpm's NDB package file (`Packages.db`, SUSE since rpm 4.16 with `_db_backend ndb`),
//! read-only. Debian's rpm is built without this backend and no crate reads it, so this is
//! written from the format as rpm's `lib/backend/ndb/rpmpkg.c` lays it out:
//!
//! - All numbers are 32-bit little-endian. The file is made of 16-byte blocks.
//! - Offset 0: a 32-byte header: magic `RpmP`, version 0, generation, the number of 4 KiB
//!   pages the slot area takes (`slotnpages`), the next free package number.
//! - The rest of the slot area: 16-byte slots: magic `Slot`, package number, block offset
//!   and block count of its blob. A slot whose block offset is 0 is free.
//! - After the slot area: blobs, each `BlbS`, package number, generation, length, the
//!   header blob itself, zero padding to a whole block, then the Adler-32 of everything
//!   before it, the length again, and `BlbE`.
//!
//! rpm lists the packages in the order of their blobs in the file; so does this reader. The
//! file comes from the guest: every offset and length is checked against the file before
//! it is used, and no allocation is larger than the file.

use super::bdb::ReadAt;
use std::io;

const PKGDB_MAGIC: u32 = u32::from_le_bytes(*b"RpmP");
const SLOT_MAGIC: u32 = u32::from_le_bytes(*b"Slot");
const BLOB_HEAD_MAGIC: u32 = u32::from_le_bytes(*b"BlbS");
const BLOB_TAIL_MAGIC: u32 = u32::from_le_bytes(*b"BlbE");
const HEADER_SIZE: u64 = 32;
const SLOT_SIZE: u64 = 16;
const BLOCK: u64 = 16;
const PAGE: u64 = 4096;
const BLOB_HEAD: u64 = 16;
const BLOB_TAIL: u64 = 12;
/// The most one header may hold: rpm's own limit on a header, with room for its index.
const MAX_BLOB: u64 = (256 << 20) + (16 << 20);

/// Why an NDB `Packages.db` cannot be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NdbError {
    /// A read inside the file failed.
    #[error("cannot read {len} bytes at offset {offset}")]
    Read {
        /// Where the read started, in bytes from the start of the file.
        offset: u64,
        /// How many bytes it wanted.
        len: u64,
        /// The read's error; `UnexpectedEof` when the file is shorter.
        #[source]
        source: io::Error,
    },
    /// The first four bytes are not `RpmP`.
    #[error("not an rpm NDB package file (magic {0:#010x}, want \"RpmP\")")]
    Magic(u32),
    /// A format version this reader does not know.
    #[error("NDB package file version {0} is not supported (version 0 is)")]
    Version(u32),
    /// A length that is not a whole number of blocks, or a slot area larger than the file.
    #[error("{0}")]
    Layout(String),
    /// A slot that is not a slot, or that points outside the blob area.
    #[error("slot {slot}: {what}")]
    BadSlot {
        /// The slot's index in the slot area, counted from its start (slots 0 and 1 hold the
        /// file's header).
        slot: u64,
        /// What is wrong with it: no slot magic, no package or block count, or blocks
        /// outside the blob area.
        what: String,
    },
}

/// One package's blob as a slot names it, with the damage found in its frame (a header
/// that does not decode is reported later, as for the other backends).
pub type Blob = (u32, Result<Vec<u8>, String>);

/// The blobs of the NDB package file `src` of `len` bytes, in file order, as rpm lists them.
/// A blob whose frame is damaged is returned as an error with its package number; rpm would
/// skip it too. A damaged slot area is an error for the whole file, as in rpm.
pub fn blobs<R: ReadAt + ?Sized>(src: &R, len: u64) -> Result<Vec<Blob>, NdbError> {
    let read = |offset: u64, n: u64| -> Result<Vec<u8>, NdbError> {
        let mut buf = vec![0; usize::try_from(n).map_err(|_| layout("a length too large"))?];
        src.read_at(&mut buf, offset)
            .map_err(|source| NdbError::Read {
                offset,
                len: n,
                source,
            })?;
        Ok(buf)
    };
    if len < HEADER_SIZE {
        return Err(layout(&format!(
            "the file is {len} bytes, shorter than the {HEADER_SIZE}-byte header"
        )));
    }
    let head = read(0, HEADER_SIZE)?;
    let word = |b: &[u8], at: usize| u32::from_le_bytes(b[at..at + 4].try_into().unwrap());
    if word(&head, 0) != PKGDB_MAGIC {
        return Err(NdbError::Magic(word(&head, 0)));
    }
    if word(&head, 4) != 0 {
        return Err(NdbError::Version(word(&head, 4)));
    }
    if !len.is_multiple_of(BLOCK) {
        return Err(layout(&format!(
            "the file is {len} bytes, not a whole number of {BLOCK}-byte blocks"
        )));
    }
    let slot_pages = u64::from(word(&head, 12));
    let slot_area = slot_pages * PAGE;
    if slot_pages == 0 || slot_area > len {
        return Err(layout(&format!(
            "the header says the slots take {slot_pages} pages of {PAGE} bytes, \
             but the file is {len} bytes"
        )));
    }
    let first_blob_block = slot_area / BLOCK;
    let file_blocks = len / BLOCK;
    // (block offset, block count, package number), from the slot area.
    let mut slots = Vec::new();
    let area = read(0, slot_area)?;
    for (n, slot) in area.chunks_exact(SLOT_SIZE as usize).enumerate().skip(2) {
        let n = n as u64;
        if word(slot, 0) != SLOT_MAGIC {
            return Err(NdbError::BadSlot {
                slot: n,
                what: "no slot magic: the slot area is damaged".into(),
            });
        }
        let (pkg, off, count) = (word(slot, 4), word(slot, 8), word(slot, 12));
        if off == 0 {
            continue;
        }
        let (off, count) = (u64::from(off), u64::from(count));
        let bad = |what: String| NdbError::BadSlot { slot: n, what };
        if pkg == 0 || count == 0 {
            return Err(bad(format!(
                "package {pkg} with {count} blocks is not a valid entry"
            )));
        }
        if off < first_blob_block || off + count > file_blocks {
            return Err(bad(format!(
                "blocks {off}..{} are outside the blob area (blocks {first_blob_block}..{file_blocks})",
                off + count
            )));
        }
        slots.push((off, count, pkg));
    }
    slots.sort_unstable();
    for w in slots.windows(2) {
        if w[0].0 + w[0].1 > w[1].0 {
            return Err(layout(&format!(
                "the blobs of packages {} and {} overlap",
                w[0].2, w[1].2
            )));
        }
    }
    let mut out = Vec::with_capacity(slots.len());
    for (off, count, pkg) in slots {
        out.push((pkg, blob(&read, pkg, off, count)?));
    }
    Ok(out)
}

/// The header blob of package `pkg` in blocks `off..off + count`; `Ok(Err(why))` when its
/// frame is damaged.
fn blob(
    read: &impl Fn(u64, u64) -> Result<Vec<u8>, NdbError>,
    pkg: u32,
    off: u64,
    count: u64,
) -> Result<Result<Vec<u8>, String>, NdbError> {
    let size = count * BLOCK;
    if size < BLOB_HEAD + BLOB_TAIL {
        return Ok(Err(format!("{count} blocks cannot hold a blob")));
    }
    if size > MAX_BLOB + BLOB_HEAD + BLOB_TAIL + BLOCK {
        return Ok(Err(format!("{size} bytes is larger than any rpm header")));
    }
    let bytes = read(off * BLOCK, size)?;
    let word = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap());
    if word(0) != BLOB_HEAD_MAGIC {
        return Ok(Err("no blob magic where the slot points".into()));
    }
    if word(4) != pkg {
        return Ok(Err(format!(
            "the blob there is package {}'s, not {pkg}'s",
            word(4)
        )));
    }
    let bloblen = u64::from(word(12));
    if (BLOB_HEAD + bloblen + BLOB_TAIL).div_ceil(BLOCK) != count {
        return Ok(Err(format!(
            "a blob of {bloblen} bytes does not fill {count} blocks"
        )));
    }
    let tail = (size - BLOB_TAIL) as usize;
    if word(tail + 8) != BLOB_TAIL_MAGIC || u64::from(word(tail + 4)) != bloblen {
        return Ok(Err("the blob's trailer is damaged".into()));
    }
    if adler32(&bytes[..tail]) != word(tail) {
        return Ok(Err("the blob's checksum does not match".into()));
    }
    Ok(Ok(bytes
        [BLOB_HEAD as usize..(BLOB_HEAD + bloblen) as usize]
        .to_vec()))
}

fn layout(what: &str) -> NdbError {
    NdbError::Layout(what.to_string())
}

/// Adler-32 (RFC 1950), which NDB keeps after each blob.
pub fn adler32(data: &[u8]) -> u32 {
    const MOD: u32 = 65521;
    let (mut a, mut b) = (1u32, 0u32);
    // 5552 bytes is the most that can be summed before the 32-bit sums may overflow.
    for chunk in data.chunks(5552) {
        for &x in chunk {
            a += u32::from(x);
            b += a;
        }
        a %= MOD;
        b %= MOD;
    }
    (b << 16) | a
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adler32_of_known_strings() {
        // RFC 1950's example value and the empty input.
        assert_eq!(adler32(b"Wikipedia"), 0x11E6_0398);
        assert_eq!(adler32(b""), 1);
        let big = vec![0xffu8; 100_000];
        // Summed without reduction in 64 bits, as a check of the chunking.
        let (mut a, mut b) = (1u64, 0u64);
        for &x in &big {
            a = (a + u64::from(x)) % 65521;
            b = (b + a) % 65521;
        }
        assert_eq!(adler32(&big), ((b << 16) | a) as u32);
    }

    #[test]
    fn short_and_foreign_files_are_refused() {
        assert!(matches!(blobs(&[0u8; 8][..], 8), Err(NdbError::Layout(_))));
        let e = blobs(&[0u8; 64][..], 64).unwrap_err();
        assert!(matches!(e, NdbError::Magic(0)), "{e}");
    }
}
