//! `customize`, `sysprep` and `clone`: make a template image a specific machine, or a machine a
//! template, without booting it.
//!
//! Operations are parsed ([`ops`], [`source`]) into typed [`Operation`]s before anything is
//! started, then run in the order given against the guest that inspection found and mounted
//! read-write ([`apply`]), each producing a [`Step`] of the [`Report`]. File edits are the pure
//! editors of [`crate::edit`]; every write goes through [`guest::Guest`], which compares before
//! writing (a second identical run changes nothing) and replaces files atomically. Around the
//! operations, [`lifecycle`] does what virt-customize does (machine-id, random seed, SELinux
//! relabel marker).
//!
//! A dry run opens the images read-only: the appliance writes into a throw-away overlay, so
//! the operations really run and the diff is exact, and the images' bytes never change.
//!
//! ```no_run
//! use guestwright::customize::{self, Options, Plan, Word};
//!
//! let ops = customize::expand(&[
//!     Word::new("hostname", Some("web01")),
//!     Word::new("root-password", Some("password:hunter2")),
//! ])?;
//! let report = customize::run_images(
//!     &["web01.qcow2".into()],
//!     None,
//!     guestwright::LaunchConfig::default(),
//!     &Plan { operations: ops, ..Plan::default() },
//!     &Options::default(),
//! )?;
//! print!("{}", report.summary());
//! # Ok::<(), guestwright::customize::CustomizeError>(())
//! ```

pub mod apply;
pub mod clone;
pub mod files;
pub mod guest;
pub mod lifecycle;
pub mod ops;
pub mod progress;
pub mod report;
pub mod source;
pub mod sysprep;

use std::path::PathBuf;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

pub use ops::{parse_operation, Operation, OPERATIONS};
pub use progress::{Progress, VirtTool};
pub use report::{Change, Report, Step, Timings};
pub use source::{expand, Word};

use crate::drive::{DriveOptions, Format};
use crate::edit::sysprep::SysprepOperation;
use crate::handle::Handle;
use crate::inspect::OsInfo;
use crate::launch::LaunchConfig;
use guest::{Guest, Ways};

/// Errors of customize, sysprep and clone.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CustomizeError {
    /// No operation has this name.
    #[error("unknown operation {0:?}: `guestwright customize --help` lists them")]
    UnknownOperation(String),
    /// An operation's argument is wrong.
    #[error("invalid --{op}: {reason}")]
    InvalidArgument {
        /// The operation.
        op: String,
        /// What is wrong and what to write instead.
        reason: String,
    },
    /// A host file an operation names cannot be read.
    #[error("cannot read {}", path.display())]
    HostRead {
        /// The host file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A host file cannot be written.
    #[error("cannot write {}", path.display())]
    HostWrite {
        /// The host file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// An operation in a command or TOML file is wrong.
    #[error("{}{}", path.display(), if *line > 0 { format!(", {unit} {line}") } else { String::new() })]
    InFile {
        /// The file.
        path: PathBuf,
        /// `line` (command files) or `operation` (TOML entries).
        unit: &'static str,
        /// Line or entry number from 1; 0 for the whole file.
        line: usize,
        /// What is wrong.
        #[source]
        source: Box<CustomizeError>,
    },
    /// A TOML configuration is malformed.
    #[error("invalid configuration: {reason}")]
    Config {
        /// What is wrong.
        reason: String,
    },
    /// The guest is not as the operation needs it.
    #[error("{0}")]
    Refused(String),
    /// Two `--password` / `--root-password` name the same user (virt-customize's words).
    #[error("multiple --root-password/--password options set the password for user ‘{0}’ twice")]
    PasswordTwice(String),
    /// A call into the appliance failed.
    #[error("{what}")]
    Guest {
        /// What was being done.
        what: String,
        /// The library's error.
        #[source]
        source: crate::Error,
    },
    /// One operation failed (the source says how); the operations before it were applied.
    #[error("{operation} failed")]
    Operation {
        /// The operation, as the report names it.
        operation: String,
        /// Why.
        #[source]
        source: Box<CustomizeError>,
    },
    /// Launching, inspecting or shutting down failed.
    #[error(transparent)]
    Library(#[from] crate::Error),
    /// Inspection found no operating system on the disks (the error says what it saw).
    #[error(transparent)]
    NoOperatingSystem(crate::Error),
}

impl CustomizeError {
    /// True when the command line (or a file it names) is wrong, before any work started:
    /// the CLI exits with status 2 for these.
    pub fn is_usage(&self) -> bool {
        match self {
            CustomizeError::UnknownOperation(_)
            | CustomizeError::InvalidArgument { .. }
            | CustomizeError::Config { .. }
            | CustomizeError::HostRead { .. } => true,
            CustomizeError::InFile { source, .. } => source.is_usage(),
            _ => false,
        }
    }
}

/// How to run.
#[derive(Clone, Copy)]
pub struct Options<'a> {
    /// Open the images read-only and report the diff instead of changing them.
    pub dry_run: bool,
    /// Touch /.autorelabel on SELinux guests when files changed.
    pub selinux_relabel: bool,
    /// Told each phase and operation as it starts.
    pub progress: Option<&'a dyn Fn(Progress<'_>)>,
    /// Do what virt-customize does around the operations, in its order, so that its
    /// progress messages come out as it prints them: a random seed before the operations
    /// on every run (and an empty /etc/machine-id filled) wherever customize runs, sysprep's
    /// `customize` announced. Without it (guestwright's own way) the seed is refreshed after
    /// the operations and only when they changed something, so that a second identical run
    /// changes nothing.
    pub virt_order: bool,
    /// Mount options by guest mountpoint (virt-sysprep's `--mount-options`).
    pub mount_options: &'a [(String, String)],
    /// Trace every call to the appliance on standard error (`-x`, see
    /// [`Handle::set_trace`]).
    pub trace: bool,
}

