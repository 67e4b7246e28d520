//! Partition tables, with the `gpt` and `mbrman` crates: create, add, delete, list and edit
//! partitions, and make every change reach the kernel before the operation returns.
//!
//! Units: offsets and sizes are bytes. `part_add` takes the first byte and the last byte
//! (inclusive, as `part_list` reports `end`), both on sector boundaries: `start` a multiple
//! of the sector size, `end + 1` a multiple of it.
//!
//! GPT partitions keep their numbers: deleting partition 2 of 3 leaves 1 and 3, as parted and
//! sgdisk do (the `gpt` crate's own writer would compact the entry array and silently
//! renumber, so the entries are written here, each at its own index, and the headers after
//! them with the crate's CRC code). Only GPTs with the standard 128 entries of 128 bytes are
//! edited; others are listed but refused for changes. MBR logical partitions are numbered
//! from 5 in the order they lie on the disk, as the kernel numbers them.
//!
//! Tables come from the guest's disk: every number read is checked before it is used, and
//! the walk along the chain of extended boot records is bounded.

use crate::block::blockdev::{self, KernelPart};
use guestwright_protocol::{PartKind, PartTableType, PartitionEntry};
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, Cursor, Read, Seek, SeekFrom, Write};
use std::path::Path;

use gpt::disk::LogicalBlockSize;
use gpt::header::{Header, HeaderBuilder};
use gpt::partition::Partition as GptPart;

mod resize;
pub use resize::{part_resize, set_disk_guid, set_gpt_attributes, set_gpt_guid};

/// Where `part_disk`'s partition starts, and how much it leaves free at the disk's end,
/// in sectors: libguestfs's `128s` and `-128s` (aligned to 64 KiB on 512-byte sectors,
/// with room for GPT's backup table), so a disk set up by a guestfish script is laid out
/// as guestfish lays it out.
const PART_DISK_MARGIN: u64 = 128;
/// GPT's standard entry array: the only shape this module edits.
const GPT_ENTRIES: u32 = 128;
const GPT_ENTRY_SIZE: u32 = 128;
/// Linux filesystem data, the type new GPT partitions get.
const LINUX_FS: &str = "0FC63DAF-8483-4772-8E79-3D69D8477DE4";
/// Types that never hold a filesystem to list: Microsoft reserved, LDM metadata.
const NOT_FS_GPT: &[&str] = &[
    "E3C9E316-0B5C-4DB8-817D-F92DF00215AE",
    "5808C8AA-7E8F-42E0-85D2-E1E90434CFB3",
];
/// The legacy BIOS bootable attribute of a GPT partition.
const GPT_LEGACY_BOOT: u64 = 1 << 2;
/// At most this many logical partitions are followed or made.
const MAX_LOGICAL: usize = 128;
const MBR_LINUX: u8 = 0x83;
const MBR_EXTENDED: u8 = 0x05;

fn einval(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, msg)
}

fn is_extended(sys: u8) -> bool {
    matches!(sys, 0x05 | 0x0f | 0x85)
}

/// A GUID partition table as read: its header and its used entries, by partition number.
#[derive(Debug, Clone)]
struct Gpt {
    header: Header,
    parts: BTreeMap<u32, GptPart>,
}

#[derive(Debug, Clone)]
enum Table {
    Gpt(Gpt),
    Mbr(Box<mbrman::MBR>),
}

/// A disk being worked on: its kernel path, open file, sector size and size in bytes.
#[derive(Debug)]
struct Disk<'a> {
    path: &'a Path,
    file: File,
    sector: u64,
    size: u64,
}

