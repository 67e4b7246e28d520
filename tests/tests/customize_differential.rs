//! `guestwright customize` against virt-customize 1.48, without libguestfs: every command line
//! of `tests/customize-diff/cases.txt` runs on a fresh copy of the same Debian-like image, and
//! what changed in the image (path, kind, mode, owner, size, SHA-256 or link target; read back
//! with debugfs, never through the appliance) and the exit status must equal what
//! virt-customize did, as `scripts/record-customize` recorded it in
//! `tests/customize-diff/expected/NAME`. Password hashes are compared by their method (`$6$`)
//! only, machine-id and random seeds not at all: they are random by design.
//!
//! `CUSTOMIZE_DIFF_CASES=a,b` runs only the cases whose names contain these.

mod customize_images;

use customize_images::{debian_entries, image, Entry};
use guestwright_tests::guestwright;
use guestwright_tests::tree::{ext4_tree, Node, Tree};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

/// Files random by design in both tools' runs.
const RANDOM: &[&str] = &[
    "/etc/machine-id",
    "/var/lib/dbus/machine-id",
    "/var/lib/systemd/random-seed",
    "/var/lib/urandom/random-seed",
];

/// Files whose second field is a password hash.
const HASHED: &[&str] = &["/etc/shadow", "/etc/gshadow"];

/// How long one tool may take on one case.
const DEADLINE: Duration = Duration::from_secs(600);

struct Case {
    name: String,
    args: Vec<String>,
    /// A deliberate difference in guestwright's exit status.
    guestwright_status: Option<i32>,
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("customize-diff")
}

fn cases() -> Vec<Case> {
    let text = std::fs::read_to_string(root().join("cases.txt")).unwrap();
    let filter: Vec<String> = std::env::var("CUSTOMIZE_DIFF_CASES")
        .map(|v| v.split(',').map(str::to_owned).collect())
        .unwrap_or_default();
    let mut out: Vec<Case> = Vec::new();
    for line in text.lines() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        if let Some(name) = line.strip_prefix("== ") {
            out.push(Case {
                name: name.trim().to_owned(),
                args: Vec::new(),
                guestwright_status: None,
            });
        } else if let Some(s) = line.strip_prefix("guestwright-status: ") {
            out.last_mut().unwrap().guestwright_status = Some(s.trim().parse().unwrap());
        } else {
            out.last_mut().unwrap().args.push(line.to_owned());
        }
    }
    out.retain(|c| filter.is_empty() || filter.iter().any(|f| c.name.contains(f.as_str())));
    out
}

/// The image every case starts from: the Debian-like guest of the customize tests, plus a
/// file without a final newline and one with CRLF line endings for --append-line.
fn base_image(dir: &Path) -> PathBuf {
    let mut entries = debian_entries();
    entries.push(Entry::File("/etc/nonl.txt", b"first", 0o644, 0, 0));
    entries.push(Entry::File("/etc/crlf.txt", b"a\r\nb\r\n", 0o644, 0, 0));
    entries.push(Entry::Dir("/srv", 0o755, 0, 0));
    image(dir, "base.raw", &entries)
}

/// Host files the cases name (@HOST@): a small tree for --copy-in and a command file.
fn host_fixtures(dir: &Path) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let host = dir.join("host");
    let payload = host.join("payload");
    std::fs::create_dir_all(payload.join("sub")).unwrap();
    std::fs::write(payload.join("a.txt"), "alpha\n").unwrap();
    std::fs::set_permissions(payload.join("a.txt"), PermissionsExt::from_mode(0o640)).unwrap();
    std::fs::write(payload.join("sub/run.sh"), "#!/bin/sh\necho hi\n").unwrap();
    std::fs::set_permissions(payload.join("sub/run.sh"), PermissionsExt::from_mode(0o755)).unwrap();
    std::os::unix::fs::symlink("a.txt", payload.join("link")).unwrap();
    std::fs::set_permissions(&payload, PermissionsExt::from_mode(0o750)).unwrap();
    std::fs::write(
        host.join("script.sh"),
        "echo from-script > /root/script.txt\necho script-out\n",
    )
    .unwrap();
    // A subscription-manager that records its arguments, and a disk for --attach whose first
    // line the guest's commands look for.
    std::fs::write(
        host.join("subscription-manager"),
        "#!/bin/sh\nfor a in \"$@\"; do printf '[%s]' \"$a\"; done >> /root/sm.log\necho >> /root/sm.log\n",
    )
    .unwrap();
    std::fs::set_permissions(
        host.join("subscription-manager"),
        PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let mut attach = b"guestwright-attached\n".to_vec();
    attach.resize(1 << 20, 0);
    std::fs::write(host.join("attach.img"), attach).unwrap();
    std::fs::write(
        host.join("commands"),
        "# comments and blank lines are skipped\n\
         \n\
         touch /etc/from-commands\n\
         chmod 0600:/etc/from-commands\n\
         write /etc/motd:line 1\\\n\
         line 2\n\
         append-line /etc/fstab:# added\n",
    )
    .unwrap();
    host
}

