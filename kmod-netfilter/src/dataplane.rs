// SPDX-License-Identifier: GPL-2.0

//! The data plane: what runs for every packet.
//!
//! A loaded filter is a [`Slot`], registered as a netfilter hook (its
//! `priv`). The slot publishes (RCU, [`RcuBox`]) a [`Runtime`]: one
//! pre-instantiated engine instance and one set of counters per possible
//! CPU, each in its own cache line. Per packet the hook
//!
//! 1. reads the slot's current runtime with the evidence of the RCU
//!    read-side section netfilter runs hooks in, so the runtime cannot be
//!    freed while in use,
//! 2. disables bottom halves and takes the current CPU's instance: no
//!    softirq can then enter that instance on this CPU while process context
//!    (output-path hooks) is using it, and the task cannot migrate (the
//!    engine would refuse a second run rather than let it in, but with BH
//!    off it never sees one),
//! 3. runs the filter over a zero-copy view of the skb with the context from
//!    the hook state; the engine's verdict is netfilter's number,
//! 4. counts into this CPU's counters (plain stores by their only writer),
//!    the one place packets are counted ([`Counter::for_run`]).
//!
//! It allocates nothing, never sleeps, takes no lock, and writes no cache
//! line another CPU writes. Fuel bounds every run.
//!
//! Replacing a filter ([`Slot::replace`]) publishes a new runtime, waits for
//! an RCU grace period, and frees the old one: a packet sees either the old
//! filter or the new one, whole.

use crate::contract::counters::{Counter, Counters};
use crate::engine_ffi::{Ctx, EngineError, EngineFilter, EngineInstance, PacketReader};
use crate::net::cpu::{self, BhGuard};
use crate::net::netfilter::{HookState, PacketHook, Verdict};
use crate::net::skb::SkBuff;
use crate::net::sync::{RcuBox, ReadGuard, ReadSide};
use core::sync::atomic::{AtomicU64, Ordering};
use kernel::prelude::*;

/// One CPU's counters, indexed by [`Counter::index`]. Only that CPU writes
/// them (with BH disabled), so an increment is a relaxed load and store,
/// not a locked read-modify-write; readers on other CPUs load them relaxed.
#[derive(Default)]
struct CpuCounters([AtomicU64; Counter::COUNT]);

/// One packet in this many (per CPU) is timed into `run_ns`, which gets
/// its time times this many: an unbiased estimate of the total. The clock
/// is read once per packet for filters that can see the timestamp (the
/// context's `tstamp_ns`, which also starts the timing), otherwise only for
/// the timed packets.
pub(crate) const TIMING_SAMPLE: u64 = 16;

impl CpuCounters {
    /// Adds `n` to counter `c`; only the calling CPU writes it.
    #[inline]
    fn bump(&self, c: Counter, n: u64) {
        let a = &self.0[c.index()];
        a.store(a.load(Ordering::Relaxed).wrapping_add(n), Ordering::Relaxed);
    }

    #[inline]
    fn get(&self, c: Counter) -> u64 {
        self.0[c.index()].load(Ordering::Relaxed)
    }

    /// A snapshot, each counter read atomically.
    fn snapshot(&self) -> Counters {
        let mut s = Counters::default();
        for c in Counter::ALL {
            *s.get_mut(c) = self.get(c);
        }
        s
    }
}

/// One CPU's share of a runtime: exactly one 64-byte cache line (the
/// instance handle and seven counters), so CPUs never write a common line.
#[repr(C, align(64))]
struct PerCpu {
    instance: EngineInstance,
    counters: CpuCounters,
}

const _: () = assert!(core::mem::size_of::<PerCpu>() == 64);

/// A filter ready for packets on every CPU.
pub(crate) struct Runtime {
    percpu: KVec<PerCpu>,
    /// The filter the instances were made from: it holds the maps they
    /// share, which the control plane reads and writes through it.
    filter: EngineFilter,
    /// Whether the filter can see the packet's timestamp: if not, the
    /// clock is read only for the packets timed into `run_ns`.
    reads_timestamp: bool,
}

impl Runtime {
    /// Instantiates `filter` once per possible CPU (`nr_cpu_ids`), instance
    /// `i` for CPU `i` (its per-CPU map rows).
    /// Load time only: process context, on the load stack.
    pub(crate) fn new(filter: EngineFilter) -> Result<Self, LoadFailure> {
        let n = cpu::nr_cpu_ids();
        let mut percpu =
            KVec::with_capacity(n, crate::gfp_request()).map_err(|_| LoadFailure::NoMemory)?;
        for cpu in 0..n {
            let instance = filter.instantiate(cpu).map_err(LoadFailure::Engine)?;
            percpu
                .push(
                    PerCpu {
                        instance,
                        counters: CpuCounters::default(),
                    },
                    GFP_KERNEL,
                )
                .map_err(|_| LoadFailure::NoMemory)?;
        }
        Ok(Runtime {
            percpu,
            reads_timestamp: filter.reads_timestamp(),
            filter,
        })
    }

    /// The filter, for its maps.
    pub(crate) fn filter(&self) -> &EngineFilter {
        &self.filter
    }

