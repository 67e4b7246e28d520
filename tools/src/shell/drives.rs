//! Creating disk images from the shell, as guestfish does: `alloc`, `sparse`, `scratch`,
//! `disk-create`, and the prepared disks of `-N [FILE=]TYPE[:PARAM...]` (made before the
//! appliance starts, partitioned and formatted right after it has).

use super::{fisherr, Shell, ShellError};
use guestwright::drive::format::{detect, Detected};
use guestwright::drive::overlay;
use guestwright::prelude::*;
use guestwright::protocol::shell::ShellArg;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::Path;

/// Parses a size as guestfish does (`xstrtoull` with the suffixes `kKMGTPEZY`, each a power
/// of 1024, optionally followed by `iB`; `B` after one makes it a power of 1000; a leading
/// `0x` is hexadecimal and a leading `0` octal). The message is guestfish's.
pub fn parse_size(word: &str) -> Result<u64, ShellError> {
    let invalid = |code: u32| {
        ShellError::Fish(format!(
            "parse_size: invalid integer parameter (xstrtoull returned {code})"
        ))
    };
    let (radix, digits_from) = if word.starts_with("0x") || word.starts_with("0X") {
        (16, 2)
    } else if word.len() > 1 && word.starts_with('0') {
        (8, 1)
    } else {
        (10, 0)
    };
    let rest = &word[digits_from..];
    let end = rest
        .find(|c: char| !c.is_digit(radix))
        .unwrap_or(rest.len());
    if end == 0 && radix == 10 {
        // LONGINT_INVALID
        return Err(invalid(4));
    }
    let n = u64::from_str_radix(&rest[..end], radix)
        .or_else(|e| if end == 0 { Ok(0) } else { Err(e) })
        .map_err(|_| invalid(1))?;
    let suffix = &rest[end..];
    if suffix.is_empty() {
        return Ok(n);
    }
    let mut chars = suffix.chars();
    let unit = chars.next().unwrap_or_default();
    let power = match unit {
        'k' | 'K' => 1,
        'M' => 2,
        'G' => 3,
        'T' => 4,
        'P' => 5,
        'E' => 6,
        'Z' | 'Y' => return Err(invalid(1)),
        // LONGINT_INVALID_SUFFIX_CHAR
        _ => return Err(invalid(2)),
    };
    let base: u64 = match chars.as_str() {
        "" | "iB" => 1024,
        "B" => 1000,
        _ => return Err(invalid(2)),
    };
    base.checked_pow(power)
        .and_then(|m| n.checked_mul(m))
        .ok_or_else(|| invalid(1))
}

/// How a new raw image is allocated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Allocation {
    /// Holes: blocks are taken when written.
    Sparse,
    /// Every block written (zeroes), so later writes cannot run out of space.
    Full,
}

/// Creates (or truncates) a raw image of `size` bytes.
pub fn create_raw(path: &Path, size: u64, how: Allocation) -> Result<(), ShellError> {
    let io = |source| ShellError::HostIo {
        path: path.to_path_buf(),
        source,
    };
    let mut file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(path)
        .map_err(io)?;
    if how == Allocation::Full {
        // Written, not fallocated: the blocks are really there on every filesystem.
        let chunk = vec![0u8; 1 << 20];
        let mut left = size;
        while left > 0 {
            let n = left.min(chunk.len() as u64) as usize;
            file.write_all(&chunk[..n]).map_err(io)?;
            left -= n as u64;
        }
    }
    file.set_len(size).map_err(io)?;
    file.sync_all().map_err(io)
}

/// `alloc FILE SIZE` and `sparse FILE SIZE`: creates the image and adds it (raw).
pub fn alloc(shell: &mut Shell, name: &str, args: &[String]) -> Result<(), ShellError> {
    let how = if name == "sparse" {
        Allocation::Sparse
    } else {
        Allocation::Full
    };
    let [file, size] = args else {
        return Err(ShellError::Fish(if how == Allocation::Sparse {
            "use 'sparse file size' to create a sparse image".into()
        } else {
            "use 'alloc file size' to create an image".into()
        }));
    };
    let size = parse_size(size)?;
    shell.refuse_if_launched(name)?;
    create_raw(Path::new(file), size, how)?;
    let added = shell.h.add_drive(
        file,
        DriveOptions {
            format: Some(Format::Raw),
            readonly: false,
            blocksize: None,
        },
    );
    if let Err(e) = added {
        let _ = std::fs::remove_file(file);
        return Err(e.into());
    }
    Ok(())
}

