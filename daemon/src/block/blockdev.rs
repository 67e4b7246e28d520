//! Block devices: resolving the caller's names (activating LVM on first need), sizes, and
//! making partition-table changes reach the kernel before an operation returns.

use crate::block::devices::Disks;
use crate::boot::modules::Modules;
use crate::{block::lvm, block::md, sys};
use guestwright_protocol::{Device, Disk};
use std::fs::{self, File};
use std::io;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// How long the kernel gets to create or remove partition nodes after a change.
const NODE_TIMEOUT: Duration = Duration::from_secs(10);

/// A `Device` argument as operations receive it: the caller's name and the kernel node it
/// resolved to. Made only by [`ResolvedDevice::new`], so holding one means the device exists.
#[derive(Debug, Clone)]
pub struct ResolvedDevice {
    name: Device,
    node: PathBuf,
}

impl ResolvedDevice {
    /// Resolves a caller's device name (see [`resolve`]).
    pub fn new(disks: &Disks, modules: &Modules, name: Device) -> io::Result<ResolvedDevice> {
        let node = resolve(disks, modules, &name)?;
        Ok(ResolvedDevice { name, node })
    }

    /// The name the caller used (`/dev/sda1`, `/dev/VG/LV`), for messages and answers.
    pub fn name(&self) -> &Device {
        &self.name
    }

    /// The appliance's node for it (`/dev/vda1`, `/dev/dm-0`).
    pub fn node(&self) -> &Path {
        &self.node
    }
}

/// A `DevOrPath` argument as operations receive it: a device that exists, or a guest path
/// (a filesystem is mounted on the root then).
#[derive(Debug, Clone)]
pub enum ResolvedDevOrPath {
    /// A device, used as a whole.
    Device(ResolvedDevice),
    /// A file in the guest tree, not yet opened.
    Path(guestwright_protocol::GuestPath),
}

/// A `Disk` argument as operations receive it: a whole disk (never a partition or an LV)
/// and its kernel node.
#[derive(Debug, Clone)]
pub struct ResolvedDisk {
    name: Device,
    node: PathBuf,
}

impl ResolvedDisk {
    /// Checks that a caller's name is a whole disk (see [`resolve_disk`]).
    pub fn new(disks: &Disks, name: &Disk) -> io::Result<ResolvedDisk> {
        Ok(ResolvedDisk {
            node: resolve_disk(disks, &name.0)?,
            name: name.0.clone(),
        })
    }

    /// The caller's name of the disk (`/dev/sda`), for messages.
    pub fn name(&self) -> &Device {
        &self.name
    }

    /// The appliance's node for the disk (`/dev/vda`).
    pub fn node(&self) -> &Path {
        &self.node
    }
}

/// The kernel path of a caller's device name. Names that could be logical volumes
/// (`/dev/VG/LV`, `/dev/mapper/VG-LV`) and do not exist yet activate LVM once, then are
/// looked up again; names of md arrays (`/dev/md127`, `/dev/md/NAME`) assemble the arrays
/// once. `/dev/md/NAME` has an LV's shape too: LVM is tried first, then md.
pub fn resolve(disks: &Disks, modules: &Modules, dev: &Device) -> io::Result<PathBuf> {
    let missing =
        |r: &io::Result<PathBuf>| matches!(r, Err(e) if e.kind() == io::ErrorKind::NotFound);
    let mut found = disks.to_kernel(dev);
    if missing(&found) && lvm::could_be_lv(dev) {
        lvm::activate_once(disks, modules)?;
        found = disks.to_kernel(dev);
    }
    if missing(&found) && md::could_be_md(dev) {
        md::assemble_once(disks, modules)?;
        found = disks.to_kernel(dev);
    }
    // An LV on an md array (`/dev/VG/Root` on `/dev/md127`): its VG appears once the
    // arrays are assembled, which marks LVM for activation again.
    if missing(&found) && lvm::could_be_lv(dev) && md::assemble_once(disks, modules).is_ok() {
        lvm::activate_once(disks, modules)?;
        found = disks.to_kernel(dev);
    }
    found
}

