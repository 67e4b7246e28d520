//! POSIX ACLs and file capabilities in their text forms (cmds-files), read and written as
//! the kernel keeps them: the `system.posix_acl_access`/`_default` and `security.capability`
//! extended attributes. The text forms are those of libacl's `acl_to_text` and libcap's
//! `cap_to_text` (numeric ids: the appliance has no user database).

use crate::fs::{attrs, guestfs, walk};
use crate::sys;
use guestwright_protocol::GuestPath;
use std::ffi::CString;
use std::io;
use std::os::fd::AsFd;

fn invalid(msg: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, msg.into())
}

const USER_OBJ: u16 = 0x01;
const USER: u16 = 0x02;
const GROUP_OBJ: u16 = 0x04;
const GROUP: u16 = 0x08;
const MASK: u16 = 0x10;
const OTHER: u16 = 0x20;
const UNDEFINED_ID: u32 = u32::MAX;

fn xattr_name(call: &str, acltype: &str) -> io::Result<&'static str> {
    match acltype {
        "access" => Ok("system.posix_acl_access"),
        "default" => Ok("system.posix_acl_default"),
        _ => Err(invalid(format!(
            "{call}: invalid acltype parameter: {acltype}"
        ))),
    }
}

fn perms(p: u16) -> String {
    [(4, 'r'), (2, 'w'), (1, 'x')]
        .iter()
        .map(|&(b, c)| if p & b != 0 { c } else { '-' })
        .collect()
}

/// `acl_get_file`: the ACL in long text form; for a file with no access ACL, the one its
/// mode implies; for no default ACL, the empty string.
pub fn acl_get_file(path: &GuestPath, acltype: &str) -> io::Result<String> {
    let name = xattr_name("acl_get_file", acltype)?;
    let fd = guestfs::open(path, libc::O_PATH, 0)?;
    let p = attrs::proc_fd(fd.as_fd());
    let value = match sys::getxattr(&p, &CString::new(name).expect("no NUL"), false) {
        Ok(v) => v,
        Err(e) if e.raw_os_error() == Some(libc::ENODATA) => {
            if acltype == "default" {
                return Ok(String::new());
            }
            let st = walk::fstat(fd.as_fd())?;
            let m = st.st_mode as u16;
            return Ok(format!(
                "user::{}\ngroup::{}\nother::{}\n",
                perms((m >> 6) & 7),
                perms((m >> 3) & 7),
                perms(m & 7)
            ));
        }
        Err(e) => return Err(e),
    };
    let mut out = String::new();
    for e in value.get(4..).unwrap_or(&[]).chunks_exact(8) {
        let tag = u16::from_le_bytes([e[0], e[1]]);
        let perm = u16::from_le_bytes([e[2], e[3]]);
        let id = u32::from_le_bytes([e[4], e[5], e[6], e[7]]);
        let line = match tag {
            USER_OBJ => format!("user::{}", perms(perm)),
            USER => format!("user:{id}:{}", perms(perm)),
            GROUP_OBJ => format!("group::{}", perms(perm)),
            GROUP => format!("group:{id}:{}", perms(perm)),
            MASK => format!("mask::{}", perms(perm)),
            OTHER => format!("other::{}", perms(perm)),
            _ => continue,
        };
        out.push_str(&line);
        out.push('\n');
    }
    Ok(out)
}

