//! `docs/abi.md` matches what the engine enforces: every `wat` example loads
//! (or is refused with the stated message) and behaves as its `;; expect:`
//! lines say, and the document's tables list the engine's imports, verdicts,
//! window layout and limits.

use wasmnf_engine::abi::{self, l4_flags, limits, window, Fragment};
use wasmnf_engine::{Ctx, Filter, FilterConfig, FilterOptions, Verdict};
use wasmnf_tests::udp4;

fn doc() -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/abi.md");
    std::fs::read_to_string(path).expect("docs/abi.md")
}

fn wat_blocks(doc: &str) -> Vec<&str> {
    doc.split("```wat\n")
        .skip(1)
        .map(|rest| rest.split_once("```").expect("closed block").0)
        .collect()
}

/// The text after `;; key: ` on each line that has it.
fn directives<'a>(block: &'a str, key: &str) -> Vec<&'a str> {
    let tag = format!(";; {key}: ");
    block
        .lines()
        .filter_map(|l| l.trim().strip_prefix(tag.as_str()))
        .collect()
}

#[test]
fn every_example_behaves_as_documented() {
    let doc = doc();
    let blocks = wat_blocks(&doc);
    assert!(blocks.len() >= 5, "found {} examples", blocks.len());
    let mut expectations = 0;
    for block in blocks {
        let wasm = wat::parse_str(block).unwrap_or_else(|e| panic!("{e}\n{block}"));
        let config = FilterConfig::from_entries(directives(block, "config")).unwrap();
        let options = FilterOptions {
            config,
            ..FilterOptions::default()
        };
        let loaded = Filter::new(&wasm, options).and_then(|f| f.instantiate());
        if let Some(message) = directives(block, "refused").first() {
            let err = loaded.err().unwrap_or_else(|| panic!("loaded:\n{block}"));
            assert_eq!(err.to_string(), *message);
            continue;
        }
        let mut inst = loaded.unwrap_or_else(|e| panic!("{e}\n{block}"));
        for line in directives(block, "expect") {
            let (port, verdict) = line
                .strip_prefix("udp ")
                .and_then(|l| l.split_once(" -> "))
                .expect("`udp PORT -> VERDICT`");
            let pkt = udp4(port.parse().unwrap(), b"payload");
            let want = match verdict {
                "drop" => Verdict::Drop,
                "accept" => Verdict::Accept,
                other => panic!("unknown verdict {other}"),
            };
            assert_eq!(
                inst.run(&pkt.as_slice(), &Ctx::default()),
                want,
                "{line}\n{block}"
            );
            expectations += 1;
        }
        assert_eq!(inst.counters().errors(), 0, "{block}");
    }
    assert!(expectations >= 5);
}

