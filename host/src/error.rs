//! The library's error: a kind callers can match on, with the context (image, operation,
//! guest path) in the variant and the cause as its source. The message of each variant does
//! not repeat its source: front ends print the chain once, joined with ": ".

use crate::drive::DriveError;
use guestwright_protocol::{Errno, RemoteError};
use std::path::PathBuf;
use std::time::Duration;

/// Result with the library's error.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Anything that can go wrong using a [`crate::Handle`].
#[derive(Debug, thiserror::Error)]
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
    #[error("{}", path.display())]
    HostIo {
        /// The host file.
        path: PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },
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

    /// The errno a FUSE reply or a shell exit should carry for this error.
    pub fn as_errno(&self) -> Errno {
        match self {
            Error::Remote { source, .. } => source.errno,
            Error::Timeout { .. } => Errno::ETIMEDOUT,
            Error::NotLaunched | Error::AlreadyLaunched => Errno::EINVAL,
            _ => Errno::EIO,
        }
    }
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
