//! [`Handle`]: the library's entry point. Add drives, launch, call operations, shut down.
//!
//! ```
//! use guestwright::prelude::*;
//!
//! // A handle can be shared between threads (calls take `&self`) and moved to another one.
//! fn shareable<T: Send + Sync>() {}
//! shareable::<Handle>();
//!
//! let h = Handle::new();
//! assert!(!h.is_launched());
//! // An operation before launch is an error to match, not a panic.
//! assert!(matches!(h.ping(), Err(Error::NotLaunched)));
//! ```
//!
//! A launched handle used from several threads, with a way to cancel them:
//!
//! ```no_run
//! use guestwright::prelude::*;
//! use std::time::Duration;
//!
//! # fn main() -> Result<(), guestwright::Error> {
//! let mut h = Handle::new();
//! h.add_drive("guest.img", DriveOptions::readonly())?;
//! h.set_call_timeout(Duration::from_secs(120)); // silence from the appliance longer than this fails a call
//! h.launch()?;
//! println!("launched in {:?} ({:?})", h.launch_time().unwrap_or_default(), h.accelerator());
//! let canceller = h.canceller().expect("launched");
//! std::thread::scope(|s| {
//!     let sums = s.spawn(|| h.checksum_device("sha256", "/dev/sda"));
//!     let parts = s.spawn(|| h.list_partitions());
//!     // `canceller.cancel()` from here would end both with ECANCELED.
//!     let _ = (sums.join(), parts.join());
//! });
//! drop(canceller);
//! h.shutdown()?;
//! # Ok(())
//! # }
//! ```

use crate::drive::{Drive, DriveOptions, Format};
use crate::error::{Error, Result};
use crate::launch::{self, Booted, LaunchConfig};
use crate::qemu::Accelerator;
use crate::rpc::{CallError, Channel, ProgressFn};
use guestwright_protocol::{CallStream, Client, Hello, Request};
use std::path::{Path, PathBuf};
use std::process::Child;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long an operation may go without any frame from the appliance.
const DEFAULT_CALL_TIMEOUT: Duration = Duration::from_secs(600);
/// How long shutdown waits for QEMU to exit after the daemon's reply.
const EXIT_TIMEOUT: Duration = Duration::from_secs(30);

/// A connection to one appliance with its disk images attached.
///
/// Operations come from the protocol's [`Client`] trait (bring it into scope with
/// `use guestwright::prelude::*`). They may be called from several threads at once: each
/// call is a separate request on the channel.
///
/// Dropping a launched handle shuts the appliance down (syncing its disks) and never leaves
/// a QEMU process behind; call [`Handle::shutdown`] to learn whether that succeeded.
#[derive(Debug)]
pub struct Handle {
    drives: Vec<Drive>,
    /// Files the handle made (the empty drive of `/dev/null`), deleted with it.
    temp_files: Vec<tempfile::TempPath>,
    config: LaunchConfig,
    call_timeout: Duration,
    running: Option<Running>,
    /// `-x`: every call on standard error, as libguestfs traces them.
    trace: bool,
    /// The running appliance is a pool slot's, lent for this job (see [`crate::pool`]).
    leased: Option<Leased>,
}

/// A running appliance. Dropping it kills QEMU: the ways that keep data (shutdown, a job's
/// end on a reused appliance) have finished with it by then.
#[derive(Debug)]
pub(crate) struct Running {
    child: Child,
    channel: Arc<Channel>,
    console: crate::console::Console,
    hello: Hello,
    accel: Accelerator,
    launched_in: Duration,
    /// Where the launch's time went; `None` for a pool's appliance (`batch`).
    phases: Option<launch::LaunchPhases>,
    restored: bool,
    runtime: tempfile::TempDir,
    /// The monitor of an appliance with drive slots.
    monitor: Option<crate::snapshot::Monitor>,
    /// The rescue console's connection until [`Handle::take_rescue_console`] takes it.
    rescue: Option<std::os::unix::net::UnixStream>,
}

impl Running {
    /// Whether QEMU still runs and the channel is open.
    fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None)) && self.channel.closed_reason().is_none()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
        self.channel.close("the appliance was stopped");
    }
}

