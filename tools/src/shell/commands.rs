//! The shell's own commands: the few that are not operations of the appliance (drives,
//! launch, help, host commands, editing a guest file, copying trees). Each is declared once
//! in [`COMMANDS`], which gives `help`, completion and dispatch.

use super::output::{Output, PipeError};
use super::script::Input;
use super::{copy, help, Flow, Shell, ShellError};
use guestwright::prelude::*;
use guestwright::protocol::escape_bytes;
use guestwright::protocol::shell::ShellArg;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

/// What a word of a host-side command is, for completion.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slot {
    /// A host file or directory.
    HostFile,
    /// A guest path.
    GuestPath,
    /// A host or guest path (copy-in and copy-out: the last word is the other side).
    HostOrGuest,
    /// A command name.
    Command,
    /// One of these words.
    Words(&'static [&'static str]),
}

/// A host-side command.
#[derive(Debug)]
pub struct HostCommand {
    /// Its name, then its aliases.
    pub names: &'static [&'static str],
    /// The usage line.
    pub usage: &'static str,
    /// One line for `help`.
    pub summary: &'static str,
    /// The text of `help CMD`.
    pub help: &'static str,
    /// Completion of its words; the last slot repeats.
    pub slots: &'static [Slot],
    /// Its optional `name:value` arguments.
    pub options: &'static [&'static str],
    kind: Kind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Add,
    AddRo,
    Run,
    Reopen,
    Shutdown,
    Quit,
    Help,
    Echo,
    Lcd,
    Json,
    Time,
    Edit,
    CopyIn,
    CopyOut,
    Alloc,
    Scratch,
    DiskCreate,
    Memsize,
    Smp,
    Trace,
    Env,
    Glob,
    Inspect,
    MountLocal,
    Setting,
    HostMisc,
}

