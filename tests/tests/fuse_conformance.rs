//! `guestwright mount --rw` against a local ext4 directory: the same system calls, in the
//! same order, give the same results and the same errno in both. Names over 255 bytes give
//! ENAMETOOLONG for every call that takes a name; a file stays usable through its open
//! descriptor (fstat, read, write, ftruncate) after it is unlinked, renamed, renamed over
//! or moved with its directory, and fchmod, fchown and futimens still change it; so do
//! fstat, fchmod and futimens of a directory removed or renamed over while open, and its
//! listing is what ext4 gives (getdents64 ENOENT, readdir(3) empty); the
//! errors of ordinary misuse (EEXIST, ENOTEMPTY, ENOTDIR,
//! EISDIR, EINVAL, EPERM, ELOOP, ENOENT) arrive as they are. One launch, then `e2fsck -fn`.

use crate::fusekit;

use fusekit::*;
use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::unix::fs::{symlink, FileExt, MetadataExt, PermissionsExt};
use std::path::Path;
use std::time::{Duration, UNIX_EPOCH};

/// The errno's name for the ones these calls give, the number otherwise.
fn errno_name(e: &io::Error) -> String {
    let Some(n) = e.raw_os_error() else {
        return format!("not an OS error: {e}");
    };
    let name = match n {
        1 => "EPERM",
        2 => "ENOENT",
        5 => "EIO",
        9 => "EBADF",
        13 => "EACCES",
        17 => "EEXIST",
        18 => "EXDEV",
        20 => "ENOTDIR",
        21 => "EISDIR",
        22 => "EINVAL",
        30 => "EROFS",
        31 => "EMLINK",
        36 => "ENAMETOOLONG",
        39 => "ENOTEMPTY",
        40 => "ELOOP",
        61 => "ENODATA",
        95 => "EOPNOTSUPP",
        _ => return format!("errno {n}"),
    };
    name.to_string()
}

fn res<T>(r: io::Result<T>) -> String {
    match r {
        Ok(_) => "ok".into(),
        Err(e) => errno_name(&e),
    }
}

/// What an open descriptor shows: fstat's kind, link count and size, and the whole content.
fn through(f: &File) -> String {
    let st = match f.metadata() {
        Ok(st) => format!(
            "{} nlink={} size={}",
            if st.is_file() { "file" } else { "not-a-file" },
            st.nlink(),
            st.len()
        ),
        Err(e) => format!("fstat {}", errno_name(&e)),
    };
    let mut buf = vec![0u8; 64];
    let content = match f.read_at(&mut buf, 0) {
        Ok(n) => String::from_utf8_lossy(&buf[..n]).into_owned(),
        Err(e) => format!("read {}", errno_name(&e)),
    };
    format!("{st} content={content:?}")
}

/// What fstat says of an open file's mode, owner and modification time.
fn attributes(f: &File) -> String {
    match f.metadata() {
        Ok(st) => format!(
            "mode={:o} owner={}:{} mtime={}",
            st.mode() & 0o7777,
            st.uid(),
            st.gid(),
            st.mtime()
        ),
        Err(e) => format!("fstat {}", errno_name(&e)),
    }
}

fn rw(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(path)
}

