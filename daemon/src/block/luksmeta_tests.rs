//! The header parser on headers cryptsetup writes (when the host has it) and on hostile ones.

use super::*;
use std::process::Command;

fn reader(img: &[u8]) -> impl FnMut(u64, usize) -> io::Result<Vec<u8>> + '_ {
    move |offset, len| {
        let start = usize::try_from(offset).unwrap();
        assert!(len <= 4 << 20, "asked for {len} bytes");
        img.get(start..start + len)
            .map(<[u8]>::to_vec)
            .ok_or_else(|| io::Error::from(io::ErrorKind::UnexpectedEof))
    }
}

fn info(img: &[u8]) -> LuksUnlockInfo {
    unlock_info(img.len() as u64, &mut reader(img)).unwrap()
}

/// A LUKS volume formatted by the host's cryptsetup on a file (`None` without cryptsetup).
fn formatted(extra: &[&str]) -> Option<Vec<u8>> {
    let dir = tempfile::tempdir().unwrap();
    let img = dir.path().join("v.img");
    std::fs::File::create(&img)
        .unwrap()
        .set_len(20 << 20)
        .unwrap();
    let key = dir.path().join("key");
    std::fs::write(&key, "passphrase").unwrap();
    let out = Command::new("cryptsetup")
        .args(["-q", "luksFormat", "--key-file"])
        .arg(&key)
        .args(extra)
        .arg(&img)
        .output()
        .ok()?;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(std::fs::read(&img).unwrap())
}

