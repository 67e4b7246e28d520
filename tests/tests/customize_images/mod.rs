//! Debian-like and RHEL-like guests for the customize, sysprep and clone tests: a GPT disk with
//! one ext4 root (`/dev/sda1`) made with `mkfs.ext4 -d` from a tree with realistic /etc files,
//! owners, modes and symlinks, and a real `/bin/sh` (the host's dash with its libraries) so
//! `--run-command` has something to run.

#![allow(dead_code)]

use guestwright_tests::{require, run, PART_OFFSET, PART_SIZE};
use std::os::unix::fs::{chown, symlink, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;

/// An ed25519 public key for --ssh-inject.
pub const KEY: &str =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEByIHa20ama5zHLXTVPAL6t4SZJ+hZ5hilyBWVqGgG0 ops@laptop";

/// One entry of a guest tree.
pub enum Entry<'a> {
    /// A file: path, contents, mode, uid, gid.
    File(&'a str, &'a [u8], u32, u32, u32),
    /// A directory: path, mode, uid, gid.
    Dir(&'a str, u32, u32, u32),
    /// A symlink: path, target.
    Link(&'a str, &'a str),
    /// A block device node (8:0, like /dev/sda).
    BlockDev(&'a str),
}

/// A root-owned 0644 file.
pub fn f<'a>(path: &'a str, content: &'a str) -> Entry<'a> {
    Entry::File(path, content.as_bytes(), 0o644, 0, 0)
}

/// Writes the tree under `root`.
pub fn make(root: &Path, entries: &[Entry<'_>]) {
    for e in entries {
        match e {
            Entry::File(p, c, mode, uid, gid) => {
                let p = root.join(p.trim_start_matches('/'));
                std::fs::create_dir_all(p.parent().unwrap()).unwrap();
                std::fs::write(&p, c).unwrap();
                std::fs::set_permissions(&p, std::fs::Permissions::from_mode(*mode)).unwrap();
                chown(&p, Some(*uid), Some(*gid)).unwrap();
            }
            Entry::Dir(p, mode, uid, gid) => {
                let p = root.join(p.trim_start_matches('/'));
                std::fs::create_dir_all(&p).unwrap();
                std::fs::set_permissions(&p, std::fs::Permissions::from_mode(*mode)).unwrap();
                chown(&p, Some(*uid), Some(*gid)).unwrap();
            }
            Entry::Link(p, target) => {
                let p = root.join(p.trim_start_matches('/'));
                std::fs::create_dir_all(p.parent().unwrap()).unwrap();
                symlink(target, &p).unwrap();
            }
            Entry::BlockDev(p) => {
                let p = root.join(p.trim_start_matches('/'));
                std::fs::create_dir_all(p.parent().unwrap()).unwrap();
                run(Command::new("mknod").arg(&p).args(["b", "8", "0"]));
            }
        }
    }
}

/// Copies the host's dash as /bin/sh with the libraries it needs.
fn add_shell(root: &Path) {
    let copy = |from: &str, to: &str| {
        let dest = root.join(to.trim_start_matches('/'));
        std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
        std::fs::copy(from, &dest)
            .unwrap_or_else(|e| panic!("copy {from}: {e} (apt-get install dash libc6)"));
    };
    copy("/bin/dash", "/usr/bin/sh");
    copy(
        "/lib/x86_64-linux-gnu/libc.so.6",
        "/usr/lib/x86_64-linux-gnu/libc.so.6",
    );
    copy(
        "/lib64/ld-linux-x86-64.so.2",
        "/usr/lib64/ld-linux-x86-64.so.2",
    );
    for (link, target) in [
        ("bin", "usr/bin"),
        ("lib", "usr/lib"),
        ("lib64", "usr/lib64"),
        ("sbin", "usr/sbin"),
    ] {
        symlink(target, root.join(link)).unwrap();
    }
}

/// A 64 MiB raw GPT disk whose first partition is an ext4 filesystem made from `entries`.
pub fn image(dir: &Path, name: &str, entries: &[Entry<'_>]) -> PathBuf {
    require("sfdisk", "fdisk");
    require("mkfs.ext4", "e2fsprogs");
    let root = dir.join(format!("{name}.tree"));
    std::fs::create_dir_all(&root).unwrap();
    add_shell(&root);
    make(&root, entries);
    let img = dir.join(name);
    std::fs::File::create(&img)
        .unwrap()
        .set_len(64 << 20)
        .unwrap();
    let mut sfdisk = Command::new("sfdisk")
        .arg("-q")
        .arg(&img)
        .stdin(std::process::Stdio::piped())
        .spawn()
        .expect("sfdisk (fdisk)");
    use std::io::Write;
    sfdisk
        .stdin
        .take()
        .unwrap()
        .write_all(format!("label: gpt\nstart=2048, size={}, type=L\n", PART_SIZE / 512).as_bytes())
        .unwrap();
    assert!(sfdisk.wait().unwrap().success());
    run(Command::new("mkfs.ext4")
        .args(["-q", "-F", "-L", "root", "-d"])
        .arg(&root)
        .arg("-E")
        .arg(format!("offset={PART_OFFSET}"))
        .arg(&img)
        .arg(format!("{}k", PART_SIZE / 1024)));
    img
}

pub const SHADOW_DEBIAN: &str = "root:$6$oldsalt$ZRPYbIm3N7ppYyX0m9Jf3/Jbm.R2/gN0Ye6n1WwrD0x0qXsNyYc4Y8bKi1H5o2rY8v4cL0hH2lT5oQm6s2cVx.:19500:0:99999:7:::\n\
daemon:*:19500:0:99999:7:::\n\
bin:*:19500:0:99999:7:::\n\
sshd:!:19500::::::\n\
debian:!:19500:0:99999:7:::\n\
bob:$y$j9T$abc$def:19600:0:99999:7:::\n";

pub const PASSWD_DEBIAN: &str = "root:x:0:0:root:/root:/bin/bash\n\
daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n\
bin:x:2:2:bin:/bin:/usr/sbin/nologin\n\
sshd:x:100:65534::/run/sshd:/usr/sbin/nologin\n\
debian:x:1000:1000:Debian:/home/debian:/bin/bash\n\
bob:x:1001:1001::/home/bob:/bin/bash\n";

pub const GROUP_DEBIAN: &str = "root:x:0:\ndaemon:x:1:\nbin:x:2:\nsudo:x:27:debian\nusers:x:100:\ndebian:x:1000:\nbob:x:1001:\n";
pub const GSHADOW_DEBIAN: &str =
    "root:*::\ndaemon:*::\nbin:*::\nsudo:*::debian\nusers:*::\ndebian:!::\nbob:!::\n";

pub const INTERFACES_DEBIAN: &str =
    "# This file describes the network interfaces available on your system\n\
# and how to activate them. For more information, see interfaces(5).\n\
\n\
source /etc/network/interfaces.d/*\n\
\n\
# The loopback network interface\n\
auto lo\n\
iface lo inet loopback\n\
\n\
# The primary network interface\n\
allow-hotplug eth0\n\
iface eth0 inet dhcp\n";

pub const HOSTS_DEBIAN: &str = "127.0.0.1\tlocalhost\n127.0.1.1\tdebian-tmpl.example.org\tdebian-tmpl\n\n# The following lines are desirable for IPv6 capable hosts\n::1     localhost ip6-localhost ip6-loopback\nff02::1 ip6-allnodes\nff02::2 ip6-allrouters\n";

pub const SSHD_CONFIG: &str = "Include /etc/ssh/sshd_config.d/*.conf\n\n#PermitRootLogin prohibit-password\n#StrictModes yes\nPasswordAuthentication yes\n";

/// A Debian 12-like guest with a few users, ifupdown networking, logs and host keys.
pub fn debian(dir: &Path, name: &str) -> PathBuf {
    image(dir, name, &debian_entries())
}

/// The tree of [`debian`], for tests that change parts of it.
pub fn debian_entries() -> Vec<Entry<'static>> {
    vec![
            f("/etc/os-release", "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\nVERSION=\"12 (bookworm)\"\nID=debian\n"),
            f("/etc/debian_version", "12.5\n"),
            f("/etc/hostname", "debian-tmpl\n"),
            f("/etc/hosts", HOSTS_DEBIAN),
            f("/etc/passwd", PASSWD_DEBIAN),
            Entry::File("/etc/shadow", SHADOW_DEBIAN.as_bytes(), 0o640, 0, 42),
            f("/etc/group", GROUP_DEBIAN),
            Entry::File("/etc/gshadow", GSHADOW_DEBIAN.as_bytes(), 0o640, 0, 42),
            f("/etc/login.defs", "# login.defs\nMAIL_DIR        /var/mail\nUID_MIN                  1000\nUID_MAX                 60000\nGID_MIN                  1000\nGID_MAX                 60000\nPASS_MAX_DAYS   99999\nPASS_MIN_DAYS   0\nPASS_WARN_AGE   7\n"),
            f("/etc/skel/.bashrc", "# ~/.bashrc\nalias ll='ls -l'\n"),
            f("/etc/skel/.profile", "# ~/.profile\n"),
            f("/etc/network/interfaces", INTERFACES_DEBIAN),
            Entry::Dir("/etc/network/interfaces.d", 0o755, 0, 0),
            Entry::Dir("/etc/udev/rules.d", 0o755, 0, 0),
            f("/etc/ssh/sshd_config", SSHD_CONFIG),
            Entry::File("/etc/ssh/ssh_host_ed25519_key", b"PRIVATE\n", 0o600, 0, 0),
            f("/etc/ssh/ssh_host_ed25519_key.pub", "ssh-ed25519 AAAA host\n"),
            f("/etc/ssh/ssh_config", "Host *\n"),
            f("/etc/machine-id", "0123456789abcdef0123456789abcdef\n"),
            f("/var/lib/dbus/machine-id", "0123456789abcdef0123456789abcdef\n"),
            f("/etc/fstab", "# /etc/fstab\nLABEL=root / ext4 rw,discard,errors=remount-ro 0 1\n"),
            f("/etc/timezone", "Etc/UTC\n"),
            Entry::Link("/etc/localtime", "/usr/share/zoneinfo/Etc/UTC"),
            f("/usr/share/zoneinfo/Etc/UTC", "TZif2 utc\n"),
            f("/usr/share/zoneinfo/Europe/Berlin", "TZif2 berlin\n"),
            Entry::File("/var/lib/systemd/random-seed", &[1u8; 512], 0o600, 0, 0),
            f("/var/log/syslog", "Jan 1 boot\n"),
            f("/var/log/auth.log", "sshd accepted\n"),
            f("/var/log/apt/history.log", "Install: vim\n"),
            f("/var/log/README", "kept: not a log file sysprep names\n"),
            f("/var/lib/dhcp/dhclient.eth0.leases", "lease {}\n"),
            f("/var/cache/apt/archives/vim_9.0_amd64.deb", "deb\n"),
            f("/var/cache/apt/pkgcache.bin", "cache\n"),
            f("/tmp/scratch.txt", "tmp\n"),
            f("/var/tmp/junk", "junk\n"),
            Entry::File("/root/.bash_history", b"ls\nrm -rf /tmp/x\n", 0o600, 0, 0),
            Entry::Dir("/root/.ssh", 0o700, 0, 0),
            Entry::File("/root/.ssh/authorized_keys", b"ssh-ed25519 AAAAold root@old\n", 0o600, 0, 0),
            Entry::Dir("/home/debian", 0o755, 1000, 1000),
            Entry::File("/home/debian/.bash_history", b"sudo -i\n", 0o600, 1000, 1000),
            Entry::File("/home/debian/notes.txt", b"keep me\n", 0o644, 1000, 1000),
            Entry::Dir("/home/bob", 0o750, 1001, 1001),
            Entry::Dir("/usr/sbin", 0o755, 0, 0),
            Entry::Dir("/srv", 0o755, 0, 0),
            Entry::Dir("/etc/systemd/system/multi-user.target.wants", 0o755, 0, 0),
    ]
}

pub const SHADOW_RHEL: &str = "root:!!:19700:0:99999:7:::\nbin:*:19700:0:99999:7:::\nsshd:!!:19700::::::\ncloud-user:!!:19700:0:99999:7:::\n";

pub const KEYFILE_ETH0: &str = "[connection]\nid=System eth0\nuuid=5fb06bd0-0bb0-7ffb-45f1-d6edd65f3e03\ntype=ethernet\ninterface-name=eth0\nautoconnect-priority=-999\n\n[ethernet]\n\n[ipv4]\nmethod=auto\n\n[ipv6]\naddr-gen-mode=eui64\nmethod=auto\n\n[proxy]\n";

pub const IFCFG_ETH1: &str = "# Created by cloud-init\nDEVICE=eth1\nBOOTPROTO=dhcp\nHWADDR=52:54:00:aa:bb:cc\nONBOOT=yes\nTYPE=Ethernet\nUSERCTL=no\n";

pub const UDEV_OLD: &str = "# generated by the old udev\nSUBSYSTEM==\"net\", ACTION==\"add\", DRIVERS==\"?*\", ATTR{address}==\"52:54:00:aa:bb:cc\", KERNEL==\"eth*\", NAME=\"eth1\"\n";

/// A RHEL 9-like guest: NetworkManager keyfiles, an ifcfg file, SELinux, machine-info.
pub fn rhel(dir: &Path, name: &str) -> PathBuf {
    image(dir, name, &rhel_entries())
}

/// The tree of [`rhel`].
pub fn rhel_entries() -> Vec<Entry<'static>> {
    vec![
            f("/etc/os-release", "NAME=\"Red Hat Enterprise Linux\"\nVERSION=\"9.3 (Plow)\"\nID=\"rhel\"\nID_LIKE=\"fedora\"\nVERSION_ID=\"9.3\"\nPRETTY_NAME=\"Red Hat Enterprise Linux 9.3 (Plow)\"\n"),
            f("/etc/redhat-release", "Red Hat Enterprise Linux release 9.3 (Plow)\n"),
            f("/etc/hostname", "localhost.localdomain\n"),
            f("/etc/hosts", "127.0.0.1   localhost localhost.localdomain localhost4 localhost4.localdomain4\n::1         localhost localhost.localdomain localhost6 localhost6.localdomain6\n"),
            f("/etc/machine-info", "CHASSIS=vm\n"),
            f("/etc/passwd", "root:x:0:0:root:/root:/bin/bash\nbin:x:1:1:bin:/bin:/sbin/nologin\nsshd:x:74:74:Privilege-separated SSH:/usr/share/empty.sshd:/sbin/nologin\ncloud-user:x:1000:1000:Cloud User:/home/cloud-user:/bin/bash\n"),
            Entry::File("/etc/shadow", SHADOW_RHEL.as_bytes(), 0o000, 0, 0),
            f("/etc/group", "root:x:0:\nbin:x:1:\nwheel:x:10:cloud-user\nsshd:x:74:\ncloud-user:x:1000:\n"),
            Entry::File("/etc/gshadow", b"root:::\nbin:::\nwheel:::cloud-user\nsshd:!::\ncloud-user:!::\n", 0o000, 0, 0),
            f("/etc/login.defs", "UID_MIN                  1000\nGID_MIN                  1000\nHOME_MODE\t0700\n"),
            f("/etc/skel/.bashrc", "# .bashrc\n"),
            Entry::Dir("/etc/sysconfig/network-scripts", 0o755, 0, 0),
            f("/etc/sysconfig/network-scripts/readme-ifcfg-rh.txt", "NetworkManager stores new network profiles in keyfile format\n"),
            f("/etc/sysconfig/network-scripts/ifcfg-eth1", IFCFG_ETH1),
            Entry::File("/etc/NetworkManager/system-connections/eth0.nmconnection", KEYFILE_ETH0.as_bytes(), 0o600, 0, 0),
            f("/etc/NetworkManager/NetworkManager.conf", "[main]\n"),
            f("/etc/selinux/config", "SELINUX=enforcing\nSELINUXTYPE=targeted\n"),
            Entry::File("/usr/sbin/load_policy", b"#!/bin/sh\n", 0o755, 0, 0),
            Entry::Dir("/etc/systemd/system/multi-user.target.wants", 0o755, 0, 0),
            f("/etc/machine-id", ""),
            Entry::File("/var/lib/systemd/random-seed", &[2u8; 512], 0o600, 0, 0),
            f("/etc/fstab", "UUID=0000 / xfs defaults 0 0\n"),
            Entry::Dir("/home/cloud-user", 0o700, 1000, 1000),
            f("/etc/udev/rules.d/70-persistent-net.rules", UDEV_OLD),
            f("/etc/udev/rules.d/80-local.rules", "# kept\n"),
            f("/var/log/messages", "boot\n"),
            f("/var/log/dnf.log", "dnf\n"),
            Entry::Dir("/var/cache/dnf/rhel-9-baseos", 0o755, 0, 0),
            f("/var/cache/dnf/rhel-9-baseos/repomd.xml", "<repomd/>\n"),
    ]
}
