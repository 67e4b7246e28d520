//! Drives on the network, named the way libguestfs names them: a URI given to `-a`
//! (`nbd://HOST[:PORT][/EXPORT]`, `nbd+unix:///EXPORT?socket=PATH`, `http[s]://...`,
//! `ssh://[USER@]HOST[:PORT]/PATH`, `iscsi://HOST[:PORT]/TARGET/LUN`), or the parts of one
//! (`add-drive NAME protocol:P server:S username:U`).
//!
//! Every URI is taken apart into typed fields here, each field checked, and QEMU gets a JSON
//! `-blockdev` built from those fields: a comma, a quote or `json:` in a URI stays inside one
//! JSON string and can never become a QEMU option. What cannot be represented safely (a
//! space or quote in an HTTP URL, a host name with odd characters, an unknown query
//! parameter) is refused with a message saying how to write it.

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

/// The URI schemes guestwright knows, as libguestfs spells them.
pub const SCHEMES: &[&str] = &[
    "nbd", "nbd+tcp", "nbd+unix", "http", "https", "ssh", "iscsi",
];

/// True when `s` is written as a URI (`scheme://...`) rather than a file name.
pub fn looks_like_uri(s: &str) -> bool {
    match s.split_once("://") {
        Some((scheme, _)) => {
            !scheme.is_empty()
                && scheme
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'-' || b == b'.')
        }
        None => false,
    }
}

fn err(uri: &str, why: impl Into<String>) -> RemoteError {
    RemoteError {
        uri: guestwright_protocol::escape_bytes(uri.as_bytes()),
        why: why.into(),
    }
}

/// `%XX` decoding; a `%` not followed by two hex digits is an error.
fn percent_decode(uri: &str, s: &str) -> Result<String, RemoteError> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = b
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| err(uri, "a '%' must be followed by two hex digits"))?;
            out.push(hex);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    let s =
        String::from_utf8(out).map_err(|_| err(uri, "it decodes to bytes that are not UTF-8"))?;
    if s.chars().any(char::is_control) {
        return Err(err(uri, "it decodes to control characters"));
    }
    Ok(s)
}

/// The characters RFC 3986 allows in a URI, besides `%XX`. A space, a quote, a backslash
/// or a control character must be percent-encoded.
fn uri_chars_ok(s: &str) -> bool {
    s.bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"-._~:/?#[]@!$&'()*+,;=%".contains(&b))
        && !s.contains('\'')
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

/// The query parameters of a URI, decoded, as `(name, value)`.
fn query_params(uri: &str, query: Option<&str>) -> Result<Vec<(String, String)>, RemoteError> {
    let Some(q) = query else {
        return Ok(Vec::new());
    };
    q.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            Ok((percent_decode(uri, k)?, percent_decode(uri, v)?))
        })
        .collect()
}

fn bool_param(uri: &str, name: &str, v: &str) -> Result<bool, RemoteError> {
    match v {
        "1" | "true" | "on" | "yes" => Ok(true),
        "0" | "false" | "off" | "no" => Ok(false),
        _ => Err(err(uri, format!("{name}= takes true or false"))),
    }
}

