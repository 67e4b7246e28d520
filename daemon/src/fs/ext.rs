//! guestfish's ext2/3/4 commands beyond `mkfs`: `mke2fs` with mke2fs's options by name,
//! external journals, `tune2fs`, `resize2fs -M`, `e2fsck -p -f`, the minimum size, file
//! attributes and generations (the `FS_IOC_*` ioctls chattr and lsattr use), and the tools
//! that clean a filesystem's free space (`zerofree`, `scrub`, a file of zeroes).

use crate::block::blockdev;
use crate::boot::tools;
use crate::fs::guestfs;
use guestwright_protocol::{escape_bytes, GuestPath};
use std::ffi::OsString;
use std::fs::File;
use std::io::{self, Write};
use std::os::fd::{AsFd, AsRawFd};
use std::path::Path;

fn einval(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, msg)
}

/// The options of `mke2fs`, by guestfish's names.
#[derive(Debug, Default)]
#[allow(missing_docs)]
pub struct Mke2fsOptions {
    pub blockscount: Option<i64>,
    pub blocksize: Option<i64>,
    pub fragsize: Option<i64>,
    pub blockspergroup: Option<i64>,
    pub numberofgroups: Option<i64>,
    pub bytesperinode: Option<i64>,
    pub inodesize: Option<i64>,
    pub journalsize: Option<i64>,
    pub numberofinodes: Option<i64>,
    pub stridesize: Option<i64>,
    pub stripewidth: Option<i64>,
    pub maxonlineresize: Option<i64>,
    pub reservedblockspercentage: Option<i32>,
    pub mmpupdateinterval: Option<i32>,
    pub journaldevice: Option<String>,
    pub label: Option<String>,
    pub lastmounteddir: Option<String>,
    pub creatoros: Option<String>,
    pub fstype: Option<String>,
    pub usagetype: Option<String>,
    pub uuid: Option<String>,
    pub forcecreate: Option<bool>,
    pub writesbandgrouponly: Option<bool>,
    pub lazyitableinit: Option<bool>,
    pub lazyjournalinit: Option<bool>,
    pub testfs: Option<bool>,
    pub discard: Option<bool>,
    pub quotatype: Option<bool>,
    pub extent: Option<bool>,
    pub filetype: Option<bool>,
    pub flexbg: Option<bool>,
    pub hasjournal: Option<bool>,
    pub journaldev: Option<bool>,
    pub largefile: Option<bool>,
    pub quota: Option<bool>,
    pub resizeinode: Option<bool>,
    pub sparsesuper: Option<bool>,
    pub uninitbg: Option<bool>,
}

fn positive(name: &str, v: i64) -> io::Result<String> {
    if v < 0 {
        return Err(einval(format!("mke2fs: {name} must be >= 0, not {v}")));
    }
    Ok(v.to_string())
}

fn word(name: &str, v: &str) -> io::Result<String> {
    if v.is_empty() || v.starts_with('-') {
        return Err(einval(format!(
            "mke2fs: '{}' is not a valid {name}",
            escape_bytes(v.as_bytes())
        )));
    }
    Ok(v.to_string())
}

