//! `guestwright cat`: print guest files, like virt-cat.

use crate::error::{stdout, CliError, Result};
use crate::options::{ApplianceArgs, ImageArgs};
use crate::progress::Bar;
use crate::session::{self, Access};
use crate::shell::fisherr;
use clap::Args;
use guestwright::prelude::*;
use std::io::Write;

/// Print files from a disk image (read-only unless --rw). Without -m, the guest is inspected
/// and mounted the way it mounts itself.
#[derive(Debug, Args)]
pub struct CatArgs {
    #[command(flatten)]
    pub(crate) image: ImageArgs,
    /// Guest files to print, in order.
    #[arg(value_name = "PATH", required = true)]
    paths: Vec<String>,
}

/// Runs `cat`.
pub fn run(args: &CatArgs, appliance: &ApplianceArgs, verbose: bool) -> Result {
    let mut h = session::open(&args.image, appliance, Access::ReadOnly, verbose).map_err(|e| {
        if fisherr::is_no_os(&e) {
            CliError::AsReference(fisherr::no_os("virt-cat"))
        } else {
            CliError::from(e)
        }
    })?;
    let _bar = Bar::attach(&h, "cat");
    let mut out = std::io::stdout().lock();
    for path in &args.paths {
        // Streamed: files of any size, no 4 MiB reply limit.
        h.download(GuestPath::from(path), &mut out)
            .map_err(|e| match e {
                Error::Transfer { source, .. } => stdout(source),
                // As virt-cat words it.
                Error::Remote { source, .. } => CliError::AsReference(format!(
                    "libguestfs: error: download: {}: {}",
                    guestwright::protocol::escape_bytes(path.as_bytes()),
                    fisherr::strerror(source.errno)
                )),
                other => other.into(),
            })?;
    }
    out.flush().map_err(stdout)?;
    h.shutdown()?;
    Ok(())
}
