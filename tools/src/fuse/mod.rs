//! `guestwright mount` and `guestwright umount`: a guest's filesystems as a local directory,
//! through FUSE (the `fuser` crate, mounting with `fusermount3` when not root).
//!
//! The mount serves kernel requests with the daemon's file handles and large reads, answers
//! most metadata requests from a cache filled a whole directory tree at a time
//! (`readdir_tree`), and runs many requests at once over the channel. It never lets a guest's
//! setuid programs or device nodes act on the host (`nosuid,nodev`, always), and `umount`
//! returns only once the image is final.
//!
//! Modules: [`options`] (`-o`), [`serve`] (the serving process), [`local`] (the shell's
//! `mount-local`), [`umount`], [`state`] (the lock that tells `umount` when the image is
//! final), [`fs`] (the fuser `Filesystem`), [`ops`] (what each request does), [`nodes`]
//! (node ids, names and caches), [`io`] (open files and read-ahead), [`writeback`] (writes
//! gathered and sent many at a time), [`small`] (small files fetched in batches), [`dirs`]
//! (open directories), [`pool`], [`attr`], [`sys`].

mod attr;
mod dirs;
mod fs;
mod io;
mod local;
mod nodes;
mod ops;
mod options;
mod pool;
mod serve;
mod small;
mod state;
mod sys;
mod umount;
mod writeback;

use crate::options::{parse_format, parse_mount, MountSpec};
use clap::Args;
use guestwright::Format;
use std::path::PathBuf;

pub use local::LocalMount;
pub use serve::run as mount;
pub use umount::run as umount;

/// Mount a guest's filesystems on a local directory (FUSE), read-only unless --rw.
///
/// Returns once the mount is ready and goes on serving in the background until `guestwright
/// umount MOUNTPOINT`, which returns only when the image is final (synced, QEMU exited,
/// fsynced). The mount is always nosuid,nodev; read-only mounts are also noexec (-o exec
/// allows running programs). Only you can see the files unless -o allow_other.
///
///   guestwright mount -a disk.img -m /dev/sda1 /mnt/guest
///
///   guestwright mount --rw -a disk.qcow2 -i /mnt/guest
///
/// Options for -o (comma-separated, repeatable): allow_other, allow_root,
/// default_permissions, attr_timeout=SECONDS and entry_timeout=SECONDS (default 60: how long
/// attributes and names are trusted; the mount is the only writer), exec, noexec, atime,
/// noatime, sync, async, dirsync.
///
/// Exit status: 0 mounted; 1 the mount failed (the message says why); 2 usage error.
#[derive(Debug, Args)]
pub struct MountArgs {
    /// A disk image to open (repeat for several disks: /dev/sda, /dev/sdb, ...).
    #[arg(short = 'a', long = "add", value_name = "IMAGE", value_hint = clap::ValueHint::FilePath, required_unless_present = "fuse_help")]
    images: Vec<PathBuf>,
    /// The format of the images: raw, qcow2, vmdk, vdi, vhdx, vpc. Detected from the
    /// image's header when not given.
    #[arg(long, value_name = "FORMAT", value_parser = parse_format)]
    format: Option<Format>,
    /// Mount a filesystem: DEVICE[:MOUNTPOINT[:OPTIONS[:FSTYPE]]] (something must be at /).
    #[arg(short = 'm', long = "mount", value_name = "DEV[:MP[:OPTS[:FSTYPE]]]", value_parser = parse_mount, required_unless_present_any = ["inspector", "fuse_help"])]
    mounts: Vec<MountSpec>,
    /// Inspect the disks and mount the guest's filesystems as its fstab says.
    #[arg(short = 'i', long = "inspector", conflicts_with = "mounts")]
    inspector: bool,
    /// Read-only (the default; started as guestmount, read-write is): the image's bytes
    /// never change.
    #[arg(short = 'r', long, conflicts_with = "rw")]
    ro: bool,
    /// Read-write: changes are written to the image. Never use it on the disk of a running
    /// virtual machine.
    #[arg(short = 'w', long)]
    rw: bool,
    /// FUSE options, comma-separated (see above).
    #[arg(short = 'o', value_name = "OPTION[,OPTION...]")]
    options: Vec<String>,
    /// Stay in the foreground and serve until unmounted (Ctrl-C unmounts).
    #[arg(long)]
    no_fork: bool,
    /// Trace every call to the appliance on standard error (`libguestfs: trace: ...`
    /// lines, as guestmount's --trace); the serving process keeps standard error only with
    /// --no-fork or -v.
    #[arg(short = 'x', long)]
    trace: bool,
    /// Write the serving process's pid to FILE; the file is removed when that process has
    /// finished the image.
    #[arg(long, value_name = "FILE")]
    pid_file: Option<PathBuf>,
    /// Write one byte to descriptor N when the mount is ready, then close it.
    #[arg(long, value_name = "N")]
    fd: Option<i32>,
    /// Print the -o options this mount takes, in the layout of guestmount's --fuse-help
    /// (which prints libfuse's), and exit.
    #[arg(long)]
    fuse_help: bool,
    /// The local directory to mount on.
    #[arg(value_name = "MOUNTPOINT", required_unless_present = "fuse_help")]
    mountpoint: Option<PathBuf>,
}

impl MountArgs {
    /// The -a images.
    pub fn images(&self) -> &[PathBuf] {
        &self.images
    }

    /// The mountpoint (clap requires it unless --fuse-help).
    fn mountpoint(&self) -> &std::path::Path {
        self.mountpoint
            .as_deref()
            .expect("clap requires MOUNTPOINT without --fuse-help")
    }
}

/// Unmount a `guestwright mount` and wait until the image is final.
///
/// Returns when the serving process has synced the guest, QEMU has exited and the images are
/// fsynced, so the image can be copied at once. A busy mountpoint is retried with growing
/// pauses (0.25 s, 0.5 s, 1 s, ...).
///
/// Exit status: 0 unmounted and the image is final; 1 an error (including a shutdown that
/// failed: the image may lack the last writes); 2 still busy after the retries; 3 not
/// mounted (or not a guestwright mount).
#[derive(Debug, Args)]
pub struct UmountArgs {
    /// Times to retry while the mountpoint is busy.
    #[arg(long, value_name = "N", default_value_t = 5)]
    retry: u32,
    /// Do not retry while busy.
    #[arg(long, conflicts_with = "retry")]
    no_retry: bool,
    /// The mountpoint.
    #[arg(value_name = "MOUNTPOINT")]
    mountpoint: PathBuf,
}
