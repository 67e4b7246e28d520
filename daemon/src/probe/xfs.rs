//! XFS: the primary superblock in sector 0, big-endian.
//!
//! The magic alone is not trusted: the geometry must be self-consistent in the ways libblkid's
//! `xfs_verify_sb` checks (sizes are powers of two matching their logs, the data block count
//! fits the allocation groups), and a version 5 superblock must carry a valid CRC.

use super::bytes::{array, be16, be32, be64, c_label, has, le32, slice, u8_at, uuid};
use super::crc::crc32c;
use super::dev::Dev;
use super::{Fs, Kind, Probe};
use std::io;

// `struct xfs_dsb` (fs/xfs/libxfs/xfs_format.h).
const SB_BLOCKSIZE: usize = 4; // __be32
const SB_DBLOCKS: usize = 8; // __be64
const SB_UUID: usize = 32;
const SB_REXTSIZE: usize = 80; // __be32, realtime extent size in blocks
const SB_AGBLOCKS: usize = 84;
const SB_AGCOUNT: usize = 88;
const SB_VERSIONNUM: usize = 100; // __be16, low nibble is the version
const SB_SECTSIZE: usize = 102;
const SB_INODESIZE: usize = 104;
const SB_FNAME: usize = 108; // char[12]
const SB_BLOCKLOG: usize = 120;
const SB_SECTLOG: usize = 121;
const SB_INODELOG: usize = 122;
const SB_INOPBLOG: usize = 123;
const SB_IMAX_PCT: usize = 127;
const SB_CRC: usize = 224; // __le32, v5 only, over one sector with this field zeroed

/// Enough of the superblock for every field used, and the largest sector the CRC covers.
const MAX_SECTOR: usize = 32768;

pub(super) fn probe(dev: &mut Dev<'_>) -> io::Result<Option<Probe>> {
    if !has(dev.head(), 0, b"XFSB") {
        return Ok(None);
    }
    let Some(sb) = dev.read(0, 512)? else {
        return Ok(None);
    };
    let Some(geometry) = geometry(&sb) else {
        return Ok(None);
    };
    if geometry.v5 {
        // The CRC covers the whole superblock sector.
        let Some(sector) = dev.read(0, usize::from(geometry.sectsize))? else {
            return Ok(None);
        };
        if !crc_ok(&sector) {
            return Ok(None);
        }
    }
    let mut probe = Probe::new(Kind::Filesystem(Fs::Xfs));
    probe.label = slice(&sb, SB_FNAME, 12).and_then(c_label);
    probe.uuid = array(&sb, SB_UUID).and_then(|u| uuid(&u));
    probe.block_size = Some(geometry.blocksize);
    probe.size = geometry.dblocks.checked_mul(u64::from(geometry.blocksize));
    Ok(Some(probe))
}

#[derive(Debug)]
struct Geometry {
    blocksize: u32,
    sectsize: u16,
    dblocks: u64,
    v5: bool,
}

/// The checks of libblkid's `xfs_verify_sb`, in 64-bit arithmetic.
fn geometry(sb: &[u8]) -> Option<Geometry> {
    let blocksize = be32(sb, SB_BLOCKSIZE)?;
    let dblocks = be64(sb, SB_DBLOCKS)?;
    let rextsize = be32(sb, SB_REXTSIZE)?;
    let agblocks = be32(sb, SB_AGBLOCKS)?;
    let agcount = be32(sb, SB_AGCOUNT)?;
    let sectsize = be16(sb, SB_SECTSIZE)?;
    let inodesize = be16(sb, SB_INODESIZE)?;
    let blocklog = u8_at(sb, SB_BLOCKLOG)?;
    let sectlog = u8_at(sb, SB_SECTLOG)?;
    let inodelog = u8_at(sb, SB_INODELOG)?;
    let inopblog = u8_at(sb, SB_INOPBLOG)?;
    let imax_pct = u8_at(sb, SB_IMAX_PCT)?;

    let pow =
        |size: u64, log: u8, min: u8, max: u8| (min..=max).contains(&log) && size == 1u64 << log;
    let rext_bytes = u64::from(rextsize).checked_mul(u64::from(blocksize))?;
    let max_dblocks = u64::from(agcount).checked_mul(u64::from(agblocks))?;
    let min_dblocks = u64::from(agcount.checked_sub(1)?)
        .checked_mul(u64::from(agblocks))?
        .checked_add(64)?;
    let ok = agcount > 0
        && pow(u64::from(sectsize), sectlog, 9, 15)
        && pow(u64::from(blocksize), blocklog, 9, 16)
        && pow(u64::from(inodesize), inodelog, 8, 11)
        && blocklog.checked_sub(inodelog) == Some(inopblog)
        && (4096..=1 << 30).contains(&rext_bytes)
        && imax_pct <= 100
        && dblocks != 0
        && (min_dblocks..=max_dblocks).contains(&dblocks);
    let v5 = be16(sb, SB_VERSIONNUM)? & 0xf == 5;
    ok.then_some(Geometry {
        blocksize,
        sectsize,
        dblocks,
        v5,
    })
}

/// A v5 superblock's CRC: standard crc32c of the sector with `sb_crc` taken as zero, stored
/// little-endian.
fn crc_ok(sector: &[u8]) -> bool {
    if sector.len() > MAX_SECTOR {
        return false;
    }
    let Some(stored) = le32(sector, SB_CRC) else {
        return false;
    };
    let mut copy = sector.to_vec();
    match copy.get_mut(SB_CRC..SB_CRC.saturating_add(4)) {
        Some(field) => field.fill(0),
        None => return false,
    }
    crc32c(&copy) == stored
}
