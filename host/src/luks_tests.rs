//! The host's half of the LUKS unlock: against keys cryptsetup made (when the host has it),
//! against volumes made here, and against hostile numbers.

use super::*;
use guestwright_protocol::{LuksDigest, LuksSegment};

/// AF-splits `key` into `stripes` stripes (the inverse of [`af_merge`], as cryptsetup's
/// `AF_split`, with fixed "random" stripes).
fn af_split(key: &[u8], stripes: usize, hash: &str) -> Vec<u8> {
    let n = key.len();
    let mut out = Vec::new();
    let mut buf = vec![0u8; n];
    for i in 0..stripes - 1 {
        let stripe: Vec<u8> = (0..n).map(|j| (i * 7 + j * 13) as u8).collect();
        buf.iter_mut().zip(&stripe).for_each(|(a, b)| *a ^= b);
        diffuse(&mut buf, hash);
        out.extend_from_slice(&stripe);
    }
    out.extend(buf.iter().zip(key).map(|(a, b)| a ^ b));
    out.resize(out.len().div_ceil(512) * 512, 0);
    out
}

fn encrypt_area(area: &mut [u8], key: &[u8]) {
    use aes::cipher::KeyInit;
    use xts_mode::{get_tweak_default, Xts128};
    let (k1, k2) = key.split_at(32);
    Xts128::new(
        aes::Aes256::new_from_slice(k1).unwrap(),
        aes::Aes256::new_from_slice(k2).unwrap(),
    )
    .encrypt_area(area, 512, 0, get_tweak_default);
}

/// A one-slot volume holding `volume_key` under `passphrase`, with `kdf`.
fn volume_with(kdf: LuksKdf, passphrase: &[u8], volume_key: &[u8]) -> LuksVolume {
    let area_key = derive(&kdf, passphrase, 64).unwrap();
    let mut area = af_split(volume_key, 4000, "sha256");
    encrypt_area(&mut area, &area_key.0);
    let salt = vec![9u8; 32];
    let mut digest = vec![0u8; 32];
    pbkdf2("sha256", volume_key, &salt, 1000, &mut digest);
    LuksVolume {
        version: 2,
        keyslots: vec![LuksKeyslot {
            slot: 3,
            key_size: volume_key.len() as u32,
            kdf,
            af_stripes: 4000,
            af_hash: "sha256".into(),
            area_cipher: "aes-xts-plain64".into(),
            area_key_size: 64,
            area: Data(area),
        }],
        digests: vec![LuksDigest {
            keyslots: vec![3],
            segments: vec![0],
            hash: "sha256".into(),
            iterations: 1000,
            salt: Data(salt),
            digest: Data(digest),
        }],
        segment: LuksSegment {
            offset: 16 << 20,
            size: None,
            iv_tweak: 0,
            cipher: "aes-xts-plain64".into(),
            sector_size: 512,
        },
    }
}

fn argon2id(memory_kib: u32) -> LuksKdf {
    LuksKdf::Argon2 {
        id: true,
        time: 4,
        memory_kib,
        cpus: 1,
        salt: Data(vec![1u8; 32]),
    }
}

#[test]
fn the_right_passphrase_gives_the_volume_key_and_a_wrong_one_none() {
    let key: Vec<u8> = (0..64).collect();
    let vol = volume_with(argon2id(64), b"right", &key);
    assert_eq!(unlock(&vol, b"right").unwrap().unwrap().expose(), key);
    assert!(unlock(&vol, b"wrong").unwrap().is_none());
    let vol = volume_with(
        LuksKdf::Pbkdf2 {
            hash: "sha512".into(),
            iterations: 1000,
            salt: Data(vec![2; 32]),
        },
        b"right",
        &key[..32],
    );
    assert_eq!(
        unlock(&vol, b"right").unwrap().unwrap().expose(),
        &key[..32]
    );
}

