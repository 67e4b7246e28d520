//! Device names. Callers use the names libguestfs uses, whatever the appliance kernel calls
//! the disks: `/dev/sda`, `/dev/sdb`, ... in the order the drives were added, partitions
//! `/dev/sda1`, .... The host gives each drive the serial `gw<index>`; this module maps
//! those to the kernel's names (`vdb`, `vda`, ...) and translates both ways.

use guestwright_protocol::{BlockDevice, Device, PartitionDevice};
use guestwright_sync::Mutex;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The serial prefix the host sets on each drive.
pub const SERIAL_PREFIX: &str = "gw";

/// The disks, by the index the host added them at. An appliance that serves several jobs
/// in turn (`guestwright batch`) gets another set of disks for each job: [`Disks::replace`].
#[derive(Debug)]
pub struct Disks {
    /// Kernel names by index: `["vda", "vdb"]`. A leaf lock, held only to copy or swap it.
    kernel: Mutex<Vec<String>>,
}

impl Default for Disks {
    fn default() -> Self {
        Disks {
            kernel: Mutex::new(Vec::new()),
        }
    }
}

fn einval(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, msg)
}

/// `0 → "a"`, `25 → "z"`, `26 → "aa"`, like the kernel's sd naming.
pub fn disk_letters(mut index: usize) -> String {
    let mut s = Vec::new();
    loop {
        s.push(b'a' + (index % 26) as u8);
        if index < 26 {
            break;
        }
        index = index / 26 - 1;
    }
    s.reverse();
    String::from_utf8(s).expect("ascii")
}

fn letters_index(letters: &str) -> Option<usize> {
    if letters.is_empty() || letters.len() > 3 || !letters.bytes().all(|b| b.is_ascii_lowercase()) {
        return None;
    }
    let mut n = 0usize;
    for b in letters.bytes() {
        n = n * 26 + (b - b'a') as usize + 1;
    }
    Some(n - 1)
}

/// The SCSI disk device number of `/dev/sdX[N]`: 16 minors per disk (the whole disk and
/// partitions 1 to 15), disks 0-15 on major 8, 16-127 on majors 65-71, 128-255 on 128-135.
/// None for the names the sd driver numbers dynamically (partition 16 and up, disk 256 on).
fn sd_dev_t(name: &str) -> Option<u64> {
    let rest = name.strip_prefix("/dev/sd")?;
    let split = rest
        .find(|c: char| c.is_ascii_digit())
        .unwrap_or(rest.len());
    let (letters, digits) = rest.split_at(split);
    let index = letters_index(letters)?;
    let part: u32 = if digits.is_empty() {
        0
    } else {
        digits.parse().ok()?
    };
    if part > 15 || index > 255 {
        return None;
    }
    let group = (index / 16) as u32;
    let major = match group {
        0 => 8,
        1..=7 => 64 + group,
        _ => 128 + group - 8,
    };
    let minor = (index % 16) as u32 * 16 + part;
    Some(libc::makedev(major, minor))
}

fn partition_name(disk: &str, number: u32) -> String {
    if disk.ends_with(|c: char| c.is_ascii_digit()) {
        format!("{disk}p{number}")
    } else {
        format!("{disk}{number}")
    }
}

impl Disks {
    /// Waits until the `expected` drives the host added are visible and maps them by serial.
    pub fn discover(expected: usize, timeout: Duration) -> io::Result<Disks> {
        let deadline = Instant::now() + timeout;
        loop {
            let mut found: Vec<Option<String>> = vec![None; expected];
            for entry in fs::read_dir("/sys/block")?.flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                let serial = fs::read_to_string(entry.path().join("serial")).unwrap_or_default();
                let Some(index) = serial
                    .trim()
                    .strip_prefix(SERIAL_PREFIX)
                    .and_then(|i| i.parse::<usize>().ok())
                else {
                    continue;
                };
                if index < expected {
                    found[index] = Some(name);
                }
            }
            // The nodes in /dev appear a moment after the sysfs entries.
            if found.iter().all(|k| {
                k.as_ref()
                    .is_some_and(|k| Path::new("/dev").join(k).exists())
            }) {
                return Ok(Disks {
                    kernel: Mutex::new(found.into_iter().flatten().collect()),
                });
            }
            if Instant::now() > deadline {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!(
                        "only {} of {expected} drives appeared",
                        found.iter().flatten().count()
                    ),
                ));
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Number of disks.
    pub fn len(&self) -> usize {
        self.kernel.lock().len()
    }

    /// True with no disks.
    pub fn is_empty(&self) -> bool {
        self.kernel.lock().is_empty()
    }

    /// The kernel's name of disk `index` (`vdb`).
    pub fn kernel_name(&self, index: usize) -> Option<String> {
        self.kernel.lock().get(index).cloned()
    }

    /// The kernel's names of every disk, in order.
    pub fn kernel_names(&self) -> Vec<String> {
        self.kernel.lock().clone()
    }

    /// Takes the disks of `other` instead (the next job's, or none between jobs).
    pub fn replace(&self, other: Disks) {
        let new = other.kernel.into_inner();
        *self.kernel.lock() = new;
    }

