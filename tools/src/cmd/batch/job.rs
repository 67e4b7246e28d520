//! The job file: one JSON object per line, read into [`Job`]s before any work starts. A line
//! that is not a job becomes a [`Job`] whose `spec` is the reason, so it fails alone.
//!
//! ```text
//! {"id":"vm01","drives":[{"path":"vm01.qcow2","format":"qcow2"}],"customize":["--hostname","vm01"]}
//! ```
//!
//! The operation is one of `customize`, `sysprep`, `inspect`, `copy-in`, `copy-out`, its
//! value the argument list of the single command of that name (parsed later by that
//! command's own clap definition). The drives become `-a PATH` arguments before it, and
//! `--format F` when they name one; drives of different formats (customize only) get a
//! `--format F` before each `-a`, as virt-customize reads them.

use serde::Deserialize;
use std::collections::HashSet;

/// The operations a job may run: the names of the single commands.
pub const OPERATIONS: &[&str] = &["customize", "sysprep", "inspect", "copy-in", "copy-out"];

/// One line of the job file.
#[derive(Debug, Clone)]
pub struct Job {
    /// The job's `id`, or `line-N` when it has none.
    pub id: String,
    /// Its line in the job file, from 1.
    pub line: usize,
    /// What to run, or why the line is not a job.
    pub spec: Result<Spec, String>,
}

/// A well-formed job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spec {
    /// One of [`OPERATIONS`].
    pub operation: &'static str,
    /// The command line of that operation, its name first.
    pub argv: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawJob {
    #[serde(default)]
    #[allow(dead_code)] // read before, from the untyped value
    id: Option<String>,
    #[serde(default)]
    drives: Vec<RawDrive>,
    customize: Option<Vec<String>>,
    sysprep: Option<Vec<String>>,
    inspect: Option<Vec<String>>,
    #[serde(rename = "copy-in")]
    copy_in: Option<Vec<String>>,
    #[serde(rename = "copy-out")]
    copy_out: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDrive {
    /// An image file or a URI (nbd://, http(s)://, ssh://, iscsi://), as `-a` takes.
    path: String,
    format: Option<String>,
}

/// Reads a job file's text: blank lines and lines starting with `#` are not jobs; every other
/// line is one, well-formed or not. A repeated id makes the later line a failed job (results
/// and `--resume` go by id).
pub fn parse(text: &str) -> Vec<Job> {
    let mut seen = HashSet::new();
    let mut jobs = Vec::new();
    for (i, l) in text.lines().enumerate() {
        let l = l.trim();
        if l.is_empty() || l.starts_with('#') {
            continue;
        }
        let mut job = parse_line(i + 1, l);
        if !seen.insert(job.id.clone()) {
            job.spec = Err(format!(
                "the id {:?} is used by an earlier line: give each job its own id",
                job.id
            ));
        }
        jobs.push(job);
    }
    jobs
}

fn parse_line(line: usize, text: &str) -> Job {
    let fallback = format!("line-{line}");
    let value: serde_json::Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(e) => {
            return Job {
                id: fallback,
                line,
                spec: Err(format!("not a JSON object: {e}")),
            }
        }
    };
    let id = match value.get("id") {
        None => Ok(fallback.clone()),
        Some(serde_json::Value::String(s)) if !s.is_empty() => Ok(s.clone()),
        Some(_) => Err("\"id\" must be a non-empty string".to_string()),
    };
    let (id, spec) = match id {
        Ok(id) => (id, spec(value)),
        Err(e) => (fallback, Err(e)),
    };
    Job { id, line, spec }
}

