//! Making and maintaining filesystems: `mkfs` (ext2/3/4 with the carried `mke2fs`, vfat with
//! the `fatfs` crate, xfs, btrfs and ntfs with the carried `mkfs.xfs`, `mkfs.btrfs` and
//! `mkntfs`), `mkswap`,
//! labels and UUIDs, `e2fsck`/`fsck`, `resize2fs`, zeroing, `wipefs` and `fstrim`.
//!
//! What needs a tool the appliance does not carry fails with `EOPNOTSUPP` and names the host
//! package; what a tool prints on failure is part of the error. A device that is in use
//! (mounted, an active PV) is refused with `EBUSY` before anything is written.

use crate::block::blockdev;
use crate::call::Call;
use crate::fs::guestfs;
use crate::probe::{Fs, Kind};
use crate::{block::fsinfo, boot::tools, sys};
use guestwright_protocol::{escape_bytes, FsType, GuestPath};
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

fn einval(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, msg)
}

/// Opens a device exclusively for writing: the kernel refuses (`EBUSY`) while it is mounted
/// or held by device-mapper, which protects a mounted filesystem from mkfs.
fn open_exclusive(path: &Path) -> io::Result<File> {
    let file = File::options()
        .read(true)
        .write(true)
        .custom_flags(libc::O_EXCL)
        .open(path)
        .map_err(|e| {
            if e.raw_os_error() == Some(libc::EBUSY) {
                io::Error::new(
                    io::ErrorKind::ResourceBusy,
                    format!(
                        "{} is in use (mounted, an active LVM PV or an open LUKS volume): \
                         unmount or deactivate it first",
                        path.display()
                    ),
                )
            } else {
                e
            }
        })?;
    blockdev::open_read(path)?;
    Ok(file)
}

/// Zeroes `len` bytes at `offset`, skipping what is already zero, and clipping at the end.
fn zero_range(file: &mut File, size: u64, offset: u64, len: u64) -> io::Result<()> {
    let end = offset.saturating_add(len).min(size);
    let mut pos = offset;
    let mut buf = vec![0u8; 64 * 1024];
    let zeros = vec![0u8; 64 * 1024];
    while pos < end {
        let n = (end - pos).min(buf.len() as u64) as usize;
        file.seek(SeekFrom::Start(pos))?;
        file.read_exact(&mut buf[..n])?;
        if buf[..n].iter().any(|&b| b != 0) {
            file.seek(SeekFrom::Start(pos))?;
            file.write_all(&zeros[..n])?;
        }
        pos += n as u64;
    }
    Ok(())
}

/// Clears old signatures at the start of a device before a new filesystem goes on it, so a
/// stale LVM label or LUKS header in a place the new filesystem does not write cannot make
/// the probe (or blkid) see the old content.
fn wipe_head(path: &Path) -> io::Result<()> {
    let mut file = open_exclusive(path)?;
    let size = sys::block_size64(&file)?;
    zero_range(&mut file, size, 0, 128 * 1024)?;
    file.sync_all()
}

/// Options of `mkfs`, in bytes where they are sizes.
#[derive(Debug, Default, Clone)]
pub struct MkfsOptions<'a> {
    /// Block (ext, xfs) or cluster (vfat) size in bytes; btrfs: sector size.
    pub blocksize: Option<u64>,
    /// The label.
    pub label: Option<&'a str>,
    /// ext: `-O` features; xfs and btrfs: passed as their feature option.
    pub features: Option<&'a str>,
    /// ext, xfs: inode size in bytes.
    pub inode: Option<u32>,
    /// xfs, vfat: sector size in bytes.
    pub sectorsize: Option<u32>,
}

fn check_label(label: &str, max: usize, fs: &str) -> io::Result<()> {
    if label.len() > max || label.contains('\0') {
        return Err(einval(format!(
            "the label '{}' is too long for {fs} (at most {max} bytes)",
            escape_bytes(label.as_bytes())
        )));
    }
    Ok(())
}

