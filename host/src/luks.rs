//! Opening LUKS volumes with the key derivation done on the host (issue 12).
//!
//! cryptsetup in the appliance spends 5 to 7 s under TCG on an argon2id key slot that costs
//! 0.3 s here, besides its own copy out of the extras disk and first run. So for
//! `luks_open` and `luks_open_ro`, the appliance parses the guest's header (`luks_keyslots`:
//! typed values and the encrypted key slot areas, never the header's bytes), and the host
//! derives the slot key, decrypts the area, merges the anti-forensic stripes and checks the
//! result against the header's digest, all in Rust (RustCrypto). Only then does the volume
//! key go to the appliance (`luks_open_volume_key`), which maps the volume from the segment
//! it parsed itself.
//!
//! No C parser touches guest metadata on the host, and every number the appliance sends is
//! checked against the limits below before any time or memory is spent on it. Anything
//! outside them, any header the appliance calls unsupported, a passphrase no slot takes, or
//! any failure of the two calls falls back to the old path (`luks_open` through cryptsetup
//! in the appliance), so users see exactly the results and errors they saw before. The
//! passphrase and the keys never reach a message or the log.

use crate::handle::Handle;
use guestwright_protocol::{args, CallStream, Client, Device, Request};
use guestwright_protocol::{Data, LuksKdf, LuksKeyslot, LuksUnlockInfo, LuksVolume, Secret};

/// Argon2 memory the host gives a key slot, at most (cryptsetup's own maximum is 4 GiB).
pub const MAX_ARGON2_KIB: u32 = 1 << 20;
/// Argon2 passes times memory, at most: 8 GiB-passes is a few seconds here, and far more
/// than cryptsetup's 2-second benchmark picks on a fast machine.
pub const MAX_ARGON2_WORK_KIB: u64 = 8 << 20;
/// Argon2 lanes, at most.
pub const MAX_ARGON2_LANES: u32 = 64;
/// PBKDF2 iterations, at most (cryptsetup's benchmark gives a few million on fast hosts).
pub const MAX_PBKDF2_ITERATIONS: u32 = 20_000_000;
/// The LUKS anti-forensic splitter's stripes, at most (cryptsetup always writes 4000).
pub const MAX_STRIPES: u32 = 4000;

/// Why the fast path stood aside (for the debug log; never holds a key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fallback(pub String);

fn fallback<T>(why: impl Into<String>) -> Result<T, Fallback> {
    Err(Fallback(why.into()))
}

/// Checks every number of `vol` against the limits above.
pub fn check_bounds(vol: &LuksVolume) -> Result<(), Fallback> {
    if vol.keyslots.is_empty() || vol.digests.is_empty() {
        return fallback("no key slot or no digest");
    }
    for k in &vol.keyslots {
        let s = k.slot;
        if ![16, 32, 64].contains(&k.key_size) {
            return fallback(format!("slot {s}: key size {}", k.key_size));
        }
        if k.area_cipher != "aes-xts-plain64" || ![32, 64].contains(&k.area_key_size) {
            return fallback(format!("slot {s}: area encryption"));
        }
        if k.af_stripes == 0 || k.af_stripes > MAX_STRIPES {
            return fallback(format!("slot {s}: {} stripes", k.af_stripes));
        }
        let want = (u64::from(k.key_size) * u64::from(k.af_stripes)).div_ceil(512) * 512;
        if k.area.0.len() as u64 != want {
            return fallback(format!("slot {s}: area of {} bytes", k.area.0.len()));
        }
        hash_len(&k.af_hash).ok_or_else(|| Fallback(format!("slot {s}: AF hash")))?;
        match &k.kdf {
            LuksKdf::Pbkdf2 {
                hash,
                iterations,
                salt,
            } => {
                hash_len(hash).ok_or_else(|| Fallback(format!("slot {s}: PBKDF2 hash")))?;
                if *iterations == 0 || *iterations > MAX_PBKDF2_ITERATIONS {
                    return fallback(format!("slot {s}: {iterations} PBKDF2 iterations"));
                }
                check_salt(salt, s)?;
            }
            LuksKdf::Argon2 {
                time,
                memory_kib,
                cpus,
                salt,
                ..
            } => {
                if *memory_kib > MAX_ARGON2_KIB
                    || *cpus == 0
                    || *cpus > MAX_ARGON2_LANES
                    || *memory_kib < 8 * cpus
                    || *time == 0
                    || u64::from(*time) * u64::from(*memory_kib) > MAX_ARGON2_WORK_KIB
                {
                    return fallback(format!(
                        "slot {s}: argon2 time {time}, memory {memory_kib} KiB, {cpus} lanes"
                    ));
                }
                check_salt(salt, s)?;
            }
        }
    }
    for d in &vol.digests {
        hash_len(&d.hash).ok_or_else(|| Fallback("digest hash".into()))?;
        if d.iterations == 0 || d.iterations > MAX_PBKDF2_ITERATIONS {
            return fallback(format!("{} digest iterations", d.iterations));
        }
        if d.salt.0.is_empty()
            || d.salt.0.len() > 64
            || d.digest.0.is_empty()
            || d.digest.0.len() > 64
        {
            return fallback("digest salt or size");
        }
    }
    Ok(())
}

