//! `guestwright diff`: the differences between the files of two guests, like virt-diff.

use crate::error::{stdout, CliError, Result};
use crate::listing::{self, Entry, FieldArgs, Line};
use crate::options::{formats_for, ApplianceArgs, FormatOptions, ImageArgs};
use crate::session::{self, Access};
use crate::shell::fisherr;
use clap::Args;
use guestwright::prelude::*;
use guestwright::Format;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;

/// List the differences between the files of two guests (read-only), as virt-diff: `-`
/// for what only the first has, `+` for what only the second has, `=` and a unified diff
/// for a regular file whose content changed, and `-`/`+`/`# changed:` for metadata that
/// changed. Each guest is inspected and mounted in an appliance of its own.
///
/// `-h` means --human-readable, as in virt-diff (--help is long only).
#[derive(Debug, Args)]
#[command(disable_help_flag = true)]
pub struct DiffArgs {
    /// A disk of the first guest (repeat for each of its disks).
    #[arg(
        short = 'a',
        long = "add",
        value_name = "IMAGE",
        value_hint = clap::ValueHint::FilePath,
        required_unless_present = "domain1"
    )]
    first: Vec<PathBuf>,
    /// A disk of the second guest (repeat for each of its disks).
    #[arg(short = 'A', value_name = "IMAGE", value_hint = clap::ValueHint::FilePath,
          required_unless_present = "domain2")]
    second: Vec<PathBuf>,
    /// The libvirt guest whose disks are the first guest.
    #[arg(
        short = 'd',
        long = "domain",
        value_name = "GUEST",
        conflicts_with = "first"
    )]
    domain1: Option<String>,
    /// The libvirt guest whose disks are the second guest.
    #[arg(short = 'D', value_name = "GUEST", conflicts_with = "second")]
    domain2: Option<String>,
    /// The libvirt URI for -d and -D.
    #[arg(short = 'c', long = "connect", value_name = "URI")]
    connect: Option<String>,
    /// The formats of the -a and -A images (each takes the last --format before it).
    #[command(flatten)]
    formats: FormatOptions,
    /// Each -a image's format, from where the --format options stand.
    #[arg(skip)]
    placed_first: Vec<Option<Format>>,
    /// Each -A image's format.
    #[arg(skip)]
    placed_second: Vec<Option<Format>>,
    /// Same as --extra-stats --times --uids --xattrs.
    #[arg(long)]
    all: bool,
    /// Also show changed access times (ignored by default).
    #[arg(long)]
    atime: bool,
    /// Compare regular files by a checksum of their content (md5 when no TYPE is given)
    /// rather than by their times and size.
    #[arg(long, value_name = "TYPE", num_args = 0..=1, require_equals = true, default_missing_value = "md5")]
    checksum: Option<ChecksumType>,
    /// Also show a changed number of links of directories (ignored by default).
    #[arg(long = "dir-links")]
    dir_links: bool,
    /// Also show changed times of directories (ignored by default).
    #[arg(long = "dir-times")]
    dir_times: bool,
    #[command(flatten)]
    fields: FieldArgs,
    /// Print help.
    #[arg(long, action = clap::ArgAction::Help)]
    help: Option<bool>,
}

/// One file of a guest, as compared.
struct File {
    entry: Entry,
    checksum: Option<String>,
}

/// The stat fields virt-diff names in its `# changed:` line, in its order.
fn changed_fields(a: &Stat, b: &Stat) -> Vec<&'static str> {
    let fields: [(&str, bool); 13] = [
        ("st_dev", a.dev != b.dev),
        ("st_ino", a.ino != b.ino),
        ("st_mode", a.mode != b.mode),
        ("st_nlink", a.nlink != b.nlink),
        ("st_uid", a.uid != b.uid),
        ("st_gid", a.gid != b.gid),
        ("st_rdev", a.rdev != b.rdev),
        ("st_size", a.size != b.size),
        ("st_blksize", a.blksize != b.blksize),
        ("st_blocks", a.blocks != b.blocks),
        ("st_atime_sec", a.atime != b.atime),
        ("st_mtime_sec", a.mtime != b.mtime),
        ("st_ctime_sec", a.ctime != b.ctime),
    ];
    fields.iter().filter(|(_, c)| *c).map(|(n, _)| *n).collect()
}

