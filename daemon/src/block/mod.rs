//! Block devices: the disks the host added, their partition tables, LVM and LUKS, and what
//! the superblock probes find on them. Nothing here looks inside a mounted filesystem.

pub mod blockdev;
pub mod copydev;
pub mod devices;
pub mod fsinfo;
pub mod isoinfo;
pub mod ldm;
pub mod luks;
pub mod luksmeta;
pub mod lvm;
pub mod md;
pub mod names;
pub mod parts;
pub mod sfdisk;
pub mod swap;
