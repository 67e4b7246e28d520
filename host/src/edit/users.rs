//! `--user-add NAME[:uid=..,groups=..,shell=..,home=..]`: the new /etc/passwd, /etc/shadow,
//! /etc/group and /etc/gshadow, and the home directory the caller must create.
//!
//! Follows useradd with `USERGROUPS_ENAB yes` (the default of every distribution we target):
//! - uid: the one given, else one more than the highest uid in `UID_MIN..=UID_MAX` of
//!   /etc/login.defs (1000..=60000 by default), else the lowest free one in that range;
//! - a user private group named after the user, gid = uid when that gid is free, else chosen
//!   like the uid in `GID_MIN..=GID_MAX`;
//! - shadow `NAME:!:DAY:PASS_MIN_DAYS:PASS_MAX_DAYS:PASS_WARN_AGE:::` (locked until a
//!   password is set), gshadow `NAME:!::`;
//! - home `/home/NAME`, mode `HOME_MODE` from login.defs or 0700 (useradd falls back to
//!   `~UMASK`, 0755 on Debian; a private home is the safer default for a new image), copied from
//!   /etc/skel; shell /bin/bash.
//!
//! New lines are appended, as useradd does. Running the same `--user-add` again changes
//! nothing; an existing user whose uid, home or shell differ from the spec is an error. Never
//! does I/O.

use std::str::FromStr;

use super::text::{self, Builder};

/// Errors of `--user-add`.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum UserError {
    /// The argument does not parse.
    #[error("invalid --user-add {arg:?}: {reason}; use NAME[:uid=N,groups=G1,G2,shell=/bin/sh,home=/home/NAME]")]
    Spec {
        /// The argument.
        arg: String,
        /// What is wrong.
        reason: String,
    },
    /// The user exists with different settings.
    #[error("user {name:?} already exists with {what}: pick another name, or drop the option that differs")]
    UserExists {
        /// The user.
        name: String,
        /// What differs.
        what: String,
    },
    /// The uid belongs to another user.
    #[error("uid {uid} is already used by user {owner:?}: pick another uid= or leave it out")]
    UidTaken {
        /// The uid.
        uid: u32,
        /// Its owner.
        owner: String,
    },
    /// A group named like the user exists with another gid.
    #[error("group {name:?} already exists (gid {gid}): useradd would refuse to reuse it as the user's private group; remove it first or pick another user name")]
    GroupExists {
        /// The group.
        name: String,
        /// Its gid.
        gid: u32,
    },
    /// A supplementary group does not exist.
    #[error("group {0:?} does not exist in /etc/group: create it first or remove it from groups=")]
    NoSuchGroup(String),
    /// Every id in the range is taken.
    #[error("no free {kind} in {min}..={max} (from /etc/login.defs): give uid= explicitly")]
    NoFreeId {
        /// "uid" or "gid".
        kind: &'static str,
        /// Range start.
        min: u32,
        /// Range end.
        max: u32,
    },
}

/// A parsed `--user-add` argument.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UserSpec {
    /// The login name.
    pub name: String,
    /// `uid=`.
    pub uid: Option<u32>,
    /// `groups=`: supplementary groups, which must exist.
    pub groups: Vec<String>,
    /// `shell=`.
    pub shell: Option<String>,
    /// `home=`.
    pub home: Option<String>,
}

fn valid_name(n: &str) -> bool {
    let body = n.strip_suffix('$').unwrap_or(n);
    !body.is_empty()
        && n.len() <= 32
        && body
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_lowercase() || b == b'_')
        && body
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

fn valid_path(p: &str) -> bool {
    p.starts_with('/') && !p.contains([':', '\n', '\r', '\0']) && !p.split('/').any(|c| c == "..")
}

impl FromStr for UserSpec {
    type Err = UserError;

