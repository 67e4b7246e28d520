//! Small guests for comparing `guestwright inspect` with virt-inspector 1.48, one per kind
//! of release file, package database and disk layout inspection must read. Each is our own
//! recipe (libguestfs's phony guests show which files inspection reads), built with fixed
//! UUIDs so that the answers recorded once by `scripts/record-inspect` hold for every
//! rebuild, and cached under `~/.cache/guestwright-tests` keyed by this file.

use crate::luks::cached;
use crate::rpmguest::install_rpmdb;
use crate::{launch, make_tree, require, run, Check, File};
use guestwright::prelude::*;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The guests, by name: `tests/inspect/expected/NAME.xml` holds virt-inspector's answer.
pub const PARITY_GUESTS: &[&str] = &[
    "debian12",
    "ubuntu-lsb",
    "fedora14",
    "archlinux",
    "debian-md",
    "fedora38",
    "alpine",
];

/// Guests inspected with `--no-applications` (none: every guest has its package database;
/// without one virt-inspector 1.48 fails outright on an rpm guest).
pub const PARITY_NO_APPLICATIONS: &[&str] = &[];

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
        "debian12" | "debian-md" => {
            add(&mut f, "/etc/os-release", "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\nVERSION=\"12 (bookworm)\"\nVERSION_CODENAME=bookworm\nID=debian\n");
            add(&mut f, "/etc/debian_version", "12.5\n");
            add(
                &mut f,
                "/etc/hostname",
                if name == "debian12" {
                    "bookworm\n"
                } else {
                    "raid-host\n"
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
        if name == "debian-md" {
            md_disk(out, &root);
        } else {
            std::fs::File::create(out)
                .unwrap()
                .set_len(48 << 20)
                .unwrap();
            ext4_at(out, &root, 0, 48 << 20);
        }
    });
    vec![img]
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
    let mut sfdisk = Command::new("sfdisk")
        .arg("-q")
        .arg(out)
        .stdin(std::process::Stdio::piped())
        .spawn()
        .expect("sfdisk");
    use std::io::Write;
    sfdisk
        .stdin
        .take()
        .unwrap()
        .write_all(table.as_bytes())
        .unwrap();
    assert!(sfdisk.wait().unwrap().success(), "sfdisk failed");
    {
        let mut h = launch(&[(out, DriveOptions::readwrite())]);
        h.md_create(
            "root",
            vec![Device::from("/dev/sda1"), Device::from("/dev/sda2")],
            Some("raid1".into()),
        )
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
