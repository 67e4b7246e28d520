//! Inspection: which operating systems are on the attached disks, what they are, and how
//! their filesystems fit together (their fstab), so a tool can mount them the way the guest
//! would (`-i`).
//!
//! Everything read here comes from the guest and is untrusted: files may be missing, empty,
//! huge, FIFOs or symlinks to devices. Every read is bounded, and a file that cannot be read
//! the ordinary way is treated as missing. Inspection leaves nothing mounted.
//!
//! ```no_run
//! use guestwright::inspect::{applications, inspect_all, mount_inspected};
//! use guestwright::prelude::*;
//!
//! # fn main() -> Result<(), guestwright::Error> {
//! let mut h = Handle::new();
//! h.add_drive("guest.qcow2", DriveOptions::readonly())?;
//! h.launch()?;
//! let found = inspect_all(&h)?;
//! for fs in &found.unreadable {
//!     eprintln!("not inspected: {fs}"); // a LUKS volume without a key, ...
//! }
//! let Some(os) = found.found.first() else {
//!     return Err(found.no_os_error()); // says what was found instead and what to do
//! };
//! println!("{} ({} {}), root {}", os.product_name, os.distro, os.arch, os.root);
//! mount_inspected(&h, os, true)?; // `/` first, then the rest of its fstab, read-only
//! println!("{} packages", applications(&h, os)?.len());
//! # Ok(())
//! # }
//! ```

pub mod elf;
pub mod fstab;
pub mod keys;
pub mod libguestfs;
pub mod mdnames;
pub mod osrelease;
pub mod packages;
pub mod rpmdb;
pub mod separate_usr;
pub mod volumes;
pub mod windows;

use crate::error::{Error, Result};
use crate::handle::Handle;
use guestwright_protocol::args;
use guestwright_protocol::{ByteSize, Client, Device, Errno, Filesystem, FsType, GuestPath};
use packages::Application;
use serde::Serialize;
pub use volumes::Unreadable;

/// Filesystem types a Linux root can live on.
const ROOT_TYPES: &[&str] = &[
    "ext2", "ext3", "ext4", "xfs", "btrfs", "jfs", "reiserfs", "f2fs",
];
/// The most a small guest file may hold before inspection ignores the rest.
const SMALL_FILE: u64 = 256 * 1024;
/// The most of the dpkg database inspection will read.
const DPKG_STATUS_MAX: usize = 128 << 20;
/// The most of the apk database inspection will read (libguestfs's limit).
const APK_INSTALLED_MAX: usize = 50_000_000;

/// One operating system found on the disks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OsInfo {
    /// The device holding its root filesystem.
    pub root: Device,
    /// Mount options the root needs (a btrfs subvolume: `subvol=root`).
    pub root_options: Option<String>,
    /// `linux`, `windows` or `unknown`.
    pub os_type: String,
    /// `debian`, `ubuntu`, `rhel`, `fedora`, ... (libguestfs's names).
    pub distro: String,
    /// The product name (`PRETTY_NAME`).
    pub product_name: String,
    /// Major version.
    pub major_version: u32,
    /// Minor version.
    pub minor_version: u32,
    /// Architecture from the ELF header of a guest binary: `x86_64`, `aarch64`, ...
    pub arch: String,
    /// The guest's hostname, as configured.
    pub hostname: String,
    /// `deb`, `rpm`, `apk`, `pacman`, ...
    pub package_format: String,
    /// `apt`, `dnf`, `yum`, `zypper`, ...
    pub package_management: String,
    /// The osinfo short id as libguestfs computes it (`debian12`, `ubuntu22.04`), if any.
    pub osinfo: Option<String>,
    /// Where the guest mounts its filesystems, from its fstab, in mounting order.
    pub mountpoints: Vec<Mountpoint>,
    /// Every filesystem on the disks, with type, label and UUID.
    pub filesystems: Vec<Filesystem>,
    /// What only Windows has (system root, control set, drive letters, ...).
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub windows: Option<windows::WindowsInfo>,
}

