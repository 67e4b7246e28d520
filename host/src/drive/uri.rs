//! Drive names as URIs: the one reader of them. `-a URI` as libguestfs's tools read it
//! (common/options/uri.c, over libxml2's URI parser), the library's drive names (the same
//! reading plus a few forms of its own, see [`parse_drive`]), and the remote drives
//! libguestfs's `add_drive` accepts per protocol (lib/drives.c): the parts (`protocol:`,
//! `server:`, `username:`, `secret:` and the name) are recorded when the drive is added and
//! turned into a [`super::Remote`] (QEMU's typed `-blockdev`) only when the appliance
//! launches, as libguestfs connects only at launch.
//!
//! Nothing here connects anywhere or builds QEMU options: [`super::Remote::from_spec`]
//! takes the parts, checks each field for QEMU, and says what to do about what it cannot
//! open.

/// The protocols libguestfs 1.48's `add_drive` knows.
pub const LIBGUESTFS_PROTOCOLS: &[&str] = &[
    "ftp", "ftps", "gluster", "http", "https", "iscsi", "nbd", "rbd", "sheepdog", "ssh", "tftp",
];

/// A drive on the network as libguestfs's `add_drive` names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteSpec {
    /// `protocol:` (`nbd`, `ssh`, ...).
    pub protocol: String,
    /// The name argument: the export, path, volume or target, per protocol.
    pub name: String,
    /// `server:` (`tcp:HOST[:PORT]`, `unix:PATH`, or `HOST[:PORT]`); most protocols take one.
    pub servers: Vec<String>,
    /// `username:`.
    pub username: Option<String>,
    /// `secret:` (a password).
    pub secret: Option<String>,
    /// For https: check the server's certificate (the library's `?sslverify=false` turns it
    /// off; guestfish has no way to).
    pub sslverify: bool,
}

impl RemoteSpec {
    /// A drive named by its protocol and name, with no server, user or secret yet.
    pub fn new(protocol: &str, name: &str) -> RemoteSpec {
        RemoteSpec {
            protocol: protocol.to_string(),
            name: name.to_string(),
            servers: Vec::new(),
            username: None,
            secret: None,
            sslverify: true,
        }
    }
}

/// What `-a ARG` names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DriveUri {
    /// A local file (a plain name, or a `file://` URI's path).
    File(String),
    /// A drive on the network.
    Remote(RemoteSpec),
}

/// Why a `-a` URI was refused, in guestfish's words (the tool's name goes before them).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UriError {
    /// Not a URI libxml2 can parse.
    #[error("--add: could not parse URI \u{2018}{0}\u{2019}")]
    Unparsable(String),
    /// Both `//HOST` and `?socket=`.
    #[error("{0}: cannot have both a server name and a socket query parameter")]
    ServerAndSocket(String),
    /// Refused by the library's reading ([`parse_drive`]), which says how to write it.
    #[error("drive URI {uri}: {why}")]
    Refused {
        /// The URI, escaped.
        uri: String,
        /// What is wrong and how to write it.
        why: String,
    },
}

/// Whose reading of a drive name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dialect {
    /// guestfish's `-a`, byte for byte.
    Guestfish,
    /// The library's: see [`parse_drive`].
    Library,
}

/// The schemes the library takes besides guestfish's: the NBD URI standard's, which
/// guestfish takes for file names.
const NBD_SCHEMES: &[&str] = &["nbd+tcp", "nbd+unix"];

/// Why libguestfs's `add_drive` refuses a remote drive, in its words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SpecError(pub String);

/// uri.c's test: a short (at most 8) run of lower-case ASCII letters, then `://`.
pub fn is_uri(arg: &str) -> bool {
    match arg.find("://") {
        Some(at) => at <= 8 && arg[..at].bytes().all(|b| b.is_ascii_lowercase()),
        None => false,
    }
}

/// True when the library reads `arg` as a URI ([`parse_drive`]): guestfish's URIs (see
/// [`is_uri`]) and `nbd+tcp://` / `nbd+unix://`.
pub fn is_drive_uri(arg: &str) -> bool {
    is_uri(arg)
        || arg
            .split_once("://")
            .is_some_and(|(scheme, _)| NBD_SCHEMES.contains(&scheme))
}

