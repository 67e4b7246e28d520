//! Launching by restoring a saved appliance instead of booting one.
//!
//! Under TCG most of a launch is the guest kernel's own start (about 1.5-2 s here). The
//! kernel's work does not depend on the drives, so it is done once: an appliance boots with
//! the device layout every launch will have ([`qemu::SNAPSHOT_SLOTS`] drive slots, empty,
//! then the extras and transfer disks), its daemon loads the channel's modules and the disk
//! driver, bound to no disk, and stops (`FrameKind::Parked`); QEMU saves the VM to a file in
//! the appliance's cache entry (`migrate` to `file:` with `mapped-ram`: every page at its own
//! offset, the file sparse). A launch then starts QEMU with the same layout, the user's
//! drives in the first slots, restores the file with `-incoming`, and sends the daemon a
//! `Resume`: how many drives there are, fresh random bytes and the host's clock. The
//! daemon then binds the disk driver to the slots holding drives, which probes the drives
//! this QEMU has (the extras and transfer disks when first used; see the daemon's `vblk`).
//!
//! The file's name is a hash of everything a restore must match: the QEMU binary, the
//! appliance (kernel, modules, daemon; its cache entry's name), the accelerator, machine,
//! memory, CPUs and the kernel command line. Saving writes a temporary file and renames it,
//! so a reader sees a whole state or none. A state that does not restore is removed, and
//! the launch boots instead, with a warning; never an error.
//!
//! A launch with a network restores a state saved with QEMU's user-mode network device in
//! its layout (a state of its own: the command line differs); the daemon parks before it
//! would bring the network up, and brings it up on resume.
//!
//! Launches that need another layout boot as before: more drives than the slots, or a
//! machine other than microvm.
//!
//! ```
//! use guestwright::qemu::Machine;
//! use guestwright::{snapshot, LaunchConfig};
//!
//! let mut config = LaunchConfig::default();
//! assert!(snapshot::usable(&[], &config, Machine::Microvm));
//! config.network = true; // a state of its own, with the network device
//! assert!(snapshot::usable(&[], &config, Machine::Microvm));
//! assert!(!snapshot::usable(&[], &LaunchConfig::default(), Machine::Q35));
//! ```

use crate::drive::Drive;
use crate::launch::{self, Booted, LaunchConfig, LaunchError, Restore, Role};
use crate::qemu::{self, Accelerator, Machine};
use guestwright_protocol::{FrameKind, Resume};
use sha2::{Digest, Sha256};
use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::MetadataExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Why a launch from a saved appliance did not happen (the caller boots instead).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SnapshotError {
    /// Saving a booted appliance failed.
    #[error("cannot save the booted appliance to {}: {detail}", path.display())]
    Save {
        /// The state's file.
        path: PathBuf,
        /// What went wrong.
        detail: String,
    },
    /// The restore or the restored appliance failed; the state was removed.
    #[error("the saved appliance {} did not restore, so it was removed: {source}", path.display())]
    Restore {
        /// The state's file.
        path: PathBuf,
        /// Why.
        source: LaunchError,
    },
    /// Starting QEMU failed in a way a boot would share.
    #[error(transparent)]
    Launch(LaunchError),
    /// An earlier save of this state failed recently (this QEMU may be unable to save, as
    /// QEMU before 9.0 is, having no `mapped-ram`), so this launch boots without trying.
    #[error("not saving the booted appliance: the last try failed ({reason}); remove {} to try again", marker.display())]
    EarlierSaveFailed {
        /// The file that records the failure.
        marker: PathBuf,
        /// What the failure was.
        reason: String,
    },
}

/// How long a failed save keeps launches from trying again. The state's name changes with
/// the QEMU binary and the appliance, so an upgrade retries at once; this covers a failure
/// that was the machine's at the time (a full disk, a deadline under load).
const RETRY_SAVE_AFTER: Duration = Duration::from_secs(24 * 3600);

/// True when this launch can come from a saved appliance.
pub fn usable(drives: &[Drive], config: &LaunchConfig, machine: Machine) -> bool {
    // A rescue console's port is not in the saved device layout.
    config.snapshot
        && !config.rescue
        && machine == Machine::Microvm
        && drives.len() <= qemu::SNAPSHOT_SLOTS
}

