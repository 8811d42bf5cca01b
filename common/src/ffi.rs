//! The engine object's C interface: the `#[repr(C)]` types and codes that
//! cross between `kmod-netfilter/engine-ffi` (which exports the
//! `wasmnf_engine_*` functions) and the kernel module (which imports them).
//! Both sides compile this file, so both check the layout assertions at the
//! end against the documented sizes and offsets.
//!
//! The functions themselves are declared on each side (an `extern "C"`
//! block in the module, `#[no_mangle]` definitions in `engine-ffi`), with
//! these types in their signatures.

use core::ffi::c_void;
#[cfg(target_pointer_width = "64")]
use core::mem::{offset_of, size_of};

/// A run's verdict as it crosses the interface: netfilter's own numbers,
/// so the hook returns it as is.
pub mod verdict {
    /// `NF_DROP`.
    pub const DROP: u32 = 0;
    /// `NF_ACCEPT`.
    pub const ACCEPT: u32 = 1;
}

/// [`RunResult::status`]: how a run ended.
pub mod status {
    /// The filter returned a verdict.
    pub const OK: u32 = 0;
    /// The filter trapped; `detail` is the [`super::TrapKind`] code.
    pub const TRAP: u32 = 1;
    /// The filter ran out of fuel.
    pub const OUT_OF_FUEL: u32 = 2;
    /// The filter returned a value that is not a verdict; `detail` is it.
    pub const INVALID_VERDICT: u32 = 3;
}

/// Why a run trapped, with the stable code that crosses the interface in
/// [`RunResult::detail`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(i32)]
pub enum TrapKind {
    /// `unreachable` (Rust panics end here).
    Unreachable = 1,
    /// A load or store outside linear memory.
    MemoryOutOfBounds = 2,
    /// Call depth or value stack exhausted.
    StackOverflow = 3,
    /// Integer division by zero or overflow.
    Arithmetic = 4,
    /// A bad indirect call or table access.
    Table = 5,
    /// A packet read past the end of the packet.
    PacketOutOfBounds = 6,
    /// A host function called with bad arguments.
    BadHostCall = 7,
    /// A host function given memory outside the filter's memory.
    HostMemoryOutOfBounds = 8,
    /// Anything else a tier reports.
    Other = 9,
    /// A map import given an id the filter does not declare.
    NoSuchMap = 10,
}

impl TrapKind {
    /// Every kind, in code order.
    pub const ALL: [TrapKind; 10] = [
        TrapKind::Unreachable,
        TrapKind::MemoryOutOfBounds,
        TrapKind::StackOverflow,
        TrapKind::Arithmetic,
        TrapKind::Table,
        TrapKind::PacketOutOfBounds,
        TrapKind::BadHostCall,
        TrapKind::HostMemoryOutOfBounds,
        TrapKind::Other,
        TrapKind::NoSuchMap,
    ];

    /// Its code.
    pub const fn code(self) -> i32 {
        self as i32
    }

    /// The kind with `code`; an unknown code is [`TrapKind::Other`].
    pub fn from_code(code: i32) -> TrapKind {
        TrapKind::ALL
            .into_iter()
            .find(|k| k.code() == code)
            .unwrap_or(TrapKind::Other)
    }

    /// What it means, in words.
    pub const fn describe(self) -> &'static str {
        match self {
            TrapKind::Unreachable => "unreachable executed",
            TrapKind::MemoryOutOfBounds => "memory access out of bounds",
            TrapKind::StackOverflow => "call stack exhausted",
            TrapKind::Arithmetic => "integer division by zero or overflow",
            TrapKind::Table => "bad indirect call",
            TrapKind::PacketOutOfBounds => "packet read out of bounds",
            TrapKind::BadHostCall => "bad argument to a wasmnf host function",
            TrapKind::HostMemoryOutOfBounds => "host function given memory out of bounds",
            TrapKind::Other => "other trap",
            TrapKind::NoSuchMap => "map import given an undeclared map id",
        }
    }
}

