//! The generator: turns the one table of operations (`ops.rs`) into everything that must
//! agree with it: argument structs, the `Request` and `Reply` enums, the metadata the shell
//! uses for help and completion, the daemon's trait and the stub that checks arguments
//! before an operation sees them, the client methods, and the shell's request builder.
//! Nothing else in the project lists the operations.

use crate::types::*;

/// What an operation may do to the disks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Never changes a guest filesystem or disk.
    Read,
    /// May change a filesystem, partition table or disk.
    Write,
}

/// Whether an operation moves unbounded data as a stream of chunks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    /// Arguments and result only.
    None,
    /// The host sends a byte stream (upload, tar-in).
    Input,
    /// The daemon sends a byte stream (download, tar-out).
    Output,
}

/// One argument of an operation.
#[derive(Debug, Clone, Copy)]
pub struct ArgInfo {
    /// Its name, as in `name:value`.
    pub name: &'static str,
    /// The kind of word it takes.
    pub kind: crate::shell::ArgKind,
    /// Optional arguments are given as `name:value` after the required ones.
    pub optional: bool,
}

/// Everything the front ends need to know about an operation.
#[derive(Debug, Clone, Copy)]
pub struct OpInfo {
    /// Name with underscores (`mount_ro`); the shell also accepts dashes.
    pub name: &'static str,
    /// The help text.
    pub doc: &'static str,
    /// A group for `help`: `basic`, `mount`, `files`, ...
    pub group: &'static str,
    /// Whether it may write.
    pub access: Access,
    /// Whether it streams.
    pub stream: Stream,
    /// Arguments in order; optional ones last.
    pub args: &'static [ArgInfo],
    /// Whether it needs a filesystem mounted on the guest root (`needs: root`).
    pub needs_root: bool,
    /// The return type as written in the table (`()`, `Data`, `Vec<KeyValue>`), for front
    /// ends that map it to their own types (the Python binding's results and stubs).
    pub ret: &'static str,
}

impl OpInfo {
    /// The shell's spelling: dashes instead of underscores.
    pub fn shell_name(&self) -> String {
        self.name.replace('_', "-")
    }

    /// `name REQUIRED... [optional:VALUE]...`, for help.
    pub fn usage(&self) -> String {
        let mut s = self.shell_name();
        for a in self.args {
            if a.optional {
                s.push_str(&format!(" [{}:..]", a.name));
            } else {
                s.push_str(&format!(" {}", a.name));
            }
        }
        s
    }

    /// Looks an operation up by name (dashes or underscores).
    pub fn find(name: &str) -> Option<&'static OpInfo> {
        let name = name.replace('-', "_");
        crate::OPERATIONS.iter().find(|op| op.name == name)
    }
}

/// An argument's name as the shell spells it: a Rust keyword used as a name (guestfish's
/// `hivex-open unsafe:true`) is written `r#unsafe` in the table.
pub const fn arg_name(name: &'static str) -> &'static str {
    let bytes = name.as_bytes();
    if bytes.len() > 2 && bytes[0] == b'r' && bytes[1] == b'#' {
        let (_, rest) = bytes.split_at(2);
        if let Ok(rest) = core::str::from_utf8(rest) {
            return rest;
        }
    }
    name
}

/// Where a front end other than the shell takes an operation's arguments from: typed values
/// by name (a Python call's keyword arguments), asked for in the table's order by the
/// generated `Request::from_source`. A value given as text is read as the shell reads the
/// word ([`ShellArg`](crate::shell::ShellArg)), anything else through its serde form.
pub trait ArgSource {
    /// The value of the required argument `name` of operation `op`.
    fn required<T>(&mut self, op: &str, name: &str) -> Result<T, ArgError>
    where
        T: crate::shell::ShellArg + serde::de::DeserializeOwned;
    /// The value of the optional argument `name` of operation `op`, if it was given.
    fn optional<T>(&mut self, op: &str, name: &str) -> Result<Option<T>, ArgError>
    where
        T: crate::shell::ShellArg + serde::de::DeserializeOwned;
}

/// How a client passes the stream of a streaming operation.
pub enum CallStream<'a> {
    /// No stream.
    None,
    /// Bytes to send to the daemon.
    Input(&'a mut dyn std::io::Read),
    /// Where the daemon's bytes go.
    Output(&'a mut dyn std::io::Write),
}

impl std::fmt::Debug for CallStream<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            CallStream::None => "None",
            CallStream::Input(_) => "Input",
            CallStream::Output(_) => "Output",
        })
    }
}

