//! Registry hives (regf), read through the `nt-hive` crate: the one place that knows the
//! crate, so swapping it touches only this file.
//!
//! Why nt-hive: it is maintained (0.3.0, Rust 1.81), small (zerocopy, bitflags, enumn,
//! thiserror), `#![forbid(unsafe_code)]`, bounds-checks every cell against the hive, and
//! looks keys up case-insensitively as Windows does. notatin (Apache-2.0) was tried and does not build with
//! the nom 8 that its own `nom >= 6` requirement resolves to, and pulls in ~100 crates
//! (crossterm, blake3, xlsxwriter). nt-hive is GPL-2.0-or-later: the `windows-registry`
//! feature (on by default) is what links it; without it inspection still finds Windows and
//! says on stderr that the registry fields are unavailable.
//!
//! Every lookup walks from the root again: the hive is parsed lazily and a walk is a few
//! binary searches, so no borrowed node outlives a call.

/// A hive read into memory.
pub struct Hive {
    #[cfg_attr(not(feature = "windows-registry"), allow(dead_code))]
    bytes: Vec<u8>,
    /// The file it came from, for messages.
    #[cfg_attr(not(feature = "windows-registry"), allow(dead_code))]
    name: String,
}

#[cfg(feature = "windows-registry")]
mod imp {
    use super::Hive;
    use nt_hive::{KeyNode, KeyValueData};

    impl Hive {
        /// Checks the hive's base block; `Err` says why it is not a hive.
        pub fn parse(bytes: Vec<u8>, name: &str) -> Result<Hive, String> {
            if let Err(e) = nt_hive::Hive::new(bytes.as_slice()) {
                // A hive Windows did not close cleanly (hibernation, Fast Startup) has
                // unequal sequence numbers; hivex reads it anyway, and so does this, with
                // every cell still checked. Its newest changes may be in the .LOG files.
                nt_hive::Hive::without_validation(bytes.as_slice()).map_err(|e| e.to_string())?;
                log::warn!("{name}: {e}; reading it anyway (recent changes may be missing)");
            }
            Ok(Hive {
                bytes,
                name: name.to_string(),
            })
        }

        /// Runs `f` on the key at `path` (`\`-separated, from the root, any case); `None`
        /// when it is missing, and a warning when the hive is damaged on the way.
        fn with_key<T>(
            &self,
            path: &str,
            f: impl FnOnce(&KeyNode<'_, &[u8]>) -> Option<T>,
        ) -> Option<T> {
            let hive = nt_hive::Hive::without_validation(self.bytes.as_slice()).ok()?;
            let root = match hive.root_key_node() {
                Ok(r) => r,
                Err(e) => {
                    log::warn!("{}: no root key: {e}", self.name);
                    return None;
                }
            };
            let key = if path.is_empty() {
                root
            } else {
                match root.subpath(path)? {
                    Ok(k) => k,
                    Err(e) => {
                        log::warn!("{}: cannot read the key {path}: {e}", self.name);
                        return None;
                    }
                }
            };
            f(&key)
        }

        fn warn<T>(&self, path: &str, value: &str, r: nt_hive::Result<T>) -> Option<T> {
            r.map_err(|e| log::warn!("{}: {path}\\{value}: {e}", self.name))
                .ok()
        }

        /// Whether the key exists.
        pub fn has_key(&self, path: &str) -> bool {
            self.with_key(path, |_| Some(())).is_some()
        }

        /// A `REG_SZ` or `REG_EXPAND_SZ` value, without its terminating NUL.
        pub fn string(&self, path: &str, value: &str) -> Option<String> {
            self.with_key(path, |k| {
                let v = self.warn(path, value, k.value(value)?)?;
                let s = self.warn(path, value, v.string_data())?;
                Some(s.trim_end_matches('\0').to_string())
            })
        }

        /// A `REG_DWORD` value.
        pub fn dword(&self, path: &str, value: &str) -> Option<u32> {
            self.with_key(path, |k| {
                let v = self.warn(path, value, k.value(value)?)?;
                self.warn(path, value, v.dword_data())
            })
        }

        /// Every value of a key with its raw data, whatever its type.
        pub fn values(&self, path: &str) -> Option<Vec<(String, Vec<u8>)>> {
            self.with_key(path, |k| {
                let mut out = Vec::new();
                let Some(values) = k.values() else {
                    return Some(out);
                };
                for v in self.warn(path, "*", values)? {
                    let Some(v) = self.warn(path, "*", v) else {
                        continue;
                    };
                    let Some(name) = self.warn(path, "*", v.name()) else {
                        continue;
                    };
                    let name = name.to_string_lossy();
                    let data = self
                        .warn(path, &name, v.data())
                        .and_then(|d: KeyValueData<'_, _>| self.warn(path, &name, d.into_vec()));
                    if let Some(data) = data {
                        out.push((name, data));
                    }
                }
                Some(out)
            })
        }

        /// The names of a key's subkeys, in the hive's (sorted) order.
        pub fn subkeys(&self, path: &str) -> Option<Vec<String>> {
            self.with_key(path, |k| {
                let mut out = Vec::new();
                let Some(subkeys) = k.subkeys() else {
                    return Some(out);
                };
                for sub in self.warn(path, "*", subkeys)? {
                    let Some(sub) = self.warn(path, "*", sub) else {
                        continue;
                    };
                    if let Some(name) = self.warn(path, "*", sub.name()) {
                        out.push(name.to_string_lossy());
                    }
                }
                Some(out)
            })
        }
    }
}

#[cfg(not(feature = "windows-registry"))]
impl Hive {
    /// Without the `windows-registry` feature no hive is read.
    pub fn parse(_bytes: Vec<u8>, _name: &str) -> Result<Hive, String> {
        Err("this guestwright was built without the windows-registry feature".into())
    }
    /// Never reached: no hive is ever made.
    pub fn has_key(&self, _path: &str) -> bool {
        false
    }
    /// Never reached.
    pub fn string(&self, _path: &str, _value: &str) -> Option<String> {
        None
    }
    /// Never reached.
    pub fn dword(&self, _path: &str, _value: &str) -> Option<u32> {
        None
    }
    /// Never reached.
    pub fn values(&self, _path: &str) -> Option<Vec<(String, Vec<u8>)>> {
        None
    }
    /// Never reached.
    pub fn subkeys(&self, _path: &str) -> Option<Vec<String>> {
        None
    }
}
