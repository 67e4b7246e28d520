//! guestfish's `mount-local MOUNTPOINT [readonly:..] [options:..] [cachetimeout:..]
//! [debugcalls:..]`, `mount-local-run` and `umount-local [retry:..]`: the guest's mounted
//! tree as a FUSE mount served by the shell itself (see `crate::fuse::LocalMount`).
//!
//! Between `mount-local` and `mount-local-run` the handle is lent to the mount: only host
//! commands (`!cmd`), `echo`, `mount-local-run` and `umount-local` run then (libguestfs
//! shares the handle with the FUSE thread; guestwright's shell does not). After
//! `mount-local-run` returns (the mount went away: `guestunmount`), the shell goes on with
//! the same appliance.

use super::{Shell, ShellError};
use crate::fuse::LocalMount;
use guestwright::protocol::shell::ShellArg;
use guestwright::Handle;
use std::path::Path;
use std::sync::Arc;

/// The command names.
pub const NAMES: &[&str] = &["mount-local", "mount-local-run", "umount-local"];

/// A mount made by `mount-local` and the handle it serves, lent until `mount-local-run`
/// ends or `umount-local`.
#[derive(Debug)]
pub(super) struct Lent {
    mount: LocalMount,
    h: Arc<Handle>,
}

/// Whether `name` may run while the handle is lent.
pub(super) fn allowed_while_lent(name: &str) -> bool {
    let name = name.replace('_', "-");
    NAMES.contains(&name.as_str()) || name == "echo"
}

/// The error of any other command while the handle is lent.
pub(super) fn lent_error(shell: &Shell, name: &str) -> ShellError {
    let mp = shell
        .local
        .as_ref()
        .map(|l| l.mount.mountpoint().display().to_string())
        .unwrap_or_default();
    ShellError::Usage(format!(
        "{name}: the appliance is lent to the local mount on {mp}: run 'mount-local-run' \
         (it serves until guestunmount {mp}) or 'umount-local' first"
    ))
}

/// Runs one of [`NAMES`].
pub(super) fn run(shell: &mut Shell, name: &str, args: &[String]) -> Result<(), ShellError> {
    let lg = name.replace('-', "_");
    let mut plain = Vec::new();
    let mut opts = Vec::new();
    for a in args {
        match a.split_once(':') {
            Some((k, v))
                if matches!(
                    k,
                    "readonly" | "options" | "cachetimeout" | "debugcalls" | "retry"
                ) =>
            {
                opts.push((k, v))
            }
            _ => plain.push(a),
        }
    }
    let unknown = |w: &str| ShellError::Fish(format!("{name}: unknown optional argument \"{w}\""));
    match name {
        "mount-local" => {
            let [mountpoint] = plain[..] else {
                return Err(ShellError::Fish(super::fisherr::wrong_count_of(
                    name,
                    "mount-local localmountpoint [readonly:true|false] [options:..] \
                     [cachetimeout:N] [debugcalls:true|false]",
                )));
            };
            let mut readonly = false;
            let mut fuse = None;
            for (k, v) in opts {
                match k {
                    "readonly" => {
                        readonly = bool::parse_word(v)
                            .map_err(|e| ShellError::Usage(format!("{name}: {e}")))?
                    }
                    "options" => fuse = Some(v),
                    // The cache lives as long as the mount here; calls are traced with -x.
                    "cachetimeout" | "debugcalls" => {}
                    _ => return Err(unknown(&format!("{k}:{v}"))),
                }
            }
            if shell.local.is_some() {
                return Err(ShellError::Libguestfs(
                    "filesystem is already mounted in another thread".into(),
                ));
            }
            shell.need_appliance(&lg)?;
            let image = shell
                .h
                .drives()
                .first()
                .map(|d| d.path().display().to_string())
                .unwrap_or_default();
            let h = shell.lend_handle();
            match LocalMount::mount(&h, Path::new(mountpoint), readonly, fuse, &image) {
                Ok(mount) => {
                    shell.local = Some(Lent { mount, h });
                    Ok(())
                }
                Err(e) => {
                    shell.take_back(h)?;
                    Err(ShellError::Libguestfs(format!("{lg}: {e}")))
                }
            }
        }
        "mount-local-run" => {
            if !plain.is_empty() || !opts.is_empty() {
                return Err(ShellError::Fish(super::fisherr::wrong_count_of(
                    name,
                    "mount-local-run",
                )));
            }
            let Some(Lent { mount, h }) = shell.local.take() else {
                return Err(ShellError::Libguestfs(
                    "you must call guestfs_mount_local first".into(),
                ));
            };
            let served = mount.run(&h);
            shell.take_back(h)?;
            served.map_err(|e| ShellError::Libguestfs(format!("{lg}: {e}")))
        }
        _ => {
            if !plain.is_empty() {
                return Err(ShellError::Fish(super::fisherr::wrong_count_of(
                    name,
                    "umount-local [retry:true|false]",
                )));
            }
            if let Some((k, v)) = opts.iter().find(|(k, _)| *k != "retry") {
                return Err(unknown(&format!("{k}:{v}")));
            }
            shell
                .end_local_mount()?
                .ok_or_else(|| ShellError::Libguestfs("no filesystem is mounted".into()))
        }
    }
}

impl Shell {
    /// Moves the handle out for a local mount; the shell keeps a handle of the same
    /// settings that is never launched, which the commands allowed meanwhile do not use.
    fn lend_handle(&mut self) -> Arc<Handle> {
        let config = self.h.config().clone();
        Arc::new(std::mem::replace(&mut self.h, Handle::with_config(config)))
    }

    /// Takes the lent handle back once the mount has let go of it.
    fn take_back(&mut self, h: Arc<Handle>) -> Result<(), ShellError> {
        match Arc::try_unwrap(h) {
            Ok(h) => {
                self.h = h;
                Ok(())
            }
            Err(_) => Err(ShellError::Libguestfs(
                "the local mount still holds the appliance; the shell cannot go on with it".into(),
            )),
        }
    }

    /// Unmounts a local mount not yet served and takes the handle back: `Ok(None)` when
    /// there was none. Run by `umount-local` and before the appliance stops.
    pub(super) fn end_local_mount(&mut self) -> Result<Option<()>, ShellError> {
        let Some(Lent { mount, h }) = self.local.take() else {
            return Ok(None);
        };
        let unmounted = mount.unmount(&h);
        self.take_back(h)?;
        unmounted.map_err(|e| ShellError::Libguestfs(format!("umount_local: {e}")))?;
        Ok(Some(()))
    }
}
