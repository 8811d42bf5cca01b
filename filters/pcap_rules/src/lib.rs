//! Test filter for the differential tests: drops exactly the packets a
//! libpcap expression matches, with libpcap's semantics (which differ from
//! the SDK's typed accessors: libpcap does not walk IPv6 extension headers
//! except one fragment header for `tcp`/`udp`/`icmp6`, and its `tcp`/`udp`
//! match IPv4 non-first fragments). Not an example to deploy.
//!
//! Config: `rule=` one of
//! - `tcp`, `udp`, `icmp` (libpcap `icmp or icmp6`), `ip6`, `frag`
//!   (libpcap `ip[6:2] & 0x1fff != 0`),
//! - `dst_port` with `port=N` (libpcap `dst port N`),
//! - `tcp_udp_dst_port` with `port=N` (libpcap `(tcp or udp) and dst port N`),
//! - `net` with `net=CIDR` (libpcap `net CIDR`: source or destination).
#![no_std]
use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use wasmnf_sdk::{config, entry, Cidr, Family, InitError, Packet, State, Verdict};

#[derive(Clone, Copy)]
enum Rule {
    Proto(u8, u8),
    Ip6,
    Frag,
    DstPort(u16, bool),
    Net(Cidr),
}

static RULE: State<Rule> = State::new(Rule::Ip6);

fn init() -> Result<(), InitError> {
    let rule = config::with("rule", |r| match r {
        "tcp" => Ok(Rule::Proto(6, 6)),
        "udp" => Ok(Rule::Proto(17, 17)),
        "icmp" => Ok(Rule::Proto(1, 58)),
        "ip6" => Ok(Rule::Ip6),
        "frag" => Ok(Rule::Frag),
        "dst_port" => Ok(Rule::DstPort(config::require("port")?, true)),
        "tcp_udp_dst_port" => Ok(Rule::DstPort(config::require("port")?, false)),
        "net" => Ok(Rule::Net(config::require("net")?)),
        _ => Err(InitError::Invalid("rule")),
    })?
    .ok_or(InitError::Missing("rule"))??;
    RULE.set(rule);
    Ok(())
}

/// libpcap's `ip6 proto P` for `tcp`/`udp`/`icmp6`: the next header, or the
/// header after one fragment header.
fn ip6_proto(pkt: &Packet, p: u8) -> bool {
    match pkt.u8(6) {
        Some(n) if n == p => true,
        Some(44) => pkt.u8(40) == Some(p),
        _ => false,
    }
}

fn matches(pkt: &Packet, rule: Rule) -> Option<bool> {
    let v6 = pkt.family()? == Family::Ipv6;
    Some(match rule {
        Rule::Proto(_, p6) if v6 => ip6_proto(pkt, p6),
        Rule::Proto(p4, _) => pkt.u8(9)? == p4,
        Rule::Ip6 => v6,
        Rule::Frag => !v6 && pkt.u16(6)? & 0x1fff != 0,
        // `dst port` also accepts SCTP; `(tcp or udp) and` does not.
        Rule::DstPort(port, sctp) if v6 => {
            let next = pkt.u8(6)?;
            (matches!(next, 6 | 17) || (sctp && next == 132)) && pkt.u16(42)? == port
        }
        Rule::DstPort(port, sctp) => {
            let proto = pkt.u8(9)?;
            let ihl = usize::from(pkt.u8(0)? & 0x0f) * 4;
            (matches!(proto, 6 | 17) || (sctp && proto == 132))
                && pkt.u16(6)? & 0x1fff == 0
                && pkt.u16(ihl + 2)? == port
        }
        Rule::Net(net) if v6 => {
            net.contains(IpAddr::V6(Ipv6Addr::from(pkt.array::<16>(8)?)))
                || net.contains(IpAddr::V6(Ipv6Addr::from(pkt.array::<16>(24)?)))
        }
        Rule::Net(net) => {
            net.contains(IpAddr::V4(Ipv4Addr::from(pkt.u32(12)?)))
                || net.contains(IpAddr::V4(Ipv4Addr::from(pkt.u32(16)?)))
        }
    })
}

fn filter(pkt: &Packet) -> Verdict {
    match matches(pkt, RULE.get()) {
        Some(true) => Verdict::Drop,
        _ => Verdict::Accept,
    }
}

entry!(filter, init = init);
