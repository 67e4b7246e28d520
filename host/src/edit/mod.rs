//! Customize and sysprep edit logic: pure functions from a guest file's current contents and a
//! requested change to its new contents.
//!
//! Nothing in this module does I/O, boots a VM or reads the clock: the caller reads each file
//! from the appliance (a missing file is `None`), calls an editor, and writes the result back
//! atomically with the old file's mode, owner and label. Every editor keeps comments, order,
//! blank lines, tabs, CRLF line endings and a missing final newline of the lines it does not
//! change, and is idempotent: applied to its own output it returns the same bytes.
//!
//! | module | customize / sysprep operation |
//! |---|---|
//! | [`hostname`] | `--hostname`: /etc/hostname, /etc/hosts, sysconfig/network, machine-info |
//! | [`password`], [`shadow`] | `--root-password`, `--password`: selectors, SHA-512 crypt, /etc/shadow |
//! | [`users`] | `--user-add`: passwd, shadow, group, gshadow, the home directory to make |
//! | [`ssh`] | `--ssh-inject`: key validation, authorized_keys, modes |
//! | [`network`] | `--network`: style choice and the files of each style |
//! | [`udev`] | `--udev-net`: 70-persistent-net.rules |
//! | [`sysprep`] | sysprep operations table, `--operations`, ifcfg clean-ups |
//! | [`edit_expr`] | `--edit PATH:s/…/…/` |
//! | [`line_expr`] | `edit -e` (virt-edit): the Perl statements its manual shows |
//! | [`diff`] | `--dry-run` unified diffs |
//! | [`timezone`], [`firstboot`] | `--timezone`, `--firstboot*` (virt-customize's layout) |
//! | [`packages`] | `--install`, `--update`, `--uninstall`, `--firstboot-install` commands |
//! | [`sysconfig`] | shell `KEY=value` files, shared by the above |
//!
//! ```
//! use guestwright::edit::hostname::{edit_hostname_file, read_hostname, Hostname};
//!
//! let new = Hostname::parse("web01.example.com")?;
//! let old = b"# written by the installer\ntemplate\n";
//! assert_eq!(read_hostname(old).as_deref(), Some("template"));
//! let edited = edit_hostname_file(Some(old), &new);
//! assert_eq!(read_hostname(&edited).as_deref(), Some("web01.example.com"));
//! assert!(edited.starts_with(b"# written by the installer\n")); // the comment stays
//! // Applied to its own output, an editor changes nothing.
//! assert_eq!(edit_hostname_file(Some(&edited), &new), edited);
//! // Names RFC 1123 forbids are refused before anything is written.
//! assert!(Hostname::parse("-web01").is_err());
//! # Ok::<(), guestwright::edit::hostname::HostnameError>(())
//! ```

pub mod diff;
pub mod edit_expr;
pub mod firstboot;
pub mod hostname;
pub mod line_expr;
pub mod network;
pub mod packages;
pub mod password;
pub mod shadow;
pub mod ssh;
pub mod sysconfig;
pub mod sysprep;
pub(crate) mod text;
pub mod timezone;
pub mod udev;
pub mod users;

/// What to do with one guest file, for editors that decide which files to touch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileEdit {
    /// Absolute path inside the guest.
    pub path: String,
    /// The change.
    pub change: FileChange,
}

/// The change to one guest file.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum FileChange {
    /// Replace (or create) the file with these bytes.
    Write {
        /// The new contents.
        content: Vec<u8>,
        /// `Some(mode)`: the file must have this mode (e.g. 0600 for secrets), new or not.
        /// `None`: keep an existing file's mode; a new file gets 0644.
        mode: Option<u32>,
    },
    /// Make the path a symbolic link to `target` (replacing a file or link already there).
    Symlink {
        /// The link's target, as stored in the link (may be relative).
        target: String,
    },
    /// Remove the file.
    Delete,
}
