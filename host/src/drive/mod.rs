//! Drives: the disk images a handle attaches, how their format is decided, what their
//! headers may refer to, and the `-blockdev` description QEMU gets for each.
//!
//! Format probing never happens in QEMU. A qcow2 backing file is followed only when the
//! image records its format, only for raw and qcow2 backings, and never for `json:` or
//! protocol names; external data files are refused. Read-only drives sit under a
//! throw-away overlay so their bytes never change.

pub mod format;
pub mod overlay;

pub use format::Format;

use format::Detected;
use serde_json::{json, Value};
use std::collections::HashSet;
use std::fs::File;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// How to attach a disk image.
#[derive(Debug, Clone, Default)]
pub struct DriveOptions {
    /// The image format; detected from the magic bytes when `None`.
    pub format: Option<Format>,
    /// Attach read-only: the appliance's writes go to a throw-away overlay and the image's
    /// bytes never change.
    pub readonly: bool,
}

impl DriveOptions {
    /// Read-only, format detected.
    pub fn readonly() -> DriveOptions {
        DriveOptions {
            format: None,
            readonly: true,
        }
    }
    /// Read-write, format detected.
    pub fn readwrite() -> DriveOptions {
        DriveOptions {
            format: None,
            readonly: false,
        }
    }
    /// The same, with an explicit format.
    pub fn with_format(mut self, format: Option<Format>) -> DriveOptions {
        self.format = format;
        self
    }
}

/// Why a drive cannot be attached.
#[derive(Debug, thiserror::Error)]
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
    /// A backing format outside raw and qcow2.
    #[error("{} has a backing file of format '{format}'; only raw and qcow2 backing files are followed", path.display())]
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
    /// Too many backing levels.
    #[error("the backing chain of {} is deeper than {MAX_CHAIN} levels", path.display())]
    ChainTooDeep {
        /// The image.
        path: PathBuf,
    },
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
    /// The disk size the guest sees.
    pub virtual_size: u64,
}

fn open_image(path: &Path) -> Result<File, DriveError> {
    let file = File::open(path).map_err(|source| DriveError::Open {
        path: path.to_path_buf(),
        source,
    })?;
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
    /// Checks an image and its backing chain.
    pub fn open(path: &Path, options: &DriveOptions) -> Result<Drive, DriveError> {
        let path = std::path::absolute(path).map_err(|source| DriveError::Open {
            path: path.to_path_buf(),
            source,
        })?;
        let mut file = open_image(&path)?;
        let format = match options.format {
            Some(f) => f,
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
                Some("raw") => Format::Raw,
                Some("qcow2") => Format::Qcow2,
                Some(other) => {
                    return Err(DriveError::BackingFormat {
                        path: current,
                        format: other.to_string(),
                    })
                }
            };
            if chain.len() > MAX_CHAIN {
                return Err(DriveError::ChainTooDeep { path });
            }
            let name = Path::new(std::ffi::OsStr::from_bytes(&name));
            let next = if name.is_absolute() {
                name.to_path_buf()
            } else {
                current.parent().unwrap_or(Path::new("/")).join(name)
            };
            let next_file = open_image(&next)?;
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
            chain.push(Layer {
                path: next.clone(),
                format: backing_format,
            });
            (current, current_file, current_format) = (next, next_file, backing_format);
        }
        Ok(Drive {
            chain,
            readonly: options.readonly,
            virtual_size,
        })
    }

    /// The image file itself.
    pub fn path(&self) -> &Path {
        &self.chain[0].path
    }

    /// The `-blockdev` JSON for this drive, as node `node` over `overlay` when read-only.
    /// Every node names its driver; every chain ends in `backing: null`.
    pub fn blockdev(&self, node: &str, overlay: Option<&Path>) -> Value {
        let mut below = Value::Null;
        for (depth, layer) in self.chain.iter().enumerate().rev() {
            let readonly = self.readonly || depth > 0;
            let mut file = json!({
                "driver": "file",
                "filename": layer.path.to_string_lossy(),
                "aio": "threads",
            });
            let mut fmt = json!({
                "driver": layer.format.driver(),
                "read-only": readonly,
                "discard": "unmap",
            });
            if readonly {
                // Another process may hold the image open for writing (a running VM); a
                // read-only look must still work, as with `qemu-img info -U`.
                file["read-only"] = json!(true);
                file["force-share"] = json!(true);
                fmt["force-share"] = json!(true);
            }
            fmt["file"] = file;
            if matches!(layer.format, Format::Qcow2 | Format::Vmdk) {
                fmt["backing"] = below;
            }
            below = fmt;
        }
        match overlay {
            Some(overlay) if self.readonly => json!({
                "driver": "qcow2",
                "node-name": node,
                "discard": "unmap",
                "file": { "driver": "file", "filename": overlay.to_string_lossy(), "aio": "threads" },
                "backing": below,
            }),
            _ => {
                below["node-name"] = json!(node);
                below
            }
        }
    }
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
                "vmdkback.qcow2",
                "x.vmdk",
                Some("vmdk"),
                "only raw and qcow2",
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
        let j = d.blockdev("drive0", None);
        assert_eq!(j["node-name"], "drive0");
        assert_eq!(j["driver"], "qcow2");
        assert_eq!(j["read-only"], false);
        assert_eq!(j["backing"]["driver"], "qcow2");
        assert_eq!(j["backing"]["read-only"], true);
        assert_eq!(j["backing"]["backing"]["driver"], "raw");
        assert_eq!(
            j["backing"]["backing"]["file"]["filename"],
            base.to_str().unwrap()
        );
        assert!(
            j["backing"]["backing"].get("backing").is_none(),
            "raw has no backing option"
        );

        let ro = Drive::open(&top, &DriveOptions::readonly()).unwrap();
        let j = ro.blockdev("drive1", Some(Path::new("/run/x/overlay1.qcow2")));
        assert_eq!(j["node-name"], "drive1");
        assert_eq!(j["file"]["filename"], "/run/x/overlay1.qcow2");
        assert_eq!(j["backing"]["read-only"], true);
        assert_eq!(j["backing"]["force-share"], true);
        assert_eq!(j["backing"]["file"]["filename"], top.to_str().unwrap());

        let lone = dir.path().join("lone.qcow2");
        qemu_img(&["create", "-q", "-f", "qcow2", lone.to_str().unwrap(), "1M"]);
        let j = Drive::open(&lone, &DriveOptions::readwrite())
            .unwrap()
            .blockdev("d", None);
        assert_eq!(
            j["backing"],
            Value::Null,
            "a chain always ends in backing: null"
        );
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
