//! The one table of operations the daemon serves.
//!
//! Grammar of an entry:
//!
//! ```text
//! /// Help text (first line is the summary).
//! Variant name(required: Type, ...) [optional: Type, ...] -> Return
//!     { group: GROUP, access: Read|Write, stream: None|Input|Output[, needs: root] }
//! ```
//!
//! Entries are only ever appended: their order is the wire encoding of `Request`.
//! Everything else (argument structs, the daemon's trait and the stub that checks arguments,
//! client methods, shell parsing, help) is generated from here by `generate.rs`.
//!
//! The checks follow from the declaration, so an implementation never repeats them:
//! `needs: root` fails the call unless a filesystem is mounted on `/`; a `Device` argument
//! arrives resolved to a device that exists, a `Disk` as a whole disk; a `VolumeName` (an LV
//! or an opened LUKS volume, which need not be active) and a `GuestPath` arrive as given
//! (guest paths are resolved beneath the guest root when the operation opens them).

use crate::fish::*;
use crate::generate::{ArgInfo, CallStream, OpInfo};
use crate::luks::*;
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
        { group: files, access: Read, stream: None, needs: root }

    /// Create or replace a file with the given content, atomically (see `replace_file`; a
    /// symbolic link there is replaced, not followed). The content is on disk when the call
    /// returns.
    WriteFile write_file(path: GuestPath, content: Data) -> ()
        { group: files, access: Write, stream: None, needs: root }

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
        { group: files, access: Read, stream: None, needs: root }

    /// True if the path is a regular file. A missing path is false. With
    /// `followsymlinks:true` a symlink to a regular file counts too.
    IsFile is_file(path: GuestPath) [followsymlinks: bool] -> bool
        { group: files, access: Read, stream: None, needs: root }

    /// True if the path is a directory (`followsymlinks:true`: or a symlink to one).
    IsDir is_dir(path: GuestPath) [followsymlinks: bool] -> bool
        { group: files, access: Read, stream: None, needs: root }

    /// True if the path is a symbolic link.
    IsSymlink is_symlink(path: GuestPath) -> bool
        { group: files, access: Read, stream: None, needs: root }

    /// True if the path is a FIFO (named pipe).
    IsFifo is_fifo(path: GuestPath) [followsymlinks: bool] -> bool
        { group: files, access: Read, stream: None, needs: root }

    /// True if the path is a block device node.
    IsBlockdev is_blockdev(path: GuestPath) [followsymlinks: bool] -> bool
        { group: files, access: Read, stream: None, needs: root }

    /// True if the path is a character device node.
    IsChardev is_chardev(path: GuestPath) [followsymlinks: bool] -> bool
        { group: files, access: Read, stream: None, needs: root }

    /// True if the path is a Unix socket.
    IsSocket is_socket(path: GuestPath) [followsymlinks: bool] -> bool
        { group: files, access: Read, stream: None, needs: root }

    /// File metadata, following symlinks inside the guest (all fields, times with
    /// nanoseconds).
    Stat stat(path: GuestPath) -> Stat
        { group: files, access: Read, stream: None, needs: root }

    /// File metadata of the path itself: a symlink is not followed.
    Lstat lstat(path: GuestPath) -> Stat
        { group: files, access: Read, stream: None, needs: root }

    /// Size and usage of the filesystem that holds the path.
    Statvfs statvfs(path: GuestPath) -> StatVfs
        { group: files, access: Read, stream: None, needs: root }

    /// The target of a symbolic link, as stored.
    Readlink readlink(path: GuestPath) -> GuestPath
        { group: files, access: Read, stream: None, needs: root }

    /// The canonical absolute guest path, with every symlink resolved inside the guest.
    Realpath realpath(path: GuestPath) -> GuestPath
        { group: files, access: Read, stream: None, needs: root }

    /// Bytes allocated to the path and everything below it (`du -s`, in bytes; hard links
    /// counted once).
    Du du(path: GuestPath) -> u64
        { group: files, access: Read, stream: None, needs: root }

    /// The names in a directory, sorted, without `.` and `..`.
    Ls ls(directory: GuestPath) -> Vec<FileName>
        { group: files, access: Read, stream: None, needs: root }

    /// A long listing of a directory, like `ls -la` (numeric owners, UTC times).
    Ll ll(directory: GuestPath) -> String
        { group: files, access: Read, stream: None, needs: root }

    /// One page of a directory's entries (name, kind, inode), `.` and `..` included. Start
    /// at `offset:0` (the default) and pass the returned `next` while `more` is true;
    /// `count` caps the entries per page (default 4096).
    Readdir readdir(directory: GuestPath) [offset: u64, count: u32] -> DirPage
        { group: files, access: Read, stream: None, needs: root }

    /// One page of a directory's entries, each with its lstat and symlink target, in one
    /// call (`.` and `..` left out). Paged like `readdir`.
    ReaddirPlus readdir_plus(directory: GuestPath) [offset: u64, count: u32] -> DirPlusPage
        { group: files, access: Read, stream: None, needs: root }

    /// Every path below a directory, relative to it and sorted (at most 4 MiB of names;
    /// `find0` streams any number).
    Find find(directory: GuestPath) -> Vec<GuestPath>
        { group: files, access: Read, stream: None, needs: root }

    /// Streams every path below a directory, relative to it, each ended by a NUL byte.
    Find0 find0(directory: GuestPath) -> ()
        { group: files, access: Read, stream: Output, needs: root }

    /// Expands a shell pattern (`*`, `?`, `[...]`) in the guest; sorted matches, directories
    /// with a trailing `/` unless `directoryslash:false`.
    GlobExpand glob_expand(pattern: GuestPath) [directoryslash: bool] -> Vec<GuestPath>
        { group: files, access: Read, stream: None, needs: root }

    /// Creates a directory (mode 0755 less the umask).
    Mkdir mkdir(path: GuestPath) -> ()
        { group: files, access: Write, stream: None, needs: root }

    /// Creates a directory and any missing parents; an existing directory is fine.
    MkdirP mkdir_p(path: GuestPath) -> ()
        { group: files, access: Write, stream: None, needs: root }

    /// Creates a directory with the given mode (less the umask).
    MkdirMode mkdir_mode(path: GuestPath, mode: Mode) -> ()
        { group: files, access: Write, stream: None, needs: root }

    /// Removes an empty directory.
    Rmdir rmdir(path: GuestPath) -> ()
        { group: files, access: Write, stream: None, needs: root }

    /// Removes a file (not a directory).
    Rm rm(path: GuestPath) -> ()
        { group: files, access: Write, stream: None, needs: root }

    /// Removes a file; a missing one is not an error.
    RmF rm_f(path: GuestPath) -> ()
        { group: files, access: Write, stream: None, needs: root }

    /// Removes a tree recursively. Symlinks are removed, never followed; a missing path is
    /// not an error.
    RmRf rm_rf(path: GuestPath) -> ()
        { group: files, access: Write, stream: None, needs: root }

    /// Moves or renames a file or directory (into `dest` when it is a directory; across
    /// filesystems by copying).
    Mv mv(src: GuestPath, dest: GuestPath) -> ()
        { group: files, access: Write, stream: None, needs: root }

    /// Copies a file (into `dest` when it is a directory), with its mode.
    Cp cp(src: GuestPath, dest: GuestPath) -> ()
        { group: files, access: Write, stream: None, needs: root }

    /// Copies a file or tree keeping owners, modes, times, extended attributes, symlinks
    /// and special files (`cp -a`).
    CpA cp_a(src: GuestPath, dest: GuestPath) -> ()
        { group: files, access: Write, stream: None, needs: root }

    /// Copies a file or tree recursively, symlinks as symlinks (`cp -rP`).
    CpR cp_r(src: GuestPath, dest: GuestPath) -> ()
        { group: files, access: Write, stream: None, needs: root }

    /// Creates an empty file if missing and sets its times to now. Regular files only: a
    /// symbolic link there is refused (ELOOP), as guestfish does.
    Touch touch(path: GuestPath) -> ()
        { group: files, access: Write, stream: None, needs: root }

    /// Truncates a file to zero bytes (a symbolic link there is refused, ELOOP).
    Truncate truncate(path: GuestPath) -> ()
        { group: files, access: Write, stream: None, needs: root }

    /// Sets a file's size in bytes, cutting it or extending it with zeros (a symbolic link
    /// there is refused, ELOOP).
    TruncateSize truncate_size(path: GuestPath, size: ByteSize) -> ()
        { group: files, access: Write, stream: None, needs: root }

    /// Creates a hard link `linkname` to `target`.
    Ln ln(target: GuestPath, linkname: GuestPath) -> ()
        { group: files, access: Write, stream: None, needs: root }

    /// Creates a hard link, replacing an existing `linkname`.
    LnF ln_f(target: GuestPath, linkname: GuestPath) -> ()
        { group: files, access: Write, stream: None, needs: root }

    /// Creates a symbolic link `linkname` holding `target` as given (it may be relative).
    LnS ln_s(target: LinkTarget, linkname: GuestPath) -> ()
        { group: files, access: Write, stream: None, needs: root }

    /// Creates a symbolic link, replacing an existing `linkname`.
    LnSf ln_sf(target: LinkTarget, linkname: GuestPath) -> ()
        { group: files, access: Write, stream: None, needs: root }

    /// Creates a special file. `mode` holds the type bits (0o20000 character, 0o60000 block,
    /// 0o10000 FIFO, 0o140000 socket) and the permissions.
    Mknod mknod(mode: u32, devmajor: u32, devminor: u32, path: GuestPath) -> ()
        { group: files, access: Write, stream: None, needs: root }

    /// Creates a FIFO (named pipe).
    Mkfifo mkfifo(mode: Mode, path: GuestPath) -> ()
        { group: files, access: Write, stream: None, needs: root }

    /// Creates a block device node.
    MknodB mknod_b(mode: Mode, devmajor: u32, devminor: u32, path: GuestPath) -> ()
        { group: files, access: Write, stream: None, needs: root }

    /// Creates a character device node.
    MknodC mknod_c(mode: Mode, devmajor: u32, devminor: u32, path: GuestPath) -> ()
        { group: files, access: Write, stream: None, needs: root }

    /// Renames like renameat2(2): `noreplace:true` fails with EEXIST rather than replace,
    /// `exchange:true` swaps the two paths atomically.
    Rename rename(src: GuestPath, dest: GuestPath) [noreplace: bool, exchange: bool] -> ()
        { group: files, access: Write, stream: None, needs: root }

    /// Checks access like access(2): `mode` is a mask of 4 (read), 2 (write), 1 (execute),
    /// or 0 (exists). EROFS means a read-only filesystem.
    Access access(path: GuestPath, mode: i32) -> ()
        { group: files, access: Read, stream: None, needs: root }

    /// Sets the permission bits (symlinks are followed).
    Chmod chmod(mode: Mode, path: GuestPath) -> ()
        { group: attributes, access: Write, stream: None, needs: root }

    /// Sets owner and group (numeric; -1 keeps one). Symlinks are followed.
    Chown chown(owner: i64, group: i64, path: GuestPath) -> ()
        { group: attributes, access: Write, stream: None, needs: root }

    /// Sets owner and group of the path itself (a symlink is not followed).
    Lchown lchown(owner: i64, group: i64, path: GuestPath) -> ()
        { group: attributes, access: Write, stream: None, needs: root }

    /// Sets access and modification times (seconds and nanoseconds; nanoseconds -1 = now,
    /// -2 = leave unchanged). Symlinks are followed.
    Utimens utimens(path: GuestPath, atsecs: i64, atnsecs: i64, mtsecs: i64, mtnsecs: i64) -> ()
        { group: attributes, access: Write, stream: None, needs: root }

    /// Like `utimens` on the path itself: a symlink is not followed.
    Lutimens lutimens(path: GuestPath, atsecs: i64, atnsecs: i64, mtsecs: i64, mtnsecs: i64) -> ()
        { group: attributes, access: Write, stream: None, needs: root }

    /// Every extended attribute of a file (symlinks followed): names and values.
    Getxattrs getxattrs(path: GuestPath) -> Vec<XAttr>
        { group: attributes, access: Read, stream: None, needs: root }

    /// Every extended attribute of the path itself (a symlink is not followed).
    Lgetxattrs lgetxattrs(path: GuestPath) -> Vec<XAttr>
        { group: attributes, access: Read, stream: None, needs: root }

    /// One extended attribute's value (ENODATA if not set).
    Getxattr getxattr(path: GuestPath, name: String) -> Data
        { group: attributes, access: Read, stream: None, needs: root }

    /// One extended attribute of the path itself.
    Lgetxattr lgetxattr(path: GuestPath, name: String) -> Data
        { group: attributes, access: Read, stream: None, needs: root }

    /// Sets an extended attribute (symlinks followed) to the first `vallen` bytes of `val`,
    /// as libguestfs declares it. The shell also takes guestfish's old three-word form
    /// `setxattr XATTR VAL PATH` (the whole value).
    Setxattr setxattr(xattr: String, val: Data, vallen: i32, path: GuestPath) -> ()
        { group: attributes, access: Write, stream: None, needs: root }

    /// Sets an extended attribute of the path itself to the first `vallen` bytes of `val`.
    Lsetxattr lsetxattr(xattr: String, val: Data, vallen: i32, path: GuestPath) -> ()
        { group: attributes, access: Write, stream: None, needs: root }

    /// Removes an extended attribute (symlinks followed).
    Removexattr removexattr(xattr: String, path: GuestPath) -> ()
        { group: attributes, access: Write, stream: None, needs: root }

    /// Removes an extended attribute of the path itself.
    Lremovexattr lremovexattr(xattr: String, path: GuestPath) -> ()
        { group: attributes, access: Write, stream: None, needs: root }

    /// The lines of a text file (at most 4 MiB), without their `\n` or `\r\n`.
    ReadLines read_lines(path: GuestPath) -> Vec<Line>
        { group: files, access: Read, stream: None, needs: root }

    /// Up to `count` bytes (at most 4 MiB) from `offset`; fewer at the end of the file.
    Pread pread(path: GuestPath, count: ByteSize, offset: ByteSize) -> Data
        { group: files, access: Read, stream: None, needs: root }

    /// Writes data at `offset` of an existing file; returns the bytes written. A symbolic
    /// link at the last component is refused (ELOOP), never written through.
    Pwrite pwrite(path: GuestPath, content: Data, offset: ByteSize) -> u64
        { group: files, access: Write, stream: None, needs: root }

    /// Appends to a file, creating it (0644) if missing; on disk when the call returns. A
    /// symbolic link at the last component is refused (ELOOP), never written through.
    WriteAppend write_append(path: GuestPath, content: Data) -> ()
        { group: files, access: Write, stream: None, needs: root }

    /// Replaces a file atomically: a temporary file in the same directory takes the
    /// content and the old file's owner, group, mode and extended attributes (SELinux
    /// label), is flushed and renamed over the old one. Readers never see a partial file. A
    /// symbolic link at the last component is itself replaced (a new file, 0644, with the
    /// link's owner); what it points to is never opened.
    ReplaceFile replace_file(path: GuestPath, content: Data) -> ()
        { group: files, access: Write, stream: None, needs: root }

    /// Uploads the input stream to a file of any size, atomically like `replace_file`: into
    /// a temporary file beside it, renamed over it at the end (an existing file keeps its
    /// mode, owner and extended attributes; a new one gets 0644; a symbolic link there is
    /// replaced, not followed). The data is on disk when the call returns; on failure the old
    /// file is untouched. A device (`/dev/...`) is written in place from its start.
    Upload upload(path: DevOrPath) -> ()
        { group: transfer, access: Write, stream: Input }

    /// Writes the input stream into a file from `offset` without truncating it (the file is
    /// created if missing). A symbolic link at the last component is refused (ELOOP). A
    /// device (`/dev/...`) is written in place.
    UploadOffset upload_offset(path: DevOrPath, offset: ByteSize) -> ()
        { group: transfer, access: Write, stream: Input }

    /// Streams a whole file, of any size, or a whole device (`/dev/...`).
    Download download(path: DevOrPath) -> ()
        { group: transfer, access: Read, stream: Output }

    /// Streams `size` bytes of a file or a device (`/dev/...`) from `offset` (fewer at its
    /// end).
    DownloadOffset download_offset(path: DevOrPath, offset: ByteSize, size: ByteSize) -> ()
        { group: transfer, access: Read, stream: Output }

    /// The checksum of a file as lowercase hex: md5, sha1, sha224, sha256, sha384, sha512;
    /// or `crc`, the POSIX `cksum` CRC in decimal.
    Checksum checksum(csumtype: ChecksumType, path: GuestPath) -> String
        { group: files, access: Read, stream: None, needs: root }

    /// The checksum of a whole device (`/dev/sda`, `/dev/sda1`, ...).
    ChecksumDevice checksum_device(csumtype: ChecksumType, device: Device) -> String
        { group: files, access: Read, stream: None }

    /// Streams `HASH  ./path` lines (as sha256sum prints them) for every regular file below
    /// a directory.
    ChecksumsOut checksums_out(csumtype: ChecksumType, directory: GuestPath) -> ()
        { group: files, access: Read, stream: Output, needs: root }

    /// Unpacks a tar stream into a directory. `compress`: none (default), gzip, xz or zstd.
    /// `xattrs:true` restores extended attributes; `numericowner:true` ignores user and
    /// group names (otherwise they map through the guest's /etc/passwd and /etc/group).
    /// Nothing is ever written outside the directory, whatever names or links the archive
    /// holds; returns the number of members written.
    TarIn tar_in(directory: GuestPath) [compress: Compression, xattrs: bool, numericowner: bool] -> u64
        { group: transfer, access: Write, stream: Input, needs: root }

    /// Packs a directory as a tar stream. `compress`: none (default), gzip or xz;
    /// `xattrs:true` stores extended attributes; `numericowner:true` leaves out user and
    /// group names; `excludes` are patterns of names to leave out (`*` also matches `/`).
    TarOut tar_out(directory: GuestPath) [compress: Compression, xattrs: bool, numericowner: bool, excludes: Vec<String>] -> ()
        { group: transfer, access: Read, stream: Output, needs: root }

    /// Runs a guest program (chrooted into the guest, /dev, /proc and /sys bound in, guest
    /// PATH, stdin empty, no network) and returns its stdout. A non-zero exit is an error
    /// with the status and stderr; after `timeout_secs` (default 600) the program and its
    /// children are killed.
    Command command(arguments: Vec<String>) [timeout_secs: u64] -> String
        { group: commands, access: Write, stream: None, needs: root }

    /// Like `command`, with the output split into lines.
    CommandLines command_lines(arguments: Vec<String>) [timeout_secs: u64] -> Vec<String>
        { group: commands, access: Write, stream: None, needs: root }

    /// Runs a shell command line with the guest's /bin/sh (see `command`).
    Sh sh(command: String) [timeout_secs: u64] -> String
        { group: commands, access: Write, stream: None, needs: root }

    /// Like `sh`, with the output split into lines.
    ShLines sh_lines(command: String) [timeout_secs: u64] -> Vec<String>
        { group: commands, access: Write, stream: None, needs: root }

    /// Opens an existing regular file for `fh_read`/`fh_write` and returns a handle.
    /// `flags` are Linux open(2) flags: the access mode (0 read, 1 write, 2 both) plus
    /// O_APPEND, O_TRUNC, O_SYNC, O_DSYNC, O_NOATIME, O_DIRECT. With O_DIRECTORY (read
    /// access only) it opens a directory instead, for `fh_stat` and `fh_setattr`.
    FhOpen fh_open(path: GuestPath, flags: i32) -> FileHandle
        { group: handles, access: Write, stream: None, needs: root }

    /// Creates a new file (it must not exist; never through a symlink) with `mode` and
    /// opens it like `fh_open`.
    FhCreate fh_create(path: GuestPath, mode: Mode, flags: i32) -> FileHandle
        { group: handles, access: Write, stream: None, needs: root }

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

    /// Sets what is given of an open file's attributes, as `lsetattr` does for a path, and
    /// returns its metadata: for a file that no name leads to any more (unlinked, or renamed
    /// over while open), which fchmod, fchown and futimens still change.
    FhSetattr fh_setattr(handle: FileHandle) [size: ByteSize, owner: i64, group: i64, mode: Mode, atsecs: i64, atnsecs: i64, mtsecs: i64, mtnsecs: i64] -> Stat
        { group: handles, access: Write, stream: None }

    /// Closes a handle.
    FhClose fh_close(handle: FileHandle) -> ()
        { group: handles, access: Read, stream: None }

    /// Sets what is given of a path's attributes, in this order: size, owner and group
    /// (-1 keeps one), mode (after the owner, so setuid bits given in it stay), access and
    /// modification times (nanoseconds -1 = now, -2 = unchanged); then returns its lstat.
    /// Owner and times are those of a symlink itself; mode follows it, and a size on a
    /// symlink is refused (ELOOP). One round trip for what FUSE's setattr asks.
    Lsetattr lsetattr(path: GuestPath) [size: ByteSize, owner: i64, group: i64, mode: Mode, atsecs: i64, atnsecs: i64, mtsecs: i64, mtnsecs: i64] -> Stat
        { group: files, access: Write, stream: None, needs: root }

    /// Lists a directory and, breadth first, the directories below it: every entry with its
    /// lstat, symlink target and extended attributes (the FUSE mount's prefetch: one call
    /// replaces thousands of lookups, getattrs, readlinks and getxattrs). The directory is
    /// listed whole unless it alone passes 3 MiB (`complete:false`: go on with `readdir_plus`
    /// from its `next`); directories below it follow, each whole, while fewer than
    /// `maxentries` entries (default 16384) are listed and the answer stays under 3 MiB.
    ReaddirTree readdir_tree(directory: GuestPath) [maxentries: u32] -> Vec<DirListing>
        { group: files, access: Read, stream: None, needs: root }

    /// Reads a whole file (at most 4 MiB) to edit it: like `read_file`, but a symbolic link
    /// at the last component is refused (ELOOP, naming the link and its target), never
    /// followed. The library's edits read with this and write with `replace_file`, so an
    /// edit never reaches a file through a link.
    ReadFileNofollow read_file_nofollow(path: GuestPath) -> Data
        { group: files, access: Read, stream: None, needs: root }

    /// Sets the permission bits of the path itself: a symbolic link there is refused (ELOOP,
    /// naming its target) and what it points to keeps its mode.
    Lchmod lchmod(mode: Mode, path: GuestPath) -> ()
        { group: attributes, access: Write, stream: None, needs: root }

    /// Expands many shell patterns in one round trip, each as `glob_expand` with
    /// `directoryslash:false` would; a path without pattern characters gives itself when
    /// `lstat` finds something there (a dangling symlink too), nothing when `lstat` fails
    /// with ENOENT or ENOTDIR, and `lstat`'s errno otherwise. One answer per pattern, in
    /// order, with its matches or the errno that stopped its expansion. The library's
    /// sysprep asks for all its operations' paths at once instead of one call per pattern.
    GlobExpandList glob_expand_list(patterns: Vec<GuestPath>) -> Vec<GlobMatches>
        { group: internal, access: Read, stream: None, needs: root }

    // ==== end of files ====

    // ==== block devices, partitions, filesystems, LVM ====
    /// List every filesystem: whole disks without partitions, opened LUKS volumes,
    /// partitions (not MBR extended ones), md arrays and logical volumes, in that order, with
    /// type, label and UUID. The type is `swap` for swap and `unknown` when nothing is
    /// recognised. Containers are left out, as libguestfs does: an LVM physical volume (its
    /// LVs are listed) and a LUKS volume (what is inside it is listed once it is opened).
    ListFilesystems list_filesystems() -> Vec<Filesystem>
        { group: blockdev, access: Read, stream: None }

    /// `list_filesystems` with the LUKS volumes themselves (type `crypto_LUKS`), opened or
    /// not, in their places among the partitions: inspection and the readers look for them
    /// to open them.
    ListFilesystemsAll list_filesystems_all() -> Vec<Filesystem>
        { group: internal, access: Read, stream: None }

    /// The filesystem type of a device as blkid's `TYPE` (`ext4`, `vfat`, `swap`,
    /// `LVM2_member`, ...), or an empty string when nothing is recognised.
    VfsType vfs_type(device: Device) -> String
        { group: blockdev, access: Read, stream: None }

    /// The label of the filesystem on a device, or an empty string.
    VfsLabel vfs_label(device: Device) -> String
        { group: blockdev, access: Read, stream: None }

    /// The UUID of the filesystem on a device as blkid prints it, or an empty string.
    VfsUuid vfs_uuid(device: Device) -> String
        { group: blockdev, access: Read, stream: None }

    /// What blkid finds on a device, as libguestfs's daemon asks it (`blkid -c /dev/null -p
    /// -i -o export DEVICE`): blkid's own keys and values in its order (`TYPE`, `UUID`,
    /// `LABEL`, `BLOCK_SIZE`, `USAGE`, `PART_ENTRY_*`, `DEVNAME`, ...). `DEVNAME` is the
    /// caller's name of the device. Fails when blkid recognises nothing.
    Blkid blkid(device: Device) -> Vec<KeyValue>
        { group: blockdev, access: Read, stream: None }

    /// The size of a device in bytes.
    BlockdevGetsize64 blockdev_getsize64(device: Device) -> u64
        { group: blockdev, access: Read, stream: None }

    /// The logical sector size of a device in bytes.
    BlockdevGetss blockdev_getss(device: Device) -> u32
        { group: blockdev, access: Read, stream: None }

    /// Whether a device is read-only.
    BlockdevGetro blockdev_getro(device: Device) -> bool
        { group: blockdev, access: Read, stream: None }

    /// Make the kernel re-read the partition table of a whole disk; returns when the
    /// partition devices exist.
    BlockdevRereadpt blockdev_rereadpt(device: Disk) -> ()
        { group: blockdev, access: Read, stream: None }

    /// Succeed if the appliance supports every optional group named (`lvm2`, `luks`,
    /// `ext2`, `xfs`, `btrfs`, `mkswap`, `vfat`, `exfat`, `ntfs3`, `gdisk`, `fstrim`,
    /// `wipefs`); otherwise fail naming the first missing one and what it needs.
    Available available(groups: Vec<String>) -> ()
        { group: blockdev, access: Read, stream: None }

    /// True if the appliance supports every optional group named (see `available`).
    FeatureAvailable feature_available(groups: Vec<String>) -> bool
        { group: blockdev, access: Read, stream: None }

    /// Create a new, empty partition table (`gpt` or `mbr`/`msdos`) on a whole disk.
    /// Everything on the old table is lost.
    PartInit part_init(device: Disk, parttype: PartTableType) -> ()
        { group: partitions, access: Write, stream: None }

    /// Create a new partition table with one partition from 1 MiB to the end of the disk.
    PartDisk part_disk(device: Disk, parttype: PartTableType) -> ()
        { group: partitions, access: Write, stream: None }

    /// Add a partition from byte `start` to byte `end` inclusive (`end` is the last byte, as
    /// `part_list` reports it: `start` and `end + 1` are multiples of the sector size).
    /// `prlogex` is `primary`, `extended` or `logical` (MBR only). Overlaps and ranges
    /// outside the disk are refused. The kernel sees the partition when this returns.
    PartAdd part_add(device: Disk, prlogex: PartKind, start: ByteSize, end: ByteSize) -> ()
        { group: partitions, access: Write, stream: None }

    /// Delete partition `partnum`. GPT partitions keep their numbers; MBR logical
    /// partitions after it move down by one, as the kernel numbers them.
    PartDel part_del(device: Disk, partnum: u32) -> ()
        { group: partitions, access: Write, stream: None }

    /// List the partitions of a disk's table: number, start, end (inclusive) and size in
    /// bytes, type (GPT type GUID or MBR id), GPT name and UUID, bootable flag.
    PartList part_list(device: Disk) -> Vec<PartitionEntry>
        { group: partitions, access: Read, stream: None }

    /// The partition table type of a disk: `gpt` or `msdos`.
    PartGetParttype part_get_parttype(device: Disk) -> PartTableType
        { group: partitions, access: Read, stream: None }

    /// Set the name of a GPT partition (at most 36 characters).
    PartSetName part_set_name(device: Disk, partnum: u32, name: String) -> ()
        { group: partitions, access: Write, stream: None }

    /// The name of a GPT partition.
    PartGetName part_get_name(device: Disk, partnum: u32) -> String
        { group: partitions, access: Read, stream: None }

    /// Set the type GUID of a GPT partition.
    PartSetGptType part_set_gpt_type(device: Disk, partnum: u32, guid: String) -> ()
        { group: partitions, access: Write, stream: None }

    /// The type GUID of a GPT partition, in upper case.
    PartGetGptType part_get_gpt_type(device: Disk, partnum: u32) -> String
        { group: partitions, access: Read, stream: None }

    /// Set the type byte of an MBR partition (`0x83`, `0x8e`, ...).
    PartSetMbrId part_set_mbr_id(device: Disk, partnum: u32, id: u32) -> ()
        { group: partitions, access: Write, stream: None }

    /// The type byte of an MBR partition.
    PartGetMbrId part_get_mbr_id(device: Disk, partnum: u32) -> u32
        { group: partitions, access: Read, stream: None }

    /// Set or clear the bootable flag: the MBR active flag, or the GPT legacy BIOS bootable
    /// attribute.
    PartSetBootable part_set_bootable(device: Disk, partnum: u32, bootable: bool) -> ()
        { group: partitions, access: Write, stream: None }

    /// The bootable flag (see `part_set_bootable`).
    PartGetBootable part_get_bootable(device: Disk, partnum: u32) -> bool
        { group: partitions, access: Read, stream: None }

    /// The disk a partition is on: `/dev/sda1` → `/dev/sda`.
    PartToDev part_to_dev(partition: Device) -> Device
        { group: partitions, access: Read, stream: None }

    /// The number of a partition: `/dev/sda1` → 1.
    PartToPartnum part_to_partnum(partition: Device) -> u32
        { group: partitions, access: Read, stream: None }

    /// After a GPT disk grew, move the backup GPT header to the new end of the disk and let
    /// partitions use the new space.
    PartExpandGpt part_expand_gpt(device: Disk) -> ()
        { group: partitions, access: Write, stream: None }

    /// Make a filesystem: `ext2`, `ext3`, `ext4`, `xfs`, `btrfs`, `ntfs` (with the tools the
    /// appliance carries), `vfat` (built in) or `swap`. `blocksize` is the block (cluster for
    /// vfat and ntfs) size in bytes, `features` the ext `-O` list (xfs `-m`, btrfs `-O`), `inode` the
    /// inode size in bytes, `sectorsize` the sector size in bytes (xfs, vfat). A device in
    /// use is refused.
    Mkfs mkfs(fstype: FsType, device: Device) [blocksize: ByteSize, label: String, features: String, inode: u32, sectorsize: u32] -> ()
        { group: mkfs, access: Write, stream: None }

    /// Make a swap area, with an optional label and UUID.
    Mkswap mkswap(device: Device) [label: String, uuid: String] -> ()
        { group: mkfs, access: Write, stream: None }

    /// Whether the NTFS filesystem on `device` can be mounted (read-write with `rw:true`):
    /// ntfs-3g.probe's exit status, 0 when it can (see ntfs-3g.probe(8) for the others,
    /// such as 12 for no NTFS there).
    Ntfs3gProbe ntfs_3g_probe(rw: bool, device: Device) -> i32
        { group: mkfs, access: Read, stream: None }

    /// Resizes the NTFS filesystem on `device` to `size` bytes, or to fill the device
    /// (ntfsresize). Windows then checks the filesystem at its next boot; until then a
    /// second resize needs `force:true`.
    Ntfsresize ntfsresize(device: Device) [size: i64, force: bool] -> ()
        { group: mkfs, access: Write, stream: None }

    /// `ntfsresize` with the size given (an older form).
    NtfsresizeSize ntfsresize_size(device: Device, size: i64) -> ()
        { group: mkfs, access: Write, stream: None }

    /// Repairs the most basic NTFS inconsistencies on `device`, resets its journal and has
    /// Windows check it at its next boot (ntfsfix; not chkdsk). `clearbadsectors:true`
    /// also empties the list of bad sectors.
    Ntfsfix ntfsfix(device: Device) [clearbadsectors: bool] -> ()
        { group: mkfs, access: Write, stream: None }

    /// Change the label of a filesystem (ext2/3/4 with tune2fs, and swap).
    SetLabel set_label(device: Device, label: String) -> ()
        { group: mkfs, access: Write, stream: None }

    /// Change the UUID of a filesystem (ext2/3/4 with tune2fs, and swap).
    SetUuid set_uuid(device: Device, uuid: String) -> ()
        { group: mkfs, access: Write, stream: None }

    /// Check an ext2/3/4 filesystem (`e2fsck -f`): with `correct:true` fix what is safe to
    /// fix, with `forceall:true` answer yes to everything, with neither only check. Fails
    /// when errors remain.
    E2fsck e2fsck(device: Device) [correct: bool, forceall: bool] -> ()
        { group: mkfs, access: Write, stream: None }

    /// Check and repair a filesystem automatically (`fsck -a`) and return the checker's exit
    /// status: 0 clean, 1 errors corrected, 4 or more errors left. ext2/3/4 and xfs.
    Fsck fsck(fstype: FsType, device: Device) -> i32
        { group: mkfs, access: Write, stream: None }

    /// Resize an ext2/3/4 filesystem to `size` bytes (a multiple of 512) or, without it, to
    /// fill its device. Run `e2fsck` with `forceall:true` first, as resize2fs requires.
    Resize2fs resize2fs(device: Device) [size: ByteSize] -> ()
        { group: mkfs, access: Write, stream: None }

    /// Zero the first 128 KiB of a device, so its old content is no longer recognised.
    Zero zero(device: Device) -> ()
        { group: mkfs, access: Write, stream: None }

    /// Zero a whole device, with progress; blocks already zero are not written.
    ZeroDevice zero_device(device: Device) -> ()
        { group: mkfs, access: Write, stream: None }

    /// Erase the filesystem, partition table, LVM and LUKS signatures of a device (zeroes its
    /// first and last MiB and btrfs's mirror superblocks).
    Wipefs wipefs(device: Device) -> ()
        { group: mkfs, access: Write, stream: None }

    /// Discard the unused blocks of the filesystem mounted at `mountpoint`.
    Fstrim fstrim(mountpoint: GuestPath) -> ()
        { group: mkfs, access: Write, stream: None, needs: root }

    /// Rescan the devices for LVM physical volumes; with `activate:true` activate every
    /// volume group found.
    LvmScan lvm_scan(activate: bool) -> ()
        { group: lvm, access: Read, stream: None }

    /// Activate (or deactivate) every logical volume in every volume group.
    VgActivateAll vg_activate_all(activate: bool) -> ()
        { group: lvm, access: Read, stream: None }

    /// Give every LVM physical volume a new random UUID (`pvchange --uuid`); the volume
    /// groups must be inactive.
    PvchangeUuidAll pvchange_uuid_all() -> ()
        { group: lvm, access: Write, stream: None }

    /// Give every LVM volume group a new random UUID (`vgchange --uuid`); the volume groups
    /// must be inactive.
    VgchangeUuidAll vgchange_uuid_all() -> ()
        { group: lvm, access: Write, stream: None }

    /// The LVM physical volumes (`/dev/sda2`, ...).
    Pvs pvs() -> Vec<Device>
        { group: lvm, access: Read, stream: None }

    /// The LVM volume group names.
    Vgs vgs() -> Vec<String>
        { group: lvm, access: Read, stream: None }

    /// The LVM logical volumes as `/dev/VG/LV`.
    Lvs lvs() -> Vec<Device>
        { group: lvm, access: Read, stream: None }

    /// The physical volumes with every field of LVM's report guestfish gives (`lvm_pv`).
    PvsFull pvs_full() -> Vec<LvmPv>
        { group: lvm, access: Read, stream: None }

    /// The volume groups with every field of LVM's report guestfish gives (`lvm_vg`).
    VgsFull vgs_full() -> Vec<LvmVg>
        { group: lvm, access: Read, stream: None }

    /// The logical volumes with every field of LVM's report guestfish gives (`lvm_lv`).
    LvsFull lvs_full() -> Vec<LvmLv>
        { group: lvm, access: Read, stream: None }

    /// Make a disk or partition an LVM physical volume.
    Pvcreate pvcreate(device: Device) -> ()
        { group: lvm, access: Write, stream: None }

    /// Create a volume group from physical volumes (a space-separated list in the shell).
    Vgcreate vgcreate(vgname: String, pvs: Vec<Device>) -> ()
        { group: lvm, access: Write, stream: None }

    /// Create a logical volume of `size` bytes (rounded up to whole extents, 4 MiB by
    /// default). In the shell a number without a unit is megabytes, as in guestfish.
    Lvcreate lvcreate(lvname: String, vgname: String, size: ByteSize) -> ()
        { group: lvm, access: Write, stream: None }

    /// Create a logical volume using `percent` (1 to 100) of the volume group's free space.
    LvcreateFree lvcreate_free(lvname: String, vgname: String, percent: u32) -> ()
        { group: lvm, access: Write, stream: None }

    /// Resize a logical volume to `size` bytes. The filesystem in it is not resized.
    Lvresize lvresize(device: VolumeName, size: ByteSize) -> ()
        { group: lvm, access: Write, stream: None }

    /// Remove a logical volume (`/dev/VG/LV`).
    Lvremove lvremove(device: VolumeName) -> ()
        { group: lvm, access: Write, stream: None }

    /// Remove a volume group and every logical volume in it.
    Vgremove vgremove(vgname: String) -> ()
        { group: lvm, access: Write, stream: None }

    /// Remove the LVM label from a physical volume.
    Pvremove pvremove(device: Device) -> ()
        { group: lvm, access: Write, stream: None }

    /// Rename a volume group.
    Vgrename vgrename(vgname: String, newvgname: String) -> ()
        { group: lvm, access: Write, stream: None }

    /// Rename a logical volume; `newname` is the new LV name (or `/dev/VG/NEW` in the same
    /// volume group).
    Lvrename lvrename(logvol: VolumeName, newname: String) -> ()
        { group: lvm, access: Write, stream: None }

    /// Open a LUKS volume as `/dev/mapper/{mapname}` with `key` (never printed or logged).
    /// Volume groups inside it are found by the next LVM operation.
    LuksOpen luks_open(device: Device, key: Secret, mapname: String) -> ()
        { group: luks, access: Read, stream: None }

    /// Close a LUKS volume opened with `luks_open` (`/dev/mapper/NAME`).
    LuksClose luks_close(device: VolumeName) -> ()
        { group: luks, access: Read, stream: None }

    /// The md RAID arrays (`/dev/md127`, ...), assembling those on the disks first.
    ListMdDevices list_md_devices() -> Vec<Device>
        { group: mdadm, access: Read, stream: None }

    /// Facts about an md array as `key=value` lines from `mdadm --detail --export`, keys
    /// lower case without `MD_` (`level`, `devices`, `metadata`, `uuid`, `name`).
    MdDetail md_detail(md: Device) -> Vec<String>
        { group: mdadm, access: Read, stream: None }

    /// Create md array `/dev/md/NAME` (metadata 1.2) from `devices` (a space-separated
    /// list in the shell) at `level` (`raid1` unless given: raid0, raid1, raid4, raid5,
    /// raid6, raid10, linear, or mdadm's other names for them: 0, stripe, 1, mirror, 4,
    /// 5, 6, 10). The kernel numbers it: `/dev/md127` for the first. Bit i of
    /// `missingbitmap` leaves slot i of the array empty ("missing", a degraded array);
    /// `nrdevices` active slots (default: the devices plus the missing ones) and `spare`
    /// spares (default 0) must add up to those; `chunk` is the chunk size in bytes, a
    /// multiple of 1024.
    MdCreate md_create(name: String, devices: Vec<Device>) [missingbitmap: i64, nrdevices: i32, spare: i32, chunk: ByteSize, level: String] -> ()
        { group: mdadm, access: Write, stream: None }

    /// Stop an md array (`/dev/mdN`).
    MdStop md_stop(md: Device) -> ()
        { group: mdadm, access: Write, stream: None }
    // ==== end of block devices ====

    // ==== guestfish commands (issue 11 step 2): names, argument orders and results as in
    // guestfish 1.48 ====
    /// The first 10 lines of a file, without their line endings.
    Head head(path: GuestPath) -> Vec<Line>
        { group: files, access: Read, stream: None, needs: root }

    /// The first `nrlines` lines of a file; a negative `nrlines` returns all but the last
    /// `-nrlines` lines, 0 none.
    HeadN head_n(nrlines: i32, path: GuestPath) -> Vec<Line>
        { group: files, access: Read, stream: None, needs: root }

    /// The last 10 lines of a file.
    Tail tail(path: GuestPath) -> Vec<Line>
        { group: files, access: Read, stream: None, needs: root }

    /// The last `nrlines` lines of a file; a negative `nrlines` returns the lines from line
    /// `-nrlines` (counted from 1) to the end (`tail -n +N`), 0 none.
    TailN tail_n(nrlines: i32, path: GuestPath) -> Vec<Line>
        { group: files, access: Read, stream: None, needs: root }

    /// The size of a file in bytes (symlinks followed).
    Filesize filesize(file: GuestPath) -> i64
        { group: files, access: Read, stream: None, needs: root }

    /// File metadata as guestfish's `statns` prints it (symlinks followed).
    Statns statns(path: GuestPath) -> StatNs
        { group: files, access: Read, stream: None, needs: root }

    /// Like `statns` on the path itself: a symlink is not followed.
    Lstatns lstatns(path: GuestPath) -> StatNs
        { group: files, access: Read, stream: None, needs: root }

    /// The number of lines in a file (`wc -l`: newline characters).
    WcL wc_l(path: GuestPath) -> i32
        { group: files, access: Read, stream: None, needs: root }

    /// The number of words in a file (`wc -w`: runs of non-whitespace).
    WcW wc_w(path: GuestPath) -> i32
        { group: files, access: Read, stream: None, needs: root }

    /// The number of bytes in a file (`wc -c`).
    WcC wc_c(path: GuestPath) -> i32
        { group: files, access: Read, stream: None, needs: root }

    /// The printable strings of at least 4 characters in a file (`strings`: 7-bit ASCII and
    /// tabs).
    Strings strings(path: GuestPath) -> Vec<Line>
        { group: files, access: Read, stream: None, needs: root }

    /// A hex and ASCII dump of a file, as `hexdump -C` prints it (at most 4 MiB of output).
    Hexdump hexdump(path: GuestPath) -> String
        { group: files, access: Read, stream: None, needs: root }

    /// True if the file holds only zero bytes (or is empty).
    IsZero is_zero(path: GuestPath) -> bool
        { group: files, access: Read, stream: None, needs: root }

    /// True if the device holds only zero bytes.
    IsZeroDevice is_zero_device(device: Device) -> bool
        { group: blockdev, access: Read, stream: None }

    /// Creates (or truncates and refills) a file of `len` bytes of zeroes, allocated on disk.
    Fallocate fallocate(path: GuestPath, len: i32) -> ()
        { group: files, access: Write, stream: None, needs: root }

    /// Like `fallocate`, with a 64-bit length.
    Fallocate64 fallocate64(path: GuestPath, len: i64) -> ()
        { group: files, access: Write, stream: None, needs: root }

    /// What kind of file this is, as `file` says (`directory`, `symbolic link`, `empty`,
    /// `ASCII text`, ...); compressed files are looked into. For a device (`/dev/...`),
    /// what its content is (`DOS/MBR boot sector`, `Linux rev 1.0 ext2 filesystem data`).
    File file(path: DevOrPath) -> String
        { group: files, access: Read, stream: None }

    /// The lines of a file that match a regular expression (GNU grep). `extended:true` for
    /// extended regular expressions, `fixed:true` for a fixed string, `insensitive:true` to
    /// ignore case, `compressed:true` to look inside a gzip-compressed file. No match is an
    /// empty list.
    Grep grep(regex: String, path: GuestPath) [extended: bool, fixed: bool, insensitive: bool, compressed: bool] -> Vec<Line>
        { group: files, access: Read, stream: None, needs: root }

    /// `grep` with `extended:true`.
    Egrep egrep(regex: String, path: GuestPath) -> Vec<Line>
        { group: files, access: Read, stream: None, needs: root }

    /// `grep` with `fixed:true`.
    Fgrep fgrep(pattern: String, path: GuestPath) -> Vec<Line>
        { group: files, access: Read, stream: None, needs: root }

    /// `grep` with `insensitive:true`.
    Grepi grepi(regex: String, path: GuestPath) -> Vec<Line>
        { group: files, access: Read, stream: None, needs: root }

    /// `grep` with `extended:true insensitive:true`.
    Egrepi egrepi(regex: String, path: GuestPath) -> Vec<Line>
        { group: files, access: Read, stream: None, needs: root }

    /// `grep` with `fixed:true insensitive:true`.
    Fgrepi fgrepi(pattern: String, path: GuestPath) -> Vec<Line>
        { group: files, access: Read, stream: None, needs: root }

    /// `grep` with `compressed:true`.
    Zgrep zgrep(regex: String, path: GuestPath) -> Vec<Line>
        { group: files, access: Read, stream: None, needs: root }

    /// `grep` with `compressed:true extended:true`.
    Zegrep zegrep(regex: String, path: GuestPath) -> Vec<Line>
        { group: files, access: Read, stream: None, needs: root }

    /// `grep` with `compressed:true fixed:true`.
    Zfgrep zfgrep(pattern: String, path: GuestPath) -> Vec<Line>
        { group: files, access: Read, stream: None, needs: root }

    /// `grep` with `compressed:true insensitive:true`.
    Zgrepi zgrepi(regex: String, path: GuestPath) -> Vec<Line>
        { group: files, access: Read, stream: None, needs: root }

    /// `grep` with `compressed:true extended:true insensitive:true`.
    Zegrepi zegrepi(regex: String, path: GuestPath) -> Vec<Line>
        { group: files, access: Read, stream: None, needs: root }

    /// `grep` with `compressed:true fixed:true insensitive:true`.
    Zfgrepi zfgrepi(pattern: String, path: GuestPath) -> Vec<Line>
        { group: files, access: Read, stream: None, needs: root }

    /// Mounts a filesystem read-only.
    MountRo mount_ro(mountable: Device, mountpoint: GuestPath) -> ()
        { group: mount, access: Read, stream: None }

    /// Mounts a filesystem with mount options (`""` for none). On a read-only drive the
    /// filesystem is mounted read-only.
    MountOptions mount_options(options: String, mountable: Device, mountpoint: GuestPath) -> ()
        { group: mount, access: Read, stream: None }

    /// Mounts a filesystem with mount options and an explicit filesystem type. On a
    /// read-only drive the filesystem is mounted read-only.
    MountVfs mount_vfs(options: String, vfstype: String, mountable: Device, mountpoint: GuestPath) -> ()
        { group: mount, access: Read, stream: None }

    /// What is mounted where, as `device: mountpoint` pairs.
    Mountpoints mountpoints() -> Vec<KeyValue>
        { group: mount, access: Read, stream: None }

    /// Unmounts the filesystem mounted at a mountpoint, or the one a device is mounted on.
    /// `force:true` and `lazyunmount:true` are umount's `-f` and `-l`.
    Umount umount(pathordevice: String) [force: bool, lazyunmount: bool] -> ()
        { group: mount, access: Read, stream: None }

    /// The size of a device in 512-byte sectors, whatever its sector size.
    BlockdevGetsz blockdev_getsz(device: Device) -> i64
        { group: blockdev, access: Read, stream: None }

    /// The block size of a device as the kernel uses it for I/O (`blockdev --getbsz`).
    BlockdevGetbsz blockdev_getbsz(device: Device) -> i32
        { group: blockdev, access: Read, stream: None }

    /// Makes a device read-only for the kernel.
    BlockdevSetro blockdev_setro(device: Device) -> ()
        { group: blockdev, access: Read, stream: None }

    /// Makes a device writable for the kernel again (the drive itself may still be
    /// read-only).
    BlockdevSetrw blockdev_setrw(device: Device) -> ()
        { group: blockdev, access: Read, stream: None }

    /// Flushes a device's buffers to the disk image.
    BlockdevFlushbufs blockdev_flushbufs(device: Device) -> ()
        { group: blockdev, access: Read, stream: None }

    /// Does nothing, as in guestfish since 1.18 (kept so scripts that call it run).
    BlockdevSetbsz blockdev_setbsz(device: Device, blocksize: i32) -> ()
        { group: blockdev, access: Read, stream: None }

    /// Sets a device's readahead, in 512-byte sectors.
    BlockdevSetra blockdev_setra(device: Device, sectors: i32) -> ()
        { group: blockdev, access: Read, stream: None }

    /// The disk GUID of a GPT disk, in upper case.
    PartGetDiskGuid part_get_disk_guid(device: Disk) -> String
        { group: partitions, access: Read, stream: None }

    /// The unique GUID of a GPT partition, in upper case.
    PartGetGptGuid part_get_gpt_guid(device: Disk, partnum: i32) -> String
        { group: partitions, access: Read, stream: None }

    /// The attribute bits of a GPT partition.
    PartGetGptAttributes part_get_gpt_attributes(device: Disk, partnum: i32) -> i64
        { group: partitions, access: Read, stream: None }

    /// The kind of an MBR partition: `primary`, `extended` or `logical`.
    PartGetMbrPartType part_get_mbr_part_type(device: Disk, partnum: i32) -> String
        { group: partitions, access: Read, stream: None }

    /// The superblock of an ext2/3/4 filesystem as `tune2fs -l` lists it, one `key: value`
    /// pair per line.
    Tune2fsL tune2fs_l(device: Device) -> Vec<KeyValue>
        { group: blockdev, access: Read, stream: None }

    /// The number of disks added.
    NrDevices nr_devices() -> i32
        { group: devices, access: Read, stream: None }

    /// True if the device is a whole disk, not a partition.
    IsWholeDevice is_whole_device(device: Device) -> bool
        { group: devices, access: Read, stream: None }

    /// Up to `count` bytes of a device from `offset`.
    PreadDevice pread_device(device: Device, count: i32, offset: i64) -> Data
        { group: blockdev, access: Read, stream: None }

    /// Writes data to a device at `offset`; returns the bytes written.
    PwriteDevice pwrite_device(device: Device, content: Data, offset: i64) -> i32
        { group: blockdev, access: Write, stream: None }

    /// The words given, joined by spaces, as the daemon received them.
    EchoDaemon echo_daemon(words: Vec<String>) -> String
        { group: basic, access: Read, stream: None }

    /// Resizes an ext2/3/4 filesystem to `size` bytes (see `resize2fs`).
    Resize2fsSize resize2fs_size(device: Device, size: ByteSize) -> ()
        { group: mkfs, access: Write, stream: None }

    /// The `lstatns` of each of `names` in the directory `path`, in one call (what `ls -l`
    /// style listings use). A name that cannot be lstat'd gets a struct with `st_ino` -1.
    Lstatnslist lstatnslist(path: GuestPath, names: Vec<String>) -> Vec<StatNs>
        { group: files, access: Read, stream: None, needs: root }

    /// The target of each of `names` in the directory `path` that is a symbolic link, in
    /// one call; the empty string for a name that is not a link.
    Readlinklist readlinklist(path: GuestPath, names: Vec<String>) -> Vec<String>
        { group: files, access: Read, stream: None, needs: root }

    /// Writes `len` bytes of the octet `c` (0 to 255) at the start of the file `path`,
    /// creating it if needed (a longer existing file keeps its later bytes).
    Fill fill(c: i32, len: i32, path: GuestPath) -> ()
        { group: files, access: Write, stream: None, needs: root }

    /// Writes `len` bytes of `pattern` repeated (the last repetition cut short) at the start
    /// of the file `path`, creating it if needed (a longer file keeps its later bytes).
    FillPattern fill_pattern(pattern: String, len: i32, path: GuestPath) -> ()
        { group: files, access: Write, stream: None, needs: root }

    /// Creates `nr` empty files in the directory `dir`, named `00000000` to `nr - 1` in
    /// eight digits.
    FillDir fill_dir(dir: GuestPath, nr: i32) -> ()
        { group: files, access: Write, stream: None, needs: root }
    // ==== end of guestfish commands ====

    // ==== LUKS volumes made and keyed (issue 12): names, arguments and results as in
    // guestfish 1.48 ====
    /// Format `device` as a LUKS volume (cryptsetup's default format, LUKS2) with `key` in
    /// key slot `keyslot` (0 to 7 for LUKS1, 0 to 31 for LUKS2). Everything on the device is
    /// lost.
    LuksFormat luks_format(device: Device, key: Secret, keyslot: i32) -> ()
        { group: luks, access: Write, stream: None }

    /// `luks_format` with the cipher given (`aes-xts-plain64`, `serpent-xts-plain64`, ...).
    LuksFormatCipher luks_format_cipher(device: Device, key: Secret, keyslot: i32, cipher: String) -> ()
        { group: luks, access: Write, stream: None }

    /// Add `newkey` to LUKS volume `device` in slot `keyslot`, unlocking it with `key`
    /// (any existing key). The slot must be free.
    LuksAddKey luks_add_key(device: Device, key: Secret, newkey: Secret, keyslot: i32) -> ()
        { group: luks, access: Write, stream: None }

    /// Remove key slot `keyslot` of LUKS volume `device`, unlocking it with `key` (a key in
    /// another slot, or the same slot's).
    LuksKillSlot luks_kill_slot(device: Device, key: Secret, keyslot: i32) -> ()
        { group: luks, access: Write, stream: None }

    /// The UUID of LUKS volume `device`.
    LuksUuid luks_uuid(device: Device) -> String
        { group: luks, access: Read, stream: None }
    // ==== end of LUKS volumes ====

    // ==== block and filesystem commands (cmds-block): names, argument orders, units and
    // results as in guestfish 1.48 ====
    /// Creates an ext2, ext3 or ext4 filesystem, with mke2fs's options by name:
    /// `blockscount` (the size in blocks), `blocksize`, `fragsize`, `blockspergroup`,
    /// `numberofgroups`, `bytesperinode`, `inodesize`, `journalsize` (in MiB),
    /// `numberofinodes`, `stridesize`, `stripewidth`, `maxonlineresize`,
    /// `reservedblockspercentage`, `mmpupdateinterval`, `journaldevice`, `label`,
    /// `lastmounteddir`, `creatoros`, `fstype` (default ext2), `usagetype`, `uuid`, and the
    /// booleans `forcecreate`, `writesbandgrouponly`, `lazyitableinit`, `lazyjournalinit`,
    /// `testfs`, `discard`, `quotatype`, `extent`, `filetype`, `flexbg`, `hasjournal`,
    /// `journaldev`, `largefile`, `quota`, `resizeinode`, `sparsesuper`, `uninitbg`.
    Mke2fs mke2fs(device: Device) [blockscount: i64, blocksize: i64, fragsize: i64, blockspergroup: i64, numberofgroups: i64, bytesperinode: i64, inodesize: i64, journalsize: i64, numberofinodes: i64, stridesize: i64, stripewidth: i64, maxonlineresize: i64, reservedblockspercentage: i32, mmpupdateinterval: i32, journaldevice: String, label: String, lastmounteddir: String, creatoros: String, fstype: String, usagetype: String, uuid: String, forcecreate: bool, writesbandgrouponly: bool, lazyitableinit: bool, lazyjournalinit: bool, testfs: bool, discard: bool, quotatype: bool, extent: bool, filetype: bool, flexbg: bool, hasjournal: bool, journaldev: bool, largefile: bool, quota: bool, resizeinode: bool, sparsesuper: bool, uninitbg: bool] -> ()
        { group: mkfs, access: Write, stream: None }

    /// An ext2/3/4 filesystem on `device` with its journal on the external journal device
    /// `journal` (made by `mke2journal`).
    Mke2fsJ mke2fs_j(fstype: FsType, blocksize: i32, device: Device, journal: Device) -> ()
        { group: mkfs, access: Write, stream: None }

    /// An ext2/3/4 filesystem on `device` with its journal on the external journal labelled
    /// `label`.
    Mke2fsJL mke2fs_jl(fstype: FsType, blocksize: i32, device: Device, label: String) -> ()
        { group: mkfs, access: Write, stream: None }

    /// An ext2/3/4 filesystem on `device` with its journal on the external journal with UUID
    /// `uuid`.
    Mke2fsJU mke2fs_ju(fstype: FsType, blocksize: i32, device: Device, uuid: String) -> ()
        { group: mkfs, access: Write, stream: None }

    /// An ext2/3/4 external journal on `device` (`mke2fs -O journal_dev -b BLOCKSIZE`).
    Mke2journal mke2journal(blocksize: i32, device: Device) -> ()
        { group: mkfs, access: Write, stream: None }

    /// An external journal on `device` with the label `label`.
    Mke2journalL mke2journal_l(blocksize: i32, label: String, device: Device) -> ()
        { group: mkfs, access: Write, stream: None }

    /// An external journal on `device` with the UUID `uuid`.
    Mke2journalU mke2journal_u(blocksize: i32, uuid: String, device: Device) -> ()
        { group: mkfs, access: Write, stream: None }

    /// `mkfs` with a block size (the cluster size for vfat).
    MkfsB mkfs_b(fstype: FsType, blocksize: i32, device: Device) -> ()
        { group: mkfs, access: Write, stream: None }

    /// Makes the `lost+found` directory in the root of the ext filesystem mounted at
    /// `mountpoint`, with blocks reserved for e2fsck (`mklost+found`).
    MklostAndFound mklost_and_found(mountpoint: GuestPath) -> ()
        { group: mkfs, access: Write, stream: None, needs: root }

    /// A swap area on `device` with the label `label`.
    MkswapL mkswap_l(label: String, device: Device) -> ()
        { group: mkfs, access: Write, stream: None }

    /// A swap area on `device` with the UUID `uuid`.
    MkswapU mkswap_u(uuid: String, device: Device) -> ()
        { group: mkfs, access: Write, stream: None }

    /// A swap area in an existing file of the guest (make it with `fallocate` first).
    MkswapFile mkswap_file(path: GuestPath) -> ()
        { group: mkfs, access: Write, stream: None, needs: root }

    /// The appliance swaps on `device` (never a guest's own swap: it may hold a hibernated
    /// system).
    SwaponDevice swapon_device(device: Device) -> ()
        { group: swap, access: Write, stream: None }

    /// The appliance stops swapping on `device`.
    SwapoffDevice swapoff_device(device: Device) -> ()
        { group: swap, access: Write, stream: None }

    /// The appliance swaps on a file of the guest (made by `mkswap-file`).
    SwaponFile swapon_file(file: GuestPath) -> ()
        { group: swap, access: Write, stream: None, needs: root }

    /// The appliance stops swapping on a file of the guest.
    SwapoffFile swapoff_file(file: GuestPath) -> ()
        { group: swap, access: Write, stream: None, needs: root }

    /// The appliance swaps on the swap area labelled `label`.
    SwaponLabel swapon_label(label: String) -> ()
        { group: swap, access: Write, stream: None }

    /// The appliance stops swapping on the swap area labelled `label`.
    SwapoffLabel swapoff_label(label: String) -> ()
        { group: swap, access: Write, stream: None }

    /// The appliance swaps on the swap area with UUID `uuid`.
    SwaponUuid swapon_uuid(uuid: String) -> ()
        { group: swap, access: Write, stream: None }

    /// The appliance stops swapping on the swap area with UUID `uuid`.
    SwapoffUuid swapoff_uuid(uuid: String) -> ()
        { group: swap, access: Write, stream: None }

    /// A new random UUID for the filesystem (ext) or swap area on `device`.
    SetUuidRandom set_uuid_random(device: Device) -> ()
        { group: mkfs, access: Write, stream: None }

    /// The smallest size in bytes the filesystem on `mountable` can shrink to (ext2/3/4).
    VfsMinimumSize vfs_minimum_size(mountable: Device) -> i64
        { group: mkfs, access: Read, stream: None }

    /// Adjusts an ext filesystem's parameters, as tune2fs's options: `force` (-f),
    /// `maxmountcount` (-c), `mountcount` (-C), `errorbehavior` (-e: continue, remount-ro,
    /// panic), `group` (-g), `intervalbetweenchecks` (-i, seconds), `reservedblockspercentage`
    /// (-m), `lastmounteddirectory` (-M), `reservedblockscount` (-r), `user` (-u).
    Tune2fs tune2fs(device: Device) [force: bool, maxmountcount: i32, mountcount: i32, errorbehavior: String, group: i64, intervalbetweenchecks: i32, reservedblockspercentage: i32, lastmounteddirectory: String, reservedblockscount: i64, user: i64] -> ()
        { group: mkfs, access: Write, stream: None }

    /// Shrinks an ext filesystem to its minimum size (`resize2fs -M`).
    Resize2fsM resize2fs_m(device: Device) -> ()
        { group: mkfs, access: Write, stream: None }

    /// Checks and repairs an ext filesystem automatically, forcing the check
    /// (`e2fsck -p -f`).
    E2fsckF e2fsck_f(device: Device) -> ()
        { group: mkfs, access: Write, stream: None }

    /// The device holding the filesystem labelled `label`.
    FindfsLabel findfs_label(label: String) -> Device
        { group: blockdev, access: Read, stream: None }

    /// The device holding the filesystem with UUID `uuid`.
    FindfsUuid findfs_uuid(uuid: String) -> Device
        { group: blockdev, access: Read, stream: None }

    /// A device name in its usual form: /dev/hdX and /dev/vdX as /dev/sdX, /dev/mapper/VG-LV
    /// and /dev/dm-N as /dev/VG/LV; anything else as given.
    CanonicalDeviceName canonical_device_name(device: String) -> String
        { group: devices, access: Read, stream: None }

    /// The index of a whole disk in `list-devices`, from 0.
    DeviceIndex device_index(device: Device) -> i32
        { group: devices, access: Read, stream: None }

    /// The device of a mountable (`btrfsvol:/dev/sda2/sub` gives /dev/sda2).
    MountableDevice mountable_device(mountable: String) -> String
        { group: devices, access: Read, stream: None }

    /// The btrfs subvolume of a mountable; EINVAL when it is not a subvolume.
    MountableSubvolume mountable_subvolume(mountable: String) -> String
        { group: devices, access: Read, stream: None }

    /// The device-mapper devices (/dev/mapper/NAME), sorted.
    ListDmDevices list_dm_devices() -> Vec<String>
        { group: devices, access: Read, stream: None }

    /// True if `mountable` is an LVM logical volume.
    IsLv is_lv(mountable: String) -> bool
        { group: lvm, access: Read, stream: None }

    /// Discards every block of `device` (the disk must support discard).
    Blkdiscard blkdiscard(device: Device) -> ()
        { group: blockdev, access: Write, stream: None }

    /// True if discarded blocks of `device` read back as zeroes.
    Blkdiscardzeroes blkdiscardzeroes(device: Device) -> bool
        { group: blockdev, access: Read, stream: None }

    /// Zeroes the free space of the filesystem mounted at `directory` (a file of zeroes
    /// filling it, then removed); its files are untouched.
    ZeroFreeSpace zero_free_space(directory: GuestPath) -> ()
        { group: mkfs, access: Write, stream: None, needs: root }

    /// Zeroes the unused blocks of the unmounted ext filesystem on `device` (`zerofree`).
    Zerofree zerofree(device: Device) -> ()
        { group: mkfs, access: Write, stream: None }

    /// Overwrites `device` with patterns so its data cannot be recovered (`scrub`).
    ScrubDevice scrub_device(device: Device) -> ()
        { group: mkfs, access: Write, stream: None }

    /// Creates the directory `dir` and fills the free space with scrubbed files (`scrub -X`).
    ScrubFreespace scrub_freespace(dir: GuestPath) -> ()
        { group: mkfs, access: Write, stream: None, needs: root }

    /// Copies bytes from one device to another: `srcoffset`, `destoffset` and `size` in
    /// bytes (default: to the end of the source); `sparse:true` skips blocks of zeroes.
    CopyDeviceToDevice copy_device_to_device(src: Device, dest: Device) [srcoffset: i64, destoffset: i64, size: i64, sparse: bool, append: bool] -> ()
        { group: blockdev, access: Write, stream: None }

    /// Copies bytes from a device to a file of the guest (created or truncated unless
    /// `append:true`), with the options of `copy-device-to-device`.
    CopyDeviceToFile copy_device_to_file(src: Device, dest: GuestPath) [srcoffset: i64, destoffset: i64, size: i64, sparse: bool, append: bool] -> ()
        { group: blockdev, access: Write, stream: None, needs: root }

    /// Copies bytes from a file of the guest to a device, with the options of
    /// `copy-device-to-device`.
    CopyFileToDevice copy_file_to_device(src: GuestPath, dest: Device) [srcoffset: i64, destoffset: i64, size: i64, sparse: bool, append: bool] -> ()
        { group: blockdev, access: Write, stream: None, needs: root }

    /// The ext file attributes of a file as letters (`e` for extents, `i` immutable, ...).
    GetE2attrs get_e2attrs(file: GuestPath) -> String
        { group: attributes, access: Read, stream: None, needs: root }

    /// Sets (or with `clear:true` clears) the ext file attributes given as letters.
    SetE2attrs set_e2attrs(file: GuestPath, attrs: String) [clear: bool] -> ()
        { group: attributes, access: Write, stream: None, needs: root }

    /// The ext generation number of a file.
    GetE2generation get_e2generation(file: GuestPath) -> i64
        { group: attributes, access: Read, stream: None, needs: root }

    /// Sets the ext generation number of a file.
    SetE2generation set_e2generation(file: GuestPath, generation: i64) -> ()
        { group: attributes, access: Write, stream: None, needs: root }

    /// The LVM UUID of the physical volume `device`.
    Pvuuid pvuuid(device: Device) -> String
        { group: lvm, access: Read, stream: None }

    /// The LVM UUID of the volume group `vgname`.
    Vguuid vguuid(vgname: String) -> String
        { group: lvm, access: Read, stream: None }

    /// The LVM UUID of the logical volume `device`.
    Lvuuid lvuuid(device: VolumeName) -> String
        { group: lvm, access: Read, stream: None }

    /// The UUIDs of the logical volumes of `vgname`.
    Vglvuuids vglvuuids(vgname: String) -> Vec<String>
        { group: lvm, access: Read, stream: None }

    /// The UUIDs of the physical volumes of `vgname`.
    Vgpvuuids vgpvuuids(vgname: String) -> Vec<String>
        { group: lvm, access: Read, stream: None }

    /// Rescans the block devices for LVM physical volumes, groups and volumes.
    Vgscan vgscan() -> ()
        { group: lvm, access: Read, stream: None }

    /// Activates (or deactivates) the logical volumes of the listed groups; all groups when
    /// the list is empty.
    VgActivate vg_activate(activate: bool, volgroups: Vec<String>) -> ()
        { group: lvm, access: Read, stream: None }

    /// Resizes the physical volume `device` to fill its device.
    Pvresize pvresize(device: Device) -> ()
        { group: lvm, access: Write, stream: None }

    /// Resizes the physical volume `device` to `size` bytes.
    PvresizeSize pvresize_size(device: Device, size: i64) -> ()
        { group: lvm, access: Write, stream: None }

    /// Grows the logical volume `lv` by `percent` % of its group's free space.
    LvresizeFree lvresize_free(lv: VolumeName, percent: i32) -> ()
        { group: lvm, access: Write, stream: None }

    /// Removes every logical volume, volume group and physical volume.
    LvmRemoveAll lvm_remove_all() -> ()
        { group: lvm, access: Write, stream: None }

    /// The /dev/VG/LV name of a logical volume named otherwise (/dev/mapper/VG-LV,
    /// /dev/dm-N); EINVAL when it is not one.
    LvmCanonicalLvName lvm_canonical_lv_name(lvname: String) -> String
        { group: lvm, access: Read, stream: None }

    /// A new random UUID for the physical volume `device`.
    PvchangeUuid pvchange_uuid(device: Device) -> ()
        { group: lvm, access: Write, stream: None }

    /// A new random UUID for the volume group `vg`.
    VgchangeUuid vgchange_uuid(vg: String) -> ()
        { group: lvm, access: Write, stream: None }

    /// Opens a LUKS volume read-only as /dev/mapper/MAPNAME.
    LuksOpenRo luks_open_ro(device: Device, key: Secret, mapname: String) -> ()
        { group: luks, access: Read, stream: None }
    /// Disk space of the mounted filesystems, as df(1) prints it (1K blocks).
    Df df() -> String
        { group: mount, access: Read, stream: None }

    /// Disk space of the mounted filesystems, as `df -h` prints it (sizes in K, M, G, ...).
    DfH df_h() -> String
        { group: mount, access: Read, stream: None }
    // ==== end of block and filesystem commands ====
    // ==== files commands (cmds-files) ====
    /// Unpacks a gzip-compressed tar stream into `directory` (`tar_in` with
    /// `compress:gzip`); nothing is written outside the directory.
    TgzIn tgz_in(directory: GuestPath) -> ()
        { group: transfer, access: Write, stream: Input, needs: root }

    /// Packs `directory` as a gzip-compressed tar stream (`tar_out` with `compress:gzip`).
    TgzOut tgz_out(directory: GuestPath) -> ()
        { group: transfer, access: Read, stream: Output, needs: root }

    /// Unpacks an xz-compressed tar stream into `directory` (`tar_in` with `compress:xz`).
    TxzIn txz_in(directory: GuestPath) -> ()
        { group: transfer, access: Write, stream: Input, needs: root }

    /// Packs `directory` as an xz-compressed tar stream (`tar_out` with `compress:xz`).
    TxzOut txz_out(directory: GuestPath) -> ()
        { group: transfer, access: Read, stream: Output, needs: root }

    /// Decodes the base64 input stream into the file `filename`, replacing it as `upload`
    /// does (a symbolic link there is replaced, not followed).
    Base64In base64_in(filename: GuestPath) -> ()
        { group: transfer, access: Write, stream: Input, needs: root }

    /// Streams the file `filename` encoded as base64, in lines of 76 characters as
    /// `base64` prints them.
    Base64Out base64_out(filename: GuestPath) -> ()
        { group: transfer, access: Read, stream: Output, needs: root }

    /// Streams the names in `dir` (without `.` and `..`), each ended by a NUL byte.
    Ls0 ls0(dir: GuestPath) -> ()
        { group: files, access: Read, stream: Output, needs: root }

    /// Packs `directory` as a cpio archive (`format`: `newc`, the default, or `crc`); the
    /// names start with `./`.
    CpioOut cpio_out(directory: GuestPath) [format: String] -> ()
        { group: transfer, access: Read, stream: Output, needs: root }

    /// Streams the file `file` compressed with `ctype` (`gzip` or `xz`; guestfish's
    /// `compress`, `bzip2` and `lzop` are not available); `level` is the compression level.
    CompressOut compress_out(ctype: String, file: GuestPath) [level: i32] -> ()
        { group: transfer, access: Read, stream: Output, needs: root }

    /// Copies bytes from `src` to `dest` (each a device or a guest file; a new file is
    /// created): `srcoffset` and `destoffset` start the copy, `size` bytes are copied (by
    /// default to the end of `src`); `append:true` writes at the end of `dest`; `sparse:true`
    /// leaves zero blocks as holes. A destination file is never truncated.
    CopyFileToFile copy_file_to_file(src: String, dest: String) [srcoffset: i64, destoffset: i64, size: i64, sparse: bool, append: bool] -> ()
        { group: files, access: Write, stream: None }

    /// Copies the first `size` bytes of `src` to `dest` (each a device or a guest file);
    /// fails if `src` is shorter.
    CopySize copy_size(src: String, dest: String, size: ByteSize) -> ()
        { group: files, access: Write, stream: None }

    /// Copies all of `src` to `dest` (each a device or a guest file).
    Dd dd(src: String, dest: String) -> ()
        { group: files, access: Write, stream: None }

    /// True if the files `file1` and `file2` have the same contents.
    Equal equal(file1: GuestPath, file2: GuestPath) -> bool
        { group: files, access: Read, stream: None, needs: root }

    /// Copies the attributes of `src` to `dest` that the options ask for: `mode:true` the
    /// permission bits, `xattributes:true` the extended attributes, `ownership:true` owner
    /// and group, `all:true` all of them (nothing without options, as in guestfish 1.48).
    CopyAttributes copy_attributes(src: GuestPath, dest: GuestPath) [all: bool, mode: bool, xattributes: bool, ownership: bool] -> ()
        { group: files, access: Write, stream: None, needs: root }

    /// Creates a new directory from the template `tmpl` (a path ending in `XXXXXX`, which
    /// becomes random characters) and returns its name.
    Mkdtemp mkdtemp(tmpl: GuestPath) -> GuestPath
        { group: files, access: Write, stream: None, needs: root }

    /// Creates a new empty file from the template `tmpl` (ending in `XXXXXX`), with
    /// `suffix` appended to the name, and returns its name.
    Mktemp mktemp(tmpl: GuestPath) [suffix: String] -> GuestPath
        { group: files, access: Write, stream: None, needs: root }

    /// Sets the mask for the modes of files the daemon creates (`mask & 0777`) and returns
    /// the previous one.
    Umask umask(mask: Mode) -> Mode
        { group: files, access: Read, stream: None }

    /// The mask for the modes of files the daemon creates (022 at start).
    GetUmask get_umask() -> Mode
        { group: files, access: Read, stream: None }

    /// The printable strings of at least 4 characters in `path`, in `encoding`: `s` 7-bit,
    /// `S` 8-bit, `b`/`l` 16-bit big/little endian, `B`/`L` 32-bit big/little endian.
    StringsE strings_e(encoding: String, path: GuestPath) -> Vec<Line>
        { group: files, access: Read, stream: None, needs: root }

    /// What `file` says of the contents of the compressed file `path` (`meth`: `gzip` or
    /// `compress` for gzip, `bzip2`, `xz`).
    Zfile zfile(meth: String, path: GuestPath) -> String
        { group: files, access: Read, stream: None, needs: root }

    /// The architecture of a binary (an ELF executable or library): `i386`, `x86_64`,
    /// `aarch64`, `arm`, `ppc`, `ppc64`, `ppc64le`, `s390x`, `riscv64`, `sparc64`, ...
    FileArchitecture file_architecture(filename: GuestPath) -> String
        { group: files, access: Read, stream: None, needs: root }

    /// The names in the initrd `path` (a cpio archive, plain or compressed with gzip, xz or
    /// zstd), in archive order.
    InitrdList initrd_list(path: GuestPath) -> Vec<FileName>
        { group: files, access: Read, stream: None, needs: root }

    /// The contents of the member `filename` of the initrd `initrdpath`.
    InitrdCat initrd_cat(initrdpath: GuestPath, filename: String) -> Data
        { group: files, access: Read, stream: None, needs: root }

    /// The path as it is on disk for a path given in any case (for case-insensitive
    /// guests): each component that exists is matched ignoring case; the first one that does
    /// not exist and the rest are kept as given.
    CaseSensitivePath case_sensitive_path(path: GuestPath) -> GuestPath
        { group: files, access: Read, stream: None, needs: root }

    /// Overwrites the file `file` with random bytes, syncs it, and removes it.
    ScrubFile scrub_file(file: GuestPath) -> ()
        { group: files, access: Write, stream: None, needs: root }

    /// The POSIX ACL of `path` in long text form: `acltype` `access` or `default`.
    AclGetFile acl_get_file(path: GuestPath, acltype: String) -> String
        { group: files, access: Read, stream: None, needs: root }

    /// Replaces the POSIX ACL of `path` (`acltype` `access` or `default`) with `acl`, in
    /// long or short text form (`u::rwx,g::r-x,o::---,m::rwx,u:500:rwx`).
    AclSetFile acl_set_file(path: GuestPath, acltype: String, acl: String) -> ()
        { group: files, access: Write, stream: None, needs: root }

    /// Removes the default POSIX ACL of the directory `dir`.
    AclDeleteDefFile acl_delete_def_file(dir: GuestPath) -> ()
        { group: files, access: Write, stream: None, needs: root }

    /// The Linux capabilities of the file `path` in the text form of `cap_to_text`
    /// (`cap_net_raw=ep`); the empty string when it has none.
    CapGetFile cap_get_file(path: GuestPath) -> String
        { group: files, access: Read, stream: None, needs: root }

    /// Sets the Linux capabilities of the file `path` from their text form
    /// (`cap_net_raw+ep`, `cap_chown,cap_kill=eip`).
    CapSetFile cap_set_file(path: GuestPath, cap: String) -> ()
        { group: files, access: Write, stream: None, needs: root }

    /// The appliance kernel's messages (what `dmesg` prints).
    Dmesg dmesg() -> String
        { group: basic, access: Read, stream: None }

    /// Drops the appliance kernel's caches: `whattodrop` as /proc/sys/vm/drop_caches
    /// takes it (1 page cache, 2 dentries and inodes, 3 both).
    DropCaches drop_caches(whattodrop: i32) -> ()
        { group: basic, access: Read, stream: None }

    /// Loads the appliance kernel's module `modulename`.
    Modprobe modprobe(modulename: String) -> ()
        { group: basic, access: Read, stream: None }

    /// The appliance kernel's name, release, version and machine.
    Utsname utsname() -> Utsname
        { group: basic, access: Read, stream: None }
    /// Starts watching for changes with inotify (a new instance; the old one is closed).
    /// `maxevents` above 0 sets the kernel's queue length.
    InotifyInit inotify_init(maxevents: i32) -> ()
        { group: files, access: Read, stream: None }

    /// Watches `path` for the inotify events in `mask` (`IN_*` bits); returns the watch.
    InotifyAddWatch inotify_add_watch(path: GuestPath, mask: i32) -> i64
        { group: files, access: Read, stream: None, needs: root }

    /// Stops the watch `wd`.
    InotifyRmWatch inotify_rm_watch(wd: i32) -> ()
        { group: files, access: Read, stream: None }

    /// The inotify events queued now (an empty list when there are none).
    InotifyRead inotify_read() -> Vec<InotifyEvent>
        { group: files, access: Read, stream: None }

    /// The names in the inotify events queued now, sorted, each once.
    InotifyFiles inotify_files() -> Vec<String>
        { group: files, access: Read, stream: None }

    /// Closes the inotify instance and its watches.
    InotifyClose inotify_close() -> ()
        { group: files, access: Read, stream: None }
    /// `lstat` of each of `names` in the directory `path`, in one call, as guestfish's
    /// deprecated `lstatlist` (a name that cannot be lstat'd gets `ino` -1).
    Lstatlist lstatlist(path: GuestPath, names: Vec<String>) -> Vec<FishStat>
        { group: files, access: Read, stream: None, needs: root }

    /// The extended attributes of each of `names` in the directory `path`, in one call:
    /// for each name an entry with an empty `attrname` and the number of attributes as
    /// `attrval`, then its attributes.
    Lxattrlist lxattrlist(path: GuestPath, names: Vec<String>) -> Vec<FishXAttr>
        { group: files, access: Read, stream: None, needs: root }

    /// A long listing of a directory with security contexts, like `ls -laZ`.
    Llz llz(directory: GuestPath) -> String
        { group: files, access: Read, stream: None, needs: root }
    // ==== end of files commands (cmds-files) ====

    // ==== btrfs and xfs (cmds-btrfs) ====
    /// Changes the size of the btrfs filesystem mounted at `mountpoint`: to `size` bytes, or
    /// to fill its devices without `size`.
    BtrfsFilesystemResize btrfs_filesystem_resize(mountpoint: GuestPath) [size: i64] -> ()
        { group: btrfs, access: Write, stream: None, needs: root }

    /// Creates a btrfs filesystem on `devices` (one or more). `bytecount` the size in bytes,
    /// `datatype`/`metadata` the profile (`raid0`, `raid1`, `raid10`, `single`),
    /// `leafsize`/`nodesize` the tree block size, `sectorsize` the sector size, `label` the
    /// label; `allocstart` is accepted and ignored (btrfs-progs dropped it).
    MkfsBtrfs mkfs_btrfs(devices: Vec<Device>) [allocstart: i64, bytecount: i64, datatype: String, leafsize: i32, label: String, metadata: String, nodesize: i32, sectorsize: i32] -> ()
        { group: btrfs, access: Write, stream: None }

    /// Creates a snapshot of the btrfs subvolume `source` as `dest` (`/path/to/dest/name`);
    /// `ro:true` makes it read-only, `qgroupid` adds it to that qgroup.
    BtrfsSubvolumeSnapshot btrfs_subvolume_snapshot(source: GuestPath, dest: GuestPath) [ro: bool, qgroupid: String] -> ()
        { group: btrfs, access: Write, stream: None, needs: root }

    /// Deletes the btrfs subvolume or snapshot `subvolume`.
    BtrfsSubvolumeDelete btrfs_subvolume_delete(subvolume: GuestPath) -> ()
        { group: btrfs, access: Write, stream: None, needs: root }

    /// Creates a btrfs subvolume `dest` (`/path/to/dest/name`); `qgroupid` adds it to that
    /// qgroup.
    BtrfsSubvolumeCreate btrfs_subvolume_create(dest: GuestPath) [qgroupid: String] -> ()
        { group: btrfs, access: Write, stream: None, needs: root }

    /// The subvolumes and snapshots of the btrfs filesystem `fs` (a device, a
    /// `btrfsvol:` mountable or a mounted guest path): id, top level id and path.
    BtrfsSubvolumeList btrfs_subvolume_list(fs: String) -> Vec<BtrfsSubvolume>
        { group: btrfs, access: Read, stream: None }

    /// Makes the subvolume `id` the default one of the btrfs filesystem mounted at `fs`.
    BtrfsSubvolumeSetDefault btrfs_subvolume_set_default(id: i64, fs: GuestPath) -> ()
        { group: btrfs, access: Write, stream: None, needs: root }

    /// Forces the btrfs filesystem mounted at `fs` to write everything to disk.
    BtrfsFilesystemSync btrfs_filesystem_sync(fs: GuestPath) -> ()
        { group: btrfs, access: Write, stream: None, needs: root }

    /// Balances the chunks of the btrfs filesystem mounted at `fs` across its devices.
    BtrfsFilesystemBalance btrfs_filesystem_balance(fs: GuestPath) -> ()
        { group: btrfs, access: Write, stream: None, needs: root }

    /// Adds `devices` to the btrfs filesystem mounted at `fs`.
    BtrfsDeviceAdd btrfs_device_add(devices: Vec<Device>, fs: GuestPath) -> ()
        { group: btrfs, access: Write, stream: None, needs: root }

    /// Removes `devices` from the btrfs filesystem mounted at `fs`.
    BtrfsDeviceDelete btrfs_device_delete(devices: Vec<Device>, fs: GuestPath) -> ()
        { group: btrfs, access: Write, stream: None, needs: root }

    /// Turns the seeding flag of the btrfs device `device` on or off.
    BtrfsSetSeeding btrfs_set_seeding(device: Device, seeding: bool) -> ()
        { group: btrfs, access: Write, stream: None }

    /// Checks the btrfs filesystem on `device` (`btrfsck`); `superblock` uses the superblock
    /// copy at that byte offset, `repair:true` repairs.
    BtrfsFsck btrfs_fsck(device: Device) [superblock: i64, repair: bool] -> ()
        { group: btrfs, access: Write, stream: None }

    /// The geometry of the XFS filesystem mounted at the guest path or on the device
    /// `pathordevice`; fields it does not report are -1 or empty.
    XfsInfo xfs_info(pathordevice: String) -> XfsInfo
        { group: xfs, access: Read, stream: None }

    /// Grows the XFS filesystem mounted at `path`: `datasec`/`logsec`/`rtsec` grow the data,
    /// log or realtime section, `datasize`/`logsize`/`rtsize` to that many filesystem blocks,
    /// `rtextsize` the realtime extent size, `maxpct` the inode space limit in percent.
    XfsGrowfs xfs_growfs(path: GuestPath) [datasec: bool, logsec: bool, rtsec: bool, datasize: i64, logsize: i64, rtsize: i64, rtextsize: i64, maxpct: i32] -> ()
        { group: xfs, access: Write, stream: None, needs: root }

    /// Changes parameters of the unmounted XFS filesystem on `device`: `extunwritten`,
    /// `imgfile`, `v2log`, `projid32bit` enable those features, `lazycounter` turns lazy
    /// counters on or off, `label` and `uuid` set those (`uuid:generate` a random one).
    XfsAdmin xfs_admin(device: Device) [extunwritten: bool, imgfile: bool, v2log: bool, projid32bit: bool, lazycounter: bool, label: String, uuid: String] -> ()
        { group: xfs, access: Write, stream: None }

    /// Repairs the XFS filesystem on a device or in an image file in the guest; returns 0
    /// (with `nomodify:true`: 0 clean, 1 corruption found). The other options are
    /// xfs_repair's `-L`, `-P`, `-o force_geometry`, `-m`, `-o ihash=`, `-o bhash=`,
    /// `-o ag_stride=`, `-l` and `-r`.
    XfsRepair xfs_repair(device: String) [forcelogzero: bool, nomodify: bool, noprefetch: bool, forcegeometry: bool, maxmem: i64, ihashsize: i64, bhashsize: i64, agstride: i64, logdev: String, rtdev: String] -> i32
        { group: xfs, access: Write, stream: None }

    /// The id of the default subvolume of the btrfs filesystem `fs` (a device, a
    /// `btrfsvol:` mountable or a mounted guest path).
    BtrfsSubvolumeGetDefault btrfs_subvolume_get_default(fs: String) -> i64
        { group: btrfs, access: Read, stream: None }

    /// What btrfs says of the subvolume `subvolume` (name, uuid, times, ids, flags,
    /// snapshots), as `key: value` pairs.
    BtrfsSubvolumeShow btrfs_subvolume_show(subvolume: GuestPath) -> Vec<KeyValue>
        { group: btrfs, access: Read, stream: None, needs: root }

    /// Turns quota support on or off on the btrfs filesystem `fs` (a device or a guest
    /// path).
    BtrfsQuotaEnable btrfs_quota_enable(fs: String, enable: bool) -> ()
        { group: btrfs, access: Write, stream: None }

    /// Drops the qgroup numbers of the btrfs filesystem `fs` and counts them again.
    BtrfsQuotaRescan btrfs_quota_rescan(fs: String) -> ()
        { group: btrfs, access: Write, stream: None }

    /// Limits the size of the subvolume `subvolume` to `size` bytes.
    BtrfsQgroupLimit btrfs_qgroup_limit(subvolume: GuestPath, size: i64) -> ()
        { group: btrfs, access: Write, stream: None, needs: root }

    /// Creates the quota group `qgroupid` (`level/id`) of the subvolume `subvolume`.
    BtrfsQgroupCreate btrfs_qgroup_create(qgroupid: String, subvolume: GuestPath) -> ()
        { group: btrfs, access: Write, stream: None, needs: root }

    /// Destroys the quota group `qgroupid` of the subvolume `subvolume`.
    BtrfsQgroupDestroy btrfs_qgroup_destroy(qgroupid: String, subvolume: GuestPath) -> ()
        { group: btrfs, access: Write, stream: None, needs: root }

    /// The quota groups of the btrfs filesystem that holds `path`: id, referenced and
    /// exclusive bytes.
    BtrfsQgroupShow btrfs_qgroup_show(path: GuestPath) -> Vec<BtrfsQgroup>
        { group: btrfs, access: Read, stream: None, needs: root }

    /// Makes the qgroup `src` a member of the parent qgroup `dst` on the filesystem at
    /// `path`.
    BtrfsQgroupAssign btrfs_qgroup_assign(src: String, dst: String, path: GuestPath) -> ()
        { group: btrfs, access: Write, stream: None, needs: root }

    /// Removes the qgroup `src` from its parent qgroup `dst` on the filesystem at `path`.
    BtrfsQgroupRemove btrfs_qgroup_remove(src: String, dst: String, path: GuestPath) -> ()
        { group: btrfs, access: Write, stream: None, needs: root }

    /// Starts a scrub (reads all data and checks the checksums) of the btrfs filesystem
    /// at `path`.
    BtrfsScrubStart btrfs_scrub_start(path: GuestPath) -> ()
        { group: btrfs, access: Write, stream: None, needs: root }

    /// Cancels a running scrub of the btrfs filesystem at `path`.
    BtrfsScrubCancel btrfs_scrub_cancel(path: GuestPath) -> ()
        { group: btrfs, access: Write, stream: None, needs: root }

    /// Resumes a cancelled or interrupted scrub of the btrfs filesystem at `path`.
    BtrfsScrubResume btrfs_scrub_resume(path: GuestPath) -> ()
        { group: btrfs, access: Write, stream: None, needs: root }

    /// Pauses a running balance of the btrfs filesystem at `path`.
    BtrfsBalancePause btrfs_balance_pause(path: GuestPath) -> ()
        { group: btrfs, access: Write, stream: None, needs: root }

    /// Cancels a running or paused balance of the btrfs filesystem at `path`.
    BtrfsBalanceCancel btrfs_balance_cancel(path: GuestPath) -> ()
        { group: btrfs, access: Write, stream: None, needs: root }

    /// Resumes a paused balance of the btrfs filesystem at `path`.
    BtrfsBalanceResume btrfs_balance_resume(path: GuestPath) -> ()
        { group: btrfs, access: Write, stream: None, needs: root }

    /// Defragments the file or directory `path` (recursively) on btrfs; `flush:true`
    /// flushes each file after it, `compress` (`zlib`, `lzo`) compresses as it goes.
    BtrfsFilesystemDefragment btrfs_filesystem_defragment(path: GuestPath) [flush: bool, compress: String] -> ()
        { group: btrfs, access: Write, stream: None, needs: root }

    /// Recovers the chunk tree of the btrfs filesystem on `device`.
    BtrfsRescueChunkRecover btrfs_rescue_chunk_recover(device: Device) -> ()
        { group: btrfs, access: Write, stream: None }

    /// Restores bad superblocks of the btrfs filesystem on `device` from good copies.
    BtrfsRescueSuperRecover btrfs_rescue_super_recover(device: Device) -> ()
        { group: btrfs, access: Write, stream: None }

    /// The state of a balance of the btrfs filesystem at `path`: `none`, `running` or
    /// `paused`, with its chunk counts.
    BtrfsBalanceStatus btrfs_balance_status(path: GuestPath) -> BtrfsBalance
        { group: btrfs, access: Read, stream: None, needs: root }

    /// The counters of the running or last scrub of the btrfs filesystem at `path`.
    BtrfsScrubStatus btrfs_scrub_status(path: GuestPath) -> BtrfsScrub
        { group: btrfs, access: Read, stream: None, needs: root }

    /// Turns the seeding flag of the unmounted btrfs device `device` on or off
    /// (`btrfstune -S`).
    BtrfstuneSeeding btrfstune_seeding(device: Device, seeding: bool) -> ()
        { group: btrfs, access: Write, stream: None }

    /// Enables extended inode refs on the btrfs filesystem on `device`.
    BtrfstuneEnableExtendedInodeRefs btrfstune_enable_extended_inode_refs(device: Device) -> ()
        { group: btrfs, access: Write, stream: None }

    /// Enables skinny metadata extent refs on the btrfs filesystem on `device`.
    BtrfstuneEnableSkinnyMetadataExtentRefs btrfstune_enable_skinny_metadata_extent_refs(device: Device) -> ()
        { group: btrfs, access: Write, stream: None }

    /// Writes an image of the btrfs filesystem on `source` (its devices) to the guest file
    /// `image`: metadata only, for debugging; `compresslevel` 0 to 9.
    BtrfsImage btrfs_image(source: Vec<Device>, image: GuestPath) [compresslevel: i32] -> ()
        { group: btrfs, access: Write, stream: None, needs: root }

    /// Replaces the device `srcdev` of the btrfs filesystem mounted at `mntpoint` with
    /// `targetdev`, copying its data.
    BtrfsReplace btrfs_replace(srcdev: Device, targetdev: Device, mntpoint: GuestPath) -> ()
        { group: btrfs, access: Write, stream: None, needs: root }

    /// The devices of the btrfs filesystem on `device`.
    BtrfsFilesystemShow btrfs_filesystem_show(device: Device) -> Vec<Device>
        { group: btrfs, access: Read, stream: None }
    // ==== end of btrfs and xfs (cmds-btrfs) ====
    // ==== Augeas, hivex and journal commands (cmds-libs) ====
    /// Creates the Augeas handle on the guest tree at `root` (usually `/`), closing any
    /// handle already open. `flags` are Augeas's `aug_init` flags, added together: 1
    /// `AUG_SAVE_BACKUP`, 2 `AUG_SAVE_NEWFILE`, 4 `AUG_TYPE_CHECK`, 8 `AUG_NO_STDINC`,
    /// 16 `AUG_SAVE_NOOP`, 32 `AUG_NO_LOAD`. Needs libaugeas0 and augeas-lenses on the host.
    AugInit aug_init(root: GuestPath, flags: i32) -> ()
        { group: augeas, access: Read, stream: None, needs: root }

    /// Closes the Augeas handle; unsaved changes are lost.
    AugClose aug_close() -> ()
        { group: augeas, access: Read, stream: None }

    /// Defines the Augeas variable `name` as the nodes `expr` matches (no `expr`: undefines
    /// it); the number of nodes in its node-set (0 if it is not a node-set).
    AugDefvar aug_defvar(name: String, expr: crate::fish::OptString) -> i32
        { group: augeas, access: Read, stream: None }

    /// Defines the variable `name` as the single node `expr` matches, creating it with the
    /// value `val` if nothing matches; the number of nodes (`i`) and whether one was created
    /// (`b`).
    AugDefnode aug_defnode(name: String, expr: String, val: String) -> IntBool
        { group: augeas, access: Read, stream: None }

    /// The value of the single node `augpath` matches.
    AugGet aug_get(augpath: String) -> String
        { group: augeas, access: Read, stream: None }

    /// Sets the value of the single node `augpath` matches (created if missing).
    AugSet aug_set(augpath: String, val: String) -> ()
        { group: augeas, access: Read, stream: None }

    /// Inserts a sibling node `label` before (`before` true) or after the single node
    /// `augpath` matches.
    AugInsert aug_insert(augpath: String, label: String, before: bool) -> ()
        { group: augeas, access: Read, stream: None }

    /// Removes every node `augpath` matches and their children; the number removed.
    AugRm aug_rm(augpath: String) -> i32
        { group: augeas, access: Read, stream: None }

    /// Moves the node `src` (and its children) to `dest`, which must match one node or none.
    AugMv aug_mv(src: String, dest: String) -> ()
        { group: augeas, access: Read, stream: None }

    /// The paths of every node `augpath` matches.
    AugMatch aug_match(augpath: String) -> Vec<String>
        { group: augeas, access: Read, stream: None }

    /// Writes the changed Augeas tree back to the files in the guest.
    AugSave aug_save() -> ()
        { group: augeas, access: Write, stream: None }

    /// Loads the files into the Augeas tree again (changes not saved are lost).
    AugLoad aug_load() -> ()
        { group: augeas, access: Read, stream: None }

    /// The children of `augpath`, sorted (`aug-match augpath/*`).
    AugLs aug_ls(augpath: String) -> Vec<String>
        { group: augeas, access: Read, stream: None }

    /// Sets the value of the single node `augpath` matches to nothing (the node stays).
    AugClear aug_clear(augpath: String) -> ()
        { group: augeas, access: Read, stream: None }

    /// Sets the value `val` on every node `sub` (relative to each node `base` matches;
    /// created if missing; no `sub`: the base nodes themselves); the number of nodes set.
    AugSetm aug_setm(base: String, sub: crate::fish::OptString, val: String) -> i32
        { group: augeas, access: Read, stream: None }

    /// The label (name) of the single node `augpath` matches.
    AugLabel aug_label(augpath: String) -> String
        { group: augeas, access: Read, stream: None }

    /// Makes the lens `lens` handle `file` (a glob), or with `remove:true` stop handling it.
    AugTransform aug_transform(lens: String, file: String) [remove: bool] -> ()
        { group: augeas, access: Read, stream: None }

    /// Opens the Windows registry hive `filename` in the guest, closing any hive already
    /// open. `write:true` allows changes (kept in memory until `hivex-commit`); `verbose`,
    /// `debug` and `unsafe` are hivex's own flags. Needs libhivex0 on the host.
    HivexOpen hivex_open(filename: GuestPath) [verbose: bool, debug: bool, write: bool, r#unsafe: bool] -> ()
        { group: hivex, access: Read, stream: None, needs: root }

    /// Closes the hive; uncommitted changes are lost.
    HivexClose hivex_close() -> ()
        { group: hivex, access: Read, stream: None }

    /// The root node of the hive.
    HivexRoot hivex_root() -> i64
        { group: hivex, access: Read, stream: None }

    /// The name of node `nodeh`.
    HivexNodeName hivex_node_name(nodeh: i64) -> String
        { group: hivex, access: Read, stream: None }

    /// The child nodes of node `nodeh`.
    HivexNodeChildren hivex_node_children(nodeh: i64) -> Vec<HivexNode>
        { group: hivex, access: Read, stream: None }

    /// The child of node `nodeh` called `name` (case-insensitive), or 0 if there is none.
    HivexNodeGetChild hivex_node_get_child(nodeh: i64, name: String) -> i64
        { group: hivex, access: Read, stream: None }

    /// The parent of node `nodeh`.
    HivexNodeParent hivex_node_parent(nodeh: i64) -> i64
        { group: hivex, access: Read, stream: None }

    /// The values of node `nodeh`.
    HivexNodeValues hivex_node_values(nodeh: i64) -> Vec<HivexValue>
        { group: hivex, access: Read, stream: None }

    /// The value of node `nodeh` called `key` (case-insensitive; empty: the default value),
    /// or 0 if there is none.
    HivexNodeGetValue hivex_node_get_value(nodeh: i64, key: String) -> i64
        { group: hivex, access: Read, stream: None }

    /// The name (key) of value `valueh`.
    HivexValueKey hivex_value_key(valueh: i64) -> String
        { group: hivex, access: Read, stream: None }

    /// The data type of value `valueh` (1 REG_SZ, 2 REG_EXPAND_SZ, 3 REG_BINARY, 4
    /// REG_DWORD, 7 REG_MULTI_SZ, ...).
    HivexValueType hivex_value_type(valueh: i64) -> i64
        { group: hivex, access: Read, stream: None }

    /// The raw data of value `valueh`.
    HivexValueValue hivex_value_value(valueh: i64) -> Data
        { group: hivex, access: Read, stream: None }

    /// The data of the string value `valueh`, as UTF-8.
    HivexValueString hivex_value_string(valueh: i64) -> String
        { group: hivex, access: Read, stream: None }

    /// Writes the changes to the hive file, or with `filename` to that guest file instead.
    HivexCommit hivex_commit(filename: crate::fish::OptString) -> ()
        { group: hivex, access: Write, stream: None }

    /// Adds a child node `name` to node `parent`; the new node.
    HivexNodeAddChild hivex_node_add_child(parent: i64, name: String) -> i64
        { group: hivex, access: Read, stream: None }

    /// Deletes node `nodeh`, its children and values.
    HivexNodeDeleteChild hivex_node_delete_child(nodeh: i64) -> ()
        { group: hivex, access: Read, stream: None }

    /// Adds or replaces the value `key` of node `nodeh`: type `t`, data `val`.
    HivexNodeSetValue hivex_node_set_value(nodeh: i64, key: String, t: i64, val: Data) -> ()
        { group: hivex, access: Read, stream: None }

    /// The data of the string value `valueh`, as UTF-8 (deprecated: `hivex-value-string`).
    HivexValueUtf8 hivex_value_utf8(valueh: i64) -> String
        { group: hivex, access: Read, stream: None }

    /// Opens the systemd journal files in the guest directory `directory`
    /// (`/var/log/journal/MACHINE-ID`), closing any journal already open. Needs systemd
    /// on the host.
    JournalOpen journal_open(directory: GuestPath) -> ()
        { group: journal, access: Read, stream: None, needs: root }

    /// Closes the journal.
    JournalClose journal_close() -> ()
        { group: journal, access: Read, stream: None }

    /// Moves to the next journal entry (the first, after opening); false at the end.
    JournalNext journal_next() -> bool
        { group: journal, access: Read, stream: None }

    /// Skips `skip` entries forwards (or backwards when negative); the number skipped.
    JournalSkip journal_skip(skip: i64) -> i64
        { group: journal, access: Read, stream: None }

    /// The fields of the current journal entry (`attrname` the field, `attrval` its data).
    JournalGet journal_get() -> Vec<FishXAttr>
        { group: journal, access: Read, stream: None }

    /// The largest field size `journal-get` returns whole (longer data is cut there; 0: no
    /// limit).
    JournalGetDataThreshold journal_get_data_threshold() -> i64
        { group: journal, access: Read, stream: None }

    /// Sets the largest field size `journal-get` returns whole (0: no limit).
    JournalSetDataThreshold journal_set_data_threshold(threshold: i64) -> ()
        { group: journal, access: Read, stream: None }

    /// The time of the current journal entry, in microseconds since the epoch.
    JournalGetRealtimeUsec journal_get_realtime_usec() -> i64
        { group: journal, access: Read, stream: None }
    // ==== end of Augeas, hivex and journal commands (cmds-libs) ====

    // ==== ISO, squashfs, sleuthkit, SELinux, f2fs, yara (cmds-misc) ====
    /// The primary volume descriptor of the ISO 9660 filesystem on `device` (guestfish's
    /// `isoinfo` struct): names with their trailing spaces removed, times as Unix seconds
    /// (-1 when unset).
    IsoinfoDevice isoinfo_device(device: Device) -> Isoinfo
        { group: devices, access: Read, stream: None }

    /// `isoinfo_device` of an ISO image file inside the mounted guest.
    Isoinfo isoinfo(isofile: GuestPath) -> Isoinfo
        { group: files, access: Read, stream: None, needs: root }

    /// Streams a squashfs filesystem made of the directory `path` (mksquashfs);
    /// `compress`: `gzip` (the default), `lzma`, `lzo`, `lz4`, `xz`; `excludes`: wildcards
    /// of names to leave out.
    Mksquashfs mksquashfs(path: GuestPath) [compress: String, excludes: Vec<String>] -> ()
        { group: transfer, access: Read, stream: Output, needs: root }

    /// Streams the whole device `device` compressed with `ctype`, as `compress_out` does.
    CompressDeviceOut compress_device_out(ctype: String, device: Device) [level: i32] -> ()
        { group: transfer, access: Read, stream: Output }

    /// Streams the data units `start` to `stop` of the filesystem on `device` (sleuthkit's
    /// blkls); `unallocated:true`: only the unallocated ones.
    DownloadBlocks download_blocks(device: Device, start: i64, stop: i64) [unallocated: bool] -> ()
        { group: transfer, access: Read, stream: Output }

    /// Streams the content of inode `inode` of the filesystem on `device`, which need not be
    /// mounted; deleted files too (sleuthkit's icat).
    DownloadInode download_inode(device: Device, inode: i64) -> ()
        { group: transfer, access: Read, stream: Output }

    /// Streams the file of inode `inode` of the NTFS filesystem on `device` (unmounted),
    /// `$Extend` and the metafiles included (ntfs-3g's ntfscat; inode 0 is `$MFT`).
    NtfscatI ntfscat_i(device: Device, inode: i64) -> ()
        { group: transfer, access: Read, stream: Output }

    /// Streams the NTFS filesystem on `device` in ntfsclone's image format (`--save-image`);
    /// `metadataonly:true` leaves out the files' data. `rescue`, `ignorefscheck`,
    /// `preservetimestamps` and `force` are ntfsclone's options of those names.
    NtfscloneOut ntfsclone_out(device: Device) [metadataonly: bool, rescue: bool, ignorefscheck: bool, preservetimestamps: bool, force: bool] -> ()
        { group: transfer, access: Read, stream: Output }

    /// Restores an ntfsclone image (from `ntfsclone_out`) onto `device`, overwriting it.
    NtfscloneIn ntfsclone_in(device: Device) -> ()
        { group: transfer, access: Write, stream: Input }

    /// Every entry of the filesystem on `device` (unmounted), deleted ones included, as
    /// guestfish's `tsk_dirent` structs (sleuthkit's fls and ils).
    FilesystemWalk filesystem_walk(device: Device) -> Vec<TskDirent>
        { group: files, access: Read, stream: None }

    /// The entries of the filesystem on `device` that name inode `inode`.
    FindInode find_inode(device: Device, inode: i64) -> Vec<TskDirent>
        { group: files, access: Read, stream: None }

    /// The SELinux security context of the daemon.
    Getcon getcon() -> String
        { group: basic, access: Read, stream: None }

    /// Sets the SELinux security context of the daemon.
    Setcon setcon(context: String) -> ()
        { group: basic, access: Write, stream: None }

    /// Relabels the files below `path` with the SELinux spec file `specfile` (setfiles);
    /// `force:true` resets customizable files and every part of the context.
    SelinuxRelabel selinux_relabel(specfile: String, path: GuestPath) [force: bool] -> ()
        { group: files, access: Write, stream: None, needs: root }

    /// Grows the f2fs filesystem on `device` to the size of the device (resize.f2fs).
    F2fsExpand f2fs_expand(device: Device) -> ()
        { group: mkfs, access: Write, stream: None }

    /// Loads Yara rules (source or compiled with yarac) from the input stream, replacing
    /// rules loaded before.
    YaraLoad yara_load() -> ()
        { group: files, access: Read, stream: Input }

    /// Forgets the loaded Yara rules.
    YaraDestroy yara_destroy() -> ()
        { group: files, access: Read, stream: None }

    /// The loaded Yara rules that match the file `path` (guestfish's `yara_detection`
    /// structs).
    YaraScan yara_scan(path: GuestPath) -> Vec<YaraDetection>
        { group: files, access: Read, stream: None, needs: root }
    // ==== end of cmds-misc ====

    // ==== the last guestfish commands (cmds-last) ====
    /// Moves the end of partition `partnum` on `device` to sector `endsect` (inclusive), as
    /// parted's resizepart does. The filesystem inside is not touched: grow it afterwards,
    /// shrink it before.
    PartResize part_resize(device: Device, partnum: i32, endsect: i64) -> ()
        { group: partitions, access: Write, stream: None }

    /// Sets the disk GUID of the GPT on `device`. An MBR disk is an error.
    PartSetDiskGuid part_set_disk_guid(device: Disk, guid: String) -> ()
        { group: partitions, access: Write, stream: None }

    /// Gives the GPT on `device` a new random disk GUID.
    PartSetDiskGuidRandom part_set_disk_guid_random(device: Disk) -> ()
        { group: partitions, access: Write, stream: None }

    /// Sets the attribute bits of GPT partition `partnum` (bit 0 required by the platform,
    /// 2 legacy BIOS bootable, 60 read-only, 62 hidden, 63 no automount).
    PartSetGptAttributes part_set_gpt_attributes(device: Disk, partnum: i32, attributes: i64) -> ()
        { group: partitions, access: Write, stream: None }

    /// Sets the unique GUID of GPT partition `partnum`.
    PartSetGptGuid part_set_gpt_guid(device: Disk, partnum: i32, guid: String) -> ()
        { group: partitions, access: Write, stream: None }

    /// True if the appliance's kernel can mount filesystems of type `filesystem` (`ext4`,
    /// `vfat`), loading its module if needed. True does not promise a mkfs tool.
    FilesystemAvailable filesystem_available(filesystem: String) -> bool
        { group: basic, access: Read, stream: None }

    /// The software RAID array `md`'s member devices (guestfish's `mdstat` structs):
    /// index in the array and flags (`W` write-mostly, `F` faulty, `S` spare, `R`
    /// replacement).
    MdStat md_stat(md: Device) -> Vec<MdStat>
        { group: mdadm, access: Read, stream: None }

    /// The LVM metadata of volume group `vgname`, as LVM writes it (vgcfgbackup).
    Vgmeta vgmeta(vgname: String) -> Data
        { group: lvm, access: Read, stream: None }

    /// Lets LVM see only `devices` (whole disks with their partitions, or single
    /// partitions), deactivating every volume group first and scanning again after; useful
    /// when images hold duplicate PVs or VGs. No VG may be in use.
    LvmSetFilter lvm_set_filter(devices: Vec<Device>) -> ()
        { group: lvm, access: Read, stream: None }

    /// Undoes `lvm_set_filter`: LVM sees every attached device again.
    LvmClearFilter lvm_clear_filter() -> ()
        { group: lvm, access: Read, stream: None }

    /// Creates a directory to mount on, even before anything is mounted on `/` (an ISO
    /// on `/cd`, a squashfs inside it on `/sqsh`). Unmount by hand and `rmmountpoint` after.
    Mkmountpoint mkmountpoint(exemptpath: GuestPath) -> ()
        { group: mount, access: Read, stream: None }

    /// Removes a directory made with `mkmountpoint`.
    Rmmountpoint rmmountpoint(exemptpath: GuestPath) -> ()
        { group: mount, access: Read, stream: None }

    /// Mounts the filesystem image `file` (a guest path) on `mountpoint` through a loop
    /// device, as `mount -o loop` does.
    MountLoop mount_loop(file: GuestPath, mountpoint: GuestPath) -> ()
        { group: mount, access: Write, stream: None, needs: root }

    /// Remounts the filesystem on `mountpoint` read-write (`rw:true`) or read-only
    /// (`rw:false`); `rw` must be given.
    Remount remount(mountpoint: GuestPath) [rw: bool] -> ()
        { group: mount, access: Write, stream: None, needs: root }

    /// Unlocks the encrypted `device` (LUKS, or BitLocker with `crypttype:bitlk`) as
    /// `/dev/mapper/MAPNAME`; `readonly:true` maps it read-only. Without `crypttype`
    /// cryptsetup finds the type.
    CryptsetupOpen cryptsetup_open(device: Device, key: Secret, mapname: String) [readonly: bool, crypttype: String] -> ()
        { group: luks, access: Write, stream: None }

    /// Closes `/dev/mapper/MAPNAME` opened by `cryptsetup_open` or `luks_open`.
    CryptsetupClose cryptsetup_close(device: VolumeName) -> ()
        { group: luks, access: Read, stream: None }

    /// Feeds `lines` to sfdisk(8) to partition `device` (deprecated: use `part_add`).
    /// `cyls`, `heads` and `sectors` must be 0: today's sfdisk has no geometry options.
    Sfdisk sfdisk(device: Device, cyls: i32, heads: i32, sectors: i32, lines: Vec<String>) -> ()
        { group: partitions, access: Write, stream: None }

    /// Feeds `line` to sfdisk(8) for partition `partnum` alone (deprecated: use
    /// `part_add`).
    SfdiskN sfdisk_n(device: Device, partnum: i32, cyls: i32, heads: i32, sectors: i32, line: String) -> ()
        { group: partitions, access: Write, stream: None }

    /// The partition table of `device` as sfdisk -l prints it, for people (deprecated: use
    /// `part_list`).
    SfdiskL sfdisk_l(device: Device) -> String
        { group: partitions, access: Read, stream: None }

    /// sfdisk with sizes in megabytes (deprecated): today's sfdisk has no megabyte unit,
    /// so this always fails, as in guestfish 1.48.
    Sfdiskm sfdiskm(device: Device, lines: Vec<String>) -> ()
        { group: partitions, access: Write, stream: None }

    /// The kernel's idea of the geometry of `device` (sfdisk -g), for people.
    SfdiskKernelGeometry sfdisk_kernel_geometry(device: Device) -> String
        { group: partitions, access: Read, stream: None }

    /// The geometry of `device` (sfdisk -G, which today's sfdisk answers as -g).
    SfdiskDiskGeometry sfdisk_disk_geometry(device: Device) -> String
        { group: partitions, access: Read, stream: None }

    /// libguestfs's debugging command, in the appliance (not the guest): `sh CMD...` runs
    /// a shell command line there, `binaries` lists the programs it carries, `ldd FILE`
    /// the libraries one of them loads, `help` the subcommands.
    Debug debug(subcmd: String, extraargs: Vec<String>) -> String
        { group: commands, access: Read, stream: None }
    // ==== end of cmds-last ====

    /// Ends a job on an appliance that serves several in turn (`guestwright batch`):
    /// unmounts everything, closes LUKS volumes, stops md arrays, deactivates LVM, flushes
    /// the disks, drops the caches and unbinds the drives, then fails (EBUSY, naming what
    /// is left) unless nothing of the job remains: no mount, device-mapper, md or loop
    /// device, no holder of a drive. The host re-points the drive slots after it.
    DrivesRelease drives_release() -> ()
        { group: internal, access: Read, stream: None }

    /// Starts a job on an appliance that serves several in turn: binds the disk driver
    /// to the drive slots the host has just pointed at the job's images (so their size and
    /// partitions are read anew) and waits for the first `count` of them; returns how many
    /// disks there are.
    DrivesProbe drives_probe(count: i32) -> i32
        { group: internal, access: Read, stream: None }

    // ==== the FUSE mount's batches (issue 15) ====
    /// Reads whole small regular files in one call (the FUSE mount's small-file prefetch:
    /// one round trip for a directory's worth of files instead of one each). For each path,
    /// in order: its contents if it is a regular file of at most `maxsize` bytes (default
    /// 64 KiB, at most 4 MiB), else an errno (see `FileContent`); a symbolic link at the
    /// last component is never followed. The answer stops growing at 3 MiB of data: the
    /// paths after that get EAGAIN. At most 4096 paths.
    ReadFiles read_files(paths: Vec<GuestPath>) [maxsize: ByteSize] -> Vec<FileContent>
        { group: files, access: Read, stream: None, needs: root }

    /// Writes many ranges of an open file in one call (the FUSE mount's write-back: one
    /// round trip for the writes it gathered instead of one each). `data` holds the ranges'
    /// bytes one after the other; range i is `lengths[i]` bytes written at `offsets[i]`, in
    /// order, so a later range wins where two overlap. Returns the bytes written; the first
    /// range that fails stops the call with its errno (the ranges before it are written).
    /// At most 4096 ranges, and the lengths must add up to the size of `data`.
    FhWriteRanges fh_write_ranges(handle: FileHandle, offsets: Vec<ByteSize>, lengths: Vec<ByteSize>, data: Data) -> u64
        { group: handles, access: Write, stream: None }
    // ==== end of the FUSE mount's batches ====

    // ==== LUKS volumes unlocked by the host (issue 12) ====
    /// The key slots, digest and data segment of the LUKS header of `device`, parsed in the
    /// appliance, with the encrypted key slot areas (bounded), so that the host can derive
    /// the volume key itself; `Unsupported` for what it does not handle (the host then uses
    /// `luks_open`).
    LuksKeyslots luks_keyslots(device: Device) -> LuksUnlockInfo
        { group: internal, access: Read, stream: None }

    /// Opens the LUKS volume `device` as `/dev/mapper/{mapname}` with its volume key (never
    /// printed or logged), checked by the host against the header's digest; the dm-crypt
    /// table comes from the segment the appliance parses itself.
    LuksOpenVolumeKey luks_open_volume_key(device: Device, key: Secret, mapname: String, readonly: bool) -> ()
        { group: internal, access: Read, stream: None }
    // ==== end of LUKS volumes unlocked by the host ====

    // ==== bootloaders and 9p (issue 11) ====
    /// List 9p filesystems.
    ///
    /// This call does nothing and returns an error: libguestfs 1.48 removed 9p support.
    /// Deprecated, with no replacement.
    List9p list_9p() -> Vec<String>
        { group: mount, access: Read, stream: None }

    /// Mount a 9p filesystem.
    ///
    /// This call does nothing and returns an error: libguestfs 1.48 removed 9p support.
    /// Deprecated, with no replacement.
    Mount9p mount_9p(mounttag: String, mountpoint: String) [options: String] -> ()
        { group: mount, access: Write, stream: None }

    /// Install the SYSLINUX bootloader.
    ///
    /// Installs it on `device`: a whole disk or a partition holding a
    /// FAT filesystem (not mounted). For a partition, mark it active
    /// (`part_set_bootable`) and put a master boot record on the disk's first sector (for
    /// example with `pwrite_device`; SYSLINUX comes with suitable ones); see syslinux(1).
    /// `directory:` installs it in that subdirectory of the filesystem instead of its root.
    /// SYSLINUX reads further configuration from `syslinux.cfg` in the root or in that
    /// directory. Runs the host's syslinux (package syslinux, with mtools), carried into
    /// the appliance. See also `extlinux`.
    Syslinux syslinux(device: Device) [directory: String] -> ()
        { group: boot, access: Write, stream: None }

    /// Install the SYSLINUX bootloader on an ext2/3/4 or btrfs filesystem.
    ///
    /// Installs it on the filesystem mounted at `directory` (a
    /// mountpoint or a directory inside it): ext2/3/4 or btrfs, where `syslinux` needs
    /// FAT. Mark the partition active (`part_set_bootable`) and put a master boot record on
    /// the disk's first sector (for example with `pwrite_device`; SYSLINUX comes with
    /// suitable ones); see extlinux(1). Further configuration goes in `extlinux.conf` under
    /// `directory`. Runs the host's extlinux (package extlinux), carried into the
    /// appliance. See also `syslinux`.
    Extlinux extlinux(directory: GuestPath) -> ()
        { group: boot, access: Write, stream: None, needs: root }
    // ==== end of bootloaders and 9p ====

    // ==== Windows dynamic disks, rsync and grub-install (issue 11) ====
    /// List all Windows dynamic disk volumes.
    ///
    /// Returns the device names (`/dev/mapper/ldm_vol_*`) of the Windows dynamic disk
    /// volumes: those `ldmtool_create_all` made, which the first call of this or
    /// `list_ldm_partitions` does once, as libguestfs does at launch.
    ListLdmVolumes list_ldm_volumes() -> Vec<String>
        { group: ldm, access: Read, stream: None }

    /// List all Windows dynamic disk partitions.
    ///
    /// Returns the device names (`/dev/mapper/ldm_part_*`) of the Windows dynamic disk
    /// partitions: those `ldmtool_create_all` made, which the first call of this or
    /// `list_ldm_volumes` does once, as libguestfs does at launch.
    ListLdmPartitions list_ldm_partitions() -> Vec<String>
        { group: ldm, access: Read, stream: None }

    /// Scan and create Windows dynamic disk volumes.
    ///
    /// Scans all block devices for Windows dynamic disk volumes and partitions, and
    /// creates device-mapper devices for any that were found; `list_ldm_volumes` and
    /// `list_ldm_partitions` return them. Runs the host's ldmtool (package ldmtool),
    /// carried into the appliance.
    LdmtoolCreateAll ldmtool_create_all() -> ()
        { group: ldm, access: Write, stream: None }

    /// Remove all Windows dynamic disk volumes.
    ///
    /// The opposite of `ldmtool_create_all`: removes the device-mapper devices of every
    /// Windows dynamic disk volume.
    LdmtoolRemoveAll ldmtool_remove_all() -> ()
        { group: ldm, access: Write, stream: None }

    /// Scan for Windows dynamic disks.
    ///
    /// Scans all block devices and returns the identifiers (GUIDs) of the disk groups
    /// found, for the other `ldmtool_*` calls. `ldmtool_scan_devices` scans only some
    /// devices.
    LdmtoolScan ldmtool_scan() -> Vec<String>
        { group: ldm, access: Read, stream: None }

    /// Scan some devices for Windows dynamic disks.
    ///
    /// Scans `devices` (all block devices when the list is empty) and returns the
    /// identifiers (GUIDs) of the disk groups found, for the other `ldmtool_*` calls.
    LdmtoolScanDevices ldmtool_scan_devices(devices: Vec<Device>) -> Vec<String>
        { group: ldm, access: Read, stream: None }

    /// The name of a Windows dynamic disk group.
    ///
    /// `diskgroup` is a disk group's GUID, as `ldmtool_scan` returns it.
    LdmtoolDiskgroupName ldmtool_diskgroup_name(diskgroup: String) -> String
        { group: ldm, access: Read, stream: None }

    /// The volumes of a Windows dynamic disk group.
    ///
    /// `diskgroup` is a disk group's GUID, as `ldmtool_scan` returns it.
    LdmtoolDiskgroupVolumes ldmtool_diskgroup_volumes(diskgroup: String) -> Vec<String>
        { group: ldm, access: Read, stream: None }

    /// The disks of a Windows dynamic disk group.
    ///
    /// `diskgroup` is a disk group's GUID, as `ldmtool_scan` returns it.
    LdmtoolDiskgroupDisks ldmtool_diskgroup_disks(diskgroup: String) -> Vec<String>
        { group: ldm, access: Read, stream: None }

    /// The type of a Windows dynamic disk volume.
    ///
    /// The type of the volume named `volume` in the disk group whose GUID is `diskgroup`:
    /// `simple`, `spanned`, `striped`, `mirrored`, `raid5` or another.
    LdmtoolVolumeType ldmtool_volume_type(diskgroup: String, volume: String) -> String
        { group: ldm, access: Read, stream: None }

    /// The hint of a Windows dynamic disk volume.
    ///
    /// The hint field of the volume named `volume` in the disk group whose GUID is
    /// `diskgroup`, often (not always) a Windows drive such as `E:`; empty when the volume
    /// has none.
    LdmtoolVolumeHint ldmtool_volume_hint(diskgroup: String, volume: String) -> String
        { group: ldm, access: Read, stream: None }

    /// The partitions of a Windows dynamic disk volume.
    ///
    /// The partitions of the volume named `volume` in the disk group whose GUID is
    /// `diskgroup`.
    LdmtoolVolumePartitions ldmtool_volume_partitions(diskgroup: String, volume: String) -> Vec<String>
        { group: ldm, access: Read, stream: None }

    /// Synchronize the contents of two directories.
    ///
    /// Copies `src` to `dest` inside the guest with rsync(1), which skips files that are
    /// already the same. As with rsync, a trailing `/` on `src` copies its contents rather
    /// than the directory itself. `archive:true` is rsync's `--archive`;
    /// `deletedest:true` deletes files at the destination that are not at the source.
    /// Runs the host's rsync (package rsync), carried into the appliance.
    Rsync rsync(src: GuestPath, dest: GuestPath) [archive: bool, deletedest: bool] -> ()
        { group: rsync, access: Write, stream: None, needs: root }

    /// Synchronize a remote rsync server's files into the guest.
    ///
    /// Copies from `remote`, in rsync(1)'s syntax (`rsync://HOST[:PORT]/MODULE/PATH`), to
    /// `dest` in the guest. Needs the appliance's network (`--network`, `set_network`); the
    /// host's own loopback is 169.254.2.2 from the appliance, as in libguestfs. There is no way to give a
    /// password: the server must not ask for one. The optional arguments are `rsync`'s.
    RsyncIn rsync_in(remote: String, dest: GuestPath) [archive: bool, deletedest: bool] -> ()
        { group: rsync, access: Write, stream: None, needs: root }

    /// Synchronize the guest's files to a remote rsync server.
    ///
    /// Copies `src` in the guest to `remote`, in rsync(1)'s syntax
    /// (`rsync://HOST[:PORT]/MODULE/PATH`). Needs the appliance's network (`--network`,
    /// `set_network`); the host's own loopback is 169.254.2.2 from the appliance, as in libguestfs. There is no
    /// way to give a password: the server must not ask for one. `src` is not globbed (in the
    /// shell: `glob rsync-out /* rsync://remote/`). The optional arguments are `rsync`'s.
    RsyncOut rsync_out(src: GuestPath, remote: String) [archive: bool, deletedest: bool] -> ()
        { group: rsync, access: Read, stream: None, needs: root }

    /// Install GRUB on a disk (BIOS, i386-pc).
    ///
    /// Runs grub-install for the i386-pc platform on `device`, with its boot directory
    /// `root/boot` in the guest (`root` is usually `/`): GRUB's boot code goes in the
    /// device's first sector and its core image after it (a partitioned disk needs room
    /// before its first partition), and its modules in `root/boot/grub/i386-pc`. It writes
    /// no `grub.cfg`. Runs the host's grub-install (packages grub-pc-bin and grub-common),
    /// carried into the appliance with GRUB's i386-pc modules.
    GrubInstall grub_install(root: GuestPath, device: Device) -> ()
        { group: boot, access: Write, stream: None, needs: root }
    // ==== end of Windows dynamic disks, rsync and grub-install ====
}
