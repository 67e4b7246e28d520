//! Windows and CoreOS guests built by the tests themselves (tests/src/windows.rs,
//! tests/src/coreos.rs), compared field by field with what virt-inspector 1.48 printed for
//! the same images (tests/inspect/expected/*.xml, recorded by `scripts/record-inspector`);
//! and NTFS through the appliance: the Windows guest is filled through guestwright, read
//! back byte for byte, and checked clean by ntfs-3g's own ntfsfix.

use guestwright_tests::*;
use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

/// The leaf fields of inspector XML, one string each, with the position of repeated
/// elements: `operatingsystem#0/applications#0/application#1/name#0=...`.
fn fields(xml: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    // (path segment, how many children of each name it has had so far)
    let mut stack: Vec<(String, Vec<(String, usize)>)> = vec![(String::new(), Vec::new())];
    let segment = |stack: &mut Vec<(String, Vec<(String, usize)>)>, tag: &str| {
        let counts = &mut stack.last_mut().unwrap().1;
        let n = match counts.iter_mut().find(|(t, _)| t == tag) {
            Some((_, n)) => {
                *n += 1;
                *n - 1
            }
            None => {
                counts.push((tag.to_string(), 1));
                0
            }
        };
        format!("{tag}#{n}")
    };
    for line in xml.lines().map(str::trim).filter(|l| !l.is_empty()) {
        if line.starts_with("<?") {
            continue;
        }
        if line.starts_with("</") {
            stack.pop();
            continue;
        }
        let inner = line.trim_start_matches('<');
        let end = inner.find('>').expect("a tag");
        let head = &inner[..end];
        let path = |stack: &Vec<(String, Vec<(String, usize)>)>, seg: &str| {
            let mut p: Vec<&str> = stack.iter().skip(1).map(|s| s.0.as_str()).collect();
            p.push(seg);
            p.join("/")
        };
        if let Some(head) = head.strip_suffix('/') {
            let seg = segment(&mut stack, head.trim());
            out.insert(path(&stack, &seg));
            continue;
        }
        let name = head.split_whitespace().next().unwrap();
        let seg = segment(&mut stack, name);
        let seg = format!("{seg}{}", &head[name.len()..]);
        let rest = &inner[end + 1..];
        if let Some(text) = rest.strip_suffix(&format!("</{name}>")) {
            out.insert(format!("{}={text}", path(&stack, &seg)));
        } else {
            stack.push((seg, Vec::new()));
        }
    }
    out
}

/// Fields of virt-inspector's answer guestwright does not give yet, with the reason; the
/// test fails when one of them starts to match, so the list stays true.
/// Empty: every field matches.
const NOT_YET: &[(&str, &str)] = &[];

fn expected(guest: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("inspect/expected")
        .join(format!("{guest}.xml"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (record it with scripts/record-inspector {guest})",
            path.display()
        )
    })
}

/// Runs `guestwright inspect --xml` and compares every field with virt-inspector's.
fn compare_with_virt_inspector(img: &Path, guest: &str) {
    let out = guestwright()
        .args(["inspect", "--xml", "--format=raw", "-a"])
        .arg(img)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "inspect failed: {stderr}");
    let xml = String::from_utf8_lossy(&out.stdout);
    if let Some(d) = structure_difference(&expected(guest), &xml) {
        panic!("{guest}: {d}");
    }
    let ours = fields(&xml);
    let theirs = fields(&expected(guest));
    let missing: Vec<_> = theirs
        .difference(&ours)
        .filter(|f| !NOT_YET.contains(&(guest, f.as_str())))
        .collect();
    let extra: Vec<_> = ours.difference(&theirs).collect();
    for (g, field) in NOT_YET.iter().filter(|(g, _)| *g == guest) {
        assert!(
            !ours.contains(*field),
            "{g}: {field} matches now: remove it from NOT_YET"
        );
    }
    assert!(
        missing.is_empty() && extra.is_empty(),
        "{guest}: {} of virt-inspector's {} fields match\nmissing or different: {missing:#?}\n\
         only guestwright: {extra:#?}\nstderr: {stderr}",
        theirs.intersection(&ours).count(),
        theirs.len()
    );
    eprintln!(
        "{guest}: {} of virt-inspector's {} fields equal (the rest listed in NOT_YET)",
        theirs.intersection(&ours).count(),
        theirs.len()
    );
}

#[test]
fn the_field_reader_keeps_order_and_attributes() {
    let f = fields(
        "<?xml version=\"1.0\"?>\n<a>\n  <b x=\"1\">one</b>\n  <c>\n    <d>2</d>\n  </c>\n  <c>\n    <d>3</d>\n  </c>\n</a>\n",
    );
    let want: BTreeSet<String> = ["a#0/b#0 x=\"1\"=one", "a#0/c#0/d#0=2", "a#0/c#1/d#0=3"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(f, want);
}

#[test]
fn windows_guest_as_virt_inspector_sees_it() {
    let dir = tempfile::tempdir().unwrap();
    // Building it writes C: through ntfs-3g in the appliance.
    let img = windows_guest(dir.path(), "windows.img");
    compare_with_virt_inspector(&img, "windows");

    // What virt-inspector does not print, in the JSON.
    let out = guestwright()
        .args(["inspect", "--no-applications", "--format=raw", "-a"])
        .arg(&img)
        .output()
        .unwrap();
    assert!(out.status.success());
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let os = &json[0];
    assert_eq!(os["build_id"], "19045");
    assert_eq!(os["edition"], "Professional");
    assert_eq!(os["windows_systemroot"], "/Windows");
    assert_eq!(
        os["drive_mappings"],
        serde_json::json!([["C", "/dev/sda2"]])
    );

    // -i mounts C: on / and reads through NTFS: the hive comes back byte for byte.
    let out = guestwright()
        .args(["cat", "--format=raw", "-i", "-a"])
        .arg(&img)
        .arg("/Windows/System32/config/SYSTEM")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "cat -i: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        out.stdout,
        std::fs::read(dir.path().join("SYSTEM")).unwrap()
    );

    // ntfs-3g's checker finds C: clean after guestwright wrote it.
    let part = extract(&img, WINDOWS_C_OFFSET, (64 << 20) - WINDOWS_C_OFFSET);
    let out = Command::new("ntfsfix")
        .arg("--no-action")
        .arg(part.path())
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "ntfsfix: {said}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        !said.contains("FAILED") && !said.contains("corrupt"),
        "{said}"
    );
}

#[test]
fn coreos_with_a_separate_usr_as_virt_inspector_sees_it() {
    let dir = tempfile::tempdir().unwrap();
    let img = coreos_guest(dir.path(), "coreos.img");
    compare_with_virt_inspector(&img, "coreos");
}
