//! Launching by restoring a saved appliance (`host/src/snapshot.rs`): each restore sees its
//! own drives, gets its own random numbers and the host's clock, and a saved state that does
//! not restore falls back to a boot.
//!
//! The tests use appliance memory sizes no other test uses, so their saved states are their
//! own: other tests running at the same time never see a state these corrupt.

use guestwright::prelude::*;
use guestwright_tests::*;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

fn config(memory_mib: u32) -> LaunchConfig {
    let mut c = test_config();
    c.memory_mib = memory_mib;
    c.snapshot = true;
    c.timeout = Duration::from_secs(120);
    c
}

/// The saved state a launch with `config` uses, after a launch that saves it.
fn state_of(config: &LaunchConfig) -> PathBuf {
    let mut h = Handle::with_config(config.clone());
    h.launch().check("launch");
    h.shutdown().check("shutdown");
    let appliance = guestwright::appliance::prepare(&config.appliance).expect("appliance");
    guestwright::snapshot::Saved::new(
        config,
        &which_qemu(),
        &appliance,
        guestwright::qemu::Accelerator::Tcg,
        guestwright::qemu::Machine::Microvm,
    )
    .map(|s| s.path().to_path_buf())
    .unwrap_or_else(|e| panic!("no state in {}: {e}", appliance.dir.display()))
}

fn which_qemu() -> PathBuf {
    let out = Command::new("sh")
        .args(["-c", "command -v qemu-system-x86_64"])
        .output()
        .unwrap();
    PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
}

/// A raw or qcow2 image of `size` bytes whose first sector holds `marker`.
fn drive(dir: &Path, name: &str, size: u64, qcow2: bool, marker: &str) -> (PathBuf, DriveOptions) {
    let raw = dir.join(format!("{name}.raw"));
    let f = std::fs::File::create(&raw).unwrap();
    f.set_len(size).unwrap();
    std::os::unix::fs::FileExt::write_at(&f, marker.as_bytes(), 0).unwrap();
    drop(f);
    if !qcow2 {
        return (
            raw,
            DriveOptions::readwrite().with_format(Some(Format::Raw)),
        );
    }
    let q = dir.join(format!("{name}.qcow2"));
    let st = Command::new("qemu-img")
        .args(["convert", "-q", "-f", "raw", "-O", "qcow2"])
        .arg(&raw)
        .arg(&q)
        .status()
        .unwrap();
    assert!(st.success());
    (
        q,
        DriveOptions::readwrite().with_format(Some(Format::Qcow2)),
    )
}

fn launch_restored(config: &LaunchConfig, drives: &[(PathBuf, DriveOptions)]) -> TestHandle {
    let images: Vec<(&Path, DriveOptions)> = drives
        .iter()
        .map(|(p, o)| (p.as_path(), o.clone()))
        .collect();
    let h = launch_with(config.clone(), &images);
    assert!(h.restored(), "the launch booted instead of restoring");
    check_phases(&h, true);
    h
}

/// The launch's phases add up to its time, and only a restored launch has a restore phase.
fn check_phases(h: &Handle, restored: bool) {
    let p = h.launch_phases().expect("a launched handle has its phases");
    assert_eq!(
        Some(p.prepare + p.qemu_start + p.restore + p.ready),
        h.launch_time(),
        "{p:?}"
    );
    assert!(!p.qemu_start.is_zero() && !p.ready.is_zero(), "{p:?}");
    assert_eq!(p.restore.is_zero(), !restored, "{p:?}");
}

