//! Host tools the appliance carries (`lvm`, `mke2fs`, `mkfs.xfs`, ...): finding them, and
//! running them with their stderr kept for the error message.
//!
//! The appliance builder lists what it carried in `/etc/guestwright/carried`, one
//! `name /path` per line. A tool that is not there was not installed on the host when the
//! appliance was built; the error says which host package brings it (the appliance cache is
//! keyed on the carried files, so installing it is enough).

use crate::boot::reaper;
use std::ffi::OsStr;
use std::io::{self, Write};
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

/// Where the appliance builder lists the carried tools.
const CARRIED_LIST: &str = "/etc/guestwright/carried";
/// Where it lists, for each tool's path, the files the tool needs.
const CARRIED_FILES: &str = "/etc/guestwright/carried-files";

/// The Debian package that provides each tool the daemon uses.
const PACKAGES: &[(&str, &str)] = &[
    ("lvm", "lvm2"),
    ("mke2fs", "e2fsprogs"),
    ("mkfs.fat", "dosfstools"),
    ("e2fsck", "e2fsprogs"),
    ("tune2fs", "e2fsprogs"),
    ("resize2fs", "e2fsprogs"),
    ("mkfs.xfs", "xfsprogs"),
    ("xfs_repair", "xfsprogs"),
    ("mkfs.btrfs", "btrfs-progs"),
    ("btrfs", "btrfs-progs"),
    ("btrfstune", "btrfs-progs"),
    ("btrfs-image", "btrfs-progs"),
    ("xfs_db", "xfsprogs"),
    ("xfs_spaceman", "xfsprogs"),
    ("xfs_growfs", "xfsprogs"),
    ("mkswap", "util-linux"),
    ("cryptsetup", "cryptsetup-bin"),
    ("grep", "grep"),
    ("file", "file"),
    ("mdadm", "mdadm"),
    ("ntfs-3g", "ntfs-3g"),
    ("mkntfs", "ntfs-3g"),
    ("ntfs-3g.probe", "ntfs-3g"),
    ("ntfsresize", "ntfs-3g"),
    ("ntfsfix", "ntfs-3g"),
    ("ntfscat", "ntfs-3g"),
    ("ntfsclone", "ntfs-3g"),
    ("mklost+found", "e2fsprogs"),
    ("zerofree", "zerofree"),
    ("scrub", "scrub"),
    // cmds-libs: C libraries the daemon loads at run time.
    ("libaugeas.so.0", "libaugeas0 and augeas-lenses"),
    ("libhivex.so.0", "libhivex0"),
    ("journalctl", "systemd"),
    // cmds-misc
    ("mksquashfs", "squashfs-tools"),
    ("bzip2", "bzip2"),
    ("lzop", "lzop"),
    ("icat", "sleuthkit"),
    ("blkls", "sleuthkit"),
    ("fls", "sleuthkit"),
    ("istat", "sleuthkit"),
    ("resize.f2fs", "f2fs-tools"),
    ("yara", "yara"),
    // cmds-last: guestfish's deprecated sfdisk family.
    ("sfdisk", "fdisk"),
    // libguestfs's `debug sh`.
    ("busybox", "busybox-static"),
    // guestfish's `blkid`.
    ("blkid", "util-linux"),
    // guestfish's syslinux and extlinux.
    ("syslinux", "syslinux and mtools"),
    ("mtools", "mtools"),
    ("mcopy", "mtools"),
    ("mattrib", "mtools"),
    ("mmove", "mtools"),
    ("extlinux", "extlinux"),
    // Windows dynamic disks, rsync and grub-install.
    ("ldmtool", "ldmtool"),
    ("rsync", "rsync"),
    ("grub-install", "grub-pc-bin and grub-common"),
];

fn carried() -> &'static [(String, PathBuf)] {
    static LIST: OnceLock<Vec<(String, PathBuf)>> = OnceLock::new();
    LIST.get_or_init(|| {
        std::fs::read_to_string(CARRIED_LIST)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| {
                let (name, path) = l.trim().split_once(' ')?;
                Some((name.to_string(), PathBuf::from(path.trim())))
            })
            .collect()
    })
}

/// For each carried tool's path, the files it needs to run (itself first).
fn needs() -> &'static [(String, Vec<String>)] {
    static LIST: OnceLock<Vec<(String, Vec<String>)>> = OnceLock::new();
    LIST.get_or_init(|| {
        std::fs::read_to_string(CARRIED_FILES)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| {
                let mut words = l.split_whitespace().map(str::to_string);
                Some((words.next()?, words.collect()))
            })
            .collect()
    })
}

