//! guestfish's handle settings (`set-X`/`get-X` and the short `X` alias), its event
//! handlers (`event`, `list-events`, `delete-event`), `parse-environment(-list)`, `config`,
//! and the commands that only report libguestfs's own state or refusals.
//!
//! Settings guestwright acts on: verbose (the appliance's console on standard error), hv /
//! qemu (the QEMU binary), network, smp, memsize, trace. The others are accepted, checked
//! as libguestfs checks them and remembered (so `get-X` answers what `set-X` set), but
//! change nothing, because the part of libguestfs they tune does not exist here: path
//! (guestwright builds its appliance from the host kernel), append, selinux, autosync
//! (guestwright always syncs), pgroup, recovery-proc, direct, identifier, tmpdir, cachedir,
//! program, backend / attach-method and backend settings (one backend: QEMU, run
//! directly), config (QEMU parameters), the libvirt credentials.

use super::output::Output;
use super::{fisherr, Shell, ShellError};
use std::path::PathBuf;

/// libguestfs's default appliance path, reported until `set-path` changes it (guestwright
/// does not use it).
const DEFAULT_PATH: &str = "/usr/lib/x86_64-linux-gnu/guestfs";

/// The events guestfish names, with their bit in libguestfs's event mask (the order of
/// `list-events`).
const EVENTS: &[&str] = &[
    "close",
    "subprocess_quit",
    "launch_done",
    "progress",
    "appliance",
    "library",
    "trace",
    "enter",
    "libvirt_auth",
    "warning",
];

/// An `event` handler: a host shell script run on the named events.
#[derive(Debug, Clone)]
struct Handler {
    name: String,
    id: usize,
    /// Bits of [`EVENTS`].
    mask: u32,
    script: String,
}

/// The settings of the handle that guestwright only remembers, and the event handlers.
#[derive(Debug, Clone)]
pub struct Settings {
    program: String,
    path: Option<String>,
    append: Option<String>,
    selinux: bool,
    autosync: bool,
    pgroup: bool,
    recovery_proc: bool,
    direct: bool,
    identifier: String,
    tmpdir: Option<String>,
    cachedir: Option<String>,
    backend: String,
    backend_settings: Vec<String>,
    config: Vec<(String, String)>,
    handlers: Vec<Handler>,
    next_handler: usize,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            program: "guestfish".into(),
            path: None,
            append: None,
            selinux: false,
            autosync: true,
            pgroup: false,
            recovery_proc: true,
            direct: false,
            identifier: String::new(),
            tmpdir: None,
            cachedir: None,
            backend: "direct".into(),
            backend_settings: Vec::new(),
            config: Vec::new(),
            handlers: Vec::new(),
            next_handler: 0,
        }
    }
}

impl Settings {
    /// What libguestfs takes from its environment when the handle is created.
    pub fn from_env() -> Settings {
        let mut s = Settings::default();
        if let Ok(v) = std::env::var("LIBGUESTFS_BACKEND_SETTINGS") {
            s.backend_settings = split_settings(&v, ':');
        }
        if let Ok(v) = std::env::var("LIBGUESTFS_BACKEND") {
            if let Some(b) = backend_name(&v) {
                s.backend = b;
            }
        }
        s
    }
}

fn split_settings(text: &str, sep: char) -> Vec<String> {
    text.split(|c: char| c == sep || (sep == ' ' && c.is_ascii_whitespace()))
        .filter(|w| !w.is_empty())
        .map(String::from)
        .collect()
}

/// The backend libguestfs 1.48 accepts under this name, as it reports it.
fn backend_name(b: &str) -> Option<String> {
    match b {
        "direct" | "appliance" => Some("direct".into()),
        "libvirt" => Some(b.into()),
        _ if b.starts_with("libvirt:") => Some(b.into()),
        _ => None,
    }
}

