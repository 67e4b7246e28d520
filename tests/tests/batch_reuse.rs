//! One appliance serving several jobs in turn (`Pool::reusing`, what `guestwright batch`
//! uses): a job on a reused appliance must see nothing of the job before it (no mount, no
//! logical volume, no partition, no file, not the old size), its writes must reach its
//! image, and an appliance a job left unclean must be replaced rather than reused. The jobs
//! run through the library with real images the tests build; every test has a deadline.

use guestwright::pool::{Pool, Slot};
use guestwright::prelude::*;
use guestwright_tests::*;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

const MIB: u64 = 1 << 20;

/// Runs a job on the pool, with the whole error chain in a failure.
fn job<T>(pool: &Pool, f: impl FnOnce(&mut Handle) -> Result<T, Error>) -> T {
    let r = pool.submit(|slot: &Slot<'_>| -> Result<T, Error> {
        let mut h = slot.handle();
        let out = f(&mut h);
        if out.is_err() {
            eprintln!("---- appliance console ----\n{}", h.console_tail(60));
        }
        let out = out?;
        h.shutdown()?;
        Ok(out)
    });
    r.expect("the job panicked").check("job")
}

fn qcow2_of(raw: &Path, out: &Path) {
    run(Command::new("qemu-img")
        .args(["convert", "-f", "raw", "-O", "qcow2"])
        .arg(raw)
        .arg(out));
}

/// Job A leaves LVM active, a logical volume and a partition mounted and a file written;
/// job B, on the same appliance, has a smaller qcow2 image with one GPT partition and must
/// see exactly that: its size, its partition, its filesystem, no LV, no VG, no mount, none
/// of A's files. A third job on A's image again finds A's write (through the image, not a
/// cache: the driver was unbound in between), and after the pool is gone the images read
/// on their own (a fresh appliance for A's LV, e2fsck and debugfs for B's) hold each job's
/// write and only that.
#[test]
fn a_job_on_a_reused_appliance_sees_nothing_of_the_job_before() {
    require("qemu-img", "qemu-utils");
    require("debugfs", "e2fsprogs");
    let dir = tempfile::tempdir().unwrap();
    let a = mbr_boot_lvm_root(dir.path(), "a.img", &[file("/etc/a-marker", "job a\n")]);
    let b_raw = gpt_ext4(dir.path(), "b.raw", &[file("/b-marker", "job b\n")]);
    let b = dir.path().join("b.qcow2");
    qcow2_of(&b_raw, &b);
    let (a2, b2) = (a.clone(), b.clone());
    let pool = in_time(Duration::from_secs(600), move || {
        let pool = Pool::reusing(1, test_config());
        let pid_a = job(&pool, |h| {
            h.add_drive(&a2, DriveOptions::readwrite())?;
            h.launch()?;
            assert_eq!(h.list_devices()?[0].size, 128 * MIB);
            h.mount(LVM_ROOT, "/")?;
            h.mount(LVM_BOOT, "/boot")?;
            h.write_file("/etc/job-a", "written by job a\n")?;
            h.write_file("/boot/job-a", "boot of job a\n")?;
            // Left mounted and active on purpose: cleaning up is the appliance's job.
            Ok(h.qemu_pid())
        });
        let (pid_b, seen) = job(&pool, |h| {
            h.add_drive(
                &b2,
                DriveOptions {
                    format: Some(Format::Qcow2),
                    ..DriveOptions::readwrite()
                },
            )?;
            h.launch()?;
            let devices = h.list_devices()?;
            let parts: Vec<String> = h
                .list_partitions()?
                .into_iter()
                .map(|p| p.device.to_string())
                .collect();
            let fs: Vec<(String, String)> = h
                .list_filesystems()?
                .into_iter()
                .map(|f| (f.device.to_string(), f.fstype))
                .collect();
            let mounts = h.mounts()?.len();
            let (lvs, vgs) = (h.lvs()?, h.vgs()?);
            h.mount("/dev/sda1", "/")?;
            let a_marker = h.exists("/etc/a-marker")? || h.exists("/etc/job-a")?;
            let b_marker = h.read_file("/b-marker")?.0;
            h.write_file("/job-b", "written by job b\n")?;
            let seen = format!(
                "devices {:?} parts {parts:?} fs {fs:?} mounts {mounts} lvs {lvs:?} vgs {vgs:?} \
                 a's files {a_marker} b's marker {:?}",
                devices
                    .iter()
                    .map(|d| (d.device.to_string(), d.size))
                    .collect::<Vec<_>>(),
                String::from_utf8_lossy(&b_marker)
            );
            Ok((h.qemu_pid(), seen))
        });
        assert_eq!(
            seen,
            format!(
                "devices [(\"/dev/sda\", {})] parts [\"/dev/sda1\"] fs [(\"/dev/sda1\", \"ext4\")] \
                 mounts 0 lvs [] vgs [] a's files false b's marker \"job b\\n\"",
                64 * MIB
            ),
            "job B saw something of job A"
        );
        assert_eq!(pid_a, pid_b, "job B did not run on job A's appliance");
        let (pid_c, read) = job(&pool, |h| {
            h.add_drive(
                &a2,
                DriveOptions {
                    format: Some(Format::Raw),
                    ..DriveOptions::readwrite()
                },
            )?;
            h.launch()?;
            h.mount(LVM_ROOT, "/")?;
            Ok((h.qemu_pid(), h.read_file("/etc/job-a")?.0))
        });
        assert_eq!(pid_c, pid_a);
        assert_eq!(read, b"written by job a\n");
        assert_eq!(pool.launches(), 1, "three jobs, one appliance");
        pool
    });
    drop(pool);
    // Durable on the host, read by an appliance of its own and by the host's tools.
    let mut h = launch(&[(&a, DriveOptions::readonly())]);
    h.mount(LVM_ROOT, "/").check("mount A's root");
    h.mount(LVM_BOOT, "/boot").check("mount A's boot");
    assert_eq!(
        h.read_file("/etc/job-a").check("read").0,
        b"written by job a\n"
    );
    assert_eq!(
        h.read_file("/boot/job-a").check("read").0,
        b"boot of job a\n"
    );
    assert!(!h.exists("/job-b").check("exists"));
    h.shutdown().check("shutdown");
    let b_back = dir.path().join("b-back.raw");
    run(Command::new("qemu-img")
        .args(["convert", "-f", "qcow2", "-O", "raw"])
        .arg(&b)
        .arg(&b_back));
    assert_fsck_clean(&b_back);
    assert_eq!(debugfs_cat(&b_back, "/job-b"), b"written by job b\n");
    assert_eq!(debugfs_cat(&b_back, "/b-marker"), b"job b\n");
}