impl Default for Options<'_> {
    fn default() -> Self {
        Options {
            dry_run: false,
            selinux_relabel: true,
            progress: None,
            virt_order: false,
            mount_options: &[],
            trace: false,
        }
    }
}

impl std::fmt::Debug for Options<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Options")
            .field("dry_run", &self.dry_run)
            .field("selinux_relabel", &self.selinux_relabel)
            .finish_non_exhaustive()
    }
}

impl Options<'_> {
    fn say(&self, step: Progress<'_>) {
        if let Some(p) = self.progress {
            p(step);
        }
    }
}

/// What to do: sysprep operations (in table order) first, then the customize operations in
/// the order given, so what the user adds (an SSH key, a firstboot script) is never removed by
/// a sysprep operation of the same run.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    /// Customize operations, in order.
    pub operations: Vec<Operation>,
    /// Sysprep operations, in the order they run (see
    /// [`crate::edit::sysprep::Selection::ordered`]). When not empty, the customize
    /// operations run only if `customize` is among them, as in virt-sysprep.
    pub sysprep: Vec<&'static SysprepOperation>,
    /// `--keep-user-accounts`, `--remove-user-accounts` for sysprep's `user-account`.
    pub sysprep_users: crate::edit::sysprep::UserAccounts,
}

impl Plan {
    /// True when an operation runs the guest's own programs (`--run`, `--install`, ...): only
    /// then can the appliance's network make a difference, so only then is it started.
    pub fn runs_in_guest(&self) -> bool {
        self.operations.iter().any(|o| {
            matches!(
                o,
                Operation::RunCommand(_)
                    | Operation::Run { .. }
                    | Operation::Install(_)
                    | Operation::Update
                    | Operation::Uninstall(_)
                    | Operation::SmRegister
                    | Operation::SmAttach(_)
                    | Operation::SmRemove
                    | Operation::SmUnregister
            )
        })
    }

    /// Refuses a plan that cannot run, before anything starts: `--sm-register` needs
    /// `--sm-credentials` (anywhere on the command line).
    pub fn check(&self) -> Result<(), CustomizeError> {
        let register = self
            .operations
            .iter()
            .any(|o| matches!(o, Operation::SmRegister));
        if register && self.sm_credentials().is_none() {
            return Err(CustomizeError::InvalidArgument {
                op: "sm-register".into(),
                reason: "subscription-manager credentials are required: add \
                         --sm-credentials USER:password:PASSWORD (or USER:file:FILE)"
                    .into(),
            });
        }
        Ok(())
    }

