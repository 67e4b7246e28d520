//! The rescue console (virt-rescue): in a launch with `guestwright.rescue` on the kernel
//! command line, a shell on a pseudo-terminal of its own, relayed to the host over the
//! rescue port in the framing of [`guestwright_protocol::rescue`].
//!
//! The shell is bash, as in virt-rescue (busybox's `sh` where bash is not carried), as root in
//! the appliance, with every carried tool unpacked and on its PATH (busybox's applets after
//! the carried tools) (`lvm` also under its command names: `lvs`, `vgs`, ...). The guest is wherever
//! the host mounted it, under `/sysroot`. The disks are the kernel's `/dev/vdX`; `/dev/sdX`
//! links give them (and the partitions found at the start) the names guestfish uses, so that
//! `mount /dev/sda1 /sysroot` works as virt-rescue's manual says.
//!
//! The shell starts when the host sends `Start` (after it mounted what was asked), and its
//! end is sent as `Exit`; the channel keeps serving requests meanwhile, so the host can sync
//! or unmount at the user's escape keys.

use crate::block::devices::{disk_letters, Disks};
use crate::boot::modules::Modules;
use crate::boot::{self, reaper, tools};
use crate::rpc::server::Server;
use guestwright_protocol::rescue::{Decoder, Packet, PORT_NAME};
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

/// Where the applet links and tool names go (a tmpfs of the appliance's own).
const BIN: &str = "/run/rescue/bin";

/// Kernel modules loaded for the shell: device-mapper with LVM's and LUKS's targets, md's
/// levels, the filesystems the appliance can mount and their character sets, loop and fuse.
const RESCUE_MODULES: &[&str] = &[
    "dm_mod",
    "dm_crypt",
    "dm_zero",
    "dm_snapshot",
    "dm_mirror",
    "dm_thin_pool",
    "md_mod",
    "linear",
    "raid0",
    "raid1",
    "raid10",
    "raid456",
    "ext4",
    "xfs",
    "btrfs",
    "vfat",
    "isofs",
    "udf",
    "squashfs",
    "f2fs",
    "ntfs3",
    "nls_cp437",
    "nls_iso8859_1",
    "nls_utf8",
    "loop",
    "fuse",
];

/// LVM's commands, all one program that looks at the name it was started by.
const LVM_COMMANDS: &[&str] = &[
    "lvs",
    "vgs",
    "pvs",
    "lvdisplay",
    "vgdisplay",
    "pvdisplay",
    "lvscan",
    "vgscan",
    "pvscan",
    "lvcreate",
    "vgcreate",
    "pvcreate",
    "lvremove",
    "vgremove",
    "pvremove",
    "lvresize",
    "lvextend",
    "lvreduce",
    "vgchange",
    "lvchange",
    "vgextend",
    "vgreduce",
    "lvrename",
    "vgrename",
    "pvresize",
    "pvmove",
    "vgcfgbackup",
    "vgcfgrestore",
];

/// Starts the rescue console's thread; whatever fails is reported on the appliance console
/// and, when the port is open, to the user.
pub fn start(server: Arc<Server>) {
    let _ = std::thread::Builder::new()
        .name("rescue".into())
        .spawn(move || {
            if let Err(e) = serve(&server) {
                info!("rescue console: {e}");
            }
        });
}

