//! A deterministic capture: a realistic mix of Ethernet frames from a fixed
//! seed, so every run and every machine benchmarks the same packets.

use etherparse::PacketBuilder;
use pcap::Linktype;
use wasmnf_ctl::capture::Frames;

/// The port the benchmark rule drops.
pub const PORT: u16 = 8080;

/// xorshift64*: small, fast, and the same everywhere.
pub struct Rng(u64);

impl Rng {
    /// A generator from `seed` (any value but 0 works; 0 is replaced).
    pub fn new(seed: u64) -> Self {
        Rng(seed.max(1))
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A value in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
}

const MAC_A: [u8; 6] = [0x02, 0, 0, 0, 0, 1];
const MAC_B: [u8; 6] = [0x02, 0, 0, 0, 0, 2];

/// Frame sizes: mostly small and full-size, some in between, 64-1514 bytes.
fn frame_size(rng: &mut Rng) -> usize {
    match rng.below(10) {
        0..=3 => 64 + rng.below(64) as usize,
        4..=5 => 128 + rng.below(1000) as usize,
        _ => 1400 + rng.below(115) as usize,
    }
}

fn dport(rng: &mut Rng) -> u16 {
    match rng.below(100) {
        0..=2 => PORT,
        3..=30 => 443,
        31..=45 => 80,
        46..=55 => 53,
        _ => 1024 + rng.below(60000) as u16,
    }
}

/// One frame: 42% IPv4 TCP, 25% IPv4 UDP, 14% IPv6 TCP, 10% IPv6 UDP,
/// 3% ICMP, 3% ICMPv6, 3% ARP; about 3% of TCP/UDP to [`PORT`].
pub fn frame(rng: &mut Rng) -> Vec<u8> {
    let size = frame_size(rng);
    let src4 = [
        10,
        rng.below(256) as u8,
        rng.below(256) as u8,
        1 + rng.below(254) as u8,
    ];
    let dst4 = [192, 0, 2, 1 + rng.below(254) as u8];
    let mut src6 = [0u8; 16];
    src6[..4].copy_from_slice(&[0x20, 0x01, 0x0d, 0xb8]);
    src6[8..].copy_from_slice(&rng.next_u64().to_be_bytes());
    let mut dst6 = src6;
    dst6[15] ^= 0x55;
    let sport = 1024 + rng.below(60000) as u16;
    let dp = dport(rng);
    let eth = PacketBuilder::ethernet2(MAC_A, MAC_B);
    let mut out = Vec::with_capacity(size);
    let kind = rng.below(100);
    let header = match kind {
        0..=41 | 67..=80 => 54 + if kind > 41 { 20 } else { 0 },
        _ => 42 + if (81..=90).contains(&kind) { 20 } else { 0 },
    };
    let payload = vec![0xa5u8; size.saturating_sub(header).max(6)];
    let res = match kind {
        0..=41 => eth
            .ipv4(src4, dst4, 64)
            .tcp(sport, dp, rng.next_u64() as u32, 65535)
            .ack(1)
            .write(&mut out, &payload),
        42..=66 => eth
            .ipv4(src4, dst4, 64)
            .udp(sport, dp)
            .write(&mut out, &payload),
        67..=80 => eth
            .ipv6(src6, dst6, 64)
            .tcp(sport, dp, rng.next_u64() as u32, 65535)
            .syn()
            .write(&mut out, &payload),
        81..=90 => eth
            .ipv6(src6, dst6, 64)
            .udp(sport, dp)
            .write(&mut out, &payload),
        91..=93 => eth
            .ipv4(src4, dst4, 64)
            .icmpv4_echo_request(1, rng.below(1000) as u16)
            .write(&mut out, &payload),
        94..=96 => eth
            .ipv6(src6, dst6, 64)
            .icmpv6_echo_request(1, rng.below(1000) as u16)
            .write(&mut out, &payload),
        _ => {
            // ARP request, padded to the 60-byte minimum.
            out.extend_from_slice(&[0xff; 6]);
            out.extend_from_slice(&MAC_A);
            out.extend_from_slice(&[0x08, 0x06, 0, 1, 0x08, 0, 6, 4, 0, 1]);
            out.extend_from_slice(&MAC_A);
            out.extend_from_slice(&src4);
            out.extend_from_slice(&[0; 6]);
            out.extend_from_slice(&dst4);
            out.resize(60, 0);
            Ok(())
        }
    };
    res.expect("etherparse writes to a Vec");
    out
}

/// `n` frames from `seed`, 10 µs apart, in memory.
pub fn generate(n: usize, seed: u64) -> Frames {
    let mut rng = Rng::new(seed);
    let mut frames = Frames::new(Linktype::ETHERNET);
    for i in 0..n {
        let f = frame(&mut rng);
        let len = f.len() as u32;
        frames.push(1_700_000_000_000_000_000 + i as u64 * 10_000, &f, len);
    }
    frames
}
