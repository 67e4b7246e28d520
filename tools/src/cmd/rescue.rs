//! `guestwright rescue`: a shell in the appliance with the disks attached, like virt-rescue.
//!
//! The appliance is launched with a rescue console (a port of its own, see
//! `guestwright_protocol::rescue`); after `-i` or `-m` mounted the guest under `/sysroot`,
//! the daemon starts busybox's shell on a pseudo-terminal and this command relays it to the
//! user's terminal, which it puts in raw mode (keys such as Ctrl-C go to the shell). The
//! escape key (`^]` unless `-e`) followed by a letter does what virt-rescue's escapes do.
//! Standard input may also be a pipe or a file: its lines are the shell's input, and its
//! end ends the shell, so a rescue session can be scripted.

use crate::error::{stdout, CliError, Result};
use crate::options::{formats_by_image, parse_mount, ApplianceArgs, FormatOptions, MountSpec};
use crate::session::{self, Access};
use clap::Args;
use guestwright::inspect::OsInfo;
use guestwright::prelude::*;
use guestwright::protocol::rescue::{Decoder, Packet};
use guestwright::Format;
use std::io::{IsTerminal, Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::path::PathBuf;

/// How big a scratch disk (--scratch) is: sparse, so it costs nothing until written.
const SCRATCH_SIZE: u64 = 10 << 30;

/// The default escape key, Ctrl-].
const DEFAULT_ESCAPE: u8 = 0x1d;

/// Run a rescue shell in the appliance with the disks attached (read-write unless --ro),
/// like virt-rescue. What you see in / is the appliance; the guest's filesystems go under
/// /sysroot: mount them there yourself, or use -i (inspection mounts the guest as it mounts
/// itself, with /dev, /proc and /sys bound in for `chroot /sysroot`) or -m. The disks are
/// /dev/vda, /dev/vdb, ... with /dev/sda, /dev/sdb, ... as links. Type `^] h` for the
/// escape keys; `exit` leaves the shell, and the disks are synced before the appliance
/// stops.
#[derive(Debug, Args)]
pub struct RescueArgs {
    /// A disk image (repeat for several disks).
    #[arg(short = 'a', long = "add", value_name = "IMAGE", value_hint = clap::ValueHint::FilePath)]
    images: Vec<PathBuf>,
    /// Old style: disk images (or a libvirt guest's name) without -a.
    #[arg(value_name = "DISK", value_hint = clap::ValueHint::FilePath)]
    old_style: Vec<String>,
    /// Add every disk of this libvirt guest.
    #[arg(short = 'd', long = "domain", value_name = "GUEST")]
    domain: Option<String>,
    /// The libvirt URI for -d.
    #[arg(short = 'c', long = "connect", value_name = "URI")]
    connect: Option<String>,
    #[command(flatten)]
    formats: FormatOptions,
    /// Each -a image's format, from where the --format options stand ([`Self::place_formats`]).
    #[arg(skip)]
    placed: Vec<Option<Format>>,
    /// The disks' sector size: 512 or 4096 (512 when given without a value).
    #[arg(long, value_name = "512|4096", num_args = 0..=1, require_equals = true,
          default_missing_value = "512")]
    blocksize: Option<u32>,
    /// Inspect the disks and mount the guest under /sysroot the way it mounts itself.
    #[arg(short = 'i', long = "inspector")]
    inspector: bool,
    /// Mount a filesystem under /sysroot: DEVICE[:MOUNTPOINT[:OPTIONS[:FSTYPE]]].
    #[arg(short = 'm', long = "mount", value_name = "DEV[:MP[:OPTS[:FSTYPE]]]",
          value_parser = parse_mount)]
    mounts: Vec<MountSpec>,
    /// Open the images read-only (their bytes never change; what the shell writes is
    /// thrown away at the end).
    #[arg(short = 'r', long = "ro", conflicts_with = "rw")]
    ro: bool,
    /// Open the images read-write (the default).
    #[arg(short = 'w', long = "rw")]
    rw: bool,
    /// Add N empty scratch disks of 10 GiB, deleted at the end (1 when no N is given).
    #[arg(long, value_name = "N", num_args = 0..=1, require_equals = true,
          default_missing_value = "1")]
    scratch: Option<u32>,
    /// Accepted for compatibility; does nothing (as in virt-rescue).
    #[arg(long)]
    selinux: bool,
    /// Give the appliance N virtual CPUs.
    #[arg(long, value_name = "N")]
    smp: Option<u32>,
    /// The appliance's memory, in MiB.
    #[arg(long, value_name = "MB")]
    memsize: Option<u32>,
    /// Give the appliance QEMU's user-mode network.
    #[arg(long)]
    network: bool,
    /// Extra kernel options (not supported: the appliance's kernel command line is
    /// guestwright's own).
    #[arg(long, value_name = "KERNELOPTS")]
    append: Option<String>,
    /// The escape key: ^X (Ctrl and a letter), or `none` to turn escapes off.
    #[arg(short = 'e', value_name = "^x|none")]
    escape: Option<String>,
    /// Print the commands that mount the guest's filesystems in the rescue shell, and exit
    /// (read-only).
    #[arg(long)]
    suggest: bool,
    /// Accepted for compatibility (libguestfs's call trace); -v shows what happens.
    #[arg(short = 'x')]
    trace: bool,
}

