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
mod counters;
mod error;
pub mod fast;
mod filter;
#[cfg(feature = "wasmi")]
#[allow(unsafe_code)]
mod host;
mod imports;
mod instance;
mod packet;
pub mod validate;
#[cfg(feature = "wasmi")]
mod wasmi_tier;

pub use backend::Tier;
pub use config::{ConfigError, FilterConfig};
pub use counters::Counters;
pub use error::LoadError;
pub use fast::Unsupported;
pub use filter::{Clock, Filter, FilterOptions, Limits, OnError};
pub use imports::HostTrap;
pub use instance::{Instance, RunResult, Status, TrapKind, Verdict};
pub use packet::{Ctx, Family, Hook, PacketView};
pub use validate::ModuleInfo;
