//! Running guest programs: `command` and `sh` chroot into the mounted guest root with the
//! appliance's /dev, /proc and /sys bound in, the guest's usual PATH, stdin from /dev/null
//! and the appliance's network if it has one. Output is captured with a bound; a timeout (and
//! a cancel) kills the whole process group; a non-zero exit is an error that carries the
//! status and stderr.
//!
//! This runs code from the image: it is as safe as the guest's binaries are (libguestfs says
//! the same of its `command`).

use crate::call::Call;
use crate::fs::guestfs::{self, SYSROOT};
use crate::{boot::reaper, sys};
use guestwright_sync::Mutex;
use std::ffi::CString;
use std::io::{self, Read};
use std::os::fd::AsFd;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Default time a command may run.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(600);
/// Most stdout bytes a command may produce (it is returned in one reply).
const STDOUT_MAX: usize = 3 * 1024 * 1024;
/// Stderr bytes kept for the error message.
const STDERR_KEEP: usize = 16 * 1024;
/// The guest's PATH.
const GUEST_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// What commands running at the same time share: the bind mounts of /dev, /proc and /sys
/// into the guest root and, with a network, the appliance's /etc/resolv.conf in place of the
/// guest's; made by the first, undone by the last. The lock is held while they are made or
/// undone (mount and file syscalls, no other lock, no round trip), so a second command never
/// runs before they exist, nor the last one's cleanup after a new first one.
static BINDS: Mutex<Shared> = Mutex::new(Shared {
    users: 0,
    mounts: Vec::new(),
    resolv: None,
});

struct Shared {
    users: usize,
    mounts: Vec<PathBuf>,
    resolv: Option<Resolv>,
}

struct Binds;

impl Binds {
    fn acquire() -> io::Result<Binds> {
        // Before the lock: this may wait for the network setup.
        let network = crate::boot::network::wait()?;
        let mut b = BINDS.lock();
        if b.users == 0 {
            b.mounts = bind_all()?;
            if network {
                match Resolv::install() {
                    Ok(r) => b.resolv = r,
                    Err(e) => {
                        unbind(&mut b.mounts);
                        return Err(e);
                    }
                }
            }
        }
        b.users += 1;
        drop(b);
        Ok(Binds)
    }
}

/// The guest's /etc/resolv.conf, set aside while commands run with the appliance's in its
/// place (as libguestfs does), so that names resolve through QEMU's DNS forwarder; put back
/// afterwards, whatever it was (a file, a symlink, nothing).
struct Resolv {
    etc: std::os::fd::OwnedFd,
    saved: Option<CString>,
}

const RESOLV: &std::ffi::CStr = c"resolv.conf";

impl Resolv {
    fn install() -> io::Result<Option<Resolv>> {
        let Ok(etc) = guestfs::open(
            &guestwright_protocol::GuestPath::from("/etc"),
            libc::O_PATH | libc::O_DIRECTORY,
            0,
        ) else {
            // A guest without /etc has no resolver to serve.
            return Ok(None);
        };
        let saved = match sys::fstatat(etc.as_fd(), RESOLV, libc::AT_SYMLINK_NOFOLLOW) {
            Ok(_) => {
                let name = CString::new(format!(".guestwright-resolv.conf.{:016x}", rand_u64()))
                    .expect("no NUL");
                sys::renameat2(
                    etc.as_fd(),
                    RESOLV,
                    etc.as_fd(),
                    &name,
                    libc::RENAME_NOREPLACE,
                )?;
                Some(name)
            }
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => None,
            Err(e) => return Err(e),
        };
        let r = Resolv { etc, saved };
        let fd = sys::openat2(
            r.etc.as_fd(),
            RESOLV,
            libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL | libc::O_NOFOLLOW,
            0o644,
            0,
        )?;
        std::io::Write::write_all(
            &mut std::fs::File::from(fd),
            crate::boot::network::RESOLV_CONF.as_bytes(),
        )?;
        Ok(Some(r))
    }

    fn restore(self) {
        if let Err(e) = sys::unlinkat(self.etc.as_fd(), RESOLV, 0) {
            if e.raw_os_error() != Some(libc::ENOENT) {
                info!("cannot remove the appliance's resolv.conf from the guest: {e}");
            }
        }
        if let Some(saved) = &self.saved {
            if let Err(e) = sys::renameat2(self.etc.as_fd(), saved, self.etc.as_fd(), RESOLV, 0) {
                info!("cannot put the guest's /etc/resolv.conf back: {e}");
            }
        }
    }
}

/// A random number for a temporary name, from the kernel's random pool.
fn rand_u64() -> u64 {
    let mut b = [0u8; 8];
    if let Ok(mut f) = std::fs::File::open("/dev/urandom") {
        let _ = f.read_exact(&mut b);
    }
    u64::from_ne_bytes(b)
        ^ u64::from(std::process::id())
        ^ Instant::now().elapsed().as_nanos() as u64
}

fn unbind(mounts: &mut Vec<PathBuf>) {
    for m in std::mem::take(mounts).iter().rev() {
        if let Err(e) = sys::umount(m, libc::MNT_DETACH) {
            info!("cannot unmount {}: {e}", m.display());
        }
    }
}