/// The mke2fs command line for `opts` (without the program name), `journal` being the
/// journal device already translated to the appliance's name.
pub fn mke2fs_args(
    device: &Path,
    opts: &Mke2fsOptions,
    journal: Option<&str>,
) -> io::Result<Vec<OsString>> {
    let mut a: Vec<OsString> = Vec::new();
    let mut push = |flag: &str, value: String| {
        a.push(flag.into());
        a.push(value.into());
    };
    let o = opts;
    if let Some(v) = o.blocksize {
        push("-b", positive("blocksize", v)?);
    }
    if let Some(v) = o.fragsize {
        push("-f", positive("fragsize", v)?);
    }
    if let Some(v) = o.blockspergroup {
        push("-g", positive("blockspergroup", v)?);
    }
    if let Some(v) = o.numberofgroups {
        push("-G", positive("numberofgroups", v)?);
    }
    if let Some(v) = o.bytesperinode {
        push("-i", positive("bytesperinode", v)?);
    }
    if let Some(v) = o.inodesize {
        push("-I", positive("inodesize", v)?);
    }
    if let Some(v) = o.journalsize {
        push("-J", format!("size={}", positive("journalsize", v)?));
    }
    if let Some(j) = journal {
        push("-J", format!("device={j}"));
    }
    if let Some(v) = &o.label {
        if v.len() > 16 {
            return Err(einval(format!(
                "mke2fs: the label '{}' is longer than 16 bytes",
                escape_bytes(v.as_bytes())
            )));
        }
        push("-L", v.clone());
    }
    if let Some(v) = o.reservedblockspercentage {
        push("-m", positive("reservedblockspercentage", v.into())?);
    }
    if let Some(v) = &o.lastmounteddir {
        push("-M", word("last mounted directory", v)?);
    }
    if let Some(v) = o.numberofinodes {
        push("-N", positive("numberofinodes", v)?);
    }
    if let Some(v) = &o.creatoros {
        push("-o", word("creator OS", v)?);
    }
    if let Some(v) = &o.fstype {
        push("-t", word("filesystem type", v)?);
    }
    if let Some(v) = &o.usagetype {
        push("-T", word("usage type", v)?);
    }
    if let Some(v) = &o.uuid {
        push("-U", word("UUID", v)?);
    }
    let mut ext: Vec<String> = Vec::new();
    if let Some(v) = o.mmpupdateinterval {
        ext.push(format!(
            "mmp_update_interval={}",
            positive("mmpupdateinterval", v.into())?
        ));
    }
    if let Some(v) = o.stridesize {
        ext.push(format!("stride={}", positive("stridesize", v)?));
    }
    if let Some(v) = o.stripewidth {
        ext.push(format!("stripe_width={}", positive("stripewidth", v)?));
    }
    if let Some(v) = o.maxonlineresize {
        ext.push(format!("resize={}", positive("maxonlineresize", v)?));
    }
    if let Some(v) = o.lazyitableinit {
        ext.push(format!("lazy_itable_init={}", u8::from(v)));
    }
    if let Some(v) = o.lazyjournalinit {
        ext.push(format!("lazy_journal_init={}", u8::from(v)));
    }
    if o.testfs == Some(true) {
        ext.push("test_fs".into());
    }
    if let Some(v) = o.discard {
        ext.push(if v { "discard" } else { "nodiscard" }.into());
    }
    let mut features: Vec<String> = Vec::new();
    for (flag, name) in [
        (o.extent, "extent"),
        (o.filetype, "filetype"),
        (o.flexbg, "flex_bg"),
        (o.hasjournal, "has_journal"),
        (o.journaldev, "journal_dev"),
        (o.largefile, "large_file"),
        (o.quota, "quota"),
        (o.resizeinode, "resize_inode"),
        (o.sparsesuper, "sparse_super"),
        (o.uninitbg, "uninit_bg"),
    ] {
        if let Some(on) = flag {
            features.push(if on { name.into() } else { format!("^{name}") });
        }
    }
    if o.forcecreate == Some(true) {
        a.push("-F".into());
    }
    if o.writesbandgrouponly == Some(true) {
        a.push("-S".into());
    }
    // quotatype names the quota types in e2fsprogs; guestfish's boolean has no value to give
    // it, and libguestfs passes nothing for it either.
    let _ = o.quotatype;
    if !ext.is_empty() {
        a.push("-E".into());
        a.push(ext.join(",").into());
    }
    if !features.is_empty() {
        a.push("-O".into());
        a.push(features.join(",").into());
    }
    a.push(device.as_os_str().to_owned());
    if let Some(v) = o.blockscount {
        a.push(positive("blockscount", v)?.into());
    }
    Ok(a)
}

/// `mke2fs DEVICE` with guestfish's options.
pub fn mke2fs(device: &Path, opts: &Mke2fsOptions, journal: Option<&str>) -> io::Result<()> {
    let args = mke2fs_args(device, opts, journal)?;
    tools::run("mke2fs", &args).map(drop)
}

