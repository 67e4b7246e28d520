//! The file API on a real guest filesystem: path tests, metadata, directories, links,
//! attributes, contents, atomic replace, errnos, and tree removal that stays in the tree.
//! One launch per group of checks; every write group ends with e2fsck and a read-back on
//! the host.

use crate::fsimg;

use fsimg::*;
use guestwright::prelude::*;
use guestwright_tests::*;
use std::collections::HashSet;

fn p(s: &str) -> GuestPath {
    GuestPath::from(s)
}

fn names(v: &[FileName]) -> Vec<String> {
    v.iter().map(|n| n.to_string()).collect()
}

#[test]
fn paths_metadata_links_and_errnos() {
    let dir = tempfile::tempdir().unwrap();
    let img = ext4_image(dir.path(), "meta.img", 64, 0, |t| {
        put(t, "/etc/hostname", b"meta\n", 0o644);
        put(t, "/etc/shadow", b"root:*:1::::::\n", 0o640);
        put(t, "/dir/b", b"bee", 0o600);
        put(t, "/dir/a", b"", 0o755);
        put(t, "/dir/.hidden", b"h", 0o644);
        put(t, "/dir/sub/deep.conf", b"x=1\n", 0o644);
        symlink(t, "../etc/hostname", "/dir/rel-link");
        symlink(t, "/etc/hostname", "/dir/abs-link");
        symlink(t, "../../../../../../etc", "/dir/escape");
        symlink(t, "loop2", "/loop1");
        symlink(t, "loop1", "/loop2");
        symlink(t, "/nowhere", "/dangling");
    });
    let mut h = launch_rw(&img);

    // Tests on paths.
    assert!(h.exists("/etc/hostname").check("exists"));
    assert!(!h.exists("/nope").check("exists missing"));
    assert!(!h.exists("/dangling").check("exists dangling symlink"));
    assert!(h.is_file("/etc/hostname").check("is_file"));
    assert!(!h.is_file("/dir/rel-link").check("is_file symlink"));
    assert!(h
        .run(args::IsFile::new("/dir/rel-link").followsymlinks(true))
        .check("is_file followsymlinks"));
    assert!(!h.is_file("/nope/x").check("is_file below a missing dir"));
    assert!(!h.is_file("/etc/hostname/x").check("is_file below a file"));
    assert!(h.is_dir("/dir").check("is_dir"));
    assert!(h.is_dir("/").check("is_dir /"));
    assert!(h.is_symlink("/dir/abs-link").check("is_symlink"));
    assert!(!h.is_symlink("/dir").check("is_symlink dir"));

    // Metadata.
    let st = h.stat("/dir/b").check("stat");
    assert_eq!(st.mode, 0o100600, "mode of /dir/b");
    assert_eq!(st.size, 3);
    assert_eq!(st.nlink, 1);
    assert_eq!((st.uid, st.gid), (0, 0));
    assert_eq!(st.kind(), FileKind::Regular);
    assert!(
        st.ino > 0 && st.blksize > 0 && st.mtime > 1_600_000_000,
        "{st:?}"
    );
    let lst = h.lstat("/dir/abs-link").check("lstat");
    assert_eq!(lst.kind(), FileKind::Symlink);
    assert_eq!(lst.size, "/etc/hostname".len() as u64);
    let followed = h.stat("/dir/abs-link").check("stat through symlink");
    assert_eq!(followed.ino, h.stat("/etc/hostname").check("stat").ino);
    let vfs = h.statvfs("/").check("statvfs");
    assert!(
        vfs.blocks * vfs.frsize > 50 << 20 && vfs.bfree > 0 && vfs.namemax == 255,
        "{vfs:?}"
    );
    assert_eq!(
        h.readlink("/dir/rel-link").check("readlink").as_bytes(),
        b"../etc/hostname"
    );
    assert_eq!(
        h.realpath("/dir/rel-link").check("realpath").as_bytes(),
        b"/etc/hostname"
    );
    assert_eq!(
        h.realpath("/dir/escape")
            .check("realpath of an escaping link")
            .as_bytes(),
        b"/etc",
        "a symlink climbing out of the guest must stop at the guest root"
    );
    assert_eq!(h.realpath("/").check("realpath /").as_bytes(), b"/");

    // Errnos a caller matches on.
    assert_eq!(errno(h.stat("/nope"), "stat missing"), Errno::ENOENT);
    assert_eq!(
        errno(h.stat("/etc/hostname/x"), "stat below a file"),
        Errno::ENOTDIR
    );
    assert_eq!(errno(h.stat("/loop1"), "stat a symlink loop"), Errno::ELOOP);
    assert_eq!(errno(h.mkdir("/dir"), "mkdir existing"), Errno::EEXIST);
    assert_eq!(errno(h.rmdir("/dir"), "rmdir non-empty"), Errno::ENOTEMPTY);
    assert_eq!(errno(h.rm("/dir"), "rm a directory"), Errno::EISDIR);
    assert_eq!(errno(h.rm("/nope"), "rm missing"), Errno::ENOENT);
    assert_eq!(
        errno(h.readlink("/dir/b"), "readlink a file"),
        Errno::EINVAL
    );
    assert_eq!(errno(h.ls("/etc/hostname"), "ls a file"), Errno::ENOTDIR);
    assert_eq!(
        errno(h.pread("/dir", 10u64, 0u64), "pread a dir"),
        Errno::EISDIR
    );
    assert_eq!(errno(h.stat("relative"), "relative path"), Errno::EINVAL);
    h.rm_f("/nope").check("rm_f missing is fine");

    // Listings.
    assert_eq!(
        names(&h.ls("/dir").check("ls")),
        [".hidden", "a", "abs-link", "b", "escape", "rel-link", "sub"]
    );
    let ll = h.ll("/dir").check("ll");
    assert!(
        ll.lines()
            .any(|l| l.starts_with("-rw------- ") && l.ends_with(" b")),
        "{ll}"
    );
    assert!(
        ll.lines()
            .any(|l| l.ends_with(" abs-link -> /etc/hostname")),
        "{ll}"
    );
    assert!(
        ll.lines()
            .any(|l| l.starts_with("drwx") && l.ends_with(" .")),
        "{ll}"
    );
    let page = h.readdir("/dir").check("readdir");
    assert!(!page.more);
    let mut rd: Vec<String> = page.entries.iter().map(|e| e.name.to_string()).collect();
    rd.sort();
    assert_eq!(
        rd,
        [".", "..", ".hidden", "a", "abs-link", "b", "escape", "rel-link", "sub"]
    );
    let sub = page
        .entries
        .iter()
        .find(|e| e.name.as_bytes() == b"sub")
        .unwrap();
    assert_eq!(sub.kind, FileKind::Directory);
    let plus = h.readdir_plus("/dir").check("readdir_plus");
    let link = plus
        .entries
        .iter()
        .find(|e| e.name.as_bytes() == b"abs-link")
        .expect("abs-link listed");
    assert_eq!(link.link.as_ref().unwrap().as_bytes(), b"/etc/hostname");
    assert_eq!(link.stat.kind(), FileKind::Symlink);
    let b = plus
        .entries
        .iter()
        .find(|e| e.name.as_bytes() == b"b")
        .unwrap();
    assert_eq!(
        (b.stat.size, b.stat.mode, b.link.clone()),
        (3, 0o100600, None)
    );
    assert_eq!(
        h.find("/dir").check("find"),
        [
            ".hidden",
            "a",
            "abs-link",
            "b",
            "escape",
            "rel-link",
            "sub",
            "sub/deep.conf"
        ]
        .map(p)
    );
    let mut find0 = Vec::new();
    h.find0("/dir", &mut find0).check("find0");
    let mut f0: Vec<&[u8]> = find0.split(|&b| b == 0).filter(|s| !s.is_empty()).collect();
    f0.sort();
    assert_eq!(f0.len(), 8, "{}", String::from_utf8_lossy(&find0));
    assert_eq!(
        h.glob_expand("/dir/*").check("glob"),
        [
            "/dir/a",
            "/dir/abs-link",
            "/dir/b",
            "/dir/escape/",
            "/dir/rel-link",
            "/dir/sub/"
        ]
        .map(p)
    );
    assert_eq!(
        h.run(args::GlobExpand::new("/d*/s?b/*.conf").directoryslash(false))
            .check("glob nested"),
        [p("/dir/sub/deep.conf")]
    );
    assert!(h.glob_expand("/none*").check("glob none").is_empty());
    // Many at once: each pattern as glob_expand without slashes, each path as lstat finds
    // it (a dangling link is there; a loop of links on the way is lstat's ELOOP).
    let many = h
        .glob_expand_list(
            [
                "/dir/*",
                "/d*/s?b/*.conf",
                "/none*",
                "/dangling",
                "/dir/b",
                "/dir/nothing",
                "/dir/b/below",
                "/loop1/x",
                "/dir/sub/",
            ]
            .map(p)
            .to_vec(),
        )
        .check("glob_expand_list");
    let got: Vec<(String, Vec<String>, Option<Errno>)> = many
        .into_iter()
        .map(|m| {
            (
                m.pattern.to_string(),
                m.paths.iter().map(ToString::to_string).collect(),
                m.errno,
            )
        })
        .collect();
    let want = |pat: &str, paths: &[&str], errno: Option<Errno>| {
        (
            pat.to_owned(),
            paths.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>(),
            errno,
        )
    };
    assert_eq!(
        got,
        [
            want(
                "/dir/*",
                &[
                    "/dir/a",
                    "/dir/abs-link",
                    "/dir/b",
                    "/dir/escape",
                    "/dir/rel-link",
                    "/dir/sub"
                ],
                None
            ),
            want("/d*/s?b/*.conf", &["/dir/sub/deep.conf"], None),
            want("/none*", &[], None),
            want("/dangling", &["/dangling"], None),
            want("/dir/b", &["/dir/b"], None),
            want("/dir/nothing", &[], None),
            want("/dir/b/below", &[], None),
            want("/loop1/x", &[], Some(Errno::ELOOP)),
            want("/dir/sub/", &["/dir/sub/"], None),
        ]
    );
    let du = h.du("/dir").check("du");
    assert!((3 * 1024..1 << 20).contains(&du), "du /dir = {du}");
    h.shutdown().check("shutdown");
}

