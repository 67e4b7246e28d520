//! The virt-customize options about the appliance and the run as a whole: `--attach`,
//! `--attach-format`, `-m/--memsize`, `--smp`, `--no-logfile`, `--selinux-relabel`,
//! `--sm-credentials` and the `--sm-*` operations (run against a fake subscription-manager
//! in the guest that records its arguments), `--colors`, `--wrap`, `-c/-d` (libvirt's test
//! driver), and the password method taken from the guest's /etc/login.defs (yescrypt checked
//! by the host's crypt(3) through perl). One customize launch carries most checks; the image
//! is read back with debugfs, without another launch.

use crate::customize_images;

use customize_images::{debian_entries, image, rhel, Entry};
use guestwright_tests::tree::ext4_tree;
use guestwright_tests::{assert_fsck_clean, guestwright, report_operations, require, run};
use std::path::Path;
use std::process::{Command, Output};

/// Records every call as `[ARG]...`, one line per call, in /root/sm.log.
const FAKE_SM: &[u8] =
    b"#!/bin/sh\nfor a in \"$@\"; do printf '[%s]' \"$a\"; done >> /root/sm.log\necho >> /root/sm.log\n";

/// The first line of the disk given with --attach.
const ATTACHED: &str = "guestwright-attached";

/// Finds the attached disk by its size in /sys (1 MiB: 2048 sectors) and reads its first
/// line through /dev (dash builtins only: the test guest has nothing else), and writes what
/// the appliance gives the guest's commands: CPUs and memory.
const PROBE: &str = "for s in /sys/block/*/size; do read -r n < \"$s\"; [ \"$n\" = 2048 ] || continue; \
     b=${s%/size}; read -r x < /dev/${b##*/}; [ \"$x\" = guestwright-attached ] && echo found > /root/attached; \
     done; n=0; while read -r l; do case $l in processor*) n=$((n+1));; esac; done < /proc/cpuinfo; \
     echo $n > /root/cpus; read -r k v u < /proc/meminfo; echo $v > /root/memkb; echo probed";

fn file(tree: &guestwright_tests::tree::Tree, p: &str) -> String {
    let n = tree
        .get(p)
        .unwrap_or_else(|| panic!("{p} is not in the image"));
    String::from_utf8(n.content.clone()).unwrap()
}

fn crypt(password: &str, setting: &str) -> String {
    require("perl", "perl-base");
    let out = run(Command::new("perl").args([
        "-e",
        "print crypt($ARGV[0], $ARGV[1])",
        password,
        setting,
    ]));
    String::from_utf8(out.stdout).unwrap()
}

fn attach_disk(dir: &Path) -> std::path::PathBuf {
    let p = dir.join("attach.img");
    let mut data = format!("{ATTACHED}\n").into_bytes();
    data.resize(1 << 20, 0);
    std::fs::write(&p, data).unwrap();
    p
}

