//! `guestwright shell -a URI` as guestfish 1.48 does it (common/options/uri.c, lib/drives.c):
//! every URI of libguestfs's fish/test-add-uri.sh traced by `-x` as libguestfs traces the
//! `add_drive` call, with nothing connected (the hosts do not exist: guestfish only records
//! the drive until `run`); bad URIs refused in guestfish's words and exit status; protocols
//! guestwright cannot open refused at launch, naming the protocol and what to do instead.
//! No test boots the appliance.

use guestwright_tests::*;
use std::net::TcpListener;
use std::process::{Output, Stdio};
use std::time::Duration;

/// Long enough for a refused launch on a loaded machine; none of these boots.
const DEADLINE: Duration = Duration::from_secs(120);

/// `guestwright shell ARGS </dev/null`, as the libguestfs test runs guestfish.
fn shell(args: &[&str]) -> Output {
    run_within(
        guestwright().arg("shell").args(args).stdin(Stdio::null()),
        DEADLINE,
    )
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// fish/test-add-uri.sh's URIs and the arguments of the trace line it greps for, whole:
/// the table the parser's unit test (host/src/drive/uri.rs) reads too.
fn test_add_uri() -> Vec<(&'static str, &'static str)> {
    include_str!("../../host/src/drive/test-add-uri.txt")
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| l.split_once('\t').expect("URI<TAB>trace"))
        .collect()
}

#[test]
fn every_uri_of_test_add_uri_sh_is_traced_and_recorded_without_connecting() {
    let table = test_add_uri();
    assert_eq!(table.len(), 15, "the table lost lines");
    for (uri, args) in table {
        let out = shell(&["-x", "-a", uri]);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(0), "{uri}:\n{err}");
        // What guestfish prints before its shutdown/close lines.
        let want =
            format!("libguestfs: trace: add_drive {args}\nlibguestfs: trace: add_drive = 0\n");
        assert!(err.starts_with(&want), "{uri}: wanted\n{want}got\n{err}");
        assert!(out.stdout.is_empty(), "{uri}");
    }
}

#[test]
fn file_uris_and_plain_files_are_traced_as_guestfish_traces_them() {
    let dir = tempfile::tempdir().unwrap();
    let img = dir.path().join("test-add-uri.img");
    std::fs::File::create(&img)
        .unwrap()
        .set_len(10 << 20)
        .unwrap();
    let path = img.to_str().unwrap();
    for (args, want) in [
        (
            vec!["-x", "-a", &*format!("file://{path}")],
            format!("add_drive \"{path}\""),
        ),
        (vec!["-x", "-a", path], format!("add_drive \"{path}\"")),
        (
            vec!["-x", "--ro", "--format=raw", "-a", path],
            format!("add_drive \"{path}\" \"readonly:true\" \"format:raw\""),
        ),
        (
            vec!["-x", "--ro", "-a", "nbd://example.com/e"],
            r#"add_drive "e" "readonly:true" "protocol:nbd" "server:tcp:example.com""#.into(),
        ),
    ] {
        let out = shell(&args);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(0), "{args:?}:\n{err}");
        let want = format!("libguestfs: trace: {want}\nlibguestfs: trace: add_drive = 0\n");
        assert!(err.starts_with(&want), "{args:?}: wanted\n{want}got\n{err}");
    }
    // A file:// URI to no file: guestfish's access check on the path.
    let out = shell(&["-x", "-a", "file:///nonexistent/x.img"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out),
        "guestfish: access: /nonexistent/x.img: No such file or directory\n"
    );
}