/// A pool slot's appliance while one job has it.
#[derive(Debug)]
struct Leased {
    lease: crate::pool::Lease,
    /// What the appliance was launched with (a job with other settings gets another).
    key: String,
    /// Jobs this appliance has served, this one included.
    jobs: u64,
    attached: crate::slots::Attached,
}

/// The settings an appliance is launched with that a job cannot change on a running one.
fn reuse_key(c: &LaunchConfig) -> String {
    format!(
        "{:?} {} {} {} {:?} {:?} {} {:?}",
        c.accel, c.memory_mib, c.smp, c.network, c.qemu, c.machine, c.verbose, c.snapshot
    )
}

/// Cancels the calls in flight on a handle from another thread (a Ctrl-C handler).
#[derive(Debug, Clone)]
pub struct Canceller {
    channel: Arc<Channel>,
}

impl Canceller {
    /// Cancels the calls on a channel the caller started itself ([`Channel::start`]);
    /// [`Handle::canceller`] gives the one of a launched appliance.
    pub fn new(channel: Arc<Channel>) -> Canceller {
        Canceller { channel }
    }

    /// Asks the daemon to stop every call in flight; they fail with `ECANCELED`.
    pub fn cancel(&self) {
        self.channel.cancel_all();
    }
}

impl Default for Handle {
    fn default() -> Self {
        Handle::new()
    }
}

impl Handle {
    /// A handle with default settings (see [`LaunchConfig::default`]): no drives, not
    /// launched. Nothing is checked or started yet, so this cannot fail; settings from the
    /// `GUESTWRIGHT_*` variables need [`LaunchConfig::from_env`] and [`Handle::with_config`].
    pub fn new() -> Handle {
        Handle::with_config(LaunchConfig::default())
    }

    /// A handle with the given launch settings, no drives, not launched. The settings are
    /// used (and QEMU, the kernel and the cache checked) only by [`Handle::launch`].
    pub fn with_config(config: LaunchConfig) -> Handle {
        Handle {
            drives: Vec::new(),
            temp_files: Vec::new(),
            config,
            call_timeout: DEFAULT_CALL_TIMEOUT,
            running: None,
            trace: false,
            leased: None,
        }
    }

    /// Traces every call from now on (the tools' `-x`), as libguestfs's `set_trace` does: a
    /// line `libguestfs: trace: NAME ARGS` on standard error before the call and
    /// `libguestfs: trace: NAME = RESULT` after it (`0` for calls that return nothing, the
    /// reply's size for those that return data, `-1 (error)` for a failure). Also traces
    /// `add_drive`, `launch` and `shutdown`.
    pub fn set_trace(&mut self, on: bool) {
        self.trace = on;
    }

    /// Whether calls are traced ([`Handle::set_trace`]).
    pub fn trace(&self) -> bool {
        self.trace
    }

    fn trace_line(&self, line: std::fmt::Arguments<'_>) {
        if self.trace {
            eprintln!("libguestfs: trace: {line}");
        }
    }

    /// The launch settings this handle launches (or launched) with.
    pub fn config(&self) -> &LaunchConfig {
        &self.config
    }

    /// The launch settings, to change before [`Handle::launch`]; a change after launch has
    /// no effect on the running appliance.
    pub fn config_mut(&mut self) -> &mut LaunchConfig {
        &mut self.config
    }

    /// How long an operation may go without any frame from the appliance (a reply, a chunk
    /// of a stream or a progress report) before it fails with [`Error::Timeout`]; 10 minutes
    /// by default. Takes effect at the next [`Handle::launch`].
    pub fn set_call_timeout(&mut self, timeout: Duration) {
        self.call_timeout = timeout;
    }

    /// Attaches a disk image. Its format is checked now (detected from its magic bytes
    /// unless given) along with anything its header refers to: a raw backing file is
    /// followed only inside the image's directory tree or under a directory of
    /// [`LaunchConfig::allow_backing`]. A URI (`nbd://`, `nbd+unix://`, `http[s]://`,
    /// `ssh://`, `iscsi://`; read by [`crate::drive::uri::parse_drive`]) is a drive on the
    /// network, checked now and connected at launch. Drives appear in the
    /// appliance as `/dev/sda`, `/dev/sdb`, ... in the order they are added.
    pub fn add_drive(&mut self, path: impl AsRef<Path>, options: DriveOptions) -> Result<()> {
        if self.trace {
            let mut line = format!("add_drive \"{}\"", path.as_ref().to_string_lossy());
            if options.readonly {
                line.push_str(" \"readonly:true\"");
            }
            if let Some(f) = options.format {
                line.push_str(&format!(" \"format:{f}\""));
            }
            self.trace_line(format_args!("{line}"));
            let r = self.add_drive_untraced(path.as_ref(), options);
            self.trace_result("add_drive", r.as_ref().map(|_| "0".into()));
            return r;
        }
        self.add_drive_untraced(path.as_ref(), options)
    }

