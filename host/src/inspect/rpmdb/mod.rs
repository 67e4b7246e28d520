//! The rpm database, read on the host from a copy of the guest's files: the SQLite
//! `rpmdb.sqlite` of current releases, the NDB `Packages.db` of SUSE and the Berkeley DB
//! `Packages` hash of older ones.
//! Inspection never runs the guest's `rpm` (a guest binary is untrusted, may be of another
//! architecture, and may not run in the appliance at all).
//!
//! Every backend stores the same rpm header blob per package; [`header`] decodes it.

pub mod bdb;
pub mod header;
pub mod ndb;
pub mod sqlite;

use super::packages::Application;
use crate::error::{Error, Result};
use crate::handle::Handle;
pub use bdb::{BdbError, ReadAt};
use guestwright_protocol::args;
use guestwright_protocol::{Client, GuestPath};
pub use header::HeaderError;
pub use ndb::NdbError;
pub use sqlite::SqliteError;
use std::io::Write;

/// Where rpm keeps its database: the classic place, and where Fedora 36 and later keep it
/// (the classic place then being a symlink to it).
const DB_DIRS: &[&str] = &["/var/lib/rpm", "/usr/lib/sysimage/rpm"];
/// The most of one database file inspection copies out of the guest.
const DB_MAX: u64 = 1 << 30;

/// The packages of one database, sorted by name as virt-inspector sorts them, and the
/// headers that did not decode (by their key), which rpm would skip too.
#[derive(Debug, Default)]
pub struct Decoded {
    /// The installed packages.
    pub apps: Vec<Application>,
    /// Damaged headers: their database key and what is wrong.
    pub damaged: Vec<(i64, HeaderError)>,
}

impl Decoded {
    fn add(&mut self, key: i64, blob: &[u8]) {
        match header::application(blob) {
            Ok(app) => self.apps.push(app),
            Err(e) => self.damaged.push((key, e)),
        }
    }

    /// Sorts by name as virt-inspector does: it collects the packages in reverse database
    /// order and sorts them stably, so packages of one name (kernels) come last-read first.
    fn sort(mut self) -> Self {
        self.apps.reverse();
        self.apps.sort_by(|a, b| a.name.cmp(&b.name));
        self
    }
}

/// The packages of a Berkeley DB `Packages` file of `len` bytes. Its keys are header
/// numbers in the writing machine's byte order; key 0 holds rpm's next free number.
pub fn from_bdb<R: ReadAt + ?Sized>(src: &R, len: u64) -> std::result::Result<Decoded, BdbError> {
    let mut db = bdb::HashDb::open(src, len)?;
    let big = db.big_endian();
    let mut out = Decoded::default();
    db.for_each(|key, data| {
        let Ok(key) = <[u8; 4]>::try_from(key) else {
            return;
        };
        let n = if big {
            u32::from_be_bytes(key)
        } else {
            u32::from_le_bytes(key)
        };
        if n != 0 {
            out.add(i64::from(n), &data);
        }
    })?;
    Ok(out.sort())
}

/// The packages of an NDB `Packages.db` of `len` bytes. A blob whose frame is damaged is
/// listed with the damaged headers.
pub fn from_ndb<R: ReadAt + ?Sized>(src: &R, len: u64) -> std::result::Result<Decoded, NdbError> {
    let mut out = Decoded::default();
    for (pkg, blob) in ndb::blobs(src, len)? {
        match blob {
            Ok(blob) => out.add(i64::from(pkg), &blob),
            Err(why) => out.damaged.push((i64::from(pkg), HeaderError::Frame(why))),
        }
    }
    Ok(out.sort())
}

/// The packages of an `rpmdb.sqlite` copied to the host.
pub fn from_sqlite(path: &std::path::Path) -> std::result::Result<Decoded, SqliteError> {
    let mut out = Decoded::default();
    sqlite::for_each_blob(path, |hnum, blob| out.add(hnum, blob))?;
    Ok(out.sort())
}

/// A file on the host that refuses to grow past [`DB_MAX`].
struct CappedFile {
    file: std::fs::File,
    written: u64,
}

