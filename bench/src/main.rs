//! The userspace benchmark: the same rule over the same in-memory packets, in
//! one process, with native Rust (the floor), libpcap's classic BPF (the
//! incumbent interpreter) and the wasmnf engine; plus wasmi's bare call, the
//! floor under any wasmi-based filter. See bench/README.md.
//!
//! `cargo run --release -p wasmnf-bench [-- --frames N --reps N]`

use pcap::{Capture, Linktype};
use std::hint::black_box;
use std::time::Instant;
use wasmnf_bench::{filters_dir, gen, native_drop_port};
use wasmnf_ctl::capture::Frames;
use wasmnf_engine::{Ctx, Filter, FilterConfig, FilterOptions, Hook, Instance, Tier, Verdict};

const RULE: &str = "(tcp or udp) and dst port 8080";

struct Args {
    frames: usize,
    hot: usize,
    reps: usize,
}

fn parse_args() -> Args {
    let mut a = Args {
        frames: 1_000_000,
        hot: 4096,
        reps: 7,
    };
    let argv: Vec<String> = std::env::args().skip(1).collect();
    for pair in argv.chunks(2) {
        let v = pair.get(1).and_then(|v| v.parse().ok());
        match (pair[0].as_str(), v) {
            ("--frames", Some(v)) => a.frames = v,
            ("--hot", Some(v)) => a.hot = v,
            ("--reps", Some(v)) => a.reps = v,
            _ => {
                eprintln!(
                    "usage: wasmnf-bench [--frames N (1000000)] [--hot N (4096)] [--reps N (7)]"
                );
                std::process::exit(2);
            }
        }
    }
    a
}

/// Packets as the contenders see them: the full frame for cBPF, the network
/// layer for the others.
struct Set<'a> {
    /// The IP packets as `wasmnf replay` lays them out after loading.
    replay: wasmnf_ctl::replay::Packets<'a>,
    frames: Vec<&'a [u8]>,
    net: Vec<(&'a [u8], Ctx)>,
}

fn set(frames: &Frames) -> Set<'_> {
    let mut s = Set {
        replay: wasmnf_ctl::replay::Packets::new(frames, Hook::Prerouting),
        frames: Vec::new(),
        net: Vec::new(),
    };
    for f in &frames.frames {
        s.frames.push(frames.bytes(f));
        if let Some(packet) = frames.packet(f, Hook::Prerouting) {
            s.net.push(packet);
        }
    }
    s
}

/// Median ns per item of `reps` timings of `run`, which processes `items`
/// items and returns a count (kept alive, and checked by the caller).
fn time(reps: usize, items: usize, mut run: impl FnMut() -> u64) -> (f64, u64) {
    let mut samples = Vec::new();
    let mut count = 0;
    for _ in 0..reps {
        let t = Instant::now();
        count = black_box(run());
        samples.push(t.elapsed().as_nanos() as f64 / items as f64);
    }
    samples.sort_by(|a, b| a.total_cmp(b));
    (samples[samples.len() / 2], count)
}

fn load(name: &str, config: &[&str], tier: Tier) -> Instance {
    let path = filters_dir().join(format!("{name}.wasm"));
    let wasm = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let options = FilterOptions {
        config: FilterConfig::from_entries(config.iter().copied()).expect("valid config"),
        tier,
        ..FilterOptions::default()
    };
    let inst = Filter::new(&wasm, options)
        .and_then(|f| f.instantiate())
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(
        inst.is_fast(),
        tier == Tier::Fast,
        "{name}: not on {tier:?}"
    );
    inst
}

/// wasmi's own cost of calling an exported `(i32) -> i32` that returns 1,
/// with fuel metering on and refuelled per call, as the engine does.
struct Bare {
    store: wasmi::Store<()>,
    func: wasmi::TypedFunc<i32, i32>,
}

impl Bare {
    fn new() -> Self {
        let mut config = wasmi::Config::default();
        config.consume_fuel(true);
        let engine = wasmi::Engine::new(&config);
        let wasm = wat::parse_str(
            r#"(module (func (export "f") (param i32) (result i32) (i32.const 1)))"#,
        )
        .expect("valid");
        let module = wasmi::Module::new(&engine, &wasm).expect("compiles");
        let mut store = wasmi::Store::new(&engine, ());
        let instance = wasmi::Linker::new(&engine)
            .instantiate_and_start(&mut store, &module)
            .expect("instantiates");
        let func = instance.get_typed_func(&store, "f").expect("exported");
        Bare { store, func }
    }

    fn call(&mut self, len: i32) -> i32 {
        let _ = self.store.set_fuel(100_000);
        self.func.call(&mut self.store, len).unwrap_or(0)
    }
}

struct Row {
    name: String,
    ns: f64,
    count: u64,
}

