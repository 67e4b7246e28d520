//! guestfish's remote control: `--listen` starts a shell in the background that takes its
//! commands from `--remote` clients, one handle for a whole shell script of single
//! commands:
//!
//! ```text
//! eval "$(guestfish --listen -a disk.img)"     # sets GUESTFISH_PID
//! guestfish --remote run
//! guestfish --remote cat /etc/hostname
//! guestfish --remote exit
//! ```
//!
//! As in guestfish, the server listens on `/tmp/.guestfish-UID/socket-PID` (the directory
//! is the user's own, mode 0700, or the server refuses to start), and a client passes its
//! standard output with the call (SCM_RIGHTS), so what a command prints reaches the
//! client's terminal or pipe; its errors go to the server's standard error. A command
//! that fails ends the server unless the client wrote it with a leading `-`, and the
//! client then exits 1.
//!
//! Both ends are guestwright, so the messages are our own, one JSON object a line: a
//! greeting with the version (which must match), then calls (`cmd`, `args`,
//! `exit_on_error`), each answered with its result (`r`: 0 or -1). Unlike guestfish, the
//! starting process returns only once the server listens (or has failed to start), so a
//! `--remote` right after `eval` never races it.

use super::parse::{self, Line};
use super::{report, script, Shell, ShellArgs, EXIT_FAILED, EXIT_OK, EXIT_USAGE};
use serde::{Deserialize, Serialize};
use std::io::{self, BufRead, BufReader, Read, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::PathBuf;
use std::process::ExitCode;

/// The greeting: both ends must be the same guestwright.
#[derive(Debug, Serialize, Deserialize)]
struct Hello {
    version: String,
}

/// One command.
#[derive(Debug, Serialize, Deserialize)]
struct Call {
    cmd: String,
    args: Vec<String>,
    exit_on_error: bool,
}

/// Its result: 0, or -1 when it failed (the server printed why).
#[derive(Debug, Serialize, Deserialize)]
struct Reply {
    r: i32,
}

const VERSION: &str = env!("CARGO_PKG_VERSION");

fn euid() -> u32 {
    // SAFETY: geteuid cannot fail.
    unsafe { libc::geteuid() }
}

/// `/tmp/.guestfish-UID`, created if missing; refused unless it is a directory of ours
/// that nobody else may enter (a socket in someone else's directory could be theirs).
fn socket_dir() -> io::Result<PathBuf> {
    let uid = euid();
    let dir = PathBuf::from(format!("/tmp/.guestfish-{uid}"));
    match std::fs::DirBuilder::new().mode(0o700).create(&dir) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(io::Error::new(e.kind(), format!("{}: {e}", dir.display()))),
    }
    let meta = std::fs::symlink_metadata(&dir)?;
    if !meta.is_dir() || meta.permissions().mode() & 0o777 != 0o700 || meta.uid() != uid {
        return Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            format!(
                "‘{}’ is not a directory or has insecure owner or permissions \
                 (it must be yours, mode 0700: remove it and try again)",
                dir.display()
            ),
        ));
    }
    Ok(dir)
}

fn socket_path(pid: u32) -> io::Result<PathBuf> {
    Ok(socket_dir()?.join(format!("socket-{pid}")))
}

/// Calls `f` with a message of one byte of data (Linux wants at least one) and room for one
/// descriptor (SCM_RIGHTS), its buffers alive for the call.
fn with_fd_message<R>(f: impl FnOnce(&mut libc::msghdr) -> R) -> R {
    let mut byte = [0u8; 1];
    let mut iov = libc::iovec {
        iov_base: byte.as_mut_ptr().cast(),
        iov_len: 1,
    };
    // SAFETY: CMSG_SPACE only computes a size.
    let space = unsafe { libc::CMSG_SPACE(std::mem::size_of::<libc::c_int>() as u32) } as usize;
    let mut control = vec![0u8; space];
    // SAFETY: an all-zero msghdr is valid; the fields set below point at live buffers.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.as_mut_ptr().cast();
    msg.msg_controllen = space;
    f(&mut msg)
}

/// The length of a control message holding one descriptor.
fn fd_cmsg_len() -> usize {
    // SAFETY: CMSG_LEN only computes a size.
    unsafe { libc::CMSG_LEN(std::mem::size_of::<libc::c_int>() as u32) as usize }
}

