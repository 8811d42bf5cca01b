//! Drops packets whose source is in the `blocklist` map.
#![no_std]
use core::net::IpAddr;
use wasmnf_sdk::{entry, maps, LpmMap, Packet, Verdict};

maps! {
    static BLOCKLIST: LpmMap<IpAddr, u32> = "blocklist", 1_000_000;
}

fn filter(pkt: &Packet) -> Verdict {
    match pkt.src_addr() {
        Some(src) if BLOCKLIST.lookup(&src).is_some() => Verdict::Drop,
        _ => Verdict::Accept,
    }
}

entry!(filter);