/// Every name this module answers to.
pub const NAMES: &[&str] = &[
    "set-verbose",
    "get-verbose",
    "verbose",
    "set-program",
    "get-program",
    "program",
    "set-path",
    "get-path",
    "path",
    "set-qemu",
    "get-qemu",
    "qemu",
    "set-hv",
    "get-hv",
    "hv",
    "set-append",
    "get-append",
    "append",
    "set-network",
    "get-network",
    "network",
    "set-selinux",
    "get-selinux",
    "selinux",
    "set-autosync",
    "get-autosync",
    "autosync",
    "set-pgroup",
    "get-pgroup",
    "pgroup",
    "set-recovery-proc",
    "get-recovery-proc",
    "recovery-proc",
    "set-direct",
    "get-direct",
    "direct",
    "set-identifier",
    "get-identifier",
    "identifier",
    "set-tmpdir",
    "get-tmpdir",
    "tmpdir",
    "set-cachedir",
    "get-cachedir",
    "cachedir",
    "get-sockdir",
    "set-backend",
    "get-backend",
    "backend",
    "set-attach-method",
    "get-attach-method",
    "attach-method",
    "set-backend-settings",
    "get-backend-settings",
    "set-backend-setting",
    "get-backend-setting",
    "clear-backend-setting",
    "set-libvirt-supported-credentials",
    "set-libvirt-requested-credential",
    "get-libvirt-requested-credentials",
    "get-libvirt-requested-credential-prompt",
    "get-libvirt-requested-credential-challenge",
    "get-libvirt-requested-credential-defresult",
    "max-disks",
    "config",
    "parse-environment",
    "parse-environment-list",
    "event",
    "list-events",
    "delete-event",
    "c-pointer",
    "user-cancel",
    "kill-subprocess",
    // cmds-last: the handle's state, and its drives' labels.
    "is-config",
    "list-disk-labels",
];

use super::commands::print_text as print;

fn bool_word(word: &str) -> Result<bool, ShellError> {
    fisherr::fish_bool(word).ok_or_else(|| {
        ShellError::Fish(format!(
            "guestfish: '{word}': invalid boolean value, use 'true' or 'false'"
        ))
    })
}

fn lg(message: impl Into<String>) -> ShellError {
    ShellError::Libguestfs(message.into())
}

/// The setting a `set-X`, `get-X` or `X` name is about, and whether it sets.
fn split_name(name: &str) -> (&str, bool) {
    if let Some(s) = name.strip_prefix("get-") {
        (s, false)
    } else if let Some(s) = name.strip_prefix("set-") {
        (s, true)
    } else {
        (name, true)
    }
}

/// guestfish's usage line of each command (for a wrong number of arguments).
fn usage(name: &str) -> Option<(usize, String)> {
    let (what, set) = split_name(name);
    let param = match what {
        "verbose" => "verbose",
        "program" => "program",
        "path" => "searchpath",
        "qemu" => "hv",
        "hv" => "hv",
        "append" => "append",
        "network" => "network",
        "selinux" => "selinux",
        "autosync" => "autosync",
        "pgroup" => "pgroup",
        "recovery-proc" => "recoveryproc",
        "direct" => "direct",
        "identifier" => "identifier",
        "tmpdir" => "tmpdir",
        "cachedir" => "cachedir",
        "backend" | "attach-method" => "backend",
        "backend-settings" => "settings",
        "libvirt-supported-credentials" => "creds",
        _ => "",
    };
    let usage = |n: usize, params: &str| {
        Some((
            n,
            if params.is_empty() {
                name.to_string()
            } else {
                format!("{name} {params}")
            },
        ))
    };
    match name {
        "get-backend-setting" | "clear-backend-setting" => usage(1, "name"),
        "set-backend-setting" => usage(2, "name val"),
        "set-libvirt-requested-credential" => usage(2, "index cred"),
        "get-libvirt-requested-credential-prompt"
        | "get-libvirt-requested-credential-challenge"
        | "get-libvirt-requested-credential-defresult" => usage(1, "index"),
        "get-libvirt-requested-credentials"
        | "max-disks"
        | "get-sockdir"
        | "parse-environment"
        | "c-pointer"
        | "user-cancel"
        | "kill-subprocess"
        | "is-config"
        | "list-disk-labels" => usage(0, ""),
        "config" => usage(2, "hvparam hvvalue"),
        "parse-environment-list" => usage(1, "environment"),
        "event" | "list-events" | "delete-event" => None,
        _ if set => usage(1, param),
        _ => usage(0, ""),
    }
}

