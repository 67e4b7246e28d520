//! The guest's `/etc/fstab`: which filesystem goes where, resolved to the appliance's
//! device names. Pure functions; the guest's bytes are untrusted.

use guestwright_protocol::{Device, Filesystem};

/// One fstab line that names a local filesystem to mount.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FstabEntry {
    /// The first field as written (`UUID=...`, `/dev/vda1`, ...).
    pub spec: String,
    /// The mountpoint.
    pub mountpoint: String,
    /// The filesystem type.
    pub fstype: String,
    /// The options.
    pub options: String,
}

/// A field with fstab's `\040`-style escapes undone.
fn unescape(field: &str) -> String {
    String::from_utf8_lossy(&guestwright_protocol::unescape_octal(field)).into_owned()
}

/// Types that are never on one of the guest's disks.
const VIRTUAL: &[&str] = &[
    "swap",
    "proc",
    "sysfs",
    "tmpfs",
    "devpts",
    "devtmpfs",
    "cgroup",
    "cgroup2",
    "securityfs",
    "debugfs",
    "nfs",
    "nfs4",
    "cifs",
    "smbfs",
    "fuse",
    "none",
    "bind",
    "rbind",
    "autofs",
    "hugetlbfs",
    "mqueue",
    "efivarfs",
    "binfmt_misc",
    "configfs",
    "pstore",
    "tracefs",
    "rpc_pipefs",
    "9p",
    "virtiofs",
    "overlay",
];

/// The lines that mount local filesystems, in file order.
pub fn parse(text: &str) -> Vec<FstabEntry> {
    text.lines()
        .filter_map(|line| {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                return None;
            }
            let mut f = line.split_whitespace();
            let spec = unescape(f.next()?);
            let mountpoint = unescape(f.next()?);
            let fstype = f.next().unwrap_or("auto").to_string();
            let options = f.next().unwrap_or("defaults").to_string();
            if !mountpoint.starts_with('/') || VIRTUAL.contains(&fstype.as_str()) {
                return None;
            }
            if options.split(',').any(|o| o == "bind") {
                return None;
            }
            Some(FstabEntry {
                spec,
                mountpoint,
                fstype,
                options,
            })
        })
        .collect()
}

/// The partition UUIDs the appliance knows: (`PARTUUID` as blkid prints it, device).
pub type PartUuids = Vec<(String, Device)>;

/// Resolves an fstab spec to one of the appliance's filesystems.
pub fn resolve(
    spec: &str,
    filesystems: &[Filesystem],
    partuuids: &PartUuids,
    disks: usize,
) -> Option<Device> {
    let by = |f: &dyn Fn(&Filesystem) -> bool| {
        filesystems
            .iter()
            .find(|fs| f(fs))
            .map(|fs| fs.device.clone())
    };
    let eq = |a: &Option<String>, b: &str| a.as_deref().is_some_and(|a| a.eq_ignore_ascii_case(b));
    if let Some(uuid) = spec
        .strip_prefix("UUID=")
        .or_else(|| spec.strip_prefix("/dev/disk/by-uuid/"))
    {
        return by(&|fs| eq(&fs.uuid, uuid.trim_matches('"')));
    }
    if let Some(label) = spec
        .strip_prefix("LABEL=")
        .or_else(|| spec.strip_prefix("/dev/disk/by-label/"))
    {
        let label = label.trim_matches('"');
        return by(&|fs| fs.label.as_deref() == Some(label));
    }
    if let Some(pu) = spec
        .strip_prefix("PARTUUID=")
        .or_else(|| spec.strip_prefix("/dev/disk/by-partuuid/"))
    {
        let pu = pu.trim_matches('"');
        return partuuids
            .iter()
            .find(|(u, _)| u.eq_ignore_ascii_case(pu))
            .map(|(_, d)| d.clone());
    }
    if let Some(rest) = spec.strip_prefix("/dev/mapper/") {
        // VG-LV with dashes inside names doubled.
        if let Some((vg, lv)) = split_mapper(rest) {
            let name = format!("/dev/{vg}/{lv}");
            return by(&|fs| fs.device.as_str() == name);
        }
        return by(&|fs| fs.device.as_str() == spec);
    }
    if let Some(dev) = guest_disk_name(spec, disks) {
        return by(&|fs| fs.device == dev);
    }
    // /dev/VG/LV and anything else spelled exactly as the appliance spells it.
    by(&|fs| fs.device.as_str() == spec)
}

