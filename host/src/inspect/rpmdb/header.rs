//! rpm header blobs as the rpm database stores them (every backend holds the same blob): a
//! count of index entries and a data length, both big-endian, then the entries (tag, type,
//! offset, count) and the data store. Only the tags inspection reports are decoded.
//!
//! The blob comes from the guest: every offset and count is checked against the blob before
//! it is used, and nothing is allocated from a count the blob gives.

use super::super::packages::Application;

/// rpm's own bounds on a header: at most 65535 index entries and 256 MiB of data.
const MAX_TAGS: u32 = 0xffff;
const MAX_DATA: u32 = 256 << 20;
/// The magic and reserved bytes a header carries in a package file, which a database blob
/// usually omits.
const HEADER_MAGIC: [u8; 4] = [0x8e, 0xad, 0xe8, 0x01];

const TAG_NAME: u32 = 1000;
const TAG_VERSION: u32 = 1001;
const TAG_RELEASE: u32 = 1002;
const TAG_EPOCH: u32 = 1003;
const TAG_SUMMARY: u32 = 1004;
const TAG_DESCRIPTION: u32 = 1005;
const TAG_URL: u32 = 1020;
const TAG_ARCH: u32 = 1022;

/// Entry types (rpm's `rpmTagType`).
const TYPE_CHAR: u32 = 1;
const TYPE_INT8: u32 = 2;
const TYPE_INT16: u32 = 3;
const TYPE_INT32: u32 = 4;
const TYPE_INT64: u32 = 5;
const TYPE_STRING: u32 = 6;
const TYPE_BIN: u32 = 7;
const TYPE_STRING_ARRAY: u32 = 8;
const TYPE_I18NSTRING: u32 = 9;

/// What librpm's `headerFormat` prints for a tag the header lacks; virt-inspector reports it.
pub const NONE: &str = "(none)";

/// Why a header blob cannot be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HeaderError {
    /// The blob ends before its own index or data store does.
    #[error("the header is {len} bytes, shorter than the {need} bytes its index and data need")]
    Truncated {
        /// The length of the blob in bytes.
        len: usize,
        /// The length its index count and data size declare.
        need: u64,
    },
    /// More index entries than rpm allows.
    #[error("the header declares {0} index entries (rpm allows at most 65535)")]
    TooManyTags(u32),
    /// A larger data store than rpm allows.
    #[error("the header declares {0} bytes of data (rpm allows at most 256 MiB)")]
    TooMuchData(u32),
    /// An entry whose value does not lie in the data store.
    #[error("tag {tag}: its value at offset {offset} (type {ty}, count {count}) lies outside the {data}-byte data store")]
    BadOffset {
        /// The rpm tag of the entry (1000 is the name, 1001 the version, ...).
        tag: u32,
        /// The entry's value type (6 a string, 4 a 32-bit integer, ...).
        ty: u32,
        /// Where its value starts in the data store, in bytes.
        offset: u32,
        /// How many values of its type it declares.
        count: u32,
        /// The size of the data store in bytes.
        data: u32,
    },
    /// The database's own frame around the header is damaged (NDB's blob head, trailer
    /// or checksum), so the header is not read at all.
    #[error("its frame in the database is damaged: {0}")]
    Frame(String),
}

/// One index entry.
#[derive(Debug, Clone, Copy)]
struct Entry {
    tag: u32,
    ty: u32,
    offset: u32,
    count: u32,
}

/// A decoded header: the index and the data store, borrowed from the blob.
#[derive(Debug)]
pub struct Header<'a> {
    entries: Vec<Entry>,
    data: &'a [u8],
}

fn be32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

impl<'a> Header<'a> {
    /// Checks the blob's counts and every entry's place in the data store.
    pub fn parse(blob: &'a [u8]) -> Result<Self, HeaderError> {
        // A blob's entry count is below 65536, so it never starts with the magic.
        let blob = match blob.strip_prefix(&HEADER_MAGIC[..]) {
            Some(rest) if rest.len() >= 4 => &rest[4..],
            _ => blob,
        };
        if blob.len() < 8 {
            return Err(HeaderError::Truncated {
                len: blob.len(),
                need: 8,
            });
        }
        let (il, dl) = (be32(blob, 0), be32(blob, 4));
        if il > MAX_TAGS {
            return Err(HeaderError::TooManyTags(il));
        }
        if dl > MAX_DATA {
            return Err(HeaderError::TooMuchData(dl));
        }
        let index_end = 8 + 16 * il as usize;
        let need = index_end as u64 + u64::from(dl);
        if (blob.len() as u64) < need {
            return Err(HeaderError::Truncated {
                len: blob.len(),
                need,
            });
        }
        let data = &blob[index_end..index_end + dl as usize];
        let entries: Vec<Entry> = blob[8..index_end]
            .chunks_exact(16)
            .map(|e| Entry {
                tag: be32(e, 0),
                ty: be32(e, 4),
                offset: be32(e, 8),
                count: be32(e, 12),
            })
            .collect();
        let header = Header { entries, data };
        for e in &header.entries {
            if matches!(e.tag, TAG_NAME..=TAG_DESCRIPTION | TAG_URL | TAG_ARCH) {
                header.check(e)?;
            }
        }
        Ok(header)
    }

