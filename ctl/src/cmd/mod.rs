//! The subcommands, one module each, and what they share.

pub mod check;
pub mod list;
pub mod load;
pub mod map;
pub mod replay;
pub mod stats;
pub mod unload;

use clap::{Args as ClapArgs, ValueEnum};
use std::path::Path;
use wasmnf_ctl::netlink;
use wasmnf_engine::{Filter, FilterConfig, FilterOptions, Hook, Limits, LoadError, OnError, Tier};

/// Exit statuses (documented in `wasmnf --help` and the README).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Code {
    /// Reading or writing a file failed.
    Io = 1,
    /// The command line is wrong (clap also exits with 2).
    Usage = 2,
    /// The filter was refused: ABI check, compilation, configuration or init.
    Refused = 3,
    /// The kernel refused the request or is unavailable: module not loaded,
    /// permission, duplicate or unknown name.
    Kernel = 4,
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

/// A tier as `check` and `replay` print it.
pub fn tier_name(filter: &Filter) -> String {
    match filter.tier() {
        Tier::Fast => "fast".into(),
        Tier::Wasmi => "wasmi".into(),
    }
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
    /// Limit on the memory of the filter's maps, in bytes (default 268435456)
    #[arg(long, value_name = "BYTES")]
    pub map_memory: Option<u64>,
}

impl FilterArgs {
    /// The engine's load options.
    pub fn options(&self) -> std::result::Result<FilterOptions, LoadError> {
        Ok(FilterOptions {
            limits: Limits {
                fuel: self.fuel,
                max_memory_pages: self.memory_pages,
                max_map_memory: self.map_memory.unwrap_or(Limits::default().max_map_memory),
                ..Limits::default()
            },
            on_error: match self.on_error {
                Policy::Accept => OnError::Accept,
                Policy::Drop => OnError::Drop,
            },
            config: FilterConfig::from_entries(self.config.iter().map(String::as_str))?,
            clock: None,
            tier: Tier::Fast,
            cpus: 1,
            seed: random_seed(),
            keep_maps: None,
            count_instructions: false,
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

/// Checks and compiles a filter for `tier`, and instantiates it once
/// (running `init`).
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

/// Parses a hook name for clap.
pub fn parse_hook(s: &str) -> std::result::Result<Hook, String> {
    Hook::from_name(s)
        .ok_or_else(|| "expected one of prerouting, input, forward, output, postrouting".into())
}

/// A failed exchange with the kernel module: exit status 4.
pub fn kernel(e: netlink::Error) -> Failure {
    let code = if e.refused_filter() {
        Code::Refused
    } else {
        Code::Kernel
    };
    Failure::new(code, e.to_string())
}

/// A map file or `--map` spec that could not be used: a bad spec or line
/// (exit status 2), an unreadable file (1), an entry a map refused (3).
pub fn fill_failure(e: wasmnf_ctl::maptext::FillError) -> Failure {
    use wasmnf_ctl::maptext::FillErrorKind;
    let code = match e.kind {
        FillErrorKind::Usage => Code::Usage,
        FillErrorKind::Io => Code::Io,
        FillErrorKind::Refused => Code::Refused,
    };
    Failure::new(code, e.message)
}

/// Opens a generic-netlink socket to the module.
pub fn connect() -> Result<netlink::Client> {
    netlink::Client::connect().map_err(kernel)
}

/// Checks a filter name given on the command line (exit status 2).
pub fn check_name(name: &str) -> Result<&str> {
    if netlink::valid_name(name) {
        Ok(name)
    } else {
        Err(Failure::new(
            Code::Usage,
            format!("invalid filter name `{name}`: use 1-31 characters of A-Z a-z 0-9 _ . -"),
        ))
    }
}

/// The failure policy's name.
pub fn on_error_name(on_error: OnError) -> &'static str {
    match on_error {
        OnError::Accept => "accept",
        OnError::Drop => "drop",
    }
}

/// Prints a value as pretty JSON on stdout.
pub fn print_json(value: &impl serde::Serialize) {
    println!(
        "{}",
        serde_json::to_string_pretty(value).expect("serializable")
    );
}

/// A random value for the engine's map hashing (std's per-process hash keys).
fn random_seed() -> u64 {
    use std::hash::{BuildHasher, RandomState};
    RandomState::new().hash_one(0u64)
}
