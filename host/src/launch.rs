//! Launching the appliance: the private runtime directory, overlays for read-only drives, the
//! QEMU process, the channel connection and the daemon's hello. Every failure names its cause
//! and what to do about it.
//!
//! ```
//! use guestwright::launch::{allowed_dirs, MEMORY_MIB};
//! use guestwright::{AccelChoice, Handle, LaunchConfig};
//! use std::ffi::OsStr;
//!
//! let mut config = LaunchConfig::default();
//! config.accel = AccelChoice::Tcg; // never try KVM
//! config.memory_mib = 768;
//! config.allow_backing = allowed_dirs(OsStr::new("/srv/images:/var/lib/libvirt/images"))?;
//! assert_eq!(config.allow_backing.len(), 2);
//! assert!(MEMORY_MIB.contains(&config.memory_mib));
//! let h = Handle::with_config(config);
//! assert_eq!(h.config().memory_mib, 768);
//! # Ok::<(), guestwright::launch::EnvError>(())
//! ```

use crate::accel::{self, AccelChoice, Verdict};
use crate::console::Console;
use crate::drive::{overlay, Drive};
use crate::qemu::{self, Accelerator, Machine, QemuConfig};
use crate::sys;
use guestwright_appliance::ApplianceError;
use guestwright_protocol::frame::HEADER_LEN;
use guestwright_protocol::{codec, read_frame, FrameKind, Hello, PROTOCOL_VERSION, VERSION};
use std::io::Read;
use std::os::fd::AsRawFd;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How a launch is done.
#[derive(Debug, Clone)]
pub struct LaunchConfig {
    /// Which accelerator.
    pub accel: AccelChoice,
    /// Echo the console to stderr.
    pub verbose: bool,
    /// Appliance memory.
    pub memory_mib: u32,
    /// Virtual CPUs of the appliance (`--smp`): more help only guest programs that run in
    /// parallel (`--run`, `--install`); the appliance itself needs one.
    pub smp: u32,
    /// Give the appliance a network.
    pub network: bool,
    /// Give the appliance a rescue console (`guestwright rescue`, virt-rescue): a shell the
    /// daemon runs on a terminal of its own, reached through [`Booted::rescue`]. Such a
    /// launch always boots (the port is not in a saved appliance's layout).
    pub rescue: bool,
    /// Where the kernel and cache are.
    pub appliance: guestwright_appliance::Config,
    /// The QEMU binary (default: `qemu-system-<arch>` on PATH, or `GUESTWRIGHT_QEMU`).
    pub qemu: Option<PathBuf>,
    /// How long a launch may take before it is abandoned.
    pub timeout: Duration,
    /// How long `auto` gives KVM before falling back to TCG.
    pub kvm_trial: Duration,
    /// The machine type: microvm unless forced (`GUESTWRIGHT_MACHINE=q35`); q35 is also the
    /// fallback when this QEMU has no microvm.
    pub machine: Option<Machine>,
    /// Directories under which a raw backing file named by an image is followed even when
    /// it lies outside the image's own directory tree (`--allow-backing`,
    /// `GUESTWRIGHT_ALLOW_BACKING`).
    pub allow_backing: Vec<PathBuf>,
    /// Keys for the LUKS volumes inspection opens (`--key`, `--keys-from-stdin`). They
    /// never print: `Debug` shows `<secret>`.
    pub keys: crate::inspect::keys::Keys,
    /// Launch by restoring a saved appliance when the launch allows it (see
    /// [`crate::snapshot`]); `GUESTWRIGHT_SNAPSHOT=0` and `--no-snapshot` turn it off.
    pub snapshot: bool,
    /// The appliance of a pool slot that reuses its appliance across jobs
    /// ([`crate::pool::Pool::reusing`]): a handle with this launches on that appliance,
    /// attaching its drives to its slots, and gives it back at shutdown. `None`: every
    /// launch starts an appliance of its own.
    pub reuse: Option<crate::pool::Lease>,
}

impl Default for LaunchConfig {
    fn default() -> Self {
        LaunchConfig {
            accel: AccelChoice::Auto,
            verbose: false,
            memory_mib: 512,
            smp: 1,
            network: false,
            rescue: false,
            appliance: guestwright_appliance::Config::default(),
            qemu: None,
            timeout: Duration::from_secs(120),
            kvm_trial: Duration::from_secs(10),
            machine: None,
            allow_backing: Vec::new(),
            keys: crate::inspect::keys::Keys::default(),
            snapshot: true,
            reuse: None,
        }
    }
}

/// Appliance memory accepted from `GUESTWRIGHT_MEMORY`, in MiB: below the minimum the
/// daemon and the guest's page cache do not fit; above the maximum QEMU refuses.
pub const MEMORY_MIB: std::ops::RangeInclusive<u32> = 128..=1 << 20;

/// A `GUESTWRIGHT_*` environment variable holds a value that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "environment variable {name} is set to {value:?}, which is not valid: it must be \
     {expected} (fix or unset it)"
)]
pub struct EnvError {
    /// The variable.
    pub name: &'static str,
    /// Its value as set (lossily decoded when it is not UTF-8).
    pub value: String,
    /// What it accepts.
    pub expected: String,
}

/// Reads an environment variable (a parameter, so tests need not change the process's).
type Lookup<'a> = &'a dyn Fn(&str) -> Option<std::ffi::OsString>;