impl RescueArgs {
    /// Gives each -a image the last --format before it on the command line `m`.
    pub fn place_formats(&mut self, m: &clap::ArgMatches) {
        self.placed = formats_by_image(&self.formats.format, m);
    }

    /// The last --format given (for disks named without -a).
    fn last_format(&self) -> Option<Format> {
        self.formats.format.last().and_then(|f| f.0)
    }
}

/// The escape key `-e` names: `^X` is Ctrl-X; `none` (0) turns escapes off.
pub fn parse_escape_key(s: &str) -> Option<u8> {
    if s == "none" {
        return Some(0);
    }
    match s.as_bytes() {
        [b'^', c] if c.is_ascii_lowercase() || (b'A'..=b'_').contains(c) => {
            Some(c.to_ascii_uppercase() - b'@')
        }
        _ => None,
    }
}

/// How the escape key prints: `^]`, or `none`.
fn key_name(key: u8) -> String {
    match key {
        0 => "none".into(),
        k => format!("^{}", (k + b'@') as char),
    }
}

fn reference_usage(message: &str) -> CliError {
    CliError::AsReference(format!(
        "virt-rescue: error: {message}\nTry \u{2018}virt-rescue --help\u{2019} for more information."
    ))
}

/// The disks to add, from -a, -d and the old-style arguments.
fn disks(args: &RescueArgs) -> Result<Vec<(PathBuf, Option<Format>)>> {
    let mut out: Vec<(PathBuf, Option<Format>)> = args
        .images
        .iter()
        .enumerate()
        .map(|(i, p)| (p.clone(), args.placed.get(i).copied().flatten()))
        .collect();
    let mut domains: Vec<&str> = args.domain.iter().map(String::as_str).collect();
    if let Some(extra) = args.old_style.first() {
        if !out.is_empty() || !domains.is_empty() {
            return Err(CliError::AsReference(format!(
                "virt-rescue: error: extra argument \u{2018}{extra}\u{2019} on command line.\n\
                 Make sure to specify the argument for --format or --scratch like \
                 '--format={extra}'.\nTry \u{2018}virt-rescue --help\u{2019} for more information."
            )));
        }
        // As virt-rescue: a name with a slash, or a file that exists, is a disk image;
        // anything else is a guest's name.
        for a in &args.old_style {
            if a.contains('/') || std::path::Path::new(a).exists() {
                out.push((PathBuf::from(a), args.last_format()));
            } else {
                domains.push(a);
            }
        }
    }
    for d in domains {
        for disk in crate::libvirt::domain_disks(args.connect.as_deref(), d)? {
            out.push((disk.path, disk.format.or(args.last_format())));
        }
    }
    Ok(out)
}

