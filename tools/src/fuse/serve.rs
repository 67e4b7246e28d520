//! The serving process of `guestwright mount`.
//!
//! Without `--no-fork` the command forks at once, while it has a single thread; the child
//! takes the mountpoint's lock, launches the appliance, mounts, and only then tells the
//! parent (through a pipe) that the mount is ready or why it failed; the parent exits with
//! that. The child's main thread launched QEMU (whose parent-death signal follows that
//! thread) and serves the FUSE session until the unmount, then shuts the appliance down
//! and records the outcome for `umount` (see `state`).

use super::fs::GuestFs;
use super::ops::Shared;
use super::options::{self, FuseOptions};
use super::state::ServerLock;
use super::sys::{self, Forked};
use super::MountArgs;
use crate::options::ApplianceArgs;
use guestwright::prelude::*;
use std::io::{Read, Write};
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The checked command line.
#[derive(Debug)]
struct Config {
    images: Vec<PathBuf>,
    format: Option<Format>,
    mounts: Vec<crate::options::MountSpec>,
    inspector: bool,
    readonly: bool,
    fuse: FuseOptions,
    mountpoint: PathBuf,
    pid_file: Option<PathBuf>,
    fd: Option<OwnedFd>,
    accel: AccelChoice,
    allow_backing: Vec<PathBuf>,
    keys: guestwright::inspect::keys::Keys,
    verbose: bool,
    /// `--no-fork`: the process keeps its terminal (and says why it stopped).
    foreground: bool,
    /// `-x`: every appliance call on standard error.
    trace: bool,
}

fn check(args: &MountArgs, appliance: &ApplianceArgs, verbose: bool) -> Result<Config, String> {
    let fuse = options::parse(&args.options)?;
    let mountpoint = args.mountpoint().canonicalize().map_err(|e| {
        format!(
            "mountpoint {}: {e}: create the directory first",
            args.mountpoint().display()
        )
    })?;
    if !mountpoint.is_dir() {
        return Err(format!(
            "mountpoint {} is not a directory",
            mountpoint.display()
        ));
    }
    if !args.inspector && !args.mounts.iter().any(|m| m.mountpoint == "/") {
        return Err("nothing is mounted at /: add -m DEVICE (or -m DEVICE:/) or use -i".into());
    }
    // The serving process changes to / once it is in the background, so file names are
    // made absolute; drive URIs (`nbd://`, `https://`, ...) are kept as they are.
    let absolute = |p: &Path| -> Result<PathBuf, String> {
        std::path::absolute(p).map_err(|e| format!("{}: {e}", p.display()))
    };
    let images = args
        .images
        .iter()
        .map(|p| match p.to_str() {
            Some(s) if guestwright::drive::uri::is_drive_uri(s) => Ok(p.clone()),
            _ => absolute(p),
        })
        .collect::<Result<Vec<_>, _>>()?;
    let pid_file = args.pid_file.as_deref().map(absolute).transpose()?;
    let fd = args
        .fd
        .map(|n| sys::inherited_fd(n).map_err(|e| format!("--fd {n}: {e}")))
        .transpose()?;
    Ok(Config {
        images,
        format: args.format,
        mounts: args.mounts.clone(),
        inspector: args.inspector,
        readonly: !args.rw,
        fuse,
        mountpoint,
        pid_file,
        fd,
        accel: appliance.accel,
        allow_backing: appliance.allow_backing.clone(),
        keys: appliance
            .keys
            .keys()
            .map_err(|e| guestwright::error::chain(&e))?,
        verbose,
        foreground: args.no_fork,
        trace: args.trace,
    })
}