/// Copies what the carried program at `path` needs out of the extras disk, once: its own
/// files when the builder listed them (a program run through an interpreter may run others,
/// so a script gets everything), else every carried file.
fn unpack(path: &std::path::Path) -> io::Result<()> {
    let path = path.to_string_lossy();
    let Some((_, files)) = needs().iter().find(|(p, _)| *p == path) else {
        return crate::boot::extras::ensure_tools();
    };
    let files: Vec<&str> = files.iter().map(String::as_str).collect();
    crate::boot::extras::fetch_files(&files)?;
    let mut head = [0u8; 2];
    let script = std::fs::File::open(path.as_ref())
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut head))
        .is_ok()
        && &head == b"#!";
    if script {
        crate::boot::extras::ensure_tools()?;
    }
    Ok(())
}

/// The programs the appliance carries, by path (the libraries it carries left out).
pub fn programs() -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> = carried()
        .iter()
        .filter(|(name, _)| !name.contains(".so"))
        .map(|(_, path)| path.clone())
        .collect();
    paths.sort();
    paths.dedup();
    paths
}

/// Copies what the carried program at `path` needs out of the extras disk (every carried
/// file when `path` is not one of them).
pub fn unpack_program(path: &std::path::Path) -> io::Result<()> {
    unpack(path)
}

/// The host package that provides `tool`.
pub fn package_of(tool: &str) -> &'static str {
    PACKAGES
        .iter()
        .find(|(t, _)| *t == tool)
        .map_or("the package that provides it", |(_, p)| p)
}

/// Whether the appliance carries `tool`.
pub fn has(tool: &str) -> bool {
    find(tool).is_ok()
}

/// The path of a carried tool, or `EOPNOTSUPP` naming the host package to install.
pub fn find(tool: &str) -> io::Result<PathBuf> {
    // The tools wait on the extras disk until one is first needed.
    if let Some((_, path)) = carried().iter().find(|(name, _)| name == tool) {
        unpack(path)?;
    }
    carried()
        .iter()
        .find(|(name, path)| name == tool && path.is_file())
        .map(|(_, path)| path.clone())
        .ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::Unsupported,
                format!(
                    "{tool} is not available in this appliance: install {} on the host \
                     (the appliance carries the host's tools when they are installed)",
                    package_of(tool)
                ),
            )
        })
}

/// Runs a carried tool and returns its output whatever its exit status.
pub fn run_status<S: AsRef<OsStr>>(
    tool: &str,
    args: &[S],
    env: &[(&str, &str)],
    stdin: Option<&[u8]>,
) -> io::Result<Output> {
    run_status_in(tool, args, env, stdin, None)
}

/// Runs a carried tool in the working directory `dir` (or the daemon's), returning its
/// output whatever its exit status.
pub fn run_status_in<S: AsRef<OsStr>>(
    tool: &str,
    args: &[S],
    env: &[(&str, &str)],
    stdin: Option<&[u8]>,
    dir: Option<&std::path::Path>,
) -> io::Result<Output> {
    spawn_and_wait(tool, false, args, env, stdin, dir)
}

/// [`run_status`] with the tool's name as its `argv[0]`, as libguestfs's daemon runs tools
/// (through `PATH`): for the tools whose messages start with it (`syslinux: ...`).
pub fn run_status_named<S: AsRef<OsStr>>(
    tool: &str,
    args: &[S],
    env: &[(&str, &str)],
) -> io::Result<Output> {
    spawn_and_wait(tool, true, args, env, None, None)
}

fn spawn_and_wait<S: AsRef<OsStr>>(
    tool: &str,
    named: bool,
    args: &[S],
    env: &[(&str, &str)],
    stdin: Option<&[u8]>,
    dir: Option<&std::path::Path>,
) -> io::Result<Output> {
    let path = find(tool)?;
    let mut cmd = Command::new(&path);
    if named {
        std::os::unix::process::CommandExt::arg0(&mut cmd, tool);
    }
    if let Some(dir) = dir {
        cmd.current_dir(dir);
    }
    cmd.args(args)
        .env_clear()
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .env("LC_ALL", "C")
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let shown = show(tool, args);
    debug!("running {shown}");
    let mut child = reaper::spawn(&mut cmd)
        .map_err(|e| io::Error::new(e.kind(), format!("cannot run {shown}: {e}")))?;
    if let (Some(input), Some(mut pipe)) = (stdin, child.stdin.take()) {
        // A tool that exits without reading its input closes the pipe: its exit status
        // says what went wrong, not the EPIPE.
        let _ = pipe.write_all(input);
    }
    reaper::wait(child)
}

