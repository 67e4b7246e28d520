//! Connecting to drives on the network: what a remote drive named as libguestfs names it
//! (a [`RemoteSpec`], read from a URI or from `add_drive`'s `protocol:`, `server:` and
//! `username:` by [`super::uri`], the one reader of drive URIs) becomes when the appliance
//! launches: typed fields, each checked, from which QEMU gets a JSON `-blockdev`. A comma,
//! a quote or `json:` in a name stays inside one JSON string and can never become a QEMU
//! option. A protocol guestwright has no driver for, a password, or a field that cannot be
//! represented safely (a host name with odd characters, a relative socket path) is refused
//! here with a message naming the protocol and what to do instead.

use super::uri::RemoteSpec;
use serde_json::{json, Value};
use std::path::PathBuf;

/// Where a network block device server listens.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Server {
    /// A TCP host and port.
    Tcp {
        /// Host name or address (IPv6 without brackets).
        host: String,
        /// Port.
        port: u16,
    },
    /// A unix socket.
    Unix(PathBuf),
}

/// A drive reached through one of QEMU's network protocol drivers.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Remote {
    /// NBD (QEMU's `nbd` driver).
    Nbd {
        /// The server.
        server: Server,
        /// The export name; the server's default export when `None`.
        export: Option<String>,
    },
    /// HTTP or HTTPS (QEMU's `curl` drivers), always read-only.
    Http {
        /// `https` rather than `http`.
        https: bool,
        /// The URL, rebuilt from checked parts.
        url: String,
        /// Check the server's certificate (https).
        sslverify: bool,
    },
    /// SSH (QEMU's `ssh` driver, libssh): authenticates with the ssh-agent or the user's
    /// default keys; the host key is checked.
    Ssh {
        /// Host.
        host: String,
        /// Port, 22 when `None`.
        port: Option<u16>,
        /// The remote user; the local user's name when `None`.
        user: Option<String>,
        /// The image's path on the host.
        path: String,
    },
    /// iSCSI (QEMU's `iscsi` driver, libiscsi).
    Iscsi {
        /// Host.
        host: String,
        /// Port, 3260 when `None`.
        port: Option<u16>,
        /// The target's IQN.
        target: String,
        /// The LUN.
        lun: u32,
    },
}

/// Why a drive URI cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("drive URI {uri}: {why}")]
pub struct RemoteError {
    /// The URI, escaped.
    pub uri: String,
    /// What is wrong and how to write it.
    pub why: String,
}

fn err(uri: &str, why: impl Into<String>) -> RemoteError {
    RemoteError {
        uri: guestwright_protocol::escape_bytes(uri.as_bytes()),
        why: why.into(),
    }
}

/// Checks a host name or address: letters, digits, `.`, `-` (not first), or an IPv6
/// address in brackets.
fn check_host(uri: &str, host: &str) -> Result<String, RemoteError> {
    if let Some(v6) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        if !v6.is_empty()
            && v6
                .bytes()
                .all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.')
        {
            return Ok(v6.to_string());
        }
    } else if !host.is_empty()
        && !host.starts_with('-')
        && host.len() <= 253
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-' || b == b'_')
    {
        return Ok(host.to_string());
    }
    Err(err(
        uri,
        format!(
            "'{}' is not a host name or address (letters, digits, '.', '-', or an IPv6 \
             address in brackets)",
            guestwright_protocol::escape_bytes(host.as_bytes())
        ),
    ))
}

/// `HOST[:PORT]` (IPv6 in brackets).
fn host_port(uri: &str, s: &str) -> Result<(String, Option<u16>), RemoteError> {
    let (host, port) = if s.starts_with('[') {
        match s.find(']') {
            Some(end) => {
                let rest = &s[end + 1..];
                let port = match rest.strip_prefix(':') {
                    Some(p) => Some(p),
                    None if rest.is_empty() => None,
                    None => return Err(err(uri, "unexpected text after the IPv6 address")),
                };
                (&s[..end + 1], port)
            }
            None => return Err(err(uri, "an IPv6 address needs its closing ']'")),
        }
    } else {
        match s.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (s, None),
        }
    };
    let host = check_host(uri, host)?;
    let port = match port {
        None => None,
        Some(p) => Some(p.parse::<u16>().ok().filter(|p| *p > 0).ok_or_else(|| {
            err(
                uri,
                format!(
                    "'{}' is not a port number",
                    guestwright_protocol::escape_bytes(p.as_bytes())
                ),
            )
        })?),
    };
    Ok((host, port))
}

