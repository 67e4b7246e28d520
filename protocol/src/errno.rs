//! Errors that cross the wire: a symbolic errno plus a message.
//!
//! The errno travels by name ("ENOENT"), not by number, so the meaning survives even if the
//! appliance and the host ever disagree on numbering. Unknown names map to `EIO` on the host.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::io;

macro_rules! errnos {
    ($($name:ident),* $(,)?) => {
        /// The errno values the daemon reports, by name.
        #[allow(clippy::upper_case_acronyms)]
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum Errno {
            $(#[allow(missing_docs)] $name,)*
        }

        impl Errno {
            /// The Linux errno number on this host.
            pub fn raw(self) -> i32 {
                match self {
                    $(Errno::$name => libc_errno::$name,)*
                }
            }

            /// Maps a raw errno number; numbers without a name become `EIO`.
            pub fn from_raw(raw: i32) -> Errno {
                $(if raw == libc_errno::$name { return Errno::$name; })*
                Errno::EIO
            }

            /// The symbolic name, for example `"ENOENT"`.
            pub fn name(self) -> &'static str {
                match self {
                    $(Errno::$name => stringify!($name),)*
                }
            }
        }
    };
}

/// Linux x86-64/aarch64 generic errno numbers (asm-generic/errno-base.h and errno.h).
#[allow(missing_docs)]
mod libc_errno {
    pub const EPERM: i32 = 1;
    pub const ENOENT: i32 = 2;
    pub const ESRCH: i32 = 3;
    pub const EINTR: i32 = 4;
    pub const EIO: i32 = 5;
    pub const ENXIO: i32 = 6;
    pub const E2BIG: i32 = 7;
    pub const ENOEXEC: i32 = 8;
    pub const EBADF: i32 = 9;
    pub const ECHILD: i32 = 10;
    pub const EAGAIN: i32 = 11;
    pub const ENOMEM: i32 = 12;
    pub const EACCES: i32 = 13;
    pub const EFAULT: i32 = 14;
    pub const ENOTBLK: i32 = 15;
    pub const EBUSY: i32 = 16;
    pub const EEXIST: i32 = 17;
    pub const EXDEV: i32 = 18;
    pub const ENODEV: i32 = 19;
    pub const ENOTDIR: i32 = 20;
    pub const EISDIR: i32 = 21;
    pub const EINVAL: i32 = 22;
    pub const ENFILE: i32 = 23;
    pub const EMFILE: i32 = 24;
    pub const ENOTTY: i32 = 25;
    pub const ETXTBSY: i32 = 26;
    pub const EFBIG: i32 = 27;
    pub const ENOSPC: i32 = 28;
    pub const ESPIPE: i32 = 29;
    pub const EROFS: i32 = 30;
    pub const EMLINK: i32 = 31;
    pub const EPIPE: i32 = 32;
    pub const EDOM: i32 = 33;
    pub const ERANGE: i32 = 34;
    pub const EDEADLK: i32 = 35;
    pub const ENAMETOOLONG: i32 = 36;
    pub const ENOLCK: i32 = 37;
    pub const ENOSYS: i32 = 38;
    pub const ENOTEMPTY: i32 = 39;
    pub const ELOOP: i32 = 40;
    pub const ENOMSG: i32 = 42;
    pub const ENODATA: i32 = 61;
    pub const ETIME: i32 = 62;
    pub const EOVERFLOW: i32 = 75;
    pub const EBADMSG: i32 = 74;
    pub const EILSEQ: i32 = 84;
    pub const EUSERS: i32 = 87;
    pub const EOPNOTSUPP: i32 = 95;
    pub const ETIMEDOUT: i32 = 110;
    pub const ESTALE: i32 = 116;
    pub const EUCLEAN: i32 = 117;
    pub const EDQUOT: i32 = 122;
    pub const ECANCELED: i32 = 125;
    pub const EKEYREJECTED: i32 = 129;
}

errnos!(
    EPERM,
    ENOENT,
    ESRCH,
    EINTR,
    EIO,
    ENXIO,
    E2BIG,
    ENOEXEC,
    EBADF,
    ECHILD,
    EAGAIN,
    ENOMEM,
    EACCES,
    EFAULT,
    ENOTBLK,
    EBUSY,
    EEXIST,
    EXDEV,
    ENODEV,
    ENOTDIR,
    EISDIR,
    EINVAL,
    ENFILE,
    EMFILE,
    ENOTTY,
    ETXTBSY,
    EFBIG,
    ENOSPC,
    ESPIPE,
    EROFS,
    EMLINK,
    EPIPE,
    EDOM,
    ERANGE,
    EDEADLK,
    ENAMETOOLONG,
    ENOLCK,
    ENOSYS,
    ENOTEMPTY,
    ELOOP,
    ENOMSG,
    ENODATA,
    ETIME,
    EOVERFLOW,
    EBADMSG,
    EILSEQ,
    EUSERS,
    EOPNOTSUPP,
    ETIMEDOUT,
    ESTALE,
    EUCLEAN,
    EDQUOT,
    ECANCELED,
    EKEYREJECTED,
);

impl fmt::Display for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An operation failed in the daemon: what failed, and the errno it failed with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemoteError {
    /// The errno.
    pub errno: Errno,
    /// What the daemon was doing, with the guest path or device involved.
    pub message: String,
}