/// Runs a carried tool with its stdout and stderr on one pipe, as libguestfs's daemon folds
/// them for tools that report progress on one and errors on the other: the text is in the
/// order the tool wrote it. Returns the exit status and that text.
pub fn run_folded<S: AsRef<OsStr>>(
    tool: &str,
    args: &[S],
) -> io::Result<(std::process::ExitStatus, Vec<u8>)> {
    let path = find(tool)?;
    let (mut reader, writer) = io::pipe()?;
    let mut cmd = Command::new(&path);
    cmd.args(args)
        .env_clear()
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .env("LC_ALL", "C")
        .stdin(Stdio::null())
        .stdout(writer.try_clone()?)
        .stderr(writer);
    let shown = show(tool, args);
    debug!("running {shown}");
    let child = reaper::spawn(&mut cmd)
        .map_err(|e| io::Error::new(e.kind(), format!("cannot run {shown}: {e}")))?;
    // The command holds the pipe's write ends: without dropping it, the read below would
    // wait for ever.
    drop(cmd);
    let mut text = Vec::new();
    let read = io::Read::read_to_end(&mut reader, &mut text);
    let out = reaper::wait(child)?;
    read?;
    Ok((out.status, text))
}

/// Runs a carried tool with `stdin` as its standard input and copies its standard output
/// into `out` as it comes (a stream of any size); insists on exit status 0, the error then
/// holding the command and its stderr.
pub fn stream<S: AsRef<OsStr>>(
    tool: &str,
    args: &[S],
    stdin: Stdio,
    out: &mut dyn Write,
) -> io::Result<()> {
    let path = find(tool)?;
    let mut cmd = Command::new(&path);
    cmd.args(args)
        .env_clear()
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .env("LC_ALL", "C")
        .stdin(stdin)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let shown = show(tool, args);
    debug!("running {shown}");
    let mut child = reaper::spawn(&mut cmd)
        .map_err(|e| io::Error::new(e.kind(), format!("cannot run {shown}: {e}")))?;
    // stderr is drained beside stdout, so a tool that says much cannot block on it.
    let errpipe = child.stderr.take();
    let errs = std::thread::spawn(move || {
        let mut text = Vec::new();
        if let Some(mut p) = errpipe {
            let _ = std::io::Read::read_to_end(&mut p, &mut text);
        }
        text
    });
    let copied = match child.stdout.take() {
        Some(mut p) => io::copy(&mut p, out).map(drop),
        None => Ok(()),
    };
    let mut result = reaper::wait(child)?;
    result.stderr = errs.join().unwrap_or_default();
    copied?;
    if result.status.success() {
        return Ok(());
    }
    Err(failed(tool, args, &result))
}

/// Runs a carried tool and insists on exit status 0; otherwise the error holds the command
/// and its stderr.
pub fn run<S: AsRef<OsStr>>(tool: &str, args: &[S]) -> io::Result<Output> {
    run_with(tool, args, &[], None)
}

/// [`run`] with extra environment variables and standard input.
pub fn run_with<S: AsRef<OsStr>>(
    tool: &str,
    args: &[S],
    env: &[(&str, &str)],
    stdin: Option<&[u8]>,
) -> io::Result<Output> {
    let out = run_status(tool, args, env, stdin)?;
    if out.status.success() {
        return Ok(out);
    }
    Err(failed(tool, args, &out))
}

/// The error for a tool that exited unsuccessfully: the command and its stderr (or its
/// stdout, when it reported there).
pub fn failed<S: AsRef<OsStr>>(tool: &str, args: &[S], out: &Output) -> io::Error {
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let said = if stderr.trim().is_empty() {
        stdout.trim()
    } else {
        stderr.trim()
    };
    let status = match out.status.code() {
        Some(code) => format!("exit status {code}"),
        None => "a signal".to_string(),
    };
    io::Error::other(format!(
        "{} failed with {status}: {}",
        show(tool, args),
        said
    ))
}

fn show<S: AsRef<OsStr>>(tool: &str, args: &[S]) -> String {
    let mut s = tool.to_string();
    for a in args {
        s.push(' ');
        s.push_str(&a.as_ref().to_string_lossy());
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_tools_name_their_package() {
        let e = find("mkfs.xfs").unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::Unsupported);
        assert!(e.to_string().contains("install xfsprogs"), "{e}");
        assert_eq!(package_of("lvm"), "lvm2");
    }
}
