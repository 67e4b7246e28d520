//! The mount's view of the guest tree: FUSE node ids, the names that lead to them, and what
//! is cached about each (attributes, symlink target, extended attributes, the directory's
//! listing).
//!
//! The protocol is path based and FUSE is inode based. Each node remembers the names
//! (parent node, name) it is known by, so its guest path is rebuilt by walking up; a rename
//! moves one name and everything below follows. A hard link is one node with several names.
//!
//! Node ids are the guest's inode numbers for the filesystem mounted at `/` (so `ls -i` and
//! `stat` show real inode numbers, like guestmount's `use_ino`, but for the case below); the root is FUSE's node 1,
//! and inodes of other filesystems (`-m /dev/sda1:/boot`) get ids from a high range.
//! The guest gives the number of a deleted inode to the next file it creates, while the
//! kernel may still hold the deleted one (an open directory or file, a cwd): the new inode
//! then gets an id of its own from another high range (which `stat` shows as its inode
//! number: fuser answers with one number for both), or the kernel would take it for the
//! old one (and fail both: a file of another type makes the old inode "bad", so its fsync
//! gives EIO; a directory would be the deleted one, in which nothing can be created).
//!
//! Every cached item carries the time it was fetched and is trusted for the attribute
//! timeout. The mount is the only writer of the guest filesystem, so each change made
//! through it updates or invalidates exactly what it touched. This table is only ever locked
//! around memory updates, never around a round trip to the appliance.

use guestwright::protocol::{DirListing, FileKind, GuestPath, Stat, XAttr};
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// FUSE's node id of the mount's root.
pub const ROOT: u64 = 1;
/// Ids handed to inodes of filesystems other than the one at `/`.
const FOREIGN_BASE: u64 = 1 << 62;
/// Ids handed to inodes of the filesystem at `/` whose number the guest reused while the
/// kernel still held the deleted file under it (see [`Table::remember`]).
const REUSED_BASE: u64 = 1 << 61;
/// Nodes kept before the ones the kernel no longer references are dropped.
const MAX_NODES: usize = 500_000;
/// Deepest path rebuilt (guards against a cycle the table should never hold).
const MAX_DEPTH: usize = 4096;
/// Entries [`Table::small_files_near`] looks at, at most (it runs under the table's lock).
const MAX_WALK: usize = 20_000;

#[derive(Debug, Default)]
struct Node {
    /// (parent, name) pairs leading here; the first one is used to build the path.
    names: Vec<(u64, Vec<u8>)>,
    /// How many times the kernel was told about this node and has not forgotten it.
    nlookup: u64,
    stat: Option<(Stat, Instant)>,
    link: Option<Vec<u8>>,
    xattrs: Option<(Vec<XAttr>, Instant)>,
    /// The directory's names in listing order, when the whole directory is known.
    listing: Option<(Vec<Vec<u8>>, Instant)>,
    /// Its last name was removed: the guest may have freed the inode.
    gone: bool,
}

/// What the cache says about a name in a directory.
#[derive(Debug, Clone, PartialEq)]
pub enum Lookup {
    /// The name exists: its node and attributes.
    Found(u64, Stat),
    /// The directory is fully known and has no such name.
    Missing,
    /// Unknown: ask the appliance.
    Unknown,
}

/// The node table.
#[derive(Debug)]
pub struct Table {
    nodes: HashMap<u64, Node>,
    dentries: HashMap<(u64, Vec<u8>), u64>,
    foreign: HashMap<(u64, u64), u64>,
    next_foreign: u64,
    /// Inode numbers of `/`'s filesystem mapped to an id of the reused range.
    reused: HashMap<u64, u64>,
    next_reused: u64,
    root: (u64, u64),
    ttl: Duration,
}

impl Table {
    /// A table whose root has the given attributes; cached items live for `ttl`.
    pub fn new(root: &Stat, ttl: Duration) -> Table {
        let mut t = Table {
            nodes: HashMap::new(),
            dentries: HashMap::new(),
            foreign: HashMap::new(),
            next_foreign: FOREIGN_BASE,
            reused: HashMap::new(),
            next_reused: REUSED_BASE,
            root: (root.dev, root.ino),
            ttl,
        };
        let node = t.nodes.entry(ROOT).or_default();
        node.stat = Some((*root, Instant::now()));
        node.nlookup = 1;
        t
    }

