//! `guestwright ls`: list guest directories, like virt-ls.

use crate::error::{stdout, CliError, Result};
use crate::format::write_name;
use crate::listing::{self, FieldArgs, Line};
use crate::options::{ApplianceArgs, ImageArgs};
use crate::session::{self, Access};
use clap::Args;
use guestwright::prelude::*;
use std::io::{IsTerminal, Write};

/// List directories in a disk image (read-only unless --rw).
///
/// Plain output is one name per line. -l is `ls -la` as virt-ls prints it; -R lists whole
/// trees, each path below the directory with a leading / (as virt-ls). -lR is virt-ls's long
/// listing: the directory itself, then every entry below it by full path, as `TYPE PERMS
/// SIZE PATH [-> TARGET]`, with the fields --uids, --times, --extra-stats and --checksum add
/// (only with -lR, as in virt-ls). `-h` means --human-readable, as there (--help is long
/// only).
#[derive(Debug, Args)]
#[command(disable_help_flag = true)]
pub struct LsArgs {
    #[command(flatten)]
    pub(crate) image: ImageArgs,
    /// Long listing.
    #[arg(short = 'l', long)]
    long: bool,
    /// Recurse into subdirectories.
    #[arg(short = 'R', long)]
    recursive: bool,
    /// Add a checksum of each regular file (with -lR): --checksum for md5, as virt-ls,
    /// --checksum=TYPE for crc, sha1, sha224, sha256, sha384 or sha512.
    #[arg(long, value_name = "TYPE", num_args = 0..=1, require_equals = true, default_missing_value = "md5")]
    checksum: Option<ChecksumType>,
    #[command(flatten)]
    fields: FieldArgs,
    /// Print help.
    #[arg(long, action = clap::ArgAction::Help)]
    help: Option<bool>,
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
    fn line(&self, out: &mut impl Write, shown: &[u8]) -> Result {
        write_name(out, shown, self.escape).map_err(stdout)?;
        out.write_all(b"\n").map_err(stdout)
    }

    /// Lists `dir`; with -R, whole trees, each name as virt-ls prints it: its path below
    /// the listed directory, with a leading `/` (`virt-ls -R /data` prints `/a`, `/a/b`).
    /// Lists `dir`; with -R, each name shown after `below` and a '/' (after nothing at all
    /// for `None`: virt-ls -R prints the paths it finds with the directory it was given cut
    /// off, so under `/data` a name is `/a/b`, and under `/` it is `a/b`).
    fn list(&self, out: &mut impl Write, dir: &GuestPath, below: Option<&[u8]>) -> Result {
        for e in listing::entries(self.h, dir)? {
            let path = dir.join(e.name.as_bytes());
            let shown = if self.args.recursive {
                match below {
                    Some(b) => [b, b"/", e.name.as_bytes()].concat(),
                    None => e.name.as_bytes().to_vec(),
                }
            } else {
                e.name.as_bytes().to_vec()
            };
            self.line(out, &shown)?;
            if self.args.recursive && e.stat.kind() == FileKind::Directory {
                self.list(out, &path, Some(&shown))?;
            }
        }
        Ok(())
    }
}

/// Runs `ls`.
pub fn run(args: &LsArgs, appliance: &ApplianceArgs, verbose: bool) -> Result {
    let long_r = args.long && args.recursive;
    if !long_r && (args.fields.any() || args.checksum.is_some()) {
        return Err(CliError::AsReference(
            "virt-ls: used a flag which can only be combined with -lR mode\nFor more \
             information, read the virt-ls(1) man page."
                .into(),
        ));
    }
    if args.fields.human && args.fields.csv {
        return Err(CliError::AsReference(
            "virt-ls: you cannot use -h and --csv options together.".into(),
        ));
    }
    let mut h = session::open(&args.image, appliance, Access::ReadOnly, verbose)?;
    let stdout_handle = std::io::stdout();
    let escape = stdout_handle.is_terminal();
    let mut out = std::io::BufWriter::new(stdout_handle.lock());
    let lister = Lister {
        h: &h,
        args,
        escape,
    };
    let now = listing::now();
    for dir in &args.dirs {
        if long_r {
            listing::walk(&h, dir.as_bytes(), false, &mut |e| {
                long_line(&h, args, &mut out, now, escape, &e)
            })?;
            continue;
        }
        let dir = GuestPath::from(dir.as_str());
        if args.long {
            // virt-ls -l is the appliance's `ls -la`, as guestfish's `ll` prints it (the
            // daemon escapes the names already).
            let text = h.ll(&dir)?;
            out.write_all(text.as_bytes()).map_err(stdout)?;
            continue;
        }
        let below: Option<&[u8]> = match dir.as_bytes().ends_with(b"/") {
            true => None,
            false => Some(b""),
        };
        lister.list(&mut out, &dir, below)?;
    }
    out.flush().map_err(stdout)?;
    drop(out);
    h.shutdown()?;
    Ok(())
}

/// One line of virt-ls -lR.
fn long_line(
    h: &Handle,
    args: &LsArgs,
    out: &mut impl Write,
    now: i64,
    escape: bool,
    e: &listing::Entry,
) -> Result {
    let f = &args.fields;
    let checksum = match args.checksum {
        Some(t) if e.stat.kind() == FileKind::Regular => {
            Some(h.checksum(t, GuestPath::from(e.path.as_slice()))?)
        }
        // An empty field keeps the CSV columns in place.
        Some(_) if f.csv => Some(String::new()),
        _ => None,
    };
    let mut l = Line::new(out, f, now, true, escape);
    // virt-ls shows no extended attributes (--xattrs is accepted, as there).
    listing::entry_fields(&mut l, f, e, checksum.as_deref(), true, false)?;
    l.end()
}
