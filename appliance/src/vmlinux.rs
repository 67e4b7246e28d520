//! Reads the x86 bzImage setup header and extracts the uncompressed `vmlinux` for PVH boot.
//!
//! QEMU boots an ELF `vmlinux` directly through its PVH entry point (the Xen ELF note
//! `XEN_ELFNOTE_PHYS32_ENTRY`), which skips the real-mode setup and the in-guest
//! decompression: under TCG that is most of the kernel's boot time. Anything unexpected here
//! is an error the caller answers by booting the bzImage as it is; nothing here panics on a
//! malformed file.

use object::elf;
use object::read::elf::{FileHeader, ProgramHeader};

use crate::decompress::{self, DecompressError, Format};

/// Offsets in the setup header (Documentation/arch/x86/boot.rst).
const SETUP_SECTS: usize = 0x1f1;
const HEADER_MAGIC: usize = 0x202;
const PROTOCOL_VERSION: usize = 0x206;
const KERNEL_VERSION: usize = 0x20e;
const PAYLOAD_OFFSET: usize = 0x248;
const PAYLOAD_LENGTH: usize = 0x24c;
/// `payload_offset` appeared in boot protocol 2.08.
const MIN_PROTOCOL: u16 = 0x0208;
/// `XEN_ELFNOTE_PHYS32_ENTRY`: the PVH entry point.
const XEN_ELFNOTE_PHYS32_ENTRY: u32 = 18;
/// No real vmlinux is near this; a payload claiming more is corrupt.
const MAX_VMLINUX: usize = 1 << 30;

/// Why no PVH-bootable vmlinux came out of a kernel image.
#[derive(Debug, thiserror::Error)]
pub(crate) enum VmlinuxError {
    #[error("not an x86 bzImage (no HdrS setup header)")]
    NotBzImage,
    #[error("boot protocol {0:#06x} is older than 2.08 and has no payload fields")]
    OldProtocol(u16),
    #[error("the payload ({offset:#x}+{length:#x}) lies outside the {size}-byte file")]
    PayloadOutOfBounds {
        offset: usize,
        length: usize,
        size: usize,
    },
    #[error("cannot decompress the payload")]
    Decompress(#[from] DecompressError),
    #[error("the payload is not an x86-64 ELF file")]
    NotElf,
    #[error("the vmlinux has no PVH entry note (kernel built without CONFIG_PVH)")]
    NoPvhNote,
}

/// The fields of the setup header this crate uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SetupHeader {
    pub(crate) protocol: u16,
    /// Where the protected-mode kernel starts in the file.
    pub(crate) pm_start: usize,
    pub(crate) payload_offset: usize,
    pub(crate) payload_length: usize,
    /// The `kernel_version` string, e.g. "6.1.0-56-cloud-amd64 (debian-kernel@...) #1 SMP ...".
    pub(crate) version: Option<String>,
}

fn le16(data: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(data.get(at..at + 2)?.try_into().ok()?))
}

fn le32(data: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(data.get(at..at + 4)?.try_into().ok()?))
}

/// Parses the setup header of a bzImage.
pub(crate) fn parse_header(data: &[u8]) -> Result<SetupHeader, VmlinuxError> {
    if data.get(HEADER_MAGIC..HEADER_MAGIC + 4) != Some(b"HdrS") {
        return Err(VmlinuxError::NotBzImage);
    }
    let protocol = le16(data, PROTOCOL_VERSION).ok_or(VmlinuxError::NotBzImage)?;
    let setup_sects = match data[SETUP_SECTS] {
        0 => 4,
        n => usize::from(n),
    };
    let version = le16(data, KERNEL_VERSION)
        .filter(|&off| off != 0)
        .and_then(|off| {
            let start = usize::from(off) + 0x200;
            let bytes = data.get(start..(start + 256).min(data.len()))?;
            let end = bytes.iter().position(|&b| b == 0)?;
            Some(String::from_utf8_lossy(&bytes[..end]).into_owned())
        });
    let (payload_offset, payload_length) = if protocol >= MIN_PROTOCOL {
        (
            le32(data, PAYLOAD_OFFSET).ok_or(VmlinuxError::NotBzImage)? as usize,
            le32(data, PAYLOAD_LENGTH).ok_or(VmlinuxError::NotBzImage)? as usize,
        )
    } else {
        (0, 0)
    };
    Ok(SetupHeader {
        protocol,
        pm_start: (setup_sects + 1) * 512,
        payload_offset,
        payload_length,
        version,
    })
}

