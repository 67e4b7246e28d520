//! FAT12, FAT16 and FAT32 (`vfat`): the BIOS parameter block in the boot sector.
//!
//! FAT has no magic number worth the name, so the BPB must be consistent the way libblkid's
//! `fat_valid_superblock` wants it (powers of two, at least one FAT, a media byte, a cluster
//! count that fits the FAT type). Like blkid (`LABEL=`), the label is the volume-label entry
//! of the root directory, not the copy in the boot sector, which goes stale when other
//! systems relabel the volume (blkid calls that copy `LABEL_FATBOOT`). The root directory is
//! searched within fixed bounds.

use super::bytes::{array, has, le16, le32, serial32, slice, u8_at};
use super::dev::Dev;
use super::{Fs, Kind, Probe};
use std::io;

// BPB fields common to all FAT types.
const BPB_BYTES_PER_SEC: usize = 0x0B;
const BPB_SEC_PER_CLUS: usize = 0x0D;
const BPB_RSVD_SEC_CNT: usize = 0x0E;
const BPB_NUM_FATS: usize = 0x10;
const BPB_ROOT_ENT_CNT: usize = 0x11;
const BPB_TOT_SEC16: usize = 0x13;
const BPB_MEDIA: usize = 0x15;
const BPB_FAT_SZ16: usize = 0x16;
const BPB_TOT_SEC32: usize = 0x20;
// FAT12/16 extended BPB.
const BS_BOOT_SIG_16: usize = 0x26; // 0x28 or 0x29 when the serial is there
const BS_VOL_ID_16: usize = 0x27;
const BS_FIL_SYS_TYPE_16: usize = 0x36;
// FAT32 extended BPB.
const BPB_FAT_SZ32: usize = 0x24;
const BPB_ROOT_CLUS: usize = 0x2C;
const BPB_FS_INFO: usize = 0x30;
const BS_VOL_ID_32: usize = 0x43;
const BS_FIL_SYS_TYPE_32: usize = 0x52;

/// Largest cluster counts of each FAT type (libblkid's limits).
const FAT12_MAX: u64 = 0xFF4;
const FAT16_MAX: u64 = 0xFFF4;
const FAT32_MAX: u64 = 0x0FFF_FFF6;

const DIR_ENTRY: usize = 32;
const ATTR_VOLUME_ID: u8 = 0x08;
const ATTR_DIRECTORY: u8 = 0x10;
const ATTR_LONG_NAME: u8 = 0x0F;
/// How much root directory to search for the label entry. It is nearly always the first
/// entry; this bounds the reads a hostile directory can cause.
const MAX_DIR_SCAN: u64 = 1024 * 1024;
/// Clusters of a FAT32 root directory followed (blkid follows 99).
const MAX_CLUSTERS: u32 = 99;

pub(super) fn probe(dev: &mut Dev<'_>) -> io::Result<Option<Probe>> {
    let Some(bs) = dev.read(0, 512)? else {
        return Ok(None);
    };
    let Some(geo) = Geometry::parse(&bs) else {
        return Ok(None);
    };
    let mut probe = Probe::new(Kind::Filesystem(Fs::Vfat));
    let mut scan = MAX_DIR_SCAN;
    let label = if geo.fat_sz16 != 0 {
        // FAT12/16: the root directory sits right after the FATs, with a fixed entry count.
        let start = geo
            .first_root_sector()
            .checked_mul(u64::from(geo.sector_size));
        let len = u64::from(geo.root_entries).saturating_mul(DIR_ENTRY as u64);
        if matches!(u8_at(&bs, BS_BOOT_SIG_16), Some(0x28 | 0x29)) {
            probe.uuid = array(&bs, BS_VOL_ID_16).and_then(serial32);
        }
        probe.version = if geo.clusters < FAT12_MAX {
            Some("FAT12".into())
        } else if geo.clusters < FAT16_MAX {
            Some("FAT16".into())
        } else {
            None
        };
        match start {
            Some(start) => search(dev, start, len, &mut scan)?.label(),
            None => None,
        }
    } else {
        // FAT32: the root directory is a cluster chain starting at BPB_RootClus.
        if !fsinfo_ok(dev, &bs, geo.sector_size)? {
            return Ok(None);
        }
        probe.version = Some("FAT32".into());
        probe.uuid = array(&bs, BS_VOL_ID_32).and_then(serial32);
        fat32_label(dev, &bs, &geo, &mut scan)?
    };
    probe.label = label;
    probe.block_size = geo.sector_size.checked_mul(geo.sec_per_clus);
    probe.size = geo.total_sectors.checked_mul(u64::from(geo.sector_size));
    Ok(Some(probe))
}

