//! `guestwright customize` on a Debian-like guest: every operation in one run, each file read
//! back in a second launch with its exact contents, modes and owners; the shadow hash checked
//! with `openssl passwd -6`; e2fsck clean; then the same run again changes nothing.

use crate::customize_images;

use customize_images::{debian, debian_entries, image, Entry, KEY, SHADOW_DEBIAN};
use guestwright::prelude::*;
use guestwright_tests::{assert_fsck_clean, guestwright, launch, run, sha256, Check};
use std::path::Path;
use std::process::Command;

fn ops(upload: &Path, with_run_command: bool) -> Vec<String> {
    let mut v: Vec<String> = [
        "--hostname=web01.example.com",
        "--root-password=password:S3cret!x",
        "--password=bob:locked:password:bobpw",
        "--user-add=carol:groups=sudo",
        &format!("--ssh-inject=carol:string:{KEY}"),
        &format!("--ssh-inject=root:string:{KEY}"),
        "--net-config=eth0:static:192.0.2.10/24:192.0.2.1:192.0.2.53",
        "--udev-net=eth0=52:54:00:12:34:56",
        "--write=/etc/motd:Welcome to web01",
        "--append-line=/etc/fstab:tmpfs /tmp tmpfs defaults 0 0",
        &format!("--upload={}:/etc/app.conf", upload.display()),
        "--mkdir=/srv/data/cache",
        "--delete=/var/tmp/junk",
        "--chmod=0600:/etc/motd",
        "--link=/usr/share/zoneinfo/Europe/Berlin:/etc/zone-link",
        "--timezone=Europe/Berlin",
        "--edit=/etc/ssh/sshd_config:s/^#PermitRootLogin.*/PermitRootLogin no/",
        "--firstboot-command=touch /root/firstboot-ran",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    if with_run_command {
        v.push("--run-command=echo ran > /root/ran.txt; echo hello".into());
    }
    v
}

fn customize(img: &Path, args: &[String]) -> (serde_json::Value, String) {
    let out = run(guestwright()
        .arg("customize")
        .arg("-a")
        .arg(img)
        .arg("--json")
        .args(args));
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let report: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)));
    (report, stderr)
}

fn field(line: &str, n: usize) -> &str {
    line.split(':').nth(n).unwrap()
}

