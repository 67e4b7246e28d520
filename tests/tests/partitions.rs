//! Partition tables made and edited inside the appliance, checked against the host's own
//! `sfdisk` and `sgdisk`: the kernel sees every change before the call returns, GPT numbers
//! survive deletions, MBR logical partitions chain correctly, and bad requests fail with the
//! right errno and a message that says why.

use guestwright::prelude::*;
use guestwright_tests::*;
use std::path::Path;
use std::process::Command;

const MIB: u64 = 1 << 20;

/// One partition as `sfdisk -d` dumps it (sectors of 512 bytes).
#[derive(Debug, Default, Clone, PartialEq)]
struct Dumped {
    number: u32,
    start: u64,
    size: u64,
    kind: String,
    uuid: Option<String>,
    name: Option<String>,
    attrs: Option<String>,
    bootable: bool,
}

/// `sfdisk -d IMG`: the label and the partitions.
fn sfdisk_dump(img: &Path) -> (String, Vec<Dumped>) {
    require("sfdisk", "fdisk");
    let out = run(Command::new("sfdisk").arg("-d").arg(img));
    let text = String::from_utf8(out.stdout).unwrap();
    let mut label = String::new();
    let mut parts = Vec::new();
    let prefix = img.to_string_lossy().to_string();
    for line in text.lines() {
        if let Some(l) = line.strip_prefix("label: ") {
            label = l.trim().to_string();
        }
        let Some(rest) = line.strip_prefix(&prefix) else {
            continue;
        };
        let (num, fields) = rest.split_once(" : ").unwrap();
        let mut d = Dumped {
            number: num.trim().parse().unwrap(),
            ..Dumped::default()
        };
        for field in fields.split(", ") {
            let field = field.trim();
            match field.split_once('=') {
                Some(("start", v)) => d.start = v.trim().parse().unwrap(),
                Some(("size", v)) => d.size = v.trim().parse().unwrap(),
                Some(("type", v)) => d.kind = v.trim().to_string(),
                Some(("uuid", v)) => d.uuid = Some(v.trim().to_string()),
                Some(("name", v)) => d.name = Some(v.trim().trim_matches('"').to_string()),
                Some(("attrs", v)) => d.attrs = Some(v.trim().trim_matches('"').to_string()),
                None if field == "bootable" => d.bootable = true,
                _ => {}
            }
        }
        parts.push(d);
    }
    (label, parts)
}

/// `part_list` and `sfdisk -d` describe the same partitions.
fn assert_same_as_sfdisk(img: &Path, listed: &[PartitionEntry]) {
    let (label, dumped) = sfdisk_dump(img);
    assert_eq!(
        dumped.len(),
        listed.len(),
        "sfdisk sees {dumped:#?}, part_list said {listed:#?}"
    );
    for (d, p) in dumped.iter().zip(listed) {
        assert_eq!(d.number, p.partnum, "{d:?} {p:?}");
        assert_eq!(d.start * 512, p.start, "{d:?} {p:?}");
        assert_eq!(d.size * 512, p.size, "{d:?} {p:?}");
        assert_eq!(p.end, p.start + p.size - 1);
        if label == "gpt" {
            assert_eq!(Some(&d.kind), p.gpt_type.as_ref(), "{d:?} {p:?}");
            assert_eq!(d.uuid, p.uuid, "{d:?} {p:?}");
            assert_eq!(d.name.clone().unwrap_or_default(), p.name.clone().unwrap());
            let legacy = d
                .attrs
                .as_deref()
                .is_some_and(|a| a.contains("LegacyBIOSBootable"));
            assert_eq!(legacy, p.bootable, "{d:?} {p:?}");
        } else {
            assert_eq!(label, "dos");
            assert_eq!(
                u32::from_str_radix(&d.kind, 16).unwrap(),
                p.mbr_id.unwrap(),
                "{d:?} {p:?}"
            );
            assert_eq!(d.bootable, p.bootable, "{d:?} {p:?}");
        }
    }
}

fn sgdisk_verify(img: &Path) {
    require("sgdisk", "gdisk");
    let out = run(Command::new("sgdisk").arg("-v").arg(img));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("No problems found"), "sgdisk -v:\n{text}");
}

fn blank(dir: &Path, name: &str, size: u64) -> std::path::PathBuf {
    let img = dir.join(name);
    std::fs::File::create(&img).unwrap().set_len(size).unwrap();
    img
}

fn kernel_parts(h: &Handle, disk: &str) -> Vec<(u32, u64, u64)> {
    h.list_partitions()
        .check("list_partitions")
        .into_iter()
        .filter(|p| p.parent.as_str() == disk)
        .map(|p| (p.number, p.start, p.size))
        .collect()
}

