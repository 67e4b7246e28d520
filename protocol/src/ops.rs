//! The one table of operations the daemon serves.
//!
//! Grammar of an entry:
//!
//! ```text
//! /// Help text (first line is the summary).
//! Variant name(required: Type, ...) [optional: Type, ...] -> Return
//!     { group: GROUP, access: Read|Write, stream: None|Input|Output }
//! ```
//!
//! Entries are only ever appended: their order is the wire encoding of `Request`.
//! Everything else (argument structs, dispatch, client methods, shell parsing, help) is
//! generated from here by `generate.rs`.

use crate::generate::{ArgInfo, CallStream, OpInfo};
use crate::types::*;

define_operations! {
    /// Check that the daemon is alive and answering.
    Ping ping() -> ()
        { group: basic, access: Read, stream: None }

    /// The daemon's version.
    Version version() -> String
        { group: basic, access: Read, stream: None }

    /// List the whole disks, in the order they were added, with their sizes in bytes.
    ListDevices list_devices() -> Vec<BlockDevice>
        { group: devices, access: Read, stream: None }

    /// List the partitions on all disks, with their offsets and sizes in bytes.
    ListPartitions list_partitions() -> Vec<PartitionDevice>
        { group: devices, access: Read, stream: None }

    /// Mount a filesystem at a mountpoint inside the guest tree (`/` first). Options are
    /// the kernel's mount options; `fstype` forces the filesystem type instead of letting the
    /// daemon detect it; `readonly:true` mounts read-only.
    Mount mount(device: Device, mountpoint: GuestPath) [options: String, fstype: FsType, readonly: bool] -> ()
        { group: mount, access: Write, stream: None }

    /// Unmount every filesystem mounted in the guest tree, innermost first.
    UmountAll umount_all() -> ()
        { group: mount, access: Read, stream: None }

    /// List what is mounted in the guest tree.
    Mounts mounts() -> Vec<MountEntry>
        { group: mount, access: Read, stream: None }

    /// Read a whole file (at most 4 MiB; use `download` for larger files).
    ReadFile read_file(path: GuestPath) -> Data
        { group: files, access: Read, stream: None }

    /// Create or replace a file with the given content. The content is on disk when the
    /// call returns.
    WriteFile write_file(path: GuestPath, content: Data) -> ()
        { group: files, access: Write, stream: None }

    /// Flush every filesystem and block device to the disk images.
    Sync sync() -> ()
        { group: basic, access: Read, stream: None }

    /// Unmount everything, flush the disks and power the appliance off after replying.
    /// Used by the library's shutdown; callers use `Handle::shutdown`, which also waits for
    /// QEMU and flushes the images on the host.
    Poweroff poweroff() -> ()
        { group: internal, access: Read, stream: None }

    // ==== files, directories, attributes, transfers, commands ====
    // ==== end of files ====

    // ==== block devices, partitions, filesystems, LVM ====
    // ==== end of block devices ====
}
