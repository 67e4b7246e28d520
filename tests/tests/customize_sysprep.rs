//! `guestwright sysprep` on a Debian-like guest: each enabled operation removes what it names,
//! a disabled one leaves its files, everything else stays, and customize operations in the
//! same run come after the sysprep operations (the injected key survives ssh-userdir).

use crate::customize_images;

use customize_images::{debian, KEY};
use guestwright::prelude::*;
use guestwright_tests::{assert_fsck_clean, guestwright, launch, run, Check};

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
    let names: Vec<&str> = report["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["operation"].as_str().unwrap())
        .collect();
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