/// `vg-lv` with `--` standing for a dash inside either name.
fn split_mapper(name: &str) -> Option<(String, String)> {
    let b = name.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'-' {
            if b.get(i + 1) == Some(&b'-') {
                i += 2;
                continue;
            }
            let (vg, lv) = (&name[..i], &name[i + 1..]);
            if vg.is_empty() || lv.is_empty() {
                return None;
            }
            return Some((vg.replace("--", "-"), lv.replace("--", "-")));
        }
        i += 1;
    }
    None
}

/// The guest saw its disks as `/dev/vda`, `/dev/sda`, `/dev/hda`, `/dev/xvda`, `/dev/nvme0n1`;
/// the appliance calls the disk at the same position `/dev/sdX`. Like libguestfs, assume the
/// guest's disk order is the order the drives were added.
fn guest_disk_name(spec: &str, disks: usize) -> Option<Device> {
    let rest = spec.strip_prefix("/dev/")?;
    let (index, part) = if let Some(nvme) = rest.strip_prefix("nvme") {
        let (ctrl, tail) = nvme.split_once('n')?;
        let index: usize = ctrl.parse().ok()?;
        let part = tail.split_once('p').map(|(_, p)| p).unwrap_or("");
        (index, part)
    } else {
        let tail = ["xvd", "vd", "sd", "hd"]
            .iter()
            .find_map(|p| rest.strip_prefix(p))?;
        let split = tail
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(tail.len());
        let (letters, part) = tail.split_at(split);
        if letters.len() != 1 || !letters.as_bytes()[0].is_ascii_lowercase() {
            return None;
        }
        ((letters.as_bytes()[0] - b'a') as usize, part)
    };
    if index >= disks || !part.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(Device::from(format!(
        "/dev/sd{}{part}",
        disk_letters(index)
    )))
}

