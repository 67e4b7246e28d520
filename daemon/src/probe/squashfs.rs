//! squashfs 4 (little-endian, the only version current kernels mount).
//!
//! `struct squashfs_super_block` (fs/squashfs/squashfs_fs.h): `s_magic` = `"hsqs"`, ...,
//! `block_size` at 12, `block_log` at 22, `s_major` at 28, `s_minor` at 30, `bytes_used` at
//! 40. As the kernel does, the block size must be a power of two from 4 KiB to 1 MiB that
//! agrees with `block_log`. squashfs has no label or UUID.

use super::bytes::{has, le16, le32, le64};
use super::dev::Dev;
use super::{Fs, Kind, Probe};
use std::io;

const BLOCK_SIZE: usize = 12;
const BLOCK_LOG: usize = 22;
const MAJOR: usize = 28;
const MINOR: usize = 30;
const BYTES_USED: usize = 40;

pub(super) fn probe(dev: &mut Dev<'_>) -> io::Result<Option<Probe>> {
    if !has(dev.head(), 0, b"hsqs") {
        return Ok(None);
    }
    let Some(sb) = dev.read(0, 96)? else {
        return Ok(None);
    };
    Ok(parse(&sb))
}

fn parse(sb: &[u8]) -> Option<Probe> {
    let (major, minor) = (le16(sb, MAJOR)?, le16(sb, MINOR)?);
    let block_size = le32(sb, BLOCK_SIZE)?;
    let block_log = le16(sb, BLOCK_LOG)?;
    if major != 4 || !block_size.is_power_of_two() || !(4096..=1 << 20).contains(&block_size) {
        return None;
    }
    if u32::from(block_log) != block_size.trailing_zeros() {
        return None;
    }
    let mut probe = Probe::new(Kind::Filesystem(Fs::Squashfs));
    probe.version = Some(format!("{major}.{minor}"));
    probe.block_size = Some(block_size);
    probe.size = le64(sb, BYTES_USED);
    Some(probe)
}