/// The value of `name` if it is set: `Err` when it is not UTF-8.
fn env_text(
    var: Lookup<'_>,
    name: &'static str,
    expected: &str,
) -> Result<Option<String>, EnvError> {
    match var(name) {
        None => Ok(None),
        Some(v) => v.into_string().map(Some).map_err(|v| EnvError {
            name,
            value: v.to_string_lossy().into_owned(),
            expected: expected.to_string(),
        }),
    }
}

impl LaunchConfig {
    /// Defaults, then the environment: `GUESTWRIGHT_ACCEL`, `GUESTWRIGHT_QEMU`,
    /// `GUESTWRIGHT_MEMORY` (MiB), `GUESTWRIGHT_MACHINE`, `GUESTWRIGHT_VERBOSE`,
    /// `GUESTWRIGHT_ALLOW_BACKING` (directories separated by `:`), and the appliance's
    /// variables. A value that cannot be used is an error naming the variable, its value and
    /// what it accepts; nothing is silently ignored.
    pub fn from_env() -> Result<LaunchConfig, EnvError> {
        LaunchConfig::from_vars(&|name| std::env::var_os(name))
    }

    fn from_vars(var: Lookup<'_>) -> Result<LaunchConfig, EnvError> {
        let mut c = LaunchConfig {
            appliance: guestwright_appliance::Config::from_env(),
            ..LaunchConfig::default()
        };
        const ACCEL: &str = "auto, kvm or tcg";
        if let Some(a) = env_text(var, "GUESTWRIGHT_ACCEL", ACCEL)? {
            c.accel = a.parse().map_err(|_| EnvError {
                name: "GUESTWRIGHT_ACCEL",
                value: a.clone(),
                expected: ACCEL.into(),
            })?;
        }
        if let Some(q) = var("GUESTWRIGHT_QEMU").filter(|q| !q.is_empty()) {
            c.qemu = Some(q.into());
        }
        let memory = format!(
            "a whole number of MiB from {} to {}",
            MEMORY_MIB.start(),
            MEMORY_MIB.end()
        );
        if let Some(m) = env_text(var, "GUESTWRIGHT_MEMORY", &memory)? {
            c.memory_mib = m
                .trim()
                .parse()
                .ok()
                .filter(|m| MEMORY_MIB.contains(m))
                .ok_or_else(|| EnvError {
                    name: "GUESTWRIGHT_MEMORY",
                    value: m.clone(),
                    expected: memory.clone(),
                })?;
        }
        const MACHINE: &str = "microvm or q35";
        match env_text(var, "GUESTWRIGHT_MACHINE", MACHINE)?.as_deref() {
            None => {}
            Some("microvm") => c.machine = Some(Machine::Microvm),
            Some("q35") => c.machine = Some(Machine::Q35),
            Some(other) => {
                return Err(EnvError {
                    name: "GUESTWRIGHT_MACHINE",
                    value: other.to_string(),
                    expected: MACHINE.into(),
                })
            }
        }
        if let Some(dirs) = var("GUESTWRIGHT_ALLOW_BACKING") {
            c.allow_backing = allowed_dirs(&dirs)?;
        }
        if var("GUESTWRIGHT_VERBOSE").is_some_and(|v| v != "0") {
            c.verbose = true;
        }
        const SNAPSHOT: &str = "1 (launch from a saved appliance when possible) or 0 (always boot)";
        match env_text(var, "GUESTWRIGHT_SNAPSHOT", SNAPSHOT)?.as_deref() {
            None | Some("1") => {}
            Some("0") => c.snapshot = false,
            Some(other) => {
                return Err(EnvError {
                    name: "GUESTWRIGHT_SNAPSHOT",
                    value: other.to_string(),
                    expected: SNAPSHOT.into(),
                })
            }
        }
        Ok(c)
    }
}

/// The directories of `GUESTWRIGHT_ALLOW_BACKING`: colon-separated, empty entries
/// ignored, each made absolute now (a background process may change directory later).
pub fn allowed_dirs(value: &std::ffi::OsStr) -> Result<Vec<PathBuf>, EnvError> {
    std::env::split_paths(value)
        .filter(|p| !p.as_os_str().is_empty())
        .map(|p| {
            std::path::absolute(&p).map_err(|e| EnvError {
                name: "GUESTWRIGHT_ALLOW_BACKING",
                value: value.to_string_lossy().into_owned(),
                expected: format!(
                    "directories separated by ':' ({} cannot be made absolute: {e})",
                    p.display()
                ),
            })
        })
        .collect()
}