    fn fresh(&self, at: Instant) -> bool {
        at.elapsed() < self.ttl
    }

    /// The node id of an inode.
    pub fn id_for(&mut self, st: &Stat) -> u64 {
        if (st.dev, st.ino) == self.root {
            return ROOT;
        }
        if st.dev == self.root.0 && st.ino > ROOT && st.ino < REUSED_BASE {
            return self.reused.get(&st.ino).copied().unwrap_or(st.ino);
        }
        if let Some(id) = self.foreign.get(&(st.dev, st.ino)) {
            return *id;
        }
        let id = self.next_foreign;
        self.next_foreign += 1;
        self.foreign.insert((st.dev, st.ino), id);
        id
    }

    /// The guest path of a node, or None when no name leads to it any more (an unlinked
    /// file still open) or a parent is no longer known.
    pub fn path(&self, id: u64) -> Option<GuestPath> {
        let mut parts: Vec<&[u8]> = Vec::new();
        let mut cur = id;
        while cur != ROOT {
            let (parent, name) = self.nodes.get(&cur)?.names.first()?;
            parts.push(name);
            cur = *parent;
            if parts.len() > MAX_DEPTH {
                return None;
            }
        }
        let mut path = Vec::with_capacity(parts.iter().map(|p| p.len() + 1).sum::<usize>() + 1);
        for p in parts.iter().rev() {
            path.push(b'/');
            path.extend_from_slice(p);
        }
        if path.is_empty() {
            path.push(b'/');
        }
        Some(GuestPath::from(path))
    }

    /// The guest path of `name` in directory `parent`.
    pub fn child_path(&self, parent: u64, name: &[u8]) -> Option<GuestPath> {
        Some(self.path(parent)?.join(name))
    }

    /// Records that `name` in `parent` is the inode `st` (with its symlink target and
    /// extended attributes when known) and returns its node id.
    pub fn remember(
        &mut self,
        parent: u64,
        name: &[u8],
        st: &Stat,
        link: Option<Vec<u8>>,
        xattrs: Option<Vec<XAttr>>,
    ) -> u64 {
        let mut id = self.id_for(st);
        if let Some(old) = self.nodes.get_mut(&id).filter(|n| n.gone) {
            if old.nlookup > 0 && id != ROOT {
                // The guest reused the number of a deleted inode the kernel still holds:
                // the new inode must not be taken for it.
                id = if id < FOREIGN_BASE {
                    let fresh = self.next_reused;
                    self.next_reused += 1;
                    self.reused.insert(st.ino, fresh);
                    fresh
                } else {
                    let fresh = self.next_foreign;
                    self.next_foreign += 1;
                    self.foreign.insert((st.dev, st.ino), fresh);
                    fresh
                };
            } else {
                old.gone = false;
            }
        }
        let now = Instant::now();
        let key = (parent, name.to_vec());
        if let Some(old) = self.dentries.insert(key.clone(), id) {
            if old != id {
                self.drop_name(old, parent, name);
            }
        }
        let node = self.nodes.entry(id).or_default();
        if let Some((old, _)) = &node.stat {
            if old.kind() != st.kind() {
                // The inode number was reused for another kind of file.
                node.link = None;
                node.xattrs = None;
                node.listing = None;
            }
        }
        if !node.names.contains(&key) {
            node.names.push(key);
        }
        node.stat = Some((*st, now));
        if link.is_some() {
            node.link = link;
        }
        if let Some(x) = xattrs {
            node.xattrs = Some((x, now));
        }
        self.listing_add(parent, name);
        id
    }

    fn listing_add(&mut self, dir: u64, name: &[u8]) {
        if let Some((names, _)) = self.nodes.get_mut(&dir).and_then(|d| d.listing.as_mut()) {
            if !names.iter().any(|n| n == name) {
                names.push(name.to_vec());
            }
        }
    }

    fn listing_remove(&mut self, dir: u64, name: &[u8]) {
        if let Some((names, _)) = self.nodes.get_mut(&dir).and_then(|d| d.listing.as_mut()) {
            names.retain(|n| n != name);
        }
    }

