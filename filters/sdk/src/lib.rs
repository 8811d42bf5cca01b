//! Write wasmnf packet filters in safe Rust.
//!
//! A filter is a function from a [`Packet`] to a [`Verdict`], registered with
//! [`entry!`]. It reads the packet in place through typed accessors
//! ([`Packet::ip`], [`Packet::tcp`], [`Packet::udp`], [`Packet::icmp`], or raw
//! [`Packet::u16`] and friends), its load-time configuration through
//! [`config`], and keeps state across packets in [`State`] (per instance:
//! per CPU in the kernel) or in [maps](mod@maps) the host keeps, shared by every CPU
//! and filled and read from outside ([`maps!`](macro@maps), [`LpmMap`], [`HashMap`],
//! [`Array`] and their per-CPU forms).
//!
//! ```ignore
//! #![no_std]
//! use wasmnf_sdk::{config, entry, InitError, Packet, State, Verdict};
//!
//! static PORT: State<u16> = State::new(0);
//!
//! fn init() -> Result<(), InitError> {
//!     PORT.set(config::require("port")?);
//!     Ok(())
//! }
//!
//! fn filter(pkt: &Packet) -> Verdict {
//!     match pkt.ports() {
//!         Some((_, dst)) if dst == PORT.get() => Verdict::Drop,
//!         _ => Verdict::Accept,
//!     }
//! }
//!
//! entry!(filter, init = init);
//! ```
//!
//! Patterns that are fast on the packet path (measured with
//! `bench/src/bin/wasmnf-suite.rs`): test addresses against a
//! [`PrefixSet`] rather than a list of [`Cidr`]s (masks precomputed, IPv4
//! in 32-bit arithmetic, each family in its own array: 34-47% fewer
//! instructions for `cidr_filter`); build large state in place in its
//! [`State`] (`State::with`) rather than returning it by value (the
//! shadow stack is 16 KiB); look the packet's own address up in a map with
//! `contains_packet` or `lookup_packet` rather than `lookup(&addr)` (the
//! host reads the address and builds the key: `cidr_filter` with 100,000
//! prefixes went from 2,067 to 1,102 instructions per packet).
#![no_std]

pub mod config;
mod list;
pub mod maps;
mod net;
mod packet;
mod prefix;
mod state;
mod sys;

pub use config::InitError;
pub use list::List;
pub use maps::{
    AddrLookup, Array, Flags, HashMap, LpmMap, MapError, PacketAddr, PerCpuArray, PerCpuHash,
};
pub use net::{proto, Cidr, Fragment, Icmp, Ip, Tcp, TcpFlags, Udp, L3};
pub use packet::{Ctx, Family, Hook, Packet};
pub use prefix::PrefixSet;
pub use state::State;

/// What a filter decides for a packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(i32)]
pub enum Verdict {
    /// Drop the packet.
    Drop = 0,
    /// Let the packet continue.
    Accept = 1,
}

/// Declares the filter's entry points: `entry!(filter)` or
/// `entry!(filter, init = init)`, where `filter: fn(&Packet) -> Verdict` and
/// `init: fn() -> Result<(), InitError>` runs once per instance at load.
#[macro_export]
macro_rules! entry {
    ($filter:path) => {
        #[export_name = "filter"]
        extern "C" fn __wasmnf_filter(len: i32) -> i32 {
            $crate::__run($filter, len)
        }
    };
    ($filter:path, init = $init:path) => {
        $crate::entry!($filter);
        #[export_name = "init"]
        extern "C" fn __wasmnf_init() -> i32 {
            $crate::__init($init)
        }
    };
}

#[doc(hidden)]
#[inline(always)]
pub fn __run(filter: fn(&Packet) -> Verdict, len: i32) -> i32 {
    filter(&Packet::current(len as u32 as usize)) as i32
}

#[doc(hidden)]
pub fn __init(init: fn() -> Result<(), InitError>) -> i32 {
    match init() {
        Ok(()) => 0,
        Err(e) => {
            e.report();
            1
        }
    }
}

#[cfg(all(target_arch = "wasm32", not(test)))]
#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    // A trap: the engine counts it and applies the filter's failure policy.
    core::arch::wasm32::unreachable()
}
