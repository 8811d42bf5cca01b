//! Drops packets by address prefix, looked up in longest-prefix maps the
//! host keeps: `deny` (a million prefixes) and `allow` (65,536), IPv4 and
//! IPv6 in each. Fill them from files (`wasmnf replay --map deny=@FILE`,
//! one prefix per line), or for a handful of prefixes from the
//! configuration: `deny=PREFIX,...`, `allow=PREFIX,...`. A packet whose
//! address is in `deny` is dropped. Giving `allow` (possibly empty:
//! `--config allow=` with `--map allow=@FILE`) turns on the allow list:
//! every packet whose address is in no `allow` prefix is dropped too.
//! `addr=src|dst` (default `src`) picks the address tested.
#![no_std]
use core::net::IpAddr;
use wasmnf_sdk::{
    config, entry, maps, AddrLookup, InitError, LpmMap, Packet, PacketAddr, State, Verdict,
};

maps! {
    /// Prefixes to drop (the value is free for the user: a list id, say).
    static DENY: LpmMap<IpAddr, u32> = "deny", 1_000_000;
    /// Prefixes to keep when any is given.
    static ALLOW: LpmMap<IpAddr, u32> = "allow", 65_536;
}

static WHICH: State<PacketAddr> = State::new(PacketAddr::Src);
static HAS_ALLOW: State<bool> = State::new(false);

/// Adds the prefixes of config `key` to `map`; whether `key` was given.
fn insert_config(key: &'static str, map: &LpmMap<IpAddr, u32>) -> Result<bool, InitError> {
    config::each(key, |cidr| {
        map.insert_cidr(cidr, &1)
            .map_err(|_| InitError::Message("a map is full"))
    })
}

fn init() -> Result<(), InitError> {
    insert_config("deny", &DENY)?;
    HAS_ALLOW.set(insert_config("allow", &ALLOW)?);
    WHICH.set(match config::one_of("addr", &["src", "dst"], 0)? {
        0 => PacketAddr::Src,
        _ => PacketAddr::Dst,
    });
    Ok(())
}

fn filter(pkt: &Packet) -> Verdict {
    // The host keys the maps by the packet's address (`map_lookup_pkt`).
    let which = WHICH.get();
    match DENY.contains_packet(pkt, which) {
        AddrLookup::NoAddress => return Verdict::Accept,
        AddrLookup::Found(_) => return Verdict::Drop,
        AddrLookup::Missing => {}
    }
    if HAS_ALLOW.get() && !ALLOW.contains_packet(pkt, which).is_found() {
        return Verdict::Drop;
    }
    Verdict::Accept
}

entry!(filter, init = init);
