//! A pre-instantiated filter and its per-packet entry point.

use crate::abi::{verdict, window};
use crate::backend::Backend;
use crate::fast::Reads;
use crate::options::{Clock, FilterOptions, OnError};
use crate::outcome::{RunResult, Status, Verdict};
use crate::packet::{Ctx, PacketView};
use wasmnf_common::counters::Counters;

/// One instance of a filter, ready for packets. Runs are sequential: an
/// instance is used by one CPU (or thread) at a time, which `&mut self`
/// enforces. A run that returns a verdict allocates nothing; one that traps
/// or runs out of fuel allocates once, because wasmi boxes every error.
pub struct Instance {
    backend: Backend,
    window: Option<Staging>,
    fuel: u64,
    on_error: OnError,
    clock: Option<Clock>,
    counters: Counters,
}

impl Instance {
    pub(crate) fn new(
        backend: Backend,
        window: Option<Staging>,
        options: &FilterOptions,
    ) -> Instance {
        Instance {
            backend,
            window,
            fuel: options.limits.fuel,
            on_error: options.on_error,
            clock: options.clock,
            counters: Counters::default(),
        }
    }

    /// Runs `init`, with the largest fuel budget a filter may have.
    pub(crate) fn call_init(&mut self) -> Result<i32, Status> {
        self.backend.call_init()
    }

    /// Fuel the last run used (fast tier; wasmi: `None`). With
    /// [`FilterOptions::count_instructions`], the Wasm instructions it
    /// executed.
    pub fn fuel_used(&self) -> Option<u64> {
        self.backend
            .fuel_left()
            .map(|left| self.fuel.saturating_sub(left))
    }

    /// Whether this instance runs on the fast tier.
    pub fn is_fast(&self) -> bool {
        self.backend.is_fast()
    }

    /// The message the filter gave with `set_error`, if any.
    pub fn error_message(&self) -> Option<&str> {
        self.backend.error_message()
    }

    /// This instance's counters (of [`Instance::run_detailed`] and
    /// [`Instance::run`]; [`Instance::run_uncounted`] leaves them).
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
    /// `filter`, maps the result, applies the failure policy and counts it
    /// into [`Instance::counters`].
    pub fn run_detailed(&mut self, pkt: &dyn PacketView, ctx: &Ctx) -> RunResult {
        let start = self.clock.map(|now| now());
        let result = self.run_uncounted(pkt, ctx);
        let c = &mut self.counters;
        c.record(&result.to_ffi());
        if let (Some(now), Some(start)) = (self.clock, start) {
            c.run_ns += now().saturating_sub(start);
        }
        result
    }

    /// [`Instance::run_detailed`] without the counting, for an embedder that
    /// counts runs itself (the kernel module counts per CPU with
    /// [`crate::Counter::for_run`], so a packet is counted once).
    #[inline]
    pub fn run_uncounted(&mut self, pkt: &dyn PacketView, ctx: &Ctx) -> RunResult {
        self.stage(pkt, ctx);
        let (status, verdict) = match self.backend.call_filter(pkt, ctx, self.fuel) {
            Ok(verdict::ACCEPT) => (Status::Ok, Verdict::Accept),
            Ok(verdict::DROP) => (Status::Ok, Verdict::Drop),
            Ok(other) => (Status::InvalidVerdict(other), self.on_error.verdict()),
            Err(status) => (status, self.on_error.verdict()),
        };
        RunResult { verdict, status }
    }

    /// Copies into the window what the filter can read of the context, the
    /// host's parse of the network layer and the packet's first bytes.
    fn stage(&mut self, pkt: &dyn PacketView, ctx: &Ctx) {
        let Some(plan) = self.window else {
            return;
        };
        // The window was checked to lie inside the initial memory, and memory
        // never shrinks, so this finds it; as an array, so every fixed offset
        // below is in bounds at compile time (no index check, no panic path
        // on the packet path).
        let Some(w) = self
            .backend
            .memory_mut()
            .and_then(|m| m.get_mut(plan.addr..plan.addr + window::SIZE))
            .and_then(|w| <&mut [u8; window::SIZE]>::try_from(w).ok())
        else {
            return;
        };
        let len = pkt.len();
        let put32 = |w: &mut [u8; window::SIZE], at: usize, v: u32| {
            w[at..at + 4].copy_from_slice(&v.to_le_bytes())
        };
        if plan.header {
            put32(w, window::LEN, len as u32);
            put32(w, window::STAGED, len.min(window::PACKET_MAX) as u32);
            put32(w, window::HOOK, ctx.hook as u32);
            put32(w, window::FAMILY, ctx.family as u32);
            put32(w, window::IIF, ctx.iif);
            put32(w, window::OIF, ctx.oif);
            put32(w, window::MARK, ctx.mark);
        }
        if plan.tstamp {
            w[window::TSTAMP_NS..window::TSTAMP_NS + 8]
                .copy_from_slice(&ctx.tstamp_ns.to_le_bytes());
        }
        if plan.l4 {
            let info = crate::abi::PktInfo::parse(pkt, ctx.family);
            let (l4, ports) = crate::abi::PktInfo::encode(info.as_ref());
            w[window::L4_OFFSET..window::L4_OFFSET + 8].copy_from_slice(&l4.to_le_bytes());
            put32(w, window::SPORT, ports);
        }
        let n = len.min(plan.packet);
        if let Some(dst) = w.get_mut(window::PACKET..window::PACKET + n) {
            if n > 0 {
                pkt.copy_to(0, dst);
            }
        }
    }
}

/// What [`Instance::stage`] writes into a filter's window before each run:
/// every field, or only those the filter can read ([`Staging::for_reads`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Staging {
    /// The window's address in the filter's memory.
    addr: usize,
    /// Bytes `0..32`: length, bytes staged, hook, family, interfaces, mark.
    header: bool,
    /// Bytes `32..40`: the timestamp.
    tstamp: bool,
    /// Bytes `40..64`: the host's parse of the network layer.
    l4: bool,
    /// How many of the packet's first bytes to copy to byte 64 (at most
    /// [`window::PACKET_MAX`]; fewer if the packet is shorter).
    packet: usize,
}

impl Staging {
    /// Stages every field: for filters whose reads are not known.
    pub(crate) fn full(addr: usize) -> Staging {
        Staging {
            addr,
            header: true,
            tstamp: true,
            l4: true,
            packet: window::PACKET_MAX,
        }
    }

    /// Stages the fields of the window at `addr` that `reads` can see.
    /// Unseen bytes keep whatever they held: no run can read them.
    pub(crate) fn for_reads(addr: usize, reads: &Reads) -> Staging {
        let field = |from: usize, to: usize| {
            let at = addr as u64;
            at + from as u64..at + to as u64
        };
        let packet = field(window::PACKET, window::SIZE);
        Staging {
            addr,
            header: reads.overlaps(field(0, window::TSTAMP_NS)),
            tstamp: reads.overlaps(field(window::TSTAMP_NS, window::L4_OFFSET)),
            l4: reads.overlaps(field(window::L4_OFFSET, window::PACKET)),
            packet: (reads.end_within(packet.clone()) - packet.start) as usize,
        }
    }

    /// Whether a run can see the timestamp in the window.
    pub(crate) fn tstamp(&self) -> bool {
        self.tstamp
    }
}
