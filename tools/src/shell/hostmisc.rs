//! guestfish's host-side commands about drives and the appliance that are not settings:
//! `disk-format`, `disk-virtual-size`, `disk-has-backing-file` (read from the image's
//! header on the host, as guestwright always does, never by asking QEMU to probe),
//! `add-drive-with-if`, `add-drive-ro-with-if`, `remove-drive`, `add-domain`, `ping-daemon`,
//! `sleep`, `get-pid`, `available-all-groups`, `supported`, the debugging calls, and the
//! viewers (`more`, `less`, `display`, `hexedit`, `man`).

use super::output::{Output, PipeError};
use super::{fisherr, Shell, ShellError};
use guestwright::drive::format::{self, Detected};
use guestwright::prelude::*;
use guestwright::protocol::shell::ShellArg;
use std::process::Command;

/// Every name this module answers to.
pub const NAMES: &[&str] = &[
    "disk-format",
    "disk-virtual-size",
    "disk-has-backing-file",
    "add-drive-with-if",
    "add-drive-ro-with-if",
    "remove-drive",
    "add-domain",
    "domain",
    "ping-daemon",
    "sleep",
    "get-pid",
    "pid",
    "available-all-groups",
    "supported",
    "internal-exit",
    "debug-drives",
    "debug-upload",
    "more",
    "less",
    "display",
    "hexedit",
    "man",
    "manual",
];

/// The optional groups the appliance can be asked about (`available`).
const GROUPS: &[&str] = &[
    "btrfs", "exfat", "ext2", "fstrim", "gdisk", "luks", "lvm2", "mkswap", "ntfs3", "vfat",
    "wipefs", "xfs",
];

use super::commands::print_text as print;

fn count(name: &str, args: &[String], n: usize, usage: &str) -> Result<(), ShellError> {
    if args.len() == n {
        Ok(())
    } else {
        Err(ShellError::Fish(fisherr::wrong_count_of(name, usage)))
    }
}

/// libguestfs's message when `qemu-img info` cannot read an image.
/// The home directory for the shell's `~` (see [`super::parse::expand_tilde`]): for `~`,
/// `$HOME`, else this user's entry in /etc/passwd (guestfish falls back the same way when
/// HOME is unset); for `~USER`, USER's entry.
pub fn home_dir(user: Option<&str>) -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    if user.is_none() {
        if let Some(home) = std::env::var_os("HOME") {
            return Some(home.to_string_lossy().into_owned());
        }
    }
    let uid = std::fs::metadata("/proc/self").ok()?.uid().to_string();
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|line| {
        let f: Vec<&str> = line.split(':').collect();
        let matches = match user {
            Some(u) => f.first() == Some(&u),
            None => f.get(2) == Some(&uid.as_str()),
        };
        matches.then(|| f.get(5).map(|d| d.to_string())).flatten()
    })
}

fn qemu_img_failed(file: &str) -> ShellError {
    ShellError::Libguestfs(format!(
        "qemu-img info: {file}: qemu-img info exited with error status 1.\n\
         To see full error messages you may need to enable debugging.\n\
         Do:\n  export LIBGUESTFS_DEBUG=1 LIBGUESTFS_TRACE=1\n\
         and run the command again.  For further information, read:\n  \
         http://libguestfs.org/guestfs-faq.1.html#debugging-libguestfs\n\
         You can also run 'libguestfs-test-tool' and post the *complete* output\n\
         into a bug report or message to the libguestfs mailing list."
    ))
}

