//! Berkeley DB hash databases, read-only: enough of the format to list the key/data pairs
//! of rpm's `Packages` file (older Fedora, RHEL and CentOS up to 8). No maintained,
//! permissively licensed crate reads this format, and it is small: a meta page that says
//! where each bucket's first page is, chains of hash pages holding (key, data) items, and
//! chains of overflow pages for items too big for a page.
//!
//! The file comes from the guest: every page number, offset and length is checked before
//! use, every page is visited at most once (a loop in the chains is an error, not a hang),
//! and no allocation is larger than the file.

use std::io;

/// Where the pages come from: the guest's file copied to the host, or bytes in memory.
pub trait ReadAt {
    /// Fills `buf` from `offset`; short reads are errors.
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()>;
}

impl ReadAt for [u8] {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        let start = usize::try_from(offset).map_err(|_| io::ErrorKind::UnexpectedEof)?;
        let src = self
            .get(start..)
            .and_then(|s| s.get(..buf.len()))
            .ok_or(io::ErrorKind::UnexpectedEof)?;
        buf.copy_from_slice(src);
        Ok(())
    }
}

impl ReadAt for std::fs::File {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        std::os::unix::fs::FileExt::read_exact_at(self, buf, offset)
    }
}

const HASH_MAGIC: u32 = 0x0006_1561;
const P_HASH_UNSORTED: u8 = 2;
const P_OVERFLOW: u8 = 7;
const P_HASHMETA: u8 = 8;
const P_HASH: u8 = 13;
const H_KEYDATA: u8 = 1;
const H_OFFPAGE: u8 = 3;
/// The generic page header: LSN, page number, previous and next page, entry count, free
/// space offset (on overflow pages: the bytes of data it holds), level, type.
const PAGE_HEADER: usize = 26;
/// `DBMETA_CHKSUM` in the meta page's flags: pages carry a checksum after their header.
const META_CHECKSUM: u8 = 0x01;
/// The most one value may hold: rpm's own limit on a header, with room for its index.
const MAX_VALUE: u32 = (256 << 20) + (16 << 20);

/// Why a Berkeley DB hash file cannot be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BdbError {
    /// The file is shorter than its meta page, or a page cannot be read.
    #[error("cannot read page {pgno}")]
    Read {
        /// The page number (counted from 0, the meta page) that could not be read whole.
        pgno: u32,
        /// The read's error; `UnexpectedEof` when the file ends inside the page.
        #[source]
        source: io::Error,
    },
    /// The meta page is not a hash database's.
    #[error("not a Berkeley DB hash database (magic {magic:#x}, page type {ty})")]
    NotHash {
        /// The magic number found in the meta page (a hash database has `0x061561`).
        magic: u32,
        /// The page type found in the meta page (a hash meta page is type 8).
        ty: u8,
    },
    /// A hash version this reader does not know.
    #[error("Berkeley DB hash version {0} is not supported (versions 7 to 10 are)")]
    Version(u32),
    /// A page size Berkeley DB never writes.
    #[error("page size {0} is not a power of two from 512 to 65536")]
    PageSize(u32),
    /// Encrypted or checksummed pages.
    #[error("the database is {0}, which this reader does not support")]
    Unsupported(&'static str),
    /// More buckets than the file has pages.
    #[error("the meta page names {buckets} buckets but the file has only {pages} pages")]
    Buckets {
        /// The number of buckets the meta page declares (its highest bucket plus one).
        buckets: u64,
        /// The number of whole pages in the file.
        pages: u64,
    },
    /// A page that is not what the chain leading to it says.
    #[error("page {pgno}: {what}")]
    BadPage {
        /// The number of the page that is damaged.
        pgno: u32,
        /// What is wrong with it (its type, an entry's offset or length).
        what: String,
    },
    /// A page reached twice: the chains loop or share pages.
    #[error("page {0} is reached twice: the page chains loop")]
    Loop(u32),
}

/// An open hash database.
pub struct HashDb<'r, R: ReadAt + ?Sized> {
    src: &'r R,
    page_size: usize,
    big_endian: bool,
    max_bucket: u32,
    spares: [u32; 32],
    pages: u64,
    visited: Vec<u64>,
}