    /// The kernel path of a caller's device name. Disk and partition names are mapped;
    /// `/dev/hdX` and `/dev/vdX` are accepted as spellings of `/dev/sdX` like libguestfs
    /// does; other names under /dev (LVM, device-mapper, md) must exist and be block devices.
    pub fn to_kernel(&self, dev: &Device) -> io::Result<PathBuf> {
        let name = dev.as_str();
        let rest = name
            .strip_prefix("/dev/")
            .ok_or_else(|| einval(format!("{dev}: not a device name")))?;
        if rest.contains("..") || rest.contains('\0') || rest.is_empty() {
            return Err(einval(format!("{dev}: not a device name")));
        }
        for prefix in ["sd", "hd", "vd"] {
            if let Some(tail) = rest.strip_prefix(prefix) {
                let split = tail
                    .find(|c: char| c.is_ascii_digit())
                    .unwrap_or(tail.len());
                let (letters, digits) = tail.split_at(split);
                if let Some(index) = letters_index(letters) {
                    let kernel = self.kernel_names();
                    let disk = kernel.get(index).ok_or_else(|| {
                        io::Error::new(
                            io::ErrorKind::NotFound,
                            format!("{dev}: no such disk ({} drive(s) were added)", kernel.len()),
                        )
                    })?;
                    let path = if digits.is_empty() {
                        Path::new("/dev").join(disk)
                    } else {
                        let n: u32 = digits
                            .parse()
                            .map_err(|_| einval(format!("{dev}: bad partition number")))?;
                        Path::new("/dev").join(partition_name(disk, n))
                    };
                    if !path.exists() {
                        return Err(io::Error::new(
                            io::ErrorKind::NotFound,
                            format!("{dev}: no such partition"),
                        ));
                    }
                    return Ok(path);
                }
            }
        }
        let path = PathBuf::from(name);
        let meta =
            fs::metadata(&path).map_err(|e| io::Error::new(e.kind(), format!("{dev}: {e}")))?;
        use std::os::unix::fs::FileTypeExt;
        if !meta.file_type().is_block_device() {
            return Err(einval(format!("{dev}: not a block device")));
        }
        Ok(path)
    }

    /// The caller's name for a kernel device path (`/dev/vdb1` → `/dev/sda1`, a logical
    /// volume's `/dev/dm-3` or `/dev/mapper/vg-lv` → `/dev/vg/lv`, another device-mapper
    /// device → `/dev/mapper/NAME`); other devices keep their names.
    pub fn to_user(&self, kernel_path: &str) -> Device {
        let Some(name) = kernel_path.strip_prefix("/dev/") else {
            return Device::from(kernel_path);
        };
        if let Some(dev) = dm_user_name(name) {
            return dev;
        }
        for (index, disk) in self.kernel_names().iter().enumerate() {
            if name == disk {
                return Device::from(format!("/dev/sd{}", disk_letters(index)));
            }
            if let Some(tail) = name.strip_prefix(disk.as_str()) {
                let tail = if disk.ends_with(|c: char| c.is_ascii_digit()) {
                    tail.strip_prefix('p').unwrap_or("")
                } else {
                    tail
                };
                if !tail.is_empty() && tail.bytes().all(|b| b.is_ascii_digit()) {
                    return Device::from(format!("/dev/sd{}{tail}", disk_letters(index)));
                }
            }
        }
        Device::from(kernel_path)
    }

    /// The device number a file's `st_dev` would have in libguestfs's appliance, where the
    /// disks are SCSI disks: `/dev/sda` is 8:0, `/dev/sda1` 8:1, `/dev/sdb1` 8:17. Our
    /// appliance's virtio numbers (254:N) would differ from one kernel to the next and from
    /// what scripts written for guestfish compare with. Other devices (device-mapper, md)
    /// keep their numbers, as they have the same ones in both appliances.
    pub fn user_dev_t(&self, dev: u64) -> u64 {
        let (major, minor) = (libc::major(dev), libc::minor(dev));
        let Ok(link) = fs::read_link(format!("/sys/dev/block/{major}:{minor}")) else {
            return dev;
        };
        let Some(name) = link.file_name().and_then(|n| n.to_str()) else {
            return dev;
        };
        let user = self.to_user(&format!("/dev/{name}"));
        sd_dev_t(user.as_str()).unwrap_or(dev)
    }

    /// The whole disks.
    pub fn list(&self) -> io::Result<Vec<BlockDevice>> {
        self.kernel_names()
            .iter()
            .enumerate()
            .map(|(index, disk)| {
                let sys = Path::new("/sys/block").join(disk);
                Ok(BlockDevice {
                    device: Device::from(format!("/dev/sd{}", disk_letters(index))),
                    size: read_u64(&sys.join("size"))? * 512,
                    read_only: read_u64(&sys.join("ro"))? != 0,
                })
            })
            .collect()
    }

