//! Mounting guest filesystems into the guest tree at /sysroot, and taking them down again.

use crate::block::blockdev::ResolvedDevice;
use crate::boot::modules::Modules;
use crate::fs::guestfs::{self, SYSROOT};
use crate::sys;
use guestwright_protocol::{
    unescape_octal, Device, Errno, FsType, GuestPath, KeyValue, MountEntry, RemoteError,
};
use guestwright_sync::Mutex;
use std::io;
use std::path::{Path, PathBuf};

/// One filesystem mounted in the guest tree.
#[derive(Debug, Clone)]
struct Mounted {
    device: Device,
    mountpoint: GuestPath,
    target: PathBuf,
}

/// How to mount: options, a forced type, read-only.
#[derive(Debug, Clone, Copy, Default)]
pub struct MountHow<'a> {
    /// Comma-separated mount options.
    pub options: Option<&'a str>,
    /// The filesystem type, instead of detecting it.
    pub fstype: Option<&'a FsType>,
    /// Mount read-only.
    pub readonly: bool,
}

/// The mounts this daemon made, in the order it made them.
#[derive(Debug, Default)]
pub struct Mounts {
    table: Mutex<Vec<Mounted>>,
}

/// Options every guest mount gets: a device node or a setuid file in a guest filesystem must
/// never act on the appliance.
const ALWAYS: libc::c_ulong = libc::MS_NODEV | libc::MS_NOSUID;

/// Splits `ro,noatime,data=ordered` into mount flags and the filesystem-specific rest.
fn parse_options(options: &str) -> (libc::c_ulong, String) {
    let mut flags = 0;
    let mut data = Vec::new();
    for opt in options.split(',').map(str::trim).filter(|o| !o.is_empty()) {
        let flag = match opt {
            "ro" => libc::MS_RDONLY,
            "rw" | "defaults" | "nodev" | "nosuid" => 0,
            "noexec" => libc::MS_NOEXEC,
            "sync" => libc::MS_SYNCHRONOUS,
            "dirsync" => libc::MS_DIRSYNC,
            "noatime" => libc::MS_NOATIME,
            "nodiratime" => libc::MS_NODIRATIME,
            "relatime" => libc::MS_RELATIME,
            "strictatime" => libc::MS_STRICTATIME,
            "lazytime" => libc::MS_LAZYTIME,
            _ => {
                data.push(opt);
                continue;
            }
        };
        flags |= flag;
    }
    (flags, data.join(","))
}

fn mountinfo() -> io::Result<Vec<(PathBuf, String, String, String)>> {
    // Fields: id parent major:minor root mountpoint options [optional...] - fstype source superoptions
    let text = std::fs::read_to_string("/proc/self/mountinfo")?;
    Ok(text
        .lines()
        .filter_map(|line| {
            let (left, right) = line.split_once(" - ")?;
            let left: Vec<&str> = left.split(' ').collect();
            let right: Vec<&str> = right.split(' ').collect();
            let mountpoint = String::from_utf8_lossy(&unescape_octal(left.get(4)?)).into_owned();
            Some((
                PathBuf::from(mountpoint),
                right.first()?.to_string(),
                right.get(1)?.to_string(),
                format!("{},{}", left.get(5)?, right.get(2).unwrap_or(&"")),
            ))
        })
        .collect())
}

impl Mounts {
    /// True when something is mounted on the guest's `/`, or beneath it on a directory
    /// made by `mkmountpoint` (as libguestfs's daemon counts it).
    pub fn root_mounted(&self) -> bool {
        !self.table.lock().is_empty()
    }