fn check_option_word(what: &str, value: &str) -> io::Result<()> {
    if value.is_empty() || value.starts_with('-') || value.contains(char::is_whitespace) {
        return Err(einval(format!(
            "mkfs: '{}' is not a valid {what}",
            escape_bytes(value.as_bytes())
        )));
    }
    Ok(())
}

/// `mkfs`: a new filesystem of `fstype` on the device at `path`.
pub fn mkfs(fstype: &FsType, path: &Path, opts: &MkfsOptions<'_>) -> io::Result<()> {
    let t = fstype.0.as_str();
    if let Some(f) = opts.features {
        check_option_word("feature list", f)?;
    }
    match t {
        "ext2" | "ext3" | "ext4" => {
            tools::find("mke2fs")?;
            wipe_head(path)?;
            let mut args: Vec<String> = vec!["-F".into(), "-q".into(), "-t".into(), t.into()];
            if let Some(bs) = opts.blocksize {
                args.extend(["-b".into(), bs.to_string()]);
            }
            if let Some(label) = opts.label {
                check_label(label, 16, t)?;
                args.extend(["-L".into(), label.into()]);
            }
            if let Some(f) = opts.features {
                args.extend(["-O".into(), f.into()]);
            }
            if let Some(i) = opts.inode {
                args.extend(["-I".into(), i.to_string()]);
            }
            args.push(path.to_string_lossy().into_owned());
            tools::run("mke2fs", &args).map(drop)
        }
        "vfat" | "fat" | "msdos" => mkfs_vfat(path, opts),
        "xfs" => {
            tools::find("mkfs.xfs")?;
            wipe_head(path)?;
            let mut args: Vec<String> = vec!["-f".into(), "-q".into()];
            if let Some(bs) = opts.blocksize {
                args.extend(["-b".into(), format!("size={bs}")]);
            }
            if let Some(label) = opts.label {
                check_label(label, 12, "xfs")?;
                args.extend(["-L".into(), label.into()]);
            }
            if let Some(i) = opts.inode {
                args.extend(["-i".into(), format!("size={i}")]);
            }
            if let Some(s) = opts.sectorsize {
                args.extend(["-s".into(), format!("size={s}")]);
            }
            if let Some(f) = opts.features {
                args.extend(["-m".into(), f.into()]);
            }
            args.push(path.to_string_lossy().into_owned());
            tools::run("mkfs.xfs", &args).map(drop)
        }
        "btrfs" => {
            tools::find("mkfs.btrfs")?;
            wipe_head(path)?;
            let mut args: Vec<String> = vec!["-f".into(), "-q".into()];
            if let Some(bs) = opts.blocksize {
                args.extend(["-s".into(), bs.to_string()]);
            }
            if let Some(label) = opts.label {
                check_label(label, 255, "btrfs")?;
                args.extend(["-L".into(), label.into()]);
            }
            if let Some(f) = opts.features {
                args.extend(["-O".into(), f.into()]);
            }
            args.push(path.to_string_lossy().into_owned());
            tools::run("mkfs.btrfs", &args).map(drop)
        }
        "swap" => mkswap(path, opts.label, None),
        "ntfs" => {
            tools::find("mkntfs")?;
            wipe_head(path)?;
            // -Q: no zeroing of every cluster and no bad-block scan, pointless on a virtual
            // disk; -F: a partition or a whole disk alike; -q: mkntfs's progress off.
            let mut args: Vec<String> = vec!["-Q".into(), "-F".into(), "-q".into()];
            if let Some(bs) = opts.blocksize {
                args.extend(["-c".into(), bs.to_string()]);
            }
            if let Some(label) = opts.label {
                check_label(label, 128, "ntfs")?;
                args.extend(["-L".into(), label.into()]);
            }
            args.push(path.to_string_lossy().into_owned());
            tools::run("mkntfs", &args).map(drop)
        }
        other => Err(einval(format!(
            "mkfs: unknown filesystem type '{}': ext2, ext3, ext4, vfat, xfs, btrfs, ntfs or swap",
            escape_bytes(other.as_bytes())
        ))),
    }
}

