//! guestfish's bootloader installers and its 9p calls, through `guestwright shell` as a
//! script drives guestfish: `syslinux` on a FAT filesystem (whole disk, and with
//! `directory:`) writes the boot sector and the boot files exactly as the host's own
//! syslinux does on a copy of the same image; `extlinux` on an ext4 filesystem puts
//! ldlinux.sys and ldlinux.c32 in the directory and SYSLINUX's boot sector in the
//! filesystem's first sector; a device that is not FAT is refused with syslinux's words;
//! `list-9p` and `mount-9p` fail as in guestfish 1.48, which removed 9p. One launch, with a
//! deadline.

use guestwright_tests::*;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

const DEADLINE: Duration = Duration::from_secs(300);
const MIB: u64 = 1 << 20;

fn blank(dir: &Path, name: &str, size: u64) -> PathBuf {
    let img = dir.join(name);
    std::fs::File::create(&img).unwrap().set_len(size).unwrap();
    img
}

fn sector0(img: &Path) -> Vec<u8> {
    std::fs::read(img).unwrap()[..512].to_vec()
}

/// A file of a FAT image, read with mtools on the host.
fn fat_file(img: &Path, path: &str) -> Vec<u8> {
    let out = run(Command::new("mtype")
        .arg("-i")
        .arg(img)
        .arg(format!("::{path}"))
        .env("MTOOLS_SKIP_CHECK", "1"));
    out.stdout
}

/// `guestwright shell ARGS` with `script` on stdin, within the deadline.
fn shell(args: &[&Path], script: &str) -> Output {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("script");
    std::fs::write(&path, script).unwrap();
    let mut c = guestwright();
    c.arg("shell");
    for a in args {
        c.arg("-a").arg(a);
    }
    c.stdin(Stdio::from(std::fs::File::open(&path).unwrap()));
    run_within(&mut c, DEADLINE)
}

#[test]
fn syslinux_and_extlinux_install_as_the_real_tools() {
    require("syslinux", "syslinux");
    require("extlinux", "extlinux");
    require("mkfs.vfat", "dosfstools");
    require("mtype", "mtools");
    let dir = tempfile::tempdir().unwrap();
    // Two FAT disks (the second with a /boot directory for `directory:`), each with a copy
    // the host's syslinux installs on, and an ext4 disk for extlinux.
    let fat = blank(dir.path(), "fat.img", 32 * MIB);
    run(Command::new("mkfs.vfat")
        .args(["-n", "BOOT", "-i", "1234abcd"])
        .arg(&fat));
    let fat_dir = dir.path().join("fat-dir.img");
    std::fs::copy(&fat, &fat_dir).unwrap();
    run(Command::new("mmd")
        .arg("-i")
        .arg(&fat_dir)
        .arg("::/boot")
        .env("MTOOLS_SKIP_CHECK", "1"));
    let (want, want_dir) = (dir.path().join("want.img"), dir.path().join("want-dir.img"));
    std::fs::copy(&fat, &want).unwrap();
    std::fs::copy(&fat_dir, &want_dir).unwrap();
    run(Command::new("syslinux")
        .args(["--install", "--force"])
        .arg(&want));
    run(Command::new("syslinux")
        .args(["--install", "--force", "--directory", "/boot"])
        .arg(&want_dir));
    let ext = blank(dir.path(), "ext4.img", 64 * MIB);
    run(Command::new("mkfs.ext4").args(["-q", "-F"]).arg(&ext));
    let before = [sector0(&fat), sector0(&fat_dir), sector0(&ext)];
    assert_eq!(
        before[2],
        vec![0; 512],
        "a fresh ext4 has an empty boot sector"
    );

    let out = shell(
        &[&fat, &fat_dir, &ext],
        "run\n\
         syslinux /dev/sda\n\
         syslinux /dev/sdb directory:/boot\n\
         mount /dev/sdc /\n\
         mkdir-p /boot/extlinux\n\
         extlinux /boot/extlinux\n\
         ls /boot/extlinux\n\
         umount-all\n\
         -syslinux /dev/sdc\n",
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "ldlinux.c32\nldlinux.sys\n"
    );
    // syslinux refuses what is not FAT in its own words, as guestfish prints them.
    assert_eq!(
        stderr,
        "*stdin*:9: libguestfs: error: syslinux: syslinux: invalid media signature (not an \
         FAT/NTFS volume?)\n"
    );

    // The FAT disks: the boot sector changed, to what the host's syslinux writes on the
    // same filesystem, and the boot files are its files.
    for (img, want, before, at) in [
        (&fat, &want, &before[0], ""),
        (&fat_dir, &want_dir, &before[1], "/boot"),
    ] {
        let got = sector0(img);
        assert_ne!(
            &got,
            before,
            "{}: the boot sector did not change",
            img.display()
        );
        assert_eq!(&got[3..11], b"SYSLINUX");
        assert_eq!(got, sector0(want), "{}: not the real tool's", img.display());
        for f in ["ldlinux.sys", "ldlinux.c32"] {
            let path = format!("{at}/{f}");
            let got = fat_file(img, &path);
            assert!(got.len() > 10_000, "{path}: {} bytes", got.len());
            assert_eq!(
                got,
                fat_file(want, &path),
                "{path} differs from the real tool's"
            );
        }
    }
    // directory: put them in /boot only.
    let root_copy = Command::new("mtype")
        .arg("-i")
        .arg(&fat_dir)
        .arg("::/ldlinux.sys")
        .env("MTOOLS_SKIP_CHECK", "1")
        .output()
        .unwrap();
    assert!(!root_copy.status.success(), "directory: was ignored");

    // The ext4 disk: extlinux's files in the directory (ldlinux.c32 is the one syslinux
    // carries), its boot sector in the filesystem's first sector.
    let got = sector0(&ext);
    assert_eq!(&got[3..11], b"SYSLINUX", "extlinux wrote no boot sector");
    assert_eq!(&got[510..], &[0x55, 0xaa]);
    let debugfs_cat = |path: &str| {
        run(Command::new("debugfs")
            .arg("-R")
            .arg(format!("cat {path}"))
            .arg(&ext))
        .stdout
    };
    assert_eq!(
        debugfs_cat("/boot/extlinux/ldlinux.c32"),
        fat_file(&want, "/ldlinux.c32")
    );
    assert!(debugfs_cat("/boot/extlinux/ldlinux.sys").len() > 10_000);
    let fsck = run(Command::new("e2fsck").arg("-fn").arg(&ext));
    assert!(fsck.status.success());
}

/// guestfish 1.48's 9p calls do nothing and fail, in these words (recorded from guestfish
/// 1.48.6 on this machine: `-a /dev/null`, the same script).
#[test]
fn list_9p_and_mount_9p_fail_as_in_guestfish_1_48() {
    let out = shell(
        &[Path::new("/dev/null")],
        "run\n-list-9p\n-mount-9p tag /\nlist-9p\necho not reached\n",
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty(), "{out:?}");
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "*stdin*:2: libguestfs: error: list_9p: 9p support was removed in libguestfs 1.48: Success\n\
         *stdin*:3: libguestfs: error: mount_9p: 9p support was removed in libguestfs 1.48: Success\n\
         *stdin*:4: libguestfs: error: list_9p: 9p support was removed in libguestfs 1.48: Success\n"
    );
}
