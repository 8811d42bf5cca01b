//! The fast tier against wasmi, the reference: the same filters, modules and
//! packets must give the same result on both, run by run (verdict, status,
//! trap kind, invalid verdict value), and the same counters.

use std::path::Path;
use wasmnf_ctl::capture::Frames;
use wasmnf_engine::{
    Ctx, Filter, FilterOptions, Hook, Instance, Limits, LoadError, RunResult, Tier,
};
use wasmnf_tests::*;

/// The module on each tier: (fast, wasmi). Panics if the fast tier does
/// not take it.
fn both(wasm: &[u8], config: &[&str]) -> (Instance, Instance) {
    let fast = Filter::new(wasm, options(config, Tier::Fast).unwrap()).unwrap();
    assert_eq!(fast.tier(), Tier::Fast);
    let wasmi = Filter::new(wasm, options(config, Tier::Wasmi).unwrap()).unwrap();
    assert_eq!(wasmi.tier(), Tier::Wasmi);
    let (f, w) = (fast.instantiate().unwrap(), wasmi.instantiate().unwrap());
    assert!(f.is_fast() && !w.is_fast());
    (f, w)
}

/// Runs `pkts` through both and compares every result and the counters.
fn compare(what: &str, fast: &mut Instance, wasmi: &mut Instance, pkts: &[(&[u8], Ctx)]) {
    for (i, (pkt, ctx)) in pkts.iter().enumerate() {
        let f: RunResult = fast.run_detailed(pkt, ctx);
        let w: RunResult = wasmi.run_detailed(pkt, ctx);
        assert_eq!(f, w, "{what}: packet {i} ({} bytes)", pkt.len());
    }
    assert_eq!(fast.counters(), wasmi.counters(), "{what}: counters");
}

/// Every IP packet of every capture in tests/data, with its context.
fn capture_packets() -> Vec<(Vec<u8>, Ctx)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("data");
    let mut out = Vec::new();
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    paths.sort();
    for path in paths {
        let Ok(frames) = Frames::read(&path) else {
            continue;
        };
        for f in &frames.frames {
            if let Some((pkt, ctx)) = frames.packet(f, Hook::Prerouting) {
                out.push((pkt.to_vec(), ctx));
            }
        }
    }
    out
}

fn handmade_packets() -> Vec<(Vec<u8>, Ctx)> {
    let pkts = [
        udp4(8080, b"x"),
        udp4(53, &dns_query("www.example.com")),
        udp6(8080, b"payload"),
        tcp4(8080),
        tcp4(22),
        tcp4_ack(8080),
        tcp6(443),
        tcp4_syn_from(SRC4, 80),
        icmp4_from(SRC4),
        icmp6_from([0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]),
        with_ipv4_options(&udp4(8080, b"x")),
        ipv4_fragment(&udp4(8080, b"x"), 0, true),
        ipv4_fragment(&udp4(8080, b"x"), 8, false),
        with_ipv6_ext(&tcp6(8080), &[(0, 96), (60, 64)], 0, false),
        with_ipv6_ext(&udp6(8080, b"x"), &[(43, 8)], 1, true),
        vec![0x45; 3],
        vec![0x60; 39],
        Vec::new(),
    ];
    pkts.into_iter()
        .map(|p| {
            let c = ctx(&p);
            (p, c)
        })
        .collect()
}

/// The examples (those with maps too: each tier's filter has its own maps;
/// tests/tests/map_filters.rs also compares the maps after a run).
const EXAMPLES: [(&str, &[&str]); 12] = [
    ("accept_all", &[]),
    ("drop_all", &[]),
    ("drop_port", &["port=8080"]),
    ("cidr_list", &["deny=10.0.0.0/8,2001:db8::/32"]),
    ("dns_block", &["names=example.com"]),
    ("icmp_ratelimit", &["rate=5"]),
    ("syn_flood", &["max=3"]),
    ("cidr_filter", &["deny=10.0.0.0/8,2001:db8::/32"]),
    ("cidr_filter", &["allow=192.0.2.0/24", "addr=src"]),
    ("top_talkers", &[]),
    ("proto_stats", &[]),
    (
        "firewall",
        &["tcp=22,80", "udp=53", "icmp=8", "allow=10.0.0.0/8"],
    ),
];

