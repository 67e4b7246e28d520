//! LUKS volumes opened with the key derived on the host (issue 12): the plaintext is the one
//! cryptsetup maps, for cryptsetup's default LUKS2 (argon2id), 4096-byte sectors and LUKS1;
//! a wrong passphrase fails as it always did; hostile headers end in an error or in the old
//! path, within a deadline, never in a hang or a host allocation of the guest's choosing.

use guestwright::prelude::*;
use guestwright::protocol::{ChecksumType, Errno, Secret};
use guestwright_tests::*;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

const KEY: &str = "fast path 12";
const WRONG: &str = "not the key";

fn checksum(h: &TestHandle, dev: &str) -> String {
    h.checksum_device(ChecksumType::Sha256, dev)
        .check("checksum_device")
}

/// Fills the opened volume `/dev/mapper/{map}` with a filesystem and a file, so that most of
/// its sectors are not zeros.
fn fill(h: &TestHandle, map: &str) {
    let dev = format!("/dev/mapper/{map}");
    h.mkfs("ext4", dev.as_str()).check("mkfs");
    h.mount(dev.as_str(), "/").check("mount");
    let data: Vec<u8> = (0..4u32 << 20)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    h.write_file("/data", data).check("write");
    h.umount_all().check("umount");
}

/// Opens `dev` through cryptsetup and then through the fast path, and compares the two
/// plaintexts; `fill_first` writes data through the cryptsetup mapping first.
fn same_plaintext_both_ways(h: &TestHandle, dev: &str, fill_first: bool) {
    h.run(args::CryptsetupOpen::new(dev, Secret::from(KEY), "slow"))
        .check("cryptsetup_open");
    if fill_first {
        fill(h, "slow");
    }
    let slow = checksum(h, "/dev/mapper/slow");
    h.cryptsetup_close("/dev/mapper/slow").check("close slow");
    h.luks_open_fast(&Device::from(dev), &Secret::from(KEY), "fast", false)
        .unwrap_or_else(|e| panic!("the fast path stood aside: {}", e.0));
    assert_eq!(checksum(h, "/dev/mapper/fast"), slow, "plaintexts differ");
    let listed = h.list_dm_devices().check("list_dm_devices");
    assert!(listed.iter().any(|d| d == "/dev/mapper/fast"), "{listed:?}");
    // Closed by cryptsetup, as any LUKS mapping.
    h.luks_close("/dev/mapper/fast").check("close fast");
}

fn blank(dir: &Path, name: &str, size: u64) -> std::path::PathBuf {
    let img = dir.join(name);
    std::fs::File::create(&img).unwrap().set_len(size).unwrap();
    img
}

/// `cryptsetup luksFormat` on the host, on a file (no device-mapper needed).
fn host_format(img: &Path, extra: &[&str]) -> bool {
    let key = img.with_extension("key");
    std::fs::write(&key, KEY).unwrap();
    let Ok(out) = Command::new("cryptsetup")
        .args(["-q", "luksFormat", "--key-file"])
        .arg(&key)
        .args(extra)
        .arg(img)
        .output()
    else {
        eprintln!("no cryptsetup on the host: skipped");
        return false;
    };
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    true
}

#[test]
fn the_fast_path_maps_the_plaintext_cryptsetup_maps() {
    let dir = tempfile::tempdir().unwrap();
    // cryptsetup's default LUKS2 (argon2id), made in the appliance as luks-format makes it.
    let a = blank(dir.path(), "a.img", 48 << 20);
    // 4096-byte encryption sectors, made on the host.
    let b = blank(dir.path(), "b.img", 48 << 20);
    let sector4k = host_format(
        &b,
        &[
            "--type=luks2",
            "--sector-size=4096",
            "--pbkdf=argon2id",
            "--pbkdf-memory=65536",
            "--pbkdf-force-iterations=4",
            "--pbkdf-parallel=1",
        ],
    );
    // LUKS1 as qemu-img writes it (the other guests of the tests).
    let plain = blank(dir.path(), "plain.img", 32 << 20);
    let c = dir.path().join("c.img");
    luks_encrypt(&plain, &c, KEY);
    let mut h = launch(&[
        (&a, DriveOptions::readwrite()),
        (&b, DriveOptions::readwrite()),
        (&c, DriveOptions::readwrite()),
    ]);
    h.luks_format("/dev/sda", Secret::from(KEY), 0)
        .check("luks_format");
    same_plaintext_both_ways(&h, "/dev/sda", true);
    if sector4k {
        same_plaintext_both_ways(&h, "/dev/sdb", true);
    }
    same_plaintext_both_ways(&h, "/dev/sdc", true);

    // luks_open and luks_open_ro take the fast path (the mapping is named as asked) and
    // a wrong passphrase fails as it did through cryptsetup.
    h.luks_open("/dev/sda", Secret::from(KEY), "again")
        .check("luks_open");
    h.luks_close("/dev/mapper/again").check("close");
    h.luks_open_ro("/dev/sdc", Secret::from(KEY), "ro")
        .check("luks_open_ro");
    assert!(
        h.blockdev_getro("/dev/mapper/ro").check("getro"),
        "luks_open_ro mapped read-write"
    );
    h.luks_close("/dev/mapper/ro").check("close");
    for dev in ["/dev/sda", "/dev/sdc"] {
        let e = h
            .luks_open(dev, Secret::from(WRONG), "w")
            .expect_err("a wrong key opened the volume");
        assert_eq!(e.errno(), Some(Errno::EACCES), "{e}");
        let text = guestwright::error::chain(&e);
        assert!(
            text.contains("No key available with this passphrase"),
            "{text}"
        );
        assert!(!text.contains(WRONG) && !text.contains(KEY), "{text}");
        assert!(h
            .luks_open_fast(&Device::from(dev), &Secret::from(WRONG), "w", false)
            .is_err());
    }
    h.shutdown().check("shutdown");
}