/// Parses an ACL in long or short text form into sorted (tag, id, perm) entries.
fn parse_acl(text: &str) -> io::Result<Vec<(u16, u32, u16)>> {
    let bad = |what: &str| invalid(format!("acl_from_text: {what}: invalid ACL '{text}'"));
    let mut entries = Vec::new();
    for raw in text.split([',', '\n']) {
        let entry = raw.split('#').next().unwrap_or("").trim();
        if entry.is_empty() {
            continue;
        }
        let parts: Vec<&str> = entry.split(':').collect();
        let (tag, qual, perm) = match parts.as_slice() {
            [t, q, p] => (*t, *q, *p),
            [t, p] if matches!(*t, "o" | "other" | "m" | "mask") => (*t, "", *p),
            _ => return Err(bad(entry)),
        };
        let tag = match (tag, qual.is_empty()) {
            ("u" | "user", true) => USER_OBJ,
            ("u" | "user", false) => USER,
            ("g" | "group", true) => GROUP_OBJ,
            ("g" | "group", false) => GROUP,
            ("m" | "mask", true) => MASK,
            ("o" | "other", true) => OTHER,
            _ => return Err(bad(entry)),
        };
        let id = if qual.is_empty() {
            UNDEFINED_ID
        } else {
            qual.parse::<u32>().map_err(|_| bad(entry))?
        };
        let mut p = 0u16;
        for c in perm.trim().chars() {
            p |= match c {
                'r' => 4,
                'w' => 2,
                'x' => 1,
                '-' => 0,
                _ => return Err(bad(entry)),
            };
        }
        entries.push((tag, id, p));
    }
    entries.sort();
    let count = |t: u16| entries.iter().filter(|e| e.0 == t).count();
    let named = count(USER) + count(GROUP);
    if count(USER_OBJ) != 1
        || count(GROUP_OBJ) != 1
        || count(OTHER) != 1
        || count(MASK) > 1
        || (named > 0 && count(MASK) != 1)
        || entries
            .windows(2)
            .any(|w| w[0].0 == w[1].0 && w[0].1 == w[1].1)
    {
        return Err(invalid(format!(
            "acl_valid: invalid ACL '{text}': it needs one each of u::, g:: and o:: entries, \
             and m:: when there are named users or groups"
        )));
    }
    Ok(entries)
}

/// `acl_set_file`: replaces the ACL (the kernel updates the mode for an access ACL).
pub fn acl_set_file(path: &GuestPath, acltype: &str, text: &str) -> io::Result<()> {
    let name = xattr_name("acl_set_file", acltype)?;
    let entries = parse_acl(text)?;
    let mut value = 2u32.to_le_bytes().to_vec();
    for (tag, id, perm) in entries {
        value.extend_from_slice(&tag.to_le_bytes());
        value.extend_from_slice(&perm.to_le_bytes());
        value.extend_from_slice(&id.to_le_bytes());
    }
    let fd = guestfs::open(path, libc::O_PATH, 0)?;
    if acltype == "default" && !walk::is_dir(&walk::fstat(fd.as_fd())?) {
        return Err(io::Error::from_raw_os_error(libc::EACCES));
    }
    let p = attrs::proc_fd(fd.as_fd());
    sys::setxattr(&p, &CString::new(name).expect("no NUL"), &value, false)
}

/// `acl_delete_def_file`: removes the default ACL of a directory (none is fine).
pub fn acl_delete_def_file(dir: &GuestPath) -> io::Result<()> {
    let fd = guestfs::open(dir, libc::O_PATH, 0)?;
    let p = attrs::proc_fd(fd.as_fd());
    match sys::removexattr(
        &p,
        &CString::new("system.posix_acl_default").expect("no NUL"),
        false,
    ) {
        Err(e) if e.raw_os_error() == Some(libc::ENODATA) => Ok(()),
        other => other,
    }
}

/// libcap's capability names, by number.
const CAP_NAMES: &[&str] = &[
    "cap_chown",
    "cap_dac_override",
    "cap_dac_read_search",
    "cap_fowner",
    "cap_fsetid",
    "cap_kill",
    "cap_setgid",
    "cap_setuid",
    "cap_setpcap",
    "cap_linux_immutable",
    "cap_net_bind_service",
    "cap_net_broadcast",
    "cap_net_admin",
    "cap_net_raw",
    "cap_ipc_lock",
    "cap_ipc_owner",
    "cap_sys_module",
    "cap_sys_rawio",
    "cap_sys_chroot",
    "cap_sys_ptrace",
    "cap_sys_pacct",
    "cap_sys_admin",
    "cap_sys_boot",
    "cap_sys_nice",
    "cap_sys_resource",
    "cap_sys_time",
    "cap_sys_tty_config",
    "cap_mknod",
    "cap_lease",
    "cap_audit_write",
    "cap_audit_control",
    "cap_setfcap",
    "cap_mac_override",
    "cap_mac_admin",
    "cap_syslog",
    "cap_wake_alarm",
    "cap_block_suspend",
    "cap_audit_read",
    "cap_perfmon",
    "cap_bpf",
    "cap_checkpoint_restore",
];

