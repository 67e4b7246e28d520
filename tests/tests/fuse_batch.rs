//! Small files of a read-only mount come a batch at a time (`read_files`): a tree of a few
//! hundred small files costs a few round trips, not one per file, and every byte read
//! through the mount is the image's (read by debugfs). Also `read_files` itself: whole
//! small regular files, and an errno for everything else (a symlink is never followed).

use crate::{fsimg, fusekit};

use guestwright::prelude::*;
use guestwright_tests::*;
use std::path::Path;

/// Small files in the tree below.
const SMALL: usize = 3 * 100 + 20;

/// `data/d0..d2/f000..f099` (1 byte to about 9 KiB), `data/d1/sub/s00..s19`, a 300 KB
/// file, an empty file and a symlink.
fn small_tree(root: &Path) {
    for d in 0..3 {
        for f in 0..100 {
            let len = (d * 100 + f) * 97 % 9000 + 1;
            let path = root.join(format!("data/d{d}/f{f:03}"));
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, fusekit::bytes((d * 100 + f) as u64, len)).unwrap();
        }
    }
    for s in 0..20 {
        let path = root.join(format!("data/d1/sub/s{s:02}"));
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, format!("sub file {s}\n")).unwrap();
    }
    std::fs::write(root.join("data/big.bin"), fusekit::bytes(7, 300_000)).unwrap();
    std::fs::write(root.join("data/d2/empty"), b"").unwrap();
    std::os::unix::fs::symlink("f001", root.join("data/d0/link")).unwrap();
}

/// Trace lines of calls named `op` (`libguestfs: trace: OP ARGS...`, not the result lines).
fn calls(trace: &str, op: &str) -> usize {
    let prefix = format!("libguestfs: trace: {op} ");
    trace
        .lines()
        .filter(|l| l.starts_with(&prefix) && !l[prefix.len()..].starts_with("= "))
        .count()
}

#[test]
fn read_only_mount_reads_a_tree_of_small_files_in_a_few_round_trips() {
    require("debugfs", "e2fsprogs");
    let tmp = tempfile::tempdir().unwrap();
    let tree = tmp.path().join("tree");
    small_tree(&tree);
    let img = tmp.path().join("disk.img");
    fusekit::image_of(&tree, &img, 64);
    // The image's own bytes, as e2fsprogs reads them.
    let dumped = tmp.path().join("dumped");
    std::fs::create_dir(&dumped).unwrap();
    run(std::process::Command::new("debugfs")
        .arg("-R")
        .arg(format!("rdump /data {}", dumped.display()))
        .arg(&img));
    let sums = "find . -type f -print0 | xargs -0 sha256sum | LC_ALL=C sort -k2";
    let expected = fusekit::ok(sums, Some(&dumped.join("data")));
    assert_eq!(expected.lines().count(), SMALL + 2, "{expected}");

    let mnt = tmp.path().join("mnt");
    let log = tmp.path().join("trace.log");
    let mut m = fusekit::Mount::traced(&img, &mnt, &[], &log);
    // A tree walk reads every file (sha256sum reads them in find's order).
    let got = fusekit::ok(sums, Some(&mnt.join("data")));
    // And in another order: the kernel's page cache answers, or the mount again.
    let reverse = fusekit::ok(
        "find . -type f | LC_ALL=C sort -r | xargs sha256sum | LC_ALL=C sort -k2",
        Some(&mnt.join("data")),
    );
    assert_eq!(
        fusekit::ok("readlink d0/link", Some(&mnt.join("data"))),
        "f001\n"
    );
    m.umount();
    assert_eq!(got, expected, "sha256 of every file through the mount");
    assert_eq!(reverse, expected, "sha256 of every file, read again");

    let trace = std::fs::read_to_string(&log).unwrap();
    let batches = calls(&trace, "read_files");
    let single = calls(&trace, "pread") + calls(&trace, "fh_read");
    let large = calls(&trace, "download_offset");
    eprintln!("{SMALL} small files: {batches} read_files, {single} pread/fh_read, {large} download_offset");
    assert!(batches >= 1, "no read_files call in the trace:\n{trace}");
    // One round trip per file would be 320; batches of up to 2 MiB make it a handful.
    assert!(
        batches + single <= SMALL / 20,
        "{batches} read_files and {single} single reads for {SMALL} small files"
    );
}

#[test]
fn read_files_reads_small_regular_files_and_says_why_not_for_others() {
    let dir = tempfile::tempdir().unwrap();
    let img = fsimg::ext4_image(dir.path(), "files.img", 64, 0, |t| {
        fsimg::put(t, "/a", b"alpha", 0o644);
        fsimg::put(t, "/dir/b", b"", 0o600);
        fsimg::put(t, "/big", &vec![7; 70_000], 0o644);
        fsimg::put(t, "/mid", &vec![9; 40_000], 0o644);
        fsimg::symlink(t, "a", "/link");
        fsimg::symlink(t, "dir", "/dirlink");
    });
    let h = fsimg::launch_rw(&img);
    let paths = [
        "/a",
        "/dir/b",
        "/big",
        "/link",
        "/dir",
        "/missing",
        "/dirlink/b",
        "/mid",
    ];
    let got = h
        .read_files(
            paths
                .iter()
                .map(|p| GuestPath::from(*p))
                .collect::<Vec<_>>(),
        )
        .check("read_files");
    let summary: Vec<(String, i32, usize)> = got
        .iter()
        .map(|f| (f.path.to_string(), f.errno, f.data.0.len()))
        .collect();
    assert_eq!(
        summary,
        [
            ("/a".into(), 0, 5),
            ("/dir/b".into(), 0, 0),
            ("/big".into(), libc::EFBIG, 0),
            ("/link".into(), libc::ELOOP, 0),
            ("/dir".into(), libc::EINVAL, 0),
            ("/missing".into(), libc::ENOENT, 0),
            // A link on the way resolves inside the guest, as every guest path does.
            ("/dirlink/b".into(), 0, 0),
            ("/mid".into(), 0, 40_000),
        ]
    );
    assert_eq!(got[0].data.0, b"alpha");
    assert!(got[7].data.0.iter().all(|&b| b == 9));

    // A lower limit, and paths that stay beneath the guest root.
    let got = h
        .run(
            args::ReadFiles::new(vec![GuestPath::from("/mid"), GuestPath::from("/../../a")])
                .maxsize(ByteSize(1000)),
        )
        .check("read_files maxsize");
    assert_eq!(got[0].errno, libc::EFBIG);
    assert_eq!((got[1].errno, &got[1].data.0[..]), (0, &b"alpha"[..]));

    // An answer stops at 3 MiB: the files after that say EAGAIN.
    let many: Vec<GuestPath> = (0..100).map(|_| GuestPath::from("/mid")).collect();
    let got = h.read_files(many).check("read_files budget");
    let read = got.iter().filter(|f| f.errno == 0).count();
    assert_eq!(read, (3 << 20) / 40_000, "files read within the budget");
    assert!(got[read..].iter().all(|f| f.errno == libc::EAGAIN));
}
