//! `--dry-run`: a unified diff of a guest file's old and new contents, as `diff -u` and git
//! print it, so a person can review exactly what customize would write.
//!
//! Uses the `similar` crate (Myers diff, unified output with `\ No newline at end of file`
//! hints). A file that is not UTF-8 on either side is reported as a binary change instead of
//! being printed. Never does I/O.

use similar::TextDiff;

/// The unified diff for `path` (an absolute guest path); `None` contents mean the file does not
/// exist (created or deleted). Returns an empty string when nothing changes.
pub fn unified_diff(path: &str, old: Option<&[u8]>, new: Option<&[u8]>) -> String {
    if old == new {
        return String::new();
    }
    let rel = path.trim_start_matches('/');
    let a = if old.is_some() {
        format!("a/{rel}")
    } else {
        "/dev/null".to_owned()
    };
    let b = if new.is_some() {
        format!("b/{rel}")
    } else {
        "/dev/null".to_owned()
    };
    let (Ok(o), Ok(n)) = (
        std::str::from_utf8(old.unwrap_or_default()),
        std::str::from_utf8(new.unwrap_or_default()),
    ) else {
        return format!("Binary files {a} and {b} differ\n");
    };
    let diff = TextDiff::from_lines(o, n);
    let mut out = diff
        .unified_diff()
        .context_radius(3)
        .header(&a, &b)
        .to_string();
    if out.is_empty() {
        // Only possible for created or deleted empty files.
        out = format!("--- {a}\n+++ {b}\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostname_change() {
        assert_eq!(
            unified_diff("/etc/hostname", Some(b"debian\n"), Some(b"web-01\n")),
            "--- a/etc/hostname\n+++ b/etc/hostname\n@@ -1 +1 @@\n-debian\n+web-01\n"
        );
    }

    #[test]
    fn context_and_hunks() {
        let old = "127.0.0.1\tlocalhost\n127.0.1.1\tdebian\n\n::1 localhost ip6-localhost ip6-loopback\nff02::1 ip6-allnodes\nff02::2 ip6-allrouters\n";
        let new = old.replace("127.0.1.1\tdebian", "127.0.1.1\tweb");
        assert_eq!(
            unified_diff("/etc/hosts", Some(old.as_bytes()), Some(new.as_bytes())),
            "--- a/etc/hosts\n+++ b/etc/hosts\n@@ -1,5 +1,5 @@\n 127.0.0.1\tlocalhost\n-127.0.1.1\tdebian\n+127.0.1.1\tweb\n \n ::1 localhost ip6-localhost ip6-loopback\n ff02::1 ip6-allnodes\n"
        );
    }

    #[test]
    fn created_deleted_unchanged_binary_and_missing_newline() {
        assert_eq!(unified_diff("/etc/x", Some(b"same"), Some(b"same")), "");
        assert_eq!(unified_diff("/etc/x", None, None), "");
        assert_eq!(
            unified_diff("/etc/new", None, Some(b"a\n")),
            "--- /dev/null\n+++ b/etc/new\n@@ -0,0 +1 @@\n+a\n"
        );
        assert_eq!(
            unified_diff("/etc/old", Some(b"a\n"), None),
            "--- a/etc/old\n+++ /dev/null\n@@ -1 +0,0 @@\n-a\n"
        );
        assert_eq!(
            unified_diff("/etc/empty", None, Some(b"")),
            "--- /dev/null\n+++ b/etc/empty\n"
        );
        assert_eq!(
            unified_diff("/bin/x", Some(b"\xff"), Some(b"\xfe")),
            "Binary files a/bin/x and b/bin/x differ\n"
        );
        let d = unified_diff("/etc/h", Some(b"old"), Some(b"old\nnew\n"));
        assert_eq!(d, "--- a/etc/h\n+++ b/etc/h\n@@ -1 +1,2 @@\n-old\n\\ No newline at end of file\n+old\n+new\n");
    }
}
