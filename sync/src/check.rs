//! The debug-build bookkeeping: which locks each thread holds (a stack per thread, with the
//! call site of each), and which lock was ever held while another was taken (one global
//! graph, with both call sites on each edge). See the crate documentation for the rules.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::fmt::Write as _;
use std::panic::Location;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::PoisonError;

type Site = &'static Location<'static>;

/// Ids handed out so far; 0 means "not yet".
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// The order graph. A plain std mutex: it is a leaf (nothing is locked under it) and is never
/// held across a panic.
static GRAPH: std::sync::Mutex<Graph> = std::sync::Mutex::new(Graph {
    out: BTreeMap::new(),
    into: BTreeMap::new(),
});

thread_local! {
    static HELD: RefCell<Vec<Entry>> = const { RefCell::new(Vec::new()) };
}

/// A lock this thread holds.
#[derive(Debug, Clone, Copy)]
struct Entry {
    id: u64,
    name: &'static str,
    at: Site,
}

/// "`held` was held while `taken` was locked."
#[derive(Debug, Clone)]
struct Edge {
    held: &'static str,
    held_at: Site,
    taken: &'static str,
    taken_at: Site,
    thread: String,
}

#[derive(Debug)]
struct Graph {
    out: BTreeMap<u64, BTreeMap<u64, Edge>>,
    into: BTreeMap<u64, BTreeSet<u64>>,
}

impl Graph {
    fn has(&self, from: u64, to: u64) -> bool {
        self.out.get(&from).is_some_and(|m| m.contains_key(&to))
    }

    fn add(&mut self, from: u64, to: u64, edge: Edge) {
        self.out.entry(from).or_default().insert(to, edge);
        self.into.entry(to).or_default().insert(from);
    }

    /// The edges of a shortest path `from` -> ... -> `to`, if there is one.
    fn path(&self, from: u64, to: u64) -> Option<Vec<&Edge>> {
        let mut came_from: HashMap<u64, u64> = HashMap::new();
        let mut queue = VecDeque::from([from]);
        while let Some(node) = queue.pop_front() {
            if node == to {
                let mut edges = Vec::new();
                let mut at = to;
                while at != from {
                    let prev = came_from[&at];
                    edges.push(&self.out[&prev][&at]);
                    at = prev;
                }
                edges.reverse();
                return Some(edges);
            }
            for &next in self.out.get(&node).into_iter().flat_map(BTreeMap::keys) {
                if next != from && !came_from.contains_key(&next) {
                    came_from.insert(next, node);
                    queue.push_back(next);
                }
            }
        }
        None
    }

    fn remove(&mut self, id: u64) {
        if let Some(targets) = self.out.remove(&id) {
            for to in targets.keys() {
                if let Some(s) = self.into.get_mut(to) {
                    s.remove(&id);
                }
            }
        }
        if let Some(sources) = self.into.remove(&id) {
            for from in sources {
                if let Some(m) = self.out.get_mut(&from) {
                    m.remove(&id);
                }
            }
        }
    }
}

/// A mutex's identity: assigned at its first lock (so `Mutex::new` stays `const`), never
/// reused; its edges leave the graph when the mutex is dropped.
#[derive(Debug, Default)]
pub(crate) struct LockId(AtomicU64);

impl LockId {
    pub(crate) const fn new() -> LockId {
        LockId(AtomicU64::new(0))
    }

    pub(crate) fn get(&self) -> u64 {
        let id = self.0.load(Ordering::Relaxed);
        if id != 0 {
            return id;
        }
        let fresh = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        match self
            .0
            .compare_exchange(0, fresh, Ordering::Relaxed, Ordering::Relaxed)
        {
            Ok(_) => fresh,
            Err(assigned) => assigned,
        }
    }
}

impl Drop for LockId {
    fn drop(&mut self) {
        let id = *self.0.get_mut();
        if id != 0 {
            GRAPH
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .remove(id);
        }
    }
}

/// This thread's record that it holds a lock; dropping it (with the guard) forgets it.
#[derive(Debug)]
pub(crate) struct Held(Entry);

