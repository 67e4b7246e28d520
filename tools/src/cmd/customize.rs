//! `guestwright customize`: run customize operations on a disk image, in command-line order.
//!
//! The operation options are generated from the library's one table
//! (`guestwright::customize::OPERATIONS`); their order on the command line is recovered from
//! clap's argument indices. The shared pieces here (run options, printing the report) serve
//! `sysprep` and `clone` too.

use std::path::PathBuf;

use clap::{Arg, ArgAction, ArgMatches, Args, FromArgMatches};
use guestwright::customize::{
    self, CustomizeError, Options, Plan, Progress, Report, VirtTool, Word, OPERATIONS,
};
use guestwright::Format;

use crate::error::{CliError, Result};
use crate::options::{ApplianceArgs, FormatChoice};
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
    /// How to print progress: `guestwright` (`guestwright: MESSAGE` on standard error, then
    /// a summary of what changed on standard output, which scripts read) or `virt` (as
    /// virt-customize and virt-sysprep 1.48 do: `[  12.3] Message` on standard output, no
    /// summary). Run as virt-customize or virt-sysprep, `virt` is the default.
    #[arg(long, value_enum, value_name = "STYLE", default_value_t = Messages::Guestwright)]
    pub messages: Messages,
}

/// How progress is printed (`--messages`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Messages {
    /// guestwright's own: on standard error, standard output keeps the report.
    Guestwright,
    /// virt-customize's and virt-sysprep's, byte for byte: on standard output.
    Virt,
}

