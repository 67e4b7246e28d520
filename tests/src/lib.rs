//! Shared fixtures for the tests that boot the appliance: disk images built from host trees
//! with the real tools, checks with the real tools (e2fsck, debugfs, sha256), handles that
//! print the appliance console when a test fails, and the path of the `guestwright` binary.
//!
//! A missing tool fails the test with the package to install; nothing is skipped.

use guestwright::prelude::*;
use std::path::{Path, PathBuf};

mod aptrepo;
mod coreos;
mod debootstrap;
mod dnfguest;
mod guests;
mod images;
mod luks;
mod parity;
pub mod rpmguest;
pub mod tree;
pub use aptrepo::*;
pub use debootstrap::*;
pub use dnfguest::*;
mod windows;
pub use coreos::*;
pub use guests::*;
pub use images::{mbr_boot_lvm_root, LVM_BOOT, LVM_ROOT, LVM_SWAP, LVM_VG};
pub use luks::*;
pub use parity::*;
use std::process::{Command, Output};
pub use windows::*;

/// Runs `f` on another thread and fails the test if it takes longer than `limit` (the thread
/// is left behind: the test is failing anyway).
pub fn in_time<T: Send + 'static>(
    limit: std::time::Duration,
    f: impl FnOnce() -> T + Send + 'static,
) -> T {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(limit)
        .unwrap_or_else(|e| panic!("the test did not finish within {limit:?} ({e})"))
}

/// Runs a host command and insists on success.
pub fn run(cmd: &mut Command) -> Output {
    let shown = format!("{cmd:?}");
    let out = cmd.output().unwrap_or_else(|e| {
        panic!("cannot run {shown}: {e} (scripts/setup installs the test tools)")
    });
    assert!(
        out.status.success(),
        "{shown} failed with {}:\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Fails loudly when a tool the test needs is not installed.
pub fn require(tool: &str, package: &str) {
    let found = std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
        .chain(["/usr/sbin", "/sbin"].map(PathBuf::from))
        .any(|d| d.join(tool).is_file());
    assert!(
        found,
        "{tool} is not installed: apt-get install {package} (scripts/setup does this)"
    );
}

/// A file to put in a test image: path, contents, mode.
#[derive(Debug, Clone)]
pub struct File<'a> {
    /// Guest path, absolute.
    pub path: &'a str,
    /// Contents.
    pub content: &'a [u8],
    /// Permission bits.
    pub mode: u32,
}

/// A regular file with mode 0644.
pub fn file<'a>(path: &'a str, content: &'a str) -> File<'a> {
    File {
        path,
        content: content.as_bytes(),
        mode: 0o644,
    }
}

/// Writes `files` into a fresh directory tree under `dir`.
pub fn make_tree(dir: &Path, files: &[File<'_>]) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let root = dir.join(format!("tree-{}", rand_suffix()));
    std::fs::create_dir_all(&root).unwrap();
    for f in files {
        let p = root.join(f.path.trim_start_matches('/'));
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, f.content).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(f.mode)).unwrap();
    }
    root
}

fn rand_suffix() -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// Offset of the first partition in images made by [`gpt_ext4`].
pub const PART_OFFSET: u64 = 1 << 20;
/// Size of that partition.
pub const PART_SIZE: u64 = 62 << 20;

/// Writes the partition table `table` (sfdisk's script format) onto the image `img`.
pub fn sfdisk(img: &Path, table: &str) {
    require("sfdisk", "fdisk");
    let mut child = Command::new("sfdisk")
        .arg("-q")
        .arg(img)
        .stdin(std::process::Stdio::piped())
        .spawn()
        .expect("sfdisk");
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(table.as_bytes())
        .unwrap();
    assert!(child.wait().unwrap().success(), "sfdisk failed");
}