fn check_salt(salt: &Data, slot: u32) -> Result<(), Fallback> {
    if salt.0.len() < 8 || salt.0.len() > 64 {
        return fallback(format!("slot {slot}: salt of {} bytes", salt.0.len()));
    }
    Ok(())
}

/// The output size of a hash the fast path knows.
fn hash_len(hash: &str) -> Option<usize> {
    match hash {
        "sha1" => Some(20),
        "sha256" => Some(32),
        "sha512" => Some(64),
        _ => None,
    }
}

fn pbkdf2(hash: &str, password: &[u8], salt: &[u8], iterations: u32, out: &mut [u8]) {
    match hash {
        "sha1" => pbkdf2::pbkdf2_hmac::<sha1::Sha1>(password, salt, iterations, out),
        "sha256" => pbkdf2::pbkdf2_hmac::<sha2::Sha256>(password, salt, iterations, out),
        "sha512" => pbkdf2::pbkdf2_hmac::<sha2::Sha512>(password, salt, iterations, out),
        _ => unreachable!("checked by check_bounds"),
    }
}

fn hash_of(hash: &str, parts: &[&[u8]]) -> Vec<u8> {
    use sha2::Digest;
    fn run<D: Digest>(parts: &[&[u8]]) -> Vec<u8> {
        let mut d = D::new();
        for p in parts {
            d.update(p);
        }
        d.finalize().to_vec()
    }
    match hash {
        "sha1" => run::<sha1::Sha1>(parts),
        "sha256" => run::<sha2::Sha256>(parts),
        "sha512" => run::<sha2::Sha512>(parts),
        _ => unreachable!("checked by check_bounds"),
    }
}

/// Key bytes wiped on drop.
struct Wiped(Vec<u8>);

impl Drop for Wiped {
    fn drop(&mut self) {
        self.0.fill(0);
        std::hint::black_box(&self.0);
    }
}

/// The key slot's area key from the passphrase.
fn derive(kdf: &LuksKdf, passphrase: &[u8], len: usize) -> Result<Wiped, Fallback> {
    let mut out = Wiped(vec![0u8; len]);
    match kdf {
        LuksKdf::Pbkdf2 {
            hash,
            iterations,
            salt,
        } => pbkdf2(hash, passphrase, &salt.0, *iterations, &mut out.0),
        LuksKdf::Argon2 {
            id,
            time,
            memory_kib,
            cpus,
            salt,
        } => {
            let params = argon2::Params::new(*memory_kib, *time, *cpus, Some(len))
                .or_else(|e| fallback(format!("argon2 parameters: {e}")))?;
            let algorithm = if *id {
                argon2::Algorithm::Argon2id
            } else {
                argon2::Algorithm::Argon2i
            };
            argon2::Argon2::new(algorithm, argon2::Version::V0x13, params)
                .hash_password_into(passphrase, &salt.0, &mut out.0)
                .or_else(|e| fallback(format!("argon2: {e}")))?;
        }
    }
    Ok(out)
}

/// Decrypts a key slot area in place: aes-xts-plain64, 512-byte sectors, the IV the sector's
/// index within the area.
fn decrypt_area(area: &mut [u8], key: &[u8]) {
    use aes::cipher::KeyInit;
    use xts_mode::{get_tweak_default, Xts128};
    let (k1, k2) = key.split_at(key.len() / 2);
    match key.len() {
        64 => {
            let x = Xts128::new(
                aes::Aes256::new_from_slice(k1).expect("32 bytes"),
                aes::Aes256::new_from_slice(k2).expect("32 bytes"),
            );
            x.decrypt_area(area, 512, 0, get_tweak_default);
        }
        32 => {
            let x = Xts128::new(
                aes::Aes128::new_from_slice(k1).expect("16 bytes"),
                aes::Aes128::new_from_slice(k2).expect("16 bytes"),
            );
            x.decrypt_area(area, 512, 0, get_tweak_default);
        }
        _ => unreachable!("checked by check_bounds"),
    }
}

/// LUKS's diffusion: each hash-sized block `i` becomes `H(be32(i) || block)`, cut to size.
fn diffuse(buf: &mut [u8], hash: &str) {
    let n = hash_len(hash).expect("checked by check_bounds");
    for (i, chunk) in buf.chunks_mut(n).enumerate() {
        let d = hash_of(hash, &[&(i as u32).to_be_bytes(), chunk]);
        let len = chunk.len();
        chunk.copy_from_slice(&d[..len]);
    }
}