#[test]
fn tables_match_the_engine() {
    let doc = doc();
    for (name, sig) in abi::IMPORTS {
        assert!(
            doc.contains(&format!("| `{name}` | `{sig}` |")),
            "import {name} {sig} missing from docs/abi.md"
        );
    }
    let rows = [
        format!(
            "| `{}` | function | `(i32) -> i32` | yes |",
            abi::EXPORT_FILTER
        ),
        format!("| `{}` | function | `() -> i32` | no |", abi::EXPORT_INIT),
        format!("| `{}` | {} |", abi::verdict::DROP, "drop (`NF_DROP`)"),
        format!(
            "| `{}` | {} |",
            abi::verdict::ACCEPT,
            "accept (`NF_ACCEPT`)"
        ),
        format!("| {} | 4 | packet length |", window::LEN),
        format!("| {} | 8 | timestamp in nanoseconds |", window::TSTAMP_NS),
        format!(
            "| {} | {} | the packet's first bytes, as on the wire |",
            window::PACKET,
            window::PACKET_MAX
        ),
        format!(
            "| module size | {} bytes | {} bytes |",
            limits::MODULE_SIZE_MAX,
            limits::MODULE_SIZE_MAX
        ),
        format!(
            "| linear memory | {} pages (1 MiB) | {} pages |",
            limits::MEMORY_PAGES_DEFAULT,
            limits::MEMORY_PAGES_MAX
        ),
        format!(
            "| fuel per packet | {} | {} |",
            limits::FUEL_DEFAULT,
            limits::FUEL_MAX
        ),
        format!(
            "| call depth | {} | {} |",
            limits::CALL_DEPTH_DEFAULT,
            limits::CALL_DEPTH_MAX
        ),
        format!("| table | {} elements |", limits::TABLE_ELEMENTS_MAX),
        format!("a {}-byte, 8-aligned area", window::SIZE),
        format!(
            "| {} | 4 | transport header offset (`0`: no IP header) |",
            window::L4_OFFSET
        ),
        format!("| {} | 1 | transport protocol |", window::L4_PROTO),
        format!(
            "| {} | 1 | fragment: `{}` not fragmented, `{}` first, `{}` non-first |",
            window::FRAGMENT,
            Fragment::No as u8,
            Fragment::First as u8,
            Fragment::NonFirst as u8
        ),
        format!(
            "| {} | 1 | flags: bit {} IP header, bit {} ports |",
            window::L4_FLAGS,
            l4_flags::IP.trailing_zeros(),
            l4_flags::PORTS.trailing_zeros()
        ),
        format!("| {} | 1 | zero |", window::L4_FLAGS + 1),
        format!("| {} | 2 | TCP/UDP source port |", window::SPORT),
        format!("| {} | 2 | TCP/UDP destination port |", window::DPORT),
        format!(
            "Bytes 28..32 and {}..{} are reserved",
            window::DPORT + 2,
            window::PACKET
        ),
        format!(
            "Bytes {}..{} are the\nhost's parse",
            window::L4_OFFSET,
            window::DPORT + 2
        ),
        format!(
            "48-55 flags, 56-63 zero; the same 8 bytes as window offset {} |",
            window::L4_OFFSET
        ),
        format!(
            "16-31 destination port; the same 4 bytes as window offset {} |",
            window::SPORT
        ),
    ];
    for row in rows {
        assert!(doc.contains(&row), "docs/abi.md lacks `{row}`");
    }
    map_tables_match(&doc);
    let fields = [
        ("len", abi::ctx_field::LEN),
        ("hook", abi::ctx_field::HOOK),
        ("family", abi::ctx_field::FAMILY),
        ("iif", abi::ctx_field::IIF),
        ("oif", abi::ctx_field::OIF),
        ("mark", abi::ctx_field::MARK),
        ("tstamp_ns", abi::ctx_field::TSTAMP_NS),
        ("l4", abi::ctx_field::L4),
        ("ports", abi::ctx_field::PORTS),
    ];
    for (name, n) in fields {
        assert!(
            doc.contains(&format!("| {name} | {n} |")),
            "ctx field {name}"
        );
    }
}

/// The "Maps" section's tables: record layout, kinds, types, return codes
/// and limits, against `wasmnf_common::maps`.
fn map_tables_match(doc: &str) {
    use wasmnf_common::maps::{self as m, field, kind, ret, ty};
    let mut rows = vec![
        format!("| {} | 4 | id:", field::ID),
        format!("| {} | 1 | kind (below) |", field::KIND),
        format!("| {} | 1 | key type", field::KEY_TYPE),
        format!("| {} | 1 | value type |", field::VALUE_TYPE),
        format!("| {} | 1 | name length |", field::NAME_LEN),
        format!("| {} | 4 | key size in bytes |", field::KEY_SIZE),
        format!("| {} | 4 | value size in bytes |", field::VALUE_SIZE),
        format!("| {} | 4 | capacity (`max_entries`) |", field::MAX_ENTRIES),
        format!("| {} | 4 | flags: zero |", field::FLAGS),
        format!(
            "| {} | 32 | name, zero-padded: 1-{} characters",
            field::NAME,
            m::NAME_MAX
        ),
        format!(
            "| {} | {} | reserved: zero |",
            field::RESERVED,
            m::RECORD_SIZE - field::RESERVED
        ),
        format!("one {}-byte record per map", m::RECORD_SIZE),
        format!("custom section named\n`{}`", m::SECTION),
        format!(
            "Values are 1-{} bytes; capacities 1 to {};",
            m::VALUE_SIZE_MAX,
            "16,777,216"
        ),
        format!("at most {} maps per\nfilter", m::MAPS_MAX),
        format!("| {} | OK |", ret::OK),
        format!("| {} | ENOENT |", ret::ENOENT),
        format!("| {} | E2BIG |", ret::E2BIG),
        format!("| {} | EEXIST |", ret::EEXIST),
        format!("| {} | EINVAL |", ret::EINVAL),
        format!("probes at most {} slots", 64),
    ];
    assert_eq!(m::ENTRIES_MAX, 16_777_216);
    assert_eq!(m::MEMORY_DEFAULT, 256 << 20);
    assert_eq!(m::MEMORY_MAX, 4 << 30);
    for (n, name) in kind::ALL {
        rows.push(format!("| `{name}` | {n} |"));
    }
    for (n, name) in ty::ALL {
        rows.push(format!("`{name}` ({n})"));
    }
    let flat = doc.replace('\n', " ");
    for row in rows {
        let row = row.replace('\n', " ");
        assert!(flat.contains(&row), "docs/abi.md lacks `{row}`");
    }
}