    fn trace_result(&self, name: &str, result: std::result::Result<String, &Error>) {
        match result {
            Ok(v) => self.trace_line(format_args!("{name} = {v}")),
            Err(_) => self.trace_line(format_args!("{name} = -1 (error)")),
        }
    }

    fn add_drive_untraced(&mut self, path: &Path, options: DriveOptions) -> Result<()> {
        if self.running.is_some() {
            return Err(Error::AlreadyLaunched);
        }
        if path == Path::new("/dev/null") {
            return self.add_empty_drive(options);
        }
        // A URI is read by the one reader of drive names and connected at launch, as
        // libguestfs does; a file:// URI names a file.
        let file = match path.to_str().map(crate::drive::uri::parse_drive) {
            Some(Err(e)) => return Err(crate::drive::DriveError::from(e).into()),
            Some(Ok(crate::drive::uri::DriveUri::Remote(spec))) => {
                return self.add_remote_spec(spec, options)
            }
            Some(Ok(crate::drive::uri::DriveUri::File(f))) => PathBuf::from(f),
            None => path.to_path_buf(),
        };
        let path = file.as_path();
        let drive = Drive::open_allowing(path, &options, &self.config.allow_backing)?;
        self.push_drive(drive);
        Ok(())
    }

    /// Attaches a drive on the network and connects to it now (see
    /// [`crate::drive::remote`]); `add_drive` with a URI and [`Handle::add_remote_spec`]
    /// record one instead and connect at launch, as libguestfs does. Its format is
    /// `options.format`, or raw: never guessed.
    pub fn add_remote(
        &mut self,
        remote: crate::drive::Remote,
        options: DriveOptions,
    ) -> Result<()> {
        if self.running.is_some() {
            return Err(Error::AlreadyLaunched);
        }
        let drive = Drive::open_remote(remote, &options)?;
        self.push_drive(drive);
        Ok(())
    }

    /// Records a drive on the network as libguestfs's `add_drive` does with `protocol:`:
    /// its parts are checked now (with libguestfs's messages), and it is connected when the
    /// appliance launches, where a protocol guestwright cannot open fails (see
    /// [`crate::drive::uri`]).
    pub fn add_remote_spec(
        &mut self,
        spec: crate::drive::uri::RemoteSpec,
        options: DriveOptions,
    ) -> Result<()> {
        if self.running.is_some() {
            return Err(Error::AlreadyLaunched);
        }
        let drive = Drive::pending_remote(spec, &options)?;
        self.push_drive(drive);
        Ok(())
    }

    /// Connects the drives recorded by [`Handle::add_remote_spec`], in order.
    fn connect_pending(&mut self) -> Result<()> {
        for i in 0..self.drives.len() {
            if self.drives[i].is_pending() {
                self.drives[i] = self.drives[i].connect()?;
            }
        }
        Ok(())
    }

    fn push_drive(&mut self, drive: Drive) {
        log::info!(
            "/dev/sd{}: {}{}",
            char::from(b'a' + (self.drives.len() % 26) as u8),
            drive.describe_chain(),
            if drive.readonly { ", read-only" } else { "" }
        );
        self.drives.push(drive);
    }