/// The host-side commands.
pub static COMMANDS: &[HostCommand] = &[
    HostCommand {
        names: &["add", "add-drive", "add-drive-opts"],
        usage: "add IMAGE [readonly:true|false] [format:FORMAT] [protocol:P] [server:S] \
                [username:U] [iface:..] [name:..] [cachemode:..] [discard:..] \
                [copyonread:true|false] [blocksize:512|4096]",
        summary: "add a disk image, read-write unless readonly:true",
        help: "Adds a disk image before the appliance starts: the first is /dev/sda, the next\n\
               /dev/sdb, ... FORMAT is raw, qcow2, vmdk, vdi, vhdx or vpc, detected from the\n\
               image's header when not given. /dev/null adds an empty drive. A block device\n\
               without format: is raw. protocol:nbd|http|https|ssh|iscsi with server:HOST[:PORT]\n\
               (nbd: server:tcp:HOST:PORT or server:unix:PATH) adds a remote drive named by\n\
               IMAGE: the export (nbd), the path (http, https, ssh) or TARGET/LUN (iscsi);\n\
               username: is the ssh user. A remote drive without format: is raw. -a also takes\n\
               these as URIs (nbd://, nbd+unix://, http(s)://, ssh://, iscsi://). iface, name,\n\
               cachemode, discard and copyonread are accepted for guestfish's scripts and\n\
               change nothing: the disks are always /dev/sdX, written safely. blocksize:4096\n\
               gives the disk 4096-byte sectors (512 otherwise). label and secret are not\n\
               supported.",
        slots: &[Slot::HostFile],
        options: &[
            "readonly",
            "format",
            "iface",
            "name",
            "label",
            "protocol",
            "server",
            "username",
            "secret",
            "cachemode",
            "discard",
            "copyonread",
            "blocksize",
        ],
        kind: Kind::Add,
    },
    HostCommand {
        names: &["add-ro", "add-drive-ro", "add-cdrom"],
        usage: "add-ro IMAGE [format:FORMAT]",
        summary: "add a disk image read-only",
        help: "Adds a disk image read-only: its bytes never change, and commands that would\n\
               write are refused while every image is read-only.",
        slots: &[Slot::HostFile],
        options: &["format"],
        kind: Kind::AddRo,
    },
    HostCommand {
        names: &["run", "launch"],
        usage: "run",
        summary: "start the appliance now (the first command that needs it does too)",
        help: "Starts the appliance with the drives added so far, and mounts what -m and -i\n\
               ask for. Commands start it by themselves when they need it.",
        slots: &[],
        options: &[],
        kind: Kind::Run,
    },
    HostCommand {
        names: &["reopen"],
        usage: "reopen",
        summary: "close the handle and open a new one, without drives (as guestfish)",
        help: "Stops the appliance, writing everything to the images, and starts over as a\n\
               new guestfish handle would: the drives (including -a, -m and scratch ones)\n\
               are forgotten; add drives again before the next 'run'.",
        slots: &[],
        options: &[],
        kind: Kind::Reopen,
    },
    HostCommand {
        names: &["shutdown"],
        usage: "shutdown",
        summary: "stop the appliance, writing everything to the images",
        help: "Stops the appliance: every write is then in the image files. The next command\n\
               starts it again with the same drives (and -m mounts); drives may be added in\n\
               between.",
        slots: &[],
        options: &[],
        kind: Kind::Shutdown,
    },
    HostCommand {
        names: &["quit", "exit", "q"],
        usage: "quit",
        summary: "leave the shell (Ctrl-D too)",
        help: "Stops the appliance, writing everything to the images, and leaves the shell.",
        slots: &[],
        options: &[],
        kind: Kind::Quit,
    },
    HostCommand {
        names: &["help"],
        usage: "help [COMMAND]",
        summary: "list the commands, or explain one",
        help: "Without an argument, lists every command by group. With one, shows its usage,\n\
               what it does and what each argument is.",
        slots: &[Slot::Command],
        options: &[],
        kind: Kind::Help,
    },
    HostCommand {
        names: &["echo"],
        usage: "echo [WORD...]",
        summary: "print the words",
        help: "Prints the words separated by spaces.",
        slots: &[],
        options: &[],
        kind: Kind::Echo,
    },
    HostCommand {
        names: &["lcd"],
        usage: "lcd [DIR]",
        summary: "change the shell's directory on the host",
        help: "Changes the host directory that relative host file names start from (home\n\
               when DIR is not given).",
        slots: &[Slot::HostFile],
        options: &[],
        kind: Kind::Lcd,
    },
    HostCommand {
        names: &["json"],
        usage: "json [on|off]",
        summary: "print results as JSON, or as text",
        help: "'json on' prints each result as one JSON value per line (like --json); 'json\n\
               off' goes back to text. Without an argument, says which is in effect.",
        slots: &[Slot::Words(&["on", "off"])],
        options: &[],
        kind: Kind::Json,
    },
    HostCommand {
        names: &["time"],
        usage: "time COMMAND [ARG...]",
        summary: "run a command and print how long it took",
        help: "Runs the command, then prints the elapsed time on standard error.",
        slots: &[Slot::Command],
        options: &[],
        kind: Kind::Time,
    },
    HostCommand {
        names: &["edit", "vi", "emacs"],
        usage: "edit PATH",
        summary: "edit a guest file with $EDITOR",
        help: "Copies the guest file to the host, runs $EDITOR on it (vi if unset; 'vi' and\n\
               'emacs' run those), and, only if the content changed, writes it back\n\
               atomically: the file is replaced as a whole, keeping its owner and mode.",
        slots: &[Slot::GuestPath],
        options: &[],
        kind: Kind::Edit,
    },
    HostCommand {
        names: &["copy-in"],
        usage: "copy-in HOSTPATH... DIR",
        summary: "copy host files and directories into a guest directory",
        help: "Copies each host file or directory (recursively, with modes and times;\n\
               symlinks as symlinks) into the guest directory DIR.",
        slots: &[Slot::HostFile, Slot::HostOrGuest],
        options: &[],
        kind: Kind::CopyIn,
    },
    HostCommand {
        names: &["copy-out"],
        usage: "copy-out PATH... HOSTDIR",
        summary: "copy guest files and directories into a host directory",
        help: "Copies each guest file or directory (recursively) into the host directory\n\
               HOSTDIR. Nothing is written outside HOSTDIR: entries named with '..' or an\n\
               absolute path, or reached through a symlink, are refused; device nodes are\n\
               skipped; setuid, setgid and sticky bits and owners are dropped.",
        slots: &[Slot::GuestPath, Slot::HostOrGuest],
        options: &[],
        kind: Kind::CopyOut,
    },
    HostCommand {
        names: &["alloc", "allocate", "sparse"],
        usage: "alloc FILE SIZE",
        summary: "create a disk image of SIZE bytes and add it",
        help: "Creates (or truncates) the raw host file FILE of SIZE (suffixes: 1M, 2G, ...)\n\
               and adds it. 'alloc' writes every block (zeroes), 'sparse' leaves holes.",
        slots: &[Slot::HostFile],
        options: &[],
        kind: Kind::Alloc,
    },
    HostCommand {
        names: &["scratch", "add-drive-scratch"],
        usage: "scratch SIZE [name:..]",
        summary: "add a blank temporary drive of SIZE bytes",
        help: "Adds a drive that reads as zeroes until written; its file is deleted when the\n\
               shell exits.",
        slots: &[],
        options: &["name"],
        kind: Kind::Scratch,
    },
    HostCommand {
        names: &["disk-create"],
        usage: "disk-create FILE FORMAT SIZE [backingfile:..] [backingformat:..] \
                [preallocation:off|sparse|full]",
        summary: "create a blank raw or qcow2 disk image",
        help: "Creates the host file FILE as a blank image of SIZE bytes in FORMAT (raw or\n\
               qcow2). With backingfile (SIZE -1 takes the backing file's size) a qcow2\n\
               image on top of it. It is not added: use 'add'.",
        slots: &[Slot::HostFile],
        options: &["backingfile", "backingformat", "preallocation"],
        kind: Kind::DiskCreate,
    },
    HostCommand {
        names: &["set-memsize", "memsize", "get-memsize"],
        usage: "set-memsize MIB",
        summary: "set (or get) the appliance's memory in MiB",
        help: "Sets the appliance's memory for its next start; get-memsize prints it.",
        slots: &[],
        options: &[],
        kind: Kind::Memsize,
    },
    HostCommand {
        names: &["set-smp", "smp", "get-smp"],
        usage: "set-smp N",
        summary: "set (or get) the appliance's number of virtual CPUs",
        help: "Sets the number of virtual CPUs of the appliance (before it starts); get-smp\n\
               prints it.",
        slots: &[],
        options: &[],
        kind: Kind::Smp,
    },
    HostCommand {
        names: &["set-trace", "trace", "get-trace"],
        usage: "set-trace true|false",
        summary: "trace calls on standard error, as libguestfs does",
        help: "With true, each call prints libguestfs's trace lines on standard error:\n\
               'libguestfs: trace: NAME ARGS' as it starts, 'libguestfs: trace: NAME = RESULT'\n\
               as it ends (the same as -x, or LIBGUESTFS_TRACE=1).",
        slots: &[Slot::Words(&["true", "false"])],
        options: &[],
        kind: Kind::Trace,
    },
    HostCommand {
        names: &["setenv", "unsetenv"],
        usage: "setenv VAR VALUE",
        summary: "set (or unset) an environment variable of host commands",
        help: "Sets the environment variable VAR to VALUE for the host commands run later\n\
               ('!cmd', '| cmd'); 'unsetenv VAR' removes it.",
        slots: &[],
        options: &[],
        kind: Kind::Env,
    },
    HostCommand {
        names: &["glob"],
        usage: "glob COMMAND [ARG...]",
        summary: "expand wildcards in the arguments and run the command on each match",
        help: "Expands each argument starting with /dev/ against the devices, partitions, md\n\
               devices and logical volumes, and each other one starting with / against the\n\
               guest's files, then runs COMMAND for every combination. An argument without\n\
               a match is passed as written.",
        slots: &[Slot::Command],
        options: &[],
        kind: Kind::Glob,
    },
    HostCommand {
        names: super::inspectcmds::NAMES,
        usage: "inspect-os | inspect-get-roots | inspect-get-WHAT ROOT | \
                inspect-list-applications2 ROOT | inspect-get-icon ROOT [favicon:..] \
                [highquality:..]",
        summary: "find operating systems (inspect-os), then ask about one by its root",
        help: "inspect-os inspects the disks (unmounting everything first) and prints the root\n\
               device of each operating system found; inspect-get-roots prints them again.\n\
               inspect-get-type, -distro, -arch, -major-version, -minor-version,\n\
               -product-name, -product-variant, -hostname, -osinfo, -package-format,\n\
               -package-management, -format, -mountpoints, -filesystems, -drive-mappings,\n\
               -windows-systemroot, -windows-current-control-set, -windows-software-hive,\n\
               -windows-system-hive and inspect-is-live, -netinst, -multipart answer about\n\
               the OS whose root is ROOT, as libguestfs does. inspect-list-applications(2)\n\
               lists its packages once its filesystems are mounted (-i, or mount by hand);\n\
               inspect-get-icon prints its icon file (PNG bytes), or nothing.",
        slots: &[Slot::Words(&["/dev/sda1", "/dev/sda2"])],
        options: &["favicon", "highquality"],
        kind: Kind::Inspect,
    },
    HostCommand {
        names: super::local::NAMES,
        usage: "mount-local MOUNTPOINT [readonly:true|false] [options:..] | mount-local-run | \
                umount-local",
        summary: "serve the guest's mounted tree on a host directory (FUSE)",
        help: "mount-local mounts the filesystems mounted in the appliance (at /) on the host\n\
               directory MOUNTPOINT; options: are FUSE options, as guestwright mount -o takes\n\
               them. mount-local-run then serves it until it is unmounted (guestunmount\n\
               MOUNTPOINT, from another process); the shell goes on afterwards. In between,\n\
               only host commands (!cmd), echo and umount-local run: the appliance is lent\n\
               to the mount. The mount is always nosuid,nodev.",
        slots: &[Slot::HostFile],
        options: &["readonly", "options", "cachetimeout", "debugcalls", "retry"],
        kind: Kind::MountLocal,
    },
    HostCommand {
        names: super::settings::NAMES,
        usage: "set-SETTING VALUE | get-SETTING | SETTING VALUE",
        summary: "libguestfs's handle settings, event handlers and environment",
        help: "verbose, trace, hv (qemu), network, smp and memsize change what guestwright\n\
               does. program, path, append, selinux, autosync, pgroup, recovery-proc, direct,\n\
               identifier, tmpdir, cachedir, backend (attach-method), backend-setting(s),\n\
               config and the libvirt credentials are checked as libguestfs checks them and\n\
               remembered, but change nothing: that part of libguestfs does not exist in\n\
               guestwright (one QEMU appliance, started directly). get-sockdir, max-disks.\n\
               parse-environment and parse-environment-list read libguestfs's LIBGUESTFS_*\n\
               variables. 'event NAME EVENTS SCRIPT' runs the host shell SCRIPT on each of\n\
               the comma-separated EVENTS (close, launch_done, ...; * for all; guestwright\n\
               raises close and launch_done); list-events and delete-event NAME manage them.",
        slots: &[],
        options: &[],
        kind: Kind::Setting,
    },
    HostCommand {
        names: super::hostmisc::NAMES,
        usage: "disk-format FILE | disk-virtual-size FILE | disk-has-backing-file FILE | \
                more PATH | less PATH | display PATH | hexedit PATH [MAX | START MAX] | ...",
        summary: "image files, the appliance's state, and viewers of guest files",
        help: "disk-format, disk-virtual-size and disk-has-backing-file read a host image's\n\
               header. add-drive-with-if and add-drive-ro-with-if add a drive (the interface\n\
               is ignored: disks are /dev/sdX). remove-drive fails, as in libguestfs 1.48.\n\
               ping-daemon, sleep SECS, get-pid (pid), available-all-groups and supported\n\
               ask the appliance. more ($PAGER), less, display ($GUESTFISH_DISPLAY_IMAGE)\n\
               and hexedit ($HEXEDITOR; written back only if changed) run on a copy of the\n\
               guest file; man shows guestfish's manual page.",
        slots: &[Slot::GuestPath],
        options: &[],
        kind: Kind::HostMisc,
    },
];