/// True when `sector` holds a consistent FAT BIOS parameter block.
pub(super) fn is_boot_sector(sector: &[u8]) -> bool {
    Geometry::parse(sector).is_some()
}

#[derive(Debug)]
struct Geometry {
    sector_size: u32,
    sec_per_clus: u32,
    reserved: u32,
    root_entries: u32,
    total_sectors: u64,
    fat_sz16: u16,
    fat_sz32: u32,
    /// Sectors taken by all FATs together.
    fat_sectors: u64,
    clusters: u64,
}

impl Geometry {
    fn parse(bs: &[u8]) -> Option<Geometry> {
        let strong_magic = has(bs, BS_FIL_SYS_TYPE_32, b"MSWIN")
            || has(bs, BS_FIL_SYS_TYPE_32, b"FAT32   ")
            || [&b"MSDOS"[..], b"FAT16   ", b"FAT12   ", b"FAT     "]
                .iter()
                .any(|m| has(bs, BS_FIL_SYS_TYPE_16, m));
        if !strong_magic {
            // Without a type string, demand what old floppies have, the boot signature, and
            // not the FAT-like pseudo-BPB OS/2 writes on JFS and HPFS.
            if !has(bs, 0x1FE, &[0x55, 0xAA]) {
                return None;
            }
            if has(bs, BS_FIL_SYS_TYPE_16, b"JFS     ") || has(bs, BS_FIL_SYS_TYPE_16, b"HPFS    ")
            {
                return None;
            }
        }
        // BitLocker keeps a FAT-shaped BPB under its own OEM name.
        if has(bs, 3, b"-FVE-FS-") {
            return None;
        }
        let sector_size = u32::from(le16(bs, BPB_BYTES_PER_SEC)?);
        let sec_per_clus = u32::from(u8_at(bs, BPB_SEC_PER_CLUS)?);
        let reserved = u32::from(le16(bs, BPB_RSVD_SEC_CNT)?);
        let fats = u64::from(u8_at(bs, BPB_NUM_FATS)?);
        let media = u8_at(bs, BPB_MEDIA)?;
        if fats == 0
            || reserved == 0
            || !(media == 0xF0 || media >= 0xF8)
            || !sec_per_clus.is_power_of_two()
            || !sector_size.is_power_of_two()
            || !(512..=4096).contains(&sector_size)
        {
            return None;
        }
        let root_entries = u32::from(le16(bs, BPB_ROOT_ENT_CNT)?);
        let total_sectors = match le16(bs, BPB_TOT_SEC16)? {
            0 => u64::from(le32(bs, BPB_TOT_SEC32)?),
            n => u64::from(n),
        };
        let fat_sz16 = le16(bs, BPB_FAT_SZ16)?;
        let fat_sz32 = le32(bs, BPB_FAT_SZ32)?;
        let fat_length = if fat_sz16 != 0 {
            u32::from(fat_sz16)
        } else {
            fat_sz32
        };
        if fat_length == 0 {
            return None;
        }
        let fat_sectors = u64::from(fat_length).checked_mul(fats)?;
        let root_sectors = u64::from(root_entries)
            .checked_mul(DIR_ENTRY as u64)?
            .checked_add(u64::from(sector_size).checked_sub(1)?)?
            .checked_div(u64::from(sector_size))?;
        let meta = u64::from(reserved)
            .checked_add(fat_sectors)?
            .checked_add(root_sectors)?;
        let clusters = total_sectors
            .checked_sub(meta)?
            .checked_div(u64::from(sec_per_clus))?;
        let max = if fat_sz16 == 0 {
            FAT32_MAX
        } else if clusters > FAT12_MAX {
            FAT16_MAX
        } else {
            FAT12_MAX
        };
        if clusters > max {
            return None;
        }
        Some(Geometry {
            sector_size,
            sec_per_clus,
            reserved,
            root_entries,
            total_sectors,
            fat_sz16,
            fat_sz32,
            fat_sectors,
            clusters,
        })
    }

    /// The first sector after the reserved area and the FATs.
    fn first_root_sector(&self) -> u64 {
        u64::from(self.reserved).saturating_add(self.fat_sectors)
    }
}

/// The outcome of searching one stretch of directory.
#[derive(Debug)]
enum Search {
    /// A volume-label entry: its 11-byte name.
    Found([u8; 11]),
    /// The end-of-directory marker, the end of the device or the scan limit.
    End,
    /// Searched it all without finding either.
    Continue,
}

