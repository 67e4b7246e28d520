//! The device as the probes see it: positioned reads that say "not there" instead of failing
//! when a range lies past the end, with a cap on how much one probe may read.
//!
//! The first [`HEAD`] bytes are read once and served from memory, since nearly every signature
//! lives there and every probe looks at them. Reads elsewhere go to the device. A read past the
//! end of the device, or past the end of what the device actually delivers (a size that lies),
//! is `Ok(None)`: for a probe that means "no match", never an error. Only real I/O errors are
//! errors.

use std::io::{self, Read, Seek, SeekFrom};

/// Bytes read up front: covers the boot sector, ext's superblock at 1 KiB, the ISO 9660
/// descriptors from 32 KiB, btrfs at 64 KiB and the largest swap page.
pub(super) const HEAD: usize = 128 * 1024;
/// The largest single read a probe may ask for. On-disk lengths that would need more are
/// implausible and make the probe fail to match.
pub(super) const MAX_READ: usize = 1024 * 1024;
/// How many bytes beyond the head one call of [`super::probe`] may read in all. This bounds
/// the work a hostile image can cause (FAT and exFAT directory walks, LUKS2 backup headers).
const BUDGET: u64 = 16 * 1024 * 1024;

/// Anything the probes can read from.
pub(super) trait ReadSeek: Read + Seek {}
impl<T: Read + Seek> ReadSeek for T {}

/// A device under probe.
pub(super) struct Dev<'a> {
    inner: &'a mut dyn ReadSeek,
    size: u64,
    head: Vec<u8>,
    budget: u64,
}

impl std::fmt::Debug for Dev<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dev")
            .field("size", &self.size)
            .field("head", &self.head.len())
            .finish()
    }
}

impl<'a> Dev<'a> {
    /// Wraps `inner`, which claims to be `size` bytes long, and reads its head.
    pub(super) fn new(inner: &'a mut dyn ReadSeek, size: u64) -> io::Result<Self> {
        let want = usize::try_from(size).unwrap_or(usize::MAX).min(HEAD);
        let mut head = vec![0u8; want];
        inner.seek(SeekFrom::Start(0))?;
        let mut got = 0usize;
        while let Some(rest) = head.get_mut(got..) {
            if rest.is_empty() {
                break;
            }
            match inner.read(rest) {
                Ok(0) => break,
                Ok(n) => got = got.saturating_add(n),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        head.truncate(got);
        // A device that ends before its claimed size is as long as what it delivered.
        let size = if got < want { got as u64 } else { size };
        Ok(Dev {
            inner,
            size,
            head,
            budget: BUDGET,
        })
    }

    /// The device's size in bytes.
    pub(super) fn size(&self) -> u64 {
        self.size
    }

    /// `len` bytes at `off`, or `None` when the device does not hold them, `len` exceeds
    /// [`MAX_READ`] or the probe's read budget is spent.
    pub(super) fn read(&mut self, off: u64, len: usize) -> io::Result<Option<Vec<u8>>> {
        if len > MAX_READ {
            return Ok(None);
        }
        let Some(end) = off.checked_add(len as u64) else {
            return Ok(None);
        };
        if end > self.size {
            return Ok(None);
        }
        if let (Ok(start), Ok(end)) = (usize::try_from(off), usize::try_from(end)) {
            if let Some(bytes) = self.head.get(start..end) {
                return Ok(Some(bytes.to_vec()));
            }
        }
        let Some(budget) = self.budget.checked_sub(len as u64) else {
            return Ok(None);
        };
        self.budget = budget;
        let mut buf = vec![0u8; len];
        self.inner.seek(SeekFrom::Start(off))?;
        match self.inner.read_exact(&mut buf) {
            Ok(()) => Ok(Some(buf)),
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The cached head of the device (at most [`HEAD`] bytes, fewer on a short device).
    pub(super) fn head(&self) -> &[u8] {
        &self.head
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    #[test]
    fn reads_past_the_end_are_none() {
        let mut data = Cursor::new((0..=255u8).cycle().take(300_000).collect::<Vec<u8>>());
        let mut dev = Dev::new(&mut data, 300_000).unwrap();
        assert_eq!(dev.head().len(), HEAD);
        assert_eq!(dev.read(10, 2).unwrap(), Some(vec![10, 11]));
        // Beyond the head, from the device.
        assert_eq!(
            dev.read(200_000, 1).unwrap(),
            Some(vec![(200_000 % 256) as u8])
        );
        assert_eq!(dev.read(299_999, 2).unwrap(), None);
        assert_eq!(dev.read(u64::MAX, 1).unwrap(), None);
        assert_eq!(dev.read(0, MAX_READ + 1).unwrap(), None);
    }

    #[test]
    fn a_size_that_lies_is_clamped() {
        let mut data = Cursor::new(vec![7u8; 1000]);
        let mut dev = Dev::new(&mut data, 1 << 40).unwrap();
        assert_eq!(dev.size(), 1000);
        assert_eq!(dev.read(999, 1).unwrap(), Some(vec![7]));
        assert_eq!(dev.read(1000, 1).unwrap(), None);
    }

    #[test]
    fn the_budget_runs_out() {
        let mut data = Cursor::new(vec![0u8; 4 * 1024 * 1024]);
        let mut dev = Dev::new(&mut data, 4 * 1024 * 1024).unwrap();
        let mut reads = 0;
        while dev.read(HEAD as u64, MAX_READ).unwrap().is_some() {
            reads += 1;
            assert!(reads <= 16, "the budget never ran out");
        }
        assert_eq!(reads, 16);
        // The head is still served.
        assert!(dev.read(0, 512).unwrap().is_some());
    }
}
