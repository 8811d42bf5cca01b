//! `wasmnf replay`: run a capture through a filter in userspace.

use super::{load_filter, parse_hook, read_filter, Code, Failure, FilterArgs, Result};
use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::path::PathBuf;
use wasmnf_ctl::capture::Frames;
use wasmnf_ctl::counters::Counter;
use wasmnf_ctl::maptext;
use wasmnf_ctl::replay;
use wasmnf_engine::{Filter, Hook, Verdict};

/// Run a pcap or pcapng capture through a filter, offline
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Example:\n  wasmnf replay capture.pcap --filter drop_port.wasm --config port=8080 \
                        --write-dropped dropped.pcap"
)]
pub struct Args {
    /// The capture (pcap or pcapng; Ethernet, Linux cooked, or raw IP)
    pub capture: PathBuf,
    /// The filter (.wasm)
    #[arg(short, long)]
    pub filter: PathBuf,
    #[command(flatten)]
    pub load: FilterArgs,
    /// The hook the filter believes it runs at
    #[arg(long, default_value = "prerouting", value_parser = parse_hook)]
    pub hook: Hook,
    /// Write the frames the filter accepted (and non-IP frames) to a pcap file
    #[arg(long, value_name = "OUT.pcap")]
    pub write_accepted: Option<PathBuf>,
    /// Write the frames the filter dropped to a pcap file
    #[arg(long, value_name = "OUT.pcap")]
    pub write_dropped: Option<PathBuf>,
    /// Passes over the capture, for steadier timing (counts are from the first)
    #[arg(long, default_value_t = 1, value_name = "N")]
    pub repeat: u32,
    /// Fill the filter's map NAME from FILE before any packet (one `KEY
    /// [VALUE]` per line, typed by the map's declaration), repeatable
    #[arg(long = "map", value_name = "NAME=@FILE")]
    pub maps: Vec<String>,
    /// Print every map of the filter after the run
    #[arg(long)]
    pub dump_maps: bool,
    /// Print JSON instead of text
    #[arg(long)]
    pub json: bool,
}

/// Loads every `--map NAME=@FILE` ([`maptext::fill`]).
fn fill_maps(filter: &Filter, specs: &[String]) -> Result {
    maptext::fill(filter, specs).map_err(super::fill_failure)
}

/// Every map, as `--dump-maps` shows it.
fn dumps(filter: &Filter) -> Vec<maptext::Dump> {
    filter
        .maps()
        .iter()
        .map(|m| {
            let mut entries = Vec::new();
            m.entries(|k, rows| entries.push((k.to_vec(), rows.to_vec())));
            maptext::Dump::new(m.decl(), entries)
        })
        .collect()
}

pub fn run(args: Args) -> Result {
    let wasm = read_filter(&args.filter)?;
    let (filter, mut inst) = load_filter(&args.filter, &wasm, &args.load)?;
    fill_maps(&filter, &args.maps)?;
    let frames = Frames::read(&args.capture).map_err(|e| Failure::new(Code::Io, e.to_string()))?;
    let ip = frames.frames.iter().filter(|f| f.net.is_some()).count() as u64;
    let total = ip * u64::from(args.repeat.max(1));
    let bar = (total >= 1_000_000 && std::io::stderr().is_terminal()).then(|| {
        let bar = ProgressBar::new(total);
        bar.set_style(
            ProgressStyle::with_template("{bar:40} {pos}/{len} packets {eta}")
                .expect("valid template"),
        );
        bar
    });
    let packets = replay::Packets::new(&frames, args.hook);
    let maps = (!filter.maps().is_empty()).then(|| filter.maps());
    let (report, verdicts) = replay::run(&mut inst, maps, &packets, args.repeat, |done| {
        if let Some(bar) = &bar {
            bar.set_position(done);
        }
    });
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let io = |e: wasmnf_ctl::capture::CaptureError| Failure::new(Code::Io, e.to_string());
    if let Some(out) = &args.write_accepted {
        frames
            .write(out, |i| verdicts[i] != Some(Verdict::Drop))
            .map_err(io)?;
    }
    if let Some(out) = &args.write_dropped {
        frames
            .write(out, |i| verdicts[i] == Some(Verdict::Drop))
            .map_err(io)?;
    }
    if args.json {
        match args.dump_maps {
            true => {
                super::print_json(&serde_json::json!({ "replay": report, "maps": dumps(&filter) }))
            }
            false => super::print_json(&report),
        }
        return Ok(());
    }
    let r = report;
    let packets = r.counters.counters.packets;
    println!(
        "{}: {} frames, {} IP packets ({} not IP), filter {} at {}",
        args.capture.display(),
        r.frames,
        packets,
        r.not_ip,
        args.filter.display(),
        args.hook.name()
    );
    for c in r.counters.shown().filter(|c| *c != Counter::Packets) {
        println!("  {:<12}  {}", c.label(), r.counters.counters.get(c));
    }
    println!(
        "  time          {:.1} ns/packet, {:.2} Mpps ({} packets x {} passes, {} engine)",
        r.ns_per_packet, r.mpps, packets, r.repeat, r.engine
    );
    if args.dump_maps {
        for d in dumps(&filter) {
            d.print();
        }
    }
    Ok(())
}
