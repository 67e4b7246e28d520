//! A model-based differential test of `guestwright mount --rw`: a seeded sequence of
//! system calls is applied both to a directory on the host's own filesystem (ext4 or tmpfs:
//! the model) and to the same directory in a mount of a fresh ext4 image, and every result
//! is compared after each step (see [`apply`] for what is compared). Every [`TREE_EVERY`]
//! steps and at the end the two whole trees are compared too; at the end every descriptor
//! is closed, the mount is unmounted and `e2fsck -fn` must find the image clean.
//!
//! On a mismatch the sequence is shrunk by replaying shorter versions of it on fresh images
//! and mounts (within a time budget), and the failure is reported with the seed, the step,
//! both results and the shortest failing sequence found, in the text form that
//! `GUESTWRIGHT_MODEL_REPLAY` and the regression tests read.

pub mod apply;
pub mod ops;
pub mod sys;
mod watchdog;

use crate::fusekit::Mount;
use apply::{first_difference, Res, Side};
use guestwright_tests::require;
use ops::{Exclusions, FdView, Gen, Kind, Op, View};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};
use watchdog::Watchdog;

/// Steps between two comparisons of the whole trees.
pub const TREE_EVERY: usize = 25;
/// The mount's attribute and entry timeout, so that expiry paths run within seconds.
pub const TIMEOUTS: &str = "attr_timeout=0.5,entry_timeout=0.5";

/// How a run mounts and what it generates.
#[derive(Debug, Clone, Copy)]
pub struct Config {
    /// Mount with `-o allow_other` (which turns on default_permissions).
    pub allow_other: bool,
    /// Known bugs the generator steers around.
    pub excluded: Exclusions,
    /// How long one step may take before the mount counts as hung.
    pub step_deadline: Duration,
}

impl Config {
    /// The `-o` value of the mount.
    pub fn options(&self) -> String {
        if self.allow_other {
            format!("{TIMEOUTS},allow_other")
        } else {
            TIMEOUTS.to_string()
        }
    }
}

/// What a run does: generate from a seed, or replay a given sequence.
#[derive(Debug, Clone)]
pub enum Plan {
    Generate { seed: u64, ops: usize },
    Replay(Vec<Op>),
}

/// The first mismatch of a run.
#[derive(Debug, Clone)]
pub struct Failure {
    /// Operations executed up to and including the failing one.
    pub steps: usize,
    /// What kind of failure, to tell whether a shorter sequence fails the same way.
    pub signature: String,
    /// Both results and what differs.
    pub detail: String,
}

/// What a run did.
#[derive(Debug)]
pub struct Run {
    pub executed: Vec<Op>,
    pub failure: Option<Failure>,
    /// Per operation name: (succeeded, failed with an errno) on the host.
    pub counts: BTreeMap<&'static str, (usize, usize)>,
    pub elapsed: Duration,
}

/// The host directory must be on ext4 or tmpfs (the filesystems whose attributes the
/// comparison is written for) and keep user extended attributes.
fn check_host_dir(dir: &Path) {
    let (ok, t) = sys::ext4_or_tmpfs(dir).expect("statfs of the host directory");
    assert!(
        ok,
        "{} is on a filesystem of type {t:#x}, neither ext4 nor tmpfs: set TMPDIR to a \
         directory on ext4 or tmpfs",
        dir.display()
    );
    let probe = dir.join("xattr-probe");
    std::fs::write(&probe, b"").unwrap();
    let r = sys::setxattr(&probe, "user.probe", b"1", 0, false);
    assert!(
        r.is_ok(),
        "{} does not keep user extended attributes ({}): set TMPDIR to a directory on \
         ext4 (or tmpfs on Linux 6.6 or later)",
        dir.display(),
        sys::errno_name(r.unwrap_err())
    );
    std::fs::remove_file(&probe).unwrap();
}

/// The generator's view of the host side.
fn view(host: &Side) -> View {
    fn walk(dir: &Path, rel: &str, out: &mut Vec<(String, Kind, u64)>) {
        let Ok(rd) = std::fs::read_dir(dir) else {
            return;
        };
        let mut names: Vec<_> = rd.filter_map(Result::ok).map(|e| e.file_name()).collect();
        names.sort();
        for n in names {
            let name = n.to_string_lossy().into_owned();
            let child = ops::join(rel, &name);
            let p = dir.join(&n);
            let Ok(md) = std::fs::symlink_metadata(&p) else {
                continue;
            };
            let kind = if md.is_dir() {
                Kind::Dir
            } else if md.file_type().is_symlink() {
                Kind::Symlink
            } else {
                Kind::File
            };
            out.push((child.clone(), kind, md.len()));
            if kind == Kind::Dir {
                walk(&p, &child, out);
            }
        }
    }
    let mut v = View::default();
    walk(&host.root, ".", &mut v.entries);
    for (slot, fd) in v.fds.iter_mut().enumerate() {
        *fd = host.fd_state(slot).map(|(size, unlinked, dir)| FdView {
            unlinked,
            dir,
            size,
        });
    }
    v
}

