//! Results in the shapes libguestfs's API gives them, for the front ends that speak
//! libguestfs's language to a program (the Python module): a [`Value`] per result, as
//! libguestfs's generator maps its return kinds (`RString`, `RStringList`, `RStruct`,
//! `RStructList`, `RHashtable`, `RBool`, `RInt64`, `RBufferOut`).
//!
//! The shapes are the ones the shell prints in text ([`ShellText`](crate::shell::ShellText)),
//! and come from the same declarations where the shell has them: `struct_text!` in
//! `shell.rs` gives a struct's libguestfs fields for both, and a table type the shell prints
//! as a name only (`list-devices`, `list-partitions`, `mounts`) is that name here too. The
//! result types of guestfish's own structs (`fish.rs`) are named field for field as
//! libguestfs names them, so their serde form is their shape ([`serde_value`]).
//!
//! Nothing here decides how a language represents a value: bindings map [`Value`] to theirs.

use crate::fish::*;
use crate::types::*;
use serde::ser::{self, Impossible, Serialize};
use std::fmt;

/// A result as libguestfs's API shapes it.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// No result (`RErr`), or an optional field that is absent (`FOptPercent` of -1).
    None,
    /// `RBool`.
    Bool(bool),
    /// `RInt`, `RInt64`, and a struct's integer fields.
    Int(i64),
    /// A struct's unsigned 64-bit fields (`FBytes`, `FUInt64`).
    UInt(u64),
    /// `FOptPercent`.
    Float(f64),
    /// Text (`RString`, names, paths): bytes, as guests need not use UTF-8.
    Text(Vec<u8>),
    /// Bytes (`RBufferOut`, `FBuffer`).
    Bytes(Vec<u8>),
    /// `RStringList`, `RStructList`.
    List(Vec<Value>),
    /// `RStruct`: field names in libguestfs's order.
    Struct(Vec<(String, Value)>),
    /// `RHashtable`: key and value pairs in the order found.
    Hash(Vec<(Vec<u8>, Vec<u8>)>),
}

/// How a result type reads in libguestfs's API.
pub trait GuestfsValue {
    /// The value in libguestfs's shape.
    fn guestfs_value(&self) -> Value;
}

impl GuestfsValue for () {
    fn guestfs_value(&self) -> Value {
        Value::None
    }
}
impl GuestfsValue for bool {
    fn guestfs_value(&self) -> Value {
        Value::Bool(*self)
    }
}
macro_rules! int_value {
    ($($t:ty),*) => {$(
        impl GuestfsValue for $t {
            fn guestfs_value(&self) -> Value {
                Value::Int(i64::from(*self))
            }
        }
    )*};
}
int_value!(i32, i64, u32);
impl GuestfsValue for u64 {
    fn guestfs_value(&self) -> Value {
        Value::UInt(*self)
    }
}
impl GuestfsValue for String {
    fn guestfs_value(&self) -> Value {
        Value::Text(self.as_bytes().to_vec())
    }
}
/// `RBufferOut`: bytes as they are.
impl GuestfsValue for Data {
    fn guestfs_value(&self) -> Value {
        Value::Bytes(self.0.clone())
    }
}
impl GuestfsValue for GuestPath {
    fn guestfs_value(&self) -> Value {
        Value::Text(self.as_bytes().to_vec())
    }
}
impl GuestfsValue for Device {
    fn guestfs_value(&self) -> Value {
        Value::Text(self.to_string().into_bytes())
    }
}
impl GuestfsValue for FileName {
    fn guestfs_value(&self) -> Value {
        Value::Text(self.0.clone())
    }
}
impl GuestfsValue for Line {
    fn guestfs_value(&self) -> Value {
        Value::Text(self.0.clone())
    }
}
/// A mode is an `RInt`.
impl GuestfsValue for Mode {
    fn guestfs_value(&self) -> Value {
        Value::Int(i64::from(self.0))
    }
}
impl GuestfsValue for FileHandle {
    fn guestfs_value(&self) -> Value {
        Value::UInt(self.0)
    }
}
/// `msdos`, `gpt`: as `part-get-parttype` prints it.
impl GuestfsValue for PartTableType {
    fn guestfs_value(&self) -> Value {
        Value::Text(self.to_string().into_bytes())
    }
}
/// `FOptPercent`: absent is libguestfs's -1, which its bindings give as None.
impl GuestfsValue for OptPercent {
    fn guestfs_value(&self) -> Value {
        match self.0.filter(|p| *p >= 0.0) {
            Some(p) => Value::Float(f64::from(p)),
            None => Value::None,
        }
    }
}
impl<T: GuestfsValue> GuestfsValue for Option<T> {
    fn guestfs_value(&self) -> Value {
        self.as_ref().map_or(Value::None, T::guestfs_value)
    }
}
impl<T: GuestfsValue> GuestfsValue for Vec<T> {
    fn guestfs_value(&self) -> Value {
        Value::List(self.iter().map(T::guestfs_value).collect())
    }
}

