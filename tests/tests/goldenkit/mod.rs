//! The golden-output harness: libguestfs 1.48 is the oracle. A case (in
//! `tests/golden/cases/*.txt`) is a command line, a script on standard input and an image;
//! `scripts/record-golden` runs every case with the real guestfish / virt-* and stores what
//! they printed and their exit status in `tests/golden/expected/CASE/`; `golden.rs` runs the
//! same cases with guestwright and compares the bytes, after the one filter [`normalize`].
//!
//! The case format, one block per case:
//!
//! ```text
//! == NAME                      (letters, digits, '-' and '_')
//! image: gpt|bare|mbr|none     (copied to disk.img in the case's directory)
//! env: EDITOR=sed -i s/a/b/    (optional, repeatable: set for every command of the case)
//! run: guestfish --ro -a disk.img -m /dev/sda1
//! then: virt-cat -a disk.img /etc/hostname   (optional, repeatable: runs after `run:`)
//! stdin:                       (optional; every following line up to the next '==')
//! cat /etc/hostname
//! ```
//!
//! A `then:` line runs once `run:` has ended, in the same directory, with no input: a
//! reference tool (run as the case's runner runs tools) to look at what a tool that writes
//! did to the image, or one of [`HOST_COMMANDS`] (run as it is by both runners) to look at
//! what it wrote on the host. Each `then:` adds a line `--- then: COMMAND` and its output to
//! the case's standard output and error, and its exit status to the case's (`0 0`).
//!
//! Lines before `stdin:` that start with '#' are comments. `run:` is split on blanks, with
//! '...' quoting. Each case runs in a fresh directory of its own with its own copy of the
//! image, under a deadline, with `LC_ALL=C`.

#![allow(dead_code)]

pub mod images;

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// `tests/golden` in the source tree.
pub fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("golden")
}

/// One case.
#[derive(Debug, Clone)]
pub struct Case {
    /// Its name, also the folder of its expected output.
    pub name: String,
    /// The image copied to `disk.img`, or `None`.
    pub image: Option<String>,
    /// The command line, argv[0] first (the reference tool's name).
    pub argv: Vec<String>,
    /// Command lines run after `argv`, in order (`then:`).
    pub then: Vec<Vec<String>>,
    /// Environment variables set for every command of the case (`env:`), in order.
    pub env: Vec<(String, String)>,
    /// Standard input.
    pub stdin: String,
    /// Where it is declared (`file:line`), for messages.
    pub origin: String,
}

/// Every case of `tests/golden/cases/*.txt`, in file and then declaration order.
pub fn load_cases() -> Vec<Case> {
    let dir = golden_dir().join("cases");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "txt"))
        .collect();
    files.sort();
    let mut cases: Vec<Case> = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        let fname = f.file_name().unwrap().to_string_lossy().into_owned();
        cases.extend(parse_cases(&fname, &text));
    }
    let mut seen = std::collections::HashSet::new();
    for c in &cases {
        assert!(
            seen.insert(c.name.clone()),
            "{}: case {} is declared twice",
            c.origin,
            c.name
        );
    }
    cases
}