    /// `groups=` takes a comma-separated list too: a word without `=` after `groups=` is one
    /// more group (`alice:groups=wheel,docker,shell=/bin/zsh`). Group names cannot contain
    /// `=`, so this is unambiguous.
    fn from_str(arg: &str) -> Result<Self, Self::Err> {
        let err = |reason: &str| UserError::Spec {
            arg: arg.to_owned(),
            reason: reason.to_owned(),
        };
        let (name, opts) = arg.split_once(':').unwrap_or((arg, ""));
        if !valid_name(name) {
            return Err(err("the name must start with a lowercase letter or '_', then lowercase letters, digits, '_' or '-', at most 32 characters"));
        }
        let mut spec = UserSpec {
            name: name.to_owned(),
            ..UserSpec::default()
        };
        let mut in_groups = false;
        for word in opts.split(',').filter(|w| !w.is_empty()) {
            let Some((k, v)) = word.split_once('=') else {
                if in_groups && valid_name(word) {
                    spec.groups.push(word.to_owned());
                    continue;
                }
                return Err(err(&format!("{word:?} is not KEY=VALUE")));
            };
            in_groups = false;
            match k {
                "uid" => {
                    let uid: u32 = v.parse().map_err(|_| err("uid= must be a number"))?;
                    if uid == u32::MAX {
                        return Err(err("uid 4294967295 is reserved"));
                    }
                    spec.uid = Some(uid);
                }
                "groups" => {
                    in_groups = true;
                    if !v.is_empty() {
                        if !valid_name(v) {
                            return Err(err(&format!("{v:?} is not a valid group name")));
                        }
                        spec.groups.push(v.to_owned());
                    }
                }
                "shell" if valid_path(v) => spec.shell = Some(v.to_owned()),
                "home" if valid_path(v) => spec.home = Some(v.to_owned()),
                "shell" | "home" => {
                    return Err(err(&format!(
                        "{k}= must be an absolute path without ':' or '..'"
                    )))
                }
                _ => return Err(err(&format!("unknown option {k:?}"))),
            }
        }
        Ok(spec)
    }
}

/// The settings of /etc/login.defs that `--user-add` uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoginDefs {
    /// `UID_MIN` (1000).
    pub uid_min: u32,
    /// `UID_MAX` (60000).
    pub uid_max: u32,
    /// `GID_MIN` (1000).
    pub gid_min: u32,
    /// `GID_MAX` (60000).
    pub gid_max: u32,
    /// `HOME_MODE` (0700 when unset).
    pub home_mode: u32,
    /// `PASS_MIN_DAYS` (0).
    pub pass_min_days: u64,
    /// `PASS_MAX_DAYS` (99999).
    pub pass_max_days: u64,
    /// `PASS_WARN_AGE` (7).
    pub pass_warn_age: u64,
}

impl Default for LoginDefs {
    fn default() -> Self {
        LoginDefs {
            uid_min: 1000,
            uid_max: 60000,
            gid_min: 1000,
            gid_max: 60000,
            home_mode: 0o700,
            pass_min_days: 0,
            pass_max_days: 99999,
            pass_warn_age: 7,
        }
    }
}

impl LoginDefs {
    /// Reads /etc/login.defs; a missing file, key or unparsable value keeps the default.
    pub fn parse(content: Option<&[u8]>) -> LoginDefs {
        let mut d = LoginDefs::default();
        for l in text::lines(content.unwrap_or_default()) {
            if l.is_comment_or_blank() {
                continue;
            }
            let mut w = text::words(l.body);
            let (Some(k), Some(v)) = (w.next(), w.next()) else {
                continue;
            };
            let v = String::from_utf8_lossy(v);
            let num = || v.parse::<u32>().ok();
            match k {
                b"UID_MIN" => d.uid_min = num().unwrap_or(d.uid_min),
                b"UID_MAX" => d.uid_max = num().unwrap_or(d.uid_max),
                b"GID_MIN" => d.gid_min = num().unwrap_or(d.gid_min),
                b"GID_MAX" => d.gid_max = num().unwrap_or(d.gid_max),
                b"HOME_MODE" => {
                    d.home_mode = u32::from_str_radix(&v, 8)
                        .ok()
                        .filter(|m| *m <= 0o7777)
                        .unwrap_or(d.home_mode)
                }
                b"PASS_MIN_DAYS" => d.pass_min_days = v.parse().unwrap_or(d.pass_min_days),
                b"PASS_MAX_DAYS" => d.pass_max_days = v.parse().unwrap_or(d.pass_max_days),
                b"PASS_WARN_AGE" => d.pass_warn_age = v.parse().unwrap_or(d.pass_warn_age),
                _ => {}
            }
        }
        d
    }
}

/// One /etc/passwd entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswdEntry {
    /// Login name.
    pub name: String,
    /// User id.
    pub uid: u32,
    /// Primary group id.
    pub gid: u32,
    /// Home directory.
    pub home: String,
    /// Login shell.
    pub shell: String,
}