#[test]
fn every_operation_then_a_second_run_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let img = debian(dir.path(), "debian.raw");
    let upload = dir.path().join("app.conf");
    std::fs::write(&upload, "listen = 8080\n").unwrap();
    std::fs::set_permissions(&upload, std::os::unix::fs::PermissionsExt::from_mode(0o640)).unwrap();

    let (report, stderr) = customize(&img, &ops(&upload, true));
    assert_eq!(report["changed"], true, "{report:#}");
    assert_eq!(report["dry_run"], false);
    assert_eq!(report["guest"], "debian 12.5");
    let steps = report["steps"].as_array().unwrap();
    let step = |name: &str| {
        steps
            .iter()
            .find(|s| s["operation"].as_str().unwrap().starts_with(name))
            .unwrap_or_else(|| panic!("no step {name}: {report:#}"))
    };
    assert_eq!(step("run-command")["output"], "hello\n");
    assert!(step("random-seed")["changes"][0]["path"] == "/var/lib/systemd/random-seed");
    assert!(
        !report.to_string().contains("S3cret"),
        "the report never shows a password"
    );
    assert!(!stderr.contains("S3cret"), "{stderr}");
    assert!(
        stderr.contains("guestwright: hostname web01.example.com"),
        "{stderr}"
    );
    // The order of the steps is the command line's, but passwords come after the other
    // operations, as virt-customize sets them.
    let names: Vec<&str> = steps
        .iter()
        .map(|s| s["operation"].as_str().unwrap())
        .collect();
    assert!(
        names[0].starts_with("hostname")
            && names[16].starts_with("run-command")
            && names[17].starts_with("password root")
            && names[18].starts_with("password bob"),
        "{names:?}"
    );

    assert_fsck_clean(&img);
    let h = launch(&[(&img, DriveOptions::readonly())]);
    h.run(args::Mount::new("/dev/sda1", "/").readonly(true))
        .check("mount");
    let read = |p: &str| String::from_utf8(h.read_file(p).check(p).0).unwrap();
    let stat = |p: &str| h.lstat(p).check(p);

    assert_eq!(read("/etc/hostname"), "web01.example.com\n");
    assert_eq!(
        read("/etc/hosts"),
        "127.0.0.1\tlocalhost\n127.0.1.1\tdebian-tmpl.example.org\tweb01.example.com\n\n# The following lines are desirable for IPv6 capable hosts\n::1     localhost ip6-localhost ip6-loopback\nff02::1 ip6-allnodes\nff02::2 ip6-allrouters\n"
    );

    // /etc/shadow: root and bob changed, every other line byte for byte; mode and group kept.
    let shadow = read("/etc/shadow");
    let st = stat("/etc/shadow");
    assert_eq!((st.mode & 0o7777, st.uid, st.gid), (0o640, 0, 42));
    let old: Vec<&str> = SHADOW_DEBIAN.lines().collect();
    let new: Vec<&str> = shadow.lines().collect();
    assert_eq!(new.len(), old.len() + 1, "carol appended:\n{shadow}");
    for (o, n) in old.iter().zip(&new) {
        if !o.starts_with("root:") && !o.starts_with("bob:") {
            assert_eq!(o, n);
        }
    }
    let today = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        / 86400;
    let root = new[0];
    assert_eq!(field(root, 2), today.to_string(), "last change day");
    assert_eq!(
        &root.split(':').skip(3).collect::<Vec<_>>().join(":"),
        "0:99999:7:::"
    );
    let hash = field(root, 1);
    let salt = hash.split('$').nth(2).unwrap();
    assert_eq!(salt.len(), 16, "{hash}");
    let openssl = run(Command::new("openssl").args(["passwd", "-6", "-salt", salt, "S3cret!x"]));
    assert_eq!(
        String::from_utf8_lossy(&openssl.stdout).trim(),
        hash,
        "openssl agrees on the hash"
    );
    let bob = new.iter().find(|l| l.starts_with("bob:")).unwrap();
    let bob_hash = field(bob, 1).strip_prefix('!').expect("locked");
    let salt = bob_hash.split('$').nth(2).unwrap();
    let openssl = run(Command::new("openssl").args(["passwd", "-6", "-salt", salt, "bobpw"]));
    assert_eq!(String::from_utf8_lossy(&openssl.stdout).trim(), bob_hash);
    assert_eq!(
        *new.last().unwrap(),
        format!("carol:!:{today}:0:99999:7:::")
    );

    // --user-add
    assert!(read("/etc/passwd").ends_with(
        "bob:x:1001:1001::/home/bob:/bin/bash\ncarol:x:1002:1002::/home/carol:/bin/bash\n"
    ));
    assert_eq!(
        read("/etc/group"),
        "root:x:0:\ndaemon:x:1:\nbin:x:2:\nsudo:x:27:debian,carol\nusers:x:100:\ndebian:x:1000:\nbob:x:1001:\ncarol:x:1002:\n"
    );
    assert_eq!(
        read("/etc/gshadow"),
        "root:*::\ndaemon:*::\nbin:*::\nsudo:*::debian,carol\nusers:*::\ndebian:!::\nbob:!::\ncarol:!::\n"
    );
    let home = stat("/home/carol");
    assert_eq!(
        (home.mode & 0o7777, home.uid, home.gid),
        (0o700, 1002, 1002)
    );
    assert_eq!(
        read("/home/carol/.bashrc"),
        "# ~/.bashrc\nalias ll='ls -l'\n"
    );
    let rc = stat("/home/carol/.bashrc");
    assert_eq!((rc.uid, rc.gid), (1002, 1002));

    // --ssh-inject: modes sshd's StrictModes wants, owned by the user, key once.
    let ssh = stat("/home/carol/.ssh");
    assert_eq!((ssh.mode & 0o7777, ssh.uid, ssh.gid), (0o700, 1002, 1002));
    let ak = stat("/home/carol/.ssh/authorized_keys");
    assert_eq!((ak.mode & 0o7777, ak.uid, ak.gid), (0o600, 1002, 1002));
    assert_eq!(read("/home/carol/.ssh/authorized_keys"), format!("{KEY}\n"));
    assert_eq!(
        read("/root/.ssh/authorized_keys"),
        format!("ssh-ed25519 AAAAold root@old\n{KEY}\n")
    );

    // --net-config in ifupdown style; the loopback stanza and comments stay.
    assert_eq!(
        read("/etc/network/interfaces"),
        customize_images::INTERFACES_DEBIAN.replace(
            "iface eth0 inet dhcp\n",
            "iface eth0 inet static\n\taddress 192.0.2.10/24\n\tgateway 192.0.2.1\n\tdns-nameservers 192.0.2.53\n"
        )
    );
    assert_eq!(
        read("/etc/udev/rules.d/70-persistent-net.rules"),
        "# Network interface names by MAC address, written by guestwright --udev-net.\nSUBSYSTEM==\"net\", ACTION==\"add\", DRIVERS==\"?*\", ATTR{address}==\"52:54:00:12:34:56\", ATTR{dev_id}==\"0x0\", ATTR{type}==\"1\", KERNEL==\"eth*\", NAME=\"eth0\"\n"
    );

    // Generic file operations.
    assert_eq!(read("/etc/motd"), "Welcome to web01");
    assert_eq!(stat("/etc/motd").mode & 0o7777, 0o600);
    assert_eq!(
        read("/etc/fstab"),
        "# /etc/fstab\nLABEL=root / ext4 rw,discard,errors=remount-ro 0 1\ntmpfs /tmp tmpfs defaults 0 0\n"
    );
    assert_eq!(read("/etc/app.conf"), "listen = 8080\n");
    assert_eq!(stat("/etc/app.conf").mode & 0o7777, 0o640);
    assert!(h.is_dir("/srv/data/cache").check("is_dir"));
    assert!(!h.exists("/var/tmp/junk").check("exists"));
    assert_eq!(
        h.readlink("/etc/zone-link").check("readlink").to_string(),
        "/usr/share/zoneinfo/Europe/Berlin"
    );
    assert_eq!(
        h.readlink("/etc/localtime").check("readlink").to_string(),
        "../usr/share/zoneinfo/Europe/Berlin"
    );
    assert_eq!(read("/etc/timezone"), "Europe/Berlin\n");
    assert_eq!(
        read("/etc/ssh/sshd_config"),
        customize_images::SSHD_CONFIG
            .replace("#PermitRootLogin prohibit-password", "PermitRootLogin no")
    );

    // --firstboot-command: the script, the runner and the enabled unit, in virt-customize's
    // layout.
    let script = "/usr/lib/virt-sysprep/scripts/5000-0001-touch--root-firstboot-ran";
    assert_eq!(read(script), "touch /root/firstboot-ran");
    assert_eq!(stat(script).mode & 0o7777, 0o755);
    assert_eq!(
        stat("/usr/lib/virt-sysprep/firstboot.sh").mode & 0o7777,
        0o755
    );
    assert!(read("/usr/lib/systemd/system/guestfs-firstboot.service")
        .contains("ExecStart=/usr/lib/virt-sysprep/firstboot.sh start"));
    assert_eq!(
        h.readlink("/etc/systemd/system/multi-user.target.wants/guestfs-firstboot.service")
            .check("readlink")
            .to_string(),
        "/usr/lib/systemd/system/guestfs-firstboot.service"
    );
    // --run-command ran in the guest.
    assert_eq!(read("/root/ran.txt"), "ran\n");
    // Around the operations: the machine-id was set, so it stays; a new seed; no SELinux.
    assert_eq!(
        read("/etc/machine-id"),
        "0123456789abcdef0123456789abcdef\n"
    );
    let seed = h.read_file("/var/lib/systemd/random-seed").check("seed").0;
    assert_eq!(seed.len(), 512);
    assert_ne!(seed, vec![1u8; 512]);
    assert!(!h.exists("/.autorelabel").check("exists"));
    drop(h);

    // The same again (without the command, which always runs): nothing changes.
    let (again, _) = customize(&img, &ops(&upload, false));
    assert_eq!(again["changed"], false, "{again:#}");
    for s in again["steps"].as_array().unwrap() {
        assert_eq!(s["changes"], serde_json::json!([]), "{s:#}");
    }
    assert_fsck_clean(&img);
}