/// Rewrites the JSON area of the LUKS2 image `img` through `edit`, with a good checksum.
fn edit_json(img: &Path, edit: impl FnOnce(&mut serde_json::Value)) {
    use sha2::{Digest, Sha256};
    let mut bytes = std::fs::read(img).unwrap();
    let hdr = u64::from_be_bytes(bytes[8..16].try_into().unwrap()) as usize;
    let json = &bytes[4096..hdr];
    let json = &json[..json.iter().position(|&c| c == 0).unwrap()];
    let mut v: serde_json::Value = serde_json::from_slice(json).unwrap();
    edit(&mut v);
    let text = serde_json::to_vec(&v).unwrap();
    bytes[4096..hdr].fill(0);
    bytes[4096..4096 + text.len()].copy_from_slice(&text);
    bytes[448..512].fill(0);
    let sum = Sha256::digest(&bytes[..hdr]);
    bytes[448..480].copy_from_slice(&sum);
    std::fs::write(img, bytes).unwrap();
}

#[test]
fn hostile_luks_headers_end_in_an_error_or_the_old_path_never_a_hang() {
    let dir = tempfile::tempdir().unwrap();
    let base = blank(dir.path(), "base.img", 24 << 20);
    if !host_format(
        &base,
        &[
            "--type=luks2",
            "--pbkdf=argon2id",
            "--pbkdf-memory=1024",
            "--pbkdf-force-iterations=4",
            "--pbkdf-parallel=1",
        ],
    ) {
        return;
    }
    type Edit = fn(&mut serde_json::Value);
    // Absurd PBKDF2 iterations (2^32 - 1 in a key slot or the digest) are refused by the
    // fast path (unit tests in host/src/luks_tests.rs), but the old path it falls back to
    // would run them in the appliance for hours: not exercised here.
    let edits: [(&str, Edit); 3] = [
        ("argon2 4 GiB", |v| {
            v["keyslots"]["0"]["kdf"]["memory"] = 4194304.into();
        }),
        ("area past the end", |v| {
            v["keyslots"]["0"]["area"]["offset"] = "1099511627776".into();
        }),
        ("not an object", |v| *v = serde_json::json!([1, 2, 3])),
    ];
    let mut drives = Vec::new();
    for (i, (_, edit)) in edits.iter().enumerate() {
        let img = dir.path().join(format!("h{i}.img"));
        std::fs::copy(&base, &img).unwrap();
        edit_json(&img, *edit);
        drives.push(img);
    }
    // Truncated: the magic and no more.
    let short = dir.path().join("short.img");
    let mut head = std::fs::read(&base).unwrap();
    head.truncate(8192);
    head.resize(64 << 10, 0);
    std::fs::write(&short, &head).unwrap();
    drives.push(short);
    let opts: Vec<_> = drives
        .iter()
        .map(|d| (d.as_path(), DriveOptions::readonly()))
        .collect();
    let mut h = launch(&opts);
    for (i, name) in edits
        .iter()
        .map(|(n, _)| *n)
        .chain(["truncated"])
        .enumerate()
    {
        let dev = format!("/dev/sd{}", (b'a' + i as u8) as char);
        let t = Instant::now();
        let fast = h.luks_open_fast(&Device::from(dev.as_str()), &Secret::from(KEY), "x", true);
        assert!(
            fast.is_err(),
            "{name}: the fast path opened a hostile header"
        );
        assert!(
            t.elapsed() < Duration::from_secs(20),
            "{name}: {:?}",
            t.elapsed()
        );
        // The whole call (the old path after it) ends.
        let t = Instant::now();
        let r = h.luks_open(dev.as_str(), Secret::from(KEY), "x");
        eprintln!(
            "{name}: {:?} in {:?}",
            r.as_ref().map_err(|e| guestwright::error::chain(e)),
            t.elapsed()
        );
        if r.is_ok() {
            h.luks_close("/dev/mapper/x").check("close");
        }
        assert!(
            t.elapsed() < Duration::from_secs(120),
            "{name}: {:?}",
            t.elapsed()
        );
    }
    h.shutdown().check("shutdown");
}
