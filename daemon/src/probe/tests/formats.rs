//! One test per format: build the image with its real tool, compare with blkid, check the
//! geometry the tool was asked for, and flip bits in the superblock.

use super::super::crc::lvm_crc;
use super::super::{Fs, Kind, TableType};
use super::fixtures::*;
use std::ffi::OsStr;
use std::fs;
use tempfile::TempDir;

const MIB: u64 = 1024 * 1024;

fn tmp() -> TempDir {
    tempfile::tempdir().unwrap()
}

#[test]
fn ext2_ext3_ext4_match_blkid() {
    let dir = tmp();
    let cases = [
        (
            "mkfs.ext2",
            Fs::Ext2,
            "two",
            "11111111-2222-3333-4444-555555555555",
            &[][..],
        ),
        (
            "mkfs.ext3",
            Fs::Ext3,
            "three",
            "22222222-2222-3333-4444-555555555555",
            &[][..],
        ),
        (
            "mkfs.ext4",
            Fs::Ext4,
            "four",
            "33333333-2222-3333-4444-555555555555",
            &[][..],
        ),
        (
            "mkfs.ext4",
            Fs::Ext4,
            "big blocks",
            "44444444-2222-3333-4444-555555555555",
            &["-b", "4096", "-O", "64bit"][..],
        ),
        // ext4 features on an ext2-style (journal-less) filesystem: still ext4.
        (
            "mkfs.ext4",
            Fs::Ext4,
            "nojournal",
            "55555555-2222-3333-4444-555555555555",
            &["-O", "^has_journal"][..],
        ),
    ];
    for (mkfs, fs, label, uuid, extra) in cases {
        let img = sparse(dir.path(), &format!("{label}.img"), 64 * MIB);
        let mut args = vec!["-q", "-F", "-L", label, "-U", uuid];
        args.extend_from_slice(extra);
        run(mkfs, &args, &img);
        let p = agrees_with_blkid(&img);
        assert_eq!(p.kind, Kind::Filesystem(fs));
        assert_eq!(
            (p.label.as_deref(), p.uuid.as_deref()),
            (Some(label), Some(uuid))
        );
        assert_eq!(
            p.size,
            Some(64 * MIB),
            "{label}: the filesystem fills the image"
        );
        if extra.contains(&"4096") {
            assert_eq!(p.block_size, Some(4096));
        }
        // ext4 as Debian makes it carries metadata_csum: every superblock bit is covered.
        survives_bit_flips(&img, 1024..2048, fs == Fs::Ext4, &p);
    }
    // An external journal shares the superblock format; blkid calls it jbd.
    let img = sparse(dir.path(), "journal.img", 16 * MIB);
    run(
        "mkfs.ext4",
        &[
            "-q",
            "-F",
            "-O",
            "journal_dev",
            "-L",
            "journal",
            "-U",
            "66666666-2222-3333-4444-555555555555",
        ],
        &img,
    );
    let p = agrees_with_blkid(&img);
    assert_eq!(
        (p.kind, p.label.as_deref()),
        (Kind::ExtJournal, Some("journal"))
    );
}

#[test]
fn ext_label_is_decoded_leniently_like_blkid() {
    let dir = tmp();
    let img = sparse(dir.path(), "raw-label.img", 8 * MIB);
    run("mkfs.ext2", &["-q", "-F"], &img);
    // s_volume_name at 0x78 of the superblock: invalid UTF-8, then trailing blanks and NULs.
    patch(&img, 1024 + 0x78, b"caf\xe9 x  \t\0\0junk\0\0");
    let p = agrees_with_blkid(&img);
    assert_eq!(p.label.as_deref(), Some("caf\u{fffd} x"));
}

#[test]
fn xfs_matches_blkid() {
    let dir = tmp();
    let img = sparse(dir.path(), "xfs.img", 320 * MIB);
    run(
        "mkfs.xfs",
        &[
            "-q",
            "-f",
            "-L",
            "xlabel",
            "-m",
            "uuid=66666666-2222-3333-4444-555555555555",
            "-b",
            "size=4096",
        ],
        &img,
    );
    let p = agrees_with_blkid(&img);
    assert_eq!(p.kind, Kind::Filesystem(Fs::Xfs));
    assert_eq!(p.label.as_deref(), Some("xlabel"));
    assert_eq!(
        p.uuid.as_deref(),
        Some("66666666-2222-3333-4444-555555555555")
    );
    assert_eq!(p.block_size, Some(4096));
    assert_eq!(p.size, Some(320 * MIB));
    // A v5 superblock: its CRC covers the 512-byte sector.
    survives_bit_flips(&img, 0..512, true, &p);
}

