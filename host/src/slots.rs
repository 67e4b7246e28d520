//! Re-pointable drive slots: how one appliance serves several jobs in turn without a new
//! boot (see [`crate::pool`]). QEMU's microvm refuses hot-plugging, so the appliance is
//! launched with [`SLOTS`] virtio-blk devices declared up front, each reading through a raw
//! node (`slot<i>`) over an empty writable node of its own (`null<i>`). A job's image is
//! attached by adding its nodes (`blockdev-add`, its files passed as descriptors with
//! `add-fd`, as at launch) and re-pointing the slot's raw node at them
//! (`blockdev-reopen`); it is detached by re-pointing the slot at its empty node and
//! deleting the image's nodes, which closes the image and releases its lock.
//!
//! The guest's side (the disk driver unbound while a slot changes, and a check that
//! nothing of the last job remains) is the daemon's `drives_release` and `drives_probe`.
//! This module must never leave an image attached after `detach` returned `Ok`.

use crate::drive::Drive;
use crate::launch::LaunchError;
use crate::snapshot::Monitor;
use serde_json::{json, Value};
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};

/// How many drives a job on a reused appliance may have: the slots the layout of a saved
/// appliance has, so a reused appliance can itself be restored from one.
pub const SLOTS: usize = crate::qemu::SNAPSHOT_SLOTS;

/// The raw node the slot's device reads through.
pub(crate) fn slot_name(i: usize) -> String {
    format!("slot{i}")
}

fn null_name(i: usize) -> String {
    format!("null{i}")
}

/// The `-blockdev`s of slot `i`: its empty node, then the raw node over it.
pub(crate) fn nodes(i: usize) -> [Value; 2] {
    [
        json!({ "driver": "null-co", "node-name": null_name(i), "size": 0 }),
        slot_node(i, &null_name(i)),
    ]
}

fn slot_node(i: usize, file: &str) -> Value {
    json!({ "driver": "raw", "node-name": slot_name(i), "file": file, "discard": "unmap" })
}

/// Whether these drives can be attached to slots: few enough, local files, 512-byte
/// sectors (the slots' devices have them).
pub(crate) fn fit(drives: &[Drive]) -> bool {
    drives.len() <= SLOTS
        && drives
            .iter()
            .all(|d| d.remote().is_none() && d.blocksize.is_none())
}

/// What a job attached: removed again by [`detach`].
#[derive(Debug, Default)]
pub(crate) struct Attached {
    /// The image's top node in each slot, slot `i` for drive `i`.
    nodes: Vec<String>,
    /// The fd sets holding the images' descriptors.
    fdsets: Vec<u64>,
    /// Overlays of read-only drives, in the appliance's runtime directory.
    overlays: Vec<PathBuf>,
}

/// Attaches `drives` to the first slots. `job` numbers the job on this appliance (node
/// names and fd sets must not repeat those of an earlier job still being deleted).
pub(crate) fn attach(
    monitor: &mut Monitor,
    drives: &[Drive],
    runtime: &Path,
    job: u64,
) -> Result<Attached, LaunchError> {
    let mut attached = Attached::default();
    match attach_into(monitor, drives, runtime, job, &mut attached) {
        Ok(()) => Ok(attached),
        Err(e) => {
            // Whatever got in goes out again; the error is the attach's.
            let _ = detach(monitor, attached);
            Err(e)
        }
    }
}

