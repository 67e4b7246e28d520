//! customize and sysprep on a RHEL 9-like guest: hostname with machine-info, NetworkManager
//! keyfiles and ifcfg, udev rules, the machine-id, the random seed and the SELinux relabel
//! marker; then sysprep removes what each operation names and leaves the rest.

use crate::customize_images;

use customize_images::{rhel, KEYFILE_ETH0, UDEV_OLD};
use guestwright::prelude::*;
use guestwright_tests::{assert_fsck_clean, debugfs_cat, guestwright, launch, run, Check};
use std::path::Path;
use std::process::Command;

fn cat(img: &Path, p: &str) -> String {
    String::from_utf8(debugfs_cat(img, p)).unwrap()
}

/// (mode, uid, gid) from `debugfs stat`.
fn debugfs_stat(img: &Path, p: &str) -> (u32, u32, u32) {
    let part = guestwright_tests::extract(
        img,
        guestwright_tests::PART_OFFSET,
        guestwright_tests::PART_SIZE,
    );
    let out = run(Command::new("debugfs")
        .arg("-R")
        .arg(format!("stat {p}"))
        .arg(part.path()));
    let text = String::from_utf8_lossy(&out.stdout);
    let word_after = |key: &str| -> String {
        let i = text.find(key).unwrap_or_else(|| panic!("{key} in {text}"));
        text[i + key.len()..]
            .split_whitespace()
            .next()
            .unwrap()
            .to_string()
    };
    (
        u32::from_str_radix(&word_after("Mode:"), 8).unwrap() & 0o7777,
        word_after("User:").parse().unwrap(),
        word_after("Group:").parse().unwrap(),
    )
}

