//! The probes against real images made by the real tools, compared with what `blkid -p`
//! says about the same image, and against truncated, zeroed, random and bit-flipped input.
//!
//! A missing tool fails the test with the Debian package to install; nothing is skipped.

mod fixtures;
mod formats;
mod hostile;
