//! What is on the block devices: `list_filesystems` and `vfs_type`/`vfs_label`/`vfs_uuid`,
//! answered by the Rust superblock probes (`probe/`); `blkid`, libguestfs's hashtable of
//! the carried util-linux blkid's own keys; and `available`, which says which optional
//! groups of operations this appliance supports.

use crate::block::blockdev;
use crate::block::devices::Disks;
use crate::boot::modules::Modules;
use crate::probe::{self, Kind, Probe};
use crate::{block::luks, block::lvm, block::md, block::parts, boot::tools};
use guestwright_protocol::{Device, Filesystem, KeyValue};
use std::ffi::OsStr;
use std::io;
use std::path::Path;

/// Probes the content of a block device.
pub fn probe_path(path: &Path) -> io::Result<Option<Probe>> {
    let mut file = blockdev::open_read(path)?;
    let size = crate::sys::block_size64(&file)?;
    probe::probe(&mut file, size)
}

fn entry(device: Device, found: Option<Probe>) -> Filesystem {
    match found {
        Some(p) if !matches!(p.kind, Kind::PartitionTable(_)) => Filesystem {
            device,
            fstype: p.fstype.to_string(),
            label: p.label,
            uuid: p.uuid,
        },
        _ => Filesystem {
            device,
            fstype: "unknown".to_string(),
            label: None,
            uuid: None,
        },
    }
}

/// Every disk without partitions, every opened LUKS volume, every partition that can hold a
/// filesystem (not an MBR extended partition, a Microsoft reserved or an LDM metadata
/// partition), every md array and every logical volume, in that order (libguestfs's), with
/// what it holds. LVM physical volumes are left out, as libguestfs does: their logical
/// volumes are listed instead; so are LUKS volumes (`crypto_LUKS`) unless `luks` asks for
/// them.
pub fn list_filesystems(
    disks: &Disks,
    modules: &Modules,
    luks: bool,
) -> io::Result<Vec<Filesystem>> {
    let mut out = Vec::new();
    let saw_pv = std::cell::Cell::new(false);
    let mut push = |device: Device, found: Option<Probe>| {
        if found.as_ref().is_some_and(|p| p.kind == Kind::LvmPv) {
            saw_pv.set(true);
            return;
        }
        if !luks && found.as_ref().is_some_and(|p| p.fstype == "crypto_LUKS") {
            return;
        }
        out.push(entry(device, found));
    };
    probe_all(disks, modules, &mut push)?;
    // LVM costs the tools, the device-mapper modules and an lvm run; a disk set without a
    // physical volume (the probe recognises their labels) has no logical volumes to list.
    if !saw_pv.get() && !lvm::activated() {
        return Ok(out);
    }
    match lvm::lvs_full(disks, modules) {
        Ok(lvs) => {
            for lv in lvs.into_iter().filter(|lv| lv.active) {
                let found = probe_path(Path::new(lv.device.as_str()))?;
                push(lv.device, found);
            }
        }
        // No lvm in this appliance: no logical volumes to list.
        Err(e) if e.kind() == io::ErrorKind::Unsupported => {}
        Err(e) => return Err(e),
    }
    Ok(out)
}

/// Whether any disk, partition, md array or opened LUKS volume carries an LVM physical
/// volume label: without one (and nothing activated) the LVM reports have nothing to say,
/// and are answered without the seconds an lvm run and the device-mapper modules cost.
pub fn holds_pv(disks: &Disks, modules: &Modules) -> io::Result<bool> {
    let mut saw = false;
    probe_all(disks, modules, &mut |_, found: Option<Probe>| {
        saw |= found.is_some_and(|p| p.kind == Kind::LvmPv);
    })?;
    Ok(saw)
}

