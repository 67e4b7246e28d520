//! A whole filesystem tree as a map from guest path to what a user would compare: kind,
//! permission bits, owner, and the contents of a file or the target of a symlink. Times are
//! left out: reads and new entries change them without changing anything a user keeps.
//!
//! [`ext4_tree`] reads the ext4 partition of an image with e2fsprogs' `debugfs`, on the host,
//! without the appliance: the independent reader for tests of what the appliance writes.

use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::Command;

/// One entry of a tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    /// `f` file, `d` directory, `l` symlink, `o` anything else.
    pub kind: char,
    /// Permission bits (07777); 0 for symlinks, whose bits mean nothing on Linux.
    pub mode: u32,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
    /// A file's contents (or a digest of them), a symlink's target; empty otherwise.
    pub content: Vec<u8>,
}

impl Node {
    /// A short description for failure messages.
    pub fn describe(&self) -> String {
        match self.kind {
            'l' => format!("symlink -> {}", String::from_utf8_lossy(&self.content)),
            'f' => format!(
                "file {:04o} {}:{} ({} bytes of content or digest)",
                self.mode,
                self.uid,
                self.gid,
                self.content.len()
            ),
            k => format!("{k} {:04o} {}:{}", self.mode, self.uid, self.gid),
        }
    }
}

/// A tree: guest path (`/etc/passwd`) to entry.
pub type Tree = BTreeMap<String, Node>;

/// The paths whose entries differ between two trees (added, removed or changed), sorted.
pub fn changed_paths(before: &Tree, after: &Tree) -> Vec<String> {
    let mut out: Vec<String> = before
        .iter()
        .filter(|(p, n)| after.get(*p) != Some(n))
        .map(|(p, _)| p.clone())
        .chain(after.keys().filter(|p| !before.contains_key(*p)).cloned())
        .collect();
    out.sort();
    out.dedup();
    out
}

/// Describes the differences at `paths`, for failure messages.
pub fn describe_changes(before: &Tree, after: &Tree, paths: &[String]) -> String {
    let show = |n: Option<&Node>| n.map_or_else(|| "(absent)".to_string(), Node::describe);
    paths
        .iter()
        .map(|p| format!("  {p}: {} => {}\n", show(before.get(p)), show(after.get(p))))
        .collect()
}

/// Reads the whole ext4 filesystem at `offset` (`len` bytes) of `img` with `debugfs rdump`
/// into a temporary directory and returns its tree. Needs root (rdump keeps owners).
pub fn ext4_tree_at(img: &Path, offset: u64, len: u64) -> Tree {
    crate::require("debugfs", "e2fsprogs");
    let part = crate::extract(img, offset, len);
    let out = tempfile::tempdir().unwrap();
    let dump = out.path().join("root");
    std::fs::create_dir(&dump).unwrap();
    let res = crate::run(
        Command::new("debugfs")
            .arg("-R")
            .arg(format!("rdump / {}", dump.display()))
            .arg(part.path()),
    );
    // debugfs reports per-file failures on stderr and still exits 0.
    let stderr = String::from_utf8_lossy(&res.stderr);
    let problems: Vec<&str> = stderr
        .lines()
        .filter(|l| !l.starts_with("debugfs ") && !l.trim().is_empty())
        .collect();
    assert!(
        problems.is_empty(),
        "debugfs rdump: {}",
        problems.join("\n")
    );
    let mut tree = Tree::new();
    walk(&dump, "", &mut tree);
    tree
}

/// [`ext4_tree_at`] of the partition of a [`crate::gpt_ext4`]-style image.
pub fn ext4_tree(img: &Path) -> Tree {
    ext4_tree_at(img, crate::PART_OFFSET, crate::PART_SIZE)
}

fn walk(dir: &Path, guest: &str, tree: &mut Tree) {
    let mut names: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    names.sort();
    for name in names {
        let path = dir.join(&name);
        let g = format!("{guest}/{}", name.to_string_lossy());
        let meta = std::fs::symlink_metadata(&path).unwrap();
        let ft = meta.file_type();
        let (kind, content) = if ft.is_symlink() {
            use std::os::unix::ffi::OsStrExt;
            (
                'l',
                std::fs::read_link(&path)
                    .unwrap()
                    .as_os_str()
                    .as_bytes()
                    .to_vec(),
            )
        } else if ft.is_dir() {
            ('d', Vec::new())
        } else if ft.is_file() {
            ('f', std::fs::read(&path).unwrap())
        } else {
            ('o', Vec::new())
        };
        tree.insert(
            g.clone(),
            Node {
                kind,
                mode: if kind == 'l' { 0 } else { meta.mode() & 0o7777 },
                uid: meta.uid(),
                gid: meta.gid(),
                content,
            },
        );
        if kind == 'd' {
            walk(&path, &g, tree);
        }
    }
}
