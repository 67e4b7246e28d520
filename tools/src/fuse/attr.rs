//! Conversions between the protocol's types and fuser's: attributes, file kinds, device
//! numbers, times and errnos.

use fuser::{FileAttr, FileType, TimeOrNow};
use guestwright::protocol::{FileKind, Stat};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The errno a FUSE reply carries for a library error (EIO when the appliance is gone).
pub fn errno(e: &guestwright::Error) -> i32 {
    e.as_errno().raw()
}

/// fuser's file type of a mode.
pub fn file_type(mode: u32) -> FileType {
    match FileKind::from_mode(mode) {
        FileKind::Directory => FileType::Directory,
        FileKind::Symlink => FileType::Symlink,
        FileKind::BlockDevice => FileType::BlockDevice,
        FileKind::CharDevice => FileType::CharDevice,
        FileKind::Fifo => FileType::NamedPipe,
        FileKind::Socket => FileType::Socket,
        FileKind::Regular | FileKind::Unknown => FileType::RegularFile,
    }
}

fn time(secs: i64, nsecs: i64) -> SystemTime {
    let nsecs = nsecs.clamp(0, 999_999_999) as u32;
    if secs >= 0 {
        UNIX_EPOCH + Duration::new(secs as u64, nsecs)
    } else {
        UNIX_EPOCH - Duration::from_secs(secs.unsigned_abs()) + Duration::new(0, nsecs)
    }
}

/// The kernel's 32-bit encoding of a device number (`new_encode_dev`).
pub fn encode_dev(major: u32, minor: u32) -> u32 {
    (minor & 0xff) | ((major & 0xfff) << 8) | ((minor & !0xff) << 12)
}

/// Splits the kernel's 32-bit device number into major and minor.
pub fn decode_dev(rdev: u32) -> (u32, u32) {
    (
        (rdev & 0xfff00) >> 8,
        (rdev & 0xff) | ((rdev >> 12) & 0xfff00),
    )
}

/// The attributes FUSE shows for node `id` with guest attributes `st`.
pub fn file_attr(id: u64, st: &Stat) -> FileAttr {
    FileAttr {
        ino: id,
        size: st.size,
        blocks: st.blocks,
        atime: time(st.atime, st.atime_nsec),
        mtime: time(st.mtime, st.mtime_nsec),
        ctime: time(st.ctime, st.ctime_nsec),
        crtime: UNIX_EPOCH,
        kind: file_type(st.mode),
        perm: (st.mode & 0o7777) as u16,
        nlink: st.nlink.min(u32::MAX as u64) as u32,
        uid: st.uid,
        gid: st.gid,
        rdev: encode_dev(st.rdev_major(), st.rdev_minor()),
        blksize: st.blksize.min(u32::MAX as u64) as u32,
        flags: 0,
    }
}

/// A negative entry: the kernel remembers for the entry timeout that the name is absent.
pub fn negative() -> FileAttr {
    file_attr(0, &Stat::default())
}

/// `utimensat` seconds and nanoseconds for a FUSE time: -1 nanoseconds is "now", -2 "leave".
pub fn utime(t: Option<TimeOrNow>) -> (i64, i64) {
    match t {
        None => (0, -2),
        Some(TimeOrNow::Now) => (0, -1),
        Some(TimeOrNow::SpecificTime(t)) => match t.duration_since(UNIX_EPOCH) {
            Ok(d) => (d.as_secs() as i64, i64::from(d.subsec_nanos())),
            Err(e) => {
                let d = e.duration();
                let (s, n) = (d.as_secs() as i64, i64::from(d.subsec_nanos()));
                if n == 0 {
                    (-s, 0)
                } else {
                    (-s - 1, 1_000_000_000 - n)
                }
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_numbers_round_trip() {
        for (ma, mi) in [(8, 1), (1, 3), (259, 0), (4095, 1_048_575), (0, 256)] {
            assert_eq!(decode_dev(encode_dev(ma, mi)), (ma, mi));
        }
        // /dev/sda1 is 8:1 = 0x801.
        assert_eq!(encode_dev(8, 1), 0x801);
    }

    #[test]
    fn times_round_trip_before_and_after_the_epoch() {
        for (s, n) in [
            (0, 0),
            (1_700_000_000, 123_456_789),
            (-1, 500_000_000),
            (-86400, 0),
        ] {
            let t = time(s, n);
            assert_eq!(utime(Some(TimeOrNow::SpecificTime(t))), (s, n));
        }
        assert_eq!(utime(None), (0, -2));
        assert_eq!(utime(Some(TimeOrNow::Now)), (0, -1));
    }

    #[test]
    fn attributes_carry_mode_owner_and_kind() {
        let st = Stat {
            mode: 0o104755,
            uid: 1000,
            gid: 100,
            nlink: 2,
            size: 5,
            ..Stat::default()
        };
        let a = file_attr(42, &st);
        assert_eq!(
            (a.ino, a.perm, a.uid, a.gid, a.nlink),
            (42, 0o4755, 1000, 100, 2)
        );
        assert_eq!(a.kind, FileType::RegularFile);
        assert_eq!(file_type(0o120777), FileType::Symlink);
    }
}
