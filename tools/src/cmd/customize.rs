//! `guestwright customize`: run customize operations on a disk image, in command-line order.
//!
//! The operation options are generated from the library's one table
//! (`guestwright::customize::OPERATIONS`); their order on the command line is recovered from
//! clap's argument indices. The shared pieces here (run options, printing the report) serve
//! `sysprep` and `clone` too.

use std::path::PathBuf;

use clap::{Arg, ArgAction, ArgMatches, Args, FromArgMatches};
use guestwright::customize::{self, CustomizeError, Options, Plan, Report, Word, OPERATIONS};
use guestwright::Format;

use crate::error::{CliError, Result};
use crate::options::ApplianceArgs;
use crate::session::launch_config;

/// Operations that name files of further operations.
const FILE_OPERATIONS: &[(&str, &str, &str)] = &[
    (
        "commands-from-file",
        "FILE",
        "Read operations from FILE, one per line as NAME ARGUMENT (virt-customize syntax)",
    ),
    (
        "config",
        "FILE",
        "Read operations from a TOML FILE: [[operations]] tables of one NAME = \"ARGUMENT\" each",
    ),
];

/// The customize operations of a command line, in the order given.
#[derive(Debug, Clone, Default)]
pub struct OperationArgs {
    /// `--NAME VALUE` words in command-line order.
    pub words: Vec<Word>,
    /// The last of `--network` / `--no-network` given as a flag (virt-customize's options
    /// about the appliance's network), if any.
    pub network: Option<bool>,
}

impl FromArgMatches for OperationArgs {
    fn from_arg_matches(m: &ArgMatches) -> std::result::Result<Self, clap::Error> {
        let mut found: Vec<(usize, Word)> = Vec::new();
        let valued = OPERATIONS
            .iter()
            .filter_map(|o| o.value.map(|_| o.name))
            .chain(FILE_OPERATIONS.iter().map(|f| f.0));
        for name in valued {
            if let (Some(values), Some(indices)) = (m.get_many::<String>(name), m.indices_of(name))
            {
                for (v, i) in values.zip(indices) {
                    found.push((i, Word::new(name, Some(v))));
                }
            }
        }
        for o in OPERATIONS.iter().filter(|o| o.value.is_none()) {
            // A count flag has a default (0) with an index of its own: only given ones count.
            if m.get_count(o.name) > 0 {
                if let Some(indices) = m.indices_of(o.name) {
                    found.extend(indices.map(|i| (i, Word::new(o.name, None))));
                }
            }
        }
        // `--network` alone is virt-customize's flag; with an argument it is the old name
        // of --net-config (parse_operation warns), in its place among the operations.
        let mut network: Vec<(usize, bool)> = Vec::new();
        if let (Some(values), Some(indices)) =
            (m.get_many::<String>("network"), m.indices_of("network"))
        {
            for (v, i) in values.zip(indices) {
                match v.is_empty() {
                    true => network.push((i, true)),
                    false => found.push((i, Word::new("network", Some(v)))),
                }
            }
        }
        if m.get_flag("no-network") {
            if let Some(indices) = m.indices_of("no-network") {
                network.extend(indices.map(|i| (i, false)));
            }
        }
        network.sort_by_key(|(i, _)| *i);
        found.sort_by_key(|(i, _)| *i);
        Ok(OperationArgs {
            words: found.into_iter().map(|(_, w)| w).collect(),
            network: network.last().map(|(_, on)| *on),
        })
    }

    fn update_from_arg_matches(&mut self, m: &ArgMatches) -> std::result::Result<(), clap::Error> {
        *self = Self::from_arg_matches(m)?;
        Ok(())
    }
}

impl Args for OperationArgs {
    fn augment_args(mut cmd: clap::Command) -> clap::Command {
        cmd = cmd.next_help_heading("Operations (run in the order given)");
        for o in OPERATIONS {
            let arg = Arg::new(o.name).long(o.name).help(o.help);
            cmd = cmd.arg(match o.value {
                Some(v) => arg.value_name(v).action(ArgAction::Append),
                None => arg.action(ArgAction::Count),
            });
        }
        cmd = cmd
            .arg(
                Arg::new("network")
                    .long("network")
                    .num_args(0..=1)
                    .default_missing_value("")
                    .value_name("IFACE:...")
                    .help("As a flag (virt-customize's): give the appliance QEMU's user-mode network, for --run, --install and the like (the default of customize; sysprep's default is none). With an argument: the old name of --net-config")
                    .action(ArgAction::Append),
            )
            .arg(
                Arg::new("no-network")
                    .long("no-network")
                    .help("Give the appliance no network: commands run in the guest cannot download (and the appliance starts a little faster)")
                    .action(ArgAction::SetTrue),
            );
        for (name, value, help) in FILE_OPERATIONS {
            cmd = cmd.arg(
                Arg::new(*name)
                    .long(*name)
                    .value_name(*value)
                    .help(*help)
                    .action(ArgAction::Append),
            );
        }
        cmd.next_help_heading(None)
    }

