//! `guestwright sysprep`: remove what makes a guest a specific machine, so it can serve as a
//! template; customize operations may follow in the same run.

use std::path::PathBuf;

use clap::Args;
use guestwright::customize::{self, CustomizeError};
use guestwright::edit::sysprep::{default_operations, parse_operations, OPERATIONS};
use guestwright::Format;

use super::customize::{options, plan, print_report, OperationArgs, RunArgs};
use crate::error::{CliError, Result};
use crate::options::ApplianceArgs;
use crate::session::launch_config;

/// Reset a disk image to a template: machine-id, SSH host keys, logs, udev net rules, ...
///
/// Each sysprep operation can be listed (--list-operations) and chosen (--operations). The
/// sysprep operations run first, then any customize operations in the order given, so what
/// they add stays. Exit status: 0 success, 1 failure, 2 bad usage.
#[derive(Debug, Args)]
pub struct SysprepArgs {
    /// A disk image (repeat for a guest spread over several disks).
    #[arg(
        short = 'a',
        long = "add",
        value_name = "IMAGE",
        required_unless_present = "list_operations"
    )]
    pub images: Vec<PathBuf>,
    /// The images' format (raw, qcow2, ...); detected from the header when not given.
    #[arg(long, value_name = "FORMAT", value_parser = crate::options::parse_format)]
    pub format: Option<Format>,
    /// Which sysprep operations: a comma-separated list of names to run only those; +NAME or
    /// -NAME to add to or take from the defaults; `defaults`, `all`, `none`.
    #[arg(
        long = "operations",
        alias = "enable",
        value_name = "LIST",
        allow_hyphen_values = true
    )]
    pub operations: Option<String>,
    /// List the sysprep operations (`*` marks those run by default) and exit.
    #[arg(long)]
    pub list_operations: bool,
    #[command(flatten)]
    pub run: RunArgs,
    #[command(flatten)]
    pub ops: OperationArgs,
}

/// Runs `sysprep`.
pub fn run(args: &SysprepArgs, appliance: &ApplianceArgs, verbose: bool) -> Result {
    if args.list_operations {
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        for op in OPERATIONS {
            let mark = if op.default_enabled { "*" } else { " " };
            writeln!(out, "{} {mark} {}", op.name, op.description).map_err(crate::error::stdout)?;
        }
        return Ok(());
    }
    let mut plan = plan(&args.ops)?;
    plan.sysprep = match &args.operations {
        Some(list) => parse_operations(list).map_err(|e| {
            CliError::Customize(CustomizeError::InvalidArgument {
                op: "operations".into(),
                reason: e.to_string(),
            })
        })?,
        None => default_operations(),
    };
    let mut config = launch_config(appliance, verbose)?;
    // virt-sysprep's network is off unless --network.
    config.network = args.ops.network.unwrap_or(false) && plan.runs_in_guest();
    let report = customize::run_images(
        &args.images,
        args.format,
        config,
        &plan,
        &options(&args.run),
    )?;
    print_report(&report, &args.run)
}
