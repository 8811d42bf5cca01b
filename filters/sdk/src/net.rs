//! Typed, in-place views of IPv4/IPv6, TCP, UDP, ICMP and ICMPv6 headers.

use crate::packet::{Family, Packet};
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

/// Most IPv6 extension headers walked before giving up.
const IPV6_EXT_MAX: usize = 8;

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
    pub fn l4(&self, protocol: u8) -> Option<usize> {
        (self.protocol == protocol && self.fragment != Fragment::NonFirst).then_some(self.l4_offset)
    }
}

impl Packet {
    /// The network layer's family, protocol, fragment position and
    /// transport offset, if the packet starts with a complete IP header of
    /// the family the hook reports (or, with no family, the version nibble).
    pub fn l3(&self) -> Option<L3> {
        let version = self.u8(0)? >> 4;
        let family = self.family().unwrap_or(match version {
            6 => Family::Ipv6,
            _ => Family::Ipv4,
        });
        match (family, version) {
            (Family::Ipv4, 4) => self.ipv4_l3(),
            (Family::Ipv6, 6) => self.ipv6_l3(),
            _ => None,
        }
    }

    fn ipv4_l3(&self) -> Option<L3> {
        let ihl = usize::from(self.u8(0)? & 0x0f) * 4;
        if ihl < 20 || ihl > self.len() {
            return None;
        }
        let frag = self.u16(6)?;
        let fragment = match (frag & 0x1fff, frag & 0x2000) {
            (0, 0) => Fragment::No,
            (0, _) => Fragment::First,
            _ => Fragment::NonFirst,
        };
        Some(L3 {
            family: Family::Ipv4,
            protocol: self.u8(9)?,
            fragment,
            l4_offset: ihl,
        })
    }

    fn ipv6_l3(&self) -> Option<L3> {
        if self.len() < 40 {
            return None;
        }
        let mut next = self.u8(6)?;
        let mut off = 40;
        let mut fragment = Fragment::No;
        for _ in 0..IPV6_EXT_MAX {
            match next {
                // Hop-by-hop, routing, destination options, mobility, HIP, shim6.
                0 | 43 | 60 | 135 | 139 | 140 => {
                    let len = (usize::from(self.u8(off + 1)?) + 1) * 8;
                    next = self.u8(off)?;
                    off += len;
                }
                // Authentication header: length in 4-byte units, minus 2.
                51 => {
                    let len = (usize::from(self.u8(off + 1)?) + 2) * 4;
                    next = self.u8(off)?;
                    off += len;
                }
                44 => {
                    let frag = self.u16(off + 2)?;
                    fragment = match (frag & 0xfff8, frag & 1) {
                        (0, 0) => Fragment::No,
                        (0, _) => Fragment::First,
                        _ => Fragment::NonFirst,
                    };
                    next = self.u8(off)?;
                    off += 8;
                }
                _ => break,
            }
        }
        Some(L3 {
            family: Family::Ipv6,
            protocol: next,
            fragment,
            l4_offset: off,
        })
    }

    /// The IP header with addresses, if the packet starts with a complete
    /// one (see [`Packet::l3`]).
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

    /// The TCP header, if the packet is TCP and its ports are present.
    pub fn tcp(&self) -> Option<Tcp> {
        let off = self.l3()?.l4(proto::TCP)?;
        let ports = self.u32(off)?;
        Some(Tcp {
            src_port: (ports >> 16) as u16,
            dst_port: ports as u16,
            offset: off,
            pkt: *self,
        })
    }

    /// The UDP header, if the packet is UDP and its ports are present.
    pub fn udp(&self) -> Option<Udp> {
        let off = self.l3()?.l4(proto::UDP)?;
        let ports = self.u32(off)?;
        Some(Udp {
            src_port: (ports >> 16) as u16,
            dst_port: ports as u16,
            offset: off,
        })
    }

    /// The ICMP (IPv4) or ICMPv6 (IPv6) header's type and code.
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

    /// Source and destination port of a TCP or UDP packet.
    pub fn ports(&self) -> Option<(u16, u16)> {
        let l3 = self.l3()?;
        if l3.fragment == Fragment::NonFirst || !matches!(l3.protocol, proto::TCP | proto::UDP) {
            return None;
        }
        let ports = self.u32(l3.l4_offset)?;
        Some(((ports >> 16) as u16, ports as u16))
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
    /// Whether `ip` is inside this prefix (never across families).
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
