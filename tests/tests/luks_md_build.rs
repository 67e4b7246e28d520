//! The operations that build encrypted and RAID guests inside the appliance (guestfish's
//! `luks-format`, `luks-add-key`, `luks-kill-slot`, `luks-uuid`) checked against the LUKS
//! header they write and the keys that open it afterwards; and a RAID 1 guest with one
//! member gone, which assembles read-only, is inspected, and is named in a warning.

use guestwright::prelude::*;
use guestwright::protocol::{Errno, Secret};
use guestwright_tests::*;
use std::process::Stdio;
use std::time::{Duration, Instant};

const KEY_A: &str = "first key 1";
const KEY_B: &str = "second:key:2";

/// The UUID the LUKS header on the host image says (LUKS1 and LUKS2 keep it at byte 168).
fn header_uuid(img: &std::path::Path) -> String {
    let bytes = std::fs::read(img).unwrap();
    assert_eq!(&bytes[..6], b"LUKS\xba\xbe", "no LUKS header");
    let raw = &bytes[168..208];
    String::from_utf8_lossy(&raw[..raw.iter().position(|&b| b == 0).unwrap_or(40)]).into_owned()
}

#[test]
fn luks_volumes_are_formatted_keyed_and_unkeyed_in_the_appliance() {
    let dir = tempfile::tempdir().unwrap();
    let img = dir.path().join("disk.img");
    std::fs::File::create(&img)
        .unwrap()
        .set_len(40 << 20)
        .unwrap();
    {
        let mut h = launch(&[(&img, DriveOptions::readwrite())]);
        h.luks_format_cipher("/dev/sda", Secret::from(KEY_A), 0, "aes-xts-plain64")
            .check("luks_format_cipher");
        let uuid = h.luks_uuid("/dev/sda").check("luks_uuid");
        assert_eq!(uuid.len(), 36, "{uuid}");

        // A second key in slot 3, given with the first.
        h.luks_add_key("/dev/sda", Secret::from(KEY_A), Secret::from(KEY_B), 3)
            .check("luks_add_key");
        h.luks_open("/dev/sda", Secret::from(KEY_B), "b")
            .check("open with the added key");
        h.mkfs("ext4", "/dev/mapper/b").check("mkfs");
        h.mount("/dev/mapper/b", "/").check("mount");
        h.write_file("/secret.txt", &b"inside\n"[..]).check("write");
        h.umount_all().check("umount");
        h.luks_close("/dev/mapper/b").check("close");

        // Slot 0 emptied with the other key: the first key opens nothing any more.
        h.luks_kill_slot("/dev/sda", Secret::from(KEY_B), 0)
            .check("luks_kill_slot");
        let e = h
            .luks_open("/dev/sda", Secret::from(KEY_A), "a")
            .expect_err("the removed key still opens the volume");
        // As for any wrong key (see inspect_luks).
        assert_eq!(e.errno(), Some(Errno::EACCES), "{e}");
        // A slot that does not exist, and a cipher that is an option, are refused.
        let e = h
            .luks_add_key("/dev/sda", Secret::from(KEY_B), Secret::from(KEY_A), 32)
            .expect_err("slot 32");
        assert_eq!(e.errno(), Some(Errno::EINVAL), "{e}");
        let e = h
            .luks_format_cipher("/dev/sda", Secret::from(KEY_A), 0, "--help")
            .expect_err("cipher --help");
        assert_eq!(e.errno(), Some(Errno::EINVAL), "{e}");

        h.luks_open("/dev/sda", Secret::from(KEY_B), "b")
            .check("open again");
        h.run(args::Mount::new("/dev/mapper/b", "/").readonly(true))
            .check("mount ro");
        assert_eq!(h.read_file("/secret.txt").check("read").0, b"inside\n");
        h.umount_all().check("umount");
        h.luks_close("/dev/mapper/b").check("close");
        h.shutdown().check("shutdown");
        assert_eq!(header_uuid(&img), uuid);
    }
    // cryptsetup's default format, as guestfish's luks-format: LUKS2, the cipher named.
    let bytes = std::fs::read(&img).unwrap();
    assert_eq!(&bytes[6..8], &[0, 2], "not LUKS2");
    let json = String::from_utf8_lossy(&bytes[4096..16384]);
    assert!(
        json.contains("\"encryption\":\"aes-xts-plain64\""),
        "{json}"
    );
    // Keys never land on the disk in the clear.
    for key in [KEY_A, KEY_B] {
        assert!(
            !bytes.windows(key.len()).any(|w| w == key.as_bytes()),
            "{key} is on the disk"
        );
    }
}