const EFF: u8 = 1;
const PER: u8 = 2;
const INH: u8 = 4;

/// The three sets, one bit per capability.
#[derive(Default, Debug, PartialEq, Eq)]
struct Caps {
    eff: u64,
    per: u64,
    inh: u64,
}

impl Caps {
    fn state(&self, n: usize) -> u8 {
        let bit = |s: u64, f: u8| if s >> n & 1 == 1 { f } else { 0 };
        bit(self.eff, EFF) | bit(self.per, PER) | bit(self.inh, INH)
    }
}

fn flags_text(f: u8) -> String {
    let mut s = String::new();
    for (b, c) in [(EFF, 'e'), (INH, 'i'), (PER, 'p')] {
        if f & b != 0 {
            s.push(c);
        }
    }
    s
}

/// `cap_to_text`: the most common state is the base (`=...`), then one clause per other
/// state, naming its capabilities.
fn caps_to_text(c: &Caps) -> String {
    let nbits = CAP_NAMES.len();
    let mut histo = [0usize; 8];
    for n in 0..nbits {
        histo[c.state(n) as usize] += 1;
    }
    let mut m = 7usize;
    for t in (0..7).rev() {
        if histo[t] >= histo[m] {
            m = t;
        }
    }
    let mut buf = format!("={}", flags_text(m as u8));
    for t in (0..8).rev() {
        if t == m || histo[t] == 0 {
            continue;
        }
        buf.push(' ');
        let names: Vec<&str> = (0..nbits)
            .filter(|&n| c.state(n) as usize == t)
            .map(|n| CAP_NAMES[n])
            .collect();
        buf.push_str(&names.join(","));
        let plus = (t & !m) as u8;
        if plus != 0 {
            let op = if m == 0 { '=' } else { '+' };
            buf.push(op);
            buf.push_str(&flags_text(plus));
        }
        let minus = (!t & m) as u8;
        if minus != 0 {
            buf.push('-');
            buf.push_str(&flags_text(minus));
        }
    }
    match buf.strip_prefix("= ") {
        Some(rest) => rest.to_string(),
        None => buf,
    }
}

/// `cap_from_text`: clauses `names(op flags)+`, `op` one of `=`, `+`, `-`.
fn caps_from_text(text: &str) -> io::Result<Caps> {
    let bad = || invalid(format!("cap_from_text: invalid capability text '{text}'"));
    let all = (1u64 << CAP_NAMES.len()) - 1;
    let mut c = Caps::default();
    for clause in text.split_whitespace() {
        let opat = clause.find(['=', '+', '-']).ok_or_else(bad)?;
        let (names, mut ops) = clause.split_at(opat);
        let mut set = 0u64;
        if names.is_empty() || names.eq_ignore_ascii_case("all") {
            if names.is_empty() && !ops.starts_with('=') {
                return Err(bad());
            }
            set = all;
        } else {
            for name in names.split(',') {
                let lower = name.to_ascii_lowercase();
                let n = match CAP_NAMES.iter().position(|&k| k == lower) {
                    Some(n) => n,
                    None => lower
                        .parse::<usize>()
                        .ok()
                        .filter(|&n| n < 64)
                        .ok_or_else(bad)?,
                };
                set |= 1 << n;
            }
        }
        while !ops.is_empty() {
            let op = ops.as_bytes()[0];
            let rest = &ops[1..];
            let end = rest.find(['=', '+', '-']).unwrap_or(rest.len());
            let (flags, next) = rest.split_at(end);
            let mut f = 0u8;
            for ch in flags.chars() {
                f |= match ch {
                    'e' => EFF,
                    'p' => PER,
                    'i' => INH,
                    _ => return Err(bad()),
                };
            }
            if op == b'=' {
                c.eff &= !set;
                c.per &= !set;
                c.inh &= !set;
            } else if f == 0 {
                return Err(bad());
            }
            let apply = |s: &mut u64, flag: u8| {
                if f & flag != 0 {
                    if op == b'-' {
                        *s &= !set;
                    } else {
                        *s |= set;
                    }
                }
            };
            apply(&mut c.eff, EFF);
            apply(&mut c.per, PER);
            apply(&mut c.inh, INH);
            ops = next;
        }
    }
    Ok(c)
}