#[test]
fn btrfs_matches_blkid() {
    let dir = tmp();
    let img = sparse(dir.path(), "btrfs.img", 256 * MIB);
    run(
        "mkfs.btrfs",
        &[
            "-q",
            "-f",
            "-L",
            "blabel",
            "-U",
            "77777777-2222-3333-4444-555555555555",
        ],
        &img,
    );
    let p = agrees_with_blkid(&img);
    assert_eq!(p.kind, Kind::Filesystem(Fs::Btrfs));
    assert_eq!(p.label.as_deref(), Some("blabel"));
    assert_eq!(p.size, Some(256 * MIB));
    assert_eq!(p.block_size, Some(4096));
    survives_bit_flips(&img, 65536..65536 + 4096, true, &p);
}

#[test]
fn fat12_fat16_fat32_match_blkid() {
    let dir = tmp();
    for (bits, size, label, serial, uuid) in [
        ("12", 4 * MIB, "SMALL", "1234ABCD", "1234-ABCD"),
        ("16", 64 * MIB, "Mixed Case", "0000BEEF", "0000-BEEF"),
        ("32", 300 * MIB, "THIRTY TWO", "DEADBEEF", "DEAD-BEEF"),
    ] {
        let img = sparse(dir.path(), &format!("fat{bits}.img"), size);
        run("mkfs.vfat", &["-F", bits, "-n", label, "-i", serial], &img);
        let p = agrees_with_blkid(&img);
        assert_eq!(p.kind, Kind::Filesystem(Fs::Vfat));
        assert_eq!(p.version.as_deref(), Some(format!("FAT{bits}").as_str()));
        assert_eq!(
            (p.label.as_deref(), p.uuid.as_deref()),
            (Some(label), Some(uuid))
        );
        let total = p.size.unwrap();
        assert!(
            total <= size && total > size - MIB,
            "FAT{bits}: size {total} of {size}"
        );
        survives_bit_flips(&img, 0..512, false, &p);
    }
}

/// blkid takes `LABEL=` from the root directory's volume-label entry only; the boot sector's
/// copy is its `LABEL_FATBOOT`. Both cases, against blkid.
#[test]
fn fat_label_comes_from_the_root_directory() {
    let dir = tmp();
    let img = sparse(dir.path(), "fat.img", 16 * MIB);
    run("mkfs.vfat", &["-F", "16", "-n", "ROOTLABEL"], &img);
    let bs = read_at(&img, 0, 512);
    let le16 = |o: usize| u64::from(u16::from_le_bytes([bs[o], bs[o + 1]]));
    let root = (le16(0x0E) + u64::from(bs[0x10]) * le16(0x16)) * le16(0x0B);
    assert_eq!(
        &read_at(&img, root, 11),
        b"ROOTLABEL  ",
        "mkfs.vfat put the label entry first"
    );

    // The boot sector says NO NAME, the directory has the label: the directory wins.
    patch(&img, 0x2B, b"NO NAME    ");
    assert_eq!(agrees_with_blkid(&img).label.as_deref(), Some("ROOTLABEL"));

    // The entry deleted (0xE5): no label, even though the boot sector has one again.
    patch(&img, 0x2B, b"BOOTLABEL  ");
    patch(&img, root, &[0xE5]);
    assert_eq!(agrees_with_blkid(&img).label, None);
}

#[test]
fn exfat_matches_blkid() {
    let dir = tmp();
    let img = sparse(dir.path(), "exfat.img", 64 * MIB);
    run("mkfs.exfat", &["-L", "Ex Label"], &img);
    let p = agrees_with_blkid(&img);
    assert_eq!(p.kind, Kind::Filesystem(Fs::Exfat));
    assert_eq!(p.label.as_deref(), Some("Ex Label"));
    assert!(
        p.uuid
            .as_deref()
            .is_some_and(|u| u.len() == 9 && u.as_bytes()[4] == b'-'),
        "{:?}",
        p.uuid
    );
    assert_eq!(p.size, Some(64 * MIB));
    // The boot checksum covers sector 0 except VolumeFlags and PercentInUse. A damaged name
    // ("EXFAT   " at 3) is checked before the sum and leaves an empty MS-DOS table behind.
    survives_bit_flips(&img, 0..3, true, &p);
    survives_bit_flips(&img, 3..11, false, &p);
    survives_bit_flips(&img, 11..106, true, &p);
    survives_bit_flips(&img, 113..512, true, &p);
}

