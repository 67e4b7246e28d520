//! `/init` of the guestwright appliance. All the work is in the library.

fn main() -> std::process::ExitCode {
    guestwright_daemon::main()
}