const CAP_XATTR: &str = "security.capability";

/// `cap_get_file`: the file's capabilities as text, or "" when it has none.
pub fn cap_get_file(path: &GuestPath) -> io::Result<String> {
    let fd = guestfs::open(path, libc::O_PATH, 0)?;
    let p = attrs::proc_fd(fd.as_fd());
    let value = match sys::getxattr(&p, &CString::new(CAP_XATTR).expect("no NUL"), false) {
        Ok(v) => v,
        Err(e) if e.raw_os_error() == Some(libc::ENODATA) => return Ok(String::new()),
        Err(e) => return Err(e),
    };
    if value.len() < 12 {
        return Err(invalid(format!("{path}: malformed security.capability")));
    }
    let word = |i: usize| u32::from_le_bytes([value[i], value[i + 1], value[i + 2], value[i + 3]]);
    let magic = word(0);
    let (per_lo, inh_lo) = (word(4), word(8));
    let (per_hi, inh_hi) = if value.len() >= 20 {
        (word(12), word(16))
    } else {
        (0, 0)
    };
    let per = u64::from(per_lo) | u64::from(per_hi) << 32;
    let inh = u64::from(inh_lo) | u64::from(inh_hi) << 32;
    let eff = if magic & 1 != 0 { per | inh } else { 0 };
    Ok(caps_to_text(&Caps { eff, per, inh }))
}

/// `cap_set_file`: sets the file's capabilities from text (version 2 of the attribute; the
/// effective set must be empty or everything permitted or inheritable, as the kernel keeps
/// one effective bit).
pub fn cap_set_file(path: &GuestPath, text: &str) -> io::Result<()> {
    let c = caps_from_text(text)?;
    if c.eff != 0 && c.eff != (c.per | c.inh) {
        return Err(invalid(format!(
            "{text}: the effective set must be empty or equal to the permitted and \
             inheritable ones together"
        )));
    }
    let mut value = Vec::with_capacity(20);
    let magic: u32 = 0x0200_0000 | u32::from(c.eff != 0);
    value.extend_from_slice(&magic.to_le_bytes());
    value.extend_from_slice(&(c.per as u32).to_le_bytes());
    value.extend_from_slice(&(c.inh as u32).to_le_bytes());
    value.extend_from_slice(&((c.per >> 32) as u32).to_le_bytes());
    value.extend_from_slice(&((c.inh >> 32) as u32).to_le_bytes());
    let fd = guestfs::open(path, libc::O_PATH, 0)?;
    let p = attrs::proc_fd(fd.as_fd());
    sys::setxattr(&p, &CString::new(CAP_XATTR).expect("no NUL"), &value, false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caps_print_as_libcap_does() {
        let c = caps_from_text("cap_net_raw+ep").unwrap();
        assert_eq!(caps_to_text(&c), "cap_net_raw=ep");
        let c = caps_from_text("cap_chown,cap_kill=eip cap_net_admin+p").unwrap();
        assert_eq!(caps_to_text(&c), "cap_chown,cap_kill=eip cap_net_admin=p");
        let c = caps_from_text("=ep").unwrap();
        assert_eq!(caps_to_text(&c), "=ep");
    }

    #[test]
    fn acls_parse_short_and_long_forms() {
        let e = parse_acl("u::rw-,g::r--,o::---,u:1000:r--,m::r--").unwrap();
        assert_eq!(e.len(), 5);
        assert_eq!(e[1], (USER, 1000, 4));
        assert!(parse_acl("u::rw-,g::r--,o::---,u:1000:r--").is_err());
        assert!(parse_acl("u::rx,g::rx,o::rx").is_ok());
    }
}
