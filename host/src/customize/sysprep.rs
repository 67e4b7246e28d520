//! Runs the sysprep operations of [`crate::edit::sysprep`] against the mounted guest: each
//! removes, truncates or edits what its table entry names, and reports what it touched.

use super::guest::Guest;
use super::report::Step;
use super::CustomizeError;
use crate::edit::sysprep::{home_paths, SysprepAction, SysprepOperation};

/// Runs one sysprep operation; its changes are in the returned step.
pub fn run(g: &mut Guest<'_>, op: &SysprepOperation) -> Result<Step, CustomizeError> {
    let mut passwd: Option<Vec<u8>> = None;
    for action in op.actions {
        match action {
            SysprepAction::Remove(pattern) => {
                g.delete_glob(pattern)?;
            }
            SysprepAction::Truncate(path) => {
                g.truncate(path)?;
            }
            SysprepAction::Edit { glob, edit } => {
                for path in g.glob(glob)? {
                    if g.lstat(&path)?
                        .is_some_and(|s| s.mode & libc::S_IFMT == libc::S_IFREG)
                    {
                        g.edit_file(&path, |old| edit(old.unwrap_or_default()), false)?;
                    }
                }
            }
            SysprepAction::RemoveInHomes(rel) => {
                if passwd.is_none() {
                    passwd = Some(g.read_config("/etc/passwd")?.unwrap_or_default());
                }
                for pattern in home_paths(passwd.as_deref().unwrap_or_default(), rel) {
                    g.delete_glob(&pattern)?;
                }
            }
        }
    }
    Ok(Step {
        operation: format!("sysprep {}", op.name),
        changes: g.take_changes(),
        notes: g.take_notes(),
        ..Step::default()
    })
}
