//! The LUKS1 and LUKS2 headers read for the host's fast unlock (issue 12): key slots,
//! digests and the one data segment, as typed, bounded values. This is the only parser of
//! the guest's LUKS metadata guestwright has, and it runs in the appliance: the host gets
//! numbers it checks again, never the header.
//!
//! Every number is checked here against the device's size and against fixed caps before
//! anything is read or allocated. What is not handled (tokens only, integrity, several
//! segments, reencryption, a cipher outside the list, an unknown KDF) is
//! [`LuksUnlockInfo::Unsupported`], and the host uses cryptsetup as before. This must never
//! panic on any input (see the `luks_header` fuzz target).

use guestwright_protocol::{
    Data, LuksDigest, LuksKdf, LuksKeyslot, LuksSegment, LuksUnlockInfo, LuksVolume,
    LUKS_MAX_AREA_BYTES,
};
use serde_json::{Map, Value};
use std::io;

/// LUKS2's binary header size; the JSON area follows it.
const BIN_LEN: usize = 4096;
/// The largest LUKS2 header (binary header and JSON area) cryptsetup writes.
const MAX_HDR: u64 = 4 << 20;
/// The segment ciphers the dm-crypt table may name (the kernel parses the string).
const CIPHERS: &[&str] = &[
    "aes-xts-plain64",
    "aes-xts-plain",
    "aes-cbc-essiv:sha256",
    "aes-cbc-plain64",
    "aes-cbc-plain",
];
/// Hashes the host's PBKDF2 and AF implement.
const HASHES: &[&str] = &["sha1", "sha256", "sha512"];

/// A parsed header: what the host gets, and where the key slot areas are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// 1 or 2.
    pub version: u16,
    /// The UUID as written in the header (for the device-mapper UUID).
    pub uuid: String,
    /// The key slots, their `area` empty, with the area's offset and length on the device.
    pub keyslots: Vec<(LuksKeyslot, u64, u64)>,
    /// The digests.
    pub digests: Vec<LuksDigest>,
    /// The data segment.
    pub segment: LuksSegment,
}

/// Why the fast path does not apply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsupported(pub String);

fn unsupported<T>(why: impl Into<String>) -> Result<T, Unsupported> {
    Err(Unsupported(why.into()))
}

/// Reads the header of a device of `size` bytes through `read(offset, len)` (never asked
/// for more than 4 MiB, nor past `size`).
pub fn parse(
    size: u64,
    read: &mut dyn FnMut(u64, usize) -> io::Result<Vec<u8>>,
) -> io::Result<Result<Header, Unsupported>> {
    if size < 592 {
        return Ok(unsupported("too small for a LUKS header"));
    }
    let head = read(0, 592)?;
    if head.get(..6) != Some(b"LUKS\xba\xbe".as_slice()) {
        return Ok(unsupported("no LUKS header at the start of the device"));
    }
    match u16::from_be_bytes([head[6], head[7]]) {
        1 => Ok(parse_luks1(size, &head)),
        2 => parse_luks2(size, read),
        v => Ok(unsupported(format!("LUKS version {v}"))),
    }
}

/// Reads the header and, within [`LUKS_MAX_AREA_BYTES`], the key slot areas.
pub fn unlock_info(
    size: u64,
    read: &mut dyn FnMut(u64, usize) -> io::Result<Vec<u8>>,
) -> io::Result<LuksUnlockInfo> {
    let header = match parse(size, read)? {
        Ok(h) => h,
        Err(Unsupported(why)) => return Ok(LuksUnlockInfo::Unsupported(why)),
    };
    let total: u64 = header.keyslots.iter().map(|(_, _, len)| *len).sum();
    if total > LUKS_MAX_AREA_BYTES as u64 {
        return Ok(LuksUnlockInfo::Unsupported(format!(
            "{total} bytes of key slot areas"
        )));
    }
    let mut keyslots = Vec::new();
    for (mut slot, offset, len) in header.keyslots {
        slot.area = Data(read(offset, len as usize)?);
        keyslots.push(slot);
    }
    Ok(LuksUnlockInfo::Supported(LuksVolume {
        version: header.version,
        keyslots,
        digests: header.digests,
        segment: header.segment,
    }))
}