impl Remote {
    /// Parses a drive URI.
    pub fn parse(uri: &str) -> Result<Remote, RemoteError> {
        let Some((scheme, rest)) = uri.split_once("://") else {
            return Err(err(uri, "not a URI (scheme://...)"));
        };
        let scheme = scheme.to_ascii_lowercase();
        if !SCHEMES.contains(&scheme.as_str()) {
            return Err(err(
                uri,
                format!(
                    "unknown protocol '{}': guestwright takes {} URIs; to name a local file \
                     whose name contains '://', write it as ./NAME",
                    guestwright_protocol::escape_bytes(scheme.as_bytes()),
                    SCHEMES.join(", ")
                ),
            ));
        }
        if !uri_chars_ok(rest) {
            return Err(err(
                uri,
                "it contains a space, a quote, a backslash or another character URIs do not \
                 allow; percent-encode it (a space is %20)",
            ));
        }
        if rest.contains('#') {
            return Err(err(uri, "a drive URI has no #fragment"));
        }
        let (rest, query) = match rest.split_once('?') {
            Some((r, q)) => (r, Some(q)),
            None => (rest, None),
        };
        let (authority, path) = match rest.find('/') {
            Some(at) => (&rest[..at], &rest[at..]),
            None => (rest, ""),
        };
        let (user, hostport) = match authority.rsplit_once('@') {
            Some((u, h)) => (Some(percent_decode(uri, u)?), h),
            None => (None, authority),
        };
        if user.as_deref().is_some_and(|u| u.contains(':')) {
            return Err(err(
                uri,
                "passwords in URIs are not supported: use the ssh-agent or a key",
            ));
        }
        let params = query_params(uri, query)?;
        let only = |allowed: &[&str]| -> Result<(), RemoteError> {
            match params.iter().find(|(k, _)| !allowed.contains(&k.as_str())) {
                Some((k, _)) => Err(err(
                    uri,
                    format!(
                        "unknown query parameter '{}'{}",
                        guestwright_protocol::escape_bytes(k.as_bytes()),
                        if allowed.is_empty() {
                            String::new()
                        } else {
                            format!(" (this protocol takes {})", allowed.join(", "))
                        }
                    ),
                )),
                None => Ok(()),
            }
        };
        let no_user = |what: &str| -> Result<(), RemoteError> {
            if user.is_some() {
                Err(err(uri, format!("{what} URIs take no user name")))
            } else {
                Ok(())
            }
        };
        match scheme.as_str() {
            "nbd" | "nbd+tcp" | "nbd+unix" => {
                no_user("nbd")?;
                let export = match path.strip_prefix('/') {
                    None | Some("") => None,
                    Some(e) => Some(percent_decode(uri, e)?),
                };
                let server = if scheme == "nbd+unix" {
                    only(&["socket"])?;
                    if !authority.is_empty() {
                        return Err(err(
                            uri,
                            "nbd+unix URIs have no host: nbd+unix:///EXPORT?socket=PATH",
                        ));
                    }
                    let socket = params
                        .iter()
                        .find(|(k, _)| k == "socket")
                        .map(|(_, v)| v.clone())
                        .ok_or_else(|| err(uri, "nbd+unix needs ?socket=PATH"))?;
                    Server::Unix(unix_socket(uri, &socket)?)
                } else {
                    only(&[])?;
                    let (host, port) = host_port(uri, hostport)?;
                    Server::Tcp {
                        host,
                        port: port.unwrap_or(10809),
                    }
                };
                Ok(Remote::Nbd { server, export })
            }
            "http" | "https" => {
                only(&["sslverify"])?;
                let mut sslverify = true;
                for (k, v) in &params {
                    if k == "sslverify" {
                        sslverify = bool_param(uri, k, v)?;
                    }
                }
                no_user("http")?;
                let (host, port) = host_port(uri, hostport)?;
                if path.is_empty() || path == "/" {
                    return Err(err(uri, "an http URI needs the image's path"));
                }
                // Rebuilt from the checked parts; the path keeps its (already valid)
                // percent-encoding, the query (ours) is dropped.
                percent_decode(uri, path)?;
                let host = if host.contains(':') {
                    format!("[{host}]")
                } else {
                    host
                };
                let url = match port {
                    Some(p) => format!("{scheme}://{host}:{p}{path}"),
                    None => format!("{scheme}://{host}{path}"),
                };
                Ok(Remote::Http {
                    https: scheme == "https",
                    url,
                    sslverify,
                })
            }
            "ssh" => {
                only(&[])?;
                let (host, port) = host_port(uri, hostport)?;
                let path = percent_decode(uri, path)?;
                if !path.starts_with('/') || path.len() < 2 {
                    return Err(err(uri, "an ssh URI needs the image's absolute path"));
                }
                if let Some(u) = &user {
                    check_user(uri, u)?;
                }
                Ok(Remote::Ssh {
                    host,
                    port,
                    user,
                    path,
                })
            }
            "iscsi" => {
                only(&[])?;
                no_user("iscsi")?;
                let (host, port) = host_port(uri, hostport)?;
                let p = percent_decode(uri, path.trim_start_matches('/'))?;
                let (target, lun) = p
                    .rsplit_once('/')
                    .ok_or_else(|| err(uri, "iscsi URIs are iscsi://HOST[:PORT]/TARGET/LUN"))?;
                Ok(Remote::Iscsi {
                    host,
                    port,
                    target: check_iqn(uri, target)?,
                    lun: lun
                        .parse()
                        .map_err(|_| err(uri, format!("'{lun}' is not a LUN number")))?,
                })
            }
            _ => unreachable!("scheme checked above"),
        }
    }

