//! The host's network-layer parse (`abi::PktInfo`, ABI v1 `l4`/`ports`)
//! agrees with an independent parse built on etherparse: on every packet of
//! the captures in tests/data and of the benchmark's generated capture, on
//! hand-built edge cases (IPv4 options, every IPv6 extension header walked,
//! chains past the 128-byte window, the 8-header limit, fragments, wrong
//! family) with every truncation and seeded random byte flips, and with the
//! packet split at several points between the in-place part and bounded
//! copies. A filter sees the same values in its window and through `ctx`,
//! in the documented layout.

use etherparse::err::ip_auth::{HeaderError, HeaderSliceError};
use etherparse::{
    ip_number, IpAuthHeaderSlice, IpNumber, Ipv4HeaderSlice, Ipv6FragmentHeaderSlice,
    Ipv6HeaderSlice, Ipv6RawExtHeaderSlice, UdpHeaderSlice,
};
use std::cell::Cell;
use std::path::Path;
use wasmnf_ctl::capture::Frames;
use wasmnf_engine::abi::{ctx_field, l4_flags, window, Fragment, PktInfo};
use wasmnf_engine::{Ctx, Family, Instance, PacketView, Status, Verdict};
use wasmnf_tests::*;

/// The ABI's parse rules (docs/abi.md), with every header decoded by
/// etherparse. The ABI needs only the bytes it reads of a header inside the
/// packet (next header and length; a fragment header's first 4 bytes; the
/// ports), where etherparse wants whole headers: it parses a zero-padded
/// copy, and `inside` checks the ABI's bytes against the real length.
fn reference(pkt: &[u8], family: Family) -> Option<PktInfo> {
    let len = pkt.len();
    let inside = |end: usize| (end <= len).then_some(());
    let mut padded = pkt.to_vec();
    padded.resize(len + 4096, 0);
    let (protocol, fragment, l4) = match family {
        Family::Ipv4 => {
            let h = Ipv4HeaderSlice::from_slice(pkt).ok()?;
            let frag = match (h.fragments_offset().value(), h.more_fragments()) {
                (0, false) => Fragment::No,
                (0, true) => Fragment::First,
                _ => Fragment::NonFirst,
            };
            (h.protocol().0, frag, h.slice().len())
        }
        Family::Ipv6 => {
            let h = Ipv6HeaderSlice::from_slice(pkt).ok()?;
            let mut next = h.next_header();
            let mut off = 40;
            let mut frag = Fragment::No;
            for _ in 0..8 {
                let (n, size) = if next == ip_number::IPV6_FRAG {
                    inside(off + 4)?;
                    let f = Ipv6FragmentHeaderSlice::from_slice(&padded[off..]).unwrap();
                    frag = match (f.fragment_offset().value(), f.more_fragments()) {
                        (0, false) => Fragment::No,
                        (0, true) => Fragment::First,
                        _ => Fragment::NonFirst,
                    };
                    (f.next_header(), f.slice().len())
                } else if next == ip_number::AUTH {
                    inside(off + 2)?;
                    match IpAuthHeaderSlice::from_slice(&padded[off..]) {
                        Ok(a) => (a.next_header(), a.slice().len()),
                        // etherparse refuses a payload length of 0 (RFC 4302
                        // needs 1 or more); the ABI walks its 8 bytes.
                        Err(HeaderSliceError::Content(HeaderError::ZeroPayloadLen)) => {
                            (IpNumber(padded[off]), 8)
                        }
                        Err(e) => panic!("padded AH: {e}"),
                    }
                } else if Ipv6RawExtHeaderSlice::header_type_supported(next) {
                    inside(off + 2)?;
                    let x = Ipv6RawExtHeaderSlice::from_slice(&padded[off..]).unwrap();
                    (x.next_header(), x.slice().len())
                } else {
                    break;
                };
                next = n;
                off += size;
            }
            (next.0, frag, off)
        }
    };
    let ports = match (protocol, fragment) {
        (_, Fragment::NonFirst) => None,
        // TCP and UDP ports are the first 4 bytes of their headers alike.
        (6 | 17, _) if l4 + 4 <= len => {
            let u = UdpHeaderSlice::from_slice(&padded[l4..]).unwrap();
            Some((u.source_port(), u.destination_port()))
        }
        _ => None,
    };
    Some(PktInfo {
        protocol,
        fragment,
        l4_offset: l4 as u32,
        ports,
    })
}

/// A packet whose first `linear` bytes are readable in place and the rest
/// only through `read`, like a non-linear skb. Counts the reads inside the
/// packet.
struct Split<'a> {
    bytes: &'a [u8],
    linear: usize,
    reads: Cell<usize>,
}