/// Reads `-a ARG` as guestfish does: a URI (see [`is_uri`]) becomes its parts, anything
/// else is a file name.
pub fn parse(arg: &str) -> Result<DriveUri, UriError> {
    parse_as(arg, Dialect::Guestfish)
}

/// Reads a drive name as the library takes it ([`crate::Handle::add_drive`], the one-shot
/// commands' `-a`): guestfish's reading, plus `nbd+unix:///EXPORT?socket=PATH` and
/// `nbd+tcp://HOST[:PORT]/EXPORT` (the NBD URI standard, which guestfish takes for file
/// names) and https's `?sslverify=false`. Where guestfish quietly drops a query parameter
/// or a `#fragment`, the library refuses it; every refusal says how to write the URI.
pub fn parse_drive(arg: &str) -> Result<DriveUri, UriError> {
    if !is_drive_uri(arg) {
        return Ok(DriveUri::File(arg.to_string()));
    }
    parse_as(arg, Dialect::Library).map_err(|e| match e {
        UriError::Unparsable(uri) => refused(
            &uri,
            "it is not a URI: a space, a quote, a backslash or another character URIs do not \
             allow must be percent-encoded (a space is %20), a '%' needs two hex digits after \
             it, and a port is digits",
        ),
        UriError::ServerAndSocket(uri) => refused(
            &uri,
            "it names both a server and a ?socket=: write nbd://HOST[:PORT]/EXPORT or \
             nbd+unix:///EXPORT?socket=PATH",
        ),
        e => e,
    })
}

fn refused(uri: &str, why: impl Into<String>) -> UriError {
    UriError::Refused {
        uri: guestwright_protocol::escape_bytes(uri.as_bytes()),
        why: why.into(),
    }
}

fn parse_as(arg: &str, dialect: Dialect) -> Result<DriveUri, UriError> {
    let library = dialect == Dialect::Library;
    if !is_uri(arg) && !library {
        return Ok(DriveUri::File(arg.to_string()));
    }
    let bad = || UriError::Unparsable(arg.to_string());
    let (scheme, rest) = arg.split_once("://").ok_or_else(bad)?;
    // libxml2: the fragment is parsed and dropped, the query kept raw.
    let (rest, fragment) = match rest.split_once('#') {
        Some((r, f)) => (r, Some(f)),
        None => (rest, None),
    };
    let (rest, query) = match rest.split_once('?') {
        Some((r, q)) => (r, Some(q)),
        None => (rest, None),
    };
    for part in [query, fragment].into_iter().flatten() {
        if !valid_chars(part, b":@/?") {
            return Err(bad());
        }
    }
    let (authority, path) = match rest.find('/') {
        Some(at) => (&rest[..at], &rest[at..]),
        None => (rest, ""),
    };
    if !valid_chars(path, b":@/") {
        return Err(bad());
    }
    let (userinfo, hostport) = match authority.rfind('@') {
        Some(at) => (Some(&authority[..at]), &authority[at + 1..]),
        None => (None, authority),
    };
    if userinfo.is_some_and(|u| !valid_chars(u, b":")) {
        return Err(bad());
    }
    let (host, port) = split_host_port(hostport).ok_or_else(bad)?;
    let host = unescape(host).ok_or_else(bad)?;
    let path = unescape(path).ok_or_else(bad)?;
    let user = match userinfo {
        Some(u) => Some(unescape(u).ok_or_else(bad)?),
        None => None,
    };
    let socket = query.and_then(|q| query_get(q, "socket"));
    if !host.is_empty() && socket.is_some() {
        return Err(UriError::ServerAndSocket(arg.to_string()));
    }
    if scheme == "file" {
        return Ok(DriveUri::File(path));
    }
    let mut sslverify = true;
    let mut scheme = scheme;
    if library {
        if fragment.is_some() {
            return Err(refused(arg, "a drive URI has no #fragment"));
        }
        let takes: &[&str] = match scheme {
            "nbd" | "nbd+unix" => &["socket"],
            "https" => &["sslverify"],
            _ => &[],
        };
        for (name, value) in query.map(query_pairs).unwrap_or_default() {
            if !takes.contains(&name.as_str()) {
                return Err(refused(
                    arg,
                    format!(
                        "unknown query parameter '{}'{}",
                        guestwright_protocol::escape_bytes(name.as_bytes()),
                        match takes {
                            [] => format!(" ({scheme} URIs take none)"),
                            t => format!(" ({scheme} URIs take {})", t.join(", ")),
                        }
                    ),
                ));
            }
            if name == "sslverify" {
                sslverify = match value.as_str() {
                    "1" | "true" | "on" | "yes" => true,
                    "0" | "false" | "off" | "no" => false,
                    _ => return Err(refused(arg, "sslverify= takes true or false")),
                };
            }
        }
        match scheme {
            "nbd+unix" if !host.is_empty() || port.is_some() => {
                return Err(refused(
                    arg,
                    "nbd+unix URIs have no host: nbd+unix:///EXPORT?socket=PATH",
                ))
            }
            "nbd+unix" if socket.is_none() => {
                return Err(refused(arg, "nbd+unix needs ?socket=PATH"))
            }
            "nbd+tcp" | "nbd+unix" => scheme = "nbd",
            _ => {}
        }
    }
    let server = if !host.is_empty() {
        Some(match port {
            Some(p) => format!("tcp:{host}:{p}"),
            None => format!("tcp:{host}"),
        })
    } else {
        socket.map(|s| format!("unix:{s}"))
    };
    let (username, secret) = match user.filter(|u| !u.is_empty()) {
        None => (None, None),
        Some(u) => match u.split_once(':') {
            Some((name, pw)) => (Some(name.to_string()), Some(pw.to_string())),
            None => (Some(u), None),
        },
    };
    let secret = secret.filter(|s| !s.is_empty());
    // rbd:///pool/disk names "pool/disk": these protocols' names have no leading '/'.
    let name = match path.strip_prefix('/') {
        Some(p) if ["gluster", "iscsi", "nbd", "rbd", "sheepdog"].contains(&scheme) => {
            p.to_string()
        }
        _ => path,
    };
    Ok(DriveUri::Remote(RemoteSpec {
        protocol: scheme.to_string(),
        name,
        servers: server.into_iter().collect(),
        username,
        secret,
        sslverify,
    }))
}