#[test]
fn gpt_tables_reach_the_kernel_at_once_and_agree_with_sfdisk() {
    let dir = tempfile::tempdir().unwrap();
    // sda: blank; sdb: a GPT made on the host at 64 MiB, then the image grew to 96 MiB.
    let img = blank(dir.path(), "gpt.img", 128 * MIB);
    let grown = blank(dir.path(), "grown.img", 64 * MIB);
    let mut sfdisk = Command::new("sfdisk");
    sfdisk
        .arg("-q")
        .arg(&grown)
        .stdin(std::process::Stdio::piped());
    let mut child = sfdisk.spawn().expect("sfdisk");
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"label: gpt\nstart=2048, size=8192, name=data\n")
        .unwrap();
    assert!(child.wait().unwrap().success());
    std::fs::OpenOptions::new()
        .write(true)
        .open(&grown)
        .unwrap()
        .set_len(96 * MIB)
        .unwrap();

    let listed;
    {
        let mut h = launch(&[
            (&img, DriveOptions::readwrite()),
            (&grown, DriveOptions::readwrite()),
        ]);
        // No table yet.
        let err = h.part_get_parttype("/dev/sda").unwrap_err();
        assert_eq!(err.errno(), Some(Errno::EINVAL), "{err}");
        assert!(
            guestwright::error::chain(&err).contains("part_init"),
            "{}",
            guestwright::error::chain(&err)
        );

        h.part_init("/dev/sda", PartTableType::Gpt)
            .check("part_init");
        assert_eq!(
            h.part_get_parttype("/dev/sda").check("parttype"),
            PartTableType::Gpt
        );
        assert!(h.part_list("/dev/sda").check("part_list").is_empty());

        // Each partition is visible to the kernel as soon as part_add returns.
        h.part_add("/dev/sda", PartKind::Primary, MIB, 33 * MIB - 1)
            .check("part_add 1");
        assert_eq!(kernel_parts(&h, "/dev/sda"), [(1, MIB, 32 * MIB)]);
        h.part_add("/dev/sda", PartKind::Primary, 33 * MIB, 65 * MIB - 1)
            .check("part_add 2");
        h.part_add("/dev/sda", PartKind::Primary, 65 * MIB, 97 * MIB - 1)
            .check("part_add 3");
        assert_eq!(
            kernel_parts(&h, "/dev/sda"),
            [
                (1, MIB, 32 * MIB),
                (2, 33 * MIB, 32 * MIB),
                (3, 65 * MIB, 32 * MIB)
            ]
        );
        assert_eq!(h.blockdev_getsize64("/dev/sda2").check("size"), 32 * MIB);
        assert_eq!(h.blockdev_getss("/dev/sda").check("ss"), 512);
        assert!(!h.blockdev_getro("/dev/sda").check("ro"));

        // Bad requests: overlap, out of range, misaligned, wrong kind, bad numbers.
        let e = h
            .part_add("/dev/sda", PartKind::Primary, 40 * MIB, 50 * MIB - 1)
            .unwrap_err();
        assert_eq!(e.errno(), Some(Errno::EINVAL));
        assert!(
            guestwright::error::chain(&e).contains("overlap partition 2"),
            "{}",
            guestwright::error::chain(&e)
        );
        let e = h
            .part_add("/dev/sda", PartKind::Primary, 100 * MIB, 200 * MIB - 1)
            .unwrap_err();
        assert_eq!(e.errno(), Some(Errno::EINVAL));
        assert!(
            guestwright::error::chain(&e).contains("is outside of the device /dev/sda"),
            "{}",
            guestwright::error::chain(&e)
        );
        let e = h
            .part_add("/dev/sda", PartKind::Primary, 100 * MIB + 1, 110 * MIB - 1)
            .unwrap_err();
        assert_eq!(e.errno(), Some(Errno::EINVAL));
        let e = h
            .part_add("/dev/sda", PartKind::Primary, 100 * MIB, 110 * MIB)
            .unwrap_err();
        assert!(
            guestwright::error::chain(&e).contains("end + 1"),
            "{}",
            guestwright::error::chain(&e)
        );
        let e = h
            .part_add("/dev/sda", PartKind::Logical, 100 * MIB, 110 * MIB - 1)
            .unwrap_err();
        assert_eq!(e.errno(), Some(Errno::EINVAL));
        assert_eq!(
            h.part_del("/dev/sda", 9u32).unwrap_err().errno(),
            Some(Errno::ENOENT)
        );
        assert_eq!(
            h.part_set_mbr_id("/dev/sda", 1u32, 0x83u32)
                .unwrap_err()
                .errno(),
            Some(Errno::EINVAL)
        );
        assert_eq!(
            h.part_set_gpt_type("/dev/sda", 1u32, "not-a-guid")
                .unwrap_err()
                .errno(),
            Some(Errno::EINVAL)
        );
        // A partition where a whole disk is wanted: refused before the operation runs
        // (the table's `Disk` argument type), for reads as for writes.
        let not_a_disk =
            "/dev/sda1: not a whole disk (partition tables live on /dev/sda, /dev/sdb, ...)";
        for e in [
            h.part_init("/dev/sda1", PartTableType::Gpt).unwrap_err(),
            h.part_list("/dev/sda1").unwrap_err(),
            h.blockdev_rereadpt("/dev/sda1").unwrap_err(),
        ] {
            assert_eq!(e.errno(), Some(Errno::EINVAL), "a partition is not a disk");
            assert!(
                guestwright::error::chain(&e).contains(not_a_disk),
                "{}",
                guestwright::error::chain(&e)
            );
        }

        // Names, types, flags.
        h.part_set_name("/dev/sda", 1u32, "root").check("set name");
        h.part_set_name("/dev/sda", 3u32, "data").check("set name");
        assert_eq!(h.part_get_name("/dev/sda", 1u32).check("get name"), "root");
        let swap = "0657FD6D-A4AB-43C4-84E5-0933C84B4F4F";
        h.part_set_gpt_type("/dev/sda", 2u32, swap.to_lowercase())
            .check("set type");
        assert_eq!(
            h.part_get_gpt_type("/dev/sda", 2u32).check("get type"),
            swap
        );
        h.part_set_bootable("/dev/sda", 1u32, true)
            .check("bootable");
        assert!(h.part_get_bootable("/dev/sda", 1u32).check("get bootable"));
        assert!(!h.part_get_bootable("/dev/sda", 3u32).check("get bootable"));

        // Deleting 2 keeps 3 as 3, in the table and in the kernel; the next add reuses 2.
        h.part_del("/dev/sda", 2u32).check("part_del");
        assert_eq!(
            kernel_parts(&h, "/dev/sda"),
            [(1, MIB, 32 * MIB), (3, 65 * MIB, 32 * MIB)]
        );
        assert_eq!(
            h.part_to_partnum("/dev/sda3").check("to_partnum"),
            3,
            "GPT partitions keep their numbers"
        );
        assert_eq!(h.part_get_name("/dev/sda", 3u32).check("name of 3"), "data");
        h.part_add("/dev/sda", PartKind::Primary, 40 * MIB, 50 * MIB - 1)
            .check("part_add in the hole");
        assert_eq!(
            kernel_parts(&h, "/dev/sda"),
            [
                (1, MIB, 32 * MIB),
                (2, 40 * MIB, 10 * MIB),
                (3, 65 * MIB, 32 * MIB)
            ]
        );
        assert_eq!(
            h.part_to_dev("/dev/sda3").check("to_dev"),
            Device::from("/dev/sda")
        );
        assert_eq!(
            h.part_to_dev("/dev/sda").unwrap_err().errno(),
            Some(Errno::EINVAL)
        );

        // The grown disk: its backup header is in the middle until part_expand_gpt.
        let before = h.part_list("/dev/sdb").check("part_list sdb");
        assert_eq!(before.len(), 1);
        assert_eq!(before[0].name.as_deref(), Some("data"));
        let e = h
            .part_add("/dev/sdb", PartKind::Primary, 70 * MIB, 80 * MIB - 1)
            .unwrap_err();
        assert_eq!(e.errno(), Some(Errno::EINVAL), "{e}");
        h.part_expand_gpt("/dev/sdb").check("part_expand_gpt");
        h.part_add("/dev/sdb", PartKind::Primary, 70 * MIB, 80 * MIB - 1)
            .check("part_add in the new space");
        assert_eq!(
            kernel_parts(&h, "/dev/sdb"),
            [(1, MIB, 4 * MIB), (2, 70 * MIB, 10 * MIB)]
        );

        listed = h.part_list("/dev/sda").check("part_list");
        let grown_list = h.part_list("/dev/sdb").check("part_list sdb");
        h.shutdown().check("shutdown");
        assert_same_as_sfdisk(&grown, &grown_list);
    }
    assert_eq!(listed.len(), 3);
    assert_eq!(listed[0].name.as_deref(), Some("root"));
    assert!(listed[0].bootable);
    assert_same_as_sfdisk(&img, &listed);
    sgdisk_verify(&img);
    sgdisk_verify(&grown);
}

