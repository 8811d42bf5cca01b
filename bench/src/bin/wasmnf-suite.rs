//! The filter suite (issue 16, first part: the measurement): the example
//! filters people deploy, each against its libpcap cBPF equivalent where one
//! exists and against itself on wasmi, over the same 4,096 generated frames
//! (`gen::generate(4096, 1)`, cycled: hot).
//!
//! ```sh
//! cargo run --release -p wasmnf-bench --bin wasmnf-suite            # the table
//! cargo run --release -p wasmnf-bench --bin wasmnf-suite -- --json  # the same, as JSON
//! wasmnf-suite run ENTRY CONTENDER LOOPS                             # one contender
//! ```
//!
//! Per entry and contender: ns per packet (median of 5 timed runs of about
//! 0.1 s, in this process) and machine instructions per packet, counted by
//! cachegrind: this binary runs itself as `run ENTRY CONTENDER LOOPS` under
//! `valgrind --tool=cachegrind` with 2 and 4 passes, and the difference
//! over 2 passes is the per-packet cost without start-up and loading. The
//! suite fails if the fast tier and wasmi disagree on a verdict count, or a
//! filter and its cBPF expression do where they are meant to be the same
//! rule (`same`).

use pcap::{Capture, Linktype};
use std::hint::black_box;
use std::process::Command;
use std::time::Instant;
use wasmnf_bench::native::{self, Native};
use wasmnf_bench::{filters_dir, gen};
use wasmnf_ctl::maptext;
use wasmnf_engine::{
    Cpus, Ctx, Filter, FilterConfig, FilterOptions, Hook, Instance, Tier, Verdict,
};

/// One filter of the suite.
struct Entry {
    /// Its name in the table.
    name: &'static str,
    /// The example filter (`filters/NAME`), or `wat:` and a module of
    /// [`probe_wat`].
    filter: &'static str,
    config: Vec<String>,
    /// Map contents loaded before the run: map name and `KEY [VALUE]` lines
    /// (as `replay --map` reads them).
    maps: Vec<(&'static str, Vec<String>)>,
    /// The libpcap expression for the same rule, if there is one.
    cbpf: Option<String>,
    /// Whether the filter drops exactly what `cbpf` matches (else the
    /// expression is only the nearest cost comparison).
    same: bool,
}

/// `n` IPv4 /16 prefixes inside the capture's source range (10.0.0.0/8),
/// so about `n`/256 of IPv4 packets match one; for the list-based
/// `cidr_list` every non-matching packet walks the whole list.
fn prefixes(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("10.{i}.0.0/16")).collect()
}

/// `n` distinct random IPv4 prefixes with lengths from `lens` inside
/// 10.0.0.0/8 (where the capture's sources are, so lookups walk deep),
/// deterministic.
fn random_prefixes(n: usize, lens: &[u32]) -> Vec<String> {
    let mut seen = std::collections::BTreeSet::new();
    let mut rng = gen::Rng::new(0x2545_f491_4f6c_dd1d);
    while seen.len() < n {
        let x = rng.next_u64();
        let len = lens[(x >> 40) as usize % lens.len()];
        let a = (10u32 << 24 | (x as u32 & 0x00ff_ffff)) & (u32::MAX << (32 - len));
        seen.insert((a, len));
    }
    seen.into_iter()
        .map(|(a, len)| format!("{}/{len}", std::net::Ipv4Addr::from(a)))
        .collect()
}