impl<'a> Disk<'a> {
    fn open(path: &'a Path, write: bool) -> io::Result<Disk<'a>> {
        let file = if write {
            blockdev::open_write(path)?
        } else {
            blockdev::open_read(path)?
        };
        let sector = u64::from(crate::sys::block_sector_size(&file)?);
        let size = crate::sys::block_size64(&file)?;
        Ok(Disk {
            path,
            file,
            sector,
            size,
        })
    }

    fn lb(&self) -> io::Result<LogicalBlockSize> {
        LogicalBlockSize::try_from(self.sector).map_err(|_| {
            io::Error::new(
                io::ErrorKind::Unsupported,
                format!(
                    "{}: sectors of {} bytes are not supported (512 or 4096)",
                    self.path.display(),
                    self.sector
                ),
            )
        })
    }

    fn read_at(&mut self, offset: u64, len: usize) -> io::Result<Vec<u8>> {
        let mut buf = vec![0u8; len];
        self.file.seek(SeekFrom::Start(offset))?;
        self.file.read_exact(&mut buf)?;
        Ok(buf)
    }

    fn write_at(&mut self, offset: u64, data: &[u8]) -> io::Result<()> {
        self.file.seek(SeekFrom::Start(offset))?;
        self.file.write_all(data)
    }

    fn no_table(&self) -> io::Error {
        einval(format!(
            "{}: no partition table (create one with part_init)",
            self.path.display()
        ))
    }

    /// Reads whichever table the disk has.
    fn read_table(&mut self) -> io::Result<Table> {
        let mbr = self.read_at(0, 512)?;
        if mbr.get(510..512) != Some(&[0x55, 0xaa]) {
            return Err(self.no_table());
        }
        let protective = (0..4).any(|i| mbr.get(446 + i * 16 + 4) == Some(&0xee));
        if protective {
            return self.read_gpt().map(Table::Gpt);
        }
        self.read_mbr().map(|m| Table::Mbr(Box::new(m)))
    }

    /// Refuses GPT headers whose entry array the `gpt` crate cannot read safely (it asserts
    /// 128-byte entries and allocates the whole array).
    fn check_gpt_header(&mut self, lba: u64) -> io::Result<()> {
        let h = self.read_at(lba * self.sector, 92)?;
        if h.get(0..8) != Some(b"EFI PART") {
            return Ok(());
        }
        let num = u32::from_le_bytes([h[80], h[81], h[82], h[83]]);
        let size = u32::from_le_bytes([h[84], h[85], h[86], h[87]]);
        if size != GPT_ENTRY_SIZE || num > 4096 {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                format!(
                    "{}: GPT with {num} entries of {size} bytes is not supported",
                    self.path.display()
                ),
            ));
        }
        Ok(())
    }

    fn read_gpt(&mut self) -> io::Result<Gpt> {
        let lb = self.lb()?;
        self.check_gpt_header(1)?;
        if let Some(last) = (self.size / self.sector).checked_sub(1) {
            self.check_gpt_header(last)?;
        }
        let disk = gpt::GptConfig::new()
            .writable(false)
            .logical_block_size(lb)
            .open_from_device(&mut self.file)
            .map_err(|e| {
                einval(format!(
                    "{}: the GPT cannot be read: {e}",
                    self.path.display()
                ))
            })?;
        let parts = disk
            .partitions()
            .iter()
            .filter(|(_, p)| p.is_used())
            .map(|(n, p)| (*n, p.clone()))
            .collect();
        Ok(Gpt {
            header: disk.header().clone(),
            parts,
        })
    }

    fn read_mbr(&mut self) -> io::Result<mbrman::MBR> {
        let sector = u32::try_from(self.sector).map_err(|_| self.no_table())?;
        let mut bounded = Bounded {
            inner: &mut self.file,
            seeks: 0,
        };
        mbrman::MBR::read_from(&mut bounded, sector).map_err(|e| {
            einval(format!(
                "{}: the MBR partition table cannot be read: {e}",
                self.path.display()
            ))
        })
    }

    fn sync(&mut self) -> io::Result<()> {
        self.file.flush()?;
        self.file.sync_all()
    }
}

/// Stops mbrman's walk along a hostile chain of extended boot records.
#[derive(Debug)]
struct Bounded<'a> {
    inner: &'a mut File,
    seeks: usize,
}

impl Read for Bounded<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read(buf)
    }
}

impl Seek for Bounded<'_> {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        self.seeks += 1;
        if self.seeks > MAX_LOGICAL + 4 {
            return Err(einval(format!(
                "more than {MAX_LOGICAL} logical partitions"
            )));
        }
        self.inner.seek(pos)
    }
}

// ---- GPT writing ----

fn gpt_err(e: impl std::fmt::Display) -> io::Error {
    io::Error::other(format!("GPT: {e}"))
}

/// Writes the entry array (each partition at index `number - 1`), the backup header, the
/// primary header and, when asked, a fresh protective MBR.
fn write_gpt(disk: &mut Disk<'_>, table: &Gpt, protective_mbr: bool) -> io::Result<()> {
    let lb = disk.lb()?;
    if table.header.num_parts != GPT_ENTRIES || table.header.part_size != GPT_ENTRY_SIZE {
        return Err(io::Error::new(
            io::ErrorKind::Unsupported,
            format!(
                "{}: only GPTs with {GPT_ENTRIES} entries can be changed (this one has {})",
                disk.path.display(),
                table.header.num_parts
            ),
        ));
    }
    let mut primary = HeaderBuilder::from_header(&table.header)
        .primary(true)
        .build(lb)
        .map_err(gpt_err)?;
    let mut backup = HeaderBuilder::from_header(&primary)
        .primary(false)
        .build(lb)
        .map_err(gpt_err)?;
    let mut array = Cursor::new(vec![0u8; (GPT_ENTRIES * GPT_ENTRY_SIZE) as usize]);
    for (number, part) in &table.parts {
        let index = u64::from(
            number
                .checked_sub(1)
                .filter(|i| *i < GPT_ENTRIES)
                .ok_or_else(|| {
                    einval(format!("partition number {number} does not fit in the GPT"))
                })?,
        );
        part.write_to_device(
            &mut array,
            index,
            0,
            LogicalBlockSize::Lb512,
            GPT_ENTRY_SIZE,
        )?;
    }
    let array = array.into_inner();
    disk.write_at(primary.part_start * disk.sector, &array)?;
    disk.write_at(backup.part_start * disk.sector, &array)?;
    backup.write_backup(&mut disk.file, lb).map_err(gpt_err)?;
    primary.write_primary(&mut disk.file, lb).map_err(gpt_err)?;
    if protective_mbr {
        let lbas = (disk.size / disk.sector).saturating_sub(1);
        gpt::mbr::ProtectiveMBR::with_lb_size(u32::try_from(lbas).unwrap_or(u32::MAX))
            .overwrite_lba0(&mut disk.file)
            .map_err(gpt_err)?;
    }
    disk.sync()
}