impl core::fmt::Display for TrapKind {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.describe())
    }
}

/// The outcome of one run, returned by value (12 bytes, in registers).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RunResult {
    /// [`verdict`], after the failure policy: what the hook returns.
    pub verdict: u32,
    /// [`status`].
    pub status: u32,
    /// The [`TrapKind`] code, or the invalid verdict's value; else 0.
    pub detail: i32,
}

impl RunResult {
    /// How the run ended, in words ([`StatusText`]).
    pub const fn status_text(&self) -> StatusText {
        StatusText {
            status: self.status,
            detail: self.detail,
        }
    }
}

/// A run's status in words: `ok`, `trap: <kind>`, `out of fuel` or
/// `invalid verdict <value>` (what `wasmnf_engine::Status` displays, and
/// the module's self-test logs).
#[derive(Clone, Copy, Debug)]
pub struct StatusText {
    /// A [`status`] code.
    pub status: u32,
    /// Its detail, as in [`RunResult::detail`].
    pub detail: i32,
}

impl core::fmt::Display for StatusText {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self.status {
            status::OK => f.write_str("ok"),
            status::TRAP => write!(f, "trap: {}", TrapKind::from_code(self.detail)),
            status::OUT_OF_FUEL => f.write_str("out of fuel"),
            _ => write!(f, "invalid verdict {}", self.detail),
        }
    }
}

/// A byte range owned by the engine object (its static data).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct Bytes {
    /// First byte (null when `len` is 0).
    pub ptr: *const u8,
    /// Length in bytes.
    pub len: usize,
}

/// The module's callback that copies packet bytes past the linear part:
/// `read(read_ctx, offset, dst, n)` copies `n` bytes from `offset` into
/// `dst` and returns false if the range is not in the packet.
pub type ReadFn = unsafe extern "C" fn(*const c_void, usize, *mut u8, usize) -> bool;

/// A packet as the module hands it to the engine: `linear_len` bytes
/// readable in place at `linear`, `len` bytes in all, the rest through
/// `read`. `read` may be null when the whole packet is linear.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct Packet {
    /// The linear part.
    pub linear: *const u8,
    /// Length of the linear part.
    pub linear_len: usize,
    /// Total length (at least `linear_len`).
    pub len: usize,
    /// Copies non-linear bytes.
    pub read: Option<ReadFn>,
    /// First argument of `read`.
    pub read_ctx: *const c_void,
}

/// The hook context of one packet (`wasmnf_engine::Ctx`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Ctx {
    /// `NF_INET_*` hook number.
    pub hook: u32,
    /// `NFPROTO_*` family.
    pub family: u32,
    /// Input interface index.
    pub iif: u32,
    /// Output interface index.
    pub oif: u32,
    /// Packet mark.
    pub mark: u32,
    /// Monotonic time in nanoseconds.
    pub tstamp_ns: u64,
}

/// How a filter is loaded (`wasmnf_engine::FilterOptions`).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct LoadOptions {
    /// Fuel per packet; 0 = the default.
    pub fuel: u64,
    /// Linear memory limit in pages; 0 = the default.
    pub memory_pages: u32,
    /// Failure policy: drop (true) or accept (false).
    pub fail_closed: bool,
    /// The configuration in its wire form (`key=value` lines); may be null
    /// when `config_len` is 0.
    pub config: *const u8,
    /// Length of `config`.
    pub config_len: usize,
    /// Bytes the filter's maps may take together; 0 = the default
    /// ([`super::maps::MEMORY_DEFAULT`]).
    pub map_memory: u64,
    /// Keys the hashing of the filter's hash maps (random per load).
    pub seed: u64,
    /// CPU ids that run instances (`nr_cpu_ids`): per-CPU maps keep this
    /// many rows, and instance `i` runs on CPU `i`.
    pub cpus: u32,
    /// Null, or the maps of the filter this one replaces
    /// (`wasmnf_engine_maps_share`): those that carry over are kept.
    pub keep_maps: *const c_void,
}

