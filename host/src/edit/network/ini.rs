//! INI-style files as NetworkManager keyfiles and systemd `.network` files write them:
//! `[Section]` headers, `Key=Value` lines (spaces around `=` allowed), `#` and `;` comments.
//! Keys may repeat (networkd's `Address=`). Edits keep every untouched line byte for byte.

use crate::edit::text;

#[derive(Debug, Clone)]
struct Row {
    body: Vec<u8>,
    eol: Vec<u8>,
}

/// A file being edited.
#[derive(Debug, Clone)]
pub(crate) struct Ini {
    rows: Vec<Row>,
    eol: &'static [u8],
}

fn header(body: &[u8]) -> Option<&[u8]> {
    let t = text::trim(body);
    (t.len() >= 2 && t[0] == b'[' && t[t.len() - 1] == b']').then(|| &t[1..t.len() - 1])
}

fn is_comment(body: &[u8]) -> bool {
    let t = text::trim(body);
    t.is_empty() || t[0] == b'#' || t[0] == b';'
}

/// `(key, value)` of a key line, both trimmed.
fn key_value(body: &[u8]) -> Option<(&[u8], &[u8])> {
    if is_comment(body) || header(body).is_some() {
        return None;
    }
    let eq = body.iter().position(|&b| b == b'=')?;
    Some((text::trim(&body[..eq]), text::trim(&body[eq + 1..])))
}

impl Ini {
    pub fn parse(content: &[u8]) -> Ini {
        Ini {
            rows: text::lines(content)
                .iter()
                .map(|l| Row {
                    body: l.body.to_vec(),
                    eol: l.eol.to_vec(),
                })
                .collect(),
            eol: text::eol_of(content),
        }
    }

    /// Row ranges `(header, end)` of every section called `name`; `end` is one past the last
    /// key line of the section (trailing blank and comment lines belong to what follows).
    fn sections(&self, name: &str) -> Vec<(usize, usize)> {
        let mut out = Vec::new();
        let mut i = 0;
        while i < self.rows.len() {
            if header(&self.rows[i].body) == Some(name.as_bytes()) {
                let start = i;
                let mut end = i + 1;
                let mut j = i + 1;
                while j < self.rows.len() && header(&self.rows[j].body).is_none() {
                    if !is_comment(&self.rows[j].body) {
                        end = j + 1;
                    }
                    j += 1;
                }
                out.push((start, end));
                i = j;
            } else {
                i += 1;
            }
        }
        out
    }

    /// True if a section called `name` exists.
    pub fn has_section(&self, name: &str) -> bool {
        !self.sections(name).is_empty()
    }

    /// Every value of `key` in the sections called `section`.
    pub fn values(&self, section: &str, key: &str) -> Vec<String> {
        let mut out = Vec::new();
        for (s, e) in self.sections(section) {
            for r in &self.rows[s + 1..e] {
                if let Some((k, v)) = key_value(&r.body) {
                    if k == key.as_bytes() {
                        out.push(String::from_utf8_lossy(v).into_owned());
                    }
                }
            }
        }
        out
    }

    /// Removes key lines in `section` for which `pred(key, value)` holds.
    pub fn remove_where(&mut self, section: &str, pred: impl Fn(&str, &str) -> bool) {
        let mut drop = vec![false; self.rows.len()];
        for (s, e) in self.sections(section) {
            for (i, r) in self.rows.iter().enumerate().take(e).skip(s + 1) {
                if let Some((k, v)) = key_value(&r.body) {
                    drop[i] = pred(&String::from_utf8_lossy(k), &String::from_utf8_lossy(v));
                }
            }
        }
        let mut i = 0;
        self.rows.retain(|_| {
            i += 1;
            !drop[i - 1]
        });
    }