/// Binds the appliance's /dev, /proc and /sys onto the guest's; all or none.
fn bind_all() -> io::Result<Vec<PathBuf>> {
    let mut made = Vec::new();
    for dir in ["/dev", "/proc", "/sys"] {
        // Only onto a real directory of the guest (resolved inside it).
        let Ok(fd) = guestfs::open(
            &guestwright_protocol::GuestPath::from(dir),
            libc::O_PATH | libc::O_DIRECTORY | libc::O_NOFOLLOW,
            0,
        ) else {
            continue;
        };
        let real = guestfs::real_path(&fd)?;
        let target = sys::fd_path(fd.as_fd());
        match sys::mount(dir, &target, None, libc::MS_BIND | libc::MS_REC, None) {
            Ok(()) => made.push(real),
            Err(e) => {
                for m in made.iter().rev() {
                    let _ = sys::umount(m, libc::MNT_DETACH);
                }
                return Err(e);
            }
        }
    }
    Ok(made)
}

impl Drop for Binds {
    fn drop(&mut self) {
        let mut b = BINDS.lock();
        b.users -= 1;
        if b.users == 0 {
            if let Some(r) = b.resolv.take() {
                r.restore();
            }
            unbind(&mut b.mounts);
        }
    }
}

/// Reads a pipe to its end, keeping at most `keep` bytes; returns them and whether more came.
fn drain(
    mut r: impl Read + Send + 'static,
    keep: usize,
) -> std::thread::JoinHandle<(Vec<u8>, bool)> {
    std::thread::spawn(move || {
        let mut kept = Vec::new();
        let mut over = false;
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            match r.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    let room = keep.saturating_sub(kept.len());
                    kept.extend_from_slice(&buf[..n.min(room)]);
                    over |= n > room;
                }
            }
        }
        (kept, over)
    })
}

/// Runs `argv` in the guest and returns its stdout.
pub fn run(call: &Call, argv: &[String], timeout: Option<u64>) -> io::Result<String> {
    let Some(program) = argv.first().filter(|p| !p.is_empty()) else {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "no command given",
        ));
    };
    if argv.iter().any(|a| a.contains('\0')) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "arguments cannot contain NUL",
        ));
    }
    let timeout = timeout.map_or(DEFAULT_TIMEOUT, Duration::from_secs);
    let _binds = Binds::acquire()?;
    let mut cmd = Command::new(program);
    cmd.args(&argv[1..])
        .env_clear()
        .env("PATH", GUEST_PATH)
        .env("HOME", "/root")
        .env("LC_ALL", "C")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    sys::chroot_on_exec(&mut cmd, CString::new(SYSROOT).expect("no NUL"));
    let mut child = reaper::spawn(&mut cmd)?;
    let pgid = child.id() as libc::pid_t;
    let out = drain(child.stdout.take().expect("piped"), STDOUT_MAX);
    let err = drain(child.stderr.take().expect("piped"), STDERR_KEEP);
    let started = Instant::now();
    let mut why_killed = None;
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if why_killed.is_none() {
            if call.cancelled() {
                why_killed = Some("cancelled");
            } else if started.elapsed() > timeout {
                why_killed = Some("timeout");
            }
            if why_killed.is_some() {
                let _ = sys::kill_group(pgid, libc::SIGKILL);
            }
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    // Background children of the command would hold the pipes open: end them too.
    let _ = sys::kill_group(pgid, libc::SIGKILL);
    let _ = reaper::wait(child);
    let (stdout, stdout_over) = out.join().unwrap_or_default();
    let (stderr, _) = err.join().unwrap_or_default();
    let stderr = String::from_utf8_lossy(&stderr);
    let stderr = stderr.trim_end();
    let with_stderr = |msg: String| {
        if stderr.is_empty() {
            msg
        } else {
            format!("{msg}; stderr: {stderr}")
        }
    };
    match why_killed {
        Some("cancelled") => return Err(io::Error::from_raw_os_error(libc::ECANCELED)),
        Some(_) => {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                with_stderr(format!(
                    "{program} did not finish within {} s and was killed",
                    timeout.as_secs()
                )),
            ))
        }
        None => {}
    }
    if !status.success() {
        let how = match (
            status.code(),
            std::os::unix::process::ExitStatusExt::signal(&status),
        ) {
            (Some(code), _) => format!("exited with status {code}"),
            (None, Some(sig)) => format!("was killed by signal {sig}"),
            _ => "failed".to_string(),
        };
        return Err(io::Error::other(with_stderr(format!("{program} {how}"))));
    }
    if stdout_over {
        return Err(io::Error::other(format!(
            "{program} wrote more than {STDOUT_MAX} bytes to stdout; redirect its output to a file in the guest and download it"
        )));
    }
    Ok(String::from_utf8_lossy(&stdout).into_owned())
}

/// Output split into lines, without their line ends.
pub fn lines(out: &str) -> Vec<String> {
    out.lines().map(str::to_string).collect()
}
