//! `guestwright shell`: a guestfish-like shell for people and scripts.
//!
//! Every operation of the protocol's table is a command (parsed, checked, completed and
//! documented from the table: this module names none of them); a few host-side commands
//! (`add`, `run`, `edit`, `copy-in`, `!CMD`, ...) live in [`commands`]. The appliance
//! launches when the first command needs it. Interactively an error is reported and the
//! shell goes on; in a script or with commands on the command line the first error stops it
//! (unless the command starts with `-`).
//!
//! Modules: [`parse`] (syntax), [`table`] (running table operations), [`commands`]
//! (host-side commands), [`help`], [`output`] (text, JSON, pipes), [`json`], [`script`]
//! (line sources, here-documents), [`interactive`] (prompt, history, Ctrl-C),
//! [`complete`] (tab completion), [`copy`] (copy-in, copy-out).

mod builtins;
mod commands;
mod complete;
mod copy;
mod drives;
pub use drives::parse_size;
pub(crate) mod fisherr;
mod help;
mod hostmisc;
mod inspectcmds;
mod interactive;
mod json;
mod local;
pub(crate) mod man;
mod output;
mod parse;
mod remote;
mod script;
mod settings;
mod table;
mod trace;

use crate::options::{parse_format, parse_mount, ApplianceArgs, MountSpec};
use crate::session::Access;
use clap::Args;
use guestwright::prelude::*;
use guestwright::Canceller;
use guestwright_sync::Mutex;
use output::Output;
use parse::Line;
use script::LineSource;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Every command succeeded.
pub const EXIT_OK: u8 = 0;
/// A command failed (its message says which and why).
pub const EXIT_FAILED: u8 = 1;
/// The shell's own options are wrong.
pub const EXIT_USAGE: u8 = 2;
/// The appliance could not be started, or shutting it down failed (then the images may lack
/// the last writes).
pub const EXIT_APPLIANCE: u8 = 3;

/// Explore and change disk images with guestfish's commands.
///
/// With commands after the options (separated by ':'), the shell runs them and exits.
/// With -f SCRIPT, or with standard input not a terminal, it runs the script. Otherwise it
/// prompts. The appliance starts when the first command needs it. 'help' lists the
/// commands; 'help CMD' explains one.
///
///   guestwright shell --ro -a disk.img -m /dev/sda1 : cat /etc/hostname : ls /etc
///
///   guestwright shell -a disk.img -f fix.gw      (read-write, as guestfish)
///
///   guestwright shell --ro -a disk.img -i        (read-only)
///
/// Interactively, an error is reported and the shell goes on. In a script or with commands
/// on the command line, the first error stops the shell, unless the command is written with
/// a leading '-' (as in '-rm /tmp/x').
///
/// Exit status: 0 every command succeeded; 1 a command failed; 2 usage error (bad options);
/// 3 the appliance could not be started, or shutting it down failed (the images may lack
/// the last writes).
#[derive(Debug, Args)]
#[command(verbatim_doc_comment)]
pub struct ShellArgs {
    /// A disk image to add (repeat for several: /dev/sda, /dev/sdb, ...).
    #[arg(short = 'a', long = "add", value_name = "IMAGE", value_hint = clap::ValueHint::FilePath)]
    images: Vec<PathBuf>,
    /// The format of the -a images: raw, qcow2, vmdk, vdi, vhdx, vpc (detected from the
    /// header when not given; QEMU never guesses).
    /// As in guestfish it applies to the -a images after it, until the next --format
    /// (a bare --format goes back to detecting).
    #[arg(long, value_name = "FORMAT", value_parser = parse_format, num_args = 0..=1,
          require_equals = true, action = clap::ArgAction::Append)]
    format: Vec<Format>,
    /// Open the -a images read-only: their bytes never change, and commands that would
    /// write are refused.
    #[arg(long, overrides_with = "rw")]
    ro: bool,
    /// Open the -a images read-write (the default, as in guestfish).
    #[arg(short = 'w', long, overrides_with = "ro")]
    rw: bool,
    /// Inspect the images for operating systems and mount their filesystems as the guest
    /// would.
    #[arg(short = 'i', long = "inspector")]
    inspector: bool,
    /// Mount a filesystem: DEVICE[:MOUNTPOINT[:OPTIONS[:FSTYPE]]] (mountpoint defaults to /).
    #[arg(short = 'm', long = "mount", value_name = "DEV[:MP[:OPTS[:FSTYPE]]]", value_parser = parse_mount)]
    mounts: Vec<MountSpec>,
    /// Run the commands in SCRIPT ('-' for standard input). Also works as an interpreter:
    /// '#!/usr/bin/env -S guestwright shell -f'.
    #[arg(short = 'f', long = "file", value_name = "SCRIPT")]
    file: Option<PathBuf>,
    /// Trace each library call on standard error, as guestfish -x does (the same as
    /// 'set-trace true' first, or LIBGUESTFS_TRACE=1): 'libguestfs: trace: NAME ARGS' as it
    /// starts, 'libguestfs: trace: NAME = RESULT' as it ends.
    #[arg(short = 'x')]
    trace: bool,
    /// Print results as JSON, one value per line (same as the 'json on' command).
    #[arg(long)]
    json: bool,
    /// Create a prepared disk image and add it: [FILE=]TYPE[:PARAM...], as guestfish's -N
    /// (file test1.img, test2.img, ... unless named; '-N help' lists the types).
    #[arg(short = 'N', long = "new", value_name = "[FILE=]TYPE")]
    prepared: Vec<String>,
    /// Accepted for guestfish's command lines (-n, --no-sync): guestwright always writes
    /// everything to the images before it exits.
    #[arg(short = 'n', long = "no-sync")]
    no_sync: bool,
    /// A command whose output goes to a host pipe ('cmd | host-cmd') fails when the host
    /// command stops reading early (by default that is not an error).
    #[arg(long)]
    pipe_error: bool,
    /// The libvirt URI that -d reads guests from (virsh's default when not given).
    #[arg(short = 'c', long = "connect", value_name = "URI")]
    connect: Option<String>,
    /// Add the file and block disks of a libvirt guest (read through `virsh dumpxml`); a
    /// running guest only with --ro.
    #[arg(short = 'd', long = "domain", value_name = "GUEST")]
    domain: Vec<String>,
    /// Give the appliance a network.
    #[arg(long)]
    network: bool,
    /// Start in the background and take commands from `--remote` (guestfish's remote
    /// control): prints `GUESTFISH_PID=PID; export GUESTFISH_PID` for `eval`.
    #[arg(long, conflicts_with = "remote")]
    listen: bool,
    /// With --listen, print csh's `setenv GUESTFISH_PID PID` instead.
    #[arg(long)]
    csh: bool,
    /// Send the commands to the shell started with --listen: that of $GUESTFISH_PID, or
    /// of PID.
    #[arg(long, value_name = "PID", num_args = 0..=1, require_equals = true)]
    remote: Option<Option<u32>>,
    /// Commands to run, separated by ':' words (a command written with a leading '-' to
    /// ignore its error goes after a ':').
    #[arg(value_name = "COMMAND", trailing_var_arg = true)]
    commands: Vec<String>,
}

