//! One binary, many names: started as `guestfish`, `virt-cat`, `guestmount`, ... guestwright
//! runs the subcommand that does that tool's work, which takes that tool's spelling of the
//! options. `guestwright install-links DIR` creates the names as symbolic links.

use crate::error::{CliError, Result};
use clap::Args;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// The names guestwright answers to, and the subcommand each one runs.
pub const NAMES: &[(&str, &str)] = &[
    ("guestfish", "shell"),
    ("virt-cat", "cat"),
    ("virt-ls", "ls"),
    ("virt-copy-in", "copy-in"),
    ("virt-copy-out", "copy-out"),
    ("virt-tar-in", "tar-in"),
    ("virt-tar-out", "tar-out"),
    ("virt-edit", "edit"),
    ("virt-inspector", "inspect"),
    ("virt-filesystems", "filesystems"),
    ("virt-df", "df"),
    ("virt-diff", "diff"),
    ("virt-format", "format"),
    ("virt-make-fs", "make-fs"),
    ("virt-customize", "customize"),
    ("virt-sysprep", "sysprep"),
    ("virt-rescue", "rescue"),
    ("guestmount", "mount"),
    ("guestunmount", "umount"),
];

/// The reference tool's name this process was started as (`virt-cat`, `guestmount`, ...),
/// if it was started as one of [`NAMES`].
pub fn started_as() -> Option<&'static str> {
    let arg0 = std::env::args_os().next()?;
    let name = Path::new(&arg0).file_name()?;
    NAMES.iter().map(|(n, _)| *n).find(|n| name == *n)
}

/// The command line as guestwright's own: when started under one of [`NAMES`], the
/// subcommand goes after the program name.
pub fn as_subcommand(mut args: Vec<OsString>) -> Vec<OsString> {
    let name = args
        .first()
        .and_then(|a| Path::new(a).file_name())
        .and_then(|n| n.to_str())
        .unwrap_or_default()
        .to_string();
    if let Some((_, sub)) = NAMES.iter().find(|(n, _)| *n == name) {
        args = old_style(&name, args);
        args.insert(1, OsString::from(*sub));
        // virt-customize and virt-sysprep print their progress on standard output, in
        // their words, where `guestwright customize` keeps standard output for its report.
        if *sub == "customize" || *sub == "sysprep" {
            args.insert(2, OsString::from("--messages=virt"));
        }
        // `virt-inspector` prints XML, the one output it has.
        if *sub == "inspect" && !args.iter().any(|a| a == "--xml" || a == "--json") {
            args.insert(2, OsString::from("--xml"));
        }
        // guestmount mounts read-write unless --ro (libguestfs-tools.conf's default), where
        // `guestwright mount` is read-only unless --rw.
        if *sub == "mount"
            && !args
                .iter()
                .any(|a| ["--ro", "-r", "--rw", "-w"].contains(&a.to_str().unwrap_or_default()))
        {
            args.insert(2, OsString::from("--rw"));
        }
    }
    args
}

/// Create symbolic links named guestfish, virt-cat, virt-ls, ... (each runs the matching
/// subcommand with that tool's options) to this program in DIR.
///
/// An existing file of the same name is left alone (and reported) unless --force is given.
/// The tools that still take their old-style command line (`virt-cat disk.img /etc/fstab`,
/// `virt-inspector disk.img`) when no -a or -d is given, and how many of the last
/// arguments are not disk images.
const OLD_STYLE: &[(&str, usize)] = &[
    ("virt-cat", 1),
    ("virt-ls", 1),
    ("virt-edit", 1),
    ("virt-inspector", 0),
    ("virt-df", 0),
];

/// Their options that take the next argument as their value.
const TAKES_VALUE: &[&str] = &[
    "-a",
    "--add",
    "-c",
    "--connect",
    "-d",
    "--domain",
    "-m",
    "--mount",
    "--key",
    "-e",
    "--expr",
    "--edit",
    "-b",
    "--backup",
    "--xpath",
];

