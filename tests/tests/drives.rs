//! Every kind of drive a user has, given to `-a` and to the shell's `add`: host block devices
//! (a loop device stands in for an LV: this machine's kernel has no device-mapper and no
//! nbd module), NBD on a unix socket and on TCP, HTTP, SSH. Servers run on loopback,
//! started by the test with a deadline and stopped when the test ends, even on failure;
//! loop devices are always detached. Each test reads through guestwright what the same
//! image reads as a file, and checks read-only runs leave the source's bytes unchanged.
//! Three launches: one restored read-only launch with four drive forms, one booted
//! read-write launch (GUESTWRIGHT_SNAPSHOT=0), one customize on a block device (the LVM seed
//! workflow's guestwright step).
//!
//! Block devices need root (CI runs as root); the tests fail loudly elsewhere.

use crate::drivekit;
use crate::serverkit;

use drivekit::{run_within, Ran};
use guestwright_tests::*;
use serverkit::*;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(300);

/// A Debian-like disk in `dir`, its sha256.
fn disk(dir: &Path, name: &str) -> (PathBuf, String) {
    let img = debian_like(dir, name, &[file("/srv/marker", "drives test\n")]);
    let sum = sha256(&img);
    (img, sum)
}

fn shell_script(args: &[&str], env: &[(String, String)], script: &str) -> Ran {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("script");
    std::fs::write(&path, script).unwrap();
    let mut c = guestwright();
    c.arg("shell").args(args).arg("-f").arg(&path);
    for (k, v) in env {
        c.env(k, v);
    }
    run_within(&mut c, LIMIT)
}

/// One restored launch, read-only, four drive forms on `-a`: a block device, NBD on a unix
/// socket with an export name (a qcow2, `--format=qcow2`), HTTP, SSH. Each whole disk read in the appliance has the
/// file's checksum, a file inside reads as written, and no source changes.
#[test]
fn read_only_drives_of_every_form_read_as_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let (img, sum) = disk(dir.path(), "disk.img");
    let lo = Loop::attach(&img, true);
    // NBD serves a qcow2 of the same disk, opened with --format=qcow2 (remote formats are
    // never guessed): the appliance sees the raw disk's bytes.
    let qcow2 = dir.path().join("disk.qcow2");
    run(Command::new("qemu-img")
        .args(["convert", "-q", "-f", "raw", "-O", "qcow2"])
        .arg(&img)
        .arg(&qcow2));
    let qcow2_sum = sha256(&qcow2);
    let sock = dir.path().join("nbd,odd sock");
    let nbd = qemu_nbd(&qcow2, "the export", true, &["-k", sock.to_str().unwrap()]);
    wait_for("qemu-nbd", || sock.exists());
    let http = Http::serve(img.clone());
    let ssh = sshd(dir.path());

    let nbd_uri = format!(
        "nbd+unix:///the%20export?socket={}",
        sock.to_str().unwrap().replace(' ', "%20")
    );
    let http_uri = format!("http://127.0.0.1:{}/disk.img", http.port);
    let ssh_uri = format!("ssh://root@127.0.0.1:{}{}", ssh.port, img.display());
    let mut script = String::from("run\n");
    for d in ["a", "b", "c", "d"] {
        script.push_str(&format!(
            "checksum-device sha256 /dev/sd{d}\nmount-ro /dev/sd{d}2 /\ncat /srv/marker\ncat /etc/hostname\numount /\n"
        ));
    }
    let ran = shell_script(
        &[
            "--ro",
            "-v",
            "-a",
            lo.path(),
            "--format=qcow2",
            "-a",
            &nbd_uri,
            "--format",
            "-a",
            &http_uri,
            "-a",
            &ssh_uri,
        ],
        &ssh.env,
        &script,
    );
    assert!(ran.status.success(), "{ran}");
    // The shell's cat ends what it prints with a newline of its own, as guestfish does.
    let want = format!("{sum}\ndrives test\n\n{DEBIAN_HOSTNAME}\n\n");
    assert_eq!(ran.stdout, want.repeat(4), "{ran}");
    assert!(
        ran.stderr
            .contains("a block device without --format: opened as raw")
            && ran
                .stderr
                .contains("a remote drive without --format: opened as raw"),
        "-v says the format was not guessed:\n{ran}"
    );
    assert!(
        !ran.stderr.contains("booting the appliance instead"),
        "four drives fit the saved appliance's slots and restore:\n{ran}"
    );
    nbd.stop();
    drop(lo);
    assert_eq!(sha256(&img), sum, "a read-only run changed the source");
    assert_eq!(
        sha256(&qcow2),
        qcow2_sum,
        "a read-only run changed the qcow2"
    );
}