/// Runs a command with a deadline, killing it when it passes.
fn run_with_deadline(mut cmd: Command) -> Output {
    use std::io::Read;
    let mut child = cmd
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let t_out = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = out.read_to_end(&mut v);
        v
    });
    let t_err = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = err.read_to_end(&mut v);
        v
    });
    let start = std::time::Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if start.elapsed() > DEADLINE {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{cmd:?} did not finish within {DEADLINE:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    Output {
        status,
        stdout: t_out.join().unwrap(),
        stderr: t_err.join().unwrap(),
    }
}

fn hex(d: &[u8]) -> String {
    d.iter().map(|b| format!("{b:02x}")).collect()
}

/// The content compared for a file: hashes in shadow files reduced to their method.
fn comparable(path: &str, content: &[u8]) -> Vec<u8> {
    if !HASHED.contains(&path) {
        return content.to_vec();
    }
    let mut out = Vec::new();
    for line in content.split_inclusive(|&b| b == b'\n') {
        let mut f: Vec<Vec<u8>> = line.split(|&b| b == b':').map(<[u8]>::to_vec).collect();
        if f.len() > 2 && f[1].contains(&b'$') {
            let lock = f[1].starts_with(b"!");
            let id = f[1]
                .split(|&b| b == b'$')
                .nth(1)
                .unwrap_or_default()
                .to_vec();
            f[1] = [&b"!"[..lock as usize], b"$", &id, b"$<salt>$<hash>"].concat();
            // The last-change day is today's date.
            f[2] = b"<day>".to_vec();
        }
        out.extend_from_slice(&f.join(&b':'));
    }
    out
}

fn describe(path: &str, n: &Node) -> String {
    match n.kind {
        'l' => format!(
            "l 0 {} {} -> {}",
            n.uid,
            n.gid,
            String::from_utf8_lossy(&n.content)
        ),
        'f' => {
            let c = comparable(path, &n.content);
            format!(
                "f {:04o} {} {} {} {}",
                n.mode,
                n.uid,
                n.gid,
                c.len(),
                hex(&Sha256::digest(&c))
            )
        }
        k => format!("{k} {:04o} {} {}", n.mode, n.uid, n.gid),
    }
}

/// What changed between two trees, one line per path: `+ PATH ENTRY` for a new or changed
/// entry, `- PATH` for a removed one, sorted by path.
fn manifest(before: &Tree, after: &Tree) -> String {
    let mut out = String::new();
    let mut paths: Vec<&String> = before.keys().chain(after.keys()).collect();
    paths.sort();
    paths.dedup();
    for p in paths {
        if RANDOM.contains(&p.as_str()) {
            continue;
        }
        match (before.get(p), after.get(p)) {
            (Some(b), Some(a)) if describe(p, b) == describe(p, a) => {}
            (_, Some(a)) => out.push_str(&format!("+ {p} {}\n", describe(p, a))),
            (Some(_), None) => out.push_str(&format!("- {p}\n")),
            (None, None) => unreachable!(),
        }
    }
    out
}

/// The recorded result: `status N` and, on success, the manifest.
fn result(status: i32, before: &Tree, img: &Path) -> String {
    match status {
        0 => format!("status 0\n{}", manifest(before, &ext4_tree(img))),
        s => format!("status {s}\n"),
    }
}

fn args(case: &Case, host: &Path) -> Vec<String> {
    case.args
        .iter()
        .map(|a| a.replace("@HOST@", &host.display().to_string()))
        .collect()
}

fn run_guestwright(case: &Case, host: &Path, img: &Path) -> Output {
    let mut cmd = guestwright();
    cmd.arg("customize")
        .arg("-a")
        .arg(img)
        .args(args(case, host));
    run_with_deadline(cmd)
}

fn run_virt_customize(case: &Case, host: &Path, img: &Path) -> Output {
    let mut cmd = Command::new("virt-customize");
    cmd.env("LIBGUESTFS_BACKEND_SETTINGS", "force_tcg")
        .arg("--format=raw")
        .arg("-a")
        .arg(img)
        .args(args(case, host));
    run_with_deadline(cmd)
}

struct Fixture {
    _dir: tempfile::TempDir,
    base: PathBuf,
    before: Tree,
    host: PathBuf,
    work: PathBuf,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let base = base_image(dir.path());
    let before = ext4_tree(&base);
    let host = host_fixtures(dir.path());
    let work = dir.path().join("work.raw");
    Fixture {
        _dir: dir,
        base,
        before,
        host,
        work,
    }
}

fn fresh(f: &Fixture) -> &Path {
    std::fs::copy(&f.base, &f.work).unwrap();
    &f.work
}

fn status_of(o: &Output) -> i32 {
    o.status.code().unwrap_or(-1)
}

#[test]
fn guestwright_matches_virt_customize() {
    let f = fixture();
    let mut failures = Vec::new();
    let cases = cases();
    assert!(!cases.is_empty(), "no case selected");
    for case in &cases {
        let path = root().join("expected").join(&case.name);
        let expected = std::fs::read_to_string(&path).unwrap_or_else(|e| {
            panic!(
                "{}: {e}: record it with CUSTOMIZE_DIFF_CASES={} scripts/record-customize",
                path.display(),
                case.name
            )
        });
        let out = run_guestwright(case, &f.host, fresh(&f));
        let status = status_of(&out);
        let shown = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        // Neither a run nor a dry run prints a password hash.
        for id in ["$1$", "$5$", "$6$", "$y$"] {
            if shown.contains(id) {
                failures.push(format!(
                    "{}: the output shows a {id} hash:\n{shown}",
                    case.name
                ));
            }
        }
        // Compare the image only when virt-customize succeeded (after an error it leaves
        // whatever it had done unflushed).
        let mut want = expected.clone();
        if let Some(s) = case.guestwright_status {
            want = want.replacen(
                expected.lines().next().unwrap_or_default(),
                &format!("status {s}"),
                1,
            );
        }
        let got = result(status, &f.before, &f.work);
        if got != want {
            failures.push(format!(
                "{}: guestwright differs from virt-customize 1.48\n--- virt-customize\n{want}--- guestwright\n{got}--- guestwright's output\n{shown}",
                case.name
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases differ:\n\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

/// Records `tests/customize-diff/expected/` with virt-customize (run by
/// `scripts/record-customize`), then says how guestwright compares.
#[test]
#[ignore = "needs libguestfs 1.48: run scripts/record-customize"]
fn record() {
    if std::env::var_os("CUSTOMIZE_DIFF_RECORD").is_none() {
        return;
    }
    let f = fixture();
    let dir = root().join("expected");
    std::fs::create_dir_all(&dir).unwrap();
    for case in cases() {
        let out = run_virt_customize(&case, &f.host, fresh(&f));
        let status = status_of(&out);
        let recorded = result(status, &f.before, &f.work);
        std::fs::write(dir.join(&case.name), &recorded).unwrap();
        eprintln!(
            "== {} (virt-customize exit {status})\n{}",
            case.name,
            String::from_utf8_lossy(&out.stderr)
                .lines()
                .filter(|l| !l.starts_with('['))
                .collect::<Vec<_>>()
                .join("\n")
        );
        let gw = run_guestwright(&case, &f.host, fresh(&f));
        let mut want = recorded.clone();
        if let Some(s) = case.guestwright_status {
            want = want.replacen(&format!("status {status}"), &format!("status {s}"), 1);
        }
        let got = result(status_of(&gw), &f.before, &f.work);
        match got == want {
            true => eprintln!("   guestwright: same"),
            false => eprintln!(
                "   guestwright DIFFERS:\n--- virt-customize\n{want}--- guestwright\n{got}{}",
                String::from_utf8_lossy(&gw.stderr)
            ),
        }
    }
}