#[test]
fn directories_links_attributes_and_contents_are_written() {
    let dir = tempfile::tempdir().unwrap();
    let img = ext4_image(dir.path(), "write.img", 64, 0, |t| {
        put(t, "/etc/shadow", b"root:*:1::::::\n", 0o640);
        put(t, "/etc/hosts", b"127.0.0.1 localhost\n", 0o644);
        put(t, "/victim/keep", b"keep me\n", 0o644);
        put(t, "/tree/sub/file", b"x", 0o644);
        put(t, "/src/one", b"one\n", 0o750);
        put(t, "/src/sub/two", b"two\n", 0o600);
        symlink(t, "one", "/src/link");
        symlink(t, "/victim", "/tree/abs");
        symlink(t, "../victim", "/tree/sub/rel");
        symlink(t, "../../../..", "/tree/up");
    });
    let mut h = launch_rw(&img);

    // Directories.
    h.mkdir("/new").check("mkdir");
    h.mkdir_p("/new/a/b/c").check("mkdir_p");
    h.mkdir_p("/new/a/b/c").check("mkdir_p again");
    assert!(h.is_dir("/new/a/b/c").check("is_dir"));
    h.mkdir_mode("/new/private", Mode(0o700))
        .check("mkdir_mode");
    assert_eq!(h.stat("/new/private").check("stat").mode, 0o40700);
    assert_eq!(
        errno(h.mkdir("/no/such/parent"), "mkdir without parent"),
        Errno::ENOENT
    );
    h.rmdir("/new/a/b/c").check("rmdir");
    assert!(!h.exists("/new/a/b/c").check("exists"));

    // Files and links.
    h.touch("/new/touched").check("touch");
    assert_eq!(h.stat("/new/touched").check("stat").size, 0);
    h.truncate_size("/new/touched", ByteSize(10_000))
        .check("truncate_size");
    assert_eq!(h.stat("/new/touched").check("stat").size, 10_000);
    h.truncate("/new/touched").check("truncate");
    assert_eq!(h.stat("/new/touched").check("stat").size, 0);
    h.ln("/src/one", "/new/hard").check("ln");
    assert_eq!(h.stat("/src/one").check("stat").nlink, 2);
    assert_eq!(
        errno(h.ln("/src/one", "/new/hard"), "ln existing"),
        Errno::EEXIST
    );
    h.ln_f("/src/one", "/new/hard").check("ln_f");
    h.ln_s("../src/one", "/new/soft").check("ln_s");
    assert_eq!(
        h.read_file("/new/soft").check("read via symlink").0,
        b"one\n"
    );
    h.ln_sf("/etc/hosts", "/new/soft").check("ln_sf");
    assert_eq!(
        h.readlink("/new/soft").check("readlink").as_bytes(),
        b"/etc/hosts"
    );
    h.mkfifo(Mode(0o600), "/new/fifo").check("mkfifo");
    assert!(h.is_fifo("/new/fifo").check("is_fifo"));
    h.mknod_c(Mode(0o644), 1u32, 3u32, "/new/null")
        .check("mknod_c");
    let null = h.stat("/new/null").check("stat chardev");
    assert_eq!(
        (null.kind(), null.rdev_major(), null.rdev_minor()),
        (FileKind::CharDevice, 1, 3)
    );
    assert!(h.is_chardev("/new/null").check("is_chardev"));
    h.mknod(0o140644u32, 0u32, 0u32, "/new/sock")
        .check("mknod socket");
    assert!(h.is_socket("/new/sock").check("is_socket"));

    // rename, mv, cp.
    h.write_file("/new/x", "x").check("write x");
    h.write_file("/new/y", "y").check("write y");
    assert_eq!(
        errno(
            h.run(args::Rename::new("/new/x", "/new/y").noreplace(true)),
            "rename noreplace"
        ),
        Errno::EEXIST
    );
    h.run(args::Rename::new("/new/x", "/new/y").exchange(true))
        .check("rename exchange");
    assert_eq!(h.read_file("/new/x").check("read").0, b"y");
    assert_eq!(h.read_file("/new/y").check("read").0, b"x");
    h.mv("/new/x", "/new/a").check("mv into a directory");
    assert_eq!(h.read_file("/new/a/x").check("read moved").0, b"y");
    h.cp("/src/one", "/new/one-copy").check("cp");
    assert_eq!(h.stat("/new/one-copy").check("stat").mode & 0o777, 0o750);
    h.chown(1000, 1001, "/src/one").check("chown");
    h.setxattr("user.note", "hello", 5, "/src/one")
        .check("setxattr");
    h.utimens("/src/one", 1_000_000_000, 5, 1_100_000_000, 123_456_789)
        .check("utimens");
    h.cp_a("/src", "/copy-a").check("cp_a");
    let one = h.stat("/copy-a/one").check("stat copied");
    assert_eq!((one.uid, one.gid, one.mode), (1000, 1001, 0o100750));
    assert_eq!((one.mtime, one.mtime_nsec), (1_100_000_000, 123_456_789));
    assert_eq!(
        h.getxattr("/copy-a/one", "user.note")
            .check("xattr copied")
            .0,
        b"hello"
    );
    assert_eq!(
        h.readlink("/copy-a/link")
            .check("symlink copied")
            .as_bytes(),
        b"one"
    );
    assert_eq!(h.read_file("/copy-a/sub/two").check("read").0, b"two\n");
    assert_eq!(h.stat("/copy-a/sub/two").check("stat").mode, 0o100600);
    h.cp_r("/src", "/copy-r").check("cp_r");
    assert_eq!(
        h.stat("/copy-r/one").check("stat").uid,
        0,
        "cp_r does not keep owners"
    );
    assert!(h.is_symlink("/copy-r/link").check("cp_r keeps symlinks"));
    assert_eq!(
        errno(h.cp_a("/src", "/src/sub/inside"), "copy into itself"),
        Errno::EINVAL
    );

    // Attributes.
    h.chmod(Mode(0o4711), "/new/one-copy").check("chmod");
    assert_eq!(h.stat("/new/one-copy").check("stat").mode, 0o104711);
    h.lchown(7, 8, "/new/soft").check("lchown");
    assert_eq!((h.lstat("/new/soft").check("lstat").uid), 7);
    assert_ne!(
        h.stat("/etc/hosts").check("stat").uid,
        7,
        "lchown followed the link"
    );
    h.chown(-1, 42, "/new/one-copy").check("chown group only");
    let st = h.stat("/new/one-copy").check("stat");
    assert_eq!((st.uid, st.gid), (0, 42));
    h.utimens("/new/one-copy", 0, -2, 1234, 0)
        .check("utimens omit atime");
    assert_eq!(h.stat("/new/one-copy").check("stat").mtime, 1234);
    h.lutimens("/new/soft", 5, 0, 6, 0).check("lutimens");
    assert_eq!(h.lstat("/new/soft").check("lstat").mtime, 6);
    assert_ne!(
        h.stat("/etc/hosts").check("stat").mtime,
        6,
        "lutimens followed the link"
    );
    assert_eq!(
        errno(h.utimens("/new/soft", 0, 2_000_000_000, 0, 0), "bad nsec"),
        Errno::EINVAL
    );
    // All at once, chown before chmod so the setuid bit given stays; the stat comes back.
    let st = h
        .run(
            args::Lsetattr::new("/new/one-copy")
                .size(ByteSize(2))
                .owner(5)
                .group(6)
                .mode(Mode(0o4750))
                .atsecs(10)
                .atnsecs(0)
                .mtsecs(20)
                .mtnsecs(500),
        )
        .check("lsetattr");
    assert_eq!(
        (st.size, st.uid, st.gid, st.mode, st.atime, st.mtime),
        (2, 5, 6, 0o104750, 10, 20)
    );
    assert_eq!(h.lstat("/new/one-copy").check("lstat"), st);
    let st = h
        .run(args::Lsetattr::new("/new/soft").owner(9))
        .check("lsetattr of a symlink");
    assert_eq!((st.uid, st.kind()), (9, FileKind::Symlink));
    assert_ne!(
        h.stat("/etc/hosts").check("stat").uid,
        9,
        "lsetattr followed"
    );
    assert_eq!(
        errno(
            h.run(args::Lsetattr::new("/nope").mode(Mode(0o600))),
            "lsetattr of a missing path"
        ),
        Errno::ENOENT
    );
    h.setxattr("user.a", "1", 1, "/new/one-copy")
        .check("setxattr");
    // The value is the first vallen bytes, as libguestfs declares setxattr.
    h.setxattr("user.b", Data(vec![0, 255, 7, 9, 9]), 3, "/new/one-copy")
        .check("setxattr binary");
    for vallen in [6, -1] {
        assert_eq!(
            errno(
                h.setxattr("user.c", "abcde", vallen, "/new/one-copy"),
                "vallen"
            ),
            Errno::EINVAL,
            "vallen {vallen}"
        );
    }
    let mut xs = h.getxattrs("/new/one-copy").check("getxattrs");
    xs.sort_by(|a, b| a.name.cmp(&b.name));
    assert_eq!(
        xs,
        vec![
            XAttr {
                name: "user.a".into(),
                value: Data(b"1".to_vec())
            },
            XAttr {
                name: "user.b".into(),
                value: Data(vec![0, 255, 7])
            },
        ]
    );
    h.removexattr("user.a", "/new/one-copy")
        .check("removexattr");
    assert_eq!(
        errno(h.getxattr("/new/one-copy", "user.a"), "removed xattr"),
        Errno::ENODATA
    );
    h.lsetxattr("trusted.t", "on-link", 7, "/new/soft")
        .check("lsetxattr on a symlink");
    assert_eq!(h.lgetxattrs("/new/soft").check("lgetxattrs").len(), 1);
    assert_eq!(
        h.lgetxattr("/new/soft", "trusted.t").check("lgetxattr").0,
        b"on-link"
    );
    assert!(h
        .getxattrs("/etc/hosts")
        .check("target untouched")
        .is_empty());
    h.lremovexattr("trusted.t", "/new/soft")
        .check("lremovexattr");
    assert!(h.lgetxattrs("/new/soft").check("lgetxattrs").is_empty());
    h.access("/new/one-copy", 4).check("access R_OK");
    assert_eq!(errno(h.access("/nope", 0), "access missing"), Errno::ENOENT);

    // Contents.
    h.write_file("/new/lines", "one\r\ntwo\n\nfour")
        .check("write");
    assert_eq!(
        h.read_lines("/new/lines").check("read_lines"),
        ["one", "two", "", "four"].map(Line::from)
    );
    assert_eq!(h.pread("/new/lines", 3u64, 5u64).check("pread").0, b"two");
    assert_eq!(
        h.pread("/new/lines", 100u64, 9u64)
            .check("pread past end")
            .0,
        b"\nfour"
    );
    assert_eq!(h.pwrite("/new/lines", "TW", 5u64).check("pwrite"), 2);
    h.write_append("/new/lines", "\nfive\n")
        .check("write_append");
    assert_eq!(
        h.read_file("/new/lines").check("read").0,
        b"one\r\nTWo\n\nfour\nfive\n"
    );
    h.write_append("/new/appended", "a")
        .check("write_append creates");
    assert_eq!(
        errno(h.pwrite("/new/missing", "x", 0u64), "pwrite missing"),
        Errno::ENOENT
    );
    assert_eq!(
        errno(
            h.pread("/new/lines", ByteSize(5 << 20), 0u64),
            "pread too large"
        ),
        Errno::EINVAL
    );

    // replace_file keeps mode, owner, group and the SELinux label.
    h.chown(0, 42, "/etc/shadow").check("chown shadow");
    h.setxattr(
        "security.selinux",
        "system_u:object_r:shadow_t:s0\0",
        30,
        "/etc/shadow",
    )
    .check("label shadow");
    let before = h.stat("/etc/shadow").check("stat");
    h.replace_file("/etc/shadow", "root:$6$x:19000::::::\n")
        .check("replace_file");
    let after = h.stat("/etc/shadow").check("stat");
    assert_eq!((after.mode, after.uid, after.gid), (0o100640, 0, 42));
    assert_ne!(
        after.ino, before.ino,
        "replace_file must write a new inode and rename it"
    );
    assert_eq!(
        h.getxattr("/etc/shadow", "security.selinux")
            .check("label kept")
            .0,
        b"system_u:object_r:shadow_t:s0\0"
    );
    assert_eq!(
        names(&h.ls("/etc").check("ls /etc")),
        ["hosts", "shadow"],
        "no temporary file left behind"
    );
    // A symbolic link is replaced itself; what it points to keeps every byte.
    let hosts = h.read_file("/etc/hosts").check("read").0;
    h.ln_s("hosts", "/etc/hosts-link").check("ln_s");
    h.replace_file("/etc/hosts-link", "10.0.0.1 x\n")
        .check("replace a symlink");
    assert!(!h
        .is_symlink("/etc/hosts-link")
        .check("the link is replaced"));
    assert_eq!(
        h.read_file("/etc/hosts-link").check("read").0,
        b"10.0.0.1 x\n"
    );
    assert_eq!(h.read_file("/etc/hosts").check("read").0, hosts);
    h.rm("/etc/hosts-link").check("rm");
    h.replace_file("/etc/brand-new", "new\n")
        .check("replace_file creates");
    assert_eq!(h.stat("/etc/brand-new").check("stat").mode, 0o100644);
    assert_eq!(
        errno(h.replace_file("/new/fifo", "x"), "replace a FIFO"),
        Errno::EINVAL
    );

    // rm_rf removes links, never what they point to.
    h.rm_rf("/tree").check("rm_rf");
    assert!(!h.exists("/tree").check("exists"));
    assert_eq!(
        h.read_file("/victim/keep").check("victim kept").0,
        b"keep me\n"
    );
    h.rm_rf("/tree").check("rm_rf missing is fine");
    assert_eq!(errno(h.rm_rf("/"), "rm_rf /"), Errno::EINVAL);
    h.shutdown().check("shutdown");

    fsck_clean(&img);
    assert_eq!(image_cat(&img, "/etc/shadow"), b"root:$6$x:19000::::::\n");
    assert_eq!(image_cat(&img, "/victim/keep"), b"keep me\n");
    assert_eq!(image_cat(&img, "/copy-a/sub/two"), b"two\n");
    assert_eq!(image_cat(&img, "/new/lines"), b"one\r\nTWo\n\nfour\nfive\n");
}