/// Why the appliance did not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LaunchError {
    /// No QEMU.
    #[error("{binary} not found: install QEMU (Debian 12: `apt-get install -t bookworm-backports qemu-system-x86`) or set GUESTWRIGHT_QEMU")]
    QemuNotFound {
        /// The binary looked for.
        binary: String,
    },
    /// A drive's file could not be opened again for QEMU.
    #[error(transparent)]
    Drive(#[from] crate::drive::DriveError),
    /// The appliance could not be built.
    #[error("cannot prepare the appliance")]
    Appliance(#[from] ApplianceError),
    /// The private runtime directory could not be made.
    #[error("cannot create a private runtime directory in {}", base.display())]
    RuntimeDir {
        /// Where.
        base: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A read-only overlay could not be written.
    #[error("cannot create the read-only overlay {}", path.display())]
    Overlay {
        /// The overlay file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// QEMU could not be started.
    #[error("cannot start {}", binary.display())]
    Spawn {
        /// The binary.
        binary: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// QEMU exited before the daemon answered.
    #[error(
        "QEMU exited during launch ({status}){}{}",
        tail("QEMU said", stderr),
        tail("appliance console", console)
    )]
    QemuFailed {
        /// The exit status.
        status: String,
        /// QEMU's stderr.
        stderr: String,
        /// The console.
        console: String,
    },
    /// QEMU could not take its lock on an image: another process writes it (or, for a
    /// backing file, another process writes it while this launch needs it unchanged).
    #[error("{} is in use: another process holds QEMU's lock on it (a running VM, or another guestwright that writes to it), and two processes writing one image corrupt it; wait until that process has finished (`fuser {}` names it), or look at the image as it is now with a read-only command or --ro (readers take no lock)", escape(image), escape(image))]
    ImageInUse {
        /// The image QEMU named.
        image: PathBuf,
        /// QEMU's message.
        stderr: String,
    },
    /// A job's drive could not be attached to a reused appliance (see [`crate::pool`]).
    #[error("cannot attach {} to the appliance: {detail}", escape(image))]
    Attach {
        /// The image (empty when the failure was not one image's).
        image: PathBuf,
        /// QEMU's refusal.
        detail: String,
    },
    /// The program is stopping ([`crate::interrupt::stop_all`]): no appliance is started,
    /// and one booting is killed (nothing in the guest was mounted yet).
    #[error("the launch was interrupted: the program is stopping")]
    Stopped,
    /// The daemon did not say hello in time.
    #[error(
        "the appliance did not answer within {after:?} ({accel}){}",
        tail("last console lines", console)
    )]
    Timeout {
        /// How long we waited.
        after: Duration,
        /// Which accelerator.
        accel: &'static str,
        /// The console.
        console: String,
    },
    /// KVM was requested but cannot be used.
    #[error("KVM was requested but {reason}; or use --accel tcg")]
    KvmUnavailable {
        /// Why.
        reason: String,
    },
    /// The first frame was not a valid hello.
    #[error(
        "the appliance's greeting is not valid: {detail}{}",
        tail("appliance console", console)
    )]
    Handshake {
        /// What was wrong.
        detail: String,
        /// The console.
        console: String,
    },
    /// Reading the greeting from the channel failed.
    #[error(
        "cannot read the appliance's greeting{}",
        tail("appliance console", console)
    )]
    Greeting {
        /// Why.
        #[source]
        source: std::io::Error,
        /// The console.
        console: String,
    },
    /// The daemon is another version.
    #[error("the appliance runs daemon {daemon} but this is guestwright {VERSION}: remove the appliance cache ({}) and try again", cache.display())]
    VersionMismatch {
        /// The daemon's version.
        daemon: String,
        /// The cache to clear.
        cache: PathBuf,
    },
}

fn escape(p: &Path) -> String {
    use std::os::unix::ffi::OsStrExt;
    guestwright_protocol::escape_bytes(p.as_os_str().as_bytes())
}

/// QEMU's exit during launch, as [`LaunchError::ImageInUse`] when it could not lock an
/// image (`Failed to get "write" lock` / `Failed to get shared "write" lock`, followed by
/// `Is another process using the image [PATH]?`).
fn qemu_failed(status: String, stderr: String, console: String) -> LaunchError {
    if stderr.contains("Failed to get") && stderr.contains(" lock") {
        const MARK: &str = "Is another process using the image [";
        if let Some(at) = stderr.find(MARK) {
            let rest = &stderr[at + MARK.len()..];
            if let Some(end) = rest.find("]?") {
                return LaunchError::ImageInUse {
                    image: PathBuf::from(&rest[..end]),
                    stderr,
                };
            }
        }
    }
    LaunchError::QemuFailed {
        status,
        stderr,
        console,
    }
}

/// An image in use named by its path rather than by the descriptor QEMU was given.
fn named_files(e: LaunchError, passed: &[PathBuf]) -> LaunchError {
    match e {
        LaunchError::ImageInUse { image, stderr } => {
            let path = (0..passed.len())
                .find(|i| image == Path::new(&qemu::fdset_name(*i)))
                .map_or(image, |i| passed[i].clone());
            LaunchError::ImageInUse {
                image: path,
                stderr,
            }
        }
        e => e,
    }
}

fn tail(what: &str, text: &str) -> String {
    if text.trim().is_empty() {
        String::new()
    } else {
        format!("\n{what}:\n{}", text.trim_end())
    }
}

/// A running appliance, connected and greeted.
#[derive(Debug)]
pub struct Booted {
    /// The QEMU process.
    pub child: Child,
    /// The connected channel.
    pub stream: UnixStream,
    /// The daemon's greeting.
    pub hello: Hello,
    /// Console capture.
    pub console: Console,
    /// The private directory (socket, overlays); removed when dropped.
    pub runtime: tempfile::TempDir,
    /// The accelerator that booted it.
    pub accel: Accelerator,
    /// How long the launch took.
    pub elapsed: Duration,
    /// Where that time went.
    pub phases: LaunchPhases,
    /// The transfer disk's file (already unlinked) and its size, when there is one.
    pub xfer: Option<(std::fs::File, u64)>,
    /// Restored from a saved appliance rather than booted ([`crate::snapshot`]).
    pub restored: bool,
    /// The monitor of an appliance launched with re-pointable drive slots.
    pub monitor: Option<crate::snapshot::Monitor>,
    /// The rescue console's connection, when the launch asked for one
    /// ([`LaunchConfig::rescue`]).
    pub rescue: Option<UnixStream>,
}

