//! Renames a guest: mounts the filesystem holding `/etc`, reads the old hostname, writes the
//! new one, and shuts down so the change is in the image.
//!
//! ```text
//! cargo run -p guestwright --example hostname -- IMAGE NEW_NAME [DEVICE]
//! ```
//!
//! DEVICE is the guest's root filesystem (`/dev/sda1` when not given). It shows the steps of
//! every program using the library: add a drive, launch, mount, read and write files,
//! stream a file out, tell a missing file (an errno) from a broken appliance, and shut down
//! with the writes made durable. Exit status: 0 done, 1 failed, 2 usage.

use guestwright::edit::hostname::{edit_hostname_file, read_hostname, Hostname};
use guestwright::prelude::*;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (image, name, device) = match args.as_slice() {
        [image, name] => (image, name, "/dev/sda1"),
        [image, name, device] => (image, name, device.as_str()),
        _ => {
            eprintln!("usage: hostname IMAGE NEW_NAME [DEVICE]");
            return ExitCode::from(2);
        }
    };
    // Checked before anything starts: a bad name never reaches the guest.
    let name = match Hostname::parse(name) {
        Ok(n) => n,
        Err(e) => {
            eprintln!("hostname: {e}");
            return ExitCode::from(2);
        }
    };
    match run(image, &name, device) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("hostname: {}", guestwright::error::chain(&e));
            ExitCode::FAILURE
        }
    }
}

fn run(image: &str, name: &Hostname, device: &str) -> Result<(), Error> {
    let mut h = Handle::with_config(LaunchConfig::from_env()?);
    h.add_drive(image, DriveOptions::readwrite())?;
    h.launch()?;
    h.mount(device, "/")?;

    // A guest without /etc/hostname is not an error: the file is created.
    let old = match h.read_file("/etc/hostname") {
        Ok(data) => Some(data.0),
        Err(e) if e.errno() == Some(Errno::ENOENT) => None,
        Err(e) => return Err(e),
    };
    match old.as_deref().and_then(read_hostname) {
        Some(old) => println!("was: {old}"),
        None => println!("was: (none)"),
    }
    // The pure editor keeps the file's comments; write_file replaces it atomically.
    let new = edit_hostname_file(old.as_deref(), name);
    h.write_file("/etc/hostname", new)?;

    // Read it back through a stream, as a program would copy out a file of any size.
    let mut copy = Vec::new();
    h.download("/etc/hostname", &mut copy)?;
    print!("now: {}", String::from_utf8_lossy(&copy));

    // Unmounts, flushes the guest and the image file: Ok means the rename is in the image.
    h.shutdown()
}
