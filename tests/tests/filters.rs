//! Table-driven verdict tests for every example filter, on packets built with
//! etherparse: IPv4 with and without options, IPv6 with and without extension
//! headers, truncated packets, first and non-first fragments.

use wasmnf_engine::{Ctx, Instance, LoadError, Status, Verdict};
use wasmnf_tests::*;

use Verdict::{Accept as A, Drop as D};

/// Runs every case and checks its verdict; every run must end without error.
fn check(inst: &mut Instance, cases: &[(&str, Vec<u8>, Verdict)]) {
    for (what, pkt, want) in cases {
        let r = inst.run_detailed(&pkt.as_slice(), &ctx(pkt));
        assert_eq!(r.status, Status::Ok, "{what}: run failed");
        assert_eq!(r.verdict, *want, "{what}");
    }
    let c = inst.counters();
    assert_eq!(c.errors(), 0);
    assert_eq!(c.accepted + c.dropped, c.packets);
}

/// Runs `pkt` at time `t_ms` milliseconds.
fn at(inst: &mut Instance, pkt: &[u8], t_ms: u64) -> Verdict {
    let ctx = Ctx {
        tstamp_ns: t_ms * 1_000_000,
        ..ctx(pkt)
    };
    let r = inst.run_detailed(&pkt, &ctx);
    assert_eq!(r.status, Status::Ok);
    r.verdict
}

fn init_error(name: &str, config: &[&str]) -> String {
    match load_bytes(&wasm(name), config) {
        Err(e @ LoadError::Init { .. }) => e.to_string(),
        Err(e) => panic!("{name}: expected an init error, got {e}"),
        Ok(_) => panic!("{name} loaded with {config:?}"),
    }
}

#[test]
fn drop_port() {
    let mut f = load("drop_port", &["port=8080"]);
    let udp = udp4(8080, b"hello");
    let tcp6_ext = with_ipv6_ext(&tcp6(8080), &[(0, 8), (60, 16)], 0, false);
    // Extension headers longer than the 128-byte staging window: the ports
    // are read through host calls.
    let tcp6_deep = with_ipv6_ext(&tcp6(8080), &[(0, 96), (60, 64)], 0, false);
    check(
        &mut f,
        &[
            ("udp4 to 8080", udp.clone(), D),
            ("udp4 to 53", udp4(53, b"q"), A),
            ("tcp4 to 8080", tcp4(8080), D),
            ("tcp4 to 80", tcp4(80), A),
            ("udp6 to 8080", udp6(8080, b"x"), D),
            ("tcp6 to 8080", tcp6(8080), D),
            ("tcp6 to 8081", tcp6(8081), A),
            ("ipv4 options, tcp 8080", with_ipv4_options(&tcp4(8080)), D),
            ("ipv4 options, tcp 22", with_ipv4_options(&tcp4(22)), A),
            ("ipv6 hop-by-hop + dstopts, tcp 8080", tcp6_ext, D),
            ("ipv6 ext headers past the window", tcp6_deep, D),
            (
                "ipv6 routing + AH, udp 8080",
                with_ipv6_ext(&udp6(8080, b"x"), &[(43, 24), (51, 16)], 0, false),
                D,
            ),
            ("ipv4 first fragment", ipv4_fragment(&udp, 0, true), D),
            (
                "ipv4 non-first fragment",
                ipv4_fragment(&udp, 185, false),
                A,
            ),
            (
                "ipv6 first fragment",
                with_ipv6_ext(&udp6(8080, b"x"), &[(44, 8)], 0, true),
                D,
            ),
            (
                "ipv6 non-first fragment",
                with_ipv6_ext(&udp6(8080, b"x"), &[(44, 8)], 100, false),
                A,
            ),
            ("truncated before the ports", udp[..21].to_vec(), A),
            ("truncated after the ports", udp[..24].to_vec(), D),
            ("truncated ipv4 header", udp[..12].to_vec(), A),
            ("empty packet", Vec::new(), A),
            ("icmp", icmp4_from(SRC4), A),
        ],
    );
    let mut udp_only = load("drop_port", &["port=8080", "proto=udp"]);
    check(
        &mut udp_only,
        &[
            ("tcp 8080", tcp4(8080), A),
            ("udp 8080", udp4(8080, b""), D),
        ],
    );
    assert!(init_error("drop_port", &[]).contains("missing config `port`"));
    assert!(init_error("drop_port", &["port=70000"]).contains("`port` has an invalid value"));
    assert!(init_error("drop_port", &["port=1", "proto=sctp"]).contains("`proto`"));
}