impl<'a> Split<'a> {
    fn new(bytes: &'a [u8], linear: usize) -> Self {
        Split {
            bytes,
            linear: linear.min(bytes.len()),
            reads: Cell::new(0),
        }
    }
}

impl PacketView for Split<'_> {
    fn len(&self) -> usize {
        self.bytes.len()
    }

    fn linear(&self) -> &[u8] {
        &self.bytes[..self.linear]
    }

    fn read(&self, offset: usize, dst: &mut [u8]) -> bool {
        assert!(
            offset + dst.len() > self.linear,
            "read({offset}, {}) of linear bytes",
            dst.len()
        );
        match self.bytes.get(offset..offset + dst.len()) {
            Some(b) => {
                dst.copy_from_slice(b);
                self.reads.set(self.reads.get() + 1);
                true
            }
            None => false,
        }
    }
}

/// Where the tests split packets between in-place and copied bytes.
const SPLITS: &[usize] = &[0, 1, 7, 20, 39, 40, 41, 64, 128];

/// Checks `pkt` as `family` against the reference, whole and split; returns
/// the number of reads of non-linear bytes.
fn check(what: &str, pkt: &[u8], family: Family) -> usize {
    let want = reference(pkt, family);
    assert_eq!(
        PktInfo::parse(&pkt, family),
        want,
        "{what} ({family:?}, {} bytes): {pkt:02x?}",
        pkt.len()
    );
    let whole = Split::new(pkt, pkt.len());
    assert_eq!(PktInfo::parse(&whole, family), want, "{what}: whole");
    assert_eq!(whole.reads.get(), 0, "{what}: read linear bytes by copy");
    let mut reads = 0;
    for &at in SPLITS.iter().filter(|&&at| at < pkt.len()) {
        let split = Split::new(pkt, at);
        assert_eq!(
            PktInfo::parse(&split, family),
            want,
            "{what}: linear part {at} of {}",
            pkt.len()
        );
        reads += split.reads.get();
    }
    reads
}

fn family_of(pkt: &[u8]) -> Family {
    ctx(pkt).family
}

fn other(family: Family) -> Family {
    match family {
        Family::Ipv4 => Family::Ipv6,
        Family::Ipv6 => Family::Ipv4,
    }
}

/// Hand-built packets for the edge cases of the rules.
fn cases() -> Vec<(String, Vec<u8>)> {
    let udp = udp4(8080, b"hello");
    let tcp6p = tcp6(8080);
    let udp6p = udp6(53, b"q");
    let ext = |exts: &[(u8, usize)]| with_ipv6_ext(&tcp6p, exts, 0, false);
    let mut out: Vec<(String, Vec<u8>)> = vec![
        ("udp4".into(), udp.clone()),
        ("tcp4 syn".into(), tcp4(443)),
        ("tcp4 ack with data".into(), tcp4_ack(80)),
        ("icmp4".into(), icmp4_from(SRC4)),
        ("udp6".into(), udp6p.clone()),
        ("tcp6".into(), tcp6p.clone()),
        ("icmp6".into(), icmp6_from(SRC6)),
        ("ipv4 options".into(), with_ipv4_options(&tcp4(22))),
        ("ipv4 first fragment".into(), ipv4_fragment(&udp, 0, true)),
        (
            "ipv4 non-first fragment".into(),
            ipv4_fragment(&udp, 185, false),
        ),
        ("ipv4 middle fragment".into(), ipv4_fragment(&udp, 1, true)),
        ("ipv6 hop-by-hop + dstopts".into(), ext(&[(0, 8), (60, 16)])),
        ("ipv6 routing + AH".into(), ext(&[(43, 24), (51, 16)])),
        ("ipv6 AH, payload length 0".into(), ext(&[(51, 8)])),
        (
            "ipv6 mobility, HIP, shim6".into(),
            ext(&[(135, 8), (139, 16), (140, 8)]),
        ),
        (
            "ipv6 ext headers past the window".into(),
            ext(&[(0, 96), (60, 64)]),
        ),
        ("ipv6 largest ext header".into(), ext(&[(60, 2048)])),
        ("ipv6 8 ext headers".into(), ext(&[(60, 8); 8])),
        (
            "ipv6 9 ext headers (one not walked)".into(),
            ext(&[(60, 8); 9]),
        ),
        (
            "ipv6 first fragment".into(),
            with_ipv6_ext(&udp6p, &[(44, 8)], 0, true),
        ),
        (
            "ipv6 non-first fragment".into(),
            with_ipv6_ext(&udp6p, &[(44, 8)], 100, false),
        ),
        (
            "ipv6 atomic fragment".into(),
            with_ipv6_ext(&udp6p, &[(44, 8)], 0, false),
        ),
        (
            "ipv6 fragment after hop-by-hop, before dstopts".into(),
            with_ipv6_ext(&udp6p, &[(0, 8), (44, 8), (60, 8)], 3, true),
        ),
        (
            "ipv6 two fragment headers".into(),
            with_ipv6_ext(&udp6p, &[(44, 8), (44, 8)], 7, false),
        ),
        ("ipv6 dns".into(), udp6(53, &dns_query("example.com"))),
        ("empty".into(), Vec::new()),
        ("garbage".into(), vec![0xff; 60]),
    ];
    // IPv4 headers with bad lengths: IHL below 5, IHL past the packet.
    for (ihl, cut) in [(4, 64), (15, 59), (15, 60), (5, 19)] {
        let mut p = udp.clone();
        p.resize(64, 0);
        p[0] = 0x40 | ihl;
        p.truncate(cut);
        out.push((format!("ipv4 ihl {ihl}, {cut} bytes"), p));
    }
    // Ports straddling the end of the packet, past the window.
    let deep = ext(&[(0, 96), (60, 64)]);
    for cut in [200, 201, 202, 203, 204] {
        out.push((format!("deep ext, cut at {cut}"), deep[..cut].to_vec()));
    }
    out
}