    /// Mounts `device` at `mountpoint` in the guest tree.
    pub fn mount(
        &self,
        modules: &Modules,
        device: &ResolvedDevice,
        mountpoint: &GuestPath,
        how: MountHow<'_>,
    ) -> io::Result<()> {
        let MountHow {
            options,
            fstype,
            readonly,
        } = how;
        let (source, device) = (device.node().to_path_buf(), device.name());
        // An md array is listed by its kernel name (/dev/md126 for /dev/md/bootdev), as
        // libguestfs lists what /proc/mounts shows after mount(8) resolved the link.
        let kernel_name = device
            .as_str()
            .starts_with("/dev/md/")
            .then(|| std::fs::canonicalize(&source).ok())
            .flatten()
            .and_then(|p| Device::new(p.to_string_lossy().into_owned()).ok());
        let device = kernel_name.as_ref().unwrap_or(device);
        // Recorded as the kernel lists it: `/loop/` is mounted on `/loop`.
        let trimmed = match mountpoint.as_bytes() {
            b"/" => &b"/"[..],
            b => b.strip_suffix(b"/").unwrap_or(b),
        };
        let mountpoint = &GuestPath::from(trimmed);
        // Held until the mount is recorded, so the check for `/`, the mount and its record
        // are one step. Module loading (and the extras disk's lock) may be taken under it,
        // never the other way round; no round trip happens here.
        let mut table = self.table.lock();
        let is_root = mountpoint.as_bytes() == b"/";
        // Without `/`, only a directory made by `mkmountpoint` can be mounted on.
        let premade = || guestfs::open(mountpoint, libc::O_PATH | libc::O_DIRECTORY, 0).is_ok();
        if !is_root && !table.iter().any(|m| m.mountpoint.as_bytes() == b"/") && !premade() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("mount {mountpoint}: mount a filesystem on / first"),
            ));
        }
        let target = if is_root {
            if table.iter().any(|m| m.mountpoint.as_bytes() == b"/") {
                return Err(io::Error::from_raw_os_error(libc::EBUSY));
            }
            PathBuf::from(SYSROOT)
        } else {
            let dir =
                guestfs::open(mountpoint, libc::O_PATH | libc::O_DIRECTORY, 0).map_err(|e| {
                    match e.raw_os_error() {
                        // Worded as mount(8) words it, which libguestfs passes on.
                        Some(libc::ENOENT | libc::ENOTDIR) => io::Error::other(RemoteError::new(
                            Errno::ENOTDIR,
                            format!("mount: {mountpoint}: mount point is not a directory"),
                        )),
                        _ => e,
                    }
                })?;
            guestfs::real_path(&dir)?
        };
        let (mut flags, data) = parse_options(options.unwrap_or(""));
        flags |= ALWAYS;
        if readonly {
            flags |= libc::MS_RDONLY;
        }
        let data = (!data.is_empty()).then_some(data);
        let source_str = source.to_string_lossy().into_owned();
        let candidates: Vec<String> = match fstype {
            Some(t) => vec![t.0.clone()],
            None => detect_fstypes(&source),
        };
        let mut last_err = io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{device}: no filesystem the appliance recognises"),
        );
        for fstype in &candidates {
            let _ = modules.load(module_for(fstype));
            // The kernel would ask modprobe for the character sets; there is none here.
            if matches!(
                fstype.as_str(),
                "vfat" | "msdos" | "exfat" | "iso9660" | "udf" | "ntfs3"
            ) {
                for nls in ["nls_cp437", "nls_iso8859_1", "nls_utf8"] {
                    let _ = modules.load(nls);
                }
            }
            let data = with_charset(fstype, data.as_deref());
            let mut mounted =
                sys::mount(&source_str, &target, Some(fstype), flags, data.as_deref());
            if let Err(e) = &mounted {
                // As mount(8) does (which libguestfs runs): a filesystem that cannot be
                // written (a btrfs seed device, a write-protected medium) is mounted
                // read-only instead.
                let denied = matches!(e.raw_os_error(), Some(libc::EACCES | libc::EROFS));
                if denied && flags & libc::MS_RDONLY == 0 {
                    let ro = flags | libc::MS_RDONLY;
                    mounted = sys::mount(&source_str, &target, Some(fstype), ro, data.as_deref());
                }
            }
            match mounted {
                Ok(()) => {
                    debug!("mounted {device} ({source_str}, {fstype}) on {mountpoint}");
                    table.push(Mounted {
                        device: device.clone(),
                        mountpoint: mountpoint.clone(),
                        target,
                    });
                    drop(table);
                    return Ok(());
                }
                Err(e) if fstype == "ntfs" && e.raw_os_error() == Some(libc::ENODEV) => {
                    // No ntfs3 in this kernel: the carried FUSE driver, if the host had it.
                    match mount_ntfs3g(modules, &source_str, &target, flags, data.as_deref()) {
                        Ok(()) => {
                            debug!("mounted {device} ({source_str}, ntfs-3g) on {mountpoint}");
                            table.push(Mounted {
                                device: device.clone(),
                                mountpoint: mountpoint.clone(),
                                target,
                            });
                            drop(table);
                            return Ok(());
                        }
                        Err(e) => last_err = e,
                    }
                }
                Err(e) => last_err = e,
            }
        }
        Err(last_err)
    }

    /// Unmounts everything in the guest tree, deepest first. Filesystems the daemon did not
    /// mount itself (a `command` may have mounted /proc in the guest) go too.
    pub fn umount_all(&self) -> io::Result<()> {
        // The table stays locked throughout, so no mount slips in between.
        Self::umount_all_locked(&mut self.table.lock())
    }

    /// [`Mounts::umount_all`] with the table locked.
    fn umount_all_locked(table: &mut Vec<Mounted>) -> io::Result<()> {
        // mountinfo lists mounts in the order they were made; undo them in reverse.
        let targets: Vec<PathBuf> = mountinfo()?
            .into_iter()
            .map(|m| m.0)
            .filter(|p| p.starts_with(SYSROOT))
            .collect();
        let mut first_err = None;
        for target in targets.iter().rev() {
            if let Err(e) = sys::umount(target, 0) {
                info!("cannot unmount {}: {e}", target.display());
                first_err.get_or_insert(e);
            }
        }
        match first_err {
            Some(e) => Err(e),
            None => {
                table.clear();
                Ok(())
            }
        }
    }

    /// `mountpoints`: device and mountpoint of each mount, in the order they were made.
    pub fn mountpoints(&self) -> Vec<KeyValue> {
        self.table
            .lock()
            .iter()
            .map(|m| {
                let mountpoint = String::from_utf8_lossy(m.mountpoint.as_bytes());
                KeyValue::new(m.device.to_string(), mountpoint)
            })
            .collect()
    }

    /// `umount`: unmounts the filesystem mounted at `what` (a guest mountpoint), or the one
    /// the device `what` is mounted on (the last, if several). A mount with others beneath
    /// it is busy (EBUSY). `flags` are umount2(2)'s.
    pub fn umount(&self, what: &str, flags: libc::c_int) -> io::Result<()> {
        // Held across the unmount and its record, so the table never lists a mount that
        // is gone.
        let mut table = self.table.lock();
        let trimmed = match what.trim_end_matches('/') {
            "" => "/",
            t => t,
        };
        let index = table
            .iter()
            .rposition(|m| m.mountpoint.as_bytes() == trimmed.as_bytes())
            .or_else(|| table.iter().rposition(|m| m.device.to_string() == what))
            .ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("umount: {what}: not mounted (see mountpoints)"),
                )
            })?;
        let target = table[index].target.clone();
        let beneath = table
            .iter()
            .any(|m| m.target != target && m.target.starts_with(&target));
        if beneath {
            return Err(io::Error::from_raw_os_error(libc::EBUSY));
        }
        sys::umount(&target, flags)?;
        table.remove(index);
        drop(table);
        Ok(())
    }

    /// `remount`: the filesystem mounted at `mountpoint` becomes read-write or read-only.
    pub fn remount(&self, mountpoint: &GuestPath, rw: bool) -> io::Result<()> {
        let table = self.table.lock();
        let trimmed = match mountpoint.as_bytes() {
            b"/" => &b"/"[..],
            b => b.strip_suffix(b"/").unwrap_or(b),
        };
        let options = if rw { "remount,rw" } else { "remount,ro" };
        let m = table
            .iter()
            .rev()
            .find(|m| m.mountpoint.as_bytes() == trimmed)
            .ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!(
                        "remount: {mountpoint}: {options}: mount: {mountpoint}: mount point not \
                         mounted or bad option."
                    ),
                )
            })?;
        let mut flags = libc::MS_REMOUNT | ALWAYS;
        if !rw {
            flags |= libc::MS_RDONLY;
        }
        let (source, target) = (m.device.to_string(), m.target.clone());
        drop(table);
        sys::mount(&source, &target, None, flags, None).map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("remount: {mountpoint}: {options}: mount: {e}"),
            )
        })
    }

    /// What is mounted in the guest tree.
    pub fn list(&self) -> io::Result<Vec<MountEntry>> {
        let info = mountinfo()?;
        let table = self.table.lock();
        Ok(table
            .iter()
            .map(|m| {
                let (fstype, options) = info
                    .iter()
                    .rev()
                    .find(|i| i.0 == m.target)
                    .map(|i| (i.1.clone(), i.3.clone()))
                    .unwrap_or_default();
                MountEntry {
                    device: m.device.clone(),
                    mountpoint: m.mountpoint.clone(),
                    fstype,
                    options,
                }
            })
            .collect())
    }
}

