//! Inspection on the kinds of disks users have: GPT with an ESP and an ext4 root, MBR with
//! /boot plus an LVM root, a bare filesystem with no partition table, and a qcow2 image;
//! and guests whose files are missing, empty, huge or not regular.

use guestwright::inspect::{self, OsInfo};
use guestwright::prelude::*;
use guestwright_tests::*;
use std::path::Path;

fn inspect_one(img: &Path, opts: DriveOptions) -> (OsInfo, Vec<String>) {
    let h = launch(&[(img, opts)]);
    let mut found = inspect::inspect(&h).check("inspect");
    assert_eq!(found.len(), 1, "one OS expected: {found:#?}");
    let os = found.remove(0);
    assert!(
        h.mounts().check("mounts").is_empty(),
        "inspection leaves nothing mounted"
    );
    inspect::mount_inspected(&h, &os, true).check("mount_inspected");
    let mounted = h
        .mounts()
        .check("mounts")
        .into_iter()
        .map(|m| format!("{}={}", m.mountpoint, m.device))
        .collect();
    (os, mounted)
}

#[test]
fn a_debian_gpt_disk_and_its_qcow2_copy() {
    let dir = tempfile::tempdir().unwrap();
    let img = debian_like(dir.path(), "debian.img", &[]);
    let before = sha256(&img);
    let (os, mounted) = inspect_one(&img, DriveOptions::readonly());
    assert_eq!(os.root.as_str(), "/dev/sda2");
    assert_eq!(
        (
            os.os_type.as_str(),
            os.distro.as_str(),
            os.major_version,
            os.minor_version
        ),
        ("linux", "debian", 12, 5)
    );
    // As virt-inspector 1.48: Debian's os-release has no minor version, so
    // /etc/debian_version decides both the version and the product name.
    assert_eq!(os.product_name, "12.5");
    assert_eq!(os.osinfo.as_deref(), Some("debian12"));
    assert_eq!(os.arch, std::env::consts::ARCH);
    assert_eq!(os.hostname, DEBIAN_HOSTNAME);
    assert_eq!(
        (os.package_format.as_str(), os.package_management.as_str()),
        ("deb", "apt")
    );
    let mps: Vec<(&str, &str, &str)> = os
        .mountpoints
        .iter()
        .map(|m| (m.mountpoint.as_str(), m.device.as_str(), m.fstype.as_str()))
        .collect();
    assert_eq!(
        mps,
        [
            ("/", "/dev/sda2", "ext4"),
            ("/boot/efi", "/dev/sda1", "vfat")
        ]
    );
    assert_eq!(mounted, ["/=/dev/sda2", "/boot/efi=/dev/sda1"]);
    let esp = os
        .filesystems
        .iter()
        .find(|f| f.device.as_str() == "/dev/sda1")
        .unwrap();
    assert_eq!(
        (
            esp.fstype.as_str(),
            esp.uuid.as_deref(),
            esp.label.as_deref()
        ),
        ("vfat", Some(DEBIAN_ESP_UUID), Some("EFI"))
    );
    assert_eq!(
        sha256(&img),
        before,
        "inspection of a read-only drive changed the image"
    );

    // The same disk as qcow2.
    let qcow2 = dir.path().join("debian.qcow2");
    run(std::process::Command::new("qemu-img")
        .args(["convert", "-f", "raw", "-O", "qcow2"])
        .arg(&img)
        .arg(&qcow2));
    let (q, _) = inspect_one(&qcow2, DriveOptions::readonly());
    assert_eq!(q, os);
}

#[test]
fn an_mbr_disk_with_boot_and_an_lvm_root() {
    let dir = tempfile::tempdir().unwrap();
    let fstab = "/dev/mapper/vg0-root / ext4 defaults 0 1\nLABEL=boot /boot ext4 defaults 0 2\n/dev/mapper/vg0-swap none swap sw 0 0\n";
    let img = mbr_boot_lvm_root(
        dir.path(),
        "lvm.img",
        &[
            file("/etc/os-release", "NAME=\"Rocky Linux\"\nVERSION_ID=\"9.3\"\nID=\"rocky\"\nPRETTY_NAME=\"Rocky Linux 9.3 (Blue Onyx)\"\n"),
            file("/etc/fstab", fstab),
            file("/etc/hostname", "rocky9.example.com\n"),
            file("/usr/bin/.keep", ""),
            file("/boot/vmlinuz-5.14", "not a kernel\n"),
        ],
    );
    let (os, mounted) = inspect_one(&img, DriveOptions::readonly());
    assert_eq!(os.root.as_str(), LVM_ROOT);
    assert_eq!(
        (os.distro.as_str(), os.major_version, os.minor_version),
        ("rocky", 9, 3)
    );
    assert_eq!(
        (os.package_format.as_str(), os.package_management.as_str()),
        ("rpm", "dnf")
    );
    assert_eq!(os.hostname, "rocky9.example.com");
    assert_eq!(mounted, ["/=/dev/vg0/root", "/boot=/dev/sda1"]);
    assert!(
        os.filesystems
            .iter()
            .any(|f| f.device.as_str() == LVM_SWAP && f.fstype == "swap"),
        "{:?}",
        os.filesystems
    );
}