/// A map-lookup probe: copies the IPv4 source into a key (`u32` prefix
/// length 32 at 0, the address at 4) and looks it up in map 0, the key
/// starting at `key` (4: a `hash` of addresses, 0: an `lpm` key). `base`
/// is the same module without the call; it keeps an untaken one so that
/// the engine stages the same window. The cost of a lookup is a probe's
/// instructions minus the base's. `pkt-hash` and `pkt-lpm` look the same
/// maps up with `map_lookup_pkt` (the host keys them by the packet's
/// source; IPv6 frames get its no-address return), copying the value to
/// 64 as the others do.
fn probe_wat(name: &str) -> String {
    let call = |key: u32| format!("(call $lookup (i32.const 0) (i32.const {key}) (i32.const 64))");
    let tail = match name {
        "base" => format!(
            "(if (i32.eq (local.get $len) (i32.const -1)) (then (drop {})))\n    (i32.const 1)",
            call(4)
        ),
        "hash" => format!("(i32.ne {} (i32.const 0))", call(4)),
        "pkt-hash" | "pkt-lpm" => {
            "(i32.ne (call $lookup_pkt (i32.const 0) (i32.const 0) (i32.const 64)) (i32.const 0))"
                .to_string()
        }
        _ => format!("(i32.ne {} (i32.const 0))", call(0)),
    };
    format!(
        r#"(module
  (import "wasmnf" "map_lookup" (func $lookup (param i32 i32 i32) (result i32)))
  (import "wasmnf" "map_lookup_pkt" (func $lookup_pkt (param i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (global (export "wasmnf_window") i32 (i32.const 1024))
  (func (export "filter") (param $len i32) (result i32)
    (i32.store (i32.const 0) (i32.const 32))
    (i32.store (i32.const 4) (i32.load (i32.const 1100)))
    {tail}))"#
    )
}

/// The module and the map declaration of a probe.
fn probe(name: &str) -> Vec<u8> {
    use wasmnf_engine::common::maps::{kind, ty, Decl};
    let d = match name {
        "lpm" | "pkt-lpm" => Decl::new(0, "m", kind::LPM, ty::IPV4, 8, ty::U32, 4, 200_000),
        _ => Decl::new(0, "m", kind::HASH, ty::IPV4, 4, ty::U32, 4, 65_536),
    };
    let wasm = wat::parse_str(probe_wat(name)).expect("valid probe");
    wasmnf_bench::with_map_section(wasm, &d.encode())
}

/// IPv4 source addresses of the capture, as `hash` probe keys.
fn sources() -> Vec<String> {
    let frames = gen::generate(4096, 1);
    let mut s = std::collections::BTreeSet::new();
    for f in &frames.frames {
        if let Some((pkt, _)) = frames.network(f) {
            if pkt[0] >> 4 == 4 {
                s.insert(std::net::Ipv4Addr::new(pkt[12], pkt[13], pkt[14], pkt[15]).to_string());
            }
        }
    }
    s.into_iter().collect()
}

/// The suite's firewall: 12 accept rules (ACK-set TCP; TCP to 3 ports, UDP
/// to 3; 2 ICMP types, 1 ICMPv6 type; 2 source prefixes), default drop.
const FW_TCP: &[u16] = &[22, 80, 443];
const FW_UDP: &[u16] = &[53, 123, 443];
const FW_ICMP: &[u8] = &[8, 0];
const FW_ICMP6: &[u8] = &[128];
const FW_ALLOW: &[&str] = &["10.1.0.0/16", "10.2.0.0/16"];

fn join<T: ToString>(v: &[T], sep: &str) -> String {
    v.iter().map(T::to_string).collect::<Vec<_>>().join(sep)
}

/// The firewall's `--config` entries, from the constants above.
fn firewall_config() -> Vec<String> {
    vec![
        format!("tcp={}", join(FW_TCP, ",")),
        format!("udp={}", join(FW_UDP, ",")),
        format!("icmp={}", join(FW_ICMP, ",")),
        format!("icmp6={}", join(FW_ICMP6, ",")),
        format!("allow={}", join(FW_ALLOW, ",")),
    ]
}

/// The firewall's drop rule as a libpcap expression: IP that no rule
/// accepts. (`tcp[]` and `icmp[]` index IPv4 only; the IPv6 forms read
/// the base header's next header, as the capture has no extension
/// headers.)
fn firewall_cbpf() -> String {
    let ports = |proto: &str, ports: &[u16]| {
        ports
            .iter()
            .map(|p| format!("{proto} dst port {p}"))
            .collect::<Vec<_>>()
    };
    let mut accept = vec![
        "(ip and tcp and tcp[tcpflags] & tcp-ack != 0)".to_string(),
        "(ip6 and ip6[6] == 6 and ip6[53] & 0x10 != 0)".to_string(),
    ];
    accept.extend(ports("tcp", FW_TCP));
    accept.extend(ports("udp", FW_UDP));
    accept.extend(
        FW_ICMP
            .iter()
            .map(|t| format!("(icmp and icmp[icmptype] == {t})")),
    );
    accept.extend(
        FW_ICMP6
            .iter()
            .map(|t| format!("(ip6 and ip6[6] == 58 and ip6[40] == {t})")),
    );
    accept.extend(FW_ALLOW.iter().map(|n| format!("src net {n}")));
    format!("(ip or ip6) and not ({})", accept.join(" or "))
}

fn suite() -> Vec<Entry> {
    let names: Vec<String> = (0..16).map(|i| format!("host{i}.example.com")).collect();
    let cidr = |n: usize| {
        let p = prefixes(n);
        let nets: Vec<String> = p.iter().map(|p| format!("src net {p}")).collect();
        Entry {
            name: if n == 8 {
                "cidr_list 8"
            } else {
                "cidr_list 64"
            },
            filter: "cidr_list",
            config: vec![format!("deny={}", p.join(","))],
            maps: vec![],
            cbpf: Some(format!("ip and ({})", nets.join(" or "))),
            same: true,
        }
    };
    let cbpf8 = {
        let nets: Vec<String> = prefixes(8).iter().map(|p| format!("src net {p}")).collect();
        format!("ip and ({})", nets.join(" or "))
    };
    // A blocklist's mix of lengths: every source of the capture is in one.
    let big = random_prefixes(100_000, &[16, 20, 22, 24, 24, 24, 26, 28, 32]);
    // Long prefixes only: almost every lookup walks deep and misses; with
    // 10.0.0.0/8 added, the same walk ends in a hit.
    let sparse = random_prefixes(100_000, &[25, 26, 27, 28, 29, 30, 31, 32]);
    let with_slash8 = {
        let mut v = sparse.clone();
        v.push("10.0.0.0/8".into());
        v
    };
    let probe_entry = |name: &'static str, wat: &'static str, lines: Vec<String>| Entry {
        name,
        filter: wat,
        config: vec![],
        maps: vec![("m", lines)],
        cbpf: None,
        same: false,
    };
    vec![
        Entry {
            name: "accept_all",
            filter: "accept_all",
            config: vec![],
            maps: vec![],
            cbpf: Some("ip or ip6".into()),
            same: false,
        },
        Entry {
            name: "drop_port",
            filter: "drop_port",
            config: vec![format!("port={}", gen::PORT)],
            maps: vec![],
            cbpf: Some(format!("(tcp or udp) and dst port {}", gen::PORT)),
            same: true,
        },
        Entry {
            name: "syn_flood",
            filter: "syn_flood",
            config: vec!["max=100000".into()],
            maps: vec![],
            cbpf: Some("tcp[tcpflags] & (tcp-syn|tcp-ack) == tcp-syn".into()),
            same: false,
        },
        Entry {
            name: "icmp_ratelimit",
            filter: "icmp_ratelimit",
            config: vec![],
            cbpf: Some("icmp or icmp6".into()),
            maps: vec![],
            same: false,
        },
        Entry {
            name: "dns_block 16",
            filter: "dns_block",
            config: vec![format!("names={}", names.join(","))],
            maps: vec![],
            cbpf: None,
            same: false,
        },
        cidr(8),
        cidr(64),
        Entry {
            name: "firewall",
            filter: "firewall",
            config: firewall_config(),
            maps: vec![],
            cbpf: Some(firewall_cbpf()),
            same: true,
        },
        Entry {
            name: "cidr_filter 8",
            filter: "cidr_filter",
            config: vec![],
            maps: vec![("deny", prefixes(8))],
            cbpf: Some(cbpf8.clone()),
            same: true,
        },
        Entry {
            name: "cidr_filter 100k",
            filter: "cidr_filter",
            config: vec![],
            maps: vec![("deny", big.clone())],
            // Not the same rule: the bar is cBPF's cost with 8 prefixes.
            cbpf: Some(cbpf8),
            same: false,
        },
        probe_entry("probe base", "wat:base", vec![]),
        probe_entry("probe hash miss", "wat:hash", vec![]),
        probe_entry("probe hash hit", "wat:hash", sources()),
        probe_entry("probe lpm miss", "wat:lpm", sparse.clone()),
        probe_entry("probe lpm hit", "wat:lpm", with_slash8.clone()),
        probe_entry("probe pkt hash miss", "wat:pkt-hash", vec![]),
        probe_entry("probe pkt hash hit", "wat:pkt-hash", sources()),
        probe_entry("probe pkt lpm miss", "wat:pkt-lpm", sparse),
        probe_entry("probe pkt lpm hit", "wat:pkt-lpm", with_slash8),
    ]
}

/// Who runs an entry.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Contender {
    Fast,
    Wasmi,
    Cbpf,
    Native,
}

impl Contender {
    const ALL: [Contender; 4] = [
        Contender::Fast,
        Contender::Wasmi,
        Contender::Cbpf,
        Contender::Native,
    ];

    fn name(self) -> &'static str {
        match self {
            Contender::Fast => "fast",
            Contender::Wasmi => "wasmi",
            Contender::Cbpf => "cbpf",
            Contender::Native => "native",
        }
    }

    fn from_name(s: &str) -> Option<Contender> {
        Contender::ALL.into_iter().find(|c| c.name() == s)
    }
}

