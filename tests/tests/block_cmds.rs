//! guestfish's commands that clean or copy raw bytes, checked in the image files on the host,
//! where the golden outputs cannot show the effect: a deleted file's bytes are gone from the
//! image after `zerofree` (and, but for ext4's reserved pool, after `zero-free-space`), a device overwritten with
//! `scrub-device` no longer holds what was written to it, and the filesystems stay clean
//! (`e2fsck -fn`); `copy-device-to-device` with offsets and `sparse:true` writes exactly the
//! bytes it should. One launch for all of it.

use guestwright::prelude::*;
use guestwright_tests::*;
use std::path::Path;
use std::process::Command;

const MIB: u64 = 1 << 20;

fn blank(dir: &Path, name: &str, size: u64) -> std::path::PathBuf {
    let img = dir.join(name);
    std::fs::File::create(&img).unwrap().set_len(size).unwrap();
    img
}

/// A recognisable pattern that no filesystem metadata contains.
fn secret(len: usize) -> Vec<u8> {
    b"guestwright-SECRET-0123456789\n"
        .iter()
        .copied()
        .cycle()
        .take(len)
        .collect()
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn cleaned_bytes_are_gone_from_the_images_and_copies_are_exact() {
    require("e2fsck", "e2fsprogs");
    let dir = tempfile::tempdir().unwrap();
    let zfs = blank(dir.path(), "zero-free-space.img", 32 * MIB);
    let zf = blank(dir.path(), "zerofree.img", 32 * MIB);
    let scrub = blank(dir.path(), "scrub.img", 4 * MIB);
    let copy = blank(dir.path(), "copy.img", 4 * MIB);
    let needle = b"guestwright-SECRET-0123456789";
    {
        let h = launch(&[
            (&zfs, DriveOptions::readwrite()),
            (&zf, DriveOptions::readwrite()),
            (&scrub, DriveOptions::readwrite()),
            (&copy, DriveOptions::readwrite()),
        ]);
        for dev in ["/dev/sda", "/dev/sdb"] {
            h.mkfs("ext4", dev).check("mkfs");
            h.mount(dev, "/").check("mount");
            h.write_file("/secret", secret(2 * MIB as usize))
                .check("write");
            h.sync().check("sync");
            h.umount_all().check("umount");
            // The bytes are on the disk before it is cleaned, so their absence later means
            // something.
            let found = (0..8).any(|i| {
                let chunk = h
                    .pread_device(dev, 4 << 20, i * (4 << 20))
                    .check("pread_device");
                contains(&chunk.0, needle)
            });
            assert!(found, "{dev}: the written file is not on the disk");
        }
        for dev in ["/dev/sda", "/dev/sdb"] {
            h.mount(dev, "/").check("mount");
            h.rm("/secret").check("rm");
            if dev == "/dev/sda" {
                h.zero_free_space("/").check("zero_free_space");
                assert_eq!(h.ls("/").check("ls").len(), 1, "only lost+found is left");
            }
            h.umount_all().check("umount");
        }
        h.zerofree("/dev/sdb").check("zerofree");

        h.pwrite_device("/dev/sdc", secret(4096), 8192)
            .check("pwrite_device");
        h.scrub_device("/dev/sdc").check("scrub_device");

        // copy.img: 1 MiB of the pattern at 0, then copy 4096 bytes of it from offset 10 to
        // offset 2 MiB, and a block of zeroes sparsely over the pattern (left as it was).
        h.pwrite_device("/dev/sdd", secret(MIB as usize), 0)
            .check("pwrite_device");
        h.run(
            args::CopyDeviceToDevice::new("/dev/sdd", "/dev/sdd")
                .srcoffset(10)
                .destoffset(2 * MIB as i64)
                .size(4096),
        )
        .check("copy_device_to_device");
        h.run(
            args::CopyDeviceToDevice::new("/dev/sdd", "/dev/sdd")
                .srcoffset(3 * MIB as i64)
                .destoffset(0)
                .size(65536)
                .sparse(true),
        )
        .check("copy_device_to_device sparse");
        let e = h
            .run(
                args::CopyDeviceToDevice::new("/dev/sdd", "/dev/sdd")
                    .srcoffset(4 * MIB as i64 - 10)
                    .destoffset(3 * MIB as i64)
                    .size(20),
            )
            .unwrap_err();
        assert!(
            guestwright::error::chain(&e).contains("input too short"),
            "{}",
            guestwright::error::chain(&e)
        );
    }
    // zerofree clears every free block. zero-free-space fills the filesystem with a file of
    // zeroes as guestfish does, which cannot reach ext4's pool of reserved clusters (2% of
    // the blocks, kept for delayed allocation): what it leaves must fit in that pool.
    let count = |img: &Path| {
        let bytes = std::fs::read(img).unwrap();
        bytes.windows(needle.len()).filter(|w| *w == needle).count()
    };
    let written = 2 * MIB as usize / 30;
    let left = count(&zfs);
    assert!(
        left * 30 <= (32 * MIB as usize) / 50 + 4096 && left < written / 2,
        "zero-free-space left {left} of {written} copies of the pattern"
    );
    assert_eq!(count(&zf), 0, "zerofree left the deleted file's bytes");
    for img in [&zfs, &zf] {
        run(Command::new("e2fsck").arg("-fn").arg(img));
    }
    let bytes = std::fs::read(&scrub).unwrap();
    assert!(!contains(&bytes, needle), "scrub-device left the data");

    let bytes = std::fs::read(&copy).unwrap();
    let pattern = secret(MIB as usize);
    assert_eq!(
        &bytes[..MIB as usize],
        &pattern[..],
        "sparse copy wrote zeroes"
    );
    assert_eq!(
        &bytes[2 * MIB as usize..2 * MIB as usize + 4096],
        &pattern[10..4106]
    );
    assert!(bytes[2 * MIB as usize + 4096..3 * MIB as usize]
        .iter()
        .all(|&b| b == 0));
}
