//! guestfish's xfs family: `xfs-info`, `xfs-growfs`, `xfs-admin`, `xfs-repair`, through the
//! carried xfsprogs. `xfs_info` and `xfs_admin` are shell scripts on the host, and the
//! appliance has no shell: their work is done here with the programs they call (`xfs_db`,
//! `xfs_spaceman`, `xfs_repair`), with the same arguments.

use crate::block::blockdev::ResolvedDevice;
use crate::block::devices::Disks;
use crate::boot::modules::Modules;
use crate::boot::tools;
use crate::fs::btrfs::{existing, op_error, run_tool, stderr_text};
use guestwright_protocol::fish::{XfsInfo, XFS_INFO_FIELDS};
use guestwright_protocol::{Device, GuestPath};
use std::ffi::OsString;
use std::io;
use std::path::PathBuf;

/// xfs labels are at most this many bytes.
const LABEL_MAX: usize = 12;

/// Where a device or a guest path names an XFS filesystem.
enum Target {
    Device(ResolvedDevice),
    Path(PathBuf),
}

fn target(disks: &Disks, modules: &Modules, op: &str, word: &str) -> io::Result<Target> {
    if word.starts_with("/dev/") {
        let name = Device::new(word).map_err(|e| op_error(op, e))?;
        return Ok(Target::Device(ResolvedDevice::new(disks, modules, name)?));
    }
    let path = GuestPath::from(word.as_bytes());
    let real = existing(&path).map_err(|e| op_error(op, format!("{word}: {e}")))?;
    Ok(Target::Path(real))
}

/// Where the device `node` is mounted in the appliance, if it is (the first mount).
fn mountpoint_of(node: &std::path::Path) -> Option<PathBuf> {
    let mounts = std::fs::read_to_string("/proc/self/mounts").ok()?;
    let node = node.to_string_lossy();
    mounts.lines().find_map(|l| {
        let mut w = l.split(' ');
        let (src, dir, fstype) = (w.next()?, w.next()?, w.next()?);
        (src == node && fstype == "xfs").then(|| PathBuf::from(dir.replace("\\040", " ")))
    })
}

/// `xfs-info`: as the `xfs_info` script does, a live query of a mounted filesystem
/// (`xfs_spaceman`) or a read of the device (`xfs_db`).
pub fn info(disks: &Disks, modules: &Modules, pathordevice: &str) -> io::Result<XfsInfo> {
    let op = "xfs_info";
    let _ = modules.load("xfs");
    let (tool, arg) = match target(disks, modules, op, pathordevice)? {
        Target::Device(dev) => match mountpoint_of(dev.node()) {
            Some(dir) => ("xfs_spaceman", dir),
            None => ("xfs_db", dev.node().to_path_buf()),
        },
        Target::Path(real) => ("xfs_spaceman", real),
    };
    let argv: Vec<OsString> = vec![
        "-p".into(),
        "xfs_info".into(),
        "-c".into(),
        "info".into(),
        arg.into_os_string(),
    ];
    let out = tools::run_status(tool, &argv, &[], None)?;
    if !out.status.success() {
        return Err(op_error(op, stderr_text(&out)));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let mut info = parse_info(&text).map_err(|m| op_error(op, m))?;
    // xfs_db and xfs_spaceman name the appliance's node; the caller knows the device by
    // its own name.
    for (name, value) in &mut info.fields {
        if name == "mntpoint" && value.starts_with("/dev/") {
            *value = disks.to_user(value).to_string();
        }
    }
    Ok(info)
}

/// The word after `key` up to a space, comma or `=`.
fn word_after<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    let start = line.find(key)? + key.len();
    let rest = &line[start..];
    let end = rest.find([' ', ',', '=']).unwrap_or(rest.len());
    Some(&rest[..end])
}

