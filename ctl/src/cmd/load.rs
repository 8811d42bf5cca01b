//! `wasmnf load`: check a filter locally, then load it into the kernel.

use super::{
    check_name, connect, fill_failure, kernel, load_filter, parse_hook, read_filter, Code, Failure,
    FilterArgs, Result,
};
use std::path::PathBuf;
use wasmnf_ctl::maptext;
use wasmnf_ctl::netlink::{consts::CHUNK_MAX, HookFamily, LoadRequest, Settings};

/// Most map entries one load message carries (about 40 MB of attributes
/// for 1,000,000 IPv6 prefixes).
const MAP_ENTRIES_AT_LOAD: usize = 1 << 20;
use wasmnf_engine::Hook;

/// Load a filter into the kernel at a netfilter hook
#[derive(clap::Args, Debug)]
#[command(
    after_help = "The filter is checked locally first, as `wasmnf check` does, \
                        so a refused file is explained before the kernel is asked.\n\n\
                        Example:\n  wasmnf load drop_port.wasm --hook input --config port=8080\n  \
                        wasmnf load drop_port.wasm --hook input --config port=22 --name drop_port --replace"
)]
pub struct Args {
    /// The filter (.wasm)
    pub filter: PathBuf,
    /// The netfilter hook: prerouting, input, forward, output or postrouting
    #[arg(long, value_parser = parse_hook)]
    pub hook: Hook,
    /// Packets of which family: inet (IPv4 and IPv6), ipv4 or ipv6
    #[arg(long, default_value = "inet", value_parser = parse_family)]
    pub family: HookFamily,
    /// Hook priority; lower runs first (nftables' filter chains use 0)
    #[arg(
        long,
        default_value_t = 0,
        allow_negative_numbers = true,
        value_name = "N"
    )]
    pub priority: i32,
    /// The filter's name in the kernel (default: the file name without .wasm)
    #[arg(long)]
    pub name: Option<String>,
    #[command(flatten)]
    pub load: FilterArgs,
    /// Atomically replace a loaded filter of the same name; its maps that
    /// the new filter declares alike (name, kind, key and value size,
    /// capacity) are kept, entries and all
    #[arg(long)]
    pub replace: bool,
    /// With --replace: start every map of the new filter empty
    #[arg(long, requires = "replace")]
    pub reset_maps: bool,
    /// Fill the filter's map NAME from FILE before it sees a packet (one
    /// `KEY [VALUE]` per line, as `replay --map`), repeatable
    #[arg(long = "map", value_name = "NAME=@FILE")]
    pub maps: Vec<String>,
}

fn parse_family(s: &str) -> std::result::Result<HookFamily, String> {
    HookFamily::from_name(s).ok_or_else(|| "expected one of inet, ipv4, ipv6".into())
}

pub fn run(args: Args) -> Result {
    let name = match &args.name {
        Some(name) => name.clone(),
        None => args
            .filter
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default(),
    };
    let name = check_name(&name).map_err(|e| match args.name {
        Some(_) => e,
        None => Failure::new(
            Code::Usage,
            format!("{}; choose one with --name", e.message),
        ),
    })?;
    let wasm = read_filter(&args.filter)?;
    let (filter, _inst) = load_filter(&args.filter, &wasm, &args.load)?;
    let decls: Vec<_> = filter.maps().iter().map(|m| *m.decl()).collect();
    let maps: Vec<(String, Vec<_>)> = maptext::read_specs(&decls, &args.maps)
        .map_err(fill_failure)?
        .into_iter()
        .map(|l| (l.decl.name().to_string(), l.entries))
        .collect();
    let entries: usize = maps.iter().map(|(_, e)| e.len()).sum();
    if entries > MAP_ENTRIES_AT_LOAD {
        return Err(Failure::new(
            Code::Usage,
            format!("--map: {entries} entries in all; a load carries at most {MAP_ENTRIES_AT_LOAD} (load the rest with `wasmnf map load`)"),
        ));
    }
    let options = filter.options();
    let config_len = options.config.encode().len();
    if config_len > CHUNK_MAX {
        return Err(Failure::new(
            Code::Refused,
            format!("the configuration is {config_len} bytes encoded; the kernel takes at most {CHUNK_MAX}"),
        ));
    }
    let req = LoadRequest {
        name,
        settings: Settings {
            hook: args.hook,
            family: args.family,
            priority: args.priority,
            fuel: options.limits.fuel,
            memory_pages: options.limits.max_memory_pages,
            on_error: options.on_error,
        },
        config: &options.config,
        wasm: &wasm,
        replace: args.replace,
        map_memory: args.load.map_memory,
        reset_maps: args.reset_maps,
        maps: &maps,
    };
    let mut client = connect()?;
    // What a replace will keep, by the rule the module applies
    // (`Decl::carries_over`): the old filter's maps, if it is loaded.
    let old = match (args.replace, args.reset_maps, decls.is_empty()) {
        (true, false, false) => client.map_list(name).unwrap_or_default(),
        _ => Vec::new(),
    };
    client.load(&req).map_err(kernel)?;
    println!(
        "{name}: loaded, hook {} family {} priority {}",
        args.hook.name(),
        args.family.name(),
        args.priority
    );
    for d in &decls {
        match old.iter().find(|o| o.decl.name() == d.name()) {
            Some(o) if d.carries_over(&o.decl) => {
                println!("{name}: map {} kept ({} entries)", d.name(), o.entries)
            }
            Some(_) => println!(
                "{name}: map {} starts empty (its kind, sizes or capacity changed)",
                d.name()
            ),
            None => {}
        }
    }
    for (map, e) in &maps {
        println!("{name}: {} entries loaded into {map}", e.len());
    }
    Ok(())
}