impl RemoteError {
    /// Builds an error from an errno and a message.
    pub fn new(errno: Errno, message: impl Into<String>) -> Self {
        RemoteError {
            errno,
            message: message.into(),
        }
    }
}

impl fmt::Display for RemoteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.message, self.errno)
    }
}

impl std::error::Error for RemoteError {}

impl From<&io::Error> for RemoteError {
    fn from(e: &io::Error) -> Self {
        // Made from a RemoteError (an errno with a message of its own): both as they were.
        if let Some(r) = e.get_ref().and_then(|i| i.downcast_ref::<RemoteError>()) {
            return r.clone();
        }
        let errno = match e.raw_os_error() {
            Some(raw) => Errno::from_raw(raw),
            None => kind_errno(e.kind()),
        };
        // Without an OS error the io::Error's own text is the only description there is;
        // with one, the text repeats the errno, so keep only what the daemon added.
        let message = match (e.raw_os_error(), e.get_ref()) {
            (None, Some(inner)) => inner.to_string(),
            (None, None) => e.to_string(),
            (Some(_), _) => io::Error::from_raw_os_error(errno.raw()).to_string(),
        };
        RemoteError { errno, message }
    }
}

/// The errno of an error that carries only a kind (an OS error given context with
/// `io::Error::new(e.kind(), ...)`, or one the daemon made up): every kind that names an
/// errno keeps it, so a FUSE caller gets ENOTDIR or ENOSPC rather than EIO.
fn kind_errno(kind: io::ErrorKind) -> Errno {
    use io::ErrorKind as K;
    match kind {
        K::NotFound => Errno::ENOENT,
        K::PermissionDenied => Errno::EACCES,
        K::AlreadyExists => Errno::EEXIST,
        K::InvalidInput | K::InvalidData => Errno::EINVAL,
        K::TimedOut => Errno::ETIMEDOUT,
        K::Unsupported => Errno::EOPNOTSUPP,
        K::OutOfMemory => Errno::ENOMEM,
        K::Interrupted => Errno::EINTR,
        K::BrokenPipe => Errno::EPIPE,
        K::ResourceBusy => Errno::EBUSY,
        K::WouldBlock => Errno::EAGAIN,
        K::NotADirectory => Errno::ENOTDIR,
        K::IsADirectory => Errno::EISDIR,
        K::DirectoryNotEmpty => Errno::ENOTEMPTY,
        K::ReadOnlyFilesystem => Errno::EROFS,
        K::StaleNetworkFileHandle => Errno::ESTALE,
        K::StorageFull => Errno::ENOSPC,
        K::NotSeekable => Errno::ESPIPE,
        K::QuotaExceeded => Errno::EDQUOT,
        K::FileTooLarge => Errno::EFBIG,
        K::ExecutableFileBusy => Errno::ETXTBSY,
        K::Deadlock => Errno::EDEADLK,
        K::CrossesDevices => Errno::EXDEV,
        K::TooManyLinks => Errno::EMLINK,
        K::InvalidFilename => Errno::ENAMETOOLONG,
        K::ArgumentListTooLong => Errno::E2BIG,
        _ => Errno::EIO,
    }
}

impl From<RemoteError> for io::Error {
    fn from(e: RemoteError) -> Self {
        io::Error::new(io::Error::from_raw_os_error(e.errno.raw()).kind(), e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_numbers_round_trip() {
        for raw in 1..140 {
            let e = Errno::from_raw(raw);
            if e != Errno::EIO {
                assert_eq!(e.raw(), raw);
                assert!(e.name().starts_with('E'));
            }
        }
        assert_eq!(Errno::from_raw(2), Errno::ENOENT);
        assert_eq!(Errno::from_raw(9999), Errno::EIO);
    }

    #[test]
    fn io_errors_keep_their_errno() {
        let e = io::Error::from_raw_os_error(28);
        assert_eq!(RemoteError::from(&e).errno, Errno::ENOSPC);
        let e = io::Error::new(
            io::ErrorKind::InvalidInput,
            "device name must start with /dev/",
        );
        let r = RemoteError::from(&e);
        assert_eq!(r.errno, Errno::EINVAL);
        assert_eq!(r.message, "device name must start with /dev/");
    }

    #[test]
    fn an_os_error_given_context_keeps_its_errno() {
        // What `io::Error::new(e.kind(), format!("{path}: {e}"))` leaves: the kind alone.
        for raw in [
            20, 21, 39, 30, 28, 122, 27, 26, 18, 31, 36, 7, 116, 29, 35, 11, 1, 13, 2, 17,
        ] {
            let os = io::Error::from_raw_os_error(raw);
            let wrapped = io::Error::new(os.kind(), format!("/some/path: {os}"));
            assert_eq!(
                RemoteError::from(&wrapped).errno.raw(),
                // EPERM and EACCES share a kind; the first is the one kept.
                if raw == 1 { 13 } else { raw },
                "{os}"
            );
        }
    }

    #[test]
    fn an_errno_with_its_own_message_survives_io_error() {
        let e = io::Error::from(RemoteError::new(Errno::ELOOP, "/etc/shadow is a link"));
        let r = RemoteError::from(&e);
        assert_eq!(r, RemoteError::new(Errno::ELOOP, "/etc/shadow is a link"));
    }
}
