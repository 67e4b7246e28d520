//! The operations: the daemon's implementation of the protocol's [`Daemon`] trait. Each
//! method is short and hands the work to the module that owns it. The checks an operation's
//! declaration implies (a mounted root, devices that exist, whole disks) are in [`Checks`],
//! which the generated stub runs first; no method repeats them.

use crate::block::blockdev::{ResolvedDevOrPath, ResolvedDevice, ResolvedDisk};
use crate::block::devices::Disks;
use crate::boot::modules::Modules;
use crate::call::Call;
use crate::fs::mounts::{MountHow, Mounts};
use crate::{fs::acl, fs::extra, fs::notify, stream::encode};
use crate::{
    fs::attrs, fs::command, fs::dirs, fs::fileops, fs::files, fs::text, fs::tree, rpc::handles,
    stream::checksum, stream::copy, stream::tario, stream::transfer, sys,
};
use crate::{fs::augeas, fs::hivex, fs::journal};
use crate::{fs::btrfs, fs::xfs};
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
    /// Flushes filesystems, then every disk: sync(2) alone leaves data in QEMU's hands
    /// without a barrier, so each block device gets an fsync and a buffer flush.
    pub fn sync_all(&self) -> io::Result<()> {
        sys::sync();
        for name in self.disks.kernel_names() {
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

    /// The btrfs operations (cmds-btrfs).
    fn btrfs(&self) -> btrfs::Btrfs<'_> {
        btrfs::Btrfs {
            disks: &self.disks,
            modules: &self.modules,
        }
    }

    /// A statns with `st_dev` numbered as in libguestfs's appliance (see
    /// `Disks::user_dev_t`). Only the guestfish-facing statns family is renumbered: `Stat`
    /// feeds the FUSE mount, whose node identity is (dev, ino) across stat, readdir and
    /// handles, and must stay the kernel's own numbers everywhere.
    fn user_statns(&self, mut s: StatNs) -> StatNs {
        s.st_dev = self.disks.user_dev_t(s.st_dev as u64) as i64;
        s
    }
}

/// The checks the table's declarations imply, which the generated stub runs before an
/// operation: the operations below never repeat them.
impl Checks for Server {
    type Device = ResolvedDevice;
    type Disk = ResolvedDisk;
    type DevOrPath = ResolvedDevOrPath;

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

    fn device(&self, device: Device) -> io::Result<ResolvedDevice> {
        ResolvedDevice::new(&self.disks, &self.modules, device)
    }

    fn disk(&self, disk: Disk) -> io::Result<ResolvedDisk> {
        ResolvedDisk::new(&self.disks, &disk)
    }

    fn dev_or_path(&self, name: DevOrPath) -> io::Result<ResolvedDevOrPath> {
        match name {
            DevOrPath::Device(d) => match self.device(d.clone()) {
                Ok(dev) => Ok(ResolvedDevOrPath::Device(dev)),
                // As libguestfs's is_device_parameter: a /dev/ name that is not /dev/sd*
                // and no block device of ours is a file of the guest's own /dev
                // (`file /dev/console`, tests/regressions/rhbz1477623.sh), once a root is
                // mounted; it resolves under the guest's root like any path.
                Err(_) if !d.as_str().starts_with("/dev/sd") && self.mounts.root_mounted() => {
                    Ok(ResolvedDevOrPath::Path(GuestPath::from(d.as_str())))
                }
                Err(e) => Err(e),
            },
            DevOrPath::Path(p) => {
                self.need_root()?;
                Ok(ResolvedDevOrPath::Path(p))
            }
        }
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
        device: ResolvedDevice,
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
        self.mounts.mount(&self.modules, &device, &mountpoint, how)
    }

    fn umount_all(&self, _: &mut Call) -> io::Result<()> {
        handles::close_all();
        self.mounts.umount_all()
    }

    fn mounts(&self, _: &mut Call) -> io::Result<Vec<MountEntry>> {
        self.mounts.list()
    }

    fn read_file(&self, _: &mut Call, path: GuestPath) -> io::Result<Data> {
        files::read_file(&path)
    }

    fn write_file(&self, _: &mut Call, path: GuestPath, content: Data) -> io::Result<()> {
        files::write_file(&path, &content.0)
    }

    fn sync(&self, _: &mut Call) -> io::Result<()> {
        self.sync_all()
    }

    fn poweroff(&self, _: &mut Call) -> io::Result<()> {
        // Unmount what can be unmounted; whatever happens, flush the disks. A failure to
        // flush is reported: the host must not claim success then.
        handles::close_all();
        // An open hive keeps its file open, which would keep the filesystem busy.
        hivex::release();
        let umounted = self.mounts.umount_all();
        self.sync_all()?;
        umounted
    }

    // ==== files, directories, attributes, transfers, commands ====
    fn exists(&self, _: &mut Call, path: GuestPath) -> io::Result<bool> {
        fileops::exists(&path)
    }

    fn is_file(&self, _: &mut Call, path: GuestPath, follow: Option<bool>) -> io::Result<bool> {
        fileops::is_kind(&path, FileKind::Regular, follow.unwrap_or(false))
    }

    fn is_dir(&self, _: &mut Call, path: GuestPath, follow: Option<bool>) -> io::Result<bool> {
        fileops::is_kind(&path, FileKind::Directory, follow.unwrap_or(false))
    }

    fn is_symlink(&self, _: &mut Call, path: GuestPath) -> io::Result<bool> {
        fileops::is_kind(&path, FileKind::Symlink, false)
    }

    fn is_fifo(&self, _: &mut Call, path: GuestPath, follow: Option<bool>) -> io::Result<bool> {
        fileops::is_kind(&path, FileKind::Fifo, follow.unwrap_or(false))
    }

    fn is_blockdev(&self, _: &mut Call, path: GuestPath, follow: Option<bool>) -> io::Result<bool> {
        fileops::is_kind(&path, FileKind::BlockDevice, follow.unwrap_or(false))
    }

    fn is_chardev(&self, _: &mut Call, path: GuestPath, follow: Option<bool>) -> io::Result<bool> {
        fileops::is_kind(&path, FileKind::CharDevice, follow.unwrap_or(false))
    }

    fn is_socket(&self, _: &mut Call, path: GuestPath, follow: Option<bool>) -> io::Result<bool> {
        fileops::is_kind(&path, FileKind::Socket, follow.unwrap_or(false))
    }

    fn stat(&self, _: &mut Call, path: GuestPath) -> io::Result<Stat> {
        fileops::stat(&path)
    }

    fn lstat(&self, _: &mut Call, path: GuestPath) -> io::Result<Stat> {
        fileops::lstat(&path)
    }

    fn statvfs(&self, _: &mut Call, path: GuestPath) -> io::Result<StatVfs> {
        fileops::statvfs(&path)
    }

    fn readlink(&self, _: &mut Call, path: GuestPath) -> io::Result<GuestPath> {
        fileops::readlink(&path)
    }

    fn realpath(&self, _: &mut Call, path: GuestPath) -> io::Result<GuestPath> {
        fileops::realpath(&path)
    }

    fn du(&self, call: &mut Call, path: GuestPath) -> io::Result<u64> {
        dirs::du(call, &path)
    }

    fn ls(&self, _: &mut Call, dir: GuestPath) -> io::Result<Vec<FileName>> {
        dirs::ls(&dir)
    }

    fn ll(&self, _: &mut Call, dir: GuestPath) -> io::Result<String> {
        dirs::ll(&dir)
    }

    fn readdir(
        &self,
        _: &mut Call,
        dir: GuestPath,
        offset: Option<u64>,
        count: Option<u32>,
    ) -> io::Result<DirPage> {
        dirs::readdir(&dir, offset, count)
    }

    fn readdir_plus(
        &self,
        _: &mut Call,
        dir: GuestPath,
        offset: Option<u64>,
        count: Option<u32>,
    ) -> io::Result<DirPlusPage> {
        dirs::readdir_plus(&dir, offset, count)
    }

    fn readdir_tree(
        &self,
        _: &mut Call,
        dir: GuestPath,
        max: Option<u32>,
    ) -> io::Result<Vec<DirListing>> {
        tree::readdir_tree(&dir, max)
    }

    fn find(&self, call: &mut Call, dir: GuestPath) -> io::Result<Vec<GuestPath>> {
        dirs::find(call, &dir)
    }

    fn find0(&self, call: &mut Call, dir: GuestPath) -> io::Result<()> {
        dirs::find0(call, &dir)
    }

    fn glob_expand(
        &self,
        _: &mut Call,
        pattern: GuestPath,
        directoryslash: Option<bool>,
    ) -> io::Result<Vec<GuestPath>> {
        dirs::glob_expand(&pattern, directoryslash)
    }

    fn glob_expand_list(
        &self,
        _: &mut Call,
        patterns: Vec<GuestPath>,
    ) -> io::Result<Vec<GlobMatches>> {
        dirs::glob_expand_list(patterns)
    }

    fn mkdir(&self, _: &mut Call, path: GuestPath) -> io::Result<()> {
        dirs::mkdir(&path, 0o755)
    }

    fn mkdir_p(&self, _: &mut Call, path: GuestPath) -> io::Result<()> {
        dirs::mkdir_p(&path)
    }

    fn mkdir_mode(&self, _: &mut Call, path: GuestPath, mode: Mode) -> io::Result<()> {
        dirs::mkdir(&path, mode.0)
    }

    fn rmdir(&self, _: &mut Call, path: GuestPath) -> io::Result<()> {
        dirs::rmdir(&path)
    }

    fn rm(&self, _: &mut Call, path: GuestPath) -> io::Result<()> {
        dirs::rm(&path, false)
    }

    fn rm_f(&self, _: &mut Call, path: GuestPath) -> io::Result<()> {
        dirs::rm(&path, true)
    }

    fn rm_rf(&self, call: &mut Call, path: GuestPath) -> io::Result<()> {
        dirs::rm_rf(call, &path)
    }

    fn mv(&self, call: &mut Call, src: GuestPath, dest: GuestPath) -> io::Result<()> {
        copy::mv(call, &src, &dest)
    }

    fn cp(&self, call: &mut Call, src: GuestPath, dest: GuestPath) -> io::Result<()> {
        let how = copy::CopyHow {
            recursive: false,
            preserve: false,
        };
        copy::cp(call, &src, &dest, how)
    }

    fn cp_a(&self, call: &mut Call, src: GuestPath, dest: GuestPath) -> io::Result<()> {
        let how = copy::CopyHow {
            recursive: true,
            preserve: true,
        };
        copy::cp(call, &src, &dest, how)
    }

    fn cp_r(&self, call: &mut Call, src: GuestPath, dest: GuestPath) -> io::Result<()> {
        let how = copy::CopyHow {
            recursive: true,
            preserve: false,
        };
        copy::cp(call, &src, &dest, how)
    }

    fn touch(&self, _: &mut Call, path: GuestPath) -> io::Result<()> {
        fileops::touch(&path)
    }

    fn truncate(&self, _: &mut Call, path: GuestPath) -> io::Result<()> {
        fileops::truncate(&path, 0)
    }

    fn truncate_size(&self, _: &mut Call, path: GuestPath, size: ByteSize) -> io::Result<()> {
        fileops::truncate(&path, size.0)
    }

    fn ln(&self, _: &mut Call, target: GuestPath, linkname: GuestPath) -> io::Result<()> {
        fileops::ln(&target, &linkname, false)
    }

    fn ln_f(&self, _: &mut Call, target: GuestPath, linkname: GuestPath) -> io::Result<()> {
        fileops::ln(&target, &linkname, true)
    }

    fn ln_s(&self, _: &mut Call, target: LinkTarget, linkname: GuestPath) -> io::Result<()> {
        fileops::ln_s(&target, &linkname, false)
    }

    fn ln_sf(&self, _: &mut Call, target: LinkTarget, linkname: GuestPath) -> io::Result<()> {
        fileops::ln_s(&target, &linkname, true)
    }

    fn mknod(
        &self,
        _: &mut Call,
        mode: u32,
        major: u32,
        minor: u32,
        path: GuestPath,
    ) -> io::Result<()> {
        fileops::mknod(mode, major, minor, &path)
    }

    fn mkfifo(&self, _: &mut Call, mode: Mode, path: GuestPath) -> io::Result<()> {
        fileops::mknod(libc::S_IFIFO | mode.0, 0, 0, &path)
    }

    fn mknod_b(
        &self,
        _: &mut Call,
        mode: Mode,
        major: u32,
        minor: u32,
        path: GuestPath,
    ) -> io::Result<()> {
        fileops::mknod(libc::S_IFBLK | mode.0, major, minor, &path)
    }

    fn mknod_c(
        &self,
        _: &mut Call,
        mode: Mode,
        major: u32,
        minor: u32,
        path: GuestPath,
    ) -> io::Result<()> {
        fileops::mknod(libc::S_IFCHR | mode.0, major, minor, &path)
    }

    fn rename(
        &self,
        _: &mut Call,
        src: GuestPath,
        dest: GuestPath,
        noreplace: Option<bool>,
        exchange: Option<bool>,
    ) -> io::Result<()> {
        fileops::rename(
            &src,
            &dest,
            noreplace.unwrap_or(false),
            exchange.unwrap_or(false),
        )
    }

    fn access(&self, _: &mut Call, path: GuestPath, mode: i32) -> io::Result<()> {
        fileops::access(&path, mode)
    }

    fn chmod(&self, _: &mut Call, mode: Mode, path: GuestPath) -> io::Result<()> {
        attrs::chmod(mode.0, &path)
    }

    fn chown(&self, _: &mut Call, owner: i64, group: i64, path: GuestPath) -> io::Result<()> {
        attrs::chown(owner, group, &path, true)
    }

    fn lchown(&self, _: &mut Call, owner: i64, group: i64, path: GuestPath) -> io::Result<()> {
        attrs::chown(owner, group, &path, false)
    }

    fn utimens(
        &self,
        _: &mut Call,
        path: GuestPath,
        atsecs: i64,
        atnsecs: i64,
        mtsecs: i64,
        mtnsecs: i64,
    ) -> io::Result<()> {
        attrs::utimens(&path, [(atsecs, atnsecs), (mtsecs, mtnsecs)], true)
    }

    fn lutimens(
        &self,
        _: &mut Call,
        path: GuestPath,
        atsecs: i64,
        atnsecs: i64,
        mtsecs: i64,
        mtnsecs: i64,
    ) -> io::Result<()> {
        attrs::utimens(&path, [(atsecs, atnsecs), (mtsecs, mtnsecs)], false)
    }

    fn getxattrs(&self, _: &mut Call, path: GuestPath) -> io::Result<Vec<XAttr>> {
        attrs::getxattrs(&path, true)
    }

    fn lgetxattrs(&self, _: &mut Call, path: GuestPath) -> io::Result<Vec<XAttr>> {
        attrs::getxattrs(&path, false)
    }

    fn getxattr(&self, _: &mut Call, path: GuestPath, name: String) -> io::Result<Data> {
        attrs::getxattr(&path, &name, true)
    }

    fn lgetxattr(&self, _: &mut Call, path: GuestPath, name: String) -> io::Result<Data> {
        attrs::getxattr(&path, &name, false)
    }

    fn setxattr(
        &self,
        _: &mut Call,
        name: String,
        val: Data,
        vallen: i32,
        path: GuestPath,
    ) -> io::Result<()> {
        attrs::setxattr(&name, &val.0, vallen, &path, true)
    }

    fn lsetxattr(
        &self,
        _: &mut Call,
        name: String,
        val: Data,
        vallen: i32,
        path: GuestPath,
    ) -> io::Result<()> {
        attrs::setxattr(&name, &val.0, vallen, &path, false)
    }

    fn removexattr(&self, _: &mut Call, name: String, path: GuestPath) -> io::Result<()> {
        attrs::removexattr(&name, &path, true)
    }