#[test]
fn a_directory_of_20000_entries_is_listed_completely() {
    const N: usize = 20_000;
    let dir = tempfile::tempdir().unwrap();
    let img = ext4_image(dir.path(), "big.img", 128, 32_768, |t| {
        let big = t.join("big");
        std::fs::create_dir(&big).unwrap();
        for i in 0..N {
            std::fs::write(
                big.join(format!("file-{i:05}-with-a-longish-name")),
                i.to_string(),
            )
            .unwrap();
        }
        std::os::unix::fs::symlink("file-00000-with-a-longish-name", big.join("zz-link")).unwrap();
    });
    let mut h = launch(&[(&img, DriveOptions::readonly())]);
    h.run(args::Mount::new("/dev/sda", "/").readonly(true))
        .check("mount");

    let mut seen = HashSet::new();
    let (mut offset, mut pages) = (0, 0);
    loop {
        let page = h
            .run(args::ReaddirPlus::new("/big").offset(offset))
            .check("readdir_plus page");
        pages += 1;
        for e in &page.entries {
            let name = e.name.to_string();
            if let Some(i) = name.strip_prefix("file-").and_then(|s| s.get(..5)) {
                let i: usize = i.parse().unwrap();
                assert_eq!(e.stat.size, i.to_string().len() as u64, "size of {name}");
                assert_eq!(e.link, None);
            } else {
                assert_eq!(name, "zz-link");
                assert_eq!(
                    e.link.as_ref().unwrap().as_bytes(),
                    b"file-00000-with-a-longish-name"
                );
            }
            assert!(seen.insert(name.clone()), "{name} listed twice");
        }
        if !page.more {
            break;
        }
        assert_ne!(page.next, offset, "the offset must advance");
        offset = page.next;
    }
    assert_eq!(seen.len(), N + 1, "every entry exactly once");
    assert!(
        pages >= 5,
        "{pages} pages: the default page is 4096 entries"
    );

    // Small pages through plain readdir reach the same set.
    let mut plain = HashSet::new();
    let mut offset = 0;
    loop {
        let page = h
            .run(args::Readdir::new("/big").offset(offset).count(3000u32))
            .check("readdir page");
        assert!(page.entries.len() <= 3000);
        plain.extend(page.entries.iter().map(|e| e.name.to_string()));
        if !page.more {
            break;
        }
        offset = page.next;
    }
    assert_eq!(plain.len(), N + 3, "entries plus . and ..");
    assert_eq!(h.ls("/big").check("ls").len(), N + 1);
    assert_eq!(h.find("/big").check("find").len(), N + 1);
    h.shutdown().check("shutdown");
}
