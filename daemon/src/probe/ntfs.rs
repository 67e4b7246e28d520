//! NTFS: the boot sector's BPB, then the `$Volume` record of the MFT for the label.
//!
//! The BPB must look like NTFS's (the FAT-era fields zero, sane sector and cluster sizes, the
//! MFT inside the volume), and MFT records 0 and 3 must start with `FILE`, as libblkid checks.
//! The label is the `$VOLUME_NAME` attribute (type 0x60) of record 3, read after applying the
//! record's update-sequence fixups; the attribute walk stays inside the record.

use super::bytes::{has, le16, le32, le64, slice, u8_at, utf16_label, Utf16};
use super::dev::Dev;
use super::{Fs, Kind, Probe};
use std::io;

// Boot sector (`struct ntfs_boot_sector`).
const OEM_ID: usize = 3; // "NTFS    "
const BYTES_PER_SECTOR: usize = 0x0B;
const SECTORS_PER_CLUSTER: usize = 0x0D;
const RESERVED_SECTORS: usize = 0x0E; // must be 0, like the other FAT-era fields below
const FATS: usize = 0x10;
const ROOT_ENTRIES: usize = 0x11;
const SECTORS16: usize = 0x13;
const SECTORS_PER_FAT: usize = 0x16;
const LARGE_SECTORS: usize = 0x20;
const NUMBER_OF_SECTORS: usize = 0x28; // u64
const MFT_LCN: usize = 0x30;
const MFTMIRR_LCN: usize = 0x38;
const CLUSTERS_PER_MFT_RECORD: usize = 0x40; // i8: > 0 clusters, < 0 means 2^-n bytes
const VOLUME_SERIAL: usize = 0x48; // u64

/// blkid's limit on the cluster size.
const MAX_CLUSTER: u32 = 64 * 1024;
/// MFT records are 1 KiB or 4 KiB in practice; anything outside this range is refused.
const MIN_RECORD: u32 = 256;
const MAX_RECORD: u32 = 64 * 1024;

// MFT record header (`struct MFT_RECORD`) and attribute header (`ATTR_RECORD`).
const MFT_VOLUME: u64 = 3;
const REC_USA_OFS: usize = 4;
const REC_USA_COUNT: usize = 6;
const REC_ATTRS_OFFSET: usize = 20;
const REC_BYTES_ALLOCATED: usize = 28;
const ATTR_TYPE: usize = 0;
const ATTR_LENGTH: usize = 4;
const ATTR_VALUE_LENGTH: usize = 16;
const ATTR_VALUE_OFFSET: usize = 20;
const AT_VOLUME_NAME: u32 = 0x60;
const AT_END: u32 = 0xFFFF_FFFF;
/// Update-sequence fixups protect the last two bytes of every 512-byte stride.
const USA_STRIDE: usize = 512;

pub(super) fn probe(dev: &mut Dev<'_>) -> io::Result<Option<Probe>> {
    if !has(dev.head(), OEM_ID, b"NTFS    ") {
        return Ok(None);
    }
    let Some(bs) = dev.read(0, 512)? else {
        return Ok(None);
    };
    let Some(geo) = Geometry::parse(&bs) else {
        return Ok(None);
    };
    let record = usize::try_from(geo.record_size).unwrap_or(usize::MAX);
    let Some(mft) = geo.mft_offset else {
        return Ok(None);
    };
    let Some(first) = dev.read(mft, record)? else {
        return Ok(None);
    };
    let volume_off = u64::from(geo.record_size)
        .checked_mul(MFT_VOLUME)
        .and_then(|o| o.checked_add(mft));
    let Some(volume_off) = volume_off else {
        return Ok(None);
    };
    let Some(mut volume) = dev.read(volume_off, record)? else {
        return Ok(None);
    };
    if !has(&first, 0, b"FILE") || !has(&volume, 0, b"FILE") {
        return Ok(None);
    }
    apply_fixups(&mut volume);
    let mut probe = Probe::new(Kind::Filesystem(Fs::Ntfs));
    probe.label = volume_name(&volume);
    probe.uuid = le64(&bs, VOLUME_SERIAL)
        .filter(|&s| s != 0)
        .map(|s| format!("{s:016X}"));
    probe.block_size = Some(geo.cluster_size);
    probe.size = geo.sectors.checked_mul(u64::from(geo.sector_size));
    Ok(Some(probe))
}

