//! guestfish's btrfs family: subvolumes, snapshots, quota groups, balance, scrub, devices,
//! `btrfstune`, `btrfs-image`, `mkfs.btrfs`, through the carried `btrfs-progs` tools.
//!
//! What the tools print is parsed into guestfish's structs; when a tool fails, its stderr
//! is the error, worded as libguestfs 1.48's daemon words it (`OP: SUBJECT: stderr`), so
//! scripts that grep for it keep working. Guest paths are resolved beneath the guest root
//! first (`fs/guestfs.rs`) and handed to the tools as the appliance's own paths; a path
//! the guest controls never reaches the appliance's files.

use crate::block::blockdev::ResolvedDevice;
use crate::block::devices::Disks;
use crate::boot::modules::Modules;
use crate::boot::tools;
use crate::fs::guestfs;
use crate::sys;
use guestwright_protocol::fish::{BtrfsBalance, BtrfsQgroup, BtrfsScrub, BtrfsSubvolume};
use guestwright_protocol::{Device, GuestPath, KeyValue};
use std::ffi::OsString;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

/// An error worded as libguestfs's daemon words it: `OP: MESSAGE`.
pub(crate) fn op_error(op: &str, message: impl std::fmt::Display) -> io::Error {
    io::Error::other(format!("{op}: {message}"))
}

/// What a tool printed on stderr, without the final newline (as libguestfs passes it on).
pub(crate) fn stderr_text(out: &std::process::Output) -> String {
    let text = String::from_utf8_lossy(&out.stderr);
    text.strip_suffix('\n').unwrap_or(&text).to_string()
}

