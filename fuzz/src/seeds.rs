//! Seeds made in code: well-formed frames and command lines for every operation in the table,
//! and devices no tool on the machine can make (an LVM2 label needs a block device). The disk
//! image seeds come from `make-corpus.sh`; `examples/write-seeds.rs` writes these next to them.

use guestwright_protocol::shell::ArgKind;
use guestwright_protocol::{
    codec, write_frame, Errno, FrameKind, Hello, RemoteError, Request, OPERATIONS,
};

/// A word of each kind an argument can take.
fn sample_word(kind: ArgKind) -> &'static str {
    // A kind added to the protocol later gets a plain word rather than breaking this crate,
    // which the main workspace does not build.
    #[allow(unreachable_patterns)]
    match kind {
        ArgKind::GuestPath => "/etc/hostname",
        ArgKind::Device => "/dev/sda1",
        ArgKind::Size => "64K",
        ArgKind::Mode => "0644",
        ArgKind::Data => "hello\n",
        ArgKind::Bool => "true",
        ArgKind::Int => "42",
        ArgKind::String => "noatime",
        ArgKind::StringList => "a b",
        ArgKind::FsType => "ext4",
        _ => "word",
    }
}

/// One command line per operation, all arguments given: the operation's index as the
/// selector byte, then the words, one per line (the `shell_words` input format).
pub fn shell_lines() -> Vec<Vec<u8>> {
    OPERATIONS
        .iter()
        .enumerate()
        .map(|(i, op)| {
            let words: Vec<String> = op
                .args
                .iter()
                .map(|a| {
                    if a.optional {
                        format!("{}:{}", a.name, sample_word(a.kind))
                    } else {
                        sample_word(a.kind).to_string()
                    }
                })
                .collect();
            let mut line = vec![u8::try_from(i * 2).unwrap_or(0)];
            line.extend_from_slice(words.join("\n").as_bytes());
            line
        })
        .collect()
}

/// Every operation as a request built from its sample command line.
pub fn requests() -> Vec<Request> {
    OPERATIONS
        .iter()
        .filter_map(|op| {
            let words: Vec<String> = op
                .args
                .iter()
                .filter(|a| !a.optional)
                .map(|a| sample_word(a.kind).to_string())
                .collect();
            Request::from_words(op.name, &words).ok()
        })
        .collect()
}

/// Channel streams: each request in a frame, a stream of all of them, and one frame of every
/// other kind.
pub fn frames() -> Vec<Vec<u8>> {
    let mut seeds = Vec::new();
    let mut all = Vec::new();
    for (id, request) in requests().iter().enumerate() {
        let mut one = Vec::new();
        let payload = codec::encode(request).expect("sample requests encode");
        write_frame(&mut one, FrameKind::Request, id as u32, &payload).expect("small frames");
        all.extend_from_slice(&one);
        seeds.push(one);
    }
    seeds.push(all);
    let hello = Hello {
        protocol_version: guestwright_protocol::PROTOCOL_VERSION,
        daemon_version: "0.1.0".into(),
        kernel_release: "6.1.0-cloud-amd64".into(),
        uptime_ms: 1250,
        drives: 2,
    };
    let error = RemoteError::new(Errno::ENOENT, "no such file");
    let others: [(FrameKind, Vec<u8>); 6] = [
        (FrameKind::Hello, codec::encode(&hello).expect("encodes")),
        (FrameKind::Error, codec::encode(&error).expect("encodes")),
        (FrameKind::Reply, codec::encode(&"1.2.3").expect("encodes")),
        (FrameKind::Chunk, b"file contents".to_vec()),
        (FrameKind::End, Vec::new()),
        (FrameKind::Cancel, Vec::new()),
    ];
    for (kind, payload) in others {
        let mut frame = Vec::new();
        write_frame(&mut frame, kind, 7, &payload).expect("small frames");
        seeds.push(frame);
    }
    seeds
}

/// LVM2's label checksum (lvm2 `calc_crc`): CRC-32's polynomial, seed 0xf597a6cf, no final
/// inversion.
fn lvm_crc(data: &[u8]) -> u32 {
    let mut crc = 0xf597_a6cf_u32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    crc
}

/// Devices for the `probe` target that the image tools cannot make here: an LVM2 physical
/// volume label as `pvcreate` writes it (sector 1), on a 64 KiB device.
pub fn devices() -> Vec<(&'static str, Vec<u8>)> {
    let mut pv = vec![0u8; 64 * 1024];
    let label = &mut pv[512..1024];
    let mut put = |at: usize, bytes: &[u8]| label[at..at + bytes.len()].copy_from_slice(bytes);
    put(0, b"LABELONE");
    put(8, &1u64.to_le_bytes());
    put(20, &32u32.to_le_bytes());
    put(24, b"LVM2 001");
    put(32, b"abcdefGHIJKLmnop0123qrstUVWX4567");
    put(64, &(64u64 * 1024).to_le_bytes());
    put(72, &(1u64 << 20).to_le_bytes());
    put(104, &4096u64.to_le_bytes());
    put(112, &((1u64 << 20) - 4096).to_le_bytes());
    put(136, &2u32.to_le_bytes());
    let crc = lvm_crc(&label[20..]);
    label[16..20].copy_from_slice(&crc.to_le_bytes());
    vec![("lvm2-pv", pv)]
}