/// Every well-formed /etc/passwd entry, in file order (NIS `+`/`-` lines and lines with a bad
/// uid are skipped).
pub fn passwd_entries(passwd: &[u8]) -> Vec<PasswdEntry> {
    text::lines(passwd)
        .iter()
        .filter_map(|l| {
            let f: Vec<String> = l
                .body
                .split(|&b| b == b':')
                .map(|x| String::from_utf8_lossy(x).into_owned())
                .collect();
            if f.len() < 7 || f[0].is_empty() || f[0].starts_with(['+', '-', '#']) {
                return None;
            }
            Some(PasswdEntry {
                name: f[0].clone(),
                uid: f[2].parse().ok()?,
                gid: f[3].parse().ok()?,
                home: f[5].clone(),
                shell: f[6].clone(),
            })
        })
        .collect()
}

/// The first /etc/passwd entry of `name` (for `--ssh-inject`: home, uid, gid).
pub fn lookup_user(passwd: &[u8], name: &str) -> Option<PasswdEntry> {
    passwd_entries(passwd).into_iter().find(|e| e.name == name)
}

/// The account database files; `None` when the guest has no such file.
#[derive(Debug, Clone, Copy)]
pub struct UserDb<'a> {
    /// /etc/passwd.
    pub passwd: &'a [u8],
    /// /etc/shadow.
    pub shadow: Option<&'a [u8]>,
    /// /etc/group.
    pub group: &'a [u8],
    /// /etc/gshadow.
    pub gshadow: Option<&'a [u8]>,
}

/// The home directory the caller must create when it does not exist yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HomeDir {
    /// Absolute guest path.
    pub path: String,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
    /// Mode of the directory.
    pub mode: u32,
    /// Directory whose contents are copied in (owned by uid:gid) when the home is created.
    pub skel: &'static str,
}

/// The result of [`add_user`]: the new contents of each file (unchanged bytes when the user
/// already exists as asked) and the home directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserAdd {
    /// New /etc/passwd.
    pub passwd: Vec<u8>,
    /// New /etc/shadow, when the guest has one.
    pub shadow: Option<Vec<u8>>,
    /// New /etc/group.
    pub group: Vec<u8>,
    /// New /etc/gshadow, when the guest has one.
    pub gshadow: Option<Vec<u8>>,
    /// The home directory to create if missing.
    pub home: HomeDir,
}

fn field_ids(content: &[u8], idx: usize) -> Vec<(String, u32)> {
    text::lines(content)
        .iter()
        .filter_map(|l| {
            let f: Vec<&[u8]> = l.body.split(|&b| b == b':').collect();
            let id = std::str::from_utf8(f.get(idx)?).ok()?.parse().ok()?;
            Some((String::from_utf8_lossy(f[0]).into_owned(), id))
        })
        .collect()
}

fn has_name(content: &[u8], name: &str) -> bool {
    text::lines(content)
        .iter()
        .any(|l| l.body.split(|&b| b == b':').next() == Some(name.as_bytes()))
}

/// useradd's choice: one above the highest used id in range, else the lowest free one.
fn pick_id(used: &[u32], min: u32, max: u32, kind: &'static str) -> Result<u32, UserError> {
    let in_range: Vec<u32> = used
        .iter()
        .copied()
        .filter(|u| (min..=max).contains(u))
        .collect();
    match in_range.iter().max() {
        None if min <= max => return Ok(min),
        Some(&m) if m < max => return Ok(m + 1),
        _ => {}
    }
    (min..=max)
        .find(|c| !in_range.contains(c))
        .ok_or(UserError::NoFreeId { kind, min, max })
}

/// Adds `user` to the member list (field `idx`) of group `group`, padding short lines.
fn add_member(content: &[u8], group: &str, user: &str, idx: usize) -> (Vec<u8>, bool) {
    let mut b = Builder::like(content);
    let mut found = false;
    for l in text::lines(content) {
        let mut f: Vec<&[u8]> = l.body.split(|&b| b == b':').collect();
        if f[0] != group.as_bytes() || found {
            b.keep(&l);
            continue;
        }
        found = true;
        if f.len() <= idx {
            f.resize(idx + 1, b"");
        }
        let members: Vec<&[u8]> = f[idx]
            .split(|&b| b == b',')
            .filter(|m| !m.is_empty())
            .collect();
        if members.contains(&user.as_bytes()) {
            b.keep(&l);
            continue;
        }
        let mut new = f[idx].to_vec();
        if !members.is_empty() {
            if !new.ends_with(b",") {
                new.push(b',');
            }
        } else {
            new.clear();
        }
        new.extend_from_slice(user.as_bytes());
        f[idx] = &new;
        b.replace(&l, &f.join(&b':'));
    }
    (b.finish(), found)
}