/// Parses one case file (see the module documentation for the format).
pub fn parse_cases(fname: &str, text: &str) -> Vec<Case> {
    let mut out = Vec::new();
    let mut cur: Option<(Case, bool)> = None;
    for (n, line) in text.lines().enumerate() {
        let origin = format!("{fname}:{}", n + 1);
        if let Some(name) = line.strip_prefix("== ") {
            if let Some((c, _)) = cur.take() {
                out.push(finish(c));
            }
            let name = name.trim().to_string();
            assert!(
                !name.is_empty()
                    && name
                        .chars()
                        .all(|ch| ch.is_ascii_alphanumeric() || ch == '-' || ch == '_'),
                "{origin}: {name:?} is not a case name (letters, digits, '-', '_')"
            );
            cur = Some((
                Case {
                    name,
                    image: None,
                    argv: Vec::new(),
                    then: Vec::new(),
                    env: Vec::new(),
                    stdin: String::new(),
                    origin,
                },
                false,
            ));
            continue;
        }
        let Some((case, in_stdin)) = cur.as_mut() else {
            assert!(
                line.trim().is_empty() || line.starts_with('#'),
                "{origin}: text before the first '== NAME' line"
            );
            continue;
        };
        if *in_stdin {
            case.stdin.push_str(line);
            case.stdin.push('\n');
        } else if line.trim().is_empty() || line.starts_with('#') {
        } else if let Some(v) = line.strip_prefix("image:") {
            let v = v.trim();
            if v != "none" {
                assert!(images::NAMES.contains(&v), "{origin}: unknown image {v:?}");
                case.image = Some(v.to_string());
            }
        } else if let Some(v) = line.strip_prefix("env:") {
            let (k, v) = v
                .trim()
                .split_once('=')
                .unwrap_or_else(|| panic!("{origin}: env: wants NAME=VALUE"));
            case.env.push((k.to_string(), v.to_string()));
        } else if let Some(v) = line.strip_prefix("run:") {
            case.argv = split_words(v).unwrap_or_else(|e| panic!("{origin}: {e}"));
        } else if let Some(v) = line.strip_prefix("then:") {
            let argv = split_words(v).unwrap_or_else(|e| panic!("{origin}: {e}"));
            assert!(
                argv.first().is_some_and(|t| t.starts_with("virt-")
                    || t.starts_with("guest")
                    || HOST_COMMANDS.contains(&t.as_str())),
                "{origin}: then: runs a reference tool (guestfish, virt-*), or one of \
                 {HOST_COMMANDS:?}"
            );
            case.then.push(argv);
        } else if line.trim() == "stdin:" {
            *in_stdin = true;
        } else {
            panic!("{origin}: expected image:, env:, run:, then: or stdin:, found {line:?}");
        }
    }
    if let Some((c, _)) = cur.take() {
        out.push(finish(c));
    }
    out
}

fn finish(mut c: Case) -> Case {
    assert!(
        !c.argv.is_empty(),
        "{}: case {} has no run: line",
        c.origin,
        c.name
    );
    // Blank lines that only separate blocks are not part of the script.
    while c.stdin.ends_with("\n\n") {
        c.stdin.pop();
    }
    c
}

/// Splits on blanks; '...' keeps blanks inside a word.
fn split_words(s: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut any = false;
    let mut quoted = false;
    for ch in s.chars() {
        match ch {
            '\'' => {
                quoted = !quoted;
                any = true;
            }
            c if c.is_whitespace() && !quoted => {
                if any {
                    words.push(std::mem::take(&mut cur));
                    any = false;
                }
            }
            c => {
                cur.push(c);
                any = true;
            }
        }
    }
    if quoted {
        return Err(format!("unbalanced quote in {s:?}"));
    }
    if any {
        words.push(cur);
    }
    Ok(words)
}

/// Which program runs the case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Runner {
    /// The reference: argv as written (guestfish, virt-cat, ...), libguestfs under TCG.
    Reference,
    /// guestwright started under the tool's name (a symbolic link named `guestfish`,
    /// `virt-cat`, ... as `guestwright install-links` makes), which runs `guestwright shell`,
    /// `guestwright cat`, ...; the rest of argv unchanged.
    Guestwright,
}

/// What a case printed and how it ended, after [`normalize`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// Standard output.
    pub stdout: Vec<u8>,
    /// Standard error.
    pub stderr: Vec<u8>,
    /// `0`, `1`, ... or `signal N`, or `timeout`.
    pub status: String,
}

/// Host programs a case may run (the same program for both runners): they make a tool's
/// input, or show what a tool wrote on the host.
pub const HOST_COMMANDS: &[&str] = &["cp", "mkdir", "ls", "cat", "tar", "sha256sum", "find", "od"];

/// Runs `case` with `runner` in a fresh directory, killing it after `limit`.
pub fn run_case(case: &Case, runner: Runner, limit: Duration) -> Outcome {
    let dir = tempfile::Builder::new()
        .prefix("golden-case-")
        .tempdir()
        .unwrap();
    // Canonical, so the filter recognises it however a tool prints it.
    let work = dir.path().canonicalize().unwrap();
    let links = tempfile::Builder::new()
        .prefix("golden-bin-")
        .tempdir()
        .unwrap();
    if let Some(img) = &case.image {
        images::copy_to(img, &work.join("disk.img"));
    }
    let run = |argv: &[String], input: &[u8]| {
        let (mut o, e, st) = run_within(
            &mut command(case, argv, runner, &work, links.path()),
            input,
            limit,
        );
        if argv[0] == "virt-diff" {
            o = without_dev_changes(&o);
        }
        (o, e, st)
    };
    let (mut stdout, mut stderr, mut status) = run(&case.argv, case.stdin.as_bytes());
    for argv in &case.then {
        let (o, e, st) = run(argv, b"");
        let head = format!("--- then: {}\n", argv.join(" "));
        stdout.extend_from_slice(head.as_bytes());
        stdout.extend_from_slice(&o);
        stderr.extend_from_slice(head.as_bytes());
        stderr.extend_from_slice(&e);
        status = format!("{status} {st}");
    }
    Outcome {
        stdout: normalize(&stdout, &work),
        stderr: normalize(&stderr, &work),
        status,
    }
}

