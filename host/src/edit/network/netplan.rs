//! Ubuntu netplan, /etc/netplan/*.yaml.
//!
//! Why edit in place rather than only drop our own file: netplan merges all files in name
//! order, and while a later file's scalars override earlier ones, *sequences are appended*. A
//! `90-guestwright-eth0.yaml` with `addresses: [192.0.2.5/24]` on top of an installer file with
//! `addresses: [10.0.0.9/24]` would give the interface both addresses. So:
//! - the first file (in netplan's order) that defines `ethernets: IFACE:` (by id or by
//!   `set-name: IFACE`) has that interface's block rewritten: `dhcp4`/`gateway4` (or the v6
//!   ones), this family's `addresses`, default `routes` and `nameservers.addresses` are
//!   replaced; `match`, `set-name`, `mtu`, `optional`, other routes, `search` and the other
//!   family's settings stay; other interfaces and the rest of the file stay byte for byte;
//! - later files that also define the interface lose this family's settings for it;
//! - when no file defines it, `/etc/netplan/90-guestwright-IFACE.yaml` is created.
//!
//! Only block-style YAML is edited (what netplan, cloud-init and the Ubuntu installer write);
//! an interface written in flow style (`eth0: {dhcp4: true}`) is treated as not defined.
//! Files are written mode 0600: netplan warns about (and newer versions refuse) readable ones.

use super::{Family, GuestNetwork, IpConfig, NetworkSpec};
use crate::edit::text::{self, Line};
use crate::edit::{FileChange, FileEdit};

/// The netplan directory.
pub const DIR: &str = "/etc/netplan";

/// Path of our own file for `iface`.
pub fn path(iface: &str) -> String {
    format!("{DIR}/90-guestwright-{iface}.yaml")
}

fn indent_of(l: &Line<'_>) -> usize {
    text::indent(l.body).len()
}

fn is_blank_or_comment(l: &Line<'_>) -> bool {
    l.is_comment_or_blank()
}

/// `key` of a `key:` or `key: value` line, unquoted; `None` for list items and others.
fn key_of<'a>(l: &Line<'a>) -> Option<(String, &'a [u8])> {
    let t = text::trim(l.body);
    if t.starts_with(b"-") || t.starts_with(b"#") {
        return None;
    }
    let colon = t
        .windows(2)
        .position(|w| w == b": ")
        .or_else(|| t.ends_with(b":").then(|| t.len() - 1))?;
    let k = String::from_utf8_lossy(&t[..colon])
        .trim_matches(['"', '\''])
        .to_owned();
    let v = text::trim(&t[colon + 1..]);
    Some((k, v))
}

/// Value without a trailing comment.
fn scalar(v: &[u8]) -> String {
    let v = match v.windows(2).position(|w| w == b" #") {
        Some(i) => &v[..i],
        None => v,
    };
    String::from_utf8_lossy(text::trim(v))
        .trim_matches(['"', '\''])
        .to_owned()
}

