//! Logging to the appliance console, which the host keeps in a bounded buffer (and shows with
//! `-v`). Verbose messages are printed only when the host asked for them on the kernel
//! command line (`guestwright.verbose`).

use std::sync::atomic::{AtomicBool, Ordering};

static VERBOSE: AtomicBool = AtomicBool::new(false);

/// Turns verbose messages on or off.
pub fn set_verbose(on: bool) {
    VERBOSE.store(on, Ordering::Relaxed);
}

/// Whether verbose messages are printed.
pub fn verbose() -> bool {
    VERBOSE.load(Ordering::Relaxed)
}

/// Writes one line on the console. Unlike `eprintln!`, a console write that fails (the tty
/// can refuse while the serial port starts up) is ignored: `eprintln!` would panic, and a
/// panic in PID 1 kills the appliance with nothing on the console to say why.
pub fn emit(args: std::fmt::Arguments<'_>) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "guestwright-daemon: {args}");
}

/// Prints a line on the console, always.
macro_rules! info {
    ($($arg:tt)*) => {
        $crate::log::emit(format_args!($($arg)*))
    };
}

/// Prints a line on the console when verbose.
macro_rules! debug {
    ($($arg:tt)*) => {
        if $crate::log::verbose() {
            $crate::log::emit(format_args!($($arg)*))
        }
    };
}