fn new_gpt(disk: &mut Disk<'_>) -> io::Result<Gpt> {
    let lb = disk.lb()?;
    let last = (disk.size / disk.sector)
        .checked_sub(1)
        .filter(|l| *l > 67)
        .ok_or_else(|| einval(format!("{}: too small for a GPT", disk.path.display())))?;
    let header = HeaderBuilder::new()
        .backup_lba(last)
        .build(lb)
        .map_err(gpt_err)?;
    Ok(Gpt {
        header,
        parts: BTreeMap::new(),
    })
}

fn guid_upper(u: &uuid::Uuid) -> String {
    u.to_string().to_uppercase()
}

// ---- MBR writing ----

fn write_mbr(disk: &mut Disk<'_>, mbr: &mut mbrman::MBR) -> io::Result<()> {
    chain_logical(disk, mbr)?;
    if let Some((_, ext)) = mbr.header.iter().find(|(_, p)| is_extended(p.sys)) {
        if mbr.logical_partitions.is_empty() {
            // An old EBR left there would still show its partition to the kernel.
            let zero = vec![0u8; disk.sector as usize];
            disk.write_at(u64::from(ext.starting_lba) * disk.sector, &zero)?;
        }
    }
    mbr.write_into(&mut disk.file)
        .map_err(|e| io::Error::other(format!("writing the MBR: {e}")))?;
    disk.sync()
}

/// Orders the logical partitions as they lie on the disk and places their EBRs: the
/// first at the start of the extended partition, each later one in the sector before its
/// partition.
fn chain_logical(disk: &Disk<'_>, mbr: &mut mbrman::MBR) -> io::Result<()> {
    mbr.logical_partitions
        .sort_by_key(|l| l.partition.starting_lba);
    if let Some((_, ext)) = mbr.header.iter().find(|(_, p)| is_extended(p.sys)) {
        let ext = ext.clone();
        let mut prev_end = ext.starting_lba;
        for (i, l) in mbr.logical_partitions.iter_mut().enumerate() {
            let start = l.partition.starting_lba;
            let ebr = if i == 0 { ext.starting_lba } else { start - 1 };
            if i > 0 && ebr <= prev_end {
                return Err(einval(format!(
                    "a logical partition needs one free sector before it for its extended boot \
                     record: move it to start at or after byte {}",
                    (u64::from(prev_end) + 2) * disk.sector
                )));
            }
            l.absolute_ebr_lba = ebr;
            let end = start + l.partition.sectors;
            l.ebr_sectors = (i > 0).then_some(end - ebr);
            l.ebr_last_chs = (i > 0).then_some(mbrman::CHS::empty());
            prev_end = end - 1;
        }
    }
    Ok(())
}

fn random_signature() -> io::Result<[u8; 4]> {
    let mut sig = [0u8; 4];
    File::open("/dev/urandom")?.read_exact(&mut sig)?;
    Ok(sig)
}

// ---- what the kernel should see ----

fn kernel_view(disk: &Disk<'_>, table: &Table) -> Vec<KernelPart> {
    match table {
        Table::Gpt(g) => g
            .parts
            .iter()
            .map(|(n, p)| KernelPart {
                number: *n,
                start: p.first_lba * disk.sector,
                length: (p.last_lba + 1 - p.first_lba) * disk.sector,
            })
            .collect(),
        Table::Mbr(m) => m
            .iter()
            .filter(|(_, p)| p.is_used() && p.sectors > 0)
            .map(|(n, p)| {
                let length = u64::from(p.sectors) * disk.sector;
                KernelPart {
                    number: n as u32,
                    start: u64::from(p.starting_lba) * disk.sector,
                    // The kernel shows an extended partition as its first 1 KiB (or sector).
                    length: if is_extended(p.sys) {
                        length.min(disk.sector.max(1024))
                    } else {
                        length
                    },
                }
            })
            .collect(),
    }
}

