//! A loaded filter: a module checked against the ABI, its limits, its
//! configuration and its failure policy. It hands out [`Instance`]s.

use crate::abi::limits;
use crate::backend::{Backend, FastBackend, Tier};
use crate::config::FilterConfig;
use crate::error::LoadError;
use crate::fast::{self, InstantiateError};
use crate::instance::{Instance, Staging, Verdict};
use crate::validate::{self, ModuleInfo};
#[cfg(feature = "wasmi")]
use alloc::boxed::Box;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::sync::Arc;

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
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_module_size: limits::MODULE_SIZE_MAX,
            max_memory_pages: limits::MEMORY_PAGES_DEFAULT,
            fuel: limits::FUEL_DEFAULT,
            max_call_depth: limits::CALL_DEPTH_DEFAULT,
        }
    }
}

impl Limits {
    fn check(&self) -> Result<(), LoadError> {
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
}

/// A module that passed the ABI check and compiled, ready to instantiate.
pub struct Filter {
    /// The module, kept for the wasmi tier's instances.
    #[cfg(feature = "wasmi")]
    wasm: Box<[u8]>,
    info: ModuleInfo,
    options: FilterOptions,
    /// The module translated for the fast tier; `None` when wasmi was asked
    /// for.
    fast: Option<Arc<fast::Module>>,
}

impl Filter {
    /// Checks `wasm` against the ABI and the limits in `options`, validates
    /// it as Wasm ([`validate::validate`]) and translates it for the fast
    /// tier. A valid module the fast tier does not take is refused
    /// ([`LoadError::Unsupported`]): nothing falls back to wasmi unless
    /// [`Tier::Wasmi`] asks for it.
    pub fn new(wasm: &[u8], options: FilterOptions) -> Result<Filter, LoadError> {
        options.limits.check()?;
        let info = validate::check(wasm, &options.limits)?;
        validate::validate(wasm)?;
        let fast = match options.tier {
            Tier::Fast => Some(Arc::new(
                fast::translate(wasm).map_err(|u| LoadError::Unsupported(u.0))?,
            )),
            #[cfg(feature = "wasmi")]
            Tier::Wasmi => {
                crate::wasmi_tier::compile_check(wasm, &options.limits)?;
                None
            }
            #[cfg(not(feature = "wasmi"))]
            Tier::Wasmi => return Err(LoadError::NoWasmi),
        };
        Ok(Filter {
            #[cfg(feature = "wasmi")]
            wasm: wasm.into(),
            info,
            options,
            fast,
        })
    }

    /// The engine instances of this filter run on.
    pub fn tier(&self) -> Tier {
        match self.fast {
            Some(_) => Tier::Fast,
            None => Tier::Wasmi,
        }
    }

    /// What the ABI check learned about the module.
    pub fn info(&self) -> &ModuleInfo {
        &self.info
    }

    /// The load options.
    pub fn options(&self) -> &FilterOptions {
        &self.options
    }

    /// Creates an instance ready for packets, with `init` already run: on
    /// the fast tier, its own memory, globals, table and stacks; on wasmi,
    /// its own engine, store and value stack.
    ///
    /// This allocates (and for wasmi compiles); call it at load time, never
    /// per packet.
    pub fn instantiate(&self) -> Result<Instance, LoadError> {
        let backend = match &self.fast {
            Some(module) => self.instantiate_fast(module)?,
            #[cfg(feature = "wasmi")]
            None => crate::wasmi_tier::instantiate(&self.wasm, &self.options, self.info.has_init)?,
            // Filter::new refuses Tier::Wasmi in a build without it.
            #[cfg(not(feature = "wasmi"))]
            None => return Err(LoadError::NoWasmi),
        };
        let mut inst = Instance::new(backend, self.staging(), &self.options);
        if self.info.has_init {
            match inst.call_init() {
                Ok(0) => {}
                Ok(code) => {
                    return Err(LoadError::Init {
                        code,
                        message: inst.error_message().map(String::from),
                    })
                }
                Err(failure) => return Err(LoadError::InitTrap(failure.to_string())),
            }
        }
        Ok(inst)
    }

    /// What instances stage in the window before each run: on the fast
    /// tier only the fields the filter can read, on wasmi everything.
    fn staging(&self) -> Option<Staging> {
        let addr = match (self.info.window, self.info.exports_memory) {
            (Some(addr), true) => addr as usize,
            _ => return None,
        };
        Some(match &self.fast {
            Some(module) => Staging::for_reads(addr, &module.reads.memory),
            None => Staging::full(addr),
        })
    }

    /// Whether a run can see the packet's timestamp (through the `ctx`
    /// import or the window). A host may skip reading its clock for
    /// packets of a filter that cannot; the timestamp it passes is then
    /// never seen.
    pub fn reads_timestamp(&self) -> bool {
        let ctx = match &self.fast {
            Some(module) => module.reads.ctx,
            None => self.info.imports.iter().any(|i| i == "ctx"),
        };
        ctx || self.staging().is_some_and(|s| s.tstamp())
    }

    fn instantiate_fast(&self, module: &Arc<fast::Module>) -> Result<Backend, LoadError> {
        let limits = &self.options.limits;
        let machine = fast::Machine::new(
            module,
            limits::VALUE_STACK_BYTES / 8,
            limits.max_call_depth,
            limits.max_memory_pages,
        )
        .map_err(|e| {
            LoadError::Instantiate(String::from(match e {
                InstantiateError::MemoryTooLarge => "initial memory over the limit",
                InstantiateError::SegmentOutOfBounds => {
                    "a data or element segment does not fit its memory or table"
                }
                InstantiateError::NoMemory => "out of memory",
            }))
        })?;
        Ok(Backend::Fast(FastBackend::new(
            module.clone(),
            machine,
            self.options.config.clone(),
        )))
    }
}
