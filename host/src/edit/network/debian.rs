//! ifupdown: /etc/network/interfaces and the files it `source`s (interfaces.d).
//!
//! The first `iface IFACE inet` (or `inet6`) stanza, in the main file or a sourced file, is
//! rewritten: its method changes, the options we manage (`address`, `netmask`, `broadcast`,
//! `network`, `gateway`, `dns-nameservers`) are replaced, and every other option and comment in
//! the stanza (`mtu`, `dns-search`, `up …`, bridge and bond options) stays. Later stanzas for
//! the same interface and family, in any file, are removed: ifupdown would merge them. Without a
//! stanza, one is added after the interface's other-family stanza, or at the end of the main
//! file. An existing `auto` or `allow-hotplug` line for the interface is kept (either brings it
//! up at boot); without one, `auto IFACE` is added before the stanza. Other stanzas, `source`
//! lines and comments stay byte for byte.

use super::{Family, GuestFile, GuestNetwork, IpConfig, NetworkSpec};
use crate::edit::text::{self, Line};
use crate::edit::udev::IfaceName;
use crate::edit::{FileChange, FileEdit};

/// The main file.
pub const MAIN: &str = "/etc/network/interfaces";

const STANZA_WORDS: &[&[u8]] = &[
    b"iface",
    b"mapping",
    b"auto",
    b"source",
    b"source-directory",
    b"rename",
    b"no-auto-down",
    b"no-scripts",
];
const MANAGED: &[&[u8]] = &[
    b"address",
    b"netmask",
    b"broadcast",
    b"network",
    b"gateway",
    b"dns-nameservers",
];

fn first_word<'a>(l: &Line<'a>) -> Option<&'a [u8]> {
    text::words(l.body).next()
}

fn starts_stanza(l: &Line<'_>) -> bool {
    first_word(l).is_some_and(|w| STANZA_WORDS.contains(&w) || w.starts_with(b"allow-"))
}

fn family_word(f: Family) -> &'static [u8] {
    match f {
        Family::V4 => b"inet",
        Family::V6 => b"inet6",
    }
}

/// `(start, end)` line ranges of `iface IFACE FAMILY` stanzas (`family` None: any family);
/// `end` is one past the last option line (trailing blanks and comments excluded).
fn stanzas(lines: &[Line<'_>], iface: &str, family: Option<Family>) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let w: Vec<&[u8]> = text::words(lines[i].body).collect();
        let hit = w.len() >= 3
            && w[0] == b"iface"
            && w[1] == iface.as_bytes()
            && family.is_none_or(|f| w[2] == family_word(f));
        if !hit {
            i += 1;
            continue;
        }
        let start = i;
        let mut end = i + 1;
        i += 1;
        while i < lines.len() && !starts_stanza(&lines[i]) {
            if !lines[i].is_comment_or_blank() {
                end = i + 1;
            }
            i += 1;
        }
        out.push((start, end));
    }
    out
}

/// True if `content` has an `iface IFACE` stanza.
pub fn defines(content: &[u8], iface: &IfaceName) -> bool {
    !stanzas(&text::lines(content), iface.as_str(), None).is_empty()
}

fn brought_up(content: &[u8], iface: &str) -> bool {
    text::lines(content).iter().any(|l| {
        let mut w = text::words(l.body);
        w.next()
            .is_some_and(|f| f == b"auto" || f.starts_with(b"allow-"))
            && w.any(|x| x == iface.as_bytes())
    })
}

