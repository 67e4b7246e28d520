//! Prepares the appliance as the host library would and prints what QEMU needs, for trying
//! the appliance by hand:
//!
//! ```sh
//! cargo run -p guestwright-appliance --example prepare
//! ```

use std::process::ExitCode;
use std::time::Instant;

fn main() -> ExitCode {
    let config = guestwright_appliance::Config::from_env();
    let start = Instant::now();
    match guestwright_appliance::prepare(&config) {
        Ok(appliance) => {
            println!("prepared in {:?}", start.elapsed());
            println!(
                "kernel  {} ({:?})",
                appliance.kernel.display(),
                appliance.boot
            );
            println!("initrd  {}", appliance.initrd.display());
            println!("release {}", appliance.kernel_release);
            let tools: Vec<&str> = appliance.carried.iter().map(|t| t.name.as_str()).collect();
            println!("carried {}", tools.join(" "));
            ExitCode::SUCCESS
        }
        Err(e) => {
            let mut message = format!("prepare: {e}");
            let mut source = std::error::Error::source(&e);
            while let Some(cause) = source {
                message.push_str(&format!(": {cause}"));
                source = cause.source();
            }
            eprintln!("{message}");
            ExitCode::FAILURE
        }
    }
}