/// Where a launch's time went, phase by phase; the phases add up to the whole launch.
/// `-v` logs them and the launch benchmark reports them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LaunchPhases {
    /// Everything before the QEMU that answered was started: finding QEMU, checking the
    /// appliance cache, naming the saved state, the drives' overlays, and a restore or a
    /// boot that failed before it.
    pub prepare: Duration,
    /// From starting QEMU until it connected the appliance's channel: QEMU's own start.
    pub qemu_start: Duration,
    /// Restored: until the saved state was loaded and the appliance ran again. Zero when
    /// booted.
    pub restore: Duration,
    /// Until the daemon's greeting. Restored: the resume (fresh random bytes, the host's
    /// clock) and the drive probe. Booted: the kernel's boot, the daemon's start and the
    /// drive probe.
    pub ready: Duration,
}

fn find_qemu(config: &LaunchConfig) -> Result<PathBuf, LaunchError> {
    if let Some(q) = &config.qemu {
        return Ok(q.clone());
    }
    let name = format!("qemu-system-{}", std::env::consts::ARCH);
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|d| d.join(&name))
        .find(|p| p.is_file())
        .or_else(|| Some(PathBuf::from("/usr/libexec/qemu-kvm")).filter(|p| p.is_file()))
        .ok_or(LaunchError::QemuNotFound { binary: name })
}

fn runtime_dir() -> Result<tempfile::TempDir, LaunchError> {
    let base = std::env::var_os("XDG_RUNTIME_DIR")
        .map(PathBuf::from)
        .filter(|p| p.is_dir())
        .unwrap_or_else(std::env::temp_dir);
    tempfile::Builder::new()
        .prefix("guestwright-")
        .permissions(std::fs::Permissions::from_mode(0o700))
        .tempdir_in(&base)
        .map_err(|source| LaunchError::RuntimeDir { base, source })
}

/// Boots the appliance with `drives` attached.
pub fn launch(drives: &[Drive], config: &LaunchConfig) -> Result<Booted, LaunchError> {
    launch_with(drives, config, false)
}

/// Boots an appliance with no drives but [`crate::slots::SLOTS`] empty drive slots and a
/// monitor, for jobs whose images are attached to the slots one job after another (see
/// [`crate::pool`]).
pub(crate) fn launch_slots(config: &LaunchConfig) -> Result<Booted, LaunchError> {
    launch_with(&[], config, true)
}

fn launch_with(
    drives: &[Drive],
    config: &LaunchConfig,
    slots: bool,
) -> Result<Booted, LaunchError> {
    let started = Instant::now();
    if crate::interrupt::stopping() {
        return Err(LaunchError::Stopped);
    }
    let binary = find_qemu(config)?;
    let appliance = guestwright_appliance::prepare(&config.appliance)?;
    log::debug!(
        "appliance ready in {:?}: {}",
        started.elapsed(),
        appliance.dir.display()
    );
    let cache_root = appliance
        .dir
        .parent()
        .unwrap_or(&appliance.dir)
        .to_path_buf();
    let verdict = Verdict::new(&cache_root, &binary, &appliance.kernel_release);

    // Under TCG a boot now and then hangs early in the kernel's timer set-up (rarely, and
    // only on a loaded host); a second boot gets past it, so the first attempt has a deadline
    // well above a normal boot (1-3 s) but well below the whole launch timeout.
    let tcg = || {
        let first = (config.timeout / 3).min(Duration::from_secs(30));
        vec![
            (Accelerator::Tcg, first),
            (Accelerator::Tcg, config.timeout),
        ]
    };
    let plan: Vec<(Accelerator, Duration)> = match config.accel {
        AccelChoice::Tcg => tcg(),
        AccelChoice::Kvm => {
            if let Some(reason) = accel::kvm_unusable() {
                return Err(LaunchError::KvmUnavailable { reason });
            }
            vec![(Accelerator::Kvm, config.timeout)]
        }
        AccelChoice::Auto => match (accel::kvm_unusable(), verdict.load()) {
            (Some(reason), _) => {
                log::info!("using TCG: {reason}");
                tcg()
            }
            (None, Some(Accelerator::Tcg)) => tcg(),
            (None, _) => [vec![(Accelerator::Kvm, config.kvm_trial)], tcg()].concat(),
        },
    };

    let mut last_err = None;
    let attempts = plan.len();
    let mut machine = config.machine.unwrap_or(Machine::Microvm);
    for (n, (accel, deadline)) in plan.into_iter().enumerate() {
        if n == 0 && crate::snapshot::usable(drives, config, machine) {
            let saved = crate::snapshot::Saved::new(config, &binary, &appliance, accel, machine);
            let launched =
                saved.and_then(|s| s.launch(drives, config, &binary, &appliance, deadline, slots));
            match launched {
                Ok(booted) => return Ok(finished(booted, started)),
                Err(crate::snapshot::SnapshotError::Launch(e @ LaunchError::Stopped)) => {
                    return Err(e)
                }
                Err(crate::snapshot::SnapshotError::Launch(e @ LaunchError::ImageInUse { .. })) => {
                    return Err(e)
                }
                Err(e @ crate::snapshot::SnapshotError::EarlierSaveFailed { .. }) => {
                    log::debug!("{e}")
                }
                Err(e) => log::warn!("{e}; booting the appliance instead"),
            }
        }
        let mut result = boot(
            drives, config, &binary, &appliance, accel, machine, deadline, None, slots,
        );
        if let Err(LaunchError::QemuFailed { stderr, .. }) = &result {
            if machine == Machine::Microvm && config.machine.is_none() && stderr.contains("microvm")
            {
                log::info!("this QEMU has no microvm machine; using q35 (slower to boot)");
                machine = Machine::Q35;
                result = boot(
                    drives, config, &binary, &appliance, accel, machine, deadline, None, slots,
                );
            }
        }
        match result {
            Ok(booted) => {
                if config.accel == AccelChoice::Auto {
                    verdict.store(accel);
                }
                return Ok(finished(booted, started));
            }
            Err(e @ LaunchError::Timeout { .. }) | Err(e @ LaunchError::QemuFailed { .. })
                if accel == Accelerator::Kvm && config.accel == AccelChoice::Auto =>
            {
                log::warn!(
                    "KVM did not boot the appliance ({e}); using TCG from now on on this host \
                     (set GUESTWRIGHT_ACCEL=kvm to insist)"
                );
                verdict.store(Accelerator::Tcg);
                last_err = Some(e);
            }
            Err(e @ LaunchError::Timeout { .. })
                if accel == Accelerator::Tcg && n + 1 < attempts =>
            {
                log::warn!("the appliance hung while booting; starting it again ({e})");
                last_err = Some(e);
            }
            Err(e) => return Err(e),
        }
    }
    Err(last_err.expect("the plan is never empty"))
}