/// The frames as the contenders see them: whole frames for cBPF, the
/// network layer with its hook context for the engine.
struct Packets {
    frames: Vec<Vec<u8>>,
    net: Vec<(Vec<u8>, Ctx)>,
}

fn packets() -> Packets {
    packets_of(4096, 1)
}

/// `n` generated frames from `seed`, as the contenders see them.
fn packets_of(n: usize, seed: u64) -> Packets {
    let frames = gen::generate(n, seed);
    let mut p = Packets {
        frames: Vec::new(),
        net: Vec::new(),
    };
    for f in &frames.frames {
        p.frames.push(frames.bytes(f).to_vec());
        if let Some((pkt, ctx)) = frames.packet(f, Hook::Prerouting) {
            p.net.push((pkt.to_vec(), ctx));
        }
    }
    p
}

fn load(e: &Entry, tier: Tier) -> Instance {
    load_with(e, tier, false)
}

/// Wasm instructions per packet, executed (the engine's counting form:
/// one unit of fuel per instruction), over one pass.
fn wasm_instructions(e: &Entry, p: &Packets) -> f64 {
    let mut inst = load_with(e, Tier::Fast, true);
    let mut total = 0u64;
    for (pkt, ctx) in &p.net {
        inst.run(&pkt.as_slice(), ctx);
        total += inst.fuel_used().expect("the fast tier reports fuel");
    }
    total as f64 / p.net.len() as f64
}

