//! Windows inspection, as virt-inspector 1.48 does it: find the system root on an NTFS
//! filesystem (`/Windows`, `/WINNT`, ... in any letter case, holding `System32/config` and
//! `System32/cmd.exe`), take the architecture from cmd.exe's PE header, and read the
//! SOFTWARE and SYSTEM registry hives for the product, the version, the hostname, the drive
//! letters and the installed applications.
//!
//! The hives come from the guest and are untrusted: they are read whole (bounded) onto the
//! host and parsed by the `regf` crate (see [`hive`], which says why that crate); a hive that does not parse, or a key
//! that is missing, leaves its fields empty and is named on stderr, never silently.

pub mod hive;

use super::{exists, read_small_prefix, Mountpoint, OsInfo};
use crate::error::Result;
use crate::handle::Handle;
use guestwright_protocol::{Client, Device, Filesystem, GuestPath};
use hive::Hive;
use serde::Serialize;

/// The largest hive inspection reads (real SOFTWARE hives are 50-150 MiB).
const HIVE_MAX: usize = 512 << 20;

/// Where Windows keeps itself, lower case; the first that is a real system root wins.
const SYSTEMROOTS: &[&str] = &["/windows", "/winnt", "/win32", "/win", "/reactos"];

/// What only a Windows guest has.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct WindowsInfo {
    /// The system root as the guest's filesystem spells it: `/Windows`.
    #[serde(rename = "windows_systemroot")]
    pub systemroot: String,
    /// `ControlSet001`, from `HKLM\SYSTEM\Select\Current`.
    #[serde(rename = "windows_current_control_set")]
    pub current_control_set: String,
    /// `InstallationType`: `Client`, `Server`, `Server Core`, ...
    pub product_variant: String,
    /// `CurrentBuildNumber`.
    pub build_id: String,
    /// `EditionID`: `Professional`, `ServerStandard`, ...
    pub edition: String,
    /// Drive letters and the devices they map to (`HKLM\SYSTEM\MountedDevices`), by letter.
    pub drive_mappings: Vec<(String, Device)>,
}

/// One program listed under an `Uninstall` key of the SOFTWARE hive.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct WindowsApplication {
    /// The key's name (a product code or a short name).
    pub name: String,
    /// `DisplayName`.
    pub display_name: String,
    /// `DisplayVersion`.
    pub version: String,
    /// `Publisher`.
    pub publisher: String,
    /// `InstallLocation`.
    pub install_path: String,
    /// `URLInfoAbout`.
    pub url: String,
    /// `Comments`.
    pub description: String,
}

/// Resolves a path case-insensitively, component by component, as Windows would; `None`
/// when some component is not there.
fn resolve_nocase(h: &Handle, path: &str) -> Result<Option<String>> {
    let mut resolved = String::new();
    for component in path.split('/').filter(|c| !c.is_empty()) {
        let dir = if resolved.is_empty() { "/" } else { &resolved };
        let names = match h.ls(GuestPath::from(dir)) {
            Ok(n) => n,
            Err(e) if e.errno().is_some() => return Ok(None),
            Err(e) => return Err(e),
        };
        let Some(found) = names.iter().find(|n| {
            std::str::from_utf8(n.as_bytes()).is_ok_and(|s| s.eq_ignore_ascii_case(component))
        }) else {
            return Ok(None);
        };
        resolved.push('/');
        resolved.push_str(&String::from_utf8_lossy(found.as_bytes()));
    }
    Ok(Some(resolved))
}

fn is_dir(h: &Handle, path: &str) -> Result<bool> {
    match h.is_dir(GuestPath::from(path)) {
        Ok(b) => Ok(b),
        Err(e) if e.errno().is_some() => Ok(false),
        Err(e) => Err(e),
    }
}

fn is_file(h: &Handle, path: &str) -> Result<bool> {
    match h.is_file(GuestPath::from(path)) {
        Ok(b) => Ok(b),
        Err(e) if e.errno().is_some() => Ok(false),
        Err(e) => Err(e),
    }
}

