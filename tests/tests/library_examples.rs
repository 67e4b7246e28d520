//! The library's example programs (`host/examples/`), run as a user runs them: against a
//! disk image this test makes, with a deadline, checking the image afterwards with
//! e2fsprogs rather than with guestwright.
//!
//! The examples are built by `cargo test --workspace` (which builds every example) or by
//! `cargo build -p guestwright --examples`; a missing one fails the test and says so.

use guestwright_tests::*;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const DEADLINE: Duration = Duration::from_secs(300);

fn example(name: &str) -> PathBuf {
    let bin = guestwright_bin()
        .parent()
        .expect("the binary's directory")
        .join("examples")
        .join(name);
    assert!(
        bin.is_file(),
        "{} is missing: build it with `cargo build -p guestwright --examples` \
         (`cargo test --workspace` does)",
        bin.display()
    );
    bin
}

/// Runs an example under the test environment (TCG unless GUESTWRIGHT_ACCEL says
/// otherwise); kills it if it outlives the deadline.
fn run_example(name: &str, args: &[&std::ffi::OsStr]) -> Output {
    let mut cmd = Command::new(example(name));
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if std::env::var_os("GUESTWRIGHT_ACCEL").is_none() {
        cmd.env("GUESTWRIGHT_ACCEL", "tcg");
    }
    let mut child = cmd.spawn().expect("start the example");
    let started = Instant::now();
    while child.try_wait().expect("wait for the example").is_none() {
        if started.elapsed() > DEADLINE {
            let _ = child.kill();
            let out = child.wait_with_output().expect("reap the example");
            panic!(
                "example {name} did not finish within {DEADLINE:?}:\n{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child
        .wait_with_output()
        .expect("collect the example's output")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn hostname_example_renames_the_guest_in_the_image() {
    let dir = tempfile::tempdir().unwrap();
    let img = gpt_ext4(
        dir.path(),
        "guest.img",
        &[
            file("/etc/hostname", "template\n"),
            file("/etc/motd", "hello\n"),
        ],
    );
    let out = run_example("hostname", &[img.as_os_str(), "web01".as_ref()]);
    assert!(
        out.status.success(),
        "hostname example failed ({}):\n{}{}",
        out.status,
        text(&out.stdout),
        text(&out.stderr)
    );
    assert_eq!(text(&out.stdout), "was: template\nnow: web01\n");
    // What shutdown promised: the new name is in the image, and the filesystem is clean.
    assert_eq!(debugfs_cat(&img, "/etc/hostname"), b"web01\n");
    assert_eq!(debugfs_cat(&img, "/etc/motd"), b"hello\n");
    assert_fsck_clean(&img);
}

#[test]
fn hostname_example_reports_errors_without_panicking() {
    let dir = tempfile::tempdir().unwrap();
    // An image that does not exist: the drive error names it; exit status 1.
    let missing = dir.path().join("missing.img");
    let out = run_example("hostname", &[missing.as_os_str(), "web01".as_ref()]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(
        err.starts_with("hostname: ") && err.contains(&missing.display().to_string()),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
    // A name RFC 1123 refuses: a usage error before any appliance starts.
    let img = gpt_ext4(
        dir.path(),
        "guest.img",
        &[file("/etc/hostname", "template\n")],
    );
    let before = sha256(&img);
    let out = run_example("hostname", &[img.as_os_str(), "-bad".as_ref()]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert_eq!(sha256(&img), before);
    // A device that is not a filesystem: the daemon's error, with its errno's message.
    let out = run_example(
        "hostname",
        &[img.as_os_str(), "web01".as_ref(), "/dev/sda".as_ref()],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).starts_with("hostname: mount /dev/sda /"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(debugfs_cat(&img, "/etc/hostname"), b"template\n");
}

#[test]
fn inspect_example_reads_a_guest_without_changing_it() {
    let dir = tempfile::tempdir().unwrap();
    let img = debian_like(dir.path(), "debian.img", &[]);
    let before = sha256(&img);
    let out = run_example("inspect", &[img.as_os_str()]);
    let stdout = text(&out.stdout);
    assert!(
        out.status.success(),
        "inspect example failed ({}):\n{stdout}{}",
        out.status,
        text(&out.stderr)
    );
    assert_eq!(
        stdout,
        format!(
            "root: /dev/sda2\n  product: 12.5\n  linux debian 12.5 ({})\n  hostname: {DEBIAN_HOSTNAME}\n  \
             mount: /dev/sda2 on /\n  mount: /dev/sda1 on /boot/efi\n  packages: 3\n",
            std::env::consts::ARCH
        )
    );
    assert_eq!(
        sha256(&img),
        before,
        "a read-only inspection changed the image"
    );
}