/// `--user-add`: see the module documentation for the rules. `last_change_day` is days since
/// 1970-01-01 for the new shadow line.
pub fn add_user(
    db: &UserDb<'_>,
    spec: &UserSpec,
    defs: &LoginDefs,
    last_change_day: u64,
) -> Result<UserAdd, UserError> {
    let name = spec.name.as_str();
    let users = field_ids(db.passwd, 2);
    let groups = field_ids(db.group, 2);
    let existing = lookup_user(db.passwd, name);

    let (passwd, uid, gid, home) = if let Some(e) = &existing {
        let mut diffs = Vec::new();
        if spec.uid.is_some_and(|u| u != e.uid) {
            diffs.push(format!("uid {}", e.uid));
        }
        if spec.home.as_ref().is_some_and(|h| *h != e.home) {
            diffs.push(format!("home {}", e.home));
        }
        if spec.shell.as_ref().is_some_and(|s| *s != e.shell) {
            diffs.push(format!("shell {}", e.shell));
        }
        if !diffs.is_empty() {
            return Err(UserError::UserExists {
                name: name.to_owned(),
                what: diffs.join(", "),
            });
        }
        (db.passwd.to_vec(), e.uid, e.gid, e.home.clone())
    } else {
        if has_name(db.passwd, name) {
            return Err(UserError::UserExists {
                name: name.to_owned(),
                what: "a malformed /etc/passwd line".to_owned(),
            });
        }
        let uid = match spec.uid {
            Some(uid) => {
                if let Some((owner, _)) = users.iter().find(|(_, u)| *u == uid) {
                    return Err(UserError::UidTaken {
                        uid,
                        owner: owner.clone(),
                    });
                }
                uid
            }
            None => pick_id(
                &users.iter().map(|x| x.1).collect::<Vec<_>>(),
                defs.uid_min,
                defs.uid_max,
                "uid",
            )?,
        };
        let gid = match groups.iter().find(|(n, _)| n == name) {
            Some((_, gid)) => {
                return Err(UserError::GroupExists {
                    name: name.to_owned(),
                    gid: *gid,
                })
            }
            None if !groups.iter().any(|(_, g)| *g == uid) => uid,
            None => pick_id(
                &groups.iter().map(|x| x.1).collect::<Vec<_>>(),
                defs.gid_min,
                defs.gid_max,
                "gid",
            )?,
        };
        let home = spec.home.clone().unwrap_or_else(|| format!("/home/{name}"));
        let shell = spec.shell.clone().unwrap_or_else(|| "/bin/bash".to_owned());
        let pw = if db.shadow.is_some() { "x" } else { "!" };
        let line = format!("{name}:{pw}:{uid}:{gid}::{home}:{shell}");
        (
            text::append_line(db.passwd, line.as_bytes()),
            uid,
            gid,
            home,
        )
    };

    let mut group = db.group.to_vec();
    // A rerun whose user's primary group is some other group (users, 100) gets no new group.
    let private_missing = !groups.iter().any(|(n, _)| n == name);
    if private_missing && (existing.is_none() || !groups.iter().any(|(_, g)| *g == gid)) {
        group = text::append_line(&group, format!("{name}:x:{gid}:").as_bytes());
    }
    for g in spec.groups.iter().filter(|g| g.as_str() != name) {
        let (new, found) = add_member(&group, g, name, 3);
        if !found {
            return Err(UserError::NoSuchGroup(g.clone()));
        }
        group = new;
    }

    let shadow = db.shadow.map(|s| {
        if has_name(s, name) {
            s.to_vec()
        } else {
            let line = format!(
                "{name}:!:{last_change_day}:{}:{}:{}:::",
                defs.pass_min_days, defs.pass_max_days, defs.pass_warn_age
            );
            text::append_line(s, line.as_bytes())
        }
    });
    let gshadow = db.gshadow.map(|gs| {
        let mut gs = if has_name(gs, name) || !has_name(&group, name) {
            gs.to_vec()
        } else {
            text::append_line(gs, format!("{name}:!::").as_bytes())
        };
        for g in spec.groups.iter().filter(|g| g.as_str() != name) {
            gs = add_member(&gs, g, name, 3).0;
        }
        gs
    });
    Ok(UserAdd {
        passwd,
        shadow,
        group,
        gshadow,
        home: HomeDir {
            path: home,
            uid,
            gid,
            mode: defs.home_mode,
            skel: "/etc/skel",
        },
    })
}

#[cfg(test)]
mod tests;