    /// The partitions of every disk, in disk then partition order.
    pub fn partitions(&self) -> io::Result<Vec<PartitionDevice>> {
        let mut out = Vec::new();
        for (index, disk) in self.kernel_names().iter().enumerate() {
            let sys = Path::new("/sys/block").join(disk);
            let mut parts = Vec::new();
            for entry in fs::read_dir(&sys)?.flatten() {
                let p = entry.path();
                let Ok(number) = read_u64(&p.join("partition")) else {
                    continue;
                };
                parts.push(PartitionDevice {
                    device: Device::from(format!("/dev/sd{}{number}", disk_letters(index))),
                    parent: Device::from(format!("/dev/sd{}", disk_letters(index))),
                    number: number as u32,
                    start: read_u64(&p.join("start"))? * 512,
                    size: read_u64(&p.join("size"))? * 512,
                });
            }
            parts.sort_by_key(|p| p.number);
            out.extend(parts);
        }
        Ok(out)
    }
}

/// The caller's name of a device-mapper device named `dm-N` or `mapper/NAME`: LVM's
/// `/dev/VG/LV` when its dm UUID says it is a logical volume, else `/dev/mapper/NAME`.
fn dm_user_name(name: &str) -> Option<Device> {
    let dm_dir = if let Some(n) = name.strip_prefix("dm-") {
        n.bytes()
            .all(|b| b.is_ascii_digit())
            .then(|| Path::new("/sys/block").join(name))?
    } else {
        let mapped = name.strip_prefix("mapper/")?;
        fs::read_dir("/sys/block")
            .ok()?
            .flatten()
            .map(|e| e.path())
            .find(|p| fs::read_to_string(p.join("dm/name")).is_ok_and(|n| n.trim() == mapped))?
    };
    let dm_name = fs::read_to_string(dm_dir.join("dm/name")).ok()?;
    let dm_name = dm_name.trim();
    let uuid = fs::read_to_string(dm_dir.join("dm/uuid")).unwrap_or_default();
    if uuid.starts_with("LVM-") {
        if let Some((vg, lv)) = crate::block::lvm::split_dm_name(dm_name) {
            return Some(Device::from(format!("/dev/{vg}/{lv}")));
        }
    }
    Some(Device::from(format!("/dev/mapper/{dm_name}")))
}

fn read_u64(path: &Path) -> io::Result<u64> {
    let s = fs::read_to_string(path)?;
    s.trim().parse().map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{}: not a number", path.display()),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn letters_follow_kernel_naming() {
        assert_eq!(disk_letters(0), "a");
        assert_eq!(disk_letters(25), "z");
        assert_eq!(disk_letters(26), "aa");
        assert_eq!(disk_letters(27), "ab");
        assert_eq!(disk_letters(701), "zz");
        assert_eq!(disk_letters(702), "aaa");
        for i in 0..800 {
            assert_eq!(letters_index(&disk_letters(i)), Some(i));
        }
        assert_eq!(letters_index(""), None);
        assert_eq!(letters_index("A"), None);
    }

    #[test]
    fn names_translate_both_ways() {
        let d = Disks {
            kernel: Mutex::new(vec!["vdb".into(), "vda".into()]),
        };
        assert_eq!(d.to_user("/dev/vdb").as_str(), "/dev/sda");
        assert_eq!(d.to_user("/dev/vda2").as_str(), "/dev/sdb2");
        assert_eq!(
            d.to_user("/dev/mapper/vg-root").as_str(),
            "/dev/mapper/vg-root"
        );
        assert_eq!(d.to_user("/dev/vdc").as_str(), "/dev/vdc");
        let e = d.to_kernel(&Device::from("/dev/sdc")).unwrap_err();
        assert!(e.to_string().contains("2 drive(s)"), "{e}");
        assert!(d.to_kernel(&Device::from("/dev/../etc/passwd")).is_err());
        assert!(d.to_kernel(&Device::from("/etc/passwd")).is_err());
        assert_eq!(partition_name("nbd0", 1), "nbd0p1");
        let n = Disks {
            kernel: Mutex::new(vec!["nvme0n1".into()]),
        };
        assert_eq!(n.to_user("/dev/nvme0n1p3").as_str(), "/dev/sda3");
    }

    #[test]
    fn sd_numbers_follow_the_scsi_disk_driver() {
        let n = |name: &str| sd_dev_t(name).map(|d| (libc::major(d), libc::minor(d)));
        assert_eq!(n("/dev/sda"), Some((8, 0)));
        assert_eq!(n("/dev/sda1"), Some((8, 1)));
        assert_eq!(n("/dev/sdb1"), Some((8, 17)));
        assert_eq!(n("/dev/sdp15"), Some((8, 255)));
        assert_eq!(n("/dev/sdq"), Some((65, 0)));
        assert_eq!(n("/dev/sddx"), Some((71, 240)));
        assert_eq!(n("/dev/sddy"), Some((128, 0)));
        assert_eq!(n("/dev/sda16"), None);
        assert_eq!(n("/dev/vda1"), None);
        assert_eq!(n("/dev/sd1"), None);
        // As guestfish prints them: st_dev of a file on sda1 and sdb1.
        assert_eq!(sd_dev_t("/dev/sda1"), Some(2049));
        assert_eq!(sd_dev_t("/dev/sdb1"), Some(2065));
    }
}