/// virt-diff's output without the changes of `st_dev` alone: the reference runs each guest
/// in an appliance of its own, where the guest's disk is /dev/sda (8:0) or /dev/sdb (8:16)
/// as the SCSI probe happens to order it, so in some runs it reports every file as changed
/// in `st_dev`. A `-` line, `+` line and `# changed: st_dev` line go; `st_dev` leaves a
/// longer `# changed:` list.
pub fn without_dev_changes(out: &[u8]) -> Vec<u8> {
    let mut kept: Vec<Vec<u8>> = Vec::new();
    for line in out.split_inclusive(|&b| b == b'\n') {
        // `# changed: a b` or, with --csv, `#,changed:,a,b`.
        let (rest, sep) = if let Some(r) = line.strip_prefix(b"# changed:") {
            (r, " ")
        } else if let Some(r) = line.strip_prefix(b"#,changed:") {
            (r, ",")
        } else {
            kept.push(line.to_vec());
            continue;
        };
        let rest = String::from_utf8_lossy(rest);
        let fields: Vec<&str> = rest
            .trim_end_matches('\n')
            .split(sep)
            .filter(|f| !f.is_empty() && *f != "st_dev")
            .collect();
        if fields.is_empty() && kept.len() >= 2 {
            kept.truncate(kept.len() - 2);
            continue;
        }
        let head = if sep == " " {
            "# changed:"
        } else {
            "#,changed:"
        };
        kept.push(format!("{head}{sep}{}\n", fields.join(sep)).into_bytes());
    }
    kept.concat()
}

/// The command for `argv` in the case's directory `work`: a host program as it is, a
/// reference tool as `runner` runs it (guestwright under the tool's name, from a link in
/// `links`).
fn command(case: &Case, argv: &[String], runner: Runner, work: &Path, links: &Path) -> Command {
    let host = HOST_COMMANDS.contains(&argv[0].as_str());
    let mut cmd = match runner {
        _ if host => Command::new(&argv[0]),
        Runner::Reference => {
            let mut c = Command::new(&argv[0]);
            c.env("LIBGUESTFS_BACKEND_SETTINGS", "force_tcg");
            c
        }
        Runner::Guestwright => {
            // Run under the tool's own name, from the links `guestwright install-links`
            // makes (its own table of the names it answers to): the name picks the
            // subcommand.
            if std::fs::read_dir(links).unwrap().next().is_none() {
                let out = Command::new(guestwright_tests::guestwright_bin())
                    .arg("install-links")
                    .arg(links)
                    .output()
                    .expect("guestwright install-links");
                assert!(
                    out.status.success(),
                    "guestwright install-links: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
            }
            let link = links.join(&argv[0]);
            assert!(
                link.exists(),
                "{}: guestwright does not answer to the name {} (install-links makes no such \
                 link)",
                case.origin,
                argv[0]
            );
            let mut c = Command::new(&link);
            if std::env::var_os("GUESTWRIGHT_ACCEL").is_none() {
                c.env("GUESTWRIGHT_ACCEL", "tcg");
            }
            c
        }
    };
    cmd.args(&argv[1..])
        .current_dir(work)
        .env("LC_ALL", "C")
        .env("TZ", "UTC")
        .env_remove("LANG")
        .env_remove("LANGUAGE")
        .envs(case.env.iter().map(|(k, v)| (k, v)));
    cmd
}

/// Runs `cmd` with `input` on its standard input; kills its process group after `limit`.
fn run_within(cmd: &mut Command, input: &[u8], limit: Duration) -> (Vec<u8>, Vec<u8>, String) {
    use std::os::unix::process::{CommandExt, ExitStatusExt};
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    let shown = format!("{cmd:?}");
    let mut child = cmd.spawn().unwrap_or_else(|e| {
        panic!("cannot run {shown}: {e} (scripts/setup --bench installs libguestfs-tools)")
    });
    let mut sin = child.stdin.take().unwrap();
    let input = input.to_vec();
    // A tool that exits before reading its script closes the pipe: not an error here.
    let feeder = std::thread::spawn(move || {
        let _ = sin.write_all(&input);
    });
    let collect = |mut r: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut v = Vec::new();
            let _ = r.read_to_end(&mut v);
            v
        })
    };
    let out = collect(Box::new(child.stdout.take().unwrap()));
    let err = collect(Box::new(child.stderr.take().unwrap()));
    let started = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break match (s.code(), s.signal()) {
                (Some(c), _) => c.to_string(),
                (None, Some(sig)) => format!("signal {sig}"),
                _ => "unknown".to_string(),
            };
        }
        if started.elapsed() > limit {
            let _ = Command::new("kill")
                .args(["-KILL", "--", &format!("-{}", child.id())])
                .stderr(Stdio::null())
                .status();
            let _ = child.wait();
            break "timeout".to_string();
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let _ = feeder.join();
    (out.join().unwrap(), err.join().unwrap(), status)
}

