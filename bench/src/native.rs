//! The suite's filters as plain Rust on the network layer: the floor each
//! interpreted filter is measured against (`wasmnf-suite`'s `native`
//! column). Each is the same rule as its example filter (the suite checks
//! that they drop the same packets) and parses only what its rule needs,
//! as a hand-written in-kernel filter would.

use std::net::IpAddr;
use wasmnf_engine::{Ctx, Family};

/// A filter: `true` drops the packet. Stateful ones keep their state in the
/// closure.
pub type Native = Box<dyn FnMut(&[u8], &Ctx) -> bool>;

/// The transport layer as the engine's host parse finds it: protocol,
/// header offset, and whether the transport header is in this packet (not
/// a non-first fragment). IPv6 extension headers (hop-by-hop, routing,
/// destination options, fragment) are skipped.
#[derive(Clone, Copy)]
pub struct L4 {
    pub protocol: u8,
    pub offset: usize,
    pub first: bool,
}

fn be16(p: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes(p.get(at..at + 2)?.try_into().ok()?))
}

/// The transport layer of `pkt`, if its IP header is complete.
pub fn l4(pkt: &[u8], family: Family) -> Option<L4> {
    match family {
        Family::Ipv4 => {
            let ihl = usize::from(pkt.first()? & 0x0f) * 4;
            if ihl < 20 || pkt.len() < ihl {
                return None;
            }
            Some(L4 {
                protocol: pkt[9],
                offset: ihl,
                first: be16(pkt, 6)? & 0x1fff == 0,
            })
        }
        Family::Ipv6 => {
            let (mut next, mut off, mut first) = (*pkt.get(6)?, 40, true);
            if pkt.len() < 40 {
                return None;
            }
            for _ in 0..8 {
                match next {
                    0 | 43 | 60 => {
                        next = *pkt.get(off)?;
                        off += (usize::from(*pkt.get(off + 1)?) + 1) * 8;
                    }
                    44 => {
                        next = *pkt.get(off)?;
                        first &= be16(pkt, off + 2)? & 0xfff8 == 0;
                        off += 8;
                    }
                    _ => break,
                }
            }
            Some(L4 {
                protocol: next,
                offset: off,
                first,
            })
        }
    }
}

/// Destination port of a TCP or UDP packet whose ports are present.
fn dport(pkt: &[u8], l: &L4, protocol: u8) -> Option<u16> {
    (l.protocol == protocol && l.first)
        .then(|| be16(pkt, l.offset + 2))
        .flatten()
}

fn src(pkt: &[u8], family: Family) -> Option<IpAddr> {
    Some(match family {
        Family::Ipv4 => IpAddr::from(<[u8; 4]>::try_from(pkt.get(12..16)?).ok()?),
        Family::Ipv6 => IpAddr::from(<[u8; 16]>::try_from(pkt.get(8..24)?).ok()?),
    })
}

/// TCP flags of a TCP packet whose header is present.
fn tcp_flags(pkt: &[u8], l: &L4) -> Option<u8> {
    (l.protocol == 6 && l.first)
        .then(|| pkt.get(l.offset + 13).copied())
        .flatten()
}

/// IPv4 `/len` prefixes as `(network, mask)`.
fn v4_prefixes(prefixes: &[String]) -> Vec<(u32, u32)> {
    prefixes
        .iter()
        .map(|p| {
            let (a, len) = p.split_once('/').expect("a prefix");
            let a: std::net::Ipv4Addr = a.parse().expect("an IPv4 prefix");
            let mask = u32::MAX
                .checked_shl(32 - len.parse::<u32>().expect("a length"))
                .unwrap_or(0);
            (u32::from(a) & mask, mask)
        })
        .collect()
}

fn src_v4(pkt: &[u8], family: Family) -> Option<u32> {
    match family {
        Family::Ipv4 => Some(u32::from_be_bytes(pkt.get(12..16)?.try_into().ok()?)),
        Family::Ipv6 => None,
    }
}

pub fn accept_all() -> Native {
    Box::new(|_, _| false)
}

pub fn drop_port(port: u16) -> Native {
    Box::new(move |p, c| crate::native_drop_port(p, c.family, port))
}

/// `syn_flood max=MAX` (window 1 s): connection requests beyond `max` per
/// window are dropped.
pub fn syn_flood(max: u64) -> Native {
    let (mut start, mut syns) = (0u64, 0u64);
    Box::new(move |p, c| {
        let syn = l4(p, c.family)
            .and_then(|l| tcp_flags(p, &l))
            .is_some_and(|f| f & 0x12 == 0x02);
        if !syn {
            return false;
        }
        if syns == 0 || c.tstamp_ns.saturating_sub(start) >= 1_000_000_000 {
            (start, syns) = (c.tstamp_ns, 0);
        }
        syns += 1;
        syns > max
    })
}