/// The `Resume` a restored appliance gets.
pub(crate) fn resume_for(drives: usize, verbose: bool) -> Resume {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let mut seed = vec![0u8; 64];
    rand::Rng::fill(&mut rand::rng(), &mut seed[..]);
    Resume {
        drives: drives as u32,
        verbose,
        seed,
        unix_time: (now.as_secs() as i64, now.subsec_nanos()),
    }
}

/// The saved appliance for one launch's QEMU, appliance and settings.
#[derive(Debug)]
pub struct Saved {
    path: PathBuf,
    accel: Accelerator,
    machine: Machine,
}

impl Saved {
    /// Names the state for these settings (it need not exist yet).
    pub fn new(
        config: &LaunchConfig,
        binary: &Path,
        appliance: &guestwright_appliance::Appliance,
        accel: Accelerator,
        machine: Machine,
    ) -> Result<Saved, SnapshotError> {
        let meta = std::fs::metadata(binary).map_err(|e| {
            SnapshotError::Launch(LaunchError::Spawn {
                binary: binary.to_path_buf(),
                source: e,
            })
        })?;
        // What the restore must match; the command line as a save would have it.
        let probe = qemu::QemuConfig {
            binary: binary.to_path_buf(),
            accel,
            machine,
            kernel: appliance.kernel.clone(),
            initrd: appliance.initrd.clone(),
            memory_mib: config.memory_mib,
            smp: config.smp.max(1),
            channel_socket: PathBuf::new(),
            drives: Vec::new(),
            block_sizes: Vec::new(),
            fdsets: Vec::new(),
            extras: Some(appliance.extras.clone()),
            verbose: false,
            network: config.network,
            xfer: None,
            snapshot: Some(qemu::SnapshotRole::Restore {
                index: 0,
                qmp_socket: PathBuf::new(),
            }),
            slots: false,
            monitor: None,
            rescue_socket: None,
        };
        let mut h = Sha256::new();
        h.update(b"guestwright saved appliance 1\0");
        h.update(binary.as_os_str().as_encoded_bytes());
        h.update(
            format!(
                "\0{} {} {} {}\0",
                meta.len(),
                meta.mtime(),
                meta.mtime_nsec(),
                meta.ino()
            )
            .as_bytes(),
        );
        h.update(appliance.dir.as_os_str().as_encoded_bytes());
        h.update(
            format!(
                "\0{} {:?} {} {} {}\0",
                accel.name(),
                machine,
                config.memory_mib,
                config.smp.max(1),
                qemu::SNAPSHOT_SLOTS
            )
            .as_bytes(),
        );
        h.update(qemu::kernel_cmdline(&probe).as_bytes());
        let key: String = h.finalize()[..12]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        Ok(Saved {
            path: appliance.dir.join(format!("saved-{key}.vmstate")),
            accel,
            machine,
        })
    }

