//! The QEMU command line, built from a plain description so it can be checked without
//! running QEMU. Devices are exactly what the appliance needs: a serial console, one
//! virtio-serial channel, one virtio-blk per drive; no network unless asked for, no
//! firmware, no user config, and a seccomp sandbox.
//!
//! ```
//! use guestwright::qemu::{args, kernel_cmdline, Accelerator, Machine, QemuConfig};
//!
//! let config = QemuConfig {
//!     binary: "qemu-system-x86_64".into(),
//!     accel: Accelerator::Tcg,
//!     machine: Machine::Microvm,
//!     kernel: "/var/cache/guestwright/vmlinux".into(),
//!     initrd: "/var/cache/guestwright/initrd".into(),
//!     memory_mib: 512,
//!     smp: 1,
//!     channel_socket: "/run/user/1000/gw/channel.sock".into(),
//!     drives: Vec::new(),
//!     block_sizes: Vec::new(),
//!     fdsets: Vec::new(),
//!     extras: None,
//!     verbose: false,
//!     network: false,
//!     xfer: None,
//!     snapshot: None,
//!     slots: false,
//!     monitor: None,
//!     rescue_socket: None,
//! };
//! let argv: Vec<String> = args(&config).iter().map(|a| a.to_string_lossy().into_owned()).collect();
//! assert!(argv.windows(2).any(|w| w[0] == "-m" && w[1] == "512"));
//! assert!(argv.iter().any(|a| a == "-sandbox")); // QEMU's seccomp filter, always
//! assert!(!argv.iter().any(|a| a.contains("netdev"))); // no network unless asked for
//! assert!(kernel_cmdline(&config).contains("console=ttyS0"));
//! ```

use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// The hardware accelerator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Accelerator {
    /// Hardware virtualisation.
    Kvm,
    /// Software emulation.
    Tcg,
}

impl Accelerator {
    /// QEMU's name for it.
    pub fn name(self) -> &'static str {
        match self {
            Accelerator::Kvm => "kvm",
            Accelerator::Tcg => "tcg",
        }
    }
}

/// The machine type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Machine {
    /// `microvm`: virtio-mmio, no PCI, no firmware; the fastest boot.
    Microvm,
    /// `q35`: the fallback for QEMU builds without microvm.
    Q35,
}

/// How many drives a saved appliance has room for: a launch with more boots cold.
pub const SNAPSHOT_SLOTS: usize = 4;

/// A boot that is saved, or a restore of a saved one (see `crate::snapshot`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SnapshotRole {
    /// Boot parked (`guestwright.snapshot` on the kernel command line) with QMP on this
    /// socket, so the host can save the state.
    Save {
        /// The socket QEMU connects its QMP monitor to.
        qmp_socket: PathBuf,
    },
    /// Restore the state in the file passed as descriptor number `index` of
    /// [`QemuConfig::fdsets`].
    Restore {
        /// Its index in `fdsets`.
        index: usize,
        /// The socket QEMU connects its QMP monitor to: the host waits there for the
        /// restored VM to run before it sends anything on the channel.
        qmp_socket: PathBuf,
    },
}

/// Everything that decides the command line.
#[derive(Debug, Clone)]
pub struct QemuConfig {
    /// The QEMU binary.
    pub binary: PathBuf,
    /// The accelerator.
    pub accel: Accelerator,
    /// The machine type.
    pub machine: Machine,
    /// The kernel (a PVH vmlinux or a bzImage).
    pub kernel: PathBuf,
    /// The initramfs.
    pub initrd: PathBuf,
    /// Guest memory in MiB.
    pub memory_mib: u32,
    /// Virtual CPUs.
    pub smp: u32,
    /// The host end of the channel.
    pub channel_socket: PathBuf,
    /// One `-blockdev` JSON per drive, in order; drive `i` gets serial `gw<i>`.
    pub drives: Vec<serde_json::Value>,
    /// The sector size of drive `i`'s disk when not 512 (missing entries: 512).
    pub block_sizes: Vec<Option<u32>>,
    /// Descriptors QEMU inherits, fd set `i + 1` each (`-add-fd`): the drives' files,
    /// named `/dev/fdset/<i + 1>` in their `-blockdev` (see [`fdset_name`]).
    pub fdsets: Vec<i32>,
    /// The appliance's extras archive, attached read-only after the drives.
    pub extras: Option<PathBuf>,
    /// Print the kernel's and the daemon's messages.
    pub verbose: bool,
    /// Give the appliance a user-mode network.
    pub network: bool,
    /// The transfer disk: a scratch file the host writes upload data to (serial
    /// [`guestwright_protocol::XFER_SERIAL`]).
    pub xfer: Option<PathBuf>,
    /// Saving or restoring a booted appliance: the device layout is then fixed
    /// ([`SNAPSHOT_SLOTS`] drive slots, the extras disk, the transfer disk, the ones not
    /// used left empty) and so is the kernel command line, since a restore must match what
    /// was saved.
    pub snapshot: Option<SnapshotRole>,
    /// Instead of drives, [`SNAPSHOT_SLOTS`] empty drive slots whose images the host
    /// changes while the appliance runs (see [`crate::slots`]); `drives` must be empty.
    pub slots: bool,
    /// The socket QEMU connects a QMP monitor to, for a launch that is not a save or a
    /// restore (those have their own).
    pub monitor: Option<PathBuf>,
    /// The socket QEMU connects the rescue console's port to (`guestwright rescue`), for a
    /// cold boot only; `None`: no rescue port.
    pub rescue_socket: Option<PathBuf>,
}