#[test]
fn ntfs_matches_blkid() {
    let dir = tmp();
    let img = sparse(dir.path(), "ntfs.img", 64 * MIB);
    run("mkntfs", &["-q", "-F", "-Q", "-L", "NTFS Label"], &img);
    let p = agrees_with_blkid(&img);
    assert_eq!(p.kind, Kind::Filesystem(Fs::Ntfs));
    assert_eq!(p.label.as_deref(), Some("NTFS Label"));
    assert!(
        p.uuid.as_deref().is_some_and(|u| u.len() == 16),
        "{:?}",
        p.uuid
    );
    survives_bit_flips(&img, 0..512, false, &p);
}

#[test]
fn iso9660_and_joliet_match_blkid() {
    let dir = tmp();
    let content = dir.path().join("content");
    fs::create_dir(&content).unwrap();
    fs::write(content.join("hello.txt"), "hello\n").unwrap();
    for (name, label, joliet) in [
        ("plain.iso", "PLAIN_ISO", false),
        ("joliet.iso", "My Joliet Disc", true),
        // Longer than Joliet's 16 characters: the primary descriptor supplies the rest.
        ("long.iso", "A_Very_Long_Volume_Label_32chars", true),
    ] {
        let img = dir.path().join(name);
        let mut args: Vec<&OsStr> = ["-as", "mkisofs", "-quiet", "-V", label, "-o"]
            .map(OsStr::new)
            .to_vec();
        args.push(img.as_os_str());
        if joliet {
            args.push(OsStr::new("-J"));
        }
        args.push(content.as_os_str());
        run_with_input("xorriso", &args, b"");
        let p = agrees_with_blkid(&img);
        assert_eq!(p.kind, Kind::Filesystem(Fs::Iso9660));
        assert_eq!(p.label.as_deref(), Some(label));
        assert_eq!(p.version.as_deref(), joliet.then_some("Joliet Extension"));
        assert_eq!(p.size, Some(fs::metadata(&img).unwrap().len()));
        survives_bit_flips(&img, 32768..32768 + 2048, false, &p);
    }
}

/// An ISO with an MS-DOS table whose partition lies inside the image (what hybrid ISOs carry)
/// is an ISO, as blkid's `TYPE=` says.
#[test]
fn hybrid_iso_is_iso9660() {
    let dir = tmp();
    let content = dir.path().join("content");
    fs::create_dir(&content).unwrap();
    fs::write(content.join("a"), "a").unwrap();
    let img = dir.path().join("hybrid.iso");
    let args = [
        "-as",
        "mkisofs",
        "-quiet",
        "--protective-msdos-label",
        "-V",
        "HYBRID",
        "-o",
    ]
    .map(OsStr::new);
    run_with_input(
        "xorriso",
        &[&args[..], &[img.as_os_str(), content.as_os_str()]].concat(),
        b"",
    );
    assert_eq!(
        blkid(&img, "PTTYPE").as_deref(),
        Some("dos"),
        "the image does carry a table"
    );
    let p = agrees_with_blkid(&img);
    assert_eq!(
        (p.kind, p.label.as_deref()),
        (Kind::Filesystem(Fs::Iso9660), Some("HYBRID"))
    );
}

#[test]
fn udf_matches_blkid() {
    let dir = tmp();
    for (block, label) in [("512", "udf label"), ("2048", "UDF2048")] {
        let img = sparse(dir.path(), &format!("udf{block}.img"), 64 * MIB);
        run("mkudffs", &["--blocksize", block, "--label", label], &img);
        let p = agrees_with_blkid(&img);
        assert_eq!(p.kind, Kind::Filesystem(Fs::Udf));
        assert_eq!(p.label.as_deref(), Some(label));
        assert_eq!(p.block_size, Some(block.parse().unwrap()));
        assert!(
            p.uuid.as_deref().is_some_and(|u| u.len() == 16),
            "{:?}",
            p.uuid
        );
        survives_bit_flips(&img, 32768..32768 + 3 * 2048, false, &p);
    }
}

