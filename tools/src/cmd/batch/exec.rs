//! Running one job: its argument list is parsed by the clap definition of the single command
//! of the same name (so a job accepts exactly what that command accepts, with the same
//! messages), then that command's code runs and its result is returned as JSON instead of
//! printed. Every command returns only once its writes are in the image files.

use clap::{Args, FromArgMatches};
use serde_json::{json, Value};

use super::job::Spec;
use crate::cmd::{copy, customize, inspect, sysprep};
use crate::error::{CliError, Result};
use crate::options::ApplianceArgs;

/// What a job that succeeded did.
#[derive(Debug)]
pub struct Outcome {
    /// Whether it changed the images (`None` for operations that only read).
    pub changed: Option<bool>,
    /// The command's report (customize and sysprep as with `--json`, inspect's JSON).
    pub result: Value,
}

/// Parses `spec.argv` with `T`'s clap definition under the operation's name.
fn parse<T: Args + FromArgMatches>(spec: &Spec) -> Result<(T, clap::ArgMatches)> {
    let (name, argv) = (spec.operation, &spec.argv);
    let cmd = T::augment_args(clap::Command::new(name).color(clap::ColorChoice::Never));
    let m = cmd.try_get_matches_from(argv).map_err(clap_usage)?;
    let args = T::from_arg_matches(&m).map_err(clap_usage)?;
    Ok((args, m))
}

/// clap's message without its `error: ` prefix, its usage block and its tips: one line.
fn clap_usage(e: clap::Error) -> CliError {
    let text = e.to_string();
    let first = text.lines().next().unwrap_or_default();
    CliError::Usage(first.strip_prefix("error: ").unwrap_or(first).to_string())
}

/// Runs one job to the end.
pub fn run(spec: &Spec, appliance: &ApplianceArgs, verbose: bool) -> Result<Outcome> {
    match spec.operation {
        "customize" => {
            let (mut a, m) = parse::<customize::CustomizeArgs>(spec)?;
            let attach = customize::AttachIndices::from_matches(&m);
            a.run.quiet = true;
            let report = customize::report(&a, &attach, appliance, verbose)?;
            Ok(Outcome {
                changed: Some(report.changed),
                result: report_json(&report),
            })
        }
        "sysprep" => {
            let (mut a, m) = parse::<sysprep::SysprepArgs>(spec)?;
            a.place_formats(&m);
            a.run.quiet = true;
            let report = sysprep::report(&a, appliance, verbose)?;
            Ok(Outcome {
                changed: Some(report.changed),
                result: report_json(&report),
            })
        }
        "inspect" => {
            let (a, _) = parse::<inspect::InspectArgs>(spec)?;
            if a.xml {
                return Err(CliError::Usage(
                    "--xml: a batch result is JSON; leave --xml out".into(),
                ));
            }
            Ok(Outcome {
                changed: None,
                result: inspect::json(&a, appliance, verbose)?,
            })
        }
        "copy-in" => {
            let (a, _) = parse::<copy::CopyInArgs>(spec)?;
            copy::copy_in(&a, appliance, verbose, false)?;
            Ok(Outcome {
                changed: Some(true),
                result: Value::Null,
            })
        }
        "copy-out" => {
            let (a, _) = parse::<copy::CopyOutArgs>(spec)?;
            let skipped = copy::copy_out(&a, appliance, verbose, false)?;
            Ok(Outcome {
                changed: None,
                result: json!({ "skipped": skipped }),
            })
        }
        other => unreachable!("job::parse accepts only known operations, not {other}"),
    }
}

/// The `--json` report, with the random passwords it leaves out (a batch has no other
/// place to tell them: they are in this job's result line only).
fn report_json(report: &guestwright::customize::Report) -> Value {
    let mut v = serde_json::to_value(report).expect("the report serializes");
    if !report.generated_passwords.is_empty() {
        let pw: serde_json::Map<String, Value> = report
            .generated_passwords
            .iter()
            .map(|(user, pw)| {
                (
                    user.clone(),
                    Value::String(String::from_utf8_lossy(pw.expose()).into_owned()),
                )
            })
            .collect();
        v["generated_passwords"] = Value::Object(pw);
    }
    v
}
