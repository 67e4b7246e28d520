//! Identifies what a block device holds (a filesystem, swap, an LVM physical volume, a LUKS
//! container or a partition table) by reading its superblocks, and reports type, label and
//! UUID the way `blkid -p` prints them, since that is what users compare with (`/dev/disk/by-*`,
//! `UUID=` and `LABEL=` in fstab).
//!
//! Every byte read here comes from the guest's disk and may be hostile. The probes never
//! trust it: every offset is bounds-checked (the lints below forbid indexing, unchecked
//! arithmetic, `unwrap` and panics in this module), nothing is allocated from an on-disk
//! length that was not checked against a small limit, every walk over on-disk structures has
//! a fixed bound, and the whole probe reads at most a few megabytes. A superblock
//! that is short, inconsistent or fails its checksum is simply "no match"; only a failing
//! device is an error.
//!
//! One module per format, each with the on-disk fields it relies on quoted in its comments:
//! `ext`, `xfs`, `btrfs`, `fat`, `exfat`, `ntfs`, `iso9660`, `udf`, `squashfs`, `swap`, `lvm`,
//! `luks`, `parttable`; `bytes` holds the bounds-checked readers and `dev` the bounded reads.

#![cfg_attr(
    not(test),
    deny(
        clippy::indexing_slicing,
        clippy::arithmetic_side_effects,
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::cast_possible_truncation
    )
)]

mod btrfs;
mod bytes;
mod crc;
mod dev;
mod exfat;
mod ext;
mod fat;
mod iso9660;
mod luks;
mod lvm;
mod md;
mod ntfs;
mod parttable;
mod squashfs;
mod swap;
mod udf;
mod xfs;

#[cfg(test)]
mod tests;

use dev::Dev;
use std::io::{self, Read, Seek};

/// What a device holds, as far as its superblocks tell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Probe {
    /// What kind of content this is.
    pub kind: Kind,
    /// The type name the kernel and blkid use (`TYPE=` or, for partition tables, `PTTYPE=`):
    /// `"ext4"`, `"vfat"`, `"swap"`, `"LVM2_member"`, `"crypto_LUKS"`, `"gpt"`, `"dos"`, ....
    pub fstype: &'static str,
    /// The label as blkid prints it (`LABEL=`): trailing NULs and white space trimmed,
    /// invalid UTF-8 replaced.
    pub label: Option<String>,
    /// The UUID formatted as blkid prints it (`UUID=`, or `PTUUID=` for partition tables):
    /// `8-4-4-4-12` hex for most, `XXXX-XXXX` for FAT and exFAT, 16 hex digits for NTFS, a
    /// date for ISO 9660, `6-4-4-4-4-4-6` for LVM.
    pub uuid: Option<String>,
    /// The format version where blkid reports one (`VERSION=`): `"1.0"` for ext, `"FAT32"`,
    /// `"2"` for LUKS2, `"Joliet Extension"`, ....
    pub version: Option<String>,
    /// The allocation unit in bytes: the block (ext, XFS, squashfs, UDF), sector (btrfs),
    /// cluster (FAT, exFAT, NTFS), logical block (ISO 9660) or page (swap) size; for a
    /// partition table, the sector size it was found with.
    pub block_size: Option<u32>,
    /// The size in bytes the superblock claims (filesystem, swap area or physical volume), when
    /// it says.
    pub size: Option<u64>,
}

/// The kinds of content the probes recognise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A mountable filesystem.
    Filesystem(Fs),
    /// A Linux swap area.
    Swap,
    /// An LVM2 physical volume.
    LvmPv,
    /// A member of a Linux md RAID array.
    MdMember,
    /// A LUKS1 or LUKS2 encrypted container.
    Luks,
    /// An ext3/ext4 external journal device (blkid's `jbd`).
    ExtJournal,
    /// A partition table covering the device.
    PartitionTable(TableType),
}

/// Filesystems the probes recognise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fs {
    Ext2,
    Ext3,
    Ext4,
    Xfs,
    Btrfs,
    Vfat,
    Exfat,
    Ntfs,
    Iso9660,
    Squashfs,
    Udf,
}

/// Partition table types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TableType {
    /// A GUID partition table with a valid header (primary or backup).
    Gpt,
    /// An MS-DOS partition table.
    Mbr,
    /// A protective MBR whose GPT headers are both missing or corrupt (blkid's `PMBR`).
    ProtectiveMbr,
}

