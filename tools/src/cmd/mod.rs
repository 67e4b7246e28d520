//! The one-shot subcommands, one module each.

pub mod batch;
pub mod cat;
pub mod clone;
pub mod completions;
pub mod copy;
pub mod customize;
pub mod df;
pub mod edit;
pub mod filesystems;
pub mod inspect;
pub mod links;
pub mod ls;
pub mod man;
pub mod sysprep;
pub mod tar;
pub mod write;
