//! Partition tables covering the whole device: GPT and MS-DOS (MBR).
//!
//! GPT: a protective MBR (an entry of type `0xEE`) and a header `"EFI PART"` at LBA 1 whose
//! `HeaderCRC32` and `PartitionEntryArrayCRC32` hold and whose `MyLBA` is where it was found.
//! 512- and 4096-byte sectors are tried. When the primary header is damaged, the backup in the
//! last sector is used; when both are, the result is a protective MBR alone (blkid's `PMBR`).
//!
//! MBR: the `55 AA` boot signature and four entries whose boot indicators are `0x00` or
//! `0x80`, as libblkid's `dos` prober requires, in a sector that is not a filesystem's boot
//! sector (FAT, NTFS and exFAT boot sectors also end in `55 AA`).
//!
//! Only the extents of the partitions are kept (to tell a hybrid ISO from a partitioned
//! disk); extended partitions are not followed.

use super::bytes::{array, guid, has, le32, le64, u8_at};
use super::crc::crc32;
use super::dev::{Dev, MAX_READ};
use super::{fat, Kind, Probe, TableType};
use std::io;

// MBR (sector 0).
const MBR_DISK_SIGNATURE: usize = 440;
const MBR_ENTRIES: usize = 446;
const MBR_ENTRY_LEN: usize = 16;
const MBR_SIGNATURE: usize = 510;
const ENTRY_BOOT: usize = 0;
const ENTRY_TYPE: usize = 4;
const ENTRY_START_LBA: usize = 8;
const ENTRY_SECTORS: usize = 12;
const TYPE_GPT_PROTECTIVE: u8 = 0xEE;

// GPT header (UEFI specification §5.3.2).
const HDR_SIGNATURE: usize = 0; // "EFI PART"
const HDR_SIZE: usize = 12;
const HDR_CRC: usize = 16;
const HDR_MY_LBA: usize = 24;
const HDR_DISK_GUID: usize = 56;
const HDR_ENTRIES_LBA: usize = 72;
const HDR_NUM_ENTRIES: usize = 80;
const HDR_ENTRY_SIZE: usize = 84;
const HDR_ENTRIES_CRC: usize = 88;
const HDR_MIN_SIZE: u32 = 92;
// GPT partition entry.
const GPT_TYPE_GUID: usize = 0;
const GPT_FIRST_LBA: usize = 32;
const GPT_LAST_LBA: usize = 40;

/// A partition table and the byte ranges `[start, end)` of its partitions.
#[derive(Debug)]
pub(super) struct Table {
    pub(super) probe: Probe,
    pub(super) extents: Vec<(u64, u64)>,
}

pub(super) fn probe(dev: &mut Dev<'_>) -> io::Result<Option<Table>> {
    let Some(mbr) = dev.read(0, 512)? else {
        return Ok(None);
    };
    if !has(&mbr, MBR_SIGNATURE, &[0x55, 0xAA]) {
        return Ok(None);
    }
    let entries: Vec<&[u8]> = mbr
        .get(MBR_ENTRIES..MBR_SIGNATURE)
        .unwrap_or(&[])
        .chunks_exact(MBR_ENTRY_LEN)
        .collect();
    if entries
        .iter()
        .any(|e| u8_at(e, ENTRY_TYPE) == Some(TYPE_GPT_PROTECTIVE))
    {
        for sector in [512u64, 4096] {
            if let Some(table) = gpt(dev, sector)? {
                return Ok(Some(table));
            }
        }
        let mut probe = Probe::new(Kind::PartitionTable(TableType::ProtectiveMbr));
        probe.block_size = Some(512);
        return Ok(Some(Table {
            probe,
            extents: Vec::new(),
        }));
    }
    if !entries
        .iter()
        .all(|e| matches!(u8_at(e, ENTRY_BOOT), Some(0x00 | 0x80)))
        || is_boot_sector(&mbr)
    {
        return Ok(None);
    }
    let mut extents = Vec::new();
    for e in &entries {
        let (Some(kind), Some(start), Some(len)) = (
            u8_at(e, ENTRY_TYPE),
            le32(e, ENTRY_START_LBA),
            le32(e, ENTRY_SECTORS),
        ) else {
            continue;
        };
        if kind != 0 && len != 0 {
            let start = u64::from(start).saturating_mul(512);
            extents.push((
                start,
                start.saturating_add(u64::from(len).saturating_mul(512)),
            ));
        }
    }
    let mut probe = Probe::new(Kind::PartitionTable(TableType::Mbr));
    probe.uuid = le32(&mbr, MBR_DISK_SIGNATURE)
        .filter(|&id| id != 0)
        .map(|id| format!("{id:08x}"));
    probe.block_size = Some(512);
    Ok(Some(Table { probe, extents }))
}