/// Mounts NTFS with the carried `ntfs-3g`. `blkdev` makes it a `fuseblk` mount, whose
/// unmount waits for ntfs-3g to write everything back (a plain `fuse` unmount returns at
/// once, and the appliance could power off before the volume is clean). ntfs-3g detaches
/// after mounting; the reaper collects it when it exits at unmount.
fn mount_ntfs3g(
    modules: &Modules,
    source: &str,
    target: &Path,
    flags: libc::c_ulong,
    data: Option<&str>,
) -> io::Result<()> {
    modules.load("fuse")?;
    let mut opts = vec!["blkdev", "nodev", "nosuid"];
    opts.push(if flags & libc::MS_RDONLY != 0 {
        "ro"
    } else {
        "rw"
    });
    if let Some(d) = data {
        opts.push(d);
    }
    let opts = opts.join(",");
    let target = target.to_string_lossy();
    crate::boot::tools::run("ntfs-3g", &["-o", &opts, source, &target]).map(drop)
}

/// FAT's default character set may be one the appliance does not carry (`ascii` on
/// Debian's kernels); UTF-8 is always there and shows every name.
fn with_charset(fstype: &str, data: Option<&str>) -> Option<String> {
    let fat = matches!(fstype, "vfat" | "msdos");
    match data {
        Some(d) if !fat || d.contains("iocharset=") => Some(d.to_string()),
        Some(d) => Some(format!("{d},iocharset=utf8")),
        None if fat => Some("iocharset=utf8".to_string()),
        None => None,
    }
}

