//! `wasmnf`: check, replay, and load into the kernel WebAssembly packet filters.

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
                  wasmnf replay capture.pcap --filter drop_port.wasm --config port=8080\n  \
                  wasmnf load drop_port.wasm --hook input --config port=8080\n  \
                  wasmnf list\n  \
                  wasmnf stats drop_port --watch\n  \
                  wasmnf map update fw blocklist 203.0.113.0/24 1\n  \
                  wasmnf unload drop_port\n\n\
                  Exit status: 0 ok, 1 input/output error, 2 usage error, 3 filter refused, \
                  4 kernel refused or unavailable (module not loaded, permission denied, \
                  name taken or unknown)."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    Check(cmd::check::Args),
    Replay(cmd::replay::Args),
    Load(cmd::load::Args),
    Unload(cmd::unload::Args),
    List(cmd::list::Args),
    Stats(cmd::stats::Args),
    Map(cmd::map::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Check(args) => cmd::check::run(args),
        Command::Replay(args) => cmd::replay::run(args),
        Command::Load(args) => cmd::load::run(args),
        Command::Unload(args) => cmd::unload::run(args),
        Command::List(args) => cmd::list::run(args),
        Command::Stats(args) => cmd::stats::run(args),
        Command::Map(args) => cmd::map::run(args),
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