fn serve(server: &Server) -> io::Result<()> {
    let port = boot::open_port(PORT_NAME, Duration::from_secs(10))?;
    let mut input = port.try_clone()?;
    let mut output = port;
    let mut decoder = Decoder::default();
    let (rows, cols, echo, term) = loop {
        match next_packet(&mut input, &mut decoder)? {
            Packet::Start {
                rows,
                cols,
                echo,
                term,
            } => break (rows, cols, echo, term),
            other => debug!("rescue console: {other:?} before the start, dropped"),
        }
    };
    let shell = match prepare(&server.disks, &server.modules)
        .and_then(|shell| spawn(&shell, rows, cols, echo, &term))
    {
        Ok(shell) => shell,
        Err(e) => {
            let text = format!("guestwright: the rescue shell cannot start: {e}\r\n");
            output.write_all(&Packet::Output(text.into_bytes()).encode())?;
            output.write_all(&Packet::Exit(127).encode())?;
            return Err(e);
        }
    };
    let Shell { child, master } = shell;
    let master = File::from(master);
    let mut to_shell = master.try_clone()?;
    let resize = master.try_clone()?;
    // Keystrokes and new sizes, until the host goes away or the shell has ended.
    std::thread::spawn(move || loop {
        let packet = match next_packet(&mut input, &mut decoder) {
            Ok(p) => p,
            Err(e) => {
                debug!("rescue console input: {e}");
                return;
            }
        };
        let done = match packet {
            Packet::Input(bytes) => to_shell.write_all(&bytes).is_err(),
            Packet::Resize { rows, cols } => set_size(&resize, rows, cols).is_err(),
            other => {
                debug!("rescue console: unexpected {other:?}");
                false
            }
        };
        if done {
            return;
        }
    });
    // The shell's end is the session's end, even when a job it left in the background still
    // holds the terminal (as virt-rescue's appliance, which reboots when its shell exits).
    let (ended_tx, ended) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = ended_tx.send(reaper::wait_status(child));
    });
    // What the shell prints, until it has ended and printed all it had, or every holder of
    // the terminal has closed it.
    let mut from_shell = master;
    let mut buf = vec![0u8; 16 * 1024];
    let mut status = None;
    loop {
        if status.is_none() {
            status = ended.try_recv().ok();
        }
        // Once the shell has ended, only what is already there is read.
        let wait_ms = if status.is_some() { 0 } else { 100 };
        if !readable(&from_shell, wait_ms) {
            if status.is_some() {
                break;
            }
            continue;
        }
        match from_shell.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => output.write_all(&Packet::Output(buf[..n].to_vec()).encode())?,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            // EIO: the last process with the terminal open has ended.
            Err(_) => break,
        }
    }
    let status = match status {
        Some(s) => s,
        None => ended.recv().map_err(io::Error::other)?,
    }?;
    let code = status
        .code()
        .or_else(|| {
            use std::os::unix::process::ExitStatusExt;
            status.signal().map(|s| 128 + s)
        })
        .unwrap_or(1);
    output.write_all(&Packet::Exit(code).encode())?;
    Ok(())
}