/// The stanza for `spec`, reusing the old stanza's indentation and unmanaged lines.
fn render(spec: &NetworkSpec, old: &[Line<'_>], eol: &[u8]) -> Vec<u8> {
    let indent = old
        .iter()
        .skip(1)
        .find(|l| !l.is_comment_or_blank())
        .map_or(&b"\t"[..], |l| text::indent(l.body));
    let fam = String::from_utf8_lossy(family_word(spec.family())).into_owned();
    let mut out = Vec::new();
    let mut line = |s: &[u8]| {
        out.extend_from_slice(s);
        out.extend_from_slice(eol);
    };
    let opt = |k: &str, v: &str| [indent, k.as_bytes(), b" ", v.as_bytes()].concat();
    match &spec.config {
        IpConfig::Dhcp => line(format!("iface {} {fam} dhcp", spec.iface).as_bytes()),
        IpConfig::Static(s) => {
            line(format!("iface {} {fam} static", spec.iface).as_bytes());
            line(&opt("address", &s.cidr()));
            if let Some(g) = s.gateway {
                line(&opt("gateway", &g.to_string()));
            }
            if !s.dns.is_empty() {
                let d: Vec<String> = s.dns.iter().map(|d| d.to_string()).collect();
                line(&opt("dns-nameservers", &d.join(" ")));
            }
        }
    }
    for l in old.iter().skip(1) {
        if !first_word(l).is_some_and(|w| MANAGED.contains(&w)) {
            line(l.body);
        }
    }
    out
}

/// One file's lines rebuilt: `replace` (a stanza range) gets `new`, `remove` ranges go, and
/// `insert_at` (a line index) gets `new` before it when there is nothing to replace.
fn rebuild(
    content: &[u8],
    replace: Option<(usize, usize)>,
    remove: &[(usize, usize)],
    insert_at: Option<usize>,
    new: &[u8],
) -> Vec<u8> {
    let lines = text::lines(content);
    let eol = text::eol_of(content);
    let mut out = Vec::new();
    let mut i = 0;
    while i <= lines.len() {
        if insert_at == Some(i) {
            if !out.is_empty() && !out.ends_with(b"\n") {
                out.extend_from_slice(eol);
            }
            out.extend_from_slice(new);
        }
        if i == lines.len() {
            break;
        }
        if let Some((s, e)) = replace.filter(|r| r.0 == i) {
            out.extend_from_slice(new);
            // the last option line may have had no newline: keep it that way
            if lines[e - 1].eol.is_empty() && e == lines.len() {
                let trim = eol.len();
                out.truncate(out.len() - trim);
            }
            i = e.max(s + 1);
            continue;
        }
        if let Some(&(_, e)) = remove.iter().find(|r| r.0 == i) {
            i = e;
            continue;
        }
        out.extend_from_slice(lines[i].body);
        out.extend_from_slice(lines[i].eol);
        i += 1;
    }
    out
}

/// Shell-glob match of one pattern against a path (`*` and `?` within a component).
///
/// The pattern comes from the guest, so the match must not take exponential time: on a
/// mismatch only the last `*` takes one more byte (as in glibc's `fnmatch`). That is enough
/// because neither `*` nor `?` crosses a `/`: components match one by one, and within one the
/// last star can take whatever an earlier one would have.
fn glob(pat: &[u8], s: &[u8]) -> bool {
    let (mut p, mut i) = (0, 0);
    // Where to resume after the last star: its pattern index + 1, and the end of its match.
    let mut star: Option<(usize, usize)> = None;
    while i < s.len() {
        match pat.get(p) {
            Some(b'*') => {
                star = Some((p + 1, i));
                p += 1;
            }
            Some(b'?') if s[i] != b'/' => {
                p += 1;
                i += 1;
            }
            Some(&c) if c != b'?' && c == s[i] => {
                p += 1;
                i += 1;
            }
            _ => match star {
                Some((after, end)) if s[end] != b'/' => {
                    star = Some((after, end + 1));
                    p = after;
                    i = end + 1;
                }
                _ => return false,
            },
        }
    }
    pat[p..].iter().all(|&c| c == b'*')
}

/// The files the main file sources, in the order ifupdown reads them.
fn sourced<'g, 'a>(main: &[u8], guest: &'g GuestNetwork<'a>) -> Vec<&'g GuestFile<'a>> {
    let mut out: Vec<&GuestFile<'a>> = Vec::new();
    for l in text::lines(main) {
        let w: Vec<&[u8]> = text::words(l.body).collect();
        if w.len() < 2 || l.is_comment_or_blank() {
            continue;
        }
        let abs = |p: &[u8]| -> Vec<u8> {
            if p.starts_with(b"/") {
                p.to_vec()
            } else {
                [&b"/etc/network/"[..], p].concat()
            }
        };
        let mut hits: Vec<&GuestFile<'a>> = match w[0] {
            b"source" => {
                let pat = abs(w[1]);
                guest
                    .files
                    .iter()
                    .filter(|f| f.path != MAIN && glob(&pat, f.path.as_bytes()))
                    .collect()
            }
            b"source-directory" => {
                let dir = abs(w[1]);
                let dir = dir.strip_suffix(b"/").unwrap_or(&dir).to_vec();
                guest
                    .files
                    .iter()
                    .filter(|f| {
                        f.path
                            .as_bytes()
                            .strip_prefix(&dir[..])
                            .and_then(|r| r.strip_prefix(b"/"))
                            .is_some_and(|name| {
                                !name.is_empty()
                                    && name.iter().all(|&b| {
                                        b.is_ascii_alphanumeric() || b == b'_' || b == b'-'
                                    })
                            })
                    })
                    .collect()
            }
            _ => continue,
        };
        hits.sort_by_key(|f| f.path);
        for h in hits {
            if !out.iter().any(|o| o.path == h.path) {
                out.push(h);
            }
        }
    }
    out
}

