//! Launch benchmark: time from `launch()` to a daemon that answers, and shutdown, over several
//! runs, restored from a saved appliance (the default) and booted (`snapshot` off); then
//! libguestfs's `guestfish -a /dev/null run` in the same run on the same machine when it is
//! installed, and the ratios of the medians.
//!
//!     cargo bench -p guestwright-tests --bench launch [-- RUNS]
//!
//! Runs under TCG unless GUESTWRIGHT_ACCEL says otherwise; libguestfs runs with
//! LIBGUESTFS_BACKEND_SETTINGS=force_tcg (on these machines its KVM attempt hangs).

use guestwright::prelude::*;
use guestwright_tests::bench::{median, report_line, Stats};
use std::process::Command;
use std::time::Instant;

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
        for _ in 0..runs {
            let mut h = Handle::with_config(config.clone());
            let t = Instant::now();
            h.launch().expect("launch");
            launch.push(t.elapsed());
            assert_eq!(h.restored(), snapshot);
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
        println!("{}", report_line("ping round trip", &Stats::of(&ping)));
        println!("{}", report_line("shutdown", &Stats::of(&shutdown)));
        totals.push((label, median(&launch) + median(&shutdown)));
    }

    if Command::new("guestfish").arg("--version").output().is_err() {
        println!("libguestfs: guestfish not installed, no comparison");
        return;
    }
    let mut gf = Vec::new();
    for _ in 0..runs.min(7) {
        let t = Instant::now();
        let out = Command::new("guestfish")
            .args(["-a", "/dev/null", "run"])
            .env("LIBGUESTFS_BACKEND_SETTINGS", "force_tcg")
            .output()
            .expect("guestfish");
        assert!(
            out.status.success(),
            "guestfish failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        gf.push(t.elapsed());
    }
    println!(
        "libguestfs `guestfish -a /dev/null run` (launch + shutdown), {} runs:",
        gf.len()
    );
    println!("{}", report_line("guestfish", &Stats::of(&gf)));
    for (label, ours) in totals {
        println!(
            "ratio (guestfish / guestwright {label} launch+shutdown, medians): {:.1}x ({:.2} s vs {:.2} s)",
            median(&gf).as_secs_f64() / ours.as_secs_f64(),
            median(&gf).as_secs_f64(),
            ours.as_secs_f64()
        );
    }
}
