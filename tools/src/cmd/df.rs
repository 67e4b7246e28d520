//! `guestwright df`: free space of each filesystem in a disk image, like virt-df.

use crate::error::{stdout, Result};
use crate::format::human;
use crate::options::{ApplianceArgs, ImageArgs};
use crate::session::{self, Access};
use clap::Args;
use guestwright::prelude::*;
use std::io::Write;

/// Show the size, used and available space of every filesystem in a disk image (read-only).
#[derive(Debug, Args)]
pub struct DfArgs {
    #[command(flatten)]
    image: ImageArgs,
    /// Sizes like 1.5G instead of 1K blocks.
    #[arg(short = 'H', long = "human-readable")]
    human: bool,
    /// Inodes instead of blocks.
    #[arg(long)]
    inodes: bool,
}

/// Filesystems df can mount and measure.
const MEASURABLE: &[&str] = &[
    "ext2", "ext3", "ext4", "xfs", "btrfs", "vfat", "exfat", "iso9660", "udf", "squashfs", "ntfs",
];

/// Runs `df`.
pub fn run(args: &DfArgs, appliance: &ApplianceArgs, verbose: bool) -> Result {
    let access = args.image.access(Access::ReadOnly);
    let mut h = session::launch(&args.image, appliance, access, verbose)?;
    let image_name = |dev: &Device| -> String {
        // `disk.img:/dev/sda1`, like virt-df names them; the disk letter picks the image.
        let letter = dev
            .as_str()
            .strip_prefix("/dev/sd")
            .and_then(|r| r.bytes().next());
        let image = letter
            .and_then(|l| args.image.images.get((l - b'a') as usize))
            .and_then(|p| p.file_name())
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if image.is_empty() {
            dev.to_string()
        } else {
            format!("{image}:{dev}")
        }
    };
    let mut rows = Vec::new();
    for fs in h
        .list_filesystems()?
        .into_iter()
        .filter(|f| MEASURABLE.contains(&f.fstype.as_str()))
    {
        if let Err(e) = h.mount(&fs.device, "/", None, None, Some(true)) {
            log::warn!(
                "{} not measured: {}",
                fs.device,
                guestwright::error::chain(&e)
            );
            continue;
        }
        let v = h.statvfs("/");
        h.umount_all()?;
        let v = v?;
        rows.push((image_name(&fs.device), v));
    }
    h.shutdown()?;

    let mut text = String::new();
    let head = match (args.inodes, args.human) {
        (true, _) => ["Filesystem", "Inodes", "IUsed", "IFree", "IUse%"],
        (false, true) => ["Filesystem", "Size", "Used", "Available", "Use%"],
        (false, false) => ["Filesystem", "1K-blocks", "Used", "Available", "Use%"],
    };
    let name_width = rows
        .iter()
        .map(|r| r.0.len())
        .max()
        .unwrap_or(0)
        .max(head[0].len());
    text.push_str(&format!(
        "{:<name_width$} {:>10} {:>10} {:>10} {:>5}\n",
        head[0], head[1], head[2], head[3], head[4]
    ));
    for (name, v) in rows {
        let (total, used, avail) = if args.inodes {
            (v.files, v.files.saturating_sub(v.ffree), v.favail)
        } else {
            let unit = v.frsize.max(1);
            (
                v.blocks * unit,
                (v.blocks.saturating_sub(v.bfree)) * unit,
                v.bavail * unit,
            )
        };
        // Use% as df computes it: used / (used + available), rounded up.
        let pct = if used + avail == 0 {
            0
        } else {
            (used * 100).div_ceil(used + avail)
        };
        let show = |n: u64| match (args.inodes, args.human) {
            (true, _) => n.to_string(),
            (false, true) => human(n),
            (false, false) => (n / 1024).to_string(),
        };
        text.push_str(&format!(
            "{name:<name_width$} {:>10} {:>10} {:>10} {:>4}%\n",
            show(total),
            show(used),
            show(avail),
            pct
        ));
    }
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes()).map_err(stdout)?;
    out.flush().map_err(stdout)
}