/// Stamps a launch that began at `started` with its whole time and logs its phases.
fn finished(mut booted: Booted, started: Instant) -> Booted {
    booted.elapsed = started.elapsed();
    let p = &mut booted.phases;
    p.prepare = booted
        .elapsed
        .saturating_sub(p.qemu_start + p.restore + p.ready);
    log::debug!(
        "launch {:?}: prepare {:?}, QEMU start {:?}, restore {:?}, ready {:?}",
        booted.elapsed,
        p.prepare,
        p.qemu_start,
        p.restore,
        p.ready
    );
    booted
}

/// A saved appliance to restore instead of booting: its file and the `Resume` to send.
pub(crate) struct Restore<'a> {
    pub file: &'a std::fs::File,
    pub path: &'a Path,
    /// QEMU's monitor connects here (see [`crate::snapshot::Monitor::wait_running`]).
    pub qmp: &'a mut crate::snapshot::Monitor,
}

/// What a start does: boot, restore a saved appliance, or boot one to save it.
pub(crate) enum Role<'a> {
    Cold,
    Restore(Restore<'a>),
    /// Boot parked, with QMP on `qmp_socket`, the state's file passed to QEMU.
    Save {
        qmp_socket: &'a Path,
        file: &'a std::fs::File,
        path: &'a Path,
    },
}

