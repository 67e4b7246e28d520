//! `guestwright sysprep` on a Debian-like guest: each enabled operation removes what it names,
//! a disabled one leaves its files, everything else stays, and customize operations in the
//! same run come after the sysprep operations (the injected key survives ssh-userdir).

use crate::customize_images;

use customize_images::{debian, KEY};
use guestwright::prelude::*;
use guestwright_tests::{
    assert_fsck_clean, file, guestwright, launch, mbr_boot_lvm_root, report_operations, run, Check,
    LVM_ROOT, LVM_SWAP, LVM_VG,
};

#[test]
fn list_operations_needs_no_image() {
    let out = run(guestwright().args(["sysprep", "--list-operations"]));
    let text = String::from_utf8_lossy(&out.stdout);
    for name in [
        "bash-history",
        "dhcp-client-state",
        "logfiles",
        "machine-id",
        "net-hwaddr",
        "package-manager-cache",
        "ssh-hostkeys",
        "ssh-userdir",
        "tmp-files",
        "udev-persistent-net",
    ] {
        assert!(
            text.lines().any(|l| l.starts_with(&format!("{name} * "))),
            "{name}: {text}"
        );
    }
    let bad = guestwright()
        .args([
            "sysprep",
            "-a",
            "/nonexistent.img",
            "--operations",
            "no-such-op",
        ])
        .output()
        .unwrap();
    assert_eq!(
        bad.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&bad.stderr)
    );
    assert!(String::from_utf8_lossy(&bad.stderr)
        .contains("--operations: ‘no-such-op’ is not a known operation"));
}

#[test]
fn sysprep_removes_what_each_operation_names_and_leaves_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let img = debian(dir.path(), "sysprep.raw");
    let out = run(guestwright()
        .args(["sysprep", "--json", "-a"])
        .arg(&img)
        .args(["--operations", "defaults,-logfiles"])
        .arg(format!("--ssh-inject=root:string:{KEY}")));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let names = report_operations(&report);
    assert_eq!(
        names,
        [
            "sysprep abrt-data",
            "sysprep backup-files",
            "sysprep bash-history",
            "sysprep blkid-tab",
            "sysprep crash-data",
            "sysprep cron-spool",
            "sysprep dhcp-client-state",
            "sysprep dhcp-server-state",
            "sysprep dovecot-data",
            "sysprep ipa-client",
            "sysprep kerberos-hostkeytab",
            "sysprep machine-id",
            "sysprep mail-spool",
            "sysprep net-hostname",
            "sysprep net-hwaddr",
            "sysprep net-nmconn",
            "sysprep pacct-log",
            "sysprep package-manager-cache",
            "sysprep pam-data",
            "sysprep passwd-backups",
            "sysprep puppet-data-log",
            "sysprep rh-subscription-manager",
            "sysprep rhn-systemid",
            "sysprep rpm-db",
            "sysprep samba-db-log",
            "sysprep script",
            "sysprep smolt-uuid",
            "sysprep ssh-hostkeys",
            "sysprep ssh-userdir",
            "sysprep sssd-db-log",
            "sysprep tmp-files",
            "sysprep udev-persistent-net",
            "sysprep utmp",
            "sysprep yum-uuid",
            "ssh-inject root (ssh-ed25519)",
            "random-seed",
            "sysprep lvm-uuids",
        ],
        "{report:#}"
    );
    assert_fsck_clean(&img);

    let h = launch(&[(&img, DriveOptions::readonly())]);
    h.run(args::Mount::new("/dev/sda1", "/").readonly(true))
        .check("mount");
    let exists = |p: &str| h.exists(p).check(p);
    let read = |p: &str| String::from_utf8(h.read_file(p).check(p).0).unwrap();
    for gone in [
        "/root/.bash_history",
        "/home/debian/.bash_history",
        "/var/lib/dhcp/dhclient.eth0.leases",
        "/var/cache/apt/archives/vim_9.0_amd64.deb",
        "/etc/ssh/ssh_host_ed25519_key",
        "/etc/ssh/ssh_host_ed25519_key.pub",
        "/tmp/scratch.txt",
        "/var/tmp/junk",
    ] {
        assert!(!exists(gone), "{gone} should be gone");
    }
    for kept in [
        "/home/debian/notes.txt",
        "/etc/ssh/sshd_config",
        "/etc/ssh/ssh_config",
        "/var/lib/dhcp",
        "/var/cache/apt/archives",
        // virt-sysprep empties only apt's archives/
        "/var/cache/apt/pkgcache.bin",
        "/tmp",
        "/var/tmp",
    ] {
        assert!(exists(kept), "{kept} should stay");
    }
    // logfiles was disabled.
    assert_eq!(read("/var/log/syslog"), "Jan 1 boot\n");
    assert_eq!(read("/var/log/apt/history.log"), "Install: vim\n");
    // machine-id: truncated, both of them, not removed, and not refilled by customize.
    assert_eq!(read("/etc/machine-id"), "");
    assert_eq!(read("/var/lib/dbus/machine-id"), "");
    // ssh-userdir removed root's old key; the customize operation after it added the new one.
    assert_eq!(read("/root/.ssh/authorized_keys"), format!("{KEY}\n"));
    assert_eq!(read("/etc/hostname"), "debian-tmpl\n");
}