#[test]
fn cidr_list() {
    let from4 = |a: [u8; 4]| tcp4_syn_from(a, 443);
    let mut deny = load("cidr_list", &["deny=192.0.2.0/24, 2001:db8::/32"]);
    check(
        &mut deny,
        &[
            ("denied v4 source", from4(SRC4), D),
            ("other v4 source", from4([203, 0, 113, 5]), A),
            ("denied v6 source", tcp6(443), D),
            (
                "denied v6 with ext headers",
                with_ipv6_ext(&tcp6(1), &[(0, 8)], 0, false),
                D,
            ),
            ("truncated", from4(SRC4)[..10].to_vec(), A),
        ],
    );
    let mut allow = load("cidr_list", &["allow=10.0.0.0/8,::1"]);
    check(
        &mut allow,
        &[
            ("not allowed", from4(SRC4), D),
            ("allowed", from4([10, 1, 2, 3]), A),
            ("v6 not allowed", tcp6(443), D),
        ],
    );
    let mut dst = load("cidr_list", &["deny=198.51.100.0/24", "addr=dst"]);
    check(&mut dst, &[("denied destination", from4(SRC4), D)]);
    assert!(init_error("cidr_list", &["deny=10.0.0.0/33"]).contains("`deny`"));
    assert!(init_error("cidr_list", &["addr=both"]).contains("`addr`"));
    // Prefix lengths at the edges: /0 of one family only, IPv6 prefixes
    // ending inside the address's low 64 bits (SRC6 is 2001:db8::1).
    for (deny, v4, v6) in [
        ("0.0.0.0/0", D, A),
        ("::/0", A, D),
        ("2001:db8::/127", A, D),
        ("2001:db8::2/127", A, A),
        ("2001:db8::1", A, D),
        ("2001:db8:0:0:8000::/65", A, A),
        ("2001:db8::/64", A, D),
    ] {
        let mut f = load("cidr_list", &[&format!("deny={deny}")]);
        let what4 = format!("{deny}: v4");
        let what6 = format!("{deny}: v6");
        check(
            &mut f,
            &[(&what4, from4(SRC4), v4), (&what6, tcp6(443), v6)],
        );
    }
    // 64 prefixes fit one list, 65 do not.
    let list = |n: usize| {
        (0..n)
            .map(|i| format!("10.{i}.0.0/16"))
            .collect::<Vec<_>>()
            .join(",")
    };
    let mut full = load("cidr_list", &[&format!("deny={}", list(64))]);
    check(
        &mut full,
        &[
            ("the 64th prefix", from4([10, 63, 1, 1]), D),
            ("outside all 64", from4([10, 64, 1, 1]), A),
        ],
    );
    assert!(init_error("cidr_list", &[&format!("deny={}", list(65))]).contains("more than 64"));
}

