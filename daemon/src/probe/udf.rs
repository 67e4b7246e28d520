//! UDF (ECMA-167 / OSTA UDF), following libblkid's `superblocks/udf.c`.
//!
//! A volume recognition sequence from 32 KiB (`BEA01` ... `NSR02`/`NSR03` ... `TEA01`) says
//! UDF; the anchor volume descriptor pointer at block 256 says the block size (512 to 4096,
//! tried in turn) and where the main volume descriptor sequence is. From that sequence: the
//! label is the logical volume identifier of the Logical Volume Descriptor; the UUID comes from
//! the first 16 characters of the Primary Volume Descriptor's volume set identifier; the
//! version is the minimum UDF read revision of the Logical Volume Integrity Descriptor, else the
//! LVD's domain revision. Every descriptor read must carry its own location and a valid tag
//! checksum; the sequence walk is bounded.

use super::bytes::{le16, le32, slice, u8_at, utf16_label, Utf16};
use super::dev::Dev;
use super::{Fs, Kind, Probe};
use std::io;

const VRS_OFFSET: u64 = 32 * 1024;
const VRS_MAX: u64 = 64;
const BLOCK_SIZES: [u64; 4] = [512, 1024, 2048, 4096];
const ANCHOR_BLOCK: u64 = 256;
/// Descriptors of the main volume descriptor sequence read at most (ECMA-167 wants at least
/// 16 blocks for it; real ones hold a handful of descriptors).
const MAX_VDS: u64 = 256;
const DESCRIPTOR: usize = 512;

// Descriptor tag (ECMA-167 3/7.2).
const TAG_ID: usize = 0;
const TAG_CHECKSUM: usize = 4;
const TAG_LOCATION: usize = 12;
const TAG_LEN: usize = 16;
const TAG_PVD: u16 = 1;
const TAG_AVDP: u16 = 2;
const TAG_LVD: u16 = 6;
const TAG_TD: u16 = 8;
const TAG_LVID: u16 = 9;

// Anchor: the main VDS extent.
const AVDP_LENGTH: usize = 16;
const AVDP_LOCATION: usize = 20;
// Primary Volume Descriptor: dstring128 volume set identifier.
const PVD_VOLSET_ID: usize = 72;
// Logical Volume Descriptor.
const LVD_LOGVOL_ID: usize = 84; // dstring128
const LVD_DOMAIN_ID: usize = 217; // char[23]
const LVD_UDF_REV: usize = 240;
const LVD_NUM_PARTITION_MAPS: usize = 268;
const LVD_LVID_LENGTH: usize = 432;
const LVD_LVID_LOCATION: usize = 436;
// Logical Volume Integrity Descriptor and its implementation use.
const LVID_NUM_PARTITIONS: usize = 72;
const LVID_IMP_USE_LENGTH: usize = 76;
const LVID_TABLES: u64 = 80;
const LVIDIU_LEN: usize = 46;
const LVIDIU_MIN_READ_REV: usize = 40;

pub(super) fn probe(dev: &mut Dev<'_>) -> io::Result<Option<Probe>> {
    let Some(first) = dev.read(VRS_OFFSET, 8)? else {
        return Ok(None);
    };
    let known = [
        &b"BEA01"[..],
        b"BOOT2",
        b"CD001",
        b"CDW02",
        b"NSR02",
        b"NSR03",
        b"TEA01",
    ];
    if !known.iter().any(|m| slice(&first, 1, 5) == Some(*m)) {
        return Ok(None);
    }
    let mut nsr_2048 = None;
    for bs in BLOCK_SIZES {
        // Recognition descriptors are 2048 bytes, or a block when blocks are larger.
        let vsd_len = bs.max(2048);
        let nsr = match (vsd_len, nsr_2048) {
            (2048, Some(found)) => found,
            _ => {
                let found = has_nsr(dev, vsd_len)?;
                if vsd_len == 2048 {
                    nsr_2048 = Some(found);
                }
                found
            }
        };
        if !nsr {
            continue;
        }
        let Some(anchor) = read_descriptor(dev, bs, ANCHOR_BLOCK)? else {
            continue;
        };
        if le16(&anchor, TAG_ID) == Some(TAG_AVDP) {
            return volume(dev, bs, &anchor);
        }
    }
    Ok(None)
}