/// The system root of the mounted filesystem, if it holds Windows.
pub fn systemroot(h: &Handle) -> Result<Option<String>> {
    if !exists(h, "/")? {
        return Ok(None);
    }
    for candidate in SYSTEMROOTS {
        let Some(root) = resolve_nocase(h, candidate)? else {
            continue;
        };
        let system32 = resolve_nocase(h, &format!("{root}/system32"))?;
        let config = resolve_nocase(h, &format!("{root}/system32/config"))?;
        let cmd = resolve_nocase(h, &format!("{root}/system32/cmd.exe"))?;
        if let (Some(system32), Some(config), Some(cmd)) = (system32, config, cmd) {
            if is_dir(h, &system32)? && is_dir(h, &config)? && is_file(h, &cmd)? {
                return Ok(Some(root));
            }
        }
    }
    Ok(None)
}

/// The architecture a PE image is built for, as libguestfs names it.
pub fn pe_arch(header: &[u8]) -> Option<&'static str> {
    if header.get(0..2)? != b"MZ" {
        return None;
    }
    let pe = u32::from_le_bytes(header.get(0x3c..0x40)?.try_into().ok()?) as usize;
    if header.get(pe..pe + 4)? != b"PE\0\0" {
        return None;
    }
    let machine = u16::from_le_bytes(header.get(pe + 4..pe + 6)?.try_into().ok()?);
    Some(match machine {
        0x014c => "i386",
        0x8664 => "x86_64",
        0xaa64 => "aarch64",
        0x01c0 | 0x01c4 => "arm",
        0x0200 => "ia64",
        _ => return None,
    })
}

/// Reads a hive file of the mounted guest; `None` (with a warning) if it cannot be read.
fn read_hive(h: &Handle, path: &str) -> Result<Option<Hive>> {
    let mut buf = super::CappedBuffer {
        data: Vec::new(),
        cap: HIVE_MAX,
    };
    match h.download(GuestPath::from(path), &mut buf) {
        Ok(()) => {}
        Err(e) if e.errno().is_some() || matches!(e, crate::error::Error::Transfer { .. }) => {
            log::warn!(
                "cannot read the registry hive {path}: {}",
                crate::error::chain(&e)
            );
            return Ok(None);
        }
        Err(e) => return Err(e),
    }
    match Hive::parse(buf.data, path) {
        Ok(hive) => Ok(Some(hive)),
        Err(why) => {
            log::warn!("the registry hive {path} does not parse: {why}");
            Ok(None)
        }
    }
}

/// Inspects the mounted NTFS filesystem on `/`; `None` if it holds no Windows.
pub fn inspect_mounted(
    h: &Handle,
    root: &Device,
    filesystems: &[Filesystem],
) -> Result<Option<OsInfo>> {
    let Some(systemroot) = systemroot(h)? else {
        return Ok(None);
    };
    let mut os = OsInfo {
        root: root.clone(),
        root_options: None,
        os_type: "windows".into(),
        distro: "windows".into(),
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
            fstype: "auto".into(),
            options: None,
        }],
        // virt-inspector lists the filesystems of the OS's mountpoints: C: alone.
        filesystems: filesystems
            .iter()
            .filter(|f| f.device == *root)
            .cloned()
            .collect(),
        windows: None,
    };
    let mut win = WindowsInfo {
        systemroot: systemroot.clone(),
        ..WindowsInfo::default()
    };
    if let Some(cmd) = resolve_nocase(h, &format!("{systemroot}/system32/cmd.exe"))? {
        match read_small_prefix(h, &cmd, 4096)?
            .as_deref()
            .and_then(pe_arch)
        {
            Some(arch) => os.arch = arch.into(),
            None => log::warn!("{root}: {cmd} is not a PE image inspection recognises"),
        }
    }
    let config = format!("{systemroot}/system32/config");
    let software = resolve_nocase(h, &format!("{config}/software"))?;
    let system = resolve_nocase(h, &format!("{config}/system"))?;
    match (software, system) {
        (Some(software), Some(system)) => {
            if let Some(hive) = read_hive(h, &software)? {
                read_software(&hive, &mut os, &mut win);
            }
            if let Some(hive) = read_hive(h, &system)? {
                read_system(h, &hive, &mut os, &mut win)?;
            }
        }
        (software, _) => log::warn!(
            "{root}: Windows without its registry ({config}/{} is missing): only the \
             system root and architecture are known",
            if software.is_none() {
                "SOFTWARE"
            } else {
                "SYSTEM"
            }
        ),
    }
    // libosinfo's short id (`win7`, `win10`, `win2k19`, ...; `unknown` when none fits).
    os.osinfo = Some(
        osinfo(
            os.major_version,
            os.minor_version,
            &os.product_name,
            &win.product_variant,
        )
        .into(),
    );
    os.windows = Some(win);
    Ok(Some(os))
}