/// The checks a daemon performs for the generated stub, before any operation runs: the
/// operation's needs from the table, and the conversion of the argument types that imply a
/// check. The implementation of an operation then holds its logic alone.
pub trait Checks {
    /// What a [`Device`] argument becomes: a device that exists, resolved to its node.
    type Device;
    /// What a [`Disk`] argument becomes: a whole disk that exists.
    type Disk;
    /// What a [`DevOrPath`] argument becomes: a device that exists, or a guest path once a
    /// filesystem is mounted on the root.
    type DevOrPath;
    /// Fails unless a filesystem is mounted on the guest root; run first for operations
    /// declared with `needs: root`.
    fn need_root(&self) -> std::io::Result<()>;
    /// Checks and resolves a device argument.
    fn device(&self, device: Device) -> std::io::Result<Self::Device>;
    /// Checks and resolves a whole-disk argument.
    fn disk(&self, disk: Disk) -> std::io::Result<Self::Disk>;
    /// Checks a device-or-path argument: resolves the device, or checks that a filesystem
    /// is mounted on the guest root for a path.
    fn dev_or_path(&self, name: DevOrPath) -> std::io::Result<Self::DevOrPath>;
}

/// An argument type as the daemon's implementation receives it: the generated stub calls
/// [`Arg::check`] on every argument, in order, and hands over what it returns. Types that
/// imply no check arrive as they came.
pub trait Arg<D: Checks + ?Sized>: Sized {
    /// What the implementation receives.
    type Checked;
    /// Checks and converts the value; an error is the operation's error.
    fn check(self, daemon: &D) -> std::io::Result<Self::Checked>;
}

impl<D: Checks + ?Sized> Arg<D> for Device {
    type Checked = D::Device;
    fn check(self, daemon: &D) -> std::io::Result<D::Device> {
        daemon.device(self)
    }
}

impl<D: Checks + ?Sized> Arg<D> for Disk {
    type Checked = D::Disk;
    fn check(self, daemon: &D) -> std::io::Result<D::Disk> {
        daemon.disk(self)
    }
}

impl<D: Checks + ?Sized> Arg<D> for DevOrPath {
    type Checked = D::DevOrPath;
    fn check(self, daemon: &D) -> std::io::Result<D::DevOrPath> {
        daemon.dev_or_path(self)
    }
}

impl<D: Checks + ?Sized, T: Arg<D>> Arg<D> for Vec<T> {
    type Checked = Vec<T::Checked>;
    fn check(self, daemon: &D) -> std::io::Result<Self::Checked> {
        self.into_iter().map(|v| v.check(daemon)).collect()
    }
}

/// Types that arrive as they came.
macro_rules! unchecked_args {
    ($($t:ty),* $(,)?) => {$(
        impl<D: Checks + ?Sized> Arg<D> for $t {
            type Checked = $t;
            fn check(self, _: &D) -> std::io::Result<$t> {
                Ok(self)
            }
        }
    )*};
}
unchecked_args!(
    crate::fish::OptString,
    bool,
    i32,
    i64,
    u32,
    u64,
    String,
    GuestPath,
    LinkTarget,
    VolumeName,
    Data,
    Mode,
    ByteSize,
    FsType,
    ChecksumType,
    Compression,
    FileHandle,
    PartTableType,
    PartKind,
    Secret,
);

/// Runs the check of a `needs:` key (a misspelt need does not compile).
macro_rules! needs {
    (root, $daemon:expr) => {
        $crate::generate::Checks::need_root($daemon)?
    };
}

macro_rules! needs_root {
    () => {
        false
    };
    (root) => {
        true
    };
}

macro_rules! access {
    (Read) => {
        $crate::generate::Access::Read
    };
    (Write) => {
        $crate::generate::Access::Write
    };
}

macro_rules! stream_kind {
    (None) => {
        $crate::generate::Stream::None
    };
    (Input) => {
        $crate::generate::Stream::Input
    };
    (Output) => {
        $crate::generate::Stream::Output
    };
}