#[test]
fn dry_run_prints_the_diff_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let img = debian(dir.path(), "dry.raw");
    let before = sha256(&img);
    let out = run(guestwright()
        .args(["customize", "-n", "-a"])
        .arg(&img)
        .args([
            "--hostname",
            "web02",
            "--root-password",
            "random",
            "--net-config",
            "eth0:dhcp",
            "--delete",
            "/var/log/syslog",
        ]));
    assert_eq!(sha256(&img), before, "a dry run never changes the image");
    let diff = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        diff.contains(
            "--- a/etc/hostname\n+++ b/etc/hostname\n@@ -1 +1 @@\n-debian-tmpl\n+web02\n"
        ),
        "{diff}"
    );
    // A dry run never prints hashes (issue 13).
    assert!(
        diff.contains("-root:<hash hidden>:19500:") && !diff.contains("$6$"),
        "{diff}"
    );
    assert!(
        diff.contains("--- a/var/log/syslog\n+++ /dev/null\n"),
        "{diff}"
    );
    assert!(
        !diff.contains("etc/network/interfaces"),
        "eth0 was dhcp already: {diff}"
    );
    assert!(
        stderr.contains("a random password would be set for root"),
        "{stderr}"
    );
    assert!(!stderr.contains("random password for root:"), "{stderr}");
}

