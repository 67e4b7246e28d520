//! `guestwright mount --rw`: ordinary commands (shell redirections, truncate, mv, chmod,
//! chown, rm, ln, cp -a, tar, rsync, sed -i, setfattr, touch, mkfifo, git) change the guest
//! as they change a host copy of the same tree; `umount` returns only once the image is
//! final, so a copy taken at once holds every change (libguestfs's guestunmount race), is
//! clean for `e2fsck -fn` and shows the same tree in a new launch. A busy mountpoint makes
//! `umount` exit 2; a guest setuid program never runs with its owner's rights. The first
//! mount has the options a user gets (no allow_other), the second allow_other. Two launches.
//!
//! Real workloads (git, tar, rsync, mkdir -p, cp -a) each under a deadline, in a default
//! mount and in one whose caches expire after half a second, then `e2fsck -fn`: one launch
//! each.

use crate::fusekit;

use fusekit::*;
use guestwright_tests::*;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// The same changes, applied to the host copy and to the mount (`$1` is the source of the
/// copies, `$PWD` the tree).
const CHANGES: &str = r#"set -e
echo hello > new.txt
echo more >> new.txt
printf abcdefgh > trunc.txt
truncate -s 3 trunc.txt
truncate -s 100000 one
mv page page.moved
mkdir -p made/a/b
echo x > made/a/b/f
mv dir/a made/a-moved
chmod 0600 odd
chmod 0711 bin
chown 1234:5678 new.txt
chown -h 42:43 links/abs
rm empty
rm -r 日本語
rmdir empty-dir
ln -s new.txt new.link
ln new.txt new.hard
cp -a sticky copied-sticky
sed -i 's/hello/HELLO/' new.txt
tar -C "$1" -cf - data/setgid-dir data/links | tar -xpf - --numeric-owner
rsync -aH "$1/data/dir/" rsynced/
setfattr -n user.k -v value new.txt
setfattr -x user.comment xattr
mkdir acl-dir
setfacl -d -m u:1234:rwx acl-dir
getfacl -p acl-dir > /dev/null
echo in > acl-dir/inherited
mkdir acl-dir/sub
getfacl -p acl-dir/inherited > /dev/null
touch -d '2020-01-02 03:04:05.123456789' odd
mkfifo fifo
cp big big.copy
dd if=/dev/zero of=big.copy bs=4096 seek=10 count=3 conv=notrunc status=none
python3 -c 'import os; os.rename("trunc.txt", "trunc2.txt")' 2>/dev/null || mv trunc.txt trunc2.txt
"#;