    fn lremovexattr(&self, _: &mut Call, name: String, path: GuestPath) -> io::Result<()> {
        attrs::removexattr(&name, &path, false)
    }

    fn read_lines(&self, _: &mut Call, path: GuestPath) -> io::Result<Vec<Line>> {
        fileops::read_lines(&path)
    }

    fn pread(
        &self,
        _: &mut Call,
        path: GuestPath,
        count: ByteSize,
        offset: ByteSize,
    ) -> io::Result<Data> {
        fileops::pread(&path, count.0, offset.0)
    }

    fn pwrite(
        &self,
        _: &mut Call,
        path: GuestPath,
        content: Data,
        offset: ByteSize,
    ) -> io::Result<u64> {
        fileops::pwrite(&path, &content.0, offset.0)
    }

    fn write_append(&self, _: &mut Call, path: GuestPath, content: Data) -> io::Result<()> {
        fileops::write_append(&path, &content.0)
    }

    fn replace_file(&self, _: &mut Call, path: GuestPath, content: Data) -> io::Result<()> {
        crate::fs::replace::replace_file(&path, &content.0)
    }

    fn upload(&self, call: &mut Call, path: ResolvedDevOrPath) -> io::Result<()> {
        transfer::upload(call, &path)
    }

    fn upload_offset(
        &self,
        call: &mut Call,
        path: ResolvedDevOrPath,
        offset: ByteSize,
    ) -> io::Result<()> {
        transfer::upload_offset(call, &path, offset.0)
    }

    fn download(&self, call: &mut Call, path: ResolvedDevOrPath) -> io::Result<()> {
        transfer::download(call, &path)
    }

    fn download_offset(
        &self,
        call: &mut Call,
        path: ResolvedDevOrPath,
        offset: ByteSize,
        size: ByteSize,
    ) -> io::Result<()> {
        transfer::download_offset(call, &path, offset.0, size.0)
    }

    fn checksum(&self, call: &mut Call, t: ChecksumType, path: GuestPath) -> io::Result<String> {
        checksum::checksum(call, t, &path)
    }

    fn checksum_device(
        &self,
        call: &mut Call,
        t: ChecksumType,
        device: ResolvedDevice,
    ) -> io::Result<String> {
        checksum::checksum_device(call, t, device.node())
    }

    fn checksums_out(&self, call: &mut Call, t: ChecksumType, dir: GuestPath) -> io::Result<()> {
        checksum::checksums_out(call, t, &dir)
    }

    fn tar_in(
        &self,
        call: &mut Call,
        dir: GuestPath,
        compress: Option<Compression>,
        xattrs: Option<bool>,
        numericowner: Option<bool>,
    ) -> io::Result<u64> {
        let how = tario::TarHow {
            compress: compress.unwrap_or_default(),
            xattrs: xattrs.unwrap_or(false),
            numericowner: numericowner.unwrap_or(false),
            excludes: Vec::new(),
        };
        tario::tar_in(call, &dir, &how)
    }

    fn tar_out(
        &self,
        call: &mut Call,
        dir: GuestPath,
        compress: Option<Compression>,
        xattrs: Option<bool>,
        numericowner: Option<bool>,
        excludes: Option<Vec<String>>,
    ) -> io::Result<()> {
        let how = tario::TarHow {
            compress: compress.unwrap_or_default(),
            xattrs: xattrs.unwrap_or(false),
            numericowner: numericowner.unwrap_or(false),
            excludes: excludes.unwrap_or_default(),
        };
        tario::tar_out(call, &dir, &how)
    }

    fn command(
        &self,
        call: &mut Call,
        argv: Vec<String>,
        timeout: Option<u64>,
    ) -> io::Result<String> {
        command::run(call, &argv, timeout)
    }

    fn command_lines(
        &self,
        call: &mut Call,
        argv: Vec<String>,
        timeout: Option<u64>,
    ) -> io::Result<Vec<String>> {
        command::run(call, &argv, timeout).map(|o| command::lines(&o))
    }

    fn sh(&self, call: &mut Call, line: String, timeout: Option<u64>) -> io::Result<String> {
        command::run(call, &["/bin/sh".into(), "-c".into(), line], timeout)
    }

    fn sh_lines(
        &self,
        call: &mut Call,
        line: String,
        timeout: Option<u64>,
    ) -> io::Result<Vec<String>> {
        let out = command::run(call, &["/bin/sh".into(), "-c".into(), line], timeout)?;
        Ok(command::lines(&out))
    }

    fn fh_open(&self, _: &mut Call, path: GuestPath, flags: i32) -> io::Result<FileHandle> {
        handles::open(&path, flags)
    }

    fn fh_create(
        &self,
        _: &mut Call,
        path: GuestPath,
        mode: Mode,
        flags: i32,
    ) -> io::Result<FileHandle> {
        handles::create(&path, mode.0, flags)
    }

    fn fh_read(
        &self,
        _: &mut Call,
        h: FileHandle,
        offset: ByteSize,
        size: ByteSize,
    ) -> io::Result<Data> {
        handles::read(h, offset.0, size.0)
    }

    fn fh_write(
        &self,
        _: &mut Call,
        h: FileHandle,
        offset: ByteSize,
        data: Data,
    ) -> io::Result<u64> {
        handles::write(h, offset.0, &data.0)
    }

    fn fh_fsync(&self, _: &mut Call, h: FileHandle, datasync: Option<bool>) -> io::Result<()> {
        handles::fsync(h, datasync.unwrap_or(false))
    }

    fn fh_truncate(&self, _: &mut Call, h: FileHandle, size: ByteSize) -> io::Result<()> {
        handles::truncate(h, size.0)
    }

    fn fh_stat(&self, _: &mut Call, h: FileHandle) -> io::Result<Stat> {
        handles::stat(h)
    }

    #[allow(clippy::too_many_arguments)]
    fn fh_setattr(
        &self,
        _: &mut Call,
        h: FileHandle,
        size: Option<ByteSize>,
        owner: Option<i64>,
        group: Option<i64>,
        mode: Option<Mode>,
        atsecs: Option<i64>,
        atnsecs: Option<i64>,
        mtsecs: Option<i64>,
        mtnsecs: Option<i64>,
    ) -> io::Result<Stat> {
        let times = [
            (atsecs.unwrap_or(0), atnsecs.unwrap_or(-2)),
            (mtsecs.unwrap_or(0), mtnsecs.unwrap_or(-2)),
        ];
        handles::setattr(
            h,
            size.map(|s| s.0),
            owner.unwrap_or(-1),
            group.unwrap_or(-1),
            mode.map(|m| m.0),
            times,
        )
    }

    fn fh_close(&self, _: &mut Call, h: FileHandle) -> io::Result<()> {
        handles::close(h)
    }

    #[allow(clippy::too_many_arguments)]
    fn lsetattr(
        &self,
        _: &mut Call,
        path: GuestPath,
        size: Option<ByteSize>,
        owner: Option<i64>,
        group: Option<i64>,
        mode: Option<Mode>,
        atsecs: Option<i64>,
        atnsecs: Option<i64>,
        mtsecs: Option<i64>,
        mtnsecs: Option<i64>,
    ) -> io::Result<Stat> {
        if let Some(size) = size {
            fileops::truncate(&path, size.0)?;
        }
        if owner.is_some() || group.is_some() {
            attrs::chown(owner.unwrap_or(-1), group.unwrap_or(-1), &path, false)?;
        }
        if let Some(mode) = mode {
            attrs::chmod(mode.0, &path)?;
        }
        let (atnsecs, mtnsecs) = (atnsecs.unwrap_or(-2), mtnsecs.unwrap_or(-2));
        if atnsecs != -2 || mtnsecs != -2 {
            let times = [
                (atsecs.unwrap_or(0), atnsecs),
                (mtsecs.unwrap_or(0), mtnsecs),
            ];
            attrs::utimens(&path, times, false)?;
        }
        fileops::lstat(&path)
    }

    fn read_file_nofollow(&self, _: &mut Call, path: GuestPath) -> io::Result<Data> {
        files::read_file_nofollow(&path)
    }

    fn lchmod(&self, _: &mut Call, mode: Mode, path: GuestPath) -> io::Result<()> {
        attrs::lchmod(mode.0, &path)
    }

    // ==== end of files ====

    // ==== block devices, partitions, filesystems, LVM ====
    fn list_filesystems(&self, _: &mut Call) -> io::Result<Vec<Filesystem>> {
        crate::block::fsinfo::list_filesystems(&self.disks, &self.modules, false)
    }

    fn list_filesystems_all(&self, _: &mut Call) -> io::Result<Vec<Filesystem>> {
        crate::block::fsinfo::list_filesystems(&self.disks, &self.modules, true)
    }

    fn vfs_type(&self, _: &mut Call, device: ResolvedDevice) -> io::Result<String> {
        crate::block::fsinfo::vfs_type(device.node())
    }

    fn vfs_label(&self, _: &mut Call, device: ResolvedDevice) -> io::Result<String> {
        crate::block::fsinfo::vfs_label(device.node())
    }

    fn vfs_uuid(&self, _: &mut Call, device: ResolvedDevice) -> io::Result<String> {
        crate::block::fsinfo::vfs_uuid(device.node())
    }

    fn blkid(&self, _: &mut Call, device: ResolvedDevice) -> io::Result<Vec<KeyValue>> {
        crate::block::fsinfo::blkid(&device)
    }

    fn blockdev_getsize64(&self, _: &mut Call, device: ResolvedDevice) -> io::Result<u64> {
        crate::block::blockdev::size64(device.node())
    }

    fn blockdev_getss(&self, _: &mut Call, device: ResolvedDevice) -> io::Result<u32> {
        crate::block::blockdev::sector_size(device.node())
    }

    fn blockdev_getro(&self, _: &mut Call, device: ResolvedDevice) -> io::Result<bool> {
        crate::block::blockdev::read_only(device.node())
    }

    fn blockdev_rereadpt(&self, _: &mut Call, device: ResolvedDisk) -> io::Result<()> {
        crate::block::blockdev::reread(device.node())
    }

    fn available(&self, _: &mut Call, groups: Vec<String>) -> io::Result<()> {
        crate::block::fsinfo::available(&self.modules, &groups)
    }

    fn feature_available(&self, _: &mut Call, groups: Vec<String>) -> io::Result<bool> {
        crate::block::fsinfo::feature_available(&self.modules, &groups)
    }

    fn part_init(
        &self,
        _: &mut Call,
        device: ResolvedDisk,
        parttype: PartTableType,
    ) -> io::Result<()> {
        crate::block::parts::init(device.node(), parttype)
    }

    fn part_disk(
        &self,
        _: &mut Call,
        device: ResolvedDisk,
        parttype: PartTableType,
    ) -> io::Result<()> {
        crate::block::parts::part_disk(device.node(), parttype)
    }

    fn part_add(
        &self,
        _: &mut Call,
        device: ResolvedDisk,
        prlogex: PartKind,
        start: ByteSize,
        end: ByteSize,
    ) -> io::Result<()> {
        crate::block::parts::add(
            device.node(),
            device.name().as_str(),
            prlogex,
            start.0,
            end.0,
        )
    }

    fn part_del(&self, _: &mut Call, device: ResolvedDisk, partnum: u32) -> io::Result<()> {
        crate::block::parts::delete(device.node(), partnum)
    }

    fn part_list(&self, _: &mut Call, device: ResolvedDisk) -> io::Result<Vec<PartitionEntry>> {
        crate::block::parts::list(device.node())
    }

    fn part_get_parttype(&self, _: &mut Call, device: ResolvedDisk) -> io::Result<PartTableType> {
        crate::block::parts::parttype(device.node())
    }

    fn part_set_name(
        &self,
        _: &mut Call,
        device: ResolvedDisk,
        partnum: u32,
        name: String,
    ) -> io::Result<()> {
        crate::block::parts::set_name(device.node(), partnum, &name)
    }

    fn part_get_name(
        &self,
        _: &mut Call,
        device: ResolvedDisk,
        partnum: u32,
    ) -> io::Result<String> {
        crate::block::parts::get_name(device.node(), partnum)
    }

    fn part_set_gpt_type(
        &self,
        _: &mut Call,
        device: ResolvedDisk,
        partnum: u32,
        guid: String,
    ) -> io::Result<()> {
        crate::block::parts::set_gpt_type(device.node(), partnum, &guid)
    }

    fn part_get_gpt_type(
        &self,
        _: &mut Call,
        device: ResolvedDisk,
        partnum: u32,
    ) -> io::Result<String> {
        crate::block::parts::get_gpt_type(device.node(), partnum)
    }

    fn part_set_mbr_id(
        &self,
        _: &mut Call,
        device: ResolvedDisk,
        partnum: u32,
        id: u32,
    ) -> io::Result<()> {
        crate::block::parts::set_mbr_id(device.node(), partnum, id)
    }

    fn part_get_mbr_id(&self, _: &mut Call, device: ResolvedDisk, partnum: u32) -> io::Result<u32> {
        crate::block::parts::get_mbr_id(device.node(), partnum)
    }

    fn part_set_bootable(
        &self,
        _: &mut Call,
        device: ResolvedDisk,
        partnum: u32,
        bootable: bool,
    ) -> io::Result<()> {
        crate::block::parts::set_bootable(device.node(), partnum, bootable)
    }

    fn part_get_bootable(
        &self,
        _: &mut Call,
        device: ResolvedDisk,
        partnum: u32,
    ) -> io::Result<bool> {
        crate::block::parts::get_bootable(device.node(), partnum)
    }

    fn part_to_dev(&self, _: &mut Call, partition: ResolvedDevice) -> io::Result<Device> {
        Ok(crate::block::blockdev::part_to_dev(&self.disks, &partition)?.0)
    }

    fn part_to_partnum(&self, _: &mut Call, partition: ResolvedDevice) -> io::Result<u32> {
        Ok(crate::block::blockdev::part_to_dev(&self.disks, &partition)?.1)
    }

    fn part_expand_gpt(&self, _: &mut Call, device: ResolvedDisk) -> io::Result<()> {
        crate::block::parts::expand_gpt(device.node())
    }

    #[allow(clippy::too_many_arguments)]
    fn mkfs(
        &self,
        _: &mut Call,
        fstype: FsType,
        device: ResolvedDevice,
        blocksize: Option<ByteSize>,
        label: Option<String>,
        features: Option<String>,
        inode: Option<u32>,
        sectorsize: Option<u32>,
    ) -> io::Result<()> {
        let opts = crate::fs::mkfs::MkfsOptions {
            blocksize: blocksize.map(|b| b.0),
            label: label.as_deref(),
            features: features.as_deref(),
            inode,
            sectorsize,
        };
        crate::fs::mkfs::mkfs(&fstype, device.node(), &opts)
    }

    fn mkswap(
        &self,
        _: &mut Call,
        device: ResolvedDevice,
        label: Option<String>,
        uuid: Option<String>,
    ) -> io::Result<()> {
        crate::fs::mkfs::mkswap(device.node(), label.as_deref(), uuid.as_deref())
    }

    fn ntfs_3g_probe(&self, _: &mut Call, rw: bool, device: ResolvedDevice) -> io::Result<i32> {
        crate::fs::ntfs::probe(rw, device.node(), device.name().as_str())
    }

    fn ntfsresize(
        &self,
        _: &mut Call,
        device: ResolvedDevice,
        size: Option<i64>,
        force: Option<bool>,
    ) -> io::Result<()> {
        crate::fs::ntfs::resize(
            "ntfsresize",
            device.node(),
            device.name().as_str(),
            size,
            force.unwrap_or(false),
        )
    }

    fn ntfsresize_size(&self, _: &mut Call, device: ResolvedDevice, size: i64) -> io::Result<()> {
        let name = device.name().as_str();
        crate::fs::ntfs::resize("ntfsresize_size", device.node(), name, Some(size), false)
    }

