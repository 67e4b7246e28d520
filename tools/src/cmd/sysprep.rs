//! `guestwright sysprep`: virt-sysprep 1.48's 43 operations, its `--operations`, `--enable`,
//! `--list-operations` and operation options, and every customize operation (run by the
//! `customize` operation, after the others).

use std::path::{Path, PathBuf};

use clap::Args;
use guestwright::customize::{self, CustomizeError, Report};
use guestwright::edit::sysprep::{list_operations, Selection, SysprepError, UserAccounts};
use guestwright::Format;

use super::customize::{options_as, plan, print_report, Messages, OperationArgs, RunArgs};
use crate::error::{CliError, Result};
use crate::options::{ApplianceArgs, FormatChoice};
use crate::session::launch_config;

/// Reset a disk image to a template: machine-id, SSH host keys, logs, users, ... (virt-sysprep)
///
/// The operations (see --list-operations; `*` marks those run by default) run in name order,
/// `customize` (the customize options given) after them, then `fs-uuids` and `lvm-uuids` on
/// the unmounted devices. Exit status: 0 success, 1 failure, 2 bad usage.
#[derive(Debug, Args)]
pub struct SysprepArgs {
    /// A disk image (repeat for a guest spread over several disks).
    #[arg(
        short = 'a',
        long = "add",
        value_name = "IMAGE",
        value_hint = clap::ValueHint::FilePath,
        required_unless_present = "list_operations"
    )]
    pub images: Vec<PathBuf>,
    /// The images' format (raw, qcow2, ...; `auto`: detect, the default). Given once, it is
    /// every image's; given several times, each -a takes the last --format before it, as in
    /// virt-sysprep (`--format raw -a disk.img --format auto -a another.img`).
    #[arg(long, value_name = "FORMAT", value_parser = crate::options::parse_format_choice, action = clap::ArgAction::Append)]
    pub format: Vec<FormatChoice>,
    /// Each image's format, from where the `--format` options stand ([`Self::place_formats`]).
    #[arg(skip)]
    pub placed: Vec<Option<Format>>,
    /// A `--format` stands after the last `-a` (virt-sysprep refuses that).
    #[arg(skip)]
    pub format_after_last_image: bool,
    /// Enable/disable operations, applied to what earlier --operations chose (nothing at
    /// first): NAME adds, -NAME removes; `defaults`, `-defaults`, `all`, `-all`.
    #[arg(
        long = "operations",
        visible_alias = "operation",
        value_name = "LIST",
        allow_hyphen_values = true
    )]
    pub operations: Vec<String>,
    /// Run exactly these operations (a comma list; once).
    #[arg(long = "enable", value_name = "LIST", allow_hyphen_values = true)]
    pub enable: Vec<String>,
    /// List the operations (`*` marks those run by default) and exit.
    #[arg(long)]
    pub list_operations: bool,
    /// user-account: remove only these users (a comma list; repeatable).
    #[arg(long, value_name = "USERS")]
    pub remove_user_accounts: Vec<String>,
    /// user-account: never remove these users (a comma list; repeatable).
    #[arg(long, value_name = "USERS")]
    pub keep_user_accounts: Vec<String>,
    /// script: run this host program (through bash, as virt-sysprep does) with its current
    /// directory the guest's root, mounted read-write with `guestwright mount`. Repeatable.
    #[arg(long, value_name = "SCRIPT")]
    pub script: Vec<String>,
    /// script: the mountpoint to use (an empty directory) instead of a temporary one.
    #[arg(long, value_name = "DIR")]
    pub scriptdir: Option<PathBuf>,
    /// Mount options by mountpoint: `/:noatime;/var:rw,noatime`.
    #[arg(long, value_name = "OPTS")]
    pub mount_options: Option<String>,
    #[command(flatten)]
    pub run: RunArgs,
    #[command(flatten)]
    pub ops: OperationArgs,
}

/// A command line virt-sysprep refuses, in its words.
fn usage(e: SysprepError) -> CliError {
    CliError::Usage(e.to_string())
}

