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
    /// Do not touch /.autorelabel on SELinux guests.
    #[arg(long)]
    pub no_selinux_relabel: bool,
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
    #[arg(short = 'a', long = "add", value_name = "IMAGE", required = true)]
    pub images: Vec<PathBuf>,
    /// The images' format (raw, qcow2, ...); detected from the header when not given.
    #[arg(long, value_name = "FORMAT", value_parser = crate::options::parse_format)]
    pub format: Option<Format>,
    #[command(flatten)]
    pub run: RunArgs,
    #[command(flatten)]
    pub ops: OperationArgs,
}

fn progress(msg: &str) {
    eprintln!("guestwright: {msg}");
}

/// The library options for these flags.
pub fn options(run: &RunArgs) -> Options<'static> {
    Options {
        dry_run: run.dry_run,
        selinux_relabel: !run.no_selinux_relabel,
        progress: (!run.quiet).then_some(&progress as &dyn Fn(&str)),
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
            eprintln!("guestwright: dry run: a random password would be set for {user}");
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
        eprintln!("guestwright: {what}");
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

/// Runs `customize`.
pub fn run(args: &CustomizeArgs, appliance: &ApplianceArgs, verbose: bool) -> Result {
    let plan = plan(&args.ops)?;
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
    let report = customize::run_images(
        &args.images,
        args.format,
        config,
        &plan,
        &options(&args.run),
    )?;
    print_report(&report, &args.run)
}