fn be32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

fn be64(b: &[u8], at: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[at..at + 8]);
    u64::from_be_bytes(a)
}

/// A NUL-terminated string field.
fn cstr(b: &[u8]) -> String {
    let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
    String::from_utf8_lossy(&b[..end]).into_owned()
}

fn check_hash(hash: &str) -> Result<String, Unsupported> {
    let h = hash.to_ascii_lowercase();
    if HASHES.contains(&h.as_str()) {
        Ok(h)
    } else {
        unsupported(format!("hash {hash:?}"))
    }
}

fn check_cipher(cipher: &str) -> Result<String, Unsupported> {
    if CIPHERS.contains(&cipher) {
        Ok(cipher.to_string())
    } else {
        unsupported(format!("cipher {cipher:?}"))
    }
}

fn check_key_size(n: u64) -> Result<u32, Unsupported> {
    match n {
        16 | 32 | 64 => Ok(n as u32),
        _ => unsupported(format!("key size {n}")),
    }
}

/// Bytes of a key slot area: the split key, whole 512-byte sectors.
fn area_len(key_size: u32, stripes: u32) -> u64 {
    (u64::from(key_size) * u64::from(stripes)).div_ceil(512) * 512
}

/// An area of `len` bytes at `offset` must lie within the device, past `min`.
fn check_area(offset: u64, len: u64, min: u64, size: u64) -> Result<(), Unsupported> {
    match offset.checked_add(len) {
        Some(end) if offset >= min && end <= size && offset.is_multiple_of(512) => Ok(()),
        _ => unsupported(format!(
            "key slot area of {len} bytes at {offset} outside the device"
        )),
    }
}

fn parse_luks1(size: u64, h: &[u8]) -> Result<Header, Unsupported> {
    let cipher = format!("{}-{}", cstr(&h[8..40]), cstr(&h[40..72]));
    let cipher = check_cipher(&cipher)?;
    let hash = check_hash(&cstr(&h[72..104]))?;
    let payload = u64::from(be32(h, 104)) * 512;
    let key_size = check_key_size(u64::from(be32(h, 108)))?;
    let digest = LuksDigest {
        keyslots: (0..8).collect(),
        segments: vec![0],
        hash: hash.clone(),
        iterations: be32(h, 164),
        salt: Data(h[132..164].to_vec()),
        digest: Data(h[112..132].to_vec()),
    };
    if digest.iterations == 0 || payload < 4096 || payload >= size {
        return unsupported("LUKS1 digest iterations or payload offset");
    }
    let mut keyslots = Vec::new();
    for slot in 0..8u32 {
        let b = &h[208 + 48 * slot as usize..][..48];
        if be32(b, 0) != 0x00AC_71F3 {
            continue;
        }
        let iterations = be32(b, 4);
        let offset = u64::from(be32(b, 40)) * 512;
        let stripes = be32(b, 44);
        if iterations == 0 || stripes == 0 || stripes > 4000 {
            continue;
        }
        let len = area_len(key_size, stripes);
        check_area(offset, len, 592, payload.min(size))?;
        keyslots.push((
            LuksKeyslot {
                slot,
                key_size,
                kdf: LuksKdf::Pbkdf2 {
                    hash: hash.clone(),
                    iterations,
                    salt: Data(b[8..40].to_vec()),
                },
                af_stripes: stripes,
                af_hash: hash.clone(),
                area_cipher: cipher.clone(),
                area_key_size: key_size,
                area: Data::default(),
            },
            offset,
            len,
        ));
    }
    if keyslots.is_empty() {
        return unsupported("no active key slot");
    }
    Ok(Header {
        version: 1,
        uuid: cstr(&h[168..208]),
        keyslots,
        digests: vec![digest],
        segment: LuksSegment {
            offset: payload,
            size: None,
            iv_tweak: 0,
            cipher,
            sector_size: 512,
        },
    })
}

