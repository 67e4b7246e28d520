//! tar streams: a tree packed with tar_out and unpacked elsewhere with tar_in comes back
//! the same (modes, owners, times, links, special files, xattrs) for every compression;
//! and a hostile archive writes nothing outside its target directory.

use crate::fsimg;

use fsimg::*;
use guestwright::prelude::*;
use guestwright_tests::*;
use std::collections::BTreeMap;
use std::process::{Command, Stdio};

/// Everything about a tree that must survive a round trip, by relative path.
fn snapshot(h: &Handle, root: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for rel in h.find(root).check("find") {
        let rel = rel.to_string();
        let path = format!("{root}/{rel}");
        let st = h.lstat(path.as_str()).check("lstat");
        let mut desc = format!(
            "mode={:o} uid={} gid={} mtime={}",
            st.mode, st.uid, st.gid, st.mtime
        );
        match st.kind() {
            FileKind::Regular => {
                desc += &format!(
                    " size={} sha={} nlink={}",
                    st.size,
                    h.checksum("sha256", path.as_str()).check("checksum"),
                    st.nlink
                );
                let mut xs = h.getxattrs(path.as_str()).check("getxattrs");
                xs.sort_by(|a, b| a.name.cmp(&b.name));
                for x in xs {
                    desc += &format!(" {}={:?}", x.name, x.value.0);
                }
            }
            FileKind::Symlink => {
                desc += &format!(" -> {}", h.readlink(path.as_str()).check("readlink"))
            }
            FileKind::CharDevice => {
                desc += &format!(" dev={},{}", st.rdev_major(), st.rdev_minor())
            }
            _ => {}
        }
        out.insert(rel, desc);
    }
    out
}