/// RFC 3986's characters (unreserved, sub-delims, `%XX`) plus `extra`.
fn valid_chars(s: &str, extra: &[u8]) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c == b'%' {
            if !(b.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
                && b.get(i + 2).is_some_and(u8::is_ascii_hexdigit))
            {
                return false;
            }
            i += 3;
            continue;
        }
        if !(c.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=".contains(&c) || extra.contains(&c)) {
            return false;
        }
        i += 1;
    }
    true
}

/// `HOST[:PORT]` as libxml2 splits it: an IP literal keeps its brackets, a `:` needs
/// digits after it, port 0 is no port.
fn split_host_port(s: &str) -> Option<(&str, Option<u32>)> {
    let (host, port) = if s.starts_with('[') {
        let end = s.find(']')?;
        let rest = &s[end + 1..];
        let host = &s[..end + 1];
        if !s[1..end]
            .bytes()
            .all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.')
        {
            return None;
        }
        match rest {
            "" => (host, None),
            r => (host, Some(r.strip_prefix(':')?)),
        }
    } else {
        if !valid_chars(s, b":") {
            return None;
        }
        match s.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (s, None),
        }
    };
    let port = match port {
        None => None,
        Some(p) if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) => return None,
        Some(p) => Some(p.parse::<u32>().ok().filter(|p| *p <= i32::MAX as u32)?),
    };
    Some((host, port.filter(|p| *p != 0)))
}