/// Runs `guestwright mount`.
pub fn run(args: &MountArgs, appliance: &ApplianceArgs, verbose: bool) -> ExitCode {
    if args.fuse_help {
        // On standard error with status 0, as guestmount --fuse-help.
        let name = crate::cmd::links::started_as().unwrap_or("guestwright mount");
        eprint!("{}", options::help(name));
        return ExitCode::SUCCESS;
    }
    let config = match check(args, appliance, verbose) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("guestwright: {e}");
            return ExitCode::from(2);
        }
    };
    if args.no_fork {
        return match serve(config, &mut |_| {}) {
            // Unmounted by a signal, and the image closed cleanly: 128 + the signal.
            Ok(()) => match STOPPED_BY.load(Ordering::SeqCst) {
                0 => ExitCode::SUCCESS,
                sig => {
                    eprintln!(
                        "guestwright: interrupted by {}: unmounted {}; the image is closed \
                         cleanly",
                        crate::signals::name(sig),
                        args.mountpoint().display()
                    );
                    ExitCode::from(crate::signals::status(sig))
                }
            },
            Err(e) => {
                eprintln!("guestwright: {e}");
                ExitCode::from(1)
            }
        };
    }
    let (rx, tx) = match sys::pipe() {
        Ok(p) => p,
        Err(e) => {
            eprintln!("guestwright: cannot create a pipe: {e}");
            return ExitCode::from(1);
        }
    };
    match sys::fork() {
        Err(e) => {
            eprintln!("guestwright: cannot fork: {e}");
            ExitCode::from(1)
        }
        Ok(Forked::Parent) => {
            drop(tx);
            let mut msg = Vec::new();
            let _ = std::fs::File::from(rx).read_to_end(&mut msg);
            match msg.split_first() {
                Some((b'R', _)) => ExitCode::SUCCESS,
                Some((b'E', text)) => {
                    eprintln!("guestwright: {}", String::from_utf8_lossy(text));
                    ExitCode::from(1)
                }
                _ => {
                    eprintln!("guestwright: the mount process ended before the mount was ready (run with --no-fork -v to see why)");
                    ExitCode::from(1)
                }
            }
        }
        Ok(Forked::Child) => {
            drop(rx);
            let mut tx = Some(std::fs::File::from(tx));
            let code = match sys::setsid() {
                Err(e) => Err(format!("setsid: {e}")),
                Ok(()) => serve(config, &mut |ready: Result<(), &str>| {
                    if let Some(mut t) = tx.take() {
                        let _ = match ready {
                            Ok(()) => t.write_all(b"R"),
                            Err(e) => t.write_all(format!("E{e}").as_bytes()),
                        };
                    }
                }),
            };
            // Not yet ready means the parent still listens: tell it why.
            if let (Err(e), Some(mut t)) = (&code, tx.take()) {
                let _ = t.write_all(format!("E{e}").as_bytes());
            }
            if code.is_err() {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            }
        }
    }
}

/// Everything from the lock to the recorded outcome. `notify` hears once that the mount is
/// ready (Ok) or, after the mount was ready, nothing more.
fn serve(mut config: Config, notify: &mut dyn FnMut(Result<(), &str>)) -> Result<(), String> {
    // Before any thread starts, so that every thread inherits the mask.
    sys::block_stop_signals().map_err(|e| format!("cannot block signals: {e}"))?;
    let lock = ServerLock::take(&config.mountpoint).map_err(|e| {
        format!(
            "cannot take the lock of {}: {e}",
            config.mountpoint.display()
        )
    })?;
    let h = match start(&config) {
        Ok(h) => h,
        Err(e) => {
            let msg = guestwright::error::chain(&e);
            lock.finish(&Err(msg.clone()));
            return Err(msg);
        }
    };
    let h_arc = Arc::new(h);
    let session = match mount(&config, &h_arc) {
        Ok(s) => s,
        Err(e) => {
            let h = unwrap_handle(h_arc);
            let outcome = finish(h);
            lock.finish(&outcome);
            return Err(e);
        }
    };
    let mut session = session;
    spawn_signal_thread(config.mountpoint.clone());
    if let Some(p) = &config.pid_file {
        if let Err(e) = std::fs::write(p, format!("{}\n", std::process::id())) {
            log::warn!("cannot write the pid file {}: {e}", p.display());
        }
    }
    if let Some(fd) = config.fd.take() {
        let _ = std::fs::File::from(fd).write_all(b"\n");
    }
    notify(Ok(()));
    if !config.verbose && !config.foreground {
        let _ = sys::detach_stdio();
    }
    let _ = std::env::set_current_dir("/");
    log::debug!("serving {}", config.mountpoint.display());
    let served = session.run();
    // Dropping the session drops the filesystem: its pool finishes the queued closes.
    drop(session);
    let h = unwrap_handle(h_arc);
    let mut outcome = finish(h);
    if let Err(e) = served {
        outcome = outcome.and(Err(format!("the FUSE session failed: {e}")));
    }
    if let Err(e) = &outcome {
        log::error!("{e}");
    }
    if let Some(p) = &config.pid_file {
        let _ = std::fs::remove_file(p);
    }
    // Last: this lets `umount` return.
    lock.finish(&outcome);
    outcome
}