#[test]
fn mbr_primary_extended_and_logical_partitions() {
    let dir = tempfile::tempdir().unwrap();
    let img = blank(dir.path(), "mbr.img", 128 * MIB);
    let whole = blank(dir.path(), "whole.img", 32 * MIB);
    let listed;
    let whole_list;
    {
        let mut h = launch(&[
            (&img, DriveOptions::readwrite()),
            (&whole, DriveOptions::readwrite()),
        ]);
        h.part_init("/dev/sda", PartTableType::Mbr)
            .check("part_init");
        assert_eq!(
            h.part_get_parttype("/dev/sda").check("parttype"),
            PartTableType::Mbr
        );
        h.part_add("/dev/sda", PartKind::Primary, MIB, 17 * MIB - 1)
            .check("primary");
        let e = h
            .part_add("/dev/sda", PartKind::Logical, 20 * MIB, 30 * MIB - 1)
            .unwrap_err();
        assert!(
            guestwright::error::chain(&e).contains("extended partition first"),
            "{}",
            guestwright::error::chain(&e)
        );
        h.part_add("/dev/sda", PartKind::Extended, 17 * MIB, 128 * MIB - 1)
            .check("extended");
        let e = h
            .part_add("/dev/sda", PartKind::Extended, 17 * MIB, 20 * MIB - 1)
            .unwrap_err();
        assert_eq!(e.errno(), Some(Errno::EINVAL));
        h.part_add("/dev/sda", PartKind::Logical, 18 * MIB, 50 * MIB - 1)
            .check("logical 5");
        h.part_add("/dev/sda", PartKind::Logical, 51 * MIB, 80 * MIB - 1)
            .check("logical 6");
        // A logical partition right after another has no sector for its EBR.
        let e = h
            .part_add("/dev/sda", PartKind::Logical, 80 * MIB, 90 * MIB - 1)
            .unwrap_err();
        assert_eq!(e.errno(), Some(Errno::EINVAL), "{e}");
        h.part_add("/dev/sda", PartKind::Logical, 81 * MIB, 100 * MIB - 1)
            .check("logical 7");
        // The kernel shows an extended partition as its first KiB.
        assert_eq!(
            kernel_parts(&h, "/dev/sda"),
            [
                (1, MIB, 16 * MIB),
                (2, 17 * MIB, 1024),
                (5, 18 * MIB, 32 * MIB),
                (6, 51 * MIB, 29 * MIB),
                (7, 81 * MIB, 19 * MIB)
            ]
        );
        h.part_set_bootable("/dev/sda", 1u32, true)
            .check("bootable");
        h.part_set_mbr_id("/dev/sda", 6u32, 0x8eu32).check("mbr id");
        assert_eq!(h.part_get_mbr_id("/dev/sda", 6u32).check("get id"), 0x8e);
        assert_eq!(h.part_get_mbr_id("/dev/sda", 2u32).check("get id"), 0x05);
        assert_eq!(
            h.part_set_mbr_id("/dev/sda", 2u32, 0x83u32)
                .unwrap_err()
                .errno(),
            Some(Errno::EINVAL),
            "the extended partition's type is structure, not a label"
        );
        assert_eq!(
            h.part_set_name("/dev/sda", 1u32, "x").unwrap_err().errno(),
            Some(Errno::EINVAL)
        );
        assert_eq!(
            h.part_del("/dev/sda", 2u32).unwrap_err().errno(),
            Some(Errno::EINVAL),
            "the extended partition still holds logical ones"
        );
        // Deleting logical 5 renumbers 6 and 7, like the kernel does.
        h.part_del("/dev/sda", 5u32).check("del 5");
        assert_eq!(
            kernel_parts(&h, "/dev/sda"),
            [
                (1, MIB, 16 * MIB),
                (2, 17 * MIB, 1024),
                (5, 51 * MIB, 29 * MIB),
                (6, 81 * MIB, 19 * MIB)
            ]
        );
        assert_eq!(h.part_get_mbr_id("/dev/sda", 5u32).check("moved id"), 0x8e);

        // part_disk: one partition from sector 128 to 128 sectors before the end, as
        // libguestfs's parted call makes it.
        h.part_disk("/dev/sdb", PartTableType::Mbr)
            .check("part_disk");
        assert_eq!(
            kernel_parts(&h, "/dev/sdb"),
            [(1, 64 * 1024, 32 * MIB - 128 * 1024 + 512)]
        );
        whole_list = h.part_list("/dev/sdb").check("part_list sdb");
        listed = h.part_list("/dev/sda").check("part_list");
        h.shutdown().check("shutdown");
    }
    assert_eq!(
        listed.iter().map(|p| p.partnum).collect::<Vec<_>>(),
        [1, 2, 5, 6]
    );
    assert!(listed[0].bootable && !listed[2].bootable);
    assert_same_as_sfdisk(&img, &listed);
    assert_same_as_sfdisk(&whole, &whole_list);
    assert_eq!(whole_list[0].mbr_id, Some(0x83));
}
