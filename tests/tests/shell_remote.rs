//! guestfish's remote control, as scripts use it: `eval "$(guestfish --listen)"`, then one
//! `guestfish --remote CMD` per command, each printing to its own standard output. The
//! binary runs under the name `guestfish` (a link, as `install-links` makes), in bash,
//! with a deadline on every command; the server is killed at the end whatever happened.

use guestwright_tests::*;
use std::path::Path;
use std::process::Command;

/// Runs `script` with bash in `dir`, `guestfish` on PATH; returns (status, stdout, stderr).
fn bash(dir: &Path, script: &str) -> (i32, String, String) {
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let link = bin.join("guestfish");
    if !link.exists() {
        std::os::unix::fs::symlink(guestwright_bin(), &link).unwrap();
    }
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    // Every command has its own deadline (`t`), and the server dies with the script.
    let prelude = r#"
set -u
t() { timeout 300 "$@"; }
cleanup() { [ -n "${GUESTFISH_PID:-}" ] && kill -9 "$GUESTFISH_PID" 2>/dev/null; true; }
trap cleanup EXIT
# Whether the process has exited (a zombie too: whoever inherited it may reap it late).
gone() { ! kill -0 "$1" 2>/dev/null || grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null; }
"#;
    let out = Command::new("timeout")
        .arg("1200")
        .arg("bash")
        .arg("-c")
        .arg(format!("{prelude}\n{script}"))
        .current_dir(dir)
        .env("PATH", path)
        .env("GUESTWRIGHT_ACCEL", "tcg")
        .env_remove("GUESTFISH_PID")
        .output()
        .expect("bash");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_listening_shell_runs_the_commands_of_remote_clients() {
    let dir = tempfile::tempdir().unwrap();
    let (code, stdout, stderr) = bash(
        dir.path(),
        r#"
eval "$(t guestfish --listen)"
echo "pid set: ${GUESTFISH_PID:+yes}"
sock=/tmp/.guestfish-$(id -u)/socket-$GUESTFISH_PID
[ -S "$sock" ] && echo "socket listens"
t guestfish --remote alloc test.img 10M
t guestfish --remote run
t guestfish --remote part-disk /dev/sda mbr
t guestfish --remote mkfs ext2 /dev/sda1
t guestfish --remote mount /dev/sda1 /
t guestfish --remote write /hello "hello, remote"
echo "cat: [$(t guestfish --remote cat /hello)]"
# A list argument is split as guestfish splits it (fish/test-stringlist.sh).
for w in "' '" "\'" "'\''" "'\' '" "foo'  'bar" "'foo' 'bar'"; do
    echo "echo: [$(t guestfish --remote echo_daemon "$w")]"
done
# A pipe after the command runs here, on what the server printed.
echo 'cat /hello | tr a-z A-Z' | t guestfish --remote
# A leading '-' ignores the failure; the server goes on.
t guestfish --remote -- -cat /missing; echo "ignored: $?"
echo "still: [$(t guestfish --remote cat /hello)]"
t guestfish --remote event ev close "echo closed"
echo "quit: [$(t guestfish --remote quit)]"
sleep 1
gone "$GUESTFISH_PID" && echo "server gone" || echo "server still running"
[ -e "$sock" ] && echo "socket left behind" || echo "socket removed"
t guestfish --remote version; echo "after quit: $?"
"#,
    );
    assert_eq!(
        stdout,
        "pid set: yes\n\
         socket listens\n\
         cat: [hello, remote]\n\
         echo: [ ]\n\
         echo: [']\n\
         echo: [']\n\
         echo: [' ]\n\
         echo: [foo  bar]\n\
         echo: [foo bar]\n\
         HELLO, REMOTE\n\
         ignored: 0\n\
         still: [hello, remote]\n\
         quit: [closed]\n\
         server gone\n\
         socket removed\n\
         after quit: 1\n",
        "stderr:\n{stderr}"
    );
    assert!(
        stderr.contains("/missing: No such file or directory"),
        "the server reports the failure on its standard error: {stderr}"
    );
    assert!(
        stderr.contains("looks like the server is not running"),
        "{stderr}"
    );
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        std::fs::metadata(dir.path().join("test.img"))
            .unwrap()
            .len(),
        10 << 20,
        "alloc made the image in the directory the server was started in"
    );
}

#[test]
fn a_failed_remote_command_ends_the_server_and_the_client_fails() {
    let dir = tempfile::tempdir().unwrap();
    let (code, stdout, stderr) = bash(
        dir.path(),
        r#"
eval "$(t guestfish --listen 2>/dev/null)"
t guestfish --remote version > /dev/null; echo "version: $?"
# libguestfs rhbz#578407: '-' with no drives and no appliance.
t guestfish --remote -- -lvs; echo "-lvs: $?"
t guestfish --remote version > /dev/null; echo "version again: $?"
t guestfish --remote lvs; echo "lvs: $?"
sleep 1
gone "$GUESTFISH_PID" && echo "server gone" || echo "server still running"
unset GUESTFISH_PID
t guestfish --remote version; echo "no pid: $?"
t guestfish --listen --remote=1 version; echo "both: $?"
"#,
    );
    assert_eq!(
        stdout, "version: 0\n-lvs: 0\nversion again: 0\nlvs: 1\nserver gone\nno pid: 1\nboth: 2\n",
        "stderr:\n{stderr}"
    );
    assert!(stderr.contains("GUESTFISH_PID must be set"), "{stderr}");
    assert_eq!(code, 0, "{stderr}");
}

#[test]
fn listen_with_an_image_that_does_not_exist_fails_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let (code, stdout, stderr) = bash(
        dir.path(),
        r#"
out="$(t guestfish -a missing.img --listen)"; echo "status $? [$out]"
t guestfish --listen extra words; echo "extra: $?"
"#,
    );
    assert_eq!(stdout, "status 1 []\nextra: 1\n", "stderr:\n{stderr}");
    assert!(stderr.contains("missing.img"), "{stderr}");
    assert!(
        stderr.contains("extra parameters on the command line with --listen flag"),
        "{stderr}"
    );
    assert_eq!(code, 0, "{stderr}");
}

/// A listening server that no client talks to any more stops at SIGTERM, as a daemon is
/// expected to (libguestfs's tests/regressions/rhbz727178.sh leaves one behind): before, it
/// noticed the signal only when the next client connected, so it ran on for good.
#[test]
fn a_listening_server_stops_at_sigterm_with_no_client() {
    let dir = tempfile::tempdir().unwrap();
    let (code, stdout, stderr) = bash(
        dir.path(),
        r#"
eval "$(t guestfish --listen 2>/dev/null)"
sock=/tmp/.guestfish-$(id -u)/socket-$GUESTFISH_PID
t guestfish --remote version > /dev/null; echo "version: $?"
kill -TERM "$GUESTFISH_PID"
for i in $(seq 1 100); do gone "$GUESTFISH_PID" && break; sleep 0.1; done
gone "$GUESTFISH_PID" && echo "server gone" || echo "server still running"
[ -e "$sock" ] && echo "socket left" || echo "socket removed"
"#,
    );
    assert_eq!(
        stdout, "version: 0\nserver gone\nsocket removed\n",
        "stderr:\n{stderr}"
    );
    assert_eq!(code, 0, "{stderr}");
}