#[test]
fn appliance_options_subscription_manager_and_login_defs() {
    let dir = tempfile::tempdir().unwrap();
    let mut entries = debian_entries();
    entries.retain(|e| !matches!(e, Entry::File("/etc/login.defs", ..)));
    entries.push(Entry::File(
        "/etc/login.defs",
        b"# shadow\nUID_MIN 1000\n#ENCRYPT_METHOD SHA512\nENCRYPT_METHOD YESCRYPT\n",
        0o644,
        0,
        0,
    ));
    entries.push(Entry::File(
        "/usr/bin/subscription-manager",
        FAKE_SM,
        0o755,
        0,
        0,
    ));
    // Where the appliance's /dev, /proc and /sys are bound for the guest's commands.
    entries.push(Entry::Dir("/dev", 0o755, 0, 0));
    entries.push(Entry::Dir("/proc", 0o555, 0, 0));
    entries.push(Entry::Dir("/sys", 0o555, 0, 0));
    let img = image(dir.path(), "debian.raw", &entries);
    let attach = attach_disk(dir.path());

    let out = run(guestwright()
        .arg("customize")
        .arg("-a")
        .arg(&img)
        .arg("--attach-format=raw")
        .arg("--attach")
        .arg(&attach)
        .args(["-m", "700", "--smp", "2", "--colors", "--wrap", "--json"])
        .env("COLUMNS", "30")
        .args([
            "--sm-register",
            "--sm-attach=pool:P1 x",
            "--sm-attach=auto",
            "--sm-remove",
            "--sm-unregister",
            "--root-password=password:Y3s-crypt",
            &format!("--run-command={PROBE}"),
            "--no-logfile",
            "--selinux-relabel",
            // Wherever it is given, as in virt-customize.
            "--sm-credentials=alice:password:Sm-Secret9",
        ]));
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    for shown in [&stdout, &stderr] {
        assert!(
            !shown.contains("Sm-Secret9"),
            "the sm password is shown:\n{shown}"
        );
        assert!(
            !shown.contains("Y3s-crypt"),
            "the password is shown:\n{shown}"
        );
    }
    // --colors: the progress messages are green; --wrap: at COLUMNS, continuation indented.
    assert!(
        stderr.contains("\x1b[0;32mguestwright: launching the\n             appliance\x1b[0m"),
        "{stderr:?}"
    );
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let ops = report_operations(&report);
    assert!(
        ops.contains(&"sm-register") && ops.contains(&"no-logfile"),
        "{ops:?}"
    );

    assert_fsck_clean(&img);
    let tree = ext4_tree(&img);
    // The exact command lines of virt-customize, in command-line order.
    assert_eq!(
        file(&tree, "/root/sm.log"),
        "[register][--username=alice][--password=Sm-Secret9]\n\
         [attach][--pool=P1 x]\n\
         [attach][--auto]\n\
         [remove][--all]\n\
         [unregister]\n"
    );
    // --attach: the disk is there for the guest's commands.
    assert_eq!(file(&tree, "/root/attached"), "found\n");
    // --smp and --memsize reach QEMU: the guest's commands see 2 CPUs and about 700 MiB.
    assert_eq!(file(&tree, "/root/cpus"), "2\n");
    let kb: u64 = file(&tree, "/root/memkb").trim().parse().unwrap();
    assert!((600 << 10..=700 << 10).contains(&kb), "MemTotal {kb} kB");
    // --no-logfile: the log is gone (it held "probed").
    assert!(!tree.contains_key("/tmp/builder.log"), "builder.log kept");
    // --selinux-relabel on a guest without SELinux: nothing.
    assert!(!tree.contains_key("/.autorelabel"));
    // No --password-crypto: ENCRYPT_METHOD YESCRYPT of the guest's login.defs; crypt(3)
    // (libxcrypt) agrees with the hash.
    let shadow = file(&tree, "/etc/shadow");
    let hash = shadow
        .lines()
        .find_map(|l| l.strip_prefix("root:"))
        .and_then(|l| l.split(':').next())
        .unwrap()
        .to_owned();
    assert!(hash.starts_with("$y$j9T$"), "{hash}");
    assert_eq!(crypt("Y3s-crypt", &hash), hash);
    assert_ne!(crypt("Y3s-crypT", &hash), hash);
}

#[test]
fn selinux_relabel_marks_the_guest_even_when_nothing_else_changes() {
    let dir = tempfile::tempdir().unwrap();
    let img = rhel(dir.path(), "rhel.raw");
    let out = run(guestwright()
        .arg("customize")
        .arg("-a")
        .arg(&img)
        .arg("--selinux-relabel"));
    assert!(out.status.success());
    let tree = ext4_tree(&img);
    assert_eq!(file(&tree, "/.autorelabel"), "");
}

fn fails(args: &[&str]) -> Output {
    let out = guestwright().arg("customize").args(args).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{args:?}: {out:?}");
    out
}

