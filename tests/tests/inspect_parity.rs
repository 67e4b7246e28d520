//! `guestwright inspect --xml` against what virt-inspector 1.48 said about the same guests
//! (`tests/inspect/expected/NAME.xml`, recorded by `scripts/record-inspector`), field by
//! field. A field that differs on purpose or is not done yet is listed with its reason in
//! `tests/inspect/known-differences.txt`; the test fails on any other difference, and on a
//! listed one that no longer differs. Every guest's count of identical fields is printed.
//! The element structure (names, order, nesting) must be virt-inspector's exactly; the
//! recording script checks guestwright's XML against virt-inspector's RELAX NG schema.

use guestwright_tests::*;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

/// The leaf elements of virt-inspector's XML as (path, text): `operatingsystem[0]/distro`,
/// `.../mountpoint[dev=/dev/sda]`, `.../application[2]/version`.
fn fields(xml: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut stack: Vec<String> = Vec::new();
    let mut counts: Vec<std::collections::HashMap<String, usize>> = vec![Default::default()];
    let mut text = String::new();
    let mut rest = xml;
    while let Some(lt) = rest.find('<') {
        text.push_str(&rest[..lt]);
        let gt = rest[lt..].find('>').expect("unterminated tag") + lt;
        let tag = &rest[lt + 1..gt];
        rest = &rest[gt + 1..];
        if tag.starts_with('?') || tag.starts_with('!') {
            continue;
        }
        if let Some(name) = tag.strip_prefix('/') {
            let path = stack.join("/");
            if !text.trim().is_empty() {
                out.push((path, text.clone()));
            }
            text.clear();
            assert!(
                stack.pop().is_some_and(|s| s.starts_with(name)),
                "bad nesting at {name}"
            );
            counts.pop();
            continue;
        }
        text.clear();
        let self_closing = tag.ends_with('/');
        let tag = tag.trim_end_matches('/');
        let (name, attrs) = tag.split_once(' ').unwrap_or((tag, ""));
        let key = if let Some(dev) = attrs.trim().strip_prefix("dev=") {
            format!("{name}[dev={}]", dev.trim_matches('"'))
        } else {
            let n = counts
                .last_mut()
                .unwrap()
                .entry(name.to_string())
                .or_default();
            *n += 1;
            if matches!(name, "operatingsystem" | "application") {
                format!("{name}[{}]", *n - 1)
            } else {
                name.to_string()
            }
        };
        if !self_closing {
            stack.push(key);
            counts.push(Default::default());
        }
    }
    out
}

fn inspect_xml(images: &[std::path::PathBuf], options: &[String]) -> (String, String) {
    let mut cmd = guestwright();
    cmd.arg("inspect").arg("--xml").args(options);
    for i in images {
        cmd.arg("-a").arg(i);
    }
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn guestwright");
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > Duration::from_secs(600) {
            let _ = child.kill();
            panic!("guestwright inspect did not finish in 600 s");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        out.status.success(),
        "inspect failed: {:?}\n{stderr}",
        out.status
    );
    (String::from_utf8(out.stdout).expect("UTF-8 XML"), stderr)
}

/// `xml` with the UUID of every opened LUKS volume (`/dev/mapper/luks-UUID`) replaced by
/// `LUKS-UUID` wherever it appears: cryptsetup makes a new one each time a guest is built,
/// so the recorded answer holds the UUID of the build it was recorded from.
fn luks_uuids_named(xml: &str) -> String {
    let mut out = xml.to_string();
    let mut rest = xml;
    while let Some(at) = rest.find("/dev/mapper/luks-") {
        let uuid: String = rest[at + 17..]
            .chars()
            .take_while(|c| c.is_ascii_hexdigit() || *c == '-')
            .collect();
        if uuid.len() == 36 {
            out = out.replace(&uuid, "LUKS-UUID");
        }
        rest = &rest[at + 17..];
    }
    out
}

#[test]
fn inspection_matches_virt_inspector_field_by_field() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("inspect");
    let known_text = std::fs::read_to_string(root.join("known-differences.txt")).unwrap();
    // `GUEST PATH  reason`
    let known: Vec<(String, String)> = known_text
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| {
            let mut w = l.split_whitespace();
            (w.next().unwrap().to_string(), w.next().unwrap().to_string())
        })
        .collect();
    let only = std::env::var("PARITY_GUESTS").ok();
    let mut problems = Vec::new();
    for name in PARITY_GUESTS {
        if only
            .as_deref()
            .is_some_and(|o| !o.split(',').any(|n| n == *name))
        {
            continue;
        }
        let dir = tempfile::tempdir().unwrap();
        let images = parity_guest(dir.path(), name);
        let expected = std::fs::read_to_string(root.join("expected").join(format!("{name}.xml")))
            .unwrap_or_else(|e| {
                panic!("{name}: no recorded answer ({e}): run scripts/record-inspector {name}")
            });
        let (ours, stderr) = inspect_xml(&images, &parity_options(name));
        if let Some(d) = structure_difference(&expected, &ours) {
            problems.push(format!("{name}: {d}"));
        }
        let want = fields(&luks_uuids_named(&expected));
        let got = fields(&luks_uuids_named(&ours));
        let mut paths: Vec<&String> = want.iter().chain(&got).map(|(p, _)| p).collect();
        paths.sort();
        paths.dedup();
        let mut same = 0;
        for path in &paths {
            let w = want.iter().find(|(p, _)| p == *path).map(|(_, v)| v);
            let g = got.iter().find(|(p, _)| p == *path).map(|(_, v)| v);
            let listed = known.iter().any(|(k, p)| k == name && p == *path);
            match (w == g, listed) {
                (true, false) => same += 1,
                (true, true) => problems.push(format!(
                    "{name} {path}: listed in known-differences.txt but now identical: remove the line"
                )),
                (false, true) => {}
                (false, false) => problems.push(format!(
                    "{name} {path}: virt-inspector {w:?}, guestwright {g:?}"
                )),
            }
        }
        eprintln!(
            "{name}: {same} of {} fields identical to virt-inspector",
            paths.len()
        );
        if !stderr.is_empty() {
            eprintln!("{name}: guestwright's stderr:\n{stderr}");
        }
    }
    assert!(problems.is_empty(), "differences:\n{}", problems.join("\n"));
}

#[test]
fn the_field_reader_sees_every_leaf() {
    let xml = "<?xml version=\"1.0\"?>\n<operatingsystems>\n  <operatingsystem>\n    <root>/dev/sda</root>\n    <mountpoints>\n      <mountpoint dev=\"/dev/sda\">/</mountpoint>\n    </mountpoints>\n    <applications>\n      <application>\n        <name>a</name>\n        <description>x\ny</description>\n      </application>\n      <application>\n        <name>b</name>\n      </application>\n    </applications>\n  </operatingsystem>\n</operatingsystems>\n";
    let f = fields(xml);
    let os = "operatingsystems/operatingsystem[0]";
    assert_eq!(
        f,
        [
            (format!("{os}/root"), "/dev/sda".to_string()),
            (
                format!("{os}/mountpoints/mountpoint[dev=/dev/sda]"),
                "/".to_string()
            ),
            (
                format!("{os}/applications/application[0]/name"),
                "a".to_string()
            ),
            (
                format!("{os}/applications/application[0]/description"),
                "x\ny".to_string()
            ),
            (
                format!("{os}/applications/application[1]/name"),
                "b".to_string()
            ),
        ]
    );
}
