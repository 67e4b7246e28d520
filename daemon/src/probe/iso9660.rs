//! ISO 9660 (ECMA-119), with the Joliet label where there is one, and the old High Sierra
//! format.
//!
//! The volume descriptor set starts at 32 KiB, one 2048-byte descriptor per sector, and ends
//! with a terminator (type 255); at most 16 descriptors are read. Labels and the UUID follow
//! libblkid's `superblocks/iso9660.c`: the UUID is the modification (else creation) date
//! written as `YYYY-MM-DD-hh-mm-ss-cc`; the label is the Joliet volume identifier (UTF-16BE,
//! at most 16 characters) extended with the rest of the primary descriptor's (up to 32
//! characters) where the two agree, else the Joliet one, else the primary one.

use super::bytes::{c_label, has, le16, le32, slice, u8_at, utf16_label, Utf16};
use super::dev::Dev;
use super::{Fs, Kind, Probe};
use std::io;

const DESCRIPTORS: u64 = 32 * 1024;
const SECTOR: usize = 2048;
const MAX_DESCRIPTORS: u64 = 16;

// Volume descriptor types.
const VD_PRIMARY: u8 = 1;
const VD_SUPPLEMENTARY: u8 = 2;
const VD_TERMINATOR: u8 = 255;

// Primary and supplementary volume descriptor fields (ECMA-119 §8.4).
const VOLUME_ID: usize = 40; // a-characters (d-characters) [32]; UTF-16BE [32] in Joliet
const SPACE_SIZE: usize = 80; // both-endian u32: logical blocks in the volume
const ESCAPE_SEQUENCES: usize = 88; // Joliet: "%/@", "%/C" or "%/E"
const LOGICAL_BLOCK_SIZE: usize = 128; // both-endian u16
const CREATED: usize = 813; // 17-byte dates: 16 digits and a zone offset
const MODIFIED: usize = 830;
const ID_LEN: usize = 32;

// High Sierra: the same idea, 8 bytes further in.
const HS_MAGIC: usize = 9; // "CDROM"
const HS_VOLUME_ID: usize = 48;

pub(super) fn probe(dev: &mut Dev<'_>) -> io::Result<Option<Probe>> {
    let Some(first) = dev.read(DESCRIPTORS, SECTOR)? else {
        return Ok(None);
    };
    if has(&first, HS_MAGIC, b"CDROM") {
        let mut probe = Probe::new(Kind::Filesystem(Fs::Iso9660));
        probe.version = Some("High Sierra".into());
        probe.label = slice(&first, HS_VOLUME_ID, ID_LEN).and_then(c_label);
        probe.block_size = u32::try_from(SECTOR).ok();
        return Ok(Some(probe));
    }
    if !has(&first, 1, b"CD001") {
        return Ok(None);
    }
    let (mut primary, mut joliet) = (None, None);
    for i in 0..MAX_DESCRIPTORS {
        let Some(off) = (SECTOR as u64)
            .checked_mul(i)
            .and_then(|o| o.checked_add(DESCRIPTORS))
        else {
            break;
        };
        let Some(desc) = dev.read(off, SECTOR)? else {
            break;
        };
        match u8_at(&desc, 0) {
            Some(VD_TERMINATOR) | None => break,
            Some(VD_PRIMARY) if primary.is_none() => primary = Some(desc),
            Some(VD_SUPPLEMENTARY) if joliet.is_none() => {
                let escapes = slice(&desc, ESCAPE_SEQUENCES, 3);
                if matches!(escapes, Some(b"%/@" | b"%/C" | b"%/E")) {
                    joliet = Some(desc);
                }
            }
            Some(_) => {}
        }
        if primary.is_some() && joliet.is_some() {
            break;
        }
    }
    let Some(pvd) = primary else { return Ok(None) };
    let mut probe = Probe::new(Kind::Filesystem(Fs::Iso9660));
    let block = le16(&pvd, LOGICAL_BLOCK_SIZE).unwrap_or(0);
    probe.block_size = Some(u32::from(block)).filter(|b| b.is_power_of_two());
    probe.size = le32(&pvd, SPACE_SIZE).and_then(|n| u64::from(n).checked_mul(u64::from(block)));
    probe.uuid = date_uuid(&pvd, MODIFIED).or_else(|| date_uuid(&pvd, CREATED));
    let ascii = slice(&pvd, VOLUME_ID, ID_LEN).unwrap_or(&[]);
    probe.label = match &joliet {
        Some(j) => {
            probe.version = Some("Joliet Extension".into());
            let unicode = slice(j, VOLUME_ID, ID_LEN).unwrap_or(&[]);
            match merge_utf16be_ascii(unicode, ascii) {
                Some(merged) => utf16_label(&merged, Utf16::Be),
                None => utf16_label(unicode, Utf16::Be),
            }
        }
        None => c_label(ascii),
    };
    Ok(Some(probe))
}