/// Rewrites an old-style command line of the tool `name` into the -a form: with no -a and
/// no -d, the arguments that are not options (all but the last ones the tool reads as
/// guest paths) are the disk images, as in the reference, which takes such an argument
/// that holds no '/' and names no host file as a libvirt guest instead: that one is left
/// as it is, for the tool to refuse.
fn old_style(name: &str, args: Vec<OsString>) -> Vec<OsString> {
    let Some(&(_, keep)) = OLD_STYLE.iter().find(|(n, _)| *n == name) else {
        return args;
    };
    let word = |a: &OsString| a.to_str().unwrap_or_default().to_string();
    let names_drive = |w: &str| {
        ["-a", "--add", "-d", "--domain"].contains(&w)
            || w.starts_with("--add=")
            || w.starts_with("--domain=")
            || (w.starts_with("-a") && !w.starts_with("--"))
            || (w.starts_with("-d") && !w.starts_with("--"))
    };
    if args.iter().skip(1).any(|a| names_drive(&word(a))) {
        return args;
    }
    let mut positional = Vec::new();
    let mut i = 1;
    let mut options_end = false;
    while i < args.len() {
        let w = word(&args[i]);
        if options_end || !w.starts_with('-') || w == "-" {
            positional.push(i);
        } else if w == "--" {
            options_end = true;
        } else if TAKES_VALUE.contains(&w.as_str()) {
            i += 1;
        }
        i += 1;
    }
    let disks = &positional[..positional.len().saturating_sub(keep)];
    let mut out = Vec::with_capacity(args.len() + disks.len());
    for (i, a) in args.into_iter().enumerate() {
        let w = word(&a);
        if disks.contains(&i) && (w.contains('/') || Path::new(&a).exists()) {
            out.push(OsString::from("-a"));
        }
        out.push(a);
    }
    out
}

#[derive(Debug, Args)]
pub struct InstallLinksArgs {
    /// Where to create the links (it must exist).
    #[arg(value_name = "DIR")]
    dir: PathBuf,
    /// Replace existing files of the same names.
    #[arg(long)]
    force: bool,
    /// What the links point to, written into them as given (default: this program's
    /// absolute path). For packages: `--to ../../../bin/guestwright` in
    /// usr/lib/guestwright/bin of a staging tree.
    #[arg(long, value_name = "PATH")]
    to: Option<PathBuf>,
}

