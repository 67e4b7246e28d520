//! Fixtures of the file API tests: a bare ext4 image (the whole disk is the filesystem,
//! `/dev/sda`) built from a host tree the test writes, with checks on the whole image.

#![allow(dead_code)]

use guestwright::prelude::*;
use guestwright_tests::*;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Builds a bare ext4 image of `size_mib` from the tree `fill` writes into the given
/// directory. `inodes` sets the inode count (0: mke2fs's default).
pub fn ext4_image(
    dir: &Path,
    name: &str,
    size_mib: u64,
    inodes: u32,
    fill: impl FnOnce(&Path),
) -> PathBuf {
    require("mkfs.ext4", "e2fsprogs");
    let tree = dir.join(format!("{name}.tree"));
    std::fs::create_dir_all(&tree).unwrap();
    fill(&tree);
    let img = dir.join(name);
    let mut cmd = Command::new("mkfs.ext4");
    cmd.args(["-q", "-F", "-L", "guest", "-d"]).arg(&tree);
    if inodes > 0 {
        cmd.arg("-N").arg(inodes.to_string());
    }
    cmd.arg(&img).arg(format!("{size_mib}M"));
    run(&mut cmd);
    img
}

/// Writes a file with a mode into a host tree, creating parents.
pub fn put(tree: &Path, path: &str, content: &[u8], mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    let p = tree.join(path.trim_start_matches('/'));
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(&p, content).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// A symlink in a host tree.
pub fn symlink(tree: &Path, target: &str, path: &str) {
    let p = tree.join(path.trim_start_matches('/'));
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::os::unix::fs::symlink(target, p).unwrap();
}

/// `e2fsck -fn` on the whole image must find nothing.
pub fn fsck_clean(img: &Path) {
    let out = Command::new("e2fsck")
        .arg("-fn")
        .arg(img)
        .output()
        .expect("e2fsck (e2fsprogs)");
    assert!(
        out.status.success(),
        "e2fsck -fn found problems ({}):\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A file's contents read from the image with debugfs, on the host.
pub fn image_cat(img: &Path, path: &str) -> Vec<u8> {
    run(Command::new("debugfs")
        .arg("-R")
        .arg(format!("cat {path}"))
        .arg(img))
    .stdout
}

/// Launches with `img` attached read-write and mounts it on `/`.
pub fn launch_rw(img: &Path) -> TestHandle {
    let h = launch(&[(img, DriveOptions::readwrite())]);
    h.mount("/dev/sda", "/").check("mount /dev/sda");
    h
}

/// The errno of a failed call, with the whole error in the panic message otherwise.
pub fn errno<T: std::fmt::Debug>(r: Result<T, Error>, what: &str) -> Errno {
    match r {
        Ok(v) => panic!("{what}: expected an error, got {v:?}"),
        Err(e) => e.errno().unwrap_or_else(|| {
            panic!(
                "{what}: not a remote error: {}",
                guestwright::error::chain(&e)
            )
        }),
    }
}

/// Copies host programs and the shared libraries they need into a tree, at the same
/// paths, so guest commands can run in a test image.
pub fn install_host_programs(tree: &Path, programs: &[&str]) {
    use std::collections::BTreeSet;
    let mut files: BTreeSet<PathBuf> = BTreeSet::new();
    for prog in programs {
        let real = std::fs::canonicalize(prog).unwrap_or_else(|e| panic!("{prog}: {e}"));
        files.insert(PathBuf::from(prog));
        files.insert(real.clone());
        let out = run(Command::new("ldd").arg(&real));
        for line in String::from_utf8_lossy(&out.stdout).lines() {
            for word in line.split_whitespace() {
                if word.starts_with('/') {
                    files.insert(PathBuf::from(word));
                    if let Ok(r) = std::fs::canonicalize(word) {
                        files.insert(r);
                    }
                }
            }
        }
    }
    for f in files {
        let dest = tree.join(f.strip_prefix("/").unwrap());
        std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
        // Host paths may pass through merged-/usr symlinks; copy the bytes.
        std::fs::copy(&f, &dest).unwrap_or_else(|e| panic!("copy {}: {e}", f.display()));
    }
}