/// The kernel command line.
pub fn kernel_cmdline(config: &QemuConfig) -> String {
    let mut args = vec![
        "console=ttyS0",
        "panic=-1",
        // With QEMU's -no-reboot a triple-fault reboot ends QEMU on every machine type,
        // including microvm without ACPI, where power-off would only halt.
        "reboot=t",
        "rdinit=/init",
        // Crypto self-tests cost about 0.2 s of every boot under TCG.
        "cryptomgr.notests",
        // Initcalls an appliance has no use for, measured at 10-60 ms each under TCG:
        // kprobe tracing, TCP CUBIC (the appliance has no network unless asked, and then
        // Reno does), KDF self-tests, CXL, and the module-signing keyring (modules still
        // load; verifying each signature under TCG costs more than the check is worth for
        // the host's own modules). Also the BPF kfunc registrations: the first of them parses
        // the kernel's whole BTF (about 60 ms under TCG), and the appliance loads no BPF.
        "initcall_blacklist=init_kprobe_trace,cubictcp_register,crypto_kdf108_init,cxl_core_init,\
         init_trace_printk_function_export,load_system_certificate_list,bpf_rstat_kfunc_init,\
         bpf_key_sig_kfuncs_init,kfunc_init,bpf_prog_test_run_init,bpf_tcp_ca_kfunc_init",
        "8250.nr_uarts=1",
        "no_timer_check",
        "random.trust_cpu=on",
    ];
    let tsc;
    if config.accel == Accelerator::Tcg {
        // Under TCG, calibrating the TSC against the PIT fails now and then (the emulated
        // loop is too slow for the short window) and microvm has no other reference, which
        // hangs the boot. The emulated TSC runs at the host's rate, so tell the kernel.
        if let Some(khz) = host_tsc_khz() {
            tsc = format!("tsc_early_khz={khz}");
            args.push(&tsc);
        }
        args.push("tsc=reliable");
    }
    if config.snapshot.is_some() {
        // The same for every launch from one saved state: the drives and verbosity come
        // with the host's `Resume`. A network is part of the saved device layout (its
        // state is saved apart from one without), and the daemon brings it up on resume.
        args.extend(["quiet", "guestwright.snapshot"]);
        if config.network {
            args.push("guestwright.network");
        }
        return args.join(" ");
    }
    if !config.verbose {
        args.push("quiet");
    }
    let mut s = args.join(" ");
    s.push_str(&format!(" guestwright.drives={}", config.drives.len()));
    if config.verbose {
        s.push_str(" guestwright.verbose");
    }
    if config.network {
        s.push_str(" guestwright.network");
    }
    if config.rescue_socket.is_some() {
        s.push(' ');
        s.push_str(guestwright_protocol::rescue::BOOT_FLAG);
    }
    s
}

/// The host CPU clock in kHz from /proc/cpuinfo, which TCG's emulated TSC follows.
fn host_tsc_khz() -> Option<u64> {
    let info = std::fs::read_to_string("/proc/cpuinfo").ok()?;
    let mhz: f64 = info
        .lines()
        .find(|l| l.starts_with("cpu MHz"))?
        .split(':')
        .nth(1)?
        .trim()
        .parse()
        .ok()?;
    Some((mhz * 1000.0) as u64).filter(|k| *k > 0)
}

