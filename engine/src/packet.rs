//! What a filter sees: the packet (through [`PacketView`]) and its hook
//! context ([`Ctx`]).

use crate::abi::{Fragment, PktInfo};
use wasmnf_common::genl::{family, hook};

/// A netfilter hook, numbered as the kernel's `NF_INET_*`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[repr(u32)]
pub enum Hook {
    /// Before routing, on every incoming packet.
    #[default]
    Prerouting = hook::PREROUTING,
    /// Incoming packets for this host.
    Input = hook::INPUT,
    /// Packets routed through this host.
    Forward = hook::FORWARD,
    /// Locally generated packets.
    Output = hook::OUTPUT,
    /// After routing, on every outgoing packet.
    Postrouting = hook::POSTROUTING,
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
        Hook::ALL.into_iter().find(|h| *h as u32 == n)
    }
}

/// The protocol family of a packet, numbered as the kernel's `NFPROTO_*`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[repr(u32)]
pub enum Family {
    /// IPv4: the packet starts with an IPv4 header.
    #[default]
    Ipv4 = family::IPV4,
    /// IPv6: the packet starts with an IPv6 header.
    Ipv6 = family::IPV6,
}

impl Family {
    /// The family with `NFPROTO_*` number `n`.
    pub fn from_u32(n: u32) -> Option<Family> {
        [Family::Ipv4, Family::Ipv6]
            .into_iter()
            .find(|f| *f as u32 == n)
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

/// Most IPv6 extension headers walked; the header after the last one walked
/// is reported as the protocol, whatever it is.
const IPV6_EXT_MAX: usize = 8;

/// `N` bytes at `off`: from `linear` when they are there, else through
/// [`PacketView::copy_to`]; `None` if they are not all inside the packet.
#[inline(always)]
fn bytes_at<const N: usize>(pkt: &dyn PacketView, linear: &[u8], off: usize) -> Option<[u8; N]> {
    if let Some(b) = linear.get(off..).and_then(<[u8]>::first_chunk::<N>) {
        return Some(*b);
    }
    let mut b = [0; N];
    pkt.copy_to(off, &mut b).then_some(b)
}

/// An address of a packet, in network byte order (what `map_lookup_pkt`
/// keys a map by).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Addr {
    V4([u8; 4]),
    V6([u8; 16]),
}

impl Addr {
    /// The source (`dst` false) or destination address of `pkt`, which the
    /// hook says is of `family`: `None` unless the packet starts with a
    /// complete IP header of that family ([`PktInfo::parse`] finds one, the
    /// same condition as the SDK's `Packet::src_addr`; the transport ports
    /// are not read).
    #[inline]
    pub(crate) fn of(pkt: &dyn PacketView, family: Family, dst: bool) -> Option<Addr> {
        let linear = pkt.linear();
        let linear = &linear[..linear.len().min(pkt.len())];
        PktInfo::network(pkt, linear, family)?;
        Some(match family {
            Family::Ipv4 => Addr::V4(bytes_at(pkt, linear, if dst { 16 } else { 12 })?),
            Family::Ipv6 => Addr::V6(bytes_at(pkt, linear, if dst { 24 } else { 8 })?),
        })
    }
}

impl PktInfo {
    /// Parses the network layer of `pkt`, which the hook says is of
    /// `family`. `None` if the packet does not start with a complete IP
    /// header of that family:
    ///
    /// - IPv4: version 4, header length (IHL) at least 20 and at most the
    ///   packet length. The transport header follows the options; the
    ///   fragment position comes from the offset and the MF flag.
    /// - IPv6: version 6, at least 40 bytes. Then up to 8 extension headers
    ///   are walked: hop-by-hop (0), routing (43), destination options (60),
    ///   mobility (135), HIP (139) and shim6 (140), `(n + 1) * 8` bytes;
    ///   authentication (51), `(n + 2) * 4` bytes; fragment (44), 8 bytes,
    ///   giving the fragment position. Each needs its next-header and length
    ///   bytes (a fragment header its first 4 bytes) inside the packet, else
    ///   the parse fails; the last header may extend past the end.
    ///
    /// Reads at most a few bytes per header, from [`PacketView::linear`] when
    /// they are there; allocates nothing and never panics.
    #[inline(always)]
    pub fn parse(pkt: &dyn PacketView, family: Family) -> Option<PktInfo> {
        let linear = pkt.linear();
        let linear = &linear[..linear.len().min(pkt.len())];
        let (protocol, fragment, l4) = Self::network(pkt, linear, family)?;
        let ports = match (protocol, fragment) {
            (_, Fragment::NonFirst) => None,
            (6 | 17, _) => bytes_at::<4>(pkt, linear, l4).map(|[s0, s1, d0, d1]| {
                (u16::from_be_bytes([s0, s1]), u16::from_be_bytes([d0, d1]))
            }),
            _ => None,
        };
        Some(PktInfo {
            protocol,
            fragment,
            // At most 40 + 8 * 2048 for IPv6, 60 for IPv4.
            l4_offset: l4 as u32,
            ports,
        })
    }

    /// The network-layer part of [`PktInfo::parse`] (`linear` is `pkt`'s
    /// linear bytes, cut to its length): protocol, fragment position and
    /// transport offset, `None` exactly when `parse` is.
    #[inline(always)]
    fn network(
        pkt: &dyn PacketView,
        linear: &[u8],
        family: Family,
    ) -> Option<(u8, Fragment, usize)> {
        let len = pkt.len();
        Some(match family {
            Family::Ipv4 => {
                let [vihl, _, _, _, _, _, f0, f1, _, protocol] = bytes_at::<10>(pkt, linear, 0)?;
                let ihl = usize::from(vihl & 0x0f) * 4;
                if vihl >> 4 != 4 || ihl < 20 || ihl > len {
                    return None;
                }
                let frag = u16::from_be_bytes([f0, f1]);
                (
                    protocol,
                    fragment(frag & 0x1fff != 0, frag & 0x2000 != 0),
                    ihl,
                )
            }
            Family::Ipv6 => {
                let [v, _, _, _, _, _, mut next] = bytes_at::<7>(pkt, linear, 0)?;
                if v >> 4 != 6 || len < 40 {
                    return None;
                }
                let mut off = 40;
                let mut frag = Fragment::No;
                for _ in 0..IPV6_EXT_MAX {
                    let size = match next {
                        // Hop-by-hop, routing, destination options,
                        // mobility, HIP, shim6: 8-byte units, minus 1.
                        0 | 43 | 60 | 135 | 139 | 140 => {
                            let [n, l] = bytes_at::<2>(pkt, linear, off)?;
                            next = n;
                            (usize::from(l) + 1) * 8
                        }
                        // Authentication header: 4-byte units, minus 2.
                        51 => {
                            let [n, l] = bytes_at::<2>(pkt, linear, off)?;
                            next = n;
                            (usize::from(l) + 2) * 4
                        }
                        44 => {
                            let [n, _, f0, f1] = bytes_at::<4>(pkt, linear, off)?;
                            next = n;
                            let f = u16::from_be_bytes([f0, f1]);
                            frag = fragment(f & 0xfff8 != 0, f & 1 != 0);
                            8
                        }
                        _ => break,
                    };
                    off += size;
                }
                (next, frag, off)
            }
        })
    }
}

/// The fragment position from "offset is not zero" and "more fragments".
#[inline(always)]
fn fragment(offset: bool, more: bool) -> Fragment {
    match (offset, more) {
        (true, _) => Fragment::NonFirst,
        (false, true) => Fragment::First,
        (false, false) => Fragment::No,
    }
}