/// An ext4 image holding the empty model root `/t` (4 KiB blocks and 256-byte inodes, as
/// the host's ext4 has them, so that extended attribute space and nanosecond times match).
fn image(tmp: &Path) -> PathBuf {
    let src = tmp.join("src");
    std::fs::create_dir_all(src.join("t")).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(src.join("t"), std::fs::Permissions::from_mode(0o755)).unwrap();
    let img = tmp.join("disk.img");
    require("mkfs.ext4", "e2fsprogs");
    guestwright_tests::run(
        Command::new("mkfs.ext4")
            .args(["-q", "-F", "-b", "4096", "-I", "256", "-L", "model", "-d"])
            .arg(&src)
            .arg(&img)
            .arg("256M"),
    );
    img
}

struct Steps<'a> {
    host: Side,
    guest: Side,
    wd: &'a Watchdog,
    label: String,
}

impl Steps<'_> {
    /// Runs `f` on both sides under the watchdog; a hang is a failure.
    fn both<T>(&mut self, what: &str, f: impl Fn(&mut Side) -> T) -> Result<(T, T), String> {
        let h = f(&mut self.host);
        self.wd.begin(format!("{} {what}", self.label));
        let g = f(&mut self.guest);
        match self.wd.end() {
            Some(hang) => Err(hang),
            None => Ok((h, g)),
        }
    }

    /// The step itself and lstat of the paths it names.
    fn step(&mut self, op: &Op) -> Result<Res, (String, String)> {
        let text = op.to_string();
        let (h, g) = if let Op::Sleep { ms } = op {
            std::thread::sleep(Duration::from_millis(*ms));
            (Res(Ok(apply::Value::Done)), Res(Ok(apply::Value::Done)))
        } else {
            self.both(&text, |s| s.apply(op))
                .map_err(|hang| (format!("hang in {}", op.name()), hang))?
        };
        if h != g {
            let mut d = format!("`{text}`\n    host:  {h:?}\n    mount: {g:?}");
            if let Some(diff) = first_difference(&h, &g) {
                let _ = write!(d, "\n    {diff}");
            }
            return Err((op.name().to_string(), d));
        }
        for p in op.paths() {
            let (hs, gs) = self
                .both(&format!("lstat {p} after `{text}`"), |s| s.lstat(p))
                .map_err(|hang| (format!("hang after {}", op.name()), hang))?;
            if hs != gs {
                return Err((
                    format!("{} then lstat", op.name()),
                    format!(
                        "`{text}` gave {h:?} on both sides, but then\n    lstat {p}:\n    \
                         host:  {hs:?}\n    mount: {gs:?}"
                    ),
                ));
            }
        }
        Ok(h)
    }

    fn trees(&mut self, after: &str) -> Result<(), (String, String)> {
        let (h, g) = self
            .both(&format!("tree comparison after {after}"), |s| s.tree())
            .map_err(|hang| ("hang in tree".to_string(), hang))?;
        if h == g {
            return Ok(());
        }
        let mut d = format!("the trees differ after {after}:\n");
        let n = h.len().max(g.len());
        for i in 0..n {
            let (a, b) = (h.get(i), g.get(i));
            if a != b {
                let _ = writeln!(
                    d,
                    "    host:  {}\n    mount: {}",
                    a.map_or("(nothing)", |s| s.as_str()),
                    b.map_or("(nothing)", |s| s.as_str())
                );
            }
        }
        Err(("tree".into(), d))
    }
}

