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
                                  // Header extension area: only the end marker (zeros) follows.

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
}