fn random_u32() -> io::Result<u32> {
    let mut b = [0u8; 4];
    File::open("/dev/urandom")?.read_exact(&mut b)?;
    Ok(u32::from_le_bytes(b))
}

/// vfat as libguestfs makes it: with mkfs.fat when the appliance carries it (dosfstools
/// on the host), which lays the filesystem out exactly as guestfish's appliance does
/// (`virt-make-fs`, `mkfs vfat` and `df` then agree with libguestfs to the byte); with the
/// `fatfs` crate otherwise.
fn mkfs_vfat(path: &Path, opts: &MkfsOptions<'_>) -> io::Result<()> {
    if tools::has("mkfs.fat") {
        return mkfs_fat_tool(path, opts);
    }
    mkfs_vfat_crate(path, opts)
}

/// `mkfs.fat` with libguestfs's arguments: `-I` (a whole disk is fine), `--mbr=n` (no
/// made-up partition table on a whole disk), the cluster size as sectors per cluster (`-s`),
/// the sector size (`-S`), the label (`-n`); and `-g 1/1`: mkfs.fat rounds the filesystem
/// down to whole tracks of the geometry the kernel reports, and virtio-blk reports 16 heads
/// of 63 sectors where libguestfs's virtio-scsi disk reports a geometry taken from the
/// partition table (1 head of 3 sectors for virt-make-fs --floppy's partition, which it
/// fills): one-sector tracks keep every sector, as the reference does there.
fn mkfs_fat_tool(path: &Path, opts: &MkfsOptions<'_>) -> io::Result<()> {
    let mut args: Vec<String> = vec!["-I".into(), "--mbr=n".into(), "-g".into(), "1/1".into()];
    if let Some(bs) = opts.blocksize {
        let ss = u64::from(blockdev::sector_size(path)?);
        let spc = bs / ss;
        if !(1..=128).contains(&spc) {
            return Err(einval(format!(
                "unsupported cluster size for vfat filesystem (requested cluster size = {bs}, \
                 sector size = {ss}, trying sectors per cluster = {spc})"
            )));
        }
        args.extend(["-s".into(), spc.to_string()]);
    }
    if let Some(ss) = opts.sectorsize {
        if !ss.is_power_of_two() || !(512..=4096).contains(&ss) {
            return Err(einval(format!(
                "mkfs vfat: the sector size {ss} is not a power of two from 512 to 4096 bytes"
            )));
        }
        args.extend(["-S".into(), ss.to_string()]);
    }
    if let Some(label) = opts.label {
        // A word of its own after -n: mkfs.fat takes it as the label whatever it holds.
        check_label(label, 11, "vfat")?;
        args.extend(["-n".into(), label.into()]);
    }
    wipe_head(path)?;
    args.push(path.to_string_lossy().into_owned());
    tools::run("mkfs.fat", &args).map(drop)
}

/// vfat with the `fatfs` crate, for an appliance without mkfs.fat: FAT12/16/32 chosen by
/// size, a random volume ID.
fn mkfs_vfat_crate(path: &Path, opts: &MkfsOptions<'_>) -> io::Result<()> {
    let mut file = open_exclusive(path)?;
    let size = sys::block_size64(&file)?;
    zero_range(&mut file, size, 0, 128 * 1024)?;
    let mut o = fatfs::FormatVolumeOptions::new().volume_id(random_u32()?);
    if let Some(bs) = opts.blocksize {
        let ok = bs.is_power_of_two() && (512..=65536).contains(&bs);
        if !ok {
            return Err(einval(format!(
                "mkfs vfat: the cluster size {bs} is not a power of two from 512 to 65536 bytes"
            )));
        }
        o = o.bytes_per_cluster(bs as u32);
    }
    if let Some(ss) = opts.sectorsize {
        if !ss.is_power_of_two() || !(512..=4096).contains(&ss) {
            return Err(einval(format!(
                "mkfs vfat: the sector size {ss} is not a power of two from 512 to 4096 bytes"
            )));
        }
        o = o.bytes_per_sector(ss as u16);
    }
    if let Some(label) = opts.label {
        o = o.volume_label(fat_label(label)?);
    }
    file.seek(SeekFrom::Start(0))?;
    fatfs::format_volume(&mut file, o)
        .map_err(|e| io::Error::new(e.kind(), format!("mkfs vfat {}: {e}", path.display())))?;
    if let Some(label) = opts.label {
        write_fat_root_label(&mut file, &fat_label(label)?)?;
    }
    file.sync_all()
}

