//! Filters with maps, end to end: the LPM `cidr_filter` filled from a file
//! of 1,000 random prefixes drops exactly what libpcap's `src net ... or
//! ...` matches; `top_talkers` counts what an independent count of the
//! capture says; both tiers agree on verdicts and on every map afterwards;
//! hostile declarations and map calls are refused or trapped with their
//! own message.

use pcap::{Capture, Precision};
use wasmnf_bench::gen::Rng;
use wasmnf_common::maps::{kind, ty, Decl, RECORD_SIZE};
use wasmnf_ctl::capture::Frames;
use wasmnf_ctl::{maptext, replay};
use wasmnf_engine::{Filter, Hook, LoadError, Status, Tier, TrapKind, Verdict};
use wasmnf_tests::{ctx, options, udp4, wasm};

/// 1,000 prefixes where the generated capture's sources are (10.0.0.0/8 and
/// 2001:db8::/64 + random): IPv4 of lengths 12 to 32, IPv6 /72 to /80.
fn prefixes(seed: u64) -> Vec<String> {
    let mut r = Rng::new(seed);
    let mut out = Vec::new();
    while out.len() < 900 {
        let len = [12, 16, 20, 24, 24, 24, 28, 32][(r.next_u64() % 8) as usize];
        let a = (10u32 << 24 | (r.next_u64() as u32 & 0x00ff_ffff)) & (u32::MAX << (32 - len));
        out.push(format!("{}/{len}", std::net::Ipv4Addr::from(a)));
    }
    while out.len() < 1000 {
        let len = 72 + (r.next_u64() % 9) as u32;
        let low = (r.next_u64() as u128) << 64 & (u128::MAX << (128 - len));
        let a = 0x2001_0db8u128 << 96 | low;
        out.push(format!("{}/{len}", std::net::Ipv6Addr::from(a)));
    }
    out.sort();
    out.dedup();
    out
}

fn load_with_map(name: &str, config: &[&str], tier: Tier, maps: &[String]) -> Filter {
    let filter = Filter::new(&wasm(name), options(config, tier).unwrap()).unwrap();
    maptext::fill(&filter, maps).unwrap_or_else(|e| panic!("{}", e.message));
    filter
}

/// A map's name and its entries (key, one value per CPU), sorted.
type MapDump = (String, Vec<(Vec<u8>, Vec<Vec<u8>>)>);

/// Every map of `filter`, entries sorted.
fn dump(filter: &Filter) -> Vec<MapDump> {
    filter
        .maps()
        .iter()
        .map(|m| {
            let mut e = Vec::new();
            m.entries(|k, v| e.push((k.to_vec(), v.to_vec())));
            e.sort();
            (m.decl().name().to_string(), e)
        })
        .collect()
}

fn run(filter: &Filter, frames: &Frames) -> Vec<bool> {
    let mut inst = filter.instantiate().unwrap();
    let packets = replay::Packets::new(frames, Hook::Prerouting);
    let (report, verdicts) = replay::run(&mut inst, Some(filter.maps()), &packets, 1, |_| {});
    assert_eq!(report.counters.counters.errors(), 0, "no run failed");
    verdicts.iter().map(|v| *v == Some(Verdict::Drop)).collect()
}

