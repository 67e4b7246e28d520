//! rpm's SQLite database (`rpmdb.sqlite`, Fedora 33 and later, RHEL 9): the table
//! `Packages(hnum, blob)` holds one header blob per installed package.
//!
//! SQLite itself reads the file (rusqlite with its bundled SQLite: the format is large and
//! SQLite is built and fuzzed to survive corrupt files, so a hand-written reader would be
//! the weaker choice; bundling keeps the host free of a libsqlite3 version requirement). It
//! only ever opens a private copy on the host, never the guest's file, and it runs one
//! fixed query with the schema's code distrusted: a hostile database can make the query
//! fail, not run its own SQL.

use rusqlite::{config::DbConfig, Connection, OpenFlags};
use std::path::Path;

/// Why the SQLite database cannot be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SqliteError {
    /// SQLite refused the file or the query.
    #[error("SQLite cannot read it")]
    Sqlite(#[from] rusqlite::Error),
    /// `Packages` is missing or not a plain table.
    #[error("it has no Packages table (found: {0})")]
    NoPackagesTable(String),
}

/// Calls `each(hnum, blob)` for every row of `Packages` of the database at `path`, in the
/// order of its keys, as rpm iterates it.
pub fn for_each_blob(path: &Path, mut each: impl FnMut(i64, &[u8])) -> Result<(), SqliteError> {
    // Read-write because the copy is ours: SQLite may need to fold a copied write-ahead
    // log into it or create its index of the log beside it.
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_DEFENSIVE, true)?;
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_TRIGGER, false)?;
    conn.pragma_update(None, "trusted_schema", false)?;
    let kind: Option<String> = conn
        .query_row(
            "SELECT type FROM sqlite_master WHERE name = 'Packages'",
            [],
            |r| r.get(0),
        )
        .map(Some)
        .or_else(|e| match e {
            rusqlite::Error::QueryReturnedNoRows => Ok(None),
            e => Err(e),
        })?;
    if kind.as_deref() != Some("table") {
        return Err(SqliteError::NoPackagesTable(
            kind.unwrap_or_else(|| "nothing".to_string()),
        ));
    }
    let mut stmt = conn.prepare("SELECT hnum, blob FROM Packages ORDER BY hnum")?;
    let mut rows = stmt.query([])?;
    while let Some(row) = rows.next()? {
        let hnum: i64 = row.get(0)?;
        match row.get_ref(1)? {
            rusqlite::types::ValueRef::Blob(b) => each(hnum, b),
            // A row whose blob is not a blob: rpm would fail on it too; give the decoder
            // nothing, so it is reported like any damaged header.
            _ => each(hnum, &[]),
        }
    }
    Ok(())
}
