//! Tests of `prepare` as a whole: the cache (hits, parallel builders, refusals, fallbacks) on a
//! small fake host, then the real appliance of this machine, whose carried tools must run.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use crate::assemble::{prepare_with, Host, Outcome};
use crate::decompress::tests::compress_with;
use crate::kernel::HostLayout;
use crate::vmlinux::tests::{fake_bzimage, fake_vmlinux};
use crate::{cache, ApplianceError, BootProtocol, Config};

const RELEASE: &str = "6.9.0-test";

/// The fake host rooted at `dir`: no tools, so its builds are quick.
fn fake_host(dir: &Path) -> Host {
    let layout = HostLayout {
        boot: dir.join("boot"),
        modules_root: dir.join("modules"),
    };
    Host {
        layout,
        tools: Vec::new(),
        libraries: Vec::new(),
        wanted: vec!["b_x", "ext4", "missing"],
    }
}

/// A host with one gzip-compressed kernel (PVH or not), three modules and no tools.
struct FakeHost {
    dir: tempfile::TempDir,
    host: Host,
}

impl FakeHost {
    fn new(pvh: bool) -> FakeHost {
        let dir = tempfile::tempdir().expect("tempdir");
        let host = fake_host(dir.path());
        let vmlinux = fake_vmlinux(pvh, 200_000);
        let image = fake_bzimage(&compress_with("gzip", &["-c"], &vmlinux), RELEASE);
        fs::create_dir_all(&host.layout.boot).unwrap();
        fs::write(host.layout.boot.join(format!("vmlinuz-{RELEASE}")), image).unwrap();
        let modules = host.layout.modules_root.join(RELEASE);
        fs::create_dir_all(modules.join("kernel/fs")).unwrap();
        fs::write(
            modules.join("modules.dep"),
            "kernel/fs/a.ko:\nkernel/fs/b-x.ko.xz: kernel/fs/a.ko\nkernel/fs/c.ko:\n",
        )
        .unwrap();
        fs::write(modules.join("modules.builtin"), "kernel/fs/ext4.ko\n").unwrap();
        fs::write(modules.join("kernel/fs/a.ko"), fake_vmlinux(false, 1000)).unwrap();
        let b = compress_with("xz", &["--check=crc32", "-c"], &fake_vmlinux(false, 2000));
        fs::write(modules.join("kernel/fs/b-x.ko.xz"), b).unwrap();
        fs::write(modules.join("kernel/fs/c.ko"), fake_vmlinux(false, 10)).unwrap();
        FakeHost { dir, host }
    }

    fn config(&self) -> Config {
        Config {
            cache_dir: Some(self.dir.path().join("cache")),
            ..Config::default()
        }
    }

    fn kernel(&self) -> PathBuf {
        self.host.layout.boot.join(format!("vmlinuz-{RELEASE}"))
    }
}

