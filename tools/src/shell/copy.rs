//! `copy-in` and `copy-out` in the shell: the library's [`guestwright::copy`] after the
//! shell's own checks (read-only mode, lazy launch).

use super::{Shell, ShellError};
use guestwright::copy;
use guestwright::protocol::shell::ShellArg;
use guestwright::protocol::GuestPath;
use std::path::{Path, PathBuf};

fn guest_path(word: &str) -> Result<GuestPath, ShellError> {
    GuestPath::parse_word(word).map_err(|e| ShellError::Usage(e.to_string()))
}

/// `copy-in HOSTPATH... DIR`.
pub fn copy_in(shell: &mut Shell, sources: &[String], dest: &str) -> Result<(), ShellError> {
    let dest = guest_path(dest)?;
    let sources: Vec<PathBuf> = sources.iter().map(PathBuf::from).collect();
    shell.ensure_launched()?;
    copy::copy_in(&shell.h, &sources, &dest)?;
    Ok(())
}

/// `copy-out PATH... HOSTDIR`.
pub fn copy_out(shell: &mut Shell, sources: &[String], dest: &Path) -> Result<(), ShellError> {
    let sources = sources
        .iter()
        .map(|s| guest_path(s))
        .collect::<Result<Vec<_>, _>>()?;
    shell.ensure_launched()?;
    for name in copy::copy_out(&shell.h, &sources, dest)? {
        eprintln!("guestwright: copy-out: skipped '{name}' (not a file, directory or link)");
    }
    Ok(())
}
