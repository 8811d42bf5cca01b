//! `wasmnf check`: validate a filter against the ABI without a kernel.

use super::{
    load_filter, on_error_name, print_json, read_filter, tier_name, Failure, FilterArgs, Result,
};
use serde::Serialize;
use std::path::PathBuf;
use wasmnf_ctl::maptext;
use wasmnf_engine::{abi, Map};

/// Check a filter against the wasmnf ABI and show what it uses
#[derive(clap::Args, Debug)]
#[command(after_help = "Example:\n  wasmnf check drop_port.wasm --config port=8080")]
pub struct Args {
    /// The filter (.wasm)
    pub filter: PathBuf,
    #[command(flatten)]
    pub load: FilterArgs,
    /// Print JSON instead of text
    #[arg(long)]
    pub json: bool,
}

#[derive(Serialize)]
struct Report<'a> {
    file: String,
    ok: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    abi: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    details: Option<Details<'a>>,
}

#[derive(Serialize)]
struct Details<'a> {
    size: usize,
    exports: Vec<&'static str>,
    window: Option<u32>,
    imports: Vec<String>,
    memory_pages: Option<u32>,
    memory_max_pages: Option<u32>,
    memory_limit_pages: u32,
    fuel: u64,
    call_depth: u32,
    on_error: &'static str,
    config: Vec<(&'a str, &'a str)>,
    /// `fast` or `wasmi (...)`: the engine replay and the kernel use.
    engine: String,
    maps: Vec<maptext::Summary>,
}

pub fn run(args: Args) -> Result {
    let wasm = read_filter(&args.filter)?;
    let file = args.filter.display().to_string();
    let (filter, _inst) = match load_filter(&args.filter, &wasm, &args.load) {
        Ok(loaded) => loaded,
        Err(e) if args.json => {
            let report = Report {
                file,
                ok: false,
                error: Some(e.message.clone()),
                abi: None,
                details: None,
            };
            print_json(&report);
            return Err(Failure {
                reported: true,
                ..e
            });
        }
        Err(e) => return Err(e),
    };
    let info = filter.info();
    let options = filter.options();
    let mut exports = vec![abi::EXPORT_FILTER];
    if info.has_init {
        exports.push(abi::EXPORT_INIT);
    }
    if info.exports_memory {
        exports.push(abi::EXPORT_MEMORY);
    }
    if info.window.is_some() {
        exports.push(abi::EXPORT_WINDOW);
    }
    let details = Details {
        size: info.size,
        exports,
        window: info.window,
        imports: info
            .imports
            .iter()
            .map(|i| format!("{}.{i}", abi::IMPORT_MODULE))
            .collect(),
        memory_pages: info.memory_pages.map(|(p, _)| p),
        memory_max_pages: info.memory_pages.and_then(|(_, m)| m),
        memory_limit_pages: options.limits.max_memory_pages,
        fuel: options.limits.fuel,
        call_depth: options.limits.max_call_depth,
        on_error: on_error_name(options.on_error),
        config: options.config.iter().collect(),
        engine: tier_name(&filter),
        maps: filter
            .maps()
            .iter()
            .map(|m| maptext::Summary::new(m.decl(), Map::bytes(m.decl(), options.cpus), None))
            .collect(),
    };
    if args.json {
        let report = Report {
            file,
            ok: true,
            error: None,
            abi: Some(abi::ABI_VERSION),
            details: Some(details),
        };
        print_json(&report);
        return Ok(());
    }
    let d = details;
    println!("{file}: ok, wasmnf ABI {}", abi::ABI_VERSION);
    println!("  size      {} bytes", d.size);
    let window = d
        .window
        .map(|w| format!(" (window at {w})"))
        .unwrap_or_default();
    println!("  exports   {}{window}", d.exports.join(", "));
    let imports = if d.imports.is_empty() {
        "none".into()
    } else {
        d.imports.join(", ")
    };
    println!("  imports   {imports}");
    match d.memory_pages {
        Some(p) => println!(
            "  memory    {p} page(s) initial, limit {} pages",
            d.memory_limit_pages
        ),
        None => println!("  memory    none"),
    }
    println!(
        "  limits    fuel {}/packet, call depth {}, on error {}",
        d.fuel, d.call_depth, d.on_error
    );
    if !d.config.is_empty() {
        let config: Vec<String> = d.config.iter().map(|(k, v)| format!("{k}={v}")).collect();
        println!("  config    {}", config.join(" "));
    }
    if info.has_init {
        println!("  init      ok");
    }
    for m in &d.maps {
        println!("  map       {}", m.line());
    }
    println!("  engine    {}", d.engine);
    Ok(())
}
