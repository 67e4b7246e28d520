//! `guestwright mount --rw`: ordinary commands (shell redirections, truncate, mv, chmod,
//! chown, rm, ln, cp -a, tar, rsync, sed -i, setfattr, touch, mkfifo, git) change the guest
//! as they change a host copy of the same tree; `umount` returns only once the image is
//! final, so a copy taken at once holds every change (libguestfs's guestunmount race), is
//! clean for `e2fsck -fn` and shows the same tree in a new launch. A busy mountpoint makes
//! `umount` exit 2; a guest setuid program never runs with its owner's rights.
//! Two launches.

mod fusekit;

use fusekit::*;
use guestwright_tests::*;
use std::path::Path;

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
touch -d '2020-01-02 03:04:05.123456789' odd
mkfifo fifo
cp big big.copy
dd if=/dev/zero of=big.copy bs=4096 seek=10 count=3 conv=notrunc status=none
python3 -c 'import os; os.rename("trunc.txt", "trunc2.txt")' 2>/dev/null || mv trunc.txt trunc2.txt
"#;

#[test]
fn read_write_mount_changes_the_image_and_umount_waits_until_it_is_final() {
    for (tool, pkg) in [("setfattr", "attr"), ("rsync", "rsync"), ("git", "git")] {
        require(tool, pkg);
    }
    let tmp = tempfile::tempdir().unwrap();
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
    let mut m = Mount::new(&img, &mnt, &["--rw", "-o", "allow_other"]);
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
    // git works in the mount (lock files, renames, fsync, mmap-free reads).
    ok(
        "git init -q repo && cd repo && echo a > a && mkdir d && echo b > d/b && git add -A \
         && git -c user.name=t -c user.email=t@t commit -qm one && echo c >> a \
         && git -c user.name=t -c user.email=t@t commit -qam two && git fsck --strict --no-progress \
         && test -z \"$(git status --porcelain)\" && test \"$(git log --oneline | wc -l)\" = 2",
        Some(&mnt),
    );

    // A guest setuid-root program runs with the caller's rights (nosuid).
    ok(
        "cp /usr/bin/id suid-id && chown 0:0 suid-id && chmod 4755 suid-id",
        Some(&mnt),
    );
    assert_eq!(ok("stat -c %a suid-id", Some(&mnt)).trim(), "4755");
    let who = ok(
        &format!(
            "setpriv --reuid=65534 --regid=65534 --clear-groups {}/suid-id -u",
            mnt.display()
        ),
        None,
    );
    assert_eq!(who.trim(), "65534", "a guest setuid program ran elevated");

    // Busy: exit 2, and the mount stays.
    let mut holder = std::process::Command::new("sleep")
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
    let out = std::process::Command::new("e2fsck")
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

    // A new launch of the copy shows every change.
    let mnt2 = tmp.path().join("mnt2");
    let mut m2 = Mount::new(&copy, &mnt2, &[]);
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
    assert_eq!(
        ok("git log --format=%s", Some(&mnt2.join("repo"))),
        "two\none\n"
    );
    m2.umount();
    assert!(!Path::new(&mnt2).join("data").exists());
}
