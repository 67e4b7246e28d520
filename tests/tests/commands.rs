//! Guest commands (`sh`, `command` and their `_lines` forms) and file handles (the FUSE
//! calls), each group on one launch.

use crate::fsimg;

use fsimg::*;
use guestwright::prelude::*;
use guestwright_tests::*;
use std::time::{Duration, Instant};

#[test]
fn guest_commands_output_status_timeout_and_cancel() {
    let dir = tempfile::tempdir().unwrap();
    let img = ext4_image(dir.path(), "cmd.img", 64, 0, |t| {
        install_host_programs(t, &["/bin/sh", "/bin/cat", "/bin/sleep", "/bin/ls"]);
        put(t, "/etc/hostname", b"guest\n", 0o644);
        for d in ["dev", "proc", "sys", "tmp"] {
            std::fs::create_dir_all(t.join(d)).unwrap();
        }
    });
    let mut h = launch_rw(&img);

    assert_eq!(
        h.sh("echo hello; cat /etc/hostname").check("sh"),
        "hello\nguest\n"
    );
    assert_eq!(
        h.command(vec!["/bin/cat".into(), "/etc/hostname".into()])
            .check("command"),
        "guest\n"
    );
    let root = h
        .command_lines(vec!["ls".into(), "/".into()])
        .check("command_lines");
    assert!(
        root.contains(&"etc".to_string()) && root.contains(&"bin".to_string()),
        "{root:?}"
    );
    assert_eq!(
        h.sh_lines(
            "test -e /proc/self/stat && test -d /sys/class && test -e /dev/null && echo binds"
        )
        .check("proc, sys and dev are there"),
        ["binds"]
    );
    assert_eq!(h.sh("cat").check("stdin is empty"), "");
    h.sh("echo made > /tmp/by-sh").check("sh writes");
    assert_eq!(h.read_file("/tmp/by-sh").check("read").0, b"made\n");

    // A failure carries the status and stderr.
    let err = h.sh("echo oops >&2; exit 3").unwrap_err();
    let chain = guestwright::error::chain(&err);
    assert!(
        chain.contains("exited with status 3") && chain.contains("oops"),
        "{chain}"
    );
    assert_eq!(
        errno(
            h.command(vec!["/no/such/program".into()]),
            "missing program"
        ),
        Errno::ENOENT
    );
    assert_eq!(errno(h.command(vec![]), "no arguments"), Errno::EINVAL);

    // A timeout kills the program; a background child does not keep the call waiting.
    let started = Instant::now();
    let err = h
        .run(args::Sh::new("sleep 30").timeout_secs(2u64))
        .unwrap_err();
    assert_eq!(
        err.errno(),
        Some(Errno::ETIMEDOUT),
        "{}",
        guestwright::error::chain(&err)
    );
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "{:?}",
        started.elapsed()
    );
    let started = Instant::now();
    assert_eq!(
        h.sh("sleep 100 & echo started").check("background"),
        "started\n"
    );
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "{:?}",
        started.elapsed()
    );

    // Cancel.
    let canceller = h.canceller().unwrap();
    let err = std::thread::scope(|s| {
        s.spawn(|| {
            std::thread::sleep(Duration::from_millis(500));
            canceller.cancel();
        });
        h.sh("sleep 60").unwrap_err()
    });
    assert_eq!(
        err.errno(),
        Some(Errno::ECANCELED),
        "{}",
        guestwright::error::chain(&err)
    );

    // The bind mounts are gone once no command runs.
    assert!(
        h.ls("/proc").check("ls /proc").is_empty(),
        "/proc still mounted"
    );
    assert!(
        h.ls("/dev").check("ls /dev").is_empty(),
        "/dev still mounted"
    );
    h.shutdown().check("shutdown");
    fsck_clean(&img);
    assert_eq!(image_cat(&img, "/tmp/by-sh"), b"made\n");
}

