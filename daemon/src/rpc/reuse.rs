//! One appliance, several jobs in turn (`guestwright batch`): between two jobs the host
//! re-points the appliance's drive slots at the next job's images. [`release`] ends a job:
//! it takes down everything the job set up, flushes the disks and unbinds the disk driver
//! from the drive slots, so that no page, partition or mapping of the old images can be
//! seen through the new ones. [`probe`] starts the next job: it binds the driver again,
//! which reads each drive's size and partition table anew.
//!
//! This module must never report a clean appliance while anything of the last job remains:
//! the host then kills the appliance and the next job gets a fresh one.

use super::server::Server;
use crate::block::devices::{Disks, SERIAL_PREFIX};
use crate::fs::hivex;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The disk driver's directory: `bind` and `unbind` take a virtio device's name.
const DRIVER: &str = "/sys/bus/virtio/drivers/virtio_blk";

/// Ends a job: unmount, close, stop, deactivate, flush, drop the caches, check, unbind.
pub fn release(server: &Server) -> io::Result<()> {
    super::handles::close_all();
    // What a job may hold open on its filesystems or have loaded for itself; none of it
    // open is the usual case, not an error.
    hivex::release();
    crate::fs::augeas::release();
    let _ = crate::fs::journal::close();
    let _ = crate::fs::notify::close();
    let _ = crate::fs::yara::destroy();
    let mut problems = Vec::new();
    if let Err(e) = server.mounts.umount_all() {
        problems.push(format!("unmounting: {e}"));
    }
    for name in crate::block::luks::opened() {
        let dev = guestwright_protocol::Device::from(format!("/dev/mapper/{name}"));
        if let Err(e) = crate::block::luks::close(&dev) {
            problems.push(format!("closing {dev}: {e}"));
        }
    }
    if has_lvm_volumes() {
        let r = crate::block::lvm::vg_activate_all(&server.disks, &server.modules, false);
        if let Err(e) = r {
            problems.push(format!("deactivating LVM: {e}"));
        }
    }
    for md in crate::block::md::list() {
        if let Err(e) = crate::block::md::stop(&server.modules, Path::new(md.as_str())) {
            problems.push(format!("stopping {md}: {e}"));
        }
    }
    if let Err(e) = crate::block::ldm::remove_if_created(&server.modules) {
        problems.push(format!("removing the Windows dynamic disk volumes: {e}"));
    }
    crate::block::lvm::forget();
    crate::block::ldm::forget();
    crate::block::md::forget();
    if let Err(e) = server.sync_all() {
        problems.push(format!("flushing the disks: {e}"));
    }
    if let Err(e) = crate::fs::extra::drop_caches(3) {
        problems.push(format!("dropping the caches: {e}"));
    }
    problems.extend(leftovers());
    if !problems.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::ResourceBusy,
            format!(
                "the job left the appliance unclean: {}",
                problems.join("; ")
            ),
        ));
    }
    for dev in slot_devices() {
        unbind(&dev)?;
    }
    server.disks.replace(Disks::default());
    Ok(())
}

/// Starts a job: binds the driver to every drive slot, or in a restored appliance to the
/// job's `count` (unbinding first those still bound: the first job of a booted appliance
/// finds them bound since the boot), and waits for `count` drives.
pub fn probe(server: &Server, count: usize) -> io::Result<usize> {
    for dev in slot_devices() {
        unbind(&dev)?;
    }
    if crate::vblk::held() {
        // A restored appliance knows which device is which slot: only the job's are probed.
        crate::vblk::bind_slots(count)?;
    } else {
        for dev in unbound_block_devices() {
            fs::write(Path::new(DRIVER).join("bind"), &dev)
                .map_err(|e| io::Error::new(e.kind(), format!("binding {dev}: {e}")))?;
        }
    }
    let disks = Disks::discover(count, Duration::from_secs(10))?;
    let n = disks.len();
    server.disks.replace(disks);
    Ok(n)
}

fn unbind(dev: &str) -> io::Result<()> {
    fs::write(Path::new(DRIVER).join("unbind"), dev)
        .map_err(|e| io::Error::new(e.kind(), format!("unbinding {dev}: {e}")))
}

