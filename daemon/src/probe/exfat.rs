//! exFAT: the main boot sector, checked against the boot-region checksum the way libblkid
//! does, and the volume-label entry of the root directory.

use super::bytes::{array, has, le32, serial32, slice, u8_at, utf16_label, Utf16};
use super::dev::Dev;
use super::{Fs, Kind, Probe};
use std::io;

// Main boot sector (exFAT specification §3.1).
const JUMP_BOOT: &[u8] = &[0xEB, 0x76, 0x90];
const FILE_SYSTEM_NAME: usize = 3; // "EXFAT   "
const MUST_BE_ZERO: usize = 11; // 53 bytes
const VOLUME_LENGTH: usize = 72; // sectors, u64
const FAT_OFFSET: usize = 80; // sectors, u32
const CLUSTER_HEAP_OFFSET: usize = 88;
const CLUSTER_COUNT: usize = 92;
const FIRST_CLUSTER_OF_ROOT: usize = 96;
const VOLUME_SERIAL_NUMBER: usize = 100;
const REVISION_MINOR: usize = 104;
const REVISION_MAJOR: usize = 105;
const BYTES_PER_SECTOR_SHIFT: usize = 108; // 9..=12
const SECTORS_PER_CLUSTER_SHIFT: usize = 109; // at most 25 - BytesPerSectorShift
const BOOT_SIGNATURE: usize = 510;

/// Volume-label directory entry: type 0x83, character count, then up to 11 UTF-16LE units.
const ENTRY_LABEL: u8 = 0x83;
const ENTRY_END: u8 = 0x00;
const ENTRY: usize = 32;
/// Root directory searched for the label entry, at most (blkid allows 256 MiB; the label is
/// nearly always among the first entries).
const MAX_DIR_SCAN: u64 = 256 * 1024;

pub(super) fn probe(dev: &mut Dev<'_>) -> io::Result<Option<Probe>> {
    if !has(dev.head(), FILE_SYSTEM_NAME, b"EXFAT   ") {
        return Ok(None);
    }
    let Some(bs) = dev.read(0, 512)? else {
        return Ok(None);
    };
    let Some(geo) = Geometry::parse(&bs) else {
        return Ok(None);
    };
    // The boot checksum covers the first 11 sectors; the 12th repeats it.
    let Some(region) = dev.read(0, geo.sector_size.saturating_mul(12))? else {
        return Ok(None);
    };
    if !checksum_ok(&region, geo.sector_size) {
        return Ok(None);
    }
    let mut probe = Probe::new(Kind::Filesystem(Fs::Exfat));
    probe.label = find_label(dev, &bs, &geo)?;
    probe.uuid = array(&bs, VOLUME_SERIAL_NUMBER).and_then(serial32);
    probe.version = Some(format!(
        "{}.{}",
        u8_at(&bs, REVISION_MAJOR).unwrap_or(0),
        u8_at(&bs, REVISION_MINOR).unwrap_or(0)
    ));
    probe.block_size = u32::try_from(geo.cluster_size).ok();
    probe.size =
        super::bytes::le64(&bs, VOLUME_LENGTH).and_then(|n| n.checked_mul(geo.sector_size as u64));
    Ok(Some(probe))
}

#[derive(Debug)]
struct Geometry {
    sector_shift: u8,
    sector_size: usize,
    cluster_shift: u8,
    cluster_size: u64,
}

impl Geometry {
    fn parse(bs: &[u8]) -> Option<Geometry> {
        let zeros = slice(bs, MUST_BE_ZERO, 53)?.iter().all(|&b| b == 0);
        if !has(bs, 0, JUMP_BOOT) || !zeros || !has(bs, BOOT_SIGNATURE, &[0x55, 0xAA]) {
            return None;
        }
        let sector_shift = u8_at(bs, BYTES_PER_SECTOR_SHIFT)?;
        let cluster_shift = u8_at(bs, SECTORS_PER_CLUSTER_SHIFT)?;
        if !(9..=12).contains(&sector_shift) || cluster_shift > 25u8.checked_sub(sector_shift)? {
            return None;
        }
        Some(Geometry {
            sector_shift,
            sector_size: 1usize.checked_shl(u32::from(sector_shift))?,
            cluster_shift,
            cluster_size: 1u64.checked_shl(u32::from(sector_shift.checked_add(cluster_shift)?))?,
        })
    }

