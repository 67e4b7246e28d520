//! A logger for the `log` crate: messages go to stderr prefixed with the program name; `-v`
//! raises the level from warnings to debug.

use log::{Level, LevelFilter, Metadata, Record};

struct Stderr;

impl log::Log for Stderr {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.level() <= log::max_level()
    }

    fn log(&self, record: &Record<'_>) {
        if !self.enabled(record.metadata()) {
            return;
        }
        // The FUSE library's own messages are its internals, shown with -v only: what fails
        // reaches us as an error that we report. (It says "Unmount failed" when a mount
        // that a signal already detached ends.)
        if record.target().starts_with("fuser") && log::max_level() < LevelFilter::Debug {
            return;
        }
        let level = match record.level() {
            Level::Error => "error: ",
            Level::Warn => "warning: ",
            _ => "",
        };
        eprintln!("guestwright: {level}{}", record.args());
    }

    fn flush(&self) {}
}

/// Installs the logger; `verbose` counts the `-v` flags.
pub fn init(verbose: u8) {
    static LOGGER: Stderr = Stderr;
    let _ = log::set_logger(&LOGGER);
    log::set_max_level(match verbose {
        0 => LevelFilter::Warn,
        1 => LevelFilter::Debug,
        _ => LevelFilter::Trace,
    });
}
