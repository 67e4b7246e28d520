//! Stopping every appliance of this process at once, for a program's signal handler
//! (Ctrl-C, SIGTERM): [`stop_all`] cancels every call in flight on every channel and makes
//! every later call fail with `ECANCELED`, except the power-off of
//! [`Handle::shutdown`](crate::Handle::shutdown), which still flushes and unmounts the guest's filesystems. So an
//! interrupted command fails at its next call, and the ordinary way out (dropping its
//! `Handle`, its unfinished host files) leaves consistent images and no QEMU.
//!
//! It never kills anything itself and never blocks on an appliance: the channels' own
//! cancel frames are all it sends.
//!
//! ```no_run
//! use guestwright::prelude::*;
//! use std::time::Duration;
//!
//! # fn main() -> Result<(), guestwright::Error> {
//! let mut h = Handle::new();
//! h.add_drive("big.img", DriveOptions::readonly())?;
//! h.launch()?;
//! // Standing in for a SIGINT handler: give up after ten seconds.
//! std::thread::spawn(|| {
//!     std::thread::sleep(Duration::from_secs(10));
//!     guestwright::interrupt::stop_all();
//! });
//! match h.download("/dev/sda", &mut std::io::sink()) {
//!     Err(e) if guestwright::interrupt::stopping() => eprintln!("interrupted ({})", e.as_errno().name()),
//!     other => other?,
//! }
//! h.shutdown()?; // still unmounts and flushes
//! # Ok(())
//! # }
//! ```

use crate::rpc::Channel;
use guestwright_sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};

static STOPPING: AtomicBool = AtomicBool::new(false);
/// Every channel started in this process (dead ones are pruned as new ones come).
static CHANNELS: Mutex<Vec<Weak<Channel>>> = Mutex::new(Vec::new());

/// Stops this process's appliances' work: calls in flight are cancelled, later calls fail
/// with `ECANCELED`, [`launch`](crate::Handle::launch) refuses to start one. Irreversible.
pub fn stop_all() {
    STOPPING.store(true, Ordering::SeqCst);
    // Copied out: cancelling writes to the channels, which may block on a full one.
    let channels: Vec<Arc<Channel>> = CHANNELS.lock().iter().filter_map(Weak::upgrade).collect();
    for c in channels {
        c.cancel_all();
    }
}

/// Whether [`stop_all`] was called.
pub fn stopping() -> bool {
    STOPPING.load(Ordering::SeqCst)
}

/// Records a new channel so that [`stop_all`] reaches its calls.
pub(crate) fn register(channel: &Arc<Channel>) {
    let mut list = CHANNELS.lock();
    list.retain(|w| w.strong_count() > 0);
    list.push(Arc::downgrade(channel));
}