/// Looks a host-side command up (dashes or underscores).
pub fn find(name: &str) -> Option<&'static HostCommand> {
    let name = name.replace('_', "-");
    COMMANDS.iter().find(|c| c.names.contains(&name.as_str()))
}

fn usage_error(c: &HostCommand) -> ShellError {
    ShellError::Usage(format!("usage: {}", c.usage))
}

/// Splits `name:value` options off the end of the words.
fn options<'a>(c: &HostCommand, words: &'a [String]) -> (Vec<&'a String>, Vec<(&'a str, &'a str)>) {
    let mut plain = Vec::new();
    let mut opts = Vec::new();
    for w in words {
        match w.split_once(':') {
            Some((k, v)) if c.options.contains(&k) => opts.push((k, v)),
            _ => plain.push(w),
        }
    }
    (plain, opts)
}

/// `add`, `add-ro`, `add-cdrom` once guestfish's checks of the words passed: the drive is
/// checked and added.
fn add_drive(
    shell: &mut Shell,
    c: &'static HostCommand,
    name: &str,
    image: &str,
    opts: &[(&str, &str)],
) -> Result<(), ShellError> {
    let protocol = opts
        .iter()
        .find(|(k, _)| *k == "protocol")
        .map(|(_, v)| *v)
        .filter(|p| *p != "file");
    if let (None, Err(e)) = (protocol, std::fs::metadata(image)) {
        return Err(ShellError::Libguestfs(format!(
            "{image}: {}",
            super::fisherr::strerror(Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO)))
        )));
    }
    let mut drive = DriveOptions {
        format: None,
        readonly: c.kind == Kind::AddRo,
        blocksize: None,
    };
    for &(k, v) in opts {
        match k {
            "format" => drive.format = Some(v.parse().map_err(ShellError::Usage)?),
            "readonly" => {
                drive.readonly = bool::parse_word(v)
                    .map_err(|e| ShellError::Usage(format!("{}: {e}", c.names[0])))?
            }
            "blocksize" => {
                drive.blocksize = Some(v.parse().map_err(|_| {
                    ShellError::Usage(format!("{}: blocksize:{v}: not a number", c.names[0]))
                })?)
            }
            "iface" | "name" | "cachemode" | "discard" | "copyonread" | "protocol" | "server"
            | "username" | "secret" => {}
            other => {
                return Err(ShellError::Usage(format!(
                    "{name}: the optional argument {other}: is not supported by \
                     guestwright (drives are named /dev/sdX)"
                )))
            }
        }
    }
    let opt = |k: &str| opts.iter().find(|(o, _)| *o == k).map(|(_, v)| *v);
    shell.refuse_if_launched(c.names[0])?;
    match protocol {
        Some(p) => {
            // As libguestfs: the parts are checked now and the drive is connected
            // when the appliance launches. guestfish's server: is a list.
            let spec = guestwright::drive::uri::RemoteSpec {
                servers: opt("server")
                    .map(|s| s.split_whitespace().map(String::from).collect())
                    .unwrap_or_default(),
                username: opt("username").map(String::from),
                secret: opt("secret").map(String::from),
                ..guestwright::drive::uri::RemoteSpec::new(p, image)
            };
            shell.h.add_remote_spec(spec, drive).map_err(|e| match e {
                guestwright::Error::Drive(guestwright::drive::DriveError::Spec(m)) => {
                    ShellError::Libguestfs(m.0)
                }
                e => e.into(),
            })?;
        }
        None => {
            if opt("server").is_some() || opt("username").is_some() || opt("secret").is_some() {
                return Err(ShellError::Usage(format!(
                    "{name}: server: and username: need protocol:"
                )));
            }
            shell.h.add_drive(image, drive)?;
        }
    }
    Ok(())
}

