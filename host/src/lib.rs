//! guestwright: edit and inspect virtual-machine disk images without root and without
//! booting them.
//!
//! A [`Handle`] boots a tiny appliance (the host's own kernel and a Rust daemon) under QEMU
//! with the images attached, and talks to the daemon over a virtio-serial channel. The
//! guest's filesystems are only ever parsed by the appliance's kernel: a hostile image can
//! crash the appliance, not the program using this library.
//!
//! ```no_run
//! use guestwright::prelude::*;
//!
//! fn main() -> Result<(), guestwright::Error> {
//!     let mut h = Handle::new();
//!     h.add_drive("disk.qcow2", DriveOptions::readwrite())?;
//!     h.launch()?;
//!     h.mount("/dev/sda1", "/")?;
//!     let old = h.read_file("/etc/hostname")?;
//!     println!("was {}", String::from_utf8_lossy(&old.0).trim());
//!     h.write_file("/etc/hostname", "web01\n")?;
//!     h.shutdown()?; // the new hostname is in disk.qcow2 once this returns Ok
//!     Ok(())
//! }
//! ```
//!
//! # Guide
//!
//! The steps below are those of every program using the library; each has a compiled
//! example. `examples/` in this crate holds complete programs (`cargo run -p guestwright
//! --example inspect -- disk.img`), and `cargo doc -p guestwright --open` shows these pages.
//!
//! ## What the host needs
//!
//! QEMU (`qemu-system-x86` or the one of the host's architecture), a readable kernel in
//! `/boot` with its modules, and `/dev/kvm` if launches should take well under a second
//! (without it the appliance runs under TCG, about 1-2 s per launch). Nothing runs as root.
//! [`LaunchConfig::from_env`] reads the `GUESTWRIGHT_*` variables the command-line tool
//! reads (accelerator, QEMU binary, memory, machine type, allowed backing directories, and
//! the appliance's kernel and cache).
//!
//! ## Open a handle and add drives
//!
//! [`Handle::new`] takes the defaults; [`Handle::with_config`] takes a [`LaunchConfig`]
//! (memory, CPUs, accelerator, network, LUKS keys). Drives are added before launch, and
//! appear in the appliance as `/dev/sda`, `/dev/sdb`, ... in that order. [`DriveOptions`]
//! says how: read-write, or read-only (the appliance writes into a throw-away overlay and
//! the image's bytes never change), with the format detected from the image's magic bytes
//! or given ([`Format`]). Formats are never guessed by QEMU, and an image that refers to
//! other host files (a backing file, an external data file) is only followed where
//! [`drive`] says it is safe.
//!
//! ```no_run
//! use guestwright::prelude::*;
//!
//! # fn main() -> Result<(), guestwright::Error> {
//! let mut config = LaunchConfig::from_env()?; // GUESTWRIGHT_* variables, else defaults
//! config.memory_mib = 1024;
//! let mut h = Handle::with_config(config);
//! h.add_drive("guest.qcow2", DriveOptions::readonly())?; // /dev/sda
//! h.add_drive("data.img", DriveOptions::readwrite().with_format(Some(Format::Raw)))?; // /dev/sdb
//! // A drive on the network, written as libguestfs writes it (nbd, http(s), ssh, iscsi);
//! // its format is raw unless given.
//! h.add_drive("nbd://backup.example.com:10809/vm7", DriveOptions::readonly())?; // /dev/sdc
//! # Ok(())
//! # }
//! ```
//!
//! [`Handle::add_drive`] fails with [`Error::Drive`] naming the problem (a missing file, an
//! ambiguous or encrypted image, a backing file outside the allowed directories), and with
//! [`Error::AlreadyLaunched`] after launch.
//!
//! ## Launch
//!
//! [`Handle::launch`] boots the appliance (or restores a saved one, see [`snapshot`]) and
//! waits for the daemon's greeting. Failures are [`Error::Launch`], whose message says what
//! to install or fix (an unreadable kernel, no QEMU, a KVM that does not work). From then
//! on every operation of the protocol's table is a method of the [`Client`](protocol::Client)
//! trait, which `use guestwright::prelude::*` brings into scope: one method per entry of
//! [`protocol::OPERATIONS`], the guestfish commands under their guestfish names (`mount`, `ls`, `cat`, `mkfs`,
//! `part_add`, `tar_in`, ...). Their arguments take anything that converts into the typed
//! argument (`"/dev/sda1"` for a [`Device`](protocol::Device), `"/etc"` for a
//! [`GuestPath`](protocol::GuestPath)); optional arguments are `Option`s at the end.
//! A handle may be shared between threads: each call is its own request on the channel.
//!
//! ## Inspect and mount
//!
//! Mount a filesystem yourself, or let [`inspect`] find the operating systems on the disks
//! and mount one as it mounts itself (its fstab):
//!
//! ```no_run
//! use guestwright::prelude::*;
//!
//! # fn main() -> Result<(), guestwright::Error> {
//! let mut h = Handle::new();
//! h.add_drive("guest.qcow2", DriveOptions::readonly())?;
//! h.launch()?;
//! for os in guestwright::inspect::inspect(&h)? {
//!     println!("{}: {} {}.{}", os.root, os.product_name, os.major_version, os.minor_version);
//! }
//! // The one OS on the disks, mounted read-only at / with the rest of its fstab.
//! let os = guestwright::inspect::inspect_and_mount(&h, true)?;
//! for app in guestwright::inspect::applications(&h, &os)? {
//!     println!("{} {}", app.name, app.version);
//! }
//! # Ok(())
//! # }
//! ```
//!
//! Without inspection: `h.mount("/dev/sda1", "/")?` mounts the first partition at the
//! guest's root (`mount_ro` for read-only); other filesystems go on directories inside it.
//! `h.list_filesystems()?` lists what there is to mount.
//!
//! ## Optional arguments
//!
//! An operation's method takes its required arguments only. Its optional ones (libguestfs's
//! `_opts` calls) are set on the operation's struct in [`protocol::args`], made by `new`
//! with the required arguments and one setter per optional argument, and run with
//! [`Client::run`](protocol::Client::run) (or `run_stream` for an upload or download):
//!
//! ```no_run
//! use guestwright::prelude::*;
//!
//! # fn main() -> Result<(), guestwright::Error> {
//! # let h = Handle::new();
//! h.run(args::Mkfs::new("ext4", "/dev/sda1").label("root").blocksize(4096u64))?;
//! h.run(args::Mount::new("/dev/sda1", "/").options("noatime").readonly(true))?;
//! // A value that may be absent: the fields are public.
//! let options: Option<String> = None;
//! h.run(args::Mount { options, ..args::Mount::new("/dev/sda1", "/") })?;
//! # Ok(())
//! # }
//! ```
//!
//! ## Read and write files
//!
//! `read_file` returns a whole file (up to 4 MiB) as [`Data`](protocol::Data),
//! `write_file` replaces one atomically; both work beneath the guest root, and a symbolic
//! link in the guest never leads outside it. Files of any size go through streams:
//! `upload` reads a [`std::io::Read`] to its end into a guest file (a temporary file
//! renamed over the old one, so a failed upload leaves the old file whole), and `download`
//! writes a guest file into a [`std::io::Write`]. Bulk data moves over a transfer disk,
//! not the control channel.
//!
//! ```no_run
//! use guestwright::prelude::*;
//!
//! # fn main() -> Result<(), guestwright::Error> {
//! # let h = Handle::new();
//! h.mkdir_p("/srv/www")?;
//! h.write_file("/srv/www/index.html", "<h1>hello</h1>\n")?;
//! for name in h.ls("/srv/www")? {
//!     println!("{}", String::from_utf8_lossy(&name.0));
//! }
//! // Streams: a host file into the guest, a guest file into a host file.
//! let mut tarball = std::fs::File::open("site.tar").map_err(|source| Error::HostIo {
//!     path: "site.tar".into(),
//!     source,
//! })?;
//! h.upload("/srv/site.tar", &mut tarball)?;
//! let mut out = Vec::new();
//! h.download("/etc/os-release", &mut out)?;
//! # Ok(())
//! # }
//! ```
//!
//! Whole trees go through [`copy`] (`copy_in`, `copy_out`).
//!
//! ## Customize
//!
//! [`customize`] runs virt-customize's operations (`hostname`, `root-password`,
//! `ssh-inject`, `install`, `run-command`, ...) with their virt-customize syntax, parsed into
//! typed [`customize::Operation`]s before anything starts; `customize::run_images` opens the
//! images, inspects, mounts, runs the plan and shuts down, and its [`customize::Report`]
//! says what changed in which file. The file edits themselves are pure functions in
//! [`edit`], usable without an appliance.
//!
//! ## Errors
//!
//! Every fallible call returns [`Result`], whose [`Error`] is an enum to match on: an
//! operation that failed in the appliance is [`Error::Remote`], carrying the daemon's
//! [`Errno`](protocol::Errno) by name (never a bare number) and its message; the appliance
//! dying, timing out or breaking the protocol are variants of their own, so a caller can
//! tell "that file does not exist" from "the appliance is gone". [`Error::errno`] gives the
//! errno of a remote failure, [`Error::as_errno`] the errno that best describes any error
//! (as a FUSE reply or an exit status would), and [`error::chain`] the message with its
//! causes, once, joined with `: `.
//!
//! ```no_run
//! use guestwright::prelude::*;
//!
//! # fn main() -> Result<(), guestwright::Error> {
//! # let h = Handle::new();
//! match h.read_file("/etc/motd") {
//!     Ok(data) => println!("{}", String::from_utf8_lossy(&data.0)),
//!     Err(e) if e.errno() == Some(Errno::ENOENT) => println!("no motd"),
//!     Err(Error::Remote { operation, source }) => {
//!         eprintln!("{operation} failed in the guest: {} ({})", source.message, source.errno.name());
//!     }
//!     Err(e @ (Error::ApplianceDied { .. } | Error::Timeout { .. })) => {
//!         // The appliance is gone: forget it and launch again, or give up.
//!         return Err(e);
//!     }
//!     Err(e) => eprintln!("{}", guestwright::error::chain(&e)),
//! }
//! # Ok(())
//! # }
//! ```
//!
//! No call panics on bad input: a device name that is not one, a path with a NUL, an image
//! that is not an image, or a hostile guest's contents are errors (`EINVAL` and the like
//! from the daemon, [`Error::Drive`] on the host).
//!
//! ## Shut down
//!
//! [`Handle::shutdown`] unmounts everything, flushes the guest's filesystems and disks,
//! waits for QEMU to exit and then `fsync`s the image files: when it returns `Ok`, every
//! write the appliance acknowledged is durable in the images. An `Err`
//! ([`Error::Shutdown`]) means the last writes may be missing. Dropping a launched handle
//! does the same but can only log a failure, so call `shutdown` when the writes matter.
//! [`Handle::kill`] stops QEMU without any of this, and [`interrupt::stop_all`] cancels
//! every call of the process (for a Ctrl-C handler) while still letting `shutdown` flush.
//!
//! # Modules
//!
//! The modules a program uses are [`handle`], [`drive`], [`launch`] (settings),
//! [`inspect`], [`copy`], [`customize`], [`edit`] and [`error`]. The others are the
//! machinery the `guestwright` tool shares with the library ([`qemu`], [`rpc`],
//! [`snapshot`], [`console`], [`accel`], [`hostfile`], [`interrupt`]); they are public for
//! it and documented, but most programs never name them.

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
pub mod luks;
pub mod pool;
pub mod qemu;
pub mod rpc;
pub mod slots;
pub mod snapshot;
mod sys;

