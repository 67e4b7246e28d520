//! `guestwright cat`: print guest files.

use crate::options::{ApplianceArgs, ImageArgs};
use crate::session::{self, Access};
use clap::Args;
use guestwright::prelude::*;
use std::io::Write;

/// Print files from a disk image (read-only).
#[derive(Debug, Args)]
pub struct CatArgs {
    #[command(flatten)]
    image: ImageArgs,
    /// Guest files to print, in order.
    #[arg(value_name = "PATH", required = true)]
    paths: Vec<String>,
}

/// Runs `cat`.
pub fn run(args: &CatArgs, appliance: &ApplianceArgs, verbose: bool) -> crate::error::Result {
    let mut h = session::open(&args.image, appliance, Access::ReadOnly, verbose)?;
    let mut out = std::io::stdout().lock();
    for path in &args.paths {
        let data = h.read_file(GuestPath::from(path))?;
        out.write_all(&data.0).map_err(crate::error::stdout)?;
    }
    out.flush().map_err(crate::error::stdout)?;
    h.shutdown()?;
    Ok(())
}