impl<R: ReadAt + ?Sized> std::fmt::Debug for HashDb<'_, R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HashDb")
            .field("page_size", &self.page_size)
            .field("big_endian", &self.big_endian)
            .field("max_bucket", &self.max_bucket)
            .field("pages", &self.pages)
            .finish_non_exhaustive()
    }
}

impl<'r, R: ReadAt + ?Sized> HashDb<'r, R> {
    /// Reads and checks the meta page of a file of `len` bytes.
    pub fn open(src: &'r R, len: u64) -> Result<Self, BdbError> {
        let mut meta = [0u8; 224];
        src.read_at(&mut meta, 0)
            .map_err(|source| BdbError::Read { pgno: 0, source })?;
        let le = |at: usize| u32::from_le_bytes(meta[at..at + 4].try_into().unwrap());
        let big_endian = match le(12) {
            HASH_MAGIC => false,
            m if m.swap_bytes() == HASH_MAGIC => true,
            magic => {
                return Err(BdbError::NotHash {
                    magic,
                    ty: meta[25],
                })
            }
        };
        let get = |at: usize| {
            let v = le(at);
            if big_endian {
                v.swap_bytes()
            } else {
                v
            }
        };
        if meta[25] != P_HASHMETA {
            return Err(BdbError::NotHash {
                magic: HASH_MAGIC,
                ty: meta[25],
            });
        }
        let version = get(16);
        if !(7..=10).contains(&version) {
            return Err(BdbError::Version(version));
        }
        let page_size = get(20);
        if !(512..=65536).contains(&page_size) || !page_size.is_power_of_two() {
            return Err(BdbError::PageSize(page_size));
        }
        if meta[24] != 0 {
            return Err(BdbError::Unsupported("encrypted"));
        }
        if meta[26] & META_CHECKSUM != 0 {
            return Err(BdbError::Unsupported("checksummed"));
        }
        let pages = len / u64::from(page_size);
        let max_bucket = get(72);
        if u64::from(max_bucket) >= pages {
            return Err(BdbError::Buckets {
                buckets: u64::from(max_bucket) + 1,
                pages,
            });
        }
        let mut spares = [0u32; 32];
        for (i, s) in spares.iter_mut().enumerate() {
            *s = get(96 + 4 * i);
        }
        Ok(HashDb {
            src,
            page_size: page_size as usize,
            big_endian,
            max_bucket,
            spares,
            pages,
            visited: vec![0; pages.div_ceil(64) as usize],
        })
    }

    /// Whether the database was written on a big-endian machine (rpm's keys are in the
    /// writer's byte order).
    pub fn big_endian(&self) -> bool {
        self.big_endian
    }

    fn u16_at(&self, page: &[u8], at: usize) -> u16 {
        let v = u16::from_le_bytes([page[at], page[at + 1]]);
        if self.big_endian {
            v.swap_bytes()
        } else {
            v
        }
    }

    fn u32_at(&self, page: &[u8], at: usize) -> u32 {
        let v = u32::from_le_bytes(page[at..at + 4].try_into().unwrap());
        if self.big_endian {
            v.swap_bytes()
        } else {
            v
        }
    }

    /// Reads page `pgno` into `buf`, marking it visited.
    fn page(&mut self, pgno: u32, buf: &mut [u8]) -> Result<(), BdbError> {
        if u64::from(pgno) >= self.pages {
            return Err(BdbError::BadPage {
                pgno,
                what: format!("beyond the end of the file ({} pages)", self.pages),
            });
        }
        let (word, bit) = (pgno as usize / 64, pgno % 64);
        if self.visited[word] & (1 << bit) != 0 {
            return Err(BdbError::Loop(pgno));
        }
        self.visited[word] |= 1 << bit;
        self.src
            .read_at(buf, u64::from(pgno) * self.page_size as u64)
            .map_err(|source| BdbError::Read { pgno, source })
    }

    /// The first page of `bucket` (Berkeley DB's `BS_TO_PAGE`: the bucket number plus the
    /// spare pages allocated before its doubling).
    fn bucket_page(&self, bucket: u32) -> u32 {
        let log2 = (u64::from(bucket) + 1).next_power_of_two().trailing_zeros() as usize;
        bucket.wrapping_add(self.spares.get(log2).copied().unwrap_or(0))
    }