/// The child lines of line `i` (deeper indentation, blank and comment lines included, trailing
/// ones excluded): returns one past the last child.
fn block_end(lines: &[Line<'_>], i: usize) -> usize {
    let base = indent_of(&lines[i]);
    let mut end = i + 1;
    let mut j = i + 1;
    while j < lines.len() {
        if !is_blank_or_comment(&lines[j]) {
            if indent_of(&lines[j]) <= base {
                break;
            }
            end = j + 1;
        }
        j += 1;
    }
    end
}

/// Children entries of the block `(start, end)`: each begins at a non-blank line at the
/// children's indentation. Returns `(child indent, [(entry start, entry end)])`.
fn children(lines: &[Line<'_>], start: usize, end: usize) -> (usize, Vec<(usize, usize)>) {
    let Some(first) = (start + 1..end).find(|&j| !is_blank_or_comment(&lines[j])) else {
        return (indent_of(&lines[start]) + 2, Vec::new());
    };
    let ci = indent_of(&lines[first]);
    let mut out: Vec<(usize, usize)> = Vec::new();
    for (j, line) in lines.iter().enumerate().take(end).skip(start + 1) {
        // a `- item` at the key's own indentation belongs to the key above (YAML allows it)
        let item = text::trim(line.body).starts_with(b"-");
        if !is_blank_or_comment(line) && indent_of(line) == ci && !item {
            if let Some(last) = out.last_mut() {
                last.1 = j;
            }
            out.push((j, end));
        }
    }
    if let Some(first_entry) = out.first_mut() {
        first_entry.0 = first_entry.0.min(start + 1);
    }
    (ci, out)
}

/// Finds `network: ethernets: IFACE:` in block style: the iface line index and block end.
fn find_iface(lines: &[Line<'_>], iface: &str) -> Option<(usize, usize)> {
    let net = (0..lines.len()).find(|&i| {
        indent_of(&lines[i]) == 0
            && key_of(&lines[i]).is_some_and(|(k, v)| k == "network" && v.is_empty())
    })?;
    let (_, net_children) = children(lines, net, block_end(lines, net));
    for (s, e) in net_children {
        let Some(eth) = (s..e).find(|&j| !is_blank_or_comment(&lines[j])) else {
            continue;
        };
        if !key_of(&lines[eth]).is_some_and(|(k, v)| k == "ethernets" && v.is_empty()) {
            continue;
        }
        let (_, devs) = children(lines, eth, block_end(lines, eth));
        for (ds, de) in devs {
            let Some(d) = (ds..de).find(|&j| !is_blank_or_comment(&lines[j])) else {
                continue;
            };
            let Some((id, v)) = key_of(&lines[d]) else {
                continue;
            };
            if !v.is_empty() && !v.starts_with(b"#") {
                continue; // flow style: not ours to edit
            }
            let end = block_end(lines, d);
            // `set-name` counts as the interface's own key only, never a line deeper down
            // (which the rewrite may not keep where it was).
            let (_, keys) = children(lines, d, end);
            let set_name = keys.iter().any(|&(ks, ke)| {
                (ks..ke)
                    .find(|&j| !is_blank_or_comment(&lines[j]))
                    .and_then(|j| key_of(&lines[j]))
                    .is_some_and(|(k, v)| k == "set-name" && scalar(v) == iface)
            });
            if id == iface || set_name {
                return Some((d, end));
            }
        }
    }
    None
}

/// A list under a key: flow `[a, b]` on the key line, or `- item` lines below it, in the
/// file's order (written back in it, so that a second run finds them where the first put
/// them).
#[derive(Debug, Default)]
struct List {
    items: Vec<Item>,
}

/// One item of a [`List`].
#[derive(Debug)]
enum Item {
    /// A plain scalar, unquoted, and the item's line (less the list's indentation) when it
    /// comes from a block list: written back as those bytes, whatever they are.
    Scalar(String, Option<Vec<u8>>),
    /// Any other item: its lines, less the list's indentation.
    Raw(Vec<Vec<u8>>),
}

impl List {
    fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    fn has_scalar(&self, s: &str) -> bool {
        self.items
            .iter()
            .any(|i| matches!(i, Item::Scalar(x, _) if x == s))
    }

    /// Drops the scalars of family `fam`.
    fn drop_family(&mut self, fam: Family) {
        self.items.retain(|i| match i {
            Item::Scalar(a, _) => Family::of_text(a) != Some(fam),
            Item::Raw(_) => true,
        });
    }

    /// Writes the items, each line at indentation `n`.
    fn put(&self, n: usize, put: &mut impl FnMut(usize, &[u8])) {
        for item in &self.items {
            match item {
                Item::Scalar(_, Some(line)) => put(n, line),
                Item::Scalar(a, None) => put(n, format!("- {}", quote(a)).as_bytes()),
                Item::Raw(lines) => {
                    for l in lines {
                        put(n, l);
                    }
                }
            }
        }
    }
}

fn parse_list(lines: &[Line<'_>], key_line: usize, end: usize, inline: &[u8]) -> List {
    let mut l = List::default();
    let inline = text::trim(inline);
    if inline.starts_with(b"[") {
        let body = String::from_utf8_lossy(inline);
        let body = body.trim_start_matches('[').split(']').next().unwrap_or("");
        l.items = body
            .split(',')
            .map(|s| s.trim().trim_matches(['"', '\'']).to_owned())
            .filter(|s| !s.is_empty())
            .map(|s| Item::Scalar(s, None))
            .collect();
        return l;
    }
    let mut items: Vec<(usize, Vec<&Line<'_>>)> = Vec::new();
    let mut item_indent = None;
    for line in &lines[key_line + 1..end] {
        if is_blank_or_comment(line) {
            continue;
        }
        let t = text::trim(line.body);
        let ind = indent_of(line);
        // An item indented less than the first one (not YAML, but found in files) starts an
        // item too: it is written back at the list's indentation, where a second run must
        // find it the same.
        if (t.starts_with(b"- ") || t == b"-") && item_indent.is_none_or(|ii| ind <= ii) {
            item_indent.get_or_insert(ind);
            items.push((ind, vec![line]));
            continue;
        }
        if let Some(last) = items.last_mut() {
            last.1.push(line);
        }
    }
    for (ind, group) in items {
        let first = text::trim(group[0].body);
        let rest = text::trim(&first[1..]);
        let simple = group.len() == 1
            && !rest.is_empty()
            && (rest.starts_with(b"\"")
                || rest.starts_with(b"'")
                || !rest.windows(2).any(|w| w == b": ") && !rest.ends_with(b":"));
        if simple {
            let line = &group[0].body[ind.min(indent_of(group[0]))..];
            l.items
                .push(Item::Scalar(scalar(rest), Some(line.to_vec())));
        } else {
            l.items.push(Item::Raw(
                group
                    .iter()
                    // Only blanks go: a continuation line indented less than the item
                    // keeps every other byte.
                    .map(|g| g.body[ind.min(indent_of(g))..].to_vec())
                    .collect(),
            ));
        }
    }
    l
}

/// A list item as YAML reads it back: quoted when it has a `:` (IPv6), is empty (a bare `- `
/// reads as a null item, not a string) or starts or ends with a blank (which a bare item
/// loses).
fn quote(addr: &str) -> String {
    if addr.is_empty()
        || addr.contains(':')
        || addr.starts_with([' ', '\t'])
        || addr.ends_with([' ', '\t'])
    {
        format!("\"{addr}\"")
    } else {
        addr.to_owned()
    }
}

/// Rewrites one interface block (`lines[start..end]`, `start` being the `IFACE:` line).
/// `render` false: only strip this family's settings (a later file defining it again).
fn rewrite_block(
    lines: &[Line<'_>],
    start: usize,
    end: usize,
    spec: &NetworkSpec,
    render: bool,
    eol: &[u8],
) -> Vec<u8> {
    let fam = spec.family();
    let (dhcp_key, gw_key) = match fam {
        Family::V4 => ("dhcp4", "gateway4"),
        Family::V6 => ("dhcp6", "gateway6"),
    };
    let (ci, entries) = children(lines, start, end);
    let base = indent_of(&lines[start]);
    let step = ci.saturating_sub(base).max(1);
    let pad = |n: usize| " ".repeat(n);
    let mut kept: Vec<u8> = Vec::new();
    let mut addresses = List::default();
    let mut routes = List::default();
    let mut ns_addresses = List::default();
    // Other nameservers lines, each with its indentation relative to its own block's
    // children (a file may repeat the key, each time indented its own way).
    let mut ns_other: Vec<(usize, Vec<u8>)> = Vec::new();
    for &(s, e) in &entries {
        let Some(k) = (s..e).find(|&j| !is_blank_or_comment(&lines[j])) else {
            continue;
        };
        let key = key_of(&lines[k]).map(|(k, v)| (k, v.to_vec()));
        match key.as_ref().map(|(k, v)| (k.as_str(), v.as_slice())) {
            Some((k, _)) if k == dhcp_key || k == gw_key => {}
            Some(("addresses", v)) => addresses = parse_list(lines, k, e, v),
            Some(("routes", v)) => routes = parse_list(lines, k, e, v),
            Some(("nameservers", _)) => {
                let (nci, subs) = children(lines, k, e);
                for (ss, se) in subs {
                    let Some(sk) = (ss..se).find(|&j| !is_blank_or_comment(&lines[j])) else {
                        continue;
                    };
                    match key_of(&lines[sk]) {
                        Some((kk, v)) if kk == "addresses" => {
                            ns_addresses = parse_list(lines, sk, se, v)
                        }
                        _ => ns_other.extend(
                            lines[ss..se]
                                .iter()
                                .filter(|l| !is_blank_or_comment(l))
                                .map(|l| (indent_of(l).saturating_sub(nci), l.body.to_vec())),
                        ),
                    }
                }
            }
            _ => {
                for l in &lines[s..e] {
                    kept.extend_from_slice(l.body);
                    kept.extend_from_slice(eol);
                }
            }
        }
    }
    // this family's settings out
    addresses.drop_family(fam);
    ns_addresses.drop_family(fam);
    routes.items.retain(|item| {
        let Item::Raw(item) = item else {
            return true;
        };
        let mut to = None;
        let mut via = None;
        for l in item {
            let t = String::from_utf8_lossy(l);
            let t = t.trim_start_matches(['-', ' ']);
            if let Some(v) = t.strip_prefix("to:") {
                to = Some(v.trim().trim_matches(['"', '\'']).to_owned());
            } else if let Some(v) = t.strip_prefix("via:") {
                via = Some(v.trim().trim_matches(['"', '\'']).to_owned());
            }
        }
        let default_fam = match to.as_deref() {
            Some("0.0.0.0/0") => Some(Family::V4),
            Some("::/0") => Some(Family::V6),
            Some("default") => via.as_deref().and_then(Family::of_text),
            _ => None,
        };
        default_fam != Some(fam)
    });
    let mut route_new: Option<String> = None;
    if render {
        if let IpConfig::Static(s) = &spec.config {
            addresses.items.push(Item::Scalar(s.cidr(), None));
            route_new = s.gateway.map(|g| g.to_string());
            // The other family's servers stay first; given servers join them, the other
            // family's before this family's, so that a second run finds them all where the
            // first put them.
            let (this, other): (Vec<&std::net::IpAddr>, Vec<&std::net::IpAddr>) =
                s.dns.iter().partition(|d| Family::of(d) == fam);
            for d in other.into_iter().chain(this) {
                let d = d.to_string();
                if !ns_addresses.has_scalar(&d) {
                    ns_addresses.items.push(Item::Scalar(d, None));
                }
            }
        }
    }

    let mut out = Vec::new();
    out.extend_from_slice(lines[start].body);
    out.extend_from_slice(eol);
    out.extend_from_slice(&kept);
    // Lines kept from the file are written as bytes: a non-UTF-8 byte stays what it was.
    let mut put = |n: usize, s: &[u8]| {
        out.extend_from_slice(pad(n).as_bytes());
        out.extend_from_slice(s);
        out.extend_from_slice(eol);
    };
    if render && matches!(spec.config, IpConfig::Dhcp) {
        put(ci, format!("{dhcp_key}: true").as_bytes());
    }
    if !addresses.is_empty() {
        put(ci, b"addresses:");
        addresses.put(ci + step, &mut put);
    }
    if !routes.is_empty() || route_new.is_some() {
        put(ci, b"routes:");
        // A route written as a plain item is not one netplan takes, but it is the guest's.
        routes.put(ci + step, &mut put);
        if let Some(g) = &route_new {
            put(ci + step, b"- to: default");
            put(ci + step + 2, format!("via: {}", quote(g)).as_bytes());
        }
    }
    if !ns_addresses.is_empty() || !ns_other.is_empty() {
        put(ci, b"nameservers:");
        if !ns_addresses.is_empty() {
            put(ci + step, b"addresses:");
            ns_addresses.put(ci + 2 * step, &mut put);
        }
        for (rel, l) in &ns_other {
            put(ci + step + rel, text::trim(l));
        }
    }
    out
}

/// Rewrites `IFACE` in one file; `None` when the file does not define it (in block style).
pub fn edit_netplan_file(content: &[u8], spec: &NetworkSpec, render: bool) -> Option<Vec<u8>> {
    let mut lines = text::lines(content);
    // YAML reads a CR as a line break too: a bare CR that ends the file ends its last line
    // and is no part of its value. The file keeps ending in it (below), so that a second run,
    // which sees it as before, writes the same bytes.
    if let Some(last) = lines.last_mut() {
        if last.eol.is_empty() && last.body.ends_with(b"\r") {
            let (body, eol) = last.body.split_at(last.body.len() - 1);
            *last = Line { body, eol };
        }
    }
    let (start, end) = find_iface(&lines, spec.iface.as_str())?;
    let eol = text::eol_of(content);
    let mut out = Vec::new();
    for l in &lines[..start] {
        out.extend_from_slice(l.body);
        out.extend_from_slice(l.eol);
    }
    let block = rewrite_block(&lines, start, end, spec, render, eol);
    out.extend_from_slice(&block);
    let final_eol = lines[end - 1].eol;
    if end == lines.len() && !final_eol.ends_with(b"\n") {
        // keep a missing final newline missing, and a final bare CR a bare CR
        out.truncate(out.len() - eol.len());
        out.extend_from_slice(final_eol);
    }
    for l in &lines[end..] {
        out.extend_from_slice(l.body);
        out.extend_from_slice(l.eol);
    }
    Some(out)
}

/// Our own file for an interface no netplan file defines.
pub fn new_file(spec: &NetworkSpec) -> Vec<u8> {
    let skeleton = format!(
        "# Written by guestwright --network {}.\nnetwork:\n  version: 2\n  ethernets:\n    {}:\n",
        spec.iface, spec.iface
    );
    edit_netplan_file(skeleton.as_bytes(), spec, true).unwrap_or_else(|| skeleton.into_bytes())
}

/// The edits for `spec`; see the module documentation.
pub fn edits(guest: &GuestNetwork<'_>, spec: &NetworkSpec) -> Vec<FileEdit> {
    let mut files: Vec<_> = guest
        .files
        .iter()
        .filter(|f| f.path.starts_with(&format!("{DIR}/")) && f.path.ends_with(".yaml"))
        .collect();
    // netplan reads files in order of their base name
    files.sort_by_key(|f| f.path.rsplit('/').next().unwrap_or(f.path).to_owned());
    let mut out = Vec::new();
    let mut rendered = false;
    for f in files {
        if let Some(new) = edit_netplan_file(f.content, spec, !rendered) {
            rendered = true;
            out.push(FileEdit {
                path: f.path.to_owned(),
                change: FileChange::Write {
                    content: new,
                    mode: Some(0o600),
                },
            });
        }
    }
    if !rendered {
        out.push(FileEdit {
            path: path(spec.iface.as_str()),
            change: FileChange::Write {
                content: new_file(spec),
                mode: Some(0o600),
            },
        });
    }
    out
}
