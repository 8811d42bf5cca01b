//! What a filter sees: the packet (through [`PacketView`]) and its hook
//! context ([`Ctx`]).

/// A netfilter hook, numbered as the kernel's `NF_INET_*`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[repr(u32)]
pub enum Hook {
    /// Before routing, on every incoming packet.
    #[default]
    Prerouting = 0,
    /// Incoming packets for this host.
    Input = 1,
    /// Packets routed through this host.
    Forward = 2,
    /// Locally generated packets.
    Output = 3,
    /// After routing, on every outgoing packet.
    Postrouting = 4,
}

impl Hook {
    /// Every hook, in netfilter order.
    pub const ALL: [Hook; 5] = [
        Hook::Prerouting,
        Hook::Input,
        Hook::Forward,
        Hook::Output,
        Hook::Postrouting,
    ];

    /// The hook's name as the CLI and nftables spell it.
    pub fn name(self) -> &'static str {
        match self {
            Hook::Prerouting => "prerouting",
            Hook::Input => "input",
            Hook::Forward => "forward",
            Hook::Output => "output",
            Hook::Postrouting => "postrouting",
        }
    }

    /// Parses a hook name (`prerouting`, `input`, ...).
    pub fn from_name(name: &str) -> Option<Hook> {
        Hook::ALL.into_iter().find(|h| h.name() == name)
    }

    /// The hook with netfilter number `n`.
    pub fn from_u32(n: u32) -> Option<Hook> {
        Hook::ALL.get(n as usize).copied()
    }
}

/// The protocol family of a packet, numbered as the kernel's `NFPROTO_*`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[repr(u32)]
pub enum Family {
    /// IPv4: the packet starts with an IPv4 header.
    #[default]
    Ipv4 = 2,
    /// IPv6: the packet starts with an IPv6 header.
    Ipv6 = 10,
}

impl Family {
    /// The family with `NFPROTO_*` number `n`.
    pub fn from_u32(n: u32) -> Option<Family> {
        match n {
            2 => Some(Family::Ipv4),
            10 => Some(Family::Ipv6),
            _ => None,
        }
    }
}

/// The hook context of one packet, as a filter reads it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Ctx {
    /// The hook the packet is at.
    pub hook: Hook,
    /// IPv4 or IPv6.
    pub family: Family,
    /// Input interface index, 0 if none.
    pub iif: u32,
    /// Output interface index, 0 if none.
    pub oif: u32,
    /// The packet mark.
    pub mark: u32,
    /// Nanoseconds: monotonic time in the kernel, capture time in replay.
    pub tstamp_ns: u64,
}

/// Read access to one packet, from its network header on, in place.
///
/// The engine never copies a whole packet: it reads fields on the filter's
/// request and stages at most [`crate::abi::window::PACKET_MAX`] leading bytes.
/// Implementations: a byte slice in userspace; the skb in the kernel.
pub trait PacketView {
    /// The packet's length in bytes.
    fn len(&self) -> usize;

    /// Whether the packet is empty.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The leading bytes readable in place (an skb's linear part). Reads that
    /// fall inside it never call [`PacketView::read`].
    fn linear(&self) -> &[u8];

    /// Copies the bytes `[offset, offset + dst.len())` into `dst`. Returns
    /// `false`, leaving `dst` unspecified, if that range is not inside the
    /// packet. Called only for ranges not inside [`PacketView::linear`].
    fn read(&self, offset: usize, dst: &mut [u8]) -> bool;

    /// Copies the bytes at `offset` into `dst`, whether or not they are in the
    /// linear part. Returns `false` if the range is not inside the packet.
    fn copy_to(&self, offset: usize, dst: &mut [u8]) -> bool {
        match offset
            .checked_add(dst.len())
            .and_then(|end| self.linear().get(offset..end))
        {
            Some(bytes) => {
                dst.copy_from_slice(bytes);
                true
            }
            None => self.read(offset, dst),
        }
    }
}

impl PacketView for &[u8] {
    fn len(&self) -> usize {
        <[u8]>::len(self)
    }

    fn linear(&self) -> &[u8] {
        self
    }

    fn read(&self, offset: usize, dst: &mut [u8]) -> bool {
        // Everything is linear: a range outside `linear()` is outside the packet.
        let _ = (offset, dst);
        false
    }
}