/// `scratch SIZE`: a blank drive that disappears with the shell.
pub fn scratch(shell: &mut Shell, typed: &str, args: &[String]) -> Result<(), ShellError> {
    let [size, opts @ ..] = args else {
        return Err(ShellError::Fish(fisherr::wrong_count_of(
            typed,
            "add-drive-scratch size [name:..] [label:..] [blocksize:N]",
        )));
    };
    if let Some(o) = opts.iter().find(|o| !o.starts_with("name:")) {
        return Err(ShellError::Usage(format!(
            "add-drive-scratch: the optional argument '{o}' is not supported (only name:)"
        )));
    }
    let size = parse_size(size)?;
    shell.refuse_if_launched("add-drive-scratch")?;
    let file = crate::session::scratch_file(size)
        .map_err(|(path, source)| ShellError::HostIo { path, source })?;
    shell.h.add_drive(
        &file,
        DriveOptions {
            format: Some(Format::Raw),
            readonly: false,
            blocksize: None,
        },
    )?;
    shell.scratch.push(file);
    Ok(())
}

/// `disk-create FILE FORMAT SIZE [backingfile:F] [backingformat:raw|qcow2]
/// [preallocation:off|sparse|full]`: raw and qcow2 images, written by guestwright itself.
pub fn disk_create(args: &[String]) -> Result<(), ShellError> {
    let usage = || {
        ShellError::Fish(fisherr::wrong_count_of(
            "disk-create",
            "disk-create filename format size [backingfile:..] [backingformat:..] \
             [preallocation:..] [compat:..] [clustersize:N]",
        ))
    };
    let [file, format, size, opts @ ..] = args else {
        return Err(usage());
    };
    if opts.len() > 5 {
        return Err(usage());
    }
    let mut backing = None;
    let mut backing_format = None;
    let mut prealloc = Allocation::Sparse;
    // qcow2 options guestwright's own writer does not do: qemu-img creates the image.
    let mut qemu_opts: Vec<String> = Vec::new();
    for o in opts {
        let (k, v) = o.split_once(':').unwrap_or((o, ""));
        match k {
            "backingfile" => backing = Some(v.to_string()),
            "backingformat" => backing_format = Some(v.to_string()),
            "preallocation" => {
                prealloc = match (v, format.as_str()) {
                    ("off" | "sparse", _) => Allocation::Sparse,
                    ("full", _) => Allocation::Full,
                    ("metadata", "qcow2") => Allocation::Sparse,
                    _ => {
                        return Err(ShellError::Libguestfs(format!(
                            "invalid value for preallocation parameter \u{2018}{v}\u{2019}"
                        )))
                    }
                };
                if matches!(v, "metadata" | "full") {
                    qemu_opts.push(format!("preallocation={v}"));
                }
            }
            "compat" if format == "qcow2" => {
                if !matches!(v, "0.10" | "1.1") {
                    return Err(ShellError::Libguestfs(format!(
                        "invalid value for compat parameter \u{2018}{v}\u{2019}"
                    )));
                }
                qemu_opts.push(format!("compat={v}"));
            }
            "clustersize" if format == "qcow2" => {
                qemu_opts.push(format!("cluster_size={}", parse_size(v)?));
            }
            _ => {
                return Err(ShellError::Usage(format!(
                    "disk-create: the optional argument '{o}' is not supported here \
                     (backingfile, backingformat and preallocation are)"
                )))
            }
        }
    }
    // guestfish reads an int64 with xstrtoll and its size suffixes (100M).
    let size: i64 = match size.strip_prefix('-') {
        Some(n) => -(parse_size(n)? as i64),
        None => parse_size(size)? as i64,
    };
    let path = Path::new(file);
    let io = |source| ShellError::HostIo {
        path: path.to_path_buf(),
        source,
    };
    match (format.as_str(), backing) {
        ("raw", None) => {
            let size = u64::try_from(size).map_err(|_| {
                ShellError::Libguestfs("disk_create: invalid size parameter".into())
            })?;
            create_raw(path, size, prealloc)
        }
        ("raw", Some(_)) => Err(ShellError::Libguestfs(
            "disk_create: backingfile cannot be used for raw format disks".into(),
        )),
        ("qcow2", backing) => {
            // overlay.rs writes new files only.
            match std::fs::remove_file(path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(io(e)),
                _ => {}
            }
            match backing {
                None if !qemu_opts.is_empty() => {
                    let size = u64::try_from(size).map_err(|_| {
                        ShellError::Libguestfs("disk_create: invalid size parameter".into())
                    })?;
                    qemu_img_create(path, size, &qemu_opts)
                }
                None => {
                    let size = u64::try_from(size).map_err(|_| {
                        ShellError::Libguestfs("disk_create: invalid size parameter".into())
                    })?;
                    overlay::create(path, size).map_err(io)
                }
                Some(b) => {
                    let bpath = path.parent().unwrap_or(Path::new(".")).join(&b);
                    let bformat = match backing_format.as_deref() {
                        Some(f) => f.to_string(),
                        None => match File::open(&bpath).and_then(|mut f| detect(&mut f)) {
                            Ok(Detected::Format(Format::Qcow2)) => "qcow2".into(),
                            _ => "raw".into(),
                        },
                    };
                    // The backing file's own size; an error names that file (qemu-img
                    // resolves it beside the new image), not the image to be created.
                    let bsize = if size < 0 {
                        std::fs::metadata(&bpath)
                            .map_err(|source| ShellError::HostIo {
                                path: bpath.clone(),
                                source,
                            })?
                            .len()
                    } else {
                        size as u64
                    };
                    overlay::create_backed(path, bsize, b.as_bytes(), &bformat).map_err(io)
                }
            }
        }
        (other, _) => Err(ShellError::Usage(format!(
            "disk-create: format '{other}' is not supported: guestwright creates raw and \
             qcow2 images (use qemu-img create for others)"
        ))),
    }
}

