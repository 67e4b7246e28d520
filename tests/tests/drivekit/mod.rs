//! Shared by the bad-image and fault tests: running `guestwright` under a deadline, a seeded
//! random generator, and the checks every run must pass (no panic, no host file content).

#![allow(dead_code)]

use std::io::Read;
use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// What a finished command left.
#[derive(Debug)]
pub struct Ran {
    /// How it ended.
    pub status: ExitStatus,
    /// Its standard output.
    pub stdout: String,
    /// Its standard error.
    pub stderr: String,
    /// How long it took.
    pub elapsed: Duration,
    /// What ran, for messages.
    pub shown: String,
}

impl Ran {
    /// Both streams, for searching.
    pub fn all(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }
}

impl std::fmt::Display for Ran {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} -> {} after {:.1} s\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.shown,
            self.status,
            self.elapsed.as_secs_f64(),
            self.stdout,
            self.stderr
        )
    }
}

/// Runs `cmd` to its end, killing it (and its process group) and failing the test when it
/// is still running after `limit`.
pub fn run_within(cmd: &mut Command, limit: Duration) -> Ran {
    use std::os::unix::process::CommandExt;
    let shown = format!("{cmd:?}");
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    let started = Instant::now();
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {shown}: {e}"));
    let collect = |mut r: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut v = Vec::new();
            let _ = r.read_to_end(&mut v);
            String::from_utf8_lossy(&v).into_owned()
        })
    };
    let out = collect(Box::new(child.stdout.take().unwrap()));
    let err = collect(Box::new(child.stderr.take().unwrap()));
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if started.elapsed() > limit {
            let pid = child.id() as i32;
            sigkill(-pid);
            let _ = child.wait();
            panic!(
                "{shown} did not end within {limit:?}; killed.\n--- stderr so far ---\n{}",
                err.join().unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Ran {
        status,
        stdout: out.join().unwrap(),
        stderr: err.join().unwrap(),
        elapsed: started.elapsed(),
        shown,
    }
}

/// SIGKILL to a pid or (negative) process group, through kill(1): the tests crate has no
/// libc binding and this is not on a hot path.
pub fn sigkill(pid: i32) {
    let _ = Command::new("kill")
        .args(["-KILL", "--", &pid.to_string()])
        .stderr(Stdio::null())
        .status();
}

/// The checks every run makes, whatever its outcome: no panic in the host process, no
/// line of host content (`canary`) anywhere, a message on failure.
pub fn assert_sane(ran: &Ran, canary: &str) {
    assert!(
        !ran.stderr.contains("panicked at"),
        "the host process panicked:\n{ran}"
    );
    assert!(
        !ran.all().contains(canary),
        "host file content reached the output:\n{ran}"
    );
    if !ran.status.success() {
        // Ours, or the drop-in's in libguestfs's words (`virt-cat: no operating system ...`,
        // `libguestfs: error: ...`), as the tool it stands in for prints it.
        let said = ran.stderr.contains("guestwright: ")
            || ran.stderr.contains("libguestfs: error: ")
            || ran
                .stderr
                .lines()
                .any(|l| l.starts_with("virt-") && l.contains(": "));
        assert!(said, "a failure without a message:\n{ran}");
    }
}

/// SplitMix64: a seeded generator, so a failure can be replayed from the seed it prints.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator for `seed`.
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }
    /// The next 64 random bits.
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Processes that are a QEMU whose command line mentions `needle` (an image path unique to
/// a test), or that still hold `needle` open: a process on its way out has no command line
/// any more but keeps its files (and their locks) until the very end.
pub fn qemu_processes_naming(needle: &Path) -> Vec<u32> {
    let text = needle.to_string_lossy().into_owned();
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        if pid == std::process::id() {
            continue;
        }
        let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
        let cmdline = String::from_utf8_lossy(&cmdline);
        let named = cmdline.contains("qemu-system") && cmdline.contains(&text);
        let holds = || {
            std::fs::read_dir(entry.path().join("fd"))
                .into_iter()
                .flatten()
                .flatten()
                .any(|fd| std::fs::read_link(fd.path()).is_ok_and(|l| l == needle))
        };
        if named || holds() {
            found.push(pid);
        }
    }
    found
}
