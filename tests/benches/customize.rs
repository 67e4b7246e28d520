//! Customize benchmark: (a) `guestwright customize --hostname X --root-password password:Y` on a
//! Debian-like qcow2 image, then `virt-customize` with the same operations on the same image in
//! the same run (when libguestfs is installed), and the ratio of the medians. Each run sets a
//! different host name and password than the one before, so every run really writes.
//! Then, each tool on a fresh copy of its image per run: (b) `--install` of one package from a
//! local apt repository (served on 127.0.0.1, 169.254.2.2 in the appliance) on the debootstrap
//! Debian guest, and (c) `--run-command` + `--firstboot-command` on the Debian-like image.
//!
//! Last, (d) `sysprep` with the default operations against `virt-sysprep` on fresh copies of
//! the Debian-like image.
//!
//!     cargo bench -p guestwright-tests --bench customize [-- RUNS]
//!     CUSTOMIZE_BENCH_ROWS=sysprep cargo bench ...   only (d)
//!     CUSTOMIZE_BENCH_ROWS=a cargo bench ...         only (a)
//!     CUSTOMIZE_BENCH_ROWS=b cargo bench ...         only (b); `c` only (c)
//!
//! Runs under TCG unless GUESTWRIGHT_ACCEL says otherwise; libguestfs runs with
//! LIBGUESTFS_BACKEND_SETTINGS=force_tcg (on these machines its KVM attempt hangs). The goal is
//! at most 2.0 s for guestwright (virt-customize took 24.7 s here).

#[path = "../tests/customize_images/mod.rs"]
mod customize_images;

use guestwright_tests::bench::{median, report_line, Stats};
use guestwright_tests::{
    debootstrap_debian, guestwright, index_repo, run, run_within, DebPackage, RepoServer,
};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

