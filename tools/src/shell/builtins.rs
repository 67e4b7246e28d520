//! guestfish's settings and script built-ins that need no appliance: `set-memsize`,
//! `set-smp`, `set-trace` and their `get-` forms, `setenv`, `unsetenv`, and `glob`.
//! Messages and output are guestfish 1.48's.

use super::output::Output;
use super::script::Input;
use super::{fisherr, Flow, Shell, ShellError};
use guestwright::prelude::*;
use guestwright::protocol::shell::{fish_int_error, ShellArg};

/// libguestfs's smallest appliance memory, in MiB. (The default is guestwright's own, 512
/// MiB, not libguestfs's 1280: `get-memsize` reports what the appliance really gets.)
const MEMSIZE_MIN: i64 = 256;

/// Parses an int argument as guestfish does, with its message.
pub(super) fn int_arg(command: &str, name: &str, word: &str) -> Result<i64, ShellError> {
    if let Some(m) = fish_int_error(command, name, word, 32) {
        return Err(ShellError::Fish(m));
    }
    i64::parse_word(word).map_err(|e| ShellError::Fish(format!("{command}: {name}: {e}")))
}

fn print(out: &mut Output, text: String) -> Result<(), ShellError> {
    out.write_all(text.as_bytes()).map_err(ShellError::Output)
}

impl Shell {
    /// What libguestfs does as a call starts: the `enter` event (with the call's name), and
    /// with `set-trace true` the trace line (`NAME ARGS`).
    pub(super) fn trace_call(&self, name: &str, args: &[String]) {
        let name = name.replace('-', "_");
        self.settings.fire_message("enter", Some(&name));
        let mut line = name;
        for a in args {
            line.push(' ');
            line.push_str(a);
        }
        self.trace_line(&line);
    }

    /// ... and after it (`NAME = RESULT`).
    pub(super) fn trace_result(&self, name: &str, result: &str) {
        self.trace_line(&format!("{} = {result}", name.replace('-', "_")));
    }

    /// With `set-trace true`, one trace line built by [`super::trace`], escaped as
    /// libguestfs's printer escapes it.
    pub(super) fn trace_bytes(&self, line: &[u8]) {
        if self.trace {
            self.trace_line(&super::trace::escape_line(line));
        }
    }

    /// A call `call` (of the table's return type `ret`) failed with `e`: with the trace on,
    /// its `= -1 (error)` line goes where libguestfs prints it. An error the daemon
    /// answered follows that line; any other (a check in the library, a call libguestfs
    /// runs in the library) precedes it, so it is reported here.
    pub(super) fn traced_failure(
        &self,
        call: &str,
        ret: &str,
        e: ShellError,
        daemon_reply: bool,
    ) -> ShellError {
        if !self.trace {
            return e;
        }
        let line = super::trace::error_line(call, ret);
        if daemon_reply && !super::trace::is_library_call(call) {
            self.trace_bytes(&line);
            return e;
        }
        self.report(&e);
        self.trace_bytes(&line);
        match e {
            ShellError::Reported(code) => ShellError::Reported(code),
            e => ShellError::Reported(e.exit_code()),
        }
    }

    /// With `set-trace true`, one trace line: to the `trace` event handlers when there are
    /// any, otherwise to stderr, as libguestfs sends it.
    pub(super) fn trace_line(&self, line: &str) {
        if !self.trace {
            return;
        }
        if self.settings.handles("trace") {
            self.settings.fire_message("trace", Some(line));
        } else {
            eprintln!("libguestfs: trace: {line}");
        }
    }
}

/// `set-memsize N` / `memsize N` / `get-memsize`.
pub fn memsize(
    shell: &mut Shell,
    typed: &str,
    args: &[String],
    out: &mut Output,
) -> Result<(), ShellError> {
    if typed == "get-memsize" {
        expect_count(typed, args, 0, "get-memsize")?;
        shell.trace_call("get_memsize", &[]);
        let m = shell.h.config().memory_mib;
        shell.trace_result("get_memsize", &m.to_string());
        return print(out, format!("{m}\n"));
    }
    expect_count(typed, args, 1, "set-memsize memsize")?;
    let m = int_arg(typed, "memsize", &args[0])?;
    shell.trace_call("set_memsize", &[m.to_string()]);
    if m < MEMSIZE_MIN {
        return Err(ShellError::Libguestfs(format!(
            "too small value for memsize (must be at least {MEMSIZE_MIN})"
        )));
    }
    shell.h.config_mut().memory_mib = m as u32;
    shell.trace_result("set_memsize", "0");
    Ok(())
}