/// Whether the recognition sequence holds an `NSR02`/`NSR03` descriptor.
fn has_nsr(dev: &mut Dev<'_>, vsd_len: u64) -> io::Result<bool> {
    for b in 0..VRS_MAX {
        let Some(off) = b
            .checked_mul(vsd_len)
            .and_then(|o| o.checked_add(VRS_OFFSET))
        else {
            break;
        };
        let Some(vsd) = dev.read(off, 8)? else { break };
        match slice(&vsd, 1, 5) {
            Some(b"NSR02" | b"NSR03") => return Ok(true),
            Some(b"BEA01" | b"BOOT2" | b"CD001" | b"CDW02" | b"TEA01") => {}
            _ => break,
        }
    }
    Ok(false)
}

/// The descriptor in block `block`, if its tag says it is there and its checksum holds.
fn read_descriptor(dev: &mut Dev<'_>, bs: u64, block: u64) -> io::Result<Option<Vec<u8>>> {
    let Some(off) = block.checked_mul(bs) else {
        return Ok(None);
    };
    let Some(d) = dev.read(off, DESCRIPTOR)? else {
        return Ok(None);
    };
    // TagChecksum: the sum of the tag's other 15 bytes, modulo 256.
    let sum = d
        .get(..TAG_LEN)
        .unwrap_or(&[])
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != TAG_CHECKSUM)
        .fold(0u8, |s, (_, &b)| s.wrapping_add(b));
    let located = le32(&d, TAG_LOCATION).map(u64::from) == Some(block);
    Ok((located && u8_at(&d, TAG_CHECKSUM) == Some(sum)).then_some(d))
}

fn volume(dev: &mut Dev<'_>, bs: u64, anchor: &[u8]) -> io::Result<Option<Probe>> {
    let (Some(length), Some(location)) = (le32(anchor, AVDP_LENGTH), le32(anchor, AVDP_LOCATION))
    else {
        return Ok(None);
    };
    let count = u64::from(length).checked_div(bs).unwrap_or(0).min(MAX_VDS);
    let mut probe = Probe::new(Kind::Filesystem(Fs::Udf));
    probe.block_size = u32::try_from(bs).ok();
    let (mut lvid, mut udf_rev) = (None, 0u16);
    for b in 0..count {
        let Some(block) = u64::from(location).checked_add(b) else {
            break;
        };
        let Some(d) = read_descriptor(dev, bs, block)? else {
            break;
        };
        match le16(&d, TAG_ID).unwrap_or(0) {
            0 | TAG_TD => break,
            TAG_PVD if probe.uuid.is_none() => {
                probe.uuid = slice(&d, PVD_VOLSET_ID, 128).and_then(volset_uuid)
            }
            TAG_LVD => {
                if lvid.is_none() && le32(&d, LVD_NUM_PARTITION_MAPS).unwrap_or(0) != 0 {
                    let (len, loc) = (
                        le32(&d, LVD_LVID_LENGTH).unwrap_or(0),
                        le32(&d, LVD_LVID_LOCATION).unwrap_or(0),
                    );
                    lvid = (len as usize >= DESCRIPTOR && loc != 0).then_some(loc);
                }
                if udf_rev == 0 && slice(&d, LVD_DOMAIN_ID, 19) == Some(b"*OSTA UDF Compliant") {
                    udf_rev = le16(&d, LVD_UDF_REV).unwrap_or(0);
                }
                if probe.label.is_none() {
                    probe.label = slice(&d, LVD_LOGVOL_ID, 128).and_then(dstring);
                }
            }
            _ => {}
        }
    }
    if let Some(rev) = lvid_read_revision(dev, bs, lvid)?.filter(|&r| r != 0) {
        udf_rev = rev;
    }
    if udf_rev != 0 {
        probe.version = Some(format!("{}.{:02}", udf_rev >> 8, udf_rev & 0xFF));
    }
    Ok(Some(probe))
}

/// The minimum UDF read revision from the integrity descriptor's implementation use area.
fn lvid_read_revision(dev: &mut Dev<'_>, bs: u64, lvid: Option<u32>) -> io::Result<Option<u16>> {
    let Some(loc) = lvid else { return Ok(None) };
    let Some(d) = read_descriptor(dev, bs, u64::from(loc))? else {
        return Ok(None);
    };
    if le16(&d, TAG_ID) != Some(TAG_LVID)
        || u64::from(le32(&d, LVID_IMP_USE_LENGTH).unwrap_or(0)) < LVIDIU_LEN as u64
    {
        return Ok(None);
    }
    // The implementation use area follows two tables of one u32 per partition.
    let tables = u64::from(le32(&d, LVID_NUM_PARTITIONS).unwrap_or(0)).checked_mul(8);
    let off = tables
        .and_then(|t| t.checked_add(LVID_TABLES))
        .and_then(|t| t.checked_add(u64::from(loc).checked_mul(bs)?));
    let Some(off) = off else { return Ok(None) };
    let Some(iu) = dev.read(off, LVIDIU_LEN)? else {
        return Ok(None);
    };
    Ok(le16(&iu, LVIDIU_MIN_READ_REV))
}

