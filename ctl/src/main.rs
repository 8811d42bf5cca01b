//! `wasmnf`: load, inspect and replay WebAssembly packet filters.

mod cmd;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// Programmable packet filtering for Linux, in WebAssembly.
#[derive(Parser)]
#[command(
    name = "wasmnf",
    version,
    about,
    after_help = "Examples:\n  wasmnf check drop_port.wasm --config port=8080\n  \
                  wasmnf replay capture.pcap --filter drop_port.wasm --config port=8080\n\n\
                  Exit status: 0 ok, 1 input/output error, 2 usage error, 3 filter refused."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    Check(cmd::check::Args),
    Replay(cmd::replay::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Check(args) => cmd::check::run(args),
        Command::Replay(args) => cmd::replay::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            if !e.reported {
                eprintln!("wasmnf: {}", e.message);
            }
            ExitCode::from(e.code as u8)
        }
    }
}
