//! A phony CoreOS guest, laid out as CoreOS lays itself out: the root filesystem holds
//! `/etc` and symlinks into `/usr` (`/bin -> usr/bin`), and `/usr` is a separate read-only
//! filesystem (USR-A) that carries the OS release. There is no fstab. Built on the host with
//! sfdisk, mkfs.vfat and mkfs.ext4 -d, without root and without the appliance.

use crate::{require, run};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The hostname in `/etc/hostname`.
pub const COREOS_HOSTNAME: &str = "coreos.invalid";
/// UUID of the USR-A filesystem (`/dev/sda3`).
pub const COREOS_USR_UUID: &str = "01234567-0123-0123-0123-012345678901";
/// UUID of the ROOT filesystem (`/dev/sda5`).
pub const COREOS_ROOT_UUID: &str = "01234567-0123-0123-0123-012345678902";
const LSB_RELEASE: &str = "DISTRIB_ID=CoreOS\nDISTRIB_RELEASE=647.0.0\nDISTRIB_CODENAME=\"Red Dog\"\nDISTRIB_DESCRIPTION=\"CoreOS 647.0.0\"\n";
const SECTOR: u64 = 512;
/// (first sector, sectors) of EFI-SYSTEM, BIOS-BOOT, USR-A, USR-B, ROOT.
const PARTS: [(u64, u64); 5] = [
    (2048, 16384),
    (18432, 2048),
    (20480, 32768),
    (53248, 32768),
    (86016, 75776),
];
const DISK_SECTORS: u64 = 163840;

fn mkdirs(root: &Path, dirs: &[&str]) {
    for d in dirs {
        std::fs::create_dir_all(root.join(d)).unwrap();
    }
}

fn ext4(img: &Path, tree: &Path, part: (u64, u64), label: &str, uuid: &str) {
    run(Command::new("mkfs.ext4")
        .args(["-q", "-F", "-L", label, "-U", uuid, "-d"])
        .arg(tree)
        .arg("-E")
        .arg(format!("offset={}", part.0 * SECTOR))
        .arg(img)
        .arg(format!("{}k", part.1 * SECTOR / 1024)));
}

/// Builds the CoreOS guest in `dir`: GPT, `/dev/sda1` EFI (vfat), `/dev/sda2` BIOS boot,
/// `/dev/sda3` USR-A (ext4), `/dev/sda4` USR-B (empty), `/dev/sda5` ROOT (ext4).
pub fn coreos_guest(dir: &Path, name: &str) -> PathBuf {
    require("sfdisk", "fdisk");
    require("mkfs.ext4", "e2fsprogs");
    require("mkfs.vfat", "dosfstools");
    let img = dir.join(name);
    std::fs::File::create(&img)
        .unwrap()
        .set_len(DISK_SECTORS * SECTOR)
        .unwrap();
    let names = ["EFI-SYSTEM", "BIOS-BOOT", "USR-A", "USR-B", "ROOT"];
    let types = ["U", "21686148-6449-6E6F-744E-656564454649", "L", "L", "L"];
    let mut table = String::from("label: gpt\n");
    for ((p, n), t) in PARTS.iter().zip(names).zip(types) {
        table.push_str(&format!(
            "start={}, size={}, type={t}, name={n}\n",
            p.0, p.1
        ));
    }
    crate::sfdisk(&img, &table);
    run(Command::new("mkfs.vfat")
        .args(["-i", "C0DE0001", "--offset"])
        .arg(PARTS[0].0.to_string())
        .arg(&img)
        .arg((PARTS[0].1 * SECTOR / 1024).to_string()));

    let usr = dir.join(format!("{name}-usr"));
    mkdirs(&usr, &["bin", "lib64", "local", "share/coreos"]);
    std::fs::write(usr.join("share/coreos/lsb-release"), LSB_RELEASE).unwrap();
    ext4(&img, &usr, PARTS[2], "USR-A", COREOS_USR_UUID);

    let root = dir.join(format!("{name}-root"));
    mkdirs(&root, &["etc/coreos", "usr", "root", "home"]);
    std::fs::write(root.join("etc/coreos/update.conf"), "GROUP=stable").unwrap();
    std::fs::write(root.join("etc/hostname"), COREOS_HOSTNAME).unwrap();
    for (link, target) in [
        ("etc/lsb-release", "../usr/share/coreos/lsb-release"),
        ("bin", "usr/bin"),
        ("lib64", "usr/lib64"),
        ("lib", "lib64"),
    ] {
        std::os::unix::fs::symlink(target, root.join(link)).unwrap();
    }
    ext4(&img, &root, PARTS[4], "ROOT", COREOS_ROOT_UUID);
    img
}