impl SysprepArgs {
    /// Reads where the `--format` options stand among the `-a` options in the
    /// subcommand's matches `m`, so each image gets the last one before it.
    pub fn place_formats(&mut self, m: &clap::ArgMatches) {
        let idx =
            |id: &str| -> Vec<usize> { m.indices_of(id).map(|i| i.collect()).unwrap_or_default() };
        let (at_format, at_image) = (idx("format"), idx("images"));
        self.format_after_last_image = at_format.last() > at_image.last();
        self.placed = super::customize::placed_formats(
            &self.format,
            &at_format,
            &at_image,
            self.images.len(),
        );
    }

    /// The guest's disks with their formats.
    fn disks(&self) -> Vec<customize::Disk> {
        let formats = match self.placed.len() == self.images.len() {
            true => self.placed.clone(),
            false => super::customize::placed_formats(&self.format, &[], &[], self.images.len()),
        };
        self.images
            .iter()
            .zip(formats)
            .map(|(path, format)| customize::Disk {
                path: path.clone(),
                format,
                attached: false,
            })
            .collect()
    }
}

/// `--mount-options`: `MP:OPTS` pairs separated by `;`.
fn mount_options(s: &str) -> Vec<(String, String)> {
    s.split(';')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once(':') {
            Some((mp, o)) => (mp.to_owned(), o.to_owned()),
            None => (p.to_owned(), String::new()),
        })
        .collect()
}

/// Runs `sysprep`.
pub fn run(args: &SysprepArgs, appliance: &ApplianceArgs, verbose: bool) -> Result {
    if args.list_operations {
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        out.write_all(list_operations().as_bytes())
            .and_then(|()| out.flush())
            .map_err(crate::error::stdout)?;
        return Ok(());
    }
    let report = report(args, appliance, verbose)?;
    print_report(&report, &args.run)
}