/// Whether a device-mapper device of LVM exists.
fn has_lvm_volumes() -> bool {
    block_names()
        .iter()
        .filter(|n| n.starts_with("dm-"))
        .any(|n| {
            fs::read_to_string(Path::new("/sys/block").join(n).join("dm/uuid"))
                .is_ok_and(|u| u.starts_with("LVM-"))
        })
}

fn block_names() -> Vec<String> {
    fs::read_dir("/sys/block")
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// Whether a kernel disk is one of the host's drive slots (serial `gw` and a number; the
/// extras and transfer disks have letters there).
fn is_slot(name: &str) -> bool {
    fs::read_to_string(Path::new("/sys/block").join(name).join("serial")).is_ok_and(|s| {
        s.trim()
            .strip_prefix(SERIAL_PREFIX)
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
    })
}

/// The virtio devices (`virtio3`) of the drive slots the driver is bound to.
fn slot_devices() -> Vec<String> {
    block_names()
        .into_iter()
        .filter(|n| is_slot(n))
        .filter_map(|n| {
            let dev = fs::canonicalize(Path::new("/sys/block").join(n).join("device")).ok()?;
            Some(dev.file_name()?.to_string_lossy().into_owned())
        })
        .collect()
}

/// The virtio block devices (device id 2) with no driver: the slots [`release`] unbound.
fn unbound_block_devices() -> Vec<String> {
    let Ok(dir) = fs::read_dir("/sys/bus/virtio/devices") else {
        return Vec::new();
    };
    dir.flatten()
        .filter(|e| {
            let p = e.path();
            fs::read_to_string(p.join("device")).is_ok_and(|d| d.trim() == "0x0002")
                && !p.join("driver").exists()
        })
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect()
}

/// What of a job is still there: mounts of its devices or in the guest tree, its
/// device-mapper, md and loop devices, swap, and holders of the drive slots.
fn leftovers() -> Vec<String> {
    let mut left = Vec::new();
    let sysroot = Path::new(crate::fs::guestfs::SYSROOT);
    let mounts = fs::read_to_string("/proc/self/mounts").unwrap_or_default();
    for line in mounts.lines() {
        let mut f = line.split(' ');
        let (Some(source), Some(target)) = (f.next(), f.next()) else {
            continue;
        };
        let target = PathBuf::from(target.replace("\\040", " "));
        let job_device = block_of(source).is_some_and(|n| is_job_device(&n));
        if target.starts_with(sysroot) || job_device {
            left.push(format!("{source} is mounted on {}", target.display()));
        }
    }
    let swaps = fs::read_to_string("/proc/swaps").unwrap_or_default();
    for line in swaps.lines().skip(1) {
        if let Some(dev) = line.split_whitespace().next() {
            left.push(format!("{dev} is in use as swap"));
        }
    }
    for name in block_names() {
        let sys = Path::new("/sys/block").join(&name);
        if name.starts_with("dm-") {
            let dm = fs::read_to_string(sys.join("dm/name")).unwrap_or_default();
            left.push(format!("device-mapper device {} remains", dm.trim()));
        } else if name.starts_with("md") && sys.join("md").exists() {
            left.push(format!("md device {name} remains"));
        } else if name.starts_with("loop") && sys.join("loop/backing_file").exists() {
            left.push(format!("loop device {name} remains"));
        } else if is_slot(&name) {
            let holders = fs::read_dir(sys.join("holders"))
                .map(|d| d.count())
                .unwrap_or(0);
            if holders > 0 {
                left.push(format!("{name} has {holders} holder(s)"));
            }
        }
    }
    left
}

/// The kernel name of the block device a mount's source is (`/dev/vda1` → `vda1`).
fn block_of(source: &str) -> Option<String> {
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    let meta = fs::metadata(source).ok()?;
    if !meta.file_type().is_block_device() {
        return None;
    }
    let (major, minor) = (libc::major(meta.rdev()), libc::minor(meta.rdev()));
    let link = fs::read_link(format!("/sys/dev/block/{major}:{minor}")).ok()?;
    Some(link.file_name()?.to_string_lossy().into_owned())
}

/// A drive slot, one of its partitions, or a device built on them.
fn is_job_device(name: &str) -> bool {
    if ["dm-", "md", "loop"].iter().any(|p| name.starts_with(p)) {
        return true;
    }
    let disk: String = name
        .trim_end_matches(|c: char| c.is_ascii_digit())
        .trim_end_matches('p')
        .to_string();
    is_slot(name) || is_slot(&disk)
}
