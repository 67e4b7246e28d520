//! `guestwright edit`: edit a guest file with $EDITOR or an expression, like virt-edit.

use crate::error::{CliError, Result};
use crate::options::{ApplianceArgs, ImageArgs};
use crate::session::{self, Access};
use clap::Args;
use guestwright::edit::line_expr::LineExpr;
use guestwright::prelude::*;
use std::process::Command;

/// Edit a file in a disk image (read-write). The file is downloaded, edited, and uploaded
/// back atomically, keeping its mode, owner and SELinux label, only if its content changed.
/// A symbolic link is refused: edit the file it points to by name.
#[derive(Debug, Args)]
pub struct EditArgs {
    #[command(flatten)]
    pub(crate) image: ImageArgs,
    /// Instead of an editor, run a Perl-style statement on each line, as virt-edit -e:
    /// s/REGEX/REPLACEMENT/[gi], $_ = "TEXT" (`$_ = ""` deletes the line), $_ .= "TEXT" or
    /// $_ = "TEXT" . $_, optionally followed by `if` or `unless` and /REGEX/[i] or
    /// $lineno == N (also !=, <, <=, >, >=). The line is in $_ with its "\n".
    #[arg(
        short = 'e',
        long = "expr",
        visible_alias = "edit",
        value_name = "EXPR"
    )]
    expr: Option<String>,
    /// Keep the original file as PATH followed by this extension (`-b .orig`), when the
    /// edit changes it.
    #[arg(short = 'b', long = "backup", value_name = "EXTENSION")]
    backup: Option<String>,
    /// The guest file.
    #[arg(value_name = "PATH")]
    path: String,
}

/// Runs `edit`.
pub fn run(args: &EditArgs, appliance: &ApplianceArgs, verbose: bool) -> Result {
    let expr: Option<LineExpr> = match &args.expr {
        Some(e) => {
            Some(LineExpr::parse(e).map_err(|e| CliError::Usage(guestwright::error::chain(&e)))?)
        }
        None => None,
    };
    let mut h = session::open(&args.image, appliance, Access::ReadWrite, verbose)?;
    let path = GuestPath::from(args.path.as_str());
    // The entry itself: a symbolic link is refused, naming its target, so the edit never
    // changes the file it points to nor copies that file's contents here.
    let old = h.read_file_nofollow(&path)?.0;
    let new = match &expr {
        Some(e) => e.apply(&old),
        None => run_editor(&args.path, &old)?,
    };
    if new != old {
        if let Some(ext) = &args.backup {
            // A copy that keeps mode, owner and times, as virt-edit's renamed original.
            h.cp_a(args.path.as_str(), format!("{}{ext}", args.path).as_str())?;
        }
        h.replace_file(&path, new)?;
    } else {
        log::info!("{} unchanged", args.path);
    }
    h.shutdown()?;
    Ok(())
}

/// Writes `content` to a private temporary file named like the guest file, runs the editor on
/// it and reads it back.
fn run_editor(guest_path: &str, content: &[u8]) -> Result<Vec<u8>> {
    let name = std::path::Path::new(guest_path)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "file".into());
    let dir = tempfile::Builder::new()
        .prefix("guestwright-edit-")
        .tempdir()
        .map_err(|source| CliError::HostIo {
            path: std::env::temp_dir(),
            source,
        })?;
    let file = dir.path().join(name);
    std::fs::write(&file, content).map_err(|source| CliError::HostIo {
        path: file.clone(),
        source,
    })?;
    let editor = std::env::var("VISUAL")
        .or_else(|_| std::env::var("EDITOR"))
        .unwrap_or_else(|_| "vi".into());
    // The editor variable may hold arguments ("code --wait"), as shells allow.
    let status = Command::new("sh")
        .arg("-c")
        .arg(format!("{editor} \"$1\""))
        .arg("sh")
        .arg(&file)
        .status()
        .map_err(|source| CliError::HostIo {
            path: file.clone(),
            source,
        })?;
    if !status.success() {
        return Err(CliError::Usage(format!(
            "the editor ({editor}) exited with {status}; the guest file is unchanged"
        )));
    }
    std::fs::read(&file).map_err(|source| CliError::HostIo { path: file, source })
}
