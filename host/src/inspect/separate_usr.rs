//! Roots whose `/usr` is another filesystem: a merged-/usr root (`/bin -> usr/bin`) names
//! it in its fstab, and CoreOS (no fstab at all) keeps the operating system on a read-only
//! USR partition. Alone, such a root holds `/etc` but no programs, so it is only recognised
//! once its `/usr` is mounted, as virt-inspector assembles the two.
//!
//! Only mounts read-only, only what the guest's own files point at (fstab) or what has the
//! CoreOS `/usr` layout, and leaves it mounted for the caller's `umount_all`.

use super::{exists, fstab, read_small, text, Mountpoint, Result};
use crate::handle::Handle;
use guestwright_protocol::args;
use guestwright_protocol::{Client, Device, Filesystem, GuestPath};

/// Filesystem types a `/usr` may be on.
const USR_TYPES: &[&str] = &["ext2", "ext3", "ext4", "xfs", "btrfs", "f2fs"];

/// The `/usr` a root that looks incomplete needs, mounted; `None` when the root names none
/// or none mounts. The root is on `/`.
pub fn mount_usr(
    h: &Handle,
    root: &Device,
    filesystems: &[Filesystem],
    disks: usize,
) -> Result<Option<Mountpoint>> {
    if let Some(t) = read_small(h, "/etc/fstab")? {
        if let Some(entry) = fstab::parse(&text(&t))
            .into_iter()
            .find(|e| e.mountpoint.trim_end_matches('/') == "/usr")
        {
            let Some(device) = fstab::resolve(&entry.spec, filesystems, &Vec::new(), disks) else {
                log::warn!(
                    "{root}: /etc/fstab mounts /usr from {}, which is on none of the disks",
                    entry.spec
                );
                return Ok(None);
            };
            return Ok(mount_ro(h, &device)?.then(|| Mountpoint {
                mountpoint: "/usr".into(),
                device,
                fstype: entry.fstype,
                options: None,
            }));
        }
    }
    if !is_coreos_root(h)? {
        return Ok(None);
    }
    for fs in filesystems
        .iter()
        .filter(|f| f.device != *root && USR_TYPES.contains(&f.fstype.as_str()))
    {
        if !mount_ro(h, &fs.device)? {
            continue;
        }
        if is_coreos_usr(h)? {
            return Ok(Some(Mountpoint {
                mountpoint: "/usr".into(),
                device: fs.device.clone(),
                fstype: fs.fstype.clone(),
                options: None,
            }));
        }
        // Not it: take everything down and put the root back for the next candidate.
        h.umount_all()?;
        h.run(args::Mount::new(root, "/").readonly(true))?;
    }
    log::warn!("{root}: a CoreOS root, but no filesystem on the disks holds its /usr");
    Ok(None)
}

fn mount_ro(h: &Handle, device: &Device) -> Result<bool> {
    match h.run(args::Mount::new(device, "/usr").readonly(true)) {
        Ok(()) => Ok(true),
        Err(e) if e.errno().is_some() => {
            log::warn!("{device} not mounted on /usr: {}", crate::error::chain(&e));
            Ok(false)
        }
        Err(e) => Err(e),
    }
}

/// Whether `path` is a directory (following links); an unreadable path is not.
pub(super) fn is_dir(h: &Handle, path: &str) -> Result<bool> {
    match h.is_dir(GuestPath::from(path)) {
        Ok(b) => Ok(b),
        Err(e) if e.errno().is_some() => Ok(false),
        Err(e) => Err(e),
    }
}

/// Whether `/bin` is a link to `usr/bin` (or `/usr/bin`): a merged-/usr root.
pub fn bin_links_to_usr(h: &Handle) -> Result<bool> {
    match h.readlink(GuestPath::from("/bin")) {
        Ok(t) => Ok(matches!(t.as_bytes(), b"usr/bin" | b"/usr/bin")),
        Err(e) if e.errno().is_some() => Ok(false),
        Err(e) => Err(e),
    }
}

/// CoreOS's root: `/etc/coreos/update.conf`.
pub fn is_coreos_root(h: &Handle) -> Result<bool> {
    Ok(is_dir(h, "/etc")? && exists(h, "/etc/coreos/update.conf")?)
}

/// CoreOS's `/usr`, mounted on `/usr`.
fn is_coreos_usr(h: &Handle) -> Result<bool> {
    for d in ["/usr/bin", "/usr/share", "/usr/local", "/usr/share/coreos"] {
        if !is_dir(h, d)? {
            return Ok(false);
        }
    }
    Ok(true)
}

/// What CoreOS's `/usr` says about the release: (major, minor, product name), from
/// `/usr/lib/os-release` or else `/usr/share/coreos/lsb-release`.
pub fn coreos_release(h: &Handle) -> Result<Option<(u32, u32, String)>> {
    let (text_of, version_key, name_key) = if let Some(t) = read_small(h, "/usr/lib/os-release")? {
        (text(&t), "VERSION_ID", "PRETTY_NAME")
    } else if let Some(t) = read_small(h, "/usr/share/coreos/lsb-release")? {
        (text(&t), "DISTRIB_RELEASE", "DISTRIB_DESCRIPTION")
    } else {
        return Ok(None);
    };
    let fields = super::osrelease::parse_os_release(&text_of);
    let get = |k: &str| {
        fields
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let version = get(version_key);
    let mut parts = version.split('.').map(|p| p.parse::<u32>().ok());
    let major = parts.next().flatten().unwrap_or(0);
    let minor = parts.next().flatten().unwrap_or(0);
    Ok(Some((major, minor, get(name_key))))
}
