//! The wasmnf engine: runs packet filters written in WebAssembly, the same in
//! the kernel module and in userspace.
//!
//! - [`abi`]: the filter ABI, version 1 (`docs/abi.md` is its prose form).
//! - [`validate`]: the ABI check, with errors that name the problem.
//! - [`Filter`]: a checked, compiled module with its limits, configuration
//!   and failure policy; it hands out [`Instance`]s.
//! - [`Instance`]: one pre-instantiated copy (one per CPU in the kernel);
//!   [`Instance::run`] takes a [`PacketView`] and a [`Ctx`] and returns a
//!   [`Verdict`] without allocating.
//!
//! `no_std` + `alloc`: the embedder provides the global allocator.
#![no_std]
#![deny(unsafe_code)]
#![warn(missing_docs)]

extern crate alloc;

pub mod abi;
mod backend;
pub mod config;
mod error;
pub mod fallible;
pub mod fast;
mod filter;
mod imports;
mod instance;
pub mod maps;
mod options;
mod outcome;
mod packet;
pub mod validate;
#[cfg(feature = "wasmi")]
mod wasmi_tier;

pub use abi::{Fragment, PktInfo};
pub use config::{ConfigError, FilterConfig};
pub use error::LoadError;
pub use fast::Unsupported;
pub use filter::Filter;
pub use imports::HostTrap;
pub use instance::Instance;
pub use maps::{Cpus, GracePeriod, Map, MapError, Maps};
pub use options::{Clock, FilterOptions, Limits, OnError, Tier};
pub use outcome::{RunResult, Status, TrapKind, Verdict};
pub use packet::{Ctx, Family, Hook, PacketView};
pub use validate::ModuleInfo;
/// The contract crate: netlink numbers, limits, counters, the C interface.
pub use wasmnf_common as common;
pub use wasmnf_common::counters::{Counter, Counters};