#[test]
fn restored_appliances_see_their_own_drives_random_numbers_and_clock() {
    let config = config(608);
    let state = state_of(&config);
    assert!(
        state.exists(),
        "a launch saved no state at {}",
        state.display()
    );
    let dir = tempfile::tempdir().unwrap();
    let all = [
        drive(dir.path(), "a", 64 << 20, false, "drive-a"),
        drive(dir.path(), "b", 24 << 20, true, "drive-b"),
        drive(dir.path(), "c", 8 << 20, false, "drive-c"),
        drive(dir.path(), "d", 40 << 20, true, "drive-d"),
    ];
    let sizes = [64u64 << 20, 24 << 20, 8 << 20, 40 << 20];
    for n in [1, 2, 4] {
        let h = launch_restored(&config, &all[..n]);
        let devices = h.list_devices().check("list_devices");
        assert_eq!(devices.len(), n, "{devices:?}");
        for (i, d) in devices.iter().enumerate() {
            assert_eq!(
                d.device.as_str(),
                format!("/dev/sd{}", (b'a' + i as u8) as char)
            );
            assert_eq!(d.size, sizes[i], "{d:?}");
            let head = h
                .pread_device(d.device.as_str(), 7, 0)
                .check("pread_device");
            assert_eq!(
                head.0,
                format!("drive-{}", (b'a' + i as u8) as char).as_bytes()
            );
        }
    }

    // Two restores at once from one state: each works, and each has its own random
    // numbers (mke2fs makes a random filesystem UUID).
    let (a, b) = (&all[0], &all[2]);
    let uuids: Vec<String> = std::thread::scope(|s| {
        [a, b]
            .map(|d| {
                let config = config.clone();
                s.spawn(move || {
                    let h = launch_restored(&config, std::slice::from_ref(d));
                    h.mkfs("ext4", "/dev/sda").check("mkfs");
                    h.vfs_uuid("/dev/sda").check("vfs_uuid")
                })
            })
            .map(|t| t.join().unwrap())
            .to_vec()
    });
    assert_ne!(
        uuids[0], uuids[1],
        "two restored appliances made the same random UUID"
    );

    // The clock: the state was saved seconds ago; a file written now has the host's time.
    std::thread::sleep(Duration::from_secs(3));
    let h = launch_restored(&config, &all[..1]);
    h.mount("/dev/sda", "/").check("mount");
    h.write_file("/now", "x").check("write");
    let st = h.stat("/now").check("stat");
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    assert!(
        (st.mtime - now).abs() <= 1,
        "a file written in the restored appliance has mtime {} but the host's clock is {now}",
        st.mtime
    );
}

#[test]
fn a_state_that_does_not_restore_is_removed_and_the_launch_boots() {
    let config = config(624);
    let state = state_of(&config);
    let dir = tempfile::tempdir().unwrap();
    let d = drive(dir.path(), "a", 16 << 20, false, "drive-a");
    for damage in ["truncated", "garbage"] {
        let len = std::fs::metadata(&state).unwrap().len();
        let f = std::fs::OpenOptions::new()
            .write(true)
            .open(&state)
            .unwrap();
        match damage {
            "truncated" => f.set_len(len / 3).unwrap(),
            _ => {
                std::os::unix::fs::FileExt::write_at(&f, &[0x5a; 4096], 0).unwrap();
            }
        }
        drop(f);
        let h = launch_with(config.clone(), &[(d.0.as_path(), d.1.clone())]);
        assert!(!h.restored(), "{damage}: a damaged state restored");
        let head = h.pread_device("/dev/sda", 7, 0).check("pread_device");
        assert_eq!(head.0, b"drive-a", "{damage}");
        drop(h);
        // The damaged state is gone; the next launch saves a good one and restores it.
        let h = launch_with(config.clone(), &[(d.0.as_path(), d.1.clone())]);
        assert!(h.restored(), "{damage}: no new state was saved");
        assert!(state.exists());
    }
}

#[test]
fn launches_with_more_drives_than_slots_or_snapshots_off_boot() {
    let dir = tempfile::tempdir().unwrap();
    let drives: Vec<(PathBuf, DriveOptions)> = (0..5)
        .map(|i| {
            drive(
                dir.path(),
                &format!("d{i}"),
                8 << 20,
                false,
                &format!("drive-{i}"),
            )
        })
        .collect();
    let images: Vec<(&Path, DriveOptions)> = drives
        .iter()
        .map(|(p, o)| (p.as_path(), o.clone()))
        .collect();
    let h = launch_with(config(608), &images);
    assert!(!h.restored());
    assert_eq!(h.list_devices().check("list_devices").len(), 5);
    drop(h);
    let mut off = config(608);
    off.snapshot = false;
    let h = launch_with(off, &images[..1]);
    assert!(!h.restored());
    check_phases(&h, false);
}