/// The protocols [`Remote::from_spec`] opens.
pub const PROTOCOLS: &[&str] = &["nbd", "http", "https", "ssh", "iscsi"];

impl Remote {
    /// The drive QEMU opens for `spec`, at launch (libguestfs connects only then).
    /// Protocols guestwright has no driver for, passwords, and fields QEMU must not see
    /// are refused, each in words that name the protocol and what to do instead.
    pub fn from_spec(spec: &RemoteSpec) -> Result<Remote, RemoteError> {
        let what = spec.describe();
        let refuse = |why: String| err(&what, why);
        let p = spec.protocol.as_str();
        let instead = "copy the image to a local file first (for example with `qemu-img \
                       convert`), or serve it over NBD (`qemu-nbd`, `nbdkit`) and add \
                       nbd://HOST[:PORT]/EXPORT";
        if !PROTOCOLS.contains(&p) {
            return Err(refuse(format!(
                "guestwright cannot open {} drives (it opens {} ones): {instead}",
                guestwright_protocol::escape_bytes(p.as_bytes()),
                PROTOCOLS.join(", ")
            )));
        }
        if spec.secret.is_some() {
            return Err(refuse(format!(
                "guestwright does not pass passwords to {p} servers (secret:, or a password \
                 in the URI): {}",
                match p {
                    "ssh" => "log in with the ssh-agent or a key in ~/.ssh instead",
                    _ =>
                        "allow access without one from this host, or serve the image over \
                          NBD and add nbd://HOST[:PORT]/EXPORT",
                }
            )));
        }
        let server = match spec.servers.as_slice() {
            [s] => s.trim(),
            [] => {
                return Err(refuse(format!(
                    "protocol:{p} needs {}",
                    if p == "nbd" {
                        "server:tcp:HOST[:PORT] or server:unix:PATH"
                    } else {
                        "server:HOST[:PORT]"
                    }
                )))
            }
            more => {
                return Err(refuse(format!(
                    "guestwright connects to one {p} server, not {}: name one",
                    more.len()
                )))
            }
        };
        let user = match (&spec.username, p) {
            (Some(u), "ssh") => {
                check_user(&what, u)?;
                Some(u.clone())
            }
            (Some(_), _) => {
                return Err(refuse(format!(
                    "a user name is only for ssh drives: allow access to the {p} server \
                     without one"
                )))
            }
            (None, _) => None,
        };
        let name = spec.name.as_str();
        if let Some(socket) = server.strip_prefix("unix:") {
            if p != "nbd" {
                return Err(refuse(format!(
                    "{p} drives connect over tcp: write server:HOST[:PORT]"
                )));
            }
            if name.chars().any(char::is_control) {
                return Err(refuse("the export name has control characters".into()));
            }
            return Ok(Remote::Nbd {
                server: Server::Unix(unix_socket(&what, socket)?),
                export: (!name.is_empty()).then(|| name.to_string()),
            });
        }
        let (host, port) = host_port(&what, server.strip_prefix("tcp:").unwrap_or(server))?;
        match p {
            "nbd" => {
                if name.chars().any(char::is_control) {
                    return Err(refuse("the export name has control characters".into()));
                }
                Ok(Remote::Nbd {
                    server: Server::Tcp {
                        host,
                        port: port.unwrap_or(10809),
                    },
                    export: (!name.is_empty()).then(|| name.to_string()),
                })
            }
            "http" | "https" => {
                if name.trim_start_matches('/').is_empty() {
                    return Err(refuse(format!("a {p} drive needs the image's path")));
                }
                let host = if host.contains(':') {
                    format!("[{host}]")
                } else {
                    host
                };
                let path = encode_path(name);
                let sep = if path.starts_with('/') { "" } else { "/" };
                let url = match port {
                    Some(port) => format!("{p}://{host}:{port}{sep}{path}"),
                    None => format!("{p}://{host}{sep}{path}"),
                };
                Ok(Remote::Http {
                    https: p == "https",
                    url,
                    sslverify: spec.sslverify,
                })
            }
            "ssh" => {
                if !name.starts_with('/') || name.len() < 2 || name.chars().any(char::is_control) {
                    return Err(refuse(
                        "an ssh drive needs the image's absolute path".into(),
                    ));
                }
                Ok(Remote::Ssh {
                    host,
                    port,
                    user,
                    path: name.to_string(),
                })
            }
            _ => {
                let (target, lun) =
                    name.trim_start_matches('/')
                        .rsplit_once('/')
                        .ok_or_else(|| {
                            refuse("iscsi drives are iscsi://HOST[:PORT]/TARGET/LUN".into())
                        })?;
                Ok(Remote::Iscsi {
                    host,
                    port,
                    target: check_iqn(&what, target)?,
                    lun: lun.parse().map_err(|_| {
                        refuse(format!(
                            "'{}' is not a LUN number",
                            guestwright_protocol::escape_bytes(lun.as_bytes())
                        ))
                    })?,
                })
            }
        }
    }

