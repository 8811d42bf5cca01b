//! `gen-capture OUT.pcap [FRAMES] [SEED]`: writes the benchmark's
//! deterministic capture (1,000,000 frames, seed 1 by default).

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(out) = args.first() else {
        eprintln!("usage: gen-capture OUT.pcap [FRAMES (1000000)] [SEED (1)]");
        return ExitCode::from(2);
    };
    let n = args
        .get(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000_000);
    let seed = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(1);
    let frames = wasmnf_bench::gen::generate(n, seed);
    match frames.write(std::path::Path::new(out), |_| true) {
        Ok(written) => {
            println!("{out}: {written} frames, seed {seed}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("gen-capture: {e}");
            ExitCode::FAILURE
        }
    }
}
