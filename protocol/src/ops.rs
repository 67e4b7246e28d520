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
    /// True if anything exists at the path (symlinks are followed inside the guest).
    Exists exists(path: GuestPath) -> bool
        { group: files, access: Read, stream: None }

    /// True if the path is a regular file. A missing path is false. With
    /// `followsymlinks:true` a symlink to a regular file counts too.
    IsFile is_file(path: GuestPath) [followsymlinks: bool] -> bool
        { group: files, access: Read, stream: None }

    /// True if the path is a directory (`followsymlinks:true`: or a symlink to one).
    IsDir is_dir(path: GuestPath) [followsymlinks: bool] -> bool
        { group: files, access: Read, stream: None }

    /// True if the path is a symbolic link.
    IsSymlink is_symlink(path: GuestPath) -> bool
        { group: files, access: Read, stream: None }

    /// True if the path is a FIFO (named pipe).
    IsFifo is_fifo(path: GuestPath) [followsymlinks: bool] -> bool
        { group: files, access: Read, stream: None }

    /// True if the path is a block device node.
    IsBlockdev is_blockdev(path: GuestPath) [followsymlinks: bool] -> bool
        { group: files, access: Read, stream: None }

    /// True if the path is a character device node.
    IsChardev is_chardev(path: GuestPath) [followsymlinks: bool] -> bool
        { group: files, access: Read, stream: None }

    /// True if the path is a Unix socket.
    IsSocket is_socket(path: GuestPath) [followsymlinks: bool] -> bool
        { group: files, access: Read, stream: None }

    /// File metadata, following symlinks inside the guest (all fields, times with
    /// nanoseconds).
    Stat stat(path: GuestPath) -> Stat
        { group: files, access: Read, stream: None }

    /// File metadata of the path itself: a symlink is not followed.
    Lstat lstat(path: GuestPath) -> Stat
        { group: files, access: Read, stream: None }

    /// Size and usage of the filesystem that holds the path.
    Statvfs statvfs(path: GuestPath) -> StatVfs
        { group: files, access: Read, stream: None }

    /// The target of a symbolic link, as stored.
    Readlink readlink(path: GuestPath) -> GuestPath
        { group: files, access: Read, stream: None }

    /// The canonical absolute guest path, with every symlink resolved inside the guest.
    Realpath realpath(path: GuestPath) -> GuestPath
        { group: files, access: Read, stream: None }

    /// Bytes allocated to the path and everything below it (`du -s`, in bytes; hard links
    /// counted once).
    Du du(path: GuestPath) -> u64
        { group: files, access: Read, stream: None }

    /// The names in a directory, sorted, without `.` and `..`.
    Ls ls(directory: GuestPath) -> Vec<FileName>
        { group: files, access: Read, stream: None }

    /// A long listing of a directory, like `ls -la` (numeric owners, UTC times).
    Ll ll(directory: GuestPath) -> String
        { group: files, access: Read, stream: None }

    /// One page of a directory's entries (name, kind, inode), `.` and `..` included. Start
    /// at `offset:0` (the default) and pass the returned `next` while `more` is true;
    /// `count` caps the entries per page (default 4096).
    Readdir readdir(directory: GuestPath) [offset: u64, count: u32] -> DirPage
        { group: files, access: Read, stream: None }

    /// One page of a directory's entries, each with its lstat and symlink target, in one
    /// call (`.` and `..` left out). Paged like `readdir`.
    ReaddirPlus readdir_plus(directory: GuestPath) [offset: u64, count: u32] -> DirPlusPage
        { group: files, access: Read, stream: None }

    /// Every path below a directory, relative to it and sorted (at most 4 MiB of names;
    /// `find0` streams any number).
    Find find(directory: GuestPath) -> Vec<GuestPath>
        { group: files, access: Read, stream: None }

    /// Streams every path below a directory, relative to it, each ended by a NUL byte.
    Find0 find0(directory: GuestPath) -> ()
        { group: files, access: Read, stream: Output }

    /// Expands a shell pattern (`*`, `?`, `[...]`) in the guest; sorted matches, directories
    /// with a trailing `/` unless `directoryslash:false`.
    GlobExpand glob_expand(pattern: GuestPath) [directoryslash: bool] -> Vec<GuestPath>
        { group: files, access: Read, stream: None }

    /// Creates a directory (mode 0755 less the umask).
    Mkdir mkdir(path: GuestPath) -> ()
        { group: files, access: Write, stream: None }

    /// Creates a directory and any missing parents; an existing directory is fine.
    MkdirP mkdir_p(path: GuestPath) -> ()
        { group: files, access: Write, stream: None }

    /// Creates a directory with the given mode (less the umask).
    MkdirMode mkdir_mode(path: GuestPath, mode: Mode) -> ()
        { group: files, access: Write, stream: None }

    /// Removes an empty directory.
    Rmdir rmdir(path: GuestPath) -> ()
        { group: files, access: Write, stream: None }

    /// Removes a file (not a directory).
    Rm rm(path: GuestPath) -> ()
        { group: files, access: Write, stream: None }

    /// Removes a file; a missing one is not an error.
    RmF rm_f(path: GuestPath) -> ()
        { group: files, access: Write, stream: None }

    /// Removes a tree recursively. Symlinks are removed, never followed; a missing path is
    /// not an error.
    RmRf rm_rf(path: GuestPath) -> ()
        { group: files, access: Write, stream: None }

    /// Moves or renames a file or directory (into `dest` when it is a directory; across
    /// filesystems by copying).
    Mv mv(src: GuestPath, dest: GuestPath) -> ()
        { group: files, access: Write, stream: None }

    /// Copies a file (into `dest` when it is a directory), with its mode.
    Cp cp(src: GuestPath, dest: GuestPath) -> ()
        { group: files, access: Write, stream: None }

    /// Copies a file or tree keeping owners, modes, times, extended attributes, symlinks
    /// and special files (`cp -a`).
    CpA cp_a(src: GuestPath, dest: GuestPath) -> ()
        { group: files, access: Write, stream: None }

    /// Copies a file or tree recursively, symlinks as symlinks (`cp -rP`).
    CpR cp_r(src: GuestPath, dest: GuestPath) -> ()
        { group: files, access: Write, stream: None }

    /// Creates an empty file if missing and sets its times to now.
    Touch touch(path: GuestPath) -> ()
        { group: files, access: Write, stream: None }

    /// Truncates a file to zero bytes.
    Truncate truncate(path: GuestPath) -> ()
        { group: files, access: Write, stream: None }

    /// Sets a file's size in bytes, cutting it or extending it with zeros.
    TruncateSize truncate_size(path: GuestPath, size: ByteSize) -> ()
        { group: files, access: Write, stream: None }

    /// Creates a hard link `linkname` to `target`.
    Ln ln(target: GuestPath, linkname: GuestPath) -> ()
        { group: files, access: Write, stream: None }

    /// Creates a hard link, replacing an existing `linkname`.
    LnF ln_f(target: GuestPath, linkname: GuestPath) -> ()
        { group: files, access: Write, stream: None }

    /// Creates a symbolic link `linkname` holding `target` as given (it may be relative).
    LnS ln_s(target: GuestPath, linkname: GuestPath) -> ()
        { group: files, access: Write, stream: None }

    /// Creates a symbolic link, replacing an existing `linkname`.
    LnSf ln_sf(target: GuestPath, linkname: GuestPath) -> ()
        { group: files, access: Write, stream: None }

    /// Creates a special file. `mode` holds the type bits (0o20000 character, 0o60000 block,
    /// 0o10000 FIFO, 0o140000 socket) and the permissions.
    Mknod mknod(mode: u32, devmajor: u32, devminor: u32, path: GuestPath) -> ()
        { group: files, access: Write, stream: None }

    /// Creates a FIFO (named pipe).
    Mkfifo mkfifo(mode: Mode, path: GuestPath) -> ()
        { group: files, access: Write, stream: None }

    /// Creates a block device node.
    MknodB mknod_b(mode: Mode, devmajor: u32, devminor: u32, path: GuestPath) -> ()
        { group: files, access: Write, stream: None }

    /// Creates a character device node.
    MknodC mknod_c(mode: Mode, devmajor: u32, devminor: u32, path: GuestPath) -> ()
        { group: files, access: Write, stream: None }

    /// Renames like renameat2(2): `noreplace:true` fails with EEXIST rather than replace,
    /// `exchange:true` swaps the two paths atomically.
    Rename rename(src: GuestPath, dest: GuestPath) [noreplace: bool, exchange: bool] -> ()
        { group: files, access: Write, stream: None }

    /// Checks access like access(2): `mode` is a mask of 4 (read), 2 (write), 1 (execute),
    /// or 0 (exists). EROFS means a read-only filesystem.
    Access access(path: GuestPath, mode: i32) -> ()
        { group: files, access: Read, stream: None }

    /// Sets the permission bits (symlinks are followed).
    Chmod chmod(mode: Mode, path: GuestPath) -> ()
        { group: attributes, access: Write, stream: None }

    /// Sets owner and group (numeric; -1 keeps one). Symlinks are followed.
    Chown chown(owner: i64, group: i64, path: GuestPath) -> ()
        { group: attributes, access: Write, stream: None }

    /// Sets owner and group of the path itself (a symlink is not followed).
    Lchown lchown(owner: i64, group: i64, path: GuestPath) -> ()
        { group: attributes, access: Write, stream: None }

    /// Sets access and modification times (seconds and nanoseconds; nanoseconds -1 = now,
    /// -2 = leave unchanged). Symlinks are followed.
    Utimens utimens(path: GuestPath, atsecs: i64, atnsecs: i64, mtsecs: i64, mtnsecs: i64) -> ()
        { group: attributes, access: Write, stream: None }

    /// Like `utimens` on the path itself: a symlink is not followed.
    Lutimens lutimens(path: GuestPath, atsecs: i64, atnsecs: i64, mtsecs: i64, mtnsecs: i64) -> ()
        { group: attributes, access: Write, stream: None }

    /// Every extended attribute of a file (symlinks followed): names and values.
    Getxattrs getxattrs(path: GuestPath) -> Vec<XAttr>
        { group: attributes, access: Read, stream: None }

    /// Every extended attribute of the path itself (a symlink is not followed).
    Lgetxattrs lgetxattrs(path: GuestPath) -> Vec<XAttr>
        { group: attributes, access: Read, stream: None }

    /// One extended attribute's value (ENODATA if not set).
    Getxattr getxattr(path: GuestPath, name: String) -> Data
        { group: attributes, access: Read, stream: None }

    /// One extended attribute of the path itself.
    Lgetxattr lgetxattr(path: GuestPath, name: String) -> Data
        { group: attributes, access: Read, stream: None }

    /// Sets an extended attribute (symlinks followed).
    Setxattr setxattr(xattr: String, val: Data, path: GuestPath) -> ()
        { group: attributes, access: Write, stream: None }

    /// Sets an extended attribute of the path itself.
    Lsetxattr lsetxattr(xattr: String, val: Data, path: GuestPath) -> ()
        { group: attributes, access: Write, stream: None }

    /// Removes an extended attribute (symlinks followed).
    Removexattr removexattr(xattr: String, path: GuestPath) -> ()
        { group: attributes, access: Write, stream: None }

    /// Removes an extended attribute of the path itself.
    Lremovexattr lremovexattr(xattr: String, path: GuestPath) -> ()
        { group: attributes, access: Write, stream: None }

    /// The lines of a text file (at most 4 MiB), without their `\n` or `\r\n`.
    ReadLines read_lines(path: GuestPath) -> Vec<Line>
        { group: files, access: Read, stream: None }

    /// Up to `count` bytes (at most 4 MiB) from `offset`; fewer at the end of the file.
    Pread pread(path: GuestPath, count: ByteSize, offset: ByteSize) -> Data
        { group: files, access: Read, stream: None }

    /// Writes data at `offset` of an existing file; returns the bytes written.
    Pwrite pwrite(path: GuestPath, content: Data, offset: ByteSize) -> u64
        { group: files, access: Write, stream: None }

    /// Appends to a file, creating it (0644) if missing; on disk when the call returns.
    WriteAppend write_append(path: GuestPath, content: Data) -> ()
        { group: files, access: Write, stream: None }

    /// Replaces a file atomically: a temporary file in the same directory takes the
    /// content and the old file's owner, group, mode and extended attributes (SELinux
    /// label), is flushed and renamed over the old one. Readers never see a partial file.
    ReplaceFile replace_file(path: GuestPath, content: Data) -> ()
        { group: files, access: Write, stream: None }

    /// Uploads the input stream to a file (created with mode 0644 or truncated), of any
    /// size; the data is on disk when the call returns.
    Upload upload(path: GuestPath) -> ()
        { group: transfer, access: Write, stream: Input }

    /// Writes the input stream into a file from `offset` without truncating it (the file is
    /// created if missing).
    UploadOffset upload_offset(path: GuestPath, offset: ByteSize) -> ()
        { group: transfer, access: Write, stream: Input }

    /// Streams a whole file, of any size.
    Download download(path: GuestPath) -> ()
        { group: transfer, access: Read, stream: Output }

    /// Streams `size` bytes of a file from `offset` (fewer at its end).
    DownloadOffset download_offset(path: GuestPath, offset: ByteSize, size: ByteSize) -> ()
        { group: transfer, access: Read, stream: Output }

    /// The checksum of a file as lowercase hex: md5, sha1, sha224, sha256, sha384, sha512.
    Checksum checksum(csumtype: ChecksumType, path: GuestPath) -> String
        { group: files, access: Read, stream: None }

    /// The checksum of a whole device (`/dev/sda`, `/dev/sda1`, ...).
    ChecksumDevice checksum_device(csumtype: ChecksumType, device: Device) -> String
        { group: files, access: Read, stream: None }

    /// Streams `HASH  ./path` lines (as sha256sum prints them) for every regular file below
    /// a directory.
    ChecksumsOut checksums_out(csumtype: ChecksumType, directory: GuestPath) -> ()
        { group: files, access: Read, stream: Output }

    /// Unpacks a tar stream into a directory. `compress`: none (default), gzip, xz or zstd.
    /// `xattrs:true` restores extended attributes; `numericowner:true` ignores user and
    /// group names (otherwise they map through the guest's /etc/passwd and /etc/group).
    /// Nothing is ever written outside the directory, whatever names or links the archive
    /// holds; returns the number of members written.
    TarIn tar_in(directory: GuestPath) [compress: Compression, xattrs: bool, numericowner: bool] -> u64
        { group: transfer, access: Write, stream: Input }

    /// Packs a directory as a tar stream. `compress`: none (default), gzip or xz;
    /// `xattrs:true` stores extended attributes; `numericowner:true` leaves out user and
    /// group names; `excludes` are patterns of names to leave out (`*` also matches `/`).
    TarOut tar_out(directory: GuestPath) [compress: Compression, xattrs: bool, numericowner: bool, excludes: Vec<String>] -> ()
        { group: transfer, access: Read, stream: Output }

    /// Runs a guest program (chrooted into the guest, /dev, /proc and /sys bound in, guest
    /// PATH, stdin empty, no network) and returns its stdout. A non-zero exit is an error
    /// with the status and stderr; after `timeout_secs` (default 600) the program and its
    /// children are killed.
    Command command(arguments: Vec<String>) [timeout_secs: u64] -> String
        { group: commands, access: Write, stream: None }

    /// Like `command`, with the output split into lines.
    CommandLines command_lines(arguments: Vec<String>) [timeout_secs: u64] -> Vec<String>
        { group: commands, access: Write, stream: None }

    /// Runs a shell command line with the guest's /bin/sh (see `command`).
    Sh sh(command: String) [timeout_secs: u64] -> String
        { group: commands, access: Write, stream: None }

    /// Like `sh`, with the output split into lines.
    ShLines sh_lines(command: String) [timeout_secs: u64] -> Vec<String>
        { group: commands, access: Write, stream: None }

    /// Opens an existing regular file for `fh_read`/`fh_write` and returns a handle.
    /// `flags` are Linux open(2) flags: the access mode (0 read, 1 write, 2 both) plus
    /// O_APPEND, O_TRUNC, O_SYNC, O_DSYNC, O_NOATIME, O_DIRECT.
    FhOpen fh_open(path: GuestPath, flags: i32) -> FileHandle
        { group: handles, access: Write, stream: None }

    /// Creates a new file (it must not exist; never through a symlink) with `mode` and
    /// opens it like `fh_open`.
    FhCreate fh_create(path: GuestPath, mode: Mode, flags: i32) -> FileHandle
        { group: handles, access: Write, stream: None }

    /// Reads up to `size` bytes (at most 4 MiB) at `offset` of an open file.
    FhRead fh_read(handle: FileHandle, offset: ByteSize, size: ByteSize) -> Data
        { group: handles, access: Read, stream: None }

    /// Writes data at `offset` of an open file; returns the bytes written.
    FhWrite fh_write(handle: FileHandle, offset: ByteSize, data: Data) -> u64
        { group: handles, access: Write, stream: None }

    /// Flushes an open file to disk (`datasync:true`: its data only).
    FhFsync fh_fsync(handle: FileHandle) [datasync: bool] -> ()
        { group: handles, access: Write, stream: None }

    /// Sets the size of an open file.
    FhTruncate fh_truncate(handle: FileHandle, size: ByteSize) -> ()
        { group: handles, access: Write, stream: None }

    /// The metadata of an open file.
    FhStat fh_stat(handle: FileHandle) -> Stat
        { group: handles, access: Read, stream: None }

    /// Closes a handle.
    FhClose fh_close(handle: FileHandle) -> ()
        { group: handles, access: Read, stream: None }

    // ==== end of files ====

    // ==== block devices, partitions, filesystems, LVM ====
    // ==== end of block devices ====
}