#[test]
fn rhel_customize_then_sysprep() {
    let dir = tempfile::tempdir().unwrap();
    let img = rhel(dir.path(), "rhel.raw");
    // An SELinux label on /etc/shadow, to check that the replaced file keeps it.
    {
        let mut h = launch(&[(&img, DriveOptions::readwrite())]);
        h.mount("/dev/sda1", "/").check("mount");
        h.setxattr(
            "security.selinux",
            &b"system_u:object_r:shadow_t:s0\0"[..],
            30,
            "/etc/shadow",
        )
        .check("setxattr");
        h.shutdown().check("shutdown");
    }
    // Operations from the command line, a command file and a TOML file, in that order.
    let cmds = dir.path().join("net.cmds");
    std::fs::write(
        &cmds,
        "# networks\nnet-config eth0:static:10.0.0.5/24:10.0.0.1:10.0.0.53\nnetwork eth1:dhcp\n",
    )
    .unwrap();
    let conf = dir.path().join("udev.toml");
    std::fs::write(
        &conf,
        "[[operations]]\nudev-net = \"eth1=52:54:00:DD:EE:FF\"\n",
    )
    .unwrap();
    let out = run(guestwright()
        .args(["customize", "--json", "-a"])
        .arg(&img)
        .args([
            "--hostname=web02.example.com",
            "--root-password=password:Rh3l-9",
        ])
        .arg("--commands-from-file")
        .arg(&cmds)
        .arg("--config")
        .arg(&conf));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["guest"], "rhel 9.3");
    let steps = report["steps"].as_array().unwrap();
    let names: Vec<&str> = steps
        .iter()
        .map(|s| s["operation"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "machine-id",
            "hostname web02.example.com",
            "net-config eth0:static:10.0.0.5/24",
            "net-config eth1:dhcp",
            "udev-net eth1=52:54:00:dd:ee:ff",
            // passwords after the other operations, as virt-customize sets them
            "password root:password:…",
            "random-seed",
            "selinux-relabel"
        ]
    );
    assert_eq!(steps[2]["notes"][0], "style: Keyfile", "{report:#}");
    assert_eq!(steps[3]["notes"][0], "style: Ifcfg", "{report:#}");
    assert_eq!(
        steps[3]["changes"],
        serde_json::json!([]),
        "eth1 was dhcp already"
    );
    assert_fsck_clean(&img);

    assert_eq!(cat(&img, "/etc/hostname"), "web02.example.com\n");
    assert_eq!(
        cat(&img, "/etc/machine-info"),
        "CHASSIS=vm\nPRETTY_HOSTNAME=web02.example.com\n"
    );
    // localhost.localdomain is not a name to replace in /etc/hosts.
    assert!(cat(&img, "/etc/hosts").starts_with("127.0.0.1   localhost localhost.localdomain "));
    let shadow = cat(&img, "/etc/shadow");
    let root = shadow.lines().next().unwrap();
    let hash = root.split(':').nth(1).unwrap();
    let salt = hash.split('$').nth(2).unwrap();
    let openssl = run(Command::new("openssl").args(["passwd", "-6", "-salt", salt, "Rh3l-9"]));
    assert_eq!(String::from_utf8_lossy(&openssl.stdout).trim(), hash);
    assert_eq!(
        shadow.lines().skip(1).collect::<Vec<_>>().join("\n") + "\n",
        "bin:*:19700:0:99999:7:::\nsshd:!!:19700::::::\ncloud-user:!!:19700:0:99999:7:::\n"
    );
    assert_eq!(
        debugfs_stat(&img, "/etc/shadow"),
        (0o000, 0, 0),
        "mode 0000 kept"
    );
    let part = guestwright_tests::extract(
        &img,
        guestwright_tests::PART_OFFSET,
        guestwright_tests::PART_SIZE,
    );
    let label = run(Command::new("debugfs")
        .arg("-R")
        .arg("ea_get /etc/shadow security.selinux")
        .arg(part.path()));
    assert!(
        String::from_utf8_lossy(&label.stdout).contains("system_u:object_r:shadow_t:s0"),
        "the SELinux label survives: {}",
        String::from_utf8_lossy(&label.stdout)
    );

    let keyfile = cat(
        &img,
        "/etc/NetworkManager/system-connections/eth0.nmconnection",
    );
    assert!(
        keyfile.starts_with(
            "[connection]\nid=System eth0\nuuid=5fb06bd0-0bb0-7ffb-45f1-d6edd65f3e03\n"
        ),
        "{keyfile}"
    );
    assert!(
        keyfile.contains("[ipv4]\n") && keyfile.contains("method=manual\n"),
        "{keyfile}"
    );
    assert!(keyfile.contains("address1=10.0.0.5/24"), "{keyfile}");
    assert!(keyfile.contains("10.0.0.53"), "{keyfile}");
    assert!(
        keyfile.contains("[ipv6]\naddr-gen-mode=eui64\nmethod=auto\n"),
        "IPv6 untouched: {keyfile}"
    );
    assert_ne!(keyfile, KEYFILE_ETH0);
    assert_eq!(
        debugfs_stat(
            &img,
            "/etc/NetworkManager/system-connections/eth0.nmconnection"
        )
        .0,
        0o600
    );
    assert_eq!(
        cat(&img, "/etc/sysconfig/network-scripts/ifcfg-eth1"),
        customize_images::IFCFG_ETH1
    );
    let rules = cat(&img, "/etc/udev/rules.d/70-persistent-net.rules");
    assert_eq!(
        rules,
        UDEV_OLD.replace(
            "SUBSYSTEM==\"net\", ACTION==\"add\", DRIVERS==\"?*\", ATTR{address}==\"52:54:00:aa:bb:cc\", KERNEL==\"eth*\", NAME=\"eth1\"",
            "SUBSYSTEM==\"net\", ACTION==\"add\", DRIVERS==\"?*\", ATTR{address}==\"52:54:00:dd:ee:ff\", ATTR{dev_id}==\"0x0\", ATTR{type}==\"1\", KERNEL==\"eth*\", NAME=\"eth1\""
        )
    );
    let id = cat(&img, "/etc/machine-id");
    assert_eq!(id.len(), 33, "{id:?}");
    assert!(id.trim_end().bytes().all(|b| b.is_ascii_hexdigit()) && id.ends_with('\n'));
    assert_eq!(cat(&img, "/.autorelabel"), "");
    assert_ne!(
        debugfs_cat(&img, "/var/lib/systemd/random-seed"),
        vec![2u8; 512]
    );

    // sysprep with the defaults.
    let out = run(guestwright().args(["sysprep", "--json", "-a"]).arg(&img));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["changed"], true);
    assert_fsck_clean(&img);
    let h = launch(&[(&img, DriveOptions::readonly())]);
    h.run(args::Mount::new("/dev/sda1", "/").readonly(true))
        .check("mount");
    let read = |p: &str| String::from_utf8(h.read_file(p).check(p).0).unwrap();
    let exists = |p: &str| h.exists(p).check(p);
    assert_eq!(
        read("/etc/sysconfig/network-scripts/ifcfg-eth1"),
        customize_images::IFCFG_ETH1.replace("HWADDR=52:54:00:aa:bb:cc\n", ""),
        "net-hwaddr"
    );
    assert_eq!(
        read("/etc/machine-id"),
        "",
        "machine-id truncated, not removed"
    );
    assert!(!exists("/etc/udev/rules.d/70-persistent-net.rules"));
    assert_eq!(read("/etc/udev/rules.d/80-local.rules"), "# kept\n");
    assert!(!exists("/var/log/messages") && !exists("/var/log/dnf.log"));
    // package-manager-cache removes the files below the cache and keeps its directories,
    // as virt-sysprep 1.48 does (tests/customize-diff/expected/sysprep-rhel-defaults).
    assert!(!exists("/var/cache/dnf/rhel-9-baseos/repomd.xml"));
    assert!(exists("/var/cache/dnf/rhel-9-baseos"));
    assert_eq!(
        read("/etc/hostname"),
        "web02.example.com\n",
        "sysprep leaves the rest"
    );
    // net-nmconn (on by default in virt-sysprep 1.48) removes NetworkManager's keyfiles.
    assert!(!exists(
        "/etc/NetworkManager/system-connections/eth0.nmconnection"
    ));
}