    fn augment_args_for_update(cmd: clap::Command) -> clap::Command {
        Self::augment_args(cmd)
    }
}

/// How to run and what to print.
#[derive(Debug, Args, Clone)]
pub struct RunArgs {
    /// Change nothing: open the images read-only, run the operations against a throw-away
    /// overlay and print a unified diff of every file that would change (password hashes
    /// hidden). `--dryrun` is virt-customize's other spelling.
    #[arg(short = 'n', long, visible_alias = "dryrun")]
    pub dry_run: bool,
    /// Print the report of what changed as JSON on standard output.
    #[arg(long)]
    pub json: bool,
    /// Print no progress messages.
    #[arg(short, long)]
    pub quiet: bool,
    /// Trace every call to the appliance on standard error (`libguestfs: trace: ...`
    /// lines, as virt-customize's `-x` traces libguestfs calls).
    #[arg(short = 'x')]
    pub trace: bool,
    /// Do not touch /.autorelabel on SELinux guests (the default when a run changed files,
    /// unless --selinux-relabel asks for it whatever changed).
    #[arg(long)]
    pub no_selinux_relabel: bool,
    /// Colour the messages with ANSI sequences even when standard error is not a terminal
    /// (where they are coloured anyway).
    #[arg(long = "colors", visible_aliases = ["colours", "color", "colour"])]
    pub colors: bool,
    /// Wrap the messages at the terminal's width (COLUMNS, else 80) even when standard error
    /// is not a terminal (where they are wrapped anyway).
    #[arg(long)]
    pub wrap: bool,
}

impl RunArgs {
    /// Colours and wrapping as virt-customize decides them: on for a terminal, or when asked.
    fn style(&self) -> Style {
        use std::io::IsTerminal;
        let tty = std::io::stderr().is_terminal();
        Style {
            colors: self.colors || tty,
            width: (self.wrap || tty).then(|| {
                std::env::var("COLUMNS")
                    .ok()
                    .and_then(|c| c.parse::<usize>().ok())
                    .filter(|&c| c >= 20)
                    .unwrap_or(80)
            }),
        }
    }
}

/// How progress messages are printed.
#[derive(Debug, Clone, Copy, Default)]
struct Style {
    /// Green, as virt-customize's progress messages.
    colors: bool,
    /// Wrap at this many columns; continuation lines are indented.
    width: Option<usize>,
}

static STYLE: std::sync::OnceLock<Style> = std::sync::OnceLock::new();

/// Wraps `text` at word boundaries into lines of at most `width` columns (a longer word
/// stays whole); continuation lines start with `indent` spaces.
fn wrap(text: &str, width: usize, indent: usize) -> String {
    let mut out = String::new();
    let mut col = 0;
    for word in text.split(' ') {
        let len = word.chars().count();
        if col > indent && col + 1 + len > width {
            out.push('\n');
            out.push_str(&" ".repeat(indent));
            col = indent;
        } else if !out.is_empty() {
            out.push(' ');
            col += 1;
        }
        out.push_str(word);
        col += len;
    }
    out
}

/// Customize a disk image: set its hostname, network, users, passwords and files, without
/// booting it.
///
/// The guest is found by inspection and mounted read-write; the operations run in the order
/// given. Running the same command twice changes nothing the second time. Exit status: 0
/// success, 1 an operation failed (those before it were applied), 2 bad usage.
#[derive(Debug, Args)]
pub struct CustomizeArgs {
    /// A disk image (repeat for a guest spread over several disks).
    #[arg(
        short = 'a',
        long = "add",
        value_name = "IMAGE",
        value_hint = clap::ValueHint::FilePath,
        required_unless_present = "domain",
        conflicts_with = "domain"
    )]
    pub images: Vec<PathBuf>,
    /// The images' format (raw, qcow2, ...); detected from the header when not given. Given
    /// once, it is every image's; given several times, each -a takes the last --format
    /// before it (an -a before the first is detected), as in virt-customize.
    #[arg(long, value_name = "FORMAT", value_parser = crate::options::parse_format, action = ArgAction::Append)]
    pub format: Vec<Format>,
    /// Customize the disks of this libvirt guest (a name or UUID), as `virsh dumpxml` lists
    /// them; its read-only disks (CD-ROMs, data disks) are left out.
    #[arg(short = 'd', long = "domain", value_name = "GUEST")]
    pub domain: Option<String>,
    /// The libvirt URI for --domain (virsh's default connection when not given).
    #[arg(short = 'c', long = "connect", value_name = "URI", requires = "domain")]
    pub connect: Option<String>,
    /// Attach a disk (an ISO, an image of packages) read-only to the appliance, after the
    /// guest's disks, for --run scripts to read or mount (e.g. by label). Repeatable.
    #[arg(long = "attach", value_name = "ISO", value_hint = clap::ValueHint::FilePath, action = ArgAction::Append)]
    pub attach: Vec<PathBuf>,
    /// The format of the --attach disks that follow (`auto`: detect); it must come before
    /// them.
    #[arg(long = "attach-format", value_name = "FORMAT", action = ArgAction::Append)]
    pub attach_format: Vec<String>,
    /// The appliance's memory in MiB (for --run scripts and --install that need more).
    #[arg(short = 'm', long = "memsize", value_name = "MB", value_parser = parse_memsize)]
    pub memsize: Option<u32>,
    /// The appliance's virtual CPUs, for --run scripts to use.
    #[arg(long = "smp", value_name = "N", value_parser = clap::value_parser!(u32).range(1..=255))]
    pub smp: Option<u32>,
    #[command(flatten)]
    pub run: RunArgs,
    #[command(flatten)]
    pub ops: OperationArgs,
}