/// A qcow2 image with options guestwright's own writer does not make (preallocation,
/// compat, cluster size): `qemu-img create`, as libguestfs does.
fn qemu_img_create(path: &Path, size: u64, opts: &[String]) -> Result<(), ShellError> {
    // A name with ':' would be read as a protocol: give qemu-img a path.
    let file = if path.is_absolute() {
        path.to_path_buf()
    } else {
        Path::new(".").join(path)
    };
    let out = std::process::Command::new("qemu-img")
        .args(["create", "-q", "-f", "qcow2", "-o", &opts.join(",")])
        .arg(&file)
        .arg(size.to_string())
        .output()
        .map_err(|e| {
            ShellError::Libguestfs(format!(
                "disk_create: qemu-img: {e} (install it: apt-get install qemu-utils)"
            ))
        })?;
    if out.status.success() {
        return Ok(());
    }
    Err(ShellError::Libguestfs(format!(
        "disk_create: qemu-img: {}",
        String::from_utf8_lossy(&out.stderr).trim_end()
    )))
}

/// One `-N [FILE=]TYPE[:PARAM...]`.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// As written after `-N`'s `FILE=`, for messages.
    spec: String,
    file: String,
    kind: &'static PrepKind,
    params: Vec<String>,
}

/// A kind of prepared disk: its name, what it makes, its parameters and their defaults.
#[derive(Debug)]
pub struct PrepKind {
    name: &'static str,
    summary: &'static str,
    text: &'static str,
    params: &'static [(&'static str, &'static str, &'static str)],
}

const SIZE: (&str, &str, &str) = ("size", "the size of the disk image", "1G");
const PART: (&str, &str, &str) = ("partition", "partition table type", "mbr");
const FS: (&str, &str, &str) = ("filesystem", "the type of filesystem to use", "ext2");
const NAME: (&str, &str, &str) = ("name", "the name of the VG and LV to use", "/dev/VG/LV");