/// The UUIDs of an LVM guest's filesystems, PVs, VG and LVs, read in a fresh appliance.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Uuids {
    boot: String,
    root: String,
    swap: String,
    pv: String,
    vg: String,
    lvs: Vec<String>,
}

fn uuids(h: &guestwright_tests::TestHandle) -> Uuids {
    Uuids {
        boot: h.vfs_uuid("/dev/sda1").check("vfs_uuid boot"),
        root: h.vfs_uuid(LVM_ROOT).check("vfs_uuid root"),
        swap: h.vfs_uuid(LVM_SWAP).check("vfs_uuid swap"),
        pv: h.pvuuid("/dev/sda2").check("pvuuid"),
        vg: h.vguuid(LVM_VG).check("vguuid"),
        lvs: [LVM_ROOT, LVM_SWAP]
            .iter()
            .map(|lv| h.lvuuid(*lv).check("lvuuid"))
            .collect(),
    }
}

#[test]
fn fs_uuids_and_lvm_uuids_on_an_lvm_guest_follow_into_fstab_and_it_still_mounts() {
    let dir = tempfile::tempdir().unwrap();
    let img = mbr_boot_lvm_root(
        dir.path(),
        "lvm.img",
        &[
            file(
                "/etc/os-release",
                "NAME=\"Debian GNU/Linux\"\nID=debian\nVERSION_ID=\"12\"\n",
            ),
            file("/etc/debian_version", "12.5\n"),
            file("/etc/hostname", "lvmguest\n"),
            file("/usr/bin/.keep", ""),
        ],
    );
    // An fstab naming every filesystem by UUID, as installers write it (one quoted, one a
    // /dev/disk/by-uuid path), and one entry by LV path that must stay as it is.
    let before = {
        let mut h = launch(&[(&img, DriveOptions::readwrite())]);
        let u = uuids(&h);
        h.mount(LVM_ROOT, "/").check("mount");
        let fstab = format!(
            "# /etc/fstab\nUUID={} / ext4 errors=remount-ro 0 1\nUUID=\"{}\" /boot ext4 defaults 0 2\n/dev/disk/by-uuid/{} none swap sw 0 0\n/dev/mapper/vg0-root /mnt ext4 noauto 0 0\n",
            u.root, u.boot, u.swap
        );
        h.write_file("/etc/fstab", fstab.as_bytes())
            .check("write fstab");
        h.shutdown().check("shutdown");
        u
    };

    let out = run(guestwright()
        .args(["sysprep", "--json", "-a"])
        .arg(&img)
        .args(["--enable", "fs-uuids,lvm-uuids"]));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let names = report_operations(&report);
    assert!(
        names.contains(&"sysprep fs-uuids") && names.contains(&"sysprep lvm-uuids"),
        "{report:#}"
    );

    let mut h = launch(&[(&img, DriveOptions::readwrite())]);
    let after = uuids(&h);
    for (what, old, new) in [
        ("/boot", &before.boot, &after.boot),
        ("/", &before.root, &after.root),
        ("swap", &before.swap, &after.swap),
        ("PV", &before.pv, &after.pv),
        ("VG", &before.vg, &after.vg),
    ] {
        assert_ne!(old, new, "{what}: the UUID did not change");
        assert!(!new.is_empty(), "{what}: no UUID after sysprep");
    }
    // LVM has no command to change an LV's UUID; virt-sysprep leaves them too.
    assert_eq!(before.lvs, after.lvs);
    // Every filesystem still checks clean (the appliance has device-mapper, the host not).
    for dev in ["/dev/sda1", LVM_ROOT] {
        h.e2fsck(dev)
            .unwrap_or_else(|e| panic!("e2fsck -fn {dev}: {}", guestwright::error::chain(&e)));
    }
    h.shutdown().check("shutdown");

    // An independent read through the shell: the guest is inspected and mounted by its
    // fstab, which now names the new UUIDs.
    let shell = run(guestwright()
        .args(["shell", "--ro", "-i", "-a"])
        .arg(&img)
        .args([
            "cat",
            "/etc/fstab",
            ":",
            "mountpoints",
            ":",
            "cat",
            "/etc/hostname",
        ]));
    let text = String::from_utf8_lossy(&shell.stdout);
    let want_fstab = format!(
        "# /etc/fstab\nUUID={} / ext4 errors=remount-ro 0 1\nUUID=\"{}\" /boot ext4 defaults 0 2\n/dev/disk/by-uuid/{} none swap sw 0 0\n/dev/mapper/vg0-root /mnt ext4 noauto 0 0\n",
        after.root, after.boot, after.swap
    );
    assert!(text.starts_with(&want_fstab), "{text}");
    assert!(text.contains("/dev/sda1: /boot"), "{text}");
    assert!(text.trim_end().ends_with("lvmguest"), "{text}");
}

