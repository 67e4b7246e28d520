//! `guestwright filesystems`: what is on a disk image's block devices, like virt-filesystems.

use crate::error::{stdout, Result};
use crate::format::human;
use crate::options::{ApplianceArgs, ImageArgs};
use crate::session::{self, Access};
use clap::Args;
use guestwright::prelude::*;
use std::io::Write;

/// List the filesystems, partitions, disks and LVM objects of a disk image (read-only).
///
/// Prints what virt-filesystems prints: `-h` means --human-readable, as there (--help is
/// long only).
#[derive(Debug, Args)]
#[command(disable_help_flag = true)]
pub struct FilesystemsArgs {
    #[command(flatten)]
    pub(crate) image: ImageArgs,
    /// Everything: filesystems, partitions, disks, LVs, VGs and PVs.
    #[arg(long)]
    all: bool,
    /// Filesystems (the default when nothing else is asked for).
    #[arg(long)]
    filesystems: bool,
    /// Also swap and unknown content among the filesystems.
    #[arg(long)]
    extra: bool,
    /// Partitions.
    #[arg(long)]
    partitions: bool,
    /// Whole disks.
    #[arg(long, visible_alias = "blkdevs", alias = "block-devices")]
    disks: bool,
    /// LVM logical volumes.
    #[arg(long, alias = "logvols", alias = "logical-volumes")]
    lvs: bool,
    /// LVM volume groups.
    #[arg(long, alias = "volgroups", alias = "volume-groups")]
    vgs: bool,
    /// LVM physical volumes.
    #[arg(long, alias = "physvols", alias = "physical-volumes")]
    pvs: bool,
    /// Columns: name, type, filesystem, label, MBR id, size, parent.
    #[arg(short = 'l', long)]
    long: bool,
    /// Sizes like 1.5G instead of bytes (with --long).
    #[arg(short = 'h', short_alias = 'H', long = "human-readable")]
    human: bool,
    /// Add a UUID column (with --long).
    #[arg(long)]
    uuid: bool,
    /// Comma-separated values.
    #[arg(long)]
    csv: bool,
    /// No title line in --long output.
    #[arg(long = "no-title")]
    no_title: bool,
    /// Print help.
    #[arg(long, action = clap::ArgAction::Help)]
    help: Option<bool>,
}

/// One object, in virt-filesystems's columns (`None` prints as `-`).
struct Row {
    name: String,
    kind: &'static str,
    vfs: Option<String>,
    label: Option<String>,
    mbr: Option<u32>,
    size: Option<u64>,
    parent: Option<String>,
    uuid: Option<String>,
}

impl Row {
    fn new(name: String, kind: &'static str, size: Option<u64>) -> Row {
        Row {
            name,
            kind,
            vfs: None,
            label: None,
            mbr: None,
            size,
            parent: None,
            uuid: None,
        }
    }
}

/// Which columns show, as virt-filesystems decides.
struct Columns {
    vfs: bool,
    mbr: bool,
    uuid: bool,
}

/// Runs `filesystems`.
pub fn run(args: &FilesystemsArgs, appliance: &ApplianceArgs, verbose: bool) -> Result {
    let access = args.image.access(Access::ReadOnly);
    let mut h = session::launch(&args.image, appliance, access, verbose)?;
    session::open_encrypted(&h)?;
    let want_fs = args.all
        || args.filesystems
        || args.extra
        || !(args.partitions || args.disks || args.lvs || args.vgs || args.pvs);
    let want_parts = args.all || args.partitions;
    let cols = Columns {
        vfs: want_fs,
        mbr: want_parts,
        uuid: args.uuid,
    };
    let mut rows = Vec::new();
    if want_fs {
        for f in h.list_filesystems()? {
            let extra = matches!(f.fstype.as_str(), "swap" | "unknown");
            if extra && !(args.extra || args.all) {
                continue;
            }
            let mut r = Row::new(f.device.to_string(), "filesystem", None);
            if args.long {
                r.size = fs_size(&mut h, &f.device);
            }
            r.vfs = Some(f.fstype);
            r.label = f.label;
            r.uuid = f.uuid;
            rows.push(r);
        }
    }
    let lvm = args.all || args.lvs || args.vgs || args.pvs;
    if lvm && h.feature_available(vec!["lvm2".to_string()])? {
        if args.all || args.lvs {
            for dev in h.lvs()? {
                let size = h.blockdev_getsize64(&dev)?;
                let mut r = Row::new(dev.to_string(), "lv", Some(size));
                let vg = dev.as_str().rsplit_once('/').map_or("", |(vg, _)| vg);
                r.parent = Some(vg.to_string());
                r.uuid = Some(h.lvuuid(VolumeName(dev.clone()))?);
                rows.push(r);
            }
        }
        if args.all || args.vgs {
            let pvs = h.pvs_full()?;
            let plain = |u: &str| u.replace('-', "");
            for vg in h.vgs_full()? {
                let mut r = Row::new(format!("/dev/{}", vg.vg_name), "vg", Some(vg.vg_size));
                r.uuid = Some(vg.vg_uuid);
                // Its parents are its PVs, as virt-filesystems finds them: by UUID.
                let parents: Vec<String> = h
                    .run(args::Vgpvuuids::new(vg.vg_name.as_str()))?
                    .iter()
                    .map(|u| {
                        pvs.iter()
                            .find(|pv| plain(&pv.pv_uuid) == plain(u))
                            .map_or_else(|| plain(u), |pv| pv.pv_name.clone())
                    })
                    .collect();
                r.parent = Some(parents.join(","));
                rows.push(r);
            }
        }
        if args.all || args.pvs {
            for pv in h.pvs_full()? {
                let mut r = Row::new(pv.pv_name, "pv", Some(pv.pv_size));
                r.uuid = Some(pv.pv_uuid);
                rows.push(r);
            }
        }
    }
    if want_parts {
        for p in h.list_partitions()? {
            let mut r = Row::new(p.device.to_string(), "partition", Some(p.size));
            let disk = &p.parent;
            if matches!(h.part_get_parttype(disk), Ok(PartTableType::Mbr)) {
                r.mbr = h.part_get_mbr_id(disk, p.number).ok();
            }
            r.parent = Some(p.parent.to_string());
            rows.push(r);
        }
    }
    if args.all || args.disks {
        for d in h.list_devices()? {
            rows.push(Row::new(d.device.to_string(), "device", Some(d.size)));
        }
    }
    h.shutdown()?;

    let text = if args.long {
        long_text(args, &cols, &rows)
    } else {
        rows.iter()
            .map(|r| format!("{}\n", cell(&r.name)))
            .collect()
    };
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes()).map_err(stdout)?;
    out.flush().map_err(stdout)
}