    fn drop_name(&mut self, id: u64, parent: u64, name: &[u8]) {
        if let Some(node) = self.nodes.get_mut(&id) {
            node.names.retain(|(p, n)| !(*p == parent && n == name));
            if node.names.is_empty() {
                node.gone = true;
                // Its last known name is gone: the guest may free the inode and give its
                // number to the next file it creates, which must not inherit what is
                // cached about this one.
                node.stat = None;
                node.link = None;
                node.xattrs = None;
                node.listing = None;
            }
        }
    }

    /// The kernel learned about the node once more (a lookup, create or readdirplus entry).
    pub fn add_lookup(&mut self, id: u64) {
        if let Some(node) = self.nodes.get_mut(&id) {
            node.nlookup += 1;
        }
    }

    /// The kernel forgot `n` references to a node.
    pub fn forget(&mut self, id: u64, n: u64) {
        if let Some(node) = self.nodes.get_mut(&id) {
            node.nlookup = node.nlookup.saturating_sub(n);
        }
    }

    /// The node `name` in `parent` names, if the table knows it, fresh or not.
    pub fn child(&self, parent: u64, name: &[u8]) -> Option<u64> {
        self.dentries.get(&(parent, name.to_vec())).copied()
    }

    /// What the cache knows about `name` in `parent`.
    pub fn lookup(&self, parent: u64, name: &[u8]) -> Lookup {
        if let Some(id) = self.dentries.get(&(parent, name.to_vec())) {
            if let Some(st) = self.stat(*id) {
                return Lookup::Found(*id, st);
            }
            return Lookup::Unknown;
        }
        match self.nodes.get(&parent).and_then(|p| p.listing.as_ref()) {
            Some((_, at)) if self.fresh(*at) => Lookup::Missing,
            _ => Lookup::Unknown,
        }
    }

    /// Whether the directory's whole listing is known and fresh.
    pub fn listing_known(&self, dir: u64) -> bool {
        matches!(
            self.nodes.get(&dir).and_then(|n| n.listing.as_ref()),
            Some((_, at)) if self.fresh(*at)
        )
    }

    /// The directory a node is in (by its first name).
    pub fn parent(&self, id: u64) -> Option<u64> {
        self.nodes.get(&id)?.names.first().map(|(p, _)| *p)
    }

    /// The node's attributes, when fresh.
    pub fn stat(&self, id: u64) -> Option<Stat> {
        match self.nodes.get(&id)?.stat {
            Some((st, at)) if self.fresh(at) => Some(st),
            _ => None,
        }
    }

    /// The node's last known attributes, fresh or not.
    pub fn last_stat(&self, id: u64) -> Option<Stat> {
        self.nodes.get(&id)?.stat.map(|(st, _)| st)
    }

    /// Stores fresh attributes of a node.
    pub fn set_stat(&mut self, id: u64, st: &Stat) {
        let node = self.nodes.entry(id).or_default();
        node.stat = Some((*st, Instant::now()));
    }

    /// Forgets a node's attributes (it changed).
    pub fn invalidate_stat(&mut self, id: u64) {
        if let Some(node) = self.nodes.get_mut(&id) {
            node.stat = None;
        }
    }

    /// The target of a symlink, when known.
    pub fn link(&self, id: u64) -> Option<Vec<u8>> {
        self.nodes.get(&id)?.link.clone()
    }

    /// Stores the target of a symlink.
    pub fn set_link(&mut self, id: u64, target: Vec<u8>) {
        self.nodes.entry(id).or_default().link = Some(target);
    }

    /// The node's extended attributes, when fresh.
    pub fn xattrs(&self, id: u64) -> Option<Vec<XAttr>> {
        match &self.nodes.get(&id)?.xattrs {
            Some((x, at)) if self.fresh(*at) => Some(x.clone()),
            _ => None,
        }
    }

    /// Stores the node's extended attributes.
    pub fn set_xattrs(&mut self, id: u64, x: Vec<XAttr>) {
        self.nodes.entry(id).or_default().xattrs = Some((x, Instant::now()));
    }

    /// Forgets the node's extended attributes (one was set or removed).
    pub fn invalidate_xattrs(&mut self, id: u64) {
        if let Some(node) = self.nodes.get_mut(&id) {
            node.xattrs = None;
        }
    }

