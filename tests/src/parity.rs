//! Small guests for comparing `guestwright inspect` with virt-inspector 1.48, one per kind
//! of release file, package database and disk layout inspection must read. Each is our own
//! recipe (libguestfs's phony guests show which files inspection reads), built with fixed
//! UUIDs so that the answers recorded once by `scripts/record-inspector` hold for every
//! rebuild, and cached under `~/.cache/guestwright-tests` keyed by this file.

use crate::luks::cached;
use crate::rpmguest::install_rpmdb;
use crate::{launch, make_tree, require, run, Check, File};
use guestwright::prelude::*;
use guestwright::protocol::{Data, Secret};
use guestwright::Handle;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The guests, by name: `tests/inspect/expected/NAME.xml` holds virt-inspector's answer.
pub const PARITY_GUESTS: &[&str] = &[
    "debian12",
    "ubuntu-lsb",
    "fedora14",
    "archlinux",
    "debian-md",
    "debian-md5",
    "debian-md-part",
    "debian-luks",
    "rocky-lvm-luks",
    "debian-luks-lvm",
    "opensuse-leap",
    "sles11",
    "fedora38",
    "alpine",
];

/// The guests built by their own recipes (tests/src/windows.rs, tests/src/coreos.rs) and
/// compared by tests/tests/inspect_windows.rs; their answers are in tests/inspect/expected
/// too, recorded by the same script.
pub const INSPECTOR_GUESTS: &[&str] = &["windows", "coreos"];

/// Guests inspected with `--no-applications`: the rpm guests built without an rpm database,
/// on which virt-inspector 1.48 fails outright (`internal_list_rpm_applications:
/// rpmtsInitIterator`).
pub const PARITY_NO_APPLICATIONS: &[&str] = &["rocky-lvm-luks", "opensuse-leap", "sles11"];

/// The passphrase of the encrypted parity guests.
pub const PARITY_KEY: &str = "parity-key";

/// The options `guestwright inspect` and virt-inspector are given for guest `name`: the
/// encrypted ones get their key by device, as virt-inspector 1.48 takes it.
pub fn parity_options(name: &str) -> Vec<String> {
    let mut o = Vec::new();
    if PARITY_NO_APPLICATIONS.contains(&name) {
        o.push("--no-applications".to_string());
    }
    match name {
        "debian-luks" | "rocky-lvm-luks" => o.push(format!("--key=/dev/sda1:key:{PARITY_KEY}")),
        "debian-luks-lvm" => o.push(format!("--key=/dev/vgluks/cryptroot:key:{PARITY_KEY}")),
        _ => {}
    }
    o
}

/// UUID of every parity guest's root filesystem.
pub const PARITY_ROOT_UUID: &str = "5b0e6f3c-9a43-4d3e-8b1f-2f6c1d7e9a01";

const FSTAB: &str = "# <fs> <mountpoint> <type> <options> <dump> <pass>\nUUID=5b0e6f3c-9a43-4d3e-8b1f-2f6c1d7e9a01 / ext4 defaults 0 1\n";

/// A dpkg database with a package in each state virt-inspector treats differently.
const DPKG_STATUS: &str = "Package: adduser\nStatus: install ok installed\nPriority: important\nArchitecture: all\nVersion: 3.134\nHomepage: https://salsa.debian.org/debian/adduser\nDescription: add and remove users and groups\n This package includes the 'adduser' and 'deluser' commands.\n .\n A second paragraph.\n\n\
Package: bash\nStatus: install ok installed\nArchitecture: amd64\nSource: bash (5.2.15-2)\nVersion: 5.2.15-2+b2\nDescription: GNU Bourne Again SHell\n\n\
Package: held\nStatus: hold ok installed\nArchitecture: amd64\nVersion: 1.0-1-2\n\n\
Package: halfconf\nStatus: install ok half-configured\nArchitecture: amd64\nVersion: 2.0-1\n\n\
Package: halfinst\nStatus: install ok half-installed\nArchitecture: amd64\nVersion: 2.1-1\n\n\
Package: unpacked\nStatus: install ok unpacked\nArchitecture: amd64\nVersion: 2.2-1\n\n\
Package: oldconf\nStatus: deinstall ok config-files\nArchitecture: amd64\nVersion: 1.0-1\n\n\
Package: notinst\nStatus: purge ok not-installed\nArchitecture: amd64\nVersion: 3.0-1\n\n\
Package: vim-tiny\nStatus: install ok installed\nArchitecture: amd64\nVersion: 2:9.0.1378-2\nDescription: Vi IMproved - enhanced vi editor - compact version\n\n";

