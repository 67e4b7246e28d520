//! The channel to the host and the operations it serves: the connection loop, the
//! implementation of the protocol's `Daemon` trait, and open file handles. Everything else
//! is called from here; nothing below calls back up.

pub mod conn;
pub mod handles;
mod reuse;
pub mod server;
pub mod workers;
