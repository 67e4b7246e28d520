//! Whole trees between the host and the guest: `copy_in` packs host files into a tar stream
//! that the daemon's `tar_in` unpacks beneath a guest directory; `copy_out` unpacks the
//! daemon's `tar_out` stream on the host with [`untar`], which never writes outside the
//! destination whatever names and links the guest holds. Both stream: nothing is staged in
//! a temporary file.
//!
//! ```no_run
//! use guestwright::copy::{copy_in, copy_out};
//! use guestwright::prelude::*;
//! use std::path::{Path, PathBuf};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let mut h = Handle::new();
//! h.add_drive("guest.img", DriveOptions::readwrite())?;
//! h.launch()?;
//! h.mount("/dev/sda1", "/")?;
//! // The host directory `site` becomes /srv/site in the guest, modes and times kept.
//! copy_in(&h, &[PathBuf::from("site")], &GuestPath::from("/srv"))?;
//! // The guest's /etc becomes backup/etc on the host.
//! std::fs::create_dir_all("backup")?;
//! copy_out(&h, &[GuestPath::from("/etc")], Path::new("backup"))?;
//! h.shutdown()?;
//! # Ok(())
//! # }
//! ```

pub mod untar;

use crate::error::{escape_path, Error};
use crate::handle::Handle;
use crate::hostfile::HostFile;
use guestwright_protocol::{Client, GuestPath};
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use untar::UntarError;

/// Why a copy failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CopyError {
    /// The appliance refused or failed.
    #[error(transparent)]
    Library(#[from] Error),
    /// copy-out's destination is not a host directory.
    #[error("{} is not a directory on the host", escape_path(path))]
    NotADirectory {
        /// The destination given.
        path: PathBuf,
    },
    /// copy-in's destination is not a directory in the guest.
    #[error(
        "{0} is not a directory in the guest: copy-in copies into an existing directory \
         (create it first, e.g. `guestwright shell --rw -a IMAGE -i mkdir-p {0}`)"
    )]
    NoGuestDirectory(String),
    /// A path names no file to copy under its own name (`/`, `..`).
    #[error("'{0}' has no name to copy it under: name the directory itself")]
    NoName(String),
    /// A host source cannot be read.
    #[error("{}", escape_path(path))]
    HostIo {
        /// The host path.
        path: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// Unpacking the guest's archive stopped.
    #[error("copy-out into {}", escape_path(dest))]
    Unpack {
        /// Where it was unpacked.
        dest: PathBuf,
        /// Why it stopped.
        #[source]
        source: UntarError,
    },
}

/// One end of an in-memory pipe between the thread that runs a call and the one that packs
/// or unpacks. Bounded, so neither side runs ahead of the other by more than a few chunks.
struct PipeWriter(SyncSender<io::Result<Vec<u8>>>);
struct PipeReader {
    rx: Receiver<io::Result<Vec<u8>>>,
    chunk: Vec<u8>,
    pos: usize,
}

fn pipe() -> (PipeWriter, PipeReader) {
    let (tx, rx) = sync_channel(8);
    (
        PipeWriter(tx),
        PipeReader {
            rx,
            chunk: Vec::new(),
            pos: 0,
        },
    )
}