fn commit(disk: &mut Disk<'_>, table: &mut Table, protective_mbr: bool) -> io::Result<()> {
    if let Table::Mbr(m) = table {
        chain_logical(disk, m)?;
    }
    // A partition in use that would change or go away is refused before anything is
    // written: the kernel could not follow, and the table would lie about the disk.
    let wanted = kernel_view(disk, table);
    blockdev::check_unchanged_if_busy(disk.path, &wanted)?;
    match table {
        Table::Gpt(g) => write_gpt(disk, g, protective_mbr)?,
        Table::Mbr(m) => write_mbr(disk, m)?,
    }
    let wanted = kernel_view(disk, table);
    blockdev::sync_partitions(disk.path, &wanted)
}

fn edit(
    path: &Path,
    f: impl FnOnce(&mut Disk<'_>, &mut Table) -> io::Result<()>,
) -> io::Result<()> {
    let mut disk = Disk::open(path, true)?;
    let mut table = disk.read_table()?;
    f(&mut disk, &mut table)?;
    commit(&mut disk, &mut table, false)
}

// ---- the operations ----

/// `part_init`: a new, empty table of `kind`. Whatever table was there is gone (the GPT
/// headers at both ends are wiped when making an MBR).
pub fn init(path: &Path, kind: PartTableType) -> io::Result<()> {
    let mut disk = Disk::open(path, true)?;
    let mut table = fresh(&mut disk, kind)?;
    commit(&mut disk, &mut table, true)
}

fn fresh(disk: &mut Disk<'_>, kind: PartTableType) -> io::Result<Table> {
    Ok(match kind {
        PartTableType::Gpt => Table::Gpt(new_gpt(disk)?),
        PartTableType::Mbr => {
            // Wipe both GPT headers so nothing mistakes the disk for GPT later.
            let zero = vec![0u8; disk.sector as usize];
            disk.write_at(disk.sector, &zero)?;
            if let Some(last) = (disk.size / disk.sector).checked_sub(1) {
                disk.write_at(last * disk.sector, &zero)?;
            }
            let sector = u32::try_from(disk.sector).map_err(|_| disk.no_table())?;
            let mut mbr = mbrman::MBR::new_from(&mut disk.file, sector, random_signature()?)
                .map_err(|e| io::Error::other(format!("new MBR: {e}")))?;
            mbr.align = 1;
            Table::Mbr(Box::new(mbr))
        }
    })
}

/// `part_disk`: a new table with one partition from sector 128 to 128 sectors before the
/// end of the disk, as libguestfs's (parted's `mkpart 128s -128s`).
pub fn part_disk(path: &Path, kind: PartTableType) -> io::Result<()> {
    let mut disk = Disk::open(path, true)?;
    let mut table = fresh(&mut disk, kind)?;
    let first = PART_DISK_MARGIN;
    let sectors = disk.size / disk.sector;
    let last = match &table {
        Table::Gpt(g) => g
            .header
            .last_usable
            .min(sectors.saturating_sub(PART_DISK_MARGIN)),
        Table::Mbr(_) => sectors.min(1 << 32).saturating_sub(PART_DISK_MARGIN),
    };
    if last <= first {
        return Err(einval(format!(
            "{}: too small for a partition from sector {PART_DISK_MARGIN} to {PART_DISK_MARGIN} \
             sectors before its end",
            path.display()
        )));
    }
    add_sectors(&mut disk, &mut table, PartKind::Primary, first, last)?;
    commit(&mut disk, &mut table, true)
}

/// `part_add`: a partition from byte `start` to byte `end` (inclusive) on the disk `path`,
/// which the caller names `dev`. An end past the device is refused in parted's words, as
/// libguestfs passes them on.
pub fn add(path: &Path, dev: &str, kind: PartKind, start: u64, end: u64) -> io::Result<()> {
    edit(path, |disk, table| {
        let s = disk.sector;
        if !start.is_multiple_of(s) || !(end + 1).is_multiple_of(s) || end < start {
            return Err(einval(format!(
                "part_add: start ({start}) must be a multiple of the sector size ({s}) and end the \
                 last byte of a sector, after start (end + 1 a multiple of {s}; for a partition \
                 ending at 100 MiB give end {})",
                (100 << 20) - 1
            )));
        }
        let (first, last) = (start / s, (end + 1) / s - 1);
        if last >= disk.size / s {
            return Err(einval(format!(
                "part_add: parted: {dev}: Error: The location {last}s is outside of the device \
                 {dev}."
            )));
        }
        add_sectors(disk, table, kind, first, last)
    })
}

fn overlap(a: (u64, u64), b: (u64, u64)) -> bool {
    a.0 <= b.1 && b.0 <= a.1
}

fn add_sectors(
    disk: &mut Disk<'_>,
    table: &mut Table,
    kind: PartKind,
    first: u64,
    last: u64,
) -> io::Result<()> {
    let s = disk.sector;
    let range_err = |lo: u64, hi: u64| {
        einval(format!(
            "part_add: bytes {}..={} are outside the usable area {}..={}",
            first * s,
            (last + 1) * s - 1,
            lo * s,
            (hi + 1) * s - 1
        ))
    };
    let overlap_err = |n: u32| {
        einval(format!(
            "part_add: bytes {}..={} overlap partition {n}",
            first * s,
            (last + 1) * s - 1
        ))
    };
    match table {
        Table::Gpt(g) => {
            if kind != PartKind::Primary {
                return Err(einval(format!(
                    "part_add: GPT has only primary partitions, not {kind} ones"
                )));
            }
            if first < g.header.first_usable || last > g.header.last_usable {
                return Err(range_err(g.header.first_usable, g.header.last_usable));
            }
            if let Some((n, _)) = g
                .parts
                .iter()
                .find(|(_, p)| overlap((first, last), (p.first_lba, p.last_lba)))
            {
                return Err(overlap_err(*n));
            }
            let number = (1..=GPT_ENTRIES)
                .find(|n| !g.parts.contains_key(n))
                .ok_or_else(|| einval("part_add: all 128 GPT entries are used".into()))?;
            let ty = uuid::Uuid::parse_str(LINUX_FS).map_err(gpt_err)?;
            g.parts.insert(
                number,
                GptPart {
                    part_type_guid: ty.into(),
                    part_guid: uuid::Uuid::new_v4(),
                    first_lba: first,
                    last_lba: last,
                    flags: 0,
                    name: String::new(),
                },
            );
            Ok(())
        }
        Table::Mbr(m) => {
            let disk_last = (disk.size / s).min(1 << 32) - 1;
            let (Ok(first32), Ok(count)) = (u32::try_from(first), u32::try_from(last + 1 - first))
            else {
                return Err(range_err(1, disk_last));
            };
            if first < 1 || last > disk_last {
                return Err(range_err(1, disk_last));
            }
            let entry = |sys: u8| mbrman::MBRPartitionEntry {
                boot: mbrman::BOOT_INACTIVE,
                first_chs: mbrman::CHS::empty(),
                sys,
                last_chs: mbrman::CHS::empty(),
                starting_lba: first32,
                sectors: count,
            };
            let span = |p: &mbrman::MBRPartitionEntry| {
                (
                    u64::from(p.starting_lba),
                    u64::from(p.starting_lba) + u64::from(p.sectors) - 1,
                )
            };
            let extended = m
                .header
                .iter()
                .find(|(_, p)| is_extended(p.sys))
                .map(|(n, p)| (n, p.clone()));
            if kind == PartKind::Logical {
                let (_, ext) = extended.ok_or_else(|| {
                    einval("part_add: a logical partition needs an extended partition first".into())
                })?;
                let (ext_first, ext_last) = span(&ext);
                // The first sector of the extended partition holds the first EBR.
                if first <= ext_first || last > ext_last {
                    return Err(einval(format!(
                        "part_add: a logical partition must lie inside the extended partition, \
                         after its first sector: bytes {}..={}",
                        (ext_first + 1) * s,
                        (ext_last + 1) * s - 1
                    )));
                }
                for (i, l) in m.logical_partitions.iter().enumerate() {
                    if overlap((first - 1, last), span(&l.partition)) {
                        return Err(overlap_err(5 + i as u32));
                    }
                }
                if m.logical_partitions.len() >= MAX_LOGICAL {
                    return Err(einval(format!(
                        "part_add: at most {MAX_LOGICAL} logical partitions"
                    )));
                }
                m.logical_partitions.push(mbrman::LogicalPartition {
                    partition: entry(MBR_LINUX),
                    absolute_ebr_lba: first32 - 1,
                    ebr_sectors: None,
                    ebr_first_chs: mbrman::CHS::empty(),
                    ebr_last_chs: None,
                    bootstrap_code: [0; 446],
                });
                return Ok(());
            }
            if kind == PartKind::Extended && extended.is_some() {
                return Err(einval(
                    "part_add: the disk already has an extended partition".into(),
                ));
            }
            for (n, p) in m.header.iter() {
                if p.is_used() && overlap((first, last), span(p)) {
                    return Err(overlap_err(n as u32));
                }
            }
            let slot = (1..=4).find(|n| m.header[*n].is_unused()).ok_or_else(|| {
                einval(
                    "part_add: all four primary slots of the MBR are used (make an extended \
                         partition for more)"
                        .into(),
                )
            })?;
            m.header[slot] = entry(if kind == PartKind::Extended {
                MBR_EXTENDED
            } else {
                MBR_LINUX
            });
            Ok(())
        }
    }
}

fn no_partition(path: &Path, n: u32) -> io::Error {
    io::Error::new(
        io::ErrorKind::NotFound,
        format!("{}: there is no partition {n}", path.display()),
    )
}

/// `part_del`.
pub fn delete(path: &Path, partnum: u32) -> io::Result<()> {
    edit(path, |_, table| match table {
        Table::Gpt(g) => g
            .parts
            .remove(&partnum)
            .map(drop)
            .ok_or_else(|| no_partition(path, partnum)),
        Table::Mbr(m) => {
            let n = partnum as usize;
            match n {
                1..=4 if m.header[n].is_used() => {
                    if is_extended(m.header[n].sys) && !m.logical_partitions.is_empty() {
                        return Err(einval(format!(
                            "part_del: partition {n} is the extended partition and holds \
                             logical partitions: delete them first"
                        )));
                    }
                    m.header[n] = mbrman::MBRPartitionEntry::empty();
                    Ok(())
                }
                _ if n >= 5 && n - 5 < m.logical_partitions.len() => {
                    m.logical_partitions.remove(n - 5);
                    Ok(())
                }
                _ => Err(no_partition(path, partnum)),
            }
        }
    })
}

/// `part_list`.
pub fn list(path: &Path) -> io::Result<Vec<PartitionEntry>> {
    let mut disk = Disk::open(path, false)?;
    let table = match disk.read_table() {
        Ok(table) => table,
        Err(e) => return whole_disk_filesystem(&mut disk).ok_or(e),
    };
    let s = disk.sector;
    Ok(match &table {
        Table::Gpt(g) => g
            .parts
            .iter()
            .map(|(n, p)| {
                let start = p.first_lba * s;
                let size = (p.last_lba + 1).saturating_sub(p.first_lba) * s;
                PartitionEntry {
                    partnum: *n,
                    start,
                    end: (start + size).saturating_sub(1),
                    size,
                    gpt_type: Some(guid_upper(&p.part_type_guid.guid)),
                    mbr_id: None,
                    name: Some(p.name.clone()),
                    bootable: p.flags & GPT_LEGACY_BOOT != 0,
                    uuid: Some(guid_upper(&p.part_guid)),
                }
            })
            .collect(),
        Table::Mbr(m) => m
            .iter()
            .filter(|(_, p)| p.is_used())
            .map(|(n, p)| {
                let start = u64::from(p.starting_lba) * s;
                let size = u64::from(p.sectors) * s;
                PartitionEntry {
                    partnum: n as u32,
                    start,
                    end: (start + size).saturating_sub(1),
                    size,
                    gpt_type: None,
                    mbr_id: Some(u32::from(p.sys)),
                    name: None,
                    bootable: p.is_active(),
                    uuid: None,
                }
            })
            .collect(),
    })
}

/// A disk without a partition table that holds a filesystem parted recognises is, to parted
/// and so to libguestfs's `part_list`, one partition covering the disk (its "loop" label).
fn whole_disk_filesystem(disk: &mut Disk<'_>) -> Option<Vec<PartitionEntry>> {
    use crate::probe::{Fs, Kind};
    let found = crate::probe::probe(&mut disk.file, disk.size).ok()??;
    let parted_knows = match found.kind {
        Kind::Filesystem(fs) => !matches!(fs, Fs::Exfat | Fs::Iso9660 | Fs::Squashfs),
        Kind::Swap => true,
        _ => false,
    };
    parted_knows.then(|| {
        vec![PartitionEntry {
            partnum: 1,
            start: 0,
            end: disk.size.saturating_sub(1),
            size: disk.size,
            gpt_type: None,
            mbr_id: None,
            name: None,
            bootable: false,
            uuid: None,
        }]
    })
}

/// `part_get_parttype`.
pub fn parttype(path: &Path) -> io::Result<PartTableType> {
    let mut disk = Disk::open(path, false)?;
    Ok(match disk.read_table()? {
        Table::Gpt(_) => PartTableType::Gpt,
        Table::Mbr(_) => PartTableType::Mbr,
    })
}

/// Partition numbers on a disk that never hold a filesystem: MBR extended partitions,
/// GPT Microsoft reserved and LDM metadata partitions.
pub fn not_for_filesystems(path: &Path) -> io::Result<Vec<u32>> {
    let mut disk = Disk::open(path, false)?;
    Ok(match disk.read_table()? {
        Table::Gpt(g) => g
            .parts
            .iter()
            .filter(|(_, p)| NOT_FS_GPT.contains(&guid_upper(&p.part_type_guid.guid).as_str()))
            .map(|(n, _)| *n)
            .collect(),
        Table::Mbr(m) => m
            .iter()
            .filter(|(_, p)| is_extended(p.sys))
            .map(|(n, _)| n as u32)
            .collect(),
    })
}

fn gpt_part<'t>(
    path: &Path,
    table: &'t mut Table,
    n: u32,
    op: &str,
) -> io::Result<&'t mut GptPart> {
    match table {
        Table::Gpt(g) => g.parts.get_mut(&n).ok_or_else(|| no_partition(path, n)),
        Table::Mbr(_) => Err(einval(format!(
            "{op}: {} has an MBR; partition names and type GUIDs exist only on GPT",
            path.display()
        ))),
    }
}