/// The kernel module that provides a filesystem type.
fn module_for(fstype: &str) -> &str {
    match fstype {
        "iso9660" => "isofs",
        "ntfs" => "ntfs3",
        "ext2" | "ext3" => "ext4",
        other => other,
    }
}

/// `filesystem_available`: whether the kernel knows the filesystem type `name` (a block
/// filesystem in /proc/filesystems), after trying to load its module.
pub fn filesystem_available(modules: &Modules, name: &str) -> io::Result<bool> {
    if !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "filesystem_available: filesystem name contains non-alphanumeric characters",
        ));
    }
    let known = || -> io::Result<bool> {
        Ok(std::fs::read_to_string("/proc/filesystems")?
            .lines()
            .any(|l| l.trim_start() == name))
    };
    if known()? {
        return Ok(true);
    }
    if !name.is_empty() {
        let _ = modules.load(module_for(name));
    }
    known()
}

/// Filesystem types to try on a device: the probed one if the probe knows it, otherwise
/// every block filesystem the kernel has, like mount(8) does.
fn detect_fstypes(source: &Path) -> Vec<String> {
    match crate::block::fsinfo::probe_path(source) {
        Ok(Some(p)) if matches!(p.kind, crate::probe::Kind::Filesystem(_)) => {
            return vec![p.fstype.to_string()];
        }
        Ok(Some(p)) => {
            debug!(
                "{}: holds {}, not a filesystem; trying every type",
                source.display(),
                p.fstype
            );
        }
        Ok(None) => {}
        Err(e) => debug!("{}: cannot probe: {e}", source.display()),
    }
    std::fs::read_to_string("/proc/filesystems")
        .unwrap_or_default()
        .lines()
        .filter(|l| !l.starts_with("nodev"))
        .map(|l| l.trim().to_string())
        .filter(|l| !l.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_split_into_flags_and_data() {
        let (flags, data) = parse_options("ro,noatime,data=ordered,errors=remount-ro");
        assert_eq!(flags, libc::MS_RDONLY | libc::MS_NOATIME);
        assert_eq!(data, "data=ordered,errors=remount-ro");
        assert_eq!(parse_options(""), (0, String::new()));
    }

    #[test]
    fn mountinfo_escapes() {
        assert_eq!(
            unescape_octal("/sysroot/a\\040b"),
            "/sysroot/a b".as_bytes()
        );
        assert_eq!(unescape_octal("/x\\134"), "/x\\".as_bytes());
        assert_eq!(unescape_octal("/end\\04"), "/end\\04".as_bytes());
    }
}
