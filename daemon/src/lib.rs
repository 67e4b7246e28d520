//! The guestwright daemon: PID 1 of the appliance.
//!
//! It mounts the pseudo-filesystems, loads the modules the channel and disks need, finds its
//! virtio-serial port by name, says hello, and serves requests until the host asks it to shut
//! down or goes away; then it unmounts, flushes every disk and powers the appliance off.
//!
//! It must never trust what it reads from the guest's disks, and never panic on what the host
//! sends: bad input is an error reply.
//!
//! The folders are layers; each uses only the ones after it, never one before:
//! `rescue` (virt-rescue's shell, beside the channel) → `rpc/` (the channel loop and the
//! operations) → `stream/` (uploads, downloads, tar, checksums, copies) → `fs/` (the guest's
//! filesystems and paths) → `block/` (disks, partitions, LVM, LUKS) → `boot/` (boot phases,
//! kernel modules, carried tools) → `call/` (what an operation gets besides its arguments),
//! `probe/` (superblocks), `vblk` (the disk driver of a saved appliance: which virtio device
//! is which disk), `sys`.

#[macro_use]
mod log;
pub mod block;
pub mod boot;
pub mod call;
pub mod fs;
pub mod probe;
pub mod rescue;
pub mod rpc;
pub mod stream;
mod sys;
pub mod vblk;

use guestwright_protocol::{codec, FrameKind, Hello, CHANNEL_NAME, PROTOCOL_VERSION, VERSION};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

/// The module the channel needs, after the bus (virtio-mmio on microvm, virtio-pci on q35),
/// then the one the disks need: a saved appliance loads that one bound to no disk, so that a
/// restored one probes the drives it was given (see `vblk`). Whichever the kernel lacks as
/// modules it has built in.
const CHANNEL_MODULE: &str = "virtio_console";
const DISK_MODULE: &str = "virtio_blk";

/// Entry point of the `guestwright-daemon` binary.
pub fn main() -> ExitCode {
    if std::process::id() != 1 {
        eprintln!(
            "guestwright-daemon: this is the init of the guestwright appliance; it only runs as PID 1 inside it \
             (the guestwright tool starts it for you)"
        );
        return ExitCode::from(2);
    }
    if let Err(e) = run() {
        info!("fatal: {e}");
    }
    boot::power_off()
}

fn run() -> std::io::Result<()> {
    boot::mount_pseudo_filesystems()?;
    std::fs::create_dir_all(fs::guestfs::SYSROOT)?;
    // The kernel starts init without PATH; carried tools and their helpers need one.
    std::env::set_var("PATH", "/usr/sbin:/usr/bin:/sbin:/bin");
    let args = boot::BootArgs::read()?;
    log::set_verbose(args.verbose);
    debug!("started at {} ms", boot::uptime_ms());
    boot::reaper::start();

    let modules = boot::modules::Modules::load_index(&args.cmdline);
    // microvm's devices are on virtio-mmio; only a machine without them needs virtio-pci.
    if let Err(e) = modules.load("virtio_mmio") {
        info!("virtio_mmio: {e}");
    }
    let on_mmio =
        std::fs::read_dir("/sys/bus/virtio/devices").is_ok_and(|mut d| d.next().is_some());
    if !on_mmio {
        if let Err(e) = modules.load("virtio_pci") {
            info!("virtio_pci: {e}");
        }
    }
    if let Err(e) = modules.load(CHANNEL_MODULE) {
        info!("{CHANNEL_MODULE}: {e}");
    }
    let mut port = boot::open_port(CHANNEL_NAME, Duration::from_secs(10))?;
    let drives = if args.snapshot {
        // The disk driver goes in before the save, bound to no disk: after the restore only
        // the launch's drives are probed (see `vblk`).
        if let Err(e) = vblk::hold(|| modules.load(DISK_MODULE)) {
            info!("{DISK_MODULE} before the save: {e}; the disks are probed after the restore");
        }
        park(&mut port)?
    } else {
        args.drives
    };
    if vblk::held() {
        vblk::bind_slots(drives)?;
    } else {
        // Loads the disk driver, which binds every disk; after a restore whose driver went
        // in before the save, binds them.
        if let Err(e) = modules.load(DISK_MODULE) {
            info!("{DISK_MODULE}: {e}");
        }
        if args.snapshot {
            vblk::bind_unbound()?;
        }
    }
    debug!("boot modules loaded at {} ms", boot::uptime_ms());
    let disks = block::devices::Disks::discover(drives, Duration::from_secs(10))?;
    debug!(
        "{} drive(s) and the channel are up at {} ms",
        disks.len(),
        boot::uptime_ms()
    );

    let hello = Hello {
        protocol_version: PROTOCOL_VERSION,
        daemon_version: VERSION.to_string(),
        kernel_release: sys::kernel_release(),
        uptime_ms: boot::uptime_ms(),
        drives: disks.len() as u32,
    };
    let server = Arc::new(rpc::server::Server {
        disks,
        modules,
        mounts: fs::mounts::Mounts::default(),
    });
    if args.network {
        boot::network::begin();
        let s = server.clone();
        std::thread::spawn(move || boot::network::setup(&s.modules));
    }
    if args.rescue {
        rescue::start(server.clone());
    }
    let conn_port = port.try_clone()?;
    call::Conn::new(port).send(FrameKind::Hello, 0, &codec::encode(&hello)?)?;
    let result = rpc::conn::serve(server.clone(), conn_port);
    // The host went away without a shutdown: save what can be saved.
    let _ = server.mounts.umount_all();
    let _ = server.sync_all();
    result
}

/// The appliance boots to be saved: say so, and wait (the host saves the VM meanwhile) for
/// the `Resume` of a restored copy. Returns how many drives that launch attached.
fn park(port: &mut std::fs::File) -> std::io::Result<usize> {
    use guestwright_protocol::{read_frame, Resume};
    call::Conn::new(port.try_clone()?).send(FrameKind::Parked, 0, &[])?;
    let frame = read_frame(&mut Patient(port))
        .map_err(|e| std::io::Error::other(format!("resume: {e}")))?;
    if frame.kind != FrameKind::Resume {
        return Err(std::io::Error::other(format!(
            "expected a resume, got {:?}",
            frame.kind
        )));
    }
    let resume: Resume =
        codec::decode(&frame.payload).map_err(|e| std::io::Error::other(format!("resume: {e}")))?;
    log::set_verbose(resume.verbose);
    boot::resume(&resume.seed, resume.unix_time)?;
    debug!("restored at {} ms", boot::uptime_ms());
    Ok(resume.drives as usize)
}

/// A port read that waits out the moments with no host on the other end (a read then
/// returns 0 at once): between the save and a restore, the host end changes.
struct Patient<'a>(&'a mut std::fs::File);

impl std::io::Read for Patient<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        loop {
            match self.0.read(buf)? {
                0 if !buf.is_empty() => std::thread::sleep(Duration::from_millis(1)),
                n => return Ok(n),
            }
        }
    }
}
