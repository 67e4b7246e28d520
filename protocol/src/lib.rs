//! The guestwright wire protocol: what the host library and the in-appliance daemon say to
//! each other over the virtio-serial channel.
//!
//! * [`frame`]: the 16-byte header, kinds and size limits; [`read_frame`]/[`write_frame`].
//! * [`codec`]: bincode 2 encoding of payloads, bounded.
//! * [`ops`](mod@ops): the one table of operations. From it come [`Request`], [`Reply`],
//!   [`args`], the daemon's [`Daemon`] trait and [`dispatch`] (the stub that runs the
//!   [`Checks`] the table implies before an operation), the host's [`Client`] trait, and
//!   [`OPERATIONS`] for the shell.
//! * [`errno`]: symbolic errno plus message, [`RemoteError`].
//! * [`rescue`]: the rescue console's framing (a port of its own, not the channel).
//!
//! A conversation: the daemon sends [`FrameKind::Hello`] with a [`Hello`]; then the host
//! sends `Request` frames, each with its own id. Several may be in flight. A request ends
//! with one `Reply` (the encoded return value) or one `Error` frame carrying the same id.
//! Streaming operations move their data as `Chunk` frames closed by an `End` frame; the
//! daemon may send `Progress` frames; the host may send `Cancel`.
//!
//! This crate does no I/O beyond `Read` and `Write`.

#![warn(missing_docs)]

#[macro_use]
pub mod generate;
pub mod codec;
pub mod errno;
pub mod fish;
pub mod frame;
pub mod luks;
pub mod names;
pub mod ops;
pub mod rescue;
pub mod shell;
pub mod types;
pub mod value;

pub use errno::{Errno, RemoteError};
pub use fish::{KeyValue, StatNs};
// cmds-files
pub use fish::{FishStat, FishXAttr, InotifyEvent, Utsname};
// cmds-libs
pub use fish::{HivexNode, HivexValue, IntBool, OptString};
// cmds-btrfs
pub use fish::{BtrfsBalance, BtrfsQgroup, BtrfsScrub, BtrfsSubvolume, XfsInfo};
// cmds-misc
pub use fish::{Isoinfo, TskDirent, YaraDetection};
// cmds-last
pub use fish::MdStat;
pub use frame::{
    read_frame, write_frame, Frame, FrameError, FrameKind, Region, CHUNK_SIZE, MAX_PAYLOAD,
    PROTOCOL_VERSION, XFER_SERIAL,
};
pub use generate::{Access, Arg, ArgInfo, ArgSource, CallStream, Checks, OpInfo, Stream};
pub use luks::*;
pub use ops::{args, dispatch, Client, Daemon, Operation, Reply, Request, OPERATIONS};
pub use types::*;

/// The version of this crate, which the daemon reports and the host checks.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The name of the virtio-serial port the daemon talks on.
pub const CHANNEL_NAME: &str = "org.guestwright.channel.0";

#[cfg(test)]
mod tests {
    use super::*;
    use std::io;

    /// A small table of its own, so the generator is tested without depending on the
    /// real table (whose daemon must implement every operation).
    #[allow(dead_code)]
    mod table {
        use crate::generate::{ArgInfo, CallStream, OpInfo};
        use crate::types::*;

        define_operations! {
            /// Ping.
            Ping ping() -> () { group: basic, access: Read, stream: None }
            /// The version.
            Version version() -> String { group: basic, access: Read, stream: None }
            /// The disks.
            ListDevices list_devices() -> Vec<BlockDevice> { group: devices, access: Read, stream: None }
            /// Mount.
            Mount mount(device: Device, mountpoint: GuestPath) [options: String, fstype: FsType, readonly: bool] -> ()
                { group: mount, access: Write, stream: None }
            /// Read a file.
            ReadFile read_file(path: GuestPath) -> Data
                { group: files, access: Read, stream: None, needs: root }
            /// List a disk's partitions.
            PartList part_list(device: Disk) -> Vec<u32> { group: partitions, access: Read, stream: None }
        }
    }

