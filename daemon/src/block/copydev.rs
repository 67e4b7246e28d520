//! guestfish's `copy-device-to-device`, `copy-device-to-file` and `copy-file-to-device`:
//! bytes from an offset of the source to an offset of the destination.

use crate::call::Call;
use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;

/// Where and how much to copy, as guestfish's optional arguments give it.
#[derive(Debug, Default, Clone, Copy)]
pub struct CopyOptions {
    /// Offset in the source (bytes, default 0).
    pub srcoffset: Option<i64>,
    /// Offset in the destination (bytes, default 0).
    pub destoffset: Option<i64>,
    /// Bytes to copy (default: to the end of the source).
    pub size: Option<i64>,
    /// Skip blocks of zeroes instead of writing them.
    pub sparse: bool,
    /// Append to a destination file instead of truncating it (files only).
    pub append: bool,
}

/// The unit in which `sparse:true` looks for zeroes.
const SPARSE_BLOCK: usize = 8192;

fn einval(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, msg)
}

fn offset(name: &str, v: Option<i64>) -> io::Result<u64> {
    let v = v.unwrap_or(0);
    u64::try_from(v).map_err(|_| einval(format!("{name} must be >= 0, not {v}")))
}

/// Copies from `src` to `dest` (`destoffset` counted from the end of a file opened to
/// append). `src_name` names the source in messages.
pub fn copy(
    call: &mut Call,
    src: &File,
    src_name: &str,
    dest: &File,
    dest_base: u64,
    opts: &CopyOptions,
) -> io::Result<()> {
    let srcoff = offset("srcoffset", opts.srcoffset)?;
    let destoff = offset("destoffset", opts.destoffset)?.saturating_add(dest_base);
    let size = match opts.size {
        Some(s) if s < 0 => return Err(einval(format!("size must be >= 0, not {s}"))),
        Some(s) => Some(s as u64),
        None => None,
    };
    let mut buf = vec![0u8; 1 << 20];
    let mut done: u64 = 0;
    loop {
        let want = match size {
            Some(s) if done >= s => break,
            Some(s) => ((s - done) as usize).min(buf.len()),
            None => buf.len(),
        };
        call.check_cancel()?;
        let n = loop {
            match src.read_at(&mut buf[..want], srcoff + done) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                other => break other?,
            }
        };
        if n == 0 {
            if size.is_some() {
                return Err(einval(format!("{src_name}: input too short")));
            }
            break;
        }
        let chunk = &buf[..n];
        if opts.sparse {
            // Blocks of zeroes are skipped block by block, as guestfish does with its
            // 8 KiB blocks; a file is not extended over skipped blocks at its end.
            for (i, block) in chunk.chunks(SPARSE_BLOCK).enumerate() {
                if block.iter().any(|&b| b != 0) {
                    let at = destoff + done + (i * SPARSE_BLOCK) as u64;
                    dest.write_all_at(block, at)?;
                }
            }
        } else {
            dest.write_all_at(chunk, destoff + done)?;
        }
        done += n as u64;
        if let Some(s) = size {
            call.progress(done, s);
        }
    }
    dest.sync_all()
}
