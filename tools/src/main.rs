//! `guestwright`: edit and inspect virtual-machine disk images without root.

mod cmd;
mod error;
mod format;
mod fuse;
mod keys;
mod libvirt;
mod listing;
mod logger;
mod options;
mod progress;
mod session;
mod shell;
mod signals;
mod stdin;
mod sys;

use clap::{FromArgMatches, Parser, Subcommand};
use std::process::ExitCode;

/// Edit and inspect virtual-machine disk images without root and without booting them.
///
/// Each command starts a small appliance (this host's kernel and a daemon) under QEMU with
/// the images attached; the guest's filesystems are only ever parsed by the appliance's
/// kernel. Readers open images read-only: their bytes never change.
///
/// Exit status: 0 success, 1 failure, 2 usage error, 128 + N stopped by signal N (130
/// Ctrl-C, 143 SIGTERM: the images are closed cleanly and unfinished host files removed).
#[derive(Debug, Parser)]
#[command(
    name = "guestwright",
    version,
    propagate_version = true,
    max_term_width = 100
)]
struct Cli {
    /// Print what happens, including the appliance's console (repeat for more).
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,
    #[command(flatten)]
    appliance: options::ApplianceArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    Cat(cmd::cat::CatArgs),
    Ls(cmd::ls::LsArgs),
    CopyIn(cmd::copy::CopyInArgs),
    CopyOut(cmd::copy::CopyOutArgs),
    Edit(cmd::edit::EditArgs),
    Write(cmd::write::WriteArgs),
    TarIn(cmd::tar::TarInArgs),
    TarOut(cmd::tar::TarOutArgs),
    Inspect(cmd::inspect::InspectArgs),
    Filesystems(cmd::filesystems::FilesystemsArgs),
    Df(cmd::df::DfArgs),
    Diff(cmd::diff::DiffArgs),
    Format(cmd::format::FormatArgs),
    MakeFs(cmd::make_fs::MakeFsArgs),
    Customize(cmd::customize::CustomizeArgs),
    Sysprep(cmd::sysprep::SysprepArgs),
    Clone(cmd::clone::CloneArgs),
    Rescue(cmd::rescue::RescueArgs),
    Batch(cmd::batch::BatchArgs),
    Shell(shell::ShellArgs),
    InstallLinks(cmd::links::InstallLinksArgs),
    Mount(fuse::MountArgs),
    Umount(fuse::UmountArgs),
    Completions(cmd::completions::CompletionsArgs),
    Man(cmd::man::ManArgs),
}

impl Command {
    /// The reference tool whose messages this run prints (`--messages virt`), if any.
    fn virt_tool(&self) -> Option<guestwright::customize::VirtTool> {
        use cmd::customize::Messages::Virt;
        use guestwright::customize::VirtTool;
        match self {
            Command::Customize(a) if a.run.messages == Virt => Some(VirtTool::Customize),
            Command::Sysprep(a) if a.run.messages == Virt => Some(VirtTool::Sysprep),
            _ => None,
        }
    }

    /// The image options of the subcommands that take them.
    fn image_args_mut(&mut self) -> Option<&mut options::ImageArgs> {
        match self {
            Command::Cat(a) => Some(&mut a.image),
            Command::Ls(a) => Some(&mut a.image),
            Command::CopyIn(a) => Some(&mut a.image),
            Command::CopyOut(a) => Some(&mut a.image),
            Command::Edit(a) => Some(&mut a.image),
            Command::Write(a) => Some(&mut a.image),
            Command::TarIn(a) => Some(&mut a.image),
            Command::TarOut(a) => Some(&mut a.image),
            Command::Inspect(a) => Some(&mut a.image),
            Command::Filesystems(a) => Some(&mut a.image),
            Command::Df(a) => Some(&mut a.image),
            _ => None,
        }
    }
}