    /// Whether the protocol can be written at all (http and https cannot).
    pub fn writable(&self) -> bool {
        !matches!(self, Remote::Http { .. })
    }

    /// The protocol node of the `-blockdev`: the transport, below the format node.
    pub fn protocol_node(&self, readonly: bool) -> Value {
        let mut node = match self {
            Remote::Nbd { server, export } => {
                let server = match server {
                    Server::Tcp { host, port } => {
                        json!({ "type": "inet", "host": host, "port": port.to_string() })
                    }
                    Server::Unix(path) => {
                        json!({ "type": "unix", "path": path.to_string_lossy() })
                    }
                };
                let mut n = json!({ "driver": "nbd", "server": server });
                if let Some(e) = export {
                    n["export"] = json!(e);
                }
                n
            }
            Remote::Http {
                https,
                url,
                sslverify,
            } => {
                let mut n = json!({
                    "driver": if *https { "https" } else { "http" },
                    "url": url,
                    // Read-ahead: the appliance's small reads would each be a request.
                    "readahead": 1 << 20,
                    "timeout": 30,
                });
                if *https {
                    n["sslverify"] = json!(sslverify);
                }
                n
            }
            Remote::Ssh {
                host,
                port,
                user,
                path,
            } => {
                let mut server = json!({ "host": host });
                if let Some(p) = port {
                    server["port"] = json!(p.to_string());
                }
                let host_key_check = match ssh_host_key() {
                    Some(hash) => json!({ "mode": "hash", "type": "sha256", "hash": hash }),
                    None => json!({ "mode": "known_hosts" }),
                };
                let mut n = json!({
                    "driver": "ssh",
                    "server": server,
                    "path": path,
                    "host-key-check": host_key_check,
                });
                if let Some(u) = user {
                    n["user"] = json!(u);
                }
                n
            }
            Remote::Iscsi {
                host,
                port,
                target,
                lun,
            } => {
                let portal = match (host.contains(':'), port) {
                    (true, Some(p)) => format!("[{host}]:{p}"),
                    (true, None) => format!("[{host}]"),
                    (false, Some(p)) => format!("{host}:{p}"),
                    (false, None) => host.clone(),
                };
                json!({
                    "driver": "iscsi",
                    "transport": "tcp",
                    "portal": portal,
                    "target": target,
                    "lun": lun,
                    "initiator-name": "iqn.2008-11.org.guestwright:initiator",
                })
            }
        };
        if readonly {
            node["read-only"] = json!(true);
        }
        node
    }