#[test]
fn numbers_beyond_the_limits_fall_back_before_any_work() {
    let key = [7u8; 64];
    let mut vol = volume_with(argon2id(64), b"p", &key);
    // 4 GiB of argon2 memory: refused without allocating it.
    vol.keyslots[0].kdf = argon2id(4 << 20);
    let t = std::time::Instant::now();
    assert!(unlock(&vol, b"p").is_err());
    assert!(t.elapsed() < std::time::Duration::from_secs(1));
    vol.keyslots[0].kdf = LuksKdf::Argon2 {
        id: true,
        time: u32::MAX,
        memory_kib: 1 << 20,
        cpus: 1,
        salt: Data(vec![1; 32]),
    };
    assert!(unlock(&vol, b"p").is_err());
    vol.keyslots[0].kdf = LuksKdf::Pbkdf2 {
        hash: "sha256".into(),
        iterations: u32::MAX,
        salt: Data(vec![1; 32]),
    };
    assert!(unlock(&vol, b"p").is_err());
    let mut vol = volume_with(argon2id(64), b"p", &key);
    vol.keyslots[0].area.0.truncate(512);
    assert!(unlock(&vol, b"p").is_err());
    let mut vol = volume_with(argon2id(64), b"p", &key);
    vol.keyslots[0].af_hash = "md5".into();
    assert!(unlock(&vol, b"p").is_err());
    let mut vol = volume_with(argon2id(64), b"p", &key);
    vol.digests[0].iterations = u32::MAX;
    assert!(unlock(&vol, b"p").is_err());
}

/// A LUKS1 volume formatted by the host's cryptsetup, read with a test-only reader of
/// LUKS1's fixed offsets, unlocked here, against the key `luksDump` prints.
#[test]
fn the_volume_key_is_cryptsetups() {
    use std::process::Command;
    let dir = tempfile::tempdir().unwrap();
    let img = dir.path().join("v.img");
    std::fs::File::create(&img)
        .unwrap()
        .set_len(4 << 20)
        .unwrap();
    let pass = dir.path().join("pass");
    std::fs::write(&pass, "correct horse").unwrap();
    let Ok(out) = Command::new("cryptsetup")
        .args(["-q", "luksFormat", "--type=luks1", "--hash=sha256"])
        .args(["--pbkdf-force-iterations=1000", "--key-file"])
        .arg(&pass)
        .arg(&img)
        .output()
    else {
        return;
    };
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dump = Command::new("cryptsetup")
        .args(["-q", "luksDump", "--dump-volume-key", "--key-file"])
        .arg(&pass)
        .arg(&img)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&dump.stdout);
    let hex: String = text
        .split_once("MK dump:")
        .map(|(_, rest)| rest)
        .unwrap_or_default()
        .split_whitespace()
        .take_while(|w| w.len() == 2 && w.bytes().all(|b| b.is_ascii_hexdigit()))
        .collect();
    let want: Vec<u8> = (0..hex.len() / 2)
        .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap())
        .collect();
    assert_eq!(want.len(), 64, "{text}");
    let h = std::fs::read(&img).unwrap();
    let be32 = |at: usize| u32::from_be_bytes(h[at..at + 4].try_into().unwrap());
    let key_size = be32(108);
    let slot = &h[208..256];
    let sbe32 = |at: usize| u32::from_be_bytes(slot[at..at + 4].try_into().unwrap());
    let offset = sbe32(40) as usize * 512;
    let len = (key_size as usize * 4000).div_ceil(512) * 512;
    let vol = LuksVolume {
        version: 1,
        keyslots: vec![LuksKeyslot {
            slot: 0,
            key_size,
            kdf: LuksKdf::Pbkdf2 {
                hash: "sha256".into(),
                iterations: sbe32(4),
                salt: Data(slot[8..40].to_vec()),
            },
            af_stripes: sbe32(44),
            af_hash: "sha256".into(),
            area_cipher: "aes-xts-plain64".into(),
            area_key_size: key_size,
            area: Data(h[offset..offset + len].to_vec()),
        }],
        digests: vec![LuksDigest {
            keyslots: vec![0],
            segments: vec![0],
            hash: "sha256".into(),
            iterations: be32(164),
            salt: Data(h[132..164].to_vec()),
            digest: Data(h[112..132].to_vec()),
        }],
        segment: LuksSegment {
            offset: u64::from(be32(104)) * 512,
            size: None,
            iv_tweak: 0,
            cipher: "aes-xts-plain64".into(),
            sector_size: 512,
        },
    };
    assert_eq!(
        unlock(&vol, b"correct horse").unwrap().unwrap().expose(),
        want
    );
    assert!(unlock(&vol, b"correct horse!").unwrap().is_none());
}