fn compress_on_host(tool: &str, data: &[u8]) -> Vec<u8> {
    let mut child = Command::new(tool)
        .arg("-c")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{tool}: {e}"));
    let mut stdin = child.stdin.take().unwrap();
    let input = data.to_vec();
    let writer = std::thread::spawn(move || {
        use std::io::Write;
        stdin.write_all(&input).unwrap();
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    assert!(out.status.success(), "{tool} failed");
    out.stdout
}

#[test]
fn tar_out_then_tar_in_reproduces_the_tree_with_every_compression() {
    let dir = tempfile::tempdir().unwrap();
    let img = ext4_image(dir.path(), "tar.img", 96, 0, |t| {
        put(
            t,
            "/etc/passwd",
            b"root:x:0:0::/root:/bin/sh\nalice:x:1000:1000::/home/alice:/bin/sh\n",
            0o644,
        );
        put(
            t,
            "/etc/group",
            b"root:x:0:\nalice:x:1000:\nstaff:x:50:\n",
            0o644,
        );
        put(t, "/src/file", b"contents\n", 0o640);
        put(t, "/src/exec", &vec![7u8; 300_000], 0o4755);
        put(t, "/src/deep/a/b/c/d", b"deep\n", 0o600);
        put(t, "/src/skip/me", b"excluded\n", 0o644);
        put(t, "/src/cache.tmp", b"excluded\n", 0o644);
        put(
            t,
            "/src/long/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/named",
            b"long\n",
            0o644,
        );
        symlink(t, "file", "/src/link");
        symlink(t, "/etc/passwd", "/src/abs-link");
    });
    let mut h = launch_rw(&img);
    h.chown(1000, 1000, "/src/file").check("chown");
    h.chown(1000, 50, "/src/deep").check("chown dir");
    h.lchown(1000, 1000, "/src/link").check("lchown");
    h.ln("/src/file", "/src/hard").check("ln");
    h.mkfifo(Mode(0o600), "/src/fifo").check("mkfifo");
    h.mknod_c(Mode(0o640), 4u32, 64u32, "/src/tty")
        .check("mknod_c");
    h.setxattr("user.color", "blue", 4, "/src/file")
        .check("setxattr");
    h.utimens("/src/deep", 0, -2, 1_500_000_000, 0)
        .check("utimens dir");
    let want = {
        let mut w = snapshot(&h, "/src");
        w.retain(|k, _| !k.starts_with("skip") && !k.ends_with(".tmp"));
        w
    };
    assert!(
        want.contains_key("deep/a/b/c/d") && want.contains_key("fifo"),
        "{want:?}"
    );

    let excludes = Some(vec!["skip".to_string(), "*.tmp".to_string()]);
    for (compress, host_tool) in [
        (Compression::None, None),
        (Compression::Gzip, Some("gzip")),
        (Compression::Xz, Some("xz")),
        (Compression::Zstd, Some("zstd")),
    ] {
        let name = compress.to_string();
        // zstd is read-only: pack plain and compress on the host.
        let out_compress = if compress == Compression::Zstd {
            Compression::None
        } else {
            compress
        };
        let mut archive = Vec::new();
        h.run_stream(
            args::TarOut {
                compress: Some(out_compress),
                xattrs: Some(true),
                excludes: excludes.clone(),
                ..args::TarOut::new("/src")
            },
            guestwright::protocol::CallStream::Output(&mut archive),
        )
        .check("tar_out");
        if compress == Compression::Zstd {
            archive = compress_on_host("zstd", &archive);
        }
        if let Some(tool) = host_tool {
            // The host's own tools can read what we wrote.
            let listing = Command::new("tar")
                .arg(format!(
                    "--{}",
                    if tool == "xz" {
                        "xz"
                    } else if tool == "gzip" {
                        "gzip"
                    } else {
                        "zstd"
                    }
                ))
                .args(["-tvf", "-"])
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .spawn()
                .and_then(|mut c| {
                    use std::io::Write;
                    c.stdin.take().unwrap().write_all(&archive)?;
                    c.wait_with_output()
                })
                .unwrap();
            let text = String::from_utf8_lossy(&listing.stdout);
            assert!(
                listing.status.success() && text.contains("alice/alice"),
                "{name}: {text}"
            );
        }
        let dest = format!("/restore-{name}");
        h.mkdir(dest.as_str()).check("mkdir");
        let n = h
            .run_stream(
                args::TarIn::new(dest.as_str())
                    .compress(compress)
                    .xattrs(true),
                guestwright::protocol::CallStream::Input(&mut &archive[..]),
            )
            .check("tar_in");
        assert_eq!(n as usize, want.len() + 1, "{name}: members written");
        let mut got = snapshot(&h, &dest);
        // The hard link's nlink counts the original too, in both trees.
        assert_eq!(got.len(), want.len(), "{name}: {got:#?}");
        for (k, v) in &want {
            let g = got
                .remove(k)
                .unwrap_or_else(|| panic!("{name}: {k} missing"));
            assert_eq!(&g, v, "{name}: {k}");
        }
        assert!(
            !h.exists(format!("{dest}/skip").as_str()).check("exists"),
            "{name}: excludes"
        );
    }
    // Names are mapped through the guest's passwd unless numericowner is set.
    let mut archive = Vec::new();
    assert_eq!(
        errno(h.tar_out("/src/file", &mut archive), "tar_out a file"),
        Errno::ENOTDIR
    );
    h.run_stream(
        args::TarOut::new("/src/deep").numericowner(true),
        guestwright::protocol::CallStream::Output(&mut archive),
    )
    .check("tar_out numeric");
    assert!(
        !archive.windows(5).any(|w| w == b"alice"),
        "numericowner must leave names out"
    );
    h.shutdown().check("shutdown");
    fsck_clean(&img);
    assert_eq!(image_cat(&img, "/restore-xz/deep/a/b/c/d"), b"deep\n");
}

/// One ustar member written by hand, so names a well-behaved library refuses (`../x`,
/// `/abs`) can be put in an archive.
fn member(name: &str, typeflag: u8, link: &str, data: &[u8]) -> Vec<u8> {
    let mut h = [0u8; 512];
    h[..name.len()].copy_from_slice(name.as_bytes());
    h[100..108].copy_from_slice(b"0000644\0");
    h[108..116].copy_from_slice(b"0000000\0");
    h[116..124].copy_from_slice(b"0000000\0");
    h[124..136].copy_from_slice(format!("{:011o}\0", data.len()).as_bytes());
    h[136..148].copy_from_slice(b"14000000000\0");
    h[156] = typeflag;
    h[157..157 + link.len()].copy_from_slice(link.as_bytes());
    h[257..263].copy_from_slice(b"ustar\0");
    h[263..265].copy_from_slice(b"00");
    h[148..156].copy_from_slice(b"        ");
    let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
    h[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
    let mut out = h.to_vec();
    out.extend_from_slice(data);
    out.resize(out.len().div_ceil(512) * 512, 0);
    out
}

#[test]
fn a_hostile_tar_writes_nothing_outside_its_target() {
    let dir = tempfile::tempdir().unwrap();
    let img = ext4_image(dir.path(), "hostile.img", 32, 0, |t| {
        put(t, "/etc/passwd", b"root:x:0:0::/root:/bin/sh\n", 0o644);
        put(t, "/etc/hostname", b"original\n", 0o644);
        std::fs::create_dir_all(t.join("srv/target")).unwrap();
        symlink(t, "/etc", "/srv/target/planted");
    });
    let mut archive = Vec::new();
    for m in [
        member("../x", b'0', "", b"parent\n"),
        member("../../../../x", b'0', "", b"climb\n"),
        member("/abs", b'0', "", b"absolute\n"),
        member("a", b'2', "/etc", b""),
        member("a/passwd", b'0', "", b"pwned via a\n"),
        member("planted/hostname", b'0', "", b"pwned via planted\n"),
        member("up", b'2', "../../..", b""),
        member("up/escaped", b'0', "", b"stays inside\n"),
        member("hard", b'1', "../../etc/passwd", b""),
        member("hard2", b'1', "/etc/passwd", b""),
        member("over", b'2', "/etc/hostname", b""),
        member("over", b'0', "", b"replaced the link\n"),
        member("fine", b'0', "", b"fine\n"),
    ] {
        archive.extend(m);
    }
    archive.extend([0u8; 1024]);

    let mut h = launch_rw(&img);
    let err = h
        .run_stream(
            args::TarIn::new("/srv/target").numericowner(true),
            guestwright::protocol::CallStream::Input(&mut &archive[..]),
        )
        .unwrap_err();
    // Members that lead nowhere inside are reported, after everything else was extracted.
    let chain = guestwright::error::chain(&err);
    assert!(chain.contains("could not be extracted"), "{chain}");
    assert_eq!(
        h.read_file("/etc/passwd").check("passwd").0,
        b"root:x:0:0::/root:/bin/sh\n"
    );
    assert_eq!(
        h.read_file("/etc/hostname").check("hostname").0,
        b"original\n"
    );
    assert!(!h.exists("/x").check("exists /x"));
    assert!(!h.exists("/srv/x").check("exists /srv/x"));
    assert!(!h.exists("/abs").check("exists /abs"));
    assert_eq!(h.read_file("/srv/target/abs").check("abs").0, b"absolute\n");
    assert_eq!(
        h.read_file("/srv/target/escaped").check("escaped").0,
        b"stays inside\n"
    );
    assert_eq!(h.read_file("/srv/target/fine").check("fine").0, b"fine\n");
    assert!(h.is_file("/srv/target/over").check("over is a file now"));
    assert_eq!(
        h.read_file("/srv/target/over").check("over").0,
        b"replaced the link\n"
    );
    assert!(!h.exists("/srv/target/hard").check("hard"));
    assert!(!h
        .exists("/srv/target/hard2")
        .check("hard2: its target is not inside"));
    assert_eq!(
        h.find("/etc").check("find /etc").len(),
        2,
        "nothing new in /etc"
    );
    h.shutdown().check("shutdown");
    fsck_clean(&img);
    assert_eq!(image_cat(&img, "/etc/hostname"), b"original\n");
}

/// On vfat, which has no unnamed files (`O_TMPFILE`), whole-file writes and tar-in fall
/// back to named temporary files, and leave none behind.
#[test]
fn writes_on_vfat_fall_back_to_named_temporaries_and_leave_none() {
    let dir = tempfile::tempdir().unwrap();
    let img = dir.path().join("fat.img");
    std::fs::File::create(&img)
        .unwrap()
        .set_len(64 << 20)
        .unwrap();
    let src = dir.path().join("src");
    std::fs::create_dir_all(src.join("sub")).unwrap();
    std::fs::write(src.join("a.txt"), "from tar\n").unwrap();
    std::fs::write(src.join("sub/b.bin"), vec![7u8; 300_000]).unwrap();
    let tar = Command::new("tar")
        .arg("-C")
        .arg(&src)
        .args(["--format=gnu", "-cf", "-", "a.txt", "sub"])
        .output()
        .expect("tar");
    assert!(tar.status.success());

    let mut h = launch(&[(&img, DriveOptions::default())]);
    h.mkfs("vfat", "/dev/sda").check("mkfs vfat");
    h.mount("/dev/sda", "/").check("mount");
    h.write_file("/w.txt", Data(b"one\n".to_vec()))
        .check("write_file");
    h.replace_file("/w.txt", Data(b"two\n".to_vec()))
        .check("replace_file");
    h.upload("/u.bin", &mut &vec![9u8; 200_000][..])
        .check("upload");
    let n = h
        .run_stream(
            args::TarIn::new("/").xattrs(true),
            guestwright::protocol::CallStream::Input(&mut &tar.stdout[..]),
        )
        .check("tar_in");
    assert_eq!(n, 3, "members written");
    assert_eq!(h.read_file("/w.txt").check("read").0, b"two\n");
    assert_eq!(h.read_file("/a.txt").check("read").0, b"from tar\n");
    assert_eq!(
        h.read_file("/sub/b.bin").check("read").0,
        vec![7u8; 300_000]
    );
    assert_eq!(h.read_file("/u.bin").check("read").0, vec![9u8; 200_000]);
    let mut names: Vec<String> = h
        .find("/")
        .check("find")
        .into_iter()
        .map(|p| p.to_string())
        .collect();
    names.sort();
    assert_eq!(names, ["a.txt", "sub", "sub/b.bin", "u.bin", "w.txt"]);
    h.shutdown().check("shutdown");
}
