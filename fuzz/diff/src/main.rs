//! `wasmnf-difffuzz`: generated modules through the engine, wasmtime and
//! wasmi (see the library docs), for a number of seconds or modules.
//!
//!   wasmnf-difffuzz [--seconds N] [--modules N] [--seed S] [--save DIR]
//!   wasmnf-difffuzz --replay FILE.wasm|FILE.wat ...
//!
//! Deterministic for a seed and a module count. Prints a summary (modules,
//! share taken by the fast tier, runs compared, wasmi disagreements and
//! panics, what the fast tier refused and why) and exits 1 on any
//! disagreement between the engine and wasmtime, after saving the module as
//! DIR/finding-SEED-N.wasm (default DIR: the current directory). Modules on
//! which only wasmi differs or panics are saved as DIR/wasmi-*-SEED-N.wasm.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};
use wasmnf_difffuzz::{compare, generate};

/// xorshift64*: the byte source for wasm-smith.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

/// How often a run prints its progress.
const PROGRESS: Duration = Duration::from_secs(300);

fn usage() -> ! {
    eprintln!(
        "usage: wasmnf-difffuzz [--seconds N] [--modules N] [--seed S] [--save DIR] | --replay FILE..."
    );
    std::process::exit(2)
}

fn main() {
    let mut args = std::env::args().skip(1);
    let (mut seconds, mut modules, mut seed) = (None::<u64>, None::<u64>, 1u64);
    let mut save = PathBuf::from(".");
    let mut replay = Vec::new();
    while let Some(a) = args.next() {
        let mut value = || args.next().unwrap_or_else(|| usage());
        match a.as_str() {
            "--seconds" => seconds = Some(value().parse().unwrap_or_else(|_| usage())),
            "--modules" => modules = Some(value().parse().unwrap_or_else(|_| usage())),
            "--seed" => seed = value().parse().unwrap_or_else(|_| usage()),
            "--save" => save = PathBuf::from(value()),
            "--replay" => replay.extend(args.by_ref()),
            _ => usage(),
        }
    }
    if !replay.is_empty() {
        std::process::exit(replay_files(&replay));
    }
    if seconds.is_none() && modules.is_none() {
        seconds = Some(60);
    }
    let deadline = seconds.map(|s| Instant::now() + Duration::from_secs(s));
    let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
    let start = Instant::now();
    let (mut generated, mut taken, mut runs, mut findings) = (0u64, 0u64, 0u64, 0u64);
    let (mut wasmi_differs, mut wasmi_panics) = (0u64, 0u64);
    let mut refused: BTreeMap<String, u64> = BTreeMap::new();
    let mut report_at = start + PROGRESS;
    for n in 0.. {
        let now = Instant::now();
        if modules.is_some_and(|m| n >= m) || deadline.is_some_and(|d| now >= d) {
            break;
        }
        // A long run says where it is (a run that dies early keeps its count).
        if now >= report_at {
            report_at = now + PROGRESS;
            eprintln!(
                "difffuzz: {:.0} s, {generated} modules, {taken} taken, {runs} runs, {findings} disagreements",
                (now - start).as_secs_f64()
            );
        }
        let len = 64 + (rng.next() % 4096) as usize;
        let Some(wasm) = generate(&rng.bytes(len)) else {
            continue;
        };
        generated += 1;
        let r = compare(&wasm);
        match r.taken {
            Some(true) => taken += 1,
            _ => {
                *refused
                    .entry(r.unsupported.unwrap_or_default())
                    .or_default() += 1
            }
        }
        runs += r.runs as u64;
        wasmi_differs += u64::from(r.wasmi_differs);
        wasmi_panics += u64::from(r.wasmi_panicked);
        // wasmi's own bugs are kept too (wasmi-...), for its upstream and
        // for tests/regress/; they do not fail the run.
        if r.wasmi_differs || r.wasmi_panicked {
            let kind = if r.wasmi_panicked { "panic" } else { "differs" };
            let _ = std::fs::write(save.join(format!("wasmi-{kind}-{seed}-{n}.wasm")), &wasm);
        }
        if !r.agree {
            findings += 1;
            let path = save.join(format!("finding-{seed}-{n}.wasm"));
            let _ = std::fs::write(&path, &wasm);
            println!(
                "FINDING {} (module {n}, seed {seed}):\n{}",
                path.display(),
                r.detail
            );
        }
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "difffuzz seed {seed}: {generated} modules in {secs:.0} s, {taken} ({:.1}%) taken by the fast tier (the rest refused, below), \
         {runs} runs compared with wasmtime, {findings} disagreements; wasmi: {wasmi_differs} disagreements, \
         {wasmi_panics} panics",
        100.0 * taken as f64 / generated.max(1) as f64
    );
    for (why, count) in &refused {
        println!("  refused: {count:>6}  {why}");
    }
    std::process::exit(i32::from(findings > 0));
}

/// Compares the given modules (binary or text); returns the exit status.
fn replay_files(files: &[String]) -> i32 {
    let mut status = 0;
    for f in files {
        let bytes = std::fs::read(f).unwrap_or_else(|e| panic!("{f}: {e}"));
        let wasm = wat::parse_bytes(&bytes).unwrap_or_else(|e| panic!("{f}: {e}"));
        let r = compare(&wasm);
        let verdict = match (r.taken, r.agree) {
            (Some(false), _) => {
                format!("refused: {}", r.unsupported.unwrap_or_default())
            }
            (_, true) => format!("engine and wasmtime agree over {} runs", r.runs),
            (_, false) => {
                status = 1;
                format!("DISAGREE\n{}", r.detail)
            }
        };
        let wasmi = match (r.wasmi_panicked, r.wasmi_differs) {
            (true, _) => "; wasmi panics",
            (_, true) => "; wasmi differs",
            _ => "",
        };
        println!("{f}: {verdict}{wasmi}");
    }
    status
}