/// A 64 MiB raw disk with a GPT and one ext4 partition (`/dev/sda1`) holding `files`.
pub fn gpt_ext4(dir: &Path, name: &str, files: &[File<'_>]) -> PathBuf {
    require("sfdisk", "fdisk");
    require("mkfs.ext4", "e2fsprogs");
    let img = dir.join(name);
    let f = std::fs::File::create(&img).unwrap();
    f.set_len(64 << 20).unwrap();
    drop(f);
    let mut sfdisk = Command::new("sfdisk");
    sfdisk
        .arg("-q")
        .arg(&img)
        .stdin(std::process::Stdio::piped());
    let mut child = sfdisk.spawn().expect("sfdisk");
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(
            format!(
                "label: gpt\nstart=2048, size={}, type=L, name=root\n",
                PART_SIZE / 512
            )
            .as_bytes(),
        )
        .unwrap();
    assert!(child.wait().unwrap().success(), "sfdisk failed");
    let tree = make_tree(dir, files);
    run(Command::new("mkfs.ext4")
        .args(["-q", "-F", "-L", "root", "-d"])
        .arg(&tree)
        .arg("-E")
        .arg(format!("offset={PART_OFFSET}"))
        .arg(&img)
        .arg(format!("{}k", PART_SIZE / 1024)));
    img
}

/// Copies `len` bytes at `offset` of `img` into a new file (a partition, for e2fsck and
/// debugfs, which do not take offsets).
pub fn extract(img: &Path, offset: u64, len: u64) -> tempfile::NamedTempFile {
    use std::io::{Read, Seek, SeekFrom};
    let mut src = std::fs::File::open(img).unwrap();
    src.seek(SeekFrom::Start(offset)).unwrap();
    let mut out = tempfile::NamedTempFile::new().unwrap();
    std::io::copy(&mut src.take(len), out.as_file_mut()).unwrap();
    out
}

/// `e2fsck -fn` on the ext4 partition of a [`gpt_ext4`] image must report no problem.
pub fn assert_fsck_clean(img: &Path) {
    assert_fsck_clean_at(img, PART_OFFSET, PART_SIZE)
}

/// `e2fsck -fn` on the ext4 filesystem at `offset` (`len` bytes) of an image must report
/// no problem.
pub fn assert_fsck_clean_at(img: &Path, offset: u64, len: u64) {
    let part = extract(img, offset, len);
    let out = Command::new("e2fsck")
        .arg("-fn")
        .arg(part.path())
        .output()
        .expect("e2fsck (e2fsprogs)");
    assert!(
        out.status.success(),
        "e2fsck -fn found problems ({}):\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Reads a file out of the ext4 partition of a [`gpt_ext4`] image with debugfs.
pub fn debugfs_cat(img: &Path, path: &str) -> Vec<u8> {
    let part = extract(img, PART_OFFSET, PART_SIZE);
    run(Command::new("debugfs")
        .arg("-R")
        .arg(format!("cat {path}"))
        .arg(part.path()))
    .stdout
}

/// Runs debugfs commands (one per line, paths relative to the root) read-write on the ext4
/// partition of a [`gpt_ext4`] image, and puts the partition back.
pub fn debugfs_write(img: &Path, script: &str) {
    debugfs_write_at(img, PART_OFFSET, PART_SIZE, script)
}

/// [`debugfs_write`] on the ext4 filesystem at `offset` (`len` bytes) of an image.
pub fn debugfs_write_at(img: &Path, offset: u64, len: u64, script: &str) {
    use std::io::Write;
    let part = extract(img, offset, len);
    let mut child = Command::new("debugfs")
        .args(["-w", "-f", "-"])
        .arg(part.path())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("debugfs (e2fsprogs)");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(script.as_bytes())
        .unwrap();
    assert!(child.wait().unwrap().success(), "debugfs failed");
    let mut out = std::fs::OpenOptions::new().write(true).open(img).unwrap();
    use std::io::{Seek, SeekFrom};
    out.seek(SeekFrom::Start(offset)).unwrap();
    std::io::copy(&mut std::fs::File::open(part.path()).unwrap(), &mut out).unwrap();
    out.sync_all().unwrap();
}

/// The `operation` of each step of a `customize --json` or `sysprep --json` report, in order.
pub fn report_operations(report: &serde_json::Value) -> Vec<&str> {
    report["steps"]
        .as_array()
        .unwrap_or_else(|| panic!("a report without steps: {report:#}"))
        .iter()
        .map(|s| {
            s["operation"]
                .as_str()
                .unwrap_or_else(|| panic!("a step without an operation: {s:#}"))
        })
        .collect()
}

/// SHA-256 of a file, as hex.
pub fn sha256(path: &Path) -> String {
    let out = run(Command::new("sha256sum").arg(path));
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .to_string()
}

/// Launch settings for tests: TCG unless `GUESTWRIGHT_ACCEL` says otherwise (CI machines
/// have no usable KVM), console kept for failure reports.
pub fn test_config() -> LaunchConfig {
    let mut c = LaunchConfig::from_env().expect("environment");
    if std::env::var_os("GUESTWRIGHT_ACCEL").is_none() {
        c.accel = AccelChoice::Tcg;
    }
    c
}

/// A launched handle with `images` attached that prints the appliance console if the test
/// panics while it is alive.
#[derive(Debug)]
pub struct TestHandle {
    /// The handle.
    pub h: Handle,
}

impl std::ops::Deref for TestHandle {
    type Target = Handle;
    fn deref(&self) -> &Handle {
        &self.h
    }
}
impl std::ops::DerefMut for TestHandle {
    fn deref_mut(&mut self) -> &mut Handle {
        &mut self.h
    }
}

impl Drop for TestHandle {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "---- appliance console ----\n{}\n---------------------------",
                self.h.console_tail(200)
            );
        }
    }
}