    /// The state's file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Launches from the saved state, saving one first when there is none.
    pub fn launch(
        self,
        drives: &[Drive],
        config: &LaunchConfig,
        binary: &Path,
        appliance: &guestwright_appliance::Appliance,
        deadline: Duration,
        slots: bool,
    ) -> Result<Booted, SnapshotError> {
        let file = match File::open(&self.path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                if let Some(reason) = self.earlier_failure() {
                    return Err(SnapshotError::EarlierSaveFailed {
                        marker: self.failure_marker(),
                        reason,
                    });
                }
                if let Err(e) = self.save(config, binary, appliance, deadline) {
                    if matches!(e, SnapshotError::Save { .. }) {
                        self.record_failure(&e);
                    }
                    return Err(e);
                }
                File::open(&self.path).map_err(|e| SnapshotError::Save {
                    path: self.path.clone(),
                    detail: e.to_string(),
                })?
            }
            Err(e) => {
                return Err(SnapshotError::Save {
                    path: self.path.clone(),
                    detail: e.to_string(),
                })
            }
        };
        let t = Instant::now();
        let mut qmp = Monitor::new().map_err(|detail| SnapshotError::Save {
            path: self.path.clone(),
            detail,
        })?;
        let restore = Restore {
            file: &file,
            path: &self.path,
            qmp: &mut qmp,
        };
        // A restore takes a fraction of a boot; a state that has not answered by the time
        // a boot would have is not going to.
        let limit = deadline.min(Duration::from_secs(30));
        match launch::boot(
            drives,
            config,
            binary,
            appliance,
            self.accel,
            self.machine,
            limit,
            Some(restore),
            slots,
        ) {
            Ok(mut b) => {
                log::debug!(
                    "appliance restored from {} in {:?}",
                    self.path.display(),
                    t.elapsed()
                );
                if slots {
                    // Its drive slots are re-pointed over this monitor.
                    b.monitor = Some(qmp);
                }
                Ok(b)
            }
            Err(e @ (LaunchError::Stopped | LaunchError::ImageInUse { .. })) => {
                Err(SnapshotError::Launch(e))
            }
            Err(source) => {
                let _ = std::fs::remove_file(&self.path);
                Err(SnapshotError::Restore {
                    path: self.path.clone(),
                    source,
                })
            }
        }
    }

    /// The file that records a failed save of this state.
    fn failure_marker(&self) -> PathBuf {
        self.path.with_extension("save-failed")
    }

    /// Why the last save of this state failed, if it did less than [`RETRY_SAVE_AFTER`] ago.
    fn earlier_failure(&self) -> Option<String> {
        let marker = self.failure_marker();
        let age = std::fs::metadata(&marker)
            .and_then(|m| m.modified())
            .ok()?
            .elapsed()
            .unwrap_or_default();
        if age >= RETRY_SAVE_AFTER {
            let _ = std::fs::remove_file(&marker);
            return None;
        }
        let reason = std::fs::read_to_string(&marker).unwrap_or_default();
        Some(reason.trim().chars().take(500).collect())
    }

    /// Records that saving failed, so the next launches boot without trying (and without
    /// warning) until [`RETRY_SAVE_AFTER`] has passed.
    fn record_failure(&self, e: &SnapshotError) {
        if let Err(err) = std::fs::write(self.failure_marker(), format!("{e}\n")) {
            log::debug!("cannot record the failed save: {err}");
        }
    }

    /// Boots an appliance parked before its drives and saves it to the state's file
    /// (written under a temporary name, then renamed).
    fn save(
        &self,
        config: &LaunchConfig,
        binary: &Path,
        appliance: &guestwright_appliance::Appliance,
        deadline: Duration,
    ) -> Result<(), SnapshotError> {
        let t = Instant::now();
        let fail = |detail: String| SnapshotError::Save {
            path: self.path.clone(),
            detail,
        };
        let dir = self.path.parent().unwrap_or(Path::new("."));
        remove_abandoned_saves(dir);
        let tmp = tempfile::Builder::new()
            .prefix(".saving-")
            .tempfile_in(dir)
            .map_err(|e| fail(format!("cannot create a file in {}: {e}", dir.display())))?;
        let qmp = Monitor::new().map_err(fail)?;
        let qmp_socket = qmp.socket();
        let quiet = LaunchConfig {
            verbose: false,
            ..config.clone()
        };
        // QEMU wants a descriptor opened exactly write-only for a migration to a file.
        let out = File::options()
            .write(true)
            .open(tmp.path())
            .map_err(|e| fail(e.to_string()))?;
        let up = launch::start(
            &[],
            &quiet,
            binary,
            appliance,
            self.accel,
            self.machine,
            deadline,
            false,
            Role::Save {
                qmp_socket: &qmp_socket,
                file: &out,
                path: tmp.path(),
            },
        )
        .map_err(|e| match e {
            e @ LaunchError::Stopped => SnapshotError::Launch(e),
            e => fail(e.to_string()),
        })?;
        if up.frame.kind != FrameKind::Parked {
            let kind = up.frame.kind;
            let _ = up.fail(LaunchError::Stopped);
            return Err(fail(format!("the appliance sent {kind:?}, not Parked")));
        }
        let mut up = up;
        let saved = qmp.save(Instant::now() + deadline);
        // QEMU quits after a save; wait for it either way.
        let _ = up.child.kill();
        let _ = up.child.wait();
        saved.map_err(fail)?;
        tmp.as_file().sync_all().map_err(|e| fail(e.to_string()))?;
        tmp.persist(&self.path)
            .map_err(|e| fail(e.error.to_string()))?;
        log::debug!(
            "saved the booted appliance to {} in {:?}",
            self.path.display(),
            t.elapsed()
        );
        Ok(())
    }
}

