//! How a filter is loaded: its limits, failure policy, configuration,
//! clock and tier.

use crate::abi::limits;
use crate::config::FilterConfig;
use crate::error::LoadError;
use crate::outcome::Verdict;
use alloc::format;

/// Which engine runs a filter. Nothing picks wasmi but an explicit
/// [`Tier::Wasmi`]: a module the fast tier does not take is refused.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Tier {
    /// The engine's own fast tier, the only one in the kernel.
    #[default]
    Fast,
    /// wasmi 2.0, on request, where the engine is built with the `wasmi`
    /// feature (userspace only). Slower per packet, and wasmi 2.0.0 has known
    /// miscompilations (`docs/abi.md`, "Engines").
    Wasmi,
}

/// Resource limits of one filter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Largest module accepted, in bytes (at most [`limits::MODULE_SIZE_MAX`]).
    pub max_module_size: usize,
    /// Linear memory limit in 64 KiB pages, for the initial size and for
    /// `memory.grow` (at most [`limits::MEMORY_PAGES_MAX`]).
    pub max_memory_pages: u32,
    /// Fuel per packet (at most [`limits::FUEL_MAX`]).
    pub fuel: u64,
    /// Wasm call depth (at most [`limits::CALL_DEPTH_MAX`]).
    pub max_call_depth: u32,
    /// Bytes all of the filter's maps may take together (at most
    /// [`wasmnf_common::maps::MEMORY_MAX`]).
    pub max_map_memory: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_module_size: limits::MODULE_SIZE_MAX,
            max_memory_pages: limits::MEMORY_PAGES_DEFAULT,
            fuel: limits::FUEL_DEFAULT,
            max_call_depth: limits::CALL_DEPTH_DEFAULT,
            max_map_memory: wasmnf_common::maps::MEMORY_DEFAULT,
        }
    }
}

impl Limits {
    pub(crate) fn check(&self) -> Result<(), LoadError> {
        let out =
            |what: &str, max: u64| Err(LoadError::Options(format!("{what} must be 1..={max}")));
        if self.max_module_size == 0 || self.max_module_size > limits::MODULE_SIZE_MAX {
            return out("module size limit", limits::MODULE_SIZE_MAX as u64);
        }
        if self.max_memory_pages == 0 || self.max_memory_pages > limits::MEMORY_PAGES_MAX {
            return out("memory limit (pages)", limits::MEMORY_PAGES_MAX.into());
        }
        if self.fuel == 0 || self.fuel > limits::FUEL_MAX {
            return out("fuel", limits::FUEL_MAX);
        }
        if self.max_call_depth == 0 || self.max_call_depth > limits::CALL_DEPTH_MAX {
            return out("call depth", limits::CALL_DEPTH_MAX.into());
        }
        if self.max_map_memory == 0 || self.max_map_memory > wasmnf_common::maps::MEMORY_MAX {
            return out("map memory (bytes)", wasmnf_common::maps::MEMORY_MAX);
        }
        Ok(())
    }
}

/// What happens to a packet whose filter run fails (trap, out of fuel,
/// invalid verdict). Either way the failure is counted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum OnError {
    /// Fail open: the packet continues.
    #[default]
    Accept,
    /// Fail closed: the packet is dropped.
    Drop,
}

impl OnError {
    /// The verdict this policy gives a packet whose run failed.
    pub fn verdict(self) -> Verdict {
        match self {
            OnError::Accept => Verdict::Accept,
            OnError::Drop => Verdict::Drop,
        }
    }
}

/// A clock for run-time accounting, in nanoseconds.
pub type Clock = fn() -> u64;

/// How a filter is loaded.
#[derive(Clone, Debug, Default)]
pub struct FilterOptions {
    /// Resource limits.
    pub limits: Limits,
    /// Failure policy.
    pub on_error: OnError,
    /// Configuration handed to the filter.
    pub config: FilterConfig,
    /// When set, every run is timed into [`crate::Counters::run_ns`]. Costs
    /// two clock reads per packet, so it is off unless asked for.
    pub clock: Option<Clock>,
    /// Which engine runs the filter ([`Tier::Fast`], the default: the fast
    /// tier, or a refusal if it does not take the module).
    pub tier: Tier,
    /// How many CPUs run instances: per-CPU maps keep this many values
    /// (0 counts as 1). Instances are numbered `0..cpus`
    /// ([`crate::Filter::instantiate_on`]).
    pub cpus: usize,
    /// Keys the hashing of hash maps; a host with randomness passes a
    /// random value, so keys that collide cannot be chosen from outside.
    pub seed: u64,
    /// The maps of the filter this one replaces: those that carry over
    /// ([`wasmnf_common::maps::Decl::carries_over`]) are shared instead of
    /// allocated empty ([`crate::Maps::new_keeping`]).
    pub keep_maps: Option<alloc::sync::Arc<crate::Maps>>,
    /// For measurements only: the fast tier translates without fused forms
    /// and charges one unit of fuel per Wasm instruction as it runs it
    /// (none for `nop`, `block`, `loop`, `else` and `end`), so
    /// [`crate::Instance::fuel_used`] is the number of Wasm instructions
    /// the last run executed (plus the bulk-memory charges). Slower than
    /// the default translation, which it does not change otherwise.
    pub count_instructions: bool,
}
