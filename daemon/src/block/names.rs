//! Device names as guestfish answers them: canonical names, a disk's index, the parts of a
//! mountable, logical volumes by any of their names, device-mapper devices, and finding a
//! filesystem or swap area by its label or UUID.

use crate::block::devices::Disks;
use crate::block::{fsinfo, lvm};
use crate::boot::modules::Modules;
use guestwright_protocol::{escape_bytes, Device, Errno, RemoteError};
use std::io;
use std::os::unix::fs::{FileTypeExt, MetadataExt};

fn einval(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, msg)
}

/// The block device number of a path, if it is a block device.
fn rdev(path: &std::path::Path) -> Option<u64> {
    let m = std::fs::metadata(path).ok()?;
    m.file_type().is_block_device().then(|| m.rdev())
}

/// The `/dev/VG/LV` name of the logical volume `name` names (any of its names), or `None`
/// when it names no logical volume.
pub fn lv_canonical(disks: &Disks, modules: &Modules, name: &str) -> io::Result<Option<Device>> {
    let Some(wanted) = rdev(std::path::Path::new(name)) else {
        return Ok(None);
    };
    if !crate::boot::tools::has("lvm") {
        return Ok(None);
    }
    for lv in lvm::lvs_full(disks, modules)? {
        let Ok(node) = disks.to_kernel(&lv.device) else {
            continue;
        };
        if rdev(&node) == Some(wanted) {
            return Ok(Some(lv.device));
        }
    }
    Ok(None)
}

/// `lvm_canonical_lv_name`: EINVAL when `name` is not a logical volume.
pub fn lvm_canonical_lv_name(disks: &Disks, modules: &Modules, name: &str) -> io::Result<String> {
    if !name.starts_with("/dev/") {
        return Err(einval(format!(
            "{}: not a device name",
            escape_bytes(name.as_bytes())
        )));
    }
    match lv_canonical(disks, modules, name)? {
        Some(dev) => Ok(dev.as_str().to_string()),
        None => Err(RemoteError::new(
            Errno::EINVAL,
            format!("{}: not a logical volume", escape_bytes(name.as_bytes())),
        )
        .into()),
    }
}

/// `canonical_device_name`: /dev/hdX and /dev/vdX become /dev/sdX, a device-mapper name of
/// a logical volume /dev/VG/LV; anything else comes back as given.
pub fn canonical_device_name(disks: &Disks, modules: &Modules, name: &str) -> io::Result<String> {
    // /dev/hdX, /dev/vdX, /dev/xvdX, ...: one or two letters before a `d`, no further
    // slash (not an LV), not /dev/md*. guestfish applies the rule to any such name
    // (/dev/cdrom becomes /dev/sdrom), and so does this.
    if let Some(rest) = name.strip_prefix("/dev/") {
        if !rest.contains('/') && !rest.starts_with('m') {
            if let Some(d) = rest.find('d') {
                if (1..=2).contains(&d) {
                    return Ok(format!("/dev/sd{}", &rest[d + 1..]));
                }
            }
        }
    }
    if name.starts_with("/dev/mapper/") || name.starts_with("/dev/dm-") {
        if let Some(dev) = lv_canonical(disks, modules, name)? {
            return Ok(dev.as_str().to_string());
        }
    }
    Ok(name.to_string())
}

/// A mountable split into its device and btrfs subvolume (`btrfsvol:/dev/sda2/sub`).
pub fn split_mountable(mountable: &str) -> (String, Option<String>) {
    if let Some(rest) = mountable.strip_prefix("btrfsvol:") {
        if let Some(after) = rest.strip_prefix("/dev/") {
            if let Some(slash) = after.find('/') {
                let dev = format!("/dev/{}", &after[..slash]);
                return (dev, Some(after[slash + 1..].to_string()));
            }
        }
    }
    (mountable.to_string(), None)
}

/// `mountable_subvolume`: EINVAL when the mountable is not a btrfs subvolume.
pub fn mountable_subvolume(mountable: &str) -> io::Result<String> {
    split_mountable(mountable).1.ok_or_else(|| {
        RemoteError::new(
            Errno::EINVAL,
            // libguestfs's words, without the call's name (see fisherr's UNPREFIXED).
            "not a btrfs subvolume identifier".to_string(),
        )
        .into()
    })
}

/// `list_dm_devices`: /dev/mapper's devices that are not logical volumes, sorted.
pub fn list_dm_devices(disks: &Disks, modules: &Modules) -> io::Result<Vec<String>> {
    let mut names: Vec<String> = match std::fs::read_dir("/dev/mapper") {
        Ok(dir) => dir
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n != "control")
            .collect(),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(e),
    };
    names.sort();
    let mut out = Vec::new();
    for n in names {
        let path = format!("/dev/mapper/{n}");
        if lv_canonical(disks, modules, &path)?.is_none() {
            out.push(path);
        }
    }
    Ok(out)
}

/// The device whose filesystem (or swap area) has the label or UUID `value`.
pub fn findfs(disks: &Disks, modules: &Modules, what: &str, value: &str) -> io::Result<Device> {
    let found = fsinfo::list_filesystems(disks, modules, false)?
        .into_iter()
        .find(|fs| {
            let v = if what == "LABEL" { &fs.label } else { &fs.uuid };
            v.as_deref().is_some_and(|v| {
                if what == "UUID" {
                    v.eq_ignore_ascii_case(value)
                } else {
                    v == value
                }
            })
        });
    found.map(|fs| fs.device).ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::NotFound,
            format!(
                "findfs exited with status 1: findfs: unable to resolve '{what}={}'",
                escape_bytes(value.as_bytes())
            ),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mountables_split_at_the_slash_after_the_device() {
        assert_eq!(
            split_mountable("btrfsvol:/dev/sda2/root/sub"),
            ("/dev/sda2".to_string(), Some("root/sub".to_string()))
        );
        assert_eq!(
            split_mountable("/dev/sda1"),
            ("/dev/sda1".to_string(), None)
        );
        assert!(mountable_subvolume("/dev/sda1").is_err());
    }
}