/// One run on a fresh image and mount.
pub fn run(cfg: &Config, plan: &Plan) -> Run {
    let started = Instant::now();
    let tmp = tempfile::tempdir().unwrap();
    let host_root = tmp.path().join("host").join("t");
    std::fs::create_dir_all(&host_root).unwrap();
    check_host_dir(&host_root);
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&host_root, std::fs::Permissions::from_mode(0o755)).unwrap();
    let img = image(tmp.path());
    let mnt = tmp.path().join("mnt");
    let mut m = Mount::new(&img, &mnt, &["--rw", "-o", &cfg.options()]);
    let wd = Watchdog::start(cfg.step_deadline, m.server_pid(), mnt.clone());
    let mut s = Steps {
        host: Side::new(host_root),
        guest: Side::new(mnt.join("t")),
        wd: &wd,
        label: String::new(),
    };
    let (mut gen, total) = match plan {
        Plan::Generate { seed, ops } => (Some(Gen::new(*seed, cfg.excluded)), *ops),
        Plan::Replay(ops) => (None, ops.len()),
    };
    let mut executed = Vec::with_capacity(total);
    let mut counts: BTreeMap<&'static str, (usize, usize)> = BTreeMap::new();
    let mut failure = None;
    let fail = |steps: usize, (signature, detail): (String, String)| Failure {
        steps,
        signature,
        detail,
    };
    for i in 0..total {
        let op = match (&mut gen, plan) {
            (Some(g), _) => g.next(&view(&s.host)),
            (None, Plan::Replay(ops)) => ops[i].clone(),
            (None, _) => unreachable!(),
        };
        executed.push(op.clone());
        s.label = format!("step {}:", i + 1);
        match s.step(&op) {
            Ok(r) => {
                let c = counts.entry(op.name()).or_default();
                if r.0.is_ok() {
                    c.0 += 1;
                } else {
                    c.1 += 1;
                }
            }
            Err(e) => {
                failure = Some(fail(i + 1, e));
                break;
            }
        }
        if (i + 1) % TREE_EVERY == 0 {
            if let Err(e) = s.trees(&format!("step {}", i + 1)) {
                failure = Some(fail(i + 1, e));
                break;
            }
        }
    }
    let n = executed.len();
    if failure.is_none() {
        failure = finish(&mut s, &mut m, &img, n).err().map(|e| fail(n, e));
    }
    // Descriptors left open by a failure are closed before the mount goes.
    let Steps {
        mut host,
        mut guest,
        ..
    } = s;
    drop(wd);
    host.close_all();
    guest.close_all();
    drop(m);
    Run {
        executed,
        failure,
        counts,
        elapsed: started.elapsed(),
    }
}