    /// Byte offset of a sector number.
    fn sector(&self, n: u64) -> Option<u64> {
        n.checked_mul(1u64.checked_shl(u32::from(self.sector_shift))?)
    }

    /// Byte offset of a cluster of the cluster heap (clusters are numbered from 2).
    fn cluster(&self, heap: u32, cluster: u32) -> Option<u64> {
        let rel = u64::from(cluster.checked_sub(2)?)
            .checked_mul(1u64.checked_shl(u32::from(self.cluster_shift))?)?;
        self.sector(u64::from(heap).checked_add(rel)?)
    }
}

/// The boot checksum: a rotate-and-add over 11 sectors, skipping `VolumeFlags` (106, 107) and
/// `PercentInUse` (112), which change without the checksum being rewritten.
fn checksum_ok(region: &[u8], sector_size: usize) -> bool {
    let Some(covered) = region.get(..sector_size.saturating_mul(11)) else {
        return false;
    };
    let sum = covered
        .iter()
        .enumerate()
        .filter(|(i, _)| !matches!(i, 106 | 107 | 112))
        .fold(0u32, |sum, (_, &b)| {
            sum.rotate_right(1).wrapping_add(u32::from(b))
        });
    let Some(copies) = region.get(sector_size.saturating_mul(11)..) else {
        return false;
    };
    !copies.is_empty() && copies.chunks_exact(4).all(|c| c == sum.to_le_bytes())
}

/// Walks the root directory's cluster chain until the label entry, the end marker or the
/// scan limit.
fn find_label(dev: &mut Dev<'_>, bs: &[u8], geo: &Geometry) -> io::Result<Option<String>> {
    const CHUNK: u64 = 4096;
    let (Some(heap), Some(fat), Some(count), Some(mut cluster)) = (
        le32(bs, CLUSTER_HEAP_OFFSET),
        le32(bs, FAT_OFFSET),
        le32(bs, CLUSTER_COUNT),
        le32(bs, FIRST_CLUSTER_OF_ROOT),
    ) else {
        return Ok(None);
    };
    let last_cluster = count.saturating_add(1);
    let mut scanned = 0u64;
    while scanned < MAX_DIR_SCAN {
        if cluster < 2 || cluster > last_cluster {
            return Ok(None);
        }
        let Some(start) = geo.cluster(heap, cluster) else {
            return Ok(None);
        };
        let mut done = 0u64;
        while done < geo.cluster_size && scanned < MAX_DIR_SCAN {
            let n = geo.cluster_size.saturating_sub(done).min(CHUNK);
            let Some(off) = start.checked_add(done) else {
                return Ok(None);
            };
            let Some(chunk) = dev.read(off, usize::try_from(n).unwrap_or(0))? else {
                return Ok(None);
            };
            for entry in chunk.chunks_exact(ENTRY) {
                match u8_at(entry, 0) {
                    Some(ENTRY_END) | None => return Ok(None),
                    Some(ENTRY_LABEL) => {
                        let chars = usize::from(u8_at(entry, 1).unwrap_or(0)).min(11);
                        return Ok(slice(entry, 2, chars.saturating_mul(2))
                            .and_then(|n| utf16_label(n, Utf16::Le)));
                    }
                    Some(_) => {}
                }
            }
            done = done.saturating_add(n);
            scanned = scanned.saturating_add(n);
        }
        // The next cluster of the chain: the FAT entry of this one.
        let entry = geo
            .sector(u64::from(fat))
            .and_then(|f| f.checked_add(u64::from(cluster).checked_mul(4)?));
        let Some(entry) = entry else { return Ok(None) };
        let Some(next) = dev.read(entry, 4)? else {
            return Ok(None);
        };
        cluster = le32(&next, 0).unwrap_or(0);
    }
    Ok(None)
}