impl Held {
    /// Records that this thread now holds lock `id`, locked at `at`.
    pub(crate) fn push(id: u64, name: &'static str, at: Site) -> Held {
        let entry = Entry { id, name, at };
        // Outside a thread's lifetime (thread-local destructors) there is nothing to check.
        let _ = HELD.try_with(|h| h.borrow_mut().push(entry));
        Held(entry)
    }

    /// Forgets the lock for a condition-variable wait at `at`, and checks that taking it
    /// back afterwards, with the other locks this thread holds, keeps the order.
    #[track_caller]
    pub(crate) fn release_for_wait(self, at: Site) -> Relock {
        let Entry { id, name, .. } = self.0;
        drop(self);
        before_lock(id, name, at);
        Relock(Entry { id, name, at })
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        let id = self.0.id;
        let _ = HELD.try_with(|h| {
            let mut h = h.borrow_mut();
            if let Some(pos) = h.iter().rposition(|e| e.id == id) {
                h.remove(pos);
            }
        });
    }
}

/// A lock given up for a condition-variable wait, to be recorded again once it is back.
#[derive(Debug)]
pub(crate) struct Relock(Entry);

impl Relock {
    pub(crate) fn push(self) -> Held {
        Held::push(self.0.id, self.0.name, self.0.at)
    }
}

/// Checks that this thread may block on lock `id` (of a `Mutex<name>`) at `at`: it does
/// not hold it already, and no earlier lock order contradicts taking it under the locks it
/// holds. Records the new order edges. Panics, naming the call sites, otherwise.
#[track_caller]
pub(crate) fn before_lock(id: u64, name: &'static str, at: Site) {
    let held: Vec<Entry> = HELD.try_with(|h| h.borrow().clone()).unwrap_or_default();
    if let Some(prev) = held.iter().rev().find(|e| e.id == id) {
        panic!(
            "deadlock: thread '{}' locks Mutex<{}> at {at}, which it already holds (locked at {})",
            thread_name(),
            short(name),
            prev.at,
        );
    }
    if held.is_empty() {
        return;
    }
    let mut message = None;
    {
        let mut graph = GRAPH.lock().unwrap_or_else(PoisonError::into_inner);
        for h in &held {
            if graph.has(h.id, id) {
                continue;
            }
            if let Some(path) = graph.path(id, h.id) {
                message = Some(cycle_message(h, name, at, &path));
                break;
            }
            graph.add(
                h.id,
                id,
                Edge {
                    held: h.name,
                    held_at: h.at,
                    taken: name,
                    taken_at: at,
                    thread: thread_name(),
                },
            );
        }
    }
    if let Some(message) = message {
        panic!("{message}");
    }
}

fn cycle_message(held: &Entry, name: &'static str, at: Site, path: &[&Edge]) -> String {
    let mut m = format!(
        "lock order cycle (a deadlock waiting to happen): thread '{}' locks Mutex<{}> at {at} \
         while holding Mutex<{}> (locked at {}), but the opposite order was taken before:",
        thread_name(),
        short(name),
        short(held.name),
        held.at,
    );
    for e in path {
        let _ = write!(
            m,
            "\n  thread '{}' held Mutex<{}> (locked at {}) while locking Mutex<{}> at {}",
            e.thread,
            short(e.held),
            e.held_at,
            short(e.taken),
            e.taken_at,
        );
    }
    m
}

fn thread_name() -> String {
    let t = std::thread::current();
    match t.name() {
        Some(n) => n.to_string(),
        None => format!("{:?}", t.id()),
    }
}

/// A type name without its module paths: `HashMap<u64, Arc<File>>`.
fn short(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut String| {
        out.push_str(word.rsplit("::").next().unwrap_or(word));
        word.clear();
    };
    for c in name.chars() {
        if c.is_alphanumeric() || c == '_' || c == ':' {
            word.push(c);
        } else {
            flush(&mut word, &mut out);
            out.push(c);
        }
    }
    flush(&mut word, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::short;

    #[test]
    fn short_type_names() {
        assert_eq!(
            short("std::collections::hash::map::HashMap<u64, alloc::sync::Arc<std::fs::File>>"),
            "HashMap<u64, Arc<File>>"
        );
        assert_eq!(short("(usize, alloc::vec::Vec<u8>)"), "(usize, Vec<u8>)");
    }
}