/// Runs `rescue`.
pub fn run(args: &RescueArgs, appliance: &ApplianceArgs, verbose: bool) -> Result {
    let escape = match &args.escape {
        None => DEFAULT_ESCAPE,
        Some(e) => parse_escape_key(e).ok_or_else(|| {
            CliError::AsReference(format!("virt-rescue: unrecognized escape key: {e}"))
        })?,
    };
    if args.append.is_some() {
        return Err(CliError::Usage(
            "rescue --append: the appliance's kernel command line is guestwright's own and \
             cannot be extended; leave --append out"
                .into(),
        ));
    }
    let disks = disks(args)?;
    if disks.is_empty() && args.scratch.is_none() {
        return Err(reference_usage(
            "you must specify at least one -a or -d option.",
        ));
    }
    if args.suggest {
        return suggest(&disks, appliance, verbose);
    }

    let mut config = session::launch_config(appliance, verbose)?;
    config.rescue = true;
    config.network |= args.network;
    if let Some(n) = args.smp {
        config.smp = n.max(1);
    }
    if let Some(m) = args.memsize {
        config.memory_mib = m;
    }
    let readonly = args.ro;
    let mut h = Handle::with_config(config);
    for (path, format) in &disks {
        h.add_drive(
            path,
            DriveOptions {
                format: *format,
                readonly,
                blocksize: args.blocksize,
            },
        )?;
    }
    let mut scratch = Vec::new();
    for _ in 0..args.scratch.unwrap_or(0) {
        let file = session::scratch_file(SCRATCH_SIZE)
            .map_err(|(path, source)| CliError::HostIo { path, source })?;
        h.add_drive(
            &file,
            DriveOptions {
                format: Some(Format::Raw),
                readonly: false,
                blocksize: args.blocksize,
            },
        )?;
        scratch.push(file);
    }
    h.launch()?;
    let access = if readonly {
        Access::ReadOnly
    } else {
        Access::ReadWrite
    };
    let os = if args.inspector {
        let os = guestwright::inspect::inspect_and_mount(&h, readonly).map_err(|e| {
            if crate::shell::fisherr::is_no_os(&e) {
                CliError::AsReference(crate::shell::fisherr::no_os("virt-rescue"))
            } else {
                CliError::from(e)
            }
        })?;
        if os.os_type != "windows" {
            // As virt-rescue: `chroot /sysroot` then finds the appliance's devices.
            for dir in ["dev", "proc", "sys"] {
                let _ = h.run(args::Debug::new(
                    "sh",
                    vec![format!("mount -o rbind /{dir} /sysroot/{dir}")],
                ));
            }
        }
        Some(os)
    } else {
        None
    };
    session::mount_all(&h, &args.mounts, access)?;
    let console = h.take_rescue_console().ok_or_else(|| {
        CliError::Usage("the appliance was launched without its rescue console".into())
    })?;
    let mounted = args.inspector || !args.mounts.is_empty();
    let result = relay(&h, console, escape, os.as_ref(), mounted);
    let mut out = std::io::stdout();
    // The terminal is itself again (not raw): plain newlines.
    let _ = out.write_all(b"\nvirt-rescue: Syncing the disk now before exiting ...\n\n");
    let _ = out.flush();
    // The rbind mounts go with the guest's: the daemon unmounts recursively.
    let synced = h.sync();
    h.shutdown()?;
    drop(scratch);
    result?;
    synced?;
    Ok(())
}

/// The terminal's size (rows, columns), or 0, 0 when stdout is not one.
fn terminal_size() -> (u16, u16) {
    // SAFETY: winsize is plain old data; TIOCGWINSZ fills it or fails.
    let mut ws: libc::winsize = unsafe { std::mem::zeroed() };
    // SAFETY: a valid descriptor and a valid winsize to write into.
    if unsafe { libc::ioctl(libc::STDOUT_FILENO, libc::TIOCGWINSZ, &mut ws) } == 0 {
        (ws.ws_row, ws.ws_col)
    } else {
        (0, 0)
    }
}

/// The user's terminal in raw mode until dropped (so Ctrl-C and the like reach the shell).
struct Raw {
    saved: libc::termios,
}

