//! Options shared by the subcommands, parsed by clap and then checked into a plain
//! configuration before any work starts.

use clap::{ArgAction, ArgMatches, Args};
use guestwright::{AccelChoice, Format};
use std::path::PathBuf;

/// How to open the disk images.
#[derive(Debug, Args, Clone)]
pub struct ImageArgs {
    /// A disk image to open (repeat for several disks: /dev/sda, /dev/sdb, ...).
    #[arg(short = 'a', long = "add", value_name = "IMAGE", value_hint = clap::ValueHint::FilePath, required = true)]
    pub images: Vec<PathBuf>,
    #[command(flatten)]
    pub formats: FormatOptions,
    /// Each image's format when `--format` was given more than once, from where the
    /// `--format` options stand among the `-a` options ([`ImageArgs::place_formats`]).
    #[arg(skip)]
    pub placed: Vec<Option<Format>>,
    /// Mount a filesystem: DEVICE[:MOUNTPOINT[:OPTIONS[:FSTYPE]]] (mountpoint defaults to /).
    #[arg(short = 'm', long = "mount", value_name = "DEV[:MP[:OPTS[:FSTYPE]]]", value_parser = parse_mount)]
    pub mounts: Vec<MountSpec>,
    /// Inspect the disks and mount the guest's filesystems the way the guest would (what
    /// commands that work on guest paths do when no -m is given).
    #[arg(short = 'i', long = "inspector")]
    pub inspect: bool,
    /// Open the images read-only: their bytes never change (the default for commands that
    /// only read).
    #[arg(long, conflicts_with = "rw")]
    pub ro: bool,
    /// Open the images read-write (the default for commands that write).
    #[arg(short = 'w', long)]
    pub rw: bool,
}

/// `--format` as the virt-* tools take it, in every command with `-a` images (the clap id
/// `format`, which [`formats_for`] reads the positions of).
#[derive(Debug, Args, Clone, Default)]
pub struct FormatOptions {
    /// The format of the images: raw, qcow2, vmdk, vdi, vhdx, vpc. Detected from the
    /// image's header when not given; QEMU never guesses. Given once, it is every image's;
    /// given more than once, each -a takes the last --format before it, and `--format`
    /// alone (or `--format=auto`) goes back to detection for the -a after it, as in the
    /// virt-* tools (`--format=raw -a disk.img --format -a another.img`).
    #[arg(
        long,
        value_name = "FORMAT",
        value_parser = parse_format_choice,
        num_args = 0..=1,
        require_equals = false,
        default_missing_value = "auto",
        action = ArgAction::Append
    )]
    pub format: Vec<FormatChoice>,
}

/// A `--format` value: a format, or `None` for `auto` (detect).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FormatChoice(pub Option<Format>);

/// Each `-a` image's format (the argument ids `images` and `format`), from where the
/// `--format` options stand among the `-a` options in the subcommand's matches `m`: the
/// last one before it (`None`: detect).
pub fn formats_by_image(formats: &[FormatChoice], m: &ArgMatches) -> Vec<Option<Format>> {
    formats_for(formats, m, "images")
}

/// [`formats_by_image`] for the images of the argument `images_id` (virt-diff's `-a` and
/// `-A` each take the last `--format` before them).
pub fn formats_for(
    formats: &[FormatChoice],
    m: &ArgMatches,
    images_id: &str,
) -> Vec<Option<Format>> {
    let idx =
        |id: &str| -> Vec<usize> { m.indices_of(id).map(|i| i.collect()).unwrap_or_default() };
    let (at_format, at_image) = (idx("format"), idx(images_id));
    at_image
        .iter()
        .map(|&at| {
            at_format
                .iter()
                .zip(formats)
                .filter(|(&f, _)| f < at)
                .map(|(_, c)| c.0)
                .next_back()
                .flatten()
        })
        .collect()
}

/// Parses a `--format` value that may be `auto`.
pub fn parse_format_choice(s: &str) -> Result<FormatChoice, String> {
    match s {
        "auto" => Ok(FormatChoice(None)),
        s => parse_format(s).map(|f| FormatChoice(Some(f))),
    }
}

impl ImageArgs {
    /// The `-a` images, all of one format (`None`: detected).
    pub fn new(images: Vec<PathBuf>, format: Option<Format>) -> ImageArgs {
        ImageArgs {
            images,
            formats: FormatOptions {
                format: vec![FormatChoice(format)],
            },
            placed: Vec::new(),
            mounts: Vec::new(),
            inspect: false,
            ro: false,
            rw: false,
        }
    }

    /// The `-a` images with the `--format` options as given and, when there are several,
    /// each image's format from where they stand (see [`ImageArgs::format_of`]).
    pub fn with_formats(
        images: Vec<PathBuf>,
        formats: FormatOptions,
        placed: Vec<Option<Format>>,
    ) -> ImageArgs {
        ImageArgs {
            formats,
            placed,
            ..ImageArgs::new(images, None)
        }
    }

    /// Reads where the `--format` options stand among the `-a` options in the subcommand's
    /// matches `m`, when there are several, so each image gets the last one before it.
    pub fn place_formats(&mut self, m: &ArgMatches) {
        if self.formats.format.len() < 2 {
            return;
        }
        self.placed = formats_by_image(&self.formats.format, m);
    }

