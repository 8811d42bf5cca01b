//! `wasmnf stats`: a filter's counters, once or redrawn.

use super::{check_name, connect, kernel, Result};
use serde::Serialize;
use std::io::{IsTerminal, Write};
use std::time::Duration;
use wasmnf_ctl::counters::{counts, Counter, CounterFields};
use wasmnf_ctl::netlink::{Client, FilterInfo};

/// Show filter counters: packets, verdicts, failures, time per packet
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Counters are summed over CPUs since the filter was loaded; \
    ns/packet is the mean time of one run.\n\n\
    Example:\n  wasmnf stats\n  wasmnf stats drop_port --watch 2"
)]
pub struct Args {
    /// Only this filter (default: every filter of this network namespace)
    pub name: Option<String>,
    /// Print JSON instead of text (with --watch, one line per sample)
    #[arg(long)]
    pub json: bool,
    /// Redraw every SECS seconds until interrupted (put NAME before --watch)
    #[arg(long, value_name = "SECS", num_args = 0..=1, default_missing_value = "1",
          value_parser = clap::value_parser!(u64).range(1..))]
    pub watch: Option<u64>,
}

/// `wasmnf stats --json`: an array of these.
#[derive(Serialize)]
struct Entry<'a> {
    name: &'a str,
    /// Every counter of the contract, by its name.
    #[serde(flatten)]
    counters: CounterFields,
    ns_per_packet: Option<u64>,
}

impl<'a> Entry<'a> {
    fn new(f: &'a FilterInfo) -> Self {
        Entry {
            name: &f.name,
            counters: CounterFields {
                counters: f.stats,
                time: true,
            },
            ns_per_packet: f.stats.ns_per_packet(),
        }
    }
}

/// The counters as a table: names left-aligned, numbers right-aligned.
fn table(filters: &[FilterInfo]) -> String {
    let header: Vec<String> = std::iter::once("name")
        .chain(counts().map(Counter::label))
        .chain(std::iter::once("ns/packet"))
        .map(String::from)
        .collect();
    let rows: Vec<Vec<String>> = filters
        .iter()
        .map(|f| {
            let s = &f.stats;
            std::iter::once(f.name.clone())
                .chain(counts().map(|c| s.get(c).to_string()))
                .chain(std::iter::once(
                    s.ns_per_packet().map_or("-".into(), |n| n.to_string()),
                ))
                .collect()
        })
        .collect();
    let mut width: Vec<usize> = header.iter().map(String::len).collect();
    for row in &rows {
        for (w, cell) in width.iter_mut().zip(row) {
            *w = (*w).max(cell.len());
        }
    }
    let mut out = String::new();
    for row in std::iter::once(header).chain(rows) {
        for (i, cell) in row.iter().enumerate() {
            let w = width[i];
            match i {
                0 => out.push_str(&format!("{cell:<w$}")),
                _ => out.push_str(&format!("  {cell:>w$}")),
            }
        }
        out.push('\n');
    }
    out
}

fn sample(client: &mut Client, name: Option<&str>) -> Result<Vec<FilterInfo>> {
    match name {
        Some(name) => Ok(vec![client.get(name).map_err(kernel)?]),
        None => client.list().map_err(kernel),
    }
}

fn show(filters: &[FilterInfo], json: bool, compact: bool) {
    let entries: Vec<Entry> = filters.iter().map(Entry::new).collect();
    match (json, compact) {
        (true, false) => super::print_json(&entries),
        (true, true) => println!("{}", serde_json::to_string(&entries).expect("serializable")),
        (false, _) => print!("{}", table(filters)),
    }
}

pub fn run(args: Args) -> Result {
    let name = args.name.as_deref().map(check_name).transpose()?;
    let mut client = connect()?;
    let Some(secs) = args.watch else {
        show(&sample(&mut client, name)?, args.json, false);
        return Ok(());
    };
    let redraw = !args.json && std::io::stdout().is_terminal();
    loop {
        let filters = sample(&mut client, name)?;
        if redraw {
            // Home the cursor and clear the screen, as watch(1) does.
            print!("\x1b[H\x1b[2J");
            println!("every {secs}s, Ctrl-C to stop\n");
        }
        show(&filters, args.json, true);
        if !redraw && !args.json {
            println!();
        }
        std::io::stdout().flush().ok();
        std::thread::sleep(Duration::from_secs(secs));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasmnf_ctl::counters::Counters;
    use wasmnf_ctl::netlink::{HookFamily, Settings};
    use wasmnf_engine::{FilterConfig, Hook, OnError};

    fn filter(name: &str, packets: u64, run_ns: u64) -> FilterInfo {
        FilterInfo {
            name: name.into(),
            settings: Settings {
                hook: Hook::Input,
                family: HookFamily::Inet,
                priority: 0,
                fuel: 100_000,
                memory_pages: 16,
                on_error: OnError::Accept,
            },
            config: FilterConfig::default(),
            wasm_size: 100,
            instances: 2,
            abi_version: 1,
            stats: Counters {
                packets,
                accepted: packets,
                run_ns,
                ..Counters::default()
            },
            maps: 0,
            map_bytes: 0,
            map_memory: 0,
        }
    }

    #[test]
    fn table_aligns_columns_and_shows_mean_time() {
        let t = table(&[filter("web", 1_234_567, 1_234_567 * 812), filter("a", 0, 0)]);
        let expected = [
            "name  packets  accepted  dropped  traps  out-of-fuel  invalid  ns/packet",
            "web   1234567   1234567        0      0            0        0        812",
            "a           0         0        0      0            0        0          -",
        ];
        assert_eq!(t.lines().collect::<Vec<_>>(), expected);
    }
}