#[test]
fn hand_built_packets_every_truncation_and_split() {
    let mut reads = 0;
    let mut compared = 0;
    for (what, pkt) in cases() {
        for family in [family_of(&pkt), other(family_of(&pkt))] {
            for cut in 0..=pkt.len() {
                reads += check(&format!("{what}, first {cut}"), &pkt[..cut], family);
                compared += 1;
            }
        }
    }
    assert!(compared > 5000, "{compared}");
    assert!(reads > 1000, "the copy path ran {reads} times");
    // Spot checks of what the reference itself says, so that both parses
    // agreeing on a wrong answer would be caught.
    let deep = with_ipv6_ext(&tcp6(8080), &[(0, 96), (60, 64)], 0, false);
    let info = PktInfo::parse(&deep.as_slice(), Family::Ipv6).unwrap();
    assert_eq!(
        (info.protocol, info.l4_offset, info.ports),
        (6, 200, Some((40000, 8080)))
    );
    let nine = with_ipv6_ext(&tcp6(1), &[(60, 8); 9], 0, false);
    let info = PktInfo::parse(&nine.as_slice(), Family::Ipv6).unwrap();
    assert_eq!((info.protocol, info.l4_offset, info.ports), (60, 104, None));
    let frag = ipv4_fragment(&udp4(8080, b"x"), 185, false);
    let info = PktInfo::parse(&frag.as_slice(), Family::Ipv4).unwrap();
    assert_eq!((info.fragment, info.ports), (Fragment::NonFirst, None));
    let opts = with_ipv4_options(&udp4(53, b""));
    let info = PktInfo::parse(&opts.as_slice(), Family::Ipv4).unwrap();
    assert_eq!((info.l4_offset, info.ports), (28, Some((40000, 53))));
    assert_eq!(PktInfo::parse(&&[0x45u8; 19][..], Family::Ipv4), None);
}

#[test]
fn random_byte_flips() {
    // xorshift64*: reproducible without a dependency.
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    let mut next = move || {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        state.wrapping_mul(0x2545_f491_4f6c_dd1d)
    };
    let mut valid = 0;
    let mut total = 0;
    for (what, pkt) in cases().into_iter().filter(|(_, p)| p.len() >= 20) {
        let family = family_of(&pkt);
        for _ in 0..400 {
            let mut p = pkt.clone();
            // Flip 1-3 bytes among the headers, sometimes cut the packet.
            for _ in 0..1 + next() % 3 {
                let i = (next() as usize) % p.len().min(120);
                p[i] ^= 1 << (next() % 8);
            }
            if next() % 4 == 0 {
                p.truncate((next() as usize) % (p.len() + 1));
            }
            check(&format!("{what}, flipped"), &p, family);
            valid += reference(&p, family).is_some() as usize;
            total += 1;
        }
    }
    assert!(valid > total / 4, "only {valid} of {total} parse");
}

/// Every IP frame of `frames`, checked as its family; returns how many.
fn check_frames(name: &str, frames: &Frames) -> usize {
    let mut n = 0;
    for (i, f) in frames.frames.iter().enumerate() {
        if let Some((pkt, family)) = frames.network(f) {
            check(&format!("{name} frame {}", i + 1), pkt, family);
            n += 1;
        }
    }
    n
}