/// Probes, in libguestfs's order (`daemon/listfs.ml`), every disk without partitions, then
/// every opened LUKS volume (libguestfs's non-LV device-mapper devices, sorted by name), then
/// every partition that can hold a filesystem (those of the disks, then those of md arrays),
/// then every md array without partitions (assembled first when members are found). So a
/// whole-disk filesystem on the second disk comes before a partition of the first.
fn probe_all(
    disks: &Disks,
    modules: &Modules,
    push: &mut dyn FnMut(Device, Option<Probe>),
) -> io::Result<()> {
    // md members make the daemon assemble their arrays first, so the listing names the
    // arrays (and the LVM physical volumes on them) instead of the members.
    if !md::assembled() && has_md_member(disks)? {
        if let Err(e) = md::assemble_once(disks, modules) {
            info!("md arrays not assembled: {e}");
        }
    }
    let mut partitioned = Vec::new();
    for disk in disks.kernel_names() {
        let disk = disk.as_str();
        let disk_path = Path::new("/dev").join(disk);
        let partitions = blockdev::kernel_partitions(disk)?;
        if partitions.is_empty() {
            if md::is_member(disk) {
                continue;
            }
            let found = probe_path(&disk_path)?;
            push(disks.to_user(&disk_path.to_string_lossy()), found);
        } else {
            partitioned.push((disk.to_string(), disk_path, partitions));
        }
    }
    let mut maps = luks::opened();
    maps.sort();
    for map in maps {
        let path = Path::new("/dev/mapper").join(&map);
        if let Ok(found) = probe_path(&path) {
            push(Device::from(format!("/dev/mapper/{map}")), found);
        }
    }
    for (disk, disk_path, partitions) in partitioned {
        let skip = parts::not_for_filesystems(&disk_path).unwrap_or_default();
        for p in partitions {
            if skip.contains(&p.number) {
                continue;
            }
            let node = blockdev::partition_node(&disk, p.number);
            if md::is_member(&node.file_name().unwrap_or_default().to_string_lossy()) {
                continue;
            }
            let found = probe_path(&node)?;
            push(disks.to_user(&node.to_string_lossy()), found);
        }
    }
    let mut whole_arrays = Vec::new();
    for array in md::list() {
        // An array may hold a partition table of its own (`/dev/md127p1`).
        let name = array.as_str().trim_start_matches("/dev/").to_string();
        let partitions = blockdev::kernel_partitions(&name).unwrap_or_default();
        if partitions.is_empty() {
            whole_arrays.push(array);
            continue;
        }
        for p in partitions {
            let node = blockdev::partition_node(&name, p.number);
            if let Ok(found) = probe_path(&node) {
                push(Device::from(node.to_string_lossy().into_owned()), found);
            }
        }
    }
    for array in whole_arrays {
        if let Ok(found) = probe_path(Path::new(array.as_str())) {
            push(array, found);
        }
    }
    Ok(())
}

/// Whether a disk or partition carries an md superblock.
fn has_md_member(disks: &Disks) -> io::Result<bool> {
    for disk in disks.kernel_names() {
        let disk = disk.as_str();
        let partitions = blockdev::kernel_partitions(disk)?;
        let nodes: Vec<std::path::PathBuf> = if partitions.is_empty() {
            vec![Path::new("/dev").join(disk)]
        } else {
            partitions
                .iter()
                .map(|p| blockdev::partition_node(disk, p.number))
                .collect()
        };
        for node in nodes {
            if probe_path(&node)?.is_some_and(|p| p.fstype == "linux_raid_member") {
                return Ok(true);
            }
        }
    }
    Ok(false)
}

/// blkid's `TYPE` of a device: empty when nothing is recognised, and for a partition table
/// (which blkid reports as `PTTYPE`, not `TYPE`).
pub fn vfs_type(path: &Path) -> io::Result<String> {
    Ok(match probe_path(path)? {
        Some(p) if !matches!(p.kind, Kind::PartitionTable(_)) => p.fstype.to_string(),
        _ => String::new(),
    })
}

/// The label, or an empty string.
pub fn vfs_label(path: &Path) -> io::Result<String> {
    Ok(probe_path(path)?.and_then(|p| p.label).unwrap_or_default())
}

/// The UUID as blkid prints it, or an empty string.
pub fn vfs_uuid(path: &Path) -> io::Result<String> {
    Ok(probe_path(path)?.and_then(|p| p.uuid).unwrap_or_default())
}

/// libguestfs's `blkid`: what `blkid -c /dev/null -p -i -o export` says of the device (no
/// cache, low-level probing, topology), as pairs in blkid's order. blkid names the device by
/// the appliance's node in `DEVNAME`; the answer gives the caller's name instead. Like
/// libguestfs, any exit status but 0 is an error (2: blkid recognised nothing).
pub fn blkid(device: &blockdev::ResolvedDevice) -> io::Result<Vec<KeyValue>> {
    let node = device.node();
    let mut args: Vec<&OsStr> = ["-c", "/dev/null", "-p", "-i", "-o", "export"]
        .into_iter()
        .map(OsStr::new)
        .collect();
    args.push(node.as_os_str());
    let out = tools::run_status("blkid", &args, &[], None)?;
    match out.status.code() {
        Some(0) => {}
        Some(2) if out.stderr.is_empty() => {
            return Err(io::Error::other(format!(
                "{}: blkid recognised nothing on it",
                device.name()
            )))
        }
        _ => return Err(tools::failed("blkid", &args, &out)),
    }
    let node = node.to_string_lossy();
    Ok(parse_blkid_export(&String::from_utf8_lossy(&out.stdout))
        .into_iter()
        .map(|kv| match kv.key.as_str() {
            "DEVNAME" if kv.value == node => KeyValue::new("DEVNAME", device.name().as_str()),
            _ => kv,
        })
        .collect())
}