/// Runs a carried tool; on failure the error is `OP: SUBJECT: stderr`. Returns stdout.
pub(crate) fn run_tool(
    tool: &str,
    args: &[OsString],
    op: &str,
    subject: &str,
) -> io::Result<String> {
    let out = tools::run_status(tool, args, &[], None)?;
    if !out.status.success() {
        return Err(op_error(op, format!("{subject}: {}", stderr_text(&out))));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The appliance's path of an existing guest path (symlinks resolved inside the guest).
pub(crate) fn existing(path: &GuestPath) -> io::Result<PathBuf> {
    let fd = guestfs::open(path, libc::O_PATH, 0)?;
    guestfs::real_path(&fd)
}

/// The appliance's path of a guest path to be created: its directory resolved inside the
/// guest, the last component as given.
fn new_entry(path: &GuestPath) -> io::Result<PathBuf> {
    let (dir, name) = guestfs::parent(path)?;
    Ok(guestfs::real_path(&dir)?.join(std::ffi::OsStr::from_bytes(name.as_bytes())))
}

fn os(s: impl Into<OsString>) -> OsString {
    s.into()
}

/// The btrfs operations: the disks (for the caller's device names) and the modules (the
/// btrfs module loads on first use).
#[derive(Debug)]
pub struct Btrfs<'a> {
    /// The disks.
    pub disks: &'a Disks,
    /// The kernel modules.
    pub modules: &'a Modules,
}

impl Btrfs<'_> {
    fn ready(&self) {
        // Loaded already or built in, the tools say what is wrong if it is absent.
        let _ = self.modules.load("btrfs");
    }

    /// `btrfs ARGS... PATH` where PATH is an existing guest path; errors name `subject`.
    fn on_path(&self, op: &str, args: &[&str], path: &GuestPath) -> io::Result<String> {
        self.ready();
        let real = existing(path).map_err(|e| op_error(op, format!("{path}: {e}")))?;
        let mut argv: Vec<OsString> = args.iter().map(os).collect();
        argv.push(real.into_os_string());
        run_tool("btrfs", &argv, op, &path.to_string())
    }

    /// A simple `btrfs GROUP VERB PATH` operation.
    pub fn path_command(&self, op: &str, args: &[&str], path: &GuestPath) -> io::Result<()> {
        self.on_path(op, args, path).map(drop)
    }

    /// `btrfs-filesystem-resize`: to `size` bytes, or `max`.
    pub fn resize(&self, mountpoint: &GuestPath, size: Option<i64>) -> io::Result<()> {
        let op = "btrfs_filesystem_resize";
        let size = match size {
            Some(s) if s <= 0 => return Err(op_error(op, "size is zero or negative")),
            Some(s) => s.to_string(),
            None => "max".to_string(),
        };
        self.on_path(op, &["filesystem", "resize", &size], mountpoint)
            .map(drop)
    }

    /// `mkfs-btrfs`.
    pub fn mkfs(&self, devices: &[ResolvedDevice], opts: &MkfsBtrfs<'_>) -> io::Result<()> {
        let op = "mkfs_btrfs";
        self.ready();
        let Some(first) = devices.first() else {
            return Err(op_error(op, "list of devices must be non-empty"));
        };
        let profile = |v: &str| matches!(v, "raid0" | "raid1" | "raid10" | "single");
        let pow2 = |v: i32| v > 0 && (v as u32).is_power_of_two();
        let mut argv: Vec<OsString> = vec![os("-f")];
        if let Some(b) = opts.bytecount {
            if b <= 0 {
                return Err(op_error(op, "bytecount must be > 0"));
            }
            argv.extend([os("--byte-count"), os(b.to_string())]);
        }
        if let Some(d) = opts.datatype {
            if !profile(d) {
                return Err(op_error(op, "datatype not one of the allowed values"));
            }
            argv.extend([os("--data"), os(d)]);
        }
        if let Some(l) = opts.leafsize {
            if !pow2(l) {
                return Err(op_error(op, "leafsize must be > 0 and a power of two"));
            }
            // btrfs-progs dropped --leafsize; --nodesize is the same size.
            argv.extend([os("--nodesize"), os(l.to_string())]);
        }
        if let Some(l) = opts.label {
            argv.extend([os("--label"), os(l)]);
        }
        if let Some(m) = opts.metadata {
            if !profile(m) {
                return Err(op_error(op, "metadata not one of the allowed values"));
            }
            argv.extend([os("--metadata"), os(m)]);
        }
        if let Some(n) = opts.nodesize {
            if !pow2(n) {
                return Err(op_error(op, "nodesize must be > 0 and a power of two"));
            }
            argv.extend([os("--nodesize"), os(n.to_string())]);
        }
        if let Some(s) = opts.sectorsize {
            if !pow2(s) {
                return Err(op_error(op, "sectorsize must be > 0 and a power of two"));
            }
            argv.extend([os("--sectorsize"), os(s.to_string())]);
        }
        for d in devices {
            argv.push(d.node().as_os_str().to_os_string());
        }
        run_tool("mkfs.btrfs", &argv, op, first.name().as_str()).map(drop)
    }

    /// `btrfs-subvolume-snapshot`.
    pub fn snapshot(
        &self,
        source: &GuestPath,
        dest: &GuestPath,
        ro: bool,
        qgroupid: Option<&str>,
    ) -> io::Result<()> {
        let op = "btrfs_subvolume_snapshot";
        self.ready();
        let subject = format!("{source}: {dest}");
        let src = existing(source).map_err(|e| op_error(op, format!("{subject}: {e}")))?;
        let dst = new_entry(dest).map_err(|e| op_error(op, format!("{subject}: {e}")))?;
        let mut argv = vec![os("subvolume"), os("snapshot")];
        if ro {
            argv.push(os("-r"));
        }
        if let Some(q) = qgroupid {
            argv.extend([os("-i"), os(q)]);
        }
        argv.extend([src.into_os_string(), dst.into_os_string()]);
        run_tool("btrfs", &argv, op, &subject).map(drop)
    }

    /// `btrfs-subvolume-create`.
    pub fn create(&self, dest: &GuestPath, qgroupid: Option<&str>) -> io::Result<()> {
        let op = "btrfs_subvolume_create";
        self.ready();
        let dst = new_entry(dest).map_err(|e| op_error(op, format!("{dest}: {e}")))?;
        let mut argv = vec![os("subvolume"), os("create")];
        if let Some(q) = qgroupid {
            argv.extend([os("-i"), os(q)]);
        }
        argv.push(dst.into_os_string());
        run_tool("btrfs", &argv, op, &dest.to_string()).map(drop)
    }

    /// Runs `f` with the filesystem `fs` available at an appliance path: a guest path as it
    /// is, a device (or a `btrfsvol:` mountable) mounted on a private directory for the
    /// call and unmounted after it.
    fn with_fs<T>(
        &self,
        op: &str,
        fs: &str,
        f: impl FnOnce(&Path) -> io::Result<T>,
    ) -> io::Result<T> {
        self.ready();
        let (device, subvol) = crate::block::names::split_mountable(fs);
        if !device.starts_with("/dev/") {
            let path = GuestPath::from(fs.as_bytes());
            let real = existing(&path).map_err(|e| op_error(op, format!("{fs}: {e}")))?;
            return f(&real);
        }
        let name = Device::new(device).map_err(|e| op_error(op, e))?;
        let dev = ResolvedDevice::new(self.disks, self.modules, name)?;
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let dir = PathBuf::from(format!(
            "/tmp/btrfs.{}",
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir)?;
        let data = subvol.map(|s| format!("subvol={s}"));
        let source = dev.node().to_string_lossy().into_owned();
        if let Err(e) = sys::mount(&source, &dir, Some("btrfs"), 0, data.as_deref()) {
            let _ = std::fs::remove_dir(&dir);
            return Err(op_error(op, format!("{}: {e}", dev.name())));
        }
        let result = f(&dir);
        let unmounted = sys::umount(&dir, 0);
        let _ = std::fs::remove_dir(&dir);
        let value = result?;
        unmounted.map_err(|e| op_error(op, format!("umount: {e}")))?;
        Ok(value)
    }

    /// `btrfs-subvolume-list`.
    pub fn list(&self, fs: &str) -> io::Result<Vec<BtrfsSubvolume>> {
        let op = "btrfs_subvolume_list";
        let out = self.with_fs(op, fs, |dir| {
            run_tool(
                "btrfs",
                &[os("subvolume"), os("list"), dir.as_os_str().into()],
                op,
                fs,
            )
        })?;
        out.lines()
            .filter(|l| !l.is_empty())
            .map(|l| {
                parse_subvolume_line(l).ok_or_else(|| {
                    op_error(
                        op,
                        format!("unexpected output from 'btrfs subvolume list' command: {l}"),
                    )
                })
            })
            .collect()
    }

    /// `btrfs-subvolume-get-default`.
    pub fn get_default(&self, fs: &str) -> io::Result<i64> {
        let op = "btrfs_subvolume_get_default";
        let out = self.with_fs(op, fs, |dir| {
            run_tool(
                "btrfs",
                &[os("subvolume"), os("get-default"), dir.as_os_str().into()],
                op,
                fs,
            )
        })?;
        out.strip_prefix("ID ")
            .and_then(|r| r.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| op_error(op, format!("unexpected output: {out}")))
    }

    /// `btrfs-quota-enable` and `btrfs-quota-rescan`: `btrfs quota VERB`.
    pub fn quota(&self, op: &str, fs: &str, verb: &str) -> io::Result<()> {
        self.with_fs(op, fs, |dir| {
            let out = tools::run_status(
                "btrfs",
                &[os("quota"), os(verb), dir.as_os_str().into()],
                &[],
                None,
            )?;
            if out.status.success() {
                Ok(())
            } else {
                // libguestfs names the path it ran the tool on.
                Err(op_error(
                    op,
                    format!("{}: {}", dir.display(), stderr_text(&out)),
                ))
            }
        })
    }

    /// `btrfs-subvolume-set-default`.
    pub fn set_default(&self, id: i64, fs: &GuestPath) -> io::Result<()> {
        let id = id.to_string();
        self.path_command(
            "btrfs_subvolume_set_default",
            &["subvolume", "set-default", &id],
            fs,
        )
    }

    /// `btrfs-device-add` and `btrfs-device-delete`.
    pub fn devices(
        &self,
        op: &str,
        verb: &str,
        devices: &[ResolvedDevice],
        fs: &GuestPath,
    ) -> io::Result<()> {
        if devices.is_empty() {
            return Ok(());
        }
        self.ready();
        let real = existing(fs).map_err(|e| op_error(op, format!("{fs}: {e}")))?;
        let mut argv = vec![os("device"), os(verb)];
        if verb == "add" {
            argv.push(os("--force"));
        }
        argv.extend(devices.iter().map(|d| d.node().as_os_str().to_os_string()));
        argv.push(real.into_os_string());
        run_tool("btrfs", &argv, op, &fs.to_string()).map(drop)
    }

    /// A tool run on a device: `btrfstune`, `btrfs rescue`, `btrfsck`.
    pub fn on_device(
        &self,
        op: &str,
        tool: &str,
        args: &[&str],
        device: &ResolvedDevice,
    ) -> io::Result<()> {
        self.ready();
        let mut argv: Vec<OsString> = args.iter().map(os).collect();
        argv.push(device.node().as_os_str().to_os_string());
        run_tool(tool, &argv, op, device.name().as_str()).map(drop)
    }

    /// `btrfs-fsck`.
    pub fn fsck(
        &self,
        device: &ResolvedDevice,
        superblock: Option<i64>,
        repair: bool,
    ) -> io::Result<()> {
        let op = "btrfs_fsck";
        let mut args = vec!["check".to_string()];
        if let Some(s) = superblock {
            if s < 0 {
                return Err(op_error(op, "super block offset must be >= 0"));
            }
            args.extend(["--super".to_string(), s.to_string()]);
        }
        if repair {
            args.push("--repair".to_string());
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        self.on_device(op, "btrfs", &args, device)
    }

    /// `btrfs-subvolume-show`: the first line is the path, then `key: value` lines; the
    /// snapshots, one per line after `Snapshot(s):`, are joined with commas; `-` is empty.
    pub fn show(&self, subvolume: &GuestPath) -> io::Result<Vec<KeyValue>> {
        let op = "btrfs_subvolume_show";
        self.ready();
        let real = existing(subvolume).map_err(|e| op_error(op, format!("{subvolume}: {e}")))?;
        let out = tools::run_status(
            "btrfs",
            &[os("subvolume"), os("show"), real.into_os_string()],
            &[],
            None,
        )?;
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = stderr_text(&out);
        if !out.status.success() {
            if stderr.contains("is not a subvolume") {
                return Err(op_error(op, format!("{subvolume} is not a subvolume")));
            }
            return Err(op_error(op, format!("{subvolume}: {stderr}")));
        }
        if stdout.contains("is btrfs root") || stdout.contains("is toplevel subvolume") {
            return Err(op_error(op, format!("{subvolume} is btrfs root")));
        }
        Ok(parse_subvolume_show(&stdout))
    }

    /// `btrfs-qgroup-show`.
    pub fn qgroup_show(&self, path: &GuestPath) -> io::Result<Vec<BtrfsQgroup>> {
        let op = "btrfs_qgroup_show";
        let out = self.on_path(op, &["qgroup", "show", "--raw"], path)?;
        out.lines()
            .skip(2)
            .filter(|l| !l.trim().is_empty())
            .map(|l| {
                parse_qgroup_line(l).ok_or_else(|| {
                    op_error(
                        op,
                        format!("cannot parse output of qgroup show command: {l}"),
                    )
                })
            })
            .collect()
    }

    /// `btrfs-qgroup-limit`, `-create`, `-destroy`, `-assign`, `-remove`: `btrfs qgroup
    /// VERB WORDS... PATH`.
    pub fn qgroup(&self, op: &str, verb: &str, words: &[&str], path: &GuestPath) -> io::Result<()> {
        let mut args = vec!["qgroup", verb];
        args.extend_from_slice(words);
        self.path_command(op, &args, path)
    }

    /// `btrfs-filesystem-defragment`.
    pub fn defragment(
        &self,
        path: &GuestPath,
        flush: bool,
        compress: Option<&str>,
    ) -> io::Result<()> {
        let op = "btrfs_filesystem_defragment";
        let mut args = vec!["filesystem", "defragment", "-r"];
        if flush {
            args.push("-f");
        }
        match compress {
            None => {}
            Some("zlib") => args.push("-czlib"),
            Some("lzo") => args.push("-clzo"),
            Some(other) => {
                return Err(op_error(op, format!("unknown compress method: {other}")));
            }
        }
        self.path_command(op, &args, path)
    }

    /// `btrfs-balance-status`.
    pub fn balance_status(&self, path: &GuestPath) -> io::Result<BtrfsBalance> {
        let op = "btrfs_balance_status";
        let out = self.on_path(op, &["balance", "status"], path)?;
        parse_balance_status(&out).map_err(|m| op_error(op, m))
    }

    /// `btrfs-scrub-status`.
    pub fn scrub_status(&self, path: &GuestPath) -> io::Result<BtrfsScrub> {
        let op = "btrfs_scrub_status";
        let out = self.on_path(op, &["scrub", "status", "-R"], path)?;
        parse_scrub_status(&out).map_err(|m| op_error(op, m))
    }

    /// `btrfs-image`: the image is written in the guest.
    pub fn image(
        &self,
        sources: &[ResolvedDevice],
        image: &GuestPath,
        compresslevel: Option<i32>,
    ) -> io::Result<()> {
        let op = "btrfs_image";
        self.ready();
        let Some(first) = sources.first() else {
            return Err(op_error(op, "list of sources must be non-empty"));
        };
        let subject = format!("{} {image}", first.name());
        let dest = new_entry(image).map_err(|e| op_error(op, format!("{subject}: {e}")))?;
        let mut argv = Vec::new();
        if let Some(c) = compresslevel.filter(|c| *c >= 0) {
            argv.extend([os("-c"), os(c.to_string())]);
        }
        argv.extend(sources.iter().map(|d| d.node().as_os_str().to_os_string()));
        argv.push(dest.into_os_string());
        run_tool("btrfs-image", &argv, op, &subject).map(drop)
    }

    /// `btrfs-replace`.
    pub fn replace(
        &self,
        src: &ResolvedDevice,
        target: &ResolvedDevice,
        mntpoint: &GuestPath,
    ) -> io::Result<()> {
        let op = "btrfs_replace";
        self.ready();
        let real = existing(mntpoint).map_err(|e| op_error(op, format!("{mntpoint}: {e}")))?;
        let argv = vec![
            os("replace"),
            os("start"),
            os("-B"),
            os("-f"),
            src.node().as_os_str().to_os_string(),
            target.node().as_os_str().to_os_string(),
            real.into_os_string(),
        ];
        run_tool("btrfs", &argv, op, &mntpoint.to_string()).map(drop)
    }

    /// `btrfs-filesystem-show`: the devices, by the caller's names.
    pub fn filesystem_show(&self, device: &ResolvedDevice) -> io::Result<Vec<Device>> {
        let op = "btrfs_filesystem_show";
        self.ready();
        let node = device.node().as_os_str().to_os_string();
        let out = run_tool(
            "btrfs",
            &[os("filesystem"), os("show"), node],
            op,
            device.name().as_str(),
        )?;
        let paths = parse_filesystem_show(&out).map_err(|m| match m {
            ShowError::Missing => io::Error::from(guestwright_protocol::RemoteError::new(
                guestwright_protocol::Errno::ENODEV,
                format!("{op}: {}: missing devices", device.name()),
            )),
            ShowError::Other(m) => op_error(op, m),
        })?;
        Ok(paths.iter().map(|p| self.disks.to_user(p)).collect())
    }
}

/// `mkfs-btrfs`'s options.
#[derive(Debug, Default)]
#[allow(missing_docs)]
pub struct MkfsBtrfs<'a> {
    pub bytecount: Option<i64>,
    pub datatype: Option<&'a str>,
    pub leafsize: Option<i32>,
    pub label: Option<&'a str>,
    pub metadata: Option<&'a str>,
    pub nodesize: Option<i32>,
    pub sectorsize: Option<i32>,
}

/// `ID 256 gen 30 top level 5 path dir/test2`.
fn parse_subvolume_line(line: &str) -> Option<BtrfsSubvolume> {
    let id = line
        .strip_prefix("ID ")?
        .split_whitespace()
        .next()?
        .parse()
        .ok()?;
    let (_, after_top) = line.split_once(" top level ")?;
    let top = after_top.split_whitespace().next()?.parse().ok()?;
    let (_, path) = after_top.split_once(" path ")?;
    Some(BtrfsSubvolume {
        btrfssubvolume_id: id,
        btrfssubvolume_top_level_id: top,
        btrfssubvolume_path: path.to_string(),
    })
}

/// `btrfs subvolume show`'s text as libguestfs's pairs.
fn parse_subvolume_show(out: &str) -> Vec<KeyValue> {
    let mut pairs = Vec::new();
    let mut lines = out.lines().peekable();
    let split = |l: &str| -> (String, Option<String>) {
        let l = l.trim_start();
        match l.split_once(':') {
            Some((k, v)) => (k.to_string(), Some(v.trim_start().to_string())),
            None => (l.to_string(), None),
        }
    };
    if let Some(first) = lines.next() {
        match split(first) {
            (k, None) => pairs.push(KeyValue::new("path", k)),
            (k, Some(v)) => pairs.push(KeyValue::new(k, v)),
        }
    }
    while let Some(line) = lines.next() {
        if line.trim().is_empty() {
            break;
        }
        let (key, value) = split(line);
        if key.starts_with("Snapshot(s)") {
            let mut snaps = Vec::new();
            while let Some(next) = lines.peek() {
                let (k, v) = split(next);
                if v.is_some() || k.is_empty() {
                    break;
                }
                snaps.push(k);
                lines.next();
            }
            pairs.push(KeyValue::new(key, snaps.join(",")));
            continue;
        }
        let value = value.filter(|v| v != "-").unwrap_or_default();
        pairs.push(KeyValue::new(key, value));
    }
    pairs
}

/// ` 0/5  16384  16384` (after the two header lines of `btrfs qgroup show --raw`).
fn parse_qgroup_line(line: &str) -> Option<BtrfsQgroup> {
    let mut words = line.split_whitespace();
    let id = words.next()?;
    if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit() || b == b'/') {
        return None;
    }
    Some(BtrfsQgroup {
        btrfsqgroup_id: id.to_string(),
        btrfsqgroup_rfer: words.next()?.parse().ok()?,
        btrfsqgroup_excl: words.next()?.parse().ok()?,
    })
}

