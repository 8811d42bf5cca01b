//! A loaded filter: a module checked against the ABI, its limits, its
//! configuration and its failure policy. It hands out [`Instance`]s.

use crate::abi::{self, limits};
use crate::backend::{Backend, FastBackend, Tier, WasmiBackend};
use crate::config::FilterConfig;
use crate::error::LoadError;
use crate::fast::{self, InstantiateError, Unsupported};
use crate::host::{self, HostState};
use crate::instance::{Instance, Staging, Verdict};
use crate::validate::{self, ModuleInfo};
use alloc::boxed::Box;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::sync::Arc;
use wasmi::{CompilationMode, Engine, Linker, Module, Store, StoreLimitsBuilder};

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
    /// Which engine runs the filter ([`Tier::Auto`]: the fast tier when it
    /// translates the module).
    pub tier: Tier,
}

/// A module that passed the ABI check and compiled, ready to instantiate.
pub struct Filter {
    wasm: Box<[u8]>,
    info: ModuleInfo,
    options: FilterOptions,
    /// The module translated for the fast tier, or why it was not (`None`:
    /// wasmi was asked for).
    fast: Result<Arc<fast::Module>, Option<Unsupported>>,
}

impl Filter {
    /// Checks `wasm` against the ABI and the limits in `options`, and
    /// compiles it once to surface wasmi's own validation errors.
    pub fn new(wasm: &[u8], options: FilterOptions) -> Result<Filter, LoadError> {
        options.limits.check()?;
        let info = validate::check(wasm, &options.limits)?;
        let engine = Engine::new(&wasmi_config(&options.limits));
        Module::new(&engine, wasm).map_err(|e| LoadError::Invalid(e.to_string()))?;
        let fast = match options.tier {
            Tier::Auto => fast::translate(wasm).map(Arc::new).map_err(Some),
            Tier::Wasmi => Err(None),
        };
        Ok(Filter {
            wasm: wasm.into(),
            info,
            options,
            fast,
        })
    }

    /// The engine instances of this filter run on ([`Tier::Auto`]: the
    /// fast tier), and if it is wasmi without being asked for, the first
    /// construct of the module the fast tier lacks.
    pub fn tier(&self) -> (Tier, Option<&'static str>) {
        match &self.fast {
            Ok(_) => (Tier::Auto, None),
            Err(why) => (Tier::Wasmi, why.map(|u| u.0)),
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
    /// its own engine (so no state is shared between instances on the packet
    /// path), compiled module, store, memory and value stack.
    ///
    /// This allocates (and for wasmi compiles); call it at load time, never
    /// per packet.
    pub fn instantiate(&self) -> Result<Instance, LoadError> {
        let backend = match &self.fast {
            Ok(module) => self.instantiate_fast(module)?,
            Err(_) => self.instantiate_wasmi()?,
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
            Ok(module) => Staging::for_reads(addr, &module.reads.memory),
            Err(_) => Staging::full(addr),
        })
    }

    /// Whether a run can see the packet's timestamp (through the `ctx`
    /// import or the window). A host may skip reading its clock for
    /// packets of a filter that cannot; the timestamp it passes is then
    /// never seen.
    pub fn reads_timestamp(&self) -> bool {
        let ctx = match &self.fast {
            Ok(module) => module.reads.ctx,
            Err(_) => self.info.imports.iter().any(|i| i == "ctx"),
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

    fn instantiate_wasmi(&self) -> Result<Backend, LoadError> {
        let limits = &self.options.limits;
        let engine = Engine::new(&wasmi_config(limits));
        let module =
            Module::new(&engine, &self.wasm[..]).map_err(|e| LoadError::Invalid(e.to_string()))?;
        let store_limits = StoreLimitsBuilder::new()
            .memory_size(limits.max_memory_pages as usize * 65536)
            .table_elements(limits::TABLE_ELEMENTS_MAX as usize)
            .instances(1)
            .memories(1)
            .tables(1)
            .build();
        let state = HostState::new(self.options.config.clone(), store_limits);
        let mut store = Store::new(&engine, state);
        store.limiter(|s| &mut s.limits);
        let mut linker = Linker::new(&engine);
        host::define(&mut linker).map_err(instantiate_err)?;
        let instance = linker
            .instantiate_and_start(&mut store, &module)
            .map_err(instantiate_err)?;
        let memory = instance.get_memory(&store, abi::EXPORT_MEMORY);
        store.data_mut().memory = memory;
        let filter = instance
            .get_typed_func::<i32, i32>(&store, abi::EXPORT_FILTER)
            .map_err(instantiate_err)?;
        let init = match self.info.has_init {
            true => Some(
                instance
                    .get_typed_func::<(), i32>(&store, abi::EXPORT_INIT)
                    .map_err(instantiate_err)?,
            ),
            false => None,
        };
        let mut backend = WasmiBackend {
            store,
            filter,
            init,
        };
        backend
            .warm_up(limits.max_call_depth)
            .map_err(instantiate_err)?;
        Ok(Backend::Wasmi(Box::new(backend)))
    }
}

fn instantiate_err(e: wasmi::Error) -> LoadError {
    LoadError::Instantiate(e.to_string())
}

/// The wasmi configuration that enforces the ABI's limits.
fn wasmi_config(limits: &Limits) -> wasmi::Config {
    let mut config = wasmi::Config::default();
    config
        .consume_fuel(true)
        .floats(false)
        .allow_start_fn(false)
        .wasm_multi_memory(false)
        .set_max_recursion_depth(limits.max_call_depth as usize)
        .set_max_stack_height(limits::VALUE_STACK_BYTES)
        // The whole value stack up front: no allocation when a packet's run
        // goes deeper than an earlier one.
        .set_min_stack_height(limits::VALUE_STACK_BYTES)
        .set_max_cached_stacks(1)
        .compilation_mode(CompilationMode::Eager);
    config
}