/// The release a bzImage says it is: the first word of its `kernel_version` string.
pub(crate) fn release_from_header(data: &[u8]) -> Option<String> {
    let version = parse_header(data).ok()?.version?;
    let release = version.split_whitespace().next()?;
    (!release.is_empty()).then(|| release.to_string())
}

/// The compressed payload of a bzImage.
pub(crate) fn payload(data: &[u8]) -> Result<&[u8], VmlinuxError> {
    let header = parse_header(data)?;
    if header.protocol < MIN_PROTOCOL {
        return Err(VmlinuxError::OldProtocol(header.protocol));
    }
    let start = header.pm_start.checked_add(header.payload_offset);
    let end = start.and_then(|s| s.checked_add(header.payload_length));
    match (start, end) {
        (Some(start), Some(end)) if end <= data.len() && header.payload_length > 0 => {
            Ok(&data[start..end])
        }
        _ => Err(VmlinuxError::PayloadOutOfBounds {
            offset: header.payload_offset,
            length: header.payload_length,
            size: data.len(),
        }),
    }
}

/// Extracts the vmlinux from a bzImage and checks that QEMU can boot it with PVH.
/// Returns the compression the kernel used and the ELF file.
pub(crate) fn extract(bzimage: &[u8]) -> Result<(Format, Vec<u8>), VmlinuxError> {
    let payload = payload(bzimage)?;
    let (format, vmlinux) = decompress::decompress(payload, MAX_VMLINUX)?;
    check_pvh(&vmlinux)?;
    Ok((format, vmlinux))
}