fn load_with(e: &Entry, tier: Tier, count_instructions: bool) -> Instance {
    let wasm = match e.filter.strip_prefix("wat:") {
        Some(name) => probe(name),
        None => {
            let path = filters_dir().join(format!("{}.wasm", e.filter));
            std::fs::read(&path).unwrap_or_else(|err| panic!("{}: {err}", path.display()))
        }
    };
    let options = FilterOptions {
        config: FilterConfig::from_entries(e.config.iter().map(String::as_str))
            .expect("valid config"),
        tier,
        count_instructions,
        ..FilterOptions::default()
    };
    let filter = Filter::new(&wasm, options).unwrap_or_else(|err| panic!("{}: {err}", e.name));
    let inst = filter
        .instantiate()
        .unwrap_or_else(|err| panic!("{}: {err}", e.name));
    for (name, lines) in &e.maps {
        let map = filter.maps().by_name(name).expect("the map exists");
        let text = lines.join("\n");
        for (k, v) in maptext::parse_file(map.decl(), name, &text).expect("valid entries") {
            assert_eq!(
                map.update(&k, &v, 0, Cpus::All),
                0,
                "{}: map {name} took every entry",
                e.name
            );
        }
    }
    inst
}

/// The entry's rule in plain Rust (`wasmnf_bench::native`), if the suite
/// has one: the same rule as the filter, with the same configuration.
fn native_for(e: &Entry) -> Option<Native> {
    let config = |key: &str| {
        e.config
            .iter()
            .find_map(|c| c.strip_prefix(key)?.strip_prefix('='))
            .map(|v| v.split(',').map(String::from).collect::<Vec<_>>())
    };
    let map = |name: &str| {
        e.maps
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, l)| l.clone())
    };
    Some(match e.filter {
        "accept_all" => native::accept_all(),
        "drop_port" => native::drop_port(gen::PORT),
        "syn_flood" => native::syn_flood(config("max")?.first()?.parse().ok()?),
        "icmp_ratelimit" => native::icmp_ratelimit(),
        "dns_block" => native::dns_block(&config("names")?),
        "cidr_list" => native::prefix_list(&config("deny")?),
        "cidr_filter" => native::prefix_set(&map("deny")?),
        "firewall" => {
            let allow: Vec<String> = FW_ALLOW.iter().map(|s| s.to_string()).collect();
            native::firewall(FW_TCP, FW_UDP, FW_ICMP, FW_ICMP6, &allow)
        }
        _ => return None,
    })
}

