//! `guestwright df`: free space of each filesystem in a disk image, like virt-df.

use crate::error::{stdout, Result};
use crate::format::human;
use crate::options::{ApplianceArgs, ImageArgs};
use crate::session::{self, Access};
use clap::Args;
use guestwright::prelude::*;
use std::io::Write;

/// Show the size, used and available space of every filesystem in a disk image (read-only).
///
/// Prints what virt-df prints: `-h` means --human-readable, as there (--help is long only).
#[derive(Debug, Args)]
#[command(disable_help_flag = true)]
pub struct DfArgs {
    #[command(flatten)]
    pub(crate) image: ImageArgs,
    /// Sizes like 1.5G instead of 1K blocks.
    #[arg(short = 'h', short_alias = 'H', long = "human-readable")]
    human: bool,
    /// Inodes instead of blocks.
    #[arg(long)]
    inodes: bool,
    /// Comma-separated values, with the image name and the device in separate columns
    /// and Use% with one decimal.
    #[arg(long)]
    csv: bool,
    /// Print help.
    #[arg(long, action = clap::ArgAction::Help)]
    help: Option<bool>,
}

/// Filesystems df can mount and measure.
const MEASURABLE: &[&str] = &[
    "ext2", "ext3", "ext4", "xfs", "btrfs", "vfat", "exfat", "iso9660", "udf", "squashfs", "ntfs",
];

/// The name virt-df gives the guest of every row: the first image's file name, with a `+`
/// for each further disk (`disk.img++` for three), since the -a disks are one guest.
fn display_name(images: &[std::path::PathBuf]) -> String {
    let Some(first) = images.first() else {
        return String::new();
    };
    let s = first.to_string_lossy();
    let base = s.rsplit('/').next().unwrap_or(&s);
    format!("{base}{}", "+".repeat(images.len() - 1))
}

/// Runs `df`.
pub fn run(args: &DfArgs, appliance: &ApplianceArgs, verbose: bool) -> Result {
    let access = args.image.access(Access::ReadOnly);
    let mut h = session::launch(&args.image, appliance, access, verbose)?;
    session::open_encrypted(&h)?;
    let name = display_name(&args.image.images);
    let mut rows = Vec::new();
    for fs in h
        .list_filesystems()?
        .into_iter()
        .filter(|f| MEASURABLE.contains(&f.fstype.as_str()))
    {
        if let Err(e) = h.run(args::Mount::new(&fs.device, "/").readonly(true)) {
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
        rows.push((name.clone(), fs.device.to_string(), v));
    }
    h.shutdown()?;

    let mut text = title(args);
    for (image, dev, v) in rows {
        text.push_str(&row(args, &image, &dev, &v));
    }
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes()).map_err(stdout)?;
    out.flush().map_err(stdout)
}

/// virt-df's title line.
fn title(args: &DfArgs) -> String {
    let cols = match (args.inodes, args.human) {
        (true, _) => ["Inodes", "IUsed", "IFree", "IUse%"],
        (false, true) => ["Size", "Used", "Available", "Use%"],
        (false, false) => ["1K-blocks", "Used", "Available", "Use%"],
    };
    if args.csv {
        format!("VirtualMachine,Filesystem,{}\n", cols.join(","))
    } else {
        format!(
            "{:<36}{:>10} {:>10} {:>10} {:>5}\n",
            "Filesystem", cols[0], cols[1], cols[2], cols[3]
        )
    }
}

/// One filesystem's line, as virt-df prints it: sizes in the filesystem's blocks scaled to
/// 1K (or human sizes), Use% as 100 - free/total, rounded up (one decimal in CSV).
fn row(args: &DfArgs, image: &str, dev: &str, v: &StatVfs) -> String {
    let bsize = v.bsize.max(1);
    let (cols, percent) = if args.inodes {
        let cols = [v.files, v.files.saturating_sub(v.ffree), v.ffree].map(|n| n.to_string());
        (cols, used_percent(v.ffree, v.files))
    } else {
        let show = |blocks: u64| {
            let bytes = u128::from(blocks) * u128::from(bsize);
            if args.human {
                human(u64::try_from(bytes).unwrap_or(u64::MAX))
            } else {
                (bytes / 1024).to_string()
            }
        };
        let cols = [
            show(v.blocks),
            show(v.blocks.saturating_sub(v.bfree)),
            show(v.bavail),
        ];
        (cols, used_percent(v.bfree, v.blocks))
    };
    if args.csv {
        let mut fields = vec![csv_field(image), csv_field(dev)];
        fields.extend(cols.iter().map(|c| csv_field(c)));
        fields.push(format!("{percent:.1}"));
        return format!("{}\n", fields.join(","));
    }
    let name = if image.is_empty() {
        dev.to_string()
    } else {
        format!("{image}:{dev}")
    };
    let mut line = name.clone();
    if name.len() <= 36 {
        line.push_str(&" ".repeat(36 - name.len()));
    } else {
        line.push('\n');
        line.push_str(&" ".repeat(36));
    }
    let pct = format!("{:>3}%", percent.ceil() as u64);
    line.push_str(&format!(
        "{:>10} {:>10} {:>10} {:>5}\n",
        cols[0], cols[1], cols[2], pct
    ));
    line
}

/// 100 - 100 * free / total, as a float (0 for an empty filesystem).
fn used_percent(free: u64, total: u64) -> f64 {
    if total == 0 {
        0.0
    } else {
        100.0 - 100.0 * free as f64 / total as f64
    }
}

/// A CSV field, quoted when it holds a comma, a quote or a line break.
fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        df: DfArgs,
    }

    fn args(words: &[&str]) -> DfArgs {
        let mut argv = vec!["df", "-a", "disk.img"];
        argv.extend(words);
        Cli::try_parse_from(argv).unwrap().df
    }

    fn stat(blocks: u64, bfree: u64, bavail: u64) -> StatVfs {
        StatVfs {
            bsize: 1024,
            frsize: 1024,
            blocks,
            bfree,
            bavail,
            files: 10240,
            ffree: 10193,
            favail: 10193,
            fsid: 0,
            flag: 0,
            namemax: 255,
        }
    }

    #[test]
    fn lines_as_virt_df_prints_them() {
        let a = args(&[]);
        assert_eq!(
            title(&a),
            "Filesystem                           1K-blocks       Used  Available  Use%\n"
        );
        assert_eq!(
            row(&a, "disk.img", "/dev/sda1", &stat(33519, 33181, 30314)),
            "disk.img:/dev/sda1                       33519        338      30314    2%\n"
        );
        let a = args(&["--csv"]);
        assert_eq!(
            title(&a),
            "VirtualMachine,Filesystem,1K-blocks,Used,Available,Use%\n"
        );
        assert_eq!(
            row(&a, "disk.img", "/dev/sda", &stat(25844, 25506, 23213)),
            "disk.img,/dev/sda,25844,338,23213,1.3\n"
        );
        assert!(args(&["-h"]).human && args(&["-H"]).human);
        assert_eq!(csv_field("a,b"), "\"a,b\"");
    }

    #[test]
    fn the_disks_are_one_guest_named_after_the_first() {
        let p = |v: &[&str]| v.iter().map(std::path::PathBuf::from).collect::<Vec<_>>();
        assert_eq!(display_name(&p(&["/x/disk.img"])), "disk.img");
        assert_eq!(display_name(&p(&["disk.img", "/y/b.img"])), "disk.img+");
        assert_eq!(display_name(&p(&["a/w-a", "w-b", "w-c"])), "w-a++");
    }
}