fn run(cli: &Cli, attach: &cmd::customize::AttachIndices) -> error::Result {
    let verbose = cli.verbose > 0;
    match &cli.command {
        Command::Cat(a) => cmd::cat::run(a, &cli.appliance, verbose),
        Command::Ls(a) => cmd::ls::run(a, &cli.appliance, verbose),
        Command::CopyIn(a) => cmd::copy::run_in(a, &cli.appliance, verbose),
        Command::CopyOut(a) => cmd::copy::run_out(a, &cli.appliance, verbose),
        Command::Edit(a) => cmd::edit::run(a, &cli.appliance, verbose),
        Command::Write(a) => cmd::write::run(a, &cli.appliance, verbose),
        Command::TarIn(a) => cmd::tar::run_in(a, &cli.appliance, verbose),
        Command::TarOut(a) => cmd::tar::run_out(a, &cli.appliance, verbose),
        Command::Inspect(a) => cmd::inspect::run(a, &cli.appliance, verbose),
        Command::Filesystems(a) => cmd::filesystems::run(a, &cli.appliance, verbose),
        Command::Df(a) => cmd::df::run(a, &cli.appliance, verbose),
        Command::Diff(a) => cmd::diff::run(a, &cli.appliance, verbose),
        Command::Format(a) => cmd::format::run(a, &cli.appliance, verbose),
        Command::MakeFs(a) => cmd::make_fs::run(a, &cli.appliance, verbose),
        Command::Customize(a) => cmd::customize::run(a, attach, &cli.appliance, verbose),
        Command::Sysprep(a) => cmd::sysprep::run(a, &cli.appliance, verbose),
        Command::Clone(a) => cmd::clone::run(a, &cli.appliance, verbose),
        Command::Rescue(a) => cmd::rescue::run(a, &cli.appliance, verbose),
        Command::Batch(a) => cmd::batch::run(a, &cli.appliance, verbose),
        Command::InstallLinks(a) => cmd::links::run(a),
        Command::Completions(a) => cmd::completions::run(a),
        Command::Man(a) => cmd::man::run(a),
        // Run from `main`: these report their own errors and have their own exit codes.
        Command::Shell(_) | Command::Mount(_) | Command::Umount(_) => Ok(()),
    }
}

/// The reference tools whose option parser checks each -a image with access(2) as it reads
/// it (libguestfs's C tools; virt-copy-in and friends are shell scripts, and
/// virt-customize and virt-sysprep word it their own way).
const CHECK_ACCESS: &[&str] = &[
    "virt-cat",
    "virt-ls",
    "virt-edit",
    "virt-inspector",
    "virt-filesystems",
    "virt-df",
    "virt-diff",
    "virt-format",
    "guestmount",
];

/// Started as one of [`CHECK_ACCESS`], an image that does not exist stops the command in
/// that tool's words before anything starts.
fn check_images(command: &mut Command) -> error::Result {
    let Some(tool) = cmd::links::started_as().filter(|t| CHECK_ACCESS.contains(t)) else {
        return Ok(());
    };
    let images: Vec<std::path::PathBuf> = match command {
        Command::Format(a) => a.images().to_vec(),
        Command::Diff(a) => a.images(),
        Command::Mount(a) => a.images().to_vec(),
        c => c
            .image_args_mut()
            .map(|a| a.images.clone())
            .unwrap_or_default(),
    };
    images
        .iter()
        .try_for_each(|i| session::check_access(tool, i))
}

fn main() -> ExitCode {
    cmd::customize::start_clock();
    let matches = <Cli as clap::CommandFactory>::command()
        .get_matches_from(cmd::links::as_subcommand(std::env::args_os().collect()));
    let mut cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    // Which -a each --format belongs to depends on where they stand.
    if let (Some(image), Some((_, sub))) = (cli.command.image_args_mut(), matches.subcommand()) {
        image.place_formats(sub);
    }
    match (&mut cli.command, matches.subcommand()) {
        (Command::Rescue(r), Some((_, sub))) => r.place_formats(sub),
        (Command::Format(f), Some((_, sub))) => f.place_formats(sub),
        (Command::Diff(d), Some((_, sub))) => d.place_formats(sub),
        _ => {}
    }
    if let (Command::Sysprep(s), Some((_, sub))) = (&mut cli.command, matches.subcommand()) {
        s.place_formats(sub);
    }
    // Where --attach-format stands among the --attach options matters.
    let attach = matches
        .subcommand_matches("customize")
        .map(cmd::customize::AttachIndices::from_matches)
        .unwrap_or_default();
    cli.appliance.keys.scrub_command_line();
    logger::init(cli.verbose);
    if let Err(e) = check_images(&mut cli.command) {
        return e.report();
    }
    match &cli.command {
        Command::Shell(a) => return shell::run(a, &cli.appliance, cli.verbose),
        Command::Mount(a) => return fuse::mount(a, &cli.appliance, cli.verbose > 0),
        Command::Umount(a) => return fuse::umount(a),
        _ => signals::install(),
    }
    let result = run(&cli, &attach);
    // Stopped by a signal: whatever the command made of its cancelled call, one line.
    if let Some(sig) = signals::received() {
        return signals::report(sig);
    }
    match (result, cli.command.virt_tool()) {
        (Ok(()), _) => ExitCode::SUCCESS,
        (Err(e), Some(tool)) => e.report_as_virt(cmd::customize::virt_name(tool)),
        (Err(e), None) => e.report(),
    }
}
