//! Typed, in-place views of IPv4/IPv6, TCP, UDP, ICMP and ICMPv6 headers.

use crate::packet::{Family, Packet};
use crate::sys;
use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use core::str::FromStr;

/// IP protocol numbers.
pub mod proto {
    /// ICMP.
    pub const ICMP: u8 = 1;
    /// TCP.
    pub const TCP: u8 = 6;
    /// UDP.
    pub const UDP: u8 = 17;
    /// ICMPv6.
    pub const ICMPV6: u8 = 58;
}

/// Where a packet sits in a fragmented datagram.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fragment {
    /// Not fragmented.
    No,
    /// The first fragment: it carries the transport header.
    First,
    /// A later fragment: no transport header.
    NonFirst,
}

/// The network-layer header, with IPv6 extension headers walked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ip {
    /// IPv4 or IPv6.
    pub family: Family,
    /// Source address.
    pub src: IpAddr,
    /// Destination address.
    pub dst: IpAddr,
    /// The transport protocol (after IPv6 extension headers).
    pub protocol: u8,
    /// TTL or hop limit.
    pub ttl: u8,
    /// Fragment position.
    pub fragment: Fragment,
    /// Offset of the transport header.
    pub l4_offset: usize,
}

/// The network layer without addresses: what transport parsing needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct L3 {
    /// IPv4 or IPv6.
    pub family: Family,
    /// The transport protocol (after IPv6 extension headers).
    pub protocol: u8,
    /// Fragment position.
    pub fragment: Fragment,
    /// Offset of the transport header.
    pub l4_offset: usize,
}

impl L3 {
    /// The transport header's offset if this packet carries `protocol` and
    /// holds the transport header (not a non-first fragment).
    #[inline]
    pub fn l4(&self, protocol: u8) -> Option<usize> {
        (self.protocol == protocol && self.fragment != Fragment::NonFirst).then_some(self.l4_offset)
    }
}

impl Packet {
    /// The network layer's family, protocol, fragment position and
    /// transport offset, if the packet starts with a complete IP header of
    /// the family the hook reports (IPv6 extension headers walked). The host
    /// parses this before the call (ABI v1 `l4` field); reading it costs a
    /// few loads from the staging window.
    #[inline]
    pub fn l3(&self) -> Option<L3> {
        let h = sys::host_l4();
        // The host reports a zero offset exactly when there is no IP header.
        if h.offset == 0 {
            return None;
        }
        Some(L3 {
            // The host parses only IPv4 (2) and IPv6 (10) packets.
            family: match self.family() {
                Some(Family::Ipv6) => Family::Ipv6,
                _ => Family::Ipv4,
            },
            protocol: h.protocol,
            fragment: match h.fragment {
                1 => Fragment::First,
                2 => Fragment::NonFirst,
                _ => Fragment::No,
            },
            l4_offset: h.offset as usize,
        })
    }

    /// The IP header with addresses, if the packet starts with a complete
    /// one (see [`Packet::l3`]).
    #[inline]
    pub fn ip(&self) -> Option<Ip> {
        let l3 = self.l3()?;
        let (src, dst, ttl) = match l3.family {
            Family::Ipv4 => (
                IpAddr::V4(Ipv4Addr::from(self.u32(12)?)),
                IpAddr::V4(Ipv4Addr::from(self.u32(16)?)),
                self.u8(8)?,
            ),
            Family::Ipv6 => (
                IpAddr::V6(Ipv6Addr::from(self.array::<16>(8)?)),
                IpAddr::V6(Ipv6Addr::from(self.array::<16>(24)?)),
                self.u8(7)?,
            ),
        };
        Some(Ip {
            family: l3.family,
            src,
            dst,
            protocol: l3.protocol,
            ttl,
            fragment: l3.fragment,
            l4_offset: l3.l4_offset,
        })
    }

    /// The source address, if the packet starts with a complete IP header
    /// ([`Packet::l3`]): the one field of [`Packet::ip`] an address rule
    /// needs, without building the whole [`Ip`] (two addresses, TTL,
    /// fragment state). Prefer it on the packet path.
    #[inline]
    pub fn src_addr(&self) -> Option<IpAddr> {
        self.addr(12, 8)
    }

    /// The destination address; see [`Packet::src_addr`].
    #[inline]
    pub fn dst_addr(&self) -> Option<IpAddr> {
        self.addr(16, 24)
    }

    /// The address at `v4` (IPv4) or `v6` (IPv6) bytes into the header.
    #[inline(always)]
    fn addr(&self, v4: usize, v6: usize) -> Option<IpAddr> {
        Some(match self.l3()?.family {
            Family::Ipv4 => IpAddr::V4(Ipv4Addr::from(self.u32(v4)?)),
            Family::Ipv6 => IpAddr::V6(Ipv6Addr::from(self.array::<16>(v6)?)),
        })
    }