/// A line of the guest's fstab, resolved to an appliance device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Mountpoint {
    /// Where in the guest tree.
    pub mountpoint: String,
    /// The device.
    pub device: Device,
    /// The type the fstab names (`auto` lets the appliance detect it).
    pub fstype: String,
    /// Options that change what gets mounted (a btrfs subvolume); other fstab options are
    /// the guest's business and are not passed on.
    pub options: Option<String>,
}

/// Reads at most [`SMALL_FILE`] bytes of a guest file; `None` when it is missing or not a
/// regular file. Only the appliance dying is an error.
/// What [`mdnames::resolve`] needs: the ARRAY lines of the guest's mdadm.conf and the
/// arrays assembled in the appliance (none when it cannot assemble any).
fn md_arrays(h: &Handle) -> Result<(mdnames::ConfArrays, Vec<mdnames::MdArray>)> {
    let mut conf = Vec::new();
    for path in ["/etc/mdadm.conf", "/etc/mdadm/mdadm.conf"] {
        if let Some(t) = read_small(h, path)? {
            conf.extend(mdnames::conf_arrays(&text(&t)));
        }
    }
    let devices = match h.list_md_devices() {
        Ok(d) => d,
        Err(e) if e.errno().is_some() => Vec::new(),
        Err(e) => return Err(e),
    };
    let mut arrays = Vec::new();
    for device in devices {
        match h.md_detail(&device) {
            Ok(detail) => arrays.push(mdnames::MdArray::from_detail(device, &detail)),
            Err(e) if e.errno().is_some() => {}
            Err(e) => return Err(e),
        }
    }
    Ok((conf, arrays))
}