    fn ntfsfix(
        &self,
        _: &mut Call,
        device: ResolvedDevice,
        clearbadsectors: Option<bool>,
    ) -> io::Result<()> {
        crate::fs::ntfs::fix(
            device.node(),
            device.name().as_str(),
            clearbadsectors.unwrap_or(false),
        )
    }

    fn set_label(&self, _: &mut Call, device: ResolvedDevice, label: String) -> io::Result<()> {
        crate::fs::mkfs::set_label(device.node(), &label)
    }

    fn set_uuid(&self, _: &mut Call, device: ResolvedDevice, uuid: String) -> io::Result<()> {
        crate::fs::mkfs::set_uuid(device.node(), &uuid)
    }

    fn e2fsck(
        &self,
        _: &mut Call,
        device: ResolvedDevice,
        correct: Option<bool>,
        forceall: Option<bool>,
    ) -> io::Result<()> {
        let (correct, forceall) = (correct.unwrap_or(false), forceall.unwrap_or(false));
        crate::fs::mkfs::e2fsck(device.node(), correct, forceall)
    }

    fn fsck(&self, _: &mut Call, fstype: FsType, device: ResolvedDevice) -> io::Result<i32> {
        crate::fs::mkfs::fsck(&fstype, device.node())
    }

    fn resize2fs(
        &self,
        _: &mut Call,
        device: ResolvedDevice,
        size: Option<ByteSize>,
    ) -> io::Result<()> {
        crate::fs::mkfs::resize2fs(device.node(), size.map(|s| s.0))
    }

    fn zero(&self, _: &mut Call, device: ResolvedDevice) -> io::Result<()> {
        crate::fs::mkfs::zero(device.node())
    }

    fn zero_device(&self, call: &mut Call, device: ResolvedDevice) -> io::Result<()> {
        crate::fs::mkfs::zero_device(call, device.node())
    }

    fn wipefs(&self, _: &mut Call, device: ResolvedDevice) -> io::Result<()> {
        let path = device.node();
        let whole_disk = crate::block::blockdev::disk_index(&self.disks, path).is_some();
        crate::fs::mkfs::wipefs(path, whole_disk)
    }

    fn fstrim(&self, _: &mut Call, mountpoint: GuestPath) -> io::Result<()> {
        crate::fs::mkfs::fstrim(&mountpoint)
    }

    fn lvm_scan(&self, _: &mut Call, activate: bool) -> io::Result<()> {
        crate::block::lvm::scan(&self.disks, &self.modules, activate)
    }

    fn vg_activate_all(&self, _: &mut Call, activate: bool) -> io::Result<()> {
        crate::block::lvm::vg_activate_all(&self.disks, &self.modules, activate)
    }

    fn pvchange_uuid_all(&self, _: &mut Call) -> io::Result<()> {
        crate::block::lvm::change_uuids(&self.disks, &self.modules, "pvchange")
    }

    fn vgchange_uuid_all(&self, _: &mut Call) -> io::Result<()> {
        crate::block::lvm::change_uuids(&self.disks, &self.modules, "vgchange")
    }

    fn pvs(&self, _: &mut Call) -> io::Result<Vec<Device>> {
        Ok(crate::block::lvm::pvs_full(&self.disks, &self.modules)?
            .into_iter()
            .map(|p| p.device)
            .collect())
    }

    fn vgs(&self, _: &mut Call) -> io::Result<Vec<String>> {
        Ok(crate::block::lvm::vgs_full(&self.disks, &self.modules)?
            .into_iter()
            .map(|v| v.name)
            .collect())
    }

    fn lvs(&self, _: &mut Call) -> io::Result<Vec<Device>> {
        Ok(crate::block::lvm::lvs_full(&self.disks, &self.modules)?
            .into_iter()
            .map(|l| l.device)
            .collect())
    }

    fn pvs_full(&self, _: &mut Call) -> io::Result<Vec<LvmPv>> {
        crate::block::lvm::pvs_report(&self.disks, &self.modules)
    }

    fn vgs_full(&self, _: &mut Call) -> io::Result<Vec<LvmVg>> {
        crate::block::lvm::vgs_report(&self.disks, &self.modules)
    }

    fn lvs_full(&self, _: &mut Call) -> io::Result<Vec<LvmLv>> {
        crate::block::lvm::lvs_report(&self.disks, &self.modules)
    }

    fn pvcreate(&self, _: &mut Call, device: ResolvedDevice) -> io::Result<()> {
        crate::block::lvm::pvcreate(&self.disks, &self.modules, &device)
    }

    fn vgcreate(&self, _: &mut Call, vgname: String, pvs: Vec<ResolvedDevice>) -> io::Result<()> {
        crate::block::lvm::vgcreate(&self.disks, &self.modules, &vgname, &pvs)
    }

    fn lvcreate(
        &self,
        _: &mut Call,
        lvname: String,
        vgname: String,
        size: ByteSize,
    ) -> io::Result<()> {
        crate::block::lvm::lvcreate(&self.disks, &self.modules, &lvname, &vgname, size.0)
    }

    fn lvcreate_free(
        &self,
        _: &mut Call,
        lvname: String,
        vgname: String,
        percent: u32,
    ) -> io::Result<()> {
        crate::block::lvm::lvcreate_free(&self.disks, &self.modules, &lvname, &vgname, percent)
    }

    fn lvresize(&self, _: &mut Call, device: VolumeName, size: ByteSize) -> io::Result<()> {
        crate::block::lvm::lvresize(&self.disks, &self.modules, &device.0, size.0)
    }

    fn lvremove(&self, _: &mut Call, device: VolumeName) -> io::Result<()> {
        crate::block::lvm::lvremove(&self.disks, &self.modules, &device.0)
    }

    fn vgremove(&self, _: &mut Call, vgname: String) -> io::Result<()> {
        crate::block::lvm::vgremove(&self.disks, &self.modules, &vgname)
    }

    fn pvremove(&self, _: &mut Call, device: ResolvedDevice) -> io::Result<()> {
        crate::block::lvm::pvremove(&self.disks, &self.modules, &device)
    }

    fn vgrename(&self, _: &mut Call, vgname: String, newvgname: String) -> io::Result<()> {
        crate::block::lvm::vgrename(&self.disks, &self.modules, &vgname, &newvgname)
    }

    fn lvrename(&self, _: &mut Call, logvol: VolumeName, newname: String) -> io::Result<()> {
        crate::block::lvm::lvrename(&self.disks, &self.modules, &logvol.0, &newname)
    }

    fn luks_open(
        &self,
        _: &mut Call,
        device: ResolvedDevice,
        key: Secret,
        mapname: String,
    ) -> io::Result<()> {
        crate::block::luks::open(&self.modules, &device, &key, &mapname)
    }

    fn luks_close(&self, _: &mut Call, device: VolumeName) -> io::Result<()> {
        crate::block::luks::close(&device.0)
    }

    fn list_md_devices(&self, _: &mut Call) -> io::Result<Vec<Device>> {
        crate::block::md::assemble_once(&self.disks, &self.modules)?;
        Ok(crate::block::md::list())
    }

    fn md_detail(&self, _: &mut Call, md: ResolvedDevice) -> io::Result<Vec<String>> {
        // mdadm names the members by the appliance's nodes (`/dev/vda`), in the values and
        // in keys such as `device_dev_vda_role`; guestfish shows the caller's (`/dev/sda`).
        let user = |kernel: &str| self.disks.to_user(kernel).to_string();
        Ok(crate::block::md::detail(&self.modules, md.node())?
            .into_iter()
            .map(|(k, v)| {
                let k = match k
                    .strip_prefix("device_dev_")
                    .and_then(|rest| rest.rsplit_once('_'))
                {
                    Some((dev, field)) => {
                        let shown = user(&format!("/dev/{dev}"));
                        let shown = shown.strip_prefix("/dev/").unwrap_or(&shown);
                        format!("device_dev_{shown}_{field}")
                    }
                    None => k,
                };
                let v = if v.starts_with("/dev/") { user(&v) } else { v };
                format!("{k}={v}")
            })
            .collect())
    }

    fn md_create(
        &self,
        _: &mut Call,
        name: String,
        devices: Vec<ResolvedDevice>,
        missingbitmap: Option<i64>,
        nrdevices: Option<i32>,
        spare: Option<i32>,
        chunk: Option<ByteSize>,
        level: Option<String>,
    ) -> io::Result<()> {
        let nodes: Vec<String> = devices
            .iter()
            .map(|d| d.node().to_string_lossy().into_owned())
            .collect();
        let layout = crate::block::md::Layout::new(
            nodes,
            missingbitmap,
            nrdevices,
            spare,
            chunk.map(|c| c.0),
        )?;
        crate::block::md::create(
            &self.modules,
            &name,
            level.as_deref().unwrap_or("raid1"),
            &layout,
        )
    }

    fn md_stop(&self, _: &mut Call, md: ResolvedDevice) -> io::Result<()> {
        crate::block::md::stop(&self.modules, md.node())
    }
    // ==== end of block devices ====

    // ==== guestfish commands (issue 11 step 2) ====
    fn head(&self, _: &mut Call, path: GuestPath) -> io::Result<Vec<Line>> {
        text::head_n(10, &path)
    }

    fn head_n(&self, _: &mut Call, n: i32, path: GuestPath) -> io::Result<Vec<Line>> {
        text::head_n(n, &path)
    }

    fn tail(&self, _: &mut Call, path: GuestPath) -> io::Result<Vec<Line>> {
        text::tail_n(10, &path)
    }

    fn tail_n(&self, _: &mut Call, n: i32, path: GuestPath) -> io::Result<Vec<Line>> {
        text::tail_n(n, &path)
    }

    fn filesize(&self, _: &mut Call, path: GuestPath) -> io::Result<i64> {
        text::filesize(&path)
    }

    fn statns(&self, _: &mut Call, path: GuestPath) -> io::Result<StatNs> {
        text::statns(&path, true).map(|s| self.user_statns(s))
    }

    fn lstatns(&self, _: &mut Call, path: GuestPath) -> io::Result<StatNs> {
        text::statns(&path, false).map(|s| self.user_statns(s))
    }

    fn wc_l(&self, _: &mut Call, path: GuestPath) -> io::Result<i32> {
        text::wc_l(&path)
    }

    fn wc_w(&self, _: &mut Call, path: GuestPath) -> io::Result<i32> {
        text::wc_w(&path)
    }

    fn wc_c(&self, _: &mut Call, path: GuestPath) -> io::Result<i32> {
        text::wc_c(&path)
    }

    fn strings(&self, _: &mut Call, path: GuestPath) -> io::Result<Vec<Line>> {
        text::strings(&path)
    }

    fn hexdump(&self, _: &mut Call, path: GuestPath) -> io::Result<String> {
        text::hexdump(&path)
    }

    fn is_zero(&self, _: &mut Call, path: GuestPath) -> io::Result<bool> {
        text::is_zero(&path)
    }

    fn is_zero_device(&self, _: &mut Call, device: ResolvedDevice) -> io::Result<bool> {
        text::is_zero_device(crate::block::blockdev::open_read(device.node())?)
    }

    fn fallocate(&self, _: &mut Call, path: GuestPath, len: i32) -> io::Result<()> {
        text::fallocate(&path, i64::from(len))
    }

    fn fallocate64(&self, _: &mut Call, path: GuestPath, len: i64) -> io::Result<()> {
        text::fallocate(&path, len)
    }

    fn file(&self, _: &mut Call, path: ResolvedDevOrPath) -> io::Result<String> {
        match path {
            ResolvedDevOrPath::Device(d) => text::file_of_device(d.node()),
            ResolvedDevOrPath::Path(p) => text::file(&p),
        }
    }

    fn grep(
        &self,
        _: &mut Call,
        regex: String,
        path: GuestPath,
        extended: Option<bool>,
        fixed: Option<bool>,
        insensitive: Option<bool>,
        compressed: Option<bool>,
    ) -> io::Result<Vec<Line>> {
        let how = text::GrepHow {
            extended: extended.unwrap_or(false),
            fixed: fixed.unwrap_or(false),
            insensitive: insensitive.unwrap_or(false),
            compressed: compressed.unwrap_or(false),
        };
        text::grep(&regex, &path, how)
    }

    fn egrep(&self, _: &mut Call, regex: String, path: GuestPath) -> io::Result<Vec<Line>> {
        text::grep(&regex, &path, grep_how("E"))
    }

    fn fgrep(&self, _: &mut Call, pattern: String, path: GuestPath) -> io::Result<Vec<Line>> {
        text::grep(&pattern, &path, grep_how("F"))
    }

    fn grepi(&self, _: &mut Call, regex: String, path: GuestPath) -> io::Result<Vec<Line>> {
        text::grep(&regex, &path, grep_how("i"))
    }

    fn egrepi(&self, _: &mut Call, regex: String, path: GuestPath) -> io::Result<Vec<Line>> {
        text::grep(&regex, &path, grep_how("Ei"))
    }

    fn fgrepi(&self, _: &mut Call, pattern: String, path: GuestPath) -> io::Result<Vec<Line>> {
        text::grep(&pattern, &path, grep_how("Fi"))
    }

    fn zgrep(&self, _: &mut Call, regex: String, path: GuestPath) -> io::Result<Vec<Line>> {
        text::grep(&regex, &path, grep_how("z"))
    }

    fn zegrep(&self, _: &mut Call, regex: String, path: GuestPath) -> io::Result<Vec<Line>> {
        text::grep(&regex, &path, grep_how("zE"))
    }

    fn zfgrep(&self, _: &mut Call, pattern: String, path: GuestPath) -> io::Result<Vec<Line>> {
        text::grep(&pattern, &path, grep_how("zF"))
    }

    fn zgrepi(&self, _: &mut Call, regex: String, path: GuestPath) -> io::Result<Vec<Line>> {
        text::grep(&regex, &path, grep_how("zi"))
    }

    fn zegrepi(&self, _: &mut Call, regex: String, path: GuestPath) -> io::Result<Vec<Line>> {
        text::grep(&regex, &path, grep_how("zEi"))
    }

    fn zfgrepi(&self, _: &mut Call, pattern: String, path: GuestPath) -> io::Result<Vec<Line>> {
        text::grep(&pattern, &path, grep_how("zFi"))
    }

    fn mount_ro(
        &self,
        _: &mut Call,
        device: ResolvedDevice,
        mountpoint: GuestPath,
    ) -> io::Result<()> {
        let how = MountHow {
            readonly: true,
            ..MountHow::default()
        };
        self.mounts.mount(&self.modules, &device, &mountpoint, how)
    }

    fn mount_options(
        &self,
        _: &mut Call,
        options: String,
        device: ResolvedDevice,
        mountpoint: GuestPath,
    ) -> io::Result<()> {
        let how = MountHow {
            options: Some(options.as_str()),
            fstype: None,
            readonly: drive_read_only(&device),
        };
        self.mounts.mount(&self.modules, &device, &mountpoint, how)
    }

    fn mount_vfs(
        &self,
        _: &mut Call,
        options: String,
        vfstype: String,
        device: ResolvedDevice,
        mountpoint: GuestPath,
    ) -> io::Result<()> {
        let fstype = FsType(vfstype);
        let how = MountHow {
            options: Some(options.as_str()),
            fstype: Some(&fstype),
            readonly: drive_read_only(&device),
        };
        self.mounts.mount(&self.modules, &device, &mountpoint, how)
    }

    fn mountpoints(&self, _: &mut Call) -> io::Result<Vec<KeyValue>> {
        Ok(self.mounts.mountpoints())
    }

    fn umount(
        &self,
        _: &mut Call,
        what: String,
        force: Option<bool>,
        lazy: Option<bool>,
    ) -> io::Result<()> {
        let mut flags = 0;
        if force.unwrap_or(false) {
            flags |= libc::MNT_FORCE;
        }
        if lazy.unwrap_or(false) {
            flags |= libc::MNT_DETACH;
        }
        self.mounts.umount(&what, flags)
    }

    fn blockdev_getsz(&self, _: &mut Call, device: ResolvedDevice) -> io::Result<i64> {
        Ok((crate::block::blockdev::size64(device.node())? / 512) as i64)
    }