    /// TCP or UDP ports and transport offset, if the host found the ports
    /// of a `protocol` packet.
    #[inline(always)]
    fn l4_ports(&self, protocol: u8) -> Option<(u16, u16, usize)> {
        let h = sys::host_l4();
        if h.flags & sys::L4_PORTS == 0 || h.protocol != protocol {
            return None;
        }
        let (src, dst) = sys::host_ports();
        Some((src, dst, h.offset as usize))
    }

    /// The TCP header, if the packet is TCP and its ports are present.
    #[inline]
    pub fn tcp(&self) -> Option<Tcp> {
        let (src_port, dst_port, offset) = self.l4_ports(proto::TCP)?;
        Some(Tcp {
            src_port,
            dst_port,
            offset,
            pkt: *self,
        })
    }

    /// The UDP header, if the packet is UDP and its ports are present.
    #[inline]
    pub fn udp(&self) -> Option<Udp> {
        let (src_port, dst_port, offset) = self.l4_ports(proto::UDP)?;
        Some(Udp {
            src_port,
            dst_port,
            offset,
        })
    }

    /// The ICMP (IPv4) or ICMPv6 (IPv6) header's type and code.
    #[inline]
    pub fn icmp(&self) -> Option<Icmp> {
        let l3 = self.l3()?;
        let v6 = l3.family == Family::Ipv6;
        let off = l3.l4(if v6 { proto::ICMPV6 } else { proto::ICMP })?;
        let type_code = self.u16(off)?;
        Some(Icmp {
            v6,
            ty: (type_code >> 8) as u8,
            code: type_code as u8,
        })
    }

    /// The transport protocol the host found (the IPv4 protocol, or the
    /// IPv6 next header after the extension headers), if the packet starts
    /// with a complete IP header: nftables' `meta l4proto`. Two loads from
    /// the staging window.
    #[inline]
    pub fn protocol(&self) -> Option<u8> {
        let h = sys::host_l4();
        (h.offset != 0).then_some(h.protocol)
    }

    /// Source and destination port of a TCP or UDP packet (not a non-first
    /// fragment, the ports inside the packet).
    #[inline]
    pub fn ports(&self) -> Option<(u16, u16)> {
        let h = sys::host_l4();
        (h.flags & sys::L4_PORTS != 0).then(sys::host_ports)
    }
}

/// A TCP header.
#[derive(Clone, Copy, Debug)]
pub struct Tcp {
    /// Source port.
    pub src_port: u16,
    /// Destination port.
    pub dst_port: u16,
    /// Offset of the TCP header in the packet.
    pub offset: usize,
    pkt: Packet,
}

impl Tcp {
    /// The flags, if the packet holds them.
    pub fn flags(&self) -> Option<TcpFlags> {
        self.pkt.u8(self.offset + 13).map(TcpFlags)
    }

    /// Whether this is a connection request: SYN set, ACK clear.
    pub fn is_syn(&self) -> bool {
        self.flags().is_some_and(|f| f.syn() && !f.ack())
    }
}

/// TCP flags.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TcpFlags(pub u8);

impl TcpFlags {
    /// FIN.
    pub fn fin(self) -> bool {
        self.0 & 0x01 != 0
    }
    /// SYN.
    pub fn syn(self) -> bool {
        self.0 & 0x02 != 0
    }
    /// RST.
    pub fn rst(self) -> bool {
        self.0 & 0x04 != 0
    }
    /// ACK.
    pub fn ack(self) -> bool {
        self.0 & 0x10 != 0
    }
}

/// A UDP header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Udp {
    /// Source port.
    pub src_port: u16,
    /// Destination port.
    pub dst_port: u16,
    /// Offset of the UDP header; the payload starts 8 bytes later.
    pub offset: usize,
}

/// An ICMP or ICMPv6 header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Icmp {
    /// ICMPv6 (else ICMP for IPv4).
    pub v6: bool,
    /// Message type.
    pub ty: u8,
    /// Message code.
    pub code: u8,
}

/// An IPv4 or IPv6 prefix such as `10.0.0.0/8` or `2001:db8::/32`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cidr {
    addr: IpAddr,
    prefix: u8,
}

impl Cidr {
    /// The network address.
    pub fn addr(&self) -> IpAddr {
        self.addr
    }

    /// The prefix length in bits.
    pub fn prefix(&self) -> u8 {
        self.prefix
    }

    /// Whether `ip` is inside this prefix (never across families). For many
    /// prefixes on the packet path, [`crate::PrefixSet`] is cheaper.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

impl FromStr for Cidr {
    type Err = ();

    /// `addr/prefix`, or a bare address (a /32 or /128).
    fn from_str(s: &str) -> Result<Self, ()> {
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr: IpAddr = addr.trim().parse().map_err(|_| ())?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(p) => p.trim().parse::<u8>().map_err(|_| ())?,
            None => max,
        };
        if prefix > max {
            return Err(());
        }
        Ok(Cidr { addr, prefix })
    }
}
