//! The bodies of guestwright's fuzz targets, one plain function each, so that libFuzzer
//! (`fuzz_targets/*.rs`, under cargo-fuzz on nightly) and the stable harness (`cargo test`
//! in this folder) run exactly the same code.
//!
//! Each body feeds arbitrary bytes to a decoder of untrusted input and checks what must hold
//! whatever the bytes: no panic, no error where none is possible, and what decodes round-trips.
//! A panic is the finding.

use guestwright_daemon::probe::{self, Probe};
use guestwright_protocol::{
    codec, read_frame, Hello, OpInfo, RemoteError, Reply, Request, MAX_PAYLOAD, OPERATIONS,
};
use std::io::Cursor;

pub mod guest;
pub mod input;
pub mod seeds;

#[cfg(test)]
mod harness;

/// The body of the target called `name`, for replaying inputs (`examples/replay.rs`).
pub fn body(name: &str) -> Option<fn(&[u8])> {
    let b: fn(&[u8]) = match name {
        "probe" => probe,
        "luks_header" => luks_header,
        "frame_decode" => frame_decode,
        "shell_words" => shell_words,
        "fstab" => guest::fstab,
        "os_release" => guest::os_release,
        "dpkg_status" => guest::dpkg_status,
        "rpm_header" => guest::rpm_header,
        "rpm_bdb" => guest::rpm_bdb,
        "rpm_ndb" => guest::rpm_ndb,
        "rpm_sqlite" => guest::rpm_sqlite,
        "apk_installed" => guest::apk_installed,
        "passwd" => guest::passwd,
        "shadow" => guest::shadow,
        "sysconfig" => guest::sysconfig,
        "hosts" => guest::hosts,
        "udev_rules" => guest::udev_rules,
        "authorized_keys" => guest::authorized_keys,
        "netplan" => guest::netplan,
        "ifcfg" => guest::ifcfg,
        "interfaces" => guest::interfaces,
        "nm_keyfile" => guest::nm_keyfile,
        "networkd" => guest::networkd,
        "hive" => guest::hive,
        _ => return None,
    };
    Some(b)
}

/// `probe`: the bytes are a whole device. The probe reads an in-memory device, so it can never
/// fail; whatever it recognises must be well-formed. The same bytes are probed again behind a
/// size that lies (the device claims to be as large as possible).
pub fn probe(data: &[u8]) {
    let len = data.len() as u64;
    let honest = probe::probe(&mut Cursor::new(data), len).expect("probing memory cannot fail");
    if let Some(found) = honest {
        well_formed(&found);
    }
    let lied_to =
        probe::probe(&mut Cursor::new(data), u64::MAX).expect("probing memory cannot fail");
    if let Some(found) = lied_to {
        well_formed(&found);
    }
}

fn well_formed(p: &Probe) {
    assert_eq!(p.fstype, p.kind.fstype(), "{p:?}");
    for text in [&p.label, &p.uuid, &p.version].into_iter().flatten() {
        assert!(!text.is_empty(), "empty string reported: {p:?}");
        assert!(!text.contains('\0'), "string with a NUL reported: {p:?}");
    }
    if let Some(label) = &p.label {
        assert!(
            !label.ends_with([' ', '\t', '\n', '\r', '\x0b', '\x0c']),
            "label not trimmed: {p:?}"
        );
    }
    assert_ne!(p.block_size, Some(0), "{p:?}");
}

/// `luks_header`: the bytes are the start of a device whose LUKS header the appliance reads
/// for the host's fast unlock (issue 12). Read with the true size and with a size that lies
/// (reads past the bytes fail, as a short device does). Never a panic, never a read of more
/// than 4 MiB; what it calls supported is within the bounds the host relies on.
pub fn luks_header(data: &[u8]) {
    use guestwright_daemon::block::luksmeta;
    use guestwright_protocol::{LuksUnlockInfo, LUKS_MAX_AREA_BYTES};
    for size in [data.len() as u64, u64::MAX / 2] {
        let mut read = |offset: u64, len: usize| -> std::io::Result<Vec<u8>> {
            assert!(len <= 4 << 20, "read of {len} bytes");
            let start = usize::try_from(offset).ok();
            start
                .and_then(|s| data.get(s..s.checked_add(len)?))
                .map(<[u8]>::to_vec)
                .ok_or_else(|| std::io::ErrorKind::UnexpectedEof.into())
        };
        if let Ok(LuksUnlockInfo::Supported(v)) = luksmeta::unlock_info(size, &mut read) {
            let area: usize = v.keyslots.iter().map(|k| k.area.0.len()).sum();
            assert!(area <= LUKS_MAX_AREA_BYTES, "{area} bytes of areas");
            assert!(!v.keyslots.is_empty() && !v.digests.is_empty());
            assert!(v.segment.offset < size, "{:?}", v.segment);
            assert!(v
                .segment
                .cipher
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-:".contains(&b)));
            for k in &v.keyslots {
                assert_eq!(
                    k.area.0.len() as u64,
                    (u64::from(k.key_size) * u64::from(k.af_stripes)).div_ceil(512) * 512
                );
            }
        }
    }
}

/// `frame_decode`: the bytes are what arrives on the channel. Frames are read until the first
/// error; every payload, and the whole input, is then decoded as the messages the two sides
/// exchange. A request that decodes must encode again and decode to the same request.
pub fn frame_decode(data: &[u8]) {
    let mut rest = data;
    loop {
        let before = rest.len();
        let Ok(frame) = read_frame(&mut rest) else {
            break;
        };
        assert!(frame.payload.len() <= MAX_PAYLOAD as usize);
        assert!(
            rest.len() < before,
            "a frame was read without consuming input"
        );
        payload(&frame.payload);
    }
    payload(data);
}

fn payload(bytes: &[u8]) {
    if let Ok(request) = codec::decode::<Request>(bytes) {
        let again = codec::encode(&request).expect("a decoded request encodes");
        let back: Request = codec::decode(&again).expect("a re-encoded request decodes");
        assert_eq!(format!("{back:?}"), format!("{request:?}"));
        assert!(OpInfo::find(request.name()).is_some());
        // The host decodes what the daemon answers to this request.
        let _ = Reply::decode(&request, bytes);
    }
    let _ = codec::decode::<Hello>(bytes);
    let _ = codec::decode::<RemoteError>(bytes);
}

/// `shell_words`: the bytes are a shell command line. The first byte picks one of the real
/// operations (so most inputs reach an argument parser) unless it is 0xFF, in which case the
/// first line is the operation name; the remaining lines are the words. What parses must
/// name the operation asked for and survive the wire.
pub fn shell_words(data: &[u8]) {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let text = String::from_utf8_lossy(rest);
    let mut lines = text.split('\n');
    let name = match OPERATIONS.get(usize::from(selector) % OPERATIONS.len().max(1)) {
        Some(op) if selector != 0xFF => {
            if selector & 1 == 0 {
                op.shell_name()
            } else {
                op.name.to_string()
            }
        }
        _ => lines.next().unwrap_or_default().to_string(),
    };
    let words: Vec<String> = lines.map(str::to_string).collect();
    if let Ok(request) = Request::from_words(&name, &words) {
        assert_eq!(
            request.name(),
            name.replace('-', "_"),
            "{name:?} built {request:?}"
        );
        let wire = codec::encode(&request).expect("a parsed request encodes");
        let back: Request = codec::decode(&wire).expect("a parsed request decodes");
        assert_eq!(format!("{back:?}"), format!("{request:?}"));
    }
}