/// `No balance found on '/'`, or `Balance on '/' is running|paused` and
/// `3 out of about 8 chunks balanced (3 considered), 62% left`.
fn parse_balance_status(out: &str) -> Result<BtrfsBalance, String> {
    let lines: Vec<&str> = out.lines().collect();
    let Some(first) = lines.first() else {
        return Err("No balance status output".to_string());
    };
    if first.contains("No balance found on") {
        return Ok(BtrfsBalance {
            btrfsbalance_status: "none".to_string(),
            ..BtrfsBalance::default()
        });
    }
    let unexpected = || format!("unexpected output from 'btrfs balance status' command: {first}");
    let state = first
        .strip_prefix("Balance on '")
        .and_then(|r| r.rsplit_once("' is "))
        .map(|(_, s)| s)
        .ok_or_else(unexpected)?;
    if state != "running" && state != "paused" {
        return Err(unexpected());
    }
    let second = lines
        .get(1)
        .ok_or("truncated output from 'btrfs balance status' command")?;
    let nums: Vec<u64> = second
        .split(|c: char| !c.is_ascii_digit())
        .filter(|w| !w.is_empty())
        .filter_map(|w| w.parse().ok())
        .collect();
    let [balanced, total, considered, left] = nums[..] else {
        return Err(format!("cannot parse: {second}"));
    };
    Ok(BtrfsBalance {
        btrfsbalance_status: state.to_string(),
        btrfsbalance_total: total,
        btrfsbalance_balanced: balanced,
        btrfsbalance_considered: considered,
        btrfsbalance_left: left,
    })
}