/// Why a command failed.
#[derive(Debug, thiserror::Error)]
pub enum ShellError {
    /// The line does not parse.
    #[error(transparent)]
    Syntax(#[from] parse::ParseError),
    /// Wrong arguments, or an unknown command.
    #[error("{0}")]
    Usage(String),
    /// The appliance did not start.
    #[error("cannot launch the appliance")]
    Launch(#[source] guestwright::Error),
    /// Stopping the appliance failed: the images may lack the last writes.
    #[error(transparent)]
    Shutdown(guestwright::Error),
    /// The operation failed.
    #[error(transparent)]
    Library(#[from] guestwright::Error),
    /// A host file could not be used.
    #[error("{}", guestwright::error::escape_path(path))]
    HostIo {
        /// The host file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A host command (`!`, `|`, `<!`, the editor) failed.
    #[error(transparent)]
    Pipe(#[from] output::PipeError),
    /// copy-in or copy-out failed.
    #[error(transparent)]
    Copy(#[from] guestwright::copy::CopyError),
    /// Writing the command's output failed.
    #[error("cannot write the output")]
    Output(#[source] std::io::Error),
    /// Ctrl-C.
    #[error("interrupted")]
    Interrupted,
    /// guestfish's own message (a wrong number of arguments, an unknown command), printed
    /// as it is.
    #[error("{0}")]
    Fish(String),
    /// A failure whose messages were already printed (by `glob`, one per failed run), with
    /// its exit code.
    #[error("")]
    Reported(u8),
    /// An error as libguestfs reports it (`download: /x: No such file or directory`);
    /// printed after `libguestfs: error: `, and in a script after its name and line.
    #[error("{0}")]
    Libguestfs(String),
}

impl From<fisherr::Refusal> for ShellError {
    fn from(r: fisherr::Refusal) -> Self {
        match r {
            fisherr::Refusal::Fish(m) => ShellError::Fish(m),
            fisherr::Refusal::Libguestfs(m) => ShellError::Libguestfs(m),
        }
    }
}

impl ShellError {
    fn exit_code(&self) -> u8 {
        match self {
            ShellError::Launch(_) | ShellError::Shutdown(_) => EXIT_APPLIANCE,
            ShellError::Library(guestwright::Error::Environment(_)) => EXIT_USAGE,
            ShellError::Reported(code) => *code,
            _ => EXIT_FAILED,
        }
    }
}

/// What Ctrl-C reaches: the flag the shell checks between commands, and the canceller of
/// the running appliance.
#[derive(Debug, Default)]
pub(crate) struct Interrupt {
    requested: AtomicBool,
    canceller: Mutex<Option<Canceller>>,
}

impl Interrupt {
    /// Called from the Ctrl-C handler: cancels every call in flight.
    fn fire(&self) {
        self.requested.store(true, Ordering::SeqCst);
        // Cloned out first: cancelling writes to the channel, which blocks while it is full
        // (a long upload), and the shell must still be able to change the canceller.
        let canceller = self.canceller.lock().clone();
        if let Some(c) = canceller {
            c.cancel();
        }
    }

    fn take(&self) -> bool {
        self.requested.swap(false, Ordering::SeqCst)
    }

    fn set_canceller(&self, c: Option<Canceller>) {
        *self.canceller.lock() = c;
    }
}

/// What to do after a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flow {
    Continue,
    Quit,
}

/// Why a run of commands stopped before its end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stop {
    /// `quit`, or standard output was closed (then the exit status is 0).
    Quit,
    /// A command failed with this exit code (already reported).
    Failed(u8),
}

/// The shell's state.
pub(crate) struct Shell {
    h: Handle,
    mounts: Vec<MountSpec>,
    inspect: bool,
    json: bool,
    /// Errors are reported and the shell goes on.
    interactive: bool,
    interrupt: Arc<Interrupt>,
    stdout_closed: bool,
    /// Where script lines come from, as guestfish names it in errors (`*stdin*` or the
    /// script's path); `None` at a prompt.
    input_name: Option<String>,
    /// The number of the script line running (0 for commands on the command line).
    lineno: usize,
    /// How many commands were issued, this one included.
    commands_issued: usize,
    /// `set-trace`.
    trace: bool,
    /// `--pipe-error`.
    pipe_error: bool,
    /// The files of `scratch` drives, deleted when the shell ends.
    scratch: Vec<tempfile::TempPath>,
    /// The `-N` drives still to partition and format at the first launch, by drive index.
    prepared: Vec<(usize, drives::Prepared)>,
    /// What `inspect-os` (or `-i`) found; `None` before.
    inspection: Option<Vec<guestwright::inspect::OsInfo>>,
    /// The handle settings guestwright only remembers, and the event handlers.
    settings: settings::Settings,
    /// `--keys-from-stdin`: a command's key argument is the next line of standard input.
    keys_from_stdin: bool,
    /// `--echo-keys`: the key typed at the terminal prompt is shown.
    echo_keys: bool,
    /// `mount-local`'s mount, until `mount-local-run` or `umount-local`.
    local: Option<local::Lent>,
}

impl std::fmt::Debug for Shell {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shell")
            .field("drives", &self.h.drives().len())
            .field("launched", &self.h.is_launched())
            .finish_non_exhaustive()
    }
}

/// Runs `guestwright shell`.
pub fn run(args: &ShellArgs, appliance: &ApplianceArgs, verbose: u8) -> ExitCode {
    if let Some(pid) = args.remote {
        return remote::remote(args, pid);
    }
    if args.listen {
        return remote::listen(args, appliance, verbose);
    }
    if args.file.is_some() && !args.commands.is_empty() {
        eprintln!(
            "guestwright: shell: give commands either with -f SCRIPT or after the options, \
             not both"
        );
        return ExitCode::from(EXIT_USAGE);
    }
    let commands = match parse::split_command_line(&args.commands) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("guestwright: shell: {e}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    if args.prepared.iter().any(|p| {
        ["list", "help", "h", "?"]
            .iter()
            .any(|w| p.eq_ignore_ascii_case(w))
    }) {
        print!("{}", drives::prepared_help());
        return ExitCode::from(EXIT_OK);
    }
    let interactive = args.file.is_none() && commands.is_empty() && std::io::stdin().is_terminal();
    // Before the appliance's threads start. SIGTERM and SIGHUP stop the shell the way they
    // stop any command (see `signals`); Ctrl-C only cancels the running command, below.
    crate::signals::install_terminate();
    let mut shell = match Shell::open(args, appliance, verbose, interactive) {
        Ok(s) => s,
        Err(e) => {
            report(&e);
            return ExitCode::from(e.exit_code());
        }
    };
    let interrupt = shell.interrupt.clone();
    // The `ctrlc` crate (a self-pipe and a handler thread, widely used) rather than our own
    // sigaction: the handler then runs as ordinary code and may take locks and send the
    // cancel frame.
    if let Err(e) = ctrlc::set_handler(move || interrupt.fire()) {
        log::warn!("Ctrl-C will not cancel commands: {e}");
    }
    let stop = if let Some(path) = &args.file {
        match script::open(path) {
            Ok(mut source) => shell.run_source(&mut *source),
            Err(e) => {
                report(&e);
                Err(Stop::Failed(EXIT_FAILED))
            }
        }
    } else if !commands.is_empty() {
        shell.run_lines(commands)
    } else if interactive {
        return ExitCode::from(interactive::run(shell));
    } else {
        shell.run_source(&mut script::Reader::stdin())
    };
    let mut code = match stop {
        Ok(()) | Err(Stop::Quit) => EXIT_OK,
        Err(Stop::Failed(code)) => code,
    };
    // guestfish shuts the handle down when its commands are done; after a failed one it
    // exits at once, and only closing the handle is traced.
    let traced = code == EXIT_OK;
    if traced {
        shell.trace_call("shutdown", &[]);
    }
    let closed = shell.close();
    if traced {
        shell.trace_result("shutdown", if closed.is_ok() { "0" } else { "-1 (error)" });
    }
    if let Err(e) = closed {
        report(&e);
        code = EXIT_APPLIANCE;
    }
    shell.trace_line("close");
    shell.settings.fire("close");
    if let Some(sig) = crate::signals::received() {
        return crate::signals::report(sig);
    }
    ExitCode::from(code)
}

/// What one `-a` names, read as guestfish reads it (common/options/uri.c).
#[derive(Debug)]
enum DriveArg {
    /// A local file (or a URI of guestwright's own schemes, such as `nbd+unix://`, which
    /// guestfish would take for a file name).
    File(PathBuf),
    /// A drive on the network, connected when the appliance launches.
    Remote(guestwright::drive::uri::RemoteSpec),
}

/// Reads one `-a`: a URI is taken apart (a bad one refused in guestfish's words), a file
/// must exist, as guestfish checks before anything else.
fn drive_arg(image: &std::path::Path) -> Result<DriveArg, ShellError> {
    use guestwright::drive::uri::{self, DriveUri};
    let path = match image.to_str().map(uri::parse) {
        Some(Err(e)) => return Err(ShellError::Fish(format!("guestfish: {e}"))),
        Some(Ok(DriveUri::Remote(spec))) => return Ok(DriveArg::Remote(spec)),
        Some(Ok(DriveUri::File(path))) => PathBuf::from(path),
        None => image.to_path_buf(),
    };
    let own_scheme = path.to_str().is_some_and(uri::is_drive_uri);
    if let (false, Err(e)) = (own_scheme, std::fs::metadata(&path)) {
        // guestfish checks the file first, in these words.
        return Err(ShellError::Fish(format!(
            "guestfish: access: {}: {}",
            path.display(),
            fisherr::strerror(Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO)))
        )));
    }
    Ok(DriveArg::File(path))
}

/// With `-x` (libguestfs's call trace in guestfish), the call that adds a `-a` image, as
/// libguestfs traces it: the name as it is (no escaping), then the optional arguments in
/// add_drive's order: `readonly`, `format`, then a remote drive's `protocol`, `server`,
/// `username`, `secret`.
fn add_drive_trace(name: &str, options: &DriveOptions, remote: &[String]) -> String {
    let mut line = format!("libguestfs: trace: add_drive \"{name}\"");
    if options.readonly {
        line.push_str(" \"readonly:true\"");
    }
    if let Some(format) = options.format {
        line.push_str(&format!(" \"format:{format}\""));
    }
    for o in remote {
        line.push_str(&format!(" \"{o}\""));
    }
    line
}

/// Prints an error with its causes, once. `place` is the script's name and line for a
/// libguestfs error, as guestfish prints them (`*stdin*:3: `).
fn report_at(e: &ShellError, place: Option<(&str, usize)>) {
    match e {
        ShellError::Reported(_) => return,
        ShellError::Fish(m) => {
            eprintln!("{m}");
            return;
        }
        ShellError::Syntax(p) => {
            // guestfish's words, as scripts grep for them.
            eprintln!("guestfish: {p}");
            return;
        }
        ShellError::Libguestfs(m) => {
            match place {
                Some((name, line)) => eprintln!("{name}:{line}: libguestfs: error: {m}"),
                None => eprintln!("libguestfs: error: {m}"),
            }
            return;
        }
        _ => {}
    }
    if let ShellError::Library(lib) = e {
        if lib.errno() == Some(Errno::ECANCELED) {
            eprintln!("guestwright: {lib}: cancelled");
            return;
        }
    }
    eprintln!("guestwright: {}", guestwright::error::chain(e));
}

/// Prints an error outside a script line.
fn report(e: &ShellError) {
    report_at(e, None);
}

impl Shell {
    /// Adds the `-a` images; launches at once only for `-m` and `-i`, whose mistakes should
    /// show before any command runs.
    fn open(
        args: &ShellArgs,
        appliance: &ApplianceArgs,
        verbose: u8,
        interactive: bool,
    ) -> Result<Shell, ShellError> {
        let mut config = crate::session::launch_config(appliance, verbose > 0)?;
        config.network |= args.network;
        let mut h = Handle::with_config(config);
        // libguestfs's handle reads LIBGUESTFS_TRACE as it is created; -x sets the trace
        // before the drives are added.
        let trace = args.trace
            || std::env::var("LIBGUESTFS_TRACE").is_ok_and(|v| {
                matches!(
                    v.to_ascii_lowercase().as_str(),
                    "1" | "true" | "t" | "yes" | "y" | "on"
                )
            });
        // guestfish's default; the one-shot readers (cat, ls, ...) stay read-only.
        let readonly = args.ro && !args.rw;
        let formats = sticky_formats(std::env::args().skip(1), args.images.len())
            .unwrap_or_else(|| vec![args.format.last().copied(); args.images.len()]);
        // As guestfish: every -a is read (a URI taken apart, a file checked) while the
        // options are parsed, then the drives are added in order, each call traced.
        let mut adds = Vec::new();
        for (image, format) in args.images.iter().zip(formats) {
            let options = DriveOptions {
                format,
                readonly,
                blocksize: None,
            };
            adds.push((drive_arg(image)?, options));
        }
        for (add, options) in adds {
            let (name, optargs) = match &add {
                DriveArg::File(path) => (path.to_string_lossy().into_owned(), Vec::new()),
                DriveArg::Remote(spec) => (spec.name.clone(), spec.optargs()),
            };
            if trace {
                eprintln!("{}", add_drive_trace(&name, &options, &optargs));
            }
            let added = match add {
                DriveArg::File(path) => h.add_drive(&path, options).map_err(ShellError::from),
                DriveArg::Remote(spec) => h.add_remote_spec(spec, options).map_err(|e| match e {
                    guestwright::Error::Drive(guestwright::drive::DriveError::Spec(m)) => {
                        ShellError::Libguestfs(m.0)
                    }
                    e => e.into(),
                }),
            };
            if trace {
                match &added {
                    Ok(()) => eprintln!("libguestfs: trace: add_drive = 0"),
                    Err(e) => {
                        report(e);
                        eprintln!("libguestfs: trace: add_drive = -1 (error)");
                        return Err(ShellError::Reported(e.exit_code()));
                    }
                }
            }
            added?;
        }
        // -d GUEST: as common/options does, with readonlydisk "read".
        for dom in &args.domain {
            hostmisc::add_domain(
                &mut h,
                dom,
                args.connect.as_deref(),
                readonly,
                crate::libvirt::ReadonlyDisk::Read,
            )
            .map_err(ShellError::Libguestfs)?;
        }
        // guestfish adds the -N drives after the -a ones... in command-line order with
        // them; here after them, which is the same for the usual -N alone.
        let mut prepared = Vec::new();
        for (i, spec) in args.prepared.iter().enumerate() {
            let p = drives::Prepared::parse(spec, i + 1)?;
            prepared.push((h.drives().len(), p.clone()));
            h.add_drive(
                p.file(),
                DriveOptions {
                    format: Some(Format::Raw),
                    readonly: false,
                    blocksize: None,
                },
            )?;
        }
        let mut shell = Shell {
            h,
            mounts: args.mounts.clone(),
            inspect: args.inspector,
            json: args.json,
            interactive,
            interrupt: Arc::new(Interrupt::default()),
            stdout_closed: false,
            input_name: match &args.file {
                Some(f) => Some(f.to_string_lossy().into_owned()),
                None if !interactive => Some("*stdin*".to_string()),
                None => None,
            },
            lineno: 0,
            commands_issued: 0,
            trace,
            pipe_error: args.pipe_error,
            scratch: Vec::new(),
            prepared,
            inspection: None,
            settings: settings::Settings::from_env(),
            keys_from_stdin: appliance.keys.keys_from_stdin,
            echo_keys: appliance.keys.echo_keys,
            local: None,
        };
        if !shell.mounts.is_empty() || shell.inspect || !shell.prepared.is_empty() {
            // guestfish launches only a handle still in its configuration state.
            shell.trace_call("is_config", &[]);
            shell.trace_result("is_config", "1");
            if let Err(e) = shell.ensure_launched() {
                // guestfish exits at once; libguestfs still closes its handle on the way
                // out, which the trace shows after the message.
                report(&e);
                shell.trace_line("close");
                return Err(ShellError::Reported(e.exit_code()));
            }
        }
        Ok(shell)
    }

