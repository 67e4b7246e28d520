//! Inspects disk images read-only and prints what operating systems they hold, where the
//! guest mounts its filesystems, and how many packages are installed.
//!
//! ```text
//! cargo run -p guestwright --example inspect -- guest.qcow2 [more disks...]
//! ```
//!
//! The images are attached read-only: their bytes never change, even though the appliance
//! mounts the guest's filesystems.

use guestwright::inspect::{applications, inspect_all, mount_inspected};
use guestwright::prelude::*;
use std::process::ExitCode;

fn main() -> ExitCode {
    let images: Vec<String> = std::env::args().skip(1).collect();
    if images.is_empty() {
        eprintln!("usage: inspect IMAGE...");
        return ExitCode::from(2);
    }
    match run(&images) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("inspect: {}", guestwright::error::chain(&e));
            ExitCode::FAILURE
        }
    }
}

fn run(images: &[String]) -> Result<(), Error> {
    // GUESTWRIGHT_ACCEL, GUESTWRIGHT_MEMORY, ... as the guestwright tool reads them.
    let mut h = Handle::with_config(LaunchConfig::from_env()?);
    for image in images {
        h.add_drive(image, DriveOptions::readonly())?;
    }
    h.launch()?;
    let found = inspect_all(&h)?;
    for fs in &found.unreadable {
        eprintln!("inspect: not looked into: {fs}");
    }
    if found.found.is_empty() {
        return Err(found.no_os_error());
    }
    for os in &found.found {
        println!("root: {}", os.root);
        println!("  product: {}", os.product_name);
        println!(
            "  {} {} {}.{} ({})",
            os.os_type, os.distro, os.major_version, os.minor_version, os.arch
        );
        println!("  hostname: {}", os.hostname);
        for m in &os.mountpoints {
            println!("  mount: {} on {}", m.device, m.mountpoint);
        }
        mount_inspected(&h, os, true)?;
        match applications(&h, os) {
            Ok(apps) => println!("  packages: {}", apps.len()),
            // A damaged package database is worth a line, not the end of the report.
            Err(e @ Error::Remote { .. }) => {
                println!("  packages: unknown ({})", guestwright::error::chain(&e))
            }
            Err(e) => return Err(e),
        }
        h.umount_all()?;
    }
    // Read-only drives: nothing to make durable, but shutdown still reports a QEMU that
    // did not exit cleanly.
    h.shutdown()
}
