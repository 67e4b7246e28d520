//! Drives: the disk images a handle attaches, how their format is decided, what their
//! headers may refer to, and the `-blockdev` description QEMU gets for each.
//!
//! Format probing never happens in QEMU. A qcow2 backing file is followed only when the
//! image records its format, and never for `json:` or protocol names; external data files
//! and VMDK descriptors (whose extents name other files) are refused. A backing file of a
//! format with a header is opened only when its header is of that format. A raw backing
//! file has no header to check, so an untrusted image could name any host file as one: it
//! is followed only when it lies in the directory tree of the image that names it, after
//! resolving symlinks, or under a directory the user allows (`--allow-backing`). Read-only
//! drives sit under a throw-away overlay so their bytes never change.
//!
//! What was checked is what QEMU opens: each file of the chain is opened once, its path
//! taken from that open file (not looked up again), the checks read that open file, and
//! QEMU gets a fresh open of the same inode as a descriptor (`-add-fd`, `/dev/fdset/N`),
//! never a path; every backing node is given explicitly, so QEMU reads no backing name
//! from a header either. A file swapped or replaced by a symlink after the check changes
//! nothing.
//!
//! ```
//! use guestwright::drive::{Drive, DriveOptions, Format};
//!
//! let dir = tempfile::tempdir()?;
//! let path = dir.path().join("disk.img");
//! std::fs::File::create(&path)?.set_len(1 << 20)?;
//! // What `Handle::add_drive` checks, without a handle: the format from the magic bytes, the
//! // chain of backing files, the size.
//! let drive = Drive::open(&path, &DriveOptions::readonly())?;
//! assert_eq!(drive.chain.len(), 1);
//! assert_eq!(drive.chain[0].format, Format::Raw);
//! assert_eq!(drive.virtual_size, 1 << 20);
//! assert!(drive.readonly);
//! // A directory is not an image: an error that says so, not a panic.
//! assert!(Drive::open(dir.path(), &DriveOptions::readonly()).is_err());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod format;
pub mod overlay;
pub mod remote;
pub mod uri;

pub use format::Format;
pub use remote::Remote;

use format::Detected;
use serde_json::{json, Value};
use std::collections::HashSet;
use std::fs::File;
use std::os::fd::AsRawFd;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// How to attach a disk image.
#[derive(Debug, Clone, Default)]
pub struct DriveOptions {
    /// The image format; detected from the magic bytes when `None`.
    pub format: Option<Format>,
    /// Attach read-only: the appliance's writes go to a throw-away overlay and the image's
    /// bytes never change.
    pub readonly: bool,
    /// The sector size the appliance sees (512 or 4096, see [`BLOCK_SIZES`]); 512 when
    /// `None`.
    pub blocksize: Option<u32>,
}

/// The sector sizes a drive can be given (libguestfs's `blocksize`).
pub const BLOCK_SIZES: [u32; 2] = [512, 4096];

impl DriveOptions {
    /// Read-only, format detected: the appliance may write (a journal replay, a test write),
    /// but its writes go to a throw-away overlay and the image's bytes never change.
    pub fn readonly() -> DriveOptions {
        DriveOptions {
            format: None,
            readonly: true,
            blocksize: None,
        }
    }
    /// Read-write, format detected: what the appliance writes reaches the image, durably
    /// once [`Handle::shutdown`](crate::Handle::shutdown) returns `Ok`.
    pub fn readwrite() -> DriveOptions {
        DriveOptions {
            format: None,
            readonly: false,
            blocksize: None,
        }
    }
    /// The same options with the format given (`Some`) or detected again (`None`). A given
    /// format is not second-guessed: the header is read as that format (an image without
    /// that format's header fails to attach; any file opened as raw shows its bytes as
    /// they are). It is the only way to open a block device as anything but raw.
    pub fn with_format(mut self, format: Option<Format>) -> DriveOptions {
        self.format = format;
        self
    }
}

