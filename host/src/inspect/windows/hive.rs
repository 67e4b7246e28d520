//! Registry hives (regf), read through the `regf` crate: the one place that knows the crate,
//! so swapping it touches only this file. Public for the fuzz target (`fuzz/`, `hive`).
//!
//! Why regf (MIT, 0.2): the hive comes from the guest and is parsed on the host, so the
//! parser must be safe on hostile bytes and its licence must fit guestwright's MIT OR
//! Apache-2.0. Candidates weighed (December 2026):
//!
//! - `nt-hive` 0.3 (used before): small and careful, but GPL-2.0-or-later, which would make
//!   the shipped binary GPL. Dropped.
//! - `regf` 0.2: MIT, no `unsafe`, few dependencies (byteorder, bitflags, chrono,
//!   encoding_rs, thiserror, tempfile). It checks the whole hive when it loads it: bins chain
//!   exactly, cells tile each bin, every key's parent link, subkey counts, sorted subkey lists
//!   and their hashes, index-root cycles, security-descriptor links and reference counts, and
//!   every value's data; lookups afterwards go through bounds-checked cells. A hive that is
//!   not consistent is refused whole (with the reason), which is stricter than hivex: a hive
//!   Windows left half-written can be refused where hivex would read parts of it. A dirty
//!   hive (unequal sequence numbers) that is otherwise consistent is read, with a warning.
//!   Fuzzed through this module for 5+ minutes (see fuzz/README.md): no crash, no hang.
//! - `frnsc-hive` 0.13 (MIT): needs the forensic-rs framework, and casts guest bytes onto
//!   packed structs with `unsafe` `align_to` (host-endian, no bounds beyond slicing).
//! - `winreg-core` 0.2 (Apache-2.0): brings binrw, miette, jiff and memmap2 for a reader.
//! - `notatin` 1.0 (Apache-2.0): does not build with the nom 8 its `nom >= 6` resolves to,
//!   and pulls ~100 crates (crossterm, blake3, xlsxwriter, clap).
//!
//! Falling back to hivex's command-line tools in the appliance was not needed.

use regf::RegistryHive;

/// A hive read into memory and checked.
pub struct Hive {
    hive: RegistryHive,
    /// The file it came from, for messages.
    name: String,
}

impl std::fmt::Debug for Hive {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hive").field("name", &self.name).finish()
    }
}

impl Hive {
    /// Loads and checks a hive; `Err` says why it is not one inspection can read.
    pub fn parse(bytes: Vec<u8>, name: &str) -> Result<Hive, String> {
        let hive = RegistryHive::from_bytes(bytes).map_err(|e| e.to_string())?;
        if hive.is_dirty() {
            // A hive Windows did not close cleanly (hibernation, Fast Startup): its newest
            // changes may be in the .LOG files, which inspection does not replay (nor does
            // virt-inspector).
            log::warn!("{name}: the hive was not closed cleanly; reading it anyway (recent changes may be missing)");
        }
        Ok(Hive {
            hive,
            name: name.to_string(),
        })
    }