/// The edits for `spec`: the main file and/or the sourced file that holds the stanza.
pub fn edits(guest: &GuestNetwork<'_>, spec: &NetworkSpec) -> Vec<FileEdit> {
    let main_content = guest.get(MAIN).map_or(&b""[..], |f| f.content);
    let mut files: Vec<(&str, &[u8])> = vec![(MAIN, main_content)];
    files.extend(
        sourced(main_content, guest)
            .iter()
            .map(|f| (f.path, f.content)),
    );
    let iface = spec.iface.as_str();
    let fam = spec.family();
    let up = files.iter().any(|(_, c)| brought_up(c, iface));

    // Where the stanza goes: the first file with a same-family stanza, else the first with any
    // stanza of the interface (after it), else the end of the main file.
    let target = files
        .iter()
        .position(|(_, c)| !stanzas(&text::lines(c), iface, Some(fam)).is_empty())
        .or_else(|| {
            files
                .iter()
                .position(|(_, c)| !stanzas(&text::lines(c), iface, None).is_empty())
        })
        .unwrap_or(0);

    let mut out = Vec::new();
    for (idx, (path, content)) in files.iter().enumerate() {
        let lines = text::lines(content);
        let eol = text::eol_of(content);
        let same = stanzas(&lines, iface, Some(fam));
        let (replace, remove, insert_at, new) = if idx == target {
            let mut new = Vec::new();
            if let Some(&(s, e)) = same.first() {
                new.extend(render(spec, &lines[s..e], eol));
                (Some((s, e)), same[1..].to_vec(), None, new)
            } else {
                let after = stanzas(&lines, iface, None).last().map(|r| r.1);
                let at = after.unwrap_or(lines.len());
                if after.is_none()
                    && !lines.is_empty()
                    && !lines
                        .last()
                        .is_some_and(|l| l.is_comment_or_blank() && text::trim(l.body).is_empty())
                {
                    new.extend_from_slice(eol);
                }
                if !up {
                    new.extend_from_slice(format!("auto {iface}").as_bytes());
                    new.extend_from_slice(eol);
                }
                new.extend(render(spec, &[], eol));
                (None, vec![], Some(at), new)
            }
        } else {
            (None, same, None, Vec::new())
        };
        let mut new_content = rebuild(content, replace, &remove, insert_at, &new);
        if idx == target && replace.is_some() && !up {
            // an existing stanza that nothing brings up: add `auto` before it
            let s = replace.map_or(0, |r| r.0);
            let auto = [format!("auto {iface}").as_bytes(), eol].concat();
            let offset: usize = lines[..s].iter().map(|l| l.body.len() + l.eol.len()).sum();
            new_content.splice(offset..offset, auto);
        }
        if idx == target || new_content != *content {
            out.push(FileEdit {
                path: (*path).to_owned(),
                change: FileChange::Write {
                    content: new_content,
                    mode: None,
                },
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob_matches_within_a_component() {
        assert!(glob(
            b"/etc/network/interfaces.d/*",
            b"/etc/network/interfaces.d/eth0"
        ));
        assert!(glob(
            b"/etc/network/*.d/e?h*",
            b"/etc/network/interfaces.d/eth0"
        ));
        assert!(glob(b"*", b""));
        assert!(glob(b"a**b", b"axxb"));
        assert!(!glob(b"/etc/network/*", b"/etc/network/interfaces.d/eth0"));
        assert!(!glob(b"/etc/?", b"/etc//"));
        assert!(!glob(b"/etc/*x", b"/etc/ab"));
        assert!(glob(b"/a/*/c*", b"/a/b/cd"));
        assert!(!glob(b"/a/*c", b"/a/b/c"));
    }

    #[test]
    fn a_hostile_source_pattern_does_not_hang() {
        // A guest's `source` line is matched against every guest file path: a pattern with
        // many stars must not take exponential time (it hung customize --network).
        let pat = format!("/etc/network/interfaces.d/{}b", "*a".repeat(30));
        let path = format!("/etc/network/interfaces.d/{}", "a".repeat(60));
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(glob(pat.as_bytes(), path.as_bytes()));
        });
        let matched = rx
            .recv_timeout(std::time::Duration::from_secs(5))
            .expect("glob took longer than 5 s");
        assert!(!matched);
    }
}