#[test]
fn bad_usage_exits_2_and_a_failed_operation_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    let img = debian(dir.path(), "err.raw");
    let before = sha256(&img);
    let status = |args: &[&str]| {
        let out = guestwright()
            .arg("customize")
            .arg("-a")
            .arg(&img)
            .args(args)
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, err) = status(&["--hostname", "bad_name"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.starts_with("guestwright: invalid --hostname: invalid hostname \"bad_name\""),
        "{err}"
    );
    let (code, err) = status(&[]);
    assert_eq!(code, Some(2), "{err}");
    let (code, err) = status(&["--root-password", "file:/nonexistent/pw"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("cannot read /nonexistent/pw"), "{err}");
    assert_eq!(sha256(&img), before, "usage errors never launch");

    let (code, err) = status(&["--timezone", "Mars/Olympus_Mons"]);
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("timezone Mars/Olympus_Mons failed: time zone Mars/Olympus_Mons is not installed in the guest"),
        "{err}"
    );
    let (code, err) = status(&["--ssh-inject", &format!("nobody:string:{KEY}")]);
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("user \"nobody\" is not in the guest's /etc/passwd"),
        "{err}"
    );
}

/// Security row 14: a guest whose /etc/shadow is a link to a device or out of the guest
/// root must get a clear error, and nothing outside the guest is touched.
#[test]
fn hostile_links_in_the_guest_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let img = customize_images::image(
        dir.path(),
        "hostile.raw",
        &[
            customize_images::f("/etc/os-release", "ID=debian\nVERSION_ID=12\n"),
            customize_images::f("/etc/passwd", "root:x:0:0:root:/root:/bin/bash\n"),
            customize_images::Entry::Link("/etc/shadow", "/dev/sda"),
            customize_images::Entry::BlockDev("/dev/sda"),
            customize_images::Entry::Link("/etc/hostname", "../../../../../etc/hostname-loop"),
            customize_images::Entry::Link("/etc/hostname-loop", "/etc/hostname"),
            customize_images::Entry::Link("/etc/hosts", "../../../../../../etc/hosts-outside"),
        ],
    );
    let host_hosts = std::fs::read("/etc/hosts").unwrap();
    let out = guestwright()
        .args(["customize", "-a"])
        .arg(&img)
        .args(["--root-password", "password:x"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("/etc/shadow is a symbolic link to /dev/sda in the guest"),
        "{err}"
    );
    let out = guestwright()
        .args(["customize", "-a"])
        .arg(&img)
        .args(["--hostname", "evil"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("/etc/hostname"), "{err}");
    assert_eq!(std::fs::read("/etc/hosts").unwrap(), host_hosts);
    assert_fsck_clean(&img);
}

/// `--upload` over existing files, one small (sent whole) and one over 2 MiB (streamed):
/// both keep the old file's owner and group, as a whole-file write does everywhere else
/// (and as virt-customize, which writes in place, does); the mode is the host file's; the
/// content is exact; no temporary name is left beside them.
#[test]
fn upload_keeps_the_owner_of_the_file_it_replaces_whatever_its_size() {
    let dir = tempfile::tempdir().unwrap();
    let big: Vec<u8> = (0..(3u32 << 20)).map(|i| (i * 7 % 251) as u8).collect();
    let mut entries = debian_entries();
    entries.push(Entry::File("/srv/big.bin", b"old big\n", 0o600, 1000, 1000));
    entries.push(Entry::File(
        "/srv/small.conf",
        b"old small\n",
        0o600,
        1000,
        1000,
    ));
    let img = image(dir.path(), "debian.raw", &entries);
    let host_big = dir.path().join("big.bin");
    let host_small = dir.path().join("small.conf");
    std::fs::write(&host_big, &big).unwrap();
    std::fs::write(&host_small, "new small\n").unwrap();
    for p in [&host_big, &host_small] {
        std::fs::set_permissions(p, std::os::unix::fs::PermissionsExt::from_mode(0o640)).unwrap();
    }
    let (report, stderr) = customize(
        &img,
        &[
            format!("--upload={}:/srv/big.bin", host_big.display()),
            format!("--upload={}:/srv/small.conf", host_small.display()),
        ],
    );
    assert_eq!(report["changed"], true, "{report:#}\n{stderr}");
    assert_fsck_clean(&img);
    let h = launch(&[(&img, DriveOptions::readonly())]);
    h.run(args::Mount::new("/dev/sda1", "/").readonly(true))
        .check("mount");
    assert!(
        h.read_file("/srv/big.bin").check("big").0 == big,
        "the big file differs"
    );
    assert_eq!(
        h.read_file("/srv/small.conf").check("small").0,
        b"new small\n"
    );
    for p in ["/srv/big.bin", "/srv/small.conf"] {
        let st = h.lstat(p).check(p);
        assert_eq!(
            (st.mode & 0o7777, st.uid, st.gid),
            (0o640, 1000, 1000),
            "{p}: mode and owner after --upload"
        );
    }
    let names: Vec<String> = h
        .ls("/srv")
        .check("ls /srv")
        .into_iter()
        .map(|n| n.to_string())
        .collect();
    assert_eq!(names, ["big.bin", "small.conf"], "{names:?}");
}