fn read_small(h: &Handle, path: &str) -> Result<Option<Vec<u8>>> {
    match h.pread(GuestPath::from(path), ByteSize(SMALL_FILE), ByteSize(0)) {
        Ok(d) => Ok(Some(d.0)),
        Err(e) if e.errno().is_some() => {
            log::debug!("inspect: {path}: {}", crate::error::chain(&e));
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn exists(h: &Handle, path: &str) -> Result<bool> {
    match h.exists(GuestPath::from(path)) {
        Ok(b) => Ok(b),
        Err(e) if e.errno().is_some() => Ok(false),
        Err(e) => Err(e),
    }
}

/// Mounts a candidate root read-only; `Err(why)` if it does not mount.
fn mount_candidate(
    h: &Handle,
    device: &Device,
    options: Option<&str>,
) -> Result<std::result::Result<(), String>> {
    match h.run(args::Mount {
        options: options.map(str::to_string),
        ..args::Mount::new(device, "/").readonly(true)
    }) {
        Ok(()) => Ok(Ok(())),
        Err(e) if e.errno().is_some() => {
            // An XFS log that needs replaying refuses a read-only mount; look anyway.
            if e.errno() == Some(Errno::EROFS) || e.errno() == Some(Errno::EINVAL) {
                let mut opts = options.map(|o| format!("{o},")).unwrap_or_default();
                opts.push_str("norecovery");
                if h.run(args::Mount::new(device, "/").options(opts).readonly(true))
                    .is_ok()
                {
                    return Ok(Ok(()));
                }
            }
            let why = match &e {
                Error::Remote { source, .. } => source.message.clone(),
                other => crate::error::chain(other),
            };
            log::debug!("inspect: {device} does not mount: {why}");
            Ok(Err(why))
        }
        Err(e) => Err(e),
    }
}

/// What inspection found: the operating systems, and the filesystems it could not look
/// into with the reason for each.
#[derive(Debug, Clone)]
pub struct Inspection {
    /// The operating systems, in the order of their root devices.
    pub found: Vec<OsInfo>,
    /// Filesystems that could not be read (a LUKS volume without a key, an md member, a
    /// filesystem that does not mount, ...).
    pub unreadable: Vec<Unreadable>,
}

impl Inspection {
    /// The error `-i` and the commands that need a guest give when nothing was found: what
    /// was found instead, and what to do.
    pub fn no_os_error(&self) -> Error {
        let mut detail = String::from("no operating system was found on the disks");
        if self.unreadable.is_empty() {
            detail.push_str(" (no filesystem holds a Linux or Windows root)");
        } else {
            detail.push_str(": ");
            detail.push_str(
                &self
                    .unreadable
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("; "),
            );
        }
        let luks = self
            .unreadable
            .iter()
            .any(|u| u.reason.starts_with("is LUKS-encrypted"));
        detail.push_str(if luks {
            ". Give the keys, or mount filesystems yourself with -m DEVICE[:MOUNTPOINT]"
        } else {
            ". Mount filesystems yourself with -m DEVICE[:MOUNTPOINT] \
             (`guestwright filesystems -a IMAGE` lists them)"
        });
        Error::Inspection { detail }
    }
}

/// Finds the operating systems on the attached disks. Nothing stays mounted. What cannot be
/// read is logged as a warning; [`inspect_all`] returns it too.
pub fn inspect(h: &Handle) -> Result<Vec<OsInfo>> {
    Ok(inspect_all(h)?.found)
}

/// Finds the operating systems on the attached disks, opening LUKS volumes with the keys of
/// the handle's [`LaunchConfig::keys`](crate::LaunchConfig), and says what it could not
/// read. Nothing stays mounted; opened LUKS volumes stay open, for mounting. A filesystem
/// that cannot be read for a reason worth knowing (no key, no driver, it does not mount) is
/// logged as a warning as it is found.
pub fn inspect_all(h: &Handle) -> Result<Inspection> {
    let mut unreadable = Vec::new();
    let mut filesystems = h.list_filesystems_all()?;
    if volumes::open_luks(h, &filesystems, &h.config().keys, &mut unreadable)? {
        filesystems = h.list_filesystems_all()?;
    }
    for fs in &filesystems {
        if let Some((reason, notable)) = volumes::unreadable_type(&fs.fstype) {
            unreadable.push(Unreadable {
                device: fs.device.clone(),
                reason: reason.into(),
                notable,
            });
        }
    }
    for (_, line) in volumes::degraded_md(h, &filesystems)? {
        log::warn!("{line}");
    }
    let disks = h.list_devices()?.len();
    let mut found = Vec::new();
    for fs in filesystems
        .iter()
        .filter(|f| ROOT_TYPES.contains(&f.fstype.as_str()) || f.fstype == "ntfs")
    {
        if let Err(why) = mount_candidate(h, &fs.device, None)? {
            unreadable.push(Unreadable {
                device: fs.device.clone(),
                reason: format!("holds {} but does not mount: {why}", fs.fstype),
                notable: true,
            });
            continue;
        }
        if fs.fstype == "ntfs" {
            let result = windows::inspect_mounted(h, &fs.device, &filesystems);
            h.umount_all()?;
            found.extend(result?);
            continue;
        }
        let mut result = inspect_mounted(h, &fs.device, None, &filesystems, disks);
        if matches!(result, Ok(None)) && fs.fstype == "btrfs" {
            // A btrfs root often lives in a subvolume (Fedora's `root`, openSUSE's and
            // Ubuntu's `@`).
            let subvols: Vec<String> = ["root", "@", "@root"]
                .iter()
                .filter(|s| exists(h, &format!("/{s}/etc")).unwrap_or(false))
                .map(|s| s.to_string())
                .collect();
            h.umount_all()?;
            for sub in subvols {
                let opts = format!("subvol={sub}");
                if mount_candidate(h, &fs.device, Some(&opts))?.is_ok() {
                    result = inspect_mounted(h, &fs.device, Some(opts), &filesystems, disks);
                    h.umount_all()?;
                    if matches!(result, Ok(Some(_))) {
                        break;
                    }
                }
            }
        }
        h.umount_all()?;
        if let Some(os) = result? {
            found.push(os);
        }
    }
    for u in &unreadable {
        if u.notable {
            log::warn!("{u}");
        } else {
            log::info!("inspect: {u}");
        }
    }
    Ok(Inspection { found, unreadable })
}

/// The root filesystem's type as its superblock says, when it is one the appliance's kernel
/// mounts under that name; `auto` otherwise (the kernel then probes it).
fn root_fstype(root: &Device, filesystems: &[Filesystem]) -> String {
    const MOUNTABLE: &[&str] = &["ext2", "ext3", "ext4", "xfs", "btrfs", "vfat", "f2fs"];
    filesystems
        .iter()
        .find(|f| f.device == *root && MOUNTABLE.contains(&f.fstype.as_str()))
        .map_or_else(|| "auto".into(), |f| f.fstype.clone())
}

/// Inspects what is mounted on `/`; `None` if it is not an operating system's root.
fn inspect_mounted(
    h: &Handle,
    root: &Device,
    root_options: Option<String>,
    filesystems: &[Filesystem],
    disks: usize,
) -> Result<Option<OsInfo>> {
    let is_windows = exists(h, "/Windows/System32")?;
    // A Linux root: /etc, and programs in /bin or /usr/bin (following links: merged-/usr
    // layouts have /bin -> usr/bin, or no /bin at all). virt-inspector 1.48 asks for /bin
    // as a directory or a link to usr/bin, plus /etc/fstab or /etc/hosts; a root with
    // only /usr/bin, or without both files, is one OS here and none there (README).
    let has_etc = separate_usr::is_dir(h, "/etc")?;
    let has_programs =
        |h: &Handle| -> Result<bool> { Ok(exists(h, "/usr/bin")? || exists(h, "/bin")?) };
    let mut is_linux = has_etc && has_programs(h)?;
    // A root whose programs are on a separate /usr (merged /usr, CoreOS) is only complete
    // once that is mounted too.
    let mut usr = None;
    if !is_linux && !is_windows && has_etc {
        usr = separate_usr::mount_usr(h, root, filesystems, disks)?;
        is_linux = usr.is_some() && has_programs(h)?;
        if !is_linux && separate_usr::bin_links_to_usr(h)? {
            // /bin -> usr/bin with no /usr to be found (mounted by the initramfs from the
            // kernel's command line, say): still a Linux root, as virt-inspector says.
            log::warn!(
                "{root}: /bin links to /usr/bin, but no filesystem on the disks holds /usr: \
                 the OS's programs (architecture) cannot be examined"
            );
            is_linux = true;
        }
    }
    let coreos = is_linux && separate_usr::is_coreos_root(h)?;
    if !is_linux && !is_windows {
        return Ok(None);
    }
    let mut os = OsInfo {
        root: root.clone(),
        root_options: root_options.clone(),
        os_type: if is_linux { "linux" } else { "windows" }.into(),
        distro: if is_linux { "unknown" } else { "windows" }.into(),
        product_name: String::new(),
        major_version: 0,
        minor_version: 0,
        arch: "unknown".into(),
        hostname: String::new(),
        package_format: "unknown".into(),
        package_management: "unknown".into(),
        osinfo: None,
        mountpoints: vec![Mountpoint {
            mountpoint: "/".into(),
            device: root.clone(),
            fstype: root_fstype(root, filesystems),
            options: root_options,
        }],
        filesystems: filesystems.to_vec(),
        windows: None,
    };
    if is_windows {
        os.product_name = "Windows".into();
        return Ok(Some(os));
    }

    let mut failed = None;
    let release = osrelease::detect(|path| match read_small(h, path) {
        Ok(found) => found.map(|t| text(&t)),
        Err(e) => {
            failed.get_or_insert(e);
            None
        }
    });
    if let Some(e) = failed {
        return Err(e);
    }
    (
        os.distro,
        os.product_name,
        os.major_version,
        os.minor_version,
    ) = (
        release.distro,
        release.product_name,
        release.major,
        release.minor,
    );
    if coreos {
        os.distro = "coreos".into();
        if let Some((major, minor, name)) = separate_usr::coreos_release(h)? {
            (os.major_version, os.minor_version, os.product_name) = (major, minor, name);
        }
    }
    let has_dnf = h
        .run(args::IsFile::new(GuestPath::from("/usr/bin/dnf")).followsymlinks(true))
        .unwrap_or(false);
    let (format, manager) = osrelease::package_tools(&os.distro, os.major_version, has_dnf);
    (os.package_format, os.package_management) = (format.into(), manager.into());
    os.osinfo = osrelease::osinfo(&os.distro, os.major_version, os.minor_version);

    for binary in [
        "/bin/sh",
        "/usr/bin/sh",
        "/bin/ls",
        "/usr/bin/ls",
        "/sbin/init",
    ] {
        if let Some(header) = read_small_prefix(h, binary, 64)? {
            if let Some(arch) = elf::arch(&header) {
                os.arch = arch.into();
                break;
            }
        }
    }

    os.hostname = hostname(h)?;

    if let Some(t) = read_small(h, "/etc/fstab")? {
        let mut partuuids = None;
        let mut md = None;
        for entry in fstab::parse(&text(&t)) {
            if entry.mountpoint == "/" {
                continue;
            }
            let mut device = None;
            if entry.spec.starts_with("/dev/md") {
                let (conf, arrays) = match &md {
                    Some(m) => m,
                    None => md.insert(md_arrays(h)?),
                };
                device = mdnames::resolve(&entry.spec, conf, arrays);
            }
            if device.is_none() {
                device = fstab::resolve(&entry.spec, filesystems, &Vec::new(), disks);
            }
            if device.is_none() && entry.spec.contains("PARTUUID") {
                let known = match &partuuids {
                    Some(p) => p,
                    None => partuuids.insert(partition_uuids(h)?),
                };
                device = fstab::resolve(&entry.spec, filesystems, known, disks);
            }
            let Some(device) = device else {
                log::debug!(
                    "inspect: fstab entry {} for {} matches no filesystem here",
                    entry.spec,
                    entry.mountpoint
                );
                continue;
            };
            let options = entry
                .options
                .split(',')
                .filter(|o| o.starts_with("subvol=") || o.starts_with("subvolid="))
                .collect::<Vec<_>>()
                .join(",");
            os.mountpoints.push(Mountpoint {
                mountpoint: entry.mountpoint,
                device,
                fstype: entry.fstype,
                options: (!options.is_empty()).then_some(options),
            });
        }
    }
    if let Some(usr) = usr {
        if !os.mountpoints.iter().any(|m| m.mountpoint == "/usr") {
            os.mountpoints.push(usr);
        }
    }
    if coreos {
        // virt-inspector's CoreOS is its root and its /usr, nothing else on the disks.
        let mine: Vec<Device> = os.mountpoints.iter().map(|m| m.device.clone()).collect();
        os.filesystems.retain(|f| mine.contains(&f.device));
    }
    // Parents before children; `/` first.
    os.mountpoints.sort_by(|a, b| {
        depth(&a.mountpoint)
            .cmp(&depth(&b.mountpoint))
            .then(a.mountpoint.cmp(&b.mountpoint))
    });
    Ok(Some(os))
}

fn depth(mountpoint: &str) -> usize {
    mountpoint.trim_end_matches('/').matches('/').count()
}

fn read_small_prefix(h: &Handle, path: &str, n: u64) -> Result<Option<Vec<u8>>> {
    match h.pread(GuestPath::from(path), ByteSize(n), ByteSize(0)) {
        Ok(d) => Ok(Some(d.0)),
        Err(e) if e.errno().is_some() => Ok(None),
        Err(e) => Err(e),
    }
}

/// The configured hostname: /etc/hostname, or the older places.
fn hostname(h: &Handle) -> Result<String> {
    for path in ["/etc/hostname", "/etc/HOSTNAME"] {
        if let Some(t) = read_small(h, path)? {
            let name = text(&t)
                .lines()
                .map(str::trim)
                .find(|l| !l.is_empty() && !l.starts_with('#'))
                .unwrap_or("")
                .to_string();
            if !name.is_empty() {
                return Ok(name);
            }
        }
    }
    if let Some(t) = read_small(h, "/etc/sysconfig/network")? {
        for (k, v) in osrelease::parse_os_release(&text(&t)) {
            if k == "HOSTNAME" && !v.is_empty() {
                return Ok(v);
            }
        }
    }
    Ok(String::new())
}

/// blkid's `PTUUID` of a disk: the GPT disk GUID, or the MBR disk signature (`1234abcd`)
/// that MBR PARTUUIDs (`1234abcd-01`) extend.
pub(crate) fn partition_table_uuid(h: &Handle, disk: &Device) -> Option<String> {
    h.blkid(disk)
        .ok()?
        .into_iter()
        .find(|p| p.key == "PTUUID")
        .map(|p| p.value)
}

/// PARTUUIDs of every partition: GPT unique GUIDs, and `SIGNATURE-NN` on MBR disks.
fn partition_uuids(h: &Handle) -> Result<fstab::PartUuids> {
    let mut out = Vec::new();
    for disk in h.list_devices()? {
        let Ok(parts) = h.part_list(&disk.device) else {
            continue;
        };
        let signature = partition_table_uuid(h, &disk.device);
        for p in parts {
            let dev = Device::from(format!("{}{}", disk.device.as_str(), p.partnum));
            if let Some(uuid) = p.uuid {
                out.push((uuid, dev));
            } else if let Some(sig) = &signature {
                out.push((format!("{sig}-{:02x}", p.partnum), dev));
            }
        }
    }
    Ok(out)
}

/// Mounts an inspected OS's filesystems as the guest would: `/` first, then the rest in
/// order. A filesystem that fails to mount (other than `/`) is skipped with a warning, like
/// libguestfs's `-i`.
pub fn mount_inspected(h: &Handle, os: &OsInfo, readonly: bool) -> Result<()> {
    for (i, m) in os.mountpoints.iter().enumerate() {
        let fstype =
            (m.fstype != "auto" && m.fstype != "none").then(|| FsType::from(m.fstype.as_str()));
        let result = h.run(args::Mount {
            options: m.options.clone(),
            fstype,
            readonly: Some(readonly),
            ..args::Mount::new(&m.device, GuestPath::from(m.mountpoint.as_str()))
        });
        match result {
            Ok(()) => {}
            Err(e) if i == 0 => return Err(e),
            // A failure because the program is stopping is the stop, not this filesystem's:
            // it ends the command, with the one message about the interruption.
            Err(e) if e.errno().is_some() && !crate::interrupt::stopping() => {
                log::warn!(
                    "{} not mounted on {}: {}",
                    m.device,
                    m.mountpoint,
                    crate::error::chain(&e)
                );
            }
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Inspects and mounts the one operating system on the disks (what `-i` does). Several
/// operating systems, or none, are an error that says what was found.
pub fn inspect_and_mount(h: &Handle, readonly: bool) -> Result<OsInfo> {
    let inspection = inspect_all(h)?;
    let mut found = inspection.found.clone();
    match found.len() {
        1 => {
            let os = found.remove(0);
            mount_inspected(h, &os, readonly)?;
            Ok(os)
        }
        0 => Err(inspection.no_os_error()),
        n => Err(Error::Inspection {
            detail: format!(
                "{n} operating systems were found (roots {}): choose one with -m ROOTDEVICE",
                found
                    .iter()
                    .map(|o| o.root.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }),
    }
}

/// [`inspect_and_mount`] with mount options chosen by mountpoint (virt-sysprep's
/// `--mount-options "/:noatime;/var:rw,noatime"` parsed into pairs): they are added to what
/// the mount needs anyway (a btrfs subvolume).
pub fn inspect_and_mount_options(
    h: &Handle,
    readonly: bool,
    options: &[(String, String)],
) -> Result<OsInfo> {
    if options.is_empty() {
        return inspect_and_mount(h, readonly);
    }
    let inspection = inspect_all(h)?;
    if inspection.found.len() != 1 {
        return inspect_and_mount(h, readonly);
    }
    let os = inspection.found[0].clone();
    mount_inspected_options(h, &os, readonly, options)?;
    Ok(os)
}

/// [`mount_inspected`] with mount options chosen by mountpoint, added to what the mount
/// needs anyway (see [`inspect_and_mount_options`]).
pub fn mount_inspected_options(
    h: &Handle,
    os: &OsInfo,
    readonly: bool,
    options: &[(String, String)],
) -> Result<()> {
    let mut with = os.clone();
    for m in &mut with.mountpoints {
        if let Some((_, o)) = options.iter().rev().find(|(mp, _)| *mp == m.mountpoint) {
            if !o.is_empty() {
                m.options = Some(match m.options.take() {
                    Some(old) if !old.is_empty() => format!("{old},{o}"),
                    _ => o.clone(),
                });
            }
        }
    }
    mount_inspected(h, &with, readonly)
}

/// The installed packages of an inspected OS whose filesystems are mounted.
pub fn applications(h: &Handle, os: &OsInfo) -> Result<Vec<Application>> {
    match os.package_format.as_str() {
        "deb" => {
            let mut buf = CappedBuffer {
                data: Vec::new(),
                cap: DPKG_STATUS_MAX,
            };
            match h.download(GuestPath::from("/var/lib/dpkg/status"), &mut buf) {
                Ok(()) => Ok(packages::parse_dpkg_status(&text(&buf.data))),
                Err(e) if e.errno().is_some() || matches!(e, Error::Transfer { .. }) => {
                    log::warn!("cannot read the dpkg database: {}", crate::error::chain(&e));
                    Ok(Vec::new())
                }
                Err(e) => Err(e),
            }
        }
        "rpm" => rpmdb::applications(h),
        "apk" => apk_applications(h),
        "pacman" => pacman_applications(h),
        _ => Ok(Vec::new()),
    }
}

/// The apk database, `/lib/apk/db/installed`, read whole as libguestfs reads it (at most
/// 50 MB).
fn apk_applications(h: &Handle) -> Result<Vec<Application>> {
    const INSTALLED: &str = "/lib/apk/db/installed";
    let mut buf = CappedBuffer {
        data: Vec::new(),
        cap: APK_INSTALLED_MAX,
    };
    match h.download(GuestPath::from(INSTALLED), &mut buf) {
        Ok(()) => Ok(packages::parse_apk_installed(&buf.data)),
        Err(e) if e.errno().is_some() || matches!(e, Error::Transfer { .. }) => {
            log::warn!(
                "cannot read the apk database {INSTALLED}: {}: packages not listed",
                crate::error::chain(&e)
            );
            Ok(Vec::new())
        }
        Err(e) => Err(e),
    }
}

/// The pacman database: one `desc` file per package under `/var/lib/pacman/local`. A desc
/// file larger than 8 KiB is skipped, as libguestfs skips it, but named.
fn pacman_applications(h: &Handle) -> Result<Vec<Application>> {
    const DB: &str = "/var/lib/pacman/local";
    const DESC_MAX: u64 = 8192;
    let names = match h.ls(GuestPath::from(DB)) {
        Ok(n) => n,
        Err(e) if e.errno().is_some() => {
            log::warn!(
                "cannot read the pacman database {DB}: {}",
                crate::error::chain(&e)
            );
            return Ok(Vec::new());
        }
        Err(e) => return Err(e),
    };
    let mut apps = Vec::new();
    for name in names {
        let name = String::from_utf8_lossy(&name.0).into_owned();
        if name == "ALPM_DB_VERSION" {
            continue;
        }
        let path = format!("{DB}/{name}/desc");
        match h.pread(
            GuestPath::from(path.as_str()),
            ByteSize(DESC_MAX + 1),
            ByteSize(0),
        ) {
            Ok(d) if d.0.len() as u64 > DESC_MAX => {
                log::warn!("{path} is larger than {DESC_MAX} bytes: package not listed");
            }
            Ok(d) => match packages::parse_pacman_desc(&text(&d.0)) {
                Some(app) => apps.push(app),
                None => {
                    log::warn!("{path} lacks a name, version-release or arch: package not listed")
                }
            },
            Err(e) if e.errno().is_some() => {
                log::warn!("cannot read {path}: {}", crate::error::chain(&e));
            }
            Err(e) => return Err(e),
        }
    }
    apps.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(apps)
}

/// A `Write` that refuses to grow past its cap.
struct CappedBuffer {
    data: Vec<u8>,
    cap: usize,
}

impl std::io::Write for CappedBuffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.data.len() + buf.len() > self.cap {
            return Err(std::io::Error::new(
                std::io::ErrorKind::FileTooLarge,
                format!("larger than {} bytes", self.cap),
            ));
        }
        self.data.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
