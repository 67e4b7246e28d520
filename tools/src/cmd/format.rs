//! `guestwright format`: erase disks and make them blank, like virt-format.

use crate::error::{CliError, Result};
use crate::options::{formats_by_image, ApplianceArgs, FormatOptions, ImageArgs};
use crate::session::{self, Access};
use clap::Args;
use guestwright::prelude::*;
use guestwright::Format;
use std::path::PathBuf;

/// Erase every disk given and make it blank (read-write): its filesystem signatures and
/// partition table are erased (all of it with --wipe), then by default one partition fills
/// each disk (MBR below 2 TiB, GPT above), with the LVM volume and filesystem asked for
/// inside. IMPORTANT: this ERASES ALL DATA on the disks.
#[derive(Debug, Args)]
pub struct FormatArgs {
    /// A disk to erase (repeat for several).
    #[arg(short = 'a', long = "add", value_name = "IMAGE", value_hint = clap::ValueHint::FilePath,
          required = true)]
    images: Vec<PathBuf>,
    #[command(flatten)]
    formats: FormatOptions,
    /// Each -a image's format, from where the --format options stand.
    #[arg(skip)]
    placed: Vec<Option<Format>>,
    /// Create an empty filesystem of this type (ext4, xfs, vfat, ntfs, ...); `none` for no
    /// filesystem (the default).
    #[arg(long, value_name = "TYPE")]
    filesystem: Option<String>,
    /// The filesystem's label.
    #[arg(long, value_name = "LABEL")]
    label: Option<String>,
    /// Create an LVM logical volume filling the partition (or disk), /dev/VG/LV by default;
    /// `none` for no LVM (the default without this option).
    #[arg(long, value_name = "/dev/VG/LV", num_args = 0..=1, require_equals = true, default_missing_value = "/dev/VG/LV")]
    lvm: Option<String>,
    /// The partition table: mbr, gpt, or `none` to put what is asked for on the whole
    /// disk; without this option, MBR for disks under 2 TiB and GPT above.
    #[arg(long, value_name = "TYPE", num_args = 0..=1, require_equals = true)]
    partition: Option<Option<String>>,
    /// Write zeroes over the whole disk first, not only over its signatures and partition
    /// table.
    #[arg(long)]
    wipe: bool,
}

/// `VG/LV` or `/dev/VG/LV`, as virt-format parses `--lvm`.
fn parse_vg_lv(s: &str) -> Result<(String, String)> {
    let t = s.strip_prefix("/dev/").unwrap_or(s);
    match t.split_once('/') {
        Some((vg, lv)) if !vg.is_empty() && !lv.is_empty() && !lv.contains('/') => {
            Ok((vg.to_owned(), lv.to_owned()))
        }
        _ => Err(CliError::AsReference(format!(
            "virt-format: cannot parse --lvm option ({t})"
        ))),
    }
}

/// The MBR partition type virt-format sets for what goes in the partition (so that
/// Windows sees the filesystem): LVM's, or the filesystem's.
fn mbr_id(lvm: bool, filesystem: Option<&str>) -> Option<u32> {
    if lvm {
        return Some(0x8e);
    }
    mbr_id_of(filesystem?)
}

/// The MBR partition type virt-format and virt-make-fs give a partition holding a
/// filesystem of type `fstype`, when they know one.
pub fn mbr_id_of(fstype: &str) -> Option<u32> {
    match fstype {
        "msdos" => Some(0x01),
        "fat" | "vfat" => Some(0x0b),
        "ntfs" => Some(0x07),
        "minix" => Some(0x81),
        f if f.starts_with("ext") => Some(0x83),
        _ => None,
    }
}

impl FormatArgs {
    /// The -a images.
    pub fn images(&self) -> &[PathBuf] {
        &self.images
    }

    /// Gives each -a image the last --format before it on the command line `m`.
    pub fn place_formats(&mut self, m: &clap::ArgMatches) {
        self.placed = formats_by_image(&self.formats.format, m);
    }
}

