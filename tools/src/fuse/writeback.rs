//! Writes gathered per open file and sent many ranges per round trip (`fh_write_ranges`).
//!
//! With the kernel's writeback cache, write(2) returns once the kernel's page is dirty, and
//! the kernel writes its dirty pages back later (at the latest at fsync(2) and close(2)),
//! one WRITE request per run of contiguous pages. A random 4 KiB workload makes one request
//! per page, and a round trip each to the appliance cost about a millisecond of guest CPU
//! under TCG. So the mount answers those requests at once and keeps their data here, merged
//! where ranges touch, until something must see it:
//!
//! - fsync(2) and close(2) (FUSE fsync, flush, release), which then report any error of
//!   the writes they pushed (or of earlier pushes of the same file), as the kernel's own
//!   writeback reports errors at fsync and close;
//! - anything that reads the file's data or size through another path: a read, a getattr,
//!   a setattr (truncate), an open with O_TRUNC, statfs, and the unmount;
//! - a file whose gathered data reaches [`MAX_BYTES`] or [`MAX_RANGES`] is pushed by the
//!   write that would pass the bound, which waits for it.
//!
//! It must never hold data the kernel was told is durable: fsync pushes first, then asks
//! the guest to fsync. Only files opened without O_SYNC/O_DSYNC on a mount with the
//! writeback cache gather writes; others write through as before.

use guestwright_sync::{Condvar, Mutex};
use std::collections::BTreeMap;

/// Bytes gathered per file before a write pushes them (one `fh_write_ranges` call carries
/// at most this much, well under the frame limit with its offsets).
pub const MAX_BYTES: usize = 4 << 20;
/// Ranges gathered per file before a write pushes them (the daemon's limit per call).
pub const MAX_RANGES: usize = 4096;

/// Disjoint, non-adjacent ranges of data not yet sent, by offset.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Ranges {
    map: BTreeMap<u64, Vec<u8>>,
    bytes: usize,
}

impl Ranges {
    /// Bytes held.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Ranges held.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Nothing held.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Adds `data` at `offset`, over whatever it overlaps; ranges that overlap or touch it
    /// become one.
    pub fn insert(&mut self, offset: u64, data: &[u8]) {
        if data.is_empty() {
            return;
        }
        let end = offset + data.len() as u64;
        // Ranges that start at or before `end` and end at or after `offset`.
        let touching: Vec<u64> = self
            .map
            .range(..=end)
            .rev()
            .take_while(|(s, d)| **s + d.len() as u64 >= offset)
            .map(|(s, _)| *s)
            .collect();
        if touching.is_empty() {
            self.bytes += data.len();
            self.map.insert(offset, data.to_vec());
            return;
        }
        let start = offset.min(*touching.last().expect("not empty"));
        let mut stop = end;
        for s in &touching {
            stop = stop.max(s + self.map[s].len() as u64);
        }
        let mut merged = vec![0u8; (stop - start) as usize];
        for s in touching {
            let old = self.map.remove(&s).expect("listed above");
            self.bytes -= old.len();
            let at = (s - start) as usize;
            merged[at..at + old.len()].copy_from_slice(&old);
        }
        let at = (offset - start) as usize;
        merged[at..at + data.len()].copy_from_slice(data);
        self.bytes += merged.len();
        self.map.insert(start, merged);
    }

    /// The offsets, the lengths and the data one after the other, as `fh_write_ranges`
    /// takes them.
    pub fn into_call(self) -> (Vec<u64>, Vec<u64>, Vec<u8>) {
        let mut offsets = Vec::with_capacity(self.map.len());
        let mut lengths = Vec::with_capacity(self.map.len());
        let mut data = Vec::with_capacity(self.bytes);
        for (o, d) in self.map {
            offsets.push(o);
            lengths.push(d.len() as u64);
            data.extend_from_slice(&d);
        }
        (offsets, lengths, data)
    }
}

/// What one open file has gathered, and whether a push of it is on its way.
#[derive(Debug, Default)]
struct State {
    ranges: Ranges,
    /// A push is in flight: another one waits for it, so data reaches the daemon in the
    /// order it was written and a flush returns only once everything before it arrived.
    sending: bool,
}