fn cpio_list(initrd: &Path) -> Vec<String> {
    let out = Command::new("cpio")
        .args(["-t", "--quiet", "-F"])
        .arg(initrd)
        .output()
        .expect("run cpio");
    assert!(
        out.status.success(),
        "cpio -t: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

fn unpack(initrd: &Path, into: &Path) {
    let out = Command::new("cpio")
        .args([
            "-i",
            "--quiet",
            "--make-directories",
            "--no-absolute-filenames",
            "-F",
        ])
        .arg(initrd)
        .current_dir(into)
        .output()
        .expect("run cpio");
    assert!(
        out.status.success(),
        "cpio -i: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn builds_once_then_hits_the_cache() {
    let fake = FakeHost::new(true);
    let (first, outcome) = prepare_with(&fake.config(), &fake.host).expect("build");
    assert_eq!(outcome, Outcome::Built);
    assert_eq!(first.boot, BootProtocol::Pvh);
    assert_eq!(first.kernel_release, RELEASE);
    assert_eq!(first.kernel, first.dir.join("vmlinux"));
    assert!(first.carried.is_empty());
    crate::vmlinux::check_pvh(&fs::read(&first.kernel).unwrap()).expect("a PVH vmlinux");

    // Modules outside the boot set go to the extras archive, read on demand.
    let extras = cpio_list(&first.extras);
    for expected in ["modules/a.ko", "modules/b_x.ko"] {
        assert!(
            extras.iter().any(|n| n == expected),
            "{expected} missing from {extras:?}"
        );
    }
    let names = cpio_list(&first.initrd);
    assert!(
        !names.iter().any(|n| n == "modules/a.ko"),
        "a is not a boot module"
    );
    for expected in [
        "init",
        "modules/modules.index",
        "etc/mtab",
        "etc/guestwright/carried",
        "sysroot",
        "tmp",
    ] {
        assert!(
            names.iter().any(|n| n == expected),
            "{expected} missing from {names:?}"
        );
    }
    assert!(
        !names.iter().any(|n| n == "modules/c.ko"),
        "c was not wanted"
    );
    let unpacked = tempfile::tempdir().unwrap();
    unpack(&first.initrd, unpacked.path());
    unpack(&first.extras, unpacked.path());
    assert_eq!(
        fs::read_to_string(unpacked.path().join("modules/modules.index")).unwrap(),
        "a\nb_x a\n"
    );
    assert_eq!(
        fs::read(unpacked.path().join("init")).unwrap(),
        crate::DAEMON
    );
    assert_eq!(
        fs::read(unpacked.path().join("modules/b_x.ko")).unwrap(),
        fake_vmlinux(false, 2000)
    );

    let t = Instant::now();
    let (second, outcome) = prepare_with(&fake.config(), &fake.host).expect("hit");
    let hit = t.elapsed();
    assert_eq!(outcome, Outcome::Cached);
    assert_eq!(second, first);
    assert!(hit < Duration::from_millis(200), "a cache hit took {hit:?}");
}

#[test]
fn parallel_prepares_build_once() {
    let fake = Arc::new(FakeHost::new(true));
    let barrier = Arc::new(Barrier::new(3));
    let threads: Vec<_> = (0..3)
        .map(|_| {
            let (fake, barrier) = (fake.clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                prepare_with(&fake.config(), &fake.host).expect("prepare")
            })
        })
        .collect();
    let results: Vec<_> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    let built = results.iter().filter(|(_, o)| *o == Outcome::Built).count();
    assert_eq!(built, 1, "{results:?}");
    assert!(results.iter().all(|(a, _)| *a == results[0].0));
    let leftovers: Vec<_> = fs::read_dir(fake.dir.path().join("cache"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n != "lock")
        .collect();
    assert_eq!(
        leftovers.len(),
        1,
        "one entry and nothing half-built: {leftovers:?}"
    );
}

#[test]
fn parallel_processes_build_once() {
    // The same through separate processes, as two `guestwright` commands would: this test
    // binary re-runs itself in child mode.
    if let Some(cache) = std::env::var_os("GUESTWRIGHT_TEST_CHILD_CACHE") {
        let config = Config {
            cache_dir: Some(PathBuf::from(cache)),
            ..Config::default()
        };
        let host = fake_host(Path::new(
            &std::env::var_os("GUESTWRIGHT_TEST_CHILD_HOST").unwrap(),
        ));
        let (appliance, outcome) = prepare_with(&config, &host).expect("prepare in child");
        println!("CHILD {outcome:?} {}", appliance.dir.display());
        return;
    }
    let fake = FakeHost::new(true);
    let exe = std::env::current_exe().unwrap();
    let children: Vec<_> = (0..2)
        .map(|_| {
            Command::new(&exe)
                .args([
                    "--exact",
                    "prepare_tests::parallel_processes_build_once",
                    "--nocapture",
                    "--test-threads=1",
                ])
                .env(
                    "GUESTWRIGHT_TEST_CHILD_CACHE",
                    fake.dir.path().join("cache"),
                )
                .env("GUESTWRIGHT_TEST_CHILD_HOST", fake.dir.path())
                .stdout(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let lines: Vec<String> = children
        .into_iter()
        .map(|c| {
            let out = c.wait_with_output().unwrap();
            assert!(out.status.success());
            let text = String::from_utf8(out.stdout).unwrap();
            text.lines()
                .find_map(|l| l.find("CHILD ").map(|at| l[at..].to_string()))
                .unwrap_or_else(|| panic!("child did not report:\n{text}"))
        })
        .collect();
    let built = lines
        .iter()
        .filter(|l| l.starts_with("CHILD Built"))
        .count();
    assert_eq!(built, 1, "{lines:?}");
    let dirs: Vec<&str> = lines
        .iter()
        .map(|l| l.rsplit(' ').next().unwrap())
        .collect();
    assert_eq!(dirs[0], dirs[1]);
}

#[test]
fn changed_module_gives_a_new_entry() {
    let fake = FakeHost::new(true);
    let (first, _) = prepare_with(&fake.config(), &fake.host).expect("build");
    let module = fake
        .host
        .layout
        .modules_root
        .join(RELEASE)
        .join("kernel/fs/a.ko");
    fs::write(&module, fake_vmlinux(false, 1001)).unwrap();
    let (second, outcome) = prepare_with(&fake.config(), &fake.host).expect("rebuild");
    assert_eq!(outcome, Outcome::Built);
    assert_ne!(second.dir, first.dir);
    assert!(
        first.dir.exists(),
        "a recently used entry survives the clean-up"
    );
}

#[test]
fn kernel_without_pvh_falls_back_to_the_bzimage() {
    let fake = FakeHost::new(false);
    let (appliance, _) = prepare_with(&fake.config(), &fake.host).expect("build");
    assert_eq!(appliance.boot, BootProtocol::BzImage);
    assert_eq!(
        fs::read(&appliance.kernel).unwrap(),
        fs::read(fake.kernel()).unwrap()
    );
}

#[test]
fn explicit_vmlinux_with_pvh_note_is_used_as_is() {
    let fake = FakeHost::new(true);
    let vmlinux = fake.dir.path().join("vmlinux");
    fs::write(&vmlinux, fake_vmlinux(true, 5000)).unwrap();
    let config = Config {
        kernel: Some(vmlinux.clone()),
        modules_dir: Some(fake.host.layout.modules_root.join(RELEASE)),
        ..fake.config()
    };
    let (appliance, _) = prepare_with(&config, &fake.host).expect("build");
    assert_eq!(appliance.boot, BootProtocol::Pvh);
    assert_eq!(appliance.kernel_release, RELEASE);
    assert_eq!(
        fs::read(&appliance.kernel).unwrap(),
        fs::read(&vmlinux).unwrap()
    );
}

#[test]
fn insecure_cache_dir_is_refused_before_anything_is_built() {
    use std::os::unix::fs::PermissionsExt;
    let fake = FakeHost::new(true);
    let cache = fake.dir.path().join("cache");
    fs::create_dir(&cache).unwrap();
    fs::set_permissions(&cache, fs::Permissions::from_mode(0o757)).unwrap();
    let err = prepare_with(&fake.config(), &fake.host).expect_err("refused");
    assert!(
        matches!(err, ApplianceError::CacheDirInsecure { .. }),
        "{err}"
    );
    assert_eq!(fs::read_dir(&cache).unwrap().count(), 0);
}

#[test]
fn broken_entry_is_rebuilt() {
    let fake = FakeHost::new(true);
    let (first, _) = prepare_with(&fake.config(), &fake.host).expect("build");
    fs::remove_file(first.dir.join("initrd")).unwrap();
    let (second, outcome) = prepare_with(&fake.config(), &fake.host).expect("rebuild");
    assert_eq!(outcome, Outcome::Built);
    assert_eq!(second, first);
    assert!(second.initrd.is_file());
}

/// How to check that a carried tool runs, by name; `{img}` is a scratch file in the chroot.
fn tool_check(name: &str) -> Option<(&'static [&'static str], Option<u64>)> {
    const MIB: u64 = 1 << 20;
    Some(match name {
        "lvm" => (&["lvm", "version"], None),
        "grep" => (&["{tool}", "-c", "grep", "/etc/guestwright/carried"], None),
        "file" => (
            &[
                "{tool}",
                "-m",
                "/usr/lib/file/magic.mgc",
                "-b",
                "/etc/guestwright/carried",
            ],
            None,
        ),
        "mke2fs" | "mkfs.ext2" | "mkfs.ext3" | "mkfs.ext4" => {
            (&["{tool}", "-F", "-q", "{img}"], Some(16 * MIB))
        }
        "e2fsck" | "fsck.ext2" | "fsck.ext3" | "fsck.ext4" => (
            &[
                "/usr/sbin/mke2fs",
                "-F",
                "-q",
                "{img}",
                "&&",
                "{tool}",
                "-fn",
                "{img}",
            ],
            Some(16 * MIB),
        ),
        "tune2fs" => (
            &[
                "/usr/sbin/mke2fs",
                "-F",
                "-q",
                "{img}",
                "&&",
                "{tool}",
                "-L",
                "x",
                "-c",
                "20",
                "{img}",
            ],
            Some(16 * MIB),
        ),
        "e2label" => (
            &[
                "/usr/sbin/mke2fs",
                "-F",
                "-q",
                "-L",
                "x",
                "{img}",
                "&&",
                "{tool}",
                "{img}",
            ],
            Some(16 * MIB),
        ),
        "resize2fs" => (
            &[
                "/usr/sbin/mke2fs",
                "-F",
                "-q",
                "{img}",
                "8M",
                "&&",
                "{tool}",
                "{img}",
                "16M",
            ],
            Some(16 * MIB),
        ),
        "mkfs.xfs" => (&["{tool}", "-q", "-f", "{img}"], Some(320 * MIB)),
        "xfs_repair" => (
            &[
                "/usr/sbin/mkfs.xfs",
                "-q",
                "-f",
                "{img}",
                "&&",
                "{tool}",
                "-n",
                "-f",
                "{img}",
            ],
            Some(320 * MIB),
        ),
        "mkfs.btrfs" => (&["{tool}", "-q", "-f", "{img}"], Some(128 * MIB)),
        // cmds-btrfs
        "btrfs" => (&["{tool}", "--version"], None),
        "xfs_db" | "xfs_spaceman" | "xfs_growfs" => (&["{tool}", "-V"], None),
        "btrfstune" => (
            &[
                "/usr/sbin/mkfs.btrfs",
                "-q",
                "-f",
                "{img}",
                "&&",
                "{tool}",
                "-x",
                "{img}",
            ],
            Some(128 * MIB),
        ),
        "btrfs-image" => (
            &[
                "/usr/sbin/mkfs.btrfs",
                "-q",
                "-f",
                "{img}",
                "&&",
                "{tool}",
                "{img}",
                "/tmp/btrfs-image.out",
            ],
            Some(128 * MIB),
        ),
        "mkswap" => (&["{tool}", "{img}"], Some(MIB)),
        // mkfs vfat's arguments in the daemon (daemon/src/fs/mkfs.rs).
        "mkfs.fat" => (
            &["{tool}", "-I", "--mbr=n", "-g", "1/1", "-n", "GW", "{img}"],
            Some(4 * MIB),
        ),
        "cryptsetup" => (&["{tool}", "--version"], None),
        "mdadm" => (&["{tool}", "--version"], None),
        // Mounting needs /dev/fuse in the appliance: here the binary and its libraries load.
        "ntfs-3g" => (&["{tool}", "--version"], None),
        "mkntfs" | "mkfs.ntfs" => (&["{tool}", "-F", "-q", "-f", "{img}"], Some(16 * MIB)),
        // ntfs-3g's tools, each on a filesystem the carried mkntfs makes.
        "ntfs-3g.probe" => (
            &[
                "/usr/sbin/mkntfs",
                "-F",
                "-q",
                "-f",
                "{img}",
                "&&",
                "{tool}",
                "-r",
                "{img}",
            ],
            Some(16 * MIB),
        ),
        "ntfsresize" => (
            &[
                "/usr/sbin/mkntfs",
                "-F",
                "-q",
                "-f",
                "{img}",
                "&&",
                "{tool}",
                "-i",
                "-f",
                "{img}",
            ],
            Some(16 * MIB),
        ),
        "ntfsfix" => (
            &[
                "/usr/sbin/mkntfs",
                "-F",
                "-q",
                "-f",
                "{img}",
                "&&",
                "{tool}",
                "{img}",
            ],
            Some(16 * MIB),
        ),
        "ntfscat" => (
            &[
                "/usr/sbin/mkntfs",
                "-F",
                "-q",
                "-f",
                "{img}",
                "&&",
                "{tool}",
                "-i",
                "0",
                "{img}",
            ],
            Some(16 * MIB),
        ),
        "ntfsclone" => (
            &[
                "/usr/sbin/mkntfs",
                "-F",
                "-q",
                "-f",
                "{img}",
                "&&",
                "{tool}",
                "--save-image",
                "-o",
                "/tmp/ntfsclone.out",
                "{img}",
            ],
            Some(16 * MIB),
        ),
        // Makes /lost+found in the directory it runs in (the unpacked root).
        "mklost+found" => (&["{tool}"], None),
        "zerofree" => (
            &[
                "/usr/sbin/mke2fs",
                "-F",
                "-q",
                "-t",
                "ext2",
                "{img}",
                "&&",
                "{tool}",
                "{img}",
            ],
            Some(16 * MIB),
        ),
        "scrub" => (&["{tool}", "-f", "-p", "fillzero", "{img}"], Some(MIB)),
        // cmds-last: the sfdisk family; lists an image without a partition table.
        "sfdisk" => (&["{tool}", "-l", "{img}"], Some(MIB)),
        // cmds-misc: the sleuthkit tools read a fresh ext2 (the root directory is inode 2).
        "fls" | "blkls" => (
            &[
                "/usr/sbin/mke2fs",
                "-F",
                "-q",
                "{img}",
                "&&",
                "{tool}",
                "{img}",
            ],
            Some(16 * MIB),
        ),
        "istat" | "icat" => (
            &[
                "/usr/sbin/mke2fs",
                "-F",
                "-q",
                "{img}",
                "&&",
                "{tool}",
                "{img}",
                "2",
            ],
            Some(16 * MIB),
        ),
        "mksquashfs" => (
            &[
                "{tool}",
                "/etc/guestwright",
                "{img}",
                "-noappend",
                "-no-progress",
                "-quiet",
            ],
            Some(MIB),
        ),
        "bzip2" | "lzop" | "resize.f2fs" => (&["{tool}", "-V"], None),
        "yara" | "journalctl" => (&["{tool}", "--version"], None),
        // guestfish's blkid: what the daemon runs, on a fresh ext2.
        "blkid" => (
            &[
                "/usr/sbin/mke2fs",
                "-F",
                "-q",
                "{img}",
                "&&",
                "{tool}",
                "-c",
                "/dev/null",
                "-p",
                "-o",
                "export",
                "{img}",
            ],
            Some(16 * MIB),
        ),
        // `debug sh`: the static busybox runs its shell.
        "busybox" => (&["{tool}", "sh", "-c", "true"], None),
        // virt-rescue's shell, started as the rescue console starts it.
        "bash" => (&["{tool}", "--norc", "--noprofile", "-c", "true"], None),
        // guestfish's syslinux and extlinux, and the mtools syslinux runs (the bootloaders
        // suite test installs with them in the appliance).
        "syslinux" | "extlinux" | "mtools" | "mcopy" | "mattrib" | "mmove" => {
            (&["{tool}", "--version"], None)
        }
        // Windows dynamic disks, rsync and grub-install (the ldm_rsync_grub suite test uses
        // them in the appliance).
        "ldmtool" => (&["{tool}", "--help"], None),
        "rsync" | "grub-install" => (&["{tool}", "--version"], None),
        // cmds-libs: libraries the daemon loads; the dynamic loader resolves their
        // dependencies (any "not found" fails the test, below).
        "libaugeas.so.0" | "libhivex.so.0" => {
            (&["/lib64/ld-linux-x86-64.so.2", "--list", "{tool}"], None)
        }
        _ => return None,
    })
}

/// Runs `steps` ("&&"-separated commands) in a chroot of `root`, in a private mount namespace
/// with /proc mounted. Returns stdout+stderr; fails the test on any failure.
fn run_in_chroot(root: &Path, steps: &[String]) -> String {
    let mut script = format!("mount -t proc proc '{}/proc' && ", root.display());
    for (i, step) in steps.split(|s| s == "&&").enumerate() {
        if i > 0 {
            script.push_str(" && ");
        }
        script.push_str(&format!("chroot '{}' {}", root.display(), step.join(" ")));
    }
    let out = Command::new("unshare")
        .args(["--mount", "--propagation", "private", "sh", "-c", &script])
        .output()
        .expect("run unshare");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "`{script}` failed ({}):\n{text}",
        out.status
    );
    assert!(
        !text.contains("error while loading shared libraries"),
        "{text}"
    );
    text
}

/// This machine's real appliance: PVH kernel, the modules the daemon needs, and every carried
/// tool running inside a chroot of the unpacked initramfs (so its libraries are all there).
#[test]
fn host_appliance_builds_and_carried_tools_run() {
    assert_eq!(
        crate::sys::getuid(),
        0,
        "this test needs root (chroot, mount); CI runs as root"
    );
    let tmp = tempfile::tempdir().unwrap();
    let config = Config {
        cache_dir: Some(tmp.path().join("cache")),
        ..Config::default()
    };
    let host = Host::default();
    let t = Instant::now();
    let (appliance, outcome) = prepare_with(&config, &host).expect("prepare the host appliance");
    let cold = t.elapsed();
    assert_eq!(outcome, Outcome::Built);
    let t = Instant::now();
    let (again, outcome) = prepare_with(&config, &host).expect("cache hit");
    let hit = t.elapsed();
    assert_eq!((outcome, &again), (Outcome::Cached, &appliance));
    assert_eq!(
        appliance.boot,
        BootProtocol::Pvh,
        "Debian kernels have CONFIG_PVH=y"
    );

    let initrd_size = fs::metadata(&appliance.initrd).unwrap().len();
    let extras_size = fs::metadata(&appliance.extras).unwrap().len();
    // The boot modules are well under a MiB; a carried tool in the wrong archive is more.
    let daemon_size = crate::DAEMON.len() as u64;
    assert!(
        initrd_size < daemon_size + (1 << 20),
        "the initramfs should hold only the daemon ({daemon_size} bytes) and the boot modules: \
         {initrd_size} bytes"
    );
    let boot_only = tmp.path().join("boot");
    fs::create_dir(&boot_only).unwrap();
    unpack(&appliance.initrd, &boot_only);
    for boot in [
        "virtio_blk",
        "virtio_console",
        "virtio_mmio",
        "virtio_ring",
        "virtio",
    ] {
        assert!(
            boot_only.join(format!("modules/{boot}.ko")).is_file(),
            "boot module {boot} not in the initramfs"
        );
    }
    assert!(
        !boot_only.join("modules/xfs.ko").exists(),
        "xfs belongs in the extras"
    );
    // What the daemon sees once it has read the extras: both archives in one tree.
    let unpacked = tmp.path().join("root");
    fs::create_dir(&unpacked).unwrap();
    unpack(&appliance.initrd, &unpacked);
    unpack(&appliance.extras, &unpacked);
    let carried_bytes: u64 = walk(&unpacked)
        .into_iter()
        .filter(|(p, _)| !p.starts_with(unpacked.join("modules")) && *p != unpacked.join("init"))
        .map(|(_, n)| n)
        .sum();
    eprintln!(
        "host appliance: cold build {cold:?}, cache hit {hit:?}, initramfs {} bytes ({:.1} MiB), extras {:.1} MiB, of which carried files {:.1} MiB; {} tools",
        initrd_size,
        initrd_size as f64 / 1048576.0,
        extras_size as f64 / 1048576.0,
        carried_bytes as f64 / 1048576.0,
        appliance.carried.len()
    );

    // Modules: the index lists each file once, dependencies first.
    let index = fs::read_to_string(unpacked.join("modules/modules.index")).unwrap();
    let mut seen: Vec<&str> = Vec::new();
    for line in index.lines() {
        let mut words = line.split(' ');
        let name = words.next().unwrap();
        for dep in words {
            assert!(
                seen.contains(&dep),
                "{name} listed before its dependency {dep}"
            );
        }
        assert!(
            unpacked.join(format!("modules/{name}.ko")).is_file(),
            "{name}.ko missing"
        );
        seen.push(name);
    }
    for needed in [
        "virtio_blk",
        "virtio_console",
        "virtio_mmio",
        "xfs",
        "btrfs",
        "vfat",
    ] {
        assert!(
            seen.contains(&needed),
            "{needed} not in the index:\n{index}"
        );
    }

    // Carried tools: the list matches, and each one runs.
    let listed = fs::read_to_string(unpacked.join("etc/guestwright/carried")).unwrap();
    let listed: HashMap<&str, &str> = listed.lines().map(|l| l.split_once(' ').unwrap()).collect();
    assert_eq!(listed.len(), appliance.carried.len());
    let names: Vec<&str> = appliance.carried.iter().map(|t| t.name.as_str()).collect();
    for expected in [
        "lvm",
        "lvcreate",
        "mke2fs",
        "mkfs.ext4",
        "e2fsck",
        "tune2fs",
        "resize2fs",
        "mkfs.xfs",
        "xfs_repair",
        "mkswap",
        "blkid",
    ] {
        assert!(
            names.contains(&expected),
            "{expected} not carried (is it installed? see scripts/apt-packages.txt)"
        );
    }
    let lvm_links = crate::carry::TOOLS[0].links;
    for tool in &appliance.carried {
        assert_eq!(
            listed.get(tool.name.as_str()),
            Some(&tool.path.to_str().unwrap())
        );
        let (template, image) = if lvm_links.contains(&tool.name.as_str()) {
            (&["{tool}", "--version"][..], None)
        } else {
            tool_check(&tool.name)
                .unwrap_or_else(|| panic!("no check for carried tool {}: add one", tool.name))
        };
        let img = format!("/tmp/{}.img", tool.name);
        if let Some(size) = image {
            let f = fs::File::create(unpacked.join(img.trim_start_matches('/'))).unwrap();
            f.set_len(size).unwrap();
        }
        let steps: Vec<String> = template
            .iter()
            .map(|s| {
                s.replace("{tool}", &tool.path.to_string_lossy())
                    .replace("{img}", &img)
            })
            .collect();
        let said = run_in_chroot(&unpacked, &steps);
        assert!(
            !said.contains("not found"),
            "{}: a library it needs is not carried:\n{said}",
            tool.name
        );
        if image.is_some() {
            fs::remove_file(unpacked.join(img.trim_start_matches('/'))).unwrap();
        }
    }
    assert!(hit < Duration::from_millis(200), "cache hit took {hit:?}");
}

fn walk(dir: &Path) -> Vec<(PathBuf, u64)> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir).unwrap().flatten() {
        let meta = entry.path().symlink_metadata().unwrap();
        if meta.is_dir() {
            out.extend(walk(&entry.path()));
        } else if meta.is_file() {
            out.push((entry.path(), meta.len()));
        }
    }
    out
}

#[test]
fn default_cache_dir_follows_xdg() {
    let dir = cache::default_dir().expect("HOME or XDG_CACHE_HOME is set");
    assert!(dir.ends_with("guestwright"), "{}", dir.display());
}