    /// Sets `key` in `section` to `value`: the first existing line is rewritten (others are
    /// removed), else the key is added at the end of the section, creating the section at the
    /// end of the file if needed.
    pub fn set(&mut self, section: &str, key: &str, value: &str) {
        let line = format!("{key}={value}");
        let mut first = None;
        for (s, e) in self.sections(section) {
            for i in s + 1..e {
                if key_value(&self.rows[i].body).is_some_and(|(k, _)| k == key.as_bytes())
                    && first.is_none()
                {
                    first = Some(i);
                }
            }
        }
        match first {
            Some(i) => {
                if key_value(&self.rows[i].body).is_some_and(|(_, v)| v != value.as_bytes()) {
                    self.rows[i].body = line.into_bytes();
                }
                let keep = i;
                let mut idx = 0;
                let sections = self.sections(section);
                self.rows.retain(|r| {
                    idx += 1;
                    let i = idx - 1;
                    let in_sec = sections.iter().any(|&(s, e)| i > s && i < e);
                    i == keep
                        || !(in_sec && key_value(&r.body).is_some_and(|(k, _)| k == key.as_bytes()))
                });
            }
            None => self.add(section, key, value),
        }
    }

    /// Adds a `key=value` line at the end of the (last) section, creating it if needed.
    pub fn add(&mut self, section: &str, key: &str, value: &str) {
        let line = format!("{key}={value}");
        match self.sections(section).last() {
            Some(&(_, end)) => self.insert(end, line),
            None => {
                let needs_blank = self
                    .rows
                    .last()
                    .is_some_and(|r| !text::trim(&r.body).is_empty());
                if needs_blank {
                    self.push(String::new());
                }
                self.push(format!("[{section}]"));
                self.push(line);
            }
        }
    }

    fn insert(&mut self, at: usize, body: String) {
        if at > 0 && self.rows[at - 1].eol.is_empty() {
            self.rows[at - 1].eol = self.eol.to_vec();
        }
        let row = Row {
            body: body.into_bytes(),
            eol: self.eol.to_vec(),
        };
        self.rows.insert(at, row);
    }

    fn push(&mut self, body: String) {
        let at = self.rows.len();
        self.insert(at, body);
    }

    pub fn finish(self) -> Vec<u8> {
        let mut out = Vec::new();
        for r in self.rows {
            out.extend_from_slice(&r.body);
            out.extend_from_slice(&r.eol);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(c: &str, f: impl Fn(&mut Ini)) -> String {
        let mut i = Ini::parse(c.as_bytes());
        f(&mut i);
        let out = i.finish();
        let mut again = Ini::parse(&out);
        f(&mut again);
        assert_eq!(again.finish(), out, "not idempotent");
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn set_add_remove() {
        let c = "[connection]\nid=eth0\n\n# comment\n[ipv4]\nmethod=auto\ndns=1.1.1.1;\n\n[ipv6]\nmethod=auto\n";
        let out = run(c, |i| {
            i.set("ipv4", "method", "manual");
            i.set("ipv4", "address1", "10.0.0.5/24,10.0.0.1");
            i.remove_where("ipv4", |k, _| k == "dns");
        });
        assert_eq!(out, "[connection]\nid=eth0\n\n# comment\n[ipv4]\nmethod=manual\naddress1=10.0.0.5/24,10.0.0.1\n\n[ipv6]\nmethod=auto\n");
        let out = run("[a]\nk = 1\nk=2\n", |i| i.set("a", "k", "3"));
        assert_eq!(out, "[a]\nk=3\n");
        let out = run("[a]\nk = 3\n", |i| i.set("a", "k", "3"));
        assert_eq!(out, "[a]\nk = 3\n");
        let out = run("[a]\r\nx=1", |i| i.set("b", "y", "2"));
        assert_eq!(out, "[a]\r\nx=1\r\n\r\n[b]\r\ny=2\r\n");
        let out = run("", |i| i.set("b", "y", "2"));
        assert_eq!(out, "[b]\ny=2\n");
        let out = run("[a]\nx=1", |i| i.set("a", "y", "2"));
        assert_eq!(out, "[a]\nx=1\ny=2\n");
    }
}