/// A contender ready to run passes over the packets; each pass returns its
/// drops (cBPF: its matches).
enum Runner {
    Engine(Box<Instance>),
    Cbpf(pcap::BpfProgram),
    Native(Native),
}

impl Runner {
    /// `None` when the contender has nothing to run for the entry.
    fn new(e: &Entry, c: Contender) -> Option<Runner> {
        Some(match c {
            Contender::Fast => Runner::Engine(Box::new(load(e, Tier::Fast))),
            Contender::Wasmi => Runner::Engine(Box::new(load(e, Tier::Wasmi))),
            Contender::Cbpf => Runner::Cbpf(
                Capture::dead(Linktype::ETHERNET)
                    .expect("dead capture")
                    .compile(e.cbpf.as_deref()?, true)
                    .unwrap_or_else(|err| panic!("{}: libpcap: {err}", e.name)),
            ),
            Contender::Native => Runner::Native(native_for(e)?),
        })
    }

    /// Packets one pass runs.
    fn items(&self, p: &Packets) -> usize {
        match self {
            Runner::Engine(_) | Runner::Native(_) => p.net.len(),
            Runner::Cbpf(_) => p.frames.len(),
        }
    }

    fn passes(&mut self, p: &Packets, loops: usize) -> u64 {
        let mut n = 0;
        for _ in 0..loops {
            match self {
                Runner::Engine(inst) => {
                    for (pkt, ctx) in &p.net {
                        n += (inst.run(&black_box(pkt.as_slice()), ctx) == Verdict::Drop) as u64;
                    }
                }
                Runner::Cbpf(prog) => {
                    for f in &p.frames {
                        n += prog.filter(black_box(f)) as u64;
                    }
                }
                Runner::Native(f) => {
                    for (pkt, ctx) in &p.net {
                        n += f(black_box(pkt.as_slice()), ctx) as u64;
                    }
                }
            }
        }
        n
    }
}