    /// Calls `each(key, data)` for every key/data pair, bucket by bucket.
    pub fn for_each(&mut self, mut each: impl FnMut(&[u8], Vec<u8>)) -> Result<(), BdbError> {
        let mut page = vec![0u8; self.page_size];
        for bucket in 0..=self.max_bucket {
            let mut pgno = self.bucket_page(bucket);
            while pgno != 0 {
                self.page(pgno, &mut page)?;
                let ty = page[25];
                if ty != P_HASH && ty != P_HASH_UNSORTED {
                    return Err(BdbError::BadPage {
                        pgno,
                        what: format!(
                            "bucket {bucket} leads to a page of type {ty}, not a hash page"
                        ),
                    });
                }
                let next = self.u32_at(&page, 16);
                let entries = usize::from(self.u16_at(&page, 20));
                let index_end = PAGE_HEADER + 2 * entries;
                if index_end > self.page_size {
                    return Err(BdbError::BadPage {
                        pgno,
                        what: format!("{entries} entries do not fit in the page"),
                    });
                }
                for pair in 0..entries / 2 {
                    let key = self.item(&page, pgno, index_end, 2 * pair)?;
                    let data = self.item(&page, pgno, index_end, 2 * pair + 1)?;
                    let key = self.value(key, pgno)?;
                    let data = self.value(data, pgno)?;
                    if let (Some(key), Some(data)) = (key, data) {
                        each(&key, data);
                    }
                }
                pgno = next;
            }
        }
        Ok(())
    }

    /// The bytes of item `i` of a hash page: from its offset to the previous item's.
    fn item<'p>(
        &self,
        page: &'p [u8],
        pgno: u32,
        index_end: usize,
        i: usize,
    ) -> Result<&'p [u8], BdbError> {
        let start = usize::from(self.u16_at(page, PAGE_HEADER + 2 * i));
        let end = if i == 0 {
            self.page_size
        } else {
            usize::from(self.u16_at(page, PAGE_HEADER + 2 * (i - 1)))
        };
        if start < index_end || start >= end || end > self.page_size {
            return Err(BdbError::BadPage {
                pgno,
                what: format!("item {i} spans bytes {start} to {end}, outside the item area"),
            });
        }
        Ok(&page[start..end])
    }

    /// An item's value: inline, or gathered from its overflow pages. `None` for duplicate
    /// sets, which rpm never writes.
    fn value(&mut self, item: &[u8], pgno: u32) -> Result<Option<Vec<u8>>, BdbError> {
        match item[0] {
            H_KEYDATA => Ok(Some(item[1..].to_vec())),
            H_OFFPAGE if item.len() >= 12 => {
                let first = self.u32_at(item, 4);
                let total = self.u32_at(item, 8);
                self.overflow(first, total).map(Some)
            }
            H_OFFPAGE => Err(BdbError::BadPage {
                pgno,
                what: format!("an off-page item of {} bytes (12 needed)", item.len()),
            }),
            _ => Ok(None),
        }
    }

    /// Follows a chain of overflow pages for `total` bytes.
    fn overflow(&mut self, mut pgno: u32, total: u32) -> Result<Vec<u8>, BdbError> {
        let room = self.page_size - PAGE_HEADER;
        if total > MAX_VALUE || u64::from(total).div_ceil(room as u64) > self.pages {
            return Err(BdbError::BadPage {
                pgno,
                what: format!("an overflow value of {total} bytes, more than the file holds"),
            });
        }
        let mut out = Vec::with_capacity(total as usize);
        let mut page = vec![0u8; self.page_size];
        while out.len() < total as usize {
            if pgno == 0 {
                return Err(BdbError::BadPage {
                    pgno,
                    what: format!(
                        "an overflow chain ends after {} of its {total} bytes",
                        out.len()
                    ),
                });
            }
            self.page(pgno, &mut page)?;
            let here = usize::from(self.u16_at(&page, 22));
            if page[25] != P_OVERFLOW || here > room || here > total as usize - out.len() {
                return Err(BdbError::BadPage {
                    pgno,
                    what: format!(
                        "not an overflow page of this value (type {}, {here} bytes)",
                        page[25]
                    ),
                });
            }
            if here == 0 {
                return Err(BdbError::BadPage {
                    pgno,
                    what: "an empty overflow page".to_string(),
                });
            }
            out.extend_from_slice(&page[PAGE_HEADER..PAGE_HEADER + here]);
            pgno = self.u32_at(&page, 16);
        }
        Ok(out)
    }
}