fn block_size_arg(blocksize: i32) -> io::Result<String> {
    if blocksize <= 0 || !(blocksize as u32).is_power_of_two() {
        return Err(einval(format!(
            "the block size {blocksize} is not a power of 2 (1024, 2048 or 4096)"
        )));
    }
    Ok(blocksize.to_string())
}

/// An ext2/3/4 filesystem whose journal is the external journal `journal` (`device=PATH`,
/// `LABEL=label` or `UUID=uuid`).
pub fn mke2fs_external(
    fstype: &str,
    blocksize: i32,
    device: &Path,
    journal: &str,
) -> io::Result<()> {
    let bs = block_size_arg(blocksize)?;
    let j = format!("device={journal}");
    let args: Vec<OsString> = vec![
        "-F".into(),
        "-t".into(),
        word("filesystem type", fstype)?.into(),
        "-J".into(),
        j.into(),
        "-b".into(),
        bs.into(),
        device.as_os_str().to_owned(),
    ];
    tools::run("mke2fs", &args).map(drop)
}

/// An external ext journal on `device`, with an optional `-L label` or `-U uuid`.
pub fn mke2journal(blocksize: i32, device: &Path, extra: Option<(&str, &str)>) -> io::Result<()> {
    let bs = block_size_arg(blocksize)?;
    let mut args: Vec<OsString> = vec![
        "-F".into(),
        "-O".into(),
        "journal_dev".into(),
        "-b".into(),
        bs.into(),
    ];
    if let Some((flag, value)) = extra {
        args.push(flag.into());
        args.push(value.into());
    }
    args.push(device.as_os_str().to_owned());
    tools::run("mke2fs", &args).map(drop)
}

/// The options of `tune2fs`, by guestfish's names.
#[derive(Debug, Default)]
#[allow(missing_docs)]
pub struct Tune2fsOptions {
    pub force: Option<bool>,
    pub maxmountcount: Option<i32>,
    pub mountcount: Option<i32>,
    pub errorbehavior: Option<String>,
    pub group: Option<i64>,
    pub intervalbetweenchecks: Option<i32>,
    pub reservedblockspercentage: Option<i32>,
    pub lastmounteddirectory: Option<String>,
    pub reservedblockscount: Option<i64>,
    pub user: Option<i64>,
}

/// `tune2fs` with guestfish's options.
pub fn tune2fs(device: &Path, o: &Tune2fsOptions) -> io::Result<()> {
    let mut a: Vec<OsString> = Vec::new();
    let neg = |name: &str, v: i64| -> io::Result<String> {
        if v < 0 {
            // libguestfs's words, with the call's name its library puts first.
            return Err(einval(format!("tune2fs: {name} cannot be negative")));
        }
        Ok(v.to_string())
    };
    if o.force == Some(true) {
        a.push("-f".into());
    }
    let mut push = |flag: &str, value: String| {
        a.push(flag.into());
        a.push(value.into());
    };
    if let Some(v) = o.maxmountcount {
        push("-c", neg("maxmountcount", v.into())?);
    }
    if let Some(v) = o.mountcount {
        push("-C", neg("mountcount", v.into())?);
    }
    if let Some(v) = &o.errorbehavior {
        if !matches!(v.as_str(), "continue" | "remount-ro" | "panic") {
            return Err(einval(format!(
                "tune2fs: errorbehavior must be continue, remount-ro or panic, not '{}'",
                escape_bytes(v.as_bytes())
            )));
        }
        push("-e", v.clone());
    }
    if let Some(v) = o.group {
        push("-g", neg("group", v)?);
    }
    if let Some(v) = o.intervalbetweenchecks {
        let v = neg("intervalbetweenchecks", v.into())?;
        push("-i", if v == "0" { v } else { format!("{v}s") });
    }
    if let Some(v) = o.reservedblockspercentage {
        push("-m", neg("reservedblockspercentage", v.into())?);
    }
    if let Some(v) = &o.lastmounteddirectory {
        push("-M", v.clone());
    }
    if let Some(v) = o.reservedblockscount {
        push("-r", neg("reservedblockscount", v)?);
    }
    if let Some(v) = o.user {
        push("-u", neg("user", v)?);
    }
    a.push(device.as_os_str().to_owned());
    tools::run("tune2fs", &a).map(drop)
}