/// Runs a host-side command.
pub fn run(
    shell: &mut Shell,
    c: &'static HostCommand,
    name: &str,
    args: &[String],
    out: &mut Output,
    input: &mut Input,
) -> Result<Flow, ShellError> {
    match c.kind {
        Kind::Add | Kind::AddRo => {
            if name == "add-cdrom" && args.len() != 1 {
                return Err(ShellError::Fish(super::fisherr::wrong_count_of(
                    name,
                    "add-cdrom filename",
                )));
            }
            if let Some(w) = args.iter().skip(1).find(|w| {
                w.split_once(':')
                    .is_some_and(|(k, _)| !c.options.contains(&k))
            }) {
                return Err(ShellError::Fish(format!(
                    "{name}: unknown optional argument \"{w}\""
                )));
            }
            let (plain, opts) = options(c, args);
            let [image] = plain[..] else {
                return Err(usage_error(c));
            };
            // Traced as libguestfs's call, its optional arguments in its order.
            let call = match (c.kind, name) {
                (Kind::AddRo, "add-cdrom") => "add_cdrom",
                (Kind::AddRo, _) => "add_drive_ro",
                _ => "add_drive",
            };
            let mut line = format!("{call} \"{image}\"");
            for o in c.options {
                if let Some((k, v)) = opts.iter().find(|(k, _)| k == o) {
                    let v = match *k {
                        "readonly" | "copyonread" => {
                            bool::parse_word(v).map_or_else(|_| v.to_string(), |b| b.to_string())
                        }
                        _ => v.to_string(),
                    };
                    line.push_str(&format!(" \"{k}:{v}\""));
                }
            }
            shell.trace_bytes(line.as_bytes());
            match add_drive(shell, c, name, image, &opts) {
                Ok(()) => shell.trace_bytes(format!("{call} = 0").as_bytes()),
                Err(e) => return Err(shell.traced_failure(call, "()", e, false)),
            }
        }
        Kind::Run => {
            no_args(c, args)?;
            shell.ensure_launched()?;
        }
        Kind::Reopen => {
            no_args(c, args)?;
            shell.reopen()?;
        }
        Kind::Shutdown => {
            no_args(c, args)?;
            shell.close()?;
        }
        Kind::Quit => return Ok(Flow::Quit),
        Kind::Help => {
            let text = match args {
                [] => help::list(),
                [name] => help::describe(name).ok_or_else(|| {
                    ShellError::Fish(super::fisherr::help_unknown(name, shell.interactive))
                })?,
                _ => return Err(usage_error(c)),
            };
            out.write_all(text.as_bytes()).map_err(ShellError::Output)?;
        }
        Kind::Echo => {
            let mut text = args.join(" ");
            text.push('\n');
            out.write_all(text.as_bytes()).map_err(ShellError::Output)?;
        }
        Kind::Lcd => {
            let dir = match args {
                [] => std::env::var_os("HOME")
                    .map(PathBuf::from)
                    .unwrap_or_default(),
                [d] => PathBuf::from(d),
                _ => return Err(usage_error(c)),
            };
            std::env::set_current_dir(&dir)
                .map_err(|source| ShellError::HostIo { path: dir, source })?;
        }
        Kind::Json => match args {
            [] => {
                let state = if shell.json { "on\n" } else { "off\n" };
                out.write_all(state.as_bytes())
                    .map_err(ShellError::Output)?;
            }
            [v] => {
                shell.json = bool::parse_word(v)
                    .map_err(|_| ShellError::Usage("usage: json on|off".into()))?
            }
            _ => return Err(usage_error(c)),
        },
        Kind::Time => {
            let [name, rest @ ..] = args else {
                return Err(usage_error(c));
            };
            let started = Instant::now();
            let flow = shell.command(name, rest, out, input);
            eprintln!(
                "elapsed time: {:.2} seconds",
                started.elapsed().as_secs_f64()
            );
            return flow;
        }
        Kind::Edit => {
            let [path] = args else {
                return Err(usage_error(c));
            };
            let editor = match name {
                "vi" | "emacs" => name.to_string(),
                _ => std::env::var("EDITOR")
                    .ok()
                    .filter(|e| !e.trim().is_empty())
                    .unwrap_or_else(|| "vi".to_string()),
            };
            edit(shell, path, &editor)?;
        }
        Kind::CopyIn => {
            let [sources @ .., dest] = args else {
                return Err(usage_error(c));
            };
            if sources.is_empty() {
                return Err(usage_error(c));
            }
            copy::copy_in(shell, sources, dest)?;
        }
        Kind::Alloc => super::drives::alloc(shell, name, args)?,
        Kind::Scratch => super::drives::scratch(shell, name, args)?,
        Kind::DiskCreate => super::drives::disk_create(args)?,
        Kind::Memsize => super::builtins::memsize(shell, name, args, out)?,
        Kind::Smp => super::builtins::smp(shell, name, args, out)?,
        Kind::Trace => super::builtins::trace(shell, name, args, out)?,
        Kind::Env => super::builtins::env(name, args)?,
        Kind::Glob => return super::builtins::glob(shell, args, out, input),
        Kind::Inspect => super::inspectcmds::run(shell, name, args, out)?,
        Kind::MountLocal => super::local::run(shell, name, args)?,
        Kind::Setting => super::settings::run(shell, name, args, out)?,
        Kind::HostMisc => super::hostmisc::run(shell, name, args, out)?,
        Kind::CopyOut => {
            let [sources @ .., dest] = args else {
                return Err(usage_error(c));
            };
            if sources.is_empty() {
                return Err(usage_error(c));
            }
            copy::copy_out(shell, sources, Path::new(dest))?;
        }
    }
    Ok(Flow::Continue)
}