/// THE filter, used when recording and when comparing; it normalizes only what must differ
/// between two runs of the same case:
///
/// 1. the case's temporary directory, wherever a tool prints it, becomes `<WORKDIR>`;
/// 2. a UUID (8-4-4-4-12 hex digits) that is not one the images are built with
///    ([`images::FIXED_UUIDS`], which include the GPT partition types they use) was generated
///    during the run (mkfs, part-init), and becomes `<UUID>`;
/// 3. in a `KEY: VALUE` line whose key ends in `time` or `time_sec` (stat, statns,
///    lstatns, ...), a number of seconds later than a day after the images' fixed
///    time [`images::EPOCH`] is the clock of the run and becomes `<NOW>`; under a key
///    ending in `time_nsec`, any value but 0 becomes `<NOW>` (the images' times have none);
/// 4. in a `KEY: VALUE` line whose key is `dev` or `st_dev`, the number becomes `<DEV>`:
///    the reference's appliance makes the guest's disk /dev/sda or /dev/sdb as its SCSI
///    probe happens to order them (a file on the first partition is 8:1 in one run, 8:17
///    in the next).
///
/// 5. a line that starts with the elapsed seconds of virt-customize's and virt-sysprep's
///    progress messages (`[   0.0] `, `[  12.3] `) starts with `[<ELAPSED>] ` instead.
/// 6. libguestfs's call trace (-x, `set-trace`) loses the calls libguestfs makes itself
///    inside another call ([`without_internal_calls`]): `add_drive` of a read-only drive
///    creates its overlay (`get_tmpdir`, `disk_create`, `disk_format`), `launch` asks
///    `max_disks`, `get_cachedir`, `get_sockdir`, `get_backend_setting`, `cat` reads
///    through `read_file` and `download` into a temporary file of a random name, `stat`
///    calls `statns`, `shutdown` and `close` call `internal_autosync`. They belong to how
///    libguestfs is built, not to what a script asked for; guestwright makes no such calls.
///
/// (virt-diff's output also loses what [`without_dev_changes`] drops, for that reason.)
///
/// Everything else, appliance messages included, is compared byte for byte: the
/// reference's appliance prints nothing on standard output or error unless asked (-v, -x).
pub fn normalize(bytes: &[u8], workdir: &Path) -> Vec<u8> {
    let bytes = without_internal_calls(bytes);
    let wd = workdir.to_string_lossy().into_owned();
    let mut out = Vec::with_capacity(bytes.len());
    for (i, line) in bytes.split(|&b| b == b'\n').enumerate() {
        if i > 0 {
            out.push(b'\n');
        }
        match std::str::from_utf8(line) {
            Ok(s) => {
                let s = s.replace(&wd, "<WORKDIR>");
                let s = replace_uuids(&s);
                let s = replace_elapsed(&s);
                out.extend_from_slice(replace_now(&s).as_bytes());
            }
            Err(_) => out.extend_from_slice(line),
        }
    }
    out
}