/// The end of a run: the trees, every descriptor closed, unmounted, and a clean image.
fn finish(s: &mut Steps<'_>, m: &mut Mount, img: &Path, n: usize) -> Result<(), (String, String)> {
    s.label = "at the end:".into();
    s.trees(&format!("the last step ({n})"))?;
    let (h, g) = s
        .both("closing every descriptor", Side::close_all)
        .map_err(|hang| ("hang in close".to_string(), hang))?;
    if h != g {
        return Err((
            "close".into(),
            format!("closing the descriptors left open:\n    host:  {h:?}\n    mount: {g:?}"),
        ));
    }
    let out = m.umount_with(&[]);
    if !out.status.success() {
        return Err((
            "umount".into(),
            format!(
                "guestwright umount failed ({}): {}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            ),
        ));
    }
    let out = Command::new("e2fsck")
        .arg("-fn")
        .arg(img)
        .output()
        .expect("e2fsck (e2fsprogs)");
    if !out.status.success() {
        return Err((
            "fsck".into(),
            format!(
                "e2fsck -fn of the image after umount found problems ({}):\n{}{}",
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        ));
    }
    Ok(())
}

/// The result of shrinking a failing sequence.
#[derive(Debug)]
pub struct Shrunk {
    /// The shortest sequence found that fails the same way.
    pub ops: Vec<Op>,
    /// Its failure.
    pub failure: Option<Failure>,
    /// Replays on fresh images and mounts.
    pub replays: usize,
    /// Whether the failing prefix failed again at all on a fresh mount.
    pub reproduced: bool,
    pub elapsed: Duration,
}

/// Shrinks `ops` (which fails with `signature` at its last step): replays it on a fresh
/// image and mount, then leaves out chunks of steps, halving the chunk size, keeping every
/// shorter sequence that still fails the same way; stops when `budget` is spent.
pub fn shrink(cfg: &Config, ops: &[Op], signature: &str, budget: Duration) -> Shrunk {
    let started = Instant::now();
    let mut replays = 0;
    // A hang reproduces within seconds: do not wait the whole deadline on every replay.
    let mut cfg = *cfg;
    if signature.starts_with("hang") {
        cfg.step_deadline = cfg.step_deadline.min(Duration::from_secs(20));
    }
    let cfg = &cfg;
    let mut attempt = |cand: &[Op]| -> Option<(Vec<Op>, Failure)> {
        replays += 1;
        let r = run(cfg, &Plan::Replay(cand.to_vec()));
        r.failure
            .filter(|f| f.signature == signature)
            .map(|f| (r.executed, f))
    };
    let Some((mut cur, mut failure)) = attempt(ops) else {
        return Shrunk {
            ops: ops.to_vec(),
            failure: None,
            replays,
            reproduced: false,
            elapsed: started.elapsed(),
        };
    };
    let mut chunk = (cur.len() / 2).max(1);
    'outer: loop {
        let mut i = 0;
        let mut progressed = false;
        // The last step is the failing one: keep it.
        while i + 1 < cur.len() {
            if started.elapsed() > budget {
                break 'outer;
            }
            let end = (i + chunk).min(cur.len() - 1);
            let cand: Vec<Op> = cur[..i].iter().chain(&cur[end..]).cloned().collect();
            match attempt(&cand) {
                Some((ops, f)) => {
                    cur = ops;
                    failure = f;
                    progressed = true;
                }
                None => i += chunk,
            }
        }
        if !progressed {
            if chunk == 1 {
                break;
            }
            chunk /= 2;
        }
    }
    Shrunk {
        ops: cur,
        failure: Some(failure),
        replays,
        reproduced: true,
        elapsed: started.elapsed(),
    }
}

/// A readable report of a failed run, shrunk within `budget`.
pub fn report(cfg: &Config, what: &str, r: &Run, budget: Duration) -> String {
    let f = r.failure.as_ref().expect("a failed run");
    let mut s = format!(
        "model test failed: {what}, mount -o {}, step {} ({} s into the run)\n  {}\n",
        cfg.options(),
        f.steps,
        r.elapsed.as_secs(),
        f.detail
    );
    let from = f.steps.saturating_sub(15);
    let _ = writeln!(s, "the steps before it:");
    for (i, op) in r.executed[from..f.steps.min(r.executed.len())]
        .iter()
        .enumerate()
    {
        let _ = writeln!(s, "  {:>5}  {op}", from + i + 1);
    }
    let sh = shrink(
        cfg,
        &r.executed[..f.steps.min(r.executed.len())],
        &f.signature,
        budget,
    );
    if !sh.reproduced {
        let _ = writeln!(
            s,
            "the {} steps did NOT fail the same way again on a fresh image and mount (it \
             depends on timing): the whole sequence is in the lines above and in the seed",
            f.steps
        );
        return s;
    }
    let _ = writeln!(
        s,
        "shortest failing sequence found: {} of the {} steps ({} replays on fresh images \
         and mounts, {} s{}):",
        sh.ops.len(),
        f.steps,
        sh.replays,
        sh.elapsed.as_secs(),
        if sh.elapsed > budget {
            ", stopped by the time budget GUESTWRIGHT_MODEL_SHRINK_SECS"
        } else {
            ""
        }
    );
    for op in &sh.ops {
        let _ = writeln!(s, "    {op}");
    }
    if let Some(f) = &sh.failure {
        let _ = writeln!(s, "which fails with:\n  {}", f.detail);
    }
    let _ = writeln!(
        s,
        "replay it: save the sequence to FILE, then GUESTWRIGHT_MODEL_REPLAY=FILE{} cargo \
         test -p guestwright-tests --test fuse_model -- --ignored model_replay --nocapture",
        if cfg.allow_other {
            " GUESTWRIGHT_MODEL_ALLOW_OTHER=1"
        } else {
            ""
        }
    );
    s
}

/// One line about a run: operations, time, and how many calls failed with an errno.
pub fn summary(what: &str, r: &Run) -> String {
    let (ok, err) = r
        .counts
        .values()
        .fold((0, 0), |(a, b), (x, y)| (a + x, b + y));
    let mut s = format!(
        "{what}: {} steps in {:.1} s ({ok} succeeded, {err} failed the same way on both sides)",
        r.executed.len(),
        r.elapsed.as_secs_f64()
    );
    if r.failure.is_some() {
        s.push_str(", FAILED");
    }
    s
}

/// Per-operation counts over runs, for the soak's report.
pub fn tally(runs: &[&Run]) -> String {
    let mut all: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for r in runs {
        for (k, (a, b)) in &r.counts {
            let e = all.entry(k).or_default();
            e.0 += a;
            e.1 += b;
        }
    }
    all.iter()
        .map(|(k, (a, b))| format!("{k} {a}/{b}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Seeds to run: `GUESTWRIGHT_MODEL_SEEDS` (`3`, `1,5,9` or `10..20`) or the given ones.
pub fn seeds_from_env(default: &[u64]) -> Vec<u64> {
    let Ok(v) = std::env::var("GUESTWRIGHT_MODEL_SEEDS") else {
        return default.to_vec();
    };
    let bad = || panic!("GUESTWRIGHT_MODEL_SEEDS={v}: give seeds as 3, 1,5,9 or 10..20");
    if let Some((a, b)) = v.split_once("..") {
        let (a, b): (u64, u64) = (
            a.parse().unwrap_or_else(|_| bad()),
            b.parse().unwrap_or_else(|_| bad()),
        );
        return (a..b).collect();
    }
    v.split(',')
        .map(|s| s.trim().parse().unwrap_or_else(|_| bad()))
        .collect()
}

/// A number from the environment, or the default.
pub fn env_number(name: &str, default: u64) -> u64 {
    match std::env::var(name) {
        Ok(v) => v
            .parse()
            .unwrap_or_else(|_| panic!("{name}={v}: give a whole number")),
        Err(_) => default,
    }
}