fn no_args(c: &HostCommand, args: &[String]) -> Result<(), ShellError> {
    if args.is_empty() {
        Ok(())
    } else {
        Err(usage_error(c))
    }
}

/// `edit PATH`: download, run the editor, and replace the file only if it changed.
fn edit(shell: &mut Shell, path: &str, editor: &str) -> Result<(), ShellError> {
    let guest = GuestPath::parse_word(path).map_err(|e| ShellError::Usage(format!("edit: {e}")))?;
    let dir = tempfile::Builder::new()
        .prefix("guestwright-edit-")
        .tempdir()
        .map_err(|source| ShellError::HostIo {
            path: std::env::temp_dir(),
            source,
        })?;
    // The guest's own file name, so the editor picks its syntax; never a path.
    let name = guest
        .as_bytes()
        .rsplit(|b| *b == b'/')
        .next()
        .filter(|n| !n.is_empty() && *n != b"." && *n != b"..")
        .map(|n| String::from_utf8_lossy(n).replace(|c: char| c.is_control(), "_"))
        .unwrap_or_else(|| "file".into());
    let local = dir.path().join(name);
    let host_io = |source| ShellError::HostIo {
        path: local.clone(),
        source,
    };
    let original = fetch(shell, &guest)?;
    std::fs::write(&local, &original).map_err(host_io)?;
    let status = Command::new("sh")
        .arg("-c")
        .arg(format!("{editor} \"$1\""))
        .arg("guestwright-edit")
        .arg(&local)
        .status()
        .map_err(|source| PipeError::Spawn {
            command: editor.to_string(),
            source,
        })?;
    if !status.success() {
        return Err(PipeError::Failed {
            command: editor.to_string(),
            status,
        }
        .into());
    }
    let edited = std::fs::read(&local).map_err(host_io)?;
    if edited == original {
        return Ok(());
    }
    // A symbolic link stays one and the file it points to (inside the guest) is edited, as
    // guestfish does: the user named the link to edit what it stands for.
    let is_link = shell.h.lstat(&guest)?.mode & libc::S_IFMT == libc::S_IFLNK;
    let dest = if is_link {
        shell.h.realpath(&guest)?
    } else {
        guest
    };
    shell.h.replace_file(dest, Data(edited))?;
    Ok(())
}