/// A FAT label: at most 11 bytes of printable ASCII, upper-cased and padded with spaces, as
/// mkfs.fat stores it.
fn fat_label(label: &str) -> io::Result<[u8; 11]> {
    check_label(label, 11, "vfat")?;
    if !label.bytes().all(|b| b.is_ascii_graphic() || b == b' ')
        || label.bytes().any(|b| b"\"*+,./:;<=>?[\\]|".contains(&b))
    {
        return Err(einval(format!(
            "the label '{}' has characters a FAT label cannot hold",
            escape_bytes(label.as_bytes())
        )));
    }
    let mut out = [b' '; 11];
    for (o, b) in out.iter_mut().zip(label.bytes()) {
        *o = b.to_ascii_uppercase();
    }
    Ok(out)
}

/// Puts the volume label entry in the root directory, as mkfs.fat does: blkid and Windows
/// read the label there, and fsck.fat checks that it matches the boot sector's.
fn write_fat_root_label(file: &mut File, label: &[u8; 11]) -> io::Result<()> {
    let mut bs = [0u8; 512];
    file.seek(SeekFrom::Start(0))?;
    file.read_exact(&mut bs)?;
    let le16 = |o: usize| u64::from(u16::from_le_bytes([bs[o], bs[o + 1]]));
    let le32 = |o: usize| u64::from(u32::from_le_bytes([bs[o], bs[o + 1], bs[o + 2], bs[o + 3]]));
    let bps = le16(11);
    let spc = u64::from(bs[13]);
    let reserved = le16(14);
    let fats = u64::from(bs[16]);
    let root_entries = le16(17);
    let fat16_size = le16(22);
    let fat_size = if fat16_size != 0 {
        fat16_size
    } else {
        le32(36)
    };
    let fat_start = reserved * bps;
    let root_dir = if root_entries != 0 {
        fat_start + fats * fat_size * bps
    } else {
        // FAT32: the root directory is a cluster chain starting at BPB_RootClus; the
        // freshly made one is a single empty cluster.
        let root_cluster = le32(44);
        let data = fat_start + fats * fat_size * bps;
        data + (root_cluster - 2) * spc * bps
    };
    let mut entry = [0u8; 32];
    entry[..11].copy_from_slice(label);
    entry[11] = 0x08; // ATTR_VOLUME_ID
    file.seek(SeekFrom::Start(root_dir))?;
    file.write_all(&entry)
}

/// `mkswap`: a Linux swap area, with an optional label and UUID.
pub fn mkswap(path: &Path, label: Option<&str>, uuid: Option<&str>) -> io::Result<()> {
    tools::find("mkswap")?;
    wipe_head(path)?;
    let mut args: Vec<String> = vec!["-f".into()];
    if let Some(label) = label {
        check_label(label, 16, "swap")?;
        args.extend(["-L".into(), label.into()]);
    }
    if let Some(uuid) = uuid {
        parse_uuid(uuid)?;
        args.extend(["-U".into(), uuid.into()]);
    }
    args.push(path.to_string_lossy().into_owned());
    tools::run("mkswap", &args).map(drop)
}

fn parse_uuid(s: &str) -> io::Result<uuid::Uuid> {
    uuid::Uuid::parse_str(s).map_err(|_| {
        einval(format!(
            "'{}' is not a UUID such as 01234567-89ab-cdef-0123-456789abcdef",
            escape_bytes(s.as_bytes())
        ))
    })
}

/// The swap header (first page): label at 1052 (16 bytes), UUID at 1036 (16 bytes).
const SWAP_UUID: u64 = 1036;
const SWAP_LABEL: u64 = 1052;