/// The trace without the calls made inside another call: a `libguestfs: trace: NAME ARGS`
/// line opens a call and `libguestfs: trace: NAME = RESULT` closes it; a trace line while a
/// call is open is one libguestfs made itself, and goes. `close` traces no result, so what
/// is traced after it (its `internal_autosync`) goes too. Other lines (error messages)
/// stay wherever they are.
pub fn without_internal_calls(bytes: &[u8]) -> Vec<u8> {
    const TRACE: &[u8] = b"libguestfs: trace: ";
    let mut open: Vec<Vec<u8>> = Vec::new();
    let mut out = Vec::with_capacity(bytes.len());
    for line in bytes.split_inclusive(|&b| b == b'\n') {
        let Some(rest) = line.strip_prefix(TRACE) else {
            out.extend_from_slice(line);
            continue;
        };
        let rest = rest.strip_suffix(b"\n").unwrap_or(rest);
        let end = rest.iter().position(|&b| b == b' ').unwrap_or(rest.len());
        let name = rest[..end].to_vec();
        if rest[end..].starts_with(b" = ") {
            if open.last() == Some(&name) {
                open.pop();
            }
            // The outermost call's own result line stays.
            if open.is_empty() {
                out.extend_from_slice(line);
            }
            continue;
        }
        if open.is_empty() {
            out.extend_from_slice(line);
        }
        open.push(name);
    }
    out
}

fn replace_uuids(s: &str) -> String {
    const GROUPS: [usize; 5] = [8, 4, 4, 4, 12];
    let b = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    let is_hex = |c: u8| c.is_ascii_hexdigit();
    while i < b.len() {
        let mut j = i;
        let mut ok = i == 0 || !b[i - 1].is_ascii_alphanumeric();
        for (g, len) in GROUPS.iter().enumerate() {
            if !ok {
                break;
            }
            if g > 0 {
                ok = j < b.len() && b[j] == b'-';
                j += 1;
            }
            ok = ok && j + len <= b.len() && b[j..j + len].iter().all(|&c| is_hex(c));
            j += len;
        }
        ok = ok && (j == b.len() || !b[j].is_ascii_alphanumeric());
        if ok {
            let uuid = &s[i..j];
            if images::FIXED_UUIDS
                .iter()
                .any(|f| f.eq_ignore_ascii_case(uuid))
            {
                out.push_str(uuid);
            } else {
                out.push_str("<UUID>");
            }
            i = j;
        } else {
            let ch = s[i..].chars().next().unwrap();
            out.push(ch);
            i += ch.len_utf8();
        }
    }
    out
}

/// `[  12.3] message` (a right-aligned `%6.1f` of seconds) becomes `[<ELAPSED>] message`.
fn replace_elapsed(line: &str) -> String {
    let stamp = line
        .strip_prefix('[')
        .and_then(|r| r.split_once("] "))
        .filter(|(t, _)| {
            t.len() >= 6
                && t.trim_start().split_once('.').is_some_and(|(a, b)| {
                    !a.is_empty()
                        && b.len() == 1
                        && a.bytes().chain(b.bytes()).all(|c| c.is_ascii_digit())
                })
        });
    match stamp {
        Some((_, rest)) => format!("[<ELAPSED>] {rest}"),
        None => line.to_string(),
    }
}

fn replace_now(line: &str) -> String {
    let Some((key, value)) = line.split_once(": ") else {
        return line.to_string();
    };
    let k = key.trim();
    let v = value.trim();
    let Ok(n) = v.parse::<i64>() else {
        return line.to_string();
    };
    if k == "dev" || k == "st_dev" {
        return format!("{key}: <DEV>");
    }
    let now = if k.ends_with("time_nsec") {
        n != 0
    } else if k.ends_with("time") || k.ends_with("time_sec") {
        n > (images::EPOCH + 86_400) as i64
    } else {
        false
    };
    if now {
        format!("{key}: <NOW>")
    } else {
        line.to_string()
    }
}

/// The recorded outcome of `case`, or `None` when it was never recorded.
pub fn load_expected(case: &str) -> Option<Outcome> {
    let dir = golden_dir().join("expected").join(case);
    let read = |f: &str| std::fs::read(dir.join(f)).ok();
    Some(Outcome {
        stdout: read("stdout")?,
        stderr: read("stderr")?,
        status: String::from_utf8(read("status")?)
            .ok()?
            .trim_end()
            .to_string(),
    })
}

/// Stores `outcome` as the expected output of `case`.
pub fn store_expected(case: &Case, outcome: &Outcome) {
    store_outcome(&golden_dir().join("expected").join(&case.name), outcome);
}

/// Writes `outcome` as `dir/{stdout,stderr,status}`.
pub fn store_outcome(dir: &Path, outcome: &Outcome) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join("stdout"), &outcome.stdout).unwrap();
    std::fs::write(dir.join("stderr"), &outcome.stderr).unwrap();
    std::fs::write(dir.join("status"), format!("{}\n", outcome.status)).unwrap();
}