fn progress(msg: &str) {
    eprintln!("{}", styled(msg));
}

/// A message as the style of the run wants it.
fn styled(msg: &str) -> String {
    let style = STYLE.get().copied().unwrap_or_default();
    let line = format!("guestwright: {msg}");
    let line = match style.width {
        Some(w) => wrap(&line, w, "guestwright: ".len()),
        None => line,
    };
    match style.colors {
        true => format!("\x1b[0;32m{line}\x1b[0m"),
        false => line,
    }
}

/// The library options for these flags (which also set how messages look).
pub fn options(run: &RunArgs) -> Options<'static> {
    let _ = STYLE.set(run.style());
    Options {
        dry_run: run.dry_run,
        selinux_relabel: !run.no_selinux_relabel,
        progress: (!run.quiet).then_some(&progress as &dyn Fn(&str)),
        trace: run.trace,
        ..Options::default()
    }
}

/// Prints the report: JSON, or the diff of a dry run, or one line per step; random passwords
/// once, to stderr.
pub fn print_report(report: &Report, run: &RunArgs) -> Result {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    if run.json {
        let text = serde_json::to_string_pretty(report).expect("the report serializes");
        writeln!(out, "{text}").map_err(crate::error::stdout)?;
    } else if run.dry_run {
        out.write_all(report.diff.as_bytes())
            .map_err(crate::error::stdout)?;
    } else if !run.quiet {
        out.write_all(report.summary().as_bytes())
            .map_err(crate::error::stdout)?;
    }
    out.flush().map_err(crate::error::stdout)?;
    for (user, pw) in &report.generated_passwords {
        if run.dry_run {
            eprintln!(
                "{}",
                styled(&format!(
                    "dry run: a random password would be set for {user}"
                ))
            );
        } else {
            eprintln!(
                "guestwright: random password for {user}: {}",
                String::from_utf8_lossy(pw.expose())
            );
        }
    }
    if !run.quiet && !run.json {
        let what = match (run.dry_run, report.changed) {
            (true, true) => "dry run: the changes above were not written",
            (true, false) => "dry run: nothing would change",
            (false, true) => "done",
            (false, false) => "done: nothing needed changing",
        };
        eprintln!("{}", styled(what));
    }
    Ok(())
}

/// Parses the operation words (reading command and TOML files) into a plan.
pub fn plan(ops: &OperationArgs) -> std::result::Result<Plan, CustomizeError> {
    let operations = customize::expand(&ops.words)?;
    Ok(Plan {
        operations,
        ..Plan::default()
    })
}

fn parse_memsize(s: &str) -> std::result::Result<u32, String> {
    let range = guestwright::launch::MEMORY_MIB;
    s.parse::<u32>()
        .ok()
        .filter(|m| range.contains(m))
        .ok_or_else(|| {
            format!(
                "{s:?} is not a memory size: give a whole number of MiB from {} to {}",
                range.start(),
                range.end()
            )
        })
}

fn usage(op: &str, reason: impl Into<String>) -> CliError {
    CliError::Customize(CustomizeError::InvalidArgument {
        op: op.into(),
        reason: reason.into(),
    })
}