/// `btrfs scrub status -R`: tab-indented `name: value` lines after a header.
fn parse_scrub_status(out: &str) -> Result<BtrfsScrub, String> {
    let lines: Vec<&str> = out.lines().collect();
    if lines.len() < 2 {
        return Err("truncated output from 'btrfs scrub status -R' command".to_string());
    }
    let mut counters = Vec::new();
    for line in &lines {
        let Some(body) = line.strip_prefix('\t') else {
            continue;
        };
        if body == "no stats available" {
            return Ok(BtrfsScrub::default());
        }
        if body.starts_with("scrub started at") {
            continue;
        }
        let known = body.split_once(": ").and_then(|(k, v)| {
            let k = k.trim();
            let v: u64 = v.trim().parse().ok()?;
            guestwright_protocol::fish::BTRFS_SCRUB_FIELDS
                .contains(&k)
                .then(|| (k.to_string(), v))
        });
        match known {
            Some(kv) => counters.push(kv),
            None => return Err(format!("{line}: could not parse btrfs scrub status.")),
        }
    }
    if counters.len() < 15 {
        return Err("truncated output from 'btrfs scrub status -R' command".to_string());
    }
    Ok(BtrfsScrub { counters })
}

enum ShowError {
    Missing,
    Other(String),
}

/// The device paths of `btrfs filesystem show DEVICE`.
fn parse_filesystem_show(out: &str) -> Result<Vec<String>, ShowError> {
    let lines: Vec<&str> = out.lines().collect();
    if lines.len() < 2 {
        return Err(ShowError::Other(
            "truncated output from 'btrfs filesystem show' command".to_string(),
        ));
    }
    let mut paths = Vec::new();
    for line in &lines[1..] {
        if line.is_empty() || line.starts_with("Label: ") || line.starts_with("\tTotal devices ") {
            continue;
        }
        if line.starts_with("\tdevid ") {
            if let Some((_, p)) = line.split_once(" path ") {
                paths.push(p.split(' ').next().unwrap_or("").to_string());
            }
        } else if line.starts_with("\t*** Some devices missing") {
            return Err(ShowError::Missing);
        } else if line.starts_with("btrfs-progs v") || line.starts_with("Btrfs v") {
            continue;
        } else {
            return Err(ShowError::Other(format!(
                "unrecognized line in output from 'btrfs filesystem show': {line}"
            )));
        }
    }
    Ok(paths)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subvolume_list_lines() {
        let s = parse_subvolume_line("ID 257 gen 30 top level 5 path dir/test 2").unwrap();
        assert_eq!(s.btrfssubvolume_id, 257);
        assert_eq!(s.btrfssubvolume_top_level_id, 5);
        assert_eq!(s.btrfssubvolume_path, "dir/test 2");
        assert!(parse_subvolume_line("garbage").is_none());
    }

    #[test]
    fn subvolume_show_pairs() {
        let out = "sub\n\tName: \t\t\tsub\n\tParent UUID: \t\t-\n\tSnapshot(s):\n\t\t\t\tsnap1\n\t\t\t\tsnap2\n\tQuota group:\t\t0/256\n";
        let kv = parse_subvolume_show(out);
        assert_eq!(kv[0], KeyValue::new("path", "sub"));
        assert_eq!(kv[1], KeyValue::new("Name", "sub"));
        assert_eq!(kv[2], KeyValue::new("Parent UUID", ""));
        assert_eq!(kv[3], KeyValue::new("Snapshot(s)", "snap1,snap2"));
        assert_eq!(kv[4], KeyValue::new("Quota group", "0/256"));
    }

    #[test]
    fn balance_and_qgroups() {
        let b = parse_balance_status("No balance found on '/sysroot'\n").unwrap();
        assert_eq!(b.btrfsbalance_status, "none");
        let b = parse_balance_status(
            "Balance on '/' is paused\n3 out of about 8 chunks balanced (4 considered), 62% left\n",
        )
        .unwrap();
        assert_eq!(
            (
                b.btrfsbalance_balanced,
                b.btrfsbalance_total,
                b.btrfsbalance_considered
            ),
            (3, 8, 4)
        );
        assert_eq!(b.btrfsbalance_left, 62);
        let q = parse_qgroup_line("0/5        16384        16384 ").unwrap();
        assert_eq!(q.btrfsqgroup_id, "0/5");
        assert_eq!(q.btrfsqgroup_excl, 16384);
    }

    #[test]
    fn filesystem_show_paths() {
        let out = "Label: none  uuid: x\n\tTotal devices 2 FS bytes used 1.12MiB\n\tdevid    1 size 1.00GiB used 2.00MiB path /dev/vda1\n\tdevid    2 size 1.00GiB used 0.00B path /dev/vdb\n\n";
        let p = parse_filesystem_show(out).ok().unwrap();
        assert_eq!(p, ["/dev/vda1", "/dev/vdb"]);
    }
}