/// Runs the calls in the empty directory `d` and says what each gave, one line each.
fn probe(d: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut say = |what: &str, r: String| out.push(format!("{what}: {r}"));
    let p = |name: &str| d.join(name);
    fs::write(p("f"), b"data").unwrap();
    fs::create_dir(p("d")).unwrap();
    fs::write(p("d/inner"), b"inner").unwrap();

    // 256 bytes: one more than any Linux filesystem keeps in a name.
    let long = "n".repeat(256);
    say("stat 256", res(fs::symlink_metadata(p(&long))));
    say("open 256", res(File::open(p(&long))));
    say("creat 256", res(File::create(p(&long))));
    say(
        "create_new 256",
        res(OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(p(&long))),
    );
    say("mkdir 256", res(fs::create_dir(p(&long))));
    say("rename to 256", res(fs::rename(p("f"), p(&long))));
    say("rename from 256", res(fs::rename(p(&long), p("g"))));
    say("symlink 256", res(symlink("f", p(&long))));
    say("link 256", res(fs::hard_link(p("f"), p(&long))));
    say("unlink 256", res(fs::remove_file(p(&long))));
    say("rmdir 256", res(fs::remove_dir(p(&long))));
    say("stat d/256", res(fs::symlink_metadata(p("d").join(&long))));
    // 255 bytes is fine.
    let max = "m".repeat(255);
    say("creat 255", res(fs::write(p(&max), b"255")));
    say(
        "read 255",
        res(fs::read(p(&max)).map(|v| assert_eq!(v, b"255"))),
    );
    say("rename 255", res(fs::rename(p(&max), p(&"r".repeat(255)))));
    say("unlink 255", res(fs::remove_file(p(&"r".repeat(255)))));
    say("mkdir 255", res(fs::create_dir(p(&max))));
    say("rmdir 255", res(fs::remove_dir(p(&max))));

    // Misuse gives the errno a local filesystem gives.
    say("mkdir existing", res(fs::create_dir(p("d"))));
    say(
        "create_new existing",
        res(OpenOptions::new().write(true).create_new(true).open(p("f"))),
    );
    say("rmdir non-empty", res(fs::remove_dir(p("d"))));
    say("rmdir file", res(fs::remove_dir(p("f"))));
    say("unlink dir", res(fs::remove_file(p("d"))));
    say("stat file/x", res(fs::symlink_metadata(p("f/x"))));
    say("creat file/x", res(File::create(p("f/x"))));
    say(
        "open dir for writing",
        res(OpenOptions::new().write(true).open(p("d"))),
    );
    say("rename dir over file", res(fs::rename(p("d"), p("f"))));
    say("rename file over dir", res(fs::rename(p("f"), p("d"))));
    say(
        "rename dir into itself",
        res(fs::rename(p("d"), p("d/sub"))),
    );
    say("link dir", res(fs::hard_link(p("d"), p("dlink"))));
    say("readlink file", res(fs::read_link(p("f"))));
    say("readdir file", res(fs::read_dir(p("f"))));
    say("open missing", res(File::open(p("missing"))));
    say("unlink missing", res(fs::remove_file(p("missing"))));
    say("rename missing", res(fs::rename(p("missing"), p("x"))));
    say("link missing", res(fs::hard_link(p("missing"), p("x"))));
    symlink("loop", p("loop")).unwrap();
    say("open symlink loop", res(File::open(p("loop"))));
    symlink("nowhere", p("dangling")).unwrap();
    say(
        "create_new over dangling symlink",
        res(OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(p("dangling"))),
    );
    say("symlink over file", res(symlink("x", p("f"))));
    say("link over file", res(fs::hard_link(p("d/inner"), p("f"))));

    // Open, then unlinked: the descriptor still reads, writes, truncates and stats.
    let f = rw(&p("u")).unwrap();
    f.write_all_at(b"hello", 0).unwrap();
    say("unlink open file", res(fs::remove_file(p("u"))));
    say("after unlink", through(&f));
    say("write after unlink", res(f.write_all_at(b" world", 5)));
    say("after unlink and write", through(&f));
    say("ftruncate after unlink", res(f.set_len(3)));
    say("after unlink and ftruncate", through(&f));
    say("fsync after unlink", res(f.sync_all()));
    say(
        "fchmod after unlink",
        res(f.set_permissions(fs::Permissions::from_mode(0o604))),
    );
    say(
        "fchown after unlink",
        res(std::os::unix::fs::fchown(&f, Some(1234), Some(5678))),
    );
    say(
        "futimens after unlink",
        res(f.set_modified(UNIX_EPOCH + Duration::from_secs(1_000_000_000))),
    );
    say("attributes after unlink", attributes(&f));
    say(
        "stat of the unlinked name",
        res(fs::symlink_metadata(p("u"))),
    );
    drop(f);

    // Open, then renamed into another directory.
    let f = rw(&p("r1")).unwrap();
    f.write_all_at(b"one", 0).unwrap();
    say("rename open file", res(fs::rename(p("r1"), p("d/r2"))));
    say("after rename", through(&f));
    say("write after rename", res(f.write_all_at(b"+two", 3)));
    say("after rename and write", through(&f));
    say(
        "read the new name",
        res(fs::read(p("d/r2")).map(|v| String::from_utf8(v).unwrap())),
    );
    say(
        "new name's content",
        String::from_utf8_lossy(&fs::read(p("d/r2")).unwrap_or_default()).into_owned(),
    );
    drop(f);

    // Open, then another file renamed over it: the descriptor keeps the old file.
    let f = rw(&p("victim")).unwrap();
    f.write_all_at(b"victim", 0).unwrap();
    fs::write(p("winner"), b"winner").unwrap();
    say(
        "rename over open file",
        res(fs::rename(p("winner"), p("victim"))),
    );
    say("after being renamed over", through(&f));
    say(
        "write after being renamed over",
        res(f.write_all_at(b"!", 6)),
    );
    say("after being renamed over and write", through(&f));
    say(
        "the name now",
        String::from_utf8_lossy(&fs::read(p("victim")).unwrap_or_default()).into_owned(),
    );
    drop(f);

    // Open, then its directory renamed.
    fs::create_dir(p("p")).unwrap();
    let f = rw(&p("p/x")).unwrap();
    f.write_all_at(b"in p", 0).unwrap();
    say(
        "rename the open file's directory",
        res(fs::rename(p("p"), p("q"))),
    );
    say("after its directory moved", through(&f));
    say(
        "write after its directory moved",
        res(f.write_all_at(b"!", 4)),
    );
    say(
        "the file by its new path",
        String::from_utf8_lossy(&fs::read(p("q/x")).unwrap_or_default()).into_owned(),
    );
    drop(f);

    // Open, hard-linked, the first name removed: the link count follows.
    let f = rw(&p("h1")).unwrap();
    f.write_all_at(b"linked", 0).unwrap();
    say("link open file", res(fs::hard_link(p("h1"), p("h2"))));
    say("after link", through(&f));
    say("unlink the first name", res(fs::remove_file(p("h1"))));
    say("after unlinking one name", through(&f));
    say("unlink the second name", res(fs::remove_file(p("h2"))));
    say("after unlinking both", through(&f));
    drop(f);

    // Several descriptors of one unlinked file see each other's writes.
    let a = rw(&p("shared")).unwrap();
    let b = OpenOptions::new()
        .read(true)
        .write(true)
        .open(p("shared"))
        .unwrap();
    say(
        "unlink a file open twice",
        res(fs::remove_file(p("shared"))),
    );
    say("write through one", res(a.write_all_at(b"from a", 0)));
    say("read through the other", through(&b));
    drop(a);
    say("after closing the first", through(&b));
    drop(b);

    // An open directory, then removed: its descriptor still stats, and fchmod and
    // futimens still change it (the kernel sends those by node, with no handle).
    fs::create_dir(p("gone")).unwrap();
    let dir = File::open(p("gone")).unwrap();
    say("rmdir open directory", res(fs::remove_dir(p("gone"))));
    say("fstat after rmdir", dir_state(&dir));
    say(
        "fchmod after rmdir",
        res(dir.set_permissions(fs::Permissions::from_mode(0o711))),
    );
    say(
        "futimens after rmdir",
        res(dir.set_modified(UNIX_EPOCH + Duration::from_secs(1_100_000_000))),
    );
    say("attributes after rmdir", attributes(&dir));
    say("getdents after rmdir", getdents(&dir));
    say("readdir after rmdir", readdir(&dir));
    say(
        "stat of the removed name",
        res(fs::symlink_metadata(p("gone"))),
    );
    drop(dir);
    // The same for a directory renamed over, twice open.
    fs::create_dir(p("old")).unwrap();
    fs::create_dir(p("new")).unwrap();
    let a = File::open(p("old")).unwrap();
    let b = File::open(p("old")).unwrap();
    say(
        "rename over open directory",
        res(fs::rename(p("new"), p("old"))),
    );
    say("fstat after being renamed over", dir_state(&a));
    say("readdir after being renamed over", readdir(&a));
    drop(a);
    say(
        "fchmod through the other descriptor",
        res(b.set_permissions(fs::Permissions::from_mode(0o700))),
    );
    say(
        "mode through the other descriptor",
        res(b.metadata().map(|st| assert_eq!(st.mode() & 0o7777, 0o700))),
    );
    say(
        "the name now holds",
        dir_state(&File::open(p("old")).unwrap()),
    );
    out
}