    /// `/dev/null` as libguestfs adds it: a blank, writable raw drive of 4096 bytes in a
    /// temporary file that lives as long as the handle.
    fn add_empty_drive(&mut self, options: DriveOptions) -> Result<()> {
        if options.format.is_some_and(|f| f != Format::Raw) {
            return Err(Error::Drive(crate::drive::DriveError::DevNullFormat));
        }
        let io = |source| {
            Error::Drive(crate::drive::DriveError::Open {
                path: std::env::temp_dir(),
                source,
            })
        };
        let file = tempfile::Builder::new()
            .prefix("guestwright-devnull-")
            .suffix(".img")
            .tempfile()
            .map_err(io)?;
        file.as_file().set_len(4096).map_err(io)?;
        let path = file.into_temp_path();
        let drive = Drive::open_allowing(
            &path,
            &DriveOptions {
                format: Some(Format::Raw),
                readonly: false,
                blocksize: options.blocksize,
            },
            &[],
        )?;
        self.drives.push(drive);
        self.temp_files.push(path);
        Ok(())
    }

    /// The drives added so far, in the order they appear in the appliance (`/dev/sda`
    /// first), with the format and backing chain that was checked for each.
    pub fn drives(&self) -> &[Drive] {
        &self.drives
    }

    /// True when every drive is read-only (then writes cannot reach any image).
    pub fn is_readonly(&self) -> bool {
        self.drives.iter().all(|d| d.readonly)
    }

    /// Starts the appliance with the drives added so far and waits for its daemon: restored
    /// from a saved appliance when the layout allows (a fraction of a second), else booted
    /// (about 1-2 s under TCG). The first launch on a host also builds the appliance into the
    /// cache.
    ///
    /// Fails with [`Error::AlreadyLaunched`] when running, [`Error::Launch`] when QEMU, the
    /// kernel or the accelerator cannot be used or the daemon does not answer in time (the
    /// message says what to install or set), and [`Error::HostIo`] when the channel cannot be
    /// set up. No QEMU process is left behind on failure, and the handle can launch again.
    pub fn launch(&mut self) -> Result<()> {
        self.trace_line(format_args!("launch"));
        let r = self.launch_untraced();
        self.trace_result("launch", r.as_ref().map(|()| "0".into()));
        r
    }

    fn launch_untraced(&mut self) -> Result<()> {
        if self.running.is_some() {
            return Err(Error::AlreadyLaunched);
        }
        self.connect_pending()?;
        if let Some(lease) = self.config.reuse.clone() {
            if crate::slots::fit(&self.drives) {
                if let Some(kept) = lease.acquire() {
                    return self.launch_leased(lease, kept);
                }
            }
        }
        let booted = launch::launch(&self.drives, &self.config)?;
        self.running = Some(self.connect(booted)?);
        Ok(())
    }

    /// Connects the channel of a booted appliance.
    fn connect(&self, booted: Booted) -> Result<Running> {
        let Booted {
            mut child,
            stream,
            hello,
            console,
            runtime,
            accel,
            elapsed,
            phases,
            xfer,
            restored,
            monitor,
            rescue,
        } = booted;
        let channel = match Channel::start(stream, self.call_timeout) {
            Ok(channel) => channel,
            Err(source) => {
                // Not running as far as the handle knows: QEMU must not outlive this call.
                let _ = child.kill();
                let _ = child.wait();
                return Err(Error::HostIo {
                    path: runtime.path().to_path_buf(),
                    source,
                });
            }
        };
        if let Some((file, size)) = xfer {
            channel.set_lane(file, size);
        }
        Ok(Running {
            child,
            channel,
            console,
            hello,
            accel,
            launched_in: elapsed,
            phases: Some(phases),
            restored,
            runtime,
            monitor,
            rescue,
        })
    }

