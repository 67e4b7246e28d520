//! The command-line tool's error and its exit codes.
//!
//! Exit codes: 0 success; 1 an operation failed (the message says which and why);
//! 2 bad usage (clap's own code, also for arguments we reject after parsing).
//! Writing to a closed pipe (`guestwright cat ... | head`) is success.

use std::io;
use std::process::ExitCode;

/// Result of a subcommand.
pub type Result<T = ()> = std::result::Result<T, CliError>;

/// Why a subcommand failed.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The library reported an error.
    #[error(transparent)]
    Library(#[from] guestwright::Error),
    /// A host file could not be read or written.
    #[error("{}", guestwright::error::escape_path(path))]
    HostIo {
        /// The file.
        path: std::path::PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// The arguments make no sense together.
    #[error("{0}")]
    Usage(String),
    /// customize, sysprep or clone failed.
    #[error(transparent)]
    Customize(#[from] guestwright::customize::CustomizeError),
    /// copy-in or copy-out failed.
    #[error(transparent)]
    Copy(#[from] guestwright::copy::CopyError),
    /// Finding a libvirt guest's disks (`-d`) failed.
    #[error("{0}")]
    Libvirt(String),
    /// Writing our own output failed.
    #[error("cannot write to standard output")]
    Stdout(#[source] io::Error),
    /// Some jobs of a batch failed (their result lines say why).
    #[error("{0}")]
    Batch(String),
    /// A message worded as the virt tool this command replaces words it (scripts grep for
    /// it), printed as it is.
    #[error("{0}")]
    AsReference(String),
}

/// Wraps a stdout write error.
pub fn stdout(e: io::Error) -> CliError {
    CliError::Stdout(e)
}

impl CliError {
    /// The errors every front end reports the same way: a closed pipe on our output ends
    /// the command quietly (the reader has what it wanted), and a message already worded as
    /// the reference tool words it is printed as it is.
    fn report_unworded(&self) -> Option<ExitCode> {
        match self {
            CliError::Stdout(e) if e.kind() == io::ErrorKind::BrokenPipe => Some(ExitCode::SUCCESS),
            CliError::AsReference(m) => {
                eprintln!("{m}");
                Some(ExitCode::from(1))
            }
            _ => None,
        }
    }

    /// Prints the error as virt-customize and virt-sysprep print theirs (`PROG: error:
    /// MESSAGE`, then how to report a bug) and returns their exit code, 1.
    pub fn report_as_virt(&self, prog: &str) -> ExitCode {
        if let Some(code) = self.report_unworded() {
            return code;
        }
        let message = match self {
            // virt-customize's and virt-sysprep's words for it.
            CliError::Customize(guestwright::customize::CustomizeError::NoOperatingSystem(_)) => {
                "no operating systems were found in the guest image".to_owned()
            }
            e => guestwright::error::chain(e),
        };
        eprintln!(
            "{prog}: error: {message}\n\nIf reporting bugs, run {prog} with debugging enabled \
             and include the complete output:\n\n  {prog} -v -x [...]"
        );
        ExitCode::from(1)
    }

    /// Prints the error (with its causes, once) and returns the exit code.
    pub fn report(&self) -> ExitCode {
        if let Some(code) = self.report_unworded() {
            return code;
        }
        eprintln!("guestwright: {}", guestwright::error::chain(self));
        match self {
            CliError::Usage(_)
            | CliError::Library(guestwright::Error::Environment(_))
            | CliError::Library(guestwright::Error::Key(
                guestwright::inspect::keys::KeyError::Syntax(_),
            )) => ExitCode::from(2),
            CliError::Customize(e) if e.is_usage() => ExitCode::from(2),
            _ => ExitCode::from(1),
        }
    }
}
