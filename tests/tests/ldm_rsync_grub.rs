//! guestfish's last commands, through `guestwright shell` as a script drives guestfish:
//! the Windows dynamic disk calls (`ldmtool-*`, `list-ldm-*`) on disks without LDM metadata
//! answer as guestfish 1.48 does (empty lists, ldmtool's errors); `rsync` copies between
//! guest directories, `rsync-in` / `rsync-out` between the guest and an rsync daemon this
//! test starts on 127.0.0.1 (the appliance reaches it as 169.254.2.2); `grub-install` puts
//! GRUB's boot code in the MBR, its core image after it and its modules under /boot. Each
//! launch and the rsync daemon have a deadline, and the daemon is killed at the end.

use guestwright_tests::*;
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const DEADLINE: Duration = Duration::from_secs(300);

/// `guestwright shell ARGS` with `script` on stdin, within the deadline.
fn shell(args: &[&str], script: &str) -> Output {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("script");
    std::fs::write(&path, script).unwrap();
    let mut c = guestwright();
    c.arg("shell").args(args);
    c.stdin(Stdio::from(std::fs::File::open(&path).unwrap()));
    run_within(&mut c, DEADLINE)
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Expected from guestfish 1.48.6 on this machine (same script, a disk with an MBR and no
/// LDM metadata; its appliance carries ldmtool).
#[test]
fn ldm_calls_on_a_disk_without_ldm_metadata_answer_as_guestfish() {
    require("ldmtool", "ldmtool");
    let dir = tempfile::tempdir().unwrap();
    let img = dir.path().join("disk.img");
    std::fs::File::create(&img)
        .unwrap()
        .set_len(64 << 20)
        .unwrap();
    let out = shell(
        &["-a", img.to_str().unwrap()],
        "run\n\
         part-init /dev/sda mbr\n\
         part-add /dev/sda p 2048 -1\n\
         ldmtool-scan\n\
         ldmtool-scan-devices /dev/sda\n\
         ldmtool-scan-devices \"\"\n\
         list-ldm-volumes\n\
         list-ldm-partitions\n\
         ldmtool-create-all\n\
         ldmtool-remove-all\n\
         -ldmtool-diskgroup-name abc\n\
         -ldmtool-diskgroup-volumes abc\n\
         -ldmtool-diskgroup-disks abc\n\
         -ldmtool-volume-type abc def\n\
         -ldmtool-volume-hint abc def\n\
         -ldmtool-volume-partitions abc def\n\
         -ldmtool-scan-devices /dev/sdz\n\
         feature-available ldm\n",
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "true\n");
    assert_eq!(
        text(&out.stderr),
        "*stdin*:11: libguestfs: error: ldmtool_diskgroup_name: No such disk group: abc\n\
         *stdin*:12: libguestfs: error: ldmtool_diskgroup_volumes: No such disk group: abc\n\
         *stdin*:13: libguestfs: error: ldmtool_diskgroup_disks: No such disk group: abc\n\
         *stdin*:14: libguestfs: error: ldmtool_volume_type: No such disk group: abc\n\
         *stdin*:15: libguestfs: error: ldmtool_volume_hint: No such disk group: abc\n\
         *stdin*:16: libguestfs: error: ldmtool_volume_partitions: No such disk group: abc\n\
         *stdin*:17: libguestfs: error: ldmtool_scan_devices: ldmtool_scan_devices_stub: \
         /dev/sdz: No such file or directory\n"
    );
}

#[test]
fn grub_install_puts_boot_code_in_the_mbr_and_modules_in_boot() {
    require("grub-install", "grub-common");
    assert!(
        Path::new("/usr/lib/grub/i386-pc/normal.mod").is_file(),
        "GRUB's i386-pc modules are missing: apt-get install grub-pc-bin"
    );
    let dir = tempfile::tempdir().unwrap();
    let img = dir.path().join("disk.img");
    std::fs::File::create(&img)
        .unwrap()
        .set_len(128 << 20)
        .unwrap();
    // An ext4 /boot (the first partition) and an ext4 root; grub-install on the disk, then
    // on a partition, where there is no room to embed its core image.
    let out = shell(
        &["-a", img.to_str().unwrap()],
        "run\n\
         part-init /dev/sda mbr\n\
         part-add /dev/sda p 2048 67583\n\
         part-add /dev/sda p 67584 -1\n\
         mkfs ext4 /dev/sda1\n\
         mkfs ext4 /dev/sda2\n\
         mount /dev/sda2 /\n\
         mkdir /boot\n\
         mount /dev/sda1 /boot\n\
         pread-device /dev/sda 8 0\n\
         grub-install / /dev/sda\n\
         is-file /boot/grub/i386-pc/normal.mod\n\
         is-file /boot/grub/i386-pc/core.img\n\
         -grub-install / /dev/sda1\n\
         feature-available grub\n",
    );
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    // The MBR had no boot code before (pread-device printed its zeros as they are).
    assert_eq!(text(&out.stdout), "\0\0\0\0\0\0\0\0true\ntrue\ntrue\n");
    assert!(
        stderr.starts_with("*stdin*:14: libguestfs: error: grub_install: ")
            && stderr.contains("will not proceed with blocklists")
            && stderr.lines().count() == 1,
        "{stderr}"
    );
    let disk = std::fs::read(&img).unwrap();
    let code = &disk[..440];
    assert!(code.iter().any(|&b| b != 0), "no boot code in the MBR");
    assert!(
        code.windows(4).any(|w| w == b"GRUB"),
        "the boot code is not GRUB's"
    );
    // The partition table survived, and the core image sits in the gap after the MBR.
    assert_eq!(&disk[510..512], &[0x55, 0xaa]);
    assert_eq!(disk[446 + 4], 0x83, "first partition's type");
    assert!(
        disk[512..2048 * 512].iter().any(|&b| b != 0),
        "no core image after the MBR"
    );
}

/// An rsync daemon on 127.0.0.1 serving `root` as module `m`, killed when dropped.
struct RsyncDaemon {
    child: Child,
    port: u16,
}

impl RsyncDaemon {
    fn start(dir: &Path, root: &Path) -> RsyncDaemon {
        let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let conf = dir.join("rsyncd.conf");
        std::fs::write(
            &conf,
            format!(
                "[m]\npath = {}\nread only = false\nuse chroot = false\nmunge symlinks = false\nuid = root\ngid = root\n",
                root.display()
            ),
        )
        .unwrap();
        let child = Command::new("rsync")
            .arg("--daemon")
            .arg("--no-detach")
            .arg(format!("--config={}", conf.display()))
            .arg(format!("--port={port}"))
            .arg("--address=127.0.0.1")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("rsync (apt-get install rsync)");
        let d = RsyncDaemon { child, port };
        let t = Instant::now();
        while TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_err() {
            assert!(
                t.elapsed() < Duration::from_secs(10),
                "rsync --daemon did not listen"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        d
    }
}

impl Drop for RsyncDaemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn files_under(root: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![PathBuf::from(root)];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            out.push(p.strip_prefix(root).unwrap().display().to_string());
            if p.is_dir() {
                stack.push(p);
            }
        }
    }
    out.sort();
    out
}

#[test]
fn rsync_between_guest_directories_and_an_rsync_daemon() {
    require("rsync", "rsync");
    let dir = tempfile::tempdir().unwrap();
    let served = dir.path().join("served");
    std::fs::create_dir_all(served.join("in/d")).unwrap();
    std::fs::write(served.join("in/d/h.txt"), "from the host\n").unwrap();
    std::fs::write(served.join("in/top.txt"), "top\n").unwrap();
    std::fs::create_dir_all(served.join("back")).unwrap();
    std::fs::write(served.join("back/stale.txt"), "stale\n").unwrap();
    let daemon = RsyncDaemon::start(dir.path(), &served);
    let url = format!("rsync://169.254.2.2:{}/m", daemon.port);
    let img = dir.path().join("disk.img");
    std::fs::File::create(&img)
        .unwrap()
        .set_len(64 << 20)
        .unwrap();
    let script = format!(
        "run\n\
         mkfs ext4 /dev/sda\n\
         mount /dev/sda /\n\
         mkdir-p /a/sub\n\
         write /a/sub/f hello\n\
         ln-s /etc /a/link\n\
         rsync /a /b archive:true\n\
         find /b\n\
         readlink /b/a/link\n\
         mkdir /c\n\
         write /c/extra x\n\
         rsync /a/ /c archive:true deletedest:true\n\
         find /c\n\
         rsync-in {url}/in/ /got archive:true\n\
         find /got\n\
         cat /got/d/h.txt\n\
         rsync-out /a/ {url}/back archive:true deletedest:true\n\
         -rsync /nonexistent /d\n\
         feature-available rsync\n"
    );
    let out = shell(&["--network", "-a", img.to_str().unwrap()], &script);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert_eq!(
        text(&out.stdout),
        "/a\n/a/link\n/a/sub\n/a/sub/f\n/etc\n\
         /link\n/sub\n/sub/f\n\
         /d\n/d/h.txt\n/top.txt\nfrom the host\n\n\
         true\n"
    );
    assert!(
        stderr.starts_with("*stdin*:18: libguestfs: error: rsync: '/nonexistent' to '/d': ")
            && stderr.contains("No such file or directory")
            && stderr.lines().count() == 1,
        "{stderr}"
    );
    // rsync-out wrote the guest's tree to the daemon and deleted what the guest lacks.
    assert_eq!(files_under(&served.join("back")), ["link", "sub", "sub/f"]);
    // The link came as a link (an rsync daemon without chroot strips an absolute target's
    // leading `/`).
    assert_eq!(
        std::fs::read_link(served.join("back/link")).unwrap(),
        Path::new("etc")
    );
    assert_eq!(
        std::fs::read_to_string(served.join("back/sub/f")).unwrap(),
        "hello"
    );
    drop(daemon);

    // Without the network, rsync-in says so instead of rsync failing to connect.
    let out = shell(
        &["-a", img.to_str().unwrap()],
        &format!("run\nmount /dev/sda /\n-rsync-in {url}/in/ /x\nfeature-available rsync\n"),
    );
    assert_eq!(text(&out.stdout), "true\n");
    assert_eq!(
        text(&out.stderr),
        "*stdin*:3: libguestfs: error: rsync_in: the appliance has no network: enable it \
         (guestfish --network, set-network true before run)\n"
    );
}
