//! Readers benchmark, on one Debian-like qcow2 image and, when libguestfs is installed, side
//! by side with its tools in the same run:
//!
//! - `guestwright cat -a IMG /etc/hostname` (inspects and mounts) against
//!   `guestfish --ro -a IMG -i cat /etc/hostname`;
//! - `guestwright inspect -a IMG` against `virt-inspector -a IMG`;
//! - upload and download of 256 MiB in one session, timed by each shell's own `time`
//!   command around the transfer alone (no launch), against guestfish doing the same.
//!
//!     cargo bench -p guestwright-tests --bench readers [-- RUNS]
//!
//! Runs under TCG unless GUESTWRIGHT_ACCEL says otherwise; libguestfs runs with
//! LIBGUESTFS_BACKEND_SETTINGS=force_tcg (on these machines its KVM attempt hangs). Goals:
//! cat -i and inspect at most 1.5 s (libguestfs 13.2 s and 14.0 s here), transfers at least
//! 150 MB/s (libguestfs 37 and 39 MB/s).

#[path = "../tests/customize_images/mod.rs"]
mod customize_images;

use guestwright_tests::bench::{median, report_line, Stats};
use guestwright_tests::{debugfs_write_at, guestwright, run, PART_OFFSET, PART_SIZE};
use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// Two packages, as dpkg records them.
const DPKG_STATUS: &str = "Package: base-files\nStatus: install ok installed\nPriority: required\n\
Architecture: amd64\nVersion: 12.4+deb12u5\nDescription: Debian base system miscellaneous files\n\n\
Package: bash\nStatus: install ok installed\nPriority: required\nArchitecture: amd64\n\
Version: 5.2.15-2+b2\nDescription: GNU Bourne Again SHell\n";

/// Bytes moved by each transfer.
const TRANSFER: u64 = 256 << 20;

fn main() {
    let runs: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(5);
    let dir = tempfile::tempdir().unwrap();
    let raw = customize_images::debian(dir.path(), "bench.raw");
    // virt-inspector gives up on a Debian guest without a dpkg database: give it one.
    let status = dir.path().join("status");
    std::fs::write(&status, DPKG_STATUS).unwrap();
    debugfs_write_at(
        &raw,
        PART_OFFSET,
        PART_SIZE,
        &format!(
            "mkdir /var/lib/dpkg\nwrite {} /var/lib/dpkg/status\n",
            status.display()
        ),
    );
    let img = dir.path().join("bench.qcow2");
    run(Command::new("qemu-img")
        .args(["convert", "-f", "raw", "-O", "qcow2"])
        .arg(&raw)
        .arg(&img));
    // A filesystem with room for the transfers, and the data to send.
    let big = dir.path().join("big.img");
    std::fs::File::create(&big)
        .unwrap()
        .set_len(3 * TRANSFER)
        .unwrap();
    run(Command::new("mkfs.ext4").args(["-q", "-F"]).arg(&big));
    let data = dir.path().join("data.bin");
    write_data(&data);
    let sha = sha256(&data);
    let has_libguestfs = Command::new("guestfish").arg("--version").output().is_ok();
    let lg_runs = runs.min(7);

    // One untimed run fills the appliance cache.
    run(guestwright()
        .args(["cat", "-a"])
        .arg(&img)
        .arg("/etc/hostname"));
    let accel = std::env::var("GUESTWRIGHT_ACCEL").unwrap_or_else(|_| "tcg".into());
    println!(
        "readers, {runs} runs of guestwright and {lg_runs} of libguestfs, accelerator {accel}:"
    );

    let cat = time(runs, || {
        let out = run(guestwright()
            .args(["cat", "-a"])
            .arg(&img)
            .arg("/etc/hostname"));
        assert_eq!(out.stdout, b"debian-tmpl\n");
    });
    let inspect = time(runs, || {
        let out = run(guestwright().args(["inspect", "-a"]).arg(&img));
        assert!(String::from_utf8_lossy(&out.stdout).contains("\"debian\""));
    });
    let (mut up, mut down) = (Vec::new(), Vec::new());
    for _ in 0..runs {
        let (u, d) = transfer(guestwright().arg("shell"), &big, &data, &sha, dir.path());
        up.push(u);
        down.push(d);
    }
    println!(
        "{}",
        report_line("guestwright cat -i /etc/hostname", &Stats::of(&cat))
    );
    println!(
        "{}",
        report_line("guestwright inspect", &Stats::of(&inspect))
    );
    print_rate("guestwright upload 256 MiB", &up);
    print_rate("guestwright download 256 MiB", &down);

    if !has_libguestfs {
        println!("libguestfs: guestfish not installed, no comparison");
        return;
    }
    let lg_cat = time(lg_runs, || {
        let out = libguestfs(
            Command::new("guestfish")
                .args(["--ro", "-a"])
                .arg(&img)
                .args(["-i", "cat", "/etc/hostname"]),
        );
        // guestfish ends what it prints with a newline of its own.
        assert_eq!(out.stdout, b"debian-tmpl\n\n");
    });
    let lg_inspect = time(lg_runs, || {
        let out = libguestfs(Command::new("virt-inspector").arg("-a").arg(&img));
        assert!(String::from_utf8_lossy(&out.stdout).contains("<distro>debian</distro>"));
    });
    let (mut lg_up, mut lg_down) = (Vec::new(), Vec::new());
    for _ in 0..lg_runs {
        let mut gf = Command::new("guestfish");
        gf.env("LIBGUESTFS_BACKEND_SETTINGS", "force_tcg");
        let (u, d) = transfer(&mut gf, &big, &data, &sha, dir.path());
        lg_up.push(u);
        lg_down.push(d);
    }
    println!(
        "{}",
        report_line("guestfish --ro -i cat /etc/hostname", &Stats::of(&lg_cat))
    );
    println!("{}", report_line("virt-inspector", &Stats::of(&lg_inspect)));
    print_rate("guestfish upload 256 MiB", &lg_up);
    print_rate("guestfish download 256 MiB", &lg_down);
    println!("ratios (libguestfs / guestwright, medians):");
    ratio("cat -i", &lg_cat, &cat, "goal <= 1.5 s");
    ratio("inspect", &lg_inspect, &inspect, "goal <= 1.5 s");
    ratio("upload", &lg_up, &up, "goal >= 150 MB/s");
    ratio("download", &lg_down, &down, "goal >= 150 MB/s");
}

