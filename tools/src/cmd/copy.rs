//! `guestwright copy-in` and `copy-out`: files and trees between the host and the guest,
//! like virt-copy-in and virt-copy-out.

use crate::error::Result;
use crate::options::{ApplianceArgs, ImageArgs};
use crate::progress::Bar;
use crate::session::{self, Access};
use clap::Args;
use guestwright::copy;
use guestwright::prelude::*;
use std::path::PathBuf;

/// Copy host files and directories (recursively) into a guest directory (read-write).
/// Symlinks are copied as symlinks.
#[derive(Debug, Args)]
pub struct CopyInArgs {
    #[command(flatten)]
    pub(crate) image: ImageArgs,
    /// Host files and directories, then the guest directory to copy them into.
    #[arg(value_name = "PATH", num_args = 2.., required = true)]
    paths: Vec<String>,
}

/// Copy guest files and directories (recursively) into a host directory (read-only).
/// Nothing is ever written outside that directory, whatever names or symlinks the guest
/// holds; device nodes, FIFOs and sockets are skipped, setuid bits and owners dropped.
#[derive(Debug, Args)]
pub struct CopyOutArgs {
    #[command(flatten)]
    pub(crate) image: ImageArgs,
    /// Guest files and directories, then the host directory to copy them into.
    #[arg(value_name = "PATH", num_args = 2.., required = true)]
    paths: Vec<String>,
}

/// Runs `copy-in`.
pub fn run_in(args: &CopyInArgs, appliance: &ApplianceArgs, verbose: bool) -> Result {
    copy_in(args, appliance, verbose, true)
}

/// Runs `copy-out`.
pub fn run_out(args: &CopyOutArgs, appliance: &ApplianceArgs, verbose: bool) -> Result {
    for name in copy_out(args, appliance, verbose, true)? {
        log::warn!("copy-out: skipped '{name}' (not a file, directory or link)");
    }
    Ok(())
}

/// `copy-in`, with a progress bar on a terminal when `bar` (`batch` runs several at once and
/// shows its own). Returns once the copy is in the image files.
pub fn copy_in(args: &CopyInArgs, appliance: &ApplianceArgs, verbose: bool, bar: bool) -> Result {
    let (dest, sources) = args.paths.split_last().expect("clap requires two paths");
    let sources: Vec<PathBuf> = sources.iter().map(PathBuf::from).collect();
    let mut h = session::open(&args.image, appliance, Access::ReadWrite, verbose)?;
    let _bar = bar.then(|| Bar::attach(&h, "copy-in"));
    copy::copy_in(&h, &sources, &GuestPath::from(dest.as_str()))?;
    h.shutdown()?;
    Ok(())
}

/// `copy-out`, with a progress bar on a terminal when `bar`. Returns the guest entries
/// skipped (not a file, directory or link).
pub fn copy_out(
    args: &CopyOutArgs,
    appliance: &ApplianceArgs,
    verbose: bool,
    bar: bool,
) -> Result<Vec<String>> {
    let (dest, sources) = args.paths.split_last().expect("clap requires two paths");
    let sources: Vec<GuestPath> = sources
        .iter()
        .map(|s| GuestPath::from(s.as_str()))
        .collect();
    let mut h = session::open(&args.image, appliance, Access::ReadOnly, verbose)?;
    let _bar = bar.then(|| Bar::attach(&h, "copy-out"));
    let skipped = copy::copy_out(&h, &sources, std::path::Path::new(dest))?;
    h.shutdown()?;
    Ok(skipped)
}