/// `KEY=value` lines (`-o export`) as pairs; libguestfs splits at the first `=` and skips
/// blank lines and lines without one.
fn parse_blkid_export(text: &str) -> Vec<KeyValue> {
    text.lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| KeyValue::new(k, v))
        .collect()
}

/// The optional groups and what decides them.
const GROUPS: &[&str] = &[
    "lvm2",
    "luks",
    "ext2",
    "xfs",
    "btrfs",
    "mkswap",
    "vfat",
    "exfat",
    "ntfs3",
    "gdisk",
    "fstrim",
    "wipefs",
    "augeas",
    "hivex",
    "journal",
    "squashfs",
    "f2fs",
    "sleuthkit",
    "libtsk",
    "libyara",
    "selinux",
    "selinuxrelabel",
    "ntfs3g",
    "ntfsprogs",
    "syslinux",
    "extlinux",
    "ldm",
    "rsync",
    "grub",
];

fn fs_in_kernel(modules: &Modules, fs: &str, module: &str) -> bool {
    modules.has(module)
        || std::fs::read_to_string("/proc/filesystems")
            .unwrap_or_default()
            .lines()
            .any(|l| l.split_whitespace().last() == Some(fs))
}

fn module_or_builtin(modules: &Modules, module: &str) -> bool {
    modules.has(module) || Path::new("/sys/module").join(module).exists()
}

/// Whether the appliance supports one group, or `None` for a group that does not exist.
fn group_available(modules: &Modules, group: &str) -> Option<bool> {
    Some(match group {
        "lvm2" => tools::has("lvm") && module_or_builtin(modules, "dm_mod"),
        "luks" => tools::has("cryptsetup") && module_or_builtin(modules, "dm_crypt"),
        "ext2" => tools::has("mke2fs"),
        "xfs" => tools::has("mkfs.xfs") && fs_in_kernel(modules, "xfs", "xfs"),
        "btrfs" => tools::has("mkfs.btrfs") && fs_in_kernel(modules, "btrfs", "btrfs"),
        "mkswap" => tools::has("mkswap"),
        "vfat" => fs_in_kernel(modules, "vfat", "vfat"),
        "exfat" => fs_in_kernel(modules, "exfat", "exfat"),
        "ntfs3" => fs_in_kernel(modules, "ntfs3", "ntfs3"),
        // Partition tables, trimming and wiping are built into the daemon.
        "gdisk" | "fstrim" | "wipefs" => true,
        // cmds-libs: the host's C libraries, loaded when first asked for.
        "augeas" => crate::fs::augeas::available(),
        "hivex" => crate::fs::hivex::available(),
        "journal" => crate::fs::journal::available(),
        // cmds-misc
        "squashfs" => tools::has("mksquashfs"),
        "f2fs" => tools::has("resize.f2fs"),
        "sleuthkit" => tools::has("icat"),
        "libtsk" => tools::has("fls") && tools::has("istat"),
        "libyara" => tools::has("yara"),
        // getcon and setcon go through /proc; relabelling is missing, as in libguestfs 1.48
        // on Debian.
        "selinux" => true,
        "selinuxrelabel" => false,
        // ntfs-3g's tools: ntfs-3g.probe, ntfsfix, ntfscat and ntfsclone; ntfsresize.
        "ntfs3g" => tools::has("ntfs-3g.probe"),
        "ntfsprogs" => tools::has("ntfsresize"),
        // The bootloader installers; syslinux runs mtools through busybox's shell.
        "syslinux" => tools::has("syslinux") && tools::has("mcopy") && tools::has("busybox"),
        "extlinux" => tools::has("extlinux"),
        // Windows dynamic disks (ldmtool), rsync and grub-install (GRUB's i386-pc modules
        // come with it).
        "ldm" => crate::block::ldm::available(),
        "rsync" => tools::has("rsync"),
        "grub" => tools::has("grub-install"),
        _ => return None,
    })
}