/// Reads until a whole packet has arrived. The port reads 0 while no host is connected.
fn next_packet(port: &mut File, decoder: &mut Decoder) -> io::Result<Packet> {
    let mut buf = [0u8; 4096];
    loop {
        if let Some(p) = decoder.next_packet().map_err(io::Error::other)? {
            return Ok(p);
        }
        match port.read(&mut buf) {
            Ok(0) => std::thread::sleep(Duration::from_millis(20)),
            Ok(n) => decoder.push(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

/// Unpacks the carried tools, loads the modules a rescue needs, makes the applet and LVM
/// names and the `/dev/sdX` links; returns the shell to run: bash, or busybox's `sh`.
fn prepare(disks: &Disks, modules: &Modules) -> io::Result<ShellCommand> {
    crate::boot::extras::ensure_tools()?;
    // The appliance has no modprobe for the kernel to ask: what `mount`, `lvm`,
    // `cryptsetup` and `mdadm` need goes in now (a module the kernel lacks is skipped).
    for name in RESCUE_MODULES {
        if let Err(e) = modules.load(name) {
            debug!("rescue console: module {name}: {e}");
        }
    }
    let busybox = tools::find("busybox")?;
    std::fs::create_dir_all(BIN)?;
    std::fs::create_dir_all("/root")?;
    // Through the reaper, which would otherwise take the child's status first.
    let installed = reaper::wait(reaper::spawn(
        Command::new(&busybox)
            .args(["--install", "-s", BIN])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped()),
    )?)?;
    if !installed.status.success() {
        return Err(io::Error::other(format!(
            "busybox --install: {}",
            String::from_utf8_lossy(&installed.stderr).trim()
        )));
    }
    if let Ok(lvm) = tools::find("lvm") {
        for name in LVM_COMMANDS {
            let link = Path::new(BIN).join(name);
            let _ = std::fs::remove_file(&link);
            std::os::unix::fs::symlink(&lvm, link)?;
        }
    }
    // Names for `ls -l` and `id`: the appliance has no user database of its own.
    for (file, line) in [
        ("/etc/passwd", "root:x:0:0:root:/root:/bin/sh\n"),
        ("/etc/group", "root:x:0:\n"),
    ] {
        if !Path::new(file).exists() {
            std::fs::write(file, line)?;
        }
    }
    for (i, kernel) in disks.kernel_names().iter().enumerate() {
        link_disk(&format!("sd{}", disk_letters(i)), kernel);
    }
    Ok(match tools::find("bash") {
        Ok(bash) => ShellCommand {
            program: bash,
            args: vec!["--norc", "--noprofile"],
        },
        Err(e) => {
            debug!("rescue console: no bash ({e}), busybox's shell instead");
            ShellCommand {
                program: busybox,
                args: vec!["sh"],
            }
        }
    })
}

/// The shell's program and its arguments.
struct ShellCommand {
    program: std::path::PathBuf,
    args: Vec<&'static str>,
}

/// `/dev/sdX` → `/dev/vdY` and `/dev/sdXN` → `/dev/vdYN` for the partitions there now.
fn link_disk(user: &str, kernel: &str) {
    let link = |from: String, to: String| {
        let from = Path::new("/dev").join(from);
        if std::fs::symlink_metadata(&from).is_err() {
            let _ = std::os::unix::fs::symlink(to, from);
        }
    };
    link(user.to_string(), kernel.to_string());
    let Ok(entries) = std::fs::read_dir(Path::new("/sys/block").join(kernel)) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if let Some(n) = name.strip_prefix(kernel) {
            if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) {
                link(format!("{user}{n}"), name.clone());
            }
        }
    }
}

struct Shell {
    child: std::process::Child,
    master: OwnedFd,
}

/// Starts the shell as the session leader of a new pseudo-terminal of this size.
fn spawn(shell: &ShellCommand, rows: u16, cols: u16, echo: bool, term: &str) -> io::Result<Shell> {
    let (master, slave) = openpty(rows, cols)?;
    if !echo {
        set_echo(&slave, false)?;
    }
    let stdio = |fd: &OwnedFd| fd.try_clone().map(Stdio::from);
    let term = if term.is_empty() { "linux" } else { term };
    let mut cmd = Command::new(&shell.program);
    cmd.args(&shell.args);
    if !echo && shell.args.first() == Some(&"--norc") {
        // A script (the host's stdin is no terminal): bash without line editing keeps the
        // terminal canonical, so the ^D the host sends at the script's end reads as the end
        // of input. Readline would switch to raw mode with the ^D already queued, where the
        // line discipline has turned it into a NUL byte, and the shell would wait forever.
        cmd.arg("--noediting");
    }
    cmd.env_clear()
        .env("PATH", format!("/usr/sbin:/usr/bin:/sbin:/bin:{BIN}"))
        .env("HOME", "/root")
        .env("TERM", term)
        .env("PS1", "><rescue> ")
        .current_dir("/")
        .stdin(stdio(&slave)?)
        .stdout(stdio(&slave)?)
        .stderr(stdio(&slave)?);
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            if libc::setsid() < 0 || libc::ioctl(0, libc::TIOCSCTTY as _, 0) < 0 {
                return Err(io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let child = reaper::spawn(&mut cmd)?;
    // Only the shell holds the terminal now: its end ends the master's reads.
    drop(slave);
    Ok(Shell { child, master })
}

fn winsize(rows: u16, cols: u16) -> libc::winsize {
    libc::winsize {
        ws_row: if rows == 0 { 24 } else { rows },
        ws_col: if cols == 0 { 80 } else { cols },
        ws_xpixel: 0,
        ws_ypixel: 0,
    }
}

fn openpty(rows: u16, cols: u16) -> io::Result<(OwnedFd, OwnedFd)> {
    let (mut master, mut slave) = (-1, -1);
    let size = winsize(rows, cols);
    // SAFETY: the out-pointers are valid; the name buffer may be null.
    let r = unsafe {
        libc::openpty(
            &mut master,
            &mut slave,
            std::ptr::null_mut(),
            std::ptr::null(),
            &size,
        )
    };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: openpty returned two new descriptors that nothing else owns.
    let fds = unsafe { (OwnedFd::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) };
    for fd in [&fds.0, &fds.1] {
        // SAFETY: a valid descriptor; FD_CLOEXEC so that only the shell's stdio inherit it.
        unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_SETFD, libc::FD_CLOEXEC) };
    }
    Ok(fds)
}

/// Whether `file` has something to read (or its end) within `wait_ms`.
fn readable(file: &File, wait_ms: i32) -> bool {
    let mut pfd = libc::pollfd {
        fd: file.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one valid pollfd.
    unsafe { libc::poll(&mut pfd, 1, wait_ms) > 0 }
}

fn set_echo(tty: &OwnedFd, on: bool) -> io::Result<()> {
    // SAFETY: termios is plain old data, filled by tcgetattr.
    let mut t: libc::termios = unsafe { std::mem::zeroed() };
    // SAFETY: a valid terminal descriptor and termios.
    if unsafe { libc::tcgetattr(tty.as_raw_fd(), &mut t) } < 0 {
        return Err(io::Error::last_os_error());
    }
    if on {
        t.c_lflag |= libc::ECHO;
    } else {
        t.c_lflag &= !libc::ECHO;
    }
    // SAFETY: as above.
    if unsafe { libc::tcsetattr(tty.as_raw_fd(), libc::TCSANOW, &t) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

fn set_size(master: &File, rows: u16, cols: u16) -> io::Result<()> {
    let size = winsize(rows, cols);
    // SAFETY: a valid descriptor and winsize.
    if unsafe { libc::ioctl(master.as_raw_fd(), libc::TIOCSWINSZ, &size) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}
