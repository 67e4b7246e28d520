//! Launch benchmark: time from `launch()` to a daemon that answers, and shutdown, over several
//! runs, restored from a saved appliance (the default) and booted (`snapshot` off); then
//! libguestfs's `guestfish -a /dev/null run` in the same run on the same machine when it is
//! installed, and the ratios of the medians.
//!
//! Then launch + mount + `cat` of one file on a small ext4 image, restored and booted, with
//! the launch's phases (preparing, QEMU's start, the restore, the daemon's drive probe), the
//! mount and the `cat`, against `guestfish --ro -a IMG -m /dev/sda1 cat /etc/hostname`.
//!
//!     cargo bench -p guestwright-tests --bench launch [-- RUNS]
//!
//! Runs under TCG unless GUESTWRIGHT_ACCEL says otherwise; libguestfs runs with
//! LIBGUESTFS_BACKEND_SETTINGS=force_tcg (on these machines its KVM attempt hangs).

#[path = "../tests/customize_images/mod.rs"]
mod customize_images;

use guestwright::prelude::*;
use guestwright::LaunchPhases;
use guestwright_tests::bench::{median, report_line, Stats};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

fn main() {
    let runs: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(10);
    let mut totals = Vec::new();
    for (label, snapshot) in [("restored", true), ("booted", false)] {
        let mut config = guestwright_tests::test_config();
        config.snapshot = snapshot;
        // One untimed launch fills the appliance cache and saves the appliance.
        {
            let mut h = Handle::with_config(config.clone());
            h.launch().expect("launch");
            h.shutdown().expect("shutdown");
        }
        let mut launch = Vec::new();
        let mut ping = Vec::new();
        let mut shutdown = Vec::new();
        let mut phases = Vec::new();
        for _ in 0..runs {
            let mut h = Handle::with_config(config.clone());
            let t = Instant::now();
            h.launch().expect("launch");
            launch.push(t.elapsed());
            assert_eq!(h.restored(), snapshot);
            phases.push(h.launch_phases().expect("phases of a launch"));
            let t = Instant::now();
            h.ping().expect("ping");
            ping.push(t.elapsed());
            let t = Instant::now();
            h.shutdown().expect("shutdown");
            shutdown.push(t.elapsed());
        }
        println!(
            "guestwright {label}, {runs} runs, accelerator {:?}:",
            config.accel
        );
        println!("{}", report_line("launch to ready", &Stats::of(&launch)));
        print_phases(&phases);
        println!("{}", report_line("ping round trip", &Stats::of(&ping)));
        println!("{}", report_line("shutdown", &Stats::of(&shutdown)));
        totals.push((label, median(&launch) + median(&shutdown)));
    }

    let libguestfs = Command::new("guestfish").arg("--version").output().is_ok();
    if libguestfs {
        guestfish_launch(runs, &totals);
    } else {
        println!("libguestfs: guestfish not installed, no comparison");
    }
    let dir = tempfile::tempdir().unwrap();
    let img = customize_images::debian(dir.path(), "launch.raw");
    mount_and_cat(runs, &img, libguestfs);
}

/// Prints the medians of each launch phase.
fn print_phases(phases: &[LaunchPhases]) {
    let each = |f: fn(&LaunchPhases) -> Duration| phases.iter().map(f).collect::<Vec<_>>();
    for (label, d) in [
        ("  prepare", each(|p| p.prepare)),
        ("  QEMU start", each(|p| p.qemu_start)),
        ("  restore", each(|p| p.restore)),
        ("  ready (resume, drive probe)", each(|p| p.ready)),
    ] {
        println!("{}", report_line(label, &Stats::of(&d)));
    }
}

/// `guestfish -a /dev/null run`, and the ratios against our launch + shutdown.
fn guestfish_launch(runs: usize, totals: &[(&str, Duration)]) {
    compare_guestfish(
        runs,
        &["-a", "/dev/null", "run"],
        b"",
        "-a /dev/null run",
        "launch+shutdown",
        totals,
    );
}

/// Runs guestfish with `args` (shown as `what`; under TCG) `runs` times, at most 7, each
/// printing `stdout`; prints the median and the ratios for `row` against `ours` (a label
/// and our median each).
fn compare_guestfish(
    runs: usize,
    args: &[&str],
    stdout: &[u8],
    what: &str,
    row: &str,
    ours: &[(&str, Duration)],
) {
    let mut gf = Vec::new();
    for _ in 0..runs.min(7) {
        let t = Instant::now();
        let out = Command::new("guestfish")
            .args(args)
            .env("LIBGUESTFS_BACKEND_SETTINGS", "force_tcg")
            .output()
            .expect("guestfish");
        assert!(
            out.status.success(),
            "guestfish failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(out.stdout, stdout);
        gf.push(t.elapsed());
    }
    println!("libguestfs `guestfish {what}`, {} runs:", gf.len());
    println!("{}", report_line("guestfish", &Stats::of(&gf)));
    for (label, ours) in ours {
        println!(
            "ratio (guestfish / guestwright {label} {row}, medians): {:.1}x ({:.2} s vs {:.2} s)",
            median(&gf).as_secs_f64() / ours.as_secs_f64(),
            median(&gf).as_secs_f64(),
            ours.as_secs_f64()
        );
    }
}

/// Launch + mount + `cat /etc/hostname` of `img` through the library, restored and booted,
/// with the phases of each; then the same with guestfish.
fn mount_and_cat(runs: usize, img: &Path, libguestfs: bool) {
    let mut whole = Vec::new();
    for (label, snapshot) in [("restored", true), ("booted", false)] {
        let mut config = guestwright_tests::test_config();
        config.snapshot = snapshot;
        let (mut total, mut phases, mut mount, mut cat, mut shutdown) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for _ in 0..runs {
            let t = Instant::now();
            let mut h = Handle::with_config(config.clone());
            h.add_drive(img, DriveOptions::readonly())
                .expect("add_drive");
            h.launch().expect("launch");
            assert_eq!(h.restored(), snapshot);
            phases.push(h.launch_phases().expect("phases of a launch"));
            let m = Instant::now();
            h.mount_ro("/dev/sda1", "/").expect("mount_ro");
            mount.push(m.elapsed());
            let c = Instant::now();
            assert_eq!(
                h.read_file("/etc/hostname").expect("cat").0,
                b"debian-tmpl\n"
            );
            cat.push(c.elapsed());
            let s = Instant::now();
            h.shutdown().expect("shutdown");
            shutdown.push(s.elapsed());
            total.push(t.elapsed());
        }
        println!("guestwright launch + mount + cat, {label}, {runs} runs:");
        println!("{}", report_line("whole", &Stats::of(&total)));
        let launch: Vec<Duration> = phases
            .iter()
            .map(|p| p.prepare + p.qemu_start + p.restore + p.ready)
            .collect();
        println!("{}", report_line("launch", &Stats::of(&launch)));
        print_phases(&phases);
        println!("{}", report_line("mount", &Stats::of(&mount)));
        println!("{}", report_line("cat", &Stats::of(&cat)));
        println!("{}", report_line("shutdown", &Stats::of(&shutdown)));
        whole.push((label, median(&total)));
    }
    if libguestfs {
        let img = img.to_str().expect("a UTF-8 temporary path");
        compare_guestfish(
            runs,
            &["--ro", "-a", img, "-m", "/dev/sda1", "cat", "/etc/hostname"],
            // guestfish ends what it prints with a newline of its own.
            b"debian-tmpl\n\n",
            "--ro -a IMG -m /dev/sda1 cat /etc/hostname",
            "launch + mount + cat",
            &whole,
        );
    }
}