fn probed_kind(path: &Path) -> io::Result<Kind> {
    fsinfo::probe_path(path)?.map(|p| p.kind).ok_or_else(|| {
        einval(format!(
            "{}: no filesystem the appliance recognises",
            path.display()
        ))
    })
}

fn unsupported(what: &str, fs: &str, needs: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::Unsupported,
        format!("{what} on {fs} needs {needs}, which this appliance does not carry"),
    )
}

/// `set_label`: ext (tune2fs) and swap (written in place).
pub fn set_label(path: &Path, label: &str) -> io::Result<()> {
    match probed_kind(path)? {
        Kind::Filesystem(Fs::Ext2 | Fs::Ext3 | Fs::Ext4) => {
            check_label(label, 16, "ext")?;
            tools::run(
                "tune2fs",
                &["-L".as_ref(), label.as_ref(), path.as_os_str()],
            )
            .map(drop)
        }
        Kind::Swap => {
            check_label(label, 16, "swap")?;
            let mut field = [0u8; 16];
            field[..label.len()].copy_from_slice(label.as_bytes());
            write_swap_field(path, SWAP_LABEL, &field)
        }
        Kind::Filesystem(Fs::Xfs) => Err(unsupported("set_label", "xfs", "xfs_admin")),
        Kind::Filesystem(Fs::Btrfs) => Err(unsupported("set_label", "btrfs", "btrfs")),
        Kind::Filesystem(Fs::Vfat) => Err(unsupported("set_label", "vfat", "fatlabel")),
        other => Err(unsupported("set_label", other.fstype(), "a labelling tool")),
    }
}

/// `set_uuid`: ext (tune2fs, after the `e2fsck -f -p` it requires) and swap (written in
/// place).
pub fn set_uuid(path: &Path, uuid: &str) -> io::Result<()> {
    let parsed = parse_uuid(uuid)?;
    match probed_kind(path)? {
        Kind::Filesystem(Fs::Ext2 | Fs::Ext3 | Fs::Ext4) => {
            // tune2fs rewrites every checksum for a new UUID and insists on a freshly
            // checked filesystem first; the safe automatic repair mode is enough for that.
            e2fsck(path, true, false)?;
            tools::run("tune2fs", &["-U".as_ref(), uuid.as_ref(), path.as_os_str()]).map(drop)
        }
        Kind::Swap => write_swap_field(path, SWAP_UUID, parsed.as_bytes()),
        Kind::Filesystem(Fs::Xfs) => Err(unsupported("set_uuid", "xfs", "xfs_admin")),
        Kind::Filesystem(Fs::Btrfs) => Err(unsupported("set_uuid", "btrfs", "btrfstune")),
        other => Err(unsupported(
            "set_uuid",
            other.fstype(),
            "a tool to change it",
        )),
    }
}

fn write_swap_field(path: &Path, offset: u64, data: &[u8]) -> io::Result<()> {
    let mut file = open_exclusive(path)?;
    file.seek(SeekFrom::Start(offset))?;
    file.write_all(data)?;
    file.sync_all()
}

/// `e2fsck -f`: `correct` answers yes to safe fixes (`-p`), `forceall` to every question
/// (`-y`); neither: check only (`-n`). Exit statuses 0 and 1 (errors corrected) succeed.
pub fn e2fsck(path: &Path, correct: bool, forceall: bool) -> io::Result<()> {
    let mode = match (correct, forceall) {
        (true, true) => {
            return Err(einval(
                "e2fsck: give correct or forceall, not both".to_string(),
            ))
        }
        (true, false) => "-p",
        (false, true) => "-y",
        (false, false) => "-n",
    };
    let args = ["-f".as_ref(), mode.as_ref(), path.as_os_str()];
    let out = tools::run_status("e2fsck", &args, &[], None)?;
    match out.status.code() {
        Some(0 | 1) => Ok(()),
        _ => Err(tools::failed("e2fsck", &args, &out)),
    }
}