/// One booted launch (no saved appliance), drives added in the shell with libguestfs's
/// optional arguments: read-write NBD on TCP (`protocol:nbd server:tcp:...`) and a block
/// device, read-only HTTP and iSCSI (tgtd on 127.0.0.1). The writes land: the files read
/// back with debugfs and fsck is clean; the read-only sources keep their checksums.
#[test]
fn read_write_nbd_and_block_device_take_the_writes() {
    let dir = tempfile::tempdir().unwrap();
    let (nbd_img, _) = disk(dir.path(), "nbd.img");
    let (dev_img, _) = disk(dir.path(), "dev.img");
    let (http_img, http_sum) = disk(dir.path(), "http.img");
    let port = free_port();
    let nbd = qemu_nbd(
        &nbd_img,
        "",
        false,
        &["-b", "127.0.0.1", "-p", &port.to_string()],
    );
    wait_for("qemu-nbd", || {
        TcpStream::connect(("127.0.0.1", port)).is_ok()
    });
    let lo = Loop::attach(&dev_img, false);
    let http = Http::serve(http_img.clone());
    let (iscsi_img, iscsi_sum) = disk(dir.path(), "iscsi.img");
    let iscsi_port = free_port();
    let iqn = "iqn.2026-12.org.guestwright:drives";
    let tgt = tgtd(&iscsi_img, iqn, iscsi_port);
    let script = format!(
        "add \"\" protocol:nbd server:tcp:127.0.0.1:{port} format:raw\n\
         add {} format:raw\n\
         add /http.img readonly:true protocol:http server:127.0.0.1:{}\n\
         add {iqn}/1 readonly:true format:raw protocol:iscsi server:127.0.0.1:{iscsi_port}\n\
         run\n\
         mount /dev/sda2 /\nwrite /srv/written \"over nbd\\n\"\numount /\n\
         mount /dev/sdb2 /\nwrite /srv/written \"on a block device\\n\"\numount /\n\
         mount-ro /dev/sdc2 /\ncat /srv/marker\numount /\n\
         checksum-device sha256 /dev/sdd\nmount-ro /dev/sdd2 /\ncat /srv/marker\numount /\n",
        lo.path(),
        http.port
    );
    let env = [("GUESTWRIGHT_SNAPSHOT".to_string(), "0".to_string())];
    let ran = shell_script(&[], &env, &script);
    assert!(ran.status.success(), "{ran}");
    assert_eq!(
        ran.stdout,
        format!("drives test\n\n{iscsi_sum}\ndrives test\n\n"),
        "{ran}"
    );
    nbd.stop();
    drop(tgt);
    assert_eq!(
        sha256(&iscsi_img),
        iscsi_sum,
        "a read-only iSCSI drive changed"
    );
    drop(lo);
    let root = |img: &Path| extract(img, DEBIAN_ROOT_OFFSET, DEBIAN_ROOT_SIZE);
    for (img, want) in [(&nbd_img, "over nbd\n"), (&dev_img, "on a block device\n")] {
        let part = root(img);
        let got = run(Command::new("debugfs")
            .args(["-R", "cat /srv/written"])
            .arg(part.path()))
        .stdout;
        assert_eq!(String::from_utf8_lossy(&got), want, "{}", img.display());
        let fsck = Command::new("e2fsck")
            .arg("-fn")
            .arg(part.path())
            .output()
            .unwrap();
        assert!(
            fsck.status.success(),
            "fsck of {}: {}",
            img.display(),
            String::from_utf8_lossy(&fsck.stdout)
        );
    }
    assert_eq!(sha256(&http_img), http_sum);
}