    /// The first user that two `--password` / `--root-password` name, if any (the run
    /// refuses the second of them where it stands, as virt-customize does; guestwright's
    /// own command line refuses it before anything starts).
    pub fn user_with_two_passwords(&self) -> Option<&str> {
        let mut seen: Vec<&str> = Vec::new();
        for o in &self.operations {
            if let Operation::Password { user, .. } = o {
                if seen.contains(&user.as_str()) {
                    return Some(user);
                }
                seen.push(user);
            }
        }
        None
    }

    /// The last `--sm-credentials` of the plan.
    pub fn sm_credentials(&self) -> Option<&ops::SmCredentials> {
        self.operations.iter().rev().find_map(|o| match o {
            Operation::SmCredentials(c) => Some(c),
            _ => None,
        })
    }

    /// True when `--selinux-relabel` was given.
    pub fn selinux_relabel(&self) -> bool {
        self.operations
            .iter()
            .any(|o| matches!(o, Operation::SelinuxRelabel))
    }

    /// True when `--no-logfile` was given.
    pub fn no_logfile(&self) -> bool {
        self.operations
            .iter()
            .any(|o| matches!(o, Operation::NoLogfile))
    }
}

fn today() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() / 86_400)
}

/// Runs a plan against a guest that is mounted read-write (or on a dry run's overlay); the
/// steps and the diff go into `report`.
pub fn run_plan(
    h: &Handle,
    os: &OsInfo,
    plan: &Plan,
    opts: &Options<'_>,
    report: &mut Report,
) -> Result<(), CustomizeError> {
    plan.check()?;
    let mut rng = rand::rng();
    let mut g = Guest::new(h, opts.dry_run);
    let mut cx = apply::Context {
        os,
        today: today(),
        generated: Vec::new(),
        crypto: plan
            .operations
            .iter()
            .filter_map(|o| match o {
                Operation::PasswordCrypto(c) => Some(*c),
                _ => None,
            })
            .next_back(),
        sm_credentials: plan.sm_credentials().cloned(),
        network: h.config().network,
        firstboot_count: 0,
        virt: opts.virt_order,
    };
    let sysprep_machine_id = plan.sysprep.iter().any(|o| o.name == "machine-id");
    let customize_enabled =
        plan.sysprep.is_empty() || plan.sysprep.iter().any(|o| o.name == "customize");
    let mut scx = sysprep::SysprepContext {
        users: plan.sysprep_users.clone(),
        ..Default::default()
    };
    let result = (|| {
        // Paths sysprep and the lifecycle steps choose are skipped behind a link; those of
        // an operation the user asked for are refused, unless the user named them.
        g.set_ways(Ways::Skip, "sysprep");
        let table: Vec<&SysprepOperation> = plan
            .sysprep
            .iter()
            .filter(|o| !o.on_devices() && o.name != "customize")
            .copied()
            .collect();
        sysprep::prefetch(&mut g, os, &table);
        for op in table {
            opts.say(Progress::Sysprep(op.name));
            let step =
                sysprep::run(&mut g, os, &mut scx, op).map_err(|e| CustomizeError::Operation {
                    operation: format!("sysprep {}", op.name),
                    source: Box::new(e),
                })?;
            report.steps.push(step);
        }
        g.set_ways(Ways::Skip, "customize");
        let operations: &[Operation] = match customize_enabled {
            true => &plan.operations,
            false => &[],
        };
        if opts.virt_order && customize_enabled {
            // virt-customize's Customize_run.run: a seed on every run, then the machine id,
            // then the operations; sysprep's `customize` (run last) announces it.
            if !plan.sysprep.is_empty() {
                opts.say(Progress::Sysprep("customize"));
            }
            opts.say(Progress::RandomSeed);
            if !lifecycle::random_seed(&mut g, os, &mut rng)? {
                opts.say(Progress::Warning(
                    "random seed could not be set for this type of guest",
                ));
            }
            push_if_changed(report, &mut g, "random-seed");
        }
        // Not after sysprep's machine-id, which emptied the file on purpose (virt-sysprep
        // 1.48's `customize` would fill it again).
        if (!operations.is_empty() || (opts.virt_order && customize_enabled))
            && !sysprep_machine_id
            && lifecycle::machine_id_is_empty(&g)?
        {
            opts.say(Progress::MachineId);
            lifecycle::machine_id(&mut g, &mut rng)?;
            push_if_changed(report, &mut g, "machine-id");
        }
        // Passwords are set after every other operation, as virt-customize sets them: a
        // `--run-command 'useradd bob'` later on the command line still makes the user
        // `--password bob:...` names. Naming one user twice is refused where the second
        // one stands, as there.
        let mut passwords: Vec<&Operation> = Vec::new();
        for op in operations {
            if op.is_setting() {
                continue;
            }
            if let Operation::Password { user, .. } = op {
                if passwords
                    .iter()
                    .any(|p| matches!(p, Operation::Password { user: u, .. } if u == user))
                {
                    return Err(CustomizeError::PasswordTwice(user.clone()));
                }
                passwords.push(op);
                continue;
            }
            opts.say(Progress::Operation(op));
            match op.names_paths() {
                true => g.set_ways(Ways::Follow, "customize"),
                false => g.set_ways(Ways::Refuse, "customize"),
            }
            report
                .steps
                .push(run_operation(&mut g, &mut cx, op, &mut rng)?);
        }
        if !passwords.is_empty() {
            opts.say(Progress::Passwords);
            g.set_ways(Ways::Refuse, "customize");
            for op in passwords {
                report
                    .steps
                    .push(run_operation(&mut g, &mut cx, op, &mut rng)?);
            }
        }
        if scx.update_ca_store {
            opts.say(Progress::UpdateCaStore);
            let warning = sysprep::update_ca_store(h, os);
            // The guest's own command ran: what it changed is unknown here.
            g.forget_all_dirs();
            if let Some(w) = warning {
                log::warn!("{w}");
                report.steps.push(Step {
                    operation: "sysprep update-ca-store".into(),
                    notes: vec![format!("warning: {w}")],
                    ..Step::default()
                });
            }
        }
        report.update_changed();
        g.set_ways(Ways::Skip, "customize");
        if report.changed && !opts.virt_order {
            opts.say(Progress::RandomSeed);
            lifecycle::random_seed(&mut g, os, &mut rng)?;
            push_if_changed(report, &mut g, "random-seed");
        }
        // --selinux-relabel asks for it whatever changed, as in virt-customize 1.48; without
        // it, a run that changed files marks them for relabelling unless told not to.
        if plan.selinux_relabel() || (report.changed && opts.selinux_relabel) {
            if plan.selinux_relabel() {
                opts.say(Progress::SelinuxRelabel);
            }
            lifecycle::selinux_relabel(&mut g)?;
            push_if_changed(report, &mut g, "selinux-relabel");
        }
        if plan.no_logfile() {
            opts.say(Progress::ScrubLogfile);
            apply::scrub_logfile(&mut g)?;
            push_if_changed(report, &mut g, "no-logfile");
        }
        Ok(())
    })();
    report.generated_passwords.append(&mut cx.generated);
    report.diff.push_str(&g.take_diff());
    report.update_changed();
    result
}

