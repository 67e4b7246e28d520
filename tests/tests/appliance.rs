//! The appliance end to end: launch, devices, mount, read, write, shutdown, durability,
//! read-only isolation, concurrency, and a QEMU that dies.

use guestwright::prelude::*;
use guestwright_tests::*;
use std::path::Path;
use std::time::{Duration, Instant};

fn base_files() -> Vec<File<'static>> {
    vec![
        file("/etc/hostname", "testhost\n"),
        file("/etc/os-release", "ID=debian\nVERSION_ID=\"12\"\n"),
        File {
            path: "/root/secret",
            content: b"s3cret\n",
            mode: 0o600,
        },
    ]
}

#[test]
fn launch_mount_read_write_and_shutdown_durably() {
    let dir = tempfile::tempdir().unwrap();
    let img = gpt_ext4(dir.path(), "disk.img", &base_files());
    {
        let mut h = launch(&[(&img, DriveOptions::readwrite())]);
        let devices = h.list_devices().check("list_devices");
        assert_eq!(
            devices,
            vec![BlockDevice {
                device: Device::from("/dev/sda"),
                size: 64 << 20,
                read_only: false
            }]
        );
        let parts = h.list_partitions().check("list_partitions");
        assert_eq!(
            parts,
            vec![PartitionDevice {
                device: Device::from("/dev/sda1"),
                parent: Device::from("/dev/sda"),
                number: 1,
                start: PART_OFFSET,
                size: PART_SIZE,
            }]
        );
        h.mount("/dev/sda1", "/").check("mount");
        let mounts = h.mounts().check("mounts");
        assert_eq!(mounts.len(), 1);
        assert_eq!(mounts[0].device.as_str(), "/dev/sda1");
        assert_eq!(mounts[0].mountpoint.as_bytes(), b"/");
        assert_eq!(mounts[0].fstype, "ext4");
        assert!(
            mounts[0].options.contains("nodev") && mounts[0].options.contains("nosuid"),
            "{}",
            mounts[0].options
        );

        assert_eq!(h.read_file("/etc/hostname").check("read").0, b"testhost\n");
        assert_eq!(h.read_file("/root/secret").check("read").0, b"s3cret\n");
        h.write_file("/etc/hostname", "newhost\n").check("write");
        h.write_file("/etc/motd", "Welcome\n")
            .check("write new file");
        assert_eq!(
            h.read_file("/etc/hostname").check("read back").0,
            b"newhost\n"
        );
        h.shutdown().check("shutdown");
    }
    assert_fsck_clean(&img);
    assert_eq!(debugfs_cat(&img, "/etc/hostname"), b"newhost\n");
    assert_eq!(debugfs_cat(&img, "/etc/motd"), b"Welcome\n");

    // And a second launch sees it too.
    let mut h = launch(&[(&img, DriveOptions::readonly())]);
    h.run(args::Mount::new("/dev/sda1", "/").readonly(true))
        .check("mount ro");
    assert_eq!(h.read_file("/etc/hostname").check("read").0, b"newhost\n");
    h.shutdown().check("shutdown");
}

#[test]
fn readonly_never_changes_the_image_even_with_a_dirty_journal() {
    let dir = tempfile::tempdir().unwrap();
    let img = gpt_ext4(dir.path(), "dirty.img", &base_files());
    // Make the journal dirty: write, then kill QEMU before anything is unmounted.
    {
        let mut h = launch(&[(&img, DriveOptions::readwrite())]);
        h.mount("/dev/sda1", "/").check("mount");
        for i in 0..20 {
            h.write_file(GuestPath::from(format!("/file{i}")), format!("{i}\n"))
                .check("write");
        }
        h.kill();
    }
    let before = sha256(&img);
    let mut h = launch(&[(&img, DriveOptions::readonly())]);
    // Mounting replays the journal (into the overlay) and writes go to the overlay too.
    h.mount("/dev/sda1", "/").check("mount");
    h.write_file("/etc/hostname", "changed\n")
        .check("write to overlay");
    assert_eq!(h.read_file("/etc/hostname").check("read").0, b"changed\n");
    h.shutdown().check("shutdown");
    assert_eq!(sha256(&img), before, "a read-only launch changed the image");
}

#[test]
fn two_handles_work_at_the_same_time() {
    let dir = tempfile::tempdir().unwrap();
    let a = gpt_ext4(dir.path(), "a.img", &[file("/name", "alpha\n")]);
    let b = gpt_ext4(dir.path(), "b.img", &[file("/name", "beta\n")]);
    let read_name = |img: &Path| {
        let mut h = launch(&[(img, DriveOptions::readonly())]);
        h.mount("/dev/sda1", "/").check("mount");
        let name = h.read_file("/name").check("read").0;
        h.shutdown().check("shutdown");
        name
    };
    let (ra, rb) = std::thread::scope(|s| {
        let ta = s.spawn(|| read_name(&a));
        let tb = s.spawn(|| read_name(&b));
        (ta.join().unwrap(), tb.join().unwrap())
    });
    assert_eq!(ra, b"alpha\n");
    assert_eq!(rb, b"beta\n");
}