/// The LVM seed workflow's guestwright step (README "Drives"): `lvcreate -s` makes a
/// snapshot LV of a template, and customize writes the snapshot. Without device-mapper
/// here, a loop device over a copy of the template stands in for the snapshot LV.
#[test]
fn customize_writes_a_block_device_and_leaves_the_template() {
    let dir = tempfile::tempdir().unwrap();
    let (template, template_sum) = disk(dir.path(), "template.img");
    let snap = dir.path().join("snap.img");
    std::fs::copy(&template, &snap).unwrap();
    let lo = Loop::attach(&snap, false);
    let ran = run_within(
        guestwright().args(["customize", "-a", lo.path(), "--hostname", "vm01"]),
        LIMIT,
    );
    assert!(ran.status.success(), "{ran}");
    drop(lo);
    let part = extract(&snap, DEBIAN_ROOT_OFFSET, DEBIAN_ROOT_SIZE);
    let got = run(Command::new("debugfs")
        .args(["-R", "cat /etc/hostname"])
        .arg(part.path()))
    .stdout;
    assert_eq!(String::from_utf8_lossy(&got), "vm01\n");
    assert_eq!(sha256(&template), template_sum);
}

/// No launch: what is refused before anything starts, and how.
#[test]
fn hostile_and_wrong_drive_names_are_refused_in_words() {
    let dir = tempfile::tempdir().unwrap();
    let canary = dir.path().join("canary");
    std::fs::write(&canary, "canary-bytes-7731\n").unwrap();
    for (uri, says) in [
        // libguestfs's add_drive checks, in its words, as the shell's -a.
        ("nbd://127.0.0.1,driver=file/x", "invalid hostname"),
        ("nbd://-oProxyCommand=touch/x", "invalid hostname"),
        ("nbd://-o/x", "is not a host name"),
        ("http://127.0.0.1/a b.img", "percent-encode"),
        ("http://127.0.0.1/a\"b.img", "percent-encode"),
        (
            "http://127.0.0.1/x.img?file.driver=file",
            "unknown query parameter",
        ),
        ("nbd+unix:///x", "needs ?socket=PATH"),
        ("gopher://h/x", "unknown protocol"),
        ("ssh://u:pw@h/x", "does not pass passwords to ssh servers"),
    ] {
        let ran = run_within(
            guestwright().args(["cat", "-a", uri, "/etc/hostname"]),
            LIMIT,
        );
        assert!(!ran.status.success(), "{ran}");
        assert!(ran.stderr.contains(says), "{uri}: wanted {says:?}:\n{ran}");
        drivekit::assert_sane(&ran, "canary-bytes-7731");
    }
    // A json: name is a file name (which does not exist), never QEMU's pseudo-protocol.
    let json = format!(
        "json:{{\"driver\":\"raw\",\"file\":{{\"driver\":\"file\",\"filename\":\"{}\"}}}}",
        canary.display()
    );
    let ran = run_within(guestwright().args(["cat", "-a", &json, "/x"]), LIMIT);
    assert!(!ran.status.success(), "{ran}");
    assert!(ran.stderr.contains("cannot open"), "{ran}");
    drivekit::assert_sane(&ran, "canary-bytes-7731");
    // A remote qcow2 naming a backing file (here the canary, a host path) is refused before
    // QEMU could open it; so is one that is not what --format says.
    let backed = dir.path().join("backed.qcow2");
    run(Command::new("qemu-img")
        .args(["create", "-q", "-f", "qcow2", "-F", "raw", "-b"])
        .arg(&canary)
        .arg(&backed)
        .arg("1M"));
    let sock = dir.path().join("nbd.sock");
    let nbd = qemu_nbd(&backed, "", true, &["-k", sock.to_str().unwrap()]);
    wait_for("qemu-nbd", || sock.exists());
    let uri = format!("nbd+unix:///?socket={}", sock.display());
    for (format, says) in [
        ("qcow2", "it names the backing file"),
        ("vdi", "its header is qcow2, not vdi"),
    ] {
        let ran = run_within(
            guestwright().args(["cat", "--format", format, "-a", &uri, "/x"]),
            LIMIT,
        );
        assert!(!ran.status.success(), "{ran}");
        assert!(
            ran.stderr.contains(says),
            "{format}: wanted {says:?}:\n{ran}"
        );
        drivekit::assert_sane(&ran, "canary-bytes-7731");
    }
    nbd.stop();
    // http is read-only; a writer says how to open it.
    let ran = run_within(
        guestwright().args([
            "customize",
            "-a",
            "http://127.0.0.1:9/x.img",
            "--hostname",
            "x",
        ]),
        LIMIT,
    );
    assert!(!ran.status.success(), "{ran}");
    assert!(ran.stderr.contains("read-only"), "{ran}");
    // A server that is not there: named, with QEMU's reason.
    let port = free_port();
    let ran = run_within(
        guestwright().args(["cat", "-a", &format!("nbd://127.0.0.1:{port}"), "/x"]),
        LIMIT,
    );
    assert!(!ran.status.success(), "{ran}");
    assert!(
        ran.stderr.contains(&format!(
            "cannot open the remote drive nbd://127.0.0.1:{port}/"
        )),
        "{ran}"
    );
}