    /// Launches on a pool slot's appliance: the one it kept from the slot's last job when
    /// it has the same settings and still runs, else a new one with drive slots; then
    /// attaches the drives to its slots and has the daemon probe them.
    fn launch_leased(
        &mut self,
        lease: crate::pool::Lease,
        kept: Option<crate::pool::Kept>,
    ) -> Result<()> {
        let started = Instant::now();
        let key = reuse_key(&self.config);
        // Another job's settings, or dead since: dropping it kills what is left of it.
        let kept = kept.and_then(|mut k| (k.key == key && k.running.alive()).then_some(k));
        let (mut running, jobs) = match kept {
            Some(k) => (k.running, k.jobs),
            None => match launch::launch_slots(&self.config)
                .map_err(Error::from)
                .and_then(|b| self.connect(b))
            {
                Ok(r) => {
                    lease.launched();
                    (r, 0)
                }
                Err(e) => {
                    lease.give_back(None);
                    return Err(e);
                }
            },
        };
        let jobs = jobs + 1;
        let runtime = running.runtime.path().to_path_buf();
        let Some(monitor) = running.monitor.as_mut() else {
            lease.give_back(None);
            return Err(Error::Launch(launch::LaunchError::Attach {
                image: PathBuf::new(),
                detail: "the appliance has no monitor".into(),
            }));
        };
        let attached = match crate::slots::attach(monitor, &self.drives, &runtime, jobs) {
            Ok(a) => a,
            Err(e) => {
                // Not knowing what QEMU kept of a failed attach, the next job gets a new one.
                lease.give_back(None);
                return Err(e.into());
            }
        };
        let count = self.drives.len() as i32;
        let probed = running
            .channel
            .call(
                &Request::DrivesProbe(guestwright_protocol::args::DrivesProbe { count }),
                CallStream::None,
            )
            .map_err(|e| describe_call_error(&e))
            .and_then(|b| {
                guestwright_protocol::codec::decode::<i32>(&b).map_err(|e| e.to_string())
            });
        match probed {
            Ok(n) => running.hello.drives = n as u32,
            Err(detail) => {
                lease.give_back(None);
                return Err(Error::Launch(launch::LaunchError::Attach {
                    image: self
                        .drives
                        .first()
                        .map(|d| d.path().to_path_buf())
                        .unwrap_or_default(),
                    detail: format!("the appliance did not find the drives: {detail}"),
                }));
            }
        }
        running.launched_in = started.elapsed();
        // The pool's appliance may be another job's; its phases do not describe this one.
        running.phases = None;
        log::debug!(
            "job {jobs} of a reused appliance: drives attached in {:?}",
            running.launched_in
        );
        self.running = Some(running);
        self.leased = Some(Leased {
            lease,
            key,
            jobs,
            attached,
        });
        Ok(())
    }

    /// True between a successful [`Handle::launch`] and [`Handle::shutdown`] (or
    /// [`Handle::kill`]). It does not ask the appliance: one that died is noticed by the next
    /// call, or by [`Handle::forget_if_dead`].
    pub fn is_launched(&self) -> bool {
        self.running.is_some()
    }

    /// The accelerator the running appliance uses (what `auto` chose); `None` before launch.
    pub fn accelerator(&self) -> Option<Accelerator> {
        self.running.as_ref().map(|r| r.accel)
    }

    /// The running daemon's greeting: its protocol and crate versions, the appliance
    /// kernel's release, how many drives it found; `None` before launch.
    pub fn hello(&self) -> Option<&Hello> {
        self.running.as_ref().map(|r| &r.hello)
    }

    /// The rescue console of an appliance launched with [`LaunchConfig::rescue`], once: the
    /// connection to the shell's port, spoken in [`guestwright_protocol::rescue`]'s frames.
    /// The shell starts when `Start` is sent on it; the handle keeps serving calls meanwhile.
    pub fn take_rescue_console(&mut self) -> Option<std::os::unix::net::UnixStream> {
        self.running.as_mut()?.rescue.take()
    }

    /// How long [`Handle::launch`] took (preparing the appliance, starting or restoring it,
    /// and waiting for the daemon's greeting); `None` before launch.
    pub fn launch_time(&self) -> Option<Duration> {
        self.running.as_ref().map(|r| r.launched_in)
    }

    /// Where [`Handle::launch`]'s time went: preparing, QEMU's start, the restore of a saved
    /// appliance and the wait for the daemon; `None` before launch, and on a pool's
    /// appliance (`guestwright batch`), which may have been started for another job.
    pub fn launch_phases(&self) -> Option<launch::LaunchPhases> {
        self.running.as_ref().and_then(|r| r.phases)
    }

    /// True when the running appliance was restored from a saved one rather than booted
    /// (see [`crate::snapshot`]).
    pub fn restored(&self) -> bool {
        self.running.as_ref().is_some_and(|r| r.restored)
    }

    /// The last `lines` lines of the appliance's console (kernel and daemon messages, QEMU's
    /// stderr), escaped so they cannot drive a terminal; empty before launch. The errors for
    /// a dead or silent appliance already carry the last 20.
    pub fn console_tail(&self, lines: usize) -> String {
        self.running
            .as_ref()
            .map(|r| r.console.tail(lines))
            .unwrap_or_default()
    }