/// guestfish's prepared disks, in its order (a prefix of a name selects the first match).
static KINDS: &[PrepKind] = &[
    PrepKind {
        name: "disk",
        summary: "create a blank disk",
        text: "Create a blank disk, size 1G (by default).\n\n\
               The default size can be changed by supplying an optional parameter.",
        params: &[SIZE],
    },
    PrepKind {
        name: "part",
        summary: "create a partitioned disk",
        text: "Create a disk with a single partition. By default the size of the disk\n\
               is 1G (the available space in the partition will be a tiny bit smaller)\n\
               and the partition table will be MBR (old DOS-style).\n\n\
               These defaults can be changed by supplying optional parameters.",
        params: &[SIZE, PART],
    },
    PrepKind {
        name: "fs",
        summary: "create a filesystem",
        text: "Create a disk with a single partition, with the partition containing an\n\
               empty filesystem. This defaults to creating a 1G disk (the available\n\
               space in the filesystem will be a tiny bit smaller) with an MBR (old\n\
               DOS-style) partition table and an ext2 filesystem.\n\n\
               These defaults can be changed by supplying optional parameters.",
        params: &[FS, SIZE, PART],
    },
    PrepKind {
        name: "lv",
        summary: "create a disk with logical volume",
        text: "Create a disk with a single partition, set up the partition as an LVM2\n\
               physical volume, and place a volume group and logical volume on there.\n\
               This defaults to creating a 1G disk with the VG and LV called\n\
               \"/dev/VG/LV\". You can change the name of the VG and LV by supplying an\n\
               alternate name as the first optional parameter.\n\n\
               Note this does not create a filesystem. Use 'lvfs' to do that.",
        params: &[NAME, SIZE, PART],
    },
    PrepKind {
        name: "lvfs",
        summary: "create a disk with logical volume and filesystem",
        text: "Create a disk with a single partition, set up the partition as an LVM2\n\
               physical volume, and place a volume group and logical volume on there.\n\
               Then format the LV with a filesystem. This defaults to creating a 1G\n\
               disk with the VG and LV called \"/dev/VG/LV\", with an ext2 filesystem.",
        params: &[NAME, FS, SIZE, PART],
    },
    PrepKind {
        name: "bootroot",
        summary: "create a boot and root filesystem",
        text: "Create a disk with two partitions, for boot and root filesystem. Format\n\
               the two filesystems independently. There are several optional parameters\n\
               which control the exact layout and filesystem types.",
        params: &[
            ("bootfs", "the type of filesystem to use for boot", "ext2"),
            ("rootfs", "the type of filesystem to use for root", "ext2"),
            SIZE,
            ("bootsize", "the size of the boot filesystem", "128M"),
            PART,
        ],
    },
    PrepKind {
        name: "bootrootlv",
        summary: "create a boot and root filesystem using LVM",
        text: "This is the same as \"bootroot\" but the root filesystem (only) is placed\n\
               on a logical volume, named by default \"/dev/VG/LV\". There are several\n\
               optional parameters which control the exact layout.",
        params: &[
            ("name", "the name of the VG and LV for root", "/dev/VG/LV"),
            ("bootfs", "the type of filesystem to use for boot", "ext2"),
            ("rootfs", "the type of filesystem to use for root", "ext2"),
            SIZE,
            ("bootsize", "the size of the boot filesystem", "128M"),
            PART,
        ],
    },
];

/// What `-N help` prints.
pub fn prepared_help() -> String {
    let mut s = String::from("List of available prepared disk images:\n\n");
    for k in KINDS {
        s.push_str(&format!("guestfish -N {:<8} - {}\n\n", k.name, k.summary));
        for line in k.text.lines() {
            if line.is_empty() {
                s.push('\n');
            } else {
                s.push_str(&format!("  {line}\n"));
            }
        }
        s.push('\n');
        s.push_str("  Optional parameters:\n");
        s.push_str(&format!("    -N {}", k.name));
        for p in k.params {
            s.push_str(&format!(":<{}>", p.0));
        }
        s.push('\n');
        for p in k.params {
            s.push_str(&format!("      <{}> {} (default: {})\n", p.0, p.1, p.2));
        }
        s.push('\n');
    }
    s.push_str(
        "Prepared disk images are written to file \"test1.img\" in the local\n\
         directory.  (\"test2.img\" etc if -N option is given multiple times).\n\
         You can override the name by providing a filename before the type, eg:\n\n  \
         guestfish -N blank.img=fs\n\n\
         For more information see the guestfish(1) manual.\n",
    );
    s
}

