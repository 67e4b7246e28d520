//! Small files fetched a batch at a time, for read-only mounts.
//!
//! Reading a small file costs one round trip whatever its size (about 2 ms under TCG, most
//! of a small file's cost), and reading a tree (`cat` of every file under /etc, `cp -r`,
//! `grep -r`) reads many. So the first read of a small file that is not cached fetches it
//! together with the small files a tree walk meets next (`Table::small_files_near`) in one
//! `read_files` call, and keeps their contents here until the kernel reads them (then its
//! page cache keeps them: opens are `keep_cache`).
//!
//! Only a read-only mount uses this: nothing changes its files, so a file's contents are
//! its contents for as long as the mount lives, and a path fetched names the node it named
//! when the batch was chosen. A read-write mount would have to drop entries on every write,
//! truncate, rename and unlink, with batches in flight; it does not cache here. What arrives
//! is checked against the size the table knows, and anything odd is left to the ordinary
//! read by path.

use super::attr::errno;
use super::io::Slot;
use super::nodes::Table;
use guestwright::prelude::*;
use guestwright_sync::Mutex;
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;

/// Files up to this size are fetched in batches.
pub const MAX_FILE: u64 = 64 << 10;
/// Files per batch.
const BATCH_FILES: usize = 1024;
/// Bytes in the first batch; each batch doubles it up to [`BATCH_MAX`] while batches are
/// read: a lone `cat` pays for little it does not read, a tree walk soon gets large ones.
const BATCH_FIRST: u64 = 256 << 10;
/// Bytes per batch at most (the daemon answers with at most 3 MiB).
const BATCH_MAX: u64 = 2 << 20;
/// Bytes of fetched contents kept before the oldest are dropped.
const KEEP: u64 = 64 << 20;

/// The batch cache of one mount.
#[derive(Debug, Default)]
pub struct SmallFiles {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    /// Contents by node, fetched or on their way.
    slots: HashMap<u64, Arc<Slot>>,
    /// Every node ever put in a batch: never fetched again as a neighbour.
    fetched: HashSet<u64>,
    /// Nodes with contents, oldest first (some may have been read and dropped since).
    order: VecDeque<u64>,
    /// Bytes of contents in `slots`.
    bytes: u64,
    /// Files with contents in `slots` (fetched, not read yet).
    unread: usize,
    /// The last batch's size in bytes, and its files.
    batch: u64,
    batch_files: usize,
}

impl State {
    /// Drops node `id`'s contents.
    fn drop_slot(&mut self, id: u64) {
        if let Some(slot) = self.slots.remove(&id) {
            if let Some(Ok(data)) = slot.peek() {
                self.bytes -= data.len() as u64;
                self.unread -= 1;
            }
        }
    }
}

impl SmallFiles {
    /// Bytes of file `id` at `offset` if its contents are here now, without waiting or a
    /// round trip (for fuser's own thread).
    pub fn cached(&self, id: u64, offset: u64, size: u32) -> Option<Vec<u8>> {
        let mut st = self.state.lock();
        let data = st.slots.get(&id)?.peek()?.ok()?;
        let out = serve(&mut st, id, &data, offset, size);
        drop(st);
        Some(out)
    }

    /// Bytes of file `id` (of `file_size` bytes, at most [`MAX_FILE`]) at `offset`: from
    /// the cache, or from a batch fetched now that holds it. None when the batch did not
    /// bring it (the caller reads it by itself).
    pub fn read(
        &self,
        h: &Handle,
        table: &Mutex<Table>,
        id: u64,
        file_size: u64,
        offset: u64,
        size: u32,
    ) -> Option<Vec<u8>> {
        let known = self.state.lock().slots.get(&id).cloned();
        let slot = match known {
            Some(slot) => slot,
            None => self.fetch(h, table, id, file_size)?,
        };
        let data = slot.wait().ok()?;
        let mut st = self.state.lock();
        Some(serve(&mut st, id, &data, offset, size))
    }

