//! Operations that move unbounded data between the host and the guest as a stream: uploads
//! and downloads, tar archives, checksums of trees, copies, and the transfer disk.

pub mod checksum;
pub mod copy;
pub mod tario;
pub mod transfer;
// cmds-files
pub mod encode;
// cmds-misc
pub mod piped;
// issue 11: rsync, rsync-in, rsync-out
pub mod rsync;