impl Prepared {
    /// Parses one `-N` value; `n` numbers the default file name (`test1.img`, ...).
    pub fn parse(value: &str, n: usize) -> Result<Prepared, ShellError> {
        let (file, spec) = match value.split_once('=') {
            Some((f, s)) => (f.to_string(), s),
            None => (format!("test{n}.img"), value),
        };
        let mut parts = spec.split(':');
        let name = parts.next().unwrap_or_default();
        let kind = KINDS
            .iter()
            .find(|k| k.name.len() >= name.len() && k.name[..name.len()].eq_ignore_ascii_case(name))
            .ok_or_else(|| {
                ShellError::Fish(format!(
                    "guestfish: -N parameter \u{2018}{spec}\u{2019}: no such prepared disk \
                     image known.\nUse 'guestfish -N help' to list possible values for the \
                     -N parameter."
                ))
            })?;
        let mut params: Vec<String> = kind.params.iter().map(|p| p.2.to_string()).collect();
        for (i, p) in parts.enumerate().take(params.len()) {
            params[i] = p.to_string();
        }
        let prepared = Prepared {
            spec: spec.to_string(),
            file,
            kind,
            params,
        };
        prepared.prelaunch()?;
        Ok(prepared)
    }

    fn param(&self, name: &str) -> &str {
        let i = self.kind.params.iter().position(|p| p.0 == name);
        i.map(|i| self.params[i].as_str()).unwrap_or_default()
    }

    fn error(&self, what: String) -> ShellError {
        ShellError::Fish(self.summary(&what))
    }

    fn summary(&self, what: &str) -> String {
        format!(
            "guestfish: error creating prepared disk image \u{2018}{}\u{2019} on \
             \u{2018}{}\u{2019}: {what}",
            self.spec, self.file
        )
    }

    /// A call of the preparation failed: libguestfs's error handler prints the call's own
    /// error as it happens, then guestfish says which step of which image failed.
    fn call_error(&self, what: &str, e: &guestwright::Error) -> ShellError {
        let m = last_error(e);
        ShellError::Fish(format!(
            "libguestfs: error: {m}\n{}",
            self.summary(&format!("{what}: {m}"))
        ))
    }

    /// The image file, created before the appliance starts.
    fn prelaunch(&self) -> Result<(), ShellError> {
        if self.kind.params.iter().any(|p| p.0 == "name") {
            vg_lv(self.param("name")).ok_or_else(|| {
                self.error("incorrect format for LV name, use '/dev/VG/LV'".into())
            })?;
        }
        let size = parse_size(self.param("size"))
            .map_err(|_| self.error("failed to allocate disk".into()))?;
        create_raw(Path::new(&self.file), size, Allocation::Sparse)
            .map_err(|_| self.error("failed to allocate disk".into()))
    }

    /// The file to add.
    pub fn file(&self) -> &str {
        &self.file
    }

    /// Partitions and formats `device` (`/dev/sdX`) in the running appliance.
    pub fn postlaunch(&self, h: &Handle, device: &str) -> Result<(), ShellError> {
        let err = |what: &str, e: guestwright::Error| self.call_error(what, &e);
        let parttype = self.param("partition");
        let disk = |d: &str| Disk::parse_word(d).map_err(|e| self.error(e.to_string()));
        let table = PartTableType::parse_word(parttype).map_err(|e| self.error(e.to_string()));
        let part1 = format!("{device}1");
        let part2 = format!("{device}2");
        let mkfs =
            |fs: &str, on: &str, what: &str| h.mkfs(FsType::from(fs), on).map_err(|e| err(what, e));
        match self.kind.name {
            "disk" => Ok(()),
            "part" | "fs" | "lv" | "lvfs" => {
                h.part_disk(disk(device)?, table?)
                    .map_err(|e| err("failed to partition disk", e))?;
                if self.kind.name == "fs" {
                    let fs = self.param("filesystem");
                    mkfs(
                        fs,
                        part1.as_str(),
                        &format!("failed to create filesystem ({fs})"),
                    )?;
                }
                if self.kind.name.starts_with("lv") {
                    self.make_lv(h, &part1)?;
                }
                if self.kind.name == "lvfs" {
                    let fs = self.param("filesystem");
                    mkfs(
                        fs,
                        self.param("name"),
                        &format!("failed to create filesystem ({fs})"),
                    )?;
                }
                Ok(())
            }
            _ => {
                // bootroot, bootrootlv: boot from sector 64, root to 64 sectors before the
                // end.
                let bootsize = parse_size(self.param("bootsize"))
                    .map_err(|_| self.error("could not parse boot size".into()))?;
                let ss = h
                    .blockdev_getss(device)
                    .map_err(|e| err("failed to get sector size of disk", e))?
                    as u64;
                let total = h
                    .blockdev_getsize64(device)
                    .map_err(|e| err("failed to get sector size of disk", e))?
                    / ss;
                h.part_init(disk(device)?, table?)
                    .map_err(|e| err("failed to partition disk", e))?;
                let last_boot = 64 + bootsize / ss - 1;
                let primary =
                    || PartKind::parse_word("primary").map_err(|e| self.error(e.to_string()));
                h.part_add(
                    disk(device)?,
                    primary()?,
                    ByteSize(64 * ss),
                    ByteSize((last_boot + 1) * ss - 1),
                )
                .map_err(|e| err("failed to add boot partition", e))?;
                h.part_add(
                    disk(device)?,
                    primary()?,
                    ByteSize((last_boot + 1) * ss),
                    ByteSize((total - 63) * ss - 1),
                )
                .map_err(|e| err("failed to add root partition", e))?;
                let bootfs = self.param("bootfs");
                mkfs(bootfs, part1.as_str(), "failed to create boot filesystem")?;
                let root = if self.kind.name == "bootrootlv" {
                    self.make_lv(h, &part2)?;
                    self.param("name").to_string()
                } else {
                    part2
                };
                mkfs(
                    self.param("rootfs"),
                    root.as_str(),
                    "failed to create root filesystem",
                )?;
                Ok(())
            }
        }
    }

