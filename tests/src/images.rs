//! Disk images built inside the appliance, for tests that need what the host cannot make
//! (the host kernel has no device-mapper, so LVM images are made in the appliance).

use crate::{launch, Check, File};
use guestwright::prelude::*;
use std::path::{Path, PathBuf};

/// The volume group of [`mbr_boot_lvm_root`] images.
pub const LVM_VG: &str = "vg0";
/// Its root logical volume (`/dev/vg0/root`, ext4, label `root`).
pub const LVM_ROOT: &str = "/dev/vg0/root";
/// Its swap logical volume (`/dev/vg0/swap`, label `swap`).
pub const LVM_SWAP: &str = "/dev/vg0/swap";
/// The /boot partition (`/dev/sda1`, ext4, label `boot`, bootable).
pub const LVM_BOOT: &str = "/dev/sda1";

/// A 128 MiB raw disk laid out like a classic Linux install, built inside the appliance:
/// an MBR with `/dev/sda1` (1 MiB to 65 MiB, ext4 labelled `boot`, bootable) mounted at
/// `/boot`, and `/dev/sda2` (type 0x8e) an LVM PV holding volume group `vg0` with
/// `/dev/vg0/root` (40 MiB, ext4 labelled `root`) and `/dev/vg0/swap` (the rest, swap
/// labelled `swap`). `files` are written with the root LV on `/` and the boot partition on
/// `/boot`, so a path under `/boot/` lands on the boot partition. One launch.
pub fn mbr_boot_lvm_root(dir: &Path, name: &str, files: &[File<'_>]) -> PathBuf {
    let img = dir.join(name);
    std::fs::File::create(&img)
        .unwrap()
        .set_len(128 << 20)
        .unwrap();
    let mut h = launch(&[(&img, DriveOptions::readwrite())]);
    h.part_init("/dev/sda", PartTableType::Mbr)
        .check("part_init");
    h.part_add("/dev/sda", PartKind::Primary, 1u64 << 20, (65u64 << 20) - 1)
        .check("part_add boot");
    h.part_add(
        "/dev/sda",
        PartKind::Primary,
        65u64 << 20,
        (128u64 << 20) - 1,
    )
    .check("part_add lvm");
    h.part_set_bootable("/dev/sda", 1u32, true)
        .check("bootable");
    h.part_set_mbr_id("/dev/sda", 2u32, 0x8eu32).check("mbr id");
    h.pvcreate("/dev/sda2").check("pvcreate");
    h.vgcreate(LVM_VG, vec![Device::from("/dev/sda2")])
        .check("vgcreate");
    h.lvcreate("root", LVM_VG, 40u64 << 20)
        .check("lvcreate root");
    h.lvcreate_free("swap", LVM_VG, 100u32)
        .check("lvcreate swap");
    h.run(args::Mkfs::new("ext4", LVM_BOOT).label("boot"))
        .check("mkfs boot");
    h.run(args::Mkfs::new("ext4", LVM_ROOT).label("root"))
        .check("mkfs root");
    h.run(args::Mkswap::new(LVM_SWAP).label("swap"))
        .check("mkswap");
    h.mount(LVM_ROOT, "/").check("mount root");
    h.mkdir_p("/boot").check("mkdir /boot");
    h.mount(LVM_BOOT, "/boot").check("mount boot");
    for f in files {
        if let Some(parent) = f.path.rsplit_once('/').map(|(p, _)| p) {
            if !parent.is_empty() {
                h.mkdir_p(parent).check("mkdir -p");
            }
        }
        h.write_file(f.path, f.content).check("write");
        h.chmod(Mode(f.mode), f.path).check("chmod");
    }
    h.shutdown().check("shutdown");
    img
}
