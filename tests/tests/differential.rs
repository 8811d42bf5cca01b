//! Differential tests against libpcap: for rules expressible in both, the
//! engine's verdict equals libpcap's filter result frame by frame, on real
//! captures (tests/data, with libpcap's own counts in MANIFEST.tsv) and on
//! the benchmark's generated capture.

use pcap::{Capture, Linktype, Precision};
use std::path::{Path, PathBuf};
use wasmnf_ctl::capture::Frames;
use wasmnf_ctl::replay;
use wasmnf_engine::{Hook, Verdict};
use wasmnf_tests::load;

fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("data")
}

/// libpcap's verdict for each frame: does `expr` match?
fn libpcap(frames: &Frames, expr: &str) -> Option<Vec<bool>> {
    let prog = Capture::dead_with_precision(frames.linktype, Precision::Nano)
        .ok()?
        .compile(expr, true)
        .ok()?;
    Some(
        frames
            .frames
            .iter()
            .map(|f| prog.filter(frames.bytes(f)))
            .collect(),
    )
}

/// Whether libpcap sees the frame's IP layer where replay does: libpcap's
/// `tcp` etc. do not look inside 802.1Q/802.1ad tags (that needs `vlan`).
fn comparable(frames: &Frames, i: usize) -> bool {
    let f = &frames.frames[i];
    frames.linktype != Linktype::ETHERNET || f.net.is_none_or(|(off, _)| off == 14)
}

/// Runs `filter` with `config` over `frames`; returns "dropped" per frame
/// (the test filters drop what matches; non-IP frames never match).
fn engine(frames: &Frames, filter: &str, config: &[&str]) -> Vec<bool> {
    let mut inst = load(filter, config);
    let packets = replay::Packets::new(frames, Hook::Prerouting);
    let (report, verdicts) = replay::run(&mut inst, None, &packets, 1, |_| {});
    assert_eq!(report.counters.counters.errors(), 0);
    verdicts.iter().map(|v| *v == Some(Verdict::Drop)).collect()
}

/// Compares engine and libpcap frame by frame; returns libpcap's match count
/// over all frames, or `None` if libpcap rejects the expression for this
/// link type.
fn compare(
    name: &str,
    frames: &Frames,
    expr: &str,
    filter: &str,
    config: &[&str],
) -> Option<usize> {
    let want = libpcap(frames, expr)?;
    let got = engine(frames, filter, config);
    let mut compared = 0;
    for (i, (w, g)) in want.iter().zip(&got).enumerate() {
        if comparable(frames, i) {
            assert_eq!(
                g,
                w,
                "{name} frame {} `{expr}` ({filter} {config:?})",
                i + 1
            );
            compared += 1;
        }
    }
    assert!(
        compared > 0 || frames.frames.is_empty(),
        "{name}: nothing compared"
    );
    Some(want.iter().filter(|m| **m).count())
}

/// (libpcap expression, MANIFEST column, test filter, config)
const RULES: &[(&str, &str, &[&str])] = &[
    ("tcp", "pcap_rules", &["rule=tcp"]),
    ("udp", "pcap_rules", &["rule=udp"]),
    ("icmp or icmp6", "pcap_rules", &["rule=icmp"]),
    ("dst port 53", "pcap_rules", &["rule=dst_port", "port=53"]),
    (
        "(tcp or udp) and dst port 80",
        "pcap_rules",
        &["rule=tcp_udp_dst_port", "port=80"],
    ),
    ("ip6", "pcap_rules", &["rule=ip6"]),
    ("ip[6:2] & 0x1fff != 0", "pcap_rules", &["rule=frag"]),
];

#[test]
fn real_captures_match_libpcap_frame_by_frame() {
    let manifest = std::fs::read_to_string(data_dir().join("MANIFEST.tsv")).unwrap();
    let mut lines = manifest.lines();
    let header: Vec<&str> = lines.next().unwrap().split('\t').collect();
    let mut files = 0;
    let mut comparisons = 0;
    for line in lines {
        let cols: Vec<&str> = line.split('\t').collect();
        let (file, packets) = (cols[0], cols[3]);
        let path = data_dir().join(file);
        let frames = match Frames::read(&path) {
            Ok(f) => f,
            Err(e) => {
                assert_eq!(packets, "NA", "{file}: {e}");
                continue;
            }
        };
        assert_eq!(
            frames.frames.len().to_string(),
            packets,
            "{file}: packet count"
        );
        files += 1;
        for (expr, filter, config) in RULES {
            let col = header
                .iter()
                .position(|h| h == expr)
                .expect("manifest column");
            let matched = compare(file, &frames, expr, filter, config);
            // libpcap's count here is the manifest's (tcpdump's) count.
            let expected = cols[col];
            match matched {
                Some(n) => assert_eq!(n.to_string(), expected, "{file} `{expr}` count"),
                None => assert_eq!(expected, "NA", "{file} `{expr}` rejected by libpcap"),
            }
            comparisons += matched.is_some() as usize;
        }
    }
    assert!(files >= 20, "only {files} captures read");
    assert!(comparisons >= 150, "only {comparisons} comparisons");
}

#[test]
fn generated_capture_matches_libpcap_with_the_example_filters() {
    let frames = wasmnf_bench::gen::generate(20_000, 7);
    // (`ip and`: libpcap's `net` also matches ARP's addresses.)
    // The deployable examples, on traffic without fragments or extension
    // headers, where their semantics and libpcap's coincide.
    let port = format!("port={}", wasmnf_bench::gen::PORT);
    let dropped = compare(
        "gen",
        &frames,
        "(tcp or udp) and dst port 8080",
        "drop_port",
        &[&port],
    )
    .unwrap();
    assert!(dropped > 100, "only {dropped} frames to port 8080");
    compare(
        "gen",
        &frames,
        "ip and src net 10.0.0.0/8",
        "cidr_list",
        &["deny=10.0.0.0/8"],
    )
    .unwrap();
    compare(
        "gen",
        &frames,
        "ip6 and src net 2001:db8::/32",
        "cidr_list",
        &["deny=2001:db8::/32"],
    )
    .unwrap();
    compare(
        "gen",
        &frames,
        "ip and net 192.0.2.0/24",
        "pcap_rules",
        &["rule=net", "net=192.0.2.0/24"],
    )
    .unwrap();
    for (expr, filter, config) in RULES {
        compare("gen", &frames, expr, filter, config).unwrap();
    }
}
