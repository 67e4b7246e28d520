//! Inspection of encrypted guests and of disks without an operating system, through the CLI
//! as users run it: keys by device, by LUKS UUID, by `all`, from a file and from standard
//! input; a wrong key and a missing key fail with a message naming the device; keys never
//! appear in messages, `-v` output or any process's command line; LVM inside LUKS is
//! activated and inspected; a disk with nothing readable on it fails, saying so.

use guestwright::inspect::{self, keys};
use guestwright::prelude::*;
use guestwright_tests::*;
use std::io::Write;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const PASS: &str = "correct horse 7:battery";
const WRONG: &str = "NotThePassphrase7";

/// Runs `guestwright ARGS` with `input` on stdin, killing it after a deadline. While it runs,
/// every process's command line is read again and again: none may hold `secret`.
fn gw(args: &[&str], input: Option<&str>, secret: &str) -> Output {
    let mut child = guestwright()
        .args(args)
        .stdin(if input.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn guestwright");
    if let Some(text) = input {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
    }
    let pid = child.id();
    let start = Instant::now();
    let mut seen = 0;
    // Give the process time to parse its arguments and scrub them.
    std::thread::sleep(Duration::from_millis(300));
    while child.try_wait().unwrap().is_none() {
        assert!(
            start.elapsed() < Duration::from_secs(600),
            "guestwright {args:?} did not finish"
        );
        for entry in std::fs::read_dir("/proc").unwrap().flatten() {
            if let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) {
                let shown = String::from_utf8_lossy(&cmdline).replace('\0', " ");
                assert!(
                    !shown.contains(secret),
                    "a command line holds the key (pid {}, ours {pid}): {shown}",
                    entry.file_name().to_string_lossy()
                );
                seen += 1;
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    // A run long enough to launch the appliance was watched.
    assert!(seen > 0 || start.elapsed() < Duration::from_secs(2));
    let out = child.wait_with_output().unwrap();
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!all.contains(secret), "the output holds the key:\n{all}");
    out
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The fields of the one OS of `inspect`'s JSON that LUKS changes, and those it must not.
fn summary(out: &Output) -> Vec<String> {
    assert!(
        out.status.success(),
        "inspect failed: {:?}\n{}",
        out.status,
        stderr(out)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let list = v.as_array().expect("a list");
    assert_eq!(list.len(), 1, "{v:#}");
    let os = &list[0];
    let mut s = vec![
        os["root"].as_str().unwrap().to_string(),
        os["distro"].as_str().unwrap().to_string(),
        os["major_version"].to_string(),
        os["hostname"].as_str().unwrap().to_string(),
        os["package_format"].as_str().unwrap().to_string(),
    ];
    for m in os["mountpoints"].as_array().unwrap() {
        s.push(format!(
            "{}={}",
            m["mountpoint"].as_str().unwrap(),
            m["device"].as_str().unwrap()
        ));
    }
    s
}

#[test]
fn a_luks_root_opens_with_its_key_given_every_way() {
    let dir = tempfile::tempdir().unwrap();
    let (img, uuid) = debian_luks(dir.path(), PASS);
    let img = img.to_str().unwrap();
    // Named as libguestfs 1.48 names it.
    let mapped = format!("/dev/mapper/luks-{uuid}");
    let root_mp = format!("/={mapped}");
    let expected = [
        mapped.as_str(),
        "debian",
        "12",
        DEBIAN_HOSTNAME,
        "deb",
        root_mp.as_str(),
        "/boot/efi=/dev/sda1",
    ];

    // By device, with -v: the appliance's console and our debug log hold no key.
    let key = format!("/dev/sda2:key:{PASS}");
    let out = gw(
        &[
            "-v",
            "inspect",
            "--no-applications",
            "--key",
            &key,
            "-a",
            img,
        ],
        None,
        PASS,
    );
    assert_eq!(summary(&out), expected);

    // By LUKS UUID (upper case matches too), the key in a file.
    let file = dir.path().join("key");
    std::fs::write(&file, format!("{PASS}\nignored second line\n")).unwrap();
    let key = format!("{}:file:{}", uuid.to_uppercase(), file.display());
    let out = gw(
        &["inspect", "--no-applications", "--key", &key, "-a", img],
        None,
        PASS,
    );
    assert_eq!(summary(&out), expected);

    // From standard input, one line per volume.
    let out = gw(
        &[
            "inspect",
            "--no-applications",
            "--keys-from-stdin",
            "-a",
            img,
        ],
        Some(&format!("{PASS}\n")),
        PASS,
    );
    assert_eq!(summary(&out), expected);

    // `all:` after a wrong key for another device; `-i` of another command mounts the guest.
    let other = format!("/dev/sdb1:key:{WRONG}");
    let all = format!("all:key:{PASS}");
    let out = gw(
        &[
            "cat",
            "--key",
            &other,
            "--key",
            &all,
            "-a",
            img,
            "/etc/hostname",
        ],
        None,
        PASS,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(out.stdout, format!("{DEBIAN_HOSTNAME}\n").as_bytes());
}

#[test]
fn a_wrong_key_and_a_missing_key_fail_naming_the_device() {
    let dir = tempfile::tempdir().unwrap();
    let (img, _) = debian_luks(dir.path(), PASS);
    let img = img.to_str().unwrap();

    let key = format!("/dev/sda2:key:{WRONG}");
    let out = gw(&["inspect", "--key", &key, "-a", img], None, WRONG);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(
        stderr(&out),
        "guestwright: /dev/sda2: the key given does not open this LUKS volume (no key slot \
         matched): check the passphrase given with --key /dev/sda2:key:... or on standard \
         input\n"
    );

    // No key, no terminal: the message says how to give it, for inspect and for -i.
    let hint = "/dev/sda2 is LUKS-encrypted: give its key with --key /dev/sda2:key:PASSPHRASE \
                or --keys-from-stdin";
    let out = gw(&["inspect", "-a", img], None, PASS);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.starts_with(&format!("guestwright: warning: {hint}\n")),
        "{err}"
    );
    assert!(
        err.ends_with(&format!(
            "guestwright: no operating system was found on the disks: {hint}. Give the keys, \
             or mount filesystems yourself with -m DEVICE[:MOUNTPOINT]; --allow-no-os reports \
             no OS without failing\n"
        )),
        "{err}"
    );
    assert!(out.stdout.is_empty());

    // --keys-from-stdin with an empty input is the same as no key.
    let out = gw(
        &["cat", "--keys-from-stdin", "-a", img, "/etc/hostname"],
        Some(""),
        PASS,
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains(hint), "{}", stderr(&out));
    assert!(out.stdout.is_empty());

    // A --key that is not ID:key:... is bad usage, and the message does not quote it.
    let out = gw(
        &["inspect", "--key", &format!("/dev/sda2:{WRONG}"), "-a", img],
        None,
        WRONG,
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("--key must be"), "{}", stderr(&out));
}

#[test]
fn lvm_inside_luks_is_activated_and_inspected() {
    let dir = tempfile::tempdir().unwrap();
    let (img, uuid) = lvm_on_luks(
        dir.path(),
        PASS,
        &[
            file("/etc/os-release", "NAME=\"Rocky Linux\"\nVERSION_ID=\"9.3\"\nID=\"rocky\"\nPRETTY_NAME=\"Rocky Linux 9.3 (Blue Onyx)\"\n"),
            file("/etc/fstab", "/dev/mapper/vgcrypt-root / ext4 defaults 0 1\n/dev/mapper/vgcrypt-swap none swap defaults 0 0\n"),
            file("/etc/hostname", "crypt9.example.com\n"),
            file("/usr/bin/.keep", ""),
        ],
    );
    let mut config = test_config();
    config.keys = keys::Keys {
        given: vec![keys::parse_key(&format!("{uuid}:key:{PASS}")).unwrap()],
        ask: None,
    };
    let h = launch_with(config, &[(&img, DriveOptions::readonly())]);
    let found = inspect::inspect_all(&h).check("inspect");
    assert_eq!(found.found.len(), 1, "{found:#?}");
    let os = &found.found[0];
    assert_eq!(os.root.as_str(), LUKS_LVM_ROOT);
    assert_eq!(
        (os.distro.as_str(), os.major_version, os.minor_version),
        ("rocky", 9, 3)
    );
    assert_eq!(os.hostname, "crypt9.example.com");
    let mut fs: Vec<(String, String)> = os
        .filesystems
        .iter()
        .map(|f| (f.device.to_string(), f.fstype.clone()))
        .collect();
    fs.sort();
    assert_eq!(
        fs,
        [
            ("/dev/sda1", "vfat"),
            ("/dev/sda2", "crypto_LUKS"),
            ("/dev/vgcrypt/root", "ext4"),
            ("/dev/vgcrypt/swap", "swap"),
        ]
        .map(|(d, t)| (d.to_string(), t.to_string()))
    );
    assert!(found.unreadable.is_empty(), "{:?}", found.unreadable);
    // A second inspection finds the volume open and gives the same answer.
    let again = inspect::inspect(&h).check("inspect again");
    assert_eq!(&again[0], os);
    inspect::mount_inspected(&h, os, true).check("mount");
    assert_eq!(
        h.read_file("/etc/hostname").check("read").0,
        b"crypt9.example.com\n"
    );
}

#[test]
fn a_disk_with_only_an_unknown_filesystem_is_no_os_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let img = dir.path().join("unknown.img");
    std::fs::File::create(&img)
        .unwrap()
        .set_len(16 << 20)
        .unwrap();
    run(Command::new("sfdisk").arg("-q").arg(&img).stdin({
        let mut f = tempfile::tempfile().unwrap();
        f.write_all(b"label: gpt\nstart=2048, type=L\n").unwrap();
        use std::io::Seek;
        f.rewind().unwrap();
        f
    }));
    // Bytes no probe recognises, over the whole partition's first MiB.
    let noise: Vec<u8> = (0..1u32 << 20)
        .map(|i| (i.wrapping_mul(2654435761) >> 24) as u8)
        .collect();
    {
        use std::io::{Seek, SeekFrom};
        let mut f = std::fs::OpenOptions::new().write(true).open(&img).unwrap();
        f.seek(SeekFrom::Start(1 << 20)).unwrap();
        f.write_all(&noise).unwrap();
    }
    let img_s = img.to_str().unwrap();
    let out = gw(&["inspect", "-a", img_s], None, "\u{1}never");
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out),
        "guestwright: no operating system was found on the disks: /dev/sda1 holds nothing \
         guestwright recognises (no filesystem, or an unsupported or damaged one). Mount \
         filesystems yourself with -m DEVICE[:MOUNTPOINT] (`guestwright filesystems -a IMAGE` \
         lists them); --allow-no-os reports no OS without failing\n"
    );
    assert!(out.stdout.is_empty());

    // What virt-inspector 1.48 prints (with exit 0) for this disk.
    let out = gw(
        &["inspect", "--allow-no-os", "--xml", "-a", img_s],
        None,
        "\u{1}never",
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        out.stdout,
        b"<?xml version=\"1.0\"?>\n<operatingsystems/>\n"
    );
    assert_eq!(stderr(&out), "");

    let out = gw(&["ls", "-a", img_s, "/"], None, "\u{1}never");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).starts_with(
            "guestwright: no operating system was found on the disks: /dev/sda1 holds nothing"
        ),
        "{}",
        stderr(&out)
    );
}
