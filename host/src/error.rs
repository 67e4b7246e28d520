//! The library's error: a kind callers can match on, with the context (image, operation,
//! guest path) in the variant and the cause as its source. The message of each variant does
//! not repeat its source: front ends print the chain once, joined with ": ".
//!
//! ```
//! use guestwright::error::chain;
//! use guestwright::protocol::{Errno, RemoteError};
//! use guestwright::Error;
//!
//! // What `h.read_file("/etc/motd")` returns when the guest has no such file.
//! let e = Error::Remote {
//!     operation: "read_file /etc/motd".into(),
//!     source: RemoteError::new(Errno::ENOENT, "/etc/motd: No such file or directory"),
//! };
//! assert_eq!(e.errno(), Some(Errno::ENOENT));
//! assert_eq!(e.as_errno().raw(), 2);
//! assert!(matches!(&e, Error::Remote { source, .. } if source.errno == Errno::ENOENT));
//! println!("{}", chain(&e)); // the operation, then its cause, once
//! // Errors that did not happen in the appliance have no errno of their own...
//! assert_eq!(Error::NotLaunched.errno(), None);
//! // ...but as_errno() still gives the one a FUSE reply or an exit status would carry.
//! assert_eq!(Error::NotLaunched.as_errno(), Errno::EINVAL);
//! // It can cross threads and go into a Box<dyn Error + Send + Sync> (anyhow, ...).
//! fn portable<E: std::error::Error + Send + Sync + 'static>() {}
//! portable::<Error>();
//! ```

use crate::drive::DriveError;
use guestwright_protocol::{Errno, RemoteError};
use std::path::PathBuf;
use std::time::Duration;

