//! Batch benchmark (issue 16): N copies of the Debian-like qcow2 image, `--hostname` and
//! `--root-password` each, done three ways:
//!
//! (a) one `guestwright batch --appliances K` over all N (K: the default, or BATCH_BENCH_K);
//! (b) N sequential `guestwright customize` runs;
//! (c) N sequential `virt-customize` runs (LIBGUESTFS_BACKEND_SETTINGS=force_tcg), when
//!     libguestfs is installed.
//!
//! Then how the batch time grows with N (10, 50, 100 unless given) and the batch's peak
//! memory (the whole process tree, `bench::peak_rss`). Goals of the issue: (a) at least 20x
//! faster than (c) and at least 2x faster than (b).
//!
//!     cargo bench -p guestwright-tests --bench batch [-- N [N...]]
//!     BATCH_BENCH_ROWS=growth cargo bench ...   only the batch times by job count
//!
//! Runs under TCG unless GUESTWRIGHT_ACCEL says otherwise.

#[path = "../tests/customize_images/mod.rs"]
mod customize_images;

use guestwright_tests::bench::peak_rss;
use guestwright_tests::{guestwright, run};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn main() {
    let mut sizes: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    if sizes.is_empty() {
        sizes = vec![10, 50, 100];
    }
    let n = *sizes.iter().max().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let raw = customize_images::debian(dir.path(), "bench.raw");
    let template = dir.path().join("template.qcow2");
    run(Command::new("qemu-img")
        .args(["convert", "-f", "raw", "-O", "qcow2"])
        .arg(&raw)
        .arg(&template));
    let libguestfs = Command::new("virt-customize")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    // One untimed run fills the appliance cache and the saved appliance.
    let warm = copies(dir.path(), &template, "warm", 1);
    run(guestwright()
        .args(["customize", "-q", "-a"])
        .arg(&warm[0])
        .args(["--hostname", "warm-up"]));

    let k = std::env::var("BATCH_BENCH_K").ok();
    if std::env::var("BATCH_BENCH_ROWS").as_deref() != Ok("growth") {
        compare(dir.path(), &template, n, k.as_deref(), libguestfs);
    }

    println!("batch time by job count:");
    for &size in &sizes {
        let imgs = copies(dir.path(), &template, &format!("grow{size}"), size);
        let (t, peak) = batch(dir.path(), &imgs, k.as_deref());
        println!(
            "  {size:>4} jobs: {:.1} s ({:.2} s/job), peak RSS {peak} MiB",
            t.as_secs_f64(),
            t.as_secs_f64() / size as f64
        );
    }
}

/// Rows (a) to (c): one batch over `n` images against `n` sequential customize runs of each
/// tool.
fn compare(dir: &Path, template: &Path, n: usize, k: Option<&str>, libguestfs: bool) {
    println!("batch benchmark: {n} images, --hostname and --root-password each");
    let imgs = copies(dir, template, "batch", n);
    let (t_batch, peak) = batch(dir, &imgs, k);
    println!(
        "(a) guestwright batch{}: {:.1} s ({:.2} s/image), peak RSS {} MiB",
        k.map(|k| format!(" --appliances {k}")).unwrap_or_default(),
        t_batch.as_secs_f64(),
        t_batch.as_secs_f64() / n as f64,
        peak
    );

    let imgs = copies(dir, template, "single", n);
    let t = Instant::now();
    for (i, img) in imgs.iter().enumerate() {
        run(guestwright()
            .args(["customize", "-q", "-a"])
            .arg(img)
            .args(["--hostname", &format!("vm{i:03}")])
            .args(["--root-password", &format!("password:pw{i}")]));
    }
    let t_single = t.elapsed();
    println!(
        "(b) {n} x guestwright customize: {:.1} s; batch is {:.1}x faster",
        t_single.as_secs_f64(),
        t_single.as_secs_f64() / t_batch.as_secs_f64()
    );

    if libguestfs {
        let imgs = copies(dir, template, "virt", n);
        let t = Instant::now();
        for (i, img) in imgs.iter().enumerate() {
            run(Command::new("virt-customize")
                .env("LIBGUESTFS_BACKEND_SETTINGS", "force_tcg")
                .args(["-q", "-a"])
                .arg(img)
                .args(["--hostname", &format!("vm{i:03}")])
                .args(["--root-password", &format!("password:pw{i}")]));
            if (i + 1) % 10 == 0 && i + 1 < n {
                // A long row: its progress, so that a run stopped early still says something.
                println!(
                    "    {} of {n} virt-customize runs: {:.1} s",
                    i + 1,
                    t.elapsed().as_secs_f64()
                );
            }
        }
        let t_virt = t.elapsed();
        println!(
            "(c) {n} x virt-customize: {:.1} s; batch is {:.1}x faster",
            t_virt.as_secs_f64(),
            t_virt.as_secs_f64() / t_batch.as_secs_f64()
        );
    } else {
        println!("(c) virt-customize: not installed (scripts/setup --bench), skipped");
    }
}

/// `n` copies of the template (qcow2 copies are cheap: the image is small).
fn copies(dir: &Path, template: &Path, prefix: &str, n: usize) -> Vec<PathBuf> {
    (0..n)
        .map(|i| {
            let p = dir.join(format!("{prefix}-{i:03}.qcow2"));
            std::fs::copy(template, &p).unwrap();
            p
        })
        .collect()
}

/// Runs one batch over `imgs`; returns its time and its peak memory (MiB).
fn batch(dir: &Path, imgs: &[PathBuf], k: Option<&str>) -> (Duration, u64) {
    let jobs = dir.join("jobs.jsonl");
    let mut f = std::fs::File::create(&jobs).unwrap();
    for (i, img) in imgs.iter().enumerate() {
        let job = serde_json::json!({
            "id": format!("vm{i:03}"),
            "drives": [{"path": img, "format": "qcow2"}],
            "customize": ["--hostname", format!("vm{i:03}"),
                          "--root-password", format!("password:pw{i}")],
        });
        writeln!(f, "{job}").unwrap();
    }
    drop(f);
    let mut cmd = guestwright();
    cmd.arg("batch");
    if let Some(k) = k {
        cmd.args(["--appliances", k]);
    }
    cmd.arg(&jobs).stdout(Stdio::null());
    let t = Instant::now();
    let (status, peak) = peak_rss(&mut cmd);
    let took = t.elapsed();
    assert!(status.success(), "guestwright batch failed: {status}");
    (took, peak.total_kib / 1024)
}
