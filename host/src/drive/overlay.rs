//! The throw-away qcow2 overlay that makes a read-only drive writable for the appliance
//! (journal replay, a `mount` that writes) while the image's bytes never change.
//!
//! The overlay is written here rather than by `qemu-img create`: it is four clusters of
//! fixed structure, and writing them costs microseconds where a process costs tens of
//! milliseconds of every read-only launch. Its backing is given to QEMU as a `-blockdev`
//! node, so the header names no backing file and nothing is ever probed.

use std::fs::File;
use std::io::{self, Write};
use std::path::Path;

const CLUSTER_BITS: u32 = 16;
const CLUSTER: u64 = 1 << CLUSTER_BITS;

/// Writes an empty qcow2 v3 image of `size` bytes at `path` (which must not exist).
///
/// The size is rounded up to whole 512-byte sectors, as QEMU presents a raw image whose
/// length is not a multiple of 512.
pub fn create(path: &Path, size: u64) -> io::Result<()> {
    write_image(path, size, None)
}

/// Writes an empty qcow2 v3 image at `path` (which must not exist) backed by the file
/// `backing` (stored as given: a relative name is relative to `path`'s directory) of format
/// `backing_format` (`raw` or `qcow2`), recorded in a backing-format header extension so
/// nothing ever has to probe it. This is `qemu-img create -f qcow2 -F FMT -b BACKING`.
pub fn create_backed(
    path: &Path,
    size: u64,
    backing: &[u8],
    backing_format: &str,
) -> io::Result<()> {
    write_image(path, size, Some((backing, backing_format)))
}

/// The qcow2 header extension that records the backing file's format.
const EXT_BACKING_FORMAT: u32 = 0xe279_2aca;
/// QEMU refuses longer backing file names.
const MAX_BACKING_NAME: usize = 1023;