/// `list-devices` is an `RStringList` of device names.
impl GuestfsValue for BlockDevice {
    fn guestfs_value(&self) -> Value {
        self.device.guestfs_value()
    }
}
/// `list-partitions` is an `RStringList` of device names.
impl GuestfsValue for PartitionDevice {
    fn guestfs_value(&self) -> Value {
        self.device.guestfs_value()
    }
}
/// `mounts` is an `RStringList` of the mounted devices.
impl GuestfsValue for MountEntry {
    fn guestfs_value(&self) -> Value {
        self.device.guestfs_value()
    }
}

/// An `RHashtable` made of pairs.
fn hash<'a>(pairs: impl Iterator<Item = (&'a str, &'a str)>) -> Value {
    Value::Hash(
        pairs
            .map(|(k, v)| (k.as_bytes().to_vec(), v.as_bytes().to_vec()))
            .collect(),
    )
}

/// `mountpoints`, `tune2fs-l`, `btrfs-subvolume-show`: `RHashtable`s.
impl GuestfsValue for Vec<KeyValue> {
    fn guestfs_value(&self) -> Value {
        hash(self.iter().map(|kv| (kv.key.as_str(), kv.value.as_str())))
    }
}
/// `list-filesystems` is an `RHashtable` of device to filesystem type, as guestfish prints
/// it (`device: type` lines).
impl GuestfsValue for Vec<Filesystem> {
    fn guestfs_value(&self) -> Value {
        let pairs: Vec<(String, &str)> = self
            .iter()
            .map(|f| (f.device.to_string(), f.fstype.as_str()))
            .collect();
        hash(pairs.iter().map(|(k, v)| (k.as_str(), *v)))
    }
}

/// A struct from `(name, value)` fields.
fn fields<const N: usize>(fields: [(&str, Value); N]) -> Value {
    Value::Struct(
        fields
            .into_iter()
            .map(|(n, v)| (n.to_string(), v))
            .collect(),
    )
}