const CURRENT_VERSION: &str = r"Microsoft\Windows NT\CurrentVersion";

fn read_software(hive: &Hive, os: &mut OsInfo, win: &mut WindowsInfo) {
    if !hive.has_key(CURRENT_VERSION) {
        log::warn!("the SOFTWARE hive has no {CURRENT_VERSION} key: no product or version");
        return;
    }
    let key = CURRENT_VERSION;
    if let Some(name) = hive.string(key, "ProductName") {
        os.product_name = name;
    }
    match (
        hive.dword(key, "CurrentMajorVersionNumber"),
        hive.dword(key, "CurrentMinorVersionNumber"),
    ) {
        (Some(major), Some(minor)) => (os.major_version, os.minor_version) = (major, minor),
        _ => {
            if let Some(v) = hive.string(key, "CurrentVersion") {
                if let Some((major, minor)) = parse_major_minor(&v) {
                    (os.major_version, os.minor_version) = (major, minor);
                } else {
                    log::warn!("CurrentVersion {v:?} is not MAJOR.MINOR");
                }
            }
        }
    }
    win.product_variant = hive.string(key, "InstallationType").unwrap_or_default();
    win.build_id = hive.string(key, "CurrentBuildNumber").unwrap_or_default();
    win.edition = hive.string(key, "EditionID").unwrap_or_default();
}

fn parse_major_minor(v: &str) -> Option<(u32, u32)> {
    let (major, minor) = v.trim().split_once('.')?;
    Some((major.parse().ok()?, minor.parse().ok()?))
}

fn read_system(h: &Handle, hive: &Hive, os: &mut OsInfo, win: &mut WindowsInfo) -> Result<()> {
    win.drive_mappings = drive_mappings(h, hive)?;
    let Some(current) = hive.dword("Select", "Current") else {
        log::warn!("the SYSTEM hive has no Select\\Current: no control set, no hostname");
        return Ok(());
    };
    win.current_control_set = format!("ControlSet{current:03}");
    let params = format!(r"{}\Services\Tcpip\Parameters", win.current_control_set);
    match hive.string(&params, "Hostname") {
        Some(name) => os.hostname = name,
        None => log::info!("inspect: the SYSTEM hive has no {params}\\Hostname"),
    }
    Ok(())
}

/// `\DosDevices\C:` values of `MountedDevices`, mapped to partitions: an MBR blob is the
/// disk signature and the partition's byte offset; a GPT blob is `DMIO:ID:` and the
/// partition's unique GUID. Letters whose partition is not on these disks are left out, as
/// virt-inspector leaves them out.
fn drive_mappings(h: &Handle, hive: &Hive) -> Result<Vec<(String, Device)>> {
    let Some(values) = hive.values("MountedDevices") else {
        log::info!("inspect: the SYSTEM hive has no MountedDevices: no drive letters");
        return Ok(Vec::new());
    };
    let mut disks: Option<Vec<DiskParts>> = None;
    let mut out = Vec::new();
    for (name, blob) in values {
        let Some(letter) = drive_letter(&name) else {
            continue;
        };
        let disks = match &disks {
            Some(d) => d,
            None => disks.insert(disk_parts(h)?),
        };
        if let Some(dev) = map_blob(&blob, disks) {
            out.push((letter, dev));
        }
    }
    out.sort();
    Ok(out)
}

/// `C` from `\DosDevices\C:` (any case).
fn drive_letter(name: &str) -> Option<String> {
    let b = name.as_bytes();
    if b.len() < 14 || !name.get(..12)?.eq_ignore_ascii_case(r"\dosdevices\") {
        return None;
    }
    (b[12].is_ascii_alphabetic() && b[13] == b':').then(|| (b[12] as char).to_string())
}

/// A disk's signature (MBR) and its partitions: (number, start, unique GUID).
struct DiskParts {
    device: Device,
    mbr_signature: Option<String>,
    parts: Vec<(u32, u64, Option<String>)>,
}