/// xfs_info's text: sections (`meta-data`, `data`, `naming`, `log`, `realtime`) start at
/// column 0, and the same key means a different field in different sections.
fn parse_info(text: &str) -> Result<XfsInfo, String> {
    let mut fields: Vec<(String, String)> = Vec::new();
    let mut section = String::new();
    let set = |name: &str, value: &str, fields: &mut Vec<(String, String)>| {
        let kind = XFS_INFO_FIELDS
            .iter()
            .find(|(n, _)| *n == name)
            .map_or("s", |(_, k)| k);
        let value = if kind == "s" {
            value.to_string()
        } else {
            let parsed = if kind == "u32" {
                value.parse::<u32>().map(u64::from).ok()
            } else {
                value.parse::<u64>().ok()
            };
            match parsed {
                Some(v) => v.to_string(),
                None => return Err(format!("cannot parse numeric field from xfs_info: {value}")),
            }
        };
        fields.retain(|(n, _)| n != name);
        fields.push((name.to_string(), value));
        Ok(())
    };
    for line in text.lines() {
        if line.starts_with(|c: char| c.is_ascii_alphabetic()) {
            let end = line.find([' ', ',', '=']).unwrap_or(line.len());
            section = line[..end].to_string();
        }
        let simple: &[(&str, &str)] = &[
            ("meta-data=", "mntpoint"),
            ("isize=", "inodesize"),
            ("agcount=", "agcount"),
            ("agsize=", "agsize"),
            ("attr=", "attr"),
            ("imaxpct=", "imaxpct"),
            ("swidth=", "swidth"),
            ("naming   =version ", "dirversion"),
            ("ascii-ci=", "cimode"),
            ("log      =", "logname"),
            ("version=", "logversion"),
            ("lazy-count=", "lazycount"),
            ("realtime =", "rtname"),
            ("rtextents=", "rtextents"),
        ];
        for (key, name) in simple {
            if let Some(v) = word_after(line, key) {
                set(name, v, &mut fields)?;
            }
        }
        let by_section: &[(&str, &[(&str, &str)])] = &[
            (
                "sectsz=",
                &[("meta-data", "sectsize"), ("log", "logsectsize")],
            ),
            (
                "bsize=",
                &[
                    ("data", "blocksize"),
                    ("naming", "dirblocksize"),
                    ("log", "logblocksize"),
                ],
            ),
            (
                "blocks=",
                &[
                    ("data", "datablocks"),
                    ("log", "logblocks"),
                    ("realtime", "rtblocks"),
                ],
            ),
            ("sunit=", &[("data", "sunit"), ("log", "logsunit")]),
        ];
        for (key, targets) in by_section {
            let Some(v) = word_after(line, key) else {
                continue;
            };
            if let Some((_, name)) = targets.iter().find(|(s, _)| *s == section) {
                set(name, v, &mut fields)?;
            }
        }
    }
    Ok(XfsInfo { fields })
}

/// `xfs-growfs`'s options.
#[derive(Debug, Default)]
#[allow(missing_docs)]
pub struct Growfs {
    pub datasec: bool,
    pub logsec: bool,
    pub rtsec: bool,
    pub datasize: Option<i64>,
    pub logsize: Option<i64>,
    pub rtsize: Option<i64>,
    pub rtextsize: Option<i64>,
    pub maxpct: Option<i32>,
}

/// `xfs-growfs`.
pub fn growfs(path: &GuestPath, o: &Growfs) -> io::Result<()> {
    let op = "xfs_growfs";
    let real = existing(path).map_err(|e| op_error(op, format!("{path}: {e}")))?;
    let mut argv: Vec<OsString> = Vec::new();
    for (on, flag) in [(o.datasec, "-d"), (o.logsec, "-l"), (o.rtsec, "-r")] {
        if on {
            argv.push(flag.into());
        }
    }
    for (value, flag, name) in [
        (o.datasize, "-D", "datasize"),
        (o.logsize, "-L", "logsize"),
        (o.rtsize, "-R", "rtsize"),
        (o.rtextsize, "-e", "rtextsize"),
        (o.maxpct.map(i64::from), "-m", "maxpct"),
    ] {
        if let Some(v) = value {
            if v < 0 {
                return Err(op_error(op, format!("{name} must be >= 0")));
            }
            argv.extend([flag.into(), v.to_string().into()]);
        }
    }
    argv.push(real.into_os_string());
    run_tool("xfs_growfs", &argv, op, &path.to_string()).map(drop)
}

/// `xfs-admin`'s options.
#[derive(Debug, Default)]
#[allow(missing_docs)]
pub struct Admin<'a> {
    pub extunwritten: bool,
    pub imgfile: bool,
    pub v2log: bool,
    pub projid32bit: bool,
    pub lazycounter: Option<bool>,
    pub label: Option<&'a str>,
    pub uuid: Option<&'a str>,
}

/// `xfs-admin`: the `xfs_admin` script's `xfs_db -x -p xfs_admin` commands, then
/// `xfs_repair -c lazycount=N` when lazy counters change. Its output and errors are one
/// text, as libguestfs folds them.
pub fn admin(device: &ResolvedDevice, o: &Admin<'_>) -> io::Result<()> {
    let op = "xfs_admin";
    let mut db: Vec<OsString> = Vec::new();
    if o.extunwritten {
        db.extend(["-c".into(), "version extflg".into()]);
    }
    if o.imgfile {
        db.push("-f".into());
    }
    if o.v2log {
        db.extend(["-c".into(), "version log2".into()]);
    }
    if o.projid32bit {
        db.extend(["-c".into(), "version projid32bit".into()]);
    }
    if let Some(label) = o.label {
        if label.len() > LABEL_MAX {
            return Err(op_error(
                op,
                format!("{label}: xfs labels are limited to {LABEL_MAX} bytes"),
            ));
        }
        db.extend(["-c".into(), format!("label {label}").into()]);
    }
    if let Some(uuid) = o.uuid {
        db.extend(["-c".into(), format!("uuid {uuid}").into()]);
    }
    let node: OsString = device.node().as_os_str().to_os_string();
    let mut said = Vec::new();
    let mut failed = false;
    if !db.is_empty() {
        let mut argv: Vec<OsString> = vec!["-x".into(), "-p".into(), "xfs_admin".into()];
        argv.extend(db);
        argv.push(node.clone());
        let out = tools::run_status("xfs_db", &argv, &[], None)?;
        said.extend_from_slice(&out.stdout);
        said.extend_from_slice(&out.stderr);
        failed |= !out.status.success();
    }
    if let Some(lazy) = o.lazycounter {
        said.extend_from_slice(b"Running xfs_repair to upgrade filesystem.\n");
        let argv: Vec<OsString> = vec![
            "-c".into(),
            format!("lazycount={}", u8::from(lazy)).into(),
            node,
        ];
        let out = tools::run_status("xfs_repair", &argv, &[], None)?;
        said.extend_from_slice(&out.stdout);
        said.extend_from_slice(&out.stderr);
        failed |= !out.status.success();
    }
    if failed {
        let text = String::from_utf8_lossy(&said);
        let text = text.strip_suffix('\n').unwrap_or(&text);
        return Err(op_error(op, format!("{}: {text}", device.name())));
    }
    Ok(())
}

