//! A local apt repository for the package tests: packages built with `dpkg-deb`, indexed with
//! `dpkg-scanpackages` into a flat repository (`deb [trusted=yes] URL ./`), and served over
//! HTTP on 127.0.0.1 by a small server thread of the test itself, which QEMU's user-mode
//! network reaches from the appliance as 169.254.2.2. The server answers GET and HEAD for files
//! of the repository directory only, logs every request, and stops when dropped (or after
//! its deadline).

use crate::{require, run};
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

/// One package to build: every file is installed with mode 0644 (0755 under `/usr/bin`).
#[derive(Debug, Clone)]
pub struct DebPackage<'a> {
    /// Package name.
    pub name: &'a str,
    /// Version.
    pub version: &'a str,
    /// (absolute path, content).
    pub files: &'a [(&'a str, &'a str)],
}

/// Builds `pkg` into `dir` and returns the .deb.
pub fn build_deb(dir: &Path, pkg: &DebPackage<'_>) -> PathBuf {
    require("dpkg-deb", "dpkg");
    let work = tempfile::tempdir().unwrap();
    let root = work.path().join("root");
    std::fs::create_dir_all(root.join("DEBIAN")).unwrap();
    std::fs::write(
        root.join("DEBIAN/control"),
        format!(
            "Package: {}\nVersion: {}\nArchitecture: all\nMaintainer: guestwright tests <dev@guestwright.invalid>\nPriority: optional\nSection: misc\nDescription: guestwright test package {}\n",
            pkg.name, pkg.version, pkg.name
        ),
    )
    .unwrap();
    for (path, content) in pkg.files {
        let p = root.join(path.trim_start_matches('/'));
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, content).unwrap();
        let mode = if path.starts_with("/usr/bin/") {
            0o755
        } else {
            0o644
        };
        std::fs::set_permissions(&p, std::os::unix::fs::PermissionsExt::from_mode(mode)).unwrap();
    }
    let deb = dir.join(format!("{}_{}_all.deb", pkg.name, pkg.version));
    run(Command::new("dpkg-deb")
        .args(["--root-owner-group", "-Zgzip", "--build"])
        .arg(&root)
        .arg(&deb));
    deb
}

/// Makes `dir` a flat repository of exactly `packages` (older .debs are removed): the
/// `Packages` index and a `Release` file with its hashes.
pub fn index_repo(dir: &Path, packages: &[DebPackage<'_>]) {
    require("dpkg-scanpackages", "dpkg-dev");
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        std::fs::remove_file(e.path()).unwrap();
    }
    for p in packages {
        build_deb(dir, p);
    }
    let out = run(Command::new("dpkg-scanpackages")
        .args(["--multiversion", "."])
        .current_dir(dir));
    std::fs::write(dir.join("Packages"), &out.stdout).unwrap();
    let sha = crate::sha256(&dir.join("Packages"));
    std::fs::write(
        dir.join("Release"),
        format!(
            "Origin: guestwright-tests\nLabel: guestwright-tests\nArchitectures: all amd64\nSHA256:\n {sha} {} Packages\n",
            out.stdout.len()
        ),
    )
    .unwrap();
}

/// The HTTP server of a repository directory; stops when dropped.
#[derive(Debug)]
pub struct RepoServer {
    /// The port on 127.0.0.1.
    pub port: u16,
    stop: Arc<AtomicBool>,
    log: mpsc::Receiver<String>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl RepoServer {
    /// Serves `dir` on an ephemeral port of 127.0.0.1 for at most `deadline`.
    pub fn start(dir: &Path, deadline: Duration) -> RepoServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let stop = Arc::new(AtomicBool::new(false));
        let (tx, log) = mpsc::channel();
        let dir = dir.to_path_buf();
        let stop2 = stop.clone();
        let thread = std::thread::spawn(move || {
            let started = Instant::now();
            while !stop2.load(Ordering::Relaxed) && started.elapsed() < deadline {
                match listener.accept() {
                    Ok((conn, _)) => serve(conn, &dir, &tx),
                    Err(_) => std::thread::sleep(Duration::from_millis(10)),
                }
            }
        });
        RepoServer {
            port,
            stop,
            log,
            thread: Some(thread),
        }
    }

    /// The requests so far (`METHOD PATH STATUS`).
    pub fn requests(&self) -> Vec<String> {
        self.log.try_iter().collect()
    }
}

impl Drop for RepoServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Answers the requests of one connection (keep-alive, as apt uses it), each within 30 s.
fn serve(conn: TcpStream, dir: &Path, log: &mpsc::Sender<String>) {
    let _ = conn.set_nonblocking(false);
    let _ = conn.set_read_timeout(Some(Duration::from_secs(30)));
    let _ = conn.set_write_timeout(Some(Duration::from_secs(30)));
    let mut reader = BufReader::new(conn.try_clone().unwrap());
    let mut out = conn;
    loop {
        let mut request = String::new();
        if reader.read_line(&mut request).unwrap_or(0) == 0 {
            return;
        }
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h).unwrap_or(0) == 0 {
                return;
            }
            if h == "\r\n" || h == "\n" {
                break;
            }
        }
        let mut words = request.split_whitespace();
        let (method, path) = (words.next().unwrap_or(""), words.next().unwrap_or(""));
        let name = path.trim_start_matches('/').trim_start_matches("./");
        let file = (!name.contains("..") && !name.is_empty() && !name.contains('/'))
            .then(|| std::fs::read(dir.join(name)).ok())
            .flatten();
        let status = if file.is_some() { 200 } else { 404 };
        let _ = log.send(format!("{method} {path} {status}"));
        let body = file.unwrap_or_default();
        let head = format!(
            "HTTP/1.1 {status} {}\r\nContent-Length: {}\r\nContent-Type: application/octet-stream\r\n\r\n",
            if status == 200 { "OK" } else { "Not Found" },
            body.len()
        );
        if out.write_all(head.as_bytes()).is_err() {
            return;
        }
        if method != "HEAD" && out.write_all(&body).is_err() {
            return;
        }
    }
}

/// Runs a command with a deadline, killing it when it passes; returns its output.
pub fn run_within(cmd: &mut Command, deadline: Duration) -> std::process::Output {
    use std::io::Read;
    let mut child = cmd
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let t_out = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = out.read_to_end(&mut v);
        v
    });
    let t_err = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = err.read_to_end(&mut v);
        v
    });
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if start.elapsed() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{cmd:?} did not finish within {deadline:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    std::process::Output {
        status,
        stdout: t_out.join().unwrap(),
        stderr: t_err.join().unwrap(),
    }
}