    /// Bytes that went through the transfer disk rather than the channel, uploads and
    /// downloads together (for diagnostics and tests: bulk data should go this way).
    pub fn transfer_disk_bytes(&self) -> u64 {
        self.running
            .as_ref()
            .map_or(0, |r| r.channel.transfer_disk_bytes())
    }

    /// The QEMU process id, for tests and diagnostics; `None` before launch. The handle owns
    /// the process: killing it yourself makes the next call fail with
    /// [`Error::ApplianceDied`].
    pub fn qemu_pid(&self) -> Option<u32> {
        self.running.as_ref().map(|r| r.child.id())
    }

    /// A way to cancel the calls in flight from another thread (a Ctrl-C handler); `None`
    /// before launch. It stays tied to this appliance: after a new launch, get a new one.
    pub fn canceller(&self) -> Option<Canceller> {
        self.running.as_ref().map(|r| Canceller {
            channel: r.channel.clone(),
        })
    }

    /// Sets (or with `None` clears) the function that receives the progress of long
    /// operations that report it (transfers, copies, mkfs): the request id and a [`Progress`] with bytes done
    /// and total. It runs on the channel's reader thread, so it must return quickly. It
    /// applies to the running appliance only: set it after [`Handle::launch`] (before
    /// launch it does nothing).
    ///
    /// [`Progress`]: guestwright_protocol::Progress
    pub fn set_progress_callback(&self, callback: Option<ProgressFn>) {
        if let Some(r) = &self.running {
            r.channel.set_progress(callback);
        }
    }

    /// Unmounts everything, flushes every disk, stops the appliance and waits for QEMU to
    /// exit; then flushes the images on the host. Success means every write the appliance
    /// acknowledged is in the image files.
    pub fn shutdown(&mut self) -> Result<()> {
        if self.running.is_none() {
            return Ok(());
        }
        self.trace_line(format_args!("shutdown"));
        let r = self.shutdown_untraced();
        self.trace_result("shutdown", r.as_ref().map(|()| "0".into()));
        r
    }

    fn shutdown_untraced(&mut self) -> Result<()> {
        let Some(r) = self.running.take() else {
            return Ok(());
        };
        match self.leased.take() {
            Some(leased) => self.end_leased(r, leased),
            None => self.power_off(r),
        }
    }

    /// Ends a job on a pool slot's appliance: the daemon takes the job down and checks that
    /// nothing of it remains, the images are detached and fsynced, and the appliance goes
    /// back to the slot. An appliance that is not clean, or that the images could not be
    /// detached from, is powered off instead (which flushes as a shutdown does), and the
    /// slot's next job gets a new one.
    fn end_leased(&mut self, mut r: Running, leased: Leased) -> Result<()> {
        let Leased {
            lease,
            key,
            jobs,
            attached,
        } = leased;
        let released = r.channel.call(
            &Request::DrivesRelease(guestwright_protocol::args::DrivesRelease {}),
            CallStream::None,
        );
        if let Err(e) = released {
            log::info!(
                "the appliance is replaced after this job: {}",
                describe_call_error(&e)
            );
            lease.give_back(None);
            return self.power_off(r);
        }
        let detached = match r.monitor.as_mut() {
            Some(m) => crate::slots::detach(m, attached),
            None => Err("the appliance has no monitor".into()),
        };
        let mut problems = Vec::new();
        let mut io_error = None;
        match detached {
            Ok(()) => {
                r.channel.set_progress(None);
                lease.give_back(Some(crate::pool::Kept::new(key, r, jobs)));
            }
            Err(e) => {
                problems.push(format!("cannot detach the images from the appliance: {e}"));
                lease.give_back(None);
                let console = r.console.tail(20);
                // QEMU is killed: the guest flushed every disk before the release.
                drop(r);
                self.fsync_images(&mut problems, &mut io_error);
                return Err(Error::Shutdown {
                    detail: problems.join("; "),
                    console,
                    source: io_error,
                });
            }
        }
        self.fsync_images(&mut problems, &mut io_error);
        if problems.is_empty() {
            Ok(())
        } else {
            Err(Error::Shutdown {
                detail: problems.join("; "),
                console: String::new(),
                source: io_error,
            })
        }
    }