/// The writes one open file has gathered.
#[derive(Debug, Default)]
pub struct Pending {
    state: Mutex<State>,
    done: Condvar,
}

impl Pending {
    /// Gathers a write. Returns false, gathering nothing, when the file holds too much to
    /// take it: push first ([`Pending::take`]), then gather.
    pub fn gather(&self, offset: u64, data: &[u8]) -> bool {
        let mut st = self.state.lock();
        let r = &st.ranges;
        if !r.is_empty() && (r.bytes() + data.len() > MAX_BYTES || r.len() >= MAX_RANGES) {
            return false;
        }
        st.ranges.insert(offset, data);
        true
    }

    /// Whether anything is gathered or on its way.
    pub fn busy(&self) -> bool {
        let st = self.state.lock();
        st.sending || !st.ranges.is_empty()
    }

    /// Waits for a push in flight, then takes what is gathered, marking a push in flight.
    /// The caller sends it and then calls [`Pending::sent`], whatever happened. None when
    /// nothing is gathered (and nothing is in flight any more).
    pub fn take(&self) -> Option<Ranges> {
        let mut st = self.state.lock();
        while st.sending {
            st = self.done.wait(st);
        }
        if st.ranges.is_empty() {
            return None;
        }
        st.sending = true;
        Some(std::mem::take(&mut st.ranges))
    }

    /// A push taken with [`Pending::take`] has arrived (or failed).
    pub fn sent(&self) {
        self.state.lock().sending = false;
        self.done.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The model: a plain byte map.
    fn apply(model: &mut BTreeMap<u64, u8>, offset: u64, data: &[u8]) {
        for (i, b) in data.iter().enumerate() {
            model.insert(offset + i as u64, *b);
        }
    }

    fn flatten(r: &Ranges) -> BTreeMap<u64, u8> {
        let mut m = BTreeMap::new();
        let (offsets, lengths, data) = r.clone().into_call();
        let mut at = 0;
        for (o, l) in offsets.iter().zip(&lengths) {
            apply(&mut m, *o, &data[at..at + *l as usize]);
            at += *l as usize;
        }
        m
    }

    #[test]
    fn merges_overlapping_and_touching_ranges() {
        let mut r = Ranges::default();
        r.insert(10, b"abc");
        r.insert(20, b"xyz");
        assert_eq!(r.len(), 2);
        r.insert(13, b"DEFGHIJ"); // touches both: 10..23
        assert_eq!(r.len(), 1);
        assert_eq!(r.bytes(), 13);
        r.insert(5, b"12345678"); // over the start: 5..23
        let (o, l, d) = r.into_call();
        assert_eq!((o, l), (vec![5], vec![18]));
        assert_eq!(d, b"12345678DEFGHIJxyz");
    }

    #[test]
    fn random_writes_match_a_byte_model() {
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for _ in 0..50 {
            let mut r = Ranges::default();
            let mut model = BTreeMap::new();
            for _ in 0..60 {
                let offset = next() % 400;
                let len = (next() % 40) as usize;
                let byte = next() as u8;
                let data = vec![byte; len];
                r.insert(offset, &data);
                apply(&mut model, offset, &data);
                assert_eq!(flatten(&r), model);
                assert_eq!(r.bytes(), model.len());
            }
            // Disjoint and never touching: each would have been merged.
            let (o, l, _) = r.into_call();
            for i in 1..o.len() {
                assert!(o[i - 1] + l[i - 1] < o[i], "{o:?} {l:?}");
            }
        }
    }

    #[test]
    fn a_full_file_refuses_more_until_taken() {
        let p = Pending::default();
        assert!(p.gather(0, &vec![1; MAX_BYTES]));
        assert!(!p.gather(MAX_BYTES as u64 * 2, b"x"));
        let taken = p.take().expect("gathered");
        assert_eq!(taken.bytes(), MAX_BYTES);
        assert!(p.busy());
        p.sent();
        assert!(!p.busy());
        assert!(p.gather(0, b"x"));
    }
}
