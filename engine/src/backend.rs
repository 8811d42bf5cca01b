//! The two ways an instance runs a filter: the fast tier ([`crate::fast`])
//! and wasmi. [`Backend`] hides which; [`crate::Instance`] does the rest
//! (staging, verdicts, failure policy, counters) the same for both.

use crate::abi::limits;
use crate::config::FilterConfig;
use crate::fast::{self, Env, Machine, Trap};
use crate::imports::ErrorMessage;
use crate::maps::Maps;
use crate::outcome::{Status, TrapKind};
use crate::packet::{Ctx, PacketView};
#[cfg(feature = "wasmi")]
use crate::wasmi_tier::{wasmi_status, WasmiBackend};
#[cfg(feature = "wasmi")]
use alloc::boxed::Box;
use alloc::sync::Arc;

/// A filter instance on one of the two engines.
// The fast variant stays inline (it is the per-packet path); wasmi's large
// store is boxed.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Backend {
    Fast(FastBackend),
    /// Boxed: a wasmi store is large.
    #[cfg(feature = "wasmi")]
    Wasmi(Box<WasmiBackend>),
}

/// An instance on the fast tier.
pub(crate) struct FastBackend {
    module: Arc<fast::Module>,
    machine: Machine,
    config: FilterConfig,
    error: ErrorMessage,
    maps: Arc<Maps>,
    cpu: usize,
}

impl FastBackend {
    pub(crate) fn new(
        module: Arc<fast::Module>,
        machine: Machine,
        config: FilterConfig,
        maps: Arc<Maps>,
        cpu: usize,
    ) -> Self {
        FastBackend {
            module,
            machine,
            config,
            error: ErrorMessage::default(),
            maps,
            cpu,
        }
    }
}

impl Backend {
    /// The tier this instance runs on.
    pub(crate) fn is_fast(&self) -> bool {
        match self {
            Backend::Fast(_) => true,
            #[cfg(feature = "wasmi")]
            Backend::Wasmi(_) => false,
        }
    }

    /// The filter's linear memory, if it has one.
    #[inline]
    pub(crate) fn memory_mut(&mut self) -> Option<&mut [u8]> {
        match self {
            Backend::Fast(b) => b.machine.memory_mut(),
            // The exported memory, which the host functions use too.
            #[cfg(feature = "wasmi")]
            Backend::Wasmi(b) => Some(b.store.data().memory?.data_mut(&mut b.store)),
        }
    }

    /// Fuel left after the last run (fast tier).
    pub(crate) fn fuel_left(&self) -> Option<u64> {
        match self {
            Backend::Fast(b) => Some(b.machine.fuel),
            #[cfg(feature = "wasmi")]
            Backend::Wasmi(_) => None,
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
                    maps: &b.maps,
                    cpu: b.cpu,
                };
                let filter = b.module.filter;
                b.machine
                    .call(&b.module, filter, &[u64::from(len as u32)], &mut env)
                    .map(|v| v as u32 as i32)
                    .map_err(fast_status)
            }
            #[cfg(feature = "wasmi")]
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
                    maps: &b.maps,
                    cpu: b.cpu,
                };
                // The only allocation a run makes is `memory.grow`'s, which
                // may fail (it returns -1): a load-time one too.
                crate::fallible::may_fail(|| b.machine.call(&b.module, init, &[], &mut env))
                    .map(|v| v as u32 as i32)
                    .map_err(fast_status)
            }
            #[cfg(feature = "wasmi")]
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
            #[cfg(feature = "wasmi")]
            Backend::Wasmi(b) => b.store.data().error_message(),
        }
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
        Trap::Host(t) => t.kind(),
        Trap::Internal => TrapKind::Other,
    })
}
