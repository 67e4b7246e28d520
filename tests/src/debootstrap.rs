//! A real Debian 12 guest made by `debootstrap --variant=minbase` (with systemd, so firstboot
//! has its init system), for the tests that run the guest's own programs: its package manager
//! and its shell. Building it downloads about 40 MB from a Debian mirror
//! (`GUESTWRIGHT_DEBIAN_MIRROR`, default deb.debian.org) and takes minutes, so the image is
//! cached under the user's cache directory, keyed by this file; the tests themselves never
//! reach the network (their package sources are replaced by a repository on the loopback).
//!
//! The image is one bare ext4 filesystem (no partition table), 1 GiB sparse.

use crate::luks::cached;
use crate::{require, run};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The suite the guest is made from.
pub const DEBOOTSTRAP_SUITE: &str = "bookworm";

/// A copy of the cached debootstrap guest in `dir`.
pub fn debootstrap_debian(dir: &Path) -> PathBuf {
    let recipe = format!("debootstrap v1\n{}", include_str!("debootstrap.rs"));
    cached(&recipe, dir, "debootstrap-bookworm", |out| {
        require("debootstrap", "debootstrap");
        require("mkfs.ext4", "e2fsprogs");
        let mirror = std::env::var("GUESTWRIGHT_DEBIAN_MIRROR")
            .unwrap_or_else(|_| "http://deb.debian.org/debian".to_owned());
        let work = tempfile::tempdir().unwrap();
        let root = work.path().join("root");
        run(Command::new("debootstrap")
            .args([
                "--variant=minbase",
                "--include=systemd",
                "--components=main",
                DEBOOTSTRAP_SUITE,
            ])
            .arg(&root)
            .arg(&mirror));
        // What a template would ship: no downloaded indexes or packages, a host name, an
        // fstab naming the root, and no machine identity.
        for d in ["var/lib/apt/lists", "var/cache/apt/archives"] {
            for e in std::fs::read_dir(root.join(d)).unwrap().flatten() {
                if e.file_type().unwrap().is_file() && e.file_name() != "lock" {
                    std::fs::remove_file(e.path()).unwrap();
                }
            }
        }
        let _ = std::fs::remove_file(root.join("var/cache/apt/pkgcache.bin"));
        let _ = std::fs::remove_file(root.join("var/cache/apt/srcpkgcache.bin"));
        std::fs::write(root.join("etc/hostname"), "debootstrap\n").unwrap();
        std::fs::write(
            root.join("etc/fstab"),
            "LABEL=root / ext4 errors=remount-ro 0 1\n",
        )
        .unwrap();
        std::fs::write(root.join("etc/machine-id"), "").unwrap();
        std::fs::File::create(out)
            .unwrap()
            .set_len(1 << 30)
            .unwrap();
        run(Command::new("mkfs.ext4")
            .args(["-q", "-F", "-L", "root", "-d"])
            .arg(&root)
            .arg(out));
    })
}