fn parse_luks2(
    size: u64,
    read: &mut dyn FnMut(u64, usize) -> io::Result<Vec<u8>>,
) -> io::Result<Result<Header, Unsupported>> {
    if size < BIN_LEN as u64 {
        return Ok(unsupported("too small for a LUKS2 header"));
    }
    let bin = read(0, BIN_LEN)?;
    let hdr_size = be64(&bin, 8);
    if !(16 << 10..=MAX_HDR).contains(&hdr_size) || !hdr_size.is_power_of_two() || hdr_size > size {
        return Ok(unsupported(format!("LUKS2 header size {hdr_size}")));
    }
    if be64(&bin, 256) != 0 {
        return Ok(unsupported("primary LUKS2 header not at offset 0"));
    }
    if cstr(&bin[72..104]) != "sha256" {
        return Ok(unsupported("LUKS2 checksum algorithm"));
    }
    let whole = read(0, hdr_size as usize)?;
    if !checksum_ok(&whole) {
        // cryptsetup then turns to the secondary header.
        return Ok(unsupported(
            "the primary LUKS2 header's checksum does not match",
        ));
    }
    let json = &whole[BIN_LEN..];
    let json = &json[..json.iter().position(|&c| c == 0).unwrap_or(json.len())];
    let uuid = cstr(&bin[168..208]);
    Ok(parse_json(size, hdr_size, json).map(|mut h| {
        h.uuid = uuid;
        h
    }))
}

/// SHA-256 of the header with its checksum field zeroed, against that field.
fn checksum_ok(whole: &[u8]) -> bool {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(&whole[..448]);
    h.update([0u8; 64]);
    h.update(&whole[512..]);
    let sum = h.finalize();
    whole[448..480] == sum[..]
}

fn obj<'a>(v: &'a Value, what: &str) -> Result<&'a Map<String, Value>, Unsupported> {
    v.as_object()
        .ok_or_else(|| Unsupported(format!("{what} is not a JSON object")))
}

fn field<'a>(o: &'a Map<String, Value>, key: &str) -> Result<&'a Value, Unsupported> {
    o.get(key)
        .ok_or_else(|| Unsupported(format!("no {key:?} in the LUKS2 metadata")))
}

fn string<'a>(o: &'a Map<String, Value>, key: &str) -> Result<&'a str, Unsupported> {
    field(o, key)?
        .as_str()
        .ok_or_else(|| Unsupported(format!("{key:?} is not a string")))
}

/// A number written as JSON number.
fn num(o: &Map<String, Value>, key: &str) -> Result<u64, Unsupported> {
    field(o, key)?
        .as_u64()
        .ok_or_else(|| Unsupported(format!("{key:?} is not a number")))
}

/// A 64-bit number written as a decimal string, as LUKS2 writes offsets and sizes.
fn num_str(o: &Map<String, Value>, key: &str) -> Result<u64, Unsupported> {
    let s = string(o, key)?;
    if s.is_empty() || s.len() > 20 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return unsupported(format!("{key:?} is not a decimal number"));
    }
    s.parse()
        .or_else(|_| unsupported(format!("{key:?} is out of range")))
}

fn u32_of(n: u64, what: &str) -> Result<u32, Unsupported> {
    u32::try_from(n).or_else(|_| unsupported(format!("{what} {n} is out of range")))
}

fn b64(o: &Map<String, Value>, key: &str, max: usize) -> Result<Data, Unsupported> {
    let s = string(o, key)?;
    match base64_decode(s.as_bytes()) {
        Some(b) if !b.is_empty() && b.len() <= max => Ok(Data(b)),
        _ => unsupported(format!("{key:?} is not base64 of 1 to {max} bytes")),
    }
}

