//! Linux md RAID members (blkid's `linux_raid_member`): a version 1 superblock at 0 (1.1),
//! 4 KiB (1.2) or 8 KiB before the end (1.0), or a version 0.90 superblock in the last
//! 64 KiB-aligned 64 KiB of the device.
//!
//! Version 1 (`struct mdp_superblock_1`, little-endian): `magic` 0xa92b4efc, `major_version`
//! 1, `set_uuid[16]` at 16, `set_name[32]` at 32 (the label), `super_offset` at 144, which
//! must name the sector the superblock is in, as libblkid requires. Version 0.90: the same
//! magic, `major_version` 0, the UUID in four 32-bit words at 20, 52, 56 and 60.

use super::bytes::{array, c_label, le32, le64, uuid};
use super::dev::Dev;
use super::{Kind, Probe};
use std::io;

const MAGIC: u32 = 0xa92b_4efc;

/// The RAID level of an md member's superblock, as the kernel numbers levels: -1 linear,
/// 0, 1, 4, 5, 6, 10 (`level` at 72 in version 1, the eighth word in 0.90).
pub(super) fn level(dev: &mut Dev<'_>) -> io::Result<Option<i32>> {
    let size = dev.size();
    for off in v1_places(size) {
        if let Some(sb) = dev.read(off, 256)? {
            if parse_v1(&sb, off, "").is_some() {
                return Ok(le32(&sb, 72).map(|l| l as i32));
            }
        }
    }
    if let Some(off) = v090_place(size) {
        if let Some(sb) = dev.read(off, 128)? {
            if le32(&sb, 0) == Some(MAGIC) && le32(&sb, 4) == Some(0) {
                return Ok(le32(&sb, 28).map(|l| l as i32));
            }
        }
    }
    Ok(None)
}

/// Where version 1 superblocks live: at 0 (1.1), 4 KiB (1.2), 8 KiB before the end (1.0).
fn v1_places(size: u64) -> Vec<u64> {
    let mut places = vec![0u64, 4096];
    if let Some(end) = (size & !0xfff).checked_sub(0x2000) {
        places.push(end);
    }
    places
}

/// Where a version 0.90 superblock lives: the last 64 KiB-aligned 64 KiB.
fn v090_place(size: u64) -> Option<u64> {
    (size & !0xffff).checked_sub(0x10000)
}

pub(super) fn probe(dev: &mut Dev<'_>) -> io::Result<Option<Probe>> {
    let size = dev.size();
    for (off, version) in v1_places(size).into_iter().zip(["1.1", "1.2", "1.0"]) {
        if let Some(sb) = dev.read(off, 256)? {
            if let Some(p) = parse_v1(&sb, off, version) {
                return Ok(Some(p));
            }
        }
    }
    if let Some(off) = v090_place(size) {
        if let Some(sb) = dev.read(off, 128)? {
            if le32(&sb, 0) == Some(MAGIC) && le32(&sb, 4) == Some(0) {
                let mut raw = [0u8; 16];
                let words = [20usize, 52, 56, 60]
                    .into_iter()
                    .flat_map(|at| array::<4>(&sb, at).unwrap_or_default());
                for (dst, b) in raw.iter_mut().zip(words) {
                    *dst = b;
                }
                let mut p = Probe::new(Kind::MdMember);
                p.uuid = uuid(&raw);
                p.version = Some("0.90.0".into());
                return Ok(Some(p));
            }
        }
    }
    Ok(None)
}

fn parse_v1(sb: &[u8], off: u64, version: &str) -> Option<Probe> {
    if le32(sb, 0)? != MAGIC || le32(sb, 4)? != 1 || le64(sb, 144)? != off / 512 {
        return None;
    }
    let mut p = Probe::new(Kind::MdMember);
    p.uuid = uuid(&array(sb, 16)?);
    p.label = c_label(sb.get(32..64)?);
    p.version = Some(version.into());
    Some(p)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    fn v1(at: u64, size: usize) -> Vec<u8> {
        let mut disk = vec![0u8; size];
        let o = at as usize;
        disk[o..o + 4].copy_from_slice(&MAGIC.to_le_bytes());
        disk[o + 4..o + 8].copy_from_slice(&1u32.to_le_bytes());
        for (i, b) in disk[o + 16..o + 32].iter_mut().enumerate() {
            *b = i as u8 + 1;
        }
        disk[o + 32..o + 41].copy_from_slice(b"host:root");
        disk[o + 72..o + 76].copy_from_slice(&5u32.to_le_bytes());
        disk[o + 144..o + 152].copy_from_slice(&(at / 512).to_le_bytes());
        disk
    }

    #[test]
    fn the_level_comes_from_the_superblock() {
        let disk = v1(4096, 1 << 20);
        let mut c = Cursor::new(disk.clone());
        let mut dev = Dev::new(&mut c, disk.len() as u64).unwrap();
        assert_eq!(level(&mut dev).unwrap(), Some(5));
        let blank = vec![0u8; 1 << 20];
        let mut c = Cursor::new(blank);
        let mut dev = Dev::new(&mut c, 1 << 20).unwrap();
        assert_eq!(level(&mut dev).unwrap(), None);
    }

    fn run(disk: &[u8]) -> Option<Probe> {
        let mut c = Cursor::new(disk.to_vec());
        let mut dev = Dev::new(&mut c, disk.len() as u64).unwrap();
        probe(&mut dev).unwrap()
    }

    #[test]
    fn version_1_2_member() {
        let p = run(&v1(4096, 1 << 20)).unwrap();
        assert_eq!(p.fstype, "linux_raid_member");
        assert_eq!(p.label.as_deref(), Some("host:root"));
        assert_eq!(
            p.uuid.as_deref(),
            Some("01020304-0506-0708-090a-0b0c0d0e0f10")
        );
        assert_eq!(p.version.as_deref(), Some("1.2"));
    }

    #[test]
    fn version_1_0_at_the_end_and_a_wrong_offset_is_refused() {
        let size = 1 << 20;
        let p = run(&v1(size as u64 - 0x2000, size)).unwrap();
        assert_eq!(p.version.as_deref(), Some("1.0"));
        let mut bad = v1(4096, size);
        bad[4096 + 144] = 9;
        assert!(run(&bad).is_none());
        assert!(run(&vec![0u8; size]).is_none());
    }
}