    /// The entry's value must fit: fixed-size values whole, strings with their NUL.
    fn check(&self, e: &Entry) -> Result<(), HeaderError> {
        let bad = || HeaderError::BadOffset {
            tag: e.tag,
            ty: e.ty,
            offset: e.offset,
            count: e.count,
            data: self.data.len() as u32,
        };
        let start = e.offset as usize;
        if start > self.data.len() || e.count == 0 {
            return Err(bad());
        }
        let rest = &self.data[start..];
        let size = match e.ty {
            TYPE_CHAR | TYPE_INT8 | TYPE_BIN => Some(1u64),
            TYPE_INT16 => Some(2),
            TYPE_INT32 => Some(4),
            TYPE_INT64 => Some(8),
            _ => None,
        };
        match size {
            Some(size) if u64::from(e.count) * size > rest.len() as u64 => Err(bad()),
            Some(_) => Ok(()),
            // Strings: the first must end inside the store (only the first is read).
            None if rest.contains(&0) => Ok(()),
            None => Err(bad()),
        }
    }

    fn entry(&self, tag: u32) -> Option<&Entry> {
        self.entries.iter().find(|e| e.tag == tag)
    }

    /// The tag's value as `headerFormat("%{TAG}")` prints it in the C locale: a string (the
    /// first of an array or of the translations), a number in decimal, binary data in hex;
    /// `(none)` when the header lacks the tag or its type is unknown.
    pub fn format(&self, tag: u32) -> String {
        let Some(e) = self.entry(tag).filter(|e| self.check(e).is_ok()) else {
            return NONE.to_string();
        };
        let rest = &self.data[e.offset as usize..];
        match e.ty {
            TYPE_STRING | TYPE_STRING_ARRAY | TYPE_I18NSTRING => {
                let end = rest.iter().position(|&b| b == 0).unwrap_or(rest.len());
                String::from_utf8_lossy(&rest[..end]).into_owned()
            }
            TYPE_CHAR | TYPE_INT8 | TYPE_INT16 | TYPE_INT32 | TYPE_INT64 => self
                .number(e)
                .map_or_else(|| NONE.to_string(), |n| n.to_string()),
            TYPE_BIN => rest[..e.count as usize]
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect(),
            _ => NONE.to_string(),
        }
    }

    fn number(&self, e: &Entry) -> Option<u64> {
        let b = self.data.get(e.offset as usize..)?;
        Some(match e.ty {
            TYPE_CHAR | TYPE_INT8 => u64::from(*b.first()?),
            TYPE_INT16 => u64::from(u16::from_be_bytes(b.get(..2)?.try_into().ok()?)),
            TYPE_INT32 => u64::from(be32(b.get(..4)?, 0)),
            TYPE_INT64 => u64::from_be_bytes(b.get(..8)?.try_into().ok()?),
            _ => return None,
        })
    }

    /// The tag's first value as a number, 0 when absent or not a number
    /// (librpm's `headerGetNumber`).
    pub fn get_number(&self, tag: u32) -> u64 {
        self.entry(tag)
            .filter(|e| self.check(e).is_ok())
            .and_then(|e| self.number(e))
            .unwrap_or(0)
    }

    /// The package as virt-inspector 1.48 reports it (librpm's `headerFormat` of each tag;
    /// the epoch as a 32-bit number, 0 when absent).
    pub fn application(&self) -> Application {
        Application {
            name: self.format(TAG_NAME),
            epoch: self.get_number(TAG_EPOCH) as u32,
            version: self.format(TAG_VERSION),
            release: self.format(TAG_RELEASE),
            arch: self.format(TAG_ARCH),
            url: self.format(TAG_URL),
            summary: self.format(TAG_SUMMARY),
            description: self.format(TAG_DESCRIPTION),
            ..Application::default()
        }
    }
}

