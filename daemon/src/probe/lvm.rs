//! LVM2 physical volumes: the label in one of the first four 512-byte sectors.
//!
//! `struct label_header` (lvm2 `lib/label/label.h`): `id[8]` = `"LABELONE"`, `sector_xl`
//! (the sector it is in), `crc_xl` (over the rest of the sector from `offset_xl` on),
//! `offset_xl` (where the PV header starts, from the label), `type[8]` = `"LVM2 001"`. The
//! `struct pv_header` that follows holds the 32-character PV UUID and the device size. The
//! sector number and the checksum must both hold, as libblkid requires.

use super::bytes::{has, le32, le64, slice};
use super::crc::lvm_crc;
use super::dev::Dev;
use super::{Kind, Probe};
use std::io;

const SECTOR: usize = 512;
const ID: usize = 0;
const SECTOR_XL: usize = 8;
const CRC_XL: usize = 16;
const OFFSET_XL: usize = 20;
const TYPE: usize = 24;
const PV_UUID_LEN: usize = 32;

pub(super) fn probe(dev: &mut Dev<'_>) -> io::Result<Option<Probe>> {
    // libblkid looks at sector 1 (where LVM writes the label) first, then 0, 2 and 3, and
    // judges the first one whose type says LVM2.
    for sector in [1u64, 0, 2, 3] {
        let Some(off) = sector.checked_mul(SECTOR as u64) else {
            break;
        };
        let Some(label) = dev.read(off, SECTOR)? else {
            continue;
        };
        if has(&label, TYPE, b"LVM2 001") {
            return Ok(parse(&label, sector));
        }
    }
    Ok(None)
}

fn parse(label: &[u8], sector: u64) -> Option<Probe> {
    if !has(label, ID, b"LABELONE") || le64(label, SECTOR_XL)? != sector {
        return None;
    }
    if lvm_crc(label.get(OFFSET_XL..)?) != le32(label, CRC_XL)? {
        return None;
    }
    let pv_header = usize::try_from(le32(label, OFFSET_XL)?).ok()?;
    let raw_uuid = slice(label, pv_header, PV_UUID_LEN)?;
    // LVM's own `id_valid`: IDs are made of letters, digits, '!' and '#' only.
    if !raw_uuid
        .iter()
        .all(|&c| c.is_ascii_alphanumeric() || c == b'!' || c == b'#')
    {
        return None;
    }
    let device_size = le64(label, pv_header.checked_add(PV_UUID_LEN)?)?;
    let mut probe = Probe::new(Kind::LvmPv);
    probe.uuid = Some(format_uuid(raw_uuid));
    probe.version = Some("LVM2 001".into());
    probe.size = Some(device_size).filter(|&s| s != 0);
    Some(probe)
}

/// LVM's UUID form: the 32 characters in groups of 6-4-4-4-4-4-6.
fn format_uuid(raw: &[u8]) -> String {
    let mut out = Vec::with_capacity(raw.len().saturating_add(6));
    for (i, &c) in raw.iter().enumerate() {
        if matches!(i, 6 | 10 | 14 | 18 | 22 | 26) {
            out.push(b'-');
        }
        out.push(c);
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuid_groups() {
        assert_eq!(
            format_uuid(b"abcdefghijklmnopqrstuvwxyz012345"),
            "abcdef-ghij-klmn-opqr-stuv-wxyz-012345"
        );
    }
}