impl Write for CappedFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.written + buf.len() as u64 > DB_MAX {
            return Err(std::io::Error::new(
                std::io::ErrorKind::FileTooLarge,
                format!("larger than {DB_MAX} bytes"),
            ));
        }
        self.file.write_all(buf)?;
        self.written += buf.len() as u64;
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush()
    }
}

fn is_file(h: &Handle, path: &str) -> Result<bool> {
    match h.run(args::IsFile::new(GuestPath::from(path)).followsymlinks(true)) {
        Ok(b) => Ok(b),
        Err(e) if e.errno().is_some() => Ok(false),
        Err(e) => Err(e),
    }
}

/// Copies guest file `path` to `to` on the host; `Ok(false)` (with a warning) when the
/// guest's file cannot be read or is too large.
fn copy_out(h: &Handle, path: &str, to: &std::path::Path) -> Result<bool> {
    let file = std::fs::File::create(to).map_err(|source| Error::HostIo {
        path: to.to_path_buf(),
        source,
    })?;
    let mut out = CappedFile { file, written: 0 };
    match h.download(GuestPath::from(path), &mut out) {
        Ok(()) => Ok(true),
        Err(e) if e.errno().is_some() || matches!(e, Error::Transfer { .. }) => {
            log::warn!(
                "cannot copy the rpm database {path}: {}: packages not listed",
                crate::error::chain(&e)
            );
            Ok(false)
        }
        Err(e) => Err(e),
    }
}

/// Copies guest file `path` to `to` as [`copy_out`] does and opens the copy: the file and its
/// length, or `None` (with a warning) when the guest's file could not be copied.
fn copied(h: &Handle, path: &str, to: &std::path::Path) -> Result<Option<(std::fs::File, u64)>> {
    if !copy_out(h, path, to)? {
        return Ok(None);
    }
    let file = std::fs::File::open(to).map_err(|source| Error::HostIo {
        path: to.to_path_buf(),
        source,
    })?;
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    Ok(Some((file, len)))
}

/// The installed packages of a mounted rpm-based guest, read from its database without
/// running anything from the guest. A database that cannot be read is a warning and an
/// empty list.
pub fn applications(h: &Handle) -> Result<Vec<Application>> {
    let tmp = tempfile::tempdir().map_err(|source| Error::HostIo {
        path: std::env::temp_dir(),
        source,
    })?;
    for dir in DB_DIRS {
        let sqlite = format!("{dir}/rpmdb.sqlite");
        if is_file(h, &sqlite)? {
            let copy = tmp.path().join("rpmdb.sqlite");
            if !copy_out(h, &sqlite, &copy)? {
                return Ok(Vec::new());
            }
            // Transactions still in the write-ahead log belong to the database.
            let wal = format!("{sqlite}-wal");
            if is_file(h, &wal)? && !copy_out(h, &wal, &tmp.path().join("rpmdb.sqlite-wal"))? {
                return Ok(Vec::new());
            }
            return Ok(report(&sqlite, from_sqlite(&copy)));
        }
        let ndb = format!("{dir}/Packages.db");
        if is_file(h, &ndb)? {
            let Some((file, len)) = copied(h, &ndb, &tmp.path().join("Packages.db"))? else {
                return Ok(Vec::new());
            };
            return Ok(report(&ndb, from_ndb(&file, len)));
        }
        let packages = format!("{dir}/Packages");
        if is_file(h, &packages)? {
            let Some((file, len)) = copied(h, &packages, &tmp.path().join("Packages"))? else {
                return Ok(Vec::new());
            };
            return Ok(report(&packages, from_bdb(&file, len)));
        }
    }
    log::warn!(
        "no rpm database (rpmdb.sqlite, Packages.db or Packages) in {}: packages not listed",
        DB_DIRS.join(" or ")
    );
    Ok(Vec::new())
}

/// Warns about what did not decode and returns what did.
fn report<E: std::error::Error + 'static>(
    path: &str,
    r: std::result::Result<Decoded, E>,
) -> Vec<Application> {
    match r {
        Ok(d) => {
            for (key, e) in &d.damaged {
                log::warn!("{path}: package header {key} is damaged and not listed: {e}");
            }
            d.apps
        }
        Err(e) => {
            log::warn!(
                "cannot read the rpm database {path}: {}: packages not listed",
                crate::error::chain(&e)
            );
            Vec::new()
        }
    }
}