fn bench(mode: &str, s: &Set<'_>, loops: usize, reps: usize) -> Vec<Row> {
    let n_net = s.net.len() * loops;
    let n_frames = s.frames.len() * loops;
    let mut rows = Vec::new();
    let mut add = |name: &str, (ns, count): (f64, u64)| {
        rows.push(Row {
            name: name.to_string(),
            ns,
            count,
        })
    };

    add(
        "native Rust",
        time(reps, n_net, || {
            let mut drops = 0;
            for _ in 0..loops {
                for (pkt, ctx) in &s.net {
                    drops += native_drop_port(black_box(pkt), ctx.family, gen::PORT) as u64;
                }
            }
            drops
        }),
    );
    let prog = Capture::dead(Linktype::ETHERNET)
        .expect("dead capture")
        .compile(RULE, true)
        .expect("libpcap compiles the rule");
    add(
        "libpcap cBPF",
        time(reps, n_frames, || {
            let mut drops = 0;
            for _ in 0..loops {
                for f in &s.frames {
                    drops += prog.filter(black_box(f)) as u64;
                }
            }
            drops
        }),
    );
    let mut bare = Bare::new();
    add(
        "wasmi bare call",
        time(reps, n_net, || {
            let mut ones = 0;
            for _ in 0..loops {
                for (pkt, _) in &s.net {
                    ones += bare.call(pkt.len() as i32) as u64;
                }
            }
            ones
        }),
    );
    // The engine on its fast tier (what replay and the kernel use), then on
    // wasmi (the reference).
    let engine_rows: [(&str, &str, &[&str], Tier); 6] = [
        ("wasmnf accept_all", "accept_all", &[], Tier::Fast),
        ("wasmnf drop_port", "drop_port", &["port=8080"], Tier::Fast),
        (
            "wasmnf syn_flood",
            "syn_flood",
            &["max=1000000000"],
            Tier::Fast,
        ),
        ("  on wasmi: accept", "accept_all", &[], Tier::Wasmi),
        (
            "  on wasmi: drop_port",
            "drop_port",
            &["port=8080"],
            Tier::Wasmi,
        ),
        (
            "  on wasmi: syn_flood",
            "syn_flood",
            &["max=1000000000"],
            Tier::Wasmi,
        ),
    ];
    for (label, name, config, tier) in engine_rows {
        let mut inst = load(name, config, tier);
        add(
            label,
            time(reps, n_net, || {
                let mut drops = 0;
                for _ in 0..loops {
                    for (pkt, ctx) in &s.net {
                        drops += (inst.run(pkt, ctx) == Verdict::Drop) as u64;
                    }
                }
                drops
            }),
        );
        assert_eq!(inst.counters().errors(), 0, "{name} failed runs");
    }
    // `wasmnf replay`'s loop over the same frames, drop_port again.
    let mut inst = load("drop_port", &["port=8080"], Tier::Fast);
    add(
        "wasmnf replay loop",
        time(reps, n_net, || {
            let (report, _) =
                wasmnf_ctl::replay::run(&mut inst, None, &s.replay, loops as u32, |_| {});
            report.counters.counters.dropped * loops as u64
        }),
    );
    // The same, as `wasmnf replay` reports it: its own timer covers the run
    // loop only (not allocating the verdicts, not the report).
    let mut reported = Vec::new();
    let mut dropped = 0;
    for _ in 0..reps {
        let (report, _) = wasmnf_ctl::replay::run(&mut inst, None, &s.replay, loops as u32, |_| {});
        reported.push(report.ns_per_packet);
        dropped = report.counters.counters.dropped * loops as u64;
    }
    reported.sort_by(|a, b| a.total_cmp(b));
    add(
        "  as replay reports it",
        (reported[reported.len() / 2], dropped),
    );
    println!(
        "\n{mode}: {} packets ({} IP) x {loops} loops, median of {reps}",
        s.frames.len(),
        s.net.len()
    );
    rows
}

fn print(rows: &[Row]) {
    let get = |n: &str| rows.iter().find(|r| r.name == n).map_or(f64::NAN, |r| r.ns);
    let (native, cbpf, bare) = (
        get("native Rust"),
        get("libpcap cBPF"),
        get("wasmi bare call"),
    );
    println!(
        "{:<22} {:>9} {:>8} {:>10} {:>9} {:>10}",
        "", "ns/pkt", "Mpps", "x native", "x cBPF", "drops"
    );
    for r in rows {
        println!(
            "{:<22} {:>9.1} {:>8.2} {:>10.2} {:>9.2} {:>10}",
            r.name,
            r.ns,
            1e3 / r.ns,
            r.ns / native,
            r.ns / cbpf,
            r.count
        );
    }
    println!(
        "accept_all - bare wasmi call: {:+.1} ns (on wasmi: {:+.1} ns)\n\
         replay over drop_port: {:+.1}% whole call, {:+.1}% as replay reports it",
        get("wasmnf accept_all") - bare,
        get("  on wasmi: accept") - bare,
        (get("wasmnf replay loop") / get("wasmnf drop_port") - 1.0) * 100.0,
        (get("  as replay reports it") / get("wasmnf drop_port") - 1.0) * 100.0
    );
}

fn main() {
    let args = parse_args();
    let hot_frames = gen::generate(args.hot.min(args.frames), 1);
    let hot = set(&hot_frames);
    let loops = (2_000_000 / hot.net.len().max(1)).max(1);
    let rows = bench("hot", &hot, loops, args.reps);
    print(&rows);
    let check = |rows: &[Row]| {
        let drops = |n: &str| rows.iter().find(|r| r.name == n).map(|r| r.count);
        let (native, cbpf, engine) = (
            drops("native Rust"),
            drops("libpcap cBPF"),
            drops("wasmnf drop_port"),
        );
        assert_eq!(native, cbpf, "native and cBPF disagree");
        assert_eq!(native, engine, "native and the engine disagree");
        assert_eq!(
            engine,
            drops("  on wasmi: drop_port"),
            "the fast tier and wasmi disagree"
        );
        println!(
            "verdicts agree: native = cBPF = wasmnf drop_port (both tiers) = {} drops",
            native.unwrap_or(0)
        );
    };
    check(&rows);
    let frames = gen::generate(args.frames, 1);
    let cold = set(&frames);
    let rows = bench("cold", &cold, 1, args.reps.min(3));
    print(&rows);
    check(&rows);
}
