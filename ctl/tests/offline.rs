//! `wasmnf check` and `wasmnf replay` as a user runs them: the real binary,
//! real captures, exit statuses and messages.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn data(name: &str) -> PathBuf {
    repo().join("tests/data").join(name)
}

/// A built example filter. The tests crate's build script builds them; this
/// package builds them through the same xtask function when missing.
fn filter(name: &str) -> PathBuf {
    let dir = repo().join("filters/target/wasm32-unknown-unknown/release");
    let path = dir.join(format!("{name}.wasm"));
    if !path.exists() {
        let status = Command::new(env!("CARGO"))
            .args(["xtask", "filters"])
            .current_dir(repo())
            .status()
            .unwrap();
        assert!(status.success());
    }
    path
}

fn wasmnf(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_wasmnf"))
        .args(args)
        .output()
        .unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn check_reports_a_good_filter_and_refuses_bad_ones() {
    let dp = filter("drop_port");
    let out = wasmnf(&["check", s(&dp), "--config", "port=8080"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains(": ok, wasmnf ABI 3"), "{stdout}");
    assert!(
        stdout.contains("exports   filter, init, memory, wasmnf_window"),
        "{stdout}"
    );
    assert!(stdout.contains("config    port=8080"), "{stdout}");

    let out = wasmnf(&["check", s(&dp), "--json", "--config", "port=8080"]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["ok"], true);
    assert_eq!(json["abi"], 3);
    assert_eq!(json["details"]["config"][0][1], "8080");

    // init refuses a missing key: exit 3, the filter's own message.
    let out = wasmnf(&["check", s(&dp)]);
    assert_eq!(out.status.code(), Some(3));
    assert!(
        text(&out.stderr).contains("missing config `port`"),
        "{}",
        text(&out.stderr)
    );

    // Not Wasm at all, and a missing file.
    let out = wasmnf(&["check", s(&data("dns_tcp.pcap"))]);
    assert_eq!(out.status.code(), Some(3));
    assert!(text(&out.stderr).contains("not a WebAssembly module"));
    let out = wasmnf(&["check", "/nonexistent/x.wasm"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("cannot read filter /nonexistent/x.wasm"));

    // Usage errors are clap's: exit 2.
    let out = wasmnf(&["check", s(&dp), "--on-error", "maybe"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn replay_counts_and_writes_valid_captures() {
    let dir = std::env::temp_dir().join(format!("wasmnf-replay-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (acc, drop) = (dir.join("accepted.pcap"), dir.join("dropped.pcap"));
    let dp = filter("drop_port");
    // print-flags.pcap: 10 TCP frames, 6 to port 80 (libpcap's count).
    let out = wasmnf(&[
        "replay",
        s(&data("print-flags.pcap")),
        "--filter",
        s(&dp),
        "--config",
        "port=80",
        "--write-accepted",
        s(&acc),
        "--write-dropped",
        s(&drop),
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (r["frames"].as_u64(), r["packets"].as_u64()),
        (Some(10), Some(10))
    );
    assert_eq!(
        (r["dropped"].as_u64(), r["accepted"].as_u64()),
        (Some(6), Some(4))
    );
    assert_eq!(r["traps"], 0);
    // The outputs are captures libpcap reads back, with the right frames.
    let count = |p: &Path| {
        let mut c = pcap::Capture::from_file(p).unwrap();
        let mut n = 0;
        while c.next_packet().is_ok() {
            n += 1;
        }
        n
    };
    assert_eq!((count(&acc), count(&drop)), (4, 6));

    // Human output, pcapng input, Linux cooked input.
    let out = wasmnf(&[
        "replay",
        s(&data("time_2106_overflow.pcapng")),
        "-f",
        s(&filter("accept_all")),
    ]);
    assert_eq!(out.status.code(), Some(0));
    assert!(
        text(&out.stdout).contains("1 frames, 1 IP packets (0 not IP)"),
        "{}",
        text(&out.stdout)
    );
    let out = wasmnf(&[
        "replay",
        s(&data("tcp-handshake-nano.pcap")),
        "-f",
        s(&dp),
        "-c",
        "port=80",
    ]);
    assert!(
        text(&out.stdout).contains("dropped       2"),
        "{}",
        text(&out.stdout)
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn replay_refuses_bad_captures_and_writes_nothing() {
    let out_file = std::env::temp_dir().join(format!("wasmnf-never-{}.pcap", std::process::id()));
    let aa = filter("accept_all");
    for (capture, message) in [
        ("pcap-invalid-version-1.pcap", "cannot read capture"),
        ("shb-option-too-long.pcapng", "cannot read capture"),
    ] {
        let out = wasmnf(&[
            "replay",
            s(&data(capture)),
            "-f",
            s(&aa),
            "--write-accepted",
            s(&out_file),
        ]);
        assert_eq!(out.status.code(), Some(1), "{capture}");
        assert!(
            text(&out.stderr).contains(message),
            "{capture}: {}",
            text(&out.stderr)
        );
        assert!(!out_file.exists(), "{capture}: an output was written");
    }
    // A capture cut in the middle of a packet.
    let whole = std::fs::read(data("dns_tcp.pcap")).unwrap();
    let cut = std::env::temp_dir().join(format!("wasmnf-cut-{}.pcap", std::process::id()));
    std::fs::write(&cut, &whole[..whole.len() - 20]).unwrap();
    let out = wasmnf(&["replay", s(&cut), "-f", s(&aa)]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("is damaged after 10 packets"),
        "{}",
        text(&out.stderr)
    );
    std::fs::remove_file(&cut).unwrap();
}

/// The CLI runs filters on the engine the kernel runs, nothing else: `check`
/// names it, a valid module outside it is refused by name (exit 3), and
/// `--engine` is gone (wasmi was removed from the CLI, issue 11).
#[test]
fn the_one_engine_is_named_and_the_rest_refused() {
    let dp = filter("drop_port");
    let out = wasmnf(&["check", s(&dp), "--config", "port=53"]);
    assert!(text(&out.stdout).contains("  engine    fast\n"));
    let out = wasmnf(&["check", s(&dp), "--config", "port=53", "--engine", "wasmi"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let unsupported =
        std::env::temp_dir().join(format!("wasmnf-tsize-{}.wasm", std::process::id()));
    let wat =
        std::fs::read_to_string(repo().join("tests/regress/table_size_unsupported.wat")).unwrap();
    std::fs::write(&unsupported, wat::parse_str(&wat).unwrap()).unwrap();
    let out = wasmnf(&["check", s(&unsupported)]);
    std::fs::remove_file(&unsupported).unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert!(
        text(&out.stderr).contains("the engine does not run `table.size`"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn replay_fills_maps_from_files_and_dumps_them() {
    let dir = std::env::temp_dir().join(format!("wasmnf-maps-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let deny = dir.join("deny.txt");
    std::fs::write(&deny, "# sources to drop\n127.0.0.0/8 7\n2001:db8::/32\n").unwrap();
    let cf = filter("cidr_filter");
    let spec = format!("deny=@{}", s(&deny));
    let pcap = data("print-flags.pcap");
    // print-flags.pcap: 10 TCP frames from 127.0.0.1.
    let out = wasmnf(&[
        "replay",
        s(&pcap),
        "-f",
        s(&cf),
        "--map",
        &spec,
        "--dump-maps",
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["replay"]["dropped"], 10);
    assert_eq!(r["maps"][0]["name"], "deny");
    assert_eq!(r["maps"][0]["entries"][1]["key"], "127.0.0.0/8");
    assert_eq!(r["maps"][0]["entries"][1]["value"], 7);
    assert_eq!(r["maps"][0]["entries"][0]["key"], "2001:db8::/32");

    // Text, and top_talkers' per-source counters.
    let tt = filter("top_talkers");
    let out = wasmnf(&["replay", s(&pcap), "-f", s(&tt), "--dump-maps"]);
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("map talkers (hash, key ipv6, value u64 x2; 1 of 65536 entries)"),
        "{stdout}"
    );
    assert!(stdout.contains("  ::ffff:127.0.0.1  10 "), "{stdout}");

    // A bad line: named, exit 2, nothing runs.
    std::fs::write(&deny, "10.0.0.0/8\n10.0.0/8\n").unwrap();
    let out = wasmnf(&["replay", s(&pcap), "-f", s(&cf), "--map", &spec]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("deny.txt:2: `10.0.0` is not an IP address"),
        "{stderr}"
    );
    assert!(out.stdout.is_empty(), "nothing ran");
    // An unknown map, a filter without maps, a missing file.
    let out = wasmnf(&["replay", s(&pcap), "-f", s(&cf), "--map", "blocklist=@x"]);
    assert!(text(&out.stderr).contains("no map `blocklist` (it has deny, allow)"));
    let out = wasmnf(&[
        "replay",
        s(&pcap),
        "-f",
        s(&filter("accept_all")),
        "--map",
        &spec,
    ]);
    assert!(text(&out.stderr).contains("declares no maps"));
    let out = wasmnf(&[
        "replay",
        s(&pcap),
        "-f",
        s(&cf),
        "--map",
        "deny=@/nonexistent/x",
    ]);
    assert_eq!(out.status.code(), Some(1));

    // `check` lists the maps.
    let out = wasmnf(&["check", s(&cf)]);
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("map       deny: lpm, key ipv6 prefix, value u32; 1000000 entries"),
        "{stdout}"
    );
    std::fs::remove_dir_all(&dir).ok();
}