#[test]
fn examples_run_alike_on_both_tiers() {
    let mut pkts = handmade_packets();
    pkts.extend(capture_packets());
    assert!(pkts.len() > 150, "only {} packets", pkts.len());
    let pkts: Vec<(&[u8], Ctx)> = pkts.iter().map(|(p, c)| (p.as_slice(), *c)).collect();
    for (name, config) in EXAMPLES {
        let (mut fast, mut wasmi) = both(&wasm(name), config);
        // Twice over: stateful filters see their state evolve alike.
        compare(name, &mut fast, &mut wasmi, &pkts);
        compare(name, &mut fast, &mut wasmi, &pkts);
        assert!(fast.counters().packets > 0);
    }
}

/// The counting form (`FilterOptions::count_instructions`, the benchmark's
/// count of executed Wasm instructions) gives every example the results of
/// the default form, and its fuel is exactly the instructions a run
/// executes: checked on a module whose count is known, where the default
/// form's fuel (an upper bound, charged per region) is larger.
#[test]
fn counting_form_counts_executed_instructions() {
    let counting = |wasm: &[u8], config: &[&str]| {
        let options = FilterOptions {
            count_instructions: true,
            ..options(config, Tier::Fast).unwrap()
        };
        Filter::new(wasm, options).unwrap().instantiate().unwrap()
    };
    let mut pkts = handmade_packets();
    pkts.extend(capture_packets());
    for (name, config) in EXAMPLES {
        let wasm = wasm(name);
        let (mut plain, mut counted) =
            (load_bytes(&wasm, config).unwrap(), counting(&wasm, config));
        for (i, (pkt, ctx)) in pkts.iter().enumerate() {
            let (p, c) = (
                plain.run_detailed(&pkt.as_slice(), ctx),
                counted.run_detailed(&pkt.as_slice(), ctx),
            );
            assert_eq!(p, c, "{name}: packet {i}");
            assert!(counted.fuel_used().unwrap() > 0, "{name}: packet {i}");
        }
    }
    // Five loop iterations of 7 instructions, then 3 of the `if` (its body
    // not taken: the packet is not empty) and the result: 39.
    let wat = r#"(module
        (memory (export "memory") 1)
        (func (export "filter") (param i32) (result i32) (local i32)
            (loop $l
                local.get 1
                i32.const 1
                i32.add
                local.tee 1
                i32.const 5
                i32.lt_u
                br_if $l)
            local.get 0
            i32.eqz
            if
                i32.const 1
                local.set 1
                nop
            end
            i32.const 0))"#;
    let wasm = wat::parse_str(wat).unwrap();
    let pkt = udp4(8080, b"x");
    let mut counted = counting(&wasm, &[]);
    counted.run(&pkt.as_slice(), &ctx(&pkt));
    assert_eq!(counted.fuel_used(), Some(39));
    let mut plain = load_bytes(&wasm, &[]).unwrap();
    plain.run(&pkt.as_slice(), &ctx(&pkt));
    assert!(plain.fuel_used().unwrap() > 39, "{:?}", plain.fuel_used());
}

/// The fast tier stages only the window fields a filter can read (when
/// every load it can execute has a fixed address); wasmi stages them all.
/// Filters reading different parts of the window at fixed addresses, and
/// writing into it, must see the same bytes on both.
#[test]
fn window_staging_is_unobservable() {
    let mut pkts = handmade_packets();
    pkts.extend(capture_packets());
    let pkts: Vec<(&[u8], Ctx)> = pkts.iter().map(|(p, c)| (p.as_slice(), *c)).collect();
    // The window is at 1024: header 1024.., timestamp 1056, the host's
    // parse 1064.., packet bytes 1088..1216.
    let bodies = [
        // A packet byte (the IPv4 protocol): 10 bytes staged.
        "(i32.load8_u (i32.const 1097))",
        // The last packet byte of the window.
        "(i32.load8_u (i32.const 1215))",
        // The host's parse only.
        "(i32.add (i32.load16_u (i32.const 1074)) (i32.mul (i32.load8_u (i32.const 1068)) (i32.const 65536)))",
        "(i32.load8_u (i32.const 1070))",
        // The header: length and bytes staged, hook and family.
        "(i32.add (i32.mul (i32.load (i32.const 1024)) (i32.const 1000)) (i32.load (i32.const 1028)))",
        "(i32.add (i32.load (i32.const 1032)) (i32.load (i32.const 1036)))",
        // The timestamp.
        "(i32.wrap_i64 (i64.load (i32.const 1056)))",
        // A field the filter overwrote this run: its own value.
        "(i32.store (i32.const 1072) (i32.const 77)) (drop (i32.load8_u (i32.const 1068))) (i32.load (i32.const 1072))",
        // A header byte it wrote last run: restaged before this one.
        "(i32.load (i32.const 1024)) (i32.store (i32.const 1024) (i32.const 5)) (i32.add (i32.const 1))",
        // A reserved byte written last run and read back: never staged.
        "(i32.load (i32.const 1080)) (i32.store (i32.const 1080) (i32.add (i32.load (i32.const 1080)) (i32.const 3)))",
        // A computed address: everything is staged.
        "(i32.load8_u offset=1088 (local.get 0))",
    ];
    for body in bodies {
        let wat = format!(
            r#"(module
              (memory (export "memory") 1)
              (global (export "wasmnf_window") i32 (i32.const 1024))
              (func (export "filter") (param i32) (result i32)
                (i32.add (i32.const 2) {body})))"#
        );
        let (mut fast, mut wasmi) = both(&wat::parse_str(&wat).unwrap(), &[]);
        compare(body, &mut fast, &mut wasmi, &pkts);
        compare(body, &mut fast, &mut wasmi, &pkts);
    }
}

