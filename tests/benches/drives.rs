//! Network drives benchmark: launch + `cat` of one file through each drive form, against the
//! same image as a local file, and against `guestfish --ro -a URI` on the same server:
//!
//! - `guestwright cat -a IMG -m /dev/sda2 /srv/marker` for a local file, NBD on a unix
//!   socket, NBD on TCP and HTTP (the test suite's range-capable server);
//! - `guestfish --ro -a URI -m /dev/sda2 cat /srv/marker` on the same servers (libguestfs
//!   1.48, LIBGUESTFS_BACKEND=direct LIBGUESTFS_BACKEND_SETTINGS=force_tcg).
//!
//!     cargo bench -p guestwright-tests --bench drives [-- RUNS]
//!
//! Runs under TCG unless GUESTWRIGHT_ACCEL says otherwise.

#[path = "../tests/serverkit/mod.rs"]
mod serverkit;

use guestwright_tests::bench::{median, report_line, Stats};
use guestwright_tests::{debian_like, file, guestwright, run};
use serverkit::*;
use std::net::TcpStream;
use std::process::Command;
use std::time::{Duration, Instant};

fn main() {
    let runs: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(5);
    let dir = tempfile::tempdir().unwrap();
    let img = debian_like(dir.path(), "disk.img", &[file("/srv/marker", "bench\n")]);
    let sock = dir.path().join("nbd.sock");
    let _unix = qemu_nbd(&img, "", true, &["-k", sock.to_str().unwrap()]);
    let port = free_port();
    let _tcp = qemu_nbd(
        &img,
        "",
        true,
        &["-b", "127.0.0.1", "-p", &port.to_string()],
    );
    wait_for("qemu-nbd", || {
        sock.exists() && TcpStream::connect(("127.0.0.1", port)).is_ok()
    });
    let http = Http::serve(img.clone());
    let forms = [
        ("local file", img.display().to_string()),
        (
            "nbd+unix",
            format!("nbd+unix:///?socket={}", sock.display()),
        ),
        ("nbd tcp", format!("nbd://127.0.0.1:{port}")),
        ("http", format!("http://127.0.0.1:{}/disk.img", http.port)),
    ];
    // One untimed run fills the appliance cache and the saved appliance.
    run(guestwright().args(["cat", "-a", &forms[0].1, "-m", "/dev/sda2", "/srv/marker"]));
    let has_libguestfs = Command::new("guestfish").arg("--version").output().is_ok();
    let lg_runs = runs.min(5);
    let accel = std::env::var("GUESTWRIGHT_ACCEL").unwrap_or_else(|_| "tcg".into());
    println!(
        "drives, {runs} runs of guestwright and {lg_runs} of libguestfs, accelerator {accel}:"
    );
    let mut base = None;
    for (label, uri) in &forms {
        let gw = time(runs, || {
            let out = run(guestwright().args(["cat", "-a", uri, "-m", "/dev/sda2", "/srv/marker"]));
            assert_eq!(out.stdout, b"bench\n");
        });
        let gw_m = median(&gw);
        let base_m = *base.get_or_insert(gw_m);
        println!(
            "{}  x{:.2} of the local file",
            report_line(&format!("guestwright {label}"), &Stats::of(&gw)),
            gw_m.as_secs_f64() / base_m.as_secs_f64()
        );
        if has_libguestfs {
            // guestfish 1.48's -a takes no nbd+unix URI (it looks for a file of that name):
            // its `add` with protocol and server says the same.
            let args: Vec<String> = match uri.strip_prefix("nbd+unix:///?socket=") {
                Some(socket) => [
                    "--",
                    "add",
                    "",
                    "protocol:nbd",
                    &format!("server:unix:{socket}"),
                    "format:raw",
                    "readonly:true",
                    ":",
                    "run",
                    ":",
                    "mount-ro",
                    "/dev/sda2",
                    "/",
                    ":",
                    "cat",
                    "/srv/marker",
                ]
                .map(String::from)
                .to_vec(),
                None => [
                    "--ro",
                    "--format=raw",
                    "-a",
                    uri,
                    "-m",
                    "/dev/sda2",
                    "cat",
                    "/srv/marker",
                ]
                .map(String::from)
                .to_vec(),
            };
            let lg = time(lg_runs, || {
                let out = run(Command::new("guestfish")
                    .env("LIBGUESTFS_BACKEND", "direct")
                    .env("LIBGUESTFS_BACKEND_SETTINGS", "force_tcg")
                    .args(&args));
                assert!(out.stdout.starts_with(b"bench\n"));
            });
            println!(
                "{}  guestfish/guestwright x{:.1}",
                report_line(&format!("guestfish {label}"), &Stats::of(&lg)),
                median(&lg).as_secs_f64() / gw_m.as_secs_f64()
            );
        }
    }
}

fn time(n: usize, mut f: impl FnMut()) -> Vec<Duration> {
    (0..n)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .collect()
}