/// Starts QEMU, accepts the channel and reads the daemon's first frame.
#[allow(clippy::too_many_arguments)]
pub(crate) fn start(
    drives: &[Drive],
    config: &LaunchConfig,
    binary: &Path,
    appliance: &guestwright_appliance::Appliance,
    accel: Accelerator,
    machine: Machine,
    deadline: Duration,
    slots: bool,
    mut role: Role<'_>,
) -> Result<Started, LaunchError> {
    let started = Instant::now();
    let runtime = runtime_dir()?;
    // A booted appliance with re-pointable slots needs a monitor of its own; a restored one
    // has the restore's.
    let mut monitor = match (&role, slots) {
        (Role::Cold, true) => {
            Some(
                crate::snapshot::Monitor::new().map_err(|detail| LaunchError::Handshake {
                    detail,
                    console: String::new(),
                })?,
            )
        }
        _ => None,
    };
    let mut blockdevs = Vec::new();
    // Each drive's files, opened anew from the descriptors that were checked: QEMU inherits
    // these and opens no image by its path. Closed here once QEMU has them.
    let mut passed = Vec::new();
    for (i, drive) in drives.iter().enumerate() {
        let overlay_path = runtime.path().join(format!("overlay{i}.qcow2"));
        let overlay = readonly_overlay(drive, &overlay_path)?.then_some(overlay_path.as_path());
        blockdevs.push(drive.blockdev(&format!("drive{i}"), overlay, &mut passed)?);
    }
    let socket = runtime.path().join("channel");
    let listener = UnixListener::bind(&socket).map_err(|source| LaunchError::RuntimeDir {
        base: socket.clone(),
        source,
    })?;
    listener
        .set_nonblocking(true)
        .map_err(|source| LaunchError::RuntimeDir {
            base: socket.clone(),
            source,
        })?;

    let save = matches!(role, Role::Save { .. });
    let xfer = if save { None } else { xfer_file(&runtime) };
    let rescue_socket = runtime.path().join("rescue");
    let rescue_listener = if config.rescue && !save {
        let l = UnixListener::bind(&rescue_socket).map_err(|source| LaunchError::RuntimeDir {
            base: rescue_socket.clone(),
            source,
        })?;
        Some(l)
    } else {
        None
    };
    let mut pass = |file: &std::fs::File, path: &Path| {
        let file = file.try_clone().map_err(|source| LaunchError::Spawn {
            binary: binary.to_path_buf(),
            source,
        })?;
        passed.push((file, path.to_path_buf()));
        Ok::<usize, LaunchError>(passed.len() - 1)
    };
    let snapshot = match &role {
        Role::Cold => None,
        Role::Restore(r) => Some(qemu::SnapshotRole::Restore {
            index: pass(r.file, r.path)?,
            qmp_socket: r.qmp.socket().to_path_buf(),
        }),
        Role::Save {
            qmp_socket,
            file,
            path,
        } => {
            pass(file, path)?;
            Some(qemu::SnapshotRole::Save {
                qmp_socket: qmp_socket.to_path_buf(),
            })
        }
    };
    let qc = QemuConfig {
        binary: binary.to_path_buf(),
        accel,
        machine,
        kernel: appliance.kernel.clone(),
        initrd: appliance.initrd.clone(),
        memory_mib: config.memory_mib,
        smp: config.smp.max(1),
        channel_socket: socket.clone(),
        drives: blockdevs,
        block_sizes: drives.iter().map(|d| d.blocksize).collect(),
        fdsets: passed.iter().map(|(f, _)| f.as_raw_fd()).collect(),
        extras: Some(appliance.extras.clone()),
        verbose: config.verbose,
        network: config.network,
        xfer: xfer.as_ref().map(|f| f.path().to_path_buf()),
        snapshot,
        slots,
        monitor: monitor.as_ref().map(|m| m.socket()),
        rescue_socket: rescue_listener.as_ref().map(|_| rescue_socket.clone()),
    };
    let mut cmd = Command::new(binary);
    cmd.args(qemu::args(&qc))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // Its own process group: Ctrl-C in a terminal reaches us (to cancel a command), not QEMU.
    cmd.process_group(0);
    sys::die_with_parent(&mut cmd);
    // So that a plain `kill` of QEMU stops it, whatever this program blocks.
    sys::unblock_signals(&mut cmd);
    sys::inherit_fds(&mut cmd, qc.fdsets.clone());
    log::debug!("starting {} {:?}", binary.display(), qemu::args(&qc));
    let spawned = Instant::now();
    let mut child = cmd.spawn().map_err(|source| match source.kind() {
        std::io::ErrorKind::NotFound => LaunchError::QemuNotFound {
            binary: binary.display().to_string(),
        },
        _ => LaunchError::Spawn {
            binary: binary.to_path_buf(),
            source,
        },
    })?;
    // QEMU holds its own copies now; the names stay for its messages.
    let passed: Vec<PathBuf> = passed.into_iter().map(|(_, path)| path).collect();
    let console = Console::default();
    let qemu_stderr = Console::default();
    if let Some(out) = child.stdout.take() {
        console.capture(out, "", config.verbose);
    }
    if let Some(err) = child.stderr.take() {
        qemu_stderr.capture(err, "", config.verbose);
    }

    let fail = |child: &mut Child, e: LaunchError| {
        let _ = child.kill();
        let _ = child.wait();
        e
    };
    let limit = started + deadline;
    let exited = |child: &mut Child| -> Option<LaunchError> {
        let status = child.try_wait().ok().flatten()?;
        // Let the capture threads collect QEMU's last words: its pipes end as it exits.
        qemu_stderr.wait_ended(Duration::from_secs(2));
        console.wait_ended(Duration::from_millis(200));
        Some(named_files(
            qemu_failed(status.to_string(), qemu_stderr.all(), console.tail(30)),
            &passed,
        ))
    };
    // Waits for QEMU to connect a chardev to `l`, checking on QEMU while it does.
    let accept = |l: &UnixListener, base: &Path, child: &mut Child| {
        let _ = l.set_nonblocking(true);
        loop {
            match l.accept() {
                Ok((s, _)) => {
                    let _ = s.set_nonblocking(false);
                    return Ok(s);
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(source) => {
                    let base = base.to_path_buf();
                    return Err(fail(child, LaunchError::RuntimeDir { base, source }));
                }
            }
            if let Some(e) = exited(child) {
                return Err(e);
            }
            if crate::interrupt::stopping() {
                return Err(fail(child, LaunchError::Stopped));
            }
            if Instant::now() > limit {
                let e = LaunchError::Timeout {
                    after: deadline,
                    accel: accel.name(),
                    console: console.tail(30),
                };
                return Err(fail(child, e));
            }
            std::thread::sleep(Duration::from_millis(2));
        }
    };
    let stream = accept(&listener, &socket, &mut child)?;
    // QEMU connected the rescue console's chardev before the channel's.
    let rescue = match &rescue_listener {
        None => None,
        Some(l) => Some(accept(l, &rescue_socket, &mut child)?),
    };
    let mut phases = LaunchPhases {
        qemu_start: spawned.elapsed(),
        ..LaunchPhases::default()
    };
    let mut mark = Instant::now();
    if let Some(m) = &mut monitor {
        if let Err(detail) = m.keep_connection(limit) {
            return Err(fail(
                &mut child,
                LaunchError::Handshake {
                    detail,
                    console: console.tail(30),
                },
            ));
        }
    }
    if let Role::Restore(r) = &mut role {
        // Nothing goes on the channel before the restored VM runs: QEMU would take the
        // bytes while the device is not loaded yet, and never look at the socket again.
        if let Err(detail) = r.qmp.wait_running(limit) {
            return Err(fail(
                &mut child,
                LaunchError::Handshake {
                    detail,
                    console: console.tail(30),
                },
            ));
        }
        phases.restore = mark.elapsed();
        mark = Instant::now();
        let resume = crate::snapshot::resume_for(drives.len(), config.verbose);
        let sent = codec::encode(&resume)
            .map_err(std::io::Error::other)
            .and_then(|p| {
                guestwright_protocol::frame::write_frame(&mut &stream, FrameKind::Resume, 0, &p)
            });
        if let Err(source) = sent {
            return Err(fail(
                &mut child,
                LaunchError::Greeting {
                    source,
                    console: console.tail(30),
                },
            ));
        }
    }

    // Wait for the hello, checking on QEMU while we do.
    let mut raw = Vec::new();
    let hello_frame = loop {
        if crate::interrupt::stopping() {
            return Err(fail(&mut child, LaunchError::Stopped));
        }
        let remaining = limit.saturating_duration_since(Instant::now());
        if remaining.is_zero() {
            return Err(fail(
                &mut child,
                LaunchError::Timeout {
                    after: deadline,
                    accel: accel.name(),
                    console: console.tail(30),
                },
            ));
        }
        let _ = stream.set_read_timeout(Some(remaining.min(Duration::from_millis(100))));
        let mut buf = [0u8; 4096];
        match (&stream).read(&mut buf) {
            Ok(0) => {
                std::thread::sleep(Duration::from_millis(50));
                if let Some(e) = exited(&mut child) {
                    return Err(e);
                }
                return Err(fail(
                    &mut child,
                    LaunchError::Handshake {
                        detail: "the channel closed".into(),
                        console: console.tail(30),
                    },
                ));
            }
            Ok(n) => {
                raw.extend_from_slice(&buf[..n]);
                // The daemon sends nothing after the hello until asked, so whatever arrived
                // is the hello or a part of it.
                if raw.len() >= HEADER_LEN {
                    match read_frame(&mut raw.as_slice()) {
                        Ok(f) => break f,
                        Err(e) if e.is_eof() => {}
                        Err(e) => {
                            return Err(fail(
                                &mut child,
                                LaunchError::Handshake {
                                    detail: e.to_string(),
                                    console: console.tail(30),
                                },
                            ))
                        }
                    }
                }
            }
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock
                        | std::io::ErrorKind::TimedOut
                        | std::io::ErrorKind::Interrupted
                ) =>
            {
                if let Some(e) = exited(&mut child) {
                    return Err(e);
                }
            }
            Err(source) => {
                return Err(fail(
                    &mut child,
                    LaunchError::Greeting {
                        source,
                        console: console.tail(30),
                    },
                ))
            }
        }
    };
    let _ = stream.set_read_timeout(None);
    phases.ready = mark.elapsed();
    Ok(Started {
        child,
        stream,
        frame: hello_frame,
        console,
        runtime,
        started,
        phases,
        xfer,
        monitor,
        rescue,
    })
}