/// A block device the user may not open: the message names it and the `disk` group.
#[test]
fn a_block_device_without_permission_names_the_group() {
    let dir = tempfile::tempdir().unwrap();
    let img = dir.path().join("small.img");
    std::fs::File::create(&img)
        .unwrap()
        .set_len(1 << 20)
        .unwrap();
    let lo = Loop::attach(&img, true);
    // As udev sets it up on Debian (this machine may have no udev).
    run(Command::new("chgrp").args(["disk", lo.path()]));
    run(Command::new("chmod").args(["0660", lo.path()]));
    require("setpriv", "util-linux");
    let mut c = Command::new("setpriv");
    c.args(["--reuid=nobody", "--regid=nogroup", "--clear-groups", "--"])
        .arg(guestwright_bin())
        .args(["cat", "-a", lo.path(), "/x"])
        .env("GUESTWRIGHT_ACCEL", "tcg")
        .env("HOME", dir.path());
    let ran = run_within(&mut c, LIMIT);
    assert!(!ran.status.success(), "{ran}");
    assert!(
        ran.stderr.contains(&format!(
            "permission denied opening the block device {}",
            lo.path()
        )) && ran.stderr.contains("group 'disk'")
            && ran.stderr.contains("usermod -aG disk"),
        "{ran}"
    );
}

/// The one-shot commands on remote drives, as pipelines use them: `inspect` on a qcow2 over
/// HTTP, `cat -i` on a qcow2 over SSH, `ls` on `-a iscsi://`, HTTPS with a certificate the
/// host does not trust (refused, in words that name the way out, unless
/// `?sslverify=false`), and a FUSE mount of an NBD export with `-i`. Every source keeps its
/// checksum.
#[test]
fn one_shot_commands_on_remote_drives() {
    let dir = tempfile::tempdir().unwrap();
    let (img, sum) = disk(dir.path(), "disk.img");
    let qcow2 = dir.path().join("disk.qcow2");
    run(Command::new("qemu-img")
        .args(["convert", "-q", "-f", "raw", "-O", "qcow2"])
        .arg(&img)
        .arg(&qcow2));
    let qcow2_sum = sha256(&qcow2);
    let within = |c: &mut Command| {
        let ran = run_within(c, LIMIT);
        assert!(ran.status.success(), "{ran}");
        ran.stdout
    };

    // inspect on a qcow2 over HTTP: the formats are never guessed, so --format says qcow2.
    let http = Http::serve(qcow2.clone());
    let url = format!("http://127.0.0.1:{}/disk.qcow2", http.port);
    let out = within(guestwright().args(["inspect", "--xml", "--format=qcow2", "-a", &url]));
    assert!(
        out.contains(&format!("<hostname>{DEBIAN_HOSTNAME}</hostname>")),
        "{out}"
    );

    // cat -i on the same qcow2 over SSH.
    let ssh = sshd(dir.path());
    let url = format!("ssh://root@127.0.0.1:{}{}", ssh.port, qcow2.display());
    let mut c = guestwright();
    c.args(["cat", "--format=qcow2", "-a", &url, "-i", "/srv/marker"]);
    for (k, v) in &ssh.env {
        c.env(k, v);
    }
    assert_eq!(within(&mut c), "drives test\n");

    // ls on iscsi:// given to -a.
    let iscsi_port = free_port();
    let iqn = "iqn.2026-12.org.guestwright:oneshot";
    let tgt = tgtd(&img, iqn, iscsi_port);
    let url = format!("iscsi://127.0.0.1:{iscsi_port}/{iqn}/1");
    let out =
        within(guestwright().args(["ls", "--format=raw", "-a", &url, "-m", "/dev/sda2", "/srv"]));
    assert_eq!(out, "marker\n");
    drop(tgt);

    // HTTPS: a certificate nobody trusts is refused by default, and the message says how
    // to go on; `?sslverify=false` reads through it.
    let raw = Http::serve(img.clone());
    let (_tls, tls_port) = https(dir.path(), raw.port);
    let cat_marker = |url: &str| {
        let mut c = guestwright();
        c.args([
            "cat",
            "--format=raw",
            "-a",
            url,
            "-m",
            "/dev/sda2",
            "/srv/marker",
        ]);
        c
    };
    let url = format!("https://127.0.0.1:{tls_port}/disk.img");
    let ran = run_within(&mut cat_marker(&url), LIMIT);
    assert!(
        !ran.status.success(),
        "an untrusted certificate was accepted:\n{ran}"
    );
    assert!(
        ran.stderr.contains("certificate") && ran.stderr.contains("sslverify=false"),
        "the refusal names the certificate and the way out:\n{ran}"
    );
    let url = format!("{url}?sslverify=false");
    let out = within(&mut cat_marker(&url));
    assert_eq!(out, "drives test\n");

    // A FUSE mount (-i) of an NBD export on a unix socket, read, then unmounted.
    let sock = dir.path().join("nbd.sock");
    let nbd = qemu_nbd(&img, "", true, &["-k", sock.to_str().unwrap()]);
    wait_for("qemu-nbd", || sock.exists());
    let mnt = dir.path().join("mnt");
    std::fs::create_dir(&mnt).unwrap();
    let url = format!("nbd+unix://?socket={}", sock.display());
    let mounted = MountGuard(mnt.clone());
    within(
        guestwright()
            .args(["mount", "--format=raw", "-a", &url, "-i"])
            .arg(&mnt),
    );
    assert_eq!(
        std::fs::read_to_string(mnt.join("srv/marker")).unwrap(),
        "drives test\n"
    );
    within(guestwright().arg("umount").arg(&mnt));
    drop(mounted);
    nbd.stop();

    assert_eq!(sha256(&img), sum, "a read-only run changed the source");
    assert_eq!(
        sha256(&qcow2),
        qcow2_sum,
        "a read-only run changed the qcow2"
    );
}