/// Sends `fd` over the socket (SCM_RIGHTS).
fn send_fd(sock: &UnixStream, fd: BorrowedFd<'_>) -> io::Result<()> {
    with_fd_message(|msg| {
        // SAFETY: the control buffer holds one cmsghdr with room for one int (see
        // with_fd_message), so CMSG_FIRSTHDR is non-null and CMSG_DATA points inside it.
        unsafe {
            let cmsg = libc::CMSG_FIRSTHDR(msg);
            (*cmsg).cmsg_level = libc::SOL_SOCKET;
            (*cmsg).cmsg_type = libc::SCM_RIGHTS;
            (*cmsg).cmsg_len = fd_cmsg_len();
            std::ptr::write_unaligned(libc::CMSG_DATA(cmsg).cast::<libc::c_int>(), fd.as_raw_fd());
        }
        // SAFETY: msg points at buffers alive across the call.
        let n = unsafe { libc::sendmsg(sock.as_raw_fd(), msg, libc::MSG_NOSIGNAL) };
        if n != 1 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    })
}

/// Receives the descriptor [`send_fd`] sent.
fn receive_fd(sock: &UnixStream) -> io::Result<OwnedFd> {
    with_fd_message(|msg| {
        // SAFETY: msg points at buffers alive across the call; MSG_CMSG_CLOEXEC keeps the
        // descriptor from leaking into the host commands the shell runs.
        let n = unsafe { libc::recvmsg(sock.as_raw_fd(), msg, libc::MSG_CMSG_CLOEXEC) };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: recvmsg filled msg_control up to msg_controllen; CMSG_FIRSTHDR checks it.
        let cmsg = unsafe { libc::CMSG_FIRSTHDR(msg) };
        let valid = !cmsg.is_null() && {
            // SAFETY: cmsg is not null, so it points at a header inside the control buffer.
            let h = unsafe { &*cmsg };
            h.cmsg_level == libc::SOL_SOCKET
                && h.cmsg_type == libc::SCM_RIGHTS
                && h.cmsg_len == fd_cmsg_len()
        };
        if !valid {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "the client did not send its standard output",
            ));
        }
        // SAFETY: a SCM_RIGHTS header of one int: the kernel installed that descriptor in
        // this process, and nothing else owns it.
        Ok(unsafe {
            OwnedFd::from_raw_fd(std::ptr::read_unaligned(
                libc::CMSG_DATA(cmsg).cast::<libc::c_int>(),
            ))
        })
    })
}

/// Points this process's standard output at `fd`, after writing out what is buffered for
/// the old one.
fn redirect_stdout(fd: BorrowedFd<'_>) -> io::Result<()> {
    io::stdout().flush()?;
    // SAFETY: dup2 onto descriptor 1; `fd` stays open across the call.
    if unsafe { libc::dup2(fd.as_raw_fd(), 1) } == -1 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

fn stdout_to_null() -> io::Result<()> {
    let null = std::fs::OpenOptions::new().write(true).open("/dev/null")?;
    redirect_stdout(null.as_fd())
}

fn write_message<T: Serialize>(w: &mut impl Write, value: &T) -> io::Result<()> {
    let mut line = serde_json::to_vec(value).map_err(io::Error::other)?;
    line.push(b'\n');
    w.write_all(&line)?;
    w.flush()
}

/// Reads one message; `None` at the end of the connection.
fn read_message<T: for<'de> Deserialize<'de>>(r: &mut impl BufRead) -> io::Result<Option<T>> {
    let mut line = String::new();
    // A message is a short line; a peer that sends more is not a guestwright client.
    if r.take(1 << 20).read_line(&mut line)? == 0 {
        return Ok(None);
    }
    serde_json::from_str(&line)
        .map(Some)
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, format!("protocol error: {e}")))
}