#[test]
fn file_handles_for_fuse_work_concurrently() {
    let dir = tempfile::tempdir().unwrap();
    let pattern: Vec<u8> = (0..8u32 << 20)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let img = ext4_image(dir.path(), "fh.img", 64, 0, |t| {
        put(t, "/data", &pattern, 0o644);
        put(t, "/small", b"0123456789", 0o644);
        std::fs::create_dir_all(t.join("dir")).unwrap();
    });
    let mut h = launch_rw(&img);

    // Create, write, read, stat, truncate, fsync, close.
    let fh = h.fh_create("/new", Mode(0o640), 2).check("fh_create");
    assert_eq!(h.fh_write(fh, 0u64, "hello world").check("fh_write"), 11);
    assert_eq!(h.fh_write(fh, 20u64, "!").check("fh_write past the end"), 1);
    assert_eq!(h.fh_read(fh, 6u64, 5u64).check("fh_read").0, b"world");
    let st = h.fh_stat(fh).check("fh_stat");
    assert_eq!((st.size, st.mode), (21, 0o100640));
    h.fh_truncate(fh, 5u64).check("fh_truncate");
    h.fh_fsync(fh).check("fh_fsync");
    h.run(args::FhFsync::new(fh).datasync(true))
        .check("fh_fdatasync");
    assert_eq!(
        h.fh_read(fh, 0u64, 100u64).check("read after truncate").0,
        b"hello"
    );
    h.fh_close(fh).check("fh_close");
    assert_eq!(
        errno(h.fh_read(fh, 0u64, 1u64), "read a closed handle"),
        Errno::EBADF
    );
    assert_eq!(errno(h.fh_close(fh), "close twice"), Errno::EBADF);
    assert_eq!(
        errno(h.fh_create("/new", Mode(0o600), 2), "create existing"),
        Errno::EEXIST
    );
    assert_eq!(
        errno(h.fh_open("/missing", 0), "open missing"),
        Errno::ENOENT
    );
    assert_eq!(
        errno(h.fh_open("/dir", 0), "open a directory"),
        Errno::EISDIR
    );
    assert_eq!(
        errno(h.fh_open("/small", 0o100), "O_CREAT is not for fh_open"),
        Errno::EINVAL
    );
    let ro = h.fh_open("/small", 0).check("fh_open read-only");
    assert_eq!(
        errno(h.fh_write(ro, 0u64, "x"), "write a read-only handle"),
        Errno::EBADF
    );
    assert_eq!(
        errno(h.fh_read(ro, 0u64, 5u64 << 20), "read more than 4 MiB"),
        Errno::EINVAL
    );
    let app = h.fh_open("/small", 1 | 0o2000).check("fh_open O_APPEND");
    h.fh_write(app, 0u64, "AB").check("append");
    h.fh_close(app).check("close");
    assert_eq!(h.read_file("/small").check("read").0, b"0123456789AB");

    // Twenty reads from five threads at once on one handle and on handles of their own.
    let shared = h.fh_open("/data", 0).check("fh_open data");
    let hr: &Handle = &h;
    let pattern = &pattern;
    std::thread::scope(|s| {
        for t in 0..5u64 {
            s.spawn(move || {
                let own = hr.fh_open("/data", 0).check("fh_open own");
                for i in 0..4u64 {
                    let off = (t * 1_234_567 + i * 777_777) % (6 << 20);
                    let len = 256 * 1024 + (t * 4 + i) * 50_000;
                    let handle = if i % 2 == 0 { shared } else { own };
                    let got = hr.fh_read(handle, off, len).check("concurrent fh_read").0;
                    assert!(
                        got == pattern[off as usize..(off + len) as usize],
                        "thread {t} read {i}: wrong bytes at {off}+{len}"
                    );
                }
                hr.fh_close(own).check("close own");
            });
        }
    });
    // Concurrent writes to separate regions through one handle.
    let w = h.fh_open("/data", 2).check("fh_open rw");
    std::thread::scope(|s| {
        for t in 0..4u64 {
            s.spawn(move || {
                let block = vec![b'a' + t as u8; 1 << 20];
                hr.fh_write(w, t << 20, block).check("concurrent fh_write");
            });
        }
    });
    for t in 0..4u64 {
        let got = h.fh_read(w, (t << 20) + 1000, 10u64).check("read back").0;
        assert_eq!(got, vec![b'a' + t as u8; 10], "region {t}");
    }

    // Handles do not keep the filesystem busy: umount_all closes them.
    h.umount_all().check("umount_all with open handles");
    assert_eq!(
        errno(h.fh_read(shared, 0u64, 1u64), "read after umount_all"),
        Errno::EBADF
    );
    h.shutdown().check("shutdown");
    fsck_clean(&img);
    assert_eq!(image_cat(&img, "/new"), b"hello");
}
