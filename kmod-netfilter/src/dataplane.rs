// SPDX-License-Identifier: GPL-2.0

//! The data plane: what runs for every packet.
//!
//! A loaded filter is a [`Slot`], registered as a netfilter hook (its
//! `priv`). The slot points (RCU-published) at a [`Runtime`]: one
//! pre-instantiated engine instance and one set of counters per possible
//! CPU, each in its own cache line. Per packet the hook
//!
//! 1. reads the slot's current runtime (netfilter holds `rcu_read_lock`
//!    around hooks, so the runtime cannot be freed while in use),
//! 2. disables bottom halves and takes the current CPU's instance: no
//!    softirq can then enter that instance on this CPU while process context
//!    (output-path hooks) is using it, and the task cannot migrate,
//! 3. runs the filter over a zero-copy view of the skb with the context from
//!    the hook state, and maps the verdict,
//! 4. counts into this CPU's counters (plain stores by their only writer).
//!
//! It allocates nothing, never sleeps, takes no lock, and writes no cache
//! line another CPU writes. Fuel bounds every run.
//!
//! Replacing a filter ([`Slot::replace`]) publishes a new runtime, waits for
//! an RCU grace period, and frees the old one: a packet sees either the old
//! filter or the new one, whole.

use crate::engine::{self, Ctx, EngineError, Instance, PacketReader, Status};
use crate::net::cpu::{self, BhGuard};
use crate::net::netfilter::{Hook, HookState, Verdict};
use crate::net::skb::SkBuff;
use core::cell::UnsafeCell;
use core::ptr;
use core::sync::atomic::{AtomicPtr, AtomicU64, Ordering};
use kernel::prelude::*;

/// A filter's counters summed over CPUs (what `wasmnf stats` shows).
#[derive(Clone, Copy, Default)]
pub(crate) struct Stats {
    pub(crate) packets: u64,
    pub(crate) accepted: u64,
    pub(crate) dropped: u64,
    pub(crate) traps: u64,
    pub(crate) out_of_fuel: u64,
    pub(crate) invalid_verdicts: u64,
    /// Time in the filter (engine call), from `ktime_get_mono_fast_ns`,
    /// estimated from one packet in [`TIMING_SAMPLE`] per CPU.
    pub(crate) run_ns: u64,
}

/// One CPU's counters. Only that CPU writes them (with BH disabled), so an
/// increment is a relaxed load and store, not a locked read-modify-write;
/// readers on other CPUs load them relaxed.
#[derive(Default)]
struct Counters {
    packets: AtomicU64,
    accepted: AtomicU64,
    dropped: AtomicU64,
    traps: AtomicU64,
    out_of_fuel: AtomicU64,
    invalid_verdicts: AtomicU64,
    run_ns: AtomicU64,
}

/// One packet in this many (per CPU) is timed into `run_ns`, which gets
/// its time times this many: an unbiased estimate of the total. The clock
/// is read once per packet for filters that can see the timestamp (the
/// context's `tstamp_ns`, which also starts the timing), otherwise only for
/// the timed packets.
pub(crate) const TIMING_SAMPLE: u64 = 16;

/// Adds `n` to a counter that only the calling CPU writes.
#[inline]
fn bump(c: &AtomicU64, n: u64) {
    c.store(c.load(Ordering::Relaxed).wrapping_add(n), Ordering::Relaxed);
}

impl Counters {
    fn add_to(&self, s: &mut Stats) {
        let r = |c: &AtomicU64| c.load(Ordering::Relaxed);
        s.packets += r(&self.packets);
        s.accepted += r(&self.accepted);
        s.dropped += r(&self.dropped);
        s.traps += r(&self.traps);
        s.out_of_fuel += r(&self.out_of_fuel);
        s.invalid_verdicts += r(&self.invalid_verdicts);
        s.run_ns += r(&self.run_ns);
    }
}

/// One CPU's share of a runtime: exactly one 64-byte cache line (the
/// instance handle and seven counters), so CPUs never write a common line.
#[repr(C, align(64))]
struct PerCpu {
    instance: UnsafeCell<Instance>,
    counters: Counters,
}

/// A filter ready for packets on every CPU.
pub(crate) struct Runtime {
    percpu: KVec<PerCpu>,
    /// Whether the filter can see the packet's timestamp: if not, the
    /// clock is read only for the packets timed into `run_ns`.
    reads_timestamp: bool,
}

// SAFETY: the instance of `percpu[i]` is used (mutably) only by `run` on CPU
// `i`, with bottom halves disabled: no other context on CPU `i` can enter
// it (softirqs are off, the task cannot be preempted, hard interrupts do
// not run netfilter hooks), and no other CPU touches it. Creation and
// destruction happen when no hook can see the runtime (before publication,
// after unregistration or an RCU grace period). Counters are atomics.
unsafe impl Sync for Runtime {}
// SAFETY: instances and counters may be freed from any thread.
unsafe impl Send for Runtime {}

