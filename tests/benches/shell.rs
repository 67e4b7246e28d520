//! Shell benchmark: one launch running a script of 1,000 small operations (`write` then
//! `cat` of 500 small files), against the same script in libguestfs's guestfish (plus the
//! `run` it needs), in the same run on copies of the same image. Reports operations per second with and without the
//! launch (the latter by subtracting a script that only mounts), and the ratios.
//!
//!     scripts/bench-shell [RUNS]
//!
//! which builds the release binary and runs
//! `cargo bench -p guestwright-tests --bench shell [-- RUNS]`. guestwright runs under TCG
//! unless GUESTWRIGHT_ACCEL says otherwise; guestfish runs with
//! LIBGUESTFS_BACKEND_SETTINGS=force_tcg (on these machines its KVM attempt hangs).

use guestwright_tests::*;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// Files written and read back: two operations each.
const FILES: usize = 500;

/// The script: a guestfish script that guestwright runs unchanged.
fn script(files: usize) -> String {
    let mut s = String::from("mount /dev/sda1 /\n");
    for i in 0..files {
        s.push_str(&format!("write /f{i} \"hello {i}\"\ncat /f{i}\n"));
    }
    s
}

fn median(samples: &[Duration]) -> Duration {
    let mut v = samples.to_vec();
    v.sort();
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2
    }
}

/// Runs one script on a fresh copy of the image and checks its output.
fn timed(mut cmd: Command, image: &Path, fresh: &Path, files: usize) -> Duration {
    std::fs::copy(image, fresh).unwrap();
    let t = Instant::now();
    let out = cmd.output().expect("run the shell");
    let elapsed = t.elapsed();
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}):\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let expected: String = (0..files).map(|i| format!("hello {i}\n")).collect();
    let text = String::from_utf8_lossy(&out.stdout).replace("hello", "\nhello");
    let lines: String = text
        .lines()
        .filter(|l| !l.is_empty())
        .map(|l| format!("{l}\n"))
        .collect();
    assert_eq!(lines, expected, "{cmd:?} printed something else");
    elapsed
}

fn main() {
    let runs: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(3);
    require("guestfish", "libguestfs-tools");
    let dir = tempfile::tempdir().unwrap();
    let image = gpt_ext4(dir.path(), "bench.img", &[file("/etc/hostname", "bench\n")]);
    let fresh = dir.path().join("run.img");
    let ours_full = dir.path().join("ours.gw");
    let ours_mount = dir.path().join("ours-mount.gw");
    let fish_full = dir.path().join("fish.gf");
    let fish_mount = dir.path().join("fish-mount.gf");
    std::fs::write(&ours_full, script(FILES)).unwrap();
    std::fs::write(&ours_mount, script(0)).unwrap();
    std::fs::write(&fish_full, format!("run\n{}", script(FILES))).unwrap();
    std::fs::write(&fish_mount, format!("run\n{}", script(0))).unwrap();

    let ours = |script: &Path| {
        let mut c = guestwright();
        c.arg("shell")
            .arg("--rw")
            .arg("-a")
            .arg(&fresh)
            .arg("-f")
            .arg(script);
        c
    };
    let fish = |script: &Path| {
        let mut c = Command::new("guestfish");
        c.arg("-a")
            .arg(&fresh)
            .arg("-f")
            .arg(script)
            .env("LIBGUESTFS_BACKEND_SETTINGS", "force_tcg");
        c
    };
    // One untimed run of ours fills the appliance cache.
    timed(ours(&ours_mount), &image, &fresh, 0);

    let (mut gw_full, mut gw_base, mut gf_full, mut gf_base) = (vec![], vec![], vec![], vec![]);
    for _ in 0..runs {
        // Interleaved, so both tools see the same load on this shared machine.
        gw_full.push(timed(ours(&ours_full), &image, &fresh, FILES));
        gf_full.push(timed(fish(&fish_full), &image, &fresh, FILES));
        gw_base.push(timed(ours(&ours_mount), &image, &fresh, 0));
        gf_base.push(timed(fish(&fish_mount), &image, &fresh, 0));
    }
    let ops = (2 * FILES) as f64;
    let rate = |d: Duration| ops / d.as_secs_f64();
    let (gw, gf) = (median(&gw_full), median(&gf_full));
    let (gwb, gfb) = (median(&gw_base), median(&gf_base));
    println!(
        "shell: {} operations (write + cat of {FILES} files) in one launch, {runs} runs, medians",
        2 * FILES
    );
    for (name, full, base) in [("guestwright shell", gw, gwb), ("guestfish", gf, gfb)] {
        println!(
            "  {name:<18} {:>7.2} s total = {:>7.1} ops/s; launch+mount alone {:.2} s; \
             operations only {:>7.1} ops/s",
            full.as_secs_f64(),
            rate(full),
            base.as_secs_f64(),
            rate(full.saturating_sub(base)),
        );
    }
    println!(
        "  ratio (guestwright / guestfish ops/s): {:.1}x with the launch, {:.1}x operations only",
        rate(gw) / rate(gf),
        rate(gw.saturating_sub(gwb)) / rate(gf.saturating_sub(gfb))
    );
}
