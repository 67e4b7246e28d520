//! `guestwright sysprep`'s command line against virt-sysprep 1.48's, without libguestfs:
//! `--list-operations` prints byte for byte what virt-sysprep printed
//! (`tests/sysprep/list-operations.txt`), and every command line of
//! `tests/sysprep/error-cases.txt` is refused with virt-sysprep's message
//! (`tests/sysprep/errors.txt`), before any appliance starts. Both files are recorded by
//! `scripts/record-sysprep`. guestwright exits 2 (bad usage) where virt-sysprep exits 1.

use guestwright_tests::guestwright;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("sysprep")
}

/// Runs guestwright with a deadline (these never start an appliance: 30 s is plenty).
fn run(args: &[&str]) -> std::process::Output {
    let mut child = guestwright()
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            panic!("guestwright {args:?} did not finish within 30 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

#[test]
fn list_operations_is_virt_sysprep_s() {
    let want = std::fs::read(dir().join("list-operations.txt")).unwrap();
    let out = run(&["sysprep", "--list-operations"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&want)
    );
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn bad_command_lines_are_refused_as_virt_sysprep_refuses_them() {
    let recorded = std::fs::read_to_string(dir().join("errors.txt")).unwrap();
    let mut failures = Vec::new();
    let mut n = 0;
    for line in recorded.lines() {
        let mut f = line.splitn(3, '\t');
        let (args, status, msg) = (f.next().unwrap(), f.next().unwrap(), f.next().unwrap());
        assert_eq!(status, "1", "{line}: virt-sysprep exits 1 for these");
        let want = msg
            .strip_prefix("virt-sysprep: error: ")
            .unwrap_or_else(|| panic!("{line}: not an error line"));
        let mut argv = vec!["sysprep", "-a", "/nonexistent.img"];
        argv.extend(args.split(' '));
        let out = run(&argv);
        let err = String::from_utf8_lossy(&out.stderr);
        n += 1;
        if out.status.code() != Some(2) || !err.contains(want) {
            failures.push(format!(
                "{args}: want exit 2 and {want:?}, got {:?}: {err}",
                out.status.code()
            ));
        }
    }
    assert!(n >= 10, "only {n} recorded cases");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