/// What getdents64(2) gives from the start of an open directory: the names or the errno.
fn getdents(f: &File) -> String {
    use std::os::fd::AsRawFd;
    let fd = f.as_raw_fd();
    // SAFETY: a descriptor we own; lseek only moves its offset.
    if unsafe { libc::lseek(fd, 0, libc::SEEK_SET) } < 0 {
        return format!("lseek {}", errno_name(&io::Error::last_os_error()));
    }
    let mut buf = vec![0u8; 8192];
    let mut names = Vec::new();
    loop {
        // SAFETY: the buffer is ours and as long as we say.
        let n = unsafe { libc::syscall(libc::SYS_getdents64, fd, buf.as_mut_ptr(), buf.len()) };
        if n < 0 {
            return format!("{names:?} then {}", errno_name(&io::Error::last_os_error()));
        }
        if n == 0 {
            return format!("{names:?}");
        }
        let mut at = 0;
        while at < n as usize {
            // struct linux_dirent64: ino (8), off (8), reclen (2), type (1), name.
            let reclen = u16::from_ne_bytes([buf[at + 16], buf[at + 17]]) as usize;
            let name = &buf[at + 19..at + reclen];
            let end = name.iter().position(|b| *b == 0).unwrap_or(name.len());
            names.push(String::from_utf8_lossy(&name[..end]).into_owned());
            at += reclen;
        }
    }
}