/// A `dstring` (ECMA-167 1/7.2.12): compression id (8 = Latin-1, 16 = UTF-16BE), characters,
/// and the used length in the last byte (counting the id).
fn dstring(raw: &[u8]) -> Option<String> {
    let (&cid, rest) = raw.split_first()?;
    let (&clen, chars) = rest.split_last()?;
    let used = usize::from(clen).saturating_sub(1).min(chars.len());
    let chars = chars.get(..used)?;
    match cid {
        8 => super::bytes::c_label(
            &chars
                .iter()
                .map(|&c| char::from(c))
                .collect::<String>()
                .into_bytes(),
        ),
        16 => utf16_label(chars, Utf16::Be),
        _ => None,
    }
}

/// libblkid's UUID from the volume set identifier: its first 16 UTF-8 bytes when all are hex
/// digits (lowercased); the first 8 when those are, followed by the next 4 bytes in hex; else
/// the first 8 bytes in hex. `None` when fewer than 8 bytes.
fn volset_uuid(raw: &[u8]) -> Option<String> {
    let text = dstring_raw(raw)?;
    let mut buf = Vec::with_capacity(16);
    for c in text.chars() {
        let mut utf8 = [0u8; 4];
        let bytes = c.encode_utf8(&mut utf8).as_bytes();
        if buf.len().saturating_add(bytes.len()) > 16 {
            break;
        }
        buf.extend_from_slice(bytes);
    }
    if buf.len() < 8 {
        return None;
    }
    let hex_run = buf.iter().take_while(|b| b.is_ascii_hexdigit()).count();
    let hex = |bytes: &[u8]| bytes.iter().map(|b| format!("{b:02x}")).collect::<String>();
    let lower = |bytes: &[u8]| String::from_utf8_lossy(bytes).to_ascii_lowercase();
    let padded = |n: usize| {
        let mut v = buf.clone();
        v.resize(n.max(v.len()), 0);
        v
    };
    Some(if hex_run < 8 {
        hex(padded(8).get(..8)?)
    } else if hex_run < 16 {
        format!("{}{}", lower(buf.get(..8)?), hex(padded(12).get(8..12)?))
    } else {
        lower(buf.get(..16)?)
    })
}

/// A dstring's characters decoded, stopping at the first NUL, not trimmed.
fn dstring_raw(raw: &[u8]) -> Option<String> {
    let (&cid, rest) = raw.split_first()?;
    let (&clen, chars) = rest.split_last()?;
    let chars = chars.get(..usize::from(clen).saturating_sub(1).min(chars.len()))?;
    let text: String = match cid {
        8 => chars.iter().map(|&c| char::from(c)).collect(),
        16 => char::decode_utf16(chars.chunks_exact(2).map(|p| {
            u16::from_be_bytes([
                p.first().copied().unwrap_or(0),
                p.get(1).copied().unwrap_or(0),
            ])
        }))
        .map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER))
        .collect(),
        _ => return None,
    };
    Some(text.split('\0').next().unwrap_or("").to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dstring128(cid: u8, chars: &[u8]) -> Vec<u8> {
        let mut d = vec![0u8; 128];
        d[0] = cid;
        d[1..1 + chars.len()].copy_from_slice(chars);
        d[127] = chars.len() as u8 + 1;
        d
    }

    #[test]
    fn uuid_from_volume_set_identifier() {
        assert_eq!(
            volset_uuid(&dstring128(8, b"6b015bb83f7f0191LinuxUDF")).unwrap(),
            "6b015bb83f7f0191"
        );
        assert_eq!(
            volset_uuid(&dstring128(8, b"6B015BB8zz7f0191")).unwrap(),
            "6b015bb87a7a3766"
        );
        assert_eq!(
            volset_uuid(&dstring128(8, b"xyz12345")).unwrap(),
            "78797a3132333435"
        );
        assert_eq!(volset_uuid(&dstring128(8, b"short")), None);
        assert_eq!(
            dstring(&dstring128(16, &[0, b'O', 0, b'K', 0, b' '])).as_deref(),
            Some("OK")
        );
    }
}
