//! The operations: the daemon's implementation of the protocol's [`Daemon`] trait. Each
//! method is short and hands the work to the module that owns it.

use crate::conn::Call;
use crate::devices::Disks;
use crate::modules::Modules;
use crate::mounts::{MountHow, Mounts};
use crate::{files, sys};
use guestwright_protocol::*;
use std::fs::File;
use std::io;

/// Everything the operations share.
#[derive(Debug)]
pub struct Server {
    /// The disks, by the order the host added them.
    pub disks: Disks,
    /// Kernel modules, loaded on demand.
    pub modules: Modules,
    /// The guest tree's mounts.
    pub mounts: Mounts,
}

impl Server {
    fn need_root(&self) -> io::Result<()> {
        if self.mounts.root_mounted() {
            Ok(())
        } else {
            Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "no filesystem is mounted on /: mount one first (or open the image with -i or -m)",
            ))
        }
    }

    /// Flushes filesystems, then every disk: sync(2) alone leaves data in QEMU's hands
    /// without a barrier, so each block device gets an fsync and a buffer flush.
    pub fn sync_all(&self) -> io::Result<()> {
        sys::sync();
        for index in 0..self.disks.len() {
            let Some(name) = self.disks.kernel_name(index) else {
                continue;
            };
            let dev = File::options()
                .read(true)
                .write(true)
                .open(format!("/dev/{name}"));
            // Read-only disks cannot be opened for writing and have nothing to flush.
            let Ok(dev) = dev else { continue };
            dev.sync_all()?;
            sys::block_flush_buffers(&dev)?;
        }
        Ok(())
    }
}

impl Daemon for Server {
    type Call = Call;

    fn ping(&self, _: &mut Call) -> io::Result<()> {
        Ok(())
    }

    fn version(&self, _: &mut Call) -> io::Result<String> {
        Ok(VERSION.to_string())
    }

    fn list_devices(&self, _: &mut Call) -> io::Result<Vec<BlockDevice>> {
        self.disks.list()
    }

    fn list_partitions(&self, _: &mut Call) -> io::Result<Vec<PartitionDevice>> {
        self.disks.partitions()
    }

    fn mount(
        &self,
        _: &mut Call,
        device: Device,
        mountpoint: GuestPath,
        options: Option<String>,
        fstype: Option<FsType>,
        readonly: Option<bool>,
    ) -> io::Result<()> {
        let how = MountHow {
            options: options.as_deref(),
            fstype: fstype.as_ref(),
            readonly: readonly.unwrap_or(false),
        };
        self.mounts
            .mount(&self.disks, &self.modules, &device, &mountpoint, how)
    }

    fn umount_all(&self, _: &mut Call) -> io::Result<()> {
        self.mounts.umount_all()
    }

    fn mounts(&self, _: &mut Call) -> io::Result<Vec<MountEntry>> {
        self.mounts.list()
    }

    fn read_file(&self, _: &mut Call, path: GuestPath) -> io::Result<Data> {
        self.need_root()?;
        files::read_file(&path)
    }

    fn write_file(&self, _: &mut Call, path: GuestPath, content: Data) -> io::Result<()> {
        self.need_root()?;
        files::write_file(&path, &content.0)
    }

    fn sync(&self, _: &mut Call) -> io::Result<()> {
        self.sync_all()
    }

    fn poweroff(&self, _: &mut Call) -> io::Result<()> {
        // Unmount what can be unmounted; whatever happens, flush the disks. A failure to
        // flush is reported: the host must not claim success then.
        let umounted = self.mounts.umount_all();
        self.sync_all()?;
        umounted
    }

    // ==== files, directories, attributes, transfers, commands ====
    // ==== end of files ====

    // ==== block devices, partitions, filesystems, LVM ====
    // ==== end of block devices ====
}