impl Search {
    fn label(self) -> Option<String> {
        match self {
            Search::Found(name) => super::bytes::c_label(&name),
            Search::End | Search::Continue => None,
        }
    }
}

/// Looks for a volume-label entry in `len` bytes of directory at `start`.
fn search(dev: &mut Dev<'_>, start: u64, len: u64, scan: &mut u64) -> io::Result<Search> {
    const CHUNK: u64 = 4096;
    let mut done = 0u64;
    while done < len {
        let n = (len.saturating_sub(done)).min(CHUNK).min(*scan);
        if n < DIR_ENTRY as u64 {
            return Ok(Search::End);
        }
        *scan = scan.saturating_sub(n);
        let Some(off) = start.checked_add(done) else {
            return Ok(Search::End);
        };
        let Some(chunk) = dev.read(off, usize::try_from(n).unwrap_or(0))? else {
            return Ok(Search::End);
        };
        for entry in chunk.chunks_exact(DIR_ENTRY) {
            let first = u8_at(entry, 0).unwrap_or(0);
            if first == 0x00 {
                return Ok(Search::End);
            }
            let attr = u8_at(entry, 11).unwrap_or(0);
            let cluster_hi = le16(entry, 20).unwrap_or(0);
            let cluster_lo = le16(entry, 26).unwrap_or(0);
            if first == 0xE5 || cluster_hi != 0 || cluster_lo != 0 || attr & 0x3F == ATTR_LONG_NAME
            {
                continue;
            }
            if attr & (ATTR_VOLUME_ID | ATTR_DIRECTORY) == ATTR_VOLUME_ID {
                let Some(mut name) = array::<11>(entry, 0) else {
                    return Ok(Search::End);
                };
                // 0x05 stands for a leading 0xE5, which would otherwise mean "deleted".
                if let Some(b) = name.first_mut().filter(|b| **b == 0x05) {
                    *b = 0xE5;
                }
                return Ok(Search::Found(name));
            }
        }
        done = done.saturating_add(n);
    }
    Ok(Search::Continue)
}

/// Follows the FAT32 root directory's cluster chain, a bounded number of clusters.
fn fat32_label(
    dev: &mut Dev<'_>,
    bs: &[u8],
    geo: &Geometry,
    scan: &mut u64,
) -> io::Result<Option<String>> {
    let sector = u64::from(geo.sector_size);
    let cluster_bytes = sector.saturating_mul(u64::from(geo.sec_per_clus));
    let data_start = geo.first_root_sector();
    // Entries in one FAT: the chain may not point past it.
    let fat_entries = u64::from(geo.fat_sz32).saturating_mul(sector) / 4;
    let mut next = u64::from(le32(bs, BPB_ROOT_CLUS).unwrap_or(0));
    for _ in 0..MAX_CLUSTERS {
        if next < 2 || next >= fat_entries {
            break;
        }
        let cluster_sector = next
            .checked_sub(2)
            .and_then(|c| c.checked_mul(u64::from(geo.sec_per_clus)))
            .and_then(|s| s.checked_add(data_start))
            .and_then(|s| s.checked_mul(sector));
        let Some(off) = cluster_sector else { break };
        match search(dev, off, cluster_bytes, scan)? {
            Search::Found(name) => return Ok(super::bytes::c_label(&name)),
            Search::End => break,
            Search::Continue => {}
        }
        let entry_off = u64::from(geo.reserved)
            .checked_mul(sector)
            .and_then(|r| r.checked_add(next.checked_mul(4)?));
        let Some(entry_off) = entry_off else { break };
        let Some(entry) = dev.read(entry_off, 4)? else {
            break;
        };
        next = u64::from(le32(&entry, 0).unwrap_or(0) & 0x0FFF_FFFF);
    }
    Ok(None)
}

/// The FAT32 FSInfo sector must carry its signatures, or be zero where they go (some
/// formatters leave it blank).
fn fsinfo_ok(dev: &mut Dev<'_>, bs: &[u8], sector_size: u32) -> io::Result<bool> {
    let sector = le16(bs, BPB_FS_INFO).unwrap_or(0);
    if sector == 0 {
        return Ok(true);
    }
    let Some(info) = dev.read(
        u64::from(sector).saturating_mul(u64::from(sector_size)),
        512,
    )?
    else {
        return Ok(false);
    };
    let lead = slice(&info, 0, 4);
    let struc = slice(&info, 484, 4);
    let lead_ok = matches!(lead, Some(b"RRaA" | b"RRdA" | [0, 0, 0, 0]));
    let struc_ok = matches!(struc, Some(b"rrAa" | [0, 0, 0, 0]));
    Ok(lead_ok && struc_ok)
}