/// One map of a loaded filter, as the host reports it.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct MapInfo {
    /// The declaration, as its `wasmnf.maps` record
    /// ([`super::maps::Decl::encode`]).
    pub decl: [u8; super::maps::RECORD_SIZE],
    /// Bytes allocated for it.
    pub bytes: u64,
    /// Entries it holds (an array: its capacity).
    pub entries: u32,
    /// Value rows a host reads and writes: CPUs for per-CPU maps, else 1.
    pub rows: u32,
}

/// [`Refusal::code`]: why the engine refused a filter or an instance. The
/// kernel module answers each with its own errno (`docs/netlink.md`), so
/// userspace can tell a bad filter from a limit of the host.
pub mod refusal {
    /// The module is not a filter the ABI allows: not WebAssembly,
    /// malformed, invalid, or against the ABI (`EINVAL`).
    pub const INVALID: u32 = 1;
    /// Valid WebAssembly using a construct the engine does not run
    /// (`EOPNOTSUPP`).
    pub const UNSUPPORTED: u32 = 2;
    /// Over a limit of the host: module size, memory, table, load options
    /// (`E2BIG`).
    pub const LIMIT: u32 = 3;
    /// The configuration was refused (`EINVAL`).
    pub const CONFIG: u32 = 4;
    /// The filter's `init` failed, trapped or ran out of fuel
    /// (`ECANCELED`).
    pub const INIT: u32 = 5;
    /// The engine could not allocate (`ENOMEM`).
    pub const NO_MEMORY: u32 = 6;

    /// Linux's errno numbers the classes map to (x86_64 and every
    /// architecture with the generic numbers); the module asserts them
    /// against its bindings, the CLI against libc.
    pub mod errno {
        /// `EINVAL`.
        pub const EINVAL: i32 = 22;
        /// `EOPNOTSUPP`.
        pub const EOPNOTSUPP: i32 = 95;
        /// `E2BIG`.
        pub const E2BIG: i32 = 7;
        /// `ECANCELED`.
        pub const ECANCELED: i32 = 125;
        /// `ENOMEM`.
        pub const ENOMEM: i32 = 12;
    }

    /// The (positive) errno the kernel module answers a refusal of class
    /// `code` with: userspace tells a bad filter (`EINVAL`), a construct the
    /// engine does not run (`EOPNOTSUPP`), a failing `init` (`ECANCELED`)
    /// from a limit of the host (`E2BIG`) or memory (`ENOMEM`).
    pub const fn errno_of(code: u32) -> i32 {
        match code {
            UNSUPPORTED => errno::EOPNOTSUPP,
            LIMIT => errno::E2BIG,
            INIT => errno::ECANCELED,
            NO_MEMORY => errno::ENOMEM,
            _ => errno::EINVAL,
        }
    }
}

/// The longest refusal message kept, in bytes (longer ones are cut at a
/// character boundary).
pub const REFUSAL_MESSAGE_MAX: usize = 160;

/// Why the engine refused: a [`refusal`] code and a UTF-8 message. The
/// caller provides it; the engine fills it on refusal.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct Refusal {
    /// A [`refusal`] code; 0 when nothing was refused.
    pub code: u32,
    /// Bytes of `message` used.
    pub len: usize,
    /// The message, `len` bytes of UTF-8.
    pub message: [u8; REFUSAL_MESSAGE_MAX],
}

impl Refusal {
    /// Nothing refused yet.
    pub const fn new() -> Refusal {
        Refusal {
            code: 0,
            len: 0,
            message: [0; REFUSAL_MESSAGE_MAX],
        }
    }

    /// The message.
    pub fn message(&self) -> &str {
        let bytes = &self.message[..self.len.min(REFUSAL_MESSAGE_MAX)];
        match core::str::from_utf8(bytes) {
            Ok(s) => s,
            // Only the engine writes it, cutting at character boundaries;
            // keep what is valid if a caller did otherwise.
            Err(e) => core::str::from_utf8(&bytes[..e.valid_up_to()]).unwrap_or(""),
        }
    }