/// `icmp_ratelimit` with its defaults (10 per second, burst 20): a token
/// bucket per source in a 1,024-slot table, slot by FNV-1a of the address.
pub fn icmp_ratelimit() -> Native {
    #[derive(Clone, Copy)]
    struct Bucket {
        src: Option<IpAddr>,
        micro: u64,
        last: u64,
    }
    let (rate, full) = (10u64, 20u64 * 1_000_000);
    let mut table = vec![
        Bucket {
            src: None,
            micro: 0,
            last: 0
        };
        1024
    ];
    Box::new(move |p, c| {
        let icmp = match (l4(p, c.family), c.family) {
            (Some(l), Family::Ipv4) => l.protocol == 1 && l.first && p.len() >= l.offset + 2,
            (Some(l), Family::Ipv6) => l.protocol == 58 && l.first && p.len() >= l.offset + 2,
            (None, _) => false,
        };
        let Some(ip) = src(p, c.family).filter(|_| icmp) else {
            return false;
        };
        let (v4, v6);
        let octets: &[u8] = match ip {
            IpAddr::V4(a) => {
                v4 = a.octets();
                &v4
            }
            IpAddr::V6(a) => {
                v6 = a.octets();
                &v6
            }
        };
        let mut h: u32 = 0x811c_9dc5;
        for &b in octets {
            h = (h ^ u32::from(b)).wrapping_mul(0x0100_0193);
        }
        let b = &mut table[h as usize % 1024];
        if b.src != Some(ip) {
            *b = Bucket {
                src: Some(ip),
                micro: full,
                last: c.tstamp_ns,
            };
        } else {
            let us = c.tstamp_ns.saturating_sub(b.last) / 1000;
            b.micro = b.micro.saturating_add(us.saturating_mul(rate)).min(full);
            b.last = c.tstamp_ns;
        }
        if b.micro >= 1_000_000 {
            b.micro -= 1_000_000;
            false
        } else {
            true
        }
    })
}

/// `dns_block names=...`: queries (UDP or TCP to port 53) for a listed
/// name or a name under one.
pub fn dns_block(names: &[String]) -> Native {
    let names: Vec<Vec<u8>> = names
        .iter()
        .map(|n| n.trim_end_matches('.').to_ascii_lowercase().into_bytes())
        .collect();
    Box::new(move |p, c| {
        let Some(l) = l4(p, c.family) else {
            return false;
        };
        let dns = if dport(p, &l, 17) == Some(53) {
            l.offset + 8
        } else if dport(p, &l, 6) == Some(53) {
            let Some(d) = p.get(l.offset + 12) else {
                return false;
            };
            l.offset + usize::from(d >> 4) * 4 + 2
        } else {
            return false;
        };
        let (Some(flags), Some(qd)) = (be16(p, dns + 2), be16(p, dns + 4)) else {
            return false;
        };
        if flags & 0x8000 != 0 || qd == 0 {
            return false;
        }
        let (mut name, mut off) = (Vec::with_capacity(64), dns + 12);
        loop {
            let Some(&label) = p.get(off) else {
                return false;
            };
            let label = usize::from(label);
            if label == 0 {
                break;
            }
            if label > 63 || name.len() + label + 1 > 255 {
                return false;
            }
            if !name.is_empty() {
                name.push(b'.');
            }
            let Some(bytes) = p.get(off + 1..off + 1 + label) else {
                return false;
            };
            name.extend(bytes.iter().map(u8::to_ascii_lowercase));
            off += 1 + label;
        }
        names.iter().any(|n| {
            name == *n
                || (name.len() > n.len()
                    && name.ends_with(n)
                    && name[name.len() - n.len() - 1] == b'.')
        })
    })
}

/// A deny list of IPv4 prefixes on the source, scanned in order (what
/// `cidr_list` and libpcap's `src net ... or ...` do).
pub fn prefix_list(prefixes: &[String]) -> Native {
    let nets = v4_prefixes(prefixes);
    Box::new(move |p, c| src_v4(p, c.family).is_some_and(|a| nets.iter().any(|&(n, m)| a & m == n)))
}

/// A deny set of any number of IPv4 prefixes on the source: the union of
/// their ranges, merged and sorted, searched by bisection (what a native
/// longest-prefix lookup costs when only membership matters).
pub fn prefix_set(prefixes: &[String]) -> Native {
    let mut ranges: Vec<(u32, u32)> = v4_prefixes(prefixes)
        .into_iter()
        .map(|(n, m)| (n, n | !m))
        .collect();
    ranges.sort_unstable();
    let mut merged: Vec<(u32, u32)> = Vec::with_capacity(ranges.len());
    for (lo, hi) in ranges {
        match merged.last_mut() {
            Some(last) if u64::from(lo) <= u64::from(last.1) + 1 => last.1 = last.1.max(hi),
            _ => merged.push((lo, hi)),
        }
    }
    Box::new(move |p, c| {
        src_v4(p, c.family).is_some_and(|a| {
            let i = merged.partition_point(|&(lo, _)| lo <= a);
            i > 0 && merged[i - 1].1 >= a
        })
    })
}

/// The suite's `firewall` rule set (`filters/firewall`): accept ACK-set
/// TCP, TCP to `tcp`, UDP to `udp`, ICMP of `icmp` types, ICMPv6 of
/// `icmp6` types, sources in the IPv4 `allow` prefixes; drop the rest.
pub fn firewall(
    tcp: &'static [u16],
    udp: &'static [u16],
    icmp: &'static [u8],
    icmp6: &'static [u8],
    allow: &[String],
) -> Native {
    let allow = v4_prefixes(allow);
    Box::new(move |p, c| {
        let Some(l) = l4(p, c.family) else {
            return true;
        };
        let accepted = match l.protocol {
            6 => {
                tcp_flags(p, &l).is_some_and(|f| f & 0x10 != 0)
                    || dport(p, &l, 6).is_some_and(|d| tcp.contains(&d))
            }
            17 => dport(p, &l, 17).is_some_and(|d| udp.contains(&d)),
            1 | 58 if l.first => {
                let types = if c.family == Family::Ipv6 {
                    icmp6
                } else {
                    icmp
                };
                let is_icmp = (l.protocol == 58) == (c.family == Family::Ipv6);
                is_icmp && p.len() >= l.offset + 2 && types.contains(&p[l.offset])
            }
            _ => false,
        };
        !(accepted || src_v4(p, c.family).is_some_and(|a| allow.iter().any(|&(n, m)| a & m == n)))
    })
}