/// Launches the appliance with the images and mounts the guest's filesystems in it.
fn start(config: &Config) -> Result<Handle, guestwright::Error> {
    let mut lc = LaunchConfig::from_env()?;
    lc.accel = config.accel;
    lc.allow_backing
        .extend(config.allow_backing.iter().cloned());
    lc.keys = config.keys.clone();
    lc.verbose |= config.verbose;
    let mut h = Handle::with_config(lc);
    h.set_trace(config.trace);
    let opts = DriveOptions {
        format: config.format,
        readonly: config.readonly,
        blocksize: None,
    };
    for image in &config.images {
        h.add_drive(image, opts.clone())?;
    }
    h.launch()?;
    if config.inspector {
        guestwright::inspect::inspect_and_mount(&h, config.readonly)?;
    } else {
        let mut specs = config.mounts.clone();
        // `/` first, then by depth, so /boot lands inside /.
        specs.sort_by_key(|m| {
            m.mountpoint.trim_end_matches('/').matches('/').count()
                + usize::from(m.mountpoint != "/")
        });
        for m in specs {
            h.run(args::Mount {
                options: m.options.clone(),
                fstype: m.fstype.as_deref().map(FsType::from),
                readonly: Some(config.readonly),
                ..args::Mount::new(m.device.as_str(), m.mountpoint.as_str())
            })?;
        }
    }
    Ok(h)
}

/// Mounts the FUSE filesystem; it is usable when this returns.
fn mount(config: &Config, h: &Arc<Handle>) -> Result<fuser::Session<GuestFs>, String> {
    let fsname = format!(
        "guestwright:{}",
        config.images[0].display().to_string().replace(',', "_")
    );
    session(
        h,
        &config.mountpoint,
        config.readonly,
        &config.fuse,
        &fsname,
    )
}

/// Mounts the guest's tree (`/` of the appliance's mounts) at `mountpoint`. The kernel
/// queues requests until the session runs. `fsname` starts with `guestwright:`, which
/// `umount` (guestunmount) looks for.
pub(super) fn session(
    h: &Arc<Handle>,
    mountpoint: &Path,
    readonly: bool,
    fuse: &FuseOptions,
    fsname: &str,
) -> Result<fuser::Session<GuestFs>, String> {
    let root = h
        .lstat(GuestPath::from("/"))
        .map_err(|e| guestwright::error::chain(&e))?;
    let shared = Arc::new(Shared::new(
        h.clone(),
        &root,
        readonly,
        fuse.writeback_cache,
        fuse.attr_timeout,
        fuse.entry_timeout,
    ));
    let fs = GuestFs::new(shared).map_err(|e| format!("cannot start threads: {e}"))?;
    let opts = fuse.mount_options(readonly, fsname);
    fuser::Session::new(fs, mountpoint, &opts).map_err(|e| {
        format!(
            "cannot mount on {}: {e} (is fuse3 installed and /dev/fuse usable? for allow_other, /etc/fuse.conf needs user_allow_other)",
            mountpoint.display()
        )
    })
}

/// Takes the handle back once every other user of it (read-ahead threads) is done.
fn unwrap_handle(mut h: Arc<Handle>) -> Handle {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        match Arc::try_unwrap(h) {
            Ok(h) => return h,
            Err(back) if Instant::now() < deadline => {
                h = back;
                std::thread::sleep(Duration::from_millis(5));
            }
            Err(_) => {
                // A read-ahead fetch is stuck on a dead appliance; the handle's own drop
                // would shut it down later, but nothing else can: give up on it.
                log::error!("the appliance handle is still in use after 60 s");
                std::process::abort();
            }
        }
    }
}

/// Shuts the appliance down: guest sync, QEMU exit, host fsync of the images.
fn finish(mut h: Handle) -> Result<(), String> {
    h.shutdown().map_err(|e| guestwright::error::chain(&e))
}

/// The first stop signal the serving process received (0: none).
static STOPPED_BY: AtomicI32 = AtomicI32::new(0);

/// On SIGINT, SIGTERM or SIGHUP, unmounts (lazily, so a busy mount still goes): the session
/// then ends and the appliance shuts down cleanly.
fn spawn_signal_thread(mountpoint: PathBuf) {
    let _ = std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || loop {
            let sig = sys::wait_stop_signal();
            let _ = STOPPED_BY.compare_exchange(0, sig, Ordering::SeqCst, Ordering::SeqCst);
            log::debug!("signal {sig}: unmounting {}", mountpoint.display());
            if let Err(e) = super::umount::detach(&mountpoint) {
                log::warn!("cannot unmount {}: {e}", mountpoint.display());
            }
        });
}