#[test]
fn read_write_mount_changes_the_image_and_umount_waits_until_it_is_final() {
    for (tool, pkg) in [
        ("setfattr", "attr"),
        ("setfacl", "acl"),
        ("rsync", "rsync"),
        ("git", "git"),
    ] {
        require(tool, pkg);
    }
    let tmp = tempfile::tempdir().unwrap();
    // Another user must reach the second mount.
    std::fs::set_permissions(
        tmp.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let src = tmp.path().join("src");
    known_tree(&src, 16 << 20);
    let img = tmp.path().join("disk.img");
    image_of(&src, &img, 120);
    // The expected result: the same changes on a host copy.
    let expected = tmp.path().join("expected");
    ok(
        &format!("cp -a {}/data {}", src.display(), expected.display()),
        None,
    );
    ok(
        &format!(
            "bash -c '{}' x {}",
            CHANGES.replace('\'', "'\\''"),
            src.display()
        ),
        Some(&expected),
    );

    let mnt = tmp.path().join("mnt");
    // The options a user gets: without allow_other the kernel leaves permission checks to
    // the mount and asks it for every access(2) and chdir.
    let mut m = Mount::new(&img, &mnt, &["--rw"]);
    let data = mnt.join("data");
    let opts = mount_options(&mnt);
    assert!(opts.contains("nosuid") && opts.contains("nodev"), "{opts}");
    ok(
        &format!(
            "bash -c '{}' x {}",
            CHANGES.replace('\'', "'\\''"),
            src.display()
        ),
        Some(&data),
    );
    // What the mount shows right away matches the host.
    ok(
        &format!(
            "diff -r --no-dereference -x fifo {} {}",
            expected.display(),
            data.display()
        ),
        None,
    );
    assert_eq!(stat_listing(&data, false), stat_listing(&expected, false));
    assert_eq!(
        ok("stat -c %y odd", Some(&data)),
        "2020-01-02 03:04:05.123456789 +0000\n"
    );
    // A file made in a directory with a default ACL inherits it, as on the host, and the
    // mount says so at once (its cache of a new file's extended attributes).
    let acls = "getfacl -p acl-dir acl-dir/inherited acl-dir/sub";
    let inherited = ok(acls, Some(&expected));
    assert!(
        inherited.contains("# file: acl-dir/inherited\n"),
        "{inherited}"
    );
    assert!(inherited.contains("user:1234:rwx"), "{inherited}");
    assert_eq!(ok(acls, Some(&data)), inherited);
    // git works in the mount (lock files, renames, fsync, mmap-free reads).
    ok(
        "git init -q repo && cd repo && echo a > a && mkdir d && echo b > d/b && git add -A \
         && git -c user.name=t -c user.email=t@t commit -qm one && echo c >> a \
         && git -c user.name=t -c user.email=t@t commit -qam two && git fsck --strict --no-progress \
         && test -z \"$(git status --porcelain)\" && test \"$(git log --oneline | wc -l)\" = 2",
        Some(&mnt),
    );

    // A guest setuid-root program, run below from the second mount.
    ok(
        "cp /usr/bin/id suid-id && chown 0:0 suid-id && chmod 4755 suid-id",
        Some(&mnt),
    );
    assert_eq!(ok("stat -c %a suid-id", Some(&mnt)).trim(), "4755");

    // Busy: exit 2, and the mount stays.
    let mut holder = Command::new("sleep")
        .arg("60")
        .current_dir(&data)
        .spawn()
        .unwrap();
    let out = m.umount_with(&["--no-retry"]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(is_mounted(&mnt));
    holder.kill().unwrap();
    holder.wait().unwrap();

    // umount returns once the image is final: copy it at once.
    m.umount();
    let copy = tmp.path().join("copy.img");
    std::fs::copy(&img, &copy).unwrap();
    let out = Command::new("e2fsck")
        .arg("-fn")
        .arg(&copy)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "e2fsck -fn of the image right after umount:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );

    // A new launch of the copy shows every change, here with allow_other (and so
    // default_permissions: the host kernel checks modes and owners itself).
    let mnt2 = tmp.path().join("mnt2");
    let mut m2 = Mount::new(&copy, &mnt2, &["-o", "allow_other,exec"]);
    let opts = mount_options(&mnt2);
    assert!(opts.contains("nosuid") && opts.contains("nodev"), "{opts}");
    let data2 = mnt2.join("data");
    ok(
        &format!(
            "diff -r --no-dereference -x fifo {} {}",
            expected.display(),
            data2.display()
        ),
        None,
    );
    assert_eq!(stat_listing(&data2, false), stat_listing(&expected, false));
    assert_eq!(
        ok("stat -c %y odd", Some(&data2)),
        "2020-01-02 03:04:05.123456789 +0000\n"
    );
    assert_eq!(
        ok("getfattr -h -d -m '^user\\.' new.txt xattr", Some(&data2)),
        "# file: new.txt\nuser.k=\"value\"\n\n"
    );
    assert_eq!(ok(acls, Some(&data2)), inherited);
    assert_eq!(
        ok("git log --format=%s", Some(&mnt2.join("repo"))),
        "two\none\n"
    );
    // Another user: sees the files the guest modes let everyone see, gets EACCES for the
    // others, and a guest setuid-root program runs with that user's rights (nosuid).
    let other = |cmd: &str| {
        bash(
            &format!("setpriv --reuid=65534 --regid=65534 --clear-groups {cmd}"),
            Some(&data2),
        )
    };
    let out = other("cat dir/hard2");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.stdout, b"linked\n");
    let out = other("cat owned");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("Permission denied"),
        "another user read a file of mode 0640 owned by 1000:1000: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let who = other("../suid-id -u");
    assert!(
        who.status.success(),
        "{}",
        String::from_utf8_lossy(&who.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&who.stdout).trim(),
        "65534",
        "a guest setuid program ran elevated"
    );
    m2.umount();
    assert!(!Path::new(&mnt2).join("data").exists());
}

/// The workloads of [`workloads`] under this deadline each: far more than a loaded TCG
/// machine needs, so reaching it means the mount hung.
const WORKLOAD_DEADLINE: Duration = Duration::from_secs(480);

/// Real programs in a read-write mount made with `extra` options: `git init` + add + commit
/// of 200 files, `tar x`, `rsync -aH`, `mkdir -p` 40 deep and `cp -a` of a tree with
/// symlinks and hard links, each compared with the source; with `pause`, a sleep between
/// steps (`pause`) lets the attributes and names of what was just written expire. Then umount and
/// `e2fsck -fn` of the image.
fn workloads(extra: &[&str], pause: &str) {
    for (tool, pkg) in [("git", "git"), ("rsync", "rsync"), ("tar", "tar")] {
        require(tool, pkg);
    }
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    workload_tree(&src);
    let tarball = tmp.path().join("src.tar");
    ok(
        &format!(
            "tar -C {} -cf {} --numeric-owner .",
            src.display(),
            tarball.display()
        ),
        None,
    );
    let empty = tmp.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let img = tmp.path().join("disk.img");
    image_of(&empty, &img, 160);
    let mnt = tmp.path().join("mnt");
    let mut m = Mount::new(&img, &mnt, extra);
    let step = |name: &str, script: &str| {
        let started = Instant::now();
        let script = format!("set -e\npause() {{ {pause}; }}\n{script}\npause");
        ok_within(&script, Some(&mnt), WORKLOAD_DEADLINE);
        eprintln!("{name}: {:?}", started.elapsed());
    };
    let same_tree = |copy: &str| {
        let copy = mnt.join(copy);
        ok(
            &format!(
                "diff -r --no-dereference {} {}",
                src.display(),
                copy.display()
            ),
            None,
        );
        assert_eq!(
            stat_listing(&copy, true),
            stat_listing(&src, true),
            "{copy:?}"
        );
        assert_eq!(link_groups(&copy), link_groups(&src), "{copy:?}");
    };

    // git: a repository of 200 files in 10 directories, committed twice, checked.
    step(
        "git",
        "git init -q repo && pause && cd repo
         for d in $(seq 10); do mkdir dir$d; for f in $(seq 20); do
           echo \"file $d/$f\" > dir$d/f$f; done; done
         git add -A
         git -c user.name=t -c user.email=t@t commit -qm first
         pause
         echo changed >> dir3/f7 && git rm -q dir9/f1 && git mv dir1/f2 moved
         git -c user.name=t -c user.email=t@t commit -qam second
         git fsck --strict --no-progress
         test -z \"$(git status --porcelain)\"
         test \"$(git ls-files | wc -l)\" = 199
         test \"$(git log --oneline | wc -l)\" = 2",
    );
    assert_eq!(
        ok("git show HEAD:dir3/f7", Some(&mnt.join("repo"))),
        "file 3/7\nchanged\n"
    );
    step(
        "tar x",
        &format!(
            "mkdir tarx && tar -C tarx -xpf {} --numeric-owner",
            tarball.display()
        ),
    );
    same_tree("tarx");
    step("rsync", &format!("rsync -aH {}/ rsynced/", src.display()));
    same_tree("rsynced");
    let deep: Vec<String> = (1..=40).map(|i| format!("level{i}")).collect();
    let deep = deep.join("/");
    step(
        "mkdir -p",
        &format!(
            "mkdir -p deep/{deep} && echo bottom > deep/{deep}/file && pause && cd deep/{deep} && \
             test \"$(cat file)\" = bottom && test -r file && test -w . && test -x ."
        ),
    );
    assert_eq!(
        ok("find deep -type d | wc -l", Some(&mnt)).trim(),
        "41",
        "40 levels below deep"
    );
    step("cp -a", &format!("cp -a {} copied", src.display()));
    same_tree("copied");
    // The whole tree as a second pass would see it, after every cache expired or not.
    step(
        "walk",
        "ls -lR . > /dev/null && find . -type f -exec test -r {} \\; ",
    );

    m.umount();
    assert_e2fsck_clean(&img);
}

/// The workloads with the options a user gets (no allow_other: the kernel asks the mount
/// for every access(2) and chdir; 60 s timeouts).
#[test]
fn real_workloads_in_a_default_mount() {
    workloads(&["--rw"], ":");
}

/// The workloads with attributes and names expiring after half a second, so that the
/// paths that run once cached attributes are stale run in seconds.
#[test]
fn real_workloads_with_short_timeouts() {
    workloads(
        &["--rw", "-o", "attr_timeout=0.5,entry_timeout=0.5"],
        "sleep 0.7",
    );
}

/// What fsync(2) returned for is in the image even when the mount dies right after
/// (server and QEMU SIGKILLed, nothing unmounted): scattered unaligned writes through a
/// write-only descriptor, in a default mount (the kernel's writeback cache holds the pages
/// until fsync, and reads the pages a partial write needs through that descriptor) and in
/// one with `-o no_writeback_cache`.
#[test]
fn fsync_is_durable_when_the_mount_is_killed_after_it() {
    use std::os::unix::fs::FileExt;
    for extra in [&["--rw"][..], &["--rw", "-o", "no_writeback_cache"][..]] {
        let tmp = tempfile::tempdir().unwrap();
        let src = tmp.path().join("src");
        std::fs::create_dir_all(&src).unwrap();
        let size = 1usize << 20;
        let mut expected = bytes(1, size);
        std::fs::write(src.join("f"), &expected).unwrap();
        let img = tmp.path().join("disk.img");
        image_of(&src, &img, 64);
        let mnt = tmp.path().join("mnt");
        let m = Mount::new(&img, &mnt, extra);
        let f = std::fs::OpenOptions::new()
            .write(true)
            .open(mnt.join("f"))
            .unwrap();
        for i in 0..300usize {
            let len = 1 + (i * 37) % 5000;
            let off = (i * 7919 * 13) % (size - len);
            let data = bytes(i as u64 + 100, len);
            f.write_all_at(&data, off as u64).unwrap();
            expected[off..off + len].copy_from_slice(&data);
        }
        f.sync_all().unwrap();
        let (server, qemu) = (m.server_pid(), m.qemu_pid());
        for pid in [server, qemu] {
            run(Command::new("kill").args(["-9", &pid.to_string()]));
        }
        let deadline = Instant::now() + Duration::from_secs(30);
        while Path::new(&format!("/proc/{qemu}")).exists() {
            assert!(Instant::now() < deadline, "QEMU {qemu} outlived SIGKILL");
            std::thread::sleep(Duration::from_millis(20));
        }
        drop(f);
        drop(m);
        // The journal replayed as the next mount would, then the file's bytes.
        let fsck = Command::new("e2fsck")
            .arg("-fy")
            .arg(&img)
            .output()
            .unwrap();
        assert!(
            fsck.status.code().is_some_and(|c| c <= 1),
            "{extra:?}: e2fsck -fy: {}{}",
            String::from_utf8_lossy(&fsck.stdout),
            String::from_utf8_lossy(&fsck.stderr)
        );
        let out = Command::new("debugfs")
            .args(["-R", "cat /f"])
            .arg(&img)
            .output()
            .unwrap();
        assert!(
            out.stdout == expected,
            "{extra:?}: the image's /f differs from what was written and fsynced \
             ({} bytes, first difference at {:?})",
            out.stdout.len(),
            out.stdout.iter().zip(&expected).position(|(a, b)| a != b)
        );
    }
}
