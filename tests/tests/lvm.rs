//! LVM inside the appliance: an MBR with /boot and an LVM root built by the
//! `mbr_boot_lvm_root` fixture (pvcreate, vgcreate, lvcreate, mkfs, mount, write), found
//! again by a second launch: lazy activation through `mount /dev/VG/LV`, the LVs in
//! `list_filesystems`, the reports in bytes, and creating, resizing, renaming and removing
//! volumes with sizes that are bytes, never megabytes.

use guestwright::prelude::*;
use guestwright_tests::*;
use std::process::Command;

const MIB: u64 = 1 << 20;

fn chain(e: &Error) -> String {
    guestwright::error::chain(e)
}

#[test]
fn an_lvm_root_made_in_the_appliance_is_found_again() {
    let dir = tempfile::tempdir().unwrap();
    let img = mbr_boot_lvm_root(
        dir.path(),
        "lvm.img",
        &[
            file("/etc/hostname", "lvmhost\n"),
            file("/boot/grub/grub.cfg", "set default=0\n"),
        ],
    );
    let scratch = dir.path().join("scratch.img");
    std::fs::File::create(&scratch)
        .unwrap()
        .set_len(64 * MIB)
        .unwrap();

    let mut h = launch(&[
        (&img, DriveOptions::readwrite()),
        (&scratch, DriveOptions::readwrite()),
    ]);
    h.available(vec!["lvm2".into()]).check("available lvm2");
    // The first thing asked for is an LV: mount activates LVM by itself.
    h.mount(LVM_ROOT, "/").check("mount /dev/vg0/root");
    assert_eq!(h.read_file("/etc/hostname").check("read").0, b"lvmhost\n");
    h.mount(LVM_BOOT, "/boot").check("mount boot");
    assert_eq!(
        h.read_file("/boot/grub/grub.cfg").check("read").0,
        b"set default=0\n"
    );
    h.umount_all().check("umount_all");
    // The device-mapper spelling works too.
    h.run(
        args::Mount::new("/dev/mapper/vg0-root", "/")
            .fstype("ext4")
            .readonly(true),
    )
    .check("mount /dev/mapper/vg0-root");
    assert_eq!(h.mounts().check("mounts")[0].fstype, "ext4");
    h.umount_all().check("umount_all");

    let fs = h.list_filesystems().check("list_filesystems");
    let brief: Vec<(String, String, Option<String>)> = fs
        .iter()
        .map(|f| (f.device.to_string(), f.fstype.clone(), f.label.clone()))
        .collect();
    let want =
        |d: &str, t: &str, l: Option<&str>| (d.to_string(), t.to_string(), l.map(str::to_string));
    assert_eq!(
        brief,
        [
            want("/dev/sdb", "unknown", None),
            want("/dev/sda1", "ext4", Some("boot")),
            want("/dev/vg0/root", "ext4", Some("root")),
            want("/dev/vg0/swap", "swap", Some("swap")),
        ],
        "libguestfs's order (whole disks, partitions, LVs); the PV /dev/sda2 is not listed, its LVs are"
    );
    assert_eq!(h.vfs_type("/dev/sda2").check("vfs_type"), "LVM2_member");
    assert_eq!(h.pvs().check("pvs"), [Device::from("/dev/sda2")]);
    assert_eq!(h.vgs().check("vgs"), [LVM_VG.to_string()]);
    assert_eq!(
        h.lvs().check("lvs"),
        [Device::from(LVM_ROOT), Device::from(LVM_SWAP)]
    );
    let vg = &h.vgs_full().check("vgs_full")[0];
    assert_eq!(vg.vg_name, LVM_VG);
    assert_eq!(vg.vg_extent_size, 4 * MIB);
    assert_eq!((vg.pv_count, vg.lv_count), (1, 2));
    let lvs = h.lvs_full().check("lvs_full");
    assert_eq!(lvs[0].lv_name, "root");
    assert_eq!(lvs[0].lv_size, 40 * MIB, "40 MiB asked, in bytes");
    assert_eq!(&lvs[0].lv_attr[4..5], "a", "active: {:?}", lvs[0].lv_attr);
    let pv = &h.pvs_full().check("pvs_full")[0];
    assert_eq!(pv.pv_name, "/dev/sda2");
    assert_eq!(pv.pv_free, 0, "the swap LV took the rest");
    assert_eq!(
        vg.vg_size,
        lvs.iter().map(|l| l.lv_size).sum::<u64>(),
        "{vg:?} {lvs:?}"
    );
    h.e2fsck(LVM_ROOT).check("e2fsck -n of the root LV");

    // A second volume group on the scratch disk: sizes in bytes, rounded up to extents.
    h.pvcreate("/dev/sdb").check("pvcreate");
    h.vgcreate("vgtest", vec![Device::from("/dev/sdb")])
        .check("vgcreate");
    h.lvcreate("small", "vgtest", 10 * MIB + 1)
        .check("lvcreate");
    let size = |h: &Handle, dev: &str| {
        h.lvs_full()
            .check("lvs_full")
            .into_iter()
            .find(|l| format!("/dev/vgtest/{}", l.lv_name) == dev)
            .map(|l| l.lv_size)
    };
    assert_eq!(size(&h, "/dev/vgtest/small"), Some(12 * MIB));
    assert_eq!(
        h.blockdev_getsize64("/dev/vgtest/small").check("size"),
        12 * MIB
    );
    h.lvresize("/dev/vgtest/small", 16 * MIB).check("lvresize");
    assert_eq!(size(&h, "/dev/vgtest/small"), Some(16 * MIB));
    h.lvcreate_free("rest", "vgtest", 50u32)
        .check("lvcreate_free");
    h.run(args::Mkfs::new("ext4", "/dev/vgtest/rest").label("rest"))
        .check("mkfs on an LV");
    h.lvrename("/dev/vgtest/rest", "renamed").check("lvrename");
    assert_eq!(h.vfs_label("/dev/vgtest/renamed").check("label"), "rest");
    h.vgrename("vgtest", "vgnew").check("vgrename");
    assert!(h
        .lvs()
        .check("lvs")
        .contains(&Device::from("/dev/vgnew/renamed")));
    h.lvremove("/dev/vgnew/small").check("lvremove");
    assert_eq!(size(&h, "/dev/vgnew/small"), None);

    // Errors say what went wrong.
    let e = h.lvcreate("bad name", "vgnew", 4 * MIB).unwrap_err();
    assert_eq!(e.errno(), Some(Errno::EINVAL), "{}", chain(&e));
    let e = h.lvcreate("x", "nosuchvg", 4 * MIB).unwrap_err();
    assert!(chain(&e).contains("nosuchvg"), "{}", chain(&e));
    let e = h.lvcreate("huge", "vgnew", 1 << 40).unwrap_err();
    assert!(chain(&e).contains("lvcreate"), "{}", chain(&e));
    let e = h.mount("/dev/vgnew/missing", "/").unwrap_err();
    assert_eq!(e.errno(), Some(Errno::ENOENT), "{}", chain(&e));

    h.vgremove("vgnew").check("vgremove");
    h.pvremove("/dev/sdb").check("pvremove");
    assert_eq!(h.vfs_type("/dev/sdb").check("vfs_type"), "");
    assert_eq!(h.vgs().check("vgs"), [LVM_VG.to_string()]);
    h.shutdown().check("shutdown");

    // The /boot partition is clean for the host's e2fsck.
    let boot = extract(&img, MIB, 64 * MIB);
    run(Command::new("e2fsck").arg("-fn").arg(boot.path()));
}