    /// How many instances there are.
    pub(crate) fn instances(&self) -> usize {
        self.percpu.len()
    }

    /// The counters summed over CPUs. Racy against running packets by at
    /// most the packets in flight; each counter is read atomically.
    pub(crate) fn counters(&self) -> Counters {
        let mut s = Counters::default();
        for pc in self.percpu.iter() {
            s.merge(&pc.counters.snapshot());
        }
        s
    }

    /// Runs the filter on one packet, on this CPU's instance.
    #[inline]
    fn run(&self, skb: &SkBuff, state: &HookState<'_>) -> Verdict {
        // The packet from its network header on: the linear part in place,
        // the rest through `NetworkReader`.
        let Some((linear, len, rest)) = from_network_header(skb) else {
            // The network header is not inside the skb's data: not a packet
            // an inet hook sees. Let it pass unfiltered.
            return Verdict::ACCEPT;
        };
        let bh = BhGuard::new();
        let Some(pc) = self.percpu.get(bh.cpu()) else {
            // Cannot happen: every CPU id is below `nr_cpu_ids`.
            return Verdict::ACCEPT;
        };
        let c = &pc.counters;
        let seen = c.get(Counter::Packets);
        let timed = seen % TIMING_SAMPLE == 0;
        // One clock read at most: for the filter (if it can see the
        // timestamp) and for timing (one packet in `TIMING_SAMPLE`).
        let start = if self.reads_timestamp || timed {
            cpu::mono_fast_ns()
        } else {
            0
        };
        let ctx = Ctx {
            hook: state.hook(),
            family: state.pf(),
            iif: state.in_ifindex(),
            oif: state.out_ifindex(),
            mark: skb.mark(),
            tstamp_ns: start,
        };
        let result = pc.instance.run(linear, len, &rest, &ctx);
        if timed {
            let took = cpu::mono_fast_ns().wrapping_sub(start);
            c.bump(Counter::RunNs, took.wrapping_mul(TIMING_SAMPLE));
        }
        let (verdict, failure) = Counter::for_run(&result);
        // The failure first: the common path (none) then joins the
        // unconditional bumps without testing again.
        if let Some(f) = failure {
            c.bump(f, 1);
        }
        c.0[Counter::Packets.index()].store(seen.wrapping_add(1), Ordering::Relaxed);
        c.bump(verdict, 1);
        drop(bh);
        Verdict::from_nf(result.verdict)
    }
}

/// Why a runtime could not be built.
pub(crate) enum LoadFailure {
    /// The engine refused (its class and message).
    Engine(EngineError),
    /// Out of memory.
    NoMemory,
}

/// The packet from the network header on: its linear part (in place), its
/// length, and a reader of the rest (a bounded `skb_header_pointer` copy
/// into the engine's buffer, never more than the bytes the filter asked
/// for). `None` if the network header is not inside the linear data.
#[inline]
fn from_network_header(skb: &SkBuff) -> Option<(&[u8], usize, NetworkReader<'_>)> {
    let off = usize::try_from(skb.network_offset()).ok()?;
    let linear = skb.linear().get(off..)?;
    let len = skb.len().checked_sub(off)?;
    Some((linear, len, NetworkReader { skb, off }))
}

/// Reads an skb's bytes at offsets counted from its network header.
struct NetworkReader<'a> {
    skb: &'a SkBuff,
    /// Offset of the network header from `skb->data`.
    off: usize,
}

impl PacketReader for NetworkReader<'_> {
    fn read(&self, offset: usize, dst: &mut [u8]) -> bool {
        match offset.checked_add(self.off) {
            Some(o) => self.skb.copy_to(o, dst),
            None => false,
        }
    }
}

/// A loaded filter as netfilter sees it: the hook's `priv`. Owns the
/// runtime it publishes.
pub(crate) struct Slot {
    current: RcuBox<Runtime>,
}

impl Slot {
    /// A slot publishing `rt`.
    pub(crate) fn new(rt: KBox<Runtime>) -> Self {
        Slot {
            current: RcuBox::new(rt),
        }
    }

    /// Runs `f` on the current runtime, for the control plane (inside an
    /// RCU read-side section: `f` must not sleep).
    pub(crate) fn with_runtime<R>(&self, f: impl FnOnce(&Runtime) -> R) -> R {
        self.with_runtime_side(|rt, _| f(rt))
    }

    /// [`Slot::with_runtime`], handing `f` the evidence of the section.
    pub(crate) fn with_runtime_side<R>(&self, f: impl FnOnce(&Runtime, &ReadSide<'_>) -> R) -> R {
        let rcu = ReadGuard::new();
        let side = rcu.side();
        f(self.current.get(&side), &side)
    }

    /// Publishes `rt` in place of the current runtime and frees the old one
    /// once no hook can still be running it. Process context; sleeps.
    pub(crate) fn replace(&self, rt: KBox<Runtime>) {
        self.current.replace(rt);
    }
}

impl PacketHook for Slot {
    #[inline]
    fn hook(&self, skb: &SkBuff, state: &HookState<'_>) -> Verdict {
        self.current.get(state.rcu()).run(skb, state)
    }
}