/// `resize2fs -M`: shrinks the filesystem to its minimum size.
pub fn resize2fs_m(device: &Path) -> io::Result<()> {
    tools::run("resize2fs", &["-M".as_ref(), device.as_os_str()]).map(drop)
}

/// `e2fsck -p -f`: exit statuses 0 and 1 (errors corrected) succeed.
pub fn e2fsck_f(device: &Path) -> io::Result<()> {
    let args = ["-p".as_ref(), "-f".as_ref(), device.as_os_str()];
    let out = tools::run_status("e2fsck", &args, &[], None)?;
    match out.status.code() {
        Some(0 | 1) => Ok(()),
        _ => Err(tools::failed("e2fsck", &args, &out)),
    }
}

/// The smallest size in bytes an ext filesystem shrinks to: resize2fs's estimate in blocks
/// times the block size.
pub fn minimum_size(device: &Path) -> io::Result<i64> {
    let out = tools::run(
        "resize2fs",
        &["-P".as_ref(), "-f".as_ref(), device.as_os_str()],
    )?;
    let text = String::from_utf8_lossy(&out.stdout);
    const PATTERN: &str = "Estimated minimum size of the filesystem: ";
    let blocks: i64 = text
        .lines()
        .find_map(|l| l.strip_prefix(PATTERN))
        .and_then(|n| n.trim().parse().ok())
        .ok_or_else(|| io::Error::other(format!("cannot parse minimum size from: {text}")))?;
    let block_size: i64 = crate::block::fsinfo::tune2fs_l(device)?
        .into_iter()
        .find(|kv| kv.key == "Block size")
        .and_then(|kv| kv.value.trim().parse().ok())
        .ok_or_else(|| io::Error::other("tune2fs -l printed no block size"))?;
    Ok(blocks * block_size)
}

/// The attribute letters guestfish knows, with their `FS_*_FL` bits.
const ATTRS: &[(char, u32)] = &[
    ('A', 0x0000_0080),
    ('a', 0x0000_0020),
    ('c', 0x0000_0004),
    ('D', 0x0001_0000),
    ('d', 0x0000_0040),
    ('E', 0x0000_0800),
    ('e', 0x0008_0000),
    ('h', 0x0004_0000),
    ('I', 0x0000_1000),
    ('i', 0x0000_0010),
    ('j', 0x0000_4000),
    ('s', 0x0000_0001),
    ('S', 0x0000_0008),
    ('T', 0x0002_0000),
    ('t', 0x0000_8000),
    ('u', 0x0000_0002),
    ('X', 0x0000_0400),
    ('Z', 0x0000_0100),
];

const FS_IOC_GETFLAGS: libc::c_ulong = 0x8008_6601;
const FS_IOC_SETFLAGS: libc::c_ulong = 0x4008_6602;
const FS_IOC_GETVERSION: libc::c_ulong = 0x8008_7601;
const FS_IOC_SETVERSION: libc::c_ulong = 0x4008_7602;

fn open_attr_target(path: &GuestPath) -> io::Result<File> {
    // O_NONBLOCK: a FIFO or device opens without waiting; the ioctls act on the inode.
    let fd = guestfs::open(path, libc::O_RDONLY | libc::O_NONBLOCK | libc::O_NOCTTY, 0)?;
    Ok(File::from(fd))
}

fn ioctl_get(file: &File, request: libc::c_ulong) -> io::Result<libc::c_long> {
    let mut v: libc::c_long = 0;
    // SAFETY: the FS_IOC_GET* requests write one long through the pointer, which is valid.
    let r = unsafe { libc::ioctl(file.as_raw_fd(), request, &mut v as *mut libc::c_long) };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(v)
}