/// Runs one customize operation and returns its step, with what it changed.
fn run_operation<R: rand::Rng>(
    g: &mut Guest<'_>,
    cx: &mut apply::Context<'_>,
    op: &Operation,
    rng: &mut R,
) -> Result<Step, CustomizeError> {
    let mut step = Step {
        operation: op.to_string(),
        ..Step::default()
    };
    apply::run(g, cx, op, &mut step, rng).map_err(|e| CustomizeError::Operation {
        operation: op.to_string(),
        source: Box::new(e),
    })?;
    step.changes = g.take_changes();
    step.notes.extend(g.take_notes());
    Ok(step)
}

fn push_if_changed(report: &mut Report, g: &mut Guest<'_>, name: &str) {
    let changes = g.take_changes();
    let notes = g.take_notes();
    if !changes.is_empty() || !notes.is_empty() {
        report.steps.push(Step {
            operation: name.to_owned(),
            changes,
            notes,
            ..Step::default()
        });
    }
}

/// One disk given to the appliance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Disk {
    /// The image file.
    pub path: PathBuf,
    /// Its format; detected when `None`.
    pub format: Option<Format>,
    /// An `--attach`ed disk: read-only data for the commands run in the guest (after the
    /// guest's disks, so `/dev/sdb` and on), never part of the guest.
    pub attached: bool,
}