/// The serials of the disks the appliance's disk driver is bound to, sorted.
fn bound_serials(h: &Handle) -> Vec<String> {
    let out = h
        .debug(
            "sh",
            vec!["for d in /sys/block/vd*; do echo \"$(cat $d/serial)\"; done".into()],
        )
        .check("debug sh");
    let mut serials: Vec<String> = out.split_whitespace().map(str::to_string).collect();
    serials.sort();
    serials
}

#[test]
fn a_restored_appliance_probes_its_drives_at_once_and_the_transfer_disk_when_used() {
    // The disk driver is in the saved appliance, bound to no disk: after the restore the
    // daemon binds the launch's drives itself. It once did so only when it logged (verbose),
    // so every quiet restore waited for its drives in vain and booted instead.
    in_time(Duration::from_secs(600), || {
        let dir = tempfile::tempdir().unwrap();
        let all = [
            drive(dir.path(), "a", 32 << 20, false, "drive-a"),
            drive(dir.path(), "b", 16 << 20, true, "drive-b"),
        ];
        for verbose in [false, true] {
            let mut config = config(640);
            config.verbose = verbose;
            let h = launch_restored(&config, &all[..1]);
            let bound = bound_serials(&h);
            // The drive, not the empty slots, nor the transfer disk nobody used yet.
            assert!(
                bound.contains(&"gw0".to_string()),
                "verbose {verbose}: {bound:?}"
            );
            assert!(
                !bound.iter().any(|s| s.starts_with("gwe") || s == "gwt"),
                "verbose {verbose}: disks no one used were probed: {bound:?}"
            );
            // The transfer disk is probed when an upload needs it.
            h.mkfs("ext4", "/dev/sda").check("mkfs");
            h.mount("/dev/sda", "/").check("mount");
            let data: Vec<u8> = (0..3u32 << 20).map(|i| (i % 251) as u8).collect();
            let before = h.transfer_disk_bytes();
            h.upload("/up", &mut &data[..]).check("upload");
            assert!(
                h.transfer_disk_bytes() - before >= data.len() as u64,
                "verbose {verbose}: the upload did not go through the transfer disk"
            );
            assert_eq!(h.read_file("/up").check("read_file").0, data);
            assert!(bound_serials(&h).contains(&"gwt".to_string()));
            drop(h);

            // Two drives: both probed, sizes right.
            let h = launch_restored(&config, &all);
            let devices = h.list_devices().check("list_devices");
            let sizes: Vec<u64> = devices.iter().map(|d| d.size).collect();
            assert_eq!(sizes, [32 << 20, 16 << 20], "verbose {verbose}");
            assert_eq!(
                h.pread_device("/dev/sdb", 7, 0).check("pread_device").0,
                b"drive-b"
            );
        }
    });
}

/// Many fresh saves, each restored at once: every one must restore and see its drive.
/// `GUESTWRIGHT_SOAK_SAVES` sets how many (default 20).
#[test]
#[ignore = "long: run with GUESTWRIGHT_SOAK_SAVES"]
fn soak_every_fresh_save_restores() {
    let saves: usize = std::env::var("GUESTWRIGHT_SOAK_SAVES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20);
    let config = config(656);
    let dir = tempfile::tempdir().unwrap();
    let d = drive(dir.path(), "a", 16 << 20, false, "drive-a");
    let state = state_of(&config);
    for n in 0..saves {
        std::fs::remove_file(&state).unwrap();
        let (config, d) = (config.clone(), d.clone());
        in_time(Duration::from_secs(180), move || {
            let h = launch_with(config, &[(d.0.as_path(), d.1.clone())]);
            assert!(
                h.restored(),
                "save {n}: the launch booted instead of restoring"
            );
            let head = h.pread_device("/dev/sda", 7, 0).check("pread_device");
            assert_eq!(head.0, b"drive-a", "save {n}");
        });
        assert!(state.exists(), "save {n}: no state was saved");
    }
}
