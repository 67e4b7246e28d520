//! Fixtures of the `guestwright mount` tests and benchmark: a known host tree (sizes,
//! nesting, symlinks, hard links, unicode names, modes, owners, xattrs), bare ext4 images
//! built from it, mounts that are always unmounted, and shell helpers.

#![allow(dead_code)]

use guestwright_sync::Mutex;
use guestwright_tests::*;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

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

/// How long a script may run before the test calls it a hang, unless the test says.
pub const SCRIPT_DEADLINE: Duration = Duration::from_secs(600);

/// The mounts this test process serves: (mountpoint, pid file of the server). A script that
/// hangs has the server of its mount killed, which aborts the FUSE connection and frees the
/// processes blocked on it (even in D state), so the test fails instead of hanging.
static MOUNTS: Mutex<Vec<(PathBuf, PathBuf)>> = Mutex::new(Vec::new());

fn mounts() -> Vec<(PathBuf, PathBuf)> {
    MOUNTS.lock().clone()
}

/// Runs a bash script, optionally in a directory; returns its output whatever the status.
/// A script still running after [`SCRIPT_DEADLINE`] fails the test (see [`bash_within`]).
pub fn bash(script: &str, cwd: Option<&Path>) -> Output {
    bash_within(script, cwd, SCRIPT_DEADLINE)
}

/// Runs a bash script with a deadline. Past it, the test fails with the state of the
/// script's processes and of the FUSE server's threads (a deadlock shows there), after
/// killing the server of the mount the script works in (every mount of this process when
/// `cwd` is in none), then the script's process group.
pub fn bash_within(script: &str, cwd: Option<&Path>, limit: Duration) -> Output {
    use std::os::unix::process::CommandExt;
    let out = tempfile::tempfile().unwrap();
    let err = tempfile::tempfile().unwrap();
    let mut c = Command::new("bash");
    c.arg("-c")
        .arg(script)
        .process_group(0)
        .stdin(std::process::Stdio::null())
        .stdout(out.try_clone().unwrap())
        .stderr(err.try_clone().unwrap());
    if let Some(d) = cwd {
        c.current_dir(d);
    }
    let mut child = c.spawn().expect("bash");
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > limit {
            hung(script, cwd, &mut child, limit, &out, &err);
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let read = |mut f: &std::fs::File| {
        use std::io::{Read, Seek};
        let mut v = Vec::new();
        f.rewind().unwrap();
        f.read_to_end(&mut v).unwrap();
        v
    };
    Output {
        status,
        stdout: read(&out),
        stderr: read(&err),
    }
}

/// The threads of a process with their state and where they wait.
fn threads(pid: &str) -> String {
    let mut s = String::new();
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return format!("  (process {pid} is gone)\n");
    };
    for t in tasks.flatten() {
        let p = t.path();
        let read = |f: &str| std::fs::read_to_string(p.join(f)).unwrap_or_default();
        let stat = read("stat");
        // "tid (comm) S ...": the state follows the last ')'.
        let state = stat
            .rsplit(')')
            .next()
            .unwrap_or("")
            .split_whitespace()
            .next();
        s += &format!(
            "  {} {} {} wchan={}\n",
            t.file_name().to_string_lossy(),
            read("comm").trim(),
            state.unwrap_or("?"),
            read("wchan").trim()
        );
    }
    s
}

fn hung(
    script: &str,
    cwd: Option<&Path>,
    child: &mut std::process::Child,
    limit: Duration,
    out: &std::fs::File,
    err: &std::fs::File,
) -> ! {
    let pgid = child.id().to_string();
    // Every process of the script's group (ps -g selects sessions).
    let ps = Command::new("timeout")
        .args(["10", "ps", "-e", "-o", "pgid=,pid=,stat=,wchan:32=,args="])
        .output()
        .map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .filter(|l| l.split_whitespace().next() == Some(pgid.as_str()))
                .map(|l| format!("  {}\n", l.trim()))
                .collect::<String>()
        })
        .unwrap_or_default();
    let all = mounts();
    let mine: Vec<_> = all
        .iter()
        .filter(|(dir, _)| cwd.is_some_and(|c| c.starts_with(dir)))
        .cloned()
        .collect();
    let victims = if mine.is_empty() { all } else { mine };
    let mut servers = String::new();
    for (dir, pid_file) in &victims {
        let Ok(pid) = std::fs::read_to_string(pid_file) else {
            continue;
        };
        let pid = pid.trim().to_string();
        servers += &format!("server {pid} of {}:\n{}", dir.display(), threads(&pid));
        let _ = Command::new("kill").args(["-9", &pid]).status();
    }
    let _ = Command::new("kill")
        .args(["-9", "--", &format!("-{pgid}")])
        .status();
    let freed = Instant::now();
    while child.try_wait().ok().flatten().is_none() && freed.elapsed() < Duration::from_secs(30) {
        std::thread::sleep(Duration::from_millis(50));
    }
    let tail = |mut f: &std::fs::File| {
        use std::io::{Read, Seek};
        let mut v = Vec::new();
        let _ = f.rewind();
        let _ = f.read_to_end(&mut v);
        let s = String::from_utf8_lossy(&v).into_owned();
        s.chars()
            .rev()
            .take(2000)
            .collect::<String>()
            .chars()
            .rev()
            .collect::<String>()
    };
    panic!(
        "`{script}` (in {}) did not finish within {limit:?}: the mount hung (a deadlock in the \
         server?). Its server was killed to free the blocked processes.\n\
         processes of the script (pgid pid state wchan command):\n{ps}\n{servers}\nstdout:\n{}\nstderr:\n{}",
        cwd.map_or("the current directory".into(), |c| c.display().to_string()),
        tail(out),
        tail(err)
    );
}