    /// After a write, chmod, chown or truncate: forgets the node's attributes, and its
    /// extended attributes unless it has none (the kernel may have removed or rewritten
    /// `security.capability` or an ACL's mode bits, but a node without any still has none).
    pub fn changed(&mut self, id: u64) {
        if let Some(node) = self.nodes.get_mut(&id) {
            node.stat = None;
            if node.xattrs.as_ref().is_some_and(|(x, _)| !x.is_empty()) {
                node.xattrs = None;
            }
        }
    }

    /// A node just created in `parent` has no extended attributes when `parent` is known to
    /// have no default ACL (the appliance runs no security module that labels new files): so
    /// the kernel's `security.capability` check on its first write needs no round trip.
    pub fn created_without_xattrs(&mut self, parent: u64, id: u64) {
        let inherits = self.xattrs(parent).is_none_or(|x| has_default_acl(&x));
        if !inherits {
            self.set_xattrs(id, Vec::new());
        }
    }

    /// The directory's entries (name, node, attributes) when its listing and every entry's
    /// attributes are fresh.
    pub fn listing(&self, dir: u64) -> Option<Vec<(Vec<u8>, u64, Stat)>> {
        let (names, at) = self.nodes.get(&dir)?.listing.as_ref()?;
        if !self.fresh(*at) {
            return None;
        }
        names
            .iter()
            .map(|name| {
                let id = *self.dentries.get(&(dir, name.clone()))?;
                Some((name.clone(), id, self.stat(id)?))
            })
            .collect()
    }

    /// Stores what `readdir_tree` (or paged `readdir_plus`) found. The first listing is
    /// directory `first`; the others are below it, parents before children. Listings that
    /// are not complete only add their entries.
    pub fn load(&mut self, first: u64, listings: Vec<DirListing>) {
        let mut dirs: HashMap<GuestPath, u64> = HashMap::new();
        for (i, listing) in listings.into_iter().enumerate() {
            let dir = if i == 0 {
                first
            } else {
                match dirs.get(&listing.path) {
                    Some(id) => *id,
                    None => continue,
                }
            };
            let mut names = Vec::with_capacity(listing.entries.len());
            for e in listing.entries {
                let name = e.name.0;
                let link = e.link.map(GuestPath::into_bytes);
                let id = self.remember(dir, &name, &e.stat, link, Some(e.xattrs));
                if e.stat.kind() == FileKind::Directory {
                    dirs.insert(listing.path.join(&name), id);
                }
                names.push(name);
            }
            if listing.complete {
                self.set_listing(dir, names);
            }
        }
    }

    /// Stores a directory's complete list of names (their entries must be remembered), and
    /// drops names that are no longer in it.
    pub fn set_listing(&mut self, dir: u64, names: Vec<Vec<u8>>) {
        let old = self
            .nodes
            .get_mut(&dir)
            .and_then(|n| n.listing.take())
            .map(|(n, _)| n)
            .unwrap_or_default();
        if !old.is_empty() {
            let keep: std::collections::HashSet<&Vec<u8>> = names.iter().collect();
            for gone in old.iter().filter(|n| !keep.contains(n)) {
                if let Some(id) = self.dentries.remove(&(dir, gone.clone())) {
                    self.drop_name(id, dir, gone);
                }
            }
        }
        self.nodes.entry(dir).or_default().listing = Some((names, Instant::now()));
    }

    /// `name` was removed from `parent` (unlink, rmdir).
    pub fn removed(&mut self, parent: u64, name: &[u8]) {
        if let Some(id) = self.dentries.remove(&(parent, name.to_vec())) {
            self.drop_name(id, parent, name);
            // Its link count and ctime changed.
            self.invalidate_stat(id);
        }
        self.listing_remove(parent, name);
        self.invalidate_stat(parent);
    }

    /// `name` in `parent` moved to `newname` in `newparent`; with `exchange` the two swapped.
    pub fn renamed(
        &mut self,
        parent: u64,
        name: &[u8],
        newparent: u64,
        newname: &[u8],
        exchange: bool,
    ) {
        let src = self.dentries.remove(&(parent, name.to_vec()));
        let dst = self.dentries.remove(&(newparent, newname.to_vec()));
        if let Some(id) = src {
            self.drop_name(id, parent, name);
            self.invalidate_stat(id);
        }
        if let Some(id) = dst {
            self.drop_name(id, newparent, newname);
            self.invalidate_stat(id);
        }
        let place = |t: &mut Table, id: u64, p: u64, n: &[u8]| {
            t.dentries.insert((p, n.to_vec()), id);
            let node = t.nodes.entry(id).or_default();
            // The new name comes first: it is the one paths are built from.
            node.names.insert(0, (p, n.to_vec()));
            node.gone = false;
            t.listing_add(p, n);
        };
        if let Some(id) = src {
            place(self, id, newparent, newname);
        }
        if exchange {
            if let Some(id) = dst {
                place(self, id, parent, name);
            }
        } else {
            self.listing_remove(parent, name);
        }
        self.invalidate_stat(parent);
        self.invalidate_stat(newparent);
    }