impl Kind {
    /// The name blkid prints for this kind.
    pub fn fstype(self) -> &'static str {
        match self {
            Kind::Filesystem(fs) => match fs {
                Fs::Ext2 => "ext2",
                Fs::Ext3 => "ext3",
                Fs::Ext4 => "ext4",
                Fs::Xfs => "xfs",
                Fs::Btrfs => "btrfs",
                Fs::Vfat => "vfat",
                Fs::Exfat => "exfat",
                Fs::Ntfs => "ntfs",
                Fs::Iso9660 => "iso9660",
                Fs::Squashfs => "squashfs",
                Fs::Udf => "udf",
            },
            Kind::Swap => "swap",
            Kind::LvmPv => "LVM2_member",
            Kind::MdMember => "linux_raid_member",
            Kind::Luks => "crypto_LUKS",
            Kind::ExtJournal => "jbd",
            Kind::PartitionTable(TableType::Gpt) => "gpt",
            Kind::PartitionTable(TableType::Mbr) => "dos",
            Kind::PartitionTable(TableType::ProtectiveMbr) => "PMBR",
        }
    }
}

impl Probe {
    /// A result of `kind` with nothing else known yet.
    fn new(kind: Kind) -> Probe {
        Probe {
            kind,
            fstype: kind.fstype(),
            label: None,
            uuid: None,
            version: None,
            block_size: None,
            size: None,
        }
    }
}

/// One format's probe: `Ok(None)` when the device does not hold it.
type ContentProbe = fn(&mut Dev<'_>) -> io::Result<Option<Probe>>;

/// The content probes, each answering for one format. Signatures in the first sector come
/// first: they overwrite each other, so at most one of them can be current. The others follow
/// from the nearest to the farthest.
const CONTENT_PROBES: &[ContentProbe] = &[
    // RAID first, as in libblkid: a member of a 1.0 or 0.90 array also shows the
    // filesystem of the array at its start.
    md::probe,
    luks::probe,
    lvm::probe,
    xfs::probe,
    squashfs::probe,
    exfat::probe,
    ntfs::probe,
    fat::probe,
    ext::probe,
    swap::probe,
    // Before ISO 9660, as in libblkid: a UDF bridge disc carries both, and is UDF.
    udf::probe,
    iso9660::probe,
    btrfs::probe,
];

/// Identifies the content of `dev`, a device (or image) of `dev_size` bytes.
///
/// `Ok(None)` means nothing was recognised, which includes a device too small to hold the
/// superblock a format needs and superblocks that are inconsistent or fail their checksums.
/// An error is an I/O error of the device itself. A device that ends before `dev_size` is
/// treated as ending where it ends.
///
/// When a partition table and another signature are both present, the table wins: a disk
/// that was partitioned keeps stale superblocks of an earlier whole-disk filesystem, or an LVM
/// label, in the places the partitioning tools do not touch, while every mkfs, `pvcreate` and
/// `cryptsetup luksFormat` overwrites sector 0, so a table there is the newer of the two. The
/// exception is an ISO 9660 image whose table only describes areas inside the image (a hybrid
/// ISO): that is the ISO. (FAT, NTFS and exFAT boot sectors, which also end in `55 AA`, are
/// not taken for tables in the first place.)
pub fn probe(dev: &mut (impl Read + Seek), dev_size: u64) -> io::Result<Option<Probe>> {
    let mut dev = Dev::new(dev, dev_size)?;
    let table = parttable::probe(&mut dev)?;
    let mut content = None;
    for probe in CONTENT_PROBES {
        if let Some(found) = probe(&mut dev)? {
            content = Some(found);
            break;
        }
    }
    Ok(resolve(table, content))
}

/// The RAID level in the md superblock of `dev` (a member of `dev_size` bytes), as the kernel
/// numbers levels (-1 linear, 0, 1, 4, 5, 6, 10), or `None` when it holds no md superblock.
pub fn md_level(dev: &mut (impl Read + Seek), dev_size: u64) -> io::Result<Option<i32>> {
    md::level(&mut Dev::new(dev, dev_size)?)
}

fn resolve(table: Option<parttable::Table>, content: Option<Probe>) -> Option<Probe> {
    let Some(table) = table else { return content };
    let hybrid_iso = content.as_ref().is_some_and(|c| {
        c.kind == Kind::Filesystem(Fs::Iso9660)
            && c.size
                .is_some_and(|iso_end| table.extents.iter().all(|&(_, end)| end <= iso_end))
    });
    if hybrid_iso {
        content
    } else {
        Some(table.probe)
    }
}
