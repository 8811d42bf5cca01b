//! `cargo xtask filters`: build the example filters for wasm32.
//! `cargo xtask new-filter NAME`: start a new filter from the template.
//! `cargo xtask regress OUTDIR`: the regression modules as `.wasm` files.

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
        Some("new-filter") if args.len() == 2 => {
            match xtask::new_filter(&xtask::repo_root().join("filters"), &args[1]) {
                Ok(lib) => {
                    println!(
                        "created {}; build with `cargo xtask filters`",
                        lib.display()
                    );
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        Some("regress") if args.len() == 2 => {
            let root = xtask::repo_root();
            match xtask::build_regress(&root.join("tests/regress"), args[1].as_ref()) {
                Ok(n) => {
                    println!("{n} regression modules in {}", args[1]);
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        _ => {
            eprintln!(
                "usage: cargo xtask filters           build filters/*/ for wasm32-unknown-unknown\n       \
                 cargo xtask new-filter NAME   start filters/NAME/ from a port-blocking template\n       \
                 cargo xtask regress OUTDIR    tests/regress/*.wat as OUTDIR/regress-*.wasm and regress.tsv"
            );
            ExitCode::from(2)
        }
    }
}