    /// The regular files of 1 to `max_size` bytes a tree walk meets from `file`'s directory
    /// on, `file` first: that directory's entries in listing order (directories depth
    /// first), then what follows it in its parent's listing, and so on up to the root, as
    /// `find` and `cp -r` read a tree. Only listings the table holds are walked (fresh or
    /// not: the caller checks what it gets back). Stops at `count` files or `bytes` bytes in
    /// all; `skip` leaves files out (those already fetched).
    pub fn small_files_near(
        &self,
        file: u64,
        max_size: u64,
        count: usize,
        bytes: u64,
        skip: impl Fn(u64) -> bool,
    ) -> Vec<(u64, u64)> {
        let mut out = vec![];
        let Some(st) = self.last_stat(file) else {
            return out;
        };
        let mut total = st.size;
        out.push((file, st.size));
        let Some(start) = self.parent(file) else {
            return out;
        };
        let mut steps = 0;
        // (directory, index of the next name in its listing).
        let mut stack = vec![(start, 0)];
        let mut top = start;
        loop {
            while let Some((dir, i)) = stack.pop() {
                let Some((names, _)) = self.nodes.get(&dir).and_then(|n| n.listing.as_ref()) else {
                    continue;
                };
                let Some(name) = names.get(i) else { continue };
                stack.push((dir, i + 1));
                steps += 1;
                if steps > MAX_WALK {
                    return out;
                }
                let Some(&id) = self.dentries.get(&(dir, name.clone())) else {
                    continue;
                };
                let Some(st) = self.last_stat(id) else {
                    continue;
                };
                match st.kind() {
                    FileKind::Directory => stack.push((id, 0)),
                    FileKind::Regular
                        if (1..=max_size).contains(&st.size)
                            && !skip(id)
                            && !out.iter().any(|(f, _)| *f == id) =>
                    {
                        if out.len() >= count || total + st.size > bytes {
                            return out;
                        }
                        total += st.size;
                        out.push((id, st.size));
                    }
                    _ => {}
                }
            }
            // Done below `top`: go on after it in its parent.
            if top == ROOT {
                return out;
            }
            let Some((parent, name)) = self.nodes.get(&top).and_then(|n| n.names.first()) else {
                return out;
            };
            let Some(at) = self
                .nodes
                .get(parent)
                .and_then(|n| n.listing.as_ref())
                .and_then(|(names, _)| names.iter().position(|n| n == name))
            else {
                return out;
            };
            stack.push((*parent, at + 1));
            top = *parent;
        }
    }

    /// Drops what the kernel no longer references once the table is large, keeping the
    /// root. A node the kernel holds keeps its parents held too, so paths stay buildable.
    pub fn trim(&mut self) {
        if self.nodes.len() <= MAX_NODES {
            return;
        }
        self.nodes.retain(|id, n| *id == ROOT || n.nlookup > 0);
        for node in self.nodes.values_mut() {
            node.listing = None;
        }
        let nodes = &self.nodes;
        self.dentries.retain(|_, id| nodes.contains_key(id));
    }
}

/// Whether a directory's extended attributes hold a default ACL, which new nodes in it inherit.
pub fn has_default_acl(xattrs: &[XAttr]) -> bool {
    xattrs.iter().any(|a| a.name == "system.posix_acl_default")
}

#[cfg(test)]
mod tests {
    use super::*;
    use guestwright::protocol::{DirEntryFull, FileName, XAttr};

    fn st(ino: u64, mode: u32) -> Stat {
        Stat {
            dev: 7,
            ino,
            mode,
            nlink: 1,
            ..Stat::default()
        }
    }

    fn table() -> Table {
        Table::new(&st(2, 0o40755), Duration::from_secs(60))
    }