    /// The host's half of making writes durable: fsync every writable image file.
    fn fsync_images(&self, problems: &mut Vec<String>, io_error: &mut Option<std::io::Error>) {
        // The appliance flushed to QEMU and QEMU flushed to the files; make it durable.
        // (A network drive was flushed to its server by QEMU; there is no host file.)
        for d in self
            .drives
            .iter()
            .filter(|d| !d.readonly && d.remote().is_none())
        {
            if let Err(e) = std::fs::File::open(d.path()).and_then(|f| f.sync_all()) {
                problems.push(format!("cannot fsync {}", d.path().display()));
                io_error.get_or_insert(e);
            }
        }
    }

    /// Unmounts, flushes and powers the appliance off, waits for QEMU, fsyncs the images.
    fn power_off(&mut self, mut r: Running) -> Result<()> {
        let started = Instant::now();
        let reply = r.channel.call(
            &Request::Poweroff(guestwright_protocol::args::Poweroff {}),
            CallStream::None,
        );
        let exit = wait_exit(&mut r.child, EXIT_TIMEOUT);
        r.channel.close("the appliance was shut down");
        let console = r.console.tail(20);
        let mut problems = Vec::new();
        let mut io_error = None;
        if let Err(e) = reply {
            problems.push(format!(
                "the appliance could not flush the disks: {}",
                describe_call_error(&e)
            ));
        }
        match exit {
            Some(status) if status.success() => {}
            Some(status) => problems.push(format!("QEMU exited with {status}")),
            None => problems.push(format!(
                "QEMU did not exit within {EXIT_TIMEOUT:?} and was killed"
            )),
        }
        self.fsync_images(&mut problems, &mut io_error);
        log::debug!("shutdown took {:?}", started.elapsed());
        if problems.is_empty() {
            Ok(())
        } else {
            Err(Error::Shutdown {
                detail: problems.join("; "),
                console,
                source: io_error,
            })
        }
    }

    /// Kills QEMU at once, without flushing anything: writes the appliance had not flushed
    /// are lost, and a read-write image is left as after a power cut. For crash tests and for
    /// giving up on an appliance that does not answer; does nothing when not launched.
    pub fn kill(&mut self) {
        if let Some(mut r) = self.running.take() {
            let _ = r.child.kill();
            let _ = r.child.wait();
            r.channel.close("the appliance was killed");
        }
        if let Some(leased) = self.leased.take() {
            leased.lease.give_back(None);
        }
    }

    /// If the appliance died (QEMU exited or was killed, or the channel broke) while this
    /// handle still holds it, forgets it, reaping QEMU, and returns what happened; the
    /// handle is then not launched and [`Handle::launch`] starts a new appliance with the
    /// same drives. Returns `None` when it is running, or was never launched.
    pub fn forget_if_dead(&mut self) -> Option<String> {
        let r = self.running.as_mut()?;
        let exited = match r.child.try_wait() {
            Ok(Some(status)) => Some(format!("QEMU exited with {status}")),
            Ok(None) => None,
            Err(e) => Some(format!("cannot check the QEMU process: {e}")),
        };
        let reason = match (exited, r.channel.closed_reason()) {
            (Some(e), _) => e,
            (None, Some(closed)) => closed,
            (None, None) => return None,
        };
        self.kill();
        Some(reason)
    }

    fn running(&self) -> Result<&Running> {
        self.running.as_ref().ok_or(Error::NotLaunched)
    }
}

fn wait_exit(child: &mut Child, timeout: Duration) -> Option<std::process::ExitStatus> {
    let deadline = Instant::now() + timeout;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Some(status),
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(5)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
        }
    }
}

fn describe_call_error(e: &CallError) -> String {
    match e {
        CallError::Remote(r) => r.to_string(),
        CallError::Closed(reason) => reason.clone(),
        CallError::Channel(e) => format!("cannot write to the channel: {e}"),
        CallError::Timeout(t) => format!("no answer for {t:?}"),
        CallError::Stream(e) => e.to_string(),
        CallError::Protocol(p) => p.clone(),
    }
}