    /// Launches the appliance if it is not running, then mounts what `-m` and `-i` ask for.
    fn ensure_launched(&mut self) -> Result<(), ShellError> {
        if self.h.is_launched() && !self.forget_dead_appliance() {
            return Ok(());
        }
        self.trace_call("launch", &[]);
        if let Err(e) = self.h.launch() {
            self.trace_result("launch", "-1 (error)");
            return Err(ShellError::Launch(e));
        }
        self.trace_result("launch", "0");
        self.interrupt.set_canceller(self.h.canceller());
        self.settings.fire("launch_done");
        log::debug!(
            "appliance launched in {:?} ({:?})",
            self.h.launch_time().unwrap_or_default(),
            self.h.accelerator()
        );
        let readonly: Vec<_> = self.h.drives().iter().filter(|d| d.readonly).collect();
        // A read-only image is written through a throwaway overlay, as in libguestfs; at
        // the prompt (or beside writable images) say so, lest a change look kept.
        if !readonly.is_empty() && (self.interactive || readonly.len() < self.h.drives().len()) {
            for d in readonly {
                eprintln!(
                    "guestwright: note: {} is read-only: writes to it are discarded",
                    d.path().display()
                );
            }
        }
        for (index, p) in std::mem::take(&mut self.prepared) {
            let device = format!("/dev/sd{}", drive_letters(index));
            p.postlaunch(&self.h, &device)?;
        }
        let access = if self.h.is_readonly() {
            Access::ReadOnly
        } else {
            Access::ReadWrite
        };
        self.mount_options(access)?;
        if self.inspect {
            commands::mount_inspected(self)?;
        }
        Ok(())
    }

