//! Linux swap areas: `SWAPSPACE2` (version 1, with label and UUID) or the ancient
//! `SWAP-SPACE`, in the last ten bytes of the first page, for any page size from 4 KiB to
//! 64 KiB.
//!
//! The version 1 header sits at 1024 bytes (`union swap_header` in include/linux/swap.h):
//! `version`, `last_page`, `nr_badpages`, `sws_uuid[16]`, `sws_volume[16]`, padding. Like
//! libblkid, the header must say version 1 (in either byte order) and have a last page, and
//! label and UUID are only believed when the padding words 32 and 33 are zero.

use super::bytes::{array, c_label, has, le32, slice, uuid};
use super::dev::Dev;
use super::{Kind, Probe};
use std::io;

const PAGE_SIZES: [u32; 5] = [4096, 8192, 16384, 32768, 65536];
/// blkid ignores swap signatures on devices smaller than ten 4 KiB pages.
const MIN_DEVICE: u64 = 10 * 4096;
/// TuxOnIce keeps a valid-looking swap header behind its own magic at offset 0.
const TUXONICE: &[u8] = b"\xed\xc3\x02\xe9\x98\x56\xe5\x0c";

const HEADER: usize = 1024;
const VERSION: usize = HEADER;
const LAST_PAGE: usize = HEADER + 4;
const UUID: usize = HEADER + 12;
const VOLUME: usize = HEADER + 28;
const PADDING_32: usize = HEADER + 44 + 32 * 4;
const PADDING_33: usize = PADDING_32 + 4;

pub(super) fn probe(dev: &mut Dev<'_>) -> io::Result<Option<Probe>> {
    if dev.size() < MIN_DEVICE {
        return Ok(None);
    }
    let head = dev.head();
    if has(head, 0, TUXONICE) {
        return Ok(None);
    }
    for page in PAGE_SIZES {
        let Some(magic_at) = usize::try_from(page).ok().and_then(|p| p.checked_sub(10)) else {
            continue;
        };
        if has(head, magic_at, b"SWAP-SPACE") {
            let mut probe = Probe::new(Kind::Swap);
            probe.version = Some("0".into());
            probe.block_size = Some(page);
            return Ok(Some(probe));
        }
        if has(head, magic_at, b"SWAPSPACE2") {
            return Ok(v1(head, page));
        }
    }
    Ok(None)
}

fn v1(head: &[u8], page: u32) -> Option<Probe> {
    // A header written on a machine of the other byte order reads as 1 << 24.
    let version = le32(head, VERSION)?;
    let swapped = match version {
        1 => false,
        0x0100_0000 => true,
        _ => return None,
    };
    let raw_last = le32(head, LAST_PAGE)?;
    let last_page = if swapped {
        raw_last.swap_bytes()
    } else {
        raw_last
    };
    if last_page == 0 {
        return None;
    }
    let mut probe = Probe::new(Kind::Swap);
    if le32(head, PADDING_32)? == 0 && le32(head, PADDING_33)? == 0 {
        probe.label = slice(head, VOLUME, 16).and_then(c_label);
        probe.uuid = array(head, UUID).and_then(|u| uuid(&u));
    }
    probe.version = Some("1".into());
    probe.block_size = Some(page);
    probe.size = u64::from(last_page)
        .checked_add(1)
        .and_then(|n| n.checked_mul(u64::from(page)));
    Some(probe)
}