/// Runs a settings command.
pub fn run(
    shell: &mut Shell,
    name: &str,
    args: &[String],
    out: &mut Output,
) -> Result<(), ShellError> {
    if let Some((n, usage)) = usage(name) {
        if args.len() != n {
            return Err(ShellError::Fish(fisherr::wrong_count_of(name, &usage)));
        }
    }
    match name {
        "event" => return add_handler(shell, args),
        "list-events" => return list_handlers(shell, args, out),
        "delete-event" => return delete_handler(shell, args),
        "max-disks" => return print(out, "255\n"),
        // libguestfs's CONFIG state: before the appliance is launched.
        "is-config" => {
            let config = !shell.h.is_launched();
            return print(out, if config { "true\n" } else { "false\n" });
        }
        // guestwright's drives have no labels (`add` refuses label:), so the map is empty
        // once the appliance runs.
        "list-disk-labels" => {
            shell.need_appliance("list_disk_labels")?;
            return Ok(());
        }
        "get-sockdir" => {
            let dir = std::env::var("XDG_RUNTIME_DIR").unwrap_or_else(|_| "/tmp".into());
            return print(out, &format!("{dir}\n"));
        }
        "config" => {
            let (param, value) = (&args[0], &args[1]);
            if !param.starts_with('-') {
                return Err(lg(format!(
                    "config: parameter '{param}' must begin with '-' character"
                )));
            }
            if [
                "-kernel",
                "-initrd",
                "-nodefconfig",
                "-nodefaults",
                "-no-user-config",
            ]
            .contains(&param.as_str())
            {
                return Err(lg(format!("config: parameter '{param}' isn't allowed")));
            }
            shell.settings.config.push((param.clone(), value.clone()));
            return Ok(());
        }
        "parse-environment" => {
            let vars: Vec<(String, String)> = std::env::vars().collect();
            return parse_environment(shell, &vars);
        }
        "parse-environment-list" => {
            // libguestfs decides whether to trace a call as it starts.
            let tracing = shell.trace;
            shell.trace_call("parse_environment_list", &[format!("\"{}\"", args[0])]);
            let vars: Vec<(String, String)> = split_settings(&args[0], ' ')
                .iter()
                .filter_map(|w| w.split_once('=').map(|(k, v)| (k.into(), v.into())))
                .collect();
            parse_environment(shell, &vars)?;
            if tracing {
                eprintln!("libguestfs: trace: parse_environment_list = 0");
            }
            return Ok(());
        }
        "get-libvirt-requested-credentials"
        | "set-libvirt-requested-credential"
        | "get-libvirt-requested-credential-prompt"
        | "get-libvirt-requested-credential-challenge"
        | "get-libvirt-requested-credential-defresult" => {
            return Err(lg(format!(
                "guestfs_impl_{} should only be called from within the \
                 GUESTFS_EVENT_LIBVIRT_AUTH event handler",
                name.replace('-', "_")
            )));
        }
        "set-libvirt-supported-credentials" => return Ok(()),
        "c-pointer" => {
            return Err(lg(
                "c-pointer: guestwright's shell has no libguestfs C handle to point to",
            ))
        }
        // Nothing runs in the background between commands: nothing to cancel.
        "user-cancel" => return Ok(()),
        // libguestfs's kill_subprocess is its shutdown: the appliance stops (its writes
        // flushed) and the handle goes back to its configuration state, drives kept.
        "kill-subprocess" => {
            shell.forget_dead_appliance();
            return shell.close();
        }
        _ => {}
    }
    let (what, set) = split_name(name);
    // libguestfs's trace of the call: its name, then its arguments as libguestfs prints
    // them (strings quoted, booleans as words), then its result.
    let call = if set && !name.starts_with("set-") && name != "clear-backend-setting" {
        format!("set_{}", name.replace('-', "_"))
    } else {
        name.replace('-', "_")
    };
    let traced: Vec<String> = args
        .iter()
        .map(|a| match (what, fisherr::fish_bool(a)) {
            (
                "verbose" | "network" | "selinux" | "autosync" | "pgroup" | "recovery-proc"
                | "direct",
                Some(b),
            ) => b.to_string(),
            _ => format!("\"{a}\""),
        })
        .collect();
    shell.trace_call(&call, &traced);
    let result = if set {
        set_value(shell, what, args)
    } else {
        get_value(shell, what, args)
    };
    match &result {
        Ok(v) => shell.trace_result(&call, &v.traced()),
        Err(_) => shell.trace_result(&call, "-1 (error)"),
    }
    print(out, &result?.printed())
}