#[test]
fn bad_combinations_fail_before_anything_starts() {
    let dir = tempfile::tempdir().unwrap();
    let img = dir.path().join("none.raw");
    let img = img.to_str().unwrap();
    let msg = |o: &Output| String::from_utf8_lossy(&o.stderr).into_owned();
    let o = fails(&["-a", img, "--sm-register"]);
    assert!(msg(&o).contains("--sm-credentials"), "{}", msg(&o));
    let o = fails(&["-a", img, "--selinux-relabel", "--no-selinux-relabel"]);
    assert!(msg(&o).contains("give one of them"), "{}", msg(&o));
    let o = fails(&[
        "-a",
        img,
        "--attach",
        img,
        "--attach-format",
        "raw",
        "--touch=/x",
    ]);
    assert!(msg(&o).contains("before --attach"), "{}", msg(&o));
    let o = fails(&["-a", img, "--sm-credentials=alice:pw", "--touch=/x"]);
    assert!(msg(&o).contains("USER:password:PASSWORD"), "{}", msg(&o));
    let o = fails(&["-a", img, "--sm-attach=pool:", "--touch=/x"]);
    assert!(
        msg(&o).contains("auto, pool:ID or file:FILE"),
        "{}",
        msg(&o)
    );
    let o = fails(&["-a", img, "-m", "64", "--touch=/x"]);
    assert!(msg(&o).contains("whole number of MiB"), "{}", msg(&o));
    let o = fails(&["-a", img, "--smp", "0", "--touch=/x"]);
    assert!(msg(&o).contains("--smp"), "{}", msg(&o));
    let o = fails(&["-a", img, "-d", "guest", "--touch=/x"]);
    assert!(msg(&o).contains("cannot be used with"), "{}", msg(&o));
    // Passwords are set after the other operations; one user named twice is refused
    // before they start (virt-customize refuses it where the second one stands).
    let o = fails(&[
        "-a",
        img,
        "--root-password=disabled",
        "--touch=/x",
        "--password=root:random",
    ]);
    assert!(
        msg(&o).contains("\"root\" is given a password twice"),
        "{}",
        msg(&o)
    );
}

/// A libvirt test-driver node with one guest: its first disk is `disk`, then a read-only
/// CD-ROM whose file does not exist (adding it would fail the launch) and an empty drive.
fn libvirt_node(disk: &Path, running: bool) -> String {
    let state = if running { 1 } else { 5 };
    format!(
        "<node xmlns:test='http://libvirt.org/schemas/domain/test/1.0'>\n\
         <domain type='test'><name>web</name><memory>524288</memory>\n\
         <os><type>hvm</type></os><test:runstate>{state}</test:runstate>\n\
         <devices>\n\
         <disk type='file' device='disk'><driver name='qemu' type='raw'/>\
         <source file='{}'/><target dev='vda'/></disk>\n\
         <disk type='file' device='cdrom'><driver name='qemu' type='raw'/>\
         <source file='/nonexistent/install.iso'/><target dev='sda'/><readonly/></disk>\n\
         <disk type='file' device='cdrom'><target dev='sdb'/></disk>\n\
         </devices></domain></node>\n",
        disk.display()
    )
}

#[test]
fn domain_disks_come_from_libvirt() {
    require("virsh", "libvirt-clients");
    let dir = tempfile::tempdir().unwrap();
    let img = image(dir.path(), "web.raw", &debian_entries());
    let node = dir.path().join("node.xml");
    std::fs::write(&node, libvirt_node(&img, false)).unwrap();
    let uri = format!("test://{}", node.display());
    run(guestwright().arg("customize").args([
        "-c",
        &uri,
        "-d",
        "web",
        "--write=/etc/from-domain:web",
    ]));
    assert_eq!(file(&ext4_tree(&img), "/etc/from-domain"), "web");

    // A running guest is refused, its disks untouched.
    std::fs::write(&node, libvirt_node(&img, true)).unwrap();
    let out = guestwright()
        .arg("customize")
        .args(["-c", &uri, "-d", "web", "--touch=/etc/running"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("is running"),
        "{out:?}"
    );
    assert!(!ext4_tree(&img).contains_key("/etc/running"));
}