    fn blockdev_getbsz(&self, _: &mut Call, device: ResolvedDevice) -> io::Result<i32> {
        sys::block_bsz(&crate::block::blockdev::open_read(device.node())?)
    }

    fn blockdev_setro(&self, _: &mut Call, device: ResolvedDevice) -> io::Result<()> {
        sys::block_set_read_only(&crate::block::blockdev::open_read(device.node())?, true)
    }

    fn blockdev_setrw(&self, _: &mut Call, device: ResolvedDevice) -> io::Result<()> {
        sys::block_set_read_only(&crate::block::blockdev::open_read(device.node())?, false)
    }

    fn blockdev_flushbufs(&self, _: &mut Call, device: ResolvedDevice) -> io::Result<()> {
        sys::block_flush_buffers(&crate::block::blockdev::open_read(device.node())?)
    }

    fn blockdev_setbsz(&self, _: &mut Call, _: ResolvedDevice, _: i32) -> io::Result<()> {
        Ok(())
    }

    fn blockdev_setra(&self, _: &mut Call, device: ResolvedDevice, sectors: i32) -> io::Result<()> {
        let sectors = libc::c_ulong::try_from(sectors)
            .map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
        sys::block_set_readahead(&crate::block::blockdev::open_read(device.node())?, sectors)
    }

    fn part_get_disk_guid(&self, _: &mut Call, device: ResolvedDisk) -> io::Result<String> {
        crate::block::parts::get_disk_guid(device.node())
    }

    fn part_get_gpt_guid(&self, _: &mut Call, device: ResolvedDisk, n: i32) -> io::Result<String> {
        crate::block::parts::get_gpt_guid(device.node(), partnum(n)?)
    }