/// guestfish 1.48.6's exact stderr and exit status, recorded on this machine.
#[test]
fn bad_uris_are_refused_in_guestfish_words() {
    for (uri, want) in [
        (
            "nbd://h:/x",
            "guestfish: --add: could not parse URI \u{2018}nbd://h:/x\u{2019}\n",
        ),
        (
            "nbd://h/x%zz",
            "guestfish: --add: could not parse URI \u{2018}nbd://h/x%zz\u{2019}\n",
        ),
        (
            "nbd://h h/x",
            "guestfish: --add: could not parse URI \u{2018}nbd://h h/x\u{2019}\n",
        ),
        (
            "nbd://h/x?socket=/s",
            "guestfish: nbd://h/x?socket=/s: cannot have both a server name and a socket \
             query parameter\n",
        ),
    ] {
        let out = shell(&["-x", "-a", uri]);
        assert_eq!(out.status.code(), Some(1), "{uri}");
        assert_eq!(stderr(&out), want, "{uri}");
    }
    // Parsed, then refused by add_drive: the call traced, libguestfs's error, its result.
    for (uri, call, error) in [
        (
            "nbd://h:99999/x",
            r#"add_drive "x" "protocol:nbd" "server:tcp:h:99999""#,
            "invalid port number \u{2018}99999\u{2019}",
        ),
        (
            "gopher://h/x",
            r#"add_drive "/x" "protocol:gopher" "server:tcp:h""#,
            "unknown protocol \u{2018}gopher\u{2019}",
        ),
        (
            "nbd://u@h/x",
            r#"add_drive "x" "protocol:nbd" "server:tcp:h" "username:u""#,
            "nbd: you cannot specify a username with this protocol",
        ),
        (
            "rbd://h/x",
            r#"add_drive "x" "protocol:rbd" "server:tcp:h""#,
            "rbd: port number must be specified",
        ),
        (
            "ssh://:pw@h/x",
            r#"add_drive "/x" "protocol:ssh" "server:tcp:h" "username:" "secret:pw""#,
            "ssh: username should not be an empty string",
        ),
    ] {
        let out = shell(&["-x", "-a", uri]);
        assert_eq!(out.status.code(), Some(1), "{uri}");
        assert_eq!(
            stderr(&out),
            format!(
                "libguestfs: trace: {call}\nlibguestfs: error: {error}\n\
                 libguestfs: trace: add_drive = -1 (error)\n"
            ),
            "{uri}"
        );
        let out = shell(&["-a", uri]);
        assert_eq!(out.status.code(), Some(1), "{uri}");
        assert_eq!(
            stderr(&out),
            format!("libguestfs: error: {error}\n"),
            "{uri}"
        );
    }
    // Schemes guestfish does not take for URIs are file names.
    let out = shell(&["-a", "NBD://h/x"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out),
        "guestfish: access: NBD://h/x: No such file or directory\n"
    );
}

/// The drive is connected at launch: a protocol guestwright has no driver for fails there
/// (not at -a), naming the protocol and what to do; an NBD server that is not there fails
/// there too, with QEMU's reason. Neither starts QEMU.
#[test]
fn drives_connect_at_launch_and_unsupported_protocols_say_what_to_do() {
    for (uri, protocol) in [
        ("gluster://example.com/disk", "gluster"),
        ("rbd://example.com:6789/pool/disk", "rbd"),
        ("sheepdog:///volume/image", "sheepdog"),
        ("ftp://user@example.com/disk.img", "ftp"),
    ] {
        let out = shell(&["-a", uri, "run"]);
        let err = stderr(&out);
        assert!(!out.status.success(), "{uri}:\n{err}");
        assert!(
            err.contains(&format!("guestwright cannot open {protocol} drives"))
                && err.contains("qemu-img convert")
                && err.contains("nbd://"),
            "{uri}:\n{err}"
        );
    }
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let uri = format!("nbd://127.0.0.1:{port}");
    let out = shell(&["-x", "-a", &uri]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = shell(&["-a", &uri, "run"]);
    let err = stderr(&out);
    assert!(!out.status.success(), "{err}");
    assert!(
        err.contains(&format!(
            "cannot open the remote drive nbd://127.0.0.1:{port}/"
        )),
        "{err}"
    );
}

/// `add`/`add-drive` with `protocol:` records the drive as `-a URI` does: libguestfs's
/// checks at once (its message, with the script's place), the connection only at launch.
#[test]
fn add_with_protocol_records_and_checks_as_libguestfs() {
    let dir = tempfile::tempdir().unwrap();
    let run = |script: &str| {
        let path = dir.path().join("script");
        std::fs::write(&path, script).unwrap();
        let stdin = std::fs::File::open(&path).unwrap();
        run_within(guestwright().arg("shell").stdin(stdin), DEADLINE)
    };
    let out = run(
        "add-drive pool/disk protocol:rbd server:tcp:example.com:6789\n\
                   add /disk.img protocol:ssh server:example.com username:u secret:pw\n",
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = run("add \"\" protocol:nbd server:tcp:h:99999\n");
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out),
        "*stdin*:1: libguestfs: error: invalid port number \u{2018}99999\u{2019}\n"
    );
    let out = run("add-drive disk protocol:gluster server:example.com\nrun\n");
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("guestwright cannot open gluster drives"),
        "{}",
        stderr(&out)
    );
}
