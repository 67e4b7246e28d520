//! `guestwright filesystems`: what is on a disk image's block devices, like virt-filesystems.

use crate::error::{stdout, Result};
use crate::format::human;
use crate::options::{ApplianceArgs, ImageArgs};
use crate::session::{self, Access};
use clap::Args;
use guestwright::prelude::*;
use std::io::Write;

/// List the filesystems, partitions, disks and LVM objects of a disk image (read-only).
#[derive(Debug, Args)]
pub struct FilesystemsArgs {
    #[command(flatten)]
    image: ImageArgs,
    /// Everything: filesystems, partitions, disks, LVs, VGs and PVs.
    #[arg(long)]
    all: bool,
    /// Filesystems (the default when nothing else is asked for).
    #[arg(long)]
    filesystems: bool,
    /// Also swap, unknown content and encrypted volumes among the filesystems.
    #[arg(long)]
    extra: bool,
    /// Partitions.
    #[arg(long)]
    partitions: bool,
    /// Whole disks.
    #[arg(long)]
    disks: bool,
    /// LVM logical volumes.
    #[arg(long)]
    lvs: bool,
    /// LVM volume groups.
    #[arg(long)]
    vgs: bool,
    /// LVM physical volumes.
    #[arg(long)]
    pvs: bool,
    /// Columns: name, type, filesystem, label, size, parent.
    #[arg(short = 'l', long)]
    long: bool,
    /// Sizes like 1.5G instead of bytes (with --long).
    #[arg(short = 'H', long = "human-readable")]
    human: bool,
}

struct Row {
    name: String,
    kind: &'static str,
    vfs: String,
    label: String,
    size: Option<u64>,
    parent: String,
}

/// Runs `filesystems`.
pub fn run(args: &FilesystemsArgs, appliance: &ApplianceArgs, verbose: bool) -> Result {
    let access = args.image.access(Access::ReadOnly);
    let mut h = session::launch(&args.image, appliance, access, verbose)?;
    let want_fs = args.all
        || args.filesystems
        || !(args.partitions || args.disks || args.lvs || args.vgs || args.pvs);
    let mut rows = Vec::new();
    let size = |h: &Handle, d: &Device| {
        if args.long {
            h.blockdev_getsize64(d).ok()
        } else {
            None
        }
    };
    if want_fs {
        for f in h.list_filesystems()? {
            let extra = matches!(
                f.fstype.as_str(),
                "swap" | "unknown" | "crypto_LUKS" | "LVM2_member"
            );
            if extra && !(args.extra || args.all) {
                continue;
            }
            let s = size(&h, &f.device);
            rows.push(Row {
                name: f.device.to_string(),
                kind: "filesystem",
                vfs: f.fstype,
                label: f.label.unwrap_or_default(),
                size: s,
                parent: String::new(),
            });
        }
    }
    if args.all || args.partitions {
        for p in h.list_partitions()? {
            rows.push(Row {
                name: p.device.to_string(),
                kind: "partition",
                vfs: String::new(),
                label: String::new(),
                size: Some(p.size),
                parent: p.parent.to_string(),
            });
        }
    }
    if args.all || args.disks {
        for d in h.list_devices()? {
            rows.push(Row {
                name: d.device.to_string(),
                kind: "device",
                vfs: String::new(),
                label: String::new(),
                size: Some(d.size),
                parent: String::new(),
            });
        }
    }
    let lvm = args.all || args.lvs || args.vgs || args.pvs;
    if lvm && h.feature_available(vec!["lvm2".to_string()])? {
        if args.all || args.lvs {
            for lv in h.lvs_full()? {
                rows.push(Row {
                    name: lv.device.to_string(),
                    kind: "lv",
                    vfs: String::new(),
                    label: String::new(),
                    size: Some(lv.size),
                    parent: format!("/dev/{}", lv.vg),
                });
            }
        }
        if args.all || args.vgs {
            for vg in h.vgs_full()? {
                rows.push(Row {
                    name: format!("/dev/{}", vg.name),
                    kind: "vg",
                    vfs: String::new(),
                    label: String::new(),
                    size: Some(vg.size),
                    parent: String::new(),
                });
            }
        }
        if args.all || args.pvs {
            for pv in h.pvs_full()? {
                rows.push(Row {
                    name: pv.device.to_string(),
                    kind: "pv",
                    vfs: String::new(),
                    label: String::new(),
                    size: Some(pv.size),
                    parent: String::new(),
                });
            }
        }
    }
    h.shutdown()?;

    let mut out = std::io::stdout().lock();
    let mut text = String::new();
    if args.long {
        let sz = |s: Option<u64>| {
            s.map(|b| if args.human { human(b) } else { b.to_string() })
                .unwrap_or_else(|| "-".into())
        };
        let cells: Vec<[String; 6]> = rows
            .iter()
            .map(|r| {
                [
                    r.name.clone(),
                    r.kind.to_string(),
                    or_dash(&r.vfs),
                    or_dash(&r.label),
                    sz(r.size),
                    or_dash(&r.parent),
                ]
            })
            .collect();
        let header = ["Name", "Type", "VFS", "Label", "Size", "Parent"].map(String::from);
        let mut widths = header.clone().map(|h| h.len());
        for c in &cells {
            for (w, v) in widths.iter_mut().zip(c) {
                *w = (*w).max(v.chars().count());
            }
        }
        for line in std::iter::once(&header).chain(&cells) {
            let mut l = String::new();
            for (i, (v, w)) in line.iter().zip(widths).enumerate() {
                if i == 4 {
                    l.push_str(&format!("{v:>w$} "));
                } else {
                    l.push_str(&format!("{v:<w$} "));
                }
            }
            text.push_str(l.trim_end());
            text.push('\n');
        }
    } else {
        for r in &rows {
            text.push_str(&r.name);
            text.push('\n');
        }
    }
    out.write_all(text.as_bytes()).map_err(stdout)?;
    out.flush().map_err(stdout)
}

fn or_dash(s: &str) -> String {
    if s.is_empty() {
        "-".into()
    } else {
        guestwright::protocol::escape_bytes(s.as_bytes())
    }
}