/// libguestfs's `partition` struct, as guestfish prints `part-list`.
impl GuestfsValue for PartitionEntry {
    fn guestfs_value(&self) -> Value {
        fields([
            ("part_num", Value::Int(i64::from(self.partnum))),
            ("part_start", Value::UInt(self.start)),
            ("part_end", Value::UInt(self.end)),
            ("part_size", Value::UInt(self.size)),
        ])
    }
}
/// libguestfs's `xattr` struct: the value as bytes (`FBuffer`).
impl GuestfsValue for XAttr {
    fn guestfs_value(&self) -> Value {
        fields([
            ("attrname", self.name.guestfs_value()),
            ("attrval", self.value.guestfs_value()),
        ])
    }
}
/// libguestfs's `statns` struct, in the shell's field order.
impl GuestfsValue for StatNs {
    fn guestfs_value(&self) -> Value {
        Value::Struct(
            self.fields()
                .into_iter()
                .map(|(n, v)| (n.to_string(), Value::Int(v)))
                .collect(),
        )
    }
}
/// libguestfs's `btrfsscrub` struct: every counter, named with its prefix.
impl GuestfsValue for BtrfsScrub {
    fn guestfs_value(&self) -> Value {
        Value::Struct(
            BTRFS_SCRUB_FIELDS
                .iter()
                .map(|name| {
                    let value = self
                        .counters
                        .iter()
                        .find(|(n, _)| n == name)
                        .map_or(0, |(_, v)| *v);
                    (format!("btrfsscrub_{name}"), Value::UInt(value))
                })
                .collect(),
        )
    }
}
/// libguestfs's `xfsinfo` struct: each field named with its prefix, numbers as numbers and
/// a field xfs_info did not report as -1 in its width (as guestfish prints it).
impl GuestfsValue for XfsInfo {
    fn guestfs_value(&self) -> Value {
        Value::Struct(
            XFS_INFO_FIELDS
                .iter()
                .map(|(name, kind)| {
                    let raw = self
                        .fields
                        .iter()
                        .find(|(n, _)| n == name)
                        .map(|(_, v)| v.as_str());
                    let value = match (*kind, raw) {
                        ("s", v) => Value::Text(v.unwrap_or("").as_bytes().to_vec()),
                        (width, v) => match v.and_then(|v| v.parse::<u64>().ok()) {
                            Some(n) => Value::UInt(n),
                            None if width == "u32" => Value::UInt(u64::from(u32::MAX)),
                            None => Value::UInt(u64::MAX),
                        },
                    };
                    (format!("xfs_{name}"), value)
                })
                .collect(),
        )
    }
}

/// Implements [`GuestfsValue`] for types whose serde form is libguestfs's shape: structs
/// whose fields are named as libguestfs names them (guestfish's structs in `fish.rs`).
macro_rules! serde_value {
    ($($t:ty),* $(,)?) => {$(
        impl GuestfsValue for $t {
            fn guestfs_value(&self) -> Value {
                serde_value(self)
            }
        }
    )*};
}
serde_value!(
    Utsname,
    InotifyEvent,
    FishStat,
    FishXAttr,
    BtrfsSubvolume,
    BtrfsQgroup,
    BtrfsBalance,
    Isoinfo,
    TskDirent,
    YaraDetection,
    IntBool,
    HivexNode,
    HivexValue,
    MdStat,
    // guestwright's own listings (no libguestfs counterpart): their fields as they are.
    DirPage,
    DirPlusPage,
    DirListing,
    GlobMatches,
);

/// libguestfs's `version` struct: what its `version` call returns (a library call, no
/// appliance needed), read from a version such as `0.1.0-rc1`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Version {
    /// The first number.
    pub major: i64,
    /// The second number.
    pub minor: i64,
    /// The third number.
    pub release: i64,
    /// What follows a `-`, or empty.
    pub extra: String,
}

impl Version {
    /// The libguestfs API level guestwright implements, as libguestfs 1.48.6's `version`
    /// reports it: scripts and bindings compare `version` to decide which calls they may
    /// use, so it is the API's level, not guestwright's own (`guestwright --version`).
    pub fn libguestfs_api() -> Version {
        Version {
            major: 1,
            minor: 48,
            release: 6,
            extra: String::new(),
        }
    }

    /// Reads `MAJOR.MINOR.RELEASE[-EXTRA]`; a missing or unreadable number is 0.
    pub fn parse(version: &str) -> Version {
        let (numbers, extra) = version.split_once('-').unwrap_or((version, ""));
        let mut parts = numbers.split('.').map(|n| n.parse().unwrap_or(0));
        let mut next = || parts.next().unwrap_or(0);
        Version {
            major: next(),
            minor: next(),
            release: next(),
            extra: extra.to_string(),
        }
    }
}