/// Merges the anti-forensic stripes of `split` into the key of `key_size` bytes.
pub fn af_merge(split: &[u8], key_size: usize, stripes: usize, hash: &str) -> Vec<u8> {
    let mut buf = vec![0u8; key_size];
    for stripe in split.chunks_exact(key_size).take(stripes - 1) {
        buf.iter_mut().zip(stripe).for_each(|(a, b)| *a ^= b);
        diffuse(&mut buf, hash);
    }
    let last = &split[(stripes - 1) * key_size..stripes * key_size];
    buf.iter_mut().zip(last).for_each(|(a, b)| *a ^= b);
    buf
}

/// Whether `key` is the volume key the digests vouch for, for key slot `slot`.
fn digest_ok(vol: &LuksVolume, slot: u32, key: &[u8]) -> bool {
    vol.digests
        .iter()
        .filter(|d| d.keyslots.contains(&slot) && d.segments.contains(&0))
        .any(|d| {
            let mut out = Wiped(vec![0u8; d.digest.0.len()]);
            pbkdf2(&d.hash, key, &d.salt.0, d.iterations, &mut out.0);
            // Not secret: the expected digest is in the header.
            out.0 == d.digest.0
        })
}

/// Tries `passphrase` on one key slot: the volume key, or `None` when the slot does not
/// take it.
fn try_slot(
    vol: &LuksVolume,
    k: &LuksKeyslot,
    passphrase: &[u8],
) -> Result<Option<Secret>, Fallback> {
    let area_key = derive(&k.kdf, passphrase, k.area_key_size as usize)?;
    let mut area = Wiped(k.area.0.clone());
    decrypt_area(&mut area.0, &area_key.0);
    let key = Wiped(af_merge(
        &area.0,
        k.key_size as usize,
        k.af_stripes as usize,
        &k.af_hash,
    ));
    Ok(digest_ok(vol, k.slot, &key.0).then(|| Secret::new(key.0.clone())))
}

/// The volume key that `passphrase` unlocks, trying the slots in the order the appliance
/// gave them (cryptsetup's: high priority first); `Ok(None)` when no slot takes it.
pub fn unlock(vol: &LuksVolume, passphrase: &[u8]) -> Result<Option<Secret>, Fallback> {
    check_bounds(vol)?;
    for k in &vol.keyslots {
        if let Some(key) = try_slot(vol, k, passphrase)? {
            return Ok(Some(key));
        }
    }
    Ok(None)
}

/// What the appliance answered, as far as the fast path is concerned.
pub fn volume(info: LuksUnlockInfo) -> Result<LuksVolume, Fallback> {
    match info {
        LuksUnlockInfo::Supported(v) => Ok(v),
        LuksUnlockInfo::Unsupported(why) => fallback(why),
    }
}

impl Handle {
    /// Opens a `luks_open` or `luks_open_ro` request through the fast path when it applies;
    /// false when the request must go to the appliance as it is.
    pub(crate) fn luks_open_intercepted(&self, request: &Request) -> bool {
        let (device, key, mapname, readonly) = match request {
            Request::LuksOpen(a) => (&a.device, &a.key, &a.mapname, false),
            Request::LuksOpenRo(a) => (&a.device, &a.key, &a.mapname, true),
            _ => return false,
        };
        if std::env::var_os("GUESTWRIGHT_LUKS_FAST").is_some_and(|v| v == "0") {
            return false;
        }
        match self.luks_open_fast(device, key, mapname, readonly) {
            Ok(()) => {
                log::debug!("luks: opened {device} with the key derived on the host");
                true
            }
            Err(Fallback(why)) => {
                log::debug!(
                    "luks: {device}: cryptsetup in the appliance opens it: {}",
                    crate::error::escape_controls(&why)
                );
                false
            }
        }
    }

    /// The fast path alone (see the module's documentation): `Err` says why it does not
    /// apply, or that the passphrase opens no key slot, and nothing is mapped then. Callers
    /// use `luks_open`, which falls back to cryptsetup by itself; this is for tests.
    #[doc(hidden)]
    pub fn luks_open_fast(
        &self,
        device: &Device,
        key: &Secret,
        mapname: &str,
        readonly: bool,
    ) -> std::result::Result<(), Fallback> {
        let info = self
            .call_untraced(
                Request::LuksKeyslots(args::LuksKeyslots::new(device.clone())),
                CallStream::None,
            )
            .and_then(|bytes| self.decode_reply::<LuksUnlockInfo>(&bytes))
            .or_else(|e| fallback(format!("luks_keyslots: {e}")))?;
        let vol = volume(info)?;
        let Some(volume_key) = unlock(&vol, key.expose())? else {
            // cryptsetup says it in its own words.
            return fallback("no key slot takes this passphrase");
        };
        self.call_untraced(
            Request::LuksOpenVolumeKey(args::LuksOpenVolumeKey::new(
                device.clone(),
                volume_key,
                mapname.to_string(),
                readonly,
            )),
            CallStream::None,
        )
        .map(drop)
        .or_else(|e| fallback(format!("luks_open_volume_key: {e}")))
    }
}

#[cfg(test)]
#[path = "luks_tests.rs"]
mod tests;
