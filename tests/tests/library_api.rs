//! What the library's guide promises about bad input (host/src/lib.rs, "Errors"): a bad
//! device name, a path with a NUL, a relative path or a missing file is an `Error` carrying
//! the daemon's errno, never a panic, and the appliance keeps answering afterwards.

use guestwright::prelude::*;
use guestwright_tests::*;

#[test]
fn bad_arguments_are_errors_with_an_errno_and_the_appliance_survives() {
    let dir = tempfile::tempdir().unwrap();
    let img = gpt_ext4(dir.path(), "disk.img", &[file("/etc/hostname", "x\n")]);
    let mut h = launch(&[(&img, DriveOptions::readonly())]);
    // Before anything is mounted, file operations need a root.
    let e = h.read_file("/etc/hostname").unwrap_err();
    assert!(e.errno().is_some(), "{e:?}");
    h.mount("/dev/sda1", "/").check("mount");

    let remote = |what: &str, r: Result<(), Error>| -> Errno {
        match r {
            Err(e @ Error::Remote { .. }) => e.errno().expect("a remote error has an errno"),
            other => panic!("{what}: expected an error from the appliance, got {other:?}"),
        }
    };
    assert_eq!(
        remote("missing file", h.read_file("/etc/motd").map(drop)),
        Errno::ENOENT
    );
    remote("not a device", h.mount("sda1", "/mnt"));
    remote("no such disk", h.mount("/dev/sdz1", "/"));
    remote("NUL in a path", h.read_file("/etc/host\0name").map(drop));
    remote("relative path", h.read_file("etc/hostname").map(drop));
    // Read-only drive: writes go to the overlay, and the call still works.
    h.write_file("/etc/hostname", "y\n")
        .check("write to the overlay");
    // Still answering, and nothing of the above panicked.
    h.ping().check("ping after the errors");
    assert_eq!(h.read_file("/etc/hostname").check("read").0, b"y\n");
    // Drives cannot be added to a running appliance: an error, not a panic.
    assert!(matches!(
        h.add_drive(&img, DriveOptions::readonly()),
        Err(Error::AlreadyLaunched)
    ));
    h.shutdown().check("shutdown");
    assert_eq!(debugfs_cat(&img, "/etc/hostname"), b"x\n");
}