/// QEMU running and the daemon's first frame read: `Hello`, or `Parked` for a boot that is
/// saved.
/// Creates the throw-away overlay a read-only `drive` is written through, at `path`; true
/// when the drive is read-only and the overlay was made, false for a writable drive.
pub(crate) fn readonly_overlay(drive: &Drive, path: &Path) -> Result<bool, LaunchError> {
    if !drive.readonly {
        return Ok(false);
    }
    overlay::create(path, drive.virtual_size).map_err(|source| LaunchError::Overlay {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(true)
}

pub(crate) struct Started {
    pub child: Child,
    pub stream: UnixStream,
    pub frame: guestwright_protocol::frame::Frame,
    pub console: Console,
    pub runtime: tempfile::TempDir,
    pub started: Instant,
    /// QEMU's start, the restore and the wait for the first frame; `prepare` is the caller's.
    pub phases: LaunchPhases,
    pub xfer: Option<tempfile::NamedTempFile>,
    pub monitor: Option<crate::snapshot::Monitor>,
    pub rescue: Option<UnixStream>,
}

impl Started {
    /// Ends QEMU and returns `e`.
    pub fn fail(mut self, e: LaunchError) -> LaunchError {
        let _ = self.child.kill();
        let _ = self.child.wait();
        e
    }
}

/// Boots (or restores) the appliance and checks its hello.
#[allow(clippy::too_many_arguments)]
pub(crate) fn boot(
    drives: &[Drive],
    config: &LaunchConfig,
    binary: &Path,
    appliance: &guestwright_appliance::Appliance,
    accel: Accelerator,
    machine: Machine,
    deadline: Duration,
    restore: Option<Restore<'_>>,
    slots: bool,
) -> Result<Booted, LaunchError> {
    let restored = restore.is_some();
    let role = match restore {
        None => Role::Cold,
        Some(r) => Role::Restore(r),
    };
    let up = start(
        drives, config, binary, appliance, accel, machine, deadline, slots, role,
    )?;
    if up.frame.kind != FrameKind::Hello {
        let e = LaunchError::Handshake {
            detail: format!("expected a hello, got {:?}", up.frame.kind),
            console: up.console.tail(30),
        };
        return Err(up.fail(e));
    }
    let hello: Hello = match codec::decode(&up.frame.payload) {
        Ok(h) => h,
        Err(e) => {
            let e = LaunchError::Handshake {
                detail: e.to_string(),
                console: up.console.tail(30),
            };
            return Err(up.fail(e));
        }
    };
    if hello.protocol_version != PROTOCOL_VERSION || hello.daemon_version != VERSION {
        let cache = appliance.dir.clone();
        return Err(up.fail(LaunchError::VersionMismatch {
            daemon: hello.daemon_version,
            cache,
        }));
    }
    log::debug!(
        "appliance up with {} in {:?} (kernel {}, daemon ready at {} ms guest time)",
        accel.name(),
        up.started.elapsed(),
        hello.kernel_release,
        hello.uptime_ms
    );
    Ok(Booted {
        child: up.child,
        stream: up.stream,
        hello,
        console: up.console,
        runtime: up.runtime,
        accel,
        elapsed: up.started.elapsed(),
        phases: up.phases,
        // QEMU has it open: the name can go, so nothing is left behind if we die.
        xfer: up.xfer.map(|f| (f.into_file(), XFER_SIZE)),
        restored,
        monitor: up.monitor,
        rescue: up.rescue,
    })
}

/// Size of the transfer disk: the ring of upload chunks in flight.
pub const XFER_SIZE: u64 = 32 << 20;

/// A sparse file for the transfer disk, in memory (/dev/shm) when the host has it. Without
/// one (or with `GUESTWRIGHT_NO_XFER` set), uploads go over the channel, 4-5x slower.
fn xfer_file(runtime: &tempfile::TempDir) -> Option<tempfile::NamedTempFile> {
    if std::env::var_os("GUESTWRIGHT_NO_XFER").is_some() {
        return None;
    }
    let shm = Path::new("/dev/shm");
    let dir = if shm.is_dir() { shm } else { runtime.path() };
    let file = tempfile::Builder::new()
        .prefix("guestwright-xfer-")
        .tempfile_in(dir)
        .or_else(|_| {
            tempfile::Builder::new()
                .prefix("xfer-")
                .tempfile_in(runtime.path())
        })
        .map_err(|e| log::debug!("no transfer disk: {e}"))
        .ok()?;
    file.as_file().set_len(XFER_SIZE).ok()?;
    Some(file)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lock_failure_names_the_image_in_use() {
        for qemu in [
            "qemu-system-x86_64: -device virtio-blk-device,drive=drive0,serial=gw0: Failed to get \"write\" lock\nIs another process using the image [/vm/disk.img]?\n",
            "qemu-system-x86_64: -blockdev {...}: Failed to get shared \"write\" lock\nIs another process using the image [/vm/base.qcow2]?\n",
        ] {
            let e = qemu_failed("exit status: 1".into(), qemu.into(), String::new());
            let LaunchError::ImageInUse { image, .. } = &e else {
                panic!("not recognised: {e}");
            };
            assert!(image.starts_with("/vm/"));
            let msg = e.to_string();
            assert!(msg.contains(&format!("{} is in use", image.display())), "{msg}");
            assert!(msg.contains("--ro"), "{msg}");
        }
        let other = qemu_failed("exit status: 1".into(), "no microvm".into(), String::new());
        assert!(matches!(other, LaunchError::QemuFailed { .. }));
    }

    #[test]
    fn allowed_backing_directories_from_the_environment() {
        let dirs = allowed_dirs(std::ffi::OsStr::new("/a::/b/c:")).unwrap();
        assert_eq!(dirs, [PathBuf::from("/a"), PathBuf::from("/b/c")]);
        let rel = allowed_dirs(std::ffi::OsStr::new("rel")).unwrap();
        assert!(rel[0].is_absolute() && rel[0].ends_with("rel"));
    }
}

#[cfg(test)]
mod env_tests {
    use super::*;
    use std::ffi::OsString;
    use std::os::unix::ffi::OsStringExt;

    fn config(vars: &[(&str, OsString)]) -> Result<LaunchConfig, EnvError> {
        LaunchConfig::from_vars(&|name| {
            vars.iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v.clone())
        })
    }

    #[test]
    fn good_values_are_taken() {
        let c = config(&[
            ("GUESTWRIGHT_ACCEL", "tcg".into()),
            ("GUESTWRIGHT_MEMORY", "768".into()),
            ("GUESTWRIGHT_MACHINE", "q35".into()),
        ])
        .unwrap();
        assert_eq!(c.accel, AccelChoice::Tcg);
        assert_eq!(c.memory_mib, 768);
        assert_eq!(c.machine, Some(Machine::Q35));
        assert_eq!(config(&[]).unwrap().memory_mib, 512);
        assert!(config(&[]).unwrap().snapshot);
        assert!(
            config(&[("GUESTWRIGHT_SNAPSHOT", "1".into())])
                .unwrap()
                .snapshot
        );
        assert!(
            !config(&[("GUESTWRIGHT_SNAPSHOT", "0".into())])
                .unwrap()
                .snapshot
        );
    }

    #[test]
    fn a_bad_value_names_the_variable_the_value_and_what_is_accepted() {
        for (name, value, accepted) in [
            ("GUESTWRIGHT_ACCEL", "kvmm", "auto, kvm or tcg"),
            (
                "GUESTWRIGHT_MEMORY",
                "1G",
                "a whole number of MiB from 128 to",
            ),
            (
                "GUESTWRIGHT_MEMORY",
                "0",
                "a whole number of MiB from 128 to",
            ),
            ("GUESTWRIGHT_MACHINE", "pc", "microvm or q35"),
            (
                "GUESTWRIGHT_SNAPSHOT",
                "yes",
                "1 (launch from a saved appliance",
            ),
        ] {
            let err = config(&[(name, value.into())]).unwrap_err();
            assert_eq!(err.name, name);
            assert_eq!(err.value, value);
            let text = err.to_string();
            assert!(
                text.contains(name) && text.contains(&format!("\"{value}\"")),
                "{text}"
            );
            assert!(text.contains(accepted), "{text}");
        }
        // Not UTF-8: an error too, not silently the default.
        let err =
            config(&[("GUESTWRIGHT_ACCEL", OsString::from_vec(vec![b't', 0xff]))]).unwrap_err();
        assert_eq!(err.name, "GUESTWRIGHT_ACCEL");
        // A newline in the value stays on one line of the message.
        let err = config(&[("GUESTWRIGHT_MACHINE", "q35\nx".into())]).unwrap_err();
        assert!(!err.to_string().contains('\n'), "{err}");
    }
}