fn read_gpt_part(path: &Path, n: u32, op: &str) -> io::Result<GptPart> {
    let mut disk = Disk::open(path, false)?;
    let mut table = disk.read_table()?;
    gpt_part(path, &mut table, n, op).cloned()
}

/// `part_set_name` (GPT): at most 36 UTF-16 code units.
pub fn set_name(path: &Path, n: u32, name: &str) -> io::Result<()> {
    if name.encode_utf16().count() > 36 || name.contains('\0') {
        return Err(einval(
            "part_set_name: a GPT partition name has at most 36 characters (UTF-16) and no NUL"
                .to_string(),
        ));
    }
    edit(path, |_, table| {
        gpt_part(path, table, n, "part_set_name")?.name = name.to_string();
        Ok(())
    })
}

/// `part_get_name` (GPT).
pub fn get_name(path: &Path, n: u32) -> io::Result<String> {
    Ok(read_gpt_part(path, n, "part_get_name")?.name)
}

/// `part_set_gpt_type`: the type GUID, in either case.
pub fn set_gpt_type(path: &Path, n: u32, guid: &str) -> io::Result<()> {
    let ty = uuid::Uuid::parse_str(guid).map_err(|_| {
        einval(format!(
            "part_set_gpt_type: '{}' is not a GUID such as {LINUX_FS}",
            guestwright_protocol::escape_bytes(guid.as_bytes())
        ))
    })?;
    if ty.is_nil() {
        return Err(einval(
            "part_set_gpt_type: the nil GUID marks an unused entry; use part_del".into(),
        ));
    }
    edit(path, |_, table| {
        gpt_part(path, table, n, "part_set_gpt_type")?.part_type_guid = ty.into();
        Ok(())
    })
}