/// Lazily unmounts a FUSE mount a failed test left behind.
struct MountGuard(PathBuf);

impl Drop for MountGuard {
    fn drop(&mut self) {
        let _ = Command::new("fusermount3")
            .args(["-u", "-z"])
            .arg(&self.0)
            .stderr(std::process::Stdio::null())
            .status();
    }
}

/// The LVM seed workflow in one command: `clone /dev/VG/template /dev/VG/vm01
/// --snapshot-size 2G --hostname vm01`. This machine's kernel has no device-mapper, so
/// `lvcreate` and `lvremove` are stand-ins early in PATH that do what LVM does with the
/// devices (a snapshot LV is a loop device over a copy of the template, linked as
/// /dev/VG/NAME) and log the arguments they got; everything else is real. A failed customize
/// removes the snapshot again; wrong names and sizes are refused before anything is made.
#[test]
fn clone_into_a_snapshot_lv() {
    let dir = tempfile::tempdir().unwrap();
    let (template, template_sum) = disk(dir.path(), "template.img");
    let vg = format!("gwtest{}", std::process::id());
    let vg_dir = PathBuf::from("/dev").join(&vg);
    struct Cleanup(PathBuf);
    impl Drop for Cleanup {
        fn drop(&mut self) {
            if let Ok(entries) = std::fs::read_dir(&self.0) {
                for e in entries.flatten() {
                    if let Ok(dev) = std::fs::read_link(e.path()) {
                        let _ = Command::new("losetup")
                            .arg("-d")
                            .arg(dev)
                            .stderr(std::process::Stdio::null())
                            .status();
                    }
                }
            }
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
    std::fs::create_dir(&vg_dir).unwrap();
    let _cleanup = Cleanup(vg_dir.clone());
    let origin = Loop::attach(&template, true);
    std::os::unix::fs::symlink(origin.path(), vg_dir.join("template")).unwrap();

    let bin = dir.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    let log = dir.path().join("lvm.log");
    let fake = |name: &str, body: &str| {
        use std::os::unix::fs::PermissionsExt;
        let path = bin.join(name);
        std::fs::write(
            &path,
            format!(
                "#!/bin/bash\nset -e\necho \"{name} $*\" >> {}\n{body}",
                log.display()
            ),
        )
        .unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    };
    // lvcreate --snapshot --size S --name N VG/LV; FAIL_LVCREATE makes it fail as LVM does.
    fake(
        "lvcreate",
        &format!(
            "if [ -n \"$FAIL_LVCREATE\" ]; then echo '  Volume group \"{vg}\" has insufficient free space.' >&2; exit 5; fi\n\
             name=$5\n\
             cp --sparse=always \"$(readlink -f $origin)\" /dev/null 2>/dev/null || true\n\
             cp --sparse=always {template} {dir}/$name.cow\n\
             ln -s \"$(losetup --find --show {dir}/$name.cow)\" /dev/{vg}/$name\n",
            template = template.display(),
            dir = dir.path().display()
        ),
    );
    // lvremove --force --yes VG/N
    fake(
        "lvremove",
        "dev=/dev/$3\nlosetup -d \"$(readlink $dev)\"\nrm \"$dev\"\n",
    );
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let clone = |args: &[&str], env: &[(&str, &str)]| {
        let mut c = guestwright();
        c.arg("clone").args(args).env("PATH", &path);
        for (k, v) in env {
            c.env(k, v);
        }
        run_within(&mut c, LIMIT)
    };
    let base = format!("/dev/{vg}/template");
    let new = format!("/dev/{vg}/vm01");
    let logged = || std::fs::read_to_string(&log).unwrap_or_default();

    // Refused before anything is made.
    for (args, words) in [
        (
            vec![base.as_str(), new.as_str(), "--snapshot-size", "2GB"],
            "is not a size",
        ),
        (
            vec![base.as_str(), "/dev/othervg/vm01", "--snapshot-size", "2G"],
            "origin's volume group",
        ),
        (
            vec![
                template.to_str().unwrap(),
                new.as_str(),
                "--snapshot-size",
                "2G",
            ],
            "is not an LV",
        ),
        (
            vec![base.as_str(), new.as_str()],
            "give --snapshot-size SIZE",
        ),
    ] {
        let ran = clone(&args, &[]);
        assert!(matches!(ran.status.code(), Some(1 | 2)), "{ran}");
        assert!(ran.stderr.contains(words), "{words:?}:\n{ran}");
    }
    let ran = clone(
        &[&base, &new, "--snapshot-size", "2G"],
        &[("FAIL_LVCREATE", "1")],
    );
    assert!(!ran.status.success(), "{ran}");
    assert!(
        ran.stderr.contains("insufficient free space")
            && ran.stderr.contains("sudo lvcreate -s -L 2G -n vm01"),
        "lvcreate's words and the way on:\n{ran}"
    );
    assert!(!PathBuf::from(&new).exists());

    // The workflow: the snapshot is made, customized, and the template is unchanged.
    std::fs::write(&log, "").unwrap();
    let ran = clone(
        &[&base, &new, "--snapshot-size", "2G", "--hostname", "vm01"],
        &[],
    );
    assert!(ran.status.success(), "{ran}");
    assert_eq!(
        logged(),
        format!("lvcreate --snapshot --size 2G --name vm01 {vg}/template\n")
    );
    let cow = dir.path().join("vm01.cow");
    let part = extract(&cow, DEBIAN_ROOT_OFFSET, DEBIAN_ROOT_SIZE);
    let got = run(Command::new("debugfs")
        .args(["-R", "cat /etc/hostname"])
        .arg(part.path()))
    .stdout;
    assert_eq!(String::from_utf8_lossy(&got), "vm01\n");

    // A customize that fails removes its snapshot.
    std::fs::write(&log, "").unwrap();
    let vm02 = format!("/dev/{vg}/vm02");
    let ran = clone(
        &[
            &base,
            &vm02,
            "--snapshot-size",
            "1G",
            "--mkdir",
            "/etc/hostname/x",
        ],
        &[],
    );
    assert!(!ran.status.success(), "{ran}");
    assert!(ran.stderr.contains("removed the snapshot LV"), "{ran}");
    assert_eq!(
        logged(),
        format!("lvcreate --snapshot --size 1G --name vm02 {vg}/template\nlvremove --force --yes {vg}/vm02\n")
    );
    assert!(!PathBuf::from(&vm02).exists());
    drop(origin);
    assert_eq!(sha256(&template), template_sum, "the template changed");
}
