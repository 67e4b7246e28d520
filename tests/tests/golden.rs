//! Golden outputs: every case of `tests/golden/cases/` run with guestwright must print the
//! bytes libguestfs 1.48 printed (`tests/golden/expected/`, recorded by
//! `scripts/record-golden`) and end with the same status, after the one filter
//! (`goldenkit::normalize`). Cases guestwright does not pass yet are listed, each with its
//! reason, in `tests/golden/xfail.txt`: an unlisted case that fails, or a listed case that
//! passes, fails this test, so the list only shrinks.
//!
//! `GOLDEN_CASES=a,b` runs only the cases whose names contain a or b; `GOLDEN_JOBS=N` runs
//! N at a time (default 2); `GOLDEN_SAVE_ACTUAL=DIR` also writes what guestwright printed to
//! DIR/CASE/{stdout,stderr,status}.

use crate::goldenkit;

use goldenkit::{Outcome, Runner};
use std::time::Duration;

/// The longest one guestwright run may take (a launch is 1-3 s under TCG on a busy machine).
const GUESTWRIGHT_LIMIT: Duration = Duration::from_secs(120);
/// The longest one libguestfs run may take (a launch is 7-25 s under TCG here).
const REFERENCE_LIMIT: Duration = Duration::from_secs(300);

