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
