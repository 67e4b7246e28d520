//! `guestwright clone`: a new qcow2 image backed by a template, customized for one VM.

use std::path::PathBuf;

use clap::Args;
use guestwright::customize::{self, clone, CustomizeError};
use guestwright::Format;

use super::customize::{options, plan, print_report, OperationArgs, RunArgs};
use crate::error::Result;
use crate::options::ApplianceArgs;
use crate::session::launch_config;

/// Create NEW as a qcow2 overlay backed by BASE, then apply customize operations to NEW only.
///
/// BASE is only ever opened read-only: its bytes never change. NEW records BASE's absolute
/// path and format. If an operation fails, NEW is removed again. Exit status: 0 success, 1
/// failure, 2 bad usage.
///
/// With --snapshot-size, BASE is a template LV (/dev/VG/LV) and NEW (/dev/VG/NAME) is created
/// as an LVM snapshot of it with the host's lvcreate (as root), then customized; the
/// template LV is not written.
#[derive(Debug, Args)]
pub struct CloneArgs {
    /// The template image.
    #[arg(value_name = "BASE")]
    pub base: PathBuf,
    /// The image to create (it must not exist).
    #[arg(value_name = "NEW")]
    pub new: PathBuf,
    /// BASE's format (raw or qcow2); detected from its header when not given.
    #[arg(long, value_name = "FORMAT", value_parser = crate::options::parse_format)]
    pub format: Option<Format>,
    /// Make NEW an LVM snapshot LV of the template LV BASE, with SIZE (lvcreate's -L: 2G,
    /// 512M) for the changes: `clone /dev/vg0/template /dev/vg0/vm01 --snapshot-size 2G`.
    #[arg(long, value_name = "SIZE")]
    pub snapshot_size: Option<String>,
    #[command(flatten)]
    pub run: RunArgs,
    #[command(flatten)]
    pub ops: OperationArgs,
}

/// Runs `clone`.
pub fn run(args: &CloneArgs, appliance: &ApplianceArgs, verbose: bool) -> Result {
    let plan = plan(&args.ops)?;
    let mut config = launch_config(appliance, verbose)?;
    // As customize: the network is on unless --no-network.
    config.network = args.ops.network.unwrap_or(true) && plan.runs_in_guest();
    if args.run.dry_run {
        // Nothing is created: show what the operations would do to a clone by running them on
        // the template read-only.
        let report = customize::run_images(
            std::slice::from_ref(&args.base),
            args.format,
            config,
            &plan,
            &options(&args.run),
        )?;
        return print_report(&report, &args.run);
    }
    if let Some(size) = &args.snapshot_size {
        return snapshot_lv(args, size, config, &plan);
    }
    if std::path::absolute(&args.new).is_ok_and(|n| n.starts_with("/dev")) {
        return Err(CustomizeError::Refused(format!(
            "{} is in /dev: clone writes a qcow2 file there unless NEW is an LVM snapshot; \
             give --snapshot-size SIZE to create it as a snapshot LV of the template LV",
            args.new.display()
        ))
        .into());
    }
    let base_format =
        clone::create_overlay(&args.base, &args.new, args.format, &config.allow_backing)?;
    if !args.run.quiet {
        eprintln!(
            "guestwright: created {} backed by {}",
            args.new.display(),
            args.base.display()
        );
    }
    if base_format == Format::Raw {
        // A raw template outside NEW's directory is followed only where the user allows it:
        // naming it here is that permission for this run; later commands need the option.
        let outside = match (
            std::fs::canonicalize(&args.base),
            std::path::absolute(&args.new)
                .ok()
                .and_then(|n| n.parent().map(std::fs::canonicalize)),
        ) {
            (Ok(base), Some(Ok(dir))) => (!base.starts_with(&dir)).then_some(base),
            (Ok(base), _) => Some(base),
            _ => None,
        };
        if let Some(base) = outside {
            let dir = base.parent().unwrap_or(std::path::Path::new("/"));
            eprintln!(
                "guestwright: note: {} is a raw template outside the directory of {}: \
                 open the clone with --allow-backing {} (or GUESTWRIGHT_ALLOW_BACKING), \
                 or keep the template beside its clones",
                args.base.display(),
                args.new.display(),
                dir.display()
            );
            config.allow_backing.push(base);
        }
    }
    if plan.operations.is_empty() {
        return Ok(());
    }
    match customize::run_images(
        std::slice::from_ref(&args.new),
        Some(Format::Qcow2),
        config,
        &plan,
        &options(&args.run),
    ) {
        Ok(report) => print_report(&report, &args.run),
        Err(e) => {
            // Half a VM is worse than none in a pipeline.
            if std::fs::remove_file(&args.new).is_ok() {
                eprintln!(
                    "guestwright: removed {} after the failure below",
                    args.new.display()
                );
            }
            Err(e.into())
        }
    }
}

/// `clone --snapshot-size`: NEW is an LVM snapshot of the template LV, customized as a raw
/// block device; removed again if customizing fails.
fn snapshot_lv(
    args: &CloneArgs,
    size: &str,
    config: guestwright::LaunchConfig,
    plan: &customize::Plan,
) -> Result {
    let lv = clone::create_snapshot_lv(&args.base, &args.new, size)?;
    if !args.run.quiet {
        eprintln!(
            "guestwright: created the snapshot LV {}/{} ({}) of {}",
            lv.vg,
            lv.name,
            lv.device.display(),
            args.base.display()
        );
    }
    if plan.operations.is_empty() {
        return Ok(());
    }
    match customize::run_images(
        std::slice::from_ref(&lv.device),
        Some(Format::Raw),
        config,
        plan,
        &options(&args.run),
    ) {
        Ok(report) => print_report(&report, &args.run),
        Err(e) => {
            match clone::remove_snapshot_lv(&lv) {
                Ok(()) => eprintln!(
                    "guestwright: removed the snapshot LV {}/{} after the failure below",
                    lv.vg, lv.name
                ),
                Err(why) => eprintln!(
                    "guestwright: could not remove the snapshot LV {}/{} after the failure \
                     below ({why}): remove it with `lvremove {}/{}`",
                    lv.vg, lv.name, lv.vg, lv.name
                ),
            }
            Err(e.into())
        }
    }
}