    /// Mounts what `-m` asks for, shallowest first. A mount that fails is reported as
    /// guestfish reports it: the library's error, then the filesystems there are.
    fn mount_options(&self, access: Access) -> Result<(), ShellError> {
        let mut specs = self.mounts.clone();
        specs.sort_by_key(|m| {
            m.mountpoint.trim_end_matches('/').matches('/').count()
                + usize::from(m.mountpoint != "/")
        });
        let op = table::find("mount").expect("the table has mount");
        for m in specs {
            // As guestfish's -m calls libguestfs: mount_vfs with a type, else mount_options
            // (its options "ro" on a read-only handle, "" otherwise, unless given).
            let options = match (&m.options, access) {
                (Some(o), _) => o.clone(),
                (None, Access::ReadOnly) => "ro".to_string(),
                (None, _) => String::new(),
            };
            let (call, mut words) = match &m.fstype {
                Some(t) => ("mount_vfs", vec![options, t.clone()]),
                None => ("mount_options", vec![options]),
            };
            words.extend([m.device.clone(), m.mountpoint.clone()]);
            let line: Vec<String> = words.iter().map(|w| format!("\"{w}\"")).collect();
            self.trace_bytes(format!("{call} {}", line.join(" ")).as_bytes());
            let result = self.h.run(args::Mount {
                options: m.options.clone(),
                fstype: m.fstype.as_deref().map(FsType::from),
                readonly: Some(access == Access::ReadOnly),
                ..args::Mount::new(m.device.as_str(), m.mountpoint.as_str())
            });
            self.trace_bytes(
                format!(
                    "{call} = {}",
                    if result.is_ok() { "0" } else { "-1 (error)" }
                )
                .as_bytes(),
            );
            let source = match result {
                Ok(()) => continue,
                Err(guestwright::Error::Remote { source, .. }) => source,
                Err(e) => return Err(e.into()),
            };
            let words = [m.device.clone(), m.mountpoint.clone()];
            let mut text = format!(
                "libguestfs: error: {}\nguestfish: \u{2018}{}\u{2019} could not be mounted.",
                fisherr::remote(op, &words, source.errno, &source.message),
                m.device
            );
            let found: Vec<Filesystem> = self
                .h
                .list_filesystems()
                .unwrap_or_default()
                .into_iter()
                .filter(|f| f.fstype != "unknown")
                .collect();
            if !found.is_empty() {
                text.push_str("\nguestfish: Did you mean to mount one of these filesystems?");
                for f in found {
                    text.push_str(&format!("\nguestfish: \t{} ({})", f.device, f.fstype));
                }
            }
            return Err(ShellError::Fish(text));
        }
        Ok(())
    }

