//! The file operations virt-customize has besides writes and edits: `--copy`, `--copy-in`,
//! `--move`, `--scrub`, `--touch`, `--truncate` and `--truncate-recursive`.
//!
//! They name their paths, so directories on the way resolve inside the guest like any path
//! ([`super::guest::Ways::Follow`]); a symbolic link at the last component is never written
//! through (the daemon refuses it with ELOOP, and the messages here name the link's target),
//! and nothing ever leaves the guest root: every path is resolved by the daemon beneath it.

use guestwright_protocol::{ByteSize, Client, Data, GuestPath};
use rand::RngCore;

use super::guest::{guest_err, Guest};
use super::report::Change;
use super::CustomizeError;

/// Bytes written per call while scrubbing.
const SCRUB_CHUNK: usize = 256 * 1024;

fn is_link(mode: u32) -> bool {
    mode & libc::S_IFMT == libc::S_IFLNK
}

fn is_regular(mode: u32) -> bool {
    mode & libc::S_IFMT == libc::S_IFREG
}

/// The refusal of an operation on a symbolic link, naming its target.
fn link_refused(g: &Guest<'_>, op: &str, path: &str) -> CustomizeError {
    let target =
        g.h.readlink(GuestPath::from(path))
            .map(|t| t.to_string())
            .unwrap_or_else(|_| "?".into());
    CustomizeError::Refused(format!(
        "{path} is a symbolic link to {target} in the guest, and --{op} never works through a \
         link: name the file it points to, or remove the link first (--delete {path})"
    ))
}

/// A path that must exist: its `lstat`.
fn existing(
    g: &Guest<'_>,
    op: &str,
    path: &str,
) -> Result<guestwright_protocol::Stat, CustomizeError> {
    g.lstat(path)?.ok_or_else(|| {
        CustomizeError::Refused(format!(
            "{path} does not exist in the guest: nothing to {op} (check the path with `guestwright ls`)"
        ))
    })
}

/// `--copy SOURCE:DEST`: `cp -a` inside the guest.
pub fn copy(g: &mut Guest<'_>, src: &str, dest: &str) -> Result<(), CustomizeError> {
    existing(g, "copy", src)?;
    g.h.cp_a(src, dest).map_err(guest_err(format!(
        "cannot copy {src} to {dest} in the guest"
    )))?;
    g.dry_note(&format!("Copied: {src} -> {dest}\n"));
    g.record(Change::Created { path: dest.into() });
    Ok(())
}

/// `--move SOURCE:DEST`: `mv` inside the guest.
pub fn move_to(g: &mut Guest<'_>, src: &str, dest: &str) -> Result<(), CustomizeError> {
    existing(g, "move", src)?;
    g.h.mv(src, dest).map_err(guest_err(format!(
        "cannot move {src} to {dest} in the guest"
    )))?;
    g.dry_note(&format!("Moved: {src} -> {dest}\n"));
    g.record(Change::Deleted { path: src.into() });
    g.record(Change::Created { path: dest.into() });
    Ok(())
}

/// `--copy-in LOCALPATH:REMOTEDIR`: the host file or tree into an existing guest directory,
/// with its modes (and owners, as a tar archive made by this user carries them).
pub fn copy_in(
    g: &mut Guest<'_>,
    local: &std::path::Path,
    dir: &str,
) -> Result<(), CustomizeError> {
    if !g.is_dir(dir)? {
        return Err(CustomizeError::Refused(format!(
            "{dir} is not a directory in the guest: --copy-in copies into an existing directory \
             (add --mkdir {dir} before it)"
        )));
    }
    crate::copy::copy_in(g.h, &[local.to_path_buf()], &GuestPath::from(dir)).map_err(|e| {
        CustomizeError::Refused(format!(
            "cannot copy {} into {dir}: {}",
            local.display(),
            crate::error::chain(&e)
        ))
    })?;
    let name = local
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let path = format!("{}/{name}", dir.trim_end_matches('/'));
    g.dry_note(&format!("Copied in: {} -> {path}\n", local.display()));
    g.record(Change::Created { path });
    Ok(())
}