impl Raw {
    fn new() -> std::io::Result<Raw> {
        // SAFETY: termios is plain old data; all-zero is a valid value to fill.
        let mut saved: libc::termios = unsafe { std::mem::zeroed() };
        // SAFETY: stdin is open; `saved` is a valid termios to write into.
        if unsafe { libc::tcgetattr(libc::STDIN_FILENO, &mut saved) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
        let mut raw = saved;
        // SAFETY: `raw` is a valid termios.
        unsafe { libc::cfmakeraw(&mut raw) };
        // SAFETY: as above.
        if unsafe { libc::tcsetattr(libc::STDIN_FILENO, libc::TCSANOW, &raw) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(Raw { saved })
    }

    fn restore(&self) {
        // SAFETY: restores the settings saved from the same terminal.
        unsafe { libc::tcsetattr(libc::STDIN_FILENO, libc::TCSANOW, &self.saved) };
    }

    fn again(&self) {
        let mut raw = self.saved;
        // SAFETY: `raw` is a valid termios.
        unsafe {
            libc::cfmakeraw(&mut raw);
            libc::tcsetattr(libc::STDIN_FILENO, libc::TCSANOW, &raw);
        }
    }
}

impl Drop for Raw {
    fn drop(&mut self) {
        self.restore();
    }
}

/// What the escape key and the letter after it do.
struct Escapes<'a> {
    key: u8,
    pending: bool,
    h: &'a Handle,
    os: Option<&'a OsInfo>,
}

enum Escaped {
    /// Bytes for the shell.
    Send(Vec<u8>),
    /// `^] q`: leave now.
    Quit,
}

impl Escapes<'_> {
    /// Takes the escapes out of `input`, doing what they ask.
    fn process(&mut self, input: &[u8], raw: Option<&Raw>) -> Escaped {
        let mut send = Vec::with_capacity(input.len());
        for &b in input {
            if self.key == 0 {
                send.push(b);
                continue;
            }
            if !self.pending {
                if b == self.key {
                    self.pending = true;
                } else {
                    send.push(b);
                }
                continue;
            }
            self.pending = false;
            if b == self.key {
                // Typed twice: the key itself goes to the shell.
                send.push(b);
                continue;
            }
            let name = key_name(self.key);
            let say = |text: &str| {
                let mut out = std::io::stdout();
                let _ = out.write_all(text.replace('\n', "\r\n").as_bytes());
                let _ = out.flush();
            };
            match b {
                b'?' | b'h' => {
                    say(&format!("{name}{}\n", b as char));
                    say(&self.help());
                }
                b'i' => {
                    say(&format!("{name}i\n"));
                    say(&self.inspection());
                }
                b'q' | b'x' => {
                    say(&format!("{name}{}\n", b as char));
                    return Escaped::Quit;
                }
                b's' => {
                    say(&format!("{name}s\nattempting to sync filesystems ...\n"));
                    if let Err(e) = self.h.sync() {
                        say(&format!("guestwright: sync: {e}\n"));
                    }
                }
                b'u' => {
                    say(&format!("{name}u\nunmounting filesystems ...\n"));
                    if let Err(e) = self.h.umount_all() {
                        say(&format!("guestwright: umount-all: {e}\n"));
                    }
                }
                b'z' => {
                    say(&format!("{name}z\n"));
                    if let Some(raw) = raw {
                        raw.restore();
                    }
                    // SAFETY: stops this process as the terminal's suspend key would.
                    unsafe { libc::raise(libc::SIGTSTP) };
                    if let Some(raw) = raw {
                        raw.again();
                    }
                }
                // Anything else is dropped, as in virt-rescue.
                _ => {}
            }
        }
        Escaped::Send(send)
    }

    fn help(&self) -> String {
        let k = key_name(self.key);
        let mut s = String::from("virt-rescue escape sequences:\n");
        s += &format!(" {k} ? - print this message\n {k} h - print this message\n");
        if self.os.is_some() {
            s += &format!(" {k} i - print inspection data\n");
        }
        for (c, what) in [
            ('q', "quit virt-rescue"),
            ('s', "sync the filesystems"),
            ('u', "unmount filesystems"),
            ('x', "quit virt-rescue"),
            ('z', "suspend virt-rescue"),
        ] {
            s += &format!(" {k} {c} - {what}\n");
        }
        s + "to pass the escape key through to the rescue shell, type it twice\n"
    }

    fn inspection(&self) -> String {
        let Some(os) = self.os else {
            return String::new();
        };
        format!(
            "\nroot device: {}\n  product name: {}\n  type: {}\n  distro: {}\n",
            os.root, os.product_name, os.os_type, os.distro
        )
    }
}