#[test]
fn a_luks2_argon2id_header_from_cryptsetup_is_read() {
    let Some(img) = formatted(&[
        "--type=luks2",
        "--pbkdf=argon2id",
        "--pbkdf-memory=32",
        "--pbkdf-force-iterations=4",
        "--pbkdf-parallel=1",
    ]) else {
        return;
    };
    let LuksUnlockInfo::Supported(v) = info(&img) else {
        panic!("unsupported: {:?}", info(&img));
    };
    assert_eq!(v.version, 2);
    assert_eq!(v.keyslots.len(), 1);
    let k = &v.keyslots[0];
    assert_eq!((k.slot, k.key_size, k.af_stripes), (0, 64, 4000));
    assert_eq!(k.area.0.len(), 64 * 4000);
    match &k.kdf {
        LuksKdf::Argon2 {
            id,
            time,
            memory_kib,
            cpus,
            salt,
        } => {
            assert!(id);
            assert_eq!((*time, *memory_kib, *cpus, salt.0.len()), (4, 32, 1, 32));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(v.segment.offset, 16 << 20);
    assert_eq!(v.segment.size, None);
    assert_eq!(v.segment.cipher, "aes-xts-plain64");
    assert_eq!(v.digests[0].keyslots, vec![0]);
}

#[test]
fn a_luks1_pbkdf2_header_from_cryptsetup_is_read() {
    let Some(img) = formatted(&[
        "--type=luks1",
        "--pbkdf-force-iterations=1000",
        "--hash=sha256",
    ]) else {
        return;
    };
    let LuksUnlockInfo::Supported(v) = info(&img) else {
        panic!("unsupported: {:?}", info(&img));
    };
    assert_eq!(v.version, 1);
    assert_eq!(v.keyslots.len(), 1);
    assert!(
        matches!(&v.keyslots[0].kdf, LuksKdf::Pbkdf2 { iterations: 1000, hash, .. } if hash == "sha256")
    );
    assert_eq!(v.digests[0].digest.0.len(), 20);
}

/// Rewrites the JSON area of a LUKS2 image through `edit` and fixes the checksum.
fn edited(img: &[u8], edit: impl FnOnce(&mut Value)) -> Vec<u8> {
    use sha2::{Digest, Sha256};
    let mut img = img.to_vec();
    let hdr = be64(&img, 8) as usize;
    let json = &img[4096..hdr];
    let json = &json[..json.iter().position(|&c| c == 0).unwrap()];
    let mut v: Value = serde_json::from_slice(json).unwrap();
    edit(&mut v);
    let text = serde_json::to_vec(&v).unwrap();
    img[4096..hdr].fill(0);
    img[4096..4096 + text.len()].copy_from_slice(&text);
    img[448..512].fill(0);
    let sum = Sha256::digest(&img[..hdr]);
    img[448..480].copy_from_slice(&sum);
    img
}

fn unsupported_reason(img: &[u8]) -> String {
    match info(img) {
        LuksUnlockInfo::Unsupported(why) => why,
        other => panic!("supported: {other:?}"),
    }
}

#[test]
fn hostile_luks2_headers_are_unsupported_not_trusted() {
    let Some(img) = formatted(&[
        "--type=luks2",
        "--pbkdf=pbkdf2",
        "--pbkdf-force-iterations=1000",
    ]) else {
        return;
    };
    // Area past the end of the device.
    let bad = edited(&img, |v| {
        v["keyslots"]["0"]["area"]["offset"] = Value::from("99999999999");
    });
    assert!(
        unsupported_reason(&bad).contains("key slot"),
        "{}",
        unsupported_reason(&bad)
    );
    // Absurd iterations (more than 32 bits) and absurd argon2 memory are refused here or
    // bounded by the host.
    let bad = edited(&img, |v| {
        v["keyslots"]["0"]["kdf"]["iterations"] = Value::from(1u64 << 40);
    });
    unsupported_reason(&bad);
    // JSON that is not an object.
    let bad = edited(&img, |v| *v = Value::from(vec![1, 2, 3]));
    assert!(unsupported_reason(&bad).contains("not a JSON object"));
    // Two segments; integrity; a token-only volume.
    let bad = edited(&img, |v| {
        let s = v["segments"]["0"].clone();
        v["segments"]["1"] = s;
    });
    assert!(unsupported_reason(&bad).contains("segments"));
    let bad = edited(&img, |v| {
        v["segments"]["0"]["integrity"] = serde_json::json!({"type": "hmac(sha256)"});
    });
    assert!(unsupported_reason(&bad).contains("integrity"));
    let bad = edited(&img, |v| {
        v["keyslots"] = serde_json::json!({});
    });
    unsupported_reason(&bad);
    // A wrong checksum: cryptsetup would turn to the secondary header.
    let mut bad = img.clone();
    bad[5000] ^= 1;
    assert!(unsupported_reason(&bad).contains("checksum"));
    // Truncated: the header says it is longer than the device.
    let bad = &img[..8192];
    unsupported_reason(bad);
    let bad = &img[..300];
    unsupported_reason(bad);
    // A cipher the table must not carry.
    let bad = edited(&img, |v| {
        v["segments"]["0"]["encryption"] = Value::from("aes-xts-plain64 0 /dev/sda 0");
    });
    assert!(unsupported_reason(&bad).contains("cipher"));
}

#[test]
fn a_4gib_argon2_memory_is_passed_on_for_the_host_to_refuse() {
    let Some(img) = formatted(&[
        "--type=luks2",
        "--pbkdf=argon2id",
        "--pbkdf-memory=32",
        "--pbkdf-force-iterations=4",
    ]) else {
        return;
    };
    let bad = edited(&img, |v| {
        v["keyslots"]["0"]["kdf"]["memory"] = Value::from(4u64 << 20);
    });
    let LuksUnlockInfo::Supported(v) = info(&bad) else {
        panic!()
    };
    assert!(
        matches!(v.keyslots[0].kdf, LuksKdf::Argon2 { memory_kib, .. } if memory_kib == 4 << 20)
    );
}

#[test]
fn base64_is_strict() {
    assert_eq!(base64_decode(b"aGVsbG8="), Some(b"hello".to_vec()));
    assert_eq!(base64_decode(b"aGVsbA=="), Some(b"hell".to_vec()));
    assert_eq!(base64_decode(b"aGVs"), Some(b"hel".to_vec()));
    assert_eq!(base64_decode(b"aGV"), None);
    assert_eq!(base64_decode(b"a=Vs"), None);
    assert_eq!(base64_decode(b"aG=sbG8="), None);
    // Non-zero bits after the last byte: another encoder's output, not cryptsetup's.
    assert_eq!(base64_decode(b"aGVsbB=="), None);
}

#[test]
fn garbage_never_panics() {
    let mut img = vec![0u8; 64 << 10];
    img[..6].copy_from_slice(b"LUKS\xba\xbe");
    for version in [0u8, 1, 2, 3] {
        img[7] = version;
        let _ = info(&img);
    }
}
