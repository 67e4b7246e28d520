//! The LUKS key options every command that opens images takes (`--key`,
//! `--keys-from-stdin`, `--echo-keys`), as libguestfs's tools take them, turned into the
//! library's [`Keys`].
//!
//! A key given on the command line is overwritten in this process's own arguments as soon
//! as they are parsed (`ps` shows `x`s); `--key ID:file:FILE` and `--keys-from-stdin` never
//! put it there at all.

use guestwright::inspect::keys::{parse_key, Keys};
use guestwright::protocol::{Device, Secret};
use std::io::{BufRead, IsTerminal, Write};
use std::sync::Arc;

/// The key options.
#[derive(Debug, clap::Args, Clone, Default)]
pub struct KeyArgs {
    /// A key for a LUKS volume: ID:key:PASSPHRASE or ID:file:FILENAME (the file's first
    /// line), where ID is the device (/dev/sda2), the LUKS UUID, or `all`. Repeatable; each
    /// key given for a volume is tried in turn. Anyone on this host can see a command line:
    /// prefer ID:file:FILENAME or --keys-from-stdin.
    #[arg(long = "key", value_name = "ID:key:PASS", global = true)]
    pub keys: Vec<String>,
    /// Read the key of each LUKS volume no --key is given for from standard input, one line
    /// per volume, in device order. Without it, the key is asked for on the terminal when
    /// there is one.
    #[arg(long, global = true)]
    pub keys_from_stdin: bool,
    /// Show the key as it is typed at the terminal prompt.
    #[arg(long, global = true)]
    pub echo_keys: bool,
}

impl KeyArgs {
    /// Overwrites the passphrases of `--key ID:key:PASS` in this process's command line.
    pub fn scrub_command_line(&self) {
        let values: Vec<(&[u8], usize)> = self
            .keys
            .iter()
            .filter_map(|v| {
                let (id, rest) = v.split_once(':')?;
                rest.strip_prefix("key:")?;
                Some((v.as_bytes(), id.len() + ":key:".len()))
            })
            .collect();
        crate::sys::scrub_arguments(&values);
    }

    /// The library's keys: the parsed `--key` options and the way to ask for others.
    pub fn keys(&self) -> Result<Keys, guestwright::Error> {
        let given = self
            .keys
            .iter()
            .map(|v| parse_key(v))
            .collect::<Result<Vec<_>, _>>()?;
        let ask: Option<guestwright::inspect::keys::Ask> = if self.keys_from_stdin {
            Some(Arc::new(read_stdin_line))
        } else if std::io::stdin().is_terminal() {
            let echo = self.echo_keys;
            Some(Arc::new(move |d: &Device| prompt(d, echo)))
        } else {
            None
        };
        Ok(Keys { given, ask })
    }
}

/// One line of standard input, without its line ending; `None` at the end of the input.
/// Read from the buffer the shell's script shares (`crate::stdin`).
fn read_stdin_line(device: &Device) -> Option<Secret> {
    let mut line = Vec::new();
    let read = crate::stdin::read_line_into(&mut line);
    match read {
        Ok(0) => {
            log::warn!("no key for {device} on standard input (it ended)");
            None
        }
        Ok(_) => {
            let key = line.strip_suffix(b"\n").unwrap_or(&line);
            let key = Secret::from(key.strip_suffix(b"\r").unwrap_or(key));
            zero_bytes(line);
            Some(key)
        }
        Err(e) => {
            log::warn!("cannot read the key for {device} from standard input: {e}");
            None
        }
    }
}

/// guestfish's way of reading a command's key argument (`luks-format DEVICE KEYSLOT` asks
/// for `key`): with `--keys-from-stdin` the next line of standard input, which is the
/// script's next line when the script comes from there too; otherwise from the terminal
/// (`/dev/tty`), with a prompt naming the argument and echo off unless `--echo-keys`, or
/// from standard input when there is no terminal. The line's `\n` is not part of the key.
/// `None` when the input ended.
pub fn read_key(param: &str, from_stdin: bool, echo: bool) -> std::io::Result<Option<Secret>> {
    let tty = if from_stdin {
        None
    } else {
        std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open("/dev/tty")
            .ok()
    };
    let mut line = Vec::new();
    match &tty {
        Some(tty) => {
            let mut out = tty;
            write!(out, "Enter key or passphrase (\"{param}\"): ")?;
            out.flush()?;
            let _quiet = if echo {
                None
            } else {
                crate::sys::NoEcho::new(tty).ok()
            };
            std::io::BufReader::new(tty).read_until(b'\n', &mut line)?;
        }
        None => {
            if std::io::stdin().is_terminal() {
                print!("Enter key or passphrase (\"{param}\"): ");
                std::io::stdout().flush()?;
            }
            crate::stdin::read_line_into(&mut line)?;
        }
    }
    if line.is_empty() {
        return Ok(None);
    }
    let key = Secret::from(line.strip_suffix(b"\n").unwrap_or(&line));
    zero_bytes(line);
    Ok(Some(key))
}

/// Asks on the terminal, echo off unless `--echo-keys`, as libguestfs's tools ask.
fn prompt(device: &Device, echo: bool) -> Option<Secret> {
    let tty = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/tty")
        .ok()?;
    let mut out = &tty;
    write!(out, "Enter key or passphrase (\"{device}\"): ").ok()?;
    out.flush().ok()?;
    let _quiet = if echo {
        None
    } else {
        crate::sys::NoEcho::new(&tty).ok()
    };
    let mut line = String::new();
    std::io::BufReader::new(&tty).read_line(&mut line).ok()?;
    let key = Secret::from(line.trim_end_matches(['\n', '\r']));
    zero(line);
    Some(key)
}

/// Wipes a string that held a key.
fn zero(s: String) {
    zero_bytes(s.into_bytes());
}

/// Wipes bytes that held a key.
fn zero_bytes(mut bytes: Vec<u8>) {
    bytes.fill(0);
    std::hint::black_box(&bytes);
}
