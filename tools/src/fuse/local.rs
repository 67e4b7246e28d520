//! guestfish's `mount-local` / `mount-local-run` / `umount-local`: the shell's own handle
//! served as a FUSE mount, in the shell's process.
//!
//! `mount-local` mounts at once (the kernel queues requests), so a host command started
//! between it and `mount-local-run` already sees the mount; `mount-local-run` serves until
//! the mount goes away (`guestunmount`, `fusermount3 -u`, or `umount-local`), then gives the
//! handle back to the shell. It never shuts the appliance down: the shell goes on with it.

use super::fs::GuestFs;
use super::options;
use guestwright::Handle;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A mount made by `mount-local`, not yet served.
pub struct LocalMount {
    session: fuser::Session<GuestFs>,
    mountpoint: PathBuf,
}

impl std::fmt::Debug for LocalMount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalMount")
            .field("mountpoint", &self.mountpoint)
            .finish_non_exhaustive()
    }
}

/// How long the handle may stay shared after the session ended (read-ahead finishing).
const RELEASE_TIMEOUT: Duration = Duration::from_secs(60);

impl LocalMount {
    /// Mounts the handle's tree on `mountpoint` (an existing directory). `fuse_options` is
    /// guestfish's `options:` string (comma-separated FUSE options, as `guestwright mount
    /// -o` takes them); `name` names the mount in mountinfo (`guestwright:NAME`).
    pub fn mount(
        h: &Arc<Handle>,
        mountpoint: &Path,
        readonly: bool,
        fuse_options: Option<&str>,
        name: &str,
    ) -> Result<LocalMount, String> {
        let fuse = options::parse(
            &fuse_options
                .map(str::to_string)
                .into_iter()
                .collect::<Vec<_>>(),
        )?;
        let mountpoint = mountpoint
            .canonicalize()
            .map_err(|e| format!("{}: {e}", mountpoint.display()))?;
        if !mountpoint.is_dir() {
            return Err(format!("{}: not a directory", mountpoint.display()));
        }
        let fsname = format!("guestwright:{}", name.replace(',', "_"));
        let session = super::serve::session(h, &mountpoint, readonly, &fuse, &fsname)?;
        Ok(LocalMount {
            session,
            mountpoint,
        })
    }

    /// The directory mounted on.
    pub fn mountpoint(&self) -> &Path {
        &self.mountpoint
    }

    /// Serves requests until the mount goes away, then waits for the workers to let go of
    /// the handle (`h` is the shell's: its count drops back to one).
    pub fn run(mut self, h: &Arc<Handle>) -> Result<(), String> {
        let served = self.session.run();
        drop(self);
        released(h)?;
        served.map_err(|e| format!("the FUSE session failed: {e}"))
    }

    /// Unmounts without serving (`umount-local` before `mount-local-run`, or the shell
    /// ending with the mount still there).
    pub fn unmount(self, h: &Arc<Handle>) -> Result<(), String> {
        let detached = super::umount::detach(&self.mountpoint);
        drop(self);
        released(h)?;
        detached
    }
}

/// Waits until `h` is the handle's only owner again.
fn released(h: &Arc<Handle>) -> Result<(), String> {
    let deadline = Instant::now() + RELEASE_TIMEOUT;
    while Arc::strong_count(h) > 1 {
        if Instant::now() > deadline {
            return Err(format!(
                "the appliance handle is still in use {RELEASE_TIMEOUT:?} after the unmount"
            ));
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    Ok(())
}