    /// A daemon that answers from memory, to check dispatch and the client methods agree.
    /// Its checks mark what they converted, so the tests see that the stub ran them.
    struct Fake {
        root_mounted: bool,
    }
    impl Checks for Fake {
        type Device = String;
        type Disk = String;
        type DevOrPath = String;
        fn need_root(&self) -> io::Result<()> {
            if self.root_mounted {
                Ok(())
            } else {
                Err(io::Error::from_raw_os_error(22))
            }
        }
        fn device(&self, device: Device) -> io::Result<String> {
            Ok(format!("device {device}"))
        }
        fn dev_or_path(&self, name: DevOrPath) -> io::Result<String> {
            Ok(format!("dev_or_path {name}"))
        }
        fn disk(&self, disk: Disk) -> io::Result<String> {
            if disk.as_str() == "/dev/sda" {
                Ok(format!("disk {disk}"))
            } else {
                Err(io::Error::from_raw_os_error(19))
            }
        }
    }
    impl table::Daemon for Fake {
        type Call = ();
        fn ping(&self, _: &mut ()) -> io::Result<()> {
            Ok(())
        }
        fn version(&self, _: &mut ()) -> io::Result<String> {
            Ok("1.2.3".into())
        }
        fn list_devices(&self, _: &mut ()) -> io::Result<Vec<BlockDevice>> {
            Ok(vec![BlockDevice {
                device: Device::from("/dev/sda"),
                size: 1 << 30,
                read_only: false,
            }])
        }
        fn mount(
            &self,
            _: &mut (),
            device: String,
            mountpoint: GuestPath,
            options: Option<String>,
            fstype: Option<FsType>,
            readonly: Option<bool>,
        ) -> io::Result<()> {
            assert_eq!(device, "device /dev/sda1");
            assert_eq!(mountpoint.as_bytes(), b"/");
            assert_eq!(options.as_deref(), Some("noatime"));
            assert_eq!(fstype, None);
            assert_eq!(readonly, Some(true));
            Ok(())
        }
        fn read_file(&self, _: &mut (), path: GuestPath) -> io::Result<Data> {
            if path.as_bytes() == b"/missing" {
                return Err(io::Error::from_raw_os_error(2));
            }
            Ok(Data(path.into_bytes()))
        }
        fn part_list(&self, _: &mut (), device: String) -> io::Result<Vec<u32>> {
            assert_eq!(device, "disk /dev/sda");
            Ok(vec![1, 2])
        }
    }

    /// A client whose transport is a direct call into `Fake` through the codec.
    struct Loopback(Fake);
    impl table::Client for Loopback {
        type Error = RemoteError;
        fn call(&self, request: table::Request, _: CallStream<'_>) -> Result<Vec<u8>, RemoteError> {
            let wire = codec::encode(&request).unwrap();
            let request: table::Request = codec::decode(&wire).unwrap();
            table::dispatch(&self.0, &mut (), request).map_err(|e| RemoteError::from(&e))
        }
    }
    impl From<codec::CodecError> for RemoteError {
        fn from(e: codec::CodecError) -> Self {
            RemoteError::new(Errno::EBADMSG, e.to_string())
        }
    }

    #[test]
    fn client_and_dispatch_agree() {
        use table::Client as _;
        let c = Loopback(Fake { root_mounted: true });
        c.ping().unwrap();
        assert_eq!(c.version().unwrap(), "1.2.3");
        assert_eq!(c.list_devices().unwrap()[0].size, 1 << 30);
        c.run(
            table::args::Mount::new("/dev/sda1", "/")
                .options("noatime")
                .readonly(true),
        )
        .unwrap();
        assert_eq!(c.read_file("/etc/x").unwrap().0, b"/etc/x");
        let err = c.read_file("/missing").unwrap_err();
        assert_eq!(err.errno, Errno::ENOENT);
        assert_eq!(c.part_list("/dev/sda").unwrap(), [1, 2]);
    }

    #[test]
    fn dispatch_runs_the_declared_checks_first() {
        use table::Client as _;
        let c = Loopback(Fake {
            root_mounted: false,
        });
        // `needs: root`: the operation never runs (it would answer with the path).
        assert_eq!(c.read_file("/etc/x").unwrap_err().errno, Errno::EINVAL);
        // A `Disk` argument the daemon's check refuses never reaches the operation.
        assert_eq!(c.part_list("/dev/sda1").unwrap_err().errno, Errno::ENODEV);
        // Operations without needs run as before.
        assert_eq!(c.version().unwrap(), "1.2.3");
        assert!(!OpInfo::find("ping").unwrap().needs_root);
        assert!(OpInfo::find("read_file").unwrap().needs_root);
    }

