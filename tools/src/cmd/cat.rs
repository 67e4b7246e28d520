//! `guestwright cat`: print guest files, like virt-cat.

use crate::error::{stdout, Result};
use crate::options::{ApplianceArgs, ImageArgs};
use crate::progress::Bar;
use crate::session::{self, Access};
use clap::Args;
use guestwright::prelude::*;
use std::io::Write;

/// Print files from a disk image (read-only unless --rw). Without -m, the guest is inspected
/// and mounted the way it mounts itself.
#[derive(Debug, Args)]
pub struct CatArgs {
    #[command(flatten)]
    image: ImageArgs,
    /// Guest files to print, in order.
    #[arg(value_name = "PATH", required = true)]
    paths: Vec<String>,
}

/// Runs `cat`.
pub fn run(args: &CatArgs, appliance: &ApplianceArgs, verbose: bool) -> Result {
    let mut h = session::open(&args.image, appliance, Access::ReadOnly, verbose)?;
    let _bar = Bar::attach(&h, "cat");
    let mut out = std::io::stdout().lock();
    for path in &args.paths {
        // Streamed: files of any size, no 4 MiB reply limit.
        h.download(GuestPath::from(path), &mut out)
            .map_err(|e| match e {
                Error::Transfer { source, .. } => stdout(source),
                other => other.into(),
            })?;
    }
    out.flush().map_err(stdout)?;
    h.shutdown()?;
    Ok(())
}