/// The serde form of `value` as a [`Value`]: structs by field name, byte strings as
/// [`Value::Bytes`], strings and chars as text, unit enum variants as their name.
pub fn serde_value<T: Serialize + ?Sized>(value: &T) -> Value {
    value.serialize(ValueSerializer).unwrap_or_else(|e| {
        // Only a type that cannot be represented at all gets here; say so in the value.
        Value::Text(format!("<{e}>").into_bytes())
    })
}

/// The one way serialization to a [`Value`] fails: a form it has no shape for.
#[derive(Debug)]
pub struct ValueError(String);

impl fmt::Display for ValueError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
impl std::error::Error for ValueError {}
impl ser::Error for ValueError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        ValueError(msg.to_string())
    }
}

struct ValueSerializer;

/// Collects a sequence's or a struct's items.
#[derive(Default)]
struct Collect {
    items: Vec<(String, Value)>,
    key: Option<String>,
}

type R = Result<Value, ValueError>;

impl ser::Serializer for ValueSerializer {
    type Ok = Value;
    type Error = ValueError;
    type SerializeSeq = Collect;
    type SerializeTuple = Collect;
    type SerializeTupleStruct = Collect;
    type SerializeTupleVariant = Impossible<Value, ValueError>;
    type SerializeMap = Collect;
    type SerializeStruct = Collect;
    type SerializeStructVariant = Impossible<Value, ValueError>;

