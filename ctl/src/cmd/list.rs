//! `wasmnf list`: the filters loaded in this network namespace.

use super::{connect, kernel, on_error_name, print_json, Result};
use serde::Serialize;
use wasmnf_ctl::netlink::FilterInfo;

/// List the filters loaded in this network namespace
#[derive(clap::Args, Debug)]
#[command(after_help = "Output, one line per filter:\n  \
    NAME: hook HOOK family FAMILY priority N size BYTES fuel N memory PAGES on-error POLICY [maps N (SIZE)] [config K=V ...]\n\n\
    Example:\n  wasmnf list\n  wasmnf list --json")]
pub struct Args {
    /// Print JSON instead of text
    #[arg(long)]
    pub json: bool,
}

/// `wasmnf list --json`: an array of these.
#[derive(Serialize)]
struct Entry<'a> {
    name: &'a str,
    hook: &'static str,
    family: &'static str,
    priority: i32,
    size: u32,
    fuel: u64,
    memory_pages: u32,
    on_error: &'static str,
    config: Vec<(&'a str, &'a str)>,
    instances: u32,
    abi: u32,
    /// Maps declared, the bytes they take, and their limit.
    maps: u32,
    map_bytes: u64,
    map_memory: u64,
}

impl<'a> Entry<'a> {
    fn new(f: &'a FilterInfo) -> Self {
        let s = &f.settings;
        Entry {
            name: &f.name,
            hook: s.hook.name(),
            family: s.family.name(),
            priority: s.priority,
            size: f.wasm_size,
            fuel: s.fuel,
            memory_pages: s.memory_pages,
            on_error: on_error_name(s.on_error),
            config: f.config.iter().collect(),
            instances: f.instances,
            abi: f.abi_version,
            maps: f.maps,
            map_bytes: f.map_bytes,
            map_memory: f.map_memory,
        }
    }
}

/// One filter as one line of text.
fn line(f: &FilterInfo) -> String {
    let s = &f.settings;
    let mut line = format!(
        "{}: hook {} family {} priority {} size {}B fuel {} memory {}p on-error {}",
        f.name,
        s.hook.name(),
        s.family.name(),
        s.priority,
        f.wasm_size,
        s.fuel,
        s.memory_pages,
        on_error_name(s.on_error)
    );
    if f.maps > 0 {
        line.push_str(&format!(
            " maps {} ({})",
            f.maps,
            wasmnf_ctl::maptext::size_text(f.map_bytes)
        ));
    }
    if !f.config.is_empty() {
        line.push_str(" config");
        for (k, v) in f.config.iter() {
            line.push_str(&format!(" {k}={v}"));
        }
    }
    line
}

pub fn run(args: Args) -> Result {
    let filters = connect()?.list().map_err(kernel)?;
    if args.json {
        print_json(&filters.iter().map(Entry::new).collect::<Vec<_>>());
    } else {
        for f in &filters {
            println!("{}", line(f));
        }
    }
    Ok(())
}