fn write_image(path: &Path, size: u64, backing: Option<(&[u8], &str)>) -> io::Result<()> {
    let size = size.div_ceil(512) * 512;
    // One L2 table maps CLUSTER/8 clusters; the L1 table needs one entry per L2 table.
    let l2_span = (CLUSTER / 8) * CLUSTER;
    let l1_entries = size.div_ceil(l2_span).max(1);
    let l1_clusters = (l1_entries * 8).div_ceil(CLUSTER);
    // Layout: header | refcount table | refcount block | L1 table.
    let (reftable, refblock, l1) = (CLUSTER, 2 * CLUSTER, 3 * CLUSTER);
    let total_clusters = 3 + l1_clusters;
    // 16-bit refcounts: one refcount block covers CLUSTER/2 clusters, plenty for the
    // metadata of any overlay up to the qcow2 size limit.
    if total_clusters > CLUSTER / 2 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "disk too large for an overlay",
        ));
    }

    let mut header = vec![0u8; CLUSTER as usize];
    let put32 = |h: &mut [u8], at: usize, v: u32| h[at..at + 4].copy_from_slice(&v.to_be_bytes());
    let put64 = |h: &mut [u8], at: usize, v: u64| h[at..at + 8].copy_from_slice(&v.to_be_bytes());
    header[0..4].copy_from_slice(b"QFI\xfb");
    put32(&mut header, 4, 3); // version
    put32(&mut header, 20, CLUSTER_BITS);
    put64(&mut header, 24, size);
    put32(&mut header, 36, l1_entries as u32);
    put64(&mut header, 40, l1);
    put64(&mut header, 48, reftable);
    put32(&mut header, 56, 1); // refcount table clusters
    put32(&mut header, 96, 4); // refcount_order: 16-bit
    put32(&mut header, 100, 104); // header length
    if let Some((name, format)) = backing {
        if name.is_empty() || name.len() > MAX_BACKING_NAME || name.contains(&0) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("a backing file name must be 1 to {MAX_BACKING_NAME} bytes without NUL"),
            ));
        }
        // Extensions from byte 104: the backing format, padded to 8 bytes, then the end
        // marker (8 zero bytes); the backing file name follows them.
        let fmt = format.as_bytes();
        let mut at = 104;
        put32(&mut header, at, EXT_BACKING_FORMAT);
        put32(&mut header, at + 4, fmt.len() as u32);
        header[at + 8..at + 8 + fmt.len()].copy_from_slice(fmt);
        at += 8 + fmt.len().div_ceil(8) * 8;
        at += 8; // end marker, already zero
        header[at..at + name.len()].copy_from_slice(name);
        put64(&mut header, 8, at as u64);
        put32(&mut header, 16, name.len() as u32);
    }
    // Without a backing file, the extension area holds only the end marker (zeros).

    let mut table = vec![0u8; CLUSTER as usize];
    put64(&mut table, 0, refblock);
    let mut block = vec![0u8; CLUSTER as usize];
    for cluster in 0..total_clusters as usize {
        block[cluster * 2..cluster * 2 + 2].copy_from_slice(&1u16.to_be_bytes());
    }

    let mut f = File::options().write(true).create_new(true).open(path)?;
    f.write_all(&header)?;
    f.write_all(&table)?;
    f.write_all(&block)?;
    f.set_len(l1 + l1_clusters * CLUSTER)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    #[test]
    fn qemu_img_check_accepts_the_overlay() {
        let dir = tempfile::tempdir().unwrap();
        for size in [0u64, 512, 1 << 20, (512 << 20) + 1, 3 << 40] {
            let path = dir.path().join(format!("o-{size}.qcow2"));
            create(&path, size).unwrap();
            let out = Command::new("qemu-img")
                .args(["check", "--output=json", "-f", "qcow2"])
                .arg(&path)
                .output()
                .expect("qemu-img is needed: apt-get install qemu-utils");
            let text = String::from_utf8_lossy(&out.stdout);
            assert!(
                out.status.success(),
                "size {size}: {text} {}",
                String::from_utf8_lossy(&out.stderr)
            );
            let info = Command::new("qemu-img")
                .args(["info", "--output=json", "-f", "qcow2"])
                .arg(&path)
                .output()
                .unwrap();
            let info = String::from_utf8_lossy(&info.stdout);
            let want = size.div_ceil(512) * 512;
            assert!(
                info.contains(&format!("\"virtual-size\": {want}")),
                "size {size}: {info}"
            );
        }
        assert!(
            create(&dir.path().join("o-0.qcow2"), 1).is_err(),
            "never overwrites"
        );
    }

    #[test]
    fn a_backed_overlay_records_its_backing_file_and_format() {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path().join("base.raw");
        std::fs::write(&base, vec![7u8; 1 << 20]).unwrap();
        let top = dir.path().join("top.qcow2");
        create_backed(&top, 1 << 20, b"base.raw", "raw").unwrap();
        let info = Command::new("qemu-img")
            .args(["info", "--output=json", "-f", "qcow2"])
            .arg(&top)
            .output()
            .expect("qemu-img is needed: apt-get install qemu-utils");
        let info = String::from_utf8_lossy(&info.stdout);
        assert!(
            info.contains("\"backing-filename\": \"base.raw\""),
            "{info}"
        );
        assert!(
            info.contains("\"backing-filename-format\": \"raw\""),
            "{info}"
        );
        let check = Command::new("qemu-img")
            .args(["check", "-f", "qcow2"])
            .arg(&top)
            .output()
            .unwrap();
        assert!(
            check.status.success(),
            "{}",
            String::from_utf8_lossy(&check.stdout)
        );
        // The guest sees the base's bytes through the overlay.
        let out = dir.path().join("out.raw");
        let conv = Command::new("qemu-img")
            .args(["convert", "-f", "qcow2", "-O", "raw"])
            .arg(&top)
            .arg(&out)
            .output()
            .unwrap();
        assert!(
            conv.status.success(),
            "{}",
            String::from_utf8_lossy(&conv.stderr)
        );
        assert_eq!(std::fs::read(&out).unwrap(), vec![7u8; 1 << 20]);
        assert!(create_backed(&dir.path().join("x.qcow2"), 512, b"", "raw").is_err());
    }
}