/// Runs one of the commands of [`NAMES`].
pub fn run(
    shell: &mut Shell,
    name: &str,
    args: &[String],
    out: &mut Output,
) -> Result<(), ShellError> {
    match name {
        "disk-format" | "disk-virtual-size" | "disk-has-backing-file" => {
            count(name, args, 1, &format!("{name} filename"))?;
            let file = &args[0];
            let mut f = std::fs::File::open(file).map_err(|_| qemu_img_failed(file))?;
            let detected = format::detect(&mut f).map_err(|_| qemu_img_failed(file))?;
            let fmt = match detected {
                Detected::Format(fmt) => Some(fmt),
                Detected::VmdkDescriptor => Some(Format::Vmdk),
                // Ambiguous, and whatever a newer detector reports: qemu-img would not say.
                _ => None,
            };
            let text = match name {
                "disk-format" => fmt.map_or("unknown".to_string(), |f| f.to_string()),
                "disk-virtual-size" => {
                    let fmt = fmt.ok_or_else(|| qemu_img_failed(file))?;
                    format::virtual_size(&mut f, fmt)
                        .map_err(|_| qemu_img_failed(file))?
                        .to_string()
                }
                _ => {
                    let backed = match fmt {
                        Some(Format::Qcow2) => format::qcow2_refs(&mut f)
                            .map_err(|_| qemu_img_failed(file))?
                            .backing_file
                            .is_some(),
                        _ => false,
                    };
                    backed.to_string()
                }
            };
            print(out, &format!("{text}\n"))
        }
        "add-drive-with-if" | "add-drive-ro-with-if" => {
            count(name, args, 2, &format!("{name} filename iface"))?;
            // The interface is libguestfs's choice of emulated controller; guestwright's
            // disks are always /dev/sdX.
            let mut words = vec![args[0].clone()];
            if name == "add-drive-ro-with-if" {
                words.push("readonly:true".into());
            }
            shell.command("add", &words, out, &mut super::script::Input::Stdin)?;
            Ok(())
        }
        "remove-drive" => {
            count(name, args, 1, "remove-drive label")?;
            Err(ShellError::Libguestfs(
                "hotplugging support was removed in libguestfs 1.48".into(),
            ))
        }
        "add-domain" | "domain" => domain_command(shell, name, args, out),
        "ping-daemon" => {
            count(name, args, 0, name)?;
            shell.need_appliance("ping_daemon")?;
            shell.h.feature_available(vec![])?;
            Ok(())
        }
        "sleep" => {
            count(name, args, 1, "sleep secs")?;
            let secs = super::builtins::int_arg(name, "secs", &args[0])?;
            shell.sleep_in_appliance(secs)
        }
        "get-pid" | "pid" => {
            count(name, args, 0, name)?;
            match shell.h.qemu_pid() {
                Some(pid) if shell.h.is_launched() => print(out, &format!("{pid}\n")),
                _ => Err(ShellError::Libguestfs(
                    "get-pid can only be called after launch".into(),
                )),
            }
        }
        "available-all-groups" => {
            count(name, args, 0, name)?;
            shell.need_appliance("available_all_groups")?;
            let text: String = GROUPS.iter().map(|g| format!("{g}\n")).collect();
            print(out, &text)
        }
        "supported" => {
            count(name, args, 0, name)?;
            shell.need_appliance("available_all_groups")?;
            let width = GROUPS.iter().map(|g| g.len()).max().unwrap_or(0);
            let mut text = String::new();
            for g in GROUPS {
                let yes = shell.h.feature_available(vec![g.to_string()])?;
                text.push_str(&format!("{g:>width$} {}\n", if yes { "yes" } else { "no" }));
            }
            print(out, &text)
        }
        "debug-drives" => {
            count(name, args, 0, name)?;
            let mut text = String::new();
            for d in shell.h.drives() {
                text.push_str(&d.path().display().to_string());
                if d.readonly {
                    text.push_str(" readonly");
                }
                if let Some(f) = d.requested_format {
                    text.push_str(&format!(" format={f}"));
                }
                text.push_str(" protocol=file");
                if let Some(b) = d.blocksize {
                    text.push_str(&format!(" blocksize={b}"));
                }
                text.push('\n');
            }
            print(out, &text)
        }
        "internal-exit" | "debug-upload" => {
            shell.need_appliance(name)?;
            Err(ShellError::Libguestfs(format!(
                "{}: libguestfs's debugging calls are not part of guestwright's appliance \
                 ('!' runs host commands; 'guestwright rescue' gives a shell in the \
                 appliance)",
                name.replace('-', "_")
            )))
        }
        "more" | "less" => {
            count(name, args, 1, &format!("{name} filename"))?;
            let pager = if name == "less" {
                "less".to_string()
            } else {
                std::env::var("PAGER")
                    .ok()
                    .filter(|p| !p.trim().is_empty())
                    .unwrap_or_else(|| "more".into())
            };
            view(shell, &args[0], &pager)
        }
        "display" => {
            count(name, args, 1, "display filename")?;
            let viewer = std::env::var("GUESTFISH_DISPLAY_IMAGE")
                .ok()
                .filter(|p| !p.trim().is_empty())
                .unwrap_or_else(|| "display".into());
            view(shell, &args[0], &viewer)
        }
        "hexedit" => hexedit(shell, args),
        "man" | "manual" => {
            count(name, args, 0, name)?;
            let status = Command::new("man")
                .args(["1", "guestfish"])
                .status()
                .map_err(|source| PipeError::Spawn {
                    command: "man 1 guestfish".into(),
                    source,
                })?;
            if status.success() {
                Ok(())
            } else {
                Err(PipeError::Failed {
                    command: "man 1 guestfish".into(),
                    status,
                }
                .into())
            }
        }
        other => Err(ShellError::Usage(format!("{other}: not a host command"))),
    }
}