/// Relays the shell until it ends (its status is not ours: virt-rescue exits 0), the user
/// quits with the escape key, or a stop signal arrives.
fn relay(
    h: &Handle,
    mut console: UnixStream,
    escape: u8,
    os: Option<&OsInfo>,
    mounted: bool,
) -> Result {
    let tty = std::io::stdin().is_terminal();
    let raw = if tty {
        Some(Raw::new().map_err(|source| CliError::HostIo {
            path: PathBuf::from("/dev/stdin"),
            source,
        })?)
    } else {
        None
    };
    let mut out = std::io::stdout();
    let mut say = |text: &str| -> Result {
        out.write_all(text.replace('\n', "\r\n").as_bytes())
            .and_then(|()| out.flush())
            .map_err(stdout)
    };
    let escape = if tty { escape } else { 0 };
    if escape != 0 {
        let k = key_name(escape);
        say(&format!(
            "\nThe virt-rescue escape key is \u{2018}{k}\u{2019}.  Type \u{2018}{k} h\u{2019} for help.\n"
        ))?;
    }
    say(&format!(
        "\n------------------------------------------------------------\n\n\
         Welcome to virt-rescue, the guestwright rescue shell.\n\n\
         Note: The contents of / (root) are the rescue appliance.\n{}\n",
        if mounted {
            "Use 'cd /sysroot' or 'chroot /sysroot' to see guest filesystems.\n"
        } else {
            "You have to mount the guest\u{2019}s partitions under /sysroot\n\
             before you can examine them.\n"
        }
    ))?;
    let (rows, cols) = terminal_size();
    let term = std::env::var("TERM").unwrap_or_default();
    let send = |c: &mut UnixStream, p: Packet| -> Result {
        c.write_all(&p.encode()).map_err(|source| CliError::HostIo {
            path: PathBuf::from("rescue console"),
            source,
        })
    };
    send(
        &mut console,
        Packet::Start {
            rows,
            cols,
            echo: tty,
            term,
        },
    )?;
    let mut escapes = Escapes {
        key: escape,
        pending: false,
        h,
        os,
    };
    let mut decoder = Decoder::default();
    // SAFETY: fd 0 stays open for the process's life; ManuallyDrop never closes it.
    let mut stdin_fd = std::mem::ManuallyDrop::new(unsafe {
        <std::fs::File as std::os::fd::FromRawFd>::from_raw_fd(libc::STDIN_FILENO)
    });
    let mut size = (rows, cols);
    let mut stdin_open = true;
    let mut buf = vec![0u8; 16 * 1024];
    let mut out = std::io::stdout();
    loop {
        if crate::signals::received().is_some() {
            return Ok(());
        }
        let mut fds = [
            libc::pollfd {
                fd: console.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            },
            libc::pollfd {
                fd: if stdin_open { libc::STDIN_FILENO } else { -1 },
                events: libc::POLLIN,
                revents: 0,
            },
        ];
        // SAFETY: two valid pollfd entries (a negative fd is ignored by poll).
        let n = unsafe { libc::poll(fds.as_mut_ptr(), 2, 200) };
        if n < 0 {
            let e = std::io::Error::last_os_error();
            if e.kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            return Err(CliError::HostIo {
                path: PathBuf::from("/dev/stdin"),
                source: e,
            });
        }
        if tty {
            let now = terminal_size();
            if now != size {
                size = now;
                send(
                    &mut console,
                    Packet::Resize {
                        rows: now.0,
                        cols: now.1,
                    },
                )?;
            }
        }
        if fds[0].revents != 0 {
            let got = console.read(&mut buf).map_err(|source| CliError::HostIo {
                path: PathBuf::from("rescue console"),
                source,
            })?;
            if got == 0 {
                // The appliance went away.
                return Ok(());
            }
            decoder.push(&buf[..got]);
            while let Some(p) = decoder
                .next_packet()
                .map_err(|e| CliError::Usage(e.to_string()))?
            {
                match p {
                    Packet::Output(bytes) => {
                        out.write_all(&bytes).map_err(stdout)?;
                        out.flush().map_err(stdout)?;
                    }
                    Packet::Exit(_) => return Ok(()),
                    _ => {}
                }
            }
        }
        if stdin_open && fds[1].revents != 0 {
            // Straight from the descriptor: std's buffered stdin could keep bytes poll(2)
            // no longer sees.
            let read = stdin_fd.read(&mut buf);
            let got = match read {
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(_) => 0,
            };
            if got == 0 {
                // The end of a script: the shell reads its end too.
                stdin_open = false;
                send(&mut console, Packet::Input(vec![0x04]))?;
                continue;
            }
            match escapes.process(&buf[..got], raw.as_ref()) {
                Escaped::Quit => return Ok(()),
                Escaped::Send(bytes) if !bytes.is_empty() => {
                    send(&mut console, Packet::Input(bytes))?
                }
                Escaped::Send(_) => {}
            }
        }
    }
}