/// `--listen`: forks; the parent prints `GUESTFISH_PID=PID; export GUESTFISH_PID` (or the
/// csh form) once the server listens, and exits. Called while the process has one thread.
pub(super) fn listen(
    args: &ShellArgs,
    appliance: &crate::options::ApplianceArgs,
    verbose: u8,
) -> ExitCode {
    if !args.commands.is_empty() {
        eprintln!("guestfish: extra parameters on the command line with --listen flag");
        return ExitCode::from(EXIT_FAILED);
    }
    if args.file.is_some() {
        eprintln!("guestfish: cannot use --listen and --file options at the same time");
        return ExitCode::from(EXIT_FAILED);
    }
    if let Err(e) = socket_dir() {
        eprintln!("guestfish: {e}");
        return ExitCode::from(EXIT_FAILED);
    }
    let (ready_rx, ready_tx) = match crate::sys::pipe() {
        Ok(p) => p,
        Err(e) => {
            eprintln!("guestfish: pipe: {e}");
            return ExitCode::from(EXIT_FAILED);
        }
    };
    // SAFETY: the shell has started no thread yet (this runs first in `shell::run`), so
    // the child inherits no lock held by a thread it does not have.
    let pid = unsafe { libc::fork() };
    if pid == -1 {
        eprintln!("guestfish: fork: {}", io::Error::last_os_error());
        return ExitCode::from(EXIT_FAILED);
    }
    if pid > 0 {
        drop(ready_tx);
        // The server writes one byte once it listens; nothing (EOF) if it failed, having
        // said why on the standard error we share.
        let mut byte = [0u8; 1];
        let started = matches!(std::fs::File::from(ready_rx).read(&mut byte), Ok(1));
        if !started {
            let mut status = 0;
            // SAFETY: waits for our own child.
            unsafe { libc::waitpid(pid, &mut status, 0) };
            let code = if libc::WIFEXITED(status) {
                libc::WEXITSTATUS(status)
            } else {
                1
            };
            return ExitCode::from(u8::try_from(code).unwrap_or(1).max(1));
        }
        if args.csh {
            println!("setenv GUESTFISH_PID {pid}");
        } else {
            println!("GUESTFISH_PID={pid}; export GUESTFISH_PID");
        }
        return ExitCode::from(EXIT_OK);
    }
    drop(ready_rx);
    ExitCode::from(serve(args, appliance, verbose, ready_tx))
}

/// The server: opens the shell (adding the drives, launching for -m and -i), listens,
/// tells the parent, and runs the clients' commands until `exit` or a failed command.
fn serve(
    args: &ShellArgs,
    appliance: &crate::options::ApplianceArgs,
    verbose: u8,
    ready: OwnedFd,
) -> u8 {
    crate::signals::install_terminate();
    let mut shell = match Shell::open(args, appliance, verbose, false) {
        Ok(s) => s,
        Err(e) => {
            report(&e);
            return e.exit_code();
        }
    };
    // Errors are printed without a script's name and line, as guestfish's server does.
    shell.input_name = None;
    let path = match socket_path(std::process::id()) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("guestfish: {e}");
            return EXIT_FAILED;
        }
    };
    let _ = std::fs::remove_file(&path);
    let listener = match UnixListener::bind(&path) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("guestfish: bind: {}: {e}", path.display());
            return EXIT_FAILED;
        }
    };
    // Standard output goes to /dev/null between clients, so that `eval "$(guestfish
    // --listen)"` (which reads until the end) returns.
    if let Err(e) = stdout_to_null() {
        eprintln!("guestfish: /dev/null: {e}");
        return EXIT_FAILED;
    }
    let _ = std::fs::File::from(ready).write_all(b"1");
    let code = accept_loop(&mut shell, &listener);
    let _ = std::fs::remove_file(&path);
    if shell.h.is_launched() {
        if let Err(e) = shell.close() {
            report(&e);
        }
        shell.settings.fire("close");
    }
    code
}

/// What [`serve_client`] decided.
enum After {
    /// Wait for the next client.
    Next,
    /// `exit`: stop, with this status.
    Stop(u8),
}

fn accept_loop(shell: &mut Shell, listener: &UnixListener) -> u8 {
    loop {
        // SIGTERM and SIGHUP are taken by the signal thread, so they never interrupt
        // accept: wait for a client or a stop signal, whichever comes first.
        if crate::signals::wait_readable(listener.as_raw_fd()).is_err() {
            if let Some(sig) = crate::signals::received() {
                return crate::signals::status(sig);
            }
        }
        let (stream, _) = match listener.accept() {
            Ok(s) => s,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                eprintln!("guestfish: accept: {e}");
                continue;
            }
        };
        if let Some(sig) = crate::signals::received() {
            return crate::signals::status(sig);
        }
        let after = serve_client(shell, stream);
        let _ = stdout_to_null();
        match after {
            Ok(After::Next) => {}
            Ok(After::Stop(code)) => return code,
            Err(e) => eprintln!("guestfish: remote: {e}"),
        }
    }
}

fn serve_client(shell: &mut Shell, stream: UnixStream) -> io::Result<After> {
    let stdout = receive_fd(&stream)?;
    redirect_stdout(stdout.as_fd())?;
    drop(stdout);
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut writer = stream;
    let Some(hello) = read_message::<Hello>(&mut reader)? else {
        return Ok(After::Next);
    };
    if hello.version != VERSION {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "version mismatch, server version ‘{VERSION}’ does not match client version \
                 ‘{}’: the two must be the same guestwright",
                hello.version
            ),
        ));
    }
    while let Some(call) = read_message::<Call>(&mut reader)? {
        let (failed, quit) = shell.run_remote(call.cmd, call.args);
        if quit {
            // The handle closes before the reply, so a `close` event handler's output
            // still reaches this client (as in guestfish).
            if let Err(e) = shell.close() {
                report(&e);
            }
            shell.settings.fire("close");
        }
        io::stdout().flush()?;
        write_message(
            &mut writer,
            &Reply {
                r: if failed { -1 } else { 0 },
            },
        )?;
        if quit {
            return Ok(After::Stop(EXIT_OK));
        }
        if failed && call.exit_on_error {
            return Ok(After::Stop(EXIT_FAILED));
        }
    }
    Ok(After::Next)
}