/// `add-domain NAME [libvirturi:URI] [readonly:BOOL] [readonlydisk:error|read|write|ignore]
/// [allowuuid:..] [iface:..] [cachemode:..] [discard:..] [copyonread:..]`: prints the number
/// of disks added.
fn domain_command(
    shell: &mut Shell,
    name: &str,
    args: &[String],
    out: &mut Output,
) -> Result<(), ShellError> {
    let usage = || {
        ShellError::Fish(fisherr::wrong_count_of(
            name,
            &format!(
                "{name} dom [libvirturi:..] [readonly:true|false] [iface:..] [live:true|false] \
                 [allowuuid:true|false] [readonlydisk:..] [cachemode:..] [discard:..] \
                 [copyonread:true|false]"
            ),
        ))
    };
    let [dom, opts @ ..] = args else {
        return Err(usage());
    };
    let flag = |v: &str| bool::parse_word(v).map_err(|e| ShellError::Usage(format!("{name}: {e}")));
    let mut uri = None;
    let mut readonly = false;
    let mut rodisk = crate::libvirt::ReadonlyDisk::Write;
    for o in opts {
        let Some((k, v)) = o.split_once(':') else {
            return Err(usage());
        };
        match k {
            "libvirturi" => uri = Some(v.to_string()),
            "readonly" => readonly = flag(v)?,
            "readonlydisk" => {
                rodisk = v.parse().map_err(|()| {
                    ShellError::Libguestfs(format!("{name}: unknown readonlydisk parameter"))
                })?
            }
            "live" if flag(v)? => {
                return Err(ShellError::Libguestfs(format!(
                    "{name}: libguestfs live support was removed in libguestfs 1.48"
                )))
            }
            "live" | "allowuuid" | "iface" | "cachemode" | "discard" | "copyonread" => {}
            _ => return Err(usage()),
        }
    }
    shell.refuse_if_launched(name)?;
    let n = add_domain(&mut shell.h, dom, uri.as_deref(), readonly, rodisk)
        .map_err(|e| ShellError::Libguestfs(format!("{}: {e}", name.replace('-', "_"))))?;
    print(out, &format!("{n}\n"))
}

/// Adds the disks of libvirt guest `dom`, all or none, as libguestfs's `add_domain` does
/// (the shell's `-d` and `domain`); returns how many.
pub(super) fn add_domain(
    h: &mut guestwright::Handle,
    dom: &str,
    uri: Option<&str>,
    readonly: bool,
    rodisk: crate::libvirt::ReadonlyDisk,
) -> Result<usize, String> {
    let disks =
        crate::libvirt::add_domain_disks(uri, dom, readonly, rodisk).map_err(|e| e.to_string())?;
    // Every disk is checked before one is added, so a failure adds none.
    let mut drives = Vec::new();
    for d in &disks {
        let options = DriveOptions {
            format: d.disk.format,
            readonly: d.readonly,
            blocksize: None,
        };
        let drive =
            guestwright::drive::Drive::open(&d.disk.path, &options).map_err(|e| e.to_string())?;
        drives.push((drive, options));
    }
    let n = drives.len();
    for (drive, options) in drives {
        h.add_drive(&drive.chain[0].path, options)
            .map_err(|e| e.to_string())?;
    }
    Ok(n)
}

/// Downloads a guest file to a temporary host file and runs `program FILE` on it (through
/// the shell, so `PAGER="less -R"` works). The file is deleted afterwards.
fn view(shell: &mut Shell, path: &str, program: &str) -> Result<(), ShellError> {
    let data = download(shell, path)?;
    let dir = temp_dir()?;
    let local = dir.path().join("guestfish");
    std::fs::write(&local, &data).map_err(|source| ShellError::HostIo {
        path: local.clone(),
        source,
    })?;
    run_on(program, &local)
}