#[test]
fn pcap_rules_run_alike_on_both_tiers() {
    let pkts = capture_packets();
    let pkts: Vec<(&[u8], Ctx)> = pkts.iter().map(|(p, c)| (p.as_slice(), *c)).collect();
    let rules: [&[&str]; 6] = [
        &["rule=tcp"],
        &["rule=udp"],
        &["rule=icmp"],
        &["rule=dst_port", "port=53"],
        &["rule=tcp_udp_dst_port", "port=443"],
        &["rule=net", "net=192.168.0.0/16"],
    ];
    for config in rules {
        let (mut fast, mut wasmi) = both(&wasm("pcap_rules"), config);
        compare(config[0], &mut fast, &mut wasmi, &pkts);
    }
}

/// Integer semantics, instruction by instruction: a module whose `filter`
/// computes one case per `len` (and returns it as an invalid verdict, which
/// carries the value), run on both tiers for every case.
#[test]
fn instructions_compute_alike() {
    let cases = [
        // (expression computing an i32, as wat)
        "(i32.div_s (i32.const -2147483648) (i32.const -1))",
        "(i32.div_s (i32.const 7) (i32.const 0))",
        "(i32.div_u (i32.const -7) (i32.const 2))",
        "(i32.rem_s (i32.const -2147483648) (i32.const -1))",
        "(i32.rem_s (i32.const -7) (i32.const 2))",
        "(i32.rem_u (i32.const -7) (i32.const 0))",
        "(i32.shl (i32.const 1) (i32.const 33))",
        "(i32.shr_s (i32.const -8) (i32.const 33))",
        "(i32.shr_u (i32.const -8) (i32.const 65))",
        "(i32.rotl (i32.const 0x80000001) (i32.const 33))",
        "(i32.rotr (i32.const 0x80000001) (i32.const 1))",
        "(i32.clz (i32.const 0))",
        "(i32.ctz (i32.const 0x100))",
        "(i32.popcnt (i32.const -1))",
        "(i32.extend8_s (i32.const 0x80))",
        "(i32.extend16_s (i32.const 0x8000))",
        "(i32.wrap_i64 (i64.const 0x1234567887654321))",
        "(i32.wrap_i64 (i64.div_s (i64.const -9223372036854775808) (i64.const -1)))",
        "(i32.wrap_i64 (i64.rem_s (i64.const -9223372036854775808) (i64.const -1)))",
        "(i32.wrap_i64 (i64.shr_u (i64.const -1) (i64.const 68)))",
        "(i32.wrap_i64 (i64.rotl (i64.const 0x8000000000000001) (i64.const 65)))",
        "(i32.wrap_i64 (i64.clz (i64.const 1)))",
        "(i32.wrap_i64 (i64.popcnt (i64.const -1)))",
        "(i32.wrap_i64 (i64.extend32_s (i64.const 0x80000000)))",
        "(i32.wrap_i64 (i64.shr_s (i64.extend_i32_s (i32.const -5)) (i64.const 32)))",
        "(i32.wrap_i64 (i64.shr_u (i64.extend_i32_u (i32.const -5)) (i64.const 1)))",
        "(i64.lt_s (i64.const -1) (i64.const 0))",
        "(i64.lt_u (i64.const -1) (i64.const 0))",
        "(i64.eqz (i64.const 0))",
        "(i32.ge_s (i32.const -1) (i32.const 1))",
        "(i32.le_u (i32.const -1) (i32.const 1))",
        "(i32.load8_s (i32.const 0))",
        "(i32.load16_s (i32.const 0))",
        "(i32.load (i32.const 65533))",
        "(i32.wrap_i64 (i64.load32_s (i32.const 0)))",
        "(i32.wrap_i64 (i64.shr_u (i64.load (i32.const 1)) (i64.const 40)))",
        "(i32.load offset=4294967295 (i32.const 1))",
        "(block (result i32) (i32.store16 (i32.const 100) (i32.const 0x12345)) (i32.load (i32.const 100)))",
        "(block (result i32) (i64.store32 (i32.const 200) (i64.const -1)) (i32.load (i32.const 200)))",
        "(block (result i32) (memory.fill (i32.const 300) (i32.const 0xab) (i32.const 3)) (i32.load (i32.const 300)))",
        "(block (result i32) (memory.copy (i32.const 1) (i32.const 0) (i32.const 8)) (i32.load (i32.const 0)))",
        "(block (result i32) (memory.copy (i32.const 65530) (i32.const 0) (i32.const 8)) (i32.const 9))",
        "(block (result i32) (memory.fill (i32.const 65536) (i32.const 0) (i32.const 0)) (i32.const 9))",
        "(memory.grow (i32.const 1))",
        "(memory.grow (i32.const 100))",
        "(block (result i32) (drop (memory.grow (i32.const 2))) (memory.size))",
        "(select (i32.const 5) (i32.const 6) (i32.const 0))",
        "(select (i32.const 5) (i32.const 6) (i32.const 7))",
        "(block $b (result i32) (br_table 0 0 0 (i32.const 3) (i32.const 2)))",
        "(block $a (result i32) (i32.add (block $b (result i32) (br_table $a $b (i32.const 10) (i32.const 1))) (i32.const 100)))",
        "(block $a (result i32) (i32.add (block $b (result i32) (br_table $a $b (i32.const 10) (i32.const 0))) (i32.const 100)))",
        "(block $a (result i32) (i32.add (block $b (result i32) (br_table $a $b (i32.const 10) (i32.const 9))) (i32.const 100)))",
        "(i32.add (i32.const 1) (block (result i32) (br_if 0 (i32.const 7) (i32.const 1)) (drop) (i32.const 3)))",
        "(i32.add (i32.const 1) (block (result i32) (br_if 0 (i32.const 7) (i32.const 0)) (drop) (i32.const 3)))",
        "(call $two (i32.const 40))",
        "(call_indirect (type $unary) (i32.const 7) (i32.const 0))",
        "(call_indirect (type $unary) (i32.const 7) (i32.const 1))",
        "(call_indirect (type $unary) (i32.const 7) (i32.const 2))",
        "(call_indirect (type $unary) (i32.const 7) (i32.const 9))",
        "(call $fact (i32.const 10))",
        "(call $fact (i32.const 100000))",
        "(call $sum (i32.const 1000))",
        "(call $spin)",
        "(block (result i32) (global.set $g (i32.add (global.get $g) (i32.const 3))) (global.get $g))",
        "(call $multi (i32.const 4))",
        "(i32.sub (call $pair (i32.const 3)))",
        "(i32.add (i32.const 100) (i32.sub (call $pair (i32.const 3))))",
        "(i32.sub (call $shift (i32.const 30)))",
        "(if (result i32) (i32.const 0) (then (i32.const 11)) (else (i32.const 12)))",
        "(loop (result i32) (i32.const 13))",
        "(block (result i32) (unreachable))",
        // Guards on a value at a fixed address (fused into one instruction
        // on the fast tier): taken and not, every i32 load, traps.
        "(block $b (result i32) (block (br_if 0 (i32.and (i32.load8_u (i32.const 1)) (i32.const 1))) (br $b (i32.const 21))) (i32.const 22))",
        "(block $b (result i32) (block (br_if 0 (i32.and (i32.load8_u (i32.const 1)) (i32.const 2))) (br $b (i32.const 21))) (i32.const 22))",
        "(if (result i32) (i32.eqz (i32.and (i32.load8_u (i32.const 2)) (i32.const 2))) (then (i32.const 31)) (else (i32.const 32)))",
        "(if (result i32) (i32.eqz (i32.and (i32.load8_u (i32.const 2)) (i32.const 1))) (then (i32.const 31)) (else (i32.const 32)))",
        "(if (result i32) (i32.load16_s (i32.const 0)) (then (i32.const 41)) (else (i32.const 42)))",
        "(if (result i32) (i32.load16_u (i32.const 20)) (then (i32.const 41)) (else (i32.const 42)))",
        "(if (result i32) (i32.eqz (i32.load (i32.const 20))) (then (i32.const 43)) (else (i32.const 44)))",
        "(if (result i32) (i32.and (i32.load (i32.const 4)) (i32.const 0)) (then (i32.const 45)) (else (i32.const 46)))",
        "(if (result i32) (i32.lt_s (i32.load8_s (i32.const 0)) (i32.const 0)) (then (i32.const 47)) (else (i32.const 48)))",
        "(if (result i32) (i32.gt_u (i32.load8_s (i32.const 0)) (i32.const 0x7fffffff)) (then (i32.const 49)) (else (i32.const 50)))",
        "(if (result i32) (i32.load (i32.const 65534)) (then (i32.const 51)) (else (i32.const 52)))",
        "(if (result i32) (i32.div_u (i32.load8_u (i32.const 0)) (i32.const 0)) (then (i32.const 53)) (else (i32.const 54)))",
        "(block $b (result i32) (block (br_if 0 (i32.ne (i32.load16_u (i32.const 2)) (i32.const 0x8382))) (br $b (i32.const 55))) (i32.const 56))",
        // A verdict set in a local and returned at one exit (the fast tier
        // returns the constant, or from the jump, directly), called nested.
        "(i32.add (i32.const 1) (call $verdict (i32.const 0)))",
        "(i32.add (i32.const 1) (call $verdict (i32.const 1)))",
        "(i32.add (i32.const 1) (call $verdict (i32.const 2)))",
        // Loops over memory through locals (what list-based filters run):
        // results, the zero-trip path, a load out of bounds, a division by
        // zero.
        "(call $walk (i32.const 5) (i32.const 0))",
        "(call $walk (i32.const 0) (i32.const 0))",
        "(call $walk (i32.const 3) (i32.const 65533))",
        "(call $walk (i32.const 2) (i32.const -1))",
        "(call $divl (i32.const 9))",
        "(call $divl (i32.const 0))",
    ];
    let body: String = cases
        .iter()
        .enumerate()
        .map(|(i, e)| format!("(if (i32.eq (local.get 0) (i32.const {i})) (then (return {e})))\n"))
        .collect();
    let wat = format!(
        r#"(module
          (type $unary (func (param i32) (result i32)))
          (memory 1 4)
          (global $g (mut i32) (i32.const 39))
          (table 4 funcref)
          (elem (i32.const 0) $two $fact)
          (elem (i32.const 3) $spin)
          (data (i32.const 0) "\80\81\82\83\84\85\86\87\88")
          (func $two (param i32) (result i32) (i32.add (local.get 0) (i32.const 2)))
          (func $verdict (param i32) (result i32) (local i32)
            (local.set 1 (i32.const 5))
            (block
              (br_if 0 (i32.eqz (local.get 0)))
              (local.set 1 (i32.const 77))
              (br_if 0 (i32.eq (local.get 0) (i32.const 1)))
              (local.set 1 (i32.const 78))
              (return (local.get 1)))
            (return (local.get 1)))
          (func $fact (param i32) (result i32)
            (if (result i32) (i32.le_u (local.get 0) (i32.const 1))
              (then (i32.const 1))
              (else (i32.mul (local.get 0) (call $fact (i32.sub (local.get 0) (i32.const 1)))))))
          (func $sum (param $n i32) (result i32) (local $s i32)
            (loop $l
              (local.set $s (i32.add (local.get $s) (local.get $n)))
              (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
            (local.get $s))
          (func $spin (result i32) (loop $l (br $l)) (i32.const 0))
          (func $walk (param $n i32) (param $p i32) (result i32) (local $acc i32) (local $v i32)
            (block $done
              (loop $l
                (br_if $done (i32.eqz (local.get $n)))
                (local.set $n (i32.sub (local.get $n) (i32.const 1)))
                (local.set $v (i32.load8_u offset=1 (local.get $p)))
                (local.set $p (i32.add (local.get $p) (i32.const 1)))
                (local.set $acc (i32.xor (i32.load16_u (local.get $p)) (local.get $acc)))
                (local.set $acc (i32.add (local.get $acc) (local.get $v)))
                (br $l)))
            (if (result i32) (local.get $acc) (then (local.get $acc)) (else (i32.const -5))))
          (func $divl (param i32) (result i32) (local i32)
            (local.set 1 (i32.div_u (i32.const 12) (local.get 0)))
            (local.set 1 (i32.rem_u (local.get 1) (i32.const 0)))
            (local.get 1))
          (func $pair (param i32) (result i32 i32)
            (local i32 i32)
            (local.set 1 (i32.mul (local.get 0) (i32.const 7)))
            (local.set 2 (i32.add (local.get 0) (i32.const 1)))
            (local.get 1) (local.get 2))
          (func $shift (param i32) (result i32 i32)
            (i32.add (local.get 0) (i32.const 1)) (i32.const 2))
          (func $multi (param i32) (result i32)
            (local.get 0) (i32.const 5)
            (block (param i32 i32) (result i32 i32)
              (i32.add) (i32.const 6))
            (i32.mul))
          (func (export "filter") (param i32) (result i32)
            {body}
            (i32.const -1)))"#
    );
    let wasm = wat::parse_str(&wat).unwrap();
    let (mut fast, mut wasmi) = both(&wasm, &[]);
    let pkts: Vec<Vec<u8>> = (0..=cases.len()).map(|n| vec![0x45; n]).collect();
    let pkts: Vec<(&[u8], Ctx)> = pkts
        .iter()
        .map(|p| (p.as_slice(), Ctx::default()))
        .collect();
    compare("instructions", &mut fast, &mut wasmi, &pkts);
    // Memory and globals changed alike: run everything again.
    compare("instructions, again", &mut fast, &mut wasmi, &pkts);
}

/// The limits hold on the fast tier as on wasmi: fuel, call depth, memory.
#[test]
fn limits_hold_alike() {
    let deep = |n: u32| {
        format!(
            r#"(module
              (func $down (param i32) (result i32)
                (if (result i32) (local.get 0)
                  (then (call $down (i32.sub (local.get 0) (i32.const 1))))
                  (else (i32.const 1))))
              (func (export "filter") (param i32) (result i32) (call $down (i32.const {n}))))"#
        )
    };
    for (wat, limits) in [
        // Exactly the default depth (64 frames: filter + 63), then one more.
        (deep(62), Limits::default()),
        (deep(63), Limits::default()),
        (
            deep(500),
            Limits {
                max_call_depth: 1024,
                ..Limits::default()
            },
        ),
        (
            r#"(module (func (export "filter") (param i32) (result i32) (loop $l (br $l)) (i32.const 1)))"#.to_string(),
            Limits {
                fuel: 1000,
                ..Limits::default()
            },
        ),
        (
            r#"(module (memory 1) (func (export "filter") (param i32) (result i32) (memory.grow (i32.const 15))))"#.to_string(),
            Limits::default(),
        ),
        (
            r#"(module (memory 1) (func (export "filter") (param i32) (result i32) (memory.grow (i32.const 16))))"#.to_string(),
            Limits::default(),
        ),
    ] {
        let wasm = wat::parse_str(&wat).unwrap();
        let mk = |tier| {
            Filter::new(
                &wasm,
                FilterOptions {
                    limits,
                    tier,
                    ..FilterOptions::default()
                },
            )
            .and_then(|f| f.instantiate())
        };
        let (mut fast, mut wasmi) = (mk(Tier::Fast).unwrap(), mk(Tier::Wasmi).unwrap());
        assert!(fast.is_fast());
        let pkt = udp4(1, b"");
        let pkts = [(pkt.as_slice(), ctx(&pkt)), (pkt.as_slice(), ctx(&pkt))];
        compare(&wat, &mut fast, &mut wasmi, &pkts);
    }
}

