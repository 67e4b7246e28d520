//! `guestwright batch`: a job file of good and bad jobs on qcow2 images the test makes, two
//! appliances at once. The result lines are compared whole (only the durations vary), the
//! changed images are read back on the host (qemu-img convert, e2fsck, debugfs), the image
//! of the failed job is unchanged byte for byte, and `--shard` and `--resume` are checked
//! against a full run. Every run has a deadline.

use crate::customize_images;

use customize_images::debian;
use guestwright_tests::{assert_fsck_clean, debugfs_cat, guestwright, require, run, sha256};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Runs `guestwright batch ARGS` with the jobs on stdin; fails the test after `deadline`.
fn batch(dir: &Path, args: &[&str], jobs: &str, deadline: Duration) -> Output {
    use std::io::Write;
    let mut child = guestwright()
        .arg("batch")
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("guestwright");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(jobs.as_bytes())
        .unwrap();
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > deadline {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!(
                "guestwright batch {args:?} did not finish within {deadline:?}\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().unwrap()
}

/// The result lines, by id, without the one field that varies (the duration).
fn results(out: &Output) -> Vec<Value> {
    let mut v: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| {
            let mut r: Value = serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}"));
            let d = r.as_object_mut().unwrap().remove("duration_ms");
            assert!(d.is_some_and(|d| d.is_u64()), "{l}: no duration_ms");
            r
        })
        .collect();
    v.sort_by_key(|r| r["line"].as_u64());
    v
}

/// A qcow2 copy of the raw Debian-like image.
fn qcow2(raw: &Path, dir: &Path, name: &str) -> PathBuf {
    let out = dir.join(name);
    run(Command::new("qemu-img")
        .args(["convert", "-f", "raw", "-O", "qcow2"])
        .arg(raw)
        .arg(&out));
    out
}

/// The qcow2 image as raw, for the host's own readers.
fn as_raw(img: &Path) -> tempfile::NamedTempFile {
    let raw = tempfile::NamedTempFile::new().unwrap();
    run(Command::new("qemu-img")
        .args(["convert", "-f", "qcow2", "-O", "raw"])
        .arg(img)
        .arg(raw.path()));
    raw
}

