//! Shared helpers for the integration tests: the built example filters, and
//! packets built with `etherparse` (network layer on, as netfilter hands them
//! to a hook).

use etherparse::PacketBuilder;
use std::path::PathBuf;
use wasmnf_engine::{Ctx, Family, Filter, FilterConfig, FilterOptions, Instance, LoadError, Tier};

/// Where the build script put the example filters' `.wasm` files.
pub fn filters_dir() -> PathBuf {
    PathBuf::from(env!("WASMNF_FILTERS_DIR"))
}

/// The bytes of example filter `name`.
pub fn wasm(name: &str) -> Vec<u8> {
    let path = filters_dir().join(format!("{name}.wasm"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Loads `wasm` with `config` entries and default limits, and instantiates it.
pub fn load_bytes(wasm: &[u8], config: &[&str]) -> Result<Instance, LoadError> {
    load_tier(wasm, config, Tier::Fast)
}

/// Default load options with `config` on `tier` (`Tier::Fast`: the fast
/// tier when it takes the module).
pub fn options(config: &[&str], tier: Tier) -> Result<FilterOptions, LoadError> {
    Ok(FilterOptions {
        config: FilterConfig::from_entries(config.iter().copied())?,
        tier,
        ..FilterOptions::default()
    })
}

/// Loads `wasm` with `config` on `tier` (see [`options`]).
pub fn load_tier(wasm: &[u8], config: &[&str], tier: Tier) -> Result<Instance, LoadError> {
    Filter::new(wasm, options(config, tier)?)?.instantiate()
}

/// Loads example filter `name` with `config`; panics with the load error.
pub fn load(name: &str, config: &[&str]) -> Instance {
    load_bytes(&wasm(name), config).unwrap_or_else(|e| panic!("loading {name}: {e}"))
}

/// The context a prerouting hook gives `pkt` (family from the version nibble).
pub fn ctx(pkt: &[u8]) -> Ctx {
    Ctx {
        family: match pkt.first().map(|b| b >> 4) {
            Some(6) => Family::Ipv6,
            _ => Family::Ipv4,
        },
        ..Ctx::default()
    }
}

/// Documentation prefixes, so no test packet names a real host.
pub const SRC4: [u8; 4] = [192, 0, 2, 1];
/// IPv4 destination.
pub const DST4: [u8; 4] = [198, 51, 100, 7];
/// IPv6 source (2001:db8::1).
pub const SRC6: [u8; 16] = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
/// IPv6 destination (2001:db8::2).
pub const DST6: [u8; 16] = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2];

fn build(builder: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
    let mut out = Vec::new();
    builder(&mut out);
    out
}

/// IPv4 UDP from `SRC4` to `DST4:dport`.
pub fn udp4(dport: u16, payload: &[u8]) -> Vec<u8> {
    build(|v| {
        PacketBuilder::ipv4(SRC4, DST4, 64)
            .udp(40000, dport)
            .write(v, payload)
            .unwrap()
    })
}

/// IPv6 UDP from `SRC6` to `DST6:dport`.
pub fn udp6(dport: u16, payload: &[u8]) -> Vec<u8> {
    build(|v| {
        PacketBuilder::ipv6(SRC6, DST6, 64)
            .udp(40000, dport)
            .write(v, payload)
            .unwrap()
    })
}

/// IPv4 TCP SYN from `src` to `DST4:dport`.
pub fn tcp4_syn_from(src: [u8; 4], dport: u16) -> Vec<u8> {
    build(|v| {
        PacketBuilder::ipv4(src, DST4, 64)
            .tcp(40000, dport, 1, 65535)
            .syn()
            .write(v, &[])
            .unwrap()
    })
}

/// IPv4 TCP SYN to `DST4:dport`.
pub fn tcp4(dport: u16) -> Vec<u8> {
    tcp4_syn_from(SRC4, dport)
}

/// IPv4 TCP ACK (no SYN) to `DST4:dport`.
pub fn tcp4_ack(dport: u16) -> Vec<u8> {
    build(|v| {
        PacketBuilder::ipv4(SRC4, DST4, 64)
            .tcp(40000, dport, 1, 65535)
            .ack(7)
            .write(v, b"data")
            .unwrap()
    })
}

/// IPv6 TCP SYN to `DST6:dport`.
pub fn tcp6(dport: u16) -> Vec<u8> {
    build(|v| {
        PacketBuilder::ipv6(SRC6, DST6, 64)
            .tcp(40000, dport, 1, 65535)
            .syn()
            .write(v, &[])
            .unwrap()
    })
}

/// IPv4 ICMP echo request from `src`.
pub fn icmp4_from(src: [u8; 4]) -> Vec<u8> {
    build(|v| {
        PacketBuilder::ipv4(src, DST4, 64)
            .icmpv4_echo_request(1, 1)
            .write(v, b"ping")
            .unwrap()
    })
}

/// IPv6 ICMPv6 echo request from `src`.
pub fn icmp6_from(src: [u8; 16]) -> Vec<u8> {
    build(|v| {
        PacketBuilder::ipv6(src, DST6, 64)
            .icmpv6_echo_request(1, 1)
            .write(v, b"ping")
            .unwrap()
    })
}

/// Adds 8 bytes of IPv4 options (NOP, NOP, NOP, EOL, zero padding) to an
/// IPv4 packet with a 20-byte header.
pub fn with_ipv4_options(pkt: &[u8]) -> Vec<u8> {
    assert_eq!(pkt[0], 0x45, "expects an IPv4 header without options");
    let mut out = pkt[..20].to_vec();
    out.extend_from_slice(&[1, 1, 1, 0, 0, 0, 0, 0]);
    out.extend_from_slice(&pkt[20..]);
    out[0] = 0x47;
    let total = (out.len() as u16).to_be_bytes();
    out[2..4].copy_from_slice(&total);
    out
}

/// Marks an IPv4 packet as a fragment at `offset_units` (8-byte units) with
/// the more-fragments flag as given. A non-first fragment carries payload
/// bytes where a transport header would be, so none is parsed.
pub fn ipv4_fragment(pkt: &[u8], offset_units: u16, more: bool) -> Vec<u8> {
    let mut out = pkt.to_vec();
    let v = offset_units & 0x1fff | if more { 0x2000 } else { 0 };
    out[6..8].copy_from_slice(&v.to_be_bytes());
    out
}

/// Inserts IPv6 extension headers after the 40-byte base header: each entry
/// is (header type, total length in bytes, a multiple of 8; fragment headers
/// are 8). A fragment header (44) gets `frag_offset_units` and the M flag.
pub fn with_ipv6_ext(
    pkt: &[u8],
    exts: &[(u8, usize)],
    frag_offset_units: u16,
    more: bool,
) -> Vec<u8> {
    let mut out = pkt[..40].to_vec();
    let mut next = pkt[6];
    let mut headers = Vec::new();
    // Build from the last header back so each carries the right next header.
    for &(ty, len) in exts.iter().rev() {
        let mut h = vec![0u8; len];
        h[0] = next;
        match ty {
            44 => {
                let v = frag_offset_units << 3 | u16::from(more);
                h[2..4].copy_from_slice(&v.to_be_bytes());
            }
            51 => h[1] = (len / 4 - 2) as u8,
            _ => h[1] = (len / 8 - 1) as u8,
        }
        headers.insert(0, h);
        next = ty;
    }
    out[6] = next;
    for h in headers {
        out.extend_from_slice(&h);
    }
    out.extend_from_slice(&pkt[40..]);
    let payload = (out.len() - 40) as u16;
    out[4..6].copy_from_slice(&payload.to_be_bytes());
    out
}

/// A DNS query for `name` (one question, type A) as a UDP payload.
pub fn dns_query(name: &str) -> Vec<u8> {
    let mut q = vec![0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
    for label in name.split('.') {
        q.push(label.len() as u8);
        q.extend_from_slice(label.as_bytes());
    }
    q.extend_from_slice(&[0, 0, 1, 0, 1]);
    q
}

/// xorshift64*: deterministic pseudo-random numbers (mutations), the same on
/// every run.
pub struct Rng(pub u64);

impl Rng {
    /// The next number.
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}
