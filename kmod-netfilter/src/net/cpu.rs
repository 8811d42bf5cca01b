// SPDX-License-Identifier: GPL-2.0

//! The CPU a packet runs on, and bottom-half exclusion.

use crate::bindings;

/// Bottom halves (softirqs) are disabled on this CPU while it lives: no
/// softirq can run here, and the task cannot be preempted or migrated, so
/// [`BhGuard::cpu`] stays this CPU's index for the guard's lifetime.
///
/// In softirq context (prerouting, input and forward hooks) bottom halves
/// are already off, and the guard costs one check instead of a
/// disable/enable pair.
///
/// # Invariants
///
/// If `disabled`, `new` called `local_bh_disable()` and `Drop` undoes it on
/// the same CPU (the guard is not `Send`); if not, bottom halves were
/// already disabled by the context the guard lives in, which outlives it.
pub(crate) struct BhGuard {
    cpu: usize,
    disabled: bool,
    _not_send: core::marker::PhantomData<*mut ()>,
}

impl BhGuard {
    /// Makes sure bottom halves are disabled. Allowed in process and softirq
    /// context; never sleeps. Not from hard-IRQ context, where netfilter
    /// hooks do not run.
    #[inline]
    pub(crate) fn new() -> Self {
        let mut cpu: core::ffi::c_uint = 0;
        // SAFETY: no preconditions in task or softirq context; `cpu` is a
        // valid place for the CPU id, read with bottom halves (so
        // preemption) off.
        let disabled = unsafe { bindings::wasmnf_helper_bh_enter(&mut cpu) };
        BhGuard {
            cpu: cpu as usize,
            disabled,
            _not_send: core::marker::PhantomData,
        }
    }

    /// The CPU this code runs on, fixed while the guard lives.
    #[inline]
    pub(crate) fn cpu(&self) -> usize {
        self.cpu
    }
}

impl Drop for BhGuard {
    #[inline]
    fn drop(&mut self) {
        if self.disabled {
            // SAFETY: pairs with the `local_bh_disable` in `new` (invariant).
            unsafe { bindings::wasmnf_helper_bh_exit() };
        }
    }
}

/// The number of CPU ids (`nr_cpu_ids`): every CPU index is below it.
pub(crate) fn nr_cpu_ids() -> usize {
    // SAFETY: reads a variable fixed after boot.
    unsafe { bindings::wasmnf_helper_nr_cpu_ids() as usize }
}

/// Monotonic time in nanoseconds from `ktime_get_mono_fast_ns`: lock-free
/// (a seqcount latch over the clocksource, TSC here), safe in any context,
/// writes no shared data.
#[inline]
pub(crate) fn mono_fast_ns() -> u64 {
    // SAFETY: no preconditions; NMI-safe.
    unsafe { bindings::ktime_get_mono_fast_ns() }
}

/// Waits for an RCU grace period: every reader that might still see an
/// object unpublished before this call (netfilter hooks run inside RCU
/// read-side critical sections) has finished. Process context; sleeps.
pub(crate) fn synchronize_rcu() -> GraceElapsed {
    // SAFETY: called from process context (callers' contract, documented).
    unsafe { kernel::bindings::synchronize_rcu() };
    GraceElapsed(())
}

/// Evidence that an RCU grace period ended after the point where it was
/// made ([`synchronize_rcu`]): every RCU reader running before then has
/// finished.
pub(crate) struct GraceElapsed(());