#[test]
fn swap_matches_blkid() {
    let dir = tmp();
    let img = sparse(dir.path(), "swap.img", 16 * MIB);
    run(
        "mkswap",
        &[
            "-L",
            "swaplabel",
            "-U",
            "88888888-2222-3333-4444-555555555555",
        ],
        &img,
    );
    let p = agrees_with_blkid(&img);
    assert_eq!(p.kind, Kind::Swap);
    assert_eq!(p.label.as_deref(), Some("swaplabel"));
    assert_eq!(p.size, Some(16 * MIB));
    survives_bit_flips(&img, 1024..1536, false, &p);
    survives_bit_flips(&img, 4086..4096, false, &p);
}

#[test]
fn luks1_and_luks2_match_blkid() {
    let dir = tmp();
    for (kind, label) in [("luks1", None), ("luks2", Some("cryptlabel"))] {
        let img = sparse(dir.path(), &format!("{kind}.img"), 32 * MIB);
        let uuid = "99999999-2222-3333-4444-555555555555";
        let mut args = vec![
            "luksFormat",
            "--batch-mode",
            "--type",
            kind,
            "--pbkdf",
            "pbkdf2",
        ];
        args.extend([
            "--pbkdf-force-iterations",
            "1000",
            "--uuid",
            uuid,
            "--key-file",
            "-",
        ]);
        if let Some(label) = label {
            args.extend(["--label", label]);
        }
        let mut all: Vec<&OsStr> = args.iter().map(OsStr::new).collect();
        all.push(img.as_os_str());
        run_with_input("cryptsetup", &all, b"passphrase");
        let p = agrees_with_blkid(&img);
        assert_eq!(p.kind, Kind::Luks);
        assert_eq!(p.uuid.as_deref(), Some(uuid));
        assert_eq!(p.label.as_deref(), label);
        assert_eq!(p.version.as_deref(), Some(&kind[4..]));
        survives_bit_flips(&img, 0..512, false, &p);
    }
}

#[test]
fn squashfs_matches_blkid() {
    let dir = tmp();
    let content = dir.path().join("content");
    fs::create_dir(&content).unwrap();
    fs::write(content.join("f"), vec![b'x'; 100_000]).unwrap();
    let img = dir.path().join("squash.img");
    let args = [
        content.as_os_str(),
        img.as_os_str(),
        OsStr::new("-quiet"),
        OsStr::new("-noappend"),
        OsStr::new("-no-progress"),
    ];
    run_with_input("mksquashfs", &args, b"");
    let p = agrees_with_blkid(&img);
    assert_eq!(p.kind, Kind::Filesystem(Fs::Squashfs));
    assert_eq!(p.block_size, Some(128 * 1024));
    assert!(p
        .size
        .is_some_and(|s| s <= fs::metadata(&img).unwrap().len()));
    survives_bit_flips(&img, 0..96, false, &p);
}

#[test]
fn gpt_and_mbr_match_blkid() {
    let dir = tmp();
    let gpt = sparse(dir.path(), "gpt.img", 64 * MIB);
    let guid = "aaaaaaaa-2222-3333-4444-555555555555";
    run(
        "sgdisk",
        &[
            "-o",
            "-n",
            "1:2048:+10M",
            "-t",
            "1:ef00",
            "-n",
            "2:0:0",
            "-U",
            guid,
        ],
        &gpt,
    );
    let p = agrees_with_blkid(&gpt);
    assert_eq!(
        (p.kind, p.uuid.as_deref()),
        (Kind::PartitionTable(TableType::Gpt), Some(guid))
    );
    // The header is CRC-protected; damaging it makes the probe use the backup.
    survives_bit_flips(&gpt, 512..512 + 92, true, &p);

    let mbr = sparse(dir.path(), "mbr.img", 64 * MIB);
    let script = b"label: dos\nlabel-id: 0x12345678\n2048,20480,c,*\n,,83\n";
    run_with_input("sfdisk", &[OsStr::new("-q"), mbr.as_os_str()], script);
    let p = agrees_with_blkid(&mbr);
    assert_eq!(
        (p.kind, p.uuid.as_deref()),
        (Kind::PartitionTable(TableType::Mbr), Some("12345678"))
    );
}