    #[test]
    fn shell_words_build_requests() {
        let words = |w: &[&str]| w.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let req = Request::from_words(
            "mount",
            &words(&["/dev/sda1", "/", "readonly:true", "fstype:ext4"]),
        )
        .unwrap();
        match &req {
            Request::Mount(a) => {
                assert_eq!(a.device.as_str(), "/dev/sda1");
                assert_eq!(a.readonly, Some(true));
                assert_eq!(a.fstype, Some(FsType::from("ext4")));
                assert_eq!(a.options, None);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(req.name(), "mount");
        assert_eq!(req.summary(), "mount /dev/sda1 /");
        assert_eq!(req.info().access, Access::Write);

        let err = Request::from_words("mount", &words(&["/dev/sda1"])).unwrap_err();
        assert!(err.0.contains("missing argument 'mountpoint'"), "{err}");
        let err = Request::from_words("mount", &words(&["/dev/sda1", "/", "bogus:1"])).unwrap_err();
        assert!(err.0.contains("unknown optional argument 'bogus'"), "{err}");
        let err = Request::from_words("read-file", &words(&["/a", "/b"])).unwrap_err();
        assert!(err.0.contains("too many arguments"), "{err}");
        assert!(Request::from_words("no-such-op", &[]).is_err());
        assert!(matches!(
            Request::from_words("read-file", &words(&["/a"])),
            Ok(Request::ReadFile(_))
        ));
    }

    /// A source of typed values by name, as the Python binding's keyword arguments are.
    struct Values(Vec<(&'static str, &'static str)>);
    impl ArgSource for Values {
        fn required<T>(&mut self, op: &str, name: &str) -> Result<T, ArgError>
        where
            T: shell::ShellArg + serde::de::DeserializeOwned,
        {
            self.optional(op, name)?
                .ok_or_else(|| ArgError(format!("{op}: missing argument '{name}'")))
        }
        fn optional<T>(&mut self, _: &str, name: &str) -> Result<Option<T>, ArgError>
        where
            T: shell::ShellArg + serde::de::DeserializeOwned,
        {
            let found = self.0.iter().find(|(n, _)| *n == name);
            found.map(|(_, v)| T::parse_word(v)).transpose()
        }
    }

    #[test]
    fn typed_values_build_requests() {
        let req = Request::from_source(
            "mount",
            &mut Values(vec![
                ("readonly", "true"),
                ("mountpoint", "/"),
                ("device", "/dev/sda1"),
            ]),
        )
        .unwrap();
        match &req {
            Request::Mount(a) => {
                assert_eq!(a.device.as_str(), "/dev/sda1");
                assert_eq!(a.mountpoint.as_bytes(), b"/");
                assert_eq!(a.readonly, Some(true));
                assert_eq!(a.options, None);
            }
            other => panic!("{other:?}"),
        }
        let err =
            Request::from_source("mount", &mut Values(vec![("device", "/dev/sda1")])).unwrap_err();
        assert!(err.0.contains("missing argument 'mountpoint'"), "{err}");
        assert!(Request::from_source("no_such_op", &mut Values(vec![])).is_err());
        // The table's return types, as written, for front ends that map them.
        assert_eq!(OpInfo::find("read_file").unwrap().ret, "Data");
        assert_eq!(OpInfo::find("mounts").unwrap().ret, "Vec<MountEntry>");
        assert_eq!(OpInfo::find("ping").unwrap().ret, "()");
    }

    #[test]
    fn table_is_consistent() {
        let mut names: Vec<_> = OPERATIONS.iter().map(|o| o.name).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), OPERATIONS.len(), "duplicate operation names");
        for op in OPERATIONS {
            assert!(!op.doc.trim().is_empty(), "{} has no help text", op.name);
            assert_eq!(OpInfo::find(&op.shell_name()).unwrap().name, op.name);
            // Optional arguments come last.
            let first_opt = op
                .args
                .iter()
                .position(|a| a.optional)
                .unwrap_or(op.args.len());
            assert!(
                op.args[first_opt..].iter().all(|a| a.optional),
                "{}",
                op.name
            );
        }
        assert_eq!(
            OpInfo::find("mount").unwrap().usage(),
            "mount device mountpoint [options:..] [fstype:..] [readonly:..]"
        );
    }
}