/// Runs `guestwright install-links`.
pub fn run(args: &InstallLinksArgs) -> Result {
    let target = match &args.to {
        Some(to) => to.clone(),
        None => std::env::current_exe().map_err(|source| CliError::HostIo {
            path: PathBuf::from("/proc/self/exe"),
            source,
        })?,
    };
    if !args.dir.is_dir() {
        return Err(CliError::Usage(format!(
            "install-links: {} is not a directory: create it first (mkdir -p)",
            args.dir.display()
        )));
    }
    let mut kept = Vec::new();
    for (name, _) in NAMES {
        let link = args.dir.join(name);
        if std::fs::symlink_metadata(&link).is_ok() {
            if std::fs::read_link(&link).is_ok_and(|t| t == target) {
                continue;
            }
            if !args.force {
                kept.push(link);
                continue;
            }
            std::fs::remove_file(&link).map_err(|source| CliError::HostIo {
                path: link.clone(),
                source,
            })?;
        }
        std::os::unix::fs::symlink(&target, &link)
            .map_err(|source| CliError::HostIo { path: link, source })?;
    }
    if !kept.is_empty() {
        let names: Vec<String> = kept.iter().map(|p| p.display().to_string()).collect();
        return Err(CliError::Usage(format!(
            "install-links: these exist and were left alone: {}; rerun with --force to \
             replace them",
            names.join(", ")
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(a: &[&str]) -> Vec<OsString> {
        a.iter().map(OsString::from).collect()
    }

    #[test]
    fn a_tool_name_becomes_its_subcommand() {
        assert_eq!(
            as_subcommand(words(&["/usr/bin/virt-cat", "-a", "x", "/etc/hostname"])),
            words(&["/usr/bin/virt-cat", "cat", "-a", "x", "/etc/hostname"])
        );
        assert_eq!(
            as_subcommand(words(&["guestfish", "-N", "fs"])),
            words(&["guestfish", "shell", "-N", "fs"])
        );
        assert_eq!(
            as_subcommand(words(&["virt-inspector", "-a", "x"])),
            words(&["virt-inspector", "inspect", "--xml", "-a", "x"])
        );
        assert_eq!(
            as_subcommand(words(&["guestwright", "cat"])),
            words(&["guestwright", "cat"])
        );
        // guestmount's default is read-write; `guestwright mount`'s stays read-only.
        assert_eq!(
            as_subcommand(words(&["guestmount", "-a", "x", "-i", "m"])),
            words(&["guestmount", "mount", "--rw", "-a", "x", "-i", "m"])
        );
        assert_eq!(
            as_subcommand(words(&["guestmount", "-r", "-a", "x", "-i", "m"])),
            words(&["guestmount", "mount", "-r", "-a", "x", "-i", "m"])
        );
        assert_eq!(
            as_subcommand(words(&["guestwright", "mount", "-a", "x", "-i", "m"])),
            words(&["guestwright", "mount", "-a", "x", "-i", "m"])
        );
    }

    #[test]
    fn virt_customize_and_virt_sysprep_print_their_own_progress_messages() {
        assert_eq!(
            as_subcommand(words(&["virt-customize", "-a", "x", "--hostname", "h"])),
            words(&[
                "virt-customize",
                "customize",
                "--messages=virt",
                "-a",
                "x",
                "--hostname",
                "h"
            ])
        );
        assert_eq!(
            as_subcommand(words(&["/usr/bin/virt-sysprep", "-a", "x"])),
            words(&[
                "/usr/bin/virt-sysprep",
                "sysprep",
                "--messages=virt",
                "-a",
                "x"
            ])
        );
        // guestwright's own subcommands keep their messages on standard error.
        assert_eq!(
            as_subcommand(words(&["guestwright", "customize", "-a", "x"])),
            words(&["guestwright", "customize", "-a", "x"])
        );
    }

    #[test]
    fn an_old_style_command_line_names_its_disks_with_a() {
        assert_eq!(
            as_subcommand(words(&["virt-cat", "./disk.img", "/etc/fstab"])),
            words(&["virt-cat", "cat", "-a", "./disk.img", "/etc/fstab"])
        );
        assert_eq!(
            as_subcommand(words(&[
                "virt-ls",
                "-l",
                "-m",
                "/dev/sda1",
                "a/d1",
                "a/d2",
                "/etc"
            ])),
            words(&[
                "virt-ls",
                "ls",
                "-l",
                "-m",
                "/dev/sda1",
                "-a",
                "a/d1",
                "-a",
                "a/d2",
                "/etc"
            ])
        );
        assert_eq!(
            as_subcommand(words(&["virt-inspector", "/x/disk.img"])),
            words(&["virt-inspector", "inspect", "--xml", "-a", "/x/disk.img"])
        );
        // --xpath's query is not a disk, though it holds a '/'.
        assert_eq!(
            as_subcommand(words(&["virt-inspector", "--xpath", "//filesystems"])),
            words(&[
                "virt-inspector",
                "inspect",
                "--xml",
                "--xpath",
                "//filesystems"
            ])
        );
        // With -a, or for a guest name (libvirt), nothing changes.
        assert_eq!(
            as_subcommand(words(&["virt-cat", "-a", "d/x", "/etc/fstab", "/etc/motd"])),
            words(&["virt-cat", "cat", "-a", "d/x", "/etc/fstab", "/etc/motd"])
        );
        assert_eq!(
            as_subcommand(words(&["virt-edit", "no-such-guest", "/etc/fstab"])),
            words(&["virt-edit", "edit", "no-such-guest", "/etc/fstab"])
        );
        assert_eq!(
            as_subcommand(words(&["guestwright", "cat"])),
            words(&["guestwright", "cat"])
        );
    }

    #[test]
    fn virt_edit_takes_edit_as_e() {
        // virt-edit's -e is also --edit, with its value (not an old-style disk).
        assert_eq!(
            as_subcommand(words(&[
                "virt-edit",
                "dir/d.img",
                "/etc/motd",
                "--edit",
                "s/a/b/"
            ])),
            words(&[
                "virt-edit",
                "edit",
                "-a",
                "dir/d.img",
                "/etc/motd",
                "--edit",
                "s/a/b/"
            ])
        );
    }
}