/// Decodes one database blob into the package it describes.
pub fn application(blob: &[u8]) -> Result<Application, HeaderError> {
    Header::parse(blob).map(|h| h.application())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Builds a header blob from (tag, type, count, bytes) entries, in order.
    pub(crate) fn blob(entries: &[(u32, u32, u32, &[u8])]) -> Vec<u8> {
        let mut index = Vec::new();
        let mut data: Vec<u8> = Vec::new();
        for (tag, ty, count, bytes) in entries {
            let align = match *ty {
                TYPE_INT16 => 2,
                TYPE_INT32 => 4,
                TYPE_INT64 => 8,
                _ => 1,
            };
            while !data.len().is_multiple_of(align) {
                data.push(0);
            }
            for v in [*tag, *ty, data.len() as u32, *count] {
                index.extend_from_slice(&v.to_be_bytes());
            }
            data.extend_from_slice(bytes);
        }
        let mut out = Vec::new();
        out.extend_from_slice(&(entries.len() as u32).to_be_bytes());
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        out.extend_from_slice(&index);
        out.extend_from_slice(&data);
        out
    }

    #[test]
    fn decodes_the_fields_virt_inspector_reports() {
        let b = blob(&[
            (TAG_NAME, TYPE_STRING, 1, b"bash\0"),
            (TAG_VERSION, TYPE_STRING, 1, b"5.1.8\0"),
            (TAG_RELEASE, TYPE_STRING, 1, b"6.el9\0"),
            (TAG_EPOCH, TYPE_INT32, 1, &2u32.to_be_bytes()),
            (TAG_SUMMARY, TYPE_I18NSTRING, 2, b"The shell\0Die Shell\0"),
            (
                TAG_DESCRIPTION,
                TYPE_I18NSTRING,
                1,
                b"Line one.\nLine two.\0",
            ),
            (TAG_ARCH, TYPE_STRING, 1, b"x86_64\0"),
        ]);
        let app = application(&b).unwrap();
        assert_eq!(
            app,
            Application {
                name: "bash".into(),
                epoch: 2,
                version: "5.1.8".into(),
                release: "6.el9".into(),
                arch: "x86_64".into(),
                url: NONE.into(),
                summary: "The shell".into(),
                description: "Line one.\nLine two.".into(),
                ..Application::default()
            }
        );
        // The same blob after the package-file magic.
        let mut magic = vec![0x8e, 0xad, 0xe8, 0x01, 0, 0, 0, 0];
        magic.extend_from_slice(&b);
        assert_eq!(application(&magic).unwrap(), app);
    }

    #[test]
    fn hostile_blobs_are_errors() {
        assert!(matches!(
            application(&[0, 0, 0]),
            Err(HeaderError::Truncated { .. })
        ));
        let mut huge = vec![0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0];
        assert_eq!(application(&huge), Err(HeaderError::TooManyTags(u32::MAX)));
        huge[..8].copy_from_slice(&[0, 0, 0, 1, 0x7f, 0xff, 0xff, 0xff]);
        assert_eq!(
            application(&huge),
            Err(HeaderError::TooMuchData(0x7fff_ffff))
        );
        huge[..8].copy_from_slice(&[0, 0, 0, 100, 0, 0, 0, 10]);
        assert_eq!(
            application(&huge),
            Err(HeaderError::Truncated {
                len: 8,
                need: 8 + 1600 + 10
            })
        );
        // A string without its NUL, an offset past the store, a count past it.
        let mut b = blob(&[(TAG_NAME, TYPE_STRING, 1, b"bash")]);
        assert!(matches!(
            application(&b),
            Err(HeaderError::BadOffset { tag: 1000, .. })
        ));
        b = blob(&[(TAG_NAME, TYPE_STRING, 1, b"bash\0")]);
        b[16..20].copy_from_slice(&0xffff_fff0u32.to_be_bytes());
        assert!(application(&b).is_err());
        b = blob(&[(TAG_EPOCH, TYPE_INT32, 0x4000_0000, &[0, 0, 0, 1])]);
        assert!(application(&b).is_err());
        // Tags inspection does not read are not checked.
        b = blob(&[(5000, TYPE_STRING, 1, b"x")]);
        assert_eq!(application(&b).unwrap().name, NONE);
    }
}