#[test]
fn gpt_with_a_damaged_primary_header_uses_the_backup() {
    let dir = tmp();
    let img = sparse(dir.path(), "gpt.img", 16 * MIB);
    run(
        "sgdisk",
        &[
            "-o",
            "-n",
            "1:0:0",
            "-U",
            "bbbbbbbb-2222-3333-4444-555555555555",
        ],
        &img,
    );
    patch(&img, 512, b"XXX PART");
    let p = agrees_with_blkid(&img);
    assert_eq!(p.kind, Kind::PartitionTable(TableType::Gpt));
    // Both headers gone: a protective MBR, which blkid calls PMBR.
    patch(&img, 16 * MIB - 512, b"XXX PART");
    let p = agrees_with_blkid(&img);
    assert_eq!(p.kind, Kind::PartitionTable(TableType::ProtectiveMbr));
}

/// A disk that held a filesystem and was then partitioned keeps the old superblock where the
/// partitioning tool did not write (btrfs's is at 64 KiB, before the first partition): the
/// table is what the disk is now.
#[test]
fn stale_superblock_under_a_partition_table_is_ignored() {
    let dir = tmp();
    let img = sparse(dir.path(), "stale.img", 128 * MIB);
    run("mkfs.btrfs", &["-q", "-f", "-L", "stale"], &img);
    run("sgdisk", &["-o", "-n", "1:2048:0"], &img);
    assert_eq!(
        &read_at(&img, 65536 + 64, 8),
        b"_BHRfS_M",
        "the old superblock is still there"
    );
    let p = agrees_with_blkid(&img);
    assert_eq!(p.kind, Kind::PartitionTable(TableType::Gpt));
}

/// An LVM2 PV label built by hand as `pvcreate` writes it (the host has no device-mapper
/// and tests may not have loop devices): label header in sector 1, PV header, one data area,
/// one metadata area, the PV header extension. blkid checks the checksum computed here.
#[test]
fn lvm2_pv_matches_blkid() {
    let dir = tmp();
    let img = sparse(dir.path(), "pv.img", 8 * MIB);
    let uuid = b"abcdefGHIJKLmnop0123qrstUVWX4567";
    patch(&img, 512, &lvm_label(uuid, 8 * MIB));
    let p = agrees_with_blkid(&img);
    assert_eq!(p.kind, Kind::LvmPv);
    assert_eq!(
        p.uuid.as_deref(),
        Some("abcdef-GHIJ-KLmn-op01-23qr-stUV-WX4567")
    );
    assert_eq!(p.size, Some(8 * MIB));
    survives_bit_flips(&img, 512..1024, true, &p);

    // An MS-DOS table written over it later (pvcreate zeroes sector 0, so the table is the
    // newer of the two): the table, as blkid says.
    let script = b"label: dos\nlabel-id: 0x11223344\n2048,,83\n";
    run_with_input(
        "sfdisk",
        &[
            OsStr::new("-q"),
            OsStr::new("--wipe"),
            OsStr::new("never"),
            img.as_os_str(),
        ],
        script,
    );
    assert_eq!(
        &read_at(&img, 512, 8),
        b"LABELONE",
        "the label is still there"
    );
    let p = agrees_with_blkid(&img);
    assert_eq!(
        (p.kind, p.uuid.as_deref()),
        (Kind::PartitionTable(TableType::Mbr), Some("11223344"))
    );
}

/// Sector 1 of a fresh PV the way lvm2's `label_write` and `_text_write` lay it out.
pub fn lvm_label(uuid: &[u8; 32], device_size: u64) -> [u8; 512] {
    let mut s = [0u8; 512];
    let mut put = |at: usize, bytes: &[u8]| s[at..at + bytes.len()].copy_from_slice(bytes);
    put(0, b"LABELONE");
    put(8, &1u64.to_le_bytes()); // sector_xl
    put(20, &32u32.to_le_bytes()); // offset_xl: the PV header follows the label header
    put(24, b"LVM2 001");
    put(32, uuid);
    put(64, &device_size.to_le_bytes());
    put(72, &MIB.to_le_bytes()); // data area at 1 MiB, size 0 (to the end); then a null entry
    put(104, &4096u64.to_le_bytes()); // metadata area at 4 KiB ...
    put(112, &(MIB - 4096).to_le_bytes()); // ... up to the data area; then a null entry
    put(136, &2u32.to_le_bytes()); // PV header extension version 2, no flags, no bootloader area
    let crc = lvm_crc(&s[20..]);
    s[16..20].copy_from_slice(&crc.to_le_bytes());
    s
}