/// Runs `format`.
pub fn run(args: &FormatArgs, appliance: &ApplianceArgs, verbose: bool) -> Result {
    let filesystem = match args.filesystem.as_deref() {
        Some("none") | None => None,
        Some(f) if f.starts_with('-') => {
            return Err(CliError::AsReference(
                "virt-format: no filesystem was specified".into(),
            ))
        }
        Some(f) => Some(f),
    };
    let lvm = match args.lvm.as_deref() {
        None | Some("none") => None,
        Some(s) => Some(parse_vg_lv(s)?),
    };
    // None: no partition table; Some(None): chosen by the disk's size.
    let partition: Option<Option<PartTableType>> = match &args.partition {
        None | Some(None) => Some(None),
        Some(Some(p)) if p == "none" => None,
        Some(Some(p)) => {
            Some(Some(p.parse().map_err(|e: ArgError| {
                CliError::Usage(format!("--partition={p}: {e}"))
            })?))
        }
    };
    let image = ImageArgs {
        rw: true,
        ..ImageArgs::with_formats(
            args.images.clone(),
            args.formats.clone(),
            args.placed.clone(),
        )
    };
    let mut h = session::launch(&image, appliance, Access::ReadWrite, verbose)?;
    let devices: Vec<String> = h
        .list_devices()?
        .into_iter()
        .map(|d| d.device.as_str().to_owned())
        .collect();
    for dev in &devices {
        if args.wipe {
            h.run(args::ZeroDevice::new(dev.as_str()))?;
        } else {
            h.run(args::Wipefs::new(dev.as_str()))?;
            h.run(args::Zero::new(dev.as_str()))?;
        }
        // Gives the space back to the host where the disk can; failing is fine.
        let _ = h.run(args::Blkdiscard::new(dev.as_str()));
    }
    for dev in &devices {
        h.run(args::BlockdevRereadpt::new(dev.as_str()))?;
    }
    h.run(args::LvmScan::new(true))?;
    for dev in &devices {
        let mut target = dev.as_str().to_owned();
        if let Some(choice) = partition {
            let kind = match choice {
                Some(k) => k,
                None => {
                    let size = h.run(args::BlockdevGetsize64::new(dev.as_str()))?;
                    if size < 2 << 40 {
                        PartTableType::Mbr
                    } else {
                        PartTableType::Gpt
                    }
                }
            };
            h.run(args::PartDisk::new(dev.as_str(), kind))?;
            target = format!("{}1", dev.as_str());
            if kind == PartTableType::Mbr {
                if let Some(id) = mbr_id(lvm.is_some(), filesystem) {
                    h.run(args::PartSetMbrId::new(dev.as_str(), 1u32, id))?;
                }
            }
        }
        if let Some((vg, lv)) = &lvm {
            h.run(args::Pvcreate::new(target.as_str()))?;
            h.run(args::Vgcreate::new(
                vg.as_str(),
                vec![Device::from(target.as_str())],
            ))?;
            h.run(args::LvcreateFree::new(lv.as_str(), vg.as_str(), 100u32))?;
            target = format!("/dev/{vg}/{lv}");
        }
        if let Some(fs) = filesystem {
            h.run(args::Mkfs {
                label: args.label.clone(),
                ..args::Mkfs::new(fs, target.as_str())
            })?;
        }
    }
    h.run(args::Sync::new())?;
    h.shutdown()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lvm_names_as_virt_format_takes_them() {
        assert_eq!(
            parse_vg_lv("/dev/VG/LV").unwrap(),
            ("VG".to_owned(), "LV".to_owned())
        );
        assert_eq!(
            parse_vg_lv("data/home").unwrap(),
            ("data".to_owned(), "home".to_owned())
        );
        assert!(parse_vg_lv("justone").is_err());
        assert!(parse_vg_lv("a/b/c").is_err());
    }

    #[test]
    fn mbr_ids() {
        assert_eq!(mbr_id(true, Some("ext4")), Some(0x8e));
        assert_eq!(mbr_id(false, Some("ext4")), Some(0x83));
        assert_eq!(mbr_id(false, Some("vfat")), Some(0x0b));
        assert_eq!(mbr_id(false, Some("xfs")), None);
        assert_eq!(mbr_id(false, None), None);
    }
}