/// A filesystem's size as virt-filesystems measures it: its own (statvfs) when it mounts,
/// else its device's.
fn fs_size(h: &mut Handle, dev: &Device) -> Option<u64> {
    if h.run(args::Mount::new(dev, "/").readonly(true)).is_ok() {
        let v = h.statvfs("/");
        let _ = h.umount_all();
        if let Ok(v) = v {
            return Some(v.blocks * v.bsize);
        }
    }
    h.blockdev_getsize64(dev).ok()
}

/// The --long table (or CSV): columns as wide as their widest cell, two spaces apart, one
/// when two would pass 72 characters.
fn long_text(args: &FilesystemsArgs, cols: &Columns, rows: &[Row]) -> String {
    let size = |s: Option<u64>| s.map(|b| if args.human { human(b) } else { b.to_string() });
    let mut table: Vec<Vec<Option<String>>> = Vec::new();
    let mut head = vec!["Name", "Type"];
    if cols.vfs {
        head.extend(["VFS", "Label"]);
    }
    if cols.mbr {
        head.push("MBR");
    }
    head.extend(["Size", "Parent"]);
    if cols.uuid {
        head.push("UUID");
    }
    if !args.no_title {
        table.push(head.iter().map(|h| Some(h.to_string())).collect());
    }
    for r in rows {
        let mut line = vec![Some(r.name.clone()), Some(r.kind.to_string())];
        if cols.vfs {
            // A filesystem's label is a string, empty when it has none; other rows have
            // none at all (which matters to which columns show).
            let label = match r.kind {
                "filesystem" => Some(r.label.clone().unwrap_or_default()),
                _ => r.label.clone(),
            };
            line.extend([r.vfs.clone(), label]);
        }
        if cols.mbr {
            line.push(r.mbr.map(|id| format!("{id:02x}")));
        }
        // Parents are a list, shown as `-` when empty.
        line.extend([size(r.size), Some(r.parent.clone().unwrap_or_default())]);
        if cols.uuid {
            line.push(r.uuid.clone());
        }
        table.push(line);
    }
    if args.csv {
        return table
            .iter()
            .map(|line| {
                let fields: Vec<String> = line
                    .iter()
                    .map(|c| c.as_deref().map(csv_field).unwrap_or_default())
                    .collect();
                format!("{}\n", fields.join(","))
            })
            .collect();
    }
    // A column with nothing in any row (only possible without the title) is left out, as
    // virt-filesystems leaves it out (an MBR column on a GPT disk); an empty cell shows
    // as `-`.
    let width = |i: usize| {
        table
            .iter()
            .filter_map(|l| l[i].as_deref().map(|c| cell(c).chars().count().max(1)))
            .max()
            .unwrap_or(0)
    };
    let widths: Vec<usize> = (0..head.len()).map(width).collect();
    // virt-filesystems counts all eight of its columns, the hidden ones as empty.
    let total: usize = widths.iter().sum::<usize>() + 8 * 2;
    let gap = if total > 72 { 1 } else { 2 };
    let mut text = String::new();
    let last = (0..head.len()).rev().find(|&i| widths[i] > 0).unwrap_or(0);
    for line in &table {
        let mut l = String::new();
        for (i, c) in line.iter().enumerate() {
            if widths[i] == 0 {
                continue;
            }
            let c = c
                .as_deref()
                .filter(|c| !c.is_empty())
                .map_or_else(|| "-".to_string(), cell);
            if i == last {
                l.push_str(&c);
            } else {
                let pad = widths[i] - c.chars().count() + gap;
                l.push_str(&c);
                l.push_str(&" ".repeat(pad));
            }
        }
        text.push_str(&l);
        text.push('\n');
    }
    text
}

/// A guest-supplied name, escaped.
fn cell(s: &str) -> String {
    guestwright::protocol::escape_bytes(s.as_bytes())
}

/// A CSV field, quoted as virt-filesystems quotes (a space, a quote, a comma, a newline).
fn csv_field(s: &str) -> String {
    if s.contains([' ', '"', '\n', ',']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}
