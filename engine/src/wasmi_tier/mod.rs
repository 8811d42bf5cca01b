//! The wasmi tier: wasmi 2.0 running a filter, in userspace only and only
//! when asked for ([`crate::Tier::Wasmi`]). Built with the `wasmi` feature;
//! the kernel's engine object is built without it, so no wasmi code runs in
//! the kernel.
//!
//! wasmi 2.0.0 is not a reliable reference on its own: the differential
//! fuzzer (`fuzz/`) found it miscomputing some `select` and block-parameter
//! forms (`docs/abi.md`, "Engines"); where wasmi and the fast tier disagree,
//! the Wasm specification decides.
//!
//! Everything wasmi-specific lives here: this module (compilation,
//! instances, status mapping) and [`host`], the ABI's imports as wasmi host
//! functions.

#[allow(unsafe_code)]
mod host;

use crate::abi::{self, limits};
use crate::error::LoadError;
use crate::imports::HostTrap;
use crate::options::{FilterOptions, Limits};
use crate::outcome::{Status, TrapKind};
use alloc::string::ToString;
use host::HostState;
use wasmi::{
    CompilationMode, Engine, Linker, Module, Store, StoreLimitsBuilder, TrapCode, TypedFunc,
};

/// An instance on wasmi.
pub(crate) struct WasmiBackend {
    pub(crate) store: Store<HostState>,
    pub(crate) filter: TypedFunc<i32, i32>,
    pub(crate) init: Option<TypedFunc<(), i32>>,
}

impl HostTrap {
    fn from_status(status: i32) -> Option<HostTrap> {
        [
            HostTrap::PacketOutOfBounds,
            HostTrap::BadArgument,
            HostTrap::MemoryOutOfBounds,
            HostTrap::NoSuchMap,
        ]
        .into_iter()
        .find(|t| *t as i32 == status)
    }
}

/// Compiles `wasm` once, to surface wasmi's own refusals at load.
pub(crate) fn compile_check(wasm: &[u8], limits: &Limits) -> Result<(), LoadError> {
    let engine = Engine::new(&wasmi_config(limits));
    Module::new(&engine, wasm).map_err(|e| LoadError::Invalid(e.to_string()))?;
    Ok(())
}

/// An instance of `wasm` on its own engine (so no state is shared between
/// instances on the packet path), compiled module, store, memory and value
/// stack.
pub(crate) fn instantiate(
    wasm: &[u8],
    options: &FilterOptions,
    has_init: bool,
    maps: alloc::sync::Arc<crate::maps::Maps>,
    cpu: usize,
) -> Result<WasmiBackend, LoadError> {
    let limits = &options.limits;
    let engine = Engine::new(&wasmi_config(limits));
    let module = Module::new(&engine, wasm).map_err(|e| LoadError::Invalid(e.to_string()))?;
    let store_limits = StoreLimitsBuilder::new()
        .memory_size(limits.max_memory_pages as usize * 65536)
        .table_elements(limits::TABLE_ELEMENTS_MAX as usize)
        .instances(1)
        .memories(1)
        .tables(1)
        .build();
    let state = HostState::new(options.config.clone(), store_limits, maps, cpu);
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
    let init = match has_init {
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
    Ok(backend)
}

impl WasmiBackend {
    /// Allocates what wasmi allocates on an engine's first Wasm call (the
    /// value stack, the call stack, and the pool that keeps them between
    /// calls), so that packets never do. It runs a Wasm function that
    /// recurses to `depth` calls on this instance's engine, in a store of its
    /// own (the filter's state is untouched), so the call stack is grown to
    /// the deepest a filter may go.
    pub(crate) fn warm_up(&mut self, depth: u32) -> Result<(), wasmi::Error> {
        // (module (func $r (export "w") (param i32)
        //   (if (local.get 0) (then (call $r (i32.sub (local.get 0) (i32.const 1)))))))
        const RECURSE: &[u8] = &[
            0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, // header
            1, 5, 1, 0x60, 1, 0x7f, 0, // type section: (i32) -> ()
            3, 2, 1, 0, // function section
            7, 5, 1, 1, b'w', 0, 0, // export "w"
            10, 16, 1, 14, 0, // code section, one body, no locals
            0x20, 0, 0x04, 0x40, // local.get 0, if
            0x20, 0, 0x41, 1, 0x6b, 0x10, 0, // local.get 0, i32.const 1, i32.sub, call 0
            0x0b, 0x0b, // end if, end func
        ];
        let engine = self.store.engine().clone();
        let module = Module::new(&engine, RECURSE)?;
        let mut store = Store::new(&engine, ());
        store.set_fuel(u64::from(depth) * 16 + 100)?;
        let instance = Linker::new(&engine).instantiate_and_start(&mut store, &module)?;
        // `depth` calls in all: the outer one and `depth - 1` nested.
        let levels = depth.saturating_sub(1) as i32;
        instance
            .get_typed_func::<i32, ()>(&store, "w")?
            .call(&mut store, levels)
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

pub(crate) fn wasmi_status(err: &wasmi::Error) -> Status {
    if let Some(trap) = err.i32_exit_status().and_then(HostTrap::from_status) {
        return Status::Trap(trap.kind());
    }
    Status::Trap(match err.as_trap_code() {
        Some(TrapCode::OutOfFuel) => return Status::OutOfFuel,
        Some(TrapCode::UnreachableCodeReached) => TrapKind::Unreachable,
        Some(TrapCode::MemoryOutOfBounds) => TrapKind::MemoryOutOfBounds,
        Some(TrapCode::StackOverflow) => TrapKind::StackOverflow,
        Some(TrapCode::IntegerDivisionByZero | TrapCode::IntegerOverflow) => TrapKind::Arithmetic,
        Some(
            TrapCode::TableOutOfBounds | TrapCode::IndirectCallToNull | TrapCode::BadSignature,
        ) => TrapKind::Table,
        _ => TrapKind::Other,
    })
}