    /// If the appliance died (QEMU killed, crashed or powered off), says so and forgets it,
    /// so that `run` or the next command starts a new one with the same drives. Returns
    /// whether it had died.
    fn forget_dead_appliance(&mut self) -> bool {
        let Some(reason) = self.h.forget_if_dead() else {
            return false;
        };
        self.interrupt.set_canceller(None);
        eprintln!(
            "guestwright: the appliance is gone ({reason}): writes it had not flushed to the \
             images are lost. 'run' or the next command starts a new one with the same \
             drives{}.",
            if self.mounts.is_empty() && !self.inspect {
                "; mount the filesystems again"
            } else {
                " and mounts what -m and -i ask for; filesystems mounted by hand must be \
                 mounted again"
            }
        );
        true
    }

    /// guestfish's `sleep`, a call that keeps the appliance busy for `secs` seconds: like
    /// any call, it fails as soon as the appliance dies (QEMU killed or crashed, before or
    /// during it), and the dead appliance is forgotten, as libguestfs's handle goes back to
    /// its configuration state; the next command does not wait on it. It never starts the
    /// appliance.
    fn sleep_in_appliance(&mut self, secs: i64) -> Result<(), ShellError> {
        const POLL: std::time::Duration = std::time::Duration::from_millis(100);
        let died = || {
            ShellError::Libguestfs(
                "sleep: the appliance died (QEMU exited or was killed) during the call".into(),
            )
        };
        if self.forget_dead_appliance() {
            return Err(died());
        }
        // Not started for it: after `kill-subprocess` or a death the handle is in its
        // configuration state, where libguestfs refuses the call.
        if !self.h.is_launched() {
            return Err(ShellError::Libguestfs(
                "sleep: call launch before using this function\n\
                 (in guestfish, don't forget to use the 'run' command)"
                    .into(),
            ));
        }
        let deadline =
            std::time::Instant::now() + std::time::Duration::from_secs(secs.max(0) as u64);
        loop {
            if self.forget_dead_appliance() {
                return Err(died());
            }
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                return Ok(());
            }
            std::thread::sleep(left.min(POLL));
        }
    }