#[test]
fn a_bare_filesystem_without_a_partition_table() {
    let dir = tempfile::tempdir().unwrap();
    let tree = make_tree(
        dir.path(),
        &[
            file(
                "/etc/os-release",
                "ID=alpine\nVERSION_ID=3.19.1\nPRETTY_NAME=\"Alpine Linux v3.19\"\n",
            ),
            file("/etc/hostname", "alp\n"),
            file("/bin/.keep", ""),
        ],
    );
    let img = dir.path().join("bare.img");
    run(std::process::Command::new("mkfs.ext4")
        .args(["-q", "-F", "-d"])
        .arg(&tree)
        .arg(&img)
        .arg("16M"));
    let (os, mounted) = inspect_one(&img, DriveOptions::readonly());
    assert_eq!(os.root.as_str(), "/dev/sda");
    assert_eq!(
        (os.distro.as_str(), os.major_version, os.minor_version),
        ("alpinelinux", 3, 19)
    );
    assert_eq!(
        (os.package_format.as_str(), os.hostname.as_str()),
        ("apk", "alp")
    );
    assert_eq!(mounted, ["/=/dev/sda"]);
}

/// A bare ext4 filesystem image of `tree`, 16 MiB.
fn ext4_of(dir: &Path, name: &str, tree: &Path) -> std::path::PathBuf {
    let img = dir.join(name);
    run(std::process::Command::new("mkfs.ext4")
        .args(["-q", "-F", "-d"])
        .arg(tree)
        .arg(&img)
        .arg("16M"));
    img
}

/// Which filesystems are Linux roots, in the merged-/usr layouts. libguestfs 1.48
/// (daemon/inspect_fs.ml) takes a root with /etc, /bin as a directory or a link to
/// `usr/bin`, and /etc/fstab or /etc/hosts. guestwright also takes one with /usr/bin and no
/// /bin at all (README: deliberate difference); /etc alone, or programs without /etc, are
/// not roots.
#[test]
fn merged_usr_roots_with_no_bin_or_a_dangling_bin_link() {
    let dir = tempfile::tempdir().unwrap();
    let os_release = "ID=fedora\nVERSION_ID=40\nNAME=Fedora\nPRETTY_NAME=\"Fedora Linux 40\"\n";
    let sh = std::fs::read("/bin/sh").unwrap();
    // sda: /usr/bin with a real ELF sh, no /bin at all.
    let a = make_tree(
        &dir.path().join("a"),
        &[
            file("/etc/os-release", os_release),
            file("/etc/hostname", "no-bin\n"),
            File {
                path: "/usr/bin/sh",
                content: &sh,
                mode: 0o755,
            },
        ],
    );
    // sdb: /bin -> usr/bin, and /usr on no filesystem the disks hold (fstab names none).
    let b = make_tree(
        &dir.path().join("b"),
        &[
            file("/etc/os-release", os_release),
            file("/etc/hostname", "dangling\n"),
            file("/etc/fstab", "/dev/vda1 / ext4 defaults 0 1\n"),
        ],
    );
    std::os::unix::fs::symlink("usr/bin", b.join("bin")).unwrap();
    // sdc: /etc but no programs anywhere (a backup of /etc); sdd: programs, no /etc.
    let c = make_tree(
        &dir.path().join("c"),
        &[file("/etc/os-release", os_release), file("/etc/fstab", "")],
    );
    let d = make_tree(
        &dir.path().join("d"),
        &[
            File {
                path: "/bin/sh",
                content: &sh,
                mode: 0o755,
            },
            file("/usr/bin/.keep", ""),
        ],
    );
    let imgs: Vec<_> = [("a", &a), ("b", &b), ("c", &c), ("d", &d)]
        .iter()
        .map(|(n, t)| ext4_of(dir.path(), &format!("{n}.img"), t))
        .collect();
    let drives: Vec<_> = imgs
        .iter()
        .map(|i| (i.as_path(), DriveOptions::readonly()))
        .collect();
    let h = launch(&drives);
    let found = inspect::inspect(&h).check("inspect");
    let got: Vec<(&str, &str, &str, &str)> = found
        .iter()
        .map(|o| {
            (
                o.root.as_str(),
                o.distro.as_str(),
                o.hostname.as_str(),
                o.arch.as_str(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("/dev/sda", "fedora", "no-bin", std::env::consts::ARCH),
            ("/dev/sdb", "fedora", "dangling", "unknown"),
        ],
        "only the two merged-/usr roots are operating systems"
    );
    assert!(h.mounts().check("mounts").is_empty());
}

#[test]
fn missing_empty_huge_and_special_files_are_tolerated() {
    let dir = tempfile::tempdir().unwrap();
    // os-release missing (debian_version is the fallback), hostname a FIFO, an 8 MiB fstab
    // of comments (inspection reads a bounded prefix), os-release's fallback empty, and
    // /bin/sh a symlink to a device.
    let huge = "# nothing to mount here, just a very long comment section\n".repeat(150_000);
    let img = debian_like(
        dir.path(),
        "odd.img",
        &[file("/etc/fstab", &huge), file("/usr/lib/os-release", "")],
    );
    debugfs_write_at(
        &img,
        DEBIAN_ROOT_OFFSET,
        DEBIAN_ROOT_SIZE,
        "rm /etc/os-release\nrm /etc/hostname\ncd /etc\nmknod hostname p\nrm /usr/bin/sh\ncd /usr/bin\nsymlink sh /dev/zero\n",
    );
    let h = launch(&[(&img, DriveOptions::readonly())]);
    let found = inspect::inspect(&h).check("inspect");
    assert_eq!(found.len(), 1);
    let os = &found[0];
    assert_eq!(
        (os.distro.as_str(), os.major_version, os.minor_version),
        ("debian", 12, 5)
    );
    assert_eq!(os.hostname, "", "a FIFO hostname is treated as missing");
    assert_eq!(
        os.mountpoints.len(),
        1,
        "a comment-only fstab names nothing but /"
    );
    assert_eq!(
        os.arch, "unknown",
        "a /bin/sh that is a device link is not read"
    );
    h.ping().check("the daemon is still fine");
}