    fn part_get_gpt_attributes(
        &self,
        _: &mut Call,
        device: ResolvedDisk,
        n: i32,
    ) -> io::Result<i64> {
        // libguestfs 1.48's words for both refusals (its daemon asks sgdisk).
        const LG: &str = "part_get_gpt_attributes";
        if n < 1 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{LG}: partition number must be >= 1"),
            ));
        }
        match crate::block::parts::get_gpt_attributes(device.node(), partnum(n)?) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => Err(io::Error::new(
                e.kind(),
                format!(
                    "{LG}: {}: sgdisk output did not contain 'Attribute flags'",
                    self.disks.to_user(&device.node().to_string_lossy())
                ),
            )),
            r => r,
        }
    }

    fn part_get_mbr_part_type(
        &self,
        _: &mut Call,
        device: ResolvedDisk,
        n: i32,
    ) -> io::Result<String> {
        crate::block::parts::get_mbr_part_type(device.node(), partnum(n)?)
    }

    fn tune2fs_l(&self, _: &mut Call, device: ResolvedDevice) -> io::Result<Vec<KeyValue>> {
        crate::block::fsinfo::tune2fs_l(device.node())
    }

    fn nr_devices(&self, _: &mut Call) -> io::Result<i32> {
        Ok(self.disks.len() as i32)
    }

    fn is_whole_device(&self, _: &mut Call, device: ResolvedDevice) -> io::Result<bool> {
        Ok(crate::block::blockdev::disk_index(&self.disks, device.node()).is_some())
    }

    fn pread_device(
        &self,
        _: &mut Call,
        device: ResolvedDevice,
        count: i32,
        offset: i64,
    ) -> io::Result<Data> {
        let (count, offset) = match (usize::try_from(count), u64::try_from(offset)) {
            (Ok(c), Ok(o)) if c as u64 <= files::READ_FILE_MAX => (c, o),
            _ => return Err(io::Error::from_raw_os_error(libc::EINVAL)),
        };
        let dev = crate::block::blockdev::open_read(device.node())?;
        let mut buf = vec![0u8; count];
        let mut n = 0;
        while n < count {
            match std::os::unix::fs::FileExt::read_at(&dev, &mut buf[n..], offset + n as u64) {
                Ok(0) => break,
                Ok(k) => n += k,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        buf.truncate(n);
        Ok(Data(buf))
    }

    fn pwrite_device(
        &self,
        _: &mut Call,
        device: ResolvedDevice,
        content: Data,
        offset: i64,
    ) -> io::Result<i32> {
        let offset =
            u64::try_from(offset).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
        let dev = crate::block::blockdev::open_write(device.node())?;
        let n = std::os::unix::fs::FileExt::write_at(&dev, &content.0, offset)?;
        dev.sync_all()?;
        i32::try_from(n).map_err(|_| io::Error::from_raw_os_error(libc::EOVERFLOW))
    }

    fn echo_daemon(&self, _: &mut Call, words: Vec<String>) -> io::Result<String> {
        Ok(words.join(" "))
    }

    fn resize2fs_size(
        &self,
        _: &mut Call,
        device: ResolvedDevice,
        size: ByteSize,
    ) -> io::Result<()> {
        crate::fs::mkfs::resize2fs(device.node(), Some(size.0))
    }
    // ==== end of guestfish commands ====

    fn lstatnslist(
        &self,
        _: &mut Call,
        path: GuestPath,
        names: Vec<String>,
    ) -> io::Result<Vec<StatNs>> {
        let list = crate::fs::lists::lstatnslist(&path, &names)?;
        Ok(list
            .into_iter()
            .map(|s| {
                if s.st_ino == -1 {
                    s
                } else {
                    self.user_statns(s)
                }
            })
            .collect())
    }

    fn readlinklist(
        &self,
        _: &mut Call,
        path: GuestPath,
        names: Vec<String>,
    ) -> io::Result<Vec<String>> {
        crate::fs::lists::readlinklist(&path, &names)
    }

    fn fill(&self, _: &mut Call, c: i32, len: i32, path: GuestPath) -> io::Result<()> {
        crate::fs::lists::fill(c, len, &path)
    }

    fn fill_pattern(
        &self,
        _: &mut Call,
        pattern: String,
        len: i32,
        path: GuestPath,
    ) -> io::Result<()> {
        crate::fs::lists::fill_pattern(&pattern, len, &path)
    }

    fn fill_dir(&self, _: &mut Call, dir: GuestPath, nr: i32) -> io::Result<()> {
        crate::fs::lists::fill_dir(&dir, nr)
    }

    // ==== LUKS volumes made and keyed (issue 12) ====
    fn luks_format(
        &self,
        _: &mut Call,
        device: ResolvedDevice,
        key: Secret,
        keyslot: i32,
    ) -> io::Result<()> {
        crate::block::luks::format(&self.modules, &device, &key, keyslot, None)
    }

    fn luks_format_cipher(
        &self,
        _: &mut Call,
        device: ResolvedDevice,
        key: Secret,
        keyslot: i32,
        cipher: String,
    ) -> io::Result<()> {
        crate::block::luks::format(&self.modules, &device, &key, keyslot, Some(&cipher))
    }

    fn luks_add_key(
        &self,
        _: &mut Call,
        device: ResolvedDevice,
        key: Secret,
        newkey: Secret,
        keyslot: i32,
    ) -> io::Result<()> {
        crate::block::luks::add_key(&self.modules, &device, &key, &newkey, keyslot)
    }

    fn luks_kill_slot(
        &self,
        _: &mut Call,
        device: ResolvedDevice,
        key: Secret,
        keyslot: i32,
    ) -> io::Result<()> {
        crate::block::luks::kill_slot(&self.modules, &device, &key, keyslot)
    }

    fn luks_uuid(&self, _: &mut Call, device: ResolvedDevice) -> io::Result<String> {
        crate::block::luks::uuid(&self.modules, &device)
    }
    // ==== end of LUKS volumes ====

    // ==== block and filesystem commands (cmds-block) ====
    #[allow(clippy::too_many_arguments)]
    fn mke2fs(
        &self,
        _: &mut Call,
        device: ResolvedDevice,
        blockscount: Option<i64>,
        blocksize: Option<i64>,
        fragsize: Option<i64>,
        blockspergroup: Option<i64>,
        numberofgroups: Option<i64>,
        bytesperinode: Option<i64>,
        inodesize: Option<i64>,
        journalsize: Option<i64>,
        numberofinodes: Option<i64>,
        stridesize: Option<i64>,
        stripewidth: Option<i64>,
        maxonlineresize: Option<i64>,
        reservedblockspercentage: Option<i32>,
        mmpupdateinterval: Option<i32>,
        journaldevice: Option<String>,
        label: Option<String>,
        lastmounteddir: Option<String>,
        creatoros: Option<String>,
        fstype: Option<String>,
        usagetype: Option<String>,
        uuid: Option<String>,
        forcecreate: Option<bool>,
        writesbandgrouponly: Option<bool>,
        lazyitableinit: Option<bool>,
        lazyjournalinit: Option<bool>,
        testfs: Option<bool>,
        discard: Option<bool>,
        quotatype: Option<bool>,
        extent: Option<bool>,
        filetype: Option<bool>,
        flexbg: Option<bool>,
        hasjournal: Option<bool>,
        journaldev: Option<bool>,
        largefile: Option<bool>,
        quota: Option<bool>,
        resizeinode: Option<bool>,
        sparsesuper: Option<bool>,
        uninitbg: Option<bool>,
    ) -> io::Result<()> {
        // A journal device named as a device is translated to the appliance's node;
        // LABEL=... and UUID=... are passed as they are.
        let journal = match journaldevice.as_deref() {
            Some(j) if j.starts_with("/dev/") => Some(
                crate::block::blockdev::resolve(&self.disks, &self.modules, &Device::from(j))?
                    .to_string_lossy()
                    .into_owned(),
            ),
            other => other.map(str::to_string),
        };
        let opts = crate::fs::ext::Mke2fsOptions {
            blockscount,
            blocksize,
            fragsize,
            blockspergroup,
            numberofgroups,
            bytesperinode,
            inodesize,
            journalsize,
            numberofinodes,
            stridesize,
            stripewidth,
            maxonlineresize,
            reservedblockspercentage,
            mmpupdateinterval,
            journaldevice: None,
            label,
            lastmounteddir,
            creatoros,
            fstype,
            usagetype,
            uuid,
            forcecreate,
            writesbandgrouponly,
            lazyitableinit,
            lazyjournalinit,
            testfs,
            discard,
            quotatype,
            extent,
            filetype,
            flexbg,
            hasjournal,
            journaldev,
            largefile,
            quota,
            resizeinode,
            sparsesuper,
            uninitbg,
        };
        crate::fs::ext::mke2fs(device.node(), &opts, journal.as_deref())
    }

    fn mke2fs_j(
        &self,
        _: &mut Call,
        fstype: FsType,
        blocksize: i32,
        device: ResolvedDevice,
        journal: ResolvedDevice,
    ) -> io::Result<()> {
        let j = journal.node().to_string_lossy().into_owned();
        crate::fs::ext::mke2fs_external(&fstype.0, blocksize, device.node(), &j)
    }

    fn mke2fs_jl(
        &self,
        _: &mut Call,
        fstype: FsType,
        blocksize: i32,
        device: ResolvedDevice,
        label: String,
    ) -> io::Result<()> {
        let j = format!("LABEL={label}");
        crate::fs::ext::mke2fs_external(&fstype.0, blocksize, device.node(), &j)
    }

    fn mke2fs_ju(
        &self,
        _: &mut Call,
        fstype: FsType,
        blocksize: i32,
        device: ResolvedDevice,
        uuid: String,
    ) -> io::Result<()> {
        let j = format!("UUID={uuid}");
        crate::fs::ext::mke2fs_external(&fstype.0, blocksize, device.node(), &j)
    }

    fn mke2journal(&self, _: &mut Call, blocksize: i32, device: ResolvedDevice) -> io::Result<()> {
        crate::fs::ext::mke2journal(blocksize, device.node(), None)
    }

    fn mke2journal_l(
        &self,
        _: &mut Call,
        blocksize: i32,
        label: String,
        device: ResolvedDevice,
    ) -> io::Result<()> {
        crate::fs::ext::mke2journal(blocksize, device.node(), Some(("-L", &label)))
    }

    fn mke2journal_u(
        &self,
        _: &mut Call,
        blocksize: i32,
        uuid: String,
        device: ResolvedDevice,
    ) -> io::Result<()> {
        crate::fs::ext::mke2journal(blocksize, device.node(), Some(("-U", &uuid)))
    }

    fn mkfs_b(
        &self,
        _: &mut Call,
        fstype: FsType,
        blocksize: i32,
        device: ResolvedDevice,
    ) -> io::Result<()> {
        let bs =
            u64::try_from(blocksize).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
        let opts = crate::fs::mkfs::MkfsOptions {
            blocksize: Some(bs),
            ..Default::default()
        };
        crate::fs::mkfs::mkfs(&fstype, device.node(), &opts)
    }

    fn mklost_and_found(&self, _: &mut Call, mountpoint: GuestPath) -> io::Result<()> {
        crate::fs::ext::mklost_and_found(&mountpoint)
    }

    fn mkswap_l(&self, _: &mut Call, label: String, device: ResolvedDevice) -> io::Result<()> {
        crate::fs::mkfs::mkswap(device.node(), Some(&label), None)
    }

    fn mkswap_u(&self, _: &mut Call, uuid: String, device: ResolvedDevice) -> io::Result<()> {
        crate::fs::mkfs::mkswap(device.node(), None, Some(&uuid))
    }

    fn mkswap_file(&self, _: &mut Call, path: GuestPath) -> io::Result<()> {
        let fd = crate::fs::guestfs::open(&path, libc::O_PATH, 0)?;
        let real = crate::fs::guestfs::real_path(&fd)?;
        crate::boot::tools::run("mkswap", &["-f".as_ref(), real.as_os_str()]).map(drop)
    }

    fn swapon_device(&self, _: &mut Call, device: ResolvedDevice) -> io::Result<()> {
        crate::block::swap::device(true, device.node())
    }

    fn swapoff_device(&self, _: &mut Call, device: ResolvedDevice) -> io::Result<()> {
        crate::block::swap::device(false, device.node())
    }

    fn swapon_file(&self, _: &mut Call, file: GuestPath) -> io::Result<()> {
        crate::block::swap::file(true, &file)
    }

    fn swapoff_file(&self, _: &mut Call, file: GuestPath) -> io::Result<()> {
        crate::block::swap::file(false, &file)
    }

    fn swapon_label(&self, _: &mut Call, label: String) -> io::Result<()> {
        crate::block::swap::by(&self.disks, &self.modules, true, "LABEL", &label)
    }

    fn swapoff_label(&self, _: &mut Call, label: String) -> io::Result<()> {
        crate::block::swap::by(&self.disks, &self.modules, false, "LABEL", &label)
    }

    fn swapon_uuid(&self, _: &mut Call, uuid: String) -> io::Result<()> {
        crate::block::swap::by(&self.disks, &self.modules, true, "UUID", &uuid)
    }

    fn swapoff_uuid(&self, _: &mut Call, uuid: String) -> io::Result<()> {
        crate::block::swap::by(&self.disks, &self.modules, false, "UUID", &uuid)
    }

    fn set_uuid_random(&self, _: &mut Call, device: ResolvedDevice) -> io::Result<()> {
        let uuid = uuid::Uuid::new_v4().to_string();
        crate::fs::mkfs::set_uuid(device.node(), &uuid)
    }

    fn vfs_minimum_size(&self, _: &mut Call, mountable: ResolvedDevice) -> io::Result<i64> {
        match crate::block::fsinfo::vfs_type(mountable.node())?.as_str() {
            "ext2" | "ext3" | "ext4" => crate::fs::ext::minimum_size(mountable.node()),
            other => Err(io::Error::from(RemoteError::new(
                Errno::EOPNOTSUPP,
                format!(
                    "vfs_minimum_size: don't know how to get minimum size of '{other}' filesystems"
                ),
            ))),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn tune2fs(
        &self,
        _: &mut Call,
        device: ResolvedDevice,
        force: Option<bool>,
        maxmountcount: Option<i32>,
        mountcount: Option<i32>,
        errorbehavior: Option<String>,
        group: Option<i64>,
        intervalbetweenchecks: Option<i32>,
        reservedblockspercentage: Option<i32>,
        lastmounteddirectory: Option<String>,
        reservedblockscount: Option<i64>,
        user: Option<i64>,
    ) -> io::Result<()> {
        let o = crate::fs::ext::Tune2fsOptions {
            force,
            maxmountcount,
            mountcount,
            errorbehavior,
            group,
            intervalbetweenchecks,
            reservedblockspercentage,
            lastmounteddirectory,
            reservedblockscount,
            user,
        };
        crate::fs::ext::tune2fs(device.node(), &o)
    }

    fn resize2fs_m(&self, _: &mut Call, device: ResolvedDevice) -> io::Result<()> {
        crate::fs::ext::resize2fs_m(device.node())
    }

    fn e2fsck_f(&self, _: &mut Call, device: ResolvedDevice) -> io::Result<()> {
        crate::fs::ext::e2fsck_f(device.node())
    }

    fn findfs_label(&self, _: &mut Call, label: String) -> io::Result<Device> {
        crate::block::names::findfs(&self.disks, &self.modules, "LABEL", &label)
    }

    fn findfs_uuid(&self, _: &mut Call, uuid: String) -> io::Result<Device> {
        crate::block::names::findfs(&self.disks, &self.modules, "UUID", &uuid)
    }

    fn canonical_device_name(&self, _: &mut Call, device: String) -> io::Result<String> {
        crate::block::names::canonical_device_name(&self.disks, &self.modules, &device)
    }

    fn device_index(&self, _: &mut Call, device: ResolvedDevice) -> io::Result<i32> {
        crate::block::blockdev::disk_index(&self.disks, device.node())
            .map(|i| i as i32)
            .ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::NotFound,
                    format!("{}: device not found", device.name()),
                )
            })
    }

    fn mountable_device(&self, _: &mut Call, mountable: String) -> io::Result<String> {
        Ok(crate::block::names::split_mountable(&mountable).0)
    }

    fn mountable_subvolume(&self, _: &mut Call, mountable: String) -> io::Result<String> {
        crate::block::names::mountable_subvolume(&mountable)
    }

    fn list_dm_devices(&self, _: &mut Call) -> io::Result<Vec<String>> {
        crate::block::names::list_dm_devices(&self.disks, &self.modules)
    }

    fn is_lv(&self, _: &mut Call, mountable: String) -> io::Result<bool> {
        if mountable.starts_with("btrfsvol:") {
            return Ok(false);
        }
        // A name that could be an LV not active yet activates LVM once, as a Device would.
        let dev = Device::from(mountable.as_str());
        let path = crate::block::blockdev::resolve(&self.disks, &self.modules, &dev)?;
        Ok(
            crate::block::names::lv_canonical(&self.disks, &self.modules, &path.to_string_lossy())?
                .is_some(),
        )
    }

    fn blkdiscard(&self, _: &mut Call, device: ResolvedDevice) -> io::Result<()> {
        let f = crate::block::blockdev::open_write(device.node())?;
        let size = crate::sys::block_size64(&f)?;
        crate::sys::block_discard(&f, 0, size)
    }

    fn blkdiscardzeroes(&self, _: &mut Call, device: ResolvedDevice) -> io::Result<bool> {
        let f = crate::block::blockdev::open_read(device.node())?;
        crate::sys::block_discard_zeroes(&f)
    }

    fn zero_free_space(&self, _: &mut Call, directory: GuestPath) -> io::Result<()> {
        crate::fs::ext::zero_free_space(&directory)
    }

    fn zerofree(&self, _: &mut Call, device: ResolvedDevice) -> io::Result<()> {
        crate::fs::ext::zerofree(device.node())
    }

    fn scrub_device(&self, _: &mut Call, device: ResolvedDevice) -> io::Result<()> {
        crate::fs::ext::scrub_device(device.node())
    }

    fn scrub_freespace(&self, _: &mut Call, dir: GuestPath) -> io::Result<()> {
        crate::fs::ext::scrub_freespace(&dir)
    }

    #[allow(clippy::too_many_arguments)]
    fn copy_device_to_device(
        &self,
        call: &mut Call,
        src: ResolvedDevice,
        dest: ResolvedDevice,
        srcoffset: Option<i64>,
        destoffset: Option<i64>,
        size: Option<i64>,
        sparse: Option<bool>,
        append: Option<bool>,
    ) -> io::Result<()> {
        let opts = copy_options(
            "copy_device_to_device",
            srcoffset,
            destoffset,
            size,
            sparse,
            append,
        )?;
        let s = crate::block::blockdev::open_read(src.node())?;
        let d = crate::block::blockdev::open_write(dest.node())?;
        crate::block::copydev::copy(call, &s, src.name().as_str(), &d, 0, &opts)
    }

    #[allow(clippy::too_many_arguments)]
    fn copy_device_to_file(
        &self,
        call: &mut Call,
        src: ResolvedDevice,
        dest: GuestPath,
        srcoffset: Option<i64>,
        destoffset: Option<i64>,
        size: Option<i64>,
        sparse: Option<bool>,
        append: Option<bool>,
    ) -> io::Result<()> {
        let mut opts = copy_options(
            "copy_device_to_file",
            srcoffset,
            destoffset,
            size,
            sparse,
            None,
        )?;
        opts.append = append.unwrap_or(false);
        let s = crate::block::blockdev::open_read(src.node())?;
        let trunc = if opts.append { 0 } else { libc::O_TRUNC };
        let fd = crate::fs::guestfs::open(
            &dest,
            libc::O_WRONLY | libc::O_CREAT | libc::O_NOCTTY | trunc,
            0o666,
        )?;
        let d = File::from(fd);
        let base = if opts.append { d.metadata()?.len() } else { 0 };
        crate::block::copydev::copy(call, &s, src.name().as_str(), &d, base, &opts)
    }

    #[allow(clippy::too_many_arguments)]
    fn copy_file_to_device(
        &self,
        call: &mut Call,
        src: GuestPath,
        dest: ResolvedDevice,
        srcoffset: Option<i64>,
        destoffset: Option<i64>,
        size: Option<i64>,
        sparse: Option<bool>,
        append: Option<bool>,
    ) -> io::Result<()> {
        let opts = copy_options(
            "copy_file_to_device",
            srcoffset,
            destoffset,
            size,
            sparse,
            append,
        )?;
        let s = File::from(crate::fs::guestfs::open(
            &src,
            libc::O_RDONLY | libc::O_NOCTTY,
            0,
        )?);
        let d = crate::block::blockdev::open_write(dest.node())?;
        crate::block::copydev::copy(call, &s, &src.to_string(), &d, 0, &opts)
    }

    fn get_e2attrs(&self, _: &mut Call, file: GuestPath) -> io::Result<String> {
        crate::fs::ext::get_attrs(&file)
    }

    fn set_e2attrs(
        &self,
        _: &mut Call,
        file: GuestPath,
        attrs: String,
        clear: Option<bool>,
    ) -> io::Result<()> {
        crate::fs::ext::set_attrs(&file, &attrs, clear.unwrap_or(false))
    }

    fn get_e2generation(&self, _: &mut Call, file: GuestPath) -> io::Result<i64> {
        crate::fs::ext::get_generation(&file)
    }

    fn set_e2generation(&self, _: &mut Call, file: GuestPath, generation: i64) -> io::Result<()> {
        crate::fs::ext::set_generation(&file, generation)
    }

    fn pvuuid(&self, _: &mut Call, device: ResolvedDevice) -> io::Result<String> {
        crate::block::lvm::uuid_of(&self.disks, &self.modules, "pvs", device.node().as_os_str())
    }

    fn vguuid(&self, _: &mut Call, vgname: String) -> io::Result<String> {
        crate::block::lvm::uuid_of(&self.disks, &self.modules, "vgs", vgname.as_ref())
    }

    fn lvuuid(&self, _: &mut Call, device: VolumeName) -> io::Result<String> {
        let lv = crate::block::lvm::lv_path(&device.0)?;
        crate::block::lvm::uuid_of(&self.disks, &self.modules, "lvs", lv.as_ref())
    }

    fn vglvuuids(&self, _: &mut Call, vgname: String) -> io::Result<Vec<String>> {
        crate::block::lvm::vg_member_uuids(&self.disks, &self.modules, &vgname, "lv_uuid")
    }

    fn vgpvuuids(&self, _: &mut Call, vgname: String) -> io::Result<Vec<String>> {
        crate::block::lvm::vg_member_uuids(&self.disks, &self.modules, &vgname, "pv_uuid")
    }

    fn vgscan(&self, _: &mut Call) -> io::Result<()> {
        crate::block::lvm::vgscan(&self.disks, &self.modules)
    }

    fn vg_activate(&self, _: &mut Call, activate: bool, volgroups: Vec<String>) -> io::Result<()> {
        crate::block::lvm::vg_activate(&self.disks, &self.modules, activate, &volgroups)
    }

    fn pvresize(&self, _: &mut Call, device: ResolvedDevice) -> io::Result<()> {
        crate::block::lvm::pvresize(&self.disks, &self.modules, &device, None)
    }

    fn pvresize_size(&self, _: &mut Call, device: ResolvedDevice, size: i64) -> io::Result<()> {
        crate::block::lvm::pvresize(&self.disks, &self.modules, &device, Some(size))
    }

    fn lvresize_free(&self, _: &mut Call, lv: VolumeName, percent: i32) -> io::Result<()> {
        crate::block::lvm::lvresize_free(&self.disks, &self.modules, &lv.0, percent)
    }

    fn lvm_remove_all(&self, _: &mut Call) -> io::Result<()> {
        crate::block::lvm::remove_all(&self.disks, &self.modules)
    }

    fn lvm_canonical_lv_name(&self, _: &mut Call, lvname: String) -> io::Result<String> {
        crate::block::names::lvm_canonical_lv_name(&self.disks, &self.modules, &lvname)
    }

    fn pvchange_uuid(&self, _: &mut Call, device: ResolvedDevice) -> io::Result<()> {
        crate::block::lvm::pvchange_uuid(&self.disks, &self.modules, &device)
    }

    fn vgchange_uuid(&self, _: &mut Call, vg: String) -> io::Result<()> {
        crate::block::lvm::vgchange_uuid(&self.disks, &self.modules, &vg)
    }

    fn luks_open_ro(
        &self,
        _: &mut Call,
        device: ResolvedDevice,
        key: Secret,
        mapname: String,
    ) -> io::Result<()> {
        crate::block::luks::open_with(&self.modules, &device, &key, &mapname, true)
    }

    fn df(&self, _: &mut Call) -> io::Result<String> {
        crate::fs::df::df(&self.mounts.list()?, false)
    }

    fn df_h(&self, _: &mut Call) -> io::Result<String> {
        crate::fs::df::df(&self.mounts.list()?, true)
    }
    // ==== end of block and filesystem commands ====

    // ==== files commands (cmds-files) ====
    fn tgz_in(&self, call: &mut Call, dir: GuestPath) -> io::Result<()> {
        tario::tar_in(call, &dir, &compressed(Compression::Gzip)).map(drop)
    }

    fn tgz_out(&self, call: &mut Call, dir: GuestPath) -> io::Result<()> {
        tario::tar_out(call, &dir, &compressed(Compression::Gzip))
    }

    fn txz_in(&self, call: &mut Call, dir: GuestPath) -> io::Result<()> {
        tario::tar_in(call, &dir, &compressed(Compression::Xz)).map(drop)
    }

    fn txz_out(&self, call: &mut Call, dir: GuestPath) -> io::Result<()> {
        tario::tar_out(call, &dir, &compressed(Compression::Xz))
    }

    fn base64_in(&self, call: &mut Call, path: GuestPath) -> io::Result<()> {
        encode::base64_in(call, &path)
    }

    fn base64_out(&self, call: &mut Call, path: GuestPath) -> io::Result<()> {
        encode::base64_out(call, &path)
    }

    fn ls0(&self, call: &mut Call, dir: GuestPath) -> io::Result<()> {
        encode::ls0(call, &dir)
    }

    fn cpio_out(&self, call: &mut Call, dir: GuestPath, format: Option<String>) -> io::Result<()> {
        encode::cpio_out(call, &dir, format.as_deref())
    }

    fn compress_out(
        &self,
        call: &mut Call,
        ctype: String,
        file: GuestPath,
        level: Option<i32>,
    ) -> io::Result<()> {
        crate::stream::piped::compress_out(call, &ctype, &file, level)
    }

    #[allow(clippy::too_many_arguments)]
    fn copy_file_to_file(
        &self,
        call: &mut Call,
        src: String,
        dest: String,
        srcoffset: Option<i64>,
        destoffset: Option<i64>,
        size: Option<i64>,
        sparse: Option<bool>,
        append: Option<bool>,
    ) -> io::Result<()> {
        let offset = |v: Option<i64>, what: &str| match v {
            None => Ok(None),
            Some(n) if n >= 0 => Ok(Some(n as u64)),
            Some(n) => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{what} must be >= 0, not {n}"),
            )),
        };
        let how = encode::CopyHow {
            srcoffset: offset(srcoffset, "srcoffset")?.unwrap_or(0),
            destoffset: offset(destoffset, "destoffset")?.unwrap_or(0),
            size: offset(size, "size")?,
            sparse: sparse.unwrap_or(false),
            append: append.unwrap_or(false),
            exact: false,
        };
        if how.append && how.destoffset != 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "the append and destoffset optional arguments cannot be used together",
            ));
        }
        let (s, d) = (
            self.copy_end(&src, None)?,
            self.copy_end(&dest, Some(how.append))?,
        );
        encode::copy(call, (&src, &s), &d, how)
    }

    fn copy_size(
        &self,
        call: &mut Call,
        src: String,
        dest: String,
        size: ByteSize,
    ) -> io::Result<()> {
        let (s, d) = (
            self.copy_end(&src, None)?,
            self.copy_end(&dest, Some(false))?,
        );
        let how = encode::CopyHow {
            size: Some(size.0),
            exact: true,
            ..Default::default()
        };
        encode::copy(call, (&src, &s), &d, how)
    }

    fn dd(&self, call: &mut Call, src: String, dest: String) -> io::Result<()> {
        let (s, d) = (
            self.copy_end(&src, None)?,
            self.copy_end(&dest, Some(false))?,
        );
        encode::copy(call, (&src, &s), &d, encode::CopyHow::default())
    }

    fn equal(&self, _: &mut Call, a: GuestPath, b: GuestPath) -> io::Result<bool> {
        extra::equal(&a, &b)
    }

    fn copy_attributes(
        &self,
        _: &mut Call,
        src: GuestPath,
        dest: GuestPath,
        all: Option<bool>,
        mode: Option<bool>,
        xattributes: Option<bool>,
        ownership: Option<bool>,
    ) -> io::Result<()> {
        // As in guestfish 1.48: only what is asked for (nothing without options); an
        // explicit `mode:false` beside `all:true` leaves the mode alone.
        let all = all.unwrap_or(false);
        let how = extra::AttrHow {
            mode: mode.unwrap_or(all),
            xattrs: xattributes.unwrap_or(all),
            ownership: ownership.unwrap_or(all),
        };
        extra::copy_attributes(&src, &dest, how)
    }

    fn mkdtemp(&self, _: &mut Call, tmpl: GuestPath) -> io::Result<GuestPath> {
        extra::mkdtemp(&tmpl)
    }

    fn mktemp(
        &self,
        _: &mut Call,
        tmpl: GuestPath,
        suffix: Option<String>,
    ) -> io::Result<GuestPath> {
        extra::mktemp(&tmpl, suffix.as_deref().unwrap_or(""))
    }

    fn umask(&self, _: &mut Call, mask: Mode) -> io::Result<Mode> {
        Ok(Mode(extra::umask(mask.0)))
    }

    fn get_umask(&self, _: &mut Call) -> io::Result<Mode> {
        Ok(Mode(extra::get_umask()))
    }

    fn strings_e(&self, _: &mut Call, encoding: String, path: GuestPath) -> io::Result<Vec<Line>> {
        extra::strings_e(&encoding, &path)
    }

    fn zfile(&self, _: &mut Call, meth: String, path: GuestPath) -> io::Result<String> {
        extra::zfile(&meth, &path)
    }

    fn file_architecture(&self, _: &mut Call, path: GuestPath) -> io::Result<String> {
        extra::file_architecture(&path)
    }

    fn initrd_list(&self, _: &mut Call, path: GuestPath) -> io::Result<Vec<FileName>> {
        encode::initrd_list(&path)
    }

    fn initrd_cat(&self, _: &mut Call, path: GuestPath, member: String) -> io::Result<Data> {
        encode::initrd_cat(&path, &member).map(Data)
    }

    fn case_sensitive_path(&self, _: &mut Call, path: GuestPath) -> io::Result<GuestPath> {
        extra::case_sensitive_path(&path)
    }

    fn scrub_file(&self, _: &mut Call, path: GuestPath) -> io::Result<()> {
        extra::scrub_file(&path)
    }

    fn acl_get_file(&self, _: &mut Call, path: GuestPath, acltype: String) -> io::Result<String> {
        acl::acl_get_file(&path, &acltype)
    }

    fn acl_set_file(
        &self,
        _: &mut Call,
        path: GuestPath,
        acltype: String,
        text: String,
    ) -> io::Result<()> {
        acl::acl_set_file(&path, &acltype, &text)
    }

    fn acl_delete_def_file(&self, _: &mut Call, dir: GuestPath) -> io::Result<()> {
        acl::acl_delete_def_file(&dir)
    }

    fn cap_get_file(&self, _: &mut Call, path: GuestPath) -> io::Result<String> {
        acl::cap_get_file(&path)
    }

    fn cap_set_file(&self, _: &mut Call, path: GuestPath, cap: String) -> io::Result<()> {
        acl::cap_set_file(&path, &cap)
    }

    fn dmesg(&self, _: &mut Call) -> io::Result<String> {
        extra::dmesg()
    }

    fn drop_caches(&self, _: &mut Call, what: i32) -> io::Result<()> {
        extra::drop_caches(what)
    }

    fn modprobe(&self, _: &mut Call, name: String) -> io::Result<()> {
        self.modules.load(&name)
    }

    fn utsname(&self, _: &mut Call) -> io::Result<Utsname> {
        extra::utsname()
    }
    fn inotify_init(&self, _: &mut Call, maxevents: i32) -> io::Result<()> {
        notify::init(maxevents)
    }

    fn inotify_add_watch(&self, _: &mut Call, path: GuestPath, mask: i32) -> io::Result<i64> {
        notify::add_watch(&path, mask)
    }

    fn inotify_rm_watch(&self, _: &mut Call, wd: i32) -> io::Result<()> {
        notify::rm_watch(wd)
    }

    fn inotify_read(&self, _: &mut Call) -> io::Result<Vec<InotifyEvent>> {
        notify::read()
    }

    fn inotify_files(&self, _: &mut Call) -> io::Result<Vec<String>> {
        notify::files()
    }

    fn inotify_close(&self, _: &mut Call) -> io::Result<()> {
        notify::close()
    }
    fn lstatlist(
        &self,
        _: &mut Call,
        path: GuestPath,
        names: Vec<String>,
    ) -> io::Result<Vec<FishStat>> {
        crate::fs::lists::check_file_names("lstatlist", &names)?;
        let list = crate::fs::lists::lstatnslist(&path, &names)?;
        Ok(list
            .into_iter()
            .map(|s| {
                let s = if s.st_ino == -1 {
                    s
                } else {
                    self.user_statns(s)
                };
                FishStat {
                    dev: s.st_dev,
                    ino: s.st_ino,
                    mode: s.st_mode,
                    nlink: s.st_nlink,
                    uid: s.st_uid,
                    gid: s.st_gid,
                    rdev: s.st_rdev,
                    size: s.st_size,
                    blksize: s.st_blksize,
                    blocks: s.st_blocks,
                    atime: s.st_atime_sec,
                    mtime: s.st_mtime_sec,
                    ctime: s.st_ctime_sec,
                }
            })
            .collect())
    }

    fn lxattrlist(
        &self,
        _: &mut Call,
        path: GuestPath,
        names: Vec<String>,
    ) -> io::Result<Vec<FishXAttr>> {
        crate::fs::lists::check_file_names("lxattrlist", &names)?;
        extra::lxattrlist(&path, &names)
    }

    fn llz(&self, _: &mut Call, dir: GuestPath) -> io::Result<String> {
        dirs::ll(&dir).map(|text| extra::with_context_column(&text))
    }
    // ==== end of files commands (cmds-files) ====
    // ==== btrfs and xfs (cmds-btrfs) ====
    fn btrfs_filesystem_resize(
        &self,
        _: &mut Call,
        mountpoint: GuestPath,
        size: Option<i64>,
    ) -> io::Result<()> {
        self.btrfs().resize(&mountpoint, size)
    }

    fn mkfs_btrfs(
        &self,
        _: &mut Call,
        devices: Vec<ResolvedDevice>,
        _allocstart: Option<i64>,
        bytecount: Option<i64>,
        datatype: Option<String>,
        leafsize: Option<i32>,
        label: Option<String>,
        metadata: Option<String>,
        nodesize: Option<i32>,
        sectorsize: Option<i32>,
    ) -> io::Result<()> {
        // allocstart: btrfs-progs dropped --alloc-start; libguestfs ignores it too.
        let opts = btrfs::MkfsBtrfs {
            bytecount,
            datatype: datatype.as_deref(),
            leafsize,
            label: label.as_deref(),
            metadata: metadata.as_deref(),
            nodesize,
            sectorsize,
        };
        self.btrfs().mkfs(&devices, &opts)
    }

    fn btrfs_subvolume_snapshot(
        &self,
        _: &mut Call,
        source: GuestPath,
        dest: GuestPath,
        ro: Option<bool>,
        qgroupid: Option<String>,
    ) -> io::Result<()> {
        self.btrfs()
            .snapshot(&source, &dest, ro.unwrap_or(false), qgroupid.as_deref())
    }

    fn btrfs_subvolume_delete(&self, _: &mut Call, subvolume: GuestPath) -> io::Result<()> {
        self.btrfs().path_command(
            "btrfs_subvolume_delete",
            &["subvolume", "delete"],
            &subvolume,
        )
    }

    fn btrfs_subvolume_create(
        &self,
        _: &mut Call,
        dest: GuestPath,
        qgroupid: Option<String>,
    ) -> io::Result<()> {
        self.btrfs().create(&dest, qgroupid.as_deref())
    }

    fn btrfs_subvolume_list(&self, _: &mut Call, fs: String) -> io::Result<Vec<BtrfsSubvolume>> {
        self.btrfs().list(&fs)
    }

    fn btrfs_subvolume_set_default(&self, _: &mut Call, id: i64, fs: GuestPath) -> io::Result<()> {
        self.btrfs().set_default(id, &fs)
    }

    fn btrfs_filesystem_sync(&self, _: &mut Call, fs: GuestPath) -> io::Result<()> {
        self.btrfs()
            .path_command("btrfs_filesystem_sync", &["filesystem", "sync"], &fs)
    }

    fn btrfs_filesystem_balance(&self, _: &mut Call, fs: GuestPath) -> io::Result<()> {
        self.btrfs()
            .path_command("btrfs_filesystem_balance", &["balance"], &fs)
    }

    fn btrfs_device_add(
        &self,
        _: &mut Call,
        devices: Vec<ResolvedDevice>,
        fs: GuestPath,
    ) -> io::Result<()> {
        self.btrfs()
            .devices("btrfs_device_add", "add", &devices, &fs)
    }

    fn btrfs_device_delete(
        &self,
        _: &mut Call,
        devices: Vec<ResolvedDevice>,
        fs: GuestPath,
    ) -> io::Result<()> {
        self.btrfs()
            .devices("btrfs_device_delete", "delete", &devices, &fs)
    }

    fn btrfs_set_seeding(
        &self,
        _: &mut Call,
        device: ResolvedDevice,
        seeding: bool,
    ) -> io::Result<()> {
        let value = if seeding { "1" } else { "0" };
        self.btrfs()
            .on_device("btrfs_set_seeding", "btrfstune", &["-S", value], &device)
    }

    fn btrfs_fsck(
        &self,
        _: &mut Call,
        device: ResolvedDevice,
        superblock: Option<i64>,
        repair: Option<bool>,
    ) -> io::Result<()> {
        self.btrfs()
            .fsck(&device, superblock, repair.unwrap_or(false))
    }

    fn xfs_info(&self, _: &mut Call, pathordevice: String) -> io::Result<XfsInfo> {
        xfs::info(&self.disks, &self.modules, &pathordevice)
    }

    fn xfs_growfs(
        &self,
        _: &mut Call,
        path: GuestPath,
        datasec: Option<bool>,
        logsec: Option<bool>,
        rtsec: Option<bool>,
        datasize: Option<i64>,
        logsize: Option<i64>,
        rtsize: Option<i64>,
        rtextsize: Option<i64>,
        maxpct: Option<i32>,
    ) -> io::Result<()> {
        let how = xfs::Growfs {
            datasec: datasec.unwrap_or(false),
            logsec: logsec.unwrap_or(false),
            rtsec: rtsec.unwrap_or(false),
            datasize,
            logsize,
            rtsize,
            rtextsize,
            maxpct,
        };
        xfs::growfs(&path, &how)
    }

    fn xfs_admin(
        &self,
        _: &mut Call,
        device: ResolvedDevice,
        extunwritten: Option<bool>,
        imgfile: Option<bool>,
        v2log: Option<bool>,
        projid32bit: Option<bool>,
        lazycounter: Option<bool>,
        label: Option<String>,
        uuid: Option<String>,
    ) -> io::Result<()> {
        let how = xfs::Admin {
            extunwritten: extunwritten.unwrap_or(false),
            imgfile: imgfile.unwrap_or(false),
            v2log: v2log.unwrap_or(false),
            projid32bit: projid32bit.unwrap_or(false),
            lazycounter,
            label: label.as_deref(),
            uuid: uuid.as_deref(),
        };
        xfs::admin(&device, &how)
    }

    fn xfs_repair(
        &self,
        _: &mut Call,
        device: String,
        forcelogzero: Option<bool>,
        nomodify: Option<bool>,
        noprefetch: Option<bool>,
        forcegeometry: Option<bool>,
        maxmem: Option<i64>,
        ihashsize: Option<i64>,
        bhashsize: Option<i64>,
        agstride: Option<i64>,
        logdev: Option<String>,
        rtdev: Option<String>,
    ) -> io::Result<i32> {
        let how = xfs::Repair {
            forcelogzero: forcelogzero.unwrap_or(false),
            nomodify: nomodify.unwrap_or(false),
            noprefetch: noprefetch.unwrap_or(false),
            forcegeometry: forcegeometry.unwrap_or(false),
            maxmem,
            ihashsize,
            bhashsize,
            agstride,
            logdev: logdev.as_deref(),
            rtdev: rtdev.as_deref(),
        };
        xfs::repair(&self.disks, &self.modules, &device, &how)
    }

    fn btrfs_subvolume_get_default(&self, _: &mut Call, fs: String) -> io::Result<i64> {
        self.btrfs().get_default(&fs)
    }

    fn btrfs_subvolume_show(
        &self,
        _: &mut Call,
        subvolume: GuestPath,
    ) -> io::Result<Vec<KeyValue>> {
        self.btrfs().show(&subvolume)
    }

    fn btrfs_quota_enable(&self, _: &mut Call, fs: String, enable: bool) -> io::Result<()> {
        let verb = if enable { "enable" } else { "disable" };
        self.btrfs().quota("btrfs_quota_enable", &fs, verb)
    }

    fn btrfs_quota_rescan(&self, _: &mut Call, fs: String) -> io::Result<()> {
        self.btrfs().quota("btrfs_quota_rescan", &fs, "rescan")
    }

    fn btrfs_qgroup_limit(&self, _: &mut Call, subvolume: GuestPath, size: i64) -> io::Result<()> {
        let size = size.to_string();
        self.btrfs()
            .qgroup("btrfs_qgroup_limit", "limit", &[&size], &subvolume)
    }

    fn btrfs_qgroup_create(
        &self,
        _: &mut Call,
        qgroupid: String,
        subvolume: GuestPath,
    ) -> io::Result<()> {
        self.btrfs()
            .qgroup("btrfs_qgroup_create", "create", &[&qgroupid], &subvolume)
    }

    fn btrfs_qgroup_destroy(
        &self,
        _: &mut Call,
        qgroupid: String,
        subvolume: GuestPath,
    ) -> io::Result<()> {
        self.btrfs()
            .qgroup("btrfs_qgroup_destroy", "destroy", &[&qgroupid], &subvolume)
    }

    fn btrfs_qgroup_show(&self, _: &mut Call, path: GuestPath) -> io::Result<Vec<BtrfsQgroup>> {
        self.btrfs().qgroup_show(&path)
    }

    fn btrfs_qgroup_assign(
        &self,
        _: &mut Call,
        src: String,
        dst: String,
        path: GuestPath,
    ) -> io::Result<()> {
        self.btrfs()
            .qgroup("btrfs_qgroup_assign", "assign", &[&src, &dst], &path)
    }

    fn btrfs_qgroup_remove(
        &self,
        _: &mut Call,
        src: String,
        dst: String,
        path: GuestPath,
    ) -> io::Result<()> {
        self.btrfs()
            .qgroup("btrfs_qgroup_remove", "remove", &[&src, &dst], &path)
    }

    fn btrfs_scrub_start(&self, _: &mut Call, path: GuestPath) -> io::Result<()> {
        self.btrfs()
            .path_command("btrfs_scrub_start", &["scrub", "start"], &path)
    }

    fn btrfs_scrub_cancel(&self, _: &mut Call, path: GuestPath) -> io::Result<()> {
        self.btrfs()
            .path_command("btrfs_scrub_cancel", &["scrub", "cancel"], &path)
    }

    fn btrfs_scrub_resume(&self, _: &mut Call, path: GuestPath) -> io::Result<()> {
        self.btrfs()
            .path_command("btrfs_scrub_resume", &["scrub", "resume"], &path)
    }

    fn btrfs_balance_pause(&self, _: &mut Call, path: GuestPath) -> io::Result<()> {
        self.btrfs()
            .path_command("btrfs_balance_pause", &["balance", "pause"], &path)
    }

    fn btrfs_balance_cancel(&self, _: &mut Call, path: GuestPath) -> io::Result<()> {
        self.btrfs()
            .path_command("btrfs_balance_cancel", &["balance", "cancel"], &path)
    }

    fn btrfs_balance_resume(&self, _: &mut Call, path: GuestPath) -> io::Result<()> {
        self.btrfs()
            .path_command("btrfs_balance_resume", &["balance", "resume"], &path)
    }

    fn btrfs_filesystem_defragment(
        &self,
        _: &mut Call,
        path: GuestPath,
        flush: Option<bool>,
        compress: Option<String>,
    ) -> io::Result<()> {
        self.btrfs()
            .defragment(&path, flush.unwrap_or(false), compress.as_deref())
    }

    fn btrfs_rescue_chunk_recover(&self, _: &mut Call, device: ResolvedDevice) -> io::Result<()> {
        self.btrfs().on_device(
            "btrfs_rescue_chunk_recover",
            "btrfs",
            &["rescue", "chunk-recover", "-y"],
            &device,
        )
    }

    fn btrfs_rescue_super_recover(&self, _: &mut Call, device: ResolvedDevice) -> io::Result<()> {
        self.btrfs().on_device(
            "btrfs_rescue_super_recover",
            "btrfs",
            &["rescue", "super-recover", "-y"],
            &device,
        )
    }

    fn btrfs_balance_status(&self, _: &mut Call, path: GuestPath) -> io::Result<BtrfsBalance> {
        self.btrfs().balance_status(&path)
    }

    fn btrfs_scrub_status(&self, _: &mut Call, path: GuestPath) -> io::Result<BtrfsScrub> {
        self.btrfs().scrub_status(&path)
    }

    fn btrfstune_seeding(
        &self,
        _: &mut Call,
        device: ResolvedDevice,
        seeding: bool,
    ) -> io::Result<()> {
        // Clearing the flag needs -f, as libguestfs passes it.
        let args: &[&str] = if seeding {
            &["-S", "1"]
        } else {
            &["-S", "0", "-f"]
        };
        self.btrfs()
            .on_device("btrfstune_seeding", "btrfstune", args, &device)
    }

    fn btrfstune_enable_extended_inode_refs(
        &self,
        _: &mut Call,
        device: ResolvedDevice,
    ) -> io::Result<()> {
        self.btrfs().on_device(
            "btrfstune_enable_extended_inode_refs",
            "btrfstune",
            &["-r"],
            &device,
        )
    }

    fn btrfstune_enable_skinny_metadata_extent_refs(
        &self,
        _: &mut Call,
        device: ResolvedDevice,
    ) -> io::Result<()> {
        self.btrfs().on_device(
            "btrfstune_enable_skinny_metadata_extent_refs",
            "btrfstune",
            &["-x"],
            &device,
        )
    }

    fn btrfs_image(
        &self,
        _: &mut Call,
        source: Vec<ResolvedDevice>,
        image: GuestPath,
        compresslevel: Option<i32>,
    ) -> io::Result<()> {
        self.btrfs().image(&source, &image, compresslevel)
    }

    fn btrfs_replace(
        &self,
        _: &mut Call,
        srcdev: ResolvedDevice,
        targetdev: ResolvedDevice,
        mntpoint: GuestPath,
    ) -> io::Result<()> {
        self.btrfs().replace(&srcdev, &targetdev, &mntpoint)
    }

    fn btrfs_filesystem_show(
        &self,
        _: &mut Call,
        device: ResolvedDevice,
    ) -> io::Result<Vec<Device>> {
        self.btrfs().filesystem_show(&device)
    }
    // ==== end of btrfs and xfs (cmds-btrfs) ====

    // ==== Augeas, hivex and journal commands (cmds-libs) ====
    fn aug_init(&self, _: &mut Call, root: GuestPath, flags: i32) -> io::Result<()> {
        augeas::init(&root, flags)
    }
    fn aug_close(&self, _: &mut Call) -> io::Result<()> {
        augeas::close()
    }
    fn aug_defvar(&self, _: &mut Call, name: String, expr: OptString) -> io::Result<i32> {
        augeas::defvar(&name, expr.0.as_deref())
    }
    fn aug_defnode(
        &self,
        _: &mut Call,
        name: String,
        expr: String,
        val: String,
    ) -> io::Result<IntBool> {
        augeas::defnode(&name, &expr, &val)
    }
    fn aug_get(&self, _: &mut Call, augpath: String) -> io::Result<String> {
        augeas::get(&augpath)
    }
    fn aug_set(&self, _: &mut Call, augpath: String, val: String) -> io::Result<()> {
        augeas::set(&augpath, &val)
    }
    fn aug_insert(
        &self,
        _: &mut Call,
        augpath: String,
        label: String,
        before: bool,
    ) -> io::Result<()> {
        augeas::insert(&augpath, &label, before)
    }
    fn aug_rm(&self, _: &mut Call, augpath: String) -> io::Result<i32> {
        augeas::rm(&augpath)
    }
    fn aug_mv(&self, _: &mut Call, src: String, dest: String) -> io::Result<()> {
        augeas::mv(&src, &dest)
    }
    fn aug_match(&self, _: &mut Call, augpath: String) -> io::Result<Vec<String>> {
        augeas::match_(&augpath)
    }
    fn aug_save(&self, _: &mut Call) -> io::Result<()> {
        augeas::save()
    }
    fn aug_load(&self, _: &mut Call) -> io::Result<()> {
        augeas::load_files()
    }
    fn aug_ls(&self, _: &mut Call, augpath: String) -> io::Result<Vec<String>> {
        augeas::ls(&augpath)
    }
    fn aug_clear(&self, _: &mut Call, augpath: String) -> io::Result<()> {
        augeas::clear(&augpath)
    }
    fn aug_setm(&self, _: &mut Call, base: String, sub: OptString, val: String) -> io::Result<i32> {
        augeas::setm(&base, sub.0.as_deref(), &val)
    }
    fn aug_label(&self, _: &mut Call, augpath: String) -> io::Result<String> {
        augeas::label(&augpath)
    }
    fn aug_transform(
        &self,
        _: &mut Call,
        lens: String,
        file: String,
        remove: Option<bool>,
    ) -> io::Result<()> {
        augeas::transform(&lens, &file, remove.unwrap_or(false))
    }
    fn hivex_open(
        &self,
        _: &mut Call,
        filename: GuestPath,
        verbose: Option<bool>,
        debug: Option<bool>,
        write: Option<bool>,
        unsafe_: Option<bool>,
    ) -> io::Result<()> {
        let on = |b: Option<bool>| b.unwrap_or(false);
        hivex::open(&filename, on(verbose), on(debug), on(write), on(unsafe_))
    }
    fn hivex_close(&self, _: &mut Call) -> io::Result<()> {
        hivex::close()
    }
    fn hivex_root(&self, _: &mut Call) -> io::Result<i64> {
        hivex::root()
    }
    fn hivex_node_name(&self, _: &mut Call, nodeh: i64) -> io::Result<String> {
        hivex::node_name(nodeh)
    }
    fn hivex_node_children(&self, _: &mut Call, nodeh: i64) -> io::Result<Vec<HivexNode>> {
        hivex::node_children(nodeh)
    }
    fn hivex_node_get_child(&self, _: &mut Call, nodeh: i64, name: String) -> io::Result<i64> {
        hivex::node_get_child(nodeh, &name)
    }
    fn hivex_node_parent(&self, _: &mut Call, nodeh: i64) -> io::Result<i64> {
        hivex::node_parent(nodeh)
    }
    fn hivex_node_values(&self, _: &mut Call, nodeh: i64) -> io::Result<Vec<HivexValue>> {
        hivex::node_values(nodeh)
    }
    fn hivex_node_get_value(&self, _: &mut Call, nodeh: i64, key: String) -> io::Result<i64> {
        hivex::node_get_value(nodeh, &key)
    }
    fn hivex_value_key(&self, _: &mut Call, valueh: i64) -> io::Result<String> {
        hivex::value_key(valueh)
    }
    fn hivex_value_type(&self, _: &mut Call, valueh: i64) -> io::Result<i64> {
        hivex::value_type(valueh)
    }
    fn hivex_value_value(&self, _: &mut Call, valueh: i64) -> io::Result<Data> {
        hivex::value_value(valueh).map(Data)
    }
    fn hivex_value_string(&self, _: &mut Call, valueh: i64) -> io::Result<String> {
        hivex::value_string("hivex_value_string", valueh)
    }
    fn hivex_commit(&self, _: &mut Call, filename: OptString) -> io::Result<()> {
        hivex::commit(filename.0.as_deref())
    }
    fn hivex_node_add_child(&self, _: &mut Call, parent: i64, name: String) -> io::Result<i64> {
        hivex::node_add_child(parent, &name)
    }
    fn hivex_node_delete_child(&self, _: &mut Call, nodeh: i64) -> io::Result<()> {
        hivex::node_delete_child(nodeh)
    }
    fn hivex_node_set_value(
        &self,
        _: &mut Call,
        nodeh: i64,
        key: String,
        t: i64,
        val: Data,
    ) -> io::Result<()> {
        hivex::node_set_value(nodeh, &key, t, &val.0)
    }
    fn hivex_value_utf8(&self, _: &mut Call, valueh: i64) -> io::Result<String> {
        hivex::value_string("hivex_value_utf8", valueh)
    }
    fn journal_open(&self, _: &mut Call, directory: GuestPath) -> io::Result<()> {
        journal::open(&directory)
    }
    fn journal_close(&self, _: &mut Call) -> io::Result<()> {
        journal::close()
    }
    fn journal_next(&self, _: &mut Call) -> io::Result<bool> {
        journal::next()
    }
    fn journal_skip(&self, _: &mut Call, skip: i64) -> io::Result<i64> {
        journal::skip(skip)
    }
    fn journal_get(&self, _: &mut Call) -> io::Result<Vec<FishXAttr>> {
        journal::get()
    }
    fn journal_get_data_threshold(&self, _: &mut Call) -> io::Result<i64> {
        journal::get_data_threshold()
    }
    fn journal_set_data_threshold(&self, _: &mut Call, threshold: i64) -> io::Result<()> {
        journal::set_data_threshold(threshold)
    }
    fn journal_get_realtime_usec(&self, _: &mut Call) -> io::Result<i64> {
        journal::get_realtime_usec()
    }
    // ==== end of Augeas, hivex and journal commands (cmds-libs) ====
    // ==== ISO, squashfs, sleuthkit, SELinux, f2fs, yara (cmds-misc) ====
    fn isoinfo_device(&self, _: &mut Call, device: ResolvedDevice) -> io::Result<Isoinfo> {
        let shown = device.name().to_string();
        crate::block::isoinfo::isoinfo_device(device.node(), &shown)
    }

    fn isoinfo(&self, _: &mut Call, isofile: GuestPath) -> io::Result<Isoinfo> {
        let fd = crate::fs::guestfs::open(&isofile, libc::O_RDONLY | libc::O_CLOEXEC, 0)?;
        crate::block::isoinfo::isoinfo(&std::fs::File::from(fd), "isoinfo", &isofile.to_string())
    }

    fn mksquashfs(
        &self,
        call: &mut Call,
        path: GuestPath,
        compress: Option<String>,
        excludes: Option<Vec<String>>,
    ) -> io::Result<()> {
        crate::stream::piped::mksquashfs(
            call,
            &path,
            compress.as_deref(),
            &excludes.unwrap_or_default(),
        )
    }

    fn compress_device_out(
        &self,
        call: &mut Call,
        ctype: String,
        device: ResolvedDevice,
        level: Option<i32>,
    ) -> io::Result<()> {
        crate::stream::piped::compress_device_out(call, &ctype, device.node(), level)
    }

    fn download_blocks(
        &self,
        call: &mut Call,
        device: ResolvedDevice,
        start: i64,
        stop: i64,
        unallocated: Option<bool>,
    ) -> io::Result<()> {
        crate::stream::piped::download_blocks(
            call,
            device.node(),
            start,
            stop,
            unallocated.unwrap_or(false),
        )
    }

    fn download_inode(
        &self,
        call: &mut Call,
        device: ResolvedDevice,
        inode: i64,
    ) -> io::Result<()> {
        crate::stream::piped::download_inode(call, device.node(), inode)
    }

    fn ntfscat_i(&self, call: &mut Call, device: ResolvedDevice, inode: i64) -> io::Result<()> {
        crate::fs::ntfs::cat_inode(call, device.node(), inode)
    }

    #[allow(clippy::too_many_arguments)]
    fn ntfsclone_out(
        &self,
        call: &mut Call,
        device: ResolvedDevice,
        metadataonly: Option<bool>,
        rescue: Option<bool>,
        ignorefscheck: Option<bool>,
        preservetimestamps: Option<bool>,
        force: Option<bool>,
    ) -> io::Result<()> {
        let opts = crate::fs::ntfs::CloneOut {
            metadata_only: metadataonly.unwrap_or(false),
            rescue: rescue.unwrap_or(false),
            ignore_fs_check: ignorefscheck.unwrap_or(false),
            preserve_timestamps: preservetimestamps.unwrap_or(false),
            force: force.unwrap_or(false),
        };
        crate::fs::ntfs::clone_out(call, device.node(), opts)
    }

    fn ntfsclone_in(&self, call: &mut Call, device: ResolvedDevice) -> io::Result<()> {
        crate::fs::ntfs::clone_in(call, device.node(), device.name().as_str())
    }

    fn filesystem_walk(&self, _: &mut Call, device: ResolvedDevice) -> io::Result<Vec<TskDirent>> {
        crate::fs::tsk::walk(device.node(), None, "internal_filesystem_walk")
    }

    fn find_inode(
        &self,
        _: &mut Call,
        device: ResolvedDevice,
        inode: i64,
    ) -> io::Result<Vec<TskDirent>> {
        crate::fs::tsk::walk(device.node(), Some(inode as u64), "internal_find_inode")
    }

    fn getcon(&self, _: &mut Call) -> io::Result<String> {
        crate::fs::selinux::getcon()
    }

    fn setcon(&self, _: &mut Call, context: String) -> io::Result<()> {
        crate::fs::selinux::setcon(&context)
    }

    fn selinux_relabel(
        &self,
        _: &mut Call,
        _specfile: String,
        _path: GuestPath,
        _force: Option<bool>,
    ) -> io::Result<()> {
        crate::fs::selinux::selinux_relabel()
    }

    fn f2fs_expand(&self, _: &mut Call, device: ResolvedDevice) -> io::Result<()> {
        let out = crate::boot::tools::run_status("resize.f2fs", &[device.node()], &[], None)?;
        if out.status.success() {
            return Ok(());
        }
        // libguestfs folds the tool's stdout into its stderr for the message.
        let mut said = String::from_utf8_lossy(&out.stdout).into_owned();
        said.push_str(&String::from_utf8_lossy(&out.stderr));
        Err(io::Error::other(format!(
            "f2fs_expand: {}",
            said.trim_end()
        )))
    }

    fn yara_load(&self, call: &mut Call) -> io::Result<()> {
        crate::fs::yara::load(call)
    }

    fn yara_destroy(&self, _: &mut Call) -> io::Result<()> {
        crate::fs::yara::destroy()
    }

    fn yara_scan(&self, _: &mut Call, path: GuestPath) -> io::Result<Vec<YaraDetection>> {
        crate::fs::yara::scan(&path)
    }
    // ==== end of cmds-misc ====

    // ==== the last guestfish commands (cmds-last) ====
    fn part_resize(
        &self,
        _: &mut Call,
        device: ResolvedDevice,
        partnum: i32,
        endsect: i64,
    ) -> io::Result<()> {
        let whole = crate::block::blockdev::disk_index(&self.disks, device.node()).is_some();
        crate::block::parts::part_resize(
            device.node(),
            device.name().as_str(),
            whole,
            partnum,
            endsect,
        )
    }

    fn part_set_disk_guid(
        &self,
        _: &mut Call,
        device: ResolvedDisk,
        guid: String,
    ) -> io::Result<()> {
        let name = self.disks.to_user(&device.node().to_string_lossy());
        crate::block::parts::set_disk_guid(device.node(), name.as_str(), Some(&guid))
    }

    fn part_set_disk_guid_random(&self, _: &mut Call, device: ResolvedDisk) -> io::Result<()> {
        let name = self.disks.to_user(&device.node().to_string_lossy());
        crate::block::parts::set_disk_guid(device.node(), name.as_str(), None)
    }

    fn part_set_gpt_attributes(
        &self,
        _: &mut Call,
        device: ResolvedDisk,
        partnum: i32,
        attributes: i64,
    ) -> io::Result<()> {
        let name = self.disks.to_user(&device.node().to_string_lossy());
        crate::block::parts::set_gpt_attributes(device.node(), name.as_str(), partnum, attributes)
    }

    fn part_set_gpt_guid(
        &self,
        _: &mut Call,
        device: ResolvedDisk,
        partnum: i32,
        guid: String,
    ) -> io::Result<()> {
        let name = self.disks.to_user(&device.node().to_string_lossy());
        crate::block::parts::set_gpt_guid(device.node(), name.as_str(), partnum, &guid)
    }

    fn filesystem_available(&self, _: &mut Call, filesystem: String) -> io::Result<bool> {
        crate::fs::mounts::filesystem_available(&self.modules, &filesystem)
    }

    fn md_stat(&self, _: &mut Call, md: ResolvedDevice) -> io::Result<Vec<MdStat>> {
        let kernel = md
            .node()
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let shown = md
            .name()
            .as_str()
            .strip_prefix("/dev/")
            .unwrap_or(md.name().as_str());
        Ok(crate::block::md::stat(&kernel, shown)?
            .into_iter()
            .map(|(device, index, flags)| MdStat {
                mdstat_device: self.disks.to_user(&device).to_string(),
                mdstat_index: index,
                mdstat_flags: flags,
            })
            .collect())
    }

    fn vgmeta(&self, _: &mut Call, vgname: String) -> io::Result<Data> {
        crate::block::lvm::vgmeta(&self.disks, &self.modules, &vgname).map(Data::from)
    }

    fn lvm_set_filter(&self, _: &mut Call, devices: Vec<ResolvedDevice>) -> io::Result<()> {
        let nodes = devices
            .iter()
            .map(|d| d.node().to_string_lossy().into_owned())
            .collect();
        crate::block::lvm::set_filter(&self.disks, &self.modules, Some(nodes))
    }

    fn lvm_clear_filter(&self, _: &mut Call) -> io::Result<()> {
        crate::block::lvm::set_filter(&self.disks, &self.modules, None)
    }

    fn mkmountpoint(&self, _: &mut Call, exemptpath: GuestPath) -> io::Result<()> {
        dirs::mkdir(&exemptpath, 0o777)
    }

    fn rmmountpoint(&self, _: &mut Call, exemptpath: GuestPath) -> io::Result<()> {
        dirs::rmdir(&exemptpath)
    }

    fn mount_loop(&self, _: &mut Call, file: GuestPath, mountpoint: GuestPath) -> io::Result<()> {
        use std::os::fd::AsFd;
        let wrap = |e: io::Error| {
            io::Error::new(e.kind(), format!("mount_loop: {file} on {mountpoint}: {e}"))
        };
        self.modules.load("loop").map_err(wrap)?;
        let image = crate::fs::guestfs::open(&file, libc::O_RDWR | libc::O_CLOEXEC, 0)
            .or_else(|_| crate::fs::guestfs::open(&file, libc::O_RDONLY | libc::O_CLOEXEC, 0))
            .map_err(wrap)?;
        // `_held` keeps the loop device attached until the mount holds it.
        let (node, _held) = sys::loop_attach(image.as_fd(), false).map_err(wrap)?;
        let device = ResolvedDevice::new(
            &self.disks,
            &self.modules,
            Device::from(node.to_string_lossy().into_owned()),
        )
        .map_err(wrap)?;
        self.mounts
            .mount(&self.modules, &device, &mountpoint, MountHow::default())
            .map_err(wrap)
    }

    fn remount(&self, _: &mut Call, mountpoint: GuestPath, rw: Option<bool>) -> io::Result<()> {
        let rw = rw.ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                "remount: parameter 'rw' must be specified",
            )
        })?;
        self.mounts.remount(&mountpoint, rw)
    }

    fn cryptsetup_open(
        &self,
        _: &mut Call,
        device: ResolvedDevice,
        key: Secret,
        mapname: String,
        readonly: Option<bool>,
        crypttype: Option<String>,
    ) -> io::Result<()> {
        crate::block::luks::cryptsetup_open(
            &self.modules,
            &device,
            &key,
            &mapname,
            readonly.unwrap_or(false),
            crypttype.as_deref(),
        )
    }

    fn cryptsetup_close(&self, _: &mut Call, device: VolumeName) -> io::Result<()> {
        if !device.0.as_str().starts_with("/dev/mapper/") {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "cryptsetup_close: {}: you must call this on the /dev/mapper device created \
                     by cryptsetup-open",
                    device.0
                ),
            ));
        }
        crate::block::luks::close(&device.0)
    }

    fn sfdisk(
        &self,
        _: &mut Call,
        device: ResolvedDevice,
        cyls: i32,
        heads: i32,
        sectors: i32,
        lines: Vec<String>,
    ) -> io::Result<()> {
        crate::block::sfdisk::partition("sfdisk", &device, 0, [cyls, heads, sectors], None, &lines)
    }

    fn sfdisk_n(
        &self,
        _: &mut Call,
        device: ResolvedDevice,
        partnum: i32,
        cyls: i32,
        heads: i32,
        sectors: i32,
        line: String,
    ) -> io::Result<()> {
        crate::block::sfdisk::partition(
            "sfdisk_N",
            &device,
            partnum,
            [cyls, heads, sectors],
            None,
            &[line],
        )
    }

    fn sfdisk_l(&self, _: &mut Call, device: ResolvedDevice) -> io::Result<String> {
        crate::block::sfdisk::show("sfdisk_l", &device, "-l")
    }

    fn sfdiskm(&self, _: &mut Call, device: ResolvedDevice, lines: Vec<String>) -> io::Result<()> {
        crate::block::sfdisk::partition("sfdiskM", &device, 0, [0; 3], Some("-uM"), &lines)
    }

    fn sfdisk_kernel_geometry(&self, _: &mut Call, device: ResolvedDevice) -> io::Result<String> {
        crate::block::sfdisk::show("sfdisk_kernel_geometry", &device, "-g")
    }

    fn sfdisk_disk_geometry(&self, _: &mut Call, device: ResolvedDevice) -> io::Result<String> {
        crate::block::sfdisk::show("sfdisk_disk_geometry", &device, "-G")
    }

    fn debug(&self, _: &mut Call, subcmd: String, extraargs: Vec<String>) -> io::Result<String> {
        crate::boot::debug::debug(&subcmd, &extraargs)
    }
    // ==== end of cmds-last ====

    fn drives_release(&self, _: &mut Call) -> io::Result<()> {
        super::reuse::release(self)
    }

    fn drives_probe(&self, _: &mut Call, count: i32) -> io::Result<i32> {
        let count =
            usize::try_from(count).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
        super::reuse::probe(self, count).map(|n| n as i32)
    }

    // ==== the FUSE mount's batches (issue 15) ====
    fn read_files(
        &self,
        _: &mut Call,
        paths: Vec<GuestPath>,
        maxsize: Option<ByteSize>,
    ) -> io::Result<Vec<FileContent>> {
        files::read_files(&paths, maxsize.map(|m| m.0))
    }

    fn luks_keyslots(&self, _: &mut Call, device: ResolvedDevice) -> io::Result<LuksUnlockInfo> {
        crate::block::luks::keyslots(&device)
    }

    fn luks_open_volume_key(
        &self,
        _: &mut Call,
        device: ResolvedDevice,
        key: Secret,
        mapname: String,
        readonly: bool,
    ) -> io::Result<()> {
        crate::block::luks::open_volume_key(&self.modules, &device, &key, &mapname, readonly)
    }

    fn fh_write_ranges(
        &self,
        _: &mut Call,
        h: FileHandle,
        offsets: Vec<ByteSize>,
        lengths: Vec<ByteSize>,
        data: Data,
    ) -> io::Result<u64> {
        let offsets: Vec<u64> = offsets.iter().map(|o| o.0).collect();
        let lengths: Vec<u64> = lengths.iter().map(|l| l.0).collect();
        handles::write_ranges(h, &offsets, &lengths, &data.0)
    }
    // ==== end of the FUSE mount's batches ====

    // ==== bootloaders and 9p (issue 11) ====
    fn list_9p(&self, _: &mut Call) -> io::Result<Vec<String>> {
        Err(crate::fs::bootloader::removed_9p("list_9p"))
    }

    fn mount_9p(
        &self,
        _: &mut Call,
        _mounttag: String,
        _mountpoint: String,
        _options: Option<String>,
    ) -> io::Result<()> {
        Err(crate::fs::bootloader::removed_9p("mount_9p"))
    }

    fn syslinux(
        &self,
        _: &mut Call,
        device: ResolvedDevice,
        directory: Option<String>,
    ) -> io::Result<()> {
        crate::fs::bootloader::syslinux(device.node(), directory.as_deref())
    }

    fn extlinux(&self, _: &mut Call, directory: GuestPath) -> io::Result<()> {
        crate::fs::bootloader::extlinux(&directory)
    }
    // ==== end of bootloaders and 9p ====

    // ==== Windows dynamic disks, rsync and grub-install (issue 11) ====
    fn list_ldm_volumes(&self, _: &mut Call) -> io::Result<Vec<String>> {
        crate::block::ldm::list(&self.modules, "ldm_vol_")
    }

    fn list_ldm_partitions(&self, _: &mut Call) -> io::Result<Vec<String>> {
        crate::block::ldm::list(&self.modules, "ldm_part_")
    }

    fn ldmtool_create_all(&self, _: &mut Call) -> io::Result<()> {
        crate::block::ldm::create_all(&self.modules)
    }

    fn ldmtool_remove_all(&self, _: &mut Call) -> io::Result<()> {
        crate::block::ldm::remove_all(&self.modules)
    }

    fn ldmtool_scan(&self, _: &mut Call) -> io::Result<Vec<String>> {
        crate::block::ldm::scan("ldmtool_scan", &self.modules, &[])
    }

    fn ldmtool_scan_devices(
        &self,
        _: &mut Call,
        devices: Vec<ResolvedDevice>,
    ) -> io::Result<Vec<String>> {
        let nodes: Vec<&std::path::Path> = devices.iter().map(|d| d.node()).collect();
        crate::block::ldm::scan("ldmtool_scan_devices", &self.modules, &nodes)
    }

    fn ldmtool_diskgroup_name(&self, _: &mut Call, diskgroup: String) -> io::Result<String> {
        crate::block::ldm::diskgroup("ldmtool_diskgroup_name", &self.modules, &diskgroup)?
            .string("name", false)
    }

    fn ldmtool_diskgroup_volumes(
        &self,
        _: &mut Call,
        diskgroup: String,
    ) -> io::Result<Vec<String>> {
        crate::block::ldm::diskgroup("ldmtool_diskgroup_volumes", &self.modules, &diskgroup)?
            .strings("volumes")
    }

    fn ldmtool_diskgroup_disks(&self, _: &mut Call, diskgroup: String) -> io::Result<Vec<String>> {
        let disks =
            crate::block::ldm::diskgroup("ldmtool_diskgroup_disks", &self.modules, &diskgroup)?
                .strings("disks")?;
        Ok(crate::block::ldm::user_names(&self.disks, disks))
    }

    fn ldmtool_volume_type(
        &self,
        _: &mut Call,
        diskgroup: String,
        volume: String,
    ) -> io::Result<String> {
        crate::block::ldm::volume("ldmtool_volume_type", &self.modules, &diskgroup, &volume)?
            .string("type", false)
    }

    fn ldmtool_volume_hint(
        &self,
        _: &mut Call,
        diskgroup: String,
        volume: String,
    ) -> io::Result<String> {
        crate::block::ldm::volume("ldmtool_volume_hint", &self.modules, &diskgroup, &volume)?
            .string("hint", true)
    }

    fn ldmtool_volume_partitions(
        &self,
        _: &mut Call,
        diskgroup: String,
        volume: String,
    ) -> io::Result<Vec<String>> {
        let parts = crate::block::ldm::volume(
            "ldmtool_volume_partitions",
            &self.modules,
            &diskgroup,
            &volume,
        )?
        .strings("partitions")?;
        Ok(crate::block::ldm::user_names(&self.disks, parts))
    }

    fn rsync(
        &self,
        _: &mut Call,
        src: GuestPath,
        dest: GuestPath,
        archive: Option<bool>,
        deletedest: Option<bool>,
    ) -> io::Result<()> {
        crate::stream::rsync::rsync(&src, &dest, rsync_options(archive, deletedest))
    }

    fn rsync_in(
        &self,
        _: &mut Call,
        remote: String,
        dest: GuestPath,
        archive: Option<bool>,
        deletedest: Option<bool>,
    ) -> io::Result<()> {
        crate::stream::rsync::rsync_in(&remote, &dest, rsync_options(archive, deletedest))
    }

    fn rsync_out(
        &self,
        _: &mut Call,
        src: GuestPath,
        remote: String,
        archive: Option<bool>,
        deletedest: Option<bool>,
    ) -> io::Result<()> {
        crate::stream::rsync::rsync_out(&src, &remote, rsync_options(archive, deletedest))
    }

    fn grub_install(
        &self,
        _: &mut Call,
        root: GuestPath,
        device: ResolvedDevice,
    ) -> io::Result<()> {
        crate::fs::bootloader::grub_install(&root, device.node())
    }
    // ==== end of Windows dynamic disks, rsync and grub-install ====
}