/// What readdir(3) gives from the start of an open directory (a copy of its descriptor):
/// the names, sorted, or the errno.
fn readdir(f: &File) -> String {
    use std::os::fd::AsRawFd;
    // SAFETY: dup of a descriptor we own; fdopendir takes the copy, closedir closes it.
    unsafe {
        let fd = libc::dup(f.as_raw_fd());
        if fd < 0 {
            return format!("dup {}", errno_name(&io::Error::last_os_error()));
        }
        let d = libc::fdopendir(fd);
        if d.is_null() {
            libc::close(fd);
            return format!("fdopendir {}", errno_name(&io::Error::last_os_error()));
        }
        libc::rewinddir(d);
        let mut names = Vec::new();
        let outcome = loop {
            *libc::__errno_location() = 0;
            let e = libc::readdir(d);
            if e.is_null() {
                let err = io::Error::last_os_error();
                break match err.raw_os_error() {
                    Some(0) => String::new(),
                    _ => format!(" then {}", errno_name(&err)),
                };
            }
            let name = std::ffi::CStr::from_ptr((*e).d_name.as_ptr());
            names.push(name.to_string_lossy().into_owned());
        };
        libc::closedir(d);
        names.sort();
        format!("{names:?}{outcome}")
    }
}

/// What fstat says of an open directory: its kind and link count.
fn dir_state(f: &File) -> String {
    match f.metadata() {
        Ok(st) => format!(
            "{} nlink={}",
            if st.is_dir() { "dir" } else { "not-a-dir" },
            st.nlink()
        ),
        Err(e) => format!("fstat {}", errno_name(&e)),
    }
}