/// A whole disk (not a partition or an LV), or an md array (partitionable, as in
/// libguestfs: `part-init /dev/md127 mbr` makes `/dev/md127p1`...): its kernel path, or
/// `EINVAL`.
pub fn resolve_disk(disks: &Disks, dev: &Device) -> io::Result<PathBuf> {
    let path = disks.to_kernel(dev)?;
    if disk_index(disks, &path).is_none() && !is_md_array(&path) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{dev}: not a whole disk (partition tables live on /dev/sda, /dev/sdb, ...)"),
        ));
    }
    Ok(path)
}

/// `/dev/mdN` itself (not one of its partitions), an array the kernel knows.
fn is_md_array(path: &Path) -> bool {
    let Some(name) = path.strip_prefix("/dev").ok().and_then(|n| n.to_str()) else {
        return false;
    };
    name.strip_prefix("md")
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        && Path::new("/sys/block").join(name).join("md").is_dir()
}

/// The index of a whole disk among the attached ones.
pub fn disk_index(disks: &Disks, path: &Path) -> Option<usize> {
    let name = path.strip_prefix("/dev").ok()?.to_str()?;
    disks.kernel_names().iter().position(|k| k == name)
}

/// Opens a block device for reading, insisting that it is one.
pub fn open_read(path: &Path) -> io::Result<File> {
    let file = File::open(path)?;
    check_block(&file, path)?;
    Ok(file)
}

/// Opens a block device for reading and writing; `EROFS` names a read-only disk.
pub fn open_write(path: &Path) -> io::Result<File> {
    let file = File::options().read(true).write(true).open(path)?;
    check_block(&file, path)?;
    Ok(file)
}

fn check_block(file: &File, path: &Path) -> io::Result<()> {
    if !file.metadata()?.file_type().is_block_device() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{}: not a block device", path.display()),
        ));
    }
    Ok(())
}

/// The size in bytes.
pub fn size64(path: &Path) -> io::Result<u64> {
    sys::block_size64(&open_read(path)?)
}

/// The logical sector size in bytes.
pub fn sector_size(path: &Path) -> io::Result<u32> {
    sys::block_sector_size(&open_read(path)?)
}

/// Whether the device is read-only.
pub fn read_only(path: &Path) -> io::Result<bool> {
    sys::block_read_only(&open_read(path)?)
}

/// A partition as the kernel sees it: number, start and length in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KernelPart {
    /// Partition number.
    pub number: u32,
    /// Offset in bytes.
    pub start: u64,
    /// Length in bytes.
    pub length: u64,
}

/// The partitions the kernel knows on disk `disk` (a kernel name such as `vda`).
pub fn kernel_partitions(disk: &str) -> io::Result<Vec<KernelPart>> {
    let sys = Path::new("/sys/block").join(disk);
    let mut parts = Vec::new();
    for entry in fs::read_dir(&sys)?.flatten() {
        let p = entry.path();
        let Ok(number) = read_u64(&p.join("partition")) else {
            continue;
        };
        parts.push(KernelPart {
            number: number as u32,
            start: read_u64(&p.join("start"))? * 512,
            length: read_u64(&p.join("size"))? * 512,
        });
    }
    parts.sort_by_key(|p| p.number);
    Ok(parts)
}

fn read_u64(path: &Path) -> io::Result<u64> {
    fs::read_to_string(path)?
        .trim()
        .parse()
        .map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))
}

/// The kernel's name of partition `number` of disk `disk`.
pub fn partition_node(disk: &str, number: u32) -> PathBuf {
    if disk.ends_with(|c: char| c.is_ascii_digit()) {
        Path::new("/dev").join(format!("{disk}p{number}"))
    } else {
        Path::new("/dev").join(format!("{disk}{number}"))
    }
}

/// Makes the kernel see the partitions `wanted` (number, start, length in bytes) on `disk`
/// (kernel path) and waits until their device nodes exist and the nodes of removed ones are
/// gone. BLKRRPART is tried first; when a partition is in use it fails with `EBUSY`, and then
/// each changed partition that is not in use is removed and added on its own (as partx
/// does); a change to a busy partition is an `EBUSY` error.
pub fn sync_partitions(disk_path: &Path, wanted: &[KernelPart]) -> io::Result<()> {
    let disk = disk_path
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| io::Error::from_raw_os_error(libc::EINVAL))?
        .to_string();
    let file = open_read(disk_path)?;
    // Written data must reach the device before the kernel reads the table back.
    let _ = sys::block_flush_buffers(&file);
    match sys::block_reread_partitions(&file) {
        Ok(()) => {}
        Err(e) if e.raw_os_error() == Some(libc::EBUSY) => {
            debug!("{disk}: BLKRRPART busy, updating partitions one by one");
            let have = kernel_partitions(&disk)?;
            for old in &have {
                if !wanted.contains(old) {
                    sys::block_del_partition(&file, old.number).map_err(|e| {
                        busy(e, &partition_node(&disk, old.number), "change or remove")
                    })?;
                }
            }
            for new in wanted {
                if !have.contains(new) {
                    sys::block_add_partition(&file, new.number, new.start, new.length)
                        .map_err(|e| busy(e, &partition_node(&disk, new.number), "add"))?;
                }
            }
        }
        Err(e) => return Err(e),
    }
    wait_for_nodes(&disk, wanted)
}

