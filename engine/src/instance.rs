//! A pre-instantiated filter and its per-packet entry point.

use crate::abi::{limits, verdict, window};
use crate::counters::Counters;
use crate::filter::{Clock, FilterOptions, OnError};
use crate::host::{HostState, HostTrap};
use crate::packet::{Ctx, PacketView};
use core::fmt;
use wasmi::{Linker, Memory, Module, Store, TrapCode, TypedFunc};

/// What a packet's fate is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Verdict {
    /// The packet continues.
    Accept,
    /// The packet is dropped.
    Drop,
}

/// How a run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// The filter returned a verdict.
    Ok,
    /// The filter trapped.
    Trap(TrapKind),
    /// The filter used up its fuel.
    OutOfFuel,
    /// The filter returned a value that is not a verdict.
    InvalidVerdict(i32),
}

/// Why a run trapped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TrapKind {
    /// `unreachable` (Rust panics end here).
    Unreachable,
    /// A load or store outside linear memory.
    MemoryOutOfBounds,
    /// Call depth or value stack exhausted.
    StackOverflow,
    /// Integer division by zero or overflow.
    Arithmetic,
    /// A bad indirect call or table access.
    Table,
    /// A packet read past the end of the packet.
    PacketOutOfBounds,
    /// A host function called with bad arguments.
    BadHostCall,
    /// A host function given memory outside the filter's memory.
    HostMemoryOutOfBounds,
    /// Anything else wasmi reports.
    Other,
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Status::Ok => f.write_str("ok"),
            Status::Trap(kind) => write!(f, "trap: {kind}"),
            Status::OutOfFuel => f.write_str("out of fuel"),
            Status::InvalidVerdict(v) => write!(f, "invalid verdict {v}"),
        }
    }
}

impl fmt::Display for TrapKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TrapKind::Unreachable => "unreachable executed",
            TrapKind::MemoryOutOfBounds => "memory access out of bounds",
            TrapKind::StackOverflow => "call stack exhausted",
            TrapKind::Arithmetic => "integer division by zero or overflow",
            TrapKind::Table => "bad indirect call",
            TrapKind::PacketOutOfBounds => "packet read out of bounds",
            TrapKind::BadHostCall => "bad argument to a wasmnf host function",
            TrapKind::HostMemoryOutOfBounds => "host function given memory out of bounds",
            TrapKind::Other => "other trap",
        })
    }
}