/// Mutated real filters: whatever both tiers load, they run alike.
#[test]
fn mutated_modules_run_alike() {
    let pkts = handmade_packets();
    let pkts: Vec<(&[u8], Ctx)> = pkts.iter().map(|(p, c)| (p.as_slice(), *c)).collect();
    let config = [
        "port=8080",
        "names=example.com",
        "deny=10.0.0.0/8",
        "rate=5",
        "max=3",
    ];
    let mut rng = Rng(0xfa57);
    let mut compared = 0;
    for name in [
        "drop_port",
        "dns_block",
        "cidr_list",
        "icmp_ratelimit",
        "syn_flood",
    ] {
        let original = wasm(name);
        for round in 0..300 {
            let mut bytes = original.clone();
            for _ in 0..1 + rng.next() % 3 {
                let at = (rng.next() as usize) % bytes.len();
                match rng.next() % 2 {
                    0 => bytes[at] = rng.next() as u8,
                    _ => bytes[at] ^= 1 << (rng.next() % 8),
                }
            }
            let load = |tier| -> Result<Instance, LoadError> {
                Filter::new(&bytes, options(&config, tier)?)?.instantiate()
            };
            match (load(Tier::Fast), load(Tier::Wasmi)) {
                (Ok(mut fast), Ok(mut wasmi)) => {
                    if fast.is_fast() {
                        compare(
                            &format!("{name} round {round}"),
                            &mut fast,
                            &mut wasmi,
                            &pkts,
                        );
                        compared += 1;
                    }
                }
                (Err(_), Err(_)) => {}
                // Valid, but outside the fast tier: refused by name.
                (Err(LoadError::Unsupported(_)), Ok(_)) => {}
                (f, w) => panic!(
                    "{name} round {round}: fast {:?}, wasmi {:?}",
                    f.err(),
                    w.err()
                ),
            }
        }
    }
    assert!(compared > 100, "only {compared} mutants compared");
}

