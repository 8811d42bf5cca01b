//! Every module in `tests/regress/` (crashes and divergences found by the
//! fuzzer, reviews and users) gets the outcome its `;; expect:` line states,
//! which the Wasm specification and the ABI decide (tests/regress/README.md).

use std::path::PathBuf;
use wasmnf_engine::{Ctx, Filter, FilterOptions, Verdict};
use wasmnf_tests::udp4;

fn regress_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("regress")
}

/// What the engine does with `wasm`, in the form of an `;; expect:` line.
fn outcome(wasm: &[u8]) -> String {
    let filter = match Filter::new(wasm, FilterOptions::default()) {
        Ok(f) => f,
        Err(e) => return format!("refused: {e}"),
    };
    let mut inst = match filter.instantiate() {
        Ok(i) => i,
        Err(e) => return format!("init: {e}"),
    };
    let pkt = udp4(8080, b"payload");
    let r = inst.run_detailed(&pkt.as_slice(), &Ctx::default());
    let verdict = match r.verdict {
        Verdict::Accept => "accept",
        Verdict::Drop => "drop",
    };
    format!("{verdict} {}", r.status)
}

#[test]
fn every_regression_module_gets_its_expected_outcome() {
    let mut files: Vec<_> = std::fs::read_dir(regress_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "wat"))
        .collect();
    files.sort();
    assert!(files.len() >= 6, "regression modules missing: {files:?}");
    let mut bad = Vec::new();
    for path in &files {
        let text = std::fs::read_to_string(path).unwrap();
        let want = xtask::regress_expectation(&text)
            .unwrap_or_else(|| panic!("{}: no ;; expect:", path.display()));
        let got = outcome(&wat::parse_str(&text).unwrap());
        // `refused:` and `init:` match on a part of the message.
        let ok = match want.split_once(": ") {
            Some((kind @ ("refused" | "init"), text)) => {
                got.starts_with(kind) && got.contains(text)
            }
            _ => got == want,
        };
        if !ok {
            bad.push(format!(
                "{}: expected `{want}`, got `{got}`",
                path.display()
            ));
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

/// Positive control: an expectation that does not hold is reported.
#[test]
fn a_wrong_expectation_is_caught() {
    let wasm = wat::parse_str(
        r#"(module (func (export "filter") (param i32) (result i32) (i32.const 0)))"#,
    )
    .unwrap();
    assert_eq!(outcome(&wasm), "drop ok");
    assert_ne!(outcome(&wasm), "accept ok");
}