/// One pass's drops and the median ns per packet of 5 timed runs of about
/// 0.1 s each (1 to 200 passes).
fn time(r: &mut Runner, p: &Packets) -> (u64, f64) {
    let t = Instant::now();
    r.passes(p, 1);
    let one = t.elapsed().as_secs_f64();
    let loops = ((0.1 / one.max(1e-9)) as usize).clamp(1, 200);
    let mut samples = Vec::new();
    let mut drops = 0;
    for _ in 0..5 {
        let t = Instant::now();
        drops = r.passes(p, loops);
        samples.push(t.elapsed().as_nanos() as f64 / (loops * r.items(p)) as f64);
    }
    samples.sort_by(|a, b| a.total_cmp(b));
    (drops / loops as u64, samples[2])
}

/// Frames of the cold set: each run once per pass, ~300 MB in all, far
/// more than the caches hold.
const COLD_FRAMES: usize = 200_000;

/// The median ns per packet of 3 passes over the cold set (every frame
/// once per pass).
fn time_cold(r: &mut Runner, cold: &Packets) -> f64 {
    let mut samples: Vec<f64> = (0..3)
        .map(|_| {
            let t = Instant::now();
            r.passes(cold, 1);
            t.elapsed().as_nanos() as f64 / r.items(cold) as f64
        })
        .collect();
    samples.sort_by(|a, b| a.total_cmp(b));
    samples[1]
}

/// Instructions per packet under cachegrind: `run` with 2 and 4 passes,
/// the difference over 2 passes (8,000 runs). `None` without valgrind.
fn instructions(entry: usize, c: Contender, items: usize) -> Option<f64> {
    let me = std::env::current_exe().ok()?;
    let mut ir = Vec::new();
    for loops in [2, 4] {
        let out = Command::new("valgrind")
            .args([
                "--tool=cachegrind",
                "--cache-sim=no",
                "--cachegrind-out-file=/dev/null",
            ])
            .arg(&me)
            .args(["run", &entry.to_string(), c.name(), &loops.to_string()])
            .output()
            .ok()?;
        let err = String::from_utf8_lossy(&out.stderr);
        // `==PID== I   refs:      25,124,441`
        let refs = err
            .lines()
            .find(|l| l.contains(" I ") && l.contains("refs:"))?
            .split_once("refs:")?
            .1;
        ir.push(refs.trim().replace(',', "").parse::<f64>().ok()?);
    }
    Some((ir[1] - ir[0]) / (2 * items) as f64)
}