fn ioctl_set(file: &File, request: libc::c_ulong, v: libc::c_long) -> io::Result<()> {
    // SAFETY: the FS_IOC_SET* requests read one long through the pointer, which is valid.
    let r = unsafe { libc::ioctl(file.as_raw_fd(), request, &v as *const libc::c_long) };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// The attribute letters of a flags word, sorted as guestfish prints them (byte order:
/// upper case first).
pub fn attrs_to_string(flags: u32) -> String {
    let mut letters: Vec<char> = ATTRS
        .iter()
        .filter(|(_, bit)| flags & bit != 0)
        .map(|(c, _)| *c)
        .collect();
    letters.sort_unstable();
    letters.into_iter().collect()
}

/// The flags a string of attribute letters names.
pub fn string_to_attrs(s: &str) -> io::Result<u32> {
    let mut flags = 0;
    for c in s.chars() {
        let (_, bit) = ATTRS.iter().find(|(l, _)| *l == c).ok_or_else(|| {
            einval(format!(
                "unknown file attribute '{c}' (known: {})",
                ATTRS.iter().map(|(l, _)| *l).collect::<String>()
            ))
        })?;
        flags |= bit;
    }
    Ok(flags)
}

/// `get_e2attrs`.
pub fn get_attrs(path: &GuestPath) -> io::Result<String> {
    let f = open_attr_target(path)?;
    Ok(attrs_to_string(ioctl_get(&f, FS_IOC_GETFLAGS)? as u32))
}

/// `set_e2attrs`: sets, or with `clear` clears, the named attributes.
pub fn set_attrs(path: &GuestPath, attrs: &str, clear: bool) -> io::Result<()> {
    let bits = string_to_attrs(attrs)?;
    let f = open_attr_target(path)?;
    let old = ioctl_get(&f, FS_IOC_GETFLAGS)? as u32;
    let new = if clear { old & !bits } else { old | bits };
    ioctl_set(&f, FS_IOC_SETFLAGS, new as libc::c_long)
}

/// `get_e2generation`.
pub fn get_generation(path: &GuestPath) -> io::Result<i64> {
    let f = open_attr_target(path)?;
    Ok(i64::from(ioctl_get(&f, FS_IOC_GETVERSION)? as u32))
}

/// `set_e2generation`.
pub fn set_generation(path: &GuestPath, generation: i64) -> io::Result<()> {
    let g = u32::try_from(generation).map_err(|_| {
        einval(format!(
            "the generation {generation} is not 0 to 4294967295"
        ))
    })?;
    let f = open_attr_target(path)?;
    ioctl_set(&f, FS_IOC_SETVERSION, g as libc::c_long)
}

/// The appliance path of a guest directory (the tools that take a directory are given it;
/// it stays beneath the guest root because it was opened there).
fn real_dir(path: &GuestPath) -> io::Result<std::path::PathBuf> {
    let fd = guestfs::open(path, libc::O_PATH | libc::O_DIRECTORY, 0)?;
    guestfs::real_path(&fd)
}

/// `mklost_and_found`: `mklost+found` run in the mounted filesystem's directory.
pub fn mklost_and_found(mountpoint: &GuestPath) -> io::Result<()> {
    let dir = real_dir(mountpoint)?;
    let out = tools::run_status_in("mklost+found", &[] as &[&str], &[], None, Some(&dir))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(tools::failed("mklost+found", &[] as &[&str], &out))
    }
}

/// `zerofree DEVICE`: the unused blocks of an unmounted ext filesystem become zeroes.
pub fn zerofree(device: &Path) -> io::Result<()> {
    tools::run("zerofree", &[device.as_os_str()]).map(drop)
}

/// `scrub DEVICE` with scrub's default patterns.
pub fn scrub_device(device: &Path) -> io::Result<()> {
    blockdev::open_write(device)?;
    tools::run("scrub", &[device.as_os_str()]).map(drop)
}

/// `scrub -X DIR`: creates the directory and fills the free space with scrubbed files.
pub fn scrub_freespace(dir: &GuestPath) -> io::Result<()> {
    let (parent, name) = guestfs::parent(dir)?;
    let parent = guestfs::real_path(&parent)?;
    use std::os::unix::ffi::OsStrExt;
    let target = parent.join(std::ffi::OsStr::from_bytes(name.as_bytes()));
    tools::run("scrub", &["-X".as_ref(), target.as_os_str()]).map(drop)
}

