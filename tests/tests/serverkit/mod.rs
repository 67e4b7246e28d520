//! Servers and devices for the drive tests and benchmark: loop devices detached when dropped,
//! qemu-nbd, a range-capable HTTP server, sshd with an ssh-agent, tgtd. Every server is stopped
//! when its value is dropped, so a failing test leaves none behind.

#![allow(dead_code)]

use guestwright_sync::Mutex;
use guestwright_tests::{require, run};
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A loop device over a file, detached when dropped.
pub struct Loop(String);

impl Loop {
    pub fn attach(file: &Path, readonly: bool) -> Loop {
        require("losetup", "util-linux");
        let mut c = Command::new("losetup");
        c.args(["--find", "--show"]);
        if readonly {
            c.arg("--read-only");
        }
        let out = c.arg(file).output().expect("losetup");
        assert!(
            out.status.success(),
            "losetup failed (the drive tests need root to make loop devices): {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Loop(String::from_utf8_lossy(&out.stdout).trim().to_string())
    }
    pub fn path(&self) -> &str {
        &self.0
    }
}

impl Drop for Loop {
    fn drop(&mut self) {
        let _ = Command::new("losetup").args(["-d", &self.0]).status();
    }
}

/// A server process, killed (its whole process group) when dropped.
pub struct Server(Child);

impl Server {
    pub fn start(cmd: &mut Command) -> Server {
        use std::os::unix::process::CommandExt;
        cmd.stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .process_group(0);
        Server(
            cmd.spawn()
                .unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}")),
        )
    }
    /// Ends it with SIGTERM (qemu-nbd flushes its writes then) and waits.
    pub fn stop(mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.0.id().to_string()])
            .status();
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(20) {
            if self.0.try_wait().ok().flatten().is_some() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if self.0.try_wait().ok().flatten().is_none() {
            let _ = Command::new("kill")
                .args(["-KILL", "--", &format!("-{}", self.0.id())])
                .stderr(Stdio::null())
                .status();
            let _ = self.0.wait();
        }
    }
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Waits until `ready` says the server listens, failing after 20 s.
pub fn wait_for(what: &str, mut ready: impl FnMut() -> bool) {
    let started = Instant::now();
    while !ready() {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "{what} did not start listening within 20 s"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// `qemu-nbd` serving `file` (raw) on `listen` (`-k SOCKET` or `-b HOST -p PORT` words).
pub fn qemu_nbd(file: &Path, export: &str, readonly: bool, listen: &[&str]) -> Server {
    require("qemu-nbd", "qemu-utils");
    let mut c = Command::new("qemu-nbd");
    c.args(["-t", "-e", "4", "-f", "raw", "-x", export]);
    if readonly {
        c.arg("-r");
    }
    c.args(listen).arg(file);
    Server::start(&mut c)
}

/// A small HTTP/1.1 server for one file (at `/` and its name), with the range requests QEMU's curl driver needs
/// (Python's http.server has none). Stops when dropped.
pub struct Http {
    pub port: u16,
    stop: Arc<AtomicBool>,
    log: Arc<Mutex<Vec<String>>>,
}

impl Http {
    pub fn serve(file: PathBuf) -> Http {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let stop = Arc::new(AtomicBool::new(false));
        let log = Arc::new(Mutex::new(Vec::new()));
        let (flag, served, since) = (stop.clone(), log.clone(), Instant::now());
        std::thread::spawn(move || {
            while !flag.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((s, peer)) => {
                        let (file, served) = (file.clone(), served.clone());
                        std::thread::spawn(move || {
                            let end = http_connection(s, &file, &served, since);
                            let at = since.elapsed().as_secs_f64();
                            note(&served, format!("{at:.3}s {peer} closed: {end:?}"));
                        });
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(10)),
                }
            }
        });
        Http { port, stop, log }
    }
}