#[test]
fn golden() {
    let all = goldenkit::load_cases();
    let xfail = goldenkit::load_xfail();
    for (name, _) in &xfail {
        assert!(
            all.iter().any(|c| &c.name == name),
            "xfail.txt lists {name}, which is not a case: remove the line"
        );
    }
    let expected_dir = goldenkit::golden_dir().join("expected");
    for e in std::fs::read_dir(&expected_dir).unwrap() {
        let name = e.unwrap().file_name().to_string_lossy().into_owned();
        assert!(
            all.iter().any(|c| c.name == name),
            "tests/golden/expected/{name} belongs to no case: run scripts/record-golden, \
             which removes it"
        );
    }
    let cases = goldenkit::selected(all);
    // Build the images once, before the workers race for them.
    goldenkit::images::built();
    let results = goldenkit::run_all(&cases, |c| {
        let want = goldenkit::load_expected(&c.name);
        let got = goldenkit::run_case(c, Runner::Guestwright, GUESTWRIGHT_LIMIT);
        // For a look at what guestwright printed, in the same layout as the expected files.
        if let Some(dir) = std::env::var_os("GOLDEN_SAVE_ACTUAL") {
            goldenkit::store_outcome(&std::path::Path::new(&dir).join(&c.name), &got);
        }
        (want, got)
    });
    let mut passed = 0;
    let mut problems = Vec::new();
    let mut report = String::new();
    for (c, (want, got)) in cases.iter().zip(results) {
        let Some(want) = want else {
            problems.push(format!(
                "{}: never recorded: run scripts/record-golden (needs libguestfs-tools)",
                c.name
            ));
            continue;
        };
        let listed = xfail.iter().find(|(n, _)| n == &c.name);
        if want == got {
            passed += 1;
            if listed.is_some() {
                problems.push(format!(
                    "{}: passes now but is listed in tests/golden/xfail.txt: remove its line",
                    c.name
                ));
            }
            continue;
        }
        let lines = if listed.is_some() { 12 } else { 200 };
        report.push_str(&describe(c, &want, &got, lines));
        match listed {
            Some((_, reason)) => report.push_str(&format!("  (expected failure: {reason})\n")),
            None => problems.push(format!(
                "{}: differs from the reference (diff above); fix guestwright, or list it \
                 in tests/golden/xfail.txt with the reason",
                c.name
            )),
        }
    }
    eprint!("{report}");
    eprintln!(
        "golden: {passed} of {} cases print what libguestfs 1.48 prints; {} listed as \
         expected failures",
        cases.len(),
        xfail
            .iter()
            .filter(|(n, _)| cases.iter().any(|c| &c.name == n))
            .count()
    );
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// A failing case: what differs, as diffs (reference '-', guestwright '+').
fn describe(c: &goldenkit::Case, want: &Outcome, got: &Outcome, lines: usize) -> String {
    let mut s = format!("---- {} ({}): {}\n", c.name, c.origin, c.argv.join(" "));
    if want.status != got.status {
        s.push_str(&format!(
            "  exit status: reference {}, guestwright {}\n",
            want.status, got.status
        ));
    }
    if want.stdout != got.stdout {
        s.push_str("  stdout:\n");
        s.push_str(&goldenkit::diff(&want.stdout, &got.stdout, lines));
    }
    if want.stderr != got.stderr {
        s.push_str("  stderr:\n");
        s.push_str(&goldenkit::diff(&want.stderr, &got.stderr, lines));
    }
    s
}

/// Records the reference's output for every case; run by `scripts/record-golden` only.
#[test]
#[ignore = "needs libguestfs 1.48; run scripts/record-golden"]
fn record() {
    assert!(
        std::env::var_os("GOLDEN_RECORD").is_some(),
        "recording rewrites tests/golden/expected: run it through scripts/record-golden"
    );
    let all = goldenkit::load_cases();
    let whole = std::env::var("GOLDEN_CASES").map_or(true, |s| s.is_empty());
    if whole {
        // Cases that were removed or renamed leave no stale output behind.
        let dir = goldenkit::golden_dir().join("expected");
        if let Ok(rd) = std::fs::read_dir(&dir) {
            for e in rd {
                let e = e.unwrap();
                let name = e.file_name().to_string_lossy().into_owned();
                if !all.iter().any(|c| c.name == name) {
                    std::fs::remove_dir_all(e.path()).unwrap();
                }
            }
        }
    }
    let cases = goldenkit::selected(all);
    goldenkit::images::built();
    let started = std::time::Instant::now();
    let done = std::sync::atomic::AtomicUsize::new(0);
    let results = goldenkit::run_all(&cases, |c| {
        let o = goldenkit::run_case(c, Runner::Reference, REFERENCE_LIMIT);
        goldenkit::store_expected(c, &o);
        let n = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
        eprintln!(
            "[{n}/{}] {} -> {} ({:.0} s so far)",
            cases.len(),
            c.name,
            o.status,
            started.elapsed().as_secs_f64()
        );
        o
    });
    let timeouts: Vec<&str> = cases
        .iter()
        .zip(&results)
        .filter(|(_, o)| o.status == "timeout")
        .map(|(c, _)| c.name.as_str())
        .collect();
    assert!(
        timeouts.is_empty(),
        "the reference did not finish these cases: {timeouts:?}"
    );
}

/// The filter drops the calls libguestfs makes inside another call from its trace, and
/// nothing else: the outer calls, their results and the error messages between stay.
#[test]
fn the_filter_drops_only_the_calls_libguestfs_makes_itself_from_the_trace() {
    let t = |s: &str| format!("libguestfs: trace: {s}\n");
    let traced: String = [
        t("add_drive \"disk.img\" \"readonly:true\""),
        t("get_tmpdir"),
        t("get_tmpdir = \"/tmp\""),
        t("disk_create \"/tmp/libguestfsVD7um8/overlay1.qcow2\" \"qcow2\" -1"),
        t("disk_format \"disk.img\""),
        t("disk_format = \"raw\""),
        t("disk_create = 0"),
        t("add_drive = 0"),
        t("is_config"),
        t("is_config = 1"),
        t("cat \"/nonexistent\""),
        t("read_file \"/nonexistent\""),
        t("download \"/nonexistent\" \"/tmp/libguestfsVD7um8/cat3\""),
        t("download = -1 (error)"),
        "*stdin*:3: libguestfs: error: download: /nonexistent: No such file or directory\n"
            .to_string(),
        t("read_file = NULL (error)"),
        t("cat = NULL (error)"),
        t("exists \"/nope\""),
        t("exists = 0"),
        t("close"),
        t("internal_autosync"),
        t("internal_autosync = 0"),
    ]
    .concat();
    let want: String = [
        t("add_drive \"disk.img\" \"readonly:true\""),
        t("add_drive = 0"),
        t("is_config"),
        t("is_config = 1"),
        t("cat \"/nonexistent\""),
        "*stdin*:3: libguestfs: error: download: /nonexistent: No such file or directory\n"
            .to_string(),
        t("cat = NULL (error)"),
        t("exists \"/nope\""),
        t("exists = 0"),
        t("close"),
    ]
    .concat();
    let wd = std::path::Path::new("/nowhere");
    assert_eq!(
        String::from_utf8(goldenkit::normalize(traced.as_bytes(), wd)).unwrap(),
        want
    );
    // Without a trace, nothing changes.
    let plain = b"libguestfs: error: x\nlibguestfs: trace: launch = 0 without its call\n";
    assert_eq!(goldenkit::normalize(plain, wd), plain);
}

/// The filter replaces device numbers and drops virt-diff's `st_dev`-only changes, and
/// keeps everything else as it is.
#[test]
fn the_filter_hides_only_the_reference_appliances_disk_numbering() {
    let wd = std::path::Path::new("/nowhere");
    assert_eq!(
        goldenkit::normalize(b"dev: 2065\nino: 12\nrdev: 0\nst_dev: 2049\n", wd),
        b"dev: <DEV>\nino: 12\nrdev: 0\nst_dev: <DEV>\n"
    );
    assert_eq!(
        goldenkit::normalize(
            b"[   0.0] Examining the guest ...\n[ 123.4] Done\n[x] y\n",
            wd
        ),
        b"[<ELAPSED>] Examining the guest ...\n[<ELAPSED>] Done\n[x] y\n"
    );
    let diff = b"- d 0755       1024 /\n+ d 0755       1024 /\n# changed: st_dev\n\
+ d 0755       1024 /a-b\n- - 0644         68 /etc/fstab\n+ - 0600         68 /etc/fstab\n\
# changed: st_dev st_mode st_ctime_sec\n= - 0644 16 /etc/hostname\n";
    assert_eq!(
        goldenkit::without_dev_changes(diff),
        b"+ d 0755       1024 /a-b\n- - 0644         68 /etc/fstab\n+ - 0600         68 /etc/fstab\n\
# changed: st_mode st_ctime_sec\n= - 0644 16 /etc/hostname\n"
    );
    let csv = b"-,d,0755,1024,/\n+,d,0755,1024,/\n#,changed:,st_dev\n+,d,0755,1024,/a-b\n\
-,-,0644,5,/x\n+,-,0600,5,/x\n#,changed:,st_dev,st_mode\n";
    assert_eq!(
        goldenkit::without_dev_changes(csv),
        b"+,d,0755,1024,/a-b\n-,-,0644,5,/x\n+,-,0600,5,/x\n#,changed:,st_mode\n"
    );
}
