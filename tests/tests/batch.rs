//! `guestwright batch`: a job file of good and bad jobs on qcow2 images the test makes, two
//! appliances at once. The result lines are compared whole (only the durations vary), the
//! changed images are read back on the host (qemu-img convert, e2fsck, debugfs), the image
//! of the failed job is unchanged byte for byte, and `--shard` and `--resume` are checked
//! against a full run. Every run has a deadline.

use crate::customize_images;

use customize_images::{debian, debian_entries, Entry};
use guestwright_tests::tree::{changed_paths, describe_changes, ext4_tree, Tree};
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

/// The tree of a qcow2 image's root filesystem, read on the host (debugfs), after e2fsck.
fn tree(img: &Path) -> Tree {
    let raw = as_raw(img);
    assert_fsck_clean(raw.path());
    ext4_tree(raw.path())
}

/// The job markers (`/etc/job-*`) in a tree.
fn markers(t: &Tree) -> Vec<String> {
    t.keys()
        .filter(|p| p.starts_with("/etc/job-"))
        .cloned()
        .collect()
}

/// The issue's test: twelve images (nine good, one corrupt, one whose /etc/hostname is a
/// link up and out of the guest, one whose `--run-command` fails) on two appliances. Every
/// image is read back on its own afterwards: the good ones have their hostname and their
/// own marker file and no other job's, the bad ones failed with their own message and
/// have none of the batch's writes, and `--resume` runs only the three that failed.
#[test]
fn twelve_images_two_appliances_each_checked_on_its_own() {
    require("qemu-img", "qemu-utils");
    require("debugfs", "e2fsprogs");
    let dir = tempfile::tempdir().unwrap();
    let raw = debian(dir.path(), "debian.raw");
    let good: Vec<String> = (1..=9).map(|i| format!("good{i:02}")).collect();
    for id in good.iter().map(String::as_str).chain(["runfail"]) {
        qcow2(&raw, dir.path(), &format!("{id}.qcow2"));
    }
    let mut bad = std::fs::read(dir.path().join("good01.qcow2")).unwrap();
    bad[20..24].copy_from_slice(&[0, 0, 0, 40]); // a cluster size QEMU refuses
    std::fs::write(dir.path().join("corrupt.qcow2"), &bad).unwrap();
    let mut entries: Vec<Entry<'_>> = debian_entries()
        .into_iter()
        .filter(|e| !matches!(e, Entry::File(p, ..) if *p == "/etc/hostname"))
        .collect();
    entries.push(Entry::Link(
        "/etc/hostname",
        "../../../../../../host/etc/hostname",
    ));
    let hostile_raw = customize_images::image(dir.path(), "hostile.raw", &entries);
    qcow2(&hostile_raw, dir.path(), "hostile.qcow2");
    let built = tree(&dir.path().join("good01.qcow2"));
    let hostile_built = tree(&dir.path().join("hostile.qcow2"));
    let corrupt_sum = sha256(&dir.path().join("corrupt.qcow2"));

    let job = |id: &str, ops: &[&str]| -> String {
        let mut args: Vec<String> = ops.iter().map(|s| s.to_string()).collect();
        args.extend(["--write".into(), format!("/etc/job-{id}:{id}")]);
        serde_json::json!({"id": id, "drives": [{"path": format!("{id}.qcow2"), "format": "qcow2"}],
                           "customize": args})
        .to_string()
    };
    let mut lines: Vec<String> = Vec::new();
    for (i, id) in good.iter().enumerate() {
        lines.push(job(id, &["--hostname", id]));
        match i {
            2 => lines.push(job("corrupt", &["--hostname", "corrupt"])),
            5 => lines.push(job("hostile", &["--hostname", "hostile"])),
            7 => lines.push(job(
                "runfail",
                &["--run-command", "exit 3", "--hostname", "runfail"],
            )),
            _ => {}
        }
    }
    assert_eq!(lines.len(), 12);
    let jobs = lines.join("\n") + "\n";
    let out = batch(
        dir.path(),
        &["--appliances", "2", "-"],
        &jobs,
        Duration::from_secs(600),
    );
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    let r = results(&out);
    assert_eq!(r.len(), 12, "{err}");
    let by_id = |id: &str| {
        r.iter()
            .find(|r| r["id"] == id)
            .unwrap_or_else(|| panic!("no {id}: {err}"))
    };
    for id in &good {
        assert_eq!(by_id(id)["status"], "ok", "{id}: {}\n{err}", by_id(id));
        let t = tree(&dir.path().join(format!("{id}.qcow2")));
        assert_eq!(
            t["/etc/hostname"].content,
            format!("{id}\n").as_bytes(),
            "{id}"
        );
        assert_eq!(
            markers(&t),
            [format!("/etc/job-{id}")],
            "{id}: another job's write"
        );
        assert_eq!(t[&format!("/etc/job-{id}")].content, id.as_bytes());
        let changed = changed_paths(&built, &t);
        assert!(
            changed
                .iter()
                .all(|p| !p.starts_with("/home") && !p.starts_with("/root")),
            "{id}: {}",
            describe_changes(&built, &t, &changed)
        );
    }
    // Each bad job failed with its own message and left its image without the batch's
    // writes.
    let message = |id: &str| by_id(id)["error"].as_str().unwrap_or_default().to_string();
    assert_eq!(by_id("corrupt")["status"], "failed");
    assert!(
        message("corrupt").contains("corrupt.qcow2"),
        "{}",
        message("corrupt")
    );
    assert_eq!(sha256(&dir.path().join("corrupt.qcow2")), corrupt_sum);
    assert_eq!(by_id("hostile")["status"], "failed");
    assert!(
        message("hostile")
            .contains("/etc/hostname is a symbolic link to ../../../../../../host/etc/hostname"),
        "{}",
        message("hostile")
    );
    let t = tree(&dir.path().join("hostile.qcow2"));
    let changed = changed_paths(&hostile_built, &t);
    assert!(
        changed.is_empty(),
        "{}",
        describe_changes(&hostile_built, &t, &changed)
    );
    assert_eq!(by_id("runfail")["status"], "failed");
    assert!(
        message("runfail").contains("exit 3: command exited with an error"),
        "{}",
        message("runfail")
    );
    let t = tree(&dir.path().join("runfail.qcow2"));
    assert!(markers(&t).is_empty(), "{:?}", markers(&t));
    assert_eq!(t["/etc/hostname"].content, b"debian-tmpl\n");
    for (a, b) in [
        ("corrupt", "hostile"),
        ("hostile", "runfail"),
        ("corrupt", "runfail"),
    ] {
        assert_ne!(message(a), message(b));
    }
    assert!(err.contains("on 2 appliances: 9 ok, 3 failed"), "{err}");

    // --resume: the nine done are skipped and unchanged; the three bad ones run again.
    std::fs::write(dir.path().join("results.jsonl"), &out.stdout).unwrap();
    let sums: Vec<String> = good
        .iter()
        .map(|id| sha256(&dir.path().join(format!("{id}.qcow2"))))
        .collect();
    let again = batch(
        dir.path(),
        &["--appliances", "2", "--resume", "results.jsonl", "-"],
        &jobs,
        Duration::from_secs(300),
    );
    let err = stderr(&again);
    assert_eq!(again.status.code(), Some(1), "{err}");
    let mut ids: Vec<String> = results(&again)
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect();
    ids.sort();
    assert_eq!(ids, ["corrupt", "hostile", "runfail"], "{err}");
    assert!(
        err.contains("batch: 3 jobs in ")
            && err.contains("on 2 appliances: 0 ok, 3 failed, 9 skipped (ok in --resume)"),
        "{err}"
    );
    let now: Vec<String> = good
        .iter()
        .map(|id| sha256(&dir.path().join(format!("{id}.qcow2"))))
        .collect();
    assert_eq!(now, sums, "a skipped job's image changed");
}

