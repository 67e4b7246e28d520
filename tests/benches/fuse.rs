//! FUSE benchmark: `guestwright mount` against libguestfs's guestmount, in the same run on
//! the same image, each measurement on a fresh mount (cold caches):
//!
//! - sequential read of a 256 MiB file (`cat > /dev/null`),
//! - `ls -lR /usr` and `find / -type f` on a Debian-like tree (about 6,400 files),
//! - reading every file under /etc and /usr/share/doc (about 1,700 small files),
//! - untarring a 2,000-file tree into a read-write mount (then unmounting, which for
//!   guestwright includes the guest sync and the image fsync),
//! - fio: 4,096 random 4 KiB writes (16 MiB, then fsync) into a 64 MiB file in a read-write
//!   mount, and 4,096 random 4 KiB reads of it in a read-only mount, timed whole, so that
//!   what a cache defers (the final fsync, the unmount) is counted.
//!
//!     scripts/bench-fuse [RUNS]
//!
//! builds the release binary and runs `cargo bench -p guestwright-tests --bench fuse [--
//! RUNS]` (default 3 runs of each measurement). guestwright runs under TCG unless
//! GUESTWRIGHT_ACCEL says otherwise; guestmount runs with
//! LIBGUESTFS_BACKEND_SETTINGS=force_tcg (its KVM attempt hangs on these machines) and is
//! left out, with a note, when it is not installed.
//!
//!     FUSE_BENCH_ROWS=read,fio cargo bench ...   only the rows whose label contains one of
//!                                                these words

#[path = "../tests/fusekit/mod.rs"]
mod fusekit;

use fusekit::*;
use guestwright_tests::bench::{report_line, Stats};
use guestwright_tests::*;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

const BIG: u64 = 256 << 20;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Tool {
    Guestwright,
    Guestmount,
}

impl Tool {
    fn name(self) -> &'static str {
        match self {
            Tool::Guestwright => "guestwright mount",
            Tool::Guestmount => "guestmount",
        }
    }

    /// Mounts `img` on `dir`; returns how long the mount took.
    fn mount(self, img: &Path, dir: &Path, rw: bool) -> Duration {
        std::fs::create_dir_all(dir).unwrap();
        let t = Instant::now();
        let out = match self {
            Tool::Guestwright => guestwright()
                .arg("mount")
                .arg("-a")
                .arg(img)
                .args(["--format", "raw", "-m", "/dev/sda"])
                .args(if rw { &["--rw"][..] } else { &[][..] })
                .arg(dir)
                .output(),
            Tool::Guestmount => Command::new("guestmount")
                .env("LIBGUESTFS_BACKEND_SETTINGS", "force_tcg")
                .arg("--format=raw")
                .arg("-a")
                .arg(img)
                .args(["-m", "/dev/sda"])
                .arg(if rw { "--rw" } else { "--ro" })
                .arg("--pid-file")
                .arg(dir.with_extension("pid"))
                .arg(dir)
                .output(),
        }
        .expect("mount");
        assert!(
            out.status.success(),
            "{} failed: {}",
            self.name(),
            String::from_utf8_lossy(&out.stderr)
        );
        t.elapsed()
    }

    /// Unmounts and waits until the tool has finished the image; returns how long it took.
    fn umount(self, dir: &Path) -> Duration {
        let t = Instant::now();
        match self {
            Tool::Guestwright => {
                let out = guestwright().arg("umount").arg(dir).output().unwrap();
                assert!(
                    out.status.success(),
                    "{}",
                    String::from_utf8_lossy(&out.stderr)
                );
            }
            Tool::Guestmount => {
                let pid = std::fs::read_to_string(dir.with_extension("pid")).unwrap();
                let out = Command::new("guestunmount").arg(dir).output().unwrap();
                assert!(
                    out.status.success(),
                    "{}",
                    String::from_utf8_lossy(&out.stderr)
                );
                // guestunmount returns early (the documented race): wait for the process.
                while Path::new(&format!("/proc/{}", pid.trim())).exists() {
                    std::thread::sleep(Duration::from_millis(10));
                }
            }
        }
        t.elapsed()
    }
}