/// `part_get_gpt_type`: upper case, as sgdisk prints it.
pub fn get_gpt_type(path: &Path, n: u32) -> io::Result<String> {
    Ok(guid_upper(
        &read_gpt_part(path, n, "part_get_gpt_type")?
            .part_type_guid
            .guid,
    ))
}

/// `part_get_disk_guid`: the GPT disk GUID, upper case.
pub fn get_disk_guid(path: &Path) -> io::Result<String> {
    let mut disk = Disk::open(path, false)?;
    match disk.read_table()? {
        Table::Gpt(g) => Ok(guid_upper(&g.header.disk_guid)),
        Table::Mbr(_) => Err(einval(format!(
            "part_get_disk_guid: {} has an MBR; disk GUIDs exist only on GPT",
            path.display()
        ))),
    }
}

/// `part_get_gpt_guid`: a GPT partition's own GUID, upper case.
pub fn get_gpt_guid(path: &Path, n: u32) -> io::Result<String> {
    Ok(guid_upper(
        &read_gpt_part(path, n, "part_get_gpt_guid")?.part_guid,
    ))
}

/// `part_get_gpt_attributes`: a GPT partition's attribute bits as libguestfs 1.48 returns
/// them: its daemon passes the 64-bit answer through a C `int`, so callers get the low 32
/// bits, sign-extended (bit 31 makes the number negative, bits 32 to 63 are lost).
pub fn get_gpt_attributes(path: &Path, n: u32) -> io::Result<i64> {
    let flags = read_gpt_part(path, n, "part_get_gpt_attributes")?.flags;
    Ok(i64::from(flags as u32 as i32))
}