/// A guest file's content, streamed.
fn fetch(shell: &mut Shell, path: &GuestPath) -> Result<Vec<u8>, ShellError> {
    shell.ensure_launched()?;
    let mut data = Vec::new();
    shell.h.download(path, &mut data)?;
    Ok(data)
}

/// Writes `text` to the command's output.
pub fn print_text(out: &mut Output, text: &str) -> Result<(), ShellError> {
    out.write_all(text.as_bytes()).map_err(ShellError::Output)
}

/// `!CMD`: runs a host command with the shell's standard streams.
pub fn host_shell(command: &str) -> Result<(), ShellError> {
    run_host(Command::new("sh").arg("-c").arg(command), command)
}

/// Runs a host program with the shell's standard streams; `shown` names it in errors.
pub fn run_host(cmd: &mut Command, shown: &str) -> Result<(), ShellError> {
    crate::sys::unblock_signals_in_child(cmd);
    let status = cmd.status().map_err(|source| PipeError::Spawn {
        command: shown.to_string(),
        source,
    })?;
    if status.success() {
        Ok(())
    } else {
        Err(PipeError::Failed {
            command: shown.to_string(),
            status,
        }
        .into())
    }
}

/// `<! CMD`: what a host command prints.
pub fn host_output(command: &str) -> Result<String, ShellError> {
    let mut cmd = Command::new("sh");
    cmd.arg("-c").arg(command).stdout(Stdio::piped());
    crate::sys::unblock_signals_in_child(&mut cmd);
    let mut child = cmd.spawn().map_err(|source| PipeError::Spawn {
        command: command.to_string(),
        source,
    })?;
    let mut text = Vec::new();
    let read = child
        .stdout
        .take()
        .map(|mut o| o.read_to_end(&mut text))
        .transpose();
    let status = child.wait().map_err(|source| PipeError::Spawn {
        command: command.to_string(),
        source,
    })?;
    if let Err(source) = read {
        return Err(PipeError::Spawn {
            command: command.to_string(),
            source,
        }
        .into());
    }
    if !status.success() {
        return Err(PipeError::Failed {
            command: command.to_string(),
            status,
        }
        .into());
    }
    let _ = std::io::stdout().flush();
    Ok(String::from_utf8_lossy(&text).into_owned())
}