/// Cases a review found: branches to the function's own label after a
/// fusable `local.get`, bulk memory bounded by fuel like wasmi, a second
/// table, an exported import.
#[test]
fn review_cases_run_alike() {
    let cases = [
        // A branch to the function label carries its own value.
        r#"(module (func (export "filter") (param $len i32) (result i32) (local $x i32)
            (local.set $x (i32.const 5))
            (br_if 0 (i32.const 1) (local.get $len))
            (drop)
            (local.get $x)))"#,
        r#"(module (func (export "filter") (param $len i32) (result i32) (local $x i32)
            (local.set $x (i32.const 7))
            (block (br_table 1 1 (i32.const 3) (i32.const 0)))
            (local.get $x)))"#,
        // memory.fill / memory.copy / memory.grow cost fuel by size.
        r#"(module (memory 16)
            (func (export "filter") (param i32) (result i32)
              (loop $l (memory.fill (i32.const 0) (i32.const 1) (i32.const 1048576)) (br $l))
              (i32.const 1)))"#,
        r#"(module (memory 16)
            (func (export "filter") (param i32) (result i32)
              (loop $l (memory.copy (i32.const 0) (i32.const 8) (i32.const 1048000)) (br $l))
              (i32.const 1)))"#,
        r#"(module (memory 1)
            (func (export "filter") (param i32) (result i32)
              (memory.fill (i32.const 0) (i32.const 1) (i32.const 65536))
              (i32.const 1)))"#,
    ];
    let pkt = udp4(1, b"");
    let pkts = [(pkt.as_slice(), ctx(&pkt)), (pkt.as_slice(), ctx(&pkt))];
    for wat in cases {
        let wasm = wat::parse_str(wat).unwrap();
        let (mut fast, mut wasmi) = both(&wasm, &[]);
        compare(wat, &mut fast, &mut wasmi, &pkts);
    }
    // Valid, but outside the fast tier: refused by name, never handed to
    // wasmi behind the caller's back.
    for wat in [
        r#"(module (table $a 0 funcref) (table $b 3 funcref)
            (elem (table $a) (i32.const 0) func $g)
            (func $g (result i32) (i32.const 1))
            (func (export "filter") (param i32) (result i32) (i32.const 1)))"#,
        r#"(module (import "wasmnf" "pkt_u8" (func $u8 (param i32) (result i32)))
            (export "filter" (func $u8)))"#,
    ] {
        let wasm = wat::parse_str(wat).unwrap();
        match Filter::new(&wasm, options(&[], Tier::Fast).unwrap()) {
            Err(LoadError::Unsupported(_)) => {}
            other => panic!("{wat}: {:?}", other.map(|f| f.tier())),
        }
    }
}