/// `part_get_mbr_part_type`: `primary`, `extended` or `logical` (every GPT partition is
/// primary).
pub fn get_mbr_part_type(path: &Path, n: u32) -> io::Result<String> {
    let mut disk = Disk::open(path, false)?;
    let table = disk.read_table()?;
    let kind = match &table {
        Table::Gpt(g) => {
            g.parts.get(&n).ok_or_else(|| no_partition(path, n))?;
            "primary"
        }
        Table::Mbr(_) => {
            let mut table = table.clone();
            let entry = mbr_entry(path, &mut table, n, "part_get_mbr_part_type")?;
            if n > 4 {
                "logical"
            } else if is_extended(entry.sys) {
                "extended"
            } else {
                "primary"
            }
        }
    };
    Ok(kind.to_string())
}

fn mbr_entry<'t>(
    path: &Path,
    table: &'t mut Table,
    n: u32,
    op: &str,
) -> io::Result<&'t mut mbrman::MBRPartitionEntry> {
    match table {
        Table::Mbr(m) => m
            .get_mut(n as usize)
            .filter(|p| p.is_used())
            .ok_or_else(|| no_partition(path, n)),
        Table::Gpt(_) => Err(einval(format!(
            "{op}: {} has a GPT; MBR type bytes exist only on MBR disks (use part_set_gpt_type)",
            path.display()
        ))),
    }
}

