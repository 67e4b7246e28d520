//! libguestfs's names for operations the table names otherwise, shared by the front ends
//! that speak libguestfs's language: the shell (guestfish's commands) and the Python binding
//! (`guestfs.GuestFS`'s methods). Names only: the operation is the table's.

/// guestfish's names for operations the table names otherwise, so that guestfish scripts
/// (and libguestfs's Python callers) run unchanged. Names only: the operation is the table's.
pub const GUESTFISH_NAMES: &[(&str, &str)] = &[
    ("cat", "read_file"),
    ("write", "write_file"),
    ("unmount", "umount"),
    ("unmount_all", "umount_all"),
    ("get_e2label", "vfs_label"),
    ("get_e2uuid", "vfs_uuid"),
    ("set_e2label", "set_label"),
    ("set_e2uuid", "set_uuid"),
    ("ping_daemon", "ping"),
    ("get_uuid", "vfs_uuid"),
    // guestfish's upper-case names (the table's are lower case).
    ("mke2fs_J", "mke2fs_j"),
    ("mke2fs_JL", "mke2fs_jl"),
    ("mke2fs_JU", "mke2fs_ju"),
    ("mke2journal_L", "mke2journal_l"),
    ("mke2journal_U", "mke2journal_u"),
    ("mkswap_L", "mkswap_l"),
    ("mkswap_U", "mkswap_u"),
    ("resize2fs_M", "resize2fs_m"),
    // cmds-btrfs
    ("btrfs_balance", "btrfs_filesystem_balance"),
    ("btrfs_subvolume_create_opts", "btrfs_subvolume_create"),
    ("btrfs_subvolume_snapshot_opts", "btrfs_subvolume_snapshot"),
    // cmds-last: the sfdisk family's mixed-case names.
    ("sfdisk_N", "sfdisk_n"),
    ("sfdiskM", "sfdiskm"),
];

/// guestfish names whose result guestfish prints as a string where the table's operation
/// returns bytes: what precedes the first NUL byte, then a newline. So `cat` of a file without
/// a final newline still ends the line, and `cat` of `a\n` prints an empty line after it, as
/// in guestfish; `read-file` prints the bytes as they are.
pub const STRING_RESULTS: &[&str] = &["cat"];
