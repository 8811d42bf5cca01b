//! Counts packets and bytes per source address in the hash map `talkers`
//! (IPv4 as IPv4-mapped IPv6), shared by every CPU; accepts every packet.
//! Read it after a run with `wasmnf replay ... --dump-maps`. When the map is
//! full, new sources are counted in `overflow` (index 0: packets) instead.
#![no_std]
use core::net::{IpAddr, Ipv6Addr};
use wasmnf_sdk::{entry, maps, Array, HashMap, Packet, Verdict};

maps! {
    /// Per source: packets, bytes.
    static TALKERS: HashMap<Ipv6Addr, [u64; 2]> = "talkers", 65_536;
    /// Packets of sources that found the map full.
    static OVERFLOW: Array<u64> = "overflow", 1;
}

fn filter(pkt: &Packet) -> Verdict {
    let Some(ip) = pkt.ip() else {
        return Verdict::Accept;
    };
    let src = match ip.src {
        IpAddr::V4(a) => a.to_ipv6_mapped(),
        IpAddr::V6(a) => a,
    };
    if TALKERS.add(&src, 0, 1).is_ok() {
        let _ = TALKERS.add(&src, 1, pkt.len() as u64);
    } else {
        let _ = OVERFLOW.add(0, 0, 1);
    }
    Verdict::Accept
}

entry!(filter);