    /// The format of the `i`th image (`None`: detect it).
    pub fn format_of(&self, i: usize) -> Option<Format> {
        match &self.formats.format[..] {
            [] => None,
            [one] => one.0,
            _ => self.placed.get(i).copied().flatten(),
        }
    }

    /// Read-write only when asked, or when the command writes and read-only was not asked.
    pub fn access(&self, default: crate::session::Access) -> crate::session::Access {
        use crate::session::Access;
        match (self.ro, self.rw) {
            (true, _) => Access::ReadOnly,
            (_, true) => Access::ReadWrite,
            _ => default,
        }
    }
}

/// How to run the appliance.
#[derive(Debug, Args, Clone)]
pub struct ApplianceArgs {
    /// Accelerator: auto (KVM when it works here, else TCG), kvm or tcg.
    #[arg(
        long,
        value_name = "ACCEL",
        env = "GUESTWRIGHT_ACCEL",
        default_value = "auto",
        value_parser = parse_accel,
        global = true
    )]
    pub accel: AccelChoice,
    /// Follow raw backing files (which have no header to check) under DIR too, not only
    /// in the directory tree of the image that names them. Repeatable; the directories in
    /// GUESTWRIGHT_ALLOW_BACKING (separated by ':') are added.
    #[arg(long = "allow-backing", value_name = "DIR", global = true,
          value_parser = parse_absolute_dir)]
    pub allow_backing: Vec<PathBuf>,
    /// Always boot the appliance, never restore a saved one (the same as
    /// GUESTWRIGHT_SNAPSHOT=0).
    #[arg(long = "no-snapshot", global = true)]
    pub no_snapshot: bool,
    #[command(flatten)]
    pub keys: crate::keys::KeyArgs,
}

impl ApplianceArgs {
    /// Puts these options into the launch settings (which hold the environment's already).
    /// A `--key` that cannot be used is an error.
    pub fn configure(
        &self,
        config: &mut guestwright::LaunchConfig,
    ) -> Result<(), guestwright::Error> {
        config.accel = self.accel;
        if self.no_snapshot {
            config.snapshot = false;
        }
        config
            .allow_backing
            .extend(self.allow_backing.iter().cloned());
        config.keys = self.keys.keys()?;
        Ok(())
    }
}

/// Parses `--allow-backing DIR` into an absolute path, so a later change of directory
/// cannot change what it allows.
fn parse_absolute_dir(s: &str) -> Result<PathBuf, String> {
    std::path::absolute(s).map_err(|e| format!("{s:?} cannot be made absolute: {e}"))
}

/// Parses `--accel`, which may come from `GUESTWRIGHT_ACCEL`: the message names both, as
/// clap cannot say which one it was.
pub fn parse_accel(s: &str) -> Result<AccelChoice, String> {
    s.parse().map_err(|_| {
        format!(
            "{s:?} is not an accelerator: use auto, kvm or tcg (in --accel or GUESTWRIGHT_ACCEL)"
        )
    })
}

/// One `-m` option.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountSpec {
    /// The device, e.g. /dev/sda1.
    pub device: String,
    /// Where in the guest tree.
    pub mountpoint: String,
    /// Mount options.
    pub options: Option<String>,
    /// A forced filesystem type.
    pub fstype: Option<String>,
}

/// Parses a `--format` value.
pub fn parse_format(s: &str) -> Result<Format, String> {
    s.parse()
}

/// Parses `DEV[:MOUNTPOINT[:OPTIONS[:FSTYPE]]]`.
pub fn parse_mount(s: &str) -> Result<MountSpec, String> {
    let mut parts = s.splitn(4, ':');
    let device = parts.next().unwrap_or_default().to_string();
    if !device.starts_with("/dev/") {
        return Err(format!(
            "'{device}' is not a device: write -m /dev/sda1 or -m /dev/sda1:/boot"
        ));
    }
    let mountpoint = parts
        .next()
        .filter(|m| !m.is_empty())
        .unwrap_or("/")
        .to_string();
    if !mountpoint.starts_with('/') {
        return Err(format!(
            "mountpoint '{mountpoint}' must be an absolute guest path"
        ));
    }
    let options = parts.next().filter(|o| !o.is_empty()).map(str::to_string);
    let fstype = parts.next().filter(|o| !o.is_empty()).map(str::to_string);
    Ok(MountSpec {
        device,
        mountpoint,
        options,
        fstype,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mount_specs() {
        assert_eq!(
            parse_mount("/dev/sda2").unwrap(),
            MountSpec {
                device: "/dev/sda2".into(),
                mountpoint: "/".into(),
                options: None,
                fstype: None
            }
        );
        assert_eq!(
            parse_mount("/dev/sda1:/boot:ro,noatime:ext4").unwrap(),
            MountSpec {
                device: "/dev/sda1".into(),
                mountpoint: "/boot".into(),
                options: Some("ro,noatime".into()),
                fstype: Some("ext4".into())
            }
        );
        assert_eq!(
            parse_mount("/dev/vg/lv::ro").unwrap().options.as_deref(),
            Some("ro")
        );
        assert!(parse_mount("sda1").is_err());
        assert!(parse_mount("/dev/sda1:boot").is_err());
    }
}
