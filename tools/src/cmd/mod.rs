//! The one-shot subcommands, one module each.

pub mod cat;
pub mod df;
pub mod edit;
pub mod filesystems;
pub mod inspect;
pub mod ls;
pub mod tar;
pub mod write;