/// A setting's value as a call returns it.
enum Value {
    /// A setter's 0.
    Done,
    Bool(bool),
    Int(usize),
    Text(String),
    /// A string that may be NULL.
    Optional(Option<String>),
    List(Vec<String>),
}

impl Value {
    /// As guestfish prints it.
    fn printed(&self) -> String {
        match self {
            Value::Done => String::new(),
            Value::Bool(b) => format!("{b}\n"),
            Value::Int(n) => format!("{n}\n"),
            Value::Text(t) => format!("{t}\n"),
            Value::Optional(t) => format!("{}\n", t.as_deref().unwrap_or("(null)")),
            Value::List(l) => l.iter().map(|w| format!("{w}\n")).collect(),
        }
    }

    /// As libguestfs's trace prints it.
    fn traced(&self) -> String {
        match self {
            Value::Done => "0".into(),
            Value::Bool(b) => u8::from(*b).to_string(),
            Value::Int(n) => n.to_string(),
            Value::Text(t) | Value::Optional(Some(t)) => format!("\"{t}\""),
            Value::Optional(None) => "NULL".into(),
            Value::List(l) => format!(
                "[{}]",
                l.iter()
                    .map(|w| format!("\"{w}\""))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    }
}

fn get_value(shell: &Shell, what: &str, args: &[String]) -> Result<Value, ShellError> {
    let s = &shell.settings;
    Ok(match what {
        "verbose" => Value::Bool(shell.h.config().verbose),
        "network" => Value::Bool(shell.h.config().network),
        "program" => Value::Text(s.program.clone()),
        "path" => Value::Text(s.path.clone().unwrap_or_else(|| DEFAULT_PATH.into())),
        "qemu" | "hv" => Value::Text(hv(shell)),
        "append" => Value::Optional(s.append.clone()),
        "selinux" => Value::Bool(s.selinux),
        "autosync" => Value::Bool(s.autosync),
        "pgroup" => Value::Bool(s.pgroup),
        "recovery-proc" => Value::Bool(s.recovery_proc),
        "direct" => Value::Bool(s.direct),
        "identifier" => Value::Text(s.identifier.clone()),
        "tmpdir" => Value::Text(
            s.tmpdir
                .clone()
                .unwrap_or_else(|| env_dir("TMPDIR", "/tmp")),
        ),
        "cachedir" => Value::Text(
            s.cachedir
                .clone()
                .unwrap_or_else(|| env_dir("TMPDIR", "/var/tmp")),
        ),
        "backend" => Value::Text(s.backend.clone()),
        "attach-method" => Value::Text(match s.backend.as_str() {
            "direct" => "appliance".into(),
            b => b.into(),
        }),
        "backend-settings" => Value::List(s.backend_settings.clone()),
        "backend-setting" => {
            let want = &args[0];
            let found = s
                .backend_settings
                .iter()
                .find_map(|w| match w.split_once('=') {
                    Some((k, v)) if k == want => Some(v.to_string()),
                    None if w == want => Some("1".into()),
                    _ => None,
                });
            Value::Text(found.ok_or_else(|| lg("setting not found"))?)
        }
        other => return Err(ShellError::Usage(format!("get-{other}: no such setting"))),
    })
}

fn set_value(shell: &mut Shell, what: &str, args: &[String]) -> Result<Value, ShellError> {
    let v = args.first().cloned().unwrap_or_default();
    match what {
        "verbose" => {
            shell.h.config_mut().verbose = bool_word(&v)?;
            return Ok(Value::Done);
        }
        "network" => {
            shell.h.config_mut().network = bool_word(&v)?;
            return Ok(Value::Done);
        }
        "qemu" | "hv" => {
            shell.h.config_mut().qemu = (!v.is_empty()).then(|| PathBuf::from(v));
            return Ok(Value::Done);
        }
        _ => {}
    }
    let s = &mut shell.settings;
    match what {
        "selinux" => s.selinux = bool_word(&v)?,
        "autosync" => s.autosync = bool_word(&v)?,
        "pgroup" => s.pgroup = bool_word(&v)?,
        "recovery-proc" => s.recovery_proc = bool_word(&v)?,
        "direct" => s.direct = bool_word(&v)?,
        "program" => s.program = v,
        "path" => s.path = (!v.is_empty()).then_some(v),
        "append" => s.append = (!v.is_empty()).then_some(v),
        "identifier" => {
            if !v
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
            {
                return Err(lg(
                    "identifier must contain only alphanumeric characters, underscore or \
                     minus sign",
                ));
            }
            s.identifier = v;
        }
        "tmpdir" | "cachedir" => {
            let call = format!("set_{what}");
            let dir = if v.is_empty() {
                None
            } else {
                Some(absolute(&call, &v)?)
            };
            if what == "tmpdir" {
                s.tmpdir = dir;
            } else {
                s.cachedir = dir;
            }
        }
        "backend" | "attach-method" => {
            s.backend = backend_name(&v).ok_or_else(|| lg(format!("invalid backend: {v}")))?;
        }
        "backend-settings" => s.backend_settings = split_settings(&v, ' '),
        "backend-setting" => {
            let key = args[0].clone();
            s.backend_settings
                .retain(|w| w != &key && !w.starts_with(&format!("{key}=")));
            s.backend_settings.push(format!("{key}={}", args[1]));
        }
        "clear-backend-setting" => {
            let key = &args[0];
            let before = s.backend_settings.len();
            s.backend_settings
                .retain(|w| w != key && !w.starts_with(&format!("{key}=")));
            return Ok(Value::Int(before - s.backend_settings.len()));
        }
        other => return Err(ShellError::Usage(format!("set-{other}: no such setting"))),
    }
    Ok(Value::Done)
}

fn env_dir(var: &str, default: &str) -> String {
    std::env::var(var)
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| default.into())
}

/// libguestfs makes `set-tmpdir` and `set-cachedir` directories absolute with realpath.
fn absolute(call: &str, dir: &str) -> Result<String, ShellError> {
    std::fs::canonicalize(dir)
        .map(|p| p.to_string_lossy().into_owned())
        .map_err(|e| {
            lg(format!(
                "converting path to absolute path: {call}: {dir}: realpath: {}",
                fisherr::strerror(guestwright::protocol::Errno::from_raw(
                    e.raw_os_error().unwrap_or(libc::EIO)
                ))
            ))
        })
}

/// The QEMU binary: as set, or the one guestwright would find.
fn hv(shell: &Shell) -> String {
    if let Some(q) = &shell.h.config().qemu {
        return q.to_string_lossy().into_owned();
    }
    let name = format!("qemu-system-{}", std::env::consts::ARCH);
    std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .map(|d| d.join(&name))
        .find(|p| p.is_file())
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or(name)
}

/// A boolean environment variable as libguestfs reads it (`1 true t yes y on`, `0 false f
/// no n off`, in any case); anything else is libguestfs's error.
fn env_bool(name: &str, value: &str) -> Result<bool, ShellError> {
    match value.to_ascii_lowercase().as_str() {
        "1" | "true" | "t" | "yes" | "y" | "on" => Ok(true),
        "0" | "false" | "f" | "no" | "n" | "off" => Ok(false),
        _ => Err(ShellError::Libguestfs(format!(
            "{name}={value}: non-boolean value"
        ))),
    }
}

/// What libguestfs's `parse_environment` reads: `LIBGUESTFS_TRACE`, `LIBGUESTFS_DEBUG`,
/// `LIBGUESTFS_TMPDIR`, `LIBGUESTFS_CACHEDIR`, `LIBGUESTFS_PATH`, `LIBGUESTFS_HV` (or
/// `LIBGUESTFS_QEMU`), `LIBGUESTFS_APPEND`, `LIBGUESTFS_MEMSIZE`, `LIBGUESTFS_BACKEND`
/// (or `LIBGUESTFS_ATTACH_METHOD`), `LIBGUESTFS_BACKEND_SETTINGS`.
fn parse_environment(shell: &mut Shell, vars: &[(String, String)]) -> Result<(), ShellError> {
    let get = |k: &str| {
        vars.iter()
            .rev()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
    };
    if let Some(v) = get("LIBGUESTFS_TRACE") {
        let on = env_bool("LIBGUESTFS_TRACE", &v)?;
        let was = shell.trace;
        shell.trace_call("set_trace", &[on.to_string()]);
        shell.trace = on;
        if was {
            eprintln!("libguestfs: trace: set_trace = 0");
        }
    }
    if let Some(v) = get("LIBGUESTFS_DEBUG") {
        shell.h.config_mut().verbose = env_bool("LIBGUESTFS_DEBUG", &v)?;
    }
    if let Some(v) = get("LIBGUESTFS_TMPDIR").filter(|v| !v.is_empty()) {
        shell.settings.tmpdir = Some(absolute("set_tmpdir", &v)?);
    }
    if let Some(v) = get("LIBGUESTFS_CACHEDIR").filter(|v| !v.is_empty()) {
        shell.settings.cachedir = Some(absolute("set_cachedir", &v)?);
    }
    if let Some(v) = get("LIBGUESTFS_PATH").filter(|v| !v.is_empty()) {
        shell.settings.path = Some(v);
    }
    if let Some(v) = get("LIBGUESTFS_HV").or_else(|| get("LIBGUESTFS_QEMU")) {
        if !v.is_empty() {
            shell.h.config_mut().qemu = Some(PathBuf::from(v));
        }
    }
    if let Some(v) = get("LIBGUESTFS_APPEND") {
        shell.settings.append = (!v.is_empty()).then_some(v);
    }
    if let Some(v) = get("LIBGUESTFS_MEMSIZE") {
        let m: u32 = v
            .parse()
            .ok()
            .filter(|_| v.bytes().all(|b| b.is_ascii_digit()))
            .ok_or_else(|| lg("non-numeric value for LIBGUESTFS_MEMSIZE"))?;
        if m < 256 {
            return Err(lg("too small value for memsize (must be at least 256)"));
        }
        shell.h.config_mut().memory_mib = m;
    }
    if let Some(v) = get("LIBGUESTFS_BACKEND").or_else(|| get("LIBGUESTFS_ATTACH_METHOD")) {
        if !v.is_empty() {
            shell.settings.backend =
                backend_name(&v).ok_or_else(|| lg(format!("invalid backend: {v}")))?;
        }
    }
    if let Some(v) = get("LIBGUESTFS_BACKEND_SETTINGS") {
        shell.settings.backend_settings = split_settings(&v, ':');
    }
    Ok(())
}

fn add_handler(shell: &mut Shell, args: &[String]) -> Result<(), ShellError> {
    let [name, set, script] = args else {
        return Err(ShellError::Fish(
            "use 'event <name> <eventset> <script>' to register an event handler".into(),
        ));
    };
    let mut mask = 0u32;
    for word in set.split(',') {
        let word = word.trim();
        if word == "*" || word == "all" {
            mask = (1 << EVENTS.len()) - 1;
            continue;
        }
        let w = if word == "launch" {
            "launch_done"
        } else {
            word
        };
        match EVENTS.iter().position(|e| *e == w) {
            Some(i) => mask |= 1 << i,
            None => return Err(ShellError::Fish(format!("unknown event name: {word}"))),
        }
    }
    let s = &mut shell.settings;
    s.handlers.push(Handler {
        name: name.clone(),
        id: s.next_handler,
        mask,
        script: script.clone(),
    });
    s.next_handler += 1;
    Ok(())
}

fn list_handlers(shell: &Shell, args: &[String], out: &mut Output) -> Result<(), ShellError> {
    if !args.is_empty() {
        return Err(ShellError::Fish(
            "use \u{2018}list-events\u{2019} to list event handlers".into(),
        ));
    }
    let all = (1u32 << EVENTS.len()) - 1;
    let mut text = String::new();
    for h in &shell.settings.handlers {
        let set = if h.mask == all {
            "*".to_string()
        } else {
            EVENTS
                .iter()
                .enumerate()
                .filter(|(i, _)| h.mask & (1 << i) != 0)
                .map(|(_, e)| *e)
                .collect::<Vec<_>>()
                .join(",")
        };
        text.push_str(&format!("\"{}\" ({}): {set}: {}\n", h.name, h.id, h.script));
    }
    print(out, &text)
}

fn delete_handler(shell: &mut Shell, args: &[String]) -> Result<(), ShellError> {
    let [name] = args else {
        return Err(ShellError::Fish(
            "use 'delete-event <name>' to delete an event handler".into(),
        ));
    };
    let before = shell.settings.handlers.len();
    shell.settings.handlers.retain(|h| &h.name != name);
    if shell.settings.handlers.len() == before {
        return Err(ShellError::Fish(format!(
            "delete-event: {name}: no such event handler"
        )));
    }
    Ok(())
}

impl Settings {
    /// After `reopen`: the new handle has no event handlers (and numbers them from 0).
    pub fn forget_handlers(&mut self) {
        self.handlers.clear();
        self.next_handler = 0;
    }