/// `-i`: finds the one operating system on the disks and mounts its filesystems as it
/// would (read-only when the images are). Interactively, says what was mounted where.
pub fn mount_inspected(shell: &mut Shell) -> Result<(), ShellError> {
    if shell.trace {
        probe_for_encryption(shell)?;
    }
    let os =
        guestwright::inspect::inspect_and_mount(&shell.h, shell.h.is_readonly()).map_err(|e| {
            if super::fisherr::is_no_os(&e) {
                shell.trace_call("inspect_os", &[]);
                shell.trace_result("inspect_os", "[]");
                ShellError::Fish(super::fisherr::no_os("guestfish"))
            } else {
                e.into()
            }
        })?;
    if shell.trace {
        trace_inspection(shell, &os)?;
    }
    shell.inspection = Some(vec![os.clone()]);
    if shell.interactive {
        eprintln!(
            "Operating system: {}",
            escape_bytes(os.product_name.as_bytes())
        );
        for m in shell.h.mounts()? {
            eprintln!("{} mounted on {}", m.device, m.mountpoint);
        }
    }
    Ok(())
}

/// With the trace on, `-i` first makes the calls guestfish makes to find encrypted volumes
/// to open (the filesystem type of every partition, then of every logical volume), so the
/// trace shows them as guestfish's does. guestwright's inspection finds them itself, so
/// without the trace they are not made.
fn probe_for_encryption(shell: &mut Shell) -> Result<(), ShellError> {
    let word = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    // A device whose type cannot be read is reported, as guestfish's error handler does,
    // and passed over.
    let vfs_type = |shell: &mut Shell, device: &[u8]| {
        if let Err(e) = shell.own_call("vfs-type", &[word(device)]) {
            shell.report(&e);
        }
    };
    for part in shell.own_call("list-partitions", &[])? {
        vfs_type(shell, &part);
    }
    shell.own_call("feature-available", &["lvm2".to_string()])?;
    for lv in shell.own_call("lvs", &[])? {
        vfs_type(shell, &lv);
    }
    Ok(())
}

