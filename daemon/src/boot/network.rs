//! The appliance's network, only when the host asks for it (`guestwright.network` on the
//! kernel command line, which the host adds with QEMU's user-mode network device): the
//! virtio-net driver is loaded, `lo` and `eth0` come up with the fixed addressing of
//! libguestfs's appliance, whose user network the host asks QEMU for (169.254.0.0/16: the
//! appliance at 169.254.2.15/16, the gateway 169.254.2.2, which is also the host's loopback,
//! and the DNS forwarder 169.254.2.3; scripts written for libguestfs reach the host at
//! 169.254.2.2), and /etc/resolv.conf of the appliance names that forwarder, for the
//! commands that run in the guest (see `fs::command`).
//!
//! Without the flag nothing here runs, so launches without a network load no driver. The
//! setup runs beside the first requests; guest commands wait for it ([`wait`]).

use crate::boot::modules::Modules;
use crate::sys;
use guestwright_sync::{Condvar, Mutex};
use std::io;
use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

/// The appliance's address on QEMU's user-mode network.
pub const ADDRESS: Ipv4Addr = Ipv4Addr::new(169, 254, 2, 15);
/// Its netmask.
pub const NETMASK: Ipv4Addr = Ipv4Addr::new(255, 255, 0, 0);
/// The gateway (QEMU; connections to it reach the host's loopback).
pub const GATEWAY: Ipv4Addr = Ipv4Addr::new(169, 254, 2, 2);
/// QEMU's DNS forwarder.
pub const DNS: Ipv4Addr = Ipv4Addr::new(169, 254, 2, 3);
/// The resolver configuration guest commands get.
pub const RESOLV_CONF: &str = "nameserver 169.254.2.3\n";
/// The interface virtio-net makes (no udev renames it in the appliance).
const IFACE: &str = "eth0";
/// How long the interface may take to appear once the driver is loaded.
const APPEAR: Duration = Duration::from_secs(10);

/// Not asked for, pending, or the outcome of the setup.
#[derive(Debug, Clone, PartialEq, Eq)]
enum State {
    Off,
    Pending,
    Done(Result<(), String>),
}

static STATE: Mutex<State> = Mutex::new(State::Off);
static CHANGED: Condvar = Condvar::new();

/// Marks the network as being set up; call before the first request is served.
pub fn begin() {
    *STATE.lock() = State::Pending;
}

/// Loads the driver and configures the interfaces; records the outcome for [`wait`].
pub fn setup(modules: &Modules) {
    let t = Instant::now();
    let result = configure(modules).map_err(|e| e.to_string());
    match &result {
        Ok(()) => debug!("network up in {} ms", t.elapsed().as_millis()),
        Err(e) => info!("network: {e}"),
    }
    *STATE.lock() = State::Done(result);
    CHANGED.notify_all();
}

fn configure(modules: &Modules) -> io::Result<()> {
    modules
        .load("virtio_net")
        .map_err(|e| io::Error::new(e.kind(), format!("cannot load the virtio_net driver: {e}")))?;
    let sysfs = std::path::Path::new("/sys/class/net").join(IFACE);
    let started = Instant::now();
    while !sysfs.exists() {
        if started.elapsed() > APPEAR {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("the network interface {IFACE} did not appear within {} s of loading virtio_net", APPEAR.as_secs()),
            ));
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    sys::interface_up("lo")?;
    sys::interface_address(IFACE, ADDRESS, NETMASK)?;
    sys::interface_up(IFACE)?;
    sys::default_route(GATEWAY)?;
    std::fs::create_dir_all("/etc")?;
    std::fs::write("/etc/resolv.conf", RESOLV_CONF)?;
    Ok(())
}

/// Whether the appliance has a network: `Ok(false)` when none was asked for, `Ok(true)` once
/// it is up (waiting for the setup if it is still running), the setup's error otherwise.
pub fn wait() -> io::Result<bool> {
    let mut st = STATE.lock();
    let deadline = Instant::now() + APPEAR + Duration::from_secs(20);
    loop {
        match &*st {
            State::Off => return Ok(false),
            State::Done(Ok(())) => return Ok(true),
            State::Done(Err(e)) => {
                return Err(io::Error::other(format!(
                    "the appliance's network could not be set up: {e}"
                )))
            }
            State::Pending => {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        "the appliance's network setup did not finish",
                    ));
                }
                st = CHANGED.wait_timeout(st, left).0;
            }
        }
    }
}