#[test]
fn x_traces_every_call_to_the_appliance_on_stderr() {
    let dir = tempfile::tempdir().unwrap();
    let img = debian(dir.path(), "trace.raw");
    let out = run(guestwright()
        .args(["sysprep", "-x", "--format", "raw", "-a"])
        .arg(&img)
        .args(["--enable", "machine-id"]));
    let err = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = err.lines().collect();
    let at = |want: &str| {
        lines
            .iter()
            .position(|l| *l == want)
            .unwrap_or_else(|| panic!("{want:?} not traced:\n{err}"))
    };
    // In the order made: the drive, the launch, the operation's calls, the shutdown.
    let order = [
        at(&format!(
            "libguestfs: trace: add_drive {:?} \"format:raw\"",
            img.to_string_lossy()
        )),
        at("libguestfs: trace: launch"),
        at("libguestfs: trace: launch = 0"),
        at("guestwright: sysprep: machine-id"),
        at("libguestfs: trace: truncate /etc/machine-id"),
        at("libguestfs: trace: truncate = 0"),
        at("libguestfs: trace: shutdown = 0"),
    ];
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{order:?}\n{err}");
    // Every call has its result line.
    let calls = lines
        .iter()
        .filter(|l| l.starts_with("libguestfs: trace: ") && !l.contains(" = "))
        .count();
    let results = lines.iter().filter(|l| l.contains(" = ")).count();
    assert_eq!(calls, results, "{err}");
    // Without -x: no trace.
    let quiet = run(guestwright()
        .args(["sysprep", "--format", "raw", "-a"])
        .arg(&img)
        .args(["--enable", "machine-id"]));
    assert!(!String::from_utf8_lossy(&quiet.stderr).contains("trace:"));
}
