//! `guestwright tar-in` and `tar-out`: a guest directory to and from a tar archive.

use crate::error::{stdout, CliError, Result};
use crate::options::{ApplianceArgs, ImageArgs};
use crate::progress::Bar;
use crate::session::{self, Access};
use clap::Args;
use guestwright::hostfile::HostFile;
use guestwright::prelude::*;
use guestwright::protocol::CallStream;
use std::fs::File;
use std::io::{Read, Write};
use std::path::PathBuf;

/// Unpack a tar archive into a guest directory (read-write), creating the directory if
/// needed. `-` reads standard input. Nothing in the archive can land outside the directory.
#[derive(Debug, Args)]
pub struct TarInArgs {
    #[command(flatten)]
    pub(crate) image: ImageArgs,
    /// Compression of the archive: none, gzip, xz, zstd.
    #[arg(long, default_value = "none")]
    compress: Compression,
    /// Restore extended attributes (SELinux labels, capabilities) from the archive.
    #[arg(long)]
    xattrs: bool,
    /// The archive on the host, or - for standard input.
    #[arg(value_name = "TARFILE")]
    tarfile: PathBuf,
    /// The guest directory.
    #[arg(value_name = "DIR")]
    dir: String,
}

/// Pack a guest directory into a tar archive (read-only). `-` writes standard output.
#[derive(Debug, Args)]
pub struct TarOutArgs {
    #[command(flatten)]
    pub(crate) image: ImageArgs,
    /// Compression of the archive: none, gzip, xz, zstd.
    #[arg(long, default_value = "none")]
    compress: Compression,
    /// Include extended attributes.
    #[arg(long)]
    xattrs: bool,
    /// Store numeric owners only.
    #[arg(long)]
    numeric_owner: bool,
    /// Leave out paths matching this pattern (repeatable).
    #[arg(long, value_name = "GLOB")]
    exclude: Vec<String>,
    /// The guest directory.
    #[arg(value_name = "DIR")]
    dir: String,
    /// The archive on the host, or - for standard output.
    #[arg(value_name = "TARFILE")]
    tarfile: PathBuf,
}

fn is_stdio(p: &std::path::Path) -> bool {
    p.as_os_str() == "-"
}

/// Runs `tar-in`.
pub fn run_in(args: &TarInArgs, appliance: &ApplianceArgs, verbose: bool) -> Result {
    let mut input: Box<dyn Read> = if is_stdio(&args.tarfile) {
        Box::new(std::io::stdin().lock())
    } else {
        Box::new(
            File::open(&args.tarfile).map_err(|source| CliError::HostIo {
                path: args.tarfile.clone(),
                source,
            })?,
        )
    };
    let mut h = session::open(&args.image, appliance, Access::ReadWrite, verbose)?;
    let _bar = Bar::attach(&h, "tar-in");
    h.mkdir_p(GuestPath::from(args.dir.as_str()))?;
    let op = guestwright::protocol::args::TarIn::new(GuestPath::from(args.dir.as_str()))
        .compress(args.compress)
        .xattrs(args.xattrs);
    let n = h.run_stream(op, CallStream::Input(&mut input))?;
    log::debug!("unpacked {n} entries into {}", args.dir);
    h.shutdown()?;
    Ok(())
}

/// The `tar-out` request for `dir` as `args` ask for it.
fn out_op(
    dir: GuestPath,
    args: &TarOutArgs,
    excludes: Option<Vec<String>>,
) -> guestwright::protocol::args::TarOut {
    guestwright::protocol::args::TarOut {
        excludes,
        ..guestwright::protocol::args::TarOut::new(dir)
            .compress(args.compress)
            .xattrs(args.xattrs)
            .numericowner(args.numeric_owner)
    }
}

/// Runs `tar-out`.
pub fn run_out(args: &TarOutArgs, appliance: &ApplianceArgs, verbose: bool) -> Result {
    let mut h = session::open(&args.image, appliance, Access::ReadOnly, verbose)?;
    let _bar = Bar::attach(&h, "tar-out");
    let excludes = (!args.exclude.is_empty()).then(|| args.exclude.clone());
    let dir = GuestPath::from(args.dir.as_str());
    if is_stdio(&args.tarfile) {
        let mut out = std::io::stdout().lock();
        h.run_stream(out_op(dir, args, excludes), CallStream::Output(&mut out))
            .map_err(|e| match e {
                Error::Transfer { source, .. } => stdout(source),
                other => other.into(),
            })?;
        out.flush().map_err(stdout)?;
    } else {
        // Written beside and renamed, so a failed run leaves the old file as it was.
        let host_io = |source| CliError::HostIo {
            path: args.tarfile.clone(),
            source,
        };
        let mut file = HostFile::create(&args.tarfile).map_err(host_io)?;
        h.run_stream(
            out_op(dir, args, excludes),
            CallStream::Output(file.file_mut()),
        )?;
        file.commit().map_err(host_io)?;
    }
    h.shutdown()?;
    Ok(())
}