/// `xfs-repair`'s options.
#[derive(Debug, Default)]
#[allow(missing_docs)]
pub struct Repair<'a> {
    pub forcelogzero: bool,
    pub nomodify: bool,
    pub noprefetch: bool,
    pub forcegeometry: bool,
    pub maxmem: Option<i64>,
    pub ihashsize: Option<i64>,
    pub bhashsize: Option<i64>,
    pub agstride: Option<i64>,
    pub logdev: Option<&'a str>,
    pub rtdev: Option<&'a str>,
}

/// `xfs-repair` of a device or of an image file in the guest: returns xfs_repair's exit
/// status.
pub fn repair(disks: &Disks, modules: &Modules, device: &str, o: &Repair<'_>) -> io::Result<i32> {
    let op = "xfs_repair";
    let mut argv: Vec<OsString> = Vec::new();
    for (on, flag) in [
        (o.forcelogzero, "-L"),
        (o.nomodify, "-n"),
        (o.noprefetch, "-P"),
    ] {
        if on {
            argv.push(flag.into());
        }
    }
    if o.forcegeometry {
        argv.extend(["-o".into(), "force_geometry".into()]);
    }
    if let Some(m) = o.maxmem {
        if m < 0 {
            return Err(op_error(op, "maxmem must be >= 0"));
        }
        argv.extend(["-m".into(), m.to_string().into()]);
    }
    for (value, key, name) in [
        (o.ihashsize, "ihash", "ihashsize"),
        (o.bhashsize, "bhash", "bhashsize"),
        (o.agstride, "ag_stride", "agstride"),
    ] {
        if let Some(v) = value {
            if v < 0 {
                return Err(op_error(op, format!("{name} must be >= 0")));
            }
            argv.extend(["-o".into(), format!("{key}={v}").into()]);
        }
    }
    for (dev, flag) in [(o.logdev, "-l"), (o.rtdev, "-r")] {
        if let Some(d) = dev {
            let name = Device::new(d).map_err(|e| op_error(op, e))?;
            let node = crate::block::blockdev::resolve(disks, modules, &name)?;
            argv.extend([flag.into(), node.into_os_string()]);
        }
    }
    match target(disks, modules, op, device)? {
        Target::Device(dev) => argv.push(dev.node().as_os_str().to_os_string()),
        Target::Path(real) => argv.extend(["-f".into(), real.into_os_string()]),
    }
    let out = tools::run_status("xfs_repair", &argv, &[], None)?;
    match out.status.code() {
        Some(code) => Ok(code),
        None => Err(op_error(op, format!("{device}: {}", stderr_text(&out)))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xfs_info_sections() {
        let text = "\
meta-data=/dev/vda1              isize=512    agcount=4, agsize=4096 blks
         =                       sectsz=512   attr=2, projid32bit=1
         =                       crc=1        finobt=1, sparse=1, rmapbt=0
data     =                       bsize=4096   blocks=16384, imaxpct=25
         =                       sunit=0      swidth=0 blks
naming   =version 2              bsize=4096   ascii-ci=0, ftype=1
log      =internal log           bsize=4096   blocks=1368, version=2
         =                       sectsz=512   sunit=0 blks, lazy-count=1
realtime =none                   extsz=4096   blocks=0, rtextents=0
";
        let info = parse_info(text).unwrap();
        let get = |n: &str| {
            info.fields
                .iter()
                .find(|(k, _)| k == n)
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(get("mntpoint"), Some("/dev/vda1"));
        assert_eq!(get("sectsize"), Some("512"));
        assert_eq!(get("blocksize"), Some("4096"));
        assert_eq!(get("datablocks"), Some("16384"));
        assert_eq!(get("logblocks"), Some("1368"));
        assert_eq!(get("logname"), Some("internal"));
        assert_eq!(get("rtname"), Some("none"));
        assert_eq!(get("dirversion"), Some("2"));
        assert_eq!(get("rtextsize"), None);
    }
}