fn temp_dir() -> Result<tempfile::TempDir, ShellError> {
    tempfile::Builder::new()
        .prefix("guestwright-view-")
        .tempdir()
        .map_err(|source| ShellError::HostIo {
            path: std::env::temp_dir(),
            source,
        })
}

fn download(shell: &mut Shell, path: &str) -> Result<Vec<u8>, ShellError> {
    let guest =
        GuestPath::parse_word(path).map_err(|e| ShellError::Usage(format!("download: {e}")))?;
    shell.need_appliance("download")?;
    let mut data = Vec::new();
    shell.h.download(&guest, &mut data).map_err(|e| match e {
        guestwright::Error::Remote { source, .. } => ShellError::Libguestfs(format!(
            "download: {path}: {}",
            fisherr::strerror(source.errno)
        )),
        e => e.into(),
    })?;
    Ok(data)
}

fn run_on(program: &str, file: &std::path::Path) -> Result<(), ShellError> {
    use std::io::Write;
    let _ = std::io::stdout().flush();
    super::commands::run_host(
        Command::new("/bin/sh")
            .arg("-c")
            .arg(format!("{program} \"$1\""))
            .arg("guestfish")
            .arg(file),
        program,
    )
}

/// `hexedit FILE|DEVICE [MAX | START MAX]`: copies (a part of) the file or device to the
/// host, runs `$HEXEDITOR` (default `hexedit`) on it, and writes it back only if it
/// changed, at the same offset.
fn hexedit(shell: &mut Shell, args: &[String]) -> Result<(), ShellError> {
    const DEFAULT_MAX: i64 = 1 << 20;
    let (path, start, max) = match args {
        [p] => (p, 0, None),
        [p, m] => (p, 0, Some(super::builtins::int_arg("hexedit", "max", m)?)),
        [p, s, m] => (
            p,
            super::builtins::int_arg("hexedit", "start", s)?,
            Some(super::builtins::int_arg("hexedit", "max", m)?),
        ),
        _ => {
            return Err(ShellError::Fish(fisherr::wrong_count_of(
                "hexedit",
                "hexedit <filename|device> [<max> | <start> <max>]",
            )))
        }
    };
    if start < 0 || max.is_some_and(|m| m <= 0) {
        return Err(ShellError::Fish(
            "hexedit: invalid range: start must be >= 0 and max > 0".into(),
        ));
    }
    shell.need_appliance("pread")?;
    let editor = std::env::var("HEXEDITOR")
        .ok()
        .filter(|p| !p.trim().is_empty())
        .unwrap_or_else(|| "hexedit".into());
    let is_device = path.starts_with("/dev/");
    let max = max.unwrap_or(DEFAULT_MAX);
    let data = if is_device {
        shell
            .h
            .pread_device(
                Device::new(path.clone()).map_err(|e| ShellError::Usage(e.to_string()))?,
                i32::try_from(max).unwrap_or(i32::MAX),
                start,
            )?
            .0
    } else {
        let guest =
            GuestPath::parse_word(path).map_err(|e| ShellError::Usage(format!("hexedit: {e}")))?;
        shell
            .h
            .pread(guest, ByteSize(max as u64), ByteSize(start as u64))?
            .0
    };
    let dir = temp_dir()?;
    let local = dir.path().join("guestfish");
    let io = |source| ShellError::HostIo {
        path: local.clone(),
        source,
    };
    std::fs::write(&local, &data).map_err(io)?;
    run_on(&editor, &local)?;
    let edited = std::fs::read(&local).map_err(io)?;
    if edited == data {
        return Ok(());
    }
    if is_device {
        let dev = Device::new(path.clone()).map_err(|e| ShellError::Usage(e.to_string()))?;
        shell.h.pwrite_device(dev, Data(edited), start)?;
    } else {
        let guest =
            GuestPath::parse_word(path).map_err(|e| ShellError::Usage(format!("hexedit: {e}")))?;
        shell
            .h
            .pwrite(guest, Data(edited), ByteSize(start as u64))?;
    }
    Ok(())
}
