//! The wasmnf filter ABI, version 3: every name, number and layout a filter
//! and a host agree on. `docs/abi.md` is the prose form of this module; a
//! test keeps the two in step.

/// The ABI version this engine implements.
pub const ABI_VERSION: u32 = 3;

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
    use wasmnf_common::ffi::verdict;
    /// Drop the packet (`NF_DROP`).
    pub const DROP: i32 = verdict::DROP as i32;
    /// Let the packet continue (`NF_ACCEPT`).
    pub const ACCEPT: i32 = verdict::ACCEPT as i32;
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
    /// The host's parse of the network layer ([`crate::abi::PktInfo`]), as
    /// one `u64`: bits 0..32 the transport offset, 32..40 the transport
    /// protocol, 40..48 the fragment position, 48..56 the [`super::l4_flags`],
    /// 56..64 zero. All zero if the packet does not start with a complete IP
    /// header of its family. The same bits as window bytes
    /// [`super::window::L4_OFFSET`]`..+8`, little-endian.
    pub const L4: i32 = 7;
    /// Source port in bits 0..16, destination port in bits 16..32, for TCP
    /// and UDP when [`super::l4_flags::PORTS`] is set, else zero. The same
    /// bits as window bytes [`super::window::SPORT`]`..+4`, little-endian.
    pub const PORTS: i32 = 8;
}

/// Bits of the flags byte of the host's network-layer parse
/// ([`window::L4_FLAGS`], bits 48..56 of [`ctx_field::L4`]).
pub mod l4_flags {
    /// The packet starts with a complete IP header of its family: the
    /// transport offset, protocol and fragment position are valid (else they
    /// are zero). Set exactly when the transport offset is not zero.
    pub const IP: u8 = 1 << 0;
    /// The packet is TCP or UDP, not a non-first fragment, and holds the
    /// first 4 bytes of the transport header: the ports are valid (else they
    /// are zero).
    pub const PORTS: u8 = 1 << 1;
}

/// Where a packet sits in a fragmented datagram, numbered as the ABI's
/// fragment field ([`window::FRAGMENT`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Fragment {
    /// Not fragmented (or an IPv6 atomic fragment: offset 0, M flag clear).
    #[default]
    No = 0,
    /// The first fragment: offset 0, more fragments follow. It carries the
    /// transport header.
    First = 1,
    /// A later fragment: no transport header.
    NonFirst = 2,
}

/// The network-layer facts the host parses for a filter, as nftables'
/// `nft_pktinfo` does for its rules: the transport protocol (after IPv6
/// extension headers), the fragment position, the transport header's
/// offset, and the TCP or UDP ports. The ABI hands them to the filter in the
/// staging window (bytes 40..52) and as `ctx` fields `l4` and `ports`
/// ([`PktInfo::encode`]). The host parses them with `PktInfo::parse`
/// (`crate::packet`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PktInfo {
    /// The transport protocol: the IPv4 protocol field, or the IPv6 next
    /// header after the extension headers walked.
    pub protocol: u8,
    /// Fragment position.
    pub fragment: Fragment,
    /// Offset of the transport header (it may lie past the end of a
    /// truncated packet).
    pub l4_offset: u32,
    /// Source and destination port, for TCP and UDP when the packet holds
    /// the transport header's first 4 bytes and is not a non-first fragment.
    pub ports: Option<(u16, u16)>,
}

impl PktInfo {
    /// The ABI's encoding of a parse result: the `l4` and `ports` context
    /// fields, which are also the little-endian contents of window bytes
    /// 40..48 and 48..52 (see [`crate::abi::window`] and
    /// [`crate::abi::l4_flags`]). `None` encodes as zeros.
    #[inline]
    pub fn encode(info: Option<&PktInfo>) -> (u64, u32) {
        let Some(i) = info else {
            return (0, 0);
        };
        let (flags, ports) = match i.ports {
            Some((s, d)) => (
                l4_flags::IP | l4_flags::PORTS,
                u32::from(s) | u32::from(d) << 16,
            ),
            None => (l4_flags::IP, 0),
        };
        let l4 = u64::from(i.l4_offset)
            | u64::from(i.protocol) << 32
            | u64::from(i.fragment as u8) << 40
            | u64::from(flags) << 48;
        (l4, ports)
    }
}

/// Layout of the staging window. Before each call, a host copies the hook
/// context and the first [`window::PACKET_MAX`] bytes of the packet into the
/// filter's memory at the address the filter exports as
/// [`EXPORT_WINDOW`], with the host's parse of the network layer
/// ([`PktInfo`]). All integers in the context block are little-endian
/// (Wasm's own byte order); packet bytes are as on the wire. Bytes 28..32
/// and 52..64 are reserved.
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
    /// Offset of the transport header's offset (`u32`; 0 if the packet does
    /// not start with a complete IP header of its family). Bytes
    /// `L4_OFFSET..L4_OFFSET + 8` read as a `u64` are [`super::ctx_field::L4`].
    pub const L4_OFFSET: usize = 40;
    /// Offset of the transport protocol (`u8`), after IPv6 extension headers.
    pub const L4_PROTO: usize = 44;
    /// Offset of the fragment position (`u8`): 0 not fragmented, 1 first
    /// fragment, 2 non-first fragment ([`super::Fragment`]).
    pub const FRAGMENT: usize = 45;
    /// Offset of the flags (`u8`, [`super::l4_flags`]); byte 47 is zero.
    pub const L4_FLAGS: usize = 46;
    /// Offset of the TCP or UDP source port (`u16`, as a value; 0 unless
    /// [`super::l4_flags::PORTS`]). Bytes `SPORT..SPORT + 4` read as a `u32`
    /// are [`super::ctx_field::PORTS`].
    pub const SPORT: usize = 48;
    /// Offset of the TCP or UDP destination port (`u16`, as [`SPORT`]).
    pub const DPORT: usize = 50;
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
    ("map_lookup", "(i32, i32, i32) -> i32"),
    ("map_lookup_pkt", "(i32, i32, i32) -> i32"),
    ("map_update", "(i32, i32, i32, i32) -> i32"),
    ("map_delete", "(i32, i32) -> i32"),
    ("map_add", "(i32, i32, i32, i64) -> i32"),
];

/// Default and maximum resource limits (see [`crate::Limits`]), from the
/// contract crate (the kernel's netlink policy uses the same numbers).
pub use wasmnf_common::limits;