    fn serialize_bool(self, v: bool) -> R {
        Ok(Value::Bool(v))
    }
    fn serialize_i8(self, v: i8) -> R {
        Ok(Value::Int(v.into()))
    }
    fn serialize_i16(self, v: i16) -> R {
        Ok(Value::Int(v.into()))
    }
    fn serialize_i32(self, v: i32) -> R {
        Ok(Value::Int(v.into()))
    }
    fn serialize_i64(self, v: i64) -> R {
        Ok(Value::Int(v))
    }
    fn serialize_u8(self, v: u8) -> R {
        Ok(Value::Int(v.into()))
    }
    fn serialize_u16(self, v: u16) -> R {
        Ok(Value::Int(v.into()))
    }
    fn serialize_u32(self, v: u32) -> R {
        Ok(Value::Int(v.into()))
    }
    fn serialize_u64(self, v: u64) -> R {
        Ok(Value::UInt(v))
    }
    fn serialize_f32(self, v: f32) -> R {
        Ok(Value::Float(v.into()))
    }
    fn serialize_f64(self, v: f64) -> R {
        Ok(Value::Float(v))
    }
    fn serialize_char(self, v: char) -> R {
        Ok(Value::Text(v.to_string().into_bytes()))
    }
    fn serialize_str(self, v: &str) -> R {
        Ok(Value::Text(v.as_bytes().to_vec()))
    }
    fn serialize_bytes(self, v: &[u8]) -> R {
        Ok(Value::Bytes(v.to_vec()))
    }
    fn serialize_none(self) -> R {
        Ok(Value::None)
    }
    fn serialize_some<T: Serialize + ?Sized>(self, v: &T) -> R {
        v.serialize(self)
    }
    fn serialize_unit(self) -> R {
        Ok(Value::None)
    }
    fn serialize_unit_struct(self, _: &'static str) -> R {
        Ok(Value::None)
    }
    fn serialize_unit_variant(self, _: &'static str, _: u32, variant: &'static str) -> R {
        Ok(Value::Text(variant.to_ascii_lowercase().into_bytes()))
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, _: &'static str, v: &T) -> R {
        v.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        v: &T,
    ) -> R {
        v.serialize(self)
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Collect, ValueError> {
        Ok(Collect::default())
    }
    fn serialize_tuple(self, _: usize) -> Result<Collect, ValueError> {
        Ok(Collect::default())
    }
    fn serialize_tuple_struct(self, _: &'static str, _: usize) -> Result<Collect, ValueError> {
        Ok(Collect::default())
    }
    fn serialize_tuple_variant(
        self,
        name: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, ValueError> {
        Err(ser::Error::custom(format!(
            "{name}: no shape for a tuple variant"
        )))
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Collect, ValueError> {
        Ok(Collect::default())
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Collect, ValueError> {
        Ok(Collect::default())
    }
    fn serialize_struct_variant(
        self,
        name: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, ValueError> {
        Err(ser::Error::custom(format!(
            "{name}: no shape for a struct variant"
        )))
    }
}

impl Collect {
    fn list(self) -> R {
        Ok(Value::List(
            self.items.into_iter().map(|(_, v)| v).collect(),
        ))
    }
    fn push<T: Serialize + ?Sized>(&mut self, name: String, v: &T) -> Result<(), ValueError> {
        self.items.push((name, v.serialize(ValueSerializer)?));
        Ok(())
    }
}

/// The unnamed collections (sequences, tuples, tuple structs) become lists alike.
macro_rules! list_collect {
    ($($trait:ident :: $method:ident),* $(,)?) => {$(
        impl ser::$trait for Collect {
            type Ok = Value;
            type Error = ValueError;
            fn $method<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), ValueError> {
                self.push(String::new(), v)
            }
            fn end(self) -> R {
                self.list()
            }
        }
    )*};
}
list_collect!(
    SerializeSeq::serialize_element,
    SerializeTuple::serialize_element,
    SerializeTupleStruct::serialize_field,
);
impl ser::SerializeStruct for Collect {
    type Ok = Value;
    type Error = ValueError;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        name: &'static str,
        v: &T,
    ) -> Result<(), ValueError> {
        self.push(name.to_string(), v)
    }
    fn end(self) -> R {
        Ok(Value::Struct(self.items))
    }
}
/// A map becomes a struct keyed by the keys' text.
impl ser::SerializeMap for Collect {
    type Ok = Value;
    type Error = ValueError;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, k: &T) -> Result<(), ValueError> {
        self.key = Some(match k.serialize(ValueSerializer)? {
            Value::Text(t) | Value::Bytes(t) => String::from_utf8_lossy(&t).into_owned(),
            other => format!("{other:?}"),
        });
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), ValueError> {
        let key = self.key.take().unwrap_or_default();
        self.push(key, v)
    }
    fn end(self) -> R {
        Ok(Value::Struct(self.items))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listings_of_devices_are_names() {
        let disks = vec![BlockDevice {
            device: Device::from("/dev/sda"),
            size: 1 << 20,
            read_only: false,
        }];
        assert_eq!(
            disks.guestfs_value(),
            Value::List(vec![Value::Text(b"/dev/sda".to_vec())])
        );
    }

    #[test]
    fn filesystems_are_a_hashtable() {
        let fs = vec![Filesystem {
            device: Device::from("/dev/sda1"),
            fstype: "ext4".into(),
            label: None,
            uuid: None,
        }];
        assert_eq!(
            fs.guestfs_value(),
            Value::Hash(vec![(b"/dev/sda1".to_vec(), b"ext4".to_vec())])
        );
    }

    #[test]
    fn guestfish_structs_keep_their_field_names() {
        let ib = IntBool { i: 3, b: 1 };
        assert_eq!(
            ib.guestfs_value(),
            Value::Struct(vec![
                ("i".into(), Value::Int(3)),
                ("b".into(), Value::Int(1))
            ])
        );
        let st = Stat {
            size: 5,
            ..Stat::default()
        };
        let Value::Struct(f) = st.guestfs_value() else {
            panic!("stat is a struct")
        };
        let names: Vec<&str> = f.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            [
                "dev", "ino", "mode", "nlink", "uid", "gid", "rdev", "size", "blksize", "blocks",
                "atime", "mtime", "ctime"
            ]
        );
        assert_eq!(OptPercent(None).guestfs_value(), Value::None);
        assert_eq!(OptPercent(Some(50.0)).guestfs_value(), Value::Float(50.0));
    }
}