/// An apk database: a package of each shape virt-inspector treats differently.
const APK_INSTALLED: &str = "C:Q1p78yvTLG094tHE1+dToJGbmYzQE=\nP:musl\nV:1.2.4_git20230717-r4\nA:x86_64\nS:383458\nI:626688\nT:the musl c library (libc) implementation\nU:https://musl.libc.org/\nL:MIT\no:musl\nm:Natanael Copa <ncopa@alpinelinux.org>\nt:1705000000\nc:f93af038c3de7146121c2ea8124ba5ce29b4b058\nF:lib\nR:ld-musl-x86_64.so.1\na:0:0:755\n\n\
C:Q1abc=\nP:busybox\nV:1.36.1-r15\nA:x86_64\nT:Size optimized toolbox of many common UNIX utilities\nU:https://busybox.net/\nL:GPL-2.0-only\n\n\
P:alpine-baselayout-data\nV:3.4.3-r2\nA:x86_64\nT:Alpine base dir structure and init scripts <&>\nU:https://git.alpinelinux.org/cgit/aports/tree/main/alpine-baselayout\n\n\
P:norelease\nV:7.0\nA:noarch\nT:A version without a release\n\n\
P:withepoch\nV:3:2.0-r1\nA:x86_64\n\n\
P:nourl\nV:1.0-r0\nA:x86_64\nT:No home page\n\n\
P:last-unterminated\nV:9.9-r9\nA:x86_64\n";

const PACMAN_BASH: &str = "%NAME%\nbash\n\n%VERSION%\n5.2.026-2\n\n%BASE%\nbash\n\n%DESC%\nThe GNU Bourne Again shell\n\n%URL%\nhttps://www.gnu.org/software/bash/bash.html\n\n%ARCH%\nx86_64\n\n%SIZE%\n9437184\n";
const PACMAN_ZLIB: &str = "%NAME%\nzlib\n\n%VERSION%\n1:1.3.1-2\n\n%DESC%\nCompression library implementing the deflate compression method found in gzip and PKZIP\n\n%URL%\nhttps://www.zlib.net/\n\n%ARCH%\nx86_64\n";
const PACMAN_BROKEN: &str = "%NAME%\nbroken\n\n%VERSION%\n1.0\n\n%ARCH%\nany\n";

