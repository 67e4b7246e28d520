//! Opening images for a one-shot command: add the drives, launch, and mount what `-m` asks
//! for, or what inspection finds.

use crate::options::{ApplianceArgs, ImageArgs, MountSpec};
use guestwright::prelude::*;

/// Read-only or read-write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// The images' bytes never change.
    ReadOnly,
    /// Changes are written to the images.
    ReadWrite,
}

std::thread_local! {
    /// The pool slot's appliance a batch job runs on ([`with_lease`]).
    static LEASE: std::cell::RefCell<Option<guestwright::pool::Lease>> =
        const { std::cell::RefCell::new(None) };
}

/// Runs `f` (a batch job's command, on this thread) with every launch configuration made
/// meanwhile carrying `lease`, so the command's appliance is the pool slot's.
pub fn with_lease<R>(lease: Option<guestwright::pool::Lease>, f: impl FnOnce() -> R) -> R {
    struct Reset;
    impl Drop for Reset {
        fn drop(&mut self) {
            LEASE.with(|l| l.borrow_mut().take());
        }
    }
    LEASE.with(|l| *l.borrow_mut() = lease);
    let _reset = Reset;
    f()
}

/// The launch settings: environment first, then the command line.
pub fn launch_config(appliance: &ApplianceArgs, verbose: bool) -> Result<LaunchConfig, Error> {
    let mut config = LaunchConfig::from_env()?;
    appliance.configure(&mut config)?;
    config.verbose |= verbose;
    config.reuse = LEASE.with(|l| l.borrow().clone());
    Ok(config)
}

/// What the reference tools that read `-a` with libguestfs's option parser (virt-cat,
/// virt-df, guestmount, ...) say about an image that does not exist, checked as they check it
/// while they read their options: `TOOL: access: IMAGE: REASON`, the image as given. Drive
/// URIs are not files and are not checked.
pub fn check_access(tool: &str, image: &std::path::Path) -> Result<(), crate::error::CliError> {
    if image
        .to_str()
        .is_some_and(guestwright::drive::uri::is_drive_uri)
    {
        return Ok(());
    }
    std::fs::metadata(image).map(drop).map_err(|e| {
        let errno = Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO));
        crate::error::CliError::AsReference(format!(
            "{tool}: access: {}: {}",
            image.display(),
            crate::shell::fisherr::strerror(errno)
        ))
    })
}

/// Adds the images and launches the appliance, mounting nothing.
pub fn launch(
    images: &ImageArgs,
    appliance: &ApplianceArgs,
    access: Access,
    verbose: bool,
) -> Result<Handle, Error> {
    let mut h = Handle::with_config(launch_config(appliance, verbose)?);
    for (i, image) in images.images.iter().enumerate() {
        let options = DriveOptions {
            format: images.format_of(i),
            readonly: access == Access::ReadOnly,
            blocksize: None,
        };
        h.add_drive(image, options)?;
    }
    h.launch()?;
    log::debug!(
        "appliance launched in {:?} ({:?})",
        h.launch_time().unwrap_or_default(),
        h.accelerator()
    );
    Ok(h)
}

/// A sparse temporary file of `size` bytes for a scratch disk (guestfish's `scratch`,
/// virt-rescue's `--scratch`), removed when the returned path is dropped. On failure, the
/// path the error is about.
pub fn scratch_file(size: u64) -> Result<tempfile::TempPath, (std::path::PathBuf, std::io::Error)> {
    let file = tempfile::Builder::new()
        .prefix("guestwright-scratch-")
        .suffix(".img")
        .tempfile()
        .map_err(|e| (std::env::temp_dir(), e))?;
    file.as_file()
        .set_len(size)
        .map_err(|e| (file.path().to_path_buf(), e))?;
    Ok(file.into_temp_path())
}

/// Opens the LUKS volumes of the attached disks with the keys given (`--key`,
/// `--keys-from-stdin`), as virt-filesystems and virt-df 1.48 do before they list, so what
/// is inside them is listed too. A volume without a key is named in a warning and skipped.
pub fn open_encrypted(h: &Handle) -> Result<(), Error> {
    let filesystems = h.list_filesystems_all()?;
    let mut unreadable = Vec::new();
    guestwright::inspect::volumes::open_luks(h, &filesystems, &h.config().keys, &mut unreadable)?;
    for u in unreadable.iter().filter(|u| u.notable) {
        log::warn!("{u}");
    }
    Ok(())
}

/// For commands that work on guest paths: adds the images, launches the appliance and mounts
/// the `-m` filesystems, or, without `-m`, inspects the disks and mounts the guest the way it
/// mounts itself (`-i` is implied).
pub fn open(
    images: &ImageArgs,
    appliance: &ApplianceArgs,
    default_access: Access,
    verbose: bool,
) -> Result<Handle, Error> {
    let access = images.access(default_access);
    let h = launch(images, appliance, access, verbose)?;
    if images.mounts.is_empty() {
        guestwright::inspect::inspect_and_mount(&h, access == Access::ReadOnly)?;
    } else {
        mount_all(&h, &images.mounts, access)?;
    }
    Ok(h)
}

/// Mounts the `-m` filesystems in order of mountpoint depth, so `/` comes before `/boot`.
pub fn mount_all(h: &Handle, mounts: &[MountSpec], access: Access) -> Result<(), Error> {
    let mut specs = mounts.to_vec();
    specs.sort_by_key(|m| {
        m.mountpoint.trim_end_matches('/').matches('/').count() + usize::from(m.mountpoint != "/")
    });
    for m in specs {
        h.run(args::Mount {
            options: m.options.clone(),
            fstype: m.fstype.as_deref().map(FsType::from),
            readonly: Some(access == Access::ReadOnly),
            ..args::Mount::new(m.device.as_str(), m.mountpoint.as_str())
        })?;
    }
    Ok(())
}
