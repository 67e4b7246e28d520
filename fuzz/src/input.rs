//! The input format of the targets that edit guest files: a first line that says what to ask
//! for (the *control* line: a `--network` spec, a user name, `IFACE=MAC`, ...), then the
//! guest's file. Targets that read several files introduce each with a line
//! `==> PATH <==`, as `head` prints several files; bytes before the first such line are
//! ignored. Both are plain text, so seeds stay readable and a mutation of the control line
//! reaches the editor's argument parser too.

/// The control line (lossy UTF-8, without its line ending) and the rest of the input.
pub fn control(data: &[u8]) -> (String, &[u8]) {
    let (line, rest) = match data.iter().position(|&b| b == b'\n') {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &data[data.len()..]),
    };
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    (String::from_utf8_lossy(line).into_owned(), rest)
}

/// The files of a multi-file input: `(path, content)` in input order. A file's content runs
/// from the line after its header to the start of the next header line. A guest has one file
/// per path: a path given again is ignored.
pub fn files(data: &[u8]) -> Vec<(String, &[u8])> {
    let mut out: Vec<(String, usize, usize)> = Vec::new();
    let mut at = 0;
    while at < data.len() {
        let end = data[at..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(data.len(), |i| at + i + 1);
        let line = &data[at..end];
        let body = line.strip_suffix(b"\n").unwrap_or(line);
        let body = body.strip_suffix(b"\r").unwrap_or(body);
        if let Some(path) = body
            .strip_prefix(b"==> ")
            .and_then(|r| r.strip_suffix(b" <=="))
        {
            if let Some(last) = out.last_mut() {
                last.2 = at;
            }
            out.push((String::from_utf8_lossy(path).into_owned(), end, data.len()));
        }
        at = end;
    }
    let mut files: Vec<(String, &[u8])> = Vec::new();
    for (path, start, end) in out {
        if !files.iter().any(|(p, _)| *p == path) {
            files.push((path, &data[start..end]));
        }
    }
    files
}

/// The bytes of the file at `path` among `files`: the first one, as a guest has one file per
/// path.
pub fn file<'a>(files: &[(String, &'a [u8])], path: &str) -> Option<&'a [u8]> {
    files.iter().find(|(p, _)| p == path).map(|(_, c)| *c)
}

/// One of `options`, picked by a hash of `key`, for a control line that does not parse: the
/// input still reaches the editor with a valid request.
pub fn pick<'a, T>(options: &'a [T], key: &str) -> &'a T {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in key.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    &options[(h % options.len() as u64) as usize]
}

/// The line bodies of `data`, for comparing lines before and after an edit: split at `\n`,
/// every `\r` at the end dropped. (An editor that adds a line after a last line ending in a
/// bare `\r` terminates it, and the `\r` becomes part of the line ending: the same line.)
pub fn bodies(data: &[u8]) -> Vec<&[u8]> {
    let mut out: Vec<&[u8]> = data
        .split(|&b| b == b'\n')
        .map(|l| {
            let end = l.iter().rposition(|&b| b != b'\r').map_or(0, |i| i + 1);
            &l[..end]
        })
        .collect();
    if data.is_empty() || data.ends_with(b"\n") {
        out.pop();
    }
    out
}

/// True when `part` appears in `whole` in order (not necessarily contiguous).
pub fn in_order<T: PartialEq>(part: &[T], whole: &[T]) -> bool {
    let mut it = whole.iter();
    part.iter().all(|p| it.any(|w| w == p))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_and_files() {
        let (c, rest) = control(b"eth0:dhcp\r\n==> /a <==\nx\ny\n==> /b <==\n\n==> /c <==\nz");
        assert_eq!(c, "eth0:dhcp");
        let f = files(rest);
        assert_eq!(
            f,
            [
                ("/a".to_string(), &b"x\ny\n"[..]),
                ("/b".to_string(), &b"\n"[..]),
                ("/c".to_string(), &b"z"[..])
            ]
        );
        assert_eq!(file(&f, "/c"), Some(&b"z"[..]));
        assert_eq!(control(b"only"), ("only".to_string(), &b""[..]));
        assert!(files(b"no header\n").is_empty());
    }

    #[test]
    fn lines_and_order() {
        assert_eq!(bodies(b"a\r\nb\n"), [&b"a"[..], b"b"]);
        assert_eq!(bodies(b"a\n\nb\r"), [&b"a"[..], b"", b"b"]);
        assert!(bodies(b"").is_empty());
        assert!(in_order(&[1, 3], &[1, 2, 3]));
        assert!(!in_order(&[3, 1], &[1, 2, 3]));
    }
}