/// The trace lines of guestfish's `-i` after that: `inspect_os`, `inspect_get_mountpoints`
/// of the root, and a mount of each mountpoint. guestwright's library inspected and mounted
/// in its own calls; these lines report the same steps, with their results, in libguestfs's
/// terms.
fn trace_inspection(shell: &Shell, os: &guestwright::inspect::OsInfo) -> Result<(), ShellError> {
    let list = |items: &[String]| {
        let quoted: Vec<String> = items.iter().map(|i| format!("\"{i}\"")).collect();
        format!("[{}]", quoted.join(", "))
    };
    let root = super::inspectcmds::root_name(os);
    shell.trace_call("inspect_os", &[]);
    shell.trace_result("inspect_os", &list(std::slice::from_ref(&root)));
    shell.trace_call("inspect_get_mountpoints", &[format!("\"{root}\"")]);
    // libguestfs 1.48 lists the fstab's entries last first.
    let pairs: Vec<String> = os
        .mountpoints
        .iter()
        .rev()
        .flat_map(|m| {
            [
                m.mountpoint.clone(),
                super::inspectcmds::mountable(&m.device, m.options.as_deref()),
            ]
        })
        .collect();
    shell.trace_result("inspect_get_mountpoints", &list(&pairs));
    let call = if shell.h.is_readonly() {
        "mount_ro"
    } else {
        "mount"
    };
    for m in shell.h.mounts()? {
        let words = [format!("\"{}\"", m.device), format!("\"{}\"", m.mountpoint)];
        shell.trace_call(call, &words);
        shell.trace_result(call, "0");
    }
    Ok(())
}
