//! The two ways an instance runs a filter: the fast tier ([`crate::fast`])
//! and wasmi. [`Backend`] hides which; [`crate::Instance`] does the rest
//! (staging, verdicts, failure policy, counters) the same for both.

use crate::abi::limits;
use crate::config::FilterConfig;
use crate::fast::{self, Env, Machine, Trap};
use crate::host::{HostState, HostTrap};
use crate::imports::ErrorMessage;
use crate::instance::{Status, TrapKind};
use crate::packet::{Ctx, PacketView};
use alloc::boxed::Box;
use alloc::sync::Arc;
use wasmi::{Linker, Module, Store, TrapCode, TypedFunc};

/// Which engine runs a filter.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Tier {
    /// The fast tier if it translates the module, wasmi otherwise.
    #[default]
    Auto,
    /// Always wasmi (the reference; slower per packet).
    Wasmi,
}

/// A filter instance on one of the two engines.
// The fast variant stays inline (it is the per-packet path); wasmi's large
// store is boxed.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Backend {
    Fast(FastBackend),
    /// Boxed: a wasmi store is large.
    Wasmi(Box<WasmiBackend>),
}

/// An instance on the fast tier.
pub(crate) struct FastBackend {
    module: Arc<fast::Module>,
    machine: Machine,
    config: FilterConfig,
    error: ErrorMessage,
}

/// An instance on wasmi.
pub(crate) struct WasmiBackend {
    pub(crate) store: Store<HostState>,
    pub(crate) filter: TypedFunc<i32, i32>,
    pub(crate) init: Option<TypedFunc<(), i32>>,
}

impl FastBackend {
    pub(crate) fn new(module: Arc<fast::Module>, machine: Machine, config: FilterConfig) -> Self {
        FastBackend {
            module,
            machine,
            config,
            error: ErrorMessage::default(),
        }
    }
}

impl Backend {
    /// The tier this instance runs on.
    pub(crate) fn is_fast(&self) -> bool {
        matches!(self, Backend::Fast(_))
    }

    /// The filter's linear memory, if it has one.
    #[inline]
    pub(crate) fn memory_mut(&mut self) -> Option<&mut [u8]> {
        match self {
            Backend::Fast(b) => b.machine.memory_mut(),
            // The exported memory, which the host functions use too.
            Backend::Wasmi(b) => Some(b.store.data().memory?.data_mut(&mut b.store)),
        }
    }

    /// Calls `filter(len)` on `pkt` with `fuel`.
    #[inline]
    pub(crate) fn call_filter(
        &mut self,
        pkt: &dyn PacketView,
        ctx: &Ctx,
        fuel: u64,
    ) -> Result<i32, Status> {
        let len = i32::try_from(pkt.len()).unwrap_or(i32::MAX);
        match self {
            Backend::Fast(b) => {
                b.machine.fuel = fuel;
                let mut env = Env {
                    packet: Some(pkt),
                    ctx,
                    config: &b.config,
                    error: &mut b.error,
                };
                let filter = b.module.filter;
                b.machine
                    .call(&b.module, filter, &[u64::from(len as u32)], &mut env)
                    .map(|v| v as u32 as i32)
                    .map_err(fast_status)
            }
            Backend::Wasmi(b) => {
                let state = b.store.data_mut();
                state.ctx = *ctx;
                state.packet.set(pkt);
                // Cannot fail: fuel metering is always on.
                let _ = b.store.set_fuel(fuel);
                let result = b.filter.call(&mut b.store, len);
                b.store.data_mut().packet.clear();
                result.map_err(|e| wasmi_status(&e))
            }
        }
    }

    /// Runs `init`, with the largest fuel budget a filter may have.
    pub(crate) fn call_init(&mut self) -> Result<i32, Status> {
        match self {
            Backend::Fast(b) => {
                let Some(init) = b.module.init else {
                    return Ok(0);
                };
                b.machine.fuel = limits::FUEL_MAX;
                let ctx = Ctx::default();
                let mut env = Env {
                    packet: None,
                    ctx: &ctx,
                    config: &b.config,
                    error: &mut b.error,
                };
                b.machine
                    .call(&b.module, init, &[], &mut env)
                    .map(|v| v as u32 as i32)
                    .map_err(fast_status)
            }
            Backend::Wasmi(b) => {
                let Some(init) = b.init else {
                    return Ok(0);
                };
                b.store
                    .set_fuel(limits::FUEL_MAX)
                    .map_err(|_| Status::OutOfFuel)?;
                init.call(&mut b.store, ()).map_err(|e| wasmi_status(&e))
            }
        }
    }

    /// The message the filter gave with `set_error`, if any.
    pub(crate) fn error_message(&self) -> Option<&str> {
        match self {
            Backend::Fast(b) => b.error.get(),
            Backend::Wasmi(b) => b.store.data().error_message(),
        }
    }
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

fn host_trap(trap: HostTrap) -> TrapKind {
    match trap {
        HostTrap::PacketOutOfBounds => TrapKind::PacketOutOfBounds,
        HostTrap::BadArgument => TrapKind::BadHostCall,
        HostTrap::MemoryOutOfBounds => TrapKind::HostMemoryOutOfBounds,
    }
}

fn fast_status(trap: Trap) -> Status {
    Status::Trap(match trap {
        Trap::OutOfFuel => return Status::OutOfFuel,
        Trap::Unreachable => TrapKind::Unreachable,
        Trap::MemoryOutOfBounds => TrapKind::MemoryOutOfBounds,
        Trap::StackOverflow => TrapKind::StackOverflow,
        Trap::DivisionByZero | Trap::IntegerOverflow => TrapKind::Arithmetic,
        Trap::TableOutOfBounds | Trap::IndirectCallToNull | Trap::BadSignature => TrapKind::Table,
        Trap::Host(t) => host_trap(t),
        Trap::Internal => TrapKind::Other,
    })
}

fn wasmi_status(err: &wasmi::Error) -> Status {
    if let Some(trap) = err.i32_exit_status().and_then(HostTrap::from_status) {
        return Status::Trap(host_trap(trap));
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