/// Runs a bash script that must succeed within `limit`; returns its stdout.
pub fn ok_within(script: &str, cwd: Option<&Path>, limit: Duration) -> String {
    let out = bash_within(script, cwd, limit);
    assert!(
        out.status.success(),
        "`{script}` failed ({}):\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
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
        Mount::start(img, dir, extra, None)
    }

    /// Mounts like [`Mount::new`] with every appliance call traced (`-v -x`): the serving
    /// process writes its standard error, trace lines included, to `log`.
    pub fn traced(img: &Path, dir: &Path, extra: &[&str], log: &Path) -> Mount {
        Mount::start(img, dir, extra, Some(log))
    }

    fn start(img: &Path, dir: &Path, extra: &[&str], log: Option<&Path>) -> Mount {
        require("fusermount3", "fuse3");
        std::fs::create_dir_all(dir).unwrap();
        let pid_file = dir.with_extension("pid");
        let mut c = guestwright();
        c.arg("mount")
            .arg("-a")
            .arg(img)
            .args(["-m", "/dev/sda"])
            .args(extra)
            .arg("--pid-file")
            .arg(&pid_file)
            .arg(dir);
        let out = match log {
            // The server keeps the file as its standard error: waiting for a pipe to close
            // would wait for the unmount.
            Some(log) => {
                let err = std::fs::File::create(log).unwrap();
                let status = c
                    .args(["-v", "-x"])
                    .stdin(std::process::Stdio::null())
                    .stdout(std::process::Stdio::null())
                    .stderr(err)
                    .status()
                    .expect("guestwright mount");
                Output {
                    status,
                    stdout: Vec::new(),
                    stderr: std::fs::read(log).unwrap_or_default(),
                }
            }
            None => c.output().expect("guestwright mount"),
        };
        assert!(
            out.status.success(),
            "guestwright mount failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        MOUNTS.lock().push((dir.to_path_buf(), pid_file.clone()));
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
        MOUNTS.lock().retain(|(d, _)| d != &self.dir);
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
        .next_back()
        .unwrap_or_default()
}

/// Seconds since the epoch, for messages.
pub fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

/// A small deterministic generator for the benchmark's tree.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    /// A file size as a Debian /usr has them: mostly small, a few large.
    fn size(&mut self) -> usize {
        let r = self.below(100);
        (match r {
            0..=59 => 100 + self.below(4_000),
            60..=89 => 4_096 + self.below(60_000),
            90..=98 => 65_536 + self.below(200_000),
            _ => 524_288 + self.below(500_000),
        }) as usize
    }
}

const STEMS: &[&str] = &[
    "apt", "dpkg", "gpg", "ssh", "systemd", "python3", "perl", "gcc", "tar", "gzip", "xz", "bash",
    "core", "util", "net", "crypt", "ssl", "curl", "git", "vim", "less", "grep", "sed", "find",
    "mount", "udev", "dbus", "kmod", "procps", "sudo", "cron", "rsync", "zstd", "expat", "ffi",
    "gnutls", "idn2", "lz4", "nettle", "pcre2", "seccomp", "selinux", "sqlite3", "tinfo", "uuid",
    "blkid", "acl", "attr", "audit", "bz2", "cap", "gmp",
];
const TAILS: &[&str] = &[
    "", "-common", "-utils", "-bin", "-data", "-dev", "-config", "-helper", "d", "ctl", "-tools",
    "-base", "2", "3", "-extra", "-agent",
];

fn name(rng: &mut Rng, i: usize) -> String {
    let s = STEMS[rng.below(STEMS.len() as u64) as usize];
    let t = TAILS[rng.below(TAILS.len() as u64) as usize];
    format!("{s}{t}{i}")
}

/// Counts of what [`debian_tree`] wrote.
#[derive(Debug, Default, Clone, Copy)]
pub struct TreeCounts {
    /// Regular files.
    pub files: usize,
    /// Directories.
    pub dirs: usize,
    /// Symlinks.
    pub links: usize,
    /// Bytes in regular files.
    pub bytes: u64,
}

/// Writes a Debian-like `/usr` under `root` (about 6,400 files, 1,000 directories and 700
/// symlinks with realistic names and sizes).
pub fn debian_tree(root: &Path) -> TreeCounts {
    let mut rng = Rng(0x5eed);
    let pool = bytes(9, 1 << 20);
    let mut c = TreeCounts::default();
    let file = |c: &mut TreeCounts, rng: &mut Rng, rel: String, mode: u32| {
        let n = rng.size();
        let off = rng.below((pool.len() - 1) as u64) as usize;
        let mut content = pool[off..].to_vec();
        while content.len() < n {
            content.extend_from_slice(&pool);
        }
        content.truncate(n);
        put(root, &rel, &content, mode);
        c.files += 1;
        c.bytes += n as u64;
    };
    let mkdir = |c: &mut TreeCounts, rel: String| {
        std::fs::create_dir_all(root.join(rel)).unwrap();
        c.dirs += 1;
    };
    let link = |c: &mut TreeCounts, target: String, rel: String| {
        symlink(target, root.join(rel)).unwrap();
        c.links += 1;
    };
    for d in [
        "usr/bin",
        "usr/sbin",
        "usr/lib/x86_64-linux-gnu",
        "usr/share/doc",
        "usr/include",
    ] {
        mkdir(&mut c, d.into());
    }
    for i in 0..700 {
        let n = name(&mut rng, i);
        file(&mut c, &mut rng, format!("usr/bin/{n}"), 0o755);
        if i % 9 == 0 {
            link(&mut c, n.clone(), format!("usr/bin/{n}.alt"));
        }
    }
    for i in 0..200 {
        let n = name(&mut rng, i);
        file(&mut c, &mut rng, format!("usr/sbin/{n}"), 0o755);
    }
    for i in 0..900 {
        let n = name(&mut rng, i);
        let real = format!("lib{n}.so.{}.{}.{}", i % 7, i % 13, i % 5);
        file(
            &mut c,
            &mut rng,
            format!("usr/lib/x86_64-linux-gnu/{real}"),
            0o644,
        );
        if i % 3 != 0 {
            link(
                &mut c,
                real,
                format!("usr/lib/x86_64-linux-gnu/lib{n}.so.{}", i % 7),
            );
        }
    }
    for p in 0..60 {
        let pkg = name(&mut rng, p).replace('-', "_");
        let base = format!("usr/lib/python3/dist-packages/{pkg}");
        for sub in 0..4 {
            let dir = if sub == 0 {
                base.clone()
            } else {
                format!("{base}/sub{sub}")
            };
            mkdir(&mut c, dir.clone());
            mkdir(&mut c, format!("{dir}/__pycache__"));
            for f in 0..3 {
                let m = name(&mut rng, f).replace('-', "_");
                file(&mut c, &mut rng, format!("{dir}/{m}.py"), 0o644);
                file(
                    &mut c,
                    &mut rng,
                    format!("{dir}/__pycache__/{m}.cpython-311.pyc"),
                    0o644,
                );
            }
        }
    }
    for p in 0..500 {
        let pkg = name(&mut rng, p);
        mkdir(&mut c, format!("usr/share/doc/{pkg}"));
        file(
            &mut c,
            &mut rng,
            format!("usr/share/doc/{pkg}/copyright"),
            0o644,
        );
        file(
            &mut c,
            &mut rng,
            format!("usr/share/doc/{pkg}/changelog.Debian.gz"),
            0o644,
        );
        if p % 2 == 0 {
            file(
                &mut c,
                &mut rng,
                format!("usr/share/doc/{pkg}/README.md"),
                0o644,
            );
        }
    }
    for s in 1..=8 {
        mkdir(&mut c, format!("usr/share/man/man{s}"));
    }
    for i in 0..1000 {
        let n = name(&mut rng, i);
        let s = 1 + i % 8;
        file(
            &mut c,
            &mut rng,
            format!("usr/share/man/man{s}/{n}.{s}.gz"),
            0o644,
        );
    }
    for l in 0..80 {
        let lang = format!(
            "{}{}",
            ["de", "fr", "es", "pt", "ja", "zh", "ru", "it"][l % 8],
            l
        );
        mkdir(&mut c, format!("usr/share/locale/{lang}"));
        mkdir(&mut c, format!("usr/share/locale/{lang}/LC_MESSAGES"));
        for f in 0..6 {
            let n = name(&mut rng, f);
            file(
                &mut c,
                &mut rng,
                format!("usr/share/locale/{lang}/LC_MESSAGES/{n}.mo"),
                0o644,
            );
        }
    }
    for d in 0..30 {
        let n = name(&mut rng, d);
        mkdir(&mut c, format!("usr/include/{n}"));
        for f in 0..10 {
            let h = name(&mut rng, f);
            file(&mut c, &mut rng, format!("usr/include/{n}/{h}.h"), 0o644);
        }
    }
    c
}

/// `e2fsck -fn` of a bare ext4 image (made by [`image_of`]) must find nothing to fix.
pub fn assert_e2fsck_clean(img: &Path) {
    require("e2fsck", "e2fsprogs");
    let out = Command::new("e2fsck")
        .arg("-fn")
        .arg(img)
        .output()
        .expect("e2fsck");
    assert!(
        out.status.success(),
        "e2fsck -fn {} found problems ({}):\n{}{}",
        img.display(),
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The hard-link groups below `root`: for every inode with more than one name, its names
/// sorted, one group a line, groups sorted. Two trees with the same groups link the same
/// names together, whatever the inode numbers.
pub fn link_groups(root: &Path) -> String {
    let out = ok(
        "find . -mindepth 1 ! -type d -printf '%i %P\\n'",
        Some(root),
    );
    let mut by_inode: std::collections::BTreeMap<&str, Vec<&str>> = Default::default();
    for l in out.lines() {
        let (ino, name) = l.split_once(' ').unwrap();
        by_inode.entry(ino).or_default().push(name);
    }
    let mut groups: Vec<String> = by_inode
        .into_values()
        .filter(|v| v.len() > 1)
        .map(|mut v| {
            v.sort();
            v.join(" ")
        })
        .collect();
    groups.sort();
    groups.join("\n")
}

/// Writes a tree for the copy workloads under `root`: 300 files of 0 to 200 KiB in nested
/// directories, one of 3 MiB, modes from 0600 to 4755, a setgid and a sticky directory,
/// relative, absolute, dangling and directory symlinks, hard links (pairs, a triple, one
/// across directories), names with spaces and unicode, and fixed modification times.
pub fn workload_tree(root: &Path) {
    let mut rng = Rng(0x7ee);
    for i in 0..300 {
        let rel = format!("d{}/s{}/file {i}.dat", i % 6, i % 4);
        let n = match rng.below(10) {
            0 => 0,
            1..=6 => rng.below(4096),
            _ => rng.below(200 << 10),
        } as usize;
        let mode = [0o644, 0o600, 0o755, 0o640][i % 4];
        put(root, &rel, &bytes(100 + i as u64, n), mode);
        mtime(root, &rel, 1_500_000_000 + i as u64 * 3600, 0);
    }
    put(root, "big.bin", &bytes(7, 3 << 20), 0o644);
    put(root, "setuid", b"#!/bin/sh\n", 0o4755);
    put(root, "ünïcødé ✓/名前.txt", "名前\n".as_bytes(), 0o644);
    dir(root, "setgid", 0o2775);
    put(root, "setgid/in", b"in\n", 0o664);
    dir(root, "sticky", 0o1777);
    dir(root, "empty", 0o700);
    put(root, "links/target", b"target\n", 0o644);
    symlink("target", root.join("links/rel")).unwrap();
    symlink("../d1/s1", root.join("links/dir")).unwrap();
    symlink("/etc/passwd", root.join("links/abs")).unwrap();
    symlink("missing/nowhere", root.join("links/dangling")).unwrap();
    put(root, "hard/a", b"pair\n", 0o644);
    std::fs::hard_link(root.join("hard/a"), root.join("hard/b")).unwrap();
    put(root, "hard/t1", b"triple\n", 0o600);
    std::fs::hard_link(root.join("hard/t1"), root.join("hard/t2")).unwrap();
    std::fs::hard_link(root.join("hard/t1"), root.join("hard/t3")).unwrap();
    std::fs::hard_link(root.join("hard/a"), root.join("d2/s2/a-too")).unwrap();
    // Directories last: writing into them changed their times.
    for d in [
        "d0", "d1", "d2", "hard", "links", "setgid", "sticky", "empty",
    ] {
        mtime(root, d, 1_400_000_000, 0);
    }
}