    /// Sets the code and the message (`args`, cut to fit).
    pub fn set(&mut self, code: u32, args: core::fmt::Arguments<'_>) {
        struct Cut<'a>(&'a mut Refusal);
        impl core::fmt::Write for Cut<'_> {
            fn write_str(&mut self, s: &str) -> core::fmt::Result {
                for ch in s.chars() {
                    let n = ch.len_utf8();
                    if self.0.len + n > REFUSAL_MESSAGE_MAX {
                        return Err(core::fmt::Error);
                    }
                    ch.encode_utf8(&mut self.0.message[self.0.len..]);
                    self.0.len += n;
                }
                Ok(())
            }
        }
        self.code = code;
        self.len = 0;
        let _ = core::fmt::Write::write_fmt(&mut Cut(self), args);
    }
}

impl Default for Refusal {
    fn default() -> Self {
        Refusal::new()
    }
}

// The layout both sides rely on (x86_64, the only target of the module).
// A change here changes the engine object's ABI: rebuild both sides.
// (Filters, built for wasm32, use only the crate's `maps` module.)
#[cfg(target_pointer_width = "64")]
const _: () = {
    assert!(size_of::<RunResult>() == 12);
    assert!(offset_of!(RunResult, status) == 4);
    assert!(offset_of!(RunResult, detail) == 8);
    assert!(size_of::<Bytes>() == 16);
    assert!(size_of::<Packet>() == 40);
    assert!(offset_of!(Packet, linear_len) == 8);
    assert!(offset_of!(Packet, len) == 16);
    assert!(offset_of!(Packet, read) == 24);
    assert!(offset_of!(Packet, read_ctx) == 32);
    assert!(size_of::<Ctx>() == 32);
    assert!(offset_of!(Ctx, family) == 4);
    assert!(offset_of!(Ctx, mark) == 16);
    assert!(offset_of!(Ctx, tstamp_ns) == 24);
    assert!(size_of::<LoadOptions>() == 64);
    assert!(offset_of!(LoadOptions, memory_pages) == 8);
    assert!(offset_of!(LoadOptions, fail_closed) == 12);
    assert!(offset_of!(LoadOptions, config) == 16);
    assert!(offset_of!(LoadOptions, config_len) == 24);
    assert!(offset_of!(LoadOptions, map_memory) == 32);
    assert!(offset_of!(LoadOptions, seed) == 40);
    assert!(offset_of!(LoadOptions, cpus) == 48);
    assert!(offset_of!(LoadOptions, keep_maps) == 56);
    assert!(size_of::<MapInfo>() == super::maps::RECORD_SIZE + 16);
    assert!(offset_of!(MapInfo, bytes) == super::maps::RECORD_SIZE);
    assert!(size_of::<Refusal>() == 16 + REFUSAL_MESSAGE_MAX);
    assert!(offset_of!(Refusal, len) == 8);
    assert!(offset_of!(Refusal, message) == 16);
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trap_codes_round_trip() {
        for k in TrapKind::ALL {
            assert_eq!(TrapKind::from_code(k.code()), k);
        }
        assert_eq!(TrapKind::from_code(0), TrapKind::Other);
        assert_eq!(TrapKind::from_code(-5), TrapKind::Other);
    }

    #[test]
    fn refusal_messages_are_cut_at_character_boundaries() {
        let mut r = Refusal::new();
        r.set(refusal::INVALID, format_args!("{}", "é".repeat(100)));
        assert_eq!(r.code, refusal::INVALID);
        assert_eq!(r.len, REFUSAL_MESSAGE_MAX);
        assert_eq!(r.message(), "é".repeat(80));
        r.set(refusal::LIMIT, format_args!("short"));
        assert_eq!((r.code, r.message()), (refusal::LIMIT, "short"));
        r.len = 3; // a caller's bad length keeps the valid prefix
        assert_eq!(r.message(), "sho");
    }
}