/// `--touch FILE`: creates an empty file, or sets an existing one's times to now.
pub fn touch(g: &mut Guest<'_>, path: &str) -> Result<(), CustomizeError> {
    let st = g.lstat(path)?;
    if st.as_ref().is_some_and(|s| is_link(s.mode)) {
        return Err(link_refused(g, "touch", path));
    }
    g.h.touch(path)
        .map_err(guest_err(format!("cannot touch {path} in the guest")))?;
    g.dry_note(&format!("Touched: {path}\n"));
    g.record(match st {
        Some(_) => Change::Modified { path: path.into() },
        None => Change::Created { path: path.into() },
    });
    Ok(())
}

/// Truncates one existing regular file (nothing when already empty).
fn truncate_one(
    g: &mut Guest<'_>,
    path: &str,
    st: &guestwright_protocol::Stat,
) -> Result<(), CustomizeError> {
    if st.size == 0 {
        return Ok(());
    }
    g.h.truncate(path)
        .map_err(guest_err(format!("cannot truncate {path} in the guest")))?;
    g.dry_note(&format!("Truncated: {path}\n"));
    g.record(Change::Truncated { path: path.into() });
    Ok(())
}

/// `--truncate FILE`: the file must exist.
pub fn truncate(g: &mut Guest<'_>, path: &str) -> Result<(), CustomizeError> {
    let st = existing(g, "truncate", path)?;
    if is_link(st.mode) {
        return Err(link_refused(g, "truncate", path));
    }
    if !is_regular(st.mode) {
        return Err(CustomizeError::Refused(format!(
            "{path} is not a regular file in the guest: --truncate only empties files \
             (--truncate-recursive empties every file under a directory)"
        )));
    }
    truncate_one(g, path, &st)
}

/// `--truncate-recursive PATH`: every regular file under PATH (symbolic links are not
/// followed, neither to files nor to directories).
pub fn truncate_recursive(g: &mut Guest<'_>, path: &str) -> Result<(), CustomizeError> {
    existing(g, "truncate", path)?;
    let names =
        g.h.find(path)
            .map_err(guest_err(format!("cannot list {path} in the guest")))?;
    let base = path.trim_end_matches('/');
    for rel in names {
        let p = format!("{base}/{}", String::from_utf8_lossy(rel.as_bytes()));
        if let Some(st) = g.lstat(&p)? {
            if is_regular(st.mode) {
                truncate_one(g, &p, &st)?;
            }
        }
    }
    Ok(())
}

/// `--scrub FILE`: overwrites a regular file's data in place (random bytes, then zeros, each
/// pass flushed), then deletes it. Directories and symbolic links are refused.
pub fn scrub(g: &mut Guest<'_>, path: &str) -> Result<(), CustomizeError> {
    let st = existing(g, "scrub", path)?;
    if is_link(st.mode) {
        return Err(link_refused(g, "scrub", path));
    }
    if !is_regular(st.mode) {
        return Err(CustomizeError::Refused(format!(
            "{path} is not a regular file in the guest: --scrub only scrubs files (use --delete \
             for a directory)"
        )));
    }
    let mut rng = rand::rng();
    let mut buf = vec![0u8; SCRUB_CHUNK];
    for pass in 0..2 {
        let mut off = 0u64;
        while off < st.size {
            let n = (st.size - off).min(SCRUB_CHUNK as u64) as usize;
            match pass {
                0 => rng.fill_bytes(&mut buf[..n]),
                _ => buf[..n].fill(0),
            }
            let written =
                g.h.pwrite(path, Data(buf[..n].to_vec()), ByteSize(off))
                    .map_err(guest_err(format!("cannot overwrite {path} in the guest")))?;
            off += written.max(1);
        }
        g.h.sync()
            .map_err(guest_err("cannot flush the guest's filesystems"))?;
    }
    g.h.rm(path).map_err(guest_err(format!(
        "cannot delete {path} after scrubbing it"
    )))?;
    g.dry_note(&format!("Scrubbed: {path}\n"));
    g.record(Change::Deleted { path: path.into() });
    Ok(())
}