    /// Chooses a batch that starts with file `id`, fetches it and returns the file's slot.
    fn fetch(
        &self,
        h: &Handle,
        table: &Mutex<Table>,
        id: u64,
        file_size: u64,
    ) -> Option<Arc<Slot>> {
        let (batch, slots) = {
            let mut st = self.state.lock();
            // Another worker may have fetched it meanwhile.
            if let Some(slot) = st.slots.get(&id) {
                return Some(slot.clone());
            }
            // Larger while batches are read, small again when most of the last one was
            // not (the walk went elsewhere).
            st.batch = if st.batch == 0 || st.unread * 2 > st.batch_files {
                BATCH_FIRST
            } else {
                (st.batch * 2).min(BATCH_MAX)
            };
            let budget = st.batch.max(file_size);
            let batch: Vec<(u64, u64, GuestPath)> = {
                let t = table.lock();
                let skip = |n: u64| st.slots.contains_key(&n) || st.fetched.contains(&n);
                t.small_files_near(id, MAX_FILE, BATCH_FILES, budget, skip)
                    .into_iter()
                    .filter_map(|(n, size)| Some((n, size, t.path(n)?)))
                    .collect()
            };
            if batch.first().map(|b| b.0) != Some(id) {
                return None;
            }
            st.batch_files = batch.len();
            let slots: Vec<Arc<Slot>> = batch
                .iter()
                .map(|(n, _, _)| {
                    let slot = Arc::new(Slot::default());
                    st.slots.insert(*n, slot.clone());
                    st.fetched.insert(*n);
                    slot
                })
                .collect();
            drop(st);
            (batch, slots)
        };
        // Unlocked across the round trip: readers of these files wait on their slots.
        let paths: Vec<GuestPath> = batch.iter().map(|b| b.2.clone()).collect();
        let mut answer = match h.run(args::ReadFiles::new(paths).maxsize(ByteSize(MAX_FILE))) {
            Ok(a) if a.len() == batch.len() => Ok(a),
            Ok(_) => Err(libc::EIO),
            Err(e) => Err(errno(&e)),
        };
        let mut st = self.state.lock();
        for (i, ((n, size, _), slot)) in batch.iter().zip(&slots).enumerate() {
            let got = match &mut answer {
                Ok(a) if a[i].errno == 0 && a[i].data.0.len() as u64 == *size => {
                    Ok(Arc::new(std::mem::take(&mut a[i].data.0)))
                }
                Ok(a) if a[i].errno != 0 => Err(a[i].errno),
                Ok(_) => Err(libc::ESTALE),
                Err(e) => Err(*e),
            };
            // Still the slot of this batch (not dropped as the oldest meanwhile)?
            if st.slots.get(n).is_some_and(|s| Arc::ptr_eq(s, slot)) {
                match &got {
                    Ok(data) => {
                        st.bytes += data.len() as u64;
                        st.unread += 1;
                        st.order.push_back(*n);
                    }
                    // Left to the ordinary read.
                    Err(_) => {
                        st.slots.remove(n);
                    }
                }
            }
            slot.put(got);
        }
        // The oldest go first once over the limit.
        while st.bytes > KEEP {
            let Some(old) = st.order.pop_front() else {
                break;
            };
            st.drop_slot(old);
        }
        drop(st);
        Some(slots[0].clone())
    }
}

/// The bytes asked of `data`; once the read reaches the end the kernel's page cache has
/// the file, and it leaves this cache.
fn serve(st: &mut State, id: u64, data: &[u8], offset: u64, size: u32) -> Vec<u8> {
    let len = data.len() as u64;
    let from = offset.min(len);
    let to = offset.saturating_add(u64::from(size)).min(len);
    if to == len {
        st.drop_slot(id);
    }
    data[from as usize..to as usize].to_vec()
}
