//! `wasmnf map`: the maps of a loaded filter, read and written while its
//! packets flow (as `bpftool map` does for eBPF maps). Keys and values are
//! typed by the map's declaration, as in `replay --map` files
//! ([`maptext`]).

use super::{check_name, connect, fill_failure, kernel, print_json, Code, Failure, Result};
use wasmnf_common::maps::{update, Decl};
use wasmnf_ctl::maptext;
use wasmnf_ctl::netlink::{self, Client, MapDesc};

/// Read and write the maps of a loaded filter
#[derive(clap::Args, Debug)]
#[command(after_help = "Keys and values are written as the map declares them \
    (`wasmnf map list FILTER` shows how): addresses and prefixes, integers, hex.\n\n\
    Examples:\n  wasmnf map list fw\n  \
    wasmnf map update fw blocklist 203.0.113.0/24 1\n  \
    wasmnf map get fw blocklist 203.0.113.7\n  \
    wasmnf map load fw blocklist feed.txt\n  \
    wasmnf map dump fw talkers --json")]
pub struct Args {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// The filter's maps: kind, types, entries, memory
    List {
        filter: String,
        /// Print JSON instead of text
        #[arg(long)]
        json: bool,
    },
    /// Every entry of a map (per-CPU maps: each CPU's value and the sum)
    Dump {
        filter: String,
        map: String,
        /// Print JSON instead of text
        #[arg(long)]
        json: bool,
    },
    /// The value of one key (an lpm map: of the longest prefix the key's
    /// prefix matches exactly; give a bare address for the /32 or /128)
    Get {
        filter: String,
        map: String,
        key: String,
        /// Print JSON instead of text
        #[arg(long)]
        json: bool,
    },
    /// Insert or replace one entry (a missing value is zero)
    Update {
        filter: String,
        map: String,
        key: String,
        value: Vec<String>,
        /// Only insert: fail if the key exists
        #[arg(long, conflicts_with = "replace")]
        create: bool,
        /// Only replace: fail if the key is missing
        #[arg(long)]
        replace: bool,
        /// Print the result as JSON (what changed) instead of nothing
        #[arg(long)]
        json: bool,
    },
    /// Delete keys
    Delete {
        filter: String,
        map: String,
        #[arg(required = true)]
        keys: Vec<String>,
        /// Print the result as JSON (what changed) instead of nothing
        #[arg(long)]
        json: bool,
    },
    /// Remove every entry (an array is zeroed)
    Clear {
        filter: String,
        map: String,
        /// Print the result as JSON (what changed) instead of nothing
        #[arg(long)]
        json: bool,
    },
    /// Insert or replace every entry of a file (one `KEY [VALUE]` per line,
    /// as `replay --map`); the whole file is parsed before anything is sent
    Load {
        filter: String,
        map: String,
        file: String,
        /// Print JSON instead of text
        #[arg(long)]
        json: bool,
    },
}

fn usage(message: String) -> Failure {
    Failure::new(Code::Usage, message)
}

/// The declaration of `map` of loaded filter `filter`.
fn describe(client: &mut Client, filter: &str, map: &str) -> Result<MapDesc> {
    check_name(filter)?;
    client.map_info(filter, map).map_err(kernel)
}

fn parse_key(d: &Decl, s: &str) -> Result<Vec<u8>> {
    maptext::parse_key(d, s).map_err(|e| {
        usage(format!(
            "key {s}: {e} (map `{}`: {})",
            d.name(),
            maptext::describe(d)
        ))
    })
}

/// What a write command did, for `--json`: `{"filter", "map", what: n}`.
fn written(filter: &str, map: &str, what: &str, n: usize) -> serde_json::Value {
    let mut v = serde_json::json!({ "filter": filter, "map": map });
    v[what] = n.into();
    v
}

/// A batch the kernel stopped part-way: how many went in, and why.
fn partial(done: usize, e: netlink::Error) -> Failure {
    let mut f = kernel(e);
    if done > 0 {
        f.message = format!("{} ({done} entries went in before this message)", f.message);
    }
    f
}