#[test]
fn every_packet_of_the_captures() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("data");
    let mut packets = 0;
    let mut files = 0;
    let mut entries: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "pcap" || e == "pcapng"))
        .collect();
    entries.sort();
    for path in entries {
        // Damaged captures are the replay tests' business.
        let Ok(frames) = Frames::read(&path) else {
            continue;
        };
        packets += check_frames(&path.display().to_string(), &frames);
        files += 1;
    }
    assert!(files >= 20, "{files} captures");
    assert!(packets >= 150, "{packets} IP packets");
    let gen = wasmnf_bench::gen::generate(20_000, 7);
    assert!(check_frames("generated", &gen) > 15_000);
}

/// A filter that returns the `i32` at window offset `at`, or (`at` = None)
/// whether `ctx` fields `l4` and `ports` equal window bytes 40..48 and
/// 48..52.
fn probe(at: Option<usize>) -> Instance {
    const W: usize = 1024;
    let body = match at {
        Some(at) => format!("(i32.load (i32.const {}))", W + at),
        None => format!(
            "(i32.and
               (i64.eq (call $ctx (i32.const {l4})) (i64.load (i32.const {w_l4})))
               (i64.eq (call $ctx (i32.const {ports})) (i64.load32_u (i32.const {w_ports}))))",
            l4 = ctx_field::L4,
            ports = ctx_field::PORTS,
            w_l4 = W + window::L4_OFFSET,
            w_ports = W + window::SPORT,
        ),
    };
    let wat = format!(
        r#"(module
             (import "wasmnf" "ctx" (func $ctx (param i32) (result i64)))
             (memory (export "memory") 1)
             (global (export "wasmnf_window") i32 (i32.const {W}))
             (func (export "filter") (param i32) (result i32) {body}))"#
    );
    load_bytes(&wat::parse_str(wat).unwrap(), &[]).unwrap()
}

/// What a probe returned.
fn value(inst: &mut Instance, pkt: &[u8], family: Family) -> i32 {
    let ctx = Ctx {
        family,
        ..Ctx::default()
    };
    match inst.run_detailed(&pkt, &ctx) {
        r if r.status == Status::Ok => (r.verdict == Verdict::Accept) as i32,
        r => match r.status {
            Status::InvalidVerdict(v) => v,
            s => panic!("probe: {s}"),
        },
    }
}

#[test]
fn filters_see_the_documented_layout_in_window_and_ctx() {
    let mut offset = probe(Some(window::L4_OFFSET));
    let mut bytes = probe(Some(window::L4_PROTO));
    let mut ports = probe(Some(window::SPORT));
    let mut agree = probe(None);
    assert_eq!(
        (window::FRAGMENT, window::L4_FLAGS, window::DPORT),
        (
            window::L4_PROTO + 1,
            window::L4_PROTO + 2,
            window::SPORT + 2
        )
    );
    let mut n = 0;
    for (what, pkt) in cases() {
        for family in [family_of(&pkt), other(family_of(&pkt))] {
            for cut in [pkt.len(), pkt.len() / 2, 43, 30] {
                let p = &pkt[..cut.min(pkt.len())];
                // The layout, written out from the reference's parse.
                let (o, b, s) = match reference(p, family) {
                    None => (0, 0, 0),
                    Some(i) => {
                        let flags = l4_flags::IP | i.ports.map_or(0, |_| l4_flags::PORTS);
                        let (sp, dp) = i.ports.unwrap_or((0, 0));
                        (
                            i.l4_offset as i32,
                            i32::from(i.protocol)
                                | i32::from(i.fragment as u8) << 8
                                | i32::from(flags) << 16,
                            i32::from(sp) | i32::from(dp) << 16,
                        )
                    }
                };
                let at = format!("{what}, {} bytes, {family:?}", p.len());
                assert_eq!(value(&mut offset, p, family), o, "offset: {at}");
                assert_eq!(value(&mut bytes, p, family), b, "bytes 44..48: {at}");
                assert_eq!(value(&mut ports, p, family), s, "ports: {at}");
                assert_eq!(value(&mut agree, p, family), 1, "ctx vs window: {at}");
                n += 1;
            }
        }
    }
    assert!(n > 200);
    // The fragment byte's values.
    assert_eq!(
        [Fragment::No, Fragment::First, Fragment::NonFirst].map(|f| f as u8),
        [0, 1, 2]
    );
}