/// Reads one guest's tree from `/`, flattening what virt-diff ignores unless asked.
fn read_tree(h: &Handle, args: &DiffArgs) -> Result<Vec<File>> {
    let mut files = Vec::new();
    listing::walk(h, b"/", true, &mut |mut entry| {
        let st = &mut entry.stat;
        let checksum = match args.checksum {
            Some(t) if st.kind() == FileKind::Regular => {
                Some(h.checksum(t, GuestPath::from(entry.path.as_slice()))?)
            }
            _ => None,
        };
        if !args.atime {
            st.atime = 0;
            st.atime_nsec = 0;
        }
        if st.kind() == FileKind::Directory {
            if !args.dir_links {
                st.nlink = 0;
            }
            if !args.dir_times {
                (st.atime, st.mtime, st.ctime) = (0, 0, 0);
                (st.atime_nsec, st.mtime_nsec, st.ctime_nsec) = (0, 0, 0);
            }
        }
        files.push(File { entry, checksum });
        Ok(())
    })?;
    // In the walk's order, not re-sorted: virt-diff merges the two walks as they come (a
    // directory's tree right after it), so a name that sorts before '/' (`/a-b` after
    // `/a/x`) is met where virt-diff meets it.
    Ok(files)
}

struct Printer<'a, W: Write> {
    out: &'a mut W,
    args: &'a DiffArgs,
    fields: FieldArgs,
    now: i64,
    escape: bool,
}

impl<W: Write> Printer<'_, W> {
    fn line(&mut self, mark: &[u8], f: &File) -> Result {
        let mut l = Line::new(self.out, &self.fields, self.now, false, self.escape);
        l.string(mark)?;
        listing::entry_fields(
            &mut l,
            &self.fields,
            &f.entry,
            f.checksum.as_deref(),
            self.args.atime,
            self.fields.xattrs,
        )?;
        l.end()
    }

    fn changed_line(&mut self, names: &[&str]) -> Result {
        let mut l = Line::new(self.out, &self.fields, self.now, false, self.escape);
        l.string(b"#")?;
        l.string(b"changed:")?;
        for n in names {
            l.string(n.as_bytes())?;
        }
        l.end()
    }
}

/// `diff -u` of one file in both guests, without its two header lines, then virt-diff's
/// `@@ End of diff @@`.
fn content_diff(
    out: &mut impl Write,
    (h1, f1): (&Handle, &File),
    (h2, f2): (&Handle, &File),
) -> Result {
    let dir = tempfile::Builder::new()
        .prefix("guestwright-diff-")
        .tempdir()
        .map_err(|e| CliError::HostIo {
            path: std::env::temp_dir(),
            source: e,
        })?;
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    for (h, f, p) in [(h1, f1, &a), (h2, f2, &b)] {
        let mut file = std::fs::File::create(p).map_err(|e| CliError::HostIo {
            path: p.clone(),
            source: e,
        })?;
        h.download(GuestPath::from(f.entry.path.as_slice()), &mut file)?;
    }
    let result = std::process::Command::new("diff")
        .arg("-u")
        .arg(&a)
        .arg(&b)
        .output();
    match result {
        Ok(o) if matches!(o.status.code(), Some(0 | 1)) => {
            let body: Vec<&[u8]> = o.stdout.split_inclusive(|&c| c == b'\n').skip(2).collect();
            for chunk in body {
                out.write_all(chunk).map_err(stdout)?;
            }
            out.write_all(b"@@ End of diff @@\n").map_err(stdout)
        }
        _ => {
            eprintln!("virt-diff: external diff command failed");
            Ok(())
        }
    }
}

impl DiffArgs {
    /// The -a images, then the -A images.
    pub fn images(&self) -> Vec<PathBuf> {
        self.first.iter().chain(&self.second).cloned().collect()
    }

    /// Gives each -a and -A image the last --format before it on the command line `m`.
    pub fn place_formats(&mut self, m: &clap::ArgMatches) {
        self.placed_first = formats_for(&self.formats.format, m, "first");
        self.placed_second = formats_for(&self.formats.format, m, "second");
    }
}

