//! Filesystems made inside the appliance and checked on the host with the real tools:
//! `blkid -p` sees what `mkfs` was asked for, `e2fsck -fn`, `fsck.vfat -n` and
//! `xfs_repair -n` find nothing wrong; the daemon's own identification (`list_filesystems`,
//! `vfs_*`, `blkid`) agrees; mount finds the type by itself; a device in use is refused; and
//! what the appliance cannot do fails with the right errno.

use guestwright::prelude::*;
use guestwright_tests::*;
use std::path::Path;
use std::process::Command;

const MIB: u64 = 1 << 20;

fn blank(dir: &Path, name: &str, size: u64) -> std::path::PathBuf {
    let img = dir.join(name);
    std::fs::File::create(&img).unwrap().set_len(size).unwrap();
    img
}

/// `blkid -p -o export` of a file: TYPE, LABEL, UUID, ...
fn blkid_p(path: &Path) -> std::collections::HashMap<String, String> {
    require("blkid", "util-linux");
    let out = Command::new("blkid")
        .args(["-p", "-o", "export"])
        .arg(path)
        .output()
        .expect("blkid");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn chain(e: &Error) -> String {
    guestwright::error::chain(e)
}

#[test]
fn mkfs_makes_what_the_host_tools_recognise_and_find_clean() {
    let dir = tempfile::tempdir().unwrap();
    // sda: GPT with ext4, vfat, swap, ext4 (to shrink and zero); sdb: whole-disk xfs
    // (mkfs.xfs wants 300 MiB at least); sdc: whole-disk btrfs.
    let sda = blank(dir.path(), "parts.img", 136 * MIB);
    let sdb = blank(dir.path(), "xfs.img", 320 * MIB);
    let sdc = blank(dir.path(), "btrfs.img", 128 * MIB);
    let listed;
    {
        let mut h = launch(&[
            (&sda, DriveOptions::readwrite()),
            (&sdb, DriveOptions::readwrite()),
            (&sdc, DriveOptions::readwrite()),
        ]);
        h.available(vec!["lvm2".to_string(), "ext2".to_string()])
            .check("available");
        assert!(h
            .feature_available(vec![
                "xfs".into(),
                "btrfs".into(),
                "vfat".into(),
                "mkswap".into()
            ])
            .check("feature_available"));
        let e = h.available(vec!["nosuchgroup".into()]).unwrap_err();
        assert_eq!(e.errno(), Some(Errno::EINVAL), "{}", chain(&e));
        assert!(chain(&e).contains("lvm2"), "{}", chain(&e));

        h.part_init("/dev/sda", PartTableType::Gpt)
            .check("part_init");
        for (i, (start, end)) in [(1, 33), (33, 65), (65, 81), (81, 129)].iter().enumerate() {
            h.part_add("/dev/sda", PartKind::Primary, start * MIB, end * MIB - 1)
                .unwrap_or_else(|e| panic!("part_add {}: {}", i + 1, chain(&e)));
        }
        h.run(args::Mkfs::new("ext4", "/dev/sda1").label("root"))
            .check("mkfs ext4");
        h.run(
            args::Mkfs::new("vfat", "/dev/sda2")
                .blocksize(ByteSize(4096))
                .label("ESP"),
        )
        .check("mkfs vfat");
        let swap_uuid = "5f7b1b0e-8c4e-4b3a-9a61-3c1c2d9e0f11";
        h.run(
            args::Mkswap::new("/dev/sda3")
                .label("swap0")
                .uuid(swap_uuid),
        )
        .check("mkswap");
        h.run(args::Mkfs::new("ext2", "/dev/sda4").blocksize(ByteSize(1024)))
            .check("mkfs ext2");
        h.run(args::Mkfs::new("xfs", "/dev/sdb").label("data"))
            .check("mkfs xfs");
        h.run(args::Mkfs::new("btrfs", "/dev/sdc").label("pool"))
            .check("mkfs btrfs");

        // The daemon's own view.
        assert_eq!(h.vfs_type("/dev/sda1").check("vfs_type"), "ext4");
        assert_eq!(h.vfs_label("/dev/sda1").check("vfs_label"), "root");
        assert_eq!(h.vfs_type("/dev/sda2").check("vfs_type"), "vfat");
        assert_eq!(h.vfs_label("/dev/sda2").check("vfs_label"), "ESP");
        assert_eq!(h.vfs_type("/dev/sda3").check("vfs_type"), "swap");
        assert_eq!(h.vfs_uuid("/dev/sda3").check("vfs_uuid"), swap_uuid);
        assert_eq!(h.vfs_type("/dev/sda4").check("vfs_type"), "ext2");
        assert_eq!(
            h.vfs_type("/dev/sda").check("vfs_type"),
            "",
            "a table has no TYPE"
        );
        // blkid: libguestfs's hashtable of blkid's own keys, the device in the caller's name.
        let tag = |dev: &str, key: &str| {
            h.blkid(dev)
                .check("blkid")
                .into_iter()
                .find(|p| p.key == key)
                .map(|p| p.value)
        };
        assert_eq!(tag("/dev/sda", "PTTYPE").as_deref(), Some("gpt"));
        assert_eq!(tag("/dev/sda", "TYPE"), None, "a table has no TYPE");
        assert_eq!(tag("/dev/sdb", "TYPE").as_deref(), Some("xfs"));
        assert_eq!(tag("/dev/sdb", "LABEL").as_deref(), Some("data"));
        assert_eq!(tag("/dev/sdb", "DEVNAME").as_deref(), Some("/dev/sdb"));
        assert_eq!(tag("/dev/sda3", "UUID").as_deref(), Some(swap_uuid));
        assert_eq!(tag("/dev/sda1", "PART_ENTRY_NUMBER").as_deref(), Some("1"));
        let fs = h.list_filesystems().check("list_filesystems");
        let brief: Vec<(String, String, Option<String>)> = fs
            .iter()
            .map(|f| (f.device.to_string(), f.fstype.clone(), f.label.clone()))
            .collect();
        let want = |d: &str, t: &str, l: Option<&str>| {
            (d.to_string(), t.to_string(), l.map(str::to_string))
        };
        assert_eq!(
            brief,
            [
                // libguestfs's order: the whole-disk filesystems before the partitions.
                want("/dev/sdb", "xfs", Some("data")),
                want("/dev/sdc", "btrfs", Some("pool")),
                want("/dev/sda1", "ext4", Some("root")),
                want("/dev/sda2", "vfat", Some("ESP")),
                want("/dev/sda3", "swap", Some("swap0")),
                want("/dev/sda4", "ext2", None),
            ]
        );

        // Mount finds each type by itself; write something on each.
        for (dev, file) in [
            ("/dev/sda1", "/on-ext4"),
            ("/dev/sda2", "/ON-FAT.TXT"),
            ("/dev/sdb", "/on-xfs"),
            ("/dev/sdc", "/on-btrfs"),
        ] {
            h.mount(dev, "/")
                .unwrap_or_else(|e| panic!("mount {dev}: {}", chain(&e)));
            let m = h.mounts().check("mounts");
            assert_eq!(m[0].fstype, h.vfs_type(dev).check("type"), "{dev}");
            h.write_file(file, format!("written on {dev}\n"))
                .check("write");
            if dev == "/dev/sda1" {
                // In use: mkfs, wipefs and changing its partition are refused.
                let e = h.mkfs("ext4", "/dev/sda1").unwrap_err();
                assert_eq!(e.errno(), Some(Errno::EBUSY), "{}", chain(&e));
                let e = h.part_del("/dev/sda", 1u32).unwrap_err();
                assert_eq!(e.errno(), Some(Errno::EBUSY), "{}", chain(&e));
                assert!(chain(&e).contains("unmount"), "{}", chain(&e));
                // Other partitions of the same disk still change while it is mounted.
                h.part_set_name("/dev/sda", 4u32, "scratch")
                    .check("rename while sda1 is mounted");
                h.part_add("/dev/sda", PartKind::Primary, 129 * MIB, 133 * MIB - 1)
                    .check("part_add while sda1 is mounted");
                assert!(h
                    .list_partitions()
                    .check("list_partitions")
                    .iter()
                    .any(|p| p.device.as_str() == "/dev/sda5" && p.start == 129 * MIB));
                h.part_del("/dev/sda", 5u32)
                    .check("part_del while sda1 is mounted");
                assert_eq!(h.list_partitions().check("list_partitions").len(), 4);
            }
            h.umount_all().check("umount_all");
        }

        // Labels and UUIDs.
        h.set_label("/dev/sda1", "newroot").check("set_label ext4");
        assert_eq!(h.vfs_label("/dev/sda1").check("label"), "newroot");
        let uuid = "0b6f4d2e-1c0a-4f5e-9d3b-7a8c6e5f4d3c";
        h.set_uuid("/dev/sda1", uuid).check("set_uuid ext4");
        assert_eq!(h.vfs_uuid("/dev/sda1").check("uuid"), uuid);
        h.set_label("/dev/sda3", "swap1").check("set_label swap");
        assert_eq!(h.vfs_label("/dev/sda3").check("label"), "swap1");
        let e = h.set_label("/dev/sdb", "x").unwrap_err();
        assert_eq!(e.errno(), Some(Errno::EOPNOTSUPP), "{}", chain(&e));
        assert!(chain(&e).contains("xfs_admin"), "{}", chain(&e));

        // Checks and resizing.
        h.e2fsck("/dev/sda1").check("e2fsck");
        assert_eq!(h.fsck("ext4", "/dev/sda1").check("fsck"), 0);
        let e = h.fsck("btrfs", "/dev/sdc").unwrap_err();
        assert_eq!(e.errno(), Some(Errno::EOPNOTSUPP), "{}", chain(&e));
        h.run(args::E2fsck::new("/dev/sda4").forceall(true))
            .check("e2fsck -y");
        h.run(args::Resize2fs::new("/dev/sda4").size(ByteSize(16 * MIB)))
            .check("resize2fs");
        // The size the superblock claims: tune2fs's block count times its block size.
        let l = h.tune2fs_l("/dev/sda4").check("tune2fs_l");
        let n = |k: &str| -> u64 {
            l.iter()
                .find(|p| p.key == k)
                .and_then(|p| p.value.parse().ok())
                .unwrap_or_else(|| panic!("tune2fs -l without {k}: {l:?}"))
        };
        assert_eq!(n("Block count") * n("Block size"), 16 * MIB);
        assert_eq!(
            h.run(args::E2fsck::new("/dev/sda4").correct(true).forceall(true))
                .unwrap_err()
                .errno(),
            Some(Errno::EINVAL)
        );

        // Bad requests.
        let e = h.mkfs("reiserfs", "/dev/sda4").unwrap_err();
        assert_eq!(e.errno(), Some(Errno::EINVAL), "{}", chain(&e));
        assert!(
            chain(&e).contains("unknown filesystem type"),
            "{}",
            chain(&e)
        );
        let e = h.mkfs("ext4", "/dev/sda9").unwrap_err();
        assert_eq!(e.errno(), Some(Errno::ENOENT), "{}", chain(&e));
        let e = h
            .run(args::Mkfs::new("vfat", "/dev/sda4").label("much too long"))
            .unwrap_err();
        assert_eq!(e.errno(), Some(Errno::EINVAL), "{}", chain(&e));

        // Zeroing and wiping make the content unrecognisable.
        h.zero_device("/dev/sda4").check("zero_device");
        assert_eq!(h.vfs_type("/dev/sda4").check("type"), "");
        h.wipefs("/dev/sdc").check("wipefs");
        assert_eq!(h.vfs_type("/dev/sdc").check("type"), "");
        listed = h.part_list("/dev/sda").check("part_list");
        h.shutdown().check("shutdown");
    }

    // The host's tools agree.
    let part = |n: usize| {
        let p = &listed[n - 1];
        extract(&sda, p.start, p.size)
    };
    let p1 = part(1);
    let b = blkid_p(p1.path());
    assert_eq!(b.get("TYPE").map(String::as_str), Some("ext4"), "{b:?}");
    assert_eq!(b.get("LABEL").map(String::as_str), Some("newroot"), "{b:?}");
    assert_eq!(
        b.get("UUID").map(String::as_str),
        Some("0b6f4d2e-1c0a-4f5e-9d3b-7a8c6e5f4d3c")
    );
    run(Command::new("e2fsck").arg("-fn").arg(p1.path()));
    let out = run(Command::new("debugfs")
        .args(["-R", "cat /on-ext4"])
        .arg(p1.path()));
    assert_eq!(out.stdout, b"written on /dev/sda1\n");

    let p2 = part(2);
    let b = blkid_p(p2.path());
    assert_eq!(b.get("TYPE").map(String::as_str), Some("vfat"), "{b:?}");
    assert_eq!(b.get("LABEL").map(String::as_str), Some("ESP"), "{b:?}");
    require("fsck.vfat", "dosfstools");
    run(Command::new("fsck.vfat").arg("-n").arg(p2.path()));
    require("mtype", "mtools");
    let out = run(Command::new("mtype")
        .arg("-i")
        .arg(p2.path())
        .arg("::/ON-FAT.TXT")
        .env("MTOOLS_SKIP_CHECK", "1"));
    assert_eq!(out.stdout, b"written on /dev/sda2\n");

    let b = blkid_p(part(3).path());
    assert_eq!(b.get("TYPE").map(String::as_str), Some("swap"), "{b:?}");
    assert_eq!(b.get("LABEL").map(String::as_str), Some("swap1"), "{b:?}");
    assert_eq!(
        b.get("UUID").map(String::as_str),
        Some("5f7b1b0e-8c4e-4b3a-9a61-3c1c2d9e0f11")
    );
    assert!(!blkid_p(part(4).path()).contains_key("TYPE"));
    assert_eq!(listed[3].name.as_deref(), Some("scratch"));

    let b = blkid_p(&sdb);
    assert_eq!(b.get("TYPE").map(String::as_str), Some("xfs"), "{b:?}");
    assert_eq!(b.get("LABEL").map(String::as_str), Some("data"), "{b:?}");
    require("xfs_repair", "xfsprogs");
    run(Command::new("xfs_repair").arg("-n").arg(&sdb));
    assert!(
        !blkid_p(&sdc).contains_key("TYPE"),
        "wipefs left a signature"
    );
}