fn spec(value: serde_json::Value) -> Result<Spec, String> {
    let raw: RawJob = serde_json::from_value(value).map_err(|e| format!("not a job: {e}"))?;
    let given: Vec<(&'static str, Vec<String>)> = [
        ("customize", raw.customize),
        ("sysprep", raw.sysprep),
        ("inspect", raw.inspect),
        ("copy-in", raw.copy_in),
        ("copy-out", raw.copy_out),
    ]
    .into_iter()
    .filter_map(|(n, a)| a.map(|a| (n, a)))
    .collect();
    let (operation, args) = match <[_; 1]>::try_from(given) {
        Ok([one]) => one,
        Err(given) => {
            return Err(format!(
                "a job runs exactly one operation ({}); this one has {}",
                OPERATIONS.join(", "),
                given.len()
            ))
        }
    };
    let mut argv = vec![operation.to_string()];
    let mut formats: Vec<&str> = raw
        .drives
        .iter()
        .filter_map(|d| d.format.as_deref())
        .collect();
    formats.dedup();
    if !formats.is_empty() && raw.drives.iter().any(|d| d.format.is_none()) {
        return Err(
            "some drives of this job have a format and some do not: give every drive its \
             format, or none to have them detected"
                .into(),
        );
    }
    if formats.len() > 1 {
        // customize takes a --format before each -a, as virt-customize does.
        if operation != "customize" {
            return Err(format!(
                "the drives of a {operation} job share one format (its --format): give the \
                 same format to every drive (drives of other formats: customize jobs only)"
            ));
        }
        for d in &raw.drives {
            let f = d.format.as_deref().unwrap_or_default();
            argv.extend([format!("--format={f}"), "-a".into(), d.path.clone()]);
        }
    } else {
        for d in &raw.drives {
            argv.push("-a".into());
            argv.push(d.path.clone());
        }
        if let Some(f) = formats.first() {
            argv.push(format!("--format={f}"));
        }
    }
    argv.extend(args);
    Ok(Spec { operation, argv })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_job_becomes_the_command_line_of_its_operation() {
        let jobs = parse(
            "# comment\n\n{\"id\":\"vm01\",\"drives\":[{\"path\":\"a.qcow2\",\"format\":\"qcow2\"}],\"customize\":[\"--hostname\",\"vm01\"]}\n",
        );
        assert_eq!(jobs.len(), 1);
        assert_eq!(jobs[0].id, "vm01");
        assert_eq!(jobs[0].line, 3);
        assert_eq!(
            jobs[0].spec,
            Ok(Spec {
                operation: "customize",
                argv: [
                    "customize",
                    "-a",
                    "a.qcow2",
                    "--format=qcow2",
                    "--hostname",
                    "vm01"
                ]
                .map(String::from)
                .to_vec(),
            })
        );
    }

    #[test]
    fn bad_lines_are_failed_jobs_with_a_reason() {
        let jobs = parse(
            "nonsense\n{\"inspect\":[],\"sysprep\":[]}\n{\"id\":7,\"inspect\":[]}\n\
             {\"id\":\"x\",\"inspect\":[],\"colour\":1}\n{\"id\":\"x\",\"inspect\":[]}\n\
             {\"drives\":[{\"path\":\"a\",\"format\":\"raw\"},{\"path\":\"b\"}],\"inspect\":[]}\n\
             {\"drives\":[{\"path\":\"a\",\"format\":\"raw\"},{\"path\":\"b\",\"format\":\"qcow2\"}],\"inspect\":[]}\n",
        );
        let ids: Vec<&str> = jobs.iter().map(|j| j.id.as_str()).collect();
        assert_eq!(
            ids,
            ["line-1", "line-2", "line-3", "x", "x", "line-6", "line-7"]
        );
        let errs: Vec<String> = jobs.iter().map(|j| j.spec.clone().unwrap_err()).collect();
        assert!(errs[0].starts_with("not a JSON object"), "{}", errs[0]);
        assert!(errs[1].contains("this one has 2"), "{}", errs[1]);
        assert!(errs[2].contains("\"id\" must be"), "{}", errs[2]);
        assert!(errs[3].contains("unknown field `colour`"), "{}", errs[3]);
        assert!(errs[4].contains("used by an earlier line"), "{}", errs[4]);
        assert!(
            errs[5].contains("some drives of this job have a format"),
            "{}",
            errs[5]
        );
        assert!(errs[6].contains("customize jobs only"), "{}", errs[6]);
    }

    #[test]
    fn drives_of_different_formats_get_a_format_each_in_a_customize_job() {
        let jobs = parse(
            "{\"drives\":[{\"path\":\"a.img\",\"format\":\"raw\"},{\"path\":\"b.qcow2\",\"format\":\"qcow2\"}],\"customize\":[\"--hostname\",\"h\"]}\n",
        );
        assert_eq!(
            jobs[0].spec.as_ref().unwrap().argv,
            [
                "customize",
                "--format=raw",
                "-a",
                "a.img",
                "--format=qcow2",
                "-a",
                "b.qcow2",
                "--hostname",
                "h"
            ]
        );
    }
}
