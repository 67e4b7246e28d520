//! `guestwright mount` read-only: the mounted image shows exactly the tree it was built
//! from (contents, stat of every entry, tar output, xattrs), writers get EROFS, nothing
//! executes, other users see nothing, concurrent readers get correct data, and when QEMU
//! is killed under the mount, operations fail with EIO and `umount` still works.
//! One launch. Then, in a launch each: `cd`, `ls` and `test -r` in every directory once the
//! mount's cached attributes have expired, with half-second timeouts and with the default
//! 60 s ones after a minute idle.

use crate::fusekit;

use fusekit::*;
use guestwright_tests::*;
use std::process::Command;
use std::time::{Duration, Instant};

#[test]
fn read_only_mount_shows_the_tree_and_survives_a_dead_appliance() {
    require("setfattr", "attr");
    require("setpriv", "util-linux");
    let tmp = tempfile::tempdir().unwrap();
    let tree = tmp.path().join("tree");
    known_tree(&tree, 64 << 20);
    let img = tmp.path().join("disk.img");
    image_of(&tree, &img, 200);
    let image_sum = sha256(&img);
    let mnt = tmp.path().join("mnt");
    let mut m = Mount::new(&img, &mnt, &[]);
    let (t, mp) = (tree.join("data"), mnt.join("data"));

    // Safe by default: nosuid, nodev, noexec (read-only), read-only.
    let opts = mount_options(&mnt);
    for o in ["ro", "nosuid", "nodev", "noexec"] {
        assert!(opts.split(',').any(|x| x == o), "{o} missing from {opts}");
    }

    // The contents, every entry's stat, the tar stream and the xattrs are the tree's.
    ok(
        &format!("diff -r --no-dereference {} {}", t.display(), mp.display()),
        None,
    );
    assert_eq!(stat_listing(&mp, true), stat_listing(&t, true));
    let tar = |dir: &std::path::Path| {
        ok(
            &format!(
                "tar -C {} -c --sort=name --numeric-owner data | sha256sum",
                dir.display()
            ),
            None,
        )
    };
    assert_eq!(tar(&mnt), tar(&tree));
    let xattrs = "getfattr -R -h -d -m '^user\\.' . 2>/dev/null | LC_ALL=C sort";
    let x = ok(xattrs, Some(&mp));
    assert!(x.contains("user.comment=\"hello\""), "xattrs: {x}");
    assert_eq!(x, ok(xattrs, Some(&t)));
    // Hard links are one inode; the setuid bit is shown (and never honoured).
    let ino = ok("stat -c '%i %h' hard1 dir/hard2", Some(&mp));
    let lines: Vec<&str> = ino.lines().collect();
    assert_eq!(lines[0], lines[1]);
    assert!(lines[0].ends_with(" 2"), "{ino}");
    assert_eq!(ok("stat -c %a bin/setuid", Some(&mp)).trim(), "4755");
    assert_eq!(ok("readlink links/abs", Some(&mp)).trim(), "/data/one");
    assert_eq!(ok("cat links/rel", Some(&mp)), "1");
    assert!(
        ok("stat -f -c %b .", Some(&mnt))
            .trim()
            .parse::<u64>()
            .unwrap()
            > 0
    );

    // Writers get EROFS; nothing runs from a read-only mount.
    for w in [
        "touch new",
        "echo x >> one",
        "mkdir newdir",
        "rm one",
        "mv one two",
        "chmod 600 one",
        "ln -s one l2",
        "setfattr -n user.x -v 1 one",
        "truncate -s 0 one",
    ] {
        let out = bash(w, Some(&mp));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success() && err.contains("Read-only file system"),
            "`{w}` should fail with EROFS: {err}"
        );
    }
    let out = bash("./bin/run.sh", Some(&mp));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("Permission denied"),
        "a read-only mount is noexec"
    );
    // Another user sees nothing without -o allow_other.
    let out = bash(
        &format!(
            "setpriv --reuid=65534 --regid=65534 --clear-groups ls {}",
            mp.display()
        ),
        None,
    );
    assert!(!out.status.success(), "another user could list the mount");

    // Concurrent readers get correct data.
    let expect = ok("sha256sum big odd dir/a/mid.txt", Some(&t));
    let out = ok(
        "for i in 1 2 3; do cat big > /tmp/$$.big$i & done; cat odd > /tmp/$$.odd & \
         cat dir/a/mid.txt > /tmp/$$.mid & wait; \
         for i in 1 2 3; do sha256sum < /tmp/$$.big$i; done; sha256sum < /tmp/$$.odd; \
         sha256sum < /tmp/$$.mid; rm -f /tmp/$$.*",
        Some(&mp),
    );
    let want: Vec<&str> = expect
        .lines()
        .map(|l| l.split(' ').next().unwrap())
        .collect();
    let got: Vec<&str> = out.lines().map(|l| l.split(' ').next().unwrap()).collect();
    assert_eq!(got, vec![want[0], want[0], want[0], want[1], want[2]]);

    // QEMU dies: operations that need the appliance fail with EIO, nothing hangs, and
    // umount still unmounts (reporting that the shutdown failed).
    let server = m.server_pid();
    let qemu = m.qemu_pid();
    run(std::process::Command::new("kill")
        .arg("-9")
        .arg(qemu.to_string()));
    std::thread::sleep(Duration::from_millis(300));
    let started = Instant::now();
    let out = bash("cat spare.bin > /dev/null", Some(&mnt));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("Input/output error"),
        "reading after QEMU died: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "EIO took {:?}",
        started.elapsed()
    );
    let out = m.umount_with(&[]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "umount after QEMU died: {err}");
    assert!(err.contains("finishing the image failed"), "{err}");
    assert!(!is_mounted(&mnt), "still mounted after umount");
    // The server lets umount go as its very last step; it is gone a moment later.
    let gone = Instant::now();
    while std::path::Path::new(&format!("/proc/{server}")).exists() {
        assert!(
            gone.elapsed() < Duration::from_secs(5),
            "the server outlived umount"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(!m.pid_file.exists(), "the pid file outlived the server");
    // A read-only mount never changes the image.
    assert_eq!(sha256(&img), image_sum);
    // umount of something not mounted: exit 3.
    let out = m.umount_with(&[]);
    assert_eq!(out.status.code(), Some(3));
}

/// Lists `data` (the mount fetches and caches everything below it; the kernel learns only
/// the names in `data`), lists the whole tree after `first` seconds (the kernel learns the
/// names below from the mount's cache and trusts them from now on, while the attributes the
/// mount holds are as old as the first listing), waits `second` seconds more (the mount's
/// attributes have expired, the kernel's names not yet) and then goes into every directory
/// and reads every file there: `cd` and `test -r` make the kernel ask the mount (ACCESS)
/// about a node whose cached attributes have expired.
fn expire_then_enter(first: &str, second: &str) -> String {
    format!(
        r#"set -e
ls -la data > /dev/null
sleep {first}
ls -laR data > /dev/null
sleep {second}
find data -type d -print0 | while IFS= read -r -d '' d; do
  ( cd "$d" && ls -la > /dev/null && test -r . && test -x . && ! test -w .
    for f in *; do
      if test -f "$f" && ! test -L "$f"; then test -r "$f" && cat -- "$f" > /dev/null; fi
    done )
done
cat data/dir/a/b/c/d/e/deep.txt
"#
    )
}

/// A read-only mount whose attributes and names expire after half a second: once what the
/// mount cached has expired while the kernel still trusts a name, `cd` into the directory
/// and `test -r` still answer (access(2) used to look the node table up twice and hang).
#[test]
fn read_only_mount_answers_access_after_its_caches_expire() {
    let tmp = tempfile::tempdir().unwrap();
    let tree = tmp.path().join("tree");
    known_tree(&tree, 1 << 20);
    let img = tmp.path().join("disk.img");
    image_of(&tree, &img, 64);
    let mnt = tmp.path().join("mnt");
    let mut m = Mount::new(&img, &mnt, &["-o", "attr_timeout=0.5,entry_timeout=0.5"]);
    for (first, second) in [("0.3", "0.35"), ("0.1", "0.45"), ("0.4", "0.2")] {
        let out = ok_within(
            &expire_then_enter(first, second),
            Some(&mnt),
            Duration::from_secs(300),
        );
        assert_eq!(out, "deep down\n");
    }
    m.umount();
}

/// The same at the default timeouts (60 s): 30 s after the first listing, the second one,
/// then 35 s idle. About 65 s of waiting: run with the others (`scripts/test`).
#[test]
fn read_only_mount_answers_after_a_minute_idle() {
    let tmp = tempfile::tempdir().unwrap();
    let tree = tmp.path().join("tree");
    known_tree(&tree, 1 << 20);
    let img = tmp.path().join("disk.img");
    image_of(&tree, &img, 64);
    let mnt = tmp.path().join("mnt");
    let mut m = Mount::new(&img, &mnt, &[]);
    let out = ok_within(
        &expire_then_enter("30", "35"),
        Some(&mnt),
        Duration::from_secs(400),
    );
    assert_eq!(out, "deep down\n");
    m.umount();
}

/// guestunmount unmounts any FUSE mount, not only its own: libguestfs's scripts mount with
/// the library's `mount_local` and unmount with guestunmount. A FUSE mount made by another
/// program (ntfs-3g here) goes with exit status 0; a mount that is not FUSE is refused
/// (exit 3) and stays.
#[test]
fn umount_takes_another_programs_fuse_mount_and_refuses_a_non_fuse_one() {
    let dir = tempfile::tempdir().unwrap();
    let img = dir.path().join("ntfs.img");
    std::fs::File::create(&img)
        .unwrap()
        .set_len(16 << 20)
        .unwrap();
    let made = Command::new("mkntfs")
        .args(["-q", "-F", "-Q"])
        .arg(&img)
        .output()
        .expect("mkntfs (apt-get install ntfs-3g; scripts/setup installs it)");
    assert!(made.status.success(), "{made:?}");
    let mp = dir.path().join("mp");
    std::fs::create_dir(&mp).unwrap();
    let mounted = run_within(
        Command::new("ntfs-3g").arg(&img).arg(&mp),
        Duration::from_secs(60),
    );
    assert!(mounted.status.success(), "ntfs-3g: {mounted:?}");
    assert!(is_mounted(&mp));
    let out = run_within(
        Command::new(guestwright_bin()).arg("umount").arg(&mp),
        Duration::from_secs(120),
    );
    if is_mounted(&mp) {
        let _ = Command::new("umount").arg("-l").arg(&mp).status();
    }
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(!is_mounted(&mp), "the ntfs-3g mount is still there");

    // A tmpfs is not FUSE: refused, left mounted.
    let tmp = dir.path().join("tmpfs");
    std::fs::create_dir(&tmp).unwrap();
    assert!(Command::new("mount")
        .args(["-t", "tmpfs", "none"])
        .arg(&tmp)
        .status()
        .unwrap()
        .success());
    let out = run_within(
        Command::new(guestwright_bin()).arg("umount").arg(&tmp),
        Duration::from_secs(60),
    );
    let still = is_mounted(&tmp);
    let _ = Command::new("umount").arg(&tmp).status();
    assert_eq!(out.status.code(), Some(3), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("is not a FUSE mount"),
        "{out:?}"
    );
    assert!(still, "a tmpfs was unmounted");
}
