//! Faults: the guestwright process killed with SIGKILL at seeded random points during
//! customize and copy-in, a guest filesystem that fills up, and two processes that want to
//! write one image. What a user checks afterwards: `qemu-img check`, `e2fsck -fn` (after
//! the journal replay any mount would do), each file whole in its old or its new version,
//! no QEMU left behind, and messages that say what happened.

use crate::drivekit;

use drivekit::{qemu_processes_naming, run_within, sigkill, Ran, Rng};
use guestwright_tests::*;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const LIMIT: Duration = Duration::from_secs(120);

/// Kill points per command (at least 20 in CI); `GW_FAULT_POINTS` raises it for a longer soak.
fn points() -> u64 {
    std::env::var("GW_FAULT_POINTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20)
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// What the image holds after a kill, read by the host's own tools.
#[derive(Debug, Default)]
struct Verdict {
    /// `qemu-img check` found leaked clusters (harmless: space, not data).
    leaks: bool,
    /// The journal had to be replayed before e2fsck could check the filesystem.
    replayed: bool,
    /// Each checked guest path's content (`None`: absent).
    files: BTreeMap<String, Option<Vec<u8>>>,
}

/// `qemu-img check`, journal replay on a copy when needed (what any mount does first),
/// `e2fsck -fn`, and the content of `paths`. Panics on anything a user would call damage.
fn examine(img: &Path, paths: &[String], context: &str) -> Verdict {
    let mut v = Verdict::default();
    let check = Command::new("qemu-img")
        .args(["check", "-f", "qcow2"])
        .arg(img)
        .output()
        .expect("qemu-img (qemu-utils)");
    // 0: clean; 3: leaked clusters only. Anything else is corruption or failure.
    match check.status.code() {
        Some(0) => {}
        Some(3) => v.leaks = true,
        _ => panic!(
            "{context}: qemu-img check failed ({}):\n{}{}",
            check.status,
            String::from_utf8_lossy(&check.stdout),
            String::from_utf8_lossy(&check.stderr)
        ),
    }
    let dir = tempfile::tempdir().unwrap();
    let raw = dir.path().join("disk.raw");
    run(Command::new("qemu-img")
        .args(["convert", "-f", "qcow2", "-O", "raw"])
        .arg(img)
        .arg(&raw));
    let part = extract(&raw, DEBIAN_ROOT_OFFSET, DEBIAN_ROOT_SIZE);
    let features = run(Command::new("dumpe2fs").arg("-h").arg(part.path())).stdout;
    if String::from_utf8_lossy(&features).contains("needs_recovery") {
        v.replayed = true;
        let out = Command::new("e2fsck")
            .args(["-E", "journal_only", "-y"])
            .arg(part.path())
            .output()
            .expect("e2fsck (e2fsprogs)");
        assert!(
            out.status.code().unwrap_or(8) < 4,
            "{context}: journal replay failed ({}): {}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let fsck = Command::new("e2fsck")
        .arg("-fn")
        .arg(part.path())
        .output()
        .expect("e2fsck (e2fsprogs)");
    assert!(
        fsck.status.success(),
        "{context}: e2fsck -fn found problems ({}):\n{}{}",
        fsck.status,
        String::from_utf8_lossy(&fsck.stdout),
        String::from_utf8_lossy(&fsck.stderr)
    );
    for path in paths {
        let out = Command::new("debugfs")
            .arg("-R")
            .arg(format!("cat {path}"))
            .arg(part.path())
            .output()
            .expect("debugfs (e2fsprogs)");
        let absent = String::from_utf8_lossy(&out.stderr).contains("File not found");
        v.files
            .insert(path.clone(), (!absent).then_some(out.stdout));
    }
    v
}

/// Waits up to `within` for every QEMU naming `img` to go; kills and fails if one stays.
fn assert_no_qemu_survives(img: &Path, within: Duration, context: &str) {
    let started = Instant::now();
    loop {
        let left = qemu_processes_naming(img);
        // Gone from /proc is not enough: a process on its way out keeps its locks until
        // its last file is closed. The image is free when qemu-img can open it.
        let free = || {
            Command::new("qemu-img")
                .args(["info", "-f", "qcow2"])
                .arg(img)
                .output()
                .is_ok_and(|o| o.status.success())
        };
        if left.is_empty() && free() {
            return;
        }
        if started.elapsed() > within {
            for pid in &left {
                sigkill(*pid as i32);
            }
            panic!(
                "{context}: QEMU {left:?} (or a lock on the image) outlived the killed \
                 guestwright by {within:?}"
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Runs `args` on a fresh copy of `template`, SIGKILLs guestwright (only it: QEMU must go
/// by itself) after `delay`, and examines what is left. Returns whether the run finished
/// before the kill.
fn kill_run(
    template: &Path,
    work: &Path,
    args: &[String],
    delay: Duration,
    paths: &[String],
    context: &str,
) -> (Verdict, bool) {
    std::fs::copy(template, work).unwrap();
    let mut child = guestwright()
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("guestwright");
    let stderr = child.stderr.take().unwrap();
    let collected = std::thread::spawn(move || {
        let mut text = String::new();
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            text.push_str(&line);
            text.push('\n');
        }
        text
    });
    let started = Instant::now();
    let mut finished = false;
    while started.elapsed() < delay {
        if child.try_wait().unwrap().is_some() {
            finished = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    if !finished {
        sigkill(child.id() as i32);
    }
    let status = child.wait().unwrap();
    let err = collected.join().unwrap();
    assert!(!err.contains("panicked at"), "{context}: panic:\n{err}");
    if finished {
        assert!(status.success(), "{context}: failed without a kill:\n{err}");
    }
    assert_no_qemu_survives(work, Duration::from_secs(5), context);
    (examine(work, paths, context), finished)
}

/// A Debian-like guest (ESP on /dev/sda1, root on /dev/sda2) with `files`, as qcow2.
fn qcow2_guest(dir: &Path, files: &[File<'_>]) -> PathBuf {
    let raw = debian_like(dir, "template.raw", files);
    let q = dir.join("template.qcow2");
    run(Command::new("qemu-img")
        .args(["convert", "-f", "raw", "-O", "qcow2"])
        .arg(&raw)
        .arg(&q));
    std::fs::remove_file(raw).unwrap();
    q
}

/// A full run first (the new content of each file, and how long a run takes), then
/// `points()` runs killed at seeded random moments across that time. Each file must then
/// be whole in one of its states: the template's, one an operation of the run leaves
/// (`between`: files written twice), or the full run's.
fn kill_points(
    name: &str,
    seed: u64,
    template: &Path,
    work: &Path,
    args: &[String],
    paths: &[String],
    between: &[(&str, &[u8])],
) -> String {
    let old = examine(template, paths, &format!("{name} template"));
    std::fs::copy(template, work).unwrap();
    let ran = run_within(guestwright().args(args), LIMIT);
    assert!(ran.status.success(), "{name}: the full run failed:\n{ran}");
    let new = examine(work, paths, &format!("{name} full run"));
    for p in paths {
        assert_ne!(
            old.files[p], new.files[p],
            "{name}: the run does not change {p}"
        );
        assert!(new.files[p].is_some(), "{name}: the full run removed {p}");
    }
    let span = ran.elapsed;
    let mut rng = Rng::new(seed);
    let (mut killed, mut completed, mut leaks, mut replays) = (0, 0, 0, 0);
    let mut states: BTreeMap<&'static str, usize> = BTreeMap::new();
    for i in 0..points() {
        // Mostly in the second half of a typical run (the first is the launch, where a
        // kill finds nothing written), up to a little past its end.
        let delay = span.mul_f64(0.4 + rng.below(801) as f64 / 1000.0);
        let context = format!("{name} kill point {i} (seed {seed}) at {delay:?}");
        let (v, finished) = kill_run(template, work, args, delay, paths, &context);
        if finished {
            completed += 1;
        } else {
            killed += 1;
        }
        leaks += usize::from(v.leaks);
        replays += usize::from(v.replayed);
        for p in paths {
            let got = &v.files[p];
            let state = if *got == new.files[p] {
                "new"
            } else if *got == old.files[p] {
                if got.is_some() {
                    "old"
                } else {
                    "absent"
                }
            } else if between
                .iter()
                .any(|(bp, c)| bp == p && got.as_deref() == Some(*c))
            {
                "between"
            } else {
                panic!(
                    "{context}: {p} holds neither its old nor its new content: {:?} bytes (old {:?}, new {:?})",
                    got.as_ref().map(Vec::len),
                    old.files[p].as_ref().map(Vec::len),
                    new.files[p].as_ref().map(Vec::len)
                );
            };
            *states.entry(state).or_default() += 1;
        }
    }
    format!(
        "{name}: full run {:.1} s; {} kill points: {killed} killed, {completed} finished first; \
         {leaks} with leaked clusters, {replays} needed a journal replay; file states {states:?}",
        span.as_secs_f64(),
        points()
    )
}

#[test]
fn sigkill_during_customize_and_copy_in_leaves_a_consistent_image() {
    require("qemu-img", "qemu-utils");
    require("e2fsck", "e2fsprogs");
    let dir = tempfile::tempdir().unwrap();
    let mut rng = Rng::new(10);
    let big_old: Vec<u8> = (0..300_000).map(|_| rng.next() as u8).collect();
    let big_new: Vec<u8> = (0..700_000).map(|_| rng.next() as u8).collect();
    let template = qcow2_guest(
        dir.path(),
        &[
            file("/etc/motd", "old motd\n"),
            file("/etc/issue", "Debian\n"),
            File {
                path: "/srv/tree/big.bin",
                content: &big_old,
                mode: 0o644,
            },
            file("/srv/tree/a.txt", "old a\n"),
        ],
    );
    let work = dir.path().join("work.qcow2");
    let mut report = Vec::new();

    // customize: several operations, each writing a file.
    let upload = dir.path().join("upload.bin");
    std::fs::write(&upload, &big_new).unwrap();
    let app_new = "x".repeat(50_000);
    let args: Vec<String> = [
        "customize",
        "-a",
        s(&work),
        "--hostname",
        "new-host",
        "--write",
        "/etc/motd:new motd",
        "--write",
        &format!("/etc/app.conf:{app_new}"),
        "--upload",
        &format!("{}:/srv/tree/big.bin", s(&upload)),
        "--append-line",
        "/etc/issue:Managed here",
    ]
    .map(String::from)
    .to_vec();
    let paths: Vec<String> = [
        "/etc/hostname",
        "/etc/motd",
        "/etc/app.conf",
        "/srv/tree/big.bin",
        "/etc/issue",
    ]
    .map(String::from)
    .to_vec();
    report.push(kill_points(
        "customize",
        100,
        &template,
        &work,
        &args,
        &paths,
        &[],
    ));

    // copy-in of a tree over files that exist.
    let tree = dir.path().join("tree");
    std::fs::create_dir_all(tree.join("sub")).unwrap();
    let mut paths = vec![
        "/srv/tree/a.txt".to_string(),
        "/srv/tree/big.bin".to_string(),
    ];
    for i in 0..20 {
        let len = [10, 4096, 70_000, 400_000][i % 4];
        let content: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        let rel = if i % 3 == 0 {
            format!("sub/f{i}.bin")
        } else {
            format!("f{i}.bin")
        };
        std::fs::write(tree.join(&rel), &content).unwrap();
        paths.push(format!("/srv/tree/{rel}"));
    }
    std::fs::write(tree.join("a.txt"), b"new a\n").unwrap();
    std::fs::write(tree.join("big.bin"), &big_new).unwrap();
    let args: Vec<String> = [
        "copy-in",
        "-a",
        s(&work),
        "-m",
        "/dev/sda2",
        s(&tree),
        "/srv",
    ]
    .map(String::from)
    .to_vec();
    report.push(kill_points(
        "copy-in",
        200,
        &template,
        &work,
        &args,
        &paths,
        &[],
    ));
    eprintln!("{}", report.join("\n"));
}

fn shell_holding(
    img: &Path,
    extra: &[&str],
) -> (std::process::Child, BufReader<std::process::ChildStdout>) {
    let mut child = guestwright()
        .args(["shell", "--rw", "-a", s(img)])
        .args(extra)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("guestwright shell");
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let stdin = child.stdin.as_mut().unwrap();
    writeln!(stdin, "run").unwrap();
    writeln!(stdin, "echo ready").unwrap();
    stdin.flush().unwrap();
    let mut line = String::new();
    let started = Instant::now();
    // The shell echoes "ready" once the appliance is up and holds the image.
    while !line.contains("ready") {
        line.clear();
        assert!(
            started.elapsed() < LIMIT,
            "the first shell did not start within {LIMIT:?}"
        );
        if out.read_line(&mut line).unwrap() == 0 {
            let mut err = String::new();
            let _ = std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut err);
            panic!("the first shell ended before holding the image: {err}");
        }
    }
    (child, out)
}

/// Two writers: the second is refused with a message that says the image is in use; a
/// reader meanwhile works (it takes no lock and reads the image as it is on disk); a writer
/// of a clone's template is refused while the clone is open for writing.
#[test]
fn a_second_writer_is_refused_and_a_reader_is_let_in() {
    let dir = tempfile::tempdir().unwrap();
    let img = gpt_ext4(
        dir.path(),
        "disk.img",
        &[
            file("/etc/hostname", "locked\n"),
            file("/etc/os-release", "ID=debian\n"),
            file("/etc/fstab", "LABEL=root / ext4 defaults 0 1\n"),
        ],
    );
    let (mut first, _out) = shell_holding(&img, &[]);
    let in_use = |ran: &Ran, image: &Path| {
        assert!(!ran.stderr.contains("panicked at"), "{ran}");
        // 1 for one-shot commands, 3 for the shell (the appliance could not be started).
        assert!(matches!(ran.status.code(), Some(1 | 3)), "{ran}");
        let want = format!("{} is in use", image.display());
        assert!(ran.stderr.contains(&want), "{want:?} missing:\n{ran}");
        assert!(ran.stderr.contains("--ro"), "{ran}");
    };
    let second = run_within(
        guestwright().args(["write", "-a", s(&img), "/etc/motd", "second\n"]),
        LIMIT,
    );
    in_use(&second, &img);
    let shell2 = run_within(
        guestwright().args(["shell", "--rw", "-a", s(&img), ":", "run"]),
        LIMIT,
    );
    in_use(&shell2, &img);
    let reader = run_within(
        guestwright().args(["cat", "-a", s(&img), "-m", "/dev/sda1", "/etc/hostname"]),
        LIMIT,
    );
    assert!(reader.status.success(), "{reader}");
    assert_eq!(reader.stdout, "locked\n");
    drop(first.stdin.take());
    let status = first.wait().unwrap();
    assert!(status.success(), "the first shell failed: {status}");
    assert_fsck_clean(&img);

    // A clone open for writing keeps its template from being written.
    let base = dir.path().join("base.qcow2");
    run(Command::new("qemu-img")
        .args(["convert", "-f", "raw", "-O", "qcow2"])
        .arg(&img)
        .arg(&base));
    let vm = dir.path().join("vm.qcow2");
    run(guestwright().arg("clone").arg(&base).arg(&vm));
    let (mut holder, _out) = shell_holding(&vm, &[]);
    let writer = run_within(
        guestwright().args(["write", "-a", s(&base), "/etc/motd", "x\n"]),
        LIMIT,
    );
    in_use(&writer, &base);
    drop(holder.stdin.take());
    assert!(holder.wait().unwrap().success());
}

/// A write that fills the guest filesystem: a message that says the disk is full and what
/// to do, exit 1, and a clean filesystem afterwards.
#[test]
fn a_full_guest_filesystem_is_reported_as_such() {
    require("mkfs.ext4", "e2fsprogs");
    let dir = tempfile::tempdir().unwrap();
    let img = dir.path().join("small.img");
    run(Command::new("mkfs.ext4")
        .args(["-q", "-F", "-L", "small"])
        .arg(&img)
        .arg("8M"));
    let big = dir.path().join("big.bin");
    let mut rng = Rng::new(28);
    let data: Vec<u8> = (0..(12 << 20)).map(|_| rng.next() as u8).collect();
    std::fs::write(&big, &data).unwrap();
    let full = |ran: &Ran| {
        assert!(!ran.stderr.contains("panicked at"), "{ran}");
        assert_eq!(ran.status.code(), Some(1), "{ran}");
        assert!(ran.stderr.contains("is full"), "no 'is full' in:\n{ran}");
        assert!(ran.stderr.contains("free space"), "no advice in:\n{ran}");
        let out = Command::new("e2fsck")
            .arg("-fn")
            .arg(&img)
            .output()
            .expect("e2fsck");
        assert!(
            out.status.success(),
            "e2fsck -fn after ENOSPC: {}",
            String::from_utf8_lossy(&out.stdout)
        );
    };
    full(&run_within(
        guestwright().args(["copy-in", "-a", s(&img), "-m", "/dev/sda", s(&big), "/"]),
        LIMIT,
    ));
    full(&run_within(
        guestwright().args([
            "shell",
            "--rw",
            "-a",
            s(&img),
            "-m",
            "/dev/sda",
            ":",
            "upload",
            s(&big),
            "/big.bin",
        ]),
        LIMIT,
    ));
}

/// How a signalled run is watched: what says it is under way, then the signal.
enum Moment {
    /// A QEMU process holds the image, then this long.
    QemuUpFor(Duration),
    /// A file other than the ones listed exists in this directory and is not empty (the
    /// command's temporary host file).
    TempFileIn(PathBuf, Vec<PathBuf>),
    /// Standard output has produced this many bytes.
    StdoutBytes(u64),
}

/// QEMU processes that hold `img` open.
fn qemu_holding(img: &Path) -> Vec<u32> {
    qemu_processes_naming(img)
        .into_iter()
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .is_ok_and(|c| String::from_utf8_lossy(&c).contains("qemu-system"))
        })
        .collect()
}

/// Runs `args`, sends `signal` at `moment`, and checks what every interrupted command must
/// do: exit with 128 + the signal within a deadline, with one line on stderr that says so,
/// and leave no QEMU. Returns the stderr line, or `None` when the command finished first.
fn signal_run(
    args: &[String],
    img: &Path,
    signal: i32,
    moment: Moment,
    context: &str,
) -> Option<String> {
    signal_run_timed(args, img, signal, moment, context).0
}

/// [`signal_run`], also returning how long the command took to exit after the signal.
fn signal_run_timed(
    args: &[String],
    img: &Path,
    signal: i32,
    moment: Moment,
    context: &str,
) -> (Option<String>, Duration) {
    use std::os::unix::process::CommandExt;
    let mut child = guestwright()
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .expect("guestwright");
    let pid = child.id() as i32;
    let mut stdout = child.stdout.take().unwrap();
    let out_bytes = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let counter = out_bytes.clone();
    let drained = std::thread::spawn(move || {
        let mut buf = vec![0u8; 1 << 16];
        while let Ok(n) = std::io::Read::read(&mut stdout, &mut buf) {
            if n == 0 {
                break;
            }
            counter.fetch_add(n as u64, std::sync::atomic::Ordering::SeqCst);
        }
    });
    let stderr = child.stderr.take().unwrap();
    let collected = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = std::io::Read::read_to_string(&mut BufReader::new(stderr), &mut text);
        text
    });
    let started = Instant::now();
    let mut up_since: Option<Instant> = None;
    let mut finished = false;
    loop {
        if child.try_wait().unwrap().is_some() {
            finished = true;
            break;
        }
        let now = Instant::now();
        let ready = match &moment {
            Moment::QemuUpFor(d) => {
                if up_since.is_none() && !qemu_holding(img).is_empty() {
                    up_since = Some(now);
                }
                up_since.is_some_and(|t| now - t >= *d)
            }
            Moment::TempFileIn(dir, known) => std::fs::read_dir(dir)
                .unwrap()
                .flatten()
                .any(|e| !known.contains(&e.path()) && e.metadata().is_ok_and(|m| m.len() > 0)),
            Moment::StdoutBytes(n) => out_bytes.load(std::sync::atomic::Ordering::SeqCst) >= *n,
        };
        if ready {
            send_signal(pid, signal);
            break;
        }
        if started.elapsed() > LIMIT {
            sigkill(pid);
            panic!("{context}: the moment to signal never came within {LIMIT:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let signalled = Instant::now();
    let deadline = signalled + LIMIT;
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if Instant::now() > deadline {
            sigkill(pid);
            panic!("{context}: still running {LIMIT:?} after the signal");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let took = signalled.elapsed();
    let _ = drained.join();
    let err = collected.join().unwrap();
    assert!(!err.contains("panicked at"), "{context}: panic:\n{err}");
    assert_no_qemu_survives(img, Duration::from_secs(10), context);
    if finished {
        assert!(
            status.success(),
            "{context}: failed without a signal:\n{err}"
        );
        return (None, took);
    }
    let name = if signal == libc::SIGINT {
        "SIGINT"
    } else {
        "SIGTERM"
    };
    assert_eq!(
        status.code(),
        Some(128 + signal),
        "{context}: exit status after {name}:\n{err}"
    );
    // Progress lines (customize's steps) may come first; then one line, and no error.
    let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
    let last = lines.last().copied().unwrap_or_default();
    assert!(
        last.starts_with(&format!("guestwright: interrupted by {name}: stopped")),
        "{context}: {err}"
    );
    assert!(
        !lines[..lines.len() - 1]
            .iter()
            .any(|l| l.contains("interrupted") || l.contains("error") || l.contains("warning")),
        "{context}: more than one line about the interruption:\n{err}"
    );
    (Some(last.to_string()), took)
}

/// kill(1) of one process (never a group: QEMU must stop because guestwright stops it).
fn send_signal(pid: i32, signal: i32) {
    let ok = Command::new("kill")
        .args([format!("-{signal}"), "--".into(), pid.to_string()])
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "kill -{signal} {pid} failed");
}

fn listing(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    v.sort();
    v
}

/// Ctrl-C (SIGINT) and SIGTERM during customize, copy-in, tar-out to a file and cat of a
/// big file, and SIGTERM to a mount: each stops within the deadline with 130 or 143 and
/// one line, no QEMU survives, no temporary host file is left, the host file a reader was
/// writing keeps its old content, and a writer's image passes `qemu-img check` and
/// `e2fsck -fn`.
#[test]
fn sigint_and_sigterm_stop_every_command_cleanly() {
    require("qemu-img", "qemu-utils");
    require("e2fsck", "e2fsprogs");
    let dir = tempfile::tempdir().unwrap();
    let mut rng = Rng::new(77);
    let big: Vec<u8> = (0..(24 << 20)).map(|_| rng.next() as u8).collect();
    let template = qcow2_guest(
        dir.path(),
        &[
            file("/etc/motd", "old motd\n"),
            File {
                path: "/srv/big.bin",
                content: &big,
                mode: 0o644,
            },
        ],
    );
    let work = dir.path().join("work.qcow2");
    let out = dir.path().join("out");
    std::fs::create_dir(&out).unwrap();
    let upload = dir.path().join("upload.bin");
    std::fs::write(&upload, &big[..16 << 20]).unwrap();
    let tree = dir.path().join("tree");
    std::fs::create_dir(&tree).unwrap();
    for i in 0..8 {
        std::fs::write(tree.join(format!("f{i}.bin")), &big[i << 20..(i + 3) << 20]).unwrap();
    }
    let mut report = Vec::new();
    let mut interrupted = 0;

    let customize: Vec<String> = [
        "customize",
        "-a",
        s(&work),
        "--hostname",
        "new-host",
        "--upload",
        &format!("{}:/srv/up.bin", s(&upload)),
        "--write",
        "/etc/motd:new motd",
    ]
    .map(String::from)
    .to_vec();
    let copy_in: Vec<String> = [
        "copy-in",
        "-a",
        s(&work),
        "-m",
        "/dev/sda2",
        s(&tree),
        "/srv",
    ]
    .map(String::from)
    .to_vec();
    // Writers: several moments after the appliance is up, SIGINT and SIGTERM.
    for (name, args) in [("customize", &customize), ("copy-in", &copy_in)] {
        for (i, (after, signal)) in [
            (0, libc::SIGINT),
            (700, libc::SIGINT),
            (1500, libc::SIGTERM),
        ]
        .into_iter()
        .enumerate()
        {
            std::fs::copy(&template, &work).unwrap();
            let context = format!("{name} signal {signal} {after} ms after QEMU started ({i})");
            let r = signal_run(
                args,
                &work,
                signal,
                Moment::QemuUpFor(Duration::from_millis(after)),
                &context,
            );
            let v = examine(&work, &[], &context);
            report.push(format!(
                "{context}: {} (leaks {}, journal replayed {})",
                r.as_deref().unwrap_or("finished first"),
                v.leaks,
                v.replayed
            ));
            interrupted += usize::from(r.is_some());
        }
    }

    // Readers: tar-out to a file and cat of a big file.
    std::fs::copy(&template, &work).unwrap();
    let before = guestwright_tests::sha256(&work);
    let archive = out.join("srv.tar");
    std::fs::write(&archive, b"precious\n").unwrap();
    let known = listing(&out);
    let tar_out: Vec<String> = [
        "tar-out",
        "-a",
        s(&work),
        "-m",
        "/dev/sda2",
        "/srv",
        s(&archive),
    ]
    .map(String::from)
    .to_vec();
    let r = signal_run(
        &tar_out,
        &work,
        libc::SIGINT,
        Moment::TempFileIn(out.clone(), known.clone()),
        "tar-out",
    );
    assert!(r.is_some(), "tar-out finished before the signal");
    assert_eq!(listing(&out), known, "tar-out left a temporary file");
    assert_eq!(std::fs::read(&archive).unwrap(), b"precious\n");
    report.push(format!("tar-out: {}", r.unwrap()));
    let cat: Vec<String> = ["cat", "-a", s(&work), "-m", "/dev/sda2", "/srv/big.bin"]
        .map(String::from)
        .to_vec();
    let r = signal_run(
        &cat,
        &work,
        libc::SIGINT,
        Moment::StdoutBytes(1 << 20),
        "cat",
    );
    assert!(r.is_some(), "cat finished before the signal");
    report.push(format!("cat: {}", r.unwrap()));
    assert_eq!(
        guestwright_tests::sha256(&work),
        before,
        "a reader changed the image"
    );
    assert!(
        interrupted >= 4,
        "too few runs were interrupted:\n{}",
        report.join("\n")
    );
    eprintln!("{}", report.join("\n"));
}

/// SIGINT or SIGTERM while the appliance boots (QEMU just started): the launch stops at
/// once (QEMU is killed; nothing of the guest was mounted yet), not when the boot is over.
#[test]
fn a_signal_during_boot_stops_the_launch_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let img = qcow2_guest(dir.path(), &[file("/etc/motd", "motd\n")]);
    let before = guestwright_tests::sha256(&img);
    let cat: Vec<String> = ["cat", "-a", s(&img), "-m", "/dev/sda2", "/etc/motd"]
        .map(String::from)
        .to_vec();
    for signal in [libc::SIGINT, libc::SIGTERM] {
        let context = format!("cat, signal {signal} as QEMU starts");
        let (line, took) = signal_run_timed(
            &cat,
            &img,
            signal,
            Moment::QemuUpFor(Duration::ZERO),
            &context,
        );
        assert!(line.is_some(), "{context}: cat finished before the signal");
        // A TCG boot takes 1.5 s or more here, the whole command more than 2 s.
        assert!(
            took < Duration::from_millis(1000),
            "{context}: took {took:?} to exit after the signal"
        );
        eprintln!("{context}: exited {took:?} after the signal");
    }
    assert_eq!(guestwright_tests::sha256(&img), before, "the image changed");
}

/// SIGTERM to `guestwright mount --no-fork`: it unmounts, shuts the appliance down, exits
/// with 143 and one line; what was written through the mount is in the image.
#[test]
fn sigterm_unmounts_a_mount_and_exits() {
    require("qemu-img", "qemu-utils");
    require("e2fsck", "e2fsprogs");
    let dir = tempfile::tempdir().unwrap();
    let template = qcow2_guest(dir.path(), &[file("/etc/motd", "old motd\n")]);
    let work = dir.path().join("work.qcow2");
    std::fs::copy(&template, &work).unwrap();
    let mnt = dir.path().join("mnt");
    std::fs::create_dir(&mnt).unwrap();
    let mut child = guestwright()
        .args([
            "mount",
            "--rw",
            "--no-fork",
            "-a",
            s(&work),
            "-m",
            "/dev/sda2",
            s(&mnt),
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("guestwright mount");
    let mounted = || {
        std::fs::read_to_string("/proc/self/mountinfo")
            .unwrap()
            .lines()
            .any(|l| l.split(' ').nth(4) == Some(s(&mnt)))
    };
    let started = Instant::now();
    while !mounted() {
        if started.elapsed() > LIMIT || child.try_wait().unwrap().is_some() {
            sigkill(child.id() as i32);
            panic!(
                "the mount was not ready within {LIMIT:?}: {:?}",
                child.wait_with_output()
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    std::fs::write(mnt.join("etc/written"), b"through the mount\n").unwrap();
    send_signal(child.id() as i32, libc::SIGTERM);
    let deadline = Instant::now() + LIMIT;
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if Instant::now() > deadline {
            sigkill(child.id() as i32);
            let _ = Command::new("fusermount3").args(["-uz", s(&mnt)]).status();
            panic!("the mount still ran {LIMIT:?} after SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut err = String::new();
    std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut err).unwrap();
    assert!(!mounted(), "still mounted after SIGTERM");
    assert_eq!(status.code(), Some(143), "{err}");
    let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "not one line:\n{err}");
    assert!(
        lines[0].starts_with("guestwright: interrupted by SIGTERM: unmounted"),
        "{err}"
    );
    assert_no_qemu_survives(&work, Duration::from_secs(10), "mount");
    let v = examine(&work, &["/etc/written".to_string()], "mount");
    assert_eq!(
        v.files["/etc/written"].as_deref(),
        Some(&b"through the mount\n"[..])
    );
    assert!(!v.replayed, "the mount's image was not closed cleanly");
}

/// The names in the guest's root filesystem after a kill that are temporary files of a
/// write (`.gw-tar-*` of tar-in, `.guestwright-*` of whole-file writes), read by debugfs
/// after the journal replay any mount would do.
fn temporary_names(img: &Path) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let raw = dir.path().join("disk.raw");
    run(Command::new("qemu-img")
        .args(["convert", "-f", "qcow2", "-O", "raw"])
        .arg(img)
        .arg(&raw));
    let part = extract(&raw, DEBIAN_ROOT_OFFSET, DEBIAN_ROOT_SIZE);
    let out = Command::new("e2fsck")
        .args(["-E", "journal_only", "-y"])
        .arg(part.path())
        .output()
        .expect("e2fsck (e2fsprogs)");
    assert!(out.status.code().unwrap_or(8) < 4, "journal replay failed");
    guestwright_tests::tree::ext4_tree_at(part.path(), 0, DEBIAN_ROOT_SIZE)
        .into_keys()
        .filter(|p| {
            let name = p.rsplit('/').next().unwrap_or_default();
            name.starts_with(".gw-tar-") || name.starts_with(".guestwright-")
        })
        .collect()
}

/// A copy-in killed at any point leaves no temporary file under a name: on ext4 the new
/// files are unnamed (`O_TMPFILE`) until just before each is renamed into place.
#[test]
fn sigkill_during_copy_in_leaves_no_temporary_names() {
    require("qemu-img", "qemu-utils");
    require("debugfs", "e2fsprogs");
    let dir = tempfile::tempdir().unwrap();
    let template = qcow2_guest(dir.path(), &[file("/srv/tree/a.txt", "old a\n")]);
    let work = dir.path().join("work.qcow2");
    let tree = dir.path().join("tree");
    std::fs::create_dir_all(tree.join("sub")).unwrap();
    let mut rng = Rng::new(30);
    let mut paths = vec!["/srv/tree/a.txt".to_string()];
    for i in 0..24 {
        let len = [10, 70_000, 600_000, 2_000_000][i % 4];
        let content: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        let rel = if i % 3 == 0 {
            format!("sub/f{i}.bin")
        } else {
            format!("f{i}.bin")
        };
        std::fs::write(tree.join(&rel), &content).unwrap();
        paths.push(format!("/srv/tree/{rel}"));
    }
    std::fs::write(tree.join("a.txt"), b"new a\n").unwrap();
    let args: Vec<String> = [
        "copy-in",
        "-a",
        s(&work),
        "-m",
        "/dev/sda2",
        s(&tree),
        "/srv",
    ]
    .map(String::from)
    .to_vec();
    std::fs::copy(&template, &work).unwrap();
    let ran = run_within(guestwright().args(&args), LIMIT);
    assert!(ran.status.success(), "the full run failed:\n{ran}");
    let span = ran.elapsed;
    let (mut killed, mut finished_first) = (0, 0);
    let n = points().div_ceil(2);
    for i in 0..n {
        // From the end of a typical launch to past the middle of the run, where the data
        // is written (later runs are often faster than the first).
        let delay = span.mul_f64(0.25 + rng.below(501) as f64 / 1000.0);
        let context = format!("copy-in kill point {i} at {delay:?}");
        let (_, finished) = kill_run(&template, &work, &args, delay, &paths, &context);
        if finished {
            finished_first += 1;
        } else {
            killed += 1;
        }
        let left = temporary_names(&work);
        assert!(left.is_empty(), "{context}: temporary files left: {left:?}");
    }
    eprintln!(
        "copy-in: full run {:.1} s; {n} kill points: {killed} killed, {finished_first} finished \
         first; no temporary names left",
        span.as_secs_f64()
    );
}

/// The shell with its standard input a pipe held open, waiting for its next line after
/// `run`: SIGTERM and SIGHUP shut the appliance down and end it promptly (not after the
/// 30 s limit for a command that does not stop), with 143 and 129 and the one line that
/// says the images were closed cleanly; no QEMU is left and the filesystem is clean.
#[test]
fn sigterm_and_sighup_end_a_shell_waiting_for_a_line() {
    let dir = tempfile::tempdir().unwrap();
    let img = gpt_ext4(
        dir.path(),
        "disk.img",
        &[file("/etc/os-release", "ID=debian\n")],
    );
    // Well under `signals::GRACE` (30 s), after which the shell stops at once anyway.
    let within = Duration::from_secs(20);
    for (signal, name) in [(libc::SIGTERM, "SIGTERM"), (libc::SIGHUP, "SIGHUP")] {
        let (mut shell, _out) = shell_holding(&img, &[]);
        // Its standard input stays open: the shell waits for a line that never comes.
        std::thread::sleep(Duration::from_millis(500));
        let sent = Instant::now();
        send_signal(shell.id() as i32, signal);
        let status = loop {
            if let Some(status) = shell.try_wait().unwrap() {
                break status;
            }
            if sent.elapsed() > within {
                sigkill(shell.id() as i32);
                let _ = shell.wait();
                panic!("the shell waiting for a line did not end within {within:?} of {name}");
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        let mut err = String::new();
        std::io::Read::read_to_string(shell.stderr.as_mut().unwrap(), &mut err).unwrap();
        let context = format!("{name} to a shell waiting for a line");
        assert_eq!(
            status.code(),
            Some(128 + signal),
            "{context}: {status}, stderr:\n{err}"
        );
        let line =
            format!("guestwright: interrupted by {name}: stopped; the images were closed cleanly");
        assert!(err.contains(&line), "{context}: {line:?} missing:\n{err}");
        assert!(!err.contains("panicked at"), "{context}:\n{err}");
        // The shell waited for QEMU: none may hold the image any more.
        let left = qemu_holding(&img);
        for pid in &left {
            sigkill(*pid as i32);
        }
        assert!(
            left.is_empty(),
            "{context}: QEMU {left:?} survived the shell"
        );
        assert_fsck_clean(&img);
        eprintln!("{context}: ended after {:?}", sent.elapsed());
    }
}
