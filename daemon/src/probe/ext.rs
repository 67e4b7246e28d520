//! ext2, ext3, ext4 and ext journal devices: one superblock format, told apart by feature
//! flags exactly the way blkid does (libblkid `superblocks/ext.c`), on a system whose kernel
//! has ext2, ext3 and ext4 and no `ext4dev`:
//!
//! * `INCOMPAT_JOURNAL_DEV` → `jbd` (an external journal, not a filesystem);
//! * no `COMPAT_HAS_JOURNAL` and only features ext2 understands → `ext2`;
//! * `COMPAT_HAS_JOURNAL` and only features ext3 understands → `ext3`;
//! * any feature ext3 does not understand (extents, 64bit, flex_bg, metadata_csum, huge_file,
//!   dir_nlink, extra_isize, ...) → `ext4`, journal or not.

use super::bytes::{array, c_label, has, le16, le32, slice, uuid};
use super::crc::crc32c_raw;
use super::dev::Dev;
use super::{Fs, Kind, Probe};
use std::io;

/// The primary superblock lives 1024 bytes into the device and is 1024 bytes long.
const SB_OFFSET: u64 = 1024;
const SB_LEN: usize = 1024;

// Superblock fields (`struct ext4_super_block` in the kernel's fs/ext4/ext4.h).
const S_BLOCKS_COUNT_LO: usize = 0x04;
const S_LOG_BLOCK_SIZE: usize = 0x18;
const S_MAGIC: usize = 0x38; // __le16, 0xEF53
const S_MINOR_REV_LEVEL: usize = 0x3E;
const S_REV_LEVEL: usize = 0x4C;
const S_FEATURE_COMPAT: usize = 0x5C;
const S_FEATURE_INCOMPAT: usize = 0x60;
const S_FEATURE_RO_COMPAT: usize = 0x64;
const S_UUID: usize = 0x68;
const S_VOLUME_NAME: usize = 0x78; // char[16]
const S_BLOCKS_COUNT_HI: usize = 0x150;
const S_CHECKSUM_TYPE: usize = 0x175;
const S_CHECKSUM: usize = 0x3FC; // crc32c of everything before it

const COMPAT_HAS_JOURNAL: u32 = 0x0004;
const INCOMPAT_FILETYPE: u32 = 0x0002;
const INCOMPAT_RECOVER: u32 = 0x0004;
const INCOMPAT_JOURNAL_DEV: u32 = 0x0008;
const INCOMPAT_META_BG: u32 = 0x0010;
const INCOMPAT_64BIT: u32 = 0x0080;
const RO_COMPAT_SPARSE_SUPER: u32 = 0x0001;
const RO_COMPAT_LARGE_FILE: u32 = 0x0002;
const RO_COMPAT_BTREE_DIR: u32 = 0x0004;
const RO_COMPAT_METADATA_CSUM: u32 = 0x0400;

/// Features each older driver understands; anything else needs the newer one.
const EXT2_RO_COMPAT: u32 = RO_COMPAT_SPARSE_SUPER | RO_COMPAT_LARGE_FILE | RO_COMPAT_BTREE_DIR;
const EXT2_INCOMPAT: u32 = INCOMPAT_FILETYPE | INCOMPAT_META_BG;
const EXT3_RO_COMPAT: u32 = EXT2_RO_COMPAT;
const EXT3_INCOMPAT: u32 = INCOMPAT_FILETYPE | INCOMPAT_RECOVER | INCOMPAT_META_BG;

/// Block sizes run from 1 KiB (`s_log_block_size` 0) to 64 KiB (6), the kernel's limit.
const MAX_LOG_BLOCK_SIZE: u32 = 6;

pub(super) fn probe(dev: &mut Dev<'_>) -> io::Result<Option<Probe>> {
    let Some(sb) = dev.read(SB_OFFSET, SB_LEN)? else {
        return Ok(None);
    };
    Ok(parse(&sb))
}

