//! Opening images for a one-shot command: add the drives, launch, mount what `-m` asks for.

use crate::options::{ApplianceArgs, ImageArgs};
use guestwright::prelude::*;

/// Read-only or read-write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// The images' bytes never change.
    ReadOnly,
    /// Changes are written to the images.
    ReadWrite,
}

/// Adds the images, launches the appliance and mounts the `-m` filesystems.
pub fn open(
    images: &ImageArgs,
    appliance: &ApplianceArgs,
    access: Access,
    verbose: bool,
) -> Result<Handle, Error> {
    let mut config = LaunchConfig::from_env().map_err(|e| Error::Protocol {
        operation: "environment".into(),
        detail: e,
    })?;
    config.accel = appliance.accel;
    config.verbose |= verbose;
    let mut h = Handle::with_config(config);
    let options = DriveOptions {
        format: images.format,
        readonly: access == Access::ReadOnly,
    };
    for image in &images.images {
        h.add_drive(image, options.clone())?;
    }
    h.launch()?;
    log::debug!(
        "appliance launched in {:?} ({:?})",
        h.launch_time().unwrap_or_default(),
        h.accelerator()
    );
    mount_all(&h, images, access)?;
    Ok(h)
}

/// Mounts the `-m` filesystems in order of mountpoint depth, so `/` comes before `/boot`.
pub fn mount_all(h: &Handle, images: &ImageArgs, access: Access) -> Result<(), Error> {
    let mut specs = images.mounts.clone();
    specs.sort_by_key(|m| {
        m.mountpoint.trim_end_matches('/').matches('/').count() + usize::from(m.mountpoint != "/")
    });
    for m in specs {
        h.mount(
            m.device.as_str(),
            m.mountpoint.as_str(),
            m.options.clone(),
            m.fstype.as_deref().map(FsType::from),
            Some(access == Access::ReadOnly),
        )?;
    }
    Ok(())
}
