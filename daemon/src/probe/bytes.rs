//! Bounds-checked readers for on-disk structures, and the string and UUID formats blkid prints.
//!
//! Every reader returns `None` when the field would lie outside the buffer, so a parser written
//! with `?` stops at the first field a short or hostile buffer does not hold. Nothing here
//! indexes, slices or does arithmetic that can panic.

/// `len` bytes at `off`, or `None` when the buffer does not hold them.
pub(super) fn slice(b: &[u8], off: usize, len: usize) -> Option<&[u8]> {
    b.get(off..off.checked_add(len)?)
}

/// A fixed-size array at `off`.
pub(super) fn array<const N: usize>(b: &[u8], off: usize) -> Option<[u8; N]> {
    slice(b, off, N)?.try_into().ok()
}

pub(super) fn u8_at(b: &[u8], off: usize) -> Option<u8> {
    b.get(off).copied()
}

pub(super) fn le16(b: &[u8], off: usize) -> Option<u16> {
    array(b, off).map(u16::from_le_bytes)
}

pub(super) fn le32(b: &[u8], off: usize) -> Option<u32> {
    array(b, off).map(u32::from_le_bytes)
}

pub(super) fn le64(b: &[u8], off: usize) -> Option<u64> {
    array(b, off).map(u64::from_le_bytes)
}

pub(super) fn be16(b: &[u8], off: usize) -> Option<u16> {
    array(b, off).map(u16::from_be_bytes)
}

pub(super) fn be32(b: &[u8], off: usize) -> Option<u32> {
    array(b, off).map(u32::from_be_bytes)
}

pub(super) fn be64(b: &[u8], off: usize) -> Option<u64> {
    array(b, off).map(u64::from_be_bytes)
}

/// True when `b` holds `magic` at `off`.
pub(super) fn has(b: &[u8], off: usize, magic: &[u8]) -> bool {
    slice(b, off, magic.len()) == Some(magic)
}

/// `isspace()` in the C locale, which is what blkid trims with.
fn c_isspace(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\x0b' | '\x0c' | '\r')
}

fn trimmed(s: &str) -> Option<String> {
    let s = s.trim_end_matches(c_isspace);
    (!s.is_empty()).then(|| s.to_string())
}

/// A label stored as a fixed-size, NUL-padded byte string: everything up to the first NUL,
/// trailing white space trimmed (blkid's `blkid_probe_set_label`), invalid UTF-8 replaced.
/// `None` when nothing is left.
pub(super) fn c_label(raw: &[u8]) -> Option<String> {
    let end = raw.iter().position(|&c| c == 0).unwrap_or(raw.len());
    trimmed(&String::from_utf8_lossy(raw.get(..end)?))
}

/// Byte order of a UTF-16 label.
#[derive(Debug, Clone, Copy)]
pub(super) enum Utf16 {
    Le,
    Be,
}

/// A UTF-16 label (NTFS, exFAT, Joliet): decoded up to the first U+0000, unpaired surrogates
/// replaced, trailing white space trimmed (blkid's `blkid_probe_set_utf8label`).
pub(super) fn utf16_label(raw: &[u8], order: Utf16) -> Option<String> {
    let units = raw.chunks_exact(2).map(|p| match order {
        Utf16::Le => u16::from_le_bytes([
            p.first().copied().unwrap_or(0),
            p.get(1).copied().unwrap_or(0),
        ]),
        Utf16::Be => u16::from_be_bytes([
            p.first().copied().unwrap_or(0),
            p.get(1).copied().unwrap_or(0),
        ]),
    });
    let text: String = char::decode_utf16(units.take_while(|&u| u != 0))
        .map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER))
        .collect();
    trimmed(&text)
}

/// A 16-byte UUID in the usual lowercase 8-4-4-4-12 form; `None` when it is all zero, which
/// blkid treats as "no UUID".
pub(super) fn uuid(raw: &[u8; 16]) -> Option<String> {
    if raw.iter().all(|&b| b == 0) {
        return None;
    }
    let hex = |r: &[u8]| r.iter().map(|b| format!("{b:02x}")).collect::<String>();
    Some(format!(
        "{}-{}-{}-{}-{}",
        hex(raw.get(0..4)?),
        hex(raw.get(4..6)?),
        hex(raw.get(6..8)?),
        hex(raw.get(8..10)?),
        hex(raw.get(10..16)?)
    ))
}

/// A GUID as GPT stores it (the first three fields little-endian), printed like a UUID.
pub(super) fn guid(raw: &[u8; 16]) -> Option<String> {
    let mut b = *raw;
    b.get_mut(0..4)?.reverse();
    b.get_mut(4..6)?.reverse();
    b.get_mut(6..8)?.reverse();
    uuid(&b)
}

/// A 32-bit volume serial (FAT, exFAT) as blkid prints it: `XXXX-XXXX`, most significant byte
/// first; `None` when zero.
pub(super) fn serial32(raw: [u8; 4]) -> Option<String> {
    let [a, b, c, d] = raw;
    (raw != [0; 4]).then(|| format!("{d:02X}{c:02X}-{b:02X}{a:02X}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readers_stop_at_the_end() {
        let b = [1u8, 2, 3, 4];
        assert_eq!(le16(&b, 2), Some(0x0403));
        assert_eq!(le16(&b, 3), None);
        assert_eq!(be32(&b, 0), Some(0x0102_0304));
        assert_eq!(le64(&b, 0), None);
        assert_eq!(slice(&b, usize::MAX, 2), None);
        assert_eq!(slice(&b, 4, 0), Some(&[][..]));
        assert!(has(&b, 1, &[2, 3]));
        assert!(!has(&b, 3, &[4, 5]));
    }

    #[test]
    fn labels_trim_like_blkid() {
        assert_eq!(c_label(b"my label   \0\0junk").as_deref(), Some("my label"));
        assert_eq!(c_label(b"  lead\0"), Some("  lead".into()));
        assert_eq!(c_label(b"\0abc"), None);
        assert_eq!(c_label(b"    "), None);
        assert_eq!(c_label(b"caf\xe9").as_deref(), Some("caf\u{fffd}"));
        let le: Vec<u8> = "Ex Lab  "
            .encode_utf16()
            .flat_map(u16::to_le_bytes)
            .chain([0, 0, b'x', 0])
            .collect();
        assert_eq!(utf16_label(&le, Utf16::Le).as_deref(), Some("Ex Lab"));
        assert_eq!(
            utf16_label(&[0xd8, 0x00, 0, b'a'], Utf16::Be).as_deref(),
            Some("\u{fffd}a")
        );
        assert_eq!(utf16_label(&[0, 0, 0, b'a'], Utf16::Be), None);
    }

    #[test]
    fn uuid_forms() {
        let raw: [u8; 16] = core::array::from_fn(|i| i as u8);
        assert_eq!(uuid(&raw).unwrap(), "00010203-0405-0607-0809-0a0b0c0d0e0f");
        assert_eq!(guid(&raw).unwrap(), "03020100-0504-0706-0809-0a0b0c0d0e0f");
        assert_eq!(uuid(&[0; 16]), None);
        assert_eq!(serial32([0xcd, 0xab, 0x34, 0x12]).unwrap(), "1234-ABCD");
        assert_eq!(serial32([0; 4]), None);
    }
}