    /// Drives are added before the appliance starts: a command that adds one says so.
    /// An appliance that died (QEMU killed) is forgotten first, as libguestfs's handle goes
    /// back to its configuration state then.
    fn refuse_if_launched(&mut self, name: &str) -> Result<(), ShellError> {
        if self.h.is_launched() && !self.forget_dead_appliance() {
            return Err(ShellError::Usage(format!(
                "{name}: the appliance is running; drives are added before it starts \
                 ('reopen' stops it, then add)"
            )));
        }
        Ok(())
    }

    /// Shuts the appliance down, so every write is in the images.
    fn close(&mut self) -> Result<(), ShellError> {
        // A local mount never served is undone first: it holds the handle.
        let unmounted = self.end_local_mount();
        self.interrupt.set_canceller(None);
        self.inspection = None;
        self.h.shutdown().map_err(ShellError::Shutdown)?;
        unmounted.map(drop)
    }

    /// guestfish's `reopen`: the appliance stops and the shell goes on with a new handle of
    /// the same settings and no drives (the -a, -m, -N and scratch ones are forgotten) nor
    /// event handlers (the old handle's `close` ones run).
    fn reopen(&mut self) -> Result<(), ShellError> {
        // guestfish's reopen: shuts the old handle down, copies its settings to a new one
        // by calling its getters, then closes it; each call traced and announced to the
        // old handle's event handlers.
        self.trace_call("shutdown", &[]);
        let closed = self.close();
        self.trace_result("shutdown", if closed.is_ok() { "0" } else { "-1" });
        let copied = self
            .settings
            .copied_by_reopen(self.h.config().verbose, self.trace);
        for (getter, value) in copied {
            self.trace_call(getter, &[]);
            self.trace_result(getter, &value);
        }
        self.trace_line("close");
        self.settings.fire("close");
        self.settings.forget_handlers();
        self.h = Handle::with_config(self.h.config().clone());
        self.mounts.clear();
        self.inspect = false;
        self.prepared.clear();
        self.scratch.clear();
        closed
    }

    /// What libguestfs does before a call that needs the appliance: with no drive there is
    /// nothing to launch with (guestfish's message names the call `lg_name`); otherwise
    /// the appliance starts, as for the table's operations.
    fn need_appliance(&mut self, lg_name: &str) -> Result<(), ShellError> {
        if !self.h.is_launched() && self.h.drives().is_empty() {
            return Err(ShellError::Libguestfs(format!(
                "{}: call launch before using this function\n\
                 (in guestfish, don't forget to use the 'run' command)",
                lg_name.replace('-', "_")
            )));
        }
        self.ensure_launched()
    }

    /// Runs lines from a source until its end, `quit`, or (in a script) the first error.
    fn run_source(&mut self, source: &mut dyn LineSource) -> Result<(), Stop> {
        while let Some(text) = source.next_line("") {
            self.lineno += 1;
            self.run_text(&text, source)?;
        }
        Ok(())
    }

    /// Runs the lines of `<!`'s output: they keep the line number of the `<!` line, as in
    /// guestfish.
    fn run_inline(&mut self, source: &mut dyn LineSource) -> Result<(), Stop> {
        let line = self.lineno;
        let result = self.run_source(source);
        self.lineno = line;
        result
    }

    /// Prints an error of the running line.
    fn report(&self, e: &ShellError) {
        report_at(e, self.input_name.as_deref().map(|n| (n, self.lineno)));
    }

    /// Parses and runs one line of text.
    fn run_text(&mut self, text: &str, source: &mut dyn LineSource) -> Result<(), Stop> {
        match parse::parse_line(text) {
            Ok(line) => self.run_line(line, source),
            Err(e) => {
                self.report(&e.into());
                // `-` covers every error of its line, a syntax error too.
                let ignore = text.trim_start().starts_with('-');
                self.failed(EXIT_FAILED, ignore)
            }
        }
    }

    /// Runs already-parsed lines (from the command line).
    fn run_lines(&mut self, lines: Vec<Line>) -> Result<(), Stop> {
        let mut none = script::NoLines;
        for line in lines {
            self.run_line(line, &mut none)?;
        }
        Ok(())
    }