fn open(args: &DiffArgs, appliance: &ApplianceArgs, verbose: bool, second: bool) -> Result<Handle> {
    let (images, domain) = if second {
        (&args.second, &args.domain2)
    } else {
        (&args.first, &args.domain1)
    };
    let (images, format) = match domain {
        Some(d) => {
            let disks = crate::libvirt::domain_disks(args.connect.as_deref(), d)?;
            let format = disks.first().and_then(|d| d.format);
            (disks.into_iter().map(|d| d.path).collect(), format)
        }
        None => (images.clone(), None),
    };
    let image = match domain {
        Some(_) => ImageArgs::new(images, format),
        None => {
            let placed = if second {
                &args.placed_second
            } else {
                &args.placed_first
            };
            ImageArgs::with_formats(images, args.formats.clone(), placed.clone())
        }
    };
    let image = ImageArgs {
        inspect: true,
        ro: true,
        ..image
    };
    session::open(&image, appliance, Access::ReadOnly, verbose).map_err(|e| {
        if fisherr::is_no_os(&e) {
            CliError::AsReference(fisherr::no_os("virt-diff"))
        } else {
            CliError::from(e)
        }
    })
}

/// Runs `diff`.
pub fn run(args: &DiffArgs, appliance: &ApplianceArgs, verbose: bool) -> Result {
    if args.fields.human && args.fields.csv {
        return Err(CliError::AsReference(
            "virt-diff: you cannot use -h and --csv options together.".into(),
        ));
    }
    let mut fields = args.fields.clone();
    if args.all {
        (fields.extra_stats, fields.times, fields.uids, fields.xattrs) = (true, true, true, true);
    }
    // The appliances start here, one after the other: QEMU dies with the thread that
    // started it. The two trees are then read at once, one in each appliance.
    let mut h1 = open(args, appliance, verbose, false)?;
    let mut h2 = open(args, appliance, verbose, true)?;
    let (t1, t2) = std::thread::scope(|s| {
        let second = s.spawn(|| read_tree(&h2, args));
        let first = read_tree(&h1, args);
        (
            first,
            second.join().expect("reading the second guest panicked"),
        )
    });
    let (t1, t2) = (t1?, t2?);
    let stdout_handle = std::io::stdout();
    let escape = stdout_handle.is_terminal();
    let mut out = std::io::BufWriter::new(stdout_handle.lock());
    let mut p = Printer {
        out: &mut out,
        args,
        fields,
        now: listing::now(),
        escape,
    };
    let (mut i, mut j) = (0, 0);
    while i < t1.len() || j < t2.len() {
        let order = match (t1.get(i), t2.get(j)) {
            (Some(a), Some(b)) => a.entry.path.cmp(&b.entry.path),
            (Some(_), None) => std::cmp::Ordering::Less,
            _ => std::cmp::Ordering::Greater,
        };
        match order {
            std::cmp::Ordering::Less => {
                p.line(b"-", &t1[i])?;
                i += 1;
            }
            std::cmp::Ordering::Greater => {
                p.line(b"+", &t2[j])?;
                j += 1;
            }
            std::cmp::Ordering::Equal => {
                let (a, b) = (&t1[i], &t2[j]);
                let (sa, sb) = (&a.entry.stat, &b.entry.stat);
                let stats_differ = sa != sb || a.entry.xattrs != b.entry.xattrs;
                let sums_differ =
                    matches!((&a.checksum, &b.checksum), (Some(x), Some(y)) if x != y);
                let regular = sa.kind() == FileKind::Regular && sb.kind() == FileKind::Regular;
                // As virt-diff: with the stats equal, only the checksums can tell a change;
                // with them different, a regular file changed content when its times or size
                // did, else only its metadata changed.
                let content = if stats_differ {
                    regular && (sa.mtime != sb.mtime || sa.ctime != sb.ctime || sa.size != sb.size)
                } else {
                    sums_differ
                };
                if content {
                    p.line(b"=", a)?;
                    if !p.fields.csv {
                        p.out.flush().map_err(stdout)?;
                        content_diff(p.out, (&h1, a), (&h2, b))?;
                    }
                } else if stats_differ {
                    p.line(b"-", a)?;
                    p.line(b"+", b)?;
                    let mut names = changed_fields(sa, sb);
                    if a.entry.xattrs != b.entry.xattrs {
                        names.push("xattrs");
                    }
                    p.changed_line(&names)?;
                }
                i += 1;
                j += 1;
            }
        }
    }
    out.flush().map_err(stdout)?;
    drop(out);
    h1.shutdown()?;
    h2.shutdown()?;
    Ok(())
}
