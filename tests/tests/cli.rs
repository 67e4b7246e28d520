//! The one-shot commands, driven through the real `guestwright` binary: exact output, exit
//! statuses, and what the image holds afterwards.

use guestwright_tests::*;
use std::path::Path;
use std::process::Output;

fn gw(args: &[&str]) -> Output {
    guestwright().args(args).output().expect("run guestwright")
}

fn ok(args: &[&str]) -> String {
    let out = gw(args);
    assert!(
        out.status.success(),
        "guestwright {args:?} failed with {}:\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8 output")
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn readers_print_what_the_guest_holds_and_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let img = debian_like(dir.path(), "debian.img", &[]);
    let before = sha256(&img);
    let i = s(&img);

    // cat inspects and mounts by default; -m works too.
    assert_eq!(
        ok(&["cat", "-a", i, "/etc/hostname"]),
        format!("{DEBIAN_HOSTNAME}\n")
    );
    assert_eq!(
        ok(&[
            "cat",
            "-a",
            i,
            "-m",
            "/dev/sda2",
            "/etc/debian_version",
            "/etc/hostname"
        ]),
        format!("12.5\n{DEBIAN_HOSTNAME}\n")
    );

    // ls: plain, long, recursive, with checksums.
    let names = ok(&["ls", "-a", i, "/etc"]);
    assert_eq!(
        names,
        "debian_version\nfstab\ngroup\nhostname\nhosts\nnetwork\nos-release\npasswd\nshadow\n"
    );
    let long = ok(&["ls", "-a", i, "-l", "/etc"]);
    let shadow = long.lines().find(|l| l.ends_with(" shadow")).unwrap();
    assert!(shadow.starts_with("-rw-r----- "), "{shadow}");
    let hostname = long.lines().find(|l| l.ends_with(" hostname")).unwrap();
    assert!(
        hostname.contains(&format!(" {} ", DEBIAN_HOSTNAME.len() + 1)),
        "{hostname}"
    );
    assert_eq!(
        ok(&["ls", "-a", i, "-R", "/etc/network"]),
        "/interfaces\n",
        "virt-ls -R names paths below the directory"
    );
    // virt-ls -lR: the directory itself, then full paths, with the checksum asked for.
    let sums = ok(&["ls", "-a", i, "-lR", "--checksum=sha256", "/etc/network"]);
    let expected = run(std::process::Command::new("sh").arg("-c").arg(
        "printf 'source /etc/network/interfaces.d/*\\n\\nauto lo\\niface lo inet loopback\\n\\nallow-hotplug eth0\\niface eth0 inet dhcp\\n' | sha256sum",
    ));
    let expected = String::from_utf8_lossy(&expected.stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .to_string();
    let lines: Vec<&str> = sums.lines().collect();
    assert_eq!(lines.len(), 2, "{sums}");
    assert!(
        lines[0].starts_with("d 0755 ") && lines[0].ends_with(" /etc/network"),
        "{sums}"
    );
    assert!(
        lines[1].starts_with("- 0644 ")
            && lines[1].ends_with(&format!(" {expected} /etc/network/interfaces")),
        "{sums}"
    );
    // As in virt-ls, the long listing's options only go with -lR.
    let out = gw(&["ls", "-a", i, "--checksum", "/etc/network"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "virt-ls: used a flag which can only be combined with -lR mode\nFor more information, \
         read the virt-ls(1) man page.\n"
    );

    // inspect: JSON by default, virt-inspector XML on request.
    let json: serde_json::Value = serde_json::from_str(&ok(&["inspect", "-a", i])).unwrap();
    assert_eq!(json[0]["distro"], "debian");
    assert_eq!(json[0]["hostname"], DEBIAN_HOSTNAME);
    assert_eq!(json[0]["mountpoints"][1]["mountpoint"], "/boot/efi");
    let apps: Vec<&str> = json[0]["applications"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    assert_eq!(apps, ["base-files", "bash", "vim-tiny"]);
    let xml = ok(&["inspect", "-a", i, "--xml", "--no-applications"]);
    assert!(xml.starts_with("<?xml version=\"1.0\"?>\n<operatingsystems>\n  <operatingsystem>\n    <root>/dev/sda2</root>\n    <name>linux</name>\n"), "{xml}");
    assert!(
        xml.contains("      <mountpoint dev=\"/dev/sda1\">/boot/efi</mountpoint>\n"),
        "{xml}"
    );
    assert!(!xml.contains("<applications>"));

    // filesystems and df.
    assert_eq!(ok(&["filesystems", "-a", i]), "/dev/sda1\n/dev/sda2\n");
    let long = ok(&["filesystems", "-a", i, "--long"]);
    assert_eq!(
        long.lines()
            .next()
            .unwrap()
            .split_whitespace()
            .collect::<Vec<_>>(),
        ["Name", "Type", "VFS", "Label", "Size", "Parent"]
    );
    // A filesystem's size is its own (statvfs), as virt-filesystems measures it: at most
    // its partition's.
    let root_size: u64 = long
        .lines()
        .find(|l| l.starts_with("/dev/sda2 "))
        .and_then(|l| l.split_whitespace().nth(4))
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no size for /dev/sda2: {long}"));
    assert!(root_size > 0 && root_size <= DEBIAN_ROOT_SIZE, "{long}");
    let all = ok(&["filesystems", "-a", i, "--all"]);
    assert!(
        all.contains("/dev/sda\n") && all.contains("/dev/sda2\n"),
        "{all}"
    );
    let df = ok(&["df", "-a", i]);
    let lines: Vec<&str> = df.lines().collect();
    assert_eq!(lines.len(), 3, "{df}");
    assert!(
        lines[1].starts_with("debian.img:/dev/sda1 ")
            && lines[2].starts_with("debian.img:/dev/sda2 "),
        "{df}"
    );

    // tar-out to stdout is a real tar.
    let tarball = dir.path().join("etc.tar");
    let out = gw(&["tar-out", "-a", i, "/etc/network", s(&tarball)]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let listing = run(std::process::Command::new("tar").arg("-tf").arg(&tarball));
    assert!(
        String::from_utf8_lossy(&listing.stdout)
            .lines()
            .any(|l| l.trim_start_matches("./") == "interfaces"),
        "{listing:?}"
    );

    assert_eq!(sha256(&img), before, "readers changed the image");
}

#[test]
fn writers_change_exactly_what_they_say() {
    let dir = tempfile::tempdir().unwrap();
    let img = debian_like(dir.path(), "rw.img", &[]);
    let i = s(&img);
    ok(&["write", "-a", i, "/etc/motd", "Welcome\n"]);
    ok(&[
        "edit",
        "-a",
        i,
        "-e",
        "s/bookworm-vm/edited-vm/",
        "/etc/hosts",
    ]);
    ok(&[
        "edit",
        "-a",
        i,
        "-e",
        "s/^debian:!:/debian:*:/",
        "/etc/shadow",
    ]);

    let src = dir.path().join("src");
    std::fs::create_dir_all(src.join("sub")).unwrap();
    std::fs::write(src.join("a.txt"), "alpha\n").unwrap();
    std::fs::write(src.join("sub/b.txt"), "beta\n").unwrap();
    let tarball = dir.path().join("in.tar");
    run(std::process::Command::new("tar")
        .arg("-cf")
        .arg(&tarball)
        .arg("-C")
        .arg(&src)
        .arg("."));
    let out = guestwright()
        .args(["tar-in", "-a", i, "-", "/srv"])
        .stdin(std::fs::File::open(&tarball).unwrap())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let root = |p: &str| {
        let part = extract(&img, DEBIAN_ROOT_OFFSET, DEBIAN_ROOT_SIZE);
        run(std::process::Command::new("debugfs")
            .arg("-R")
            .arg(format!("cat {p}"))
            .arg(part.path()))
        .stdout
    };
    assert_eq!(root("/etc/motd"), b"Welcome\n");
    assert_eq!(root("/etc/hosts"), b"127.0.0.1\tlocalhost\n127.0.1.1\tedited-vm\n\n::1\tlocalhost ip6-localhost ip6-loopback\n");
    assert_eq!(
        root("/etc/shadow"),
        b"root:*:19700:0:99999:7:::\ndaemon:*:19700:0:99999:7:::\ndebian:*:19700:0:99999:7:::\n"
    );
    assert_eq!(root("/srv/a.txt"), b"alpha\n");
    assert_eq!(root("/srv/sub/b.txt"), b"beta\n");
    // The edit kept /etc/shadow's mode.
    let long = ok(&["ls", "-a", i, "-l", "/etc"]);
    assert!(
        long.lines()
            .any(|l| l.starts_with("-rw-r----- ") && l.ends_with(" shadow")),
        "{long}"
    );
    guestwright_tests::assert_fsck_clean_at(&img, DEBIAN_ROOT_OFFSET, DEBIAN_ROOT_SIZE);
}

#[test]
fn errors_say_what_went_wrong_with_the_documented_exit_codes() {
    let dir = tempfile::tempdir().unwrap();
    let img = debian_like(dir.path(), "err.img", &[]);
    let out = gw(&["cat", "-a", s(&img), "/etc/no-such-file"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    // As virt-cat says it.
    assert_eq!(
        err,
        "libguestfs: error: download: /etc/no-such-file: No such file or directory\n"
    );

    let out = gw(&["cat", "-a", "/nonexistent.img", "/etc/hostname"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("cannot open disk image /nonexistent.img")
    );

    let out = gw(&["cat", "-a", s(&img), "-m", "sda1", "/x"]);
    assert_eq!(out.status.code(), Some(2), "usage errors exit 2");
    let out = gw(&["frobnicate"]);
    assert_eq!(out.status.code(), Some(2));

    // Two operating systems' worth of nothing: a blank disk has none to inspect.
    let blank = dir.path().join("blank.img");
    std::fs::File::create(&blank)
        .unwrap()
        .set_len(8 << 20)
        .unwrap();
    let out = gw(&["cat", "-a", s(&blank), "--format", "raw", "/etc/hostname"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no operating system was found"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn copy_out_never_writes_outside_the_destination_and_copy_in_copies() {
    let dir = tempfile::tempdir().unwrap();
    let img = debian_like(
        dir.path(),
        "copy.img",
        &[
            file("/srv/tree/file.txt", "plain\n"),
            File {
                path: "/srv/tree/suid",
                content: b"#!/bin/sh\n",
                mode: 0o4755,
            },
        ],
    );
    // Links that point out of the tree (absolute, and up past the root), a chain of
    // them, a FIFO and a device node.
    debugfs_write_at(
        &img,
        DEBIAN_ROOT_OFFSET,
        DEBIAN_ROOT_SIZE,
        "cd /srv/tree\nsymlink a /etc\nsymlink up ../../../../../../../tmp/outside\nsymlink b a\nsymlink c b\nmknod fifo p\nmknod disk b 8 0\n",
    );
    let out_root = dir.path().join("out");
    let dest = out_root.join("dest");
    std::fs::create_dir_all(&dest).unwrap();
    let sentinel = out_root.join("sentinel");
    std::fs::write(&sentinel, "untouched\n").unwrap();

    let out = gw(&["copy-out", "-a", s(&img), "/srv/tree", s(&dest)]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let warnings = String::from_utf8_lossy(&out.stderr);
    assert!(
        warnings.contains("skipped '/srv/tree/fifo'")
            && warnings.contains("skipped '/srv/tree/disk'"),
        "{warnings}"
    );
    let t = dest.join("tree");
    assert_eq!(
        std::fs::read_to_string(t.join("file.txt")).unwrap(),
        "plain\n"
    );
    assert_eq!(
        std::fs::read_link(t.join("a")).unwrap(),
        Path::new("/etc"),
        "a symlink stays a symlink"
    );
    assert_eq!(std::fs::read_link(t.join("c")).unwrap(), Path::new("b"));
    assert!(!t.join("fifo").exists() && !t.join("disk").exists());
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(t.join("suid"))
            .unwrap()
            .permissions()
            .mode()
            & 0o7777,
        0o755,
        "setuid dropped"
    );
    assert_eq!(std::fs::read_to_string(&sentinel).unwrap(), "untouched\n");
    let mut everything: Vec<String> = walk(&out_root);
    everything.sort();
    assert_eq!(
        everything,
        [
            "dest",
            "dest/tree",
            "dest/tree/a",
            "dest/tree/b",
            "dest/tree/c",
            "dest/tree/file.txt",
            "dest/tree/suid",
            "dest/tree/up",
            "sentinel"
        ],
        "nothing else was created"
    );
    assert!(!Path::new("/tmp/outside").exists());

    // copy-in: a host tree lands in the guest, symlinks as symlinks.
    let src = dir.path().join("payload");
    std::fs::create_dir_all(src.join("conf.d")).unwrap();
    std::fs::write(src.join("conf.d/app.conf"), "key=value\n").unwrap();
    std::os::unix::fs::symlink("conf.d/app.conf", src.join("current")).unwrap();
    let out = gw(&["copy-in", "-a", s(&img), s(&src), "/opt/missing"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("/opt/missing is not a directory in the guest"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    ok(&["copy-in", "-a", s(&img), s(&src), "/srv"]);
    let part = extract(&img, DEBIAN_ROOT_OFFSET, DEBIAN_ROOT_SIZE);
    let cat = run(std::process::Command::new("debugfs")
        .arg("-R")
        .arg("cat /srv/payload/conf.d/app.conf")
        .arg(part.path()))
    .stdout;
    assert_eq!(cat, b"key=value\n");
    let stat = run(std::process::Command::new("debugfs")
        .arg("-R")
        .arg("stat /srv/payload/current")
        .arg(part.path()))
    .stdout;
    assert!(
        String::from_utf8_lossy(&stat).contains("Type: symlink"),
        "{}",
        String::from_utf8_lossy(&stat)
    );
    let fsck = std::process::Command::new("e2fsck")
        .arg("-fn")
        .arg(part.path())
        .output()
        .expect("e2fsck (e2fsprogs)");
    assert!(
        fsck.status.success(),
        "{}",
        String::from_utf8_lossy(&fsck.stdout)
    );
}

/// Every path below `root`, relative, not following symlinks.
fn walk(root: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            let p = e.path();
            out.push(p.strip_prefix(root).unwrap().to_string_lossy().into_owned());
            if e.file_type().unwrap().is_dir() {
                stack.push(p);
            }
        }
    }
    out
}

/// Runs guestwright with `env`; kills it (and fails) after `deadline`.
fn gw_within(args: &[&str], env: &[(&str, &str)], deadline: std::time::Duration) -> Output {
    let mut cmd = guestwright();
    cmd.args(args)
        .envs(env.iter().copied())
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let child = cmd.spawn().expect("run guestwright");
    let pid = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(deadline) {
        Ok(out) => out.unwrap(),
        Err(_) => {
            let _ = std::process::Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
            panic!("guestwright {args:?} did not finish within {deadline:?}");
        }
    }
}

const MINUTES: std::time::Duration = std::time::Duration::from_secs(300);

#[test]
fn tar_out_and_copy_out_replace_a_host_file_only_on_success() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let img = gpt_ext4(
        dir.path(),
        "disk.img",
        &[
            file("/etc/hostname", "testhost\n"),
            file("/data/a.txt", "alpha\n"),
        ],
    );
    debugfs_write(&img, "symlink dangling /nowhere\n");
    let out = dir.path().join("out");
    std::fs::create_dir(&out).unwrap();
    let precious = b"precious\n";
    let archive = out.join("archive.tar");
    let copied = out.join("dangling");
    for p in [&archive, &copied] {
        std::fs::write(p, precious).unwrap();
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o640)).unwrap();
    }
    let names = || {
        let mut v: Vec<_> = std::fs::read_dir(&out)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    };
    let m = ["-a", s(&img), "-m", "/dev/sda1"];

    let r = gw_within(
        &[&["tar-out"][..], &m, &["/does-not-exist", s(&archive)]].concat(),
        &[],
        MINUTES,
    );
    assert_eq!(r.status.code(), Some(1), "{r:?}");
    let r = gw_within(
        &[&["copy-out"][..], &m, &["/dangling", s(&out)]].concat(),
        &[],
        MINUTES,
    );
    assert_eq!(r.status.code(), Some(1), "{r:?}");
    assert_eq!(std::fs::read(&archive).unwrap(), precious);
    assert_eq!(std::fs::read(&copied).unwrap(), precious);
    assert_eq!(
        names(),
        ["archive.tar", "dangling"],
        "no temporary file left"
    );

    let r = gw_within(
        &[&["tar-out"][..], &m, &["/data", s(&archive)]].concat(),
        &[],
        MINUTES,
    );
    assert!(r.status.success(), "{r:?}");
    let listed = std::process::Command::new("tar")
        .arg("-xOf")
        .arg(&archive)
        .arg("./a.txt")
        .output()
        .unwrap();
    assert_eq!(listed.stdout, b"alpha\n", "{listed:?}");
    assert_eq!(
        std::fs::metadata(&archive).unwrap().permissions().mode() & 0o777,
        0o640,
        "the replaced archive keeps its mode"
    );
    std::fs::rename(&copied, out.join("hostname")).unwrap();
    let r = gw_within(
        &[&["copy-out"][..], &m, &["/etc/hostname", s(&out)]].concat(),
        &[],
        MINUTES,
    );
    assert!(r.status.success(), "{r:?}");
    assert_eq!(std::fs::read(out.join("hostname")).unwrap(), b"testhost\n");
    assert_eq!(
        names(),
        ["archive.tar", "hostname"],
        "no temporary file left"
    );
}

#[test]
fn an_error_about_a_guest_path_with_a_newline_is_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let img = gpt_ext4(dir.path(), "disk.img", &[file("/etc/hostname", "h\n")]);
    let r = gw_within(
        &["cat", "-a", s(&img), "-m", "/dev/sda1", "/etc/no\nsuch"],
        &[],
        MINUTES,
    );
    assert_eq!(r.status.code(), Some(1), "{r:?}");
    let err = String::from_utf8_lossy(&r.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("/etc/no\\nsuch") && err.contains("No such file or directory"),
        "{err}"
    );
}

#[test]
fn a_bad_environment_value_names_the_variable_and_what_it_accepts() {
    let dir = tempfile::tempdir().unwrap();
    let img = dir.path().join("never-opened.img");
    for (var, value, accepted) in [
        (
            "GUESTWRIGHT_MEMORY",
            "lots",
            "a whole number of MiB from 128 to",
        ),
        ("GUESTWRIGHT_MACHINE", "pc", "microvm or q35"),
        ("GUESTWRIGHT_ACCEL", "fast", "auto, kvm or tcg"),
    ] {
        let r = gw_within(
            &["cat", "-a", s(&img), "/etc/hostname"],
            &[(var, value)],
            MINUTES,
        );
        let err = String::from_utf8_lossy(&r.stderr);
        assert_eq!(r.status.code(), Some(2), "{var}: {err}");
        assert!(
            err.contains(var) && err.contains(&format!("\"{value}\"")) && err.contains(accepted),
            "{err}"
        );
        assert!(!err.contains("malformed"), "{err}");
        // The shell says the same.
        let r = gw_within(
            &["shell", "-a", s(&img), "echo", "x"],
            &[(var, value)],
            MINUTES,
        );
        let err = String::from_utf8_lossy(&r.stderr);
        assert_eq!(r.status.code(), Some(2), "shell {var}: {err}");
        assert!(err.contains(var) && err.contains(accepted), "{err}");
    }
}

#[test]
fn an_error_about_a_host_path_with_a_newline_is_one_line() {
    // Found before any appliance starts.
    let r = gw_within(
        &[
            "tar-in",
            "-a",
            "/nonexistent.img",
            "/tmp/no\nsuch.tar",
            "/srv",
        ],
        &[],
        MINUTES,
    );
    assert_eq!(r.status.code(), Some(1), "{r:?}");
    let err = String::from_utf8_lossy(&r.stderr);
    assert_eq!(
        err,
        "guestwright: /tmp/no\\nsuch.tar: No such file or directory (os error 2)\n"
    );
    let r = guestwright()
        .args(["shell"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin
                .take()
                .unwrap()
                .write_all(b"-lcd \"/no\\nwhere\"\n")?;
            c.wait_with_output()
        })
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&r.stderr),
        "guestwright: /no\\nwhere: No such file or directory (os error 2)\n"
    );
    assert_eq!(r.status.code(), Some(0));
}

#[test]
fn ctrl_c_during_tar_out_leaves_the_host_file_as_it_was() {
    // Incompressible bytes, packed with xz: slow enough under TCG to be interrupted.
    let mut big = vec![0u8; 24 << 20];
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    for b in big.iter_mut() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        *b = x as u8;
    }
    let dir = tempfile::tempdir().unwrap();
    let img = gpt_ext4(
        dir.path(),
        "disk.img",
        &[File {
            path: "/big/data",
            content: &big,
            mode: 0o644,
        }],
    );
    let out = dir.path().join("out");
    std::fs::create_dir(&out).unwrap();
    let archive = out.join("archive.tar.xz");
    std::fs::write(&archive, b"precious\n").unwrap();
    let mut child = guestwright()
        .args([
            "tar-out",
            "-a",
            s(&img),
            "-m",
            "/dev/sda1",
            "--compress",
            "xz",
        ])
        .args(["/big", s(&archive)])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id().to_string();
    let kill = |sig: &str| {
        let _ = std::process::Command::new("kill")
            .args([sig, &pid])
            .status();
    };
    let names = || {
        let mut v: Vec<_> = std::fs::read_dir(&out)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        v.sort();
        v
    };
    let started = std::time::Instant::now();
    loop {
        // Whatever it writes beside the archive, under whatever name.
        let writing = names()
            .into_iter()
            .any(|p| p != archive && std::fs::metadata(&p).is_ok_and(|m| m.len() > 0));
        if writing {
            break;
        }
        if started.elapsed() > MINUTES || child.try_wait().unwrap().is_some() {
            kill("-KILL");
            panic!(
                "tar-out never started writing: {:?}",
                child.wait_with_output()
            );
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    kill("-INT");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    let Ok(done) = rx.recv_timeout(std::time::Duration::from_secs(120)) else {
        kill("-KILL");
        panic!("tar-out did not stop after Ctrl-C");
    };
    let done = done.unwrap();
    let err = String::from_utf8_lossy(&done.stderr);
    assert_eq!(done.status.code(), Some(130), "{err}");
    assert!(
        err.starts_with("guestwright: interrupted by SIGINT: stopped") && err.lines().count() == 1,
        "{err}"
    );
    assert_eq!(
        names(),
        std::slice::from_ref(&archive),
        "no temporary file left"
    );
    assert_eq!(std::fs::read(&archive).unwrap(), b"precious\n");
}

/// `--network` was guestwright's interface option; in virt-customize it is a flag about the
/// appliance's network. The flag is accepted as virt-customize's (the appliance has a network
/// now, so nothing is said about it); the old spelling with an argument still works as
/// --net-config, with a warning.
#[test]
fn customize_network_is_virt_customizes_flag_and_its_old_meaning_warns() {
    let missing = "/nonexistent/customize-network.img";
    let out = gw(&[
        "customize",
        "-a",
        missing,
        "--network",
        "--run-command",
        "true",
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("no network yet"), "{err}");
    assert!(err.contains("cannot open disk image"), "{err}");
    assert_eq!(out.status.code(), Some(1), "{err}");
    let out = gw(&[
        "customize",
        "-a",
        missing,
        "--no-network",
        "--run-command",
        "true",
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("no network yet"), "{err}");
    let out = gw(&[
        "customize",
        "-a",
        missing,
        "--dryrun",
        "--network",
        "eth0:bogus",
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("now --net-config"), "{err}");
    assert!(err.contains("invalid --net-config"), "{err}");
}

#[test]
fn fuse_help_runs_without_an_image_or_mountpoint() {
    // mount --fuse-help: no -a, -m or mountpoint; the options on stderr, status 0.
    let out = gw_within(
        &["mount", "--fuse-help"],
        &[],
        std::time::Duration::from_secs(10),
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{}: {err}", out.status);
    assert!(out.stdout.is_empty());
    assert!(
        err.starts_with("usage: guestwright mount mountpoint [options]\n")
            && err.contains("-o allow_other"),
        "{err}"
    );
    // Without --fuse-help the mountpoint is still required (clap's usage error).
    let out = gw_within(
        &["mount", "-a", "x.img", "-i"],
        &[],
        std::time::Duration::from_secs(10),
    );
    assert_eq!(out.status.code(), Some(2));
}