/// The suite's 12-rule chain: each rule accepts what it names, and what no
/// rule names is dropped.
#[test]
fn firewall() {
    let rules = [
        "tcp=22,80,443",
        "udp=53,123,443",
        "icmp=8,0",
        "icmp6=128",
        "allow=10.1.0.0/16,10.2.0.0/16",
    ];
    let mut f = load("firewall", &rules);
    let mut echo_reply6 = icmp6_from(SRC6);
    echo_reply6[40] = 129; // type 129, checksum not checked by anyone here
    let mut unreachable4 = icmp4_from(SRC4);
    unreachable4[20] = 3;
    check(
        &mut f,
        &[
            ("tcp ack to any port", tcp4_ack(9999), A),
            ("tcp syn to 22", tcp4(22), A),
            ("tcp syn to 443, ipv6", tcp6(443), A),
            ("tcp syn to 8080", tcp4(8080), D),
            ("tcp6 syn to 8080", tcp6(8080), D),
            ("udp to 53", udp4(53, b"q"), A),
            ("udp6 to 123", udp6(123, b"t"), A),
            ("udp to 8080", udp4(8080, b"x"), D),
            ("icmp echo request", icmp4_from(SRC4), A),
            ("icmp unreachable", unreachable4, D),
            ("icmpv6 echo request", icmp6_from(SRC6), A),
            ("icmpv6 echo reply", echo_reply6, D),
            (
                "tcp syn from an allowed prefix",
                tcp4_syn_from([10, 2, 3, 4], 8080),
                A,
            ),
            (
                "tcp syn from next to it",
                tcp4_syn_from([10, 3, 3, 4], 8080),
                D,
            ),
            ("truncated", tcp4(22)[..10].to_vec(), D),
            (
                "tcp6 to 80 behind extension headers",
                with_ipv6_ext(&tcp6(80), &[(0, 8), (60, 16)], 0, false),
                A,
            ),
            (
                "non-first fragment of udp to 53",
                ipv4_fragment(&udp4(53, b"q"), 8, false),
                D,
            ),
        ],
    );
    // `established=no` turns rule 1 off.
    let mut strict = load("firewall", &["established=no", "tcp=22"]);
    check(
        &mut strict,
        &[
            ("tcp ack to 9999", tcp4_ack(9999), D),
            ("tcp ack to 22", tcp4_ack(22), A),
        ],
    );
    assert!(init_error("firewall", &["tcp=http"]).contains("`tcp`"));
    assert!(init_error("firewall", &["established=maybe"]).contains("`established`"));
    assert!(init_error("firewall", &["allow=10.0.0.0/40"]).contains("`allow`"));
    assert!(init_error("firewall", &["udp=1,2,3,4,5,6,7,8,9"]).contains("more than 8"));
}

#[test]
fn icmp_ratelimit() {
    let mut f = load("icmp_ratelimit", &["rate=1", "burst=2"]);
    let ping = icmp4_from(SRC4);
    assert_eq!(at(&mut f, &ping, 0), A);
    assert_eq!(at(&mut f, &ping, 10), A);
    assert_eq!(at(&mut f, &ping, 20), D, "burst of 2 used up");
    assert_eq!(
        at(&mut f, &icmp4_from([203, 0, 113, 9]), 20),
        A,
        "other source"
    );
    assert_eq!(at(&mut f, &icmp6_from(SRC6), 20), A, "icmpv6 source");
    assert_eq!(at(&mut f, &tcp4(80), 20), A, "not icmp");
    assert_eq!(at(&mut f, &ping, 1100), A, "one token back after a second");
    assert_eq!(at(&mut f, &ping, 1200), D);
    let v6 = icmp6_from(SRC6);
    assert_eq!(at(&mut f, &v6, 30), A);
    assert_eq!(at(&mut f, &v6, 40), D);
    assert!(init_error("icmp_ratelimit", &["rate=0"]).contains("`rate`"));
}