/// The CPU time a process has used, in whole seconds (user and system).
fn cpu_seconds(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command's closing parenthesis: utime and stime are the 12th and 13th.
    let after = stat.rsplit_once(')').map_or("", |(_, a)| a);
    let f: Vec<u64> = after
        .split_whitespace()
        .skip(11)
        .take(2)
        .filter_map(|v| v.parse().ok())
        .collect();
    f.iter().sum::<u64>() / 100 // USER_HZ, 100 on Linux
}

/// The QEMU under `pid` that has `image` open, if one has.
fn qemu_with(pid: u32, image: &Path) -> Option<u32> {
    guestwright_tests::bench::tree(pid).into_iter().find(|p| {
        std::fs::read_to_string(format!("/proc/{p}/comm"))
            .is_ok_and(|c| c.starts_with("qemu-system"))
            && std::fs::read_dir(format!("/proc/{p}/fd"))
                .into_iter()
                .flatten()
                .flatten()
                .any(|fd| std::fs::read_link(fd.path()).is_ok_and(|t| t == image))
    })
}

/// An appliance killed in the middle of a job (its QEMU, SIGKILL): that job fails alone with
/// a message saying the appliance died, and is not retried (it may have written part of its
/// changes, and running `--append-line` or `--run-command` twice is not what was asked:
/// `--resume` reruns it when the user chooses); the other jobs finish and the exit status is
/// 1.
#[test]
fn an_appliance_killed_mid_batch_fails_its_job_only() {
    require("qemu-img", "qemu-utils");
    require("debugfs", "e2fsprogs");
    let dir = tempfile::tempdir().unwrap();
    let raw = debian(dir.path(), "debian.raw");
    for id in ["slow", "q1", "q2", "q3"] {
        qcow2(&raw, dir.path(), &format!("{id}.qcow2"));
    }
    // The slow job never ends by itself: only the kill stops it.
    let jobs = r#"{"id":"slow","drives":[{"path":"slow.qcow2"}],"customize":["--run-command","while :; do :; done"]}
{"id":"q1","drives":[{"path":"q1.qcow2"}],"customize":["--hostname","q1"]}
{"id":"q2","drives":[{"path":"q2.qcow2"}],"customize":["--hostname","q2"]}
{"id":"q3","drives":[{"path":"q3.qcow2"}],"customize":["--hostname","q3"]}
"#;
    std::fs::write(dir.path().join("jobs.jsonl"), jobs).unwrap();
    let mut child = guestwright()
        .args(["batch", "--appliances", "2", "jobs.jsonl"])
        .current_dir(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("guestwright");
    let slow = dir.path().join("slow.qcow2").canonicalize().unwrap();
    let start = Instant::now();
    let deadline = Duration::from_secs(300);
    let victim = loop {
        if let Some(p) = qemu_with(child.id(), &slow) {
            break p;
        }
        if start.elapsed() > deadline || child.try_wait().unwrap().is_some() {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!("no QEMU had slow.qcow2 open:\n{}", stderr(&out));
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    // Into the job: a launch takes a few seconds of QEMU's CPU time under TCG, the endless
    // command all it gets; then the kill (this test's own grandchild, by its id).
    while cpu_seconds(victim) < 10 {
        if start.elapsed() > deadline {
            let _ = child.kill();
            panic!("the slow job's QEMU never got busy");
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    run(Command::new("kill").args(["-KILL", &victim.to_string()]));
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > deadline {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!("the batch did not finish after the kill:\n{}", stderr(&out));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let out = child.wait_with_output().unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    let r = results(&out);
    assert_eq!(r.len(), 4, "{err}");
    assert_eq!(r[0]["id"], "slow");
    assert_eq!(r[0]["status"], "failed", "{}", r[0]);
    let msg = r[0]["error"].as_str().unwrap();
    assert!(msg.contains(": the appliance died ("), "{msg}");
    for (i, id) in [(1, "q1"), (2, "q2"), (3, "q3")] {
        assert_eq!(r[i]["status"], "ok", "{}\n{err}", r[i]);
        assert_eq!(
            hostname(&dir.path().join(format!("{id}.qcow2"))),
            format!("{id}\n")
        );
    }
    assert!(err.contains("on 2 appliances: 3 ok, 1 failed"), "{err}");
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

/// The number in the summary's `; N appliance launches`, which only a batch that reuses its
/// appliances prints.
fn launches(err: &str) -> usize {
    let (before, _) = err
        .split_once(" appliance launches")
        .unwrap_or_else(|| panic!("no launch count in the summary:\n{err}"));
    before
        .rsplit(' ')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no launch count in the summary:\n{err}"))
}

/// One appliance serves every job of the batch in turn: five jobs, one launch. The jobs mix
/// qcow2 and raw images, one job has two drives of different formats (a `format` per
/// drive), and the images differ in size; each image gets its own hostname and marker and
/// no other job's, checked on the host (e2fsck, debugfs) after the batch. With
/// `--no-reuse` the same jobs launch once each and the summary has no launch count.
#[test]
fn one_appliance_serves_every_job_in_turn_each_image_getting_only_its_own_writes() {
    require("qemu-img", "qemu-utils");
    require("debugfs", "e2fsprogs");
    let dir = tempfile::tempdir().unwrap();
    let raw = debian(dir.path(), "debian.raw");
    for id in ["q1", "q2", "mixed"] {
        qcow2(&raw, dir.path(), &format!("{id}.qcow2"));
    }
    // A bigger qcow2: another size on the same drive slot.
    run(Command::new("qemu-img")
        .args(["resize", "-q", "-f", "qcow2"])
        .arg(dir.path().join("q2.qcow2"))
        .arg("+64M"));
    std::fs::copy(&raw, dir.path().join("r1.raw")).unwrap();
    std::fs::copy(&raw, dir.path().join("r2.raw")).unwrap();
    let data = dir.path().join("data.raw");
    std::fs::File::create(&data)
        .unwrap()
        .set_len(8 << 20)
        .unwrap();
    let job = |id: &str, drives: serde_json::Value| -> String {
        serde_json::json!({"id": id, "drives": drives,
            "customize": ["--hostname", id, "--write", format!("/etc/job-{id}:{id}")]})
        .to_string()
    };
    let one = |path: String, format: &str| serde_json::json!([{"path": path, "format": format}]);
    let lines = [
        job("q1", one("q1.qcow2".into(), "qcow2")),
        job("r1", one("r1.raw".into(), "raw")),
        job(
            "mixed",
            serde_json::json!([{"path": "mixed.qcow2", "format": "qcow2"},
                               {"path": "data.raw", "format": "raw"}]),
        ),
        job("q2", one("q2.qcow2".into(), "qcow2")),
        job("r2", serde_json::json!([{"path": "r2.raw"}])),
    ];
    let jobs = lines.join("\n") + "\n";
    let out = batch(
        dir.path(),
        &["--appliances", "1", "-"],
        &jobs,
        Duration::from_secs(600),
    );
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    let r = results(&out);
    assert_eq!(r.len(), 5, "{err}");
    for r in &r {
        assert_eq!(r["status"], "ok", "{r}\n{err}");
    }
    assert_eq!(launches(&err), 1, "one appliance for five jobs:\n{err}");
    let check = |id: &str, t: &Tree| {
        assert_eq!(
            t["/etc/hostname"].content,
            format!("{id}\n").as_bytes(),
            "{id}"
        );
        assert_eq!(
            markers(t),
            [format!("/etc/job-{id}")],
            "{id}: another job's write"
        );
    };
    for id in ["q1", "q2", "mixed"] {
        check(id, &tree(&dir.path().join(format!("{id}.qcow2"))));
    }
    for id in ["r1", "r2"] {
        let img = dir.path().join(format!("{id}.raw"));
        assert_fsck_clean(&img);
        check(id, &ext4_tree(&img));
    }
    // The data disk of the two-drive job was attached, not written.
    assert!(std::fs::read(&data).unwrap().iter().all(|&b| b == 0));

    // The same jobs, an appliance each: no launch count, the same results.
    let out = batch(
        dir.path(),
        &["--appliances", "1", "--no-reuse", "-"],
        &jobs,
        Duration::from_secs(600),
    );
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(!err.contains("appliance launches"), "{err}");
    assert_eq!(results(&out).len(), 5, "{err}");
}