/// Why a drive cannot be attached.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DriveError {
    /// The image cannot be opened.
    #[error("cannot open disk image {}", path.display())]
    Open {
        /// The image.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// `/dev/null` (an empty drive) with a format other than raw.
    #[error("for device \u{2018}/dev/null\u{2019}, format must be \u{2018}raw\u{2019}")]
    DevNullFormat,
    /// A sector size other than 512 or 4096 (libguestfs's words).
    #[error("blocksize parameter is invalid")]
    BlockSize,
    /// The image is a directory or a device we do not attach.
    #[error("{} is not a disk image file (it is a {kind})", path.display())]
    NotAFile {
        /// The path.
        path: PathBuf,
        /// What it is.
        kind: &'static str,
    },
    /// The header cannot be read.
    #[error("cannot read the {format} header of {}", path.display())]
    Header {
        /// The image.
        path: PathBuf,
        /// Its format.
        format: Format,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A VMDK descriptor file: its extents name other files.
    #[error("{} is a VMDK descriptor that refers to other files: convert it with `qemu-img convert -O qcow2 {} out.qcow2` and open the result", path.display(), path.display())]
    VmdkDescriptor {
        /// The image.
        path: PathBuf,
    },
    /// Several formats match: a polyglot image.
    #[error("{} looks like several formats at once ({}); refusing to guess: pass --format if you know which it is", path.display(), formats.join(", "))]
    Ambiguous {
        /// The image.
        path: PathBuf,
        /// What matched.
        formats: Vec<&'static str>,
    },
    /// A qcow2 image with an external data file.
    #[error("{} stores its data in an external file; guestwright refuses images that refer to other host files this way", path.display())]
    DataFile {
        /// The image.
        path: PathBuf,
    },
    /// An encrypted qcow2 image.
    #[error("{} is an encrypted qcow2 image, which guestwright does not open", path.display())]
    Encrypted {
        /// The image.
        path: PathBuf,
    },
    /// The backing file name is a protocol or json: name.
    #[error("{} has backing file '{backing}', which is not a plain file name; refusing to follow it", path.display())]
    BackingNotAFile {
        /// The image.
        path: PathBuf,
        /// The backing name, escaped.
        backing: String,
    },
    /// No backing format recorded.
    #[error("{} has backing file '{backing}' but no recorded backing format, and guestwright never guesses formats: run `qemu-img rebase -u -F raw|qcow2 -b '{backing}' {}` to record it", path.display(), path.display())]
    BackingWithoutFormat {
        /// The image.
        path: PathBuf,
        /// The backing name, escaped.
        backing: String,
    },
    /// A backing format guestwright does not know.
    #[error("{} has a backing file of format '{format}'; only raw, qcow2, vmdk, vdi, vhdx and vpc backing files are followed", path.display())]
    BackingFormat {
        /// The image.
        path: PathBuf,
        /// The recorded format.
        format: String,
    },
    /// A loop in the backing chain.
    #[error("the backing chain of {} loops back to {}", path.display(), repeated.display())]
    BackingLoop {
        /// The image.
        path: PathBuf,
        /// The file met twice.
        repeated: PathBuf,
    },
    /// A backing file whose header is not of the format the image records for it.
    #[error("refusing the backing chain {chain}: {} is recorded as a {declared} image but {found}; only a backing file whose header checks out is opened", escape_path(backing))]
    BackingHeader {
        /// The chain up to and including the backing file.
        chain: String,
        /// The backing file.
        backing: PathBuf,
        /// The format the image records.
        declared: Format,
        /// What its header says instead.
        found: String,
    },
    /// A raw backing file (no header to check) outside the naming image's directory tree
    /// and outside every allowed directory.
    #[error("{0}")]
    RawBackingOutside(Box<Outside>),
    /// An `--allow-backing` directory that cannot be resolved.
    #[error("the allowed backing directory {} cannot be used (--allow-backing or GUESTWRIGHT_ALLOW_BACKING)", escape_path(path))]
    AllowedDir {
        /// The directory as given.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A virtual size no disk has: a damaged or hostile header.
    #[error("{} claims a virtual size of {} ({size} bytes), more than the {} guestwright opens: its header is damaged or was made to mislead", path.display(), human(*size), human(MAX_VIRTUAL_SIZE))]
    TooLarge {
        /// The image.
        path: PathBuf,
        /// The size its header claims.
        size: u64,
    },
    /// Too many backing levels.
    #[error("the backing chain of {} is deeper than {MAX_CHAIN} levels", path.display())]
    ChainTooDeep {
        /// The image.
        path: PathBuf,
    },
    /// A block device the user may not open.
    #[error("permission denied opening the block device {}{}: run as root, or give your user access to it{} (log in again afterwards)", escape_path(path), group.as_ref().map(|g| format!(" (owned by group '{g}')")).unwrap_or_default(), group.as_ref().map(|g| format!(" with `sudo usermod -aG {g} $USER`")).unwrap_or_default())]
    DeviceDenied {
        /// The device.
        path: PathBuf,
        /// The group that owns it (`disk` on Debian).
        group: Option<String>,
    },
    /// A remote drive that cannot be opened as named (checked at launch).
    #[error(transparent)]
    Uri(#[from] remote::RemoteError),
    /// A drive name that is not a URI the library reads (see [`uri::parse_drive`]).
    #[error(transparent)]
    Name(#[from] uri::UriError),
    /// A remote drive libguestfs's `add_drive` refuses (its message).
    #[error(transparent)]
    Spec(#[from] uri::SpecError),
    /// A remote drive that cannot be reached or read.
    #[error("cannot open the remote drive {uri}: {why}")]
    Remote {
        /// The drive.
        uri: String,
        /// What went wrong and what to do.
        why: String,
    },
    /// A remote drive whose format refers to other images or files.
    #[error("refusing the remote drive {uri}: {why}; a remote image must not make QEMU open other files (convert it to one self-contained image)")]
    RemoteRefers {
        /// The drive.
        uri: String,
        /// What it refers to.
        why: String,
    },
}

/// A raw backing file found outside the places where one is followed.
#[derive(Debug)]
pub struct Outside {
    /// The whole chain, each file with its format.
    pub chain: String,
    /// The raw backing file, symlinks resolved.
    pub backing: PathBuf,
    /// The image that names it.
    pub image: PathBuf,
    /// That image's directory, symlinks resolved.
    pub dir: PathBuf,
    /// The directory to allow.
    pub suggest: PathBuf,
}

impl std::fmt::Display for Outside {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let suggest = escape_path(&self.suggest);
        write!(
            f,
            "refusing the backing chain {}: the raw backing file {} is not inside {}, the \
             directory of {}, and a raw file has no header to check, so an image can name any \
             host file this way; if you trust this chain, allow its directory with \
             --allow-backing {suggest} (or GUESTWRIGHT_ALLOW_BACKING={suggest})",
            self.chain,
            escape_path(&self.backing),
            escape_path(&self.dir),
            escape_path(&self.image),
        )
    }
}

/// Images claiming a larger virtual size are refused (64 PiB; QEMU's qcow2 stops at a few
/// PiB with 64 KiB clusters).
pub const MAX_VIRTUAL_SIZE: u64 = 1 << 56;

/// A size in binary units: `1 EiB`, `1.5 TiB`.
fn human(size: u64) -> String {
    const UNITS: [&str; 7] = ["bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    let mut unit = 0;
    let mut value = size as f64;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if value.fract() == 0.0 {
        format!("{value} {}", UNITS[unit])
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// Backing chains longer than this are refused.
pub const MAX_CHAIN: usize = 16;

/// One file of a drive's chain: the image itself, then its backing files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layer {
    /// Absolute path.
    pub path: PathBuf,
    /// Its format.
    pub format: Format,
}

/// A drive whose format and backing chain have been checked.
#[derive(Debug, Clone)]
pub struct Drive {
    /// The image first, then each backing file.
    pub chain: Vec<Layer>,
    /// Whether the appliance may change the image.
    pub readonly: bool,
    /// The sector size the appliance sees, when not 512.
    pub blocksize: Option<u32>,
    /// The disk size the guest sees.
    pub virtual_size: u64,
    /// The format the caller gave (`None` when it was detected).
    pub requested_format: Option<Format>,
    /// Each file of `chain`, as it was opened to be checked.
    files: Vec<Arc<File>>,
    /// A drive on the network: `chain` then holds one layer named by its URI and no file.
    remote: Option<Remote>,
    /// A drive on the network recorded but not yet connected ([`Drive::pending_remote`]):
    /// `chain` holds one layer named by it, and the size is 0 until [`Drive::connect`].
    pending: Option<uri::RemoteSpec>,
}

/// Refuses a sector size QEMU's disks do not take as libguestfs does.
fn check_blocksize(options: &DriveOptions) -> Result<(), DriveError> {
    match options.blocksize {
        Some(b) if !BLOCK_SIZES.contains(&b) => Err(DriveError::BlockSize),
        _ => Ok(()),
    }
}

/// The path an open file was reached by, symlinks resolved, from the kernel: the name of
/// the file that was opened, which a later lookup of the name it was opened by may not be.
fn opened_path(file: &File, opened_as: &Path) -> Result<PathBuf, DriveError> {
    std::fs::read_link(format!("/proc/self/fd/{}", file.as_raw_fd())).map_err(|source| {
        DriveError::Open {
            path: opened_as.to_path_buf(),
            source,
        }
    })
}

/// A new open file description of the same inode as `file` (through /proc/self/fd, never
/// by a name): QEMU's lock on it lasts as long as QEMU holds it.
fn reopen(file: &File, path: &Path, writable: bool) -> Result<File, DriveError> {
    File::options()
        .read(true)
        .write(writable)
        .open(format!("/proc/self/fd/{}", file.as_raw_fd()))
        .map_err(|source| open_error(path, source))
}

/// An open that failed; for a block device the user may not open, the message names the
/// device and the group that gives access.
fn open_error(path: &Path, source: std::io::Error) -> DriveError {
    use std::os::unix::fs::FileTypeExt;
    if source.kind() == std::io::ErrorKind::PermissionDenied {
        if let Ok(meta) = std::fs::metadata(path) {
            if meta.file_type().is_block_device() {
                return DriveError::DeviceDenied {
                    path: path.to_path_buf(),
                    group: group_name(meta.gid()),
                };
            }
        }
    }
    DriveError::Open {
        path: path.to_path_buf(),
        source,
    }
}

/// The name of group `gid` from /etc/group.
fn group_name(gid: u32) -> Option<String> {
    let groups = std::fs::read_to_string("/etc/group").ok()?;
    groups.lines().find_map(|l| {
        let mut f = l.split(':');
        let name = f.next()?;
        f.next()?;
        (f.next()?.parse::<u32>().ok()? == gid).then(|| name.to_string())
    })
}

/// True for a block device (an LV, a loop device, a whole disk).
fn is_block_device(file: &File) -> bool {
    use std::os::unix::fs::FileTypeExt;
    file.metadata()
        .is_ok_and(|m| m.file_type().is_block_device())
}

fn open_image(path: &Path) -> Result<File, DriveError> {
    let file = File::open(path).map_err(|source| open_error(path, source))?;
    let meta = file.metadata().map_err(|source| DriveError::Open {
        path: path.to_path_buf(),
        source,
    })?;
    let ft = meta.file_type();
    use std::os::unix::fs::FileTypeExt;
    let kind = if ft.is_dir() {
        "directory"
    } else if ft.is_fifo() {
        "FIFO"
    } else if ft.is_socket() {
        "socket"
    } else if ft.is_char_device() {
        "character device"
    } else {
        ""
    };
    if !kind.is_empty() {
        return Err(DriveError::NotAFile {
            path: path.to_path_buf(),
            kind,
        });
    }
    Ok(file)
}

impl Drive {
    /// Checks an image and its backing chain; raw backing files are followed only inside
    /// the directory tree of the image that names them.
    pub fn open(path: &Path, options: &DriveOptions) -> Result<Drive, DriveError> {
        Drive::open_allowing(path, options, &[])
    }

    /// Checks an image and its backing chain; raw backing files are followed inside the
    /// directory tree of the image that names them, and under the directories in `allowed`.
    pub fn open_allowing(
        path: &Path,
        options: &DriveOptions,
        allowed: &[PathBuf],
    ) -> Result<Drive, DriveError> {
        check_blocksize(options)?;
        let allowed = allowed
            .iter()
            .map(|d| {
                std::fs::canonicalize(d).map_err(|source| DriveError::AllowedDir {
                    path: d.clone(),
                    source,
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let path = std::path::absolute(path).map_err(|source| DriveError::Open {
            path: path.to_path_buf(),
            source,
        })?;
        let mut file = open_image(&path)?;
        let format = match options.format {
            Some(f) => f,
            // A block device's first bytes are whatever the guest wrote there (a guest
            // may have written a qcow2 header into its own disk): never guessed.
            None if is_block_device(&file) => {
                log::info!(
                    "{}: a block device without --format: opened as raw (never guessed)",
                    escape_path(&path)
                );
                Format::Raw
            }
            None => match format::detect(&mut file).map_err(|source| DriveError::Open {
                path: path.clone(),
                source,
            })? {
                Detected::Format(f) => f,
                Detected::VmdkDescriptor => return Err(DriveError::VmdkDescriptor { path }),
                Detected::Ambiguous(formats) => {
                    return Err(DriveError::Ambiguous { path, formats })
                }
            },
        };
        let header_err = |source| DriveError::Header {
            path: path.clone(),
            format,
            source,
        };
        let virtual_size = format::virtual_size(&mut file, format).map_err(header_err)?;
        if virtual_size > MAX_VIRTUAL_SIZE {
            return Err(DriveError::TooLarge {
                path,
                size: virtual_size,
            });
        }
        check_extents(&mut file, &path, format)?;
        let mut chain = vec![Layer {
            path: path.clone(),
            format,
        }];
        let mut seen = HashSet::new();
        let meta = file.metadata().map_err(|source| DriveError::Open {
            path: path.clone(),
            source,
        })?;
        seen.insert((meta.dev(), meta.ino()));
        let mut files = vec![Arc::new(file.try_clone().map_err(|source| {
            DriveError::Open {
                path: path.clone(),
                source,
            }
        })?)];
        let (mut current, mut current_file, mut current_format) = (path.clone(), file, format);
        while current_format == Format::Qcow2 {
            let refs =
                format::qcow2_refs(&mut current_file).map_err(|source| DriveError::Header {
                    path: current.clone(),
                    format: Format::Qcow2,
                    source,
                })?;
            if refs.data_file {
                return Err(DriveError::DataFile { path: current });
            }
            if refs.encrypted {
                return Err(DriveError::Encrypted { path: current });
            }
            let Some(name) = refs.backing_file else { break };
            let backing = guestwright_protocol::escape_bytes(&name);
            if !is_plain_file_name(&name) {
                return Err(DriveError::BackingNotAFile {
                    path: current,
                    backing,
                });
            }
            let backing_format = match refs.backing_format.as_deref() {
                None | Some("") => {
                    return Err(DriveError::BackingWithoutFormat {
                        path: current,
                        backing,
                    })
                }
                Some(name) => match backing_format(name) {
                    Some(f) => f,
                    None => {
                        return Err(DriveError::BackingFormat {
                            path: current,
                            format: name.to_string(),
                        })
                    }
                },
            };
            if chain.len() > MAX_CHAIN {
                return Err(DriveError::ChainTooDeep { path });
            }
            let name = Path::new(std::ffi::OsStr::from_bytes(&name));
            let next = if name.is_absolute() {
                name.to_path_buf()
            } else if chain.len() == 1 {
                // The image's own relative backing name is beside the file itself, not
                // beside a symlink to it (libguestfs hands QEMU the image's realpath):
                // the directory of the inode opened, not of the name given.
                let real = opened_path(&current_file, &current)?;
                real.parent().unwrap_or(Path::new("/")).join(name)
            } else {
                current.parent().unwrap_or(Path::new("/")).join(name)
            };
            let mut next_file = open_image(&next)?;
            let meta = next_file.metadata().map_err(|source| DriveError::Open {
                path: next.clone(),
                source,
            })?;
            if !seen.insert((meta.dev(), meta.ino())) {
                return Err(DriveError::BackingLoop {
                    path,
                    repeated: next,
                });
            }
            // The name of the file opened, which is checked and which QEMU gets as a
            // descriptor: a lookup of `next` now could find another file.
            let resolved = opened_path(&next_file, &next)?;
            let with_next = |layers: &[Layer]| {
                describe(
                    layers
                        .iter()
                        .map(|l| (l.path.as_path(), l.format))
                        .chain([(resolved.as_path(), backing_format)]),
                )
            };
            if backing_format == Format::Raw {
                let dir = current.parent().unwrap_or(Path::new("/"));
                let dir = std::fs::canonicalize(dir).map_err(|source| DriveError::Open {
                    path: dir.to_path_buf(),
                    source,
                })?;
                if !resolved.starts_with(&dir) && !allowed.iter().any(|a| resolved.starts_with(a)) {
                    return Err(DriveError::RawBackingOutside(Box::new(Outside {
                        chain: with_next(&chain),
                        suggest: resolved.parent().unwrap_or(Path::new("/")).to_path_buf(),
                        backing: resolved,
                        image: current,
                        dir,
                    })));
                }
            } else {
                let found =
                    match format::detect(&mut next_file).map_err(|source| DriveError::Open {
                        path: next.clone(),
                        source,
                    })? {
                        Detected::Format(f) if f == backing_format => None,
                        Detected::Format(Format::Raw) => {
                            Some(format!("it has no {backing_format} header"))
                        }
                        Detected::Format(f) => Some(format!("its header is {f}")),
                        Detected::VmdkDescriptor => {
                            Some("it is a VMDK descriptor that names other files".to_string())
                        }
                        Detected::Ambiguous(formats) => Some(format!(
                            "its header looks like several formats at once ({})",
                            formats.join(", ")
                        )),
                    };
                if let Some(found) = found {
                    return Err(DriveError::BackingHeader {
                        chain: with_next(&chain),
                        backing: resolved,
                        declared: backing_format,
                        found,
                    });
                }
                check_extents(&mut next_file, &resolved, backing_format)?;
            }
            chain.push(Layer {
                path: resolved.clone(),
                format: backing_format,
            });
            files.push(Arc::new(next_file.try_clone().map_err(|source| {
                DriveError::Open {
                    path: resolved.clone(),
                    source,
                }
            })?));
            (current, current_file, current_format) = (resolved, next_file, backing_format);
        }
        Ok(Drive {
            chain,
            readonly: options.readonly,
            blocksize: options.blocksize,
            virtual_size,
            requested_format: options.format,
            files,
            remote: None,
            pending: None,
        })
    }

    /// The network drive, if this is one.
    pub fn remote(&self) -> Option<&Remote> {
        self.remote.as_ref()
    }

    /// The chain as `top.qcow2 (qcow2) -> base.raw (raw)`, names escaped.
    pub fn describe_chain(&self) -> String {
        describe(self.chain.iter().map(|l| (l.path.as_path(), l.format)))
    }

    /// The image file itself.
    pub fn path(&self) -> &Path {
        &self.chain[0].path
    }

    /// The `-blockdev` JSON for this drive, as node `node` over `overlay` when read-only.
    /// Every node names its driver; every chain ends in `backing: null`. Each file of the
    /// chain is opened anew (the same inode as when checked) and pushed onto `passed`, with
    /// its path, the descriptors QEMU inherits; the JSON names it `qemu::fdset_name(its
    /// index)`.
    pub fn blockdev(
        &self,
        node: &str,
        overlay: Option<&Path>,
        passed: &mut Vec<(File, PathBuf)>,
    ) -> Result<Value, DriveError> {
        let mut below = Value::Null;
        if let Some(remote) = &self.remote {
            let format = self.chain[0].format;
            let mut fmt = json!({
                "driver": format.driver(),
                "read-only": self.readonly,
                "file": remote.protocol_node(self.readonly),
            });
            if format == Format::Qcow2 {
                // Never a backing file named by the remote header.
                fmt["backing"] = Value::Null;
            }
            below = fmt;
        }
        for (depth, layer) in self.chain.iter().enumerate().rev() {
            if self.remote.is_some() {
                break;
            }
            let readonly = self.readonly || depth > 0;
            let name = crate::qemu::fdset_name(passed.len());
            let fd = reopen(&self.files[depth], &layer.path, !readonly)?;
            passed.push((fd, layer.path.clone()));
            // Locking on, not QEMU's "auto": a second writer of the image (or of a backing
            // file this chain reads) must be refused, never silently let in.
            let mut file = json!({
                "driver": if is_block_device(&self.files[depth]) { "host_device" } else { "file" },
                "filename": name,
                "aio": "threads",
                "locking": "on",
            });
            let mut fmt = json!({
                "driver": layer.format.driver(),
                "read-only": readonly,
                "discard": "unmap",
            });
            if readonly {
                file["read-only"] = json!(true);
            }
            if self.readonly {
                // Another process may hold the image open for writing (a running VM); a
                // read-only look must still work, as with `qemu-img info -U`. Not for the
                // backing files of a writable drive: they keep their lock, so nobody writes
                // a template under a clone that is being written.
                file["force-share"] = json!(true);
                fmt["force-share"] = json!(true);
            }
            fmt["file"] = file;
            if matches!(layer.format, Format::Qcow2 | Format::Vmdk) {
                fmt["backing"] = below;
            }
            below = fmt;
        }
        Ok(match overlay {
            Some(overlay) if self.readonly => json!({
                "driver": "qcow2",
                "node-name": node,
                "discard": "unmap",
                "file": { "driver": "file", "filename": overlay.to_string_lossy(), "aio": "threads", "locking": "on" },
                "backing": below,
            }),
            _ => {
                below["node-name"] = json!(node);
                below
            }
        })
    }
}

impl Drive {
    /// Checks a drive on the network: its size, and for a format with a header, that the
    /// header is of that format and refers to nothing outside itself (no backing file, no
    /// external data file, no VMDK extents). The format is `--format`'s, or raw: a remote
    /// image's format is never guessed. `qemu-img` reads the size and the header through
    /// the same typed `-blockdev` QEMU gets.
    pub fn open_remote(remote: Remote, options: &DriveOptions) -> Result<Drive, DriveError> {
        check_blocksize(options)?;
        let uri = remote.describe();
        remote::check_ssh_host_key_env()?;
        if !options.readonly && !remote.writable() {
            return Err(DriveError::Remote {
                uri,
                why: "http and https drives are read-only: open them with --ro (add-ro in the \
                      shell)"
                    .into(),
            });
        }
        let format = match options.format {
            Some(Format::Vmdk) => {
                return Err(DriveError::RemoteRefers {
                    uri,
                    why: "a VMDK may name other files as extents".into(),
                })
            }
            Some(f) => f,
            None => {
                log::info!("{uri}: a remote drive without --format: opened as raw (never guessed)");
                Format::Raw
            }
        };
        let raw = json!({ "driver": "raw", "read-only": true, "file": remote.protocol_node(true) });
        let virtual_size = if format == Format::Raw {
            let out = qemu_img(&uri, &remote, &["info", "--output=json"], &raw, &[])?;
            let info: Value = serde_json::from_slice(&out).map_err(|e| DriveError::Remote {
                uri: uri.clone(),
                why: format!("qemu-img info printed something unexpected: {e}"),
            })?;
            info["virtual-size"]
                .as_u64()
                .ok_or_else(|| DriveError::Remote {
                    uri: uri.clone(),
                    why: "qemu-img info gave no size".into(),
                })?
        } else {
            let dir = tempfile::tempdir().map_err(|source| DriveError::Open {
                path: std::env::temp_dir(),
                source,
            })?;
            let header = dir.path().join("header");
            let of = format!("of={}", header.display());
            qemu_img(
                &uri,
                &remote,
                &["dd", "-O", "raw", "bs=65536", "count=1", &of],
                &raw,
                &[],
            )?;
            let mut file = File::open(&header).map_err(|source| DriveError::Open {
                path: header.clone(),
                source,
            })?;
            let refused = |why: String| DriveError::RemoteRefers {
                uri: uri.clone(),
                why,
            };
            let io =
                |e: std::io::Error| refused(format!("its {format} header cannot be read ({e})"));
            match format::detect(&mut file).map_err(io)? {
                Detected::Format(f) if f == format => {}
                Detected::Format(Format::Raw) => {
                    return Err(refused(format!("it has no {format} header")))
                }
                Detected::Format(f) => {
                    return Err(refused(format!("its header is {f}, not {format}")))
                }
                Detected::VmdkDescriptor => {
                    return Err(refused(
                        "it is a VMDK descriptor that names other files".into(),
                    ))
                }
                Detected::Ambiguous(f) => {
                    return Err(refused(format!(
                        "it looks like several formats ({})",
                        f.join(", ")
                    )))
                }
            }
            if format == Format::Qcow2 {
                let refs = format::qcow2_refs(&mut file).map_err(io)?;
                if let Some(b) = refs.backing_file {
                    return Err(refused(format!(
                        "it names the backing file '{}'",
                        guestwright_protocol::escape_bytes(&b)
                    )));
                }
                if refs.data_file {
                    return Err(refused("it stores its data in an external file".into()));
                }
                if refs.encrypted {
                    return Err(refused("it is encrypted".into()));
                }
            }
            let size = format::virtual_size(&mut file, format).map_err(io)?;
            if size > MAX_VIRTUAL_SIZE {
                return Err(refused(format!(
                    "it claims a virtual size of {}",
                    human(size)
                )));
            }
            size
        };
        Ok(Drive {
            chain: vec![Layer {
                path: PathBuf::from(&uri),
                format,
            }],
            readonly: options.readonly,
            blocksize: options.blocksize,
            virtual_size,
            requested_format: options.format,
            files: Vec::new(),
            remote: Some(remote),
            pending: None,
        })
    }

    /// A drive on the network as libguestfs's `add_drive` records it: its parts checked as
    /// libguestfs checks them, nothing opened or connected. [`Drive::connect`] opens it (at
    /// launch); until then its size is 0.
    pub fn pending_remote(
        spec: uri::RemoteSpec,
        options: &DriveOptions,
    ) -> Result<Drive, DriveError> {
        check_blocksize(options)?;
        spec.check()?;
        Ok(Drive {
            chain: vec![Layer {
                path: PathBuf::from(spec.describe()),
                format: options.format.unwrap_or(Format::Raw),
            }],
            readonly: options.readonly,
            blocksize: options.blocksize,
            virtual_size: 0,
            requested_format: options.format,
            files: Vec::new(),
            remote: None,
            pending: Some(spec),
        })
    }

    /// True for a drive recorded by [`Drive::pending_remote`] and not yet connected.
    pub fn is_pending(&self) -> bool {
        self.pending.is_some()
    }

    /// Opens a drive recorded by [`Drive::pending_remote`] as [`Drive::open_remote`] does
    /// (a protocol guestwright has no driver for fails here, saying what to do instead); any
    /// other drive is returned as it is.
    pub fn connect(&self) -> Result<Drive, DriveError> {
        match &self.pending {
            None => Ok(self.clone()),
            Some(spec) => Drive::open_remote(
                Remote::from_spec(spec)?,
                &DriveOptions {
                    format: self.requested_format,
                    readonly: self.readonly,
                    blocksize: self.blocksize,
                },
            ),
        }
    }
}

/// Runs `qemu-img SUBCOMMAND ... json:NODE`: the node is our own serialization of typed
/// fields, so nothing of the user's text is parsed as options. Its stdout, or a message
/// saying what to do.
fn qemu_img(
    uri: &str,
    remote: &Remote,
    args: &[&str],
    node: &Value,
    after: &[&str],
) -> Result<Vec<u8>, DriveError> {
    let image = format!("json:{node}");
    let mut cmd = std::process::Command::new("qemu-img");
    cmd.args(&args[..1]);
    if args[0] == "dd" {
        cmd.arg(format!("if={image}")).args(&args[1..]);
    } else {
        cmd.args(&args[1..]).arg(&image);
    }
    cmd.args(after).stdin(std::process::Stdio::null());
    let out = cmd.output().map_err(|e| DriveError::Remote {
        uri: uri.to_string(),
        why: format!("cannot run qemu-img ({e}): install qemu-utils"),
    })?;
    if out.status.success() {
        return Ok(out.stdout);
    }
    let stderr = String::from_utf8_lossy(&out.stderr).trim().to_string();
    let stderr = stderr.strip_prefix("qemu-img: ").unwrap_or(&stderr);
    let hint = if stderr.contains("Unknown driver") || stderr.contains("Unknown protocol") {
        "; QEMU's network drivers are in the qemu-block-extra package: apt-get install qemu-block-extra".to_string()
    } else if matches!(
        remote,
        Remote::Http {
            https: true,
            sslverify: true,
            ..
        }
    ) && stderr.contains("certificate")
    {
        "; this host does not trust the server's TLS certificate: add the CA that signed it \
         to the system's store (update-ca-certificates), or, if you trust the server, add \
         ?sslverify=false to the URI"
            .to_string()
    } else if let Remote::Ssh {
        host, port, user, ..
    } = remote
    {
        if stderr.contains("host key")
            || stderr.contains("known_hosts")
            || stderr.contains("no host key")
        {
            format!(
                "; the server's host key must be known: connect once with `ssh{} {}{host}` \
                 to check and record it in ~/.ssh/known_hosts, or pin it with {}=SHA256:... \
                 (as `ssh-keygen -l` prints it)",
                port.map(|p| format!(" -p {p}")).unwrap_or_default(),
                user.as_ref().map(|u| format!("{u}@")).unwrap_or_default(),
                remote::SSH_HOST_KEY_ENV
            )
        } else if stderr.contains("authenticat") {
            "; guestwright logs in with the ssh-agent's keys (SSH_AUTH_SOCK) or ~/.ssh/id_*"
                .to_string()
        } else {
            String::new()
        }
    } else {
        String::new()
    };
    Err(DriveError::Remote {
        uri: uri.to_string(),
        why: format!(
            "{}{hint}",
            guestwright_protocol::escape_bytes(stderr.as_bytes())
        ),
    })
}

/// The formats a qcow2 image may record for its backing file, by QEMU's driver name.
fn backing_format(name: &str) -> Option<Format> {
    Some(match name {
        "raw" => Format::Raw,
        "qcow2" => Format::Qcow2,
        "vmdk" => Format::Vmdk,
        "vdi" => Format::Vdi,
        "vhdx" => Format::Vhdx,
        "vpc" => Format::Vpc,
        _ => return None,
    })
}

/// Refuses a VMDK whose sparse header hands QEMU an embedded descriptor: QEMU then opens
/// the extents that descriptor names, which can be any host file.
fn check_extents(file: &mut File, path: &Path, format: Format) -> Result<(), DriveError> {
    if format != Format::Vmdk {
        return Ok(());
    }
    let refers = format::vmdk_names_extents(file).map_err(|source| DriveError::Header {
        path: path.to_path_buf(),
        format,
        source,
    })?;
    if refers {
        return Err(DriveError::VmdkDescriptor {
            path: path.to_path_buf(),
        });
    }
    Ok(())
}

/// A path for a message: escaped like guest names, so a newline cannot split the line.
fn escape_path(p: &Path) -> String {
    guestwright_protocol::escape_bytes(p.as_os_str().as_bytes())
}

/// `a (qcow2) -> b (raw)`.
fn describe<'a>(layers: impl Iterator<Item = (&'a Path, Format)>) -> String {
    layers
        .map(|(p, f)| format!("{} ({f})", escape_path(p)))
        .collect::<Vec<_>>()
        .join(" -> ")
}

/// A backing name QEMU would treat as a plain file: not `json:...`, not `proto:...`.
fn is_plain_file_name(name: &[u8]) -> bool {
    if name.is_empty() || name.contains(&0) {
        return false;
    }
    // QEMU treats "word:" before any slash as a protocol prefix.
    let before_slash = name.split(|&b| b == b'/').next().unwrap_or(&[]);
    !before_slash.contains(&b':')
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    fn qemu_img(args: &[&str]) {
        let out = Command::new("qemu-img")
            .args(args)
            .output()
            .expect("qemu-img is needed: apt-get install qemu-utils");
        assert!(
            out.status.success(),
            "qemu-img {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Writes a qcow2 whose backing name is `name` (any bytes) and backing format `fmt`.
    fn qcow2_with_backing(path: &Path, name: &str, fmt: Option<&str>) {
        let dummy = path.with_extension("dummy");
        qemu_img(&["create", "-q", "-f", "raw", dummy.to_str().unwrap(), "1M"]);
        let mut args = vec!["create", "-q", "-f", "qcow2", "-u", "-b", name];
        if let Some(f) = fmt {
            args.extend(["-F", f]);
        }
        args.extend([path.to_str().unwrap(), "1M"]);
        // qemu-img refuses -b without -F; write the format-less header by editing one.
        if fmt.is_none() {
            qemu_img(&[
                "create",
                "-q",
                "-f",
                "qcow2",
                "-u",
                "-b",
                name,
                "-F",
                "raw",
                path.to_str().unwrap(),
                "1M",
            ]);
            let mut bytes = std::fs::read(path).unwrap();
            let pos = bytes
                .windows(4)
                .position(|w| w == [0xe2, 0x79, 0x2a, 0xca])
                .expect("format extension");
            bytes[pos..pos + 4].copy_from_slice(&[0x12, 0x34, 0x56, 0x78]);
            std::fs::write(path, bytes).unwrap();
        } else {
            qemu_img(&args);
        }
    }

    #[test]
    fn relative_backing_of_an_image_opened_through_a_symlink_is_beside_the_image() {
        // libguestfs's test-relative-paths.sh link13: link13 -> dir1/overlay13, whose
        // backing file is `backing13`, in dir1 (QEMU would look beside the link).
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("dir1");
        std::fs::create_dir(&sub).unwrap();
        let backing = sub.join("backing13");
        qemu_img(&[
            "create",
            "-q",
            "-f",
            "qcow2",
            backing.to_str().unwrap(),
            "1M",
        ]);
        let overlay = sub.join("overlay13");
        qemu_img(&[
            "create",
            "-q",
            "-f",
            "qcow2",
            "-F",
            "qcow2",
            "-b",
            "backing13",
            overlay.to_str().unwrap(),
        ]);
        let link = dir.path().join("link13");
        std::os::unix::fs::symlink("dir1/overlay13", &link).unwrap();
        for options in [DriveOptions::readonly(), DriveOptions::readwrite()] {
            let d = Drive::open(&link, &options).unwrap();
            assert_eq!(d.chain.len(), 2);
            assert_eq!(
                std::fs::canonicalize(&d.chain[1].path).unwrap(),
                std::fs::canonicalize(&backing).unwrap()
            );
        }
    }

    #[test]
    fn hostile_backing_references_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let p = |n: &str| dir.path().join(n);
        let cases: &[(&str, &str, Option<&str>, &str)] = &[
            (
                "json.qcow2",
                "json:{\"driver\":\"nbd\",\"host\":\"evil\"}",
                Some("raw"),
                "not a plain file name",
            ),
            (
                "nbd.qcow2",
                "nbd://evil:10809/x",
                Some("raw"),
                "not a plain file name",
            ),
            (
                "noformat.qcow2",
                "/etc/shadow",
                None,
                "no recorded backing format",
            ),
            (
                "oddback.qcow2",
                "x.img",
                Some("parallels"),
                "only raw, qcow2, vmdk, vdi, vhdx and vpc",
            ),
        ];
        for (file, backing, fmt, want) in cases {
            qcow2_with_backing(&p(file), backing, *fmt);
            let err = Drive::open(&p(file), &DriveOptions::readonly())
                .unwrap_err()
                .to_string();
            assert!(err.contains(want), "{file}: {err}");
        }
        // A loop: a.qcow2 -> b.qcow2 -> a.qcow2.
        qemu_img(&[
            "create",
            "-q",
            "-f",
            "qcow2",
            "-u",
            "-b",
            "b.qcow2",
            "-F",
            "qcow2",
            p("a.qcow2").to_str().unwrap(),
            "1M",
        ]);
        qemu_img(&[
            "create",
            "-q",
            "-f",
            "qcow2",
            "-u",
            "-b",
            "a.qcow2",
            "-F",
            "qcow2",
            p("b.qcow2").to_str().unwrap(),
            "1M",
        ]);
        let err = Drive::open(&p("a.qcow2"), &DriveOptions::readonly()).unwrap_err();
        assert!(matches!(err, DriveError::BackingLoop { .. }), "{err}");
        // A data file.
        qemu_img(&[
            "create",
            "-q",
            "-f",
            "raw",
            p("data.raw").to_str().unwrap(),
            "1M",
        ]);
        qemu_img(&[
            "create",
            "-q",
            "-f",
            "qcow2",
            "-o",
            &format!("data_file={}", p("data.raw").display()),
            p("d.qcow2").to_str().unwrap(),
            "1M",
        ]);
        assert!(matches!(
            Drive::open(&p("d.qcow2"), &DriveOptions::readonly()),
            Err(DriveError::DataFile { .. })
        ));
        // Directories and missing files.
        assert!(matches!(
            Drive::open(dir.path(), &DriveOptions::readonly()),
            Err(DriveError::NotAFile { .. })
        ));
        assert!(matches!(
            Drive::open(&p("missing"), &DriveOptions::readonly()),
            Err(DriveError::Open { .. })
        ));
    }

    #[test]
    fn a_proper_chain_is_followed_with_explicit_drivers() {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path().join("base.raw");
        let mid = dir.path().join("mid.qcow2");
        let top = dir.path().join("top.qcow2");
        qemu_img(&["create", "-q", "-f", "raw", base.to_str().unwrap(), "8M"]);
        qemu_img(&[
            "create",
            "-q",
            "-f",
            "qcow2",
            "-b",
            "base.raw",
            "-F",
            "raw",
            mid.to_str().unwrap(),
        ]);
        qemu_img(&[
            "create",
            "-q",
            "-f",
            "qcow2",
            "-b",
            mid.to_str().unwrap(),
            "-F",
            "qcow2",
            top.to_str().unwrap(),
        ]);
        let d = Drive::open(&top, &DriveOptions::readwrite()).unwrap();
        assert_eq!(
            d.chain.iter().map(|l| l.format).collect::<Vec<_>>(),
            [Format::Qcow2, Format::Qcow2, Format::Raw]
        );
        assert_eq!(d.chain[2].path, base);
        assert_eq!(d.virtual_size, 8 << 20);
        let mut passed = Vec::new();
        let j = d.blockdev("drive0", None, &mut passed).unwrap();
        assert_eq!(j["node-name"], "drive0");
        assert_eq!(j["driver"], "qcow2");
        assert_eq!(j["read-only"], false);
        assert_eq!(j["backing"]["driver"], "qcow2");
        assert_eq!(j["backing"]["read-only"], true);
        assert_eq!(j["file"]["locking"], "on");
        assert_eq!(j["backing"]["file"]["locking"], "on");
        assert!(
            j["backing"].get("force-share").is_none(),
            "a writable drive's backing files keep their lock"
        );
        assert_eq!(j["backing"]["backing"]["driver"], "raw");
        // QEMU gets descriptors, deepest first, never paths; the top one writable.
        assert_eq!(j["backing"]["backing"]["file"]["filename"], "/dev/fdset/1");
        assert_eq!(j["backing"]["file"]["filename"], "/dev/fdset/2");
        assert_eq!(j["file"]["filename"], "/dev/fdset/3");
        let paths: Vec<_> = passed.iter().map(|(_, p)| p.clone()).collect();
        assert_eq!(paths, [base.clone(), mid.clone(), top.clone()]);
        for (f, p) in &passed {
            let (a, b) = (f.metadata().unwrap(), std::fs::metadata(p).unwrap());
            assert_eq!((a.dev(), a.ino()), (b.dev(), b.ino()), "{}", p.display());
        }
        // The access mode, from the kernel's view of the descriptor.
        let writable = |f: &File| {
            let info =
                std::fs::read_to_string(format!("/proc/self/fdinfo/{}", f.as_raw_fd())).unwrap();
            let flags = info.lines().find_map(|l| l.strip_prefix("flags:")).unwrap();
            i64::from_str_radix(flags.trim(), 8).unwrap() & i64::from(libc::O_ACCMODE) != 0
        };
        assert!(!writable(&passed[0].0) && !writable(&passed[1].0));
        assert!(writable(&passed[2].0));
        assert!(
            j["backing"]["backing"].get("backing").is_none(),
            "raw has no backing option"
        );

        let ro = Drive::open(&top, &DriveOptions::readonly()).unwrap();
        let j = ro
            .blockdev(
                "drive1",
                Some(Path::new("/run/x/overlay1.qcow2")),
                &mut passed,
            )
            .unwrap();
        assert_eq!(j["node-name"], "drive1");
        assert_eq!(j["file"]["filename"], "/run/x/overlay1.qcow2");
        assert_eq!(j["backing"]["read-only"], true);
        assert_eq!(j["backing"]["force-share"], true);
        assert_eq!(j["backing"]["file"]["filename"], "/dev/fdset/6");
        assert!(
            !writable(&passed[5].0),
            "a read-only drive is passed read-only"
        );

        let lone = dir.path().join("lone.qcow2");
        qemu_img(&["create", "-q", "-f", "qcow2", lone.to_str().unwrap(), "1M"]);
        let j = Drive::open(&lone, &DriveOptions::readwrite())
            .unwrap()
            .blockdev("d", None, &mut Vec::new())
            .unwrap();
        assert_eq!(
            j["backing"],
            Value::Null,
            "a chain always ends in backing: null"
        );
    }

    /// A chain checked, then its raw backing file replaced by a symlink to a host file
    /// (the time-of-check to time-of-use race): QEMU still gets the file that was checked.
    #[test]
    fn a_backing_file_swapped_after_the_check_is_not_what_qemu_opens() {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path().join("base.raw");
        let top = dir.path().join("top.qcow2");
        std::fs::write(&base, vec![b'B'; 1 << 20]).unwrap();
        backed(&top, "base.raw", "raw");
        let secret = dir.path().join("outside").join("secret");
        std::fs::create_dir(secret.parent().unwrap()).unwrap();
        std::fs::write(&secret, vec![b'S'; 1 << 20]).unwrap();
        for options in [DriveOptions::readonly(), DriveOptions::readwrite()] {
            let d = Drive::open(&top, &options).unwrap();
            std::fs::rename(&base, dir.path().join("checked.raw")).unwrap();
            std::os::unix::fs::symlink(&secret, &base).unwrap();
            let mut passed = Vec::new();
            let j = d.blockdev("drive0", None, &mut passed).unwrap();
            let text = j.to_string();
            assert!(
                !text.contains("secret") && !text.contains("base.raw"),
                "{text}"
            );
            assert_eq!(j["backing"]["file"]["filename"], "/dev/fdset/1");
            let mut bytes = [0u8; 4];
            std::os::unix::fs::FileExt::read_exact_at(&passed[0].0, &mut bytes, 0).unwrap();
            assert_eq!(&bytes, b"BBBB", "the descriptor is the checked file's");
            std::fs::remove_file(&base).unwrap();
            std::fs::rename(dir.path().join("checked.raw"), &base).unwrap();
        }
    }

    fn backed(path: &Path, backing: &str, fmt: &str) {
        qemu_img(&[
            "create",
            "-q",
            "-f",
            "qcow2",
            "-u",
            "-b",
            backing,
            "-F",
            fmt,
            path.to_str().unwrap(),
            "1M",
        ]);
    }

    #[test]
    fn raw_backing_files_are_followed_only_beside_the_image_or_where_allowed() {
        let root = tempfile::tempdir().unwrap();
        let vms = root.path().join("vms");
        let other = root.path().join("other");
        std::fs::create_dir_all(vms.join("sub")).unwrap();
        std::fs::create_dir_all(&other).unwrap();
        let secret = other.join("secret");
        std::fs::write(&secret, b"host secret\n").unwrap();
        std::fs::write(vms.join("base.raw"), vec![0u8; 1 << 20]).unwrap();
        std::fs::write(vms.join("sub/base.raw"), vec![0u8; 1 << 20]).unwrap();
        let open = |p: &Path, allowed: &[PathBuf]| {
            Drive::open_allowing(p, &DriveOptions::readonly(), allowed)
        };

        // Beside it, or below it: followed, with no option.
        for name in ["base.raw", "sub/base.raw", "./sub/../base.raw"] {
            let top = vms.join("beside.qcow2");
            let _ = std::fs::remove_file(&top);
            backed(&top, name, "raw");
            let d = open(&top, &[]).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(d.chain[1].format, Format::Raw);
            assert!(d.chain[1].path.starts_with(&vms), "{:?}", d.chain);
        }

        // Anywhere else: refused, naming the chain and the option, unless allowed.
        let escapes = [
            secret.to_str().unwrap().to_string(),
            "../other/secret".to_string(),
            "sub/../../other/secret".to_string(),
            "link.raw".to_string(),
        ];
        std::os::unix::fs::symlink(&secret, vms.join("link.raw")).unwrap();
        for name in &escapes {
            let top = vms.join("escape.qcow2");
            let _ = std::fs::remove_file(&top);
            backed(&top, name, "raw");
            let err = open(&top, &[]).unwrap_err();
            assert!(
                matches!(err, DriveError::RawBackingOutside(_)),
                "{name}: {err}"
            );
            let msg = err.to_string();
            for want in [
                "escape.qcow2 (qcow2) -> ",
                "secret (raw)",
                "--allow-backing ",
                "GUESTWRIGHT_ALLOW_BACKING",
            ] {
                assert!(msg.contains(want), "{name}: {want:?} missing in {msg}");
            }
            assert!(!msg.contains("host secret"), "{msg}");
            let d = open(&top, std::slice::from_ref(&other)).unwrap();
            assert_eq!(d.chain[1].path, std::fs::canonicalize(&secret).unwrap());
            // Allowing a sibling of the directory is not allowing the directory.
            assert!(open(&top, &[root.path().join("oth")]).is_err());
        }
        assert!(matches!(
            open(&vms.join("escape.qcow2"), &[root.path().join("missing")]),
            Err(DriveError::AllowedDir { .. })
        ));

        // A device named as a raw backing file is no more trusted than a file.
        let top = vms.join("device.qcow2");
        backed(&top, "/dev/zero", "raw");
        assert!(open(&top, &[]).is_err());
    }

    #[test]
    fn backing_files_with_a_header_must_have_the_recorded_one() {
        let root = tempfile::tempdir().unwrap();
        let elsewhere = tempfile::tempdir().unwrap();
        let dir = root.path();
        // A qcow2 or vmdk template anywhere is followed: its header checks out.
        let base = elsewhere.path().join("base.qcow2");
        qemu_img(&["create", "-q", "-f", "qcow2", base.to_str().unwrap(), "1M"]);
        let top = dir.join("top.qcow2");
        backed(&top, base.to_str().unwrap(), "qcow2");
        let d = Drive::open(&top, &DriveOptions::readonly()).unwrap();
        assert_eq!(
            d.describe_chain(),
            format!(
                "{} (qcow2) -> {} (qcow2)",
                top.display(),
                std::fs::canonicalize(&base).unwrap().display()
            )
        );
        let vmdk = elsewhere.path().join("base.vmdk");
        qemu_img(&["create", "-q", "-f", "vmdk", vmdk.to_str().unwrap(), "1M"]);
        let top = dir.join("top-vmdk.qcow2");
        backed(&top, vmdk.to_str().unwrap(), "vmdk");
        let d = Drive::open(&top, &DriveOptions::readonly()).unwrap();
        assert_eq!(d.chain[1].format, Format::Vmdk);

        // A host file recorded as a qcow2 or vmdk backing file: refused.
        let secret = elsewhere.path().join("secret");
        std::fs::write(&secret, b"host secret\n").unwrap();
        for fmt in ["qcow2", "vmdk", "vdi", "vhdx", "vpc"] {
            let top = dir.join(format!("claims-{fmt}.qcow2"));
            backed(&top, secret.to_str().unwrap(), fmt);
            let err = Drive::open(&top, &DriveOptions::readonly()).unwrap_err();
            let msg = err.to_string();
            assert!(
                matches!(err, DriveError::BackingHeader { .. }),
                "{fmt}: {msg}"
            );
            assert!(msg.contains(&format!("recorded as a {fmt} image")), "{msg}");
            assert!(!msg.contains("host secret"), "{msg}");
        }
        // A qcow2 recorded as vmdk: the header says qcow2.
        let top = dir.join("mismatch.qcow2");
        backed(&top, base.to_str().unwrap(), "vmdk");
        let msg = Drive::open(&top, &DriveOptions::readonly())
            .unwrap_err()
            .to_string();
        assert!(msg.contains("its header is qcow2"), "{msg}");
    }

    /// A VMDK sparse header with capacity 0 and a descriptor offset makes QEMU parse the
    /// embedded descriptor and open the extents it names: any host file.
    #[test]
    fn a_vmdk_header_that_names_extents_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let secret = dir.path().join("secret");
        std::fs::write(&secret, b"host secret\n").unwrap();
        let desc = format!(
            "# Disk DescriptorFile\nversion=1\nCID=fffffffe\nparentCID=ffffffff\n\
             createType=\"monolithicFlat\"\nRW 2048 FLAT \"{}\" 0\n",
            secret.display()
        );
        let mut h = vec![0u8; 4096];
        h[0..4].copy_from_slice(b"KDMV");
        h[4..8].copy_from_slice(&1u32.to_le_bytes());
        h[20..28].copy_from_slice(&128u64.to_le_bytes());
        h[28..36].copy_from_slice(&1u64.to_le_bytes());
        h[36..44].copy_from_slice(&2u64.to_le_bytes());
        h[512..512 + desc.len()].copy_from_slice(desc.as_bytes());
        let img = dir.path().join("extents.vmdk");
        std::fs::write(&img, &h).unwrap();
        for opts in [
            DriveOptions::readwrite(),
            DriveOptions::readonly().with_format(Some(Format::Vmdk)),
        ] {
            assert!(matches!(
                Drive::open(&img, &opts),
                Err(DriveError::VmdkDescriptor { .. })
            ));
        }
        // As a backing file too.
        let top = dir.path().join("top.qcow2");
        backed(&top, img.to_str().unwrap(), "vmdk");
        assert!(matches!(
            Drive::open(&top, &DriveOptions::readonly()),
            Err(DriveError::VmdkDescriptor { .. })
        ));
    }

    #[test]
    fn absurd_sizes_are_refused_in_words() {
        assert_eq!(human(1 << 60), "1 EiB");
        assert_eq!(human(3 << 39), "1.5 TiB");
        assert_eq!(human(512), "512 bytes");
        let dir = tempfile::tempdir().unwrap();
        let img = dir.path().join("huge.qcow2");
        qemu_img(&["create", "-q", "-f", "qcow2", img.to_str().unwrap(), "1M"]);
        let mut bytes = std::fs::read(&img).unwrap();
        bytes[24..32].copy_from_slice(&(1u64 << 60).to_be_bytes());
        std::fs::write(&img, bytes).unwrap();
        let msg = Drive::open(&img, &DriveOptions::readwrite())
            .unwrap_err()
            .to_string();
        assert!(msg.contains("claims a virtual size of 1 EiB"), "{msg}");
    }

    #[test]
    fn explicit_raw_wins_over_magic() {
        // A raw disk whose guest wrote a qcow2 header into its first sector is opened as raw
        // when the user says so; the header is never interpreted.
        let dir = tempfile::tempdir().unwrap();
        let img = dir.path().join("raw-with-qcow2-magic.img");
        let mut bytes = vec![0u8; 1 << 20];
        bytes[..4].copy_from_slice(b"QFI\xfb");
        std::fs::write(&img, bytes).unwrap();
        let d = Drive::open(
            &img,
            &DriveOptions::readonly().with_format(Some(Format::Raw)),
        )
        .unwrap();
        assert_eq!(d.chain.len(), 1);
        assert_eq!(d.chain[0].format, Format::Raw);
        assert_eq!(d.virtual_size, 1 << 20);
    }
}