/// Result with the library's error.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Anything that can go wrong using a [`crate::Handle`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An operation failed inside the appliance; `errno()` says how.
    #[error("{operation}")]
    Remote {
        /// The operation and its main arguments, e.g. `read_file /etc/hostname`.
        operation: String,
        /// The daemon's errno and message.
        #[source]
        source: RemoteError,
    },
    /// A disk image could not be attached.
    #[error(transparent)]
    Drive(#[from] DriveError),
    /// The appliance could not be started.
    #[error(transparent)]
    Launch(#[from] crate::launch::LaunchError),
    /// A `GUESTWRIGHT_*` environment variable holds a value that cannot be used.
    #[error(transparent)]
    Environment(#[from] crate::launch::EnvError),
    /// The appliance went away during an operation.
    #[error("{operation}: the appliance died ({reason}){}", console_hint(console))]
    ApplianceDied {
        /// What was running.
        operation: String,
        /// What the channel said.
        reason: String,
        /// The last console lines.
        console: String,
    },
    /// The daemon did not answer in time.
    #[error(
        "{operation}: no answer from the appliance for {after:?}{}",
        console_hint(console)
    )]
    Timeout {
        /// What was running.
        operation: String,
        /// How long we waited.
        after: Duration,
        /// The last console lines.
        console: String,
    },
    /// The request or its data could not be passed to the appliance (the channel or the
    /// transfer disk failed; usually the appliance is gone).
    #[error("{operation}: cannot pass the request to the appliance")]
    Channel {
        /// What was running.
        operation: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// Reading or writing the caller's data on the host failed during a transfer.
    #[error("{operation}: the host side of the transfer failed")]
    Transfer {
        /// What was running.
        operation: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The daemon broke the protocol.
    #[error("{operation}: malformed answer from the appliance: {detail}")]
    Protocol {
        /// What was running.
        operation: String,
        /// What was wrong.
        detail: String,
    },
    /// An operation needs the appliance, but it is not running.
    #[error("the appliance is not running: call launch() first")]
    NotLaunched,
    /// Drives can only be added before launch.
    #[error("drives must be added before the appliance is launched")]
    AlreadyLaunched,
    /// A host-side file operation failed.
    #[error("{}", escape_path(path))]
    HostIo {
        /// The host file.
        path: PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// A `--key` cannot be used.
    #[error(transparent)]
    Key(#[from] crate::inspect::keys::KeyError),
    /// Inspection found no single operating system to work on.
    #[error("{detail}")]
    Inspection {
        /// What was found and what to do.
        detail: String,
    },
    /// Shutting the appliance down did not finish cleanly: the images may lack the last
    /// writes.
    #[error(
        "shutting the appliance down failed: {detail}{}",
        console_hint(console)
    )]
    Shutdown {
        /// What went wrong.
        detail: String,
        /// The last console lines.
        console: String,
        /// The host I/O error, when syncing an image failed.
        #[source]
        source: Option<std::io::Error>,
    },
}

fn console_hint(console: &str) -> String {
    if console.trim().is_empty() {
        String::new()
    } else {
        format!("; last appliance console lines:\n{console}")
    }
}

impl Error {
    /// The errno of an operation that failed in the appliance.
    pub fn errno(&self) -> Option<Errno> {
        match self {
            Error::Remote { source, .. } => Some(source.errno),
            _ => None,
        }
    }

    /// The errno a FUSE reply or a shell exit should carry for this error: the daemon's,
    /// or that of a host I/O error, else EIO.
    pub fn as_errno(&self) -> Errno {
        match self {
            Error::Remote { source, .. } => source.errno,
            Error::Transfer { source, .. }
            | Error::Channel { source, .. }
            | Error::HostIo { source, .. } => RemoteError::from(source).errno,
            Error::Timeout { .. } => Errno::ETIMEDOUT,
            Error::NotLaunched | Error::AlreadyLaunched | Error::Environment(_) => Errno::EINVAL,
            _ => Errno::EIO,
        }
    }
}

/// Escapes the control characters of a message (a newline, an escape sequence) as guest
/// names are escaped elsewhere ([`guestwright_protocol::escape_bytes`]), so that a name from
/// the guest cannot split an error over two lines or drive the terminal. Backslashes stay:
/// the text may already hold escaped names.
pub fn escape_controls(text: &str) -> String {
    if !text.chars().any(char::is_control) {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if c.is_control() {
            out.push_str(&guestwright_protocol::escape_bytes(
                c.to_string().as_bytes(),
            ));
        } else {
            out.push(c);
        }
    }
    out
}

/// A host path for a message, escaped like a guest name: a path with a newline or an
/// escape sequence in it stays on one line and cannot drive the terminal.
pub fn escape_path(path: &std::path::Path) -> String {
    use std::os::unix::ffi::OsStrExt;
    guestwright_protocol::escape_bytes(path.as_os_str().as_bytes())
}

/// Formats an error with its causes: `outer: inner: innermost`.
pub fn chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut s = err.to_string();
    let mut cur = err.source();
    while let Some(e) = cur {
        let text = e.to_string();
        if !text.is_empty() && !s.contains(&text) {
            s.push_str(": ");
            s.push_str(&text);
        }
        cur = e.source();
    }
    if let Some(hint) = hint(err) {
        s.push_str(": ");
        s.push_str(hint);
    }
    s
}

/// What to do about an error whose cause the user can fix, found anywhere in its chain.
fn hint(err: &(dyn std::error::Error + 'static)) -> Option<&'static str> {
    let mut cur = Some(err);
    while let Some(e) = cur {
        let errno = e
            .downcast_ref::<RemoteError>()
            .map(|r| r.errno)
            .or_else(|| {
                e.downcast_ref::<std::io::Error>()
                    .and_then(std::io::Error::raw_os_error)
                    .filter(|n| *n == libc::ENOSPC)
                    .map(|_| Errno::ENOSPC)
            });
        if errno == Some(Errno::ENOSPC) {
            return Some(
                "the guest filesystem is full: free space in it (remove files) or give it more \
                 (grow the image with `qemu-img resize`, then its partition and filesystem), \
                 and try again",
            );
        }
        cur = e.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped_and_backslashes_kept() {
        assert_eq!(
            escape_controls("open /etc/a\nb\x1b[2J: gone"),
            "open /etc/a\\nb\\e[2J: gone"
        );
        assert_eq!(
            escape_controls("already \\n escaped"),
            "already \\n escaped"
        );
        assert_eq!(escape_controls("tab\there\r"), "tab\\there\\r");
    }

    #[test]
    fn a_host_path_in_a_message_stays_on_one_line() {
        let e = Error::HostIo {
            path: PathBuf::from("/tmp/two\nlines\x1b[31m"),
            source: std::io::Error::from_raw_os_error(2),
        };
        assert_eq!(e.to_string(), "/tmp/two\\nlines\\e[31m");
        assert_eq!(e.as_errno(), Errno::ENOENT);
    }

    #[test]
    fn host_io_errors_keep_their_errno() {
        let e = Error::Transfer {
            operation: "download /x".into(),
            source: std::io::Error::from_raw_os_error(28),
        };
        assert_eq!(e.as_errno(), Errno::ENOSPC);
        let e = Error::Channel {
            operation: "ping".into(),
            source: std::io::Error::from(std::io::ErrorKind::BrokenPipe),
        };
        assert_eq!(e.as_errno(), Errno::EPIPE);
        let e = Error::Environment(crate::launch::EnvError {
            name: "GUESTWRIGHT_MEMORY",
            value: "x".into(),
            expected: "a number".into(),
        });
        assert_eq!(e.as_errno(), Errno::EINVAL);
    }
}