impl Runtime {
    /// Instantiates `filter` once per possible CPU (`nr_cpu_ids`).
    /// Load time only: process context, on the load stack.
    pub(crate) fn new(filter: &engine::Filter) -> Result<Self, LoadFailure> {
        let n = cpu::nr_cpu_ids();
        let mut percpu = KVec::with_capacity(n, GFP_KERNEL).map_err(|_| LoadFailure::NoMemory)?;
        for _ in 0..n {
            let instance = filter.instantiate().map_err(LoadFailure::Engine)?;
            percpu
                .push(
                    PerCpu {
                        instance: UnsafeCell::new(instance),
                        counters: Counters::default(),
                    },
                    GFP_KERNEL,
                )
                .map_err(|_| LoadFailure::NoMemory)?;
        }
        Ok(Runtime {
            percpu,
            reads_timestamp: filter.reads_timestamp(),
        })
    }

    /// How many instances there are.
    pub(crate) fn instances(&self) -> usize {
        self.percpu.len()
    }

    /// The counters summed over CPUs. Racy against running packets by at
    /// most the packets in flight; each counter is read atomically.
    pub(crate) fn stats(&self) -> Stats {
        let mut s = Stats::default();
        for pc in self.percpu.iter() {
            pc.counters.add_to(&mut s);
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
            return Verdict::Accept;
        };
        let bh = BhGuard::new();
        let Some(pc) = self.percpu.get(bh.cpu()) else {
            // Cannot happen: every CPU id is below `nr_cpu_ids`.
            return Verdict::Accept;
        };
        let c = &pc.counters;
        let seen = c.packets.load(Ordering::Relaxed);
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
        // SAFETY: this is CPU `bh.cpu()` with bottom halves disabled: by the
        // invariant stated at `impl Sync for Runtime`, nothing else uses
        // this instance until `bh` is dropped, after the last use of `inst`.
        let inst = unsafe { &mut *pc.instance.get() };
        let result = inst.run(linear, len, &rest, &ctx);
        if timed {
            let took = cpu::mono_fast_ns().wrapping_sub(start);
            bump(&c.run_ns, took.wrapping_mul(TIMING_SAMPLE));
        }
        c.packets.store(seen.wrapping_add(1), Ordering::Relaxed);
        match result.status() {
            Status::Ok => {}
            Status::Trap(_) => bump(&c.traps, 1),
            Status::OutOfFuel => bump(&c.out_of_fuel, 1),
            Status::InvalidVerdict(_) => bump(&c.invalid_verdicts, 1),
        }
        let verdict = match result.verdict() {
            engine::Verdict::Accept => {
                bump(&c.accepted, 1);
                Verdict::Accept
            }
            engine::Verdict::Drop => {
                bump(&c.dropped, 1);
                Verdict::Drop
            }
        };
        drop(bh);
        verdict
    }
}

/// Why a runtime could not be built.
pub(crate) enum LoadFailure {
    /// The engine refused (its message).
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
/// runtime its pointer publishes.
///
/// # Invariants
///
/// `current` always holds a pointer from `KBox::into_raw` of a live
/// runtime, owned by the slot.
pub(crate) struct Slot {
    current: AtomicPtr<Runtime>,
}

impl Slot {
    /// A slot publishing `rt`.
    pub(crate) fn new(rt: KBox<Runtime>) -> Self {
        Slot {
            current: AtomicPtr::new(KBox::into_raw(rt)),
        }
    }

    /// The current runtime, for the control plane. The caller must
    /// serialize with [`Slot::replace`] (the registry's mutex does).
    pub(crate) fn runtime(&self) -> &Runtime {
        // SAFETY: the pointer is live (invariant) and only `replace`, which
        // callers serialize with this borrow, retires it.
        unsafe { &*self.current.load(Ordering::Acquire) }
    }

    /// Publishes `rt` in place of the current runtime (`rcu_assign_pointer`:
    /// a release store, so a hook that sees the new pointer sees a fully
    /// built runtime), waits for an RCU grace period (every hook that may
    /// still run the old runtime has returned), then frees the old one.
    /// Process context; sleeps.
    pub(crate) fn replace(&self, rt: KBox<Runtime>) {
        let old = self.current.swap(KBox::into_raw(rt), Ordering::AcqRel);
        cpu::synchronize_rcu();
        // SAFETY: `old` came from `KBox::into_raw` (invariant); after the
        // grace period no hook holds it, and the slot no longer does.
        drop(unsafe { KBox::from_raw(old) });
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let p = self.current.swap(ptr::null_mut(), Ordering::AcqRel);
        // SAFETY: `p` came from `KBox::into_raw` (invariant). A slot is
        // dropped only after its hook was unregistered, which waits until no
        // CPU runs the hook.
        drop(unsafe { KBox::from_raw(p) });
    }
}

impl Hook for Slot {
    #[inline]
    fn hook(&self, skb: &SkBuff, state: &HookState<'_>) -> Verdict {
        // netfilter calls hooks under `rcu_read_lock`: the runtime read here
        // is not freed before this call returns (`replace` waits a grace
        // period). Acquire pairs with the release in `replace` (what
        // `rcu_dereference` provides).
        let rt = self.current.load(Ordering::Acquire);
        // SAFETY: non-null and live for the RCU read-side section, as above.
        unsafe { &*rt }.run(skb, state)
    }
}