#[test]
fn lpm_cidr_filter_with_1000_prefixes_from_a_file_matches_libpcap() {
    let frames = wasmnf_bench::gen::generate(20_000, 11);
    let list = prefixes(3);
    let dir = std::env::temp_dir().join(format!("wasmnf-maps-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("deny.txt");
    let mut text = String::from("# generated blocklist\n");
    for (i, p) in list.iter().enumerate() {
        text.push_str(&format!("{p} {i}\n"));
    }
    std::fs::write(&file, text).unwrap();
    let spec = format!("deny=@{}", file.display());

    let (v4, v6): (Vec<&String>, Vec<&String>) = list.iter().partition(|p| !p.contains(':'));
    let or = |ps: &[&String]| {
        ps.iter()
            .map(|p| format!("src net {p}"))
            .collect::<Vec<_>>()
            .join(" or ")
    };
    let expr = format!("(ip and ({})) or (ip6 and ({}))", or(&v4), or(&v6));
    let prog = Capture::dead_with_precision(frames.linktype, Precision::Nano)
        .unwrap()
        .compile(&expr, true)
        .unwrap();
    let want: Vec<bool> = frames
        .frames
        .iter()
        .map(|f| prog.filter(frames.bytes(f)))
        .collect();

    let fast = load_with_map("cidr_filter", &[], Tier::Fast, std::slice::from_ref(&spec));
    assert_eq!(
        fast.maps().by_name("deny").unwrap().len() as usize,
        list.len()
    );
    let got = run(&fast, &frames);
    let dropped = got.iter().filter(|d| **d).count();
    assert_eq!(got, want, "cidr_filter's drops are libpcap's matches");
    assert!(
        dropped > 100,
        "only {dropped} of 20,000 frames matched: the test needs hits"
    );

    // The wasmi tier: the same verdicts and the same maps after the run.
    let wasmi = load_with_map("cidr_filter", &[], Tier::Wasmi, &[spec]);
    assert_eq!(run(&wasmi, &frames), want);
    assert_eq!(dump(&wasmi), dump(&fast));
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn cidr_filter_keeps_its_configuration_form() {
    let f = Filter::new(
        &wasm("cidr_filter"),
        options(&["deny=192.0.2.0/24", "allow=192.0.2.0/16,::1"], Tier::Fast).unwrap(),
    );
    let f = f.unwrap();
    let mut inst = f.instantiate().unwrap();
    let pkt = udp4(53, b"x");
    // udp4 is from 192.0.2.1: denied.
    assert_eq!(inst.run(&pkt.as_slice(), &ctx(&pkt)), Verdict::Drop);
    assert!(
        f.maps().by_name("deny").unwrap().delete(
            &maptext::parse_key(f.maps().by_name("deny").unwrap().decl(), "192.0.2.0/24").unwrap()
        ) == 0
    );
    // Not denied any more, and inside the allow list: passes without a reload.
    assert_eq!(inst.run(&pkt.as_slice(), &ctx(&pkt)), Verdict::Accept);
    let e = Filter::new(
        &wasm("cidr_filter"),
        options(&["deny=10.0.0.0/33"], Tier::Fast).unwrap(),
    )
    .and_then(|f| f.instantiate().map(|_| ()))
    .unwrap_err();
    assert!(e.to_string().contains("`deny`"), "{e}");
}

#[test]
fn top_talkers_counts_every_source_on_both_tiers() {
    let frames = wasmnf_bench::gen::generate(5_000, 5);
    let mut want = std::collections::BTreeMap::<[u8; 16], (u64, u64)>::new();
    for f in &frames.frames {
        let Some((pkt, _)) = frames.network(f) else {
            continue;
        };
        let src: [u8; 16] = match pkt[0] >> 4 {
            4 => std::net::Ipv4Addr::new(pkt[12], pkt[13], pkt[14], pkt[15])
                .to_ipv6_mapped()
                .octets(),
            _ => pkt[8..24].try_into().unwrap(),
        };
        let e = want.entry(src).or_default();
        e.0 += 1;
        e.1 += pkt.len() as u64;
    }
    let mut dumps = Vec::new();
    for tier in [Tier::Fast, Tier::Wasmi] {
        let filter = load_with_map("top_talkers", &[], tier, &[]);
        assert!(run(&filter, &frames).iter().all(|d| !d));
        let talkers = filter.maps().by_name("talkers").unwrap();
        let mut got = std::collections::BTreeMap::new();
        talkers.entries(|k, v| {
            let w = |i: usize| u64::from_le_bytes(v[0][i * 8..i * 8 + 8].try_into().unwrap());
            got.insert(<[u8; 16]>::try_from(k).unwrap(), (w(0), w(1)));
        });
        assert_eq!(got, want, "{tier:?}");
        dumps.push(dump(&filter));
    }
    assert_eq!(dumps[0], dumps[1]);
    assert!(want.len() > 1000, "{} sources", want.len());
}

/// `proto_stats` on three CPUs (instances 0, 1, 2 taking frames in turn):
/// each CPU's row counts exactly its own frames per protocol, and the rows
/// sum to an independent count of the capture.
#[test]
fn proto_stats_keeps_a_row_per_cpu_that_sums_to_the_capture() {
    let frames = wasmnf_bench::gen::generate(3_000, 9);
    let mut opts = options(&[], Tier::Fast).unwrap();
    opts.cpus = 3;
    let filter = Filter::new(&wasm("proto_stats"), opts).unwrap();
    let mut insts: Vec<_> = (0..3).map(|c| filter.instantiate_on(c).unwrap()).collect();
    let mut want = std::collections::BTreeMap::<(usize, u32), (u64, u64)>::new();
    let mut n = 0usize;
    for f in &frames.frames {
        let Some((pkt, _)) = frames.network(f) else {
            continue;
        };
        let proto = u32::from(match pkt[0] >> 4 {
            4 => pkt[9],
            _ => pkt[6],
        });
        let cpu = n % 3;
        n += 1;
        assert_eq!(insts[cpu].run(&pkt, &ctx(pkt)), Verdict::Accept);
        let e = want.entry((cpu, proto)).or_default();
        e.0 += 1;
        e.1 += pkt.len() as u64;
    }
    let m = filter.maps().by_name("protocols").unwrap();
    assert_eq!(m.rows(), 3);
    let mut got = std::collections::BTreeMap::new();
    m.entries(|k, rows| {
        let proto = u32::from_le_bytes(k.try_into().unwrap());
        for (cpu, v) in rows.iter().enumerate() {
            let w = |i: usize| u64::from_le_bytes(v[i * 8..i * 8 + 8].try_into().unwrap());
            if w(0) > 0 {
                got.insert((cpu, proto), (w(0), w(1)));
            }
        }
    });
    assert_eq!(got, want);
    assert!(
        want.keys()
            .map(|(c, _)| c)
            .collect::<std::collections::BTreeSet<_>>()
            .len()
            == 3
    );
    // The CLI's dump sums the rows.
    let d = maptext::Dump::new(m.decl(), {
        let mut e = Vec::new();
        m.entries(|k, v| e.push((k.to_vec(), v.to_vec())));
        e
    });
    let udp = d
        .entries
        .iter()
        .find(|e| e.key == "17")
        .expect("UDP counted");
    let total: u64 = want
        .iter()
        .filter(|((_, p), _)| *p == 17)
        .map(|(_, (p, _))| p)
        .sum();
    assert_eq!(udp.sum.as_ref().unwrap()[0].as_u64(), Some(total));
}

/// `wat` with a `wasmnf.maps` section of `decls` appended.
fn with_maps(wat: &str, decls: &[[u8; RECORD_SIZE]]) -> Vec<u8> {
    with_section(wat, &decls.concat())
}

/// `wat` with a `wasmnf.maps` section holding `data`.
fn with_section(wat: &str, data: &[u8]) -> Vec<u8> {
    wasmnf_bench::with_map_section(wat::parse_str(wat).unwrap(), data)
}

const USER: &str = r#"(module
  (import "wasmnf" "map_lookup" (func $lookup (param i32 i32 i32) (result i32)))
  (import "wasmnf" "map_add" (func $add (param i32 i32 i32 i64) (result i32)))
  (memory (export "memory") 1)
  ;; the packet length picks what to do: 1 unknown map, 2 key out of
  ;; memory, 3 value out of memory, 4 unaligned add, else a lookup
  (func (export "filter") (param $len i32) (result i32)
    (if (i32.eq (local.get $len) (i32.const 21))
      (then (drop (call $lookup (i32.const 9) (i32.const 0) (i32.const 64)))))
    (if (i32.eq (local.get $len) (i32.const 22))
      (then (drop (call $lookup (i32.const 0) (i32.const 65534) (i32.const 64)))))
    (if (i32.eq (local.get $len) (i32.const 23))
      (then (drop (call $lookup (i32.const 0) (i32.const 0) (i32.const 65530)))))
    (if (i32.eq (local.get $len) (i32.const 24))
      (then (drop (call $add (i32.const 0) (i32.const 0) (i32.const 3) (i64.const 1)))))
    (i32.add (call $lookup (i32.const 0) (i32.const 0) (i32.const 64)) (i32.const 3))))"#;

fn counter(id: u32, name: &str, entries: u32) -> Decl {
    Decl::new(id, name, kind::HASH, ty::U32, 4, ty::U64, 8, entries)
}

#[test]
fn hostile_declarations_are_refused_with_the_map_named() {
    let refused = |decls: &[[u8; RECORD_SIZE]]| -> String {
        Filter::new(&with_maps(USER, decls), options(&[], Tier::Fast).unwrap())
            .err()
            .map(|e: LoadError| e.to_string())
            .expect("refused")
    };
    let zero_value = Decl::new(0, "z", kind::HASH, ty::U32, 4, ty::U64, 0, 8).encode();
    assert!(
        refused(&[zero_value]).contains("map `z`: bad value size"),
        "{}",
        refused(&[zero_value])
    );
    let zero_key = Decl::new(0, "k", kind::HASH, ty::U32, 0, ty::U64, 8, 8).encode();
    assert!(refused(&[zero_key]).contains("map `k`: bad key size"));
    let huge = counter(0, "huge", 1 << 25).encode();
    assert!(refused(&[huge]).contains("map `huge`: bad capacity"));
    let dup = [counter(0, "a", 8).encode(), counter(1, "a", 8).encode()];
    assert!(refused(&dup).contains("map `a`: two maps have this name"));
    let ids = [counter(0, "a", 8).encode(), counter(0, "b", 8).encode()];
    assert!(refused(&ids).contains("one wasmnf_sdk::maps! block"));
    let over = counter(0, "big", 1 << 24).encode();
    assert!(
        refused(&[over]).contains("over the limit"),
        "{}",
        refused(&[over])
    );
    let torn = &counter(0, "a", 8).encode()[..40];
    let e = Filter::new(&with_section(USER, torn), options(&[], Tier::Fast).unwrap())
        .err()
        .unwrap();
    assert!(
        e.to_string().contains("whole number of 64-byte records"),
        "{e}"
    );
}

#[test]
fn hostile_map_calls_trap_with_their_own_message_on_both_tiers() {
    let m = with_maps(USER, &[counter(0, "c", 8).encode()]);
    for tier in [Tier::Fast, Tier::Wasmi] {
        let filter = Filter::new(&m, options(&[], tier).unwrap()).unwrap();
        let mut inst = filter.instantiate().unwrap();
        let pkt = |len: usize| vec![0x45u8; len];
        let trap = |inst: &mut wasmnf_engine::Instance, len: usize| {
            let p = pkt(len);
            inst.run_detailed(&p.as_slice(), &ctx(&p)).status
        };
        assert_eq!(
            trap(&mut inst, 21),
            Status::Trap(TrapKind::NoSuchMap),
            "{tier:?}"
        );
        assert_eq!(
            trap(&mut inst, 22),
            Status::Trap(TrapKind::HostMemoryOutOfBounds),
            "{tier:?}"
        );
        assert_eq!(
            trap(&mut inst, 23),
            Status::Trap(TrapKind::HostMemoryOutOfBounds),
            "{tier:?}"
        );
        assert_eq!(
            trap(&mut inst, 24),
            Status::Trap(TrapKind::BadHostCall),
            "{tier:?}"
        );
        // A miss returns -ENOENT (-2): -2 + 3 = 1, accept.
        let p = pkt(40);
        assert_eq!(
            inst.run_detailed(&p.as_slice(), &ctx(&p)).status,
            Status::Ok
        );
        assert_eq!(
            TrapKind::NoSuchMap.describe(),
            "map import given an undeclared map id"
        );
    }
}

/// README's "State in maps" example is `filters/blocklist`, verbatim: it
/// builds, it is under 25 lines, and it drops what its map holds.
#[test]
fn the_readme_map_example_is_a_working_filter() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let src = std::fs::read_to_string(root.join("filters/blocklist/src/lib.rs")).unwrap();
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    assert!(
        readme.contains(&format!("```rust\n{src}```")),
        "README shows filters/blocklist/src/lib.rs"
    );
    assert!(src.lines().count() < 25);
    let f = Filter::new(&wasm("blocklist"), options(&[], Tier::Fast).unwrap()).unwrap();
    let mut inst = f.instantiate().unwrap();
    let pkt = udp4(53, b"x");
    assert_eq!(inst.run(&pkt.as_slice(), &ctx(&pkt)), Verdict::Accept);
    let list = root.join("target/blocklist-test.txt");
    std::fs::write(&list, "192.0.2.0/24\n").unwrap();
    maptext::fill(&f, &[format!("blocklist=@{}", list.display())]).unwrap();
    assert_eq!(
        inst.run(&pkt.as_slice(), &ctx(&pkt)),
        Verdict::Drop,
        "192.0.2.1 is in the map now"
    );
}

/// A filter that looks up map `$map` keyed by the packet's address `$field`
/// (`map_lookup_pkt`) and returns what it got as a non-verdict, so a test
/// sees it: `100 + value` when found (`value` -1: nothing is copied, so
/// 100), else the negative return code.
fn lookup_pkt_filter(map: i32, field: i32, value: i32) -> String {
    format!(
        r#"(module
  (import "wasmnf" "map_lookup_pkt" (func $lookup (param i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "filter") (param $len i32) (result i32)
    (local $r i32)
    (i32.store (i32.const 64) (i32.const 0))
    (local.set $r (call $lookup (i32.const {map}) (i32.const {field}) (i32.const {value})))
    (if (result i32) (i32.eqz (local.get $r))
      (then (i32.add (i32.load (i32.const 64)) (i32.const 100)))
      (else (local.get $r)))))"#
    )
}

/// The maps `lookup_pkt_filter` looks up, by id: `lpm` keyed by IPv4 (key
/// 8) and by IPv6 (20), `hash` by IPv4 (4) and IPv6 (16), `percpu_hash` by
/// IPv6, an array and a hash of 8-byte keys (no address keys those).
fn lookup_pkt_maps() -> Vec<[u8; RECORD_SIZE]> {
    [
        Decl::new(0, "l4", kind::LPM, ty::IPV4, 8, ty::U32, 4, 16),
        Decl::new(1, "l6", kind::LPM, ty::IPV6, 20, ty::U32, 4, 16),
        Decl::new(2, "h4", kind::HASH, ty::IPV4, 4, ty::U32, 4, 16),
        Decl::new(3, "h6", kind::HASH, ty::IPV6, 16, ty::U32, 4, 16),
        Decl::new(4, "p6", kind::PERCPU_HASH, ty::IPV6, 16, ty::U32, 4, 16),
        Decl::new(5, "a", kind::ARRAY, ty::U32, 4, ty::U32, 4, 16),
        Decl::new(6, "h8", kind::HASH, ty::U64, 8, ty::U32, 4, 16),
    ]
    .iter()
    .map(Decl::encode)
    .collect()
}

/// An `lpm` key: the prefix length (little-endian) and the address.
fn lpm_key(len: u32, addr: &[u8]) -> Vec<u8> {
    [&len.to_le_bytes()[..], addr].concat()
}

fn mapped(a: [u8; 4]) -> [u8; 16] {
    std::net::Ipv4Addr::from(a).to_ipv6_mapped().octets()
}

/// Fills the maps of `lookup_pkt_maps`.
fn fill_lookup_pkt_maps(filter: &Filter) {
    use wasmnf_engine::Cpus;
    use wasmnf_tests::{DST4, SRC4, SRC6};
    let put = |id: u32, key: &[u8], value: u32| {
        let map = filter.maps().get(id).unwrap();
        assert_eq!(map.update(key, &value.to_le_bytes(), 0, Cpus::All), 0);
    };
    put(0, &lpm_key(24, &[192, 0, 2, 0]), 11);
    put(0, &lpm_key(32, &DST4), 12);
    put(1, &lpm_key(96 + 24, &mapped([192, 0, 2, 0])), 21);
    put(
        1,
        &lpm_key(
            32,
            &SRC6[..4]
                .iter()
                .chain(&[0; 12])
                .copied()
                .collect::<Vec<_>>(),
        ),
        22,
    );
    put(2, &SRC4, 31);
    put(2, &DST4, 32);
    put(3, &mapped(SRC4), 41);
    put(3, &SRC6, 42);
    put(4, &SRC6, 51);
}

#[test]
fn map_lookup_pkt_keys_each_map_by_the_packet_address_on_both_tiers() {
    use wasmnf_tests::{icmp4_from, icmp6_from, udp6, SRC6};
    let (src, dst) = (0, 1);
    let v4 = udp4(53, b"q");
    let v6 = udp6(53, b"q");
    let other4 = icmp4_from([203, 0, 113, 5]);
    let mut other6 = SRC6;
    other6[15] = 9;
    let other6 = icmp6_from(other6);
    let truncated = v4[..19].to_vec();
    let short6 = vec![0x60u8; 39];
    let found = |v: i32| Status::InvalidVerdict(100 + v);
    let code = Status::InvalidVerdict;
    // (map, field, packet, what the lookup returns)
    let cases: &[(i32, i32, &[u8], Status)] = &[
        (0, src, &v4, found(11)),
        (0, dst, &v4, found(12)),
        (0, src, &other4, code(-2)),
        (0, src, &v6, code(-61)),
        (0, src, &truncated, code(-61)),
        (1, src, &v4, found(21)),
        (1, dst, &v4, code(-2)),
        (1, src, &v6, found(22)),
        (1, dst, &v6, found(22)),
        (1, src, &other6, found(22)),
        (1, src, &short6, code(-61)),
        (2, src, &v4, found(31)),
        (2, dst, &v4, found(32)),
        (2, src, &other4, code(-2)),
        (2, src, &v6, code(-61)),
        (3, src, &v4, found(41)),
        (3, dst, &v4, code(-2)),
        (3, src, &v6, found(42)),
        (3, src, &other6, code(-2)),
        (4, src, &v6, found(51)),
        (4, src, &v4, code(-2)),
        (5, src, &v4, code(-22)),
        (6, src, &v4, code(-22)),
        // Traps: an undeclared map, a field that is no address, a value
        // buffer outside memory.
        (9, src, &v4, Status::Trap(TrapKind::NoSuchMap)),
        (0, 2, &v4, Status::Trap(TrapKind::BadHostCall)),
        (0, -1, &v4, Status::Trap(TrapKind::BadHostCall)),
    ];
    for tier in [Tier::Fast, Tier::Wasmi] {
        // `value` 64 copies the value; -1 (`NO_VALUE`) only tests, so a
        // found entry leaves memory zero: 100 + 0.
        let tested = cases.iter().map(|&(m, f, p, w)| {
            let w = match w {
                Status::InvalidVerdict(v) if v > 100 => Status::InvalidVerdict(100),
                w => w,
            };
            (-1, m, f, p, w)
        });
        let copied = cases.iter().map(|&(m, f, p, w)| (64, m, f, p, w));
        for (value, map, field, pkt, want) in copied.chain(tested) {
            let m = with_maps(&lookup_pkt_filter(map, field, value), &lookup_pkt_maps());
            let filter = Filter::new(&m, options(&[], tier).unwrap()).unwrap();
            fill_lookup_pkt_maps(&filter);
            let mut inst = filter.instantiate().unwrap();
            let got = inst.run_detailed(&pkt, &ctx(pkt)).status;
            assert_eq!(
                got, want,
                "{tier:?}: map {map} field {field} value {value} packet {pkt:02x?}"
            );
        }
        let m = with_maps(&lookup_pkt_filter(0, src, 65534), &lookup_pkt_maps());
        let filter = Filter::new(&m, options(&[], tier).unwrap()).unwrap();
        let mut inst = filter.instantiate().unwrap();
        assert_eq!(
            inst.run_detailed(&v4.as_slice(), &ctx(&v4)).status,
            Status::Trap(TrapKind::HostMemoryOutOfBounds),
            "{tier:?}"
        );
    }
}

#[test]
fn map_lookup_pkt_in_init_is_refused_at_load() {
    let wat = r#"(module
  (import "wasmnf" "map_lookup_pkt" (func $lookup (param i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "init") (result i32)
    (drop (call $lookup (i32.const 0) (i32.const 0) (i32.const 64)))
    (i32.const 0))
  (func (export "filter") (param i32) (result i32) (i32.const 1)))"#;
    for tier in [Tier::Fast, Tier::Wasmi] {
        let m = with_maps(wat, &lookup_pkt_maps());
        let e = Filter::new(&m, options(&[], tier).unwrap())
            .and_then(|f| f.instantiate().map(drop))
            .err()
            .map(|e| e.to_string());
        assert!(
            e.as_deref().is_some_and(|e| e.contains("init trapped")),
            "{tier:?}: {e:?}"
        );
    }
}