/// Runs the sysprep operations and returns the report without printing it (`batch` prints
/// it as part of a job's result). `--list-operations` is not an operation: refused here.
pub fn report(args: &SysprepArgs, appliance: &ApplianceArgs, verbose: bool) -> Result<Report> {
    if args.list_operations {
        return Err(CliError::Usage(
            "--list-operations lists and changes nothing: run `guestwright sysprep \
             --list-operations` on its own"
                .into(),
        ));
    }
    if args.run.messages == Messages::Virt && args.format_after_last_image {
        return Err(CliError::Usage(super::customize::FORMAT_AFTER_A.into()));
    }
    let mut selection = Selection::default();
    if args.enable.len() > 1 {
        return Err(usage(SysprepError::EnableTwice));
    }
    for list in &args.enable {
        selection.enable(list).map_err(usage)?;
    }
    for list in &args.operations {
        selection.operations(list).map_err(usage)?;
    }
    let mut users = UserAccounts::default();
    for list in &args.keep_user_accounts {
        UserAccounts::add(&mut users.keep, list).map_err(usage)?;
    }
    for list in &args.remove_user_accounts {
        UserAccounts::add(&mut users.remove, list).map_err(usage)?;
    }
    if !selection.contains("user-account") {
        users.check_disabled().map_err(usage)?;
    }
    let mut base = plan(&args.ops)?;
    base.sysprep_users = users;
    let ordered = selection.ordered();
    let mount_opts = mount_options(args.mount_options.as_deref().unwrap_or_default());
    let opts = customize::Options {
        mount_options: &mount_opts,
        // virt-sysprep 1.48 relabels only when asked (its --no-selinux-relabel does nothing).
        selinux_relabel: false,
        ..options_as(&args.run, guestwright::customize::VirtTool::Sysprep)
    };
    let mut config = launch_config(appliance, verbose)?;
    // virt-sysprep's network is off unless --network.
    config.network = args.ops.network.unwrap_or(false) && base.runs_in_guest();

    let scripts = selection.contains("script") && !args.script.is_empty();
    if !scripts || args.run.dry_run {
        if scripts {
            eprintln!(
                "guestwright: dry run: the --script programs are not run (they would change \
                 the image)"
            );
        }
        base.sysprep = ordered;
        return Ok(customize::run_disks(&args.disks(), config, &base, &opts)?);
    }
    // The scripts run where `script` comes in name order: the operations before it in one
    // launch, the scripts in a mount, the rest (customize, the devices') in another launch.
    let (before, after): (Vec<_>, Vec<_>) = ordered
        .into_iter()
        .filter(|o| o.name != "script")
        .partition(|o| o.name < "script" && o.name != "customize" && !o.on_devices());
    let mut report = Report::default();
    let launched = !before.is_empty();
    if launched {
        let mut first = base.clone();
        first.sysprep = before;
        first.operations.clear();
        let mut c = config.clone();
        c.network = false;
        report = customize::run_disks(&args.disks(), c, &first, &opts)?;
    }
    if let Some(say) = opts.progress {
        say(customize::Progress::Sysprep("script"));
    }
    run_scripts(args, appliance, verbose)?;
    if !after.is_empty() {
        let mut rest = base;
        rest.sysprep = after;
        // One "Examining the guest ..." for the run, as virt-sysprep prints it.
        let quieter = |step: customize::Progress<'_>| {
            if !(launched && matches!(step, customize::Progress::Launching)) {
                if let Some(say) = opts.progress {
                    say(step);
                }
            }
        };
        let opts = customize::Options {
            progress: opts
                .progress
                .map(|_| &quieter as &dyn Fn(customize::Progress<'_>)),
            ..opts
        };
        let r = customize::run_disks(&args.disks(), config, &rest, &opts)?;
        report.images = r.images.clone();
        report.guest = r.guest.clone();
        report.steps.extend(r.steps);
        report.diff.push_str(&r.diff);
        report.changed |= r.changed;
    }
    report.changed = true;
    Ok(report)
}

/// `script`: mounts the guest read-write on the script directory, runs the scripts there
/// with bash (`set -e`, one shell for all, in order), unmounts.
fn run_scripts(args: &SysprepArgs, appliance: &ApplianceArgs, verbose: bool) -> Result {
    let fail = |reason: String| {
        CliError::Customize(CustomizeError::InvalidArgument {
            op: "script".into(),
            reason,
        })
    };
    let tmp;
    let dir: &Path = match &args.scriptdir {
        Some(d) => d,
        None => {
            tmp = tempfile::Builder::new()
                .prefix("guestwright-sysprep.")
                .tempdir()
                .map_err(|e| fail(format!("cannot create a temporary mountpoint: {e}")))?;
            tmp.path()
        }
    };
    let exe = std::env::current_exe()
        .map_err(|e| fail(format!("cannot find the guestwright program: {e}")))?;
    let mut mount = std::process::Command::new(&exe);
    mount.arg(format!("--accel={}", appliance.accel));
    if verbose {
        mount.arg("-v");
    }
    mount.args(["mount", "--rw", "-i"]);
    // `guestwright mount` takes one --format for every image.
    let disks = args.disks();
    let mut formats: Vec<Option<Format>> = disks.iter().map(|d| d.format).collect();
    formats.dedup();
    match formats[..] {
        [Some(f)] => {
            mount.arg(format!("--format={f}"));
        }
        [None] | [] => {}
        _ => {
            return Err(fail(
                "the scripts see the guest through one mount, which takes one --format for \
                 every disk: give the disks the same --format, or none"
                    .into(),
            ))
        }
    }
    for d in &disks {
        mount.arg("-a").arg(&d.path);
    }
    mount.arg(dir);
    let st = mount
        .status()
        .map_err(|e| fail(format!("cannot run {}: {e}", exe.display())))?;
    if !st.success() {
        return Err(fail(format!(
            "cannot mount the guest on {} for the scripts (guestwright mount said why above)",
            dir.display()
        )));
    }
    let body = format!("set -e\n{}", args.script.join("\n"));
    let status = std::process::Command::new("/bin/bash")
        .arg("-c")
        .arg(&body)
        .current_dir(dir)
        .status();
    let umount = std::process::Command::new(&exe)
        .arg("umount")
        .arg(dir)
        .status();
    let status = status.map_err(|e| fail(format!("cannot run /bin/bash: {e}")))?;
    match umount {
        Ok(s) if s.success() => {}
        _ => {
            return Err(fail(format!(
                "cannot unmount {}: the scripts' changes may be incomplete",
                dir.display()
            )))
        }
    }
    match status.code() {
        Some(0) => Ok(()),
        Some(n) => Err(fail(format!("script failed (code {n})"))),
        None => Err(fail("script killed by a signal".into())),
    }
}