    #[test]
    fn small_files_near_walks_the_tree_from_the_file_as_find_does() {
        let mut t = table();
        let file = |ino, size| Stat {
            size,
            ..st(ino, 0o100644)
        };
        let a = t.remember(ROOT, b"a", &st(10, 0o40755), None, None);
        let b = t.remember(ROOT, b"b", &st(20, 0o40755), None, None);
        let top = t.remember(ROOT, b"top", &file(30, 10), None, None);
        let a1 = t.remember(a, b"a1", &file(11, 10), None, None);
        t.remember(a, b"big", &file(12, 100), None, None);
        let sub = t.remember(a, b"sub", &st(13, 0o40755), None, None);
        let a2 = t.remember(a, b"a2", &file(14, 10), None, None);
        t.remember(a, b"empty", &file(15, 0), None, None);
        t.remember(a, b"link", &st(16, 0o120777), Some(b"a1".to_vec()), None);
        let s1 = t.remember(sub, b"s1", &file(17, 10), None, None);
        let b1 = t.remember(b, b"b1", &file(21, 10), None, None);
        let names = |n: &[&[u8]]| n.iter().map(|n| n.to_vec()).collect();
        t.set_listing(ROOT, names(&[b"a", b"b", b"top"]));
        t.set_listing(a, names(&[b"a1", b"big", b"sub", b"a2", b"empty", b"link"]));
        t.set_listing(sub, names(&[b"s1"]));
        t.set_listing(b, names(&[b"b1"]));
        let ids = |v: Vec<(u64, u64)>| v.into_iter().map(|(id, _)| id).collect::<Vec<_>>();

        // The file first, then its directory whole (depth first, the file itself once;
        // too big, empty and non-regular entries left out), then what follows, up to `/`.
        let all = t.small_files_near(a2, 50, 100, 1000, |_| false);
        assert_eq!(ids(all), [a2, a1, s1, b1, top]);
        assert_eq!(
            ids(t.small_files_near(a2, 50, 100, 1000, |id| id == a1)),
            [a2, s1, b1, top]
        );
        // Bounded by count and by bytes.
        assert_eq!(
            ids(t.small_files_near(a2, 50, 3, 1000, |_| false)),
            [a2, a1, s1]
        );
        assert_eq!(
            ids(t.small_files_near(a2, 50, 100, 25, |_| false)),
            [a2, a1]
        );
        // From the last directory, the walk ends at the root's last entry.
        assert_eq!(
            ids(t.small_files_near(b1, 50, 100, 1000, |_| false)),
            [b1, top]
        );
    }

    #[test]
    fn ids_are_inode_numbers_and_root_is_one() {
        let mut t = table();
        assert_eq!(t.id_for(&st(2, 0o40755)), ROOT);
        assert_eq!(t.id_for(&st(12, 0o100644)), 12);
        // Another filesystem (another dev) and an inode 1 get ids from the high range.
        let other = Stat {
            dev: 9,
            ..st(12, 0o100644)
        };
        let a = t.id_for(&other);
        assert!(a >= FOREIGN_BASE);
        assert_eq!(t.id_for(&other), a);
        assert_ne!(t.id_for(&st(1, 0o100644)), 1);
    }

    #[test]
    fn paths_follow_renames_of_parents() {
        let mut t = table();
        let d = t.remember(ROOT, b"dir", &st(10, 0o40755), None, None);
        let f = t.remember(d, b"f", &st(11, 0o100644), None, None);
        assert_eq!(t.path(f).unwrap().as_bytes(), b"/dir/f");
        t.renamed(ROOT, b"dir", ROOT, b"moved", false);
        assert_eq!(t.path(f).unwrap().as_bytes(), b"/moved/f");
        assert_eq!(t.lookup(ROOT, b"dir"), Lookup::Unknown);
        t.removed(d, b"f");
        assert_eq!(t.path(f), None);
    }

    #[test]
    fn hard_links_keep_a_path_when_one_name_goes() {
        let mut t = table();
        let a = t.remember(ROOT, b"a", &st(20, 0o100644), None, None);
        let b = t.remember(ROOT, b"b", &st(20, 0o100644), None, None);
        assert_eq!(a, b);
        t.removed(ROOT, b"a");
        assert_eq!(t.path(a).unwrap().as_bytes(), b"/b");
    }

