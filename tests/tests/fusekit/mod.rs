//! Fixtures of the `guestwright mount` tests and benchmark: a known host tree (sizes,
//! nesting, symlinks, hard links, unicode names, modes, owners, xattrs), bare ext4 images
//! built from it, mounts that are always unmounted, and shell helpers.

#![allow(dead_code)]

use guestwright_tests::*;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Deterministic bytes (xorshift64*), so a failure can be reproduced.
pub fn bytes(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        out.extend_from_slice(&x.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes());
    }
    out.truncate(len);
    out
}

fn put(root: &Path, rel: &str, content: &[u8], mode: u32) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(&p, content).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn dir(root: &Path, rel: &str, mode: u32) {
    let p = root.join(rel);
    std::fs::create_dir_all(&p).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn chown(root: &Path, rel: &str, uid: u32, gid: u32) {
    std::os::unix::fs::lchown(root.join(rel), Some(uid), Some(gid)).unwrap();
}

fn mtime(root: &Path, rel: &str, secs: u64, nanos: u32) {
    let f = std::fs::File::open(root.join(rel)).unwrap();
    f.set_modified(UNIX_EPOCH + Duration::new(secs, nanos))
        .unwrap();
}

/// Writes the known tree under `root/data` (and `root/spare.bin`, which only the appliance
/// crash check reads). `big` is the size of the largest file in bytes.
pub fn known_tree(root: &Path, big: usize) {
    let d = |rel: &str| format!("data/{rel}");
    put(root, &d("empty"), b"", 0o644);
    put(root, &d("one"), b"1", 0o644);
    put(root, &d("page"), &bytes(1, 4096), 0o644);
    put(root, &d("odd"), &bytes(2, 1_000_003), 0o640);
    put(root, &d("big"), &bytes(3, big), 0o600);
    put(root, &d("dir/a/b/c/d/e/deep.txt"), b"deep down\n", 0o644);
    put(root, &d("dir/a/mid.txt"), b"middle\n", 0o664);
    put(root, &d("bin/run.sh"), b"#!/bin/sh\necho ran\n", 0o755);
    put(root, &d("bin/setuid"), &bytes(4, 300), 0o4755);
    put(root, &d("café.txt"), "crème brûlée\n".as_bytes(), 0o644);
    put(
        root,
        &d("日本語/ファイル"),
        "こんにちは\n".as_bytes(),
        0o644,
    );
    put(root, &d("with space"), b"spaced\n", 0o644);
    put(root, &d("emoji 🎉"), b"party\n", 0o644);
    put(root, &d("owned"), b"mine\n", 0o640);
    put(root, &d("nobody"), b"nobody's\n", 0o600);
    put(root, &d("hard1"), b"linked\n", 0o644);
    std::fs::hard_link(root.join(d("hard1")), root.join(d("dir/hard2"))).unwrap();
    put(root, &d("xattr"), b"has attributes\n", 0o644);
    dir(root, &d("setgid-dir"), 0o2775);
    put(root, &d("setgid-dir/inside"), b"in\n", 0o644);
    dir(root, &d("sticky"), 0o1777);
    put(root, &d("sticky/t"), b"t\n", 0o666);
    dir(root, &d("empty-dir"), 0o700);
    std::fs::create_dir_all(root.join(d("links"))).unwrap();
    symlink("../one", root.join(d("links/rel"))).unwrap();
    symlink("/data/one", root.join(d("links/abs"))).unwrap();
    symlink("nowhere", root.join(d("links/dangling"))).unwrap();
    symlink("../dir", root.join(d("links/dirlink"))).unwrap();
    chown(root, &d("owned"), 1000, 1000);
    chown(root, &d("nobody"), 65534, 65534);
    chown(root, &d("sticky/t"), 1000, 100);
    chown(root, &d("links/rel"), 1000, 1000);
    chown(root, &d("setgid-dir"), 0, 100);
    run(Command::new("setfattr")
        .args(["-n", "user.comment", "-v", "hello"])
        .arg(root.join(d("xattr"))));
    mtime(root, &d("odd"), 1_000_000_000, 123_456_789);
    mtime(root, &d("one"), 86_400, 0);
    mtime(
        root,
        &d("dir/a/b/c/d/e/deep.txt"),
        1_600_000_000,
        999_999_999,
    );
    put(root, "spare.bin", &bytes(5, 100_000), 0o644);
}

/// A bare ext4 image (the whole disk, `/dev/sda`) of `size_mib` holding the tree at `tree`,
/// with 256-byte inodes (nanosecond times).
pub fn image_of(tree: &Path, img: &Path, size_mib: u64) {
    require("mkfs.ext4", "e2fsprogs");
    run(Command::new("mkfs.ext4")
        .args(["-q", "-F", "-I", "256", "-L", "guest", "-d"])
        .arg(tree)
        .arg(img)
        .arg(format!("{size_mib}M")));
}

/// Runs a bash script, optionally in a directory; returns its output whatever the status.
pub fn bash(script: &str, cwd: Option<&Path>) -> Output {
    let mut c = Command::new("bash");
    c.arg("-c").arg(script);
    if let Some(d) = cwd {
        c.current_dir(d);
    }
    c.output().expect("bash")
}

/// Runs a bash script that must succeed; returns its stdout.
pub fn ok(script: &str, cwd: Option<&Path>) -> String {
    let out = bash(script, cwd);
    assert!(
        out.status.success(),
        "`{script}` failed ({}):\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Every entry below `root` with type, mode, owner, size (not of directories: that depends
/// on the filesystem), link count, symlink target, and, with `times`, the modification time
/// in whole seconds (`mkfs.ext4 -d` drops nanoseconds): what `stat` shows, sorted.
pub fn stat_listing(root: &Path, times: bool) -> String {
    let out = ok(
        "find . -mindepth 1 -printf '%P|%y|%m|%U|%G|%s|%n|%l|%T@\\n' | LC_ALL=C sort",
        Some(root),
    );
    out.lines()
        .map(|l| {
            let mut f: Vec<&str> = l.split('|').collect();
            if f[1] == "d" {
                f[5] = "-";
            }
            let t = f[8].split('.').next().unwrap_or("");
            f[8] = if times { t } else { "-" };
            f.join("|") + "\n"
        })
        .collect()
}

/// A `guestwright mount` that is unmounted (and its server stopped) when dropped.
#[derive(Debug)]
pub struct Mount {
    /// The mountpoint.
    pub dir: PathBuf,
    /// The serving process's pid file.
    pub pid_file: PathBuf,
    unmounted: bool,
}

impl Mount {
    /// Mounts `img` (`/dev/sda` at `/`) on `dir` with extra arguments (`--rw`, `-o ...`).
    pub fn new(img: &Path, dir: &Path, extra: &[&str]) -> Mount {
        require("fusermount3", "fuse3");
        std::fs::create_dir_all(dir).unwrap();
        let pid_file = dir.with_extension("pid");
        let out = guestwright()
            .arg("mount")
            .arg("-a")
            .arg(img)
            .args(["-m", "/dev/sda"])
            .args(extra)
            .arg("--pid-file")
            .arg(&pid_file)
            .arg(dir)
            .output()
            .expect("guestwright mount");
        assert!(
            out.status.success(),
            "guestwright mount failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        Mount {
            dir: dir.to_path_buf(),
            pid_file,
            unmounted: false,
        }
    }

    /// The serving process.
    pub fn server_pid(&self) -> u32 {
        std::fs::read_to_string(&self.pid_file)
            .expect("pid file")
            .trim()
            .parse()
            .unwrap()
    }

    /// The QEMU process under the server.
    pub fn qemu_pid(&self) -> u32 {
        let pid = self.server_pid();
        for task in std::fs::read_dir(format!("/proc/{pid}/task")).unwrap() {
            let children =
                std::fs::read_to_string(task.unwrap().path().join("children")).unwrap_or_default();
            for c in children.split_whitespace() {
                let comm = std::fs::read_to_string(format!("/proc/{c}/comm")).unwrap_or_default();
                if comm.starts_with("qemu") {
                    return c.parse().unwrap();
                }
            }
        }
        panic!("no QEMU process under the mount's server {pid}");
    }

    /// Runs `guestwright umount` with extra arguments and returns its output.
    pub fn umount_with(&mut self, extra: &[&str]) -> Output {
        let out = guestwright()
            .arg("umount")
            .args(extra)
            .arg(&self.dir)
            .output()
            .expect("guestwright umount");
        if !is_mounted(&self.dir) {
            self.unmounted = true;
        }
        out
    }

    /// `guestwright umount`, which must succeed.
    pub fn umount(&mut self) {
        let started = std::time::Instant::now();
        let out = self.umount_with(&[]);
        assert!(
            out.status.success(),
            "guestwright umount failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        eprintln!("umount took {:?}", started.elapsed());
        assert!(!is_mounted(&self.dir), "still mounted after umount");
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        if !self.unmounted && is_mounted(&self.dir) {
            let _ = Command::new("umount").arg("-l").arg(&self.dir).status();
            if let Ok(pid) = std::fs::read_to_string(&self.pid_file) {
                let _ = Command::new("kill").arg("-9").arg(pid.trim()).status();
            }
        }
    }
}

/// Whether `dir` is a mountpoint now.
pub fn is_mounted(dir: &Path) -> bool {
    let dir = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
    let info = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    let want = dir.to_string_lossy().replace(' ', "\\040");
    info.lines()
        .any(|l| l.split(' ').nth(4) == Some(want.as_str()))
}

/// The mount options of the mount at `dir` (per mount point).
pub fn mount_options(dir: &Path) -> String {
    let want = dir.canonicalize().unwrap().to_string_lossy().into_owned();
    let info = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    info.lines()
        .filter(|l| l.split(' ').nth(4) == Some(want.as_str()))
        .map(|l| l.split(' ').nth(5).unwrap_or("").to_string())
        .last()
        .unwrap_or_default()
}

/// Seconds since the epoch, for messages.
pub fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}
