//! A read-write mount gathers the kernel's write-back requests and sends them many ranges
//! per call (`fh_write_ranges`): random 4 KiB writes, interleaved reads, truncates and
//! stats agree with a local model at every step; after fsync(2) the image holds every byte
//! even when the mount's server is then killed; and a full filesystem reports ENOSPC by
//! fsync or close at the latest, while what an earlier fsync acknowledged stays. Default
//! mount options (no allow_other, the kernel's writeback cache on). Two launches.

use crate::fusekit;

use fusekit::*;
use guestwright_tests::*;
use rand::{Rng, SeedableRng};
use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// The file's bytes in the image, read by debugfs (not through guestwright).
fn debugfs_cat(img: &Path, name: &str) -> Vec<u8> {
    require("debugfs", "e2fsprogs");
    let out = Command::new("debugfs")
        .args(["-R", &format!("cat /{name}")])
        .arg(img)
        .output()
        .expect("debugfs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn wait_gone(pid: u32, limit: Duration) {
    let t = Instant::now();
    while Path::new(&format!("/proc/{pid}")).exists() {
        assert!(
            t.elapsed() < limit,
            "process {pid} still there after {limit:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Compares without printing megabytes: the first differing offset.
fn assert_same(got: &[u8], want: &[u8], what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: size");
    if let Some(i) = got.iter().zip(want).position(|(a, b)| a != b) {
        panic!("{what}: first difference at byte {i} (page {})", i / 4096);
    }
}

#[test]
fn random_writes_agree_with_a_model_and_survive_a_killed_server_after_fsync() {
    require("e2fsck", "e2fsprogs");
    let tmp = tempfile::tempdir().unwrap();
    let tree = tmp.path().join("tree");
    std::fs::create_dir_all(&tree).unwrap();
    const SIZE: usize = 8 << 20;
    let mut model = bytes(5, SIZE);
    std::fs::write(tree.join("data.bin"), &model).unwrap();
    std::fs::write(tree.join("other.bin"), bytes(6, 100_000)).unwrap();
    let img = tmp.path().join("disk.img");
    image_of(&tree, &img, 64);
    let dir = tmp.path().join("mnt");
    let log = tmp.path().join("trace.log");
    let m = Mount::traced(&img, &dir, &["--rw"], &log);
    let qemu = m.qemu_pid();
    let deadline = Instant::now() + Duration::from_secs(600);
    let mut rng = rand::rngs::StdRng::seed_from_u64(15);

    // 1. fio's pattern: 1,024 random page-aligned 4 KiB writes, then fsync.
    let f = OpenOptions::new()
        .read(true)
        .write(true)
        .open(dir.join("data.bin"))
        .unwrap();
    for i in 0..1024u64 {
        let page = rng.random_range(0..(SIZE / 4096)) as u64;
        let data = bytes(1000 + i, 4096);
        f.write_all_at(&data, page * 4096).unwrap();
        model[page as usize * 4096..][..4096].copy_from_slice(&data);
    }
    f.sync_all().unwrap();
    let trace = std::fs::read_to_string(&log).unwrap();
    let calls = |op: &str| {
        let prefix = format!("libguestfs: trace: {op} ");
        trace
            .lines()
            .filter(|l| l.starts_with(&prefix) && !l[prefix.len()..].starts_with("= "))
            .count()
    };
    let (single, ranges) = (calls("fh_write"), calls("fh_write_ranges"));
    eprintln!("1,024 random 4 KiB writes: {single} fh_write, {ranges} fh_write_ranges");
    assert!(
        single + ranges <= 16,
        "1,024 random 4 KiB writes took {single} fh_write and {ranges} fh_write_ranges calls"
    );

    // 2. Interleaved, unaligned: writes, reads through the same and another descriptor,
    //    truncates (down, then up past the end), sizes; each read against the model.
    let reader = File::open(dir.join("data.bin")).unwrap();
    for step in 0..400u64 {
        assert!(
            Instant::now() < deadline,
            "interleaved steps past the deadline"
        );
        match rng.random_range(0..10) {
            0..=4 => {
                let len = rng.random_range(1..20_000);
                let at = rng.random_range(0..model.len() as u64 + 5_000);
                let data = bytes(50_000 + step, len);
                f.write_all_at(&data, at).unwrap();
                let end = at as usize + len;
                if model.len() < end {
                    model.resize(end, 0);
                }
                model[at as usize..end].copy_from_slice(&data);
            }
            5..=6 => {
                let at = rng.random_range(0..model.len() as u64 + 100);
                let len = rng.random_range(1..70_000usize);
                let by = if step % 2 == 0 { &f } else { &reader };
                let mut buf = vec![0u8; len];
                let n = by.read_at(&mut buf, at).unwrap();
                let want = &model[(at as usize).min(model.len())..]
                    [..len.min(model.len().saturating_sub(at as usize))];
                assert_same(&buf[..n], want, &format!("step {step}: read at {at}"));
            }
            7 => {
                let size = rng.random_range(SIZE as u64 / 2..SIZE as u64 + 300_000);
                f.set_len(size).unwrap();
                model.resize(size as usize, 0);
            }
            8 => {
                let len = f.metadata().unwrap().len();
                assert_eq!(len, model.len() as u64, "step {step}: fstat size");
                let len = std::fs::metadata(dir.join("data.bin")).unwrap().len();
                assert_eq!(len, model.len() as u64, "step {step}: stat size");
            }
            _ => {
                // Another file written and closed in between: its close pushes its writes.
                let o = OpenOptions::new()
                    .write(true)
                    .open(dir.join("other.bin"))
                    .unwrap();
                o.write_all_at(&bytes(step, 3000), step * 100).unwrap();
            }
        }
    }
    f.sync_all().unwrap();
    // A whole read through a new descriptor equals the model.
    let got = std::fs::read(dir.join("data.bin")).unwrap();
    assert_same(&got, &model, "read back after the interleaved steps");

    // 3. SIGKILL the server after fsync: nothing fsync acknowledged may be lost.
    let server = m.server_pid();
    unsafe_kill(server);
    wait_gone(server, Duration::from_secs(30));
    // QEMU ends with its server (its channel closes); stop it if it does not.
    let t = Instant::now();
    while Path::new(&format!("/proc/{qemu}")).exists() && t.elapsed() < Duration::from_secs(20) {
        std::thread::sleep(Duration::from_millis(100));
    }
    if Path::new(&format!("/proc/{qemu}")).exists() {
        let _ = Command::new("kill")
            .arg("-9")
            .arg(qemu.to_string())
            .status();
        wait_gone(qemu, Duration::from_secs(30));
    }
    drop(reader);
    drop(f);
    let _ = Command::new("fusermount3").arg("-uz").arg(&dir).status();
    drop(m);
    // The server died with the guest's journal not checkpointed: replay it as the next
    // mount would (debugfs alone reads the home locations, so the old inode).
    let out = Command::new("e2fsck")
        .args(["-E", "journal_only", "-y"])
        .arg(&img)
        .output()
        .expect("e2fsck");
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "e2fsck -E journal_only: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_e2fsck_clean(&img);
    let on_disk = debugfs_cat(&img, "data.bin");
    assert_same(
        &on_disk,
        &model,
        "the image's data.bin after fsync and SIGKILL",
    );
}

fn unsafe_kill(pid: u32) {
    let st = Command::new("kill")
        .arg("-9")
        .arg(pid.to_string())
        .status()
        .unwrap();
    assert!(st.success(), "kill -9 {pid}");
}

#[test]
fn a_full_filesystem_reports_enospc_by_fsync_and_keeps_what_was_acknowledged() {
    require("e2fsck", "e2fsprogs");
    let tmp = tempfile::tempdir().unwrap();
    let tree = tmp.path().join("tree");
    std::fs::create_dir_all(&tree).unwrap();
    let img = tmp.path().join("small.img");
    image_of(&tree, &img, 16);
    let dir = tmp.path().join("mnt");
    let mut m = Mount::new(&img, &dir, &["--rw"]);

    // Acknowledged first: 1 MiB written and fsynced.
    let kept = bytes(77, 1 << 20);
    let a = File::create(dir.join("kept.bin")).unwrap();
    a.write_all_at(&kept, 0).unwrap();
    a.sync_all().unwrap();
    drop(a);

    // Then more than the filesystem holds, in 64 KiB writes at random offsets of a 32 MiB
    // file (every page once).
    let b = File::create(dir.join("fill.bin")).unwrap();
    let mut pages: Vec<u64> = (0..512).collect();
    let mut rng = rand::rngs::StdRng::seed_from_u64(16);
    for i in (1..pages.len()).rev() {
        pages.swap(i, rng.random_range(0..=i));
    }
    let mut first_error = None;
    let t = Instant::now();
    for (i, p) in pages.iter().enumerate() {
        assert!(
            t.elapsed() < Duration::from_secs(600),
            "writes past the deadline"
        );
        if let Err(e) = b.write_all_at(&bytes(i as u64, 65536), p * 65536) {
            first_error = Some(("write", e));
            break;
        }
    }
    let synced = b.sync_all();
    let first = match (first_error, synced) {
        (Some(w), _) => w,
        (None, Err(e)) => ("fsync", e),
        (None, Ok(())) => {
            panic!("32 MiB into a 16 MiB filesystem: every write and the fsync succeeded")
        }
    };
    eprintln!("the first error: {} {}", first.0, first.1);
    assert_eq!(
        first.1.raw_os_error(),
        Some(libc::ENOSPC),
        "{}: {}",
        first.0,
        first.1
    );
    drop(b);
    // Read back through the mount, then from the image.
    assert_same(
        &std::fs::read(dir.join("kept.bin")).unwrap(),
        &kept,
        "kept.bin through the mount",
    );
    m.umount();
    assert_same(
        &debugfs_cat(&img, "kept.bin"),
        &kept,
        "kept.bin in the image",
    );
    assert_e2fsck_clean(&img);
}