    /// A name for messages (no passwords: URIs with them are refused).
    pub fn describe(&self) -> String {
        match self {
            Remote::Nbd { server, export } => {
                let e = export.as_deref().unwrap_or("");
                match server {
                    Server::Tcp { host, port } => format!("nbd://{host}:{port}/{e}"),
                    Server::Unix(p) => {
                        format!("nbd+unix:///{e}?socket={}", p.display())
                    }
                }
            }
            Remote::Http { url, .. } => url.clone(),
            Remote::Ssh {
                host,
                port,
                user,
                path,
            } => format!(
                "ssh://{}{host}{}{path}",
                user.as_ref().map(|u| format!("{u}@")).unwrap_or_default(),
                port.map(|p| format!(":{p}")).unwrap_or_default()
            ),
            Remote::Iscsi {
                host,
                port,
                target,
                lun,
            } => format!(
                "iscsi://{host}{}/{target}/{lun}",
                port.map(|p| format!(":{p}")).unwrap_or_default()
            ),
        }
    }
}

/// An HTTP path from a decoded name: what a URI path may hold stays, anything else
/// (a space, a quote, `%`, `?`, `#`, bytes beyond ASCII) is percent-encoded.
fn encode_path(name: &str) -> String {
    name.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~/!$&()*+,;=:@".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn unix_socket(uri: &str, p: &str) -> Result<PathBuf, RemoteError> {
    if !p.starts_with('/') || p.chars().any(char::is_control) {
        return Err(err(uri, "the socket must be an absolute path"));
    }
    Ok(PathBuf::from(p))
}

fn check_user(uri: &str, u: &str) -> Result<(), RemoteError> {
    if u.is_empty()
        || u.starts_with('-')
        || !u
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-$".contains(&b))
    {
        return Err(err(
            uri,
            "the user name must be letters, digits, '.', '_' or '-'",
        ));
    }
    Ok(())
}

fn check_iqn(uri: &str, t: &str) -> Result<String, RemoteError> {
    if t.is_empty()
        || !t
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b".:-_".contains(&b))
    {
        return Err(err(
            uri,
            "the iSCSI target must be an IQN (letters, digits, '.', ':', '-')",
        ));
    }
    Ok(t.to_string())
}

/// The environment variable that pins an ssh server's host key, as `ssh-keygen -l` prints
/// its fingerprint (`SHA256:...`), instead of looking it up in `~/.ssh/known_hosts`.
pub const SSH_HOST_KEY_ENV: &str = "GUESTWRIGHT_SSH_HOST_KEY";