/// `fsck`: checks and repairs automatically like `fsck -a -t TYPE`, returning the checker's
/// exit status (0 clean, 1 errors corrected, 4 and up: errors left or the check failed).
pub fn fsck(fstype: &FsType, path: &Path) -> io::Result<i32> {
    let (tool, args): (&str, Vec<&std::ffi::OsStr>) = match fstype.0.as_str() {
        "ext2" | "ext3" | "ext4" => ("e2fsck", vec!["-p".as_ref(), path.as_os_str()]),
        "xfs" => ("xfs_repair", vec![path.as_os_str()]),
        other => {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                format!(
                    "fsck of {} is not available in this appliance (ext2/3/4 and xfs are)",
                    escape_bytes(other.as_bytes())
                ),
            ))
        }
    };
    let out = tools::run_status(tool, &args, &[], None)?;
    out.status
        .code()
        .ok_or_else(|| tools::failed(tool, &args, &out))
}

/// `resize2fs`: grows or shrinks an ext filesystem to `size` bytes (a multiple of 512), or
/// to fill its device. Like resize2fs itself, it wants a freshly checked filesystem: run
/// `e2fsck` with `forceall` first.
pub fn resize2fs(path: &Path, size: Option<u64>) -> io::Result<()> {
    let mut args: Vec<String> = vec![path.to_string_lossy().into_owned()];
    if let Some(size) = size {
        if size == 0 || !size.is_multiple_of(512) {
            return Err(einval(format!(
                "resize2fs: the size {size} is not a positive multiple of 512 bytes"
            )));
        }
        args.push(format!("{}s", size / 512));
    }
    tools::run("resize2fs", &args).map(drop)
}

/// `zero`: zeroes the first 128 KiB (enough to make the old content unrecognisable, not to
/// erase it), skipping what is already zero.
pub fn zero(path: &Path) -> io::Result<()> {
    let mut file = open_exclusive(path)?;
    let size = sys::block_size64(&file)?;
    zero_range(&mut file, size, 0, 128 * 1024)?;
    file.sync_all()
}

/// `zero_device`: zeroes the whole device with progress; blocks already zero are left alone
/// so sparse images stay sparse. Cancelling stops it with `ECANCELED`.
pub fn zero_device(call: &mut Call, path: &Path) -> io::Result<()> {
    let mut file = open_exclusive(path)?;
    let size = sys::block_size64(&file)?;
    let chunk = 1u64 << 20;
    let mut pos = 0;
    while pos < size {
        call.check_cancel()?;
        zero_range(&mut file, size, pos, chunk)?;
        pos += chunk;
        call.progress(pos.min(size), size);
    }
    file.sync_all()
}

/// `wipefs`: makes every signature the probes know unrecognisable: zeroes the first and
/// last MiB (superblocks, partition tables and their GPT backup, LVM and LUKS headers) and
/// btrfs's mirror superblocks at 64 MiB and 256 GiB. A whole disk's partitions go away.
pub fn wipefs(path: &Path, whole_disk: bool) -> io::Result<()> {
    let mut file = open_exclusive(path)?;
    let size = sys::block_size64(&file)?;
    zero_range(&mut file, size, 0, 1 << 20)?;
    zero_range(&mut file, size, size.saturating_sub(1 << 20), 1 << 20)?;
    for mirror in [64u64 << 20, 256 << 30] {
        zero_range(&mut file, size, mirror, 4096)?;
    }
    file.sync_all()?;
    drop(file);
    if whole_disk {
        blockdev::sync_partitions(path, &[])?;
    }
    Ok(())
}

/// `fstrim`: discards the unused blocks of the filesystem mounted at `mountpoint`.
pub fn fstrim(mountpoint: &GuestPath) -> io::Result<()> {
    let fd = guestfs::open(mountpoint, libc::O_RDONLY | libc::O_DIRECTORY, 0)?;
    sys::fitrim(&File::from(fd))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fat_labels_are_padded_upper_case() {
        assert_eq!(&fat_label("boot").unwrap(), b"BOOT       ");
        assert!(fat_label("twelve chars").is_err());
        assert!(fat_label("a/b").is_err());
    }
}