    /// Runs the handlers registered for `event` (one of [`EVENTS`]) that carries no message.
    pub fn fire(&self, event: &str) {
        self.fire_message(event, None);
    }

    /// The getters guestfish's `reopen` calls to copy the settings to the new handle, in its
    /// order, with the results libguestfs traces.
    pub fn copied_by_reopen(&self, verbose: bool, trace: bool) -> Vec<(&'static str, String)> {
        let int = |b: bool| if b { "1" } else { "0" }.to_string();
        let path = self.path.clone().unwrap_or_else(|| DEFAULT_PATH.into());
        vec![
            ("get_verbose", int(verbose)),
            ("get_trace", int(trace)),
            ("get_autosync", int(self.autosync)),
            ("get_path", format!("\"{path}\"")),
            ("get_pgroup", int(self.pgroup)),
        ]
    }

    /// Whether a handler is registered for `event`.
    pub fn handles(&self, event: &str) -> bool {
        EVENTS
            .iter()
            .position(|e| *e == event)
            .is_some_and(|bit| self.handlers.iter().any(|h| h.mask & (1 << bit) != 0))
    }

    /// Runs the handlers registered for `event` as guestfish does: each script through
    /// `$SHELL -c` (default `/bin/sh`) with `$EVENT` the event's name, `$0` empty and the
    /// event's message, if it has one, as `$1`. A handler that fails is reported and the
    /// shell goes on.
    pub fn fire_message(&self, event: &str, message: Option<&str>) {
        let Some(bit) = EVENTS.iter().position(|e| *e == event) else {
            return;
        };
        use std::io::Write;
        let shell = std::env::var_os("SHELL").unwrap_or_else(|| "/bin/sh".into());
        for h in self.handlers.iter().filter(|h| h.mask & (1 << bit) != 0) {
            let _ = std::io::stdout().flush();
            let status = std::process::Command::new(&shell)
                .arg("-c")
                .arg(&h.script)
                .arg("")
                .args(message)
                .env("EVENT", event)
                .status();
            match status {
                Ok(s) if s.success() => {}
                Ok(s) => eprintln!("guestfish: event handler \"{}\": {s}", h.name),
                Err(e) => eprintln!("guestfish: event handler \"{}\": {e}", h.name),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn environment_booleans_as_libguestfs() {
        // tests/regressions/rhbz1175196.sh
        for (v, want) in [("1", true), ("0", false), ("true", true), ("no", false)] {
            assert_eq!(super::env_bool("LIBGUESTFS_TRACE", v).unwrap(), want, "{v}");
        }
        for (v, want) in [("t", true), ("f", false), ("ON", true), ("Off", false)] {
            assert_eq!(super::env_bool("LIBGUESTFS_TRACE", v).unwrap(), want, "{v}");
        }
        assert!(super::env_bool("LIBGUESTFS_TRACE", "maybe").is_err());
    }

    use super::*;

    #[test]
    fn backends_are_named_as_libguestfs_reports_them() {
        assert_eq!(backend_name("appliance").as_deref(), Some("direct"));
        assert_eq!(backend_name("direct").as_deref(), Some("direct"));
        assert_eq!(
            backend_name("libvirt:qemu:///system").as_deref(),
            Some("libvirt:qemu:///system")
        );
        assert_eq!(backend_name("unix:/x"), None);
        assert_eq!(backend_name("foo"), None);
    }

    #[test]
    fn settings_split_on_spaces_or_colons() {
        assert_eq!(split_settings(" a=1  b ", ' '), ["a=1", "b"]);
        assert_eq!(split_settings("force_tcg:x=y", ':'), ["force_tcg", "x=y"]);
        assert!(split_settings("", ' ').is_empty());
    }

    #[test]
    fn every_name_has_a_usage_or_its_own_check() {
        for n in NAMES {
            let own = ["event", "list-events", "delete-event"].contains(n);
            assert_eq!(usage(n).is_none(), own, "{n}");
        }
    }
}