/// Runs `f` `n` times and returns how long each took.
fn time(n: usize, mut f: impl FnMut()) -> Vec<Duration> {
    (0..n)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .collect()
}

/// Runs a libguestfs tool under TCG and requires success.
fn libguestfs(cmd: &mut Command) -> Output {
    let out = cmd
        .env("LIBGUESTFS_BACKEND_SETTINGS", "force_tcg")
        .output()
        .expect("libguestfs tool");
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// One session of `shell` (guestwright's or guestfish): uploads `data` into the filesystem
/// on `big` and downloads it again, each inside the shell's `time` command. Returns the
/// two transfer times, after checking the downloaded copy.
fn transfer(
    shell: &mut Command,
    big: &Path,
    data: &Path,
    sha: &str,
    dir: &Path,
) -> (Duration, Duration) {
    let back = dir.join("back.bin");
    let _ = std::fs::remove_file(&back);
    let out = shell
        .args(["--rw", "--format=raw", "-a"])
        .arg(big)
        .args(["-m", "/dev/sda", "time", "upload"])
        .arg(data)
        .args(["/big", ":", "time", "download", "/big"])
        .arg(&back)
        .args([":", "rm", "/big"])
        .output()
        .expect("shell");
    assert!(
        out.status.success(),
        "{shell:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(sha256(&back), sha, "the downloaded copy differs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let times: Vec<Duration> = text
        .lines()
        .filter_map(|l| l.strip_prefix("elapsed time: "))
        .filter_map(|l| l.split_whitespace().next()?.parse::<f64>().ok())
        .map(Duration::from_secs_f64)
        .collect();
    assert_eq!(times.len(), 2, "two `elapsed time` lines in:\n{text}");
    (times[0], times[1])
}

fn print_rate(name: &str, times: &[Duration]) {
    let mbs = |d: Duration| TRANSFER as f64 / 1e6 / d.as_secs_f64();
    let mut rates: Vec<f64> = times.iter().map(|&d| mbs(d)).collect();
    rates.sort_by(f64::total_cmp);
    println!(
        "  {name:<36} median {:7.1} MB/s  (min {:.1}, max {:.1}; {:.2} s)",
        mbs(median(times)),
        rates[0],
        rates[rates.len() - 1],
        median(times).as_secs_f64()
    );
}

fn ratio(name: &str, theirs: &[Duration], ours: &[Duration], goal: &str) {
    println!(
        "  {name:<10} {:5.1}x  ({:.2} s vs {:.2} s; {goal})",
        median(theirs).as_secs_f64() / median(ours).as_secs_f64(),
        median(theirs).as_secs_f64(),
        median(ours).as_secs_f64()
    );
}

/// 256 MiB that do not compress (so neither side can shortcut them).
fn write_data(path: &Path) {
    use std::io::Write;
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut block = vec![0u8; 1 << 20];
    for _ in 0..TRANSFER >> 20 {
        for chunk in block.chunks_mut(8) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            chunk.copy_from_slice(&x.to_le_bytes());
        }
        f.write_all(&block).unwrap();
    }
    f.flush().unwrap();
}

fn sha256(path: &Path) -> String {
    let out = run(Command::new("sha256sum").arg(path));
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .to_string()
}
