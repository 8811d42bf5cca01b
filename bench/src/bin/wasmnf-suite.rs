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
use wasmnf_bench::{filters_dir, gen};
use wasmnf_engine::{Ctx, Filter, FilterConfig, FilterOptions, Hook, Instance, Tier, Verdict};

/// One filter of the suite.
struct Entry {
    /// Its name in the table.
    name: &'static str,
    /// The example filter (`filters/NAME`).
    filter: &'static str,
    config: Vec<String>,
    /// The libpcap expression for the same rule, if there is one.
    cbpf: Option<String>,
    /// Whether the filter drops exactly what `cbpf` matches (else the
    /// expression is only the nearest cost comparison).
    same: bool,
}

/// `n` IPv4 /16 prefixes inside the capture's source range (10.0.0.0/8),
/// so about `n`/256 of IPv4 packets match one; for the list-based
/// `cidr_filter` every non-matching packet walks the whole list.
fn prefixes(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("10.{i}.0.0/16")).collect()
}

fn suite() -> Vec<Entry> {
    let names: Vec<String> = (0..16).map(|i| format!("host{i}.example.com")).collect();
    let cidr = |n: usize| {
        let p = prefixes(n);
        let nets: Vec<String> = p.iter().map(|p| format!("src net {p}")).collect();
        Entry {
            name: if n == 8 {
                "cidr_filter 8"
            } else {
                "cidr_filter 64"
            },
            filter: "cidr_filter",
            config: vec![format!("deny={}", p.join(","))],
            cbpf: Some(format!("ip and ({})", nets.join(" or "))),
            same: true,
        }
    };
    vec![
        Entry {
            name: "accept_all",
            filter: "accept_all",
            config: vec![],
            cbpf: Some("ip or ip6".into()),
            same: false,
        },
        Entry {
            name: "drop_port",
            filter: "drop_port",
            config: vec![format!("port={}", gen::PORT)],
            cbpf: Some(format!("(tcp or udp) and dst port {}", gen::PORT)),
            same: true,
        },
        Entry {
            name: "syn_flood",
            filter: "syn_flood",
            config: vec!["max=100000".into()],
            cbpf: Some("tcp[tcpflags] & (tcp-syn|tcp-ack) == tcp-syn".into()),
            same: false,
        },
        Entry {
            name: "icmp_ratelimit",
            filter: "icmp_ratelimit",
            config: vec![],
            cbpf: Some("icmp or icmp6".into()),
            same: false,
        },
        Entry {
            name: "dns_block 16",
            filter: "dns_block",
            config: vec![format!("names={}", names.join(","))],
            cbpf: None,
            same: false,
        },
        cidr(8),
        cidr(64),
    ]
}

/// Who runs an entry.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Contender {
    Fast,
    Wasmi,
    Cbpf,
}

impl Contender {
    const ALL: [Contender; 3] = [Contender::Fast, Contender::Wasmi, Contender::Cbpf];

    fn name(self) -> &'static str {
        match self {
            Contender::Fast => "fast",
            Contender::Wasmi => "wasmi",
            Contender::Cbpf => "cbpf",
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
    let frames = gen::generate(4096, 1);
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
    let path = filters_dir().join(format!("{}.wasm", e.filter));
    let wasm = std::fs::read(&path).unwrap_or_else(|err| panic!("{}: {err}", path.display()));
    let options = FilterOptions {
        config: FilterConfig::from_entries(e.config.iter().map(String::as_str))
            .expect("valid config"),
        tier,
        ..FilterOptions::default()
    };
    Filter::new(&wasm, options)
        .and_then(|f| f.instantiate())
        .unwrap_or_else(|err| panic!("{}: {err}", e.name))
}

/// A contender ready to run passes over the packets; each pass returns its
/// drops (cBPF: its matches).
enum Runner {
    Engine(Box<Instance>),
    Cbpf(pcap::BpfProgram),
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
        })
    }

    /// Packets one pass runs.
    fn items(&self, p: &Packets) -> usize {
        match self {
            Runner::Engine(_) => p.net.len(),
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
    let mut rows = Vec::new();
    for (i, e) in entries.iter().enumerate() {
        for c in Contender::ALL {
            let Some(mut r) = Runner::new(e, c) else {
                continue;
            };
            let (drops, ns) = time(&mut r, &p);
            let instructions = instructions(i, c, r.items(&p));
            rows.push(Row {
                entry: e.name,
                contender: c,
                drops,
                ns,
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
            print!(
                "{}{{\"entry\":\"{}\",\"contender\":\"{}\",\"drops\":{},\"ns_per_packet\":{:.2},\"instructions_per_packet\":{}}}",
                if k == 0 { "" } else { "," },
                r.entry,
                r.contender.name(),
                r.drops,
                r.ns,
                ins
            );
        }
        println!("]");
    } else {
        println!(
            "{} frames ({} IP), hot; ns: median of 5 runs of ~0.1 s; ins: cachegrind, (4 - 2 passes) / 2",
            p.frames.len(),
            p.net.len()
        );
        println!(
            "{:<16} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>8} {:>8}  drops",
            "filter",
            "fast ns",
            "wasmi ns",
            "cBPF ns",
            "fast ins",
            "wasmi ins",
            "cBPF ins",
            "x cBPF",
            "x wasmi"
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
            println!(
                "{:<16} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>8} {:>8}  {}{}",
                e.name,
                cell(Contender::Fast, &|r| Some(r.ns)),
                cell(Contender::Wasmi, &|r| Some(r.ns)),
                cell(Contender::Cbpf, &|r| Some(r.ns)),
                cell(Contender::Fast, &|r| r.instructions),
                cell(Contender::Wasmi, &|r| r.instructions),
                cell(Contender::Cbpf, &|r| r.instructions),
                ratio(ins(Contender::Fast), ins(Contender::Cbpf)),
                ratio(ins(Contender::Fast), ins(Contender::Wasmi)),
                get(e.name, Contender::Fast).map_or(0, |r| r.drops),
                if e.same { " (= cBPF)" } else { "" }
            );
        }
    }
    if failed {
        std::process::exit(1);
    }
}