/// How a `-blockdev` names the file passed as descriptor number `index` of
/// [`QemuConfig::fdsets`]: QEMU opens it by dup(2), never by a path.
pub fn fdset_name(index: usize) -> String {
    format!("/dev/fdset/{}", index + 1)
}

/// The full argument list (without the binary).
pub fn args(config: &QemuConfig) -> Vec<OsString> {
    let mut a: Vec<OsString> = Vec::new();
    let mut push = |items: &[&str]| a.extend(items.iter().map(OsString::from));
    push(&[
        "-no-user-config",
        "-nodefaults",
        "-display",
        "none",
        "-no-reboot",
    ]);
    push(&[
        "-sandbox",
        "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny",
    ]);
    let (bus_suffix, machine) = match config.machine {
        // The virtio-mmio devices are found through ACPI (distribution kernels lack
        // VIRTIO_MMIO_CMDLINE_DEVICES). With the legacy PIC present, its timer interrupt can
        // reach the CPU as vector 0 before Linux programs it, and the boot dies with a
        // "divide error"; without it the IO-APIC carries the timer. (Option ROMs stay: PVH
        // boot goes through one.)
        Machine::Microvm => ("device", "microvm,pic=off"),
        Machine::Q35 => ("pci", "q35"),
    };
    push(&["-machine", machine]);
    if config.machine == Machine::Microvm {
        // With ACPI on, microvm defaults to SeaBIOS, which puts the ACPI tables in the last
        // kilobytes of RAM, exactly where QEMU loads the initrd for microvm (it reserves no
        // room for tables there): an initrd whose size ends late in its last page overwrites
        // the DSDT and the kernel finds no devices (AE_NO_ACPI_TABLES). qboot puts the tables
        // below 1 MiB and boots faster.
        push(&["-bios", "qboot.rom"]);
    }
    match config.accel {
        Accelerator::Kvm => push(&["-accel", "kvm", "-cpu", "host"]),
        Accelerator::Tcg => push(&["-accel", "tcg,tb-size=256", "-cpu", "max"]),
    }
    let memory = config.memory_mib.to_string();
    let smp = config.smp.to_string();
    push(&["-m", &memory, "-smp", &smp]);
    push(&[
        "-chardev",
        "stdio,id=console,signal=off",
        "-serial",
        "chardev:console",
    ]);
    a.extend(["-kernel".into(), config.kernel.clone().into_os_string()]);
    a.extend(["-initrd".into(), config.initrd.clone().into_os_string()]);
    a.extend(["-append".into(), kernel_cmdline(config).into()]);

    let mut push = |items: &[String]| a.extend(items.iter().map(OsString::from));
    // Two ports (port 0 is reserved for a console): the default 31 make the guest set up 64
    // virtqueues, ~50 ms of every boot under TCG.
    // A third port for the rescue console, when there is one.
    let ports = if config.rescue_socket.is_some() { 3 } else { 2 };
    push(&[
        "-device".into(),
        format!("virtio-serial-{bus_suffix},id=serial0,max_ports={ports}"),
    ]);
    if let Some(rescue) = &config.rescue_socket {
        // Before the channel's: QEMU connects its chardevs in order, so this one is
        // connected when the channel is.
        push(&[
            "-chardev".into(),
            format!("socket,id=rescue0,path={}", chardev_path(rescue)),
        ]);
        push(&[
            "-device".into(),
            format!(
                "virtserialport,bus=serial0.0,chardev=rescue0,name={}",
                guestwright_protocol::rescue::PORT_NAME
            ),
        ]);
    }
    push(&[
        "-chardev".into(),
        format!(
            "socket,id=channel0,path={}",
            chardev_path(&config.channel_socket)
        ),
    ]);
    push(&[
        "-device".into(),
        format!(
            "virtserialport,bus=serial0.0,chardev=channel0,name={}",
            guestwright_protocol::CHANNEL_NAME
        ),
    ]);
    for (i, fd) in config.fdsets.iter().enumerate() {
        push(&["-add-fd".into(), format!("fd={fd},set={}", i + 1)]);
    }
    for (i, drive) in config.drives.iter().enumerate() {
        let node = drive["node-name"].as_str().unwrap_or_default().to_string();
        push(&["-blockdev".into(), drive.to_string()]);
        // werror/rerror=report: a full host disk is an I/O error in the guest, not a VM
        // that pauses forever.
        let sectors = match config.block_sizes.get(i).copied().flatten() {
            Some(b) => format!(",logical_block_size={b},physical_block_size={b}"),
            None => String::new(),
        };
        push(&[
            "-device".into(),
            format!(
                "virtio-blk-{bus_suffix},drive={node},serial=gw{i},werror=report,\
                 rerror=report{sectors}"
            ),
        ]);
    }
    if config.slots {
        // Each slot: a raw node the device reads through, over an empty node of its own;
        // a job's image replaces the empty node under the raw one (`blockdev-reopen`).
        // Serial `gw<i>` as a drive's: the daemon finds them as drives once bound.
        for i in 0..SNAPSHOT_SLOTS {
            for node in crate::slots::nodes(i) {
                push(&["-blockdev".into(), node.to_string()]);
            }
            push(&[
                "-device".into(),
                format!(
                    "virtio-blk-{bus_suffix},drive={},serial=gw{i},werror=report,rerror=report",
                    crate::slots::slot_name(i)
                ),
            ]);
        }
    } else if config.snapshot.is_some() {
        // Empty slots, so that every launch from a saved state has its device layout; the
        // daemon looks for drives by serial and never sees these.
        for i in config.drives.len()..SNAPSHOT_SLOTS {
            push(&[
                "-blockdev".into(),
                empty_node(&format!("slot{i}")).to_string(),
            ]);
            push(&[
                "-device".into(),
                format!("virtio-blk-{bus_suffix},drive=slot{i},serial=gwe{i}"),
            ]);
        }
    }
    if let Some(extras) = &config.extras {
        // Shared by every appliance on the host; never written, so no lock is needed.
        let node = serde_json::json!({
            "driver": "raw",
            "node-name": "extras",
            "read-only": true,
            "file": { "driver": "file", "filename": extras.to_string_lossy(), "read-only": true, "locking": "off" },
        });
        push(&["-blockdev".into(), node.to_string()]);
        push(&[
            "-device".into(),
            format!(
                "virtio-blk-{bus_suffix},drive=extras,serial={}",
                guestwright_appliance::EXTRAS_SERIAL
            ),
        ]);
    }
    if let Some(xfer) = &config.xfer {
        // Only this host process writes it and only the daemon reads it (O_DIRECT).
        let node = serde_json::json!({
            "driver": "raw",
            "node-name": "xfer",
            "file": { "driver": "file", "filename": xfer.to_string_lossy(), "locking": "off" },
        });
        push(&["-blockdev".into(), node.to_string()]);
        push(&[
            "-device".into(),
            format!(
                "virtio-blk-{bus_suffix},drive=xfer,serial={}",
                guestwright_protocol::XFER_SERIAL
            ),
        ]);
    }
    if config.xfer.is_none() && config.snapshot.is_some() {
        push(&["-blockdev".into(), empty_node("xfer").to_string()]);
        push(&[
            "-device".into(),
            format!("virtio-blk-{bus_suffix},drive=xfer,serial=gwe"),
        ]);
    }
    match &config.snapshot {
        None => {
            if let Some(socket) = &config.monitor {
                push(&[
                    "-chardev".into(),
                    format!("socket,id=qmp,path={}", chardev_path(socket)),
                    "-mon".into(),
                    "chardev=qmp,mode=control".into(),
                ]);
            }
        }
        Some(role) => {
            // mapped-ram: every page at its own offset of the file, so a restore reads
            // only the pages the guest had touched (the file is sparse).
            push(&["-global".into(), "migration.mapped-ram=on".into()]);
            let qmp_socket = match role {
                SnapshotRole::Save { qmp_socket } => qmp_socket,
                SnapshotRole::Restore { index, qmp_socket } => {
                    push(&["-incoming".into(), format!("file:{}", fdset_name(*index))]);
                    qmp_socket
                }
            };
            push(&[
                "-chardev".into(),
                format!("socket,id=qmp,path={}", chardev_path(qmp_socket)),
                "-mon".into(),
                "chardev=qmp,mode=control".into(),
            ]);
        }
    }
    if config.network {
        // libguestfs's network, so that its users' scripts find the host at 169.254.2.2.
        push(&["-netdev".into(), "user,id=net0,net=169.254.0.0/16".into()]);
        push(&[
            "-device".into(),
            format!("virtio-net-{bus_suffix},netdev=net0"),
        ]);
    }
    a
}

