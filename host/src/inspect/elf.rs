//! The architecture of a guest, from the ELF header of one of its binaries.

/// The architecture name (libguestfs's spelling) of an ELF header, if it is one.
pub fn arch(header: &[u8]) -> Option<&'static str> {
    if header.len() < 20 || &header[0..4] != b"\x7fELF" {
        return None;
    }
    let class = header[4];
    let little = header[5] == 1;
    let machine = if little {
        u16::from_le_bytes([header[18], header[19]])
    } else {
        u16::from_be_bytes([header[18], header[19]])
    };
    Some(match (machine, class) {
        (0x3e, _) => "x86_64",
        (0x03, _) => "i386",
        (0xb7, _) => "aarch64",
        (0x28, _) => "arm",
        (0xf3, 2) => "riscv64",
        (0xf3, _) => "riscv32",
        (0x15, _) if little => "ppc64le",
        (0x15, _) => "ppc64",
        (0x14, _) => "ppc",
        (0x16, _) => "s390x",
        (0x08, 2) => "mips64",
        (0x08, _) => "mips",
        (0x102, _) => "loongarch64",
        (0x2b, _) => "sparc64",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_host_shell_is_recognised() {
        let sh = std::fs::read("/bin/sh").unwrap();
        assert_eq!(super::arch(&sh[..64]), Some(std::env::consts::ARCH));
        assert_eq!(super::arch(b"#!/bin/sh\n"), None);
        assert_eq!(super::arch(b"\x7fELF"), None);
        let mut aarch64 = vec![0u8; 64];
        aarch64[..4].copy_from_slice(b"\x7fELF");
        aarch64[4] = 2;
        aarch64[5] = 1;
        aarch64[18] = 0xb7;
        assert_eq!(super::arch(&aarch64), Some("aarch64"));
    }
}