    /// The drive libguestfs's `add-drive NAME protocol:P server:S username:U` names. For nbd
    /// NAME is the export (empty: the default one) and the server is `tcp:HOST:PORT`,
    /// `unix:PATH` or `HOST[:PORT]`; for http, https and ssh NAME is the path; for iscsi it
    /// is `TARGET/LUN`.
    pub fn from_parts(
        protocol: &str,
        name: &str,
        server: Option<&str>,
        username: Option<&str>,
    ) -> Result<Remote, RemoteError> {
        let what = format!("{protocol} drive {name}");
        let server_err = |why: &str| err(&what, why.to_string());
        let server = server.map(str::trim);
        let encode = |s: &str| -> String {
            s.bytes()
                .map(|b| {
                    if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
                        (b as char).to_string()
                    } else {
                        format!("%{b:02X}")
                    }
                })
                .collect()
        };
        match protocol {
            "nbd" => {
                let export = (!name.is_empty()).then(|| name.to_string());
                if export
                    .as_deref()
                    .is_some_and(|e| e.chars().any(char::is_control))
                {
                    return Err(server_err("the export name has control characters"));
                }
                let server = match server {
                    None => {
                        return Err(server_err(
                            "protocol:nbd needs server:tcp:HOST:PORT or server:unix:PATH",
                        ))
                    }
                    Some(s) => {
                        if let Some(p) = s.strip_prefix("unix:") {
                            Server::Unix(unix_socket(&what, p)?)
                        } else {
                            let hp = s.strip_prefix("tcp:").unwrap_or(s);
                            let (host, port) = host_port(&what, hp)?;
                            Server::Tcp {
                                host,
                                port: port.unwrap_or(10809),
                            }
                        }
                    }
                };
                Ok(Remote::Nbd { server, export })
            }
            "http" | "https" | "ssh" | "iscsi" => {
                let server = server.ok_or_else(|| {
                    server_err(&format!("protocol:{protocol} needs server:HOST[:PORT]"))
                })?;
                let server = server.strip_prefix("tcp:").unwrap_or(server);
                host_port(&what, server)?;
                let user = match username {
                    Some(u) if protocol == "ssh" => {
                        check_user(&what, u)?;
                        format!("{}@", encode(u))
                    }
                    Some(_) => return Err(server_err("username: is only for protocol:ssh")),
                    None => String::new(),
                };
                let path = if name.starts_with('/') {
                    encode(name)
                } else {
                    format!("/{}", encode(name))
                };
                Remote::parse(&format!("{protocol}://{user}{server}{path}"))
            }
            other => Err(err(
                &what,
                format!(
                    "protocol:{} is not supported (nbd, http, https, ssh, iscsi are)",
                    guestwright_protocol::escape_bytes(other.as_bytes())
                ),
            )),
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
    use super::*;

    #[test]
    fn uris_become_typed_fields() {
        assert_eq!(
            Remote::parse("nbd://localhost:10810/disk%20one").unwrap(),
            Remote::Nbd {
                server: Server::Tcp {
                    host: "localhost".into(),
                    port: 10810
                },
                export: Some("disk one".into())
            }
        );
        assert_eq!(
            Remote::parse("nbd://[::1]").unwrap(),
            Remote::Nbd {
                server: Server::Tcp {
                    host: "::1".into(),
                    port: 10809
                },
                export: None
            }
        );
        assert_eq!(
            Remote::parse("nbd+unix:///e?socket=/run/a,b.sock").unwrap(),
            Remote::Nbd {
                server: Server::Unix("/run/a,b.sock".into()),
                export: Some("e".into())
            }
        );
        assert_eq!(
            Remote::parse("ssh://root@example.org:2222/var/img%2Cx.qcow2").unwrap(),
            Remote::Ssh {
                host: "example.org".into(),
                port: Some(2222),
                user: Some("root".into()),
                path: "/var/img,x.qcow2".into()
            }
        );
        assert_eq!(
            Remote::parse("iscsi://10.0.0.1/iqn.2001-04.com.example:disk/1").unwrap(),
            Remote::Iscsi {
                host: "10.0.0.1".into(),
                port: None,
                target: "iqn.2001-04.com.example:disk".into(),
                lun: 1
            }
        );
        assert_eq!(
            Remote::parse("https://h:8443/a,b/c.img?sslverify=false").unwrap(),
            Remote::Http {
                https: true,
                url: "https://h:8443/a,b/c.img".into(),
                sslverify: false
            }
        );
    }

    #[test]
    fn hostile_uris_are_refused_or_stay_inside_a_json_string() {
        for bad in [
            "nbd://host,driver=file:1/x",
            "nbd://-oProxyCommand=x/e",
            "nbd://h:99999/",
            "nbd://h/e?socket=/x",
            "nbd+unix:///e",
            "nbd+unix:///e?socket=rel",
            "http://h/a b.img",
            "http://h/a\"b.img",
            "http://h/a'b.img",
            "http://h/x.img?driver=file",
            "http://h/x.img#frag",
            "ssh://user:pw@h/x",
            "ssh://-l@h/x",
            "ssh://h/",
            "iscsi://h/iqn,x=y/1",
            "iscsi://h/iqn/x",
            "json://{\"driver\":\"file\"}",
            "file:///etc/passwd",
            "ftp://h/x",
        ] {
            assert!(Remote::parse(bad).is_err(), "{bad} was accepted");
        }
        // A comma, quote or json: (percent-encoded where a URI wants it) stays one JSON
        // string; written raw, quotes and braces are refused.
        assert!(Remote::parse("nbd://h/json:{\"a\":1}").is_err());
        let r = Remote::parse("nbd://h/json:%7B%22a%22:1%7D,file.driver=file").unwrap();
        let node = r.protocol_node(true);
        assert_eq!(node["export"], "json:{\"a\":1},file.driver=file");
        assert_eq!(node["server"]["host"], "h");
        assert_eq!(node.as_object().unwrap().len(), 4, "{node}");
        let r = Remote::parse("ssh://h/a%2C,b%22c").unwrap();
        assert_eq!(r.protocol_node(false)["path"], "/a,,b\"c");
    }

    #[test]
    fn libguestfs_parts_make_the_same_drives() {
        assert_eq!(
            Remote::from_parts("nbd", "", Some("tcp:127.0.0.1:10810"), None).unwrap(),
            Remote::parse("nbd://127.0.0.1:10810").unwrap()
        );
        assert_eq!(
            Remote::from_parts("nbd", "exp", Some("unix:/tmp/s"), None).unwrap(),
            Remote::parse("nbd+unix:///exp?socket=/tmp/s").unwrap()
        );
        assert_eq!(
            Remote::from_parts("ssh", "/img x", Some("h:22"), Some("me")).unwrap(),
            Remote::parse("ssh://me@h:22/img%20x").unwrap()
        );
        assert_eq!(
            Remote::from_parts("http", "/a/b.img", Some("h"), None).unwrap(),
            Remote::parse("http://h/a/b.img").unwrap()
        );
        assert!(Remote::from_parts("nbd", "", None, None).is_err());
        assert!(Remote::from_parts("nbd", "", Some("h,x=y"), None).is_err());
        assert!(Remote::from_parts("gluster", "v/x", Some("h"), None).is_err());
        assert!(Remote::from_parts("http", "x", Some("h"), Some("u")).is_err());
    }

    #[test]
    fn fingerprints_decode() {
        assert_eq!(base64_decode("AAEC/w").unwrap(), vec![0, 1, 2, 255]);
        assert_eq!(base64_decode("YWJj").unwrap(), b"abc");
    }

    #[test]
    fn uri_or_file() {
        assert!(looks_like_uri("nbd://h"));
        assert!(looks_like_uri("weird://h"));
        assert!(!looks_like_uri("./nbd://h"));
        assert!(!looks_like_uri("disk.img"));
        assert!(!looks_like_uri("json:{\"a\":\"b://\"}"));
    }
}
