//! The kernel subcommands as a user runs them, on a host without the wasmnf
//! module: local validation comes first, and a missing module is exit 4.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const NOT_LOADED: &str = "wasmnf: the wasmnf kernel module is not loaded; \
                          load it with `insmod wasmnf.ko` (see docs/kernel.md)";

fn wasmnf(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_wasmnf"))
        .args(args)
        .output()
        .expect("runs wasmnf")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Writes `wat` as a module into this run's directory; returns its path.
/// Each test uses its own file names, since tests run concurrently.
fn module(file: &str, wat: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("wasmnf-kernel-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(file);
    std::fs::write(&path, wat::parse_str(wat).unwrap()).unwrap();
    path
}

const ACCEPT: &str = r#"(module (func (export "filter") (param i32) (result i32) (i32.const 1)))"#;

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn a_refused_filter_is_explained_before_any_netlink_traffic() {
    let bad = module(
        "bad.wasm",
        r#"(module (func (export "filter") (param i32) (result i32)
             (drop (f64.add (f64.const 1) (f64.const 2))) (i32.const 1)))"#,
    );
    let out = wasmnf(&["load", s(&bad), "--hook", "input"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(
        err.contains("bad.wasm: float instruction `f64.const` is not allowed"),
        "{err}"
    );
    assert!(!err.contains("kernel module"), "{err}");
}

#[test]
fn a_valid_filter_reaches_the_kernel_and_finds_no_module() {
    let ok = module("accept.wasm", ACCEPT);
    let out = wasmnf(&["load", s(&ok), "--hook", "input", "--priority", "-10"]);
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    assert_eq!(stderr(&out).trim_end(), NOT_LOADED);
}

#[test]
fn every_kernel_subcommand_without_the_module_exits_4() {
    for args in [
        &["list"][..],
        &["list", "--json"],
        &["stats"],
        &["stats", "web", "--json"],
        &["unload", "web"],
    ] {
        let out = wasmnf(args);
        assert_eq!(out.status.code(), Some(4), "{args:?}: {}", stderr(&out));
        assert_eq!(stderr(&out).trim_end(), NOT_LOADED, "{args:?}");
        assert!(out.stdout.is_empty(), "{args:?}");
    }
}

#[test]
fn bad_names_and_hooks_are_usage_errors() {
    let spaced = module("my filter.wasm", ACCEPT);
    let out = wasmnf(&["load", s(&spaced), "--hook", "input"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("invalid filter name `my filter`"),
        "{}",
        stderr(&out)
    );
    assert!(stderr(&out).contains("--name"), "{}", stderr(&out));

    let ok = module("named.wasm", ACCEPT);
    let long = "x".repeat(32);
    let out = wasmnf(&["load", s(&ok), "--hook", "input", "--name", &long]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));

    let out = wasmnf(&["load", s(&ok), "--hook", "sideways"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("prerouting, input, forward, output, postrouting"));

    let out = wasmnf(&["load", s(&ok), "--hook", "input", "--family", "ipx"]);
    assert_eq!(out.status.code(), Some(2));

    let out = wasmnf(&["unload", "no/slash"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn help_documents_exit_status_4_and_examples() {
    let out = wasmnf(&["--help"]);
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(help.contains("4 kernel refused or unavailable"), "{help}");
    for cmd in ["load", "unload", "list", "stats"] {
        let out = wasmnf(&[cmd, "--help"]);
        let help = String::from_utf8_lossy(&out.stdout);
        assert!(help.contains(&format!("wasmnf {cmd}")), "{cmd}: {help}");
    }
}