/// `available`: every group must be supported; the error names the first that is not.
pub fn available(modules: &Modules, groups: &[String]) -> io::Result<()> {
    for group in groups {
        match group_available(modules, group) {
            Some(true) => {}
            Some(false) => {
                return Err(io::Error::new(
                    io::ErrorKind::Unsupported,
                    format!(
                        "the {group} group is not available in this appliance: the host lacks the \
                         tool or kernel module it needs{}",
                        hint(group)
                    ),
                ))
            }
            None => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!(
                        "'{}' is not an optional group; the groups are: {}",
                        guestwright_protocol::escape_bytes(group.as_bytes()),
                        GROUPS.join(", ")
                    ),
                ))
            }
        }
    }
    Ok(())
}

fn hint(group: &str) -> String {
    let tool = match group {
        "lvm2" => "lvm",
        "luks" => "cryptsetup",
        "ext2" => "mke2fs",
        "xfs" => "mkfs.xfs",
        "btrfs" => "mkfs.btrfs",
        "mkswap" => "mkswap",
        "augeas" => "libaugeas.so.0",
        "hivex" => "libhivex.so.0",
        "journal" => "journalctl",
        "ntfs3g" => "ntfs-3g.probe",
        "ntfsprogs" => "ntfsresize",
        "syslinux" => "syslinux",
        "extlinux" => "extlinux",
        "ldm" => "ldmtool",
        "rsync" => "rsync",
        "grub" => "grub-install",
        _ => return String::new(),
    };
    format!(" (install {} on the host)", tools::package_of(tool))
}

/// `feature_available`: true when every group is supported; unknown groups are errors.
pub fn feature_available(modules: &Modules, groups: &[String]) -> io::Result<bool> {
    match available(modules, groups) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::Unsupported => Ok(false),
        Err(e) => Err(e),
    }
}

/// `tune2fs_l`: the superblock as `tune2fs -l` lists it, as `key: value` pairs. Values
/// `<none>`, `<not available>` and `(none)` become empty, as in guestfish; a line without a
/// colon is a key with an empty value; the version banner is left out.
pub fn tune2fs_l(path: &Path) -> io::Result<Vec<KeyValue>> {
    let out = tools::run("tune2fs", &[Path::new("-l"), path])?;
    Ok(parse_tune2fs_l(&String::from_utf8_lossy(&out.stdout)))
}

fn parse_tune2fs_l(text: &str) -> Vec<KeyValue> {
    text.lines()
        .filter(|l| !l.is_empty() && !l.starts_with("tune2fs "))
        .map(|l| match l.split_once(':') {
            Some((key, value)) => {
                let value = value.trim_start();
                let value = match value {
                    "<none>" | "<not available>" | "(none)" => "",
                    v => v,
                };
                KeyValue::new(key, value)
            }
            None => KeyValue::new(l, ""),
        })
        .collect()
}

#[cfg(test)]
mod tune2fs_tests {
    use super::*;

    #[test]
    fn blkid_export_lines_become_pairs_in_order() {
        let text = "DEVNAME=/dev/vda1\nUUID=c0ffee00-0000-4000-8000-000000000001\n\
                    BLOCK_SIZE=1024\nTYPE=ext4\n\nodd line\nPART_ENTRY_NAME=a=b\n";
        assert_eq!(
            parse_blkid_export(text),
            [
                KeyValue::new("DEVNAME", "/dev/vda1"),
                KeyValue::new("UUID", "c0ffee00-0000-4000-8000-000000000001"),
                KeyValue::new("BLOCK_SIZE", "1024"),
                KeyValue::new("TYPE", "ext4"),
                KeyValue::new("PART_ENTRY_NAME", "a=b"),
            ]
        );
    }

    #[test]
    fn tune2fs_lines_become_pairs_as_guestfish_splits_them() {
        let text = "tune2fs 1.47.0 (5-Feb-2023)\nFilesystem volume name:   bare\n\
                    Last mounted on:          <not available>\n\
                    Filesystem flags:         signed_directory_hash \nno colon\n";
        assert_eq!(
            parse_tune2fs_l(text),
            [
                KeyValue::new("Filesystem volume name", "bare"),
                KeyValue::new("Last mounted on", ""),
                KeyValue::new("Filesystem flags", "signed_directory_hash "),
                KeyValue::new("no colon", ""),
            ]
        );
    }
}
