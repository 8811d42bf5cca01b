//! The wasmnf filter ABI, version 1: every name, number and layout a filter
//! and a host agree on. `docs/abi.md` is the prose form of this module; a
//! test keeps the two in step.

/// The ABI version this engine implements.
pub const ABI_VERSION: u32 = 1;

/// The module name of every import a filter may use.
pub const IMPORT_MODULE: &str = "wasmnf";

/// Required export: `filter(len: i32) -> i32`, called once per packet.
pub const EXPORT_FILTER: &str = "filter";
/// Optional export: `init() -> i32`, called once per instance after
/// instantiation; `0` means ready, anything else fails the load.
pub const EXPORT_INIT: &str = "init";
/// Optional export: the filter's linear memory.
pub const EXPORT_MEMORY: &str = "memory";
/// Optional export: an immutable `i32` global holding the address of the
/// filter's staging window (see [`window`]).
pub const EXPORT_WINDOW: &str = "wasmnf_window";

/// Verdict values a filter returns. Any other value is an invalid verdict:
/// counted, and the filter's failure policy decides the packet.
pub mod verdict {
    /// Drop the packet (`NF_DROP`).
    pub const DROP: i32 = 0;
    /// Let the packet continue (`NF_ACCEPT`).
    pub const ACCEPT: i32 = 1;
}

/// Fields of the hook context, as numbered for the `ctx` import.
pub mod ctx_field {
    /// Packet length in bytes, from the network header on.
    pub const LEN: i32 = 0;
    /// The netfilter hook ([`crate::Hook`] as a number).
    pub const HOOK: i32 = 1;
    /// The protocol family ([`crate::Family`] as a number).
    pub const FAMILY: i32 = 2;
    /// Input interface index, 0 if none.
    pub const IIF: i32 = 3;
    /// Output interface index, 0 if none.
    pub const OIF: i32 = 4;
    /// The packet mark (`skb->mark`).
    pub const MARK: i32 = 5;
    /// Timestamp in nanoseconds: monotonic clock in the kernel, capture time
    /// in `wasmnf replay`.
    pub const TSTAMP_NS: i32 = 6;
}

/// Layout of the staging window. Before each call, a host copies the hook
/// context and the first [`window::PACKET_MAX`] bytes of the packet into the
/// filter's memory at the address the filter exports as
/// [`EXPORT_WINDOW`]. All integers in the context block are little-endian
/// (Wasm's own byte order); packet bytes are as on the wire.
pub mod window {
    /// Offset of the packet length (`u32`).
    pub const LEN: usize = 0;
    /// Offset of the number of packet bytes staged (`u32`).
    pub const STAGED: usize = 4;
    /// Offset of the hook (`u32`).
    pub const HOOK: usize = 8;
    /// Offset of the protocol family (`u32`).
    pub const FAMILY: usize = 12;
    /// Offset of the input interface index (`u32`).
    pub const IIF: usize = 16;
    /// Offset of the output interface index (`u32`).
    pub const OIF: usize = 20;
    /// Offset of the mark (`u32`).
    pub const MARK: usize = 24;
    /// Offset of the timestamp in nanoseconds (`u64`).
    pub const TSTAMP_NS: usize = 32;
    /// Offset of the first staged packet byte.
    pub const PACKET: usize = 64;
    /// At most this many packet bytes are staged.
    pub const PACKET_MAX: usize = 128;
    /// Total size of the window the filter must reserve.
    pub const SIZE: usize = PACKET + PACKET_MAX;
    /// Required alignment of the window's address.
    pub const ALIGN: usize = 8;
}

/// Host functions a filter may import from [`IMPORT_MODULE`], with their
/// signatures in Wasm text notation. Nothing else may be imported.
pub const IMPORTS: &[(&str, &str)] = &[
    ("pkt_u8", "(i32) -> i32"),
    ("pkt_u16", "(i32) -> i32"),
    ("pkt_u32", "(i32) -> i32"),
    ("pkt_u64", "(i32) -> i64"),
    ("pkt_read", "(i32, i32, i32) -> i32"),
    ("ctx", "(i32) -> i64"),
    ("config_get", "(i32, i32, i32, i32) -> i32"),
    ("set_error", "(i32, i32) -> ()"),
];

/// Default and maximum resource limits (see [`crate::Limits`]).
pub mod limits {
    /// Largest module accepted, in bytes.
    pub const MODULE_SIZE_MAX: usize = 1 << 20;
    /// Default limit on linear memory, in 64 KiB pages.
    pub const MEMORY_PAGES_DEFAULT: u32 = 16;
    /// Hard limit on linear memory, in 64 KiB pages.
    pub const MEMORY_PAGES_MAX: u32 = 256;
    /// Default fuel per packet (roughly one unit per Wasm instruction).
    pub const FUEL_DEFAULT: u64 = 100_000;
    /// Largest fuel per packet a filter may ask for.
    pub const FUEL_MAX: u64 = 10_000_000;
    /// Default and maximum Wasm call depth.
    pub const CALL_DEPTH_DEFAULT: u32 = 64;
    /// Hard limit on Wasm call depth.
    pub const CALL_DEPTH_MAX: u32 = 1024;
    /// Size of each instance's value stack, in bytes.
    pub const VALUE_STACK_BYTES: usize = 64 * 1024;
    /// Largest function table, in elements.
    pub const TABLE_ELEMENTS_MAX: u32 = 4096;
}