/// `set-smp N` / `smp N` / `get-smp`.
pub fn smp(
    shell: &mut Shell,
    typed: &str,
    args: &[String],
    out: &mut Output,
) -> Result<(), ShellError> {
    if typed == "get-smp" {
        expect_count(typed, args, 0, "get-smp")?;
        shell.trace_call("get_smp", &[]);
        let n = shell.h.config().smp;
        shell.trace_result("get_smp", &n.to_string());
        return print(out, format!("{n}\n"));
    }
    expect_count(typed, args, 1, "set-smp smp")?;
    let n = int_arg(typed, "smp", &args[0])?;
    shell.trace_call("set_smp", &[n.to_string()]);
    if n > 255 {
        return Err(ShellError::Libguestfs(format!(
            "unsupported number of smp vcpus: {n}"
        )));
    }
    if n < 1 {
        return Err(ShellError::Libguestfs(format!(
            "invalid smp parameter: {n}"
        )));
    }
    shell.h.config_mut().smp = n as u32;
    shell.trace_result("set_smp", "0");
    Ok(())
}

/// `set-trace BOOL` / `trace BOOL` / `get-trace`: libguestfs's call trace on standard error
/// (see [`super::trace`] for the lines).
pub fn trace(
    shell: &mut Shell,
    typed: &str,
    args: &[String],
    out: &mut Output,
) -> Result<(), ShellError> {
    if typed == "get-trace" {
        expect_count(typed, args, 0, "get-trace")?;
        shell.trace_call("get_trace", &[]);
        let t = shell.trace;
        shell.trace_result("get_trace", if t { "1" } else { "0" });
        return print(out, format!("{t}\n"));
    }
    expect_count(typed, args, 1, "set-trace trace")?;
    let on = fisherr::fish_bool(&args[0]).ok_or_else(|| {
        ShellError::Fish(format!(
            "guestfish: '{}': invalid boolean value, use 'true' or 'false'",
            args[0]
        ))
    })?;
    // Traced when tracing was on as the call started (so turning it on is not).
    let was = shell.trace;
    shell.trace_call("set_trace", &[on.to_string()]);
    shell.trace = on;
    if was {
        eprintln!("libguestfs: trace: set_trace = 0");
    }
    Ok(())
}

/// `setenv VAR VALUE`, `unsetenv VAR`: the environment host commands (`!`, pipes) see.
pub fn env(typed: &str, args: &[String]) -> Result<(), ShellError> {
    match (typed, args) {
        ("setenv", [var, value]) => {
            check_var(var)?;
            // The shell runs its commands on one thread; the appliance's threads do not
            // read the environment.
            std::env::set_var(var, value);
            Ok(())
        }
        ("setenv", _) => Err(ShellError::Fish(
            "use 'setenv VAR value' to set an environment variable".into(),
        )),
        (_, [var]) => {
            check_var(var)?;
            std::env::remove_var(var);
            Ok(())
        }
        _ => Err(ShellError::Fish(
            "use 'unsetenv VAR' to unset an environment variable".into(),
        )),
    }
}

/// Names that `setenv(3)` refuses (empty, with `=` or NUL) would make Rust panic.
fn check_var(var: &str) -> Result<(), ShellError> {
    if var.is_empty() || var.contains(['=', '\0']) {
        return Err(ShellError::Fish(format!("setenv: {var}: Invalid argument")));
    }
    Ok(())
}

fn expect_count(typed: &str, args: &[String], n: usize, usage: &str) -> Result<(), ShellError> {
    if args.len() == n {
        Ok(())
    } else {
        Err(ShellError::Fish(fisherr::wrong_count_of(typed, usage)))
    }
}

/// `glob CMD ARG...`: each argument starting with `/dev/` is matched against the devices,
/// partitions, md devices and logical volumes, each other one starting with `/` against
/// the guest's files (`glob-expand`); one with no match stays as written. The command runs
/// once for every combination; a failure is reported and the rest still run.
pub fn glob(
    shell: &mut Shell,
    args: &[String],
    out: &mut Output,
    input: &mut Input,
) -> Result<Flow, ShellError> {
    let [cmd, words @ ..] = args else {
        return Err(ShellError::Fish("use 'glob command [args...]'".into()));
    };
    let mut lists: Vec<Vec<String>> = Vec::with_capacity(words.len());
    for w in words {
        let list = if w.starts_with("/dev/") {
            expand_device(shell, w)?
        } else if w.starts_with('/') {
            shell.ensure_launched()?;
            let path = guestwright::protocol::types::GuestPath::parse_word(w)
                .map_err(|e| ShellError::Usage(format!("glob: {e}")))?;
            match shell.h.glob_expand(path) {
                Ok(v) => v.iter().map(|p| p.to_string()).collect(),
                Err(_) => {
                    return Err(ShellError::Fish(format!(
                        "glob: guestfs_glob_expand call failed: {w}"
                    )))
                }
            }
        } else {
            Vec::new()
        };
        lists.push(if list.is_empty() {
            vec![w.clone()]
        } else {
            list
        });
    }
    let mut failed = None;
    let mut posn = vec![0usize; lists.len()];
    loop {
        let argv: Vec<String> = lists
            .iter()
            .zip(&posn)
            .map(|(l, &i)| l[i].clone())
            .collect();
        match shell.command(cmd, &argv, out, input) {
            Ok(Flow::Quit) => return Ok(Flow::Quit),
            Ok(Flow::Continue) => {}
            Err(e) => {
                shell.report(&e);
                failed = Some(e.exit_code());
            }
        }
        // The next combination, the last argument fastest.
        let mut i = lists.len();
        loop {
            if i == 0 {
                return match failed {
                    None => Ok(Flow::Continue),
                    Some(code) => Err(ShellError::Reported(code)),
                };
            }
            i -= 1;
            posn[i] += 1;
            if posn[i] < lists[i].len() {
                break;
            }
            posn[i] = 0;
        }
    }
}