    /// A PV on `part`, a VG on it and an LV filling the VG, named by the `name` parameter.
    fn make_lv(&self, h: &Handle, part: &str) -> Result<(), ShellError> {
        let err = |what: String, e: guestwright::Error| self.call_error(&what, &e);
        let (vg, lv) = vg_lv(self.param("name"))
            .ok_or_else(|| self.error("incorrect format for LV name, use '/dev/VG/LV'".into()))?;
        let pv = Device::parse_word(part).map_err(|e| self.error(e.to_string()))?;
        h.pvcreate(pv.clone())
            .map_err(|e| err(format!("failed to create PV: {part}"), e))?;
        h.vgcreate(vg.clone(), vec![pv])
            .map_err(|e| err(format!("failed to create VG: {vg}"), e))?;
        h.lvcreate_free(lv.clone(), vg.clone(), 100u32)
            .map_err(|e| err(format!("failed to create LV: /dev/{vg}/{lv}"), e))?;
        Ok(())
    }
}

/// `/dev/VG/LV` (or `VG/LV`) split.
fn vg_lv(name: &str) -> Option<(String, String)> {
    let name = name.strip_prefix("/dev/").unwrap_or(name);
    let (vg, lv) = name.split_once('/')?;
    Some((vg.to_string(), lv.to_string()))
}

/// The error as libguestfs's `guestfs_last_error` would give it: the daemon's message.
fn last_error(e: &guestwright::Error) -> String {
    match e {
        guestwright::Error::Remote { source, .. } => source.message.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_as_guestfish_parses_them() {
        assert_eq!(parse_size("200000").unwrap(), 200000);
        assert_eq!(parse_size("1M").unwrap(), 1 << 20);
        assert_eq!(parse_size("1MiB").unwrap(), 1 << 20);
        assert_eq!(parse_size("1MB").unwrap(), 1_000_000);
        assert_eq!(parse_size("2k").unwrap(), 2048);
        assert_eq!(parse_size("1G").unwrap(), 1 << 30);
        assert_eq!(parse_size("0x10").unwrap(), 16);
        assert!(parse_size("abc").is_err());
        assert!(parse_size("1Q").is_err());
    }

    #[test]
    fn prepared_names_match_by_prefix_in_guestfish_order() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("a.img");
        let p = Prepared::parse(&format!("{}=lv:/dev/V/L:10M", f.display()), 1).unwrap();
        assert_eq!(p.kind.name, "lv");
        assert_eq!(p.param("name"), "/dev/V/L");
        assert_eq!(p.param("partition"), "mbr");
        assert_eq!(std::fs::metadata(&f).unwrap().len(), 10 << 20);
        let p = Prepared::parse(&format!("{}=BOOTROOTLV:/dev/V/L", f.display()), 1).unwrap();
        assert_eq!(p.kind.name, "bootrootlv");
        assert!(Prepared::parse(&format!("{}=nosuch", f.display()), 1).is_err());
        assert!(Prepared::parse(&format!("{}=lv:noslash", f.display()), 1).is_err());
    }
}