/// Succeeds when `elf` is a 64-bit x86 ELF file with a `XEN_ELFNOTE_PHYS32_ENTRY` note.
pub(crate) fn check_pvh(data: &[u8]) -> Result<(), VmlinuxError> {
    let header =
        elf::FileHeader64::<object::LittleEndian>::parse(data).map_err(|_| VmlinuxError::NotElf)?;
    let endian = header.endian().map_err(|_| VmlinuxError::NotElf)?;
    if header.e_machine(endian) != elf::EM_X86_64 {
        return Err(VmlinuxError::NotElf);
    }
    let segments = header
        .program_headers(endian, data)
        .map_err(|_| VmlinuxError::NotElf)?;
    for segment in segments {
        let Ok(Some(mut notes)) = segment.notes(endian, data) else {
            continue;
        };
        while let Ok(Some(note)) = notes.next() {
            if note.name() == b"Xen"
                && note.n_type(endian) == elf::NoteType(XEN_ELFNOTE_PHYS32_ENTRY)
            {
                return Ok(());
            }
        }
    }
    Err(VmlinuxError::NoPvhNote)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::decompress::tests::{compress_with, sample_data};

    /// A minimal x86-64 ELF file: one PT_NOTE segment (with the PVH note when `pvh`), then
    /// `filler` bytes standing in for the kernel's text.
    pub(crate) fn fake_vmlinux(pvh: bool, filler: usize) -> Vec<u8> {
        let mut note = Vec::new();
        let (name, n_type) = if pvh {
            (&b"Xen\0"[..], 18u32)
        } else {
            (&b"GNU\0"[..], 3u32)
        };
        note.extend_from_slice(&4u32.to_le_bytes()); // namesz
        note.extend_from_slice(&4u32.to_le_bytes()); // descsz
        note.extend_from_slice(&n_type.to_le_bytes());
        note.extend_from_slice(name);
        note.extend_from_slice(&0x0100_0000u32.to_le_bytes()); // entry address
        let note_off = 64 + 56;
        let mut elf = vec![0u8; note_off];
        elf[..4].copy_from_slice(b"\x7fELF");
        elf[4] = 2; // 64-bit
        elf[5] = 1; // little-endian
        elf[6] = 1; // version
        elf[16..18].copy_from_slice(&2u16.to_le_bytes()); // ET_EXEC
        elf[18..20].copy_from_slice(&62u16.to_le_bytes()); // EM_X86_64
        elf[20..24].copy_from_slice(&1u32.to_le_bytes());
        elf[32..40].copy_from_slice(&64u64.to_le_bytes()); // e_phoff
        elf[52..54].copy_from_slice(&64u16.to_le_bytes()); // e_ehsize
        elf[54..56].copy_from_slice(&56u16.to_le_bytes()); // e_phentsize
        elf[56..58].copy_from_slice(&1u16.to_le_bytes()); // e_phnum
        let ph = &mut elf[64..120];
        ph[0..4].copy_from_slice(&4u32.to_le_bytes()); // PT_NOTE
        ph[8..16].copy_from_slice(&(note_off as u64).to_le_bytes()); // p_offset
        ph[32..40].copy_from_slice(&(note.len() as u64).to_le_bytes()); // p_filesz
        ph[40..48].copy_from_slice(&(note.len() as u64).to_le_bytes()); // p_memsz
        ph[48..56].copy_from_slice(&4u64.to_le_bytes()); // p_align
        elf.extend_from_slice(&note);
        elf.extend_from_slice(&sample_data(filler));
        elf
    }

    /// A bzImage-shaped file around `payload`: one setup sector, a version string, and a
    /// stand-in for the decompressor before the payload, as `arch/x86/boot/compressed` lays
    /// it out.
    pub(crate) fn fake_bzimage(payload: &[u8], release: &str) -> Vec<u8> {
        let setup_sects = 1u8;
        let pm_start = (usize::from(setup_sects) + 1) * 512;
        let mut image = vec![0u8; pm_start];
        image[SETUP_SECTS] = setup_sects;
        image[0x1fe..0x200].copy_from_slice(&[0x55, 0xaa]);
        image[HEADER_MAGIC..HEADER_MAGIC + 4].copy_from_slice(b"HdrS");
        image[PROTOCOL_VERSION..PROTOCOL_VERSION + 2].copy_from_slice(&0x020fu16.to_le_bytes());
        let version = format!("{release} (builder@example) #1 SMP PREEMPT_DYNAMIC\0");
        let version_at = 0x300;
        image[version_at..version_at + version.len()].copy_from_slice(version.as_bytes());
        image[KERNEL_VERSION..KERNEL_VERSION + 2]
            .copy_from_slice(&((version_at - 0x200) as u16).to_le_bytes());
        let decompressor = 0x400;
        image[PAYLOAD_OFFSET..PAYLOAD_OFFSET + 4]
            .copy_from_slice(&(decompressor as u32).to_le_bytes());
        image[PAYLOAD_LENGTH..PAYLOAD_LENGTH + 4]
            .copy_from_slice(&(payload.len() as u32).to_le_bytes());
        image.extend(std::iter::repeat_n(0x90u8, decompressor));
        image.extend_from_slice(payload);
        image.extend_from_slice(&[0u8; 64]);
        image
    }

    /// Compresses a fake vmlinux with a real tool, appends the size as the kernel build does,
    /// wraps it in a bzImage, and checks that extraction gives back the same bytes.
    fn extracts(tool: &str, args: &[&str], expected: Format) {
        let vmlinux = fake_vmlinux(true, 400_000);
        let mut payload = compress_with(tool, args, &vmlinux);
        payload.extend_from_slice(&(vmlinux.len() as u32).to_le_bytes());
        let image = fake_bzimage(&payload, "6.9.0-test");
        let (format, out) = extract(&image).unwrap_or_else(|e| panic!("{tool}: {e}"));
        assert_eq!(format, expected);
        assert!(out == vmlinux, "{tool}: extracted vmlinux differs");
    }

    #[test]
    fn extracts_gzip_payload() {
        extracts("gzip", &["-n", "-9", "-c"], Format::Gzip);
    }

    #[test]
    fn extracts_xz_payload_with_x86_bcj() {
        extracts(
            "xz",
            &["--x86", "--lzma2=dict=32MiB", "--check=crc32", "-c"],
            Format::Xz,
        );
    }

    #[test]
    fn extracts_zstd_payload() {
        extracts("zstd", &["-22", "--ultra", "-q", "-c"], Format::Zstd);
    }

    #[test]
    fn extracts_lz4_legacy_payload() {
        extracts("lz4", &["-l", "-9", "-q", "-c"], Format::Lz4Legacy);
    }

    #[test]
    fn extracts_bzip2_payload() {
        extracts("bzip2", &["-9", "-c"], Format::Bzip2);
    }

    #[test]
    fn extracts_lzma_payload() {
        extracts("lzma", &["-9", "-c"], Format::Lzma);
    }

    #[test]
    fn extracts_lzo_payload() {
        extracts("lzop", &["-9", "-c"], Format::Lzo);
    }

    #[test]
    fn header_gives_the_release() {
        let image = fake_bzimage(b"\x1f\x8bjunk", "6.1.0-56-cloud-amd64");
        assert_eq!(
            release_from_header(&image).as_deref(),
            Some("6.1.0-56-cloud-amd64")
        );
        let header = parse_header(&image).expect("header");
        assert_eq!(header.pm_start, 1024);
        assert_eq!(header.protocol, 0x020f);
    }

    #[test]
    fn kernel_without_pvh_note_is_refused() {
        let vmlinux = fake_vmlinux(false, 10_000);
        let image = fake_bzimage(&compress_with("gzip", &["-c"], &vmlinux), "6.9.0-test");
        assert!(matches!(extract(&image), Err(VmlinuxError::NoPvhNote)));
    }

    #[test]
    fn malformed_images_are_errors() {
        assert!(matches!(
            extract(b"MZ not a kernel"),
            Err(VmlinuxError::NotBzImage)
        ));
        let mut image = fake_bzimage(&compress_with("gzip", &["-c"], b"not an elf"), "6.9.0");
        assert!(matches!(extract(&image), Err(VmlinuxError::NotElf)));
        image[PAYLOAD_LENGTH..PAYLOAD_LENGTH + 4].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(matches!(
            extract(&image),
            Err(VmlinuxError::PayloadOutOfBounds { .. })
        ));
        let mut old = fake_bzimage(b"x", "2.6.0");
        old[PROTOCOL_VERSION..PROTOCOL_VERSION + 2].copy_from_slice(&0x0207u16.to_le_bytes());
        assert!(matches!(
            extract(&old),
            Err(VmlinuxError::OldProtocol(0x0207))
        ));
        let garbage = fake_bzimage(&[0xAB; 100], "6.9.0");
        assert!(matches!(
            extract(&garbage),
            Err(VmlinuxError::Decompress(_))
        ));
    }

    /// The kernel this machine boots the appliance with: whatever it is compressed with,
    /// extraction must give a PVH-capable vmlinux (Debian's kernels have CONFIG_PVH=y).
    #[test]
    fn extracts_the_host_kernel() {
        let Some(kernel) = crate::kernel::tests::host_kernel() else {
            panic!("no readable /boot/vmlinuz-*: install linux-image-cloud-amd64");
        };
        let image = std::fs::read(&kernel).expect("read the host kernel");
        let (format, vmlinux) = extract(&image).unwrap_or_else(|e| {
            panic!(
                "{}: {e} ({:?})",
                kernel.display(),
                std::error::Error::source(&e)
            )
        });
        assert!(
            vmlinux.len() > image.len(),
            "vmlinux should be larger than the bzImage"
        );
        log::info!(
            "{}: {} payload, vmlinux {} bytes",
            kernel.display(),
            format.name(),
            vmlinux.len()
        );
    }
}
