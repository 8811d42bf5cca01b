//! A small stateless firewall, as an nftables input chain with policy drop
//! would be written: the rules accept, in this order, and a packet no rule
//! accepts is dropped.
//!
//! 1. `established=yes|no` (default `yes`): TCP segments with ACK set
//!    (established-looking traffic; nftables would use conntrack);
//! 2. `tcp=PORT,...`: TCP to these destination ports;
//! 3. `udp=PORT,...`: UDP to these destination ports;
//! 4. `icmp=TYPE,...`: ICMP (IPv4) messages of these types (8 echo request,
//!    0 echo reply, 3 destination unreachable, ...);
//! 5. `icmp6=TYPE,...`: ICMPv6 messages of these types (128 echo request,
//!    129 echo reply, 135/136 neighbour discovery, ...);
//! 6. `allow=PREFIX,...`: packets from these source prefixes (IPv4 or IPv6).
//!
//! At most 8 ports or types per protocol and 8 prefixes. Each list entry is
//! one rule: with `tcp=22,80,443 udp=53,123,443 icmp=8,0 icmp6=128
//! allow=10.1.0.0/16,10.2.0.0/16` the filter is a 12-rule chain (the
//! benchmark suite's `firewall`). A packet whose IP header is incomplete
//! matches no rule, so it is dropped too.
#![no_std]
use wasmnf_sdk::{config, entry, proto, InitError, List, Packet, PrefixSet, State, Verdict};

/// Up to 8 values of one rule kind.
type Rules<T> = List<T, 8>;

struct Policy {
    established: bool,
    tcp: Rules<u16>,
    udp: Rules<u16>,
    icmp: Rules<u8>,
    icmp6: Rules<u8>,
    allow: PrefixSet<8>,
}

static POLICY: State<Policy> = State::new(Policy {
    established: true,
    tcp: List::new(),
    udp: List::new(),
    icmp: List::new(),
    icmp6: List::new(),
    allow: PrefixSet::new(),
});

/// Parses config `key`, a comma-separated list, into `list`.
fn parse_list<T: Copy + core::str::FromStr>(
    key: &'static str,
    list: &mut Rules<T>,
) -> Result<(), InitError> {
    config::each(key, |v| {
        list.push(v)
            .then_some(())
            .ok_or(InitError::Message("more than 8 entries in one rule list"))
    })
    .map(|_| ())
}

fn init() -> Result<(), InitError> {
    let established = config::one_of("established", &["yes", "no"], 0)? == 0;
    POLICY.with(|p| {
        p.established = established;
        parse_list("tcp", &mut p.tcp)?;
        parse_list("udp", &mut p.udp)?;
        parse_list("icmp", &mut p.icmp)?;
        parse_list("icmp6", &mut p.icmp6)?;
        config::each("allow", |cidr| {
            p.allow
                .insert(cidr)
                .then_some(())
                .ok_or(InitError::Message("more than 8 prefixes in allow"))
        })
        .map(|_| ())
    })
}

/// Whether `v` is in `list`.
fn listed<T: Copy + PartialEq>(list: &Rules<T>, v: T) -> bool {
    list.iter().any(|x| x == v)
}

fn accepts(p: &Policy, pkt: &Packet) -> bool {
    // The host's parse: the protocol and, for TCP and UDP, the ports.
    let Some(protocol) = pkt.protocol() else {
        return false;
    };
    let by_protocol = match protocol {
        proto::TCP => pkt.tcp().is_some_and(|tcp| {
            (p.established && tcp.flags().is_some_and(|f| f.ack())) || listed(&p.tcp, tcp.dst_port)
        }),
        proto::UDP => pkt.udp().is_some_and(|u| listed(&p.udp, u.dst_port)),
        proto::ICMP | proto::ICMPV6 => pkt.icmp().is_some_and(|icmp| {
            let types = if icmp.v6 { &p.icmp6 } else { &p.icmp };
            listed(types, icmp.ty)
        }),
        _ => false,
    };
    if by_protocol {
        return true;
    }
    if p.allow.is_empty() {
        return false;
    }
    pkt.src_addr().is_some_and(|src| p.allow.contains(src))
}

fn filter(pkt: &Packet) -> Verdict {
    if POLICY.with(|p| accepts(p, pkt)) {
        Verdict::Accept
    } else {
        Verdict::Drop
    }
}

entry!(filter, init = init);