/// A JSON array of decimal strings (slot or segment numbers).
fn ids(o: &Map<String, Value>, key: &str) -> Result<Vec<u32>, Unsupported> {
    let a = field(o, key)?
        .as_array()
        .ok_or_else(|| Unsupported(format!("{key:?} is not an array")))?;
    a.iter()
        .map(|v| match v.as_str().map(str::parse::<u32>) {
            Some(Ok(n)) if n < 32 => Ok(n),
            _ => unsupported(format!("{key:?} holds something other than a number")),
        })
        .collect()
}

fn parse_json(size: u64, hdr_size: u64, json: &[u8]) -> Result<Header, Unsupported> {
    let root: Value = serde_json::from_slice(json)
        .or_else(|e| unsupported(format!("the LUKS2 metadata is not JSON: {e}")))?;
    let root = obj(&root, "the LUKS2 metadata")?;
    if let Some(config) = root.get("config") {
        let config = obj(config, "config")?;
        if let Some(req) = config.get("requirements") {
            let mandatory = obj(req, "requirements")?.get("mandatory");
            if mandatory
                .and_then(Value::as_array)
                .is_some_and(|a| !a.is_empty())
            {
                return unsupported("mandatory requirements (reencryption?)");
            }
        }
    }
    // The segment.
    let segments = obj(field(root, "segments")?, "segments")?;
    if segments.len() != 1 || !segments.contains_key("0") {
        return unsupported(format!("{} segments", segments.len()));
    }
    let seg = obj(&segments["0"], "segment 0")?;
    if string(seg, "type")? != "crypt" {
        return unsupported("a segment not of type crypt");
    }
    if seg.contains_key("integrity") {
        return unsupported("integrity");
    }
    if seg
        .get("flags")
        .and_then(Value::as_array)
        .is_some_and(|a| !a.is_empty())
    {
        return unsupported("segment flags");
    }
    let offset = num_str(seg, "offset")?;
    let seg_size = match string(seg, "size")? {
        "dynamic" => None,
        _ => Some(num_str(seg, "size")?),
    };
    let sector_size = u32_of(num(seg, "sector_size")?, "sector size")?;
    if ![512, 1024, 2048, 4096].contains(&sector_size) {
        return unsupported(format!("sector size {sector_size}"));
    }
    let iv_tweak = num_str(seg, "iv_tweak")?;
    if iv_tweak != 0 {
        return unsupported("iv_tweak");
    }
    let end = offset.checked_add(seg_size.unwrap_or(0));
    if offset < hdr_size
        || offset % u64::from(sector_size) != 0
        || seg_size.is_some_and(|s| s == 0 || s % u64::from(sector_size) != 0)
        || end.is_none_or(|e| e > size)
        || (seg_size.is_none() && offset >= size)
    {
        return unsupported("segment outside the device or misaligned");
    }
    let segment = LuksSegment {
        offset,
        size: seg_size,
        iv_tweak,
        cipher: check_cipher(string(seg, "encryption")?)?,
        sector_size,
    };
    // Digests.
    let mut digests = Vec::new();
    for (_, d) in obj(field(root, "digests")?, "digests")? {
        let d = obj(d, "digest")?;
        if string(d, "type")? != "pbkdf2" {
            return unsupported("a digest not of type pbkdf2");
        }
        digests.push(LuksDigest {
            keyslots: ids(d, "keyslots")?,
            segments: ids(d, "segments")?,
            hash: check_hash(string(d, "hash")?)?,
            iterations: u32_of(num(d, "iterations")?, "digest iterations")?,
            salt: b64(d, "salt", 64)?,
            digest: b64(d, "digest", 64)?,
        });
    }
    if digests.is_empty() {
        return unsupported("no digest");
    }
    // Key slots, high priority first; priority 0 (ignore) is never tried.
    let mut keyslots = Vec::new();
    for (id, k) in obj(field(root, "keyslots")?, "keyslots")? {
        let Ok(slot) = id.parse::<u32>() else {
            return unsupported("a key slot without a number");
        };
        let k = obj(k, "key slot")?;
        match string(k, "type")? {
            "luks2" => {}
            "reencrypt" => return unsupported("reencryption"),
            _ => continue,
        }
        let priority = k.get("priority").and_then(Value::as_u64).unwrap_or(1);
        if priority == 0 {
            continue;
        }
        let Ok(parsed) = keyslot(size, hdr_size, slot, k) else {
            continue;
        };
        keyslots.push((priority, parsed));
    }
    keyslots.sort_by_key(|(p, (k, _, _))| (std::cmp::Reverse(*p), k.slot));
    let keyslots: Vec<_> = keyslots.into_iter().map(|(_, k)| k).collect();
    if keyslots.is_empty() {
        return unsupported("no key slot the fast path handles");
    }
    Ok(Header {
        version: 2,
        uuid: String::new(),
        keyslots,
        digests,
        segment,
    })
}