/// A filesystem's boot sector also ends in `55 AA`, and its boot code may happen to look like
/// partition entries. One that names itself or carries a consistent FAT BPB is not taken for a
/// partition table, even where the filesystem cannot be confirmed (a truncated device), as
/// libblkid's `dos` prober refuses FAT and exFAT boot sectors.
fn is_boot_sector(sector: &[u8]) -> bool {
    [&b"NTFS    "[..], b"EXFAT   ", b"-FVE-FS-"]
        .iter()
        .any(|oem| has(sector, 3, oem))
        || fat::is_boot_sector(sector)
}

/// The GPT for logical sectors of `sector` bytes: the primary header, else the backup.
fn gpt(dev: &mut Dev<'_>, sector: u64) -> io::Result<Option<Table>> {
    let last = dev
        .size()
        .checked_div(sector)
        .and_then(|n| n.checked_sub(1));
    for lba in [Some(1), last].into_iter().flatten() {
        if let Some(table) = gpt_at(dev, sector, lba)? {
            return Ok(Some(table));
        }
    }
    Ok(None)
}

fn gpt_at(dev: &mut Dev<'_>, sector: u64, lba: u64) -> io::Result<Option<Table>> {
    let sector_len = usize::try_from(sector).unwrap_or(0);
    let Some(off) = lba.checked_mul(sector) else {
        return Ok(None);
    };
    let Some(header) = dev.read(off, sector_len)? else {
        return Ok(None);
    };
    let Some(layout) = header_layout(&header, lba, sector) else {
        return Ok(None);
    };
    let Some(array_off) = layout.entries_lba.checked_mul(sector) else {
        return Ok(None);
    };
    let Some(entries) = dev.read(array_off, layout.array_len)? else {
        return Ok(None);
    };
    if crc32(&entries) != layout.entries_crc {
        return Ok(None);
    }
    let mut extents = Vec::new();
    for entry in entries.chunks_exact(layout.entry_size) {
        let used = array::<16>(entry, GPT_TYPE_GUID).is_some_and(|t| t != [0; 16]);
        if let (true, Some(first), Some(last)) =
            (used, le64(entry, GPT_FIRST_LBA), le64(entry, GPT_LAST_LBA))
        {
            extents.push((
                first.saturating_mul(sector),
                last.saturating_add(1).saturating_mul(sector),
            ));
        }
    }
    let mut probe = Probe::new(Kind::PartitionTable(TableType::Gpt));
    probe.uuid = array(&header, HDR_DISK_GUID).and_then(|g| guid(&g));
    probe.block_size = u32::try_from(sector).ok();
    Ok(Some(Table { probe, extents }))
}

#[derive(Debug)]
struct Layout {
    entries_lba: u64,
    entry_size: usize,
    array_len: usize,
    entries_crc: u32,
}

/// Checks a GPT header found at `lba` and says where its partition array is.
fn header_layout(header: &[u8], lba: u64, sector: u64) -> Option<Layout> {
    if !has(header, HDR_SIGNATURE, b"EFI PART") || le64(header, HDR_MY_LBA)? != lba {
        return None;
    }
    let size = le32(header, HDR_SIZE)?;
    if size < HDR_MIN_SIZE || u64::from(size) > sector {
        return None;
    }
    // HeaderCRC32 is computed with its own field zeroed.
    let mut copy = header.get(..usize::try_from(size).ok()?)?.to_vec();
    copy.get_mut(HDR_CRC..HDR_CRC.checked_add(4)?)?.fill(0);
    if crc32(&copy) != le32(header, HDR_CRC)? {
        return None;
    }
    // Entries are 128 bytes times a power of two; the array must fit one read.
    let entry_size = le32(header, HDR_ENTRY_SIZE)?;
    if entry_size < 128 || !entry_size.is_power_of_two() {
        return None;
    }
    let array_len = u64::from(le32(header, HDR_NUM_ENTRIES)?).checked_mul(u64::from(entry_size))?;
    if array_len > MAX_READ as u64 {
        return None;
    }
    Some(Layout {
        entries_lba: le64(header, HDR_ENTRIES_LBA)?,
        entry_size: usize::try_from(entry_size).ok()?,
        array_len: usize::try_from(array_len).ok()?,
        entries_crc: le32(header, HDR_ENTRIES_CRC)?,
    })
}