/// The expected failures: `NAME  reason` per line of `tests/golden/xfail.txt`.
pub fn load_xfail() -> Vec<(String, String)> {
    let text = std::fs::read_to_string(golden_dir().join("xfail.txt")).unwrap_or_default();
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (name, reason) = l.split_once(char::is_whitespace).unwrap_or((l, ""));
            let reason = reason.trim().to_string();
            assert!(!reason.is_empty(), "xfail.txt: {name} has no reason");
            (name.to_string(), reason)
        })
        .collect()
}

/// The cases selected by `GOLDEN_CASES` (comma-separated substrings of names), or all.
pub fn selected(cases: Vec<Case>) -> Vec<Case> {
    match std::env::var("GOLDEN_CASES") {
        Ok(sel) if !sel.is_empty() => {
            let pats: Vec<&str> = sel.split(',').collect();
            cases
                .into_iter()
                .filter(|c| pats.iter().any(|p| c.name.contains(p)))
                .collect()
        }
        _ => cases,
    }
}

/// Runs `f` on every case, `GOLDEN_JOBS` (default 2) at a time; results in case order.
pub fn run_all<T: Send>(cases: &[Case], f: impl Fn(&Case) -> T + Sync) -> Vec<T> {
    let jobs: usize = std::env::var("GOLDEN_JOBS")
        .ok()
        .and_then(|j| j.parse().ok())
        .unwrap_or(2)
        .max(1);
    let next = AtomicUsize::new(0);
    let results: Vec<guestwright_sync::Mutex<Option<T>>> = cases
        .iter()
        .map(|_| guestwright_sync::Mutex::new(None))
        .collect();
    std::thread::scope(|s| {
        for _ in 0..jobs {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(c) = cases.get(i) else { break };
                let r = f(c);
                *results[i].lock() = Some(r);
            });
        }
    });
    results
        .into_iter()
        .map(|m| m.into_inner().expect("every case ran"))
        .collect()
}

/// A line diff of `want` (reference, '-') against `got` (guestwright, '+'), at most
/// `max_lines` lines; non-UTF-8 bytes are shown escaped.
pub fn diff(want: &[u8], got: &[u8], max_lines: usize) -> String {
    let show = |b: &[u8]| b.escape_ascii().to_string();
    let a: Vec<String> = split_lines(want).into_iter().map(show).collect();
    let b: Vec<String> = split_lines(got).into_iter().map(show).collect();
    let (n, m) = (a.len(), b.len());
    if n * m > 4_000_000 {
        return format!("  (too long to diff: {n} lines against {m})\n");
    }
    // Longest common subsequence, then a walk that prints the edits.
    let mut l = vec![vec![0u32; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            l[i][j] = if a[i] == b[j] {
                l[i + 1][j + 1] + 1
            } else {
                l[i + 1][j].max(l[i][j + 1])
            };
        }
    }
    let mut out = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < n || j < m {
        if i < n && j < m && a[i] == b[j] {
            out.push(format!("   {}", a[i]));
            i += 1;
            j += 1;
        } else if j < m && (i == n || l[i][j + 1] >= l[i + 1][j]) {
            out.push(format!("  +{}", b[j]));
            j += 1;
        } else {
            out.push(format!("  -{}", a[i]));
            i += 1;
        }
    }
    // Only the changes and one line of context around them.
    let changed: Vec<bool> = out.iter().map(|s| !s.starts_with("   ")).collect();
    let keep = |k: usize| {
        changed[k.saturating_sub(1)..(k + 2).min(out.len())]
            .iter()
            .any(|&c| c)
    };
    let mut text = String::new();
    let mut shown = 0;
    for (k, line) in out.iter().enumerate() {
        if keep(k) {
            if shown == max_lines {
                text.push_str("  ...\n");
                break;
            }
            text.push_str(line);
            text.push('\n');
            shown += 1;
        }
    }
    text
}

/// Lines, with a missing final newline shown as its own marker line.
fn split_lines(b: &[u8]) -> Vec<&[u8]> {
    if b.is_empty() {
        return Vec::new();
    }
    let mut v: Vec<&[u8]> = b.split(|&c| c == b'\n').collect();
    if b.ends_with(b"\n") {
        v.pop();
    } else {
        v.push(b"\\ (no newline at the end)");
    }
    v
}