fn files_of(name: &str) -> Vec<(&'static str, Vec<u8>)> {
    let mut f: Vec<(&str, Vec<u8>)> = vec![("/etc/fstab", FSTAB.into())];
    let add = |f: &mut Vec<(&'static str, Vec<u8>)>, p: &'static str, c: &str| {
        f.push((p, c.as_bytes().to_vec()))
    };
    match name {
        "debian12" | "debian-md" | "debian-md5" | "debian-md-part" | "debian-md-degraded"
        | "debian-luks" | "debian-luks-lvm" => {
            add(&mut f, "/etc/os-release", "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\nVERSION=\"12 (bookworm)\"\nVERSION_CODENAME=bookworm\nID=debian\n");
            add(&mut f, "/etc/debian_version", "12.5\n");
            add(
                &mut f,
                "/etc/hostname",
                match name {
                    "debian12" => "bookworm\n",
                    "debian-luks" | "debian-luks-lvm" => "crypt-host\n",
                    _ => "raid-host\n",
                },
            );
            add(&mut f, "/var/lib/dpkg/status", DPKG_STATUS);
        }
        "ubuntu-lsb" => {
            add(&mut f, "/etc/lsb-release", "DISTRIB_ID=Ubuntu\nDISTRIB_RELEASE=10.10\nDISTRIB_CODENAME=maverick\nDISTRIB_DESCRIPTION=\"Ubuntu 10.10 (Maverick Meerkat)\"\n");
            add(&mut f, "/etc/debian_version", "squeeze/sid\n");
            add(&mut f, "/etc/hostname", "maverick\n");
            add(&mut f, "/var/lib/dpkg/status", DPKG_STATUS);
        }
        "fedora14" => {
            add(
                &mut f,
                "/etc/redhat-release",
                "Fedora release 14 (Laughlin)\n",
            );
            add(
                &mut f,
                "/etc/fedora-release",
                "Fedora release 14 (Laughlin)\n",
            );
            add(&mut f, "/etc/hostname", "laughlin.example.invalid\n");
        }
        "archlinux" => {
            add(&mut f, "/etc/os-release", "NAME=\"Arch Linux\"\nPRETTY_NAME=\"Arch Linux\"\nID=arch\nBUILD_ID=rolling\nHOME_URL=\"https://archlinux.org/\"\n");
            add(&mut f, "/etc/arch-release", "");
            add(&mut f, "/etc/hostname", "archbox\n");
            add(&mut f, "/var/lib/pacman/local/ALPM_DB_VERSION", "9\n");
            add(
                &mut f,
                "/var/lib/pacman/local/bash-5.2.026-2/desc",
                PACMAN_BASH,
            );
            add(
                &mut f,
                "/var/lib/pacman/local/zlib-1:1.3.1-2/desc",
                PACMAN_ZLIB,
            );
            add(
                &mut f,
                "/var/lib/pacman/local/broken-1.0/desc",
                PACMAN_BROKEN,
            );
        }
        "rocky-lvm-luks" => {
            add(&mut f, "/etc/os-release", "NAME=\"Rocky Linux\"\nVERSION=\"9.3 (Blue Onyx)\"\nID=\"rocky\"\nID_LIKE=\"rhel centos fedora\"\nVERSION_ID=\"9.3\"\nPLATFORM_ID=\"platform:el9\"\nPRETTY_NAME=\"Rocky Linux 9.3 (Blue Onyx)\"\nANSI_COLOR=\"0;32\"\n");
            add(
                &mut f,
                "/etc/redhat-release",
                "Rocky Linux release 9.3 (Blue Onyx)\n",
            );
            add(
                &mut f,
                "/etc/rocky-release",
                "Rocky Linux release 9.3 (Blue Onyx)\n",
            );
            add(&mut f, "/etc/hostname", "crypt9.example.invalid\n");
        }
        "opensuse-leap" => {
            add(&mut f, "/etc/os-release", "NAME=\"openSUSE Leap\"\nVERSION=\"15.5\"\nID=\"opensuse-leap\"\nID_LIKE=\"suse opensuse\"\nVERSION_ID=\"15.5\"\nPRETTY_NAME=\"openSUSE Leap 15.5\"\nANSI_COLOR=\"0;32\"\nCPE_NAME=\"cpe:/o:opensuse:leap:15.5\"\n");
            add(&mut f, "/etc/HOSTNAME", "leap.example.invalid\n");
        }
        "sles11" => {
            add(
                &mut f,
                "/etc/SuSE-release",
                "SUSE Linux Enterprise Server 11 (x86_64)\nVERSION = 11\nPATCHLEVEL = 4\n",
            );
            add(&mut f, "/etc/HOSTNAME", "sles11.example.invalid\n");
        }
        "fedora38" => {
            add(&mut f, "/etc/os-release", "NAME=\"Fedora Linux\"\nVERSION=\"38 (Server Edition)\"\nID=fedora\nVERSION_ID=38\nPRETTY_NAME=\"Fedora Linux 38 (Server Edition)\"\nVARIANT=\"Server Edition\"\nVARIANT_ID=server\n");
            add(
                &mut f,
                "/etc/fedora-release",
                "Fedora release 38 (Thirty Eight)\n",
            );
            add(
                &mut f,
                "/etc/redhat-release",
                "Fedora release 38 (Thirty Eight)\n",
            );
            add(&mut f, "/etc/hostname", "f38.example.invalid\n");
        }
        "alpine" => {
            add(&mut f, "/etc/os-release", "NAME=\"Alpine Linux\"\nID=alpine\nVERSION_ID=3.19.1\nPRETTY_NAME=\"Alpine Linux v3.19\"\nHOME_URL=\"https://alpinelinux.org/\"\n");
            add(&mut f, "/etc/alpine-release", "3.19.1\n");
            add(&mut f, "/etc/hostname", "alpine\n");
            add(&mut f, "/lib/apk/db/installed", APK_INSTALLED);
        }
        other => panic!("no parity guest named {other}"),
    }
    f
}

/// Makes the root tree: the guest's files, a real ELF `/bin/sh` and `/usr/bin`.
fn tree(dir: &Path, name: &str) -> PathBuf {
    let contents = files_of(name);
    let mut files: Vec<File<'_>> = contents
        .iter()
        .map(|(p, c)| File {
            path: p,
            content: c,
            mode: 0o644,
        })
        .collect();
    let sh = std::fs::read("/bin/dash")
        .or_else(|_| std::fs::read("/bin/sh"))
        .expect("a host /bin/sh");
    files.push(File {
        path: "/bin/sh",
        content: &sh,
        mode: 0o755,
    });
    files.push(File {
        path: "/usr/bin/.keep",
        content: b"",
        mode: 0o644,
    });
    make_tree(dir, &files)
}

/// mkfs.ext4 of `tree` into `img` at `offset`, `size` bytes, with the fixed UUID.
fn ext4_at(img: &Path, tree: &Path, offset: u64, size: u64) {
    require("mkfs.ext4", "e2fsprogs");
    run(Command::new("mkfs.ext4")
        .args(["-q", "-F", "-U", PARITY_ROOT_UUID, "-d"])
        .arg(tree)
        .arg("-E")
        .arg(format!("offset={offset}"))
        .arg(img)
        .arg(format!("{}k", size / 1024)));
}

/// The disk images of parity guest `name`, copied into `dir`.
pub fn parity_guest(dir: &Path, name: &str) -> Vec<PathBuf> {
    let recipe = format!(
        "parity v1 {name}\n{}\n{}",
        include_str!("parity.rs"),
        include_str!("rpmguest.rs")
    );
    let img = cached(&recipe, dir, &format!("parity-{name}"), |out| {
        let work = tempfile::tempdir().unwrap();
        let root = tree(work.path(), name);
        match name {
            "fedora14" => install_rpmdb(&root, true),
            "fedora38" => install_rpmdb(&root, false),
            _ => {}
        }
        let fs = work.path().join("root.ext4");
        std::fs::File::create(&fs)
            .unwrap()
            .set_len(ROOT_SIZE)
            .unwrap();
        ext4_at(&fs, &root, 0, ROOT_SIZE);
        match name {
            "debian-md" => md_disk(out, &root),
            "debian-md5" => md_built(out, 3, "raid5", &fs),
            "debian-md-part" => {
                // The array holds a partition table of its own: GPT, the root in md127p1.
                let inner = work.path().join("inner.img");
                std::fs::File::create(&inner)
                    .unwrap()
                    .set_len(ROOT_SIZE + (2 << 20))
                    .unwrap();
                gpt(&inner, &[(1 << 20, ROOT_SIZE, "L")]);
                ext4_at(&inner, &root, 1 << 20, ROOT_SIZE);
                md_built(out, 2, "raid1", &inner);
            }
            "debian-md-degraded" => {
                md_built(out, 2, "raid1", &fs);
                // The second member is gone: its partition holds zeros.
                let f = std::fs::OpenOptions::new().write(true).open(out).unwrap();
                let start = (1 << 20) + MD_PART;
                let zeros = vec![0u8; MD_PART as usize];
                std::os::unix::fs::FileExt::write_all_at(&f, &zeros, start).unwrap();
            }
            "debian-luks" => in_appliance(out, &fs, Layout::Luks),
            "rocky-lvm-luks" => in_appliance(out, &fs, Layout::LvmOnLuks),
            "debian-luks-lvm" => in_appliance(out, &fs, Layout::LuksOnLvm),
            _ => {
                std::fs::copy(&fs, out).unwrap();
            }
        }
    });
    vec![img]
}

/// Size of every parity guest's root filesystem.
const ROOT_SIZE: u64 = 48 << 20;
/// Size of each md member partition.
const MD_PART: u64 = 56 << 20;
/// What LUKS2 keeps before its payload (cryptsetup's default header and key area).
const LUKS2_HEADER: u64 = 16 << 20;

/// Writes a GPT with `parts` (start, size, sfdisk type) onto `img`.
fn gpt(img: &Path, parts: &[(u64, u64, &str)]) {
    let mut table = String::from("label: gpt\n");
    for (start, size, kind) in parts {
        table.push_str(&format!(
            "start={}, size={}, type={kind}\n",
            start / 512,
            size / 512
        ));
    }
    crate::sfdisk(img, &table);
}

/// Copies the host image `src` onto appliance device `dev` with `pwrite_device`, 1 MiB at a
/// time, skipping chunks of zeros (the device starts zeroed or its old bytes do not matter
/// under a fresh filesystem's unused blocks).
fn write_image(h: &Handle, dev: &str, src: &Path) {
    let data = std::fs::read(src).unwrap();
    for (i, chunk) in data.chunks(1 << 20).enumerate() {
        if chunk.iter().all(|&b| b == 0) {
            continue;
        }
        let n = h
            .pwrite_device(dev, Data(chunk.to_vec()), (i as i64) << 20)
            .check("pwrite_device");
        assert_eq!(n as usize, chunk.len());
    }
}

/// A GPT disk of `members` partitions of [`MD_PART`] bytes, the members of md array
/// `root` at `level` (made in the appliance), holding the bytes of `content`.
fn md_built(out: &Path, members: u64, level: &str, content: &Path) {
    std::fs::File::create(out)
        .unwrap()
        .set_len((2 << 20) + members * MD_PART)
        .unwrap();
    let parts: Vec<(u64, u64, &str)> = (0..members)
        .map(|i| {
            (
                (1 << 20) + i * MD_PART,
                MD_PART,
                "A19D880F-05FC-4D3B-A006-743F0F84911E",
            )
        })
        .collect();
    gpt(out, &parts);
    let mut h = launch(&[(out, DriveOptions::readwrite())]);
    let devs: Vec<Device> = (1..=members)
        .map(|i| Device::from(format!("/dev/sda{i}")))
        .collect();
    h.run(args::MdCreate::new("root", devs).level(level))
        .check("md_create");
    write_image(&h, "/dev/md127", content);
    h.md_stop("/dev/md127").check("md_stop");
    h.shutdown().check("shutdown");
}

/// How the encrypted guests stack their layers.
enum Layout {
    /// GPT, `/dev/sda1` LUKS, the root filesystem inside.
    Luks,
    /// GPT, `/dev/sda1` LUKS, an LVM PV inside, the root on `/dev/vgcrypt/root`.
    LvmOnLuks,
    /// GPT, `/dev/sda1` an LVM PV, `/dev/vgluks/cryptroot` LUKS, the root inside.
    LuksOnLvm,
}

/// Builds an encrypted guest in the appliance with guestwright's own operations
/// (`luks_format`, `pvcreate`, ...), as libguestfs builds its phony guests with guestfish,
/// and writes the root filesystem image `fs` into the innermost layer.
fn in_appliance(out: &Path, fs: &Path, layout: Layout) {
    const PART: u64 = 96 << 20;
    std::fs::File::create(out)
        .unwrap()
        .set_len(PART + (2 << 20))
        .unwrap();
    gpt(out, &[(1 << 20, PART, "L")]);
    let key = Secret::from(PARITY_KEY);
    let mut h = launch(&[(out, DriveOptions::readwrite())]);
    match layout {
        Layout::Luks => {
            h.luks_format("/dev/sda1", key.clone(), 0)
                .check("luks_format");
            h.luks_open("/dev/sda1", key, "cryptroot")
                .check("luks_open");
            write_image(&h, "/dev/mapper/cryptroot", fs);
            h.luks_close("/dev/mapper/cryptroot").check("luks_close");
        }
        Layout::LvmOnLuks => {
            h.luks_format("/dev/sda1", key.clone(), 0)
                .check("luks_format");
            h.luks_open("/dev/sda1", key, "cryptpv").check("luks_open");
            h.pvcreate("/dev/mapper/cryptpv").check("pvcreate");
            h.vgcreate("vgcrypt", vec![Device::from("/dev/mapper/cryptpv")])
                .check("vgcreate");
            h.lvcreate("root", "vgcrypt", ROOT_SIZE).check("lvcreate");
            write_image(&h, "/dev/vgcrypt/root", fs);
            h.vg_activate_all(false).check("vg_activate_all");
            h.luks_close("/dev/mapper/cryptpv").check("luks_close");
        }
        Layout::LuksOnLvm => {
            h.pvcreate("/dev/sda1").check("pvcreate");
            h.vgcreate("vgluks", vec![Device::from("/dev/sda1")])
                .check("vgcreate");
            h.lvcreate("cryptroot", "vgluks", ROOT_SIZE + LUKS2_HEADER)
                .check("lvcreate");
            h.luks_format("/dev/vgluks/cryptroot", key.clone(), 0)
                .check("luks_format");
            h.luks_open("/dev/vgluks/cryptroot", key, "cryptroot")
                .check("luks_open");
            write_image(&h, "/dev/mapper/cryptroot", fs);
            h.luks_close("/dev/mapper/cryptroot").check("luks_close");
        }
    }
    h.shutdown().check("shutdown");
}

/// GPT with two 40 MiB partitions, the members of RAID 1 array `root` (metadata 1.2, made
/// in the appliance: the host kernel has no md driver), holding the ext4 root. The
/// filesystem is written on the host into both members at the array's data offset.
fn md_disk(out: &Path, root: &Path) {
    const PART: u64 = 40 << 20;
    let starts = [1u64 << 20, (1 << 20) + PART];
    std::fs::File::create(out)
        .unwrap()
        .set_len(starts[1] + PART + (1 << 20))
        .unwrap();
    let table = format!(
        "label: gpt\nstart={}, size={}, type=A19D880F-05FC-4D3B-A006-743F0F84911E\nstart={}, size={}, type=A19D880F-05FC-4D3B-A006-743F0F84911E\n",
        starts[0] / 512,
        PART / 512,
        starts[1] / 512,
        PART / 512
    );
    crate::sfdisk(out, &table);
    {
        let mut h = launch(&[(out, DriveOptions::readwrite())]);
        let members = vec![Device::from("/dev/sda1"), Device::from("/dev/sda2")];
        h.run(args::MdCreate::new("root", members).level("raid1"))
            .check("md_create");
        h.md_stop("/dev/md127").check("md_stop");
        h.shutdown().check("shutdown");
    }
    // struct mdp_superblock_1 at 4 KiB: the array size (sectors) at 80, data_offset at 128.
    let disk = std::fs::read(out).unwrap();
    let sb = (starts[0] + 4096) as usize;
    let le64 = |at: usize| u64::from_le_bytes(disk[at..at + 8].try_into().unwrap());
    assert_eq!(
        &disk[sb..sb + 4],
        &0xa92b_4efcu32.to_le_bytes(),
        "no md superblock"
    );
    let data_offset = le64(sb + 128) * 512;
    let data_size = le64(sb + 80) * 512 / 4096 * 4096;
    for start in starts {
        ext4_at(out, root, start + data_offset, data_size);
    }
}

/// The element structure of inspector XML: one line per element in document order, its
/// name indented two spaces per level of nesting (no attributes, no text). Two answers with
/// equal structures have the same elements in the same order and nesting.
pub fn xml_structure(xml: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut depth = 0usize;
    let mut rest = xml;
    while let Some(lt) = rest.find('<') {
        let gt = rest[lt..].find('>').expect("unterminated tag") + lt;
        let tag = &rest[lt + 1..gt];
        rest = &rest[gt + 1..];
        if tag.starts_with('?') || tag.starts_with('!') {
            continue;
        }
        if tag.starts_with('/') {
            depth = depth.checked_sub(1).expect("a close tag with nothing open");
            continue;
        }
        let name = tag
            .trim_end_matches('/')
            .split_whitespace()
            .next()
            .expect("an element name");
        out.push(format!("{}{name}", "  ".repeat(depth)));
        if !tag.ends_with('/') {
            depth += 1;
        }
    }
    assert_eq!(depth, 0, "unclosed elements");
    out
}

/// `None` when `ours` has the structure of `theirs`; otherwise where they part, with the
/// elements around it from both.
pub fn structure_difference(theirs: &str, ours: &str) -> Option<String> {
    let (t, o) = (xml_structure(theirs), xml_structure(ours));
    if t == o {
        return None;
    }
    let at = t.iter().zip(&o).take_while(|(a, b)| a == b).count();
    let around = |v: &[String]| v[at.saturating_sub(3)..(at + 4).min(v.len())].join("\n");
    Some(format!(
        "the element structure differs at element {at}:\nvirt-inspector:\n{}\nguestwright:\n{}",
        around(&t),
        around(&o)
    ))
}

#[cfg(test)]
mod structure_tests {
    use super::*;

    #[test]
    fn structure_sees_names_order_and_nesting() {
        let a =
            "<?xml version=\"1.0\"?>\n<a>\n  <b x=\"1\">t</b>\n  <c/>\n  <d><e>1</e></d>\n</a>\n";
        assert_eq!(xml_structure(a), ["a", "  b", "  c", "  d", "    e"]);
        assert_eq!(structure_difference(a, a), None);
        // Another order, another nesting, a missing element: each is a difference.
        for b in [
            "<a><c/><b>t</b><d><e>1</e></d></a>",
            "<a><b>t</b><c/><d/><e>1</e></a>",
            "<a><b>t</b><d><e>1</e></d></a>",
        ] {
            assert!(structure_difference(a, b).is_some(), "{b}");
        }
        // Text and attributes are not structure.
        assert_eq!(
            structure_difference(a, "<a><b>u</b><c></c><d><e>2</e></d></a>"),
            None
        );
    }
}