/// A job that leaves something the appliance does not take down by itself (here its disk
/// mounted a second time outside the guest tree, through `debug sh`) still ends well, its
/// write on disk, but its appliance is not reused: the next job gets a new one.
#[test]
fn an_appliance_a_job_left_unclean_is_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let img = gpt_ext4(dir.path(), "u.raw", &[file("/u", "u\n")]);
    let img2 = img.clone();
    let start = Instant::now();
    in_time(Duration::from_secs(300), move || {
        let pool = Pool::reusing(1, test_config());
        let first = job(&pool, |h| {
            h.add_drive(&img2, DriveOptions::readwrite())?;
            h.launch()?;
            h.mount("/dev/sda1", "/")?;
            h.write_file("/left", "left unclean\n")?;
            h.debug(
                "sh",
                vec![concat!(
                    "for d in /sys/block/*; do [ \"$(cat $d/serial 2>/dev/null)\" = gw0 ] && ",
                    "p=/dev/${d##*/}1; done; mkdir -p /tmp/again && mount $p /tmp/again && ",
                    "grep /tmp/again /proc/mounts"
                )
                .to_string()],
            )?;
            Ok(h.qemu_pid())
        });
        let second = job(&pool, |h| {
            h.add_drive(&img2, DriveOptions::readwrite())?;
            h.launch()?;
            h.mount("/dev/sda1", "/")?;
            Ok((h.qemu_pid(), h.read_file("/left")?.0))
        });
        assert_ne!(second.0, first, "the unclean appliance was reused");
        assert_eq!(second.1, b"left unclean\n");
        assert_eq!(pool.launches(), 2);
    });
    // The second job unmounted it cleanly.
    assert_fsck_clean(&img);
    assert_eq!(debugfs_cat(&img, "/left"), b"left unclean\n");
    assert!(start.elapsed() < Duration::from_secs(300));
}
