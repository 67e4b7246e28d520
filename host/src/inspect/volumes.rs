//! What inspection does with the filesystems it cannot simply mount: LUKS volumes are opened
//! with the keys given (and the logical volumes inside them activated by the next listing),
//! and every filesystem that cannot be read is reported with the reason, so inspection is
//! never silent about what it skipped.
//!
//! A key never reaches a message: errors of `luks_open` are described by their errno alone.

use super::keys::Keys;
use crate::error::{Error, Result};
use crate::handle::Handle;
use guestwright_protocol::{Client, Device, Errno, Filesystem};

/// A filesystem inspection could not look into, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unreadable {
    /// The device.
    pub device: Device,
    /// Why, phrased to follow the device's name: "is LUKS-encrypted: give its key ...".
    pub reason: String,
    /// Whether this is worth a warning even when an operating system is found elsewhere
    /// (not for partitions that merely hold nothing recognisable, such as a BIOS boot
    /// partition).
    pub notable: bool,
}

impl std::fmt::Display for Unreadable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.device, self.reason)
    }
}

/// The `/dev/mapper` name inspection opens a LUKS volume as, the name libguestfs 1.48 gives
/// it: `luks-` and the volume's LUKS UUID; for a header without a usable UUID, `luks-` and
/// the device's name without `/dev/`, `/` as `-` (`/dev/sda2` -> `luks-sda2`).
pub fn mapname(device: &Device, uuid: Option<&str>) -> String {
    let usable = |u: &&str| {
        !u.is_empty() && u.len() <= 64 && u.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-')
    };
    if let Some(uuid) = uuid.filter(usable) {
        return format!("luks-{uuid}");
    }
    let name = device
        .as_str()
        .strip_prefix("/dev/")
        .unwrap_or(device.as_str());
    let name: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "_.+-".contains(c) {
                c
            } else {
                '-'
            }
        })
        .collect();
    format!("luks-{name}")
}

/// Opens every LUKS volume of `filesystems` a key is given for (or can be asked for), and
/// records the others as unreadable. A volume already opened (a second inspection) is left
/// as it is. Returns whether anything was opened, so the caller lists the filesystems
/// again. A key that does not open its volume is an error: the user asked for that volume.
pub fn open_luks(
    h: &Handle,
    filesystems: &[Filesystem],
    keys: &Keys,
    unreadable: &mut Vec<Unreadable>,
) -> Result<bool> {
    let mut opened = false;
    let mut dm_devices: Option<Vec<String>> = None;
    for fs in filesystems.iter().filter(|f| f.fstype == "crypto_LUKS") {
        let map = mapname(&fs.device, fs.uuid.as_deref());
        let mapped = Device::from(format!("/dev/mapper/{map}"));
        // Opened by an earlier inspection. A volume holding an LVM PV is not listed (its
        // logical volumes are), so look for the device-mapper device itself. Not by its
        // name: a missing /dev/mapper name could be an LV's, and the daemon would activate
        // LVM to look for it (3 s under TCG on a guest without LVM).
        if filesystems.iter().any(|f| f.device == mapped) {
            continue;
        }
        if dm_devices.is_none() {
            dm_devices = Some(h.list_dm_devices()?);
        }
        if dm_devices
            .iter()
            .flatten()
            .any(|d| d.as_str() == mapped.as_str())
        {
            continue;
        }
        let mut candidates = keys.for_volume(&fs.device, fs.uuid.as_deref());
        if candidates.is_empty() {
            if let Some(ask) = &keys.ask {
                candidates.extend(ask(&fs.device));
            }
        }
        if candidates.is_empty() {
            let device = &fs.device;
            unreadable.push(Unreadable {
                device: device.clone(),
                reason: format!(
                    "is LUKS-encrypted: give its key with --key {device}:key:PASSPHRASE or \
                     --keys-from-stdin"
                ),
                notable: true,
            });
            continue;
        }
        let tried = candidates.len();
        let mut last = None;
        for key in candidates {
            match h.luks_open(&fs.device, key, map.clone()) {
                Ok(()) => {
                    last = None;
                    break;
                }
                Err(e) => match e.errno() {
                    // No key slot took this passphrase: try the next one.
                    Some(Errno::EPERM | Errno::EACCES) => last = Some(e),
                    Some(errno) => {
                        return Err(Error::Inspection {
                            detail: format!(
                                "cannot open the LUKS volume {}: {} ({errno:?}); check that \
                                 the appliance carries cryptsetup and dm-crypt (`guestwright \
                                 -v` shows its console)",
                                fs.device,
                                remote_message(&e)
                            ),
                        })
                    }
                    None => return Err(e),
                },
            }
        }
        if last.is_some() {
            let keys_word = if tried == 1 {
                "the key given does".to_string()
            } else {
                format!("none of the {tried} keys given does")
            };
            return Err(Error::Inspection {
                detail: format!(
                    "{}: {keys_word} not open this LUKS volume (no key slot matched): check \
                     the passphrase given with --key {}:key:... or on standard input",
                    fs.device, fs.device
                ),
            });
        }
        log::info!("inspect: opened the LUKS volume {} as {mapped}", fs.device);
        opened = true;
    }
    Ok(opened)
}

