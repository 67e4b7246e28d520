//! The subcommands, one module each.

pub mod cat;
pub mod write;
