//! `guestwright ls`: list guest directories, like virt-ls.

use crate::error::{stdout, Result};
use crate::format::{date, mode_string, write_name};
use crate::options::{ApplianceArgs, ImageArgs};
use crate::session::{self, Access};
use clap::Args;
use guestwright::prelude::*;
use std::io::{IsTerminal, Write};

/// List directories in a disk image (read-only unless --rw).
///
/// Plain output is one name per line. -l is `ls -la` as virt-ls prints it; -R lists whole
/// trees, each path below the directory with a leading / (as virt-ls); -lR and --checksum add
/// mode, links, owner, group, size, modification time (UTC), symlink targets and checksums.
#[derive(Debug, Args)]
pub struct LsArgs {
    #[command(flatten)]
    image: ImageArgs,
    /// Long listing.
    #[arg(short = 'l', long)]
    long: bool,
    /// Recurse into subdirectories.
    #[arg(short = 'R', long)]
    recursive: bool,
    /// Add a checksum of each regular file: --checksum for sha256, --checksum=TYPE for md5,
    /// sha1, sha224, sha384 or sha512.
    #[arg(long, value_name = "TYPE", num_args = 0..=1, require_equals = true, default_missing_value = "sha256")]
    checksum: Option<ChecksumType>,
    /// Guest directories to list.
    #[arg(value_name = "DIR", required = true)]
    dirs: Vec<String>,
}

struct Lister<'a> {
    h: &'a Handle,
    args: &'a LsArgs,
    escape: bool,
}

impl Lister<'_> {
    fn entries(&self, dir: &GuestPath) -> Result<Vec<DirEntryPlus>> {
        let mut all = Vec::new();
        let mut offset = 0;
        loop {
            let page = self.h.run(args::ReaddirPlus::new(dir).offset(offset))?;
            all.extend(
                page.entries
                    .into_iter()
                    .filter(|e| e.name.as_bytes() != b"." && e.name.as_bytes() != b".."),
            );
            if !page.more {
                break;
            }
            offset = page.next;
        }
        all.sort_by(|a, b| a.name.as_bytes().cmp(b.name.as_bytes()));
        Ok(all)
    }

    fn line(
        &self,
        out: &mut impl Write,
        path: &GuestPath,
        shown: &[u8],
        e: &DirEntryPlus,
    ) -> Result {
        let checksum = match self.args.checksum {
            Some(t) if e.stat.kind() == FileKind::Regular => Some(self.h.checksum(t, path)?),
            _ => None,
        };
        let w = |out: &mut dyn Write, s: &str| out.write_all(s.as_bytes()).map_err(stdout);
        if self.args.long {
            w(
                out,
                &format!(
                    "{} {:>3} {:>5} {:>5} {:>10} {} ",
                    mode_string(e.stat.mode),
                    e.stat.nlink,
                    e.stat.uid,
                    e.stat.gid,
                    e.stat.size,
                    date(e.stat.mtime)
                ),
            )?;
            if let Some(c) = &checksum {
                w(out, &format!("{c} "))?;
            }
            write_name(out, shown, self.escape).map_err(stdout)?;
            if let Some(link) = &e.link {
                w(out, " -> ")?;
                write_name(out, link.as_bytes(), self.escape).map_err(stdout)?;
            }
        } else {
            if let Some(c) = &checksum {
                w(out, &format!("{c}  "))?;
            }
            write_name(out, shown, self.escape).map_err(stdout)?;
        }
        w(out, "\n")
    }

    /// Lists `dir`; with -R, whole trees, each name as virt-ls prints it: its path below
    /// the listed directory, with a leading `/` (`virt-ls -R /data` prints `/a`, `/a/b`).
    fn list(&self, out: &mut impl Write, dir: &GuestPath, below: &[u8]) -> Result {
        for e in self.entries(dir)? {
            let path = dir.join(e.name.as_bytes());
            let shown = if self.args.recursive {
                [below, b"/", e.name.as_bytes()].concat()
            } else {
                e.name.as_bytes().to_vec()
            };
            self.line(out, &path, &shown, &e)?;
            if self.args.recursive && e.stat.kind() == FileKind::Directory {
                self.list(out, &path, &shown)?;
            }
        }
        Ok(())
    }
}

/// Runs `ls`.
pub fn run(args: &LsArgs, appliance: &ApplianceArgs, verbose: bool) -> Result {
    let mut h = session::open(&args.image, appliance, Access::ReadOnly, verbose)?;
    let stdout_handle = std::io::stdout();
    let escape = stdout_handle.is_terminal();
    let mut out = std::io::BufWriter::new(stdout_handle.lock());
    let lister = Lister {
        h: &h,
        args,
        escape,
    };
    for dir in &args.dirs {
        let dir = GuestPath::from(dir.as_str());
        if args.long && !args.recursive && args.checksum.is_none() {
            // virt-ls -l is the appliance's `ls -la`, as guestfish's `ll` prints it (the
            // daemon escapes the names already).
            let text = h.ll(&dir)?;
            out.write_all(text.as_bytes()).map_err(stdout)?;
            continue;
        }
        lister.list(&mut out, &dir, b"")?;
    }
    out.flush().map_err(stdout)?;
    drop(out);
    h.shutdown()?;
    Ok(())
}