    /// The key at `path` (`\`-separated, from the root, any case); `None` when it is
    /// missing, with a warning when the hive is damaged on the way.
    fn key(&self, path: &str) -> Option<regf::hive::RegistryKey<'_>> {
        match self.hive.open_key(path) {
            Ok(k) => Some(k),
            Err(regf::Error::KeyNotFound(_)) => None,
            Err(e) => {
                log::warn!("{}: cannot read the key {path}: {e}", self.name);
                None
            }
        }
    }

    fn value(&self, path: &str, value: &str) -> Option<regf::hive::RegistryValueEntry<'_>> {
        match self.key(path)?.value(value) {
            Ok(v) => Some(v),
            Err(regf::Error::ValueNotFound(_)) => None,
            Err(e) => {
                log::warn!("{}: {path}\\{value}: {e}", self.name);
                None
            }
        }
    }

    fn warn<T>(&self, path: &str, value: &str, r: regf::Result<T>) -> Option<T> {
        r.map_err(|e| log::warn!("{}: {path}\\{value}: {e}", self.name))
            .ok()
    }

    /// Whether the key exists.
    pub fn has_key(&self, path: &str) -> bool {
        self.key(path).is_some()
    }

    /// A `REG_SZ` or `REG_EXPAND_SZ` value, up to its terminating NUL.
    pub fn string(&self, path: &str, value: &str) -> Option<String> {
        let v = self.value(path, value)?;
        self.warn(path, value, v.string_data())
    }

    /// A `REG_DWORD` value.
    pub fn dword(&self, path: &str, value: &str) -> Option<u32> {
        let v = self.value(path, value)?;
        self.warn(path, value, v.dword_data())
    }

    /// Every value of a key with its raw data, whatever its type.
    pub fn values(&self, path: &str) -> Option<Vec<(String, Vec<u8>)>> {
        let key = self.key(path)?;
        let values = self.warn(path, "*", key.values())?;
        Some(
            values
                .iter()
                .filter_map(|v| {
                    let name = v.name();
                    let data = self.warn(path, &name, v.raw_data())?;
                    Some((name, data))
                })
                .collect(),
        )
    }

    /// The names of a key's subkeys, in the hive's (sorted) order.
    pub fn subkeys(&self, path: &str) -> Option<Vec<String>> {
        let key = self.key(path)?;
        let subkeys = self.warn(path, "*", key.subkeys())?;
        Some(subkeys.iter().map(|k| k.name()).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::Hive;
    use regf::HiveBuilder;

    fn sample() -> Vec<u8> {
        let mut b = HiveBuilder::new_with_name("ROOT").unwrap();
        let cv = r"Microsoft\Windows NT\CurrentVersion";
        b.create_key(cv).unwrap();
        b.add_value_string(cv, Some("ProductName"), "Windows 10 Pro")
            .unwrap();
        b.add_value_dword(cv, Some("CurrentMajorVersionNumber"), 10)
            .unwrap();
        b.create_key("MountedDevices").unwrap();
        b.add_value_binary("MountedDevices", Some(r"\DosDevices\C:"), &[1, 2, 3])
            .unwrap();
        b.create_key(r"Apps\Zeta").unwrap();
        b.create_key(r"Apps\alpha").unwrap();
        b.build().unwrap()
    }

    #[test]
    fn reads_what_inspection_asks_in_any_case() {
        let hive = Hive::parse(sample(), "SOFTWARE").unwrap();
        let cv = r"microsoft\WINDOWS NT\currentversion";
        assert!(hive.has_key(cv));
        assert!(!hive.has_key(r"Microsoft\Nothing"));
        assert_eq!(
            hive.string(cv, "productname").as_deref(),
            Some("Windows 10 Pro")
        );
        assert_eq!(hive.dword(cv, "CurrentMajorVersionNumber"), Some(10));
        // A value of the wrong type is not read as another.
        assert_eq!(hive.dword(cv, "ProductName"), None);
        assert_eq!(hive.string(cv, "Missing"), None);
        assert_eq!(
            hive.values("MountedDevices"),
            Some(vec![(r"\DosDevices\C:".to_string(), vec![1, 2, 3])])
        );
        assert_eq!(
            hive.subkeys("Apps"),
            Some(vec!["alpha".to_string(), "Zeta".to_string()])
        );
    }

    #[test]
    fn refuses_what_is_not_a_consistent_hive_and_says_why() {
        assert!(Hive::parse(b"regf".to_vec(), "x").is_err());
        assert!(Hive::parse(vec![0; 8192], "x").is_err());
        // A subkey count that lies is caught when the hive loads, not when it is read.
        let mut bytes = sample();
        let root = 4096 + u32::from_le_bytes(bytes[36..40].try_into().unwrap()) as usize;
        bytes[root + 4 + 0x14] = 9;
        let why = Hive::parse(bytes, "x").unwrap_err();
        assert!(why.to_lowercase().contains("subkey"), "{why}");
    }
}