#[test]
fn a_raid1_missing_a_member_is_inspected_read_only_with_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let img = parity_guest(dir.path(), "debian-md-degraded").remove(0);
    let before = std::fs::read(&img).unwrap();

    let mut child = guestwright()
        .args(["inspect", "-a"])
        .arg(&img)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > Duration::from_secs(600) {
            let _ = child.kill();
            panic!("inspect did not finish in 600 s");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(
        stderr,
        "guestwright: warning: /dev/md127 is a degraded md array (1 of its 2 members present): \
         assembled read-only, so nothing is written to its disks; attach the missing members \
         to use it read-write\n"
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v[0]["root"], "/dev/md127", "{v:#}");
    assert_eq!(v[0]["distro"], "debian");
    assert_eq!(v[0]["hostname"], "raid-host");

    // Even on a writable drive the array stays read-only: nothing resyncs onto the disk.
    {
        let mut h = launch(&[(&img, DriveOptions::readwrite())]);
        assert_eq!(
            h.list_md_devices().check("list_md_devices"),
            [Device::from("/dev/md127")]
        );
        assert!(h.blockdev_getro("/dev/md127").check("getro"));
        h.run(args::Mount::new("/dev/md127", "/").readonly(true))
            .check("mount");
        assert_eq!(h.read_file("/etc/hostname").check("read").0, b"raid-host\n");
        h.umount_all().check("umount");
        h.shutdown().check("shutdown");
    }
    assert!(std::fs::read(&img).unwrap() == before, "the image changed");
}

/// Runs `guestwright ARGS` with a deadline.
fn gw(args: &[&str]) -> std::process::Output {
    let mut child = guestwright()
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > Duration::from_secs(600) {
            let _ = child.kill();
            panic!("guestwright {args:?} did not finish in 600 s");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    child.wait_with_output().unwrap()
}

#[test]
fn filesystems_and_df_open_luks_volumes_with_their_keys() {
    let dir = tempfile::tempdir().unwrap();
    let img = parity_guest(dir.path(), "debian-luks").remove(0);
    let img = img.to_str().unwrap();
    let uuid = luks_uuid(std::path::Path::new(img), 1 << 20);
    let mapped = format!("/dev/mapper/luks-{uuid}");
    let key = format!("--key=/dev/sda1:key:{PARITY_KEY}");

    let out = gw(&["filesystems", "--long", "--uuid", &key, "-a", img]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The filesystem inside, with its own size (statvfs), not the partition's.
    let row: Vec<&str> = stdout
        .lines()
        .find(|l| l.starts_with(&mapped))
        .unwrap_or_else(|| panic!("no {mapped} in:\n{stdout}"))
        .split_whitespace()
        .collect();
    assert_eq!(row[1..3], ["filesystem", "ext4"], "{stdout}");
    // Name Type VFS Label Size Parent UUID (no MBR column without partitions).
    assert_eq!(row.len(), 7, "{stdout}");
    assert_eq!(row[6], PARITY_ROOT_UUID, "{stdout}");
    let size: u64 = row[4].parse().unwrap();

    let out = gw(&["df", &key, "-a", img]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // virt-df's layout: a long name on a line of its own, the numbers below it. The name is
    // the guest's (the image's file name), then the device, as virt-df names every row.
    let lines: Vec<&str> = stdout.lines().collect();
    let named = format!("parity-debian-luks.img:{mapped}");
    let at = lines
        .iter()
        .position(|l| *l == named)
        .unwrap_or_else(|| panic!("no {named} in:\n{stdout}"));
    let nums: Vec<&str> = lines[at + 1].split_whitespace().collect();
    assert_eq!(nums[0].parse::<u64>().unwrap() * 1024, size, "{stdout}");
    assert_eq!(nums.len(), 4, "{stdout}");

    // Without the key: the volume is named, nothing inside is listed.
    let out = gw(&["df", "-a", img]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(
            "/dev/sda1 is LUKS-encrypted: give its key with --key /dev/sda1:key:PASSPHRASE or \
             --keys-from-stdin"
        ),
        "{stderr}"
    );
    assert!(!String::from_utf8_lossy(&out.stdout).contains("/dev/mapper"));
}