impl Drop for Http {
    /// Stops accepting. When a test fails, what the server saw goes to stderr, so a hung
    /// remote drive shows whether its last request reached the server and was answered.
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if std::thread::panicking() {
            let log = self.log.lock().clone();
            let from = log.len().saturating_sub(40);
            eprintln!(
                "--- HTTP server on port {}: {} events, the last {}:\n{}",
                self.port,
                log.len(),
                log.len() - from,
                log[from..].join("\n")
            );
        }
    }
}

fn note(log: &Mutex<Vec<String>>, event: String) {
    log.lock().push(event);
}

/// Serves `file` on one connection until the client closes it. Idle keep-alive connections
/// stay open, as the client decides when to close them (QEMU does when it exits).
pub fn http_connection(
    s: TcpStream,
    file: &Path,
    log: &Mutex<Vec<String>>,
    since: Instant,
) -> std::io::Result<()> {
    use std::os::unix::fs::FileExt;
    s.set_nonblocking(false)?;
    let peer = s.peer_addr()?;
    let mut r = BufReader::new(s.try_clone()?);
    let mut w = s;
    let f = std::fs::File::open(file)?;
    let size = f.metadata()?.len();
    loop {
        let mut line = String::new();
        if r.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let mut parts = line.split_whitespace();
        let (method, path) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
        let mut range = None;
        loop {
            let mut h = String::new();
            if r.read_line(&mut h)? == 0 {
                return Ok(());
            }
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            if let Some((k, v)) = h.split_once(':') {
                if k.eq_ignore_ascii_case("range") {
                    range = v.trim().strip_prefix("bytes=").and_then(|r| {
                        let (a, b) = r.split_once('-')?;
                        let a: u64 = a.parse().ok()?;
                        let b: u64 = if b.is_empty() {
                            size - 1
                        } else {
                            b.parse().ok()?
                        };
                        Some((a, b.min(size - 1)))
                    });
                }
            }
        }
        let served = format!(
            "/{}",
            file.file_name().unwrap_or_default().to_string_lossy()
        );
        if path != served {
            w.write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")?;
            continue;
        }
        let (status, a, b) = match range {
            Some((a, b)) => ("206 Partial Content", a, b),
            None => ("200 OK", 0, size - 1),
        };
        let len = b + 1 - a;
        note(
            log,
            format!(
                "{:.3}s {peer} {method} {path} {status} bytes {a}-{b}",
                since.elapsed().as_secs_f64()
            ),
        );
        let mut head = format!(
            "HTTP/1.1 {status}\r\nAccept-Ranges: bytes\r\nContent-Length: {len}\r\nContent-Type: application/octet-stream\r\n"
        );
        if range.is_some() {
            head.push_str(&format!("Content-Range: bytes {a}-{b}/{size}\r\n"));
        }
        head.push_str("\r\n");
        w.write_all(head.as_bytes())?;
        if method == "GET" {
            let mut buf = vec![0u8; len as usize];
            f.read_exact_at(&mut buf, a)?;
            w.write_all(&buf)?;
        }
    }
}

/// An sshd on 127.0.0.1 with generated keys in `dir`, and an ssh-agent holding the user
/// key; `env` is what guestwright needs to log in and check the host key.
pub struct Ssh {
    pub port: u16,
    pub env: Vec<(String, String)>,
    _sshd: Server,
    _agent: Server,
}

