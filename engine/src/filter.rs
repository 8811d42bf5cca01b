//! A loaded filter: a module checked against the ABI, its limits, its
//! configuration and its failure policy. It hands out [`Instance`]s.

use crate::backend::{Backend, FastBackend};
use crate::error::LoadError;
use crate::fast::{self, InstantiateError};
use crate::instance::{Instance, Staging};
use crate::maps::Maps;
use crate::options::{FilterOptions, Tier};
use crate::validate::{self, ModuleInfo};
#[cfg(feature = "wasmi")]
use alloc::boxed::Box;
use alloc::string::{String, ToString};
use alloc::sync::Arc;

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
    /// The filter's maps, shared by its instances.
    maps: Arc<Maps>,
}

impl Filter {
    /// Checks `wasm` against the ABI and the limits in `options`, validates
    /// it as Wasm ([`validate::validate`]) and translates it for the fast
    /// tier. A valid module the fast tier does not take is refused
    /// ([`LoadError::Unsupported`]): nothing falls back to wasmi unless
    /// [`Tier::Wasmi`] asks for it.
    pub fn new(wasm: &[u8], mut options: FilterOptions) -> Result<Filter, LoadError> {
        options.limits.check()?;
        // Held only while the maps are made: what is not kept is freed with
        // the old filter.
        let keep = options.keep_maps.take();
        let info = validate::check(wasm, &options.limits)?;
        validate::validate(wasm)?;
        let fast = match options.tier {
            Tier::Fast => Some(Arc::new(
                fast::translate(wasm, options.count_instructions)
                    .map_err(|u| LoadError::Unsupported(u.0))?,
            )),
            #[cfg(feature = "wasmi")]
            Tier::Wasmi => {
                crate::wasmi_tier::compile_check(wasm, &options.limits)?;
                None
            }
            #[cfg(not(feature = "wasmi"))]
            Tier::Wasmi => return Err(LoadError::NoWasmi),
        };
        // Allocated once, here: no map operation allocates.
        let maps = Maps::new_keeping(
            &info.maps,
            options.cpus,
            options.limits.max_map_memory,
            options.seed,
            keep.as_deref(),
        )
        .map_err(LoadError::Map)?;
        Ok(Filter {
            maps: Arc::new(maps),
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

    /// A handle on the filter's maps that outlives the filter (a successor
    /// keeps them: [`FilterOptions::keep_maps`]).
    pub fn shared_maps(&self) -> Arc<Maps> {
        self.maps.clone()
    }

    /// The filter's maps, shared by all its instances: a host reads and
    /// updates them here while instances run.
    pub fn maps(&self) -> &Maps {
        &self.maps
    }

    /// Creates an instance ready for packets, with `init` already run: on
    /// the fast tier, its own memory, globals, table and stacks; on wasmi,
    /// its own engine, store and value stack.
    ///
    /// This allocates (and for wasmi compiles); call it at load time, never
    /// per packet.
    pub fn instantiate(&self) -> Result<Instance, LoadError> {
        self.instantiate_on(0)
    }

    /// [`Filter::instantiate`] for CPU `cpu` (below
    /// [`FilterOptions::cpus`]): the instance's per-CPU map values are that
    /// CPU's. Runs of instances of different CPUs may overlap; two
    /// instances of one CPU must not run at the same time.
    pub fn instantiate_on(&self, cpu: usize) -> Result<Instance, LoadError> {
        let cpu = cpu.min(self.options.cpus.max(1) - 1);
        let backend = match &self.fast {
            Some(module) => self.instantiate_fast(module, cpu)?,
            #[cfg(feature = "wasmi")]
            None => Backend::Wasmi(Box::new(crate::wasmi_tier::instantiate(
                &self.wasm,
                &self.options,
                self.info.has_init,
                self.maps.clone(),
                cpu,
            )?)),
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

    fn instantiate_fast(
        &self,
        module: &Arc<fast::Module>,
        cpu: usize,
    ) -> Result<Backend, LoadError> {
        let limits = &self.options.limits;
        let machine = fast::Machine::new(module, limits.max_call_depth, limits.max_memory_pages)
            .map_err(|e| match e {
                InstantiateError::MemoryTooLarge => {
                    LoadError::Memory(String::from("initial memory over the limit"))
                }
                InstantiateError::SegmentOutOfBounds => LoadError::Instantiate(String::from(
                    "a data or element segment does not fit its memory or table",
                )),
                InstantiateError::NoMemory => LoadError::NoMemory,
            })?;
        Ok(Backend::Fast(FastBackend::new(
            module.clone(),
            machine,
            self.options.config.clone(),
            self.maps.clone(),
            cpu,
        )))
    }
}