fn disk_parts(h: &Handle) -> Result<Vec<DiskParts>> {
    let mut out = Vec::new();
    for disk in h.list_devices()? {
        let Ok(parts) = h.part_list(&disk.device) else {
            continue;
        };
        let is_mbr = h
            .part_get_parttype(&disk.device)
            .is_ok_and(|t| t == guestwright_protocol::PartTableType::Mbr);
        let mbr_signature = if is_mbr {
            super::partition_table_uuid(h, &disk.device)
        } else {
            None
        };
        out.push(DiskParts {
            device: disk.device.clone(),
            mbr_signature,
            parts: parts
                .into_iter()
                .map(|p| (p.partnum, p.start, p.uuid))
                .collect(),
        });
    }
    Ok(out)
}

fn map_blob(blob: &[u8], disks: &[DiskParts]) -> Option<Device> {
    let partition = |d: &DiskParts, n: u32| Device::from(format!("{}{n}", d.device.as_str()));
    if blob.len() >= 24 && blob.starts_with(b"DMIO:ID:") {
        let guid = guid_from_blob(&blob[8..24]);
        return disks.iter().find_map(|d| {
            d.parts
                .iter()
                .find(|p| {
                    p.2.as_deref()
                        .is_some_and(|u| u.eq_ignore_ascii_case(&guid))
                })
                .map(|p| partition(d, p.0))
        });
    }
    if blob.len() == 12 {
        let signature = format!("{:08x}", u32::from_le_bytes(blob[0..4].try_into().ok()?));
        let offset = u64::from_le_bytes(blob[4..12].try_into().ok()?);
        return disks
            .iter()
            .filter(|d| {
                d.mbr_signature
                    .as_deref()
                    .is_some_and(|s| s.eq_ignore_ascii_case(&signature))
            })
            .find_map(|d| {
                d.parts
                    .iter()
                    .find(|p| p.1 == offset)
                    .map(|p| partition(d, p.0))
            });
    }
    None
}

/// A GUID stored as Windows stores it (three little-endian fields, then eight bytes in
/// order), in the usual lower-case text form.
fn guid_from_blob(b: &[u8]) -> String {
    let d1 = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
    let d2 = u16::from_le_bytes([b[4], b[5]]);
    let d3 = u16::from_le_bytes([b[6], b[7]]);
    let tail: String = b[10..16].iter().map(|x| format!("{x:02x}")).collect();
    format!("{d1:08x}-{d2:04x}-{d3:04x}-{:02x}{:02x}-{tail}", b[8], b[9])
}

/// libosinfo's short id, by libguestfs 1.48's rules.
pub fn osinfo(major: u32, minor: u32, product_name: &str, variant: &str) -> &'static str {
    let server = variant.contains("Server");
    match (major, minor) {
        (5, 1) => "winxp",
        (5, 2) if product_name.contains("XP") => "winxp",
        (5, 2) if product_name.contains("R2") => "win2k3r2",
        (5, 2) => "win2k3",
        (6, 0) if server => "win2k8",
        (6, 0) => "winvista",
        (6, 1) if server => "win2k8r2",
        (6, 1) => "win7",
        (6, 2) if server => "win2k12",
        (6, 2) => "win8",
        (6, 3) if server => "win2k12r2",
        (6, 3) => "win8.1",
        (10, 0) if server && product_name.contains("2022") => "win2k22",
        (10, 0) if server && product_name.contains("2019") => "win2k19",
        (10, 0) if server => "win2k16",
        (10, 0) => "win10",
        _ => "unknown",
    }
}