/// `zero_free_space`: a file of zeroes fills the filesystem of `directory`, is flushed and
/// removed, so the free blocks hold zeroes.
pub fn zero_free_space(directory: &GuestPath) -> io::Result<()> {
    let dir = guestfs::open(directory, libc::O_RDONLY | libc::O_DIRECTORY, 0)?;
    let mut name = None;
    let mut file = None;
    for attempt in 0..100u32 {
        let n = std::ffi::CString::new(format!(
            ".guestwright-zero-{}-{attempt}",
            std::process::id()
        ))
        .expect("no NUL");
        // SAFETY: openat on a directory descriptor we hold with a NUL-terminated name.
        let fd = unsafe {
            libc::openat(
                dir.as_fd().as_raw_fd(),
                n.as_ptr(),
                libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL | libc::O_NOFOLLOW | libc::O_CLOEXEC,
                0o600,
            )
        };
        if fd >= 0 {
            // SAFETY: the descriptor was just opened and is owned by nothing else.
            file = Some(unsafe { <File as std::os::fd::FromRawFd>::from_raw_fd(fd) });
            name = Some(n);
            break;
        }
        let e = io::Error::last_os_error();
        if e.raw_os_error() != Some(libc::EEXIST) {
            return Err(e);
        }
    }
    let (Some(mut file), Some(name)) = (file, name) else {
        return Err(io::Error::from_raw_os_error(libc::EEXIST));
    };
    let zeros = vec![0u8; 1 << 20];
    // ENOSPC comes early under delayed allocation (the reservations are pessimistic): flush,
    // then go on in smaller writes, until a flushed filesystem takes no more.
    let result = (|| -> io::Result<()> {
        let mut chunk = zeros.len();
        loop {
            match file.write(&zeros[..chunk]) {
                Ok(0) => return Ok(()),
                Ok(_) => {}
                Err(e) if e.raw_os_error() == Some(libc::ENOSPC) => {
                    let _ = file.sync_all();
                    if chunk == 4096 {
                        match file.write(&zeros[..chunk]) {
                            Ok(n) if n > 0 => continue,
                            Err(e) if e.raw_os_error() != Some(libc::ENOSPC) => return Err(e),
                            _ => return Ok(()),
                        }
                    }
                    chunk = (chunk / 16).max(4096);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    })();
    let synced = file.sync_all();
    drop(file);
    crate::sys::unlinkat(dir.as_fd(), &name, 0)?;
    result?;
    match synced {
        Err(e) if e.raw_os_error() != Some(libc::ENOSPC) => Err(e),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attribute_letters_round_trip_in_guestfish_order() {
        assert_eq!(attrs_to_string(0x0008_0000), "e");
        assert_eq!(attrs_to_string(0x0008_0000 | 0x10 | 0x80), "Aei");
        assert_eq!(attrs_to_string(0x0008_0000 | 0x80 | 0x40 | 0x08), "ASde");
        assert_eq!(string_to_attrs("iA").unwrap(), 0x90);
        assert!(string_to_attrs("q").is_err());
    }

    #[test]
    fn mke2fs_options_become_flags() {
        let o = Mke2fsOptions {
            blocksize: Some(1024),
            label: Some("L".into()),
            fstype: Some("ext4".into()),
            extent: Some(false),
            hasjournal: Some(true),
            lazyitableinit: Some(true),
            blockscount: Some(100),
            ..Mke2fsOptions::default()
        };
        let a = mke2fs_args(Path::new("/dev/vda1"), &o, None).unwrap();
        let a: Vec<String> = a.iter().map(|s| s.to_string_lossy().into_owned()).collect();
        assert_eq!(
            a,
            [
                "-b",
                "1024",
                "-L",
                "L",
                "-t",
                "ext4",
                "-E",
                "lazy_itable_init=1",
                "-O",
                "^extent,has_journal",
                "/dev/vda1",
                "100"
            ]
        );
    }
}