/// Launches a handle with the given images.
pub fn launch(images: &[(&Path, DriveOptions)]) -> TestHandle {
    launch_with(test_config(), images)
}

/// Launches a handle with the given settings and images.
pub fn launch_with(config: LaunchConfig, images: &[(&Path, DriveOptions)]) -> TestHandle {
    let mut h = Handle::with_config(config);
    for (img, opts) in images {
        h.add_drive(img, opts.clone())
            .unwrap_or_else(|e| panic!("add {}: {}", img.display(), guestwright::error::chain(&e)));
    }
    if let Err(e) = h.launch() {
        panic!("launch failed: {}", guestwright::error::chain(&e));
    }
    TestHandle { h }
}

/// Unwraps a library result, printing the whole error chain on failure.
pub trait Check<T> {
    /// Like `unwrap`, with the error chain in the panic message.
    fn check(self, what: &str) -> T;
}

impl<T> Check<T> for Result<T, guestwright::Error> {
    fn check(self, what: &str) -> T {
        self.unwrap_or_else(|e| panic!("{what}: {}", guestwright::error::chain(&e)))
    }
}

/// The `guestwright` binary built from this workspace.
pub fn guestwright_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("GUESTWRIGHT_BIN") {
        return PathBuf::from(p);
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"));
    let profile = if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    };
    let bin = target.join(profile).join("guestwright");
    assert!(
        bin.is_file(),
        "{} is missing: build it first with `cargo build --workspace` (.ci/run does)",
        bin.display()
    );
    bin
}

/// A `guestwright` command with the test environment (TCG unless told otherwise).
pub fn guestwright() -> Command {
    let mut c = Command::new(guestwright_bin());
    if std::env::var_os("GUESTWRIGHT_ACCEL").is_none() {
        c.env("GUESTWRIGHT_ACCEL", "tcg");
    }
    c
}

/// Small helpers for the benchmarks in `tests/benches/`.
pub mod bench {
    use std::time::Duration;

    /// Median, min and max of a set of timings.
    #[derive(Debug, Clone, Copy)]
    pub struct Stats {
        /// The median.
        pub median: Duration,
        /// The fastest.
        pub min: Duration,
        /// The slowest.
        pub max: Duration,
    }