/// Removes the temporary files of saves that were killed (a save of a few seconds that
/// has not finished in ten minutes never will).
fn remove_abandoned_saves(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let old = entry
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age > Duration::from_secs(600));
        if old
            && entry
                .file_name()
                .as_encoded_bytes()
                .starts_with(b".saving-")
        {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// The socket a launch's QEMU connects its QMP monitor to, and the connection once it has.
pub struct Monitor {
    dir: tempfile::TempDir,
    listener: UnixListener,
    /// Kept for an appliance whose drive slots are re-pointed (see [`crate::slots`]).
    conn: Option<Qmp>,
}

/// How long one monitor command may take.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(30);

impl std::fmt::Debug for Monitor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Monitor")
            .field("dir", &self.dir.path())
            .finish()
    }
}

impl Monitor {
    pub(crate) fn new() -> Result<Monitor, String> {
        let dir = tempfile::Builder::new()
            .prefix("guestwright-qmp-")
            .tempdir()
            .map_err(|e| format!("cannot create a directory for QEMU's monitor: {e}"))?;
        let listener = UnixListener::bind(dir.path().join("qmp"))
            .and_then(|l| l.set_nonblocking(true).map(|()| l))
            .map_err(|e| format!("cannot listen for QEMU's monitor: {e}"))?;
        Ok(Monitor {
            dir,
            listener,
            conn: None,
        })
    }

    /// Where QEMU connects.
    pub fn socket(&self) -> PathBuf {
        self.dir.path().join("qmp")
    }

