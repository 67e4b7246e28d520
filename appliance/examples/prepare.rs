//! Prepares the appliance as the host library would and prints what QEMU needs, for trying
//! the appliance by hand:
//!
//! ```sh
//! cargo run -p guestwright-appliance --example prepare
//! ```

use std::io::Write;
use std::process::ExitCode;
use std::time::Instant;

fn main() -> ExitCode {
    let config = guestwright_appliance::Config::from_env();
    let start = Instant::now();
    match guestwright_appliance::prepare(&config) {
        Ok(appliance) => {
            let tools: Vec<&str> = appliance.carried.iter().map(|t| t.name.as_str()).collect();
            let report = format!(
                "prepared in {:?}\nkernel  {} ({:?})\ninitrd  {}\nrelease {}\ncarried {}\n",
                start.elapsed(),
                appliance.kernel.display(),
                appliance.boot,
                appliance.initrd.display(),
                appliance.kernel_release,
                tools.join(" ")
            );
            // A closed pipe (`| head -1`) is not a failure.
            let _ = std::io::stdout().write_all(report.as_bytes());
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