fn busy(e: io::Error, node: &Path, what: &str) -> io::Error {
    if e.raw_os_error() == Some(libc::EBUSY) {
        io::Error::new(
            io::ErrorKind::ResourceBusy,
            format!(
                "cannot {what} {} while it is in use (mounted or an active LVM PV): unmount it first",
                node.display()
            ),
        )
    } else {
        e
    }
}

/// Waits until the kernel's view (sysfs and /dev) matches `wanted`.
fn wait_for_nodes(disk: &str, wanted: &[KernelPart]) -> io::Result<()> {
    let deadline = Instant::now() + NODE_TIMEOUT;
    loop {
        let have = kernel_partitions(disk)?;
        let nodes_ok = have.iter().all(|p| {
            let node = partition_node(disk, p.number);
            fs::metadata(&node).is_ok_and(|m| m.file_type().is_block_device())
        });
        // Nodes of partitions that went away must be gone too.
        let stale = (1..=have.iter().map(|p| p.number).max().unwrap_or(0) + 16)
            .any(|n| !have.iter().any(|p| p.number == n) && partition_node(disk, n).exists());
        let same = have.len() == wanted.len() && wanted.iter().all(|w| have.contains(w));
        if same && nodes_ok && !stale {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!(
                    "/dev/{disk}: the kernel did not show the new partition table within {NODE_TIMEOUT:?} \
                     (it sees {have:?}, the table says {wanted:?})"
                ),
            ));
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Fails with `EBUSY` when a partition the kernel has now is in use (mounted, an active PV,
/// an open LUKS volume) and `wanted` would remove or move it.
pub fn check_unchanged_if_busy(disk_path: &Path, wanted: &[KernelPart]) -> io::Result<()> {
    let disk = disk_path
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| io::Error::from_raw_os_error(libc::EINVAL))?;
    for old in kernel_partitions(disk)? {
        if wanted.contains(&old) {
            continue;
        }
        let node = partition_node(disk, old.number);
        if let Err(e) = File::options()
            .read(true)
            .custom_flags(libc::O_EXCL)
            .open(&node)
        {
            if e.raw_os_error() == Some(libc::EBUSY) {
                return Err(busy(e, &node, "change or remove"));
            }
        }
    }
    Ok(())
}

/// Asks the kernel to re-read a disk's partition table and waits for its nodes.
pub fn reread(disk_path: &Path) -> io::Result<()> {
    let disk = disk_path
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| io::Error::from_raw_os_error(libc::EINVAL))?
        .to_string();
    let file = open_read(disk_path)?;
    sys::block_reread_partitions(&file)?;
    let have = kernel_partitions(&disk)?;
    wait_for_nodes(&disk, &have)
}

/// The disk a partition is on and its number, in the caller's names.
pub fn part_to_dev(disks: &Disks, partition: &ResolvedDevice) -> io::Result<(Device, u32)> {
    let (dev, path) = (partition.name(), partition.node());
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default()
        .to_string();
    let sys = Path::new("/sys/class/block").join(&name);
    let not_partition = || {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{dev}: not a partition"),
        )
    };
    let number = read_u64(&sys.join("partition")).map_err(|_| not_partition())?;
    // /sys/class/block/vda1 links to .../block/vda/vda1: the parent directory is the disk.
    let real = fs::canonicalize(&sys)?;
    let disk = real
        .parent()
        .and_then(|p| p.file_name())
        .and_then(|n| n.to_str())
        .ok_or_else(not_partition)?;
    let number = u32::try_from(number).map_err(|_| not_partition())?;
    Ok((disks.to_user(&format!("/dev/{disk}")), number))
}
