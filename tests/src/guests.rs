//! Distribution-like guests built on the host with the real tools: a GPT disk with an EFI
//! system partition (vfat) and an ext4 root holding a small but realistic `/etc`, an fstab
//! that names filesystems by UUID, a real ELF `/bin/sh` (for the architecture) and a dpkg
//! database. Made in about a second, without root and without the appliance.

use crate::{make_tree, require, run, File};
use std::path::{Path, PathBuf};
use std::process::Command;

/// UUID of the root filesystem of [`debian_like`].
pub const DEBIAN_ROOT_UUID: &str = "7c9b1ed2-4d2e-4f33-8d57-0c2e6a1b9f10";
/// Volume ID of its EFI system partition (blkid prints it as `ABCD-1234`).
pub const DEBIAN_ESP_UUID: &str = "ABCD-1234";
/// Its hostname.
pub const DEBIAN_HOSTNAME: &str = "bookworm-vm";
/// Where its partitions start: ESP, then root.
pub const DEBIAN_ESP_OFFSET: u64 = 1 << 20;
/// Size of the ESP.
pub const DEBIAN_ESP_SIZE: u64 = 32 << 20;
/// Where the root partition starts.
pub const DEBIAN_ROOT_OFFSET: u64 = 33 << 20;
/// Size of the root partition.
pub const DEBIAN_ROOT_SIZE: u64 = 62 << 20;

/// The dpkg database of [`debian_like`]: three installed packages and a removed one.
pub const DEBIAN_DPKG_STATUS: &str = "Package: base-files\nStatus: install ok installed\nPriority: required\nArchitecture: amd64\nVersion: 12.4+deb12u5\nDescription: Debian base system miscellaneous files\n\n\
Package: bash\nStatus: install ok installed\nArchitecture: amd64\nVersion: 5.2.15-2+b2\nDescription: GNU Bourne Again SHell\n\n\
Package: oldpkg\nStatus: deinstall ok config-files\nArchitecture: amd64\nVersion: 1.0-1\n\n\
Package: vim-tiny\nStatus: install ok installed\nArchitecture: amd64\nVersion: 2:9.0.1378-2\nDescription: Vi IMproved\n\n";

/// A 96 MiB raw disk laid out like a Debian 12 cloud image: GPT, `/dev/sda1` an EFI system
/// partition (vfat, mounted at /boot/efi), `/dev/sda2` the ext4 root with `extra` files added
/// on top of a small Debian `/etc`.
pub fn debian_like(dir: &Path, name: &str, extra: &[File<'_>]) -> PathBuf {
    require("sfdisk", "fdisk");
    require("mkfs.ext4", "e2fsprogs");
    require("mkfs.vfat", "dosfstools");
    let img = dir.join(name);
    std::fs::File::create(&img)
        .unwrap()
        .set_len(96 << 20)
        .unwrap();
    let table = format!(
        "label: gpt\nstart={}, size={}, type=U, name=\"EFI System\"\nstart={}, size={}, type=L, name=root\n",
        DEBIAN_ESP_OFFSET / 512,
        DEBIAN_ESP_SIZE / 512,
        DEBIAN_ROOT_OFFSET / 512,
        DEBIAN_ROOT_SIZE / 512
    );
    crate::sfdisk(&img, &table);

    let fstab = format!(
        "# /etc/fstab: static file system information.\n#\n\
         # <file system> <mount point>   <type>  <options>       <dump>  <pass>\n\
         UUID={DEBIAN_ROOT_UUID} /               ext4    errors=remount-ro 0       1\n\
         UUID={DEBIAN_ESP_UUID}  /boot/efi       vfat    umask=0077      0       1\n\
         /swapfile none swap sw 0 0\n"
    );
    let sh = std::fs::read("/bin/dash")
        .or_else(|_| std::fs::read("/bin/sh"))
        .expect("a host /bin/sh");
    let mut files = vec![
        File { path: "/etc/os-release", content: b"PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\nVERSION=\"12 (bookworm)\"\nVERSION_CODENAME=bookworm\nID=debian\nHOME_URL=\"https://www.debian.org/\"\n", mode: 0o644 },
        File { path: "/etc/debian_version", content: b"12.5\n", mode: 0o644 },
        File { path: "/etc/fstab", content: fstab.as_bytes(), mode: 0o644 },
        File { path: "/etc/passwd", content: b"root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\ndebian:x:1000:1000:Debian:/home/debian:/bin/bash\n", mode: 0o644 },
        File { path: "/etc/shadow", content: b"root:*:19700:0:99999:7:::\ndaemon:*:19700:0:99999:7:::\ndebian:!:19700:0:99999:7:::\n", mode: 0o640 },
        File { path: "/etc/group", content: b"root:x:0:\ndaemon:x:1:\nshadow:x:42:\nsudo:x:27:debian\ndebian:x:1000:\n", mode: 0o644 },
        File { path: "/etc/hosts", content: b"127.0.0.1\tlocalhost\n127.0.1.1\tbookworm-vm\n\n::1\tlocalhost ip6-localhost ip6-loopback\n", mode: 0o644 },
        File { path: "/etc/network/interfaces", content: b"source /etc/network/interfaces.d/*\n\nauto lo\niface lo inet loopback\n\nallow-hotplug eth0\niface eth0 inet dhcp\n", mode: 0o644 },
        File { path: "/usr/bin/sh", content: &sh, mode: 0o755 },
        File { path: "/var/lib/dpkg/status", content: DEBIAN_DPKG_STATUS.as_bytes(), mode: 0o644 },
        File { path: "/boot/efi/.keep", content: b"", mode: 0o644 },
        File { path: "/home/debian/.profile", content: b"# ~/.profile\n", mode: 0o644 },
    ];
    let hostname = format!("{DEBIAN_HOSTNAME}\n");
    files.push(File {
        path: "/etc/hostname",
        content: hostname.as_bytes(),
        mode: 0o644,
    });
    files.extend(extra.iter().cloned());
    let tree = make_tree(dir, &files);
    // Debian's /bin is a symlink to usr/bin; the mountpoint of the ESP is a directory.
    std::os::unix::fs::symlink("usr/bin", tree.join("bin")).unwrap();
    std::fs::remove_file(tree.join("boot/efi/.keep")).unwrap();

    run(Command::new("mkfs.ext4")
        .args(["-q", "-F", "-L", "root", "-U", DEBIAN_ROOT_UUID, "-d"])
        .arg(&tree)
        .arg("-E")
        .arg(format!("offset={DEBIAN_ROOT_OFFSET}"))
        .arg(&img)
        .arg(format!("{}k", DEBIAN_ROOT_SIZE / 1024)));
    run(Command::new("mkfs.vfat")
        .args([
            "-F",
            "32",
            "-n",
            "EFI",
            "-i",
            &DEBIAN_ESP_UUID.replace('-', ""),
        ])
        .arg("--offset")
        .arg((DEBIAN_ESP_OFFSET / 512).to_string())
        .arg(&img)
        .arg((DEBIAN_ESP_SIZE / 1024).to_string()));
    img
}