/// The `--attach` disks with the `--attach-format` before each, in command-line order.
fn attached(args: &CustomizeArgs, m: &AttachIndices) -> Result<Vec<customize::Disk>> {
    let mut events: Vec<(usize, Option<&str>, Option<&PathBuf>)> = Vec::new();
    events.extend(
        m.formats
            .iter()
            .zip(&args.attach_format)
            .map(|(&i, f)| (i, Some(f.as_str()), None)),
    );
    events.extend(
        m.disks
            .iter()
            .zip(&args.attach)
            .map(|(&i, d)| (i, None, Some(d))),
    );
    events.sort_by_key(|e| e.0);
    let mut format: Option<Format> = None;
    let mut pending = false;
    let mut out = Vec::new();
    for (_, f, d) in events {
        if let Some(f) = f {
            format = match f {
                "auto" => None,
                f => Some(crate::options::parse_format(f).map_err(|e| usage("attach-format", e))?),
            };
            pending = true;
        }
        if let Some(d) = d {
            out.push(customize::Disk {
                path: d.clone(),
                format,
                attached: true,
            });
            pending = false;
        }
    }
    if pending {
        return Err(usage(
            "attach-format",
            "it applies to the --attach options after it, and none follows: put it before --attach",
        ));
    }
    Ok(out)
}

/// Where `--attach` and `--attach-format`, `-a` and `--format` were on the command line.
#[derive(Debug, Default)]
pub struct AttachIndices {
    /// `--attach-format` positions.
    pub formats: Vec<usize>,
    /// `--attach` positions.
    pub disks: Vec<usize>,
    /// `--format` positions.
    pub image_formats: Vec<usize>,
    /// `-a` positions.
    pub images: Vec<usize>,
}

impl AttachIndices {
    /// Reads them from the subcommand's matches.
    pub fn from_matches(m: &ArgMatches) -> AttachIndices {
        let idx = |name: &str| m.indices_of(name).map(|i| i.collect()).unwrap_or_default();
        AttachIndices {
            formats: idx("attach_format"),
            disks: idx("attach"),
            image_formats: idx("format"),
            images: idx("images"),
        }
    }
}

/// Each image's format: the one `--format` when there is one (whatever its place), else
/// the last `--format` before the image's `-a`, else none (detected).
fn image_formats(args: &CustomizeArgs, m: &AttachIndices) -> Vec<Option<Format>> {
    if let [one] = args.format[..] {
        return vec![Some(one); args.images.len()];
    }
    (0..args.images.len())
        .map(|i| {
            let at = m.images.get(i).copied().unwrap_or(usize::MAX);
            m.image_formats
                .iter()
                .zip(&args.format)
                .filter(|(&f, _)| f < at)
                .map(|(_, f)| *f)
                .next_back()
        })
        .collect()
}

/// Runs `customize`.
pub fn run(
    args: &CustomizeArgs,
    attach: &AttachIndices,
    appliance: &ApplianceArgs,
    verbose: bool,
) -> Result {
    let report = report(args, attach, appliance, verbose)?;
    print_report(&report, &args.run)
}

/// Runs `customize` and returns its report without printing it (`batch` prints it as part
/// of a job's result). Success means every change is in the image files.
pub fn report(
    args: &CustomizeArgs,
    attach: &AttachIndices,
    appliance: &ApplianceArgs,
    verbose: bool,
) -> Result<Report> {
    let plan = plan(&args.ops)?;
    plan.check()?;
    if plan.selinux_relabel() && args.run.no_selinux_relabel {
        return Err(usage(
            "selinux-relabel",
            "--no-selinux-relabel says the opposite: give one of them",
        ));
    }
    let mut disks: Vec<customize::Disk> = match &args.domain {
        Some(dom) => crate::libvirt::domain_disks(args.connect.as_deref(), dom)?
            .into_iter()
            .map(|d| customize::Disk {
                path: d.path,
                format: args.format.first().copied().or(d.format),
                attached: false,
            })
            .collect(),
        None => args
            .images
            .iter()
            .zip(image_formats(args, attach))
            .map(|(p, format)| customize::Disk {
                path: p.clone(),
                format,
                attached: false,
            })
            .collect(),
    };
    disks.extend(attached(args, attach)?);
    if plan.operations.is_empty() {
        return Err(CliError::Customize(CustomizeError::InvalidArgument {
            op: "customize".into(),
            reason: "no operation given: add at least one, e.g. --hostname NAME (see --help)"
                .into(),
        }));
    }
    let mut config = launch_config(appliance, verbose)?;
    // As in virt-customize, the network is on unless --no-network; it is started only when
    // an operation runs guest programs, the only ones that can see it.
    config.network = args.ops.network.unwrap_or(true) && plan.runs_in_guest();
    if let Some(m) = args.memsize {
        config.memory_mib = m;
    }
    if let Some(n) = args.smp {
        config.smp = n;
    }
    Ok(customize::run_disks(
        &disks,
        config,
        &plan,
        &options(&args.run),
    )?)
}