    #[test]
    fn a_reused_inode_number_does_not_inherit_the_old_files_caches() {
        let mut t = table();
        let x = t.remember(ROOT, b"x", &st(40, 0o100644), None, None);
        t.set_xattrs(
            x,
            vec![XAttr {
                name: "user.b".into(),
                value: b"old".to_vec().into(),
            }],
        );
        t.remember(ROOT, b"l", &st(41, 0o120777), Some(b"old".to_vec()), None);
        t.removed(ROOT, b"x");
        t.removed(ROOT, b"l");
        // The guest gives the freed numbers to new files.
        let y = t.remember(ROOT, b"y", &st(40, 0o100644), None, None);
        assert_eq!(t.xattrs(y), None);
        let d = t.remember(ROOT, b"d", &st(41, 0o40755), None, None);
        assert_eq!(t.link(d), None);
        // A hard link keeps them while a name is left.
        let a = t.remember(ROOT, b"a", &st(42, 0o100644), None, Some(vec![]));
        t.remember(ROOT, b"b", &st(42, 0o100644), None, None);
        t.removed(ROOT, b"a");
        assert_eq!(t.xattrs(a), Some(vec![]));
    }

    #[test]
    fn a_number_reused_while_the_kernel_holds_the_deleted_inode_gets_a_new_id() {
        let mut t = table();
        let d = t.remember(ROOT, b"d", &st(50, 0o40755), None, None);
        t.add_lookup(d);
        t.removed(ROOT, b"d");
        // The kernel still holds the deleted directory (an open fd): the new directory
        // with its number must be another node.
        let e = t.remember(ROOT, b"e", &st(50, 0o40755), None, None);
        assert_ne!(e, d);
        let f = t.remember(e, b"f", &st(51, 0o100644), None, None);
        assert_eq!(t.path(f).unwrap().as_bytes(), b"/e/f");
        assert_eq!(t.remember(ROOT, b"e", &st(50, 0o40755), None, None), e);
        // Once the kernel forgot it, a number is used as it is.
        t.add_lookup(f);
        t.forget(f, 1);
        t.removed(e, b"f");
        assert_eq!(t.remember(ROOT, b"g", &st(51, 0o120777), None, None), 51);
        // A renamed node keeps its id.
        t.add_lookup(51);
        t.renamed(ROOT, b"g", e, b"h", false);
        assert_eq!(t.remember(e, b"h", &st(51, 0o120777), None, None), 51);
    }

    #[test]
    fn listings_answer_negative_lookups_and_track_changes() {
        let mut t = table();
        let entry = |name: &str, ino| DirEntryFull {
            name: FileName::from(name),
            stat: st(ino, if name == "sub" { 0o40755 } else { 0o100644 }),
            link: None,
            xattrs: vec![],
        };
        t.load(
            ROOT,
            vec![
                DirListing {
                    path: GuestPath::from("/"),
                    entries: vec![entry("x", 30), entry("sub", 31)],
                    complete: true,
                    next: 9,
                },
                DirListing {
                    path: GuestPath::from("/sub"),
                    entries: vec![entry("y", 32)],
                    complete: true,
                    next: 9,
                },
            ],
        );
        assert!(matches!(t.lookup(ROOT, b"x"), Lookup::Found(30, _)));
        assert_eq!(t.lookup(ROOT, b"nope"), Lookup::Missing);
        assert!(matches!(t.lookup(31, b"y"), Lookup::Found(32, _)));
        assert_eq!(t.path(32).unwrap().as_bytes(), b"/sub/y");
        t.removed(ROOT, b"x");
        assert_eq!(t.lookup(ROOT, b"x"), Lookup::Missing);
        let names: Vec<_> = t.listing(31).unwrap().into_iter().map(|e| e.0).collect();
        assert_eq!(names, vec![b"y".to_vec()]);
        let names: Vec<_> = t.listing(ROOT).unwrap().into_iter().map(|e| e.0).collect();
        assert_eq!(names, vec![b"sub".to_vec()]);
        t.renamed(31, b"y", ROOT, b"z", false);
        // The moved file's ctime changed: it must be asked for again, under its new name.
        assert_eq!(t.lookup(ROOT, b"z"), Lookup::Unknown);
        assert_eq!(t.path(32).unwrap().as_bytes(), b"/z");
        assert_eq!(t.lookup(31, b"y"), Lookup::Missing);
    }
}