/// A date field as a UUID, or `None` when the date is unset (all digits `'0'` and no zone
/// offset) or empty.
fn date_uuid(pvd: &[u8], at: usize) -> Option<String> {
    let date = slice(pvd, at, 17)?;
    let (digits, zone) = (date.get(..16)?, u8_at(date, 16)?);
    if digits.iter().all(|&d| d == b'0') && zone == 0 {
        return None;
    }
    // "%c%c%c%c-%c%c-%c%c-%c%c-%c%c-%c%c-%c%c", read as a C string.
    let mut text = Vec::with_capacity(22);
    for (i, &d) in digits.iter().enumerate() {
        if d == 0 {
            break;
        }
        if matches!(i, 4 | 6 | 8 | 10 | 12 | 14) {
            text.push(b'-');
        }
        text.push(d);
    }
    // A NUL first digit leaves nothing, which is no UUID either.
    (!text.is_empty()).then(|| String::from_utf8_lossy(&text).into_owned())
}

/// Joliet keeps 16 UTF-16 characters of the label, the primary descriptor 32 ASCII ones with
/// `_` for what ASCII cannot hold. When the Joliet label is a prefix of the ASCII one (case
/// and `_` aside), the original is the Joliet characters followed by the rest of the ASCII
/// ones; returns it in UTF-16BE. `None` when they disagree.
fn merge_utf16be_ascii(utf16: &[u8], ascii: &[u8]) -> Option<Vec<u8>> {
    let len = ascii.len().min(utf16.len());
    let mut out = Vec::with_capacity(len.saturating_mul(4));
    let (mut a, mut u) = (0usize, 0usize);
    while u.saturating_add(1) < len && a < len {
        let unit = |i: usize| u8_at(utf16, i).unwrap_or(0);
        // A surrogate pair: its first half goes through as is.
        if (0xD8..=0xDB).contains(&unit(u))
            && u.saturating_add(3) < len
            && (0xDC..=0xDF).contains(&unit(u.saturating_add(2)))
        {
            out.extend([unit(u), unit(u.saturating_add(1))]);
            u = u.saturating_add(2);
        }
        let (hi, lo) = (unit(u), unit(u.saturating_add(1)));
        let c = u8_at(ascii, a).unwrap_or(0);
        if c == b'_' {
            out.extend([hi, lo]);
        } else if hi == 0 && lo == b'_' {
            out.extend([0, c]);
        } else if hi == 0 && c.eq_ignore_ascii_case(&lo) {
            out.extend([0, if c.is_ascii_uppercase() { lo } else { c }]);
        } else {
            return None;
        }
        a = a.saturating_add(1);
        u = u.saturating_add(2);
    }
    for &c in ascii.get(a..).unwrap_or(&[]) {
        out.extend([0, c]);
    }
    (!out.is_empty()).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn be(s: &str) -> Vec<u8> {
        s.encode_utf16().flat_map(u16::to_be_bytes).collect()
    }

    #[test]
    fn joliet_and_primary_labels_merge() {
        let ascii = b"A_VERY_LONG_VOLUME_LABEL_32CHARS";
        let mut joliet = be("A_Very_Long_Volu");
        let merged = merge_utf16be_ascii(&joliet, ascii).unwrap();
        assert_eq!(
            utf16_label(&merged, Utf16::Be).unwrap(),
            "A_Very_Long_VoluME_LABEL_32CHARS"
        );
        // A character ASCII could not hold stays Joliet's.
        joliet = be("caf\u{e9}");
        joliet.resize(32, 0);
        let merged = merge_utf16be_ascii(&joliet, b"CAF_                            ");
        assert_eq!(
            merged, None,
            "NULs after the Joliet name do not match the spaces"
        );
        assert_eq!(merge_utf16be_ascii(&be("XYZ"), b"ABC"), None);
    }

    #[test]
    fn unset_dates_give_no_uuid() {
        let mut pvd = vec![0u8; SECTOR];
        pvd[MODIFIED..MODIFIED + 16].copy_from_slice(b"0000000000000000");
        pvd[CREATED..CREATED + 16].copy_from_slice(b"2024011512304599");
        assert_eq!(date_uuid(&pvd, MODIFIED), None);
        assert_eq!(date_uuid(&pvd, CREATED).unwrap(), "2024-01-15-12-30-45-99");
    }
}