/// libxml2's `xmlURIUnescapeString`: `%XX` to its byte. The bytes must make UTF-8 (a
/// Rust string); what is not, is refused as unparsable.
fn unescape(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = std::str::from_utf8(b.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// uri.c's `query_get`: the decoded value of the first `name` in the raw query; sections
/// end at `&` (or at `;` when there is no `&` left), `name` alone means an empty value,
/// `=value` is ignored.
fn query_get(query: &str, search: &str) -> Option<String> {
    let mut q = query;
    while !q.is_empty() {
        let end = q.find('&').or_else(|| q.find(';')).unwrap_or(q.len());
        let section = &q[..end];
        let eq = section.find('=');
        let found = match eq {
            _ if section.is_empty() => None,
            None => Some((unescape(section)?, String::new())),
            Some(0) => None,
            Some(e) => Some((unescape(&section[..e])?, unescape(&section[e + 1..])?)),
        };
        if let Some((name, value)) = found {
            if name == search {
                return Some(value);
            }
        }
        q = q.get(end + 1..).unwrap_or("");
    }
    None
}

/// Every `name=value` of a raw query, decoded, sectioned as [`query_get`] does; a part that
/// does not decode keeps its raw text (to be named in a refusal).
fn query_pairs(query: &str) -> Vec<(String, String)> {
    query
        .split(['&', ';'])
        .filter(|s| !s.is_empty())
        .map(|section| {
            let (k, v) = section.split_once('=').unwrap_or((section, ""));
            (
                unescape(k).unwrap_or_else(|| k.to_string()),
                unescape(v).unwrap_or_else(|| v.to_string()),
            )
        })
        .collect()
}

/// One `server:` string, parsed as lib/drives.c's `parse_one_server` does.
#[derive(Debug, Clone, PartialEq, Eq)]
enum ServerPart {
    Tcp { port: Option<u32> },
    Unix,
}

fn parse_server(server: &str) -> Result<ServerPart, SpecError> {
    let valid_host = |h: &str| {
        !h.is_empty()
            && h.len() <= 255
            && h.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-.:[]".contains(&b))
    };
    let hp = match server.strip_prefix("tcp:") {
        Some(rest) => rest,
        None => match server.strip_prefix("unix:") {
            Some("") => return Err(SpecError("missing Unix domain socket path".into())),
            Some(_) => return Ok(ServerPart::Unix),
            None => server,
        },
    };
    // `(.*):(\d+)$`, greedy.
    if let Some((host, port)) = hp.rsplit_once(':') {
        if !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) {
            let p = port
                .parse::<u32>()
                .ok()
                .filter(|p| (1..=65535).contains(p))
                .ok_or_else(|| SpecError(format!("invalid port number \u{2018}{port}\u{2019}")))?;
            if !valid_host(host) {
                return Err(SpecError(format!(
                    "invalid hostname \u{2018}{host}\u{2019}"
                )));
            }
            return Ok(ServerPart::Tcp { port: Some(p) });
        }
    }
    if !valid_host(hp) {
        return Err(SpecError(format!(
            "invalid hostname or server string \u{2018}{hp}\u{2019}"
        )));
    }
    Ok(ServerPart::Tcp { port: None })
}

impl RemoteSpec {
    /// libguestfs's `add_drive` checks for the protocol, with its messages: what it
    /// refuses at add time is refused here, what it accepts is recorded (and connected, or
    /// refused as unsupported, at launch).
    pub fn check(&self) -> Result<(), SpecError> {
        let servers = self
            .servers
            .iter()
            .map(|s| parse_server(s))
            .collect::<Result<Vec<_>, _>>()?;
        let p = self.protocol.as_str();
        let fail = |why: &str| Err(SpecError(format!("{p}: {why}")));
        let one_server = || servers.len() == 1;
        let tcp_only = || servers.iter().all(|s| matches!(s, ServerPart::Tcp { .. }));
        let no_user = || -> Result<(), SpecError> {
            if self.username.is_some() {
                return fail("you cannot specify a username with this protocol");
            }
            if self.secret.is_some() {
                return fail("you cannot specify a secret with this protocol");
            }
            Ok(())
        };
        let name = self.name.as_str();
        // curl's and ssh's checks (their messages named `who`): one tcp server, and a path
        // from the root.
        let server_and_path = |who: &str| -> Result<(), SpecError> {
            let fail = |why: &str| Err(SpecError(format!("{who}: {why}")));
            if !one_server() {
                return fail("you must specify exactly one server");
            }
            if !tcp_only() {
                return fail("only tcp transport is supported");
            }
            if name.is_empty() {
                return fail("pathname should not be an empty string");
            }
            if !name.starts_with('/') {
                return fail("pathname must begin with a '/'");
            }
            Ok(())
        };
        match p {
            "ftp" | "ftps" | "http" | "https" | "tftp" => server_and_path("curl")?,
            "gluster" => {
                no_user()?;
                if !one_server() {
                    return fail("you must specify exactly one server");
                }
                if name.is_empty() {
                    return fail("volume name parameter should not be an empty string");
                }
                if name.starts_with('/') {
                    return fail("volume/image must not begin with a '/'");
                }
            }
            "nbd" => {
                no_user()?;
                if !one_server() {
                    return fail("you must specify exactly one server");
                }
            }
            "rbd" | "sheepdog" => {
                if p == "sheepdog" {
                    no_user()?;
                }
                for s in &servers {
                    match s {
                        ServerPart::Unix => return fail("only tcp transport is supported"),
                        ServerPart::Tcp { port: None, .. } => {
                            return fail("port number must be specified")
                        }
                        ServerPart::Tcp { .. } => {}
                    }
                }
                let what = if p == "rbd" { "image name" } else { "volume" };
                if name.is_empty() {
                    return fail(&format!("{what} parameter should not be an empty string"));
                }
                if name.starts_with('/') {
                    return fail(&if p == "rbd" {
                        "image name must not begin with a '/'".to_string()
                    } else {
                        "volume parameter must not begin with a '/'".to_string()
                    });
                }
            }
            "ssh" => {
                server_and_path(p)?;
                if self.username.as_deref() == Some("") {
                    return fail("username should not be an empty string");
                }
            }
            "iscsi" => {
                if !one_server() {
                    return fail("you must specify exactly one server");
                }
                if !tcp_only() {
                    return fail("only tcp transport is supported");
                }
                if name.is_empty() {
                    return fail("target name should not be an empty string");
                }
                if name.starts_with('/') {
                    return fail("target string must not begin with a '/'");
                }
            }
            _ => {
                return Err(SpecError(format!(
                    "unknown protocol \u{2018}{}\u{2019}",
                    self.protocol
                )))
            }
        }
        Ok(())
    }

    /// The optional arguments libguestfs's trace prints for this drive, in its order
    /// (`protocol`, `server`, `username`, `secret`), each as `NAME:VALUE`.
    pub fn optargs(&self) -> Vec<String> {
        let mut v = vec![format!("protocol:{}", self.protocol)];
        if !self.servers.is_empty() {
            v.push(format!("server:{}", self.servers.join(" ")));
        }
        if let Some(u) = &self.username {
            v.push(format!("username:{u}"));
        }
        if let Some(s) = &self.secret {
            v.push(format!("secret:{s}"));
        }
        v
    }

    /// A name for messages: `PROTOCOL://SERVER/NAME`, never the secret.
    pub fn describe(&self) -> String {
        let server = self
            .servers
            .first()
            .map(|s| s.strip_prefix("tcp:").unwrap_or(s))
            .unwrap_or("");
        let user = self
            .username
            .as_deref()
            .map(|u| format!("{u}@"))
            .unwrap_or_default();
        let sep = if self.name.starts_with('/') { "" } else { "/" };
        format!("{}://{user}{server}{sep}{}", self.protocol, self.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn remote(arg: &str) -> RemoteSpec {
        parse(arg).unwrap().remote_spec()
    }

    impl DriveUri {
        fn remote_spec(self) -> RemoteSpec {
            match self {
                DriveUri::Remote(r) => r,
                other => panic!("not remote: {other:?}"),
            }
        }
    }

    fn line(arg: &str) -> String {
        let r = remote(arg);
        let mut s = format!("\"{}\"", r.name);
        for o in r.optargs() {
            s.push_str(&format!(" \"{o}\""));
        }
        s
    }

    /// Every URI of libguestfs's fish/test-add-uri.sh, and what its trace shows: the table
    /// the shell's test (tests/tests/shell_uri.rs) also reads.
    #[test]
    fn test_add_uri_sh_parts() {
        let table = test_add_uri_table();
        assert_eq!(table.len(), 15, "the table lost lines");
        for (uri, want) in table {
            assert_eq!(line(uri), want, "{uri}");
            assert_eq!(remote(uri).check(), Ok(()), "{uri}");
        }
    }

    fn test_add_uri_table() -> Vec<(&'static str, &'static str)> {
        include_str!("test-add-uri.txt")
            .lines()
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(|l| l.split_once('\t').expect("URI<TAB>trace"))
            .collect()
    }

    /// The library's reading: guestfish's, plus the NBD URI standard's schemes, which
    /// guestfish reads as file names.
    #[test]
    fn the_library_reads_nbd_schemes_guestfish_takes_for_files() {
        for arg in ["nbd+unix:///e?socket=/s", "nbd+tcp://h/e"] {
            assert_eq!(parse(arg), Ok(DriveUri::File(arg.into())), "{arg}");
            assert!(is_drive_uri(arg) && !is_uri(arg), "{arg}");
        }
        let DriveUri::Remote(r) = parse_drive("nbd+unix:///e?socket=/s").unwrap() else {
            panic!()
        };
        assert_eq!(r, parse_drive("nbd:///e?socket=/s").unwrap().remote_spec());
        assert_eq!(
            parse_drive("disk.img"),
            Ok(DriveUri::File("disk.img".into()))
        );
        // guestfish drops what it does not know; the library refuses it.
        assert!(parse("http://h/x?a=b#f").is_ok());
        assert!(parse_drive("http://h/x?a=b").is_err());
        assert!(parse_drive("http://h/x#f").is_err());
        for (uri, https) in [
            ("https://h/x?sslverify=false", false),
            ("https://h/x", true),
        ] {
            assert_eq!(parse_drive(uri).unwrap().remote_spec().sslverify, https);
        }
    }

    /// What real guestfish 1.48.6 printed for these (recorded by hand on this machine).
    #[test]
    fn edge_cases_as_guestfish() {
        assert_eq!(
            line("nbd:///a%22b%20c?socket=/s%20k"),
            r#""a"b c" "protocol:nbd" "server:unix:/s k""#
        );
        assert_eq!(line("nbd://h:0/x"), r#""x" "protocol:nbd" "server:tcp:h""#);
        assert_eq!(
            line("ssh://us%40er:p%3Aw@h/x%2Fy"),
            r#""/x/y" "protocol:ssh" "server:tcp:h" "username:us@er" "secret:p:w""#
        );
        assert_eq!(
            line("ssh://:pw@h/x"),
            r#""/x" "protocol:ssh" "server:tcp:h" "username:" "secret:pw""#
        );
        assert_eq!(
            line("ssh://user:@h/x"),
            r#""/x" "protocol:ssh" "server:tcp:h" "username:user""#
        );
        assert_eq!(
            line("nbd://[::1]:300/x"),
            r#""x" "protocol:nbd" "server:tcp:[::1]:300""#
        );
        assert_eq!(
            line("nbd://h/x#frag"),
            r#""x" "protocol:nbd" "server:tcp:h""#
        );
        assert_eq!(line("ssh://h//x"), r#""//x" "protocol:ssh" "server:tcp:h""#);
        assert_eq!(
            parse("file:///tmp/u.img"),
            Ok(DriveUri::File("/tmp/u.img".into()))
        );
        for file in [
            "NBD://h/x",
            "nbd+unix:///x?socket=/s",
            "abcdefghi://h/x",
            "nbd:",
        ] {
            assert_eq!(parse(file), Ok(DriveUri::File(file.into())), "{file}");
        }
        for bad in [
            "nbd://h:/x",
            "nbd://h/x%zz",
            "nbd://h h/x",
            "nbd://h/%",
            "nbd://h/x y",
        ] {
            assert_eq!(parse(bad), Err(UriError::Unparsable(bad.into())), "{bad}");
        }
        for both in ["nbd://h/x?socket=/s", "nbd://h/x?a=b&socket=/s"] {
            assert_eq!(parse(both), Err(UriError::ServerAndSocket(both.into())));
        }
        assert_eq!(
            UriError::Unparsable("x".into()).to_string(),
            "--add: could not parse URI \u{2018}x\u{2019}"
        );
    }

    #[test]
    fn add_drive_refuses_as_libguestfs() {
        for (uri, says) in [
            (
                "nbd://h:99999/x",
                "invalid port number \u{2018}99999\u{2019}",
            ),
            (
                "ssh://:pw@h/x",
                "ssh: username should not be an empty string",
            ),
            ("nbd:///?socket=", "missing Unix domain socket path"),
            ("gopher://h/x", "unknown protocol \u{2018}gopher\u{2019}"),
            ("http://h", "curl: pathname should not be an empty string"),
            (
                "iscsi://h/",
                "iscsi: target name should not be an empty string",
            ),
            ("rbd://h/x", "rbd: port number must be specified"),
            (
                "nbd://u@h/x",
                "nbd: you cannot specify a username with this protocol",
            ),
        ] {
            assert_eq!(remote(uri).check(), Err(SpecError(says.into())), "{uri}");
        }
        for ok in ["ftp://h/x", "tftp://h/x", "ftps://h/x", "nbd://?socket=rel"] {
            assert_eq!(remote(ok).check(), Ok(()), "{ok}");
        }
    }
}
