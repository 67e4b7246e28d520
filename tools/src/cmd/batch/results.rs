//! Result lines, the human summary, `--resume` and `--shard`.

use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::path::Path;

use super::job::Job;

/// How a job ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Done: its writes are in the image files.
    Ok,
    /// Not done; `error` says why.
    Failed,
}

/// One line of the results: a job's id, line, status and what it did or why it failed.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct JobResult {
    /// The job's id (`line-N` when the job has none).
    pub id: String,
    /// The job's line in the job file.
    pub line: usize,
    /// ok or failed.
    pub status: Status,
    /// The operation (`customize`, ...), when the line named one.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub operation: Option<String>,
    /// Wall-clock time of the job, launch and shutdown included.
    pub duration_ms: u64,
    /// Whether the images changed (operations that write).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub changed: Option<bool>,
    /// The command's report or answer.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub result: Option<serde_json::Value>,
    /// Why it failed, with its causes.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub error: Option<String>,
}

/// `--shard I/N`: the I-th of N shares, 0-based (Kubernetes' `JOB_COMPLETION_INDEX`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// This share.
    pub index: usize,
    /// How many shares.
    pub count: usize,
}

impl std::str::FromStr for Shard {
    type Err = String;
    fn from_str(s: &str) -> Result<Shard, String> {
        let bad = || {
            format!("{s:?} is not a shard: write I/N with 0 <= I < N, e.g. --shard 0/4 (I is 0-based like JOB_COMPLETION_INDEX)")
        };
        let (i, n) = s.split_once('/').ok_or_else(bad)?;
        let index: usize = i.trim().parse().map_err(|_| bad())?;
        let count: usize = n.trim().parse().map_err(|_| bad())?;
        if count == 0 || index >= count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }
}

impl Shard {
    /// Whether the job at `position` (0-based, among the file's jobs, good or bad) is ours.
    pub fn takes(&self, position: usize) -> bool {
        position % self.count == self.index
    }
}

/// The ids that have an ok result in a results file. A line that is not a result is
/// skipped (an interrupted run may leave half a line); a missing file has none.
pub fn finished(path: &Path) -> std::io::Result<HashSet<String>> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            log::warn!(
                "batch: --resume {}: no such file yet, so every job runs",
                path.display()
            );
            return Ok(HashSet::new());
        }
        Err(e) => return Err(e),
    };
    Ok(text
        .lines()
        .filter_map(|l| serde_json::from_str::<JobResult>(l).ok())
        .filter(|r| r.status == Status::Ok)
        .map(|r| r.id)
        .collect())
}

/// Keeps this shard's jobs, then drops those already done.
pub fn select(jobs: Vec<Job>, shard: Option<Shard>, done: &HashSet<String>) -> (Vec<Job>, usize) {
    let ours: Vec<Job> = jobs
        .into_iter()
        .enumerate()
        .filter(|(i, _)| shard.is_none_or(|s| s.takes(*i)))
        .map(|(_, j)| j)
        .collect();
    let before = ours.len();
    let todo: Vec<Job> = ours
        .into_iter()
        .filter(|j| !(j.spec.is_ok() && done.contains(&j.id)))
        .collect();
    let skipped = before - todo.len();
    (todo, skipped)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_split_the_jobs_without_overlap() {
        assert!("2/2".parse::<Shard>().is_err());
        assert!("0/0".parse::<Shard>().is_err());
        assert!("1".parse::<Shard>().is_err());
        let s: Vec<Shard> = ["0/3", "1/3", "2/3"]
            .iter()
            .map(|s| s.parse().unwrap())
            .collect();
        for pos in 0..10 {
            assert_eq!(s.iter().filter(|s| s.takes(pos)).count(), 1);
        }
        assert!(s[1].takes(4));
    }

    #[test]
    fn resume_skips_only_jobs_that_were_ok() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("r.jsonl");
        std::fs::write(
            &p,
            "{\"id\":\"a\",\"line\":1,\"status\":\"ok\",\"duration_ms\":5}\n\
             {\"id\":\"b\",\"line\":2,\"status\":\"failed\",\"duration_ms\":5,\"error\":\"x\"}\n\
             {\"id\":\"c\",\"li",
        )
        .unwrap();
        let done = finished(&p).unwrap();
        assert_eq!(done, HashSet::from(["a".to_string()]));
        let jobs = super::super::job::parse(
            "{\"id\":\"a\",\"inspect\":[]}\n{\"id\":\"b\",\"inspect\":[]}\n{\"id\":\"c\",\"inspect\":[]}\n",
        );
        let (todo, skipped) = select(jobs, None, &done);
        assert_eq!(skipped, 1);
        assert_eq!(
            todo.iter().map(|j| j.id.as_str()).collect::<Vec<_>>(),
            ["b", "c"]
        );
        assert!(finished(&dir.path().join("none")).unwrap().is_empty());
    }
}