/// `--suggest`: inspects (read-only) and prints the mount commands for the rescue shell.
fn suggest(
    disks: &[(PathBuf, Option<Format>)],
    appliance: &ApplianceArgs,
    verbose: bool,
) -> Result {
    let mut h = Handle::with_config(session::launch_config(appliance, verbose)?);
    for (path, format) in disks {
        h.add_drive(
            path,
            DriveOptions {
                format: *format,
                readonly: true,
                blocksize: None,
            },
        )?;
    }
    let mut out = std::io::stdout().lock();
    out.write_all(b"Inspecting the virtual machine or disk image ...\n\n")
        .and_then(|()| out.flush())
        .map_err(stdout)?;
    h.launch()?;
    let inspection = guestwright::inspect::inspect_all(&h)?;
    let mut text = String::new();
    if inspection.found.is_empty() {
        let filesystems = h.list_filesystems()?;
        let mountable = |t: &str| t != "swap" && t != "unknown";
        if !filesystems.iter().any(|f| mountable(&f.fstype)) {
            text += "This disk contains no mountable filesystems that we recognize.\n\n\
                     However you can still use virt-rescue on the disk image, to try to mount\n\
                     filesystems that are not recognized by libguestfs, or to create partitions,\n\
                     logical volumes and filesystems on a blank disk.\n";
        } else {
            text +=
                "This disk contains one or more filesystems, but we don\u{2019}t recognize any\n\
                     operating system.  You can use these mount commands in virt-rescue (at the\n\
                     ><rescue> prompt) to mount these filesystems.\n\n";
            for f in &filesystems {
                text += &format!("# {} has type \u{2018}{}\u{2019}\n", f.device, f.fstype);
                if mountable(&f.fstype) {
                    text += &format!("mount {} /sysroot\n", f.device);
                }
                text += "\n";
            }
        }
    } else {
        text += "This disk contains one or more operating systems.  You can use these mount\n\
                 commands in virt-rescue (at the ><rescue> prompt) to mount the filesystems.\n\n";
        for os in &inspection.found {
            text += &format!(
                "# {} is the root of a {} operating system\n# type: {}, distro: {}, version: {}.{}\n# {}\n\n",
                os.root,
                os.os_type,
                os.os_type,
                os.distro,
                os.major_version,
                os.minor_version,
                os.product_name
            );
            let mut mps: Vec<_> = os.mountpoints.iter().collect();
            mps.sort_by_key(|m| m.mountpoint.len());
            for m in mps {
                text += &format!("mount {} /sysroot{}\n", m.device, m.mountpoint);
            }
            if os.os_type == "linux" {
                text += "mount --rbind /dev /sysroot/dev\n\
                         mount --rbind /proc /sysroot/proc\n\
                         mount --rbind /sys /sysroot/sys\n\n\
                         cd /sysroot\nchroot /sysroot\n";
            }
            text += "\n";
        }
    }
    out.write_all(text.as_bytes()).map_err(stdout)?;
    out.flush().map_err(stdout)?;
    h.shutdown()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_keys_as_virt_rescue_parses_them() {
        assert_eq!(parse_escape_key("^]"), Some(0x1d));
        assert_eq!(parse_escape_key("^a"), Some(1));
        assert_eq!(parse_escape_key("^A"), Some(1));
        assert_eq!(parse_escape_key("^_"), Some(0x1f));
        assert_eq!(parse_escape_key("none"), Some(0));
        for bad in ["", "^", "a", "^1", "^ab", "foo", "^{"] {
            assert_eq!(parse_escape_key(bad), None, "{bad:?}");
        }
        assert_eq!(key_name(0x1d), "^]");
        assert_eq!(key_name(0), "none");
    }
}