/// One client method; the stream kind decides whether it takes a reader or a writer.
macro_rules! client_method {
    (None, $Variant:ident, $name:ident, [$($doc:literal)*], [$($arg:ident : $aty:ty),*], [$($opt:ident : $oty:ty),*], $ret:ty) => {
        $(#[doc = $doc])*
        ///
        #[doc = concat!("Optional arguments, if the operation has any, are left unset: set them on [`args::", stringify!($Variant), "`] and call [`run`](Self::run).")]
        #[allow(clippy::too_many_arguments)]
        fn $name(&self, $($arg: impl Into<$aty>,)*) -> Result<$ret, Self::Error> {
            let req = Request::$Variant(args::$Variant::new($($arg,)*));
            let bytes = self.call(req, CallStream::None)?;
            self.decode_reply(&bytes)
        }
    };
    (Input, $Variant:ident, $name:ident, [$($doc:literal)*], [$($arg:ident : $aty:ty),*], [$($opt:ident : $oty:ty),*], $ret:ty) => {
        $(#[doc = $doc])*
        ///
        /// The data is read from `input` until its end and streamed to the daemon.
        fn $name(&self, $($arg: impl Into<$aty>,)* input: &mut dyn std::io::Read) -> Result<$ret, Self::Error> {
            let req = Request::$Variant(args::$Variant::new($($arg,)*));
            let bytes = self.call(req, CallStream::Input(input))?;
            self.decode_reply(&bytes)
        }
    };
    (Output, $Variant:ident, $name:ident, [$($doc:literal)*], [$($arg:ident : $aty:ty),*], [$($opt:ident : $oty:ty),*], $ret:ty) => {
        $(#[doc = $doc])*
        ///
        /// The data the daemon streams back is written to `output`.
        fn $name(&self, $($arg: impl Into<$aty>,)* output: &mut dyn std::io::Write) -> Result<$ret, Self::Error> {
            let req = Request::$Variant(args::$Variant::new($($arg,)*));
            let bytes = self.call(req, CallStream::Output(output))?;
            self.decode_reply(&bytes)
        }
    };
}

/// Expands the table. See `ops.rs` for the grammar.
macro_rules! define_operations {
    (
        $(
            $(#[doc = $doc:literal])*
            $Variant:ident $name:ident ( $($arg:ident : $aty:ty),* $(,)? )
            $([ $($opt:ident : $oty:ty),* $(,)? ])?
            -> $ret:ty
            { group: $group:ident, access: $access:ident, stream: $stream:ident $(, needs: $needs:ident)? }
        )*
    ) => {
        /// The argument structs, one per operation, named like the operation.
        pub mod args {
            #[allow(unused_imports)]
            use $crate::types::*;
            $(
                $(#[doc = $doc])*
                #[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
                pub struct $Variant {
                    $(#[allow(missing_docs)] pub $arg: $aty,)*
                    $($(#[allow(missing_docs)] pub $opt: Option<$oty>,)*)?
                }

                impl $Variant {
                    /// The operation with its required arguments, its optional ones unset.
                    #[allow(clippy::too_many_arguments, clippy::new_without_default)]
                    pub fn new($($arg: impl Into<$aty>),*) -> Self {
                        $Variant { $($arg: $arg.into(),)* $($($opt: None,)*)? }
                    }
                    $($(
                        /// Sets this optional argument.
                        #[must_use]
                        pub fn $opt(mut self, value: impl Into<$oty>) -> Self {
                            self.$opt = Some(value.into());
                            self
                        }
                    )*)?
                }

                impl From<$Variant> for super::Request {
                    fn from(a: $Variant) -> Self {
                        super::Request::$Variant(a)
                    }
                }
            )*
        }

        /// One operation with its arguments: an [`args`] struct, built with its `new` (the
        /// required arguments) and a setter per optional argument, then run with
        /// [`Client::run`], as libguestfs's `_opts` calls take their optional arguments.
        pub trait Operation: Into<Request> {
            /// What the operation returns.
            type Reply: serde::de::DeserializeOwned;
            /// Whether the operation streams bytes to or from the daemon.
            const STREAM: $crate::generate::Stream;
        }

        // Outside `args`, where a result type's name means what it means in the table (an
        // argument struct can share it: `args::Stat` is the operation, `Stat` its result).
        $(
            impl Operation for args::$Variant {
                type Reply = $ret;
                const STREAM: $crate::generate::Stream = stream_kind!($stream);
            }
        )*

        /// A request for one operation. Variants are appended, never reordered: the order is
        /// the wire encoding.
        // mke2fs's 38 optional arguments make its variant the largest by far; a request is
        // built and moved once per call, so boxing it would buy nothing.
        #[allow(clippy::large_enum_variant)]
        #[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
        pub enum Request {
            $(
                $(#[doc = $doc])*
                $Variant(args::$Variant),
            )*
        }

        /// The result of any operation, for front ends that print whatever comes back.
        #[derive(Debug, serde::Serialize)]
        #[serde(untagged)]
        pub enum Reply {
            $(
                #[allow(missing_docs)]
                $Variant($ret),
            )*
        }

        /// The table itself, for help, completion and access checks.
        pub static OPERATIONS: &[OpInfo] = &[
            $(
                OpInfo {
                    name: stringify!($name),
                    doc: concat!($($doc, "\n",)*),
                    group: stringify!($group),
                    access: access!($access),
                    stream: stream_kind!($stream),
                    args: &[
                        $(ArgInfo { name: $crate::generate::arg_name(stringify!($arg)), kind: <$aty as $crate::shell::ShellArg>::KIND, optional: false },)*
                        $($(ArgInfo { name: $crate::generate::arg_name(stringify!($opt)), kind: <$oty as $crate::shell::ShellArg>::KIND, optional: true },)*)?
                    ],
                    needs_root: needs_root!($($needs)?),
                    ret: stringify!($ret),
                },
            )*
        ];

        impl Request {
            /// The operation's entry in the table.
            pub fn info(&self) -> &'static OpInfo {
                let mut _index = 0usize;
                $(
                    if let Request::$Variant(_) = self {
                        return &OPERATIONS[_index];
                    }
                    _index += 1;
                )*
                unreachable!("every request variant has a table entry")
            }

            /// The operation's name.
            pub fn name(&self) -> &'static str {
                self.info().name
            }

            /// `name arg1 arg2` with the required arguments, for error messages.
            pub fn summary(&self) -> String {
                match self {
                    $(
                        Request::$Variant(_a) => {
                            #[allow(unused_mut)]
                            let mut s = String::from(stringify!($name));
                            $(
                                s.push(' ');
                                s.push_str(&$crate::shell::Brief::brief(&_a.$arg));
                            )*
                            s
                        }
                    )*
                }
            }

            /// Builds a request from shell words: `name` then the required arguments in order,
            /// then optional ones as `name:value`.
            pub fn from_words(name: &str, words: &[String]) -> Result<Request, ArgError> {
                let op = name.replace('-', "_");
                $(
                    if op == stringify!($name) {
                        let required: &[&str] = &[$($crate::generate::arg_name(stringify!($arg))),*];
                        let known: &[&str] = &[$($($crate::generate::arg_name(stringify!($opt))),*)?];
                        let (req_words, opt_words) = words.split_at(required.len().min(words.len()));
                        let mut _it = req_words.iter();
                        let _optional = $crate::shell::split_optional(name, opt_words, known)?;
                        return Ok(Request::$Variant(args::$Variant {
                            $($arg: $crate::shell::parse_required::<$aty>(name, $crate::generate::arg_name(stringify!($arg)), _it.next())?,)*
                            $($($opt: $crate::shell::parse_optional::<$oty>(name, $crate::generate::arg_name(stringify!($opt)), &_optional)?,)*)?
                        }));
                    }
                )*
                Err(ArgError(format!("unknown command '{name}': 'help' lists the commands")))
            }

            /// Builds a request for the operation `name` (the table's name) from typed values
            /// (see [`ArgSource`](crate::generate::ArgSource)), asking for each argument in
            /// the table's order.
            pub fn from_source<S: $crate::generate::ArgSource>(name: &str, _source: &mut S) -> Result<Request, ArgError> {
                $(
                    if name == stringify!($name) {
                        return Ok(Request::$Variant(args::$Variant {
                            $($arg: _source.required::<$aty>(name, $crate::generate::arg_name(stringify!($arg)))?,)*
                            $($($opt: _source.optional::<$oty>(name, $crate::generate::arg_name(stringify!($opt)))?,)*)?
                        }));
                    }
                )*
                Err(ArgError(format!("unknown operation '{name}'")))
            }
        }

        impl Reply {
            /// Decodes the reply payload of `request`.
            pub fn decode(request: &Request, bytes: &[u8]) -> Result<Reply, $crate::codec::CodecError> {
                Ok(match request {
                    $(Request::$Variant(_) => Reply::$Variant($crate::codec::decode::<$ret>(bytes)?),)*
                })
            }
        }

        impl $crate::value::GuestfsValue for Reply {
            fn guestfs_value(&self) -> $crate::value::Value {
                match self {
                    $(Reply::$Variant(v) => $crate::value::GuestfsValue::guestfs_value(v),)*
                }
            }
        }

        impl $crate::shell::ShellText for Reply {
            fn shell_text(&self, out: &mut Vec<u8>, escape: bool) {
                match self {
                    $(Reply::$Variant(v) => v.shell_text(out, escape),)*
                }
            }
        }

        /// The daemon side: one method per operation, and no default: an operation in the
        /// table without an implementation does not compile. Operations return `io::Result`
        /// so the errno reaches the host intact. Each receives its arguments as [`dispatch`]
        /// checked them (see [`Checks`](crate::generate::Checks)).
        pub trait Daemon: $crate::generate::Checks {
            /// Per-call context: request id, cancellation, the stream of streaming operations.
            type Call;
            $(
                $(#[doc = $doc])*
                #[allow(clippy::too_many_arguments)]
                fn $name(
                    &self,
                    call: &mut Self::Call,
                    $($arg: <$aty as $crate::generate::Arg<Self>>::Checked,)*
                    $($($opt: Option<<$oty as $crate::generate::Arg<Self>>::Checked>,)*)?
                ) -> std::io::Result<$ret>;
            )*
        }

        /// The daemon's stub: runs the checks the entry implies (`needs: root` first, then
        /// each argument in order, see [`Arg`](crate::generate::Arg)), then the operation,
        /// and encodes its result.
        pub fn dispatch<D: Daemon + ?Sized>(daemon: &D, call: &mut D::Call, request: Request) -> std::io::Result<Vec<u8>> {
            match request {
                $(
                    Request::$Variant(_a) => {
                        $(needs!($needs, daemon);)?
                        let value = daemon.$name(
                            call,
                            $($crate::generate::Arg::check(_a.$arg, daemon)?,)*
                            $($(_a.$opt.map(|v| $crate::generate::Arg::check(v, daemon)).transpose()?,)*)?
                        )?;
                        Ok($crate::codec::encode(&value)?)
                    }
                )*
            }
        }

        /// The host side: one method per operation over any transport that can carry a
        /// request and bring back its reply.
        pub trait Client {
            /// The transport's error type.
            type Error: From<$crate::codec::CodecError>;

            /// Sends one request (with its stream) and waits for its encoded reply.
            fn call(&self, request: Request, stream: CallStream<'_>) -> Result<Vec<u8>, Self::Error>;

            /// Decodes a reply payload.
            fn decode_reply<T: serde::de::DeserializeOwned>(&self, bytes: &[u8]) -> Result<T, Self::Error> {
                Ok($crate::codec::decode(bytes)?)
            }

            /// Runs `op`, an [`args`] struct with the optional arguments it sets:
            /// `h.run(args::Mkfs::new("ext4", "/dev/sda1").label("root"))`. A streaming
            /// operation takes its stream from [`run_stream`](Self::run_stream).
            fn run<O: Operation>(&self, op: O) -> Result<O::Reply, Self::Error> {
                self.run_stream(op, CallStream::None)
            }

            /// [`run`](Self::run) with the bytes a streaming operation sends or receives.
            fn run_stream<O: Operation>(&self, op: O, stream: CallStream<'_>) -> Result<O::Reply, Self::Error> {
                let bytes = self.call(op.into(), stream)?;
                self.decode_reply(&bytes)
            }

            $(
                client_method!($stream, $Variant, $name, [$($doc)*], [$($arg : $aty),*], [$($($opt : $oty),*)?], $ret);
            )*
        }
    };
}
