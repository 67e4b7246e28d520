//! The disk driver of an appliance that is saved and restored (`guestwright.snapshot`).
//!
//! Loading `virtio_blk` takes about a tenth of a second under TCG, and probing a disk a few
//! hundredths more, so a restored appliance must do as little of it as it can. Before the
//! save, [`hold`] loads the driver with the virtio bus's autoprobe off, binds each virtio
//! disk once to learn from its serial which disk it is (a drive slot, the extras disk, the
//! transfer disk), and unbinds it again. After the restore, [`bind`] binds a disk when it is
//! needed: the drive slots the launch filled at once ([`bind_slots`]), the extras and
//! transfer disks the first time they are looked for.
//!
//! No disk may stay bound across the save: a restored appliance's disks have the launch's
//! images, sizes and read-only flags, which the driver reads when it binds. Binding through
//! sysfs is synchronous: when the write returns, the disk, its partitions and their /dev
//! nodes exist, so nothing here waits or polls.

use guestwright_protocol::XFER_SERIAL;
use guestwright_sync::Mutex;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// The driver's directory: `bind` and `unbind` take a virtio device's name (`virtio3`).
const DRIVER: &str = "/sys/bus/virtio/drivers/virtio_blk";
const DEVICES: &str = "/sys/bus/virtio/devices";
const AUTOPROBE: &str = "/sys/bus/virtio/drivers_autoprobe";
/// The virtio device id of a block device.
const BLOCK_DEVICE_ID: &str = "0x0002";

/// The serial of the extras disk (`guestwright_appliance::EXTRAS_SERIAL`).
pub const EXTRAS_SERIAL: &str = "gwx";
/// The serial prefix of a drive slot left empty in the saved layout (`gwe0`, ...); an empty
/// transfer disk has the prefix alone.
const EMPTY_PREFIX: &str = "gwe";

/// What a virtio disk of the saved layout is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Drive slot `i` (serial `gw<i>` with a drive, `gwe<i>` without).
    Slot(usize),
    /// The extras disk.
    Extras,
    /// The transfer disk.
    Xfer,
}

impl Role {
    /// The role of a disk of the saved layout by the serial it had at the save, where
    /// every slot and the transfer disk were empty.
    fn of_saved_serial(serial: &str) -> Option<Role> {
        match serial {
            EXTRAS_SERIAL => Some(Role::Extras),
            EMPTY_PREFIX => Some(Role::Xfer),
            _ => serial
                .strip_prefix(EMPTY_PREFIX)
                .filter(|n| n.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|n| n.parse().ok())
                .map(Role::Slot),
        }
    }

    /// Whether `serial` is what this disk has in a restored appliance.
    pub fn matches(self, serial: &str) -> bool {
        match self {
            Role::Extras => serial == EXTRAS_SERIAL,
            Role::Xfer => serial == XFER_SERIAL,
            Role::Slot(i) => serial == format!("gw{i}"),
        }
    }
}

/// The virtio device of each disk, learnt before the save; empty when the driver was not
/// held (a booted appliance, or a kernel that refused): then the driver binds every disk
/// as it loads, and [`bind`] has nothing to do.
static HELD: Mutex<Vec<(Role, String)>> = Mutex::new(Vec::new());

/// Sets the virtio bus's `drivers_autoprobe`.
fn autoprobe(on: bool) -> io::Result<()> {
    fs::write(AUTOPROBE, if on { "1" } else { "0" })
        .map_err(|e| io::Error::new(e.kind(), format!("{AUTOPROBE}: {e}")))
}

fn write_driver(file: &str, dev: &str) -> io::Result<()> {
    fs::write(Path::new(DRIVER).join(file), dev)
        .map_err(|e| io::Error::new(e.kind(), format!("{file} {dev} to virtio_blk: {e}")))
}

