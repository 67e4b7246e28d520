//! guestfish's bootloader installers, `syslinux` and `extlinux`: the host's programs,
//! carried into the appliance, run as libguestfs's daemon runs them (daemon/syslinux.c), on
//! a device or on a directory beneath the guest root. And 9p, which libguestfs 1.48
//! removed: its two calls fail as they do there.
//!
//! Nothing here writes boot code itself; the installers do, and their stderr is the error.

use crate::boot::tools;
use crate::fs::guestfs;
use guestwright_protocol::GuestPath;
use std::ffi::OsStr;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// `list_9p` and `mount_9p`: libguestfs 1.48's daemon answers both with this error (its
/// perror of errno 0 included), and guestfish prints it as it is.
pub fn removed_9p(call: &str) -> io::Error {
    io::Error::other(format!(
        "{call}: 9p support was removed in libguestfs 1.48: Success"
    ))
}

/// A tool's failure as libguestfs's daemon reports it: `CALL: [SUBJECT: ]STDERR`.
fn failed(call: &str, subject: Option<&str>, out: &std::process::Output) -> io::Error {
    let said = String::from_utf8_lossy(&out.stderr);
    let said = if said.trim().is_empty() {
        String::from_utf8_lossy(&out.stdout)
    } else {
        said
    };
    let subject = subject.map(|s| format!("{s}: ")).unwrap_or_default();
    io::Error::other(format!("{call}: {subject}{}", said.trim_end()))
}

/// `/bin/sh` for the length of one call, then gone again: Debian's syslinux is the mtools
/// installer, which runs `mattrib`, `mcopy` and `mmove` through popen(3), that is `/bin/sh -c`, and
/// the appliance otherwise has no shell (nothing else should find one). The shell is the
/// carried busybox, whose `sh` needs no other program.
struct PopenShell {
    made: bool,
}

const SH: &str = "/bin/sh";

impl PopenShell {
    fn new() -> io::Result<PopenShell> {
        let busybox = tools::find("busybox")?;
        match std::os::unix::fs::symlink(&busybox, SH) {
            Ok(()) => Ok(PopenShell { made: true }),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(PopenShell { made: false }),
            Err(e) => Err(e),
        }
    }
}

impl Drop for PopenShell {
    fn drop(&mut self) {
        if self.made {
            if let Err(e) = std::fs::remove_file(SH) {
                info!("cannot remove {SH} after syslinux: {e}");
            }
        }
    }
}

/// `syslinux --install --force [--directory DIR] DEVICE`, on an unmounted FAT filesystem.
pub fn syslinux(device: &Path, directory: Option<&str>) -> io::Result<()> {
    // What syslinux runs, unpacked before it needs them.
    for tool in ["mcopy", "mattrib", "mmove"] {
        tools::find(tool)?;
    }
    let _sh = PopenShell::new()?;
    let mut args: Vec<&OsStr> = vec!["--install".as_ref(), "--force".as_ref()];
    if let Some(dir) = directory {
        args.push("--directory".as_ref());
        args.push(dir.as_ref());
    }
    args.push(device.as_os_str());
    // mtools' configuration goes in a temporary file there.
    let out = tools::run_status_named("syslinux", &args, &[("TMPDIR", "/tmp")])?;
    if out.status.success() {
        Ok(())
    } else {
        Err(failed("syslinux", None, &out))
    }
}

/// `extlinux --install DIR`, DIR opened beneath the guest root (a guest symlink cannot lead
/// it out into the appliance).
pub fn extlinux(directory: &GuestPath) -> io::Result<()> {
    let real = match guestfs::open(directory, libc::O_PATH | libc::O_DIRECTORY, 0) {
        Ok(dir) => guestfs::real_path(&dir)?,
        // What is not a directory, extlinux refuses in its own words, as in guestfish:
        // its name beneath the guest's resolved parent.
        Err(e) if matches!(e.raw_os_error(), Some(libc::ENOENT | libc::ENOTDIR)) => {
            let (parent, name) = guestfs::parent(directory)?;
            let name = std::ffi::OsStr::from_bytes(name.as_bytes());
            guestfs::real_path(&parent)?.join(name)
        }
        Err(e) => return Err(e),
    };
    let args: [&OsStr; 2] = ["--install".as_ref(), real.as_os_str()];
    let out = tools::run_status_named("extlinux", &args, &[])?;
    if out.status.success() {
        Ok(())
    } else {
        Err(failed("extlinux", Some(&directory.to_string()), &out))
    }
}

/// `grub-install --target=i386-pc --boot-directory=ROOT/boot DEVICE`, ROOT opened beneath the
/// guest root. libguestfs 1.48 passes `--root-directory`, which GRUB 2 keeps only as the
/// same thing spelt the old way; the boot directory is where GRUB 2 puts its files.
pub fn grub_install(root: &GuestPath, device: &Path) -> io::Result<()> {
    let dir = guestfs::open(root, libc::O_PATH | libc::O_DIRECTORY, 0)?;
    let mut boot = guestfs::real_path(&dir)?.into_os_string();
    boot.push("/boot");
    let mut arg = std::ffi::OsString::from("--boot-directory=");
    arg.push(&boot);
    let args: [&OsStr; 3] = ["--target=i386-pc".as_ref(), &arg, device.as_os_str()];
    let out = tools::run_status_named("grub-install", &args, &[])?;
    if out.status.success() {
        Ok(())
    } else {
        Err(failed("grub_install", None, &out))
    }
}