fn attach_into(
    monitor: &mut Monitor,
    drives: &[Drive],
    runtime: &Path,
    job: u64,
    attached: &mut Attached,
) -> Result<(), LaunchError> {
    for (i, drive) in drives.iter().enumerate() {
        let qmp_failed = |detail: String| LaunchError::Attach {
            image: drive.path().to_path_buf(),
            detail,
        };
        let overlay_path = runtime.join(format!("job{job}-overlay{i}.qcow2"));
        let overlay = if crate::launch::readonly_overlay(drive, &overlay_path)? {
            attached.overlays.push(overlay_path.clone());
            Some(overlay_path.as_path())
        } else {
            None
        };
        let node = format!("job{job}drive{i}");
        let mut passed = Vec::new();
        let mut spec = drive.blockdev(&node, overlay, &mut passed)?;
        // The descriptors go to fd sets of their own, numbered apart from the launch's.
        let base = 1000 + job * 64 + (i as u64) * 16;
        for (k, (file, _)) in passed.iter().enumerate() {
            let set = base + k as u64;
            monitor
                .execute(
                    &json!({ "execute": "add-fd", "arguments": { "fdset-id": set } }),
                    Some(file.as_fd()),
                )
                .map_err(qmp_failed)?;
            attached.fdsets.push(set);
        }
        renumber_fdsets(&mut spec, base);
        monitor
            .execute(
                &json!({ "execute": "blockdev-add", "arguments": spec }),
                None,
            )
            .map_err(|e| in_use(e, drive.path()))?;
        attached.nodes.push(node.clone());
        monitor
            .execute(
                &json!({ "execute": "blockdev-reopen",
                         "arguments": { "options": [slot_node(i, &node)] } }),
                None,
            )
            .map_err(|e| in_use(e, drive.path()))?;
    }
    Ok(())
}

/// QEMU's refusal to lock an image as [`LaunchError::ImageInUse`], else as an attach error.
fn in_use(detail: String, image: &Path) -> LaunchError {
    if detail.contains("Failed to get") && detail.contains(" lock") {
        LaunchError::ImageInUse {
            image: image.to_path_buf(),
            stderr: detail,
        }
    } else {
        LaunchError::Attach {
            image: image.to_path_buf(),
            detail,
        }
    }
}

/// `/dev/fdset/N` (N from 1, as [`Drive::blockdev`] numbers the descriptors it passes) as
/// `/dev/fdset/<base + N - 1>`.
fn renumber_fdsets(v: &mut Value, base: u64) {
    match v {
        Value::String(s) => {
            if let Some(n) = s
                .strip_prefix("/dev/fdset/")
                .and_then(|n| n.parse::<u64>().ok())
            {
                *s = format!("/dev/fdset/{}", base + n - 1);
            }
        }
        Value::Object(m) => m.values_mut().for_each(|v| renumber_fdsets(v, base)),
        Value::Array(a) => a.iter_mut().for_each(|v| renumber_fdsets(v, base)),
        _ => {}
    }
}

/// Points every slot a job used back at its empty node and deletes the job's nodes, which
/// closes its images (QEMU flushed them when the guest flushed; the caller fsyncs).
pub(crate) fn detach(monitor: &mut Monitor, attached: Attached) -> Result<(), String> {
    let mut first_error = None;
    let mut note = |r: Result<Value, String>| {
        if let Err(e) = r {
            first_error.get_or_insert(e);
        }
    };
    for (i, node) in attached.nodes.iter().enumerate() {
        note(monitor.execute(
            &json!({ "execute": "blockdev-reopen",
                     "arguments": { "options": [slot_node(i, &null_name(i))] } }),
            None,
        ));
        note(monitor.execute(
            &json!({ "execute": "blockdev-del", "arguments": { "node-name": node } }),
            None,
        ));
    }
    for set in &attached.fdsets {
        note(monitor.execute(
            &json!({ "execute": "remove-fd", "arguments": { "fdset-id": set } }),
            None,
        ));
    }
    for o in &attached.overlays {
        let _ = std::fs::remove_file(o);
    }
    match first_error {
        None => Ok(()),
        Some(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptors_are_renamed_to_the_jobs_fd_sets() {
        let mut v = json!({ "driver": "qcow2", "file": { "filename": "/dev/fdset/1" },
                            "backing": { "file": { "filename": "/dev/fdset/2" } },
                            "other": "/dev/fdset/x" });
        renumber_fdsets(&mut v, 1064);
        assert_eq!(v["file"]["filename"], "/dev/fdset/1064");
        assert_eq!(v["backing"]["file"]["filename"], "/dev/fdset/1065");
        assert_eq!(v["other"], "/dev/fdset/x");
    }

    #[test]
    fn a_slot_is_a_raw_node_over_its_own_empty_node() {
        let [null, slot] = nodes(2);
        assert_eq!(null["driver"], "null-co");
        assert_eq!(null["node-name"], "null2");
        assert!(null.get("read-only").is_none(), "writable: {null}");
        assert_eq!(slot["driver"], "raw");
        assert_eq!(slot["file"], "null2");
        assert_eq!(slot["node-name"], "slot2");
    }
}
