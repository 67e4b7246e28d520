//! Streams: upload and download of large files with checksums on both sides, the offset
//! forms, checksums of files, devices and trees, progress, cancel, a full filesystem, and
//! the transfer speed.

use crate::fsimg;

use fsimg::*;
use guestwright::prelude::*;
use guestwright_tests::*;
use std::io::Write;
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Deterministic incompressible bytes.
fn pseudo_random(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    let mut v = Vec::with_capacity(len + 8);
    while v.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        v.extend_from_slice(&x.to_le_bytes());
    }
    v.truncate(len);
    v
}

fn host_sum(tool: &str, data: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("data");
    std::fs::write(&f, data).unwrap();
    let out = run(Command::new(tool).arg(&f));
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .to_string()
}

/// A writer that is slow, so a download is still running when it is cancelled.
struct Slow(u64);
impl Write for Slow {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        std::thread::sleep(Duration::from_millis(20));
        self.0 += b.len() as u64;
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn large_transfers_offsets_checksums_progress_cancel_and_enospc() {
    let dir = tempfile::tempdir().unwrap();
    let img = ext4_image(dir.path(), "xfer.img", 200, 0, |t| {
        put(t, "/sums/a", b"alpha\n", 0o644);
        put(t, "/sums/sub/b", b"beta\n", 0o644);
        put(t, "/sums/odd\nname", b"odd\n", 0o644);
        symlink(t, "a", "/sums/link");
    });
    let small = ext4_image(dir.path(), "small.img", 8, 0, |_| {});
    let raw = dir.path().join("raw.img");
    let raw_data = pseudo_random(4 << 20, 99);
    std::fs::write(&raw, &raw_data).unwrap();
    let mut h = launch(&[
        (&img, DriveOptions::readwrite()),
        (&small, DriveOptions::readwrite()),
        (&raw, DriveOptions::readonly()),
    ]);
    h.mount("/dev/sda", "/").check("mount");
    h.mkdir("/small").check("mkdir");
    h.mount("/dev/sdb", "/small").check("mount small");

    // 64 MiB up and down, compared by SHA-256 on both sides.
    let data = pseudo_random(64 << 20, 1);
    let want = host_sum("sha256sum", &data);
    let events = Arc::new(AtomicU64::new(0));
    let seen = events.clone();
    h.set_progress_callback(Some(Arc::new(move |_, p| {
        seen.fetch_max(p.done, Ordering::Relaxed);
    })));
    h.upload("/big", &mut &data[..]).check("upload 64 MiB");
    assert_eq!(h.stat("/big").check("stat").size, 64 << 20);
    assert_eq!(h.checksum("sha256", "/big").check("checksum"), want);
    let mut back = Vec::new();
    h.download("/big", &mut back).check("download 64 MiB");
    assert_eq!(back.len(), data.len());
    assert!(
        back == data,
        "downloaded bytes differ from the uploaded ones"
    );
    assert!(
        events.load(Ordering::Relaxed) > 0,
        "no progress was reported during the transfers"
    );
    h.set_progress_callback(None);

    // Two uploads at once (one takes the transfer disk, the other the channel), with sizes
    // off the 4 KiB grid; then both compared.
    let a = pseudo_random((9 << 20) + 123, 2);
    let b = pseudo_random((5 << 20) + 4095, 3);
    std::thread::scope(|s| {
        let hr: &Handle = &h;
        let (a, b) = (&a, &b);
        s.spawn(move || hr.upload("/par-a", &mut &a[..]).check("upload a"));
        s.spawn(move || hr.upload("/par-b", &mut &b[..]).check("upload b"));
    });
    assert_eq!(
        h.checksum("sha256", "/par-a").check("sum a"),
        host_sum("sha256sum", &a)
    );
    assert_eq!(
        h.checksum("sha256", "/par-b").check("sum b"),
        host_sum("sha256sum", &b)
    );
    // And two downloads at once, the same way.
    let (mut da, mut db) = (Vec::new(), Vec::new());
    std::thread::scope(|s| {
        let hr: &Handle = &h;
        let (da, db) = (&mut da, &mut db);
        s.spawn(move || hr.download("/par-a", da).check("download a"));
        s.spawn(move || hr.download("/par-b", db).check("download b"));
    });
    assert!(
        da == a && db == b,
        "concurrent downloads returned other bytes"
    );

    // The offset forms.
    let mut part = Vec::new();
    h.download_offset("/big", 1_000_000u64, 70_000u64, &mut part)
        .check("download_offset");
    assert!(part == data[1_000_000..1_070_000], "download_offset bytes");
    let mut tail = Vec::new();
    h.download_offset("/big", (64u64 << 20) - 10, 1000u64, &mut tail)
        .check("download_offset past the end");
    assert_eq!(tail.len(), 10);
    h.upload_offset("/big", 5u64, &mut &b"HELLO"[..])
        .check("upload_offset");
    assert_eq!(
        h.pread("/big", 12u64, 0u64).check("pread").0[..10],
        [&data[..5], b"HELLO"].concat()
    );
    assert_eq!(
        h.stat("/big").check("stat").size,
        64 << 20,
        "upload_offset must not truncate"
    );
    h.upload("/new-empty", &mut &b""[..]).check("upload empty");
    assert_eq!(h.stat("/new-empty").check("stat").size, 0);
    assert_eq!(
        errno(
            h.upload("/no/dir/x", &mut &data[..3 << 20]),
            "upload into a missing dir"
        ),
        Errno::ENOENT
    );
    assert_eq!(
        errno(h.download("/sums", &mut Vec::new()), "download a dir"),
        Errno::EISDIR
    );

    // Checksums of files and devices, against the host's tools.
    let small_data = b"The quick brown fox\n";
    h.write_file("/fox", &small_data[..]).check("write");
    for (t, tool) in [
        ("md5", "md5sum"),
        ("sha1", "sha1sum"),
        ("sha224", "sha224sum"),
        ("sha256", "sha256sum"),
        ("sha384", "sha384sum"),
        ("sha512", "sha512sum"),
    ] {
        assert_eq!(
            h.checksum(t, "/fox").check(t),
            host_sum(tool, small_data),
            "{t}"
        );
    }
    assert_eq!(
        h.checksum_device("sha256", "/dev/sdc")
            .check("checksum_device"),
        host_sum("sha256sum", &raw_data)
    );
    let mut sums = Vec::new();
    h.checksums_out("sha256", "/sums", &mut sums)
        .check("checksums_out");
    let sums = String::from_utf8(sums).unwrap();
    assert!(
        sums.contains(&format!("{}  ./a\n", host_sum("sha256sum", b"alpha\n"))),
        "{sums}"
    );
    assert!(
        sums.contains(&format!("{}  ./sub/b\n", host_sum("sha256sum", b"beta\n"))),
        "{sums}"
    );
    assert!(sums.contains("  ./odd\\nname\n"), "{sums}");
    assert_eq!(
        sums.lines().count(),
        3,
        "symlinks and directories have no line: {sums}"
    );

    // Cancel a download that is under way; the handle keeps working.
    let canceller = h.canceller().unwrap();
    let started = Instant::now();
    let err = std::thread::scope(|s| {
        s.spawn(|| {
            std::thread::sleep(Duration::from_millis(300));
            canceller.cancel();
        });
        h.download("/big", &mut Slow(0)).unwrap_err()
    });
    assert_eq!(
        err.errno(),
        Some(Errno::ECANCELED),
        "{}",
        guestwright::error::chain(&err)
    );
    assert!(started.elapsed() < Duration::from_secs(20));
    h.ping().check("ping after cancel");

    // A full filesystem is ENOSPC, and the filesystem still works afterwards.
    let err = h
        .upload("/small/too-big", &mut &data[..20 << 20])
        .unwrap_err();
    assert_eq!(
        err.errno(),
        Some(Errno::ENOSPC),
        "{}",
        guestwright::error::chain(&err)
    );
    // The upload went to a temporary file that is gone with the failure: nothing is left,
    // and there is room again.
    let left: Vec<_> = h
        .ls("/small")
        .check("ls /small")
        .into_iter()
        .filter(|n| n.0.starts_with(b".guestwright-") || n.0 == b"too-big")
        .collect();
    assert!(left.is_empty(), "a failed upload leaves nothing: {left:?}");
    h.write_file("/small/ok", "ok").check("write after ENOSPC");
    h.shutdown().check("shutdown");
    fsck_clean(&img);
    fsck_clean(&small);
    assert_eq!(image_cat(&small, "/ok"), b"ok");
}

/// 256 MiB each way go through the transfer disk, not the slow channel, and arrive whole;
/// prints the speeds. Speed itself is the readers benchmark's business (a timed assertion
/// would fail on a loaded machine): here on a loaded host, upload 100-380 MB/s and download
/// 600-750 MB/s through the disk, against 26-43 and 90-170 MB/s over the channel alone.
#[test]
fn transfers_of_256_mib_take_the_transfer_disk() {
    let dir = tempfile::Builder::new()
        .prefix("gw-speed")
        .tempdir_in("/dev/shm")
        .unwrap();
    let img = ext4_image(dir.path(), "speed.img", 400, 0, |_| {});
    let mut h = launch_rw(&img);
    let size = 256usize << 20;
    let data = pseudo_random(size, 7);
    let before = h.transfer_disk_bytes();
    let t = Instant::now();
    h.upload("/blob", &mut &data[..]).check("upload");
    let up = size as f64 / t.elapsed().as_secs_f64() / 1e6;
    let uploaded = h.transfer_disk_bytes() - before;
    let mut sink = ComparingSink {
        expected: &data,
        pos: 0,
        differs: false,
    };
    let t = Instant::now();
    h.download("/blob", &mut sink).check("download");
    let down = size as f64 / t.elapsed().as_secs_f64() / 1e6;
    let downloaded = h.transfer_disk_bytes() - before - uploaded;
    eprintln!("256 MiB: upload {up:.0} MB/s, download {down:.0} MB/s");
    h.shutdown().check("shutdown");
    assert_eq!(sink.pos, size);
    assert!(!sink.differs, "the download differs from what was uploaded");
    assert_eq!(uploaded, size as u64, "every uploaded byte took the disk");
    assert_eq!(
        downloaded, size as u64,
        "every downloaded byte took the disk"
    );
}

/// Compares what is written with `expected`, from its start.
struct ComparingSink<'a> {
    expected: &'a [u8],
    pos: usize,
    differs: bool,
}
impl Write for ComparingSink<'_> {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        let end = self.pos + b.len();
        self.differs |= self.expected.get(self.pos..end) != Some(b);
        self.pos = end;
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
