//! `cargo xtask filters`: build the example filters for wasm32.

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("filters") => match xtask::build_filters(&xtask::repo_root().join("filters")) {
            Ok(dir) => {
                println!("filters built in {}", dir.display());
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::FAILURE
            }
        },
        _ => {
            eprintln!("usage: cargo xtask filters    build filters/*/ for wasm32-unknown-unknown");
            ExitCode::from(2)
        }
    }
}