#[test]
fn drives_are_named_in_the_order_they_were_added() {
    let dir = tempfile::tempdir().unwrap();
    let imgs: Vec<_> = (0..3)
        .map(|i| {
            gpt_ext4(
                dir.path(),
                &format!("d{i}.img"),
                &[file("/which", &format!("{i}\n"))],
            )
        })
        .collect();
    let mut h = launch(
        &imgs
            .iter()
            .map(|p| (p.as_path(), DriveOptions::readonly()))
            .collect::<Vec<_>>(),
    );
    let names: Vec<String> = h
        .list_devices()
        .check("list")
        .into_iter()
        .map(|d| d.device.as_str().to_string())
        .collect();
    assert_eq!(names, ["/dev/sda", "/dev/sdb", "/dev/sdc"]);
    for (i, letter) in ["a", "b", "c"].iter().enumerate() {
        h.mount(Device::from(format!("/dev/sd{letter}1")), "/")
            .check("mount");
        assert_eq!(
            h.read_file("/which").check("read").0,
            format!("{i}\n").as_bytes()
        );
        h.umount_all().check("umount_all");
    }
    h.shutdown().check("shutdown");
}

#[test]
fn errors_carry_the_errno_and_guest_paths_stay_in_the_guest() {
    let dir = tempfile::tempdir().unwrap();
    let img = gpt_ext4(dir.path(), "errors.img", &base_files());
    // A symlink that would reach the appliance's own /init if resolved outside the guest,
    // one that stays inside (to show symlinks do resolve), and a FIFO.
    debugfs_write(
        &img,
        "symlink escape ../../../../../init\nsymlink inside /etc/../etc/hostname\nmknod fifo p\n",
    );

    let mut h = launch(&[(&img, DriveOptions::readonly())]);
    let err = h.read_file("/etc/hostname").unwrap_err();
    assert!(err.to_string().contains("read_file /etc/hostname"), "{err}");
    assert!(
        guestwright::error::chain(&err).contains("mount one first"),
        "{}",
        guestwright::error::chain(&err)
    );

    h.mount("/dev/sda1", "/").check("mount");
    assert_eq!(
        h.read_file("/nope").unwrap_err().errno(),
        Some(Errno::ENOENT)
    );
    assert_eq!(
        h.read_file("/etc").unwrap_err().errno(),
        Some(Errno::EISDIR)
    );
    assert_eq!(
        h.read_file("/inside").check("read through a symlink").0,
        b"testhost\n"
    );
    assert_eq!(
        h.read_file("/escape").unwrap_err().errno(),
        Some(Errno::ENOENT),
        "the symlink escaped the guest root"
    );
    let fifo = h.read_file("/fifo").unwrap_err();
    assert_eq!(fifo.errno(), Some(Errno::EINVAL), "{fifo}");
    assert_eq!(
        h.write_file("/no/such/dir/x", "x").unwrap_err().errno(),
        Some(Errno::ENOENT)
    );
    assert_eq!(
        h.read_file("relative").unwrap_err().errno(),
        Some(Errno::EINVAL)
    );
    assert_eq!(
        h.mount("/dev/sdz1", "/").unwrap_err().errno(),
        Some(Errno::ENOENT)
    );
    assert_eq!(
        h.mount("/etc/passwd", "/mnt").unwrap_err().errno(),
        Some(Errno::EINVAL)
    );
    // The daemon is still fine after all that.
    h.ping().check("ping");
    h.shutdown().check("shutdown");
}

#[test]
fn a_qemu_killed_mid_call_gives_an_error_not_a_hang() {
    let dir = tempfile::tempdir().unwrap();
    let img = gpt_ext4(dir.path(), "kill.img", &base_files());
    let h = launch(&[(&img, DriveOptions::readonly())]);
    h.mount("/dev/sda1", "/").check("mount");
    let pid = h.qemu_pid().unwrap();
    let started = Instant::now();
    let killer = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(300));
        run(std::process::Command::new("kill").args(["-9", &pid.to_string()]));
    });
    let err = loop {
        match h.read_file("/etc/hostname") {
            Ok(_) => assert!(
                started.elapsed() < Duration::from_secs(30),
                "calls kept succeeding after the kill"
            ),
            Err(e) => break e,
        }
    };
    killer.join().unwrap();
    assert!(
        matches!(err, Error::ApplianceDied { .. }),
        "{}",
        guestwright::error::chain(&err)
    );
    assert!(started.elapsed() < Duration::from_secs(30));
    // Later calls fail at once too.
    assert!(matches!(h.ping(), Err(Error::ApplianceDied { .. })));
}

#[test]
fn dropping_a_handle_leaves_no_qemu_behind() {
    let dir = tempfile::tempdir().unwrap();
    let img = gpt_ext4(dir.path(), "drop.img", &base_files());
    let h = launch(&[(&img, DriveOptions::readwrite())]);
    h.mount("/dev/sda1", "/").check("mount");
    h.write_file("/dropped", "yes\n").check("write");
    let pid = h.qemu_pid().unwrap();
    drop(h);
    assert!(
        !Path::new(&format!("/proc/{pid}")).exists(),
        "QEMU {pid} outlived its handle"
    );
    // Drop shuts down cleanly, so the write is there.
    assert_eq!(debugfs_cat(&img, "/dropped"), b"yes\n");
    assert_fsck_clean(&img);
}

#[test]
fn the_q35_fallback_machine_boots_too() {
    // QEMU builds without microvm get q35 (virtio-pci instead of virtio-mmio, SeaBIOS).
    let dir = tempfile::tempdir().unwrap();
    let img = gpt_ext4(dir.path(), "q35.img", &base_files());
    let mut config = test_config();
    config.machine = Some(guestwright::qemu::Machine::Q35);
    let mut h = launch_with(config, &[(&img, DriveOptions::readonly())]);
    h.mount("/dev/sda1", "/").check("mount");
    assert_eq!(h.read_file("/etc/hostname").check("read").0, b"testhost\n");
    assert_eq!(
        h.list_devices().check("list").len(),
        1,
        "the extras disk is not a guest drive"
    );
    h.shutdown().check("shutdown");
}
