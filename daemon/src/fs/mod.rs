//! The guest's filesystems: mounting them under the guest root, resolving guest paths beneath
//! it, and the operations on files, directories and attributes; making and checking
//! filesystems; running guest programs. Every guest path is opened beneath the root
//! (`guestfs`), never joined into a string.

pub mod attrs;
pub mod bootloader;
pub mod command;
pub mod df;
pub mod dirs;
pub mod ext;
pub mod fileops;
pub mod files;
pub mod glob;
pub mod guestfs;
pub mod lists;
pub mod mkfs;
pub mod mounts;
pub mod replace;
pub mod text;
pub mod tree;
pub mod walk;
// cmds-files
pub mod acl;
pub mod extra;
pub mod notify;
// cmds-libs
pub mod augeas;
pub mod clib;
pub mod hivex;
pub mod journal;
// cmds-btrfs
pub mod btrfs;
pub mod xfs;
// cmds-misc
pub mod ntfs;
pub mod selinux;
pub mod tsk;
pub mod yara;
