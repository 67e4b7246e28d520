//! Boot phases of PID 1: the pseudo-filesystems, the kernel command line, the modules the
//! channel and the disks need, and the channel's port; the kernel modules (`modules`), the
//! extras disk and the host tools it carries (`extras`, `tools`), and the reaper of children.

pub mod debug;
pub mod extras;
pub mod modules;
pub mod network;
pub mod reaper;
pub mod tools;

use crate::sys;
use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Mounts /proc, /sys, /dev, /dev/pts, /dev/shm, /tmp and /run. Already-mounted ones (the
/// kernel may mount devtmpfs itself) are left as they are.
pub fn mount_pseudo_filesystems() -> io::Result<()> {
    let nosuid_nodev_noexec = libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC;
    let mounts: [(&str, &str, &str, libc::c_ulong, Option<&str>); 7] = [
        ("proc", "/proc", "proc", nosuid_nodev_noexec, None),
        ("sysfs", "/sys", "sysfs", nosuid_nodev_noexec, None),
        (
            "devtmpfs",
            "/dev",
            "devtmpfs",
            libc::MS_NOSUID,
            Some("mode=0755"),
        ),
        (
            "devpts",
            "/dev/pts",
            "devpts",
            libc::MS_NOSUID | libc::MS_NOEXEC,
            Some("mode=0620,ptmxmode=0666"),
        ),
        (
            "tmpfs",
            "/dev/shm",
            "tmpfs",
            libc::MS_NOSUID | libc::MS_NODEV,
            None,
        ),
        (
            "tmpfs",
            "/tmp",
            "tmpfs",
            libc::MS_NOSUID | libc::MS_NODEV,
            Some("mode=1777"),
        ),
        (
            "tmpfs",
            "/run",
            "tmpfs",
            libc::MS_NOSUID | libc::MS_NODEV,
            Some("mode=0755"),
        ),
    ];
    for (source, target, fstype, flags, data) in mounts {
        let target = Path::new(target);
        fs::create_dir_all(target)?;
        match sys::mount(source, target, Some(fstype), flags, data) {
            Ok(()) => {}
            Err(e) if e.raw_os_error() == Some(libc::EBUSY) => {}
            Err(e) => {
                return Err(io::Error::new(
                    e.kind(),
                    format!("mount {fstype} on {}: {e}", target.display()),
                ))
            }
        }
    }
    for (link, target) in [
        ("/dev/fd", "/proc/self/fd"),
        ("/dev/stdin", "/proc/self/fd/0"),
        ("/dev/stdout", "/proc/self/fd/1"),
        ("/dev/stderr", "/proc/self/fd/2"),
    ] {
        let _ = std::os::unix::fs::symlink(target, link);
    }
    // Tools that check whether a device is mounted before they write to it (ntfsresize
    // refuses to go on without) read /etc/mtab, as on any Linux system.
    fs::create_dir_all("/etc")?;
    let _ = std::os::unix::fs::symlink("../proc/self/mounts", "/etc/mtab");
    Ok(())
}

/// What the host told the daemon on the kernel command line.
#[derive(Debug, Default)]
pub struct BootArgs {
    /// The whole command line (module parameters are taken from it).
    pub cmdline: String,
    /// How many drives the host attached.
    pub drives: usize,
    /// Print debug messages on the console.
    pub verbose: bool,
    /// Bring up QEMU's user-mode network (`boot::network`).
    pub network: bool,
    /// Serve the rescue console (`crate::rescue`).
    pub rescue: bool,
    /// Boot to be saved: stop before the drives are probed and wait for the host's
    /// `Resume` (`guestwright.snapshot`).
    pub snapshot: bool,
}

impl BootArgs {
    /// Reads /proc/cmdline.
    pub fn read() -> io::Result<BootArgs> {
        let cmdline = fs::read_to_string("/proc/cmdline")?;
        Ok(BootArgs::parse(cmdline.trim()))
    }

    fn parse(cmdline: &str) -> BootArgs {
        let mut args = BootArgs {
            cmdline: cmdline.to_string(),
            ..BootArgs::default()
        };
        for word in cmdline.split_whitespace() {
            match word.split_once('=') {
                Some(("guestwright.drives", n)) => args.drives = n.parse().unwrap_or(0),
                Some(("guestwright.verbose", v)) => args.verbose = v != "0",
                None if word == "guestwright.verbose" => args.verbose = true,
                None if word == "guestwright.network" => args.network = true,
                None if word == "guestwright.snapshot" => args.snapshot = true,
                None if word == guestwright_protocol::rescue::BOOT_FLAG => args.rescue = true,
                _ => {}
            }
        }
        args
    }
}

/// Finds the virtio-serial port named `name` and opens it. The port's sysfs entry and its
/// /dev node appear asynchronously after virtio_console loads, so this waits for them.
pub fn open_port(name: &str, timeout: Duration) -> io::Result<File> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(dev) = find_port(name) {
            match File::options().read(true).write(true).open(&dev) {
                Ok(f) => return Ok(f),
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => {
                    return Err(io::Error::new(
                        e.kind(),
                        format!("open {}: {e}", dev.display()),
                    ))
                }
            }
        }
        if Instant::now() > deadline {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("no virtio-serial port named {name} appeared"),
            ));
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

fn find_port(name: &str) -> Option<PathBuf> {
    for entry in fs::read_dir("/sys/class/virtio-ports").ok()?.flatten() {
        let port_name = fs::read_to_string(entry.path().join("name")).unwrap_or_default();
        if port_name.trim() == name {
            return Some(Path::new("/dev").join(entry.file_name()));
        }
    }
    None
}

/// Makes a restored appliance its own: mixes the host's random bytes into the kernel's pool
/// and reseeds the kernel's generator at once (every restore of one saved state would
/// otherwise hand out the same random numbers: salts, UUIDs, temporary names), and sets the
/// wall clock, which stood still while the state was saved.
pub fn resume(seed: &[u8], unix_time: (i64, u32)) -> io::Result<()> {
    let random = File::options().write(true).open("/dev/random")?;
    sys::add_entropy(&random, seed)?;
    sys::reseed_crng(&random)?;
    sys::set_realtime(unix_time.0, unix_time.1)
}

/// Seconds since boot, in milliseconds.
pub fn uptime_ms() -> u64 {
    let text = fs::read_to_string("/proc/uptime").unwrap_or_default();
    let secs: f64 = text
        .split_whitespace()
        .next()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0.0);
    (secs * 1000.0) as u64
}

/// Flushes what the kernel holds and ends the appliance.
pub fn power_off() -> ! {
    sys::sync();
    let err = sys::reboot();
    info!("cannot power off: {err}");
    loop {
        std::thread::sleep(Duration::from_secs(3600));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_line() {
        let a = BootArgs::parse("console=ttyS0 guestwright.drives=3 guestwright.verbose quiet");
        assert!(!a.network);
        assert_eq!(a.drives, 3);
        assert!(a.verbose);
        let a = BootArgs::parse("guestwright.drives=x guestwright.verbose=0");
        assert_eq!(a.drives, 0);
        assert!(!a.verbose);
        assert!(BootArgs::parse("quiet guestwright.network").network);
        assert!(BootArgs::parse("quiet guestwright.rescue").rescue);
        assert!(!BootArgs::parse("quiet guestwright.network").rescue);
        assert!(BootArgs::parse("quiet guestwright.snapshot").snapshot);
        assert!(!BootArgs::parse("quiet").snapshot);
    }
}
