//! The guestwright daemon: PID 1 of the appliance. See `main.rs`.