/// Opens the images (read-only for a dry run), launches the appliance, inspects and mounts the
/// guest, runs the plan and shuts down. Success means every change is in the image files.
pub fn run_images(
    images: &[PathBuf],
    format: Option<Format>,
    config: LaunchConfig,
    plan: &Plan,
    opts: &Options<'_>,
) -> Result<Report, CustomizeError> {
    let disks: Vec<Disk> = images
        .iter()
        .map(|p| Disk {
            path: p.clone(),
            format,
            attached: false,
        })
        .collect();
    run_disks(&disks, config, plan, opts)
}

/// [`run_images`] with a format per disk and `--attach`ed disks (which go after the guest's,
/// read-only, in the order given).
pub fn run_disks(
    disks: &[Disk],
    config: LaunchConfig,
    plan: &Plan,
    opts: &Options<'_>,
) -> Result<Report, CustomizeError> {
    let mut report = Report {
        images: disks
            .iter()
            .filter(|d| !d.attached)
            .map(|d| d.path.display().to_string())
            .collect(),
        dry_run: opts.dry_run,
        ..Report::default()
    };
    let mut h = Handle::with_config(config);
    h.set_trace(opts.trace);
    let guest = disks.iter().filter(|d| !d.attached);
    for d in guest.chain(disks.iter().filter(|d| d.attached)) {
        h.add_drive(
            &d.path,
            DriveOptions {
                format: d.format,
                readonly: opts.dry_run || d.attached,
                blocksize: None,
            },
        )?;
    }
    let t = Instant::now();
    opts.say(Progress::Launching);
    h.launch()?;
    report.timings.launch = t.elapsed().as_secs_f64();
    let t = Instant::now();
    opts.say(Progress::Inspecting);
    // Every operating system found gets the plan in turn, as virt-customize and
    // virt-sysprep run theirs once per root (a guest copied to two disks is two roots).
    let inspection = crate::inspect::inspect_all(&h)?;
    if inspection.found.is_empty() {
        return Err(CustomizeError::NoOperatingSystem(inspection.no_os_error()));
    }
    report.timings.inspect = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let devices: Vec<&SysprepOperation> = plan
        .sysprep
        .iter()
        .copied()
        .filter(|o| o.on_devices())
        .collect();
    let mut result = Ok(());
    let mut guests = Vec::new();
    for (i, os) in inspection.found.iter().enumerate() {
        // A dry run mounts read-write too: the writes land in the throw-away overlay.
        let mounted = crate::inspect::mount_inspected_options(&h, os, false, opts.mount_options);
        result = mounted
            .map_err(CustomizeError::from)
            .and_then(|()| run_plan(&h, os, plan, opts, &mut report));
        guests.push(format!(
            "{} {}.{}",
            os.distro, os.major_version, os.minor_version
        ));
        let last = i + 1 == inspection.found.len();
        if result.is_ok() && (!devices.is_empty() || !last) {
            result = guestwright_protocol::Client::umount_all(&h)
                .map_err(guest::guest_err("cannot unmount the guest's filesystems"));
        }
        if result.is_ok() && !devices.is_empty() {
            for op in &devices {
                opts.say(Progress::Sysprep(op.name));
            }
            result =
                sysprep::run_on_devices(&h, os, &devices, opts.dry_run).map(|(steps, diff)| {
                    report.steps.extend(steps);
                    report.diff.push_str(&diff);
                    report.update_changed();
                });
        }
        if result.is_err() {
            break;
        }
    }
    report.guest = guests.join(", ");
    report.timings.operations = t.elapsed().as_secs_f64();
    let t = Instant::now();
    // virt-customize stops at an error without this message (what was done before it is
    // flushed all the same).
    if result.is_ok() || !opts.virt_order {
        opts.say(Progress::Finishing);
    }
    let shutdown = h.shutdown();
    report.timings.shutdown = t.elapsed().as_secs_f64();
    result?;
    shutdown?;
    Ok(report)
}
