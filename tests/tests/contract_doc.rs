//! `docs/netlink.md` matches the contract crate (`common/`): every command,
//! attribute, counter, hook, family, range and size the document's tables
//! state is the number the module, the CLI and `nlraw` compile, and every
//! errno an engine refusal maps to has a row in the error table. A number
//! changed on one side only fails here.

use wasmnf_common::counters::Counter;
use wasmnf_common::ffi::refusal;
use wasmnf_common::genl::{self, attr, cmd, family, hook};

fn doc() -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/netlink.md");
    std::fs::read_to_string(path).expect("docs/netlink.md")
}

/// The cells of the table rows whose first cell is `` `PREFIX...` ``.
fn rows<'a>(doc: &'a str, prefix: &str) -> Vec<Vec<&'a str>> {
    doc.lines()
        .filter(|l| l.starts_with(&format!("| `{prefix}")))
        .map(|l| l.trim_matches('|').split(" | ").map(str::trim).collect())
        .collect()
}

/// `(name, value)` of the rows of `` | `PREFIXNAME` | value | ... ``.
fn numbered(doc: &str, prefix: &str) -> Vec<(String, u64)> {
    rows(doc, prefix)
        .into_iter()
        .map(|cells| {
            let name = cells[0].trim_matches('`').strip_prefix(prefix).unwrap();
            let value = cells[1].parse().unwrap_or_else(|_| panic!("{cells:?}"));
            (name.to_string(), value)
        })
        .collect()
}

fn as_u64<T: Copy + Into<u64>>(all: &[(&str, T)]) -> Vec<(String, u64)> {
    all.iter()
        .map(|(n, v)| (n.to_string(), (*v).into()))
        .collect()
}

/// The attribute row `WASMNF_A_<name>`'s last cell.
fn attr_policy(doc: &str, name: &str) -> String {
    let rows = rows(doc, &format!("WASMNF_A_{name}`"));
    assert_eq!(rows.len(), 1, "one row for WASMNF_A_{name}");
    rows[0].last().unwrap().to_string()
}

#[test]
fn commands_and_attributes_are_the_contracts() {
    let doc = doc();
    assert_eq!(numbered(&doc, "WASMNF_CMD_"), as_u64(cmd::ALL));
    assert_eq!(numbered(&doc, "WASMNF_A_"), as_u64(attr::ALL));
    assert!(doc.contains(&format!(
        "Family name: `{}` (`WASMNF_GENL_NAME`), version `{}`",
        genl::FAMILY_NAME_STR,
        genl::FAMILY_VERSION
    )));
}

#[test]
fn the_counter_nest_lists_the_contracts_counters() {
    let doc = doc();
    let text = doc
        .split("`WASMNF_A_STATS` nests u64 counters: ")
        .nth(1)
        .and_then(|t| t.split("\n\n").next())
        .expect("the STATS paragraph");
    let mut want: Vec<String> = Counter::ALL
        .iter()
        .map(|c| format!("`{}` {}", c.name().to_uppercase(), c.attr()))
        .collect();
    want.push(format!("and `PAD` {}", genl::STATS_PAD));
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let got: Vec<&str> = text.trim_end_matches('.').split(", ").collect();
    assert_eq!(got, want);
}