    fn connect(&self, limit: Instant) -> Result<Qmp, String> {
        let stream = loop {
            match self.listener.accept() {
                Ok((s, _)) => break s,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(format!("QMP: {e}")),
            }
            if Instant::now() > limit {
                return Err("QEMU did not connect its monitor".into());
            }
            std::thread::sleep(Duration::from_millis(1));
        };
        stream.set_nonblocking(false).map_err(|e| e.to_string())?;
        let mut qmp = Qmp::new(stream, limit)?;
        qmp.execute(r#"{"execute":"qmp_capabilities"}"#)?;
        Ok(qmp)
    }

    /// Accepts QEMU's connection and keeps it for [`Monitor::execute`].
    pub(crate) fn keep_connection(&mut self, limit: Instant) -> Result<(), String> {
        if self.conn.is_none() {
            self.conn = Some(self.connect(limit)?);
        }
        Ok(())
    }

    /// Runs one command on the kept connection, `fd` attached when given (`add-fd`).
    pub(crate) fn execute(
        &mut self,
        command: &serde_json::Value,
        fd: Option<std::os::fd::BorrowedFd<'_>>,
    ) -> Result<serde_json::Value, String> {
        let qmp = self
            .conn
            .as_mut()
            .ok_or("QEMU's monitor is not connected")?;
        qmp.limit = Instant::now() + COMMAND_TIMEOUT;
        match fd {
            None => qmp.execute(&command.to_string()),
            Some(fd) => qmp.execute_with_fd(&command.to_string(), fd),
        }
    }

    /// Waits until the restored VM runs; the connection is kept.
    pub(crate) fn wait_running(&mut self, limit: Instant) -> Result<(), String> {
        self.keep_connection(limit)?;
        let qmp = self.conn.as_mut().expect("connected above");
        qmp.limit = limit;
        loop {
            let reply = qmp.execute(r#"{"execute":"query-status"}"#)?;
            match reply["return"]["status"].as_str().unwrap_or("") {
                "running" => return Ok(()),
                // Saved stopped, so loaded stopped.
                "paused" => {
                    qmp.execute(r#"{"execute":"cont"}"#)?;
                }
                "inmigrate" | "prelaunch" => {}
                other => return Err(format!("the restored VM is {other}")),
            }
            if Instant::now() > limit {
                return Err("the saved state took too long to load".into());
            }
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    /// Stops the VM and saves it to fd set 1 (the state's file).
    fn save(&self, limit: Instant) -> Result<(), String> {
        let mut qmp = self.connect(limit)?;
        qmp.execute(r#"{"execute":"stop"}"#)?;
        qmp.execute(&format!(
            r#"{{"execute":"migrate","arguments":{{"uri":"file:{}"}}}}"#,
            qemu::fdset_name(0)
        ))?;
        loop {
            let reply = qmp.execute(r#"{"execute":"query-migrate"}"#)?;
            match reply["return"]["status"].as_str().unwrap_or("") {
                "completed" => break,
                "failed" | "cancelled" => {
                    return Err(format!(
                        "QEMU: {}",
                        reply["return"]["error-desc"]
                            .as_str()
                            .unwrap_or("the save failed")
                    ))
                }
                _ if Instant::now() > limit => return Err("the save took too long".into()),
                _ => std::thread::sleep(Duration::from_millis(5)),
            }
        }
        let _ = qmp.execute(r#"{"execute":"quit"}"#);
        Ok(())
    }
}

/// A QMP connection: one command at a time; events are skipped.
struct Qmp {
    reader: BufReader<UnixStream>,
    writer: UnixStream,
    limit: Instant,
}

impl Qmp {
    fn new(stream: UnixStream, limit: Instant) -> Result<Qmp, String> {
        let writer = stream.try_clone().map_err(|e| e.to_string())?;
        let mut q = Qmp {
            reader: BufReader::new(stream),
            writer,
            limit,
        };
        let greeting = q.line()?;
        if greeting.get("QMP").is_none() {
            return Err(format!("QMP: unexpected greeting {greeting}"));
        }
        Ok(q)
    }

    fn line(&mut self) -> Result<serde_json::Value, String> {
        let left = self.limit.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err("QEMU's monitor did not answer in time".into());
        }
        let _ = self.reader.get_ref().set_read_timeout(Some(left));
        let mut line = String::new();
        match self.reader.read_line(&mut line) {
            Ok(0) => Err("QEMU closed its monitor".into()),
            Ok(_) => serde_json::from_str(&line).map_err(|e| format!("QMP: {e}: {line}")),
            Err(e) => Err(format!("QMP: {e}")),
        }
    }

    fn execute(&mut self, command: &str) -> Result<serde_json::Value, String> {
        self.writer
            .write_all(format!("{command}\n").as_bytes())
            .map_err(|e| format!("QMP: {e}"))?;
        self.reply(command)
    }

    /// As [`Qmp::execute`], with a descriptor attached to the command's bytes.
    fn execute_with_fd(
        &mut self,
        command: &str,
        fd: std::os::fd::BorrowedFd<'_>,
    ) -> Result<serde_json::Value, String> {
        crate::sys::send_with_fd(&self.writer, format!("{command}\n").as_bytes(), fd)
            .map_err(|e| format!("QMP: {e}"))?;
        self.reply(command)
    }

    fn reply(&mut self, command: &str) -> Result<serde_json::Value, String> {
        loop {
            let v = self.line()?;
            if v.get("event").is_some() {
                continue;
            }
            if let Some(err) = v.get("error") {
                return Err(format!(
                    "QEMU refused {command}: {}",
                    err["desc"].as_str().unwrap_or("no reason given")
                ));
            }
            return Ok(v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn appliance(dir: &str) -> guestwright_appliance::Appliance {
        guestwright_appliance::Appliance {
            kernel: format!("{dir}/vmlinux").into(),
            boot: guestwright_appliance::BootProtocol::Pvh,
            initrd: format!("{dir}/initrd").into(),
            extras: format!("{dir}/extras").into(),
            kernel_release: "6.1.0-test".into(),
            carried: Vec::new(),
            dir: dir.into(),
        }
    }

    #[test]
    fn the_state_is_named_by_everything_a_restore_must_match() {
        let config = LaunchConfig::default();
        let qemu = Path::new("/bin/sh");
        let name = |c: &LaunchConfig, q: &Path, dir: &str, accel| {
            Saved::new(c, q, &appliance(dir), accel, Machine::Microvm)
                .unwrap()
                .path()
                .to_path_buf()
        };
        let base = name(&config, qemu, "/cache/appliance-a", Accelerator::Tcg);
        assert!(base.starts_with("/cache/appliance-a"), "{}", base.display());
        assert_eq!(
            base,
            name(&config, qemu, "/cache/appliance-a", Accelerator::Tcg)
        );
        // Another kernel, module set or daemon is another appliance entry.
        assert_ne!(
            base,
            name(&config, qemu, "/cache/appliance-b", Accelerator::Tcg)
        );
        assert_ne!(
            base,
            name(&config, qemu, "/cache/appliance-a", Accelerator::Kvm)
        );
        assert_ne!(
            base,
            name(
                &config,
                Path::new("/bin/ls"),
                "/cache/appliance-a",
                Accelerator::Tcg
            )
        );
        let more_memory = LaunchConfig {
            memory_mib: 1024,
            ..LaunchConfig::default()
        };
        assert_ne!(
            base,
            name(&more_memory, qemu, "/cache/appliance-a", Accelerator::Tcg)
        );
        let two_cpus = LaunchConfig {
            smp: 2,
            ..LaunchConfig::default()
        };
        assert_ne!(
            base,
            name(&two_cpus, qemu, "/cache/appliance-a", Accelerator::Tcg)
        );
    }

    #[test]
    fn a_failed_save_is_not_retried_for_a_day() {
        let dir = tempfile::tempdir().unwrap();
        let saved = Saved::new(
            &LaunchConfig::default(),
            Path::new("/bin/sh"),
            &appliance(&dir.path().to_string_lossy()),
            Accelerator::Tcg,
            Machine::Microvm,
        )
        .unwrap();
        assert_eq!(saved.earlier_failure(), None);
        saved.record_failure(&SnapshotError::Save {
            path: saved.path().to_path_buf(),
            detail: "Parameter 'mapped-ram' is unexpected".into(),
        });
        let reason = saved.earlier_failure().expect("the failure is remembered");
        assert!(reason.contains("mapped-ram"), "{reason}");
        let marker = saved.failure_marker();
        assert!(marker.starts_with(dir.path()));
        // A day later the next launch tries again.
        let old = std::time::SystemTime::now() - RETRY_SAVE_AFTER - Duration::from_secs(1);
        File::options()
            .write(true)
            .open(&marker)
            .unwrap()
            .set_modified(old)
            .unwrap();
        assert_eq!(saved.earlier_failure(), None);
        assert!(!marker.exists());
    }

    #[test]
    fn launches_that_need_another_layout_boot_and_a_network_does_not() {
        let config = LaunchConfig::default();
        assert!(usable(&[], &config, Machine::Microvm));
        assert!(!usable(&[], &config, Machine::Q35));
        let network = LaunchConfig {
            network: true,
            ..LaunchConfig::default()
        };
        // A network is in the saved layout (a state of its own, see the command line).
        assert!(usable(&[], &network, Machine::Microvm));
        let off = LaunchConfig {
            snapshot: false,
            ..LaunchConfig::default()
        };
        assert!(!usable(&[], &off, Machine::Microvm));
    }

    #[test]
    fn every_resume_has_its_own_random_bytes_and_the_clock_of_now() {
        let (a, b) = (resume_for(2, false), resume_for(2, false));
        assert_eq!(a.seed.len(), 64);
        assert_ne!(a.seed, b.seed);
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        assert!((a.unix_time.0 - now).abs() <= 1);
        assert!(
            !format!("{a:?}").contains(&format!("{:?}", a.seed)),
            "the seed never prints"
        );
    }
}
