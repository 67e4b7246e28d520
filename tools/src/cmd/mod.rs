//! The one-shot subcommands, one module each.

pub mod batch;
pub mod cat;
pub mod clone;
pub mod completions;
pub mod copy;
pub mod customize;
pub mod df;
pub mod diff;
pub mod edit;
pub mod filesystems;
pub mod format;
pub mod inspect;
pub mod links;
pub mod ls;
pub mod make_fs;
pub mod man;
pub mod rescue;
pub mod sysprep;
pub mod tar;
pub mod write;
pub mod xpath;