fn expand_device(shell: &mut Shell, pattern: &str) -> Result<Vec<String>, ShellError> {
    shell.ensure_launched()?;
    let h = &shell.h;
    let mut names: Vec<String> = h
        .list_devices()?
        .iter()
        .map(|d| d.device.to_string())
        .collect();
    names.extend(h.list_partitions()?.iter().map(|p| p.device.to_string()));
    names.extend(h.list_md_devices()?.iter().map(|d| d.to_string()));
    if h.feature_available(vec!["lvm2".to_string()])
        .unwrap_or(false)
    {
        names.extend(h.lvs()?.iter().map(|d| d.to_string()));
    }
    Ok(names
        .into_iter()
        .filter(|n| fnmatch_pathname(pattern.as_bytes(), n.as_bytes()))
        .collect())
}

/// `fnmatch(3)` with `FNM_PATHNAME`: `*`, `?` and `[...]` never match a `/`.
fn fnmatch_pathname(p: &[u8], s: &[u8]) -> bool {
    match (p.first(), s.first()) {
        (None, None) => true,
        (None, Some(_)) => false,
        (Some(b'*'), _) => {
            let rest = &p[1..];
            let mut i = 0;
            loop {
                if fnmatch_pathname(rest, &s[i..]) {
                    return true;
                }
                if i == s.len() || s[i] == b'/' {
                    return false;
                }
                i += 1;
            }
        }
        (Some(_), None) => false,
        (Some(b'?'), Some(&c)) => c != b'/' && fnmatch_pathname(&p[1..], &s[1..]),
        (Some(b'['), Some(&c)) => match bracket(&p[1..], c) {
            Some((true, used)) if c != b'/' => fnmatch_pathname(&p[1 + used..], &s[1..]),
            Some(_) => false,
            // No closing ']': a literal '['.
            None => c == b'[' && fnmatch_pathname(&p[1..], &s[1..]),
        },
        (Some(b'\\'), Some(&c)) if p.len() > 1 => p[1] == c && fnmatch_pathname(&p[2..], &s[1..]),
        (Some(&pc), Some(&c)) => pc == c && fnmatch_pathname(&p[1..], &s[1..]),
    }
}

/// Matches `c` against a bracket expression after its `[`: whether it matched and how many
/// pattern bytes the expression used (its `]` included).
fn bracket(p: &[u8], c: u8) -> Option<(bool, usize)> {
    let mut i = 0;
    let negate = matches!(p.first(), Some(b'!' | b'^'));
    if negate {
        i += 1;
    }
    let mut matched = false;
    let mut first = true;
    while i < p.len() {
        if p[i] == b']' && !first {
            return Some((matched != negate, i + 1));
        }
        first = false;
        let lo = p[i];
        if i + 2 < p.len() && p[i + 1] == b'-' && p[i + 2] != b']' {
            matched |= lo <= c && c <= p[i + 2];
            i += 3;
        } else {
            matched |= lo == c;
            i += 1;
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::fnmatch_pathname as m;

    #[test]
    fn device_patterns_match_as_fnmatch_with_fnm_pathname() {
        assert!(m(b"/dev/sd*", b"/dev/sda1"));
        assert!(m(b"/dev/sd?", b"/dev/sdb"));
        assert!(!m(b"/dev/sd?", b"/dev/sdb1"));
        assert!(m(b"/dev/sd[ab]1", b"/dev/sdb1"));
        assert!(!m(b"/dev/sd[!ab]1", b"/dev/sdb1"));
        assert!(m(b"/dev/sd[a-c]", b"/dev/sdc"));
        assert!(!m(b"/dev/*", b"/dev/VG/LV"));
        assert!(m(b"/dev/*/*", b"/dev/VG/LV"));
        assert!(m(b"/dev/sda", b"/dev/sda"));
    }
}