/// The daemon's message of a remote error, which names tools and devices but never the key
/// (it travels on cryptsetup's standard input).
fn remote_message(e: &Error) -> String {
    match e {
        Error::Remote { source, .. } => source.message.clone(),
        other => other.to_string(),
    }
}

/// Why a filesystem of type `fstype` cannot hold a root inspection can read, or `None` when
/// it is one inspection tries (or one that never holds a root: swap, vfat, ...).
pub fn unreadable_type(fstype: &str) -> Option<(&'static str, bool)> {
    Some(match fstype {
        "unknown" => ("holds nothing guestwright recognises (no filesystem, or an unsupported or damaged one)", false),
        "linux_raid_member" => ("is an md RAID member whose array did not assemble (too few members, or no mdadm in the appliance: install mdadm on the host)", true),
        "zfs_member" => ("is a ZFS pool member, which guestwright cannot read", true),
        "BitLocker" => ("is BitLocker-encrypted, which guestwright cannot open", true),
        _ => return None,
    })
}

/// The md arrays among `filesystems` (`/dev/md127`, or the array of `/dev/md127p1`) that
/// run without all their members, each with a sentence saying so: the daemon assembles
/// such an array read-only, so nothing is resynced onto the guest's disks.
pub fn degraded_md(h: &Handle, filesystems: &[Filesystem]) -> Result<Vec<(Device, String)>> {
    let mut arrays: Vec<Device> = filesystems
        .iter()
        .filter_map(|f| {
            let rest = f.device.as_str().strip_prefix("/dev/md")?;
            let number = rest.split('p').next()?;
            (!number.is_empty() && number.bytes().all(|b| b.is_ascii_digit()))
                .then(|| Device::from(format!("/dev/md{number}")))
        })
        .collect();
    arrays.dedup();
    let mut out = Vec::new();
    for md in arrays {
        let detail = match h.md_detail(&md) {
            Ok(d) => d,
            Err(e) if e.errno().is_some() => continue,
            Err(e) => return Err(e),
        };
        if let Some(line) = degraded_detail(&md, &detail) {
            out.push((md, line));
        }
    }
    Ok(out)
}

/// From `md_detail`'s `key=value` lines: "/dev/md127 is a degraded md array ..." when fewer
/// members are present than the array has.
fn degraded_detail(md: &Device, detail: &[String]) -> Option<String> {
    let wanted: usize = detail
        .iter()
        .find_map(|l| l.strip_prefix("devices="))?
        .parse()
        .ok()?;
    let present = detail
        .iter()
        .filter(|l| {
            l.split_once('=')
                .is_some_and(|(k, _)| k.starts_with("device_") && k.ends_with("_role"))
        })
        .count();
    (present < wanted).then(|| {
        format!(
            "{md} is a degraded md array ({present} of its {wanted} members present): \
             assembled read-only, so nothing is written to its disks; attach the missing \
             members to use it read-write"
        )
    })
}

#[cfg(test)]
mod md_tests {
    use super::*;

    #[test]
    fn an_array_missing_a_member_is_degraded() {
        let md = Device::from("/dev/md127");
        let full = [
            "level=raid1",
            "devices=2",
            "device_dev_sda1_role=0",
            "device_dev_sda2_role=1",
        ]
        .map(String::from);
        assert_eq!(degraded_detail(&md, &full), None);
        let one = [
            "level=raid1",
            "devices=2",
            "device_dev_sda1_role=0",
            "device_dev_sda1_dev=8:1",
        ]
        .map(String::from);
        assert_eq!(
            degraded_detail(&md, &one).unwrap(),
            "/dev/md127 is a degraded md array (1 of its 2 members present): assembled \
             read-only, so nothing is written to its disks; attach the missing members to \
             use it read-write"
        );
    }
}
