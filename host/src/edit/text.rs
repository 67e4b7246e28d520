//! Line handling shared by the editors: split a file into lines without losing a byte, detect
//! the file's line ending, and append a line the way the file already writes them.
//!
//! Everything here works on bytes, so a file with a stray non-UTF-8 line is still edited
//! exactly; editors compare ASCII keys and copy every other byte through.

/// One line of a file: its content without the terminator, and the terminator itself
/// (`b"\n"`, `b"\r\n"`, or empty for a last line that has none).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Line<'a> {
    pub body: &'a [u8],
    pub eol: &'a [u8],
}

impl<'a> Line<'a> {
    /// The body with ASCII spaces and tabs removed at both ends.
    pub fn trimmed(&self) -> &'a [u8] {
        trim(self.body)
    }

    /// True for a blank line or one whose first non-blank byte is `#`.
    pub fn is_comment_or_blank(&self) -> bool {
        let t = self.trimmed();
        t.is_empty() || t[0] == b'#'
    }
}

/// Splits `data` into lines; concatenating every `body` and `eol` gives `data` back.
pub(crate) fn lines(data: &[u8]) -> Vec<Line<'_>> {
    let mut out = Vec::new();
    let mut rest = data;
    while !rest.is_empty() {
        match rest.iter().position(|&b| b == b'\n') {
            Some(i) => {
                let (body, eol) = if i > 0 && rest[i - 1] == b'\r' {
                    (&rest[..i - 1], &rest[i - 1..=i])
                } else {
                    (&rest[..i], &rest[i..=i])
                };
                out.push(Line { body, eol });
                rest = &rest[i + 1..];
            }
            None => {
                out.push(Line {
                    body: rest,
                    eol: b"",
                });
                rest = b"";
            }
        }
    }
    out
}

/// The line ending a new line in `data` should get: CRLF when the file's first line ends in
/// CRLF, or when its only line has no LF but ends in CR (adding LF there makes it a CRLF
/// file, so the next edit would use CRLF); LF otherwise (also for an empty file).
pub(crate) fn eol_of(data: &[u8]) -> &'static [u8] {
    match data.iter().position(|&b| b == b'\n') {
        Some(i) if i > 0 && data[i - 1] == b'\r' => b"\r\n",
        None if data.ends_with(b"\r") => b"\r\n",
        _ => b"\n",
    }
}

/// Removes ASCII spaces and tabs at both ends.
pub(crate) fn trim(s: &[u8]) -> &[u8] {
    let start = s.iter().position(|&b| b != b' ' && b != b'\t');
    match start {
        None => &s[s.len()..],
        Some(start) => {
            let end = s
                .iter()
                .rposition(|&b| b != b' ' && b != b'\t')
                .unwrap_or(start);
            &s[start..=end]
        }
    }
}

/// The whitespace-separated words of a line (spaces and tabs).
pub(crate) fn words(s: &[u8]) -> impl Iterator<Item = &[u8]> {
    s.split(|&b| b == b' ' || b == b'\t')
        .filter(|w| !w.is_empty())
}

/// The leading spaces and tabs of a line.
pub(crate) fn indent(s: &[u8]) -> &[u8] {
    let n = s.iter().take_while(|&&b| b == b' ' || b == b'\t').count();
    &s[..n]
}

/// Builds a file from lines, remembering the file's line ending for new lines.
#[derive(Debug)]
pub(crate) struct Builder {
    out: Vec<u8>,
    eol: &'static [u8],
}

impl Builder {
    /// A builder whose new lines end like those of `original`.
    pub fn like(original: &[u8]) -> Builder {
        Builder {
            out: Vec::with_capacity(original.len() + 128),
            eol: eol_of(original),
        }
    }

    /// Copies an existing line byte for byte.
    pub fn keep(&mut self, line: &Line<'_>) {
        self.out.extend_from_slice(line.body);
        self.out.extend_from_slice(line.eol);
    }

    /// Replaces an existing line's body, keeping its terminator; a last line without one gets
    /// none, so a missing final newline stays missing.
    pub fn replace(&mut self, line: &Line<'_>, body: &[u8]) {
        self.out.extend_from_slice(body);
        self.out.extend_from_slice(line.eol);
    }

    /// Adds a new line, first ending the previous line if it had no terminator.
    pub fn push(&mut self, body: &[u8]) {
        if !self.out.is_empty() && !self.out.ends_with(b"\n") {
            self.out.extend_from_slice(self.eol);
        }
        self.out.extend_from_slice(body);
        self.out.extend_from_slice(self.eol);
    }

    /// The finished file.
    pub fn finish(self) -> Vec<u8> {
        self.out
    }
}

/// Appends one line to `data` in the file's own line ending.
pub(crate) fn append_line(data: &[u8], body: &[u8]) -> Vec<u8> {
    let mut b = Builder::like(data);
    b.out.extend_from_slice(data);
    b.push(body);
    b.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_round_trip_every_byte() {
        for data in [
            &b""[..],
            b"a",
            b"a\n",
            b"a\r\nb\r\n",
            b"a\nb",
            b"\n\n",
            b"x\r\ny\nz",
            b"\xff\xfe\n",
        ] {
            let mut back = Vec::new();
            for l in lines(data) {
                back.extend_from_slice(l.body);
                back.extend_from_slice(l.eol);
            }
            assert_eq!(back, data);
        }
        assert_eq!(lines(b"a\r\nb")[0].body, b"a");
        assert_eq!(lines(b"a\r\nb")[1].eol, b"");
    }

    #[test]
    fn eol_follows_first_line() {
        assert_eq!(eol_of(b"a\r\nb\n"), b"\r\n");
        assert_eq!(eol_of(b"a\nb\r\n"), b"\n");
        assert_eq!(eol_of(b""), b"\n");
        assert_eq!(eol_of(b"no newline"), b"\n");
        // A lone line ending in CR: the LF that terminates it makes the file CRLF.
        assert_eq!(eol_of(b"source x\r"), b"\r\n");
        assert_eq!(eol_of(b"a\nb\r"), b"\n");
    }

    #[test]
    fn append_adds_missing_newline_first() {
        assert_eq!(append_line(b"a", b"b"), b"a\nb\n");
        assert_eq!(append_line(b"a\r\n", b"b"), b"a\r\nb\r\n");
        assert_eq!(append_line(b"", b"b"), b"b\n");
    }

    #[test]
    fn trim_and_words() {
        assert_eq!(trim(b" \t x y\t "), b"x y");
        assert_eq!(trim(b"   "), b"");
        let w: Vec<&[u8]> = words(b"\t127.0.1.1  \thost  alias").collect();
        assert_eq!(w, [&b"127.0.1.1"[..], b"host", b"alias"]);
        assert_eq!(indent(b" \tx"), b" \t");
    }
}