struct Row {
    entry: &'static str,
    contender: Contender,
    drops: u64,
    ns: f64,
    cold_ns: f64,
    instructions: Option<f64>,
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let entries = suite();
    let p = packets();
    if args.first().map(String::as_str) == Some("run") {
        // One contender, for cachegrind: load, then LOOPS passes.
        let (Some(i), Some(c), Some(loops)) = (
            args.get(1).and_then(|s| s.parse::<usize>().ok()),
            args.get(2).and_then(|s| Contender::from_name(s)),
            args.get(3).and_then(|s| s.parse::<usize>().ok()),
        ) else {
            eprintln!("usage: wasmnf-suite run ENTRY fast|wasmi|cbpf LOOPS");
            std::process::exit(2);
        };
        let mut r = Runner::new(&entries[i], c).expect("the entry has this contender");
        println!("{}", r.passes(&p, loops));
        return;
    }
    let json = args.iter().any(|a| a == "--json");
    let cold = packets_of(COLD_FRAMES, 2);
    let mut rows = Vec::new();
    // Executed Wasm instructions per packet, per entry (the same module
    // for both tiers).
    let wasm: Vec<f64> = entries.iter().map(|e| wasm_instructions(e, &p)).collect();
    let wasm_of = |entry: &str| {
        entries
            .iter()
            .position(|e| e.name == entry)
            .map(|i| wasm[i])
    };
    for (i, e) in entries.iter().enumerate() {
        for c in Contender::ALL {
            let Some(mut r) = Runner::new(e, c) else {
                continue;
            };
            let (drops, ns) = time(&mut r, &p);
            let cold_ns = time_cold(&mut r, &cold);
            let instructions = instructions(i, c, r.items(&p));
            rows.push(Row {
                entry: e.name,
                contender: c,
                drops,
                ns,
                cold_ns,
                instructions,
            });
        }
    }
    let get =
        |entry: &str, c: Contender| rows.iter().find(|r| r.entry == entry && r.contender == c);
    let mut failed = false;
    for e in &entries {
        let (fast, wasmi) = (get(e.name, Contender::Fast), get(e.name, Contender::Wasmi));
        if let (Some(f), Some(w)) = (fast, wasmi) {
            if f.drops != w.drops {
                eprintln!("{}: fast drops {} but wasmi {}", e.name, f.drops, w.drops);
                failed = true;
            }
        }
        // The native form is the same rule by construction.
        if let (Some(f), Some(n)) = (fast, get(e.name, Contender::Native)) {
            if f.drops != n.drops {
                eprintln!("{}: fast drops {} but native {}", e.name, f.drops, n.drops);
                failed = true;
            }
        }
        if let (true, Some(f), Some(b)) = (e.same, fast, get(e.name, Contender::Cbpf)) {
            if f.drops != b.drops {
                eprintln!(
                    "{}: fast drops {} but cBPF matches {}",
                    e.name, f.drops, b.drops
                );
                failed = true;
            }
        }
    }
    if json {
        print!("[");
        for (k, r) in rows.iter().enumerate() {
            let ins = r.instructions.map_or("null".into(), |v| format!("{v:.1}"));
            let wasm = match r.contender {
                Contender::Cbpf => "null".into(),
                _ => wasm_of(r.entry).map_or("null".into(), |v| format!("{v:.1}")),
            };
            print!(
                "{}{{\"entry\":\"{}\",\"contender\":\"{}\",\"drops\":{},\"ns_per_packet\":{:.2},\"cold_ns_per_packet\":{:.2},\"instructions_per_packet\":{},\"wasm_instructions_per_packet\":{}}}",
                if k == 0 { "" } else { "," },
                r.entry,
                r.contender.name(),
                r.drops,
                r.ns,
                r.cold_ns,
                ins,
                wasm
            );
        }
        println!("]");
    } else {
        println!(
            "{} frames ({} IP), hot; ns: median of 5 runs of ~0.1 s; ins: cachegrind, (4 - 2 passes) / 2",
            p.frames.len(),
            p.net.len()
        );
        println!("wasm: Wasm instructions executed per packet; /w: machine instructions per Wasm instruction");
        println!(
            "{:<16} {:>8} {:>8} {:>8} {:>8} {:>9} {:>9} {:>9} {:>8} {:>7} {:>7} {:>7} {:>7} {:>7} {:>7}  drops",
            "filter",
            "fast ns",
            "wasmi ns",
            "cBPF ns",
            "nat ns",
            "fast ins",
            "wasmi ins",
            "cBPF ins",
            "nat ins",
            "x cBPF",
            "x wasmi",
            "x nat",
            "wasm",
            "fast/w",
            "wasmi/w"
        );
        for e in &entries {
            let cell = |c: Contender, f: &dyn Fn(&Row) -> Option<f64>| {
                get(e.name, c)
                    .and_then(f)
                    .map_or("-".into(), |v| format!("{v:.1}"))
            };
            let ins = |c| get(e.name, c).and_then(|r| r.instructions);
            let ratio = |a: Option<f64>, b: Option<f64>| match (a, b) {
                (Some(a), Some(b)) if b > 0.0 => format!("{:.2}", a / b),
                _ => "-".into(),
            };
            let w = wasm_of(e.name);
            println!(
                "{:<16} {:>8} {:>8} {:>8} {:>8} {:>9} {:>9} {:>9} {:>8} {:>7} {:>7} {:>7} {:>7} {:>7} {:>7}  {}{}",
                e.name,
                cell(Contender::Fast, &|r| Some(r.ns)),
                cell(Contender::Wasmi, &|r| Some(r.ns)),
                cell(Contender::Cbpf, &|r| Some(r.ns)),
                cell(Contender::Native, &|r| Some(r.ns)),
                cell(Contender::Fast, &|r| r.instructions),
                cell(Contender::Wasmi, &|r| r.instructions),
                cell(Contender::Cbpf, &|r| r.instructions),
                cell(Contender::Native, &|r| r.instructions),
                ratio(ins(Contender::Fast), ins(Contender::Cbpf)),
                ratio(ins(Contender::Fast), ins(Contender::Wasmi)),
                ratio(ins(Contender::Fast), ins(Contender::Native)),
                w.map_or("-".into(), |v| format!("{v:.1}")),
                ratio(ins(Contender::Fast), w),
                ratio(ins(Contender::Wasmi), w),
                get(e.name, Contender::Fast).map_or(0, |r| r.drops),
                if e.same { " (= cBPF)" } else { "" }
            );
        }
    }
    if !json {
        println!(
            "cold: {} frames ({} IP), each once per pass; ns: median of 3 passes",
            cold.frames.len(),
            cold.net.len()
        );
        println!(
            "{:<16} {:>8} {:>8} {:>8} {:>8} {:>7} {:>7}",
            "filter", "fast ns", "wasmi ns", "cBPF ns", "nat ns", "x cBPF", "x nat"
        );
        for e in entries.iter().filter(|e| !e.name.starts_with("probe ")) {
            let ns = |c| get(e.name, c).map(|r| r.cold_ns);
            let cell = |c| ns(c).map_or("-".into(), |v: f64| format!("{v:.1}"));
            let ratio = |b: Option<f64>| match (ns(Contender::Fast), b) {
                (Some(a), Some(b)) if b > 0.0 => format!("{:.2}", a / b),
                _ => "-".into(),
            };
            println!(
                "{:<16} {:>8} {:>8} {:>8} {:>8} {:>7} {:>7}",
                e.name,
                cell(Contender::Fast),
                cell(Contender::Wasmi),
                cell(Contender::Cbpf),
                cell(Contender::Native),
                ratio(ns(Contender::Cbpf)),
                ratio(ns(Contender::Native))
            );
        }
        // Issue 16's first bar: at most 8 on the fast tier, over the
        // filters (the probes are not filters).
        for c in [Contender::Fast, Contender::Wasmi] {
            let per: Vec<f64> = entries
                .iter()
                .filter(|e| !e.name.starts_with("probe "))
                .filter_map(|e| {
                    let ins = get(e.name, c)?.instructions?;
                    Some(ins / wasm_of(e.name).filter(|w| *w > 0.0)?)
                })
                .collect();
            if !per.is_empty() {
                println!(
                    "{}: {:.2} machine instructions per Wasm instruction, mean over {} filters",
                    c.name(),
                    per.iter().sum::<f64>() / per.len() as f64,
                    per.len()
                );
            }
        }
        // The cost of one map lookup on top of the run (issue 14's bound:
        // at most 150 instructions).
        println!("map lookup cost (probe - probe base, instructions per packet):");
        for c in [Contender::Fast, Contender::Wasmi] {
            let base = get("probe base", c).and_then(|r| r.instructions);
            for e in entries
                .iter()
                .filter(|e| e.name.starts_with("probe ") && e.name != "probe base")
            {
                let cost = get(e.name, c)
                    .and_then(|r| r.instructions)
                    .zip(base)
                    .map(|(a, b)| a - b);
                println!(
                    "  {:<6} {:<16} {}",
                    c.name(),
                    e.name.trim_start_matches("probe "),
                    cost.map_or("-".into(), |v| format!("{v:.1}"))
                );
            }
        }
    }
    if failed {
        std::process::exit(1);
    }
}