/// guestfish's rsync options: each off unless given.
fn rsync_options(archive: Option<bool>, deletedest: Option<bool>) -> crate::stream::rsync::Options {
    crate::stream::rsync::Options {
        archive: archive.unwrap_or(false),
        deletedest: deletedest.unwrap_or(false),
    }
}

/// guestfish's copy options; `append` is for files only: a copy to a device (`call`)
/// refuses it in libguestfs's words.
fn copy_options(
    call: &str,
    srcoffset: Option<i64>,
    destoffset: Option<i64>,
    size: Option<i64>,
    sparse: Option<bool>,
    append: Option<bool>,
) -> io::Result<crate::block::copydev::CopyOptions> {
    if append == Some(true) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{call}: the append flag cannot be set for this call"),
        ));
    }
    Ok(crate::block::copydev::CopyOptions {
        srcoffset,
        destoffset,
        size,
        sparse: sparse.unwrap_or(false),
        append: false,
    })
}

// ==== files commands (cmds-files) ====
/// tar in or out with a compression and guestfish's other defaults.
fn compressed(compress: Compression) -> tario::TarHow {
    tario::TarHow {
        compress,
        ..Default::default()
    }
}

impl Server {
    /// One end of a copy given as guestfish's `Dev_or_Path`: a `/dev/` name is a device,
    /// anything else a guest file (which needs a mounted root). `dest` is `Some(append)`
    /// for the destination.
    fn copy_end(&self, name: &str, dest: Option<bool>) -> io::Result<encode::End> {
        if name.starts_with("/dev/") {
            let dev =
                Device::new(name).map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e.0))?;
            let dev = self.device(dev)?;
            return encode::device(dev.node(), dest.is_some());
        }
        self.need_root()?;
        let path = GuestPath::from(name);
        let opened = match dest {
            Some(append) => encode::dest_file(&path, append),
            None => encode::source_file(&path),
        };
        // libguestfs's words: the path, then what went wrong.
        opened.map_err(|e| match e.raw_os_error() {
            Some(n) => {
                let text = io::Error::from_raw_os_error(n).to_string();
                let text = text.split(" (os error").next().unwrap_or("").to_string();
                io::Error::from(RemoteError::new(
                    Errno::from_raw(n),
                    format!("{name}: {text}"),
                ))
            }
            None => e,
        })
    }
}
// ==== end of files commands (cmds-files) ====

/// The grep family by guestfish's flags: `E` extended, `F` fixed, `i` insensitive, `z`
/// compressed.
fn grep_how(flags: &str) -> text::GrepHow {
    text::GrepHow {
        extended: flags.contains('E'),
        fixed: flags.contains('F'),
        insensitive: flags.contains('i'),
        compressed: flags.contains('z'),
    }
}

/// Whether the drive under a device is read-only: then a mount that does not say `ro` is
/// made read-only anyway, as mount(8) falls back to in guestfish.
fn drive_read_only(device: &ResolvedDevice) -> bool {
    crate::block::blockdev::read_only(device.node()).unwrap_or(false)
}

/// A partition number given as guestfish's int.
fn partnum(n: i32) -> io::Result<u32> {
    u32::try_from(n).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))
}