#[test]
fn mount_answers_system_calls_as_a_local_filesystem_does() {
    let tmp = tempfile::tempdir().unwrap();
    // The reference: a directory of this host's ext4 (the test's temporary directory).
    let local = tmp.path().join("local");
    fs::create_dir(&local).unwrap();
    let fstype = ok(&format!("stat -f -c %T {}", local.display()), None);
    assert_eq!(
        fstype.trim(),
        "ext2/ext3",
        "the reference directory {} must be on ext4 (TMPDIR on ext4)",
        local.display()
    );
    let expected = probe(&local);

    let empty = tmp.path().join("empty");
    fs::create_dir(&empty).unwrap();
    let img = tmp.path().join("disk.img");
    image_of(&empty, &img, 32);
    let mnt = tmp.path().join("mnt");
    let mut m = Mount::new(&img, &mnt, &["--rw"]);
    let guest = mnt.join("probe");
    fs::create_dir(&guest).unwrap();
    // The calls run on a thread: a hang in the mount fails the test instead of blocking it.
    let (tx, rx) = std::sync::mpsc::channel();
    let g = guest.clone();
    std::thread::spawn(move || {
        let _ = tx.send(probe(&g));
    });
    let got = rx
        .recv_timeout(Duration::from_secs(300))
        .expect("the calls in the mount did not finish within 300 s: the mount hung");

    let diff: Vec<String> = expected
        .iter()
        .zip(&got)
        .filter(|(e, g)| e != g)
        .map(|(e, g)| format!("local ext4: {e}\n     mount: {g}"))
        .collect();
    assert!(
        diff.is_empty() && expected.len() == got.len(),
        "the mount differs from a local ext4 directory:\n{}",
        diff.join("\n")
    );
    // And what a local filesystem gives is what POSIX and ext4 say.
    for line in [
        "stat 256: ENAMETOOLONG",
        "creat 256: ENAMETOOLONG",
        "mkdir 256: ENAMETOOLONG",
        "rename to 256: ENAMETOOLONG",
        "symlink 256: ENAMETOOLONG",
        "link 256: ENAMETOOLONG",
        "creat 255: ok",
        "rmdir non-empty: ENOTEMPTY",
        "rename dir into itself: EINVAL",
        "open symlink loop: ELOOP",
        "after unlink: file nlink=0 size=5 content=\"hello\"",
        "after unlink and write: file nlink=0 size=11 content=\"hello world\"",
        "after unlink and ftruncate: file nlink=0 size=3 content=\"hel\"",
        "attributes after unlink: mode=604 owner=1234:5678 mtime=1000000000",
        "after rename and write: file nlink=1 size=7 content=\"one+two\"",
        "after being renamed over and write: file nlink=0 size=7 content=\"victim!\"",
        "the name now: winner",
        "after unlinking one name: file nlink=1 size=6 content=\"linked\"",
        "after unlinking both: file nlink=0 size=6 content=\"linked\"",
        "after closing the first: file nlink=0 size=6 content=\"from a\"",
        "fstat after rmdir: dir nlink=0",
        "fchmod after rmdir: ok",
        "futimens after rmdir: ok",
        "attributes after rmdir: mode=711 owner=0:0 mtime=1100000000",
        "stat of the removed name: ENOENT",
        "getdents after rmdir: [] then ENOENT",
        "readdir after rmdir: []",
        "readdir after being renamed over: []",
        "fstat after being renamed over: dir nlink=0",
        "mode through the other descriptor: ok",
        "the name now holds: dir nlink=2",
    ] {
        assert!(
            got.iter().any(|g| g == line),
            "missing `{line}` in:\n{}",
            got.join("\n")
        );
    }
    m.umount();
    assert_e2fsck_clean(&img);
}
