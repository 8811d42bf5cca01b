//! Drops packets whose source is in the `blocklist` map.
#![no_std]
use core::net::IpAddr;
use wasmnf_sdk::{entry, maps, LpmMap, Packet, PacketAddr, Verdict};

maps! {
    static BLOCKLIST: LpmMap<IpAddr, u32> = "blocklist", 1_000_000;
}

fn filter(pkt: &Packet) -> Verdict {
    // The host keys the map by the packet's source, as `ip saddr @set` does.
    if BLOCKLIST.contains_packet(pkt, PacketAddr::Src).is_found() {
        Verdict::Drop
    } else {
        Verdict::Accept
    }
}

entry!(filter);