fn main() {
    let runs: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(5);
    let dir = tempfile::tempdir().unwrap();
    let libguestfs = Command::new("virt-sysprep")
        .arg("--version")
        .output()
        .is_ok();
    let rows = std::env::var("CUSTOMIZE_BENCH_ROWS").unwrap_or_default();
    if rows == "sysprep" {
        row_sysprep(dir.path(), runs, libguestfs);
        return;
    }
    let theirs = Command::new("virt-customize")
        .arg("--version")
        .output()
        .is_ok();
    if rows == "b" || rows == "c" {
        rows_b_c(dir.path(), runs, theirs, &rows);
        return;
    }
    let raw = customize_images::debian(dir.path(), "bench.raw");
    let img = dir.path().join("bench.qcow2");
    run(Command::new("qemu-img")
        .args(["convert", "-f", "raw", "-O", "qcow2"])
        .arg(&raw)
        .arg(&img));

    // One untimed run fills the appliance cache.
    run(guestwright()
        .args(["customize", "-q", "-a"])
        .arg(&img)
        .args(["--hostname", "warm-up"]));
    let mut ours = Vec::new();
    let mut phases: Vec<[f64; 4]> = Vec::new();
    for i in 0..runs {
        let t = Instant::now();
        let out = run(guestwright()
            .args(["customize", "--json", "-q", "-a"])
            .arg(&img)
            .arg(format!("--hostname=bench-{i}"))
            .arg(format!("--root-password=password:pw-{i}")));
        ours.push(t.elapsed());
        let r: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON report");
        assert_eq!(r["changed"], true);
        let t = &r["timings"];
        phases
            .push(["launch", "inspect", "operations", "shutdown"].map(|k| t[k].as_f64().unwrap()));
    }
    let accel = std::env::var("GUESTWRIGHT_ACCEL").unwrap_or_else(|_| "tcg".into());
    println!("guestwright customize --hostname --root-password, {runs} runs, accelerator {accel}:");
    println!("{}", report_line("whole command", &Stats::of(&ours)));
    for (n, name) in ["launch", "inspect + mount", "operations", "shutdown"]
        .iter()
        .enumerate()
    {
        let v: Vec<Duration> = phases
            .iter()
            .map(|p| Duration::from_secs_f64(p[n]))
            .collect();
        println!("{}", report_line(&format!("  {name}"), &Stats::of(&v)));
    }

    if !theirs {
        println!("libguestfs: virt-customize not installed, no comparison");
        rows_b_c(dir.path(), runs, false, "");
        row_sysprep(dir.path(), runs, false);
        return;
    }
    let mut theirs = Vec::new();
    for i in 0..runs.min(7) {
        let t = Instant::now();
        let out = Command::new("virt-customize")
            .args(["-q", "--format", "qcow2", "-a"])
            .arg(&img)
            .arg("--hostname")
            .arg(format!("lg-{i}"))
            .arg("--root-password")
            .arg(format!("password:lg-{i}"))
            .env("LIBGUESTFS_BACKEND_SETTINGS", "force_tcg")
            .output()
            .expect("virt-customize");
        assert!(
            out.status.success(),
            "virt-customize failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        theirs.push(t.elapsed());
    }
    println!(
        "libguestfs virt-customize (same operations, same image), {} runs:",
        theirs.len()
    );
    println!("{}", report_line("virt-customize", &Stats::of(&theirs)));
    println!(
        "ratio (virt-customize / guestwright, medians): {:.1}x ({:.2} s vs {:.2} s; goal <= 2.0 s)",
        median(&theirs).as_secs_f64() / median(&ours).as_secs_f64(),
        median(&theirs).as_secs_f64(),
        median(&ours).as_secs_f64()
    );
    if rows == "a" {
        return;
    }
    rows_b_c(dir.path(), runs, true, "");
    row_sysprep(dir.path(), runs, libguestfs);
}

/// Copies `base` to `img` (sparse), then times `cmd -a img`, which must succeed.
fn time_on_copy(base: &Path, img: &Path, cmd: &mut Command) -> Duration {
    run(Command::new("cp").arg("--sparse=always").arg(base).arg(img));
    let t = Instant::now();
    let out = run_within(cmd.arg("-a").arg(img), Duration::from_secs(1200));
    let took = t.elapsed();
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    took
}

/// (d) `sysprep` with the default operations against `virt-sysprep`, each on a fresh copy of
/// the Debian-like image per run.
fn row_sysprep(dir: &Path, runs: usize, theirs: bool) {
    let base = customize_images::debian(dir, "sysprep-base.raw");
    let img = dir.join("sysprep.img");
    let time = |cmd: &mut Command| time_on_copy(&base, &img, cmd);
    // One untimed run fills the appliance cache.
    time(guestwright().args(["sysprep", "-q", "--format", "raw"]));
    let ours: Vec<Duration> = (0..runs)
        .map(|_| time(guestwright().args(["sysprep", "-q", "--format", "raw"])))
        .collect();
    println!("(d) sysprep, default operations (Debian-like), {runs} runs:");
    println!("{}", report_line("guestwright", &Stats::of(&ours)));
    if !theirs {
        println!("libguestfs: virt-sysprep not installed, no comparison");
        return;
    }
    let lg: Vec<Duration> = (0..runs.min(7))
        .map(|_| {
            time(
                Command::new("virt-sysprep")
                    .env("LIBGUESTFS_BACKEND_SETTINGS", "force_tcg")
                    .args(["-q", "--format", "raw"]),
            )
        })
        .collect();
    println!("{}", report_line("virt-sysprep", &Stats::of(&lg)));
    println!(
        "ratio (virt-sysprep / guestwright, medians): {:.1}x ({:.2} s vs {:.2} s)",
        median(&lg).as_secs_f64() / median(&ours).as_secs_f64(),
        median(&lg).as_secs_f64(),
        median(&ours).as_secs_f64()
    );
}

/// Times `args` on a fresh copy of `base` per run, with guestwright and (when `theirs`)
/// virt-customize, and prints both and the ratio.
/// `args(host)` gets the address at which the appliance reaches the host's loopback:
/// 169.254.2.2 for both (libguestfs's user network, 169.254.0.0/16, which guestwright uses too).
fn row(
    label: &str,
    dir: &Path,
    base: &Path,
    args: &dyn Fn(&str) -> Vec<String>,
    runs: usize,
    theirs: bool,
) {
    let img = dir.join("row.img");
    let time = |cmd: &mut Command| time_on_copy(base, &img, cmd);
    let ours: Vec<Duration> = (0..runs)
        .map(|_| {
            time(
                guestwright()
                    .args(["customize", "-q", "--format", "raw"])
                    .args(args("169.254.2.2")),
            )
        })
        .collect();
    println!("{label}, {runs} runs:");
    println!("{}", report_line("guestwright", &Stats::of(&ours)));
    if !theirs {
        return;
    }
    let lg: Vec<Duration> = (0..runs.min(7))
        .map(|_| {
            time(
                Command::new("virt-customize")
                    .env("LIBGUESTFS_BACKEND_SETTINGS", "force_tcg")
                    .args(["-q", "--format", "raw"])
                    .args(args("169.254.2.2")),
            )
        })
        .collect();
    println!("{}", report_line("virt-customize", &Stats::of(&lg)));
    println!(
        "ratio (virt-customize / guestwright, medians): {:.1}x",
        median(&lg).as_secs_f64() / median(&ours).as_secs_f64()
    );
}

/// Rows (b) and (c), or only the one `only` names (`b` or `c`; anything else: both).
fn rows_b_c(dir: &Path, runs: usize, theirs: bool, only: &str) {
    if only != "c" {
        row_b(dir, runs, theirs);
    }
    if only != "b" {
        row_c(dir, runs, theirs);
    }
}

fn row_b(dir: &Path, runs: usize, theirs: bool) {
    let repo = dir.join("repo");
    std::fs::create_dir_all(&repo).unwrap();
    index_repo(
        &repo,
        &[DebPackage {
            name: "gw-bench",
            version: "1.0",
            files: &[("/usr/share/gw-bench/bench.txt", "bench\n")],
        }],
    );
    let server = RepoServer::start(&repo, Duration::from_secs(7200));
    let deb = debootstrap_debian(dir);
    let port = server.port;
    let install = move |host: &str| -> Vec<String> {
        vec![
            "--delete".into(),
            "/etc/apt/sources.list.d/*".into(),
            "--write".into(),
            format!("/etc/apt/sources.list:deb [trusted=yes] http://{host}:{port}/ ./\n"),
            "--install".into(),
            "gw-bench".into(),
        ]
    };
    row(
        "(b) --install of one local package (debootstrap Debian)",
        dir,
        &deb,
        &install,
        runs,
        theirs,
    );
}

fn row_c(dir: &Path, runs: usize, theirs: bool) {
    let base = customize_images::debian(dir, "row-base.raw");
    let cmds = |_: &str| -> Vec<String> {
        [
            "--run-command",
            "echo hi > /root/hi",
            "--firstboot-command",
            "touch /root/fb",
        ]
        .map(str::to_owned)
        .to_vec()
    };
    row(
        "(c) --run-command + --firstboot-command (Debian-like)",
        dir,
        &base,
        &cmds,
        runs,
        theirs,
    );
}