/// `--remote[=PID]`: sends the command-line commands (or the lines of standard input) to
/// the server, one at a time; stops at the first that fails, unless written with `-`.
pub(super) fn remote(args: &ShellArgs, pid: Option<u32>) -> ExitCode {
    let pid = match pid.or_else(|| {
        std::env::var("GUESTFISH_PID")
            .ok()
            .and_then(|s| s.trim().parse().ok())
    }) {
        Some(p) => p,
        None => {
            eprintln!(
                "guestfish: remote: $GUESTFISH_PID must be set to the PID of the remote \
                 process (eval \"$(guestfish --listen)\" sets it)"
            );
            return ExitCode::from(EXIT_FAILED);
        }
    };
    let lines = if !args.commands.is_empty() {
        match parse::split_command_line(&args.commands) {
            Ok(c) => c,
            Err(e) => {
                eprintln!("guestfish: {e}");
                return ExitCode::from(EXIT_USAGE);
            }
        }
    } else {
        let mut source: Box<dyn script::LineSource> = match &args.file {
            Some(path) => match script::open(path) {
                Ok(s) => s,
                Err(e) => {
                    report(&e);
                    return ExitCode::from(EXIT_FAILED);
                }
            },
            None => Box::new(script::Reader::stdin()),
        };
        let mut lines = Vec::new();
        while let Some(text) = source.next_line("") {
            match parse::parse_line(&text) {
                Ok(l) => lines.push(l),
                Err(e) => {
                    eprintln!("guestfish: {e}");
                    return ExitCode::from(EXIT_FAILED);
                }
            }
        }
        lines
    };
    for line in lines {
        let ok = match line {
            Line::Empty => continue,
            Line::Host {
                ignore_error,
                command,
            } => super::commands::host_shell(&command).is_ok() || ignore_error,
            Line::Eval { .. } => {
                eprintln!("guestfish: remote: '<!' is not supported with --remote");
                false
            }
            Line::Command(c) => match send_command(pid, &c) {
                Ok(r) => r == 0 || c.ignore_error,
                Err(e) => {
                    eprintln!("guestfish: remote: {e}");
                    false
                }
            },
        };
        if !ok {
            return ExitCode::from(EXIT_FAILED);
        }
    }
    ExitCode::from(EXIT_OK)
}

/// Sends one command with this process's standard output (or a `| HOST-COMMAND`'s input)
/// and returns the server's result.
fn send_command(pid: u32, c: &parse::Command) -> io::Result<i32> {
    // SAFETY: kill with signal 0 only checks that the process exists.
    if unsafe { libc::kill(pid as libc::pid_t, 0) } == -1 {
        return Err(io::Error::other("looks like the server is not running"));
    }
    let path = socket_path(pid)?;
    let stream = UnixStream::connect(&path).map_err(|e| {
        io::Error::new(
            e.kind(),
            format!(
                "{}: {e}: looks like the server is not running",
                path.display()
            ),
        )
    })?;
    let mut pipe_child = None;
    match &c.pipe {
        Some(command) => {
            let mut child = std::process::Command::new("/bin/sh")
                .arg("-c")
                .arg(command)
                .stdin(std::process::Stdio::piped())
                .spawn()?;
            let input = child.stdin.take().expect("stdin was piped");
            send_fd(&stream, input.as_fd())?;
            drop(input);
            pipe_child = Some(child);
        }
        None => {
            io::stdout().flush()?;
            send_fd(&stream, io::stdout().as_fd())?;
        }
    }
    let mut writer = stream.try_clone()?;
    write_message(
        &mut writer,
        &Hello {
            version: VERSION.to_string(),
        },
    )?;
    write_message(
        &mut writer,
        &Call {
            cmd: c.name.clone(),
            args: c.args.clone(),
            exit_on_error: !c.ignore_error,
        },
    )?;
    let reply = read_message::<Reply>(&mut BufReader::new(stream))?;
    drop(writer);
    if let Some(mut child) = pipe_child {
        child.wait()?;
    }
    reply
        .map(|r| r.r)
        .ok_or_else(|| io::Error::other("the server closed the connection without a reply"))
}
