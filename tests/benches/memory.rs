//! Memory benchmark: the peak resident memory of one-shot commands, summed over the command
//! and every process it starts (QEMU above all), sampled every 10 ms: `guestwright cat -i`
//! restored from a saved appliance (the default) and booted, and `guestwright customize
//! --hostname --root-password`, side by side with libguestfs's `virt-cat` and
//! `virt-customize` on the same image in the same run when they are installed. Medians of
//! the peaks over several runs; the goal is at most 200 MiB for guestwright.
//!
//!     cargo bench -p guestwright-tests --bench memory [-- RUNS]
//!
//! Runs under TCG unless GUESTWRIGHT_ACCEL says otherwise; libguestfs runs with
//! LIBGUESTFS_BACKEND_SETTINGS=force_tcg.

#[path = "../tests/customize_images/mod.rs"]
mod customize_images;

use guestwright_tests::bench::{peak_rss, PeakRss};
use guestwright_tests::{guestwright, run};
use std::path::Path;
use std::process::Command;

fn main() {
    let runs: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(5);
    let dir = tempfile::tempdir().unwrap();
    let img = customize_images::debian(dir.path(), "memory.raw");
    // One untimed run fills the appliance cache and saves the appliance.
    run(guestwright()
        .args(["cat", "-i", "-a"])
        .arg(&img)
        .arg("/etc/hostname"));

    let cat = |snapshot: bool| {
        let mut c = guestwright();
        c.args(["cat", "-i", "-a"]).arg(&img).arg("/etc/hostname");
        if !snapshot {
            c.env("GUESTWRIGHT_SNAPSHOT", "0");
        }
        c
    };
    let customize = |i: usize| {
        let mut c = guestwright();
        c.args(["customize", "-q", "-a"])
            .arg(&img)
            .args(["--hostname", &format!("memory-{i}")])
            .arg(format!("--root-password=password:pw-{i}"));
        c
    };
    println!("peak resident memory, {runs} runs each (median of the peaks):");
    let restored = measure("guestwright cat -i (restored)", runs, |_| cat(true));
    measure("guestwright cat -i (booted)", runs, |_| cat(false));
    let ours_customize = measure("guestwright customize", runs, customize);

    if Command::new("virt-cat").arg("--version").output().is_err() {
        println!("libguestfs: virt-cat not installed, no comparison");
        return;
    }
    let libguestfs = |tool: &str, img: &Path| {
        let mut c = Command::new(tool);
        c.env("LIBGUESTFS_BACKEND_SETTINGS", "force_tcg")
            .arg("-a")
            .arg(img);
        c
    };
    let theirs_cat = measure("virt-cat", runs, |_| {
        let mut c = libguestfs("virt-cat", &img);
        c.arg("/etc/hostname");
        c
    });
    let theirs_customize = measure("virt-customize", runs, |i| {
        let mut c = libguestfs("virt-customize", &img);
        c.args(["--hostname", &format!("memory-{i}")])
            .arg(format!("--root-password=password:pw-{i}"));
        c
    });
    println!(
        "  ratios (libguestfs / guestwright): cat {:.2}x, customize {:.2}x",
        theirs_cat as f64 / restored as f64,
        theirs_customize as f64 / ours_customize as f64
    );
}

/// Runs `make(i)` `runs` times, prints the median peak and the run at the median; returns
/// the median in KiB.
fn measure(label: &str, runs: usize, make: impl Fn(usize) -> Command) -> u64 {
    let mut peaks: Vec<PeakRss> = (0..runs)
        .map(|i| {
            let (status, peak) = peak_rss(&mut make(i));
            assert!(status.success(), "{label} failed with {status}");
            peak
        })
        .collect();
    peaks.sort_by_key(|p| p.total_kib);
    let mid = &peaks[peaks.len() / 2];
    println!(
        "  {label:<32} median {} MiB (min {}, max {}): {mid}",
        mid.total_kib / 1024,
        peaks[0].total_kib / 1024,
        peaks[peaks.len() - 1].total_kib / 1024
    );
    mid.total_kib
}