#[derive(Debug)]
struct Geometry {
    sector_size: u32,
    cluster_size: u32,
    record_size: u32,
    sectors: u64,
    mft_offset: Option<u64>,
}

impl Geometry {
    fn parse(bs: &[u8]) -> Option<Geometry> {
        let sector_size = u32::from(le16(bs, BYTES_PER_SECTOR)?);
        let spc = u32::from(u8_at(bs, SECTORS_PER_CLUSTER)?);
        if !sector_size.is_power_of_two()
            || !(256..=4096).contains(&sector_size)
            || !spc.is_power_of_two()
            || spc > 128
        {
            return None;
        }
        let cluster_size = sector_size.checked_mul(spc)?;
        if cluster_size > MAX_CLUSTER {
            return None;
        }
        let fat_era_zero = le16(bs, RESERVED_SECTORS)? == 0
            && u8_at(bs, FATS)? == 0
            && le16(bs, ROOT_ENTRIES)? == 0
            && le16(bs, SECTORS16)? == 0
            && le16(bs, SECTORS_PER_FAT)? == 0
            && le32(bs, LARGE_SECTORS)? == 0;
        if !fat_era_zero {
            return None;
        }
        let per_record = i8::from_le_bytes([u8_at(bs, CLUSTERS_PER_MFT_RECORD)?]);
        let record_size = match per_record {
            1 | 2 | 4 | 8 | 16 | 32 | 64 => {
                cluster_size.checked_mul(u32::from(per_record.unsigned_abs()))?
            }
            -31..=-9 => 1u32.checked_shl(u32::from(per_record.unsigned_abs()))?,
            _ => return None,
        };
        if !(MIN_RECORD..=MAX_RECORD).contains(&record_size) {
            return None;
        }
        let sectors = le64(bs, NUMBER_OF_SECTORS)?;
        let clusters = sectors.checked_div(u64::from(spc))?;
        let mft = le64(bs, MFT_LCN)?;
        if mft > clusters || le64(bs, MFTMIRR_LCN)? > clusters {
            return None;
        }
        Some(Geometry {
            sector_size,
            cluster_size,
            record_size,
            sectors,
            mft_offset: mft.checked_mul(u64::from(cluster_size)),
        })
    }
}

/// Puts back the bytes the update sequence array saved from the end of each 512-byte stride.
/// A record whose array does not fit is left as it is.
fn apply_fixups(record: &mut [u8]) {
    let (Some(ofs), Some(count)) = (le16(record, REC_USA_OFS), le16(record, REC_USA_COUNT)) else {
        return;
    };
    let (ofs, count) = (usize::from(ofs), usize::from(count));
    let Some(usa) = slice(record, ofs, count.saturating_mul(2)).map(<[u8]>::to_vec) else {
        return;
    };
    // The first entry is the sequence number; entry i belongs to stride i - 1.
    for (i, saved) in usa.chunks_exact(2).enumerate().skip(1) {
        let end = i.saturating_mul(USA_STRIDE);
        if let Some(tail) = end
            .checked_sub(2)
            .and_then(|start| record.get_mut(start..end))
        {
            tail.copy_from_slice(saved);
        }
    }
}

/// The `$VOLUME_NAME` attribute's value, walking attributes within the record.
fn volume_name(record: &[u8]) -> Option<String> {
    let allocated = usize::try_from(le32(record, REC_BYTES_ALLOCATED)?).ok()?;
    let mut off = usize::from(le16(record, REC_ATTRS_OFFSET)?);
    // Each attribute is at least 16 bytes long, so a record holds a bounded number of them.
    for _ in 0..record.len() / 16 {
        if off >= record.len() || off > allocated {
            return None;
        }
        let kind = le32(record, off.checked_add(ATTR_TYPE)?)?;
        let len = usize::try_from(le32(record, off.checked_add(ATTR_LENGTH)?)?).ok()?;
        if len == 0 || kind == AT_END {
            return None;
        }
        if kind == AT_VOLUME_NAME {
            let value_len =
                usize::try_from(le32(record, off.checked_add(ATTR_VALUE_LENGTH)?)?).ok()?;
            let value_off = usize::from(le16(record, off.checked_add(ATTR_VALUE_OFFSET)?)?);
            let value = slice(record, off.checked_add(value_off)?, value_len)?;
            return utf16_label(value, Utf16::Le);
        }
        off = off.checked_add(len)?;
    }
    None
}