pub use accel::AccelChoice;
pub use drive::{DriveOptions, Format};
pub use error::{Error, Result};
pub use guestwright_appliance as appliance;
pub use guestwright_protocol as protocol;
pub use handle::{Canceller, Handle};
pub use launch::{LaunchConfig, LaunchPhases};

/// Everything needed to use a handle: `use guestwright::prelude::*` brings the handle, its
/// options and error, the [`Client`](guestwright_protocol::Client) trait whose methods are
/// the operations, and the protocol's argument and result types.
///
/// ```
/// use guestwright::prelude::*;
///
/// // Typed arguments check what they can on the host; the operations take `impl Into<_>`,
/// // so plain strings work too (the daemon then refuses a bad one with EINVAL).
/// let dev = Device::new("/dev/sda1")?;
/// assert_eq!(dev.as_str(), "/dev/sda1");
/// assert!(Device::new("sda1").is_err());
/// let size: ByteSize = "4M".parse()?;
/// assert_eq!(size.0, 4 << 20);
/// # Ok::<(), ArgError>(())
/// ```
pub mod prelude {
    pub use crate::{AccelChoice, DriveOptions, Error, Format, Handle, LaunchConfig};
    pub use guestwright_protocol::args;
    pub use guestwright_protocol::types::*;
    pub use guestwright_protocol::Errno;
    pub use guestwright_protocol::{Client, Operation};
}