    /// Runs one line, reports its error, and decides whether to go on.
    fn run_line(&mut self, line: Line, source: &mut dyn LineSource) -> Result<(), Stop> {
        let ignore = match &line {
            Line::Empty => return Ok(()),
            Line::Host { ignore_error, .. } | Line::Eval { ignore_error, .. } => *ignore_error,
            Line::Command(c) => c.ignore_error,
        };
        if let Some(sig) = crate::signals::received() {
            return Err(Stop::Failed(crate::signals::status(sig)));
        }
        if !self.interactive && self.interrupt.take() {
            report(&ShellError::Interrupted);
            return Err(Stop::Failed(EXIT_FAILED));
        }
        self.interrupt.take();
        let result = self.execute(line, source);
        if self.stdout_closed {
            return Err(Stop::Quit);
        }
        let code = match result {
            Ok(Flow::Continue) => return Ok(()),
            Ok(Flow::Quit) => return Err(Stop::Quit),
            Err(Failure::Reported(code)) => code,
            Err(Failure::Error(e)) => {
                self.report(&e);
                e.exit_code()
            }
        };
        // A command that failed because the appliance died: say so once, here.
        self.forget_dead_appliance();
        self.failed(code, ignore)
    }

    /// Runs one command sent by a `--remote` client: returns (whether it failed, whether
    /// it was `quit`). Its error is reported here, on the server's standard error.
    fn run_remote(&mut self, name: String, args: Vec<String>) -> (bool, bool) {
        let line = Line::Command(parse::Command {
            ignore_error: false,
            name,
            args,
            pipe: None,
            heredoc: None,
        });
        self.interrupt.take();
        let result = self.execute(line, &mut script::NoLines);
        match result {
            Ok(Flow::Continue) => (false, false),
            Ok(Flow::Quit) => (false, true),
            Err(failure) => {
                if let Failure::Error(e) = failure {
                    self.report(&e);
                }
                self.forget_dead_appliance();
                (true, false)
            }
        }
    }

    fn failed(&self, code: u8, ignore: bool) -> Result<(), Stop> {
        if ignore || self.interactive {
            Ok(())
        } else {
            Err(Stop::Failed(code))
        }
    }

    fn execute(&mut self, line: Line, source: &mut dyn LineSource) -> Result<Flow, Failure> {
        match line {
            Line::Empty => Ok(Flow::Continue),
            Line::Host { command, .. } => {
                commands::host_shell(&command)?;
                Ok(Flow::Continue)
            }
            Line::Eval { command, .. } => {
                let text = commands::host_output(&command)?;
                let mut lines = script::Reader::text(text);
                match self.run_inline(&mut lines) {
                    Ok(()) => Ok(Flow::Continue),
                    Err(Stop::Quit) => Ok(Flow::Quit),
                    Err(Stop::Failed(code)) => Err(Failure::Reported(code)),
                }
            }
            Line::Command(cmd) => {
                let mut input = match &cmd.heredoc {
                    Some(end) => script::Input::Bytes(script::heredoc(source, end)?),
                    None => script::Input::Stdin,
                };
                let mut out = match &cmd.pipe {
                    Some(p) => Output::pipe(p).map_err(ShellError::from)?,
                    None => Output::stdout(),
                };
                let flow = self.command(&cmd.name, &cmd.args, &mut out, &mut input);
                self.stdout_closed |= out.stdout_closed;
                let broken = cmd.pipe.is_some() && out.reader_gone();
                let finished = out.finish();
                let flow = flow?;
                if broken && self.pipe_error {
                    return Err(ShellError::Fish("guestfish: write error on pipe".into()).into());
                }
                finished.map_err(ShellError::from)?;
                Ok(flow)
            }
        }
    }

    /// Runs a command by name: a host-side command, or an operation from the table.
    fn command(
        &mut self,
        name: &str,
        args: &[String],
        out: &mut Output,
        input: &mut script::Input,
    ) -> Result<Flow, ShellError> {
        self.commands_issued += 1;
        if self.local.is_some() && !local::allowed_while_lent(name) {
            return Err(local::lent_error(self, name));
        }
        if let Some(host) = commands::find(name) {
            return commands::run(self, host, &name.replace('_', "-"), args, out, input);
        }
        if let Some(op) = table::find(name) {
            self.run_op(op, name, args, out, input)?;
            return Ok(Flow::Continue);
        }
        if self.interactive {
            // At a prompt, a suggestion helps more than guestfish's bare message.
            return Err(ShellError::Usage(help::unknown_command(name)));
        }
        Err(ShellError::Fish(fisherr::unknown_command(
            name,
            self.commands_issued == 1,
        )))
    }
}

/// The format each `-a` image gets from the `--format=F` before it (guestfish's sticky
/// `--format`; a bare `--format` goes back to detecting), found by walking the command line
/// as getopt does. `None` when the walk does not find `images` images (then the last
/// `--format` applies to all).
fn sticky_formats(
    argv: impl Iterator<Item = String>,
    images: usize,
) -> Option<Vec<Option<Format>>> {
    // Options whose value may be the next word.
    const TAKES_VALUE: &[&str] = &[
        "--add",
        "--mount",
        "--file",
        "--new",
        "--connect",
        "--domain",
        "--accel",
        "--allow-backing",
        "--key",
    ];
    let mut current = None;
    let mut out = Vec::new();
    let mut argv = argv.peekable();
    while let Some(w) = argv.next() {
        if w == "--" || !w.starts_with('-') || w == "-" {
            if w == "shell" && out.is_empty() {
                continue;
            }
            break;
        }
        if let Some(rest) = w.strip_prefix("--") {
            if rest == "format" {
                current = None;
            } else if let Some(f) = rest.strip_prefix("format=") {
                current = Some(parse_format(f).ok()?);
            } else if rest == "add" {
                argv.next()?;
                out.push(current);
            } else if rest.starts_with("add=") {
                out.push(current);
            } else if TAKES_VALUE.contains(&w.as_str()) {
                argv.next();
            }
            continue;
        }
        // A cluster of short options: -a and the others taking a value end it.
        for (i, c) in w.char_indices().skip(1) {
            if "acdfmN".contains(c) {
                if i + 1 == w.len() {
                    argv.next();
                }
                if c == 'a' {
                    out.push(current);
                }
                break;
            }
        }
    }
    (out.len() == images).then_some(out)
}