#[test]
fn values_ranges_and_sizes_are_the_contracts() {
    let doc = doc();
    let hooks: Vec<String> = hook::ALL
        .iter()
        .map(|(n, v)| format!("`{v}` {}", n.to_lowercase()))
        .collect();
    assert!(attr_policy(&doc, "HOOK").contains(&hooks.join(", ")));
    let fam = attr_policy(&doc, "FAMILY");
    for (name, v) in family::ALL {
        // nftables' spelling: `inet`, `IPv4`, `IPv6`.
        let spelled = match *name {
            "INET" => "inet".to_string(),
            other => other.replace("IPV", "IPv"),
        };
        let want = format!("`{v}` {spelled}");
        assert!(fam.contains(&want), "FAMILY row lacks {want}: {fam}");
    }
    let fuel = attr_policy(&doc, "FUEL");
    let (lo, hi) = genl::FUEL_RANGE;
    assert!(fuel.contains(&format!("`{lo}..={hi}`, default `{}`", genl::FUEL_DEFAULT)));
    let pages = attr_policy(&doc, "MEMORY_PAGES");
    let (lo, hi) = genl::MEMORY_PAGES_RANGE;
    assert!(pages.contains(&format!(
        "`{lo}..={hi}` pages, default `{}`",
        genl::MEMORY_PAGES_DEFAULT
    )));
    let on_error = attr_policy(&doc, "ON_ERROR");
    assert!(on_error.contains(&format!("`{}` accept", genl::on_error::ACCEPT)));
    assert!(on_error.contains(&format!("`{}` drop", genl::on_error::DROP)));
    assert!(attr_policy(&doc, "NAME").contains(&format!("1-{} bytes", genl::NAME_MAX)));
    let chunk = rows(&doc, "WASMNF_A_WASM_CHUNK`");
    assert!(chunk[0][2].contains(&format!("1 to {} bytes", genl::CHUNK_MAX)));
    let config = rows(&doc, "WASMNF_A_CONFIG`");
    assert!(config[0][2].contains(&format!("at most {} bytes", genl::CHUNK_MAX)));
    use wasmnf_common::maps;
    assert!(
        attr_policy(&doc, "MAP").contains(&format!("1-{} bytes of `[A-Za-z0-9_]`", maps::NAME_MAX))
    );
    let key = rows(&doc, "WASMNF_A_KEY`");
    assert!(key[0][2].contains(&format!("1 to {} bytes", maps::KEY_SIZE_MAX)));
    let value = rows(&doc, "WASMNF_A_VALUE`");
    assert!(value[0][2].contains(&format!("1 to {} bytes", maps::VALUE_SIZE_MAX)));
    let flags = attr_policy(&doc, "UPDATE_FLAGS");
    for (v, what) in [
        (maps::update::ANY, "insert or replace"),
        (maps::update::NOEXIST, "insert only"),
        (maps::update::EXIST, "replace only"),
    ] {
        assert!(
            flags.contains(&format!("`{v}` {what}")),
            "UPDATE_FLAGS row lacks {v}"
        );
    }
    let memory = attr_policy(&doc, "MAP_MEMORY");
    let (lo, hi) = genl::MAP_MEMORY_RANGE;
    assert!(memory.contains(&format!(
        "`{lo}..={hi}`, default `{}`",
        maps::MEMORY_DEFAULT
    )));
    let batch = format!("at most {}", genl::BATCH_MAX);
    assert!(rows(&doc, "WASMNF_CMD_MAP_UPDATE`")[0][3].contains(&batch));
    assert!(rows(&doc, "WASMNF_CMD_MAP_DELETE`")[0][3].contains(&batch));
    assert!(doc.contains(&format!("at most {} per message", genl::BATCH_MAX)));
    assert!(doc.contains(&format!(
        "most {} bytes (1 GiB) together",
        genl::NET_MAP_MEMORY_MAX
    )));
    assert_eq!(genl::NET_MAP_MEMORY_MAX, 1 << 30);
    assert_eq!(genl::MODULE_MAX, 1 << 20);
    assert!(doc.contains("A module may be up to 1 MiB"));
    assert!(doc.contains(&format!("module larger than {} bytes", genl::MODULE_MAX)));
}

/// The errno name of each number the refusal classes use.
fn errno_name(n: i32) -> &'static str {
    use refusal::errno::*;
    match n {
        EINVAL => "EINVAL",
        EOPNOTSUPP => "EOPNOTSUPP",
        E2BIG => "E2BIG",
        ECANCELED => "ECANCELED",
        ENOMEM => "ENOMEM",
        _ => panic!("errno {n} has no name here"),
    }
}

/// The errnos engine refusals map to that the error table has no row for.
fn missing_refusal_rows(doc: &str) -> Vec<&'static str> {
    let errors: Vec<String> = rows(doc, "E")
        .into_iter()
        .map(|cells| cells[0].trim_matches('`').to_string())
        .collect();
    (1..=6)
        .map(|code| errno_name(refusal::errno_of(code)))
        .filter(|name| !errors.iter().any(|e| e == name))
        .collect()
}

#[test]
fn every_refusal_errno_has_a_row() {
    assert_eq!(missing_refusal_rows(&doc()), Vec::<&str>::new());
}

/// Positive control: the parsers read the numbers, so a document with one
/// number changed no longer matches.
#[test]
fn a_changed_number_is_caught() {
    let doc = doc();
    let changed = doc.replace("| `WASMNF_A_PAD` | 15 |", "| `WASMNF_A_PAD` | 16 |");
    assert_ne!(changed, doc, "the row to change exists");
    assert_ne!(numbered(&changed, "WASMNF_A_"), as_u64(attr::ALL));
    let changed = doc.replace("| `WASMNF_CMD_GET` | 3 |", "| `WASMNF_CMD_GET` | 4 |");
    assert_ne!(numbered(&changed, "WASMNF_CMD_"), as_u64(cmd::ALL));
    let misspelled = doc.replace("| `ECANCELED` |", "| `ECANCELLED` |");
    assert_eq!(missing_refusal_rows(&misspelled), ["ECANCELED"]);
}