/// `part_set_mbr_id`: the type byte. Turning a partition into or out of an extended one
/// is refused: that changes the table's structure, not a label.
pub fn set_mbr_id(path: &Path, n: u32, id: u32) -> io::Result<()> {
    let id = u8::try_from(id)
        .ok()
        .filter(|id| *id != 0 && !is_extended(*id))
        .ok_or_else(|| {
            einval(format!(
                "part_set_mbr_id: {id:#x} is not a type byte for a data partition (1 to 0xff, \
                 not 0 or an extended type)"
            ))
        })?;
    edit(path, |_, table| {
        let p = mbr_entry(path, table, n, "part_set_mbr_id")?;
        if is_extended(p.sys) {
            return Err(einval(format!(
                "part_set_mbr_id: partition {n} is the extended partition"
            )));
        }
        p.sys = id;
        Ok(())
    })
}

/// `part_get_mbr_id`.
pub fn get_mbr_id(path: &Path, n: u32) -> io::Result<u32> {
    let mut disk = Disk::open(path, false)?;
    let mut table = disk.read_table()?;
    Ok(u32::from(
        mbr_entry(path, &mut table, n, "part_get_mbr_id")?.sys,
    ))
}

/// `part_set_bootable`: the MBR active flag (for a primary partition), or the GPT legacy BIOS
/// bootable attribute.
pub fn set_bootable(path: &Path, n: u32, bootable: bool) -> io::Result<()> {
    edit(path, |_, table| {
        if let Table::Gpt(g) = table {
            let p = g.parts.get_mut(&n).ok_or_else(|| no_partition(path, n))?;
            if bootable {
                p.flags |= GPT_LEGACY_BOOT;
            } else {
                p.flags &= !GPT_LEGACY_BOOT;
            }
            return Ok(());
        }
        let p = mbr_entry(path, table, n, "part_set_bootable")?;
        p.boot = if bootable {
            mbrman::BOOT_ACTIVE
        } else {
            mbrman::BOOT_INACTIVE
        };
        Ok(())
    })
}

/// `part_get_bootable`.
pub fn get_bootable(path: &Path, n: u32) -> io::Result<bool> {
    list(path)?
        .into_iter()
        .find(|p| p.partnum == n)
        .map(|p| p.bootable)
        .ok_or_else(|| no_partition(path, n))
}

/// `part_expand_gpt`: after the disk grew, moves the backup header and entries to the new
/// end and lets the usable area reach it.
pub fn expand_gpt(path: &Path) -> io::Result<()> {
    let mut disk = Disk::open(path, true)?;
    let Table::Gpt(mut g) = disk.read_table()? else {
        return Err(einval(format!(
            "part_expand_gpt: {} has an MBR, not a GPT",
            path.display()
        )));
    };
    let lb = disk.lb()?;
    let last = (disk.size / disk.sector).saturating_sub(1);
    let (old_primary, old_backup) = if g.header.current_lba < g.header.backup_lba {
        (g.header.current_lba, g.header.backup_lba)
    } else {
        (g.header.backup_lba, g.header.current_lba)
    };
    if old_backup > last {
        return Err(einval(format!(
            "part_expand_gpt: {} is smaller than its GPT says (backup header at sector \
             {old_backup}, last sector {last})",
            path.display()
        )));
    }
    if old_backup == last {
        return Ok(());
    }
    let _ = old_primary;
    g.header = HeaderBuilder::from_header(&g.header)
        .primary(true)
        .backup_lba(last)
        .build(lb)
        .map_err(gpt_err)?;
    let zero = vec![0u8; disk.sector as usize];
    disk.write_at(old_backup * disk.sector, &zero)?;
    let mut table = Table::Gpt(g);
    commit(&mut disk, &mut table, false)?;
    // The protective partition covers the whole disk again.
    let lbas = last;
    gpt::mbr::ProtectiveMBR::with_lb_size(u32::try_from(lbas).unwrap_or(u32::MAX))
        .update_conservative(&mut disk.file)
        .map_err(gpt_err)?;
    disk.sync()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlaps_are_inclusive() {
        assert!(overlap((10, 20), (20, 30)));
        assert!(!overlap((10, 19), (20, 30)));
        assert!(overlap((0, 100), (50, 60)));
    }

    #[test]
    fn extended_types() {
        assert!(is_extended(0x05) && is_extended(0x0f) && is_extended(0x85));
        assert!(!is_extended(0x83));
    }
}