fn keyslot(
    size: u64,
    hdr_size: u64,
    slot: u32,
    k: &Map<String, Value>,
) -> Result<(LuksKeyslot, u64, u64), Unsupported> {
    let key_size = check_key_size(num(k, "key_size")?)?;
    let af = obj(field(k, "af")?, "af")?;
    if string(af, "type")? != "luks1" {
        return unsupported("AF type");
    }
    let stripes = u32_of(num(af, "stripes")?, "stripes")?;
    if stripes == 0 || stripes > 4000 {
        return unsupported("stripes");
    }
    let af_hash = check_hash(string(af, "hash")?)?;
    let area = obj(field(k, "area")?, "area")?;
    if string(area, "type")? != "raw" {
        return unsupported("area type");
    }
    let area_cipher = string(area, "encryption")?.to_string();
    if area_cipher != "aes-xts-plain64" {
        return unsupported("area cipher");
    }
    let area_key_size = check_key_size(num(area, "key_size")?)?;
    let offset = num_str(area, "offset")?;
    let room = num_str(area, "size")?;
    let len = area_len(key_size, stripes);
    if room < len {
        return unsupported("area smaller than the split key");
    }
    check_area(offset, len, hdr_size * 2, size)?;
    let kdf = obj(field(k, "kdf")?, "kdf")?;
    let kdf = match string(kdf, "type")? {
        "pbkdf2" => LuksKdf::Pbkdf2 {
            hash: check_hash(string(kdf, "hash")?)?,
            iterations: u32_of(num(kdf, "iterations")?, "iterations")?,
            salt: b64(kdf, "salt", 64)?,
        },
        t @ ("argon2i" | "argon2id") => LuksKdf::Argon2 {
            id: t == "argon2id",
            time: u32_of(num(kdf, "time")?, "time")?,
            memory_kib: u32_of(num(kdf, "memory")?, "memory")?,
            cpus: u32_of(num(kdf, "cpus")?, "cpus")?,
            salt: b64(kdf, "salt", 64)?,
        },
        other => return unsupported(format!("KDF {other:?}")),
    };
    Ok((
        LuksKeyslot {
            slot,
            key_size,
            kdf,
            af_stripes: stripes,
            af_hash,
            area_cipher,
            area_key_size,
            area: Data::default(),
        },
        offset,
        len,
    ))
}

/// Standard base64 with padding (as json-c's writer in cryptsetup emits it); `None` for
/// anything else.
fn base64_decode(s: &[u8]) -> Option<Vec<u8>> {
    use base64ct::Encoding;
    base64ct::Base64::decode_vec(std::str::from_utf8(s).ok()?).ok()
}

#[cfg(test)]
#[path = "luksmeta_tests.rs"]
mod tests;