/// The letters the kernel gives the SCSI disk at `index`: `a` .. `z`, then `aa` .. `zz`,
/// `aaa` ...
fn disk_letters(mut index: usize) -> String {
    let mut letters = Vec::new();
    loop {
        letters.push(b'a' + (index % 26) as u8);
        if index < 26 {
            break;
        }
        index = index / 26 - 1;
    }
    letters.iter().rev().map(|&b| b as char).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fs(dev: &str, fstype: &str, label: Option<&str>, uuid: Option<&str>) -> Filesystem {
        Filesystem {
            device: Device::from(dev),
            fstype: fstype.into(),
            label: label.map(Into::into),
            uuid: uuid.map(Into::into),
        }
    }

    #[test]
    fn a_debian_fstab() {
        let text = "# /etc/fstab: static file system information.\n\
            UUID=4a8c1a5e-1d3f-4c2b-9f61-3d7e0e1f2a3b /               ext4    errors=remount-ro 0       1\n\
            # /boot/efi was on /dev/vda1 during installation\n\
            UUID=A1B2-C3D4  /boot/efi       vfat    umask=0077      0       1\n\
            /dev/vdb1 /srv\\040data ext4 defaults 0 2\n\
            /swapfile none swap sw 0 0\n\
            proc /proc proc defaults 0 0\n\
            tmpfs /tmp tmpfs defaults 0 0\n\
            /srv/a /mnt/a none bind 0 0\n";
        let entries = parse(text);
        assert_eq!(
            entries
                .iter()
                .map(|e| e.mountpoint.as_str())
                .collect::<Vec<_>>(),
            ["/", "/boot/efi", "/srv data"]
        );
        let filesystems = vec![
            fs("/dev/sda1", "vfat", None, Some("A1B2-C3D4")),
            fs(
                "/dev/sda2",
                "ext4",
                Some("root"),
                Some("4a8c1a5e-1d3f-4c2b-9f61-3d7e0e1f2a3b"),
            ),
            fs("/dev/sdb1", "ext4", None, None),
        ];
        let r =
            |spec: &str| resolve(spec, &filesystems, &vec![], 2).map(|d| d.as_str().to_string());
        assert_eq!(r(&entries[0].spec).as_deref(), Some("/dev/sda2"));
        assert_eq!(r("UUID=a1b2-c3d4").as_deref(), Some("/dev/sda1"));
        assert_eq!(r("/dev/vdb1").as_deref(), Some("/dev/sdb1"));
        assert_eq!(r("/dev/xvdb1").as_deref(), Some("/dev/sdb1"));
        assert_eq!(r("/dev/nvme1n1p1").as_deref(), Some("/dev/sdb1"));
        assert_eq!(r("/dev/vdc1"), None, "no third disk");
        assert_eq!(r("LABEL=root").as_deref(), Some("/dev/sda2"));
        assert_eq!(r("UUID=no-such"), None);
    }

    #[test]
    fn lvm_and_partuuid_names() {
        let filesystems = vec![
            fs("/dev/rhel-x/root", "xfs", None, None),
            fs("/dev/sda1", "xfs", None, None),
        ];
        let pu: PartUuids = vec![("6f1c2d3e-01".into(), Device::from("/dev/sda1"))];
        assert_eq!(
            resolve("/dev/mapper/rhel--x-root", &filesystems, &pu, 1)
                .unwrap()
                .as_str(),
            "/dev/rhel-x/root"
        );
        assert_eq!(
            resolve("/dev/rhel-x/root", &filesystems, &pu, 1)
                .unwrap()
                .as_str(),
            "/dev/rhel-x/root"
        );
        assert_eq!(
            resolve("PARTUUID=6F1C2D3E-01", &filesystems, &pu, 1)
                .unwrap()
                .as_str(),
            "/dev/sda1"
        );
        assert_eq!(split_mapper("vg-lv--x"), Some(("vg".into(), "lv-x".into())));
        assert_eq!(split_mapper("novg"), None);
    }

    #[test]
    fn disks_past_the_26th_have_two_letters() {
        // The kernel names the 27th disk sdaa; a guest's nvme26n1 or 200th disk must not
        // become `/dev/sd{` or overflow.
        let filesystems = vec![
            fs("/dev/sdz1", "ext4", None, None),
            fs("/dev/sdaa1", "ext4", None, None),
            fs("/dev/sdgs2", "ext4", None, None),
        ];
        let r = |spec: &str, disks| resolve(spec, &filesystems, &Vec::new(), disks);
        assert_eq!(r("/dev/nvme25n1p1", 30).unwrap().as_str(), "/dev/sdz1");
        assert_eq!(r("/dev/nvme26n1p1", 30).unwrap().as_str(), "/dev/sdaa1");
        assert_eq!(r("/dev/nvme200n1p2", 255).unwrap().as_str(), "/dev/sdgs2");
        assert_eq!(r("/dev/nvme255n1p1", 255), None);
    }

    #[test]
    fn hostile_lines_do_not_confuse() {
        assert!(parse("").is_empty());
        assert!(parse("\0\0\0\n   \n#\n").is_empty());
        assert!(parse("UUID=x relative ext4 defaults 0 0\n").is_empty());
        let long = "x".repeat(100_000);
        assert!(parse(&format!("{long} /{long} ext4\n")).len() == 1);
        assert_eq!(unescape("/a\\040b\\"), "/a b\\");
    }
}