/// A drive slot with nothing in it: no bytes, read-only.
fn empty_node(name: &str) -> serde_json::Value {
    serde_json::json!({ "driver": "null-co", "node-name": name, "size": 0, "read-only": true })
}

/// QEMU splits `-chardev` options on commas; a comma in a path is written doubled.
fn chardev_path(p: &Path) -> String {
    p.to_string_lossy().replace(',', ",,")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The kinds of the `-device` arguments, in order (`virtio-blk-device`, ...).
    fn device_kinds(a: &[OsString]) -> Vec<String> {
        a.windows(2)
            .filter(|w| w[0] == "-device")
            .map(|w| {
                w[1].to_string_lossy()
                    .split(',')
                    .next()
                    .unwrap()
                    .to_string()
            })
            .collect()
    }

    fn config() -> QemuConfig {
        QemuConfig {
            binary: "qemu-system-x86_64".into(),
            accel: Accelerator::Tcg,
            machine: Machine::Microvm,
            kernel: "/cache/vmlinux".into(),
            initrd: "/cache/initrd".into(),
            memory_mib: 512,
            smp: 1,
            channel_socket: "/run/user/1000/gw,x/sock".into(),
            drives: vec![
                json!({"driver": "raw", "node-name": "drive0", "file": {"driver": "file", "filename": "/img,-hda json:{}"}}),
            ],
            block_sizes: vec![],
            fdsets: vec![],
            verbose: false,
            network: false,
            xfer: None,
            extras: Some("/cache/extras".into()),
            snapshot: None,
            slots: false,
            monitor: None,
            rescue_socket: None,
        }
    }

    fn joined(c: &QemuConfig) -> String {
        args(c)
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join(" ")
    }

    #[test]
    fn the_argv_is_minimal_and_safe() {
        let s = joined(&config());
        for want in [
            "-no-user-config -nodefaults -display none -no-reboot",
            "-sandbox on,",
            "-machine microvm,pic=off -bios qboot.rom",
            "-accel tcg",
            "-device virtio-blk-device,drive=drive0,serial=gw0,werror=report,rerror=report",
            "path=/run/user/1000/gw,,x/sock",
            "name=org.guestwright.channel.0",
            "virtio-blk-device,drive=extras,serial=gwx",
        ] {
            assert!(s.contains(want), "missing {want:?} in {s}");
        }
        assert!(!s.contains("-netdev"), "no network unless asked: {s}");
        assert!(!s.contains("-drive "), "drives only as -blockdev: {s}");
        // The odd file name stays inside the JSON string, never becomes an option.
        let a = args(&config());
        let bd = a.iter().position(|x| x == "-blockdev").unwrap();
        let v: serde_json::Value = serde_json::from_str(a[bd + 1].to_str().unwrap()).unwrap();
        assert_eq!(v["file"]["filename"], "/img,-hda json:{}");
    }

    #[test]
    fn passed_descriptors_come_before_the_drives_that_name_them() {
        let mut c = config();
        c.fdsets = vec![7, 9];
        let a = args(&c);
        let at = |s: &str| a.iter().position(|x| x == s).unwrap();
        assert_eq!(a[at("fd=7,set=1") - 1], "-add-fd");
        assert_eq!(a[at("fd=9,set=2") - 1], "-add-fd");
        assert!(at("fd=9,set=2") < at("-blockdev"));
        assert_eq!(fdset_name(1), "/dev/fdset/2");
    }

    #[test]
    fn the_transfer_disk_is_a_virtio_blk_with_its_serial() {
        let mut c = config();
        c.xfer = Some("/dev/shm/guestwright-xfer-1".into());
        let s = joined(&c);
        assert!(s.contains("virtio-blk-device,drive=xfer,serial=gwt"), "{s}");
        assert!(
            s.contains("\"filename\":\"/dev/shm/guestwright-xfer-1\""),
            "{s}"
        );
    }

    #[test]
    fn variants() {
        let mut c = config();
        c.machine = Machine::Q35;
        c.accel = Accelerator::Kvm;
        c.network = true;
        c.verbose = true;
        let s = joined(&c);
        assert!(s.contains("-machine q35"));
        assert!(s.contains("virtio-blk-pci"));
        assert!(s.contains("-accel kvm -cpu host"));
        assert!(s.contains("-netdev user,id=net0,net=169.254.0.0/16"));
        assert!(s.contains("guestwright.verbose"));
        assert!(s.contains("guestwright.network"));
        assert!(!joined(&config()).contains("guestwright.network"));
        assert!(!kernel_cmdline(&c).contains("quiet"));
        assert!(kernel_cmdline(&config()).contains("guestwright.drives=1"));
    }

    /// A saved appliance with a network is another state than one without (its name hashes
    /// the command line), and the restored daemon learns from it to bring the network up.
    #[test]
    fn a_saved_appliance_with_a_network_says_so_on_its_command_line() {
        let mut c = config();
        c.snapshot = Some(SnapshotRole::Restore {
            index: 0,
            qmp_socket: "/run/q".into(),
        });
        assert!(!kernel_cmdline(&c).contains("guestwright.network"));
        c.network = true;
        assert!(kernel_cmdline(&c).contains(" guestwright.network"));
        assert!(joined(&c).contains("-netdev user,id=net0"));
    }

    #[test]
    fn an_appliance_for_reuse_has_empty_drive_slots_and_a_monitor() {
        let mut c = config();
        c.drives.clear();
        c.slots = true;
        c.monitor = Some("/run/q".into());
        let s = joined(&c);
        for i in 0..SNAPSHOT_SLOTS {
            assert!(
                s.contains(&format!(
                    "virtio-blk-device,drive=slot{i},serial=gw{i},werror=report,rerror=report"
                )),
                "{s}"
            );
            assert!(s.contains(&format!("\"file\":\"null{i}\"")), "{s}");
        }
        assert!(s.contains("socket,id=qmp,path=/run/q -mon chardev=qmp,mode=control"));
        assert!(kernel_cmdline(&c).contains("guestwright.drives=0"));
        // Restored from a saved appliance: the saved layout, slots where the empty ones were.
        let mut restore = c.clone();
        restore.monitor = None;
        restore.snapshot = Some(SnapshotRole::Restore {
            index: 0,
            qmp_socket: "/run/q2".into(),
        });
        let mut save = config();
        save.drives.clear();
        save.snapshot = Some(SnapshotRole::Save {
            qmp_socket: "/run/q3".into(),
        });
        let kinds = device_kinds;
        assert_eq!(kinds(&args(&restore)), kinds(&args(&save)));
        let r = joined(&restore);
        assert!(!r.contains("gwe0") && r.contains("serial=gw3,"), "{r}");
    }

    #[test]
    fn saved_and_restored_appliances_have_one_layout_and_one_command_line() {
        let mut save = config();
        save.drives.clear();
        save.verbose = true;
        save.snapshot = Some(SnapshotRole::Save {
            qmp_socket: "/run/q,mp".into(),
        });
        let mut restore = config();
        restore.fdsets = vec![5, 6];
        restore.xfer = Some("/dev/shm/x".into());
        restore.snapshot = Some(SnapshotRole::Restore {
            index: 1,
            qmp_socket: "/run/qmp2".into(),
        });
        let (s, r) = (joined(&save), joined(&restore));
        assert_eq!(kernel_cmdline(&save), kernel_cmdline(&restore));
        assert!(kernel_cmdline(&save).ends_with("quiet guestwright.snapshot"));
        assert!(!kernel_cmdline(&save).contains("guestwright.drives"));
        assert!(
            s.contains("socket,id=qmp,path=/run/q,,mp -mon chardev=qmp,mode=control"),
            "{s}"
        );
        assert!(r.contains("-incoming file:/dev/fdset/2"), "{r}");
        assert!(
            r.contains("socket,id=qmp,path=/run/qmp2 -mon chardev=qmp,mode=control"),
            "{r}"
        );
        for a in [&s, &r] {
            assert!(a.contains("-global migration.mapped-ram=on"), "{a}");
        }
        // The same devices in the same order: the drive slots, extras, the transfer disk.
        let devices = device_kinds;
        let drives = |a: &[OsString]| -> Vec<String> {
            a.windows(2)
                .filter(|w| w[0] == "-device")
                .filter_map(|w| {
                    let d = w[1].to_string_lossy().into_owned();
                    d.split(',')
                        .find_map(|p| p.strip_prefix("drive=").map(str::to_string))
                })
                .collect()
        };
        assert_eq!(devices(&args(&save)), devices(&args(&restore)));
        assert_eq!(
            drives(&args(&save)),
            ["slot0", "slot1", "slot2", "slot3", "extras", "xfer"]
        );
        assert_eq!(
            drives(&args(&restore)),
            ["drive0", "slot1", "slot2", "slot3", "extras", "xfer"]
        );
        assert!(
            r.contains("serial=gw0,") && r.contains("serial=gwe1"),
            "{r}"
        );
        assert!(s.contains("drive=xfer,serial=gwe"), "{s}");
    }
}