pub fn sshd(dir: &Path) -> Ssh {
    require("sshd", "openssh-server");
    require("ssh-keygen", "openssh-client");
    require("ssh-agent", "openssh-client");
    let key = |name: &str| {
        run(Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "", "-f"])
            .arg(dir.join(name)));
    };
    key("host_key");
    key("user_key");
    std::fs::copy(dir.join("user_key.pub"), dir.join("authorized_keys")).unwrap();
    // sshd's privilege separation directory; Debian's service creates it at start.
    std::fs::create_dir_all("/run/sshd").unwrap();
    let port = free_port();
    let config = dir.join("sshd_config");
    std::fs::write(
        &config,
        format!(
            "ListenAddress 127.0.0.1\nPort {port}\nHostKey {}\nAuthorizedKeysFile {}\n\
             PermitRootLogin prohibit-password\nPasswordAuthentication no\nUsePAM no\n\
             StrictModes no\nPidFile none\nSubsystem sftp internal-sftp\n",
            dir.join("host_key").display(),
            dir.join("authorized_keys").display()
        ),
    )
    .unwrap();
    let sshd = Server::start(
        Command::new("/usr/sbin/sshd")
            .args(["-D", "-e", "-f"])
            .arg(&config),
    );
    let agent_sock = dir.join("agent.sock");
    let agent = Server::start(
        Command::new("ssh-agent")
            .arg("-D")
            .arg("-a")
            .arg(&agent_sock),
    );
    wait_for("ssh-agent", || agent_sock.exists());
    run(Command::new("ssh-add")
        .env("SSH_AUTH_SOCK", &agent_sock)
        .arg(dir.join("user_key")));
    wait_for("sshd", || TcpStream::connect(("127.0.0.1", port)).is_ok());
    let fp = run(Command::new("ssh-keygen")
        .args(["-l", "-E", "sha256", "-f"])
        .arg(dir.join("host_key.pub")));
    let fp = String::from_utf8_lossy(&fp.stdout)
        .split_whitespace()
        .nth(1)
        .unwrap()
        .to_string();
    Ssh {
        port,
        env: vec![
            ("SSH_AUTH_SOCK".into(), agent_sock.display().to_string()),
            ("GUESTWRIGHT_SSH_HOST_KEY".into(), fp),
        ],
        _sshd: sshd,
        _agent: agent,
    }
}

/// tgtd (Debian's tgt) on 127.0.0.1:`port`, control index `port % 1000` so it meets no
/// other tgtd, exporting `file` as LUN 1 of `iqn` to any initiator. Its process group is
/// SIGKILLed when dropped (tgtd ignores SIGTERM while it has targets).
pub fn tgtd(file: &Path, iqn: &str, port: u16) -> Server {
    require("tgtd", "tgt");
    let ctl = (port % 1000).to_string();
    let server = Server::start(
        Command::new("tgtd")
            .args(["-f", "-C", &ctl, "--iscsi"])
            .arg(format!("portal=127.0.0.1:{port}")),
    );
    wait_for("tgtd", || TcpStream::connect(("127.0.0.1", port)).is_ok());
    wait_for("tgtd's control socket", || {
        Command::new("tgtadm")
            .args(["-C", &ctl, "--op", "show", "--mode", "sys"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    });
    let adm = |args: &[&str]| {
        run(Command::new("tgtadm")
            .args(["-C", &ctl, "--lld", "iscsi"])
            .args(args));
    };
    adm(&["--op", "new", "--mode", "target", "--tid", "1", "-T", iqn]);
    adm(&[
        "--op",
        "new",
        "--mode",
        "logicalunit",
        "--tid",
        "1",
        "--lun",
        "1",
        "-b",
        file.to_str().unwrap(),
    ]);
    adm(&[
        "--op", "bind", "--mode", "target", "--tid", "1", "-I", "ALL",
    ]);
    server
}

/// HTTPS in front of a plain [`Http`] server on `http_port`: socat with a self-signed
/// certificate for 127.0.0.1 made in `dir`, which no host trusts. Returns the server and its
/// port.
pub fn https(dir: &Path, http_port: u16) -> (Server, u16) {
    require("socat", "socat");
    require("openssl", "openssl");
    let (key, cert) = (dir.join("tls.key"), dir.join("tls.crt"));
    run(Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
        ])
        .args([
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .stderr(Stdio::null()));
    let port = free_port();
    let server = Server::start(
        Command::new("socat")
            .arg(format!(
                "OPENSSL-LISTEN:{port},bind=127.0.0.1,reuseaddr,fork,verify=0,cert={},key={}",
                cert.display(),
                key.display()
            ))
            .arg(format!("TCP:127.0.0.1:{http_port}")),
    );
    wait_for("socat", || TcpStream::connect(("127.0.0.1", port)).is_ok());
    (server, port)
}
