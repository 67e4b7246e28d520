//! LUKS1 and LUKS2 containers.
//!
//! Both start with `magic[6]` = `"LUKS\xba\xbe"` and a big-endian `version`. LUKS1's
//! `struct luks_phdr` keeps the UUID as text at 168. LUKS2's binary header (`struct
//! luks2_hdr_disk` in cryptsetup) keeps `label[48]` at 24, `uuid[40]` at 168 and its own
//! offset `hdr_offset` at 256, which must match where it was found. When the primary header
//! is gone, LUKS2 keeps a secondary one (magic `"SKUL\xba\xbe"`) at one of a few fixed
//! offsets; like libblkid, those are tried too.

use super::bytes::{be16, be64, c_label, has, slice};
use super::dev::Dev;
use super::{Kind, Probe};
use std::io;

const MAGIC_PRIMARY: &[u8] = b"LUKS\xba\xbe";
const MAGIC_SECONDARY: &[u8] = b"SKUL\xba\xbe";
const VERSION: usize = 6;
const LUKS2_LABEL: usize = 24;
const LUKS2_LABEL_LEN: usize = 48;
const UUID: usize = 168;
const UUID_LEN: usize = 40;
const LUKS2_HDR_OFFSET: usize = 256;
/// The binary header (LUKS2 is 4096 bytes with padding; everything used is in the first 512).
const HEADER_LEN: usize = 512;
/// Where LUKS2 may put its secondary header (cryptsetup's `LUKS2_HDR2_OFFSETS`).
const SECONDARY_OFFSETS: [u64; 9] = [
    0x4000, 0x8000, 0x10000, 0x20000, 0x40000, 0x80000, 0x100000, 0x200000, 0x400000,
];

pub(super) fn probe(dev: &mut Dev<'_>) -> io::Result<Option<Probe>> {
    if has(dev.head(), 0, MAGIC_PRIMARY) {
        let Some(header) = dev.read(0, HEADER_LEN)? else {
            return Ok(None);
        };
        return Ok(parse(&header, 0));
    }
    for offset in SECONDARY_OFFSETS {
        let Some(header) = dev.read(offset, HEADER_LEN)? else {
            return Ok(None);
        };
        if has(&header, 0, MAGIC_SECONDARY) {
            if let Some(found) =
                parse(&header, offset).filter(|p| p.version.as_deref() == Some("2"))
            {
                return Ok(Some(found));
            }
        }
    }
    Ok(None)
}

fn parse(header: &[u8], offset: u64) -> Option<Probe> {
    let version = be16(header, VERSION)?;
    let mut probe = Probe::new(Kind::Luks);
    match version {
        1 => {}
        2 => {
            if be64(header, LUKS2_HDR_OFFSET)? != offset {
                return None;
            }
            probe.label = c_label(slice(header, LUKS2_LABEL, LUKS2_LABEL_LEN)?);
        }
        _ => return None,
    }
    probe.uuid = c_label(slice(header, UUID, UUID_LEN)?);
    probe.version = Some(version.to_string());
    Some(probe)
}