/// The virtio block devices (`virtio3`) the driver is not bound to.
fn unbound_disks() -> Vec<String> {
    let Ok(dir) = fs::read_dir(DEVICES) else {
        return Vec::new();
    };
    let mut names: Vec<String> = dir
        .flatten()
        .filter(|e| {
            let p = e.path();
            fs::read_to_string(p.join("device")).is_ok_and(|d| d.trim() == BLOCK_DEVICE_ID)
                && !p.join("driver").exists()
        })
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// The kernel disk (`/sys/block/vdb`) of a bound virtio device.
fn disk_of(dev: &str) -> io::Result<PathBuf> {
    let dir = Path::new(DEVICES).join(dev).join("block");
    let name = fs::read_dir(&dir)
        .and_then(|mut d| d.next().transpose())
        .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", dir.display())))?
        .ok_or_else(|| io::Error::other(format!("{dev} has no disk after binding")))?
        .file_name();
    Ok(Path::new("/sys/block").join(name))
}

/// Binds `dev`, reads its disk's serial and unbinds it again.
fn serial_of_unbound(dev: &str) -> io::Result<String> {
    write_driver("bind", dev)?;
    let serial = disk_of(dev).and_then(|d| fs::read_to_string(d.join("serial")));
    let unbound = write_driver("unbind", dev);
    let serial = serial?;
    unbound?;
    Ok(serial.trim().to_string())
}

/// Before the save: loads the disk driver (with `load`) bound to no disk, and learns which
/// virtio device is which disk. After an error no disk is bound and none is held: the
/// driver, loaded or not, binds them all after the restore ([`bind_unbound`]).
pub fn hold(load: impl FnOnce() -> io::Result<()>) -> io::Result<()> {
    autoprobe(false)?;
    if let Err(e) = load() {
        let _ = autoprobe(true);
        return Err(e);
    }
    let mut held = Vec::new();
    let mut learnt = || -> io::Result<()> {
        for dev in unbound_disks() {
            let serial = serial_of_unbound(&dev)?;
            let role = Role::of_saved_serial(&serial).ok_or_else(|| {
                io::Error::other(format!("{dev} has serial {serial:?}, not one of a slot"))
            })?;
            held.push((role, dev));
        }
        Ok(())
    };
    let result = learnt();
    // Back on, for the drivers loaded later (the network's); a registered driver is not
    // offered the devices it left unbound.
    autoprobe(true)?;
    result?;
    *HELD.lock() = held;
    Ok(())
}

/// After a restore whose driver was not held ([`hold`] failed): binds every virtio disk
/// the driver is not bound to (all of them, if it loaded before the save).
pub fn bind_unbound() -> io::Result<()> {
    for dev in unbound_disks() {
        write_driver("bind", &dev)?;
    }
    Ok(())
}

/// Whether the driver was held before a save ([`hold`]).
pub fn held() -> bool {
    !HELD.lock().is_empty()
}

/// Binds the disk with `role` if it is held and not bound yet. Returns whether it bound it.
pub fn bind(role: Role) -> io::Result<bool> {
    // Held across the write, so that two threads looking for the same disk bind it once.
    let held = HELD.lock();
    let Some((_, dev)) = held.iter().find(|(r, _)| *r == role) else {
        return Ok(false);
    };
    if Path::new(DEVICES).join(dev).join("driver").exists() {
        return Ok(false);
    }
    let bound = write_driver("bind", dev);
    drop(held);
    bound.map(|()| true)
}

/// Binds the first `count` drive slots (those the launch filled), and checks that each has
/// the serial of its slot: a QEMU that put the devices in another order than the saved
/// appliance's fails here, at once, and the host boots instead.
pub fn bind_slots(count: usize) -> io::Result<()> {
    for i in 0..count {
        let role = Role::Slot(i);
        if !bind(role)? {
            continue;
        }
        let dev = device(role).expect("bound, so held");
        let serial = disk_of(&dev).and_then(|d| fs::read_to_string(d.join("serial")))?;
        if !role.matches(serial.trim()) {
            return Err(io::Error::other(format!(
                "{dev}, drive slot {i} when saved, has serial {:?} restored",
                serial.trim()
            )));
        }
    }
    Ok(())
}

/// The virtio device of the held disk with `role`.
fn device(role: Role) -> Option<String> {
    HELD.lock()
        .iter()
        .find(|(r, _)| *r == role)
        .map(|(_, d)| d.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_disk_is_known_by_its_serial_in_the_saved_layout() {
        assert_eq!(Role::of_saved_serial("gwe0"), Some(Role::Slot(0)));
        assert_eq!(Role::of_saved_serial("gwe3"), Some(Role::Slot(3)));
        assert_eq!(Role::of_saved_serial("gwe"), Some(Role::Xfer));
        assert_eq!(Role::of_saved_serial("gwx"), Some(Role::Extras));
        // Filled slots and a used transfer disk are never in a saved layout.
        assert_eq!(Role::of_saved_serial("gw0"), None);
        assert_eq!(Role::of_saved_serial("gwt"), None);
        assert_eq!(Role::of_saved_serial("gwe+1"), None);
        assert_eq!(Role::of_saved_serial(""), None);
    }

    #[test]
    fn a_restored_disk_has_the_serial_of_its_role() {
        assert!(Role::Slot(2).matches("gw2"));
        assert!(!Role::Slot(2).matches("gwe2"));
        assert!(Role::Xfer.matches(XFER_SERIAL));
        assert!(Role::Extras.matches("gwx"));
    }
}