/// The programs of the `Uninstall` keys (64-bit, then 32-bit under WOW6432Node) of an
/// inspected Windows guest whose C: is mounted on `/`.
pub fn applications(h: &Handle, os: &OsInfo) -> Result<Vec<WindowsApplication>> {
    let Some(win) = &os.windows else {
        return Ok(Vec::new());
    };
    let path = format!("{}/system32/config/software", win.systemroot);
    let Some(path) = resolve_nocase(h, &path)? else {
        log::warn!("{}: no SOFTWARE hive: no applications", os.root);
        return Ok(Vec::new());
    };
    let Some(hive) = read_hive(h, &path)? else {
        return Ok(Vec::new());
    };
    let mut apps = Vec::new();
    for uninstall in [
        r"Microsoft\Windows\CurrentVersion\Uninstall",
        r"WOW6432Node\Microsoft\Windows\CurrentVersion\Uninstall",
    ] {
        let Some(subkeys) = hive.subkeys(uninstall) else {
            continue;
        };
        for sub in subkeys {
            let key = format!("{uninstall}\\{sub}");
            let get = |name: &str| hive.string(&key, name).unwrap_or_default();
            apps.push(WindowsApplication {
                name: sub.clone(),
                display_name: get("DisplayName"),
                version: get("DisplayVersion"),
                publisher: get("Publisher"),
                install_path: get("InstallLocation"),
                url: get("URLInfoAbout"),
                description: get("Comments"),
            });
        }
    }
    Ok(apps)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drive_letters_and_blobs() {
        assert_eq!(drive_letter(r"\DosDevices\C:").as_deref(), Some("C"));
        assert_eq!(drive_letter(r"\dosdevices\e:").as_deref(), Some("e"));
        assert_eq!(drive_letter(r"\??\Volume{1234}"), None);
        assert_eq!(drive_letter(r"\DosDevices\1:"), None);
        let disks = [DiskParts {
            device: Device::from("/dev/sda"),
            mbr_signature: Some("12345678".into()),
            parts: vec![
                (1, 1 << 20, None),
                (
                    2,
                    17 << 20,
                    Some("C0FFEE00-1111-2222-3333-444455556666".into()),
                ),
            ],
        }];
        let mut mbr = vec![0x78, 0x56, 0x34, 0x12];
        mbr.extend_from_slice(&(17u64 << 20).to_le_bytes());
        assert_eq!(map_blob(&mbr, &disks), Some(Device::from("/dev/sda2")));
        mbr[0] = 0x77;
        assert_eq!(map_blob(&mbr, &disks), None, "another disk's signature");
        let mut gpt = b"DMIO:ID:".to_vec();
        gpt.extend_from_slice(&[
            0x00, 0xee, 0xff, 0xc0, 0x11, 0x11, 0x22, 0x22, 0x33, 0x33, 0x44, 0x44, 0x55, 0x55,
            0x66, 0x66,
        ]);
        assert_eq!(
            guid_from_blob(&gpt[8..24]),
            "c0ffee00-1111-2222-3333-444455556666"
        );
        assert_eq!(map_blob(&gpt, &disks), Some(Device::from("/dev/sda2")));
    }

    #[test]
    fn osinfo_follows_libguestfs_1_48() {
        assert_eq!(osinfo(6, 1, "Windows 7 Enterprise", "Client"), "win7");
        assert_eq!(osinfo(6, 1, "Windows Server 2008 R2", "Server"), "win2k8r2");
        assert_eq!(osinfo(10, 0, "Windows 10 Pro", "Client"), "win10");
        assert_eq!(
            osinfo(10, 0, "Windows Server 2019 Standard", "Server Core"),
            "win2k19"
        );
        assert_eq!(osinfo(10, 0, "Windows Server 2016", "Server"), "win2k16");
        assert_eq!(osinfo(5, 2, "Windows XP Professional x64", ""), "winxp");
        assert_eq!(osinfo(4, 0, "Windows NT", ""), "unknown");
    }

    #[test]
    fn pe_machines() {
        let mut pe = vec![0u8; 0x100];
        pe[0..2].copy_from_slice(b"MZ");
        pe[0x3c] = 0x80;
        pe[0x80..0x84].copy_from_slice(b"PE\0\0");
        pe[0x84..0x86].copy_from_slice(&0x8664u16.to_le_bytes());
        assert_eq!(pe_arch(&pe), Some("x86_64"));
        pe[0x84..0x86].copy_from_slice(&0x014cu16.to_le_bytes());
        assert_eq!(pe_arch(&pe), Some("i386"));
        pe[0x3c] = 0xff; // the PE header past the end
        assert_eq!(pe_arch(&pe), None);
        assert_eq!(pe_arch(b"\x7fELF"), None);
    }

    #[test]
    fn versions() {
        assert_eq!(parse_major_minor("6.1"), Some((6, 1)));
        assert_eq!(parse_major_minor("10"), None);
    }
}
