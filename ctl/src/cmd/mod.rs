//! The subcommands, one module each, and what they share.

pub mod check;
pub mod replay;

use clap::{Args as ClapArgs, ValueEnum};
use std::path::Path;
use wasmnf_engine::{Filter, FilterConfig, FilterOptions, Limits, LoadError, OnError};

/// Exit statuses (documented in `wasmnf --help` and the README).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Code {
    /// Reading or writing a file failed.
    Io = 1,
    /// The filter was refused: ABI check, compilation, configuration or init.
    Refused = 3,
}

/// A failed command: its exit status and what to tell the user.
#[derive(Debug)]
pub struct Failure {
    pub code: Code,
    pub message: String,
    /// Already printed (e.g. as JSON on stdout).
    pub reported: bool,
}

impl Failure {
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        Failure {
            code,
            message: message.into(),
            reported: false,
        }
    }
}

pub type Result<T = ()> = std::result::Result<T, Failure>;

/// Failure policy as the command line spells it.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Policy {
    /// Fail open: a packet whose run fails is accepted.
    Accept,
    /// Fail closed: a packet whose run fails is dropped.
    Drop,
}

/// How a filter is loaded: shared by `check`, `replay` and `load`.
#[derive(ClapArgs, Debug)]
pub struct FilterArgs {
    /// Configuration handed to the filter, repeatable (e.g. --config port=8080)
    #[arg(short, long = "config", value_name = "KEY=VALUE")]
    pub config: Vec<String>,
    /// Fuel per packet (about one unit per Wasm instruction)
    #[arg(long, value_name = "N", default_value_t = Limits::default().fuel)]
    pub fuel: u64,
    /// Linear memory limit in 64 KiB pages
    #[arg(long, value_name = "PAGES", default_value_t = Limits::default().max_memory_pages)]
    pub memory_pages: u32,
    /// What a packet gets when its filter run fails (trap, out of fuel)
    #[arg(long, value_enum, default_value = "accept")]
    pub on_error: Policy,
}

impl FilterArgs {
    /// The engine's load options.
    pub fn options(&self) -> std::result::Result<FilterOptions, LoadError> {
        Ok(FilterOptions {
            limits: Limits {
                fuel: self.fuel,
                max_memory_pages: self.memory_pages,
                ..Limits::default()
            },
            on_error: match self.on_error {
                Policy::Accept => OnError::Accept,
                Policy::Drop => OnError::Drop,
            },
            config: FilterConfig::from_entries(self.config.iter().map(String::as_str))?,
            clock: None,
        })
    }
}

/// Reads a filter file.
pub fn read_filter(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| {
        Failure::new(
            Code::Io,
            format!("cannot read filter {}: {e}", path.display()),
        )
    })
}

/// Checks and compiles a filter, and instantiates it once (running `init`).
pub fn load_filter(
    path: &Path,
    wasm: &[u8],
    args: &FilterArgs,
) -> Result<(Filter, wasmnf_engine::Instance)> {
    let refused = |e: LoadError| Failure::new(Code::Refused, format!("{}: {e}", path.display()));
    let filter = Filter::new(wasm, args.options().map_err(refused)?).map_err(refused)?;
    let inst = filter.instantiate().map_err(refused)?;
    Ok((filter, inst))
}
