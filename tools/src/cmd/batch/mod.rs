//! `guestwright batch`: run a file of jobs (customize, sysprep, inspect, copy-in, copy-out on
//! their own images) on several appliances at once, one result line per job.
//!
//! The jobs run on a [`Pool`] of K appliance slots, the library's type for this, one job
//! per slot at a time, on a worker thread. Each slot keeps its appliance from one job to
//! the next ([`Pool::reusing`]: the job's images are attached to the appliance's drive
//! slots, and between jobs the appliance is checked clean); `--no-reuse` launches one for
//! every job. A job whose command fails, whose image is damaged or whose appliance dies
//! fails alone and the workers go on; a dead or unclean appliance is replaced. A result
//! line is printed only after the job's command returned, which for commands that write is
//! after the appliance flushed and QEMU closed the images (detached, or QEMU exited) and
//! the files were fsynced: a job reported ok is on disk.
//! This module must never run a job's operation itself: [`exec`] hands it to the single
//! command's code, so a job and the command line behave alike.

mod exec;
pub mod job;
mod results;

use std::io::{IsTerminal, Read, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::Instant;

use clap::Args;

use crate::error::{CliError, Result};
use crate::options::ApplianceArgs;
use guestwright::pool::{Pool, Slot};
use job::Job;
use results::{JobResult, Shard, Status};

/// Run many jobs (customize, sysprep, inspect, copy-in, copy-out), several appliances at a
/// time.
///
/// JOBS is a JSON Lines file (`-`: standard input), one job per line:
/// `{"id": "vm01", "drives": [{"path": "vm01.qcow2", "format": "qcow2"}], "customize":
/// ["--hostname", "vm01"]}`.
/// The operation's list holds the arguments of the command of that name; the drives become
/// its `-a` (and `--format`) options. Each appliance serves one job after another (its drive
/// slots re-pointed, checked clean in between). One result per job is printed on standard
/// output as a JSON line (id, line, status ok/failed, duration_ms, changed, result, error), a
/// summary on standard error. Exit status: 0 every job ok, 1 some job failed, 2 bad usage.
#[derive(Debug, Args)]
pub struct BatchArgs {
    /// The job file (JSON Lines; `-` for standard input).
    #[arg(value_name = "JOBS")]
    pub jobs: PathBuf,
    /// How many appliances run at once [default: what the cores and the free memory allow].
    #[arg(long, value_name = "K", value_parser = clap::value_parser!(u32).range(1..=256))]
    pub appliances: Option<u32>,
    /// Skip the jobs whose id has status ok in this results file of an earlier run (a
    /// missing file skips nothing).
    #[arg(long, value_name = "RESULTS")]
    pub resume: Option<PathBuf>,
    /// Run only every N-th job, starting at index I (0-based: `--shard
    /// $JOB_COMPLETION_INDEX/N`); N runs with I = 0..N-1 together run every job once.
    #[arg(long, value_name = "I/N")]
    pub shard: Option<Shard>,
    /// Launch a new appliance for every job instead of having each appliance serve one job
    /// after another (re-pointing its drive slots, checked clean between jobs).
    #[arg(long)]
    pub no_reuse: bool,
}

/// Memory an appliance takes besides its guest RAM (QEMU itself, TCG's code cache).
const QEMU_OVERHEAD_MIB: u64 = 256;

/// As many appliances as cores, and no more than the available memory holds.
fn default_appliances(memory_mib: u32) -> usize {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let per = u64::from(memory_mib) + QEMU_OVERHEAD_MIB;
    let avail_mib = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find_map(|l| l.strip_prefix("MemAvailable:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        })
        .map_or(u64::MAX, |kb| kb / 1024);
    let by_memory = usize::try_from(avail_mib / per).unwrap_or(usize::MAX);
    cores.min(by_memory).max(1)
}

fn read_jobs(path: &std::path::Path) -> Result<String> {
    let mut text = String::new();
    let r = if path.as_os_str() == "-" {
        std::io::stdin().read_to_string(&mut text)
    } else {
        std::fs::File::open(path).and_then(|mut f| f.read_to_string(&mut text))
    };
    // Exit 2: the batch's own argument is wrong, no job ran.
    r.map_err(|e| {
        CliError::Usage(format!(
            "cannot read the job file {}: {e}",
            guestwright::error::escape_path(path)
        ))
    })?;
    Ok(text)
}

/// Runs one job on a slot of the pool and times it; a panic in a job's code fails that job
/// only.
fn run_job(pool: &Pool, job: &Job, appliance: &ApplianceArgs, verbose: bool) -> JobResult {
    let start = Instant::now();
    let (operation, outcome) = match &job.spec {
        Err(e) => (None, Err(e.clone())),
        Ok(spec) => {
            // The slot's configuration is the one `launch_config` made from these same
            // appliance options; the single commands take the options, so they get those.
            let r = pool.submit(|slot: &Slot<'_>| {
                crate::session::with_lease(slot.lease(), || exec::run(spec, appliance, verbose))
            });
            let r = match r {
                Ok(Ok(o)) => Ok(o),
                Ok(Err(e)) => Err(guestwright::error::chain(&e)),
                Err(e) => Err(e.to_string()),
            };
            (Some(spec.operation.to_string()), r)
        }
    };
    let duration_ms = u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX);
    let (status, changed, result, error) = match outcome {
        Ok(o) => (
            Status::Ok,
            o.changed,
            (!o.result.is_null()).then_some(o.result),
            None,
        ),
        Err(e) => (Status::Failed, None, None, Some(e)),
    };
    JobResult {
        id: job.id.clone(),
        line: job.line,
        status,
        operation,
        duration_ms,
        changed,
        result,
        error,
    }
}

fn bar(total: usize) -> indicatif::ProgressBar {
    if !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let b = indicatif::ProgressBar::new(total as u64);
    b.set_style(
        indicatif::ProgressStyle::with_template("batch {bar:30} {pos}/{len} jobs, {msg} eta {eta}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    b.set_message("0 failed");
    b
}

/// Runs `batch`.
pub fn run(args: &BatchArgs, appliance: &ApplianceArgs, verbose: bool) -> Result {
    let started = Instant::now();
    let text = read_jobs(&args.jobs)?;
    let all = job::parse(&text);
    let done = match &args.resume {
        Some(p) => results::finished(p).map_err(|source| CliError::HostIo {
            path: p.clone(),
            source,
        })?,
        None => Default::default(),
    };
    let (jobs, skipped) = results::select(all, args.shard, &done);
    // Checked once, before any job: a bad --key or environment is the batch's, not a job's.
    let config = crate::session::launch_config(appliance, verbose)?;
    let k = args
        .appliances
        .map_or_else(|| default_appliances(config.memory_mib), |k| k as usize)
        .min(jobs.len().max(1));
    log::info!(
        "batch: {} jobs on {k} appliances ({skipped} skipped)",
        jobs.len()
    );
    let pool = if args.no_reuse {
        Pool::new(k, config)
    } else {
        Pool::reusing(k, config)
    };
    let next = AtomicUsize::new(0);
    let (tx, rx) = mpsc::channel::<JobResult>();
    let progress = bar(jobs.len());
    let mut failed: Vec<(String, usize)> = Vec::new();
    let mut ok = 0usize;
    let mut out_err: Option<std::io::Error> = None;
    std::thread::scope(|s| {
        for _ in 0..k {
            let tx = tx.clone();
            let (jobs, next, pool) = (&jobs, &next, &pool);
            s.spawn(move || loop {
                // After Ctrl-C or SIGTERM no new job starts; the running ones are stopped.
                if crate::signals::received().is_some() {
                    break;
                }
                let Some(job) = jobs.get(next.fetch_add(1, Ordering::Relaxed)) else {
                    break;
                };
                if tx.send(run_job(pool, job, appliance, verbose)).is_err() {
                    break;
                }
            });
        }
        drop(tx);
        let mut stdout = std::io::stdout().lock();
        for r in rx {
            let line = serde_json::to_string(&r).expect("a result serializes");
            if out_err.is_none() {
                if let Err(e) = writeln!(stdout, "{line}").and_then(|()| stdout.flush()) {
                    out_err = Some(e);
                }
            }
            match r.status {
                Status::Ok => ok += 1,
                Status::Failed => {
                    progress.suspend(|| {
                        eprintln!(
                            "guestwright: batch: {} (line {}) failed: {}",
                            r.id,
                            r.line,
                            r.error.as_deref().unwrap_or_default()
                        )
                    });
                    failed.push((r.id.clone(), r.line));
                }
            }
            progress.inc(1);
            progress.set_message(format!("{} failed", failed.len()));
        }
    });
    progress.finish_and_clear();
    if let Some(e) = out_err {
        return Err(crate::error::stdout(e));
    }
    let not_run = jobs.len() - ok - failed.len();
    let launches = if args.no_reuse {
        String::new()
    } else {
        format!("; {} appliance launches", pool.launches())
    };
    // The pool's appliances stop here, before the summary's time is taken.
    drop(pool);
    eprintln!(
        "guestwright: batch: {} jobs in {:.1} s on {k} appliances: {ok} ok, {} failed{}{}{launches}",
        jobs.len(),
        started.elapsed().as_secs_f64(),
        failed.len(),
        if skipped > 0 {
            format!(", {skipped} skipped (ok in --resume)")
        } else {
            String::new()
        },
        if not_run > 0 {
            format!(", {not_run} not run (stopped)")
        } else {
            String::new()
        },
    );
    if failed.is_empty() && not_run == 0 {
        return Ok(());
    }
    let ids: Vec<&str> = failed.iter().map(|(id, _)| id.as_str()).collect();
    Err(CliError::Batch(format!(
        "{} of {} jobs failed or did not run ({}): rerun with --resume RESULTS to run only those",
        failed.len() + not_run,
        jobs.len(),
        ids.join(", ")
    )))
}