pub fn run(args: Args) -> Result {
    let mut client = connect()?;
    match args.command {
        Command::List { filter, json } => {
            check_name(&filter)?;
            // A missing filter is named by the kernel's answer to a GET
            // (a dump's error carries no message).
            client.get(&filter).map_err(kernel)?;
            let maps = client.map_list(&filter).map_err(kernel)?;
            let rows: Vec<maptext::Summary> = maps
                .iter()
                .map(|m| maptext::Summary::new(&m.decl, m.bytes, Some(m.entries)))
                .collect();
            if json {
                print_json(&rows);
            } else if rows.is_empty() {
                println!("{filter}: no maps");
            } else {
                for r in &rows {
                    println!("{}", r.line());
                }
            }
        }
        Command::Dump { filter, map, json } => {
            let m = describe(&mut client, &filter, &map)?;
            let entries = client.map_dump(&filter, &map).map_err(kernel)?;
            let dump = maptext::Dump::new(&m.decl, entries);
            if json {
                print_json(&dump);
            } else {
                dump.print();
            }
        }
        Command::Get {
            filter,
            map,
            key,
            json,
        } => {
            let m = describe(&mut client, &filter, &map)?;
            let k = parse_key(&m.decl, &key)?;
            let Some(rows) = client.map_lookup(&filter, &map, &k).map_err(kernel)? else {
                return Err(Failure::new(
                    Code::Kernel,
                    format!("{key}: no such key in map {map} of {filter}"),
                ));
            };
            let dump = maptext::Dump::new(&m.decl, [(k, rows)]);
            match (json, dump.entries.first()) {
                (true, Some(e)) => print_json(e),
                (false, Some(e)) => println!("{}", e.line()),
                // An array entry of zeros.
                (true, None) => print_json(&serde_json::json!({ "key": key, "value": 0 })),
                (false, None) => println!("{key}  0"),
            }
        }
        Command::Update {
            filter,
            map,
            key,
            value,
            create,
            replace,
            json,
        } => {
            let m = describe(&mut client, &filter, &map)?;
            let k = parse_key(&m.decl, &key)?;
            let words: Vec<&str> = value.iter().map(String::as_str).collect();
            let v = maptext::parse_value(&m.decl, &words).map_err(|e| {
                usage(format!(
                    "value: {e} (map `{map}`: {})",
                    maptext::describe(&m.decl)
                ))
            })?;
            let flags = match (create, replace) {
                (true, _) => update::NOEXIST,
                (_, true) => update::EXIST,
                _ => update::ANY,
            };
            client
                .map_update(&filter, &map, &[(k, v)], flags)
                .map_err(|(n, e)| partial(n, e))?;
            if json {
                print_json(&written(&filter, &map, "updated", 1));
            }
        }
        Command::Delete {
            filter,
            map,
            keys,
            json,
        } => {
            let m = describe(&mut client, &filter, &map)?;
            let keys = keys
                .iter()
                .map(|k| parse_key(&m.decl, k))
                .collect::<Result<Vec<_>>>()?;
            client
                .map_delete(&filter, &map, &keys)
                .map_err(|(n, e)| partial(n, e))?;
            if json {
                print_json(&written(&filter, &map, "deleted", keys.len()));
            }
        }
        Command::Clear { filter, map, json } => {
            describe(&mut client, &filter, &map)?;
            client.map_clear(&filter, &map).map_err(kernel)?;
            if json {
                print_json(&serde_json::json!({ "filter": filter, "map": map, "cleared": true }));
            }
        }
        Command::Load {
            filter,
            map,
            file,
            json,
        } => {
            let m = describe(&mut client, &filter, &map)?;
            let spec = format!("{map}=@{file}");
            let loads = maptext::read_specs(&[m.decl], &[spec]).map_err(fill_failure)?;
            let n: usize = loads.iter().map(|l| l.entries.len()).sum();
            for l in &loads {
                client
                    .map_update(&filter, &map, &l.entries, update::ANY)
                    .map_err(|(n, e)| partial(n, e))?;
            }
            match json {
                true => print_json(&written(&filter, &map, "loaded", n)),
                false => println!("{filter}: {n} entries loaded into {map}"),
            }
        }
    }
    Ok(())
}