/// The kind the feature flags make this superblock, or `None` when no ext driver claims it.
fn kind(compat: u32, incompat: u32, ro_compat: u32) -> Option<Kind> {
    let journal = compat & COMPAT_HAS_JOURNAL != 0;
    if incompat & INCOMPAT_JOURNAL_DEV != 0 {
        return Some(Kind::ExtJournal);
    }
    if ro_compat & !EXT3_RO_COMPAT != 0 || incompat & !EXT3_INCOMPAT != 0 {
        return Some(Kind::Filesystem(Fs::Ext4));
    }
    if journal {
        return Some(Kind::Filesystem(Fs::Ext3));
    }
    if ro_compat & !EXT2_RO_COMPAT == 0 && incompat & !EXT2_INCOMPAT == 0 {
        return Some(Kind::Filesystem(Fs::Ext2));
    }
    // No journal but needs recovery: ext2 cannot take it, ext3 wants a journal and ext4
    // finds nothing it alone understands. blkid reports nothing either.
    None
}

fn parse(sb: &[u8]) -> Option<Probe> {
    if !has(sb, S_MAGIC, &0xEF53u16.to_le_bytes()) {
        return None;
    }
    let log_block_size = le32(sb, S_LOG_BLOCK_SIZE)?;
    if log_block_size > MAX_LOG_BLOCK_SIZE {
        return None;
    }
    let block_size = 1024u32 << log_block_size;
    let compat = le32(sb, S_FEATURE_COMPAT)?;
    let incompat = le32(sb, S_FEATURE_INCOMPAT)?;
    let ro_compat = le32(sb, S_FEATURE_RO_COMPAT)?;
    if ro_compat & RO_COMPAT_METADATA_CSUM != 0 {
        // `s_checksum_type` 1 is crc32c, the only one defined; the sum is the kernel's raw
        // crc32c (seed ~0, no final inversion) of the superblock up to the checksum field.
        let stored = le32(sb, S_CHECKSUM)?;
        if sb.get(S_CHECKSUM_TYPE) != Some(&1) || crc32c_raw(!0, sb.get(..S_CHECKSUM)?) != stored {
            return None;
        }
    }
    let kind = kind(compat, incompat, ro_compat)?;
    let mut blocks = u64::from(le32(sb, S_BLOCKS_COUNT_LO)?);
    if incompat & INCOMPAT_64BIT != 0 {
        blocks |= u64::from(le32(sb, S_BLOCKS_COUNT_HI)?) << 32;
    }
    if blocks == 0 {
        return None;
    }
    let mut probe = Probe::new(kind);
    probe.label = c_label(slice(sb, S_VOLUME_NAME, 16)?);
    probe.uuid = uuid(&array(sb, S_UUID)?);
    probe.version = Some(format!(
        "{}.{}",
        le32(sb, S_REV_LEVEL)?,
        le16(sb, S_MINOR_REV_LEVEL)?
    ));
    probe.block_size = Some(block_size);
    probe.size = blocks.checked_mul(u64::from(block_size));
    Some(probe)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn feature_flags_decide_like_blkid() {
        let ext4 = Some(Kind::Filesystem(Fs::Ext4));
        assert_eq!(
            kind(0, INCOMPAT_FILETYPE, RO_COMPAT_SPARSE_SUPER),
            Some(Kind::Filesystem(Fs::Ext2))
        );
        assert_eq!(
            kind(COMPAT_HAS_JOURNAL, INCOMPAT_FILETYPE | INCOMPAT_RECOVER, 0),
            Some(Kind::Filesystem(Fs::Ext3))
        );
        // extents (0x40), 64bit, flex_bg (0x200): ext4 with or without a journal.
        assert_eq!(kind(COMPAT_HAS_JOURNAL, 0x40, 0), ext4);
        assert_eq!(kind(0, INCOMPAT_64BIT, 0), ext4);
        assert_eq!(kind(0, 0x200, 0), ext4);
        // huge_file, metadata_csum: read-only-compatible features ext3 lacks.
        assert_eq!(kind(COMPAT_HAS_JOURNAL, 0, 0x8), ext4);
        assert_eq!(kind(0, 0, RO_COMPAT_METADATA_CSUM), ext4);
        assert_eq!(
            kind(COMPAT_HAS_JOURNAL, INCOMPAT_JOURNAL_DEV, 0),
            Some(Kind::ExtJournal)
        );
        assert_eq!(kind(0, INCOMPAT_RECOVER, 0), None);
    }
}
