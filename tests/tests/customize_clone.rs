//! `guestwright clone`: a qcow2 overlay of a template, customized; the template's bytes never
//! change, the overlay records its backing file and format, and a failed clone leaves nothing.

use crate::customize_images;

use customize_images::debian;
use guestwright::prelude::*;
use guestwright_tests::{guestwright, launch, run, sha256, Check};
use std::process::Command;

#[test]
fn clone_customizes_the_overlay_only() {
    let dir = tempfile::tempdir().unwrap();
    let raw = debian(dir.path(), "base.raw");
    let base = dir.path().join("base.qcow2");
    run(Command::new("qemu-img")
        .args(["convert", "-f", "raw", "-O", "qcow2"])
        .arg(&raw)
        .arg(&base));
    let before = sha256(&base);
    let vm1 = dir.path().join("vm1.qcow2");
    run(guestwright().arg("clone").arg(&base).arg(&vm1).args([
        "--format",
        "qcow2",
        "--hostname",
        "vm1",
        "--net-config",
        "eth0:static:198.51.100.7/24",
    ]));
    assert_eq!(sha256(&base), before, "the template never changes");

    let info = run(Command::new("qemu-img")
        .args(["info", "--output=json", "-U"])
        .arg(&vm1));
    let info: serde_json::Value = serde_json::from_slice(&info.stdout).unwrap();
    assert_eq!(info["format"], "qcow2");
    assert_eq!(
        info["backing-filename"],
        std::fs::canonicalize(&base).unwrap().to_str().unwrap()
    );
    assert_eq!(info["backing-filename-format"], "qcow2");
    let check = Command::new("qemu-img")
        .args(["check", "-q"])
        .arg(&vm1)
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stdout)
    );

    // A raw template works too, and a second clone is independent of the first.
    let vm2 = dir.path().join("vm2.qcow2");
    run(guestwright()
        .arg("clone")
        .arg(&raw)
        .arg(&vm2)
        .args(["-q", "--hostname", "vm2"]));
    let h = launch(&[
        (&vm1, DriveOptions::readonly()),
        (&vm2, DriveOptions::readonly()),
    ]);
    h.run(args::Mount::new("/dev/sda1", "/").readonly(true))
        .check("mount vm1");
    // /srv exists in the template: mount the second clone there.
    h.run(args::Mount::new("/dev/sdb1", "/srv").readonly(true))
        .check("mount vm2");
    let read = |p: &str| String::from_utf8(h.read_file(p).check(p).0).unwrap();
    assert_eq!(read("/etc/hostname"), "vm1\n");
    assert!(read("/etc/network/interfaces")
        .contains("iface eth0 inet static\n\taddress 198.51.100.7/24\n"));
    assert_eq!(read("/srv/etc/hostname"), "vm2\n");
    drop(h);
    assert_eq!(sha256(&base), before);

    // NEW must not exist; a clone whose operation fails is removed.
    let again = guestwright()
        .arg("clone")
        .arg(&base)
        .arg(&vm1)
        .args(["--hostname", "x"])
        .output()
        .unwrap();
    assert_eq!(again.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("already exists"),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    let vm3 = dir.path().join("vm3.qcow2");
    let failed = guestwright()
        .arg("clone")
        .arg(&base)
        .arg(&vm3)
        .args(["--timezone", "Nowhere/Town"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&failed.stderr);
    assert_eq!(failed.status.code(), Some(1), "{err}");
    assert!(
        err.contains("removed") && err.contains("Nowhere/Town"),
        "{err}"
    );
    assert!(!vm3.exists());
    assert_eq!(sha256(&base), before);
}