/// The letters of drive `index` as Linux names disks: a..z, aa..az, ...
fn drive_letters(index: usize) -> String {
    let mut n = index + 1;
    let mut s = Vec::new();
    while n > 0 {
        n -= 1;
        s.push(b'a' + (n % 26) as u8);
        n /= 26;
    }
    s.reverse();
    String::from_utf8(s).unwrap_or_default()
}

/// A failed line: an error to report, or one already reported (inside `<!`).
#[derive(Debug)]
enum Failure {
    Error(ShellError),
    Reported(u8),
}

impl<E: Into<ShellError>> From<E> for Failure {
    fn from(e: E) -> Self {
        Failure::Error(e.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use guestwright::protocol::{args::Poweroff, CallStream, Request};
    use guestwright::rpc::Channel;
    use std::io::Read;
    use std::os::unix::net::UnixStream;
    use std::sync::mpsc;
    use std::time::{Duration, Instant};

    #[test]
    fn x_traces_add_drive_as_libguestfs() {
        // fish/test-a.sh and fish/test-add-uri.sh grep these lines.
        let t = |format, readonly, remote: &[&str]| {
            add_drive_trace(
                "test-a.img",
                &DriveOptions {
                    format,
                    readonly,
                    blocksize: None,
                },
                &remote.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
            )
        };
        assert_eq!(
            t(None, false, &[]),
            "libguestfs: trace: add_drive \"test-a.img\""
        );
        assert_eq!(
            t(Some(Format::Qcow2), true, &[]),
            "libguestfs: trace: add_drive \"test-a.img\" \"readonly:true\" \"format:qcow2\""
        );
        assert_eq!(
            t(
                Some(Format::Raw),
                true,
                &["protocol:nbd", "server:unix:/sk"]
            ),
            "libguestfs: trace: add_drive \"test-a.img\" \"readonly:true\" \"format:raw\" \
             \"protocol:nbd\" \"server:unix:/sk\""
        );
    }

    #[test]
    fn format_applies_to_the_images_after_it() {
        let w = |s: &str| {
            s.split(' ')
                .map(String::from)
                .collect::<Vec<_>>()
                .into_iter()
        };
        assert_eq!(
            sticky_formats(
                w("shell -x -a a.img --format=qcow2 -a b.img --format -ac.img"),
                3
            ),
            Some(vec![None, Some(Format::Qcow2), None])
        );
        assert_eq!(
            sticky_formats(w("--format=raw -m /dev/sda1 -a a.img echo -a"), 1),
            Some(vec![Some(Format::Raw)])
        );
        assert_eq!(sticky_formats(w("-a a.img"), 2), None);
    }

    /// Far more than any step here needs on a loaded machine; a step that blocks for good
    /// fails the test here instead of hanging it.
    const DEADLINE: Duration = Duration::from_secs(20);

    /// Ctrl-C during an upload to an appliance that stopped reading: the cancel frame waits
    /// behind the upload's. `fire` used to hold the canceller's lock while it waited, so
    /// the shell could not even drop the canceller (as it does on shutdown) and hung too.
    #[test]
    fn a_cancel_stuck_on_the_channel_does_not_hold_the_canceller() {
        let (near, far) = UnixStream::pair().unwrap();
        let ch = Channel::start(near, DEADLINE).unwrap();
        let interrupt = Arc::new(Interrupt::default());
        interrupt.set_canceller(Some(Canceller::new(ch.clone())));
        let uploader = ch.clone();
        let upload = std::thread::spawn(move || {
            // Never read at the far end: fills the socket, then blocks in a send.
            let mut input = std::io::repeat(0).take(1 << 32);
            uploader.call(
                &Request::Poweroff(Poweroff {}),
                CallStream::Input(&mut input),
            )
        });
        // Fire until a cancel is stuck (the first may run before the upload is registered).
        let started = Instant::now();
        let firing = loop {
            assert!(started.elapsed() < DEADLINE, "no cancel ever blocked");
            let i = interrupt.clone();
            let firing = std::thread::spawn(move || i.fire());
            std::thread::sleep(Duration::from_millis(300));
            if !firing.is_finished() {
                break firing;
            }
        };
        let (done_tx, done_rx) = mpsc::channel();
        let i = interrupt.clone();
        std::thread::spawn(move || {
            i.set_canceller(None);
            let _ = done_tx.send(());
        });
        let waited = done_rx.recv_timeout(DEADLINE);
        // Unblock everything before judging, so a failure does not leave threads stuck.
        ch.close("closed by the test");
        drop(far);
        waited.expect("set_canceller waited for the cancel stuck on the channel");
        assert!(interrupt.take(), "the interrupt was not recorded");
        let start = Instant::now();
        while !(firing.is_finished() && upload.is_finished()) {
            assert!(start.elapsed() < DEADLINE, "closing left a thread blocked");
            std::thread::sleep(Duration::from_millis(10));
        }
        assert!(upload.join().unwrap().is_err());
    }
}