/// The pinned host key as QEMU wants it: the SHA-256 in lowercase hex.
fn ssh_host_key() -> Option<String> {
    let v = std::env::var(SSH_HOST_KEY_ENV).ok()?;
    let b64 = v.trim().strip_prefix("SHA256:").unwrap_or(v.trim());
    let bytes = base64_decode(b64)?;
    (bytes.len() == 32).then(|| bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// Checks [`SSH_HOST_KEY_ENV`] when set; an unreadable value is an error, never ignored.
pub fn check_ssh_host_key_env() -> Result<(), RemoteError> {
    match std::env::var(SSH_HOST_KEY_ENV) {
        Ok(v) if ssh_host_key().is_none() => Err(err(
            &v,
            format!(
                "{SSH_HOST_KEY_ENV} must be a SHA256 fingerprint as `ssh-keygen -l -f KEY` \
                 prints it (SHA256:...)"
            ),
        )),
        _ => Ok(()),
    }
}

/// Standard base64, padding optional (`ssh-keygen -l` prints none).
fn base64_decode(s: &str) -> Option<Vec<u8>> {
    use base64ct::Encoding;
    base64ct::Base64Unpadded::decode_vec(s.trim_end_matches('=')).ok()
}

#[cfg(test)]
mod tests {
    use super::super::uri::{self, DriveUri};
    use super::*;

    /// A library drive name as a launch connects it: read, checked as libguestfs checks
    /// it, then turned into the drive QEMU opens; the first refusal's words.
    fn remote(name: &str) -> Result<Remote, String> {
        let spec = match uri::parse_drive(name).map_err(|e| e.to_string())? {
            DriveUri::Remote(spec) => spec,
            DriveUri::File(f) => return Err(format!("a file: {f}")),
        };
        spec.check().map_err(|e| e.to_string())?;
        Remote::from_spec(&spec).map_err(|e| e.to_string())
    }

    fn spec(protocol: &str, name: &str, server: &str, username: Option<&str>) -> RemoteSpec {
        RemoteSpec {
            servers: vec![server.to_string()],
            username: username.map(String::from),
            ..RemoteSpec::new(protocol, name)
        }
    }

    #[test]
    fn uris_become_typed_fields() {
        assert_eq!(
            remote("nbd://localhost:10810/disk%20one").unwrap(),
            Remote::Nbd {
                server: Server::Tcp {
                    host: "localhost".into(),
                    port: 10810
                },
                export: Some("disk one".into())
            }
        );
        assert_eq!(
            remote("nbd://[::1]").unwrap(),
            Remote::Nbd {
                server: Server::Tcp {
                    host: "::1".into(),
                    port: 10809
                },
                export: None
            }
        );
        assert_eq!(
            remote("nbd+unix:///e?socket=/run/a,b.sock").unwrap(),
            Remote::Nbd {
                server: Server::Unix("/run/a,b.sock".into()),
                export: Some("e".into())
            }
        );
        assert_eq!(
            remote("nbd+unix:///e?socket=/run/a,b.sock"),
            remote("nbd:///e?socket=/run/a,b.sock")
        );
        assert_eq!(remote("nbd+tcp://h:1/e"), remote("nbd://h:1/e"));
        assert_eq!(
            remote("ssh://root@example.org:2222/var/img%2Cx.qcow2").unwrap(),
            Remote::Ssh {
                host: "example.org".into(),
                port: Some(2222),
                user: Some("root".into()),
                path: "/var/img,x.qcow2".into()
            }
        );
        assert_eq!(
            remote("iscsi://10.0.0.1/iqn.2001-04.com.example:disk/1").unwrap(),
            Remote::Iscsi {
                host: "10.0.0.1".into(),
                port: None,
                target: "iqn.2001-04.com.example:disk".into(),
                lun: 1
            }
        );
        assert_eq!(
            remote("https://h:8443/a,b/c%20d.img?sslverify=false").unwrap(),
            Remote::Http {
                https: true,
                url: "https://h:8443/a,b/c%20d.img".into(),
                sslverify: false
            }
        );
        assert_eq!(
            remote("https://h/x.img").unwrap(),
            Remote::Http {
                https: true,
                url: "https://h/x.img".into(),
                sslverify: true
            }
        );
    }

    #[test]
    fn hostile_uris_are_refused_or_stay_inside_a_json_string() {
        for (bad, says) in [
            ("nbd://host,driver=file:1/x", "invalid hostname"),
            ("nbd://-oProxyCommand=x/e", "invalid hostname"),
            ("nbd://-o/e", "is not a host name"),
            ("nbd://h:99999/", "invalid port number"),
            ("nbd://h/e?socket=/x", "both a server and a ?socket="),
            ("nbd+unix:///e", "needs ?socket=PATH"),
            ("nbd+unix://h/e?socket=/x", "both a server"),
            ("nbd+unix://h/e", "have no host"),
            ("nbd+unix:///e?socket=rel", "absolute path"),
            ("http://h/a b.img", "percent-encoded"),
            ("http://h/a\"b.img", "percent-encoded"),
            (
                "http://h/x.img?driver=file",
                "unknown query parameter 'driver'",
            ),
            ("https://h/x.img?sslverify=maybe", "true or false"),
            ("http://h/x.img#frag", "no #fragment"),
            ("ssh://user:pw@h/x", "does not pass passwords"),
            ("ssh://-l@h/x", "user name must be"),
            ("ssh://h/", "absolute path"),
            ("iscsi://h/iqn,x=y/1", "must be an IQN"),
            ("iscsi://h/iqn/x", "not a LUN number"),
            ("json://{\"driver\":\"file\"}", "not a URI"),
            ("json:{\"driver\":\"file\"}", "a file"),
            ("ftp://h/x", "cannot open ftp drives"),
            ("gopher://h/x", "unknown protocol"),
        ] {
            match remote(bad) {
                Ok(r) => panic!("{bad} was accepted: {r:?}"),
                Err(e) => assert!(e.contains(says), "{bad}: wanted {says:?}, got {e}"),
            }
        }
        // A comma, quote or json: (percent-encoded where a URI wants it) stays one JSON
        // string; written raw, quotes and braces are refused.
        assert!(remote("nbd://h/json:{\"a\":1}").is_err());
        let r = remote("nbd://h/json:%7B%22a%22:1%7D,file.driver=file").unwrap();
        let node = r.protocol_node(true);
        assert_eq!(node["export"], "json:{\"a\":1},file.driver=file");
        assert_eq!(node["server"]["host"], "h");
        assert_eq!(node.as_object().unwrap().len(), 4, "{node}");
        let r = remote("ssh://h/a%2C,b%22c").unwrap();
        assert_eq!(r.protocol_node(false)["path"], "/a,,b\"c");
        // A name from add-drive is encoded into the URL, never spliced.
        let r = Remote::from_spec(&spec("http", "/a b\"?#.img", "h", None)).unwrap();
        assert_eq!(r.protocol_node(true)["url"], "http://h/a%20b%22%3F%23.img");
    }

    #[test]
    fn libguestfs_parts_make_the_same_drives() {
        let from = |p, n, s, u| Remote::from_spec(&spec(p, n, s, u));
        assert_eq!(
            from("nbd", "", "tcp:127.0.0.1:10810", None).unwrap(),
            remote("nbd://127.0.0.1:10810").unwrap()
        );
        assert_eq!(
            from("nbd", "exp", "unix:/tmp/s", None).unwrap(),
            remote("nbd+unix:///exp?socket=/tmp/s").unwrap()
        );
        assert_eq!(
            from("ssh", "/img x", "h:22", Some("me")).unwrap(),
            remote("ssh://me@h:22/img%20x").unwrap()
        );
        assert_eq!(
            from("http", "/a/b.img", "h", None).unwrap(),
            remote("http://h/a/b.img").unwrap()
        );
        assert!(Remote::from_spec(&RemoteSpec::new("nbd", "")).is_err());
        assert!(from("nbd", "", "h,x=y", None).is_err());
        assert!(from("http", "x", "h", Some("u")).is_err());
        let e = from("gluster", "v/x", "h", None).unwrap_err().to_string();
        assert!(e.contains("cannot open gluster drives") && e.contains("qemu-img convert"));
    }

    #[test]
    fn unsupported_protocols_and_passwords_fail_at_launch_in_words() {
        for uri in [
            "gluster://example.com/disk",
            "rbd:///pool/disk",
            "sheepdog:///volume/image",
            "ftp://h/x",
        ] {
            let DriveUri::Remote(spec) = uri::parse(uri).unwrap() else {
                panic!("{uri}")
            };
            let e = Remote::from_spec(&spec).unwrap_err().to_string();
            let p = uri.split_once(':').unwrap().0;
            assert!(e.contains(&format!("cannot open {p} drives")), "{e}");
            assert!(e.contains("qemu-img convert"), "{e}");
        }
        let e = remote("iscsi://user:password@example.com/iqn.2015-12.com.x:t/0").unwrap_err();
        assert!(e.contains("passwords") && !e.contains("password@"), "{e}");
    }

    #[test]
    fn fingerprints_decode() {
        assert_eq!(base64_decode("AAEC/w").unwrap(), vec![0, 1, 2, 255]);
        assert_eq!(base64_decode("YWJj").unwrap(), b"abc");
    }
}