impl RunArgs {
    /// Colours and wrapping as virt-customize decides them: on for a terminal, or when asked.
    fn style(&self, tool: VirtTool) -> Style {
        use std::io::IsTerminal;
        let virt = (self.messages == Messages::Virt).then_some(tool);
        if virt.is_some() {
            // virt-customize colours its messages (on standard output) and never wraps them.
            return Style {
                colors: self.colors || std::io::stdout().is_terminal(),
                width: None,
                virt,
            };
        }
        let tty = std::io::stderr().is_terminal();
        Style {
            virt,
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
    /// Printed as this reference tool prints its messages (`--messages virt`).
    virt: Option<VirtTool>,
}

static STYLE: std::sync::OnceLock<Style> = std::sync::OnceLock::new();

/// When the program started: virt-customize's messages count the seconds from there.
static START: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();

/// Starts the clock of the `[  12.3]` times; `main` calls it first thing.
pub fn start_clock() {
    let _ = START.get_or_init(std::time::Instant::now);
}

/// Prints `msg` as virt-customize's `message` does: `[%6.1f] ` seconds since the start,
/// the text (green when coloured), on standard output, flushed.
fn virt_message(msg: &str) {
    use std::io::Write;
    let style = STYLE.get().copied().unwrap_or_default();
    let secs = START
        .get_or_init(std::time::Instant::now)
        .elapsed()
        .as_secs_f64();
    let text = match style.colors {
        true => format!("\x1b[0;32m{msg}\x1b[0m"),
        false => msg.to_owned(),
    };
    let mut out = std::io::stdout().lock();
    // A closed standard output loses the progress, not the run.
    let _ = writeln!(out, "[{:>6}] {text}", format!("{secs:.1}")).and_then(|()| out.flush());
}

/// Prints a warning as virt-customize's `warning` does: `PROG: warning: TEXT` on standard
/// output (blue when coloured).
fn virt_warning(tool: VirtTool, msg: &str) {
    use std::io::Write;
    let style = STYLE.get().copied().unwrap_or_default();
    let line = format!("{}: warning: {msg}", virt_name(tool));
    let text = match style.colors {
        true => format!("\x1b[1;34m{line}\x1b[0m"),
        false => line,
    };
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{text}").and_then(|()| out.flush());
}

/// The reference tool's program name.
pub fn virt_name(tool: VirtTool) -> &'static str {
    match tool {
        VirtTool::Customize => "virt-customize",
        VirtTool::Sysprep => "virt-sysprep",
    }
}

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
    /// The images' format (raw, qcow2, ...; `auto`: detect, the default); detected from the
    /// header when not given. Given once, it is every image's; given several times, each -a
    /// takes the last --format before it (an -a before the first is detected), as in
    /// virt-customize (`--format raw -a disk.img --format auto -a another.img`).
    #[arg(long, value_name = "FORMAT", value_parser = crate::options::parse_format_choice, action = ArgAction::Append)]
    pub format: Vec<FormatChoice>,
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

fn progress(step: Progress<'_>) {
    match STYLE.get().and_then(|s| s.virt) {
        Some(tool) => match step {
            Progress::Warning(w) => virt_warning(tool, w),
            step => step
                .virt_messages(tool)
                .iter()
                .for_each(|m| virt_message(m)),
        },
        None => eprintln!("{}", styled(&step.to_string())),
    }
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
    options_as(run, VirtTool::Customize)
}

/// [`options`], with `--messages virt` worded as `tool` words them.
pub fn options_as(run: &RunArgs, tool: VirtTool) -> Options<'static> {
    let _ = STYLE.set(run.style(tool));
    let virt = run.messages == Messages::Virt;
    Options {
        dry_run: run.dry_run,
        // virt-customize 1.48 marks an SELinux guest for relabelling only when
        // --selinux-relabel asks (its --no-selinux-relabel is accepted and does nothing).
        selinux_relabel: !run.no_selinux_relabel && !virt,
        // Warnings are shown even with --quiet, as virt-customize shows them.
        progress: match (run.quiet, virt) {
            (true, false) => None,
            (true, true) => Some(&quiet_virt as &dyn Fn(Progress<'_>)),
            (false, _) => Some(&progress as &dyn Fn(Progress<'_>)),
        },
        virt_order: virt,
        trace: run.trace,
        ..Options::default()
    }
}

fn quiet_virt(step: Progress<'_>) {
    if let Progress::Warning(_) = step {
        progress(step);
    }
}

/// Prints the report: JSON, or the diff of a dry run, or one line per step; random passwords
/// once, to stderr.
pub fn print_report(report: &Report, run: &RunArgs) -> Result {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    if let Some(tool) = STYLE.get().and_then(|s| s.virt).filter(|_| !run.json) {
        // As virt-customize: the progress was the output (a dry run's diff is not shown:
        // `--messages guestwright` shows it); random passwords are its `info`.
        for (user, pw) in &report.generated_passwords {
            let line = format!(
                "{}: Setting random password of {user} to {}",
                virt_name(tool),
                String::from_utf8_lossy(pw.expose())
            );
            match STYLE.get().is_some_and(|s| s.colors) {
                true => writeln!(out, "\x1b[1;35m{line}\x1b[0m"),
                false => writeln!(out, "{line}"),
            }
            .map_err(crate::error::stdout)?;
        }
        return out.flush().map_err(crate::error::stdout);
    }
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
    placed_formats(&args.format, &m.image_formats, &m.images, args.images.len())
}

/// virt-customize's and virt-sysprep's refusal of a `--format` that no `-a` follows
/// (guestwright's subcommands take one such `--format` for every image).
pub const FORMAT_AFTER_A: &str = "--format parameter must appear before -a parameter";

/// True when a `--format` stands after the last `-a`.
fn format_after_last_image(m: &AttachIndices) -> bool {
    m.image_formats.last() > m.images.last()
}

/// Each of `n` images' format, from the `--format` values `formats` at the command-line
/// positions `at_format` and the `-a` positions `at_image`: the one `--format` when there is
/// one (whatever its place), else the last `--format` before the image's `-a`, else none
/// (detected). Shared with `sysprep`.
pub fn placed_formats(
    formats: &[FormatChoice],
    at_format: &[usize],
    at_image: &[usize],
    n: usize,
) -> Vec<Option<Format>> {
    if let [one] = formats {
        return vec![one.0; n];
    }
    (0..n)
        .map(|i| {
            let at = at_image.get(i).copied().unwrap_or(usize::MAX);
            at_format
                .iter()
                .zip(formats)
                .filter(|(&f, _)| f < at)
                .map(|(_, f)| f.0)
                .next_back()
                .flatten()
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
    if args.run.messages == Messages::Virt && format_after_last_image(attach) {
        return Err(CliError::Usage(FORMAT_AFTER_A.into()));
    }
    let plan = plan(&args.ops)?;
    plan.check()?;
    if let (Some(user), false) = (
        plan.user_with_two_passwords(),
        args.run.messages == Messages::Virt,
    ) {
        return Err(usage(
            "password",
            format!("user {user:?} is given a password twice (--root-password is root's): give one per user"),
        ));
    }
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
                format: args.format.first().and_then(|f| f.0).or(d.format),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn choice(f: Option<Format>) -> FormatChoice {
        FormatChoice(f)
    }

    #[test]
    fn each_image_takes_the_last_format_before_it_and_auto_detects() {
        let raw = Some(Format::Raw);
        // --format raw -a disk.img --format auto -a another.img
        assert_eq!(
            placed_formats(&[choice(raw), choice(None)], &[1, 5], &[3, 7], 2),
            vec![raw, None]
        );
        // -a disk.img --format raw --format auto -a another.img: the first is detected.
        assert_eq!(
            placed_formats(&[choice(raw), choice(None)], &[3, 5], &[1, 7], 2),
            vec![None, None]
        );
        // One --format is every image's, wherever it stands.
        assert_eq!(
            placed_formats(&[choice(raw)], &[5], &[1, 3], 2),
            vec![raw, raw]
        );
        assert_eq!(placed_formats(&[], &[], &[1], 1), vec![None]);
    }
}