fn classify(err: &wasmi::Error) -> Status {
    if let Some(trap) = err.i32_exit_status().and_then(HostTrap::from_status) {
        return Status::Trap(match trap {
            HostTrap::PacketOutOfBounds => TrapKind::PacketOutOfBounds,
            HostTrap::BadArgument => TrapKind::BadHostCall,
            HostTrap::MemoryOutOfBounds => TrapKind::HostMemoryOutOfBounds,
        });
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

/// The result of one run: the verdict applied and how the run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RunResult {
    /// The packet's fate, after the failure policy.
    pub verdict: Verdict,
    /// How the run ended.
    pub status: Status,
}

/// One instance of a filter, ready for packets. Runs are sequential: an
/// instance is used by one CPU (or thread) at a time, which `&mut self`
/// enforces. A run that returns a verdict allocates nothing; one that traps
/// or runs out of fuel allocates once, because wasmi boxes every error.
pub struct Instance {
    pub(crate) store: Store<HostState>,
    filter: TypedFunc<i32, i32>,
    memory: Option<Memory>,
    window: Option<usize>,
    fuel: u64,
    on_error: OnError,
    clock: Option<Clock>,
    counters: Counters,
}

impl Instance {
    pub(crate) fn new(
        store: Store<HostState>,
        filter: TypedFunc<i32, i32>,
        memory: Option<Memory>,
        window: Option<usize>,
        options: &FilterOptions,
    ) -> Instance {
        Instance {
            store,
            filter,
            memory,
            window,
            fuel: options.limits.fuel,
            on_error: options.on_error,
            clock: options.clock,
            counters: Counters::default(),
        }
    }

    /// Runs `init`, with the largest fuel budget a filter may have.
    pub(crate) fn call_init(&mut self, init: &TypedFunc<(), i32>) -> Result<i32, Status> {
        self.store
            .set_fuel(limits::FUEL_MAX)
            .map_err(|_| Status::OutOfFuel)?;
        init.call(&mut self.store, ()).map_err(|e| classify(&e))
    }

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

    /// The message the filter gave with `set_error`, if any.
    pub fn error_message(&self) -> Option<&str> {
        self.store.data().error_message()
    }

    /// This instance's counters.
    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    /// Runs the filter on one packet and returns its verdict, after the
    /// failure policy. See [`Instance::run_detailed`].
    pub fn run(&mut self, pkt: &dyn PacketView, ctx: &Ctx) -> Verdict {
        self.run_detailed(pkt, ctx).verdict
    }

    /// Runs the filter on one packet: stages the context and the packet's
    /// first bytes in the window (if the filter has one), refuels, calls
    /// `filter`, maps the result, applies the failure policy and counts.
    pub fn run_detailed(&mut self, pkt: &dyn PacketView, ctx: &Ctx) -> RunResult {
        let start = self.clock.map(|now| now());
        let len = pkt.len();
        self.stage(pkt, ctx);
        let state = self.store.data_mut();
        state.ctx = *ctx;
        state.packet.set(pkt);
        // Cannot fail: fuel metering is always on.
        let _ = self.store.set_fuel(self.fuel);
        let len_arg = i32::try_from(len).unwrap_or(i32::MAX);
        let result = self.filter.call(&mut self.store, len_arg);
        self.store.data_mut().packet.clear();

        let (status, verdict) = match result {
            Ok(verdict::ACCEPT) => (Status::Ok, Verdict::Accept),
            Ok(verdict::DROP) => (Status::Ok, Verdict::Drop),
            Ok(other) => (Status::InvalidVerdict(other), self.on_error.verdict()),
            Err(e) => (classify(&e), self.on_error.verdict()),
        };
        let c = &mut self.counters;
        c.packets += 1;
        match verdict {
            Verdict::Accept => c.accepted += 1,
            Verdict::Drop => c.dropped += 1,
        }
        match status {
            Status::Ok => {}
            Status::Trap(_) => c.traps += 1,
            Status::OutOfFuel => c.out_of_fuel += 1,
            Status::InvalidVerdict(_) => c.invalid_verdicts += 1,
        }
        if let (Some(now), Some(start)) = (self.clock, start) {
            c.run_ns += now().saturating_sub(start);
        }
        RunResult { verdict, status }
    }

    /// Copies the context and the packet's first bytes into the window.
    fn stage(&mut self, pkt: &dyn PacketView, ctx: &Ctx) {
        let (Some(memory), Some(addr)) = (self.memory, self.window) else {
            return;
        };
        // The window was checked to lie inside the initial memory, and memory
        // never shrinks, so this finds it.
        let Some(w) = memory
            .data_mut(&mut self.store)
            .get_mut(addr..addr + window::SIZE)
        else {
            return;
        };
        let len = pkt.len();
        let staged = len.min(window::PACKET_MAX);
        let put32 =
            |w: &mut [u8], at: usize, v: u32| w[at..at + 4].copy_from_slice(&v.to_le_bytes());
        put32(w, window::LEN, len as u32);
        put32(w, window::STAGED, staged as u32);
        put32(w, window::HOOK, ctx.hook as u32);
        put32(w, window::FAMILY, ctx.family as u32);
        put32(w, window::IIF, ctx.iif);
        put32(w, window::OIF, ctx.oif);
        put32(w, window::MARK, ctx.mark);
        w[window::TSTAMP_NS..window::TSTAMP_NS + 8].copy_from_slice(&ctx.tstamp_ns.to_le_bytes());
        pkt.copy_to(0, &mut w[window::PACKET..window::PACKET + staged]);
    }
}
