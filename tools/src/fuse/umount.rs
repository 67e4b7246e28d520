//! `guestwright umount`: unmount, then wait until the serving process has finished the
//! image (see `state` for the lock that tells). Another program's FUSE mount (guestmount's,
//! say) is unmounted as guestunmount does, with nothing to wait for after.
//!
//! Exit codes as guestunmount's: 0 done, 1 error, 2 still busy, 3 not mounted.

use super::state::{self, Outcome};
use super::sys;
use super::UmountArgs;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Duration;

/// How long to wait for the serving process to finish the image after the unmount.
const FINISH_TIMEOUT: Duration = Duration::from_secs(600);
/// The first pause between retries of a busy unmount; it doubles each time.
const FIRST_PAUSE: Duration = Duration::from_millis(250);

const BUSY: u8 = 2;
const NOT_MOUNTED: u8 = 3;

#[derive(Debug)]
enum Failure {
    Busy(String),
    NotMounted(String),
    Other(String),
}

/// The mountpoint as mountinfo writes it, even when the FUSE server is gone and stat of the
/// directory fails with ENOTCONN.
fn canonical(p: &Path) -> PathBuf {
    if let Ok(c) = p.canonicalize() {
        return c;
    }
    let abs = std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
    match (abs.parent(), abs.file_name()) {
        (Some(parent), Some(name)) => parent
            .canonicalize()
            .map(|d| d.join(name))
            .unwrap_or(abs.clone()),
        _ => abs,
    }
}

fn fusermount(args: &[&str], mountpoint: &Path) -> Result<(), Failure> {
    let out = Command::new("fusermount3")
        .args(args)
        .arg("--")
        .arg(mountpoint)
        .output()
        .map_err(|e| {
            Failure::Other(format!(
                "cannot run fusermount3 (apt-get install fuse3): {e}"
            ))
        })?;
    if out.status.success() {
        return Ok(());
    }
    let text = String::from_utf8_lossy(&out.stderr).trim().to_string();
    if text.contains("busy") {
        Err(Failure::Busy(text))
    } else if text.contains("not found") || text.contains("not mounted") {
        Err(Failure::NotMounted(text))
    } else {
        Err(Failure::Other(text))
    }
}

fn unmount_once(mountpoint: &Path) -> Result<(), Failure> {
    if sys::euid() != 0 {
        return fusermount(&["-u"], mountpoint);
    }
    sys::umount(mountpoint, false).map_err(|e| match e.raw_os_error() {
        Some(libc::EBUSY) => Failure::Busy(e.to_string()),
        Some(libc::EINVAL) | Some(libc::ENOENT) => Failure::NotMounted(e.to_string()),
        _ => Failure::Other(e.to_string()),
    })
}

/// Unmounts at once even if busy (the serving process's reaction to a stop signal).
pub fn detach(mountpoint: &Path) -> Result<(), String> {
    if sys::euid() != 0 {
        return fusermount(&["-u", "-z"], mountpoint).map_err(|f| format!("{f:?}"));
    }
    sys::umount(mountpoint, true).map_err(|e| e.to_string())
}

/// Runs `guestwright umount`.
pub fn run(args: &UmountArgs) -> ExitCode {
    let mp = canonical(&args.mountpoint);
    let shown = mp.display().to_string();
    let info = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let ours = match state::find_mount(&info, &mp) {
        None => {
            eprintln!("guestwright: {shown} is not mounted");
            return ExitCode::from(NOT_MOUNTED);
        }
        Some(m) if !m.is_fuse() => {
            eprintln!(
                "guestwright: {shown} is not a FUSE mount (it is {}): use umount(8)",
                m.fstype
            );
            return ExitCode::from(NOT_MOUNTED);
        }
        Some(m) => m.is_guestwright(),
    };
    // Opened before the unmount: the serving process removes the file when it is done.
    let mut lock = if ours {
        state::lock_path(&mp).ok().and_then(|p| File::open(p).ok())
    } else {
        None
    };
    let retries = if args.no_retry { 0 } else { args.retry };
    let mut pause = FIRST_PAUSE;
    let mut attempt = 0;
    loop {
        match unmount_once(&mp) {
            Ok(()) => break,
            Err(Failure::Busy(why)) if attempt < retries => {
                log::debug!("{shown} is busy ({why}); retrying in {pause:?}");
                std::thread::sleep(pause);
                pause *= 2;
                attempt += 1;
            }
            Err(Failure::Busy(why)) => {
                eprintln!(
                    "guestwright: {shown} is busy ({why}): close the files and shells using it (`fuser -vm {shown}` lists them) and try again"
                );
                return ExitCode::from(BUSY);
            }
            Err(Failure::NotMounted(why)) => {
                eprintln!("guestwright: {shown} is not mounted ({why})");
                return ExitCode::from(NOT_MOUNTED);
            }
            Err(Failure::Other(why)) => {
                eprintln!("guestwright: cannot unmount {shown}: {why}");
                return ExitCode::from(1);
            }
        }
    }
    let Some(file) = lock.as_mut() else {
        if ours {
            log::warn!("{shown} was unmounted, but its serving process cannot be waited for");
        }
        return ExitCode::SUCCESS;
    };
    match state::wait(file, FINISH_TIMEOUT) {
        Ok(Some(Outcome::Done)) => ExitCode::SUCCESS,
        Ok(Some(Outcome::Failed(why))) => {
            eprintln!("guestwright: {shown} was unmounted, but finishing the image failed: {why}");
            ExitCode::from(1)
        }
        Ok(Some(Outcome::Vanished)) => {
            eprintln!(
                "guestwright: {shown} was unmounted, but its serving process ended without finishing the image: it may lack the last writes"
            );
            ExitCode::from(1)
        }
        Ok(None) => {
            eprintln!(
                "guestwright: {shown} was unmounted, but the image was not finished after {FINISH_TIMEOUT:?}"
            );
            ExitCode::from(1)
        }
        Err(e) => {
            eprintln!("guestwright: waiting for {shown} to be finished: {e}");
            ExitCode::from(1)
        }
    }
}