fn hostname(img: &Path) -> String {
    let raw = as_raw(img);
    assert_fsck_clean(raw.path());
    String::from_utf8(debugfs_cat(raw.path(), "/etc/hostname")).unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn good_and_bad_jobs_fail_alone() {
    require("qemu-img", "qemu-utils");
    require("debugfs", "e2fsprogs");
    let dir = tempfile::tempdir().unwrap();
    let raw = debian(dir.path(), "debian.raw");
    for name in ["vm01.qcow2", "vm02.qcow2", "vm03.qcow2", "ro.qcow2"] {
        qcow2(&raw, dir.path(), name);
    }
    // A qcow2 header with a cluster size QEMU refuses: the drive cannot be opened.
    let mut bad = std::fs::read(dir.path().join("vm03.qcow2")).unwrap();
    bad[20..24].copy_from_slice(&[0, 0, 0, 40]);
    std::fs::write(dir.path().join("corrupt.qcow2"), &bad).unwrap();
    let corrupt_sum = sha256(&dir.path().join("corrupt.qcow2"));
    let vm03_sum = sha256(&dir.path().join("vm03.qcow2"));
    let ro_sum = sha256(&dir.path().join("ro.qcow2"));
    let jobs = r#"# a comment, then a blank line

{"id":"vm01","drives":[{"path":"vm01.qcow2","format":"qcow2"}],"customize":["--hostname","vm01","--root-password","password:x"]}
{"id":"corrupt","drives":[{"path":"corrupt.qcow2","format":"qcow2"}],"customize":["--hostname","corrupt"]}
{"id":"badopt","drives":[{"path":"vm03.qcow2"}],"customize":["--hostname","vm03","--no-such-option"]}
{"id":"vm02","drives":[{"path":"vm02.qcow2"}],"customize":["--hostname","vm02"]}
not json
{"id":"look","drives":[{"path":"ro.qcow2","format":"qcow2"}],"inspect":["--no-applications"]}
"#;
    let out = batch(
        dir.path(),
        &["--appliances", "2", "-"],
        jobs,
        Duration::from_secs(300),
    );
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    let r = results(&out);
    assert_eq!(r.len(), 6, "{err}");

    // The good ones: exact lines but for the report, checked by its parts.
    for (i, id, line) in [(0, "vm01", 3), (3, "vm02", 6)] {
        let mut r = r[i].clone();
        let report = r.as_object_mut().unwrap().remove("result").unwrap();
        assert_eq!(
            r,
            serde_json::json!({"id": id, "line": line, "status": "ok",
                               "operation": "customize", "changed": true}),
            "{err}"
        );
        assert_eq!(report["changed"], true);
        assert!(
            report.to_string().contains("/etc/hostname"),
            "{id}: {report}"
        );
    }
    assert_eq!(hostname(&dir.path().join("vm01.qcow2")), "vm01\n");
    assert_eq!(hostname(&dir.path().join("vm02.qcow2")), "vm02\n");
    let shadow = debugfs_cat(as_raw(&dir.path().join("vm01.qcow2")).path(), "/etc/shadow");
    assert!(
        !String::from_utf8_lossy(&shadow).starts_with("root:$6$oldsalt$"),
        "vm01's root password was not set"
    );

    // The bad ones fail with their own message, and their images are unchanged.
    let corrupt = r[1].clone();
    assert_eq!(corrupt["id"], "corrupt");
    assert_eq!(corrupt["line"], 4);
    assert_eq!(corrupt["status"], "failed");
    assert_eq!(corrupt["operation"], "customize");
    let msg = corrupt["error"].as_str().unwrap();
    assert!(msg.contains("corrupt.qcow2"), "{msg}");
    assert!(corrupt.get("result").is_none());
    assert_eq!(
        r[2],
        serde_json::json!({"id": "badopt", "line": 5, "status": "failed",
            "operation": "customize",
            "error": "unexpected argument '--no-such-option' found"})
    );
    assert_eq!(
        r[4],
        serde_json::json!({"id": "line-7", "line": 7, "status": "failed",
            "error": "not a JSON object: expected ident at line 1 column 2"})
    );
    assert_eq!(sha256(&dir.path().join("corrupt.qcow2")), corrupt_sum);
    assert_eq!(sha256(&dir.path().join("vm03.qcow2")), vm03_sum);

    // The reader: its answer, and its image untouched.
    let look = &r[5];
    assert_eq!(look["status"], "ok", "{look}");
    assert_eq!(look["operation"], "inspect");
    assert!(look.get("changed").is_none());
    assert_eq!(look["result"][0]["distro"], "debian", "{look}");
    assert_eq!(look["result"][0]["hostname"], "debian-tmpl", "{look}");
    assert_eq!(sha256(&dir.path().join("ro.qcow2")), ro_sum);

    // The summary names the counts and the failed jobs.
    assert!(
        err.contains("batch: 6 jobs in ") && err.contains("on 2 appliances: 3 ok, 3 failed"),
        "{err}"
    );
    assert!(
        err.contains("(corrupt, badopt, line-7)") || err.contains("failed or did not run"),
        "{err}"
    );
}

#[test]
fn shards_make_one_full_run_and_resume_skips_what_was_done() {
    require("qemu-img", "qemu-utils");
    require("debugfs", "e2fsprogs");
    let dir = tempfile::tempdir().unwrap();
    let raw = debian(dir.path(), "debian.raw");
    qcow2(&raw, dir.path(), "a.qcow2");
    qcow2(&raw, dir.path(), "b.qcow2");
    let jobs = r#"{"id":"a","drives":[{"path":"a.qcow2"}],"customize":["--hostname","host-a"]}
{"id":"bad","customize":["--hostname"]}
{"id":"b","drives":[{"path":"b.qcow2"}],"customize":["--hostname","host-b"]}
"#;
    let deadline = Duration::from_secs(180);
    let s0 = batch(dir.path(), &["--shard", "0/2", "-"], jobs, deadline);
    let s1 = batch(dir.path(), &["--shard", "1/2", "-"], jobs, deadline);
    // Shard 0 takes jobs 0 and 2 (a, b), shard 1 job 1 (bad).
    assert_eq!(s0.status.code(), Some(0), "{}", stderr(&s0));
    assert_eq!(s1.status.code(), Some(1), "{}", stderr(&s1));
    let ids = |o: &Output| -> Vec<String> {
        results(o)
            .iter()
            .map(|r| r["id"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(ids(&s0), ["a", "b"]);
    assert_eq!(ids(&s1), ["bad"]);
    assert_eq!(
        results(&s1)[0]["error"],
        "a value is required for '--hostname <HOSTNAME>' but none was supplied"
    );
    assert_eq!(hostname(&dir.path().join("a.qcow2")), "host-a\n");
    assert_eq!(hostname(&dir.path().join("b.qcow2")), "host-b\n");
    assert!(
        stderr(&s0).contains("2 jobs in ") && stderr(&s0).contains(": 2 ok, 0 failed"),
        "{}",
        stderr(&s0)
    );

    // The union of the shards' results as one results file: resuming runs only the job
    // that failed (and launches nothing for it: its options are wrong).
    let mut all = s0.stdout.clone();
    all.extend_from_slice(&s1.stdout);
    std::fs::write(dir.path().join("results.jsonl"), &all).unwrap();
    let sums = (
        sha256(&dir.path().join("a.qcow2")),
        sha256(&dir.path().join("b.qcow2")),
    );
    let again = batch(
        dir.path(),
        &["--resume", "results.jsonl", "-"],
        jobs,
        Duration::from_secs(60),
    );
    assert_eq!(again.status.code(), Some(1), "{}", stderr(&again));
    assert_eq!(ids(&again), ["bad"]);
    assert!(
        stderr(&again).contains(", 2 skipped (ok in --resume)"),
        "{}",
        stderr(&again)
    );
    assert_eq!(
        (
            sha256(&dir.path().join("a.qcow2")),
            sha256(&dir.path().join("b.qcow2"))
        ),
        sums
    );
}

#[test]
fn bad_batch_options_are_usage_errors() {
    let dir = tempfile::tempdir().unwrap();
    let out = batch(
        dir.path(),
        &["--shard", "2/2", "-"],
        "",
        Duration::from_secs(30),
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("is not a shard"), "{}", stderr(&out));
    let out = batch(dir.path(), &["missing.jsonl"], "", Duration::from_secs(30));
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("missing.jsonl"), "{}", stderr(&out));
}