impl Write for PipeWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        self.0
            .send(Ok(buf.to_vec()))
            .map_err(|_| io::Error::from(io::ErrorKind::BrokenPipe))?;
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Read for PipeReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.pos == self.chunk.len() {
            match self.rx.recv() {
                Ok(Ok(chunk)) => {
                    self.chunk = chunk;
                    self.pos = 0;
                }
                Ok(Err(e)) => return Err(e),
                Err(_) => return Ok(0),
            }
        }
        let n = buf.len().min(self.chunk.len() - self.pos);
        buf[..n].copy_from_slice(&self.chunk[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// The last component of a path, to copy it under.
fn name_of(path: &[u8]) -> Result<String, CopyError> {
    let text = String::from_utf8_lossy(path);
    match text.trim_end_matches('/').rsplit('/').next() {
        Some(n) if !n.is_empty() && n != "." && n != ".." => Ok(n.to_string()),
        _ => Err(CopyError::NoName(text.into_owned())),
    }
}

/// Copies host files and directories (recursively, symlinks as symlinks) into the guest
/// directory `dest`, which must exist.
pub fn copy_in(h: &Handle, sources: &[PathBuf], dest: &GuestPath) -> Result<(), CopyError> {
    use std::os::unix::ffi::OsStrExt;
    if !h.is_dir(dest)? {
        return Err(CopyError::NoGuestDirectory(
            guestwright_protocol::escape_bytes(dest.as_bytes()),
        ));
    }
    let mut items = Vec::new();
    for path in sources {
        let meta = std::fs::symlink_metadata(path).map_err(|source| CopyError::HostIo {
            path: path.clone(),
            source,
        })?;
        items.push((
            name_of(path.as_os_str().as_bytes())?,
            path.clone(),
            meta.is_dir(),
        ));
    }
    let (mut writer, mut reader) = pipe();
    let (packed, sent) = std::thread::scope(|scope| {
        let packer = scope.spawn(move || {
            let packed = pack(&items, &mut writer);
            if let Err(e) = &packed {
                // Ends the stream so the call stops; the error itself is returned below.
                let _ = writer
                    .0
                    .send(Err(io::Error::new(e.kind(), "packing stopped")));
            }
            packed
        });
        let sent = h.tar_in(dest, &mut reader);
        drop(reader);
        (packer.join(), sent)
    });
    match packed {
        // A host file that could not be read, with its path and its errno intact.
        Ok(Err(PackError::Source { path, source })) => Err(CopyError::HostIo { path, source }),
        Ok(_) => {
            sent?;
            Ok(())
        }
        Err(panic) => std::panic::resume_unwind(panic),
    }
}

/// Why packing stopped.
#[derive(Debug)]
enum PackError {
    /// A host file or directory could not be read.
    Source { path: PathBuf, source: io::Error },
    /// The stream to the appliance stopped (the call failed: its error is the one to report).
    Stream(io::Error),
}

impl PackError {
    fn kind(&self) -> io::ErrorKind {
        match self {
            PackError::Source { source, .. } | PackError::Stream(source) => source.kind(),
        }
    }
}

/// Writes a tar of `items` (symlinks as symlinks) into `out`.
fn pack(items: &[(String, PathBuf, bool)], out: &mut PipeWriter) -> Result<(), PackError> {
    let mut b = tar::Builder::new(BufWriter::with_capacity(1 << 20, out));
    b.follow_symlinks(false);
    for (name, path, is_dir) in items {
        let source_err = |source| PackError::Source {
            path: path.clone(),
            source,
        };
        let meta = std::fs::symlink_metadata(path).map_err(source_err)?;
        let added = if *is_dir {
            b.append_dir_all(name, path)
        } else if meta.is_file() {
            // Opened here rather than by the tar crate, whose errors lose the errno.
            let mut file = std::fs::File::open(path).map_err(source_err)?;
            b.append_file(name, &mut file)
        } else {
            b.append_path_with_name(path, name)
        };
        added.map_err(|source| match source.kind() {
            io::ErrorKind::BrokenPipe => PackError::Stream(source),
            _ => PackError::Source {
                path: path.clone(),
                source,
            },
        })?;
    }
    b.into_inner()
        .and_then(|mut w| w.flush())
        .map_err(PackError::Stream)
}

/// Copies guest files and directories (recursively) into the host directory `dest`. Returns
/// the guest paths of the entries that were skipped (device nodes, FIFOs, sockets), escaped.
pub fn copy_out(h: &Handle, sources: &[GuestPath], dest: &Path) -> Result<Vec<String>, CopyError> {
    if !std::fs::metadata(dest).is_ok_and(|m| m.is_dir()) {
        return Err(CopyError::NotADirectory {
            path: dest.to_path_buf(),
        });
    }
    let mut skipped = Vec::new();
    for src in sources {
        if h.is_dir(src)? {
            let target = match name_of(src.as_bytes()) {
                Ok(n) => dest.join(n),
                // `/`: its contents go into the destination itself.
                Err(_) => dest.to_path_buf(),
            };
            if !std::fs::symlink_metadata(&target).is_ok_and(|m| m.is_dir()) {
                std::fs::create_dir(&target).map_err(|source| CopyError::HostIo {
                    path: target.clone(),
                    source,
                })?;
            }
            skipped.extend(unpack_from(h, src.clone(), &target)?);
        } else {
            let name = name_of(src.as_bytes())?;
            let file_path = dest.join(&name);
            let host_io = |source| CopyError::HostIo {
                path: file_path.clone(),
                source,
            };
            // A file already there changes only if the download succeeds; a symlink there
            // is replaced, never followed.
            let mut file = HostFile::replace(&file_path, 0o600).map_err(host_io)?;
            h.download(src, file.file_mut())?;
            file.commit().map_err(host_io)?;
        }
    }
    Ok(skipped)
}

/// Streams a guest directory with `tar_out` while unpacking it into `target`.
/// Skipped entries are returned as escaped guest paths.
fn unpack_from(h: &Handle, dir: GuestPath, target: &Path) -> Result<Vec<String>, CopyError> {
    let shown = guestwright_protocol::escape_bytes(dir.as_bytes())
        .trim_end_matches('/')
        .to_string();
    let (mut writer, reader) = pipe();
    let (call, unpacked) = std::thread::scope(|scope| {
        let call = scope.spawn(move || h.tar_out(dir, &mut writer));
        // Unpacking stops at the first unsafe entry; dropping the reader then stops the
        // transfer.
        let unpacked = untar::unpack(reader, target);
        (call.join(), unpacked)
    });
    let unpacked = unpacked.map_err(|source| CopyError::Unpack {
        dest: target.to_path_buf(),
        source,
    })?;
    match call {
        Ok(result) => result?,
        Err(panic) => std::panic::resume_unwind(panic),
    }
    Ok(unpacked
        .skipped
        .into_iter()
        .map(|name| format!("{shown}/{}", name.trim_start_matches("./")))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_packed_tree_unpacks_the_same() {
        let src = tempfile::tempdir().unwrap();
        std::fs::create_dir(src.path().join("d")).unwrap();
        std::fs::write(src.path().join("d/f"), b"data").unwrap();
        std::os::unix::fs::symlink("f", src.path().join("d/l")).unwrap();
        let items = vec![("d".to_string(), src.path().join("d"), true)];
        let (mut w, r) = pipe();
        let packer = std::thread::spawn(move || pack(&items, &mut w));
        let dest = tempfile::tempdir().unwrap();
        untar::unpack(r, dest.path()).unwrap();
        assert!(packer.join().unwrap().is_ok());
        assert_eq!(std::fs::read(dest.path().join("d/f")).unwrap(), b"data");
        assert_eq!(
            std::fs::read_link(dest.path().join("d/l")).unwrap(),
            Path::new("f")
        );
    }

    #[test]
    fn a_failed_pack_reaches_the_reader() {
        let (w, mut r) = pipe();
        w.0.send(Err(io::Error::other("boom"))).unwrap();
        let mut buf = [0u8; 4];
        assert_eq!(r.read(&mut buf).unwrap_err().to_string(), "boom");
    }

    #[test]
    fn an_unreadable_source_keeps_its_path_and_errno() {
        let src = tempfile::tempdir().unwrap();
        let missing = src.path().join("gone");
        let items = vec![("gone".to_string(), missing.clone(), false)];
        // Gone between the listing and the packing.
        let (mut w, r) = pipe();
        let reader = std::thread::spawn(move || io::copy(&mut { r }, &mut io::sink()));
        match pack(&items, &mut w) {
            Err(PackError::Source { path, source }) => {
                assert_eq!(path, missing);
                assert_eq!(source.raw_os_error(), Some(libc::ENOENT), "{source:?}");
            }
            other => panic!("{other:?}"),
        }
        drop(w);
        reader.join().unwrap().unwrap();
    }

    #[test]
    fn names() {
        assert_eq!(name_of(b"/etc/").unwrap(), "etc");
        assert_eq!(name_of(b"a/b").unwrap(), "b");
        assert!(name_of(b"/").is_err());
        assert!(name_of(b"/x/..").is_err());
    }
}
