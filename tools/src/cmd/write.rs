//! `guestwright write`: create or replace a guest file.

use crate::error::Result;
use crate::options::{ApplianceArgs, ImageArgs};
use crate::session::{self, Access};
use clap::Args;
use guestwright::prelude::*;

/// Write a file in a disk image (read-write): CONTENT replaces the file's contents, atomically
/// when the file exists (its mode, owner and SELinux label are kept).
#[derive(Debug, Args)]
pub struct WriteArgs {
    #[command(flatten)]
    pub(crate) image: ImageArgs,
    /// The guest file.
    #[arg(value_name = "PATH")]
    path: String,
    /// The new contents, exactly as given (add a trailing newline yourself if you want one).
    #[arg(value_name = "CONTENT")]
    content: String,
}

/// Runs `write`.
pub fn run(args: &WriteArgs, appliance: &ApplianceArgs, verbose: bool) -> Result {
    let mut h = session::open(&args.image, appliance, Access::ReadWrite, verbose)?;
    h.replace_file(GuestPath::from(&args.path), args.content.as_str())?;
    h.shutdown()?;
    Ok(())
}
