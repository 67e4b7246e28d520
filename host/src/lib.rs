//! guestwright: edit and inspect virtual-machine disk images without root and without
//! booting them.
//!
//! A [`Handle`] boots a tiny appliance (the host's own kernel and a Rust daemon) under QEMU
//! with the images attached, and talks to the daemon over a virtio-serial channel. The
//! guest's filesystems are only ever parsed by the appliance's kernel.
//!
//! ```no_run
//! use guestwright::prelude::*;
//!
//! fn main() -> Result<(), guestwright::Error> {
//!     let mut h = Handle::new();
//!     h.add_drive("disk.qcow2", DriveOptions::readwrite())?;
//!     h.launch()?;
//!     h.mount("/dev/sda1", "/", None, None, None)?;
//!     let old = h.read_file("/etc/hostname")?;
//!     println!("was {}", String::from_utf8_lossy(&old.0).trim());
//!     h.write_file("/etc/hostname", "web01\n")?;
//!     h.shutdown()?; // the new hostname is in disk.qcow2 once this returns Ok
//!     Ok(())
//! }
//! ```

#![warn(missing_docs)]

pub mod accel;
pub mod console;
pub mod copy;
pub mod customize;
pub mod drive;
pub mod edit;
pub mod error;
pub mod handle;
pub mod hostfile;
pub mod inspect;
pub mod interrupt;
pub mod launch;
pub mod qemu;
pub mod rpc;
pub mod snapshot;
mod sys;

pub use accel::AccelChoice;
pub use drive::{DriveOptions, Format};
pub use error::{Error, Result};
pub use guestwright_appliance as appliance;
pub use guestwright_protocol as protocol;
pub use handle::{Canceller, Handle};
pub use launch::LaunchConfig;

/// Everything needed to use a handle: `use guestwright::prelude::*`.
pub mod prelude {
    pub use crate::{AccelChoice, DriveOptions, Error, Format, Handle, LaunchConfig};
    pub use guestwright_protocol::types::*;
    pub use guestwright_protocol::Client;
    pub use guestwright_protocol::Errno;
}