/// Runs a shell command in `dir` and returns how long it took and its stdout's line count.
fn timed(script: &str, dir: &Path) -> (Duration, usize) {
    let t = Instant::now();
    let out = Command::new("bash")
        .arg("-c")
        .arg(script)
        .current_dir(dir)
        .output()
        .unwrap();
    let elapsed = t.elapsed();
    assert!(
        out.status.success(),
        "`{script}` failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (elapsed, out.stdout.iter().filter(|b| **b == b'\n').count())
}

struct Case {
    label: &'static str,
    script: &'static str,
    rw: bool,
    image: Image,
}

/// The image a case mounts (a read-write case mounts a fresh copy).
#[derive(Clone, Copy)]
enum Image {
    /// The Debian-like tree and the big file.
    Tree,
    /// An empty filesystem.
    Empty,
    /// A filesystem holding fio.dat, 64 MiB.
    Fio,
}

/// 4,096 random 4 KiB requests of fio.dat (`rw`: randwrite or randread), one job, buffered
/// as programs do, ended by an fsync.
macro_rules! fio {
    ($rw:literal) => {
        concat!(
            "fio --name=bench --filename=fio.dat --size=64M --io_size=16M --bs=4k ",
            "--ioengine=psync --end_fsync=1 --randrepeat=1 --output=/dev/null --rw=",
            $rw
        )
    };
}

/// /etc of a Debian system, roughly: about 450 small files in about 60 directories.
fn etc_tree(etc: &Path) -> usize {
    let mut n = 0;
    for d in 0..60 {
        let dir = etc.join(format!("conf{d:02}.d"));
        std::fs::create_dir_all(&dir).unwrap();
        for f in 0..(d % 13) {
            let len = 60 + (d * 131 + f * 977) % 3_000;
            std::fs::write(
                dir.join(format!("{f:02}.conf")),
                bytes((d * 100 + f) as u64, len),
            )
            .unwrap();
            n += 1;
        }
    }
    for f in 0..120 {
        std::fs::write(
            etc.join(format!("file{f:03}")),
            bytes(f as u64, 40 + f * 23),
        )
        .unwrap();
        n += 1;
    }
    n
}

fn main() {
    let runs: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(3);
    let tmp = tempfile::tempdir().unwrap();
    let mut tools = vec![Tool::Guestwright];
    if Command::new("guestmount").arg("--version").output().is_ok() {
        tools.push(Tool::Guestmount);
    } else {
        println!(
            "guestmount is not installed (apt-get install libguestfs-tools): guestwright only"
        );
    }

    // The read-only image: a Debian-like /usr and a 256 MiB file.
    let tree = tmp.path().join("tree");
    let mut counts = debian_tree(&tree);
    counts.files += etc_tree(&tree.join("etc"));
    std::fs::write(tree.join("big"), bytes(7, BIG as usize)).unwrap();
    let img = tmp.path().join("ro.img");
    image_of(&tree, &img, 1024);
    // The tarball to unpack: 2,000 files in 100 directories.
    let src = tmp.path().join("tarsrc");
    for i in 0..2000 {
        let rel = format!("t/d{:03}/file{i:04}.txt", i % 100);
        let p = src.join(&rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, bytes(i as u64, 200 + (i * 37) % 8000)).unwrap();
    }
    let tarball = tmp.path().join("t.tar");
    run(Command::new("tar")
        .arg("-C")
        .arg(&src)
        .arg("-cf")
        .arg(&tarball)
        .arg("t"));
    let empty = tmp.path().join("rw-empty.img");
    let empty_tree = tmp.path().join("empty-tree");
    std::fs::create_dir_all(&empty_tree).unwrap();
    image_of(&empty_tree, &empty, 256);
    println!(
        "tree: {} files, {} directories, {} symlinks, {} MiB under /usr; runs: {runs}; load: {}",
        counts.files,
        counts.dirs,
        counts.links,
        counts.bytes >> 20,
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .trim()
    );

    // fio's file, made before the timed part (fio would lay it out first).
    let fio_img = tmp.path().join("fio.img");
    let fio_tree = tmp.path().join("fio-tree");
    std::fs::create_dir_all(&fio_tree).unwrap();
    std::fs::write(fio_tree.join("fio.dat"), bytes(11, 64 << 20)).unwrap();
    image_of(&fio_tree, &fio_img, 256);
    let has_fio = Command::new("fio").arg("--version").output().is_ok();
    if !has_fio {
        println!("fio is not installed (scripts/setup --bench installs it): no fio rows");
    }

    let cases = [
        Case {
            label: "sequential read 256 MiB",
            script: "cat big > /dev/null",
            rw: false,
            image: Image::Tree,
        },
        Case {
            label: "ls -lR /usr",
            script: "ls -lR usr",
            rw: false,
            image: Image::Tree,
        },
        Case {
            label: "find / -type f",
            script: "find . -type f",
            rw: false,
            image: Image::Tree,
        },
        Case {
            label: "read /etc, /usr/share/doc",
            script: "find etc usr/share/doc -type f -exec cat {} + > /dev/null",
            rw: false,
            image: Image::Tree,
        },
        Case {
            label: "untar 2,000 files",
            script: "tar -xf \"$TARBALL\"",
            rw: true,
            image: Image::Empty,
        },
    ];
    let fio_cases = [
        Case {
            label: "fio 4k random write",
            script: fio!("randwrite"),
            rw: true,
            image: Image::Fio,
        },
        Case {
            label: "fio 4k random read",
            script: fio!("randread"),
            rw: false,
            image: Image::Fio,
        },
    ];
    let chosen = std::env::var("FUSE_BENCH_ROWS").ok();
    let wanted = |c: &&Case| {
        chosen
            .as_deref()
            .is_none_or(|rows| rows.split(',').any(|w| c.label.contains(w.trim())))
    };
    let cases: Vec<&Case> = cases
        .iter()
        .chain(fio_cases.iter().filter(|_| has_fio))
        .filter(wanted)
        .collect();
    std::env::set_var("TARBALL", &tarball);
    let mut results: Vec<(&str, Tool, Stats, Stats, usize)> = Vec::new();
    for case in &cases {
        for &tool in &tools {
            let mut samples = Vec::new();
            let mut unmounts = Vec::new();
            let mut lines = 0;
            for r in 0..runs {
                let dir: PathBuf = tmp.path().join(format!("mnt-{r}"));
                let source = match case.image {
                    Image::Tree => &img,
                    Image::Empty => &empty,
                    Image::Fio => &fio_img,
                };
                let image = if case.rw {
                    let fresh = tmp.path().join("rw.img");
                    std::fs::copy(source, &fresh).unwrap();
                    fresh
                } else {
                    source.clone()
                };
                tool.mount(&image, &dir, case.rw);
                let (t, n) = timed(case.script, &dir);
                unmounts.push(tool.umount(&dir));
                samples.push(t);
                lines = n;
            }
            let s = Stats::of(&samples);
            println!(
                "{}",
                report_line(&format!("{}: {}", tool.name(), case.label), &s)
            );
            results.push((case.label, tool, s, Stats::of(&unmounts), lines));
        }
    }

    println!("\nmedians (guestwright vs guestmount):");
    for case in &cases {
        let get = |tool| {
            results
                .iter()
                .find(|r| r.0 == case.label && r.1 == tool)
                .map(|r| (r.2.median, r.3.median, r.4))
        };
        let Some((ours, ours_umount, lines)) = get(Tool::Guestwright) else {
            continue;
        };
        let extra = if case.label.starts_with("sequential") {
            format!(", {:.0} MB/s", BIG as f64 / 1e6 / ours.as_secs_f64())
        } else if case.rw {
            format!(", then umount {:.2} s", ours_umount.as_secs_f64())
        } else {
            format!(", {lines} lines")
        };
        match get(Tool::Guestmount) {
            Some((theirs, their_umount, _)) => {
                let theirs_extra = if case.label.starts_with("sequential") {
                    format!(" ({:.0} MB/s)", BIG as f64 / 1e6 / theirs.as_secs_f64())
                } else if case.rw {
                    format!(" (umount {:.2} s)", their_umount.as_secs_f64())
                } else {
                    String::new()
                };
                println!(
                    "  {:<26} {:.3} s{extra}  vs {:.3} s{theirs_extra}: {:.1}x faster",
                    case.label,
                    ours.as_secs_f64(),
                    theirs.as_secs_f64(),
                    theirs.as_secs_f64() / ours.as_secs_f64()
                );
            }
            None => println!("  {:<26} {:.3} s{extra}", case.label, ours.as_secs_f64()),
        }
    }
}