/// libguestfs's words for a call whose optional group is missing (`selinux_relabel`).
const SELINUXRELABEL_MISSING: &str = "selinux_relabel: feature 'selinuxrelabel' is not \
     available in this\nbuild of libguestfs.  Read 'AVAILABILITY' in the guestfs(3) man page \
     for\nhow to check for the availability of features.";

impl Client for Handle {
    type Error = Error;

    fn call(&self, request: Request, stream: CallStream<'_>) -> Result<Vec<u8>> {
        if !self.trace {
            return self.call_untraced(request, stream);
        }
        let summary = request.summary();
        let name = summary.split(' ').next().unwrap_or_default().to_owned();
        self.trace_line(format_args!("{summary}"));
        let r = self.call_untraced(request, stream);
        // The reply is still encoded here: `()` encodes to nothing.
        self.trace_result(
            &name,
            r.as_ref().map(|b| match b.len() {
                0 => "0".to_owned(),
                n => format!("<{n} bytes>"),
            }),
        );
        r
    }

    fn decode_reply<T: serde::de::DeserializeOwned>(&self, bytes: &[u8]) -> Result<T> {
        guestwright_protocol::codec::decode(bytes).map_err(|e| Error::Protocol {
            operation: "decode".into(),
            detail: e.to_string(),
        })
    }
}

impl Handle {
    pub(crate) fn call_untraced(
        &self,
        request: Request,
        stream: CallStream<'_>,
    ) -> Result<Vec<u8>> {
        // The host derives LUKS keys itself when it can (`luks.rs`); `()` encodes to nothing.
        if self.luks_open_intercepted(&request) {
            return Ok(Vec::new());
        }
        let r = self.running()?;
        if matches!(request, Request::SelinuxRelabel(_)) {
            // libguestfs 1.48 on Debian lacks the `selinuxrelabel` group; its library refuses
            // the call before the daemon sees it, with these three lines.
            return Err(Error::Remote {
                operation: request.summary(),
                source: guestwright_protocol::RemoteError::new(
                    guestwright_protocol::Errno::EOPNOTSUPP,
                    SELINUXRELABEL_MISSING,
                ),
            });
        }
        r.channel.call(&request, stream).map_err(|e| match e {
            CallError::Remote(mut source) => {
                // The message may hold guest names: one line, no terminal controls.
                source.message = crate::error::escape_controls(&source.message);
                Error::Remote {
                    operation: request.summary(),
                    source,
                }
            }
            CallError::Closed(reason) => {
                // Let the console catch the appliance's last words.
                std::thread::sleep(Duration::from_millis(50));
                Error::ApplianceDied {
                    operation: request.summary(),
                    reason,
                    console: r.console.tail(20),
                }
            }
            CallError::Timeout(after) => Error::Timeout {
                operation: request.summary(),
                after,
                console: r.console.tail(20),
            },
            // The other end is gone: the appliance died, whichever side noticed first.
            CallError::Channel(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::BrokenPipe
                        | std::io::ErrorKind::ConnectionReset
                        | std::io::ErrorKind::NotConnected
                ) =>
            {
                std::thread::sleep(Duration::from_millis(50));
                Error::ApplianceDied {
                    operation: request.summary(),
                    reason: r
                        .channel
                        .closed_reason()
                        .unwrap_or_else(|| format!("the channel broke: {e}")),
                    console: r.console.tail(20),
                }
            }
            CallError::Channel(source) => Error::Channel {
                operation: request.summary(),
                source,
            },
            CallError::Stream(source) => Error::Transfer {
                operation: request.summary(),
                source,
            },
            CallError::Protocol(detail) => Error::Protocol {
                operation: request.summary(),
                detail,
            },
        })
    }
}

impl From<guestwright_protocol::codec::CodecError> for Error {
    fn from(e: guestwright_protocol::codec::CodecError) -> Self {
        Error::Protocol {
            operation: "decode".into(),
            detail: e.to_string(),
        }
    }
}

impl Drop for Handle {
    fn drop(&mut self) {
        if self.running.is_some() {
            if let Err(e) = self.shutdown() {
                log::warn!("{}", crate::error::chain(&e));
            }
        }
    }
}

/// Paths of the images of a handle (for messages).
pub fn image_paths(h: &Handle) -> Vec<PathBuf> {
    h.drives.iter().map(|d| d.path().to_path_buf()).collect()
}
