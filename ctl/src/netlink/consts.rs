//! Every number of the `wasmnf` generic-netlink family, version 1, in one
//! place. They must match the tables of `docs/netlink.md` (and
//! `kmod-netfilter/src/genl.rs`).

/// The family name registered with the generic-netlink controller.
pub const FAMILY_NAME: &str = "wasmnf";
/// The family version this client speaks.
pub const FAMILY_VERSION: u8 = 1;

/// Commands (`genlmsghdr.cmd`).
pub mod cmd {
    /// Load a filter (do, acked).
    pub const LOAD: u8 = 1;
    /// Unload a filter by name (do, acked).
    pub const UNLOAD: u8 = 2;
    /// One filter (do, with `NAME`) or all filters of the namespace (dump).
    pub const GET: u8 = 3;
}

/// Top-level attributes (`WASMNF_A_*`).
pub mod attr {
    /// NUL-terminated string, 1-31 bytes of `[A-Za-z0-9_.-]`.
    pub const NAME: u16 = 1;
    /// u32 netfilter hook (`NF_INET_*`).
    pub const HOOK: u16 = 2;
    /// u32 `NFPROTO_*`: inet, IPv4 or IPv6.
    pub const FAMILY: u16 = 3;
    /// s32 hook priority.
    pub const PRIORITY: u16 = 4;
    /// u64 fuel per packet.
    pub const FUEL: u16 = 5;
    /// u32 linear memory limit in pages.
    pub const MEMORY_PAGES: u16 = 6;
    /// u8 failure policy: [`super::ON_ERROR_ACCEPT`] or [`super::ON_ERROR_DROP`].
    pub const ON_ERROR: u16 = 7;
    /// Binary: `key=value` entries separated by `\n`.
    pub const CONFIG: u16 = 8;
    /// Binary: one piece of the module, 1 to [`super::CHUNK_MAX`] bytes.
    pub const WASM_CHUNK: u16 = 9;
    /// Flag: replace a filter of the same name.
    pub const REPLACE: u16 = 10;
    /// u32 (replies) module size in bytes.
    pub const WASM_SIZE: u16 = 11;
    /// u32 (replies) pre-created instances.
    pub const INSTANCES: u16 = 12;
    /// u32 (replies) the filter ABI version.
    pub const ABI_VERSION: u16 = 13;
    /// Nested (replies) counters, [`super::stats`].
    pub const STATS: u16 = 14;
    /// Padding for 64-bit attributes.
    pub const PAD: u16 = 15;
}

/// Attributes nested in [`attr::STATS`], all u64.
pub mod stats {
    /// Packets the filter ran on.
    pub const PACKETS: u16 = 1;
    /// Packets accepted.
    pub const ACCEPTED: u16 = 2;
    /// Packets dropped.
    pub const DROPPED: u16 = 3;
    /// Runs that trapped.
    pub const TRAPS: u16 = 4;
    /// Runs that ran out of fuel.
    pub const OUT_OF_FUEL: u16 = 5;
    /// Runs that returned neither accept nor drop.
    pub const INVALID_VERDICTS: u16 = 6;
    /// Nanoseconds spent running the filter, summed.
    pub const RUN_NS: u16 = 7;
    /// Padding for 64-bit attributes.
    pub const PAD: u16 = 8;
}

/// `WASMNF_A_FAMILY` values (`NFPROTO_*`).
pub mod family {
    /// `NFPROTO_INET`: IPv4 and IPv6.
    pub const INET: u32 = 1;
    /// `NFPROTO_IPV4`.
    pub const IPV4: u32 = 2;
    /// `NFPROTO_IPV6`.
    pub const IPV6: u32 = 10;
}

/// `WASMNF_A_ON_ERROR`: fail open.
pub const ON_ERROR_ACCEPT: u8 = 0;
/// `WASMNF_A_ON_ERROR`: fail closed.
pub const ON_ERROR_DROP: u8 = 1;

/// The largest `WASM_CHUNK` (and `CONFIG`) payload: one attribute cannot
/// exceed 64 KiB since `nla_len` is 16 bits.
pub const CHUNK_MAX: usize = 65000;
/// The longest filter name, in bytes (without the NUL).
pub const NAME_MAX: usize = 31;

/// `NLMSGERR_ATTR_MSG`: the extended-ack message in an error or done message.
pub const NLMSGERR_ATTR_MSG: u16 = 1;
/// Size of `struct nlmsghdr`.
pub const NLMSGHDR_LEN: usize = 16;