#[test]
fn dns_block() {
    let mut f = load("dns_block", &["names=example.com, ads.example.net"]);
    let mut response = dns_query("example.com");
    response[2] |= 0x80;
    let tcp_query = {
        let q = dns_query("www.example.com");
        let mut payload = (q.len() as u16).to_be_bytes().to_vec();
        payload.extend_from_slice(&q);
        let mut v = Vec::new();
        etherparse::PacketBuilder::ipv4(SRC4, DST4, 64)
            .tcp(40000, 53, 1, 100)
            .ack(1)
            .write(&mut v, &payload)
            .unwrap();
        v
    };
    check(
        &mut f,
        &[
            ("exact name", udp4(53, &dns_query("example.com")), D),
            (
                "subdomain, mixed case",
                udp4(53, &dns_query("www.EXAMPLE.com")),
                D,
            ),
            ("second name", udp4(53, &dns_query("x.ads.example.net")), D),
            (
                "suffix but not a subdomain",
                udp4(53, &dns_query("notexample.com")),
                A,
            ),
            ("other name", udp4(53, &dns_query("example.org")), A),
            (
                "parent of a listed name",
                udp4(53, &dns_query("example.net")),
                A,
            ),
            ("response", udp4(53, &response), A),
            ("other port", udp4(5353, &dns_query("example.com")), A),
            ("over ipv6", udp6(53, &dns_query("example.com")), D),
            ("over tcp", tcp_query, D),
            (
                "truncated question",
                udp4(53, &dns_query("example.com")[..16]),
                A,
            ),
        ],
    );
    assert!(init_error("dns_block", &[]).contains("missing config `names`"));
}

#[test]
fn syn_flood() {
    let mut f = load("syn_flood", &["max=2", "window_ms=1000"]);
    assert_eq!(at(&mut f, &tcp4(80), 0), A);
    assert_eq!(at(&mut f, &tcp6(80), 10), A);
    assert_eq!(at(&mut f, &tcp4(443), 20), D, "third SYN in the window");
    assert_eq!(at(&mut f, &tcp4_ack(80), 30), A, "not a SYN");
    assert_eq!(at(&mut f, &udp4(80, b""), 30), A, "not TCP");
    assert_eq!(at(&mut f, &tcp4(80), 1500), A, "new window");
}

#[test]
fn accept_all_and_drop_all() {
    let pkts = [udp4(1, b""), tcp6(2), Vec::new(), vec![0xff; 3]];
    let mut accept = load("accept_all", &[]);
    let mut drop = load("drop_all", &[]);
    for p in &pkts {
        assert_eq!(accept.run(&p.as_slice(), &ctx(p)), A);
        assert_eq!(drop.run(&p.as_slice(), &ctx(p)), D);
    }
    assert_eq!(accept.counters().accepted, 4);
    assert_eq!(drop.counters().dropped, 4);
}

/// Which filters can see the packet's timestamp: the kernel module reads
/// its clock per packet only for those (`Filter::reads_timestamp`).
#[test]
fn timestamp_readers_are_known() {
    use wasmnf_engine::{Filter, Tier};
    let reads = |wasm: &[u8], config: &[&str], tier| {
        Filter::new(wasm, options(config, tier).unwrap())
            .unwrap()
            .reads_timestamp()
    };
    for (name, config, expected) in [
        ("drop_port", &["port=8080"][..], false),
        ("accept_all", &[], false),
        ("syn_flood", &[], true),
        ("icmp_ratelimit", &[], true),
    ] {
        assert_eq!(reads(&wasm(name), config, Tier::Fast), expected, "{name}");
    }
    // On wasmi every window field is staged, the timestamp included.
    assert!(reads(&wasm("drop_port"), &["port=8080"], Tier::Wasmi));
    let window = |body: &str| {
        wat::parse_str(format!(
            r#"(module
              (import "wasmnf" "ctx" (func $ctx (param i32) (result i64)))
              (memory (export "memory") 1)
              (global (export "wasmnf_window") i32 (i32.const 1024))
              (func (export "filter") (param i32) (result i32) {body}))"#
        ))
        .unwrap()
    };
    for (body, expected) in [
        ("(i32.load16_u (i32.const 1074))", false),
        ("(i32.load (i32.const 1060))", true),
        ("(i32.wrap_i64 (call $ctx (i32.const 7)))", true),
        ("(i32.load (local.get 0))", true),
    ] {
        assert_eq!(reads(&window(body), &[], Tier::Fast), expected, "{body}");
    }
}
