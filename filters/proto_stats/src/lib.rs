//! Counts packets and bytes per IP protocol (TCP 6, UDP 17, ICMP 1, ...;
//! IPv6's next header) in the per-CPU array `protocols`: each CPU adds to
//! its own row, so counting takes no atomic shared by CPUs; a reader sums
//! the rows (`wasmnf map dump FILTER protocols` prints each CPU and the
//! sum). Accepts every packet.
#![no_std]
use wasmnf_sdk::{entry, maps, Packet, PerCpuArray, Verdict};

maps! {
    /// Per protocol number: packets, bytes.
    static PROTOCOLS: PerCpuArray<[u64; 2]> = "protocols", 256;
}

fn filter(pkt: &Packet) -> Verdict {
    if let Some(ip) = pkt.ip() {
        let proto = u32::from(ip.protocol);
        let _ = PROTOCOLS.add(proto, 0, 1);
        let _ = PROTOCOLS.add(proto, 1, pkt.len() as u64);
    }
    Verdict::Accept
}

entry!(filter);
