//! The Kubernetes Indexed Job example (`examples/kubernetes/batch-job.yaml`) is checked, not
//! applied: parsed as YAML (python3-yaml), it must be a batch/v1 Indexed Job whose command
//! runs `guestwright batch --shard $JOB_COMPLETION_INDEX/N` with N equal to its completions,
//! and whose options `guestwright batch` accepts.

use guestwright_tests::{guestwright, require};
use std::path::Path;
use std::process::Command;

#[test]
fn kubernetes_example_is_an_indexed_job_that_shards_by_its_index() {
    require("python3", "python3");
    let manifest =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/kubernetes/batch-job.yaml");
    let out = Command::new("timeout")
        .args(["30", "python3", "-c"])
        .arg(
            "import json, sys, yaml\n\
             docs = list(yaml.safe_load_all(open(sys.argv[1])))\n\
             print(json.dumps(docs))",
        )
        .arg(&manifest)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "cannot parse {} as YAML (is python3-yaml installed? scripts/setup):\n{}",
        manifest.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let docs: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let job = &docs[0];
    assert_eq!(docs.as_array().unwrap().len(), 1);
    assert_eq!(job["apiVersion"], "batch/v1");
    assert_eq!(job["kind"], "Job");
    let spec = &job["spec"];
    assert_eq!(spec["completionMode"], "Indexed");
    let n = spec["completions"].as_u64().unwrap();
    assert!(n >= 1);
    let pod = &spec["template"]["spec"];
    assert_eq!(pod["restartPolicy"], "Never");
    let c = &pod["containers"][0];
    let shards = c["env"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == "SHARDS")
        .expect("a SHARDS variable")["value"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(shards, n.to_string(), "SHARDS must equal completions");
    let script = c["args"][0].as_str().unwrap();
    assert!(
        script.contains("guestwright batch")
            && script.contains("--shard \"$JOB_COMPLETION_INDEX/$SHARDS\""),
        "{script}"
    );
    // The mount the job file is read from exists among the volumes.
    let mount = &c["volumeMounts"][0];
    assert_eq!(mount["mountPath"], c["workingDir"]);
    assert!(pod["volumes"]
        .as_array()
        .unwrap()
        .iter()
        .any(|v| v["name"] == mount["name"]));

    // The command's options, with a shard of that size, are accepted by guestwright batch
    // (an empty job file: nothing to run, exit 0).
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("jobs.jsonl"), "").unwrap();
    let out = guestwright()
        .current_dir(dir.path())
        .args(["batch", "--shard", &format!("{}/{n}", n - 1)])
        .args(["--resume", "results.jsonl", "jobs.jsonl"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