    impl Stats {
        /// Computes the statistics.
        pub fn of(samples: &[Duration]) -> Stats {
            let mut v = samples.to_vec();
            v.sort();
            Stats {
                median: median(samples),
                min: v[0],
                max: v[v.len() - 1],
            }
        }
    }

    /// The median (the mean of the two middle samples for an even count).
    pub fn median(samples: &[Duration]) -> Duration {
        let mut v = samples.to_vec();
        v.sort();
        let n = v.len();
        assert!(n > 0, "no samples");
        if n % 2 == 1 {
            v[n / 2]
        } else {
            (v[n / 2 - 1] + v[n / 2]) / 2
        }
    }

    /// The peak of a command's memory: the largest sum of resident memory (VmRSS) over the
    /// command and every process under it, sampled every 10 ms while it runs, with each
    /// process's share at that moment (`comm`, KiB) and QEMU's anonymous and file-backed
    /// parts. Returns the command's exit status too.
    pub fn peak_rss(cmd: &mut std::process::Command) -> (std::process::ExitStatus, PeakRss) {
        let mut child = cmd
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("spawn the measured command");
        let mut peak = PeakRss::default();
        loop {
            let mut now = PeakRss::default();
            for pid in tree(child.id()) {
                let status =
                    std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
                let field = |name: &str| {
                    status
                        .lines()
                        .find_map(|l| l.strip_prefix(name))
                        .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
                        .unwrap_or(0)
                };
                let comm = std::fs::read_to_string(format!("/proc/{pid}/comm"))
                    .unwrap_or_default()
                    .trim()
                    .to_string();
                let rss = field("VmRSS:");
                now.total_kib += rss;
                if comm.starts_with("qemu") {
                    now.qemu_anon_kib += field("RssAnon:");
                    now.qemu_file_kib += field("RssFile:") + field("RssShmem:");
                }
                now.processes.push((comm, rss));
            }
            if now.total_kib > peak.total_kib {
                peak = now;
            }
            if let Some(status) = child.try_wait().expect("wait") {
                return (status, peak);
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// What [`peak_rss`] found.
    #[derive(Debug, Clone, Default)]
    pub struct PeakRss {
        /// The peak sum, KiB.
        pub total_kib: u64,
        /// Each process at the peak: its name and resident KiB.
        pub processes: Vec<(String, u64)>,
        /// QEMU's anonymous resident memory at the peak (guest RAM, TCG's code buffer), KiB.
        pub qemu_anon_kib: u64,
        /// QEMU's file-backed and shared resident memory at the peak, KiB.
        pub qemu_file_kib: u64,
    }

    impl std::fmt::Display for PeakRss {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "{} MiB (", self.total_kib / 1024)?;
            for (i, (comm, kib)) in self.processes.iter().enumerate() {
                let sep = if i == 0 { "" } else { ", " };
                write!(f, "{sep}{comm} {} MiB", kib / 1024)?;
            }
            write!(
                f,
                "; QEMU anonymous {} MiB, file {} MiB)",
                self.qemu_anon_kib / 1024,
                self.qemu_file_kib / 1024
            )
        }
    }

    /// `pid` and every process under it.
    pub fn tree(pid: u32) -> Vec<u32> {
        let mut out = vec![pid];
        let mut i = 0;
        while let Some(&p) = out.get(i) {
            if let Ok(tasks) = std::fs::read_dir(format!("/proc/{p}/task")) {
                for task in tasks.flatten() {
                    let children =
                        std::fs::read_to_string(task.path().join("children")).unwrap_or_default();
                    out.extend(
                        children
                            .split_whitespace()
                            .filter_map(|c| c.parse::<u32>().ok()),
                    );
                }
            }
            i += 1;
        }
        out
    }

    /// `label: median 1.234 s (min 1.1, max 1.5)`.
    pub fn report_line(label: &str, s: &Stats) -> String {
        format!(
            "  {label:<28} median {:.3} s  (min {:.3}, max {:.3})",
            s.median.as_secs_f64(),
            s.min.as_secs_f64(),
            s.max.as_secs_f64()
        )
    }
}
